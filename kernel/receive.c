// SPDX-License-Identifier: GPL-2.0
/*
 * Receive on arrival: UDP's encapsulation hook, the first feeder of the
 * record layer (record.c).
 *
 * Records are opened as their datagram arrives, in softirq, so only
 * authentic plaintext is ever queued for the reader.  Each record that
 * passes becomes its own skb (a clone sharing the datagram's buffer) whose
 * data is the plaintext; its content type and record number ride in
 * skb->cb.  They wait on the socket's own record queue, rx->queue, charged
 * to the socket's receive buffer as UDP charges a datagram; all the
 * records of one datagram join it at once.  deliver.c hands them to
 * recvmsg(), poll() and FIONREAD.  A socket with UDP_GRO leaves this hook
 * for the reader (reader.c).  The datagrams queued before DTLS_RX are
 * opened here too, by the task that installs it.
 *
 * Only UDP's exported interface is used: the module never puts an skb on
 * UDP's queues, and takes UDP's datagrams off them with __skb_recv_udp().
 * (Since 6.13 the rest is exported only to an IPv6 built as a module.)
 */

#include <linux/slab.h>
#include <net/udp_tunnel.h>

#include "peer.h"
#include "rx.h"
#include "socket.h"

/* Only our own encap_rcv reads encap_type; any nonzero value serves. */
#define DTLS_UDP_ENCAP_TYPE	100

/*
 * One datagram whose records are being opened.  It lives in a per-CPU slot
 * (or, while that is taken, in an allocation) and outlives the softirq
 * when a tag is checked asynchronously.
 */
struct dtls_rx_op {
	struct sock *sk;		/* held */
	struct dtls_rx *rx;		/* counted in rx->pending */
	struct dtls_rx_keys *keys;	/* of the connected peer or of @peer */
	struct dtls_peer_ctx *peer;	/* held; NULL on a connected socket */
	bool by_cid;			/* @peer found by connection ID */
	struct sk_buff *skb;		/* the datagram */
	struct dtls_rx_slot *slot;	/* NULL: allocated */
	unsigned int off;		/* where the next record starts */
	bool task;			/* from a task, not from the hook */
	bool last_passed;		/* the datagram's last record passed */
	/*
	 * Clones for the records that passed before the last one, kept
	 * here until the whole datagram is opened: nobody may see the
	 * shared buffer while records are still decrypted in it.
	 */
	struct sk_buff_head passed;
	struct dtls_rx_req req;		/* last: the AEAD's context follows */
};

/* Room for a dtls_rx_op and its request in each CPU's slot */
#define DTLS_RX_SLOT_SIZE	3072

/*
 * Softirq opens one datagram at a time on each CPU, so one slot per CPU
 * serves every socket.  A datagram allocates its own only while the slot
 * waits for an asynchronous completion, or if a transform's request does
 * not fit.
 */
struct dtls_rx_slot {
	bool busy;
	u8 op[DTLS_RX_SLOT_SIZE] __aligned(CRYPTO_MINALIGN);
};

/*
 * Each slot is kmalloc'd, not per-CPU memory: the AEAD reaches the
 * request's AAD through a scatterlist, and per-CPU memory outside the
 * first chunk is vmalloc'd, which a scatterlist cannot point at (the
 * first chunk's room is shared by every module and soon gone on a
 * machine with many loaded).
 */
static DEFINE_PER_CPU(struct dtls_rx_slot *, dtls_rx_slot);

int dtls_rx_init(void)
{
	struct dtls_rx_slot *slot;
	int cpu;

	for_each_possible_cpu(cpu) {
		slot = kzalloc_node(sizeof(*slot), GFP_KERNEL, cpu_to_node(cpu));
		if (!slot) {
			dtls_rx_exit();
			return -ENOMEM;
		}
		/* Each slot's request serves record after record */
		dtls_rx_req_init(&((struct dtls_rx_op *)slot->op)->req);
		per_cpu(dtls_rx_slot, cpu) = slot;
	}
	return 0;
}

void dtls_rx_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		kfree_sensitive(per_cpu(dtls_rx_slot, cpu));
		per_cpu(dtls_rx_slot, cpu) = NULL;
	}
}

unsigned int dtls_rx_op_size(const struct dtls_rx_keys *k)
{
	return sizeof(struct dtls_rx_op) + k->reqsize;
}

bool dtls_rx_op_fits_slot(const struct dtls_rx_keys *k)
{
	return dtls_rx_op_size(k) <= DTLS_RX_SLOT_SIZE;
}

static void dtls_rx_done(struct dtls_rx_op *op, int err);
DTLS_CRYPTO_CALLBACK(dtls_rx_done);

/*
 * BH off.  @task: started by a task (the drain of DTLS_RX).  The records
 * are opened with @k, @peer's if not NULL; the op takes over the caller's
 * reference to @peer.
 */
static struct dtls_rx_op *dtls_rx_op_get(struct sock *sk, struct dtls_rx *rx,
					 struct dtls_rx_keys *k,
					 struct dtls_peer_ctx *peer,
					 struct sk_buff *skb, bool task)
{
	struct dtls_rx_slot *slot = this_cpu_read(dtls_rx_slot);
	struct dtls_rx_op *op;

	/*
	 * A callback may run after the softirq: hold what it uses.  UDP finds
	 * the socket under RCU without taking a reference, so close() may
	 * already have dropped the last one: such a socket gets nothing more.
	 */
	if (!refcount_inc_not_zero(&sk->sk_refcnt))
		return NULL;

	/* Pairs with the release in dtls_rx_op_put(), maybe on another CPU */
	if (dtls_rx_op_fits_slot(k) && !smp_load_acquire(&slot->busy)) {
		WRITE_ONCE(slot->busy, true);
		op = (struct dtls_rx_op *)slot->op;
	} else {
		op = kmalloc(dtls_rx_op_size(k), GFP_ATOMIC);
		if (!op) {
			sock_put(sk);
			return NULL;
		}
		dtls_rx_req_init(&op->req);
		slot = NULL;
	}

	atomic_inc(&rx->pending);
	if (task)
		atomic_inc(&rx->task_pending);

	op->sk = sk;
	op->rx = rx;
	op->keys = k;
	op->peer = peer;
	op->by_cid = false;
	op->skb = skb;
	op->slot = slot;
	op->off = 0;
	op->task = task;
	op->last_passed = false;
	__skb_queue_head_init(&op->passed);
	/* No backlog: under overload a datagram is dropped, not queued. */
	op->req.req_flags = 0;
	op->req.done = dtls_rx_done_cb;
	op->req.done_data = op;
	return op;
}

static void dtls_rx_op_put(struct dtls_rx_op *op)
{
	struct dtls_peer_ctx *peer = op->peer;
	struct dtls_rx *rx = op->rx;
	struct sock *sk = op->sk;
	bool task = op->task;

	if (op->slot) {
		/* Done with the slot: pairs with dtls_rx_op_get()'s acquire */
		smp_store_release(&op->slot->busy, false);
	} else {
		kfree_sensitive(op);
	}

	if (peer)
		dtls_peer_put(peer);
	sock_put(sk);
	/* The waiters free rx; nothing here may touch it afterwards. */
	if (task && atomic_dec_and_test(&rx->task_pending))
		wake_up_var(&rx->task_pending);
	if (atomic_dec_and_test(&rx->pending))
		wake_up_var(&rx->pending);
}

/*
 * Records that found no room after they were opened: counted where UDP
 * counts a datagram it drops for that (the socket's drops, SO_RXQ_OVFL)
 * and in DtlsRxDropped.
 */
static void dtls_rx_drop(struct sock *sk, struct sk_buff *skb)
{
	dtls_sk_drops_add(sk, 1);
	dtls_stat_inc(sk, DTLS_MIB_RX_DROPPED);
	kfree_skb(skb);
}

/* skb->destructor of a queued record: give back its charge. */
static void dtls_rx_uncharge(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	unsigned long flags;
	int rmem;

	/*
	 * UDP keeps sk_forward_alloc under this lock; so must we.  IRQs
	 * off: a peek may free a queued record under the queue's IRQ-safe
	 * lock (skb_set_peeked()).
	 */
	spin_lock_irqsave(&sk->sk_receive_queue.lock, flags);
	sk_forward_alloc_add(sk, skb->truesize);
	rmem = atomic_sub_return(skb->truesize, &sk->sk_rmem_alloc);
	/* as UDP: keep the pages while data is queued, up to a quarter */
	if (!rmem || sk->sk_forward_alloc > READ_ONCE(sk->sk_rcvbuf) >> 2)
		sk_mem_reclaim(sk);
	spin_unlock_irqrestore(&sk->sk_receive_queue.lock, flags);
}

/*
 * Whether the receive buffer is full: what is queued already exceeds
 * SO_RCVBUF, so the last record (or datagram) admitted may overshoot it,
 * as UDP lets a datagram do.
 */
static bool dtls_rx_full(const struct sock *sk)
{
	return atomic_read(&sk->sk_rmem_alloc) > READ_ONCE(sk->sk_rcvbuf);
}

/*
 * Charge @skb to the socket's receive buffer and memory accounting (its
 * memory cgroup included), as UDP charges a datagram: refused when the
 * buffer is full, unless @admitted (a datagram UDP queued and the reader
 * holds), or when the protocol's or the cgroup's memory is exhausted.
 * sk_receive_queue.lock held, BH off.
 */
static bool dtls_rx_charge(struct sock *sk, struct sk_buff *skb,
			   bool admitted)
{
	unsigned int size = skb->truesize;

	if (!admitted && dtls_rx_full(sk))
		return false;
	if (!sk_rmem_schedule(sk, skb, size))
		return false;
	skb_orphan(skb);
	sk_mem_charge(sk, size);
	atomic_add(size, &sk->sk_rmem_alloc);
	skb->sk = sk;
	skb->destructor = dtls_rx_uncharge;
	return true;
}

/*
 * Charge and queue on rx->queue the records of @list that may be queued;
 * the rest stay on @list.  After close() none is: nothing would give
 * their charge back.  rx->queue.lock held, BH off.  Returns how many were
 * queued, and counts the protected records among them in n[0], the
 * epoch-0 ones in n[1], the whole datagrams in n[2].
 */
static unsigned int dtls_rx_queue_locked(struct sock *sk, struct dtls_rx *rx,
					 struct sk_buff_head *list,
					 unsigned int n[3])
{
	unsigned int queued = 0;
	struct sk_buff *skb, *tmp;
	u8 flags;

	n[0] = 0;
	n[1] = 0;
	n[2] = 0;
	if (rx->closed)
		return 0;
	spin_lock(&sk->sk_receive_queue.lock);
	skb_queue_walk_safe(list, skb, tmp) {
		if (!dtls_rx_charge(sk, skb, false))
			continue;
		__skb_unlink(skb, list);
		sock_skb_set_dropcount(sk, skb);
		__skb_queue_tail(&rx->queue, skb);
		queued++;
		flags = dtls_skb_cb(skb)->flags;
		if (flags & DTLS_RECORD_F_PROTECTED)
			n[0]++;
		else if (flags & DTLS_RECORD_F_DATAGRAM)
			n[2]++;
		else
			n[1]++;
	}
	spin_unlock(&sk->sk_receive_queue.lock);
	return queued;
}

/*
 * After dtls_rx_queue_locked(): drop what @list kept, count the records
 * queued, wake.
 */
static void dtls_rx_queued(struct sock *sk, struct sk_buff_head *list,
			   unsigned int queued, const unsigned int n[3])
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(list)))
		dtls_rx_drop(sk, skb);
	if (!queued)
		return;
	if (n[0])
		dtls_sk_stat_add(sk, DTLS_MIB_RX_RECORDS, n[0]);
	if (n[1])
		dtls_sk_stat_add(sk, DTLS_MIB_RX_PLAINTEXT, n[1]);
	if (n[2])
		dtls_sk_stat_add(sk, DTLS_MIB_RX_DATAGRAMS, n[2]);
	sk->sk_data_ready(sk);
}

/* Put the records of one datagram on rx->queue at once, wake the readers. */
static void dtls_rx_enqueue(struct sock *sk, struct dtls_rx *rx,
			    struct sk_buff_head *list)
{
	unsigned int queued, n[3];

	spin_lock_bh(&rx->queue.lock);
	queued = dtls_rx_queue_locked(sk, rx, list, n);
	spin_unlock_bh(&rx->queue.lock);
	dtls_rx_queued(sk, list, queued, n);
}

/* Make @skb the plaintext of @rec, which passed, with its type in cb. */
static int dtls_rx_trim(struct sk_buff *skb, const struct dtls_rec *rec)
{
	struct dtls_skb_cb *cb = dtls_skb_cb(skb);

	cb->rec_num = rec->rec_num;
	cb->content_type = rec->type;
	cb->flags = rec->flags;
	cb->peer_id = rec->peer_id;
	/* The header is linear; the tag may be in a page fragment. */
	__skb_pull(skb, rec->body);
	if (unlikely(pskb_trim(skb, rec->ptlen)))
		return -ENOMEM;
	/* UDP's checksum was verified before the record was opened. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return 0;
}

/*
 * A record passed.  The datagram's own skb carries the last record, so a
 * datagram of one record costs no clone; any other gets a clone of its
 * own (of a linear skb: dtls_rx_in_pages() leaves only single records in
 * pages).
 */
static void dtls_rx_pass(struct dtls_rx_op *op, const struct dtls_rec *rec)
{
	struct sk_buff *skb;

	if (rec->end == op->skb->len) {
		op->last_passed = true;
		return;
	}
	skb = skb_clone(op->skb, GFP_ATOMIC);
	if (!skb || dtls_rx_trim(skb, rec)) {
		kfree_skb(skb);
		dtls_stat_inc(op->sk, DTLS_MIB_RX_DROPPED);
		return;
	}
	__skb_queue_tail(&op->passed, skb);
}

static void dtls_rx_verdict(struct dtls_rx_op *op, enum dtls_verdict v)
{
	struct dtls_rec *rec = &op->req.rec;

	op->off = rec->end;
	if (op->peer) {
		rec->peer_id = op->peer->id;
		dtls_peer_verdict(op->rx->peers, op->peer, rec, v,
				  op->by_cid);
		if (rec->flags & DTLS_RECORD_F_MOVED)
			dtls_stat_inc(op->sk, DTLS_MIB_RX_PEER_MOVED);
	}
	if (dtls_verdict_passed(v))
		dtls_rx_pass(op, rec);
	else
		dtls_verdict_report(op->sk, v);
}

/* Every record of the datagram is opened: queue those that passed. */
static void dtls_rx_finish(struct dtls_rx_op *op)
{
	struct sk_buff *skb = op->skb;

	if (!op->last_passed) {
		kfree_skb(skb);
	} else if (dtls_rx_trim(skb, &op->req.rec)) {
		kfree_skb(skb);
		dtls_stat_inc(op->sk, DTLS_MIB_RX_DROPPED);
	} else {
		__skb_queue_tail(&op->passed, skb);
	}
	if (!skb_queue_empty(&op->passed))
		dtls_rx_enqueue(op->sk, op->rx, &op->passed);
	dtls_rx_op_put(op);
}

/*
 * Open the records of op's datagram from op->off on, then queue those
 * that passed.  Returns early while a tag is checked asynchronously;
 * dtls_rx_done() picks up from there.
 */
static void dtls_rx_resume(struct dtls_rx_op *op)
{
	enum dtls_verdict v;

	while (op->off < op->skb->len) {
		v = dtls_rec_open(op->keys, &op->req, op->skb, op->off,
				  op->skb->len);
		if (v == DTLS_PENDING)
			return;
		dtls_rx_verdict(op, v);
	}
	dtls_rx_finish(op);
}

/* AEAD completion, BH off (cryptd disables it around the call). */
static void dtls_rx_done(struct dtls_rx_op *op, int err)
{
	dtls_rx_verdict(op, dtls_rec_opened(op->keys, &op->req.rec, err));
	dtls_rx_resume(op);
}

/*
 * A datagram whose payload lies in page fragments (a NIC's receive buffers,
 * or one cut from a GRO or GSO batch) and is one record is opened where it
 * lies: only the record's header is pulled into the linear part.  Those
 * pages are written, so they must be this skb's alone: not shared with a
 * clone (a packet tap), a splice or a zero-copy sender.  Anything else is
 * copied into one linear buffer first.  Checked before the pull, which
 * would hide that the skb was a clone.
 */
static bool dtls_rx_in_pages(const struct dtls_rx_keys *k,
			     struct sk_buff *skb)
{
	unsigned int hlen;
	u8 first;

	if (!skb_is_nonlinear(skb) || skb_cloned(skb) ||
	    skb_has_frag_list(skb) || skb_has_shared_frag(skb) ||
	    skb_zcopy(skb) || !pskb_may_pull(skb, 1))
		return false;
	first = skb->data[0];
	if (k->version != DTLS_1_3_VERSION) {
		hlen = dtls12_hdr_size(first, k->cid.len);
		if (!pskb_may_pull(skb, hlen + k->desc->explicit_size))
			return false;
		return get_unaligned_be16(skb->data + hlen - 2) ==
		       skb->len - hlen;
	}
	/* DTLS 1.3: a DTLSCiphertext without a length is the whole datagram */
	if ((first & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED ||
	    !dtls13_hdr_cid_ok(first, k->cid.len))
		return false;
	hlen = dtls13_hdr_size(first, k->cid.len);
	if (!pskb_may_pull(skb, hlen))
		return false;
	return !(first & DTLS13_HDR_L) ||
	       get_unaligned_be16(skb->data + hlen - 2) == skb->len - hlen;
}

/*
 * Opening a datagram costs an AEAD per record.  One that arrives while the
 * receive buffer is full would be dropped after that, so drop it before,
 * as UDP itself would, and count it where UDP counts its own (RcvbufErrors
 * and InErrors, the socket's drops): a receiver that falls behind would
 * otherwise spend its CPU on records it then throws away and fall further
 * behind.  @skb is one datagram or a GRO/GSO batch of them.
 */
static bool dtls_rx_drop_if_full(struct sock *sk, struct sk_buff *skb)
{
	unsigned int n = skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
	struct udp_mib __percpu *mib = sock_net(sk)->mib.udp_statistics;

	if (likely(!dtls_rx_full(sk)))
		return false;

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		mib = sock_net(sk)->mib.udp_stats_in6;
#endif
	SNMP_ADD_STATS(mib, UDP_MIB_RCVBUFERRORS, n);
	SNMP_ADD_STATS(mib, UDP_MIB_INERRORS, n);
	dtls_sk_drops_add(sk, n);
	kfree_skb(skb);
	return true;
}

/*
 * The hook, while DTLS_RX opens what UDP queued before it: keep @skb
 * unopened for the drain to open after those (rx->draining).  Returns
 * false once the drain is over.  BH off.
 */
static bool dtls_rx_hold(struct sock *sk, struct dtls_rx *rx,
			 struct sk_buff *skb)
{
	bool draining;

	/* it outlives the RCU section a reference-less route needs */
	skb_dst_drop(skb);
	spin_lock(&rx->queue.lock);
	draining = rx->draining;
	if (draining && rx->held_bytes + skb->truesize <=
			READ_ONCE(sk->sk_rcvbuf)) {
		rx->held_bytes += skb->truesize;
		__skb_queue_tail(&rx->held, skb);
		skb = NULL;
	}
	spin_unlock(&rx->queue.lock);
	if (draining && skb)
		dtls_rx_drop(sk, skb);
	return draining;
}

/*
 * A socket with many peers passes a datagram up whole and unopened when
 * it is for no peer with RX keys, or starts with an epoch-0 record: the
 * handshake of a new client, or one a peer restarts, for userspace.
 */
static void dtls_rx_whole(struct sock *sk, struct dtls_rx *rx,
			  struct sk_buff *skb, u32 peer_id)
{
	struct dtls_skb_cb *cb = dtls_skb_cb(skb);
	struct sk_buff_head list;

	cb->rec_num = 0;
	cb->content_type = 0;
	cb->flags = DTLS_RECORD_F_DATAGRAM;
	cb->peer_id = peer_id;
	__skb_queue_head_init(&list);
	__skb_queue_tail(&list, skb);
	dtls_rx_enqueue(sk, rx, &list);
}

/*
 * The keys that open the datagram's records: the connected peer's, or
 * those of the peer it is for.  NULL: pass it up whole.
 */
static struct dtls_rx_keys *dtls_rx_keys_for(struct sock *sk,
					     struct dtls_rx *rx,
					     struct sk_buff *skb,
					     struct dtls_peer_ctx **peer,
					     bool *by_cid)
{
	struct dtls_rx_keys *k;
	bool whole;

	*peer = NULL;
	if (!rx->peers)
		return rx->keys;
	*peer = dtls_peer_rx_find(rx->peers, skb, by_cid, &whole);
	k = *peer ? dtls_peer_rx_keys(*peer) : NULL;
	if (k && !whole)
		return k;
	dtls_rx_whole(sk, rx, skb, *peer ? (*peer)->id : 0);
	if (*peer)
		dtls_peer_put(*peer);
	return NULL;
}

/*
 * Open and queue the records of one datagram; skb->data is the UDP payload.
 * BH off.  @task: see dtls_rx_op_get().
 */
static void dtls_rx_datagram(struct sock *sk, struct dtls_rx *rx,
			     struct sk_buff *skb, bool task)
{
	struct dtls_peer_ctx *peer;
	struct dtls_rx_keys *k;
	struct dtls_rx_op *op;
	bool by_cid = false;

	if (!task && unlikely(READ_ONCE(rx->draining)) &&
	    dtls_rx_hold(sk, rx, skb))
		return;
	if (dtls_rx_drop_if_full(sk, skb))
		return;
	/* A reader may still hold a peek reference to a datagram from before
	 * DTLS_RX; the records are opened in place, so work on our own copy.
	 */
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		goto drop;
	skb_dst_drop(skb);
	k = dtls_rx_keys_for(sk, rx, skb, &peer, &by_cid);
	if (!k)
		return;
	if (!dtls_rx_in_pages(k, skb) && skb_linearize_cow(skb))
		goto put;

	op = dtls_rx_op_get(sk, rx, k, peer, skb, task);
	if (!op)
		goto put;
	op->by_cid = by_cid;
	dtls_rx_resume(op);
	return;
put:
	if (peer)
		dtls_peer_put(peer);
	kfree_skb(skb);
drop:
	dtls_stat_inc(sk, DTLS_MIB_RX_DROPPED);
}

/*
 * A GRO or GSO batch that UDP queued under UDP_GRO before DTLS_RX, one the
 * reader may not open in place, or one handed to the hook by a kernel that
 * does not cut batches for it: cut it into its datagrams as
 * udp_queue_rcv_skb() would.  (Kernels whose udp_unexpected_gso() refuses
 * non-tunnel batches to an encap_rcv socket, Debian's 6.1 and 6.12 among
 * them, cut them before calling the hook.)  skb->data is the UDP header of
 * the batch.
 */
static void dtls_rx_batch(struct sock *sk, struct dtls_rx *rx,
			  struct sk_buff *skb, bool task)
{
	bool ipv4 = skb->protocol == htons(ETH_P_IP);
	/* the datagrams' pages are then seen by others too (a packet tap) */
	bool shared = skb_cloned(skb) || skb_has_shared_frag(skb);
	struct sk_buff *segs, *next;

	if (dtls_rx_drop_if_full(sk, skb))
		return;
	__skb_push(skb, -skb_mac_offset(skb));
	segs = udp_rcv_segment(sk, skb, ipv4);	/* frees skb on error */
	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		/* so that dtls_rx_in_pages() copies it */
		if (shared && !skb_cloned(skb))
			skb_shinfo(skb)->flags |= SKBFL_SHARED_FRAG;
		__skb_pull(skb, skb_transport_offset(skb) +
			   sizeof(struct udphdr));
		udp_post_segment_fix_csum(skb);
		dtls_rx_datagram(sk, rx, skb, task);
	}
}

/* UDP encap_rcv: called in softirq under RCU, UDP checksum verified. */
static int dtls_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct dtls_context *ctx = dtls_get_ctx_rcu(sk);
	struct dtls_rx *rx = ctx ? rcu_dereference(ctx->rx) : NULL;

	if (unlikely(!rx))
		return 1;	/* queued as UDP */
	if (skb_is_gso(skb)) {
		dtls_rx_batch(sk, rx, skb, false);
		return 0;
	}
	__skb_pull(skb, sizeof(struct udphdr));
	dtls_rx_datagram(sk, rx, skb, false);
	return 0;
}

/*
 * A batch UDP queued whole under UDP_GRO is not what UDP cuts itself
 * (udp_queue_rcv_skb()): pulling the UDP header turned the
 * CHECKSUM_PARTIAL that GRO and a local UDP_SEGMENT send give a batch
 * into CHECKSUM_NONE (its checksum is known good: csum_valid), and
 * skb->dev holds UDP's dev_scratch.  __skb_gso_segment() takes a
 * CHECKSUM_NONE skb on the receive path for a bad offload and warns,
 * reading skb->dev.  Give it back the state UDP cuts it in: the checksum
 * is verified, so PARTIAL over the UDP header (as udp_rcv_segment() does
 * for a looped batch), and no device.  skb->data is the UDP header.
 */
static void dtls_rx_batch_fix(struct sk_buff *skb)
{
	skb->dev = NULL;
	if (skb->ip_summed != CHECKSUM_NONE)
		return;
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct udphdr, check);
}

/*
 * A datagram UDP queued (before DTLS_RX, or one the reader may not open
 * in place), already uncharged and ours: open it as the hook would.
 */
void dtls_rx_raw(struct sock *sk, struct dtls_rx *rx, struct sk_buff *skb)
{
	/* UDP verifies lazily, at recvmsg time; do it as recvmsg would. */
	if (udp_lib_checksum_complete(skb)) {
		dtls_sk_drops_add(sk, 1);
		kfree_skb(skb);
		return;
	}
	local_bh_disable();
	if (skb_is_gso(skb)) {
		/* a batch queued under UDP_GRO; UDP pulled its header */
		__skb_push(skb, sizeof(struct udphdr));
		dtls_rx_batch_fix(skb);
		dtls_rx_batch(sk, rx, skb, true);
	} else {
		dtls_rx_datagram(sk, rx, skb, true);
	}
	local_bh_enable();
}

/*
 * The reader holds @skb, a datagram or batch UDP queued: keep it charged
 * to the socket until its last record is read.  If the protocol's or the
 * cgroup's memory refuses, it is read all the same, uncharged, as UDP's
 * recvmsg() reads a datagram.
 */
void dtls_rx_charge_held(struct sock *sk, struct sk_buff *skb)
{
	spin_lock_bh(&sk->sk_receive_queue.lock);
	dtls_rx_charge(sk, skb, true);
	spin_unlock_bh(&sk->sk_receive_queue.lock);
}

/*
 * The next datagram or batch UDP queued, taken off its queue and out of
 * its accounting: ours.  NULL if there is none.  __skb_recv_udp() takes a
 * pending socket error (an ICMP report) before it looks at the queue:
 * that error is left for recvmsg(), unless a newer one came meanwhile.
 */
struct sk_buff *dtls_rx_take_raw(struct sock *sk)
{
	int off = 0, err, sk_err = 0;
	struct sk_buff *skb;

	for (;;) {
		skb = __skb_recv_udp(sk, MSG_DONTWAIT, &off, &err);
		if (skb || err == -EAGAIN || sk_err)
			break;
		sk_err = -err;
	}
	if (sk_err)
		cmpxchg(&sk->sk_err, 0, sk_err);
	return skb;
}

/*
 * Open what UDP queued before DTLS_RX.  The hook is live and
 * synchronize_net() has let every datagram that missed it reach UDP's
 * queue, so from here on no datagram can enter it unopened.
 */
static void dtls_rx_drain(struct sock *sk, struct dtls_rx *rx)
{
	struct sk_buff *skb;

	while ((skb = dtls_rx_take_raw(sk)))
		dtls_rx_raw(sk, rx, skb);
}

/*
 * End of the drain: open what the hook held meanwhile, in the order it
 * came, round after round until a round finds nothing held; only then may
 * the hook open datagrams itself.  Each round first waits for the records
 * the one before left under an async AEAD, which must not be overtaken.
 */
static void dtls_rx_open_held(struct sock *sk, struct dtls_rx *rx)
{
	struct sk_buff_head list;
	struct sk_buff *skb;

	__skb_queue_head_init(&list);
	for (;;) {
		wait_var_event(&rx->task_pending,
			       !atomic_read(&rx->task_pending));
		spin_lock_bh(&rx->queue.lock);
		skb_queue_splice_init(&rx->held, &list);
		rx->held_bytes = 0;
		if (skb_queue_empty(&list))
			rx->draining = false;
		spin_unlock_bh(&rx->queue.lock);
		if (skb_queue_empty(&list))
			return;
		while ((skb = __skb_dequeue(&list))) {
			local_bh_disable();
			dtls_rx_datagram(sk, rx, skb, true);
			local_bh_enable();
		}
	}
}

/*
 * Install @rx on the socket, with @ops from dtls_sock_ops(): from here on
 * recvmsg(), poll() and FIONREAD read rx->queue.  lock_sock held.
 */
void dtls_rx_install(struct sock *sk, struct dtls_context *ctx,
		     struct dtls_rx *rx, const struct proto_ops *ops)
{
	struct udp_sock *up = udp_sk(sk);

	rx->draining = true;
	rcu_assign_pointer(ctx->rx, rx);
	dtls_update_proto(sk, ctx);
	dtls_swap_ops(sk, ctx, ops);
	WRITE_ONCE(up->encap_rcv, dtls_encap_recv);
	WRITE_ONCE(up->encap_type, DTLS_UDP_ENCAP_TYPE);
	udp_tunnel_encap_enable(sk);

	synchronize_net();
	dtls_rx_drain(sk, rx);
	dtls_rx_open_held(sk, rx);
}

void dtls_rx_uninstall(struct sock *sk)
{
	struct udp_sock *up = udp_sk(sk);

	WRITE_ONCE(up->encap_type, 0);
	WRITE_ONCE(up->encap_rcv, NULL);
}

/*
 * close(), before UDP's: free the records queued and the datagram the
 * reader holds, before the socket is destroyed.  Records of datagrams
 * still being opened are dropped when they come (dtls_rx_enqueue()).
 */
void dtls_rx_close(struct sock *sk, struct dtls_rx *rx)
{
	struct sk_buff_head list;

	dtls_reader_release(sk, rx);
	__skb_queue_head_init(&list);
	spin_lock_bh(&rx->queue.lock);
	rx->closed = true;
	skb_queue_splice_init(&rx->queue, &list);
	spin_unlock_bh(&rx->queue.lock);
	__skb_queue_purge(&list);
}

static struct dtls_rx_epoch *
dtls_rx_epoch_create(const struct dtls_cipher_desc *desc,
		     const union dtls_crypto_info_all *info, u32 window)
{
	struct dtls_rx_epoch *e;
	int err;

	e = kzalloc(sizeof(*e), DTLS_GFP_SOCK);
	if (!e)
		return ERR_PTR(-ENOMEM);
	err = dtls_crypto_init(&e->crypto, desc, info);
	if (err)
		goto err_free;
	err = dtls_replay_init(&e->replay, window,
			       dtls_info_rec_num(desc, info) & DTLS_SEQ_MAX);
	if (err)
		goto err_crypto;
	return e;

err_crypto:
	dtls_crypto_free(&e->crypto);
err_free:
	kfree(e);
	return ERR_PTR(err);
}

static void dtls_rx_epoch_free(struct dtls_rx_epoch *e)
{
	if (!e)
		return;
	dtls_crypto_free(&e->crypto);
	dtls_replay_free(&e->replay);
	kfree(e);
}

/* RX keys for @info, with a replay window of @window records. */
struct dtls_rx_keys *dtls_rx_keys_create(const struct dtls_cipher_desc *desc,
					 const union dtls_crypto_info_all *info,
					 u32 window, const struct dtls_cid *cid)
{
	struct dtls_rx_epoch *e;
	struct dtls_rx_keys *k;

	k = kzalloc(sizeof(*k), DTLS_GFP_SOCK);
	if (!k)
		return ERR_PTR(-ENOMEM);
	e = dtls_rx_epoch_create(desc, info, window);
	if (IS_ERR(e)) {
		kfree(k);
		return ERR_CAST(e);
	}
	k->desc = desc;
	k->version = info->info.version;
	k->reqsize = crypto_aead_reqsize(e->crypto.aead);
	k->window = window;
	k->forged_limit = desc->forged_limit;
	k->epoch = e->crypto.epoch;
	k->cid = *cid;
	RCU_INIT_POINTER(k->ep[k->epoch % DTLS_RX_EPOCHS], e);
	return k;
}

/* Once no record can be opened with @k any more */
void dtls_rx_keys_free(struct dtls_rx_keys *k)
{
	int i;

	if (!k)
		return;
	for (i = 0; i < DTLS_RX_EPOCHS; i++)
		dtls_rx_epoch_free(rcu_dereference_protected(k->ep[i], true));
	kfree(k);
}

/* The receive side of a connected socket with @keys, or of one with @peers */
struct dtls_rx *dtls_rx_create(struct dtls_rx_keys *keys,
			       struct dtls_peers *peers)
{
	struct dtls_rx *rx;

	rx = kzalloc(sizeof(*rx), DTLS_GFP_SOCK);
	if (!rx)
		return ERR_PTR(-ENOMEM);
	skb_queue_head_init(&rx->queue);
	__skb_queue_head_init(&rx->held);
	rx->keys = keys;
	rx->peers = peers;
	return rx;
}

/*
 * DTLS 1.3: a second DTLS_RX installs the next epoch's keys, ahead of the
 * peer's first record in it (userspace installs them before it
 * acknowledges the peer's KeyUpdate, after which the peer may use them),
 * or, once, the previous epoch's, if nothing has held its slot yet.
 * The slot they take held the epoch four back, which no record can reach
 * any more: once no lookup can still hold it and the records being opened
 * with it are done, it is freed.  Under the socket lock.
 */
int dtls_rx_rekey(struct dtls_rx_keys *k, const struct dtls_cipher_desc *desc,
		  const union dtls_crypto_info_all *info)
{
	u32 epoch = dtls_info_rec_num(desc, info) >> DTLS_SEQ_BITS;
	u32 cur = READ_ONCE(k->epoch);
	struct dtls_rx_epoch *e, *old;

	if (info->info.version != DTLS_1_3_VERSION || desc != k->desc ||
	    (epoch != cur + 1 && epoch + 1 != cur))
		return -EINVAL;
	old = rcu_dereference_protected(k->ep[epoch % DTLS_RX_EPOCHS], true);
	if (old && old->crypto.epoch == epoch)
		return -EBUSY;
	/*
	 * The epoch before the current one only into an empty slot: the
	 * handshake's keys, added after the first application keys for a
	 * final flight the peer resends because our ACK of it was lost.
	 */
	if (epoch + 1 == cur && old)
		return -EINVAL;
	e = dtls_rx_epoch_create(desc, info, k->window);
	if (IS_ERR(e))
		return PTR_ERR(e);
	/* the slot's request room was sized for the first transform */
	if (crypto_aead_reqsize(e->crypto.aead) > k->reqsize) {
		dtls_rx_epoch_free(e);
		return -EINVAL;
	}

	if (old)
		WRITE_ONCE(old->retired, true);
	rcu_assign_pointer(k->ep[epoch % DTLS_RX_EPOCHS], e);
	if (old) {
		synchronize_rcu();
		wait_var_event(&old->inflight, !atomic_read(&old->inflight));
		dtls_rx_epoch_free(old);
	}
	return 0;
}

/* DTLS 1.3: a record opened with @e is done with it. */
void dtls_rx_epoch_put(struct dtls_rx_epoch *e)
{
	if (atomic_dec_and_test(&e->inflight) && READ_ONCE(e->retired))
		wake_up_var(&e->inflight);
}

/*
 * After close and a grace period, or for RX state never installed: the
 * hook can start no more datagrams.
 */
void dtls_rx_destroy(struct dtls_rx *rx)
{
	wait_var_event(&rx->pending, !atomic_read(&rx->pending));
	dtls_reader_free(rx->reader);
	dtls_rx_keys_free(rx->keys);
	kfree(rx);
}
