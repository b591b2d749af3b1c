// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: one sendmsg() is one record is one datagram.
 *
 * The plaintext is copied once into the socket's record buffer, sealed in
 * place, and handed to UDP's own sendmsg, so routing, IP options, cmsgs,
 * MTU checks and error reporting stay exactly UDP's.
 */

#include <crypto/aead.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "dtls.h"

/* Flags that mean the same for the record's datagram as for the send. */
#define DTLS_TX_PASS_FLAGS	(MSG_DONTWAIT | MSG_DONTROUTE | MSG_CONFIRM | \
				 MSG_NOSIGNAL)

int dtls_tx_init(struct dtls_tx *tx, const union dtls_crypto_info_all *info,
		 const struct dtls_cipher_desc *desc)
{
	int err;

	err = dtls_crypto_init(&tx->crypto, desc, info);
	if (err)
		return err;

	tx->seq = dtls_info_rec_num(desc, info) & DTLS_SEQ_MAX;
	tx->buf = kmalloc(DTLS_HEADER_SIZE + desc->explicit_size +
			  DTLS_MAX_PLAINTEXT + desc->tag_size, GFP_KERNEL);
	tx->req = kmalloc(sizeof(*tx->req) +
			  crypto_aead_reqsize(tx->crypto.aead), GFP_KERNEL);
	if (!tx->buf || !tx->req) {
		dtls_tx_free(tx);
		return -ENOMEM;
	}
	aead_request_set_tfm(tx->req, tx->crypto.aead);
	aead_request_set_callback(tx->req, 0, NULL, NULL);
	return 0;
}

void dtls_tx_free(struct dtls_tx *tx)
{
	dtls_crypto_free(&tx->crypto);
	kfree_sensitive(tx->req);
	kfree_sensitive(tx->buf);	/* holds the last plaintext */
	kfree(tx);
}

struct dtls_tx_opts {
	u8 type;
	bool plaintext;		/* an epoch-0 record, sent in the clear */
	u64 plaintext_seq;
};

static int dtls_tx_cmsg(struct msghdr *msg, struct dtls_tx_opts *o)
{
	struct cmsghdr *cmsg;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		/* UDP_SEGMENT would cut the record into several datagrams */
		if (cmsg->cmsg_level == SOL_UDP)
			return -EOPNOTSUPP;
		if (cmsg->cmsg_level != SOL_DTLS)
			continue;
		switch (cmsg->cmsg_type) {
		case DTLS_SET_RECORD_TYPE:
			if (cmsg->cmsg_len != CMSG_LEN(sizeof(u8)))
				return -EINVAL;
			o->type = *(u8 *)CMSG_DATA(cmsg);
			if (!dtls_content_type_valid(o->type))
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
	if (o->plaintext && o->type == DTLS_RECORD_TYPE_APPLICATION_DATA)
		return -EINVAL;
	return 0;
}

static void dtls_tx_header(u8 *rec, u8 type, u64 rec_num, size_t len)
{
	rec[DTLS_HDR_TYPE] = type;
	put_unaligned_be16(DTLS_1_2_VERSION, rec + DTLS_HDR_VERSION);
	put_unaligned_be64(rec_num, rec + DTLS_HDR_EPOCH);
	put_unaligned_be16(len, rec + DTLS_HDR_LENGTH);
}

/* Write header and explicit nonce, then seal the body in place. */
static int dtls_tx_seal(struct dtls_tx *tx, u8 type, size_t size)
{
	const struct dtls_cipher_desc *desc = tx->crypto.desc;
	u8 *body = tx->buf + DTLS_HEADER_SIZE + desc->explicit_size;
	u8 *rn = tx->buf + DTLS_HDR_EPOCH;

	dtls_tx_header(tx->buf, type, dtls_rec_num(tx->crypto.epoch, tx->seq),
		       desc->explicit_size + size + desc->tag_size);
	/* Like GnuTLS, use the record number as the explicit nonce. */
	memcpy(tx->buf + DTLS_HEADER_SIZE, rn, desc->explicit_size);

	dtls_make_iv(&tx->crypto, rn, rn, tx->iv);
	dtls_make_aad(tx->aad, rn, type, size);
	sg_init_table(tx->sg, 2);
	sg_set_buf(&tx->sg[0], tx->aad, DTLS_AAD_SIZE);
	sg_set_buf(&tx->sg[1], body, size + desc->tag_size);
	aead_request_set_ad(tx->req, DTLS_AAD_SIZE);
	aead_request_set_crypt(tx->req, tx->sg, tx->sg, size, tx->iv);
	return crypto_aead_encrypt(tx->req);
}

/* Hand one finished record of @reclen bytes in tx->buf to UDP. */
static int dtls_tx_send(struct sock *sk, struct dtls_context *ctx,
			struct msghdr *msg, size_t reclen)
{
	struct kvec kv = { .iov_base = ctx->tx->buf, .iov_len = reclen };
	struct msghdr umsg = {
		.msg_control = msg->msg_control,
		.msg_controllen = msg->msg_controllen,
		.msg_control_is_user = msg->msg_control_is_user,
		.msg_flags = msg->msg_flags & DTLS_TX_PASS_FLAGS,
	};
	int err;

	iov_iter_kvec(&umsg.msg_iter, ITER_SOURCE, &kv, 1, reclen);
	err = ctx->sk_proto->sendmsg(sk, &umsg, reclen);
	if (err < 0) {
		dtls_stat_inc(sk, DTLS_MIB_TX_ERROR);
		return err;
	}
	dtls_stat_inc(sk, DTLS_MIB_TX_RECORDS);
	return 0;
}

static int dtls_tx_record(struct sock *sk, struct dtls_context *ctx,
			  struct msghdr *msg, size_t size,
			  const struct dtls_tx_opts *o)
{
	struct dtls_tx *tx = ctx->tx;
	const struct dtls_cipher_desc *desc = tx->crypto.desc;
	unsigned int overhead = desc->explicit_size + desc->tag_size;
	int err;

	if (o->plaintext) {
		/* A retransmitted epoch-0 flight: userspace owns its numbers */
		if (!copy_from_iter_full(tx->buf + DTLS_HEADER_SIZE, size,
					 &msg->msg_iter))
			return -EFAULT;
		dtls_tx_header(tx->buf, o->type, o->plaintext_seq, size);
		err = dtls_tx_send(sk, ctx, msg, DTLS_HEADER_SIZE + size);
		return err ?: size;
	}

	/* A record number must never repeat; rekeying is not supported. */
	if (tx->seq > DTLS_SEQ_MAX)
		return -EKEYEXPIRED;
	if (!copy_from_iter_full(tx->buf + DTLS_HEADER_SIZE +
				 desc->explicit_size, size, &msg->msg_iter))
		return -EFAULT;

	err = dtls_tx_seal(tx, o->type, size);
	if (err)
		return err;
	/* From here the number is spent, whether or not UDP sends it. */
	tx->seq++;

	err = dtls_tx_send(sk, ctx, msg, DTLS_HEADER_SIZE + overhead + size);
	return err ?: size;
}

static int dtls_tx_one(struct sock *sk, struct msghdr *msg, size_t size,
		       const struct dtls_tx_opts *o)
{
	int err;

	if (size > DTLS_MAX_PLAINTEXT)
		return -EMSGSIZE;
	lock_sock(sk);
	err = dtls_tx_record(sk, dtls_get_ctx(sk), msg, size, o);
	release_sock(sk);
	return err;
}

/*
 * splice() and sendfile() move a byte stream, not messages: since 6.5 one
 * call may bring several pages, so cut them into records of at most 2^14.
 */
static int dtls_tx_splice(struct sock *sk, struct msghdr *msg, size_t size,
			  const struct dtls_tx_opts *o)
{
	size_t done = 0;
	int err = 0;

	lock_sock(sk);
	while (done < size) {
		err = dtls_tx_record(sk, dtls_get_ctx(sk), msg,
				     min_t(size_t, size - done,
					   DTLS_MAX_PLAINTEXT), o);
		if (err < 0)
			break;
		done += err;
	}
	release_sock(sk);
	return done ?: err;
}

int dtls_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct dtls_tx_opts o = { .type = DTLS_RECORD_TYPE_APPLICATION_DATA };
	int err;

	/* Corking is refused; between splice() chunks MSG_MORE is a hint. */
	if ((msg->msg_flags & (MSG_MORE | DTLS_MSG_SPLICE_CHUNK)) == MSG_MORE ||
	    msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	/* The keys belong to the connected peer. */
	if (msg->msg_name)
		return -EISCONN;
	err = dtls_tx_cmsg(msg, &o);
	if (err)
		return err;
	if (!(msg->msg_flags & DTLS_MSG_SPLICE_CHUNK))
		return dtls_tx_one(sk, msg, size, &o);
	return dtls_tx_splice(sk, msg, size, &o);
}
