/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DTLS 1.2 wire constants (RFC 6347, RFC 5288, RFC 6655, RFC 7905).
 * Everything the module knows about the record format is here.
 */
#ifndef _DTLS_PROTOCOL_H
#define _DTLS_PROTOCOL_H

#include <linux/bits.h>
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

static inline bool dtls_content_type_valid(u8 type)
{
	return type >= 20 && type <= 23;
}

#endif /* _DTLS_PROTOCOL_H */
