// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: one sendmsg() is one record is one datagram, in DTLS 1.2's
 * record format or DTLS 1.3's (a short header whose sequence number is
 * encrypted, the content type inside the encryption).
 *
 * The AEAD reads the plaintext of a large send from the caller's pages
 * (of a small one, from a copy) and writes the record where it is sent
 * from, and UDP's own sendmsg sends it, so routing, IP options, cmsgs,
 * MTU checks and error reporting stay exactly UDP's.
 * From 6.5 the records are sealed in a page fragment that UDP takes by
 * reference (MSG_SPLICE_PAGES), so nothing is copied but by the cipher;
 * before, and for a batch too large for one fragment, they are sealed in
 * the socket's buffer, which UDP copies.  Kernel callers' data, a buffer
 * in several pieces, and a send of at most DTLS_TX_COPY_MAX bytes, is copied
 * into place first.
 */

#include <crypto/aead.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "dtls.h"
#include "peer.h"

/*
 * A send of at most this many bytes of plaintext is copied into place
 * rather than pinned: taking and dropping references on the caller's
 * pages (a page-table walk, an atomic per page) costs more than a copy of
 * a datagram-sized record.  Counted in guest instructions per record
 * (Documentation/networking/dtls-bench.rst),
 * pinning costs 400 to 600 more than copying a record in one page, 1000
 * more at 4096 bytes (two pages), 1500 at 16384.  The count sees a copy
 * as one REP MOVSB at any length; natively its time grows with the length
 * (about 33 ns at 4096 bytes, 111 ns at 16384 in cache on the build host)
 * while pinning's grows with the pages.  Up to a page, copying costs less
 * by either measure.
 */
#define DTLS_TX_COPY_MAX	4096

/* Flags that mean the same for the record's datagram as for the send. */
#define DTLS_TX_PASS_FLAGS	(MSG_DONTWAIT | MSG_DONTROUTE | MSG_CONFIRM | \
				 MSG_NOSIGNAL)

/*
 * Everything in front of the ciphertext: header, with the peer's
 * connection ID if it asked for one, and explicit nonce.
 */
static unsigned int dtls_tx_hdr_size(const struct dtls_tx *tx)
{
	if (dtls_is_13(&tx->crypto))
		return DTLS13_HDR_SIZE + tx->cid.len;
	return DTLS_HEADER_SIZE + tx->cid.len + tx->crypto.desc->explicit_size;
}

/*
 * The additional data: DTLS 1.2's pseudo-header (RFC 9146's with a
 * connection ID), or DTLS 1.3's record header as sent, with the sequence
 * number not yet encrypted.
 */
static unsigned int dtls_tx_aad_size(const struct dtls_tx *tx)
{
	if (dtls_is_13(&tx->crypto))
		return dtls_tx_hdr_size(tx);
	return tx->cid.len ? DTLS12_CID_AAD_SIZE + tx->cid.len : DTLS_AAD_SIZE;
}

/*
 * What follows @size bytes of content inside the encryption: in DTLS 1.3,
 * and in 1.2 with a connection ID, the content type; in 1.3 also as many
 * zeros as it takes for the encrypted record to be long enough to sample
 * for record number encryption (only a short record with CCM_8's 8-byte
 * tag needs any).
 */
static unsigned int dtls_tx_trailer(const struct dtls_tx *tx, size_t size)
{
	size_t len = size + DTLS13_INNER_TYPE_SIZE + tx->crypto.desc->tag_size;

	if (!dtls_is_13(&tx->crypto))
		return tx->cid.len ? DTLS13_INNER_TYPE_SIZE : 0;
	return DTLS13_INNER_TYPE_SIZE +
	       (len < DTLS13_SN_SAMPLE ? DTLS13_SN_SAMPLE - len : 0);
}

/* The record that carries @size bytes of plaintext. */
static size_t dtls_tx_rec_len(const struct dtls_tx *tx, size_t size)
{
	return dtls_tx_hdr_size(tx) + size + dtls_tx_trailer(tx, size) +
	       tx->crypto.desc->tag_size;
}

/*
 * TX state for @info.  The record buffer is allocated by the first send
 * that needs one (dtls_tx_grow()): from 6.5 most sends seal their records
 * in the task's page fragment and never do.
 */
struct dtls_tx *dtls_tx_create(const struct dtls_cipher_desc *desc,
			       const union dtls_crypto_info_all *info,
			       const struct dtls_cid *cid)
{
	struct dtls_tx *tx;
	int err;

	tx = kzalloc(sizeof(*tx), DTLS_GFP_SOCK);
	if (!tx)
		return ERR_PTR(-ENOMEM);
	mutex_init(&tx->lock);
	err = dtls_crypto_init(&tx->crypto, desc, info);
	if (err)
		goto err_free;
	tx->req = kmalloc(sizeof(*tx->req) +
			  crypto_aead_reqsize(tx->crypto.aead), DTLS_GFP_SOCK);
	if (!tx->req) {
		err = -ENOMEM;
		goto err_crypto;
	}

	tx->seq = dtls_info_rec_num(desc, info) & DTLS_SEQ_MAX;
	tx->cid = *cid;
	dtls_tx_limit_init(tx);
	crypto_init_wait(&tx->wait);
	/* Set up once: the AAD leads both lists, the entries behind change. */
	sg_init_table(tx->dst, ARRAY_SIZE(tx->dst));
	sg_set_buf(&tx->dst[0], tx->aad, dtls_tx_aad_size(tx));
	sg_init_table(tx->src, ARRAY_SIZE(tx->src));
	sg_set_buf(&tx->src[0], tx->aad, dtls_tx_aad_size(tx));
	return tx;

err_crypto:
	dtls_crypto_free(&tx->crypto);
err_free:
	mutex_destroy(&tx->lock);
	kfree(tx);
	return ERR_PTR(err);
}

/*
 * DTLS 1.3 key update: send in the next epoch from the next record on.
 * Only the epoch after the current one, with the same suite: the RFC's
 * epochs never go back or skip, and a suite never changes.  The keys are
 * set up before the senders are held off, so that they wait only for the
 * swap.
 */
int dtls_tx_rekey(struct dtls_tx *tx, const struct dtls_cipher_desc *desc,
		  const union dtls_crypto_info_all *info)
{
	struct dtls_crypto *new;
	u16 epoch = dtls_info_rec_num(desc, info) >> DTLS_SEQ_BITS;
	int err;

	if (info->info.version != DTLS_1_3_VERSION || desc != tx->crypto.desc ||
	    epoch != tx->crypto.epoch + 1)
		return -EINVAL;
	new = kzalloc(sizeof(*new), DTLS_GFP_SOCK);
	if (!new)
		return -ENOMEM;
	err = dtls_crypto_init(new, desc, info);
	if (err)
		goto out;
	/* tx->req was sized for the old transform of the same algorithm */
	if (crypto_aead_reqsize(new->aead) >
	    crypto_aead_reqsize(tx->crypto.aead)) {
		err = -EINVAL;
		goto out_crypto;
	}

	mutex_lock(&tx->lock);
	swap(tx->crypto, *new);
	tx->seq = dtls_info_rec_num(desc, info) & DTLS_SEQ_MAX;
	dtls_tx_limit_init(tx);
	mutex_unlock(&tx->lock);
out_crypto:
	dtls_crypto_free(new);	/* the old epoch's keys, once swapped */
out:
	kfree_sensitive(new);
	return err;
}

void dtls_tx_destroy(struct dtls_tx *tx)
{
	dtls_crypto_free(&tx->crypto);
	kfree_sensitive(tx->req);
	kfree_sensitive(tx->buf);	/* the last plaintext */
	mutex_destroy(&tx->lock);
	kfree(tx);
}

struct dtls_tx_opts {
	struct dtls_tx *tx;	/* the keys: the connected peer's or a peer's */
	/* where to: NULL on a connected socket */
	struct sockaddr *name;
	int namelen;
	u32 peer_id;		/* DTLS_SET_PEER */
	bool has_dtls_cmsg;
	u8 type;
	u16 gso_size;		/* plaintext bytes per record, 0: one record */
	bool has_udp_cmsg;	/* UDP must not see the caller's SOL_UDP */
	bool plaintext;		/* an epoch-0 record, sent in the clear */
	u64 plaintext_seq;
};

static int dtls_tx_cmsg(struct msghdr *msg, struct dtls_tx_opts *o)
{
	struct cmsghdr *cmsg;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level == SOL_UDP) {
			/* In plaintext bytes per record, as the sockopt. */
			if (cmsg->cmsg_type != UDP_SEGMENT ||
			    cmsg->cmsg_len != CMSG_LEN(sizeof(u16)))
				return -EINVAL;
			o->gso_size = get_unaligned((u16 *)CMSG_DATA(cmsg));
			if (o->gso_size > DTLS_MAX_PLAINTEXT)
				return -EINVAL;
			o->has_udp_cmsg = true;
			continue;
		}
		if (cmsg->cmsg_level != SOL_DTLS)
			continue;
		o->has_dtls_cmsg = true;
		switch (cmsg->cmsg_type) {
		case DTLS_SET_RECORD_TYPE:
			if (cmsg->cmsg_len != CMSG_LEN(sizeof(u8)))
				return -EINVAL;
			o->type = *(u8 *)CMSG_DATA(cmsg);
			break;
		case DTLS_SET_PEER:
			if (cmsg->cmsg_len != CMSG_LEN(sizeof(u32)))
				return -EINVAL;
			o->peer_id = get_unaligned((u32 *)CMSG_DATA(cmsg));
			if (!o->peer_id)
				return -EINVAL;
			break;
		case DTLS_SET_PLAINTEXT_SEQ:
			if (cmsg->cmsg_len != CMSG_LEN(sizeof(u64)))
				return -EINVAL;
			o->plaintext_seq = get_unaligned((u64 *)CMSG_DATA(cmsg));
			if (o->plaintext_seq > DTLS_SEQ_MAX)
				return -EINVAL;
			o->plaintext = true;
			break;
		default:
			return -EINVAL;
		}
	}
	/* Only the handshake may go out in the clear, as it did in epoch 0. */
	if (o->plaintext) {
		if (o->type == DTLS_RECORD_TYPE_APPLICATION_DATA ||
		    o->has_udp_cmsg)
			return -EINVAL;
		o->gso_size = 0;
	}
	return 0;
}

/* A DTLSPlaintext or 1.2 DTLSCiphertext header, but for any CID's bytes */
static void dtls_tx_header(u8 *rec, u8 type, u64 rec_num, u8 cid_len,
			   size_t len)
{
	rec[DTLS_HDR_TYPE] = type;
	put_unaligned_be16(DTLS_1_2_VERSION, rec + DTLS_HDR_VERSION);
	put_unaligned_be64(rec_num, rec + DTLS_HDR_EPOCH);
	put_unaligned_be16(len, rec + DTLS_HDR_LENGTH + cid_len);
}

static void dtls_tx_put_pages(struct dtls_tx *tx)
{
	while (tx->npages)
		put_page(tx->pages[--tx->npages]);
}

/* Most sends are copied: nothing to drop, and no call to find that out. */
static inline void dtls_tx_unpin(struct dtls_tx *tx)
{
	if (tx->npages)
		dtls_tx_put_pages(tx);
}

/*
 * Take a reference on the pages of the next @size bytes of @from, the
 * plaintext of one send (a record or a GSO batch), so that the AEAD reads
 * it where the caller has it (as kTLS does), and with one page-table walk
 * per send.  The AEAD reads each byte once but for CCM, whose tag covers
 * the plaintext read a second time: a caller that changes its buffer
 * during the send gets a record its peer drops.  Only plaintext in one
 * piece of the caller's memory is taken this way; data in kernel memory or
 * in several iovecs, or that cannot be pinned, is copied (tx->npages 0,
 * @from unmoved).
 */
static void dtls_tx_take_pages(struct dtls_tx *tx, struct iov_iter *from,
			       size_t size)
{
	size_t done = 0, off;
	ssize_t got;

	if (!user_backed_iter(from) || iov_iter_single_seg_count(from) < size)
		return;
	while (done < size) {
		got = iov_iter_get_pages2(from, tx->pages + tx->npages,
					  size - done, DTLS_TX_PAGES - tx->npages,
					  &off);
		if (got <= 0) {
			iov_iter_revert(from, done);
			dtls_tx_unpin(tx);
			return;
		}
		/* One piece: only the first call starts inside a page. */
		if (!done)
			tx->pin_off = off;
		done += got;
		tx->npages += DIV_ROUND_UP(off + got, PAGE_SIZE);
	}
}

/* Pin a send of more than DTLS_TX_COPY_MAX bytes (tx->npages 0: copy it). */
static void dtls_tx_pin(struct dtls_tx *tx, struct iov_iter *from, size_t size)
{
	tx->npages = 0;
	if (size > DTLS_TX_COPY_MAX)
		dtls_tx_take_pages(tx, from, size);
}

/*
 * Point tx->src at bytes [@start, @start + @len) of the pinned plaintext,
 * then at @trailer_len bytes of tx->trailer (DTLS 1.3).
 */
static void dtls_tx_src_set(struct dtls_tx *tx, size_t start, size_t len,
			    unsigned int trailer_len)
{
	size_t pos = tx->pin_off + start;
	struct scatterlist *sg = tx->src;

	while (len) {
		size_t off = offset_in_page(pos);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);

		sg_unmark_end(++sg);
		sg_set_page(sg, tx->pages[pos >> PAGE_SHIFT], n, off);
		pos += n;
		len -= n;
	}
	if (trailer_len) {
		sg_unmark_end(++sg);
		sg_set_buf(sg, tx->trailer, trailer_len);
	}
	sg_mark_end(sg);
}

/*
 * DTLS 1.3's header (RFC 9147 4): the low two bits of the epoch, the
 * peer's connection ID if it asked for one, the low 16 bits of the
 * sequence number, the length; the form wolfSSL and the RFC's examples
 * use, which a receiver of any form accepts.
 */
static void dtls13_tx_header(u8 *rec, const struct dtls_cid *cid, u64 epoch,
			     u64 seq, size_t len)
{
	u8 *sn = rec + 1 + cid->len;

	rec[0] = DTLS13_HDR_FIXED | DTLS13_HDR_S | DTLS13_HDR_L |
		 (cid->len ? DTLS13_HDR_C : 0) |
		 (epoch & DTLS13_HDR_EPOCH_MASK);
	memcpy(rec + 1, cid->cid, cid->len);
	put_unaligned_be16(seq, sn);
	put_unaligned_be16(len, sn + 2);
}

/*
 * DTLS 1.2: the header, with the outer type tls12_cid and the peer's
 * connection ID if it asked for one, the explicit nonce, the nonce and the
 * additional data.
 */
static void dtls12_tx_frame(struct dtls_tx *tx, u8 *rec, u64 seq, u8 type,
			    size_t inner)
{
	const struct dtls_crypto *c = &tx->crypto;
	const struct dtls_cipher_desc *desc = c->desc;
	const struct dtls_cid *cid = &tx->cid;
	u8 *rn = rec + DTLS_HDR_EPOCH;

	dtls_tx_header(rec, cid->len ? DTLS_RECORD_TYPE_TLS12_CID : type,
		       dtls_rec_num(c->epoch, seq), cid->len,
		       desc->explicit_size + inner + desc->tag_size);
	memcpy(rec + DTLS_HDR_LENGTH, cid->cid, cid->len);
	/* Like GnuTLS, use the record number as the explicit nonce. */
	memcpy(rec + DTLS_HEADER_SIZE + cid->len, rn, desc->explicit_size);
	dtls_make_iv(c, rn, rn, tx->iv);
	if (cid->len)
		dtls12_make_cid_aad(tx->aad, rn, cid, inner);
	else
		dtls_make_aad(tx->aad, rn, type, inner);
}

/*
 * Set up the record at @rec: its header, nonce and additional data, and
 * where the content type goes inside the encryption (DTLS 1.3, or 1.2 with
 * a connection ID), that trailer at the end of the plaintext (@body, or
 * tx->trailer when the plaintext is read from the caller's pages).
 * Returns how many bytes follow the content inside the encryption.
 */
static unsigned int dtls_tx_frame(struct dtls_tx *tx, u8 *rec, u8 *body,
				  u64 seq, u8 type, size_t size)
{
	const struct dtls_crypto *c = &tx->crypto;
	unsigned int trailer = dtls_tx_trailer(tx, size);

	if (trailer) {
		memset(tx->trailer, 0, trailer);
		tx->trailer[0] = type;
		if (!tx->npages)
			memcpy(body + size, tx->trailer, trailer);
	}
	if (!dtls_is_13(c)) {
		dtls12_tx_frame(tx, rec, seq, type, size + trailer);
		return trailer;
	}
	dtls13_tx_header(rec, &tx->cid, c->epoch, seq,
			 size + trailer + c->desc->tag_size);
	memcpy(tx->aad, rec, dtls_tx_hdr_size(tx));
	dtls13_make_iv(c, seq, tx->iv);
	return trailer;
}

/*
 * DTLS 1.3: encrypt the sealed record's sequence number, behind any
 * connection ID, with the mask its first 16 bytes of ciphertext give (RFC
 * 9147 4.2.3).
 */
static int dtls13_tx_protect_seq(struct dtls_tx *tx, u8 *rec)
{
	u8 *sn = rec + 1 + tx->cid.len;
	int err;

	err = dtls13_sn_mask(&tx->crypto, rec + dtls_tx_hdr_size(tx),
			     tx->mask);
	if (err)
		return err;
	sn[0] ^= tx->mask[0];
	sn[1] ^= tx->mask[1];
	return 0;
}

/*
 * Seal @size bytes of plaintext as the record at @rec: header, explicit
 * nonce, then the body, read from the pinned pages at @start or, if none
 * were pinned, copied from @from into place and sealed there.
 */
static int dtls_tx_seal(struct dtls_tx *tx, u8 *rec, u64 seq, u8 type,
			struct iov_iter *from, size_t start, size_t size)
{
	const struct dtls_cipher_desc *desc = tx->crypto.desc;
	u8 *body = rec + dtls_tx_hdr_size(tx);
	unsigned int trailer;
	int err;

	if (!tx->npages && !copy_from_iter_full(body, size, from))
		return -EFAULT;
	trailer = dtls_tx_frame(tx, rec, body, seq, type, size);
	if (tx->npages)
		dtls_tx_src_set(tx, start, size, trailer);
	size += trailer;

	/* Both lists start with the one AAD; the AEAD only reads it. */
	sg_set_buf(&tx->dst[1], body, size + desc->tag_size);
	/*
	 * Under tx->lock in process context: wait for an async AEAD.  Set up
	 * the whole request each time: cryptd leaves its own inner transform
	 * and callback in a request it completed.
	 */
	aead_request_set_tfm(tx->req, tx->crypto.aead);
	aead_request_set_callback(tx->req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done,
				  &tx->wait);
	aead_request_set_ad(tx->req, dtls_tx_aad_size(tx));
	aead_request_set_crypt(tx->req, tx->npages ? tx->src : tx->dst, tx->dst,
			       size, tx->iv);
	err = crypto_wait_req(crypto_aead_encrypt(tx->req), &tx->wait);
	if (err || !dtls_is_13(&tx->crypto))
		return err;
	return dtls13_tx_protect_seq(tx, rec);
}

/* Where the records of one send are written, sealed and sent from. */
struct dtls_tx_out {
	u8 *data;
	struct page *page;	/* NULL: in tx->buf */
	unsigned int off;	/* of data in page */
};

/* The largest UDP payload, hence the largest GSO batch. */
#define DTLS_TX_GSO_MAX		(0xffff - sizeof(struct udphdr))

/*
 * Make tx->buf hold @len bytes: room for one record of the cipher's
 * largest, or for the largest GSO batch once a batch needs more.  Kept
 * once allocated, for the socket's life.
 */
static int dtls_tx_grow(struct dtls_tx *tx, size_t len)
{
	size_t size = dtls_tx_rec_len(tx, DTLS_MAX_PLAINTEXT);
	u8 *buf;

	if (tx->buf_size >= len)
		return 0;
	if (len > size)
		size = DTLS_TX_GSO_MAX;
	/* kmalloc, not kvmalloc: the AEAD reaches it through a scatterlist */
	buf = kmalloc(size, DTLS_GFP_SOCK);
	if (!buf)
		return -ENOMEM;
	kfree_sensitive(tx->buf);
	tx->buf = buf;
	tx->buf_size = size;
	return 0;
}

/*
 * Room for @len bytes of records, in sk_page_frag(): the calling task's
 * page fragment, or the socket's for a kernel socket (whose senders UDP
 * leaves to the caller to serialise, as it uses that fragment unlocked
 * itself; tx->lock does here).  Nothing else takes from it before UDP
 * holds its reference.
 */
static int dtls_tx_out_get(struct sock *sk, struct dtls_tx *tx, size_t len,
			   struct dtls_tx_out *out)
{
	int err;

	if (DTLS_TX_SPLICE) {
		struct page_frag *pfrag = sk_page_frag(sk);

		if (skb_page_frag_refill(len, pfrag, sk->sk_allocation) &&
		    pfrag->size - pfrag->offset >= len) {
			out->page = pfrag->page;
			out->off = pfrag->offset;
			out->data = page_address(out->page) + out->off;
			pfrag->offset += len;
			return 0;
		}
	}
	out->page = NULL;
	err = dtls_tx_grow(tx, len);
	out->data = tx->buf;	/* after the buffer may have moved */
	return err;
}

/* A send that failed before its records were sealed: wipe the plaintext. */
static void dtls_tx_out_wipe(struct dtls_tx_out *out, size_t len)
{
	if (out->page)
		memzero_explicit(out->data, len);
}

/* Room for UDP_SEGMENT alone, the usual control of a GSO batch. */
#define DTLS_TX_CTL_STACK	64

/*
 * The control UDP gets: the caller's, except that its UDP_SEGMENT counts
 * plaintext, so SOL_UDP is left out and @dgram_size, if any, put in its
 * place.  ____sys_sendmsg() has already copied the control into the
 * kernel.  Returns the buffer to kfree(), NULL if none was allocated.
 */
static void *dtls_tx_control(struct msghdr *msg, struct msghdr *umsg,
			     u8 *stack, u16 dgram_size, bool has_udp)
{
	struct cmsghdr *cmsg, *out;
	size_t len = 0, need;
	u8 *buf = stack;

	umsg->msg_control = msg->msg_control;
	umsg->msg_controllen = msg->msg_controllen;
	umsg->msg_control_is_user = msg->msg_control_is_user;
	if (!has_udp && !dgram_size)
		return NULL;
	/*
	 * ____sys_sendmsg() copies any control into the kernel and leaves
	 * only an empty one as the caller's pointer.
	 */
	if (msg->msg_control_is_user && msg->msg_controllen)
		return ERR_PTR(-EINVAL);

	/* the last cmsg may lack its alignment padding */
	need = msg->msg_controllen + CMSG_ALIGN(1) + CMSG_SPACE(sizeof(u16));
	if (need > DTLS_TX_CTL_STACK) {
		buf = kmalloc(need, GFP_KERNEL);
		if (!buf)
			return ERR_PTR(-ENOMEM);
	}
	for_each_cmsghdr(cmsg, msg) {
		if (cmsg->cmsg_level == SOL_UDP || cmsg->cmsg_level == SOL_DTLS)
			continue;
		memcpy(buf + len, cmsg, cmsg->cmsg_len);
		len += CMSG_ALIGN(cmsg->cmsg_len);
	}
	if (dgram_size) {
		out = (struct cmsghdr *)(buf + len);
		out->cmsg_level = SOL_UDP;
		out->cmsg_type = UDP_SEGMENT;
		out->cmsg_len = CMSG_LEN(sizeof(u16));
		put_unaligned(dgram_size, (u16 *)CMSG_DATA(out));
		len += CMSG_SPACE(sizeof(u16));
	}
	umsg->msg_control = buf;
	umsg->msg_controllen = len;
	umsg->msg_control_is_user = false;
	return buf == stack ? NULL : buf;
}

/*
 * Hand @len bytes of finished records in @out to UDP: one record, or @nrec
 * records of @dgram_size bytes (the last may be shorter) as one GSO send.
 */
static int dtls_tx_send(struct sock *sk, struct dtls_context *ctx,
			struct msghdr *msg, const struct dtls_tx_opts *o,
			const struct dtls_tx_out *out, size_t len,
			u16 dgram_size, unsigned int nrec)
{
	struct kvec kv = { .iov_base = out->data, .iov_len = len };
	struct msghdr umsg = {
		.msg_name = o->name,
		.msg_namelen = o->namelen,
		.msg_flags = msg->msg_flags & DTLS_TX_PASS_FLAGS,
	};
	u8 stack[DTLS_TX_CTL_STACK] __aligned(sizeof(long));
	struct bio_vec bv;
	void *ctl;
	int err;

	ctl = dtls_tx_control(msg, &umsg, stack, dgram_size, o->has_udp_cmsg);
	if (IS_ERR(ctl))
		return PTR_ERR(ctl);
	if (out->page) {
		bvec_set_page(&bv, out->page, len, out->off);
		iov_iter_bvec(&umsg.msg_iter, ITER_SOURCE, &bv, 1, len);
		umsg.msg_flags |= DTLS_TX_SPLICE;
	} else {
		iov_iter_kvec(&umsg.msg_iter, ITER_SOURCE, &kv, 1, len);
	}
	/* UDP's own method; udpv6_sendmsg() is not exported */
	err = INDIRECT_CALL_1(ctx->sk_proto->sendmsg, udp_sendmsg, sk, &umsg,
			      len);
	kfree(ctl);
	if (err < 0) {
		dtls_stat_inc(sk, DTLS_MIB_TX_ERROR);
		return err;
	}
	dtls_sk_stat_add(sk, DTLS_MIB_TX_RECORDS, nrec);
	o->tx->records += nrec;
	return 0;
}

static int dtls_tx_record(struct sock *sk, struct dtls_context *ctx,
			  struct msghdr *msg, size_t size,
			  const struct dtls_tx_opts *o)
{
	struct dtls_tx *tx = o->tx;
	size_t len = DTLS_HEADER_SIZE + size;
	struct dtls_tx_out out;
	int err;

	if (!o->plaintext) {
		/* A record number must never repeat: new keys, or none */
		if (tx->seq >= tx->limit) {
			dtls_stat_inc(sk, DTLS_MIB_TX_KEY_EXPIRED);
			return -EKEYEXPIRED;
		}
		len = dtls_tx_rec_len(tx, size);
	}
	err = dtls_tx_out_get(sk, tx, len, &out);
	if (err)
		return err;

	if (o->plaintext) {
		/* A retransmitted epoch-0 flight: userspace owns its numbers */
		if (!copy_from_iter_full(out.data + DTLS_HEADER_SIZE, size,
					 &msg->msg_iter))
			return -EFAULT;
		dtls_tx_header(out.data, o->type, o->plaintext_seq, 0, size);
		err = dtls_tx_send(sk, ctx, msg, o, &out, len, 0, 1);
		return err ?: size;
	}

	dtls_tx_pin(tx, &msg->msg_iter, size);
	err = dtls_tx_seal(tx, out.data, tx->seq, o->type, &msg->msg_iter, 0,
			   size);
	dtls_tx_unpin(tx);
	if (err) {
		dtls_tx_out_wipe(&out, len);
		return err;
	}
	/* From here the number is spent, whether or not UDP sends it. */
	dtls_tx_spent(sk, tx, tx->seq + 1);

	err = dtls_tx_send(sk, ctx, msg, o, &out, len, 0, 1);
	return err ?: size;
}

/*
 * UDP_SEGMENT: cut @size bytes into records of o->gso_size bytes of
 * plaintext (the last may be shorter) and send them as one GSO batch of
 * one record per datagram.
 */
static int dtls_tx_gso(struct sock *sk, struct dtls_context *ctx,
		       struct msghdr *msg, size_t size,
		       const struct dtls_tx_opts *o)
{
	struct dtls_tx *tx = o->tx;
	unsigned int nrec = DIV_ROUND_UP(size, o->gso_size);
	size_t dgram = dtls_tx_rec_len(tx, o->gso_size);
	size_t left = size, off = 0, chunk, len;
	struct dtls_tx_out out;
	u64 seq = tx->seq;
	int err;

	if (nrec > UDP_MAX_SEGMENTS)
		return -EINVAL;
	/* every record but the last carries gso_size bytes */
	len = (nrec - 1) * dgram +
	      dtls_tx_rec_len(tx, size - (nrec - 1) * o->gso_size);
	if (len > DTLS_TX_GSO_MAX)
		return -EMSGSIZE;
	if (seq + nrec > tx->limit) {
		dtls_stat_inc(sk, DTLS_MIB_TX_KEY_EXPIRED);
		return -EKEYEXPIRED;
	}
	err = dtls_tx_out_get(sk, tx, len, &out);
	if (err)
		return err;

	dtls_tx_pin(tx, &msg->msg_iter, size);
	for (; left; left -= chunk, seq++) {
		u8 *rec = out.data + off;

		chunk = min_t(size_t, left, o->gso_size);
		err = dtls_tx_seal(tx, rec, seq, o->type, &msg->msg_iter,
				   size - left, chunk);
		if (err) {
			dtls_tx_unpin(tx);
			dtls_tx_out_wipe(&out, len);
			return err;
		}
		off += dtls_tx_rec_len(tx, chunk);
	}
	dtls_tx_unpin(tx);
	/* As for one record: the numbers are spent once sealed. */
	dtls_tx_spent(sk, tx, seq);
	err = dtls_tx_send(sk, ctx, msg, o, &out, off, dgram, nrec);
	return err ?: size;
}

static int dtls_tx_one(struct sock *sk, struct msghdr *msg, size_t size,
		       const struct dtls_tx_opts *o)
{
	struct dtls_context *ctx;
	int err;

	if (size > DTLS_MAX_PLAINTEXT && (!o->gso_size || o->plaintext))
		return -EMSGSIZE;
	ctx = dtls_get_ctx(sk);
	mutex_lock(&o->tx->lock);
	if (o->gso_size && size > o->gso_size && !o->plaintext)
		err = dtls_tx_gso(sk, ctx, msg, size, o);
	else
		err = dtls_tx_record(sk, ctx, msg, size, o);
	mutex_unlock(&o->tx->lock);
	return err;
}

/*
 * splice() and sendfile() move a byte stream, not messages: since 6.5 one
 * call may bring several pages, so cut them into records of at most 2^14.
 */
static int dtls_tx_splice(struct sock *sk, struct msghdr *msg, size_t size,
			  const struct dtls_tx_opts *o)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	size_t done = 0;
	int err = 0;

	mutex_lock(&o->tx->lock);
	while (done < size) {
		err = dtls_tx_record(sk, ctx, msg,
				     min_t(size_t, size - done,
					   DTLS_MAX_PLAINTEXT), o);
		if (err < 0)
			break;
		done += err;
	}
	mutex_unlock(&o->tx->lock);
	return done ?: err;
}

/*
 * A socket with many peers: the keys of the peer DTLS_SET_PEER names (sent
 * to its current address, in @ss) or of the one at the destination.  NULL
 * with no error: no peer there with TX keys, the datagram goes out as it
 * is (a handshake's).  Holds the peer in *@peerp.
 */
static int dtls_tx_pick_peer(struct sock *sk, struct dtls_context *ctx,
			     struct msghdr *msg, struct dtls_tx_opts *o,
			     struct sockaddr_storage *ss,
			     struct dtls_peer_ctx **peerp)
{
	struct dtls_peer_ctx *peer;

	*peerp = NULL;
	if (o->peer_id && msg->msg_name)
		return -EINVAL;
	if (!o->peer_id && !msg->msg_name)
		return 0;	/* UDP's EDESTADDRREQ */
	peer = dtls_peer_tx_find(ctx->peers, o->peer_id, msg->msg_name,
				 msg->msg_namelen);
	if (!peer)
		return o->peer_id ? -ENOENT : 0;
	o->tx = dtls_peer_tx(peer);
	if (!o->tx) {
		dtls_peer_put(peer);
		return o->peer_id ? -ENOTCONN : 0;
	}
	*peerp = peer;
	if (o->peer_id) {
		dtls_peer_sockaddr(ctx->peers, sk->sk_family, peer, ss,
				   &o->namelen);
		o->name = (struct sockaddr *)ss;
	} else {
		o->name = msg->msg_name;
		o->namelen = msg->msg_namelen;
	}
	return 0;
}

/* Protect and send, with the keys in @o */
static int dtls_tx_protected(struct sock *sk, struct msghdr *msg, size_t size,
			     struct dtls_tx_opts *o)
{
	if (!dtls_content_type_valid(o->tx->crypto.version, o->type))
		return -EINVAL;
	if (!(msg->msg_flags & DTLS_MSG_SPLICE_CHUNK))
		return dtls_tx_one(sk, msg, size, o);
	return dtls_tx_splice(sk, msg, size, o);
}

int dtls_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct dtls_context *ctx = dtls_get_ctx(sk);
	struct dtls_tx_opts o = {
		.type = DTLS_RECORD_TYPE_APPLICATION_DATA,
		.gso_size = READ_ONCE(ctx->gso_size),
	};
	struct dtls_peer_ctx *peer = NULL;
	struct sockaddr_storage ss;
	int err;

	/* Corking is refused; between splice() chunks MSG_MORE is a hint. */
	if ((msg->msg_flags & (MSG_MORE | DTLS_MSG_SPLICE_CHUNK)) == MSG_MORE ||
	    msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	err = dtls_tx_cmsg(msg, &o);
	if (err)
		return err;
	if (!ctx->peers) {
		/* The keys belong to the connected peer. */
		if (msg->msg_name)
			return -EISCONN;
		if (o.peer_id)
			return -EINVAL;
		o.tx = ctx->tx;
		return dtls_tx_protected(sk, msg, size, &o);
	}

	err = dtls_tx_pick_peer(sk, ctx, msg, &o, &ss, &peer);
	if (err)
		return err;
	if (!peer) {
		/* A DTLS option asks for keys that are not there */
		if (o.has_dtls_cmsg)
			return -ENOTCONN;
		return INDIRECT_CALL_1(ctx->sk_proto->sendmsg, udp_sendmsg,
				       sk, msg, size);
	}
	err = dtls_tx_protected(sk, msg, size, &o);
	dtls_peer_put(peer);
	return err;
}
