// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-peers -l: one unconnected UDP socket for every client.  The kernel
 * hands up whole every datagram it cannot open (DTLS_RECORD_F_DATAGRAM):
 * a new client's handshake, which runs here in mbed TLS, one context per
 * client address, fed through dtls_offload_input() and sending with
 * sendto().  HelloVerifyRequest cookies keep the server stateless until a
 * client proves its address.  A finished handshake becomes a peer of the
 * socket (libdtls_offload: DTLS_PEER_NEW, DTLS_PEER_TX, DTLS_PEER_RX), and
 * from then on the kernel opens that client's records, which come back
 * here with its peer_id and are echoed to it (DTLS_SET_PEER).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/dtls.h>

#include "peers.h"

#define RX_BUF		(MAX_REC + 2048)	/* a whole datagram */
#define CID_SALT	0x5eed1e55U	/* our CIDs differ from the peer ids */

/* a handshake in progress, from one client address */
struct hs {
	struct hs *next;
	struct sockaddr_storage addr;
	socklen_t alen;
	uint32_t id;		/* the peer it will be */
	uint32_t replaces;	/* a peer at the same address, to delete */
	double started;
	struct peers_tls tls;
	struct dtls_offload *h;
};

/* a peer of the socket: its handle sends to it and resends our Finished */
struct peer {
	struct sockaddr_storage addr;
	struct dtls_offload *h;
	uint64_t records;
	bool live;
};

static struct {
	int fd;
	struct peers_mbed pm;
	struct hs *hs;			/* in progress */
	unsigned int nhs;
	struct peer *peers;		/* by id */
	uint32_t npeers, cap;		/* ids 1..npeers */
	uint32_t next_id;
	uint64_t installed, hvr, expired, failed, moved, echoed, bytes;
	uint64_t closed, resent, ignored, replaced, send_err;
} srv;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *addr_str(const struct sockaddr_storage *ss)
{
	static char buf[2][INET6_ADDRSTRLEN + 8];
	static int k;
	char host[INET6_ADDRSTRLEN], serv[8];

	k ^= 1;
	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), host,
			sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return "?";
	snprintf(buf[k], sizeof(buf[k]), "%s:%s", host, serv);
	return buf[k];
}

static int server_socket(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *ai;
	int fd, one = 1, buf = 8 << 20;

	if (getaddrinfo(opt.host, opt.port, &hints, &ai))
		die("cannot use %s port %s: want a numeric address and port",
		    opt.host, opt.port);
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* a burst of handshakes must not overflow it (root: beyond rmem_max) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen))
		die("bind %s port %s: %s", opt.host, opt.port, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* ---- peers ---- */

static struct peer *peer_get(uint32_t id)
{
	if (!id || id > srv.npeers || !srv.peers[id].live)
		return NULL;
	return &srv.peers[id];
}

static void peer_drop(uint32_t id)
{
	struct peer *p = peer_get(id);

	if (!p)
		return;
	if (setsockopt(srv.fd, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id)))
		fprintf(stderr, "dtls-peers: DTLS_PEER_DEL %u: %s\n", id,
			strerror(errno));
	dtls_offload_free(p->h);
	p->h = NULL;
	p->live = false;
}

static void peer_add(struct hs *s)
{
	struct peer *p;

	if (s->id >= srv.cap) {
		uint32_t cap = srv.cap ? 2 * srv.cap : 1024;

		srv.peers = realloc(srv.peers, cap * sizeof(*p));
		if (!srv.peers)
			die("out of memory");
		memset(srv.peers + srv.cap, 0, (cap - srv.cap) * sizeof(*p));
		srv.cap = cap;
	}
	p = &srv.peers[s->id];
	p->addr = s->addr;
	p->h = s->h;
	p->live = true;
	s->h = NULL;
	if (s->id > srv.npeers)
		srv.npeers = s->id;
	srv.installed++;
}

/* ---- handshakes ---- */

static struct hs *hs_find(const struct sockaddr_storage *a, socklen_t alen)
{
	struct hs *s;

	for (s = srv.hs; s; s = s->next)
		if (s->alen == alen && !memcmp(&s->addr, a, alen))
			return s;
	return NULL;
}

static void hs_free(struct hs *s)
{
	struct hs **pp;

	for (pp = &srv.hs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			srv.nhs--;
			break;
		}
	}
	peers_tls_free(&s->tls);
	dtls_offload_free(s->h);
	free(s);
}

/* The handshake is over: the session becomes a peer of the socket. */
static void hs_install(struct hs *s)
{
	int r;

	if (s->replaces) {	/* that client lost its session */
		peer_drop(s->replaces);
		srv.replaced++;
	}
	r = dtls_offload_mbedtls(s->h, srv.fd, &s->tls.ssl);
	if (r) {
		fprintf(stderr, "dtls-peers: peer %u (%s): handoff: %s\n",
			s->id, addr_str(&s->addr), dtls_offload_strerror(r));
		srv.failed++;
		return;
	}
	peer_add(s);
	verbose("peer %u: %s", s->id, addr_str(&srv.peers[s->id].addr));
}

/* One more step of a handshake; false once it is gone. */
static bool hs_step(struct hs *s)
{
	int r = mbedtls_ssl_handshake(&s->tls.ssl);

	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return true;
	if (r == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
		srv.hvr++;	/* stateless until the cookie comes back */
		if (s->id == srv.next_id)
			srv.next_id--;	/* the id is free again */
	} else if (r == 0) {
		hs_install(s);
	} else if (r == MBEDTLS_ERR_SSL_TIMEOUT) {
		/* the client went silent: as good as expired */
		verbose("handshake with %s: no answer, dropped",
			addr_str(&s->addr));
		srv.expired++;
	} else {
		verbose("handshake with %s: %s", addr_str(&s->addr),
			peers_err(r));
		srv.failed++;
	}
	hs_free(s);
	return false;
}

/* A ClientHello from an address with no handshake in progress */
static void hs_start(const struct sockaddr_storage *a, socklen_t alen,
		     uint32_t replaces, const uint8_t *buf, size_t len)
{
	struct hs *s = calloc(1, sizeof(*s));
	uint32_t id = ++srv.next_id, cid;
	uint8_t c[PEERS_CID_LEN];
	int r;

	if (!s)
		die("out of memory");
	cid = htonl(id ^ CID_SALT);
	memcpy(c, &cid, sizeof(c));
	s->addr = *a;
	s->alen = alen;
	s->id = id;
	s->replaces = replaces;
	s->started = now();
	peers_tls_init(&s->tls, &srv.pm, c);
	s->h = dtls_offload_new();
	if (!s->h)
		die("out of memory");
	r = mbedtls_ssl_set_client_transport_id(&s->tls.ssl,
						(const unsigned char *)a, alen);
	if (r)
		die("mbedtls_ssl_set_client_transport_id: %s", peers_err(r));
	r = dtls_offload_set_peer(s->h, id, (const struct sockaddr *)a, alen) ?:
	    dtls_offload_mbedtls_prepare(s->h, &s->tls.ssl, srv.fd) ?:
	    dtls_offload_input(s->h, buf, len);
	if (r)
		die("peer %u: %s", id, dtls_offload_strerror(r));
	s->next = srv.hs;
	srv.hs = s;
	srv.nhs++;
	hs_step(s);
}

/* Retransmissions on mbed TLS's timers, and handshakes that took too long */
static void hs_timers(void)
{
	struct hs *s, *n;
	double t = now();

	for (s = srv.hs; s; s = n) {
		n = s->next;
		if (t - s->started > popt.hs_expire) {
			verbose("handshake with %s unfinished after %u s: dropped",
				addr_str(&s->addr), popt.hs_expire);
			srv.expired++;
			hs_free(s);
		} else if (peers_tls_timer_due(&s->tls) && hs_step(s)) {
			/*
			 * that step resent (mbed TLS does not read once its
			 * timer is out): this one reads what came meanwhile
			 */
			hs_step(s);
		}
	}
}

/* ---- datagrams and records ---- */

/*
 * The next datagram of handshake @s.  -EBUSY: the handshake has not read
 * the last one.  That happens when mbed TLS's retransmission timer ran out
 * first: a step then resends its flight instead of reading and re-arms
 * the timer, so the step after it reads.  Without these steps a handshake
 * whose timer is always out by the time it is stepped (a slow server)
 * would never read again.
 */
static void hs_input(struct hs *s, const uint8_t *buf, size_t n)
{
	int r = dtls_offload_input(s->h, buf, n), tries = 2;

	while (r == -EBUSY && tries-- && hs_step(s))
		r = dtls_offload_input(s->h, buf, n);
	if (r) {
		srv.ignored++;
		return;
	}
	hs_step(s);
}

/* A datagram the kernel did not open: a handshake's, or a resent flight */
static void on_datagram(const struct sockaddr_storage *a, socklen_t alen,
			uint32_t peer_id, const uint8_t *buf, size_t n)
{
	struct hs *s = hs_find(a, alen);
	struct peer *p = peer_get(peer_id);

	if (s) {
		hs_input(s, buf, n);
	} else if (peers_client_hello(buf, n) && !stop) {
		hs_start(a, alen, peer_id, buf, n);
	} else if (p) {
		dtls_offload_input(p->h, buf, n);	/* resends our Finished */
		srv.resent++;
	} else {
		srv.ignored++;
	}
}

/* Send @buf back to peer @p as one application data record */
static void echo(uint32_t id, struct peer *p, const void *buf, size_t len)
{
	ssize_t n = dtls_offload_send(p->h, buf, len, 0);

	if (n < 0) {
		if (!srv.send_err++)
			fprintf(stderr, "dtls-peers: echo to peer %u: %s\n",
				id, dtls_offload_strerror(n));
		return;
	}
	srv.echoed++;
	srv.bytes += len;
}

/* A record the kernel opened for one of the peers */
static void on_record(const struct dtls_record_info *ri,
		      const struct sockaddr_storage *a, const uint8_t *buf,
		      size_t n)
{
	struct peer *p = peer_get(ri->peer_id);

	if (!p) {
		srv.ignored++;
		return;
	}
	if (ri->flags & DTLS_RECORD_F_MOVED) {
		printf("peer %u moved from %s to %s (record %llu)\n",
		       ri->peer_id, addr_str(&p->addr), addr_str(a),
		       (unsigned long long)(ri->rec_num & ((1ULL << 48) - 1)));
		p->addr = *a;
		srv.moved++;
	}
	if (ri->content_type == DTLS_RECORD_TYPE_APPLICATION_DATA) {
		p->records++;
		echo(ri->peer_id, p, buf, n);
	} else if (ri->content_type == DTLS_RECORD_TYPE_ALERT && n >= 2 &&
		   buf[1] == 0) {
		srv.closed++;	/* close_notify */
		peer_drop(ri->peer_id);
	} else {
		srv.ignored++;
	}
}

/* The next datagram or record; false when none is waiting. */
static bool recv_one(uint8_t *buf)
{
	union {
		char b[CMSG_SPACE(sizeof(struct dtls_record_info))];
		struct cmsghdr align;
	} cb;
	struct sockaddr_storage a;
	struct iovec iov = { .iov_base = buf, .iov_len = RX_BUF };
	struct msghdr msg = {
		.msg_name = &a, .msg_namelen = sizeof(a),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.b, .msg_controllen = sizeof(cb.b),
	};
	struct dtls_record_info ri;
	bool found;
	ssize_t n;

	n = recvmsg(srv.fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return false;
		die("recvmsg: %s", strerror(errno));
	}
	found = !dtls_offload_record_info(&msg, &ri);
	/* before the first peer the socket is plain UDP: all datagrams */
	if (!found || (ri.flags & DTLS_RECORD_F_DATAGRAM))
		on_datagram(&a, msg.msg_namelen, found ? ri.peer_id : 0, buf,
			    n);
	else
		on_record(&ri, &a, buf, n);
	return true;
}

/* ---- the end ---- */

/* Every peer still there, as the kernel has it: both keys in */
static uint32_t peers_check(void)
{
	uint32_t id, bad = 0;

	for (id = 1; id <= srv.npeers; id++) {
		struct dtls_peer info = { .id = id };
		socklen_t len = sizeof(info);

		if (!srv.peers[id].live)
			continue;
		if (getsockopt(srv.fd, SOL_DTLS, DTLS_PEER_INFO, &info, &len) ||
		    (info.flags & (DTLS_PEER_F_TX | DTLS_PEER_F_RX)) !=
		    (DTLS_PEER_F_TX | DTLS_PEER_F_RX) ||
		    memcmp(&info.addr, &srv.peers[id].addr,
			   sizeof(struct sockaddr_in))) {
			if (bad++ < 5)
				fprintf(stderr, "dtls-peers: DTLS_PEER_INFO of peer %u (%s): %s, flags %#x, address %s\n",
					id, addr_str(&srv.peers[id].addr),
					errno ? strerror(errno) : "ok",
					info.flags,
					addr_str((struct sockaddr_storage *)&info.addr));
			errno = 0;
		}
	}
	return bad;
}

static void copy_proc(const char *path)
{
	FILE *in = fopen("/proc/net/dtls", "r"), *out = fopen(path, "w");
	char line[1024];

	if (!in || !out)
		die("cannot copy /proc/net/dtls to %s: %s", path,
		    strerror(errno));
	while (fgets(line, sizeof(line), in))
		fputs(line, out);
	fclose(in);
	if (fclose(out))
		die("write %s: %s", path, strerror(errno));
}

static int summary(void)
{
	uint32_t id, live = 0, bad;

	for (id = 1; id <= srv.npeers; id++)
		live += srv.peers[id].live;
	errno = 0;
	bad = peers_check();
	printf("server: %llu peers installed (%u on the socket, %u wrong in DTLS_PEER_INFO), %llu cookie requests, %u handshakes unfinished, %llu expired, %llu failed\n",
	       (unsigned long long)srv.installed, live, bad,
	       (unsigned long long)srv.hvr, srv.nhs,
	       (unsigned long long)srv.expired,
	       (unsigned long long)srv.failed);
	printf("server: %llu records echoed (%llu bytes), %llu moved, %llu closed, %llu replaced, %llu final flights resent, %llu datagrams ignored, %llu send errors\n",
	       (unsigned long long)srv.echoed, (unsigned long long)srv.bytes,
	       (unsigned long long)srv.moved, (unsigned long long)srv.closed,
	       (unsigned long long)srv.replaced,
	       (unsigned long long)srv.resent,
	       (unsigned long long)srv.ignored,
	       (unsigned long long)srv.send_err);
	return bad || srv.failed || srv.send_err;
}

int peers_server(void)
{
	uint8_t *buf = malloc(RX_BUF);
	double end = now() + popt.timeout;
	int ret;

	if (!buf)
		die("out of memory");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	srv.fd = server_socket();
	peers_mbed_init(&srv.pm, true);
	printf("server: listening on %s port %s\n", opt.host, opt.port);
	/* after SIGTERM, until the handshakes in progress end or expire */
	while ((!stop || srv.hs) && now() < end) {
		struct pollfd p = { .fd = srv.fd, .events = POLLIN };
		int i;

		if (poll(&p, 1, srv.hs ? 20 : 200) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < 256 && recv_one(buf); i++)
			;
		hs_timers();
	}
	ret = summary();
	if (popt.proc_out)
		copy_proc(popt.proc_out);
	close(srv.fd);
	free(buf);
	return ret;
}
