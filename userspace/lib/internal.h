/* SPDX-License-Identifier: GPL-2.0 */
/* libdtls_offload internals shared by core.c, openssl.c and gnutls.c */
#ifndef DTLS_OFFLOAD_INTERNAL_H
#define DTLS_OFFLOAD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "dtls_offload.h"

#define DO_EPOCHS	4	/* epochs tracked (0 and the first rekeys) */
#define DO_FLIGHT_MAX	16	/* records/messages of our last flight kept */
#define DO_MAX_RECORD	16384
#define DO_SEQ_MASK	((1ULL << 48) - 1)

enum do_state {
	DO_NEW,
	DO_PREP_OPENSSL,
	DO_PREP_GNUTLS,
	DO_OFFLOADED,
};

/* One message (OpenSSL) or record body (GnuTLS) of our last flight. */
struct do_flight_msg {
	uint8_t type;		/* 20 or 22 */
	uint16_t epoch;
	uint64_t seq;		/* record number it went out with (GnuTLS) */
	bool sealed;		/* data is a protected record body, to open */
	size_t len;
	uint8_t *data;
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

	/* OpenSSL BIOs parked after handoff (void * to keep OpenSSL out) */
	void *parked_rbio, *parked_wbio;

	/* after handoff */
	int cipher;		/* DTLS_CIPHER_* */
	const char *cipher_name;
	bool we_sent_last;	/* our flight ended the handshake */
	uint64_t next_e0_seq;	/* for plaintext retransmissions */
	uint16_t epoch;
	struct do_pending *pend_head, *pend_tail;
	size_t pend_bytes;
	bool peer_closed, fatal, close_sent;
	int alert;
	uint64_t last_retx_ns;
	struct dtls_offload_stats st;
};

/* core.c */
void do_seen_note(struct do_seen *s, uint16_t epoch, uint64_t seq);
void do_flight_clear(struct dtls_offload *h);
int do_flight_add(struct dtls_offload *h, uint8_t type, uint16_t epoch,
		  uint64_t seq, bool sealed, const void *data, size_t len);
bool do_flight_has(const struct dtls_offload *h, uint8_t type,
		   const uint8_t *data, size_t len);
int do_pending_add(struct dtls_offload *h, const void *data, size_t len);
int do_probe(int fd);
int do_install(struct dtls_offload *h, int fd, int cipher,
	       const uint8_t *tx_key, const uint8_t *tx_iv, uint64_t tx_seq,
	       const uint8_t *rx_key, const uint8_t *rx_iv, uint64_t rx_seq);
/* key and iv/salt length of a DTLS_CIPHER_*; 0 if unknown */
size_t do_key_len(int cipher);
size_t do_iv_len(int cipher);
size_t do_tag_len(int cipher);
const char *do_cipher_name(int cipher);
void do_wipe(void *p, size_t len);
/* openssl.c: drops the BIO references parked at handoff */
void do_openssl_release(struct dtls_offload *h);

#endif
