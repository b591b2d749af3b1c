// SPDX-License-Identifier: GPL-2.0
/*
 * Receive in the reader, for a socket with UDP_GRO.
 *
 * UDP cuts a GRO or GSO batch into one skb per datagram before it calls an
 * encapsulation hook (udp_unexpected_gso()), and those skbs cost more than
 * the record layer itself.  So once UDP_GRO is set on a socket with
 * DTLS_RX, the socket leaves the hook for good: UDP queues datagrams and
 * whole batches as they come (charged to the receive buffer, and dropped
 * when it is full, by UDP itself), and the reader takes them from the head
 * of the queue one at a time, opens their records where they lie and
 * copies each plaintext straight out.  poll() and FIONREAD open records at
 * the head until one passes, so that they stay exact.  Records the hook
 * queued before the switch are delivered as rx.c delivers them.
 *
 * One mutex serialises the readers of a socket: a batch is consumed over
 * several reads, and a record must never be opened in place twice.
 */

#include <crypto/aead.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/sockios.h>
#include <net/ip.h>
#include <asm/ioctls.h>

#include "dtls.h"

/* A record header and any explicit nonce (8 bytes, or none) */
#define DTLS_READER_HDR	(DTLS_HEADER_SIZE + 16)

struct dtls_reader {
	struct mutex lock;	/* one reader opens and takes at a time */
	/*
	 * The datagram or batch taken from the head of the queue (still
	 * charged to it), as far as it was read: the records before @next
	 * are gone (delivered or dropped); if @open, the one at @next passed
	 * and its @ptlen bytes of plaintext lie at @body.
	 */
	struct sk_buff *cur;
	unsigned int next;
	bool open;
	unsigned int body;
	unsigned int ptlen;
	unsigned int end;	/* where the open record ends */
	u64 rec_num;
	u8 type;
	u8 flags;
	u8 hdr[DTLS_READER_HDR];
	u8 iv[DTLS_MAX_IV_SIZE];
	u8 aad[DTLS_AAD_SIZE];
	struct crypto_wait wait;
	/* the AAD, then at most the linear part and every page fragment */
	struct scatterlist sg[MAX_SKB_FRAGS + 2];
	struct aead_request req;	/* last: its context follows */
};

void dtls_reader_free(struct dtls_reader *r)
{
	if (!r)
		return;
	mutex_destroy(&r->lock);
	kfree_sensitive(r);
}

/* The end of the datagram @off lies in: a batch is of gso_size datagrams. */
static unsigned int dtls_reader_dgram_end(const struct sk_buff *skb,
					  unsigned int off)
{
	unsigned int size = skb_shinfo(skb)->gso_size;

	if (!skb_is_gso(skb) || !size)
		return skb->len;
	return min(skb->len, off - off % size + size);
}

/* Records are opened in place: nobody else may see these bytes. */
static bool dtls_reader_may_write(struct sk_buff *skb)
{
	return !skb_cloned(skb) && !skb_has_frag_list(skb) &&
	       !skb_has_shared_frag(skb) && !skb_zcopy(skb);
}

static int dtls_reader_decrypt(struct dtls_rx *rx, struct dtls_reader *r,
			       struct sk_buff *skb, const u8 *rec)
{
	unsigned int tag = rx->crypto.desc->tag_size;
	int nsg;

	dtls_make_iv(&rx->crypto, rec + DTLS_HDR_EPOCH, rec + DTLS_HEADER_SIZE,
		     r->iv);
	dtls_make_aad(r->aad, rec + DTLS_HDR_EPOCH, rec[DTLS_HDR_TYPE],
		      r->ptlen);
	sg_init_table(r->sg, ARRAY_SIZE(r->sg));
	sg_set_buf(&r->sg[0], r->aad, DTLS_AAD_SIZE);
	/* no frag_list (dtls_reader_may_write()): the pieces fit */
	nsg = skb_to_sgvec(skb, &r->sg[1], r->body, r->ptlen + tag);
	if (nsg < 0)
		return nsg;

	aead_request_set_tfm(&r->req, rx->crypto.aead);
	aead_request_set_callback(&r->req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done,
				  &r->wait);
	aead_request_set_ad(&r->req, DTLS_AAD_SIZE);
	aead_request_set_crypt(&r->req, r->sg, r->sg, r->ptlen + tag, r->iv);
	return crypto_wait_req(crypto_aead_decrypt(&r->req), &r->wait);
}

/*
 * Check and open the record at r->next of @skb, and count what happened.
 * Returns true if it passed (r->open); otherwise r->next has moved past it,
 * or past the rest of its datagram if that cannot be framed.
 */
static bool dtls_reader_open_one(struct sock *sk, struct dtls_rx *rx,
				 struct dtls_reader *r, struct sk_buff *skb)
{
	const struct dtls_cipher_desc *desc = rx->crypto.desc;
	unsigned int end = dtls_reader_dgram_end(skb, r->next);
	unsigned int avail = end - r->next, len;
	enum dtls_mib_field verdict;
	const u8 *rec;

	if (avail < DTLS_HEADER_SIZE)
		goto bad_frame;
	rec = skb_header_pointer(skb, r->next,
				 min_t(unsigned int, avail,
				       DTLS_HEADER_SIZE + desc->explicit_size),
				 r->hdr);
	len = get_unaligned_be16(rec + DTLS_HDR_LENGTH);
	if (len > avail - DTLS_HEADER_SIZE)
		goto bad_frame;

	r->end = r->next + DTLS_HEADER_SIZE + len;
	r->body = r->next + DTLS_HEADER_SIZE;
	r->ptlen = len;
	verdict = dtls_rx_check(rx, rec, len);
	if (verdict == DTLS_RX_DECRYPT) {
		r->body += desc->explicit_size;
		r->ptlen -= desc->explicit_size + desc->tag_size;
		verdict = dtls_rx_opened(rx, rec,
					 dtls_reader_decrypt(rx, r, skb, rec));
	}
	dtls_stat_inc(sk, verdict);
	if (verdict != DTLS_MIB_RX_RECORDS && verdict != DTLS_MIB_RX_PLAINTEXT) {
		r->next = r->end;
		return false;
	}
	r->rec_num = get_unaligned_be64(rec + DTLS_HDR_EPOCH);
	r->type = rec[DTLS_HDR_TYPE];
	r->flags = verdict == DTLS_MIB_RX_RECORDS ? DTLS_RECORD_F_PROTECTED : 0;
	r->open = true;
	return true;

bad_frame:
	/* nothing after a header that does not fit can be framed */
	dtls_stat_inc(sk, DTLS_MIB_RX_MALFORMED);
	r->next = end;
	return false;
}

/*
 * Give back @skb's charge to the receive buffer, which it kept while the
 * reader held it; UDP takes the queue lock this needs with BH off.
 */
static void dtls_reader_uncharge(struct sock *sk, struct sk_buff *skb)
{
	local_bh_disable();
	udp_skb_destructor(sk, skb);
	local_bh_enable();
}

/* Done with r->cur: every record in it is gone. */
static void dtls_reader_finish(struct sock *sk, struct dtls_reader *r)
{
	struct sk_buff *skb = r->cur;

	WRITE_ONCE(r->cur, NULL);
	dtls_reader_uncharge(sk, skb);
	consume_skb(skb);
}

/*
 * What comes first in the socket's queue, refilled as __skb_recv_udp()
 * does it: a record skb rx.c queued, which stays there and is returned; or
 * a raw datagram or batch, which is taken off the queue (still charged to
 * the receive buffer) as r->cur, so that nothing else, UDP's own checksum
 * drop in its poll() and FIONREAD included, can free it under the reader.
 * Its checksum is checked first, as UDP's recvmsg() would.  One that may
 * not be written in place is cut and opened by rx.c instead, which queues
 * its records at the tail.  Returns NULL when the queue is empty.
 */
static struct sk_buff *dtls_reader_take(struct sock *sk, struct dtls_rx *rx,
					struct dtls_reader *r)
{
	struct sk_buff_head *rq = &udp_sk(sk)->reader_queue;
	struct sk_buff *skb;

	for (;;) {
		spin_lock_bh(&rq->lock);
		if (skb_queue_empty(rq)) {
			spin_lock(&sk->sk_receive_queue.lock);
			skb_queue_splice_tail_init(&sk->sk_receive_queue, rq);
			spin_unlock(&sk->sk_receive_queue.lock);
		}
		skb = skb_peek(rq);
		if (skb && !dtls_skb_is_record(skb))
			__skb_unlink(skb, rq);
		spin_unlock_bh(&rq->lock);
		if (!skb || dtls_skb_is_record(skb))
			return skb;

		if (udp_lib_checksum_complete(skb)) {
			dtls_reader_uncharge(sk, skb);
			atomic_inc(&sk->sk_drops);
			kfree_skb(skb);
		} else if (!dtls_reader_may_write(skb)) {
			dtls_reader_uncharge(sk, skb);
			dtls_rx_raw(sk, rx, skb);
		} else {
			WRITE_ONCE(r->cur, skb);
			r->next = 0;
			r->open = false;
			return skb;
		}
	}
}

/*
 * Make what comes first something to deliver: r->cur with its record at
 * r->next open, or else a record skb at the head of the queue.  Opens
 * records until one passes, and drops what holds none.  Returns it, or
 * NULL when there is nothing.  r->lock held.
 */
static struct sk_buff *dtls_reader_ready(struct sock *sk, struct dtls_rx *rx,
					 struct dtls_reader *r)
{
	struct sk_buff *skb;

	for (;;) {
		skb = r->cur ?: dtls_reader_take(sk, rx, r);
		if (!skb || skb != r->cur)
			return skb;	/* nothing, or a record skb */
		if (r->open)
			return skb;
		while (r->next < skb->len)
			if (dtls_reader_open_one(sk, rx, r, skb))
				return skb;
		dtls_reader_finish(sk, r);
	}
}

static bool dtls_reader_is_app_data(const struct dtls_reader *r)
{
	return r->type == DTLS_RECORD_TYPE_APPLICATION_DATA &&
	       (r->flags & DTLS_RECORD_F_PROTECTED);
}

/* The open record is delivered (or lost with a failed copy). */
static void dtls_reader_advance(struct dtls_reader *r)
{
	r->open = false;
	r->next = r->end;
}

/*
 * The raw datagram or batch that comes next, taken as r->cur, to continue
 * a UDP_GRO read from @first's sender; NULL if there is none.  One from
 * elsewhere stays r->cur, first in line for the next read.
 */
static struct sk_buff *dtls_reader_next(struct sock *sk, struct dtls_rx *rx,
					struct dtls_reader *r,
					const struct sk_buff *first)
{
	struct sk_buff *skb = dtls_reader_take(sk, rx, r);

	return skb && skb == r->cur && dtls_same_sender(first, skb) ? skb : NULL;
}

/*
 * UDP_GRO: after a whole application data record of @first, copy those
 * queued behind it, in the same datagram or batch and in the next ones,
 * while rx.c's rule for a GRO read holds (see DTLS_RX_GRO_MAX).  Returns
 * the bytes copied or an error; *nrec counts the records copied, the
 * first included.
 */
static int dtls_reader_followers(struct sock *sk, struct dtls_rx *rx,
				 struct dtls_reader *r, struct sk_buff *first,
				 struct msghdr *msg, unsigned int seg,
				 size_t space, unsigned int *nrec)
{
	unsigned int copied = 0;
	struct sk_buff *skb = first;
	int err;

	while (*nrec < DTLS_RX_GRO_MAX) {
		if (r->next >= skb->len) {
			dtls_reader_finish(sk, r);
			skb = dtls_reader_next(sk, rx, r, first);
			if (!skb)
				break;
			continue;
		}
		if (!dtls_reader_open_one(sk, rx, r, skb))
			continue;
		/* anything else stays open for the next read */
		if (!dtls_reader_is_app_data(r) || !r->ptlen ||
		    r->ptlen > seg || r->ptlen > space - copied)
			break;
		err = skb_copy_datagram_msg(skb, r->body, msg, r->ptlen);
		dtls_reader_advance(r);
		if (unlikely(err))
			return err;
		copied += r->ptlen;
		++*nrec;
		if (r->ptlen < seg)
			break;		/* a shorter record ends the batch */
	}
	return copied;
}

static void dtls_reader_peek_off(struct sock *sk, int len)
{
	bool slow;

	if (likely(READ_ONCE(sk->sk_peek_off) < 0))
		return;
	slow = lock_sock_fast(sk);
	sk_peek_offset_bwd(sk, len);
	unlock_sock_fast(sk, slow);
}

/* Receive the open record at the head (@skb), and under UDP_GRO those behind */
static int dtls_reader_deliver(struct sock *sk, struct dtls_rx *rx,
			       struct dtls_reader *r, struct sk_buff *skb,
			       struct msghdr *msg, size_t len, int flags,
			       int *addr_len)
{
	bool peeking = flags & MSG_PEEK;
	unsigned int ulen = r->ptlen, copied, nrec = 1;
	int off = 0, err;

	if (dtls_recv_has_room(msg)) {
		struct dtls_record_info info = {
			.rec_num = r->rec_num,
			.content_type = r->type,
			.flags = r->flags,
		};

		err = put_cmsg(msg, SOL_DTLS, DTLS_GET_RECORD_TYPE,
			       sizeof(info), &info);
		if (err)
			return err;
	} else if (!dtls_reader_is_app_data(r)) {
		return -EIO;	/* the record stays for a caller with room */
	} else if (msg->msg_control && msg->msg_controllen) {
		msg->msg_flags |= MSG_CTRUNC;
	}

	if (peeking)
		off = min_t(int, max(sk_peek_offset(sk, flags), 0), ulen);
	copied = min_t(size_t, len, ulen - off);
	if (copied < ulen - off)
		msg->msg_flags |= MSG_TRUNC;

	err = skb_copy_datagram_msg(skb, r->body + off, msg, copied);
	if (unlikely(err)) {
		if (!peeking) {
			atomic_inc(&sk->sk_drops);
			dtls_reader_advance(r);
		}
		goto out;
	}
	/* the address and cmsgs are the first record's */
	sock_recv_cmsgs(msg, sk, skb);
	dtls_recv_addr(sk, msg, skb, addr_len, 0);
	if (peeking) {
		dtls_reader_peek_off(sk, -(int)copied);
		return flags & MSG_TRUNC ? ulen : copied;
	}
	dtls_reader_advance(r);

	if (udp_test_bit(GRO_ENABLED, sk) && dtls_reader_is_app_data(r) &&
	    copied == ulen && ulen) {
		int more;

		skb_get(skb);	/* the followers compare their sender to it */
		more = dtls_reader_followers(sk, rx, r, skb, msg, ulen,
					     len - copied, &nrec);
		consume_skb(skb);
		if (unlikely(more < 0)) {
			/* the records copied so far are lost with the call */
			atomic_add(nrec + 1, &sk->sk_drops);
			err = more;
			goto out;
		}
		if (nrec > 1) {
			int seg = ulen;

			put_cmsg(msg, SOL_UDP, UDP_GRO, sizeof(seg), &seg);
			copied += more;
			ulen = copied;
		}
	}

	err = flags & MSG_TRUNC ? ulen : copied;
	dtls_reader_peek_off(sk, copied);
out:
	if (r->cur && !r->open && r->next >= r->cur->len)
		dtls_reader_finish(sk, r);
	return err;
}

int dtls_reader_recvmsg(struct sock *sk, struct dtls_rx *rx,
			struct dtls_reader *r, struct msghdr *msg, size_t len,
			int flags, int *addr_len)
{
	long timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	struct sk_buff *skb;
	int err;

	for (;;) {
		if (mutex_lock_interruptible(&r->lock))
			return sock_intr_errno(timeo);
		skb = dtls_reader_ready(sk, rx, r);
		if (skb)
			break;
		mutex_unlock(&r->lock);

		err = sock_error(sk);
		if (err)
			return err;
		if (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN)
			return 0;
		if (!timeo)
			return -EAGAIN;
		/* the queue was empty when it was last refilled */
		if (__skb_wait_for_more_packets(sk, &sk->sk_receive_queue,
						&err, &timeo,
						(struct sk_buff *)
						&sk->sk_receive_queue))
			return err;
	}

	if (dtls_skb_is_record(skb))
		err = dtls_recv_queued(sk, rx, msg, len, flags, addr_len);
	else
		err = dtls_reader_deliver(sk, rx, r, skb, msg, len, flags,
					  addr_len);
	mutex_unlock(&r->lock);
	return err;
}

/*
 * poll(): UDP's, but a queue whose records all fail is not readable.  UDP
 * wakes the waiters for every datagram it queues.
 */
static __poll_t dtls_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	/* pairs with dtls_reader_enable(): what it set up before these ops */
	const struct proto_ops *ops __maybe_unused = smp_load_acquire(&sock->ops);
	struct sock *sk = sock->sk;
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	__poll_t mask = ctx->sk_ops->poll(file, sock, wait);
	struct dtls_reader *r = rx->reader;
	bool ready;

	/* UDP does not see the datagram or batch the reader took */
	if (!r || (!(mask & EPOLLIN) && !READ_ONCE(r->cur)))
		return mask;
	mutex_lock(&r->lock);
	ready = dtls_reader_ready(sk, rx, r);
	mutex_unlock(&r->lock);
	if (ready)
		mask |= EPOLLIN | EPOLLRDNORM;
	else if (!(READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN))
		mask &= ~(EPOLLIN | EPOLLRDNORM);
	return mask;
}

/* FIONREAD: the length of the first record to read, as UDP's of a datagram */
static int dtls_sock_ioctl(struct socket *sock, unsigned int cmd,
			   unsigned long arg)
{
	/* pairs with dtls_reader_enable(): what it set up before these ops */
	const struct proto_ops *ops __maybe_unused = smp_load_acquire(&sock->ops);
	struct sock *sk = sock->sk;
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	struct dtls_reader *r = rx->reader;
	struct sk_buff *skb;
	int amount = 0;

	if (cmd != SIOCINQ || !r)
		return ctx->sk_ops->ioctl(sock, cmd, arg);
	mutex_lock(&r->lock);
	skb = dtls_reader_ready(sk, rx, r);
	if (skb)
		amount = dtls_skb_is_record(skb) ? skb->len : r->ptlen;
	mutex_unlock(&r->lock);
	return put_user(amount, (int __user *)arg);
}

/*
 * The socket's proto_ops with dtls_poll() and dtls_sock_ioctl(), one copy
 * per family, made from the first socket's own (IPv6's are not exported),
 * as kTLS makes its own; freed at module exit.
 */
static const struct proto_ops *dtls_ops[DTLS_NUM_FAM];
static const struct proto_ops *dtls_ops_base[DTLS_NUM_FAM];
static DEFINE_MUTEX(dtls_ops_lock);

static void dtls_ops_init(struct proto_ops *ops, const struct proto_ops *base)
{
	*ops = *base;
	ops->poll = dtls_poll;
	ops->ioctl = dtls_sock_ioctl;
}

/* Or an error: no memory, or other ops than the family's first socket's */
static const struct proto_ops *dtls_reader_ops(struct socket *sock, int fam)
{
	const struct proto_ops *base = sock->ops, *ops = ERR_PTR(-ENOMEM);

	mutex_lock(&dtls_ops_lock);
	if (!dtls_ops[fam]) {
		void *copy = kmalloc(sizeof(*base), GFP_KERNEL);

		if (copy) {
			dtls_ops_init(copy, base);
			dtls_ops[fam] = copy;
			dtls_ops_base[fam] = base;
		}
	}
	if (dtls_ops[fam])
		ops = dtls_ops_base[fam] == base ? dtls_ops[fam] :
						   ERR_PTR(-EOPNOTSUPP);
	mutex_unlock(&dtls_ops_lock);
	return ops;
}

/* Module exit: no socket is left to use them. */
void dtls_reader_exit(void)
{
	int fam;

	for (fam = 0; fam < DTLS_NUM_FAM; fam++)
		kfree(dtls_ops[fam]);
}

/*
 * UDP_GRO was set on a socket with DTLS_RX: from here on the reader opens
 * the records.  lock_sock held.
 */
int dtls_reader_enable(struct sock *sk, struct dtls_rx *rx)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct socket *sock = sk->sk_socket;
	int fam = sk->sk_family == AF_INET6 ? DTLS_FAM_V6 : DTLS_FAM_V4;
	const struct proto_ops *ops;
	struct dtls_reader *r;

	if (rx->reader)
		return 0;
	if (!sock)
		return -ENOTCONN;
	ops = dtls_reader_ops(sock, fam);
	if (IS_ERR(ops))
		return PTR_ERR(ops);
	r = kzalloc(sizeof(*r) + crypto_aead_reqsize(rx->crypto.aead),
		    DTLS_GFP_SOCK);
	if (!r)
		return -ENOMEM;
	mutex_init(&r->lock);
	crypto_init_wait(&r->wait);

	ctx->sk_ops = sock->ops;
	/* the reader is set up before recvmsg() sees it */
	smp_store_release(&rx->reader, r);
	/* and it and ctx->sk_ops before poll() or ioctl() see these ops */
	smp_store_release(&sock->ops, ops);
	/*
	 * Only now, with poll() exact, may raw datagrams come; those
	 * already in the hook still queue their records.
	 */
	WRITE_ONCE(udp_sk(sk)->encap_rcv, NULL);
	return 0;
}

/*
 * close(), after the socket lock: give back the datagram or batch the
 * reader holds before UDP purges its queues.  No reader is left.
 */
void dtls_reader_release(struct sock *sk, struct dtls_rx *rx)
{
	struct dtls_reader *r = rx->reader;

	if (!r)
		return;
	mutex_lock(&r->lock);
	if (r->cur) {
		dtls_reader_uncharge(sk, r->cur);
		kfree_skb(r->cur);
		WRITE_ONCE(r->cur, NULL);
	}
	mutex_unlock(&r->lock);
}
