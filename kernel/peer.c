// SPDX-License-Identifier: GPL-2.0
/*
 * Many peers on one unconnected socket.  Userspace runs the handshakes of
 * all its clients on one UDP port and adds each finished one as a peer,
 * with its address, connection IDs and keys (DTLS_PEER_*).  A datagram is
 * for the peer whose receive connection ID its first record carries, else
 * for the peer at its source address; one for no peer with keys passes up
 * whole (receive.c).  A send goes to the peer at its destination, or to
 * the one DTLS_SET_PEER names, at its current address.
 *
 * Three hash tables find a peer in constant time whatever their number:
 * by id (the control path, DTLS_SET_PEER), by address (receive without
 * connection IDs, sendto()) and by receive connection ID.  Lookups run
 * under RCU and take a reference; the tables hold one of their own until
 * the peer is deleted or the socket closed, and a peer is freed a grace
 * period after its last reference went.
 *
 * A peer found by connection ID moves to the source address of a record
 * that passed authentication and the replay window and is the newest it
 * sent (RFC 9146 6): recvmsg() flags that record DTLS_RECORD_F_MOVED.
 */

#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/rhashtable.h>
#include <net/ipv6.h>

#include "peer.h"
#include "record.h"
#include "rx.h"

/* Peers one socket may hold; DTLS_PEER_NEW fails with ENOSPC beyond */
static unsigned int max_peers = 1 << 20;
module_param(max_peers, uint, 0644);
MODULE_PARM_DESC(max_peers, "Peers one socket may hold (default 1048576)");

static const struct rhashtable_params dtls_id_params = {
	.key_len = sizeof(u32),
	.key_offset = offsetof(struct dtls_peer_ctx, id),
	.head_offset = offsetof(struct dtls_peer_ctx, id_node),
	.automatic_shrinking = true,
};

static const struct rhashtable_params dtls_addr_params = {
	.key_len = sizeof(struct dtls_addr),
	.key_offset = offsetof(struct dtls_peer_ctx, addr),
	.head_offset = offsetof(struct dtls_peer_ctx, addr_node),
	.automatic_shrinking = true,
};

/* The receive CID table's key: the CID's bytes where they lie */
struct dtls_cid_key {
	const u8 *cid;
	u8 len;
};

static u32 dtls_cid_hash(const void *data, u32 len, u32 seed)
{
	const struct dtls_cid_key *key = data;

	return jhash(key->cid, key->len, seed);
}

static u32 dtls_cid_obj_hash(const void *data, u32 len, u32 seed)
{
	const struct dtls_peer_ctx *peer = data;

	return jhash(peer->rx_cid.cid, peer->rx_cid.len, seed);
}

static int dtls_cid_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct dtls_cid_key *key = arg->key;
	const struct dtls_peer_ctx *peer = obj;

	return peer->rx_cid.len != key->len ||
	       memcmp(peer->rx_cid.cid, key->cid, key->len);
}

static const struct rhashtable_params dtls_cid_params = {
	.head_offset = offsetof(struct dtls_peer_ctx, cid_node),
	.hashfn = dtls_cid_hash,
	.obj_hashfn = dtls_cid_obj_hash,
	.obj_cmpfn = dtls_cid_cmp,
	.automatic_shrinking = true,
};

struct dtls_peers *dtls_peers_create(void)
{
	struct dtls_peers *peers = kzalloc(sizeof(*peers), DTLS_GFP_SOCK);

	if (!peers)
		return NULL;
	if (rhashtable_init(&peers->by_id, &dtls_id_params))
		goto err_free;
	if (rhashtable_init(&peers->by_addr, &dtls_addr_params))
		goto err_id;
	if (rhashtable_init(&peers->by_cid, &dtls_cid_params))
		goto err_addr;
	spin_lock_init(&peers->lock);
	mutex_init(&peers->send_lock);
	INIT_LIST_HEAD(&peers->list);
	return peers;

err_addr:
	rhashtable_destroy(&peers->by_addr);
err_id:
	rhashtable_destroy(&peers->by_id);
err_free:
	kfree(peers);
	return NULL;
}

static void dtls_peer_free_work(struct work_struct *work)
{
	struct dtls_peer_ctx *peer = container_of(to_rcu_work(work),
					      struct dtls_peer_ctx, free_work);

	if (peer->tx)
		dtls_tx_destroy(peer->tx);
	dtls_rx_keys_free(peer->rx);
	kfree(peer);
	module_put(THIS_MODULE);
}

/*
 * The last reference: lookups under RCU may still see the peer, and freeing
 * transforms may sleep, so it goes a grace period later, in a work.
 */
void dtls_peer_put(struct dtls_peer_ctx *peer)
{
	if (!refcount_dec_and_test(&peer->refs))
		return;
	INIT_RCU_WORK(&peer->free_work, dtls_peer_free_work);
	queue_rcu_work(dtls_wq, &peer->free_work);
}

/*
 * After close() and a grace period, with no datagram being opened: no
 * lookup can run any more, so the tables go without unhashing each peer.
 * They go first: a table's resize worker walks the peers in it, and a peer
 * put here may be freed as soon as a grace period later.
 */
void dtls_peers_destroy(struct dtls_peers *peers)
{
	struct dtls_peer_ctx *peer, *tmp;

	if (!peers)
		return;
	rhashtable_destroy(&peers->by_cid);
	rhashtable_destroy(&peers->by_addr);
	rhashtable_destroy(&peers->by_id);
	list_for_each_entry_safe(peer, tmp, &peers->list, node)
		dtls_peer_put(peer);
	kfree_sensitive(peers->buf.data);	/* the last plaintext */
	mutex_destroy(&peers->send_lock);
	kfree(peers);
}

static void dtls_addr_from_skb(struct dtls_addr *a, const struct sk_buff *skb)
{
	memset(a, 0, sizeof(*a));
	if (skb->protocol == htons(ETH_P_IP))
		ipv6_addr_set_v4mapped(ip_hdr(skb)->saddr, &a->addr);
	else
		a->addr = ipv6_hdr(skb)->saddr;
	a->port = udp_hdr(skb)->source;
}

/* An address userspace gave, of either family */
static int dtls_addr_from_sockaddr(struct dtls_addr *a,
				   const struct sockaddr *sa, int len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	memset(a, 0, sizeof(*a));
	if (len < sizeof(sa->sa_family))
		return -EINVAL;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		ipv6_addr_set_v4mapped(sin->sin_addr.s_addr, &a->addr);
		a->port = sin->sin_port;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		a->addr = sin6->sin6_addr;
		a->port = sin6->sin6_port;
		return 0;
	}
	return -EINVAL;
}

/* A new peer's address: of the socket's own family, with a port */
static int dtls_addr_from_user(struct sock *sk, struct dtls_addr *a,
			       const struct sockaddr *sa, int len)
{
	int err = dtls_addr_from_sockaddr(a, sa, len);

	if (err || sa->sa_family != sk->sk_family || !a->port)
		return -EINVAL;
	return 0;
}

/* The peer's current address, as a sockaddr of the socket's family */
void dtls_peer_sockaddr(struct dtls_peers *peers, int family,
			struct dtls_peer_ctx *peer, struct sockaddr_storage *ss,
			int *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct dtls_addr a;

	spin_lock_bh(&peers->lock);
	a = peer->addr;
	spin_unlock_bh(&peers->lock);
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = a.addr.s6_addr32[3];
		sin->sin_port = a.port;
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a.addr;
		sin6->sin6_port = a.port;
		*len = sizeof(*sin6);
	}
}

static struct dtls_peer_ctx *dtls_peer_get_rcu(struct dtls_peer_ctx *peer)
{
	return peer && refcount_inc_not_zero(&peer->refs) ? peer : NULL;
}

/* Control path, under the socket lock: the peer with @id, not held */
static struct dtls_peer_ctx *dtls_peer_by_id(struct dtls_peers *peers, u32 id)
{
	return rhashtable_lookup_fast(&peers->by_id, &id, dtls_id_params);
}

/*
 * Where the connection ID of a datagram's first record starts, if it has
 * one: after a DTLS 1.2 tls12_cid header's sequence number, or right after
 * the first byte of a DTLS 1.3 header with the C bit.  0: none.
 */
static unsigned int dtls_cid_offset(u8 first)
{
	if (first == DTLS_RECORD_TYPE_TLS12_CID)
		return DTLS_HDR_LENGTH;
	if ((first & DTLS13_HDR_FIXED_MASK) == DTLS13_HDR_FIXED)
		return first & DTLS13_HDR_C ? 1 : 0;
	return 0;
}

/*
 * Whether the datagram starts with an epoch-0 record: a DTLSPlaintext
 * header (a first byte DTLS 1.3's unified header cannot have) with epoch
 * 0, or one too short to tell.
 */
static bool dtls_starts_clear(const struct sk_buff *skb, u8 first)
{
	u8 buf[2];
	const u8 *p;

	if ((first & DTLS13_HDR_FIXED_MASK) == DTLS13_HDR_FIXED)
		return false;
	p = skb_header_pointer(skb, DTLS_HDR_EPOCH, sizeof(buf), buf);
	return !p || !get_unaligned_be16(p);
}

/*
 * Softirq, or a task with BH off: the peer a datagram is for, held, by the
 * connection ID of its first record if that has one, else by its source
 * address.  *@whole: it goes up whole, with the id of the peer returned
 * (if any, the one at its address): it starts with an epoch-0 record, is
 * empty, or has a connection ID that is no peer's.
 */
struct dtls_peer_ctx *dtls_peer_rx_find(struct dtls_peers *peers,
					struct sk_buff *skb, bool *by_cid,
					bool *whole)
{
	u8 cid_len = READ_ONCE(peers->rx_cid_len);
	u8 buf[DTLS_CID_MAX_SIZE];
	struct dtls_cid_key key;
	struct dtls_peer_ctx *peer;
	struct dtls_addr a;
	unsigned int off;
	const u8 *p;

	*by_cid = false;
	*whole = true;
	p = skb_header_pointer(skb, 0, 1, buf);
	off = p && cid_len ? dtls_cid_offset(p[0]) : 0;
	*whole = !p || (!off && dtls_starts_clear(skb, p[0]));

	rcu_read_lock();
	peer = NULL;
	if (off) {
		/* one cut short is no peer's either */
		key.cid = skb_header_pointer(skb, off, cid_len, buf);
		key.len = cid_len;
		if (key.cid)
			peer = rhashtable_lookup(&peers->by_cid, &key,
						 dtls_cid_params);
		*by_cid = !!peer;
		*whole = !peer;
	}
	if (!peer) {
		dtls_addr_from_skb(&a, skb);
		peer = rhashtable_lookup(&peers->by_addr, &a,
					 dtls_addr_params);
	}
	peer = dtls_peer_get_rcu(peer);
	rcu_read_unlock();
	return peer;
}

/*
 * A peer found by connection ID moves to @a (RFC 9146 6).  A peer that
 * was at @a loses it: the authentic record says who is there now.
 */
static bool dtls_peer_move(struct dtls_peers *peers, struct dtls_peer_ctx *peer,
			   const struct dtls_addr *a)
{
	struct dtls_peer_ctx *old;
	bool moved = false;

	spin_lock_bh(&peers->lock);
	if (peer->dead ||
	    (peer->addr_hashed && !memcmp(&peer->addr, a, sizeof(*a))))
		goto out;
	rcu_read_lock();
	old = rhashtable_lookup(&peers->by_addr, a, dtls_addr_params);
	rcu_read_unlock();
	if (old) {
		rhashtable_remove_fast(&peers->by_addr, &old->addr_node,
				       dtls_addr_params);
		old->addr_hashed = false;
	}
	if (peer->addr_hashed)
		rhashtable_remove_fast(&peers->by_addr, &peer->addr_node,
				       dtls_addr_params);
	/*
	 * A lookup that still walks past the peer may compare a half-written
	 * key: at worst it finds this peer, whose keys then decide.
	 */
	peer->addr = *a;
	peer->addr_hashed = !rhashtable_insert_fast(&peers->by_addr,
						    &peer->addr_node,
						    dtls_addr_params);
	moved = true;
out:
	spin_unlock_bh(&peers->lock);
	return moved;
}

/*
 * The verdict on a record of @peer: its counts, and whether it moves.  An
 * epoch-0 record after a protected one in a datagram counts for neither.
 */
void dtls_peer_verdict(struct dtls_peers *peers, struct dtls_peer_ctx *peer,
		       struct dtls_rec *rec, enum dtls_verdict v, bool by_cid)
{
	struct dtls_addr a;

	if (!dtls_verdict_passed(v))
		atomic_long_inc(&peer->rx_dropped);
	if (v != DTLS_PASS)
		return;
	atomic_long_inc(&peer->rx_records);
	if (!by_cid || !rec->newest)
		return;
	dtls_addr_from_skb(&a, rec->skb);
	/*
	 * A first look without the lock: a peer that stays takes none.  One
	 * that lost its address to another peer moves even back to it.
	 */
	if (data_race(peer->addr_hashed &&
		      !memcmp(&a, &peer->addr, sizeof(a))))
		return;
	if (dtls_peer_move(peers, peer, &a))
		rec->flags |= DTLS_RECORD_F_MOVED;
}

/*
 * A send: the peer @id names, else the one at @addr; held.  NULL: none
 * (ENOENT for an @id).
 */
struct dtls_peer_ctx *dtls_peer_tx_find(struct dtls_peers *peers, u32 id,
					const struct sockaddr *addr, int addr_len)
{
	struct dtls_peer_ctx *peer;
	struct dtls_addr a;

	if (!id && dtls_addr_from_sockaddr(&a, addr, addr_len))
		return NULL;
	rcu_read_lock();
	if (id)
		peer = rhashtable_lookup(&peers->by_id, &id, dtls_id_params);
	else
		peer = rhashtable_lookup(&peers->by_addr, &a,
					 dtls_addr_params);
	peer = dtls_peer_get_rcu(peer);
	rcu_read_unlock();
	return peer;
}

/* Unhash @peer from every table; under the socket lock. */
static void dtls_peer_unhash(struct dtls_peers *peers, struct dtls_peer_ctx *peer)
{
	spin_lock_bh(&peers->lock);
	peer->dead = true;
	if (peer->addr_hashed)
		rhashtable_remove_fast(&peers->by_addr, &peer->addr_node,
				       dtls_addr_params);
	peer->addr_hashed = false;
	if (peer->rx_cid.len)
		rhashtable_remove_fast(&peers->by_cid, &peer->cid_node,
				       dtls_cid_params);
	rhashtable_remove_fast(&peers->by_id, &peer->id_node, dtls_id_params);
	list_del_rcu(&peer->node);
	spin_unlock_bh(&peers->lock);
}

/* Hash a new peer into every table; under the socket lock. */
static int dtls_peer_hash(struct dtls_peers *peers, struct dtls_peer_ctx *peer)
{
	struct dtls_cid_key key = {
		.cid = peer->rx_cid.cid,
		.len = peer->rx_cid.len,
	};
	int err;

	spin_lock_bh(&peers->lock);
	err = rhashtable_lookup_insert_fast(&peers->by_id, &peer->id_node,
					    dtls_id_params);
	if (err)
		goto out;
	err = rhashtable_lookup_insert_fast(&peers->by_addr, &peer->addr_node,
					    dtls_addr_params);
	if (err)
		goto err_id;
	if (key.len) {
		err = rhashtable_lookup_insert_key(&peers->by_cid, &key,
						   &peer->cid_node,
						   dtls_cid_params);
		if (err)
			goto err_addr;
	}
	peer->addr_hashed = true;
	list_add_tail_rcu(&peer->node, &peers->list);
	goto out;

err_addr:
	rhashtable_remove_fast(&peers->by_addr, &peer->addr_node,
			       dtls_addr_params);
err_id:
	rhashtable_remove_fast(&peers->by_id, &peer->id_node, dtls_id_params);
out:
	spin_unlock_bh(&peers->lock);
	return err;
}

/* DTLS_PEER_NEW, under the socket lock */
int dtls_peer_new(struct sock *sk, struct dtls_peers *peers,
		  sockptr_t optval, unsigned int optlen)
{
	struct dtls_peer_ctx *peer;
	struct dtls_peer *o;
	int err;

	if (optlen != sizeof(*o))
		return -EINVAL;
	o = kmalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_sockptr(o, optval, sizeof(*o)))
		goto out;
	err = -EINVAL;
	if (!o->id || o->flags)
		goto out;
	/* one length, so that a record's CID is read before its peer is known */
	if (o->rx_cid.len && peers->rx_cid_len &&
	    o->rx_cid.len != peers->rx_cid_len)
		goto out;
	err = -ENOSPC;
	if (peers->count >= READ_ONCE(max_peers))
		goto out;

	err = -ENOMEM;
	peer = kzalloc(sizeof(*peer), DTLS_GFP_SOCK);
	if (!peer)
		goto out;
	err = dtls_addr_from_user(sk, &peer->addr, (struct sockaddr *)&o->addr,
				  sizeof(o->addr));
	if (err)
		goto err_free;
	peer->id = o->id;
	peer->tx_cid = o->tx_cid;
	peer->rx_cid = o->rx_cid;
	refcount_set(&peer->refs, 1);
	err = dtls_peer_hash(peers, peer);
	if (err)
		goto err_free;
	/* the context holds the module; a peer may outlive it */
	__module_get(THIS_MODULE);
	peers->count++;
	dtls_stat_inc(sk, DTLS_MIB_PEERS);
	dtls_stat_inc(sk, DTLS_MIB_CURR_PEERS);
	if (peer->rx_cid.len)
		WRITE_ONCE(peers->rx_cid_len, peer->rx_cid.len);
	goto out;

err_free:
	kfree(peer);
out:
	kfree(o);
	return err;
}

static int dtls_peer_get_id(sockptr_t optval, unsigned int optlen, u32 *id)
{
	if (optlen != sizeof(*id))
		return -EINVAL;
	if (copy_from_sockptr(id, optval, sizeof(*id)))
		return -EFAULT;
	return *id ? 0 : -EINVAL;
}

/* DTLS_PEER_DEL, under the socket lock */
int dtls_peer_del(struct sock *sk, struct dtls_peers *peers, sockptr_t optval,
		  unsigned int optlen)
{
	struct dtls_peer_ctx *peer;
	u32 id;
	int err;

	err = dtls_peer_get_id(optval, optlen, &id);
	if (err)
		return err;
	peer = dtls_peer_by_id(peers, id);
	if (!peer)
		return -ENOENT;
	dtls_peer_unhash(peers, peer);
	peers->count--;
	dtls_stat_dec(sk, DTLS_MIB_CURR_PEERS);
	dtls_peer_put(peer);
	return 0;
}

/* The rest of an option's value, from @n bytes on */
static sockptr_t dtls_sockptr_skip(sockptr_t p, size_t n)
{
	if (sockptr_is_kernel(p))
		return KERNEL_SOCKPTR((u8 *)p.kernel + n);
	return USER_SOCKPTR((u8 __user *)p.user + n);
}

/*
 * DTLS_PEER_TX, DTLS_PEER_RX: struct dtls_peer_key, then the crypto_info.
 * The first of a direction installs its keys, a later one DTLS 1.3's next
 * epoch, as DTLS_TX and DTLS_RX do.  Under the socket lock.
 */
int dtls_peer_set_keys(struct sock *sk, struct dtls_peers *peers,
		       sockptr_t optval, unsigned int optlen, bool tx)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_peer_key pk;
	struct dtls_peer_ctx *peer;

	if (optlen < sizeof(pk))
		return -EINVAL;
	if (copy_from_sockptr(&pk, optval, sizeof(pk)))
		return -EFAULT;
	if (!pk.id || pk.reserved)
		return -EINVAL;
	peer = dtls_peer_by_id(peers, pk.id);
	if (!peer)
		return -ENOENT;
	return dtls_set_peer_crypto(sk, ctx, peer,
				    dtls_sockptr_skip(optval, sizeof(pk)),
				    optlen - sizeof(pk), tx);
}

/* DTLS_PEER_INFO: the peer whose id the caller put in, as it is now */
int dtls_peer_info(struct sock *sk, struct dtls_peers *peers,
		   char __user *optval, int __user *optlen)
{
	struct dtls_peer_ctx *peer;
	struct dtls_peer *uapi;
	int len, alen, err;
	u32 id;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0 || len < sizeof(*uapi))
		return -EINVAL;
	if (get_user(id, (u32 __user *)optval))
		return -EFAULT;
	peer = dtls_peer_by_id(peers, id);
	if (!peer)
		return -ENOENT;
	uapi = kzalloc(sizeof(*uapi), GFP_KERNEL);
	if (!uapi)
		return -ENOMEM;
	uapi->id = id;
	uapi->flags = (peer->tx ? DTLS_PEER_F_TX : 0) |
		      (peer->rx ? DTLS_PEER_F_RX : 0);
	dtls_peer_sockaddr(peers, sk->sk_family, peer,
			   (struct sockaddr_storage *)&uapi->addr, &alen);
	uapi->tx_cid = peer->tx_cid;
	uapi->rx_cid = peer->rx_cid;
	err = 0;
	if (copy_to_user(optval, uapi, sizeof(*uapi)) ||
	    put_user(sizeof(*uapi), optlen))
		err = -EFAULT;
	kfree(uapi);
	return err;
}
