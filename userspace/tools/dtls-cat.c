// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat: netcat for DTLS 1.2 over UDP, with the record layer in the
 * kernel (kernel/dtls.ko) after an OpenSSL or GnuTLS handshake.
 *
 *   dtls-cat [-l] [-6] [-d] [-q SECS] [-v] [--psk HEX --psk-identity ID |
 *            --cert FILE --key FILE] [--cipher NAME] [--lib openssl|gnutls]
 *            [--no-offload] [--size N | --sizes MIN-MAX [--seed N]]
 *            [--delay USEC] [--bench SECONDS]
 *            [--handoff-delay MS] [--handoff-peek] [--hs-timeout MS]
 *            [--recv-bytes N] HOST PORT
 *
 * The peer certificate is not verified: this is a test tool.
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
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include "dtls_offload.h"

#define PROG "dtls-cat"
#define MAX_REC 16384

enum lib { LIB_OPENSSL, LIB_GNUTLS };

static struct {
	bool listen, v6, no_offload, no_stdin, verbose;
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
"                [--delay USEC] [--bench SECONDS]\n"
"                [--handoff-delay MS] [--handoff-peek] [--hs-timeout MS]\n"
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
};

/* > 0 bytes, 0 close_notify, -EAGAIN nothing now, other < 0 error */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
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

		if (c->h) {
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
	int r;

	if (c->h) {
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

static void bench_send(struct conn *c)
{
	unsigned char *buf = calloc(1, opt.size < 8 ? 8 : opt.size);
	double t0 = now(), t;
	uint64_t n = 0;
	int i;

	if (!buf)
		die("out of memory");
	do {
		for (i = 0; i < 64; i++, n++) {
			uint64_t be = htobe64(n);

			memcpy(buf, &be, opt.size < 8 ? opt.size : 8);
			conn_send(c, buf, opt.size);
		}
		t = now() - t0;
	} while (t < opt.bench);
	conn_close_notify(c);
	printf("%s sent %llu records of %zu bytes in %.2f s: %.2f MB/s, %.0f records/s\n",
	       c->h ? "kernel" : "userspace", (unsigned long long)n, opt.size,
	       t, n * opt.size / t / 1e6, n / t);
}

static void bench_recv(struct conn *c)
{
	unsigned char *buf = malloc(MAX_REC);
	uint64_t n = 0, bytes = 0, max_idx = 0;
	double t0 = 0, t1 = 0;
	bool have_idx = false;

	if (!buf)
		die("out of memory");
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int timeout = n ? (int)(opt.bench * 1000) + 5000 : -1;
		ssize_t r;

		if (!conn_has_pending(c) && poll(&p, 1, timeout) == 0)
			break;	/* sender gone without close_notify */
		for (;;) {
			r = conn_recv(c, buf, MAX_REC);
			if (r == -EAGAIN)
				break;
			if (r < 0)
				die("receive: %s", recv_error(c, r));
			if (r == 0)
				goto done;
			if (!n)
				t0 = now();
			t1 = now();
			n++;
			bytes += r;
			if (r >= 8) {
				uint64_t be;

				memcpy(&be, buf, 8);
				if (!have_idx || be64toh(be) > max_idx)
					max_idx = be64toh(be);
				have_idx = true;
			}
		}
	}
done:
	if (n && t1 > t0) {
		double t = t1 - t0;

		printf("%s received %llu records (%llu bytes) in %.2f s: %.2f MB/s, %.0f records/s, %lld lost\n",
		       c->h ? "kernel" : "userspace", (unsigned long long)n,
		       (unsigned long long)bytes, t, bytes / t / 1e6, n / t,
		       have_idx ? (long long)(max_idx + 1 - n) : -1LL);
	} else {
		printf("received %llu records\n", (unsigned long long)n);
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
		{ "size", required_argument, NULL, 'S' },
		{ "delay", required_argument, NULL, 'D' },
		{ "sizes", required_argument, NULL, 'Z' },
		{ "seed", required_argument, NULL, 'E' },
		{ "handoff-delay", required_argument, NULL, 'H' },
		{ "handoff-peek", no_argument, NULL, 'p' },
		{ "hs-timeout", required_argument, NULL, 'T' },
		{ "recv-bytes", required_argument, NULL, 'R' },
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
	if (opt.psk_hex)
		parse_psk();
	cipher_index();	/* validate early */
	signal(SIGPIPE, SIG_IGN);

	c.fd = open_socket(&peer);
	if (opt.lib == LIB_OPENSSL) {
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
	if (c.h)
		offload(&c);
	else
		verbose("record layer stays in %s (--no-offload)",
			opt.lib == LIB_OPENSSL ? "OpenSSL" : "GnuTLS");
	/* the TLS library's objects are not used for I/O once offloaded */
	if (fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));

	if (opt.bench > 0) {
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
