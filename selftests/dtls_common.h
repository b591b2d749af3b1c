/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the kernel DTLS selftests: cipher table, deterministic
 * test keys, crypto_info construction, socket setup, /proc/net/dtls_stat,
 * a seeded PRNG and the independent DTLS 1.2 record reference built on
 * OpenSSL libcrypto.
 */
#ifndef DTLS_SELFTEST_COMMON_H
#define DTLS_SELFTEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/dtls.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define __maybe_unused __attribute__((unused))

#define DTLS_HDR_LEN		13
#define DTLS_MAX_PLAINTEXT	16384
#define REC_NUM(epoch, seq)	(((uint64_t)(epoch) << 48) | ((uint64_t)(seq) & 0xffffffffffffULL))
#define SEQ_MASK		0xffffffffffffULL

enum aead_kind { AEAD_GCM, AEAD_CCM, AEAD_CHACHA };

struct cdesc {
	const char *name;
	uint16_t type;
	enum aead_kind kind;
	unsigned int key_len;
	unsigned int salt_len;	/* salt (GCM/CCM) or iv (ChaCha20) */
	unsigned int tag_len;
	unsigned int xnonce_len;	/* explicit nonce in the record body */
	size_t info_len;
};

static const struct cdesc cdescs[] = {
	{ "aes128gcm", DTLS_CIPHER_AES_GCM_128, AEAD_GCM, 16, 4, 16, 8,
	  sizeof(struct dtls12_crypto_info_aes_gcm_128) },
	{ "aes256gcm", DTLS_CIPHER_AES_GCM_256, AEAD_GCM, 32, 4, 16, 8,
	  sizeof(struct dtls12_crypto_info_aes_gcm_256) },
	{ "aes128ccm", DTLS_CIPHER_AES_CCM_128, AEAD_CCM, 16, 4, 16, 8,
	  sizeof(struct dtls12_crypto_info_aes_ccm_128) },
	{ "aes128ccm8", DTLS_CIPHER_AES_CCM_8_128, AEAD_CCM, 16, 4, 8, 8,
	  sizeof(struct dtls12_crypto_info_aes_ccm_8_128) },
	{ "chacha20poly1305", DTLS_CIPHER_CHACHA20_POLY1305, AEAD_CHACHA, 32, 12, 16, 0,
	  sizeof(struct dtls12_crypto_info_chacha20_poly1305) },
};
#define N_CDESCS (sizeof(cdescs) / sizeof(cdescs[0]))

/* The generic layout used below must match the UAPI structures. */
_Static_assert(offsetof(struct dtls12_crypto_info_aes_gcm_128, rec_seq) == 4 + 16 + 4, "layout");
_Static_assert(offsetof(struct dtls12_crypto_info_aes_gcm_256, rec_seq) == 4 + 32 + 4, "layout");
_Static_assert(offsetof(struct dtls12_crypto_info_aes_ccm_128, rec_seq) == 4 + 16 + 4, "layout");
_Static_assert(offsetof(struct dtls12_crypto_info_aes_ccm_8_128, rec_seq) == 4 + 16 + 4, "layout");
_Static_assert(offsetof(struct dtls12_crypto_info_chacha20_poly1305, rec_seq) == 4 + 32 + 12, "layout");
_Static_assert(sizeof(struct dtls12_crypto_info_chacha20_poly1305) == 4 + 32 + 12 + 8, "layout");
_Static_assert(sizeof(struct dtls_record_info) == 16, "layout");

static __maybe_unused const struct cdesc *cdesc_by_type(uint16_t type)
{
	for (size_t i = 0; i < N_CDESCS; i++)
		if (cdescs[i].type == type)
			return &cdescs[i];
	return NULL;
}

static __maybe_unused const struct cdesc *cdesc_by_name(const char *name)
{
	for (size_t i = 0; i < N_CDESCS; i++)
		if (!strcmp(cdescs[i].name, name))
			return &cdescs[i];
	return NULL;
}

/* One direction's traffic keys. */
struct dkey {
	const struct cdesc *c;
	uint8_t key[32];
	uint8_t salt[12];
};

/* Deterministic test key: SHA-256 over a label naming cipher and direction. */
static __maybe_unused void dkey_derive(struct dkey *k, const struct cdesc *c,
				       const char *label)
{
	char buf[128];
	uint8_t md[SHA256_DIGEST_LENGTH];

	memset(k, 0, sizeof(*k));
	k->c = c;
	snprintf(buf, sizeof(buf), "kdtls-selftest key|%s|%s", c->name, label);
	SHA256((const uint8_t *)buf, strlen(buf), md);
	memcpy(k->key, md, c->key_len);
	snprintf(buf, sizeof(buf), "kdtls-selftest salt|%s|%s", c->name, label);
	SHA256((const uint8_t *)buf, strlen(buf), md);
	memcpy(k->salt, md, c->salt_len);
}

/* crypto_info for setsockopt, in the generic info|key|salt|rec_seq layout */
struct cinfo {
	uint8_t b[128];
	socklen_t len;
};

static __maybe_unused void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

static __maybe_unused uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static __maybe_unused void cinfo_build_v(struct cinfo *ci, const struct dkey *k,
					 uint64_t rec_num, uint16_t version,
					 uint16_t cipher_type)
{
	const struct cdesc *c = k->c;

	memset(ci, 0, sizeof(*ci));
	memcpy(ci->b, &version, 2);
	memcpy(ci->b + 2, &cipher_type, 2);
	memcpy(ci->b + 4, k->key, c->key_len);
	memcpy(ci->b + 4 + c->key_len, k->salt, c->salt_len);
	put_be(ci->b + 4 + c->key_len + c->salt_len, rec_num, 8);
	ci->len = c->info_len;
}

static __maybe_unused void cinfo_build(struct cinfo *ci, const struct dkey *k,
				       uint64_t rec_num)
{
	cinfo_build_v(ci, k, rec_num, DTLS_1_2_VERSION, k->c->type);
}

static __maybe_unused uint64_t cinfo_rec_num(const struct cinfo *ci, const struct cdesc *c)
{
	return get_be(ci->b + 4 + c->key_len + c->salt_len, 8);
}

static __maybe_unused int dtls_install(int fd, int dir, const struct dkey *k, uint64_t rec_num)
{
	struct cinfo ci;

	cinfo_build(&ci, k, rec_num);
	return setsockopt(fd, SOL_DTLS, dir, ci.b, ci.len);
}

/* ---------------------------------------------------------------------- */
/* Reference AEAD through the EVP interface.                              */

static __maybe_unused const EVP_CIPHER *ref_evp(const struct cdesc *c)
{
	switch (c->kind) {
	case AEAD_GCM:
		return c->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	case AEAD_CCM:
		return EVP_aes_128_ccm();
	case AEAD_CHACHA:
		return EVP_chacha20_poly1305();
	}
	return NULL;
}

/* Returns 0 on success (seal) or successful authentication (open). */
static __maybe_unused int ref_aead(const struct dkey *k, int enc, const uint8_t nonce[12],
				   const uint8_t *aad, size_t aadlen,
				   const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	const struct cdesc *c = k->c;
	static uint8_t dummy_in[16], dummy_out[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl, ret = -1;

	if (!ctx)
		return -1;
	if (!in)
		in = dummy_in;
	if (!len)
		out = dummy_out;
	if (!EVP_CipherInit_ex(ctx, ref_evp(c), NULL, NULL, NULL, enc))
		goto out;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL))
		goto out;
	if (c->kind == AEAD_CCM) {
		if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, c->tag_len,
					 enc ? NULL : tag))
			goto out;
	}
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc))
		goto out;
	if (c->kind == AEAD_CCM &&
	    !EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len))
		goto out;
	if (!EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen))
		goto out;
	if (c->kind != AEAD_CCM && !enc &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, c->tag_len, tag))
		goto out;
	outl = 0;
	if (len || c->kind == AEAD_CCM) {
		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) <= 0)
			goto out;
	}
	if (c->kind != AEAD_CCM) {
		int fl;

		if (EVP_CipherFinal_ex(ctx, out + outl, &fl) <= 0)
			goto out;
	}
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, c->tag_len, tag))
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

static __maybe_unused void ref_nonce(const struct dkey *k, uint16_t epoch, uint64_t seq,
				     const uint8_t *explicit, uint8_t nonce[12])
{
	if (k->c->kind == AEAD_CHACHA) {
		uint8_t rn[8];

		put_be(rn, REC_NUM(epoch, seq), 8);
		memcpy(nonce, k->salt, 12);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= rn[i];
	} else {
		memcpy(nonce, k->salt, 4);
		memcpy(nonce + 4, explicit, 8);
	}
}

static __maybe_unused void ref_aad(uint8_t aad[13], uint16_t epoch, uint64_t seq,
				   uint8_t type, uint16_t version, uint16_t ptlen)
{
	put_be(aad, REC_NUM(epoch, seq), 8);
	aad[8] = type;
	put_be(aad + 9, version, 2);
	put_be(aad + 11, ptlen, 2);
}

static __maybe_unused void put_hdr(uint8_t *out, uint8_t type, uint16_t version,
				   uint16_t epoch, uint64_t seq, uint16_t length)
{
	out[0] = type;
	put_be(out + 1, version, 2);
	put_be(out + 3, epoch, 2);
	put_be(out + 5, seq, 6);
	put_be(out + 11, length, 2);
}

static __maybe_unused size_t rec_overhead(const struct cdesc *c)
{
	return DTLS_HDR_LEN + c->xnonce_len + c->tag_len;
}

/*
 * Build one protected DTLS 1.2 record into @out.  @explicit is the 8-byte
 * explicit nonce for GCM/CCM; NULL means epoch||seq (what the kernel sends).
 * Returns the record length, 0 on a libcrypto failure.
 */
static __maybe_unused size_t ref_seal(const struct dkey *k, uint8_t type, uint16_t version,
				      uint16_t epoch, uint64_t seq, const uint8_t *explicit,
				      const void *pt, size_t len, uint8_t *out)
{
	const struct cdesc *c = k->c;
	uint8_t ex[8], nonce[12], aad[13];
	uint8_t *body = out + DTLS_HDR_LEN;

	if (!explicit) {
		put_be(ex, REC_NUM(epoch, seq), 8);
		explicit = ex;
	}
	ref_nonce(k, epoch, seq, explicit, nonce);
	ref_aad(aad, epoch, seq, type, version, len);
	if (c->xnonce_len)
		memcpy(body, explicit, 8);
	if (ref_aead(k, 1, nonce, aad, 13, pt, len, body + c->xnonce_len,
		     body + c->xnonce_len + len))
		return 0;
	put_hdr(out, type, version, epoch, seq, c->xnonce_len + len + c->tag_len);
	return rec_overhead(c) + len;
}

/* Same with a random explicit nonce, the way OpenSSL and wolfSSL send. */
static __maybe_unused size_t ref_seal_rnd(const struct dkey *k, uint8_t type, uint16_t epoch,
					  uint64_t seq, const void *pt, size_t len, uint8_t *out)
{
	uint8_t ex[8];

	RAND_bytes(ex, sizeof(ex));
	return ref_seal(k, type, DTLS_1_2_VERSION, epoch, seq, ex, pt, len, out);
}

struct rec_hdr {
	uint8_t type;
	uint16_t version;
	uint16_t epoch;
	uint64_t seq;
	uint16_t length;
};

static __maybe_unused int parse_hdr(const uint8_t *rec, size_t avail, struct rec_hdr *h)
{
	if (avail < DTLS_HDR_LEN)
		return -1;
	h->type = rec[0];
	h->version = get_be(rec + 1, 2);
	h->epoch = get_be(rec + 3, 2);
	h->seq = get_be(rec + 5, 6);
	h->length = get_be(rec + 11, 2);
	if (h->length > avail - DTLS_HDR_LEN)
		return -1;
	return 0;
}

/*
 * Verify and decrypt the first record at @rec.  Returns the number of bytes
 * the record occupies, or -1 if it is malformed or not authentic.
 */
static __maybe_unused ssize_t ref_open(const struct dkey *k, const uint8_t *rec, size_t avail,
				       struct rec_hdr *h, uint8_t *pt, size_t *ptlen)
{
	const struct cdesc *c = k->c;
	uint8_t nonce[12], aad[13];
	const uint8_t *body = rec + DTLS_HDR_LEN;
	size_t n;

	if (parse_hdr(rec, avail, h))
		return -1;
	if (h->length < c->xnonce_len + c->tag_len)
		return -1;
	n = h->length - c->xnonce_len - c->tag_len;
	ref_nonce(k, h->epoch, h->seq, body, nonce);
	ref_aad(aad, h->epoch, h->seq, h->type, h->version, n);
	if (ref_aead(k, 0, nonce, aad, 13, body + c->xnonce_len, n, pt,
		     (uint8_t *)body + c->xnonce_len + n))
		return -1;
	*ptlen = n;
	return DTLS_HDR_LEN + h->length;
}

/*
 * RFC 9146: a protected DTLS 1.2 record with connection ID @cid (@cid_len
 * bytes, at least one): outer type tls12_cid, the CID behind the sequence
 * number, the AEAD over @pt || @type || @pad zeros with RFC 9146's
 * additional data.  @explicit as for ref_seal().  Returns its length.
 */
#define TLS12_CID_TYPE	25

static __maybe_unused size_t ref12_cid_aad(uint8_t *aad, uint16_t epoch, uint64_t seq,
					   const uint8_t *cid, size_t cid_len, size_t inner)
{
	memset(aad, 0xff, 8);
	aad[8] = TLS12_CID_TYPE;
	aad[9] = cid_len;
	aad[10] = TLS12_CID_TYPE;
	put_be(aad + 11, DTLS_1_2_VERSION, 2);
	put_be(aad + 13, REC_NUM(epoch, seq), 8);
	memcpy(aad + 21, cid, cid_len);
	put_be(aad + 21 + cid_len, inner, 2);
	return 23 + cid_len;
}

static __maybe_unused size_t ref12_cid_seal(const struct dkey *k, uint8_t type, uint16_t epoch,
					    uint64_t seq, const uint8_t *explicit,
					    const uint8_t *cid, size_t cid_len, const void *pt,
					    size_t len, size_t pad, uint8_t *out)
{
	const struct cdesc *c = k->c;
	size_t hlen = DTLS_HDR_LEN + cid_len, inner = len + 1 + pad, alen;
	uint8_t ex[8], nonce[12], aad[23 + 255];
	uint8_t *body = out + hlen, *in = body + c->xnonce_len;

	if (!explicit) {
		put_be(ex, REC_NUM(epoch, seq), 8);
		explicit = ex;
	}
	ref_nonce(k, epoch, seq, explicit, nonce);
	alen = ref12_cid_aad(aad, epoch, seq, cid, cid_len, inner);
	if (len)
		memmove(in, pt, len);
	in[len] = type;
	memset(in + len + 1, 0, pad);
	if (c->xnonce_len)
		memcpy(body, explicit, 8);
	if (ref_aead(k, 1, nonce, aad, alen, in, inner, in, in + inner))
		return 0;
	put_hdr(out, TLS12_CID_TYPE, DTLS_1_2_VERSION, epoch, seq, 0);
	memcpy(out + 11, cid, cid_len);
	put_be(out + 11 + cid_len, c->xnonce_len + inner + c->tag_len, 2);
	return hlen + c->xnonce_len + inner + c->tag_len;
}

/*
 * Authenticate and decrypt the RFC 9146 record at @rec, whose connection
 * ID is @cid_len bytes long, into @pt: the whole DTLSInnerPlaintext,
 * padding included.  h gets the header (h->type its outer type).  Returns
 * the DTLSInnerPlaintext's length, or -1 if the record is malformed or
 * not authentic.
 */
static __maybe_unused ssize_t ref12_cid_unseal(const struct dkey *k, const uint8_t *rec,
					       size_t avail, size_t cid_len, struct rec_hdr *h,
					       uint8_t *pt)
{
	const struct cdesc *c = k->c;
	size_t hlen = DTLS_HDR_LEN + cid_len, inner, alen;
	uint8_t nonce[12], aad[23 + 255];
	const uint8_t *body = rec + hlen;

	if (avail < hlen || rec[0] != TLS12_CID_TYPE)
		return -1;
	h->type = rec[0];
	h->version = get_be(rec + 1, 2);
	h->epoch = get_be(rec + 3, 2);
	h->seq = get_be(rec + 5, 6);
	h->length = get_be(rec + 11 + cid_len, 2);
	if (h->length > avail - hlen || h->length < c->xnonce_len + c->tag_len + 1)
		return -1;
	inner = h->length - c->xnonce_len - c->tag_len;
	ref_nonce(k, h->epoch, h->seq, body, nonce);
	alen = ref12_cid_aad(aad, h->epoch, h->seq, rec + 11, cid_len, inner);
	if (ref_aead(k, 0, nonce, aad, alen, body + c->xnonce_len, inner, pt,
		     (uint8_t *)body + c->xnonce_len + inner))
		return -1;
	return inner;
}

/*
 * Open the RFC 9146 record at @rec, whose connection ID is @cid_len bytes
 * long: h gets the header (h->type its outer type), @cid where the
 * record's CID is, @type the real type, @ptlen the content's length.
 * Returns the bytes the record occupies, or -1.
 */
static __maybe_unused ssize_t ref12_cid_open(const struct dkey *k, const uint8_t *rec,
					     size_t avail, size_t cid_len, struct rec_hdr *h,
					     const uint8_t **cid, uint8_t *type, uint8_t *pt,
					     size_t *ptlen)
{
	ssize_t inner = ref12_cid_unseal(k, rec, avail, cid_len, h, pt);
	size_t i;

	if (inner < 0)
		return -1;
	*cid = rec + 11;
	for (i = inner; i > 0 && !pt[i - 1]; i--)
		;
	if (!i)
		return -1;
	*type = pt[i - 1];
	*ptlen = i - 1;
	return DTLS_HDR_LEN + cid_len + h->length;
}

/* An unprotected (epoch 0) record. */
static __maybe_unused size_t plain_record(uint8_t *out, uint8_t type, uint16_t version,
					  uint16_t epoch, uint64_t seq, const void *pt, size_t len)
{
	put_hdr(out, type, version, epoch, seq, len);
	if (len)
		memcpy(out + DTLS_HDR_LEN, pt, len);
	return DTLS_HDR_LEN + len;
}

/* ---------------------------------------------------------------------- */
/* Sockets                                                                 */

enum sk_kind { SK_IPV4, SK_IPV6, SK_MAPPED };

static __maybe_unused int sk_family(int kind)
{
	return kind == SK_IPV4 ? AF_INET : AF_INET6;
}

/* The kind of the plain UDP peer socket that talks to a socket of @kind */
static __maybe_unused int peer_kind(int kind)
{
	return kind == SK_MAPPED ? SK_IPV4 : kind;
}

/* Loopback address of a socket of @kind as seen by a socket of @from. */
static __maybe_unused socklen_t sk_addr(int kind, int from, uint16_t port,
					struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sk_family(from) == AF_INET) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (kind == SK_IPV6)
			sin6->sin6_addr = in6addr_loopback;
		else
			inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6->sin6_addr);
		return sizeof(*sin6);
	}
}

static __maybe_unused int sk_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (void *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A UDP socket of @kind bound to its loopback address, port 0. */
static __maybe_unused int udp_bound(int kind)
{
	struct sockaddr_storage ss;
	socklen_t len = sk_addr(kind, kind, 0, &ss);
	int fd = socket(sk_family(kind), SOCK_DGRAM, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	if (bind(fd, (void *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static __maybe_unused int udp_connect_to(int fd, int from, int to, int to_fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sk_addr(to, from, sk_port(to_fd), &ss);

	return connect(fd, (void *)&ss, len);
}

/* Two loopback UDP sockets connected to each other. */
static __maybe_unused int udp_pair(int kind_a, int kind_b, int *a, int *b)
{
	*a = udp_bound(kind_a);
	*b = udp_bound(kind_b);
	if (*a < 0 || *b < 0)
		return -1;
	if (udp_connect_to(*a, kind_a, kind_b, *b))
		return -1;
	if (udp_connect_to(*b, kind_b, kind_a, *a))
		return -1;
	return 0;
}

/* SO_RCVBUFFORCE (root, beyond rmem_max), else SO_RCVBUF up to the limit. */
static __maybe_unused void set_rcvbuf(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

/* The same for the send buffer. */
static __maybe_unused void set_sndbuf(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

/* poll() for input: 1 readable, 0 timeout, -1 error. */
static __maybe_unused int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* Bring up the loopback device of a freshly entered network namespace. */
static __maybe_unused int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int r;

	if (s < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!r) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* One UDP_SEGMENT send: @len bytes cut into datagrams of @seg bytes. */
static __maybe_unused ssize_t send_gso_to(int fd, const void *buf, size_t len, uint16_t seg,
					  const struct sockaddr_storage *to, socklen_t tolen,
					  int flags)
{
	char ctl[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)to, .msg_namelen = tolen,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	return sendmsg(fd, &m, flags);
}

/* ---------------------------------------------------------------------- */
/* Small files (sysfs, procfs, cgroupfs)                                   */

/* The whole file, up to @len - 1 bytes, as a string; 0 on success. */
static __maybe_unused int file_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* @val written in one write(); 0 if all of it was taken. */
static __maybe_unused int file_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* /proc/net/dtls_stat                                                     */

#define DSTAT_FILE "/proc/net/dtls_stat"

/* -1: file missing, -2: counter missing */
static __maybe_unused long long dstat(const char *name)
{
	char n[64];
	long long v;
	FILE *f = fopen(DSTAT_FILE, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", n, &v) == 2) {
		if (!strcmp(n, name)) {
			fclose(f);
			return v;
		}
	}
	fclose(f);
	return -2;
}

/*
 * UDP's RcvbufErrors of this network namespace, IPv4 and IPv6 added up:
 * where the record layer counts a datagram dropped before it was opened
 * because the receive buffer was full.  -1 if unreadable.
 */
static __maybe_unused long long udp_rcvbuf_errors(void)
{
	char names[512], vals[512], n[64], *ns, *vs, *nt, *vt;
	long long v, sum = -1;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, "Udp: ", 5) || strncmp(vals, "Udp: ", 5))
			continue;
		ns = strtok_r(names + 5, " \n", &nt);
		vs = strtok_r(vals + 5, " \n", &vt);
		for (; ns && vs; ns = strtok_r(NULL, " \n", &nt),
				 vs = strtok_r(NULL, " \n", &vt))
			if (!strcmp(ns, "RcvbufErrors"))
				sum = atoll(vs);
	}
	fclose(f);
	if (sum < 0)
		return -1;
	f = fopen("/proc/net/snmp6", "r");
	if (!f)
		return sum;	/* no IPv6 */
	while (fscanf(f, "%63s %lld", n, &v) == 2)
		if (!strcmp(n, "Udp6RcvbufErrors"))
			sum += v;
	fclose(f);
	return sum;
}

static __maybe_unused uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static __maybe_unused uint64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Wait until @name reaches at least @target (or @ms pass); return the value. */
static __maybe_unused long long dstat_wait(const char *name, long long target, int ms)
{
	uint64_t end = now_ms() + ms;
	long long v;

	for (;;) {
		v = dstat(name);
		if (v < 0 || v >= target || now_ms() > end)
			return v;
		usleep(2000);
	}
}

/* The module's reference count, -1 if it is not loaded. */
static __maybe_unused long long modref(void)
{
	FILE *f = fopen("/sys/module/dtls/refcnt", "r");
	long long v = -1;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* What a test must leave as it found it: DTLS state and module references. */
struct base {
	long long tx, rx, peers, ref;
};

static __maybe_unused void base_get(struct base *b)
{
	b->tx = dstat("DtlsCurrTxSw");
	b->rx = dstat("DtlsCurrRxSw");
	b->peers = dstat("DtlsCurrPeers");
	b->ref = modref();
}

static __maybe_unused int base_eq(const struct base *a, const struct base *b)
{
	return a->tx == b->tx && a->rx == b->rx && a->peers == b->peers &&
	       a->ref == b->ref;
}

/* Wait up to @ms for the counters to return to @b; 0 if they did. */
static __maybe_unused int base_wait(const struct base *b, int ms, char *why, size_t wlen)
{
	uint64_t end = now_ms() + ms;
	struct base n;

	for (;;) {
		base_get(&n);
		if (base_eq(&n, b))
			return 0;
		if (now_ms() > end)
			break;
		usleep(20000);
	}
	snprintf(why, wlen,
		 "not back to baseline after %d ms: DtlsCurrTxSw %lld (was %lld), DtlsCurrRxSw %lld (was %lld), DtlsCurrPeers %lld (was %lld), module refcnt %lld (was %lld)",
		 ms, n.tx, b->tx, n.rx, b->rx, n.peers, b->peers, n.ref, b->ref);
	return -1;
}

/*
 * Wait until @name has not moved for 10 ms (at most @ms); return it.  The
 * kernel counts a record after putting it on the queue, and an asynchronous
 * AEAD may complete on another CPU than the reader's: a reader can hold a
 * record before its counter has moved.
 */
static __maybe_unused long long dstat_settled(const char *name, int ms)
{
	uint64_t end = now_ms() + ms;
	long long v = dstat(name), prev;

	do {
		prev = v;
		usleep(10000);
		v = dstat(name);
	} while (v != prev && now_ms() < end);
	return v;
}

/* ---------------------------------------------------------------------- */
/* Seeded pseudo-random numbers (xorshift64*), repeatable from a seed      */

struct rng {
	uint64_t s;	/* never 0 */
};

static __maybe_unused uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

/* 0..n-1 (0 if n is 0) */
static __maybe_unused uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)((rng_next(r) >> 11) % n) : 0;
}

/* A seed for a run that was given none: printed, so the run can be redone. */
static __maybe_unused uint64_t seed_from_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ getpid();
}

/* Test payload with an id and a checksum, for concurrency and netns runs. */
#define PAYLOAD_HDR 12	/* id(4) | len(4) | crc(4) */

static __maybe_unused uint32_t payload_sum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static __maybe_unused size_t payload_make(uint8_t *buf, uint32_t id, size_t len)
{
	uint32_t sum;

	if (len < PAYLOAD_HDR)
		len = PAYLOAD_HDR;
	put_be(buf, id, 4);
	put_be(buf + 4, len, 4);
	for (size_t i = PAYLOAD_HDR; i < len; i++)
		buf[i] = (uint8_t)(id * 131 + i * 7);
	sum = payload_sum(buf + PAYLOAD_HDR, len - PAYLOAD_HDR) ^ id;
	put_be(buf + 8, sum, 4);
	return len;
}

/* Returns the id, or -1 if the payload is not intact. */
static __maybe_unused long payload_check(const uint8_t *buf, size_t len)
{
	uint32_t id;

	if (len < PAYLOAD_HDR || get_be(buf + 4, 4) != len)
		return -1;
	id = get_be(buf, 4);
	for (size_t i = PAYLOAD_HDR; i < len; i++)
		if (buf[i] != (uint8_t)(id * 131 + i * 7))
			return -1;
	if (get_be(buf + 8, 4) != ((payload_sum(buf + PAYLOAD_HDR, len - PAYLOAD_HDR) ^ id)))
		return -1;
	return id;
}

#endif
