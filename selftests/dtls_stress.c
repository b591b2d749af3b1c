// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle stress for the kernel DTLS record layer.
 *
 *   dtls_stress [-t SECONDS] [-s SEED] [SCENARIO...]   scenarios a..h (default all)
 *   dtls_stress rmmod MODULE.ko                         unload under traffic
 *
 *   a  threads send, receive (blocking with SO_RCVTIMEO, nonblocking, peek,
 *      recvmmsg, UDP_GRO on and off), poll, epoll, shutdown, FIONREAD and
 *      set/get socket options on the same offloaded sockets at once, while
 *      another thread closes them; many socket pairs, all ciphers (DTLS
 *      1.2 and 1.3), IPv4, IPv6 and v4-mapped
 *   b  close with records queued in both directions, in flight, peeked,
 *      with datagrams drained at DTLS_RX, with half-installed contexts
 *   c  DTLS_RX set while the peer floods: every record is delivered
 *      decrypted exactly once, in order, or counted; none delivered raw
 *   d  SO_RCVBUF 4096 flooded by several threads, slow reader: DtlsRxDropped
 *      grows, what arrives is intact and unique, the socket works after
 *   e  network namespaces destroyed with offloaded sockets open and records
 *      queued (and one socket passed out of the namespace), 20 times
 *   f  receivers closed and replaced while flooded with UDP_SEGMENT batches
 *      of forged records: UDP hands a datagram to the hook of a socket it
 *      found without a reference, which close() may have dropped
 *   g  receive-buffer accounting: DTLS_RX, then UDP_GRO, set on a socket
 *      flooded, read and polled by other threads (charges given back by
 *      UDP's readers and by the module's at once); once all is read, the
 *      socket holds no receive memory (SO_MEMINFO), round after round
 *   h  DTLS 1.3 pairs (all five suites, IPv4, IPv6, v4-mapped), both ends
 *      offloaded both ways: per direction two threads send (blocking,
 *      nonblocking, sendmmsg) and two read (blocking, nonblocking,
 *      recvmmsg, poll) while a third updates the keys over and over in
 *      RFC 9147's order, at most one update outstanding: once the receiver
 *      is in epoch N (getsockopt DTLS_RX), it gets N + 1 (DTLS_RX), then
 *      the sender switches (DTLS_TX); installs the documentation refuses
 *      are tried in between (EINVAL, EBUSY); another thread reads DTLS_TX,
 *      DTLS_RX (the keys of the epoch they name, never going back) and
 *      DTLS_KEY_USAGE (nothing forged).  Every install must succeed, every
 *      record arrive intact and once, never raw; a record that does not
 *      arrive must be counted (DtlsRxUnknownEpoch, DtlsRxDropped, UDP's
 *      RcvbufErrors, the backlog's drops).  Every third round closes the
 *      sockets at random moments under the updates instead
 *
 * After each scenario DtlsCurrTxSw, DtlsCurrRxSw and the module's reference
 * count must come back to where they were (context free is deferred by an
 * RCU grace period, so they are polled for a few seconds), and the kernel
 * log must have no new warning, BUG or sanitizer report.  SECONDS (default
 * 8) is the traffic time of one scenario (a gets twice as long); the whole
 * run takes about 9 * SECONDS.  A watchdog fails a scenario that
 * hangs.  Prints TAP, then "N passed, N failed".  Needs root and dtls.ko.
 *
 * rmmod mode: while threads run traffic over offloaded sockets, unloading
 * the module must fail (in use), repeatedly; once every socket is closed it
 * must succeed within a few seconds; then MODULE.ko is loaded again and a
 * socket pair must work.
 */
#define _GNU_SOURCE
#include "dtls_common.h"
#include "dtls13_ref.h"

#include <fcntl.h>
#include <getopt.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef UDP_GRO
#define UDP_GRO		104
#endif

#define EPOCH	1
#define EPOCH13	3	/* DTLS 1.3's first application traffic epoch */

#define N_SCENARIOS	8	/* a..h */

static double scen_secs = 8;
static uint64_t seed;

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

static void rng_init(struct rng *r, uint64_t salt)
{
	r->s = (seed ^ (salt * 0x9e3779b97f4a7c15ULL)) | 1;
	for (int i = 0; i < 4; i++)
		rng_next(r);
}

static atomic_ulong salt_ctr;

static void rng_new(struct rng *r)
{
	rng_init(r, atomic_fetch_add(&salt_ctr, 1) + 1);
}

static int tapn, npass, nfail;
static char cur_name[128];

/*
 * The kernel log since kmsg_mark(): a scenario fails on a warning, BUG or
 * sanitizer report, whatever its own checks say.  -1 if there is no log.
 */
static int kmsg_fd = -1;

static void kmsg_mark(void)
{
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* The first report since the mark into @out (empty if none). */
static void kmsg_report(char *out, size_t len)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "refcount_t:", "KASAN", "UBSAN", "kmemleak",
		"possible circular locking", "INFO: task", "general protection",
	};
	char rec[2048], *msg, *nl;
	ssize_t n;

	*out = 0;
	while (kmsg_fd >= 0) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		/* "prio,seq,time,flags;message\n", then continuation lines */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		for (size_t i = 0; !*out && i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(msg, bad[i]))
				snprintf(out, len, "kernel log: %.400s", msg);
	}
}

static void tap(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tap(int ok, const char *name, const char *fmt, ...)
{
	char buf[1024], klog[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s: %s\n", name, buf);
	kmsg_report(klog, sizeof(klog));
	if (*klog) {
		printf("# %s: %s\n", name, klog);
		ok = 0;
	}
	printf("%sok %d %s\n", ok ? "" : "not ", ++tapn, name);
	if (ok)
		npass++;
	else
		nfail++;
	fflush(stdout);
}

/* Watchdog: a scenario that hangs is reported and the run ends. */
static int plan_total;

static void on_alarm(int sig)
{
	char buf[512];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "# %s: watchdog: still running after its time limit (hang?)\nnot ok %d %s\n",
		     cur_name, tapn + 1, cur_name);
	for (int i = tapn + 2; i <= plan_total; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "not ok %d not run (watchdog)\n", i);
	n += snprintf(buf + n, sizeof(buf) - n, "%d passed, %d failed\n", npass,
		      nfail + plan_total - tapn);
	if (write(1, buf, n) < 0)
		_exit(3);
	_exit(1);
}

static void scen_begin(const char *name, int limit_s)
{
	snprintf(cur_name, sizeof(cur_name), "%s", name);
	kmsg_mark();
	printf("# --- %s\n", name);
	fflush(stdout);
	alarm(limit_s);
}

static const int kinds3[] = { SK_IPV4, SK_IPV6, SK_MAPPED };
static const char *const kindname[] = { "ipv4", "ipv6", "mapped" };

/*
 * An offloaded pair: a and b each with TX and RX (unless told otherwise).
 * DTLS 1.3 pairs (opair_make13()) have s13 set and their keys in ab13, ba13.
 */
struct opair {
	int a, b;
	int kind;
	const struct cdesc *c;
	struct dkey ab, ba;
	const struct cdesc13 *s13;
	struct dkey13 ab13, ba13;
};

#define OP_A_TX	1
#define OP_A_RX	2
#define OP_B_TX	4
#define OP_B_RX	8
#define OP_ALL	15

static int opair_make(struct opair *p, const struct cdesc *c, int kind, int what)
{
	p->c = c;
	p->kind = kind;
	if (udp_pair(kind, peer_kind(kind), &p->a, &p->b))
		return -1;
	dkey_derive(&p->ab, c, "stress-a-to-b");
	dkey_derive(&p->ba, c, "stress-b-to-a");
	if ((what & OP_A_TX) && dtls_install(p->a, DTLS_TX, &p->ab, REC_NUM(EPOCH, 1)))
		return -1;
	if ((what & OP_A_RX) && dtls_install(p->a, DTLS_RX, &p->ba, REC_NUM(EPOCH, 1)))
		return -1;
	if ((what & OP_B_TX) && dtls_install(p->b, DTLS_TX, &p->ba, REC_NUM(EPOCH, 1)))
		return -1;
	if ((what & OP_B_RX) && dtls_install(p->b, DTLS_RX, &p->ab, REC_NUM(EPOCH, 1)))
		return -1;
	return 0;
}

/* A DTLS 1.3 pair of suite @s, both ways offloaded in epoch 3. */
static int opair_make13(struct opair *p, const struct cdesc13 *s, int kind)
{
	memset(p, 0, sizeof(*p));
	p->a = p->b = -1;
	p->c = cdesc_by_name(s->name);
	p->s13 = s;
	p->kind = kind;
	if (udp_pair(kind, peer_kind(kind), &p->a, &p->b) ||
	    dkey13_derive(&p->ab13, s, "stress-a-to-b", EPOCH13) ||
	    dkey13_derive(&p->ba13, s, "stress-b-to-a", EPOCH13))
		return -1;
	if (dtls13_install(p->a, DTLS_TX, &p->ab13, EPOCH13, 0) ||
	    dtls13_install(p->a, DTLS_RX, &p->ba13, EPOCH13, 0) ||
	    dtls13_install(p->b, DTLS_TX, &p->ba13, EPOCH13, 0) ||
	    dtls13_install(p->b, DTLS_RX, &p->ab13, EPOCH13, 0))
		return -1;
	return 0;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Keep the calling thread on @cpu. */
static void pin_to_cpu(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

/*
 * A received buffer: 1 intact payload (id in *id), 0 raw DTLS record (one
 * sealed with @k, or with DTLS 1.3 epoch @k13), -1 junk
 */
static int classify_rx(const uint8_t *b, ssize_t n, const struct dkey *k,
		       const struct dkey13 *k13, long *id)
{
	static __thread uint8_t pt[DTLS_MAX_PLAINTEXT + 64];
	struct rec_hdr h;
	struct rec13 r13;
	size_t ptlen;

	*id = payload_check(b, n);
	if (*id >= 0)
		return 1;
	if (k && n >= DTLS_HDR_LEN && ref_open(k, b, n, &h, pt, &ptlen) > 0)
		return 0;
	if (k13 && ref13_open(k13, b, n, 0, &r13, pt) > 0)
		return 0;
	return -1;
}

/*
 * A read under UDP_GRO: intact payloads back to back, each as long as the
 * first except the last, which may be shorter.
 */
static int payloads_gro(const uint8_t *b, size_t n)
{
	size_t off = 0, seg = 0, len;

	while (off < n) {
		if (n - off < PAYLOAD_HDR)
			return 0;
		len = get_be(b + off + 4, 4);
		if (len > n - off || payload_check(b + off, len) < 0)
			return 0;
		if (!seg)
			seg = len;
		else if (len > seg || (len < seg && off + len != n))
			return 0;
		off += len;
	}
	return 1;
}

/* classify_rx() for a reader that may have UDP_GRO set: 2, several records */
static int classify_rx_gro(const uint8_t *b, ssize_t n, const struct dkey *k,
			   const struct dkey13 *k13, long *id)
{
	int cl = classify_rx(b, n, k, k13, id);

	return cl < 0 && payloads_gro(b, n) ? 2 : cl;
}

/* ---------------------------------------------------------------------- */
/* a: concurrent calls and close                                           */

enum { A_PAIRS = 3, A_WPS = 3 };	/* pairs per round, workers per side */

struct a_pair {
	struct opair p;
	atomic_int closed;
};

struct a_worker {
	struct a_pair *ap;
	int side;		/* 0: a, 1: b */
	int own_fd;		/* a dup, or -1 to use the shared number */
	uint64_t deadline;
	long ops, corrupt, raw, rx, tx, gro;
	pthread_t th;
};

/* What a worker's calls work with. */
struct a_ctx {
	struct a_worker *w;
	int fd;			/* this call's socket */
	int fam;		/* its address family */
	int ep;			/* an epoll instance, or -1 */
	const struct dkey *rxk;	/* the key the other side seals with, */
	const struct dkey13 *rxk13;	/* or its DTLS 1.3 keys */
	struct rng r;
	uint32_t id;		/* the next payload's id */
	uint8_t buf[4096];
};

/*
 * Count one read: several records (UDP_GRO), a raw record or a corrupt
 * one.  A truncated read cannot be told corrupt.
 */
static void a_count_read(struct a_ctx *x, const uint8_t *b, ssize_t n, int truncated)
{
	long rid;
	int cl = classify_rx_gro(b, n, x->rxk, x->rxk13, &rid);

	x->w->rx++;
	if (cl == 2)
		x->w->gro++;
	else if (cl == 0)
		x->w->raw++;
	else if (cl < 0 && !truncated)
		x->w->corrupt++;
}

/* One payload, often 300 bytes: equal lengths for UDP_GRO reads. */
static void a_send(struct a_ctx *x)
{
	ssize_t n = payload_make(x->buf, (x->w->side << 24) | x->id++,
				 rng_below(&x->r, 2) ? 300 : 12 + rng_below(&x->r, 1000));

	if (send(x->fd, x->buf, n, rng_below(&x->r, 2) ? MSG_DONTWAIT : 0) == n)
		x->w->tx++;
}

/* recvmsg() with room for the DTLS control message. */
static void a_recvmsg(struct a_ctx *x, int flags)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) + 64];
	} cb;
	struct iovec iov = { x->buf, sizeof(x->buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	ssize_t n = recvmsg(x->fd, &msg, flags);

	if (n > 0)
		a_count_read(x, x->buf, n, msg.msg_flags & MSG_TRUNC);
}

/* recv(), no control message. */
static void a_recv(struct a_ctx *x, int flags)
{
	ssize_t n = recv(x->fd, x->buf, sizeof(x->buf), flags);

	if (n > 0)
		a_count_read(x, x->buf, n, 0);
}

/* @n messages for recvmmsg() or sendmmsg(), message i on the one buffer mi[i]. */
static void mmsg_init(struct mmsghdr *mm, struct iovec *mi, int n)
{
	memset(mm, 0, n * sizeof(*mm));
	for (int i = 0; i < n; i++) {
		mm[i].msg_hdr.msg_iov = &mi[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
}

static void a_recvmmsg(struct a_ctx *x)
{
	static __thread uint8_t mb[4][2048];
	struct mmsghdr mm[4];
	struct iovec mi[4];
	int got;

	mmsg_init(mm, mi, 4);
	for (int i = 0; i < 4; i++) {
		mi[i].iov_base = mb[i];
		mi[i].iov_len = sizeof(mb[i]);
	}
	got = recvmmsg(x->fd, mm, 4, MSG_DONTWAIT, NULL);
	for (int i = 0; i < got; i++) {
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			x->w->rx++;	/* counted, not classified */
		else
			a_count_read(x, mb[i], mm[i].msg_len, 0);
	}
}

static void a_sendmmsg(struct a_ctx *x)
{
	static __thread uint8_t mb[4][512];
	struct mmsghdr mm[4];
	struct iovec mi[4];
	int v;

	mmsg_init(mm, mi, 4);
	for (int i = 0; i < 4; i++) {
		mi[i].iov_base = mb[i];
		mi[i].iov_len = payload_make(mb[i], (x->w->side << 24) | x->id++,
					     12 + rng_below(&x->r, 400));
	}
	v = sendmmsg(x->fd, mm, 4, MSG_DONTWAIT);
	if (v > 0)
		x->w->tx += v;
}

/* poll() or epoll_wait() for up to 10 ms. */
static void a_wait(struct a_ctx *x, int use_epoll)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out[2];
	struct pollfd pf = { .fd = x->fd, .events = POLLIN | POLLOUT };

	if (!use_epoll) {
		poll(&pf, 1, rng_below(&x->r, 10));
	} else if (x->ep >= 0 && !epoll_ctl(x->ep, EPOLL_CTL_ADD, x->fd, &ev)) {
		epoll_wait(x->ep, out, 2, rng_below(&x->r, 10));
		epoll_ctl(x->ep, EPOLL_CTL_DEL, x->fd, NULL);
	}
}

/* getsockopt DTLS_TX or DTLS_RX, and DTLS_RX with room for the header only. */
static void a_get_crypto_info(struct a_ctx *x)
{
	uint8_t ci[128];
	socklen_t sl = sizeof(ci);

	getsockopt(x->fd, SOL_DTLS, rng_below(&x->r, 2) ? DTLS_TX : DTLS_RX, ci, &sl);
	sl = sizeof(struct dtls_crypto_info);
	getsockopt(x->fd, SOL_DTLS, DTLS_RX, ci, &sl);
}

/* The replay window after DTLS_RX: EBUSY, never a success. */
static void a_replay_window(struct a_ctx *x)
{
	int v = 64 + rng_below(&x->r, 2000);
	socklen_t sl = sizeof(v);

	if (!setsockopt(x->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &v, sizeof(v)))
		x->w->corrupt += 1000000;
	getsockopt(x->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &v, &sl);
}

static void a_rcvbuf(struct a_ctx *x)
{
	int v = 4096 + rng_below(&x->r, 256 * 1024);
	socklen_t sl = sizeof(v);

	setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	getsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &v, &sl);
}

/* IP_TOS, and IPV6_TCLASS on IPv6; then asks for them on reads. */
static void a_tos(struct a_ctx *x)
{
	int v = rng_below(&x->r, 64) << 2;
	socklen_t sl = sizeof(v);

	setsockopt(x->fd, SOL_IP, IP_TOS, &v, sizeof(v));
	getsockopt(x->fd, SOL_IP, IP_TOS, &v, &sl);
	if (x->fam == AF_INET6) {
		setsockopt(x->fd, SOL_IPV6, IPV6_TCLASS, &v, sizeof(v));
		sl = sizeof(v);
		getsockopt(x->fd, SOL_IPV6, IPV6_TCLASS, &v, &sl);
		v = 1;
		setsockopt(x->fd, SOL_IPV6, IPV6_RECVTCLASS, &v, sizeof(v));
	} else {
		v = 1;
		setsockopt(x->fd, SOL_IP, IP_RECVTOS, &v, sizeof(v));
	}
}

static void a_fionread(struct a_ctx *x)
{
	int v;
	socklen_t sl = sizeof(v);

	ioctl(x->fd, FIONREAD, &v);
	getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &v, &sl);
}

/* shutdown(), once in 100 calls */
static void a_shutdown(struct a_ctx *x)
{
	if (!rng_below(&x->r, 100))
		shutdown(x->fd, rng_below(&x->r, 2) ? SHUT_RD : SHUT_RDWR);
}

/* connect() on a DTLS socket, once in 10 calls: EISCONN, never a success */
static void a_connect(struct a_ctx *x)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (!rng_below(&x->r, 10) && !connect(x->fd, &sa, sizeof(sa)))
		x->w->corrupt += 1000000;
}

/* UDP_GRO on or off: several records per read */
static void a_gro(struct a_ctx *x)
{
	int v = rng_below(&x->r, 2);

	setsockopt(x->fd, IPPROTO_UDP, UDP_GRO, &v, sizeof(v));
}

/* One call of kind @op (0..19) on x->fd. */
static void a_call(struct a_ctx *x, int op)
{
	switch (op) {
	case 0: case 1: case 2:
		a_send(x);
		break;
	case 3: case 4:	/* blocking (SO_RCVTIMEO) */
		a_recvmsg(x, 0);
		break;
	case 5:
		a_recv(x, MSG_DONTWAIT);
		break;
	case 6:
		a_recvmsg(x, MSG_PEEK | MSG_DONTWAIT);
		break;
	case 7:
		a_recvmmsg(x);
		break;
	case 8:
		a_sendmmsg(x);
		break;
	case 9: case 10:
		a_wait(x, op == 10);
		break;
	case 11:
		a_get_crypto_info(x);
		break;
	case 12:
		a_replay_window(x);
		break;
	case 13:
		a_rcvbuf(x);
		break;
	case 14:
		a_tos(x);
		break;
	case 15:
		a_fionread(x);
		break;
	case 16:
		a_shutdown(x);
		break;
	case 17:
		a_connect(x);
		break;
	case 18:
		a_gro(x);
		break;
	default:	/* blocking */
		a_recv(x, 0);
		break;
	}
}

/* Random calls on one side of a pair until the deadline. */
static void *a_worker_fn(void *arg)
{
	struct a_worker *w = arg;
	struct opair *p = &w->ap->p;
	int shared = w->side ? p->b : p->a;
	struct a_ctx ctx = { .w = w }, *x = &ctx;

	x->fam = sk_family(w->side ? peer_kind(p->kind) : p->kind);
	if (p->s13)
		x->rxk13 = w->side ? &p->ab13 : &p->ba13;
	else
		x->rxk = w->side ? &p->ab : &p->ba;
	x->ep = epoll_create1(0);
	rng_new(&x->r);
	while (now_ms() < w->deadline) {
		x->fd = w->own_fd >= 0 ? w->own_fd : shared;
		w->ops++;
		a_call(x, rng_below(&x->r, 20));
	}
	if (x->ep >= 0)
		close(x->ep);
	if (w->own_fd >= 0)
		close(w->own_fd);
	return NULL;
}

/*
 * Close two sockets, each at its moment, under the traffic: @closing[i]
 * (if set) is raised right before fd[i] is closed, @closed (if set) once
 * both are.
 */
struct closer {
	int fd[2];
	uint64_t when[2];
	atomic_int *closing[2];
	atomic_int *closed;
	pthread_t th;
};

static void *closer_fn(void *arg)
{
	struct closer *c = arg;
	int left = 2;

	while (left) {
		uint64_t t = now_ms();

		for (int i = 0; i < 2; i++) {
			if (c->fd[i] < 0 || t < c->when[i])
				continue;
			if (c->closing[i])
				atomic_store(c->closing[i], 1);
			close(c->fd[i]);
			c->fd[i] = -1;
			left--;
		}
		usleep(1000);
	}
	if (c->closed)
		atomic_store(c->closed, 1);
	return NULL;
}

/* What scenario a's rounds add up to. */
struct a_sum {
	long rounds, pairs, pairs13, ops, corrupt, raw, rx, tx, gro, setup_fail;
	char why[512];
};

/*
 * Offloaded pairs of random ciphers (DTLS 1.2 or 1.3) and families, 20 ms
 * timeouts; how many.
 */
static int a_open_pairs(struct a_pair *ap, struct rng *r, struct a_sum *s)
{
	int np = 0;

	for (int i = 0; i < A_PAIRS; i++) {
		unsigned int ci = rng_below(r, N_CDESCS + N_CDESCS13);
		int kind = kinds3[rng_below(r, 3)], rc;

		memset(&ap[np], 0, sizeof(ap[np]));
		if (ci < N_CDESCS)
			rc = opair_make(&ap[np].p, &cdescs[ci], kind, OP_ALL);
		else
			rc = opair_make13(&ap[np].p, &cdescs13[ci - N_CDESCS], kind);
		if (rc) {
			s->setup_fail++;
			snprintf(s->why, sizeof(s->why), "pair setup %s%s/%s: %s",
				 ci < N_CDESCS ? cdescs[ci].name : cdescs13[ci - N_CDESCS].name,
				 ci < N_CDESCS ? "" : " (1.3)", kindname[kind], strerror(errno));
			if (ap[np].p.a >= 0)
				close(ap[np].p.a);
			if (ap[np].p.b >= 0)
				close(ap[np].p.b);
			continue;
		}
		set_timeouts(ap[np].p.a, 20);
		set_timeouts(ap[np].p.b, 20);
		s->pairs13 += !!ap[np].p.s13;
		np++;
	}
	return np;
}

/*
 * One round: workers on both sides of each pair (the first of a side on
 * the shared descriptor, the others on dups) for about @len ms, while a
 * closer closes each side at a random moment.
 */
static void a_round(struct rng *r, struct a_sum *s)
{
	struct a_pair ap[A_PAIRS];
	struct a_worker w[A_PAIRS][2 * A_WPS];
	struct closer cl[A_PAIRS];
	uint64_t t0, len = 50 + rng_below(r, 250);
	int np = a_open_pairs(ap, r, s);

	t0 = now_ms();
	for (int i = 0; i < np; i++) {
		for (int j = 0; j < 2 * A_WPS; j++) {
			struct a_worker *x = &w[i][j];

			memset(x, 0, sizeof(*x));
			x->ap = &ap[i];
			x->side = j & 1;
			x->own_fd = j < 2 ? -1 : dup(x->side ? ap[i].p.b : ap[i].p.a);
			x->deadline = t0 + len + rng_below(r, 100);
			pthread_create(&x->th, NULL, a_worker_fn, x);
		}
		cl[i] = (struct closer){
			.fd = { ap[i].p.a, ap[i].p.b },
			.when = { t0 + rng_below(r, len), t0 + rng_below(r, len) },
			.closed = &ap[i].closed,
		};
		pthread_create(&cl[i].th, NULL, closer_fn, &cl[i]);
	}
	for (int i = 0; i < np; i++) {
		pthread_join(cl[i].th, NULL);
		for (int j = 0; j < 2 * A_WPS; j++) {
			pthread_join(w[i][j].th, NULL);
			s->ops += w[i][j].ops;
			s->corrupt += w[i][j].corrupt;
			s->raw += w[i][j].raw;
			s->rx += w[i][j].rx;
			s->tx += w[i][j].tx;
			s->gro += w[i][j].gro;
		}
	}
	s->pairs += np;
	s->rounds++;
}

static void scenario_a(void)
{
	const char *name = "a: concurrent send/recv/poll/epoll/shutdown/sockopt, close mid-call";
	struct a_sum s = { 0 };
	struct base b0;
	struct rng r;
	uint64_t end;
	int ok = 1;

	scen_begin(name, (int)scen_secs * 2 + 60);
	rng_new(&r);
	base_get(&b0);
	end = now_ms() + (uint64_t)(scen_secs * 2000);
	while (now_ms() < end)
		a_round(&r, &s);
	if (s.corrupt || s.raw) {
		ok = 0;
		snprintf(s.why, sizeof(s.why),
			 "%ld corrupt records (or forbidden option successes), %ld raw",
			 s.corrupt, s.raw);
	}
	if (s.setup_fail)
		ok = 0;
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		ok = 0;
	alarm(0);
	tap(ok, name, "%ld rounds, %ld socket pairs (%ld DTLS 1.3), %ld calls, %ld records sent, %ld reads (%ld of several records)%s%s",
	    s.rounds, s.pairs, s.pairs13, s.ops, s.tx, s.rx, s.gro, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* b: close with data queued                                               */

/* What scenario b's pairs add up to. */
struct b_sum {
	long pairs, queued, fails;
	char why[512];
};

/* Up to @n records from @fd, if it has DTLS_TX; random lengths either way. */
static void b_queue(int fd, int has_tx, int n, struct rng *r, struct b_sum *s)
{
	uint8_t buf[2048];

	for (int i = 0; i < n; i++) {
		size_t l = payload_make(buf, i, 12 + rng_below(r, 1400));

		if (has_tx && send(fd, buf, l, MSG_DONTWAIT) == (ssize_t)l)
			s->queued++;
	}
}

/* A context with nothing installed but the replay window, closed. */
static void b_window_only(struct b_sum *s)
{
	int fd = udp_bound(SK_IPV4), v = 128;

	if (fd < 0)
		return;
	if (setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &v, sizeof(v))) {
		s->fails++;
		snprintf(s->why, sizeof(s->why), "DTLS_RX_REPLAY_WINDOW on a fresh socket: %s",
			 strerror(errno));
	}
	close(fd);
}

/* What @variant does between queueing and close. */
static void b_before_close(struct opair *p, int variant, struct rng *r, struct b_sum *s)
{
	uint8_t buf[2048];

	switch (variant) {
	case 1:	/* a peeked record */
		recv(p->a, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		recv(p->b, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		break;
	case 2:
		b_window_only(s);
		break;
	case 3:	/* DTLS_RX drains the queued datagrams, then close */
		if (dtls_install(p->a, DTLS_RX, &p->ba, REC_NUM(EPOCH, 1))) {
			s->fails++;
			snprintf(s->why, sizeof(s->why), "late DTLS_RX: %s", strerror(errno));
		}
		if (rng_below(r, 2))
			recv(p->a, buf, sizeof(buf), MSG_DONTWAIT);
		break;
	case 5:	/* close the receiver while the sender still sends */
		close(p->b);
		p->b = -1;
		for (int i = 0; i < 20; i++) {
			size_t l = payload_make(buf, i, 100);

			send(p->a, buf, l, MSG_DONTWAIT);
		}
		break;
	}
}

/* Both sockets, in a random order. */
static void b_close(struct opair *p, struct rng *r)
{
	int fds[2] = { p->a, p->b }, first = rng_below(r, 2) ? 0 : 1;

	for (int i = 0; i < 2; i++)
		if (fds[first ^ i] >= 0)
			close(fds[first ^ i]);
}

/*
 * One pair of a random cipher, family and variant: records queued both
 * ways, then closed.  Variants: 3 installs DTLS_RX on a after datagrams
 * are queued, 4 offloads one direction only.
 */
static void b_pair(struct rng *r, struct b_sum *s)
{
	const struct cdesc *c = &cdescs[rng_below(r, N_CDESCS)];
	int kind = kinds3[rng_below(r, 3)];
	int variant = rng_below(r, 6);
	struct opair p = { .a = -1, .b = -1 };
	int what = OP_ALL, n1 = rng_below(r, 40), n2 = rng_below(r, 40);

	if (variant == 3)
		what = OP_A_TX | OP_B_TX | OP_B_RX;
	else if (variant == 4)
		what = rng_below(r, 2) ? OP_A_TX | OP_B_RX : OP_B_TX | OP_A_RX;
	if (opair_make(&p, c, kind, what)) {
		s->fails++;
		snprintf(s->why, sizeof(s->why), "pair setup %s/%s variant %d: %s",
			 c->name, kindname[kind], variant, strerror(errno));
	} else {
		b_queue(p.a, what & OP_A_TX, n1, r, s);
		b_queue(p.b, what & OP_B_TX, n2, r, s);
		b_before_close(&p, variant, r, s);
	}
	b_close(&p, r);
	s->pairs++;
}

static void scenario_b(void)
{
	const char *name = "b: close with records queued, in flight, peeked, half-installed";
	struct b_sum s = { 0 };
	struct base b0;
	struct rng r;
	uint64_t end;
	int ok;

	scen_begin(name, (int)scen_secs + 60);
	rng_new(&r);
	base_get(&b0);
	end = now_ms() + (uint64_t)(scen_secs * 1000);
	while (now_ms() < end)
		b_pair(&r, &s);
	ok = !s.fails;
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		ok = 0;
	alarm(0);
	tap(ok, name, "%ld socket pairs closed with %ld records queued or in flight%s%s",
	    s.pairs, s.queued, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* c: DTLS_RX while the peer floods                                        */

struct c_flood {
	int fd;
	atomic_int stop;
	long sent;
	int mode;	/* 0 steady, 1 bursts */
};

static void *c_flood_fn(void *arg)
{
	struct c_flood *f = arg;
	uint8_t buf[256];

	/* one CPU, one backlog: loopback then keeps the records in order */
	pin_to_cpu(sched_getcpu() < 0 ? 0 : sched_getcpu());

	while (!atomic_load(&f->stop) && f->sent < 4000) {
		size_t l = payload_make(buf, f->sent, 12 + (f->sent * 37) % 200);

		if (send(f->fd, buf, l, 0) == (ssize_t)l)
			f->sent++;
		if (f->mode == 0 || f->sent % 64 == 0)
			usleep(f->mode ? 2000 : 100);
	}
	return NULL;
}

struct c_reader {
	int fd;
	const struct dkey *k;
	atomic_int installed;	/* set once DTLS_RX returned */
	atomic_int stop;
	uint8_t *seen;
	long dec, dup, raw_before, raw_after, junk, drops, reorder, last_id;
};

static void c_account(struct c_reader *rd, const uint8_t *b, ssize_t n, int after,
		      struct msghdr *msg)
{
	struct cmsghdr *cm;
	long id;
	int cl = classify_rx(b, n, rd->k, NULL, &id);

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t d;

			memcpy(&d, CMSG_DATA(cm), sizeof(d));
			rd->drops = d;
		}
	if (cl == 1 && id < 4000) {
		if (rd->seen[id]++)
			rd->dup++;
		else
			rd->dec++;
		if (id < rd->last_id)
			rd->reorder++;
		rd->last_id = id;
	} else if (cl == 0) {
		if (after)
			rd->raw_after++;
		else
			rd->raw_before++;
	} else {
		rd->junk++;
	}
}

static int c_recv_one(struct c_reader *rd, int flags)
{
	uint8_t buf[2048];
	union {
		struct cmsghdr align;
		char b[256];
	} cb;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	int after = atomic_load(&rd->installed);
	ssize_t n = recvmsg(rd->fd, &msg, flags);

	if (n < 0)
		return -1;
	c_account(rd, buf, n, after, &msg);
	return 0;
}

static void *c_reader_fn(void *arg)
{
	struct c_reader *rd = arg;

	while (!atomic_load(&rd->stop)) {
		if (c_recv_one(rd, MSG_DONTWAIT) < 0)
			usleep(200);
	}
	return NULL;
}

/* The receive counters scenario c compares. */
struct c_counters {
	long long dropped, rejected, records;
};

static void c_counters_get(struct c_counters *k)
{
	k->dropped = dstat("DtlsRxDropped");
	k->rejected = dstat("DtlsRxDecryptError") + dstat("DtlsRxReplay") +
		      dstat("DtlsRxMalformed");
	k->records = dstat("DtlsRxRecords");
}

/* What scenario c's runs add up to. */
struct c_sum {
	int iters, ok;
	long sent, dec, rawb, drop, pre;
	char why[512];
};

/* Read what is left on the reader's socket (300 ms without a record ends it). */
static void c_drain(struct c_reader *rd)
{
	while (wait_readable(rd->fd, 300) > 0)
		c_recv_one(rd, MSG_DONTWAIT);
}

/*
 * Every record the flooder sent was either read raw before DTLS_RX
 * returned, or decrypted exactly once and in order, or counted as
 * dropped; nothing raw after, no junk, no rejects.  1 if so.
 */
static int c_check(const struct c_flood *f, const struct c_reader *rd,
		   const struct c_counters *k0, long pre, const char *what, struct c_sum *s)
{
	struct c_counters k;
	long long dd, ddr, drx;
	long lost;

	c_counters_get(&k);
	dd = k.dropped - k0->dropped;
	ddr = k.rejected - k0->rejected;
	drx = k.records - k0->records;
	lost = f->sent - rd->dec - rd->raw_before;
	s->drop += dd + rd->drops;
	/* a receive buffer overflow counts in both DtlsRxDropped and
	 * the socket's drops: either may account for a lost record
	 */
	if (!rd->raw_after && !rd->dup && !rd->junk && !ddr && lost >= 0 && !rd->reorder &&
	    lost <= dd + rd->drops && drx == rd->dec)
		return 1;
	snprintf(s->why, sizeof(s->why),
		 "%s: sent %ld (%ld before DTLS_RX), decrypted %ld, raw before install %ld, RAW AFTER %ld, dup %ld, junk %ld, out of order %ld, DtlsRxDropped +%lld, udp drops %ld, DtlsRxRecords +%lld, reject counters +%lld",
		 what, f->sent, pre, rd->dec, rd->raw_before,
		 rd->raw_after, rd->dup, rd->junk, rd->reorder, dd, rd->drops, drx, ddr);
	printf("# %s\n", s->why);
	return 0;
}

/*
 * One run: a floods b (steady or in bursts); DTLS_RX is installed on b at a
 * random moment, with a reader thread on every other run.  -1 if the pair
 * could not be set up.
 */
static int c_run(const struct cdesc *c, int with_reader, struct rng *r, struct c_sum *s)
{
	int kind = kinds3[rng_below(r, 3)], v = 1;
	struct c_flood f = { 0 };
	struct c_reader rd = { 0 };
	struct c_counters k0;
	char what[64];
	struct opair p;
	pthread_t ft, rt;
	long pre;

	if (opair_make(&p, c, kind, OP_B_TX)) {
		snprintf(s->why, sizeof(s->why), "setup: %s", strerror(errno));
		return -1;
	}
	set_rcvbuf(p.a, 8 << 20);
	setsockopt(p.a, SOL_SOCKET, SO_RXQ_OVFL, &v, sizeof(v));
	rd.fd = p.a;
	rd.k = &p.ba;
	rd.seen = calloc(4000, 1);
	f.fd = p.b;
	f.mode = rng_below(r, 2);
	c_counters_get(&k0);
	pthread_create(&ft, NULL, c_flood_fn, &f);
	if (with_reader)
		pthread_create(&rt, NULL, c_reader_fn, &rd);
	usleep(rng_below(r, 30000));
	pre = f.sent;
	if (dtls_install(p.a, DTLS_RX, &p.ba, REC_NUM(EPOCH, 1))) {
		snprintf(s->why, sizeof(s->why), "DTLS_RX under flood: %s", strerror(errno));
		s->ok = 0;
	}
	atomic_store(&rd.installed, 1);
	usleep(rng_below(r, 30000));
	atomic_store(&f.stop, 1);
	pthread_join(ft, NULL);
	if (with_reader) {
		atomic_store(&rd.stop, 1);
		pthread_join(rt, NULL);
	}
	c_drain(&rd);
	snprintf(what, sizeof(what), "%s/%s", c->name, kindname[kind]);
	if (!c_check(&f, &rd, &k0, pre, what, s))
		s->ok = 0;
	s->sent += f.sent;
	s->dec += rd.dec;
	s->rawb += rd.raw_before;
	s->pre += pre;
	free(rd.seen);
	close(p.a);
	close(p.b);
	return 0;
}

static void scenario_c(void)
{
	const char *name = "c: DTLS_RX installed while the peer floods";
	struct c_sum s = { .ok = 1 };
	struct base b0;
	struct rng r;
	uint64_t end;

	scen_begin(name, (int)scen_secs * 2 + 90);
	rng_new(&r);
	base_get(&b0);
	end = now_ms() + (uint64_t)(scen_secs * 1000);
	/* at least 6 runs (every cipher), at most 40 */
	while ((now_ms() < end || s.iters < 6) && s.iters < 40) {
		const struct cdesc *c = &cdescs[s.iters % N_CDESCS];
		int with_reader = s.iters % 2;

		s.iters++;
		if (c_run(c, with_reader, &r, &s)) {
			s.ok = 0;
			break;
		}
	}
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		s.ok = 0;
	alarm(0);
	tap(s.ok, name, "%d runs: %ld records sent (%ld before DTLS_RX), %ld delivered decrypted, %ld read raw before DTLS_RX returned, %ld dropped%s%s",
	    s.iters, s.sent, s.pre, s.dec, s.rawb, s.drop, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* d: memory pressure                                                      */

struct d_flood {
	int fd;
	int base;
	atomic_int *stop;
	long sent;
};

static void *d_flood_fn(void *arg)
{
	struct d_flood *f = arg;
	uint8_t buf[1400];

	while (!atomic_load(f->stop) && f->sent < 200000) {
		size_t l = payload_make(buf, f->base + f->sent, 12 + (f->sent * 53) % 1300);

		if (send(f->fd, buf, l, 0) == (ssize_t)l)
			f->sent++;
	}
	return NULL;
}

enum { D_THREADS = 3 };

/* What one run of scenario d read. */
struct d_count {
	uint8_t *seen;		/* per payload id */
	long got, dup, bad;
};

/* One read: intact and new, a duplicate, or not one of the flooders' payloads. */
static void d_account(struct d_count *n, const uint8_t *buf, ssize_t len)
{
	long id = payload_check(buf, len);

	if (id < 0 || id >= (D_THREADS << 20))
		n->bad++;
	else if (n->seen[id]++)
		n->dup++;
	else
		n->got++;
}

/* Read every 2 ms until @end, while the flooders fill the 4 KB buffer. */
static void d_read_slowly(int fd, uint64_t end, struct d_count *n)
{
	uint8_t buf[2048];

	while (now_ms() < end) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len > 0)
			d_account(n, buf, len);
		usleep(2000);
	}
}

/* Read what is left (200 ms without a record ends it). */
static void d_drain(int fd, struct d_count *n)
{
	uint8_t buf[2048];

	while (wait_readable(fd, 200) > 0) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len > 0)
			d_account(n, buf, len);
	}
}

/* After the flood, one more record from b reaches a within 3 s: 1 if so. */
static int d_still_works(const struct opair *p)
{
	uint8_t buf[2048];
	size_t l = payload_make(buf, 7777777, 100);
	uint64_t until = now_ms() + 3000;

	if (send(p->b, buf, l, 0) != (ssize_t)l)
		return 0;
	while (now_ms() < until) {
		ssize_t n;

		if (wait_readable(p->a, 100) != 1)
			continue;
		n = recv(p->a, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 && payload_check(buf, n) == 7777777)
			return 1;
	}
	return 0;
}

/* Flood a, whose receive buffer is 4 KB, from D_THREADS threads; returns what they sent. */
static long d_flood(const struct opair *p, struct d_count *n)
{
	struct d_flood f[D_THREADS];
	pthread_t th[D_THREADS];
	atomic_int stop = 0;
	long sent = 0;

	for (int i = 0; i < D_THREADS; i++) {
		f[i].fd = p->b;
		f[i].base = i << 20;
		f[i].stop = &stop;
		f[i].sent = 0;
		pthread_create(&th[i], NULL, d_flood_fn, &f[i]);
	}
	d_read_slowly(p->a, now_ms() + (uint64_t)(scen_secs * 500), n);
	atomic_store(&stop, 1);
	for (int i = 0; i < D_THREADS; i++) {
		pthread_join(th[i], NULL);
		sent += f[i].sent;
	}
	return sent;
}

/* What scenario d's runs add up to. */
struct d_sum {
	int runs;
	long sent, got, drop;
	char why[512];
};

/*
 * One run: the flood drops records (counted in DtlsRxDropped or UDP's
 * RcvbufErrors), what arrives is intact and unique, DtlsRxRecords counts
 * it, and the socket works after.  1 if so, 0 if not, -1 if the pair could
 * not be set up.
 */
static int d_run(const struct cdesc *c, int kind, struct d_sum *s)
{
	struct d_count n = { .seen = calloc(D_THREADS << 20, 1) };
	long long d0 = dstat("DtlsRxDropped"), rx0 = dstat("DtlsRxRecords"), dd, drx;
	long long u0 = udp_rcvbuf_errors(), du;
	int ok = 1, last_ok, small = 4096;
	struct opair p;
	long sent;

	s->runs++;
	if (opair_make(&p, c, kinds3[kind], OP_ALL)) {
		snprintf(s->why, sizeof(s->why), "setup: %s", strerror(errno));
		free(n.seen);
		return -1;
	}
	setsockopt(p.a, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	sent = d_flood(&p, &n);
	d_drain(p.a, &n);
	dd = dstat("DtlsRxDropped") - d0;
	/* dropped before opening, the receive buffer being full */
	du = udp_rcvbuf_errors() - u0;
	drx = dstat("DtlsRxRecords") - rx0;
	last_ok = d_still_works(&p);
	if (!(dd + du) || n.bad || n.dup || !last_ok || n.got + dd + du > sent ||
	    drx != n.got) {
		ok = 0;
		snprintf(s->why, sizeof(s->why),
			 "%s/%s: sent %ld, delivered %ld, DtlsRxDropped +%lld, RcvbufErrors +%lld, DtlsRxRecords +%lld, corrupt %ld, dup %ld, record after the flood %s",
			 c->name, kindname[kind], sent, n.got, dd, du, drx, n.bad, n.dup,
			 last_ok ? "delivered" : "NOT delivered");
		printf("# %s\n", s->why);
	}
	printf("# %s/%s: sent %ld, delivered %ld, DtlsRxDropped +%lld, RcvbufErrors +%lld\n",
	       c->name, kindname[kind], sent, n.got, dd, du);
	s->sent += sent;
	s->got += n.got;
	s->drop += dd + du;
	free(n.seen);
	close(p.a);
	close(p.b);
	return ok;
}

static void scenario_d(void)
{
	const char *name = "d: SO_RCVBUF 4096 under a multi-threaded flood, slow reader";
	struct d_sum s = { 0 };
	struct base b0;
	struct rng r;
	int ok = 1;

	scen_begin(name, (int)scen_secs * 2 + 60);
	rng_new(&r);
	base_get(&b0);
	for (int kind = 0; kind < 2; kind++) {
		int ret = d_run(&cdescs[rng_below(&r, N_CDESCS)], kind, &s);

		if (ret <= 0)
			ok = 0;
		if (ret < 0)
			break;
	}
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		ok = 0;
	alarm(0);
	tap(ok, name, "%d runs: %ld records sent, %ld delivered intact and unique, %ld dropped (DtlsRxDropped, RcvbufErrors)%s%s",
	    s.runs, s.sent, s.got, s.drop, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* e: network namespace destroyed with offloaded sockets open              */

static int send_fd(int us, int fd)
{
	char c = 'f';
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} cb;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(us, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int us)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} cb;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(us, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Child: a netns with offloaded sockets and queued records; exits unclosed. */
static void e_child(int us, int iter, int pass_out)
{
	struct rng r;
	uint8_t buf[1500];

	rng_init(&r, 1000 + iter);
	if (unshare(CLONE_NEWNET) || lo_up())
		_exit(10);
	for (int i = 0; i < 4; i++) {
		struct opair p;
		const struct cdesc *c = &cdescs[rng_below(&r, N_CDESCS)];
		int kind = kinds3[rng_below(&r, 3)];

		if (opair_make(&p, c, kind, OP_ALL))
			_exit(11);
		for (int j = 0; j < 10; j++) {
			size_t l = payload_make(buf, j, 12 + rng_below(&r, 1000));

			if (send(p.a, buf, l, 0) != (ssize_t)l || send(p.b, buf, l, 0) != (ssize_t)l)
				_exit(12);
		}
		/* read a few, leave the rest queued */
		set_timeouts(p.b, 5000);
		for (int j = 0; j < 3; j++) {
			ssize_t n = recv(p.b, buf, sizeof(buf), 0);

			if (n <= 0 || payload_check(buf, n) < 0)
				_exit(13);
		}
		if (pass_out && i == 0) {
			/* the peer b outlives this process (and keeps the netns) */
			if (send_fd(us, p.b))
				_exit(14);
		}
		/* a record in flight as we exit */
		send(p.a, buf, payload_make(buf, 99, 500), MSG_DONTWAIT);
	}
	_exit(0);	/* sockets are closed by exit, then the netns goes */
}

/* What scenario e's namespaces add up to. */
struct e_sum {
	int ok, passed, passed_ok;
	char why[512];
};

/* The socket passed out of a destroyed namespace still reads its queued records. */
static void e_check_held(int held, struct e_sum *s)
{
	uint8_t buf[1500];
	ssize_t r = recv(held, buf, sizeof(buf), MSG_DONTWAIT);

	if (r > 0 && payload_check(buf, r) >= 0)
		s->passed_ok++;
	else
		printf("# passed-out socket: recv %zd (%s)\n", r,
		       r < 0 ? strerror(errno) : "bad payload");
}

/*
 * One namespace: a child fills it and exits; every fourth one first
 * passes a socket out.  The initial namespace's contexts must not change.
 * -1 if no socketpair could be made.
 */
static int e_iteration(int it, long long tx0, long long rx0, struct e_sum *s)
{
	int us[2], st = 0, held = -1, pass_out = it % 4 == 1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, us)) {
		snprintf(s->why, sizeof(s->why), "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(us[0]);
		e_child(us[1], it, pass_out);
	}
	close(us[1]);
	if (pass_out) {
		held = recv_fd(us[0]);
		s->passed++;
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(s->why, sizeof(s->why), "child %d: status %#x", it, st);
		s->ok = 0;
	}
	if (held >= 0) {
		/* the namespace lives on through this socket */
		e_check_held(held, s);
		close(held);
	}
	close(us[0]);
	if (dstat("DtlsCurrTxSw") != tx0 || dstat("DtlsCurrRxSw") != rx0) {
		snprintf(s->why, sizeof(s->why),
			 "initial netns counters changed: DtlsCurrTxSw %lld (was %lld), DtlsCurrRxSw %lld (was %lld)",
			 dstat("DtlsCurrTxSw"), tx0, dstat("DtlsCurrRxSw"), rx0);
		s->ok = 0;
	}
	return 0;
}

static void scenario_e(void)
{
	const char *name = "e: network namespace destroyed with offloaded sockets open (x20)";
	long long tx0 = dstat("DtlsCurrTxSw"), rx0 = dstat("DtlsCurrRxSw");
	struct e_sum s = { .ok = 1 };
	struct base b0;
	int n = 20;

	scen_begin(name, 120);
	base_get(&b0);
	for (int it = 0; it < n; it++) {
		if (e_iteration(it, tx0, rx0, &s)) {
			s.ok = 0;
			break;
		}
	}
	if (s.passed_ok != s.passed) {
		s.ok = 0;
		snprintf(s.why, sizeof(s.why), "passed-out sockets working: %d of %d",
			 s.passed_ok, s.passed);
	}
	if (base_wait(&b0, 10000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		s.ok = 0;
	alarm(0);
	tap(s.ok, name, "%d namespaces with 4 offloaded pairs each destroyed, %d sockets passed out of theirs%s%s",
	    n, s.passed, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* f: receivers closed under a flood                                       */

/*
 * UDP looks a socket up under RCU and hands it the datagram without taking
 * a reference, so the hook may run for a socket whose close() has already
 * dropped the last one.  Each flooder owns F_PER receiver slots and sends
 * UDP_SEGMENT batches of forged records (cheap to send, each record
 * opened); the main thread keeps closing receivers that are being flooded
 * and replacing them.  The window for that race is a few instructions
 * wide: a make check-debug run hit it once; this scenario (and two
 * variants of it) did not in 9 runs of 15 to 30 s against the module
 * before the fix.  The KUnit case rx_socket_without_reference recreates
 * the moment deterministically.
 */
enum { F_THREADS = 2, F_PER = 2, F_SLOTS = F_THREADS * F_PER };
enum { F_SEG = 1000, F_NSEG = 64 };

struct f_flood {
	int cpu;
	int fd[2];		/* IPv4, IPv6 */
	atomic_int *port;	/* this flooder's F_PER slots; 0: none */
	atomic_int *stop;
	long sent, sends;
	uint64_t send_us;
};

static int f_kind(int slot)
{
	return slot % F_PER < F_PER / 2 ? SK_IPV4 : SK_IPV6;
}

static void *f_flood_fn(void *arg)
{
	static __thread uint8_t buf[F_SEG * F_NSEG];
	struct f_flood *f = arg;
	struct rng r;

	pin_to_cpu(f->cpu);
	rng_new(&r);
	/* one forged record per segment: every one of them is opened */
	for (int i = 0; i < F_NSEG; i++) {
		uint8_t *rec = buf + i * F_SEG;

		put_hdr(rec, 23, 0xfefd, EPOCH, 1 + i, F_SEG - DTLS_HDR_LEN);
		memset(rec + DTLS_HDR_LEN, 0xa5 ^ i, F_SEG - DTLS_HDR_LEN);
	}
	while (!atomic_load(f->stop)) {
		int j = rng_below(&r, F_PER), kind = f_kind(j);
		int port = atomic_load(&f->port[j]);
		struct sockaddr_storage ss;
		socklen_t alen;
		size_t len = F_SEG * (1 + rng_below(&r, F_NSEG));
		uint64_t t0;

		if (!port)
			continue;
		alen = sk_addr(kind, kind, port, &ss);
		t0 = now_us();
		if (send_gso_to(f->fd[kind == SK_IPV6], buf, len, F_SEG, &ss, alen,
				MSG_DONTWAIT) == (ssize_t)len) {
			f->sent += len / F_SEG;
			f->sends++;
			f->send_us += now_us() - t0;
		}
	}
	return NULL;
}

/*
 * A receiver with DTLS_RX, connected to the flooder socket @peer.  With
 * @gro, UDP_GRO: its records are opened by its reader (none here) and the
 * batches stay queued whole until close(); without, they are opened by the
 * hook as they come, which is the race this scenario is after.
 */
static int f_receiver(int kind, int peer, int gro)
{
	struct dkey k;
	int fd = udp_bound(kind), one = 1;

	dkey_derive(&k, &cdescs[0], "stress-f");
	if (fd < 0)
		return -1;
	if (udp_connect_to(fd, kind, kind, peer) ||
	    dtls_install(fd, DTLS_RX, &k, REC_NUM(EPOCH, 1)) ||
	    (gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything scenario f opens, and how its closes went. */
struct f_state {
	struct f_flood fl[F_THREADS];
	pthread_t th[F_THREADS];
	atomic_int port[F_SLOTS], stop;
	int rx[F_SLOTS];
	long closes;
	uint64_t close_us;
	char why[512];
};

/* Each flooder's IPv4 and IPv6 sockets, on a CPU of its own where there are enough. */
static void f_open_flooders(struct f_state *f)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), snd = 4 << 20;

	for (int t = 0; t < F_THREADS; t++) {
		f->fl[t] = (struct f_flood){ .cpu = t % (ncpu > 0 ? ncpu : 1),
					     .port = f->port + t * F_PER, .stop = &f->stop };
		f->fl[t].fd[0] = udp_bound(SK_IPV4);
		f->fl[t].fd[1] = udp_bound(SK_IPV6);
		for (int i = 0; i < 2; i++)
			setsockopt(f->fl[t].fd[i], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	}
}

/* Slot @j's receiver (the second flooder's with UDP_GRO), its port told to the flooder. */
static int f_open_receiver(struct f_state *f, int j)
{
	int kind = f_kind(j % F_PER);

	f->rx[j] = f_receiver(kind, f->fl[j / F_PER].fd[kind == SK_IPV6], (j / F_PER) & 1);
	if (f->rx[j] < 0) {
		snprintf(f->why, sizeof(f->why), "receiver setup: %s", strerror(errno));
		return -1;
	}
	atomic_store(&f->port[j], sk_port(f->rx[j]));
	return 0;
}

/*
 * Until @end: close a random receiver while its flooder still sends to it,
 * then replace it.  -1 if a replacement could not be opened.
 */
static int f_churn(struct f_state *f, struct rng *r, uint64_t end)
{
	while (now_ms() < end) {
		int j = rng_below(r, F_SLOTS);
		uint64_t t0 = now_us();

		close(f->rx[j]);
		f->close_us += now_us() - t0;
		f->closes++;
		if (f_open_receiver(f, j))
			return -1;
		usleep(rng_below(r, 1000));
	}
	return 0;
}

/* Stop the flooders; what they sent.  Prints the average close() and sendmsg() times. */
static long f_stop_flooders(struct f_state *f)
{
	long sent = 0, sends = 0;
	uint64_t send_us = 0;

	atomic_store(&f->stop, 1);
	for (int t = 0; t < F_THREADS; t++) {
		pthread_join(f->th[t], NULL);
		sent += f->fl[t].sent;
		sends += f->fl[t].sends;
		send_us += f->fl[t].send_us;
	}
	printf("# close() took %.0f us on average, a batch's sendmsg() %.0f us\n",
	       f->closes ? (double)f->close_us / f->closes : 0.0,
	       sends ? (double)send_us / sends : 0.0);
	return sent;
}

static void f_close_all(struct f_state *f)
{
	for (int j = 0; j < F_SLOTS; j++)
		if (f->rx[j] >= 0)
			close(f->rx[j]);
	for (int t = 0; t < F_THREADS; t++) {
		close(f->fl[t].fd[0]);
		close(f->fl[t].fd[1]);
	}
}

static void scenario_f(void)
{
	const char *name = "f: receivers closed and replaced while flooded";
	long long dec0 = dstat("DtlsRxDecryptError"), opened;
	struct f_state f = { 0 };
	struct base b0;
	struct rng r;
	long sent = 0;
	int ok = 1;

	scen_begin(name, (int)scen_secs + 60);
	rng_new(&r);
	base_get(&b0);
	for (int j = 0; j < F_SLOTS; j++)
		f.rx[j] = -1;
	f_open_flooders(&f);
	for (int j = 0; j < F_SLOTS && ok; j++)
		if (f_open_receiver(&f, j))
			ok = 0;
	if (ok) {
		for (int t = 0; t < F_THREADS; t++)
			pthread_create(&f.th[t], NULL, f_flood_fn, &f.fl[t]);
		if (f_churn(&f, &r, now_ms() + (uint64_t)(scen_secs * 1000)))
			ok = 0;
		sent = f_stop_flooders(&f);
	}
	f_close_all(&f);
	/* the flood must have been opened, or it tested nothing */
	opened = dstat("DtlsRxDecryptError") - dec0;
	if (ok && opened <= 0) {
		snprintf(f.why, sizeof(f.why), "no forged record was opened (DtlsRxDecryptError +%lld)",
			 opened);
		ok = 0;
	}
	if (base_wait(&b0, 5000, f.why + strlen(f.why), sizeof(f.why) - strlen(f.why)))
		ok = 0;
	alarm(0);
	tap(ok, name, "%ld receivers closed under a flood of %ld datagrams in batches, %lld forged records opened%s%s",
	    f.closes, sent, opened, *f.why ? "; " : "", f.why);
}

/* ---------------------------------------------------------------------- */
/* g: a UDP_GRO reader's receive-buffer accounting under concurrent poll()  */

struct g_thread {
	pthread_t th;
	int fd;
	atomic_int *stop;
	atomic_int *go;		/* readers: start reading ... */
	int delay_us;		/* ... this long after go */
	long n;			/* records sent, or reads and polls done */
};

static void *g_flood_fn(void *arg)
{
	struct g_thread *t = arg;
	uint8_t buf[1400];

	while (!atomic_load(t->stop)) {
		size_t l = payload_make(buf, t->n, 12 + (t->n * 53) % 1300);

		if (send(t->fd, buf, l, 0) == (ssize_t)l)
			t->n++;
	}
	return NULL;
}

/* poll() of a blocking socket: UDP's poll looks for a good first datagram */
static void *g_poll_fn(void *arg)
{
	struct g_thread *t = arg;
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	int avail;

	while (!atomic_load(t->stop)) {
		poll(&pfd, 1, 5);
		ioctl(t->fd, FIONREAD, &avail);
		t->n++;
	}
	return NULL;
}

/* Slower than the flood, so that the queue is never empty for long */
static void *g_read_fn(void *arg)
{
	struct g_thread *t = arg;
	static __thread uint8_t buf[65536];

	while (!atomic_load(t->go) && !atomic_load(t->stop))
		usleep(1000);
	usleep(t->delay_us);
	while (!atomic_load(t->stop)) {
		recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);
		usleep(300);
		t->n++;
	}
	return NULL;
}

/* The receive memory @fd holds (SO_MEMINFO), or -1 */
static long g_rmem(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t l = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &l))
		return -1;
	return mi[SK_MEMINFO_RMEM_ALLOC];
}

enum { G_FLOOD = 2, G_POLL = 1, G_READ = 2, G_THREADS = G_FLOOD + G_POLL + G_READ };

struct g_sum {
	int rounds;
	long sent, polls, reads;
	char why[512];
};

/*
 * One round: b floods a with records while a's readers and pollers run;
 * DTLS_RX is set on a (its drain gives back the charge of what UDP had
 * queued), then UDP_GRO (the reader takes over from the hook), each while
 * the others read.  Once all is read, a must hold no receive memory.
 */
static int g_round(const struct cdesc *c, int kind, struct rng *r, struct g_sum *s)
{
	struct g_thread t[G_THREADS];
	atomic_int stop_flood = 0, stop_rest = 0, go = 0;
	uint8_t buf[2048];
	struct opair p;
	long rmem;
	int one = 1, i, ok = 1;

	if (opair_make(&p, c, kind, OP_B_TX)) {
		snprintf(s->why, sizeof(s->why), "set up: %s", strerror(errno));
		return -1;
	}
	set_rcvbuf(p.a, 1 << 20);
	for (i = 0; i < G_THREADS; i++) {
		t[i] = (struct g_thread){ .fd = i < G_FLOOD ? p.b : p.a, .go = &go,
					  .stop = i < G_FLOOD ? &stop_flood : &stop_rest,
					  .delay_us = rng_below(r, 20000) };
		pthread_create(&t[i].th, NULL, i < G_FLOOD ? g_flood_fn :
			       i < G_FLOOD + G_POLL ? g_poll_fn : g_read_fn, &t[i]);
	}
	/* a queue for DTLS_RX to drain, while the readers start on it */
	usleep(50000);
	atomic_store(&go, 1);
	if (dtls_install(p.a, DTLS_RX, &p.ab, REC_NUM(EPOCH, 1)))
		ok = 0;
	usleep(50000);
	if (setsockopt(p.a, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)))
		ok = 0;
	if (!ok)
		snprintf(s->why, sizeof(s->why), "DTLS_RX or UDP_GRO: %s", strerror(errno));
	usleep(100000);
	atomic_store(&stop_flood, 1);
	for (i = 0; i < G_FLOOD; i++)
		pthread_join(t[i].th, NULL);
	/* the readers and pollers go on until the queue has long been empty */
	usleep(200000);
	atomic_store(&stop_rest, 1);
	for (i = 0; i < G_THREADS; i++) {
		if (i >= G_FLOOD)
			pthread_join(t[i].th, NULL);
		*(i < G_FLOOD ? &s->sent : i < G_FLOOD + G_POLL ? &s->polls : &s->reads) += t[i].n;
	}
	while (recv(p.a, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	rmem = g_rmem(p.a);
	if (ok && rmem) {
		ok = 0;
		snprintf(s->why, sizeof(s->why),
			 "round %d: the socket still holds %ld bytes of receive memory with nothing queued",
			 s->rounds + 1, rmem);
	}
	close(p.a);
	close(p.b);
	s->rounds++;
	return ok;
}

static void scenario_g(void)
{
	const char *name = "g: receive memory all given back after DTLS_RX and UDP_GRO set under a flood";
	struct g_sum s = { 0 };
	struct base b0;
	struct rng r;
	uint64_t end;
	int ok = 1;

	scen_begin(name, (int)scen_secs * 2 + 60);
	rng_new(&r);
	base_get(&b0);
	end = now_ms() + (uint64_t)(scen_secs * 1000);
	while (ok && now_ms() < end)
		ok = g_round(&cdescs[rng_below(&r, N_CDESCS)], kinds3[rng_below(&r, 3)], &r, &s) > 0;
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		ok = 0;
	alarm(0);
	tap(ok, name, "%d rounds: %ld records sent, %ld reads, %ld polls%s%s",
	    s.rounds, s.sent, s.reads, s.polls, *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* h: DTLS 1.3 key updates under traffic                                   */

enum {
	H_PAIRS = 2,		/* pairs per round */
	H_EPOCHS = 256,		/* epochs derived per direction and round */
	H_IDS = 1 << 18,	/* payloads per direction and round */
	H_SENDERS = 2,		/* threads per direction */
	H_RECEIVERS = 2,
};

/* What scenario h's rounds add up to; failures from any thread. */
struct h_sum {
	pthread_mutex_t lock;
	int rounds, closing;
	long pairs, updates, refused, reads, sent, got, lost;
	long long unknown, dropped, rcvbuf, softnet;
	long fails;
	char why[512];
};

static void h_fail(struct h_sum *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void h_fail(struct h_sum *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	if (!s->fails++) {
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
		printf("# h: %s\n", s->why);
	}
	pthread_mutex_unlock(&s->lock);
}

struct h_pair;

/* One direction of a pair: records sealed on tx, opened on rx. */
struct h_dir {
	struct h_pair *hp;
	int tag;			/* payload ids are tag << 24 | n */
	int tx, rx;
	atomic_int *tx_closed, *rx_closed;	/* set just before close() */
	struct dkey13 *k;		/* k[i]: epoch EPOCH13 + i */
	atomic_int rx_top;		/* the highest epoch (index) installed on rx */
	atomic_uint next_id;
	atomic_long tries;		/* records handed to send calls */
	atomic_long sent, got, dup, raw, corrupt, badinfo;
	_Atomic uint8_t *seen;		/* per payload: times delivered */
	long updates, refused;
};

struct h_pair {
	struct h_sum *sum;
	int a, b, kind;
	const struct cdesc13 *s;
	atomic_int a_closed, b_closed;
	atomic_int stop_send, stop_upd, stop_rest;
	struct h_dir d[2];		/* 0: a to b, 1: b to a */
	long reads;
};

/* A call on a socket failed: fine only once the test has closed it. */
static int h_closed(atomic_int *closed)
{
	return atomic_load(closed) && errno == EBADF;
}

/*
 * A payload id of @d below @limit, -1 once they are used up.  The senders
 * leave the last H_EPOCHS to the updater: its record in each new epoch
 * moves the receiver to it.
 */
static long h_id(struct h_dir *d, unsigned int limit)
{
	unsigned int n = atomic_fetch_add(&d->next_id, 1);

	return n < limit ? (long)d->tag << 24 | n : -1;
}

#define H_SENDER_IDS	(H_IDS - H_EPOCHS)

/* One record from d->tx (id below @limit), @flags as send() takes them. */
static void h_send_one(struct h_dir *d, struct rng *r, int flags, unsigned int limit)
{
	uint8_t buf[1400];
	long id = h_id(d, limit);
	size_t l;

	if (id < 0)
		return;
	l = payload_make(buf, id, 12 + rng_below(r, 1200));
	atomic_fetch_add(&d->tries, 1);
	if (send(d->tx, buf, l, flags) == (ssize_t)l)
		atomic_fetch_add(&d->sent, 1);
}

static void h_sendmmsg(struct h_dir *d, struct rng *r)
{
	static __thread uint8_t mb[4][600];
	struct mmsghdr mm[4];
	struct iovec mi[4];
	int n = 0, v;

	mmsg_init(mm, mi, 4);
	for (long id; n < 4 && (id = h_id(d, H_SENDER_IDS)) >= 0; n++) {
		mi[n].iov_base = mb[n];
		mi[n].iov_len = payload_make(mb[n], id, 12 + rng_below(r, 500));
	}
	atomic_fetch_add(&d->tries, n);
	v = n ? sendmmsg(d->tx, mm, n, MSG_DONTWAIT) : 0;
	if (v > 0)
		atomic_fetch_add(&d->sent, v);
}

struct h_thread {
	struct h_dir *d;
	pthread_t th;
};

/* Blocking and nonblocking sends, and sendmmsg(), until told to stop. */
static void *h_send_fn(void *arg)
{
	struct h_dir *d = ((struct h_thread *)arg)->d;
	struct rng r;

	rng_new(&r);
	while (!atomic_load(&d->hp->stop_send) && !atomic_load(d->tx_closed) &&
	       atomic_load(&d->next_id) < H_SENDER_IDS) {
		switch (rng_below(&r, 4)) {
		case 0: case 1:
			h_send_one(d, &r, 0, H_SENDER_IDS);
			break;
		case 2:
			h_send_one(d, &r, MSG_DONTWAIT, H_SENDER_IDS);
			break;
		default:
			h_sendmmsg(d, &r);
			break;
		}
		if (!rng_below(&r, 8))
			usleep(100);
	}
	return NULL;
}

/* Some record sealed with one of d's epochs, delivered as it is? */
static int h_raw(struct h_dir *d, const uint8_t *b, ssize_t n)
{
	static __thread uint8_t pt[DTLS_MAX_PLAINTEXT + 64];
	int top = atomic_load(&d->rx_top);
	struct rec13 rr;

	for (int i = 0; i <= top + 1 && i < H_EPOCHS; i++)
		if (ref13_open(&d->k[i], b, n, 0, &rr, pt) > 0)
			return 1;
	return 0;
}

/* One read: an intact payload of this direction, new; with @ri, its record info. */
static void h_account(struct h_dir *d, const uint8_t *b, ssize_t n,
		      const struct dtls_record_info *ri)
{
	long id = payload_check(b, n);
	uint64_t epoch;

	if (id < 0) {
		atomic_fetch_add(h_raw(d, b, n) ? &d->raw : &d->corrupt, 1);
		return;
	}
	if ((id >> 24) != d->tag || (id & 0xffffff) >= H_IDS) {
		atomic_fetch_add(&d->corrupt, 1);	/* not this direction's */
		return;
	}
	if (atomic_fetch_add(&d->seen[id & 0xffffff], 1))
		atomic_fetch_add(&d->dup, 1);
	else
		atomic_fetch_add(&d->got, 1);
	if (!ri)
		return;
	/* an epoch the receiver had installed, sealed by the peer */
	epoch = ri->rec_num >> 48;
	if (ri->content_type != DTLS_RECORD_TYPE_APPLICATION_DATA ||
	    !(ri->flags & DTLS_RECORD_F_PROTECTED) || epoch < EPOCH13 ||
	    epoch > EPOCH13 + (uint64_t)atomic_load(&d->rx_top))
		atomic_fetch_add(&d->badinfo, 1);
}

/* recvmsg() with the record info, @flags as recvmsg() takes them. */
static void h_recvmsg(struct h_dir *d, int flags)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) + 64];
	} cb;
	uint8_t buf[2048];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	struct dtls_record_info ri, *rip = NULL;
	struct cmsghdr *cm;
	ssize_t n = recvmsg(d->rx, &msg, flags);

	if (n <= 0)
		return;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_DTLS && cm->cmsg_type == DTLS_GET_RECORD_TYPE) {
			memcpy(&ri, CMSG_DATA(cm), sizeof(ri));
			rip = &ri;
		}
	if (!rip)
		atomic_fetch_add(&d->badinfo, 1);
	h_account(d, buf, n, rip);
}

static void h_recv(struct h_dir *d, int flags)
{
	uint8_t buf[2048];
	ssize_t n = recv(d->rx, buf, sizeof(buf), flags);

	if (n > 0)
		h_account(d, buf, n, NULL);
}

static void h_recvmmsg(struct h_dir *d)
{
	static __thread uint8_t mb[4][2048];
	struct mmsghdr mm[4];
	struct iovec mi[4];
	int got;

	mmsg_init(mm, mi, 4);
	for (int i = 0; i < 4; i++) {
		mi[i].iov_base = mb[i];
		mi[i].iov_len = sizeof(mb[i]);
	}
	got = recvmmsg(d->rx, mm, 4, MSG_DONTWAIT, NULL);
	for (int i = 0; i < got; i++)
		h_account(d, mb[i], mm[i].msg_len, NULL);
}

/* Blocking (SO_RCVTIMEO) and nonblocking reads, recvmmsg(), poll(). */
static void *h_recv_fn(void *arg)
{
	struct h_dir *d = ((struct h_thread *)arg)->d;
	struct pollfd pf = { .fd = d->rx, .events = POLLIN };
	struct rng r;

	rng_new(&r);
	while (!atomic_load(&d->hp->stop_rest) && !atomic_load(d->rx_closed)) {
		switch (rng_below(&r, 5)) {
		case 0:
			h_recvmsg(d, 0);
			break;
		case 1:
			h_recv(d, MSG_DONTWAIT);
			break;
		case 2:
			h_recvmmsg(d);
			break;
		case 3:
			if (poll(&pf, 1, 10) == 1)
				h_recvmsg(d, MSG_DONTWAIT);
			break;
		default:
			h_recv(d, 0);
			break;
		}
	}
	return NULL;
}

/*
 * getsockopt DTLS_TX or DTLS_RX of @d's socket @fd: the epoch (index) it
 * is in, whose keys it must return; -1 if the call failed (errno), -2 if
 * the answer is wrong (reported).
 */
static int h_get_epoch(struct h_dir *d, int fd, int opt)
{
	uint8_t b[128];
	socklen_t l = sizeof(b);
	struct cinfo ci;
	int e;

	if (getsockopt(fd, SOL_DTLS, opt, b, &l))
		return -1;
	e = l > 8 ? (int)get_be(b + l - 8, 2) - EPOCH13 : -1;
	if (e < 0 || e >= H_EPOCHS) {
		h_fail(d->hp->sum, "getsockopt(%s) %s: %u bytes, epoch %d", opt == DTLS_TX ?
		       "DTLS_TX" : "DTLS_RX", d->hp->s->name, l, e + EPOCH13);
		return -2;
	}
	cinfo13_build(&ci, &d->k[e], EPOCH13 + e, 0);
	if (l != ci.len || memcmp(b, ci.b, l - 8)) {
		h_fail(d->hp->sum, "getsockopt(%s) %s: not epoch %d's keys", opt == DTLS_TX ?
		       "DTLS_TX" : "DTLS_RX", d->hp->s->name, e + EPOCH13);
		return -2;
	}
	return e;
}

/* Wait until d's receiver is in epoch @i (a record of it arrived): 0 if so. */
static int h_wait_rx(struct h_dir *d, int i)
{
	uint64_t until = now_ms() + 5000;
	int e;

	for (;;) {
		e = h_get_epoch(d, d->rx, DTLS_RX);
		if (e == i)
			return 0;
		if (e == -1 && !h_closed(d->rx_closed))
			h_fail(d->hp->sum, "getsockopt(DTLS_RX): %s", strerror(errno));
		if (e > i)
			h_fail(d->hp->sum, "receiver in epoch %d before it was sent",
			       e + EPOCH13);
		if (e < 0 || e > i || atomic_load(d->tx_closed) ||
		    atomic_load(&d->hp->stop_upd))
			return -1;
		if (now_ms() > until) {
			h_fail(d->hp->sum, "%s: receiver still in epoch %d 5 s after the switch to %d under traffic",
			       d->hp->s->name, e + EPOCH13, i + EPOCH13);
			return -1;
		}
		usleep(200);
	}
}

/* Install epoch @i of @d on @fd: 0, or -1 (reported unless the test closed fd). */
static int h_install(struct h_dir *d, int fd, int dir, int i, atomic_int *closed)
{
	if (!dtls13_install(fd, dir, &d->k[i], EPOCH13 + i, 0))
		return 0;
	if (!h_closed(closed))
		h_fail(d->hp->sum, "%s %s epoch %d: %s", dir == DTLS_TX ? "DTLS_TX" : "DTLS_RX",
		       d->hp->s->name, EPOCH13 + i, strerror(errno));
	return -1;
}

/*
 * An install the documentation refuses with @want (or @want2, where it
 * reads either way): 0 if refused so.
 */
static int h_refused(struct h_dir *d, int fd, int dir, const struct dkey13 *k, int epoch,
		     int want, int want2, atomic_int *closed, const char *what)
{
	int rc = dtls13_install(fd, dir, k, epoch, 0);

	if (rc && (errno == want || errno == want2 || h_closed(closed))) {
		d->refused++;
		return 0;
	}
	h_fail(d->hp->sum, "%s %s: %s, not %s", what, d->hp->s->name,
	       rc ? strerror(errno) : "accepted", strerror(want));
	return -1;
}

/*
 * Installs the documentation refuses, now that the receiver is in epoch
 * @i and the sender too: RX two ahead, RX of another suite, TX two ahead,
 * TX the current epoch again (EINVAL: only the next epoch of the same
 * suite is taken).  RX of the current or the previous epoch again: not
 * the next epoch (EINVAL), and a second DTLS_RX of an epoch (EBUSY); the
 * kernel answers EINVAL for the current one, EBUSY for the previous.
 */
static int h_bad_installs(struct h_dir *d, int i, struct rng *r)
{
	const struct cdesc13 *o = &cdescs13[(d->hp->s - cdescs13 + 1) % N_CDESCS13];
	struct dkey13 other;

	switch (rng_below(r, 8)) {
	case 0:
		if (i + 2 >= H_EPOCHS)
			return 0;
		return h_refused(d, d->rx, DTLS_RX, &d->k[i + 2], EPOCH13 + i + 2, EINVAL,
				 EINVAL, d->rx_closed, "DTLS_RX two epochs ahead");
	case 1:
		if (!i)		/* the previous epoch's empty place: accepted */
			return 0;
		return h_refused(d, d->rx, DTLS_RX, &d->k[i - 1], EPOCH13 + i - 1, EBUSY,
				 EINVAL, d->rx_closed, "DTLS_RX of the previous epoch again");
	case 2:
		if (dkey13_derive(&other, o, "stress13-other", EPOCH13 + i + 1))
			return 0;
		return h_refused(d, d->rx, DTLS_RX, &other, EPOCH13 + i + 1, EINVAL,
				 EINVAL, d->rx_closed, "DTLS_RX of another suite");
	case 3:
		if (i + 2 >= H_EPOCHS)
			return 0;
		return h_refused(d, d->tx, DTLS_TX, &d->k[i + 2], EPOCH13 + i + 2, EINVAL,
				 EINVAL, d->tx_closed, "DTLS_TX two epochs ahead");
	case 4:
		return h_refused(d, d->tx, DTLS_TX, &d->k[i], EPOCH13 + i, EINVAL,
				 EINVAL, d->tx_closed, "DTLS_TX of the current epoch");
	case 5:
		return h_refused(d, d->rx, DTLS_RX, &d->k[i], EPOCH13 + i, EINVAL, EBUSY,
				 d->rx_closed, "DTLS_RX of the current epoch again");
	}
	return 0;
}

/*
 * Key updates of one direction, RFC 9147's way with at most one
 * outstanding: once the receiver is in epoch i, it gets epoch i + 1
 * (a second time: EBUSY), then the sender switches to it and sends a
 * record in it; over and over, while the senders and readers run.
 */
static void *h_update_fn(void *arg)
{
	struct h_dir *d = ((struct h_thread *)arg)->d;
	struct rng r;
	int i = 0;

	rng_new(&r);
	while (!atomic_load(&d->hp->stop_upd) && i + 1 < H_EPOCHS) {
		if (h_wait_rx(d, i) || h_bad_installs(d, i, &r) ||
		    h_install(d, d->rx, DTLS_RX, i + 1, d->rx_closed))
			break;
		atomic_store(&d->rx_top, i + 1);
		if (!rng_below(&r, 4) &&
		    h_refused(d, d->rx, DTLS_RX, &d->k[i + 1], EPOCH13 + i + 1, EBUSY,
			      EBUSY, d->rx_closed, "DTLS_RX of the next epoch twice"))
			break;
		/* the peer's records race the switch for a while */
		if (rng_below(&r, 2))
			usleep(rng_below(&r, 2000));
		if (h_install(d, d->tx, DTLS_TX, i + 1, d->tx_closed))
			break;
		i++;
		d->updates++;
		h_send_one(d, &r, 0, H_IDS);
	}
	return NULL;
}

/*
 * Reads DTLS_TX, DTLS_RX and DTLS_KEY_USAGE of both sockets while the
 * updates run: each epoch read is the one of its keys, never goes back,
 * never is ahead of what was installed; no record counts as forged; no
 * more records protected than were handed to send calls.
 */
static void h_probe_dir(struct h_dir *d, int *last_tx, int *last_rx)
{
	int e, top;

	e = h_get_epoch(d, d->tx, DTLS_TX);
	top = atomic_load(&d->rx_top);
	if (e == -1 && !h_closed(d->tx_closed))
		h_fail(d->hp->sum, "getsockopt(DTLS_TX): %s", strerror(errno));
	else if (e >= 0 && (e < *last_tx || e > top))
		h_fail(d->hp->sum, "DTLS_TX reads epoch %d after %d, %d installed on the receiver",
		       e + EPOCH13, *last_tx + EPOCH13, top + EPOCH13);
	if (e >= 0)
		*last_tx = e;
	e = h_get_epoch(d, d->rx, DTLS_RX);
	top = atomic_load(&d->rx_top);
	if (e == -1 && !h_closed(d->rx_closed))
		h_fail(d->hp->sum, "getsockopt(DTLS_RX): %s", strerror(errno));
	else if (e >= 0 && (e < *last_rx || e > top))
		h_fail(d->hp->sum, "DTLS_RX reads epoch %d after %d, %d installed",
		       e + EPOCH13, *last_rx + EPOCH13, top + EPOCH13);
	if (e >= 0)
		*last_rx = e;
}

/* DTLS_KEY_USAGE of @fd, which sends @d's records. */
static void h_probe_usage(struct h_dir *d, int fd, atomic_int *closed)
{
	struct dtls_key_usage u;
	socklen_t l = sizeof(u);
	long tries;

	if (getsockopt(fd, SOL_DTLS, DTLS_KEY_USAGE, &u, &l)) {
		if (!h_closed(closed))
			h_fail(d->hp->sum, "DTLS_KEY_USAGE: %s", strerror(errno));
		return;
	}
	tries = atomic_load(&d->tries);
	if (l != sizeof(u) || u.rx_forged || u.tx_records > (uint64_t)tries)
		h_fail(d->hp->sum, "DTLS_KEY_USAGE: %u bytes, %llu records protected (%ld handed to send calls), %llu forged",
		       l, (unsigned long long)u.tx_records, tries,
		       (unsigned long long)u.rx_forged);
}

static void *h_probe_fn(void *arg)
{
	struct h_pair *p = arg;
	int last_tx[2] = { 0 }, last_rx[2] = { 0 };
	struct rng r;

	rng_new(&r);
	while (!atomic_load(&p->stop_rest)) {
		for (int j = 0; j < 2; j++)
			h_probe_dir(&p->d[j], &last_tx[j], &last_rx[j]);
		h_probe_usage(&p->d[0], p->a, &p->a_closed);
		h_probe_usage(&p->d[1], p->b, &p->b_closed);
		p->reads += 6;
		usleep(rng_below(&r, 500));
	}
	return NULL;
}

/* One direction's keys, epochs EPOCH13 on, and its socket pair: 0 if set up. */
static int h_dir_init(struct h_pair *p, int j, const char *label)
{
	struct h_dir *d = &p->d[j];

	d->hp = p;
	d->tag = j + 1;
	d->tx = j ? p->b : p->a;
	d->rx = j ? p->a : p->b;
	d->tx_closed = j ? &p->b_closed : &p->a_closed;
	d->rx_closed = j ? &p->a_closed : &p->b_closed;
	d->k = calloc(H_EPOCHS, sizeof(*d->k));
	d->seen = calloc(H_IDS, 1);
	if (!d->k || !d->seen || dkey13_derive(&d->k[0], p->s, label, EPOCH13))
		return -1;
	for (int i = 1; i < H_EPOCHS; i++) {
		d->k[i] = d->k[i - 1];
		if (ref13_update(&d->k[i]))
			return -1;
	}
	return 0;
}

/* A pair of suite @s, both ends offloaded both ways in epoch 3: 0 if so. */
static int h_pair_open(struct h_pair *p, const struct cdesc13 *s, int kind, struct h_sum *sum)
{
	memset(p, 0, sizeof(*p));
	p->a = p->b = -1;
	p->sum = sum;
	p->s = s;
	p->kind = kind;
	if (udp_pair(kind, peer_kind(kind), &p->a, &p->b) ||
	    h_dir_init(p, 0, "stress13-a-to-b") || h_dir_init(p, 1, "stress13-b-to-a") ||
	    dtls13_install(p->a, DTLS_TX, &p->d[0].k[0], EPOCH13, 0) ||
	    dtls13_install(p->b, DTLS_RX, &p->d[0].k[0], EPOCH13, 0) ||
	    dtls13_install(p->b, DTLS_TX, &p->d[1].k[0], EPOCH13, 0) ||
	    dtls13_install(p->a, DTLS_RX, &p->d[1].k[0], EPOCH13, 0)) {
		h_fail(sum, "pair setup %s/%s: %s", s->name, kindname[kind], strerror(errno));
		for (int j = 0; j < 2; j++) {
			free(p->d[j].k);
			free((void *)p->d[j].seen);
		}
		if (p->a >= 0)
			close(p->a);
		if (p->b >= 0)
			close(p->b);
		return -1;
	}
	set_timeouts(p->a, 20);
	set_timeouts(p->b, 20);
	set_rcvbuf(p->a, 4 << 20);
	set_rcvbuf(p->b, 4 << 20);
	return 0;
}

/* Records that may go missing: why, as the kernel, UDP and the backlog count it. */
struct h_counters {
	long long unknown, dropped, rcvbuf, softnet, bad;
};

/* Packets the receive backlogs dropped (/proc/net/softnet_stat, column 2). */
static long long softnet_drops(void)
{
	FILE *f = fopen("/proc/net/softnet_stat", "r");
	unsigned int processed, dropped;
	long long sum = 0;
	char line[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %x", &processed, &dropped) == 2)
			sum += dropped;
	fclose(f);
	return sum;
}

static void h_counters_get(struct h_counters *c)
{
	c->unknown = dstat("DtlsRxUnknownEpoch");
	c->dropped = dstat("DtlsRxDropped");
	c->rcvbuf = udp_rcvbuf_errors();
	c->softnet = softnet_drops();
	/* none of these may move: nothing is forged, replayed or malformed */
	c->bad = dstat("DtlsRxDecryptError") + dstat("DtlsRxReplay") +
		 dstat("DtlsRxMalformed") + dstat("DtlsRxBadVersion") +
		 dstat("DtlsRxKeyExpired") + dstat("DtlsTxKeyExpired");
}

/* The pair's threads: per direction senders, readers, an updater; a prober. */
struct h_threads {
	struct h_thread snd[2][H_SENDERS], rcv[2][H_RECEIVERS], upd[2];
	pthread_t probe;
};

static void h_start(struct h_pair *p, struct h_threads *t)
{
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < H_SENDERS; i++) {
			t->snd[j][i].d = &p->d[j];
			pthread_create(&t->snd[j][i].th, NULL, h_send_fn, &t->snd[j][i]);
		}
		for (int i = 0; i < H_RECEIVERS; i++) {
			t->rcv[j][i].d = &p->d[j];
			pthread_create(&t->rcv[j][i].th, NULL, h_recv_fn, &t->rcv[j][i]);
		}
		t->upd[j].d = &p->d[j];
		pthread_create(&t->upd[j].th, NULL, h_update_fn, &t->upd[j]);
	}
	pthread_create(&t->probe, NULL, h_probe_fn, p);
}

/* Senders stop first, then the updaters. */
static void h_stop_senders(struct h_pair *p, struct h_threads *t)
{
	atomic_store(&p->stop_send, 1);
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < H_SENDERS; i++)
			pthread_join(t->snd[j][i].th, NULL);
	atomic_store(&p->stop_upd, 1);
	for (int j = 0; j < 2; j++)
		pthread_join(t->upd[j].th, NULL);
}

static void h_stop_rest(struct h_pair *p, struct h_threads *t)
{
	atomic_store(&p->stop_rest, 1);
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < H_RECEIVERS; i++)
			pthread_join(t->rcv[j][i].th, NULL);
	pthread_join(t->probe, NULL);
}

static long h_got(struct h_pair *p, int np)
{
	long n = 0;

	for (int i = 0; i < np; i++)
		n += atomic_load(&p[i].d[0].got) + atomic_load(&p[i].d[1].got);
	return n;
}

/* Until nothing more is delivered for 300 ms (at most 5 s). */
static void h_settle(struct h_pair *p, int np)
{
	uint64_t end = now_ms() + 5000, quiet = now_ms();
	long last = h_got(p, np), n;

	while (now_ms() < end && now_ms() - quiet < 300) {
		usleep(20000);
		n = h_got(p, np);
		if (n != last)
			quiet = now_ms();
		last = n;
	}
}

/* What is left on d's receiver, read in the main thread. */
static void h_drain(struct h_dir *d)
{
	uint8_t buf[2048];
	ssize_t n;

	while ((n = recv(d->rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		h_account(d, buf, n, NULL);
}

/*
 * A direction's records after its round: each delivered intact, once,
 * never raw, with its record info right.  Returns the records missing.
 */
static long h_dir_check(struct h_dir *d, struct h_sum *s)
{
	long sent = atomic_load(&d->sent), got = atomic_load(&d->got);

	if (d->dup || d->raw || d->corrupt || d->badinfo || got > sent)
		h_fail(s, "%s/%s: sent %ld, delivered %ld: %ld twice, %ld raw, %ld corrupt, %ld with wrong record info",
		       d->hp->s->name, kindname[d->hp->kind], sent, got,
		       (long)d->dup, (long)d->raw, (long)d->corrupt, (long)d->badinfo);
	s->updates += d->updates;
	s->refused += d->refused;
	s->sent += sent;
	s->got += got;
	free(d->k);
	free((void *)d->seen);
	return sent - got;
}

/*
 * Records that went missing must be counted: of an epoch the receiver no
 * longer holds (DtlsRxUnknownEpoch), or for lack of room (DtlsRxDropped,
 * UDP's RcvbufErrors, the backlog's drops).
 */
static void h_loss_check(long lost, const struct h_counters *c0, struct h_sum *s)
{
	struct h_counters c;

	h_counters_get(&c);
	c.unknown -= c0->unknown;
	c.dropped -= c0->dropped;
	c.rcvbuf -= c0->rcvbuf;
	c.softnet -= c0->softnet;
	s->lost += lost;
	s->unknown += c.unknown;
	s->dropped += c.dropped;
	s->rcvbuf += c.rcvbuf;
	s->softnet += c.softnet;
	if (lost > c.unknown + c.dropped + c.rcvbuf + c.softnet)
		h_fail(s, "round %d: %ld records not delivered, counted: DtlsRxUnknownEpoch +%lld, DtlsRxDropped +%lld, RcvbufErrors +%lld, backlog drops +%lld",
		       s->rounds + 1, lost, c.unknown, c.dropped, c.rcvbuf, c.softnet);
	if (lost || c.unknown || c.dropped || c.rcvbuf || c.softnet)
		printf("# h: round %d: %ld records missing; DtlsRxUnknownEpoch +%lld, DtlsRxDropped +%lld, RcvbufErrors +%lld, backlog drops +%lld\n",
		       s->rounds + 1, lost, c.unknown, c.dropped, c.rcvbuf, c.softnet);
}

/*
 * One round of H_PAIRS pairs (the suites in turn, random families) for
 * about @len ms; with @closing, each socket is closed at a random moment
 * under the updates and only what arrived is checked, else every record
 * sent is accounted for.
 */
static void h_round(struct rng *r, int closing, uint64_t len, struct h_sum *s)
{
	struct h_pair p[H_PAIRS];
	struct h_threads t[H_PAIRS];
	struct closer cl[H_PAIRS];
	struct h_counters c0;
	int np = 0;
	long lost = 0;

	h_counters_get(&c0);
	for (int i = 0; i < H_PAIRS; i++) {
		const struct cdesc13 *su = &cdescs13[(s->pairs + np) % N_CDESCS13];

		if (h_pair_open(&p[np], su, kinds3[rng_below(r, 3)], s))
			break;
		np++;
	}
	for (int i = 0; i < np; i++) {
		h_start(&p[i], &t[i]);
		/* a and b closed under the updates */
		cl[i] = (struct closer){
			.fd = { p[i].a, p[i].b },
			.when = { now_ms() + rng_below(r, len), now_ms() + rng_below(r, len) },
			.closing = { &p[i].a_closed, &p[i].b_closed },
		};
		if (closing)
			pthread_create(&cl[i].th, NULL, closer_fn, &cl[i]);
	}
	usleep(len * 1000);
	for (int i = 0; i < np; i++) {
		if (closing)
			pthread_join(cl[i].th, NULL);
		h_stop_senders(&p[i], &t[i]);
	}
	h_settle(p, np);
	for (int i = 0; i < np; i++) {
		h_stop_rest(&p[i], &t[i]);
		for (int j = 0; j < 2 && !closing; j++)
			h_drain(&p[i].d[j]);
		for (int j = 0; j < 2; j++)
			lost += h_dir_check(&p[i].d[j], s);
		s->reads += p[i].reads;
		if (!closing) {
			close(p[i].a);
			close(p[i].b);
		}
	}
	if (!closing)
		h_loss_check(lost, &c0, s);
	s->pairs += np;
	s->rounds++;
	s->closing += closing;
}

static void scenario_h(void)
{
	const char *name = "h: DTLS 1.3 key updates racing traffic, state reads and close";
	struct h_sum s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct h_counters c0, c;
	struct base b0;
	struct rng r;
	uint64_t end;

	scen_begin(name, (int)scen_secs * 2 + 90);
	rng_new(&r);
	base_get(&b0);
	h_counters_get(&c0);
	end = now_ms() + (uint64_t)(scen_secs * 1000);
	/* every suite in a round that accounts for every record */
	while ((now_ms() < end || s.pairs < (long)(2 * N_CDESCS13)) && !s.fails)
		h_round(&r, s.rounds % 3 == 2, 300 + rng_below(&r, 700), &s);
	h_counters_get(&c);
	if (c.bad != c0.bad)
		h_fail(&s, "%lld records forged, replayed, malformed or past a key limit (DtlsRxDecryptError, DtlsRxReplay, DtlsRxMalformed, DtlsRxBadVersion, Dtls*KeyExpired)",
		       c.bad - c0.bad);
	if (base_wait(&b0, 5000, s.why + strlen(s.why), sizeof(s.why) - strlen(s.why)))
		s.fails++;
	alarm(0);
	tap(!s.fails, name, "%d rounds (%d closing), %ld socket pairs, %ld key updates, %ld installs refused as documented, %ld state reads, %ld records sent, %ld delivered; %ld missing in %d accounted rounds, DtlsRxUnknownEpoch +%lld, DtlsRxDropped +%lld, RcvbufErrors +%lld, backlog drops +%lld%s%s",
	    s.rounds, s.closing, s.pairs, s.updates, s.refused, s.reads, s.sent, s.got,
	    s.lost, s.rounds - s.closing, s.unknown, s.dropped, s.rcvbuf, s.softnet,
	    *s.why ? "; " : "", s.why);
}

/* ---------------------------------------------------------------------- */
/* rmmod mode                                                              */

struct f_traffic {
	struct opair p;
	atomic_int *stop;
	long sent, got, bad;
	pthread_t th;
};

static void *f_traffic_fn(void *arg)
{
	struct f_traffic *t = arg;
	uint8_t buf[2048];
	uint32_t id = 0;

	while (!atomic_load(t->stop)) {
		size_t l = payload_make(buf, id, 12 + id % 1000);

		id++;
		ssize_t n;

		if (send(t->p.a, buf, l, 0) == (ssize_t)l)
			t->sent++;
		while ((n = recv(t->p.b, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			if (payload_check(buf, n) < 0)
				t->bad++;
			else
				t->got++;
		}
		usleep(500);
	}
	return NULL;
}

static int try_unload(void)
{
	return syscall(SYS_delete_module, "dtls", O_NONBLOCK) ? errno : 0;
}

enum { RM_PAIRS = 4 };

/* The unload attempts made while traffic runs. */
struct rm_tries {
	int attempts, refused, wrong, last, unloaded;
};

/* Try to unload every 50 ms for the scenario time, once through rmmod(8). */
static void rm_try_unload(struct rm_tries *u)
{
	uint64_t end = now_ms() + (uint64_t)(scen_secs * 1000);

	while (now_ms() < end) {
		int e = try_unload();

		u->attempts++;
		if (!e) {
			u->unloaded = 1;
			break;
		}
		if (e == EBUSY || e == EWOULDBLOCK) {
			u->refused++;
		} else {
			u->wrong++;
			u->last = e;
		}
		if (u->attempts == 1 && system("rmmod dtls 2>/dev/null") == 0) {
			u->unloaded = 1;
			break;
		}
		usleep(50000);
	}
}

/*
 * Tests 1 and 2: unloading is refused while offloaded pairs carry traffic,
 * and the traffic stays intact.  Returns 1 if the module was unloaded all
 * the same, -1 if the pairs could not be set up.
 */
static int rm_under_traffic(struct f_traffic *t)
{
	atomic_int stop = 0;
	struct rm_tries u = { 0 };
	long sent = 0, got = 0, bad = 0;

	for (int i = 0; i < RM_PAIRS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].stop = &stop;
		if (opair_make(&t[i].p, &cdescs[i % N_CDESCS], kinds3[i % 3], OP_ALL)) {
			printf("# setup: %s\n", strerror(errno));
			return -1;
		}
		pthread_create(&t[i].th, NULL, f_traffic_fn, &t[i]);
	}
	rm_try_unload(&u);
	atomic_store(&stop, 1);
	for (int i = 0; i < RM_PAIRS; i++) {
		pthread_join(t[i].th, NULL);
		sent += t[i].sent;
		got += t[i].got;
		bad += t[i].bad;
	}
	alarm(0);
	tap(!u.unloaded && !u.wrong && u.refused == u.attempts,
	    "rmmod refused while offloaded sockets carry traffic",
	    "%d attempts, %d refused (EBUSY/EWOULDBLOCK)%s%s%s", u.attempts, u.refused,
	    u.unloaded ? ", MODULE UNLOADED WITH SOCKETS OPEN" : "",
	    u.wrong ? ", unexpected error: " : "", u.wrong ? strerror(u.last) : "");
	tap(!u.unloaded && !bad && got > 0, "traffic intact during unload attempts",
	    "%ld records sent, %ld received intact, %ld corrupt", sent, got, bad);
	return u.unloaded;
}

/* Test 3: with every socket closed, unloading succeeds within 5 s.  1 if unloaded. */
static int rm_after_close(struct f_traffic *t, int unloaded)
{
	uint64_t t0;

	scen_begin("rmmod succeeds after every socket is closed", 30);
	for (int i = 0; i < RM_PAIRS; i++) {
		close(t[i].p.a);
		close(t[i].p.b);
	}
	t0 = now_ms();
	while (!unloaded && now_ms() - t0 < 5000) {
		if (!try_unload())
			unloaded = 1;
		else
			usleep(50000);
	}
	alarm(0);
	tap(unloaded && access(DSTAT_FILE, F_OK) != 0, "rmmod succeeds after every socket is closed",
	    "%s after %llu ms; %s %s", unloaded ? "unloaded" : "STILL LOADED",
	    (unsigned long long)(now_ms() - t0), DSTAT_FILE,
	    access(DSTAT_FILE, F_OK) ? "gone" : "still present");
	return unloaded;
}

/* Test 4: @ko loads again (not tried if it was not unloaded). */
static void rm_insmod_again(const char *ko, int unloaded)
{
	char cmd[1024];
	int r;

	scen_begin("insmod again", 30);
	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	r = unloaded ? system(cmd) : 0;
	alarm(0);
	tap(unloaded && r == 0 && dstat("DtlsCurrTxSw") == 0, "insmod again",
	    "%s: exit %d, DtlsCurrTxSw %lld", cmd, r, dstat("DtlsCurrTxSw"));
}

/* Test 5: one record crosses a new offloaded pair. */
static void rm_pair_works(void)
{
	struct opair p;
	uint8_t buf[256];
	size_t l;
	int ok;

	scen_begin("offloaded pair works after reload", 30);
	l = payload_make(buf, 4242, 100);
	ok = !opair_make(&p, &cdescs[0], SK_IPV6, OP_ALL);
	ok = ok && send(p.a, buf, l, 0) == (ssize_t)l && wait_readable(p.b, 2000) == 1 &&
	     recv(p.b, buf, sizeof(buf), 0) == (ssize_t)l && payload_check(buf, l) == 4242;
	close(p.a);
	close(p.b);
	alarm(0);
	tap(ok, "offloaded pair works after reload", "%s", ok ? "one record across" : "failed");
}

/* rmmod mode: five tests, in TAP. */
static int do_rmmod(const char *ko)
{
	struct f_traffic t[RM_PAIRS];
	int unloaded;

	plan_total = 5;
	printf("TAP version 13\n1..%d\n", plan_total);
	scen_begin("rmmod: refused while offloaded sockets carry traffic", 60);
	if (dstat("DtlsCurrTxSw") < 0) {
		printf("# dtls.ko not loaded\n");
		for (int i = 0; i < plan_total; i++)
			tap(0, "rmmod mode setup", "module not loaded");
	} else {
		unloaded = rm_under_traffic(t);
		if (unloaded < 0)
			return 1;
		unloaded = rm_after_close(t, unloaded);
		rm_insmod_again(ko, unloaded);
		rm_pair_works();
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}

/* ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: dtls_stress [-t SECONDS] [-s SEED] [a|b|c|d|e|f|g|h]...\n"
		"       dtls_stress [-t SECONDS] rmmod MODULE.ko\n");
	exit(2);
}

/* -t and -s; a seed from the clock if there is none.  Returns optind. */
static int parse_opts(int argc, char **argv)
{
	int opt, have_seed = 0;

	while ((opt = getopt(argc, argv, "t:s:h")) != -1) {
		switch (opt) {
		case 't':
			scen_secs = atof(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = 1;
			break;
		default:
			usage();
		}
	}
	if (!have_seed)
		seed = seed_from_clock();
	return optind;
}

/* The scenarios named in @argv (all if none) into @want; how many. */
static int pick_scenarios(int argc, char **argv, int *want)
{
	int any = 0, n = 0;

	for (int i = 0; i < argc; i++) {
		if (strlen(argv[i]) != 1 || argv[i][0] < 'a' || argv[i][0] > 'h')
			usage();
		want[argv[i][0] - 'a'] = 1;
		any = 1;
	}
	for (int i = 0; i < N_SCENARIOS; i++) {
		if (!any)
			want[i] = 1;
		n += want[i];
	}
	return n;
}

/*
 * One pair of every cipher, DTLS 1.2 and 1.3: its crypto modules load
 * before the clocks start.
 */
static void warm_up(void)
{
	struct base b0;
	char why[512];

	base_get(&b0);
	for (size_t i = 0; i < N_CDESCS; i++) {
		struct opair p;

		if (!opair_make(&p, &cdescs[i], SK_IPV4, OP_ALL)) {
			close(p.a);
			close(p.b);
		} else {
			printf("# warm-up %s: %s\n", cdescs[i].name, strerror(errno));
		}
	}
	for (size_t i = 0; i < N_CDESCS13; i++) {
		struct opair p;

		if (!opair_make13(&p, &cdescs13[i], SK_IPV4)) {
			close(p.a);
			close(p.b);
		} else {
			printf("# warm-up %s (1.3): %s\n", cdescs13[i].name, strerror(errno));
		}
	}
	if (base_wait(&b0, 5000, why, sizeof(why)))
		printf("# after the warm-up: %s\n", why);
}

int main(int argc, char **argv)
{
	static void (*const fns[N_SCENARIOS])(void) = {
		scenario_a, scenario_b, scenario_c, scenario_d, scenario_e,
		scenario_f, scenario_g, scenario_h,
	};
	int want[N_SCENARIOS] = { 0 }, first;
	uint64_t t0;

	first = parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);

	if (first < argc && !strcmp(argv[first], "rmmod")) {
		if (first + 1 >= argc)
			usage();
		return do_rmmod(argv[first + 1]);
	}
	plan_total = pick_scenarios(argc - first, argv + first, want);
	printf("TAP version 13\n1..%d\n", plan_total);
	printf("# seed %llu, %g s per scenario\n", (unsigned long long)seed, scen_secs);
	if (dstat("DtlsCurrTxSw") < 0 || modref() < 0) {
		printf("# %s or /sys/module/dtls missing: is dtls.ko loaded?\n", DSTAT_FILE);
		for (int i = 0; i < plan_total; i++)
			tap(0, "setup", "module not loaded");
		printf("%d passed, %d failed\n", npass, nfail);
		return 1;
	}
	warm_up();
	t0 = now_ms();
	for (int i = 0; i < N_SCENARIOS; i++) {
		uint64_t s = now_ms();

		if (!want[i])
			continue;
		fns[i]();
		printf("# scenario %c took %.1fs\n", 'a' + i, (now_ms() - s) / 1000.0);
	}
	printf("# total %.1fs, seed %llu\n", (now_ms() - t0) / 1000.0, (unsigned long long)seed);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
