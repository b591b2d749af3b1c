/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening one received record, DTLS 1.2 or 1.3: its representation, the
 * AEAD request that opens it and the verdict (record.c).  Both feeders of the receive path,
 * UDP's hook and the UDP_GRO reader, open every record through here.
 */
#ifndef _DTLS_RECORD_H
#define _DTLS_RECORD_H

#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>

#include "dtls.h"

struct dtls_rx_keys;
struct dtls_rx_epoch;

/*
 * A record in @skb.  Before it is opened, [@body, @body + @ptlen) is its
 * whole body; once it passed, only the plaintext.
 */
struct dtls_rec {
	struct sk_buff *skb;
	unsigned int off;	/* its header */
	unsigned int end;	/* where the next record starts */
	unsigned int body;
	unsigned int ptlen;
	u64 rec_num;		/* epoch || seq */
	u8 type;
	u8 flags;		/* DTLS_RECORD_F_PROTECTED once authenticated */
	bool newest;		/* passed, and the highest number yet */
	u32 peer_id;		/* its peer's, on a socket with many */
	/* the epoch whose keys open it, from the checks to the verdict */
	struct dtls_rx_epoch *ep;
};

/* What happened to a record; only a drop has a reason. */
enum dtls_verdict {
	DTLS_PASS,		/* authenticated with the RX keys */
	DTLS_PASS_CLEAR,	/* an epoch-0 record, passed up as it is */
	DTLS_PENDING,		/* the AEAD completes asynchronously */
	DTLS_DROP_MALFORMED,
	DTLS_DROP_BAD_VERSION,
	DTLS_DROP_UNKNOWN_EPOCH,
	DTLS_DROP_UNKNOWN_CID,	/* not the connection ID this end asked for */
	DTLS_DROP_REPLAY,
	DTLS_DROP_FORGED,
	/* DTLS 1.3: forged, and half way to its epoch's limit; at it */
	DTLS_DROP_FORGED_DUE,
	DTLS_DROP_FORGED_LIMIT,
	DTLS_DROP_KEY_EXPIRED,	/* its epoch reached the limit before */
	DTLS_DROP_NOMEM,	/* no memory, or no room in the AEAD's queue */
};

static inline bool dtls_verdict_passed(enum dtls_verdict v)
{
	return v == DTLS_PASS || v == DTLS_PASS_CLEAR;
}

/*
 * Room for the AAD, then for a record body in the linear part and in every
 * page fragment: the pieces skb_to_sgvec() makes of a skb with no
 * frag_list, which neither feeder opens in place.
 */
#define DTLS_RX_SG		(MAX_SKB_FRAGS + 2)

/* A record header and any explicit nonce, when copied out of the skb */
#define DTLS_REC_HDR_MAX	(DTLS_HEADER_SIZE + DTLS_CID_MAX_SIZE + \
				 DTLS_EXPLICIT_NONCE_SIZE)

/*
 * The request that opens one record at a time, in place, and the record
 * it is on.  Its owner sets how the AEAD completes (@done, @done_data,
 * @req_flags) once; the rest is set up for every record.
 */
struct dtls_rx_req {
	struct dtls_rec rec;
	crypto_completion_t done;
	void *done_data;
	u32 req_flags;
	u8 hdr[DTLS_REC_HDR_MAX];
	u8 iv[DTLS_MAX_IV_SIZE];
	u8 aad[DTLS_AAD_MAX];
	u16 aad_len;
	/* DTLS 1.3: the sample, and the record number mask made from it */
	u8 sample[DTLS13_SN_SAMPLE];
	u8 mask[DTLS13_SN_SAMPLE];
	struct scatterlist sg[DTLS_RX_SG];
	u8 sg_end;			/* the entry last marked as the end */
	struct aead_request req;	/* last: its context follows */
};

/*
 * Once for each request, before its first record: the scatterlist keeps
 * its marks from one record to the next (dtls_rec_decrypt()).
 */
static inline void dtls_rx_req_init(struct dtls_rx_req *rq)
{
	sg_init_table(rq->sg, ARRAY_SIZE(rq->sg));
	rq->sg_end = 0;
}

enum dtls_verdict dtls_rec_open(struct dtls_rx_keys *k, struct dtls_rx_req *rq,
				struct sk_buff *skb, unsigned int off,
				unsigned int end);
enum dtls_verdict dtls_rec_opened(struct dtls_rx_keys *k, struct dtls_rec *rec,
				  int err);
void dtls_verdict_report(struct sock *sk, enum dtls_verdict v);

#endif /* _DTLS_RECORD_H */
