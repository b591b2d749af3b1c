// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-peers without -l: many clients in one process, each on a UDP
 * socket of its own (its own source port) connected to the server.  Each
 * runs a non-blocking mbed TLS handshake with a connection ID, hands the
 * session to the kernel with dtls_offload_mbedtls() as dtls-cat does, then
 * sends its records one at a time and checks that each comes back byte
 * for byte.  --move: the first client, half way, moves its session to a
 * new socket on another port (dtls_offload_move(): the keys and record
 * numbers read from the old socket with getsockopt DTLS_TX and DTLS_RX go
 * onto the new one with the same connection IDs), and the server, finding
 * it by its CID, sees it arrive from the new address.  --stuck: one more
 * client stops after its second ClientHello, so that the server has a
 * handshake that never ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/dtls.h>

#include "peers.h"

#define RESEND_S	1.0	/* a record not echoed in time goes again */

enum cl_state { CL_IDLE, CL_HS, CL_DATA, CL_DONE, CL_STUCK, CL_FAILED };

struct client {
	uint32_t idx;			/* its records' number */
	int fd;
	enum cl_state st;
	bool mover, stuck;
	bool cookie_sent;		/* --stuck: its ClientHello with the cookie */
	struct peers_tls *tls;
	struct dtls_offload *h;
	uint32_t rec;			/* the record waiting for its echo */
	double sent_at;
};

static struct {
	struct peers_mbed pm;
	struct addrinfo *srv, *src;
	struct client *cl;
	unsigned int n, started, active, done, failed, resent, dups, moved;
	uint8_t *sbuf, *rbuf;
} cls;

static void fail(struct client *c, const char *fmt, ...) __printf(2, 3);

static void fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dtls-peers: client %u: ", c->idx);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->tls) {
		peers_tls_free(c->tls);
		free(c->tls);
		c->tls = NULL;
	}
	c->st = CL_FAILED;
	cls.failed++;
	cls.active--;
}

static struct addrinfo *resolve(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;

	if (getaddrinfo(host, port, &hints, &ai))
		die("cannot use %s%s%s: want a numeric IPv4 address",
		    host, port ? " port " : "", port ? port : "");
	return ai;
}

/* A socket bound to a new source port, connected to the server */
static int client_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket: %s (raise ulimit -n for this many clients)",
		    strerror(errno));
	if (cls.src && bind(fd, cls.src->ai_addr, cls.src->ai_addrlen))
		die("bind %s: %s", popt.bind, strerror(errno));
	if (connect(fd, cls.srv->ai_addr, cls.srv->ai_addrlen))
		die("connect: %s", strerror(errno));
	return fd;
}

static unsigned short local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static void send_rec(struct client *c)
{
	size_t len = peers_rec_size(c->idx, c->rec);
	ssize_t n;

	peers_rec_fill(cls.sbuf, len, c->idx, c->rec);
	n = dtls_offload_send(c->h, cls.sbuf, len, 0);

	if (n < 0 && n != -EAGAIN)
		fail(c, "send record %u: %s", c->rec, dtls_offload_strerror(n));
	c->sent_at = now();
}

/*
 * --stuck: its own socket I/O, no handoff.  ClientHellos go out until one
 * carries the server's cookie (the server keeps a handshake from then
 * on), and then nothing is read or sent any more, however quickly the
 * server answers.  Counting ClientHellos would not do: on a slow machine
 * the first one is resent before the HelloVerifyRequest comes.
 */
static bool has_cookie(const uint8_t *p, size_t n)
{
	/* record header, handshake header, client_version, random */
	size_t off = 13 + 12 + 2 + 32;

	if (n <= off || !peers_client_hello(p, n))
		return false;
	off += 1 + p[off];	/* session_id */
	return off < n && p[off];
}

static int stuck_send(void *arg, const unsigned char *buf, size_t len)
{
	struct client *c = arg;
	ssize_t n = send(c->fd, buf, len, 0);

	if (n < 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (has_cookie(buf, len))
		c->cookie_sent = true;
	return (int)n;
}

static int stuck_recv(void *arg, unsigned char *buf, size_t len, uint32_t ms)
{
	struct client *c = arg;
	ssize_t n;

	(void)ms;
	if (c->cookie_sent)
		return MBEDTLS_ERR_SSL_WANT_READ;
	n = recv(c->fd, buf, len, MSG_DONTWAIT);
	return n < 0 ? MBEDTLS_ERR_SSL_WANT_READ : (int)n;
}

static void start(struct client *c)
{
	uint8_t cid[PEERS_CID_LEN];
	int r;

	c->fd = client_socket();
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->tls = calloc(1, sizeof(*c->tls));
	c->h = c->stuck ? NULL : dtls_offload_new();
	if (!c->tls || (!c->h && !c->stuck))
		die("out of memory");
	mbedtls_ctr_drbg_random(&cls.pm.drbg, cid, sizeof(cid));
	peers_tls_init(c->tls, &cls.pm, cid);
	if (c->stuck) {
		mbedtls_ssl_set_bio(&c->tls->ssl, c, stuck_send, NULL,
				    stuck_recv);
		r = 0;
	} else {
		r = dtls_offload_mbedtls_prepare(c->h, &c->tls->ssl, c->fd);
	}
	if (r)
		die("dtls_offload_mbedtls_prepare: %s", dtls_offload_strerror(r));
	c->st = CL_HS;
	cls.active++;
	cls.started++;
}

/* The handshake is over: the kernel takes the session */
static void offload(struct client *c)
{
	int r = dtls_offload_mbedtls(c->h, c->fd, &c->tls->ssl);

	peers_tls_free(c->tls);
	free(c->tls);
	c->tls = NULL;
	if (r) {
		fail(c, "handoff: %s", dtls_offload_strerror(r));
		return;
	}
	if (dtls_offload_pending(c->h))
		fail(c, "application data before the first record");
	c->st = CL_DATA;
	send_rec(c);
}

static void hs_step(struct client *c)
{
	int r = mbedtls_ssl_handshake(&c->tls->ssl);

	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		/* ClientHello, then again with the cookie: no further */
		if (c->stuck && c->cookie_sent) {
			verbose("client %u (stuck): stops after the cookie, port %u",
				c->idx, local_port(c->fd));
			c->st = CL_STUCK;
			cls.active--;
		}
		return;
	}
	if (r)
		fail(c, "handshake: %s", peers_err(r));
	else
		offload(c);
}

/*
 * The session goes to a new socket with another source port, as if a NAT
 * had given the client a new address; the old socket is closed.
 */
static void move(struct client *c)
{
	int fd = client_socket(), r;
	unsigned short from = local_port(c->fd);

	fcntl(fd, F_SETFL, O_NONBLOCK);
	r = dtls_offload_move(c->h, fd);
	if (r)
		die("--move: dtls_offload_move: %s", dtls_offload_strerror(r));
	close(c->fd);
	c->fd = fd;
	c->mover = false;
	cls.moved++;
	printf("client %u moved from port %u to port %u after record %u\n",
	       c->idx, from, local_port(fd), c->rec - 1);
}

/* The echo of the record we wait for: check it, send the next */
static void on_echo(struct client *c, const uint8_t *buf, size_t n)
{
	size_t want = peers_rec_size(c->idx, c->rec);
	uint32_t rec = n >= PEERS_REC_MIN ? (uint32_t)buf[4] << 24 |
		       buf[5] << 16 | buf[6] << 8 | buf[7] : 0;

	if (n >= PEERS_REC_MIN && rec < c->rec) {
		cls.dups++;	/* the echo of a record sent twice */
		return;
	}
	peers_rec_fill(cls.sbuf, want, c->idx, c->rec);
	if (n != want || memcmp(buf, cls.sbuf, n)) {
		fail(c, "record %u came back different (%zu bytes, %zu sent)",
		     c->rec, n, want);
		return;
	}
	if (++c->rec == popt.records) {
		c->st = CL_DONE;
		cls.done++;
		cls.active--;
		dtls_offload_free(c->h);
		c->h = NULL;
		return;
	}
	if (c->mover && c->rec == popt.records / 2)
		move(c);
	send_rec(c);
}

/* Records from the kernel (the library handles any other kind) */
static void data_read(struct client *c)
{
	while (c->st == CL_DATA) {
		ssize_t n = dtls_offload_recv(c->h, cls.rbuf, MAX_REC,
					      MSG_DONTWAIT);

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			fail(c, "receive: %s", n ? dtls_offload_strerror(n) :
			     "the server sent close_notify");
			return;
		}
		on_echo(c, cls.rbuf, n);
	}
}

static void client_io(struct client *c)
{
	if (c->st == CL_HS)
		hs_step(c);
	else if (c->st == CL_DATA)
		data_read(c);
}

/* Timers: mbed TLS's retransmissions, and records not echoed in time */
static void client_timers(struct client *c, double t)
{
	if (c->st == CL_HS && peers_tls_timer_due(c->tls)) {
		hs_step(c);
	} else if (c->st == CL_DATA && t - c->sent_at > RESEND_S) {
		cls.resent++;
		send_rec(c);
	}
}

/* One poll() round over the clients under way */
static void round_once(struct pollfd *pfd, struct client **who)
{
	unsigned int i, np = 0;
	double t;

	for (i = 0; i < cls.n; i++) {
		struct client *c = &cls.cl[i];

		if (c->st != CL_HS && c->st != CL_DATA)
			continue;
		pfd[np].fd = c->fd;
		pfd[np].events = POLLIN;
		who[np++] = c;
	}
	if (poll(pfd, np, 20) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	t = now();
	for (i = 0; i < np; i++) {
		if (pfd[i].revents)
			client_io(who[i]);
		else
			client_timers(who[i], t);
	}
}

static void setup(void)
{
	unsigned int i;

	cls.srv = resolve(opt.host, opt.port);
	cls.src = popt.bind ? resolve(popt.bind, NULL) : NULL;
	cls.n = popt.clients + popt.stuck;
	cls.cl = calloc(cls.n, sizeof(*cls.cl));
	cls.sbuf = malloc(MAX_REC);
	cls.rbuf = malloc(MAX_REC);
	if (!cls.cl || !cls.sbuf || !cls.rbuf)
		die("out of memory");
	for (i = 0; i < cls.n; i++) {
		cls.cl[i].idx = popt.first + i;
		cls.cl[i].fd = -1;
	}
	/* the stuck one first: its handshake expires while the rest run */
	cls.cl[0].stuck = popt.stuck;
	cls.cl[popt.stuck].mover = popt.move;
	peers_mbed_init(&cls.pm, false);
}

int peers_clients(void)
{
	struct pollfd *pfd;
	struct client **who;
	double t0 = now(), end = t0 + popt.timeout;
	unsigned int next = 0, stuck = 0, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	pfd = calloc(cls.n, sizeof(*pfd));
	who = calloc(cls.n, sizeof(*who));
	if (!pfd || !who)
		die("out of memory");
	while (cls.done + cls.failed + stuck < cls.n && now() < end) {
		while (next < cls.n && cls.active < popt.concurrency) {
			start(&cls.cl[next]);
			hs_step(&cls.cl[next++]);
		}
		round_once(pfd, who);
		for (stuck = 0, i = 0; i < cls.n; i++)
			stuck += cls.cl[i].st == CL_STUCK;
	}
	printf("clients %u-%u: %u of %u done (%u records each, echoes checked byte for byte), %u failed, %u unfinished, %u stuck, %u moved, %u records resent, %u duplicate echoes, %.1f s\n",
	       popt.first, popt.first + cls.n - 1, cls.done, popt.clients,
	       popt.records, cls.failed,
	       cls.n - cls.done - cls.failed - stuck, stuck, cls.moved,
	       cls.resent, cls.dups, now() - t0);
	/* the sockets stay open until here: no source port is used twice */
	for (i = 0; i < cls.n; i++)
		if (cls.cl[i].fd >= 0)
			close(cls.cl[i].fd);
	return cls.done == popt.clients && cls.moved == popt.move &&
	       stuck == popt.stuck ? 0 : 1;
}
