// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: common part.  Installing keys, the data path after
 * handoff, alerts, and retransmission of our last flight through the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/dtls.h>

#include "internal.h"

#define ALERT_WARNING		1
#define ALERT_FATAL		2
#define ALERT_CLOSE_NOTIFY	0
#define ALERT_NO_RENEGOTIATION	100
#define HS_HELLO_REQUEST	0
#define HS_CLIENT_HELLO		1
#define RETX_MIN_GAP_NS		250000000ULL	/* one resend per peer flight */

void do_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

struct dtls_offload *dtls_offload_new(void)
{
	struct dtls_offload *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->rbuf = malloc(2 * DO_MAX_RECORD);
	if (!h->rbuf) {
		free(h);
		return NULL;
	}
	h->fd = -1;
	h->alert = -1;
	h->flight_open = false;
	return h;
}

void do_flight_clear(struct dtls_offload *h)
{
	unsigned int i;

	for (i = 0; i < h->nflight; i++) {
		do_wipe(h->flight[i].data, h->flight[i].len);
		free(h->flight[i].data);
	}
	memset(h->flight, 0, sizeof(h->flight));
	h->nflight = 0;
	h->flight_overflow = false;
}

void dtls_offload_free(struct dtls_offload *h)
{
	struct do_pending *p, *n;

	if (!h)
		return;
	do_flight_clear(h);
	for (p = h->pend_head; p; p = n) {
		n = p->next;
		do_wipe(p->data, p->len);
		free(p);
	}
	do_openssl_release(h);
	do_wipe(h->inbox, h->inbox_len);
	free(h->inbox);
	if (h->backend_free)
		h->backend_free(h);
	do_wipe(h->rbuf, 2 * DO_MAX_RECORD);
	free(h->rbuf);
	do_wipe(h, sizeof(*h));
	free(h);
}

void do_seen_note(struct do_seen *s, uint16_t epoch, uint64_t seq)
{
	if (epoch >= DO_EPOCHS)
		return;
	if (!s->seen[epoch] || seq > s->max[epoch])
		s->max[epoch] = seq;
	s->seen[epoch] = true;
}

/*
 * Is @data a retransmission of something already in the flight?  A
 * handshake message is identified by type, message_seq and fragment offset,
 * a change_cipher_spec by its type.
 */
bool do_flight_has(const struct dtls_offload *h, uint8_t type,
		   const uint8_t *data, size_t len)
{
	unsigned int i;

	for (i = 0; i < h->nflight; i++) {
		const struct do_flight_msg *m = &h->flight[i];

		if (m->type != type || m->sealed)
			continue;
		if (type == DTLS_RECORD_TYPE_CHANGE_CIPHER_SPEC)
			return true;
		if (len >= 12 && m->len >= 12 && data[0] == m->data[0] &&
		    !memcmp(data + 4, m->data + 4, 5))
			return true;
	}
	return false;
}

int do_flight_add(struct dtls_offload *h, uint8_t type, uint16_t epoch,
		  uint64_t seq, bool sealed, const void *data, size_t len)
{
	struct do_flight_msg *m;

	if (h->nflight >= DO_FLIGHT_MAX) {
		h->flight_overflow = true;
		return -ENOBUFS;
	}
	m = &h->flight[h->nflight];
	m->data = malloc(len ? len : 1);
	if (!m->data)
		return -ENOMEM;
	memcpy(m->data, data, len);
	m->len = len;
	m->type = type;
	m->epoch = epoch;
	m->seq = seq;
	m->sealed = sealed;
	h->nflight++;
	return 0;
}

int do_pending_add(struct dtls_offload *h, const void *data, size_t len)
{
	struct do_pending *p = malloc(sizeof(*p) + len);

	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->len = len;
	memcpy(p->data, data, len);
	if (h->pend_tail)
		h->pend_tail->next = p;
	else
		h->pend_head = p;
	h->pend_tail = p;
	h->pend_bytes += len;
	h->st.drained_records++;
	return 0;
}

size_t dtls_offload_pending(const struct dtls_offload *h)
{
	return h ? h->pend_bytes : 0;
}

size_t do_key_len(int cipher)
{
	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
	case DTLS_CIPHER_AES_CCM_128:
	case DTLS_CIPHER_AES_CCM_8_128:
		return 16;
	case DTLS_CIPHER_AES_GCM_256:
	case DTLS_CIPHER_CHACHA20_POLY1305:
		return 32;
	}
	return 0;
}

size_t do_iv_len(int cipher)
{
	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
	case DTLS_CIPHER_AES_GCM_256:
	case DTLS_CIPHER_AES_CCM_128:
	case DTLS_CIPHER_AES_CCM_8_128:
		return 4;
	case DTLS_CIPHER_CHACHA20_POLY1305:
		return 12;
	}
	return 0;
}

size_t do_tag_len(int cipher)
{
	return cipher == DTLS_CIPHER_AES_CCM_8_128 ? 8 : 16;
}

const char *do_cipher_name(int cipher)
{
	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
		return "AES-128-GCM";
	case DTLS_CIPHER_AES_GCM_256:
		return "AES-256-GCM";
	case DTLS_CIPHER_AES_CCM_128:
		return "AES-128-CCM";
	case DTLS_CIPHER_AES_CCM_8_128:
		return "AES-128-CCM-8";
	case DTLS_CIPHER_CHACHA20_POLY1305:
		return "CHACHA20-POLY1305";
	}
	return NULL;
}

const char *dtls_offload_cipher_name(const struct dtls_offload *h)
{
	return h && h->state == DO_OFFLOADED ? h->cipher_name : NULL;
}

int dtls_offload_get_cid(const struct dtls_offload *h, int tx, uint8_t *buf,
			 size_t len)
{
	const struct dtls_cid *cid;

	if (!h || h->state != DO_OFFLOADED)
		return -DTLS_OFFLOAD_E_STATE;
	cid = tx ? &h->tx_cid : &h->rx_cid;
	if (len < cid->len)
		return -ENOBUFS;
	memcpy(buf, cid->cid, cid->len);
	return cid->len;
}

int dtls_offload_set_peer(struct dtls_offload *h, uint32_t id,
			  const struct sockaddr *addr, socklen_t addrlen)
{
	if (!h || !id || !addr || addrlen > sizeof(h->peer_addr) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return -EINVAL;
	if (h->state != DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	h->peer_id = id;
	memcpy(&h->peer_addr, addr, addrlen);
	h->peer_addrlen = addrlen;
	/* a peer's handle never reads the socket: a server keeps many */
	free(h->rbuf);
	h->rbuf = NULL;
	return 0;
}

/*
 * All five crypto_info layouts are info | key | salt-or-iv | rec_seq with
 * byte arrays only, so one buffer filled in that order matches each.  For
 * a peer (@peer_id) DTLS_PEER_TX / DTLS_PEER_RX take the same after a
 * struct dtls_peer_key.
 */
static int do_setsockopt_dir(int fd, uint32_t peer_id, int optname,
			     int cipher, const uint8_t *key, const uint8_t *iv,
			     uint64_t seq)
{
	struct {
		struct dtls_peer_key pk;
		union {
			struct dtls12_crypto_info_aes_gcm_128 g128;
			struct dtls12_crypto_info_aes_gcm_256 g256;
			struct dtls12_crypto_info_aes_ccm_128 c128;
			struct dtls12_crypto_info_aes_ccm_8_128 c8;
			struct dtls12_crypto_info_chacha20_poly1305 cc;
		} u;
	} b;
	size_t klen = do_key_len(cipher), ivlen = do_iv_len(cipher), optlen;
	struct dtls_crypto_info *info = (struct dtls_crypto_info *)&b.u;
	uint8_t *p = (uint8_t *)(info + 1);
	void *opt = &b.u;
	int ret = 0;

	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
		optlen = sizeof(b.u.g128);
		break;
	case DTLS_CIPHER_AES_GCM_256:
		optlen = sizeof(b.u.g256);
		break;
	case DTLS_CIPHER_AES_CCM_128:
		optlen = sizeof(b.u.c128);
		break;
	case DTLS_CIPHER_AES_CCM_8_128:
		optlen = sizeof(b.u.c8);
		break;
	case DTLS_CIPHER_CHACHA20_POLY1305:
		optlen = sizeof(b.u.cc);
		break;
	default:
		return -DTLS_OFFLOAD_E_CIPHER;
	}
	memset(&b, 0, sizeof(b));
	info->version = DTLS_1_2_VERSION;
	info->cipher_type = cipher;
	memcpy(p, key, klen);
	memcpy(p + klen, iv, ivlen);
	put_be(p + klen + ivlen, seq, 8);
	if (sizeof(*info) + klen + ivlen + DTLS_REC_SEQ_SIZE != optlen)
		return -DTLS_OFFLOAD_E_CIPHER;	/* layout changed */
	if (peer_id) {
		b.pk.id = peer_id;
		optname = optname == DTLS_TX ? DTLS_PEER_TX : DTLS_PEER_RX;
		opt = &b.pk;
		optlen += sizeof(b.pk);
	}
	if (setsockopt(fd, SOL_DTLS, optname, opt, optlen) < 0)
		ret = -errno;
	do_wipe(&b, sizeof(b));
	return ret;
}

/*
 * Before touching the TLS session: is the kernel side there and is the
 * socket connected?  Setting the replay window to the kernel's default is
 * harmless and fails with ENOPROTOOPT when dtls.ko is not loaded, so the
 * caller can still fall back to the TLS library's own record layer.
 */
int do_probe(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint32_t win = 1024;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &win,
		       sizeof(win)) < 0)
		return -errno;
	return 0;
}

/*
 * The same for a peer of a many-peer socket: the socket is not connected,
 * and asking for a peer that is not there yet fails with ENOPROTOOPT only
 * when dtls.ko is not loaded.
 */
int do_probe_peer(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct dtls_peer p = { .id = 0 };

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		return -EISCONN;
	sl = sizeof(p);
	if (getsockopt(fd, SOL_DTLS, DTLS_PEER_INFO, &p, &sl) < 0 &&
	    errno == ENOPROTOOPT)
		return -ENOPROTOOPT;
	return 0;
}

/* The keys are in: from here on the kernel has the record layer. */
void do_offloaded(struct dtls_offload *h, int fd, int cipher,
		  uint64_t tx_rec_seq, uint64_t rx_rec_seq)
{
	h->fd = fd;
	h->cipher = cipher;
	h->cipher_name = do_cipher_name(cipher);
	h->st.tx_rec_seq = tx_rec_seq;
	h->st.rx_rec_seq = rx_rec_seq;
	h->state = DO_OFFLOADED;
}

/*
 * A connection ID the handshake negotiated, for DTLS_TX_CID or DTLS_RX_CID
 * (before the keys of that direction); none (length 0) is the kernel's
 * default and is not set, so that a kernel without CIDs serves sessions
 * without them.
 */
static int do_set_cid(int fd, int optname, const struct dtls_cid *cid)
{
	if (!cid->len)
		return 0;
	if (setsockopt(fd, SOL_DTLS, optname, cid,
		       offsetof(struct dtls_cid, cid) + cid->len) < 0)
		return errno == ENOPROTOOPT || errno == EINVAL ?
		       -DTLS_OFFLOAD_E_CID : -errno;
	return 0;
}

int do_set_cids(const struct dtls_offload *h, int fd)
{
	return do_set_cid(fd, DTLS_TX_CID, &h->tx_cid) ?:
	       do_set_cid(fd, DTLS_RX_CID, &h->rx_cid);
}

/* DTLS_PEER_NEW: the peer at its address, with the CIDs negotiated */
static int do_peer_new(const struct dtls_offload *h, int fd)
{
	struct dtls_peer p;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	p.id = h->peer_id;
	memcpy(&p.addr, &h->peer_addr, h->peer_addrlen);
	p.tx_cid = h->tx_cid;
	p.rx_cid = h->rx_cid;
	if (setsockopt(fd, SOL_DTLS, DTLS_PEER_NEW, &p, sizeof(p)) < 0)
		ret = -errno;
	return ret;
}

/*
 * A connected socket takes the CIDs and keys as its own; a many-peer
 * socket takes them for the peer of dtls_offload_set_peer().
 */
int do_install(struct dtls_offload *h, int fd, int cipher,
	       const uint8_t *tx_key, const uint8_t *tx_iv, uint64_t tx_seq,
	       const uint8_t *rx_key, const uint8_t *rx_iv, uint64_t rx_seq)
{
	uint32_t id = h->peer_id;
	int ret;

	ret = id ? do_peer_new(h, fd) : do_set_cids(h, fd);
	if (ret)
		return ret;
	ret = do_setsockopt_dir(fd, id, DTLS_TX, cipher, tx_key, tx_iv,
				tx_seq) ?:
	      do_setsockopt_dir(fd, id, DTLS_RX, cipher, rx_key, rx_iv,
				rx_seq);
	if (ret) {
		/* no half-installed peer left behind to block its address */
		if (id)
			setsockopt(fd, SOL_DTLS, DTLS_PEER_DEL, &id, sizeof(id));
		return ret;
	}
	do_offloaded(h, fd, cipher, tx_seq, rx_seq);
	return 0;
}

/* One direction's keys and record numbers from socket @from onto @to */
static int do_copy_dir(int from, int to, int optname)
{
	union {
		struct dtls12_crypto_info_chacha20_poly1305 v12;
		struct dtls13_crypto_info_chacha20_poly1305 v13;
	} u;	/* the largest of each version */
	socklen_t len = sizeof(u);
	int ret = 0;

	if (getsockopt(from, SOL_DTLS, optname, &u, &len) ||
	    setsockopt(to, SOL_DTLS, optname, &u, len))
		ret = -errno;
	do_wipe(&u, sizeof(u));
	return ret;
}

int dtls_offload_move(struct dtls_offload *h, int fd)
{
	int ret;

	if (!h || fd < 0)
		return -EINVAL;
	if (h->state != DO_OFFLOADED || h->peer_id)
		return -DTLS_OFFLOAD_E_STATE;
	if (!h->tx_cid.len)
		return -DTLS_OFFLOAD_E_CID;	/* the peer could not find us */
	ret = do_probe(fd) ?:
	      do_set_cids(h, fd) ?:
	      do_copy_dir(h->fd, fd, DTLS_TX) ?:
	      do_copy_dir(h->fd, fd, DTLS_RX);
	if (ret)
		return ret;
	h->fd = fd;
	return 0;
}

/* One SOL_DTLS control message of @len bytes after @c (NULL: the first) */
static struct cmsghdr *do_cmsg_add(struct msghdr *msg, struct cmsghdr *c,
				   int type, const void *data, size_t len)
{
	c = c ? CMSG_NXTHDR(msg, c) : CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_DTLS;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return c;
}

/*
 * Send one record: of @type (application data if negative), a plaintext
 * epoch-0 record if @e0_seq >= 0, to our peer on a many-peer socket.
 */
ssize_t do_send_record(struct dtls_offload *h, int type, int64_t e0_seq,
		       const void *buf, size_t len, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint8_t)) +
			 CMSG_SPACE(sizeof(uint64_t)) +
			 CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *c = NULL;
	size_t clen = 0;
	ssize_t n;

	memset(&cb, 0, sizeof(cb));
	if (type >= 0) {
		uint8_t t = type;

		c = do_cmsg_add(&msg, c, DTLS_SET_RECORD_TYPE, &t, sizeof(t));
		clen += CMSG_SPACE(sizeof(t));
	}
	if (e0_seq >= 0) {
		uint64_t s = (uint64_t)e0_seq;

		c = do_cmsg_add(&msg, c, DTLS_SET_PLAINTEXT_SEQ, &s, sizeof(s));
		clen += CMSG_SPACE(sizeof(s));
	}
	if (h->peer_id) {
		c = do_cmsg_add(&msg, c, DTLS_SET_PEER, &h->peer_id,
				sizeof(h->peer_id));
		clen += CMSG_SPACE(sizeof(h->peer_id));
	}
	msg.msg_controllen = clen;
	if (!clen)
		msg.msg_control = NULL;
	n = sendmsg(h->fd, &msg, flags | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

ssize_t dtls_offload_send(struct dtls_offload *h, const void *buf, size_t len,
			  int flags)
{
	if (!h || h->state != DO_OFFLOADED)
		return -DTLS_OFFLOAD_E_STATE;
	if (h->close_sent)
		return -DTLS_OFFLOAD_E_CLOSED;
	return do_send_record(h, -1, -1, buf, len, flags);
}

int dtls_offload_close(struct dtls_offload *h)
{
	static const uint8_t cn[2] = { ALERT_WARNING, ALERT_CLOSE_NOTIFY };
	ssize_t n;

	if (!h || h->state != DO_OFFLOADED)
		return -DTLS_OFFLOAD_E_STATE;
	if (h->close_sent)
		return 0;
	n = do_send_record(h, DTLS_RECORD_TYPE_ALERT, -1, cn, sizeof(cn), 0);
	if (n < 0)
		return (int)n;
	h->close_sent = true;
	return 0;
}

int dtls_offload_alert(const struct dtls_offload *h)
{
	return h ? h->alert : -1;
}

void dtls_offload_get_stats(const struct dtls_offload *h,
			    struct dtls_offload_stats *st)
{
	if (h && st)
		*st = h->st;
}

uint64_t do_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Resend our last flight: epoch-0 parts in the clear, the rest protected. */
static int do_retransmit(struct dtls_offload *h)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < h->nflight; i++) {
		const struct do_flight_msg *m = &h->flight[i];
		ssize_t n;

		if (m->sealed)
			continue;	/* could not be opened; never happens */
		if (m->epoch == 0) {
			if (h->next_e0_seq > DO_SEQ_MASK)
				return -EKEYEXPIRED;
			n = do_send_record(h, m->type, h->next_e0_seq++,
					   m->data, m->len, MSG_DONTWAIT);
		} else {
			n = do_send_record(h, m->type, -1, m->data, m->len,
					   MSG_DONTWAIT);
		}
		if (n < 0 && !err)
			err = (int)n;
	}
	h->st.retransmits++;
	return err;
}

/* A handshake or CCS record arrived after handoff. */
static void do_handle_handshake(struct dtls_offload *h,
				const struct dtls_record_info *ri,
				const uint8_t *body, size_t len)
{
	bool prot = ri->flags & DTLS_RECORD_F_PROTECTED;
	uint64_t t;

	if (prot && ri->content_type == DTLS_RECORD_TYPE_HANDSHAKE && len &&
	    (body[0] == HS_HELLO_REQUEST || body[0] == HS_CLIENT_HELLO)) {
		static const uint8_t nr[2] = { ALERT_WARNING,
					       ALERT_NO_RENEGOTIATION };

		do_send_record(h, DTLS_RECORD_TYPE_ALERT, -1, nr, sizeof(nr),
			       MSG_DONTWAIT);
		h->st.ignored_records++;
		return;
	}
	/*
	 * The peer resends its last flight only when it missed ours, and only
	 * the side that sent the final flight of the handshake needs to
	 * answer (RFC 6347 4.2.4).  Several records of one peer flight cause
	 * one resend.
	 */
	t = do_now_ns();
	if (!h->we_sent_last || !h->nflight ||
	    t - h->last_retx_ns < RETX_MIN_GAP_NS) {
		h->st.ignored_records++;
		return;
	}
	h->last_retx_ns = t;
	do_retransmit(h);
}

/*
 * DTLS 1.3 with a KeyUpdate of ours unacknowledged: wait for a record no
 * longer than its resend timer, unless the caller must not wait.  Returns
 * the recvmsg() flags to use, or -EAGAIN to look at the timer again.
 */
static int do_wait_ku(struct dtls_offload *h, int flags)
{
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	int ms = do13_timer(h);

	if (ms < 0)
		return flags;
	if (!h->ku_wait && ((flags & MSG_DONTWAIT) ||
			    (fcntl(h->fd, F_GETFL) & O_NONBLOCK)))
		return flags;
	if (poll(&p, 1, ms) == 0)
		return -EAGAIN;
	return flags | MSG_DONTWAIT;
}

/* A non-data record: alerts here, handshake and ACK by version. */
static ssize_t do_control(struct dtls_offload *h,
			  const struct dtls_record_info *ri,
			  const uint8_t *body, size_t n)
{
	bool prot = ri->flags & DTLS_RECORD_F_PROTECTED;

	if (ri->content_type == DTLS_RECORD_TYPE_ALERT) {
		if (!prot || n < 2) {
			h->st.ignored_records++;
			return -EAGAIN;	/* forgeable or malformed */
		}
		h->alert = body[0] << 8 | body[1];
		if (body[1] == ALERT_CLOSE_NOTIFY) {
			h->peer_closed = true;
			return 0;
		}
		if (body[0] == ALERT_FATAL) {
			h->fatal = true;
			return -DTLS_OFFLOAD_E_ALERT;
		}
		h->st.ignored_records++;
		return -EAGAIN;		/* other warnings */
	}
	if (!h->v13) {
		do_handle_handshake(h, ri, body, n < 2 ? n : 2);
	} else if (!prot) {
		h->st.ignored_records++;
	} else if (ri->content_type == DTLS_RECORD_TYPE_ACK) {
		do13_on_ack(h, body, n);
	} else if (ri->content_type == DTLS_RECORD_TYPE_HANDSHAKE) {
		do13_on_handshake(h, ri->rec_num, body, n);
	} else {
		h->st.ignored_records++;
	}
	return -EAGAIN;
}

int dtls_offload_record_info(const struct msghdr *msg,
			     struct dtls_record_info *ri)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level == SOL_DTLS &&
		    c->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*ri))) {
			memcpy(ri, CMSG_DATA(c), sizeof(*ri));
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The next application data record from the kernel, handling every other
 * record on the way.  With h->ku_wait, return -EALREADY as soon as our
 * KeyUpdate is acknowledged.
 */
static ssize_t do_recv_socket(struct dtls_offload *h, void *buf, size_t len,
			      int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct dtls_record_info))];
		struct cmsghdr align;
	} cb;
	struct dtls_record_info ri;

	for (;;) {
		/* the rest of a record past @len, for non-data records */
		struct iovec iov[2] = {
			{ .iov_base = buf, .iov_len = len },
			{ .iov_base = h->rbuf + len, .iov_len = DO_MAX_RECORD },
		};
		struct msghdr msg = {
			.msg_iov = iov, .msg_iovlen = 2,
			.msg_control = cb.buf,
			.msg_controllen = sizeof(cb.buf),
		};
		int rflags = flags;
		ssize_t n, r;

		if (h->ku_wait && !h->ku.active)
			return -EALREADY;
		if (h->v13 && h->ku.active) {
			rflags = do_wait_ku(h, flags);
			if (rflags == -EAGAIN)
				continue;
		}
		if (len > DO_MAX_RECORD)
			iov[1].iov_base = h->rbuf;	/* fits in buf */
		n = recvmsg(h->fd, &msg, rflags);
		if (n < 0) {
			if (errno == EAGAIN && rflags != flags)
				continue;	/* woken for nothing */
			return -errno;
		}
		if (dtls_offload_record_info(&msg, &ri))
			return -EPROTO;	/* DTLS_RX not installed? */

		if (ri.content_type == DTLS_RECORD_TYPE_APPLICATION_DATA) {
			if (!(ri.flags & DTLS_RECORD_F_PROTECTED))
				continue;	/* the kernel never passes these */
			if (n == 0)
				continue;	/* empty record: 0 means EOF */
			return (size_t)n > len ? (ssize_t)len : n;
		}
		/* the whole record in one piece, in h->rbuf */
		if (len <= DO_MAX_RECORD)
			memcpy(h->rbuf, buf, (size_t)n < len ? (size_t)n : len);
		else
			memcpy(h->rbuf, buf, n);
		r = do_control(h, &ri, h->rbuf, n);
		if (r != -EAGAIN)
			return r;
	}
}

/*
 * A datagram from our peer on a many-peer socket that the kernel handed up
 * whole: before handoff the handshake's next read, after it a peer that
 * resends its final flight because ours was lost.
 */
int dtls_offload_input(struct dtls_offload *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!h || !buf || !len || len > 2 * DO_MAX_RECORD)
		return -EINVAL;
	if (!h->peer_id || h->state == DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	if (h->state == DO_OFFLOADED) {
		struct dtls_record_info ri = { .content_type = p[0] };

		if (ri.content_type == DTLS_RECORD_TYPE_HANDSHAKE ||
		    ri.content_type == DTLS_RECORD_TYPE_CHANGE_CIPHER_SPEC)
			do_handle_handshake(h, &ri, p, 0);
		else
			h->st.ignored_records++;
		return 0;
	}
	if (h->inbox)
		return -EBUSY;	/* the handshake has not read the last one */
	h->inbox = malloc(len);
	if (!h->inbox)
		return -ENOMEM;
	memcpy(h->inbox, buf, len);
	h->inbox_len = len;
	return 0;
}

/* The datagram dtls_offload_input() left, for a backend's read; -EAGAIN */
ssize_t do_inbox_take(struct dtls_offload *h, void *buf, size_t len)
{
	size_t n = h->inbox_len < len ? h->inbox_len : len;

	if (!h->inbox)
		return -EAGAIN;
	memcpy(buf, h->inbox, n);
	do_wipe(h->inbox, h->inbox_len);
	free(h->inbox);
	h->inbox = NULL;
	h->inbox_len = 0;
	return (ssize_t)n;
}

ssize_t dtls_offload_recv(struct dtls_offload *h, void *buf, size_t len,
			  int flags)
{
	if (!h || h->state != DO_OFFLOADED)
		return -DTLS_OFFLOAD_E_STATE;
	if (h->peer_id)
		return -DTLS_OFFLOAD_E_STATE;	/* the caller reads the socket */

	if (h->pend_head) {
		struct do_pending *p = h->pend_head;
		size_t n = p->len < len ? p->len : len;

		memcpy(buf, p->data, n);
		h->pend_head = p->next;
		if (!h->pend_head)
			h->pend_tail = NULL;
		h->pend_bytes -= p->len;
		do_wipe(p->data, p->len);
		free(p);
		return (ssize_t)n;
	}
	if (h->peer_closed)
		return 0;
	if (h->fatal)
		return -DTLS_OFFLOAD_E_ALERT;
	return do_recv_socket(h, buf, len, flags);
}

int dtls_offload_timeout(const struct dtls_offload *h)
{
	return h && h->v13 ? do13_timeout(h) : -1;
}

int dtls_offload_key_update(struct dtls_offload *h, int request_peer)
{
	uint8_t *tmp;
	ssize_t n;
	int err;

	if (!h || h->state != DO_OFFLOADED)
		return -DTLS_OFFLOAD_E_STATE;
	if (!h->v13)
		return -DTLS_OFFLOAD_E_VERSION;
	if (h->peer_closed || h->fatal || h->close_sent)
		return -DTLS_OFFLOAD_E_CLOSED;
	err = do13_key_update_start(h, request_peer);
	if (err)
		return err;
	tmp = malloc(DO_MAX_RECORD);
	if (!tmp)
		return -ENOMEM;
	/* data that arrives meanwhile waits for dtls_offload_recv() */
	h->ku_wait = true;
	for (;;) {
		n = do_recv_socket(h, tmp, DO_MAX_RECORD, 0);
		if (n > 0 && !do_pending_add(h, tmp, n))
			continue;
		break;
	}
	h->ku_wait = false;
	do_wipe(tmp, DO_MAX_RECORD);
	free(tmp);
	if (n == -EALREADY)
		return 0;
	return n > 0 ? -ENOMEM : n == 0 ? -DTLS_OFFLOAD_E_CLOSED : (int)n;
}

const char *dtls_offload_strerror(int err)
{
	static __thread char buf[64];

	if (err > 0)
		err = -err;
	switch (-err) {
	case 0:
		return "success";
	case DTLS_OFFLOAD_E_CIPHER:
		return "cipher suite not supported by kernel DTLS";
	case DTLS_OFFLOAD_E_STATE:
		return "wrong state (not prepared, handshake not finished, or already offloaded)";
	case DTLS_OFFLOAD_E_TLSLIB:
		return "TLS library call failed";
	case DTLS_OFFLOAD_E_VERSION:
		return "protocol version not supported here (DTLS 1.2 and 1.3 are; key updates need 1.3)";
	case DTLS_OFFLOAD_E_ALERT:
		return "peer sent a fatal alert";
	case DTLS_OFFLOAD_E_SEQ:
		return "record numbers of the handshake unknown";
	case DTLS_OFFLOAD_E_CLOSED:
		return "connection already closed for sending";
	case DTLS_OFFLOAD_E_CID:
		return "the handshake negotiated connection IDs, which this kernel DTLS does not take";
	}
	if (-err < DTLS_OFFLOAD_E_BASE)
		return strerror_r(-err, buf, sizeof(buf));
	return "unknown error";
}
