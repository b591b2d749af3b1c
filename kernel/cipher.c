// SPDX-License-Identifier: GPL-2.0
/*
 * Cipher suites: the table of what each crypto_info carries, AEAD setup,
 * and the per-record nonce and additional data.
 */

#include <crypto/aead.h>
#include <linux/module.h>
#include <linux/string.h>

#include "dtls.h"

#define DESC(type, key, iv, tag, explicit, alg_name, is_ccm)		\
	{								\
		.cipher_type = type,					\
		.key_size = key,					\
		.iv_size = iv,						\
		.tag_size = tag,					\
		.explicit_size = explicit,				\
		.ccm = is_ccm,						\
		.alg = alg_name,					\
	}

static bool async_crypto;
module_param(async_crypto, bool, 0444);
MODULE_PARM_DESC(async_crypto,
		 "Put every AEAD behind cryptd or pcrypt, so that each record completes asynchronously (for testing)");

/*
 * Every dtls12_crypto_info_* is info | key | salt or iv | rec_seq, packed;
 * dtls_cipher_check_layout() holds the UAPI structs to that.
 */
static const struct dtls_cipher_desc dtls_ciphers[] = {
	DESC(DTLS_CIPHER_AES_GCM_128, DTLS_CIPHER_AES_GCM_128_KEY_SIZE,
	     DTLS_CIPHER_AES_GCM_128_SALT_SIZE, DTLS_CIPHER_AES_GCM_128_TAG_SIZE,
	     DTLS_EXPLICIT_NONCE_SIZE, "gcm(aes)", false),
	DESC(DTLS_CIPHER_AES_GCM_256, DTLS_CIPHER_AES_GCM_256_KEY_SIZE,
	     DTLS_CIPHER_AES_GCM_256_SALT_SIZE, DTLS_CIPHER_AES_GCM_256_TAG_SIZE,
	     DTLS_EXPLICIT_NONCE_SIZE, "gcm(aes)", false),
	DESC(DTLS_CIPHER_AES_CCM_128, DTLS_CIPHER_AES_CCM_128_KEY_SIZE,
	     DTLS_CIPHER_AES_CCM_128_SALT_SIZE, DTLS_CIPHER_AES_CCM_128_TAG_SIZE,
	     DTLS_EXPLICIT_NONCE_SIZE, "ccm(aes)", true),
	DESC(DTLS_CIPHER_AES_CCM_8_128, DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE,
	     DTLS_CIPHER_AES_CCM_8_128_SALT_SIZE,
	     DTLS_CIPHER_AES_CCM_8_128_TAG_SIZE,
	     DTLS_EXPLICIT_NONCE_SIZE, "ccm(aes)", true),
	DESC(DTLS_CIPHER_CHACHA20_POLY1305,
	     DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
	     DTLS_CIPHER_CHACHA20_POLY1305_IV_SIZE,
	     DTLS_CIPHER_CHACHA20_POLY1305_TAG_SIZE,
	     0, "rfc7539(chacha20,poly1305)", false),
};

/* u8 arrays after a 4-byte header: the sizes pin down the layout */
void dtls_cipher_check_layout(void)
{
	BUILD_BUG_ON(sizeof(struct dtls12_crypto_info_aes_gcm_128) !=
		     DTLS_INFO_KEY_OFFSET + DTLS_CIPHER_AES_GCM_128_KEY_SIZE +
		     DTLS_CIPHER_AES_GCM_128_SALT_SIZE + DTLS_REC_SEQ_SIZE);
	BUILD_BUG_ON(sizeof(struct dtls12_crypto_info_aes_gcm_256) !=
		     DTLS_INFO_KEY_OFFSET + DTLS_CIPHER_AES_GCM_256_KEY_SIZE +
		     DTLS_CIPHER_AES_GCM_256_SALT_SIZE + DTLS_REC_SEQ_SIZE);
	BUILD_BUG_ON(sizeof(struct dtls12_crypto_info_aes_ccm_128) !=
		     DTLS_INFO_KEY_OFFSET + DTLS_CIPHER_AES_CCM_128_KEY_SIZE +
		     DTLS_CIPHER_AES_CCM_128_SALT_SIZE + DTLS_REC_SEQ_SIZE);
	BUILD_BUG_ON(sizeof(struct dtls12_crypto_info_aes_ccm_8_128) !=
		     DTLS_INFO_KEY_OFFSET + DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE +
		     DTLS_CIPHER_AES_CCM_8_128_SALT_SIZE + DTLS_REC_SEQ_SIZE);
	BUILD_BUG_ON(sizeof(struct dtls12_crypto_info_chacha20_poly1305) !=
		     DTLS_INFO_KEY_OFFSET +
		     DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE +
		     DTLS_CIPHER_CHACHA20_POLY1305_IV_SIZE + DTLS_REC_SEQ_SIZE);
}

const struct dtls_cipher_desc *dtls_cipher_find(u16 cipher_type)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(dtls_ciphers); i++)
		if (dtls_ciphers[i].cipher_type == cipher_type)
			return &dtls_ciphers[i];
	return NULL;
}

static unsigned int dtls_info_iv_offset(const struct dtls_cipher_desc *desc)
{
	return DTLS_INFO_KEY_OFFSET + desc->key_size;
}

static unsigned int dtls_info_rec_seq_offset(const struct dtls_cipher_desc *desc)
{
	return dtls_info_iv_offset(desc) + desc->iv_size;
}

unsigned int dtls_info_size(const struct dtls_cipher_desc *desc)
{
	return dtls_info_rec_seq_offset(desc) + DTLS_REC_SEQ_SIZE;
}

u64 dtls_info_rec_num(const struct dtls_cipher_desc *desc,
		      const union dtls_crypto_info_all *info)
{
	return get_unaligned_be64((const u8 *)info +
				  dtls_info_rec_seq_offset(desc));
}

void dtls_info_set_rec_num(const struct dtls_cipher_desc *desc,
			   union dtls_crypto_info_all *info, u64 rec_num)
{
	put_unaligned_be64(rec_num, (u8 *)info + dtls_info_rec_seq_offset(desc));
}

/*
 * Take the fastest implementation even if it may complete asynchronously
 * (the x86 AES-GCM one does when the FPU is busy): the synchronous
 * alternatives are several times slower.
 */
static struct crypto_aead *dtls_alloc_aead(const char *alg)
{
	static const char *const templates[] = DTLS_ASYNC_TEMPLATES;
	struct crypto_aead *aead, *wrapped = ERR_PTR(-ENOENT);
	char name[CRYPTO_MAX_ALG_NAME];
	unsigned int i;
	int len;

	if (!async_crypto)
		return crypto_alloc_aead(alg, 0, 0);

	/*
	 * Wrap the synchronous implementation (cryptd takes no other); the
	 * wrapper runs each request in a worker and completes it from there.
	 */
	aead = crypto_alloc_aead(alg, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(aead))
		return aead;
	for (i = 0; i < ARRAY_SIZE(templates); i++) {
		len = snprintf(name, sizeof(name), "%s(%s)", templates[i],
			       crypto_aead_driver_name(aead));
		wrapped = len < sizeof(name) ? crypto_alloc_aead(name, 0, 0) :
					       ERR_PTR(-ENAMETOOLONG);
		if (PTR_ERR(wrapped) != -ENOENT)
			break;
	}
	crypto_free_aead(aead);
	return wrapped;
}

int dtls_crypto_init(struct dtls_crypto *c, const struct dtls_cipher_desc *desc,
		     const union dtls_crypto_info_all *info)
{
	const u8 *base = (const u8 *)info;
	struct crypto_aead *aead;
	int err;

	aead = dtls_alloc_aead(desc->alg);
	if (IS_ERR(aead))
		return PTR_ERR(aead);

	err = crypto_aead_setkey(aead, base + DTLS_INFO_KEY_OFFSET,
				 desc->key_size);
	if (!err)
		err = crypto_aead_setauthsize(aead, desc->tag_size);
	if (err) {
		crypto_free_aead(aead);
		return err;
	}

	c->desc = desc;
	c->aead = aead;
	memcpy(c->iv, base + dtls_info_iv_offset(desc), desc->iv_size);
	c->epoch = dtls_info_rec_num(desc, info) >> DTLS_SEQ_BITS;
	memcpy(&c->info, info, dtls_info_size(desc));
	return 0;
}

void dtls_crypto_free(struct dtls_crypto *c)
{
	crypto_free_aead(c->aead);	/* wipes the expanded key */
	memzero_explicit(c->iv, sizeof(c->iv));
	memzero_explicit(&c->info, sizeof(c->info));
}

/*
 * Build the IV the kernel AEAD wants for one record.  @rec_num is the
 * 8-byte epoch || seq of the record, @explicit_nonce the 8 bytes that lead
 * the record body (GCM, CCM), ignored for ChaCha20-Poly1305.
 */
void dtls_make_iv(const struct dtls_crypto *c, const u8 *rec_num,
		  const u8 *explicit_nonce, u8 *iv)
{
	const struct dtls_cipher_desc *desc = c->desc;
	u8 *nonce = iv;
	int i;

	if (desc->ccm) {
		/* flags byte L' = 2, then the nonce, then a zero counter */
		memset(iv, 0, DTLS_CCM_IV_SIZE);
		iv[0] = DTLS_CCM_L_PRIME;
		nonce = iv + 1;
	}

	if (desc->explicit_size) {
		memcpy(nonce, c->iv, desc->iv_size);
		memcpy(nonce + desc->iv_size, explicit_nonce,
		       DTLS_EXPLICIT_NONCE_SIZE);
		return;
	}

	/* RFC 7905: static IV XOR the left-padded epoch || seq */
	memcpy(nonce, c->iv, DTLS_NONCE_SIZE);
	for (i = 0; i < DTLS_RECORD_NUMBER_SIZE; i++)
		nonce[DTLS_NONCE_SIZE - DTLS_RECORD_NUMBER_SIZE + i] ^= rec_num[i];
}

void dtls_make_aad(u8 *aad, const u8 *rec_num, u8 type, u16 plaintext_len)
{
	memcpy(aad, rec_num, DTLS_RECORD_NUMBER_SIZE);
	aad[8] = type;
	put_unaligned_be16(DTLS_1_2_VERSION, aad + 9);
	put_unaligned_be16(plaintext_len, aad + 11);
}
