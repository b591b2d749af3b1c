/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What dtls-cat and dtls-bench share: the options both take, messages,
 * number arguments, the connected UDP socket, the handshake (DTLS 1.2:
 * OpenSSL, GnuTLS, wolfSSL or mbed TLS; DTLS 1.3: wolfSSL), the handoff to the kernel through libdtls_offload,
 * and sending and receiving one record on whichever record layer the
 * connection ended up with (kernel, TLS library, or none with --plain).
 */
#ifndef DTLS_TOOLS_COMMON_H
#define DTLS_TOOLS_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/ssl.h>
#include <gnutls/gnutls.h>

#include "dtls_offload.h"

#define MAX_REC 16384	/* the largest plaintext of a DTLS record */

enum lib { LIB_OPENSSL, LIB_GNUTLS, LIB_WOLFSSL, LIB_MBEDTLS };

/* Options both programs take; parse_options() fills them in. */
struct common_opts {
	bool listen, v6, no_offload, verbose;
	bool plain;		/* no DTLS at all: plain UDP datagrams */
	enum lib lib;
	bool lib_set;		/* --lib given */
	bool dtls13;		/* --dtls13: DTLS 1.3 (wolfSSL), else 1.2 */
	const char *psk_hex, *psk_id, *cert, *key, *cipher;
	const char *host, *port;
	size_t size;		/* bytes per record */
	unsigned int hs_timeout_ms;	/* first handshake retransmission timeout */
	unsigned char psk[64];
	size_t psk_len;
	const char *cid_hex;	/* --cid: our connection ID */
	unsigned char cid[DTLS_OFFLOAD_CID_MAX];
	size_t cid_len;
};

extern struct common_opts opt;

/* each program defines its name, the prefix of its messages */
extern const char *const prog_name;

#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

/*
 * getopt_long() over the options both programs take and the program's own
 * (@own_short, @own_long; @own handles those and returns false for any
 * other), then HOST PORT.  -h/--help calls @usage.  A wrong option or
 * argument ends the program with one line on stderr, status 1 or 2.
 */
void parse_options(int argc, char **argv, const char *own_short,
		   const struct option *own_long,
		   bool (*own)(int o, const char *arg, char **argv),
		   void (*usage)(void));
/* the help lines of the options parse_options() handles itself */
void common_usage(FILE *f);

void die(const char *fmt, ...) __noreturn __printf(1, 2);
void verbose(const char *fmt, ...) __printf(1, 2);
unsigned long long num_arg(const char *name, const char *s,
			   unsigned long long max);
double real_arg(const char *name, const char *s);
double now(void);

/* One DTLS connection: offloaded (h), in OpenSSL (ssl), in GnuTLS (gs). */
struct conn {
	int fd;
	SSL *ssl;
	gnutls_session_t gs;
	struct dtls_offload *h;	/* non-NULL when offloaded */
	void *wssl;		/* WOLFSSL *: --lib wolfssl */
	void *mbed;		/* mbed TLS session and its context: --lib mbedtls */
	bool plain;		/* --plain: no DTLS */
};

/* the suite --cipher names (C_*), or C_ALL */
enum { C_GCM128, C_GCM256, C_CCM, C_CCM8, C_CHACHA, C_ALL };
int cipher_index(void);

/* wolfssl.c, when built with tools/setup's wolfSSL (HAVE_WOLFSSL13) */
void wolf_handshake(struct conn *c);
int wolf_offload(struct conn *c);
void wolf_conn_free(struct conn *c);

/* mbedtls.c, when built with tools/setup's mbed TLS (HAVE_MBEDTLS) */
void mbed_handshake(struct conn *c);
int mbed_offload(struct conn *c);
void mbed_conn_free(struct conn *c);

void conn_handshake(struct conn *c);
void conn_offload(struct conn *c);
void conn_free(struct conn *c);
ssize_t conn_recv(struct conn *c, void *buf, size_t len);
bool conn_has_pending(struct conn *c);
void conn_send(struct conn *c, const void *buf, size_t len);
void conn_close_notify(struct conn *c);
const char *recv_error(struct conn *c, ssize_t n);
void wait_writable(int fd);
const char *ossl_err(void);

#endif
