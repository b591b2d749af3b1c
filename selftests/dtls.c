// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests for the kernel DTLS 1.2 record layer (kernel/dtls.ko).
 *
 * Every test of the "dtls" fixture runs for each cipher x address family.
 * The fixture holds `fd`, a UDP socket with DTLS_TX and DTLS_RX installed,
 * and `peer`, a plain UDP socket connected to it.  The test plays the
 * remote DTLS endpoint on `peer` with OpenSSL libcrypto (dtls_common.h),
 * an implementation independent of the kernel: records the kernel sends
 * must equal what libcrypto computes byte for byte, and records libcrypto
 * builds (with random explicit nonces, as OpenSSL does) must be accepted.
 *
 * The "reference" fixture checks the libcrypto reference itself against a
 * second construction from raw block/stream primitives; it needs no module.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "dtls13_ref.h"
#include "kselftest_harness.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif
#ifndef UDP_CORK
#define UDP_CORK 1
#endif

#define EPOCH 1
#define MAXREC (DTLS_MAX_PLAINTEXT + 2048 + 64)

static const size_t test_sizes[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	31, 32, 33, 63, 64, 100, 255, 256, 1000, 1400, 1500, 4096, 8192,
	16383, 16384,
};
#define N_SIZES (sizeof(test_sizes) / sizeof(test_sizes[0]))

static void fill_pattern(uint8_t *p, size_t len, unsigned int salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + salt * 7 + (i >> 8));
}

/* The RX drop counters; every dropped record must bump exactly one. */
static const char *const rx_drop_counters[] = {
	"DtlsRxDecryptError", "DtlsRxReplay", "DtlsRxMalformed",
	"DtlsRxBadVersion", "DtlsRxUnknownEpoch", "DtlsRxDropped",
	"DtlsRxKeyExpired", "DtlsRxUnknownCid",
};
#define N_DROP (sizeof(rx_drop_counters) / sizeof(rx_drop_counters[0]))

static long long drop_sum(void)
{
	long long s = 0;

	for (size_t i = 0; i < N_DROP; i++) {
		long long v = dstat(rx_drop_counters[i]);

		if (v < 0)
			return -1;
		s += v;
	}
	return s;
}

/* recv() with a timeout; -1 and errno ETIMEDOUT when nothing arrives. */
static ssize_t recv_to(int fd, void *buf, size_t len, int ms)
{
	int r = wait_readable(fd, ms);

	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r < 0)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/*
 * recvmsg() with a DTLS control buffer. *got: 1 cmsg first, 2 present not
 * first.  @seg, if not NULL: the UDP_GRO control message's segment size, 0
 * without one.
 */
static ssize_t recv_cmsgs(int fd, void *buf, size_t len, int flags,
			  struct dtls_record_info *info, int *got, int *mflags, int *seg)
{
	char cbuf[CMSG_SPACE(sizeof(*info)) + CMSG_SPACE(64)];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int first = 1;

	memset(cbuf, 0, sizeof(cbuf));
	*got = 0;
	memset(info, 0xa5, sizeof(*info));
	if (seg)
		*seg = 0;
	n = recvmsg(fd, &msg, flags);
	if (n < 0)
		return n;
	if (mflags)
		*mflags = msg.msg_flags;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (!*got && cm->cmsg_level == SOL_DTLS && cm->cmsg_type == DTLS_GET_RECORD_TYPE &&
		    cm->cmsg_len == CMSG_LEN(sizeof(*info))) {
			memcpy(info, CMSG_DATA(cm), sizeof(*info));
			*got = first ? 1 : 2;
		} else if (seg && cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
			   cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(seg, CMSG_DATA(cm), sizeof(int));
		}
		first = 0;
	}
	return n;
}

static ssize_t recv_info(int fd, void *buf, size_t len, int flags,
			 struct dtls_record_info *info, int *got, int *mflags)
{
	return recv_cmsgs(fd, buf, len, flags, info, got, mflags, NULL);
}

static int send_with_type(int fd, int level, int type, const void *cdata, size_t clen,
			  const void *buf, size_t len, int flags)
{
	char cbuf[CMSG_SPACE(64)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(clen),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(clen);
	memcpy(CMSG_DATA(cm), cdata, clen);
	return sendmsg(fd, &msg, flags);
}

static int send_rec_type(int fd, uint8_t type, const void *buf, size_t len)
{
	return send_with_type(fd, SOL_DTLS, DTLS_SET_RECORD_TYPE, &type, 1, buf, len, 0);
}

/* ====================================================================== */
/* Reference self-check (no module needed)                                */
/* ====================================================================== */

/* GF(2^128) multiply as in NIST SP 800-38D, bit by bit. */
static void gf128_mul(uint8_t x[16], const uint8_t y[16])
{
	uint8_t z[16] = { 0 }, v[16];

	memcpy(v, y, 16);
	for (int i = 0; i < 128; i++) {
		if (x[i / 8] & (0x80 >> (i % 8)))
			for (int j = 0; j < 16; j++)
				z[j] ^= v[j];
		int lsb = v[15] & 1;

		for (int j = 15; j > 0; j--)
			v[j] = (v[j] >> 1) | (v[j - 1] << 7);
		v[0] >>= 1;
		if (lsb)
			v[0] ^= 0xe1;
	}
	memcpy(x, z, 16);
}

static void ghash_update(uint8_t y[16], const uint8_t h[16], const uint8_t *p, size_t n)
{
	while (n) {
		size_t k = n < 16 ? n : 16;

		for (size_t i = 0; i < k; i++)
			y[i] ^= p[i];
		gf128_mul(y, h);
		p += k;
		n -= k;
	}
}

static int aes_ecb(const struct dkey *k, const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l, ok;

	ok = EVP_EncryptInit_ex(ctx, k->c->key_len == 16 ? EVP_aes_128_ecb() :
				EVP_aes_256_ecb(), NULL, k->key, NULL) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, out, &l, in, 16);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* AES-GCM from AES-ECB + GHASH. */
static int alt_gcm(const struct dkey *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aadlen, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t *tag)
{
	uint8_t h[16] = { 0 }, j[16], ks[16], y[16] = { 0 }, lens[16];

	if (aes_ecb(k, h, h))
		return -1;
	memcpy(j, nonce, 12);
	for (size_t off = 0; off < len; off += 16) {
		put_be(j + 12, 2 + off / 16, 4);
		if (aes_ecb(k, j, ks))
			return -1;
		for (size_t i = 0; i < 16 && off + i < len; i++)
			ct[off + i] = pt[off + i] ^ ks[i];
	}
	ghash_update(y, h, aad, aadlen);
	ghash_update(y, h, ct, len);
	put_be(lens, aadlen * 8, 8);
	put_be(lens + 8, len * 8, 8);
	ghash_update(y, h, lens, 16);
	put_be(j + 12, 1, 4);
	if (aes_ecb(k, j, ks))
		return -1;
	for (int i = 0; i < 16; i++)
		tag[i] = y[i] ^ ks[i];
	return 0;
}

/* AES-CCM (RFC 3610, L = 3 for a 12-byte nonce) from AES-ECB. */
static int alt_ccm(const struct dkey *k, const uint8_t nonce[12], const uint8_t *aad,
		   size_t aadlen, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t *tag)
{
	unsigned int m = k->c->tag_len;
	uint8_t x[16], b[16], a[16], s[16];
	size_t off;

	/* CBC-MAC over B0 | encoded AAD | plaintext */
	b[0] = 0x40 | (((m - 2) / 2) << 3) | (3 - 1);
	memcpy(b + 1, nonce, 12);
	put_be(b + 13, len, 3);
	if (aes_ecb(k, b, x))
		return -1;
	{
		uint8_t abuf[2 + 64] = { 0 };
		size_t alen = 2 + aadlen;

		put_be(abuf, aadlen, 2);
		memcpy(abuf + 2, aad, aadlen);
		for (off = 0; off < alen; off += 16) {
			for (int i = 0; i < 16; i++)
				x[i] ^= abuf[off + i];
			if (aes_ecb(k, x, x))
				return -1;
		}
	}
	for (off = 0; off < len; off += 16) {
		for (size_t i = 0; i < 16 && off + i < len; i++)
			x[i] ^= pt[off + i];
		if (aes_ecb(k, x, x))
			return -1;
	}
	/* CTR */
	a[0] = 3 - 1;
	memcpy(a + 1, nonce, 12);
	for (off = 0; off < len; off += 16) {
		put_be(a + 13, 1 + off / 16, 3);
		if (aes_ecb(k, a, s))
			return -1;
		for (size_t i = 0; i < 16 && off + i < len; i++)
			ct[off + i] = pt[off + i] ^ s[i];
	}
	put_be(a + 13, 0, 3);
	if (aes_ecb(k, a, s))
		return -1;
	for (unsigned int i = 0; i < m; i++)
		tag[i] = x[i] ^ s[i];
	return 0;
}

/* ChaCha20-Poly1305 (RFC 8439 2.8) from raw ChaCha20 and the Poly1305 MAC. */
static int alt_chacha(const struct dkey *k, const uint8_t nonce[12], const uint8_t *aad,
		      size_t aadlen, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t *tag)
{
	static const uint8_t zero[64];
	uint8_t iv[16], otk[64], pad[16] = { 0 }, lens[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t tl;
	int l, ret = -1;

	if (!ctx || !mctx)
		goto out;
	/* counter 0 -> one-time Poly1305 key, counter 1.. -> keystream */
	memset(iv, 0, 4);
	memcpy(iv + 4, nonce, 12);
	if (!EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, k->key, iv) ||
	    !EVP_EncryptUpdate(ctx, otk, &l, zero, 64))
		goto out;
	if (len && !EVP_EncryptUpdate(ctx, ct, &l, pt, len))
		goto out;
	if (!EVP_MAC_init(mctx, otk, 32, NULL))
		goto out;
	EVP_MAC_update(mctx, aad, aadlen);
	EVP_MAC_update(mctx, pad, (16 - aadlen % 16) % 16);
	EVP_MAC_update(mctx, ct, len);
	EVP_MAC_update(mctx, pad, (16 - len % 16) % 16);
	for (int i = 0; i < 8; i++) {
		lens[i] = (uint8_t)(aadlen >> (8 * i));
		lens[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	EVP_MAC_update(mctx, lens, 16);
	if (!EVP_MAC_final(mctx, tag, &tl, 16) || tl != 16)
		goto out;
	ret = 0;
out:
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(mac);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/*
 * A record built the second way: header, nonce and AAD laid out here again
 * from RFC 6347/7905 rather than through ref_seal().
 */
static size_t alt_record(const struct dkey *k, uint8_t type, uint16_t epoch, uint64_t seq,
			 const uint8_t explicit[8], const uint8_t *pt, size_t len, uint8_t *out)
{
	const struct cdesc *c = k->c;
	uint8_t nonce[12], aad[13];
	size_t xn = c->xnonce_len, body = xn + len + c->tag_len;
	int r;

	out[0] = type;
	out[1] = 0xfe;
	out[2] = 0xfd;
	out[3] = epoch >> 8;
	out[4] = epoch;
	for (int i = 0; i < 6; i++)
		out[5 + i] = seq >> (40 - 8 * i);
	out[11] = body >> 8;
	out[12] = body;
	memcpy(aad, out + 3, 8);
	aad[8] = type;
	aad[9] = 0xfe;
	aad[10] = 0xfd;
	aad[11] = len >> 8;
	aad[12] = len;
	if (c->kind == AEAD_CHACHA) {
		memcpy(nonce, k->salt, 12);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= out[3 + i];
		r = alt_chacha(k, nonce, aad, 13, pt, len, out + 13, out + 13 + len);
	} else {
		memcpy(out + 13, explicit, 8);
		memcpy(nonce, k->salt, 4);
		memcpy(nonce + 4, explicit, 8);
		if (c->kind == AEAD_GCM)
			r = alt_gcm(k, nonce, aad, 13, pt, len, out + 21, out + 21 + len);
		else
			r = alt_ccm(k, nonce, aad, 13, pt, len, out + 21, out + 21 + len);
	}
	return r ? 0 : 13 + body;
}

FIXTURE(reference) {
	struct dkey k;
};

FIXTURE_VARIANT(reference) {
	uint16_t cipher;
};

FIXTURE_VARIANT_ADD(reference, aes128gcm) { .cipher = DTLS_CIPHER_AES_GCM_128 };
FIXTURE_VARIANT_ADD(reference, aes256gcm) { .cipher = DTLS_CIPHER_AES_GCM_256 };
FIXTURE_VARIANT_ADD(reference, aes128ccm) { .cipher = DTLS_CIPHER_AES_CCM_128 };
FIXTURE_VARIANT_ADD(reference, aes128ccm8) { .cipher = DTLS_CIPHER_AES_CCM_8_128 };
FIXTURE_VARIANT_ADD(reference, chacha20poly1305) { .cipher = DTLS_CIPHER_CHACHA20_POLY1305 };

FIXTURE_SETUP(reference)
{
	const struct cdesc *c = cdesc_by_type(variant->cipher);

	ASSERT_NE(NULL, c);
	dkey_derive(&self->k, c, "reference");
}

FIXTURE_TEARDOWN(reference)
{
}

/* libcrypto's AEAD and the construction from primitives agree byte for byte */
TEST_F(reference, independent_construction)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT], a[MAXREC], b[MAXREC];

	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i], la, lb;
		uint8_t ex[8];
		uint64_t seq = 0x123456789aULL + i;

		RAND_bytes(ex, 8);
		fill_pattern(pt, len, i);
		la = ref_seal(&self->k, 23, DTLS_1_2_VERSION, 3, seq, ex, pt, len, a);
		lb = alt_record(&self->k, 23, 3, seq, ex, pt, len, b);
		ASSERT_NE(0, la);
		ASSERT_EQ(la, lb);
		ASSERT_EQ(0, memcmp(a, b, la)) TH_LOG("size %zu", len);
		ASSERT_EQ(rec_overhead(self->k.c) + len, la);
	}
}

/* The kernel's explicit nonce (epoch||seq) path agrees too */
TEST_F(reference, independent_construction_implicit_nonce)
{
	uint8_t pt[300], a[400], b[400], ex[8];

	fill_pattern(pt, sizeof(pt), 5);
	for (uint64_t seq = 0; seq < 40; seq += 7) {
		size_t la, lb;

		put_be(ex, REC_NUM(1, seq), 8);
		la = ref_seal(&self->k, 21, DTLS_1_2_VERSION, 1, seq, NULL, pt, seq * 7, a);
		lb = alt_record(&self->k, 21, 1, seq, ex, pt, seq * 7, b);
		ASSERT_EQ(la, lb);
		ASSERT_EQ(0, memcmp(a, b, la));
	}
}

TEST_F(reference, seal_open_roundtrip)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT], rec[MAXREC], out[MAXREC];

	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i], rl, ol = 99999;
		struct rec_hdr h;

		fill_pattern(pt, len, i + 1);
		rl = ref_seal_rnd(&self->k, 22, 7, 1000 + i, pt, len, rec);
		ASSERT_NE(0, rl);
		ASSERT_EQ((ssize_t)rl, ref_open(&self->k, rec, rl, &h, out, &ol));
		ASSERT_EQ(len, ol);
		ASSERT_EQ(0, memcmp(pt, out, len));
		ASSERT_EQ(22, h.type);
		ASSERT_EQ(7, h.epoch);
		ASSERT_EQ(1000 + i, h.seq);
		ASSERT_EQ(DTLS_1_2_VERSION, h.version);
	}
}

/* Any single bit flip anywhere in the record makes open fail. */
TEST_F(reference, tamper_detected)
{
	uint8_t pt[40], rec[128], mod[128], out[128];
	size_t rl, ol;
	struct rec_hdr h;

	fill_pattern(pt, sizeof(pt), 9);
	rl = ref_seal_rnd(&self->k, 23, 1, 77, pt, sizeof(pt), rec);
	ASSERT_NE(0, rl);
	for (size_t bit = 0; bit < rl * 8; bit++) {
		/* bits of the length field give a parse error, also a failure */
		memcpy(mod, rec, rl);
		mod[bit / 8] ^= 1 << (bit % 8);
		EXPECT_EQ(-1, ref_open(&self->k, mod, rl, &h, out, &ol)) TH_LOG("bit %zu", bit);
	}
}

/* ====================================================================== */
/* The main fixture                                                       */
/* ====================================================================== */

FIXTURE(dtls) {
	int fd, peer;
	int kind;
	const struct cdesc *c;
	struct dkey k_tx;	/* fd -> peer */
	struct dkey k_rx;	/* peer -> fd */
	uint64_t peer_seq;	/* next sequence number the peer sends */
	uint64_t tx_seq;	/* next sequence number expected from fd */
};

FIXTURE_VARIANT(dtls) {
	uint16_t cipher;
	int kind;
};

/* Fixture @f's variants: every suite over IPv4, IPv6 and v4-mapped IPv6 */
#define KIND_VARIANTS(f, cname, ctype)						\
	FIXTURE_VARIANT_ADD(f, cname##_ipv4) { .cipher = ctype, .kind = SK_IPV4 }; \
	FIXTURE_VARIANT_ADD(f, cname##_ipv6) { .cipher = ctype, .kind = SK_IPV6 }; \
	FIXTURE_VARIANT_ADD(f, cname##_v4mapped) { .cipher = ctype, .kind = SK_MAPPED }
#define SUITE_VARIANTS(f)							\
	KIND_VARIANTS(f, aes128gcm, DTLS_CIPHER_AES_GCM_128);			\
	KIND_VARIANTS(f, aes256gcm, DTLS_CIPHER_AES_GCM_256);			\
	KIND_VARIANTS(f, aes128ccm, DTLS_CIPHER_AES_CCM_128);			\
	KIND_VARIANTS(f, aes128ccm8, DTLS_CIPHER_AES_CCM_8_128);		\
	KIND_VARIANTS(f, chacha20poly1305, DTLS_CIPHER_CHACHA20_POLY1305)

SUITE_VARIANTS(dtls);

FIXTURE_SETUP(dtls)
{
	self->fd = self->peer = -1;
	self->kind = variant->kind;
	self->c = cdesc_by_type(variant->cipher);
	ASSERT_NE(NULL, self->c);
	dkey_derive(&self->k_tx, self->c, "kernel-to-peer");
	dkey_derive(&self->k_rx, self->c, "peer-to-kernel");
	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &self->fd, &self->peer));
	ASSERT_EQ(0, dtls_install(self->fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)))
		TH_LOG("DTLS_TX: %s (is dtls.ko loaded?)", strerror(errno));
	ASSERT_EQ(0, dtls_install(self->fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)))
		TH_LOG("DTLS_RX: %s", strerror(errno));
	self->peer_seq = 1;
	self->tx_seq = 1;
}

FIXTURE_TEARDOWN(dtls)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->peer >= 0)
		close(self->peer);
}

typedef FIXTURE_DATA(dtls) dtls_t;

/* A fresh connected pair of this variant without any DTLS state. */
static void fresh_pair(struct __test_metadata *_metadata, dtls_t *self, int *fd, int *peer)
{
	ASSERT_EQ(0, udp_pair(self->kind, peer_kind(self->kind), fd, peer));
}

/* A kernel<->kernel pair: a sends with kab, b with kba. */
static void kernel_pair(struct __test_metadata *_metadata, dtls_t *self, int *a, int *b,
			struct dkey *kab, struct dkey *kba)
{
	dkey_derive(kab, self->c, "a-to-b");
	dkey_derive(kba, self->c, "b-to-a");
	ASSERT_EQ(0, udp_pair(self->kind, self->kind, a, b));
	ASSERT_EQ(0, dtls_install(*a, DTLS_TX, kab, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(0, dtls_install(*a, DTLS_RX, kba, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(0, dtls_install(*b, DTLS_TX, kba, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(0, dtls_install(*b, DTLS_RX, kab, REC_NUM(EPOCH, 1)));
}

/* Peer sends one protected record (random explicit nonce). */
static void peer_send(struct __test_metadata *_metadata, dtls_t *self, uint8_t type,
		      uint64_t seq, const void *pt, size_t len)
{
	static uint8_t rec[MAXREC];
	size_t rl = ref_seal_rnd(&self->k_rx, type, EPOCH, seq, pt, len, rec);

	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
}

static void peer_send_next(struct __test_metadata *_metadata, dtls_t *self,
			   const void *pt, size_t len)
{
	peer_send(_metadata, self, 23, self->peer_seq++, pt, len);
}

/* Kernel must deliver exactly @pt as the next record. */
static void expect_recv(struct __test_metadata *_metadata, int fd, const void *pt, size_t len)
{
	static uint8_t buf[MAXREC];
	ssize_t n = recv_to(fd, buf, sizeof(buf), 2000);

	ASSERT_EQ((ssize_t)len, n) TH_LOG("recv: %s", n < 0 ? strerror(errno) : "length");
	ASSERT_EQ(0, memcmp(buf, pt, len));
}

static void expect_nothing(struct __test_metadata *_metadata, int fd)
{
	char buf[64];

	ASSERT_EQ(0, wait_readable(fd, 50));
	ASSERT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
}

/* The peer must receive exactly the record libcrypto builds for @seq. */
static void peer_expect(struct __test_metadata *_metadata, dtls_t *self, uint8_t type,
			uint16_t epoch, uint64_t seq, const void *pt, size_t len)
{
	static uint8_t want[MAXREC], got[MAXREC], out[MAXREC];
	size_t wl = ref_seal(&self->k_tx, type, DTLS_1_2_VERSION, epoch, seq, NULL, pt, len, want);
	ssize_t n = recv_to(self->peer, got, sizeof(got), 2000);
	struct rec_hdr h;
	size_t ol;

	ASSERT_NE(0, wl);
	ASSERT_EQ((ssize_t)wl, n) TH_LOG("len %zu: peer recv %zd (%s)", len, n,
					 n < 0 ? strerror(errno) : "");
	if (memcmp(want, got, wl)) {
		parse_hdr(got, n, &h);
		TH_LOG("record differs: type %u ver %04x epoch %u seq %llu (want seq %llu)",
		       h.type, h.version, h.epoch, (unsigned long long)h.seq,
		       (unsigned long long)seq);
	}
	ASSERT_EQ(0, memcmp(want, got, wl));
	ASSERT_EQ(n, ref_open(&self->k_tx, got, n, &h, out, &ol));
	ASSERT_EQ(len, ol);
	ASSERT_EQ(0, memcmp(out, pt, len));
}

/* After a failed send: the next record number is tx_seq, or tx_seq + 1 if
 * the failed send counted in DtlsTxError (it used a record number). */
static void expect_tx_continues(struct __test_metadata *_metadata, dtls_t *self,
				long long txerr_before)
{
	long long used = dstat("DtlsTxError") - txerr_before;

	ASSERT_TRUE(used == 0 || used == 1);
	self->tx_seq += used;
	ASSERT_EQ(5, send(self->fd, "probe", 5, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "probe", 5);
	expect_nothing(_metadata, self->peer);
}

/*
 * Send @bad from the peer and check it is dropped: @counter rises by exactly
 * @delta, no other drop counter moves, nothing is readable, and a valid
 * record afterwards is delivered.
 */
static void expect_dropped_raw(struct __test_metadata *_metadata, dtls_t *self,
			       int sender, const void *bad, size_t badlen,
			       const char *counter, long long delta)
{
	long long rx = dstat_settled("DtlsRxRecords", 1000);
	long long before = dstat(counter), sum = drop_sum();
	long long after, pt = dstat("DtlsRxPlaintext");
	uint8_t ok[32];

	ASSERT_GE(before, 0) TH_LOG("%s missing from " DSTAT_FILE, counter);
	ASSERT_EQ((ssize_t)badlen, send(sender, bad, badlen, 0));
	after = dstat_wait(counter, before + delta, 2000);
	EXPECT_EQ(delta, after - before) TH_LOG("counter %s", counter);
	expect_nothing(_metadata, self->fd);
	EXPECT_EQ(delta, drop_sum() - sum) TH_LOG("other drop counters moved");
	EXPECT_EQ(rx, dstat("DtlsRxRecords"));
	EXPECT_EQ(pt, dstat("DtlsRxPlaintext"));

	/* the association still works */
	snprintf((char *)ok, sizeof(ok), "alive-%llu", (unsigned long long)self->peer_seq);
	peer_send_next(_metadata, self, ok, strlen((char *)ok));
	expect_recv(_metadata, self->fd, ok, strlen((char *)ok));
	EXPECT_EQ(rx + 1, dstat_wait("DtlsRxRecords", rx + 1, 1000));
}

static void expect_dropped(struct __test_metadata *_metadata, dtls_t *self,
			   const void *bad, size_t badlen, const char *counter)
{
	expect_dropped_raw(_metadata, self, self->peer, bad, badlen, counter, 1);
}

/* ---------------------------------------------------------------------- */
/* Wire format                                                             */

TEST_F(dtls, tx_wire_format_all_sizes)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT];

	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i];

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send(self->fd, pt, len, 0)) TH_LOG("size %zu", len);
		peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, len);
	}
}

/* DTLS_RX may come first: its own hook is no conflict for DTLS_TX. */
TEST_F(dtls, install_rx_then_tx)
{
	static const char pt[] = "rx first";

	close(self->fd);
	close(self->peer);
	fresh_pair(_metadata, self, &self->fd, &self->peer);
	ASSERT_EQ(0, dtls_install(self->fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(0, dtls_install(self->fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)))
		TH_LOG("DTLS_TX after DTLS_RX: %s", strerror(errno));
	peer_send_next(_metadata, self, pt, sizeof(pt));
	expect_recv(_metadata, self->fd, pt, sizeof(pt));
	ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, sizeof(pt));
}

TEST_F(dtls, tx_record_number_increments)
{
	uint8_t buf[256];
	struct rec_hdr h;

	for (int i = 0; i < 50; i++) {
		ssize_t n;

		ASSERT_EQ(1, send(self->fd, "x", 1, 0));
		n = recv_to(self->peer, buf, sizeof(buf), 2000);
		ASSERT_EQ((ssize_t)rec_overhead(self->c) + 1, n);
		ASSERT_EQ(0, parse_hdr(buf, n, &h));
		ASSERT_EQ(23, h.type);
		ASSERT_EQ(DTLS_1_2_VERSION, h.version);
		ASSERT_EQ(EPOCH, h.epoch);
		ASSERT_EQ(1 + (uint64_t)i, h.seq);
		ASSERT_EQ(n - DTLS_HDR_LEN, h.length);
		if (self->c->xnonce_len) {	/* kernel sends epoch||seq */
			ASSERT_EQ(REC_NUM(EPOCH, 1 + i), get_be(buf + DTLS_HDR_LEN, 8));
		}
	}
}

TEST_F(dtls, tx_epoch_and_seq_from_rec_seq)
{
	int fd, peer;
	uint64_t seq = 0x0000123456789abcULL;

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(7, seq)));
	close(self->peer);
	self->peer = peer;
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(4, send(fd, "abcd", 4, 0));
		peer_expect(_metadata, self, 23, 7, seq + i, "abcd", 4);
	}
	close(fd);
}

TEST_F(dtls, tx_iovec_one_record)
{
	uint8_t a[100], b[1], c[300], all[401];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };

	fill_pattern(all, sizeof(all), 3);
	memcpy(a, all, 100);
	memcpy(b, all + 100, 1);
	memcpy(c, all + 101, 300);
	ASSERT_EQ(401, sendmsg(self->fd, &msg, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, all, sizeof(all));
	expect_nothing(_metadata, self->peer);
}

static ssize_t send_gso_cmsg(int fd, const void *buf, size_t len, uint16_t seg)
{
	return send_gso_to(fd, buf, len, seg, NULL, 0, 0);
}

/* The records of one UDP_SEGMENT send of @len bytes, @seg per record. */
static void peer_expect_batch(struct __test_metadata *_metadata, dtls_t *self,
			      const uint8_t *pt, size_t len, size_t seg)
{
	for (size_t off = 0; off < len; off += seg)
		peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt + off,
			    len - off < seg ? len - off : seg);
}

/*
 * Plaintext in three kinds of memory: private, shared, and a read-only
 * mapping of the shared pages.
 */
struct tx_maps {
	uint8_t *priv, *shared, *ro;
	size_t size;
	int mfd;
};

static void tx_maps_open(struct __test_metadata *_metadata, struct tx_maps *m,
			 size_t size)
{
	m->size = size;
	m->priv = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m->priv);
	m->mfd = memfd_create("dtls-tx", 0);
	ASSERT_LE(0, m->mfd);
	ASSERT_EQ(0, ftruncate(m->mfd, size));
	m->shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 m->mfd, 0);
	ASSERT_NE(MAP_FAILED, m->shared);
	m->ro = mmap(NULL, size, PROT_READ, MAP_SHARED, m->mfd, 0);
	ASSERT_NE(MAP_FAILED, m->ro);
}

static void tx_maps_close(struct tx_maps *m)
{
	munmap(m->ro, m->size);
	munmap(m->shared, m->size);
	munmap(m->priv, m->size);
	close(m->mfd);
}

/*
 * The AEAD reads the plaintext from the caller's pages.  A record over
 * five pages at an odd offset, in private, shared and read-only memory,
 * must come out as libcrypto builds it.
 */
TEST_F(dtls, tx_plaintext_across_pages)
{
	size_t pg = sysconf(_SC_PAGESIZE), len = DTLS_MAX_PLAINTEXT;
	size_t off = pg - 7;
	struct tx_maps m;
	uint8_t *priv, *shared, *ro;

	tx_maps_open(_metadata, &m, 6 * pg);
	priv = m.priv;
	shared = m.shared;
	ro = m.ro;

	fill_pattern(priv + off, len, 11);
	fill_pattern(shared + off, len, 12);
	ASSERT_EQ((ssize_t)len, send(self->fd, priv + off, len, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, priv + off, len);
	ASSERT_EQ((ssize_t)len, send(self->fd, shared + off, len, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, shared + off, len);
	ASSERT_EQ((ssize_t)len, send(self->fd, ro + off, len, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, shared + off, len);
	/* the pages are read, never written */
	fill_pattern(priv + off, len, 12);
	ASSERT_EQ(0, memcmp(priv + off, shared + off, len));
	tx_maps_close(&m);
}

/*
 * A UDP_SEGMENT batch in one buffer has its pages taken once for the whole
 * send: its records, at every offset over 17 pages (as many as a batch can
 * span), in private, shared and read-only memory, must each come out as
 * libcrypto builds it.
 */
TEST_F(dtls, tx_gso_batch_across_pages)
{
	enum { LEN = 63000 };
	static const uint16_t segs[] = { 1400, 1000 };
	size_t pg = sysconf(_SC_PAGESIZE), off = pg - 7;
	struct tx_maps m;
	uint8_t *priv, *shared, *ro;

	set_rcvbuf(self->peer, 4 << 20);
	tx_maps_open(_metadata, &m, (LEN / pg + 2) * pg);
	priv = m.priv;
	shared = m.shared;
	ro = m.ro;
	fill_pattern(priv + off, LEN, 31);
	fill_pattern(shared + off, LEN, 32);

	for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
		ASSERT_EQ(LEN, send_gso_cmsg(self->fd, priv + off, LEN, segs[k]))
			TH_LOG("UDP_SEGMENT %u: %s", segs[k], strerror(errno));
		peer_expect_batch(_metadata, self, priv + off, LEN, segs[k]);
		ASSERT_EQ(LEN, send_gso_cmsg(self->fd, shared + off, LEN, segs[k]));
		peer_expect_batch(_metadata, self, shared + off, LEN, segs[k]);
		ASSERT_EQ(LEN, send_gso_cmsg(self->fd, ro + off, LEN, segs[k]));
		peer_expect_batch(_metadata, self, shared + off, LEN, segs[k]);
	}
	expect_nothing(_metadata, self->peer);
	tx_maps_close(&m);
}

/* @n pieces of @piece bytes, each on its own page, at varying offsets */
static void scatter_iov(uint8_t *map, size_t pg, struct iovec *iov, int n,
			size_t piece, const uint8_t *src)
{
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = map + i * pg + (i * 13) % (pg - piece);
		iov[i].iov_len = piece;
		memcpy(iov[i].iov_base, src + i * piece, piece);
	}
}

/*
 * A buffer in several pieces is copied, not pinned, one record or a GSO
 * batch, with records that start and end inside a piece or at its edge:
 * every record must still be the reference one.
 */
TEST_F(dtls, tx_iovec_in_many_pages)
{
	enum { N = 20, PIECE = 50 };
	size_t pg = sysconf(_SC_PAGESIZE);
	static const uint16_t segs[] = { 300, 450, 1000 };
	uint8_t all[N * PIECE], *map;
	struct iovec iov[N];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = N };

	map = mmap(NULL, N * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill_pattern(all, sizeof(all), 21);
	scatter_iov(map, pg, iov, N, PIECE, all);

	/* one record over 20 pages */
	ASSERT_EQ((ssize_t)sizeof(all), sendmsg(self->fd, &msg, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, all, sizeof(all));
	/* records of 6 pieces, of 9 (one ends inside a piece), one of 20 */
	for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
		int val = segs[k];

		ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT,
					&val, sizeof(val)));
		ASSERT_EQ((ssize_t)sizeof(all), sendmsg(self->fd, &msg, 0))
			TH_LOG("UDP_SEGMENT %d: %s", val, strerror(errno));
		peer_expect_batch(_metadata, self, all, sizeof(all), val);
	}
	expect_nothing(_metadata, self->peer);
	munmap(map, N * pg);
}

/*
 * A plaintext the kernel cannot read fails the send with EFAULT before
 * anything is sent or a record number is spent, one record or a batch.
 */
TEST_F(dtls, tx_bad_buffer_efault)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	long long txr = dstat("DtlsTxRecords");
	uint8_t *map;
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 'a', pg);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));

	/* a good piece, then one in the inaccessible page */
	iov[0] = (struct iovec){ map + pg - 100, 100 };
	iov[1] = (struct iovec){ map + pg, 50 };
	ASSERT_EQ(-1, sendmsg(self->fd, &msg, 0));
	ASSERT_EQ(EFAULT, errno);
	/* a batch whose second record runs into that page */
	ASSERT_EQ(-1, send_gso_cmsg(self->fd, map + pg - 300, 400, 200));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, send(self->fd, (void *)8, 10, 0));
	ASSERT_EQ(EFAULT, errno);
	expect_nothing(_metadata, self->peer);
	ASSERT_EQ(txr, dstat("DtlsTxRecords"));

	/* no number was spent */
	ASSERT_EQ(100, send(self->fd, map + pg - 100, 100, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, map + pg - 100, 100);
	munmap(map, 2 * pg);
}

TEST_F(dtls, tx_too_big_emsgsize)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT + 100];
	long long txr = dstat("DtlsTxRecords"), txe = dstat("DtlsTxError");

	ASSERT_EQ(-1, send(self->fd, pt, DTLS_MAX_PLAINTEXT + 1, 0));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(-1, send(self->fd, pt, sizeof(pt), 0));
	ASSERT_EQ(EMSGSIZE, errno);
	expect_nothing(_metadata, self->peer);
	ASSERT_EQ(txr, dstat("DtlsTxRecords"));
	expect_tx_continues(_metadata, self, txe);
	ASSERT_EQ(DTLS_MAX_PLAINTEXT, send(self->fd, pt, DTLS_MAX_PLAINTEXT, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, DTLS_MAX_PLAINTEXT);
}

TEST_F(dtls, rx_all_sizes)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT];

	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i];

		fill_pattern(pt, len, i + 100);
		peer_send_next(_metadata, self, pt, len);
		expect_recv(_metadata, self->fd, pt, len);
	}
	expect_nothing(_metadata, self->fd);
}

TEST_F(dtls, rx_kernel_explicit_nonce_style)
{
	/* epoch||seq explicit nonces (GnuTLS, the kernel itself) work as well */
	uint8_t rec[256];
	size_t rl;

	for (int i = 0; i < 5; i++) {
		rl = ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++,
			      NULL, "gnutls", 6, rec);
		ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
		expect_recv(_metadata, self->fd, "gnutls", 6);
	}
}

TEST_F(dtls, rx_multi_record_datagram)
{
	static uint8_t dg[3 * 2000];
	uint8_t p[3][600];
	size_t lens[3] = { 17, 0, 555 }, off = 0;

	for (int i = 0; i < 3; i++) {
		fill_pattern(p[i], lens[i], 40 + i);
		off += ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, p[i], lens[i],
				    dg + off);
	}
	ASSERT_EQ((ssize_t)off, send(self->peer, dg, off, 0));
	/* an asynchronous AEAD (async_crypto=1) delivers after send() returns */
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	for (int i = 0; i < 3; i++) {
		struct dtls_record_info info;
		uint8_t buf[1000];
		int got;

		ASSERT_EQ((ssize_t)lens[i], recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT,
						      &info, &got, NULL)) TH_LOG("record %d", i);
		ASSERT_EQ(0, memcmp(buf, p[i], lens[i]));
		ASSERT_EQ(1, got);
		ASSERT_EQ(REC_NUM(EPOCH, 1 + i), info.rec_num);
	}
	expect_nothing(_metadata, self->fd);
}

TEST_F(dtls, rx_multi_record_datagram_one_bad)
{
	/* each record of a datagram is checked on its own */
	uint8_t dg[1000];
	size_t off = 0, l1;
	long long de = dstat("DtlsRxDecryptError");

	off += ref_seal_rnd(&self->k_rx, 23, EPOCH, 1, "first", 5, dg + off);
	l1 = ref_seal_rnd(&self->k_rx, 23, EPOCH, 2, "second", 6, dg + off);
	dg[off + l1 - 1] ^= 0x01;
	off += l1;
	off += ref_seal_rnd(&self->k_rx, 23, EPOCH, 3, "third", 5, dg + off);
	self->peer_seq = 4;
	ASSERT_EQ((ssize_t)off, send(self->peer, dg, off, 0));
	expect_recv(_metadata, self->fd, "first", 5);
	expect_recv(_metadata, self->fd, "third", 5);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(de + 1, dstat("DtlsRxDecryptError"));
}

/* ---------------------------------------------------------------------- */
/* Invalid input                                                           */

TEST_F(dtls, rx_bad_tag)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "forged", 6, rec);

	rec[rl - 1] ^= 0x80;
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

TEST_F(dtls, rx_bad_ciphertext_bit)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "forged!", 7, rec);

	rec[DTLS_HDR_LEN + self->c->xnonce_len + 2] ^= 0x04;
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

TEST_F(dtls, rx_bad_aad_seq)
{
	/* sequence number in the header is authenticated (AAD) */
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "aad", 3, rec);

	rec[10] ^= 0x10;	/* seq +/- 16, still inside the window */
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

TEST_F(dtls, rx_bad_aad_type)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "type", 4, rec);

	rec[0] = 22;	/* handshake header over an application data record */
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

TEST_F(dtls, rx_wrong_key)
{
	uint8_t rec[256];
	struct dkey other;
	size_t rl;

	dkey_derive(&other, self->c, "someone-else");
	rl = ref_seal_rnd(&other, 23, EPOCH, self->peer_seq++, "wrongkey", 8, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

TEST_F(dtls, rx_truncated_header)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "short", 5, rec);

	(void)rl;
	expect_dropped(_metadata, self, rec, DTLS_HDR_LEN - 1, "DtlsRxMalformed");
}

TEST_F(dtls, rx_one_byte_datagram)
{
	expect_dropped(_metadata, self, "\x17", 1, "DtlsRxMalformed");
}

TEST_F(dtls, rx_length_past_datagram)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "past", 4, rec);

	put_be(rec + 11, get_be(rec + 11, 2) + 1, 2);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

TEST_F(dtls, rx_datagram_cut_short)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "cutcut", 6, rec);

	expect_dropped(_metadata, self, rec, rl - 3, "DtlsRxMalformed");
}

TEST_F(dtls, rx_length_too_short_for_nonce_and_tag)
{
	uint8_t rec[256];
	size_t min = self->c->xnonce_len + self->c->tag_len;

	RAND_bytes(rec, sizeof(rec));
	put_hdr(rec, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++, min - 1);
	expect_dropped(_metadata, self, rec, DTLS_HDR_LEN + min - 1, "DtlsRxMalformed");
}

TEST_F(dtls, rx_empty_body)
{
	uint8_t rec[DTLS_HDR_LEN];

	put_hdr(rec, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++, 0);
	expect_dropped(_metadata, self, rec, sizeof(rec), "DtlsRxMalformed");
}

TEST_F(dtls, rx_plaintext_over_2_14)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT + 1], rec[MAXREC];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, pt, sizeof(pt), rec);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

TEST_F(dtls, rx_unknown_content_type)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 24, EPOCH, self->peer_seq++, "hb", 2, rec);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

static void bad_version(struct __test_metadata *_metadata, dtls_t *self, uint16_t version)
{
	uint8_t rec[256], ex[8];
	size_t rl;

	RAND_bytes(ex, 8);
	/* authentic under that version: only the version is wrong */
	rl = ref_seal(&self->k_rx, 23, version, EPOCH, self->peer_seq++, ex, "ver", 3, rec);
	ASSERT_NE(0, rl);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxBadVersion");
}

TEST_F(dtls, rx_bad_version_dtls10_protected)
{
	bad_version(_metadata, self, 0xfeff);
}

TEST_F(dtls, rx_bad_version_tls12)
{
	bad_version(_metadata, self, 0x0303);
}

TEST_F(dtls, rx_bad_version_dtls13_legacy)
{
	bad_version(_metadata, self, 0xfefc);
}

TEST_F(dtls, rx_unknown_epoch_next)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH + 1, self->peer_seq++, "e2", 2, rec);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxUnknownEpoch");
}

TEST_F(dtls, rx_unknown_epoch_far)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, 0xffff, self->peer_seq++, "eff", 3, rec);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxUnknownEpoch");
}

TEST_F(dtls, rx_replay_same_record)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "once", 4, rec);

	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	expect_recv(_metadata, self->fd, "once", 4);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
}

TEST_F(dtls, rx_replay_same_datagram_twice)
{
	/* the same record twice in one datagram: the second is a replay */
	uint8_t dg[512];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "twice", 5, dg);
	long long rp = dstat("DtlsRxReplay");

	memcpy(dg + rl, dg, rl);
	ASSERT_EQ((ssize_t)(2 * rl), send(self->peer, dg, 2 * rl, 0));
	expect_recv(_metadata, self->fd, "twice", 5);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(rp + 1, dstat("DtlsRxReplay"));
}

TEST_F(dtls, rx_replay_new_explicit_nonce)
{
	/* a replay is the record number, whatever the explicit nonce */
	peer_send(_metadata, self, 23, 5, "five", 4);
	expect_recv(_metadata, self->fd, "five", 4);
	{
		uint8_t rec[256];
		size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 5, "five", 4, rec);

		self->peer_seq = 6;
		expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	}
}

TEST_F(dtls, rx_older_than_window)
{
	uint8_t rec[256];
	size_t rl;

	peer_send(_metadata, self, 23, 5000, "far", 3);
	expect_recv(_metadata, self->fd, "far", 3);
	self->peer_seq = 5001;
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 10, "old", 3, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
}

TEST_F(dtls, rx_replay_checked_before_decrypt)
{
	/* a forged copy of an accepted record number counts as a replay */
	uint8_t rec[256];
	size_t rl;

	peer_send(_metadata, self, 23, 3, "three", 5);
	expect_recv(_metadata, self->fd, "three", 5);
	self->peer_seq = 4;
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 3, "THREE", 5, rec);
	rec[rl - 1] ^= 1;
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
}

TEST_F(dtls, rx_forgery_does_not_advance_window)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 100000, "forged", 6, rec);

	rec[rl - 1] ^= 1;
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
	/* expect_dropped() just got seq 1 through; seq 2 is far older than
	 * 100000 - window and must be accepted as well */
	peer_send(_metadata, self, 23, 2, "genuine", 7);
	expect_recv(_metadata, self->fd, "genuine", 7);
	/* and 100000 itself, sent genuinely, too */
	peer_send(_metadata, self, 23, 100000, "later", 5);
	expect_recv(_metadata, self->fd, "later", 5);
}

TEST_F(dtls, rx_raw_garbage)
{
	uint8_t junk[300];

	RAND_bytes(junk, sizeof(junk));
	put_hdr(junk, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++, sizeof(junk) - 13);
	expect_dropped(_metadata, self, junk, sizeof(junk), "DtlsRxDecryptError");
}

/* ---------------------------------------------------------------------- */
/* Replay window                                                           */

TEST_F(dtls, rx_reordered_in_window)
{
	static const uint64_t order[] = { 10, 5, 8, 1, 9, 2, 1000, 3, 7, 6, 4, 11 };
	char txt[32];

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(txt, sizeof(txt), "rec-%llu", (unsigned long long)order[i]);
		peer_send(_metadata, self, 23, order[i], txt, strlen(txt));
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct dtls_record_info info;
		char buf[64];
		int got;
		ssize_t n;

		snprintf(txt, sizeof(txt), "rec-%llu", (unsigned long long)order[i]);
		ASSERT_EQ(1, wait_readable(self->fd, 2000));
		n = recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL);
		ASSERT_EQ((ssize_t)strlen(txt), n);
		ASSERT_EQ(0, memcmp(buf, txt, n));
		ASSERT_EQ(REC_NUM(EPOCH, order[i]), info.rec_num);
	}
	/* every one of them again: all duplicates */
	{
		long long rp = dstat("DtlsRxReplay");

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			peer_send(_metadata, self, 23, order[i], "dup", 3);
		EXPECT_EQ(rp + (long long)(sizeof(order) / sizeof(order[0])),
			  dstat_wait("DtlsRxReplay", rp + 12, 1000));
		expect_nothing(_metadata, self->fd);
	}
}

static void window_edge(struct __test_metadata *_metadata, dtls_t *self, uint32_t w)
{
	uint64_t top = w + 5000;
	uint8_t rec[256];
	size_t rl;

	peer_send(_metadata, self, 23, top, "top", 3);
	expect_recv(_metadata, self->fd, "top", 3);
	self->peer_seq = top + 1;
	/* the oldest record inside the window is accepted */
	peer_send(_metadata, self, 23, top - w + 1, "inside", 6);
	expect_recv(_metadata, self->fd, "inside", 6);
	/* exactly one window behind is not */
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, top - w, "behind", 6, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	/* moving the window on drops the now-old records */
	peer_send(_metadata, self, 23, top + w, "newtop", 6);
	expect_recv(_metadata, self->fd, "newtop", 6);
	self->peer_seq = top + w + 1;
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, top, "top", 3, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	/* expect_dropped()'s probe went out as top + w + 1: the window is now
	 * top + 2 .. top + w + 1 */
	peer_send(_metadata, self, 23, top + 2, "justin", 6);
	expect_recv(_metadata, self->fd, "justin", 6);
}

TEST_F(dtls, rx_window_edge_default_1024)
{
	window_edge(_metadata, self, 1024);
}

static void window_socket(struct __test_metadata *_metadata, dtls_t *self, uint32_t w)
{
	int fd, peer;

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	close(self->fd);
	close(self->peer);
	self->fd = fd;
	self->peer = peer;
}

TEST_F(dtls, rx_window_edge_64)
{
	window_socket(_metadata, self, 64);
	window_edge(_metadata, self, 64);
}

TEST_F(dtls, rx_window_edge_65536)
{
	window_socket(_metadata, self, 65536);
	window_edge(_metadata, self, 65536);
}

TEST_F(dtls, replay_window_sockopt)
{
	int fd, peer;
	uint32_t w;
	socklen_t len = sizeof(w);
	uint64_t big = 1024;
	struct cinfo ci;
	socklen_t cl = sizeof(ci.b);

	/* default, read back on a DTLS socket */
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(sizeof(w), len);
	ASSERT_EQ(1024, w);
	/* after DTLS_RX: EBUSY */
	w = 2048;
	ASSERT_EQ(-1, setsockopt(self->fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EBUSY, errno);

	fresh_pair(_metadata, self, &fd, &peer);
	w = 63;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EINVAL, errno);
	w = 65537;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EINVAL, errno);
	w = 0;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EINVAL, errno);
	w = 0xffffffff;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EINVAL, errno);
	/* wrong optlen */
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &big, 2));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &big, 0));
	ASSERT_EQ(EINVAL, errno);
	/* accepted bounds */
	w = 64;
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	w = 0;
	len = sizeof(w);
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(64, w);
	w = 65536;
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	w = 0;
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(65536, w);
	w = 1000;
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	w = 0;
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(1000, w);
	/* a rejected value leaves the previous one */
	w = 63;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	w = 0;
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(1000, w);
	/* window only: no direction installed yet */
	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, &cl));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	w = 64;
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, sizeof(w)));
	ASSERT_EQ(EBUSY, errno);
	w = 0;
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &w, &len));
	ASSERT_EQ(1000, w);
	close(fd);
	close(peer);
}

TEST_F(dtls, rx_initial_rec_seq)
{
	/* DTLS_RX rec_seq N: every lower sequence number counts as received */
	int fd, peer;
	uint8_t rec[256];
	size_t rl;

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 3000)));
	close(self->fd);
	close(self->peer);
	self->fd = fd;
	self->peer = peer;
	self->peer_seq = 3000;
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 2999, "x", 1, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 2500, "x", 1, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 1, "x", 1, rec);
	expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	/* expect_dropped delivered 3000..3002; 3005 then 3003 */
	peer_send(_metadata, self, 23, 3005, "3005", 4);
	peer_send(_metadata, self, 23, 3003, "3003", 4);
	expect_recv(_metadata, fd, "3005", 4);
	expect_recv(_metadata, fd, "3003", 4);
}

TEST_F(dtls, rx_epoch_from_rec_seq)
{
	int fd, peer;
	uint8_t rec[256];
	size_t rl;

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(5, 0)));
	close(self->fd);
	close(self->peer);
	self->fd = fd;
	self->peer = peer;
	rl = ref_seal_rnd(&self->k_rx, 23, 5, 0, "epoch5", 6, rec);
	ASSERT_EQ((ssize_t)rl, send(peer, rec, rl, 0));
	expect_recv(_metadata, fd, "epoch5", 6);
	/* EPOCH (1) is now an unknown epoch on this socket */
	rl = ref_seal_rnd(&self->k_rx, 23, 1, 1, "epoch1", 6, rec);
	{
		long long ue = dstat("DtlsRxUnknownEpoch");

		ASSERT_EQ((ssize_t)rl, send(peer, rec, rl, 0));
		ASSERT_EQ(ue + 1, dstat_wait("DtlsRxUnknownEpoch", ue + 1, 1000));
		expect_nothing(_metadata, fd);
	}
	rl = ref_seal_rnd(&self->k_rx, 23, 5, 1, "again5", 6, rec);
	ASSERT_EQ((ssize_t)rl, send(peer, rec, rl, 0));
	expect_recv(_metadata, fd, "again5", 6);
}

/* ---------------------------------------------------------------------- */
/* Control records                                                         */

static void rx_control(struct __test_metadata *_metadata, dtls_t *self, uint8_t type,
		       const void *pt, size_t len)
{
	struct dtls_record_info info;
	uint8_t buf[256];
	uint64_t seq = self->peer_seq;
	int got;
	static const uint8_t zero[6];

	peer_send(_metadata, self, type, self->peer_seq++, pt, len);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ((ssize_t)len, recv_info(self->fd, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(1, got) TH_LOG("DTLS_GET_RECORD_TYPE must be the first cmsg");
	ASSERT_EQ(0, memcmp(buf, pt, len));
	ASSERT_EQ(type, info.content_type);
	ASSERT_EQ(DTLS_RECORD_F_PROTECTED, info.flags);
	ASSERT_EQ(REC_NUM(EPOCH, seq), info.rec_num);
	ASSERT_EQ(0, memcmp(info.reserved, zero, 6));
}

TEST_F(dtls, rx_alert_cmsg)
{
	rx_control(_metadata, self, 21, "\x02\x28", 2);
}

TEST_F(dtls, rx_handshake_cmsg)
{
	uint8_t hs[100];

	fill_pattern(hs, sizeof(hs), 22);
	rx_control(_metadata, self, 22, hs, sizeof(hs));
}

TEST_F(dtls, rx_ccs_cmsg)
{
	rx_control(_metadata, self, 20, "\x01", 1);
}

TEST_F(dtls, rx_appdata_cmsg)
{
	rx_control(_metadata, self, 23, "application", 11);
}

TEST_F(dtls, rx_control_without_cmsg_eio)
{
	struct dtls_record_info info;
	char buf[64];
	int got;

	peer_send(_metadata, self, 21, self->peer_seq++, "\x01\x00", 2);	/* close_notify */
	peer_send_next(_metadata, self, "after", 5);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EIO, errno);
	/* not lost: it is still the next record */
	ASSERT_EQ(2, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(1, got);
	ASSERT_EQ(21, info.content_type);
	ASSERT_EQ(REC_NUM(EPOCH, 1), info.rec_num);
	ASSERT_EQ(0, memcmp(buf, "\x01\x00", 2));
	/* application data behind it, readable without a control buffer */
	expect_recv(_metadata, self->fd, "after", 5);
}

TEST_F(dtls, rx_control_cmsg_buffer_too_small)
{
	char buf[64], cbuf[CMSG_SPACE(1)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct dtls_record_info info;
	int got;

	peer_send(_metadata, self, 22, self->peer_seq++, "hello", 5);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(-1, recvmsg(self->fd, &msg, MSG_DONTWAIT));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(5, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(22, info.content_type);
}

TEST_F(dtls, rx_control_peek_eio_then_read)
{
	struct dtls_record_info info;
	char buf[64];
	int got;

	peer_send(_metadata, self, 21, self->peer_seq++, "\x02\x14", 2);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(2, recv_info(self->fd, buf, sizeof(buf), MSG_PEEK, &info, &got, NULL));
	ASSERT_EQ(21, info.content_type);
	ASSERT_EQ(2, recv_info(self->fd, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(21, info.content_type);
	expect_nothing(_metadata, self->fd);
}

static void rx_plain(struct __test_metadata *_metadata, dtls_t *self, uint8_t type,
		     uint16_t version, uint64_t seq)
{
	struct dtls_record_info info;
	uint8_t rec[256], buf[256], hs[60];
	long long rx = dstat_settled("DtlsRxRecords", 1000);
	long long pt = dstat("DtlsRxPlaintext");
	size_t rl;
	int got;

	fill_pattern(hs, sizeof(hs), type);
	rl = plain_record(rec, type, version, 0, seq, hs, sizeof(hs));
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ((ssize_t)sizeof(hs), recv_info(self->fd, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(1, got);
	ASSERT_EQ(0, memcmp(buf, hs, sizeof(hs)));
	ASSERT_EQ(type, info.content_type);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(REC_NUM(0, seq), info.rec_num);
	ASSERT_EQ(pt + 1, dstat("DtlsRxPlaintext"));
	ASSERT_EQ(rx, dstat("DtlsRxRecords"));
}

TEST_F(dtls, rx_plaintext_epoch0_handshake)
{
	rx_plain(_metadata, self, 22, DTLS_1_2_VERSION, 5);
}

TEST_F(dtls, rx_plaintext_epoch0_handshake_dtls10_version)
{
	rx_plain(_metadata, self, 22, 0xfeff, 0);
}

TEST_F(dtls, rx_plaintext_epoch0_alert_and_ccs)
{
	rx_plain(_metadata, self, 21, DTLS_1_2_VERSION, 9);
	rx_plain(_metadata, self, 20, DTLS_1_2_VERSION, 10);
}

TEST_F(dtls, rx_plaintext_epoch0_appdata_dropped)
{
	uint8_t rec[64];
	size_t rl = plain_record(rec, 23, DTLS_1_2_VERSION, 0, 3, "clear", 5);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

TEST_F(dtls, rx_plaintext_epoch0_unknown_type_dropped)
{
	uint8_t rec[64];
	size_t rl = plain_record(rec, 25, DTLS_1_2_VERSION, 0, 3, "clear", 5);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

TEST_F(dtls, rx_plaintext_epoch0_over_2_14_dropped)
{
	static uint8_t rec[DTLS_MAX_PLAINTEXT + 64], pt[DTLS_MAX_PLAINTEXT + 1];
	size_t rl = plain_record(rec, 22, DTLS_1_2_VERSION, 0, 4, pt, sizeof(pt));

	expect_dropped(_metadata, self, rec, rl, "DtlsRxMalformed");
}

TEST_F(dtls, rx_plaintext_epoch0_bad_version)
{
	uint8_t rec[64];
	size_t rl = plain_record(rec, 22, 0x0303, 0, 3, "tls", 3);

	expect_dropped(_metadata, self, rec, rl, "DtlsRxBadVersion");
}

TEST_F(dtls, rx_mixed_plain_and_protected_datagram)
{
	/* a retransmitted flight: plaintext handshake + protected record in one datagram */
	uint8_t dg[512];
	struct dtls_record_info info;
	char buf[128];
	size_t off;
	int got;

	off = plain_record(dg, 22, DTLS_1_2_VERSION, 0, 4, "finished?", 9);
	off += ref_seal_rnd(&self->k_rx, 22, EPOCH, self->peer_seq++, "Finished", 8, dg + off);
	ASSERT_EQ((ssize_t)off, send(self->peer, dg, off, 0));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(9, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(REC_NUM(0, 4), info.rec_num);
	ASSERT_EQ(8, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(DTLS_RECORD_F_PROTECTED, info.flags);
	ASSERT_EQ(22, info.content_type);
	ASSERT_EQ(REC_NUM(EPOCH, 1), info.rec_num);
}

static void tx_type(struct __test_metadata *_metadata, dtls_t *self, uint8_t type,
		    const void *pt, size_t len)
{
	ASSERT_EQ((ssize_t)len, send_rec_type(self->fd, type, pt, len));
	peer_expect(_metadata, self, type, EPOCH, self->tx_seq++, pt, len);
}

TEST_F(dtls, tx_record_type_cmsg_alert)
{
	tx_type(_metadata, self, 21, "\x02\x28", 2);
	/* the type applies to that one send only */
	ASSERT_EQ(4, send(self->fd, "data", 4, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "data", 4);
}

TEST_F(dtls, tx_record_type_cmsg_all_types)
{
	uint8_t hs[300];

	fill_pattern(hs, sizeof(hs), 1);
	tx_type(_metadata, self, 20, "\x01", 1);
	tx_type(_metadata, self, 22, hs, sizeof(hs));
	tx_type(_metadata, self, 23, "app", 3);
	tx_type(_metadata, self, 22, "", 0);
}

TEST_F(dtls, tx_bad_record_type_cmsg)
{
	static const uint8_t bad[] = { 0, 19, 24, 25, 255 };
	long long txe = dstat("DtlsTxError");
	uint32_t t32 = 21;
	uint16_t t16 = 21;

	for (size_t i = 0; i < sizeof(bad); i++) {
		ASSERT_EQ(-1, send_rec_type(self->fd, bad[i], "x", 1));
		ASSERT_EQ(EINVAL, errno) TH_LOG("type %u", bad[i]);
	}
	ASSERT_EQ(-1, send_with_type(self->fd, SOL_DTLS, DTLS_SET_RECORD_TYPE, &t32, 4, "x", 1, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, send_with_type(self->fd, SOL_DTLS, DTLS_SET_RECORD_TYPE, &t16, 2, "x", 1, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, send_with_type(self->fd, SOL_DTLS, DTLS_SET_RECORD_TYPE, &t16, 0, "x", 1, 0));
	ASSERT_EQ(EINVAL, errno);
	expect_nothing(_metadata, self->peer);
	expect_tx_continues(_metadata, self, txe);
}

TEST_F(dtls, tx_ip_cmsg_with_record_type)
{
	/* IP-level cmsgs keep working next to the DTLS one */
	char cbuf[CMSG_SPACE(1) + CMSG_SPACE(sizeof(int))], rcbuf[256];
	struct iovec iov = { (void *)"\x01\x00", 2 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	uint8_t got[256], want[256], out[64];
	int one = 1, tos = 0x28, seen = -1;
	size_t wl, ol;
	struct rec_hdr h;
	ssize_t n;

	if (sk_family(peer_kind(self->kind)) == AF_INET) {
		ASSERT_EQ(0, setsockopt(self->peer, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)));
	} else {
		ASSERT_EQ(0, setsockopt(self->peer, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)));
	}
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_DTLS;
	cm->cmsg_type = DTLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(cm) = 21;
	cm = CMSG_NXTHDR(&msg, cm);
	if (self->kind == SK_IPV6) {
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_TCLASS;
	} else {
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_TOS;
	}
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &tos, sizeof(int));
	ASSERT_EQ(2, sendmsg(self->fd, &msg, 0));

	iov.iov_base = got;
	iov.iov_len = sizeof(got);
	msg.msg_control = rcbuf;
	msg.msg_controllen = sizeof(rcbuf);
	ASSERT_EQ(1, wait_readable(self->peer, 2000));
	n = recvmsg(self->peer, &msg, MSG_DONTWAIT);
	wl = ref_seal(&self->k_tx, 21, DTLS_1_2_VERSION, EPOCH, self->tx_seq, NULL, "\x01\x00", 2,
		      want);
	ASSERT_EQ((ssize_t)wl, n);
	ASSERT_EQ(0, memcmp(want, got, wl));
	ASSERT_EQ(n, ref_open(&self->k_tx, got, n, &h, out, &ol));
	ASSERT_EQ(21, h.type);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
			seen = *CMSG_DATA(cm);
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS)
			memcpy(&seen, CMSG_DATA(cm), sizeof(int));
	}
	ASSERT_EQ(tos, seen);
}

/* ---------------------------------------------------------------------- */
/* setsockopt / getsockopt                                                 */

TEST_F(dtls, sockopt_bad_optlen)
{
	int fd, peer;
	struct cinfo ci;

	cinfo_build(&ci, &self->k_tx, REC_NUM(EPOCH, 1));
	const socklen_t lens[] = { 0, 1, 3, 4, ci.len - 1, ci.len + 1, sizeof(ci.b) };

	fresh_pair(_metadata, self, &fd, &peer);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		socklen_t l = lens[i];

		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, l)) TH_LOG("optlen %u", l);
		ASSERT_EQ(EINVAL, errno) TH_LOG("optlen %u", l);
		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX, ci.b, l));
		ASSERT_EQ(EINVAL, errno);
	}
	/* still installable afterwards */
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
	close(fd);
	close(peer);
}

TEST_F(dtls, sockopt_bad_version)
{
	static const uint16_t versions[] = { 0, 0x0303, 0x0304, 0xfeff, 0xfefc, 0xfdfd };
	int fd, peer;
	struct cinfo ci;

	fresh_pair(_metadata, self, &fd, &peer);
	for (size_t i = 0; i < sizeof(versions) / 2; i++) {
		cinfo_build_v(&ci, &self->k_tx, REC_NUM(EPOCH, 1), versions[i], self->c->type);
		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
		ASSERT_EQ(EINVAL, errno) TH_LOG("version %04x", versions[i]);
		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX, ci.b, ci.len));
		ASSERT_EQ(EINVAL, errno);
	}
	close(fd);
	close(peer);
}

TEST_F(dtls, sockopt_bad_cipher)
{
	static const uint16_t types[] = { 0, 50, 55, 59, 61, 0xffff };
	int fd, peer;
	struct cinfo ci;

	fresh_pair(_metadata, self, &fd, &peer);
	for (size_t i = 0; i < sizeof(types) / 2; i++) {
		cinfo_build_v(&ci, &self->k_tx, REC_NUM(EPOCH, 1), DTLS_1_2_VERSION, types[i]);
		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
		ASSERT_EQ(EINVAL, errno) TH_LOG("cipher %u", types[i]);
		ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX, ci.b, ci.len));
		ASSERT_EQ(EINVAL, errno);
	}
	close(fd);
	close(peer);
}

TEST_F(dtls, sockopt_twice_ebusy)
{
	ASSERT_EQ(-1, dtls_install(self->fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, dtls_install(self->fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(EBUSY, errno);
	/* the original keys stay in force */
	ASSERT_EQ(2, send(self->fd, "ok", 2, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "ok", 2);
	peer_send_next(_metadata, self, "ok", 2);
	expect_recv(_metadata, self->fd, "ok", 2);
}

TEST_F(dtls, sockopt_unconnected_enotconn)
{
	int fd = socket(sk_family(self->kind), SOCK_DGRAM, 0), fd2 = udp_bound(self->kind);

	ASSERT_GE(fd, 0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(-1, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, dtls_install(fd2, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, dtls_install(fd2, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(ENOTCONN, errno);
	close(fd);
	close(fd2);
}

TEST_F(dtls, sockopt_unknown_optname)
{
	uint32_t v = 1024;
	socklen_t l = sizeof(v);

	ASSERT_EQ(-1, setsockopt(self->fd, SOL_DTLS, 99, &v, sizeof(v)));
	ASSERT_EQ(ENOPROTOOPT, errno);
	ASSERT_EQ(-1, getsockopt(self->fd, SOL_DTLS, 99, &v, &l));
	ASSERT_EQ(ENOPROTOOPT, errno);
}

TEST_F(dtls, sockopt_other_levels_pass_through)
{
	int v = 0, one = 1;
	socklen_t l = sizeof(v);

	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_PRIORITY, &one, sizeof(one)));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_PRIORITY, &v, &l));
	ASSERT_EQ(1, v);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_TYPE, &v, &l));
	ASSERT_EQ(SOCK_DGRAM, v);
}

TEST_F(dtls, getsockopt_tx_rec_seq)
{
	struct cinfo want, got;
	socklen_t len = sizeof(got.b);
	struct dtls_crypto_info hdr;

	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(1, send(self->fd, "n", 1, 0));
		peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "n", 1);
	}
	cinfo_build(&want, &self->k_tx, REC_NUM(EPOCH, 6));
	memset(&got, 0, sizeof(got));
	len = want.len;
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_TX, got.b, &len));
	ASSERT_EQ(want.len, len);
	ASSERT_EQ(REC_NUM(EPOCH, 6), cinfo_rec_num(&got, self->c));
	ASSERT_EQ(0, memcmp(want.b, got.b, want.len));
	/* header only */
	len = sizeof(hdr);
	memset(&hdr, 0, sizeof(hdr));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_TX, &hdr, &len));
	ASSERT_EQ(sizeof(hdr), len);
	ASSERT_EQ(DTLS_1_2_VERSION, hdr.version);
	ASSERT_EQ(self->c->type, hdr.cipher_type);
}

TEST_F(dtls, getsockopt_rx_rec_seq)
{
	struct cinfo want, got;
	socklen_t len = self->c->info_len;

	/* nothing received yet: the installed value */
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_RX, got.b, &len));
	ASSERT_EQ(REC_NUM(EPOCH, 1), cinfo_rec_num(&got, self->c));
	peer_send(_metadata, self, 23, 3, "3", 1);
	peer_send(_metadata, self, 23, 7, "7", 1);
	peer_send(_metadata, self, 23, 5, "5", 1);
	expect_recv(_metadata, self->fd, "3", 1);
	expect_recv(_metadata, self->fd, "7", 1);
	expect_recv(_metadata, self->fd, "5", 1);
	cinfo_build(&want, &self->k_rx, REC_NUM(EPOCH, 8));
	len = want.len;
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_RX, got.b, &len));
	ASSERT_EQ(want.len, len);
	ASSERT_EQ(REC_NUM(EPOCH, 8), cinfo_rec_num(&got, self->c));
	ASSERT_EQ(0, memcmp(want.b, got.b, want.len));
}

TEST_F(dtls, getsockopt_not_installed)
{
	int fd, peer;
	struct cinfo ci;
	socklen_t len = self->c->info_len;

	fresh_pair(_metadata, self, &fd, &peer);
	/* before any SOL_DTLS setsockopt: UDP's answer to an unknown level */
	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, &len));
	ASSERT_EQ(self->kind == SK_IPV4 ? EOPNOTSUPP : ENOPROTOOPT, errno);
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	len = self->c->info_len;
	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_RX, ci.b, &len));
	ASSERT_EQ(ENOTCONN, errno);
	close(fd);
	close(peer);

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	len = self->c->info_len;
	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, &len));
	ASSERT_EQ(ENOTCONN, errno);
	close(fd);
	close(peer);
}

TEST_F(dtls, connect_after_dtls_eisconn)
{
	struct sockaddr_storage ss;
	socklen_t l = sk_addr(peer_kind(self->kind), self->kind, sk_port(self->peer), &ss);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	ASSERT_EQ(-1, connect(self->fd, (void *)&ss, l));
	ASSERT_EQ(EISCONN, errno);
	ASSERT_EQ(-1, connect(self->fd, &unspec, sizeof(unspec)));
	ASSERT_EQ(EISCONN, errno);
	/* still connected and working */
	ASSERT_EQ(3, send(self->fd, "yes", 3, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "yes", 3);
	peer_send_next(_metadata, self, "yes", 3);
	expect_recv(_metadata, self->fd, "yes", 3);
}

TEST_F(dtls, sendto_with_address_eisconn)
{
	struct sockaddr_storage ss;
	socklen_t l = sk_addr(peer_kind(self->kind), self->kind, sk_port(self->peer), &ss);
	long long txe = dstat("DtlsTxError");
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr msg = { .msg_name = &ss, .msg_namelen = l, .msg_iov = &iov, .msg_iovlen = 1 };

	ASSERT_EQ(-1, sendto(self->fd, "x", 1, 0, (void *)&ss, l));
	ASSERT_EQ(EISCONN, errno);
	ASSERT_EQ(-1, sendmsg(self->fd, &msg, 0));
	ASSERT_EQ(EISCONN, errno);
	/* another destination too */
	sk_addr(peer_kind(self->kind), self->kind, 9, &ss);
	ASSERT_EQ(-1, sendto(self->fd, "x", 1, 0, (void *)&ss, l));
	ASSERT_EQ(EISCONN, errno);
	expect_nothing(_metadata, self->peer);
	expect_tx_continues(_metadata, self, txe);
}

/* recvfrom() gives the record's sender, as UDP gives a datagram's */
static void expect_recv_from_peer(struct __test_metadata *_metadata, dtls_t *self,
				  const char *pt)
{
	struct sockaddr_storage want, got;
	socklen_t wl = sk_addr(peer_kind(self->kind), self->kind, sk_port(self->peer), &want);
	socklen_t gl = sizeof(got);
	char buf[64];

	memset(&got, 0xa5, sizeof(got));
	peer_send_next(_metadata, self, pt, strlen(pt));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ((ssize_t)strlen(pt), recvfrom(self->fd, buf, sizeof(buf), MSG_DONTWAIT,
						(void *)&got, &gl));
	ASSERT_EQ(0, memcmp(buf, pt, strlen(pt)));
	ASSERT_EQ(wl, gl);
	ASSERT_EQ(0, memcmp(&want, &got, wl));
}

TEST_F(dtls, rx_source_address)
{
	int one = 1;

	expect_recv_from_peer(_metadata, self, "from the hook");
	/* the UDP_GRO reader delivers the address the same way */
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	expect_recv_from_peer(_metadata, self, "from the reader");
}

TEST_F(dtls, send_msg_more_eopnotsupp)
{
	long long txe = dstat("DtlsTxError");

	ASSERT_EQ(-1, send(self->fd, "more", 4, MSG_MORE));
	ASSERT_EQ(EOPNOTSUPP, errno);
	expect_nothing(_metadata, self->peer);
	expect_tx_continues(_metadata, self, txe);
}

static void udp_opt_refused(struct __test_metadata *_metadata, dtls_t *self, int opt, int val)
{
	ASSERT_EQ(-1, setsockopt(self->fd, IPPROTO_UDP, opt, &val, sizeof(val)));
	ASSERT_EQ(EOPNOTSUPP, errno);
	/* records are still one per datagram, intact */
	ASSERT_EQ(4, send(self->fd, "gone", 4, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "gone", 4);
}

TEST_F(dtls, udp_cork_eopnotsupp)
{
	udp_opt_refused(_metadata, self, UDP_CORK, 1);
}

/* UDP_SEGMENT counts plaintext: one send, several records, one per datagram */
TEST_F(dtls, tx_gso_sockopt_records_match_reference)
{
	static uint8_t pt[1000];
	long long txr = dstat("DtlsTxRecords");
	int val = 300, got = 0;
	socklen_t gl = sizeof(got);

	fill_pattern(pt, sizeof(pt), 1);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &val, sizeof(val)));
	ASSERT_EQ(0, getsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &got, &gl));
	ASSERT_EQ(300, got);
	ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
	peer_expect_batch(_metadata, self, pt, sizeof(pt), 300);
	ASSERT_EQ(txr + 4, dstat("DtlsTxRecords"));
	/* a send no longer than the segment is one record */
	ASSERT_EQ(300, send(self->fd, pt, 300, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, 300);
	val = 0;
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &val, sizeof(val)));
	ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, sizeof(pt));
}

/*
 * sendmsg() and sendmmsg() without a control message on a socket with the
 * UDP_SEGMENT option: the kernel leaves msg_control a user pointer then.
 */
TEST_F(dtls, tx_gso_sockopt_sendmsg_without_control)
{
	static uint8_t pt[1000];
	struct iovec iov = { pt, sizeof(pt) };
	struct mmsghdr mm[2] = {
		{ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } },
		{ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } },
	};
	int val = 400, round;

	fill_pattern(pt, sizeof(pt), 5);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &val, sizeof(val)));
	ASSERT_EQ((ssize_t)sizeof(pt), sendmsg(self->fd, &mm[0].msg_hdr, 0))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(2, sendmmsg(self->fd, mm, 2, 0)) TH_LOG("sendmmsg: %s", strerror(errno));
	for (round = 0; round < 3; round++)
		peer_expect_batch(_metadata, self, pt, sizeof(pt), 400);
	expect_nothing(_metadata, self->peer);
}

TEST_F(dtls, tx_gso_cmsg_per_call)
{
	static uint8_t pt[250];

	fill_pattern(pt, sizeof(pt), 2);
	ASSERT_EQ((ssize_t)sizeof(pt), send_gso_cmsg(self->fd, pt, sizeof(pt), 100));
	peer_expect_batch(_metadata, self, pt, sizeof(pt), 100);
	/* the next send without the cmsg is one record again */
	ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, pt, sizeof(pt));
}

/*
 * From 6.5 records are sealed in a page fragment that UDP references; a
 * batch larger than one fragment (32 KiB) is sealed in the socket's buffer
 * instead.  Both, one after the other, must give the reference records.
 */
TEST_F(dtls, tx_gso_batch_larger_than_a_page_fragment)
{
	static uint8_t pt[40 * 1200];
	int round;

	for (round = 0; round < 3; round++) {
		size_t len = round == 1 ? 4 * 1200 : sizeof(pt);

		fill_pattern(pt, len, 3 + round);
		ASSERT_EQ((ssize_t)len, send_gso_cmsg(self->fd, pt, len, 1200));
		peer_expect_batch(_metadata, self, pt, len, 1200);
	}
	ASSERT_EQ(1, send(self->fd, "x", 1, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "x", 1);
}

TEST_F(dtls, tx_gso_limits)
{
	static uint8_t pt[65536];
	long long txerr = dstat("DtlsTxError");
	int val;

	val = 16385;
	ASSERT_EQ(-1, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &val, sizeof(val)));
	ASSERT_EQ(EINVAL, errno);
	val = -1;
	ASSERT_EQ(-1, setsockopt(self->fd, IPPROTO_UDP, UDP_SEGMENT, &val, sizeof(val)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, send_gso_cmsg(self->fd, pt, 100, 16385));
	ASSERT_EQ(EINVAL, errno);
	/* more segments than UDP allows in one send */
	ASSERT_EQ(-1, send_gso_cmsg(self->fd, pt, 200, 1));
	ASSERT_EQ(EINVAL, errno);
	/* more than a UDP datagram can carry */
	ASSERT_EQ(-1, send_gso_cmsg(self->fd, pt, 65500, 16384));
	ASSERT_EQ(EMSGSIZE, errno);
	expect_nothing(_metadata, self->peer);
	expect_tx_continues(_metadata, self, txerr);
	ASSERT_EQ(4, send(self->fd, "next", 4, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "next", 4);
}

/* recv_cmsgs() once @fd is readable (2 s at most), with its UDP_GRO size */
static ssize_t recv_gro(int fd, void *buf, size_t len, int flags,
			struct dtls_record_info *info, int *seg)
{
	int got;

	if (wait_readable(fd, 2000) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return recv_cmsgs(fd, buf, len, flags | MSG_DONTWAIT, info, &got, NULL, seg);
}

/* Whether the module was loaded with async_crypto=1 (every AEAD async) */
static bool aead_async(void)
{
	char c = 'N';
	FILE *f = fopen("/sys/module/dtls/parameters/async_crypto", "r");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = 'N';
		fclose(f);
	}
	return c == 'Y';
}

/*
 * The next read under UDP_GRO, into a buffer of @cap bytes, must return
 * exactly @want, the plaintext of records @first and on, with a UDP_GRO
 * segment size of @seg (0: no UDP_GRO control message, one record).
 */
static void expect_gro(struct __test_metadata *_metadata, int fd, size_t cap,
		       const uint8_t *want, size_t len, int seg, uint64_t first)
{
	static uint8_t buf[65536];
	struct dtls_record_info info;
	int got;
	ssize_t n;

	ASSERT_LE(cap, sizeof(buf));
	n = recv_gro(fd, buf, cap, 0, &info, &got);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("recvmsg: %s", n < 0 ? strerror(errno) : "length");
	ASSERT_EQ(0, memcmp(buf, want, len));
	ASSERT_EQ(seg, got);
	ASSERT_EQ(23, info.content_type);
	ASSERT_EQ(REC_NUM(EPOCH, first), info.rec_num);
}

/*
 * UDP_GRO: a GSO batch from the peer reaches the socket whole (loopback
 * keeps it one skb, and with UDP_GRO the reader opens its records where
 * they lie).  A forged record in the middle is dropped and counted; the
 * others come out in one read, as UDP_GRO gives datagrams.  Records are
 * counted as the reader opens them.
 */
TEST_F(dtls, rx_gro_batch_read_whole)
{
	static uint8_t batch[8 * 200], pt[100], want[8 * 100];
	long long de = dstat("DtlsRxDecryptError");
	long long recs = dstat("DtlsRxRecords");
	uint64_t first = self->peer_seq;
	size_t off = 0, rl = 0, wl = 0;
	uint16_t seg;
	int one = 1, i;

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 8; i++) {
		fill_pattern(pt, sizeof(pt), i);
		rl = ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++,
			      NULL, pt, sizeof(pt), batch + off);
		ASSERT_NE(0, rl);
		if (i == 3) {
			batch[off + rl - 1] ^= 1;
		} else {
			memcpy(want + wl, pt, sizeof(pt));
			wl += sizeof(pt);
		}
		off += rl;
	}
	seg = rl;
	ASSERT_EQ((ssize_t)off, send_gso_cmsg(self->peer, batch, off, seg));
	expect_gro(_metadata, self->fd, 65536, want, wl, sizeof(pt), first);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(recs + 7, dstat("DtlsRxRecords"));
	ASSERT_EQ(de + 1, dstat("DtlsRxDecryptError"));
}

/*
 * UDP_GRO with a packet tap on lo: the batch's skb is a clone the reader
 * may not write, so it is cut into its datagrams and each is copied
 * before its record is opened.  The records come out as from a batch of
 * the reader's own (6.1 crashed in skb_warn_bad_offload() cutting it), and
 * the tap still sees the ciphertext as sent.
 */
TEST_F(dtls, rx_gro_batch_packet_tap)
{
	static uint8_t batch[6 * 200], pt[100], want[6 * 100], frame[65536];
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = if_nametoindex("lo"),
	};
	long long recs = dstat("DtlsRxRecords");
	uint64_t first = self->peer_seq;
	size_t off = 0, rl = 0, wl = 0;
	int one = 1, seen = 0, tap, i;
	ssize_t n;

	tap = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	ASSERT_LE(0, tap) TH_LOG("AF_PACKET: %s", strerror(errno));
	ASSERT_EQ(0, bind(tap, (struct sockaddr *)&sll, sizeof(sll)));
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 6; i++) {
		fill_pattern(pt, sizeof(pt), 40 + i);
		rl = ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++,
			      NULL, pt, sizeof(pt), batch + off);
		ASSERT_NE(0, rl);
		memcpy(want + wl, pt, sizeof(pt));
		wl += sizeof(pt);
		off += rl;
	}
	ASSERT_EQ((ssize_t)off, send_gso_cmsg(self->peer, batch, off, rl));
	if (!aead_async()) {
		expect_gro(_metadata, self->fd, 65536, want, wl, sizeof(pt), first);
	} else {
		/* opened as the hook opens datagrams: queued as each completes */
		for (size_t got = 0; got < wl; got += n, first += n / sizeof(pt)) {
			struct dtls_record_info info;
			int seg;

			n = recv_gro(self->fd, frame, sizeof(frame), 0, &info, &seg);
			ASSERT_LT(0, n) TH_LOG("recvmsg: %s", strerror(errno));
			ASSERT_EQ(0, n % sizeof(pt));
			ASSERT_GE(wl - got, (size_t)n);
			ASSERT_EQ(0, memcmp(frame, want + got, n));
			ASSERT_EQ(n > (ssize_t)sizeof(pt) ? (int)sizeof(pt) : 0, seg);
			ASSERT_EQ(REC_NUM(EPOCH, first), info.rec_num);
		}
	}
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(recs + 6, dstat("DtlsRxRecords"));
	/* the tap's copies share the batch's pages: not decrypted in them */
	while ((n = recv(tap, frame, sizeof(frame), MSG_DONTWAIT)) > 0)
		if (memmem(frame, n, batch, off))
			seen++;
	close(tap);
	ASSERT_LT(0, seen);
}

/*
 * Reads under UDP_GRO take the records queued one behind the other, from
 * separate datagrams too, as long as they are application data of the
 * first one's length (the last may be shorter) and fit the buffer.
 * MSG_PEEK and a read without UDP_GRO take one record.
 */
TEST_F(dtls, rx_gro_read_coalesces_records)
{
	static const size_t lens[] = { 100, 100, 100, 120, 120, 60, 120, 2, 120, 120 };
	static uint8_t pt[10][120], want[400];
	long long recs = dstat("DtlsRxRecords");
	uint64_t first = self->peer_seq;
	struct dtls_record_info info;
	int one = 1, zero = 0, seg, i;
	char buf[256];

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 10; i++) {
		fill_pattern(pt[i], lens[i], 20 + i);
		if (i == 7) {		/* a warning alert: not application data */
			pt[i][0] = 1;
			pt[i][1] = 0;
			peer_send(_metadata, self, 21, self->peer_seq++, pt[i], lens[i]);
		} else {
			peer_send_next(_metadata, self, pt[i], lens[i]);
		}
	}

	/* a peek takes one record and leaves it */
	ASSERT_EQ(100, recv_gro(self->fd, buf, sizeof(buf), MSG_PEEK, &info, &seg));
	ASSERT_EQ(0, seg);
	ASSERT_EQ(0, memcmp(buf, pt[0], 100));

	for (i = 0; i < 3; i++)
		memcpy(want + 100 * i, pt[i], 100);
	expect_gro(_metadata, self->fd, 65536, want, 300, 100, first);
	/* a shorter record ends a batch */
	memcpy(want, pt[3], 120);
	memcpy(want + 120, pt[4], 120);
	memcpy(want + 240, pt[5], 60);
	expect_gro(_metadata, self->fd, 65536, want, 300, 120, first + 3);
	/* the alert behind it is not application data */
	expect_gro(_metadata, self->fd, 65536, pt[6], 120, 0, first + 6);
	ASSERT_EQ(2, recv_gro(self->fd, buf, sizeof(buf), 0, &info, &seg));
	ASSERT_EQ(21, info.content_type);
	ASSERT_EQ(0, seg);
	/* the second record does not fit in the buffer: it waits */
	expect_gro(_metadata, self->fd, 200, pt[8], 120, 0, first + 8);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero)));
	peer_send_next(_metadata, self, pt[9], 120);
	expect_gro(_metadata, self->fd, 65536, pt[9], 120, 0, first + 9);
	expect_gro(_metadata, self->fd, 65536, pt[9], 120, 0, first + 10);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(recs + 11, dstat("DtlsRxRecords"));
}

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#define MEMINFO_DROPS 8		/* SK_MEMINFO_DROPS */

#define MEMINFO_RMEM_ALLOC 0	/* SK_MEMINFO_RMEM_ALLOC */

/* What the socket's receive queue is charged with */
static unsigned int sk_rmem(struct __test_metadata *_metadata, int fd)
{
	uint32_t mi[16] = { 0 };
	socklen_t ml = sizeof(mi);

	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ml));
	return mi[MEMINFO_RMEM_ALLOC];
}

static unsigned int sk_drops(struct __test_metadata *_metadata, int fd)
{
	uint32_t mi[16] = { 0 };
	socklen_t ml = sizeof(mi);

	EXPECT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ml));
	EXPECT_LT(MEMINFO_DROPS * sizeof(uint32_t), ml);
	return mi[MEMINFO_DROPS];
}

/*
 * A read under UDP_GRO whose buffer faults in the second record fails with
 * EFAULT, as UDP's does; the records it took count as the socket's drops
 * and the next one is still there.
 */
TEST_F(dtls, rx_gro_read_efault_counts_drops)
{
	long long recs = dstat("DtlsRxRecords");
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t first = self->peer_seq;
	unsigned int drops;
	uint8_t pt[3][100];
	int one = 1, i;
	uint8_t *map;

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 3; i++) {
		fill_pattern(pt[i], sizeof(pt[i]), 40 + i);
		peer_send_next(_metadata, self, pt[i], i < 2 ? sizeof(pt[i]) : 50);
	}
	ASSERT_LT(0, wait_readable(self->fd, 2000));
	drops = sk_drops(_metadata, self->fd);

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	/* room for the first record, then the second crosses into PROT_NONE */
	ASSERT_EQ(-1, recv(self->fd, map + pg - 150, 2 * pg, MSG_DONTWAIT));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, memcmp(map + pg - 150, pt[0], 100));
	munmap(map, 2 * pg);
	ASSERT_EQ(drops + 2, sk_drops(_metadata, self->fd));
	expect_gro(_metadata, self->fd, 65536, pt[2], 50, 0, first + 2);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(recs + 3, dstat("DtlsRxRecords"));
}

/*
 * UDP_GRO with full-size records: the batch keeps its payload in the
 * sender's pages, where the reader opens each record in place.  A replay
 * and a record of an unknown epoch in the batch are dropped and counted;
 * the last datagram is shorter and carries two records.
 */
TEST_F(dtls, rx_gro_full_records_opened_in_pages)
{
	static uint8_t batch[6 * 1300], pt[1200], want[3 * 1200 + 50];
	long long recs = dstat("DtlsRxRecords");
	long long rp = dstat("DtlsRxReplay");
	long long ue = dstat("DtlsRxUnknownEpoch");
	long long de = dstat("DtlsRxDecryptError");
	uint64_t first = self->peer_seq;
	size_t off = 0, rl = 0, wl;
	uint16_t seg;
	int one = 1, i;

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 5; i++) {
		fill_pattern(pt, sizeof(pt), i);
		if (i == 2) {		/* record 0 again */
			memcpy(batch + off, batch, rl);
		} else {
			rl = ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION,
				      i == 3 ? EPOCH + 1 : EPOCH, self->peer_seq++,
				      NULL, pt, sizeof(pt), batch + off);
			ASSERT_NE(0, rl);
		}
		off += rl;
	}
	seg = rl;
	for (i = 0; i < 2; i++) {	/* one datagram, two records */
		fill_pattern(pt, 50, 10 + i);
		off += ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION, EPOCH,
				self->peer_seq++, NULL, pt, 50, batch + off);
	}
	ASSERT_LT(off - 5 * rl, rl);
	ASSERT_EQ((ssize_t)off, send_gso_cmsg(self->peer, batch, off, seg));

	/* 0, 1, 4 and the first short one in one read, as in rx_gro_batch_read_whole */
	for (i = 0, wl = 0; i < 5; i++) {
		if (i == 2 || i == 3)
			continue;
		fill_pattern(want + wl, sizeof(pt), i);
		wl += sizeof(pt);
	}
	fill_pattern(want + wl, 50, 10);
	expect_gro(_metadata, self->fd, 65536, want, wl + 50, sizeof(pt), first);
	fill_pattern(pt, 50, 11);
	expect_gro(_metadata, self->fd, 65536, pt, 50, 0, first + 5);
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(recs + 5, dstat("DtlsRxRecords"));
	ASSERT_EQ(rp + 1, dstat("DtlsRxReplay"));
	ASSERT_EQ(ue + 1, dstat("DtlsRxUnknownEpoch"));
	ASSERT_EQ(de, dstat("DtlsRxDecryptError"));
	ASSERT_EQ(first + 6, self->peer_seq);
}

/*
 * UDP_GRO: turn it on, then have the peer send four 100-byte records of
 * patterns @pattern to @pattern + 3 as one GSO batch, with every tag broken
 * if @forge.
 */
static void gro_send_batch4(struct __test_metadata *_metadata, dtls_t *self,
			    int pattern, int forge)
{
	static uint8_t batch[4 * 200];
	uint8_t pt[100];
	size_t off = 0, rl = 0;
	int one = 1, i;

	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)));
	for (i = 0; i < 4; i++) {
		fill_pattern(pt, sizeof(pt), pattern + i);
		rl = ref_seal(&self->k_rx, 23, DTLS_1_2_VERSION, EPOCH, self->peer_seq++,
			      NULL, pt, sizeof(pt), batch + off);
		ASSERT_NE(0, rl);
		if (forge)
			batch[off + rl - 1] ^= 1;
		off += rl;
	}
	ASSERT_EQ((ssize_t)off, send_gso_cmsg(self->peer, batch, off, rl));
}

/*
 * UDP_GRO: poll() and FIONREAD count only records that pass.  A batch of
 * forged records is not readable and is dropped, counted, once looked at;
 * a valid record behind it then is.
 */
TEST_F(dtls, rx_gro_forged_batch_not_readable)
{
	long long de = dstat("DtlsRxDecryptError");
	struct dtls_record_info info;
	int v = -1, seg;
	uint8_t pt[100];
	char buf[256];

	gro_send_batch4(_metadata, self, 60, 1);
	ASSERT_EQ(0, wait_readable(self->fd, 300));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(0, v);
	ASSERT_EQ(de + 4, dstat("DtlsRxDecryptError"));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);

	fill_pattern(pt, 80, 70);
	peer_send_next(_metadata, self, pt, 80);
	ASSERT_LT(0, wait_readable(self->fd, 2000));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(80, v);
	ASSERT_EQ(80, recv_gro(self->fd, buf, sizeof(buf), 0, &info, &seg));
	ASSERT_EQ(0, memcmp(buf, pt, 80));
	ASSERT_EQ(REC_NUM(EPOCH, self->peer_seq - 1), info.rec_num);
	expect_nothing(_metadata, self->fd);
}

/*
 * UDP_GRO: a batch read into a buffer that holds one record gives one
 * record per read, each announced by FIONREAD; a peek leaves it.
 */
TEST_F(dtls, rx_gro_batch_read_in_pieces)
{
	long long recs = dstat("DtlsRxRecords");
	uint64_t first = self->peer_seq;
	struct dtls_record_info info;
	uint8_t pt[4][100];
	int v, seg, i;
	char buf[256];

	for (i = 0; i < 4; i++)
		fill_pattern(pt[i], sizeof(pt[i]), 80 + i);
	gro_send_batch4(_metadata, self, 80, 0);
	for (i = 0; i < 4; i++) {
		ASSERT_LT(0, wait_readable(self->fd, 2000));
		ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
		ASSERT_EQ(100, v);
		ASSERT_EQ(100, recv_gro(self->fd, buf, sizeof(buf), MSG_PEEK, &info, &seg));
		ASSERT_EQ(0, memcmp(buf, pt[i], 100));
		ASSERT_EQ(REC_NUM(EPOCH, first + i), info.rec_num);
		expect_gro(_metadata, self->fd, 150, pt[i], 100, 0, first + i);
		/* the batch stays charged to the receive buffer until its last record */
		if (i < 3)
			ASSERT_LT(0, sk_rmem(_metadata, self->fd));
	}
	expect_nothing(_metadata, self->fd);
	ASSERT_EQ(0, sk_rmem(_metadata, self->fd));
	ASSERT_EQ(recs + 4, dstat("DtlsRxRecords"));
}

/* UDP_GRO: closing a socket with a batch half read gives its memory back */
TEST_F(dtls, rx_gro_close_with_batch_half_read)
{
	uint8_t pt[100];

	gro_send_batch4(_metadata, self, 90, 0);
	fill_pattern(pt, sizeof(pt), 90);
	expect_gro(_metadata, self->fd, 150, pt, 100, 0, self->peer_seq - 4);
	ASSERT_LT(0, sk_rmem(_metadata, self->fd));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
}

/*
 * Records the hook queued are charged to the receive buffer (SO_MEMINFO)
 * from arrival until read, and given back when read; closing with records
 * unread gives their memory back (a leak warns in the guest's log).
 */
TEST_F(dtls, rx_records_charged_until_read)
{
	uint8_t pt[3][200];
	int i;

	for (i = 0; i < 3; i++) {
		fill_pattern(pt[i], sizeof(pt[i]), 60 + i);
		peer_send_next(_metadata, self, pt[i], sizeof(pt[i]));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, wait_readable(self->fd, 2000));
		ASSERT_LT(0, sk_rmem(_metadata, self->fd));
		expect_recv(_metadata, self->fd, pt[i], sizeof(pt[i]));
	}
	ASSERT_EQ(0, sk_rmem(_metadata, self->fd));

	peer_send_next(_metadata, self, pt[0], sizeof(pt[0]));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_LT(0, sk_rmem(_metadata, self->fd));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
}

TEST_F(dtls, udp_encap_eopnotsupp)
{
	udp_opt_refused(_metadata, self, UDP_ENCAP, UDP_ENCAP_ESPINUDP);
}

static void dtls_on_udp_opt(struct __test_metadata *_metadata, dtls_t *self, int opt, int val)
{
	int fd, peer;

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_UDP, opt, &val, sizeof(val)));
	ASSERT_EQ(-1, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(EOPNOTSUPP, errno);
	close(fd);
	close(peer);
}

TEST_F(dtls, dtls_on_corked_socket_eopnotsupp)
{
	dtls_on_udp_opt(_metadata, self, UDP_CORK, 1);
}

TEST_F(dtls, dtls_on_gso_socket_eopnotsupp)
{
	dtls_on_udp_opt(_metadata, self, UDP_SEGMENT, 1000);
}

TEST_F(dtls, dtls_on_gro_socket_eopnotsupp)
{
	dtls_on_udp_opt(_metadata, self, UDP_GRO, 1);
}

TEST_F(dtls, dtls_on_encap_socket_eopnotsupp)
{
	dtls_on_udp_opt(_metadata, self, UDP_ENCAP, UDP_ENCAP_ESPINUDP);
}

/*
 * Other levels pass through the module untouched, on plain and on DTLS
 * sockets.  IPv6 hands SOL_IP to the IPv4 UDP proto, which the module
 * also wraps: that path once recursed until the stack overflowed.
 */
static void check_sol_ip(struct __test_metadata *_metadata, int fd, int kind)
{
	int tos = 0x10, got = 0;
	socklen_t len = sizeof(got);

	ASSERT_EQ(0, setsockopt(fd, SOL_IP, IP_TOS, &tos, sizeof(tos)));
	ASSERT_EQ(0, getsockopt(fd, SOL_IP, IP_TOS, &got, &len));
	ASSERT_EQ(tos, got);
	if (kind != SK_IPV4) {
		int tclass = 0x20;

		ASSERT_EQ(0, setsockopt(fd, SOL_IPV6, IPV6_TCLASS, &tclass,
					sizeof(tclass)));
		len = sizeof(got);
		ASSERT_EQ(0, getsockopt(fd, SOL_IPV6, IPV6_TCLASS, &got, &len));
		ASSERT_EQ(tclass, got);
	}
}

TEST_F(dtls, other_levels_pass_through)
{
	int fd, peer;

	fresh_pair(_metadata, self, &fd, &peer);
	check_sol_ip(_metadata, fd, self->kind);
	close(fd);
	close(peer);
	check_sol_ip(_metadata, self->fd, self->kind);
	ASSERT_EQ(5, send(self->fd, "after", 5, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "after", 5);
}

/* Kernels from 6.5 splice through sendmsg(MSG_SPLICE_PAGES), older ones
 * through sendpage() one pipe buffer at a time. */
static bool splice_via_sendmsg(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 5);
}

/*
 * Receive records from the kernel until @len bytes of plaintext arrived:
 * each must be application data with the next record number and at most
 * 2^14 bytes, and together they must be @want.  Returns the record count.
 */
static int peer_expect_stream(struct __test_metadata *_metadata, dtls_t *self,
			      const uint8_t *want, size_t len)
{
	static uint8_t got[MAXREC], out[MAXREC];
	size_t at = 0, ol;
	struct rec_hdr h;
	int records = 0;
	ssize_t n;

	while (at < len) {
		n = recv_to(self->peer, got, sizeof(got), 2000);
		ASSERT_LT(0, n) TH_LOG("after %zu of %zu bytes", at, len);
		ASSERT_EQ(n, ref_open(&self->k_tx, got, n, &h, out, &ol));
		ASSERT_EQ(23, h.type);
		ASSERT_EQ(self->tx_seq, h.seq);
		self->tx_seq++;
		ASSERT_GE(DTLS_MAX_PLAINTEXT, ol);
		ASSERT_GE(len - at, ol);
		ASSERT_EQ(0, memcmp(want + at, out, ol));
		at += ol;
		records++;
	}
	return records;
}

/*
 * splice() and sendfile() move a byte stream: it goes out in records of at
 * most 2^14 bytes (one per pipe buffer before 6.5, one per batch of pages
 * after).  SPLICE_F_MORE asks for corking, which 6.1 cannot tell from
 * MSG_MORE and refuses; later kernels mark splice data and send it.
 */
TEST_F(dtls, splice_stream_in_records)
{
	static uint8_t data[40000];
	long long txr = dstat("DtlsTxRecords");
	int p[2], records, want;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7 + (i >> 8);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(5, write(p[1], "splic", 5));
	ASSERT_EQ(5, splice(p[0], NULL, self->fd, NULL, 5, 0));
	peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "splic", 5);

	ASSERT_EQ(sizeof(data), write(p[1], data, sizeof(data)));
	ASSERT_EQ(sizeof(data), splice(p[0], NULL, self->fd, NULL,
				       sizeof(data), 0));
	records = peer_expect_stream(_metadata, self, data, sizeof(data));
	/* 10 pipe buffers, or 3 records of at most 2^14 */
	want = splice_via_sendmsg() ? 3 : 10;
	ASSERT_EQ(want, records);

	ASSERT_EQ(5, write(p[1], "corks", 5));
	if (splice_via_sendmsg()) {
		ASSERT_EQ(5, splice(p[0], NULL, self->fd, NULL, 5,
				    SPLICE_F_MORE));
		peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++,
			    "corks", 5);
		records++;
	} else {
		ASSERT_EQ(-1, splice(p[0], NULL, self->fd, NULL, 5,
				     SPLICE_F_MORE));
		ASSERT_EQ(EOPNOTSUPP, errno);
	}
	close(p[0]);
	close(p[1]);
	expect_nothing(_metadata, self->peer);
	ASSERT_EQ(txr + 1 + records, dstat("DtlsTxRecords"));
}

static void set_lo_mtu(struct __test_metadata *_metadata, int mtu)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	ASSERT_LE(0, s);
	ifr.ifr_mtu = mtu;
	ASSERT_EQ(0, ioctl(s, SIOCSIFMTU, &ifr));
	ASSERT_EQ(0, ioctl(s, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags |= IFF_UP;
	ASSERT_EQ(0, ioctl(s, SIOCSIFFLAGS, &ifr));
	close(s);
}

/*
 * With fragmentation forbidden, a record that does not fit the path MTU is
 * EMSGSIZE, and a record that does goes out whole.  Runs in a namespace of
 * its own whose loopback has a 1300-byte MTU.
 */
TEST_F(dtls, tx_pmtu_dont_fragment_emsgsize)
{
	static uint8_t pt[1300];
	int fd, peer, on = 1, pmtu = IP_PMTUDISC_DO;
	long long txe;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	set_lo_mtu(_metadata, 1300);
	fresh_pair(_metadata, self, &fd, &peer);
	/* IPv6 sockets: IPV6_DONTFRAG for IPv6, IP_MTU_DISCOVER for mapped */
	ASSERT_EQ(0, setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, &pmtu,
				sizeof(pmtu)));
	if (self->kind != SK_IPV4)
		ASSERT_EQ(0, setsockopt(fd, SOL_IPV6, IPV6_DONTFRAG, &on,
					sizeof(on)));
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	close(self->peer);
	self->peer = peer;
	txe = dstat("DtlsTxError");

	ASSERT_EQ(-1, send(fd, pt, sizeof(pt), 0));
	ASSERT_EQ(EMSGSIZE, errno);
	/* the failed record spent its number: the next one is seq 2 */
	ASSERT_EQ(txe + 1, dstat("DtlsTxError"));
	expect_nothing(_metadata, peer);
	ASSERT_EQ(1200, send(fd, pt, 1200, 0));
	peer_expect(_metadata, self, 23, EPOCH, 2, pt, 1200);
	close(fd);
}

TEST_F(dtls, tx_seq_exhaustion_ekeyexpired)
{
	int fd, peer;
	uint64_t last = SEQ_MASK;
	long long txr = dstat("DtlsTxRecords"), txe = dstat("DtlsTxError");

	fresh_pair(_metadata, self, &fd, &peer);
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, last - 1)));
	close(self->peer);
	self->peer = peer;
	ASSERT_EQ(3, send(fd, "one", 3, 0));
	peer_expect(_metadata, self, 23, EPOCH, last - 1, "one", 3);
	ASSERT_EQ(3, send(fd, "two", 3, 0));
	peer_expect(_metadata, self, 23, EPOCH, last, "two", 3);
	ASSERT_EQ(-1, send(fd, "three", 5, 0));
	ASSERT_EQ(EKEYEXPIRED, errno);
	ASSERT_EQ(-1, send_rec_type(fd, 21, "\x01\x00", 2));
	ASSERT_EQ(EKEYEXPIRED, errno);
	expect_nothing(_metadata, peer);
	ASSERT_EQ(txr + 2, dstat("DtlsTxRecords"));
	ASSERT_EQ(txe, dstat("DtlsTxError"));
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Socket semantics                                                        */

TEST_F(dtls, recv_peek_then_read)
{
	struct dtls_record_info i1, i2;
	char b1[64], b2[64];
	int g1, g2, f1 = 0;

	peer_send_next(_metadata, self, "peekaboo", 8);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(8, recv_info(self->fd, b1, sizeof(b1), MSG_PEEK, &i1, &g1, &f1));
	ASSERT_EQ(8, recv(self->fd, b2, sizeof(b2), MSG_PEEK));
	ASSERT_EQ(0, memcmp(b1, b2, 8));
	ASSERT_EQ(8, recv_info(self->fd, b2, sizeof(b2), 0, &i2, &g2, NULL));
	ASSERT_EQ(0, memcmp(b1, "peekaboo", 8));
	ASSERT_EQ(0, memcmp(b2, "peekaboo", 8));
	ASSERT_EQ(1, g1);
	ASSERT_EQ(1, g2);
	ASSERT_EQ(0, memcmp(&i1, &i2, sizeof(i1)));
	ASSERT_EQ(REC_NUM(EPOCH, 1), i1.rec_num);
	expect_nothing(_metadata, self->fd);
}

TEST_F(dtls, recv_trunc_flag)
{
	uint8_t pt[100], buf[10];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	fill_pattern(pt, sizeof(pt), 77);
	peer_send_next(_metadata, self, pt, sizeof(pt));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(100, recvmsg(self->fd, &msg, MSG_TRUNC));
	ASSERT_TRUE(msg.msg_flags & MSG_TRUNC);
	ASSERT_EQ(0, memcmp(buf, pt, sizeof(buf)));
	expect_nothing(_metadata, self->fd);
}

TEST_F(dtls, recv_small_buffer_truncates)
{
	uint8_t pt[100], buf[10];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	fill_pattern(pt, sizeof(pt), 78);
	peer_send_next(_metadata, self, pt, sizeof(pt));
	peer_send_next(_metadata, self, "next", 4);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(10, recvmsg(self->fd, &msg, 0));
	ASSERT_TRUE(msg.msg_flags & MSG_TRUNC);
	ASSERT_EQ(0, memcmp(buf, pt, sizeof(buf)));
	/* the rest of the record is discarded, the next one is intact */
	expect_recv(_metadata, self->fd, "next", 4);
}

TEST_F(dtls, recv_multiple_iovecs)
{
	uint8_t pt[300], a[7], b[100], c[500];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };

	fill_pattern(pt, sizeof(pt), 79);
	peer_send_next(_metadata, self, pt, sizeof(pt));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(300, recvmsg(self->fd, &msg, 0));
	ASSERT_EQ(0, memcmp(a, pt, 7));
	ASSERT_EQ(0, memcmp(b, pt + 7, 100));
	ASSERT_EQ(0, memcmp(c, pt + 107, 193));
}

TEST_F(dtls, recv_zero_length_record)
{
	struct dtls_record_info info;
	char buf[16];
	int got;

	peer_send_next(_metadata, self, "", 0);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(0, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(1, got);
	ASSERT_EQ(23, info.content_type);
	ASSERT_EQ(REC_NUM(EPOCH, 1), info.rec_num);
	expect_nothing(_metadata, self->fd);
}

TEST_F(dtls, recv_dontwait_empty_eagain)
{
	char buf[16];

	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(dtls, so_rcvtimeo)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
	char buf[16];
	uint64_t t0, dt;
	uint8_t rec[256];
	size_t rl;

	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = now_ms();
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EAGAIN, errno);
	dt = now_ms() - t0;
	ASSERT_GE(dt, 250);
	ASSERT_LT(dt, 5000);
	/* an invalid record does not end the wait early with data */
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "bad", 3, rec);
	rec[rl - 1] ^= 1;
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EAGAIN, errno);
	peer_send_next(_metadata, self, "good", 4);
	ASSERT_EQ(4, recv(self->fd, buf, sizeof(buf), 0));
}

static void send_forged(struct __test_metadata *_metadata, dtls_t *self)
{
	uint8_t rec[256];
	size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, "bad", 3, rec);
	long long de = dstat("DtlsRxDecryptError");

	rec[rl - 1] ^= 1;
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	ASSERT_EQ(de + 1, dstat_wait("DtlsRxDecryptError", de + 1, 1000));
}

TEST_F(dtls, poll_readable_only_after_valid_record)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN | POLLOUT };

	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLOUT, p.revents);
	send_forged(_metadata, self);
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, 100));
	ASSERT_EQ(POLLOUT, p.revents);
	peer_send_next(_metadata, self, "valid", 5);
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 2000));
	ASSERT_EQ(POLLIN, p.revents);
	expect_recv(_metadata, self->fd, "valid", 5);
	ASSERT_EQ(0, poll(&p, 1, 0));
}

TEST_F(dtls, poll_wakes_blocked_waiter)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		usleep(200000);
		send_forged(_metadata, self);
		usleep(200000);
		peer_send_next(_metadata, self, "wake", 4);
		_exit(0);
	}
	{
		struct pollfd p = { .fd = self->fd, .events = POLLIN };
		uint64_t t0 = now_ms();
		int status;

		ASSERT_EQ(1, poll(&p, 1, 5000));
		ASSERT_GE(now_ms() - t0, 350);	/* not woken by the forgery */
		waitpid(pid, &status, 0);
		expect_recv(_metadata, self->fd, "wake", 4);
	}
}

TEST_F(dtls, epoll_readable_only_after_valid_record)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = self->fd }, out[2];
	int ep = epoll_create1(0);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	send_forged(_metadata, self);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 100));
	peer_send_next(_metadata, self, "valid", 5);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 2000));
	ASSERT_EQ(EPOLLIN, out[0].events);
	expect_recv(_metadata, self->fd, "valid", 5);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

TEST_F(dtls, epoll_edge_triggered)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = self->fd }, out[2];
	int ep = epoll_create1(0);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	send_forged(_metadata, self);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 100));
	peer_send_next(_metadata, self, "one", 3);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 2000));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 50));
	peer_send_next(_metadata, self, "two", 3);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 2000));
	expect_recv(_metadata, self->fd, "one", 3);
	expect_recv(_metadata, self->fd, "two", 3);
	close(ep);
}

TEST_F(dtls, select_readable_only_after_valid_record)
{
	fd_set rs;
	struct timeval tv;

	FD_ZERO(&rs);
	FD_SET(self->fd, &rs);
	tv = (struct timeval){ 0, 0 };
	ASSERT_EQ(0, select(self->fd + 1, &rs, NULL, NULL, &tv));
	send_forged(_metadata, self);
	FD_ZERO(&rs);
	FD_SET(self->fd, &rs);
	tv = (struct timeval){ 0, 100000 };
	ASSERT_EQ(0, select(self->fd + 1, &rs, NULL, NULL, &tv));
	peer_send_next(_metadata, self, "valid", 5);
	FD_ZERO(&rs);
	FD_SET(self->fd, &rs);
	tv = (struct timeval){ 2, 0 };
	ASSERT_EQ(1, select(self->fd + 1, &rs, NULL, NULL, &tv));
	ASSERT_TRUE(FD_ISSET(self->fd, &rs));
	expect_recv(_metadata, self->fd, "valid", 5);
}

struct reader_arg {
	int fd;
	ssize_t ret;
	int err;
};

static void *blocked_reader(void *p)
{
	struct reader_arg *a = p;
	char buf[64];

	a->ret = recv(a->fd, buf, sizeof(buf), 0);
	a->err = errno;
	return NULL;
}

TEST_F(dtls, shutdown_wakes_blocked_reader)
{
	struct reader_arg a = { .fd = self->fd, .ret = -2 };
	struct timespec ts;
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_reader, &a));
	usleep(200000);
	send_forged(_metadata, self);	/* must not wake it with anything */
	usleep(100000);
	ASSERT_EQ(-2, a.ret);
	ASSERT_EQ(0, shutdown(self->fd, SHUT_RD));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3;
	ASSERT_EQ(0, pthread_timedjoin_np(th, NULL, &ts)) TH_LOG("reader not woken");
	ASSERT_EQ(0, a.ret) TH_LOG("errno %d", a.err);
}

TEST_F(dtls, fionread_plaintext_length)
{
	static uint8_t pt[5000], dg[12000];
	int v = -1;
	size_t off;

	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(0, v);
	fill_pattern(pt, sizeof(pt), 5);
	peer_send_next(_metadata, self, pt, 123);
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(123, v);
	expect_recv(_metadata, self->fd, pt, 123);
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(0, v);
	/* several records in one datagram: the first record's length */
	off = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, pt, 4000, dg);
	off += ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, pt, 7, dg + off);
	ASSERT_EQ((ssize_t)off, send(self->peer, dg, off, 0));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(4000, v);
	expect_recv(_metadata, self->fd, pt, 4000);
	/*
	 * Each record is queued on its own, and with an asynchronous AEAD
	 * from a worker on another CPU: the reader may get the first before
	 * the second is queued.
	 */
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &v));
	ASSERT_EQ(7, v);
	expect_recv(_metadata, self->fd, pt, 7);
}

TEST_F(dtls, data_queued_before_dtls_rx)
{
	int fd, peer;
	uint8_t dg[512], pt[300];
	size_t off;
	long long de = dstat("DtlsRxDecryptError");
	uint64_t t0;

	fresh_pair(_metadata, self, &fd, &peer);
	close(self->fd);
	close(self->peer);
	self->fd = fd;
	self->peer = peer;
	fill_pattern(pt, sizeof(pt), 8);
	peer_send(_metadata, self, 23, 1, pt, 100);
	peer_send(_metadata, self, 22, 2, "hs", 2);
	off = ref_seal_rnd(&self->k_rx, 23, EPOCH, 3, "forged", 6, dg);
	dg[off - 1] ^= 1;
	ASSERT_EQ((ssize_t)off, send(peer, dg, off, 0));
	off = ref_seal_rnd(&self->k_rx, 23, EPOCH, 4, pt, 5, dg);
	off += ref_seal_rnd(&self->k_rx, 23, EPOCH, 5, pt, 300, dg + off);
	ASSERT_EQ((ssize_t)off, send(peer, dg, off, 0));
	/* wait until everything sits in the receive queue */
	t0 = now_ms();
	for (;;) {
		if (wait_readable(fd, 10) == 1 || now_ms() - t0 > 2000)
			break;
	}
	usleep(50000);
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(de + 1, dstat_wait("DtlsRxDecryptError", de + 1, 1000));
	expect_recv(_metadata, fd, pt, 100);
	{
		struct dtls_record_info info;
		char buf[16];
		int got;

		ASSERT_EQ(2, recv_info(fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
		ASSERT_EQ(22, info.content_type);
		ASSERT_EQ(REC_NUM(EPOCH, 2), info.rec_num);
	}
	expect_recv(_metadata, fd, pt, 5);
	expect_recv(_metadata, fd, pt, 300);
	expect_nothing(_metadata, fd);
	/* and the window knows about them */
	{
		uint8_t rec[64];
		size_t rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, 4, pt, 5, rec);

		self->peer_seq = 6;
		expect_dropped(_metadata, self, rec, rl, "DtlsRxReplay");
	}
}

/*
 * A datagram that finds the receive buffer full is dropped before it is
 * opened and counts in UDP's RcvbufErrors; DtlsRxDropped counts only
 * records that lost a race for the space while they were being opened.
 */
TEST_F(dtls, rcvbuf_full_counts_dropped)
{
	static uint8_t pt[1000];
	long long dr = dstat("DtlsRxDropped"), rx = dstat("DtlsRxRecords");
	long long ub = udp_rcvbuf_errors(), early;
	int small = 4096, delivered = 0;
	char buf[1100];

	ASSERT_GE(ub, 0);
	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	for (int i = 0; i < 50; i++)
		peer_send_next(_metadata, self, pt, sizeof(pt));
	usleep(100000);
	while (recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT) == sizeof(pt))
		delivered++;
	early = udp_rcvbuf_errors() - ub;
	ASSERT_GT(delivered, 0);
	ASSERT_LT(delivered, 50);
	/* all drops may come after opening if the AEAD is asynchronous */
	ASSERT_EQ(50, delivered + (dstat("DtlsRxDropped") - dr) + early)
		TH_LOG("delivered %d, RcvbufErrors +%lld", delivered, early);
	ASSERT_EQ(delivered, dstat("DtlsRxRecords") - rx);
}

/* Forgeries that find the receive buffer full cost no AEAD. */
TEST_F(dtls, rcvbuf_full_drops_before_opening)
{
	static uint8_t pt[1000];
	long long de, ub, delivered = 0;
	int small = 4096;
	uint8_t rec[1100];
	size_t rl;

	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	/* full once a datagram has been refused before opening */
	ub = udp_rcvbuf_errors();
	for (int i = 0; i < 200 && udp_rcvbuf_errors() == ub; i++) {
		peer_send_next(_metadata, self, pt, sizeof(pt));
		usleep(2000);
	}
	ASSERT_LT(ub, udp_rcvbuf_errors());
	dstat_settled("DtlsRxRecords", 1000);

	de = dstat("DtlsRxDecryptError");
	ub = udp_rcvbuf_errors();
	for (int i = 0; i < 10; i++) {
		rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, pt, 100, rec);
		rec[rl - 1] ^= 0x80;
		ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	}
	for (int i = 0; i < 200 && udp_rcvbuf_errors() < ub + 10; i++)
		usleep(5000);
	EXPECT_EQ(ub + 10, udp_rcvbuf_errors());
	EXPECT_EQ(de, dstat("DtlsRxDecryptError"));

	/* once read, the buffer takes records again, and opens forgeries */
	while (recv(self->fd, rec, sizeof(rec), MSG_DONTWAIT) == sizeof(pt))
		delivered++;
	ASSERT_GT(delivered, 0);
	rl = ref_seal_rnd(&self->k_rx, 23, EPOCH, self->peer_seq++, pt, 100, rec);
	rec[rl - 1] ^= 0x80;
	expect_dropped(_metadata, self, rec, rl, "DtlsRxDecryptError");
}

/* ---------------------------------------------------------------------- */
/* kernel <-> kernel                                                       */

TEST_F(dtls, kernel_to_kernel_bidirectional)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT];
	struct dkey kab, kba;
	int a, b;

	kernel_pair(_metadata, self, &a, &b, &kab, &kba);
	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i];

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send(a, pt, len, 0));
		expect_recv(_metadata, b, pt, len);
		fill_pattern(pt, len, i + 1000);
		ASSERT_EQ((ssize_t)len, send(b, pt, len, 0));
		expect_recv(_metadata, a, pt, len);
	}
	/* interleaved bursts */
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(4, send(a, &i, 4, 0));
		ASSERT_EQ(4, send(b, &i, 4, 0));
	}
	for (int i = 0; i < 20; i++) {
		expect_recv(_metadata, a, &i, 4);
		expect_recv(_metadata, b, &i, 4);
	}
	close(a);
	close(b);
}

TEST_F(dtls, kernel_to_kernel_control_record)
{
	struct dkey kab, kba;
	struct dtls_record_info info;
	char buf[32];
	int a, b, got;

	kernel_pair(_metadata, self, &a, &b, &kab, &kba);
	ASSERT_EQ(3, send(a, "abc", 3, 0));
	ASSERT_EQ(2, send_rec_type(a, 21, "\x01\x00", 2));
	expect_recv(_metadata, b, "abc", 3);
	ASSERT_EQ(1, wait_readable(b, 2000));
	ASSERT_EQ(-1, recv(b, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(2, recv_info(b, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(21, info.content_type);
	ASSERT_EQ(DTLS_RECORD_F_PROTECTED, info.flags);
	ASSERT_EQ(REC_NUM(EPOCH, 2), info.rec_num);
	close(a);
	close(b);
}

/* ---------------------------------------------------------------------- */
/* Concurrency                                                             */

#define CC_THREADS 4
#define CC_PER 200
#define CC_TOTAL (CC_THREADS * CC_PER)

struct cc_arg {
	int fd;
	int tid;
	int err;
};

static void *cc_sender(void *p)
{
	struct cc_arg *a = p;
	uint8_t buf[600];

	for (int i = 0; i < CC_PER; i++) {
		uint32_t id = a->tid * CC_PER + i;
		size_t len = payload_make(buf, id, 16 + (id * 37) % 500);

		if (send(a->fd, buf, len, 0) != (ssize_t)len) {
			a->err = errno ? errno : -1;
			return NULL;
		}
		if (i % 32 == 31)
			usleep(1000);
	}
	return NULL;
}

struct cc_rx {
	int fd;
	pthread_mutex_t lock;
	int seen[CC_TOTAL];
	int total, bad;
	uint64_t deadline;
};

static void *cc_receiver(void *p)
{
	struct cc_rx *r = p;
	uint8_t buf[1000];

	for (;;) {
		ssize_t n;
		long id;

		pthread_mutex_lock(&r->lock);
		if (r->total >= CC_TOTAL || now_ms() > r->deadline) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		pthread_mutex_unlock(&r->lock);
		if (wait_readable(r->fd, 50) <= 0)
			continue;
		n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		id = payload_check(buf, n);
		pthread_mutex_lock(&r->lock);
		if (id < 0 || id >= CC_TOTAL)
			r->bad++;
		else
			r->seen[id]++;
		r->total++;
		pthread_mutex_unlock(&r->lock);
	}
}

TEST_F_TIMEOUT(dtls, concurrent_senders_unique_record_numbers, 120)
{
	struct cc_arg args[CC_THREADS];
	pthread_t th[CC_THREADS];
	static uint8_t buf[MAXREC], out[MAXREC];
	static int seen_id[CC_TOTAL];
	static uint8_t seen_seq[CC_TOTAL + 2];
	int n_ok = 0;

	set_rcvbuf(self->peer, 16 << 20);
	for (int t = 0; t < CC_THREADS; t++) {
		args[t] = (struct cc_arg){ .fd = self->fd, .tid = t };
		ASSERT_EQ(0, pthread_create(&th[t], NULL, cc_sender, &args[t]));
	}
	for (int i = 0; i < CC_TOTAL; i++) {
		ssize_t n = recv_to(self->peer, buf, sizeof(buf), 5000), r;
		struct rec_hdr h;
		size_t ol;
		long id;

		if (n < 0)
			break;
		r = ref_open(&self->k_tx, buf, n, &h, out, &ol);
		ASSERT_EQ(n, r) TH_LOG("record %d not authentic", i);
		ASSERT_GE(h.seq, 1);
		ASSERT_LE(h.seq, CC_TOTAL);
		ASSERT_EQ(0, seen_seq[h.seq]++) TH_LOG("record number %llu reused",
							(unsigned long long)h.seq);
		if (self->c->xnonce_len) {
			ASSERT_EQ(REC_NUM(EPOCH, h.seq), get_be(buf + DTLS_HDR_LEN, 8));
		}
		id = payload_check(out, ol);
		ASSERT_GE(id, 0);
		ASSERT_LT(id, CC_TOTAL);
		ASSERT_EQ(0, seen_id[id]++);
		n_ok++;
	}
	for (int t = 0; t < CC_THREADS; t++) {
		pthread_join(th[t], NULL);
		ASSERT_EQ(0, args[t].err);
	}
	ASSERT_EQ(CC_TOTAL, n_ok);
	expect_nothing(_metadata, self->peer);
}

TEST_F_TIMEOUT(dtls, concurrent_receivers_exactly_once, 120)
{
	static struct cc_rx r;
	pthread_t th[CC_THREADS];
	uint8_t buf[600];

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	r.fd = self->fd;
	r.deadline = now_ms() + 60000;
	set_rcvbuf(self->fd, 16 << 20);
	for (int t = 0; t < CC_THREADS; t++) {
		ASSERT_EQ(0, pthread_create(&th[t], NULL, cc_receiver, &r));
	}
	for (int i = 0; i < CC_TOTAL; i++) {
		size_t len = payload_make(buf, i, 16 + (i * 53) % 500);

		peer_send_next(_metadata, self, buf, len);
		if (i % 32 == 31)
			usleep(1000);
	}
	for (int t = 0; t < CC_THREADS; t++)
		pthread_join(th[t], NULL);
	ASSERT_EQ(0, r.bad);
	ASSERT_EQ(CC_TOTAL, r.total);
	for (int i = 0; i < CC_TOTAL; i++) {
		ASSERT_EQ(1, r.seen[i]) TH_LOG("id %d", i);
	}
}

TEST_F_TIMEOUT(dtls, concurrent_kernel_pair_both_ways, 120)
{
	static struct cc_rx ra, rb;
	struct cc_arg sa[2], sb[2];
	pthread_t th[8];
	struct dkey kab, kba;
	int a, b, n = 0;

	kernel_pair(_metadata, self, &a, &b, &kab, &kba);
	set_rcvbuf(a, 16 << 20);
	set_rcvbuf(b, 16 << 20);
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	pthread_mutex_init(&ra.lock, NULL);
	pthread_mutex_init(&rb.lock, NULL);
	ra.fd = a;
	rb.fd = b;
	ra.deadline = rb.deadline = now_ms() + 60000;
	/* 2 threads receive on each side; 4 senders per side give CC_TOTAL ids */
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, cc_receiver, &ra));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, cc_receiver, &ra));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, cc_receiver, &rb));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, cc_receiver, &rb));
	for (int round = 0; round < 2; round++) {
		pthread_t st[4];

		for (int t = 0; t < 2; t++) {
			sa[t] = (struct cc_arg){ .fd = a, .tid = round * 2 + t };
			sb[t] = (struct cc_arg){ .fd = b, .tid = round * 2 + t };
			ASSERT_EQ(0, pthread_create(&st[t], NULL, cc_sender, &sa[t]));
			ASSERT_EQ(0, pthread_create(&st[2 + t], NULL, cc_sender, &sb[t]));
		}
		for (int t = 0; t < 4; t++)
			pthread_join(st[t], NULL);
		for (int t = 0; t < 2; t++) {
			ASSERT_EQ(0, sa[t].err);
			ASSERT_EQ(0, sb[t].err);
		}
	}
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	ASSERT_EQ(0, ra.bad);
	ASSERT_EQ(0, rb.bad);
	ASSERT_EQ(CC_TOTAL, ra.total);
	ASSERT_EQ(CC_TOTAL, rb.total);
	for (int i = 0; i < CC_TOTAL; i++) {
		ASSERT_EQ(1, ra.seen[i]);
		ASSERT_EQ(1, rb.seen[i]);
	}
	close(a);
	close(b);
}

TEST_F_TIMEOUT(dtls, concurrent_processes_share_socket, 120)
{
	static uint8_t buf[MAXREC], out[MAXREC];
	static int seen_id[CC_TOTAL];
	static uint8_t seen_seq[CC_TOTAL + 2];
	pid_t pids[CC_THREADS];
	int n_ok = 0;

	set_rcvbuf(self->peer, 16 << 20);
	for (int t = 0; t < CC_THREADS; t++) {
		pids[t] = fork();
		ASSERT_GE(pids[t], 0);
		if (pids[t] == 0) {
			struct cc_arg a = { .fd = self->fd, .tid = t };

			cc_sender(&a);
			_exit(a.err ? 1 : 0);
		}
	}
	for (int i = 0; i < CC_TOTAL; i++) {
		ssize_t n = recv_to(self->peer, buf, sizeof(buf), 5000);
		struct rec_hdr h;
		size_t ol;
		long id;

		if (n < 0)
			break;
		ASSERT_EQ(n, ref_open(&self->k_tx, buf, n, &h, out, &ol));
		ASSERT_GE(h.seq, 1);
		ASSERT_LE(h.seq, CC_TOTAL);
		ASSERT_EQ(0, seen_seq[h.seq]++);
		id = payload_check(out, ol);
		ASSERT_GE(id, 0);
		ASSERT_LT(id, CC_TOTAL);
		ASSERT_EQ(0, seen_id[id]++);
		n_ok++;
	}
	for (int t = 0; t < CC_THREADS; t++) {
		int st;

		ASSERT_EQ(pids[t], waitpid(pids[t], &st, 0));
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ASSERT_EQ(CC_TOTAL, n_ok);
}

/* ---------------------------------------------------------------------- */
/* Counters                                                                */

TEST_F(dtls, counters_install_and_close)
{
	long long ctx = dstat("DtlsCurrTxSw"), crx = dstat("DtlsCurrRxSw");
	long long tx = dstat("DtlsTxSw"), rx = dstat("DtlsRxSw");
	struct cinfo ci;
	int fd, peer, fd2, peer2;

	ASSERT_GE(ctx, 1);	/* the fixture's socket */
	ASSERT_GE(crx, 1);
	fresh_pair(_metadata, self, &fd, &peer);
	fresh_pair(_metadata, self, &fd2, &peer2);
	/* a failed install counts nothing */
	cinfo_build_v(&ci, &self->k_tx, 0, 0x0303, self->c->type);
	ASSERT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
	ASSERT_EQ(ctx, dstat("DtlsCurrTxSw"));
	ASSERT_EQ(tx, dstat("DtlsTxSw"));

	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(ctx + 1, dstat("DtlsCurrTxSw"));
	ASSERT_EQ(tx + 1, dstat("DtlsTxSw"));
	ASSERT_EQ(crx, dstat("DtlsCurrRxSw"));
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(crx + 1, dstat("DtlsCurrRxSw"));
	ASSERT_EQ(rx + 1, dstat("DtlsRxSw"));
	ASSERT_EQ(0, dtls_install(fd2, DTLS_RX, &self->k_rx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(crx + 2, dstat("DtlsCurrRxSw"));
	ASSERT_EQ(ctx + 1, dstat("DtlsCurrTxSw"));
	/* EBUSY counts nothing */
	ASSERT_EQ(-1, dtls_install(fd, DTLS_TX, &self->k_tx, REC_NUM(EPOCH, 1)));
	ASSERT_EQ(tx + 1, dstat("DtlsTxSw"));

	close(fd);
	close(peer);
	{
		uint64_t t0 = now_ms();

		while ((dstat("DtlsCurrTxSw") != ctx || dstat("DtlsCurrRxSw") != crx + 1) &&
		       now_ms() - t0 < 2000)
			usleep(5000);
	}
	ASSERT_EQ(ctx, dstat("DtlsCurrTxSw"));
	ASSERT_EQ(crx + 1, dstat("DtlsCurrRxSw"));
	close(fd2);
	close(peer2);
	{
		uint64_t t0 = now_ms();

		while (dstat("DtlsCurrRxSw") != crx && now_ms() - t0 < 2000)
			usleep(5000);
	}
	ASSERT_EQ(crx, dstat("DtlsCurrRxSw"));
	/* totals since load do not go down */
	ASSERT_EQ(tx + 1, dstat("DtlsTxSw"));
	ASSERT_EQ(rx + 2, dstat("DtlsRxSw"));
}

TEST_F(dtls, counters_records)
{
	long long rx = dstat_settled("DtlsRxRecords", 1000);
	long long tx = dstat("DtlsTxRecords"), txe = dstat("DtlsTxError");
	long long pt = dstat("DtlsRxPlaintext");
	uint8_t rec[64];
	size_t rl;
	struct dtls_record_info info;
	char buf[64];
	int got;

	ASSERT_GE(tx, 0);
	for (int i = 0; i < 7; i++) {
		ASSERT_EQ(1, send(self->fd, "t", 1, 0));
		peer_expect(_metadata, self, 23, EPOCH, self->tx_seq++, "t", 1);
	}
	ASSERT_EQ(2, send_rec_type(self->fd, 21, "\x01\x00", 2));
	peer_expect(_metadata, self, 21, EPOCH, self->tx_seq++, "\x01\x00", 2);
	ASSERT_EQ(tx + 8, dstat("DtlsTxRecords"));
	ASSERT_EQ(txe, dstat("DtlsTxError"));
	for (int i = 0; i < 5; i++) {
		peer_send_next(_metadata, self, "r", 1);
		expect_recv(_metadata, self->fd, "r", 1);
	}
	peer_send(_metadata, self, 22, self->peer_seq++, "h", 1);
	ASSERT_EQ(1, recv_info(self->fd, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(rx + 6, dstat_wait("DtlsRxRecords", rx + 6, 1000));
	rl = plain_record(rec, 22, DTLS_1_2_VERSION, 0, 1, "p", 1);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	ASSERT_EQ(1, recv_info(self->fd, buf, sizeof(buf), 0, &info, &got, NULL));
	ASSERT_EQ(rx + 6, dstat_wait("DtlsRxRecords", rx + 6, 1000));
	ASSERT_EQ(pt + 1, dstat("DtlsRxPlaintext"));
}

/* ====================================================================== */
/* Tests without a fixture                                                 */
/* ====================================================================== */

TEST(sol_dtls_on_tcp_enoprotoopt)
{
	struct dkey k;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	dkey_derive(&k, &cdescs[0], "tcp");
	ASSERT_GE(fd, 0);
	ASSERT_EQ(-1, dtls_install(fd, DTLS_TX, &k, 0));
	ASSERT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

TEST(sol_dtls_on_udplite_enoprotoopt)
{
	struct dkey k;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);

	dkey_derive(&k, &cdescs[0], "udplite");
	if (fd < 0 && errno == EPROTONOSUPPORT)
		SKIP(return, "no UDP-Lite");
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, connect(fd, (void *)&a, sizeof(a)));
	ASSERT_EQ(-1, dtls_install(fd, DTLS_TX, &k, 0));
	ASSERT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

TEST(getsockopt_plain_udp_enoprotoopt)
{
	uint8_t b[64];
	socklen_t l = sizeof(b);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_TX, b, &l));
	ASSERT_EQ(ENOPROTOOPT, errno);
	ASSERT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, b, &l));
	ASSERT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

TEST(dtls_stat_file_complete)
{
	static const char *const names[] = {
		"DtlsCurrTxSw", "DtlsCurrRxSw", "DtlsTxSw", "DtlsRxSw", "DtlsTxRecords",
		"DtlsTxError", "DtlsRxRecords", "DtlsRxPlaintext", "DtlsRxDecryptError",
		"DtlsRxReplay", "DtlsRxMalformed", "DtlsRxBadVersion", "DtlsRxUnknownEpoch",
		"DtlsRxDropped", "DtlsTxKeyExpired", "DtlsRxKeyExpired", "DtlsRxUnknownCid",
		"DtlsCurrPeers", "DtlsPeers", "DtlsRxPeerMoved", "DtlsRxDatagrams",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		EXPECT_LE(0, dstat(names[i])) TH_LOG("%s missing", names[i]);
	}
}

/* ---------------------------------------------------------------------- */
/* DTLS 1.3: every record against dtls13_ref.h, both ways                 */

FIXTURE(dtls13) {
	int fd, peer;
	const struct cdesc13 *s;
	struct dkey13 k;	/* fd -> peer */
	struct dkey13 k_rx;	/* peer -> fd */
	uint64_t seq;		/* of the next record fd sends */
	uint64_t peer_seq;	/* of the next record the peer sends */
};

FIXTURE_VARIANT(dtls13) {
	uint16_t cipher;
	int kind;
};

SUITE_VARIANTS(dtls13);

/* the first application traffic epoch (RFC 9147 6.1) */
#define EPOCH13 3

FIXTURE_SETUP(dtls13)
{
	self->fd = self->peer = -1;
	self->s = cdesc13_by_type(variant->cipher);
	ASSERT_NE(NULL, self->s);
	ASSERT_EQ(0, dkey13_derive(&self->k, self->s, "kernel-to-peer", EPOCH13));
	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &self->fd, &self->peer));
	ASSERT_EQ(0, dkey13_derive(&self->k_rx, self->s, "peer-to-kernel", EPOCH13));
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_TX, &self->k, EPOCH13, 0))
		TH_LOG("DTLS_TX: %s", strerror(errno));
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &self->k_rx, EPOCH13, 0))
		TH_LOG("DTLS_RX: %s", strerror(errno));
	self->seq = 0;
	self->peer_seq = 0;
}

FIXTURE_TEARDOWN(dtls13)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->peer >= 0)
		close(self->peer);
}

/*
 * The peer must receive exactly the record the reference builds for the
 * next sequence number, in the form the kernel sends (16-bit sequence
 * number, a length, the least padding), and the reference must open it.
 */
static void peer_expect13(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			  uint8_t type, const void *pt, size_t len)
{
	static uint8_t want[MAXREC], got[MAXREC], out[MAXREC];
	uint64_t seq = self->seq++;
	size_t wl = ref13_seal(&self->k, DTLS13_HDR_S | DTLS13_HDR_L, seq, type, pt, len,
			       ref13_min_pad(&self->k, len), want);
	ssize_t n = recv_to(self->peer, got, sizeof(got), 2000);
	struct rec13 r;

	ASSERT_NE(0, wl);
	ASSERT_EQ((ssize_t)wl, n) TH_LOG("len %zu: peer recv %zd (%s)", len, n,
					 n < 0 ? strerror(errno) : "");
	ASSERT_EQ(0, memcmp(want, got, wl))
		TH_LOG("len %zu seq %llu: record differs from the reference", len,
		       (unsigned long long)seq);
	ASSERT_EQ(n, ref13_open(&self->k, got, n, seq, &r, out));
	ASSERT_EQ(seq, r.seq);
	ASSERT_EQ(type, r.type);
	ASSERT_EQ(len, r.ptlen);
	ASSERT_EQ(0, memcmp(out, pt, len));
}

TEST_F(dtls13, wire_format_all_sizes)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT];

	for (size_t i = 0; i < N_SIZES; i++) {
		size_t len = test_sizes[i];

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send(self->fd, pt, len, 0)) TH_LOG("size %zu", len);
		peer_expect13(_metadata, self, DTLS_RECORD_TYPE_APPLICATION_DATA, pt, len);
	}
}

/* Handshake, alert and ACK go out protected; DTLS 1.3 has no CCS. */
TEST_F(dtls13, record_types)
{
	static const uint8_t types[] = {
		DTLS_RECORD_TYPE_HANDSHAKE, DTLS_RECORD_TYPE_ALERT, DTLS_RECORD_TYPE_ACK,
		DTLS_RECORD_TYPE_APPLICATION_DATA,
	};
	static const uint8_t refused[] = { 0, 20, 24, 25, 27, 255 };
	uint8_t pt[40];

	for (size_t i = 0; i < sizeof(types); i++) {
		fill_pattern(pt, sizeof(pt), types[i]);
		ASSERT_EQ((ssize_t)sizeof(pt), send_rec_type(self->fd, types[i], pt, sizeof(pt)));
		peer_expect13(_metadata, self, types[i], pt, sizeof(pt));
	}
	for (size_t i = 0; i < sizeof(refused); i++) {
		EXPECT_EQ(-1, send_rec_type(self->fd, refused[i], pt, sizeof(pt)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("type %u", refused[i]);
	}
	ASSERT_EQ(0, wait_readable(self->peer, 50));
}

/*
 * The epoch's low bits and the sequence number's low 16 bits in the
 * header, the full number in the nonce: across 0xffff -> 0x10000.
 */
TEST_F(dtls13, epoch_and_seq_from_info)
{
	uint16_t epoch = 0xfff5;
	uint8_t pt[100];
	int fd, peer;

	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &fd, &peer));
	close(self->fd);
	close(self->peer);
	self->fd = fd;
	self->peer = peer;
	ASSERT_EQ(0, dkey13_derive(&self->k, self->s, "kernel-to-peer", epoch));
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_TX, &self->k, epoch, 0xfffe));
	self->seq = 0xfffe;
	for (int i = 0; i < 4; i++) {
		fill_pattern(pt, sizeof(pt), i);
		ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
		peer_expect13(_metadata, self, DTLS_RECORD_TYPE_APPLICATION_DATA, pt, sizeof(pt));
	}
}

/* A UDP_SEGMENT batch: one record per datagram, each as the reference's. */
TEST_F(dtls13, gso_batch)
{
	static uint8_t pt[30000];
	static const uint16_t segs[] = { 1000, 1400, 7 };

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		size_t len = segs[i] == 7 ? 7 * 40 + 3 : sizeof(pt) - i * 999;
		size_t off;

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send_gso_cmsg(self->fd, pt, len, segs[i]))
			TH_LOG("seg %u: %s", segs[i], strerror(errno));
		for (off = 0; off < len; off += segs[i]) {
			size_t n = len - off < segs[i] ? len - off : segs[i];

			peer_expect13(_metadata, self, DTLS_RECORD_TYPE_APPLICATION_DATA,
				      pt + off, n);
		}
	}
}

/* getsockopt() gives back what was installed, with the next number. */
TEST_F(dtls13, getsockopt_state)
{
	struct cinfo want, got;
	socklen_t len = sizeof(got.b);

	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(4, send(self->fd, "abcd", 4, 0));
		peer_expect13(_metadata, self, DTLS_RECORD_TYPE_APPLICATION_DATA, "abcd", 4);
	}
	cinfo13_build(&want, &self->k, EPOCH13, 3);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_TX, got.b, &len));
	ASSERT_EQ(want.len, len);
	ASSERT_EQ(0, memcmp(want.b, got.b, len));
}

/* What the kernel refuses, with the errno dtls.rst gives. */
TEST_F(dtls13, bad_infos)
{
	struct dkey k12;
	struct cinfo ci;
	int fd, peer;

	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &fd, &peer));
	cinfo13_build(&ci, &self->k, 0, 0);		/* epoch 0: no keys */
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
	EXPECT_EQ(EINVAL, errno);
	cinfo13_build(&ci, &self->k, EPOCH13, 0);	/* one byte short, one long */
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len + 1));
	EXPECT_EQ(EINVAL, errno);
	/* both directions speak one version */
	dkey_derive(&k12, self->k.k.c, "dtls12");
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &k12, REC_NUM(EPOCH, 1)));
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX, ci.b, ci.len));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	close(peer);
}

/* The peer (the reference) sends one record to fd. */
static void peer_send13(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			uint8_t form, uint64_t seq, uint8_t type, const void *pt, size_t len,
			size_t pad)
{
	static uint8_t rec[MAXREC];
	size_t rl = ref13_seal(&self->k_rx, form, seq, type, pt, len,
			       pad + ref13_min_pad(&self->k_rx, len), rec);

	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
}

/* @fd must deliver @pt as one protected record of @type numbered @rec_num. */
static void expect_recv_protected(struct __test_metadata *_metadata, int fd, uint8_t type,
				  uint64_t rec_num, const void *pt, size_t len)
{
	static uint8_t buf[MAXREC];
	struct dtls_record_info info;
	int got;
	ssize_t n;

	ASSERT_EQ(1, wait_readable(fd, 2000));
	n = recv_info(fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("recv: %s", n < 0 ? strerror(errno) : "length");
	ASSERT_EQ(0, memcmp(buf, pt, len));
	ASSERT_EQ(1, got);
	ASSERT_EQ(type, info.content_type);
	ASSERT_EQ(DTLS_RECORD_F_PROTECTED, info.flags);
	ASSERT_EQ(rec_num, info.rec_num);
}

static void expect_recv13(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			  uint8_t type, uint64_t seq, const void *pt, size_t len)
{
	expect_recv_protected(_metadata, self->fd, type, REC_NUM(EPOCH13, seq), pt, len);
}

/* Every header form, every size, with and without padding. */
TEST_F(dtls13, rx_all_forms_and_sizes)
{
	static uint8_t pt[DTLS_MAX_PLAINTEXT];
	static const uint8_t forms[] = {
		DTLS13_HDR_S | DTLS13_HDR_L, DTLS13_HDR_S, DTLS13_HDR_L, 0,
	};

	for (size_t f = 0; f < sizeof(forms); f++) {
		for (size_t i = 0; i < N_SIZES; i++) {
			size_t len = test_sizes[i], pad = ref13_min_pad(&self->k_rx, len);

			if (i % 3 == f % 3 && len < DTLS_MAX_PLAINTEXT - 200)
				pad += 1 + (i * 37) % 200;
			fill_pattern(pt, len, i + f);
			peer_send13(_metadata, self, forms[f], self->peer_seq, 23, pt, len, pad);
			expect_recv13(_metadata, self, 23, self->peer_seq++, pt, len);
		}
	}
}

/* Handshake, alert and ACK records reach userspace with their type. */
TEST_F(dtls13, rx_record_types)
{
	static const uint8_t types[] = { 22, 21, 26, 23 };
	uint8_t pt[50];

	for (size_t i = 0; i < sizeof(types); i++) {
		fill_pattern(pt, sizeof(pt), i);
		peer_send13(_metadata, self, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq,
			    types[i], pt, sizeof(pt), 3);
		expect_recv13(_metadata, self, types[i], self->peer_seq++, pt, sizeof(pt));
	}
}

/*
 * Sequence numbers from their low 8 or 16 bits: across the wraps of both,
 * reordered within the window; replays are dropped.
 */
TEST_F(dtls13, rx_seq_reconstruction_and_replay)
{
	static const uint64_t order[] = { 250, 251, 255, 253, 256, 254, 300, 370, 365 };
	char txt[32];

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(txt, sizeof(txt), "seq %llu", (unsigned long long)order[i]);
		peer_send13(_metadata, self, i % 2 ? 0 : DTLS13_HDR_L, order[i], 23, txt,
			    strlen(txt), 0);
		expect_recv13(_metadata, self, 23, order[i], txt, strlen(txt));
	}
	for (uint64_t seq = 0xfffe; seq < 0x10003; seq++) {
		snprintf(txt, sizeof(txt), "seq %llu", (unsigned long long)seq);
		peer_send13(_metadata, self, DTLS13_HDR_S, seq, 23, txt, strlen(txt), 0);
		expect_recv13(_metadata, self, 23, seq, txt, strlen(txt));
	}
	{
		long long rp = dstat("DtlsRxReplay");

		peer_send13(_metadata, self, DTLS13_HDR_S, 0x10001, 23, "again", 5, 0);
		ASSERT_EQ(rp + 1, dstat_wait("DtlsRxReplay", rp + 1, 2000));
		ASSERT_EQ(0, wait_readable(self->fd, 50));
	}
}

/* Several records in one datagram; the last may omit its length. */
TEST_F(dtls13, rx_multi_record_datagram)
{
	static uint8_t dgram[4096];
	size_t off = 0;
	const char *msgs[] = { "first", "the second one", "third, no length" };

	for (int i = 0; i < 3; i++) {
		size_t rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | (i < 2 ? DTLS13_HDR_L : 0),
				       self->peer_seq + i, i == 1 ? 22 : 23, msgs[i],
				       strlen(msgs[i]),
				       i + ref13_min_pad(&self->k_rx, strlen(msgs[i])), dgram + off);

		ASSERT_NE(0, rl);
		off += rl;
	}
	ASSERT_EQ((ssize_t)off, send(self->peer, dgram, off, 0));
	for (int i = 0; i < 3; i++)
		expect_recv13(_metadata, self, i == 1 ? 22 : 23, self->peer_seq + i, msgs[i],
			      strlen(msgs[i]));
	self->peer_seq += 3;
}

/* An epoch-0 handshake record in the clear passes, unprotected. */
TEST_F(dtls13, rx_plaintext_epoch0)
{
	uint8_t rec[64], buf[64];
	struct dtls_record_info info;
	int got;

	ASSERT_EQ(DTLS_HDR_LEN + 10,
		  plain_record(rec, 22, DTLS_1_2_VERSION, 0, 7, "handshake!", 10));
	ASSERT_EQ(DTLS_HDR_LEN + 10, send(self->peer, rec, DTLS_HDR_LEN + 10, 0));
	ASSERT_EQ(1, wait_readable(self->fd, 2000));
	ASSERT_EQ(10, recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL));
	ASSERT_EQ(0, memcmp(buf, "handshake!", 10));
	ASSERT_EQ(22, info.content_type);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(REC_NUM(0, 7), info.rec_num);
}

/*
 * Hostile input: each is dropped and counted, nothing is delivered, and a
 * good record afterwards still is.
 */
static void expect_dropped13(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			     const void *bad, size_t len, const char *counter)
{
	long long before = dstat(counter);
	char ok[32];

	ASSERT_GE(before, 0);
	ASSERT_EQ((ssize_t)len, send(self->peer, bad, len, 0));
	ASSERT_EQ(before + 1, dstat_wait(counter, before + 1, 2000)) TH_LOG("%s", counter);
	ASSERT_EQ(0, wait_readable(self->fd, 50));
	snprintf(ok, sizeof(ok), "alive %llu", (unsigned long long)self->peer_seq);
	peer_send13(_metadata, self, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq, 23, ok,
		    strlen(ok), 0);
	expect_recv13(_metadata, self, 23, self->peer_seq++, ok, strlen(ok));
}

TEST_F(dtls13, rx_hostile)
{
	uint8_t rec[256], pt[64];
	size_t rl;

	fill_pattern(pt, sizeof(pt), 1);
	/* a connection ID that was never negotiated */
	rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq++, 23, pt, 40, 0,
			rec);
	rec[0] |= DTLS13_HDR_C;
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxMalformed");
	/* the length runs past the datagram */
	rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq++, 23, pt, 40, 0,
			rec);
	expect_dropped13(_metadata, self, rec, rl - 1, "DtlsRxMalformed");
	/* too short to sample: 15 bytes after the header */
	memset(rec, 0, sizeof(rec));
	rec[0] = DTLS13_HDR_FIXED | DTLS13_HDR_S | (EPOCH13 & 3);
	expect_dropped13(_metadata, self, rec, 3 + 15, "DtlsRxMalformed");
	/* the header alone */
	expect_dropped13(_metadata, self, rec, 2, "DtlsRxMalformed");
	/* another epoch's bits */
	self->k_rx.epoch++;
	rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq, 23, pt, 40, 0,
			rec);
	self->k_rx.epoch--;
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxUnknownEpoch");
	/* a flipped bit in the encrypted sequence number, in the tag, in the body */
	for (int where = 0; where < 3; where++) {
		rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq, 23, pt,
				40, 0, rec);
		rec[where == 0 ? 2 : where == 1 ? rl - 1 : 10] ^= 0x10;
		expect_dropped13(_metadata, self, rec, rl, "DtlsRxDecryptError");
	}
	/* all padding: no content type */
	rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq++, 0, pt, 0, 30,
			rec);
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxMalformed");
	/* a type DTLS 1.3 does not protect */
	rl = ref13_seal(&self->k_rx, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq++, 20, pt, 1,
			ref13_min_pad(&self->k_rx, 1), rec);
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxMalformed");
	/* application data in the clear */
	rl = plain_record(rec, 23, DTLS_1_2_VERSION, 0, 1, pt, 20);
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxMalformed");
	/* a DTLSPlaintext claiming a protected epoch */
	rl = plain_record(rec, 22, DTLS_1_2_VERSION, EPOCH13, 1, pt, 20);
	expect_dropped13(_metadata, self, rec, rl, "DtlsRxMalformed");
}

/*
 * Key update, sending side: a second DTLS_TX with the next epoch's keys
 * switches from the next record on; skipping an epoch, going back, or
 * another suite is refused and changes nothing.
 */
TEST_F(dtls13, tx_key_update)
{
	struct dkey13 next = self->k, other;
	struct cinfo ci, got;
	socklen_t len = sizeof(got.b);

	ASSERT_EQ(5, send(self->fd, "old-1", 5, 0));
	peer_expect13(_metadata, self, 23, "old-1", 5);
	ASSERT_EQ(0, ref13_update(&next));	/* epoch 4 */

	/* refused: epoch 5 (a skip), epoch 3 again, epoch 2 */
	for (uint16_t e = 2; e <= 5; e++) {
		if (e == 4)
			continue;
		next.epoch = e;
		EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_TX, &next, e, 0)) TH_LOG("epoch %u", e);
		EXPECT_EQ(EINVAL, errno);
	}
	next.epoch = 4;
	/* refused: another suite's structure, and DTLS 1.2's */
	other = next;
	other.k.c = cdesc_by_type(self->s->suite == 0x1303 ? DTLS_CIPHER_AES_GCM_256 :
				   DTLS_CIPHER_CHACHA20_POLY1305);
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_TX, &other, 4, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, dtls_install(self->fd, DTLS_TX, &self->k.k, REC_NUM(4, 0)));
	EXPECT_EQ(EINVAL, errno);
	/* still epoch 3, numbers going on */
	ASSERT_EQ(5, send(self->fd, "old-2", 5, 0));
	peer_expect13(_metadata, self, 23, "old-2", 5);

	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_TX, &next, 4, 0));
	self->k = next;
	self->seq = 0;
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(5, send(self->fd, "new-x", 5, 0));
		peer_expect13(_metadata, self, 23, "new-x", 5);
	}
	cinfo13_build(&ci, &next, 4, 3);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_TX, got.b, &len));
	ASSERT_EQ(ci.len, len);
	ASSERT_EQ(0, memcmp(ci.b, got.b, len));
}

/*
 * Mutated records: real records of every form, most of them damaged at
 * random (bits flipped anywhere, cut short, junk appended, a random first
 * byte, a random length).  Whatever is delivered must be a record that
 * was sent undamaged, with its type and number, each exactly once; every
 * undamaged one must arrive; nothing may crash (KASAN on make
 * check-debug's kernel).
 */
TEST_F(dtls13, rx_mutated_records)
{
	enum { N = 3000 };
	static uint8_t rec[2048], orig[2048], buf[2048];
	static uint8_t sent_ok[N], sent_form[N];
	static const uint8_t forms[] = {
		DTLS13_HDR_S | DTLS13_HDR_L, DTLS13_HDR_S, DTLS13_HDR_L, 0,
	};
	struct rng r = { .s = 0x13131313 };
	struct dtls_record_info info;
	int got, delivered = 0, expected = 0;
	uint64_t base = self->peer_seq;
	/* CCM_8's 2^7 forgeries would end the epoch: as far as the RFC's CCM */
	struct dtls_key_usage lim = { .rx_forged = 11863283 };

	set_rcvbuf(self->fd, 8 << 20);
	if (variant->cipher == DTLS_CIPHER_AES_CCM_8_128)
		ASSERT_EQ(0, setsockopt(self->fd, SOL_DTLS, DTLS_KEY_LIMITS, &lim, sizeof(lim)));
	for (int i = 0; i < N; i++) {
		uint64_t seq = base + i;
		size_t len = rng_below(&r, 300), pad = rng_below(&r, 4) ? 0 : rng_below(&r, 40);
		uint8_t form = forms[rng_below(&r, 4)], type = i % 7 ? 23 : 22;
		size_t rl, ol;
		char pt[300];

		for (size_t j = 0; j < len; j++)
			pt[j] = (char)(seq * 31 + j);
		rl = ref13_seal(&self->k_rx, form, seq, type, pt, len,
				pad + ref13_min_pad(&self->k_rx, len), rec);
		ASSERT_NE(0, rl);
		ol = rl;
		memcpy(orig, rec, rl);
		switch (rng_below(&r, 8)) {
		case 0:	/* left alone */
		case 1:
			break;
		case 2:	/* a few bits flipped anywhere */
			for (int k = 1 + rng_below(&r, 3); k; k--)
				rec[rng_below(&r, rl)] ^= 1 << rng_below(&r, 8);
			break;
		case 3:	/* cut short */
			rl = rng_below(&r, rl);
			break;
		case 4:	/* junk after it */
			for (int k = 1 + rng_below(&r, 40); k; k--)
				rec[rl++] = rng_next(&r);
			break;
		case 5:	/* a random first byte */
			rec[0] = rng_next(&r);
			break;
		case 6:	/* a random length, if it has one */
			if (form & DTLS13_HDR_L)
				put_be(rec + ((form & DTLS13_HDR_S) ? 3 : 2), rng_below(&r, 2048), 2);
			else
				rec[1] ^= 0x80;
			break;
		default:	/* random bytes */
			rl = rng_below(&r, 200);
			for (size_t k = 0; k < rl; k++)
				rec[k] = rng_next(&r);
			break;
		}
		/*
		 * Still whole: untouched, changed back by chance, or with junk
		 * after a record that has its length.
		 */
		if (rl >= ol && !memcmp(rec, orig, ol) && (rl == ol || (form & DTLS13_HDR_L))) {
			sent_ok[i] = 1;
			expected++;
		}
		sent_form[i] = form;
		ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
		/*
		 * An intact record is read before the next goes out: with an
		 * asynchronous AEAD the highest record opened, which the 8-bit
		 * form's sequence number is reconstructed from, would otherwise
		 * lag more than 128 behind a sender that never waits.
		 */
		while (wait_readable(self->fd, sent_ok[i] == 1 ? 2000 : 0) == 1) {
			ssize_t n = recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info,
					      &got, NULL);
			uint64_t s13 = info.rec_num & SEQ_MASK;

			ASSERT_GE(n, 0);
			if (!info.flags)
				continue;	/* a DTLSPlaintext epoch-0 record by chance */
			ASSERT_EQ(REC_NUM(EPOCH13, s13), info.rec_num);
			ASSERT_TRUE(s13 >= base && s13 < base + N);
			ASSERT_EQ(1, sent_ok[s13 - base]) TH_LOG("seq %llu delivered but damaged",
							       (unsigned long long)s13);
			sent_ok[s13 - base] = 2;
			ASSERT_EQ((s13 - base) % 7 ? 23 : 22, info.content_type);
			for (ssize_t j = 0; j < n; j++)
				ASSERT_EQ((uint8_t)(s13 * 31 + j), buf[j]);
			delivered++;
		}
	}
	/*
	 * The last ones may still be under an asynchronous AEAD (cryptd on a
	 * debug kernel can take a while): wait for them, then a little more
	 * for anything delivered twice.
	 */
	while (wait_readable(self->fd, delivered < expected ? 5000 : 200) == 1) {
		ssize_t n = recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT, &info, &got, NULL);
		uint64_t s13 = info.rec_num & SEQ_MASK;

		ASSERT_GE(n, 0);
		if (!info.flags)
			continue;
		ASSERT_TRUE(s13 >= base && s13 < base + N);
		ASSERT_EQ(1, sent_ok[s13 - base]);
		sent_ok[s13 - base] = 2;
		delivered++;
	}
	for (int i = 0; i < N && delivered != expected; i++)
		if (sent_ok[i] == 1)
			TH_LOG("seq %llu (header form %#x) sent intact, not delivered (dropped %lld, replay %lld, decrypt errors %lld)",
			       (unsigned long long)(base + i), sent_form[i], dstat("DtlsRxDropped"),
			       dstat("DtlsRxReplay"), dstat("DtlsRxDecryptError"));
	ASSERT_EQ(expected, delivered);
	self->peer_seq = base + N;
}

/* The peer sends one record in @k's epoch; fd must deliver it, or not. */
static void peer13_epoch(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			 const struct dkey13 *k, uint64_t seq, int delivered)
{
	static uint8_t rec[256], buf[256];
	struct dtls_record_info info;
	char txt[40];
	long long ue = dstat("DtlsRxUnknownEpoch");
	size_t rl;
	int got;

	snprintf(txt, sizeof(txt), "epoch %llu seq %llu", (unsigned long long)k->epoch,
		 (unsigned long long)seq);
	rl = ref13_seal(k, DTLS13_HDR_S | DTLS13_HDR_L, seq, 23, txt, strlen(txt), 0, rec);
	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	if (!delivered) {
		ASSERT_EQ(ue + 1, dstat_wait("DtlsRxUnknownEpoch", ue + 1, 2000)) TH_LOG("%s", txt);
		ASSERT_EQ(0, wait_readable(self->fd, 50));
		return;
	}
	ASSERT_EQ(1, wait_readable(self->fd, 2000)) TH_LOG("%s", txt);
	ASSERT_EQ((ssize_t)strlen(txt), recv_info(self->fd, buf, sizeof(buf), MSG_DONTWAIT,
						  &info, &got, NULL));
	ASSERT_EQ(0, memcmp(buf, txt, strlen(txt)));
	ASSERT_EQ(REC_NUM(k->epoch, seq), info.rec_num);
}

/*
 * Key update, receiving side: the next epoch's keys go in ahead of its
 * first record, which makes it current; the previous epoch stays for
 * reordered records until the one after takes over; an epoch without keys
 * is dropped; skips and a second install of one epoch are refused.
 */
TEST_F(dtls13, rx_key_update)
{
	struct dkey13 e[8];
	struct cinfo ci, got;
	socklen_t len = sizeof(got.b);

	e[3] = self->k_rx;
	for (int i = 4; i < 8; i++) {
		e[i] = e[i - 1];
		ASSERT_EQ(0, ref13_update(&e[i]));
	}
	peer13_epoch(_metadata, self, &e[3], 0, 1);
	peer13_epoch(_metadata, self, &e[4], 0, 0);	/* no keys yet */
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_RX, &e[5], 5, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e[4], 4, 0));
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_RX, &e[4], 4, 0));
	EXPECT_EQ(EBUSY, errno);
	peer13_epoch(_metadata, self, &e[3], 1, 1);	/* still current */
	peer13_epoch(_metadata, self, &e[4], 0, 1);	/* now current */
	peer13_epoch(_metadata, self, &e[3], 2, 1);	/* previous, reordered */
	cinfo13_build(&ci, &e[4], 4, 1);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_RX, got.b, &len));
	ASSERT_EQ(ci.len, len);
	ASSERT_EQ(0, memcmp(ci.b, got.b, len));

	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e[5], 5, 0));
	peer13_epoch(_metadata, self, &e[5], 0, 1);
	peer13_epoch(_metadata, self, &e[3], 3, 0);	/* two back: gone */
	peer13_epoch(_metadata, self, &e[4], 1, 1);	/* previous */
	/* slot reuse: epoch 7 takes epoch 3's slot */
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e[6], 6, 0));
	peer13_epoch(_metadata, self, &e[6], 0, 1);
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e[7], 7, 0));
	peer13_epoch(_metadata, self, &e[7], 0, 1);
	peer13_epoch(_metadata, self, &e[6], 1, 1);
	peer13_epoch(_metadata, self, &e[5], 1, 0);
}

/* Two kernel sockets with DTLS 1.3 keys both ways: kab a -> b, kba b -> a */
static void kernel_pair13(struct __test_metadata *_metadata, const struct cdesc13 *c,
			  int kind, struct dkey13 *kab, struct dkey13 *kba, int *a, int *b)
{
	ASSERT_EQ(0, dkey13_derive(kab, c, "a-to-b", EPOCH13));
	ASSERT_EQ(0, dkey13_derive(kba, c, "b-to-a", EPOCH13));
	ASSERT_EQ(0, udp_pair(kind, kind, a, b));
	ASSERT_EQ(0, dtls13_install(*a, DTLS_TX, kab, EPOCH13, 0));
	ASSERT_EQ(0, dtls13_install(*a, DTLS_RX, kba, EPOCH13, 0));
	ASSERT_EQ(0, dtls13_install(*b, DTLS_TX, kba, EPOCH13, 0));
	ASSERT_EQ(0, dtls13_install(*b, DTLS_RX, kab, EPOCH13, 0));
}

/*
 * Two kernel sockets update their keys over and over under traffic, the
 * way RFC 9147 orders it: the receiver installs the next epoch, then the
 * sender switches.  Every record arrives, whatever epoch it was sent in.
 */
TEST_F(dtls13, kernel_to_kernel_key_updates)
{
	struct dkey13 kab, kba;
	uint8_t pt[600], buf[700];
	int a, b;

	kernel_pair13(_metadata, self->s, variant->kind, &kab, &kba, &a, &b);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 10; i++) {
			size_t len = (round * 17 + i * 61) % sizeof(pt);
			int from = i % 2 ? a : b, to = i % 2 ? b : a;

			fill_pattern(pt, len, round * 10 + i);
			ASSERT_EQ((ssize_t)len, send(from, pt, len, 0));
			ASSERT_EQ(1, wait_readable(to, 2000)) TH_LOG("round %d", round);
			ASSERT_EQ((ssize_t)len, recv(to, buf, sizeof(buf), MSG_DONTWAIT));
			ASSERT_EQ(0, memcmp(buf, pt, len));
		}
		ASSERT_EQ(0, ref13_update(&kab));
		ASSERT_EQ(0, dtls13_install(b, DTLS_RX, &kab, kab.epoch, 0));
		ASSERT_EQ(0, dtls13_install(a, DTLS_TX, &kab, kab.epoch, 0));
		ASSERT_EQ(0, ref13_update(&kba));
		ASSERT_EQ(0, dtls13_install(a, DTLS_RX, &kba, kba.epoch, 0));
		ASSERT_EQ(0, dtls13_install(b, DTLS_TX, &kba, kba.epoch, 0));
	}
	close(a);
	close(b);
}

/* Two kernel sockets speak DTLS 1.3 to each other, both ways. */
TEST_F(dtls13, kernel_to_kernel)
{
	struct dkey13 kab, kba;
	uint8_t pt[1400], buf[1500];
	int a, b;

	kernel_pair13(_metadata, self->s, variant->kind, &kab, &kba, &a, &b);
	for (int i = 0; i < 50; i++) {
		size_t len = (i * 131) % sizeof(pt);

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send(i % 2 ? a : b, pt, len, 0));
		ASSERT_EQ(1, wait_readable(i % 2 ? b : a, 2000));
		ASSERT_EQ((ssize_t)len, recv(i % 2 ? b : a, buf, sizeof(buf), MSG_DONTWAIT));
		ASSERT_EQ(0, memcmp(buf, pt, len));
	}
	close(a);
	close(b);
}

/*
 * RFC 9147 4.5.3's limits per suite, written out here from the RFC (and
 * RFC 8446 5.5) rather than taken from the kernel's table.
 */
static void rfc_limits(uint16_t cipher, struct dtls_key_usage *lim, uint64_t *rx_max)
{
	switch (cipher) {
	case DTLS_CIPHER_AES_GCM_128:
	case DTLS_CIPHER_AES_GCM_256:
		lim->tx_records = 23726566;		/* 2^24.5 */
		lim->rx_forged = *rx_max = 1ULL << 36;
		break;
	case DTLS_CIPHER_AES_CCM_128:
		lim->tx_records = 1ULL << 23;
		lim->rx_forged = *rx_max = 11863283;	/* 2^23.5 */
		break;
	case DTLS_CIPHER_AES_CCM_8_128:
		lim->tx_records = 1ULL << 23;
		lim->rx_forged = 1ULL << 7;
		*rx_max = 11863283;
		break;
	default:				/* ChaCha20: the numbers run out */
		lim->tx_records = 1ULL << 48;
		lim->rx_forged = *rx_max = 1ULL << 36;
	}
}

static int key_opt(int fd, int opt, uint64_t tx, uint64_t rx)
{
	struct dtls_key_usage u = { .tx_records = tx, .rx_forged = rx };

	return setsockopt(fd, SOL_DTLS, opt, &u, sizeof(u));
}

static void expect_key_opt(struct __test_metadata *_metadata, int fd, int opt, uint64_t tx,
			   uint64_t rx)
{
	struct dtls_key_usage u;
	socklen_t len = sizeof(u);

	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, opt, &u, &len)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(sizeof(u), len);
	EXPECT_EQ(tx, u.tx_records) TH_LOG("opt %d", opt);
	EXPECT_EQ(rx, u.rx_forged) TH_LOG("opt %d", opt);
}

static short poll_events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

/* The limits in force start as the RFC's; only CCM_8's forgeries may go higher. */
TEST_F(dtls13, key_limits_per_suite)
{
	struct dtls_key_usage rfc;
	uint64_t rx_max;

	rfc_limits(variant->cipher, &rfc, &rx_max);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_LIMITS, rfc.tx_records, rfc.rx_forged);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_USAGE, 0, 0);
	EXPECT_EQ(-1, key_opt(self->fd, DTLS_KEY_LIMITS, rfc.tx_records + 1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, key_opt(self->fd, DTLS_KEY_LIMITS, 0, rx_max + 1));
	EXPECT_EQ(EINVAL, errno);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_LIMITS, rfc.tx_records, rfc.rx_forged);
	ASSERT_EQ(0, key_opt(self->fd, DTLS_KEY_LIMITS, 0, rx_max));
	expect_key_opt(_metadata, self->fd, DTLS_KEY_LIMITS, rfc.tx_records, rx_max);
	ASSERT_EQ(0, key_opt(self->fd, DTLS_KEY_LIMITS, 1000, 0));
	expect_key_opt(_metadata, self->fd, DTLS_KEY_LIMITS, 1000, rx_max);
	EXPECT_EQ(0, poll_events(self->fd) & POLLPRI);
}

/* What the options refuse, with dtls.rst's errnos. */
TEST_F(dtls13, key_limits_refused)
{
	struct dtls_key_usage u;
	socklen_t len = sizeof(u) - 1;
	struct dkey k12;
	int fd, peer;

	EXPECT_EQ(-1, setsockopt(self->fd, SOL_DTLS, DTLS_KEY_LIMITS, &u, sizeof(u) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_DTLS, DTLS_KEY_USAGE, &u, &len));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_DTLS, DTLS_KEY_USAGE, &u, sizeof(u)));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* no keys at all: ENOTCONN; one direction only: ENOTCONN for the other */
	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &fd, &peer));
	EXPECT_EQ(-1, key_opt(fd, DTLS_KEY_LIMITS, 10, 0));
	EXPECT_EQ(ENOTCONN, errno);
	len = sizeof(u);
	ASSERT_EQ(0, dtls13_install(fd, DTLS_TX, &self->k, EPOCH13, 0));
	EXPECT_EQ(-1, key_opt(fd, DTLS_KEY_LIMITS, 0, 10));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(0, key_opt(fd, DTLS_KEY_LIMITS, 10, 0));
	expect_key_opt(_metadata, fd, DTLS_KEY_LIMITS, 10, 0);
	close(fd);
	close(peer);

	/* DTLS 1.2 has no key update, hence no limits but its numbers' end */
	ASSERT_EQ(0, udp_pair(variant->kind, peer_kind(variant->kind), &fd, &peer));
	dkey_derive(&k12, self->k.k.c, "dtls12");
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &k12, REC_NUM(EPOCH, 1)));
	EXPECT_EQ(-1, key_opt(fd, DTLS_KEY_LIMITS, 10, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_KEY_LIMITS, &u, &len));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
	close(peer);
}

/*
 * Confidentiality limit (lowered to 8 records): EPOLLPRI from half way,
 * EKEYEXPIRED for the record past it (and for a batch that would cross
 * it, which sends nothing), counted; the next epoch starts afresh under
 * the same limit.
 */
TEST_F(dtls13, tx_usage_limit)
{
	long long expired = dstat("DtlsTxKeyExpired");
	struct dkey13 next = self->k;
	uint8_t pt[100];

	ASSERT_EQ(0, key_opt(self->fd, DTLS_KEY_LIMITS, 8, 0));
	for (int i = 0; i < 8; i++) {
		EXPECT_EQ(i < 4 ? 0 : POLLPRI, poll_events(self->fd) & POLLPRI)
			TH_LOG("before record %d", i);
		fill_pattern(pt, sizeof(pt), i);
		ASSERT_EQ((ssize_t)sizeof(pt), send(self->fd, pt, sizeof(pt), 0));
		peer_expect13(_metadata, self, 23, pt, sizeof(pt));
	}
	expect_key_opt(_metadata, self->fd, DTLS_KEY_USAGE, 8, 0);
	EXPECT_EQ(-1, send(self->fd, pt, sizeof(pt), 0));
	EXPECT_EQ(EKEYEXPIRED, errno);
	EXPECT_EQ(-1, send_rec_type(self->fd, DTLS_RECORD_TYPE_HANDSHAKE, pt, 10));
	EXPECT_EQ(EKEYEXPIRED, errno);
	EXPECT_EQ(expired + 2, dstat("DtlsTxKeyExpired"));
	ASSERT_EQ(0, wait_readable(self->peer, 50));
	EXPECT_EQ(POLLPRI, poll_events(self->fd) & POLLPRI);

	ASSERT_EQ(0, ref13_update(&next));
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_TX, &next, EPOCH13 + 1, 0));
	self->k = next;
	self->seq = 0;
	EXPECT_EQ(0, poll_events(self->fd) & POLLPRI);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_USAGE, 0, 0);
	/* a batch of 9 would cross the limit: refused whole */
	EXPECT_EQ(-1, send_gso_cmsg(self->fd, pt, 9 * 10, 10));
	EXPECT_EQ(EKEYEXPIRED, errno);
	ASSERT_EQ(0, wait_readable(self->peer, 50));
	ASSERT_EQ(8 * 10, send_gso_cmsg(self->fd, pt, 8 * 10, 10));
	for (int i = 0; i < 8; i++)
		peer_expect13(_metadata, self, 23, pt + 10 * i, 10);
	EXPECT_EQ(POLLPRI, poll_events(self->fd) & POLLPRI);
	EXPECT_EQ(-1, send(self->fd, pt, 1, 0));
	EXPECT_EQ(EKEYEXPIRED, errno);
}

/* A record of the current epoch, sealed right but for a flipped tag bit */
static void peer_send13_forged(struct __test_metadata *_metadata, FIXTURE_DATA(dtls13) *self,
			       const struct dkey13 *k)
{
	static uint8_t rec[256];
	long long fails = dstat("DtlsRxDecryptError");
	size_t rl = ref13_seal(k, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq, 23, "forged", 6,
			       ref13_min_pad(k, 6), rec);

	ASSERT_NE(0, rl);
	rec[rl - 1] ^= 0x01;
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	ASSERT_EQ(fails + 1, dstat_wait("DtlsRxDecryptError", fails + 1, 2000));
}

/*
 * Integrity limit (lowered to 6 forgeries): EPOLLPRI from half way, the
 * socket error EKEYEXPIRED once at the limit, then the epoch's records are
 * dropped unopened and counted, authentic or not.  Installing the next
 * epoch ends EPOLLPRI; its records are delivered, its count starts at 0.
 */
TEST_F(dtls13, rx_integrity_limit)
{
	long long expired = dstat("DtlsRxKeyExpired");
	struct dkey13 next = self->k_rx;
	struct dtls_key_usage rfc;
	socklen_t len = sizeof(int);
	uint64_t rx_max;
	uint8_t buf[64];
	int err;

	ASSERT_EQ(0, key_opt(self->fd, DTLS_KEY_LIMITS, 0, 6));
	for (int i = 1; i <= 6; i++) {
		peer_send13_forged(_metadata, self, &self->k_rx);
		expect_key_opt(_metadata, self->fd, DTLS_KEY_USAGE, 0, i);
		EXPECT_EQ(i < 3 ? 0 : POLLPRI, poll_events(self->fd) & POLLPRI) TH_LOG("%d", i);
		EXPECT_EQ(i < 6 ? 0 : POLLERR, poll_events(self->fd) & POLLERR) TH_LOG("%d", i);
		if (i == 4) {
			/* not at or below what the epoch has seen */
			EXPECT_EQ(-1, key_opt(self->fd, DTLS_KEY_LIMITS, 0, 4));
			EXPECT_EQ(EINVAL, errno);
			ASSERT_EQ(0, key_opt(self->fd, DTLS_KEY_LIMITS, 0, 6));
		}
		if (i == 2) {
			/* an authentic record in between still passes */
			peer_send13(_metadata, self, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq,
				    23, "real", 4, 0);
			expect_recv13(_metadata, self, 23, self->peer_seq++, "real", 4);
		}
	}
	/* the error, once */
	EXPECT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EKEYEXPIRED, errno);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err);
	EXPECT_EQ(0, poll_events(self->fd) & POLLERR);
	/* the epoch opens nothing more */
	peer_send13(_metadata, self, DTLS13_HDR_S | DTLS13_HDR_L, self->peer_seq++, 23, "late",
		    4, 0);
	ASSERT_EQ(expired + 1, dstat_wait("DtlsRxKeyExpired", expired + 1, 2000));
	ASSERT_EQ(0, wait_readable(self->fd, 50));
	EXPECT_EQ(POLLPRI, poll_events(self->fd) & POLLPRI);

	ASSERT_EQ(0, ref13_update(&next));
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &next, EPOCH13 + 1, 0));
	EXPECT_EQ(0, poll_events(self->fd) & POLLPRI);
	peer13_epoch(_metadata, self, &next, 0, 1);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_USAGE, 0, 0);
	rfc_limits(variant->cipher, &rfc, &rx_max);
	expect_key_opt(_metadata, self->fd, DTLS_KEY_LIMITS, rfc.tx_records, 6);
}

/*
 * The handshake's epoch added after the first application epoch, as the
 * previous one: a server hears a final flight the client resends because
 * our ACK was lost.  Once only, into an empty place, and only the epoch
 * right before the current one.
 */
TEST_F(dtls13, rx_previous_epoch_install)
{
	struct dkey13 e2, e4 = self->k_rx, e1;

	ASSERT_EQ(0, dkey13_derive(&e2, self->s, "peer-to-kernel-hs", 2));
	ASSERT_EQ(0, dkey13_derive(&e1, self->s, "peer-to-kernel-hs", 1));
	ASSERT_EQ(0, ref13_update(&e4));
	peer13_epoch(_metadata, self, &e2, 0, 0);	/* no keys yet */
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_RX, &e1, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e2, 2, 5));
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_RX, &e2, 2, 5));
	EXPECT_EQ(EBUSY, errno);
	peer13_epoch(_metadata, self, &e2, 5, 1);
	peer13_epoch(_metadata, self, &self->k_rx, 0, 1);	/* epoch 3 still current */
	peer13_epoch(_metadata, self, &e2, 6, 1);
	ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &e4, 4, 0));
	peer13_epoch(_metadata, self, &e4, 0, 1);	/* epoch 4 current */
	peer13_epoch(_metadata, self, &e2, 7, 0);	/* two back: gone */
	EXPECT_EQ(-1, dtls13_install(self->fd, DTLS_RX, &self->k_rx, 3, 0));
	EXPECT_EQ(EBUSY, errno);
}

/* ---------------------------------------------------------------------- */
/* Connection IDs (RFC 9146, RFC 9147 9): both versions, both ways        */

FIXTURE(cid) {
	int fd, peer;
	const struct cdesc *c;
	struct dkey k, k_rx;		/* DTLS 1.2: fd -> peer, peer -> fd */
	struct dkey13 k13, k13_rx;	/* DTLS 1.3 */
	uint8_t tx_cid[DTLS_CID_MAX_SIZE];	/* the peer's: fd sends it */
	uint8_t rx_cid[DTLS_CID_MAX_SIZE];	/* fd's: the peer sends it */
	uint64_t seq, peer_seq;
};

/* Each suite gets other CID lengths per direction, 0 included. */
FIXTURE_VARIANT(cid) {
	uint16_t version;
	uint16_t cipher;
	uint8_t tx_len, rx_len;
};

#define CID_VARIANTS(v, ver)								\
	FIXTURE_VARIANT_ADD(cid, v##_aes128gcm) {					\
		.version = ver, .cipher = DTLS_CIPHER_AES_GCM_128, .tx_len = 8, .rx_len = 8 }; \
	FIXTURE_VARIANT_ADD(cid, v##_aes256gcm) {					\
		.version = ver, .cipher = DTLS_CIPHER_AES_GCM_256, .tx_len = 4, .rx_len = 0 }; \
	FIXTURE_VARIANT_ADD(cid, v##_aes128ccm) {					\
		.version = ver, .cipher = DTLS_CIPHER_AES_CCM_128, .tx_len = 0, .rx_len = 5 }; \
	FIXTURE_VARIANT_ADD(cid, v##_aes128ccm8) {					\
		.version = ver, .cipher = DTLS_CIPHER_AES_CCM_8_128, .tx_len = 255, .rx_len = 1 }; \
	FIXTURE_VARIANT_ADD(cid, v##_chacha20poly1305) {				\
		.version = ver, .cipher = DTLS_CIPHER_CHACHA20_POLY1305, .tx_len = 1, .rx_len = 255 }

CID_VARIANTS(dtls12, DTLS_1_2_VERSION);
CID_VARIANTS(dtls13, DTLS_1_3_VERSION);

#define CID_EPOCH(v)	((v)->version == DTLS_1_3_VERSION ? EPOCH13 : 1)

static int set_cid(int fd, int opt, const uint8_t *cid, size_t len)
{
	struct dtls_cid v = { .len = len };

	memcpy(v.cid, cid, len);
	return setsockopt(fd, SOL_DTLS, opt, &v, 1 + len);
}

FIXTURE_SETUP(cid)
{
	uint16_t epoch = CID_EPOCH(variant);
	const struct cdesc13 *s;

	self->fd = self->peer = -1;
	self->c = cdesc_by_type(variant->cipher);
	ASSERT_NE(NULL, self->c);
	for (int i = 0; i < DTLS_CID_MAX_SIZE; i++) {
		self->tx_cid[i] = 0xc0 ^ i;
		self->rx_cid[i] = 0x5a + 3 * i;
	}
	ASSERT_EQ(0, udp_pair(SK_IPV4, SK_IPV4, &self->fd, &self->peer));
	ASSERT_EQ(0, set_cid(self->fd, DTLS_TX_CID, self->tx_cid, variant->tx_len))
		TH_LOG("DTLS_TX_CID: %s", strerror(errno));
	ASSERT_EQ(0, set_cid(self->fd, DTLS_RX_CID, self->rx_cid, variant->rx_len))
		TH_LOG("DTLS_RX_CID: %s", strerror(errno));
	if (variant->version == DTLS_1_3_VERSION) {
		s = cdesc13_by_type(variant->cipher);
		ASSERT_EQ(0, dkey13_derive(&self->k13, s, "cid kernel-to-peer", epoch));
		ASSERT_EQ(0, dkey13_derive(&self->k13_rx, s, "cid peer-to-kernel", epoch));
		ASSERT_EQ(0, dtls13_install(self->fd, DTLS_TX, &self->k13, epoch, 0));
		ASSERT_EQ(0, dtls13_install(self->fd, DTLS_RX, &self->k13_rx, epoch, 0));
	} else {
		dkey_derive(&self->k, self->c, "cid kernel-to-peer");
		dkey_derive(&self->k_rx, self->c, "cid peer-to-kernel");
		ASSERT_EQ(0, dtls_install(self->fd, DTLS_TX, &self->k, REC_NUM(epoch, 0)));
		ASSERT_EQ(0, dtls_install(self->fd, DTLS_RX, &self->k_rx, REC_NUM(epoch, 0)));
	}
	self->seq = self->peer_seq = 0;
}

FIXTURE_TEARDOWN(cid)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->peer >= 0)
		close(self->peer);
}

/*
 * The record the peer sends fd: with @cid (@cid_len bytes; none if 0) in
 * the version's format, random explicit nonce in 1.2, @pad zeros after
 * the content type where the format has one.
 */
static size_t cid_peer_rec(const FIXTURE_VARIANT(cid) *variant, FIXTURE_DATA(cid) *self,
			   const uint8_t *cid, size_t cid_len, uint64_t seq, uint8_t type,
			   const void *pt, size_t len, size_t pad, uint8_t *out)
{
	uint8_t ex[8];

	if (variant->version == DTLS_1_3_VERSION)
		return ref13_seal_cid(&self->k13_rx, DTLS13_HDR_S | DTLS13_HDR_L, cid, cid_len,
				      seq, type, pt, len,
				      pad + ref13_min_pad(&self->k13_rx, len), out);
	RAND_bytes(ex, sizeof(ex));
	if (!cid_len)
		return ref_seal(&self->k_rx, type, DTLS_1_2_VERSION, 1, seq, ex, pt, len, out);
	return ref12_cid_seal(&self->k_rx, type, 1, seq, ex, cid, cid_len, pt, len, pad, out);
}

/*
 * The peer gets exactly the reference's record for the next sequence
 * number (record number as explicit nonce, the least padding), and the
 * reference opens it: the peer's CID, the type, the content.
 */
static void cid_expect(struct __test_metadata *_metadata, const FIXTURE_VARIANT(cid) *variant,
		       FIXTURE_DATA(cid) *self, uint8_t type, const void *pt, size_t len)
{
	static uint8_t want[MAXREC], got[MAXREC], out[MAXREC];
	uint64_t seq = self->seq++;
	size_t cl = variant->tx_len, wl, ptlen = 0;
	const uint8_t *cid = NULL;
	uint8_t rtype = 0;
	struct rec_hdr h;
	struct rec13 r;
	ssize_t n;

	if (variant->version == DTLS_1_3_VERSION)
		wl = ref13_seal_cid(&self->k13, DTLS13_HDR_S | DTLS13_HDR_L, self->tx_cid, cl,
				    seq, type, pt, len, ref13_min_pad(&self->k13, len), want);
	else if (cl)
		wl = ref12_cid_seal(&self->k, type, 1, seq, NULL, self->tx_cid, cl, pt, len, 0,
				    want);
	else
		wl = ref_seal(&self->k, type, DTLS_1_2_VERSION, 1, seq, NULL, pt, len, want);
	ASSERT_NE(0, wl);
	n = recv_to(self->peer, got, sizeof(got), 2000);
	ASSERT_EQ((ssize_t)wl, n) TH_LOG("len %zu: peer recv %zd", len, n);
	ASSERT_EQ(0, memcmp(want, got, wl)) TH_LOG("len %zu: record differs from the reference", len);

	if (variant->version == DTLS_1_3_VERSION) {
		ASSERT_EQ(n, ref13_open_cid(&self->k13, got, n, cl, seq, &r, out));
		ASSERT_EQ(seq, r.seq);
		cid = r.cid;
		rtype = r.type;
		ptlen = r.ptlen;
	} else if (cl) {
		ASSERT_EQ(n, ref12_cid_open(&self->k, got, n, cl, &h, &cid, &rtype, out, &ptlen));
		ASSERT_EQ(seq, h.seq);
	} else {
		ASSERT_EQ(n, ref_open(&self->k, got, n, &h, out, &ptlen));
		ASSERT_EQ(seq, h.seq);
		rtype = h.type;
	}
	if (cl)
		ASSERT_EQ(0, memcmp(cid, self->tx_cid, cl));
	ASSERT_EQ(type, rtype);
	ASSERT_EQ(len, ptlen);
	ASSERT_EQ(0, memcmp(out, pt, len));
}

/* fd delivers @pt as one protected record of @type numbered @seq. */
static void cid_recv(struct __test_metadata *_metadata, const FIXTURE_VARIANT(cid) *variant,
		     FIXTURE_DATA(cid) *self, uint8_t type, uint64_t seq, const void *pt,
		     size_t len)
{
	expect_recv_protected(_metadata, self->fd, type, REC_NUM(CID_EPOCH(variant), seq), pt,
			      len);
}

static const size_t cid_sizes[] = { 0, 1, 15, 16, 17, 100, 1200, 9000, DTLS_MAX_PLAINTEXT };

/* Records sent carry the peer's CID in the version's format, byte for byte. */
TEST_F(cid, tx_wire)
{
	static const uint8_t types[] = { 23, 22, 21 };
	static uint8_t pt[DTLS_MAX_PLAINTEXT];

	for (size_t i = 0; i < sizeof(cid_sizes) / sizeof(cid_sizes[0]); i++) {
		size_t len = cid_sizes[i];
		uint8_t type = types[i % sizeof(types)];

		fill_pattern(pt, len, i);
		ASSERT_EQ((ssize_t)len, send_rec_type(self->fd, type, pt, len))
			TH_LOG("len %zu: %s", len, strerror(errno));
		cid_expect(_metadata, variant, self, type, pt, len);
	}
	/* a UDP_SEGMENT batch: every record as the reference's */
	fill_pattern(pt, 3000, 9);
	ASSERT_EQ(3000, send_gso_cmsg(self->fd, pt, 3000, 1100));
	for (size_t off = 0; off < 3000; off += 1100)
		cid_expect(_metadata, variant, self, 23, pt + off, off + 1100 > 3000 ? 800 : 1100);
}

/* Records with fd's CID, padded or not, reach userspace with their type. */
TEST_F(cid, rx_wire)
{
	static const uint8_t types[] = { 23, 22, 21 };
	static uint8_t pt[DTLS_MAX_PLAINTEXT], rec[MAXREC];

	for (size_t i = 0; i < sizeof(cid_sizes) / sizeof(cid_sizes[0]); i++) {
		size_t len = cid_sizes[i], pad = i % 3 ? (i * 37) % 200 : 0, rl;
		uint8_t type = types[i % sizeof(types)];

		fill_pattern(pt, len, i);
		rl = cid_peer_rec(variant, self, self->rx_cid, variant->rx_len, self->peer_seq,
				  type, pt, len, pad, rec);
		ASSERT_NE(0, rl);
		ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
		cid_recv(_metadata, variant, self, type, self->peer_seq++, pt, len);
	}
}

/* Send @rec and expect counter @name to grow by one and nothing to arrive. */
static void cid_drop(struct __test_metadata *_metadata, FIXTURE_DATA(cid) *self,
		     const uint8_t *rec, size_t rl, const char *name, const char *what)
{
	long long before = dstat(name);

	ASSERT_NE(0, rl);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	EXPECT_EQ(before + 1, dstat_wait(name, before + 1, 2000)) TH_LOG("%s", what);
	EXPECT_EQ(0, wait_readable(self->fd, 20)) TH_LOG("%s: delivered", what);
}

/*
 * Dropped and counted: another CID (DtlsRxUnknownCid); a CID on a socket
 * without one, none on a socket with one, and an authentic record of
 * padding alone (DtlsRxMalformed).  A good record passes after them, and
 * after one with another CID in its datagram.
 */
TEST_F(cid, rx_drops)
{
	static uint8_t rec[MAXREC];
	uint8_t other[DTLS_CID_MAX_SIZE], pt[64];
	size_t cl = variant->rx_len, rl;
	long long before;

	fill_pattern(pt, sizeof(pt), 1);
	if (cl) {
		memcpy(other, self->rx_cid, cl);
		other[cl - 1] ^= 0x80;
		cid_drop(_metadata, self,
			 rec, cid_peer_rec(variant, self, other, cl, self->peer_seq++, 23, pt,
					   sizeof(pt), 0, rec),
			 "DtlsRxUnknownCid", "another CID");
		cid_drop(_metadata, self,
			 rec, cid_peer_rec(variant, self, NULL, 0, self->peer_seq++, 23, pt,
					   sizeof(pt), 0, rec),
			 "DtlsRxMalformed", "no CID");
		cid_drop(_metadata, self,
			 rec, cid_peer_rec(variant, self, self->rx_cid, cl, self->peer_seq++, 0,
					   NULL, 0, 6, rec),
			 "DtlsRxMalformed", "padding alone");
		/* another CID, then a good record, in one datagram: that one passes */
		rl = cid_peer_rec(variant, self, other, cl, self->peer_seq++, 23, pt, sizeof(pt),
				  0, rec);
		ASSERT_NE(0, rl);
		rl += cid_peer_rec(variant, self, self->rx_cid, cl, self->peer_seq, 23, pt,
				   sizeof(pt), 0, rec + rl);
		before = dstat("DtlsRxUnknownCid");
		ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
		cid_recv(_metadata, variant, self, 23, self->peer_seq++, pt, sizeof(pt));
		EXPECT_EQ(before + 1, dstat_wait("DtlsRxUnknownCid", before + 1, 2000));
	} else {
		memset(other, 0x33, 4);
		cid_drop(_metadata, self,
			 rec, cid_peer_rec(variant, self, other, 4, self->peer_seq++, 23, pt,
					   sizeof(pt), 0, rec),
			 "DtlsRxMalformed", "a CID on a socket without one");
	}
	ASSERT_EQ(0, wait_readable(self->fd, 0));
	rl = cid_peer_rec(variant, self, self->rx_cid, cl, self->peer_seq, 23, pt, sizeof(pt), 0,
			  rec);
	ASSERT_EQ((ssize_t)rl, send(self->peer, rec, rl, 0));
	cid_recv(_metadata, variant, self, 23, self->peer_seq++, pt, sizeof(pt));
}

/*
 * The options: what they return, their errors; fixed once a direction has
 * keys.
 */
TEST_F(cid, sockopt)
{
	struct dtls_cid v;
	socklen_t len = sizeof(v);
	int fd;

	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_TX_CID, &v, &len));
	ASSERT_EQ(1 + variant->tx_len, len);
	ASSERT_EQ(variant->tx_len, v.len);
	ASSERT_EQ(0, memcmp(v.cid, self->tx_cid, v.len));
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_DTLS, DTLS_RX_CID, &v, &len));
	ASSERT_EQ(1 + variant->rx_len, len);
	ASSERT_EQ(0, memcmp(v.cid, self->rx_cid, v.len));
	EXPECT_EQ(-1, set_cid(self->fd, DTLS_TX_CID, self->tx_cid, 3));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, set_cid(self->fd, DTLS_RX_CID, self->rx_cid, 3));
	EXPECT_EQ(EBUSY, errno);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(fd, 0);
	memset(&v, 0, sizeof(v));
	v.len = 3;
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX_CID, &v, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_TX_CID, &v, 3));	/* 1 + 3 needed */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, sizeof(v) + 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, 4));
	len = 3;
	EXPECT_EQ(-1, getsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, &len));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, &len));
	EXPECT_EQ(4, len);
	/* set again while no keys are in: the last one counts; 0 is none */
	v.len = 0;
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, 1));
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_DTLS, DTLS_RX_CID, &v, &len));
	EXPECT_EQ(1, len);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* /proc/net/dtls: one line per socket                                    */

#define PROC_FIELDS 16

static ino_t fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* The fields of the line of the socket with inode @ino; 0 if none. */
static int proc_dtls_line(ino_t ino, char f[PROC_FIELDS][520])
{
	char line[2048];
	int found = 0;
	FILE *p;

	p = fopen("/proc/net/dtls", "r");
	if (!p)
		return -1;
	if (!fgets(line, sizeof(line), p)) {	/* the header */
		fclose(p);
		return -1;
	}
	while (!found && fgets(line, sizeof(line), p)) {
		int n = 0;

		for (char *t = strtok(line, " \n"); t && n < PROC_FIELDS; t = strtok(NULL, " \n"))
			snprintf(f[n++], 520, "%s", t);
		found = n == PROC_FIELDS && strtoull(f[PROC_FIELDS - 1], NULL, 10) == ino;
	}
	fclose(p);
	return found;
}

static void sockaddr_str(int fd, int peer, char *out, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char a[INET_ADDRSTRLEN];

	if (peer)
		getpeername(fd, (struct sockaddr *)&sin, &sl);
	else
		getsockname(fd, (struct sockaddr *)&sin, &sl);
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	snprintf(out, len, "%s:%u", a, ntohs(sin.sin_port));
}

/*
 * A line for a socket from its first SOL_DTLS option on, dashes for what
 * it does not have yet; addresses, version, cipher, epochs and next record
 * numbers, window, CIDs and the socket's own totals; gone once it closes.
 */
TEST(proc_net_dtls_lines)
{
	static const char *const head = "local remote version cipher tx_epoch tx_next rx_epoch "
		"rx_next window tx_cid rx_cid tx_records rx_records rx_plaintext rx_dropped inode\n";
	const struct cdesc *c = cdesc_by_type(DTLS_CIPHER_AES_GCM_128);
	char f[PROC_FIELDS][520], line[256], want[64];
	uint8_t cid[3] = { 0xc0, 0x01, 0xfe }, pt[100], rec[300];
	struct dkey k, k_rx;
	uint32_t window = 256;
	int fd, peer;
	size_t rl;
	ino_t ino;
	FILE *p;

	p = fopen("/proc/net/dtls", "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(line, sizeof(line), p));
	fclose(p);
	ASSERT_STREQ(head, line);

	ASSERT_EQ(0, udp_pair(SK_IPV4, SK_IPV4, &fd, &peer));
	ASSERT_EQ(0, proc_dtls_line(fd_ino(fd), f));		/* plain UDP: not listed */
	ASSERT_EQ(0, setsockopt(fd, SOL_DTLS, DTLS_RX_REPLAY_WINDOW, &window, sizeof(window)));
	ASSERT_EQ(1, proc_dtls_line(fd_ino(fd), f));
	for (int i = 2; i < 8; i++) {
		EXPECT_STREQ("-", f[i]) TH_LOG("field %d", i);
	}
	EXPECT_STREQ("256", f[8]);

	ASSERT_EQ(0, set_cid(fd, DTLS_TX_CID, cid, sizeof(cid)));
	dkey_derive(&k, c, "proc kernel-to-peer");
	dkey_derive(&k_rx, c, "proc peer-to-kernel");
	ASSERT_EQ(0, dtls_install(fd, DTLS_TX, &k, REC_NUM(1, 40)));
	ASSERT_EQ(0, dtls_install(fd, DTLS_RX, &k_rx, REC_NUM(1, 7)));
	fill_pattern(pt, sizeof(pt), 3);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ((ssize_t)sizeof(pt), send(fd, pt, sizeof(pt), 0));
		ASSERT_LT(0, recv_to(peer, rec, sizeof(rec), 2000));
	}
	for (int i = 0; i < 3; i++) {
		rl = ref_seal_rnd(&k_rx, 23, 1, 7 + i, pt, sizeof(pt), rec);
		if (i == 1)
			rec[rl - 1] ^= 1;	/* forged */
		ASSERT_EQ((ssize_t)rl, send(peer, rec, rl, 0));
	}
	for (int i = 0; i < 2; i++)
		ASSERT_EQ((ssize_t)sizeof(pt), recv_to(fd, rec, sizeof(rec), 2000));

	ASSERT_EQ(1, proc_dtls_line(fd_ino(fd), f));
	sockaddr_str(fd, 0, want, sizeof(want));
	EXPECT_STREQ(want, f[0]);
	sockaddr_str(fd, 1, want, sizeof(want));
	EXPECT_STREQ(want, f[1]);
	EXPECT_STREQ("1.2", f[2]);
	EXPECT_STREQ("aes128gcm", f[3]);
	EXPECT_STREQ("1", f[4]);
	EXPECT_STREQ("43", f[5]);	/* tx_next: 40 + 3 */
	EXPECT_STREQ("1", f[6]);
	EXPECT_STREQ("10", f[7]);	/* rx_next: one past 9 */
	EXPECT_STREQ("256", f[8]);
	EXPECT_STREQ("c001fe", f[9]);
	EXPECT_STREQ("-", f[10]);
	EXPECT_STREQ("3", f[11]);
	EXPECT_STREQ("2", f[12]);
	EXPECT_STREQ("0", f[13]);
	EXPECT_STREQ("1", f[14]);
	ino = fd_ino(fd);
	close(fd);
	close(peer);
	EXPECT_EQ(0, proc_dtls_line(ino, f));
}

TEST_HARNESS_MAIN
