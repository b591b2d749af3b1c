// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: wolfSSL 5.7 or later built with DTLS 1.3 (--enable-dtls13,
 * HAVE_SECRET_CALLBACK) and the Atomic User getters (--enable-atomicuser),
 * for DTLS 1.3 and DTLS 1.2 sessions; the session's version decides.
 *
 * The library's own I/O callbacks do the socket I/O of the handshake and
 * keep a copy of every datagram.
 *
 * DTLS 1.3: wolfSSL hands out the traffic secrets
 * (wolfSSL_set_tls13_secret_cb()).  At handoff the datagrams are opened
 * again with keys derived from the secrets (dtls13.c), which gives what
 * wolfSSL does not expose: the record numbers each side has used in each
 * epoch, and the handshake message numbers, which the library's KeyUpdate
 * and ACKs go on from.
 * The client sends the handshake's final flight, which the server
 * acknowledges: the client keeps wolfSSL running until that ACK came
 * (wolfSSL_dtls13_has_pending_msg()), so wolfSSL still resends the flight
 * if it was lost; application data read meanwhile waits in the handle.
 * The server installs the client's handshake epoch as well, after the
 * first application epoch, so that a final flight the client resends
 * because the server's ACK was lost reaches the library, which
 * acknowledges it again.
 *
 * DTLS 1.2: the keys and IVs (salts) come from wolfSSL's Atomic User
 * getters (wolfSSL_GetClientWriteKey() etc.); the record numbers from the
 * datagrams' record headers, and our last flight from the handshake
 * records we sent since we last read (dtls12.c), as for GnuTLS: not from
 * wolfSSL_GetSequenceNumber(), which is the TLS counter (DTLS keeps its
 * own).  If the peer retransmits its final flight after handoff, core.c
 * resends ours through the kernel.
 *
 * Connection IDs (wolfSSL_dtls_cid_use(); DTLS 1.3, and DTLS 1.2 in a
 * wolfSSL that has them there: 5.9, not 5.7): read from wolfSSL at handoff,
 * before the datagrams are, since they frame the protected records, and
 * set on the socket before the keys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* wolfSSL keeps its own SHA256 etc. as macros unless told not to */
#define NO_OLD_SHA_NAMES
#define NO_OLD_WC_NAMES
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <linux/dtls.h>

#include "internal.h"

#if !defined(WOLFSSL_DTLS13) || !defined(HAVE_SECRET_CALLBACK)
#error "wolfSSL must be built with --enable-dtls13 and HAVE_SECRET_CALLBACK"
#endif
#ifndef WOLFSSL_DTLS_CID
#error "wolfSSL must be built with --enable-dtlscid (connection IDs): run tools/setup"
#endif
#ifndef ATOMIC_USER
#error "wolfSSL must be built with --enable-atomicuser (DTLS 1.2 keys): run tools/setup"
#endif

#define DGRAM_MAX	(DO_MAX_RECORD + 512)
#define EPOCH_HS	2	/* RFC 9147 6.1 */
#define EPOCH_APP	3

enum { CLI_HS, SRV_HS, CLI_APP, SRV_APP, N_SECRETS };

struct do_wolf {
	struct do_dgram_log log;
	uint8_t secret[N_SECRETS][DO13_MAX_HASH];
	bool have[N_SECRETS];
	int secret_len;
};

static void wolf_free(struct dtls_offload *h)
{
	struct do_wolf *w = h->backend;

	if (!w)
		return;
	do_dgram_log_free(&w->log);
	do_wipe(w, sizeof(*w));
	free(w);
	h->backend = NULL;
}

static int secret_cb(WOLFSSL *ssl, int id, const unsigned char *secret,
		     int len, void *arg)
{
	struct dtls_offload *h = arg;
	struct do_wolf *w = h->backend;
	int i;

	(void)ssl;
	switch (id) {
	case CLIENT_HANDSHAKE_TRAFFIC_SECRET:
		i = CLI_HS;
		break;
	case SERVER_HANDSHAKE_TRAFFIC_SECRET:
		i = SRV_HS;
		break;
	case CLIENT_TRAFFIC_SECRET:
		i = CLI_APP;
		break;
	case SERVER_TRAFFIC_SECRET:
		i = SRV_APP;
		break;
	default:
		return 0;
	}
	if (!w || len > DO13_MAX_HASH || h->state != DO_PREP_WOLFSSL)
		return 0;
	memcpy(w->secret[i], secret, len);
	w->have[i] = true;
	w->secret_len = len;
	return 0;
}

/* A failed send() or recv() as wolfSSL's I/O callbacks report it */
static int io_err(int want)
{
	if (errno == EAGAIN)
		return want;
	return errno == EINTR ? WOLFSSL_CBIO_ERR_ISR : WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct dtls_offload *h = arg;
	ssize_t n;

	(void)ssl;
	if (h->state != DO_PREP_WOLFSSL)
		return WOLFSSL_CBIO_ERR_GENERAL;	/* offloaded */
	n = send(h->fd, buf, sz, MSG_NOSIGNAL);
	if (n < 0)
		return io_err(WOLFSSL_CBIO_ERR_WANT_WRITE);
	do_dgram_log_add(&((struct do_wolf *)h->backend)->log, true, buf, n);
	return (int)n;
}

/* Blocking, up to wolfSSL's retransmission timer: TIMEOUT makes it resend */
static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct dtls_offload *h = arg;
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	int ms = wolfSSL_dtls_get_current_timeout(ssl) * 1000;
	ssize_t n;

	if (h->state != DO_PREP_WOLFSSL)
		return WOLFSSL_CBIO_ERR_GENERAL;
	/* the handoff waits only until our final flight is acknowledged */
	if (h->draining && !wolfSSL_dtls13_has_pending_msg(ssl))
		return WOLFSSL_CBIO_ERR_WANT_READ;
	if (wolfSSL_dtls13_use_quick_timeout(ssl))
		ms /= 4;
	if (poll(&p, 1, ms) == 0)
		return WOLFSSL_CBIO_ERR_TIMEOUT;
	n = recv(h->fd, buf, sz, MSG_DONTWAIT);
	if (n < 0)
		return io_err(WOLFSSL_CBIO_ERR_WANT_READ);
	do_dgram_log_add(&((struct do_wolf *)h->backend)->log, false, buf, n);
	return (int)n;
}

/* After handoff, for anything wolfSSL still tries */
static int io_refuse(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	(void)ssl;
	(void)buf;
	(void)sz;
	(void)arg;
	return WOLFSSL_CBIO_ERR_GENERAL;
}

int dtls_offload_wolfssl_prepare(struct dtls_offload *h, struct WOLFSSL *ssl,
				 int fd)
{
	int err;

	if (!h || !ssl || h->state != DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	err = do_probe(fd);
	if (err)
		return err;
	h->backend = calloc(1, sizeof(struct do_wolf));
	if (!h->backend)
		return -ENOMEM;
	h->backend_free = wolf_free;
	if (wolfSSL_set_tls13_secret_cb(ssl, secret_cb, h) != WOLFSSL_SUCCESS) {
		wolf_free(h);
		return -DTLS_OFFLOAD_E_TLSLIB;
	}
	wolfSSL_SSLSetIORecv(ssl, io_recv);
	wolfSSL_SSLSetIOSend(ssl, io_send);
	wolfSSL_SetIOReadCtx(ssl, h);
	wolfSSL_SetIOWriteCtx(ssl, h);
	h->fd = fd;
	h->state = DO_PREP_WOLFSSL;
	return 0;
}

static int wolf_cipher(WOLFSSL *ssl, bool *sha384)
{
	*sha384 = false;
	switch (wolfSSL_get_current_cipher_suite(ssl)) {
	case 0x1301:
		return DTLS_CIPHER_AES_GCM_128;
	case 0x1302:
		*sha384 = true;
		return DTLS_CIPHER_AES_GCM_256;
	case 0x1303:
		return DTLS_CIPHER_CHACHA20_POLY1305;
	case 0x1304:
		return DTLS_CIPHER_AES_CCM_128;
	case 0x1305:
		return DTLS_CIPHER_AES_CCM_8_128;
	}
	return -1;
}

/*
 * The connection IDs in use, if the handshake negotiated them: wolfSSL
 * drops its CID extension when the peer did not answer it, so a CID
 * context is left only on a session that negotiated them.  "tx" is the
 * peer's, which our records carry; "rx" ours.
 */
static int wolf_cids(struct dtls_offload *h, WOLFSSL *ssl)
{
	unsigned int tl = 0, rl = 0;

	h->tx_cid.len = 0;
	h->rx_cid.len = 0;
	if (!wolfSSL_dtls_cid_is_enabled(ssl))
		return 0;
	if (wolfSSL_dtls_cid_get_tx_size(ssl, &tl) != WOLFSSL_SUCCESS ||
	    wolfSSL_dtls_cid_get_rx_size(ssl, &rl) != WOLFSSL_SUCCESS ||
	    tl > DTLS_CID_MAX_SIZE || rl > DTLS_CID_MAX_SIZE ||
	    wolfSSL_dtls_cid_get_tx(ssl, h->tx_cid.cid, tl) != WOLFSSL_SUCCESS ||
	    wolfSSL_dtls_cid_get_rx(ssl, h->rx_cid.cid, rl) != WOLFSSL_SUCCESS)
		return -DTLS_OFFLOAD_E_TLSLIB;
	h->tx_cid.len = tl;
	h->rx_cid.len = rl;
	return 0;
}

/* What the handshake's datagrams tell, in each direction */
struct wolf_seen {
	uint64_t next[2][4];	/* [sent][epoch]: highest sequence number + 1 */
	int msg_seq[2];		/* [sent]: highest handshake message_seq */
};

struct msg_arg {
	int *max;
};

static void note_msg(void *arg, uint8_t type, uint16_t msg_seq)
{
	struct msg_arg *a = arg;

	(void)type;
	if (msg_seq > *a->max)
		*a->max = msg_seq;
}

static void wolf_scan(const struct dtls_offload *h,
		      struct do13_epoch ep[2][4], struct wolf_seen *s,
		      uint8_t *pt)
{
	const struct do_wolf *w = h->backend;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->msg_seq[0] = s->msg_seq[1] = -1;
	for (i = 0; i < w->log.nlog; i++) {
		const struct do_dgram *d = w->log.log[i];
		size_t off = 0;
		int dir = d->sent;
		/* what we sent carries the peer's CID, what we got ours */
		size_t cid_len = dir ? h->tx_cid.len : h->rx_cid.len;

		while (off < d->len) {
			struct msg_arg a = { .max = &s->msg_seq[dir] };
			const struct do13_epoch *e;
			uint8_t bits = d->data[off] & 3;
			struct do13_rec r;
			uint64_t *next;

			e = (d->data[off] & 0xe0) == 0x20 ? &ep[dir][bits] : NULL;
			next = &s->next[dir][bits];
			do13_parse(e, cid_len, d->data + off, d->len - off,
				   *next, &r, pt);
			if (!r.len)
				break;
			off += r.len;
			if (!r.plaintext && !r.opened)
				continue;	/* another epoch, or forged */
			if (r.opened && r.seq >= *next)
				*next = r.seq + 1;
			if (r.type == DTLS_RECORD_TYPE_HANDSHAKE)
				do13_each_msg(r.body, r.body_len, note_msg, &a);
		}
	}
}

/* Open the handshake again: record and message numbers; keys of epoch 3 */
static int wolf_handoff(struct dtls_offload *h, WOLFSSL *ssl, int fd)
{
	struct do_wolf *w = h->backend;
	bool server = wolfSSL_is_server(ssl), sha384;
	int cipher = wolf_cipher(ssl, &sha384);
	struct do13_epoch (*ep)[4];
	struct wolf_seen s;
	uint8_t *pt;
	int err, me, peer;

	if (cipher < 0)
		return -DTLS_OFFLOAD_E_CIPHER;
	if (w->log.overflow || !w->have[CLI_HS] || !w->have[SRV_HS] ||
	    !w->have[CLI_APP] || !w->have[SRV_APP])
		return -DTLS_OFFLOAD_E_SEQ;
	ep = calloc(2, sizeof(*ep));
	pt = malloc(DGRAM_MAX);
	err = -ENOMEM;
	if (!ep || !pt)
		goto out;
	/* [0]: what the peer sent, [1]: what we sent */
	me = server ? SRV_HS : CLI_HS;
	peer = server ? CLI_HS : SRV_HS;
	err = do13_epoch_init(&ep[1][EPOCH_HS], cipher, sha384, EPOCH_HS,
			      w->secret[me]) ?:
	      do13_epoch_init(&ep[0][EPOCH_HS], cipher, sha384, EPOCH_HS,
			      w->secret[peer]) ?:
	      do13_epoch_init(&ep[1][EPOCH_APP], cipher, sha384, EPOCH_APP,
			      w->secret[me + 2]) ?:
	      do13_epoch_init(&ep[0][EPOCH_APP], cipher, sha384, EPOCH_APP,
			      w->secret[peer + 2]);
	if (err)
		goto out;
	wolf_scan(h, ep, &s, pt);
	if (s.msg_seq[1] < 0 || s.msg_seq[0] < 0) {
		err = -DTLS_OFFLOAD_E_SEQ;
		goto out;
	}

	/*
	 * The first application epoch first: what the peer sent in it and
	 * the socket already holds is opened at this install.  A server then
	 * adds the client's handshake epoch as the previous one, to hear the
	 * client's final flight again if it is resent.
	 */
	err = do_set_cids(h, fd) ?:
	      do13_install(fd, DTLS_RX, &ep[0][EPOCH_APP], s.next[0][EPOCH_APP]);
	if (!err && server)
		err = do13_install(fd, DTLS_RX, &ep[0][EPOCH_HS],
				   s.next[0][EPOCH_HS]);
	err = err ?: do13_install(fd, DTLS_TX, &ep[1][EPOCH_APP],
				  s.next[1][EPOCH_APP]);
	if (err)
		goto out;
	h->v13 = true;
	h->tx13 = ep[1][EPOCH_APP];
	h->rx13 = ep[0][EPOCH_APP];
	h->hs_tx_seq = s.msg_seq[1] + 1;
	h->hs_rx_seq = s.msg_seq[0] + 1;
	do_offloaded(h, fd, cipher,
		     (uint64_t)EPOCH_APP << 48 | s.next[1][EPOCH_APP],
		     (uint64_t)EPOCH_APP << 48 | s.next[0][EPOCH_APP]);
out:
	if (ep)
		do_wipe(ep, 2 * sizeof(*ep));
	free(ep);
	if (pt)
		do_wipe(pt, DGRAM_MAX);
	free(pt);
	return err;
}

/*
 * Application data wolfSSL already has, or reads while we wait.  DTLS
 * 1.2 (@all): whatever wolfSSL holds, decrypted or not, until it wants to
 * read the socket (io_recv() refuses while draining): datagrams in the
 * socket queue are for the kernel.
 */
static int wolf_drain(struct dtls_offload *h, WOLFSSL *ssl, bool wait_ack,
		      bool all)
{
	uint8_t *buf = malloc(DO_MAX_RECORD);
	int n, err = 0;

	if (!buf)
		return -ENOMEM;
	h->draining = true;
	while (all || wolfSSL_pending(ssl) > 0 ||
	       (wait_ack && wolfSSL_dtls13_has_pending_msg(ssl))) {
		n = wolfSSL_read(ssl, buf, DO_MAX_RECORD);
		if (n > 0) {
			err = do_pending_add(h, buf, n);
			if (err)
				break;
			continue;
		}
		n = wolfSSL_get_error(ssl, n);
		if (n == WOLFSSL_ERROR_WANT_READ && !all)
			continue;
		if (n == WOLFSSL_ERROR_WANT_READ)
			break;
		if (all && n == WOLFSSL_ERROR_ZERO_RETURN) {
			h->peer_closed = true;	/* as OpenSSL's, GnuTLS's */
			break;
		}
		err = n == WOLFSSL_ERROR_ZERO_RETURN ? -DTLS_OFFLOAD_E_CLOSED :
						       -DTLS_OFFLOAD_E_TLSLIB;
		break;
	}
	h->draining = false;
	do_wipe(buf, DO_MAX_RECORD);
	free(buf);
	return err;
}

/*
 * DTLS 1.2: the AEAD suites the kernel has (RFC 5288, 6655, 7905).  The
 * ChaCha20-Poly1305 suites of the draft before RFC 7905 (0xcc13..0xcc15,
 * "-OLD") build their nonce otherwise: refused.
 */
static int wolf12_cipher(WOLFSSL *ssl)
{
	int suite = wolfSSL_get_current_cipher_suite(ssl);
	int klen = wolfSSL_GetKeySize(ssl);

	if (wolfSSL_GetCipherType(ssl) != WOLFSSL_AEAD_TYPE)
		return -1;
	switch (wolfSSL_GetBulkCipher(ssl)) {
	case wolfssl_aes_gcm:
		return klen == 16 ? DTLS_CIPHER_AES_GCM_128 :
		       klen == 32 ? DTLS_CIPHER_AES_GCM_256 : -1;
	case wolfssl_aes_ccm:
		if (klen != 16)
			return -1;
		return wolfSSL_GetAeadMacSize(ssl) == 8 ?
		       DTLS_CIPHER_AES_CCM_8_128 : DTLS_CIPHER_AES_CCM_128;
	case wolfssl_chacha:
		if ((suite >> 8) == 0xcc && (suite & 0xff) >= 0xa8)
			return DTLS_CIPHER_CHACHA20_POLY1305;
		return -1;
	}
	return -1;
}

/* DTLS 1.2: @klen + @ivlen bytes of wolfSSL's write key and IV of a side */
static int wolf12_keys(WOLFSSL *ssl, bool client, size_t klen, size_t ivlen,
		       uint8_t *key, uint8_t *iv)
{
	const unsigned char *k, *i;

	if (wolfSSL_GetKeySize(ssl) != (int)klen ||
	    wolfSSL_GetIVSize(ssl) != (int)ivlen)
		return -DTLS_OFFLOAD_E_TLSLIB;
	k = client ? wolfSSL_GetClientWriteKey(ssl) :
		     wolfSSL_GetServerWriteKey(ssl);
	i = client ? wolfSSL_GetClientWriteIV(ssl) :
		     wolfSSL_GetServerWriteIV(ssl);
	if (!k || !i)
		return -DTLS_OFFLOAD_E_TLSLIB;
	memcpy(key, k, klen);
	memcpy(iv, i, ivlen);
	return 0;
}

/* DTLS 1.2: record numbers and our last flight from the datagrams, keys
 * from wolfSSL.
 */
static int wolf12_handoff(struct dtls_offload *h, WOLFSSL *ssl, int fd)
{
	uint8_t txk[32], txiv[DTLS13_IV_SIZE], rxk[32], rxiv[DTLS13_IV_SIZE];
	struct do_wolf *w = h->backend;
	bool server = wolfSSL_is_server(ssl);
	int cipher = wolf12_cipher(ssl), err;
	size_t klen = do_key_len(cipher), ivlen = do_iv_len(cipher);
	uint64_t tx, rx;

	if (cipher < 0)
		return -DTLS_OFFLOAD_E_CIPHER;
	/*
	 * The CIDs frame the records; who spoke last in the handshake, before
	 * the drain reads anything
	 */
	err = wolf_cids(h, ssl) ?:
	      do12_note_log(h, &w->log) ?:
	      wolf_drain(h, ssl, false, true) ?:
	      do12_next_seqs(h, &tx, &rx);
	if (err)
		return err;

	err = wolf12_keys(ssl, !server, klen, ivlen, txk, txiv) ?:
	      wolf12_keys(ssl, server, klen, ivlen, rxk, rxiv) ?:
	      do12_open_flight(h, cipher, tx >> 48, txk, txiv) ?:
	      do_install(h, fd, cipher, txk, txiv, tx, rxk, rxiv, rx);
	do_wipe(txk, sizeof(txk));
	do_wipe(txiv, sizeof(txiv));
	do_wipe(rxk, sizeof(rxk));
	do_wipe(rxiv, sizeof(rxiv));
	return err;
}

int dtls_offload_wolfssl(struct dtls_offload *h, int fd, struct WOLFSSL *ssl)
{
	int err;

	if (!h || !ssl || h->state != DO_PREP_WOLFSSL || fd != h->fd)
		return -DTLS_OFFLOAD_E_STATE;
	if (!wolfSSL_is_init_finished(ssl))
		return -DTLS_OFFLOAD_E_STATE;
	switch (wolfSSL_version(ssl)) {
	case DTLS1_3_VERSION:
		if (wolf_cipher(ssl, &(bool){ false }) < 0)
			return -DTLS_OFFLOAD_E_CIPHER;
		err = wolf_cids(h, ssl) ?:
		      wolf_drain(h, ssl, !wolfSSL_is_server(ssl), false) ?:
		      wolf_handoff(h, ssl, fd);
		break;
	case DTLS1_2_VERSION:
		err = wolf12_handoff(h, ssl, fd);
		break;
	default:
		return -DTLS_OFFLOAD_E_VERSION;
	}
	if (err)
		return err;
	/* wolfSSL reaches the socket no more, nor the handle */
	wolfSSL_SSLSetIORecv(ssl, io_refuse);
	wolfSSL_SSLSetIOSend(ssl, io_refuse);
	wolfSSL_SetIOReadCtx(ssl, NULL);
	wolfSSL_SetIOWriteCtx(ssl, NULL);
	wolf_free(h);
	return 0;
}
