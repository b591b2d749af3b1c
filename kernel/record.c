// SPDX-License-Identifier: GPL-2.0
/*
 * Open one received record: frame it, check its header, build its nonce
 * and additional data, authenticate and decrypt it in place, check the
 * replay window after the tag, and give the verdict.  The only place the
 * module decrypts; UDP's hook (receive.c) and the UDP_GRO reader
 * (reader.c) feed it records where they lie.
 */

#include <crypto/aead.h>

#include "record.h"
#include "rx.h"

/*
 * skb_header_pointer() for a header that may lie in a page fragment, as
 * the records of a UDP_GRO batch do: read it in place when it lies in one
 * fragment, rather than copy it.
 */
static const u8 *dtls_rec_peek(const struct sk_buff *skb, unsigned int off,
			       unsigned int len, u8 *buf)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int start = skb_headlen(skb), end, i;

	if (off + len <= start)
		return skb->data + off;
	for (i = 0; off >= start && i < shinfo->nr_frags; i++, start = end) {
		const skb_frag_t *frag = &shinfo->frags[i];

		end = start + skb_frag_size(frag);
		if (off >= end)
			continue;
		if (off + len > end || PageHighMem(skb_frag_page(frag)))
			break;
		return (const u8 *)skb_frag_address(frag) + off - start;
	}
	return skb_header_pointer(skb, off, len, buf);
}

/*
 * Frame the record at @off of @skb, which may run to @end.  Returns its
 * header (and explicit nonce, when there is room for one), or NULL if the
 * header does not fit: nothing after it can be framed, so the record runs
 * to @end.
 */
static const u8 *dtls_rec_frame(struct dtls_rx_req *rq, struct sk_buff *skb,
				unsigned int off, unsigned int end,
				unsigned int explicit_size)
{
	struct dtls_rec *rec = &rq->rec;
	unsigned int avail = end - off, len;
	const u8 *hdr;

	rec->skb = skb;
	rec->off = off;
	rec->end = end;
	if (avail < DTLS_HEADER_SIZE)
		return NULL;
	hdr = dtls_rec_peek(skb, off,
			    min(avail, DTLS_HEADER_SIZE + explicit_size),
			    rq->hdr);
	if (unlikely(!hdr))
		return NULL;
	len = get_unaligned_be16(hdr + DTLS_HDR_LENGTH);
	if (len > avail - DTLS_HEADER_SIZE)
		return NULL;

	rec->end = off + DTLS_HEADER_SIZE + len;
	rec->body = off + DTLS_HEADER_SIZE;
	rec->ptlen = len;
	rec->rec_num = get_unaligned_be64(hdr + DTLS_HDR_EPOCH);
	rec->type = hdr[DTLS_HDR_TYPE];
	rec->flags = 0;
	return hdr;
}

/* Epoch 0 carries the peer's handshake flight in the clear. */
static enum dtls_verdict dtls_rec_check_clear(const struct dtls_rec *rec,
					      u16 version)
{
	if (version != DTLS_1_2_VERSION && version != DTLS_1_0_VERSION)
		return DTLS_DROP_BAD_VERSION;
	if (rec->type == DTLS_RECORD_TYPE_APPLICATION_DATA ||
	    rec->ptlen > DTLS_MAX_PLAINTEXT)
		return DTLS_DROP_MALFORMED;
	return DTLS_PASS_CLEAR;
}

/*
 * The checks that need no key.  DTLS_PASS here means only that the AEAD
 * may try the record.
 */
static enum dtls_verdict dtls_rec_check(struct dtls_rx *rx,
					const struct dtls_rec *rec,
					const u8 *hdr)
{
	const struct dtls_cipher_desc *desc = rx->crypto.desc;
	unsigned int overhead = desc->explicit_size + desc->tag_size;
	u16 version = get_unaligned_be16(hdr + DTLS_HDR_VERSION);
	u16 epoch = rec->rec_num >> DTLS_SEQ_BITS;

	if (!dtls_content_type_valid(DTLS_1_2_VERSION, rec->type))
		return DTLS_DROP_MALFORMED;
	if (!epoch)
		return dtls_rec_check_clear(rec, version);
	if (version != DTLS_1_2_VERSION)
		return DTLS_DROP_BAD_VERSION;
	if (epoch != rx->crypto.epoch)
		return DTLS_DROP_UNKNOWN_EPOCH;
	if (rec->ptlen < overhead || rec->ptlen - overhead > DTLS_MAX_PLAINTEXT)
		return DTLS_DROP_MALFORMED;
	/* Cheap early drop; the window itself moves only after the tag. */
	if (!dtls_replay_check(&rx->replay, rec->rec_num & DTLS_SEQ_MAX))
		return DTLS_DROP_REPLAY;
	return DTLS_PASS;
}

/* Start the AEAD on the record's body, in place. */
static int dtls_rec_decrypt(struct dtls_rx *rx, struct dtls_rx_req *rq,
			    const u8 *hdr)
{
	const struct dtls_cipher_desc *desc = rx->crypto.desc;
	struct dtls_rec *rec = &rq->rec;
	unsigned int clen;
	int nsg;

	rec->body += desc->explicit_size;
	rec->ptlen -= desc->explicit_size + desc->tag_size;
	clen = rec->ptlen + desc->tag_size;

	dtls_make_iv(&rx->crypto, hdr + DTLS_HDR_EPOCH, hdr + DTLS_HEADER_SIZE,
		     rq->iv);
	dtls_make_aad(rq->aad, hdr + DTLS_HDR_EPOCH, rec->type, rec->ptlen);
	/*
	 * skb_to_sgvec() keeps the marks of the entries it fills and marks
	 * its last one: clear the end the last record left, which would cut
	 * a longer body short, rather than initialise the whole table.
	 */
	sg_unmark_end(&rq->sg[rq->sg_end]);
	sg_set_buf(&rq->sg[0], rq->aad, DTLS_AAD_SIZE);
	nsg = skb_to_sgvec(rec->skb, &rq->sg[1], rec->body, clen);
	if (unlikely(nsg < 0))
		return nsg;
	rq->sg_end = nsg;

	/*
	 * Set up the whole request for every record: cryptd leaves its own
	 * inner transform and callback in a request it completed.
	 */
	aead_request_set_tfm(&rq->req, rx->crypto.aead);
	aead_request_set_callback(&rq->req, rq->req_flags, rq->done,
				  rq->done_data);
	aead_request_set_ad(&rq->req, DTLS_AAD_SIZE);
	aead_request_set_crypt(&rq->req, rq->sg, rq->sg, clen, rq->iv);
	return crypto_aead_decrypt(&rq->req);
}

/*
 * Frame, check and open the record at @off of @skb (which may run to
 * @end) with @rq, in place.  rq->rec describes it, and rq->rec.end is
 * where the next record starts, whatever the verdict.  DTLS_PENDING: the
 * AEAD calls rq->done, whose owner then calls dtls_rec_opened().  The
 * bytes must be @skb's alone: nobody else may see them change.
 */
enum dtls_verdict dtls_rec_open(struct dtls_rx *rx, struct dtls_rx_req *rq,
				struct sk_buff *skb, unsigned int off,
				unsigned int end)
{
	const u8 *hdr;
	enum dtls_verdict v;
	int err;

	hdr = dtls_rec_frame(rq, skb, off, end, rx->crypto.desc->explicit_size);
	if (!hdr)
		return DTLS_DROP_MALFORMED;
	v = dtls_rec_check(rx, &rq->rec, hdr);
	if (v != DTLS_PASS)
		return v;
	err = dtls_rec_decrypt(rx, rq, hdr);
	if (err == -EINPROGRESS ||
	    (err == -EBUSY && (rq->req_flags & CRYPTO_TFM_REQ_MAY_BACKLOG)))
		return DTLS_PENDING;
	return dtls_rec_opened(rx, &rq->rec, err);
}

/* The verdict on a protected record once the AEAD is done with it. */
enum dtls_verdict dtls_rec_opened(struct dtls_rx *rx, struct dtls_rec *rec,
				  int err)
{
	if (err)
		return err == -EBADMSG ? DTLS_DROP_FORGED : DTLS_DROP_NOMEM;
	if (!dtls_replay_update(&rx->replay, rec->rec_num & DTLS_SEQ_MAX))
		return DTLS_DROP_REPLAY;
	rec->flags = DTLS_RECORD_F_PROTECTED;
	return DTLS_PASS;
}

static const enum dtls_mib_field dtls_verdict_mib[] = {
	[DTLS_PASS]			= DTLS_MIB_RX_RECORDS,
	[DTLS_PASS_CLEAR]		= DTLS_MIB_RX_PLAINTEXT,
	[DTLS_DROP_MALFORMED]		= DTLS_MIB_RX_MALFORMED,
	[DTLS_DROP_BAD_VERSION]		= DTLS_MIB_RX_BAD_VERSION,
	[DTLS_DROP_UNKNOWN_EPOCH]	= DTLS_MIB_RX_UNKNOWN_EPOCH,
	[DTLS_DROP_REPLAY]		= DTLS_MIB_RX_REPLAY,
	[DTLS_DROP_FORGED]		= DTLS_MIB_RX_DECRYPT_ERROR,
	[DTLS_DROP_NOMEM]		= DTLS_MIB_RX_DROPPED,
};

/* Count a final verdict in the statistics. */
void dtls_verdict_count(const struct sock *sk, enum dtls_verdict v)
{
	if (WARN_ON_ONCE(v == DTLS_PENDING || v >= ARRAY_SIZE(dtls_verdict_mib)))
		return;
	dtls_stat_inc(sk, dtls_verdict_mib[v]);
}
