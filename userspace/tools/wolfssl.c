// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat and dtls-bench with --lib wolfssl: the DTLS 1.2 handshake, or
 * with --dtls13 the DTLS 1.3 one, in wolfSSL (tools/setup's build, with
 * DTLS 1.3), with connection IDs if --cid, and its handoff through
 * libdtls_offload_wolfssl.a.  The record layer is always the kernel's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#define NO_OLD_SHA_NAMES
#define NO_OLD_WC_NAMES
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "common.h"

static const char *wolf_ciphers(void)
{
	static const char * const c13[] = {
		"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
		"TLS13-AES128-CCM-SHA256", "TLS13-AES128-CCM-8-SHA256",
		"TLS13-CHACHA20-POLY1305-SHA256",
		"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-CCM-SHA256:TLS13-AES128-CCM-8-SHA256",
	};
	/* DTLS 1.2: the certificate's key decides ECDSA or RSA */
	static const char * const c12[] = {
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM-8",
		"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES128-CCM-8",
	};

	return opt.dtls13 ? c13[cipher_index()] : c12[cipher_index()];
}

static WOLFSSL_CTX *wolf_ctx(void)
{
	WOLFSSL_CTX *ctx;

	wolfSSL_Init();
	if (opt.dtls13)
		ctx = wolfSSL_CTX_new(opt.listen ? wolfDTLSv1_3_server_method() :
				      wolfDTLSv1_3_client_method());
	else
		ctx = wolfSSL_CTX_new(opt.listen ? wolfDTLSv1_2_server_method() :
				      wolfDTLSv1_2_client_method());
	if (!ctx)
		die("wolfSSL_CTX_new failed");
	if (wolfSSL_CTX_set_cipher_list(ctx, wolf_ciphers()) != WOLFSSL_SUCCESS)
		die("wolfSSL has no cipher '%s'", wolf_ciphers());
	if (opt.cert &&
	    (wolfSSL_CTX_use_certificate_chain_file(ctx, opt.cert) != WOLFSSL_SUCCESS ||
	     wolfSSL_CTX_use_PrivateKey_file(ctx, opt.key, WOLFSSL_FILETYPE_PEM) !=
	     WOLFSSL_SUCCESS))
		die("wolfSSL cannot use certificate %s / key %s", opt.cert, opt.key);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	return ctx;
}

/*
 * --cid: ask for connection IDs, ours opt.cid.  wolfSSL 5.9 has them in
 * DTLS 1.2 (RFC 9146) and 1.3; 5.7 in DTLS 1.3 only
 * (wolfSSL_dtls_cid_use() refuses a 1.2 session there).
 */
static void wolf_cid(WOLFSSL *ssl)
{
	if (!opt.cid_hex)
		return;
	if (wolfSSL_dtls_cid_use(ssl) != WOLFSSL_SUCCESS) {
		if (opt.dtls13)
			die("wolfSSL_dtls_cid_use failed: build wolfSSL with --enable-dtlscid (run tools/setup)");
		die("this wolfSSL (%s) has no connection IDs in DTLS 1.2: add --dtls13, or use --lib mbedtls for DTLS 1.2",
		    wolfSSL_lib_version());
	}
	if (wolfSSL_dtls_cid_set(ssl, opt.cid, opt.cid_len) != WOLFSSL_SUCCESS)
		die("wolfSSL refuses a %zu-byte connection ID: rebuild it with tools/setup (DTLS_CID_MAX_SIZE), or give a shorter --cid",
		    opt.cid_len);
}

void wolf_handshake(struct conn *c)
{
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	int r;

	if (opt.psk_hex)
		die("--lib wolfssl takes --cert/--key, not --psk");
	if (opt.no_offload)
		die("--lib wolfssl always hands the session to the kernel: drop --no-offload");
	ctx = wolf_ctx();
	ssl = wolfSSL_new(ctx);
	wolfSSL_CTX_free(ctx);	/* the session holds a reference */
	if (!ssl)
		die("wolfSSL_new failed");
	c->wssl = ssl;
	wolf_cid(ssl);
	c->h = dtls_offload_new();
	if (!c->h)
		die("out of memory");
	r = dtls_offload_wolfssl_prepare(c->h, ssl, c->fd);
	if (r)
		die("dtls_offload_wolfssl_prepare: %s", dtls_offload_strerror(r));
	/* wolfSSL counts whole seconds, and doubles up to 64 s by default */
	if (opt.hs_timeout_ms) {
		wolfSSL_dtls_set_timeout_init(ssl, opt.hs_timeout_ms < 1000 ? 1 :
					      opt.hs_timeout_ms / 1000);
		wolfSSL_dtls_set_timeout_max(ssl, 8);
	}
	r = opt.listen ? wolfSSL_accept(ssl) : wolfSSL_connect(ssl);
	if (r != WOLFSSL_SUCCESS) {
		char buf[WOLFSSL_MAX_ERROR_SZ];

		die("DTLS %s handshake failed: %s", opt.dtls13 ? "1.3" : "1.2",
		    wolfSSL_ERR_error_string(wolfSSL_get_error(ssl, r), buf));
	}
	verbose("handshake done: wolfSSL, DTLS %s, %s", opt.dtls13 ? "1.3" : "1.2",
		wolfSSL_get_cipher(ssl));
}

int wolf_offload(struct conn *c)
{
	return dtls_offload_wolfssl(c->h, c->fd, c->wssl);
}

void wolf_conn_free(struct conn *c)
{
	wolfSSL_free(c->wssl);
	c->wssl = NULL;
}
