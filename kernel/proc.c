// SPDX-License-Identifier: GPL-2.0
/*
 * Per-network-namespace counters in /proc/net/dtls_stat.
 */

#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "dtls.h"

struct dtls_net {
	long __percpu *mib;	/* DTLS_MIB_MAX counters per CPU */
};

static unsigned int dtls_net_id __read_mostly;

static const char * const dtls_mib_names[DTLS_MIB_MAX] = {
	[DTLS_MIB_CURR_TX_SW]		= "DtlsCurrTxSw",
	[DTLS_MIB_CURR_RX_SW]		= "DtlsCurrRxSw",
	[DTLS_MIB_TX_SW]		= "DtlsTxSw",
	[DTLS_MIB_RX_SW]		= "DtlsRxSw",
	[DTLS_MIB_TX_RECORDS]		= "DtlsTxRecords",
	[DTLS_MIB_TX_ERROR]		= "DtlsTxError",
	[DTLS_MIB_RX_RECORDS]		= "DtlsRxRecords",
	[DTLS_MIB_RX_PLAINTEXT]		= "DtlsRxPlaintext",
	[DTLS_MIB_RX_DECRYPT_ERROR]	= "DtlsRxDecryptError",
	[DTLS_MIB_RX_REPLAY]		= "DtlsRxReplay",
	[DTLS_MIB_RX_MALFORMED]		= "DtlsRxMalformed",
	[DTLS_MIB_RX_BAD_VERSION]	= "DtlsRxBadVersion",
	[DTLS_MIB_RX_UNKNOWN_EPOCH]	= "DtlsRxUnknownEpoch",
	[DTLS_MIB_RX_DROPPED]		= "DtlsRxDropped",
	[DTLS_MIB_TX_KEY_EXPIRED]	= "DtlsTxKeyExpired",
	[DTLS_MIB_RX_KEY_EXPIRED]	= "DtlsRxKeyExpired",
	[DTLS_MIB_RX_UNKNOWN_CID]	= "DtlsRxUnknownCid",
};

void dtls_stat_add(const struct net *net, enum dtls_mib_field f, long v)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	this_cpu_add(dn->mib[f], v);
}

long dtls_stat_get(const struct net *net, enum dtls_mib_field f)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(dn->mib, cpu)[f];
	return sum;
}

static int dtls_stat_show(struct seq_file *seq, void *v)
{
	const struct net *net = seq_file_single_net(seq);
	int f;

	for (f = 0; f < DTLS_MIB_MAX; f++)
		seq_printf(seq, "%-32s\t%ld\n", dtls_mib_names[f],
			   dtls_stat_get(net, f));
	return 0;
}

static int __net_init dtls_net_init(struct net *net)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	dn->mib = __alloc_percpu(sizeof(long) * DTLS_MIB_MAX,
				 __alignof__(long));
	if (!dn->mib)
		return -ENOMEM;

	if (!proc_create_net_single("dtls_stat", 0444, net->proc_net,
				    dtls_stat_show, NULL)) {
		free_percpu(dn->mib);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit dtls_net_exit(struct net *net)
{
	struct dtls_net *dn = net_generic(net, dtls_net_id);

	remove_proc_entry("dtls_stat", net->proc_net);
	free_percpu(dn->mib);
}

static struct pernet_operations dtls_net_ops = {
	.init = dtls_net_init,
	.exit = dtls_net_exit,
	.id = &dtls_net_id,
	.size = sizeof(struct dtls_net),
};

int dtls_proc_init(void)
{
	return register_pernet_subsys(&dtls_net_ops);
}

void dtls_proc_exit(void)
{
	unregister_pernet_subsys(&dtls_net_ops);
}
