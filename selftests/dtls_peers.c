// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests for many DTLS peers on one unconnected UDP socket
 * (DTLS_PEER_NEW, DTLS_PEER_TX, DTLS_PEER_RX, DTLS_PEER_DEL,
 * DTLS_PEER_INFO, the DTLS_SET_PEER control message, the peer_id and the
 * DTLS_RECORD_F_MOVED / DTLS_RECORD_F_DATAGRAM flags of struct
 * dtls_record_info).
 *
 * The "server" is one unconnected UDP socket with peers.  Each "client"
 * is a plain UDP socket without any kernel DTLS, at its own port and
 * loopback address (127.0.0.2 ... 127.0.0.9; on an IPv6 server [::1] and
 * v4-mapped 127.0.0.x in turn): the test plays the remote DTLS endpoints
 * with the libcrypto references of dtls_common.h (DTLS 1.2, RFC 9146
 * connection IDs) and dtls13_ref.h (DTLS 1.3).  Every record the server
 * sends must equal the reference's byte for byte and open with it; every
 * record a client sends is built by the reference.
 *
 * Fixtures: "peers" runs for DTLS 1.2 and 1.3, every suite, IPv4 and
 * IPv6; "many" (1000 peers) for AES-128-GCM and ChaCha20-Poly1305 only;
 * "perr" (errors) for IPv4 and IPv6.
 */
#define _GNU_SOURCE
#include <netinet/udp.h>
#include <sys/resource.h>

#include "dtls13_ref.h"
#include "kselftest_harness.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define MAXREC		(DTLS_MAX_PLAINTEXT + 2048 + 64)
#define EPOCH12		1
#define EPOCH13		3	/* the first application traffic epoch */
#define RX_CID_LEN	4	/* every peer's receive CID, when it has one */
#define MAX_CLIENTS	1000
#define MAX_PEERS_PARAM	"/sys/module/dtls/parameters/max_peers"
#define PROC_DTLS	"/proc/net/dtls"

static const uint8_t forms13[] = {
	DTLS13_HDR_S | DTLS13_HDR_L, DTLS13_HDR_S, DTLS13_HDR_L, 0,
};

/* A plain UDP socket playing one client, connected to the server. */
struct ep {
	int fd;
	struct sockaddr_storage sa;	/* its address as the server sees it */
	socklen_t salen;
};

/* One direction of one peer: keys, next sequence number, its CID. */
struct dir {
	struct dkey13 k;	/* DTLS 1.2 uses k.k, and k.epoch = 1 */
	uint64_t seq;
	uint8_t cid[DTLS_CID_MAX_SIZE];
	uint8_t cid_len;
};

struct cli {
	struct ep ep;
	uint32_t id;
	struct dir s2c;		/* server -> client: the peer's tx_cid */
	struct dir c2s;		/* client -> server: the peer's rx_cid */
};

struct world {
	int v13;
	uint16_t cipher;
	int kind;		/* SK_IPV4 or SK_IPV6 */
	int srv;
	int port;
	struct cli *c;
	struct ep *extra;	/* sockets that are no peer (yet) */
	int n_extra;
	struct base base;	/* DtlsCurr* and module references before */
	int counters;		/* world_free() checks DtlsCurr* too */
};

enum { K_NONE = 0, K_TX = 1, K_RX = 2, K_BOTH = 3 };

/* ---------------------------------------------------------------------- */
/* Addresses and sockets                                                   */

static void sa_v4(struct sockaddr_storage *ss, int server_kind, uint8_t last, uint16_t port,
		  socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (server_kind == SK_IPV4) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(0x7f000000 | last);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		sin6->sin6_addr.s6_addr[12] = 127;
		sin6->sin6_addr.s6_addr[15] = last;
		*len = sizeof(*sin6);
	}
}

static void sa_v6_lo(struct sockaddr_storage *ss, uint16_t port, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = in6addr_loopback;
	*len = sizeof(*sin6);
}

/* Family, port and address equal (flow info and scope are not compared). */
static bool sa_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

static const char *sa_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "(family %u)", ss->ss_family);
	}
	return buf;
}

/* The server: IPv4 at 127.0.0.1, IPv6 at [::] taking v4-mapped too. */
static int srv_open(int kind)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int off = 0, fd = socket(sk_family(kind), SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	if (kind == SK_IPV4) {
		sa_v4(&ss, SK_IPV4, 1, 0, &len);
	} else {
		sa_v6_lo(&ss, 0, &len);
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_any;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)))
			goto fail;
	}
	if (bind(fd, (void *)&ss, len))
		goto fail;
	set_rcvbuf(fd, 8 << 20);
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Client socket number @idx: IPv4 at 127.0.0.(2 + idx % 8); on an IPv6
 * server the even ones at [::1], the odd ones IPv4 (v4-mapped there).
 */
static int ep_open(const struct world *w, unsigned int idx, struct ep *e)
{
	int v4 = w->kind == SK_IPV4 || idx % 2;
	uint8_t last = 2 + idx % 8;
	struct sockaddr_storage me, to;
	socklen_t mlen, tlen;

	e->fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
	if (e->fd < 0)
		return -1;
	if (v4) {
		sa_v4(&me, SK_IPV4, last, 0, &mlen);
		sa_v4(&to, SK_IPV4, 1, w->port, &tlen);
	} else {
		sa_v6_lo(&me, 0, &mlen);
		sa_v6_lo(&to, w->port, &tlen);
	}
	if (bind(e->fd, (void *)&me, mlen) || connect(e->fd, (void *)&to, tlen))
		return -1;
	if (v4)
		sa_v4(&e->sa, w->kind, last, sk_port(e->fd), &e->salen);
	else
		sa_v6_lo(&e->sa, sk_port(e->fd), &e->salen);
	return 0;
}

static void ep_close(struct ep *e)
{
	if (e->fd > 0)
		close(e->fd);
	e->fd = -1;
}

/* ---------------------------------------------------------------------- */
/* Keys and records                                                        */

static int dir_init(const struct world *w, struct dir *d, const char *what, unsigned int idx,
		    uint64_t seq)
{
	char label[64];

	memset(d, 0, sizeof(*d));
	snprintf(label, sizeof(label), "peers %s %u", what, idx);
	d->seq = seq;
	if (w->v13)
		return dkey13_derive(&d->k, cdesc13_by_type(w->cipher), label, EPOCH13);
	dkey_derive(&d->k.k, cdesc_by_type(w->cipher), label);
	d->k.epoch = EPOCH12;
	return 0;
}

/*
 * Client @idx as peer id 100 + idx.  With @cid: our CID for it is
 * RX_CID_LEN bytes naming idx, its own is idx % 9 bytes (0 to 8).  The
 * server sends from 10 * idx + 1 on, the client from 3 * idx on.
 */
static int cli_init(struct world *w, unsigned int idx, int cid, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->id = 100 + idx;
	if (ep_open(w, idx, &c->ep))
		return -1;
	if (dir_init(w, &c->s2c, "s2c", idx, 10 * idx + 1) ||
	    dir_init(w, &c->c2s, "c2s", idx, 3 * idx))
		return -1;
	if (cid) {
		c->c2s.cid_len = RX_CID_LEN;
		put_be(c->c2s.cid, 0xc1d00000 | idx, 4);
		c->s2c.cid_len = idx % 9;
		for (int i = 0; i < c->s2c.cid_len; i++)
			c->s2c.cid[i] = 0x70 + i * 3 + idx;
	}
	return 0;
}

static void cli_peer(const struct cli *c, struct dtls_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->id = c->id;
	memcpy(&p->addr, &c->ep.sa, c->ep.salen);
	p->tx_cid.len = c->s2c.cid_len;
	memcpy(p->tx_cid.cid, c->s2c.cid, c->s2c.cid_len);
	p->rx_cid.len = c->c2s.cid_len;
	memcpy(p->rx_cid.cid, c->c2s.cid, c->c2s.cid_len);
}

static int peer_new(int srv, const struct dtls_peer *p)
{
	return setsockopt(srv, SOL_DTLS, DTLS_PEER_NEW, p, sizeof(*p));
}

/* DTLS_PEER_TX or DTLS_PEER_RX: struct dtls_peer_key, then the crypto_info. */
static socklen_t peer_key_buf(const struct world *w, uint32_t id, const struct dir *d,
			      uint8_t *buf)
{
	struct dtls_peer_key pk = { .id = id };
	struct cinfo ci;

	if (w->v13)
		cinfo13_build(&ci, &d->k, d->k.epoch, d->seq);
	else
		cinfo_build(&ci, &d->k.k, REC_NUM(d->k.epoch, d->seq));
	memcpy(buf, &pk, sizeof(pk));
	memcpy(buf + sizeof(pk), ci.b, ci.len);
	return sizeof(pk) + ci.len;
}

static int peer_key(const struct world *w, uint32_t id, int opt, const struct dir *d)
{
	uint8_t buf[sizeof(struct dtls_peer_key) + 128];
	socklen_t len = peer_key_buf(w, id, d, buf);

	return setsockopt(w->srv, SOL_DTLS, opt, buf, len);
}

static int peer_info(int srv, uint32_t id, struct dtls_peer *p)
{
	socklen_t len = sizeof(*p);

	memset(p, 0, sizeof(*p));
	p->id = id;
	return getsockopt(srv, SOL_DTLS, DTLS_PEER_INFO, p, &len);
}

static int peer_del(int srv, uint32_t id)
{
	return setsockopt(srv, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id));
}

/* @c added as a peer, with the keys of @keys. */
static void cli_install(struct __test_metadata *_metadata, const struct world *w,
			const struct cli *c, int keys)
{
	struct dtls_peer p;

	cli_peer(c, &p);
	ASSERT_EQ(0, peer_new(w->srv, &p)) TH_LOG("DTLS_PEER_NEW %u: %s", c->id, strerror(errno));
	if (keys & K_RX) {
		ASSERT_EQ(0, peer_key(w, c->id, DTLS_PEER_RX, &c->c2s))
			TH_LOG("DTLS_PEER_RX %u: %s", c->id, strerror(errno));
	}
	if (keys & K_TX) {
		ASSERT_EQ(0, peer_key(w, c->id, DTLS_PEER_TX, &c->s2c))
			TH_LOG("DTLS_PEER_TX %u: %s", c->id, strerror(errno));
	}
}

/* Client @idx set up and added as a peer, with the keys of @keys. */
static struct cli *cli_add(struct __test_metadata *_metadata, struct world *w, unsigned int idx,
			   int cid, int keys)
{
	struct cli *c = &w->c[idx];

	ASSERT_EQ(0, cli_init(w, idx, cid, c)) TH_LOG("client %u: %s", idx, strerror(errno));
	cli_install(_metadata, w, c, keys);
	return c;
}

/* Clients 0, 1 and 2 as peers with keys both ways. */
static struct cli *trio(struct __test_metadata *_metadata, struct world *w, int cid)
{
	for (int i = 0; i < 3; i++)
		cli_add(_metadata, w, i, cid, K_BOTH);
	return w->c;
}

/* A socket that is not a peer, numbered after the clients' @idx range. */
static struct ep *extra_ep(struct __test_metadata *_metadata, struct world *w, unsigned int idx)
{
	struct ep *e = &w->extra[w->n_extra++];

	ASSERT_GT(16, w->n_extra);
	ASSERT_EQ(0, ep_open(w, idx, e)) TH_LOG("socket %u: %s", idx, strerror(errno));
	return e;
}

/*
 * The record of @d numbered @seq, in the version's format with @d's CID:
 * DTLS 1.2 with a random explicit nonce if @rnd (as OpenSSL sends), else
 * epoch || seq (as the kernel sends); DTLS 1.3 in header form @form with
 * the least padding.
 */
static size_t w_seal(const struct world *w, const struct dir *d, uint64_t seq, uint8_t type,
		     const void *pt, size_t len, uint8_t form, int rnd, uint8_t *out)
{
	uint8_t ex[8];

	if (w->v13)
		return ref13_seal_cid(&d->k, form, d->cid, d->cid_len, seq, type, pt, len,
				      ref13_min_pad(&d->k, len), out);
	put_be(ex, REC_NUM(d->k.epoch, seq), 8);
	if (rnd)
		RAND_bytes(ex, sizeof(ex));
	if (d->cid_len)
		return ref12_cid_seal(&d->k.k, type, d->k.epoch, seq, ex, d->cid, d->cid_len, pt,
				      len, 0, out);
	return ref_seal(&d->k.k, type, DTLS_1_2_VERSION, d->k.epoch, seq, ex, pt, len, out);
}

/* 0 if the reference opens @rec as @d's record @seq of @type carrying @pt. */
static int w_open(const struct world *w, const struct dir *d, const uint8_t *rec, size_t n,
		  uint64_t seq, uint8_t type, const void *pt, size_t len)
{
	static uint8_t out[MAXREC];
	const uint8_t *cid = NULL;
	uint8_t rtype = 0;
	size_t ptlen = 0;
	struct rec_hdr h = { 0 };
	struct rec13 r;

	if (w->v13) {
		if (ref13_open_cid(&d->k, rec, n, d->cid_len, seq, &r, out) != (ssize_t)n ||
		    r.seq != seq)
			return -1;
		cid = r.cid;
		rtype = r.type;
		ptlen = r.ptlen;
	} else if (d->cid_len) {
		if (ref12_cid_open(&d->k.k, rec, n, d->cid_len, &h, &cid, &rtype, out,
				   &ptlen) != (ssize_t)n || h.seq != seq || h.epoch != d->k.epoch)
			return -1;
	} else {
		if (ref_open(&d->k.k, rec, n, &h, out, &ptlen) != (ssize_t)n || h.seq != seq ||
		    h.epoch != d->k.epoch)
			return -1;
		rtype = h.type;
	}
	if (d->cid_len && memcmp(cid, d->cid, d->cid_len))
		return -1;
	return rtype == type && ptlen == len && !memcmp(out, pt, len) ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Sending and receiving                                                   */

static ssize_t recv_wait(int fd, void *buf, size_t len, int ms)
{
	int r = wait_readable(fd, ms);

	if (r <= 0) {
		errno = r ? errno : ETIMEDOUT;
		return -1;
	}
	return recv(fd, buf, len, MSG_DONTWAIT);
}

struct smsg {
	struct dtls_record_info info;
	int got;			/* DTLS_GET_RECORD_TYPE, as first cmsg */
	struct sockaddr_storage from;
	int mflags;
};

static ssize_t srv_recv(int fd, uint8_t *buf, size_t cap, struct smsg *m, int ms)
{
	union {
		char b[CMSG_SPACE(sizeof(struct dtls_record_info)) + CMSG_SPACE(64)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &m->from, .msg_namelen = sizeof(m->from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b),
	};
	struct cmsghdr *cm;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	memset(&m->info, 0xa5, sizeof(m->info));
	if (wait_readable(fd, ms) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return n;
	m->mflags = msg.msg_flags;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_DTLS && cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
	    cm->cmsg_len == CMSG_LEN(sizeof(m->info))) {
		memcpy(&m->info, CMSG_DATA(cm), sizeof(m->info));
		m->got = 1;
	}
	return n;
}

/*
 * sendmsg() on the server: to @to (if not NULL), with DTLS_SET_PEER @peer
 * (if not 0), DTLS_SET_RECORD_TYPE @type (if not 0) and UDP_SEGMENT @seg
 * (if not 0).
 */
static ssize_t srv_send(int fd, const struct sockaddr_storage *to, socklen_t tolen,
			uint32_t peer, uint8_t type, uint16_t seg, const void *pt, size_t len)
{
	union {
		char b[CMSG_SPACE(4) + CMSG_SPACE(1) + CMSG_SPACE(2)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)pt, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	size_t used = 0;

	memset(&ctl, 0, sizeof(ctl));
	if (peer) {
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_PEER;
		c->cmsg_len = CMSG_LEN(sizeof(peer));
		memcpy(CMSG_DATA(c), &peer, sizeof(peer));
		used += CMSG_SPACE(sizeof(peer));
		c = (struct cmsghdr *)(ctl.b + used);
	}
	if (type) {
		c->cmsg_level = SOL_DTLS;
		c->cmsg_type = DTLS_SET_RECORD_TYPE;
		c->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(c) = type;
		used += CMSG_SPACE(1);
		c = (struct cmsghdr *)(ctl.b + used);
	}
	if (seg) {
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		used += CMSG_SPACE(sizeof(seg));
	}
	m.msg_controllen = used;
	if (!used)
		m.msg_control = NULL;
	return sendmsg(fd, &m, 0);
}

static ssize_t srv_sendto(const struct world *w, const struct ep *to, const void *pt,
			  size_t len)
{
	return sendto(w->srv, pt, len, 0, (const void *)&to->sa, to->salen);
}

/* Client @c sends its next record from socket @from; returns its number. */
static uint64_t cli_send(struct __test_metadata *_metadata, const struct world *w,
			 struct cli *c, const struct ep *from, uint8_t type, const void *pt,
			 size_t len)
{
	static uint8_t rec[MAXREC];
	uint64_t seq = c->c2s.seq++;
	size_t rl = w_seal(w, &c->c2s, seq, type, pt, len, forms13[(seq + c->id) % 4], 1, rec);

	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(from->fd, rec, rl, 0)) TH_LOG("send: %s", strerror(errno));
	return seq;
}

/*
 * The server delivers @pt as record @seq of @c's current RX epoch, of
 * @type, with @flags, from @from.
 */
static void srv_expect(struct __test_metadata *_metadata, const struct world *w,
		       const struct cli *c, const struct ep *from, uint8_t type, uint64_t seq,
		       const void *pt, size_t len, uint8_t flags)
{
	static uint8_t buf[MAXREC];
	char a[80], b[80];
	struct smsg m;
	ssize_t n = srv_recv(w->srv, buf, sizeof(buf), &m, 2000);

	ASSERT_EQ((ssize_t)len, n) TH_LOG("peer %u seq %llu: server recv %zd (%s), want %zu",
					  c->id, (unsigned long long)seq, n,
					  n < 0 ? strerror(errno) : "length", len);
	ASSERT_EQ(1, m.got) TH_LOG("peer %u: no DTLS_GET_RECORD_TYPE cmsg first", c->id);
	EXPECT_EQ(c->id, m.info.peer_id);
	EXPECT_EQ(flags, m.info.flags) TH_LOG("peer %u seq %llu", c->id, (unsigned long long)seq);
	EXPECT_EQ(type, m.info.content_type);
	EXPECT_EQ(REC_NUM(c->c2s.k.epoch, seq), m.info.rec_num);
	EXPECT_EQ(0, m.info.reserved[0] | m.info.reserved[1]);
	EXPECT_EQ(0, memcmp(buf, pt, len)) TH_LOG("peer %u: plaintext differs", c->id);
	EXPECT_TRUE(sa_eq(&m.from, &from->sa)) TH_LOG("msg_name %s, want %s",
						     sa_str(&m.from, a, sizeof(a)),
						     sa_str(&from->sa, b, sizeof(b)));
}

/* @c sends a record from its own socket and the server delivers it. */
static void c2s_ok(struct __test_metadata *_metadata, const struct world *w, struct cli *c,
		   uint8_t type, const void *pt, size_t len)
{
	uint64_t seq = cli_send(_metadata, w, c, &c->ep, type, pt, len);

	srv_expect(_metadata, w, c, &c->ep, type, seq, pt, len, DTLS_RECORD_F_PROTECTED);
}

/* The server delivers the datagram @bytes whole, from @from, as @peer_id's. */
static void srv_expect_dgram(struct __test_metadata *_metadata, const struct world *w,
			     const struct ep *from, const void *bytes, size_t len,
			     uint32_t peer_id, const char *what)
{
	static uint8_t buf[MAXREC];
	char a[80], b[80];
	struct smsg m;
	ssize_t n = srv_recv(w->srv, buf, sizeof(buf), &m, 2000);

	ASSERT_EQ((ssize_t)len, n) TH_LOG("%s: server recv %zd (%s), want the datagram's %zu",
					  what, n, n < 0 ? strerror(errno) : "length", len);
	ASSERT_EQ(1, m.got) TH_LOG("%s: no DTLS_GET_RECORD_TYPE cmsg first", what);
	EXPECT_EQ(DTLS_RECORD_F_DATAGRAM, m.info.flags) TH_LOG("%s", what);
	EXPECT_EQ(peer_id, m.info.peer_id) TH_LOG("%s", what);
	EXPECT_EQ(0, m.info.content_type) TH_LOG("%s", what);
	EXPECT_EQ(0, m.info.rec_num) TH_LOG("%s", what);
	EXPECT_EQ(0, memcmp(buf, bytes, len)) TH_LOG("%s: datagram changed", what);
	EXPECT_TRUE(sa_eq(&m.from, &from->sa)) TH_LOG("%s: msg_name %s, want %s", what,
						     sa_str(&m.from, a, sizeof(a)),
						     sa_str(&from->sa, b, sizeof(b)));
}

static void expect_none(struct __test_metadata *_metadata, int fd, const char *what)
{
	EXPECT_EQ(0, wait_readable(fd, 30)) TH_LOG("%s: something arrived", what);
}

/*
 * Client @c receives on @at exactly the reference's next record of the
 * server's (16-bit sequence number and a length in DTLS 1.3, explicit
 * nonce epoch || seq in 1.2), and the reference opens it.
 */
static void cli_expect(struct __test_metadata *_metadata, const struct world *w,
		       struct cli *c, const struct ep *at, uint8_t type, const void *pt,
		       size_t len)
{
	static uint8_t want[MAXREC], got[MAXREC];
	uint64_t seq = c->s2c.seq++;
	size_t wl = w_seal(w, &c->s2c, seq, type, pt, len, DTLS13_HDR_S | DTLS13_HDR_L, 0, want);
	ssize_t n = recv_wait(at->fd, got, sizeof(got), 2000);

	ASSERT_NE(0, wl);
	ASSERT_EQ((ssize_t)wl, n) TH_LOG("peer %u seq %llu: client recv %zd (%s), want %zu",
					 c->id, (unsigned long long)seq, n,
					 n < 0 ? strerror(errno) : "length", wl);
	EXPECT_EQ(0, memcmp(want, got, wl)) TH_LOG("peer %u seq %llu: differs from the reference",
						   c->id, (unsigned long long)seq);
	EXPECT_EQ(0, w_open(w, &c->s2c, got, n, seq, type, pt, len))
		TH_LOG("peer %u seq %llu: the reference does not open it", c->id,
		       (unsigned long long)seq);
}

/* Plain bytes from the server arrive at @at unchanged. */
static void ep_expect_plain(struct __test_metadata *_metadata, const struct ep *at,
			    const void *bytes, size_t len, const char *what)
{
	static uint8_t got[MAXREC];
	ssize_t n = recv_wait(at->fd, got, sizeof(got), 2000);

	ASSERT_EQ((ssize_t)len, n) TH_LOG("%s: recv %zd (%s)", what, n,
					  n < 0 ? strerror(errno) : "length");
	EXPECT_EQ(0, memcmp(got, bytes, len)) TH_LOG("%s: bytes changed", what);
}

/* The server's DTLS_SET_PEER send to @c and the record arriving at @at. */
static void s2c_peer(struct __test_metadata *_metadata, const struct world *w, struct cli *c,
		     const struct ep *at, uint8_t type, const void *pt, size_t len)
{
	ASSERT_EQ((ssize_t)len, srv_send(w->srv, NULL, 0, c->id, type, 0, pt, len))
		TH_LOG("DTLS_SET_PEER %u: %s", c->id, strerror(errno));
	cli_expect(_metadata, w, c, at, type ? type : DTLS_RECORD_TYPE_APPLICATION_DATA, pt, len);
}

static void s2c_sendto(struct __test_metadata *_metadata, const struct world *w,
		       struct cli *c, const struct ep *at, const void *pt, size_t len)
{
	ASSERT_EQ((ssize_t)len, srv_sendto(w, at, pt, len))
		TH_LOG("sendto peer %u: %s", c->id, strerror(errno));
	cli_expect(_metadata, w, c, at, DTLS_RECORD_TYPE_APPLICATION_DATA, pt, len);
}

/* DTLS_PEER_INFO of @c: its id, the address of @at, its CIDs, @flags. */
static void expect_info(struct __test_metadata *_metadata, const struct world *w,
			const struct cli *c, const struct ep *at, uint32_t flags)
{
	struct dtls_peer p;
	char a[80], b[80];

	ASSERT_EQ(0, peer_info(w->srv, c->id, &p)) TH_LOG("DTLS_PEER_INFO %u: %s", c->id,
							  strerror(errno));
	EXPECT_EQ(c->id, p.id);
	EXPECT_EQ(flags, p.flags) TH_LOG("peer %u", c->id);
	EXPECT_TRUE(sa_eq((struct sockaddr_storage *)&p.addr, &at->sa))
		TH_LOG("peer %u at %s, want %s", c->id,
		       sa_str((struct sockaddr_storage *)&p.addr, a, sizeof(a)),
		       sa_str(&at->sa, b, sizeof(b)));
	EXPECT_EQ(c->s2c.cid_len, p.tx_cid.len);
	EXPECT_EQ(0, memcmp(p.tx_cid.cid, c->s2c.cid, c->s2c.cid_len));
	EXPECT_EQ(c->c2s.cid_len, p.rx_cid.len);
	EXPECT_EQ(0, memcmp(p.rx_cid.cid, c->c2s.cid, c->c2s.cid_len));
}

/* Send @rec from @from: counter @name must grow by one, nothing arrive. */
static void expect_dropped(struct __test_metadata *_metadata, const struct world *w,
			   const struct ep *from, const uint8_t *rec, size_t rl,
			   const char *name, const char *what)
{
	long long before = dstat(name);

	ASSERT_LE(0, before) TH_LOG("%s: no %s in " DSTAT_FILE, what, name);
	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(from->fd, rec, rl, 0));
	EXPECT_EQ(before + 1, dstat_wait(name, before + 1, 2000)) TH_LOG("%s: %s", what, name);
	expect_none(_metadata, w->srv, what);
}

static void fill(uint8_t *p, size_t len, unsigned int salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + salt * 101 + (i >> 7));
}

/*
 * The DtlsCurr* counters and the module's references once they stay put
 * for 50 ms: the previous test's socket may still be going away (its
 * context is freed an RCU grace period after close()).
 */
static void base_settled(struct base *b)
{
	uint64_t end = now_ms() + 5000;
	struct base was;

	base_get(b);
	do {
		was = *b;
		usleep(50000);
		base_get(b);
	} while (!base_eq(&was, b) && now_ms() < end);
}

static void world_init(struct __test_metadata *_metadata, struct world *w, uint16_t version,
		       uint16_t cipher, int kind)
{
	memset(w, 0, sizeof(*w));
	base_settled(&w->base);
	w->srv = -1;
	w->v13 = version == DTLS_1_3_VERSION;
	w->cipher = cipher;
	w->kind = kind;
	w->c = calloc(MAX_CLIENTS, sizeof(*w->c));
	w->extra = calloc(16, sizeof(*w->extra));
	ASSERT_NE(NULL, w->c);
	ASSERT_NE(NULL, w->extra);
	for (int i = 0; i < MAX_CLIENTS; i++)
		w->c[i].ep.fd = -1;
	w->srv = srv_open(kind);
	ASSERT_LE(0, w->srv) TH_LOG("server socket: %s", strerror(errno));
	w->port = sk_port(w->srv);
}

/*
 * Everything closed; then the module's references are as before, and the
 * DtlsCurr* counters too if the test asked for it (w->counters): one
 * counting error would fail every test, so only some look at them.
 */
static void world_free(struct __test_metadata *_metadata, struct world *w)
{
	char why[256];

	if (w->c)
		for (int i = 0; i < MAX_CLIENTS; i++)
			ep_close(&w->c[i].ep);
	if (w->extra)
		for (int i = 0; i < w->n_extra; i++)
			ep_close(&w->extra[i]);
	if (w->srv >= 0)
		close(w->srv);
	free(w->c);
	free(w->extra);
	if (w->counters) {
		EXPECT_EQ(0, base_wait(&w->base, 2000, why, sizeof(why)))
			TH_LOG("after close: %s", why);
		return;
	}
	for (uint64_t end = now_ms() + 2000; modref() != w->base.ref && now_ms() < end;)
		usleep(10000);
	EXPECT_EQ(w->base.ref, modref()) TH_LOG("the module's references after close");
}

/* ---------------------------------------------------------------------- */
/* Every version, suite and family                                         */

FIXTURE(peers) {
	struct world w;
};

FIXTURE_VARIANT(peers) {
	uint16_t version;
	uint16_t cipher;
	int kind;
};

#define PEERS_SUITE(v, ver, cname, ctype)						\
	FIXTURE_VARIANT_ADD(peers, v##_##cname##_ipv4) {				\
		.version = ver, .cipher = ctype, .kind = SK_IPV4 };			\
	FIXTURE_VARIANT_ADD(peers, v##_##cname##_ipv6) {				\
		.version = ver, .cipher = ctype, .kind = SK_IPV6 }

#define PEERS_VERSION(v, ver)								\
	PEERS_SUITE(v, ver, aes128gcm, DTLS_CIPHER_AES_GCM_128);			\
	PEERS_SUITE(v, ver, aes256gcm, DTLS_CIPHER_AES_GCM_256);			\
	PEERS_SUITE(v, ver, aes128ccm, DTLS_CIPHER_AES_CCM_128);			\
	PEERS_SUITE(v, ver, aes128ccm8, DTLS_CIPHER_AES_CCM_8_128);			\
	PEERS_SUITE(v, ver, chacha20poly1305, DTLS_CIPHER_CHACHA20_POLY1305)

PEERS_VERSION(dtls12, DTLS_1_2_VERSION);
PEERS_VERSION(dtls13, DTLS_1_3_VERSION);

FIXTURE_SETUP(peers)
{
	world_init(_metadata, &self->w, variant->version, variant->cipher, variant->kind);
}

FIXTURE_TEARDOWN(peers)
{
	world_free(_metadata, &self->w);
}

static const uint8_t rtypes[] = {
	DTLS_RECORD_TYPE_APPLICATION_DATA, DTLS_RECORD_TYPE_HANDSHAKE, DTLS_RECORD_TYPE_ALERT,
};
static const size_t psizes[] = { 0, 1, 17, 100, 1400, 4096 };
#define N_PSIZES (sizeof(psizes) / sizeof(psizes[0]))

/* Size @i of psizes for a record of @type: no empty alert or handshake. */
static size_t psize(unsigned int i, uint8_t type)
{
	size_t len = psizes[i % N_PSIZES];

	return len || type == DTLS_RECORD_TYPE_APPLICATION_DATA ? len : 3;
}
#define N_BOTH 6

#define PROC_FIELDS 16

/* The fields of /proc/net/dtls's line "peer:@id ..."; 1 found, 0 not, -1 error. */
static int proc_peer_line(uint32_t id, char f[PROC_FIELDS][520])
{
	char line[2048], want[32], *tok, *save;
	FILE *p = fopen(PROC_DTLS, "r");
	int n, found = 0;

	if (!p)
		return -1;
	snprintf(want, sizeof(want), "peer:%u ", id);
	while (!found && fgets(line, sizeof(line), p)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		n = 0;
		for (tok = strtok_r(line, " \n", &save); tok && n < PROC_FIELDS;
		     tok = strtok_r(NULL, " \n", &save))
			snprintf(f[n++], sizeof(f[0]), "%s", tok);
		found = n == PROC_FIELDS ? 1 : -1;
	}
	fclose(p);
	return found;
}

/* @c's line: address, version, records sent and delivered, nothing dropped. */
static void expect_proc_peer(struct __test_metadata *_metadata, const struct world *w,
			     const struct cli *c, const char *tx_records, const char *rx_records)
{
	static char f[PROC_FIELDS][520];
	char a[80];

	ASSERT_EQ(1, proc_peer_line(c->id, f)) TH_LOG("no line peer:%u in " PROC_DTLS, c->id);
	EXPECT_STREQ(sa_str(&c->ep.sa, a, sizeof(a)), f[1]);
	EXPECT_STREQ(w->v13 ? "1.3" : "1.2", f[2]);
	EXPECT_STREQ(tx_records, f[11]) TH_LOG("peer %u: tx_records", c->id);
	EXPECT_STREQ(rx_records, f[12]) TH_LOG("peer %u: rx_records", c->id);
	EXPECT_STREQ("-", f[13]);
	EXPECT_STREQ("0", f[14]) TH_LOG("peer %u: rx_dropped", c->id);
}

/*
 * N_BOTH clients: their records reach the server with their peer_id,
 * type, number, plaintext and address, one by one and queued together;
 * the server's records to each, by sendto() and by DTLS_SET_PEER (with a
 * record type), are the reference's, numbered per peer.
 */
static void both_ways(struct __test_metadata *_metadata, struct world *w, int cid)
{
	static uint8_t pt[8192];
	uint64_t seqs[N_BOTH];
	struct cli *c;

	for (int i = 0; i < N_BOTH; i++)
		cli_add(_metadata, w, i, cid, K_BOTH);
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < N_BOTH; i++) {
			size_t len = psize(i + r, rtypes[r]);

			fill(pt, len, i * 7 + r);
			c2s_ok(_metadata, w, &w->c[i], rtypes[r], pt, len);
		}
	}
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < N_BOTH; i++) {
			size_t len = psize(i + 2 * r, rtypes[r]);

			c = &w->c[i];
			fill(pt, len, i * 5 + r);
			if ((i + r) % 2)
				s2c_sendto(_metadata, w, c, &c->ep, pt, len);
			else
				s2c_peer(_metadata, w, c, &c->ep, rtypes[r], pt, len);
		}
	}
	/* every client's record queued before the server reads any */
	for (int i = 0; i < N_BOTH; i++) {
		fill(pt, 200 + i, i);
		seqs[i] = cli_send(_metadata, w, &w->c[i], &w->c[i].ep, 23, pt, 200 + i);
	}
	for (int i = 0; i < N_BOTH; i++) {
		fill(pt, 200 + i, i);
		srv_expect(_metadata, w, &w->c[i], &w->c[i].ep, 23, seqs[i], pt, 200 + i,
			   DTLS_RECORD_F_PROTECTED);
	}
	for (int i = 0; i < N_BOTH; i++) {
		expect_info(_metadata, w, &w->c[i], &w->c[i].ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
		expect_proc_peer(_metadata, w, &w->c[i], "3", "4");
	}
	expect_none(_metadata, w->srv, "after the last record");
}

/*
 * The glue around the references (no kernel involved): w_open() opens
 * what w_seal() builds, with and without CIDs, and refuses a record with
 * a flipped bit, another number, another CID or another key.
 */
TEST_F(peers, reference_glue)
{
	static uint8_t pt[300], rec[MAXREC];
	struct world *w = &self->w;
	struct cli c, other;
	size_t rl;

	fill(pt, sizeof(pt), 9);
	for (int cid = 0; cid < 2; cid++) {
		ASSERT_EQ(0, cli_init(w, 7, cid, &c));
		ASSERT_EQ(0, cli_init(w, 8, cid, &other));
		ep_close(&c.ep);
		ep_close(&other.ep);
		for (int rnd = 0; rnd < 2; rnd++) {
			rl = w_seal(w, &c.s2c, 5, 22, pt, 100, forms13[rnd], rnd, rec);
			ASSERT_NE(0, rl);
			EXPECT_EQ(0, w_open(w, &c.s2c, rec, rl, 5, 22, pt, 100));
			EXPECT_EQ(-1, w_open(w, &c.s2c, rec, rl, 5, 23, pt, 100));
			EXPECT_EQ(-1, w_open(w, &c.s2c, rec, rl, 6, 22, pt, 100));
			EXPECT_EQ(-1, w_open(w, &other.s2c, rec, rl, 5, 22, pt, 100));
			rec[rl - 1] ^= 1;
			EXPECT_EQ(-1, w_open(w, &c.s2c, rec, rl, 5, 22, pt, 100));
		}
		if (cid) {
			rl = w_seal(w, &c.c2s, 1, 23, pt, 10, forms13[0], 0, rec);
			c.c2s.cid[1] ^= 1;
			EXPECT_EQ(-1, w_open(w, &c.c2s, rec, rl, 1, 23, pt, 10));
		}
	}
}

TEST_F(peers, both_ways_by_address)
{
	both_ways(_metadata, &self->w, 0);
}

/* Lookup by CID: one receive CID length for all, send CIDs of 0 to 5 bytes. */
TEST_F(peers, both_ways_by_cid)
{
	both_ways(_metadata, &self->w, 1);
}

/*
 * Delivered whole and unchanged, DTLS_RECORD_F_DATAGRAM: datagrams from
 * an address without a peer (peer_id 0), a datagram starting with an
 * epoch-0 record from a peer with keys, a protected record from a peer
 * without RX keys, anything from a peer without keys (their peer_id).
 * sendto() an address without a peer or a peer without TX keys: the bytes
 * go out as they are.
 */
TEST_F(peers, datagrams_whole)
{
	static uint8_t dg[4096], pt[300], rec_none[4096];
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 0, 0, K_BOTH);
	struct cli *b = cli_add(_metadata, w, 1, 0, K_TX);
	struct cli *nk = cli_add(_metadata, w, 2, 0, K_NONE);
	struct ep *u = extra_ep(_metadata, w, 3);
	long long whole = dstat_settled("DtlsRxDatagrams", 200);
	struct cli ghost;
	size_t dl;

	fill(pt, sizeof(pt), 1);
	/* no peer at u's address: garbage, a ClientHello-like record */
	dg[0] = 0x01;
	fill(dg + 1, 36, 2);
	ASSERT_EQ(37, send(u->fd, dg, 37, 0));
	/* not application data: EIO without room for the record type, stays queued */
	ASSERT_EQ(1, wait_readable(w->srv, 2000));
	EXPECT_EQ(-1, recv(w->srv, rec_none, sizeof(rec_none), MSG_DONTWAIT));
	EXPECT_EQ(EIO, errno) TH_LOG("recv() of a whole datagram without msg_control");
	srv_expect_dgram(_metadata, w, u, dg, 37, 0, "garbage from an unknown address");
	dl = plain_record(dg, DTLS_RECORD_TYPE_HANDSHAKE, DTLS_1_2_VERSION, 0, 0, pt, 120);
	ASSERT_EQ((ssize_t)dl, send(u->fd, dg, dl, 0));
	srv_expect_dgram(_metadata, w, u, dg, dl, 0, "epoch 0 from an unknown address");
	/* a protected record with keys nobody has, from an unknown address */
	ASSERT_EQ(0, cli_init(w, 5, 0, &ghost));
	dl = w_seal(w, &ghost.c2s, 0, 23, pt, 50, DTLS13_HDR_S | DTLS13_HDR_L, 1, dg);
	ep_close(&ghost.ep);
	ASSERT_EQ((ssize_t)dl, send(u->fd, dg, dl, 0));
	srv_expect_dgram(_metadata, w, u, dg, dl, 0, "protected, from an unknown address");

	/* a's epoch-0 record with a protected one behind it: whole, as a's */
	dl = plain_record(dg, DTLS_RECORD_TYPE_HANDSHAKE, DTLS_1_2_VERSION, 0, 7, pt, 60);
	dl += w_seal(w, &a->c2s, a->c2s.seq++, 23, pt, 40, DTLS13_HDR_S | DTLS13_HDR_L, 1,
		     dg + dl);
	ASSERT_EQ((ssize_t)dl, send(a->ep.fd, dg, dl, 0));
	srv_expect_dgram(_metadata, w, &a->ep, dg, dl, a->id, "epoch 0 first, from a peer");
	/* b has no RX keys: its protected record comes whole, as b's */
	dl = w_seal(w, &b->c2s, b->c2s.seq++, 23, pt, 80, DTLS13_HDR_S | DTLS13_HDR_L, 1, dg);
	ASSERT_EQ((ssize_t)dl, send(b->ep.fd, dg, dl, 0));
	srv_expect_dgram(_metadata, w, &b->ep, dg, dl, b->id, "protected, peer without RX keys");
	dl = plain_record(dg, DTLS_RECORD_TYPE_ALERT, DTLS_1_2_VERSION, 0, 1, pt, 2);
	ASSERT_EQ((ssize_t)dl, send(nk->ep.fd, dg, dl, 0));
	srv_expect_dgram(_metadata, w, &nk->ep, dg, dl, nk->id, "epoch 0, peer without keys");
	EXPECT_EQ(whole + 6, dstat_settled("DtlsRxDatagrams", 200));
	/* a still works both ways */
	c2s_ok(_metadata, w, a, 23, pt, 99);
	s2c_sendto(_metadata, w, a, &a->ep, pt, 98);

	/* plain out: no peer, a peer without TX keys; b's is sealed */
	ASSERT_EQ(33, srv_sendto(w, u, pt, 33));
	ep_expect_plain(_metadata, u, pt, 33, "sendto an address without a peer");
	ASSERT_EQ(34, srv_sendto(w, &nk->ep, pt, 34));
	ep_expect_plain(_metadata, &nk->ep, pt, 34, "sendto a peer without TX keys");
	s2c_sendto(_metadata, w, b, &b->ep, pt, 35);
	/* DTLS_SET_PEER to a peer without TX keys */
	EXPECT_EQ(-1, srv_send(w->srv, NULL, 0, nk->id, 0, 0, pt, 10));
	EXPECT_EQ(ENOTCONN, errno);
	expect_none(_metadata, nk->ep.fd, "DTLS_SET_PEER without TX keys");
	expect_info(_metadata, w, b, &b->ep, DTLS_PEER_F_TX);
	expect_info(_metadata, w, nk, &nk->ep, 0);
	expect_none(_metadata, w->srv, "at the end");
}

/*
 * Float: a's authentic newest record from another address moves a there
 * (DTLS_RECORD_F_MOVED, DTLS_PEER_INFO, DTLS_SET_PEER and sendto follow);
 * an older one from elsewhere, or a forged one, does not.  The others
 * stay where they are.
 */
TEST_F(peers, cid_float)
{
	static uint8_t pt[200], rec[MAXREC];
	struct world *w = &self->w;
	struct cli *a = trio(_metadata, w, 1), *b = a + 1, *c = a + 2;
	struct ep *a2 = extra_ep(_metadata, w, 3);
	struct ep *a3 = extra_ep(_metadata, w, 4);
	long long moved = dstat("DtlsRxPeerMoved");
	uint64_t s, s_old;
	size_t rl;

	fill(pt, sizeof(pt), 3);
	c2s_ok(_metadata, w, a, 23, pt, 10);
	c2s_ok(_metadata, w, b, 23, pt, 11);
	/* a's next record from a2: a moves there */
	s = cli_send(_metadata, w, a, a2, 23, pt, 12);
	srv_expect(_metadata, w, a, a2, 23, s, pt, 12,
		   DTLS_RECORD_F_PROTECTED | DTLS_RECORD_F_MOVED);
	expect_info(_metadata, w, a, a2, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	s2c_peer(_metadata, w, a, a2, 0, pt, 13);
	expect_none(_metadata, a->ep.fd, "DTLS_SET_PEER after the move, at the old address");
	s2c_sendto(_metadata, w, a, a2, pt, 14);
	/* the old address has no peer now: plain out, whole in, peer_id 0 */
	ASSERT_EQ(15, srv_sendto(w, &a->ep, pt, 15));
	ep_expect_plain(_metadata, &a->ep, pt, 15, "sendto a's old address");
	rl = plain_record(rec, DTLS_RECORD_TYPE_HANDSHAKE, DTLS_1_2_VERSION, 0, 3, pt, 16);
	ASSERT_EQ((ssize_t)rl, send(a->ep.fd, rec, rl, 0));
	srv_expect_dgram(_metadata, w, &a->ep, rec, rl, 0, "epoch 0 from a's old address");

	/* an older record of a's from its old address: delivered, no move */
	s_old = a->c2s.seq++;
	s = cli_send(_metadata, w, a, a2, 23, pt, 17);
	srv_expect(_metadata, w, a, a2, 23, s, pt, 17, DTLS_RECORD_F_PROTECTED);
	rl = w_seal(w, &a->c2s, s_old, 22, pt, 18, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	ASSERT_EQ((ssize_t)rl, send(a->ep.fd, rec, rl, 0));
	srv_expect(_metadata, w, a, &a->ep, 22, s_old, pt, 18, DTLS_RECORD_F_PROTECTED);
	expect_info(_metadata, w, a, a2, DTLS_PEER_F_TX | DTLS_PEER_F_RX);

	/* a forged newest record of a's from a3: dropped, no move */
	rl = w_seal(w, &a->c2s, a->c2s.seq + 5, 23, pt, 19, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	rec[rl - 1] ^= 0x40;
	expect_dropped(_metadata, w, a3, rec, rl, "DtlsRxDecryptError", "forged, from a3");
	expect_info(_metadata, w, a, a2, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	s2c_peer(_metadata, w, a, a2, 0, pt, 20);
	expect_none(_metadata, a3->fd, "DTLS_SET_PEER after the forgery, at a3");

	/* b and c never moved */
	c2s_ok(_metadata, w, b, 23, pt, 21);
	c2s_ok(_metadata, w, c, 21, pt, 2);
	s2c_peer(_metadata, w, b, &b->ep, 0, pt, 22);
	s2c_sendto(_metadata, w, c, &c->ep, pt, 23);
	expect_info(_metadata, w, b, &b->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	expect_info(_metadata, w, c, &c->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);

	/* a moves back with its next record */
	s = cli_send(_metadata, w, a, &a->ep, 23, pt, 24);
	srv_expect(_metadata, w, a, &a->ep, 23, s, pt, 24,
		   DTLS_RECORD_F_PROTECTED | DTLS_RECORD_F_MOVED);
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	s2c_peer(_metadata, w, a, &a->ep, 0, pt, 25);
	expect_none(_metadata, a2->fd, "after the move back, at a2");
	expect_none(_metadata, w->srv, "at the end");
	/* two moves; the older and the forged records moved nothing */
	EXPECT_EQ(moved + 2, dstat("DtlsRxPeerMoved"));
}

/*
 * b moves to c's address: a sendto() there is then b's (b's keys), c is
 * still reachable by DTLS_SET_PEER, and a's records still pass.  c's next
 * record from there moves c back (it lost the address, dtls.rst), and the
 * address is c's again.
 */
TEST_F(peers, cid_float_onto_peer)
{
	static uint8_t pt[100];
	struct world *w = &self->w;
	struct cli *a = trio(_metadata, w, 1), *b = a + 1, *c = a + 2;
	uint64_t s;

	fill(pt, sizeof(pt), 11);
	s = cli_send(_metadata, w, b, &c->ep, 23, pt, 30);
	srv_expect(_metadata, w, b, &c->ep, 23, s, pt, 30,
		   DTLS_RECORD_F_PROTECTED | DTLS_RECORD_F_MOVED);
	expect_info(_metadata, w, b, &c->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	s2c_sendto(_metadata, w, b, &c->ep, pt, 31);
	s2c_peer(_metadata, w, b, &c->ep, 0, pt, 32);
	s2c_peer(_metadata, w, c, &c->ep, 0, pt, 33);
	expect_none(_metadata, b->ep.fd, "b's old address");
	c2s_ok(_metadata, w, a, 23, pt, 34);
	s = cli_send(_metadata, w, c, &c->ep, 23, pt, 35);
	srv_expect(_metadata, w, c, &c->ep, 23, s, pt, 35,
		   DTLS_RECORD_F_PROTECTED | DTLS_RECORD_F_MOVED);
	expect_info(_metadata, w, c, &c->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	s2c_sendto(_metadata, w, c, &c->ep, pt, 36);
	c2s_ok(_metadata, w, c, 23, pt, 37);
	expect_none(_metadata, w->srv, "at the end");
}

/*
 * A record with a CID of the right length that no peer has matches no
 * peer: delivered whole (the spec's rule for such datagrams), with the
 * peer_id of the peer at its source address if there is one, else 0.
 */
TEST_F(peers, cid_unknown)
{
	static uint8_t pt[64], rec[MAXREC];
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 0, 1, K_BOTH);
	struct ep *u = extra_ep(_metadata, w, 3);
	struct cli ghost = *a;
	long long unk = dstat("DtlsRxUnknownCid");
	size_t rl;

	fill(pt, sizeof(pt), 4);
	ghost.c2s.cid[0] ^= 0xff;
	rl = w_seal(w, &ghost.c2s, 0, 23, pt, sizeof(pt), DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	ASSERT_EQ((ssize_t)rl, send(u->fd, rec, rl, 0));
	srv_expect_dgram(_metadata, w, u, rec, rl, 0, "unknown CID from an unknown address");
	ASSERT_EQ((ssize_t)rl, send(a->ep.fd, rec, rl, 0));
	srv_expect_dgram(_metadata, w, &a->ep, rec, rl, a->id, "unknown CID from a's address");
	TH_LOG("DtlsRxUnknownCid moved by %lld", dstat_settled("DtlsRxUnknownCid", 200) - unk);
	c2s_ok(_metadata, w, a, 23, pt, 5);
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
}

/*
 * Each peer has its own replay window: a replayed or forged record of a's
 * changes nothing for b, whose records with the same numbers pass, and a
 * forgery does not advance a's window.
 */
TEST_F(peers, replay_and_forgery_per_peer)
{
	static uint8_t pt[100], rec[MAXREC], fake[MAXREC];
	struct world *w = &self->w;
	struct cli *a = &w->c[0], *b = &w->c[1];
	uint64_t s;
	size_t rl;

	/* both numbered from 0 */
	ASSERT_EQ(0, cli_init(w, 0, 0, a));
	ASSERT_EQ(0, cli_init(w, 1, 0, b));
	a->c2s.seq = b->c2s.seq = 0;
	cli_install(_metadata, w, a, K_BOTH);
	cli_install(_metadata, w, b, K_BOTH);
	fill(pt, sizeof(pt), 5);
	c2s_ok(_metadata, w, a, 23, pt, 10);
	s = a->c2s.seq++;
	rl = w_seal(w, &a->c2s, s, 23, pt, 11, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	ASSERT_EQ((ssize_t)rl, send(a->ep.fd, rec, rl, 0));
	srv_expect(_metadata, w, a, &a->ep, 23, s, pt, 11, DTLS_RECORD_F_PROTECTED);
	c2s_ok(_metadata, w, b, 23, pt, 12);
	expect_dropped(_metadata, w, &a->ep, rec, rl, "DtlsRxReplay", "a's record again");
	c2s_ok(_metadata, w, b, 23, pt, 13);	/* b's number 1 */

	/* a forged number 2 of a's */
	rl = w_seal(w, &a->c2s, a->c2s.seq, 23, pt, 14, DTLS13_HDR_S | DTLS13_HDR_L, 1, fake);
	fake[rl - 1] ^= 1;
	expect_dropped(_metadata, w, &a->ep, fake, rl, "DtlsRxDecryptError", "a forged");
	c2s_ok(_metadata, w, b, 23, pt, 15);	/* b's 2 */
	c2s_ok(_metadata, w, a, 23, pt, 16);	/* a's genuine 2 */
	/* b's 2 again, from b */
	rl = w_seal(w, &b->c2s, 2, 23, pt, 15, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	expect_dropped(_metadata, w, &b->ep, rec, rl, "DtlsRxReplay", "b's record again");
	/* b's record from a's address: a's keys fail on it */
	rl = w_seal(w, &b->c2s, b->c2s.seq, 23, pt, 17, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	expect_dropped(_metadata, w, &a->ep, rec, rl, "DtlsRxDecryptError",
		       "b's record from a's address");
	c2s_ok(_metadata, w, a, 23, pt, 18);
	c2s_ok(_metadata, w, b, 23, pt, 19);
	expect_none(_metadata, w->srv, "at the end");
}

/*
 * DTLS 1.3: a's second DTLS_PEER_TX / DTLS_PEER_RX moves a to the next
 * epoch; b and c keep theirs; a's records of the previous epoch still
 * pass.  DTLS 1.2 has no key update: a second DTLS_PEER_TX or
 * DTLS_PEER_RX is EBUSY and a keeps its keys.
 */
TEST_F(peers, key_update_one_peer)
{
	static uint8_t pt[100];
	struct world *w = &self->w;
	struct cli *a = trio(_metadata, w, 0);
	struct dir old_rx = a->c2s;
	uint64_t s;

	fill(pt, sizeof(pt), 6);
	for (int i = 0; i < 3; i++) {
		c2s_ok(_metadata, w, &w->c[i], 23, pt, 10 + i);
		s2c_peer(_metadata, w, &w->c[i], &w->c[i].ep, 0, pt, 20 + i);
	}
	if (!w->v13) {
		EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
		EXPECT_EQ(EBUSY, errno);
		EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_RX, &a->c2s));
		EXPECT_EQ(EBUSY, errno);
	} else {
		ASSERT_EQ(0, ref13_update(&a->s2c.k));
		ASSERT_EQ(0, ref13_update(&a->c2s.k));
		a->s2c.seq = 0;
		a->c2s.seq = 0;
		ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c))
			TH_LOG("second DTLS_PEER_TX: %s", strerror(errno));
		ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_RX, &a->c2s))
			TH_LOG("second DTLS_PEER_RX: %s", strerror(errno));
		ASSERT_EQ(4, a->s2c.k.epoch);
	}
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < 3; i++) {
			c2s_ok(_metadata, w, &w->c[i], 23, pt, 30 + i + r);
			s2c_peer(_metadata, w, &w->c[i], &w->c[i].ep, 0, pt, 40 + i + r);
			s2c_sendto(_metadata, w, &w->c[i], &w->c[i].ep, pt, 50 + i + r);
		}
	}
	if (w->v13) {
		/* a's late record of epoch 3 */
		struct cli late = *a;

		late.c2s = old_rx;
		late.c2s.seq = old_rx.seq + 1;
		s = cli_send(_metadata, w, &late, &a->ep, 23, pt, 60);
		srv_expect(_metadata, w, &late, &a->ep, 23, s, pt, 60, DTLS_RECORD_F_PROTECTED);
	}
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	expect_none(_metadata, w->srv, "at the end");
}

/*
 * DTLS_PEER_DEL: a's records then come whole with peer_id 0, sendto() a's
 * address goes out plain, the id is unknown to every option; b and c go
 * on.  The id and the address can be taken again.
 */
TEST_F(peers, peer_del)
{
	static uint8_t pt[100], rec[MAXREC];
	struct world *w = &self->w;
	struct cli *a = trio(_metadata, w, 0), *b = a + 1, *c = a + 2;
	struct dtls_peer p;
	size_t rl;

	fill(pt, sizeof(pt), 7);
	c2s_ok(_metadata, w, a, 23, pt, 10);
	s2c_peer(_metadata, w, a, &a->ep, 0, pt, 11);
	ASSERT_EQ(0, peer_del(w->srv, a->id)) TH_LOG("DTLS_PEER_DEL: %s", strerror(errno));

	rl = w_seal(w, &a->c2s, a->c2s.seq++, 23, pt, 12, DTLS13_HDR_S | DTLS13_HDR_L, 1, rec);
	ASSERT_EQ((ssize_t)rl, send(a->ep.fd, rec, rl, 0));
	srv_expect_dgram(_metadata, w, &a->ep, rec, rl, 0, "a's record after DTLS_PEER_DEL");
	ASSERT_EQ(13, srv_sendto(w, &a->ep, pt, 13));
	ep_expect_plain(_metadata, &a->ep, pt, 13, "sendto a after DTLS_PEER_DEL");
	EXPECT_EQ(-1, srv_send(w->srv, NULL, 0, a->id, 0, 0, pt, 14));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_info(w->srv, a->id, &p));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_del(w->srv, a->id));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_RX, &a->c2s));
	EXPECT_EQ(ENOENT, errno);
	expect_none(_metadata, a->ep.fd, "a after DTLS_PEER_DEL");

	c2s_ok(_metadata, w, b, 23, pt, 15);
	c2s_ok(_metadata, w, c, 23, pt, 16);
	s2c_peer(_metadata, w, b, &b->ep, 0, pt, 17);
	s2c_sendto(_metadata, w, c, &c->ep, pt, 18);

	/* a's id and address again, with fresh keys */
	ASSERT_EQ(0, dir_init(w, &a->s2c, "s2c again", 0, 1));
	ASSERT_EQ(0, dir_init(w, &a->c2s, "c2s again", 0, 0));
	cli_install(_metadata, w, a, K_BOTH);
	c2s_ok(_metadata, w, a, 23, pt, 19);
	s2c_peer(_metadata, w, a, &a->ep, 0, pt, 20);
	expect_none(_metadata, w->srv, "at the end");
}

/* DTLS_PEER_INFO follows the keys installed; CIDs and address as given. */
TEST_F(peers, peer_info)
{
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 0, 1, K_NONE);
	struct cli *b = cli_add(_metadata, w, 5, 1, K_TX);
	struct cli *c = cli_add(_metadata, w, 8, 1, K_RX);

	expect_info(_metadata, w, a, &a->ep, 0);
	expect_info(_metadata, w, b, &b->ep, DTLS_PEER_F_TX);
	expect_info(_metadata, w, c, &c->ep, DTLS_PEER_F_RX);
	ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_RX, &a->c2s));
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_RX);
	ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
}

/* A UDP_SEGMENT send to a peer: one record per segment, the reference's. */
TEST_F(peers, gso_to_peer)
{
	static uint8_t pt[3000];
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 4, 1, K_BOTH);
	struct cli *b = cli_add(_metadata, w, 1, 1, K_BOTH);

	fill(pt, sizeof(pt), 8);
	ASSERT_EQ(3000, srv_send(w->srv, &a->ep.sa, a->ep.salen, 0, 0, 1100, pt, 3000))
		TH_LOG("UDP_SEGMENT sendto: %s", strerror(errno));
	for (size_t off = 0; off < 3000; off += 1100)
		cli_expect(_metadata, w, a, &a->ep, 23, pt + off, off + 1100 > 3000 ? 800 : 1100);
	ASSERT_EQ(3000, srv_send(w->srv, NULL, 0, b->id, DTLS_RECORD_TYPE_HANDSHAKE, 1000, pt,
				 3000)) TH_LOG("UDP_SEGMENT DTLS_SET_PEER: %s", strerror(errno));
	for (size_t off = 0; off < 3000; off += 1000)
		cli_expect(_metadata, w, b, &b->ep, DTLS_RECORD_TYPE_HANDSHAKE, pt + off, 1000);
	expect_none(_metadata, a->ep.fd, "a at the end");
}

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */

FIXTURE(perr) {
	struct world w;
};

FIXTURE_VARIANT(perr) {
	int kind;
};

FIXTURE_VARIANT_ADD(perr, ipv4) { .kind = SK_IPV4 };
FIXTURE_VARIANT_ADD(perr, ipv6) { .kind = SK_IPV6 };

FIXTURE_SETUP(perr)
{
	world_init(_metadata, &self->w, DTLS_1_2_VERSION, DTLS_CIPHER_AES_GCM_128, variant->kind);
}

FIXTURE_TEARDOWN(perr)
{
	world_free(_metadata, &self->w);
}

static void expect_new_err(struct __test_metadata *_metadata, int srv, const struct dtls_peer *p,
			   socklen_t len, int err, const char *what)
{
	EXPECT_EQ(-1, setsockopt(srv, SOL_DTLS, DTLS_PEER_NEW, p, len)) TH_LOG("%s", what);
	EXPECT_EQ(err, errno) TH_LOG("%s: %s", what, strerror(errno));
}

/* DTLS_PEER_NEW: EINVAL, EEXIST; the receive CIDs' one length. */
TEST_F(perr, peer_new)
{
	struct world *w = &self->w;
	struct cli *a, *b;
	struct dtls_peer p, q;

	a = &w->c[0];
	ASSERT_EQ(0, cli_init(w, 0, 1, a));
	cli_peer(a, &p);
	expect_new_err(_metadata, w->srv, &p, sizeof(p) - 1, EINVAL, "optlen one short");
	expect_new_err(_metadata, w->srv, &p, 4, EINVAL, "optlen 4");
	q = p;
	q.id = 0;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "id 0");
	q = p;
	q.flags = DTLS_PEER_F_TX;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "flags");
	q = p;
	if (w->kind == SK_IPV4)
		sa_v6_lo((struct sockaddr_storage *)&q.addr, 999, &(socklen_t){ 0 });
	else
		sa_v4((struct sockaddr_storage *)&q.addr, SK_IPV4, 2, 999, &(socklen_t){ 0 });
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "the other family");
	q.addr.ss_family = AF_UNSPEC;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "AF_UNSPEC");
	q = p;
	((struct sockaddr_in *)&q.addr)->sin_port = 0;	/* same place in sockaddr_in6 */
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "port 0");

	ASSERT_EQ(0, peer_new(w->srv, &p)) TH_LOG("DTLS_PEER_NEW: %s", strerror(errno));
	b = &w->c[1];
	ASSERT_EQ(0, cli_init(w, 1, 1, b));
	cli_peer(b, &q);
	q.id = a->id;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EEXIST, "the same id");
	q = p;
	q.id = b->id;
	q.rx_cid.cid[0] ^= 0x55;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EEXIST, "the same address");
	cli_peer(b, &q);
	q.rx_cid.len = RX_CID_LEN + 1;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "a longer receive CID");
	q.rx_cid.len = RX_CID_LEN - 1;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EINVAL, "a shorter receive CID");
	/* a's receive CID again: the lookup by CID would be ambiguous */
	cli_peer(b, &q);
	memcpy(q.rx_cid.cid, a->c2s.cid, RX_CID_LEN);
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EEXIST, "a's receive CID");
	/* no receive CID at all is allowed beside them */
	cli_peer(b, &q);
	q.rx_cid.len = 0;
	EXPECT_EQ(0, peer_new(w->srv, &q)) TH_LOG("a peer without a receive CID: %s",
						  strerror(errno));
	ASSERT_EQ(0, cli_init(w, 2, 1, &w->c[2]));
	cli_peer(&w->c[2], &q);
	EXPECT_EQ(0, peer_new(w->srv, &q)) TH_LOG("a third peer: %s", strerror(errno));
	cli_peer(a, &q);
	q.id = 7;
	expect_new_err(_metadata, w->srv, &q, sizeof(q), EEXIST, "a's address, after others");
}

/* DTLS_PEER_TX/RX/DEL/INFO: ENOENT, EINVAL. */
TEST_F(perr, peer_keys)
{
	uint8_t buf[sizeof(struct dtls_peer_key) + 128];
	struct world *w = &self->w;
	struct dtls_peer_key *pk = (void *)buf;
	struct cli *a = &w->c[0];
	struct dtls_peer p;
	struct world w13;
	struct dir d13;
	socklen_t len;
	uint32_t id;

	/*
	 * A socket that never had a peer: DTLS_PEER_TX is ENOENT.  (Its
	 * DTLS_PEER_INFO gets UDP's answer to an unknown level, and its
	 * DTLS_SET_PEER UDP's EDESTADDRREQ: the module is not on it yet.)
	 */
	ASSERT_EQ(0, cli_init(w, 0, 0, a));
	EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	EXPECT_EQ(ENOENT, errno) TH_LOG("DTLS_PEER_TX on a socket without peers");
	/* one whose only peer is gone */
	cli_install(_metadata, w, a, K_NONE);
	ASSERT_EQ(0, peer_del(w->srv, a->id));
	EXPECT_EQ(-1, peer_info(w->srv, a->id, &p));
	EXPECT_EQ(ENOENT, errno) TH_LOG("DTLS_PEER_INFO on a socket without peers");
	EXPECT_EQ(-1, srv_send(w->srv, NULL, 0, a->id, 0, 0, "x", 1));
	EXPECT_EQ(ENOENT, errno) TH_LOG("DTLS_SET_PEER on a socket without peers");
	cli_install(_metadata, w, a, K_NONE);

	EXPECT_EQ(-1, peer_key(w, 4242, DTLS_PEER_TX, &a->s2c));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_key(w, 0, DTLS_PEER_TX, &a->s2c));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_PEER_TX id 0");
	EXPECT_EQ(-1, peer_key(w, 0, DTLS_PEER_RX, &a->c2s));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_PEER_RX id 0");
	EXPECT_EQ(-1, peer_key(w, 4242, DTLS_PEER_RX, &a->c2s));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_del(w->srv, 4242));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, peer_info(w->srv, 4242, &p));
	EXPECT_EQ(ENOENT, errno);
	id = a->id;
	EXPECT_EQ(-1, setsockopt(w->srv, SOL_DTLS, DTLS_PEER_DEL, &id, 2));
	EXPECT_EQ(EINVAL, errno);

	len = peer_key_buf(w, a->id, &a->s2c, buf);
	EXPECT_EQ(-1, setsockopt(w->srv, SOL_DTLS, DTLS_PEER_TX, buf, len - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(w->srv, SOL_DTLS, DTLS_PEER_TX, buf, sizeof(*pk)));
	EXPECT_EQ(EINVAL, errno);
	pk->reserved = 1;
	EXPECT_EQ(-1, setsockopt(w->srv, SOL_DTLS, DTLS_PEER_TX, buf, len));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved not 0");
	/* epoch 0 */
	a->s2c.k.epoch = 0;
	EXPECT_EQ(-1, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	EXPECT_EQ(EINVAL, errno) TH_LOG("epoch 0");
	a->s2c.k.epoch = EPOCH12;
	expect_info(_metadata, w, a, &a->ep, 0);

	/* DTLS 1.2 out, DTLS 1.3 in: refused */
	ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	w13 = *w;
	w13.v13 = 1;
	ASSERT_EQ(0, dir_init(&w13, &d13, "c2s", 0, 0));
	EXPECT_EQ(-1, peer_key(&w13, a->id, DTLS_PEER_RX, &d13));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS 1.3 RX beside DTLS 1.2 TX");
	expect_info(_metadata, w, a, &a->ep, DTLS_PEER_F_TX);
	/* INFO with a short optlen */
	len = sizeof(p) - 1;
	memset(&p, 0, sizeof(p));
	p.id = a->id;
	EXPECT_EQ(-1, getsockopt(w->srv, SOL_DTLS, DTLS_PEER_INFO, &p, &len));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_PEER_INFO optlen one short");
}

/* DTLS_SET_PEER: ENOENT, ENOTCONN, EINVAL; with an address: refused. */
TEST_F(perr, set_peer)
{
	union {
		char b[CMSG_SPACE(4)];
		struct cmsghdr align;
	} ctl;
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 0, 0, K_BOTH);
	struct cli *b = cli_add(_metadata, w, 1, 0, K_RX);
	struct iovec iov = { .iov_base = "xyz", .iov_len = 3 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = CMSG_SPACE(2),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	EXPECT_EQ(-1, srv_send(w->srv, NULL, 0, 4242, 0, 0, "x", 1));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, srv_send(w->srv, NULL, 0, b->id, 0, 0, "x", 1));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, srv_send(w->srv, &a->ep.sa, a->ep.salen, a->id, 0, 0, "x", 1))
		TH_LOG("DTLS_SET_PEER with msg_name");
	EXPECT_EQ(EINVAL, errno);
	/* another SOL_DTLS cmsg to an address without a keyed peer */
	EXPECT_EQ(-1, srv_send(w->srv, &b->ep.sa, b->ep.salen, 0, 22, 0, "x", 1));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("DTLS_SET_RECORD_TYPE to a peer without TX keys");
	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_DTLS;
	c->cmsg_type = DTLS_SET_PEER;
	c->cmsg_len = CMSG_LEN(2);
	memcpy(CMSG_DATA(c), &a->id, 2);
	EXPECT_EQ(-1, sendmsg(w->srv, &m, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_SET_PEER of 2 bytes");
	c->cmsg_len = CMSG_LEN(4);
	m.msg_controllen = CMSG_SPACE(4);
	memset(CMSG_DATA(c), 0, 4);
	EXPECT_EQ(-1, sendmsg(w->srv, &m, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_SET_PEER 0");
	expect_none(_metadata, a->ep.fd, "after the refused sends");
	expect_none(_metadata, b->ep.fd, "after the refused sends");
	/* still fine */
	s2c_peer(_metadata, w, a, &a->ep, 0, "ok", 2);
}

/* Connected sockets and many-peer sockets do not mix. */
TEST_F(perr, connected)
{
	struct world *w = &self->w;
	struct cli *a = &w->c[0];
	struct sockaddr_storage ss;
	struct dtls_peer p;
	struct dkey k;
	socklen_t len;
	int fd, peer;

	ASSERT_EQ(0, cli_init(w, 0, 0, a));
	cli_peer(a, &p);
	ASSERT_EQ(0, udp_pair(w->kind, w->kind, &fd, &peer));
	EXPECT_EQ(-1, peer_new(fd, &p));
	EXPECT_EQ(EISCONN, errno) TH_LOG("DTLS_PEER_NEW on a connected UDP socket");
	dkey_derive(&k, cdesc_by_type(DTLS_CIPHER_AES_GCM_128), "perr");
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &k, REC_NUM(1, 0)));
	EXPECT_EQ(-1, peer_new(fd, &p));
	EXPECT_EQ(EISCONN, errno) TH_LOG("DTLS_PEER_NEW on a DTLS socket");
	EXPECT_EQ(-1, srv_send(fd, NULL, 0, 5, 0, 0, "x", 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("DTLS_SET_PEER on a connected socket");
	close(fd);
	close(peer);

	ASSERT_EQ(0, peer_new(w->srv, &p));
	len = sk_addr(w->kind, w->kind, 9, &ss);
	EXPECT_EQ(-1, connect(w->srv, (void *)&ss, len));
	EXPECT_EQ(EISCONN, errno) TH_LOG("connect() after DTLS_PEER_NEW");
	ss.ss_family = AF_UNSPEC;
	EXPECT_EQ(-1, connect(w->srv, (void *)&ss, len));
	EXPECT_EQ(EISCONN, errno) TH_LOG("connect(AF_UNSPEC) after DTLS_PEER_NEW");
	EXPECT_EQ(-1, dtls_install(w->srv, DTLS_TX, &k, REC_NUM(1, 0)));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("DTLS_TX on a many-peer socket");
	EXPECT_EQ(-1, dtls_install(w->srv, DTLS_RX, &k, REC_NUM(1, 0)));
	EXPECT_EQ(ENOTCONN, errno) TH_LOG("DTLS_RX on a many-peer socket");
	/* the peer still works */
	ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_TX, &a->s2c));
	ASSERT_EQ(0, peer_key(w, a->id, DTLS_PEER_RX, &a->c2s));
	c2s_ok(_metadata, w, a, 23, "abc", 3);
	s2c_peer(_metadata, w, a, &a->ep, 0, "def", 3);
}

/*
 * DtlsCurrTxSw, DtlsCurrRxSw and the module's references return to what
 * they were once a socket with one peer is closed, whatever keys it had
 * (none, TX, RX, both), and once a peer with keys is deleted.
 */
TEST_F(perr, counters_after_close)
{
	static const char *const what[] = { "no keys", "TX", "RX", "TX and RX" };
	struct world *w = &self->w;
	struct base b, mid;
	char why[256];

	close(w->srv);
	for (int keys = 0; keys < 5; keys++) {
		base_settled(&b);
		w->srv = srv_open(w->kind);
		w->port = sk_port(w->srv);
		ASSERT_LE(0, w->srv);
		long long added = dstat("DtlsPeers");

		cli_add(_metadata, w, keys, 0, keys < 4 ? keys : K_BOTH);
		base_get(&mid);
		EXPECT_EQ(added + 1, dstat("DtlsPeers"));
		EXPECT_EQ(b.peers + 1, mid.peers);
		TH_LOG("%s: DtlsCurrTxSw %lld -> %lld, DtlsCurrRxSw %lld -> %lld",
		       keys < 4 ? what[keys] : "TX and RX, deleted", b.tx, mid.tx, b.rx, mid.rx);
		if (keys == 4) {
			ASSERT_EQ(0, peer_del(w->srv, w->c[keys].id));
			EXPECT_EQ(b.peers, dstat("DtlsCurrPeers"));
		}
		close(w->srv);
		w->srv = -1;
		EXPECT_EQ(0, base_wait(&b, 2000, why, sizeof(why)))
			TH_LOG("%s: %s", keys < 4 ? what[keys] : "TX and RX, deleted", why);
	}
}

/*
 * UDP_GRO and DTLS_KEY_LIMITS on a socket with peers, and DTLS_PEER_NEW on
 * a socket with UDP_GRO or UDP_SEGMENT: EOPNOTSUPP.
 */
TEST_F(perr, udp_gro_refused)
{
	struct world *w = &self->w;
	struct cli *a = cli_add(_metadata, w, 0, 0, K_BOTH);
	struct dtls_key_usage lim = { 0 };
	int one = 1, v = -1, seg = 1000, opt[2] = { UDP_GRO, UDP_SEGMENT };
	socklen_t len = sizeof(v);
	struct dtls_peer p;
	int fd;

	for (int i = 0; i < 2; i++) {
		fd = srv_open(w->kind);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, setsockopt(fd, SOL_UDP, opt[i], i ? &seg : &one, sizeof(int)));
		cli_peer(a, &p);
		EXPECT_EQ(-1, peer_new(fd, &p)) TH_LOG("DTLS_PEER_NEW after %s",
						      i ? "UDP_SEGMENT" : "UDP_GRO");
		EXPECT_EQ(EOPNOTSUPP, errno);
		close(fd);
	}
	EXPECT_EQ(-1, setsockopt(w->srv, SOL_DTLS, DTLS_KEY_LIMITS, &lim, sizeof(lim)));
	EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("DTLS_KEY_LIMITS on a socket with peers");

	EXPECT_EQ(-1, setsockopt(w->srv, SOL_UDP, UDP_GRO, &one, sizeof(one)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, getsockopt(w->srv, SOL_UDP, UDP_GRO, &v, &len));
	EXPECT_EQ(0, v);
	c2s_ok(_metadata, w, a, 23, "abc", 3);
}

/* max_peers, set low for the test, restored by the teardown */
FIXTURE(maxp) {
	struct world w;
	char saved[32];
};

FIXTURE_SETUP(maxp)
{
	self->saved[0] = 0;
	world_init(_metadata, &self->w, DTLS_1_2_VERSION, DTLS_CIPHER_AES_GCM_128, SK_IPV4);
	ASSERT_EQ(0, file_read(MAX_PEERS_PARAM, self->saved, sizeof(self->saved)))
		TH_LOG(MAX_PEERS_PARAM ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(maxp)
{
	if (self->saved[0] && file_write(MAX_PEERS_PARAM, self->saved))
		TH_LOG("could not restore " MAX_PEERS_PARAM " to %s", self->saved);
	world_free(_metadata, &self->w);
}

TEST_F(maxp, enospc_at_max_peers)
{
	struct world *w = &self->w;
	struct dtls_peer p;
	int fd2;

	if (access(MAX_PEERS_PARAM, W_OK) || file_write(MAX_PEERS_PARAM, "3")) {
		self->saved[0] = 0;
		SKIP(return, MAX_PEERS_PARAM " is not writable");
	}
	for (int i = 0; i < 3; i++)
		cli_add(_metadata, w, i, 0, K_NONE);
	ASSERT_EQ(0, cli_init(w, 3, 0, &w->c[3]));
	cli_peer(&w->c[3], &p);
	EXPECT_EQ(-1, peer_new(w->srv, &p));
	EXPECT_EQ(ENOSPC, errno) TH_LOG("the 4th peer at max_peers 3");
	/* per socket: another socket may have 3 too */
	fd2 = srv_open(SK_IPV4);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, peer_new(fd2, &p)) TH_LOG("another socket: %s", strerror(errno));
	close(fd2);
	ASSERT_EQ(0, peer_del(w->srv, w->c[0].id));
	EXPECT_EQ(0, peer_new(w->srv, &p)) TH_LOG("after DTLS_PEER_DEL: %s", strerror(errno));
}

/* ---------------------------------------------------------------------- */
/* 1000 peers                                                              */

FIXTURE(many) {
	struct world w;
};

FIXTURE_VARIANT(many) {
	uint16_t version;
	uint16_t cipher;
	int kind;
};

#define MANY_SUITE(v, ver, cname, ctype)						\
	FIXTURE_VARIANT_ADD(many, v##_##cname##_ipv4) {					\
		.version = ver, .cipher = ctype, .kind = SK_IPV4 };			\
	FIXTURE_VARIANT_ADD(many, v##_##cname##_ipv6) {					\
		.version = ver, .cipher = ctype, .kind = SK_IPV6 }

MANY_SUITE(dtls12, DTLS_1_2_VERSION, aes128gcm, DTLS_CIPHER_AES_GCM_128);
MANY_SUITE(dtls12, DTLS_1_2_VERSION, chacha20poly1305, DTLS_CIPHER_CHACHA20_POLY1305);
MANY_SUITE(dtls13, DTLS_1_3_VERSION, aes128gcm, DTLS_CIPHER_AES_GCM_128);
MANY_SUITE(dtls13, DTLS_1_3_VERSION, chacha20poly1305, DTLS_CIPHER_CHACHA20_POLY1305);

FIXTURE_SETUP(many)
{
	world_init(_metadata, &self->w, variant->version, variant->cipher, variant->kind);
}

FIXTURE_TEARDOWN(many)
{
	world_free(_metadata, &self->w);
}

#define BATCH 100

/*
 * MAX_CLIENTS peers, a record each way each: every client's record,
 * BATCH queued at a time, delivered once, as its peer's; every client
 * gets the reference's record.
 */
static void thousand(struct __test_metadata *_metadata, struct world *w, int cid)
{
	static uint8_t pt[64], buf[MAXREC];
	static uint64_t seqs[MAX_CLIENTS];
	static uint8_t seen[MAX_CLIENTS];
	struct smsg m;
	struct cli *c;
	ssize_t n;
	long idx;

	for (int i = 0; i < MAX_CLIENTS; i++)
		cli_add(_metadata, w, i, cid, K_BOTH);
	memset(seen, 0, sizeof(seen));
	for (int base = 0; base < MAX_CLIENTS; base += BATCH) {
		for (int i = base; i < base + BATCH; i++) {
			payload_make(pt, i, 16 + i % 40);
			seqs[i] = cli_send(_metadata, w, &w->c[i], &w->c[i].ep, 23, pt,
					   16 + i % 40);
		}
		for (int i = base; i < base + BATCH; i++) {
			n = srv_recv(w->srv, buf, sizeof(buf), &m, 2000);
			ASSERT_LT(0, n) TH_LOG("record %d of the batch at %d: %s", i - base, base,
					       strerror(errno));
			idx = payload_check(buf, n);
			ASSERT_LE(0, idx) TH_LOG("a record's plaintext is not intact");
			ASSERT_GT(MAX_CLIENTS, idx);
			c = &w->c[idx];
			EXPECT_EQ(0, seen[idx]++) TH_LOG("client %ld's record twice", idx);
			EXPECT_EQ(c->id, m.info.peer_id);
			EXPECT_EQ(DTLS_RECORD_F_PROTECTED, m.info.flags);
			EXPECT_EQ(REC_NUM(c->c2s.k.epoch, seqs[idx]), m.info.rec_num);
			EXPECT_TRUE(sa_eq(&m.from, &c->ep.sa)) TH_LOG("client %ld", idx);
			ASSERT_TRUE(_metadata->passed);
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		c = &w->c[i];
		payload_make(pt, i + 5000, 16 + i % 30);
		if (i % 2)
			s2c_sendto(_metadata, w, c, &c->ep, pt, 16 + i % 30);
		else
			s2c_peer(_metadata, w, c, &c->ep, 0, pt, 16 + i % 30);
	}
	for (int i = 0; i < MAX_CLIENTS; i += 97)
		expect_info(_metadata, w, &w->c[i], &w->c[i].ep, DTLS_PEER_F_TX | DTLS_PEER_F_RX);
	expect_none(_metadata, w->srv, "at the end");
}

TEST_F_TIMEOUT(many, thousand_peers_by_address, 600)
{
	thousand(_metadata, &self->w, 0);
}

TEST_F_TIMEOUT(many, thousand_peers_by_cid, 600)
{
	thousand(_metadata, &self->w, 1);
}

static int proc_lines(void)
{
	char line[1024];
	FILE *f = fopen(PROC_DTLS, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/*
 * close() with MAX_CLIENTS peers, records queued unread both ways and
 * whole datagrams queued: the DTLS counters, the module's references and
 * /proc/net/dtls return to what they were (kmemleak, on make
 * check-debug's kernel, checks the memory after the run).
 */
TEST_F_TIMEOUT(many, close_with_records_queued, 600)
{
	static uint8_t pt[64];
	struct world *w = &self->w;
	int lines0, lines;

	w->counters = 1;
	lines0 = proc_lines();
	ASSERT_LE(1, lines0) TH_LOG(PROC_DTLS ": %s", strerror(errno));
	for (int i = 0; i < MAX_CLIENTS; i++)
		cli_add(_metadata, w, i, 1, i % 7 ? K_BOTH : K_TX);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		payload_make(pt, i, 20);
		cli_send(_metadata, w, &w->c[i], &w->c[i].ep, 23, pt, 20);
		if (i % 2) {
			ASSERT_EQ(20, srv_sendto(w, &w->c[i].ep, pt, 20));
		} else {
			ASSERT_EQ(20, srv_send(w->srv, NULL, 0, w->c[i].id, 0, 0, pt, 20));
		}
	}
	lines = proc_lines();
	EXPECT_LE(lines0 + 1 + MAX_CLIENTS, lines) TH_LOG("/proc/net/dtls: a line per peer");
	/* half of them gone before the close */
	for (int i = 0; i < MAX_CLIENTS; i += 2)
		ASSERT_EQ(0, peer_del(w->srv, w->c[i].id));
	ASSERT_EQ(1, wait_readable(w->srv, 1000));
	close(w->srv);
	w->srv = -1;
	/* the DtlsCurr* counters and module references: see world_free() */
	for (int t = 0; t < 250 && proc_lines() != lines0; t++)
		usleep(20000);
	EXPECT_EQ(lines0, proc_lines()) TH_LOG("/proc/net/dtls after close");
}

/* Counts for run_all.sh's summary, after the harness's own. */
static void summary(void)
{
	printf("%d passed, %d failed\n", ksft_get_pass_cnt(), ksft_get_fail_cnt());
	fflush(stdout);
}

/*
 * "dtls_peers FIXTURE.VARIANT.TEST" runs only the tests whose three names
 * contain those parts (each may be empty), e.g. "peers.dtls13.cid_float".
 */
static void only(const char *pattern)
{
	char part[3][64] = { "", "", "" };
	struct __fixture_metadata *f, **fp = &__fixture_list;

	for (int i = 0; i < 3 && pattern; i++) {
		const char *dot = strchr(pattern, '.');
		size_t len = dot ? (size_t)(dot - pattern) : strlen(pattern);

		snprintf(part[i], sizeof(part[i]), "%.*s", (int)len, pattern);
		pattern = dot ? dot + 1 : NULL;
	}
	for (f = __fixture_list; f; f = f->next) {
		struct __fixture_variant_metadata **vp = &f->variant;
		struct __test_metadata **tp = &f->tests;

		if (!strstr(f->name, part[0]))
			continue;
		for (struct __fixture_variant_metadata *v = f->variant; v; v = v->next)
			if (strstr(v->name, part[1])) {
				*vp = v;
				vp = &v->next;
			}
		*vp = NULL;
		for (struct __test_metadata *t = f->tests; t; t = t->next)
			if (strstr(t->name, part[2])) {
				*tp = t;
				tp = &t->next;
			}
		*tp = NULL;
		if (f->tests && (f->variant || !part[1][0])) {
			*fp = f;
			fp = &f->next;
		}
	}
	*fp = NULL;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };

	if (argc > 1)
		only(argv[1]);

	/* MAX_CLIENTS sockets at once; root in the guest may raise the limit */
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "# setrlimit(RLIMIT_NOFILE, 4096): %s: the 1000-peer tests will fail\n",
			strerror(errno));
	atexit(summary);
	return test_harness_run(argc, argv);
}
