// SPDX-License-Identifier: GPL-2.0
/*
 * The socket's methods, and who owns them.
 *
 * Mainline has no upper-layer protocol hook for UDP, so the module wraps
 * the setsockopt method of the IPv4 and IPv6 UDP protos while it is loaded.
 * The wrapper hands SOL_DTLS to the module and every other level to the
 * original method.  Once a socket carries DTLS state its sk_prot points at
 * one of the module's own proto copies (one per family and TX/RX
 * configuration), which no longer go through the wrapper.  A socket whose
 * reader opens the records (UDP_GRO, reader.c) also gets a copy of its
 * proto_ops with the module's poll() and ioctl().
 *
 * Unload: the original methods are put back first.  A task may still be
 * between loading the old pointer and leaving the wrapper, so exit waits
 * for the in-wrapper count to drain, with an RCU-tasks grace period on each
 * side of it to cover the instructions before the increment and after the
 * decrement (RCU-tasks counts a preempted task as not yet quiescent).
 */

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>

#include "rx.h"
#include "socket.h"

typedef int (*dtls_setsockopt_t)(struct sock *sk, int level, int optname,
				 sockptr_t optval, unsigned int optlen);

/*
 * A kernel IPv6 UDP socket, kept while loaded: it shows where udpv6_prot
 * is (not exported) and holds UDP's encapsulation keys on.
 */
static struct socket *dtls_kern_sock;
static struct proto *dtls_udpv6_prot;
static dtls_setsockopt_t dtls_orig_setsockopt4;
static dtls_setsockopt_t dtls_orig_setsockopt6;
static atomic_t dtls_hook_users = ATOMIC_INIT(0);

/* The address families, for the per-family copies of UDP's structures. */
enum { DTLS_FAM_V4, DTLS_FAM_V6, DTLS_NUM_FAM };

static int dtls_fam(const struct sock *sk)
{
	return sk->sk_family == AF_INET6 ? DTLS_FAM_V6 : DTLS_FAM_V4;
}

/* [family][tx installed][rx installed] */
static struct proto dtls_protos[DTLS_NUM_FAM][2][2];

/*
 * The proto_ops with dtls_poll() and dtls_sock_ioctl(), one copy per
 * family, made from the first socket's own (IPv6's are not exported), as
 * kTLS makes its own; freed at module exit.
 */
static const struct proto_ops *dtls_ops[DTLS_NUM_FAM];
static const struct proto_ops *dtls_ops_base[DTLS_NUM_FAM];
static DEFINE_MUTEX(dtls_ops_lock);

struct proto *dtls_udp_base_proto(int family)
{
	return family == AF_INET6 ? dtls_udpv6_prot : &udp_prot;
}

/* The UDP setsockopt the socket's family had before the module was loaded */
int dtls_udp_setsockopt(struct sock *sk, int level, int optname,
			sockptr_t optval, unsigned int optlen)
{
	dtls_setsockopt_t orig = sk->sk_family == AF_INET6 ?
				 dtls_orig_setsockopt6 : dtls_orig_setsockopt4;

	return orig(sk, level, optname, optval, optlen);
}

void dtls_update_proto(struct sock *sk, struct dtls_context *ctx)
{
	/* a socket with peers sends through the module, to those with keys */
	bool tx = ctx->tx || ctx->peers;

	WRITE_ONCE(sk->sk_prot, &dtls_protos[dtls_fam(sk)][tx]
					    [!!rcu_access_pointer(ctx->rx)]);
}

static void dtls_build_proto(struct proto *p, const struct proto *base,
			     bool tx, bool rx)
{
	*p = *base;
	p->setsockopt = dtls_setsockopt;
	p->getsockopt = dtls_getsockopt;
	p->connect = dtls_connect;
	p->disconnect = dtls_disconnect;
	p->close = dtls_close;
	dtls_compat_refuse_sockmap(p);
	if (tx) {
		p->sendmsg = dtls_sendmsg;
		dtls_compat_set_sendpage(p);
	}
	if (rx)
		p->recvmsg = DTLS_PROTO_RECVMSG;
}

static void dtls_build_protos(void)
{
	int fam, tx, rx;

	for (fam = 0; fam < DTLS_NUM_FAM; fam++) {
		struct proto *base = dtls_udp_base_proto(fam == DTLS_FAM_V6 ?
							 AF_INET6 : AF_INET);

		for (tx = 0; tx < 2; tx++)
			for (rx = 0; rx < 2; rx++)
				dtls_build_proto(&dtls_protos[fam][tx][rx],
						 base, tx, rx);
	}
}

static void dtls_ops_init(struct proto_ops *ops, const struct proto_ops *base)
{
	*ops = *base;
	ops->poll = dtls_poll;
	ops->ioctl = dtls_sock_ioctl;
}

/*
 * The module's proto_ops for @sock, or an error: no memory, or other ops
 * than the family's first socket's.
 */
const struct proto_ops *dtls_sock_ops(struct socket *sock)
{
	const struct proto_ops *base = sock->ops, *ops = ERR_PTR(-ENOMEM);
	int fam = dtls_fam(sock->sk);

	mutex_lock(&dtls_ops_lock);
	if (!dtls_ops[fam]) {
		void *copy = kmalloc(sizeof(*base), GFP_KERNEL);

		if (copy) {
			dtls_ops_init(copy, base);
			dtls_ops[fam] = copy;
			dtls_ops_base[fam] = base;
		}
	}
	if (dtls_ops[fam])
		ops = dtls_ops_base[fam] == base ? dtls_ops[fam] :
						   ERR_PTR(-EOPNOTSUPP);
	mutex_unlock(&dtls_ops_lock);
	return ops;
}

/*
 * Give the socket @ops from dtls_sock_ops().  What poll() and ioctl() use
 * must be set up before: the release pairs with their acquire.
 */
void dtls_swap_ops(struct sock *sk, struct dtls_context *ctx,
		   const struct proto_ops *ops)
{
	struct socket *sock = sk->sk_socket;

	ctx->sk_ops = sock->ops;
	/* pairs with the acquire in dtls_poll() and dtls_sock_ioctl() */
	smp_store_release(&sock->ops, ops);
}

static int dtls_hook(struct sock *sk, int level, int optname,
		     sockptr_t optval, unsigned int optlen,
		     dtls_setsockopt_t orig)
{
	int err;

	atomic_inc(&dtls_hook_users);
	if (level == SOL_DTLS)
		err = dtls_attach_setsockopt(sk, optname, optval, optlen);
	else
		err = orig(sk, level, optname, optval, optlen);
	atomic_dec(&dtls_hook_users);
	return err;
}

/*
 * One hook per proto, each calling its own original: ipv6_setsockopt()
 * passes SOL_IP of an IPv6 socket to udp_prot.setsockopt, so the family of
 * the socket does not tell which original the call came through.
 */
static int dtls_hook_setsockopt4(struct sock *sk, int level, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	return dtls_hook(sk, level, optname, optval, optlen,
			 dtls_orig_setsockopt4);
}

static int dtls_hook_setsockopt6(struct sock *sk, int level, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	return dtls_hook(sk, level, optname, optval, optlen,
			 dtls_orig_setsockopt6);
}

/* Find the UDP protos and build the copies; nothing is hooked yet. */
int dtls_socket_init(void)
{
	struct socket *sock;
	int err;

	err = sock_create_kern(&init_net, AF_INET6, SOCK_DGRAM, IPPROTO_UDP,
			       &sock);
	if (err)
		return err;
	dtls_kern_sock = sock;
	dtls_udpv6_prot = sock->sk->sk_prot;

	dtls_orig_setsockopt4 = udp_prot.setsockopt;
	dtls_orig_setsockopt6 = dtls_udpv6_prot->setsockopt;
	/* The proto copies must exist before any socket can reach them. */
	dtls_build_protos();
	return 0;
}

void dtls_socket_start(void)
{
	/*
	 * Hold UDP's encapsulation keys (IPv4's and IPv6's) on while loaded,
	 * so that installing DTLS_RX on a socket and closing it only move
	 * their counts and never live-patch kernel text.  UDP drops them
	 * when the socket is released, as for any socket with encap_rcv.
	 */
	udp_tunnel_encap_enable(dtls_kern_sock->sk);

	WRITE_ONCE(udp_prot.setsockopt, dtls_hook_setsockopt4);
	WRITE_ONCE(dtls_udpv6_prot->setsockopt, dtls_hook_setsockopt6);
}

/* Give UDP back its setsockopt; no task is left in the wrapper after. */
void dtls_socket_stop(void)
{
	WRITE_ONCE(udp_prot.setsockopt, dtls_orig_setsockopt4);
	WRITE_ONCE(dtls_udpv6_prot->setsockopt, dtls_orig_setsockopt6);

	synchronize_rcu_tasks();
	while (atomic_read(&dtls_hook_users))
		msleep(20);
	synchronize_rcu_tasks();
}

/* Module exit, once no socket is left to use the proto_ops copies. */
void dtls_socket_exit(void)
{
	int fam;

	sock_release(dtls_kern_sock);
	for (fam = 0; fam < DTLS_NUM_FAM; fam++)
		kfree(dtls_ops[fam]);
}
