// SPDX-License-Identifier: GPL-2.0
/*
 * Cipher suites: the table of what each crypto_info carries, AEAD setup,
 * the per-record nonce and additional data, and DTLS 1.3's record number
 * mask.
 */

#include <crypto/aead.h>
#include <linux/module.h>
#include <linux/string.h>

#include "dtls.h"

static bool async_crypto;
module_param(async_crypto, bool, 0444);
MODULE_PARM_DESC(async_crypto,
		 "Put every AEAD behind cryptd or pcrypt, so that each record completes asynchronously (for testing)");

/*
 * Every dtls12_crypto_info_* is info | key | salt or iv | rec_seq, every
 * dtls13_crypto_info_* info | key | iv | sn_key | rec_seq, packed;
 * dtls_cipher_check_layout() holds the UAPI structs to that.
 */
static const struct dtls_cipher_desc dtls_ciphers[] = {
	{
		.cipher_type = DTLS_CIPHER_AES_GCM_128,
		.name = "aes128gcm",
		.key_size = DTLS_CIPHER_AES_GCM_128_KEY_SIZE,
		.iv_size = DTLS_CIPHER_AES_GCM_128_SALT_SIZE,
		.tag_size = DTLS_CIPHER_AES_GCM_128_TAG_SIZE,
		.explicit_size = DTLS_EXPLICIT_NONCE_SIZE,
		.alg = "gcm(aes)",
		.sn_alg = "ecb(aes)",
		.conf_limit = DTLS13_AES_GCM_CONF_LIMIT,
		.forged_limit = DTLS13_FORGED_LIMIT,
		.forged_max = DTLS13_FORGED_LIMIT,
	}, {
		.cipher_type = DTLS_CIPHER_AES_GCM_256,
		.name = "aes256gcm",
		.key_size = DTLS_CIPHER_AES_GCM_256_KEY_SIZE,
		.iv_size = DTLS_CIPHER_AES_GCM_256_SALT_SIZE,
		.tag_size = DTLS_CIPHER_AES_GCM_256_TAG_SIZE,
		.explicit_size = DTLS_EXPLICIT_NONCE_SIZE,
		.alg = "gcm(aes)",
		.sn_alg = "ecb(aes)",
		.conf_limit = DTLS13_AES_GCM_CONF_LIMIT,
		.forged_limit = DTLS13_FORGED_LIMIT,
		.forged_max = DTLS13_FORGED_LIMIT,
	}, {
		.cipher_type = DTLS_CIPHER_AES_CCM_128,
		.name = "aes128ccm",
		.key_size = DTLS_CIPHER_AES_CCM_128_KEY_SIZE,
		.iv_size = DTLS_CIPHER_AES_CCM_128_SALT_SIZE,
		.tag_size = DTLS_CIPHER_AES_CCM_128_TAG_SIZE,
		.explicit_size = DTLS_EXPLICIT_NONCE_SIZE,
		.ccm = true,
		.alg = "ccm(aes)",
		.sn_alg = "ecb(aes)",
		.conf_limit = DTLS13_AES_CCM_CONF_LIMIT,
		.forged_limit = DTLS13_AES_CCM_FORGED_LIMIT,
		.forged_max = DTLS13_AES_CCM_FORGED_LIMIT,
	}, {
		.cipher_type = DTLS_CIPHER_AES_CCM_8_128,
		.name = "aes128ccm8",
		.key_size = DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE,
		.iv_size = DTLS_CIPHER_AES_CCM_8_128_SALT_SIZE,
		.tag_size = DTLS_CIPHER_AES_CCM_8_128_TAG_SIZE,
		.explicit_size = DTLS_EXPLICIT_NONCE_SIZE,
		.ccm = true,
		.alg = "ccm(aes)",
		.sn_alg = "ecb(aes)",
		.conf_limit = DTLS13_AES_CCM_CONF_LIMIT,
		.forged_limit = DTLS13_AES_CCM_8_FORGED_LIMIT,
		.forged_max = DTLS13_AES_CCM_FORGED_LIMIT,
	}, {
		.cipher_type = DTLS_CIPHER_CHACHA20_POLY1305,
		.name = "chacha20poly1305",
		.key_size = DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
		.iv_size = DTLS_CIPHER_CHACHA20_POLY1305_IV_SIZE,
		.tag_size = DTLS_CIPHER_CHACHA20_POLY1305_TAG_SIZE,
		.alg = "rfc7539(chacha20,poly1305)",
		.sn_alg = "chacha20",
		.sn_keystream = true,
		.conf_limit = DTLS13_NO_CONF_LIMIT,
		.forged_limit = DTLS13_FORGED_LIMIT,
		.forged_max = DTLS13_FORGED_LIMIT,
	},
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
#define DTLS13_INFO_SIZE(key)						\
	(DTLS_INFO_KEY_OFFSET + 2 * (key) + DTLS13_IV_SIZE +		\
	 DTLS_REC_SEQ_SIZE)
	BUILD_BUG_ON(sizeof(struct dtls13_crypto_info_aes_gcm_128) !=
		     DTLS13_INFO_SIZE(DTLS_CIPHER_AES_GCM_128_KEY_SIZE));
	BUILD_BUG_ON(sizeof(struct dtls13_crypto_info_aes_gcm_256) !=
		     DTLS13_INFO_SIZE(DTLS_CIPHER_AES_GCM_256_KEY_SIZE));
	BUILD_BUG_ON(sizeof(struct dtls13_crypto_info_aes_ccm_128) !=
		     DTLS13_INFO_SIZE(DTLS_CIPHER_AES_CCM_128_KEY_SIZE));
	BUILD_BUG_ON(sizeof(struct dtls13_crypto_info_aes_ccm_8_128) !=
		     DTLS13_INFO_SIZE(DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE));
	BUILD_BUG_ON(sizeof(struct dtls13_crypto_info_chacha20_poly1305) !=
		     DTLS13_INFO_SIZE(DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE));
#undef DTLS13_INFO_SIZE
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

static unsigned int dtls_info_iv_size(const struct dtls_cipher_desc *desc,
				      u16 version)
{
	return version == DTLS_1_3_VERSION ? DTLS13_IV_SIZE : desc->iv_size;
}

/* DTLS 1.3 only */
static unsigned int dtls_info_sn_key_offset(const struct dtls_cipher_desc *desc)
{
	return dtls_info_iv_offset(desc) + DTLS13_IV_SIZE;
}

static unsigned int dtls_info_rec_seq_offset(const struct dtls_cipher_desc *desc,
					     u16 version)
{
	if (version == DTLS_1_3_VERSION)
		return dtls_info_sn_key_offset(desc) + desc->key_size;
	return dtls_info_iv_offset(desc) + desc->iv_size;
}

unsigned int dtls_info_size(const struct dtls_cipher_desc *desc, u16 version)
{
	return dtls_info_rec_seq_offset(desc, version) + DTLS_REC_SEQ_SIZE;
}

/* rec_seq: epoch || sequence number, in both versions */
u64 dtls_info_rec_num(const struct dtls_cipher_desc *desc,
		      const union dtls_crypto_info_all *info)
{
	return get_unaligned_be64((const u8 *)info +
				  dtls_info_rec_seq_offset(desc,
							   info->info.version));
}

void dtls_info_set_rec_num(const struct dtls_cipher_desc *desc,
			   union dtls_crypto_info_all *info, u64 rec_num)
{
	put_unaligned_be64(rec_num, (u8 *)info +
			   dtls_info_rec_seq_offset(desc, info->info.version));
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

/*
 * DTLS 1.3's record number cipher: one block of AES, or ChaCha20's key
 * stream, each time on 16 bytes in the caller's buffer; synchronous, so
 * that it can run wherever a record is opened.
 */
static struct crypto_sync_skcipher *
dtls_alloc_sn(const struct dtls_cipher_desc *desc, const u8 *key)
{
	struct crypto_sync_skcipher *sn;
	int err;

	sn = crypto_alloc_sync_skcipher(desc->sn_alg, 0, 0);
	if (IS_ERR(sn))
		return sn;
	err = crypto_sync_skcipher_setkey(sn, key, desc->key_size);
	if (err) {
		crypto_free_sync_skcipher(sn);
		return ERR_PTR(err);
	}
	return sn;
}

int dtls_crypto_init(struct dtls_crypto *c, const struct dtls_cipher_desc *desc,
		     const union dtls_crypto_info_all *info)
{
	const u8 *base = (const u8 *)info;
	u16 version = info->info.version;
	struct crypto_sync_skcipher *sn = NULL;
	struct crypto_aead *aead;
	int err;

	aead = dtls_alloc_aead(desc->alg);
	if (IS_ERR(aead))
		return PTR_ERR(aead);

	err = crypto_aead_setkey(aead, base + DTLS_INFO_KEY_OFFSET,
				 desc->key_size);
	if (!err)
		err = crypto_aead_setauthsize(aead, desc->tag_size);
	if (!err && version == DTLS_1_3_VERSION) {
		sn = dtls_alloc_sn(desc, base + dtls_info_sn_key_offset(desc));
		err = PTR_ERR_OR_ZERO(sn);
	}
	if (err) {
		crypto_free_aead(aead);
		return err;
	}

	c->desc = desc;
	c->aead = aead;
	c->sn = sn;
	c->version = version;
	memcpy(c->iv, base + dtls_info_iv_offset(desc),
	       dtls_info_iv_size(desc, version));
	c->epoch = dtls_info_rec_num(desc, info) >> DTLS_SEQ_BITS;
	memcpy(&c->info, info, dtls_info_size(desc, version));
	return 0;
}

void dtls_crypto_free(struct dtls_crypto *c)
{
	crypto_free_aead(c->aead);	/* wipes the expanded key */
	if (c->sn)
		crypto_free_sync_skcipher(c->sn);
	memzero_explicit(c->iv, sizeof(c->iv));
	memzero_explicit(&c->info, sizeof(c->info));
}

/* Where the nonce goes in the IV the kernel AEAD wants. */
static u8 *dtls_iv_nonce(const struct dtls_cipher_desc *desc, u8 *iv)
{
	if (!desc->ccm)
		return iv;
	/* flags byte L' = 2, then the nonce, then a zero counter */
	memset(iv, 0, DTLS_CCM_IV_SIZE);
	iv[0] = DTLS_CCM_L_PRIME;
	return iv + 1;
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
	u8 *nonce = dtls_iv_nonce(desc, iv);
	int i;

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

/*
 * RFC 9146 5: the additional data of a DTLS 1.2 record with connection ID
 * @cid, whose DTLSInnerPlaintext is @inner_len bytes long.  Returns its
 * length.
 */
unsigned int dtls12_make_cid_aad(u8 *aad, const u8 *rec_num,
				 const struct dtls_cid *cid, u16 inner_len)
{
	memset(aad, 0xff, DTLS_RECORD_NUMBER_SIZE);
	aad[8] = DTLS_RECORD_TYPE_TLS12_CID;
	aad[9] = cid->len;
	aad[10] = DTLS_RECORD_TYPE_TLS12_CID;
	put_unaligned_be16(DTLS_1_2_VERSION, aad + 11);
	memcpy(aad + 13, rec_num, DTLS_RECORD_NUMBER_SIZE);
	memcpy(aad + 21, cid->cid, cid->len);
	put_unaligned_be16(inner_len, aad + 21 + cid->len);
	return DTLS12_CID_AAD_SIZE + cid->len;
}

/* DTLS 1.3 (RFC 8446 5.3): the static IV XOR the 64-bit sequence number */
void dtls13_make_iv(const struct dtls_crypto *c, u64 seq, u8 *iv)
{
	u8 *nonce = dtls_iv_nonce(c->desc, iv);
	__be64 be = cpu_to_be64(seq);
	const u8 *s = (const u8 *)&be;
	int i;

	memcpy(nonce, c->iv, DTLS_NONCE_SIZE);
	for (i = 0; i < sizeof(be); i++)
		nonce[DTLS_NONCE_SIZE - sizeof(be) + i] ^= s[i];
}

/*
 * RFC 9147 4.2.3: the mask for a record's sequence number from @sample,
 * the first 16 bytes of its encrypted record.  AES: the sample encrypted
 * with sn_key.  ChaCha20: the key stream at counter = sample[0..3] (little
 * endian), nonce = sample[4..15], which is the crypto API's 16-byte
 * chacha20 IV as it stands.  @mask (16 bytes, reachable by a scatterlist)
 * gets the whole block; its first two bytes are the mask.
 */
int dtls13_sn_mask(const struct dtls_crypto *c, const u8 *sample, u8 *mask)
{
	SYNC_SKCIPHER_REQUEST_ON_STACK(req, c->sn);
	u8 iv[DTLS13_SN_SAMPLE];
	struct scatterlist sg;
	int err;

	if (c->desc->sn_keystream) {
		memcpy(iv, sample, DTLS13_SN_SAMPLE);
		memset(mask, 0, DTLS13_SN_SAMPLE);
	} else {
		memcpy(mask, sample, DTLS13_SN_SAMPLE);
	}
	sg_init_one(&sg, mask, DTLS13_SN_SAMPLE);
	skcipher_request_set_sync_tfm(req, c->sn);
	skcipher_request_set_callback(req, 0, NULL, NULL);
	skcipher_request_set_crypt(req, &sg, &sg, DTLS13_SN_SAMPLE, iv);
	err = crypto_skcipher_encrypt(req);
	skcipher_request_zero(req);
	return err;
}
