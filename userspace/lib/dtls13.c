// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: DTLS 1.3 (RFC 9147), whatever library ran the
 * handshake.  The keys of an epoch from its traffic secret (RFC 8446 7.1
 * with the "dtls13" label prefix) and their install; opening the records
 * the handshake exchanged, for the record numbers and handshake message
 * numbers the kernel and the library go on from; and the handshake
 * messages the library itself sends after handoff (ACK, KeyUpdate).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <linux/dtls.h>

#include "internal.h"

#define LABEL_PREFIX	"dtls13"
#define HDR_FIXED	0x20
#define HDR_FIXED_MASK	0xe0
#define HDR_C		0x10
#define HDR_S		0x08
#define HDR_L		0x04
#define SN_SAMPLE	16
#define PT_HDR_LEN	13	/* DTLSPlaintext */

static const EVP_MD *do13_md(const struct do13_epoch *e)
{
	return e->sha384 ? EVP_sha384() : EVP_sha256();
}

size_t do13_hash_len(const struct do13_epoch *e)
{
	return e->sha384 ? 48 : 32;
}

/* HKDF-Expand-Label(secret, label, "", len); 0 on success */
static int expand_label(const struct do13_epoch *e, const uint8_t *secret,
			const char *label, uint8_t *out, size_t len)
{
	size_t plen = strlen(LABEL_PREFIX), llen = strlen(label), olen = len;
	uint8_t info[4 + 255];
	size_t ilen = 0;
	EVP_PKEY_CTX *pctx;
	int ok;

	info[ilen++] = len >> 8;
	info[ilen++] = len & 0xff;
	info[ilen++] = plen + llen;
	memcpy(info + ilen, LABEL_PREFIX, plen);
	ilen += plen;
	memcpy(info + ilen, label, llen);
	ilen += llen;
	info[ilen++] = 0;		/* no context */

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!pctx)
		return -1;
	ok = EVP_PKEY_derive_init(pctx) > 0 &&
	     EVP_PKEY_CTX_hkdf_mode(pctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(pctx, do13_md(e)) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, do13_hash_len(e)) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(pctx, info, ilen) > 0 &&
	     EVP_PKEY_derive(pctx, out, &olen) > 0 && olen == len;
	EVP_PKEY_CTX_free(pctx);
	return ok ? 0 : -1;
}

int do13_epoch_init(struct do13_epoch *e, int cipher, bool sha384,
		    uint16_t epoch, const uint8_t *secret)
{
	size_t klen = do_key_len(cipher);

	memset(e, 0, sizeof(*e));
	if (!klen)
		return -DTLS_OFFLOAD_E_CIPHER;
	e->cipher = cipher;
	e->sha384 = sha384;
	e->epoch = epoch;
	memcpy(e->secret, secret, do13_hash_len(e));
	if (expand_label(e, secret, "key", e->key, klen) ||
	    expand_label(e, secret, "iv", e->iv, DTLS13_IV_SIZE) ||
	    expand_label(e, secret, "sn", e->sn_key, klen)) {
		do_wipe(e, sizeof(*e));
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	e->valid = true;
	return 0;
}

/* The next epoch's keys, from the "traffic upd" secret (RFC 8446 7.2) */
int do13_epoch_next(struct do13_epoch *e)
{
	uint8_t next[DO13_MAX_HASH];
	int ret;

	if (e->epoch == 0xffff)
		return -EKEYEXPIRED;	/* the kernel's last epoch */
	if (expand_label(e, e->secret, "traffic upd", next, do13_hash_len(e)))
		return -DTLS_OFFLOAD_E_TLSLIB;
	ret = do13_epoch_init(e, e->cipher, e->sha384, e->epoch + 1, next);
	do_wipe(next, sizeof(next));
	return ret;
}

/* dtls13_crypto_info_*: info | key | iv | sn_key | rec_seq, bytes only */
int do13_install(int fd, int optname, const struct do13_epoch *e,
		 uint64_t seq)
{
	uint8_t buf[sizeof(struct dtls_crypto_info) + 32 + DTLS13_IV_SIZE + 32 +
		    DTLS_REC_SEQ_SIZE];
	struct dtls_crypto_info info = {
		.version = DTLS_1_3_VERSION,
		.cipher_type = e->cipher,
	};
	size_t klen = do_key_len(e->cipher), len = 0;
	uint64_t rec_num = (uint64_t)e->epoch << 48 | (seq & DO_SEQ_MASK);
	int i, ret = 0;

	memcpy(buf, &info, sizeof(info));
	len += sizeof(info);
	memcpy(buf + len, e->key, klen);
	len += klen;
	memcpy(buf + len, e->iv, DTLS13_IV_SIZE);
	len += DTLS13_IV_SIZE;
	memcpy(buf + len, e->sn_key, klen);
	len += klen;
	for (i = 7; i >= 0; i--, rec_num >>= 8)
		buf[len + i] = rec_num & 0xff;
	len += DTLS_REC_SEQ_SIZE;
	if (setsockopt(fd, SOL_DTLS, optname, buf, len) < 0)
		ret = -errno;
	do_wipe(buf, sizeof(buf));
	return ret;
}

/* The record number mask (RFC 9147 4.2.3); 0 on success */
static int sn_mask(const struct do13_epoch *e, const uint8_t *sample,
		   uint8_t mask[2])
{
	static const uint8_t zero[SN_SAMPLE];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	bool chacha = e->cipher == DTLS_CIPHER_CHACHA20_POLY1305;
	const EVP_CIPHER *c = chacha ? EVP_chacha20() :
			      do_key_len(e->cipher) == 16 ? EVP_aes_128_ecb() :
			      EVP_aes_256_ecb();
	uint8_t out[2 * SN_SAMPLE];
	int outl, ok;

	if (!ctx)
		return -1;
	ok = EVP_EncryptInit_ex(ctx, c, NULL, e->sn_key,
				chacha ? sample : NULL) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, out, &outl, chacha ? zero : sample,
			       SN_SAMPLE) && outl == SN_SAMPLE;
	EVP_CIPHER_CTX_free(ctx);
	memcpy(mask, out, 2);
	return ok ? 0 : -1;
}

static const EVP_CIPHER *aead_cipher(int cipher)
{
	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
		return EVP_aes_128_gcm();
	case DTLS_CIPHER_AES_GCM_256:
		return EVP_aes_256_gcm();
	case DTLS_CIPHER_CHACHA20_POLY1305:
		return EVP_chacha20_poly1305();
	}
	return EVP_aes_128_ccm();
}

/*
 * Authenticate and decrypt @len bytes at @in (tag after them) into @out
 * with a 12-byte @nonce: DTLS 1.2 (dtls12.c) and 1.3 records alike.
 */
int do_aead_open(int cipher, const uint8_t *key, const uint8_t *nonce,
		 const uint8_t *aad, size_t aad_len, const uint8_t *in,
		 size_t len, uint8_t *out)
{
	bool ccm = cipher == DTLS_CIPHER_AES_CCM_128 ||
		   cipher == DTLS_CIPHER_AES_CCM_8_128;
	int tag = do_tag_len(cipher), outl, ok;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return -1;
	/* CCM wants the tag and the length first, and checks in the update */
	ok = EVP_DecryptInit_ex(ctx, aead_cipher(cipher), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, DTLS13_IV_SIZE,
				 NULL);
	if (ok && ccm)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tag,
					 (void *)(in + len));
	ok = ok && EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce);
	if (ok && ccm)
		ok = EVP_DecryptUpdate(ctx, NULL, &outl, NULL, len);
	ok = ok && EVP_DecryptUpdate(ctx, NULL, &outl, aad, aad_len) &&
	     EVP_DecryptUpdate(ctx, out, &outl, in, len) > 0;
	if (ok && !ccm)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tag,
					 (void *)(in + len)) &&
		     EVP_DecryptFinal_ex(ctx, out + len, &outl) > 0;
	EVP_CIPHER_CTX_free(ctx);
	return ok > 0 ? 0 : -1;
}

/* RFC 9147 5.3: the per-record nonce is the IV xor the record number */
static int aead_open(const struct do13_epoch *e, uint64_t seq,
		     const uint8_t *aad, size_t aad_len, const uint8_t *in,
		     size_t len, uint8_t *out)
{
	uint8_t nonce[DTLS13_IV_SIZE];
	int i;

	memcpy(nonce, e->iv, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[4 + i] ^= seq >> (56 - 8 * i);
	return do_aead_open(e->cipher, e->key, nonce, aad, aad_len, in, len,
			    out);
}

/* RFC 9147 4.2.2: closest to @expected with these low bits */
static uint64_t reconstruct(uint64_t expected, uint64_t low, int bits)
{
	uint64_t win = 1ULL << bits, cand = (expected & ~(win - 1)) | low;

	if (cand > expected && cand - expected > win / 2 && cand >= win)
		return cand - win;
	if (cand < expected && expected - cand > win / 2)
		return cand + win;
	return cand;
}

/*
 * The record at @rec, of @avail bytes to the end of the datagram:
 * r->len is how far it runs (0: nothing can be framed any more).  A
 * DTLSPlaintext is taken as it is; a DTLSCiphertext is opened into @pt
 * with @e if that is the epoch of its two bits (r->opened), its sequence
 * number reconstructed from @expected.  A DTLSCiphertext with the C bit
 * carries a connection ID of @cid_len bytes, which the handshake
 * negotiated for this direction (none: cannot be framed).
 */
void do13_parse(const struct do13_epoch *e, size_t cid_len,
		const uint8_t *rec, size_t avail, uint64_t expected,
		struct do13_rec *r, uint8_t *pt)
{
	size_t hlen, elen, inner, i, sn;
	uint8_t hdr[5 + DTLS_CID_MAX_SIZE], mask[2];

	memset(r, 0, sizeof(*r));
	if (!avail)
		return;
	if ((rec[0] & HDR_FIXED_MASK) != HDR_FIXED) {
		if (avail < PT_HDR_LEN)
			return;
		elen = rec[11] << 8 | rec[12];
		if (elen > avail - PT_HDR_LEN)
			return;
		r->len = PT_HDR_LEN + elen;
		r->plaintext = true;
		r->type = rec[0];
		r->epoch_bits = rec[3] << 8 | rec[4];
		for (i = 5; i < 11; i++)
			r->seq = r->seq << 8 | rec[i];
		r->body = rec + PT_HDR_LEN;
		r->body_len = elen;
		return;
	}
	if (rec[0] & HDR_C) {
		if (!cid_len || cid_len > DTLS_CID_MAX_SIZE)
			return;	/* none negotiated for this direction */
	} else {
		cid_len = 0;
	}
	sn = 1 + cid_len;	/* the sequence number's bytes */
	hlen = sn + (rec[0] & HDR_S ? 2 : 1) + (rec[0] & HDR_L ? 2 : 0);
	if (avail < hlen)
		return;
	elen = rec[0] & HDR_L ? (size_t)(rec[hlen - 2] << 8 | rec[hlen - 1]) :
				avail - hlen;
	if (elen > avail - hlen)
		return;
	r->len = hlen + elen;
	r->epoch_bits = rec[0] & 3;
	if (!e || !e->valid || (e->epoch & 3) != r->epoch_bits ||
	    elen < SN_SAMPLE || elen < (size_t)do_tag_len(e->cipher) + 1)
		return;
	if (sn_mask(e, rec + hlen, mask))
		return;
	memcpy(hdr, rec, hlen);
	hdr[sn] ^= mask[0];
	if (rec[0] & HDR_S) {
		hdr[sn + 1] ^= mask[1];
		r->seq = reconstruct(expected, hdr[sn] << 8 | hdr[sn + 1], 16);
	} else {
		r->seq = reconstruct(expected, hdr[sn], 8);
	}
	inner = elen - do_tag_len(e->cipher);
	if (aead_open(e, r->seq, hdr, hlen, rec + hlen, inner, pt))
		return;
	for (i = inner; i > 0 && !pt[i - 1]; i--)
		;
	if (!i)
		return;
	r->opened = true;
	r->type = pt[i - 1];
	r->body = pt;
	r->body_len = i - 1;
}

/*
 * The handshake messages of a record body: calls @fn with each message's
 * type and message_seq, whole or a fragment.
 */
void do13_each_msg(const uint8_t *body, size_t len,
		   void (*fn)(void *arg, uint8_t type, uint16_t msg_seq),
		   void *arg)
{
	while (len >= DO13_HS_HDR_LEN) {
		size_t flen = body[9] << 16 | body[10] << 8 | body[11];

		if (flen > len - DO13_HS_HDR_LEN)
			return;
		fn(arg, body[0], body[4] << 8 | body[5]);
		body += DO13_HS_HDR_LEN + flen;
		len -= DO13_HS_HDR_LEN + flen;
	}
}

/* ---- after handoff: the handshake messages the library handles ---- */

#define HS_NEW_SESSION_TICKET	4
#define HS_FINISHED		20
#define HS_KEY_UPDATE		24
#define KU_RTO_MS		100	/* RFC 9147 5.8.2: initial timer */
#define KU_RTO_MAX_MS		8000

/* ACK (RFC 9147 7) of the record @rec_num (epoch << 48 | seq) */
static int send_ack(struct dtls_offload *h, uint64_t rec_num)
{
	uint8_t ack[2 + 16];

	put_be(ack, 16, 2);
	put_be(ack + 2, rec_num >> 48, 8);
	put_be(ack + 10, rec_num & DO_SEQ_MASK, 8);
	return (int)do_send_record(h, DTLS_RECORD_TYPE_ACK, -1, ack,
				   sizeof(ack), MSG_DONTWAIT);
}

/* Send our KeyUpdate (again), noting the record it goes out in. */
static int send_key_update(struct dtls_offload *h)
{
	struct dtls_key_usage u;
	socklen_t ul = sizeof(u);
	uint8_t msg[DO13_HS_HDR_LEN + 1];
	ssize_t n;

	/* the number the kernel gives the record: nobody else sends now */
	if (getsockopt(h->fd, SOL_DTLS, DTLS_KEY_USAGE, &u, &ul) < 0)
		return -errno;
	msg[0] = HS_KEY_UPDATE;
	put_be(msg + 1, 1, 3);
	put_be(msg + 4, h->ku.msg_seq, 2);
	put_be(msg + 6, 0, 3);
	put_be(msg + 9, 1, 3);
	msg[12] = h->ku.requested;
	n = do_send_record(h, DTLS_RECORD_TYPE_HANDSHAKE, -1, msg, sizeof(msg),
			   MSG_DONTWAIT);
	if (n < 0)
		return (int)n;
	h->ku.rec[h->ku.nrec++ % DO13_KU_RECS] =
		(uint64_t)h->tx13.epoch << 48 | u.tx_records;
	h->ku.resend_ns = do_now_ns() + h->ku.rto_ms * 1000000ULL;
	return 0;
}

/*
 * Start a KeyUpdate of our sending keys (RFC 9147 8): the new keys go in
 * once the peer acknowledged it (do13_on_ack()).  One at a time.
 */
int do13_key_update_start(struct dtls_offload *h, bool request)
{
	int err;

	if (h->ku.active)
		return 0;
	memset(&h->ku, 0, sizeof(h->ku));
	h->ku.active = true;
	h->ku.requested = request;
	h->ku.msg_seq = h->hs_tx_seq;
	h->ku.rto_ms = KU_RTO_MS;
	err = send_key_update(h);
	if (err) {
		h->ku.active = false;	/* never sent: the number stays free */
		return err;
	}
	h->hs_tx_seq++;
	return 0;
}

/* Milliseconds until our unacknowledged KeyUpdate is resent, or -1 */
int do13_timeout(const struct dtls_offload *h)
{
	uint64_t t = do_now_ns();

	if (!h->ku.active)
		return -1;
	return h->ku.resend_ns > t ?
	       (int)((h->ku.resend_ns - t + 999999) / 1000000) : 0;
}

/* Resend an unacknowledged KeyUpdate when its timer ran out. */
int do13_timer(struct dtls_offload *h)
{
	if (!do13_timeout(h)) {
		h->ku.rto_ms = h->ku.rto_ms * 2 > KU_RTO_MAX_MS ? KU_RTO_MAX_MS :
			       h->ku.rto_ms * 2;
		send_key_update(h);
		h->st.retransmits++;
	}
	return do13_timeout(h);
}

/* Install the epoch after @e in direction @optname; @e moves only if it went in */
static int next_epoch(struct dtls_offload *h, struct do13_epoch *e, int optname)
{
	struct do13_epoch next = *e;
	int err;

	err = do13_epoch_next(&next) ?: do13_install(h->fd, optname, &next, 0);
	if (!err)
		*e = next;
	do_wipe(&next, sizeof(next));
	return err;
}

/* An ACK: if it covers our KeyUpdate, switch sending to the next epoch. */
void do13_on_ack(struct dtls_offload *h, const uint8_t *body, size_t len)
{
	size_t n, i;
	unsigned int k;

	if (len < 2 || !h->ku.active)
		return;
	n = get_be(body, 2);
	if (n > len - 2 || n % 16)
		return;
	for (i = 0; i < n; i += 16) {
		uint64_t epoch = get_be(body + 2 + i, 8);
		uint64_t rn = epoch << 48 | get_be(body + 10 + i, 8);

		for (k = 0; k < DO13_KU_RECS && k < h->ku.nrec; k++) {
			if (epoch > 0xffff || h->ku.rec[k] != rn)
				continue;
			if (!next_epoch(h, &h->tx13, DTLS_TX))
				h->st.tx_rec_seq = (uint64_t)h->tx13.epoch << 48;
			h->ku.active = false;
			return;
		}
	}
}

struct hs_scan {
	struct dtls_offload *h;
	bool ack;		/* the record is to be acknowledged */
	bool respond;		/* with a KeyUpdate of ours */
	bool again;		/* our last flight, the ACK, once more */
	const uint8_t *body;
	size_t len;
};

/* The body of a one-byte KeyUpdate at @msg_seq in the record, or -1 */
static int key_update_arg(const struct hs_scan *s, uint16_t msg_seq)
{
	const uint8_t *p = s->body;
	size_t len = s->len;

	while (len >= DO13_HS_HDR_LEN) {
		size_t flen = get_be(p + 9, 3);

		if (flen > len - DO13_HS_HDR_LEN)
			break;
		if (p[0] == HS_KEY_UPDATE && get_be(p + 4, 2) == msg_seq &&
		    flen == 1 && get_be(p + 1, 3) == 1 && !get_be(p + 6, 3))
			return p[DO13_HS_HDR_LEN];
		p += DO13_HS_HDR_LEN + flen;
		len -= DO13_HS_HDR_LEN + flen;
	}
	return -1;
}

static void on_msg(void *arg, uint8_t type, uint16_t msg_seq)
{
	struct hs_scan *s = arg;
	struct dtls_offload *h = s->h;
	int ku;

	if (type == HS_FINISHED) {
		s->ack = true;		/* our ACK of the final flight was lost */
		s->again = true;
		return;
	}
	if (type != HS_KEY_UPDATE && type != HS_NEW_SESSION_TICKET)
		return;
	if (msg_seq < h->hs_rx_seq) {
		s->ack = true;		/* a resend: its ACK was lost */
		return;
	}
	if (msg_seq > h->hs_rx_seq)
		return;			/* one before it is missing */
	if (type == HS_KEY_UPDATE) {
		ku = key_update_arg(s, msg_seq);
		if (ku != 0 && ku != 1)
			return;
		/* the peer sends with the next keys once it has our ACK */
		if (next_epoch(h, &h->rx13, DTLS_RX))
			return;
		h->st.rx_rec_seq = (uint64_t)h->rx13.epoch << 48;
		s->respond = ku;
	}
	/* a NewSessionTicket is acknowledged; resumption is not kept */
	h->hs_rx_seq++;
	s->ack = true;
}

/* A protected handshake record from the peer after handoff. */
void do13_on_handshake(struct dtls_offload *h, uint64_t rec_num,
		       const uint8_t *body, size_t len)
{
	struct hs_scan s = { .h = h, .body = body, .len = len };

	do13_each_msg(body, len, on_msg, &s);
	if (s.ack)
		send_ack(h, rec_num);
	else
		h->st.ignored_records++;
	if (s.again)
		h->st.retransmits++;
	if (s.respond)
		do13_key_update_start(h, false);
}
