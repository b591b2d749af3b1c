// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the pure logic: the replay window, nonce and AAD
 * construction, record framing and the per-record checks; and of the
 * receive hook for a socket that close() has already released.  Built into
 * dtls.ko when the kernel has CONFIG_KUNIT; the suites run at load time.
 */

#include <crypto/aead.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "rx.h"

/* ---- replay window ---------------------------------------------------- */

static struct dtls_replay *replay_new(struct kunit *test, u32 size, u64 next)
{
	struct dtls_replay *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, dtls_replay_init(r, size, next), 0);
	return r;
}

/* check() is the lockless hint; update() must agree with it and decide. */
static bool replay_accept(struct dtls_replay *r, u64 seq)
{
	bool hint = dtls_replay_check(r, seq);
	bool newest;
	bool fresh = dtls_replay_update(r, seq, &newest);

	return hint && fresh;
}

static void replay_empty_window(struct kunit *test)
{
	struct dtls_replay *r = replay_new(test, 64, 0);

	KUNIT_EXPECT_TRUE(test, replay_accept(r, 0));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, 0));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, 5));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, 3));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, 3));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, 5));
	KUNIT_EXPECT_EQ(test, dtls_replay_next(r), 6ULL);
	dtls_replay_free(r);
}

static void replay_initial_next_counts_as_seen(struct kunit *test)
{
	struct dtls_replay *r = replay_new(test, 1024, 100);

	KUNIT_EXPECT_FALSE(test, dtls_replay_check(r, 99));
	KUNIT_EXPECT_FALSE(test, dtls_replay_check(r, 0));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, 99));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, 100));
	/* later numbers in the word of 99 were not marked */
	KUNIT_EXPECT_TRUE(test, replay_accept(r, 127));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, 101));
	dtls_replay_free(r);
}

static void replay_exactly_one_window_behind(struct kunit *test)
{
	const u32 size = 1024;
	struct dtls_replay *r = replay_new(test, size, 0);
	const u64 top = 5000;

	KUNIT_ASSERT_TRUE(test, replay_accept(r, top));
	/* the window holds top + 1 - size .. top */
	KUNIT_EXPECT_TRUE(test, replay_accept(r, top + 1 - size));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, top - size));
	KUNIT_EXPECT_FALSE(test, dtls_replay_check(r, top - size));
	dtls_replay_free(r);
}

static void replay_jump_past_window(struct kunit *test)
{
	/* a 64-record window lives in a ring of two 64-bit words */
	struct dtls_replay *r = replay_new(test, 64, 0);
	const u64 far = 10 + 5 * 128;	/* same ring bit as 10 */

	KUNIT_ASSERT_TRUE(test, replay_accept(r, 10));
	KUNIT_ASSERT_TRUE(test, replay_accept(r, 11));
	KUNIT_ASSERT_TRUE(test, replay_accept(r, far));
	/* the bit 11 left behind was cleared when the window moved */
	KUNIT_EXPECT_TRUE(test, replay_accept(r, far + 1));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, 11));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, far - 1));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, far - 1));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, far + 1 - 63));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, far + 1 - 64));
	dtls_replay_free(r);
}

static void replay_near_seq_max(struct kunit *test)
{
	struct dtls_replay *r = replay_new(test, 1024, DTLS_SEQ_MAX - 1);

	KUNIT_EXPECT_FALSE(test, replay_accept(r, DTLS_SEQ_MAX - 2));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, DTLS_SEQ_MAX));
	KUNIT_EXPECT_TRUE(test, replay_accept(r, DTLS_SEQ_MAX - 1));
	KUNIT_EXPECT_FALSE(test, replay_accept(r, DTLS_SEQ_MAX));
	KUNIT_EXPECT_EQ(test, dtls_replay_next(r), DTLS_SEQ_MAX + 1);
	dtls_replay_free(r);
}

/* Compare with a plain model: a set of accepted numbers and the highest. */
/* "newest": the record moved the window's top, what lets a peer move */
static void replay_newest(struct kunit *test)
{
	struct dtls_replay *r = replay_new(test, 64, 10);
	bool newest;

	KUNIT_EXPECT_TRUE(test, dtls_replay_update(r, 12, &newest));
	KUNIT_EXPECT_TRUE(test, newest);
	KUNIT_EXPECT_TRUE(test, dtls_replay_update(r, 11, &newest));
	KUNIT_EXPECT_FALSE(test, newest);
	KUNIT_EXPECT_FALSE(test, dtls_replay_update(r, 12, &newest));
	KUNIT_EXPECT_FALSE(test, newest);
	KUNIT_EXPECT_TRUE(test, dtls_replay_update(r, 13, &newest));
	KUNIT_EXPECT_TRUE(test, newest);
	dtls_replay_free(r);
}

static void replay_matches_model(struct kunit *test)
{
	const u32 size = 256;
	struct dtls_replay *r = replay_new(test, size, 0);
	unsigned long *seen = kunit_kzalloc(test, BITS_TO_LONGS(8400) *
					    sizeof(long), GFP_KERNEL);
	u64 next = 0, seq;
	u32 x = 1, back;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, seen);
	for (i = 0; i < 20000 && next < 8000; i++) {
		bool want;

		x = x * 1103515245 + 12345;	/* deterministic */
		back = (x >> 8) % 300;
		seq = next + 20 > back ? next + 20 - back : 0;
		want = seq >= next ||
		       (next - seq <= size && !test_bit(seq, seen));
		KUNIT_ASSERT_EQ_MSG(test, replay_accept(r, seq), want,
				    "seq %llu next %llu", seq, next);
		if (want) {
			__set_bit(seq, seen);
			if (seq >= next)
				next = seq + 1;
		}
	}
	KUNIT_EXPECT_GE(test, next, 8000ULL);
	dtls_replay_free(r);
}

/* ---- nonce and AAD ---------------------------------------------------- */

static const u8 rn[8] = { 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34 };
static const u8 expl[8] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7 };

static void crypto_for(struct dtls_crypto *c, u16 cipher, const u8 *iv)
{
	c->desc = dtls_cipher_find(cipher);
	memcpy(c->iv, iv, c->desc->iv_size);
}

static void nonce_gcm_is_salt_then_explicit(struct kunit *test)
{
	static const u8 salt[4] = { 1, 2, 3, 4 };
	static const u8 want[12] = { 1, 2, 3, 4, 0xa0, 0xa1, 0xa2, 0xa3,
				     0xa4, 0xa5, 0xa6, 0xa7 };
	struct dtls_crypto c = {};
	u8 iv[DTLS_MAX_IV_SIZE];

	crypto_for(&c, DTLS_CIPHER_AES_GCM_128, salt);
	dtls_make_iv(&c, rn, expl, iv);
	KUNIT_EXPECT_MEMEQ(test, iv, want, sizeof(want));
}

static void nonce_ccm_has_flags_and_zero_counter(struct kunit *test)
{
	static const u8 salt[4] = { 1, 2, 3, 4 };
	static const u8 want[16] = { 2, 1, 2, 3, 4, 0xa0, 0xa1, 0xa2, 0xa3,
				     0xa4, 0xa5, 0xa6, 0xa7, 0, 0, 0 };
	struct dtls_crypto c = {};
	u8 iv[DTLS_MAX_IV_SIZE];

	crypto_for(&c, DTLS_CIPHER_AES_CCM_8_128, salt);
	dtls_make_iv(&c, rn, expl, iv);
	KUNIT_EXPECT_MEMEQ(test, iv, want, sizeof(want));
}

static void nonce_chacha_xors_record_number(struct kunit *test)
{
	static const u8 fixed[12] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
				      0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b };
	static const u8 want[12] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x14,
				     0x16, 0x17, 0x18, 0x19, 0x08, 0x2f };
	struct dtls_crypto c = {};
	u8 iv[DTLS_MAX_IV_SIZE];

	crypto_for(&c, DTLS_CIPHER_CHACHA20_POLY1305, fixed);
	dtls_make_iv(&c, rn, expl, iv);
	KUNIT_EXPECT_MEMEQ(test, iv, want, sizeof(want));
}

static void aad_layout(struct kunit *test)
{
	static const u8 want[13] = { 0x00, 0x01, 0, 0, 0, 0, 0x12, 0x34,
				     23, 0xfe, 0xfd, 0x01, 0x02 };
	u8 aad[DTLS_AAD_SIZE];

	dtls_make_aad(aad, rn, 23, 0x0102);
	KUNIT_EXPECT_MEMEQ(test, aad, want, sizeof(want));
}

static void cipher_table_sizes(struct kunit *test)
{
#define EXPECT_INFO_SIZE(cipher, version, type)				\
	KUNIT_EXPECT_EQ(test, dtls_info_size(dtls_cipher_find(cipher), version), \
			sizeof(type))
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_GCM_128, DTLS_1_2_VERSION,
			 struct dtls12_crypto_info_aes_gcm_128);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_GCM_256, DTLS_1_2_VERSION,
			 struct dtls12_crypto_info_aes_gcm_256);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_CCM_8_128, DTLS_1_2_VERSION,
			 struct dtls12_crypto_info_aes_ccm_8_128);
	EXPECT_INFO_SIZE(DTLS_CIPHER_CHACHA20_POLY1305, DTLS_1_2_VERSION,
			 struct dtls12_crypto_info_chacha20_poly1305);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_GCM_128, DTLS_1_3_VERSION,
			 struct dtls13_crypto_info_aes_gcm_128);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_GCM_256, DTLS_1_3_VERSION,
			 struct dtls13_crypto_info_aes_gcm_256);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_CCM_128, DTLS_1_3_VERSION,
			 struct dtls13_crypto_info_aes_ccm_128);
	EXPECT_INFO_SIZE(DTLS_CIPHER_AES_CCM_8_128, DTLS_1_3_VERSION,
			 struct dtls13_crypto_info_aes_ccm_8_128);
	EXPECT_INFO_SIZE(DTLS_CIPHER_CHACHA20_POLY1305, DTLS_1_3_VERSION,
			 struct dtls13_crypto_info_chacha20_poly1305);
#undef EXPECT_INFO_SIZE
	KUNIT_EXPECT_NULL(test, dtls_cipher_find(0));
	KUNIT_EXPECT_NULL(test, dtls_cipher_find(55));
}

/* ---- framing and per-record checks ------------------------------------ */

static struct sk_buff *skb_with(struct kunit *test, const u8 *data,
				unsigned int len)
{
	struct sk_buff *skb = alloc_skb(len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, data, len);
	return skb;
}

static void hdr(u8 *rec, u8 type, u16 version, u64 rec_num, u16 len)
{
	rec[0] = type;
	put_unaligned_be16(version, rec + 1);
	put_unaligned_be64(rec_num, rec + 3);
	put_unaligned_be16(len, rec + 11);
}

#define TEST_EPOCH	1

static struct dtls_rx_keys *rx_gcm(struct kunit *test);
static void rx_free(struct dtls_rx_keys *rx);
static struct dtls_rx_req *req_new(struct kunit *test, struct dtls_rx_keys *rx);

/* Framing, through the one function that opens records */
static void framing(struct kunit *test)
{
	struct dtls_rx_keys *rx = rx_gcm(test);
	struct dtls_rx_req *rq = req_new(test, rx);
	u8 buf[64] = {};
	struct sk_buff *skb;

	/* two epoch-0 records, 3 and 0 body bytes, then nothing */
	hdr(buf, 22, DTLS_1_2_VERSION, 1, 3);
	hdr(buf + 16, 21, DTLS_1_2_VERSION, 2, 0);
	skb = skb_with(test, buf, 29);
	KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, 0, skb->len),
			DTLS_PASS_CLEAR);
	KUNIT_EXPECT_EQ(test, rq->rec.body, 13U);
	KUNIT_EXPECT_EQ(test, rq->rec.ptlen, 3U);
	KUNIT_EXPECT_EQ(test, rq->rec.end, 16U);
	KUNIT_EXPECT_EQ(test, rq->rec.type, 22);
	KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, 16, skb->len),
			DTLS_PASS_CLEAR);
	KUNIT_EXPECT_EQ(test, rq->rec.ptlen, 0U);
	KUNIT_EXPECT_EQ(test, rq->rec.end, 29U);
	KUNIT_EXPECT_EQ(test, rq->rec.rec_num, 2ULL);
	kfree_skb(skb);

	/* a header one byte short: the rest of the datagram goes */
	skb = skb_with(test, buf, 12);
	KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, 0, skb->len),
			DTLS_DROP_MALFORMED);
	KUNIT_EXPECT_EQ(test, rq->rec.end, 12U);
	kfree_skb(skb);

	/* a length one past the end of the datagram */
	hdr(buf, 22, DTLS_1_2_VERSION, 1, 4);
	skb = skb_with(test, buf, 16);
	KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, 0, skb->len),
			DTLS_DROP_MALFORMED);
	KUNIT_EXPECT_EQ(test, rq->rec.end, 16U);
	/* ... or past the end of its datagram in a batch */
	KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, 0, 15),
			DTLS_DROP_MALFORMED);
	KUNIT_EXPECT_EQ(test, rq->rec.end, 15U);
	kfree_skb(skb);
	rx_free(rx);
}

static struct dtls_rx_keys *rx_gcm(struct kunit *test)
{
	struct dtls12_crypto_info_aes_gcm_128 ci = {
		.info.version = DTLS_1_2_VERSION,
		.info.cipher_type = DTLS_CIPHER_AES_GCM_128,
		.rec_seq = { 0, TEST_EPOCH, 0, 0, 0, 0, 0, 1 },
	};
	struct dtls_rx_keys *rx;

	memset(ci.key, 0x42, sizeof(ci.key));
	memset(ci.salt, 0x17, sizeof(ci.salt));
	rx = dtls_rx_keys_create(dtls_cipher_find(ci.info.cipher_type),
				 (union dtls_crypto_info_all *)&ci, 64,
				 &(struct dtls_cid){});
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rx);
	return rx;
}

static void rx_free(struct dtls_rx_keys *rx)
{
	dtls_rx_keys_free(rx);
}

/* Seal @ptlen bytes into @rec as record @seq with the RX keys. */
static unsigned int seal(struct kunit *test, struct dtls_rx_keys *rx, u8 *rec,
			 u64 seq, unsigned int ptlen)
{
	struct dtls_crypto *c = &dtls_rx_cur_locked(rx)->crypto;
	unsigned int len = DTLS_EXPLICIT_NONCE_SIZE + ptlen + 16;
	struct aead_request *req;
	struct scatterlist sg[2];
	u8 *aad = kunit_kzalloc(test, DTLS_AAD_SIZE, GFP_KERNEL);
	u8 iv[DTLS_MAX_IV_SIZE];
	DECLARE_CRYPTO_WAIT(wait);

	hdr(rec, 23, DTLS_1_2_VERSION, dtls_rec_num(TEST_EPOCH, seq), len);
	memcpy(rec + DTLS_HEADER_SIZE, rec + DTLS_HDR_EPOCH, 8);
	memset(rec + DTLS_HEADER_SIZE + 8, 'p', ptlen);
	dtls_make_iv(c, rec + DTLS_HDR_EPOCH, rec + DTLS_HEADER_SIZE, iv);
	dtls_make_aad(aad, rec + DTLS_HDR_EPOCH, 23, ptlen);
	sg_init_table(sg, 2);
	sg_set_buf(&sg[0], aad, DTLS_AAD_SIZE);
	sg_set_buf(&sg[1], rec + DTLS_HEADER_SIZE + 8, ptlen + 16);
	req = aead_request_alloc(c->aead, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, req);
	aead_request_set_callback(req, 0, crypto_req_done, &wait);
	aead_request_set_ad(req, DTLS_AAD_SIZE);
	aead_request_set_crypt(req, sg, sg, ptlen, iv);
	KUNIT_ASSERT_EQ(test, crypto_wait_req(crypto_aead_encrypt(req), &wait),
			0);
	aead_request_free(req);
	return len;
}

/* A request of the kind the UDP_GRO reader uses, which the test waits for */
static struct dtls_rx_req *req_new(struct kunit *test, struct dtls_rx_keys *rx)
{
	struct dtls_rx_req *rq;

	rq = kunit_kzalloc(test, sizeof(*rq) +
			   rx->reqsize, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rq);
	dtls_rx_req_init(rq);
	return rq;
}

/*
 * dtls_rec_open() with @rq on the record at the start of @skb and, if the
 * AEAD went async, its completion.
 */
static enum dtls_verdict open_with(struct kunit *test, struct dtls_rx_keys *rx,
				   struct dtls_rx_req *rq, struct sk_buff *skb)
{
	enum dtls_verdict verdict;
	DECLARE_CRYPTO_WAIT(wait);

	rq->done = crypto_req_done;
	rq->done_data = &wait;
	verdict = dtls_rec_open(rx, rq, skb, 0, skb->len);
	if (verdict == DTLS_PENDING)
		verdict = dtls_rec_opened(rx, &rq->rec,
					  crypto_wait_req(-EINPROGRESS, &wait));
	KUNIT_EXPECT_EQ(test, rq->rec.end, skb->len);
	return verdict;
}

static enum dtls_verdict open_skb(struct kunit *test, struct dtls_rx_keys *rx,
				  struct sk_buff *skb)
{
	return open_with(test, rx, req_new(test, rx), skb);
}

/*
 * @data as a skb of @head linear bytes, then @n page fragments of @frag[i]
 * bytes, each in a page of its own at an odd offset.
 */
static struct sk_buff *skb_paged(struct kunit *test, const u8 *data,
				 unsigned int head, const unsigned int *frag,
				 unsigned int n)
{
	struct sk_buff *skb = alloc_skb(head, GFP_KERNEL);
	unsigned int i, off = head;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, data, head);
	for (i = 0; i < n; i++) {
		struct page *page = alloc_page(GFP_KERNEL);
		unsigned int pg_off = 7 + 64 * i;

		KUNIT_ASSERT_NOT_NULL(test, page);
		memcpy(page_address(page) + pg_off, data + off, frag[i]);
		skb_add_rx_frag(skb, i, page, pg_off, frag[i], PAGE_SIZE);
		off += frag[i];
	}
	return skb;
}

/* The same for a record in linear memory, opened in place there. */
static enum dtls_verdict open_rec(struct kunit *test, struct dtls_rx_keys *rx,
				  u8 *rec, unsigned int len)
{
	unsigned int size = DTLS_HEADER_SIZE + len;
	struct sk_buff *skb = alloc_skb(size, GFP_KERNEL);
	enum dtls_verdict verdict;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, rec, size);
	verdict = open_skb(test, rx, skb);
	memcpy(rec, skb->data, size);
	kfree_skb(skb);
	return verdict;
}

static void record_checks(struct kunit *test)
{
	struct dtls_rx_keys *rx = rx_gcm(test);
	u8 *rec = kunit_kzalloc(test, 256, GFP_KERNEL);
	unsigned int len;

	KUNIT_ASSERT_NOT_NULL(test, rec);

	hdr(rec, 24, DTLS_1_2_VERSION, dtls_rec_num(TEST_EPOCH, 2), 40);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 40), DTLS_DROP_MALFORMED);
	hdr(rec, 22, DTLS_1_0_VERSION, 7, 10);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 10), DTLS_PASS_CLEAR);
	hdr(rec, 22, 0x0303, 7, 10);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 10), DTLS_DROP_BAD_VERSION);
	hdr(rec, 23, DTLS_1_2_VERSION, 7, 10);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 10), DTLS_DROP_MALFORMED);
	hdr(rec, 23, DTLS_1_0_VERSION, dtls_rec_num(TEST_EPOCH, 2), 40);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 40), DTLS_DROP_BAD_VERSION);
	hdr(rec, 23, DTLS_1_2_VERSION, dtls_rec_num(TEST_EPOCH + 1, 2), 40);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 40),
			DTLS_DROP_UNKNOWN_EPOCH);
	hdr(rec, 23, DTLS_1_2_VERSION, dtls_rec_num(TEST_EPOCH, 2), 23);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, 23), DTLS_DROP_MALFORMED);

	/* authentic, then replayed; a forgery does not move the window */
	len = seal(test, rx, rec, 2, 20);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, len), DTLS_PASS);
	len = seal(test, rx, rec, 2, 20);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, len), DTLS_DROP_REPLAY);
	len = seal(test, rx, rec, 1000, 20);
	rec[len + DTLS_HEADER_SIZE - 1] ^= 1;
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, len),
			DTLS_DROP_FORGED);
	KUNIT_EXPECT_EQ(test, dtls_replay_next(&dtls_rx_cur_locked(rx)->replay),
			3ULL);
	len = seal(test, rx, rec, 0, 20);
	KUNIT_EXPECT_EQ(test, open_rec(test, rx, rec, len), DTLS_DROP_REPLAY);
	rx_free(rx);
}

/*
 * A record whose body is spread over the linear part and two page
 * fragments, as a datagram cut from a GRO batch can be, is opened in place
 * in those pages.  @flip: bit to flip in the second fragment, or -1.
 */
static enum dtls_verdict open_paged(struct kunit *test, struct dtls_rx_keys *rx,
				    u64 seq, int flip, bool *plain)
{
	const unsigned int ptlen = 300, head = DTLS_HEADER_SIZE + 8 + 5;
	const unsigned int frag0 = 100, pg_off[2] = { 7, PAGE_SIZE - 250 };
	u8 *rec = kunit_kzalloc(test, 512, GFP_KERNEL);
	u8 *pt = kunit_kzalloc(test, ptlen, GFP_KERNEL);
	unsigned int len, size, frag1, i;
	enum dtls_verdict verdict;
	struct page *pages[2];
	struct sk_buff *skb;

	KUNIT_ASSERT_NOT_NULL(test, rec);
	KUNIT_ASSERT_NOT_NULL(test, pt);
	len = seal(test, rx, rec, seq, ptlen);
	size = DTLS_HEADER_SIZE + len;
	frag1 = size - head - frag0;
	if (flip >= 0)
		rec[head + frag0 + flip / 8] ^= 1 << (flip % 8);

	skb = alloc_skb(head, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, rec, head);
	for (i = 0; i < 2; i++) {
		unsigned int n = i ? frag1 : frag0;

		pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		memcpy(page_address(pages[i]) + pg_off[i],
		       rec + head + (i ? frag0 : 0), n);
		skb_add_rx_frag(skb, i, pages[i], pg_off[i], n, PAGE_SIZE);
	}
	KUNIT_ASSERT_EQ(test, skb->len, size);

	verdict = open_skb(test, rx, skb);
	KUNIT_ASSERT_EQ(test, skb_copy_bits(skb, DTLS_HEADER_SIZE + 8, pt,
					    ptlen), 0);
	*plain = !memchr_inv(pt, 'p', ptlen);
	kfree_skb(skb);
	return verdict;
}

static void open_in_pages(struct kunit *test)
{
	struct dtls_rx_keys *rx = rx_gcm(test);
	bool plain;

	KUNIT_EXPECT_EQ(test, open_paged(test, rx, 5, -1, &plain),
			DTLS_PASS);
	KUNIT_EXPECT_TRUE(test, plain);
	/* a flipped bit in the second fragment: the tag covers it */
	KUNIT_EXPECT_EQ(test, open_paged(test, rx, 6, 8 * 40 + 3, &plain),
			DTLS_DROP_FORGED);
	KUNIT_EXPECT_EQ(test, open_paged(test, rx, 6, -1, &plain),
			DTLS_PASS);
	KUNIT_EXPECT_TRUE(test, plain);
	rx_free(rx);
}

/*
 * Headers where a UDP_GRO batch may put them: across the linear part and
 * a fragment, across two fragments, and inside one (read in place).
 */
static void framing_in_pages(struct kunit *test)
{
	static const unsigned int frag[] = { 20, 21 };
	struct dtls_rx_keys *rx = rx_gcm(test);
	struct dtls_rx_req *rq = req_new(test, rx);
	static const struct { u8 type; u16 len; unsigned int off; } recs[] = {
		{ 22, 3, 0 }, { 21, 4, 16 }, { 22, 0, 33 },
	};
	u8 buf[46] = {};
	struct sk_buff *skb;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(recs); i++)
		hdr(buf + recs[i].off, recs[i].type, DTLS_1_2_VERSION, i + 1,
		    recs[i].len);
	skb = skb_paged(test, buf, 5, frag, ARRAY_SIZE(frag));
	KUNIT_ASSERT_EQ(test, skb->len, sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(recs); i++) {
		KUNIT_EXPECT_EQ(test, dtls_rec_open(rx, rq, skb, recs[i].off,
						    skb->len),
				DTLS_PASS_CLEAR);
		KUNIT_EXPECT_EQ(test, rq->rec.type, recs[i].type);
		KUNIT_EXPECT_EQ(test, rq->rec.rec_num, (u64)i + 1);
		KUNIT_EXPECT_EQ(test, rq->rec.ptlen, (unsigned int)recs[i].len);
		KUNIT_EXPECT_EQ(test, rq->rec.end,
				recs[i].off + DTLS_HEADER_SIZE + recs[i].len);
	}
	kfree_skb(skb);
	rx_free(rx);
}

/*
 * One request opens record after record, as the reader's and each CPU's
 * slot do: a body in one piece, one in three, then one again.  The end
 * mark a shorter list left must not cut a longer one short.
 */
static void one_request_many_records(struct kunit *test)
{
	const unsigned int ptlen = 300, head = DTLS_HEADER_SIZE + 8 + 5;
	const unsigned int frag[] = { 100, 150, 0 };
	struct dtls_rx_keys *rx = rx_gcm(test);
	struct dtls_rx_req *rq = req_new(test, rx);
	u8 *rec = kunit_kzalloc(test, 512, GFP_KERNEL);
	unsigned int len, size, i, nfrag;
	struct sk_buff *skb;
	u8 pt[300];

	KUNIT_ASSERT_NOT_NULL(test, rec);
	for (i = 0; i < 3; i++) {
		len = seal(test, rx, rec, 20 + i, ptlen);
		size = DTLS_HEADER_SIZE + len;
		if (i == 1) {
			unsigned int f[3] = { frag[0], frag[1],
					      size - head - frag[0] - frag[1] };

			skb = skb_paged(test, rec, head, f, 3);
			nfrag = 3;
		} else {
			skb = skb_with(test, rec, size);
			nfrag = 0;
		}
		KUNIT_ASSERT_EQ(test, skb->len, size);
		KUNIT_EXPECT_EQ(test, open_with(test, rx, rq, skb), DTLS_PASS);
		KUNIT_EXPECT_EQ(test, rq->sg_end, nfrag ? nfrag + 1 : 1);
		KUNIT_ASSERT_EQ(test, skb_copy_bits(skb, DTLS_HEADER_SIZE + 8,
						    pt, ptlen), 0);
		KUNIT_EXPECT_TRUE(test, !memchr_inv(pt, 'p', ptlen));
		kfree_skb(skb);
	}
	rx_free(rx);
}

/* Every cipher's request, with the implementation chosen here, fits a slot. */
static void rx_request_fits_slot(struct kunit *test)
{
	static const u16 ciphers[] = {
		DTLS_CIPHER_AES_GCM_128, DTLS_CIPHER_AES_GCM_256,
		DTLS_CIPHER_AES_CCM_128, DTLS_CIPHER_AES_CCM_8_128,
		DTLS_CIPHER_CHACHA20_POLY1305,
	};
	union dtls_crypto_info_all *info;
	struct dtls_rx_keys *rx;
	int i;

	info = kunit_kzalloc(test, sizeof(*info), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, info);
	for (i = 0; i < ARRAY_SIZE(ciphers); i++) {
		const struct dtls_cipher_desc *desc = dtls_cipher_find(ciphers[i]);

		info->info.version = DTLS_1_2_VERSION;
		info->info.cipher_type = ciphers[i];
		dtls_info_set_rec_num(desc, info, dtls_rec_num(1, 0));
		rx = dtls_rx_keys_create(desc, info, 64, &(struct dtls_cid){});
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rx);
		KUNIT_EXPECT_TRUE_MSG(test, dtls_rx_op_fits_slot(rx), "%s: %u",
				      crypto_aead_driver_name(dtls_rx_cur_locked(rx)->crypto.aead),
				      dtls_rx_op_size(rx));
		dtls_rx_keys_free(rx);
	}
}

/* ---- the receive hook and a socket in close() ------------------------ */

static void release_sock_action(void *sock)
{
	sock_release(sock);
}

/* A kernel UDP socket on 127.0.0.1, released when the test ends. */
static struct socket *udp_lo(struct kunit *test, struct sockaddr_in *sin)
{
	struct socket *sock;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = 0;
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
					       IPPROTO_UDP, &sock), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							release_sock_action,
							sock), 0);
	KUNIT_ASSERT_EQ(test, kernel_bind(sock, (struct sockaddr *)sin,
					  sizeof(*sin)), 0);
	KUNIT_ASSERT_EQ(test, kernel_getsockname(sock, (struct sockaddr *)sin),
			(int)sizeof(*sin));
	return sock;
}

/* Send one record with a bad tag from @from; wait until @field moves. */
static bool send_forgery(struct kunit *test, struct socket *from, u64 rec_num,
			 enum dtls_mib_field field)
{
	long before = dtls_stat_get(&init_net, field);
	u8 rec[DTLS_HEADER_SIZE + 8 + 16 + 16] = {};
	struct kvec vec = { .iov_base = rec, .iov_len = sizeof(rec) };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	int i, err;

	hdr(rec, DTLS_RECORD_TYPE_APPLICATION_DATA, DTLS_1_2_VERSION, rec_num,
	    sizeof(rec) - DTLS_HEADER_SIZE);
	/* No assertion: the caller must restore the socket's count first */
	err = kernel_sendmsg(from, &msg, &vec, 1, sizeof(rec));
	if (err != sizeof(rec)) {
		KUNIT_FAIL(test, "kernel_sendmsg: %d", err);
		return false;
	}
	/* Loopback delivers in softirq, normally before sendmsg returns */
	for (i = 0; i < 100; i++) {
		if (dtls_stat_get(&init_net, field) != before)
			return true;
		msleep(20);
	}
	return false;
}

/*
 * UDP hands a datagram to the socket it looked up under RCU without taking
 * a reference: close() on another CPU may have dropped the last one by the
 * time the hook runs.  Stand in for that moment by zeroing the count of a
 * live socket: the datagram must be dropped unopened and counted, and the
 * count must stay zero (taking a reference then is a use after free).
 */
static void rx_socket_without_reference(struct kunit *test)
{
	struct dtls12_crypto_info_aes_gcm_128 ci = {
		.info.version = DTLS_1_2_VERSION,
		.info.cipher_type = DTLS_CIPHER_AES_GCM_128,
		.rec_seq = { 0, TEST_EPOCH, 0, 0, 0, 0, 0, 1 },
	};
	u64 rec_num = (u64)TEST_EPOCH << DTLS_SEQ_BITS | 1;
	long decrypt_errors = dtls_stat_get(&init_net, DTLS_MIB_RX_DECRYPT_ERROR);
	struct sockaddr_in a_addr, b_addr;
	struct socket *a, *b;
	unsigned int refs;
	bool dropped;

	a = udp_lo(test, &a_addr);
	b = udp_lo(test, &b_addr);
	KUNIT_ASSERT_EQ(test, kernel_connect(a, (struct sockaddr *)&b_addr,
					     sizeof(b_addr), 0), 0);
	KUNIT_ASSERT_EQ(test, kernel_connect(b, (struct sockaddr *)&a_addr,
					     sizeof(a_addr), 0), 0);
	KUNIT_ASSERT_EQ(test, a->ops->setsockopt(a, SOL_DTLS, DTLS_RX,
						 KERNEL_SOCKPTR(&ci),
						 sizeof(ci)), 0);

	refs = refcount_read(&a->sk->sk_refcnt);
	refcount_set(&a->sk->sk_refcnt, 0);
	dropped = send_forgery(test, b, rec_num, DTLS_MIB_RX_DROPPED);
	KUNIT_EXPECT_EQ(test, refcount_read(&a->sk->sk_refcnt), 0);
	refcount_set(&a->sk->sk_refcnt, refs);
	KUNIT_EXPECT_TRUE(test, dropped);
	KUNIT_EXPECT_EQ(test, dtls_stat_get(&init_net, DTLS_MIB_RX_DECRYPT_ERROR),
			decrypt_errors);

	/* With its references back the socket opens records again */
	KUNIT_EXPECT_TRUE(test, send_forgery(test, b, rec_num,
					     DTLS_MIB_RX_DECRYPT_ERROR));
}

static struct kunit_case dtls_replay_cases[] = {
	KUNIT_CASE(replay_empty_window),
	KUNIT_CASE(replay_initial_next_counts_as_seen),
	KUNIT_CASE(replay_exactly_one_window_behind),
	KUNIT_CASE(replay_jump_past_window),
	KUNIT_CASE(replay_near_seq_max),
	KUNIT_CASE(replay_newest),
	KUNIT_CASE(replay_matches_model),
	{}
};

static struct kunit_case dtls_record_cases[] = {
	KUNIT_CASE(nonce_gcm_is_salt_then_explicit),
	KUNIT_CASE(nonce_ccm_has_flags_and_zero_counter),
	KUNIT_CASE(nonce_chacha_xors_record_number),
	KUNIT_CASE(aad_layout),
	KUNIT_CASE(cipher_table_sizes),
	KUNIT_CASE(framing),
	KUNIT_CASE(record_checks),
	KUNIT_CASE(open_in_pages),
	KUNIT_CASE(framing_in_pages),
	KUNIT_CASE(one_request_many_records),
	KUNIT_CASE(rx_request_fits_slot),
	KUNIT_CASE(rx_socket_without_reference),
	{}
};

static struct kunit_suite dtls_replay_suite = {
	.name = "dtls_replay",
	.test_cases = dtls_replay_cases,
};

static struct kunit_suite dtls_record_suite = {
	.name = "dtls_record",
	.test_cases = dtls_record_cases,
};

kunit_test_suites(&dtls_replay_suite, &dtls_record_suite);
