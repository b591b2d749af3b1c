// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching to UDP sockets.
 *
 * Mainline has no upper-layer protocol hook for UDP, so the module wraps
 * the setsockopt method of the IPv4 and IPv6 UDP protos while it is loaded.
 * The wrapper hands SOL_DTLS to the module and every other level to the
 * original method.  Once a socket carries DTLS state its sk_prot points at
 * one of the module's own proto copies, which no longer go through here.
 *
 * Unload: the original methods are put back first.  A task may still be
 * between loading the old pointer and leaving the wrapper, so exit waits
 * for the in-wrapper count to drain, with an RCU-tasks grace period on each
 * side of it to cover the instructions before the increment and after the
 * decrement (RCU-tasks counts a preempted task as not yet quiescent).
 */

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
#include <net/ipv6.h>
#include <net/udp.h>

#include "dtls.h"

typedef int (*dtls_setsockopt_t)(struct sock *sk, int level, int optname,
				 sockptr_t optval, unsigned int optlen);

static struct proto *dtls_udpv6_prot;
static dtls_setsockopt_t dtls_orig_setsockopt4;
static dtls_setsockopt_t dtls_orig_setsockopt6;
static atomic_t dtls_hook_users = ATOMIC_INIT(0);

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

int dtls_attach_init(void)
{
	struct socket *sock;
	int err;

	/* udpv6_prot is not exported; a kernel socket shows where it is. */
	err = sock_create_kern(&init_net, AF_INET6, SOCK_DGRAM, IPPROTO_UDP,
			       &sock);
	if (err)
		return err;
	dtls_udpv6_prot = sock->sk->sk_prot;
	sock_release(sock);

	dtls_orig_setsockopt4 = udp_prot.setsockopt;
	dtls_orig_setsockopt6 = dtls_udpv6_prot->setsockopt;
	return 0;
}

void dtls_attach_start(void)
{
	/*
	 * Hold UDP's encapsulation keys on while loaded, so that installing
	 * DTLS_RX on a socket and closing it only move the key's count and
	 * never live-patch kernel text.
	 */
	udp_encap_enable();
	udpv6_encap_enable();

	WRITE_ONCE(udp_prot.setsockopt, dtls_hook_setsockopt4);
	WRITE_ONCE(dtls_udpv6_prot->setsockopt, dtls_hook_setsockopt6);
}

void dtls_attach_exit(void)
{
	WRITE_ONCE(udp_prot.setsockopt, dtls_orig_setsockopt4);
	WRITE_ONCE(dtls_udpv6_prot->setsockopt, dtls_orig_setsockopt6);

	synchronize_rcu_tasks();
	while (atomic_read(&dtls_hook_users))
		msleep(20);
	synchronize_rcu_tasks();

	udp_encap_disable();
	static_branch_dec(&udpv6_encap_needed_key);
}
