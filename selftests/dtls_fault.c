// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures at every entry point of the kernel DTLS record layer,
 * one at a time, the way syzkaller injects them (fail-nth).
 *
 *   dtls_fault [-n] [-v] [-L] [-e NAME] [-x NAME] MODULE.ko
 *
 * For each entry point (every SOL_DTLS option, set and get, DTLS_RX with
 * datagrams queued, UDP_GRO on a DTLS_RX socket, the kinds of send, splice
 * and sendfile, the kinds of recv, poll and FIONREAD under UDP_GRO, close,
 * module load and unload; then the same on DTLS 1.3 sockets, named
 * "DTLS 1.3: ...", with DTLS 1.3's own: the key updates, that is DTLS_TX
 * and DTLS_RX of the next epoch, DTLS_KEY_LIMITS, DTLS_KEY_USAGE, ack
 * records, close after key updates; then, named "CID: ..." and "DTLS 1.3
 * CID: ...", with connection IDs of 1 and 255 bytes: DTLS_TX_CID and
 * DTLS_RX_CID set as the first option and read back, keys installed after
 * them, records with connection IDs sent, received and queued before
 * DTLS_RX, DTLS 1.3's key updates; then, named "peers...", on an
 * unconnected socket with peers, the peer being one of them: DTLS_PEER_NEW
 * as the first option and as the second peer, DTLS_PEER_TX and
 * DTLS_PEER_RX, DTLS 1.3's next epoch of each, DTLS_PEER_DEL with records
 * queued, DTLS_PEER_INFO, sendto() a peer, send with DTLS_SET_PEER, sendto
 * a peer without TX keys, recv of a peer's records and of one that moved
 * its peer (the float itself happens in softirq), close with two peers
 * and records queued) the preconditions are set up without
 * injection, then n is written to /proc/thread-self/fail-nth right before
 * the one call and read back right after: "0" means that the call's n-th
 * allocation was failed.  n runs 1, 2, 3, ... until the call gets through
 * without a failure, so every allocation the call makes (slab, and page
 * allocations where the kernel fails them silently, see page_alloc_silent
 * below) fails once.  fail-nth fails the calling task's allocations only:
 * what the kernel does in softirq as a datagram arrives (records opened on
 * arrival) is out of its reach.  The peer is userspace, the reference that
 * seals and opens every record with libcrypto: dtls_common.h's for DTLS
 * 1.2, dtls13_ref.h's for DTLS 1.3.  After each call:
 *
 *   - it succeeded, or failed with ENOMEM or ENOBUFS ("Errors" in
 *     Documentation/networking/dtls.rst; ENOBUFS is UDP's own for a
 *     datagram it could not allocate), or with the errno the call gives
 *     without any injection (EIO for a record that needs the type cmsg,
 *     ENOTCONN for DTLS_KEY_LIMITS on a socket without keys);
 *   - a failed DTLS_PEER_* option leaves the peer absent (DTLS_PEER_INFO:
 *     ENOENT) or its keys as they were (records pass up whole without RX
 *     keys, go out as they are without TX keys), a deleted one gone, and
 *     the retry succeeds; records then go both ways with the peer's id;
 *   - the socket is usable or cleanly refused: a failed DTLS_TX or DTLS_RX
 *     leaves a plain UDP socket (the first option) on which the same
 *     option succeeds when retried; a failed key update (DTLS 1.3)
 *     changes nothing: a sends in the epoch it sent in, or receives the
 *     records of its current epoch, and the retry switches: the peer opens
 *     a's next record in the next epoch, or a receives the peer's records
 *     in the next epoch and then a late one of the previous; the usage
 *     options read what was set or counted, getsockopt(DTLS_TX or DTLS_RX)
 *     the keys and the next record number; a failed send sends nothing
 *     and its retry reaches the peer once; the records queued before a
 *     recv, poll or FIONREAD, or before DTLS_RX (of the first epoch or the
 *     next), are all received afterwards, each once, in order, checked by
 *     content and record number; a record that is missing must be counted
 *     as dropped (DtlsRxDropped or the socket's drops: "dropped for lack
 *     of memory" is documented);
 *   - the kernel log has nothing the guest's scanner (tools/vm-run) looks
 *     for: a hit is reported with the entry point and n, the reproducer.
 *
 * Per entry point it prints "# NAME: N injection points, N ok" and one TAP
 * line; DtlsCurrTxSw, DtlsCurrRxSw and the module's reference count must be
 * back where they were after it.  Module load (init_module) and unload
 * (delete_module) go first, the same way; the socket entry points follow,
 * those that crashed a kernel last.  Then a kmemleak scan must report
 * nothing.  Ends with "N passed, N failed".
 *
 * Injection is configured as syzkaller does: failslab and fail_page_alloc
 * with ignore-gfp-wait=N (sleeping allocations too), fail_page_alloc with
 * ignore-gfp-highmem=N and min-order=0, verbose=0 (an injected failure
 * prints nothing), probability 0 so that only fail-nth injects.  The
 * previous settings are restored at exit.
 *
 * Needs root, debugfs, CONFIG_FAULT_INJECTION (FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_DEBUG_FS): the debug kernel of make check-debug.
 * -n runs every entry point once without injection (any kernel, to check
 * the setup code); -e runs only the entry points whose name contains NAME,
 * -x all but those; -v prints every injection; -L injects into module
 * load too (the kernel itself warns there, see run_load()).  The module may be loaded or not; it is left
 * as it was found.
 */
#define _GNU_SOURCE
#include "dtls_common.h"
#include "dtls13_ref.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef UDP_GRO
#define UDP_GRO		104
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO	55
#endif
#define MEMINFO_DROPS	8	/* SK_MEMINFO_DROPS */
#define MEMINFO_VARS	9

#define EPOCH		1
#define EPOCH13		3	/* DTLS 1.3's first application epoch */
#define MAXREC		(DTLS_MAX_PLAINTEXT + 2048)
#define MAX_POINTS	5000	/* a call with more is reported, not run on */
#define NREC_MAX	64

static int tapn, npass, nfail;
static int no_inject, verbose, inject_load;
static const char *only, *skip_name;
static struct base base0;	/* with no DTLS socket of this test open */

static int selected(const char *name)
{
	return (!only || strstr(name, only)) && (!skip_name || !strstr(name, skip_name));
}

/* ---------------------------------------------------------------------- */
/* fail-nth and the debugfs knobs                                         */

static int nth_fd = -1;

static int nth_set(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	if (no_inject)
		return 0;
	return pwrite(nth_fd, b, l, 0) == l ? 0 : -1;
}

/* What is left of n; 0 once the n-th allocation was failed. */
static long nth_get(void)
{
	char b[16];
	ssize_t r;

	if (no_inject)
		return 1;
	r = pread(nth_fd, b, sizeof(b) - 1, 0);
	if (r <= 0)
		return -1;
	b[r] = 0;
	return strtol(b, NULL, 10);
}

#define FI_SLAB	"/sys/kernel/debug/failslab/"
#define FI_PAGE	"/sys/kernel/debug/fail_page_alloc/"

struct knob {
	const char *path;
	const char *val;
	char old[64];
	int saved;
};

static struct knob knobs[] = {
	{ .path = FI_SLAB "ignore-gfp-wait", .val = "N" },
	{ .path = FI_SLAB "verbose", .val = "0" },
	{ .path = FI_SLAB "probability", .val = "0" },
	{ .path = FI_SLAB "interval", .val = "1" },
	{ .path = FI_SLAB "times", .val = "-1" },
	{ .path = FI_PAGE "ignore-gfp-wait", .val = "N" },
	{ .path = FI_PAGE "ignore-gfp-highmem", .val = "N" },
	{ .path = FI_PAGE "min-order", .val = "0" },
	{ .path = FI_PAGE "verbose", .val = "0" },
	{ .path = FI_PAGE "probability", .val = "0" },
	{ .path = FI_PAGE "interval", .val = "1" },
	{ .path = FI_PAGE "times", .val = "-1" },
	/* the module's KUnit suites would run at every load: not here */
	{ .path = "/sys/module/kunit/parameters/filter_glob", .val = "kdtls_fault_runs_none" },
};
#define N_KNOBS (sizeof(knobs) / sizeof(knobs[0]))
#define KNOB_MIN_ORDER 7

static int knobs_set(char *why, size_t wlen)
{
	for (size_t i = 0; i < N_KNOBS; i++) {
		struct knob *k = &knobs[i];
		int opt = !strncmp(k->path, "/sys/module/", 12);

		if (file_read(k->path, k->old, sizeof(k->old))) {
			if (opt)
				continue;	/* no KUnit */
			snprintf(why, wlen, "cannot read %s: %s", k->path, strerror(errno));
			return -1;
		}
		k->old[strcspn(k->old, "\n")] = 0;
		k->saved = 1;
		if (file_write(k->path, k->val)) {
			snprintf(why, wlen, "cannot write %s to %s: %s", k->val, k->path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void knobs_restore(void)
{
	for (size_t i = 0; i < N_KNOBS; i++) {
		struct knob *k = &knobs[i];

		if (!k->saved)
			continue;
		/* a glob never set reads "(null)"; "*.*" is what it means */
		if (!strcmp(k->old, "(null)"))
			strcpy(k->old, "*.*");
		file_write(k->path, k->old);
	}
}

/*
 * Page allocations as injection points too, or slab only.  min-order above
 * any order takes page allocations out without touching the rest.
 */
static void inject_pages(int on)
{
	if (!no_inject)
		file_write(knobs[KNOB_MIN_ORDER].path, on ? "0" : "100");
}

/* ---------------------------------------------------------------------- */
/* Kernel log: what tools/vm-run fails a run for                          */

static int kmsg_fd = -1;
static const char *const klog_bad[] = {
	"WARNING:", "BUG:", "Oops", "KASAN", "UBSAN", "possible circular locking",
	"lockdep", "refcount_t", "kmemleak", "general protection", "Call Trace",
};

static void klog_open(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* New kernel log lines; a hit prints them (the first 60).  1 on a hit. */
static int klog_check(const char *what, unsigned int n)
{
	static char prev[3][256];	/* the lines before a hit say what it is */
	char rec[2048], *msg, *nl;
	int hit = 0, shown = 0, np = 0;
	ssize_t r;

	while (kmsg_fd >= 0) {
		r = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		for (size_t i = 0; !hit && i < sizeof(klog_bad) / sizeof(klog_bad[0]); i++) {
			if (strstr(msg, klog_bad[i])) {
				hit = 1;
				printf("# %s, n=%u: the kernel log says:\n", what, n);
				for (int k = np > 3 ? np - 3 : 0; k < np; k++)
					printf("#   klog: %s\n", prev[k % 3]);
			}
		}
		if (!hit)
			snprintf(prev[np++ % 3], sizeof(prev[0]), "%.200s", msg);
		if (hit && shown++ < 60)
			printf("#   klog: %s\n", msg);
	}
	return hit;
}

/* ---------------------------------------------------------------------- */
/* TAP                                                                     */

static void tap(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tap(int ok, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# %s: %s\n", name, buf);
	printf("%sok %d %s\n", ok ? "" : "not ", ++tapn, name);
	if (ok)
		npass++;
	else
		nfail++;
	fflush(stdout);
}

/* Watchdog: an entry point that hangs is reported and the run ends. */
#define EP_LIMIT_S	900
static int plan_total;
static const char *running;

static void on_alarm(int sig)
{
	char buf[512];
	int n;

	(void)sig;
	nth_set(0);
	knobs_restore();
	n = snprintf(buf, sizeof(buf),
		     "# %s: watchdog: still running after %d s (hang?)\nnot ok %d %s\n",
		     running, EP_LIMIT_S, tapn + 1, running);
	for (int i = tapn + 2; i <= plan_total && n < (int)sizeof(buf) - 64; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "not ok %d not run (watchdog)\n", i);
	n += snprintf(buf + n, sizeof(buf) - n, "%d passed, %d failed\n", npass,
		      nfail + plan_total - tapn);
	if (write(1, buf, n) < 0)
		_exit(3);
	_exit(1);
}

static void watchdog(const char *name)
{
	running = name;
	alarm(name ? EP_LIMIT_S : 0);
}

static void tap_skip(const char *name, const char *why)
{
	printf("ok %d %s # SKIP %s\n", ++tapn, name, why);
}

/* ---------------------------------------------------------------------- */
/* Module state                                                            */

static int mod_loaded(void)
{
	return access("/sys/module/dtls", F_OK) == 0;
}

static int mod_load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return r;
}

/* The last socket's context is freed a grace period after close. */
static int mod_unload(void)
{
	uint64_t end = now_ms() + 10000;

	while (syscall(SYS_delete_module, "dtls", O_NONBLOCK)) {
		if ((errno != EBUSY && errno != EAGAIN) || now_ms() > end)
			return -1;
		usleep(20000);
	}
	return 0;
}


/* ---------------------------------------------------------------------- */
/* The fixture: a, the socket under test; b, its plain UDP peer           */

struct fx {
	int a, b, tap, pipe[2], file;
	int kind;
	int v13;		/* DTLS 1.3 keys, else DTLS 1.2's */
	struct dkey ab, ba;	/* a's TX keys (b opens), a's RX keys (b seals) */
	/* DTLS 1.3: the same, of epochs 3 and 4 (the first key update) */
	struct dkey13 ab13[2], ba13[2];
	int tx_ep, rx_ep;	/* which of the two a sends in, the peer seals in */
	/* a's connection IDs (length 0: none): the peer's, a's own */
	struct dtls_cid tx_cid, rx_cid;
	uint8_t data[40000];	/* what a sends */
	size_t dlen;
	/* records the peer queued for a: ids (= sequence numbers) 1..nrec */
	int nrec;
	uint8_t rtype[NREC_MAX + 1];	/* content type of each */
	size_t rlen[NREC_MAX + 1];
	int got[NREC_MAX + 1];
	int grp[NREC_MAX + 1];	/* the datagram each came in */
	uint64_t rnum[NREC_MAX + 1];	/* the record number each was sealed with */
	int ngrp;
	int last;		/* the id delivered last */
	/* a socket with peers (EPP): b is the peer PEER_ID, at @baddr */
	int peers;
	struct sockaddr_storage baddr;
	socklen_t blen;
	int moved_id;		/* the record that moves the peer to b */
	long long drops0, skdrops0;
	char why[512];
};

static void fail(struct fx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct fx *f, const char *fmt, ...)
{
	va_list ap;

	if (f->why[0])
		return;		/* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static long long sk_drops(int fd)
{
	uint32_t mi[MEMINFO_VARS] = { 0 };
	socklen_t l = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &l))
		return -1;
	return mi[MEMINFO_DROPS];
}

#define PEER_ID		17	/* b, as a peer of a (EPP) */
#define OTHER_ID	29	/* another peer, at an address nobody sends from */
/* EPP: P_PEER a socket with peers; P_NONE without b's peer yet (the call adds it) */
enum { P_PEER = 1, P_NONE = 2, P_OTHER = 4, P_AWAY = 8 };
enum { S_PLAIN, S_ALERT, S_CLEAR, S_GSO_CMSG, S_GSO_BIG, S_ACK, S_SETPEER };

static int cur_peers(void);
static int peer_keys(struct fx *f, int dir, int next);
static ssize_t a_send(struct fx *f, const void *buf, size_t len);
static int cids_set(struct fx *f);
static int fx_pair_peers(struct fx *f);
static int peer_add(struct fx *f);

static int fx_init(struct fx *f, int kind, int v13)
{
	int big = 4 << 20;

	memset(f, 0, sizeof(*f));
	f->a = f->b = f->tap = f->file = -1;
	f->pipe[0] = f->pipe[1] = -1;
	f->kind = kind;
	f->v13 = v13;
	dkey_derive(&f->ab, &cdescs[0], "fault-a-to-b");
	dkey_derive(&f->ba, &cdescs[0], "fault-b-to-a");
	if (v13 && (dkey13_derive(&f->ab13[0], &cdescs13[0], "fault-a-to-b", EPOCH13) ||
		    dkey13_derive(&f->ba13[0], &cdescs13[0], "fault-b-to-a", EPOCH13))) {
		fail(f, "dkey13_derive failed");
		return -1;
	}
	f->ab13[1] = f->ab13[0];
	f->ba13[1] = f->ba13[0];
	if (v13 && (ref13_update(&f->ab13[1]) || ref13_update(&f->ba13[1]))) {
		fail(f, "ref13_update failed");
		return -1;
	}
	f->peers = cur_peers();
	if (f->peers ? fx_pair_peers(f) : udp_pair(kind, peer_kind(kind), &f->a, &f->b)) {
		fail(f, "udp_pair: %s", strerror(errno));
		return -1;
	}
	setsockopt(f->a, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(f->b, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	f->drops0 = dstat("DtlsRxDropped");
	f->skdrops0 = sk_drops(f->a);
	if (cids_set(f))
		return -1;
	return f->peers ? peer_add(f) : 0;
}

static void fx_close(struct fx *f)
{
	int *fds[] = { &f->a, &f->b, &f->tap, &f->pipe[0], &f->pipe[1], &f->file };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * a's keys for @dir, DTLS 1.2's or DTLS 1.3's: the first ones (epoch 1 or
 * 3) from sequence number 1, so that a record's id is its sequence number
 * in either version; @next: DTLS 1.3's key update, epoch 4 from 0.
 */
static int install_keys(struct fx *f, int dir, int next)
{
	const struct dkey13 *k = dir == DTLS_TX ? &f->ab13[next] : &f->ba13[next];

	if (f->peers)
		return peer_keys(f, dir, next);
	if (!f->v13)
		return dtls_install(f->a, dir, dir == DTLS_TX ? &f->ab : &f->ba,
				    REC_NUM(EPOCH, 1));
	return dtls13_install(f->a, dir, k, k->epoch, !next);
}

static int install(struct fx *f, int dir)
{
	int r = install_keys(f, dir, 0);

	if (r)
		fail(f, "%s install without injection: %s",
		     dir == DTLS_TX ? "DTLS_TX" : "DTLS_RX", strerror(errno));
	return r;
}

/* The epoch the peer expects a's records in */
static uint16_t tx_epoch(const struct fx *f)
{
	return f->v13 ? f->ab13[f->tx_ep].epoch : EPOCH;
}

static int set_int(struct fx *f, int fd, int level, int opt, int val, const char *name)
{
	if (!setsockopt(fd, level, opt, &val, sizeof(val)))
		return 0;
	fail(f, "setsockopt %s: %s", name, strerror(errno));
	return -1;
}

static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* A packet tap on lo: every datagram's skb is then a clone (or shared). */
static int tap_open(struct fx *f)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = if_nametoindex("lo"),
	};
	int big = 4 << 20;

	f->tap = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (f->tap < 0 || bind(f->tap, (void *)&sll, sizeof(sll))) {
		fail(f, "packet tap on lo: %s", strerror(errno));
		return -1;
	}
	setsockopt(f->tap, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return 0;
}

/* ---- the peer sends records to a ---- */

#define RLEN	100	/* plaintext of each queued record */

static void rec_plain(uint8_t *pt, int id, size_t len)
{
	payload_make(pt, id, len);
}

/*
 * Seal record @id (sequence number @id) of @type into @out: DTLS 1.2 in
 * epoch 1, DTLS 1.3 in the peer's epoch (the unified header with a 16-bit
 * sequence number and a length, as the kernel sends it).
 */
static size_t peer_seal(struct fx *f, int id, uint8_t type, uint8_t *out)
{
	const struct dkey13 *k = &f->ba13[f->rx_ep];
	uint8_t pt[RLEN];

	rec_plain(pt, id, RLEN);
	if (id > NREC_MAX)
		return 0;
	f->rtype[id] = type;
	f->rlen[id] = RLEN;
	if (id > f->nrec)
		f->nrec = id;
	if (!f->v13) {
		f->rnum[id] = REC_NUM(EPOCH, id);
		if (f->rx_cid.len)
			return ref12_cid_seal(&f->ba, type, EPOCH, id, NULL, f->rx_cid.cid,
					      f->rx_cid.len, pt, RLEN, 0, out);
		return ref_seal(&f->ba, type, DTLS_1_2_VERSION, EPOCH, id, NULL, pt, RLEN,
				out);
	}
	f->rnum[id] = REC_NUM(k->epoch, id);
	return ref13_seal_cid(k, DTLS13_HDR_S | DTLS13_HDR_L, f->rx_cid.cid, f->rx_cid.len, id,
			      type, pt, RLEN, ref13_min_pad(k, RLEN), out);
}

/* Records @first..@last, one datagram each (or all in one if @one) */
static int peer_send(struct fx *f, int first, int last, uint8_t type, int one)
{
	static uint8_t buf[NREC_MAX * (RLEN + 64 + DTLS_CID_MAX_SIZE)];
	size_t off = 0, l;

	if (one)
		f->ngrp++;
	for (int id = first; id <= last; id++) {
		l = peer_seal(f, id, type, buf + off);
		f->grp[id] = one ? f->ngrp : ++f->ngrp;
		if (!l) {
			fail(f, "ref_seal failed");
			return -1;
		}
		if (one) {
			off += l;
			continue;
		}
		if (send(f->b, buf, l, 0) != (ssize_t)l) {
			fail(f, "peer send: %s", strerror(errno));
			return -1;
		}
	}
	if (one && send(f->b, buf, off, 0) != (ssize_t)off) {
		fail(f, "peer send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Records @first..@last as one UDP_SEGMENT batch, one record per datagram */
static int peer_send_gso(struct fx *f, int first, int last)
{
	static uint8_t buf[NREC_MAX * (RLEN + 64 + DTLS_CID_MAX_SIZE)];
	size_t off = 0, l = 0;

	for (int id = first; id <= last; id++) {
		l = peer_seal(f, id, 23, buf + off);
		f->grp[id] = ++f->ngrp;
		off += l;
	}
	if (send_gso_to(f->b, buf, off, l, NULL, 0, 0) != (ssize_t)off) {
		fail(f, "peer GSO send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait until the kernel counted @n more records opened (or 2 s). */
static void settle(long long before, int n)
{
	dstat_wait("DtlsRxRecords", before + n, 2000);
}

/* ---- a's deliveries ---- */

/* Account one record a delivered: plaintext @p of @len, record number if known */
static void account(struct fx *f, const uint8_t *p, size_t len, int have_info,
		    const struct dtls_record_info *info)
{
	long id = payload_check(p, len);

	if (id <= 0 || id > f->nrec) {
		fail(f, "a delivered %zu bytes that are no record the peer sent", len);
		return;
	}
	if (have_info && (info->rec_num != f->rnum[id] ||
			  info->content_type != f->rtype[id] ||
			  info->flags != (DTLS_RECORD_F_PROTECTED |
					  (id == f->moved_id ? DTLS_RECORD_F_MOVED : 0)) ||
			  info->peer_id != (f->peers ? PEER_ID : 0))) {
		fail(f, "record %ld delivered with rec_num %llx type %u flags %u peer_id %u", id,
		     (unsigned long long)info->rec_num, info->content_type, info->flags,
		     info->peer_id);
		return;
	}
	if (f->got[id]++) {
		fail(f, "record %ld delivered twice", id);
		return;
	}
	if (id < f->last)
		fail(f, "record %ld delivered after record %d", id, f->last);
	f->last = id;
}

/* A received message: under UDP_GRO possibly several records of @seg bytes */
static void account_msg(struct fx *f, const uint8_t *p, ssize_t n, int have_info,
			const struct dtls_record_info *info, int seg)
{
	struct dtls_record_info ri;

	if (!seg) {
		account(f, p, n, have_info, info);
		return;
	}
	for (ssize_t off = 0; off < n; off += seg) {
		size_t l = n - off < seg ? n - off : seg;

		ri = *info;
		/* the cmsg describes the first; the others follow in sequence */
		ri.rec_num = info->rec_num + off / seg;
		account(f, p + off, l, have_info, &ri);
	}
}

static ssize_t recv_rec(int fd, void *buf, size_t len, int flags, int room,
			struct dtls_record_info *info, int *have, int *seg)
{
	char cbuf[CMSG_SPACE(sizeof(*info)) + CMSG_SPACE(sizeof(int)) + 64];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = room ? cbuf : NULL,
		.msg_controllen = room ? sizeof(cbuf) : 0,
	};
	struct cmsghdr *c;
	ssize_t n;

	*have = 0;
	*seg = 0;
	n = recvmsg(fd, &m, flags);
	if (n < 0 || !room)
		return n;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_DTLS && c->cmsg_type == DTLS_GET_RECORD_TYPE) {
			memcpy(info, CMSG_DATA(c), sizeof(*info));
			*have = 1;
		} else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			memcpy(seg, CMSG_DATA(c), sizeof(int));
		}
	}
	return n;
}

/*
 * Read everything left on a, then check: every record once, in order, or
 * missing and counted as dropped.
 */
static void drain_check(struct fx *f)
{
	static uint8_t buf[65536];
	struct dtls_record_info info;
	int have, seg, missing = 0;
	long long dropped;
	ssize_t n;

	for (;;) {
		n = recv_rec(f->a, buf, sizeof(buf), MSG_DONTWAIT, 1, &info, &have, &seg);
		if (n < 0 && errno == EAGAIN && wait_in(f->a, 20) > 0)
			continue;
		if (n < 0)
			break;
		if (!have) {
			fail(f, "a record came without its DTLS_GET_RECORD_TYPE cmsg");
			return;
		}
		account_msg(f, buf, n, 1, &info, seg);
	}
	if (errno != EAGAIN)
		fail(f, "recv after the call: %s", strerror(errno));
	/* a datagram dropped unopened counts once, whatever it held */
	for (int g = 1; g <= f->ngrp; g++) {
		int in = 0, lost = 0;

		for (int id = 1; id <= f->nrec; id++) {
			if (f->grp[id] != g)
				continue;
			in++;
			lost += !f->got[id];
		}
		missing += lost == in && in ? 1 : lost;
	}
	dropped = dstat("DtlsRxDropped") - f->drops0 + sk_drops(f->a) - f->skdrops0;
	if (missing > dropped)
		fail(f, "records never delivered: %d (datagrams counted once), %lld counted as dropped",
		     missing, dropped);
	else if (missing && verbose)
		printf("#   %d record(s) dropped for lack of memory, counted\n", missing);
}

/* ---- what a sends, as the peer sees it ---- */

/*
 * A DTLS 1.3 record from a, opened with the keys of the epoch its header
 * names (3 or 4): a key update may leave either.  The sequence numbers
 * stay far below 2^15, so the reconstruction needs no expected number.
 */
static ssize_t peer_open13(struct fx *f, const uint8_t *rec, ssize_t n, struct rec_hdr *h,
			   uint8_t *pt)
{
	const struct dkey13 *k = NULL;
	struct rec13 r;

	for (int i = 0; i < 2; i++)
		if (((rec[0] ^ f->ab13[i].epoch) & DTLS13_HDR_EPOCH_MASK) == 0)
			k = &f->ab13[i];
	if (!k || ref13_open_cid(k, rec, n, f->tx_cid.len, 0, &r, pt) != n ||
	    (f->tx_cid.len && memcmp(r.cid, f->tx_cid.cid, f->tx_cid.len)))
		return -2;
	memset(h, 0, sizeof(*h));
	h->type = r.type;
	h->version = DTLS_1_3_VERSION;
	h->epoch = k->epoch;
	h->seq = r.seq;
	h->length = r.ptlen;
	return r.ptlen;
}

/* A DTLS 1.2 record from a with a connection ID: h->type is the real type */
static ssize_t peer_open12_cid(struct fx *f, const uint8_t *rec, ssize_t n, struct rec_hdr *h,
			       uint8_t *pt)
{
	const uint8_t *cid;
	size_t ptlen;
	uint8_t type;

	if (ref12_cid_open(&f->ab, rec, n, f->tx_cid.len, h, &cid, &type, pt, &ptlen) != n ||
	    memcmp(cid, f->tx_cid.cid, f->tx_cid.len))
		return -2;
	h->type = type;
	return ptlen;
}

/* The next datagram at the peer, opened: returns plaintext length or -1 */
static ssize_t peer_recv(struct fx *f, uint8_t *pt, struct rec_hdr *h, int ms)
{
	static uint8_t rec[MAXREC];
	size_t ptlen;
	ssize_t n;

	if (wait_in(f->b, ms) <= 0)
		return -1;
	n = recv(f->b, rec, sizeof(rec), MSG_DONTWAIT);
	if (n < 0)
		return -1;
	if (f->v13 ? n >= 1 && (rec[0] & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED :
		     n >= DTLS_HDR_LEN && !get_be(rec + 3, 2)) {
		/* an epoch-0 record, in the clear (DTLSPlaintext in DTLS 1.3 too) */
		if (parse_hdr(rec, n, h) || DTLS_HDR_LEN + h->length != n)
			return -2;
		memcpy(pt, rec + DTLS_HDR_LEN, h->length);
		return h->length;
	}
	if (f->v13)
		return peer_open13(f, rec, n, h, pt);
	if (f->tx_cid.len)
		return peer_open12_cid(f, rec, n, h, pt);
	if (ref_open(&f->ab, rec, n, h, pt, &ptlen) != n)
		return -2;
	return ptlen;
}

static void peer_nothing(struct fx *f, const char *after)
{
	char b[64];

	if (wait_in(f->b, 30) > 0 && recv(f->b, b, sizeof(b), MSG_DONTWAIT) >= 0)
		fail(f, "the peer got a datagram %s", after);
}

/*
 * The peer must get @len bytes of f->data as records of @type, sequence
 * numbers rising from at least *seq (a failed send may have spent one),
 * then nothing.  @seg: plaintext per record (0: up to 2^14).
 */
static void peer_expect(struct fx *f, uint8_t type, uint64_t *seq, size_t len, size_t seg)
{
	static uint8_t pt[MAXREC];
	struct rec_hdr h;
	size_t at = 0;
	ssize_t n;

	while (at < len || (!len && !at)) {
		n = peer_recv(f, pt, &h, 2000);
		if (n < 0) {
			fail(f, "the peer got %zu of %zu bytes (%s)", at, len,
			     n == -1 ? "then nothing" : "then a bad record");
			return;
		}
		if (h.type != type || h.epoch != tx_epoch(f) || h.seq < *seq) {
			fail(f, "the peer got a record of type %u, epoch %u, seq %llu (want type %u, epoch %u, seq >= %llu)",
			     h.type, h.epoch, (unsigned long long)h.seq, type, tx_epoch(f),
			     (unsigned long long)*seq);
			return;
		}
		if ((size_t)n > len - at || (seg && (size_t)n > seg) ||
		    memcmp(pt, f->data + at, n)) {
			fail(f, "record seq %llu: wrong plaintext (%zd bytes at %zu of %zu)",
			     (unsigned long long)h.seq, n, at, len);
			return;
		}
		*seq = h.seq + 1;
		at += n;
		if (!len)
			break;
	}
	peer_nothing(f, "more than was sent");
}

/* a sends one record as a plain send now: it must arrive as the next one */
static void check_tx(struct fx *f, uint64_t seq)
{
	f->dlen = payload_make(f->data, 4321, 200);
	if (a_send(f, f->data, f->dlen) != (ssize_t)f->dlen) {
		fail(f, "send after the call: %s", strerror(errno));
		return;
	}
	peer_expect(f, 23, &seq, f->dlen, 0);
}

/* the peer sends one record now: a must deliver it */
static void check_rx(struct fx *f)
{
	if (peer_send(f, f->nrec + 1, f->nrec + 1, 23, 0))
		return;
	wait_in(f->a, 2000);
	drain_check(f);
	if (!f->got[f->nrec])
		fail(f, "a record sent after the call was not delivered");
}

/* a is plain UDP: a datagram goes out as it is, and one comes in as it is */
static void check_plain(struct fx *f)
{
	char b[64];

	if (send(f->a, "plain-a", 7, 0) != 7 || wait_in(f->b, 2000) <= 0 ||
	    recv(f->b, b, sizeof(b), MSG_DONTWAIT) != 7 || memcmp(b, "plain-a", 7))
		fail(f, "a did not send plain UDP after the failed option");
	if (send(f->b, "plain-b", 7, 0) != 7 || wait_in(f->a, 2000) <= 0 ||
	    recv(f->a, b, sizeof(b), MSG_DONTWAIT) != 7 || memcmp(b, "plain-b", 7))
		fail(f, "a did not receive plain UDP after the failed option");
}

/* ---------------------------------------------------------------------- */
/* Entry points                                                            */

struct ep {
	const char *name;
	int (*setup)(struct fx *f);
	int (*call)(struct fx *f);
	/* @ret, @err: the call's; checks the socket and the records after it */
	void (*after)(struct fx *f, int ret, int err);
	int kind;
	int arg;
	int normal_errno;	/* what the call gives without injection, or 0 */
	int errno_ok;		/* another errno documented for this call */
	int pages;		/* page allocations are injection points too */
	int v13;		/* a DTLS 1.3 socket (EP13) */
	int cid;		/* connection IDs both ways: CID_* (EPC, EPC13) */
	int peers;		/* a is unconnected, with peers: P_* (EPP...) */
};

/* Connection IDs set before anything else; or chosen, set by the call */
enum { CID_SET = 1, CID_CALL };

static const struct ep *cur;

/* ---- connection IDs: DTLS_TX_CID, DTLS_RX_CID ---- */

static int cid_opt(struct fx *f, int opt)
{
	const struct dtls_cid *c = opt == DTLS_TX_CID ? &f->tx_cid : &f->rx_cid;

	return setsockopt(f->a, SOL_DTLS, opt, c, 1 + c->len);
}

/*
 * An entry point with connection IDs: of 1 and 255 bytes (the peer's 255
 * on a DTLS 1.3 socket, 1 on a 1.2 one), set before the keys unless the
 * call sets one of them.
 */
static int cids_set(struct fx *f)
{
	size_t tx = f->v13 ? DTLS_CID_MAX_SIZE : 1;

	if (!cur || !cur->cid)
		return 0;
	f->tx_cid.len = tx;
	f->rx_cid.len = DTLS_CID_MAX_SIZE + 1 - tx;
	for (int i = 0; i < DTLS_CID_MAX_SIZE; i++) {
		f->tx_cid.cid[i] = 0xc3 ^ i;
		f->rx_cid.cid[i] = 0x3c + 7 * i;
	}
	if (cur->cid == CID_CALL || f->peers)
		return 0;	/* a peer's go with DTLS_PEER_NEW */
	if (cid_opt(f, DTLS_TX_CID) || cid_opt(f, DTLS_RX_CID)) {
		fail(f, "connection IDs without injection: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_send(struct fx *f);
static void check_tx(struct fx *f, uint64_t seq);
static void check_rx(struct fx *f);
static void check_plain(struct fx *f);

static int call_cid_set(struct fx *f)
{
	return cid_opt(f, cur->arg);
}

/*
 * The option as the socket's first: failed, a stays plain UDP and the
 * retry succeeds.  Then it reads back, the other one and the keys go in,
 * and records go both ways with connection IDs.
 */
static void after_cid_set(struct fx *f, int ret, int err)
{
	struct dtls_cid c;
	socklen_t l = sizeof(c);
	int other = cur->arg == DTLS_TX_CID ? DTLS_RX_CID : DTLS_TX_CID;
	const struct dtls_cid *want = cur->arg == DTLS_TX_CID ? &f->tx_cid : &f->rx_cid;

	(void)err;
	if (ret) {
		check_plain(f);
		if (!f->why[0] && call_cid_set(f))
			fail(f, "the option retried: %s", strerror(errno));
	}
	if (f->why[0])
		return;
	if (getsockopt(f->a, SOL_DTLS, cur->arg, &c, &l) || l != 1u + want->len ||
	    memcmp(&c, want, l)) {
		fail(f, "the option reads back %u bytes (%s)", l, strerror(errno));
		return;
	}
	if (cid_opt(f, other) || install(f, DTLS_TX) || install(f, DTLS_RX)) {
		fail(f, "the other option or the keys: %s", strerror(errno));
		return;
	}
	check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
}

static struct dtls_cid cid_got;
static socklen_t cid_got_len;

static int call_cid_get(struct fx *f)
{
	cid_got_len = sizeof(cid_got);
	return getsockopt(f->a, SOL_DTLS, cur->arg, &cid_got, &cid_got_len);
}

static int setup_cid_get(struct fx *f)
{
	memset(&cid_got, 0, sizeof(cid_got));	/* no page fault in the call */
	return setup_send(f);
}

/* What it read is the one set, and both directions still work */
static void after_cid_get(struct fx *f, int ret, int err)
{
	const struct dtls_cid *want = cur->arg == DTLS_TX_CID ? &f->tx_cid : &f->rx_cid;

	(void)err;
	if (ret && call_cid_get(f)) {
		fail(f, "getsockopt retried: %s", strerror(errno));
		return;
	}
	if (cid_got_len != 1u + want->len || memcmp(&cid_got, want, cid_got_len)) {
		fail(f, "getsockopt read %u bytes, not the connection ID set", cid_got_len);
		return;
	}
	check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
}

/* ---- SOL_DTLS options ---- */

static int setup_pair(struct fx *f)
{
	return fx_init(f, cur->kind, cur->v13);
}

static int setup_after_rx(struct fx *f)
{
	return fx_init(f, cur->kind, cur->v13) || install(f, DTLS_RX);
}

static int setup_after_tx(struct fx *f)
{
	return fx_init(f, cur->kind, cur->v13) || install(f, DTLS_TX);
}

static int setup_window(struct fx *f)
{
	return fx_init(f, cur->kind, cur->v13) ||
	       set_int(f, f->a, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, 65536, "DTLS_RX_REPLAY_WINDOW");
}

static int call_tx(struct fx *f)
{
	return install_keys(f, DTLS_TX, 0);
}

static int call_rx(struct fx *f)
{
	return install_keys(f, DTLS_RX, 0);
}

/* @first: the option was the socket's first SOL_DTLS one */
static void after_tx(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret && cur->arg)
		check_plain(f);
	if (ret && install(f, DTLS_TX))
		return;
	check_tx(f, 1);
	if (!f->why[0] && !cur->arg)
		check_rx(f);	/* DTLS_RX, installed before, still works */
}

static void after_rx(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret && cur->arg)
		check_plain(f);
	if (ret && install(f, DTLS_RX))
		return;
	check_rx(f);
	if (!f->why[0] && cur->setup == setup_after_tx)
		check_tx(f, 1);	/* DTLS_TX, installed before, still works */
}

static int call_window(struct fx *f)
{
	uint32_t v = 4096;

	return setsockopt(f->a, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &v, sizeof(v));
}

static void after_window(struct fx *f, int ret, int err)
{
	uint32_t v = 0;
	socklen_t l = sizeof(v);

	(void)err;
	if (ret) {
		check_plain(f);
		if (call_window(f)) {
			fail(f, "DTLS_RX_REPLAY_WINDOW retried: %s", strerror(errno));
			return;
		}
	}
	if (getsockopt(f->a, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &v, &l) || v != 4096)
		fail(f, "DTLS_RX_REPLAY_WINDOW reads %u (%s)", v, strerror(errno));
	if (!install(f, DTLS_RX))
		check_rx(f);
}

/* DTLS_RX with datagrams queued: 3 single ones and one of 3 records */
static int setup_queued(struct fx *f)
{
	if (fx_init(f, cur->kind, cur->v13) || (cur->arg && tap_open(f)))
		return -1;
	if (peer_send(f, 1, 3, 23, 0) || peer_send(f, 4, 6, 23, 1))
		return -1;
	if (wait_in(f->a, 2000) <= 0) {
		fail(f, "the datagrams did not arrive");
		return -1;
	}
	usleep(2000);
	return 0;
}

static void after_queued(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret && install(f, DTLS_RX))
		return;
	drain_check(f);
	if (!f->why[0])
		check_rx(f);
}

/* ---- DTLS 1.3 key update: DTLS_TX or DTLS_RX with the next epoch ---- */

static int call_tx_next(struct fx *f)
{
	return install_keys(f, DTLS_TX, 1);
}

static int call_rx_next(struct fx *f)
{
	return install_keys(f, DTLS_RX, 1);
}

enum { U_GRO = 1 };

/*
 * Epoch 3 both ways, a record each way through it; for DTLS_RX the peer's
 * records of epoch 3 queued at the install: 2 single ones and one of 2,
 * opened on arrival; under UDP_GRO (U_GRO, with a packet tap) a batch of
 * 4 that the reader opens only when a reads, after the install.
 */
static int setup_update(struct fx *f)
{
	long long before;
	int n0;

	if (setup_send(f))
		return -1;
	if ((cur->arg & U_GRO) &&
	    (set_int(f, f->a, SOL_UDP, UDP_GRO, 1, "UDP_GRO") || tap_open(f)))
		return -1;
	check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
	if (f->why[0] || cur->call != call_rx_next)
		return f->why[0] ? -1 : 0;
	n0 = f->nrec;
	before = dstat("DtlsRxRecords");
	if (cur->arg & U_GRO) {
		if (peer_send_gso(f, n0 + 1, n0 + 4))
			return -1;
		usleep(5000);	/* no poll(): it would have the reader open one */
		return 0;
	}
	if (peer_send(f, n0 + 1, n0 + 2, 23, 0) || peer_send(f, n0 + 3, n0 + 4, 23, 1))
		return -1;
	if (wait_in(f->a, 2000) <= 0) {
		fail(f, "the records did not arrive");
		return -1;
	}
	settle(before, 4);
	return 0;
}

/*
 * A failed key update changes nothing: a still sends in epoch 3, numbers
 * going on; the retry switches to epoch 4, from sequence number 0.
 */
static void after_tx_next(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret) {
		check_tx(f, 2);
		if (!f->why[0] && call_tx_next(f))
			fail(f, "DTLS_TX of the next epoch retried: %s", strerror(errno));
	}
	if (f->why[0])
		return;
	f->tx_ep = 1;
	check_tx(f, 0);
	if (!f->why[0])
		check_rx(f);
}

/*
 * The records of epoch 3 queued are received, and so is the next one the
 * peer sends in epoch 3 (whether the install failed or not: the peer
 * switches only once it has the ACK, after the install); after the retry
 * a record of epoch 4 is received, which makes 4 the current epoch, and
 * a late one of epoch 3, the previous, still is.
 */
static void after_rx_next(struct fx *f, int ret, int err)
{
	(void)err;
	drain_check(f);
	if (!f->why[0])
		check_rx(f);
	if (ret && !f->why[0] && call_rx_next(f))
		fail(f, "DTLS_RX of the next epoch retried: %s", strerror(errno));
	if (f->why[0])
		return;
	f->rx_ep = 1;
	check_rx(f);
	f->rx_ep = 0;
	if (!f->why[0])
		check_rx(f);
	if (!f->why[0])
		check_tx(f, 1);
}

/* ---- DTLS 1.3 usage limits: DTLS_KEY_LIMITS and DTLS_KEY_USAGE ---- */

enum { K_FIRST, K_SET, K_GET, K_USAGE };
#define LIM_TX	1000
#define LIM_RX	100

static struct dtls_key_usage ku;

static int key_limits_set(int fd)
{
	struct dtls_key_usage l = { .tx_records = LIM_TX, .rx_forged = LIM_RX };

	return setsockopt(fd, SOL_DTLS, DTLS_KEY_LIMITS, &l, sizeof(l));
}

static int key_get(int fd, int opt)
{
	socklen_t l = sizeof(ku);

	return getsockopt(fd, SOL_DTLS, opt, &ku, &l) || l != sizeof(ku) ? -1 : 0;
}

/* A record of epoch 3 with a flipped tag bit: DTLS_KEY_USAGE counts it */
static int peer_forged(struct fx *f)
{
	long long before = dstat("DtlsRxDecryptError");
	uint8_t pt[RLEN], rec[RLEN + 64];
	size_t l;

	rec_plain(pt, NREC_MAX + 1, RLEN);
	l = ref13_seal(&f->ba13[0], DTLS13_HDR_S | DTLS13_HDR_L, 60, 23, pt, RLEN, 0, rec);
	if (!l) {
		fail(f, "ref13_seal failed");
		return -1;
	}
	rec[l - 1] ^= 1;
	if (send(f->b, rec, l, 0) != (ssize_t)l ||
	    dstat_wait("DtlsRxDecryptError", before + 1, 2000) != before + 1) {
		fail(f, "the forged record was not counted (%s)", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * K_GET: the limits were set before; K_USAGE: a sent a record (so its
 * epoch's next sequence number is 2) and the peer forged one.
 */
static int setup_keyopt(struct fx *f)
{
	if (setup_send(f))
		return -1;
	memset(&ku, 0, sizeof(ku));	/* no page fault in the call */
	if (cur->arg == K_GET && key_limits_set(f->a)) {
		fail(f, "DTLS_KEY_LIMITS without injection: %s", strerror(errno));
		return -1;
	}
	if (cur->arg == K_USAGE) {
		check_tx(f, 1);
		if (f->why[0] || peer_forged(f))
			return -1;
	}
	return 0;
}

static int call_keyopt(struct fx *f)
{
	switch (cur->arg) {
	case K_GET:
		return key_get(f->a, DTLS_KEY_LIMITS);
	case K_USAGE:
		return key_get(f->a, DTLS_KEY_USAGE);
	}
	return key_limits_set(f->a);
}

/*
 * K_FIRST: without keys the option is ENOTCONN and a stays plain UDP,
 * which takes DTLS 1.3 keys and then the limits.  Then what the option
 * reads (the limits set, or the usage) and both directions working.
 */
static void after_keyopt(struct fx *f, int ret, int err)
{
	struct dtls_key_usage want = { .tx_records = LIM_TX, .rx_forged = LIM_RX };

	(void)err;
	if (cur->arg == K_FIRST) {
		check_plain(f);
		if (f->why[0] || install(f, DTLS_TX) || install(f, DTLS_RX))
			return;
		ret = -1;
	}
	if (ret && call_keyopt(f)) {
		fail(f, "the option retried: %s", strerror(errno));
		return;
	}
	if (cur->arg == K_USAGE) {
		want.tx_records = 2;
		want.rx_forged = 1;
	} else if (cur->arg != K_GET && key_get(f->a, DTLS_KEY_LIMITS)) {
		fail(f, "DTLS_KEY_LIMITS read: %s", strerror(errno));
		return;
	}
	if (ku.tx_records != want.tx_records || ku.rx_forged != want.rx_forged)
		fail(f, "%s reads %llu, %llu, want %llu, %llu",
		     cur->arg == K_USAGE ? "DTLS_KEY_USAGE" : "DTLS_KEY_LIMITS",
		     (unsigned long long)ku.tx_records, (unsigned long long)ku.rx_forged,
		     (unsigned long long)want.tx_records, (unsigned long long)want.rx_forged);
	if (!f->why[0])
		check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
}

/* ---- getsockopt(DTLS_TX or DTLS_RX): the keys, the next record number ---- */

static struct cinfo gci;

/*
 * A record each way, so that the next record number is 2 both ways; for
 * DTLS 1.3's DTLS_RX the peer's record came in epoch 4, installed before:
 * the current epoch's keys are epoch 4's.
 */
static int setup_getkeys(struct fx *f)
{
	if (setup_send(f))
		return -1;
	memset(&gci, 0, sizeof(gci));	/* no page fault in the call */
	check_tx(f, 1);
	if (!f->why[0] && f->v13 && cur->arg == DTLS_RX) {
		if (call_rx_next(f)) {
			fail(f, "key update without injection: %s", strerror(errno));
			return -1;
		}
		f->rx_ep = 1;
	}
	if (!f->why[0])
		check_rx(f);
	return f->why[0] ? -1 : 0;
}

static int call_getkeys(struct fx *f)
{
	gci.len = sizeof(gci.b);
	return getsockopt(f->a, SOL_DTLS, cur->arg, gci.b, &gci.len);
}

static void after_getkeys(struct fx *f, int ret, int err)
{
	int tx = cur->arg == DTLS_TX;
	const struct dkey13 *k = tx ? &f->ab13[f->tx_ep] : &f->ba13[f->rx_ep];
	struct cinfo want;

	(void)err;
	if (ret && call_getkeys(f)) {
		fail(f, "getsockopt retried: %s", strerror(errno));
		return;
	}
	if (f->v13)
		cinfo13_build(&want, k, k->epoch, 2);
	else
		cinfo_build(&want, tx ? &f->ab : &f->ba, REC_NUM(EPOCH, 2));
	if (gci.len != want.len || memcmp(gci.b, want.b, want.len))
		fail(f, "getsockopt(%s) gave %u bytes, not the keys and record number 2 (%u bytes)",
		     tx ? "DTLS_TX" : "DTLS_RX", gci.len, want.len);
	if (!f->why[0])
		check_tx(f, 2);
	if (!f->why[0])
		check_rx(f);
}

/* ---- UDP_GRO set on a DTLS_RX socket ---- */

static int call_gro(struct fx *f)
{
	int one = 1;

	return setsockopt(f->a, SOL_UDP, UDP_GRO, &one, sizeof(one));
}

static void after_gro(struct fx *f, int ret, int err)
{
	int v = 0;
	socklen_t l = sizeof(v);

	(void)err;
	/* documented: UDP has set the option, records still opened on arrival */
	if (getsockopt(f->a, SOL_UDP, UDP_GRO, &v, &l) || v != 1)
		fail(f, "UDP_GRO reads %d after the call returned %d", v, ret);
	check_rx(f);
	if (ret && !f->why[0] && call_gro(f))
		fail(f, "UDP_GRO retried: %s", strerror(errno));
	if (!f->why[0])
		check_rx(f);
}

/* ---- send ---- */

static int setup_send(struct fx *f)
{
	if (fx_init(f, cur->kind, cur->v13) || install(f, DTLS_TX) || install(f, DTLS_RX))
		return -1;
	/*
	 * Without IP_RECVERR, UDP reports a datagram the device path dropped
	 * (ENOBUFS) as sent: the peer would miss a record "sent".
	 */
	if (set_int(f, f->a, sk_family(f->kind) == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		    sk_family(f->kind) == AF_INET ? IP_RECVERR : IPV6_RECVERR, 1,
		    "IP_RECVERR"))
		return -1;
	f->dlen = payload_make(f->data, 77, 300);
	return 0;
}

static ssize_t send_cmsg(struct fx *f, int type, int plain_seq, int gso, int tos)
{
	char ctl[256] = { 0 };
	struct iovec iov = { .iov_base = f->data, .iov_len = f->dlen };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl };
	struct cmsghdr *c = (struct cmsghdr *)ctl;
	size_t len = 0;

	if (type) {
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_RECORD_TYPE;
		c->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(c) = type;
		len += CMSG_SPACE(1);
	}
	if (plain_seq) {
		uint64_t s = plain_seq;

		c = (struct cmsghdr *)(ctl + len);
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_PLAINTEXT_SEQ;
		c->cmsg_len = CMSG_LEN(sizeof(s));
		memcpy(CMSG_DATA(c), &s, sizeof(s));
		len += CMSG_SPACE(sizeof(s));
	}
	if (gso) {
		uint16_t s = gso;

		c = (struct cmsghdr *)(ctl + len);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(s));
		memcpy(CMSG_DATA(c), &s, sizeof(s));
		len += CMSG_SPACE(sizeof(s));
	}
	if (tos) {
		int t = 0;

		c = (struct cmsghdr *)(ctl + len);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TOS;
		c->cmsg_len = CMSG_LEN(sizeof(t));
		memcpy(CMSG_DATA(c), &t, sizeof(t));
		len += CMSG_SPACE(sizeof(t));
	}
	if (f->peers && cur->arg == S_SETPEER) {	/* no address: the peer's */
		uint32_t id = PEER_ID;

		c = (struct cmsghdr *)(ctl + len);
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_PEER;
		c->cmsg_len = CMSG_LEN(sizeof(id));
		memcpy(CMSG_DATA(c), &id, sizeof(id));
		len += CMSG_SPACE(sizeof(id));
	} else if (f->peers) {
		m.msg_name = &f->baddr;
		m.msg_namelen = f->blen;
	}
	m.msg_controllen = len;
	if (!len)
		m.msg_control = NULL;
	return sendmsg(f->a, &m, 0);
}

static int call_send(struct fx *f)
{
	switch (cur->arg) {
	case S_SETPEER:
		return send_cmsg(f, 0, 0, 0, 0);
	case S_ALERT:
		return send_cmsg(f, 21, 0, 0, 0);
	case S_ACK:
		return send_cmsg(f, DTLS_RECORD_TYPE_ACK, 0, 0, 0);
	case S_CLEAR:
		return send_cmsg(f, 22, 77, 0, 0);
	case S_GSO_CMSG:
		return send_cmsg(f, 0, 0, 100, 1);
	case S_GSO_BIG:
		return a_send(f, f->data, f->dlen);
	}
	return a_send(f, f->data, f->dlen);
}

static int setup_send_gso(struct fx *f)
{
	if (setup_send(f))
		return -1;
	if (cur->arg == S_GSO_CMSG) {
		f->dlen = 400;
	} else {
		f->dlen = 40000;
		if (set_int(f, f->a, SOL_UDP, UDP_SEGMENT, 1200, "UDP_SEGMENT"))
			return -1;
	}
	for (size_t i = 0; i < f->dlen; i++)
		f->data[i] = (uint8_t)(i * 13 + (i >> 9));
	return 0;
}

static void after_send(struct fx *f, int ret, int err)
{
	uint64_t seq = 1;
	uint8_t pt[MAXREC];
	struct rec_hdr h;
	ssize_t n;

	(void)err;
	if (ret < 0) {
		peer_nothing(f, "from a send that failed");
		if (call_send(f) != (ssize_t)f->dlen) {
			fail(f, "the send retried: %s", strerror(errno));
			return;
		}
	} else if ((size_t)ret != f->dlen) {
		fail(f, "send returned %d of %zu", ret, f->dlen);
		return;
	}
	switch (cur->arg) {
	case S_CLEAR:
		/* epoch 0, the number the caller gave, each time */
		n = peer_recv(f, pt, &h, 2000);
		if (n != (ssize_t)f->dlen || h.epoch || h.seq != 77 || h.type != 22 ||
		    memcmp(pt, f->data, n))
			fail(f, "the peer did not get the epoch-0 record (%zd)", n);
		peer_nothing(f, "after the epoch-0 record");
		seq = 1;
		break;
	case S_ALERT:
		peer_expect(f, 21, &seq, f->dlen, 0);
		break;
	case S_ACK:
		peer_expect(f, DTLS_RECORD_TYPE_ACK, &seq, f->dlen, 0);
		break;
	case S_GSO_CMSG:
		peer_expect(f, 23, &seq, f->dlen, 100);
		break;
	case S_GSO_BIG:
		peer_expect(f, 23, &seq, f->dlen, 1200);
		break;
	default:
		peer_expect(f, 23, &seq, f->dlen, 0);
	}
	if (!f->why[0] && cur->arg == S_GSO_BIG &&
	    set_int(f, f->a, SOL_UDP, UDP_SEGMENT, 0, "UDP_SEGMENT 0"))
		return;
	if (!f->why[0])
		check_tx(f, seq);
}

/* ---- splice and sendfile: a byte stream ---- */

#define STREAM_LEN 20000

static int setup_splice(struct fx *f)
{
	char path[] = "/tmp/dtls_fault.XXXXXX";

	if (setup_send(f))
		return -1;
	f->dlen = STREAM_LEN;
	for (size_t i = 0; i < f->dlen; i++)
		f->data[i] = (uint8_t)(i * 7 + (i >> 8));
	if (cur->arg) {
		f->file = mkstemp(path);
		if (f->file < 0 || write(f->file, f->data, f->dlen) != (ssize_t)f->dlen) {
			fail(f, "temporary file: %s", strerror(errno));
			return -1;
		}
		unlink(path);
		return 0;
	}
	if (pipe(f->pipe) || fcntl(f->pipe[1], F_SETPIPE_SZ, 1 << 16) < 0 ||
	    write(f->pipe[1], f->data, f->dlen) != (ssize_t)f->dlen) {
		fail(f, "pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static off_t sf_off;

static int call_splice(struct fx *f)
{
	if (cur->arg) {
		sf_off = 0;
		return sendfile(f->a, f->file, &sf_off, f->dlen);
	}
	return splice(f->pipe[0], NULL, f->a, NULL, f->dlen, 0);
}

static void after_splice(struct fx *f, int ret, int err)
{
	size_t done = ret > 0 ? ret : 0;
	uint64_t seq = 1;
	ssize_t r;

	(void)err;
	if (!cur->arg)
		sf_off = done;
	if ((size_t)sf_off != done)
		fail(f, "sendfile returned %d with the offset at %lld", ret, (long long)sf_off);
	while (done < f->dlen && !f->why[0]) {
		if (cur->arg)
			r = sendfile(f->a, f->file, &sf_off, f->dlen - done);
		else
			r = splice(f->pipe[0], NULL, f->a, NULL, f->dlen - done, 0);
		if (r <= 0) {
			fail(f, "%s of the rest (%zu of %zu done): %s",
			     cur->arg ? "sendfile" : "splice", done, f->dlen,
			     r ? strerror(errno) : "returned 0");
			return;
		}
		done += r;
	}
	peer_expect(f, 23, &seq, f->dlen, DTLS_MAX_PLAINTEXT);
	if (!f->why[0])
		check_tx(f, seq);
}

/* ---- recv, poll, FIONREAD ---- */

enum {
	R_ROOM = 1,	/* room for the record type cmsg */
	R_PEEK = 2,
	R_GRO = 4,	/* UDP_GRO: a batch of 4 and one more */
	R_TAP = 8,	/* a packet tap: datagrams are clones */
	R_ALERT = 16,	/* an alert first */
	R_POLL = 32,
	R_FIONREAD = 64,
};

static struct {
	uint8_t buf[65536];
	ssize_t n;
	struct dtls_record_info info;
	int have, seg, v;
} rv;

static int setup_recv(struct fx *f)
{
	int fl = cur->arg;
	long long before;

	if (fx_init(f, cur->kind, cur->v13) || install(f, DTLS_TX) || install(f, DTLS_RX))
		return -1;
	/* no page fault (and its allocations) in the call: EFAULT is not the point */
	memset(&rv, 0, sizeof(rv));
	if ((fl & R_GRO) && set_int(f, f->a, SOL_UDP, UDP_GRO, 1, "UDP_GRO"))
		return -1;
	if ((fl & R_TAP) && tap_open(f))
		return -1;
	before = dstat("DtlsRxRecords");
	if (fl & R_ALERT) {
		if (peer_send(f, 1, 1, 21, 0) || peer_send(f, 2, 3, 23, 0))
			return -1;
	} else if (fl & R_GRO) {
		if (peer_send_gso(f, 1, 4) || peer_send(f, 5, 5, 23, 0))
			return -1;
	} else if (peer_send(f, 1, 3, 23, 0)) {
		return -1;
	}
	/* poll() would make the reader open the first record: not under UDP_GRO */
	if (fl & R_GRO) {
		usleep(5000);
		return 0;
	}
	if (wait_in(f->a, 2000) <= 0) {
		fail(f, "the records did not arrive");
		return -1;
	}
	settle(before, f->nrec);
	return 0;
}


static int call_recv(struct fx *f)
{
	int fl = cur->arg;
	struct pollfd p = { .fd = f->a, .events = POLLIN };

	if (fl & R_POLL)
		return poll(&p, 1, 0);
	if (fl & R_FIONREAD)
		return ioctl(f->a, FIONREAD, &rv.v);
	rv.n = recv_rec(f->a, rv.buf, sizeof(rv.buf),
			MSG_DONTWAIT | ((fl & R_PEEK) ? MSG_PEEK : 0),
			fl & R_ROOM, &rv.info, &rv.have, &rv.seg);
	return rv.n < 0 ? -1 : 0;
}

static void after_recv(struct fx *f, int ret, int err)
{
	int fl = cur->arg;

	if (fl & R_POLL) {
		/* readable, unless the records failed for lack of memory */
		if (ret != 1 && dstat("DtlsRxDropped") == f->drops0)
			fail(f, "poll returned %d with records queued", ret);
	} else if (fl & R_FIONREAD) {
		if (!ret && rv.v != RLEN && dstat("DtlsRxDropped") == f->drops0)
			fail(f, "FIONREAD gave %d, want %d", rv.v, RLEN);
	} else if (ret == 0 && (fl & R_PEEK)) {
		if (payload_check(rv.buf, rv.n) != 1)
			fail(f, "MSG_PEEK returned something else than record 1");
	} else if (ret == 0) {
		if ((fl & R_ROOM) && !rv.have)
			fail(f, "no DTLS_GET_RECORD_TYPE cmsg");
		/* without a control buffer no UDP_GRO cmsg: the records are RLEN */
		if (!(fl & R_ROOM) && rv.n > RLEN)
			rv.seg = RLEN;
		account_msg(f, rv.buf, rv.n, rv.have, &rv.info, rv.seg);
	} else if (err == EIO && (fl & R_ALERT)) {
		/* the alert stays for a caller with room */
	}
	drain_check(f);
	if (!f->why[0])
		check_rx(f);
}


/* ---- a socket with peers: DTLS_PEER_* ---- */

static int cur_peers(void)
{
	return cur ? cur->peers : 0;
}

/* a unconnected and bound, b connected to it; b's address as a sees it */
static int fx_pair_peers(struct fx *f)
{
	f->a = udp_bound(f->kind);
	f->b = udp_bound(f->kind);
	if (f->a < 0 || f->b < 0 || udp_connect_to(f->b, f->kind, f->kind, f->a))
		return -1;
	f->blen = sizeof(f->baddr);
	return getsockname(f->b, (void *)&f->baddr, &f->blen);
}

/*
 * DTLS_PEER_NEW of @id at b's address (P_AWAY: at b's port + 1, where
 * nobody sends from, so that b's first record moves it to b), with the
 * entry point's connection IDs.
 */
static int peer_new(struct fx *f, uint32_t id)
{
	struct dtls_peer p = { .id = id, .tx_cid = f->tx_cid, .rx_cid = f->rx_cid };
	struct sockaddr_in6 *s6 = (void *)&p.addr;
	struct sockaddr_in *s4 = (void *)&p.addr;

	memcpy(&p.addr, &f->baddr, f->blen);
	if (id == OTHER_ID || (f->peers & P_AWAY)) {
		if (p.addr.ss_family == AF_INET)
			s4->sin_port = htons(ntohs(s4->sin_port) + (id == OTHER_ID ? 2 : 1));
		else
			s6->sin6_port = htons(ntohs(s6->sin6_port) + (id == OTHER_ID ? 2 : 1));
	}
	if (id == OTHER_ID)	/* a receive CID of the same length, not b's */
		p.rx_cid.cid[0] ^= 0xff;
	return setsockopt(f->a, SOL_DTLS, DTLS_PEER_NEW, &p, sizeof(p));
}

static int call_peer_new(struct fx *f)
{
	return peer_new(f, PEER_ID);
}

/* Without injection: P_OTHER's peer (no keys, not at b), then b's */
static int peer_add(struct fx *f)
{
	if ((f->peers & P_OTHER) && peer_new(f, OTHER_ID)) {
		fail(f, "DTLS_PEER_NEW of another peer: %s", strerror(errno));
		return -1;
	}
	if (f->peers & P_NONE)
		return 0;	/* the call adds it */
	if ((f->peers & P_AWAY) && f->tx_cid.len)
		f->moved_id = 1;
	if (peer_new(f, PEER_ID)) {
		fail(f, "DTLS_PEER_NEW without injection: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* DTLS_PEER_TX or DTLS_PEER_RX for b's peer, as install_keys() for a connected a */
static int peer_keys(struct fx *f, int dir, int next)
{
	const struct dkey13 *k = dir == DTLS_TX ? &f->ab13[next] : &f->ba13[next];
	struct {
		struct dtls_peer_key pk;
		uint8_t ci[128];
	} o = { .pk = { .id = PEER_ID } };
	struct cinfo ci;

	if (f->v13)
		cinfo13_build(&ci, k, k->epoch, !next);
	else
		cinfo_build(&ci, dir == DTLS_TX ? &f->ab : &f->ba, REC_NUM(EPOCH, 1));
	memcpy(o.ci, ci.b, ci.len);
	return setsockopt(f->a, SOL_DTLS, dir == DTLS_TX ? DTLS_PEER_TX : DTLS_PEER_RX, &o,
			  sizeof(o.pk) + ci.len);
}

/* a sends to b: to its address on a socket with peers */
static ssize_t a_send(struct fx *f, const void *buf, size_t len)
{
	if (!f->peers)
		return send(f->a, buf, len, 0);
	return sendto(f->a, buf, len, 0, (void *)&f->baddr, f->blen);
}

/*
 * DTLS_PEER_INFO of b's peer: 0 as expected (its keys @flags, at b), -1
 * gone.  A socket whose first SOL_DTLS option failed is plain UDP, which
 * knows no SOL_DTLS (IPv4: EOPNOTSUPP, IPv6: ENOPROTOOPT).
 */
static int peer_info(struct fx *f, uint32_t flags)
{
	struct dtls_peer p = { .id = PEER_ID };
	socklen_t l = sizeof(p);
	int plain = cur->call == call_peer_new && !(f->peers & P_OTHER);

	if (getsockopt(f->a, SOL_DTLS, DTLS_PEER_INFO, &p, &l)) {
		if (errno != ENOENT &&
		    !(plain && (errno == EOPNOTSUPP || errno == ENOPROTOOPT)))
			fail(f, "DTLS_PEER_INFO: %s", strerror(errno));
		return -1;
	}
	if (l != sizeof(p) || p.id != PEER_ID || p.flags != flags ||
	    (!(f->peers & P_AWAY) && memcmp(&p.addr, &f->baddr, f->blen)) ||
	    memcmp(&p.tx_cid, &f->tx_cid, 1 + f->tx_cid.len) ||
	    memcmp(&p.rx_cid, &f->rx_cid, 1 + f->rx_cid.len))
		fail(f, "DTLS_PEER_INFO: flags %#x (want %#x), or address or connection IDs not those set",
		     p.flags, flags);
	return 0;
}

/* b's next datagram comes up whole, as sent, with @peer_id */
static void expect_whole(struct fx *f, const uint8_t *b, size_t len, uint32_t peer_id)
{
	static uint8_t buf[2048];
	struct dtls_record_info info;
	int have, seg;
	ssize_t n;

	if (wait_in(f->a, 2000) <= 0) {
		fail(f, "no whole datagram");
		return;
	}
	n = recv_rec(f->a, buf, sizeof(buf), MSG_DONTWAIT, 1, &info, &have, &seg);
	if (n != (ssize_t)len || memcmp(buf, b, len) || !have ||
	    info.flags != DTLS_RECORD_F_DATAGRAM || info.peer_id != peer_id)
		fail(f, "whole datagram: %zd bytes, flags %#x, peer_id %u (want %zu, %#x, %u)", n,
		     have ? info.flags : 0, have ? info.peer_id : 0, len, DTLS_RECORD_F_DATAGRAM,
		     peer_id);
}

/* b sends record @id: a socket whose peer has no RX keys passes it up whole */
static void check_rx_whole(struct fx *f, uint32_t peer_id)
{
	static uint8_t rec[RLEN + 64 + DTLS_CID_MAX_SIZE];
	size_t l = peer_seal(f, f->nrec + 1, 23, rec);

	if (send(f->b, rec, l, 0) != (ssize_t)l) {
		fail(f, "peer send: %s", strerror(errno));
		return;
	}
	expect_whole(f, rec, l, peer_id);
}

/* a sends to b, whose peer has no TX keys: the bytes go out as they are */
static void check_tx_plain(struct fx *f)
{
	char b[64];

	if (a_send(f, "plain-a", 7) != 7 || wait_in(f->b, 2000) <= 0 ||
	    recv(f->b, b, sizeof(b), MSG_DONTWAIT) != 7 || memcmp(b, "plain-a", 7))
		fail(f, "a did not send as it is to a peer without TX keys");
}


/*
 * Failed: no such peer, and the socket is unchanged (the other peer, if
 * any, still there); the retry adds it.  Then its keys go in and records
 * go both ways.
 */
static void after_peer_new(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret && peer_info(f, 0) != -1)
		fail(f, "DTLS_PEER_NEW failed but the peer is there");
	if (!f->why[0] && ret && call_peer_new(f))
		fail(f, "DTLS_PEER_NEW retried: %s", strerror(errno));
	if (f->why[0])
		return;
	peer_info(f, 0);
	check_rx_whole(f, PEER_ID);	/* no keys yet */
	check_tx_plain(f);
	if (f->why[0] || install(f, DTLS_TX) || install(f, DTLS_RX))
		return;
	check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
}

/* DTLS_PEER_TX (arg 0) or DTLS_PEER_RX (arg 1) failed: none; then the retry */
static void after_peer_keys(struct fx *f, int ret, int err)
{
	int rx = cur->call == call_rx;

	(void)err;
	if (ret) {
		peer_info(f, rx ? DTLS_PEER_F_TX : 0);
		if (rx)
			check_rx_whole(f, PEER_ID);
		else
			check_tx_plain(f);
		if (!f->why[0] && install_keys(f, rx ? DTLS_RX : DTLS_TX, 0))
			fail(f, "retried: %s", strerror(errno));
	}
	if (f->why[0])
		return;
	peer_info(f, rx ? DTLS_PEER_F_TX | DTLS_PEER_F_RX : DTLS_PEER_F_TX);
	if (!rx) {
		check_tx(f, 1);
		return;
	}
	check_rx(f);
	if (!f->why[0])
		check_tx(f, 1);
}

static int setup_peer_tx(struct fx *f)
{
	return fx_init(f, cur->kind, cur->v13) || (cur->arg && install(f, DTLS_TX));
}

/* records of b's peer queued when it is deleted */
static int setup_peer_del(struct fx *f)
{
	long long before;

	if (setup_send(f))
		return -1;
	before = dstat("DtlsRxRecords");
	if (peer_send(f, 1, 3, 23, 0))
		return -1;
	settle(before, 3);
	return 0;
}

static int call_peer_del(struct fx *f)
{
	uint32_t id = PEER_ID;

	return setsockopt(f->a, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id));
}

/*
 * The records queued before are delivered either way.  Failed: the peer
 * is intact; deleted: gone, b's next record comes up whole for no peer,
 * and a's send to b goes out as it is.
 */
static void after_peer_del(struct fx *f, int ret, int err)
{
	(void)err;
	drain_check(f);
	if (f->why[0])
		return;
	if (ret) {
		peer_info(f, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
		check_rx(f);
		if (!f->why[0])
			check_tx(f, 1);
		return;
	}
	if (peer_info(f, 0) != -1)
		fail(f, "the peer is still there");
	if (!f->why[0])
		check_rx_whole(f, 0);
	if (!f->why[0])
		check_tx_plain(f);
}

static struct dtls_peer info_got;

static int call_peer_info(struct fx *f)
{
	socklen_t l = sizeof(info_got);

	(void)f;
	info_got.id = PEER_ID;
	return getsockopt(f->a, SOL_DTLS, DTLS_PEER_INFO, &info_got, &l);
}

static void after_peer_info(struct fx *f, int ret, int err)
{
	(void)err;
	if (ret && call_peer_info(f))
		fail(f, "DTLS_PEER_INFO retried: %s", strerror(errno));
	else if (info_got.flags != (DTLS_PEER_F_TX | DTLS_PEER_F_RX) ||
		 memcmp(&info_got.addr, &f->baddr, f->blen))
		fail(f, "DTLS_PEER_INFO read flags %#x or another address", info_got.flags);
	if (f->why[0])
		return;
	check_tx(f, 1);
	if (!f->why[0])
		check_rx(f);
}

/* a sends to b, whose peer has no TX keys: as it is */
static int call_send_plain(struct fx *f)
{
	f->dlen = payload_make(f->data, 55, 300);
	return a_send(f, f->data, f->dlen);
}

static void after_send_plain(struct fx *f, int ret, int err)
{
	static uint8_t buf[1024];

	(void)err;
	if (ret < 0) {
		peer_nothing(f, "from a send that failed");
		if (call_send_plain(f) != (ssize_t)f->dlen) {
			fail(f, "the send retried: %s", strerror(errno));
			return;
		}
	}
	if (wait_in(f->b, 2000) <= 0 || recv(f->b, buf, sizeof(buf), MSG_DONTWAIT) !=
	    (ssize_t)f->dlen || memcmp(buf, f->data, f->dlen))
		fail(f, "the peer did not get the datagram as it was sent");
	peer_nothing(f, "after the datagram");
	if (f->why[0] || install(f, DTLS_TX))
		return;
	check_tx(f, 1);
}

/* The float's record was received: b's peer is at b's address now */
static void after_recv_moved(struct fx *f, int ret, int err)
{
	struct dtls_peer p = { .id = PEER_ID };
	socklen_t l = sizeof(p);

	after_recv(f, ret, err);
	if (f->why[0])
		return;
	if (!f->got[1])
		fail(f, "the record that moved the peer was not delivered");
	else if (getsockopt(f->a, SOL_DTLS, DTLS_PEER_INFO, &p, &l) ||
		 memcmp(&p.addr, &f->baddr, f->blen))
		fail(f, "the peer did not move to b's address (%s)", strerror(errno));
	if (!f->why[0])
		check_tx(f, 1);	/* to b's address: the peer is there now */
}

/* ---- close ---- */

enum { C_GRO = 1, C_UPDATE = 2 };

static int setup_close(struct fx *f)
{
	uint8_t b[256];

	if (fx_init(f, cur->kind, cur->v13) || install(f, DTLS_TX) || install(f, DTLS_RX))
		return -1;
	if ((cur->arg & C_GRO) && set_int(f, f->a, SOL_UDP, UDP_GRO, 1, "UDP_GRO"))
		return -1;
	/* DTLS 1.3: epoch 4 installed both ways, epoch 3's keys still held */
	if ((cur->arg & C_UPDATE) && (call_rx_next(f) || call_tx_next(f))) {
		fail(f, "key update without injection: %s", strerror(errno));
		return -1;
	}
	/* records queued both ways; under UDP_GRO the reader holds a batch */
	if ((cur->arg & C_GRO) ? peer_send_gso(f, 1, 4) : peer_send(f, 1, 3, 23, 0))
		return -1;
	if (a_send(f, "to-b", 4) != 4 || wait_in(f->a, 2000) <= 0) {
		fail(f, "traffic before close: %s", strerror(errno));
		return -1;
	}
	if ((cur->arg & C_GRO) && recv(f->a, b, RLEN, MSG_DONTWAIT) != RLEN) {
		fail(f, "a read of one record: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int call_close(struct fx *f)
{
	int r = close(f->a);

	f->a = -1;
	return r;
}

static void after_close(struct fx *f, int ret, int err)
{
	(void)f;
	(void)ret;
	(void)err;
	/* the counters and the module's references: checked per entry point */
}

#define EP(n, s, c, a, k, g, ne, eo, pg) \
	{ .name = n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .normal_errno = ne, .errno_ok = eo, .pages = pg }
/* the same on a DTLS 1.3 socket: its keys, records and peer (dtls13_ref.h) */
#define EP13(n, s, c, a, k, g, ne, eo, pg) \
	{ .name = "DTLS 1.3: " n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .normal_errno = ne, .errno_ok = eo, .pages = pg, .v13 = 1 }

/* with connection IDs both ways (CID_SET, or CID_CALL for the CID options) */
#define EPC(n, s, c, a, k, g, ne, eo, pg, ci) \
	{ .name = "CID: " n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .normal_errno = ne, .errno_ok = eo, .pages = pg, .cid = ci }
#define EPC13(n, s, c, a, k, g, ne, eo, pg, ci) \
	{ .name = "DTLS 1.3 CID: " n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .normal_errno = ne, .errno_ok = eo, .pages = pg, .v13 = 1, .cid = ci }

/* on an unconnected socket with peers (P_*): b is one of them */
#define EPP(n, s, c, a, k, g, pf) \
	{ .name = "peers: " n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .pages = 1, .peers = P_PEER | (pf) }
#define EPP13(n, s, c, a, k, g, pf) \
	{ .name = "peers DTLS 1.3: " n, .setup = s, .call = c, .after = a, .kind = k, \
	  .arg = g, .pages = 1, .v13 = 1, .peers = P_PEER | (pf) }
#define EPPC(n, s, c, a, k, g, pf) \
	{ .name = "peers CID: " n, .setup = s, .call = c, .after = a, .kind = k, .arg = g, \
	  .pages = 1, .cid = CID_SET, .peers = P_PEER | (pf) }
#define EPPC13(n, s, c, a, k, g, pf) \
	{ .name = "peers DTLS 1.3 CID: " n, .setup = s, .call = c, .after = a, .kind = k, \
	  .arg = g, .pages = 1, .v13 = 1, .cid = CID_SET, .peers = P_PEER | (pf) }

/*
 * page_alloc_silent: 1 where the kernel fails an injected page allocation
 * without a warning.
 */
static const struct ep eps[] = {
	EP("DTLS_TX, first option", setup_pair, call_tx, after_tx, SK_IPV4, 1, 0, 0, 1),
	EP("DTLS_TX, first option, IPv6", setup_pair, call_tx, after_tx, SK_IPV6, 1, 0, 0, 1),
	EP("DTLS_TX after DTLS_RX", setup_after_rx, call_tx, after_tx, SK_IPV4, 0, 0, 0, 1),
	EP("DTLS_RX, first option", setup_pair, call_rx, after_rx, SK_IPV4, 1, 0, 0, 1),
	EP("DTLS_RX, first option, v4-mapped", setup_pair, call_rx, after_rx, SK_MAPPED, 1, 0, 0, 1),
	EP("DTLS_RX after DTLS_TX", setup_after_tx, call_rx, after_rx, SK_IPV4, 0, 0, 0, 1),
	EP("DTLS_RX after a 65536-record window", setup_window, call_rx, after_rx, SK_IPV4, 0, 0, 0, 1),
	EP("DTLS_RX_REPLAY_WINDOW, first option", setup_pair, call_window, after_window, SK_IPV4, 1, 0, 0, 1),
	EP("DTLS_TX, getsockopt", setup_getkeys, call_getkeys, after_getkeys, SK_IPV4, DTLS_TX, 0, 0, 1),
	EP("DTLS_RX, getsockopt", setup_getkeys, call_getkeys, after_getkeys, SK_IPV4, DTLS_RX, 0, 0, 1),
	EP("DTLS_RX with datagrams queued", setup_queued, call_rx, after_queued, SK_IPV4, 0, 0, 0, 1),
	EP("DTLS_RX with datagrams queued, packet tap", setup_queued, call_rx, after_queued, SK_IPV6, 1, 0, 0, 1),
	EP("UDP_GRO after DTLS_RX", setup_after_rx, call_gro, after_gro, SK_IPV4, 0, 0, 0, 1),
	EP("UDP_GRO after DTLS_RX, IPv6", setup_after_rx, call_gro, after_gro, SK_IPV6, 0, 0, 0, 1),
	EP("send", setup_send, call_send, after_send, SK_IPV4, S_PLAIN, 0, 0, 1),
	EP("send, IPv6", setup_send, call_send, after_send, SK_IPV6, S_PLAIN, 0, 0, 1),
	EP("send, DTLS_SET_RECORD_TYPE", setup_send, call_send, after_send, SK_IPV4, S_ALERT, 0, 0, 1),
	EP("send, DTLS_SET_PLAINTEXT_SEQ", setup_send, call_send, after_send, SK_IPV4, S_CLEAR, 0, 0, 1),
	EP("send, UDP_SEGMENT and IP_TOS cmsgs", setup_send_gso, call_send, after_send, SK_IPV4, S_GSO_CMSG, 0, 0, 1),
	EP("send, UDP_SEGMENT, 40000 bytes", setup_send_gso, call_send, after_send, SK_IPV4, S_GSO_BIG, 0, 0, 1),
	EP("splice", setup_splice, call_splice, after_splice, SK_IPV4, 0, 0, 0, 1),
	EP("sendfile", setup_splice, call_splice, after_splice, SK_IPV4, 1, 0, 0, 1),
	EP("recv", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM, 0, 0, 1),
	EP("recv, no room for the record type", setup_recv, call_recv, after_recv, SK_IPV4, 0, 0, 0, 1),
	EP("recv, no room, an alert first", setup_recv, call_recv, after_recv, SK_IPV4, R_ALERT, EIO, 0, 1),
	EP("recv, MSG_PEEK", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_PEEK, 0, 0, 1),
	EP("recv, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO, 0, 0, 1),
	EP("recv, UDP_GRO, no room for the record type", setup_recv, call_recv, after_recv, SK_IPV4, R_GRO, 0, 0, 1),
	EP("recv, UDP_GRO, MSG_PEEK", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO | R_PEEK, 0, 0, 1),
	EP("poll, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_GRO | R_POLL, 0, 0, 1),
	EP("FIONREAD, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_GRO | R_FIONREAD, 0, 0, 1),
	EP("close", setup_close, call_close, after_close, SK_IPV4, 0, 0, 0, 1),
	EP("close, UDP_GRO reader holding a batch", setup_close, call_close, after_close, SK_IPV6, C_GRO, 0, 0, 1),
	EP13("DTLS_TX, first option", setup_pair, call_tx, after_tx, SK_IPV4, 1, 0, 0, 1),
	EP13("DTLS_TX after DTLS_RX", setup_after_rx, call_tx, after_tx, SK_IPV6, 0, 0, 0, 1),
	EP13("DTLS_RX, first option", setup_pair, call_rx, after_rx, SK_IPV4, 1, 0, 0, 1),
	EP13("DTLS_RX after DTLS_TX", setup_after_tx, call_rx, after_rx, SK_IPV4, 0, 0, 0, 1),
	EP13("DTLS_RX with datagrams queued", setup_queued, call_rx, after_queued, SK_IPV4, 0, 0, 0, 1),
	EP13("DTLS_TX, next epoch (key update)", setup_update, call_tx_next, after_tx_next, SK_IPV4, 0, 0, 0, 1),
	EP13("DTLS_RX, next epoch (key update), records queued", setup_update, call_rx_next, after_rx_next, SK_IPV4, 0, 0, 0, 1),
	EP13("DTLS_RX, next epoch (key update), UDP_GRO batch queued, packet tap", setup_update, call_rx_next, after_rx_next, SK_IPV6, U_GRO, 0, 0, 1),
	EP13("DTLS_TX, getsockopt", setup_getkeys, call_getkeys, after_getkeys, SK_IPV4, DTLS_TX, 0, 0, 1),
	EP13("DTLS_RX, getsockopt, after a key update", setup_getkeys, call_getkeys, after_getkeys, SK_IPV4, DTLS_RX, 0, 0, 1),
	EP13("DTLS_KEY_LIMITS, first option", setup_pair, call_keyopt, after_keyopt, SK_IPV4, K_FIRST, ENOTCONN, 0, 1),
	EP13("DTLS_KEY_LIMITS", setup_keyopt, call_keyopt, after_keyopt, SK_IPV4, K_SET, 0, 0, 1),
	EP13("DTLS_KEY_LIMITS, getsockopt", setup_keyopt, call_keyopt, after_keyopt, SK_IPV4, K_GET, 0, 0, 1),
	EP13("DTLS_KEY_USAGE", setup_keyopt, call_keyopt, after_keyopt, SK_IPV4, K_USAGE, 0, 0, 1),
	EP13("send", setup_send, call_send, after_send, SK_IPV4, S_PLAIN, 0, 0, 1),
	EP13("send, IPv6", setup_send, call_send, after_send, SK_IPV6, S_PLAIN, 0, 0, 1),
	EP13("send, DTLS_SET_RECORD_TYPE ack", setup_send, call_send, after_send, SK_IPV4, S_ACK, 0, 0, 1),
	EP13("send, DTLS_SET_PLAINTEXT_SEQ", setup_send, call_send, after_send, SK_IPV4, S_CLEAR, 0, 0, 1),
	EP13("send, UDP_SEGMENT and IP_TOS cmsgs", setup_send_gso, call_send, after_send, SK_IPV4, S_GSO_CMSG, 0, 0, 1),
	EP13("send, UDP_SEGMENT, 40000 bytes", setup_send_gso, call_send, after_send, SK_IPV4, S_GSO_BIG, 0, 0, 1),
	EP13("splice", setup_splice, call_splice, after_splice, SK_IPV4, 0, 0, 0, 1),
	EP13("recv", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM, 0, 0, 1),
	EP13("recv, no room for the record type", setup_recv, call_recv, after_recv, SK_IPV4, 0, 0, 0, 1),
	EP13("recv, no room, an alert first", setup_recv, call_recv, after_recv, SK_IPV4, R_ALERT, EIO, 0, 1),
	EP13("recv, MSG_PEEK", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_PEEK, 0, 0, 1),
	EP13("recv, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO, 0, 0, 1),
	EP13("poll, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_GRO | R_POLL, 0, 0, 1),
	EP13("FIONREAD, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV6, R_GRO | R_FIONREAD, 0, 0, 1),
	EP13("close, after key updates both ways", setup_close, call_close, after_close, SK_IPV4, C_UPDATE, 0, 0, 1),
	EPC("DTLS_TX_CID, first option", setup_pair, call_cid_set, after_cid_set, SK_IPV4, DTLS_TX_CID, 0, 0, 1, CID_CALL),
	EPC("DTLS_RX_CID, first option", setup_pair, call_cid_set, after_cid_set, SK_IPV6, DTLS_RX_CID, 0, 0, 1, CID_CALL),
	EPC("DTLS_TX_CID, getsockopt", setup_cid_get, call_cid_get, after_cid_get, SK_IPV4, DTLS_TX_CID, 0, 0, 1, CID_SET),
	EPC("DTLS_RX_CID, getsockopt", setup_cid_get, call_cid_get, after_cid_get, SK_IPV4, DTLS_RX_CID, 0, 0, 1, CID_SET),
	EPC("DTLS_TX after DTLS_RX", setup_after_rx, call_tx, after_tx, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC("DTLS_RX after DTLS_TX", setup_after_tx, call_rx, after_rx, SK_IPV6, 0, 0, 0, 1, CID_SET),
	EPC("DTLS_RX with datagrams queued", setup_queued, call_rx, after_queued, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC("send", setup_send, call_send, after_send, SK_IPV4, S_PLAIN, 0, 0, 1, CID_SET),
	EPC("send, UDP_SEGMENT, 40000 bytes", setup_send_gso, call_send, after_send, SK_IPV4, S_GSO_BIG, 0, 0, 1, CID_SET),
	EPC("recv", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM, 0, 0, 1, CID_SET),
	EPC("recv, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV6, R_ROOM | R_GRO, 0, 0, 1, CID_SET),
	EPC13("DTLS_RX_CID, first option", setup_pair, call_cid_set, after_cid_set, SK_IPV4, DTLS_RX_CID, 0, 0, 1, CID_CALL),
	EPC13("DTLS_TX after DTLS_RX", setup_after_rx, call_tx, after_tx, SK_IPV6, 0, 0, 0, 1, CID_SET),
	EPC13("DTLS_RX after DTLS_TX", setup_after_tx, call_rx, after_rx, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC13("DTLS_RX with datagrams queued", setup_queued, call_rx, after_queued, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC13("DTLS_TX, next epoch (key update)", setup_update, call_tx_next, after_tx_next, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC13("DTLS_RX, next epoch (key update), records queued", setup_update, call_rx_next, after_rx_next, SK_IPV4, 0, 0, 0, 1, CID_SET),
	EPC13("send", setup_send, call_send, after_send, SK_IPV6, S_PLAIN, 0, 0, 1, CID_SET),
	EPC13("recv, UDP_GRO", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO, 0, 0, 1, CID_SET),
	EPP("DTLS_PEER_NEW, the first", setup_pair, call_peer_new, after_peer_new, SK_IPV4, 0, P_NONE),
	EPP("DTLS_PEER_NEW, the first, IPv6", setup_pair, call_peer_new, after_peer_new, SK_IPV6, 0, P_NONE),
	EPPC("DTLS_PEER_NEW, a second", setup_pair, call_peer_new, after_peer_new, SK_IPV4, 0, P_NONE | P_OTHER),
	EPP("DTLS_PEER_TX", setup_peer_tx, call_tx, after_peer_keys, SK_IPV4, 0, 0),
	EPP("DTLS_PEER_RX", setup_peer_tx, call_rx, after_peer_keys, SK_IPV6, 1, P_OTHER),
	EPPC13("DTLS_PEER_TX", setup_peer_tx, call_tx, after_peer_keys, SK_IPV4, 0, 0),
	EPPC13("DTLS_PEER_RX", setup_peer_tx, call_rx, after_peer_keys, SK_IPV4, 1, P_OTHER),
	EPP13("DTLS_PEER_TX, next epoch (key update)", setup_update, call_tx_next, after_tx_next, SK_IPV4, 0, 0),
	EPP13("DTLS_PEER_RX, next epoch (key update), records queued", setup_update, call_rx_next, after_rx_next, SK_IPV6, 0, 0),
	EPP("DTLS_PEER_DEL, records queued", setup_peer_del, call_peer_del, after_peer_del, SK_IPV4, 0, P_OTHER),
	EPPC13("DTLS_PEER_DEL, records queued", setup_peer_del, call_peer_del, after_peer_del, SK_IPV4, 0, 0),
	EPP("DTLS_PEER_INFO", setup_send, call_peer_info, after_peer_info, SK_IPV4, 0, 0),
	EPP("sendto a peer", setup_send, call_send, after_send, SK_IPV4, S_PLAIN, 0),
	EPPC("send, DTLS_SET_PEER", setup_send, call_send, after_send, SK_IPV6, S_SETPEER, P_OTHER),
	EPP13("send, DTLS_SET_PEER", setup_send, call_send, after_send, SK_IPV4, S_SETPEER, 0),
	EPP("sendto a peer without TX keys, as it is", setup_pair, call_send_plain, after_send_plain, SK_IPV4, 0, 0),
	EPP("recv", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM, 0),
	EPPC13("recv", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM, P_OTHER),
	EPPC("recv, a record that moved its peer", setup_recv, call_recv, after_recv_moved, SK_IPV4, R_ROOM, P_AWAY | P_OTHER),
	EPPC13("recv, a record that moved its peer", setup_recv, call_recv, after_recv_moved, SK_IPV6, R_ROOM, P_AWAY),
	EPP("close, two peers, records queued both ways", setup_close, call_close, after_close, SK_IPV4, 0, P_OTHER),
	EPPC13("close, two peers, after key updates both ways", setup_close, call_close, after_close, SK_IPV6, C_UPDATE, P_OTHER),
	/* last: these took 6.1 down (a batch queued under UDP_GRO, cloned by the tap) */
	EP("recv, UDP_GRO, packet tap", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO | R_TAP, 0, 0, 1),
	EP("poll, UDP_GRO, packet tap", setup_recv, call_recv, after_recv, SK_IPV4, R_GRO | R_POLL | R_TAP, 0, 0, 1),
	EP("FIONREAD, UDP_GRO, packet tap", setup_recv, call_recv, after_recv, SK_IPV6, R_GRO | R_FIONREAD | R_TAP, 0, 0, 1),
	EP13("recv, UDP_GRO, packet tap", setup_recv, call_recv, after_recv, SK_IPV4, R_ROOM | R_GRO | R_TAP, 0, 0, 1),
};
#define N_EPS (sizeof(eps) / sizeof(eps[0]))

static int errno_allowed(const struct ep *e, int err)
{
	return err == ENOMEM || err == ENOBUFS ||
	       (e->normal_errno && err == e->normal_errno) ||
	       (e->errno_ok && err == e->errno_ok);
}

/* Inject at n = 1, 2, ... into @e's call; one TAP line. */
static void run_ep(const struct ep *e)
{
	unsigned int n, points = 0, ok = 0;
	char first_bad[700] = "";
	uint64_t t0 = now_ms();
	struct fx f;

	cur = e;
	watchdog(e->name);
	inject_pages(e->pages);
	for (n = 1; n <= MAX_POINTS; n++) {
		int ret, err, injected;
		long left;

		if (e->setup(&f)) {
			snprintf(first_bad, sizeof(first_bad), "setup (no injection): %s", f.why);
			fx_close(&f);
			break;
		}
		nth_set(n);
		ret = e->call(&f);
		err = errno;
		left = nth_get();
		nth_set(0);
		injected = left == 0;
		if (left < 0)
			fail(&f, "cannot read /proc/thread-self/fail-nth back");
		else if (ret < 0 && !errno_allowed(e, err))
			fail(&f, "the call failed with %s", strerror(err));
		else if (ret < 0 && !injected && err != e->normal_errno)
			fail(&f, "the call failed with %s and no failure injected",
			     strerror(err));
		else if (ret >= 0 && !injected && e->normal_errno)
			fail(&f, "the call returned %d, want %s", ret, strerror(e->normal_errno));
		if (!f.why[0])
			e->after(&f, ret, err);
		fx_close(&f);
		if (klog_check(e->name, n))
			fail(&f, "kernel log hit (above)");
		if (verbose || f.why[0])
			printf("#   n=%u: %s, %s%s%s\n", n, injected ? "injected" : "not injected",
			       ret < 0 ? strerror(err) : "succeeded",
			       f.why[0] ? ": " : "", f.why);
		if (f.why[0] && !first_bad[0])
			snprintf(first_bad, sizeof(first_bad), "n=%u: %s", n, f.why);
		if (!injected)
			break;
		points++;
		ok += !f.why[0];
	}
	if (n > MAX_POINTS && !first_bad[0])
		snprintf(first_bad, sizeof(first_bad), "more than %d injection points", MAX_POINTS);
	if (!first_bad[0])
		base_wait(&base0, 10000, first_bad, sizeof(first_bad));
	printf("# %s: %u injection points, %u ok (%.1f s)\n", e->name, points, ok,
	       (now_ms() - t0) / 1000.0);
	watchdog(NULL);
	tap(!first_bad[0], e->name, "%s", first_bad[0] ? first_bad : "all ok");
}

/* ---------------------------------------------------------------------- */
/* Module load and unload                                                  */

/* a pair with both directions works: the module is there and sound */
static int mod_works(char *why, size_t wlen)
{
	struct fx f;
	int r;

	cur = &eps[0];
	if (fx_init(&f, SK_IPV4, 0) || install(&f, DTLS_TX) || install(&f, DTLS_RX)) {
		snprintf(why, wlen, "%s", f.why);
		fx_close(&f);
		return -1;
	}
	check_tx(&f, 1);
	if (!f.why[0])
		check_rx(&f);
	r = f.why[0] ? -1 : 0;
	if (r)
		snprintf(why, wlen, "%s", f.why);
	fx_close(&f);
	return r;
}

/* The module is gone: UDP answers SOL_DTLS as before it was loaded. */
static int mod_gone(char *why, size_t wlen)
{
	struct cinfo ci;
	struct dkey k;
	int a, b, r;

	if (mod_loaded() || access(DSTAT_FILE, F_OK) == 0) {
		snprintf(why, wlen, "the module is still there");
		return -1;
	}
	if (udp_pair(SK_IPV4, SK_IPV4, &a, &b)) {
		snprintf(why, wlen, "udp_pair: %s", strerror(errno));
		return -1;
	}
	dkey_derive(&k, &cdescs[0], "fault-gone");
	cinfo_build(&ci, &k, REC_NUM(EPOCH, 1));
	r = setsockopt(a, SOL_DTLS, DTLS_TX, ci.b, ci.len);
	close(a);
	close(b);
	if (r == 0 || errno != ENOPROTOOPT) {
		snprintf(why, wlen, "SOL_DTLS without the module: %s",
			 r ? strerror(errno) : "succeeded");
		return -1;
	}
	return 0;
}

/* The module's image, for init_module(2) */
static void *ko_image;
static size_t ko_len;

static int image_read(const char *ko)
{
	struct stat st;
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || fstat(fd, &st))
		return -1;
	ko_len = st.st_size;
	ko_image = malloc(ko_len);
	r = ko_image ? read(fd, ko_image, ko_len) : -1;
	close(fd);
	return r == (ssize_t)ko_len ? 0 : -1;
}

static int mod_idle(void)
{
	uint64_t end = now_ms() + 10000;

	while (modref() != 0 && now_ms() < end)
		usleep(20000);
	return modref() == 0 ? 0 : -1;
}

/* One call of init_module() or delete_module() with fail-nth @n. */
static int load_call(int unload, unsigned int n, int *err, int *injected)
{
	long left;
	int ret;

	nth_set(n);
	if (unload)
		ret = syscall(SYS_delete_module, "dtls", O_NONBLOCK);
	else
		ret = syscall(SYS_init_module, ko_image, ko_len, "");
	*err = errno;
	left = nth_get();
	nth_set(0);
	*injected = left == 0;
	return ret;
}

static void run_load(const char *ko, int unload)
{
	const char *name = unload ? "module unload (delete_module)" : "module load (init_module)";
	unsigned int n, points = 0, ok = 0;
	char first_bad[700] = "", why[512];
	uint64_t t0 = now_ms();

	if (!selected(name))
		return;
	/*
	 * On the debug kernel (KASAN) the kernel's own allocations in
	 * load_module() warn with a call trace when they fail, whatever the
	 * module does: the vmalloc() of KASAN's module shadow
	 * (kasan_alloc_module_shadow()), a WARNING in jump_label_del_module()
	 * when jump_label_module_notify() fails, and kmemleak's "Cannot
	 * allocate a scan area".  So injection into module load is asked for
	 * with -L; by default it is skipped (the other parts load it).
	 */
	if (!unload && !inject_load && !no_inject) {
		printf("ok %d %s # SKIP injection only with -L: load_module()'s own allocations warn when they fail (KASAN module shadow, jump_label)\n",
		       ++tapn, name);
		return;
	}
	watchdog(name);
	/*
	 * init_module(), not finit_module(): finit_module() reads the file
	 * into a vmalloc() buffer (kernel_read_file()), and vmalloc() warns
	 * with a call trace when one of its own allocations fails: the
	 * kernel's warning, before load_module() starts, which is the same
	 * for both calls.  init_module()'s copy is __GFP_NOWARN.  Slab
	 * allocations only: a page allocation failed in vmalloc() or in a
	 * per-CPU allocation may warn too (not tried: see the report).
	 */
	inject_pages(0);
	if (!unload && image_read(ko)) {
		tap(0, name, "cannot read %s: %s", ko, strerror(errno));
		return;
	}
	for (n = 1; n <= MAX_POINTS; n++) {
		int ret, err, injected, loaded;

		why[0] = 0;
		if (unload ? (!mod_loaded() && mod_load(ko)) || mod_idle() :
			     mod_loaded() && mod_unload()) {
			snprintf(first_bad, sizeof(first_bad), "setup (no injection): %s",
				 strerror(errno));
			break;
		}
		if (klog_check(name, 0)) {
			snprintf(first_bad, sizeof(first_bad), "kernel log hit in the setup (above)");
			break;
		}
		ret = load_call(unload, n, &err, &injected);
		loaded = mod_loaded();
		if (ret < 0 && err != ENOMEM)
			snprintf(why, sizeof(why), "failed with %s", strerror(err));
		else if (ret < 0 && !injected)
			snprintf(why, sizeof(why), "failed with %s, no failure injected",
				 strerror(err));
		else if ((ret == 0) != (unload ? !loaded : loaded))
			snprintf(why, sizeof(why), "returned %d but the module is %s", ret,
				 loaded ? "loaded" : "not loaded");
		else if (loaded)
			mod_works(why, sizeof(why));	/* loaded and working */
		else
			mod_gone(why, sizeof(why));	/* or not there at all */
		if (klog_check(name, n) && !why[0])
			snprintf(why, sizeof(why), "kernel log hit (above)");
		if (verbose || why[0])
			printf("#   n=%u: %s, %s%s%s\n", n, injected ? "injected" : "not injected",
			       ret < 0 ? strerror(err) : "succeeded", why[0] ? ": " : "", why);
		if (why[0] && !first_bad[0])
			snprintf(first_bad, sizeof(first_bad), "n=%u: %s", n, why);
		if (!injected)
			break;
		points++;
		ok += !why[0];
	}
	if (n > MAX_POINTS && !first_bad[0])
		snprintf(first_bad, sizeof(first_bad), "more than %d injection points", MAX_POINTS);
	printf("# %s: %u injection points, %u ok (%.1f s)\n", name, points, ok,
	       (now_ms() - t0) / 1000.0);
	watchdog(NULL);
	tap(!first_bad[0], name, "%s", first_bad[0] ? first_bad : "all ok");
}

/* ---------------------------------------------------------------------- */
/* kmemleak                                                                */

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static void kmemleak_start(void)
{
	/*
	 * What leaked before this test is not its business: kmemleak reports
	 * an object unreferenced in two scans in a row; clear forgets those.
	 */
	file_write(KMEMLEAK, "scan");
	file_write(KMEMLEAK, "scan");
	file_write(KMEMLEAK, "clear");
}

static void kmemleak_check(void)
{
	static char buf[1 << 16];
	ssize_t r;
	int fd, lines = 0;
	char *p, *nl;

	if (access(KMEMLEAK, F_OK)) {
		tap_skip("kmemleak", "no " KMEMLEAK);
		return;
	}
	/* objects older than 5 s, unreferenced in two scans in a row */
	sleep(6);
	if (file_write(KMEMLEAK, "scan")) {
		tap(0, "kmemleak", "cannot write scan to %s: %s", KMEMLEAK, strerror(errno));
		return;
	}
	sleep(1);
	file_write(KMEMLEAK, "scan");
	fd = open(KMEMLEAK, O_RDONLY);
	r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		tap(0, "kmemleak", "cannot read %s: %s", KMEMLEAK, strerror(errno));
		return;
	}
	buf[r] = 0;
	for (p = buf; *p && lines < 80; p = nl + 1, lines++) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		printf("#   kmemleak: %.*s\n", (int)(nl - p), p);
	}
	tap(r == 0, "kmemleak", "%s", r ? "suspected leaks (above)" : "no leak reported");
	klog_check("kmemleak", 0);
}

/* ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: dtls_fault [-n] [-v] [-L] [-e NAME] [-x NAME] MODULE.ko\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt, was_loaded, plan = 0;
	char why[512] = "", warm[512];
	const char *ko;

	while ((opt = getopt(argc, argv, "nvLe:x:h")) != -1) {
		switch (opt) {
		case 'n':
			no_inject = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'L':
			inject_load = 1;
			break;
		case 'e':
			only = optarg;
			break;
		case 'x':
			skip_name = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	ko = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < N_EPS; i++)
		plan += selected(eps[i].name);
	plan += selected("module load (init_module)");
	plan += selected("module unload (delete_module)");
	plan += 1;	/* kmemleak */
	plan_total = plan;
	signal(SIGALRM, on_alarm);
	printf("TAP version 13\n1..%d\n", plan);

	if (!no_inject) {
		if (access(FI_SLAB, F_OK) &&
		    mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) &&
		    errno != EBUSY)
			snprintf(why, sizeof(why), "mount debugfs: %s", strerror(errno));
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		if (!why[0] && nth_fd < 0)
			snprintf(why, sizeof(why),
				 "/proc/thread-self/fail-nth: %s (needs CONFIG_FAULT_INJECTION; -n runs without injection)",
				 strerror(errno));
		if (!why[0])
			knobs_set(why, sizeof(why));
	}
	was_loaded = mod_loaded();
	if (why[0]) {
		printf("# dtls_fault: %s\n", why);
		for (int i = 0; i < plan; i++)
			tap(0, "setup", "%s", why);
		knobs_restore();
		printf("%d passed, %d failed\n", npass, nfail);
		return 1;
	}
	klog_open();
	if (!no_inject)
		kmemleak_start();

	/* load and unload first: what may take the kernel down comes last */
	run_load(ko, 0);
	run_load(ko, 1);
	if (!mod_loaded() && mod_load(ko))
		snprintf(why, sizeof(why), "load %s: %s", ko, strerror(errno));
	/* the AEAD instances exist before the first injection */
	else if (mod_works(warm, sizeof(warm)))
		printf("# warm-up: %s\n", warm);
	mod_idle();
	base_get(&base0);
	if (base0.ref > 0)
		printf("# %lld module references with no DTLS socket of this test open\n", base0.ref);
	for (size_t i = 0; i < N_EPS; i++) {
		if (!selected(eps[i].name))
			continue;
		if (why[0])
			tap(0, eps[i].name, "%s", why);
		else
			run_ep(&eps[i]);
	}
	/* leave the module as it was found */
	if (was_loaded && !mod_loaded() && mod_load(ko))
		printf("# reloading %s: %s\n", ko, strerror(errno));
	if (!was_loaded && mod_loaded() && mod_unload())
		printf("# unloading dtls: %s\n", strerror(errno));
	watchdog(NULL);
	knobs_restore();
	if (no_inject)
		tap_skip("kmemleak", "no injection (-n)");
	else
		kmemleak_check();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
