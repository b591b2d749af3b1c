/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * DTLS 1.2 and 1.3 record layer for UDP sockets: user API.
 *
 * The handshake runs in userspace; the traffic keys and record numbers are
 * then handed to the kernel with setsockopt(SOL_DTLS, DTLS_TX / DTLS_RX).
 * Documentation/networking/dtls.rst is the contract for everything here.
 */
#ifndef _UAPI_LINUX_DTLS_H
#define _UAPI_LINUX_DTLS_H

#include <linux/socket.h>
#include <linux/types.h>

/* Socket option level; no mainline SOL_* value uses it. */
#define SOL_DTLS		300

/* setsockopt()/getsockopt() option names at SOL_DTLS */
#define DTLS_TX			1	/* struct dtls12_crypto_info_* */
#define DTLS_RX			2	/* struct dtls12_crypto_info_* */
#define DTLS_RX_REPLAY_WINDOW	3	/* __u32, records; before DTLS_RX */
#define DTLS_KEY_LIMITS		4	/* struct dtls_key_usage; DTLS 1.3 */
#define DTLS_KEY_USAGE		5	/* struct dtls_key_usage; get only */
#define DTLS_TX_CID		6	/* struct dtls_cid, the peer's; before DTLS_TX */
#define DTLS_RX_CID		7	/* struct dtls_cid, this end's; before DTLS_RX */
/* Many peers on one unconnected socket */
#define DTLS_PEER_NEW		8	/* set: struct dtls_peer */
#define DTLS_PEER_DEL		9	/* set: __u32 peer id */
#define DTLS_PEER_TX		10	/* set: struct dtls_peer_key + crypto_info */
#define DTLS_PEER_RX		11	/* set: struct dtls_peer_key + crypto_info */
#define DTLS_PEER_INFO		12	/* get: struct dtls_peer, id filled in */

/* cmsg types at SOL_DTLS */
#define DTLS_SET_RECORD_TYPE	1	/* sendmsg: __u8 content type */
#define DTLS_GET_RECORD_TYPE	2	/* recvmsg: struct dtls_record_info */
#define DTLS_SET_PLAINTEXT_SEQ	3	/* sendmsg: __u64, epoch-0 record number */
#define DTLS_SET_PEER		4	/* sendmsg: __u32 peer id */

#define DTLS_1_2_VERSION	0xfefd
#define DTLS_1_3_VERSION	0xfefc

#define DTLS_CIPHER_AES_GCM_128			51
#define DTLS_CIPHER_AES_GCM_128_KEY_SIZE	16
#define DTLS_CIPHER_AES_GCM_128_SALT_SIZE	4
#define DTLS_CIPHER_AES_GCM_128_TAG_SIZE	16

#define DTLS_CIPHER_AES_GCM_256			52
#define DTLS_CIPHER_AES_GCM_256_KEY_SIZE	32
#define DTLS_CIPHER_AES_GCM_256_SALT_SIZE	4
#define DTLS_CIPHER_AES_GCM_256_TAG_SIZE	16

#define DTLS_CIPHER_AES_CCM_128			53
#define DTLS_CIPHER_AES_CCM_128_KEY_SIZE	16
#define DTLS_CIPHER_AES_CCM_128_SALT_SIZE	4
#define DTLS_CIPHER_AES_CCM_128_TAG_SIZE	16

#define DTLS_CIPHER_CHACHA20_POLY1305			54
#define DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE		32
#define DTLS_CIPHER_CHACHA20_POLY1305_IV_SIZE		12
#define DTLS_CIPHER_CHACHA20_POLY1305_TAG_SIZE		16

/* AES-128-CCM with an 8-byte tag (RFC 6655 CCM_8, used by CoAP) */
#define DTLS_CIPHER_AES_CCM_8_128		60
#define DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE	16
#define DTLS_CIPHER_AES_CCM_8_128_SALT_SIZE	4
#define DTLS_CIPHER_AES_CCM_8_128_TAG_SIZE	8

/* Size of rec_seq: epoch (16 bits) || sequence number (48 bits), big endian */
#define DTLS_REC_SEQ_SIZE	8
/* DTLS 1.3: every suite's static IV */
#define DTLS13_IV_SIZE		12

/* Record content types (RFC 6347 4.1, RFC 5246 6.2.1) */
#define DTLS_RECORD_TYPE_CHANGE_CIPHER_SPEC	20
#define DTLS_RECORD_TYPE_ALERT			21
#define DTLS_RECORD_TYPE_HANDSHAKE		22
#define DTLS_RECORD_TYPE_APPLICATION_DATA	23
#define DTLS_RECORD_TYPE_ACK			26	/* DTLS 1.3 only */

struct dtls_crypto_info {
	__u16 version;		/* DTLS_1_2_VERSION */
	__u16 cipher_type;	/* DTLS_CIPHER_* */
};

/*
 * For the AES-GCM and AES-CCM suites the nonce is salt || explicit nonce;
 * the kernel sends epoch || seq as the explicit nonce and reads whatever
 * the peer put in the record.
 */
struct dtls12_crypto_info_aes_gcm_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_GCM_128_KEY_SIZE];
	__u8 salt[DTLS_CIPHER_AES_GCM_128_SALT_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls12_crypto_info_aes_gcm_256 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_GCM_256_KEY_SIZE];
	__u8 salt[DTLS_CIPHER_AES_GCM_256_SALT_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls12_crypto_info_aes_ccm_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_CCM_128_KEY_SIZE];
	__u8 salt[DTLS_CIPHER_AES_CCM_128_SALT_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls12_crypto_info_aes_ccm_8_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE];
	__u8 salt[DTLS_CIPHER_AES_CCM_8_128_SALT_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

/* RFC 7905: nonce = iv XOR (0^32 || epoch || seq); no explicit nonce. */
struct dtls12_crypto_info_chacha20_poly1305 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE];
	__u8 iv[DTLS_CIPHER_CHACHA20_POLY1305_IV_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

/*
 * DTLS 1.3 (RFC 9147): the keys of one epoch, as userspace derives them
 * from that epoch's traffic secret (HKDF-Expand-Label with the "dtls13"
 * prefix): key ("key"), the static IV ("iv") and the record number key
 * ("sn", as long as the key).  The nonce is iv XOR the sequence number;
 * rec_seq is epoch || sequence number, as for DTLS 1.2.  info.cipher_type
 * is one of the DTLS_CIPHER_* above.
 */
struct dtls13_crypto_info_aes_gcm_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_GCM_128_KEY_SIZE];
	__u8 iv[DTLS13_IV_SIZE];
	__u8 sn_key[DTLS_CIPHER_AES_GCM_128_KEY_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls13_crypto_info_aes_gcm_256 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_GCM_256_KEY_SIZE];
	__u8 iv[DTLS13_IV_SIZE];
	__u8 sn_key[DTLS_CIPHER_AES_GCM_256_KEY_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls13_crypto_info_aes_ccm_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_CCM_128_KEY_SIZE];
	__u8 iv[DTLS13_IV_SIZE];
	__u8 sn_key[DTLS_CIPHER_AES_CCM_128_KEY_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls13_crypto_info_aes_ccm_8_128 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE];
	__u8 iv[DTLS13_IV_SIZE];
	__u8 sn_key[DTLS_CIPHER_AES_CCM_8_128_KEY_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

struct dtls13_crypto_info_chacha20_poly1305 {
	struct dtls_crypto_info info;
	__u8 key[DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE];
	__u8 iv[DTLS13_IV_SIZE];
	__u8 sn_key[DTLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE];
	__u8 rec_seq[DTLS_REC_SEQ_SIZE];
};

/*
 * DTLS 1.3's AEAD usage limits (RFC 9147 4.5.3), per epoch: how many
 * records one TX epoch's keys protect, and how many records that fail
 * authentication one RX epoch's keys see.  DTLS_KEY_LIMITS gives the
 * limits in force (and lowers them: 0 leaves one as it is),
 * DTLS_KEY_USAGE what the current epochs have used.
 */
struct dtls_key_usage {
	__u64 tx_records;
	__u64 rx_forged;
};

/*
 * Connection IDs (RFC 9146 for DTLS 1.2, RFC 9147 section 9 for DTLS 1.3),
 * as the handshake negotiated them.  DTLS_TX_CID is the one the peer asked
 * for: every protected record sent carries it.  DTLS_RX_CID is this end's:
 * every protected record received must carry it.  Length 0 (the default)
 * means no connection ID in that direction.  Each is set before the first
 * keys of its direction and holds for the socket's life; optlen may stop
 * right after the @len bytes of @cid.
 */
#define DTLS_CID_MAX_SIZE	255

struct dtls_cid {
	__u8 len;
	__u8 cid[DTLS_CID_MAX_SIZE];
};

/*
 * Many peers on one unconnected socket.  DTLS_PEER_NEW adds a peer at
 * @addr (a sockaddr_in or sockaddr_in6 of the socket's family) under @id,
 * which userspace chooses (nonzero, unique on the socket), with the
 * connection IDs the handshake negotiated; DTLS_PEER_TX and DTLS_PEER_RX
 * then install its keys as DTLS_TX and DTLS_RX do on a connected socket,
 * DTLS_PEER_DEL removes it.  DTLS_PEER_INFO reads a peer back, its
 * current address and DTLS_PEER_F_* in @flags.  Every peer's receive
 * connection ID has the same length, or none.
 */
#define DTLS_PEER_F_TX		0x01	/* get: TX keys installed */
#define DTLS_PEER_F_RX		0x02	/* get: RX keys installed */

struct dtls_peer {
	__u32 id;
	__u32 flags;		/* zero on DTLS_PEER_NEW */
	struct __kernel_sockaddr_storage addr;
	struct dtls_cid tx_cid;
	struct dtls_cid rx_cid;
};

/* DTLS_PEER_TX, DTLS_PEER_RX: this, then the crypto_info */
struct dtls_peer_key {
	__u32 id;
	__u32 reserved;		/* zero */
};

/* Flags in struct dtls_record_info */
#define DTLS_RECORD_F_PROTECTED	0x01	/* authenticated with the RX keys */
#define DTLS_RECORD_F_MOVED	0x02	/* the peer's address is now the sender's */
#define DTLS_RECORD_F_DATAGRAM	0x04	/* a whole datagram, not opened */

/* Delivered with every record when recvmsg() supplies msg_control. */
struct dtls_record_info {
	__u64 rec_num;		/* epoch << 48 | seq, host byte order */
	__u8 content_type;	/* DTLS_RECORD_TYPE_* */
	__u8 flags;		/* DTLS_RECORD_F_* */
	__u8 reserved[2];	/* zero */
	__u32 peer_id;		/* many-peer socket: the peer's, else 0 */
};

#endif /* _UAPI_LINUX_DTLS_H */
