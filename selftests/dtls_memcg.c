// SPDX-License-Identifier: GPL-2.0
/*
 * The memory a socket holds through the record layer is charged to the
 * memory cgroup of the task that installs the keys, and a cgroup at its
 * limit gets ENOMEM, not the OOM killer (Documentation/networking/dtls.rst,
 * "Memory").
 *
 *   dtls_memcg [-n SOCKETS] [-b BUDGET_KIB]    (defaults: 512, 4096)
 *
 * Needs root, cgroup2 with the memory controller (mounted here when no
 * cgroup2 is mounted; without the controller the test fails, it does not
 * skip) and dtls.ko loaded.  Layout:
 *
 *   <cgroup2>/dtls_memcg.PID            parent, +memory for its child
 *   <cgroup2>/dtls_memcg.PID/limited    the worker process
 *
 * The worker pins itself to one CPU, moves into "limited", locks its
 * memory (so that no page fault of its own is charged later), opens
 * SOCKETS plain UDP sockets connected to a sink socket of the parent's,
 * waits for the cgroup's statistics to settle, then sets memory.max to
 * memory.current plus BUDGET and sets up one socket after another, in a
 * cycle of four kinds (all AES-128-GCM, IPv4):
 *
 *   0  DTLS_TX, DTLS_RX
 *   1  DTLS_TX, DTLS_RX_REPLAY_WINDOW 65536, DTLS_RX     (16 KiB bitmap)
 *   2  DTLS_TX, DTLS_RX, one UDP_SEGMENT send of 40 KiB  (the 64 KiB buffer)
 *   3  DTLS_TX, DTLS_RX, UDP_GRO, one 16 KiB send        (the reader; the
 *      record buffer before Linux 6.5)
 *
 * until a setsockopt() fails.  A send that fails at the limit must fail
 * with ENOMEM; later sockets then get no sends.  Checks:
 *   - the refused setsockopt() failed with ENOMEM;
 *   - no OOM kill: memory.events oom_kill stayed 0 and the worker exited
 *     normally;
 *   - memory.current never went above memory.max (memory.peak and a
 *     sample after every step);
 *   - what the cgroup was charged for the sockets (memory.stat "kernel",
 *     settled, whose pages leave out the per-CPU charge batches) is at least
 *     what the module allocated for them, counted from the sizes dtls.rst
 *     gives: the replay bitmap (a ring of window + 64 bits rounded up to a
 *     power of two), the record buffer (13 + 8 + 16384 + 16 bytes), the
 *     largest UDP payload for a batch (65527 bytes), and lower bounds for
 *     the context, TX and RX state and the reader.  The AEAD transforms are
 *     left out: the crypto API does not charge them;
 *   - all of it is charged to the worker's cgroup: the parent cgroup grew
 *     by no more than its child did;
 *   - the socket whose setsockopt() was refused is as it was (nothing
 *     installed for that direction: a plain datagram, or a record sealed
 *     with the TX key if only DTLS_RX failed), and once memory.max is
 *     raised the same option succeeds on it;
 *   - closing the sockets gives the memory back: memory.current and
 *     "kernel" fall back to where they were before the sockets were opened
 *     (polled: the module frees a context after an RCU grace period).
 * The figures (bytes per socket, sockets until refused) are printed as TAP
 * comments.  Prints TAP, then "N passed, N failed".
 */
#define _GNU_SOURCE
#include "dtls_common.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define NTESTS		11
#define KIB		1024LL
#define MIB		(1024 * KIB)

/* One cgroup's charge batch per CPU (MEMCG_CHARGE_BATCH, 64 pages). */
#define CHARGE_BATCH	(64 * 4096LL)

/* What the module allocates (dtls.rst "Memory"), in bytes. */
#define WINDOW_BIG	65536
#define REC_BUF		(DTLS_HDR_LEN + 8 + DTLS_MAX_PLAINTEXT + 16)	/* AES-GCM */
#define GSO_BUF		(0xffff - 8)		/* the largest UDP payload */
/* Lower bounds of the structures (each holds arrays at least this big). */
#define MIN_CTX		64
#define MIN_TX		(512 + 64)	/* state with its scatterlists, request */
#define MIN_RX		128
#define MIN_READER	512		/* a scatterlist entry per fragment */

/* kernel memory the sockets may leave behind: the grown descriptor table */
#define CLOSE_SLACK	(32 * KIB)

#define GSO_SEG		1000		/* 40 records: 41480 bytes > 32 KiB */
#define GSO_LEN		(40 * GSO_SEG)

enum step { ST_TX, ST_WINDOW, ST_RX, ST_GSO, ST_GRO, ST_SEND, ST_END };
static const char *const step_name[] = {
	"DTLS_TX", "DTLS_RX_REPLAY_WINDOW", "DTLS_RX", "UDP_SEGMENT send",
	"UDP_GRO", "send", "-",
};

/* The steps of each kind of socket, ST_END terminated */
static const enum step kinds[4][5] = {
	{ ST_TX, ST_RX, ST_END },
	{ ST_TX, ST_WINDOW, ST_RX, ST_END },
	{ ST_TX, ST_RX, ST_GSO, ST_END },
	{ ST_TX, ST_RX, ST_GRO, ST_SEND, ST_END },
};

enum { F_KERNEL, F_SLAB, F_SOCK, F_ANON, F_FILE, F_PERCPU, F_N };
static const char *const fnames[F_N] = {
	"kernel", "slab", "sock", "anon", "file", "percpu",
};

/* What the worker measured, in memory shared with the parent. */
struct result {
	int stage;		/* 0 nothing, 1 set up, 2 installs done, 3 all */
	char err[256];		/* why the worker stopped early */
	int nsock;
	long long start, maxset, end, peak0, peak, max_seen;
	long long pstart, pend;		/* the parent cgroup's memory.current */
	long long pre;		/* memory.current before the sockets were opened */
	/* memory.stat: before the sockets, before the installs, at the limit, closed */
	long long st_pre[F_N], st0[F_N], st1[F_N], st2[F_N];
	long long floor;	/* bytes the module allocated, at least */
	int done;		/* sockets completely set up */
	int refused, ref_sock, ref_errno;
	enum step ref_step;
	int send_fail, send_errno;	/* first failed send */
	int send_bad;		/* a send failed with another errno */
	int other_fail;		/* a send or option failed before the limit */
	char other_msg[160];
	int state_ok, retry_ok;
	char state_msg[256], retry_msg[256];
	long long closed;	/* memory.current after close */
	int close_ms;
	int modern;		/* Linux 6.5 or later: sends use a page fragment */
};

static struct result *res;
static int nsock = 512;
static long long budget = 4 * MIB;
static char cg_root[200], cg_parent[240], cg_child[256];
static int mounted_here;
static int sink = -1;
static struct sockaddr_in sink_addr;

static int tapn, npass, nfail;

static void tap(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tap(int ok, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (*buf)
		printf("# %s: %s\n", name, buf);
	printf("%sok %d %s\n", ok ? "" : "not ", ++tapn, name);
	if (ok)
		npass++;
	else
		nfail++;
	fflush(stdout);
}

static void finish(void)
{
	while (tapn < NTESTS)
		tap(0, "not run", "%s", "");
	printf("%d passed, %d failed\n", npass, nfail);
}

/* ---------------------------------------------------------------------- */
/* cgroup files                                                            */

/* "key value" lines (memory.stat, memory.events): the value, -1 if absent */
static long long field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static long long file_field(const char *dir, const char *file, const char *key)
{
	char path[320], buf[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (file_read(path, buf, sizeof(buf)))
		return -1;
	return field(buf, key);
}

/*
 * The worker reads its cgroup's files through descriptors opened before
 * the limit, into static buffers: a read then allocates nothing that is
 * charged (the seq_file buffer was allocated by the first read).
 */
static char stat_buf[16384];

static long long pread_ll(int fd)
{
	char b[64];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	if (n <= 0)
		return -1;
	b[n] = 0;
	if (!strncmp(b, "max", 3))
		return LLONG_MAX;
	return strtoll(b, NULL, 10);
}

static void pread_stat(int fd, long long *out)
{
	ssize_t n = pread(fd, stat_buf, sizeof(stat_buf) - 1, 0);

	stat_buf[n > 0 ? n : 0] = 0;
	for (int i = 0; i < F_N; i++)
		out[i] = field(stat_buf, fnames[i]);
}

static int cgroup2_mounted(char *where, size_t len)
{
	char line[1024], dev[256], dir[200], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %199s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(where, len, "%s", dir);
			found = 1;
		}
	fclose(f);
	return found;
}

static int is_mountpoint(const char *dir)
{
	char line[1024], dev[256], d[512];
	FILE *f = fopen("/proc/self/mounts", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %511s", dev, d) == 2 && !strcmp(d, dir))
			found = 1;
	fclose(f);
	return found;
}

/* cgroup2 with the memory controller for a child of ours; else a message */
static int setup_cgroups(char *why, size_t len)
{
	char buf[1024], path[320];

	if (!cgroup2_mounted(cg_root, sizeof(cg_root))) {
		/* /sys/fs/cgroup, unless something (cgroup v1) is mounted there */
		if (is_mountpoint("/sys/fs/cgroup")) {
			snprintf(cg_root, sizeof(cg_root), "/tmp/dtls_memcg.XXXXXX");
			if (!mkdtemp(cg_root)) {
				snprintf(why, len, "mkdtemp: %s", strerror(errno));
				return -1;
			}
		} else {
			snprintf(cg_root, sizeof(cg_root), "/sys/fs/cgroup");
		}
		if (mount("cgroup2", cg_root, "cgroup2", 0, NULL)) {
			snprintf(why, len, "no cgroup2 mounted and mount -t cgroup2 on %s failed: %s",
				 cg_root, strerror(errno));
			return -1;
		}
		mounted_here = 1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", cg_root);
	if (file_read(path, buf, sizeof(buf))) {
		snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (!strstr(buf, "memory")) {
		snprintf(why, len, "cgroup2 at %s has no memory controller (cgroup.controllers: %.100s); boot with cgroup_no_v1=memory or without cgroup_disable=memory",
			 cg_root, buf);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg_root);
	if (file_write(path, "+memory")) {
		snprintf(why, len, "cannot enable +memory in %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(cg_parent, sizeof(cg_parent), "%s/dtls_memcg.%d", cg_root, (int)getpid());
	snprintf(cg_child, sizeof(cg_child), "%s/limited", cg_parent);
	if (mkdir(cg_parent, 0755)) {
		snprintf(why, len, "mkdir %s: %s", cg_parent, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg_parent);
	if (file_write(path, "+memory")) {
		snprintf(why, len, "cannot enable +memory in %s: %s", path, strerror(errno));
		return -1;
	}
	if (mkdir(cg_child, 0755)) {
		snprintf(why, len, "mkdir %s: %s", cg_child, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/memory.max", cg_child);
	if (access(path, W_OK)) {
		snprintf(why, len, "%s missing: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void cleanup_cgroups(void)
{
	/* the cgroups may stay busy for a moment after the worker exits */
	for (int i = 0; i < 50; i++) {
		if ((!*cg_child || !rmdir(cg_child) || errno == ENOENT) &&
		    (!*cg_parent || !rmdir(cg_parent) || errno == ENOENT))
			break;
		usleep(100000);
	}
	if (mounted_here)
		umount2(cg_root, MNT_DETACH);
}

/* ---------------------------------------------------------------------- */
/* Worker                                                                  */

static int fds[8192];
static uint8_t gso_buf[GSO_LEN];
static uint8_t send_buf[DTLS_MAX_PLAINTEXT];
static uint8_t rx_buf[65536];
static struct dkey ktx, krx;
static struct cinfo ci_tx, ci_rx;
static unsigned int cur_window;	/* the window the socket's DTLS_RX gets */
static int cur_fd = -1, max_fd = -1, peak_fd = -1, stat_fd = -1, pcur_fd = -1;

static void werr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void werr(const char *fmt, ...)
{
	va_list ap;

	if (*res->err)
		return;
	va_start(ap, fmt);
	vsnprintf(res->err, sizeof(res->err), fmt, ap);
	va_end(ap);
}

/* Touch @n bytes of stack, so that its pages exist before the limit. */
static __attribute__((noinline)) void touch_stack(size_t n)
{
	volatile char big[512 * 1024];

	for (size_t i = 0; i < n && i < sizeof(big); i += 1024)
		big[i] = 1;
}

static long long bitmap_bytes(unsigned int window)
{
	unsigned long long bits = 1;

	while (bits < window + 64ULL)
		bits <<= 1;
	return bits / 8;
}

static int kernel_is_modern(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj > 6 || (maj == 6 && min >= 5);
}

/*
 * One step on socket @fd: 0, or the errno.  *@floor grows by what the
 * module allocates for it, at least.  @first: no SOL_DTLS option yet.
 */
static int do_step(int fd, enum step s, int first, long long *floor)
{
	unsigned int window = WINDOW_BIG;
	int one = 1;
	ssize_t n;

	switch (s) {
	case ST_TX:
		if (setsockopt(fd, SOL_DTLS, DTLS_TX, ci_tx.b, ci_tx.len))
			return errno;
		*floor += MIN_TX + (first ? MIN_CTX : 0);
		return 0;
	case ST_WINDOW:
		if (setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &window, sizeof(window)))
			return errno;
		cur_window = window;
		*floor += first ? MIN_CTX : 0;
		return 0;
	case ST_RX:
		if (setsockopt(fd, SOL_DTLS, DTLS_RX, ci_rx.b, ci_rx.len))
			return errno;
		*floor += MIN_RX + bitmap_bytes(cur_window) + (first ? MIN_CTX : 0);
		return 0;
	case ST_GRO:
		if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
			return errno;
		*floor += MIN_READER;
		return 0;
	case ST_GSO:
		n = send_gso_to(fd, gso_buf, GSO_LEN, GSO_SEG, NULL, 0, 0);
		if (n != GSO_LEN)
			return n < 0 ? errno : EMSGSIZE;
		*floor += GSO_BUF;
		return 0;
	case ST_SEND:
		n = send(fd, send_buf, sizeof(send_buf), 0);
		if (n != (ssize_t)sizeof(send_buf))
			return n < 0 ? errno : EMSGSIZE;
		if (!res->modern)
			*floor += REC_BUF;
		return 0;
	case ST_END:
		break;
	}
	return EINVAL;
}

static int is_setsockopt(enum step s)
{
	return s == ST_TX || s == ST_WINDOW || s == ST_RX || s == ST_GRO;
}

static int wait_readable_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

static void drain_sink(void)
{
	while (recv(sink, rx_buf, sizeof(rx_buf), MSG_DONTWAIT) >= 0)
		;
}

/* Send @msg on @fd; the sink must get it as plaintext (@plain) or as a record. */
static int check_send(int fd, int plain, char *why, size_t len)
{
	static const char msg[] = "dtls_memcg: after the limit";
	uint8_t pt[sizeof(rx_buf)];
	struct rec_hdr h;
	size_t ptlen = 0;
	ssize_t n;

	drain_sink();
	if (send(fd, msg, sizeof(msg), 0) != sizeof(msg)) {
		snprintf(why, len, "send: %s", strerror(errno));
		return -1;
	}
	if (wait_readable_fd(sink, 2000) <= 0) {
		snprintf(why, len, "nothing arrived at the peer");
		return -1;
	}
	n = recv(sink, rx_buf, sizeof(rx_buf), MSG_DONTWAIT);
	if (n < 0) {
		snprintf(why, len, "recv: %s", strerror(errno));
		return -1;
	}
	if (plain) {
		if (n != sizeof(msg) || memcmp(rx_buf, msg, sizeof(msg))) {
			snprintf(why, len, "a plain UDP socket's datagram expected, got %zd bytes that differ",
				 n);
			return -1;
		}
		return 0;
	}
	if (ref_open(&ktx, rx_buf, n, &h, pt, &ptlen) != n || ptlen != sizeof(msg) ||
	    memcmp(pt, msg, sizeof(msg))) {
		snprintf(why, len, "a record sealed with the TX key expected, got %zd bytes that do not open",
			 n);
		return -1;
	}
	return 0;
}

static void worker_refused(int i)
{
	const enum step *st = kinds[i % 4];
	int fd = fds[i], k, e;
	long long dummy = 0;
	char why[96];

	/* As it was: nothing for the refused direction. */
	switch (res->ref_step) {
	case ST_TX:	/* the first option: no DTLS state at all */
		if (!check_send(fd, 1, why, sizeof(why)))
			res->state_ok = 1;
		snprintf(res->state_msg, sizeof(res->state_msg),
			 "a send after the refused DTLS_TX %s%s",
			 res->state_ok ? "went out as a plain datagram" : "failed: ", res->state_ok ? "" : why);
		break;
	default:	/* DTLS_RX or UDP_GRO: TX as installed */
		if (!check_send(fd, 0, why, sizeof(why)))
			res->state_ok = 1;
		snprintf(res->state_msg, sizeof(res->state_msg),
			 "a send after the refused %s %s%s", step_name[res->ref_step],
			 res->state_ok ? "went out as a record sealed with the TX key" : "failed: ",
			 res->state_ok ? "" : why);
		break;
	}

	/* The same option, and the rest of the socket's, now succeed. */
	for (k = 0; st[k] != res->ref_step; k++)
		;
	for (; st[k] != ST_END; k++) {
		if (!is_setsockopt(st[k]))
			continue;
		e = do_step(fd, st[k], 0, &dummy);
		if (e) {
			snprintf(res->retry_msg, sizeof(res->retry_msg),
				 "%s on socket %d after memory.max was raised: %s",
				 step_name[st[k]], i, strerror(e));
			return;
		}
	}
	if (check_send(fd, 0, why, sizeof(why))) {
		snprintf(res->retry_msg, sizeof(res->retry_msg),
			 "installed after memory.max was raised, but %s", why);
		return;
	}
	res->retry_ok = 1;
	snprintf(res->retry_msg, sizeof(res->retry_msg),
		 "%s and the socket's other options succeeded on socket %d after memory.max was raised; its records open",
		 step_name[res->ref_step], i);
}

static int open_cg(const char *dir, const char *name, int mode)
{
	char path[320];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, mode);
	if (fd < 0)
		werr("open %s: %s", path, strerror(errno));
	return fd;
}

static void worker(void)
{
	char path[320], val[64];
	long long v, floor = 0, slack;
	int i, k, e, sends = 1;
	cpu_set_t cpus;
	uint64_t t0;

	/* One CPU: the cgroup's charges go through one per-CPU batch. */
	if (!sched_getaffinity(0, sizeof(cpus), &cpus)) {
		for (i = 0; i < CPU_SETSIZE && !CPU_ISSET(i, &cpus); i++)
			;
		CPU_ZERO(&cpus);
		CPU_SET(i, &cpus);
		sched_setaffinity(0, sizeof(cpus), &cpus);
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_child);
	if (file_write(path, "0")) {
		werr("cannot move into %s: %s", cg_child, strerror(errno));
		return;
	}
	res->modern = kernel_is_modern();

	cur_fd = open_cg(cg_child, "memory.current", O_RDONLY);
	max_fd = open_cg(cg_child, "memory.max", O_WRONLY);
	peak_fd = open_cg(cg_child, "memory.peak", O_RDONLY);
	stat_fd = open_cg(cg_child, "memory.stat", O_RDONLY);
	pcur_fd = open_cg(cg_parent, "memory.current", O_RDONLY);
	if (cur_fd < 0 || max_fd < 0 || peak_fd < 0 || stat_fd < 0 || pcur_fd < 0)
		return;

	/* Keys, payloads and everything the loop touches, before the limit */
	dkey_derive(&ktx, cdesc_by_type(DTLS_CIPHER_AES_GCM_128), "memcg tx");
	dkey_derive(&krx, cdesc_by_type(DTLS_CIPHER_AES_GCM_128), "memcg rx");
	cinfo_build(&ci_tx, &ktx, REC_NUM(1, 1));
	cinfo_build(&ci_rx, &krx, REC_NUM(1, 1));
	memset(gso_buf, 'g', sizeof(gso_buf));
	memset(send_buf, 's', sizeof(send_buf));
	memset(rx_buf, 0, sizeof(rx_buf));
	memset(stat_buf, 0, sizeof(stat_buf));
	errno = 0;
	touch_stack(512 * 1024);
	pread_ll(cur_fd);
	pread_ll(peak_fd);
	pread_ll(pcur_fd);
	pread_stat(stat_fd, res->st0);
	/*
	 * Lock every page we have, breaking copy-on-write now: a page fault
	 * of ours at the limit would be charged and could call the OOM
	 * killer, which is not what is tested.
	 */
	if (mlockall(MCL_CURRENT)) {
		werr("mlockall: %s", strerror(errno));
		return;
	}
	/* Let frees finish and the statistics flush (every 2 s). */
	sleep(3);
	res->pre = pread_ll(cur_fd);
	pread_stat(stat_fd, res->st_pre);

	for (i = 0; i < nsock; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
		if (fds[i] < 0 || connect(fds[i], (void *)&sink_addr, sizeof(sink_addr))) {
			werr("plain UDP socket %d: %s", i, strerror(errno));
			return;
		}
	}
	res->nsock = nsock;
	sleep(3);
	res->start = pread_ll(cur_fd);
	res->pstart = pread_ll(pcur_fd);
	res->peak0 = pread_ll(peak_fd);
	pread_stat(stat_fd, res->st0);
	if (res->start <= 0 || res->st0[F_KERNEL] < 0) {
		werr("memory.current (%lld) or memory.stat kernel (%lld) unreadable",
		     res->start, res->st0[F_KERNEL]);
		return;
	}
	res->maxset = (res->start + budget + 4095) & ~4095LL;
	snprintf(val, sizeof(val), "%lld", res->maxset);
	if (pwrite(max_fd, val, strlen(val), 0) != (ssize_t)strlen(val)) {
		werr("cannot set memory.max to %s: %s", val, strerror(errno));
		return;
	}
	res->max_seen = pread_ll(cur_fd);
	res->stage = 1;

	for (i = 0; i < nsock && !res->refused; i++) {
		const enum step *st = kinds[i % 4];

		cur_window = 1024;	/* the default */
		for (k = 0; st[k] != ST_END; k++) {
			if (!sends && !is_setsockopt(st[k]))
				continue;
			e = do_step(fds[i], st[k], k == 0, &floor);
			v = pread_ll(cur_fd);
			if (v > res->max_seen)
				res->max_seen = v;
			if (!e)
				continue;
			if (!is_setsockopt(st[k])) {
				/* a send that needed a buffer at the limit */
				if (!res->send_fail) {
					res->send_fail = i + 1;
					res->send_errno = e;
				}
				if (e != ENOMEM)
					res->send_bad = 1;
				sends = 0;
				continue;
			}
			res->refused = 1;
			res->ref_sock = i;
			res->ref_step = st[k];
			res->ref_errno = e;
			break;
		}
		if (!res->refused)
			res->done = i + 1;
	}
	res->floor = floor;
	/* Where it stands at the limit, settled as at the start */
	sleep(3);
	res->end = pread_ll(cur_fd);
	res->pend = pread_ll(pcur_fd);
	res->peak = pread_ll(peak_fd);
	pread_stat(stat_fd, res->st1);
	if (res->end > res->max_seen)
		res->max_seen = res->end;
	res->stage = 2;

	if (pwrite(max_fd, "max", 3, 0) != 3) {
		werr("cannot raise memory.max: %s", strerror(errno));
		return;
	}
	munlockall();
	if (res->refused)
		worker_refused(res->ref_sock);

	for (i = 0; i < nsock; i++)
		close(fds[i]);
	/* The module frees a context after an RCU grace period, in a worker;
	 * freed memory may wait in a per-CPU charge batch of each CPU.
	 */
	slack = CHARGE_BATCH * sysconf(_SC_NPROCESSORS_CONF);
	t0 = now_ms();
	do {
		usleep(200000);
		res->closed = pread_ll(cur_fd);
		pread_stat(stat_fd, res->st2);
	} while ((res->closed > res->pre + slack ||
		  res->st2[F_KERNEL] > res->st_pre[F_KERNEL] + CLOSE_SLACK) &&
		 now_ms() - t0 < 20000);
	res->close_ms = now_ms() - t0;
	res->stage = 3;
}

/* ---------------------------------------------------------------------- */

static void report(int status, long long oom, long long oom_kill, long long pkill,
		   long long max_events)
{
	struct result *r = res;
	long long charged = r->st1[F_KERNEL] - r->st0[F_KERNEL];
	long long cur_delta = r->end - r->start;
	long long pdelta = r->pend - r->pstart;
	long long slack = CHARGE_BATCH * sysconf(_SC_NPROCESSORS_CONF);
	int nset = r->done + (r->refused ? 1 : 0);
	int exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (*r->err)
		printf("# worker: %s\n", r->err);
	tap(r->stage >= 1, "worker in a child cgroup, plain UDP sockets open before the limit",
	    "%d sockets; memory.current %lld, memory.max set to %lld (+%lld KiB)",
	    r->nsock, r->start, r->maxset, budget / KIB);

	if (r->stage < 2) {
		printf("# worker stopped before the limit was reached (stage %d, %s)\n",
		       r->stage, WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
		return;
	}

	/* Figures */
	if (r->refused)
		printf("# sockets until refused: %d set up completely, then %s on socket %d: %s\n",
		       r->done, step_name[r->ref_step], r->ref_sock, strerror(r->ref_errno));
	else
		printf("# sockets until refused: none refused, all %d set up\n", r->done);
	printf("# charged for them: memory.stat kernel +%lld bytes, memory.current +%lld bytes",
	       charged, cur_delta);
	for (int i = 1; i < F_N; i++)
		printf(", %s %+lld", fnames[i], r->st1[i] - r->st0[i]);
	printf("\n");
	if (nset)
		printf("# bytes per socket: charged %lld (memory.stat kernel), %lld (memory.current); the module allocates at least %lld\n",
		       charged / nset, cur_delta / nset, r->floor / nset);
	printf("# kernel: %s; %s\n",
	       r->modern ? "6.5 or later, a single-record send seals in a page fragment"
			 : "before 6.5, a send allocates the record buffer",
	       r->send_fail ? "a send failed at the limit" : "no send failed");
	if (r->send_fail)
		printf("# first failed send: socket %d, %s\n", r->send_fail - 1,
		       strerror(r->send_errno));

	tap(r->refused && r->ref_errno == ENOMEM,
	    "setsockopt() at the cgroup's limit fails with ENOMEM",
	    "%s", r->refused ? (r->ref_errno == ENOMEM ? "refused with ENOMEM" :
				"refused with another errno")
			     : "no option was refused: the sockets' memory is not charged to the cgroup");

	tap(exited && oom_kill == 0 && pkill == 0, "no OOM kill: oom_kill 0, worker exited normally",
	    "memory.events: max %lld, oom %lld, oom_kill %lld (parent cgroup: oom_kill %lld); worker %s %d",
	    max_events, oom, oom_kill, pkill,
	    WIFSIGNALED(status) ? "killed by signal" : "exit status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

	tap(r->max_seen <= r->maxset && (r->peak0 > r->maxset || r->peak <= r->maxset),
	    "memory.current never above memory.max",
	    "memory.max %lld, highest memory.current seen %lld, memory.peak %lld%s",
	    r->maxset, r->max_seen, r->peak,
	    r->peak0 > r->maxset ? " (peak was above the limit before it was set: not used)" : "");

	tap(r->refused && charged >= r->floor && r->floor > 0,
	    "the cgroup is charged at least what the module allocates",
	    "%d sockets: %lld bytes charged (memory.stat kernel), %lld allocated at least",
	    nset, charged, r->floor);

	/*
	 * One-sided: a charge that missed the worker's cgroup would make the
	 * parent grow by more than its child.  The parent's own charge may
	 * shrink meanwhile (objects freed after an RCU grace period, a per-CPU
	 * charge batch given back), which says nothing about the module.
	 */
	tap(r->refused && pdelta - cur_delta <= 64 * KIB,
	    "the charge is the worker's cgroup's, none of it the parent cgroup's own",
	    "memory.current: limited %+lld, parent %+lld (its own charge %+lld, allowed up to +64 KiB)",
	    cur_delta, pdelta, pdelta - cur_delta);

	tap(r->stage >= 3 && r->state_ok, "the refused socket is as it was",
	    "%s", r->refused ? r->state_msg : "no option was refused");

	tap(r->stage >= 3 && r->retry_ok, "the refused option succeeds once memory.max is raised",
	    "%s", r->refused ? r->retry_msg : "no option was refused");

	tap(!r->send_bad, "a send that needs a buffer at the limit fails with ENOMEM",
	    "%s", r->send_fail ? (r->send_bad ? "a send failed with another errno" :
				  "a send failed, with ENOMEM")
			       : "no send failed");

	tap(r->stage >= 3 && r->closed <= r->pre + slack &&
	    r->st2[F_KERNEL] <= r->st_pre[F_KERNEL] + CLOSE_SLACK,
	    "closing the sockets gives the memory back",
	    "after %d ms: memory.current %lld (before the sockets %lld, at the limit %lld; allowed +%lld KiB of per-CPU batches), memory.stat kernel %lld (before the sockets %lld, with them %lld, at the limit %lld; allowed +%lld KiB)",
	    r->close_ms, r->closed, r->pre, r->end, slack / KIB, r->st2[F_KERNEL],
	    r->st_pre[F_KERNEL], r->st0[F_KERNEL], r->st1[F_KERNEL], CLOSE_SLACK / KIB);
}

static void usage(void)
{
	fprintf(stderr, "usage: dtls_memcg [-n SOCKETS] [-b BUDGET_KIB]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 16384, 16384 };
	char why[512];
	long long oom, okill, pkill, maxev;
	socklen_t al = sizeof(sink_addr);
	int opt, status = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:b:")) != -1) {
		switch (opt) {
		case 'n':
			nsock = atoi(optarg);
			if (nsock < 8 || nsock > (int)(sizeof(fds) / sizeof(fds[0])))
				usage();
			break;
		case 'b':
			budget = atoll(optarg) * KIB;
			if (budget < 256 * KIB)
				usage();
			break;
		default:
			usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", NTESTS);

	if (geteuid()) {
		tap(0, "cgroup2 memory controller available", "run as root");
		finish();
		return 1;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)nsock + 32)
		nsock = rl.rlim_cur - 32;

	if (setup_cgroups(why, sizeof(why))) {
		tap(0, "cgroup2 memory controller available", "%s", why);
		cleanup_cgroups();
		finish();
		return 1;
	}
	tap(1, "cgroup2 memory controller available", "cgroup2 at %s%s; test cgroup %s",
	    cg_root, mounted_here ? " (mounted by this test)" : "", cg_child);

	/* The sockets' peer, made here: its receive memory is not the worker's */
	sink = udp_bound(SK_IPV4);
	if (sink < 0 || getsockname(sink, (void *)&sink_addr, &al)) {
		tap(0, "worker in a child cgroup, plain UDP sockets open before the limit",
		    "sink socket: %s", strerror(errno));
		cleanup_cgroups();
		finish();
		return 1;
	}
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		tap(0, "worker in a child cgroup, plain UDP sockets open before the limit",
		    "mmap: %s", strerror(errno));
		cleanup_cgroups();
		finish();
		return 1;
	}
	memset(res, 0, sizeof(*res));

	pid = fork();
	if (pid < 0) {
		tap(0, "worker in a child cgroup, plain UDP sockets open before the limit",
		    "fork: %s", strerror(errno));
		cleanup_cgroups();
		finish();
		return 1;
	}
	if (pid == 0) {
		worker();
		_exit(*res->err ? 1 : 0);
	}
	for (int t = 0; t < 3000; t++) {	/* 300 s */
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (t == 2999) {
			printf("# the worker still runs after 300 s: killed\n");
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		usleep(100000);
	}
	oom = file_field(cg_child, "memory.events", "oom");
	okill = file_field(cg_child, "memory.events", "oom_kill");
	maxev = file_field(cg_child, "memory.events", "max");
	pkill = file_field(cg_parent, "memory.events", "oom_kill");
	report(status, oom, okill, pkill, maxev);
	close(sink);
	cleanup_cgroups();
	finish();
	return nfail ? 1 : 0;
}
