// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: DTLS 1.2 (RFC 6347) from the datagrams of the
 * handshake, for the backends whose own I/O functions see them (GnuTLS,
 * wolfSSL).  Every record header gives a record number; the handshake
 * and change_cipher_spec records we send since we last read make up our
 * last flight, which core.c resends through the kernel if the peer
 * retransmits its own.  Our protected records in it (the Finished) are
 * kept as sent, header and all, and opened at handoff with our write key,
 * so that the kernel can protect them again with new record numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/dtls.h>

#include "internal.h"

#define HDR_LEN		13	/* DTLSPlaintext/DTLSCiphertext header */
#define EXPLICIT_NONCE	8	/* AES-GCM and AES-CCM (RFC 5288, 6655) */

/* Note the records of a datagram we sent; keep those of our last flight. */
void do12_note_sent(struct dtls_offload *h, const uint8_t *p, size_t len)
{
	while (len >= HDR_LEN) {
		uint8_t type = p[0];
		uint16_t epoch = get_be(p + 3, 2);
		uint64_t seq = get_be(p + 5, 6);
		size_t rlen = get_be(p + 11, 2);

		if (rlen > len - HDR_LEN)
			return;
		do_seen_note(&h->wr, epoch, seq);
		h->last_wr_epoch = epoch;
		if (type == DTLS_RECORD_TYPE_CHANGE_CIPHER_SPEC ||
		    type == DTLS_RECORD_TYPE_HANDSHAKE) {
			if (!h->flight_open ||
			    (!epoch && do_flight_has(h, type, p + HDR_LEN, rlen)))
				do_flight_clear(h);
			h->flight_open = true;
			if (epoch)	/* keep the header: it is the AAD */
				do_flight_add(h, type, epoch, seq, true, p,
					      HDR_LEN + rlen);
			else
				do_flight_add(h, type, 0, seq, false,
					      p + HDR_LEN, rlen);
		}
		p += HDR_LEN + rlen;
		len -= HDR_LEN + rlen;
	}
}

/*
 * A datagram we received: its record numbers (a forged record can only
 * raise them, so the kernel refuses rather than accepts a replay), and
 * whatever we send next is a new flight.
 */
void do12_note_recv(struct dtls_offload *h, const uint8_t *p, size_t len)
{
	while (len >= HDR_LEN) {
		size_t rlen = get_be(p + 11, 2);

		if (rlen > len - HDR_LEN)
			break;
		do_seen_note(&h->rd, get_be(p + 3, 2), get_be(p + 5, 6));
		p += HDR_LEN + rlen;
		len -= HDR_LEN + rlen;
	}
	h->flight_open = false;
}

/* Open a protected record of our flight in place (it becomes plaintext). */
static int open_record(struct do_flight_msg *m, int cipher, const uint8_t *key,
		       const uint8_t *iv)
{
	size_t tag = do_tag_len(cipher), expl = 0, blen, ptlen;
	uint8_t nonce[DTLS13_IV_SIZE], aad[HDR_LEN];
	const uint8_t *body;
	uint8_t *pt;
	int i;

	if (cipher != DTLS_CIPHER_CHACHA20_POLY1305)
		expl = EXPLICIT_NONCE;
	if (m->len < HDR_LEN + expl + tag)
		return -DTLS_OFFLOAD_E_TLSLIB;
	body = m->data + HDR_LEN;
	blen = m->len - HDR_LEN;
	if (expl) {		/* salt || explicit nonce */
		memcpy(nonce, iv, 4);
		memcpy(nonce + 4, body, EXPLICIT_NONCE);
	} else {		/* RFC 7905: iv xor epoch || seq */
		memcpy(nonce, iv, sizeof(nonce));
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= m->data[3 + i];
	}
	ptlen = blen - expl - tag;
	memcpy(aad, m->data + 3, 8);		/* epoch || seq */
	aad[8] = m->data[0];			/* type */
	aad[9] = m->data[1];			/* version */
	aad[10] = m->data[2];
	aad[11] = ptlen >> 8;
	aad[12] = ptlen & 0xff;

	pt = malloc(ptlen + 16);	/* room for what a final step writes */
	if (!pt)
		return -ENOMEM;
	if (do_aead_open(cipher, key, nonce, aad, sizeof(aad), body + expl,
			 ptlen, pt)) {
		do_wipe(pt, ptlen + 16);
		free(pt);
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	do_wipe(m->data, m->len);
	free(m->data);
	m->data = pt;
	m->len = ptlen;
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
		ret = open_record(&h->flight[i], cipher, key, iv);
		if (ret)
			return ret;
	}
	return 0;
}
