/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dtls-peers: many DTLS 1.2 clients of one server socket whose peers the
 * kernel keeps (DTLS_PEER_*).  The server (peers-server.c) runs each new
 * client's mbed TLS handshake in userspace on that one socket and hands
 * the finished session to the kernel as a peer; the clients
 * (peers-clients.c) are many mbed TLS clients in one process, each on a
 * connected socket of its own offloaded as dtls-cat's are.  What both
 * sides share is here: the mbed TLS configuration (PSK, connection IDs)
 * and the records the clients send, which the server echoes.
 */
#ifndef DTLS_PEERS_H
#define DTLS_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/timing.h>

#include "common.h"

#define PEERS_CID_LEN	4	/* every connection ID, either side */
#define PEERS_REC_MIN	8	/* a record starts with client and number */

/* What every session of one side uses */
struct peers_mbed {
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_cookie_ctx cookie;
	int suites[2];
};

/* One session: mbed TLS's context and its retransmission timer */
struct peers_tls {
	mbedtls_ssl_context ssl;
	mbedtls_timing_delay_context timer;
};

/* options of both modes */
struct peers_opts {
	bool server;
	unsigned int clients;		/* clients: how many (besides --stuck) */
	unsigned int first;		/* clients: index of the first */
	unsigned int records;		/* records each client sends */
	unsigned int max_size;		/* largest record */
	unsigned int concurrency;	/* clients: handshakes at once */
	bool move, stuck;		/* clients: the two special ones */
	const char *bind;		/* clients: source address */
	unsigned int hs_expire;		/* server: seconds for a handshake */
	unsigned int timeout;		/* seconds for the whole run */
	const char *proc_out;		/* server: /proc/net/dtls copied here */
};

extern struct peers_opts popt;

void peers_mbed_init(struct peers_mbed *pm, bool server);
const char *peers_err(int r);
/* a session on @pm's configuration with our connection ID @cid */
void peers_tls_init(struct peers_tls *t, struct peers_mbed *pm,
		    const uint8_t *cid);
void peers_tls_free(struct peers_tls *t);
/* mbed TLS's retransmission timer has run out */
bool peers_tls_timer_due(struct peers_tls *t);

/* @p (@n bytes) starts with an epoch-0 ClientHello record */
bool peers_client_hello(const uint8_t *p, size_t n);

/* record @rec of client @client: its size and its bytes */
size_t peers_rec_size(uint32_t client, uint32_t rec);
void peers_rec_fill(uint8_t *buf, size_t len, uint32_t client, uint32_t rec);

int peers_server(void);
int peers_clients(void);

#endif
