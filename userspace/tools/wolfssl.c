// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat and dtls-bench with --lib wolfssl: the DTLS 1.3 handshake in
 * wolfSSL (tools/setup's build, with DTLS 1.3) and its handoff through
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
	static const char * const c[] = {
		"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
		"TLS13-AES128-CCM-SHA256", "TLS13-AES128-CCM-8-SHA256",
		"TLS13-CHACHA20-POLY1305-SHA256",
		"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-CCM-SHA256:TLS13-AES128-CCM-8-SHA256",
	};

	return c[cipher_index()];
}

static WOLFSSL_CTX *wolf_ctx(void)
{
	WOLFSSL_CTX *ctx;

	wolfSSL_Init();
	ctx = wolfSSL_CTX_new(opt.listen ? wolfDTLSv1_3_server_method() :
			      wolfDTLSv1_3_client_method());
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
	c->h = dtls_offload_new();
	if (!c->h)
		die("out of memory");
	r = dtls_offload_wolfssl_prepare(c->h, ssl, c->fd);
	if (r)
		die("dtls_offload_wolfssl_prepare: %s", dtls_offload_strerror(r));
	if (opt.hs_timeout_ms)
		wolfSSL_dtls_set_timeout_init(ssl, opt.hs_timeout_ms < 1000 ? 1 :
					      opt.hs_timeout_ms / 1000);
	r = opt.listen ? wolfSSL_accept(ssl) : wolfSSL_connect(ssl);
	if (r != WOLFSSL_SUCCESS) {
		char buf[WOLFSSL_MAX_ERROR_SZ];

		die("DTLS 1.3 handshake failed: %s",
		    wolfSSL_ERR_error_string(wolfSSL_get_error(ssl, r), buf));
	}
	verbose("handshake done: wolfSSL, DTLS 1.3, %s", wolfSSL_get_cipher(ssl));
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
