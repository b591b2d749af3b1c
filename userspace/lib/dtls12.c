// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: DTLS 1.2 (RFC 6347) from the datagrams of the
 * handshake, for the backends whose own I/O functions see them (GnuTLS,
 * wolfSSL, mbed TLS).  Every record header gives a record number; the
 * handshake and change_cipher_spec records we send since we last read make
 * up our last flight, which core.c resends through the kernel if the peer
 * retransmits its own.  Our protected records in it (the Finished) are
 * kept as sent, header and all, and opened at handoff with our write key,
 * so that the kernel can protect them again with new record numbers.
 * With connection IDs (RFC 9146) the protected records are tls12_cid
 * records, whose header carries the CID of the receiving end: h->tx_cid's
 * length in what we sent, h->rx_cid's in what we received.  Backends that
 * learn the CIDs only at handoff keep the datagrams (struct do_dgram_log)
 * and note them then.
 *
 * Also the TLS 1.2 key block (RFC 5246 6.3), for the backends that hand
 * over the master secret (OpenSSL, mbed TLS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <linux/dtls.h>

#include "internal.h"

#define HDR_LEN		13	/* DTLSPlaintext/DTLSCiphertext header */
#define EXPLICIT_NONCE	8	/* AES-GCM and AES-CCM (RFC 5288, 6655) */
#define TLS12_CID	25	/* content type of a record with a CID */
#define CID_AAD_MAX	(8 + 3 + HDR_LEN + DTLS_CID_MAX_SIZE)

/*
 * One record's header at @p (@len bytes left): its length with the CID
 * of @cid_len bytes a tls12_cid record carries, and its body's; false if
 * it does not fit.
 */
static bool rec_frame(const uint8_t *p, size_t len, size_t cid_len,
		      size_t *hlen, size_t *rlen)
{
	*hlen = HDR_LEN + (p[0] == TLS12_CID ? cid_len : 0);
	if (len < *hlen)
		return false;
	*rlen = get_be(p + *hlen - 2, 2);
	return *rlen <= len - *hlen;
}

/* Note the records of a datagram we sent; keep those of our last flight. */
void do12_note_sent(struct dtls_offload *h, const uint8_t *p, size_t len)
{
	size_t hlen, rlen;

	while (len >= HDR_LEN && rec_frame(p, len, h->tx_cid.len, &hlen, &rlen)) {
		uint8_t type = p[0];
		uint16_t epoch = get_be(p + 3, 2);
		uint64_t seq = get_be(p + 5, 6);

		do_seen_note(&h->wr, epoch, seq);
		h->last_wr_epoch = epoch;
		/* a tls12_cid record in the handshake is our Finished */
		if (type == DTLS_RECORD_TYPE_CHANGE_CIPHER_SPEC ||
		    type == DTLS_RECORD_TYPE_HANDSHAKE ||
		    (type == TLS12_CID && epoch)) {
			if (!h->flight_open ||
			    (!epoch && do_flight_has(h, type, p + hlen, rlen)))
				do_flight_clear(h);
			h->flight_open = true;
			if (epoch)	/* keep the header: it is the AAD */
				do_flight_add(h, type, epoch, seq, true, p,
					      hlen + rlen);
			else
				do_flight_add(h, type, 0, seq, false,
					      p + hlen, rlen);
		}
		p += hlen + rlen;
		len -= hlen + rlen;
	}
}

/*
 * A datagram we received: its record numbers (a forged record can only
 * raise them, so the kernel refuses rather than accepts a replay), and
 * whatever we send next is a new flight.
 */
void do12_note_recv(struct dtls_offload *h, const uint8_t *p, size_t len)
{
	size_t hlen, rlen;

	while (len >= HDR_LEN && rec_frame(p, len, h->rx_cid.len, &hlen, &rlen)) {
		do_seen_note(&h->rd, get_be(p + 3, 2), get_be(p + 5, 6));
		p += hlen + rlen;
		len -= hlen + rlen;
	}
	h->flight_open = false;
}

/* Keep a copy of a datagram of the handshake; a log too long is marked. */
void do_dgram_log_add(struct do_dgram_log *l, bool sent, const void *p,
		      size_t len)
{
	struct do_dgram *d;

	if (l->nlog == DO_LOG_MAX) {
		l->overflow = true;
		return;
	}
	d = malloc(sizeof(*d) + len);
	if (!d) {
		l->overflow = true;
		return;
	}
	d->sent = sent;
	d->len = len;
	memcpy(d->data, p, len);
	l->log[l->nlog++] = d;
}

void do_dgram_log_free(struct do_dgram_log *l)
{
	unsigned int i;

	for (i = 0; i < l->nlog; i++) {
		do_wipe(l->log[i]->data, l->log[i]->len);
		free(l->log[i]);
	}
	l->nlog = 0;
}

/*
 * DTLS 1.2: the record numbers and our last flight from the datagrams
 * kept, and who spoke last; -DTLS_OFFLOAD_E_SEQ if some were lost.
 */
int do12_note_log(struct dtls_offload *h, const struct do_dgram_log *l)
{
	unsigned int i;

	if (l->overflow)
		return -DTLS_OFFLOAD_E_SEQ;
	h->we_sent_last = l->nlog && l->log[l->nlog - 1]->sent;
	h->flight_open = false;
	for (i = 0; i < l->nlog; i++) {
		if (l->log[i]->sent)
			do12_note_sent(h, l->log[i]->data, l->log[i]->len);
		else
			do12_note_recv(h, l->log[i]->data, l->log[i]->len);
	}
	return 0;
}

/*
 * The record numbers to install after a handshake whose datagrams were
 * noted: both directions change epoch once per handshake (no
 * renegotiation), to the highest epoch we sent in.
 */
int do12_next_seqs(struct dtls_offload *h, uint64_t *tx, uint64_t *rx)
{
	uint16_t epoch;

	for (epoch = DO_EPOCHS - 1; epoch && !h->wr.seen[epoch]; epoch--)
		;
	if (!epoch || !h->rd.seen[epoch] || !h->wr.seen[0])
		return -DTLS_OFFLOAD_E_SEQ;
	*tx = (uint64_t)epoch << 48 | (h->wr.max[epoch] + 1);
	*rx = (uint64_t)epoch << 48 | (h->rd.max[epoch] + 1);
	h->next_e0_seq = h->wr.max[0] + 1;
	return 0;
}

/*
 * RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random ||
 * client_random) with the suite's PRF hash @md ("SHA256", "SHA384").
 */
int do12_key_block(const char *md, const uint8_t *master, size_t mlen,
		   const uint8_t *client_random, const uint8_t *server_random,
		   uint8_t *out, size_t outlen)
{
	static const char label[] = "key expansion";
	uint8_t seed[sizeof(label) - 1 + 2 * DO12_RANDOM_LEN];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int ret = -DTLS_OFFLOAD_E_TLSLIB;

	memcpy(seed, label, sizeof(label) - 1);
	memcpy(seed + sizeof(label) - 1, server_random, DO12_RANDOM_LEN);
	memcpy(seed + sizeof(label) - 1 + DO12_RANDOM_LEN, client_random,
	       DO12_RANDOM_LEN);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)md, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						      (void *)master, mlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
						      seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (kctx && EVP_KDF_derive(kctx, out, outlen, params) == 1)
		ret = 0;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	do_wipe(seed, sizeof(seed));
	return ret;
}

/*
 * Our keys and the peer's in a key block of @cipher: client MAC key |
 * server MAC key (both empty for AEAD) | client key | server key |
 * client IV | server IV.
 */
void do12_key_block_split(int cipher, const uint8_t *kb, bool server,
			  struct do12_keys *k)
{
	size_t klen = do_key_len(cipher), ivlen = do_iv_len(cipher);
	const uint8_t *ck = kb, *sk = kb + klen;
	const uint8_t *civ = kb + 2 * klen, *siv = civ + ivlen;

	k->tx_key = server ? sk : ck;
	k->tx_iv = server ? siv : civ;
	k->rx_key = server ? ck : sk;
	k->rx_iv = server ? civ : siv;
}

/*
 * The additional data of a protected record whose header (@hlen bytes) is
 * at @hdr: RFC 5246 6.2.3.3, or RFC 9146 5 for a tls12_cid record.
 */
static size_t rec_aad(const uint8_t *hdr, size_t hlen, size_t ptlen,
		      uint8_t *aad)
{
	size_t n = 0;

	if (hdr[0] == TLS12_CID) {
		memset(aad, 0xff, 8);		/* seq_num_placeholder */
		n = 8;
		aad[n++] = TLS12_CID;
		aad[n++] = hlen - HDR_LEN;	/* cid_length */
		aad[n++] = TLS12_CID;
		memcpy(aad + n, hdr + 1, 10);	/* version, epoch, seq */
		n += 10;
		memcpy(aad + n, hdr + 11, hlen - HDR_LEN);	/* cid */
		n += hlen - HDR_LEN;
	} else {
		memcpy(aad, hdr + 3, 8);	/* epoch || seq */
		aad[8] = hdr[0];		/* type */
		memcpy(aad + 9, hdr + 1, 2);	/* version */
		n = 11;
	}
	aad[n++] = ptlen >> 8;
	aad[n++] = ptlen & 0xff;
	return n;
}

/*
 * A tls12_cid record's DTLSInnerPlaintext: content, the real content type,
 * zero padding.  The content's length in @len, the type in @type; false
 * if there is no type.
 */
static bool inner_plaintext(const uint8_t *pt, size_t *len, uint8_t *type)
{
	size_t n = *len;

	while (n && !pt[n - 1])
		n--;
	if (!n)
		return false;
	*type = pt[n - 1];
	*len = n - 1;
	return true;
}

/* Open a protected record of our flight in place (it becomes plaintext). */
static int open_record(struct do_flight_msg *m, int cipher, size_t cid_len,
		       const uint8_t *key, const uint8_t *iv)
{
	size_t tag = do_tag_len(cipher), expl = 0, blen, ptlen, hlen = HDR_LEN;
	size_t clen;
	uint8_t nonce[DTLS13_IV_SIZE], aad[CID_AAD_MAX];
	const uint8_t *body;
	uint8_t *pt;
	int i;

	if (cipher != DTLS_CIPHER_CHACHA20_POLY1305)
		expl = EXPLICIT_NONCE;
	if (m->len && m->data[0] == TLS12_CID)
		hlen += cid_len;
	if (m->len < hlen + expl + tag)
		return -DTLS_OFFLOAD_E_TLSLIB;
	body = m->data + hlen;
	blen = m->len - hlen;
	if (expl) {		/* salt || explicit nonce */
		memcpy(nonce, iv, 4);
		memcpy(nonce + 4, body, EXPLICIT_NONCE);
	} else {		/* RFC 7905: iv xor epoch || seq */
		memcpy(nonce, iv, sizeof(nonce));
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= m->data[3 + i];
	}
	ptlen = blen - expl - tag;

	pt = malloc(ptlen + 16);	/* room for what a final step writes */
	if (!pt)
		return -ENOMEM;
	clen = ptlen;
	if (do_aead_open(cipher, key, nonce, aad,
			 rec_aad(m->data, hlen, ptlen, aad), body + expl,
			 ptlen, pt) ||
	    (m->type == TLS12_CID && !inner_plaintext(pt, &clen, &m->type))) {
		do_wipe(pt, ptlen + 16);
		free(pt);
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	do_wipe(m->data, m->len);
	free(m->data);
	m->data = pt;
	m->len = clen;
	m->sealed = false;
	return 0;
}

/*
 * Our last flight's protected records, opened with our write key and IV
 * (salt) of @epoch, the epoch handed to the kernel: one of another epoch
 * could not be sent again.
 */
int do12_open_flight(struct dtls_offload *h, int cipher, uint16_t epoch,
		     const uint8_t *key, const uint8_t *iv)
{
	unsigned int i;
	int ret;

	for (i = 0; i < h->nflight; i++) {
		if (!h->flight[i].sealed)
			continue;
		if (h->flight[i].epoch != epoch)
			return -DTLS_OFFLOAD_E_SEQ;
		ret = open_record(&h->flight[i], cipher, h->tx_cid.len, key,
				  iv);
		if (ret)
			return ret;
	}
	return 0;
}
