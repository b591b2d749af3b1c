// SPDX-License-Identifier: GPL-2.0
/*
 * dtls-cat and dtls-bench with --lib mbedtls: the DTLS 1.2 handshake in
 * mbed TLS 3.6 (tools/setup's build), with connection IDs if --cid, and
 * its handoff through libdtls_offload_mbedtls.a.  The record layer is
 * always the kernel's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/timing.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/pk.h>
#include <psa/crypto.h>

#include "common.h"

#define SUITES_MAX	8

/* A session and what it uses, freed together */
struct mbed {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	mbedtls_timing_delay_context timer;
	int suites[SUITES_MAX + 1];
};

static const char *mbed_err(int r)
{
	static char buf[128];

	mbedtls_strerror(r, buf, sizeof(buf));
	return buf;
}

/* --cipher's suites, the certificate's key deciding ECDSA or RSA */
static void mbed_suites(struct mbed *m)
{
	static const char * const psk[] = {
		"TLS-PSK-WITH-AES-128-GCM-SHA256", "TLS-PSK-WITH-AES-256-GCM-SHA384",
		"TLS-PSK-WITH-AES-128-CCM", "TLS-PSK-WITH-AES-128-CCM-8",
		"TLS-PSK-WITH-CHACHA20-POLY1305-SHA256",
	};
	static const char * const cert[][2] = {
		{ "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
		  "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256" },
		{ "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
		  "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" },
		{ "TLS-ECDHE-ECDSA-WITH-AES-128-CCM", NULL },
		{ "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8", NULL },
		{ "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
		  "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256" },
	};
	int ci = cipher_index(), i, j, n = 0;

	for (i = 0; i < C_ALL; i++) {
		if (ci != C_ALL && ci != i)
			continue;
		for (j = 0; j < 2; j++) {
			const char *name = opt.psk_hex ? (j ? NULL : psk[i]) :
					   cert[i][j];

			if (!name)
				continue;
			m->suites[n] = mbedtls_ssl_get_ciphersuite_id(name);
			if (!m->suites[n])
				die("this mbed TLS has no suite %s", name);
			n++;
		}
	}
	m->suites[n] = 0;
	mbedtls_ssl_conf_ciphersuites(&m->conf, m->suites);
}

static void mbed_credentials(struct mbed *m)
{
	int r;

	if (opt.psk_hex) {
		r = mbedtls_ssl_conf_psk(&m->conf, opt.psk, opt.psk_len,
					 (const unsigned char *)opt.psk_id,
					 strlen(opt.psk_id));
		if (r)
			die("mbed TLS PSK: %s", mbed_err(r));
		return;
	}
	if (!opt.cert)
		return;
	r = mbedtls_x509_crt_parse_file(&m->crt, opt.cert);
	if (r)
		die("mbed TLS cannot use certificate %s: %s", opt.cert, mbed_err(r));
	r = mbedtls_pk_parse_keyfile(&m->pk, opt.key, NULL,
				     mbedtls_ctr_drbg_random, &m->drbg);
	if (r)
		die("mbed TLS cannot use key %s: %s", opt.key, mbed_err(r));
	r = mbedtls_ssl_conf_own_cert(&m->conf, &m->crt, &m->pk);
	if (r)
		die("mbed TLS: %s", mbed_err(r));
}

static void mbed_config(struct mbed *m)
{
	int r;

	r = mbedtls_ssl_config_defaults(&m->conf, opt.listen ? MBEDTLS_SSL_IS_SERVER :
					MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM,
					MBEDTLS_SSL_PRESET_DEFAULT);
	if (r)
		die("mbedtls_ssl_config_defaults: %s", mbed_err(r));
	mbedtls_ssl_conf_min_tls_version(&m->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&m->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_rng(&m->conf, mbedtls_ctr_drbg_random, &m->drbg);
	mbedtls_ssl_conf_authmode(&m->conf, MBEDTLS_SSL_VERIFY_NONE);
	/*
	 * The server's socket is already connected to its one client: no
	 * HelloVerifyRequest round (the kernel has no use for the cookie)
	 */
	if (opt.listen)
		mbedtls_ssl_conf_dtls_cookies(&m->conf, NULL, NULL, NULL);
	if (opt.hs_timeout_ms)
		mbedtls_ssl_conf_handshake_timeout(&m->conf, opt.hs_timeout_ms,
						   8000);
	if (opt.cid_hex) {
		r = mbedtls_ssl_conf_cid(&m->conf, opt.cid_len,
					 MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
		if (r)
			die("mbedtls_ssl_conf_cid: %s", mbed_err(r));
	}
	mbed_suites(m);
	mbed_credentials(m);
}

static struct mbed *mbed_new(void)
{
	struct mbed *m = calloc(1, sizeof(*m));
	psa_status_t ps;
	int r;

	if (!m)
		die("out of memory");
	/* mbed TLS 3.6 with TLS 1.3 compiled in wants PSA initialised */
	ps = psa_crypto_init();
	if (ps != PSA_SUCCESS)
		die("psa_crypto_init failed (%d)", (int)ps);
	mbedtls_ssl_init(&m->ssl);
	mbedtls_ssl_config_init(&m->conf);
	mbedtls_entropy_init(&m->entropy);
	mbedtls_ctr_drbg_init(&m->drbg);
	mbedtls_x509_crt_init(&m->crt);
	mbedtls_pk_init(&m->pk);
	r = mbedtls_ctr_drbg_seed(&m->drbg, mbedtls_entropy_func, &m->entropy,
				  (const unsigned char *)"dtls-cat", 8);
	if (r)
		die("mbedtls_ctr_drbg_seed: %s", mbed_err(r));
	mbed_config(m);
	r = mbedtls_ssl_setup(&m->ssl, &m->conf);
	if (r)
		die("mbedtls_ssl_setup: %s", mbed_err(r));
	mbedtls_ssl_set_timer_cb(&m->ssl, &m->timer, mbedtls_timing_set_delay,
				 mbedtls_timing_get_delay);
	if (opt.cid_hex) {
		r = mbedtls_ssl_set_cid(&m->ssl, MBEDTLS_SSL_CID_ENABLED,
					opt.cid, opt.cid_len);
		if (r)
			die("mbedtls_ssl_set_cid: %s", mbed_err(r));
	}
	return m;
}

void mbed_handshake(struct conn *c)
{
	struct mbed *m;
	int r;

	if (opt.dtls13)
		die("--lib mbedtls does DTLS 1.2 only: drop --dtls13");
	if (opt.no_offload)
		die("--lib mbedtls always hands the session to the kernel: drop --no-offload");
	m = mbed_new();
	c->mbed = m;
	c->h = dtls_offload_new();
	if (!c->h)
		die("out of memory");
	r = dtls_offload_mbedtls_prepare(c->h, &m->ssl, c->fd);
	if (r)
		die("dtls_offload_mbedtls_prepare: %s", dtls_offload_strerror(r));
	do {
		r = mbedtls_ssl_handshake(&m->ssl);
	} while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r)
		die("DTLS 1.2 handshake failed: %s", mbed_err(r));
	verbose("handshake done: mbed TLS, DTLS 1.2, %s",
		mbedtls_ssl_get_ciphersuite(&m->ssl));
}

int mbed_offload(struct conn *c)
{
	struct mbed *m = c->mbed;

	return dtls_offload_mbedtls(c->h, c->fd, &m->ssl);
}

void mbed_conn_free(struct conn *c)
{
	struct mbed *m = c->mbed;

	mbedtls_ssl_free(&m->ssl);
	mbedtls_ssl_config_free(&m->conf);
	mbedtls_x509_crt_free(&m->crt);
	mbedtls_pk_free(&m->pk);
	mbedtls_ctr_drbg_free(&m->drbg);
	mbedtls_entropy_free(&m->entropy);
	free(m);
	c->mbed = NULL;
}
