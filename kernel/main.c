// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel DTLS 1.2 record layer for UDP sockets: socket options, socket
 * lifetime and module init.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <net/inet_common.h>
#include <net/udp_tunnel.h>

#include "peer.h"
#include "rx.h"
#include "socket.h"

#define DTLS_REPLAY_WINDOW_DEFAULT	1024
#define DTLS_REPLAY_WINDOW_MIN		64
#define DTLS_REPLAY_WINDOW_MAX		65536

struct workqueue_struct *dtls_wq;

static void dtls_ctx_free_work(struct work_struct *work)
{
	struct dtls_context *ctx = container_of(to_rcu_work(work),
						struct dtls_context, free_work);
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);

	if (ctx->tx)
		dtls_tx_destroy(ctx->tx);
	if (rx)
		dtls_rx_destroy(rx);
	/* after rx: the datagrams being opened hold their peers */
	dtls_peers_destroy(ctx->peers);
	kfree(ctx);
	module_put(THIS_MODULE);
}

/*
 * Readers in softirq find the context through sk_user_data under RCU, so
 * it is freed after a grace period, in process context because freeing a
 * crypto transform may sleep.
 */
static void dtls_ctx_free(struct dtls_context *ctx)
{
	INIT_RCU_WORK(&ctx->free_work, dtls_ctx_free_work);
	queue_rcu_work(dtls_wq, &ctx->free_work);
}

static struct dtls_context *dtls_ctx_create(struct sock *sk)
{
	struct dtls_context *ctx;

	if (sk->sk_type != SOCK_DGRAM || sk->sk_protocol != IPPROTO_UDP ||
	    sk->sk_prot != dtls_udp_base_proto(sk->sk_family))
		return ERR_PTR(-ENOPROTOOPT);
	if (sk->sk_user_data)
		return ERR_PTR(-EBUSY);
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENOPROTOOPT);

	ctx = kzalloc(sizeof(*ctx), DTLS_GFP_SOCK);
	if (!ctx) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	ctx->sk_proto = sk->sk_prot;
	ctx->replay_window = DTLS_REPLAY_WINDOW_DEFAULT;
	rcu_assign_sk_user_data(sk, ctx);
	dtls_update_proto(sk, ctx);
	dtls_proc_link(sk, ctx);
	return ctx;
}

/* Undo dtls_ctx_create() for a socket that ends up with nothing installed */
static void dtls_ctx_destroy(struct sock *sk, struct dtls_context *ctx)
{
	dtls_proc_unlink(sk, ctx);
	rcu_assign_sk_user_data(sk, NULL);
	WRITE_ONCE(sk->sk_prot, ctx->sk_proto);
	dtls_ctx_free(ctx);
}

/* Options that would make UDP split, merge or hold back our datagrams. */
static bool dtls_udp_conflicts(struct sock *sk, struct dtls_context *ctx)
{
	struct udp_sock *up = udp_sk(sk);

	/*
	 * Once DTLS_RX is in, the encapsulation hook is ours, and UDP_GRO
	 * only moves the opening to the reader; the methods that would
	 * change the rest are refused.
	 */
	if (rcu_access_pointer(ctx->rx))
		return false;
	return udp_test_bit(CORK, sk) || READ_ONCE(up->gso_size) ||
	       udp_test_bit(GRO_ENABLED, sk) || READ_ONCE(up->encap_type);
}

static int dtls_copy_crypto_info(union dtls_crypto_info_all *info,
				 const struct dtls_cipher_desc **descp,
				 sockptr_t optval, unsigned int optlen)
{
	const struct dtls_cipher_desc *desc;

	if (sockptr_is_null(optval) || optlen < sizeof(info->info))
		return -EINVAL;
	if (copy_from_sockptr(&info->info, optval, sizeof(info->info)))
		return -EFAULT;
	if (info->info.version != DTLS_1_2_VERSION &&
	    info->info.version != DTLS_1_3_VERSION)
		return -EINVAL;
	desc = dtls_cipher_find(info->info.cipher_type);
	if (!desc || optlen != dtls_info_size(desc, info->info.version))
		return -EINVAL;
	if (copy_from_sockptr(info, optval, optlen))
		return -EFAULT;
	/* Epoch 0 is the unprotected handshake epoch; it has no keys. */
	if (!(dtls_info_rec_num(desc, info) >> DTLS_SEQ_BITS))
		return -EINVAL;
	*descp = desc;
	return 0;
}

/*
 * The keys a connected socket (@peer NULL) or one of its peers holds,
 * under the socket lock.
 */
struct dtls_keys {
	struct dtls_tx *tx;
	struct dtls_rx_keys *rx;
};

static void dtls_keys_get(struct dtls_context *ctx, struct dtls_peer_ctx *peer,
			  struct dtls_keys *keys)
{
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);

	keys->tx = peer ? peer->tx : ctx->tx;
	keys->rx = peer ? peer->rx : rx ? rx->keys : NULL;
}

static const struct dtls_crypto_info *dtls_other_dir(const struct dtls_keys *k,
						     bool tx)
{
	if (tx)
		return k->rx ? &dtls_rx_cur_locked(k->rx)->crypto.info.info :
			       NULL;
	return k->tx ? &k->tx->crypto.info.info : NULL;
}

static int dtls_install_tx(struct sock *sk, struct dtls_context *ctx,
			   const struct dtls_cipher_desc *desc,
			   const union dtls_crypto_info_all *info)
{
	struct dtls_tx *tx = dtls_tx_create(desc, info, &ctx->tx_cid);

	if (IS_ERR(tx))
		return PTR_ERR(tx);
	ctx->tx = tx;
	dtls_stat_inc(sk, DTLS_MIB_TX_SW);
	dtls_stat_inc(sk, DTLS_MIB_CURR_TX_SW);
	return 0;
}

static int dtls_install_rx(struct sock *sk, struct dtls_context *ctx,
			   const struct dtls_cipher_desc *desc,
			   const union dtls_crypto_info_all *info)
{
	const struct proto_ops *ops;
	struct dtls_rx_keys *keys;
	struct dtls_rx *rx;

	/* recvmsg() is not all: poll() and FIONREAD must see the records */
	if (!sk->sk_socket)
		return -ENOTCONN;
	ops = dtls_sock_ops(sk->sk_socket);
	if (IS_ERR(ops))
		return PTR_ERR(ops);
	keys = dtls_rx_keys_create(desc, info, ctx->replay_window, &ctx->rx_cid);
	if (IS_ERR(keys))
		return PTR_ERR(keys);
	rx = dtls_rx_create(keys, NULL);
	if (IS_ERR(rx)) {
		dtls_rx_keys_free(keys);
		return PTR_ERR(rx);
	}
	dtls_stat_inc(sk, DTLS_MIB_RX_SW);
	dtls_stat_inc(sk, DTLS_MIB_CURR_RX_SW);
	dtls_rx_install(sk, ctx, rx, ops);
	return 0;
}

/* A peer's first keys of a direction: its own, read in softirq */
static int dtls_install_peer(struct dtls_context *ctx,
			     struct dtls_peer_ctx *peer,
			     const struct dtls_cipher_desc *desc,
			     const union dtls_crypto_info_all *info, bool tx)
{
	struct dtls_rx_keys *k;
	struct dtls_tx *t;

	if (tx) {
		t = dtls_tx_create(desc, info, &peer->tx_cid);
		if (IS_ERR(t))
			return PTR_ERR(t);
		/* pairs with dtls_peer_tx() */
		smp_store_release(&peer->tx, t);
		return 0;
	}
	k = dtls_rx_keys_create(desc, info, ctx->replay_window, &peer->rx_cid);
	if (IS_ERR(k))
		return PTR_ERR(k);
	/* pairs with dtls_peer_rx_keys() */
	smp_store_release(&peer->rx, k);
	return 0;
}

/*
 * DTLS_TX and DTLS_RX on a connected socket (@peer NULL), DTLS_PEER_TX and
 * DTLS_PEER_RX for one peer of a socket with many: the same rules.
 */
int dtls_set_peer_crypto(struct sock *sk, struct dtls_context *ctx,
			 struct dtls_peer_ctx *peer, sockptr_t optval,
			 unsigned int optlen, bool tx)
{
	const struct dtls_crypto_info *other;
	const struct dtls_cipher_desc *desc;
	union dtls_crypto_info_all *info;
	struct dtls_keys cur;
	bool rekey;
	int err;

	dtls_keys_get(ctx, peer, &cur);
	other = dtls_other_dir(&cur, tx);
	/* A second DTLS_TX or DTLS_RX is DTLS 1.3's next epoch */
	rekey = tx ? cur.tx && dtls_is_13(&cur.tx->crypto) :
		     cur.rx && cur.rx->version == DTLS_1_3_VERSION;
	if (!rekey && (tx ? !!cur.tx : !!cur.rx))
		return -EBUSY;
	if (!peer && sk->sk_state != TCP_ESTABLISHED)
		return -ENOTCONN;
	if (!rekey && !peer && dtls_udp_conflicts(sk, ctx))
		return -EOPNOTSUPP;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	err = dtls_copy_crypto_info(info, &desc, optval, optlen);
	if (err)
		goto out;
	if (rekey) {
		err = tx ? dtls_tx_rekey(cur.tx, desc, info) :
			   dtls_rx_rekey(cur.rx, desc, info);
		goto out;
	}
	if (other && other->version != info->info.version) {
		err = -EINVAL;
		goto out;
	}

	if (peer)
		err = dtls_install_peer(ctx, peer, desc, info, tx);
	else if (tx)
		err = dtls_install_tx(sk, ctx, desc, info);
	else
		err = dtls_install_rx(sk, ctx, desc, info);
	if (err)
		goto out;
	dtls_update_proto(sk, ctx);
out:
	memzero_explicit(info, sizeof(*info));
	kfree(info);
	return err;
}

static int dtls_set_replay_window(struct dtls_context *ctx, sockptr_t optval,
				  unsigned int optlen)
{
	u32 val;

	if (optlen != sizeof(val))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < DTLS_REPLAY_WINDOW_MIN || val > DTLS_REPLAY_WINDOW_MAX)
		return -EINVAL;
	if (rcu_access_pointer(ctx->rx))
		return -EBUSY;
	ctx->replay_window = val;
	return 0;
}

/*
 * DTLS_TX_CID, DTLS_RX_CID: the connection ID of a direction, until its
 * first keys go in; the records of all its epochs carry that one.
 */
static int dtls_set_cid(struct dtls_context *ctx, sockptr_t optval,
			unsigned int optlen, bool tx)
{
	struct dtls_cid cid = {};

	if (optlen < sizeof(cid.len) || optlen > sizeof(cid))
		return -EINVAL;
	if (copy_from_sockptr(&cid, optval, optlen))
		return -EFAULT;
	if (optlen < sizeof(cid.len) + cid.len)
		return -EINVAL;
	if (tx ? !!ctx->tx : !!rcu_access_pointer(ctx->rx))
		return -EBUSY;
	if (tx)
		ctx->tx_cid = cid;
	else
		ctx->rx_cid = cid;
	return 0;
}

static int dtls_get_cid(struct dtls_context *ctx, char __user *optval,
			int __user *optlen, bool tx)
{
	const struct dtls_cid *cid = tx ? &ctx->tx_cid : &ctx->rx_cid;
	unsigned int size = sizeof(cid->len) + cid->len;
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0 || (unsigned int)len < size)
		return -EINVAL;
	if (copy_to_user(optval, cid, size) || put_user(size, optlen))
		return -EFAULT;
	return 0;
}

/*
 * The first DTLS_PEER_NEW makes an unconnected socket one with many peers
 * for good: the hook passes up whole what is for none of them.
 */
static int dtls_peers_start(struct sock *sk, struct dtls_context *ctx)
{
	const struct proto_ops *ops;
	struct dtls_peers *peers;
	struct dtls_rx *rx;

	if (ctx->peers)
		return 0;
	if (sk->sk_state == TCP_ESTABLISHED || ctx->tx ||
	    rcu_access_pointer(ctx->rx))
		return -EISCONN;
	if (dtls_udp_conflicts(sk, ctx))
		return -EOPNOTSUPP;
	if (!sk->sk_socket)
		return -ENOTCONN;
	ops = dtls_sock_ops(sk->sk_socket);
	if (IS_ERR(ops))
		return PTR_ERR(ops);
	peers = dtls_peers_create();
	if (!peers)
		return -ENOMEM;
	rx = dtls_rx_create(NULL, peers);
	if (IS_ERR(rx)) {
		dtls_peers_destroy(peers);
		return PTR_ERR(rx);
	}
	ctx->peers = peers;
	/* counted as a socket with both directions, whatever its peers hold */
	dtls_stat_inc(sk, DTLS_MIB_TX_SW);
	dtls_stat_inc(sk, DTLS_MIB_CURR_TX_SW);
	dtls_stat_inc(sk, DTLS_MIB_RX_SW);
	dtls_stat_inc(sk, DTLS_MIB_CURR_RX_SW);
	dtls_rx_install(sk, ctx, rx, ops);
	return 0;
}

static int dtls_peer_setsockopt(struct sock *sk, struct dtls_context *ctx,
				int optname, sockptr_t optval,
				unsigned int optlen)
{
	int err;

	if (optname == DTLS_PEER_NEW) {
		err = dtls_peers_start(sk, ctx);
		return err ?: dtls_peer_new(sk, ctx->peers, optval, optlen);
	}
	if (!ctx->peers)
		return -ENOENT;
	if (optname == DTLS_PEER_DEL)
		return dtls_peer_del(sk, ctx->peers, optval, optlen);
	return dtls_peer_set_keys(sk, ctx->peers, optval, optlen,
				  optname == DTLS_PEER_TX);
}

static int dtls_do_setsockopt(struct sock *sk, struct dtls_context *ctx,
			      int optname, sockptr_t optval,
			      unsigned int optlen)
{
	switch (optname) {
	case DTLS_TX:
	case DTLS_RX:
		return dtls_set_peer_crypto(sk, ctx, NULL, optval, optlen,
					    optname == DTLS_TX);
	case DTLS_PEER_NEW:
	case DTLS_PEER_DEL:
	case DTLS_PEER_TX:
	case DTLS_PEER_RX:
		return dtls_peer_setsockopt(sk, ctx, optname, optval, optlen);
	case DTLS_RX_REPLAY_WINDOW:
		return dtls_set_replay_window(ctx, optval, optlen);
	case DTLS_KEY_LIMITS:
		return dtls_set_key_limits(sk, ctx, optval, optlen);
	case DTLS_TX_CID:
	case DTLS_RX_CID:
		return dtls_set_cid(ctx, optval, optlen, optname == DTLS_TX_CID);
	default:
		return -ENOPROTOOPT;
	}
}

/* First SOL_DTLS option on a plain UDP socket, from the setsockopt hook */
int dtls_attach_setsockopt(struct sock *sk, int optname, sockptr_t optval,
			   unsigned int optlen)
{
	struct dtls_context *ctx;
	int err;

	lock_sock(sk);
	ctx = dtls_ctx_create(sk);
	if (IS_ERR(ctx)) {
		err = PTR_ERR(ctx);
		goto out;
	}
	err = dtls_do_setsockopt(sk, ctx, optname, optval, optlen);
	if (err && !ctx->peers)
		dtls_ctx_destroy(sk, ctx);
out:
	release_sock(sk);
	return err;
}

/* UDP_SEGMENT on a DTLS socket counts plaintext bytes per record. */
static int dtls_set_gso_size(struct sock *sk, sockptr_t optval,
			     unsigned int optlen)
{
	int val;

	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val < 0 || val > DTLS_MAX_PLAINTEXT)
		return -EINVAL;
	WRITE_ONCE(dtls_get_ctx(sk)->gso_size, val);
	return 0;
}

static int dtls_get_gso_size(struct sock *sk, char __user *optval,
			     int __user *optlen)
{
	int val = READ_ONCE(dtls_get_ctx(sk)->gso_size);
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(int));
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

/*
 * UDP_GRO is UDP's; set on a socket with DTLS_RX, it also has the reader
 * open the records from then on (reader.c), so that UDP keeps batches
 * whole.  Clearing it later does not go back.
 */
static int dtls_set_gro(struct sock *sk, sockptr_t optval,
			unsigned int optlen)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_rx *rx;
	int err, val;

	/* the reader opens records of the connected peer only */
	if (ctx->peers)
		return -EOPNOTSUPP;
	err = dtls_udp_setsockopt(sk, SOL_UDP, UDP_GRO, optval, optlen);
	if (err || copy_from_sockptr(&val, optval, sizeof(val)) || !val)
		return err;
	lock_sock(sk);
	rx = rcu_dereference_protected(ctx->rx, lockdep_sock_is_held(sk));
	if (rx)
		err = dtls_reader_enable(sk, rx);
	release_sock(sk);
	return err;
}

int dtls_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	int err;

	if (level == SOL_UDP) {
		switch (optname) {
		case UDP_CORK:
		case UDP_ENCAP:
			return -EOPNOTSUPP;
		case UDP_SEGMENT:
			return dtls_set_gso_size(sk, optval, optlen);
		case UDP_GRO:
			return dtls_set_gro(sk, optval, optlen);
		}
	}
	if (level != SOL_DTLS)
		return dtls_udp_setsockopt(sk, level, optname, optval, optlen);

	lock_sock(sk);
	err = dtls_do_setsockopt(sk, dtls_get_ctx(sk), optname, optval,
				 optlen);
	release_sock(sk);
	return err;
}

static int dtls_get_crypto(struct dtls_context *ctx, char __user *optval,
			   int __user *optlen, bool tx)
{
	struct dtls_rx *rx = rcu_dereference_protected(ctx->rx, true);
	union dtls_crypto_info_all *info;
	struct dtls_crypto *c;
	u64 rec_num;
	int len, err = 0;

	if (get_user(len, optlen))
		return -EFAULT;
	if (tx ? !ctx->tx : !rx || !rx->keys)
		return -ENOTCONN;

	if (tx) {
		c = &ctx->tx->crypto;
		mutex_lock(&ctx->tx->lock);
		rec_num = dtls_rec_num(c->epoch, ctx->tx->seq);
		mutex_unlock(&ctx->tx->lock);
	} else {
		struct dtls_rx_epoch *e = dtls_rx_cur_locked(rx->keys);

		c = &e->crypto;
		rec_num = dtls_rec_num(c->epoch, dtls_replay_next(&e->replay));
	}

	if (len == sizeof(struct dtls_crypto_info))
		return copy_to_user(optval, &c->info.info, len) ? -EFAULT : 0;
	if (len < dtls_info_size(c->desc, c->version))
		return -EINVAL;
	len = dtls_info_size(c->desc, c->version);

	info = kmemdup(&c->info, sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	dtls_info_set_rec_num(c->desc, info, rec_num);
	if (copy_to_user(optval, info, len) || put_user(len, optlen))
		err = -EFAULT;
	kfree_sensitive(info);
	return err;
}

int dtls_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	int err, len;

	if (level == SOL_UDP && optname == UDP_SEGMENT)
		return dtls_get_gso_size(sk, optval, optlen);
	if (level != SOL_DTLS)
		return ctx->sk_proto->getsockopt(sk, level, optname, optval,
						 optlen);

	lock_sock(sk);
	switch (optname) {
	case DTLS_TX:
	case DTLS_RX:
		err = dtls_get_crypto(ctx, optval, optlen, optname == DTLS_TX);
		break;
	case DTLS_RX_REPLAY_WINDOW:
		err = -EFAULT;
		if (get_user(len, optlen))
			break;
		err = -EINVAL;
		if (len < sizeof(u32))
			break;
		err = -EFAULT;
		if (put_user(sizeof(u32), optlen) ||
		    put_user(ctx->replay_window, (u32 __user *)optval))
			break;
		err = 0;
		break;
	case DTLS_KEY_LIMITS:
	case DTLS_KEY_USAGE:
		err = dtls_get_key_usage(ctx, optval, optlen,
					 optname == DTLS_KEY_LIMITS);
		break;
	case DTLS_TX_CID:
	case DTLS_RX_CID:
		err = dtls_get_cid(ctx, optval, optlen, optname == DTLS_TX_CID);
		break;
	case DTLS_PEER_INFO:
		err = ctx->peers ? dtls_peer_info(sk, ctx->peers, optval,
						  optlen) : -ENOENT;
		break;
	default:
		err = -ENOPROTOOPT;
	}
	release_sock(sk);
	return err;
}

static bool dtls_has_keys(struct dtls_context *ctx)
{
	return ctx->tx || rcu_access_pointer(ctx->rx);
}

/*
 * The keys belong to one peer, or the socket serves many: moving it
 * elsewhere is refused.
 */
int dtls_connect(struct sock *sk, struct dtls_sockaddr *uaddr, int addr_len)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);

	if (dtls_has_keys(ctx))
		return -EISCONN;
	return ctx->sk_proto->connect(sk, uaddr, addr_len);
}

int dtls_disconnect(struct sock *sk, int flags)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);

	if (dtls_has_keys(ctx))
		return -EISCONN;
	return ctx->sk_proto->disconnect(sk, flags);
}

void dtls_close(struct sock *sk, long timeout)
{
	struct dtls_context *ctx;
	struct dtls_rx *rx;
	struct proto *base;

	lock_sock(sk);
	ctx = dtls_get_ctx(sk);
	dtls_proc_unlink(sk, ctx);
	base = ctx->sk_proto;
	if (rcu_access_pointer(ctx->rx)) {
		dtls_rx_uninstall(sk);
		dtls_stat_dec(sk, DTLS_MIB_CURR_RX_SW);
	}
	if (ctx->tx || ctx->peers)
		dtls_stat_dec(sk, DTLS_MIB_CURR_TX_SW);
	if (ctx->peers)
		dtls_sk_stat_add(sk, DTLS_MIB_CURR_PEERS,
				 -(long)ctx->peers->count);
	rx = rcu_dereference_protected(ctx->rx, lockdep_sock_is_held(sk));
	rcu_assign_sk_user_data(sk, NULL);
	WRITE_ONCE(sk->sk_prot, base);
	release_sock(sk);

	if (rx)
		dtls_rx_close(sk, rx);
	base->close(sk, timeout);
	/* last: the free drops the module reference this code runs under */
	dtls_ctx_free(ctx);
}

static int __init dtls_init(void)
{
	int err;

	/* the socket layer's part of cb (SO_RXQ_OVFL) is at its end */
	sock_skb_cb_check_size(sizeof(struct dtls_skb_cb));
	dtls_cipher_check_layout();

	/* freeing a context needs no particular CPU */
	dtls_wq = alloc_workqueue("dtls", WQ_UNBOUND, 0);
	if (!dtls_wq)
		return -ENOMEM;

	err = dtls_rx_init();
	if (err)
		goto err_wq;

	err = dtls_proc_init();
	if (err)
		goto err_rx;

	err = dtls_socket_init();
	if (err)
		goto err_proc;
	dtls_socket_start();
	return 0;

err_proc:
	dtls_proc_exit();
err_rx:
	dtls_rx_exit();
err_wq:
	destroy_workqueue(dtls_wq);
	return err;
}

static void __exit dtls_exit(void)
{
	dtls_socket_stop();
	/* Every context holds a module reference; the last work may still run */
	destroy_workqueue(dtls_wq);
	/*
	 * An AEAD completion may still be returning from the wakeup that let
	 * its context go; it runs BH-off, so a grace period covers it.
	 */
	synchronize_rcu();
	dtls_socket_exit();
	dtls_rx_exit();
	dtls_proc_exit();
}

module_init(dtls_init);
module_exit(dtls_exit);

MODULE_DESCRIPTION("DTLS 1.2 record layer for UDP sockets");
MODULE_LICENSE("GPL");
MODULE_VERSION(DTLS_VERSION);
