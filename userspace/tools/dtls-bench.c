// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-bench: what userspace/tests/bench.sh measures.  After the same
 * handshake and handoff as dtls-cat, the client sends records of --size
 * bytes as fast as it can (or --rate N per second) for --time SECONDS, the
 * server counts them and checks their length and contents; both end with
 * one machine-readable "BENCH key=value ..." line.
 *
 *   dtls-bench [-l] [-6] [-v] [--psk HEX --psk-identity ID |
 *              --cert FILE --key FILE] [--cipher NAME] [--lib openssl|gnutls|wolfssl|mbedtls]
 *              [--dtls13] [--no-offload | --plain] [--size N] [--time SECONDS]
 *              [--rate N] [--gso N | --batch N] [--hs-timeout MS] HOST PORT
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <linux/dtls.h>

#include "common.h"
#include "../tests/bench_mark.h"

const char *const prog_name = "dtls-bench";

#define BENCH_IDLE_MS	2000	/* receiver: data ended after this silence */
#define GSO_SEGS_MAX	64	/* the kernel's UDP_MAX_SEGMENTS */
#define GSO_BYTES_MAX	65000	/* plaintext per GSO send */
#define BATCH_MAX	64
#define NCPU_MAX	16
#define NCPU_FIELDS	8	/* user nice system idle iowait irq softirq steal */

static struct {
	double secs;		/* --time */
	double rate;		/* sender: records per second, 0: flat out */
	unsigned int gso;	/* --gso N: records per UDP GSO send */
	unsigned int batch;	/* --batch N: sendmmsg/recvmmsg */
} bench = {
	.secs = 10,
};

static const char usage_head[] =
	"usage: dtls-bench [-l] [-6] [-v] [--psk HEX [--psk-identity ID] |\n"
	"                  --cert FILE --key FILE] [--cipher NAME] [--lib openssl|gnutls|wolfssl|mbedtls]\n"
	"                  [--dtls13] [--no-offload | --plain] [--size N] [--time SECONDS] [--rate N]\n"
	"                  [--gso N | --batch N] [--hs-timeout MS] HOST PORT\n"
	"The client sends records for SECONDS, the server counts them and checks\n"
	"their length and contents; each ends with a line \"BENCH key=value ...\".\n";

static const char usage_own[] =
	"  --time SECONDS   client: send for SECONDS (10); server: wait that long\n"
	"                   (and 30 s more) for the first record\n"
	"  --rate N         client: send N records per second (default: as fast as it\n"
	"                   can), to measure loss at a given rate\n"
	"  --gso N          sender sets UDP_SEGMENT to --size and sends N records per\n"
	"                   send (one GSO packet); receiver sets UDP_GRO and reads\n"
	"                   with recvmmsg (N at most 64)\n"
	"  --batch N        sendmmsg/recvmmsg of up to N records per call (at most 64)\n"
	"A refused option (UDP_SEGMENT, UDP_GRO) ends the run with \"BENCH-ERROR ...\"\n"
	"and status 3.  The peer's certificate is not verified.\n";

static void __noreturn usage(void)
{
	fputs(usage_head, stdout);
	common_usage(stdout);
	fputs(usage_own, stdout);
	exit(0);
}

/* dtls-bench's own options; false for the ones parse_options() knows */
static bool bench_option(int o, const char *arg, char **argv)
{
	switch (o) {
	case 't':
		bench.secs = real_arg("--time", arg);
		break;
	case 'r':
		bench.rate = real_arg("--rate", arg);
		break;
	case 'G':
		bench.gso = num_arg("--gso", arg, GSO_SEGS_MAX);
		break;
	case 'b':
		bench.batch = num_arg("--batch", arg, BATCH_MAX);
		break;
	default:
		return false;
	}
	return true;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "time", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "gso", required_argument, NULL, 'G' },
		{ "batch", required_argument, NULL, 'b' },
		{ }
	};

	parse_options(argc, argv, "t:", lo, bench_option, usage);
	if (bench.secs <= 0)
		die("--time wants a positive number of seconds");
	if (bench.rate && opt.listen)
		die("--rate is for the sending side (the client), not with -l");
	if ((bench.gso || bench.batch > 1) && opt.no_offload && !opt.plain)
		die("--gso and --batch need the kernel record layer or --plain: drop --no-offload");
	if (bench.gso && bench.batch > 1)
		die("use either --gso or --batch");
}

/* ---- what both sides share ---- */

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
static void __noreturn __printf(1, 2) bench_fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("BENCH-ERROR %s\n", msg);
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", prog_name, msg);
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
	static const char * const names[] = {
		[LIB_OPENSSL] = "openssl", [LIB_GNUTLS] = "gnutls",
		[LIB_WOLFSSL] = "wolfssl", [LIB_MBEDTLS] = "mbedtls",
	};

	return c->plain ? "none" : names[opt.lib];
}

static void *zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- sender ---- */

struct bench_tx {
	unsigned int per;	/* records per send call (GSO, sendmmsg) */
	unsigned char *area;	/* per records back to back */
	struct mmsghdr *mm;	/* sendmmsg: one message per record */
	struct iovec *iov;
};

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
			   bench.gso ? " with UDP_SEGMENT" : "", strerror(errno));
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

/* --gso: UDP_SEGMENT at --size; records per send, within the GSO limits */
static unsigned int tx_gso_setup(struct conn *c)
{
	unsigned int per = bench.gso;
	int seg = opt.size;

	if (per * opt.size > GSO_BYTES_MAX)
		per = GSO_BYTES_MAX / opt.size;
	if (!per)
		per = 1;
	if (setsockopt(c->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
		bench_fail("setsockopt(SOL_UDP, UDP_SEGMENT, %d): %s",
			   seg, strerror(errno));
	return per;
}

static void tx_setup(struct conn *c, struct bench_tx *tx)
{
	unsigned int i;

	tx->per = 1;
	if (bench.gso)
		tx->per = tx_gso_setup(c);
	else if (bench.batch > 1)
		tx->per = bench.batch;
	tx->area = zalloc((size_t)tx->per * opt.size);
	for (i = 0; i < tx->per; i++)
		memcpy(tx->area + (size_t)i * opt.size, bench_pat, opt.size);
	if (bench.gso || tx->per == 1)
		return;
	tx->mm = zalloc(tx->per * sizeof(*tx->mm));
	tx->iov = zalloc(tx->per * sizeof(*tx->iov));
	for (i = 0; i < tx->per; i++) {
		tx->iov[i].iov_base = tx->area + (size_t)i * opt.size;
		tx->iov[i].iov_len = opt.size;
		tx->mm[i].msg_hdr.msg_iov = &tx->iov[i];
		tx->mm[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Records @n on: one GSO send, one sendmmsg, or a burst of sends. */
static uint64_t tx_step(struct conn *c, struct bench_tx *tx, uint64_t n)
{
	/* records per check of the clock: a paced sender checks it often */
	unsigned int burst = bench.rate ? 8 : 64, i;

	if (tx->per == 1) {
		for (i = 0; i < burst; i++) {
			bench_stamp(tx->area, n + i);
			conn_send(c, tx->area, opt.size);
		}
		return burst;
	}
	for (i = 0; i < tx->per; i++)
		bench_stamp(tx->area + (size_t)i * opt.size, n + i);
	if (bench.gso)
		bench_raw_send(c, tx->area, (size_t)tx->per * opt.size);
	else
		bench_mmsg_send(c, tx->mm, tx->per);
	return tx->per;
}

static void tx_report(const struct conn *c, const struct bench_tx *tx,
		      uint64_t n, double t, double utime, double stime)
{
	printf("%s sent %llu records of %zu bytes in %.2f s: %.2f MB/s, %.0f records/s\n",
	       bench_mode(c), (unsigned long long)n, opt.size,
	       t, n * opt.size / t / 1e6, n / t);
	printf("BENCH role=send mode=%s lib=%s gso=%u batch=%u size=%zu records=%llu bytes=%llu secs=%.6f utime=%.6f stime=%.6f\n",
	       bench_mode(c), bench_lib(c), bench.gso ? tx->per : 0,
	       !bench.gso && tx->per > 1 ? tx->per : 0, opt.size,
	       (unsigned long long)n, (unsigned long long)n * opt.size, t,
	       utime, stime);
	fflush(stdout);
}

static void bench_send(struct conn *c)
{
	struct bench_tx tx = { 0 };
	double t0, t, u0, s0, u1, s1;
	uint64_t n = 0;

	tx_setup(c, &tx);
	/* the receiver takes its snapshots right after its handshake */
	usleep(100000);
	cpu_secs(&u0, &s0);
	t0 = now();
	do {
		n += tx_step(c, &tx, n);
		t = now() - t0;
		if (bench.rate && n / bench.rate > t) {
			bench_pause(n / bench.rate - t);
			t = now() - t0;
		}
	} while (t < bench.secs);
	cpu_secs(&u1, &s1);
	conn_close_notify(c);
	tx_report(c, &tx, n, t, u1 - u0, s1 - s0);
	free(tx.mm);
	free(tx.iov);
	free(tx.area);
}

/* ---- receiver ---- */

struct bench_rx {
	uint64_t good, bad, reorder, other, bytes, last_idx;
	double t0, t1;		/* first and last good record */
	const char *end;	/* "close" (end marker) or "idle" (silence) */
};

/* recvmmsg's messages (--batch, --gso, --plain) */
struct bench_rxbuf {
	struct mmsghdr mm[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct dtls_record_info)) +
			 CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr align;
	} cb[BATCH_MAX];
	unsigned int n;		/* 0: one conn_recv() per record instead */
	unsigned char *buf;	/* n (at least 1) buffers of bufsz bytes */
	size_t bufsz;
};

/* the receiving process's times and the CPUs' /proc/stat at one moment */
struct cpu_snap {
	double wall, utime, stime;
	int ncpu;
	unsigned long long cs[NCPU_MAX][NCPU_FIELDS];
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

/* the record type (false if none came) and the GRO segment size (or 0) */
static bool rx_cmsgs(struct msghdr *m, struct dtls_record_info *ri,
		     size_t *seg)
{
	bool typed = false;
	struct cmsghdr *cm;
	int g;

	*seg = 0;
	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == SOL_DTLS &&
		    cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(*ri))) {
			memcpy(ri, CMSG_DATA(cm), sizeof(*ri));
			typed = true;
		} else if (cm->cmsg_level == SOL_UDP &&
			   cm->cmsg_type == UDP_GRO) {
			memcpy(&g, CMSG_DATA(cm), sizeof(g));
			*seg = g > 0 ? (size_t)g : 0;
		}
	}
	return typed;
}

/* a DTLS message's record type: 1 end of data, 0 count it, -1 skip it */
static int rx_dtls_type(struct msghdr *m, const unsigned char *b, size_t len,
			size_t *seg, struct bench_rx *st)
{
	struct dtls_record_info ri = { .content_type = 0 };

	if (!rx_cmsgs(m, &ri, seg))
		bench_fail("recvmmsg: no DTLS_GET_RECORD_TYPE control message");
	if (ri.content_type == DTLS_RECORD_TYPE_ALERT &&
	    (ri.flags & DTLS_RECORD_F_PROTECTED) && len >= 2 && b[1] == 0)
		return 1;	/* close_notify */
	if (ri.content_type != DTLS_RECORD_TYPE_APPLICATION_DATA ||
	    !(ri.flags & DTLS_RECORD_F_PROTECTED)) {
		st->other++;
		return -1;
	}
	return 0;
}

/* One message of recvmmsg's batch; true at the end of data. */
static bool rx_message(struct conn *c, struct bench_rx *st,
		       struct bench_rxbuf *rb, unsigned int i)
{
	struct msghdr *m = &rb->mm[i].msg_hdr;
	const unsigned char *b = rb->iov[i].iov_base;
	size_t len = rb->mm[i].msg_len, seg, off;
	struct dtls_record_info ri;
	int type;

	if (m->msg_flags & MSG_TRUNC) {
		st->bad++;
		return false;
	}
	if (c->plain) {
		if (!len)
			return true;	/* an empty datagram ends --plain */
		rx_cmsgs(m, &ri, &seg);
	} else {
		type = rx_dtls_type(m, b, len, &seg, st);
		if (type)
			return type > 0;
	}
	if (!seg || len <= seg) {
		bench_account(st, b, len);
		return false;
	}
	for (off = 0; off < len; off += seg)	/* GRO: several datagrams */
		bench_account(st, b + off, len - off < seg ? len - off : seg);
	return false;
}

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
		for (i = 0; i < (unsigned int)r; i++)
			if (rx_message(c, st, rb, i))
				return true;
	}
}

/* conn_recv() until nothing is queued; true at close_notify */
static bool bench_recv_each(struct conn *c, struct bench_rx *st,
			    struct bench_rxbuf *rb)
{
	for (;;) {
		ssize_t r = conn_recv(c, rb->buf, rb->bufsz);

		if (r == -EAGAIN)
			return false;
		if (r < 0)
			bench_fail("receive: %s", recv_error(c, r));
		if (r == 0)
			return true;
		bench_account(st, rb->buf, r);
	}
}

static struct bench_rxbuf *rx_alloc(struct conn *c)
{
	struct bench_rxbuf *rb = zalloc(sizeof(*rb));
	unsigned int i;

	rb->bufsz = bench.gso ? 65536 : MAX_REC;
	if (c->plain || bench.batch > 1 || bench.gso)
		rb->n = bench.batch > 1 ? bench.batch : bench.gso ? bench.gso : 1;
	rb->buf = zalloc(rb->bufsz * (rb->n ?: 1));
	for (i = 0; i < rb->n; i++) {
		rb->iov[i].iov_base = rb->buf + rb->bufsz * i;
		rb->iov[i].iov_len = rb->bufsz;
		rb->mm[i].msg_hdr.msg_iov = &rb->iov[i];
		rb->mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (bench.gso) {
		int one = 1;

		if (setsockopt(c->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			bench_fail("setsockopt(SOL_UDP, UDP_GRO, 1): %s",
				   strerror(errno));
	}
	return rb;
}

/* Records until the end marker or BENCH_IDLE_MS of silence. */
static void rx_loop(struct conn *c, struct bench_rx *st, struct bench_rxbuf *rb)
{
	st->end = "idle";
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int timeout = st->good + st->bad ? BENCH_IDLE_MS :
			      (int)(bench.secs * 1000) + 30000;
		bool end;

		if (!conn_has_pending(c) && poll(&p, 1, timeout) == 0)
			return;	/* sender gone; its end marker was lost */
		if (rb->n && !conn_has_pending(c))
			end = bench_recv_mmsg(c, st, rb);
		else
			end = bench_recv_each(c, st, rb);
		st->t1 = now();	/* the last records came with the marker */
		if (end) {
			st->end = "close";
			return;
		}
	}
}

/* the window's start; rx_snap_end() takes the same in reverse order */
static void rx_snap_start(struct cpu_snap *s)
{
	/* the window, in instructions too under tools/qemu-insns */
	BENCH_MARK();
	s->wall = now();
	s->ncpu = read_cpustat(s->cs);
	cpu_secs(&s->utime, &s->stime);
}

static void rx_snap_end(struct cpu_snap *s, int ncpu0)
{
	cpu_secs(&s->utime, &s->stime);
	s->ncpu = read_cpustat(s->cs) == ncpu0 ? ncpu0 : 0;
	s->wall = now();	/* wall covers both /proc/stat snapshots */
	BENCH_MARK();
}

static void rx_report(const struct conn *c, const struct bench_rx *st,
		      const struct bench_rxbuf *rb, const struct cpu_snap *s0,
		      const struct cpu_snap *s1)
{
	double t = st->t1 - st->t0;
	int i, j;

	if (st->good && st->t1 > st->t0)
		printf("%s received %llu records (%llu bytes) in %.2f s: %.2f MB/s, %.0f records/s, %lld lost\n",
		       bench_mode(c), (unsigned long long)st->good,
		       (unsigned long long)st->bytes, t, st->bytes / t / 1e6,
		       st->good / t, (long long)(st->last_idx + 1 - st->good));
	else
		printf("received %llu records\n", (unsigned long long)st->good);
	printf("BENCH role=recv mode=%s lib=%s gso=%u batch=%u size=%zu records=%llu bad=%llu reorder=%llu other=%llu last_idx=%llu bytes=%llu secs=%.6f utime=%.6f stime=%.6f wall=%.6f end=%s",
	       bench_mode(c), bench_lib(c), bench.gso, rb->n, opt.size,
	       (unsigned long long)st->good, (unsigned long long)st->bad,
	       (unsigned long long)st->reorder, (unsigned long long)st->other,
	       (unsigned long long)st->last_idx, (unsigned long long)st->bytes,
	       st->t1 > st->t0 ? t : 0.0, s1->utime - s0->utime,
	       s1->stime - s0->stime, s1->wall - s0->wall, st->end);
	/* user nice system idle iowait irq softirq steal, USER_HZ ticks */
	for (i = 0; i < s1->ncpu; i++) {
		printf(" cpu%d=", i);
		for (j = 0; j < NCPU_FIELDS; j++)
			printf("%s%llu", j ? "," : "", s1->cs[i][j] - s0->cs[i][j]);
	}
	printf("\n");
	fflush(stdout);
}

static void bench_recv(struct conn *c)
{
	static struct cpu_snap s0, s1;
	struct bench_rxbuf *rb = rx_alloc(c);
	struct bench_rx st = { 0 };

	rx_snap_start(&s0);
	rx_loop(c, &st, rb);
	rx_snap_end(&s1, s0.ncpu);
	rx_report(c, &st, rb, &s0, &s1);
	free(rb->buf);
	free(rb);
}

int main(int argc, char **argv)
{
	struct conn c = { .fd = -1 };

	parse_args(argc, argv);
	conn_handshake(&c);
	conn_offload(&c);
	bench_pattern();
	if (opt.listen)
		bench_recv(&c);
	else
		bench_send(&c);
	conn_free(&c);
	return 0;
}
