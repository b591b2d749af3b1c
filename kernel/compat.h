/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels the module builds on, 6.1 to 7.x, kept
 * in this one place.
 */
#ifndef _DTLS_COMPAT_H
#define _DTLS_COMPAT_H

#include <linux/crypto.h>
#include <linux/net.h>
#include <net/inet_sock.h>
#include <net/sock.h>

/* kernel/Kbuild sets the DTLS_HAVE_* macros from the headers it builds with */
#ifdef DTLS_HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>	/* 6.12 */
#else
#include <asm/unaligned.h>
#endif

#ifndef DTLS_HAVE_PROTO_SENDPAGE
/*
 * 6.5 and later: splice() and sendfile() call sendmsg() with
 * MSG_SPLICE_PAGES and up to 16 pages at a time, and set MSG_MORE when
 * more is to come.
 */
#define DTLS_MSG_SPLICE_CHUNK	MSG_SPLICE_PAGES

static inline void dtls_compat_set_sendpage(struct proto *p)
{
}

/*
 * UDP's sendmsg() can also take the sealed records by reference.  Their
 * pages are ours alone and never written again, so a receiver on this
 * host may decrypt in place in them.
 */
#define DTLS_TX_SPLICE		(MSG_SPLICE_PAGES | MSG_NO_SHARED_FRAGS)
#else
/* splice() and sendfile() call sendpage(); MSG_MORE comes with NOTLAST. */
#define DTLS_MSG_SPLICE_CHUNK	MSG_SENDPAGE_NOTLAST

/* As sock_no_sendpage() does for IPv6: each chunk goes to sendmsg(). */
static inline int dtls_sendpage(struct sock *sk, struct page *page,
				int offset, size_t size, int flags)
{
	return sock_no_sendpage(sk->sk_socket, page, offset, size, flags);
}

static inline void dtls_compat_set_sendpage(struct proto *p)
{
	p->sendpage = dtls_sendpage;
}

/* UDP's sendmsg() copies; a page reaches it only by corking. */
#define DTLS_TX_SPLICE		0
#endif

#ifndef DTLS_HAVE_INET_CMSG_FLAGS
/* 6.6 folded cmsg_flags into inet_flags and added this accessor */
static inline unsigned long inet_cmsg_flags(const struct inet_sock *inet)
{
	return inet->cmsg_flags;
}
#endif

/*
 * DTLS_CRYPTO_CALLBACK(fn) defines fn_cb, an asynchronous crypto completion
 * that calls fn(data, err).  6.3 passes a completion its request's data
 * pointer, older kernels the request itself.
 */
#ifdef DTLS_HAVE_CRYPTO_DONE_DATA
#define DTLS_CRYPTO_CALLBACK(fn)					\
static void fn##_cb(void *data, int err)				\
{									\
	fn(data, err);							\
}
#else
#define DTLS_CRYPTO_CALLBACK(fn)					\
static void fn##_cb(struct crypto_async_request *req, int err)		\
{									\
	fn(req->data, err);						\
}
#endif

/*
 * async_crypto=1 (testing) puts every AEAD behind the first of these
 * templates the kernel has.  6.1's cryptd leaves its inner transform in
 * the caller's request, which the crypto self-tests reject, so it would be
 * built and tested again for every socket; on 6.12 pcrypt trips a lockdep
 * report in padata; kernels after 6.12 may have no cryptd (Debian's 7.x).
 */
#ifdef DTLS_HAVE_CRYPTO_DONE_DATA
#define DTLS_ASYNC_TEMPLATES	{ "cryptd", "pcrypt" }
#else
#define DTLS_ASYNC_TEMPLATES	{ "pcrypt" }
#endif

/* 7.1: a proto's connect() takes the address as struct sockaddr_unsized */
#ifdef DTLS_HAVE_SOCKADDR_UNSIZED
#define dtls_sockaddr	sockaddr_unsized
#else
#define dtls_sockaddr	sockaddr
#endif

int dtls_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags);

#ifdef DTLS_HAVE_RECVMSG_ADDR_LEN
/*
 * Before 7.1 a proto's recvmsg() gave the length of the address it wrote
 * through @addr_len, which inet_recvmsg() copied to msg_namelen; since, it
 * sets msg_namelen itself.  The module sets msg_namelen, as 7.1 does.
 */
static inline int dtls_recvmsg_addr_len(struct sock *sk, struct msghdr *msg,
					size_t len, int flags, int *addr_len)
{
	int err = dtls_recvmsg(sk, msg, len, flags);

	*addr_len = msg->msg_namelen;
	return err;
}

#define DTLS_PROTO_RECVMSG	dtls_recvmsg_addr_len

/* UDP's own recvmsg() of @prot, as 7.1 calls it */
static inline int dtls_base_recvmsg(struct proto *prot, struct sock *sk,
				    struct msghdr *msg, size_t len, int flags)
{
	int addr_len = 0, err;

	err = prot->recvmsg(sk, msg, len, flags, &addr_len);
	if (err >= 0)
		msg->msg_namelen = addr_len;
	return err;
}
#else
#define DTLS_PROTO_RECVMSG	dtls_recvmsg

static inline int dtls_base_recvmsg(struct proto *prot, struct sock *sk,
				    struct msghdr *msg, size_t len, int flags)
{
	return prot->recvmsg(sk, msg, len, flags);
}
#endif

/*
 * The socket's drop count (SO_RXQ_OVFL, /proc/net/udp).  6.18 moved UDP's
 * into per-NUMA-node counters that sk_drops_add() reaches.
 */
static inline void dtls_sk_drops_add(struct sock *sk, int n)
{
#ifdef DTLS_HAVE_SK_DROPS_READ
	sk_drops_add(sk, n);
#else
	atomic_add(n, &sk->sk_drops);
#endif
}

/* A sockmap would swap sk_prot under us and send in the clear. */
static inline void dtls_compat_refuse_sockmap(struct proto *p)
{
#ifdef CONFIG_BPF_SYSCALL
	p->psock_update_sk_prot = NULL;
#endif
}

#endif /* _DTLS_COMPAT_H */
