#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""insns_profile.py [--overhead] DIR [TOP] - where each side's instructions
per record go.

DIR holds what a bench.sh run under tools/qemu-insns with prof=DIR/insns.prof
leaves (see "Instructions instead of time" in
Documentation/networking/dtls-bench.rst):
results.tsv, whose insns_mark column names each cell's window, insns.prof
(per window, vCPU and translation block: the instructions it ran) and
kallsyms, the guest's /proc/kallsyms read after dtls.ko was loaded.

For each network cell (kind "net", over veth, or "lo", over loopback), per
side (the sender's CPU, per record sent; the receiver's, per record
received), prints the TOP functions (default 25) by instructions per
record.  Kernel addresses are named by the function that contains them;
user space is one line, "[user]".

With --overhead: for each kernel DTLS cell and side, the record layer's
overhead ("The record layer's overhead" in dtls-bench.rst) function by
function: the cell's instructions per record minus plain UDP's in the same
mode (plain-gso for kdtls-gso) minus the AEAD alone's (the kaead-best cell)
once per AEAD the side ran.  The AEAD's own functions are one line,
"[AEAD]"; each line has its class (aead, wait, dtls, user, kernel) and the
total is given with and without the "wait" class, the instructions spent
waiting for the other side rather than on a record.
"""
import bisect
import collections
import csv
import os
import sys

TX_CPU = int(os.environ.get("TX_CPU", "0"))
RX_CPU = int(os.environ.get("RX_CPU", "1"))
USER_TOP = 0x0000800000000000

# The cipher: its modules, and the crypto API's walk and FPU code it runs
AEAD_MODULES = ("aesni_intel", "ghash_clmulni_intel", "crypto_simd", "cryptd",
                "chacha_x86_64", "poly1305_x86_64", "libchacha", "libpoly1305",
                "chacha20poly1305", "ccm", "gcm", "ctr", "ghash_generic")
AEAD_PREFIXES = ("scatterwalk_", "skcipher_walk", "kernel_fpu_", "irq_fpu_usable",
                 "crypto_aead_", "simd_aead_", "crypto_aes_", "aes_encrypt",
                 "crypto_inc", "__crypto_xor", "crypto_ctr_", "crypto_gcm",
                 "crypto_ccm", "crypto_rfc", "gcm_", "ghash_", "shash_", "crypto_hash_",
                 "hash_walk_", "crypto_shash_", "crypto_ahash_")
# Waiting rather than working on a record: a vCPU spinning on a lock or on
# the HPET clock (read_hpet spins while the other vCPU reads it), sleeping
# and being woken (the scheduler, the idle loop, poll()), and what runs per
# unit of time rather than per record (the timer tick, the clock).  Under
# TCG their count follows the host's scheduling of the vCPUs, not the work.
WAIT_NAMES = {
    "native_queued_spin_lock_slowpath", "__pv_queued_spin_lock_slowpath",
    "read_hpet", "pollwake", "do_sys_poll", "__x64_sys_poll", "__x64_sys_ppoll",
    "poll_freewait", "__pollwait", "sock_poll", "do_poll.constprop.0",
    "schedule", "schedule_idle", "schedule_hrtimeout_range",
    "schedule_hrtimeout_range_clock", "io_schedule", "preempt_schedule",
    "preempt_schedule_irq", "resched_curr", "wake_up_process",
    "finish_task_switch.isra.0", "finish_task_switch", "update_curr",
    "rcu_note_context_switch", "update_process_times", "scheduler_tick",
    "account_process_tick", "irqtime_account_irq", "update_wall_time",
}
WAIT_PREFIXES = (
    "__schedule", "pick_next_", "put_prev_", "set_next_", "enqueue_", "dequeue_",
    "update_load_avg", "__update_load_avg", "update_cfs_", "update_rq_clock",
    "update_min_vruntime", "update_rt_rq_load_avg", "update_dl_rq_load_avg",
    "update_blocked_averages", "update_sd_lb_stats", "rebalance_domains",
    "load_balance", "newidle_balance", "psi_", "sched_clock", "native_sched_clock",
    "__switch_to", "switch_mm", "try_to_wake_up", "ttwu_", "select_task_rq",
    "check_preempt", "do_idle", "cpuidle_", "default_idle", "arch_cpu_idle",
    "native_safe_halt", "tick_", "nohz_", "hrtimer_", "__hrtimer", "ktime_get",
    "timekeeping_", "rcu_sched_clock_irq", "__sysvec_apic_timer_interrupt",
    "sysvec_apic_timer_interrupt", "__wake_up", "autoremove_wake_function",
    "prepare_to_wait", "finish_wait", "reweight_", "place_entity",
    "__calc_delta", "menu_", "calc_global_load", "__run_timers",
    "run_timer_softirq", "irq_enter", "irq_exit", "account_", "cpuacct_",
    "__cgroup_account_cputime")
CLASSES = ("aead", "dtls", "kernel", "user", "wait")


def fn_class(name):
    """aead, wait, dtls (the record layer, dtls.ko), user or kernel."""
    if name == "[user]":
        return "user"
    parts = name.split()
    mod = parts[1].strip("[]") if len(parts) > 1 else None
    if name == "[AEAD]" or mod in AEAD_MODULES or parts[0].startswith(AEAD_PREFIXES):
        return "aead"
    if mod == "dtls":
        return "dtls"
    if parts[0] in WAIT_NAMES or parts[0].startswith(WAIT_PREFIXES):
        return "wait"
    return "kernel"


def kallsyms(path):
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            if not addr:
                sys.exit("insns_profile.py: %s has no addresses (read it as root)" % path)
            name = parts[2] + (" " + parts[3] if len(parts) > 3 else "")
            syms.append((addr, name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def name_of(addr, addrs, names):
    if addr < USER_TOP:
        return "[user]"
    i = bisect.bisect_right(addrs, addr) - 1
    return names[i] if i >= 0 else "[kernel ?]"


def windows(path, wanted):
    """{(seq, vcpu): {vaddr: instructions}} for the seqs in wanted"""
    out = collections.defaultdict(collections.Counter)
    with open(path) as f:
        for line in f:
            seq, vcpu, vaddr, n = line.split()
            if seq in wanted:
                out[(seq, int(vcpu))][int(vaddr, 16)] += int(n)
    return out


class Profile:
    """The per-function instructions of the windows of DIR's cells."""

    def __init__(self, d, rows):
        self.rows = rows
        marks = {r["insns_mark"] for r in rows if r.get("insns_mark", "-") != "-"}
        self.addrs, self.names = kallsyms(os.path.join(d, "kallsyms"))
        self.prof = windows(os.path.join(d, "insns.prof"), marks)

    @staticmethod
    def available(d):
        return all(os.path.exists(os.path.join(d, f)) for f in ("insns.prof", "kallsyms"))

    def functions(self, mark, cpu, recs, aead_line=False):
        """{function: instructions per record} of window @mark on @cpu;
        with @aead_line the AEAD's functions summed as "[AEAD]" (its
        encryption and decryption run differently named code)."""
        by_fn = collections.Counter()
        if not recs:
            return by_fn
        for vaddr, n in self.prof.get((mark, cpu), {}).items():
            name = name_of(vaddr, self.addrs, self.names)
            if aead_line and fn_class(name) == "aead":
                name = "[AEAD]"
            by_fn[name] += n / recs
        return by_fn

    def classes(self, mark, cpu, recs):
        """{class: instructions per record} of window @mark on @cpu"""
        out = collections.Counter()
        for fn, n in self.functions(mark, cpu, recs).items():
            out[fn_class(fn)] += n
        return out

    def aead_alone(self):
        """The AEAD alone (kaead-best, the first size found; its cipher
        window runs on RX_CPU): instructions per record of its AEAD
        functions, and of its whole window."""
        for r in self.rows:
            if r["kind"] == "cipher" and r["mode"] == "kaead-best" and \
               r["status"] == "ok" and r.get("insns_mark", "-") != "-":
                total = float(r["insns_per_record"])
                fns = self.prof.get((r["insns_mark"], RX_CPU), {})
                n = sum(fns.values())
                recs = n / total if total else 0
                c = self.classes(r["insns_mark"], RX_CPU, recs)
                return c["aead"], total
        return None, None


def load_rows(d):
    with open(os.path.join(d, "results.tsv")) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def sides(cell):
    return (("sender", TX_CPU, int(cell["sent"])),
            ("receiver", RX_CPU, int(cell["recv"])))


def profile(d, top):
    rows = load_rows(d)
    cells = [r for r in rows
             if r["kind"] in ("net", "lo") and r.get("insns_mark", "-") != "-"]
    if not cells:
        sys.exit("insns_profile.py: no cell with an instruction window in %s/results.tsv" % d)
    p = Profile(d, cells)
    for c in cells:
        tag = "%s %s %s%s" % (c["mode"], c["cipher"], c["size"],
                              ", loopback" if c["kind"] == "lo" else "")
        for side, cpu, recs in sides(c):
            by_fn = p.functions(c["insns_mark"], cpu, recs)
            total = sum(by_fn.values())
            print("%s, %s (CPU %d): %.0f instructions per record" % (tag, side, cpu, total))
            for fn, n in by_fn.most_common(top):
                print("  %8.0f  %5.1f%%  %s" % (n, 100.0 * n / total if total else 0, fn))
            print()


# Each kernel DTLS mode and the plain UDP mode it is measured against
OVERHEAD_MODES = (("kdtls", "plain"), ("kdtls-mmsg", "plain"), ("kdtls-gso", "plain-gso"))
PATHS = (("net", "veth"), ("lo", "loopback"))


def overhead_cells(rows):
    """(path name, kdtls cell, plain cell) for every pair in @rows at the
    same size, both ok and counted."""
    out = []
    for kind, path in PATHS:
        for mode, plain in OVERHEAD_MODES:
            for k in rows:
                if k["kind"] != kind or k["mode"] != mode or k["status"] != "ok" or \
                   k.get("insns_mark", "-") == "-":
                    continue
                p = next((r for r in rows if r["kind"] == kind and r["mode"] == plain
                          and r["size"] == k["size"] and r["status"] == "ok"
                          and r.get("insns_mark", "-") != "-"), None)
                if p:
                    out.append((path, k, p))
    return out


def overhead(d, top):
    rows = load_rows(d)
    p = Profile(d, rows)
    aead_fns, aead_total = p.aead_alone()
    if aead_total is None:
        sys.exit("insns_profile.py: no kaead-best cell with an instruction window in %s" % d)
    print("The AEAD alone (kaead-best): %.0f instructions per record, %.0f of them "
          "in the AEAD's functions" % (aead_total, aead_fns))
    for path, k, pl in overhead_cells(rows):
        for (side, cpu, recs), (_, _, precs) in zip(sides(k), sides(pl)):
            kf = p.functions(k["insns_mark"], cpu, recs, aead_line=True)
            pf = p.functions(pl["insns_mark"], cpu, precs, aead_line=True)
            # how many AEADs this side ran: from where the cipher's code ran
            naead = round(kf["[AEAD]"] / aead_fns) if aead_fns else 0
            kt, pt = sum(kf.values()), sum(pf.values())
            delta = collections.Counter({f: kf[f] - pf[f] for f in set(kf) | set(pf)})
            delta["[AEAD]"] -= naead * aead_total
            total = kt - pt - naead * aead_total
            by_class = collections.Counter()
            for f, v in delta.items():
                by_class[fn_class(f)] += v
            print()
            print("%s %s %s, %s: overhead %.0f = %.0f - %.0f (%s) - %d x %.0f (AEAD alone); "
                  "%.0f without waiting" % (
                      k["mode"], k["size"], path, side, total, kt, pt, pl["mode"], naead,
                      aead_total, total - by_class["wait"]))
            print("  by class: " + ", ".join("%s %+.0f" % (c, by_class[c]) for c in CLASSES))
            print("  %7s %7s %7s  %-6s %s" % ("above", k["mode"], pl["mode"], "class",
                                              "function"))
            shown = 0
            for f, v in sorted(delta.items(), key=lambda x: -abs(x[1]))[:top]:
                print("  %+7.0f %7.0f %7.0f  %-6s %s" % (v, kf[f], pf[f], fn_class(f), f))
                shown += v
            print("  %+7.0f %7s %7s  %-6s (the other functions)" % (total - shown, "", "", ""))


def main():
    args = sys.argv[1:]
    over = bool(args) and args[0] == "--overhead"
    if over:
        args = args[1:]
    if len(args) not in (1, 2):
        sys.exit(__doc__)
    top = int(args[1]) if len(args) == 2 else 25
    if over:
        overhead(args[0], top)
    else:
        profile(args[0], top)


if __name__ == "__main__":
    main()
