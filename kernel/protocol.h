/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DTLS wire constants: 1.2 (RFC 6347, RFC 5288, RFC 6655, RFC 7905) and
 * 1.3 (RFC 9147).  Everything the module knows about the record format is
 * here.
 */
#ifndef _DTLS_PROTOCOL_H
#define _DTLS_PROTOCOL_H

#include <linux/bits.h>
#include <linux/dtls.h>
#include <linux/types.h>

/* type(1) | version(2) | epoch(2) | sequence_number(6) | length(2) */
#define DTLS_HEADER_SIZE		13
#define DTLS_HDR_TYPE			0
#define DTLS_HDR_VERSION		1
#define DTLS_HDR_EPOCH			3
#define DTLS_HDR_SEQ			5
#define DTLS_HDR_LENGTH			11

/* epoch || seq, as it appears in the header and in the AAD */
#define DTLS_RECORD_NUMBER_SIZE		8
#define DTLS_SEQ_BITS			48
#define DTLS_SEQ_MAX			((1ULL << DTLS_SEQ_BITS) - 1)

/* AAD = epoch || seq | type | version | plaintext length (RFC 6347 4.1.2.1) */
#define DTLS_AAD_SIZE			13

/*
 * RFC 9146: a protected DTLS 1.2 record with a connection ID has this
 * outer type; the connection ID follows the sequence number, and the
 * plaintext is a DTLSInnerPlaintext (content, real type, zero padding) as
 * in DTLS 1.3.  Its additional data: 8 bytes of 0xff, tls12_cid, the
 * connection ID's length, tls12_cid, version, epoch || seq, connection
 * ID, length of the DTLSInnerPlaintext.
 */
#define DTLS_RECORD_TYPE_TLS12_CID	25
#define DTLS12_CID_AAD_SIZE		23	/* and the connection ID */
#define DTLS_AAD_MAX			(DTLS12_CID_AAD_SIZE + DTLS_CID_MAX_SIZE)

/* A DTLS 1.2 header's size, from its type and the length of the CID */
static inline unsigned int dtls12_hdr_size(u8 type, u8 cid_len)
{
	return DTLS_HEADER_SIZE +
	       (type == DTLS_RECORD_TYPE_TLS12_CID ? cid_len : 0);
}

/* 1.0 appears only on plaintext epoch-0 records (ClientHello). */
#define DTLS_1_0_VERSION		0xfeff

#define DTLS_MAX_PLAINTEXT		BIT(14)
/* RFC 5246 6.2.3: ciphertext may exceed the plaintext by 2048 bytes at most */
#define DTLS_MAX_CIPHERTEXT		(DTLS_MAX_PLAINTEXT + 2048)

/* GCM and CCM: 4-byte implicit salt, 8-byte explicit nonce in the record */
#define DTLS_EXPLICIT_NONCE_SIZE	8
#define DTLS_NONCE_SIZE			12
/* Kernel ccm(aes) takes a 16-byte IV: L' = 2 (3-byte counter), nonce, counter */
#define DTLS_CCM_IV_SIZE		16
#define DTLS_CCM_L_PRIME		2
#define DTLS_MAX_IV_SIZE		DTLS_CCM_IV_SIZE
#define DTLS_MAX_TAG_SIZE		16

/*
 * DTLS 1.3's DTLSCiphertext header: 001CSLEE, then a connection ID (C),
 * the low 8 or 16 bits of the sequence number (S) and a 16-bit length (L);
 * E is the low two bits of the epoch.  Without L the record runs to the
 * end of the datagram.
 */
#define DTLS13_HDR_FIXED		0x20
#define DTLS13_HDR_FIXED_MASK		0xe0
#define DTLS13_HDR_C			0x10
#define DTLS13_HDR_S			0x08
#define DTLS13_HDR_L			0x04
#define DTLS13_HDR_EPOCH_MASK		0x03
/*
 * The form sent: 16-bit sequence number and a length, as wolfSSL sends,
 * behind the connection ID if there is one
 */
#define DTLS13_HDR_SIZE			5

/* A C bit exactly when this end expects a connection ID */
static inline bool dtls13_hdr_cid_ok(u8 first, u8 cid_len)
{
	return !(first & DTLS13_HDR_C) == !cid_len;
}

/*
 * A DTLSCiphertext header's size, from its first byte; a connection ID
 * carries no length: the receiver knows the one it asked for.
 */
static inline unsigned int dtls13_hdr_size(u8 first, u8 cid_len)
{
	return 1 + (first & DTLS13_HDR_C ? cid_len : 0) +
	       (first & DTLS13_HDR_S ? 2 : 1) +
	       (first & DTLS13_HDR_L ? 2 : 0);
}

/*
 * Record number encryption (RFC 9147 4.2.3) takes its mask from the first
 * 16 bytes of the encrypted record; a record shorter than that cannot be
 * sent or opened, so the sender pads.
 */
#define DTLS13_SN_SAMPLE		16
/* DTLSInnerPlaintext: the content, its real type, zero padding */
#define DTLS13_INNER_TYPE_SIZE		1
/* RFC 9146 for DTLS 1.2, RFC 8446 5.2 for 1.3: at most 255 bytes of padding */
#define DTLS_MAX_INNER_PLAINTEXT	(DTLS_MAX_PLAINTEXT + 256)
/* RFC 8446 5.2: the encrypted record is at most 2^14 + 256 bytes */
#define DTLS13_MAX_CIPHERTEXT		(DTLS_MAX_PLAINTEXT + 256)

/*
 * DTLS 1.3's AEAD usage limits per epoch (RFC 9147 4.5.3 and Appendix B,
 * RFC 8446 5.5).  Confidentiality: records one key may protect; AES-GCM
 * 2^24.5, AES-CCM (either tag) 2^23; ChaCha20-Poly1305 has none below its
 * sequence numbers.  Integrity: records that may fail authentication;
 * 2^36 for AES-GCM and ChaCha20-Poly1305, 2^23.5 for AES-CCM, and for
 * CCM_8 2^7, the value that keeps the other suites' margin (Appendix
 * B.3), which a deployment with other safeguards against forgery may
 * raise, up to AES-CCM's.
 */
#define DTLS13_AES_GCM_CONF_LIMIT	23726566ULL
#define DTLS13_AES_CCM_CONF_LIMIT	BIT_ULL(23)
#define DTLS13_NO_CONF_LIMIT		(DTLS_SEQ_MAX + 1)
#define DTLS13_FORGED_LIMIT		BIT_ULL(36)
#define DTLS13_AES_CCM_FORGED_LIMIT	11863283ULL
#define DTLS13_AES_CCM_8_FORGED_LIMIT	BIT_ULL(7)

static inline bool dtls_content_type_valid(u16 version, u8 type)
{
	if (version == DTLS_1_3_VERSION)
		return (type >= 21 && type <= 23) ||
		       type == DTLS_RECORD_TYPE_ACK;
	return type >= 20 && type <= 23;
}

#endif /* _DTLS_PROTOCOL_H */
