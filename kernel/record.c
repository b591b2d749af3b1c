// SPDX-License-Identifier: GPL-2.0
/*
 * Open one received record, DTLS 1.2 or 1.3: frame it, check its header
 * (in DTLS 1.3, decrypt its sequence number), build its nonce
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
 * Frame the DTLSPlaintext or DTLS 1.2 DTLSCiphertext at @off of @skb,
 * which may run to @end, on a socket whose connection ID is @cid_len bytes
 * long.  Returns its header (and explicit nonce, when there is room for
 * one), or NULL if the header does not fit: nothing after it can be
 * framed, so the record runs to @end.
 */
static const u8 *dtls_rec_frame(struct dtls_rx_req *rq, struct sk_buff *skb,
				unsigned int off, unsigned int end,
				u8 cid_len, unsigned int explicit_size)
{
	struct dtls_rec *rec = &rq->rec;
	unsigned int avail = end - off, hlen, len;
	const u8 *hdr;

	rec->skb = skb;
	rec->off = off;
	rec->end = end;
	if (avail < DTLS_HEADER_SIZE)
		return NULL;
	hdr = dtls_rec_peek(skb, off,
			    min(avail, DTLS_HEADER_SIZE + cid_len + explicit_size),
			    rq->hdr);
	if (unlikely(!hdr))
		return NULL;
	/* the length is the header's last field */
	hlen = dtls12_hdr_size(hdr[DTLS_HDR_TYPE], cid_len);
	if (avail < hlen)
		return NULL;
	len = get_unaligned_be16(hdr + hlen - 2);
	if (len > avail - hlen)
		return NULL;

	rec->end = off + hlen + len;
	rec->body = off + hlen;
	rec->ptlen = len;
	rec->rec_num = get_unaligned_be64(hdr + DTLS_HDR_EPOCH);
	rec->type = hdr[DTLS_HDR_TYPE];
	rec->flags = 0;
	rec->newest = false;
	rec->peer_id = 0;
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
static enum dtls_verdict dtls_rec_check(struct dtls_rx_keys *k,
					struct dtls_rec *rec, const u8 *hdr)
{
	const struct dtls_cipher_desc *desc = k->desc;
	unsigned int overhead = desc->explicit_size + desc->tag_size;
	unsigned int max = DTLS_MAX_PLAINTEXT;
	u16 version = get_unaligned_be16(hdr + DTLS_HDR_VERSION);
	u16 epoch = rec->rec_num >> DTLS_SEQ_BITS;
	bool cid = rec->type == DTLS_RECORD_TYPE_TLS12_CID;
	struct dtls_rx_epoch *e;

	if (!cid && !dtls_content_type_valid(DTLS_1_2_VERSION, rec->type))
		return DTLS_DROP_MALFORMED;
	if (!epoch)
		return cid ? DTLS_DROP_MALFORMED :
			     dtls_rec_check_clear(rec, version);
	/* RFC 9146: with a connection ID every protected record has it */
	if (cid != !!k->cid.len)
		return DTLS_DROP_MALFORMED;
	if (version != DTLS_1_2_VERSION)
		return DTLS_DROP_BAD_VERSION;
	if (cid) {
		if (memcmp(hdr + DTLS_HDR_LENGTH, k->cid.cid, k->cid.len))
			return DTLS_DROP_UNKNOWN_CID;
		/* the real type is inside, after the content */
		rec->type = DTLS_RECORD_TYPE_APPLICATION_DATA;
		overhead += DTLS13_INNER_TYPE_SIZE;
		max = DTLS_MAX_INNER_PLAINTEXT;
	}
	/* DTLS 1.2 has one epoch: no key updates */
	e = dtls_rx_epoch_rcu(k, epoch);
	if (epoch != READ_ONCE(k->epoch) || !e)
		return DTLS_DROP_UNKNOWN_EPOCH;
	if (rec->ptlen < overhead || rec->ptlen - overhead > max)
		return DTLS_DROP_MALFORMED;
	/* Cheap early drop; the window itself moves only after the tag. */
	if (!dtls_replay_check(&e->replay, rec->rec_num & DTLS_SEQ_MAX))
		return DTLS_DROP_REPLAY;
	rec->ep = e;
	return DTLS_PASS;
}

/* DTLS 1.2: frame and check the record, then its nonce and AAD. */
static enum dtls_verdict dtls12_rec_prepare(struct dtls_rx_keys *k,
					    struct dtls_rx_req *rq,
					    struct sk_buff *skb,
					    unsigned int off, unsigned int end)
{
	const struct dtls_cipher_desc *desc = k->desc;
	struct dtls_rec *rec = &rq->rec;
	enum dtls_verdict v;
	const u8 *hdr;

	hdr = dtls_rec_frame(rq, skb, off, end, k->cid.len,
			     desc->explicit_size);
	if (!hdr)
		return DTLS_DROP_MALFORMED;
	v = dtls_rec_check(k, rec, hdr);
	if (v != DTLS_PASS)
		return v;

	dtls_make_iv(&rec->ep->crypto, hdr + DTLS_HDR_EPOCH,
		     hdr + rec->body - rec->off, rq->iv);
	rec->body += desc->explicit_size;
	rec->ptlen -= desc->explicit_size + desc->tag_size;
	if (k->cid.len) {
		rq->aad_len = dtls12_make_cid_aad(rq->aad, hdr + DTLS_HDR_EPOCH,
						  &k->cid, rec->ptlen);
	} else {
		dtls_make_aad(rq->aad, hdr + DTLS_HDR_EPOCH, rec->type,
			      rec->ptlen);
		rq->aad_len = DTLS_AAD_SIZE;
	}
	return DTLS_PASS;
}

/*
 * DTLS 1.3: a record whose first byte is not 001xxxxx is a DTLSPlaintext,
 * which only the handshake's epoch 0 sends: the peer's handshake,
 * alerts and ACKs in the clear.
 */
static enum dtls_verdict dtls13_rec_plaintext(struct dtls_rx_req *rq,
					      struct sk_buff *skb,
					      unsigned int off,
					      unsigned int end)
{
	struct dtls_rec *rec = &rq->rec;
	const u8 *hdr;

	hdr = dtls_rec_frame(rq, skb, off, end, 0, 0);
	if (!hdr)
		return DTLS_DROP_MALFORMED;
	if (rec->type != DTLS_RECORD_TYPE_ALERT &&
	    rec->type != DTLS_RECORD_TYPE_HANDSHAKE &&
	    rec->type != DTLS_RECORD_TYPE_ACK)
		return DTLS_DROP_MALFORMED;
	if (rec->rec_num >> DTLS_SEQ_BITS)
		return DTLS_DROP_MALFORMED;
	return dtls_rec_check_clear(rec,
				    get_unaligned_be16(hdr + DTLS_HDR_VERSION));
}

/*
 * RFC 9147 4.2.2: the sequence number whose low @bits bits are @low that
 * is closest to @next, one more than the highest accepted.
 */
static u64 dtls13_seq_reconstruct(u64 next, u64 low, unsigned int bits)
{
	u64 win = BIT_ULL(bits), cand = (next & ~(win - 1)) | low;

	if (cand > next && cand - next > win / 2 && cand >= win)
		return cand - win;
	if (cand < next && next - cand > win / 2)
		return cand + win;
	return cand;
}

/*
 * DTLS 1.3: the epoch whose low two bits are @bits, if its keys are in:
 * the current one, the next (which a peer may start using once userspace
 * acknowledged its KeyUpdate) or the previous (records the peer sent
 * before switching, reordered behind the first of the next).  Older ones
 * are gone for good.
 */
static struct dtls_rx_epoch *dtls13_rx_epoch_find(struct dtls_rx_keys *k, u8 bits)
{
	struct dtls_rx_epoch *e = dtls_rx_epoch_rcu(k, bits);
	u32 cur = READ_ONCE(k->epoch), epoch;

	if (!e)
		return NULL;
	epoch = e->crypto.epoch;
	if (epoch != cur && epoch != cur + 1 && epoch + 1 != cur)
		return NULL;
	return e;
}

/*
 * DTLS 1.3: frame a DTLSCiphertext (RFC 9147 4), decrypt its sequence
 * number (4.2.3) and reconstruct it (4.2.2), then its nonce and AAD (the
 * header with the sequence number in the clear).  A record too short to
 * sample is malformed; one with a connection ID on a socket without one,
 * or without on a socket with one, too.
 */
static enum dtls_verdict dtls13_rec_prepare(struct dtls_rx_keys *k,
					    struct dtls_rx_req *rq,
					    struct sk_buff *skb,
					    unsigned int off, unsigned int end)
{
	const struct dtls_cipher_desc *desc = k->desc;
	struct dtls_rec *rec = &rq->rec;
	unsigned int avail = end - off, hlen, len;
	/* the sequence number follows any connection ID */
	unsigned int sn = 1 + k->cid.len;
	struct dtls_rx_epoch *e;
	const struct dtls_crypto *c;
	const u8 *p;
	u64 low, seq;

	rec->skb = skb;
	rec->off = off;
	rec->end = end;
	rec->flags = 0;
	rec->newest = false;
	rec->peer_id = 0;
	p = dtls_rec_peek(skb, off, 1, rq->hdr);
	if (unlikely(!p))
		return DTLS_DROP_MALFORMED;
	if ((p[0] & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED)
		return dtls13_rec_plaintext(rq, skb, off, end);
	if (!dtls13_hdr_cid_ok(p[0], k->cid.len))
		return DTLS_DROP_MALFORMED;
	hlen = dtls13_hdr_size(p[0], k->cid.len);
	if (avail < hlen)
		return DTLS_DROP_MALFORMED;
	p = dtls_rec_peek(skb, off, hlen, rq->hdr);
	if (unlikely(!p))
		return DTLS_DROP_MALFORMED;
	len = p[0] & DTLS13_HDR_L ? get_unaligned_be16(p + hlen - 2) :
				    avail - hlen;
	if (len > avail - hlen)
		return DTLS_DROP_MALFORMED;

	/* framed: the next record starts there, whatever this one's verdict */
	rec->end = off + hlen + len;
	if (k->cid.len && memcmp(p + 1, k->cid.cid, k->cid.len))
		return DTLS_DROP_UNKNOWN_CID;
	rec->body = off + hlen;
	rec->ptlen = len;
	/* the real one is inside; until it is opened it counts as data */
	rec->type = DTLS_RECORD_TYPE_APPLICATION_DATA;
	memcpy(rq->aad, p, hlen);
	rq->aad_len = hlen;

	e = dtls13_rx_epoch_find(k, p[0] & DTLS13_HDR_EPOCH_MASK);
	if (!e)
		return DTLS_DROP_UNKNOWN_EPOCH;
	if (test_bit(DTLS_EPOCH_EXPIRED, &e->flags))
		return DTLS_DROP_KEY_EXPIRED;
	c = &e->crypto;
	if (len < DTLS13_SN_SAMPLE ||
	    len < desc->tag_size + DTLS13_INNER_TYPE_SIZE ||
	    len > DTLS13_MAX_CIPHERTEXT)
		return DTLS_DROP_MALFORMED;

	p = dtls_rec_peek(skb, rec->body, DTLS13_SN_SAMPLE, rq->sample);
	if (unlikely(!p) || dtls13_sn_mask(c, p, rq->mask))
		return DTLS_DROP_NOMEM;
	rq->aad[sn] ^= rq->mask[0];
	if (rq->aad[0] & DTLS13_HDR_S) {
		rq->aad[sn + 1] ^= rq->mask[1];
		low = get_unaligned_be16(rq->aad + sn);
		seq = dtls13_seq_reconstruct(dtls_replay_next(&e->replay),
					     low, 16);
	} else {
		low = rq->aad[sn];
		seq = dtls13_seq_reconstruct(dtls_replay_next(&e->replay),
					     low, 8);
	}
	if (seq > DTLS_SEQ_MAX)
		return DTLS_DROP_MALFORMED;
	rec->rec_num = dtls_rec_num(c->epoch, seq);
	/* Cheap early drop; the window itself moves only after the tag. */
	if (!dtls_replay_check(&e->replay, seq))
		return DTLS_DROP_REPLAY;

	rec->ptlen -= desc->tag_size;
	dtls13_make_iv(c, seq, rq->iv);
	/*
	 * Held until the verdict: a key install that reuses the slot waits
	 * for it.  Taken in the RCU section the epoch was found in, so the
	 * install, which waits a grace period first, sees it.
	 */
	atomic_inc(&e->inflight);
	rec->ep = e;
	return DTLS_PASS;
}

/*
 * DTLS 1.3 and RFC 9146, after the tag: the content type is the last
 * non-zero byte of the DTLSInnerPlaintext, the zeros after it padding.  A
 * record of zeros alone, or of a type @version does not protect, is
 * malformed.
 */
static enum dtls_verdict dtls_rec_inner(struct dtls_rec *rec, u16 version)
{
	unsigned int end = rec->body + rec->ptlen, n, i;
	u8 buf[32];
	const u8 *p;

	while (end > rec->body) {
		n = min_t(unsigned int, end - rec->body, sizeof(buf));
		p = skb_header_pointer(rec->skb, end - n, n, buf);
		if (unlikely(!p))
			return DTLS_DROP_MALFORMED;
		for (i = n; i > 0; i--) {
			if (!p[i - 1])
				continue;
			rec->type = p[i - 1];
			rec->ptlen = end - n + i - 1 - rec->body;
			if (!dtls_content_type_valid(version, rec->type) ||
			    rec->ptlen > DTLS_MAX_PLAINTEXT)
				return DTLS_DROP_MALFORMED;
			return DTLS_PASS;
		}
		end -= n;
	}
	return DTLS_DROP_MALFORMED;
}

/* Start the AEAD on the record's body, in place. */
static int dtls_rec_decrypt(struct dtls_rx_keys *k, struct dtls_rx_req *rq)
{
	const struct dtls_cipher_desc *desc = k->desc;
	struct dtls_rec *rec = &rq->rec;
	unsigned int clen = rec->ptlen + desc->tag_size;
	int nsg;

	/*
	 * skb_to_sgvec() keeps the marks of the entries it fills and marks
	 * its last one: clear the end the last record left, which would cut
	 * a longer body short, rather than initialise the whole table.
	 */
	sg_unmark_end(&rq->sg[rq->sg_end]);
	sg_set_buf(&rq->sg[0], rq->aad, rq->aad_len);
	nsg = skb_to_sgvec(rec->skb, &rq->sg[1], rec->body, clen);
	if (unlikely(nsg < 0))
		return nsg;
	rq->sg_end = nsg;

	/*
	 * Set up the whole request for every record: cryptd leaves its own
	 * inner transform and callback in a request it completed.
	 */
	aead_request_set_tfm(&rq->req, rec->ep->crypto.aead);
	aead_request_set_callback(&rq->req, rq->req_flags, rq->done,
				  rq->done_data);
	aead_request_set_ad(&rq->req, rq->aad_len);
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
enum dtls_verdict dtls_rec_open(struct dtls_rx_keys *k, struct dtls_rx_req *rq,
				struct sk_buff *skb, unsigned int off,
				unsigned int end)
{
	enum dtls_verdict v;
	int err;

	/* the hook runs in one already, the UDP_GRO reader does not */
	rcu_read_lock();
	if (k->version == DTLS_1_3_VERSION)
		v = dtls13_rec_prepare(k, rq, skb, off, end);
	else
		v = dtls12_rec_prepare(k, rq, skb, off, end);
	rcu_read_unlock();
	if (v != DTLS_PASS)
		return v;
	err = dtls_rec_decrypt(k, rq);
	if (err == -EINPROGRESS ||
	    (err == -EBUSY && (rq->req_flags & CRYPTO_TFM_REQ_MAY_BACKLOG)))
		return DTLS_PENDING;
	return dtls_rec_opened(k, &rq->rec, err);
}

/* The tag, then the window: the verdict on a record of epoch @e. */
static enum dtls_verdict dtls_rec_verdict(struct dtls_rx_epoch *e,
					  struct dtls_rec *rec, int err)
{
	if (err)
		return err == -EBADMSG ? DTLS_DROP_FORGED : DTLS_DROP_NOMEM;
	if (!dtls_replay_update(&e->replay, rec->rec_num & DTLS_SEQ_MAX,
				&rec->newest))
		return DTLS_DROP_REPLAY;
	rec->flags = DTLS_RECORD_F_PROTECTED;
	return DTLS_PASS;
}

/*
 * DTLS 1.3: the first authentic record of the next epoch makes it the
 * current one; the old current one stays, as the previous, for records
 * reordered behind it.
 */
static void dtls13_rx_epoch_seen(struct dtls_rx_keys *k, struct dtls_rx_epoch *e,
				 struct dtls_rec *rec)
{
	u32 cur = READ_ONCE(k->epoch);

	if (e->crypto.epoch == cur + 1)
		cmpxchg(&k->epoch, cur, cur + 1);
	/* the newest of an epoch before the current one is not the newest */
	else if (e->crypto.epoch != cur)
		rec->newest = false;
}

/* The verdict on a protected record once the AEAD is done with it. */
enum dtls_verdict dtls_rec_opened(struct dtls_rx_keys *k, struct dtls_rec *rec,
				  int err)
{
	struct dtls_rx_epoch *e = rec->ep;
	enum dtls_verdict v;

	v = dtls_rec_verdict(e, rec, err);
	/* DTLS 1.3, and 1.2 with a connection ID: the real type is inside */
	if (v == DTLS_PASS &&
	    (k->version == DTLS_1_3_VERSION || k->cid.len))
		v = dtls_rec_inner(rec, k->version);
	if (k->version != DTLS_1_3_VERSION) {
		if (v != DTLS_PASS)
			rec->flags = 0;
		return v;
	}
	if (v == DTLS_DROP_FORGED)
		v = dtls13_rx_forged(k, e);
	if (v == DTLS_PASS)
		dtls13_rx_epoch_seen(k, e, rec);
	else
		rec->flags = 0;
	dtls_rx_epoch_put(e);
	return v;
}

static const enum dtls_mib_field dtls_verdict_mib[] = {
	[DTLS_PASS]			= DTLS_MIB_RX_RECORDS,
	[DTLS_PASS_CLEAR]		= DTLS_MIB_RX_PLAINTEXT,
	[DTLS_DROP_MALFORMED]		= DTLS_MIB_RX_MALFORMED,
	[DTLS_DROP_BAD_VERSION]		= DTLS_MIB_RX_BAD_VERSION,
	[DTLS_DROP_UNKNOWN_EPOCH]	= DTLS_MIB_RX_UNKNOWN_EPOCH,
	[DTLS_DROP_UNKNOWN_CID]		= DTLS_MIB_RX_UNKNOWN_CID,
	[DTLS_DROP_REPLAY]		= DTLS_MIB_RX_REPLAY,
	[DTLS_DROP_FORGED]		= DTLS_MIB_RX_DECRYPT_ERROR,
	[DTLS_DROP_FORGED_DUE]		= DTLS_MIB_RX_DECRYPT_ERROR,
	[DTLS_DROP_FORGED_LIMIT]	= DTLS_MIB_RX_DECRYPT_ERROR,
	[DTLS_DROP_KEY_EXPIRED]		= DTLS_MIB_RX_KEY_EXPIRED,
	[DTLS_DROP_NOMEM]		= DTLS_MIB_RX_DROPPED,
};

/*
 * Count a final verdict in the statistics, and tell userspace when a
 * forged record took its epoch half way to the integrity limit, or to it.
 */
void dtls_verdict_report(struct sock *sk, enum dtls_verdict v)
{
	if (WARN_ON_ONCE(v == DTLS_PENDING || v >= ARRAY_SIZE(dtls_verdict_mib)))
		return;
	dtls_stat_inc(sk, dtls_verdict_mib[v]);
	if (v == DTLS_DROP_FORGED_DUE)
		dtls_key_update_due(sk);
	else if (v == DTLS_DROP_FORGED_LIMIT)
		dtls_key_expired(sk);
}
