/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket's methods: UDP's setsockopt hook, the module's copies of the
 * UDP protos and proto_ops and their swap (socket.c), and the methods of
 * main.c those copies point at.
 */
#ifndef _DTLS_SOCKET_H
#define _DTLS_SOCKET_H

#include <linux/net.h>
#include <net/sock.h>

#include "dtls.h"

/* socket.c */
int dtls_socket_init(void);
void dtls_socket_start(void);
void dtls_socket_stop(void);
void dtls_socket_exit(void);
struct proto *dtls_udp_base_proto(int family);
int dtls_udp_setsockopt(struct sock *sk, int level, int optname,
			sockptr_t optval, unsigned int optlen);
void dtls_update_proto(struct sock *sk, struct dtls_context *ctx);
const struct proto_ops *dtls_sock_ops(struct socket *sock);
void dtls_swap_ops(struct sock *sk, struct dtls_context *ctx,
		   const struct proto_ops *ops);

/* main.c */
int dtls_attach_setsockopt(struct sock *sk, int optname, sockptr_t optval,
			   unsigned int optlen);
int dtls_setsockopt(struct sock *sk, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int dtls_getsockopt(struct sock *sk, int level, int optname,
		    char __user *optval, int __user *optlen);
int dtls_connect(struct sock *sk, struct dtls_sockaddr *uaddr, int addr_len);
int dtls_disconnect(struct sock *sk, int flags);
void dtls_close(struct sock *sk, long timeout);

#endif /* _DTLS_SOCKET_H */
