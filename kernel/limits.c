// SPDX-License-Identifier: GPL-2.0
/*
 * DTLS 1.3's AEAD usage limits (RFC 9147 4.5.3): how many records the
 * keys of one epoch may protect, and how many records that fail
 * authentication they may see, before they have to be replaced.  Half way
 * to either limit poll() reports EPOLLPRI, so that userspace updates the
 * keys (a KeyUpdate of its own, or one with update_requested for the
 * peer's); at the limit sending fails with EKEYEXPIRED, and the epoch's
 * received records are dropped unopened after the socket's error was set
 * to EKEYEXPIRED once.  DTLS 1.2 has no key update: only its sequence
 * numbers end.
 */

#include <linux/poll.h>

#include "rx.h"

/* Tell poll() and SIGURG waiters that the keys are due for an update. */
void dtls_key_update_due(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLPRI);
	rcu_read_unlock();
	sk_wake_async(sk, SOCK_WAKE_URG, POLL_PRI);
}

/* An RX epoch reached its integrity limit: a socket error, as ICMP's. */
void dtls_key_expired(struct sock *sk)
{
	WRITE_ONCE(sk->sk_err, EKEYEXPIRED);
	sk_error_report(sk);
}

/* A TX epoch's limit: DTLS 1.3's, else the end of its sequence numbers. */
void dtls_tx_limit_init(struct dtls_tx *tx)
{
	WRITE_ONCE(tx->due, false);
	if (!dtls_is_13(&tx->crypto)) {
		tx->limit = DTLS_SEQ_MAX + 1;
		tx->due_at = U64_MAX;
		return;
	}
	tx->limit = min(tx->limit ?: U64_MAX, tx->crypto.desc->conf_limit);
	tx->due_at = tx->limit / 2;
}

/* Under tx->lock: the epoch's sequence numbers below @seq are spent. */
void dtls_tx_spent(struct sock *sk, struct dtls_tx *tx, u64 seq)
{
	tx->seq = seq;
	if (likely(seq < tx->due_at))
		return;
	tx->due_at = U64_MAX;
	WRITE_ONCE(tx->due, true);
	dtls_key_update_due(sk);
}

/*
 * A record of @e failed authentication: DTLS_DROP_FORGED, or the verdict
 * that makes dtls_verdict_report() tell userspace, once each, that @e is
 * half way to its limit or at it.  From the limit on @e opens nothing.
 */
enum dtls_verdict dtls13_rx_forged(const struct dtls_rx_keys *k,
				   struct dtls_rx_epoch *e)
{
	u64 n = atomic64_inc_return(&e->forged);
	u64 limit = READ_ONCE(k->forged_limit);

	if (n >= limit && !test_and_set_bit(DTLS_EPOCH_EXPIRED, &e->flags))
		return DTLS_DROP_FORGED_LIMIT;
	if (n >= limit / 2 && !test_and_set_bit(DTLS_EPOCH_DUE, &e->flags))
		return DTLS_DROP_FORGED_DUE;
	return DTLS_DROP_FORGED;
}

/*
 * EPOLLPRI: the TX epoch is half way to its limit, or the current RX epoch
 * is and userspace has not installed the next one yet.  Lockless: any
 * state poll() may race with.
 */
bool dtls_key_poll_due(struct dtls_context *ctx)
{
	struct dtls_tx *tx = READ_ONCE(ctx->tx);
	struct dtls_rx_epoch *e, *next;
	struct dtls_rx_keys *k = NULL;
	struct dtls_rx *rx;
	bool due = false;
	u32 cur;

	if (tx && READ_ONCE(tx->due))
		return true;
	rcu_read_lock();
	rx = rcu_dereference(ctx->rx);
	if (rx)
		k = rx->keys;
	if (k && k->version == DTLS_1_3_VERSION) {
		cur = READ_ONCE(k->epoch);
		e = dtls_rx_epoch_rcu(k, cur);
		next = dtls_rx_epoch_rcu(k, cur + 1);
		due = e && READ_ONCE(e->flags) &&
		      !(next && next->crypto.epoch == cur + 1);
	}
	rcu_read_unlock();
	return due;
}

/* Under the socket lock: the keys, if DTLS 1.3's (NULL otherwise) */
static struct dtls_tx *dtls13_tx(struct dtls_context *ctx)
{
	return ctx->tx && dtls_is_13(&ctx->tx->crypto) ? ctx->tx : NULL;
}

static struct dtls_rx_keys *dtls13_rx(struct dtls_context *ctx)
{
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);

	return rx && rx->keys && rx->keys->version == DTLS_1_3_VERSION ?
	       rx->keys : NULL;
}

/*
 * DTLS_KEY_LIMITS: lower the limits of this epoch and the later ones in
 * either direction (0: leave it).  Never above the suite's, but for
 * CCM_8's integrity limit (protocol.h); an RX limit must lie above what
 * the current epoch has already seen.  Under the socket lock.
 */
int dtls_set_key_limits(struct sock *sk, struct dtls_context *ctx,
			sockptr_t optval, unsigned int optlen)
{
	struct dtls_tx *tx = dtls13_tx(ctx);
	struct dtls_rx_keys *k = dtls13_rx(ctx);
	struct dtls_key_usage lim;

	if (optlen != sizeof(lim))
		return -EINVAL;
	if (copy_from_sockptr(&lim, optval, sizeof(lim)))
		return -EFAULT;
	if (!tx && !k)
		return ctx->tx || rcu_access_pointer(ctx->rx) ? -EOPNOTSUPP :
								-ENOTCONN;
	if ((lim.tx_records && !tx) || (lim.rx_forged && !k))
		return -ENOTCONN;
	if (tx && lim.tx_records > tx->crypto.desc->conf_limit)
		return -EINVAL;
	if (k && (lim.rx_forged > k->desc->forged_max ||
		  (lim.rx_forged && lim.rx_forged <=
		   atomic64_read(&dtls_rx_cur_locked(k)->forged))))
		return -EINVAL;

	if (lim.tx_records) {
		mutex_lock(&tx->lock);
		tx->limit = lim.tx_records;
		if (!tx->due)
			tx->due_at = tx->limit / 2;
		dtls_tx_spent(sk, tx, tx->seq);
		mutex_unlock(&tx->lock);
	}
	if (lim.rx_forged)
		WRITE_ONCE(k->forged_limit, lim.rx_forged);
	return 0;
}

/*
 * DTLS_KEY_LIMITS (@limits) and DTLS_KEY_USAGE: 0 for a direction without
 * DTLS 1.3 keys.  Under the socket lock.
 */
int dtls_get_key_usage(struct dtls_context *ctx, char __user *optval,
		       int __user *optlen, bool limits)
{
	struct dtls_tx *tx = dtls13_tx(ctx);
	struct dtls_rx_keys *k = dtls13_rx(ctx);
	struct dtls_key_usage u = {};
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < sizeof(u))
		return -EINVAL;
	if (!tx && !k)
		return ctx->tx || rcu_access_pointer(ctx->rx) ? -EOPNOTSUPP :
								-ENOTCONN;
	if (tx) {
		mutex_lock(&tx->lock);
		u.tx_records = limits ? tx->limit : tx->seq;
		mutex_unlock(&tx->lock);
	}
	if (k)
		u.rx_forged = limits ? READ_ONCE(k->forged_limit) :
			atomic64_read(&dtls_rx_cur_locked(k)->forged);
	if (put_user(sizeof(u), optlen) || copy_to_user(optval, &u, sizeof(u)))
		return -EFAULT;
	return 0;
}
