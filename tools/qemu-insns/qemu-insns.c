// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-insns - a QEMU TCG plugin that counts the instructions each vCPU
 * of the guest executes, and writes every vCPU's count to a file whenever
 * the guest executes the marker (userspace/tests/bench_mark.h).
 *
 * Under TCG the guest's time depends on whatever else the host runs;
 * the number of instructions a piece of work takes does not.  The
 * benchmark brackets its measurement window with the marker and divides
 * each vCPU's instructions over the window by the records, as it divides
 * the CPU time (see "Instructions instead of time" in
 * Documentation/networking/dtls-bench.rst).
 *
 *   qemu-system-x86_64 ... -plugin tools/qemu-insns/qemu-insns.so,out=FILE
 *   ... ,out=FILE,prof=PROFILE
 *
 * Each line of FILE: "mark SEQ VCPU COUNT0 COUNT1 ...", SEQ counting from
 * 1, VCPU the one that executed the marker, COUNTn the instructions vCPU n
 * executed since the guest started.  A translation block is counted when
 * it starts, so a block cut short by an exception or an interrupt counts
 * in full: the counts are exact to a few instructions per interruption.
 *
 * With prof=PROFILE, every marker also writes to PROFILE where each vCPU's
 * instructions since the previous marker went, one line per translation
 * block that ran: "SEQ VCPU VADDR COUNT" (VADDR of the block's first
 * instruction, in hex).  userspace/tests/insns_profile.py names the
 * kernel's functions with the guest's /proc/kallsyms.
 *
 * Instructions are counted as a CPU's "instructions retired" counter
 * counts them: a REP string instruction is one instruction whatever its
 * count.  QEMU runs each of its iterations as a block that starts at the
 * instruction itself, so such a block counts one instruction less (the
 * first iteration ran in the block that led to it; a branch straight to a
 * REP instruction is missed, which compilers rarely emit).  Counted per
 * iteration, the kernel's copies (REP MOVSB) would weigh a byte as much
 * as an AES round.
 *
 * Built against QEMU's plugin header (include/qemu/qemu-plugin.h of the
 * QEMU source the installed qemu-system-x86 comes from), which tools/setup
 * takes from Debian's source archive.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

#include "../../userspace/tests/bench_mark.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* Indexed by vCPU; each is written by its vCPU's thread only. */
static uint64_t *count;
static unsigned int nvcpu;
static FILE *out;
static uint64_t seq;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The profile: one of these per translation (a block translated again
 * gets another, with the same vaddr), all on a list under out_lock.
 * cnt[] and dumped[] are indexed by vCPU like count[].
 */
struct block {
	struct block *next;
	uint64_t vaddr;
	uint64_t ninsns;	/* as counted: see is_rep_string() */
	uint64_t *cnt;		/* written by each vCPU's thread */
	uint64_t *dumped;	/* cnt[] at the last marker, under out_lock */
};

static FILE *prof;
static struct block *blocks;

static const unsigned char marker[] = BENCH_MARK_BYTES;

static void tb_exec(unsigned int vcpu, void *ninsns)
{
	if (vcpu < nvcpu)
		__atomic_store_n(&count[vcpu], count[vcpu] + (uintptr_t)ninsns,
				 __ATOMIC_RELAXED);
}

static void tb_exec_prof(unsigned int vcpu, void *data)
{
	struct block *b = data;

	if (vcpu < nvcpu) {
		__atomic_store_n(&count[vcpu], count[vcpu] + b->ninsns,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&b->cnt[vcpu], b->cnt[vcpu] + b->ninsns,
				 __ATOMIC_RELAXED);
	}
}

/* Under out_lock: where the instructions since the last marker went. */
static void prof_dump(void)
{
	struct block *b;
	unsigned int v;

	for (b = blocks; b; b = b->next) {
		for (v = 0; v < nvcpu; v++) {
			uint64_t c = __atomic_load_n(&b->cnt[v],
						     __ATOMIC_RELAXED);

			if (c == b->dumped[v])
				continue;
			fprintf(prof, "%llu %u %llx %llu\n",
				(unsigned long long)seq, v,
				(unsigned long long)b->vaddr,
				(unsigned long long)(c - b->dumped[v]));
			b->dumped[v] = c;
		}
	}
	fflush(prof);
}

/* A block for the profile, or NULL if there is no memory for it. */
static struct block *prof_block(struct qemu_plugin_tb *tb, size_t counted)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cnt = calloc(nvcpu, sizeof(*b->cnt));
	b->dumped = calloc(nvcpu, sizeof(*b->dumped));
	if (!b->cnt || !b->dumped) {
		free(b->cnt);
		free(b->dumped);
		free(b);
		return NULL;
	}
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->ninsns = counted;
	pthread_mutex_lock(&out_lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&out_lock);
	return b;
}

static void mark_exec(unsigned int vcpu, void *unused)
{
	unsigned int i;

	pthread_mutex_lock(&out_lock);
	fprintf(out, "mark %llu %u", (unsigned long long)++seq, vcpu);
	for (i = 0; i < nvcpu; i++)
		fprintf(out, " %llu", (unsigned long long)
			__atomic_load_n(&count[i], __ATOMIC_RELAXED));
	fputc('\n', out);
	/* the guest may read the file as soon as it runs on */
	fflush(out);
	if (prof)
		prof_dump();
	pthread_mutex_unlock(&out_lock);
}

/* INS, OUTS, MOVS, CMPS, STOS, LODS, SCAS with a REP/REPNE prefix */
static int is_rep_string(const unsigned char *p, size_t len)
{
	int rep = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char b = p[i];

		if (b == 0xf2 || b == 0xf3)
			rep = 1;
		else if (b == 0x66 || b == 0x67 || b == 0xf0 || b == 0x2e ||
			 b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 ||
			 b == 0x65 || (b & 0xf0) == 0x40)
			continue;	/* other prefixes, REX */
		else
			return rep && ((b >= 0x6c && b <= 0x6f) ||
				       (b >= 0xa4 && b <= 0xa7) ||
				       (b >= 0xaa && b <= 0xaf));
	}
	return 0;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i, counted = n;
	struct qemu_plugin_insn *insn;

	if (!n)
		return;
	/* a further iteration of a REP string instruction */
	insn = qemu_plugin_tb_get_insn(tb, 0);
	if (is_rep_string(qemu_plugin_insn_data(insn),
			  qemu_plugin_insn_size(insn)))
		counted--;
	if (counted && prof) {
		struct block *b = prof_block(tb, counted);

		if (b)
			qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_prof,
							QEMU_PLUGIN_CB_NO_REGS,
							b);
		else
			fprintf(stderr, "qemu-insns: out of memory for the profile\n");
	} else if (counted) {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec,
						     QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)counted);
	}
	for (i = 0; i < n; i++) {
		insn = qemu_plugin_tb_get_insn(tb, i);
		if (qemu_plugin_insn_size(insn) == sizeof(marker) &&
		    !memcmp(qemu_plugin_insn_data(insn), marker, sizeof(marker)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec,
							QEMU_PLUGIN_CB_NO_REGS,
							NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	fclose(out);
	if (prof)
		fclose(prof);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL, *prof_path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			path = argv[i] + 4;
		} else if (!strncmp(argv[i], "prof=", 5)) {
			prof_path = argv[i] + 5;
		} else {
			fprintf(stderr, "qemu-insns: unknown argument %s (takes out=FILE[,prof=FILE])\n",
				argv[i]);
			return -1;
		}
	}
	if (!path || !info->system_emulation) {
		fprintf(stderr, "qemu-insns: needs out=FILE and system emulation\n");
		return -1;
	}
	nvcpu = info->system.max_vcpus;
	count = calloc(nvcpu, sizeof(*count));
	out = fopen(path, "w");
	if (!count || !out) {
		fprintf(stderr, "qemu-insns: cannot open %s or allocate\n", path);
		return -1;
	}
	if (prof_path) {
		prof = fopen(prof_path, "w");
		if (!prof) {
			fprintf(stderr, "qemu-insns: cannot open %s\n", prof_path);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
