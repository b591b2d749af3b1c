/* SPDX-License-Identifier: GPL-2.0 */
/* libdtls_offload internals shared by its files */
#ifndef DTLS_OFFLOAD_INTERNAL_H
#define DTLS_OFFLOAD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/dtls.h>

#include "dtls_offload.h"

#define DO_EPOCHS	4	/* epochs tracked (0 and the first rekeys) */
#define DO_FLIGHT_MAX	16	/* records/messages of our last flight kept */
#define DO_MAX_RECORD	16384
#define DO_SEQ_MASK	((1ULL << 48) - 1)

enum do_state {
	DO_NEW,
	DO_PREP_OPENSSL,
	DO_PREP_GNUTLS,
	DO_PREP_WOLFSSL,
	DO_PREP_MBEDTLS,
	DO_OFFLOADED,
};

#define DO13_MAX_HASH	48
#define DO13_IV_LEN	12
#define DO13_HS_HDR_LEN	12	/* DTLS handshake message header */
#define DO13_KU_RECS	8	/* record numbers of one KeyUpdate kept */

/* DTLS 1.3: the keys of one epoch and direction, and their secret */
struct do13_epoch {
	int cipher;		/* DTLS_CIPHER_* */
	bool sha384;		/* the suite's hash: SHA-384, else SHA-256 */
	bool valid;
	uint16_t epoch;
	uint8_t secret[DO13_MAX_HASH];
	uint8_t key[32], iv[DO13_IV_LEN], sn_key[32];
};

/* DTLS 1.3: one record of a datagram, as do13_parse() framed it */
struct do13_rec {
	size_t len;		/* 0: cannot be framed */
	bool plaintext;		/* a DTLSPlaintext */
	bool opened;		/* a DTLSCiphertext, authenticated */
	uint8_t type;
	uint16_t epoch_bits;	/* the full epoch of a DTLSPlaintext */
	uint64_t seq;
	const uint8_t *body;
	size_t body_len;
};

/* DTLS 1.3: our KeyUpdate until the peer's ACK of it */
struct do13_ku {
	bool active;
	bool requested;		/* update_requested */
	uint16_t msg_seq;
	unsigned int nrec;	/* records it went out in (ring) */
	uint64_t rec[DO13_KU_RECS];
	uint64_t resend_ns;
	unsigned int rto_ms;
};

/* One message (OpenSSL) or record body (GnuTLS, wolfSSL) of our last flight. */
struct do_flight_msg {
	uint8_t type;		/* 20 or 22 */
	uint16_t epoch;
	uint64_t seq;		/* record number it went out with (dtls12.c) */
	bool sealed;		/* data is a protected record body, to open */
	size_t len;
	uint8_t *data;
};

/* The datagrams of a handshake, as the backend's I/O callbacks saw them */
#define DO_LOG_MAX	64
struct do_dgram {
	bool sent;
	size_t len;
	uint8_t data[];
};

struct do_dgram_log {
	struct do_dgram *log[DO_LOG_MAX];
	unsigned int nlog;
	bool overflow;		/* some were not kept */
};

/* DTLS 1.2: where our keys and the peer's are in a key block */
#define DO12_RANDOM_LEN	32
struct do12_keys {
	const uint8_t *tx_key, *tx_iv, *rx_key, *rx_iv;
};

struct do_pending {
	struct do_pending *next;
	size_t len;
	uint8_t data[];
};

struct do_seen {
	bool seen[DO_EPOCHS];
	uint64_t max[DO_EPOCHS];	/* highest 48-bit sequence number */
};

struct dtls_offload {
	enum do_state state;
	int fd;

	/* record numbers seen in the handshake (headers) */
	struct do_seen wr, rd;
	uint16_t last_wr_epoch;

	/* our last flight */
	struct do_flight_msg flight[DO_FLIGHT_MAX];
	unsigned int nflight;
	bool flight_open;	/* no read since our last write */
	bool last_io_write;	/* GnuTLS: the handshake ended with a write */
	bool flight_overflow;

	/* GnuTLS transport */
	bool draining;

	/*
	 * Connection IDs the handshake negotiated (len 0: none): the peer's,
	 * which our records carry, and ours, which the peer's carry
	 */
	struct dtls_cid tx_cid, rx_cid;

	/*
	 * A peer of a many-peer socket (dtls_offload_set_peer(); id 0: the
	 * socket is connected) and the datagram from it that
	 * dtls_offload_input() left for the handshake to read
	 */
	uint32_t peer_id;
	struct sockaddr_storage peer_addr;
	socklen_t peer_addrlen;
	uint8_t *inbox;
	size_t inbox_len;

	/* a backend's state until handoff, and how to free it */
	void *backend;
	void (*backend_free)(struct dtls_offload *h);

	/* OpenSSL BIOs parked after handoff (void * to keep OpenSSL out) */
	void *parked_rbio, *parked_wbio;

	/* after handoff */
	int cipher;		/* DTLS_CIPHER_* */
	const char *cipher_name;
	bool we_sent_last;	/* our flight ended the handshake */
	uint64_t next_e0_seq;	/* for plaintext retransmissions */
	struct do_pending *pend_head, *pend_tail;
	size_t pend_bytes;
	bool peer_closed, fatal, close_sent;
	int alert;
	uint64_t last_retx_ns;
	struct dtls_offload_stats st;

	/* DTLS 1.3 after handoff */
	bool v13;
	struct do13_epoch tx13;	/* the current TX epoch */
	struct do13_epoch rx13;	/* the newest RX epoch installed */
	uint16_t hs_tx_seq;	/* message_seq of our next handshake message */
	uint16_t hs_rx_seq;	/* of the peer's next one */
	struct do13_ku ku;
	bool ku_wait;		/* dtls_offload_key_update() waits */

	/* a non-data record in one piece: 2 * DO_MAX_RECORD */
	uint8_t *rbuf;
};

/* Big-endian fields of the wire formats, @n bytes */
static inline uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static inline void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

/* core.c */
void do_seen_note(struct do_seen *s, uint16_t epoch, uint64_t seq);
void do_flight_clear(struct dtls_offload *h);
int do_flight_add(struct dtls_offload *h, uint8_t type, uint16_t epoch,
		  uint64_t seq, bool sealed, const void *data, size_t len);
bool do_flight_has(const struct dtls_offload *h, uint8_t type,
		   const uint8_t *data, size_t len);
int do_pending_add(struct dtls_offload *h, const void *data, size_t len);
int do_probe(int fd);
int do_probe_peer(int fd);
ssize_t do_inbox_take(struct dtls_offload *h, void *buf, size_t len);
void do_offloaded(struct dtls_offload *h, int fd, int cipher,
		  uint64_t tx_rec_seq, uint64_t rx_rec_seq);
/* both connection IDs (h->tx_cid, h->rx_cid), before any key is installed */
int do_set_cids(const struct dtls_offload *h, int fd);
int do_install(struct dtls_offload *h, int fd, int cipher,
	       const uint8_t *tx_key, const uint8_t *tx_iv, uint64_t tx_seq,
	       const uint8_t *rx_key, const uint8_t *rx_iv, uint64_t rx_seq);
/* key and iv/salt length of a DTLS_CIPHER_*; 0 if unknown */
size_t do_key_len(int cipher);
size_t do_iv_len(int cipher);
size_t do_tag_len(int cipher);
const char *do_cipher_name(int cipher);
void do_wipe(void *p, size_t len);
/* @type < 0: application data; @e0_seq >= 0: a plaintext epoch-0 record */
ssize_t do_send_record(struct dtls_offload *h, int type, int64_t e0_seq,
		       const void *buf, size_t len, int flags);
uint64_t do_now_ns(void);

/* dtls12.c: the handshake's datagrams (GnuTLS, wolfSSL, mbed TLS) */
void do12_note_sent(struct dtls_offload *h, const uint8_t *p, size_t len);
void do12_note_recv(struct dtls_offload *h, const uint8_t *p, size_t len);
int do12_open_flight(struct dtls_offload *h, int cipher, uint16_t epoch,
		     const uint8_t *key, const uint8_t *iv);
void do_dgram_log_add(struct do_dgram_log *l, bool sent, const void *p,
		      size_t len);
void do_dgram_log_free(struct do_dgram_log *l);
int do12_note_log(struct dtls_offload *h, const struct do_dgram_log *l);
int do12_next_seqs(struct dtls_offload *h, uint64_t *tx, uint64_t *rx);
/* dtls12.c: the TLS 1.2 key block (OpenSSL, mbed TLS) */
int do12_key_block(const char *md, const uint8_t *master, size_t mlen,
		   const uint8_t *client_random, const uint8_t *server_random,
		   uint8_t *out, size_t outlen);
void do12_key_block_split(int cipher, const uint8_t *kb, bool server,
			  struct do12_keys *k);

/* dtls13.c */
int do_aead_open(int cipher, const uint8_t *key, const uint8_t *nonce,
		 const uint8_t *aad, size_t aad_len, const uint8_t *in,
		 size_t len, uint8_t *out);
size_t do13_hash_len(const struct do13_epoch *e);
int do13_epoch_init(struct do13_epoch *e, int cipher, bool sha384,
		    uint16_t epoch, const uint8_t *secret);
int do13_epoch_next(struct do13_epoch *e);
int do13_install(int fd, int optname, const struct do13_epoch *e,
		 uint64_t seq);
void do13_parse(const struct do13_epoch *e, size_t cid_len,
		const uint8_t *rec, size_t avail, uint64_t expected,
		struct do13_rec *r, uint8_t *pt);
void do13_each_msg(const uint8_t *body, size_t len,
		   void (*fn)(void *arg, uint8_t type, uint16_t msg_seq),
		   void *arg);
int do13_key_update_start(struct dtls_offload *h, bool request);
void do13_on_ack(struct dtls_offload *h, const uint8_t *body, size_t len);
void do13_on_handshake(struct dtls_offload *h, uint64_t rec_num,
		       const uint8_t *body, size_t len);
int do13_timeout(const struct dtls_offload *h);
int do13_timer(struct dtls_offload *h);

/* openssl.c: drops the BIO references parked at handoff */
void do_openssl_release(struct dtls_offload *h);

#endif
