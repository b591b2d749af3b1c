// SPDX-License-Identifier: GPL-2.0
/*
 * libdtls_offload: GnuTLS 3.7+.
 *
 * Keys and record numbers come from gnutls_record_get_state() (the sequence
 * number it returns is the full epoch || seq; for reading, one more than the
 * highest record authenticated).  Our own transport functions see every
 * datagram of the handshake, which gives the epoch-0 record numbers and our
 * last flight (dtls12.c); our protected Finished is opened again with the
 * write key so it can be resent exactly as first sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <gnutls/gnutls.h>
#include <linux/dtls.h>

#include "internal.h"

static ssize_t g_vec_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
			  int iovcnt)
{
	struct dtls_offload *h = ptr;
	struct msghdr msg = { .msg_iov = (struct iovec *)iov,
			      .msg_iovlen = iovcnt };
	size_t total = 0, off = 0;
	uint8_t *copy;
	ssize_t n;
	int i;

	/* after handoff GnuTLS must never put a record on the wire */
	if (!h || h->state != DO_PREP_GNUTLS) {
		errno = EIO;
		return -1;
	}
	n = sendmsg(h->fd, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	h->last_io_write = true;
	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	copy = malloc(total ? total : 1);
	if (!copy)
		return n;	/* only the flight copy suffers */
	for (i = 0; i < iovcnt; i++) {
		memcpy(copy + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	do12_note_sent(h, copy, total);
	do_wipe(copy, total);
	free(copy);
	return n;
}

static ssize_t g_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct dtls_offload *h = ptr;
	ssize_t n;

	if (!h || h->state != DO_PREP_GNUTLS) {
		errno = EIO;
		return -1;
	}
	if (h->draining) {	/* the socket queue is for the kernel */
		errno = EAGAIN;
		return -1;
	}
	n = recv(h->fd, data, len, 0);
	if (n > 0) {
		do12_note_recv(h, data, n);
		h->last_io_write = false;
	}
	return n;
}

static int g_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct dtls_offload *h = ptr;
	struct pollfd pfd;
	int ret;

	if (!h || h->state != DO_PREP_GNUTLS) {
		errno = EIO;
		return -1;
	}
	if (h->draining)
		return 0;
	pfd.fd = h->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ret = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	return ret;
}

int dtls_offload_gnutls_prepare(struct dtls_offload *h,
				gnutls_session_t session, int fd)
{
	if (!h || !session || fd < 0)
		return -EINVAL;
	if (h->state != DO_NEW)
		return -DTLS_OFFLOAD_E_STATE;
	h->fd = fd;
	h->state = DO_PREP_GNUTLS;
	gnutls_transport_set_ptr(session, h);
	gnutls_transport_set_vec_push_function(session, g_vec_push);
	gnutls_transport_set_pull_function(session, g_pull);
	gnutls_transport_set_pull_timeout_function(session, g_pull_timeout);
	return 0;
}

static int map_cipher(gnutls_cipher_algorithm_t c)
{
	switch (c) {
	case GNUTLS_CIPHER_AES_128_GCM:
		return DTLS_CIPHER_AES_GCM_128;
	case GNUTLS_CIPHER_AES_256_GCM:
		return DTLS_CIPHER_AES_GCM_256;
	case GNUTLS_CIPHER_AES_128_CCM:
		return DTLS_CIPHER_AES_CCM_128;
	case GNUTLS_CIPHER_AES_128_CCM_8:
		return DTLS_CIPHER_AES_CCM_8_128;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		return DTLS_CIPHER_CHACHA20_POLY1305;
	default:
		return -1;
	}
}

static int drain(struct dtls_offload *h, gnutls_session_t s)
{
	uint8_t *buf = malloc(DO_MAX_RECORD);
	int ret = 0, i;

	if (!buf)
		return -ENOMEM;
	h->draining = true;
	for (i = 0; i < 100000; i++) {
		ssize_t n = gnutls_record_recv(s, buf, DO_MAX_RECORD);

		if (n > 0) {
			ret = do_pending_add(h, buf, n);
			if (ret)
				break;
			continue;
		}
		if (n == 0) {
			h->peer_closed = true;
			break;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_TIMEDOUT ||
		    n == GNUTLS_E_INTERRUPTED)
			break;
		if (gnutls_error_is_fatal(n)) {
			ret = -DTLS_OFFLOAD_E_TLSLIB;
			break;
		}
	}
	h->draining = false;
	do_wipe(buf, DO_MAX_RECORD);
	free(buf);
	return ret;
}

int dtls_offload_gnutls(struct dtls_offload *h, int fd, gnutls_session_t s)
{
	uint8_t txk[32], txiv[12], rxk[32], rxiv[12], wseq[8], rseq[8];
	gnutls_datum_t mac, iv, key;
	size_t klen, ivlen;
	uint64_t tx, rx;
	int cipher, ret;

	if (!h || !s || fd < 0)
		return -EINVAL;
	if (h->state != DO_PREP_GNUTLS || fd != h->fd)
		return -DTLS_OFFLOAD_E_STATE;
	if (gnutls_protocol_get_version(s) != GNUTLS_DTLS1_2)
		return -DTLS_OFFLOAD_E_VERSION;
	cipher = map_cipher(gnutls_cipher_get(s));
	if (cipher < 0)
		return -DTLS_OFFLOAD_E_CIPHER;
	klen = do_key_len(cipher);
	ivlen = do_iv_len(cipher);
	ret = do_probe(fd);
	if (ret)
		return ret;

	/* who spoke last in the handshake, before the drain reads anything */
	h->we_sent_last = h->last_io_write;
	h->flight_open = false;
	ret = drain(h, s);
	if (ret)
		goto out;

	/* after the drain: it may have moved the numbers */
	ret = -DTLS_OFFLOAD_E_TLSLIB;
	if (gnutls_record_get_state(s, 0, &mac, &iv, &key, wseq) < 0 ||
	    key.size != klen || iv.size != ivlen)
		goto out;
	memcpy(txk, key.data, klen);
	memcpy(txiv, iv.data, ivlen);
	if (gnutls_record_get_state(s, 1, &mac, &iv, &key, rseq) < 0 ||
	    key.size != klen || iv.size != ivlen)
		goto out;
	memcpy(rxk, key.data, klen);
	memcpy(rxiv, iv.data, ivlen);
	tx = get_be(wseq, 8);
	rx = get_be(rseq, 8);

	ret = -DTLS_OFFLOAD_E_SEQ;
	if (!(tx >> 48) || tx >> 48 != rx >> 48 || !h->wr.seen[0])
		goto out;
	/* never below what we saw going out */
	if ((tx >> 48) < DO_EPOCHS && h->wr.seen[tx >> 48] &&
	    (tx & DO_SEQ_MASK) <= h->wr.max[tx >> 48])
		tx = (tx & ~DO_SEQ_MASK) | (h->wr.max[tx >> 48] + 1);
	h->next_e0_seq = h->wr.max[0] + 1;

	ret = do12_open_flight(h, cipher, tx >> 48, txk, txiv);
	if (ret)
		goto out;

	ret = do_install(h, fd, cipher, txk, txiv, tx, rxk, rxiv, rx);
	if (!ret)	/* transport functions refuse from now on */
		gnutls_transport_set_ptr(s, NULL);
out:
	do_wipe(txk, sizeof(txk));
	do_wipe(txiv, sizeof(txiv));
	do_wipe(rxk, sizeof(rxk));
	do_wipe(rxiv, sizeof(rxiv));
	return ret;
}
