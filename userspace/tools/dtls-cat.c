// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat: netcat for DTLS 1.2 over UDP, with the record layer in the
 * kernel (kernel/dtls.ko) after an OpenSSL or GnuTLS handshake.
 *
 *   dtls-cat [-l] [-6] [-d] [-q SECS] [-v] [--psk HEX --psk-identity ID |
 *            --cert FILE --key FILE] [--cipher NAME] [--lib openssl|gnutls]
 *            [--no-offload] [--size N | --sizes MIN-MAX [--seed N]]
 *            [--delay USEC] [--bench SECONDS] [--rate N] [--plain] [--gso N]
 *            [--batch N]
 *            [--handoff-delay MS] [--handoff-peek] [--hs-timeout MS]
 *            [--recv-bytes N] HOST PORT
 *
 * The peer certificate is not verified: this is a test tool.
 *
 * --bench is what userspace/tests/bench.sh measures: the client sends
 * records of --size bytes as fast as it can (or --rate N per second) for
 * SECONDS, the server counts and checks them; both end with one
 * machine-readable "BENCH ..." line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include <linux/dtls.h>

#include "dtls_offload.h"
#include "../tests/bench_mark.h"

#define PROG "dtls-cat"
#define MAX_REC 16384

enum lib { LIB_OPENSSL, LIB_GNUTLS };

static struct {
	bool listen, v6, no_offload, no_stdin, verbose;
	bool plain;		/* no DTLS at all: plain UDP datagrams */
	unsigned int gso;	/* --gso N: records per UDP GSO send */
	unsigned int batch;	/* --batch N: sendmmsg/recvmmsg */
	enum lib lib;
	const char *psk_hex, *psk_id, *cert, *key, *cipher;
	const char *host, *port;
	size_t size;
	size_t size_min, size_max;	/* --sizes: 0 when not used */
	uint64_t seed;
	long handoff_delay_ms;	/* test: pause between handshake and offload */
	bool handoff_peek;	/* test: make the TLS library buffer a record */
	unsigned int hs_timeout_ms;	/* first handshake retransmission timeout */
	unsigned long long recv_bytes;	/* stop lingering once this much came */
	double bench;
	double rate;		/* --bench sender: records per second, 0: flat out */
	long delay_us;		/* pause after each record sent */
	int linger;		/* seconds to wait for the peer's close_notify */
	unsigned char psk[64];
	size_t psk_len;
} opt = {
	.size = 1200,
	.seed = 1,
	.linger = 3,
	.psk_id = "Client_identity",
};

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: " PROG " [-l] [-6] [-d] [-q SECS] [-v] [--psk HEX [--psk-identity ID] |\n"
"                --cert FILE --key FILE] [--cipher NAME] [--lib openssl|gnutls]\n"
"                [--no-offload] [--size N | --sizes MIN-MAX [--seed N]]\n"
"                [--delay USEC] [--bench SECONDS] [--rate N] [--plain]\n"
"                [--gso N] [--batch N] [--handoff-delay MS] [--handoff-peek] [--hs-timeout MS]\n"
"                [--recv-bytes N] HOST PORT\n"
"  -l               listen on HOST PORT (HOST may be omitted), serve the first peer\n"
"  -6               IPv6\n"
"  -d               do not read stdin (only receive)\n"
"  -q SECS          after stdin EOF, wait SECS for the peer's close_notify (3)\n"
"  -v               report handshake and offload details on stderr\n"
"  --cipher NAME    aes128gcm, aes256gcm, aes128ccm, aes128ccm8, chacha20\n"
"  --lib LIB        handshake library: openssl (default) or gnutls\n"
"  --no-offload     keep the record layer in the TLS library\n"
"  --size N         bytes per record (1200; at most 16384)\n"
"  --sizes MIN-MAX  record sizes drawn from MIN..MAX (first MIN, then MAX, then\n"
"                   a deterministic pseudo-random sequence; stdin is read until\n"
"                   each record is full)\n"
"  --seed N         seed of the --sizes sequence (1)\n"
"  --handoff-delay MS  test: wait MS after the handshake before the offload\n"
"                   (what the peer sends meanwhile waits in the socket queue)\n"
"  --handoff-peek   test: after the handshake wait for a record and let the\n"
"                   TLS library decrypt it (OpenSSL SSL_peek) before the\n"
"                   offload, so the library's buffer must be drained\n"
"  --delay USEC     pause after each record sent (pacing for slow receivers)\n"
"  --hs-timeout MS  first handshake retransmission timeout (library default:\n"
"                   1 s), doubled per retry up to 8 s\n"
"  --recv-bytes N   after our close_notify, stop waiting for the peer's once\n"
"                   N bytes were received (peers that never send one)\n"
"  --bench SECONDS  client: send records for SECONDS; server: count them\n"
"                   and check their length and contents\n"
"  --rate N         --bench client: send N records per second (default: as\n"
"                   fast as it can), to measure loss at a given rate\n"
"  --plain          no DTLS: plain UDP datagrams (a 1-byte hello first, an\n"
"                   empty datagram as end of data)\n"
"  --gso N          --bench: sender sets UDP_SEGMENT to --size and sends N\n"
"                   records per send (one GSO packet); receiver sets UDP_GRO\n"
"                   and reads with recvmmsg\n"
"  --batch N        --bench: sendmmsg/recvmmsg of up to N records per call\n"
"The peer's certificate is not verified.\n");
	exit(status);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- cipher names ---- */

enum { C_GCM128, C_GCM256, C_CCM, C_CCM8, C_CHACHA, C_ALL };

static int cipher_index(void)
{
	static const struct { const char *name; int idx; } names[] = {
		{ "aes128gcm", C_GCM128 }, { "aes-128-gcm", C_GCM128 },
		{ "aes256gcm", C_GCM256 }, { "aes-256-gcm", C_GCM256 },
		{ "aes128ccm", C_CCM }, { "aes-128-ccm", C_CCM },
		{ "aes128ccm8", C_CCM8 }, { "aes-128-ccm-8", C_CCM8 },
		{ "aes-128-ccm8", C_CCM8 },
		{ "chacha20", C_CHACHA }, { "chacha20-poly1305", C_CHACHA },
	};
	size_t i;

	if (!opt.cipher)
		return C_ALL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(opt.cipher, names[i].name))
			return names[i].idx;
	die("unknown cipher '%s': use aes128gcm, aes256gcm, aes128ccm, aes128ccm8 or chacha20",
	    opt.cipher);
	return -1;
}

static const char *openssl_ciphers(void)
{
	static const char *psk[] = {
		"PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384",
		"PSK-AES128-CCM", "PSK-AES128-CCM8", "PSK-CHACHA20-POLY1305",
		"PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-CCM:PSK-AES128-CCM8",
	};
	static const char *cert[] = {
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM8",
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
		"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
		"ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES128-CCM8",
	};

	return opt.psk_hex ? psk[cipher_index()] : cert[cipher_index()];
}

static void gnutls_priority(char *buf, size_t len)
{
	static const char *c[] = {
		"+AES-128-GCM", "+AES-256-GCM", "+AES-128-CCM", "+AES-128-CCM-8",
		"+CHACHA20-POLY1305",
		"+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:+AES-128-CCM-8",
	};

	snprintf(buf, len, "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:%s%s",
		 c[cipher_index()],
		 opt.psk_hex ? ":-KX-ALL:+PSK:+ECDHE-PSK" : "");
}

/* ---- record sizes ---- */

static uint64_t rec_sent, rec_received;

/* splitmix64: small, deterministic, good enough to pick record sizes */
static uint64_t prng_next(void)
{
	uint64_t z = (opt.seed += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Bytes for the next record read from stdin. */
static size_t next_record_size(void)
{
	uint64_t span;

	if (!opt.size_max)
		return opt.size;
	/* both bounds early, whatever the seed */
	if (rec_sent == 0)
		return opt.size_min;
	if (rec_sent == 1)
		return opt.size_max;
	span = opt.size_max - opt.size_min + 1;
	return opt.size_min + prng_next() % span;
}

/* ---- connection abstraction: offloaded or in the TLS library ---- */

struct conn {
	int fd;
	SSL *ssl;
	gnutls_session_t gs;
	struct dtls_offload *h;	/* non-NULL when offloaded */
	bool plain;		/* --plain: no DTLS */
};

/* > 0 bytes, 0 close_notify, -EAGAIN nothing now, other < 0 error */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	if (c->plain) {
		/* an empty datagram is --plain's end of data */
		ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);

		return n < 0 ? -errno : n;
	}
	if (c->h)
		return dtls_offload_recv(c->h, buf, len, MSG_DONTWAIT);
	if (c->ssl) {
		for (;;) {
			int n = SSL_read(c->ssl, buf, len);

			if (n > 0)
				return n;
			switch (SSL_get_error(c->ssl, n)) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				return -EAGAIN;
			case SSL_ERROR_ZERO_RETURN:
				return 0;
			default:
				return -EPROTO;
			}
		}
	}
	for (;;) {
		ssize_t n = gnutls_record_recv(c->gs, buf, len);

		if (n >= 0)
			return n;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		if (!gnutls_error_is_fatal(n))
			continue;
		return -EPROTO;
	}
}

static bool conn_has_pending(struct conn *c)
{
	if (c->plain)
		return false;
	if (c->h)
		return dtls_offload_pending(c->h) > 0;
	if (c->ssl)
		return SSL_pending(c->ssl) > 0;
	return gnutls_record_check_pending(c->gs) > 0;
}

static void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	poll(&p, 1, 100);
}

/* Send one record; retries while the socket buffer is full. */
static void conn_send(struct conn *c, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n;

		if (c->plain) {
			n = send(c->fd, buf, len, MSG_DONTWAIT);
			if (n >= 0)
				return;
			if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
				wait_writable(c->fd);
				continue;
			}
			if (errno == ECONNREFUSED)
				die("send: peer not listening (Connection refused)");
			die("send: %s", strerror(errno));
		} else if (c->h) {
			n = dtls_offload_send(c->h, buf, len, MSG_DONTWAIT);
			if (n >= 0)
				return;
			if (n == -EAGAIN || n == -ENOBUFS || n == -EINTR) {
				wait_writable(c->fd);
				continue;
			}
			if (n == -ECONNREFUSED)
				die("send: peer not listening (Connection refused)");
			die("send: %s", dtls_offload_strerror(n));
		} else if (c->ssl) {
			int r = SSL_write(c->ssl, buf, len);

			if (r > 0)
				return;
			r = SSL_get_error(c->ssl, r);
			if (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ) {
				wait_writable(c->fd);
				continue;
			}
			die("SSL_write failed: %s",
			    ERR_reason_error_string(ERR_get_error()) ?: "error");
		} else {
			n = gnutls_record_send(c->gs, buf, len);
			if (n >= 0)
				return;
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				wait_writable(c->fd);
				continue;
			}
			die("gnutls_record_send: %s", gnutls_strerror(n));
		}
	}
}

static void conn_close_notify(struct conn *c)
{
	int r, i;

	if (c->plain) {
		/* a few empty datagrams: the receiver may drop one */
		for (i = 0; i < 3; i++) {
			send(c->fd, "", 0, MSG_DONTWAIT);
			usleep(10000);
		}
	} else if (c->h) {
		r = dtls_offload_close(c->h);
		if (r < 0 && r != -ECONNREFUSED)
			die("close_notify: %s", dtls_offload_strerror(r));
	} else if (c->ssl) {
		SSL_shutdown(c->ssl);
	} else {
		gnutls_bye(c->gs, GNUTLS_SHUT_WR);
	}
}

/* ---- sockets ---- */

static int open_socket(struct sockaddr_storage *peer)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	int fd, one = 1, rcv = 8 << 20, err;
	socklen_t plen;

	hints.ai_family = opt.v6 ? AF_INET6 : AF_INET;
	if (opt.listen)
		hints.ai_flags = AI_PASSIVE;
	err = getaddrinfo(opt.host, opt.port, &hints, &ai);
	if (err)
		die("%s port %s: %s", opt.host ?: "(any)", opt.port,
		    gai_strerror(err));
	fd = socket(ai->ai_family, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* big buffers: a UDP receiver that falls behind loses records */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcv, sizeof(rcv));

	if (opt.listen) {
		char b;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die("bind %s port %s: %s", opt.host ?: "(any)",
			    opt.port, strerror(errno));
		/* The first datagram (a ClientHello) names the peer. */
		plen = sizeof(*peer);
		if (recvfrom(fd, &b, 1, MSG_PEEK, (struct sockaddr *)peer,
			     &plen) < 0)
			die("recvfrom: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)peer, plen) < 0)
			die("connect to the peer: %s", strerror(errno));
	} else {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die("connect %s port %s: %s", opt.host, opt.port,
			    strerror(errno));
		memcpy(peer, ai->ai_addr, ai->ai_addrlen);
	}
	freeaddrinfo(ai);
	return fd;
}

/* ---- OpenSSL ---- */

static unsigned int ossl_psk_client(SSL *ssl, const char *hint, char *id,
				    unsigned int max_id, unsigned char *psk,
				    unsigned int max_psk)
{
	if (strlen(opt.psk_id) + 1 > max_id || opt.psk_len > max_psk)
		return 0;
	strcpy(id, opt.psk_id);
	memcpy(psk, opt.psk, opt.psk_len);
	return opt.psk_len;
}

static unsigned int ossl_psk_server(SSL *ssl, const char *id,
				    unsigned char *psk, unsigned int max_psk)
{
	if (!id || strcmp(id, opt.psk_id) || opt.psk_len > max_psk)
		return 0;
	memcpy(psk, opt.psk, opt.psk_len);
	return opt.psk_len;
}

static const char *ossl_err(void)
{
	unsigned long e = ERR_get_error();
	static char buf[256];

	if (!e)
		return "handshake failed";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static unsigned int ossl_timer_cb(SSL *ssl, unsigned int timer_us)
{
	if (!timer_us)
		return opt.hs_timeout_ms * 1000;
	return timer_us >= 4000000 ? 8000000 : timer_us * 2;
}

static void setup_openssl(struct conn *c, struct sockaddr_storage *peer)
{
	SSL_CTX *ctx = SSL_CTX_new(opt.listen ? DTLS_server_method() :
				   DTLS_client_method());
	BIO *bio;

	if (!ctx)
		die("SSL_CTX_new: %s", ossl_err());
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
	if (SSL_CTX_set_cipher_list(ctx, openssl_ciphers()) != 1)
		die("OpenSSL has no cipher '%s': %s", openssl_ciphers(),
		    ossl_err());
	if (opt.psk_hex) {
		if (opt.listen)
			SSL_CTX_set_psk_server_callback(ctx, ossl_psk_server);
		else
			SSL_CTX_set_psk_client_callback(ctx, ossl_psk_client);
	}
	if (opt.cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1)
			die("cannot use certificate %s: %s", opt.cert,
			    ossl_err());
		if (SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)
			die("cannot use key %s: %s", opt.key, ossl_err());
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL holds a reference */
	if (!c->ssl)
		die("SSL_new: %s", ossl_err());
	bio = BIO_new_dgram(c->fd, BIO_NOCLOSE);
	if (!bio)
		die("BIO_new_dgram: %s", ossl_err());
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer);
	SSL_set_bio(c->ssl, bio, bio);
	if (opt.hs_timeout_ms)
		DTLS_set_timer_cb(c->ssl, ossl_timer_cb);
}

static void handshake_openssl(struct conn *c)
{
	int r;

	if (!opt.no_offload) {
		c->h = dtls_offload_new();
		if (!c->h)
			die("out of memory");
		r = dtls_offload_openssl_prepare(c->h, c->ssl);
		if (r)
			die("dtls_offload_openssl_prepare: %s",
			    dtls_offload_strerror(r));
	}
	r = opt.listen ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
	if (r != 1)
		die("DTLS handshake failed: %s", ossl_err());
	verbose("handshake done: OpenSSL, %s",
		SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
}

/* ---- GnuTLS ---- */

static int gnutls_psk_server(gnutls_session_t s, const char *user,
			     gnutls_datum_t *key)
{
	if (strcmp(user, opt.psk_id))
		return -1;
	key->data = gnutls_malloc(opt.psk_len);
	if (!key->data)
		return -1;
	memcpy(key->data, opt.psk, opt.psk_len);
	key->size = opt.psk_len;
	return 0;
}

static void setup_gnutls(struct conn *c)
{
	char prio[256];
	const char *errpos;
	int r;

	r = gnutls_init(&c->gs, (opt.listen ? GNUTLS_SERVER : GNUTLS_CLIENT) |
			GNUTLS_DATAGRAM);
	if (r < 0)
		die("gnutls_init: %s", gnutls_strerror(r));
	gnutls_priority(prio, sizeof(prio));
	r = gnutls_priority_set_direct(c->gs, prio, &errpos);
	if (r < 0)
		die("GnuTLS priority '%s': %s", prio, gnutls_strerror(r));
	if (opt.psk_hex) {
		if (opt.listen) {
			gnutls_psk_server_credentials_t pc;

			gnutls_psk_allocate_server_credentials(&pc);
			gnutls_psk_set_server_credentials_function(pc,
							gnutls_psk_server);
			gnutls_credentials_set(c->gs, GNUTLS_CRD_PSK, pc);
		} else {
			gnutls_psk_client_credentials_t pc;
			gnutls_datum_t k = { (unsigned char *)opt.psk_hex,
					     strlen(opt.psk_hex) };

			gnutls_psk_allocate_client_credentials(&pc);
			r = gnutls_psk_set_client_credentials(pc, opt.psk_id,
							&k, GNUTLS_PSK_KEY_HEX);
			if (r < 0)
				die("PSK: %s", gnutls_strerror(r));
			gnutls_credentials_set(c->gs, GNUTLS_CRD_PSK, pc);
		}
	} else {
		gnutls_certificate_credentials_t cc;

		gnutls_certificate_allocate_credentials(&cc);
		if (opt.cert) {
			r = gnutls_certificate_set_x509_key_file(cc, opt.cert,
						opt.key, GNUTLS_X509_FMT_PEM);
			if (r < 0)
				die("cannot use certificate %s / key %s: %s",
				    opt.cert, opt.key, gnutls_strerror(r));
		}
		gnutls_credentials_set(c->gs, GNUTLS_CRD_CERTIFICATE, cc);
	}
	gnutls_handshake_set_timeout(c->gs, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
	gnutls_dtls_set_mtu(c->gs, 1400);
	if (opt.hs_timeout_ms)
		gnutls_dtls_set_timeouts(c->gs, opt.hs_timeout_ms, 60000);
}

static void handshake_gnutls(struct conn *c)
{
	int r;

	if (!opt.no_offload) {
		c->h = dtls_offload_new();
		if (!c->h)
			die("out of memory");
		r = dtls_offload_gnutls_prepare(c->h, c->gs, c->fd);
		if (r)
			die("dtls_offload_gnutls_prepare: %s",
			    dtls_offload_strerror(r));
	} else {
		gnutls_transport_set_int(c->gs, c->fd);
	}
	do {
		r = gnutls_handshake(c->gs);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		die("DTLS handshake failed: %s", gnutls_strerror(r));
	verbose("handshake done: GnuTLS, %s",
		gnutls_cipher_get_name(gnutls_cipher_get(c->gs)));
}

/*
 * Test aid: wait (up to 10 s) for the peer's first record after the handshake
 * and let OpenSSL decrypt and buffer it without returning it, as a record
 * that arrived together with the handshake's last message would be.
 */
static void handoff_peek(struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char b;
	int n;

	if (poll(&p, 1, 10000) != 1)
		die("--handoff-peek: no record from the peer within 10 s");
	n = SSL_peek(c->ssl, &b, 1);
	if (n != 1)
		die("--handoff-peek: SSL_peek returned %d (%s)", n, ossl_err());
	verbose("--handoff-peek: OpenSSL holds %d bytes of application data",
		SSL_pending(c->ssl));
}

static void offload(struct conn *c)
{
	struct dtls_offload_stats st;
	int r;

	if (opt.lib == LIB_OPENSSL)
		r = dtls_offload_openssl(c->h, c->fd, c->ssl);
	else
		r = dtls_offload_gnutls(c->h, c->fd, c->gs);
	if (r == -ENOPROTOOPT)
		die("kernel DTLS not available: load kernel/dtls.ko (setsockopt SOL_DTLS: %s)",
		    strerror(ENOPROTOOPT));
	if (r == -DTLS_OFFLOAD_E_CIPHER)
		die("the negotiated cipher is not supported by kernel DTLS: use --cipher aes128gcm, aes256gcm, aes128ccm, aes128ccm8 or chacha20, or --no-offload");
	if (r)
		die("offload to the kernel failed: %s", dtls_offload_strerror(r));
	dtls_offload_get_stats(c->h, &st);
	verbose("offloaded: %s, tx rec_seq %u/%llu, rx rec_seq %u/%llu, %llu drained records",
		dtls_offload_cipher_name(c->h),
		(unsigned int)(st.tx_rec_seq >> 48),
		(unsigned long long)(st.tx_rec_seq & 0xffffffffffffULL),
		(unsigned int)(st.rx_rec_seq >> 48),
		(unsigned long long)(st.rx_rec_seq & 0xffffffffffffULL),
		(unsigned long long)st.drained_records);
}

/* ---- data ---- */

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write to stdout: %s", strerror(errno));
		p += n;
		len -= n;
	}
}

static const char *recv_error(struct conn *c, ssize_t n)
{
	static char buf[128];

	if (c->h && n == -DTLS_OFFLOAD_E_ALERT) {
		snprintf(buf, sizeof(buf), "peer sent fatal alert %d",
			 dtls_offload_alert(c->h) & 0xff);
		return buf;
	}
	if (n == -ECONNREFUSED)
		return "peer is gone (Connection refused)";
	return c->h ? dtls_offload_strerror(n) : "TLS library receive error";
}

/* Returns when the peer closed (0) or the linger time ran out (0). */
static int relay(struct conn *c)
{
	char *buf = malloc(MAX_REC);
	bool in_eof = opt.no_stdin, sent_close = false;
	unsigned long long got = 0;
	double deadline = 0;

	if (!buf)
		die("out of memory");
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		int timeout = -1, r;

		if (!conn_has_pending(c)) {
			if (sent_close) {
				double left = deadline - now();

				if (opt.recv_bytes && got >= opt.recv_bytes) {
					verbose("received the %llu bytes expected; not waiting for a close_notify",
						got);
					return 0;
				}
				if (left <= 0) {
					verbose("no close_notify from the peer within %d s",
						opt.linger);
					return 0;
				}
				timeout = (int)(left * 1000) + 1;
			}
			r = poll(p, in_eof ? 1 : 2, timeout);
			if (r < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
		} else {
			p[0].revents = POLLIN;
		}
		if (p[0].revents) {
			for (;;) {
				ssize_t n = conn_recv(c, buf, MAX_REC);

				if (n == -EAGAIN)
					break;
				if (n < 0)
					die("receive: %s", recv_error(c, n));
				if (n == 0) {
					verbose("peer sent close_notify");
					if (!sent_close)
						conn_close_notify(c);
					return 0;
				}
				rec_received++;
				got += n;
				write_all(1, buf, n);
			}
		}
		if (!in_eof && p[1].revents) {
			size_t want = next_record_size();
			ssize_t n = read(0, buf, want);

			if (n < 0 && errno != EINTR)
				die("read stdin: %s", strerror(errno));
			/* --sizes: fill the record unless stdin ends */
			while (opt.size_max && n > 0 && (size_t)n < want) {
				ssize_t m = read(0, buf + n, want - n);

				if (m < 0 && errno == EINTR)
					continue;
				if (m < 0)
					die("read stdin: %s", strerror(errno));
				if (m == 0)
					break;
				n += m;
			}
			if (n > 0) {
				conn_send(c, buf, n);
				rec_sent++;
				if (opt.delay_us)
					usleep(opt.delay_us);
			}
			if (n == 0) {
				in_eof = true;
				conn_close_notify(c);
				sent_close = true;
				deadline = now() + opt.linger;
			}
		}
		if (in_eof && !sent_close) {	/* -d */
			in_eof = true;
		}
	}
}

/* ---- benchmark (--bench) ---- */

#define BENCH_IDLE_MS	2000	/* receiver: data ended after this silence */
#define GSO_SEGS_MAX	64	/* the kernel's UDP_MAX_SEGMENTS */
#define GSO_BYTES_MAX	65000	/* plaintext per GSO send */
#define BATCH_MAX	64
#define NCPU_MAX	16
#define NCPU_FIELDS	8	/* user nice system idle iowait irq softirq steal */

static unsigned char bench_pat[MAX_REC];

/* Every record is this pattern with its index (big endian) in front. */
static void bench_pattern(void)
{
	size_t i;

	for (i = 0; i < sizeof(bench_pat); i++)
		bench_pat[i] = (unsigned char)(i * 131 + 7);
}

static void bench_stamp(unsigned char *rec, uint64_t idx)
{
	uint64_t be = htobe64(idx);

	memcpy(rec, &be, opt.size < 8 ? opt.size : 8);
}

/* A cell that cannot run: one line the bench script reports, status 3. */
static void bench_fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("BENCH-ERROR %s\n", msg);
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", msg);
	exit(3);
}

static void cpu_secs(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* /proc/stat per-CPU lines, in USER_HZ ticks; returns the number of CPUs */
static int read_cpustat(unsigned long long v[NCPU_MAX][NCPU_FIELDS])
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];
	int n = 0;

	if (!f)
		return 0;
	while (n < NCPU_MAX && fgets(line, sizeof(line), f)) {
		unsigned int cpu;
		unsigned long long *x = v[n];

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &x[0], &x[1], &x[2], &x[3], &x[4], &x[5],
			   &x[6], &x[7]) == 9 && cpu == (unsigned int)n)
			n++;
	}
	fclose(f);
	return n;
}

static const char *bench_mode(const struct conn *c)
{
	if (c->plain)
		return "plain";
	return c->h ? "kernel" : "userspace";
}

static const char *bench_lib(const struct conn *c)
{
	if (c->plain)
		return "none";
	return opt.lib == LIB_OPENSSL ? "openssl" : "gnutls";
}

/* send() of a buffer on the raw socket, retrying while it is full */
static void bench_raw_send(struct conn *c, const void *buf, size_t len)
{
	for (;;) {
		if (send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return;
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
			wait_writable(c->fd);
			continue;
		}
		bench_fail("send of %zu bytes%s: %s", len,
			   opt.gso ? " with UDP_SEGMENT" : "", strerror(errno));
	}
}

static void bench_mmsg_send(struct conn *c, struct mmsghdr *mm, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		int r = sendmmsg(c->fd, mm + done, n - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			done += r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS ||
			      errno == EINTR)) {
			wait_writable(c->fd);
			continue;
		}
		bench_fail("sendmmsg: %s", r < 0 ? strerror(errno) : "sent nothing");
	}
}

/* --rate: the sender is ahead of its schedule by @secs */
static void bench_pause(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (time_t)secs) * 1e9),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void bench_send(struct conn *c)
{
	/* records per check of the clock: a paced sender checks it often */
	unsigned int per = 1, burst = opt.rate ? 8 : 64, i;
	struct mmsghdr *mm = NULL;
	struct iovec *iov = NULL;
	unsigned char *area;
	double t0, t, u0, s0, u1, s1;
	uint64_t n = 0;

	if (opt.gso) {
		int seg = opt.size;

		per = opt.gso < GSO_SEGS_MAX ? opt.gso : GSO_SEGS_MAX;
		if (per * opt.size > GSO_BYTES_MAX)
			per = GSO_BYTES_MAX / opt.size;
		if (!per)
			per = 1;
		if (setsockopt(c->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
			bench_fail("setsockopt(SOL_UDP, UDP_SEGMENT, %d): %s",
				   seg, strerror(errno));
	} else if (opt.batch > 1) {
		per = opt.batch;
	}
	area = malloc((size_t)per * opt.size);
	if (!area)
		die("out of memory");
	for (i = 0; i < per; i++)
		memcpy(area + (size_t)i * opt.size, bench_pat, opt.size);
	if (!opt.gso && per > 1) {
		mm = calloc(per, sizeof(*mm));
		iov = calloc(per, sizeof(*iov));
		if (!mm || !iov)
			die("out of memory");
		for (i = 0; i < per; i++) {
			iov[i].iov_base = area + (size_t)i * opt.size;
			iov[i].iov_len = opt.size;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
	}
	/* the receiver takes its snapshots right after its handshake */
	usleep(100000);
	cpu_secs(&u0, &s0);
	t0 = now();
	do {
		if (per > 1) {
			for (i = 0; i < per; i++)
				bench_stamp(area + (size_t)i * opt.size, n + i);
			if (opt.gso)
				bench_raw_send(c, area, (size_t)per * opt.size);
			else
				bench_mmsg_send(c, mm, per);
			n += per;
		} else {
			for (i = 0; i < burst; i++, n++) {
				bench_stamp(area, n);
				conn_send(c, area, opt.size);
			}
		}
		t = now() - t0;
		if (opt.rate && n / opt.rate > t) {
			bench_pause(n / opt.rate - t);
			t = now() - t0;
		}
	} while (t < opt.bench);
	cpu_secs(&u1, &s1);
	conn_close_notify(c);
	printf("%s sent %llu records of %zu bytes in %.2f s: %.2f MB/s, %.0f records/s\n",
	       bench_mode(c), (unsigned long long)n, opt.size,
	       t, n * opt.size / t / 1e6, n / t);
	printf("BENCH role=send mode=%s lib=%s gso=%u batch=%u size=%zu records=%llu bytes=%llu secs=%.6f utime=%.6f stime=%.6f\n",
	       bench_mode(c), bench_lib(c), opt.gso ? per : 0,
	       !opt.gso && per > 1 ? per : 0, opt.size,
	       (unsigned long long)n, (unsigned long long)n * opt.size, t,
	       u1 - u0, s1 - s0);
	fflush(stdout);
	free(mm);
	free(iov);
	free(area);
}

struct bench_rx {
	uint64_t good, bad, reorder, other, bytes, last_idx;
	double t0, t1;
};

/* check one received record: length, pattern, order */
static void bench_account(struct bench_rx *st, const unsigned char *b,
			  size_t len)
{
	uint64_t be, idx;

	if (len != opt.size ||
	    (len > 8 && memcmp(b + 8, bench_pat + 8, len - 8))) {
		st->bad++;
		return;
	}
	if (!st->good && !st->bad)
		st->t0 = now();
	if (len >= 8) {
		memcpy(&be, b, 8);
		idx = be64toh(be);
		if (st->good && idx <= st->last_idx)
			st->reorder++;
		st->last_idx = idx;
	}
	st->good++;
	st->bytes += len;
}

struct bench_rxbuf {
	struct mmsghdr mm[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct dtls_record_info)) +
			 CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr align;
	} cb[BATCH_MAX];
	unsigned int n;
};

/* recvmmsg until the queue is empty; true at the end of data */
static bool bench_recv_mmsg(struct conn *c, struct bench_rx *st,
			    struct bench_rxbuf *rb)
{
	for (;;) {
		unsigned int i;
		int r;

		for (i = 0; i < rb->n; i++) {
			rb->mm[i].msg_hdr.msg_control = rb->cb[i].buf;
			rb->mm[i].msg_hdr.msg_controllen = sizeof(rb->cb[i].buf);
			rb->mm[i].msg_hdr.msg_flags = 0;
		}
		r = recvmmsg(c->fd, rb->mm, rb->n, MSG_DONTWAIT, NULL);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (r < 0)
			bench_fail("recvmmsg: %s", strerror(errno));
		for (i = 0; i < (unsigned int)r; i++) {
			struct msghdr *m = &rb->mm[i].msg_hdr;
			const unsigned char *b = rb->iov[i].iov_base;
			size_t len = rb->mm[i].msg_len, seg = 0, off;
			struct dtls_record_info ri = { .content_type = 0 };
			bool typed = false;
			struct cmsghdr *cm;

			for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
				if (cm->cmsg_level == SOL_DTLS &&
				    cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
				    cm->cmsg_len >= CMSG_LEN(sizeof(ri))) {
					memcpy(&ri, CMSG_DATA(cm), sizeof(ri));
					typed = true;
				} else if (cm->cmsg_level == SOL_UDP &&
					   cm->cmsg_type == UDP_GRO) {
					int g;

					memcpy(&g, CMSG_DATA(cm), sizeof(g));
					seg = g > 0 ? (size_t)g : 0;
				}
			}
			if (m->msg_flags & MSG_TRUNC) {
				st->bad++;
				continue;
			}
			if (c->plain) {
				if (!len)
					return true;	/* end of data */
			} else {
				if (!typed)
					bench_fail("recvmmsg: no DTLS_GET_RECORD_TYPE control message");
				if (ri.content_type == DTLS_RECORD_TYPE_ALERT &&
				    (ri.flags & DTLS_RECORD_F_PROTECTED) &&
				    len >= 2 && b[1] == 0)
					return true;	/* close_notify */
				if (ri.content_type != DTLS_RECORD_TYPE_APPLICATION_DATA ||
				    !(ri.flags & DTLS_RECORD_F_PROTECTED)) {
					st->other++;
					continue;
				}
			}
			if (seg && len > seg) {	/* GRO: several datagrams */
				for (off = 0; off < len; off += seg)
					bench_account(st, b + off,
						      len - off < seg ? len - off : seg);
			} else {
				bench_account(st, b, len);
			}
		}
	}
}

static void bench_recv(struct conn *c)
{
	static unsigned long long cs0[NCPU_MAX][NCPU_FIELDS];
	static unsigned long long cs1[NCPU_MAX][NCPU_FIELDS];
	bool mmsg = c->plain || opt.batch > 1 || opt.gso;
	size_t bufsz = opt.gso ? 65536 : MAX_REC;
	struct bench_rxbuf *rb = NULL;
	struct bench_rx st = { 0 };
	unsigned char *buf;
	double w0, w1, u0, s0, u1, s1;
	const char *end = "idle";
	int ncpu, i, j;

	if (mmsg) {
		rb = calloc(1, sizeof(*rb));
		if (!rb)
			die("out of memory");
		rb->n = opt.batch > 1 ? opt.batch : opt.gso ? opt.gso : 1;
		if (rb->n > BATCH_MAX)
			rb->n = BATCH_MAX;
		buf = malloc(bufsz * rb->n);
		if (!buf)
			die("out of memory");
		for (i = 0; i < (int)rb->n; i++) {
			rb->iov[i].iov_base = buf + bufsz * i;
			rb->iov[i].iov_len = bufsz;
			rb->mm[i].msg_hdr.msg_iov = &rb->iov[i];
			rb->mm[i].msg_hdr.msg_iovlen = 1;
		}
	} else {
		buf = malloc(bufsz);
		if (!buf)
			die("out of memory");
	}
	if (opt.gso) {
		int one = 1;

		if (setsockopt(c->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			bench_fail("setsockopt(SOL_UDP, UDP_GRO, 1): %s",
				   strerror(errno));
	}
	/* the window, in instructions too under tools/qemu-insns */
	BENCH_MARK();
	w0 = now();
	ncpu = read_cpustat(cs0);
	cpu_secs(&u0, &s0);
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int timeout = st.good + st.bad ? BENCH_IDLE_MS :
			      (int)(opt.bench * 1000) + 30000;
		ssize_t r;

		if (!conn_has_pending(c) && poll(&p, 1, timeout) == 0)
			break;	/* sender gone; its end marker was lost */
		if (mmsg && !conn_has_pending(c)) {
			if (bench_recv_mmsg(c, &st, rb)) {
				st.t1 = now();	/* the last records came with it */
				end = "close";
				break;
			}
			st.t1 = now();
			continue;
		}
		for (;;) {
			r = conn_recv(c, buf, bufsz);
			if (r == -EAGAIN)
				break;
			if (r < 0)
				bench_fail("receive: %s", recv_error(c, r));
			if (r == 0) {
				st.t1 = now();	/* a busy receiver never drained */
				end = "close";
				goto done;
			}
			bench_account(&st, buf, r);
		}
		st.t1 = now();
	}
done:
	cpu_secs(&u1, &s1);
	if (read_cpustat(cs1) != ncpu)
		ncpu = 0;
	w1 = now();	/* wall covers both /proc/stat snapshots */
	BENCH_MARK();
	if (st.good && st.t1 > st.t0) {
		double t = st.t1 - st.t0;

		printf("%s received %llu records (%llu bytes) in %.2f s: %.2f MB/s, %.0f records/s, %lld lost\n",
		       bench_mode(c), (unsigned long long)st.good,
		       (unsigned long long)st.bytes, t, st.bytes / t / 1e6,
		       st.good / t,
		       (long long)(st.last_idx + 1 - st.good));
	} else {
		printf("received %llu records\n", (unsigned long long)st.good);
	}
	printf("BENCH role=recv mode=%s lib=%s gso=%u batch=%u size=%zu records=%llu bad=%llu reorder=%llu other=%llu last_idx=%llu bytes=%llu secs=%.6f utime=%.6f stime=%.6f wall=%.6f end=%s",
	       bench_mode(c), bench_lib(c), opt.gso, mmsg ? rb->n : 0,
	       opt.size, (unsigned long long)st.good,
	       (unsigned long long)st.bad, (unsigned long long)st.reorder,
	       (unsigned long long)st.other,
	       (unsigned long long)st.last_idx, (unsigned long long)st.bytes,
	       st.t1 > st.t0 ? st.t1 - st.t0 : 0.0, u1 - u0, s1 - s0,
	       w1 - w0, end);
	/* user nice system idle iowait irq softirq steal, USER_HZ ticks */
	for (i = 0; i < ncpu; i++) {
		printf(" cpu%d=", i);
		for (j = 0; j < NCPU_FIELDS; j++)
			printf("%s%llu", j ? "," : "", cs1[i][j] - cs0[i][j]);
	}
	printf("\n");
	fflush(stdout);
	free(buf);
	free(rb);
}

/* --plain: the client's first datagram (1 byte) names it to the server */
static void plain_hello(struct conn *c)
{
	char b;

	if (opt.listen) {
		if (recv(c->fd, &b, 1, 0) < 0)
			die("recv: %s", strerror(errno));
		verbose("plain UDP: peer's hello received");
	} else {
		if (send(c->fd, "H", 1, 0) < 0)
			die("send: %s", strerror(errno));
		usleep(100000);	/* let the server connect() to us */
	}
}

static void parse_psk(void)
{
	size_t len = strlen(opt.psk_hex), i;

	if (!len || len % 2 || len / 2 > sizeof(opt.psk))
		die("--psk wants an even number of hex digits (at most 128)");
	for (i = 0; i < len / 2; i++) {
		unsigned int b;

		if (sscanf(opt.psk_hex + 2 * i, "%2x", &b) != 1)
			die("--psk: '%s' is not hex", opt.psk_hex);
		opt.psk[i] = b;
	}
	opt.psk_len = len / 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "psk", required_argument, NULL, 'P' },
		{ "psk-identity", required_argument, NULL, 'I' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "lib", required_argument, NULL, 'L' },
		{ "no-offload", no_argument, NULL, 'N' },
		{ "bench", required_argument, NULL, 'B' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'S' },
		{ "delay", required_argument, NULL, 'D' },
		{ "sizes", required_argument, NULL, 'Z' },
		{ "seed", required_argument, NULL, 'E' },
		{ "handoff-delay", required_argument, NULL, 'H' },
		{ "handoff-peek", no_argument, NULL, 'p' },
		{ "hs-timeout", required_argument, NULL, 'T' },
		{ "recv-bytes", required_argument, NULL, 'R' },
		{ "plain", no_argument, NULL, 'U' },
		{ "gso", required_argument, NULL, 'G' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct sockaddr_storage peer;
	struct conn c = { .fd = -1 };
	int o;

	while ((o = getopt_long(argc, argv, "l6dq:vh", lo, NULL)) != -1) {
		switch (o) {
		case 'l': opt.listen = true; break;
		case '6': opt.v6 = true; break;
		case 'd': opt.no_stdin = true; break;
		case 'q': opt.linger = atoi(optarg); break;
		case 'v': opt.verbose = true; break;
		case 'P': opt.psk_hex = optarg; break;
		case 'I': opt.psk_id = optarg; break;
		case 'C': opt.cert = optarg; break;
		case 'K': opt.key = optarg; break;
		case 'c': opt.cipher = optarg; break;
		case 'N': opt.no_offload = true; break;
		case 'B': opt.bench = atof(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 'D': opt.delay_us = atol(optarg); break;
		case 'S': opt.size = strtoul(optarg, NULL, 0); break;
		case 'Z':
			if (sscanf(optarg, "%zu-%zu", &opt.size_min,
				   &opt.size_max) != 2 || !opt.size_min ||
			    opt.size_min > opt.size_max || opt.size_max > MAX_REC)
				die("--sizes wants MIN-MAX with 1 <= MIN <= MAX <= %d",
				    MAX_REC);
			break;
		case 'E': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'H': opt.handoff_delay_ms = atol(optarg); break;
		case 'p': opt.handoff_peek = true; break;
		case 'T': opt.hs_timeout_ms = atoi(optarg); break;
		case 'R': opt.recv_bytes = strtoull(optarg, NULL, 0); break;
		case 'U': opt.plain = true; break;
		case 'G': opt.gso = strtoul(optarg, NULL, 0); break;
		case 'b': opt.batch = strtoul(optarg, NULL, 0); break;
		case 'L':
			if (!strcmp(optarg, "openssl"))
				opt.lib = LIB_OPENSSL;
			else if (!strcmp(optarg, "gnutls"))
				opt.lib = LIB_GNUTLS;
			else
				die("--lib wants openssl or gnutls");
			break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (argc - optind == 2) {
		opt.host = argv[optind];
		opt.port = argv[optind + 1];
	} else if (opt.listen && argc - optind == 1) {
		opt.port = argv[optind];
	} else {
		usage(2);
	}
	if (!opt.size || opt.size > MAX_REC)
		die("--size must be 1..%d", MAX_REC);
	if (opt.psk_hex && opt.cert)
		die("use either --psk or --cert, not both");
	if (!!opt.cert != !!opt.key)
		die("--cert and --key go together");
	if (opt.listen && !opt.psk_hex && !opt.cert)
		die("the server needs --cert FILE --key FILE or --psk HEX");
	if (opt.handoff_peek && opt.lib != LIB_OPENSSL)
		die("--handoff-peek needs --lib openssl (GnuTLS cannot peek)");
	if ((opt.gso || opt.batch > 1 || opt.rate) && opt.bench <= 0)
		die("--gso, --batch and --rate are --bench options");
	if (opt.rate < 0 || (opt.rate && opt.listen))
		die("--rate takes a positive number of records per second, and only on the sending side");
	if ((opt.gso || opt.batch > 1) && opt.no_offload && !opt.plain)
		die("--gso and --batch need the kernel record layer or --plain");
	if (opt.gso && opt.batch > 1)
		die("use either --gso or --batch");
	if (opt.batch > BATCH_MAX || opt.gso > GSO_SEGS_MAX)
		die("--batch and --gso take at most %d", BATCH_MAX);
	if (opt.psk_hex)
		parse_psk();
	cipher_index();	/* validate early */
	signal(SIGPIPE, SIG_IGN);

	c.fd = open_socket(&peer);
	if (opt.plain) {
		c.plain = true;
		plain_hello(&c);
	} else if (opt.lib == LIB_OPENSSL) {
		setup_openssl(&c, &peer);
		handshake_openssl(&c);
	} else {
		setup_gnutls(&c);
		handshake_gnutls(&c);
	}
	if (opt.handoff_peek)
		handoff_peek(&c);
	if (opt.handoff_delay_ms > 0) {
		verbose("waiting %ld ms before the offload", opt.handoff_delay_ms);
		usleep(opt.handoff_delay_ms * 1000);
	}
	/* GnuTLS refuses records beyond its DTLS MTU (1400 for the
	 * handshake); once done, let a record of any size go out as one
	 * datagram, as OpenSSL and the kernel do */
	if (c.gs && opt.no_offload)
		gnutls_dtls_set_mtu(c.gs, MAX_REC + 64);
	if (c.h)
		offload(&c);
	else if (!c.plain)
		verbose("record layer stays in %s (--no-offload)",
			opt.lib == LIB_OPENSSL ? "OpenSSL" : "GnuTLS");
	/* the TLS library's objects are not used for I/O once offloaded */
	if (fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));

	if (opt.bench > 0) {
		bench_pattern();
		if (opt.listen)
			bench_recv(&c);
		else
			bench_send(&c);
	} else {
		relay(&c);
	}
	if (c.h) {
		struct dtls_offload_stats st;

		dtls_offload_get_stats(c.h, &st);
		verbose("retransmissions of our last flight: %llu, records ignored: %llu, drained records: %llu",
			(unsigned long long)st.retransmits,
			(unsigned long long)st.ignored_records,
			(unsigned long long)st.drained_records);
		dtls_offload_free(c.h);
	}
	verbose("application data records sent: %llu, received: %llu",
		(unsigned long long)rec_sent, (unsigned long long)rec_received);
	if (c.ssl)
		SSL_free(c.ssl);
	if (c.gs)
		gnutls_deinit(c.gs);
	close(c.fd);
	return 0;
}
