// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: mbed TLS 3.6, DTLS 1.2, with or without connection IDs
 * (RFC 9146).
 *
 * mbed TLS exports the TLS 1.2 master secret with both randoms and the
 * PRF's hash (mbedtls_ssl_set_export_keys_cb()), from which the key block
 * is derived again (dtls12.c), as for OpenSSL.  Its record numbers are
 * internal: the library's BIO callbacks do the handshake's socket I/O and
 * keep its datagrams, whose record headers give them, and our last flight
 * (dtls12.c, as for GnuTLS and wolfSSL).  The datagrams are read at
 * handoff rather than as they pass, because the protected records of a
 * session with connection IDs carry a CID whose length the handshake
 * decides: mbedtls_ssl_get_peer_cid() and mbedtls_ssl_get_own_cid() tell
 * it once the handshake is over, and core.c installs both CIDs before the
 * keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ssl.h>
#include <mbedtls/net_sockets.h>
#include <linux/dtls.h>

#include "internal.h"

#ifndef MBEDTLS_SSL_DTLS_CONNECTION_ID
#error "mbed TLS must be built with MBEDTLS_SSL_DTLS_CONNECTION_ID: run tools/setup"
#endif
#if MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT != 0
#error "mbed TLS's connection IDs must be RFC 9146's (MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT 0)"
#endif

#define MASTER_LEN	48

struct do_mbed {
	struct do_dgram_log log;
	bool nonblock;		/* the socket was O_NONBLOCK at _prepare */
	bool have_master;
	mbedtls_tls_prf_types prf;
	uint8_t master[MASTER_LEN];
	uint8_t client_random[DO12_RANDOM_LEN], server_random[DO12_RANDOM_LEN];
};

static void mbed_free(struct dtls_offload *h)
{
	struct do_mbed *m = h->backend;

	if (!m)
		return;
	do_dgram_log_free(&m->log);
	do_wipe(m, sizeof(*m));
	free(m);
	h->backend = NULL;
}

static void export_keys(void *arg, mbedtls_ssl_key_export_type type,
			const unsigned char *secret, size_t len,
			const unsigned char client_random[32],
			const unsigned char server_random[32],
			mbedtls_tls_prf_types prf)
{
	struct dtls_offload *h = arg;
	struct do_mbed *m = h->backend;

	if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET ||
	    h->state != DO_PREP_MBEDTLS || !m || len != MASTER_LEN)
		return;
	memcpy(m->master, secret, MASTER_LEN);
	memcpy(m->client_random, client_random, DO12_RANDOM_LEN);
	memcpy(m->server_random, server_random, DO12_RANDOM_LEN);
	m->prf = prf;
	m->have_master = true;
}

static int bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct dtls_offload *h = arg;
	ssize_t n;

	if (!h || h->state != DO_PREP_MBEDTLS)
		return MBEDTLS_ERR_NET_SEND_FAILED;	/* offloaded */
	if (h->peer_id)		/* no keys at that address yet: sent as is */
		n = sendto(h->fd, buf, len, MSG_NOSIGNAL,
			   (struct sockaddr *)&h->peer_addr, h->peer_addrlen);
	else
		n = send(h->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ?
		       MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
	do_dgram_log_add(&((struct do_mbed *)h->backend)->log, true, buf, n);
	return (int)n;
}

/*
 * Blocking up to mbed TLS's retransmission timer (@ms, 0: none), unless
 * the socket is non-blocking.  While the handoff drains mbed TLS, the
 * socket's queue is left to the kernel.  A peer of a many-peer socket
 * reads what dtls_offload_input() left.
 */
static int bio_recv_timeout(void *arg, unsigned char *buf, size_t len,
			    uint32_t ms)
{
	struct dtls_offload *h = arg;
	struct do_mbed *m = h ? h->backend : NULL;
	struct pollfd p;
	ssize_t n;

	if (!h || h->state != DO_PREP_MBEDTLS)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	if (h->draining)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (h->peer_id) {
		n = do_inbox_take(h, buf, len);
		if (n < 0)
			return MBEDTLS_ERR_SSL_WANT_READ;
		do_dgram_log_add(&m->log, false, buf, n);
		return (int)n;
	}
	p.fd = h->fd;
	p.events = POLLIN;
	if (!m->nonblock && poll(&p, 1, ms ? (int)ms : -1) == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	n = recv(h->fd, buf, len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ?
		       MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
	do_dgram_log_add(&m->log, false, buf, n);
	return (int)n;
}

/* After handoff, for anything mbed TLS still tries */
static int bio_refuse_send(void *arg, const unsigned char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_refuse_recv(void *arg, unsigned char *buf, size_t len,
			   uint32_t ms)
{
	(void)arg;
	(void)buf;
	(void)len;
	(void)ms;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

int dtls_offload_mbedtls_prepare(struct dtls_offload *h,
				 mbedtls_ssl_context *ssl, int fd)
{
	int err;

	if (!h || !ssl || fd < 0)
		return -EINVAL;
	if (h->state != DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	err = h->peer_id ? do_probe_peer(fd) : do_probe(fd);
	if (err)
		return err;
	h->backend = calloc(1, sizeof(struct do_mbed));
	if (!h->backend)
		return -ENOMEM;
	((struct do_mbed *)h->backend)->nonblock =
		fcntl(fd, F_GETFL) & O_NONBLOCK;
	h->backend_free = mbed_free;
	h->fd = fd;
	h->state = DO_PREP_MBEDTLS;
	mbedtls_ssl_set_export_keys_cb(ssl, export_keys, h);
	mbedtls_ssl_set_bio(ssl, h, bio_send, NULL, bio_recv_timeout);
	return 0;
}

/*
 * The AEAD suites the kernel has (RFC 5288, 6655, 7905, 7251), whatever
 * their key exchange, told by mbed TLS's names: "TLS-<kx>-WITH-<cipher>".
 */
static int mbed_cipher(mbedtls_ssl_context *ssl)
{
	static const struct { const char *tail; int cipher; } t[] = {
		{ "-WITH-AES-128-GCM-SHA256", DTLS_CIPHER_AES_GCM_128 },
		{ "-WITH-AES-256-GCM-SHA384", DTLS_CIPHER_AES_GCM_256 },
		{ "-WITH-AES-128-CCM", DTLS_CIPHER_AES_CCM_128 },
		{ "-WITH-AES-128-CCM-8", DTLS_CIPHER_AES_CCM_8_128 },
		{ "-WITH-CHACHA20-POLY1305-SHA256",
		  DTLS_CIPHER_CHACHA20_POLY1305 },
	};
	const char *name = mbedtls_ssl_get_ciphersuite(ssl);
	size_t i, n = name ? strlen(name) : 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t tl = strlen(t[i].tail);

		if (n > tl && !strcmp(name + n - tl, t[i].tail))
			return t[i].cipher;
	}
	return -1;
}

/* The connection IDs in use, if the handshake negotiated them */
static int mbed_cids(struct dtls_offload *h, mbedtls_ssl_context *ssl)
{
	uint8_t peer[MBEDTLS_SSL_CID_OUT_LEN_MAX], own[MBEDTLS_SSL_CID_IN_LEN_MAX];
	size_t plen = 0, olen = 0;
	int on = 0, own_on = 0;

	h->tx_cid.len = 0;
	h->rx_cid.len = 0;
	if (mbedtls_ssl_get_peer_cid(ssl, &on, peer, &plen) ||
	    mbedtls_ssl_get_own_cid(ssl, &own_on, own, &olen))
		return -DTLS_OFFLOAD_E_TLSLIB;
	if (on != MBEDTLS_SSL_CID_ENABLED)
		return 0;
	if (plen > DTLS_CID_MAX_SIZE || olen > DTLS_CID_MAX_SIZE)
		return -DTLS_OFFLOAD_E_TLSLIB;
	h->tx_cid.len = plen;
	memcpy(h->tx_cid.cid, peer, plen);
	if (own_on == MBEDTLS_SSL_CID_ENABLED) {
		h->rx_cid.len = olen;
		memcpy(h->rx_cid.cid, own, olen);
	}
	return 0;
}

/*
 * What mbed TLS holds, decrypted or not, until it wants to read the socket
 * (the BIO refuses while draining): datagrams in the socket queue are for
 * the kernel.
 */
static int mbed_drain(struct dtls_offload *h, mbedtls_ssl_context *ssl)
{
	uint8_t *buf = malloc(DO_MAX_RECORD);
	int n, err = 0;

	if (!buf)
		return -ENOMEM;
	h->draining = true;
	for (;;) {
		n = mbedtls_ssl_read(ssl, buf, DO_MAX_RECORD);
		if (n > 0) {
			err = do_pending_add(h, buf, n);
			if (err)
				break;
			continue;
		}
		if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			h->peer_closed = true;	/* as OpenSSL's, GnuTLS's */
		else if (n != MBEDTLS_ERR_SSL_WANT_READ &&
			 n != MBEDTLS_ERR_SSL_TIMEOUT && n != 0)
			err = -DTLS_OFFLOAD_E_TLSLIB;
		break;
	}
	h->draining = false;
	do_wipe(buf, DO_MAX_RECORD);
	free(buf);
	return err;
}

/* The key block from the exported master secret, in @kb */
static int mbed_key_block(const struct do_mbed *m, int cipher, uint8_t *kb)
{
	const char *md;

	if (!m->have_master)
		return -DTLS_OFFLOAD_E_TLSLIB;
	switch (m->prf) {
	case MBEDTLS_SSL_TLS_PRF_SHA256:
		md = "SHA256";
		break;
	case MBEDTLS_SSL_TLS_PRF_SHA384:
		md = "SHA384";
		break;
	default:
		return -DTLS_OFFLOAD_E_CIPHER;
	}
	return do12_key_block(md, m->master, MASTER_LEN, m->client_random,
			      m->server_random, kb,
			      2 * do_key_len(cipher) + 2 * do_iv_len(cipher));
}

static int mbed_handoff(struct dtls_offload *h, mbedtls_ssl_context *ssl,
			int fd, int cipher)
{
	const mbedtls_ssl_config *conf = mbedtls_ssl_context_get_config(ssl);
	bool server = mbedtls_ssl_conf_get_endpoint(conf) ==
		      MBEDTLS_SSL_IS_SERVER;
	struct do_mbed *m = h->backend;
	uint8_t kb[2 * 32 + 2 * 12];
	struct do12_keys k;
	uint64_t tx, rx;
	int err;

	/* the CIDs frame the records; who spoke last, before the drain */
	err = mbed_cids(h, ssl) ?:
	      do12_note_log(h, &m->log) ?:
	      mbed_drain(h, ssl) ?:
	      do12_next_seqs(h, &tx, &rx) ?:
	      mbed_key_block(m, cipher, kb);
	if (err)
		goto out;
	do12_key_block_split(cipher, kb, server, &k);
	err = do12_open_flight(h, cipher, tx >> 48, k.tx_key, k.tx_iv) ?:
	      do_install(h, fd, cipher, k.tx_key, k.tx_iv, tx, k.rx_key,
			 k.rx_iv, rx);
out:
	do_wipe(kb, sizeof(kb));
	return err;
}

int dtls_offload_mbedtls(struct dtls_offload *h, int fd,
			 mbedtls_ssl_context *ssl)
{
	int cipher, err;

	if (!h || !ssl || fd < 0)
		return -EINVAL;
	if (h->state != DO_PREP_MBEDTLS || fd != h->fd ||
	    !mbedtls_ssl_is_handshake_over(ssl))
		return -DTLS_OFFLOAD_E_STATE;
	if (mbedtls_ssl_get_version_number(ssl) != MBEDTLS_SSL_VERSION_TLS1_2 ||
	    strcmp(mbedtls_ssl_get_version(ssl), "DTLSv1.2"))
		return -DTLS_OFFLOAD_E_VERSION;
	cipher = mbed_cipher(ssl);
	if (cipher < 0)
		return -DTLS_OFFLOAD_E_CIPHER;
	err = mbed_handoff(h, ssl, fd, cipher);
	if (err)
		return err;
	/* mbed TLS reaches the socket no more, nor the handle */
	mbedtls_ssl_set_bio(ssl, NULL, bio_refuse_send, NULL, bio_refuse_recv);
	mbedtls_ssl_set_export_keys_cb(ssl, NULL, NULL);
	mbed_free(h);
	return 0;
}
