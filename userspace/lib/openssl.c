// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: OpenSSL 3.x.
 *
 * OpenSSL 3.0 has no API for the traffic keys or record numbers, so:
 * - the key block is derived again with the TLS 1.2 PRF from the master
 *   secret and the two randoms (RFC 5246 6.3);
 * - the record numbers come from the message callback, which reports every
 *   13-byte record header (content type SSL3_RT_HEADER) in both directions;
 * - our last flight is the list of handshake/CCS messages the callback
 *   reported as written since the last message read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <linux/dtls.h>

#include "internal.h"

#define HDR_LEN 13

static void msg_cb(int write_p, int version, int content_type,
		   const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct dtls_offload *h = arg;
	const uint8_t *p = buf;

	(void)version;
	(void)ssl;
	if (!h || h->state != DO_PREP_OPENSSL)
		return;
	if (content_type == SSL3_RT_HEADER) {
		uint16_t epoch;

		if (len < HDR_LEN)
			return;
		epoch = p[3] << 8 | p[4];
		/*
		 * Read headers are reported before OpenSSL checks the
		 * record, so the maximum may be too high by forged records,
		 * never too low: the kernel then refuses, rather than
		 * accepts, a replay of what OpenSSL has already delivered.
		 */
		do_seen_note(write_p ? &h->wr : &h->rd, epoch, get_be(p + 5, 6));
		if (write_p)
			h->last_wr_epoch = epoch;
		return;
	}
	if (content_type != SSL3_RT_HANDSHAKE &&
	    content_type != SSL3_RT_CHANGE_CIPHER_SPEC)
		return;
	if (!write_p) {
		h->flight_open = false;
		return;
	}
	/* A new flight, or OpenSSL resending the current one. */
	if (!h->flight_open || do_flight_has(h, content_type, p, len))
		do_flight_clear(h);
	h->flight_open = true;
	/* The message's last record header came just before this call. */
	do_flight_add(h, content_type, h->last_wr_epoch, 0, false, p, len);
}

int dtls_offload_openssl_prepare(struct dtls_offload *h, SSL *ssl)
{
	if (!h || !ssl)
		return -EINVAL;
	if (h->state != DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	SSL_set_msg_callback(ssl, msg_cb);
	SSL_set_msg_callback_arg(ssl, h);
	h->state = DO_PREP_OPENSSL;
	return 0;
}

void do_openssl_release(struct dtls_offload *h)
{
	BIO_free(h->parked_rbio);
	BIO_free(h->parked_wbio);
	h->parked_rbio = h->parked_wbio = NULL;
}

static int map_cipher(const SSL_CIPHER *c)
{
	const char *name = SSL_CIPHER_get_name(c);

	if (!SSL_CIPHER_is_aead(c))
		return -1;
	switch (SSL_CIPHER_get_cipher_nid(c)) {
	case NID_aes_128_gcm:
		return DTLS_CIPHER_AES_GCM_128;
	case NID_aes_256_gcm:
		return DTLS_CIPHER_AES_GCM_256;
	case NID_aes_128_ccm:
		/* CCM and CCM_8 share the NID; the name tells them apart */
		if (name && (strstr(name, "CCM8") || strstr(name, "CCM_8")))
			return DTLS_CIPHER_AES_CCM_8_128;
		return DTLS_CIPHER_AES_CCM_128;
	case NID_chacha20_poly1305:
		return DTLS_CIPHER_CHACHA20_POLY1305;
	}
	return -1;
}

/* The key block (dtls12.c) from the session's master secret and randoms */
static int derive_key_block(SSL *ssl, const SSL_CIPHER *c, uint8_t *out,
			    size_t outlen)
{
	uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
	uint8_t cr[DO12_RANDOM_LEN], sr[DO12_RANDOM_LEN];
	const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
	SSL_SESSION *sess = SSL_get_session(ssl);
	size_t mlen;
	int ret = -DTLS_OFFLOAD_E_TLSLIB;

	if (!md || !sess)
		return ret;
	mlen = SSL_SESSION_get_master_key(sess, master, sizeof(master));
	if (mlen &&
	    SSL_get_client_random(ssl, cr, sizeof(cr)) == sizeof(cr) &&
	    SSL_get_server_random(ssl, sr, sizeof(sr)) == sizeof(sr))
		ret = do12_key_block(EVP_MD_get0_name(md), master, mlen, cr, sr,
				     out, outlen);
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(cr, sizeof(cr));
	OPENSSL_cleanse(sr, sizeof(sr));
	return ret;
}

/*
 * Take over what OpenSSL has decrypted or buffered but not returned, without
 * reading the socket: the read BIO is swapped for an empty memory BIO, so
 * SSL_read() stops with WANT_READ once OpenSSL's own buffers are empty.
 * Datagrams still in the socket queue are for the kernel.
 */
static int drain(struct dtls_offload *h, SSL *ssl)
{
	BIO *empty = BIO_new(BIO_s_mem());
	BIO *rbio = SSL_get_rbio(ssl);
	uint8_t *buf;
	int ret = 0, i;

	if (!empty)
		return -ENOMEM;
	buf = OPENSSL_malloc(DO_MAX_RECORD);
	if (!buf) {
		BIO_free(empty);
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(empty, -1);
	if (rbio && !BIO_up_ref(rbio)) {
		BIO_free(empty);
		OPENSSL_free(buf);
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	h->parked_rbio = rbio;
	SSL_set0_rbio(ssl, empty);

	for (i = 0; i < 100000; i++) {
		int n = SSL_read(ssl, buf, DO_MAX_RECORD);

		if (n > 0) {
			ret = do_pending_add(h, buf, n);
			if (ret)
				break;
			continue;
		}
		switch (SSL_get_error(ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			goto out;
		case SSL_ERROR_ZERO_RETURN:
			h->peer_closed = true;
			goto out;
		default:
			ret = -DTLS_OFFLOAD_E_TLSLIB;
			goto out;
		}
	}
out:
	OPENSSL_clear_free(buf, DO_MAX_RECORD);
	return ret;
}

/* From now on nothing OpenSSL writes can reach the wire. */
static int park_wbio(struct dtls_offload *h, SSL *ssl)
{
	BIO *null = BIO_new(BIO_s_null());
	BIO *wbio = SSL_get_wbio(ssl);

	if (!null)
		return -ENOMEM;
	if (wbio && !BIO_up_ref(wbio)) {
		BIO_free(null);
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	h->parked_wbio = wbio;
	SSL_set0_wbio(ssl, null);
	return 0;
}

int dtls_offload_openssl(struct dtls_offload *h, int fd, SSL *ssl)
{
	uint8_t kb[2 * 32 + 2 * 12];
	const SSL_CIPHER *c;
	struct do12_keys k;
	size_t klen, ivlen;
	uint64_t tx, rx;
	uint16_t epoch;
	int cipher, ret;

	if (!h || !ssl || fd < 0)
		return -EINVAL;
	if (h->state != DO_PREP_OPENSSL || !SSL_is_init_finished(ssl))
		return -DTLS_OFFLOAD_E_STATE;
	if (SSL_version(ssl) != DTLS1_2_VERSION)
		return -DTLS_OFFLOAD_E_VERSION;
	c = SSL_get_current_cipher(ssl);
	if (!c)
		return -DTLS_OFFLOAD_E_STATE;
	cipher = map_cipher(c);
	if (cipher < 0)
		return -DTLS_OFFLOAD_E_CIPHER;
	klen = do_key_len(cipher);
	ivlen = do_iv_len(cipher);
	ret = do_probe(fd);
	if (ret)
		return ret;

	ret = derive_key_block(ssl, c, kb, 2 * klen + 2 * ivlen);
	if (ret)
		goto out;
	/* our final flight must be complete before the messages change */
	h->flight_open = false;
	ret = drain(h, ssl);
	if (ret)
		goto out;
	ret = park_wbio(h, ssl);
	if (ret)
		goto out;
	SSL_set_msg_callback(ssl, NULL);
	SSL_set_msg_callback_arg(ssl, NULL);

	/*
	 * Both directions change epoch once per handshake, so the read epoch
	 * equals the write epoch our Finished went out in.
	 */
	epoch = h->last_wr_epoch;
	if (!epoch || epoch >= DO_EPOCHS || !h->wr.seen[epoch] ||
	    !h->rd.seen[epoch] || !h->wr.seen[0]) {
		ret = -DTLS_OFFLOAD_E_SEQ;
		goto out;
	}
	tx = (uint64_t)epoch << 48 | (h->wr.max[epoch] + 1);
	rx = (uint64_t)epoch << 48 | (h->rd.max[epoch] + 1);
	h->next_e0_seq = h->wr.max[0] + 1;
	h->we_sent_last = !!SSL_is_server(ssl) ^ !!SSL_session_reused(ssl);

	do12_key_block_split(cipher, kb, SSL_is_server(ssl), &k);
	ret = do_install(h, fd, cipher, k.tx_key, k.tx_iv, tx, k.rx_key,
			 k.rx_iv, rx);
out:
	OPENSSL_cleanse(kb, sizeof(kb));
	return ret;
}
