// SPDX-License-Identifier: GPL-2.0
/*
 * What /proc shows: the per-network-namespace counters in
 * /proc/net/dtls_stat and, in /proc/net/dtls, one line per DTLS socket.
 */

#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "dtls.h"
#include "peer.h"
#include "rx.h"

struct dtls_net {
	long __percpu *mib;	/* DTLS_MIB_MAX counters per CPU */
	spinlock_t lock;	/* serialises the list with its readers */
	struct list_head sockets;
};

static unsigned int dtls_net_id __read_mostly;

static const char * const dtls_mib_names[DTLS_MIB_MAX] = {
	[DTLS_MIB_CURR_TX_SW]		= "DtlsCurrTxSw",
	[DTLS_MIB_CURR_RX_SW]		= "DtlsCurrRxSw",
	[DTLS_MIB_TX_SW]		= "DtlsTxSw",
	[DTLS_MIB_RX_SW]		= "DtlsRxSw",
	[DTLS_MIB_TX_RECORDS]		= "DtlsTxRecords",
	[DTLS_MIB_TX_ERROR]		= "DtlsTxError",
	[DTLS_MIB_RX_RECORDS]		= "DtlsRxRecords",
	[DTLS_MIB_RX_PLAINTEXT]		= "DtlsRxPlaintext",
	[DTLS_MIB_RX_DECRYPT_ERROR]	= "DtlsRxDecryptError",
	[DTLS_MIB_RX_REPLAY]		= "DtlsRxReplay",
	[DTLS_MIB_RX_MALFORMED]		= "DtlsRxMalformed",
	[DTLS_MIB_RX_BAD_VERSION]	= "DtlsRxBadVersion",
	[DTLS_MIB_RX_UNKNOWN_EPOCH]	= "DtlsRxUnknownEpoch",
	[DTLS_MIB_RX_DROPPED]		= "DtlsRxDropped",
	[DTLS_MIB_TX_KEY_EXPIRED]	= "DtlsTxKeyExpired",
	[DTLS_MIB_RX_KEY_EXPIRED]	= "DtlsRxKeyExpired",
	[DTLS_MIB_RX_UNKNOWN_CID]	= "DtlsRxUnknownCid",
	[DTLS_MIB_CURR_PEERS]		= "DtlsCurrPeers",
	[DTLS_MIB_PEERS]		= "DtlsPeers",
	[DTLS_MIB_RX_PEER_MOVED]	= "DtlsRxPeerMoved",
	[DTLS_MIB_RX_DATAGRAMS]		= "DtlsRxDatagrams",
};

void dtls_stat_add(const struct net *net, enum dtls_mib_field f, long v)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	this_cpu_add(dn->mib[f], v);
}

/* The socket's own total a namespace counter adds to, if any */
static int dtls_sk_stat_of(enum dtls_mib_field f)
{
	switch (f) {
	case DTLS_MIB_TX_RECORDS:
		return DTLS_SK_TX_RECORDS;
	case DTLS_MIB_RX_RECORDS:
		return DTLS_SK_RX_RECORDS;
	case DTLS_MIB_RX_PLAINTEXT:
		return DTLS_SK_RX_PLAINTEXT;
	case DTLS_MIB_RX_DECRYPT_ERROR:
	case DTLS_MIB_RX_REPLAY:
	case DTLS_MIB_RX_MALFORMED:
	case DTLS_MIB_RX_BAD_VERSION:
	case DTLS_MIB_RX_UNKNOWN_EPOCH:
	case DTLS_MIB_RX_DROPPED:
	case DTLS_MIB_RX_KEY_EXPIRED:
	case DTLS_MIB_RX_UNKNOWN_CID:
		return DTLS_SK_RX_DROPPED;
	default:
		return -1;
	}
}

/* Count in @sk's namespace and, while it has its context, in @sk's totals */
void dtls_sk_stat_add(const struct sock *sk, enum dtls_mib_field f, long v)
{
	int s = dtls_sk_stat_of(f);
	struct dtls_context *ctx;

	dtls_stat_add(sock_net(sk), f, v);
	if (s < 0)
		return;
	rcu_read_lock();
	ctx = dtls_get_ctx_rcu(sk);
	if (ctx)
		atomic_long_add(v, &ctx->stats[s]);
	rcu_read_unlock();
}

long dtls_stat_get(const struct net *net, enum dtls_mib_field f)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(dn->mib, cpu)[f];
	return sum;
}

static int dtls_stat_show(struct seq_file *seq, void *v)
{
	const struct net *net = seq_file_single_net(seq);
	int f;

	for (f = 0; f < DTLS_MIB_MAX; f++)
		seq_printf(seq, "%-32s\t%ld\n", dtls_mib_names[f],
			   dtls_stat_get(net, f));
	return 0;
}

/*
 * A socket is listed from its first SOL_DTLS option until close() begins.
 * The list lock is taken inside the socket lock (dtls_ctx_create()), so a
 * reader, which holds it across each line, takes no socket lock: what a
 * line shows is read without stopping the data path.
 */
void dtls_proc_link(struct sock *sk, struct dtls_context *ctx)
{
	struct dtls_net *dn = net_generic(sock_net(sk), dtls_net_id);

	ctx->sk = sk;
	spin_lock(&dn->lock);
	list_add_tail(&ctx->proc_node, &dn->sockets);
	spin_unlock(&dn->lock);
}

void dtls_proc_unlink(struct sock *sk, struct dtls_context *ctx)
{
	struct dtls_net *dn = net_generic(sock_net(sk), dtls_net_id);

	spin_lock(&dn->lock);
	list_del(&ctx->proc_node);
	spin_unlock(&dn->lock);
}

/*
 * A line of /proc/net/dtls: a socket's own, or (@peer) one of its peers'.
 * The peers are walked under RCU: a deleted one is freed a grace period
 * later, and all of them only after their socket left the list.
 */
struct dtls_seq_iter {
	struct seq_net_private p;
	struct dtls_context *ctx;
	struct dtls_peer_ctx *peer;
};

static struct dtls_peer_ctx *dtls_seq_first_peer(struct dtls_context *ctx)
{
	struct dtls_peers *peers = READ_ONCE(ctx->peers);

	return peers ? list_first_or_null_rcu(&peers->list,
					      struct dtls_peer_ctx, node) : NULL;
}

/* The line after @it's, NULL at the end */
static void *dtls_seq_step(struct dtls_net *dn, struct dtls_seq_iter *it)
{
	if (it->peer) {
		it->peer = list_next_or_null_rcu(&it->ctx->peers->list,
						 &it->peer->node,
						 struct dtls_peer_ctx, node);
	} else {
		it->peer = dtls_seq_first_peer(it->ctx);
	}
	if (it->peer)
		return it;
	if (list_is_last(&it->ctx->proc_node, &dn->sockets))
		return NULL;
	it->ctx = list_next_entry(it->ctx, proc_node);
	return it;
}

static void *dtls_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(&dn->lock)
{
	struct dtls_net *dn = net_generic(seq_file_net(seq), dtls_net_id);
	struct dtls_seq_iter *it = seq->private;
	void *v = it;
	loff_t n;

	rcu_read_lock();
	spin_lock(&dn->lock);
	if (!*pos)
		return SEQ_START_TOKEN;
	if (list_empty(&dn->sockets))
		return NULL;
	it->ctx = list_first_entry(&dn->sockets, struct dtls_context,
				   proc_node);
	it->peer = NULL;
	for (n = 1; v && n < *pos; n++)
		v = dtls_seq_step(dn, it);
	return v;
}

static void *dtls_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct dtls_net *dn = net_generic(seq_file_net(seq), dtls_net_id);
	struct dtls_seq_iter *it = seq->private;

	++*pos;
	if (v != SEQ_START_TOKEN)
		return dtls_seq_step(dn, it);
	if (list_empty(&dn->sockets))
		return NULL;
	it->ctx = list_first_entry(&dn->sockets, struct dtls_context,
				   proc_node);
	it->peer = NULL;
	return it;
}

static void dtls_seq_stop(struct seq_file *seq, void *v)
	__releases(&dn->lock)
{
	struct dtls_net *dn = net_generic(seq_file_net(seq), dtls_net_id);

	spin_unlock(&dn->lock);
	rcu_read_unlock();
}

/* The socket's addresses, as UDP holds them */
static void dtls_seq_addrs(const struct sock *sk, struct sockaddr_storage *src,
			   struct sockaddr_storage *dst)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)dst;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = sk->sk_v6_rcv_saddr;
		s6->sin6_port = inet->inet_sport;
		d6->sin6_family = AF_INET6;
		d6->sin6_addr = sk->sk_v6_daddr;
		d6->sin6_port = inet->inet_dport;
		return;
	}
#endif
	((struct sockaddr_in *)src)->sin_family = AF_INET;
	((struct sockaddr_in *)src)->sin_addr.s_addr = inet->inet_rcv_saddr;
	((struct sockaddr_in *)src)->sin_port = inet->inet_sport;
	((struct sockaddr_in *)dst)->sin_family = AF_INET;
	((struct sockaddr_in *)dst)->sin_addr.s_addr = inet->inet_daddr;
	((struct sockaddr_in *)dst)->sin_port = inet->inet_dport;
}

static void dtls_seq_cid(struct seq_file *seq, const struct dtls_cid *cid)
{
	unsigned int i;

	if (!cid->len)
		seq_puts(seq, " -");
	else
		seq_putc(seq, ' ');
	for (i = 0; i < cid->len; i++)
		seq_printf(seq, "%02x", cid->cid[i]);
}

static const char *dtls_seq_version(u16 version)
{
	return version == DTLS_1_3_VERSION ? "1.3" : "1.2";
}

/* version cipher tx_epoch tx_next, or dashes without TX keys */
static void dtls_seq_tx(struct seq_file *seq, const struct dtls_tx *tx)
{
	if (!tx) {
		seq_puts(seq, " - - - -");
		return;
	}
	seq_printf(seq, " %s %s %u %llu",
		   dtls_seq_version(tx->crypto.version), tx->crypto.desc->name,
		   READ_ONCE(tx->crypto.epoch), READ_ONCE(tx->seq));
}

/*
 * rx_epoch rx_next window: the current epoch's next expected number; the
 * window of the coming keys while there are none
 */
static void dtls_seq_rx(struct seq_file *seq, const struct dtls_rx_keys *k,
			u32 window)
{
	const struct dtls_rx_epoch *e = NULL;

	if (k)
		e = dtls_rx_epoch_rcu(k, READ_ONCE(k->epoch));
	if (e)
		seq_printf(seq, " %u %llu %u", e->crypto.epoch,
			   dtls_replay_next(&e->replay), k->window);
	else
		seq_printf(seq, " - - %u", window);
}

static void dtls_seq_socket(struct seq_file *seq, struct dtls_context *ctx)
{
	struct sockaddr_storage src, dst;
	const struct dtls_rx *rx;
	int i;

	dtls_seq_addrs(ctx->sk, &src, &dst);
	seq_printf(seq, "%pISpc %pISpc", &src, &dst);
	dtls_seq_tx(seq, READ_ONCE(ctx->tx));
	rx = rcu_dereference(ctx->rx);
	dtls_seq_rx(seq, rx ? rx->keys : NULL, READ_ONCE(ctx->replay_window));
	dtls_seq_cid(seq, &ctx->tx_cid);
	dtls_seq_cid(seq, &ctx->rx_cid);
	for (i = 0; i < DTLS_SK_STAT_MAX; i++)
		seq_printf(seq, " %ld", atomic_long_read(&ctx->stats[i]));
	seq_printf(seq, " %lu\n", sock_i_ino(ctx->sk));
}

/*
 * A peer: "peer:ID" where the socket has its local address, its address
 * where the remote one, and its own counts; no epoch-0 records.
 */
static void dtls_seq_peer(struct seq_file *seq, struct dtls_context *ctx,
			  struct dtls_peer_ctx *peer)
{
	const struct dtls_tx *tx = dtls_peer_tx(peer);
	struct sockaddr_storage addr;
	int len;

	dtls_peer_sockaddr(ctx->peers, ctx->sk->sk_family, peer, &addr, &len);
	seq_printf(seq, "peer:%u %pISpc", peer->id, &addr);
	dtls_seq_tx(seq, tx);
	dtls_seq_rx(seq, dtls_peer_rx_keys(peer), READ_ONCE(ctx->replay_window));
	dtls_seq_cid(seq, &peer->tx_cid);
	dtls_seq_cid(seq, &peer->rx_cid);
	seq_printf(seq, " %llu %ld - %ld %lu\n", tx ? READ_ONCE(tx->records) : 0,
		   atomic_long_read(&peer->rx_records),
		   atomic_long_read(&peer->rx_dropped), sock_i_ino(ctx->sk));
}

#define DTLS_PROC_HEADER \
	"local remote version cipher tx_epoch tx_next rx_epoch rx_next window tx_cid rx_cid tx_records rx_records rx_plaintext rx_dropped inode\n"

static int dtls_seq_show(struct seq_file *seq, void *v)
{
	struct dtls_seq_iter *it = v;

	if (v == SEQ_START_TOKEN)
		seq_puts(seq, DTLS_PROC_HEADER);
	else if (it->peer)
		dtls_seq_peer(seq, it->ctx, it->peer);
	else
		dtls_seq_socket(seq, it->ctx);
	return 0;
}

static const struct seq_operations dtls_seq_ops = {
	.start = dtls_seq_start,
	.next = dtls_seq_next,
	.stop = dtls_seq_stop,
	.show = dtls_seq_show,
};

static int __net_init dtls_net_init(struct net *net)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	spin_lock_init(&dn->lock);
	INIT_LIST_HEAD(&dn->sockets);
	dn->mib = __alloc_percpu(sizeof(long) * DTLS_MIB_MAX,
				 __alignof__(long));
	if (!dn->mib)
		return -ENOMEM;

	if (!proc_create_net_single("dtls_stat", 0444, net->proc_net,
				    dtls_stat_show, NULL))
		goto err;
	if (!proc_create_net("dtls", 0444, net->proc_net, &dtls_seq_ops,
			     sizeof(struct dtls_seq_iter))) {
		remove_proc_entry("dtls_stat", net->proc_net);
		goto err;
	}
	return 0;
err:
	free_percpu(dn->mib);
	return -ENOMEM;
}

static void __net_exit dtls_net_exit(struct net *net)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	remove_proc_entry("dtls", net->proc_net);
	remove_proc_entry("dtls_stat", net->proc_net);
	free_percpu(dn->mib);
}

static struct pernet_operations dtls_net_ops = {
	.init = dtls_net_init,
	.exit = dtls_net_exit,
	.id = &dtls_net_id,
	.size = sizeof(struct dtls_net),
};

int dtls_proc_init(void)
{
	return register_pernet_subsys(&dtls_net_ops);
}

void dtls_proc_exit(void)
{
	unregister_pernet_subsys(&dtls_net_ops);
}
