#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_targets.py DIR - issue 5's targets over the rounds of
bench-targets.sh.

Reads DIR/round*/results.tsv, writes DIR/targets.txt and prints, for each
target, its value in every round, the median and whether the median meets
the target.  One round of a shared, emulated host can pass or miss a
target by chance; the median of several interleaved rounds says which way
it really goes.  Exit status 1 when a round is missing its results or a
cell failed unexpectedly, not when a target is missed.
"""
import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    dirs = sorted(glob.glob(os.path.join(d, "round*")),
                  key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
    rounds, bounds, ibounds, status = [], [], [], 0
    for rd in dirs:
        path = os.path.join(rd, "results.tsv")
        if not os.path.exists(path):
            print("bench_targets: %s missing" % path, file=sys.stderr)
            status = 1
            continue
        rows = bench_report.load(path)
        if any(r["status"] == "error" for r in rows):
            status = 1
        rounds.append(bench_report.target_values(rows))
        bounds.append(bench_report.goodput_bound(rows))
        ibounds.append(bench_report.goodput_bound(rows, insns=True))
    if not rounds:
        print("bench_targets: no rounds in %s" % d, file=sys.stderr)
        return 1

    lines = ["Targets (issue 5; 1200-byte AES-128-GCM records) over %d rounds:"
             % len(rounds), "each round's value, then the median", ""]
    for i, (name, _, goal, unit, _, _) in enumerate(rounds[0]):
        vals = [r[i][1] if i < len(r) and r[i][0] == name else None for r in rounds]
        shown = ["-" if v is None else bench_report.fmt_target(v, unit) for v in vals]
        got = [v for v in vals if v is not None]
        if len(got) < len(vals):
            verdict, med = "FAIL", "incomplete"
        else:
            m = statistics.median(got)
            verdict = "PASS" if bench_report.target_met(m, goal, unit) else "FAIL"
            med = bench_report.fmt_target(m, unit)
            passed = sum(bench_report.target_met(v, goal, unit) for v in got)
            med += " (%d of %d rounds pass)" % (passed, len(got))
        lines.append("%s: %s: median %s" % (verdict, name, med))
        lines.append("      rounds: %s" % " ".join(shown))
    for what, bs in (("time", bounds), ("instructions", ibounds)):
        got = [b for b in bs if b is not None]
        if what == "instructions" and not got:
            continue
        lines += ["", "kdtls-gso goodput bound (plain-gso's cost + the AEAD alone on each side,",
                  "in %s), as a share of kaead-best: median %s, rounds: %s" % (
                      what, "%.0f%%" % (100 * statistics.median(got)) if got else "-",
                      " ".join("-" if b is None else "%.0f%%" % (100 * b) for b in bs))]
    with open(os.path.join(d, "targets.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
