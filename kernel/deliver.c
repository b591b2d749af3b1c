// SPDX-License-Identifier: GPL-2.0
/*
 * Delivery to the caller of recvmsg(), whichever feeder opened the record:
 * its type in a control message (or EIO), MSG_TRUNC and MSG_CTRUNC, peek,
 * several records in one read under UDP_GRO, the sender's address; and
 * poll() and FIONREAD, which see records, not UDP's datagrams.
 *
 * A record is delivered from one of two places: its own skb, which the
 * hook (receive.c) queued on rx->queue, or the datagram or batch the
 * UDP_GRO reader (reader.c) holds, where it was opened in place.  Both
 * are described by a struct dtls_rec, and dtls_deliver() serves both.
 */

#include <linux/poll.h>
#include <linux/sockios.h>
#include <net/inet_common.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/transp_v6.h>
#include <asm/ioctls.h>

#include "rx.h"

/* A record skb the hook queued, as the record it holds. */
static void dtls_rec_from_skb(struct dtls_rec *rec, struct sk_buff *skb)
{
	const struct dtls_skb_cb *cb = dtls_skb_cb(skb);

	rec->skb = skb;
	rec->off = 0;
	rec->body = 0;
	rec->ptlen = skb->len;
	rec->end = skb->len;
	rec->rec_num = cb->rec_num;
	rec->type = cb->content_type;
	rec->flags = cb->flags;
	rec->peer_id = cb->peer_id;
}

static void dtls_recv_addr(struct sock *sk, struct msghdr *msg,
			   struct sk_buff *skb, int off)
{
	bool is_v4 = skb->protocol == htons(ETH_P_IP);

	if (sk->sk_family == AF_INET) {
		DECLARE_SOCKADDR(struct sockaddr_in *, sin, msg->msg_name);

		if (sin) {
			sin->sin_family = AF_INET;
			sin->sin_port = udp_hdr(skb)->source;
			sin->sin_addr.s_addr = ip_hdr(skb)->saddr;
			memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
			msg->msg_namelen = sizeof(*sin);
		}
	} else if (msg->msg_name) {
		DECLARE_SOCKADDR(struct sockaddr_in6 *, sin6, msg->msg_name);

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = udp_hdr(skb)->source;
		sin6->sin6_flowinfo = 0;
		if (is_v4) {
			ipv6_addr_set_v4mapped(ip_hdr(skb)->saddr,
					       &sin6->sin6_addr);
			sin6->sin6_scope_id = 0;
		} else {
			sin6->sin6_addr = ipv6_hdr(skb)->saddr;
			sin6->sin6_scope_id =
				ipv6_iface_scope_id(&sin6->sin6_addr,
						    inet6_iif(skb));
		}
		msg->msg_namelen = sizeof(*sin6);
	}

	if (is_v4) {
		if (inet_cmsg_flags(inet_sk(sk)))
			ip_cmsg_recv_offset(msg, sk, skb,
					    sizeof(struct udphdr), off);
	} else if (inet6_sk(sk)->rxopt.all) {
		ip6_datagram_recv_ctl(sk, msg, skb);
	}
}

/* Whether the caller of recvmsg() can take the record's type. */
static bool dtls_recv_has_room(const struct msghdr *msg)
{
	return msg->msg_control &&
	       msg->msg_controllen >= CMSG_LEN(sizeof(struct dtls_record_info));
}

/*
 * The record's type, first of the control messages.  A record that is not
 * protected application data goes only to a caller with room for it: EIO
 * otherwise, and the record stays.
 */
int dtls_deliver_type(struct msghdr *msg, const struct dtls_rec *rec)
{
	struct dtls_record_info info = {
		.rec_num = rec->rec_num,
		.content_type = rec->type,
		.flags = rec->flags,
		.peer_id = rec->peer_id,
	};

	if (dtls_recv_has_room(msg))
		return put_cmsg(msg, SOL_DTLS, DTLS_GET_RECORD_TYPE,
				sizeof(info), &info);
	if (!dtls_rec_is_app_data(rec))
		return -EIO;
	if (msg->msg_control && msg->msg_controllen)
		msg->msg_flags |= MSG_CTRUNC;
	return 0;
}

bool dtls_same_sender(const struct sk_buff *a, const struct sk_buff *b)
{
	if (a->protocol != b->protocol || a->skb_iif != b->skb_iif ||
	    udp_hdr(a)->source != udp_hdr(b)->source)
		return false;
	if (a->protocol == htons(ETH_P_IP))
		return ip_hdr(a)->saddr == ip_hdr(b)->saddr;
	return ipv6_addr_equal(&ipv6_hdr(a)->saddr, &ipv6_hdr(b)->saddr);
}

/* UDP_GRO: whether @rec may follow @first in one read (DTLS_RX_GRO_MAX). */
bool dtls_may_follow(const struct dtls_rec *first, const struct dtls_rec *rec,
		     size_t space)
{
	return dtls_rec_is_app_data(rec) && rec->ptlen &&
	       rec->ptlen <= first->ptlen && rec->ptlen <= space &&
	       (rec->skb == first->skb ||
		dtls_same_sender(first->skb, rec->skb));
}

/*
 * The record skb the hook queued next, taken off the queue, if it may
 * follow @first.
 */
static bool dtls_queue_follower(struct dtls_rx *rx,
				const struct dtls_rec *first, size_t space,
				struct dtls_rec *rec)
{
	struct sk_buff *skb;
	bool taken = false;

	spin_lock_bh(&rx->queue.lock);
	skb = skb_peek(&rx->queue);
	if (skb) {
		dtls_rec_from_skb(rec, skb);
		taken = dtls_may_follow(first, rec, space);
	}
	if (taken)
		__skb_unlink(skb, &rx->queue);
	spin_unlock_bh(&rx->queue.lock);
	return taken;
}

/*
 * Followers come from where @first came from: record skbs follow a record
 * skb, the reader's records one it opened.
 */
static bool dtls_next_follower(struct sock *sk, struct dtls_rx *rx,
			       const struct dtls_rec *first, size_t space,
			       struct dtls_rec *rec)
{
	if (dtls_skb_is_record(first->skb))
		return dtls_queue_follower(rx, first, space, rec);
	return dtls_reader_follower(sk, rx, first, space, rec);
}

/* A follower is copied (or lost with a failed copy): it is gone. */
static void dtls_follower_done(struct dtls_rx *rx, struct dtls_rec *rec,
			       int err)
{
	if (!dtls_skb_is_record(rec->skb))
		dtls_reader_consumed(rx->reader);
	else if (err)
		kfree_skb(rec->skb);
	else
		consume_skb(rec->skb);
}

/*
 * Copy the records that may follow @first (already copied, whole) into
 * @msg.  Returns the bytes copied or an error; *nrec counts the records
 * taken, @first and one whose copy failed included.
 */
static int dtls_deliver_followers(struct sock *sk, struct dtls_rx *rx,
				  const struct dtls_rec *first,
				  struct msghdr *msg, size_t space,
				  unsigned int *nrec)
{
	unsigned int copied = 0;
	struct dtls_rec rec;
	int err;

	while (*nrec < DTLS_RX_GRO_MAX &&
	       dtls_next_follower(sk, rx, first, space - copied, &rec)) {
		err = skb_copy_datagram_msg(rec.skb, rec.body, msg, rec.ptlen);
		dtls_follower_done(rx, &rec, err);
		++*nrec;
		if (unlikely(err))
			return err;
		copied += rec.ptlen;
		if (rec.ptlen < first->ptlen)
			break;		/* a shorter record ends the batch */
	}
	return copied;
}

static bool dtls_may_coalesce(struct sock *sk, const struct dtls_rec *rec,
			      int flags, int off, size_t copied)
{
	return udp_test_bit(GRO_ENABLED, sk) && !(flags & MSG_PEEK) &&
	       !off && rec->ptlen && copied == rec->ptlen &&
	       dtls_rec_is_app_data(rec);
}

/*
 * Copy @rec, the record at the head of the socket, from @off on (a peek
 * offset), then under UDP_GRO the records that may follow it, and give the
 * first one's cmsgs and address.  Its type was given by
 * dtls_deliver_type().  Returns what recvmsg() returns.  The caller
 * consumes @rec (unless peeking); the followers are consumed here.  On a
 * failed copy, every record the call took is lost and counted in the
 * socket's drops, as UDP counts a datagram it fails to copy.
 */
int dtls_deliver(struct sock *sk, struct dtls_rx *rx,
		 const struct dtls_rec *rec, int off, struct msghdr *msg,
		 size_t len, int flags)
{
	unsigned int ulen = rec->ptlen, copied, nrec = 1;
	int more, err;

	/* As UDP does, peek offset included */
	copied = len;
	if (copied > ulen - off)
		copied = ulen - off;
	else if (copied < ulen)
		msg->msg_flags |= MSG_TRUNC;

	err = skb_copy_datagram_msg(rec->skb, rec->body + off, msg, copied);
	if (unlikely(err)) {
		if (!(flags & MSG_PEEK))
			dtls_sk_drops_add(sk, 1);
		return err;
	}

	if (dtls_may_coalesce(sk, rec, flags, off, copied)) {
		more = dtls_deliver_followers(sk, rx, rec, msg, len - copied,
					      &nrec);
		if (unlikely(more < 0)) {
			dtls_sk_drops_add(sk, nrec);
			return more;
		}
		if (nrec > 1) {
			int seg = ulen;

			put_cmsg(msg, SOL_UDP, UDP_GRO, sizeof(seg), &seg);
			copied += more;
			ulen = copied;
		}
	}

	sock_recv_cmsgs(msg, sk, rec->skb);
	dtls_recv_addr(sk, msg, rec->skb, off);
	return flags & MSG_TRUNC ? ulen : copied;
}

/*
 * SO_PEEK_OFF: move the peek offset by what recvmsg() took (@len > 0) or
 * peeked at (@len < 0).
 */
void dtls_peek_off_move(struct sock *sk, int len)
{
	bool slow;

	if (likely(READ_ONCE(sk->sk_peek_off) < 0))
		return;
	slow = lock_sock_fast(sk);
	sk_peek_offset_bwd(sk, len);
	unlock_sock_fast(sk, slow);
}

/*
 * Take a record skb we peeked at off rx->queue, unless another reader
 * took it first.  On success the caller owns the one remaining reference.
 */
static bool dtls_take_peeked(struct dtls_rx *rx, struct sk_buff *skb)
{
	bool taken = false;

	spin_lock_bh(&rx->queue.lock);
	if (skb->next) {
		__skb_unlink(skb, &rx->queue);
		refcount_dec(&skb->users);
		taken = true;
	}
	spin_unlock_bh(&rx->queue.lock);
	return taken;
}

/* Receive the record skb at the head of rx->queue, as UDP a datagram */
int dtls_deliver_queued(struct sock *sk, struct dtls_rx *rx,
			struct msghdr *msg, size_t len, int flags)
{
	bool room = dtls_recv_has_room(msg);
	int peeking = flags & MSG_PEEK;
	struct dtls_rec rec;
	struct sk_buff *skb;
	int off, err, qflags;

	/*
	 * A caller with no room for the record type must not consume a
	 * record that is not application data: look before taking.
	 */
	qflags = room ? flags : flags | MSG_PEEK;
try_again:
	off = room || peeking ? sk_peek_offset(sk, flags) : -1;
	skb = __skb_recv_datagram(sk, &rx->queue, qflags, &off, &err);
	if (!skb)
		return err;

	dtls_rec_from_skb(&rec, skb);
	err = dtls_deliver_type(msg, &rec);
	if (err) {
		if (qflags & MSG_PEEK) {
			consume_skb(skb);	/* the record stays queued */
		} else {
			dtls_sk_drops_add(sk, 1);
			kfree_skb(skb);
		}
		return err;
	}
	if (!room && !peeking && !dtls_take_peeked(rx, skb)) {
		consume_skb(skb);
		goto try_again;
	}

	err = dtls_deliver(sk, rx, &rec, off, msg, len, flags);
	if (unlikely(err < 0)) {
		kfree_skb(skb);
		return err;
	}
	dtls_peek_off_move(sk, peeking ? -err : err);
	consume_skb(skb);
	return err;
}

/* The error queue and IPv6 path MTU reports are UDP's business. */
static bool dtls_recv_is_udp(struct sock *sk, int flags)
{
	struct ipv6_pinfo *np;

	if (flags & MSG_ERRQUEUE)
		return true;
	if (sk->sk_family != AF_INET6)
		return false;
	np = inet6_sk(sk);
	return np->rxopt.bits.rxpmtu && READ_ONCE(np->rxpmtu);
}

int dtls_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	/* installed before this proto was, freed only after close */
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	/* pairs with dtls_reader_enable() */
	struct dtls_reader *r = smp_load_acquire(&rx->reader);

	if (dtls_recv_is_udp(sk, flags))
		return dtls_base_recvmsg(ctx->sk_proto, sk, msg, len, flags);
	if (r)
		return dtls_reader_recvmsg(sk, rx, r, msg, len, flags);
	return dtls_deliver_queued(sk, rx, msg, len, flags);
}

/*
 * The plaintext length of the first record recvmsg() would return, or
 * -EAGAIN if there is none.  @raw: UDP sees a datagram queued (which only
 * the reader opens).
 */
static int dtls_next_len(struct sock *sk, struct dtls_rx *rx, bool raw)
{
	/* pairs with dtls_reader_enable() */
	struct dtls_reader *r = smp_load_acquire(&rx->reader);
	struct sk_buff *skb;
	int len = -EAGAIN;

	if (r)
		return dtls_reader_next_len(sk, rx, r, raw);
	spin_lock_bh(&rx->queue.lock);
	skb = skb_peek(&rx->queue);
	if (skb)
		len = skb->len;
	spin_unlock_bh(&rx->queue.lock);
	return len;
}

/*
 * poll(): UDP's, but readable only when a record is; UDP's own queue
 * holds datagrams the reader may find nothing authentic in.  Both feeders
 * wake the socket's waiters.
 */
__poll_t dtls_poll(struct file *file, struct socket *sock,
		   struct poll_table_struct *wait)
{
	/* pairs with dtls_swap_ops(): what was set up before these ops */
	const struct proto_ops *ops __maybe_unused = smp_load_acquire(&sock->ops);
	struct sock *sk = sock->sk;
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	__poll_t mask = ctx->sk_ops->poll(file, sock, wait);

	if (dtls_next_len(sk, rx, mask & EPOLLIN) >= 0)
		mask |= EPOLLIN | EPOLLRDNORM;
	else if (!(READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN))
		mask &= ~(EPOLLIN | EPOLLRDNORM);
	if (dtls_key_poll_due(ctx))
		mask |= EPOLLPRI;
	return mask;
}

/* FIONREAD: the length of the first record to read, as UDP's of a datagram */
int dtls_sock_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	/* pairs with dtls_swap_ops(): what was set up before these ops */
	const struct proto_ops *ops __maybe_unused = smp_load_acquire(&sock->ops);
	struct sock *sk = sock->sk;
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);

	if (cmd != SIOCINQ)
		return ctx->sk_ops->ioctl(sock, cmd, arg);
	return put_user(max(dtls_next_len(sk, rx, true), 0),
			(int __user *)arg);
}
