// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-peers: one server socket, many DTLS 1.2 clients (mbed TLS, PSK,
 * connection IDs), the records of every client in the kernel.
 *
 *   dtls-peers -l [-v] [--expire SECS] [--timeout SECS] [--proc-out FILE]
 *                 ADDR PORT
 *   dtls-peers [-v] [-n N] [--first I] [--records R] [--max-size B]
 *              [--concurrency K] [--bind ADDR] [--move] [--stuck]
 *              [--timeout SECS] HOST PORT
 *
 * The server runs until SIGTERM or SIGINT (or --timeout), lets the
 * handshakes in progress end or expire, then prints what it did and,
 * with --proc-out, copies /proc/net/dtls there before closing its socket.
 * The clients exit 0 only if every client (but --stuck's) got each of its
 * records back byte for byte, --move's moved and --stuck's stopped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/dtls.h>

#include <mbedtls/error.h>
#include <psa/crypto.h>

#include "peers.h"

const char *const prog_name = "dtls-peers";

struct peers_opts popt = {
	.clients = 100,
	.records = 4,
	.max_size = 1200,
	.concurrency = 16,
	.hs_expire = 5,
	.timeout = 300,
};

/* a demo's key: both ends are this program */
static const unsigned char psk[16] = "dtls-peers demo";
static const char psk_id[] = "dtls-peers";

static const char usage_text[] =
	"usage: dtls-peers -l [-v] [--expire SECS] [--timeout SECS] [--proc-out FILE]\n"
	"                  ADDR PORT\n"
	"       dtls-peers [-v] [-n N] [--first I] [--records R] [--max-size B]\n"
	"                  [--concurrency K] [--bind ADDR] [--move] [--stuck]\n"
	"                  [--timeout SECS] HOST PORT\n"
	"  -l               server: one socket, every client a peer of it in the kernel;\n"
	"                   runs until SIGTERM/SIGINT, lets the handshakes under way\n"
	"                   end or expire, then prints a summary\n"
	"  --expire SECS    server: drop a handshake unfinished after SECS (5)\n"
	"  --proc-out FILE  server: copy /proc/net/dtls to FILE before closing\n"
	"  -n N             clients: how many, each on its own socket and port (100)\n"
	"  --first I        clients: number of the first (records differ per client)\n"
	"  --records R      records each client sends and checks the echo of (4)\n"
	"  --max-size B     largest record, %d to %d bytes (1200)\n"
	"  --concurrency K  clients: handshakes and exchanges at once (16)\n"
	"  --bind ADDR      clients: source address\n"
	"  --move           clients: the first moves its session to a new socket\n"
	"                   (another port) half way through its records\n"
	"  --stuck          clients: one more client that stops its handshake after\n"
	"                   its second ClientHello\n"
	"  --timeout SECS   give up after SECS (300)\n"
	"  -v               verbose\n";

static void __noreturn usage(int status)
{
	fprintf(status ? stderr : stdout, usage_text, PEERS_REC_MIN, MAX_REC);
	exit(status);
}

static bool peers_option(int o, const char *arg)
{
	switch (o) {
	case 'l':
		popt.server = true;
		break;
	case 'v':
		opt.verbose = true;
		break;
	case 'n':
		popt.clients = num_arg("-n", arg, 1000000);
		break;
	case 'F':
		popt.first = num_arg("--first", arg, 1U << 30);
		break;
	case 'r':
		popt.records = num_arg("--records", arg, 1000000);
		break;
	case 'S':
		popt.max_size = num_arg("--max-size", arg, MAX_REC);
		break;
	case 'K':
		popt.concurrency = num_arg("--concurrency", arg, 4096);
		break;
	case 'b':
		popt.bind = arg;
		break;
	case 'M':
		popt.move = true;
		break;
	case 'U':
		popt.stuck = true;
		break;
	case 'X':
		popt.hs_expire = num_arg("--expire", arg, 3600);
		break;
	case 'T':
		popt.timeout = num_arg("--timeout", arg, 86400);
		break;
	case 'P':
		popt.proc_out = arg;
		break;
	default:
		return false;
	}
	return true;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "first", required_argument, NULL, 'F' },
		{ "records", required_argument, NULL, 'r' },
		{ "max-size", required_argument, NULL, 'S' },
		{ "concurrency", required_argument, NULL, 'K' },
		{ "bind", required_argument, NULL, 'b' },
		{ "move", no_argument, NULL, 'M' },
		{ "stuck", no_argument, NULL, 'U' },
		{ "expire", required_argument, NULL, 'X' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "proc-out", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int o;

	while ((o = getopt_long(argc, argv, "lvn:h", lo, NULL)) != -1) {
		if (o == 'h')
			usage(0);
		if (!peers_option(o, optarg))
			usage(2);
	}
	if (argc - optind != 2)
		die("want ADDR PORT after the options (see --help)");
	opt.host = argv[optind];
	opt.port = argv[optind + 1];
	if (popt.max_size < PEERS_REC_MIN || !popt.concurrency ||
	    !popt.records || !popt.clients)
		die("--max-size from %d, -n, --records and --concurrency from 1",
		    PEERS_REC_MIN);
}

const char *peers_err(int r)
{
	static char buf[128];

	mbedtls_strerror(r, buf, sizeof(buf));
	return buf;
}

static void mbed_check(const char *what, int r)
{
	if (r)
		die("%s: %s", what, peers_err(r));
}

/* PSK, AES-128-GCM, DTLS 1.2, connection IDs; cookies on the server */
void peers_mbed_init(struct peers_mbed *pm, bool server)
{
	mbedtls_ssl_config *c = &pm->conf;

	if (psa_crypto_init() != PSA_SUCCESS)
		die("psa_crypto_init failed");
	mbedtls_ssl_config_init(c);
	mbedtls_entropy_init(&pm->entropy);
	mbedtls_ctr_drbg_init(&pm->drbg);
	mbedtls_ssl_cookie_init(&pm->cookie);
	mbed_check("mbedtls_ctr_drbg_seed",
		   mbedtls_ctr_drbg_seed(&pm->drbg, mbedtls_entropy_func,
					 &pm->entropy, NULL, 0));
	mbed_check("mbedtls_ssl_config_defaults",
		   mbedtls_ssl_config_defaults(c, server ? MBEDTLS_SSL_IS_SERVER :
					       MBEDTLS_SSL_IS_CLIENT,
					       MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					       MBEDTLS_SSL_PRESET_DEFAULT));
	mbedtls_ssl_conf_min_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_rng(c, mbedtls_ctr_drbg_random, &pm->drbg);
	pm->suites[0] = mbedtls_ssl_get_ciphersuite_id("TLS-PSK-WITH-AES-128-GCM-SHA256");
	pm->suites[1] = 0;
	if (!pm->suites[0])
		die("this mbed TLS has no TLS-PSK-WITH-AES-128-GCM-SHA256");
	mbedtls_ssl_conf_ciphersuites(c, pm->suites);
	mbed_check("mbedtls_ssl_conf_psk",
		   mbedtls_ssl_conf_psk(c, psk, sizeof(psk),
					(const unsigned char *)psk_id,
					strlen(psk_id)));
	mbed_check("mbedtls_ssl_conf_cid",
		   mbedtls_ssl_conf_cid(c, PEERS_CID_LEN,
					MBEDTLS_SSL_UNEXPECTED_CID_IGNORE));
	/* 1 s, as RFC 6347 4.2.4.1 suggests, up to 8 s */
	mbedtls_ssl_conf_handshake_timeout(c, 1000, 8000);
	if (!server)
		return;
	mbed_check("mbedtls_ssl_cookie_setup",
		   mbedtls_ssl_cookie_setup(&pm->cookie, mbedtls_ctr_drbg_random,
					    &pm->drbg));
	mbedtls_ssl_conf_dtls_cookies(c, mbedtls_ssl_cookie_write,
				      mbedtls_ssl_cookie_check, &pm->cookie);
}

void peers_tls_init(struct peers_tls *t, struct peers_mbed *pm,
		    const uint8_t *cid)
{
	mbedtls_ssl_init(&t->ssl);
	mbed_check("mbedtls_ssl_setup", mbedtls_ssl_setup(&t->ssl, &pm->conf));
	mbedtls_ssl_set_timer_cb(&t->ssl, &t->timer, mbedtls_timing_set_delay,
				 mbedtls_timing_get_delay);
	mbed_check("mbedtls_ssl_set_cid",
		   mbedtls_ssl_set_cid(&t->ssl, MBEDTLS_SSL_CID_ENABLED, cid,
				       PEERS_CID_LEN));
}

void peers_tls_free(struct peers_tls *t)
{
	mbedtls_ssl_free(&t->ssl);
}

bool peers_tls_timer_due(struct peers_tls *t)
{
	return mbedtls_timing_get_delay(&t->timer) == 2;
}

/* splitmix64: the records' sizes and bytes, the same on both sides */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool peers_client_hello(const uint8_t *p, size_t n)
{
	/* record header (epoch at 3), then the handshake type */
	return n > 13 + 12 && p[0] == DTLS_RECORD_TYPE_HANDSHAKE &&
	       !p[3] && !p[4] && p[13] == 1;
}

/* the first record of a client is the largest, the others vary */
size_t peers_rec_size(uint32_t client, uint32_t rec)
{
	uint64_t span = popt.max_size - PEERS_REC_MIN + 1;

	if (!rec)
		return popt.max_size;
	return PEERS_REC_MIN + mix((uint64_t)client << 32 | rec) % span;
}

/* client and record number (big endian), then bytes of both */
void peers_rec_fill(uint8_t *buf, size_t len, uint32_t client, uint32_t rec)
{
	uint64_t z = (uint64_t)rec << 32 | client;
	size_t i;

	for (i = 0; i < 4; i++) {
		buf[i] = client >> (24 - 8 * i);
		buf[4 + i] = rec >> (24 - 8 * i);
	}
	for (i = PEERS_REC_MIN; i < len; i++) {
		if (!(i % 8))
			z = mix(z);
		buf[i] = z >> (8 * (i % 8));
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	return popt.server ? peers_server() : peers_clients();
}
