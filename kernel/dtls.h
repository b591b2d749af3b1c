/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel DTLS record layer: internal interfaces.
 */
#ifndef _DTLS_H
#define _DTLS_H

#include <crypto/aead.h>
#include <crypto/skcipher.h>
#include <linux/atomic.h>
#include <linux/dtls.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/udp.h>

#include "compat.h"
#include "protocol.h"

/*
 * Memory a socket owns for its life is charged to the memory cgroup of the
 * task that installs the keys.  At the cgroup's limit the install fails
 * with ENOMEM, as any other allocation here may, instead of invoking the
 * cgroup's OOM killer; the caller hears of it, so no warning either.
 */
#define DTLS_GFP_SOCK	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/*
 * One entry per cipher suite: what its crypto_info looks like in DTLS 1.2;
 * in DTLS 1.3 every suite has a 12-byte IV, no explicit nonce, and an
 * sn_key as long as its key for @sn_alg.
 */
struct dtls_cipher_desc {
	u16 cipher_type;
	const char *name;	/* in /proc/net/dtls */
	u8 key_size;
	u8 iv_size;		/* salt (GCM, CCM) or IV (ChaCha20) */
	u8 tag_size;
	u8 explicit_size;	/* explicit nonce in the record body */
	bool ccm;		/* kernel ccm(aes) wants a 16-byte IV */
	const char *alg;
	const char *sn_alg;	/* DTLS 1.3 record number encryption */
	bool sn_keystream;	/* its mask is key stream, the sample its IV */
	/* DTLS 1.3 usage limits per epoch: records protected, forged */
	u64 conf_limit;
	u64 forged_limit;
	u64 forged_max;		/* as far as DTLS_KEY_LIMITS may raise it */
};

#define DTLS_INFO_KEY_OFFSET	sizeof(struct dtls_crypto_info)

union dtls_crypto_info_all {
	struct dtls_crypto_info info;
	struct dtls12_crypto_info_aes_gcm_128 aes_gcm_128;
	struct dtls12_crypto_info_aes_gcm_256 aes_gcm_256;
	struct dtls12_crypto_info_aes_ccm_128 aes_ccm_128;
	struct dtls12_crypto_info_aes_ccm_8_128 aes_ccm_8_128;
	struct dtls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
	struct dtls13_crypto_info_aes_gcm_128 aes_gcm_128_13;
	struct dtls13_crypto_info_aes_gcm_256 aes_gcm_256_13;
	struct dtls13_crypto_info_aes_ccm_128 aes_ccm_128_13;
	struct dtls13_crypto_info_aes_ccm_8_128 aes_ccm_8_128_13;
	struct dtls13_crypto_info_chacha20_poly1305 chacha20_poly1305_13;
};

/* Keys and nonce material of one direction. */
struct dtls_crypto {
	const struct dtls_cipher_desc *desc;
	struct crypto_aead *aead;
	struct crypto_sync_skcipher *sn;	/* DTLS 1.3: record numbers */
	u16 version;
	u8 iv[DTLS_NONCE_SIZE];		/* salt or static IV */
	u16 epoch;
	union dtls_crypto_info_all info;	/* as installed, for getsockopt */
};

static inline bool dtls_is_13(const struct dtls_crypto *c)
{
	return c->version == DTLS_1_3_VERSION;
}

/* RFC 6347 4.1.2.6 anti-replay window, kept as an RFC 6479 ring of bits. */
struct dtls_replay {
	spinlock_t lock;	/* serialises updates of next and bitmap */
	u64 next;		/* highest accepted sequence number + 1 */
	u32 size;		/* records covered below next */
	u32 mask;		/* number of bitmap words - 1 */
	unsigned long *bitmap;
};

/*
 * The caller's pages a send's plaintext is read from: a GSO batch (less
 * than 64 KiB) anywhere in memory, and those of one record (2^14 bytes).
 */
#define DTLS_TX_PAGES		(DIV_ROUND_UP(0x10000, PAGE_SIZE) + 1)
#define DTLS_TX_REC_PAGES	(DIV_ROUND_UP(DTLS_MAX_PLAINTEXT, PAGE_SIZE) + 1)

/*
 * Where records are sealed when they cannot be in a page fragment
 * (dtls_tx_out_get()): a connected socket's own, or the one all the peers
 * of a socket share under its send lock.
 */
struct dtls_tx_buf {
	u8 *data;
	size_t size;
};

/*
 * Everything after @lock is used under it, so one of each serves.  The
 * socket lock is not taken to send: UDP's own sendmsg() needs it only to
 * cork, which a DTLS socket refuses, and taking it would cost each record
 * the lock, the backlog and UDP's release_cb.
 */
struct dtls_tx {
	struct mutex lock;		/* serialises the senders */
	struct dtls_crypto crypto;
	struct dtls_cid cid;		/* the peer's, in every record */
	u64 seq;			/* next sequence number */
	u64 records;			/* sent, for /proc/net/dtls */
	/*
	 * The epoch's sequence numbers from @limit on are not to be used (DTLS
	 * 1.3's usage limit, else the end of them); from @due_at on, poll()
	 * reports that the keys are @due for an update.
	 */
	u64 limit;
	u64 due_at;
	bool due;
	struct aead_request *req;
	struct crypto_wait wait;
	struct dtls_tx_buf buf;		/* one record, or a GSO batch */
	u8 iv[DTLS_MAX_IV_SIZE];
	u8 aad[DTLS_AAD_MAX];
	/* DTLS 1.3 or a CID: content type and padding; 1.3: number mask */
	u8 trailer[DTLS13_SN_SAMPLE];
	u8 mask[DTLS13_SN_SAMPLE];
	struct scatterlist dst[2];	/* aad, body */
	/* aad, caller's pages, trailer */
	struct scatterlist src[1 + DTLS_TX_REC_PAGES + 1];
	/* The send's plaintext from pin_off in pages[0] on, if npages */
	struct page *pages[DTLS_TX_PAGES];
	unsigned int npages;
	unsigned int pin_off;
};

struct dtls_rx;
struct dtls_peers;
struct dtls_peer_ctx;

/* Per-socket totals, for /proc/net/dtls */
enum dtls_sk_stat {
	DTLS_SK_TX_RECORDS,
	DTLS_SK_RX_RECORDS,
	DTLS_SK_RX_PLAINTEXT,
	DTLS_SK_RX_DROPPED,	/* records with any drop verdict */
	DTLS_SK_STAT_MAX
};

struct dtls_context {
	struct proto *sk_proto;		/* the UDP proto the socket had */
	const struct proto_ops *sk_ops;	/* its proto_ops, once replaced */
	struct dtls_tx *tx;		/* set under lock_sock, then for good */
	struct dtls_rx __rcu *rx;	/* read in softirq under RCU */
	/* A socket with many peers (peer.c): set once, before rx */
	struct dtls_peers *peers;
	u32 replay_window;		/* for the coming DTLS_RX */
	/* Connection IDs for the coming DTLS_TX and DTLS_RX */
	struct dtls_cid tx_cid;
	struct dtls_cid rx_cid;
	u16 gso_size;			/* UDP_SEGMENT: plaintext per record */
	struct sock *sk;
	struct list_head proc_node;	/* in its namespace's list (proc.c) */
	atomic_long_t stats[DTLS_SK_STAT_MAX];
	struct rcu_work free_work;
};

/*
 * Process context, in a method of the module's protos: the context is set
 * before the socket gets one of them and detached only in dtls_close().
 */
static inline struct dtls_context *dtls_get_ctx(const struct sock *sk)
{
	uintptr_t p = (uintptr_t)rcu_dereference_protected(__sk_user_data(sk),
							   true);

	return (struct dtls_context *)(p & SK_USER_DATA_PTRMASK);
}

/* Softirq receive path, under RCU. */
static inline struct dtls_context *dtls_get_ctx_rcu(const struct sock *sk)
{
	return (struct dtls_context *)rcu_dereference_sk_user_data(sk);
}

static inline u64 dtls_rec_num(u16 epoch, u64 seq)
{
	return (u64)epoch << DTLS_SEQ_BITS | seq;
}

/* main.c */
extern struct workqueue_struct *dtls_wq;
int dtls_set_peer_crypto(struct sock *sk, struct dtls_context *ctx,
			 struct dtls_peer_ctx *peer, sockptr_t optval,
			 unsigned int optlen, bool tx);

/* cipher.c */
const struct dtls_cipher_desc *dtls_cipher_find(u16 cipher_type);
void dtls_cipher_check_layout(void);
unsigned int dtls_info_size(const struct dtls_cipher_desc *desc, u16 version);
int dtls_crypto_init(struct dtls_crypto *c, const struct dtls_cipher_desc *desc,
		     const union dtls_crypto_info_all *info);
void dtls_crypto_free(struct dtls_crypto *c);
u64 dtls_info_rec_num(const struct dtls_cipher_desc *desc,
		      const union dtls_crypto_info_all *info);
void dtls_info_set_rec_num(const struct dtls_cipher_desc *desc,
			   union dtls_crypto_info_all *info, u64 rec_num);
void dtls_make_iv(const struct dtls_crypto *c, const u8 *rec_num,
		  const u8 *explicit_nonce, u8 *iv);
void dtls_make_aad(u8 *aad, const u8 *rec_num, u8 type, u16 plaintext_len);
unsigned int dtls12_make_cid_aad(u8 *aad, const u8 *rec_num,
				 const struct dtls_cid *cid, u16 inner_len);
void dtls13_make_iv(const struct dtls_crypto *c, u64 seq, u8 *iv);
int dtls13_sn_mask(const struct dtls_crypto *c, const u8 *sample, u8 *mask);

/* tx.c */
struct dtls_tx *dtls_tx_create(const struct dtls_cipher_desc *desc,
			       const union dtls_crypto_info_all *info,
			       const struct dtls_cid *cid);
int dtls_tx_rekey(struct dtls_tx *tx, const struct dtls_cipher_desc *desc,
		  const union dtls_crypto_info_all *info);
void dtls_tx_destroy(struct dtls_tx *tx);
int dtls_sendmsg(struct sock *sk, struct msghdr *msg, size_t size);

/* limits.c */
void dtls_key_update_due(struct sock *sk);
void dtls_key_expired(struct sock *sk);
void dtls_tx_limit_init(struct dtls_tx *tx);
void dtls_tx_spent(struct sock *sk, struct dtls_tx *tx, u64 seq);
bool dtls_key_poll_due(struct dtls_context *ctx);
int dtls_set_key_limits(struct sock *sk, struct dtls_context *ctx,
			sockptr_t optval, unsigned int optlen);
int dtls_get_key_usage(struct dtls_context *ctx, char __user *optval,
		       int __user *optlen, bool limits);

/* replay.c */
int dtls_replay_init(struct dtls_replay *r, u32 size, u64 next);
void dtls_replay_free(struct dtls_replay *r);
bool dtls_replay_check(const struct dtls_replay *r, u64 seq);
bool dtls_replay_update(struct dtls_replay *r, u64 seq, bool *newest);
u64 dtls_replay_next(const struct dtls_replay *r);

/* proc.c */
enum dtls_mib_field {
	DTLS_MIB_CURR_TX_SW,
	DTLS_MIB_CURR_RX_SW,
	DTLS_MIB_TX_SW,
	DTLS_MIB_RX_SW,
	DTLS_MIB_TX_RECORDS,
	DTLS_MIB_TX_ERROR,
	DTLS_MIB_RX_RECORDS,
	DTLS_MIB_RX_PLAINTEXT,
	DTLS_MIB_RX_DECRYPT_ERROR,
	DTLS_MIB_RX_REPLAY,
	DTLS_MIB_RX_MALFORMED,
	DTLS_MIB_RX_BAD_VERSION,
	DTLS_MIB_RX_UNKNOWN_EPOCH,
	DTLS_MIB_RX_DROPPED,
	DTLS_MIB_TX_KEY_EXPIRED,
	DTLS_MIB_RX_KEY_EXPIRED,
	DTLS_MIB_RX_UNKNOWN_CID,
	DTLS_MIB_CURR_PEERS,
	DTLS_MIB_PEERS,
	DTLS_MIB_RX_PEER_MOVED,
	DTLS_MIB_RX_DATAGRAMS,
	DTLS_MIB_MAX
};

int dtls_proc_init(void);
void dtls_proc_exit(void);
void dtls_proc_link(struct sock *sk, struct dtls_context *ctx);
void dtls_proc_unlink(struct sock *sk, struct dtls_context *ctx);
void dtls_stat_add(const struct net *net, enum dtls_mib_field f, long v);
void dtls_sk_stat_add(const struct sock *sk, enum dtls_mib_field f, long v);
long dtls_stat_get(const struct net *net, enum dtls_mib_field f);

static inline void dtls_stat_inc(const struct sock *sk, enum dtls_mib_field f)
{
	dtls_sk_stat_add(sk, f, 1);
}

static inline void dtls_stat_dec(const struct sock *sk, enum dtls_mib_field f)
{
	dtls_sk_stat_add(sk, f, -1);
}

#endif /* _DTLS_H */
