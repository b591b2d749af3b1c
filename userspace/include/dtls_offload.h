/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libdtls_offload: hand a DTLS 1.2 session from OpenSSL, GnuTLS, wolfSSL or
 * mbed TLS, or a DTLS 1.3 session from wolfSSL, to the kernel DTLS record layer
 * (kernel/dtls.ko, SOL_DTLS).
 *
 * Use:
 *
 *   h = dtls_offload_new();
 *   dtls_offload_openssl_prepare(h, ssl);        BEFORE SSL_do_handshake()
 *     or dtls_offload_gnutls_prepare(h, session, fd);   BEFORE gnutls_handshake()
 *   ... run the handshake on the connected UDP socket fd ...
 *   dtls_offload_openssl(h, fd, ssl);            after the handshake succeeded
 *     or dtls_offload_gnutls(h, fd, session);
 *   dtls_offload_send(h, ...); dtls_offload_recv(h, ...);
 *   dtls_offload_close(h);                       sends close_notify
 *   dtls_offload_free(h);                        does not close fd
 *
 * After a successful dtls_offload_openssl()/dtls_offload_gnutls() the TLS
 * library object must not be used for I/O again (no SSL_read/SSL_write/
 * SSL_shutdown, no gnutls_record_*, gnutls_bye): the kernel now owns the
 * record numbers.  It may (and should) still be freed.  The socket must be a
 * connected UDP socket (the kernel requires it).
 *
 * Plaintext the TLS library had already decrypted but not returned at handoff
 * is kept in the handle and returned by the first dtls_offload_recv() calls,
 * before anything from the kernel (dtls_offload_pending() tells how many
 * bytes wait there, so a poll() loop should call dtls_offload_recv() while it
 * is non-zero).  Nothing is lost or delivered twice.
 *
 * Every function returns a negative code on error: either -errno (from the
 * socket calls, e.g. -ENOPROTOOPT when kernel/dtls.ko is not loaded) or
 * -DTLS_OFFLOAD_E_* below.  dtls_offload_strerror() describes both.  The
 * library never prints and never exits.
 */
#ifndef DTLS_OFFLOAD_H
#define DTLS_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own error codes (returned negated); all above errno's range. */
#define DTLS_OFFLOAD_E_BASE	0x4000
#define DTLS_OFFLOAD_E_CIPHER	(DTLS_OFFLOAD_E_BASE + 1) /* suite not supported by the kernel */
#define DTLS_OFFLOAD_E_STATE	(DTLS_OFFLOAD_E_BASE + 2) /* not prepared, handshake not done, or already offloaded */
#define DTLS_OFFLOAD_E_TLSLIB	(DTLS_OFFLOAD_E_BASE + 3) /* the TLS library failed (key export, drain) */
#define DTLS_OFFLOAD_E_VERSION	(DTLS_OFFLOAD_E_BASE + 4) /* version not supported by this call */
#define DTLS_OFFLOAD_E_ALERT	(DTLS_OFFLOAD_E_BASE + 5) /* peer sent a fatal alert, see dtls_offload_alert() */
#define DTLS_OFFLOAD_E_SEQ	(DTLS_OFFLOAD_E_BASE + 6) /* record numbers could not be determined */
#define DTLS_OFFLOAD_E_CLOSED	(DTLS_OFFLOAD_E_BASE + 7) /* send after close_notify was sent */
#define DTLS_OFFLOAD_E_CID	(DTLS_OFFLOAD_E_BASE + 8) /* connection IDs negotiated, the kernel has none */

struct dtls_offload;
struct ssl_st;			/* OpenSSL's SSL */
struct gnutls_session_int;	/* *gnutls_session_t */

/* Allocate a handle; NULL when out of memory. */
struct dtls_offload *dtls_offload_new(void);

/*
 * Wipe and free the handle.  Does not close the socket and does not free
 * the SSL / gnutls session (free them yourself, after dtls_offload_free()
 * or before: the handle keeps no reference once offloaded).
 */
void dtls_offload_free(struct dtls_offload *h);

/*
 * OpenSSL.  _prepare installs SSL_set_msg_callback() (and its argument) on
 * @ssl to learn the record numbers and our last handshake flight; call it
 * before the handshake and do not replace the message callback afterwards.
 * dtls_offload_openssl() is called once SSL_do_handshake() returned 1: it
 * derives the traffic keys (TLS 1.2 PRF), drains what OpenSSL had already
 * buffered into the handle, and installs DTLS_TX and DTLS_RX on @fd.
 * The handle's own copies of the keys are wiped before it returns.
 */
int dtls_offload_openssl_prepare(struct dtls_offload *h, struct ssl_st *ssl);
int dtls_offload_openssl(struct dtls_offload *h, int fd, struct ssl_st *ssl);

/*
 * GnuTLS.  _prepare installs transport push/pull functions on @session
 * that do I/O on @fd (replacing gnutls_transport_set_int()) so the library
 * can see the record numbers and our last flight; call it before
 * gnutls_handshake().  dtls_offload_gnutls() is called once
 * gnutls_handshake() returned 0: keys and record numbers come from
 * gnutls_record_get_state().
 */
int dtls_offload_gnutls_prepare(struct dtls_offload *h,
				struct gnutls_session_int *session, int fd);
int dtls_offload_gnutls(struct dtls_offload *h, int fd,
			struct gnutls_session_int *session);

/*
 * wolfSSL 5.7 or later built with --enable-dtls13, HAVE_SECRET_CALLBACK and
 * --enable-atomicuser, DTLS 1.3 or DTLS 1.2, as the session negotiated (in
 * libdtls_offload_wolfssl.a, built when such a wolfSSL is found: Debian's
 * has no DTLS 1.3).  _prepare installs wolfSSL's I/O callbacks
 * (socket I/O on @fd; do not set others) and its secret callback; call it
 * before wolfSSL_connect()/wolfSSL_accept().  dtls_offload_wolfssl() is
 * called once the handshake succeeded; a client waits in it until the
 * server has acknowledged the client's final flight (resending it as
 * wolfSSL does), keeping the data it reads meanwhile.  After it, nothing
 * may be read or written through @ssl (no wolfSSL_read/write/shutdown);
 * free it when you like.  DTLS 1.3: session tickets that arrive later are
 * acknowledged but not kept.  DTLS 1.2: keys from wolfSSL's Atomic User
 * getters, record numbers and our last flight from the handshake's
 * datagrams, as for GnuTLS; -DTLS_OFFLOAD_E_CIPHER for a suite the kernel
 * lacks (ChaCha20-Poly1305's pre-RFC 7905 "-OLD" suites included).
 * Connection IDs (wolfSSL_dtls_cid_use(), needs --enable-dtlscid): those
 * the handshake negotiated are set as for mbed TLS below.
 */
struct WOLFSSL;
int dtls_offload_wolfssl_prepare(struct dtls_offload *h, struct WOLFSSL *ssl,
				 int fd);
int dtls_offload_wolfssl(struct dtls_offload *h, int fd, struct WOLFSSL *ssl);

/*
 * mbed TLS 3.6, DTLS 1.2, with or without connection IDs (RFC 9146; in
 * libdtls_offload_mbedtls.a, built when tools/setup's mbed TLS is found:
 * Debian 12's 2.28 has no RFC 9146).  _prepare installs the session's BIO
 * callbacks (socket I/O on @fd; do not call mbedtls_ssl_set_bio()) and its
 * key export callback; call it after mbedtls_ssl_setup() and
 * mbedtls_ssl_set_cid(), before mbedtls_ssl_handshake().  The keys come
 * from the master secret and randoms (TLS 1.2 PRF), the record numbers
 * and our last flight from the handshake's datagrams, the connection IDs
 * from mbedtls_ssl_get_peer_cid() and mbedtls_ssl_get_own_cid(): when the
 * handshake negotiated them, DTLS_TX_CID and DTLS_RX_CID are set before
 * the keys (-DTLS_OFFLOAD_E_CID if the kernel refuses them).
 * dtls_offload_mbedtls() is called once mbedtls_ssl_handshake() returned
 * 0; after it nothing may be read or written through @ssl.  On a
 * non-blocking @fd the handshake does not wait for the peer:
 * mbedtls_ssl_handshake() returns MBEDTLS_ERR_SSL_WANT_READ, to be called
 * again when @fd is readable or mbed TLS's timer has run out.
 */
struct mbedtls_ssl_context;
int dtls_offload_mbedtls_prepare(struct dtls_offload *h,
				 struct mbedtls_ssl_context *ssl, int fd);
int dtls_offload_mbedtls(struct dtls_offload *h, int fd,
			 struct mbedtls_ssl_context *ssl);

/*
 * Many peers on one socket (mbed TLS only, so far): a server keeps one
 * unconnected UDP socket for all its clients and one handle per client.
 * dtls_offload_set_peer(), called on a new handle before
 * dtls_offload_mbedtls_prepare(), makes the handle a peer of that socket:
 * @id (nonzero, unique on the socket, chosen by the caller) at @addr (a
 * sockaddr_in or sockaddr_in6 of the socket's family).  The handshake then
 * sends with sendto() to @addr and reads only what the caller hands it
 * with dtls_offload_input(); the handoff adds the peer (DTLS_PEER_NEW,
 * with the connection IDs negotiated) and installs its keys
 * (DTLS_PEER_TX, DTLS_PEER_RX) rather than the socket's.
 * dtls_offload_send() and dtls_offload_close() then go to that peer
 * (control message DTLS_SET_PEER).  dtls_offload_recv() is not for
 * peers (-DTLS_OFFLOAD_E_STATE): the caller reads the socket itself with
 * recvmsg() and struct dtls_record_info, whose peer_id tells whose record
 * it is, and gives dtls_offload_input() the datagrams the kernel hands up
 * whole (DTLS_RECORD_F_DATAGRAM) from that peer's address.
 */
int dtls_offload_set_peer(struct dtls_offload *h, uint32_t id,
			  const struct sockaddr *addr, socklen_t addrlen);

/*
 * A datagram from the peer of dtls_offload_set_peer(), as the kernel
 * handed it up whole.  Before handoff it is the handshake's next read
 * (call mbedtls_ssl_handshake() after each).  -EBUSY: the last one was
 * not read yet.  mbed TLS does not read when its retransmission timer has
 * run out (it resends its flight instead): call mbedtls_ssl_handshake()
 * once more, then give the datagram again.  After handoff, a peer
 * resending its final flight means ours was lost: it is resent through
 * the kernel, as dtls_offload_recv() does on a connected socket.  Keep
 * the handle until the peer's first protected record shows that it has
 * our final flight.
 */
int dtls_offload_input(struct dtls_offload *h, const void *buf, size_t len);

/*
 * The struct dtls_record_info (linux/dtls.h) that came with a record or
 * datagram read with recvmsg() into @msg: 0, or -ENOENT if there is none.
 */
struct msghdr;
struct dtls_record_info;
int dtls_offload_record_info(const struct msghdr *msg,
			     struct dtls_record_info *ri);

/*
 * Move the session to @fd, another connected UDP socket to the same peer
 * (a new source port or address, as after a NAT rebinding): the same
 * connection IDs, then the keys and record numbers read from the old
 * socket (getsockopt DTLS_TX, DTLS_RX) go onto @fd, and the handle uses
 * @fd from then on.  The caller closes the old socket (records still
 * queued there are lost).  Needs a connection ID in the records we send,
 * by which the peer finds the session at its new address
 * (-DTLS_OFFLOAD_E_CID without); DTLS 1.2, or DTLS 1.3 without a key
 * update under way.
 */
int dtls_offload_move(struct dtls_offload *h, int fd);

/*
 * The connection ID in use after handoff: the peer's, which our records
 * carry (@tx non-zero), or ours, which the peer's carry.  Copies it to
 * @buf (@len bytes at most, 255 always suffice) and returns its length,
 * 0 when none; -DTLS_OFFLOAD_E_STATE before handoff.
 */
#define DTLS_OFFLOAD_CID_MAX	255
int dtls_offload_get_cid(const struct dtls_offload *h, int tx, uint8_t *buf,
			 size_t len);

/*
 * DTLS 1.3: replace our sending keys (RFC 9147 8).  Sends a KeyUpdate
 * (asking the peer to update its own sending keys too if @request_peer,
 * which is how the keys we receive with get replaced), resends it on the
 * RFC's timer until the peer acknowledges it, then sends with the next
 * epoch's keys.  Records that arrive meanwhile are kept for
 * dtls_offload_recv().  A KeyUpdate from the peer, requested or not, is
 * handled inside dtls_offload_recv(): the next receiving keys go in
 * before it is acknowledged.  Call it when poll() reports POLLPRI (the
 * kernel's usage limits, see dtls.rst) or on a schedule of your own.
 * Blocks until acknowledged; -DTLS_OFFLOAD_E_VERSION for DTLS 1.2.
 */
int dtls_offload_key_update(struct dtls_offload *h, int request_peer);

/*
 * Milliseconds until dtls_offload_recv() must be called even if nothing
 * arrives (a KeyUpdate of ours to resend), or -1: a poll() loop takes the
 * smaller of this and its own timeout.
 */
int dtls_offload_timeout(const struct dtls_offload *h);

/* Bytes of application data drained from the TLS library still waiting. */
size_t dtls_offload_pending(const struct dtls_offload *h);

/*
 * Send @len (at most 16384) bytes as one application data record.
 * Returns @len or a negative code (-EAGAIN, -EMSGSIZE, ...).  @flags are
 * send() flags (MSG_DONTWAIT); MSG_NOSIGNAL is always added.
 */
ssize_t dtls_offload_send(struct dtls_offload *h, const void *buf, size_t len,
			  int flags);

/*
 * Receive the next application data record into @buf (a record longer than
 * @len is truncated, as with UDP; 16384 bytes always suffice).
 * Returns:
 *   > 0   bytes of application data (empty records are skipped);
 *   0     the peer sent close_notify (and every later call returns 0);
 *   -DTLS_OFFLOAD_E_ALERT  the peer sent a fatal alert (dtls_offload_alert());
 *   -EAGAIN with MSG_DONTWAIT or a non-blocking socket; other -errno.
 * Handshake records are handled internally: when the peer retransmits its
 * final flight (our last flight was lost) our last flight is retransmitted
 * through the kernel, a renegotiation request is refused with a
 * no_renegotiation warning.  Unprotected (epoch 0) alerts are ignored: anyone
 * can forge them.  @flags are recvmsg() flags (MSG_DONTWAIT).  Leave
 * UDP_GRO off on the socket: with it one read may return several records
 * (see Documentation/networking/dtls.rst), which only a caller of recvmsg()
 * itself can tell apart.
 */
ssize_t dtls_offload_recv(struct dtls_offload *h, void *buf, size_t len,
			  int flags);

/* Send a close_notify alert (once; later calls return 0). */
int dtls_offload_close(struct dtls_offload *h);

/*
 * Last alert received: (level << 8) | description, or -1 if none.
 * E.g. 0x0228 for a fatal handshake_failure.
 */
int dtls_offload_alert(const struct dtls_offload *h);

/* Statistics kept by the handle. */
struct dtls_offload_stats {
	uint64_t retransmits;	/* times our last flight was resent */
	uint64_t drained_records; /* records taken over from the TLS library */
	uint64_t ignored_records; /* handshake/alert records ignored */
	uint64_t tx_rec_seq;	/* epoch||seq installed for DTLS_TX */
	uint64_t rx_rec_seq;	/* epoch||seq installed for DTLS_RX */
};
void dtls_offload_get_stats(const struct dtls_offload *h,
			    struct dtls_offload_stats *st);

/*
 * Name of the negotiated cipher as the kernel sees it ("AES-128-GCM", ...)
 * or NULL before offload.
 */
const char *dtls_offload_cipher_name(const struct dtls_offload *h);

/* Text for a return code of this library (negative errno or E_*). */
const char *dtls_offload_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* DTLS_OFFLOAD_H */
