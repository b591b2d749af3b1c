// SPDX-License-Identifier: GPL-2.0
/*
 * peer-bench: the many-peers cells of the benchmark (peer_cells.sh,
 * Documentation/networking/dtls-bench.rst).  One unconnected UDP socket
 * holds N peers, installed with generated keys and no handshake
 * (DTLS_PEER_NEW, then DTLS_PEER_RX or DTLS_PEER_TX); K of them, spread
 * over the N, exchange records with it, one record per peer in turn, so
 * that consecutive records never find the same peer.  Peer i (0-based, id
 * i + 1) is at 10.200.0.0 + i, port 7000; with -c L its receive connection
 * ID is i + 1 in L bytes.
 *
 *   peer-bench addrs -n N [-k K]          the K active peers' addresses
 *   peer-bench rx-clients -n N [-k K] [-c L] [-3] [-s SIZE] [-t SECS] SERVER PORT
 *   peer-bench rx-server -n N [-c L] [-3] [-s SIZE] ADDR PORT CLIENTS
 *   peer-bench tx-server -n N [-k K] [-c L] [-3] [-s SIZE] [-t SECS] [-i] ADDR PORT
 *   peer-bench tx-sink [-s SIZE] SERVER PORT
 *   peer-bench mem -n N [-k K] [-c L] [-3]
 *
 * rx cell: rx-clients (K connected sockets with the peers' TX keys, each
 * bound to its peer's address) waits for a datagram on PORT; rx-server
 * installs the N peers on ADDR PORT, executes the benchmark's marker
 * (bench_mark.h), sends that datagram to CLIENTS and receives until a
 * close_notify, then the marker again.  tx cell: tx-server installs the
 * N peers with TX keys on ADDR PORT and waits for a datagram; tx-sink, on
 * port 7000 of every active peer's address, executes the marker, sends
 * it, and counts the records that tx-server sends to the K peers, with
 * sendto() or (-i) DTLS_SET_PEER, until an empty datagram.  mem: the
 * memory the N peers take, with TX and RX keys (from /proc/meminfo), and
 * what K of them take more once sent one record each.
 * Every role ends with one line "BENCH role=... key=value ...".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/dtls.h>

#include "bench_mark.h"

#define PEER_NET	0x0ac80000u	/* 10.200.0.0: peer i at PEER_NET + i */
#define PEER_PORT	7000
#define PEERS_MAX	(1u << 20)	/* the module's max_peers default */
#define ACTIVE_MAX	1024
#define IDLE_MS		2000		/* receivers: the data ended */
#define REC_MAX		16384
#define SETTLE_S	2		/* for the tables' resizes */

static struct {
	unsigned int n, k;	/* peers, active peers */
	unsigned int cid_len;	/* -c: receive CIDs of this length */
	int dtls13;		/* -3 */
	int by_id;		/* -i: DTLS_SET_PEER rather than sendto() */
	size_t size;
	double secs;
} o = { .n = 1, .k = 64, .size = 1200, .secs = 3 };

static unsigned char pat[REC_MAX];

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("peer-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- peers: addresses, CIDs, keys ---- */

/* The j-th active peer: one in each K-th of the table, at a scattered offset */
static unsigned int active_peer(unsigned int j)
{
	unsigned long long span = o.n / o.k;

	return (unsigned int)(j * span + (j * 2654435761u) % span);
}

static struct sockaddr_in peer_addr(unsigned int i)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(PEER_NET + i);
	a.sin_port = htons(PEER_PORT);
	return a;
}

/* Peer @id's CID: its id, big endian, in cid_len bytes; @tx flips it */
static void peer_cid(struct dtls_cid *c, uint32_t id, int tx)
{
	unsigned int b;

	memset(c, 0, sizeof(*c));
	c->len = o.cid_len;
	for (b = 0; b < o.cid_len; b++)
		c->cid[o.cid_len - 1 - b] = b < 4 ? (id >> (8 * b)) ^ (tx ? 0xff : 0) : 0;
}

union peer_info {
	struct dtls12_crypto_info_aes_gcm_128 v12;
	struct dtls13_crypto_info_aes_gcm_128 v13;
};

/* Keys of peer @id's direction @tx (the server's view): its own, so that a
 * record opened with another peer's keys fails authentication.
 */
static size_t peer_keys(union peer_info *u, uint32_t id, int tx)
{
	uint8_t key[16];
	unsigned int b;

	for (b = 0; b < sizeof(key); b++)
		key[b] = (uint8_t)(b * 37 + tx);
	memcpy(key, &id, sizeof(id));
	memset(u, 0, sizeof(*u));
	if (o.dtls13) {
		u->v13.info.version = DTLS_1_3_VERSION;
		u->v13.info.cipher_type = DTLS_CIPHER_AES_GCM_128;
		memcpy(u->v13.key, key, sizeof(key));
		memset(u->v13.iv, 0x5a ^ tx, sizeof(u->v13.iv));
		memset(u->v13.sn_key, 0xa5 ^ tx, sizeof(u->v13.sn_key));
		u->v13.rec_seq[1] = 3;	/* epoch 3, application data */
		return sizeof(u->v13);
	}
	u->v12.info.version = DTLS_1_2_VERSION;
	u->v12.info.cipher_type = DTLS_CIPHER_AES_GCM_128;
	memcpy(u->v12.key, key, sizeof(key));
	memset(u->v12.salt, 0x5a ^ tx, sizeof(u->v12.salt));
	u->v12.rec_seq[1] = 1;		/* epoch 1 */
	return sizeof(u->v12);
}

static void set_opt(int fd, int name, const void *v, size_t len, const char *what)
{
	if (setsockopt(fd, SOL_DTLS, name, v, len) < 0)
		die("setsockopt(SOL_DTLS, %s): %s%s", what, strerror(errno),
		    errno == ENOPROTOOPT ? ": load kernel/dtls.ko" : "");
}

/* Peer @i with the keys of direction @tx (and of both with @both) */
static void peer_install(int fd, unsigned int i, int tx, int both)
{
	struct {
		struct dtls_peer_key pk;
		union peer_info info;
	} k;	/* no padding: the crypto_info is 2-byte aligned */
	static struct dtls_peer p;
	struct sockaddr_in a = peer_addr(i);
	size_t len;

	memset(&p, 0, sizeof(p));
	p.id = i + 1;
	memcpy(&p.addr, &a, sizeof(a));
	peer_cid(&p.rx_cid, p.id, 0);
	peer_cid(&p.tx_cid, p.id, 1);
	set_opt(fd, DTLS_PEER_NEW, &p, sizeof(p), "DTLS_PEER_NEW");
	memset(&k.pk, 0, sizeof(k.pk));
	k.pk.id = p.id;
	if (tx || both) {
		len = peer_keys(&k.info, p.id, 1);
		set_opt(fd, DTLS_PEER_TX, &k, sizeof(k.pk) + len, "DTLS_PEER_TX");
	}
	if (!tx || both) {
		len = peer_keys(&k.info, p.id, 0);
		set_opt(fd, DTLS_PEER_RX, &k, sizeof(k.pk) + len, "DTLS_PEER_RX");
	}
}

/* ---- sockets ---- */

static struct sockaddr_in parse_addr(const char *host, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("%s: not an IPv4 address", host);
	a.sin_port = htons((uint16_t)atoi(port));
	if (!a.sin_port)
		die("%s: not a port", port);
	return a;
}

static int udp_socket(const struct sockaddr_in *bind_to)
{
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP), sz = 8 << 20, one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* big buffers: a receiver that falls behind loses records */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind_to && bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0)
		die("bind %s:%u: %s (is the address on an interface?)",
		    inet_ntoa(bind_to->sin_addr), ntohs(bind_to->sin_port),
		    strerror(errno));
	return fd;
}

/* A server socket with the N peers, their keys of direction @tx */
static int peer_server(const struct sockaddr_in *a, int tx, double *secs)
{
	int fd = udp_socket(a);
	double t0 = now();
	unsigned int i;

	for (i = 0; i < o.n; i++)
		peer_install(fd, i, tx, 0);
	*secs = now() - t0;
	/*
	 * The tables grow in a worker on this CPU, rehashing every peer, and
	 * a lookup during a rehash searches both tables: not in the window.
	 */
	sleep(SETTLE_S);
	return fd;
}

/*
 * Block until a datagram comes to @fd; its source in @from.  On the peer
 * socket it comes whole, for no peer, with the cmsg recvmsg() must take.
 */
static void wait_go(int fd, struct sockaddr_in *from)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct dtls_record_info))];
		struct cmsghdr align;
	} cb;
	char b[64];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = {
		.msg_name = from, .msg_namelen = sizeof(*from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};

	if (recvmsg(fd, &m, 0) < 0)
		die("recvmsg: %s", strerror(errno));
}

static void send_to(int fd, const struct sockaddr_in *to, const void *b, size_t len)
{
	if (sendto(fd, b, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		die("sendto %s:%u: %s", inet_ntoa(to->sin_addr),
		    ntohs(to->sin_port), strerror(errno));
}

/* Wait while @fd's send buffer is full: false on another error */
static int send_full(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
		return 0;
	poll(&p, 1, 100);
	return 1;
}

/* ---- rx cell ---- */

/* Client j: peer active_peer(j)'s address, its TX keys, to the server */
static int rx_client(unsigned int j, const struct sockaddr_in *server)
{
	unsigned int i = active_peer(j);
	struct sockaddr_in a = peer_addr(i);
	union peer_info info;
	struct dtls_cid cid;
	int fd = udp_socket(&a);

	if (connect(fd, (const struct sockaddr *)server, sizeof(*server)) < 0)
		die("connect: %s", strerror(errno));
	if (o.cid_len) {
		peer_cid(&cid, i + 1, 0);
		set_opt(fd, DTLS_TX_CID, &cid, 1 + cid.len, "DTLS_TX_CID");
	}
	/* the server's RX keys of this peer */
	set_opt(fd, DTLS_TX, &info, peer_keys(&info, i + 1, 0), "DTLS_TX");
	return fd;
}

static void send_close_notify(int fd)
{
	union {
		char buf[CMSG_SPACE(1)];
		struct cmsghdr align;
	} cb;
	unsigned char alert[2] = { 1, 0 };	/* warning, close_notify */
	struct iovec iov = { alert, sizeof(alert) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int n;

	c->cmsg_level = SOL_DTLS;
	c->cmsg_type = DTLS_SET_RECORD_TYPE;
	c->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(c) = DTLS_RECORD_TYPE_ALERT;
	/* a few: the receiver's queue may be full */
	for (n = 0; n < 3; n++) {
		sendmsg(fd, &m, 0);
		usleep(20000);
	}
}

static int role_rx_clients(const struct sockaddr_in *server)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = server->sin_port };
	int ctl = udp_socket(&any), *fds = calloc(o.k, sizeof(int));
	unsigned long long sent = 0;
	unsigned int j = 0;
	double t0, t;

	if (!fds)
		die("out of memory");
	for (j = 0; j < o.k; j++)
		fds[j] = rx_client(j, server);
	printf("READY\n");
	fflush(stdout);
	wait_go(ctl, &any);
	t0 = now();
	do {
		for (j = 0; j < o.k; j++) {
			while (send(fds[j], pat, o.size, MSG_DONTWAIT) < 0)
				if (!send_full(fds[j]))
					die("send: %s", strerror(errno));
		}
		sent += o.k;
		t = now() - t0;
	} while (t < o.secs);
	send_close_notify(fds[0]);
	printf("BENCH role=send records=%llu secs=%.6f\n", sent, t);
	return 0;
}

struct rx_count {
	unsigned long long good, bad, other;
};

/* One record from the peer socket: 1 at the close_notify */
static int rx_one(const unsigned char *b, ssize_t len, struct msghdr *m,
		  struct rx_count *c)
{
	struct dtls_record_info ri = { 0 };
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm))
		if (cm->cmsg_level == SOL_DTLS && cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(ri)))
			memcpy(&ri, CMSG_DATA(cm), sizeof(ri));
	if (!(ri.flags & DTLS_RECORD_F_PROTECTED) || !ri.peer_id) {
		c->other++;
		return 0;
	}
	if (ri.content_type == DTLS_RECORD_TYPE_ALERT && len == 2 && !b[1])
		return 1;
	if (ri.content_type == DTLS_RECORD_TYPE_APPLICATION_DATA &&
	    (size_t)len == o.size && !memcmp(b, pat, len))
		c->good++;
	else
		c->bad++;
	return 0;
}

/* Records until a close_notify or IDLE_MS of silence */
static void rx_loop(int fd, struct rx_count *c)
{
	static unsigned char b[REC_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct dtls_record_info)) + 64];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		m.msg_control = cb.buf;
		m.msg_controllen = sizeof(cb.buf);
		n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n >= 0) {
			if (rx_one(b, n, &m, c))
				return;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			die("recvmsg: %s", strerror(errno));
		if (poll(&p, 1, c->good ? IDLE_MS : 60000) == 0)
			return;
	}
}

static int role_rx_server(const struct sockaddr_in *a, const struct sockaddr_in *clients)
{
	struct rx_count c = { 0 };
	double setup, t0, t1;
	int fd = peer_server(a, 0, &setup);

	BENCH_MARK();
	t0 = now();
	/* a datagram to an address with no peer goes out as it is */
	send_to(fd, clients, "go", 2);
	rx_loop(fd, &c);
	t1 = now();
	BENCH_MARK();
	printf("BENCH role=recv peers=%u records=%llu bad=%llu other=%llu secs=%.6f setup=%.3f\n",
	       o.n, c.good, c.bad, c.other, t1 - t0, setup);
	return c.bad ? 1 : 0;
}

/* ---- tx cell ---- */

/* One record to active peer @j: by address, or by id with DTLS_SET_PEER */
static int tx_one(int fd, unsigned int j)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} cb;
	unsigned int i = active_peer(j);
	struct sockaddr_in to = peer_addr(i);
	struct iovec iov = { pat, o.size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	uint32_t id = i + 1;

	if (o.by_id) {
		m.msg_control = cb.buf;
		m.msg_controllen = sizeof(cb.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_PEER;
		c->cmsg_len = CMSG_LEN(sizeof(id));
		memcpy(CMSG_DATA(c), &id, sizeof(id));
	} else {
		m.msg_name = &to;
		m.msg_namelen = sizeof(to);
	}
	return sendmsg(fd, &m, MSG_DONTWAIT) < 0 ? -1 : 0;
}

static int role_tx_server(const struct sockaddr_in *a)
{
	unsigned long long sent = 0;
	struct sockaddr_in sink;
	unsigned int j;
	double setup, t0, t;
	int fd = peer_server(a, 1, &setup);

	printf("READY setup=%.3f\n", setup);
	fflush(stdout);
	wait_go(fd, &sink);
	t0 = now();
	do {
		for (j = 0; j < o.k; j++)
			while (tx_one(fd, j) < 0)
				if (!send_full(fd))
					die("sendmsg to peer %u: %s", active_peer(j) + 1,
					    strerror(errno));
		sent += o.k;
		t = now() - t0;
	} while (t < o.secs);
	/* the sink is no peer: empty datagrams go out as they are */
	for (j = 0; j < 3; j++) {
		send_to(fd, &sink, "", 0);
		usleep(20000);
	}
	printf("BENCH role=send peers=%u records=%llu secs=%.6f setup=%.3f by=%s\n",
	       o.n, sent, t, setup, o.by_id ? "id" : "addr");
	return 0;
}

static int role_tx_sink(const struct sockaddr_in *server)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(PEER_PORT) };
	struct pollfd p = { .fd = udp_socket(&any), .events = POLLIN };
	unsigned long long good = 0, bad = 0;
	static unsigned char b[REC_MAX + 512];
	double t0, t1;
	ssize_t n;

	BENCH_MARK();
	t0 = now();
	send_to(p.fd, server, "go", 2);
	for (;;) {
		n = recv(p.fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {
			/* a record: at least the plaintext and the tag */
			*((size_t)n >= o.size + 16 ? &good : &bad) += 1;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			die("recv: %s", strerror(errno));
		if (poll(&p, 1, good ? IDLE_MS : 20000) == 0)
			break;
	}
	t1 = now();
	BENCH_MARK();
	printf("BENCH role=recv records=%llu bad=%llu secs=%.6f\n", good, bad, t1 - t0);
	return bad ? 1 : 0;
}

/* ---- memory ---- */

/* /proc/meminfo's @key, in kB */
static long long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t kl = strlen(key);
	char line[256];
	long long v = -1;

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atoll(line + kl + 1);
	fclose(f);
	return v;
}

/* MemFree and Slab, in kB */
static void mem_read(long long *free_kb, long long *slab_kb)
{
	*free_kb = meminfo("MemFree");
	*slab_kb = meminfo("Slab");
}

/*
 * One record to each of the first @n peers: before Linux 6.5 a peer's
 * first send allocates its record buffer, which it keeps.  Unrouted: the
 * send may fail after the record is sealed.
 */
static void mem_sends(int fd, unsigned int n)
{
	struct sockaddr_in a;
	unsigned int i;

	for (i = 1; i <= n; i++) {
		a = peer_addr(i);
		sendto(fd, pat, o.size, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a));
	}
}

static int role_mem(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PEER_PORT) };
	long long free0, slab0, free1, slab1, free2, slab2;
	unsigned int i, sends = o.k < o.n ? o.k : o.n;
	double t0, t;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = udp_socket(&a);
	/* the first peer makes the socket one with peers: not counted */
	peer_install(fd, 0, 0, 1);
	sleep(1);
	mem_read(&free0, &slab0);
	t0 = now();
	for (i = 1; i <= o.n; i++)
		peer_install(fd, i, 0, 1);
	t = now() - t0;
	/* the tables' resizes run in a worker, their old buckets go after RCU */
	sleep(SETTLE_S);
	mem_read(&free1, &slab1);
	mem_sends(fd, sends);
	sleep(1);
	mem_read(&free2, &slab2);
	printf("BENCH role=mem peers=%u version=%s cid=%u bytes_per_peer=%.0f slab_per_peer=%.0f setup=%.3f sent_to=%u bytes_per_sent=%.0f\n",
	       o.n, o.dtls13 ? "1.3" : "1.2", o.cid_len,
	       (free0 - free1) * 1024.0 / o.n, (slab1 - slab0) * 1024.0 / o.n, t,
	       sends, (free1 - free2) * 1024.0 / sends);
	close(fd);
	return 0;
}

/* ---- options ---- */

static void usage(void)
{
	fputs("usage: peer-bench addrs|rx-clients|rx-server|tx-server|tx-sink|mem\n"
	      "         [-n PEERS] [-k ACTIVE] [-c CIDLEN] [-3] [-i] [-s SIZE] [-t SECS] ADDR...\n"
	      "(see the comment at the top of userspace/tests/peer_bench.c)\n", stderr);
	exit(2);
}

static void parse(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "n:k:c:3is:t:")) != -1) {
		switch (c) {
		case 'n': o.n = strtoul(optarg, NULL, 0); break;
		case 'k': o.k = strtoul(optarg, NULL, 0); break;
		case 'c': o.cid_len = strtoul(optarg, NULL, 0); break;
		case '3': o.dtls13 = 1; break;
		case 'i': o.by_id = 1; break;
		case 's': o.size = strtoul(optarg, NULL, 0); break;
		case 't': o.secs = atof(optarg); break;
		default: usage();
		}
	}
	if (!o.n || o.n > PEERS_MAX)
		die("-n: 1 to %u peers", PEERS_MAX);
	if (o.k > o.n)
		o.k = o.n;
	if (!o.k || o.k > ACTIVE_MAX)
		die("-k: 1 to %u active peers", ACTIVE_MAX);
	if (o.cid_len > 32 || (o.cid_len && o.cid_len < 4))
		die("-c: a CID length of 4 to 32 bytes (or 0: none)");
	if (!o.size || o.size > REC_MAX || o.secs <= 0)
		die("-s: 1 to %u bytes; -t: a positive number of seconds", REC_MAX);
}

int main(int argc, char **argv)
{
	const char *role = argc > 1 ? argv[1] : "";
	struct sockaddr_in a;
	unsigned int j;
	char **arg;
	int nargs;

	parse(argc - 1, argv + 1);
	arg = argv + 1 + optind;
	nargs = argc - 1 - optind;
	for (j = 0; j < sizeof(pat); j++)
		pat[j] = (unsigned char)(j * 131 + 7);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(role, "addrs")) {
		for (j = 0; j < o.k; j++) {
			a = peer_addr(active_peer(j));
			printf("%s\n", inet_ntoa(a.sin_addr));
		}
		return 0;
	}
	if (!strcmp(role, "mem"))
		return role_mem();
	if (nargs < 2)
		usage();
	a = parse_addr(arg[0], arg[1]);
	if (!strcmp(role, "tx-sink") && nargs == 2)
		return role_tx_sink(&a);
	if (!strcmp(role, "rx-clients") && nargs == 2)
		return role_rx_clients(&a);
	if (!strcmp(role, "tx-server") && nargs == 2)
		return role_tx_server(&a);
	if (!strcmp(role, "rx-server") && nargs == 3) {
		struct sockaddr_in c = parse_addr(arg[2], arg[1]);

		return role_rx_server(&a, &c);
	}
	usage();
}
