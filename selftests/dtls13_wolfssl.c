// SPDX-License-Identifier: GPL-2.0
/*
 * The DTLS 1.3 record reference (dtls13_ref.h) checked against a real
 * peer: a wolfSSL client and server in one process, built from Debian's
 * source with DTLS 1.3 (tools/setup), their datagrams passed through
 * memory.  For each of the five RFC 9147 suites:
 *   - every record wolfSSL sends after the handshake, application data,
 *     ACKs and a KeyUpdate, is opened by the reference with keys it
 *     derived itself from the traffic secrets wolfSSL hands out
 *     (wolfSSL_set_tls13_secret_cb()): record number decryption, sequence
 *     number reconstruction, the inner content type;
 *   - records the reference builds, in each of the four header forms
 *     without a connection ID and with padding, are read by wolfSSL;
 *   - after a KeyUpdate the reference derives the next epoch's keys from
 *     the old secret alone, and both directions go on working.
 * No kernel is involved: this is what lets the harness trust the
 * reference when it compares the kernel's DTLS 1.3 records with it.
 *
 *   dtls13_wolfssl CERT_DIR    (wolfSSL's certs/: server-ecc.pem, ecc-key.pem)
 *
 * TAP output, last line "N passed, N failed".
 */
#define _GNU_SOURCE
#include <stdarg.h>

/* wolfSSL keeps its own SHA256 etc. as macros unless told not to */
#define NO_OLD_SHA_NAMES
#define NO_OLD_WC_NAMES
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "dtls13_ref.h"

/* RFC 9147 6.1: the epoch of the first application traffic keys */
#define EPOCH_APP	3
#define MAX_DGRAM	2048
#define QLEN		32

static int passed, failed, tap_n;

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
	fflush(stdout);
}

/* Datagrams in flight one way, and a copy of each for the reference. */
struct dq {
	uint8_t d[QLEN][MAX_DGRAM];
	size_t len[QLEN];
	int head, n;
	int seen;		/* sent since the last reset of the copy */
	uint8_t last[QLEN][MAX_DGRAM];
	size_t last_len[QLEN];
};

static int dq_push(struct dq *q, const void *p, size_t len)
{
	int i = (q->head + q->n) % QLEN;

	if (q->n == QLEN || len > MAX_DGRAM)
		return -1;
	memcpy(q->d[i], p, len);
	q->len[i] = len;
	q->n++;
	if (q->seen < QLEN) {
		memcpy(q->last[q->seen], p, len);
		q->last_len[q->seen++] = len;
	}
	return 0;
}

struct end {
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	struct dq *out, *in;
	uint8_t secret[DTLS13_MAX_HASH];	/* its application traffic secret 0 */
	int have_secret;
};

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct end *e = arg;

	(void)ssl;
	return dq_push(e->out, buf, sz) ? WOLFSSL_CBIO_ERR_GENERAL : sz;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct end *e = arg;
	struct dq *q = e->in;
	size_t len;

	(void)ssl;
	if (!q->n)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	len = q->len[q->head];
	if (len > (size_t)sz)
		len = sz;	/* DTLS: the rest of the datagram is lost */
	memcpy(buf, q->d[q->head], len);
	q->head = (q->head + 1) % QLEN;
	q->n--;
	return len;
}

static int secret_cb(WOLFSSL *ssl, int id, const unsigned char *secret, int len, void *arg)
{
	struct end *e = arg;
	int mine = wolfSSL_is_server(ssl) ? SERVER_TRAFFIC_SECRET : CLIENT_TRAFFIC_SECRET;

	if (id == mine && len <= DTLS13_MAX_HASH) {
		memcpy(e->secret, secret, len);
		e->have_secret = 1;
	}
	return 0;
}

static int end_init(struct end *e, int server, const struct cdesc13 *s, const char *certs,
		    struct dq *out, struct dq *in)
{
	char cert[512], key[512];

	memset(e, 0, sizeof(*e));
	e->out = out;
	e->in = in;
	e->ctx = wolfSSL_CTX_new(server ? wolfDTLSv1_3_server_method() :
				 wolfDTLSv1_3_client_method());
	if (!e->ctx)
		return -1;
	if (server) {
		snprintf(cert, sizeof(cert), "%s/server-ecc.pem", certs);
		snprintf(key, sizeof(key), "%s/ecc-key.pem", certs);
		if (wolfSSL_CTX_use_certificate_file(e->ctx, cert, WOLFSSL_FILETYPE_PEM) != 1 ||
		    wolfSSL_CTX_use_PrivateKey_file(e->ctx, key, WOLFSSL_FILETYPE_PEM) != 1) {
			fprintf(stderr, "dtls13_wolfssl: cannot load %s or %s\n", cert, key);
			return -1;
		}
	} else {
		/* the test certificates have expired; nothing here trusts them */
		wolfSSL_CTX_set_verify(e->ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	e->ssl = wolfSSL_new(e->ctx);
	if (!e->ssl || wolfSSL_set_cipher_list(e->ssl, s->wolf_name) != 1)
		return -1;
	wolfSSL_dtls_set_using_nonblock(e->ssl, 1);
	wolfSSL_SSLSetIOSend(e->ssl, io_send);
	wolfSSL_SSLSetIORecv(e->ssl, io_recv);
	wolfSSL_SetIOWriteCtx(e->ssl, e);
	wolfSSL_SetIOReadCtx(e->ssl, e);
	return wolfSSL_set_tls13_secret_cb(e->ssl, secret_cb, e) == 1 ? 0 : -1;
}

static void end_free(struct end *e)
{
	wolfSSL_free(e->ssl);
	wolfSSL_CTX_free(e->ctx);
}

static int handshake(struct end *c, struct end *s)
{
	int cdone = 0, sdone = 0;

	for (int i = 0; i < 50 && !(cdone && sdone); i++) {
		if (!cdone)
			cdone = wolfSSL_connect(c->ssl) == 1;
		if (!sdone)
			sdone = wolfSSL_accept(s->ssl) == 1;
	}
	return cdone && sdone ? 0 : -1;
}

/* Let @e take in what waits for it; returns application data read, if any. */
static int drain(struct end *e, uint8_t *buf, int len)
{
	int n = wolfSSL_read(e->ssl, buf, len);

	return n > 0 ? n : 0;
}

/*
 * Open every record of every datagram @q saw since it was last reset with
 * @k, expecting @want_type records; advance @next past the last one.
 * Returns the number of records opened with that type, -1 on any failure.
 */
static int open_seen(struct dq *q, const struct dkey13 *k, uint64_t *next, uint8_t want_type,
		     const void *want, size_t want_len, uint8_t *forms)
{
	static uint8_t pt[MAX_DGRAM];
	int count = 0;

	for (int i = 0; i < q->seen; i++) {
		const uint8_t *d = q->last[i];
		size_t off = 0, len = q->last_len[i];

		while (off < len) {
			struct rec13 r;
			ssize_t used = ref13_open(k, d + off, len - off, *next, &r, pt);

			if (used < 0) {
				printf("# record at %zu of datagram %d (%zu bytes, first byte %#x) does not open\n",
				       off, i, len, d[off]);
				return -1;
			}
			*forms |= r.first & (DTLS13_HDR_S | DTLS13_HDR_L);
			if (r.seq + 1 > *next)
				*next = r.seq + 1;
			off += used;
			if (r.type != want_type)
				continue;
			if (want && (r.ptlen != want_len || memcmp(pt, want, want_len))) {
				printf("# type %u record of %zu bytes is not what was sent\n",
				       r.type, r.ptlen);
				return -1;
			}
			count++;
		}
	}
	q->seen = 0;
	return count;
}

static const uint8_t hdr_forms[] = {
	DTLS13_HDR_S | DTLS13_HDR_L, DTLS13_HDR_S, DTLS13_HDR_L, 0,
};

/* The reference seals records in every header form from @from to @to. */
static int ref_to_wolf(const struct dkey13 *k, uint64_t *seq, struct end *to, const char *who)
{
	uint8_t msg[300], rec[MAX_DGRAM], got[400];
	int bad = 0;

	for (size_t f = 0; f < sizeof(hdr_forms); f++) {
		size_t mlen = 20 + 37 * f, pad = f * 5, rl;
		int n;

		for (size_t i = 0; i < mlen; i++)
			msg[i] = (uint8_t)(i * 7 + f + *seq);
		rl = ref13_seal(k, hdr_forms[f], *seq, DTLS_RECORD_TYPE_APPLICATION_DATA,
				msg, mlen, pad, rec);
		(*seq)++;
		if (!rl || dq_push(to->in, rec, rl)) {
			printf("# %s: cannot seal form %#x\n", who, hdr_forms[f]);
			bad++;
			continue;
		}
		to->in->seen = 0;
		n = wolfSSL_read(to->ssl, got, sizeof(got));
		if (n != (int)mlen || memcmp(got, msg, mlen)) {
			printf("# %s: wolfSSL read %d for a %zu-byte record in header form %#x (error %d)\n",
			       who, n, mlen, hdr_forms[f], wolfSSL_get_error(to->ssl, n));
			bad++;
		}
	}
	return bad;
}

static void run_suite(const struct cdesc13 *s, const char *certs)
{
	static struct dq c2s, s2c;
	struct end c, srv;
	struct dkey13 kc, ks;
	uint64_t next_c = 0, next_s = 0;
	uint8_t buf[2000], forms = 0;
	const char *msg = "hello from wolfSSL's client";
	int n, got;

	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	if (end_init(&c, 0, s, certs, &c2s, &s2c) || end_init(&srv, 1, s, certs, &s2c, &c2s)) {
		tap(0, "%s: wolfSSL client and server set up", s->name);
		return;
	}
	if (handshake(&c, &srv) || !c.have_secret || !srv.have_secret) {
		tap(0, "%s: DTLS 1.3 handshake with the secrets handed out", s->name);
		goto out;
	}
	tap(!strcmp(wolfSSL_get_version(c.ssl), "DTLSv1.3") &&
	    !strcmp(wolfSSL_get_cipher_name(c.ssl), s->wolf_name),
	    "%s: handshake: %s %s", s->name, wolfSSL_get_version(c.ssl),
	    wolfSSL_get_cipher_name(c.ssl));

	if (ref13_keys(&kc, s, c.secret, EPOCH_APP) || ref13_keys(&ks, s, srv.secret, EPOCH_APP)) {
		tap(0, "%s: keys derived from the secrets", s->name);
		goto out;
	}

	/* what the server sent after its last flight (an ACK), then data */
	drain(&c, buf, sizeof(buf));
	drain(&srv, buf, sizeof(buf));
	s2c.seen = 0;
	c2s.seen = 0;
	n = wolfSSL_write(c.ssl, msg, strlen(msg));
	tap(n == (int)strlen(msg) &&
	    open_seen(&c2s, &kc, &next_c, DTLS_RECORD_TYPE_APPLICATION_DATA, msg, n, &forms) == 1 &&
	    drain(&srv, buf, sizeof(buf)) == n && !memcmp(buf, msg, n),
	    "%s: wolfSSL's client record opened by the reference", s->name);
	n = wolfSSL_write(srv.ssl, buf, 1000);
	tap(n == 1000 &&
	    open_seen(&s2c, &ks, &next_s, DTLS_RECORD_TYPE_APPLICATION_DATA, buf, 1000, &forms) == 1 &&
	    drain(&c, buf + 1000, 1000) == 1000 && !memcmp(buf, buf + 1000, 1000),
	    "%s: wolfSSL's server record opened by the reference", s->name);
	printf("# %s: wolfSSL sends %s sequence numbers, %s\n", s->name,
	       forms & DTLS13_HDR_S ? "16-bit" : "8-bit",
	       forms & DTLS13_HDR_L ? "with a length" : "without a length");

	/*
	 * A gap the receiver reconstructs across, small enough for wolfSSL's
	 * window (64) to take the real peer's next records, which come from
	 * below it.
	 */
	next_c += 20;
	tap(!ref_to_wolf(&kc, &next_c, &srv, "to the server"),
	    "%s: the reference's records read by wolfSSL's server, 4 header forms", s->name);
	next_s += 20;
	tap(!ref_to_wolf(&ks, &next_s, &c, "to the client"),
	    "%s: the reference's records read by wolfSSL's client, 4 header forms", s->name);

	/*
	 * KeyUpdate from the client: a handshake record in epoch 3, acked by
	 * the server in epoch 3; then the client sends in epoch 4.
	 */
	c2s.seen = 0;
	s2c.seen = 0;
	n = wolfSSL_update_keys(c.ssl);
	drain(&srv, buf, sizeof(buf));
	tap((n == 1 || wolfSSL_get_error(c.ssl, n) == WOLFSSL_ERROR_WANT_WRITE ||
	     wolfSSL_get_error(c.ssl, n) == WOLFSSL_ERROR_WANT_READ) &&
	    open_seen(&c2s, &kc, &next_c, DTLS_RECORD_TYPE_HANDSHAKE, NULL, 0, &forms) == 1 &&
	    open_seen(&s2c, &ks, &next_s, DTLS_RECORD_TYPE_ACK, NULL, 0, &forms) == 1,
	    "%s: KeyUpdate and its ACK opened by the reference", s->name);
	drain(&c, buf, sizeof(buf));	/* the ACK: wolfSSL's client switches */
	if (ref13_update(&kc)) {
		tap(0, "%s: next epoch's keys", s->name);
		goto out;
	}
	next_c = 0;
	c2s.seen = 0;
	n = wolfSSL_write(c.ssl, msg, strlen(msg));
	got = drain(&srv, buf, sizeof(buf));
	tap(n == (int)strlen(msg) && got == n &&
	    open_seen(&c2s, &kc, &next_c, DTLS_RECORD_TYPE_APPLICATION_DATA, msg, n, &forms) == 1,
	    "%s: epoch 4 record after the KeyUpdate opened with keys from \"traffic upd\"",
	    s->name);
	next_c += 10;
	tap(!ref_to_wolf(&kc, &next_c, &srv, "epoch 4 to the server"),
	    "%s: the reference's epoch 4 records read by wolfSSL", s->name);
out:
	end_free(&c);
	end_free(&srv);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dtls13_wolfssl CERT_DIR (wolfSSL's certs/)\n");
		return 2;
	}
	printf("TAP version 13\n1..%zu\n", N_CDESCS13 * 8);
	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		printf("Bail out! wolfSSL_Init failed\n");
		return 1;
	}
	for (size_t i = 0; i < N_CDESCS13; i++)
		run_suite(&cdescs13[i], argv[1]);
	wolfSSL_Cleanup();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
