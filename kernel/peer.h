/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Many peers on one unconnected socket (peer.c): each with its own keys,
 * found by connection ID or by address on receive, by address or id on
 * send.
 */
#ifndef _DTLS_PEER_H
#define _DTLS_PEER_H

#include <linux/rhashtable-types.h>

#include "dtls.h"
#include "record.h"

struct dtls_rx_keys;

/* An address and port, IPv4 as v4-mapped: the key of the address table */
struct dtls_addr {
	struct in6_addr addr;
	__be16 port;
	u16 zero;	/* hashed as part of the key */
};

struct dtls_peer_ctx {
	struct rhash_head id_node;
	struct rhash_head addr_node;	/* while @addr_hashed */
	struct rhash_head cid_node;	/* if it has a receive CID */
	u32 id;
	/* Under peers->lock: @addr changes when the peer moves (floats) */
	bool addr_hashed;
	bool dead;			/* deleted: it moves no more */
	struct dtls_addr addr;
	struct dtls_cid tx_cid;
	struct dtls_cid rx_cid;
	refcount_t refs;		/* the tables' one, lookups' */
	/* Installed once each, under the socket lock */
	struct dtls_tx *tx;
	struct dtls_rx_keys *rx;
	struct list_head node;		/* in peers->list, RCU */
	atomic_long_t rx_records;
	atomic_long_t rx_dropped;
	struct rcu_work free_work;
};

struct dtls_peers {
	struct rhashtable by_id;
	struct rhashtable by_addr;
	struct rhashtable by_cid;
	spinlock_t lock;		/* moves, deletes and the list */
	/*
	 * Sends to the peers take turns: they share @buf and, on a kernel
	 * socket, the socket's page fragment.
	 */
	struct mutex send_lock;
	struct dtls_tx_buf buf;
	struct list_head list;
	/* Under the socket lock */
	unsigned int count;
	u8 rx_cid_len;			/* every peer's with a receive CID */
};

struct dtls_peers *dtls_peers_create(void);
void dtls_peers_destroy(struct dtls_peers *peers);
int dtls_peer_new(struct sock *sk, struct dtls_peers *peers,
		  sockptr_t optval, unsigned int optlen);
int dtls_peer_del(struct sock *sk, struct dtls_peers *peers, sockptr_t optval,
		  unsigned int optlen);
int dtls_peer_set_keys(struct sock *sk, struct dtls_peers *peers,
		       sockptr_t optval, unsigned int optlen, bool tx);
int dtls_peer_info(struct sock *sk, struct dtls_peers *peers,
		   char __user *optval, int __user *optlen);

struct dtls_peer_ctx *dtls_peer_rx_find(struct dtls_peers *peers,
					struct sk_buff *skb, bool *by_cid,
					bool *whole);
void dtls_peer_verdict(struct dtls_peers *peers, struct dtls_peer_ctx *peer,
		       struct dtls_rec *rec, enum dtls_verdict v, bool by_cid);
struct dtls_peer_ctx *dtls_peer_tx_find(struct dtls_peers *peers, u32 id,
					const struct sockaddr *addr, int addr_len);
void dtls_peer_sockaddr(struct dtls_peers *peers, int family,
			struct dtls_peer_ctx *peer, struct sockaddr_storage *ss,
			int *len);
void dtls_peer_put(struct dtls_peer_ctx *peer);

/* The peer's RX keys, once installed; softirq */
static inline struct dtls_rx_keys *dtls_peer_rx_keys(struct dtls_peer_ctx *peer)
{
	/* pairs with the release in dtls_peer_set_keys() */
	return smp_load_acquire(&peer->rx);
}

static inline struct dtls_tx *dtls_peer_tx(struct dtls_peer_ctx *peer)
{
	/* pairs with the release in dtls_peer_set_keys() */
	return smp_load_acquire(&peer->tx);
}

#endif /* _DTLS_PEER_H */
