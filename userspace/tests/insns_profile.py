#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""insns_profile.py DIR [TOP] - where each side's instructions per record go.

DIR holds what a bench.sh run under tools/qemu-insns with prof=DIR/insns.prof
leaves (see "Instructions instead of time" in
Documentation/networking/dtls-bench.rst):
results.tsv, whose insns_mark column names each cell's window, insns.prof
(per window, vCPU and translation block: the instructions it ran) and
kallsyms, the guest's /proc/kallsyms read after dtls.ko was loaded.

For each network cell, per side (the sender's CPU, per record sent; the
receiver's, per record received), prints the TOP functions (default 25) by
instructions per record.  Kernel addresses are named by the function that
contains them; user space is one line, "[user]".
"""
import bisect
import collections
import csv
import os
import sys

TX_CPU = int(os.environ.get("TX_CPU", "0"))
RX_CPU = int(os.environ.get("RX_CPU", "1"))
USER_TOP = 0x0000800000000000


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


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    d = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) == 3 else 25
    with open(os.path.join(d, "results.tsv")) as f:
        cells = [r for r in csv.DictReader(f, delimiter="\t")
                 if r["kind"] == "net" and r.get("insns_mark", "-") != "-"]
    if not cells:
        sys.exit("insns_profile.py: no cell with an instruction window in %s/results.tsv" % d)
    addrs, names = kallsyms(os.path.join(d, "kallsyms"))
    prof = windows(os.path.join(d, "insns.prof"), {c["insns_mark"] for c in cells})
    for c in cells:
        tag = "%s %s %s" % (c["mode"], c["cipher"], c["size"])
        for side, cpu, recs in (("sender", TX_CPU, int(c["sent"])),
                                ("receiver", RX_CPU, int(c["recv"]))):
            by_fn = collections.Counter()
            for vaddr, n in prof.get((c["insns_mark"], cpu), {}).items():
                by_fn[name_of(vaddr, addrs, names)] += n
            total = sum(by_fn.values())
            print("%s, %s (CPU %d): %.0f instructions per record" %
                  (tag, side, cpu, total / recs if recs else 0))
            for fn, n in by_fn.most_common(top):
                print("  %8.0f  %5.1f%%  %s" % (n / recs, 100.0 * n / total, fn))
            print()


if __name__ == "__main__":
    main()
