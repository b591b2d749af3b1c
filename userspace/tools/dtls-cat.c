// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat: netcat for DTLS over UDP, with the record layer in the kernel
 * (kernel/dtls.ko) after an OpenSSL, GnuTLS, wolfSSL or mbed TLS (DTLS 1.2)
 * or a wolfSSL (DTLS 1.3, --dtls13) handshake.
 *
 *   dtls-cat [-l] [-6] [-d] [-q SECS] [-v] [--psk HEX --psk-identity ID |
 *            --cert FILE --key FILE] [--cipher NAME]
 *            [--lib openssl|gnutls|wolfssl|mbedtls] [--cid HEX] [--dtls13]
 *            [--no-offload] [--size N | --sizes MIN-MAX [--seed N]]
 *            [--delay USEC] [--plain] [--handoff-delay MS] [--handoff-peek]
 *            [--hs-timeout MS] [--recv-bytes N] HOST PORT
 *
 * stdin goes out in records, received records go to stdout.  The peer
 * certificate is not verified: this is a test tool.  The benchmark is
 * dtls-bench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

const char *const prog_name = "dtls-cat";

static struct {
	bool no_stdin;
	size_t size_min, size_max;	/* --sizes: 0 when not used */
	uint64_t seed;
	long handoff_delay_ms;	/* test: pause between handshake and offload */
	bool handoff_peek;	/* test: make the TLS library buffer a record */
	unsigned long long recv_bytes;	/* stop lingering once this much came */
	unsigned long long key_update;	/* DTLS 1.3: a KeyUpdate every N records */
	long delay_us;		/* pause after each record sent */
	int linger;		/* seconds to wait for the peer's close_notify */
} cat_opt = {
	.seed = 1,
	.linger = 3,
};

static uint64_t rec_sent, rec_received;

static const char usage_head[] =
	"usage: dtls-cat [-l] [-6] [-d] [-q SECS] [-v] [--psk HEX [--psk-identity ID] |\n"
	"                --cert FILE --key FILE] [--cipher NAME]\n"
	"                [--lib openssl|gnutls|wolfssl|mbedtls] [--cid HEX] [--dtls13]\n"
	"                [--no-offload] [--size N | --sizes MIN-MAX [--seed N]]\n"
	"                [--delay USEC] [--plain] [--handoff-delay MS] [--handoff-peek]\n"
	"                [--hs-timeout MS] [--recv-bytes N] [--key-update N] HOST PORT\n"
	"stdin goes out in records, received records go to stdout.\n";

static const char usage_own[] =
	"  -d               do not read stdin (only receive)\n"
	"  -q SECS          after stdin EOF, wait SECS for the peer's close_notify (3)\n"
	"  --sizes MIN-MAX  record sizes drawn from MIN..MAX (first MIN, then MAX, then\n"
	"                   a deterministic pseudo-random sequence; stdin is read until\n"
	"                   each record is full)\n"
	"  --seed N         seed of the --sizes sequence (1)\n"
	"  --delay USEC     pause after each record sent (pacing for slow receivers)\n"
	"  --recv-bytes N   after our close_notify, stop waiting for the peer's once\n"
	"                   N bytes were received (peers that never send one)\n"
	"  --key-update N   DTLS 1.3: before every N-th record sent (the first too),\n"
	"                   update the keys\n"
	"                   (KeyUpdate asking the peer for its own; waits for the ACK)\n"
	"  --handoff-delay MS  test: wait MS after the handshake before the offload\n"
	"                   (what the peer sends meanwhile waits in the socket queue)\n"
	"  --handoff-peek   test: after the handshake wait for a record and let the\n"
	"                   TLS library decrypt it (OpenSSL SSL_peek) before the\n"
	"                   offload, so the library's buffer must be drained\n"
	"The peer's certificate is not verified.  The benchmark is dtls-bench.\n";

static void __noreturn usage(void)
{
	fputs(usage_head, stdout);
	common_usage(stdout);
	fputs(usage_own, stdout);
	exit(0);
}

/* ---- options ---- */

static void parse_sizes(const char *arg)
{
	if (sscanf(arg, "%zu-%zu", &cat_opt.size_min, &cat_opt.size_max) != 2 ||
	    !cat_opt.size_min || cat_opt.size_min > cat_opt.size_max ||
	    cat_opt.size_max > MAX_REC)
		die("--sizes wants MIN-MAX with 1 <= MIN <= MAX <= %d", MAX_REC);
}

/* dtls-cat's own options; false for the ones parse_options() knows */
static bool cat_option(int o, const char *arg, char **argv)
{
	switch (o) {
	case 'd':
		cat_opt.no_stdin = true;
		break;
	case 'q':
		cat_opt.linger = num_arg("-q", arg, INT_MAX / 1000);
		break;
	case 'D':
		cat_opt.delay_us = num_arg("--delay", arg, 60000000);
		break;
	case 'Z':
		parse_sizes(arg);
		break;
	case 'E':
		cat_opt.seed = num_arg("--seed", arg, ULLONG_MAX);
		break;
	case 'H':
		cat_opt.handoff_delay_ms = num_arg("--handoff-delay", arg, 3600000);
		break;
	case 'p':
		cat_opt.handoff_peek = true;
		break;
	case 'R':
		cat_opt.recv_bytes = num_arg("--recv-bytes", arg, ULLONG_MAX);
		break;
	case 'k':
		cat_opt.key_update = num_arg("--key-update", arg, ULLONG_MAX);
		break;
	case 'B':
		die("'%s' is a benchmark option: use dtls-bench (see dtls-bench --help)",
		    argv[optind - 1]);
	default:
		return false;
	}
	return true;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "delay", required_argument, NULL, 'D' },
		{ "sizes", required_argument, NULL, 'Z' },
		{ "seed", required_argument, NULL, 'E' },
		{ "handoff-delay", required_argument, NULL, 'H' },
		{ "handoff-peek", no_argument, NULL, 'p' },
		{ "recv-bytes", required_argument, NULL, 'R' },
		{ "key-update", required_argument, NULL, 'k' },
		/* dtls-bench's options: a one-line pointer there */
		{ "bench", optional_argument, NULL, 'B' },
		{ "rate", optional_argument, NULL, 'B' },
		{ "gso", optional_argument, NULL, 'B' },
		{ "batch", optional_argument, NULL, 'B' },
		{ }
	};

	parse_options(argc, argv, "dq:", lo, cat_option, usage);
	if (cat_opt.handoff_peek && opt.lib != LIB_OPENSSL)
		die("--handoff-peek needs --lib openssl (GnuTLS cannot peek)");
	if (cat_opt.key_update && !opt.dtls13)
		die("--key-update needs DTLS 1.3 (--dtls13)");
}

/* ---- record sizes ---- */

/* splitmix64: small, deterministic, good enough to pick record sizes */
static uint64_t prng_next(void)
{
	uint64_t z = (cat_opt.seed += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Bytes for the next record read from stdin. */
static size_t next_record_size(void)
{
	uint64_t span;

	if (!cat_opt.size_max)
		return opt.size;
	/* both bounds early, whatever the seed */
	if (rec_sent == 0)
		return cat_opt.size_min;
	if (rec_sent == 1)
		return cat_opt.size_max;
	span = cat_opt.size_max - cat_opt.size_min + 1;
	return cat_opt.size_min + prng_next() % span;
}

/* ---- test aids between handshake and offload ---- */

/*
 * --handoff-peek: wait (up to 10 s) for the peer's first record after the
 * handshake and let OpenSSL decrypt and buffer it without returning it, as
 * a record that arrived together with the handshake's last message would be.
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

static void before_offload(struct conn *c)
{
	if (cat_opt.handoff_peek)
		handoff_peek(c);
	if (cat_opt.handoff_delay_ms > 0) {
		verbose("waiting %ld ms before the offload",
			cat_opt.handoff_delay_ms);
		usleep(cat_opt.handoff_delay_ms * 1000);
	}
}

/* ---- relay ---- */

struct relay {
	char *buf;
	bool in_eof, sent_close;
	unsigned long long got;	/* bytes received */
	double deadline;	/* after our close_notify: end of the wait */
};

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

/* poll()'s timeout: -1 until our close_notify, then what is left of the
 * wait for the peer's; false when there is no more to wait for
 */
static bool linger_timeout(const struct relay *r, int *timeout)
{
	double left;

	*timeout = -1;
	if (!r->sent_close)
		return true;
	if (cat_opt.recv_bytes && r->got >= cat_opt.recv_bytes) {
		verbose("received the %llu bytes expected; not waiting for a close_notify",
			r->got);
		return false;
	}
	left = r->deadline - now();
	if (left <= 0) {
		verbose("no close_notify from the peer within %d s",
			cat_opt.linger);
		return false;
	}
	*timeout = (int)(left * 1000) + 1;
	return true;
}

/* The peer's records to stdout; true once it sent close_notify. */
static bool relay_from_peer(struct conn *c, struct relay *r)
{
	for (;;) {
		ssize_t n = conn_recv(c, r->buf, MAX_REC);

		if (n == -EAGAIN)
			return false;
		if (n < 0)
			die("receive: %s", recv_error(c, n));
		if (n == 0) {
			verbose("peer sent close_notify");
			if (!r->sent_close)
				conn_close_notify(c);
			return true;
		}
		rec_received++;
		r->got += n;
		write_all(1, r->buf, n);
	}
}

/* Up to @want bytes of stdin; with --sizes, until @want came or EOF. */
static ssize_t read_record(char *buf, size_t want)
{
	ssize_t n = read(0, buf, want);

	if (n < 0 && errno != EINTR)
		die("read stdin: %s", strerror(errno));
	while (cat_opt.size_max && n > 0 && (size_t)n < want) {
		ssize_t m = read(0, buf + n, want - n);

		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			die("read stdin: %s", strerror(errno));
		if (m == 0)
			break;
		n += m;
	}
	return n;
}

/* --key-update: ours, asking for the peer's */
static void key_update(struct conn *c)
{
	int r = dtls_offload_key_update(c->h, 1);

	if (r)
		die("key update: %s", dtls_offload_strerror(r));
	verbose("key update acknowledged before record %llu",
		(unsigned long long)rec_sent);
}

/* One record from stdin to the peer; at EOF our close_notify. */
static void relay_to_peer(struct conn *c, struct relay *r)
{
	ssize_t n = read_record(r->buf, next_record_size());

	if (n > 0) {
		/*
		 * Before the record, not after it: a peer that answers and
		 * closes could otherwise close before it acknowledged.
		 */
		if (cat_opt.key_update && c->h &&
		    !(rec_sent % cat_opt.key_update))
			key_update(c);
		conn_send(c, r->buf, n);
		rec_sent++;
		if (cat_opt.delay_us)
			usleep(cat_opt.delay_us);
	}
	if (n == 0) {
		r->in_eof = true;
		conn_close_notify(c);
		r->sent_close = true;
		r->deadline = now() + cat_opt.linger;
	}
}

/* Returns when the peer closed or the wait for its close_notify ended. */
static void relay(struct conn *c)
{
	struct relay r = { .in_eof = cat_opt.no_stdin };

	r.buf = malloc(MAX_REC);
	if (!r.buf)
		die("out of memory");
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		int timeout;

		if (!conn_has_pending(c)) {
			int lib_ms = c->h ? dtls_offload_timeout(c->h) : -1;

			if (!linger_timeout(&r, &timeout))
				break;
			if (lib_ms >= 0 && (timeout < 0 || lib_ms < timeout))
				timeout = lib_ms;
			if (poll(p, r.in_eof ? 1 : 2, timeout) < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
		} else {
			p[0].revents = POLLIN;
		}
		if (p[0].revents && relay_from_peer(c, &r))
			break;
		if (!r.in_eof && p[1].revents)
			relay_to_peer(c, &r);
	}
	free(r.buf);
}

int main(int argc, char **argv)
{
	struct conn c = { .fd = -1 };

	parse_args(argc, argv);
	conn_handshake(&c);
	before_offload(&c);
	conn_offload(&c);
	relay(&c);
	conn_free(&c);
	verbose("application data records sent: %llu, received: %llu",
		(unsigned long long)rec_sent, (unsigned long long)rec_received);
	return 0;
}
