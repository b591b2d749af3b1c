/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark's marker: an x86 NOP with a displacement nothing else uses.
 * Executed in a QEMU guest that runs tools/qemu-insns, it makes the plugin
 * write down every vCPU's instruction count; anywhere else it does nothing.
 * Usable from userspace and from a kernel module.
 */
#ifndef BENCH_MARK_H
#define BENCH_MARK_H

/* nopl 0x534c5444(%rax): 0f 1f /0, mod 10 (disp32), "DTLS" little-endian */
#define BENCH_MARK_BYTES	{ 0x0f, 0x1f, 0x80, 0x44, 0x54, 0x4c, 0x53 }

#if defined(__x86_64__)
#define BENCH_MARK()	asm volatile("nopl 0x534c5444(%%rax)" ::: "memory")
#elif defined(__i386__)
#define BENCH_MARK()	asm volatile("nopl 0x534c5444(%%eax)" ::: "memory")
#else
#define BENCH_MARK()	do { } while (0)
#endif

#endif
