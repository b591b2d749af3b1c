// SPDX-License-Identifier: GPL-2.0
/*
 * Receive in the reader, for a socket with UDP_GRO: the second feeder of
 * the record layer (record.c).
 *
 * UDP cuts a GRO or GSO batch into one skb per datagram before it calls an
 * encapsulation hook (udp_unexpected_gso()), and those skbs cost more than
 * the record layer itself.  So once UDP_GRO is set on a socket with
 * DTLS_RX, the socket leaves the hook for good: UDP queues datagrams and
 * whole batches as they come (charged to the receive buffer, and dropped
 * when it is full, by UDP itself), and the reader takes them from the head
 * of the queue one at a time and opens their records where they lie;
 * deliver.c copies each plaintext straight out.  poll() and FIONREAD open
 * records at the head until one passes, so that they stay exact.  Records
 * the hook queued before the switch are delivered first, as the hook's.
 *
 * One mutex serialises the readers of a socket: a batch is consumed over
 * several reads, and a record must never be opened in place twice.
 */

#include <linux/mutex.h>
#include <linux/slab.h>

#include "rx.h"
#include "socket.h"

struct dtls_reader {
	struct mutex lock;	/* one reader opens and takes at a time */
	/*
	 * The datagram or batch taken from the head of the queue (still
	 * charged to it), as far as it was read: the records before @next
	 * are gone (delivered or dropped) or, if @open, the last of them,
	 * req.rec, passed and waits to be delivered.
	 */
	struct sk_buff *cur;
	unsigned int next;
	bool open;
	struct crypto_wait wait;
	struct dtls_rx_req req;	/* last: the AEAD's context follows */
};

static struct dtls_reader *dtls_reader_create(struct dtls_rx *rx)
{
	struct dtls_reader *r;

	r = kzalloc(sizeof(*r) + rx->keys->reqsize,
		    DTLS_GFP_SOCK);
	if (!r)
		return NULL;
	mutex_init(&r->lock);
	crypto_init_wait(&r->wait);
	dtls_rx_req_init(&r->req);
	r->req.req_flags = CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP;
	r->req.done = crypto_req_done;
	r->req.done_data = &r->wait;
	return r;
}

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

/*
 * Open the record at r->next of @skb, waiting for an asynchronous AEAD,
 * and count what happened.  Returns true if it passed (r->open).  r->next
 * moves past it, or past the rest of its datagram if that cannot be
 * framed.
 */
static bool dtls_reader_open(struct sock *sk, struct dtls_rx *rx,
			     struct dtls_reader *r, struct sk_buff *skb)
{
	enum dtls_verdict v;

	v = dtls_rec_open(rx->keys, &r->req, skb, r->next,
			  dtls_reader_dgram_end(skb, r->next));
	if (v == DTLS_PENDING)
		v = dtls_rec_opened(rx->keys, &r->req.rec,
				    crypto_wait_req(-EINPROGRESS, &r->wait));
	dtls_verdict_report(sk, v);
	r->next = r->req.rec.end;
	r->open = dtls_verdict_passed(v);
	return r->open;
}

/* Done with r->cur: every record in it is gone. */
static void dtls_reader_finish(struct sock *sk, struct dtls_reader *r)
{
	struct sk_buff *skb = r->cur;

	WRITE_ONCE(r->cur, NULL);
	consume_skb(skb);
}

/*
 * What comes first: a record skb the hook queued on rx->queue, which stays
 * there and is returned; or else the next datagram or batch UDP queued,
 * taken off UDP's queue as r->cur, still charged to the socket (now by the
 * module), where nothing else, UDP's own checksum drop in its poll() and
 * FIONREAD included, can free it under the reader.  Its checksum is
 * checked first, as UDP's recvmsg() would.  One that may not be written
 * in place is cut and opened as the hook opens datagrams, which queues
 * its records on rx->queue.  Returns NULL when there is nothing.
 */
static struct sk_buff *dtls_reader_take(struct sock *sk, struct dtls_rx *rx,
					struct dtls_reader *r)
{
	struct sk_buff *skb;

	for (;;) {
		/* only readers, serialised by r->lock, take from its head */
		skb = skb_peek(&rx->queue);
		if (skb)
			return skb;
		skb = dtls_rx_take_raw(sk);
		if (!skb)
			return NULL;

		if (udp_lib_checksum_complete(skb)) {
			dtls_sk_drops_add(sk, 1);
			kfree_skb(skb);
		} else if (!dtls_reader_may_write(skb)) {
			dtls_rx_raw(sk, rx, skb);
		} else {
			dtls_rx_charge_held(sk, skb);
			WRITE_ONCE(r->cur, skb);
			r->next = 0;
			r->open = false;
			return skb;
		}
	}
}

/*
 * Make what comes first something to deliver: r->cur with req.rec open,
 * or else a record skb at the head of the queue.  Opens records until one
 * passes, and drops what holds none.  Returns it, or NULL when there is
 * nothing.  r->lock held.
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
			if (dtls_reader_open(sk, rx, r, skb))
				return skb;
		dtls_reader_finish(sk, r);
	}
}

/*
 * UDP_GRO: the record after @first, opened, if it may follow it in one
 * read (dtls_may_follow()): the next in r->cur, or in the next datagram
 * or batch from @first's sender.  One that may not stays open, or r->cur,
 * first in line for the next read.  r->lock held.
 */
bool dtls_reader_follower(struct sock *sk, struct dtls_rx *rx,
			  const struct dtls_rec *first, size_t space,
			  struct dtls_rec *rec)
{
	struct dtls_reader *r = rx->reader;
	struct sk_buff *skb = r->cur;

	while (skb) {
		if (r->next >= skb->len) {
			dtls_reader_finish(sk, r);
			skb = dtls_reader_take(sk, rx, r);
			if (!skb || skb != r->cur ||
			    !dtls_same_sender(first->skb, skb))
				return false;
			continue;
		}
		if (!dtls_reader_open(sk, rx, r, skb))
			continue;
		if (!dtls_may_follow(first, &r->req.rec, space))
			return false;
		*rec = r->req.rec;
		return true;
	}
	return false;
}

/* The open record is delivered (or lost with a failed copy). */
void dtls_reader_consumed(struct dtls_reader *r)
{
	r->open = false;
}

/*
 * Receive the open record at the head, and under UDP_GRO those behind.
 * Under MSG_PEEK, SO_PEEK_OFF reaches within this record only.
 */
static int dtls_reader_deliver(struct sock *sk, struct dtls_rx *rx,
			       struct dtls_reader *r, struct msghdr *msg,
			       size_t len, int flags)
{
	/* req.rec is the followers' next; the first is kept here */
	struct dtls_rec first = r->req.rec;
	bool peeking = flags & MSG_PEEK;
	int off = 0, err;

	err = dtls_deliver_type(msg, &first);
	if (err)
		return err;	/* the record stays for a caller with room */
	if (peeking)
		off = min_t(int, max(sk_peek_offset(sk, flags), 0),
			    first.ptlen);
	else
		dtls_reader_consumed(r);

	/*
	 * The followers may finish with r->cur; the first record's address
	 * and cmsgs are read from it after them.
	 */
	skb_get(first.skb);
	err = dtls_deliver(sk, rx, &first, off, msg, len, flags);
	consume_skb(first.skb);
	if (err >= 0)
		dtls_peek_off_move(sk, peeking ? -err : err);

	if (r->cur && !r->open && r->next >= r->cur->len)
		dtls_reader_finish(sk, r);
	return err;
}

/* Something to read may have come: a record or a datagram of UDP's */
static bool dtls_reader_may_read(struct sock *sk, struct dtls_rx *rx)
{
	return !skb_queue_empty_lockless(&rx->queue) ||
	       !skb_queue_empty_lockless(&udp_sk(sk)->reader_queue) ||
	       !skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	       READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/*
 * Wait for the hook's records or UDP's datagrams, on two queues: both
 * wake the socket's waiters, and wait_woken() misses no wakeup between
 * the test and the sleep.
 */
static int dtls_reader_wait(struct sock *sk, struct dtls_rx *rx, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (!dtls_reader_may_read(sk, rx)) {
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		*timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, *timeo);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

int dtls_reader_recvmsg(struct sock *sk, struct dtls_rx *rx,
			struct dtls_reader *r, struct msghdr *msg, size_t len,
			int flags)
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
		err = dtls_reader_wait(sk, rx, &timeo);
		if (err)
			return err;
	}

	if (dtls_skb_is_record(skb))
		err = dtls_deliver_queued(sk, rx, msg, len, flags);
	else
		err = dtls_reader_deliver(sk, rx, r, msg, len, flags);
	mutex_unlock(&r->lock);
	return err;
}

/*
 * For poll() and FIONREAD: the plaintext length of the first record to
 * deliver, opening records at the head until one passes; -EAGAIN if there
 * is none.  @queued: UDP sees something queued; the reader may also hold
 * a datagram or batch UDP no longer sees.
 */
int dtls_reader_next_len(struct sock *sk, struct dtls_rx *rx,
			 struct dtls_reader *r, bool queued)
{
	struct sk_buff *skb;
	int len = -EAGAIN;

	if (!queued && !READ_ONCE(r->cur) && skb_queue_empty_lockless(&rx->queue))
		return len;
	mutex_lock(&r->lock);
	skb = dtls_reader_ready(sk, rx, r);
	if (skb)
		len = dtls_skb_is_record(skb) ? skb->len : r->req.rec.ptlen;
	mutex_unlock(&r->lock);
	return len;
}

/*
 * UDP_GRO was set on a socket with DTLS_RX: from here on the reader opens
 * the records.  lock_sock held.
 */
int dtls_reader_enable(struct sock *sk, struct dtls_rx *rx)
{
	struct dtls_reader *r;

	if (rx->reader)
		return 0;
	r = dtls_reader_create(rx);
	if (!r)
		return -ENOMEM;

	/* the reader is set up before recvmsg(), poll() and ioctl() see it */
	smp_store_release(&rx->reader, r);
	/*
	 * Only now may raw datagrams come; those already in the hook still
	 * queue their records.
	 */
	WRITE_ONCE(udp_sk(sk)->encap_rcv, NULL);
	return 0;
}

/* close(): free the datagram or batch the reader holds. */
void dtls_reader_release(struct sock *sk, struct dtls_rx *rx)
{
	struct dtls_reader *r = rx->reader;

	if (!r)
		return;
	mutex_lock(&r->lock);
	if (r->cur) {
		kfree_skb(r->cur);
		WRITE_ONCE(r->cur, NULL);
	}
	mutex_unlock(&r->lock);
}
