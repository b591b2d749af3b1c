// SPDX-License-Identifier: GPL-2.0
/*
 * The part of dtls-cat and dtls-bench that both need: options, messages,
 * the socket, the handshake, the handoff to the kernel and one record's
 * send and receive.  See common.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <gnutls/dtls.h>

#include "common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct common_opts opt = {
	.size = 1200,
	.psk_id = "Client_identity",
};

/* ---- messages and arguments ---- */

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* a whole number (decimal, or 0x hex) from @min to @max, or die */
static unsigned long long num_range(const char *name, const char *s,
				    unsigned long long min,
				    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!isdigit((unsigned char)*s) || errno || *end || v < min || v > max)
		die("%s wants a whole number from %llu to %llu, not '%s'",
		    name, min, max, s);
	return v;
}

unsigned long long num_arg(const char *name, const char *s,
			   unsigned long long max)
{
	return num_range(name, s, 0, max);
}

/* a number >= 0, fractions allowed (seconds, records per second), or die */
double real_arg(const char *name, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!isdigit((unsigned char)*s) || errno || *end || !(v <= 1e9))
		die("%s wants a number of at least 0 (such as 2 or 0.5), not '%s'",
		    name, s);
	return v;
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- cipher names ---- */

int cipher_index(void)
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
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(opt.cipher, names[i].name))
			return names[i].idx;
	die("unknown cipher '%s': use aes128gcm, aes256gcm, aes128ccm, aes128ccm8 or chacha20",
	    opt.cipher);
}

static const char *openssl_ciphers(void)
{
	static const char * const psk[] = {
		"PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384",
		"PSK-AES128-CCM", "PSK-AES128-CCM8", "PSK-CHACHA20-POLY1305",
		"PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-CCM:PSK-AES128-CCM8",
	};
	static const char * const cert[] = {
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM8",
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES128-CCM8",
	};

	return opt.psk_hex ? psk[cipher_index()] : cert[cipher_index()];
}

static void gnutls_priority(char *buf, size_t len)
{
	static const char * const c[] = {
		"+AES-128-GCM", "+AES-256-GCM", "+AES-128-CCM", "+AES-128-CCM-8",
		"+CHACHA20-POLY1305",
		"+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:+AES-128-CCM-8",
	};

	snprintf(buf, len, "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:%s%s",
		 c[cipher_index()],
		 opt.psk_hex ? ":-KX-ALL:+PSK:+ECDHE-PSK" : "");
}

/* ---- options both programs take ---- */

static const struct option common_long[] = {
	{ "psk", required_argument, NULL, 'P' },
	{ "psk-identity", required_argument, NULL, 'I' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "cipher", required_argument, NULL, 'c' },
	{ "lib", required_argument, NULL, 'L' },
	{ "dtls13", no_argument, NULL, '3' },
	{ "no-offload", no_argument, NULL, 'N' },
	{ "size", required_argument, NULL, 'S' },
	{ "hs-timeout", required_argument, NULL, 'T' },
	{ "plain", no_argument, NULL, 'U' },
	{ "cid", required_argument, NULL, 'x' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

static bool common_flag(int o)
{
	switch (o) {
	case 'l':
		opt.listen = true;
		break;
	case '6':
		opt.v6 = true;
		break;
	case 'v':
		opt.verbose = true;
		break;
	case 'N':
		opt.no_offload = true;
		break;
	case 'U':
		opt.plain = true;
		break;
	default:
		return false;
	}
	return true;
}

static bool common_option(int o, const char *arg)
{
	switch (o) {
	case 'P':
		opt.psk_hex = arg;
		break;
	case 'I':
		opt.psk_id = arg;
		break;
	case 'C':
		opt.cert = arg;
		break;
	case 'K':
		opt.key = arg;
		break;
	case 'c':
		opt.cipher = arg;
		break;
	case 'S':
		opt.size = num_range("--size", arg, 1, MAX_REC);
		break;
	case 'T':
		opt.hs_timeout_ms = num_arg("--hs-timeout", arg, 60000);
		break;
	case 'L':
		if (!strcmp(arg, "openssl"))
			opt.lib = LIB_OPENSSL;
		else if (!strcmp(arg, "gnutls"))
			opt.lib = LIB_GNUTLS;
		else if (!strcmp(arg, "wolfssl"))
			opt.lib = LIB_WOLFSSL;
		else if (!strcmp(arg, "mbedtls"))
			opt.lib = LIB_MBEDTLS;
		else
			die("--lib wants openssl, gnutls, wolfssl or mbedtls");
		opt.lib_set = true;
		break;
	case '3':
		opt.dtls13 = true;
		break;
	case 'x':
		opt.cid_hex = arg;
		break;
	default:
		return common_flag(o);
	}
	return true;
}

static const char common_help[] =
	"  -l               listen on HOST PORT (HOST may be omitted), serve the first peer\n"
	"  -6               IPv6\n"
	"  -v               report handshake and offload details on stderr\n"
	"  --psk HEX        pre-shared key (PSK suites), identity --psk-identity ID\n"
	"                   (Client_identity)\n"
	"  --cert FILE --key FILE  certificate and key, PEM (a server needs these or --psk)\n"
	"  --cipher NAME    aes128gcm, aes256gcm, aes128ccm, aes128ccm8, chacha20\n"
	"  --lib LIB        handshake library: openssl (default), gnutls, wolfssl or\n"
	"                   mbedtls (DTLS 1.2; wolfssl: --cert/--key, no --psk)\n"
	"  --cid HEX        mbedtls, wolfssl: use connection IDs (RFC 9146, RFC 9147),\n"
	"                   ours HEX (up to 255 bytes, mbed TLS's build takes 32;\n"
	"                   '' for none: only the peer's, if it asks)\n"
	"  --dtls13         DTLS 1.3, whose handshake only wolfssl does (--lib\n"
	"                   wolfssl may be left out)\n"
	"  --no-offload     keep the record layer in the TLS library\n"
	"  --size N         bytes per record (1200; at most 16384)\n"
	"  --hs-timeout MS  first handshake retransmission timeout (library default:\n"
	"                   1 s), doubled per retry up to 8 s\n"
	"  --plain          no DTLS: plain UDP datagrams (a 1-byte hello first, an\n"
	"                   empty datagram as end of data)\n"
	"  --version        print the version and exit\n";

void common_usage(FILE *f)
{
	fputs(common_help, f);
}

/* getopt_long() returned '?' (opterr is 0): one line, status 2 */
static void __noreturn bad_option(char **argv)
{
	fprintf(stderr, "%s: unknown option or missing argument in '%s': see %s --help\n",
		prog_name, argv[optind - 1], prog_name);
	exit(2);
}

/* common_long, then the program's options, then the end of the list */
static struct option *long_options(const struct option *own_long)
{
	size_t n = 0, nc = ARRAY_SIZE(common_long);
	struct option *lo;

	while (own_long[n].name)
		n++;
	lo = calloc(nc + n + 1, sizeof(*lo));
	if (!lo)
		die("out of memory");
	memcpy(lo, common_long, sizeof(common_long));
	memcpy(lo + nc, own_long, n * sizeof(*lo));
	return lo;
}

/* option @name's @hex into @out (at most @max bytes, @min at least) */
static size_t parse_hex(const char *name, const char *hex, unsigned char *out,
			size_t min, size_t max)
{
	size_t len = strlen(hex), i;

	if (len < 2 * min || len % 2 || len / 2 > max)
		die("%s wants an even number of hex digits (%zu to %zu)", name,
		    2 * min, 2 * max);
	for (i = 0; i < len / 2; i++) {
		unsigned int b;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &b) != 1)
			die("%s: '%s' is not hex", name, hex);
		out[i] = b;
	}
	return len / 2;
}

/* HOST PORT after the options, and the checks both programs make */
static void common_args(int argc, char **argv)
{
	if (argc - optind == 2) {
		opt.host = argv[optind];
		opt.port = argv[optind + 1];
	} else if (opt.listen && argc - optind == 1) {
		opt.port = argv[optind];
	} else {
		die("give HOST PORT (a server: [HOST] PORT) after the options: see %s --help",
		    prog_name);
	}
	if (opt.psk_hex && opt.cert)
		die("use either --psk or --cert, not both");
	if (!!opt.cert != !!opt.key)
		die("--cert and --key go together");
	if (opt.listen && !opt.psk_hex && !opt.cert)
		die("the server needs --cert FILE --key FILE or --psk HEX");
	if (opt.psk_hex)
		opt.psk_len = parse_hex("--psk", opt.psk_hex, opt.psk, 1,
					sizeof(opt.psk));
	if (opt.dtls13 && opt.lib_set && opt.lib != LIB_WOLFSSL)
		die("--dtls13 needs --lib wolfssl (OpenSSL and GnuTLS do DTLS 1.2 here)");
	if (opt.dtls13)
		opt.lib = LIB_WOLFSSL;
	if (opt.cid_hex && opt.lib != LIB_MBEDTLS && opt.lib != LIB_WOLFSSL)
		die("--cid needs --lib mbedtls or wolfssl (OpenSSL and GnuTLS have no connection IDs)");
	if (opt.cid_hex)
		opt.cid_len = parse_hex("--cid", opt.cid_hex, opt.cid, 0,
					sizeof(opt.cid));
	cipher_index();	/* validate early */
	signal(SIGPIPE, SIG_IGN);
}

void parse_options(int argc, char **argv, const char *own_short,
		   const struct option *own_long,
		   bool (*own)(int o, const char *arg, char **argv),
		   void (*usage)(void))
{
	struct option *lo = long_options(own_long);
	char shortopts[64];
	int o;

	snprintf(shortopts, sizeof(shortopts), "l6vh%s", own_short);
	opterr = 0;
	while ((o = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (o == 'h')
			usage();
		if (o == 'V') {
			/* the project's version, from its VERSION file */
			printf("%s %s\n", prog_name, KDTLS_VERSION);
			exit(0);
		}
		if (!own(o, optarg, argv) && !common_option(o, optarg))
			bad_option(argv);
	}
	free(lo);
	common_args(argc, argv);
}

/* ---- the socket ---- */

/* big buffers: a UDP receiver that falls behind loses records */
static void socket_buffers(int fd)
{
	int sz = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* server: bind, then connect() to whoever sends the first datagram */
static void serve_first_peer(int fd, const struct addrinfo *ai,
			     struct sockaddr_storage *peer)
{
	socklen_t plen = sizeof(*peer);
	int one = 1;
	char b;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind %s port %s: %s: pick a free port or address",
		    opt.host ?: "(any)", opt.port, strerror(errno));
	/* The first datagram (a ClientHello) names the peer. */
	if (recvfrom(fd, &b, 1, MSG_PEEK, (struct sockaddr *)peer, &plen) < 0)
		die("recvfrom: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)peer, plen) < 0)
		die("connect to the peer: %s", strerror(errno));
}

static int open_socket(struct sockaddr_storage *peer)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	int fd, err;

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
	socket_buffers(fd);
	if (opt.listen) {
		serve_first_peer(fd, ai, peer);
	} else {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die("connect %s port %s: %s", opt.host, opt.port,
			    strerror(errno));
		memcpy(peer, ai->ai_addr, ai->ai_addrlen);
	}
	freeaddrinfo(ai);
	return fd;
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

const char *ossl_err(void)
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

static SSL_CTX *ossl_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(opt.listen ? DTLS_server_method() :
				   DTLS_client_method());

	if (!ctx)
		die("SSL_CTX_new: %s", ossl_err());
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
	if (SSL_CTX_set_cipher_list(ctx, openssl_ciphers()) != 1)
		die("OpenSSL has no cipher '%s': %s", openssl_ciphers(),
		    ossl_err());
	if (opt.psk_hex && opt.listen)
		SSL_CTX_set_psk_server_callback(ctx, ossl_psk_server);
	else if (opt.psk_hex)
		SSL_CTX_set_psk_client_callback(ctx, ossl_psk_client);
	if (opt.cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1)
			die("cannot use certificate %s: %s", opt.cert,
			    ossl_err());
		if (SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)
			die("cannot use key %s: %s", opt.key, ossl_err());
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void setup_openssl(struct conn *c, struct sockaddr_storage *peer)
{
	SSL_CTX *ctx = ossl_ctx();
	BIO *bio;

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

/* libdtls_offload watches the handshake that it will take over */
static void prepare_offload(struct conn *c)
{
	int r;

	c->h = dtls_offload_new();
	if (!c->h)
		die("out of memory");
	if (opt.lib == LIB_OPENSSL)
		r = dtls_offload_openssl_prepare(c->h, c->ssl);
	else
		r = dtls_offload_gnutls_prepare(c->h, c->gs, c->fd);
	if (r)
		die("dtls_offload_%s_prepare: %s",
		    opt.lib == LIB_OPENSSL ? "openssl" : "gnutls",
		    dtls_offload_strerror(r));
}

static void handshake_openssl(struct conn *c)
{
	int r;

	if (!opt.no_offload)
		prepare_offload(c);
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

static void gnutls_set_psk(struct conn *c)
{
	gnutls_psk_server_credentials_t sc;
	gnutls_psk_client_credentials_t cc;
	gnutls_datum_t k = { (unsigned char *)opt.psk_hex,
			     strlen(opt.psk_hex) };
	int r;

	if (opt.listen) {
		gnutls_psk_allocate_server_credentials(&sc);
		gnutls_psk_set_server_credentials_function(sc, gnutls_psk_server);
		gnutls_credentials_set(c->gs, GNUTLS_CRD_PSK, sc);
		return;
	}
	gnutls_psk_allocate_client_credentials(&cc);
	r = gnutls_psk_set_client_credentials(cc, opt.psk_id, &k,
					      GNUTLS_PSK_KEY_HEX);
	if (r < 0)
		die("PSK: %s", gnutls_strerror(r));
	gnutls_credentials_set(c->gs, GNUTLS_CRD_PSK, cc);
}

static void gnutls_set_cert(struct conn *c)
{
	gnutls_certificate_credentials_t cc;
	int r;

	gnutls_certificate_allocate_credentials(&cc);
	if (opt.cert) {
		r = gnutls_certificate_set_x509_key_file(cc, opt.cert, opt.key,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0)
			die("cannot use certificate %s / key %s: %s",
			    opt.cert, opt.key, gnutls_strerror(r));
	}
	gnutls_credentials_set(c->gs, GNUTLS_CRD_CERTIFICATE, cc);
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
	if (opt.psk_hex)
		gnutls_set_psk(c);
	else
		gnutls_set_cert(c);
	gnutls_handshake_set_timeout(c->gs, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
	gnutls_dtls_set_mtu(c->gs, 1400);
	if (opt.hs_timeout_ms)
		gnutls_dtls_set_timeouts(c->gs, opt.hs_timeout_ms, 60000);
}

static void handshake_gnutls(struct conn *c)
{
	int r;

	if (!opt.no_offload)
		prepare_offload(c);
	else
		gnutls_transport_set_int(c->gs, c->fd);
	do {
		r = gnutls_handshake(c->gs);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		die("DTLS handshake failed: %s", gnutls_strerror(r));
	verbose("handshake done: GnuTLS, %s",
		gnutls_cipher_get_name(gnutls_cipher_get(c->gs)));
}

/* ---- the connection ---- */

/* The socket, connected to the peer, and the handshake (or --plain's hello) */
void conn_handshake(struct conn *c)
{
	struct sockaddr_storage peer;

	c->fd = open_socket(&peer);
	if (opt.plain) {
		c->plain = true;
		plain_hello(c);
	} else if (opt.lib == LIB_WOLFSSL) {
#ifdef HAVE_WOLFSSL13
		wolf_handshake(c);
#else
		die("this build has no wolfSSL (tools/setup's, with DTLS 1.3): run tools/setup, then make");
#endif
	} else if (opt.lib == LIB_MBEDTLS) {
#ifdef HAVE_MBEDTLS
		mbed_handshake(c);
#else
		die("this build has no mbed TLS (tools/setup's, 3.6): run tools/setup, then make");
#endif
	} else if (opt.lib == LIB_OPENSSL) {
		setup_openssl(c, &peer);
		handshake_openssl(c);
	} else {
		setup_gnutls(c);
		handshake_gnutls(c);
	}
}

/* -v: the connection IDs in use, "none" for a direction without */
static void verbose_cids(struct conn *c)
{
	char hex[2][2 * DTLS_OFFLOAD_CID_MAX + 5];
	uint8_t cid[DTLS_OFFLOAD_CID_MAX];
	int dir, n, i;

	for (dir = 0; dir < 2; dir++) {
		n = dtls_offload_get_cid(c->h, dir, cid, sizeof(cid));
		strcpy(hex[dir], n > 0 ? "" : "none");
		for (i = 0; i < n; i++)
			sprintf(hex[dir] + 2 * i, "%02x", cid[i]);
	}
	verbose("connection IDs: tx %s, rx %s", hex[1], hex[0]);
}

static void install_keys(struct conn *c)
{
	struct dtls_offload_stats st;
	int r;

	if (opt.lib == LIB_OPENSSL)
		r = dtls_offload_openssl(c->h, c->fd, c->ssl);
	else if (opt.lib == LIB_GNUTLS)
		r = dtls_offload_gnutls(c->h, c->fd, c->gs);
#ifdef HAVE_MBEDTLS
	else if (opt.lib == LIB_MBEDTLS)
		r = mbed_offload(c);
#endif
	else
#ifdef HAVE_WOLFSSL13
		r = wolf_offload(c);
#else
		r = -DTLS_OFFLOAD_E_STATE;
#endif
	if (r == -ENOPROTOOPT)
		die("kernel DTLS not available: load kernel/dtls.ko (setsockopt SOL_DTLS: %s)",
		    strerror(ENOPROTOOPT));
	if (r == -DTLS_OFFLOAD_E_CIPHER)
		die("the negotiated cipher is not supported by kernel DTLS: use --cipher aes128gcm, aes256gcm, aes128ccm, aes128ccm8 or chacha20, or --no-offload");
	if (r == -DTLS_OFFLOAD_E_CID)
		die("the handshake negotiated connection IDs and this kernel DTLS refuses them: load a dtls.ko that has them, or drop --cid");
	if (r)
		die("offload to the kernel failed: %s", dtls_offload_strerror(r));
	verbose_cids(c);
	dtls_offload_get_stats(c->h, &st);
	verbose("offloaded: %s, tx rec_seq %u/%llu, rx rec_seq %u/%llu, %llu drained records",
		dtls_offload_cipher_name(c->h),
		(unsigned int)(st.tx_rec_seq >> 48),
		(unsigned long long)(st.tx_rec_seq & 0xffffffffffffULL),
		(unsigned int)(st.rx_rec_seq >> 48),
		(unsigned long long)(st.rx_rec_seq & 0xffffffffffffULL),
		(unsigned long long)st.drained_records);
}

/* After the handshake: the kernel takes the record layer (unless
 * --no-offload or --plain) and the socket becomes non-blocking.
 */
void conn_offload(struct conn *c)
{
	/* GnuTLS refuses records beyond its DTLS MTU (1400 for the
	 * handshake); once done, let a record of any size go out as one
	 * datagram, as OpenSSL and the kernel do
	 */
	if (c->gs && opt.no_offload)
		gnutls_dtls_set_mtu(c->gs, MAX_REC + 64);
	if (c->h)
		install_keys(c);
	else if (!c->plain)
		verbose("record layer stays in %s (--no-offload)",
			opt.lib == LIB_OPENSSL ? "OpenSSL" : "GnuTLS");
	/* the TLS library's objects are not used for I/O once offloaded */
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

void conn_free(struct conn *c)
{
	if (c->h) {
		struct dtls_offload_stats st;

		dtls_offload_get_stats(c->h, &st);
		verbose("retransmissions of our last flight: %llu, records ignored: %llu, drained records: %llu",
			(unsigned long long)st.retransmits,
			(unsigned long long)st.ignored_records,
			(unsigned long long)st.drained_records);
		verbose("last keys installed: tx epoch %u, rx epoch %u",
			(unsigned int)(st.tx_rec_seq >> 48),
			(unsigned int)(st.rx_rec_seq >> 48));
		dtls_offload_free(c->h);
	}
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->gs)
		gnutls_deinit(c->gs);
#ifdef HAVE_WOLFSSL13
	if (c->wssl)
		wolf_conn_free(c);
#endif
#ifdef HAVE_MBEDTLS
	if (c->mbed)
		mbed_conn_free(c);
#endif
	close(c->fd);
}

/* ---- one record ---- */

static ssize_t recv_openssl(struct conn *c, void *buf, size_t len)
{
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

static ssize_t recv_gnutls(struct conn *c, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = gnutls_record_recv(c->gs, buf, len);

		if (n >= 0)
			return n;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		if (gnutls_error_is_fatal(n))
			return -EPROTO;
	}
}

/* > 0 bytes, 0 close_notify, -EAGAIN nothing now, other < 0 error */
ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->plain) {
		/* an empty datagram is --plain's end of data */
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
		return n < 0 ? -errno : n;
	}
	if (c->h)
		return dtls_offload_recv(c->h, buf, len, MSG_DONTWAIT);
	if (c->ssl)
		return recv_openssl(c, buf, len);
	return recv_gnutls(c, buf, len);
}

bool conn_has_pending(struct conn *c)
{
	if (c->plain)
		return false;
	if (c->h)
		return dtls_offload_pending(c->h) > 0;
	if (c->ssl)
		return SSL_pending(c->ssl) > 0;
	return gnutls_record_check_pending(c->gs) > 0;
}

void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	poll(&p, 1, 100);
}

/* -errno of a failed send: true if the socket buffer is full, else die */
static bool send_full(int err, const char *what)
{
	if (err == EAGAIN || err == ENOBUFS || err == EINTR)
		return true;
	if (err == ECONNREFUSED)
		die("send: peer not listening (Connection refused): start the peer first");
	die("send: %s", what);
}

/* One try at sending one record: false while the socket buffer is full. */
static bool send_once(struct conn *c, const void *buf, size_t len)
{
	ssize_t n;
	int r;

	if (c->plain) {
		n = send(c->fd, buf, len, MSG_DONTWAIT);
		return n >= 0 || !send_full(errno, strerror(errno));
	}
	if (c->h) {
		n = dtls_offload_send(c->h, buf, len, MSG_DONTWAIT);
		return n >= 0 || !send_full(-n, dtls_offload_strerror(n));
	}
	if (c->ssl) {
		r = SSL_write(c->ssl, buf, len);
		if (r > 0)
			return true;
		r = SSL_get_error(c->ssl, r);
		if (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ)
			return false;
		die("SSL_write failed: %s",
		    ERR_reason_error_string(ERR_get_error()) ?: "error");
	}
	n = gnutls_record_send(c->gs, buf, len);
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return false;
	if (n < 0)
		die("gnutls_record_send: %s", gnutls_strerror(n));
	return true;
}

/* Send one record; retries while the socket buffer is full. */
void conn_send(struct conn *c, const void *buf, size_t len)
{
	while (!send_once(c, buf, len))
		wait_writable(c->fd);
}

void conn_close_notify(struct conn *c)
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

const char *recv_error(struct conn *c, ssize_t n)
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
