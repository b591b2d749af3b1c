/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receive side: RX state, its two feeders (UDP's hook in receive.c,
 * the UDP_GRO reader in reader.c) and delivery to recvmsg(), poll() and
 * FIONREAD (deliver.c).
 */
#ifndef _DTLS_RX_H
#define _DTLS_RX_H

#include <linux/atomic.h>
#include <linux/skbuff.h>
#include <net/udp.h>

#include "dtls.h"
#include "record.h"

struct dtls_reader;

/*
 * The keys and replay window of one RX epoch.  DTLS 1.3 records carry only
 * the epoch's low two bits, so its epochs live in slot epoch & 3: the
 * current one, the next once userspace installed it, the previous one
 * until the next takes over, and one that is no longer used.
 */
#define DTLS_RX_EPOCHS		4

struct dtls_rx_epoch {
	struct dtls_crypto crypto;
	struct dtls_replay replay;
	/* DTLS 1.3: records being opened with it, and whether it is leaving */
	atomic_t inflight;
	bool retired;
	/* DTLS 1.3: records that failed authentication; DTLS_EPOCH_* */
	atomic64_t forged;
	unsigned long flags;
};

/* Half way to the epoch's integrity limit; at it (limits.c) */
#define DTLS_EPOCH_DUE		0
#define DTLS_EPOCH_EXPIRED	1

/*
 * The RX keys of one peer: of the connected peer, or of one of the peers
 * of a socket that has many (peer.c).
 */
struct dtls_rx_keys {
	const struct dtls_cipher_desc *desc;
	u16 version;
	unsigned int reqsize;	/* of every epoch's AEAD requests */
	u32 window;		/* replay window of each epoch */
	u64 forged_limit;	/* DTLS 1.3: of each epoch (limits.c) */
	struct dtls_cid cid;	/* this end's, in every protected record */
	/*
	 * The current epoch: DTLS 1.3 moves it on to the next when the first
	 * authentic record of that arrives.
	 */
	u32 epoch;
	struct dtls_rx_epoch __rcu *ep[DTLS_RX_EPOCHS];
};

/*
 * The socket's receive side: where its records wait for recvmsg(), and
 * whose keys open them: @keys on a connected socket, those of the peer
 * each datagram comes from on a socket with @peers.
 */
struct dtls_rx {
	struct dtls_rx_keys *keys;
	struct dtls_peers *peers;
	/* Records that passed, for recvmsg(); charged to the socket */
	struct sk_buff_head queue;
	bool closed;		/* under queue.lock: close() purged it */
	/*
	 * While DTLS_RX opens what UDP queued before it, the datagrams the
	 * hook gets wait on held, unopened, up to held_bytes of SO_RCVBUF:
	 * opened first, a newer record could move the replay window past
	 * older ones still waiting to be opened.  All under queue.lock.
	 */
	bool draining;
	struct sk_buff_head held;
	unsigned int held_bytes;
	atomic_t pending;	/* datagrams being opened by the hook */
	atomic_t task_pending;	/* of those, the ones a task started */
	/* Set once UDP_GRO has the reader open the records (reader.c) */
	struct dtls_reader *reader;
};

/*
 * Per-record state of a queued plaintext skb, behind UDP's own cb: its
 * IP control block gives the receive cmsgs, as for a datagram.
 */
struct dtls_skb_cb {
	struct udp_skb_cb udp;
	u8 content_type;
	u8 flags;
	u32 peer_id;
	/* four-byte aligned: the socket layer's part of cb follows */
	u64 rec_num __packed __aligned(4);
};

static inline struct dtls_skb_cb *dtls_skb_cb(struct sk_buff *skb)
{
	return (struct dtls_skb_cb *)skb->cb;
}

/*
 * A datagram UDP queued itself starts right after its UDP header; a record
 * the hook queued starts past its DTLS header.
 */
static inline bool dtls_skb_is_record(const struct sk_buff *skb)
{
	return skb->data - skb_transport_header(skb) > sizeof(struct udphdr);
}

/*
 * UDP_GRO, as UDP does for datagrams: one recvmsg() may return the
 * plaintext of several application data records queued one behind the
 * other, all from one sender and all of the first one's length but the
 * last, which may be shorter; a UDP_GRO control message gives that length.
 * Only whole records, never more than DTLS_RX_GRO_MAX (UDP's own limit for
 * a GRO batch), and only when nothing is peeked.
 */
#define DTLS_RX_GRO_MAX		64

static inline bool dtls_rec_is_app_data(const struct dtls_rec *rec)
{
	return rec->type == DTLS_RECORD_TYPE_APPLICATION_DATA &&
	       (rec->flags & DTLS_RECORD_F_PROTECTED);
}

/* The data path's view of an epoch's slot, in an RCU section (BH off too) */
static inline struct dtls_rx_epoch *
dtls_rx_epoch_rcu(const struct dtls_rx_keys *k, u32 epoch)
{
	return rcu_dereference_check(k->ep[epoch % DTLS_RX_EPOCHS],
				     rcu_read_lock_any_held());
}

/*
 * The current epoch, for the control path: with the socket locked, under
 * which epochs are installed and freed, or before the hook sees @rx.
 */
static inline struct dtls_rx_epoch *
dtls_rx_cur_locked(const struct dtls_rx_keys *k)
{
	return rcu_dereference_protected(k->ep[READ_ONCE(k->epoch) %
					       DTLS_RX_EPOCHS], true);
}

/* receive.c: RX state and UDP's hook */
struct dtls_rx_keys *dtls_rx_keys_create(const struct dtls_cipher_desc *desc,
					 const union dtls_crypto_info_all *info,
					 u32 window, const struct dtls_cid *cid);
int dtls_rx_rekey(struct dtls_rx_keys *k, const struct dtls_cipher_desc *desc,
		  const union dtls_crypto_info_all *info);
void dtls_rx_keys_free(struct dtls_rx_keys *k);
struct dtls_rx *dtls_rx_create(struct dtls_rx_keys *keys,
			       struct dtls_peers *peers);
void dtls_rx_epoch_put(struct dtls_rx_epoch *e);
void dtls_rx_destroy(struct dtls_rx *rx);
void dtls_rx_install(struct sock *sk, struct dtls_context *ctx,
		     struct dtls_rx *rx, const struct proto_ops *ops);
void dtls_rx_uninstall(struct sock *sk);
void dtls_rx_close(struct sock *sk, struct dtls_rx *rx);
struct sk_buff *dtls_rx_take_raw(struct sock *sk);
void dtls_rx_charge_held(struct sock *sk, struct sk_buff *skb);
void dtls_rx_raw(struct sock *sk, struct dtls_rx *rx, struct sk_buff *skb);
int dtls_rx_init(void);
void dtls_rx_exit(void);
/* for the KUnit tests */
unsigned int dtls_rx_op_size(const struct dtls_rx_keys *k);
bool dtls_rx_op_fits_slot(const struct dtls_rx_keys *k);

/* limits.c: DTLS 1.3's integrity limit */
enum dtls_verdict dtls13_rx_forged(const struct dtls_rx_keys *k,
				   struct dtls_rx_epoch *e);

/* reader.c: the UDP_GRO reader */
int dtls_reader_enable(struct sock *sk, struct dtls_rx *rx);
void dtls_reader_free(struct dtls_reader *r);
void dtls_reader_release(struct sock *sk, struct dtls_rx *rx);
int dtls_reader_recvmsg(struct sock *sk, struct dtls_rx *rx,
			struct dtls_reader *r, struct msghdr *msg, size_t len,
			int flags);
bool dtls_reader_follower(struct sock *sk, struct dtls_rx *rx,
			  const struct dtls_rec *first, size_t space,
			  struct dtls_rec *rec);
void dtls_reader_consumed(struct dtls_reader *r);
int dtls_reader_next_len(struct sock *sk, struct dtls_rx *rx,
			 struct dtls_reader *r, bool queued);

/* deliver.c: to the caller of recvmsg(); dtls_recvmsg() is in compat.h */
int dtls_deliver_type(struct msghdr *msg, const struct dtls_rec *rec);
int dtls_deliver(struct sock *sk, struct dtls_rx *rx,
		 const struct dtls_rec *rec, int off, struct msghdr *msg,
		 size_t len, int flags);
int dtls_deliver_queued(struct sock *sk, struct dtls_rx *rx,
			struct msghdr *msg, size_t len, int flags);
void dtls_peek_off_move(struct sock *sk, int len);
bool dtls_same_sender(const struct sk_buff *a, const struct sk_buff *b);
bool dtls_may_follow(const struct dtls_rec *first, const struct dtls_rec *rec,
		     size_t space);
__poll_t dtls_poll(struct file *file, struct socket *sock,
		   struct poll_table_struct *wait);
int dtls_sock_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg);

#endif /* _DTLS_RX_H */
