/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An independent DTLS 1.3 record reference (RFC 9147) on OpenSSL's
 * libcrypto, for the tests: traffic keys from a traffic secret, the
 * unified header in each of its forms, record number encryption, the
 * DTLSInnerPlaintext and the reconstruction of a record's full sequence
 * number.  Connection IDs are not in it yet.
 *
 * Checked against a real peer by dtls13_wolfssl.c; the kernel's records
 * are compared against it byte for byte.
 */
#ifndef DTLS13_REF_H
#define DTLS13_REF_H

#include <openssl/kdf.h>

#include "dtls_common.h"

/* RFC 9147 5.9: HKDF-Expand-Label's prefix is "dtls13", not "tls13 " */
#define DTLS13_LABEL_PREFIX	"dtls13"

/* The first byte of a DTLSCiphertext: 001CSLEE (RFC 9147 4) */
#define DTLS13_HDR_FIXED	0x20
#define DTLS13_HDR_FIXED_MASK	0xe0
#define DTLS13_HDR_C		0x10	/* a connection ID follows */
#define DTLS13_HDR_S		0x08	/* 16-bit sequence number, else 8 */
#define DTLS13_HDR_L		0x04	/* a 16-bit length is present */
#define DTLS13_HDR_EPOCH_MASK	0x03

/* Record number encryption samples this much ciphertext (RFC 9147 4.2.3) */
#define DTLS13_SN_SAMPLE	16
#define DTLS13_IV_LEN		12
#define DTLS13_MAX_HASH		48

#define DTLS_RECORD_TYPE_ACK	26

/* A TLS 1.3 cipher suite: its AEAD (as in DTLS 1.2) and its hash. */
struct cdesc13 {
	const char *name;	/* the same name as the 1.2 variant's */
	uint16_t suite;		/* TLS_AES_128_GCM_SHA256 = 0x1301 ... */
	const char *wolf_name;	/* wolfSSL's name for it */
	int sha384;
};

static const struct cdesc13 cdescs13[] = {
	{ "aes128gcm", 0x1301, "TLS13-AES128-GCM-SHA256", 0 },
	{ "aes256gcm", 0x1302, "TLS13-AES256-GCM-SHA384", 1 },
	{ "chacha20poly1305", 0x1303, "TLS13-CHACHA20-POLY1305-SHA256", 0 },
	{ "aes128ccm", 0x1304, "TLS13-AES128-CCM-SHA256", 0 },
	{ "aes128ccm8", 0x1305, "TLS13-AES128-CCM-8-SHA256", 0 },
};
#define N_CDESCS13 (sizeof(cdescs13) / sizeof(cdescs13[0]))

/* One direction of one epoch. */
struct dkey13 {
	struct dkey k;			/* key, and the 12-byte IV in k.salt */
	const struct cdesc13 *s;
	uint8_t sn_key[32];
	uint8_t secret[DTLS13_MAX_HASH];
	uint64_t epoch;
};

static __maybe_unused const EVP_MD *ref13_md(const struct cdesc13 *s)
{
	return s->sha384 ? EVP_sha384() : EVP_sha256();
}

/* RFC 8446 7.1 HKDF-Expand-Label with the DTLS 1.3 prefix; 0 on success */
static __maybe_unused int ref13_expand_label(const EVP_MD *md, const uint8_t *secret,
					     const char *label, uint8_t *out, size_t len)
{
	size_t plen = strlen(DTLS13_LABEL_PREFIX), llen = strlen(label);
	uint8_t info[2 + 1 + 255 + 1];
	size_t ilen = 0, olen = len;
	EVP_PKEY_CTX *pctx;
	int ok;

	if (plen + llen > 255)
		return -1;
	info[ilen++] = len >> 8;
	info[ilen++] = len & 0xff;
	info[ilen++] = plen + llen;
	memcpy(info + ilen, DTLS13_LABEL_PREFIX, plen);
	ilen += plen;
	memcpy(info + ilen, label, llen);
	ilen += llen;
	info[ilen++] = 0;	/* empty context */

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!pctx)
		return -1;
	ok = EVP_PKEY_derive_init(pctx) > 0 &&
	     EVP_PKEY_CTX_hkdf_mode(pctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
	     EVP_PKEY_CTX_set_hkdf_md(pctx, md) > 0 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, EVP_MD_get_size(md)) > 0 &&
	     EVP_PKEY_CTX_add1_hkdf_info(pctx, info, ilen) > 0 &&
	     EVP_PKEY_derive(pctx, out, &olen) > 0 && olen == len;
	EVP_PKEY_CTX_free(pctx);
	return ok ? 0 : -1;
}

/* Key, IV and sn_key of epoch @epoch from its traffic secret; 0 on success */
static __maybe_unused int ref13_keys(struct dkey13 *k, const struct cdesc13 *s,
				     const uint8_t *secret, uint64_t epoch)
{
	const struct cdesc *c = cdesc_by_name(s->name);
	const EVP_MD *md = ref13_md(s);

	if (!c)
		return -1;
	memset(k, 0, sizeof(*k));
	k->k.c = c;
	k->s = s;
	k->epoch = epoch;
	memcpy(k->secret, secret, EVP_MD_get_size(md));
	if (ref13_expand_label(md, secret, "key", k->k.key, c->key_len) ||
	    ref13_expand_label(md, secret, "iv", k->k.salt, DTLS13_IV_LEN) ||
	    ref13_expand_label(md, secret, "sn", k->sn_key, c->key_len))
		return -1;
	return 0;
}

/* The next epoch's keys (RFC 8446 7.2: the "traffic upd" secret) */
static __maybe_unused int ref13_update(struct dkey13 *k)
{
	const EVP_MD *md = ref13_md(k->s);
	uint8_t next[DTLS13_MAX_HASH];

	if (ref13_expand_label(md, k->secret, "traffic upd", next, EVP_MD_get_size(md)))
		return -1;
	return ref13_keys(k, k->s, next, k->epoch + 1);
}

/*
 * The record number mask from the first 16 bytes of the encrypted record:
 * AES-ECB of the sample under sn_key, or the ChaCha20 key stream with the
 * sample as counter (little endian) || nonce.  0 on success.
 */
static __maybe_unused int ref13_sn_mask(const struct dkey13 *k, const uint8_t *sample,
					uint8_t mask[2])
{
	static const uint8_t zero[DTLS13_SN_SAMPLE];
	const struct cdesc *c = k->k.c;
	uint8_t out[DTLS13_SN_SAMPLE + 16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *cipher;
	const uint8_t *in = sample;
	const uint8_t *iv = NULL;
	int outl, ok;

	if (!ctx)
		return -1;
	if (c->kind == AEAD_CHACHA) {
		cipher = EVP_chacha20();
		iv = sample;
		in = zero;
	} else {
		cipher = c->key_len == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
	}
	ok = EVP_EncryptInit_ex(ctx, cipher, NULL, k->sn_key, iv) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, out, &outl, in, DTLS13_SN_SAMPLE) &&
	     outl == DTLS13_SN_SAMPLE;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(mask, out, 2);
	return 0;
}

/* RFC 8446 5.3: the IV XOR the 64-bit sequence number, left-padded */
static __maybe_unused void ref13_nonce(const struct dkey13 *k, uint64_t seq,
				       uint8_t nonce[DTLS13_IV_LEN])
{
	uint8_t be[8];

	put_be(be, seq, 8);
	memcpy(nonce, k->k.salt, DTLS13_IV_LEN);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= be[i];
}

/* The header's length; a connection ID's is what the receiver asked for */
static __maybe_unused size_t ref13_hdr_len_cid(uint8_t first, size_t cid_len)
{
	return 1 + (first & DTLS13_HDR_C ? cid_len : 0) +
	       (first & DTLS13_HDR_S ? 2 : 1) + (first & DTLS13_HDR_L ? 2 : 0);
}

static __maybe_unused size_t ref13_hdr_len(uint8_t first)
{
	return ref13_hdr_len_cid(first, 0);
}

/*
 * Build one DTLSCiphertext into @out: the header in the form @flags
 * (DTLS13_HDR_S, DTLS13_HDR_L) for k->epoch, connection ID @cid (@cid_len
 * bytes, none if 0) and @seq, then the AEAD over @pt || @type || @pad
 * zeros, then the record number encrypted.  Returns the record's length;
 * 0 if the record is too short to sample or libcrypto failed.
 */
static __maybe_unused size_t ref13_seal_cid(const struct dkey13 *k, uint8_t flags,
					    const uint8_t *cid, size_t cid_len, uint64_t seq,
					    uint8_t type, const void *pt, size_t len, size_t pad,
					    uint8_t *out)
{
	const struct cdesc *c = k->k.c;
	uint8_t first = DTLS13_HDR_FIXED | (flags & (DTLS13_HDR_S | DTLS13_HDR_L)) |
			(cid_len ? DTLS13_HDR_C : 0) | (k->epoch & DTLS13_HDR_EPOCH_MASK);
	size_t hlen = ref13_hdr_len_cid(first, cid_len), inner = len + 1 + pad;
	size_t elen = inner + c->tag_len;
	uint8_t nonce[DTLS13_IV_LEN], mask[2];
	uint8_t *body = out + hlen, *p = out, *sn = out + 1 + cid_len;

	if (elen < DTLS13_SN_SAMPLE || elen > 0xffff)
		return 0;
	*p++ = first;
	memcpy(p, cid, cid_len);
	p += cid_len;
	if (first & DTLS13_HDR_S) {
		put_be(p, seq & 0xffff, 2);
		p += 2;
	} else {
		*p++ = seq & 0xff;
	}
	if (first & DTLS13_HDR_L)
		put_be(p, elen, 2);

	if (len)
		memmove(body, pt, len);
	body[len] = type;
	memset(body + len + 1, 0, pad);
	ref13_nonce(k, seq, nonce);
	if (ref_aead(&k->k, 1, nonce, out, hlen, body, inner, body, body + inner))
		return 0;
	if (ref13_sn_mask(k, body, mask))
		return 0;
	sn[0] ^= mask[0];
	if (first & DTLS13_HDR_S)
		sn[1] ^= mask[1];
	return hlen + elen;
}

static __maybe_unused size_t ref13_seal(const struct dkey13 *k, uint8_t flags, uint64_t seq,
					uint8_t type, const void *pt, size_t len, size_t pad,
					uint8_t *out)
{
	return ref13_seal_cid(k, flags, NULL, 0, seq, type, pt, len, pad, out);
}

/*
 * RFC 9147 4.2.2: the full sequence number whose low @bits bits are @low
 * that is closest to @expected (one more than the highest deprotected).
 */
static __maybe_unused uint64_t ref13_reconstruct(uint64_t expected, uint64_t low, int bits)
{
	uint64_t win = 1ULL << bits, m = win - 1;
	uint64_t cand = (expected & ~m) | low;

	if (cand > expected && cand - expected > win / 2 && cand >= win)
		return cand - win;
	if (cand < expected && expected - cand > win / 2 && cand + win > cand)
		return cand + win;
	return cand;
}

struct rec13 {
	uint8_t first;		/* the header's first byte */
	size_t hdr_len;
	size_t len;		/* the whole record */
	uint64_t seq;		/* reconstructed */
	uint8_t type;		/* the real content type */
	size_t ptlen;
	size_t pad;
	int authentic;		/* the tag checked (even if all padding) */
	const uint8_t *cid;	/* in the record, if it has one */
};

/*
 * Open the DTLSCiphertext at @rec (the last record of the datagram if it
 * has no length) whose connection ID, if @cid_len, is @cid_len bytes long
 * (r->cid then points at it): unmask, reconstruct the sequence number
 * from @expected, authenticate, strip the padding.  Returns the bytes the
 * record occupies, or -1: malformed, another epoch, not authentic, or all
 * padding (then r->authentic is set).
 */
static __maybe_unused ssize_t ref13_open_cid(const struct dkey13 *k, const uint8_t *rec,
					     size_t avail, size_t cid_len, uint64_t expected,
					     struct rec13 *r, uint8_t *pt)
{
	const struct cdesc *c = k->k.c;
	uint8_t hdr[1 + 255 + 4], mask[2], nonce[DTLS13_IV_LEN];
	uint8_t *sn = hdr + 1 + cid_len;
	size_t elen, inner, i;
	const uint8_t *body;
	uint64_t low;

	memset(r, 0, sizeof(*r));
	if (avail < 1 || (rec[0] & DTLS13_HDR_FIXED_MASK) != DTLS13_HDR_FIXED ||
	    !(rec[0] & DTLS13_HDR_C) != !cid_len || cid_len > 255)
		return -1;
	r->first = rec[0];
	r->cid = rec + 1;
	r->hdr_len = ref13_hdr_len_cid(rec[0], cid_len);
	if (avail < r->hdr_len)
		return -1;
	if ((rec[0] & DTLS13_HDR_EPOCH_MASK) != (k->epoch & DTLS13_HDR_EPOCH_MASK))
		return -1;
	elen = rec[0] & DTLS13_HDR_L ? get_be(rec + r->hdr_len - 2, 2) : avail - r->hdr_len;
	if (elen > avail - r->hdr_len || elen < DTLS13_SN_SAMPLE || elen < c->tag_len + 1)
		return -1;
	body = rec + r->hdr_len;
	if (ref13_sn_mask(k, body, mask))
		return -1;
	memcpy(hdr, rec, r->hdr_len);
	sn[0] ^= mask[0];
	if (rec[0] & DTLS13_HDR_S) {
		sn[1] ^= mask[1];
		low = get_be(sn, 2);
		r->seq = ref13_reconstruct(expected, low, 16);
	} else {
		low = sn[0];
		r->seq = ref13_reconstruct(expected, low, 8);
	}
	inner = elen - c->tag_len;
	ref13_nonce(k, r->seq, nonce);
	if (ref_aead(&k->k, 0, nonce, hdr, r->hdr_len, body, inner, pt,
		     (uint8_t *)body + inner))
		return -1;
	r->authentic = 1;
	r->len = r->hdr_len + elen;
	for (i = inner; i > 0 && !pt[i - 1]; i--)
		;
	if (!i)
		return -1;	/* all padding: no content type */
	r->type = pt[i - 1];
	r->ptlen = i - 1;
	r->pad = inner - i;
	return r->len;
}

static __maybe_unused ssize_t ref13_open(const struct dkey13 *k, const uint8_t *rec,
					 size_t avail, uint64_t expected, struct rec13 *r,
					 uint8_t *pt)
{
	return ref13_open_cid(k, rec, avail, 0, expected, r, pt);
}

static __maybe_unused const struct cdesc13 *cdesc13_by_type(uint16_t cipher_type)
{
	for (size_t i = 0; i < N_CDESCS13; i++)
		if (cdesc_by_name(cdescs13[i].name)->type == cipher_type)
			return &cdescs13[i];
	return NULL;
}

/* A deterministic traffic secret for tests, named by @label. */
static __maybe_unused int dkey13_derive(struct dkey13 *k, const struct cdesc13 *s,
					const char *label, uint64_t epoch)
{
	uint8_t secret[SHA384_DIGEST_LENGTH];
	char buf[128];

	snprintf(buf, sizeof(buf), "kdtls-selftest dtls13 secret|%s|%s", s->name, label);
	SHA384((const uint8_t *)buf, strlen(buf), secret);
	return ref13_keys(k, s, secret, epoch);
}

/* DTLS 1.3's crypto_info: info | key | iv | sn_key | rec_seq (epoch || seq) */
static __maybe_unused void cinfo13_build(struct cinfo *ci, const struct dkey13 *k,
					 uint16_t epoch, uint64_t seq)
{
	const struct cdesc *c = k->k.c;
	uint16_t version = DTLS_1_3_VERSION, type = c->type;
	uint8_t *p = ci->b;

	memset(ci, 0, sizeof(*ci));
	memcpy(p, &version, 2);
	memcpy(p + 2, &type, 2);
	p += 4;
	memcpy(p, k->k.key, c->key_len);
	p += c->key_len;
	memcpy(p, k->k.salt, DTLS13_IV_LEN);
	p += DTLS13_IV_LEN;
	memcpy(p, k->sn_key, c->key_len);
	p += c->key_len;
	put_be(p, REC_NUM(epoch, seq), 8);
	ci->len = p + 8 - ci->b;
}

/* Install @k on @fd as DTLS_TX or DTLS_RX, starting at (@epoch, @seq). */
static __maybe_unused int dtls13_install(int fd, int dir, const struct dkey13 *k,
					 uint16_t epoch, uint64_t seq)
{
	struct cinfo ci;

	cinfo13_build(&ci, k, epoch, seq);
	return setsockopt(fd, SOL_DTLS, dir, ci.b, ci.len);
}

/* The padding a sender needs so that the record can be sampled. */
static __maybe_unused size_t ref13_min_pad(const struct dkey13 *k, size_t len)
{
	size_t elen = len + 1 + k->k.c->tag_len;

	return elen < DTLS13_SN_SAMPLE ? DTLS13_SN_SAMPLE - elen : 0;
}

#endif /* DTLS13_REF_H */
