// SPDX-License-Identifier: GPL-2.0
/*
 * Receive.
 *
 * Records are checked and opened as their datagram arrives, from UDP's
 * encapsulation hook in softirq, so only authentic plaintext ever sits in
 * the socket's receive queue: poll(), FIONREAD and the receive buffer
 * accounting stay UDP's own and stay exact.  Each record becomes its own
 * skb (a clone sharing the datagram's buffer) whose data is the plaintext;
 * its content type and record number ride in skb->cb behind UDP's part.
 * A socket with UDP_GRO leaves this hook and opens records in its reader
 * instead (reader.c), which reuses the checks and the delivery below.
 */

#include <crypto/aead.h>
#include <linux/slab.h>
#include <net/inet_common.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/transp_v6.h>
#include <net/udp_tunnel.h>

#include "dtls.h"

/* Only our own encap_rcv reads encap_type; any nonzero value serves. */
#define DTLS_UDP_ENCAP_TYPE	100

/*
 * Softirq opens one datagram at a time on each CPU, so one slot of
 * DTLS_RX_SLOT_SIZE per CPU serves every socket.  A datagram allocates its
 * own only while the slot waits for an asynchronous completion, or if a
 * transform's request does not fit.
 */
struct dtls_rx_slot {
	bool busy;
	u8 op[DTLS_RX_SLOT_SIZE] __aligned(CRYPTO_MINALIGN);
};

static struct dtls_rx_slot __percpu *dtls_rx_slots;

int dtls_rx_init(void)
{
	dtls_rx_slots = alloc_percpu(struct dtls_rx_slot);
	return dtls_rx_slots ? 0 : -ENOMEM;
}

void dtls_rx_exit(void)
{
	free_percpu(dtls_rx_slots);
}

static void dtls_rx_done(struct dtls_rx_op *op, int err);
DTLS_CRYPTO_CALLBACK(dtls_rx_done);

/* BH off.  @task: started by a task (the drain of DTLS_RX, or recvmsg). */
static struct dtls_rx_op *dtls_rx_op_get(struct sock *sk, struct dtls_rx *rx,
					 struct sk_buff *skb, bool task)
{
	struct dtls_rx_slot *slot = this_cpu_ptr(dtls_rx_slots);
	unsigned int size = dtls_rx_op_size(rx);
	struct dtls_rx_op *op;

	/*
	 * A callback may run after the softirq: hold what it uses.  UDP finds
	 * the socket under RCU without taking a reference, so close() may
	 * already have dropped the last one: such a socket gets nothing more.
	 */
	if (!refcount_inc_not_zero(&sk->sk_refcnt))
		return NULL;

	/* Pairs with the release in dtls_rx_op_put(), maybe on another CPU */
	if (size <= sizeof(slot->op) && !smp_load_acquire(&slot->busy)) {
		WRITE_ONCE(slot->busy, true);
		op = (struct dtls_rx_op *)slot->op;
	} else {
		op = kmalloc(size, GFP_ATOMIC);
		if (!op) {
			sock_put(sk);
			return NULL;
		}
		slot = NULL;
	}

	atomic_inc(&rx->pending);
	if (task)
		atomic_inc(&rx->task_pending);

	op->sk = sk;
	op->rx = rx;
	op->skb = skb;
	op->slot = slot;
	op->off = 0;
	op->n = 0;
	op->task = task;
	op->done = dtls_rx_done_cb;
	op->done_data = op;
	return op;
}

static void dtls_rx_op_put(struct dtls_rx_op *op)
{
	struct dtls_rx *rx = op->rx;
	struct sock *sk = op->sk;
	bool task = op->task;

	if (op->slot) {
		/* Done with the slot: pairs with dtls_rx_op_get()'s acquire */
		smp_store_release(&op->slot->busy, false);
	} else {
		kfree_sensitive(op);
	}

	sock_put(sk);
	/* The waiters free rx; nothing here may touch it afterwards. */
	if (task && atomic_dec_and_test(&rx->task_pending))
		wake_up_var(&rx->task_pending);
	if (atomic_dec_and_test(&rx->pending))
		wake_up_var(&rx->pending);
}

static int dtls_rx_decrypt(struct dtls_rx_op *op, const struct dtls_crypto *c,
			   u8 *rec, unsigned int ptlen)
{
	const struct dtls_cipher_desc *desc = c->desc;
	struct aead_request *req = dtls_rx_op_req(op);
	unsigned int body = rec - op->skb->data + DTLS_HEADER_SIZE +
			    desc->explicit_size;
	int nsg;

	dtls_make_iv(c, rec + DTLS_HDR_EPOCH, rec + DTLS_HEADER_SIZE, op->iv);
	dtls_make_aad(op->aad, rec + DTLS_HDR_EPOCH, rec[DTLS_HDR_TYPE], ptlen);
	/* All of it: an end mark left by the last record would stay put. */
	sg_init_table(op->sg, ARRAY_SIZE(op->sg));
	sg_set_buf(&op->sg[0], op->aad, DTLS_AAD_SIZE);
	/* dtls_rx_in_pages() made sure that the pieces fit */
	nsg = skb_to_sgvec(op->skb, &op->sg[1], body, ptlen + desc->tag_size);
	if (unlikely(nsg < 0))
		return nsg;

	/*
	 * Set up the whole request for every record: cryptd leaves its own
	 * inner transform and callback in a request it completed.  No
	 * backlog: under overload a datagram is dropped, not queued.
	 */
	aead_request_set_tfm(req, c->aead);
	aead_request_set_callback(req, 0, op->done, op->done_data);
	aead_request_set_ad(req, DTLS_AAD_SIZE);
	aead_request_set_crypt(req, op->sg, op->sg, ptlen + desc->tag_size,
			       op->iv);
	op->rec = rec;
	return crypto_aead_decrypt(req);
}

/* Epoch 0 carries the peer's handshake flight in the clear. */
static enum dtls_mib_field dtls_rx_check_plaintext(u8 type, u16 version,
						   unsigned int len)
{
	if (version != DTLS_1_2_VERSION && version != DTLS_1_0_VERSION)
		return DTLS_MIB_RX_BAD_VERSION;
	if (type == DTLS_RECORD_TYPE_APPLICATION_DATA ||
	    len > DTLS_MAX_PLAINTEXT)
		return DTLS_MIB_RX_MALFORMED;
	return DTLS_MIB_RX_PLAINTEXT;
}

/*
 * The checks on one record's header that need no key.  Returns
 * DTLS_RX_DECRYPT for a protected record of the current epoch that the AEAD
 * should open, otherwise the counter that tells what happened:
 * DTLS_MIB_RX_PLAINTEXT for an epoch-0 record to deliver as it is, the
 * reason for dropping it otherwise.  @len: the header's length field, which
 * the caller checked against the datagram.
 */
enum dtls_mib_field dtls_rx_check(struct dtls_rx *rx, const u8 *rec,
				  unsigned int len)
{
	const struct dtls_cipher_desc *desc = rx->crypto.desc;
	unsigned int overhead = desc->explicit_size + desc->tag_size;
	u16 version = get_unaligned_be16(rec + DTLS_HDR_VERSION);
	u16 epoch = get_unaligned_be16(rec + DTLS_HDR_EPOCH);
	u64 seq = get_unaligned_be64(rec + DTLS_HDR_EPOCH) & DTLS_SEQ_MAX;
	u8 type = rec[DTLS_HDR_TYPE];

	if (!dtls_content_type_valid(type))
		return DTLS_MIB_RX_MALFORMED;
	if (!epoch)
		return dtls_rx_check_plaintext(type, version, len);
	if (version != DTLS_1_2_VERSION)
		return DTLS_MIB_RX_BAD_VERSION;
	if (epoch != rx->crypto.epoch)
		return DTLS_MIB_RX_UNKNOWN_EPOCH;
	if (len < overhead || len - overhead > DTLS_MAX_PLAINTEXT)
		return DTLS_MIB_RX_MALFORMED;
	/* Cheap early drop; the window itself moves only after the tag. */
	if (!dtls_replay_check(&rx->replay, seq))
		return DTLS_MIB_RX_REPLAY;
	return DTLS_RX_DECRYPT;
}

/*
 * Check one record and start opening it in place with @op's request.
 * Returns the counter that tells what happened: DTLS_MIB_RX_RECORDS or
 * DTLS_MIB_RX_PLAINTEXT if it is to be delivered, the reason for dropping
 * it otherwise, or DTLS_RX_PENDING if the request's callback will tell.
 */
enum dtls_mib_field dtls_rx_open(struct dtls_rx *rx, struct dtls_rx_op *op,
				 u8 *rec, unsigned int len)
{
	const struct dtls_cipher_desc *desc = rx->crypto.desc;
	enum dtls_mib_field verdict = dtls_rx_check(rx, rec, len);
	int err;

	if (verdict != DTLS_RX_DECRYPT)
		return verdict;
	err = dtls_rx_decrypt(op, &rx->crypto, rec,
			      len - desc->explicit_size - desc->tag_size);
	if (err == -EINPROGRESS)
		return DTLS_RX_PENDING;
	return dtls_rx_opened(rx, rec, err);
}

/* The verdict on a protected record once the AEAD is done with it. */
enum dtls_mib_field dtls_rx_opened(struct dtls_rx *rx, const u8 *rec, int err)
{
	u64 seq = get_unaligned_be64(rec + DTLS_HDR_EPOCH) & DTLS_SEQ_MAX;

	if (err)
		return err == -EBADMSG ? DTLS_MIB_RX_DECRYPT_ERROR :
					 DTLS_MIB_RX_DROPPED;
	if (!dtls_replay_update(&rx->replay, seq))
		return DTLS_MIB_RX_REPLAY;
	return DTLS_MIB_RX_RECORDS;
}

/*
 * Step to the next record of a datagram.  Returns it with its body length
 * in *len, or NULL at the end of the datagram or at a header that does not
 * fit (then *bad is set): nothing after such a header can be framed.
 */
u8 *dtls_next_record(struct sk_buff *skb, unsigned int *off, unsigned int *len,
		     bool *bad)
{
	unsigned int avail = skb->len - *off;
	u8 *rec = skb->data + *off;

	*bad = false;
	if (!avail)
		return NULL;
	if (avail < DTLS_HEADER_SIZE ||
	    get_unaligned_be16(rec + DTLS_HDR_LENGTH) >
	    avail - DTLS_HEADER_SIZE) {
		*bad = true;
		return NULL;
	}
	*len = get_unaligned_be16(rec + DTLS_HDR_LENGTH);
	*off += DTLS_HEADER_SIZE + *len;
	return rec;
}

static void dtls_rx_enqueue(struct sock *sk, struct sk_buff *skb)
{
	bool protected = dtls_skb_cb(skb)->flags & DTLS_RECORD_F_PROTECTED;

	if (__udp_enqueue_schedule_skb(sk, skb) < 0) {
		kfree_skb(skb);
		dtls_stat_inc(sk, DTLS_MIB_RX_DROPPED);
		return;
	}
	dtls_stat_inc(sk, protected ? DTLS_MIB_RX_RECORDS :
				      DTLS_MIB_RX_PLAINTEXT);
}

/* From the hook during the drain of dtls_rx_install(): keep @skb back. */
static bool dtls_rx_hold(struct dtls_rx *rx, struct sk_buff *skb)
{
	bool held = false;

	spin_lock(&rx->held.lock);
	if (rx->draining) {
		__skb_queue_tail(&rx->held, skb);
		held = true;
	}
	spin_unlock(&rx->held.lock);
	return held;
}

/* Trim @skb to the plaintext of @rec and put it on the socket's queue. */
static void dtls_rx_queue(struct dtls_rx_op *op, struct sk_buff *skb,
			  const u8 *rec, unsigned int len)
{
	const struct dtls_cipher_desc *desc = op->rx->crypto.desc;
	struct dtls_skb_cb *cb = dtls_skb_cb(skb);
	u64 rec_num = get_unaligned_be64(rec + DTLS_HDR_EPOCH);
	bool protected = rec_num >> DTLS_SEQ_BITS;
	unsigned int start = rec - skb->data + DTLS_HEADER_SIZE;

	if (protected) {
		start += desc->explicit_size;
		len -= desc->explicit_size + desc->tag_size;
	}
	cb->rec_num = rec_num;
	cb->content_type = rec[DTLS_HDR_TYPE];
	cb->flags = protected ? DTLS_RECORD_F_PROTECTED : 0;
	/* The header is linear; the tag may be in a page fragment. */
	__skb_pull(skb, start);
	if (unlikely(pskb_trim(skb, len))) {
		kfree_skb(skb);
		dtls_stat_inc(op->sk, DTLS_MIB_RX_DROPPED);
		return;
	}
	/* UDP's checksum was verified before the record was opened. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;

	/* The drain itself runs in a task; its records go first. */
	if (unlikely(READ_ONCE(op->rx->draining)) && !op->task &&
	    dtls_rx_hold(op->rx, skb))
		return;
	dtls_rx_enqueue(op->sk, skb);
}

/*
 * Queue the op->n records that passed.  All but the last go out as clones;
 * the datagram's own skb carries the last one.  Cloning only after every
 * record was opened keeps the shared buffer unwritten once shared.
 */
static void dtls_rx_deliver(struct dtls_rx_op *op)
{
	struct sk_buff *rskb, *skb = op->skb;
	unsigned int off = 0, len, n = op->n;
	bool bad;
	u8 *rec;

	while ((rec = dtls_next_record(skb, &off, &len, &bad))) {
		if (!rec[DTLS_HDR_TYPE])
			continue;
		if (!--n) {
			dtls_rx_queue(op, skb, rec, len);
			return;		/* skb belongs to the queue now */
		}
		rskb = skb_clone(skb, GFP_ATOMIC);
		if (!rskb) {
			dtls_stat_inc(op->sk, DTLS_MIB_RX_DROPPED);
			continue;
		}
		dtls_rx_queue(op, rskb, rec, len);
	}
	kfree_skb(skb);
}

/*
 * Count @rec's verdict.  A rejected record gets content type 0, which no
 * valid record has, so that dtls_rx_deliver() skips it.
 */
static void dtls_rx_verdict(struct dtls_rx_op *op, u8 *rec,
			    enum dtls_mib_field verdict)
{
	if (verdict == DTLS_MIB_RX_RECORDS || verdict == DTLS_MIB_RX_PLAINTEXT) {
		op->n++;
	} else {
		dtls_stat_inc(op->sk, verdict);
		rec[DTLS_HDR_TYPE] = 0;
	}
}

/*
 * Open the records of op's datagram from op->off on, then deliver those
 * that passed.  Returns early while a tag is checked asynchronously;
 * dtls_rx_done() picks up from there.
 */
static void dtls_rx_resume(struct dtls_rx_op *op)
{
	enum dtls_mib_field verdict;
	unsigned int len;
	bool bad;
	u8 *rec;

	while ((rec = dtls_next_record(op->skb, &op->off, &len, &bad))) {
		verdict = dtls_rx_open(op->rx, op, rec, len);
		if (verdict == DTLS_RX_PENDING)
			return;
		dtls_rx_verdict(op, rec, verdict);
	}
	if (bad)
		dtls_stat_inc(op->sk, DTLS_MIB_RX_MALFORMED);

	if (op->n)
		dtls_rx_deliver(op);
	else
		kfree_skb(op->skb);
	dtls_rx_op_put(op);
}

/* AEAD completion, BH off (cryptd disables it around the call). */
static void dtls_rx_done(struct dtls_rx_op *op, int err)
{
	dtls_rx_verdict(op, op->rec, dtls_rx_opened(op->rx, op->rec, err));
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
static bool dtls_rx_in_pages(const struct dtls_rx *rx, struct sk_buff *skb)
{
	unsigned int hlen = DTLS_HEADER_SIZE + rx->crypto.desc->explicit_size;

	if (!skb_is_nonlinear(skb) || skb_cloned(skb) ||
	    skb_has_frag_list(skb) || skb_has_shared_frag(skb) ||
	    skb_zcopy(skb) || skb_shinfo(skb)->nr_frags > DTLS_RX_SG - 2)
		return false;
	if (!pskb_may_pull(skb, hlen))
		return false;
	return get_unaligned_be16(skb->data + DTLS_HDR_LENGTH) ==
	       skb->len - DTLS_HEADER_SIZE;
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

	if (likely(atomic_read(&sk->sk_rmem_alloc) <=
		   READ_ONCE(sk->sk_rcvbuf)))
		return false;

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		mib = sock_net(sk)->mib.udp_stats_in6;
#endif
	SNMP_ADD_STATS(mib, UDP_MIB_RCVBUFERRORS, n);
	SNMP_ADD_STATS(mib, UDP_MIB_INERRORS, n);
	atomic_add(n, &sk->sk_drops);
	kfree_skb(skb);
	return true;
}

/*
 * Open and queue the records of one datagram; skb->data is the UDP payload.
 * BH off.  @task: see dtls_rx_op_get().
 */
static void dtls_rx_datagram(struct sock *sk, struct dtls_rx *rx,
			     struct sk_buff *skb, bool task)
{
	struct dtls_rx_op *op;

	if (dtls_rx_drop_if_full(sk, skb))
		return;
	/* A reader may still hold a peek reference to a datagram from before
	 * DTLS_RX; the records are opened in place, so work on our own copy.
	 */
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		goto drop;
	skb_dst_drop(skb);
	if (!dtls_rx_in_pages(rx, skb) && skb_linearize_cow(skb))
		goto free;

	op = dtls_rx_op_get(sk, rx, skb, task);
	if (!op)
		goto free;
	dtls_rx_resume(op);
	return;
free:
	kfree_skb(skb);
drop:
	dtls_stat_inc(sk, DTLS_MIB_RX_DROPPED);
}

/*
 * A GRO or GSO batch that UDP queued under UDP_GRO before DTLS_RX, or one
 * handed to the hook by a kernel that does not cut batches for it: cut it
 * into its datagrams as udp_queue_rcv_skb() would.  (Kernels whose
 * udp_unexpected_gso() refuses non-tunnel batches to an encap_rcv socket,
 * Debian's 6.1 and 6.12 among them, cut them before calling the hook.)
 * skb->data is the UDP header of the batch.
 */
static void dtls_rx_batch(struct sock *sk, struct dtls_rx *rx,
			  struct sk_buff *skb, bool task)
{
	bool ipv4 = skb->protocol == htons(ETH_P_IP);
	struct sk_buff *segs, *next;

	if (dtls_rx_drop_if_full(sk, skb))
		return;
	__skb_push(skb, -skb_mac_offset(skb));
	segs = udp_rcv_segment(sk, skb, ipv4);	/* frees skb on error */
	skb_list_walk_safe(segs, skb, next) {
		skb_mark_not_on_list(skb);
		__skb_pull(skb, skb_transport_offset(skb) +
			   sizeof(struct udphdr));
		udp_post_segment_fix_csum(skb);
		dtls_rx_datagram(sk, rx, skb, task);
	}
}

/*
 * For measuring where decryption should run (see "Cryptography and where it
 * runs" in dtls.rst): leave every datagram on UDP's queue and open it in
 * the reader's recvmsg(), by the path that opens the datagrams queued
 * before DTLS_RX.  poll() and FIONREAD then count datagrams that may turn
 * out to be forged, so this is for benchmarks only.
 */
static bool rx_in_reader;
module_param(rx_in_reader, bool, 0444);
MODULE_PARM_DESC(rx_in_reader,
		 "Decrypt in the reader's recvmsg(), not on arrival (benchmarks only: poll() is no longer exact)");

/* UDP encap_rcv: called in softirq under RCU, UDP checksum verified. */
static int dtls_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct dtls_context *ctx = dtls_get_ctx_rcu(sk);
	struct dtls_rx *rx = ctx ? rcu_dereference(ctx->rx) : NULL;

	if (unlikely(!rx) || rx_in_reader)
		return 1;	/* queued as UDP */
	if (skb_is_gso(skb)) {
		dtls_rx_batch(sk, rx, skb, false);
		return 0;
	}
	__skb_pull(skb, sizeof(struct udphdr));
	dtls_rx_datagram(sk, rx, skb, false);
	return 0;
}

/* A datagram UDP queued before DTLS_RX, already uncharged and ours. */
void dtls_rx_raw(struct sock *sk, struct dtls_rx *rx, struct sk_buff *skb)
{
	/* UDP verifies lazily, at recvmsg time; do it as recvmsg would. */
	if (udp_lib_checksum_complete(skb)) {
		atomic_inc(&sk->sk_drops);
		kfree_skb(skb);
		return;
	}
	local_bh_disable();
	if (skb_is_gso(skb)) {
		/* a batch queued under UDP_GRO; UDP pulled its header */
		__skb_push(skb, sizeof(struct udphdr));
		dtls_rx_batch(sk, rx, skb, true);
	} else {
		dtls_rx_datagram(sk, rx, skb, true);
	}
	local_bh_enable();
}

/*
 * Open what UDP queued before DTLS_RX.  The hook is live and
 * synchronize_net() has let every datagram that missed it reach the queue,
 * so from here on no datagram can enter it unopened.
 */
static void dtls_rx_drain(struct sock *sk, struct dtls_rx *rx)
{
	struct sk_buff_head *rq = &udp_sk(sk)->reader_queue;
	struct sk_buff *skb, *tmp;
	struct sk_buff_head raw;

	__skb_queue_head_init(&raw);
	spin_lock_bh(&rq->lock);
	spin_lock(&sk->sk_receive_queue.lock);
	skb_queue_splice_tail_init(&sk->sk_receive_queue, rq);
	spin_unlock(&sk->sk_receive_queue.lock);
	skb_queue_walk_safe(rq, skb, tmp) {
		if (!dtls_skb_is_record(skb)) {
			__skb_unlink(skb, rq);
			__skb_queue_tail(&raw, skb);
		}
	}
	spin_unlock_bh(&rq->lock);

	while ((skb = __skb_dequeue(&raw))) {
		/* give back its rcvbuf charge; UDP takes the lock BH-off */
		local_bh_disable();
		udp_skb_destructor(sk, skb);
		local_bh_enable();
		dtls_rx_raw(sk, rx, skb);
	}
	/* Records still under an async AEAD must not be overtaken either. */
	wait_var_event(&rx->task_pending, !atomic_read(&rx->task_pending));
}

/* End of the drain: queue what arrived meanwhile, behind the older data. */
static void dtls_rx_release_held(struct sock *sk, struct dtls_rx *rx)
{
	struct sk_buff *skb;

	spin_lock_bh(&rx->held.lock);
	while ((skb = __skb_dequeue(&rx->held)))
		dtls_rx_enqueue(sk, skb);
	WRITE_ONCE(rx->draining, false);
	spin_unlock_bh(&rx->held.lock);
}

void dtls_rx_install(struct sock *sk, struct dtls_context *ctx,
		     struct dtls_rx *rx)
{
	struct udp_sock *up = udp_sk(sk);

	skb_queue_head_init(&rx->held);
	rx->draining = true;
	rcu_assign_pointer(ctx->rx, rx);
	dtls_update_proto(sk, ctx);
	WRITE_ONCE(up->encap_rcv, dtls_encap_recv);
	WRITE_ONCE(up->encap_type, DTLS_UDP_ENCAP_TYPE);
	udp_tunnel_encap_enable(sk);

	synchronize_net();
	dtls_rx_drain(sk, rx);
	dtls_rx_release_held(sk, rx);
}

void dtls_rx_uninstall(struct sock *sk)
{
	struct udp_sock *up = udp_sk(sk);

	WRITE_ONCE(up->encap_type, 0);
	WRITE_ONCE(up->encap_rcv, NULL);
}

/* RX state for @info, with a replay window of @window records. */
struct dtls_rx *dtls_rx_create(const struct dtls_cipher_desc *desc,
			       const union dtls_crypto_info_all *info,
			       u32 window)
{
	struct dtls_rx *rx;
	int err;

	rx = kzalloc(sizeof(*rx), DTLS_GFP_SOCK);
	if (!rx)
		return ERR_PTR(-ENOMEM);
	err = dtls_crypto_init(&rx->crypto, desc, info);
	if (err)
		goto err_free;
	err = dtls_replay_init(&rx->replay, window,
			       dtls_info_rec_num(desc, info) & DTLS_SEQ_MAX);
	if (err)
		goto err_crypto;
	return rx;

err_crypto:
	dtls_crypto_free(&rx->crypto);
err_free:
	kfree(rx);
	return ERR_PTR(err);
}

/*
 * After close and a grace period, or for RX state never installed: the
 * hook can start no more datagrams.
 */
void dtls_rx_destroy(struct dtls_rx *rx)
{
	wait_var_event(&rx->pending, !atomic_read(&rx->pending));
	dtls_reader_free(rx->reader);
	dtls_crypto_free(&rx->crypto);
	dtls_replay_free(&rx->replay);
	kfree(rx);
}

/*
 * Take a skb we peeked at off the reader queue, unless another reader took
 * it first.  On success the caller owns the one remaining reference.
 */
static bool dtls_take_peeked(struct sock *sk, struct sk_buff *skb)
{
	struct sk_buff_head *rq = &udp_sk(sk)->reader_queue;
	bool taken = false;

	spin_lock_bh(&rq->lock);
	if (skb->next) {
		__skb_unlink(skb, rq);
		refcount_dec(&skb->users);
		udp_skb_destructor(sk, skb);
		taken = true;
	}
	spin_unlock_bh(&rq->lock);
	return taken;
}

void dtls_recv_addr(struct sock *sk, struct msghdr *msg, struct sk_buff *skb,
		    int *addr_len, int off)
{
	bool is_v4 = skb->protocol == htons(ETH_P_IP);

	if (sk->sk_family == AF_INET) {
		DECLARE_SOCKADDR(struct sockaddr_in *, sin, msg->msg_name);

		if (sin) {
			sin->sin_family = AF_INET;
			sin->sin_port = udp_hdr(skb)->source;
			sin->sin_addr.s_addr = ip_hdr(skb)->saddr;
			memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
			*addr_len = sizeof(*sin);
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
		*addr_len = sizeof(*sin6);
	}

	if (is_v4) {
		if (inet_cmsg_flags(inet_sk(sk)))
			ip_cmsg_recv_offset(msg, sk, skb,
					    sizeof(struct udphdr), off);
	} else if (inet6_sk(sk)->rxopt.all) {
		ip6_datagram_recv_ctl(sk, msg, skb);
	}
}

static bool dtls_skb_is_app_data(struct sk_buff *skb)
{
	struct dtls_skb_cb *cb = dtls_skb_cb(skb);

	return cb->content_type == DTLS_RECORD_TYPE_APPLICATION_DATA &&
	       (cb->flags & DTLS_RECORD_F_PROTECTED);
}

static int dtls_put_record_info(struct msghdr *msg, struct sk_buff *skb)
{
	struct dtls_skb_cb *cb = dtls_skb_cb(skb);
	struct dtls_record_info info = {
		.rec_num = cb->rec_num,
		.content_type = cb->content_type,
		.flags = cb->flags,
	};

	return put_cmsg(msg, SOL_DTLS, DTLS_GET_RECORD_TYPE, sizeof(info),
			&info);
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

/* UDP_GRO: see DTLS_RX_GRO_MAX */

bool dtls_same_sender(const struct sk_buff *a, const struct sk_buff *b)
{
	if (a->protocol != b->protocol || a->skb_iif != b->skb_iif ||
	    udp_hdr(a)->source != udp_hdr(b)->source)
		return false;
	if (a->protocol == htons(ETH_P_IP))
		return ip_hdr(a)->saddr == ip_hdr(b)->saddr;
	return ipv6_addr_equal(&ipv6_hdr(a)->saddr, &ipv6_hdr(b)->saddr);
}

/*
 * Take the record queued next if it may follow @first in the message:
 * see DTLS_RX_GRO_MAX.  @space: what is left of the caller's buffer.
 */
static struct sk_buff *dtls_recv_follower(struct sock *sk,
					  const struct sk_buff *first,
					  size_t space)
{
	struct sk_buff_head *rq = &udp_sk(sk)->reader_queue;
	struct sk_buff *skb;

	spin_lock_bh(&rq->lock);
	if (skb_queue_empty(rq)) {
		/* as __skb_recv_udp() refills it */
		spin_lock(&sk->sk_receive_queue.lock);
		skb_queue_splice_tail_init(&sk->sk_receive_queue, rq);
		spin_unlock(&sk->sk_receive_queue.lock);
	}
	skb = skb_peek(rq);
	if (skb && dtls_skb_is_record(skb) && dtls_skb_is_app_data(skb) &&
	    skb->len && skb->len <= min_t(size_t, first->len, space) &&
	    dtls_same_sender(first, skb)) {
		__skb_unlink(skb, rq);
		udp_skb_destructor(sk, skb);
	} else {
		skb = NULL;
	}
	spin_unlock_bh(&rq->lock);
	return skb;
}

/*
 * Copy the records that may follow @first (already copied, whole) into
 * @msg.  Returns the bytes copied or an error; *nrec counts the records
 * copied, @first included (on error, the one that failed is counted as
 * dropped here).
 */
static int dtls_recv_followers(struct sock *sk, const struct sk_buff *first,
			       struct msghdr *msg, size_t space,
			       unsigned int *nrec)
{
	unsigned int seg = first->len, copied = 0;
	struct sk_buff *skb;
	int err;

	while (*nrec < DTLS_RX_GRO_MAX &&
	       (skb = dtls_recv_follower(sk, first, space - copied))) {
		unsigned int len = skb->len;

		err = skb_copy_datagram_msg(skb, 0, msg, len);
		if (unlikely(err)) {
			atomic_inc(&sk->sk_drops);
			kfree_skb(skb);
			return err;
		}
		skb_consume_udp(sk, skb, len);
		copied += len;
		++*nrec;
		if (len < seg)
			break;		/* a shorter record ends the batch */
	}
	return copied;
}

static bool dtls_recv_may_coalesce(struct sock *sk, struct sk_buff *skb,
				   int flags, int off, size_t space)
{
	return udp_test_bit(GRO_ENABLED, sk) && !(flags & MSG_PEEK) &&
	       !off && skb->len && space >= skb->len &&
	       dtls_skb_is_app_data(skb);
}

/* Receive the record at the head of the queue, queued as an skb of its own */
int dtls_recv_queued(struct sock *sk, struct dtls_rx *rx, struct msghdr *msg,
		     size_t len, int flags, int *addr_len)
{
	bool room = dtls_recv_has_room(msg);
	int peeking = flags & MSG_PEEK;
	unsigned int ulen, copied;
	struct sk_buff *skb;
	int off, err, qflags;

	/*
	 * A caller with no room for the record type must not consume a
	 * record that is not application data: look before taking.
	 */
	qflags = room ? flags : flags | MSG_PEEK;
try_again:
	off = room || peeking ? sk_peek_offset(sk, flags) : -1;
	skb = __skb_recv_udp(sk, qflags, &off, &err);
	if (!skb)
		return err;

	if (unlikely(!dtls_skb_is_record(skb))) {
		/* Raced with the drain in dtls_rx_install() */
		if (!(qflags & MSG_PEEK) || dtls_take_peeked(sk, skb))
			dtls_rx_raw(sk, rx, skb);
		else
			consume_skb(skb);	/* another reader has it */
		goto try_again;
	}

	if (room) {
		err = dtls_put_record_info(msg, skb);
	} else if (!dtls_skb_is_app_data(skb)) {
		err = -EIO;
	} else {
		err = 0;
		if (msg->msg_control && msg->msg_controllen)
			msg->msg_flags |= MSG_CTRUNC;
		if (!peeking && !dtls_take_peeked(sk, skb)) {
			consume_skb(skb);
			goto try_again;
		}
	}
	if (err) {
		if (qflags & MSG_PEEK) {
			consume_skb(skb);	/* the record stays queued */
		} else {
			atomic_inc(&sk->sk_drops);
			kfree_skb(skb);
		}
		return err;
	}

	ulen = skb->len;
	copied = len;
	if (copied > ulen - off)
		copied = ulen - off;
	else if (copied < ulen)
		msg->msg_flags |= MSG_TRUNC;

	err = skb_copy_datagram_msg(skb, off, msg, copied);
	if (unlikely(err)) {
		if (!peeking)
			atomic_inc(&sk->sk_drops);
		kfree_skb(skb);
		return err;
	}

	if (dtls_recv_may_coalesce(sk, skb, flags, off, len)) {
		unsigned int nrec = 1;
		int more = dtls_recv_followers(sk, skb, msg, len - copied,
					       &nrec);

		if (unlikely(more < 0)) {
			/* the records copied so far are lost with the call */
			atomic_add(nrec, &sk->sk_drops);
			kfree_skb(skb);
			return more;
		}
		if (nrec > 1) {
			int seg = ulen;

			put_cmsg(msg, SOL_UDP, UDP_GRO, sizeof(seg), &seg);
			copied += more;
			ulen = copied;
		}
	}

	sock_recv_cmsgs(msg, sk, skb);
	dtls_recv_addr(sk, msg, skb, addr_len, off);

	err = flags & MSG_TRUNC ? ulen : copied;
	skb_consume_udp(sk, skb, peeking ? -err : err);
	return err;
}

int dtls_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags,
		 int *addr_len)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	/* installed before this proto was, freed only after close */
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	/* pairs with dtls_reader_enable() */
	struct dtls_reader *r = smp_load_acquire(&rx->reader);

	if (dtls_recv_is_udp(sk, flags))
		return ctx->sk_proto->recvmsg(sk, msg, len, flags, addr_len);
	if (r)
		return dtls_reader_recvmsg(sk, rx, r, msg, len, flags,
					   addr_len);
	return dtls_recv_queued(sk, rx, msg, len, flags, addr_len);
}
