#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_report.py DIR - table, chart and target check for `make bench`.

Reads DIR/results.tsv (written by userspace/tests/bench.sh), writes
DIR/table.txt and DIR/chart.png (if matplotlib is installed), prints the
table and one PASS/FAIL line per target of issue 5.  The targets are
informational: the exit status is 1 only when a cell failed unexpectedly
(status "error"), not when a target is missed.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import insns_profile  # noqa: E402

NET_MODES = ["plain", "plain-gso", "kdtls", "kdtls-mmsg", "kdtls-gso",
             "kdtls13", "kdtls13-gso", "openssl", "gnutls"]
CIPHER_MODES = ["kaead-sync", "kaead-best", "evp"]
CIPHER_NAMES = {"aes128gcm": "AES-128-GCM", "chacha20": "ChaCha20-Poly1305",
                "aes128ccm8": "AES-128-CCM_8"}
MODE_LABEL = {
    "plain": "plain UDP",
    "plain-gso": "plain UDP, GSO/GRO",
    "kdtls": "kernel DTLS",
    "kdtls-mmsg": "kernel DTLS, sendmmsg/recvmmsg",
    "kdtls-gso": "kernel DTLS, GSO/GRO",
    "kdtls13": "kernel DTLS 1.3",
    "kdtls13-gso": "kernel DTLS 1.3, GSO/GRO",
    "openssl": "OpenSSL userspace DTLS",
    "gnutls": "GnuTLS userspace DTLS",
    "kaead-sync": "kernel AEAD alone, sync only",
    "kaead-best": "kernel AEAD alone, best impl. (as dtls.ko)",
    "evp": "OpenSSL EVP alone",
}


def num(row, key):
    try:
        return float(row[key])
    except (KeyError, ValueError, TypeError):
        return None


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def per_rec_us(secs, recs):
    if secs is None or not recs:
        return None
    return secs / recs * 1e6


def fmt(v, f="{:.0f}"):
    return "-" if v is None else f.format(v)


def net_table(rows, sizes, ciphers):
    hdr = ("{:>5} {:<11} {:<11} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>8} "
           "{:>9} {:>9} {:>11} {:>11} {:>15}").format(
        "size", "cipher", "mode", "sent", "recv", "lost%", "MB/s", "rec/s",
        "snd us/r", "rcv us/r", "snd r/CPUs", "rcv r/CPUs", "rusage s/r",
        "softirq 0/1", "drop buf/bl/dt")
    out = [hdr, "-" * len(hdr)]
    for size in sizes:
        for cipher in ciphers:
            for mode in NET_MODES:
                c = "-" if mode.startswith("plain") else cipher
                r = next((x for x in rows if x["kind"] == "net" and
                          x["mode"] == mode and x["cipher"] == c and
                          x["size"] == size), None)
                if r is None:
                    continue
                if r["status"] != "ok":
                    out.append("{:>5} {:<11} {:<11} {}: {}".format(
                        size, cipher, mode, r["status"].upper(), r["note"]))
                    continue
                sent, recv = num(r, "sent"), num(r, "recv")
                out.append(("{:>5} {:<11} {:<11} {:>9} {:>9} {:>6} {:>8} {:>8} "
                            "{:>8} {:>8} {:>9} {:>9} {:>11} {:>11} {:>15}").format(
                    size, cipher, mode, fmt(sent), fmt(recv),
                    fmt(num(r, "loss_pct"), "{:.2f}"),
                    fmt(num(r, "goodput_MBps"), "{:.1f}"),
                    fmt(num(r, "recs_per_s")),
                    fmt(per_rec_us(num(r, "cpu0_busy"), sent), "{:.1f}"),
                    fmt(per_rec_us(num(r, "cpu1_busy"), recv), "{:.1f}"),
                    fmt(num(r, "snd_recs_per_cpus")),
                    fmt(num(r, "rcv_recs_per_cpus")),
                    "{}/{}".format(
                        fmt(per_rec_us((num(r, "snd_utime") or 0) +
                                       (num(r, "snd_stime") or 0), sent), "{:.1f}"),
                        fmt(per_rec_us((num(r, "rcv_utime") or 0) +
                                       (num(r, "rcv_stime") or 0), recv), "{:.1f}")),
                    "{}/{}".format(
                        fmt(per_rec_us(num(r, "cpu0_softirq"), sent), "{:.1f}"),
                        fmt(per_rec_us(num(r, "cpu1_softirq"), recv), "{:.1f}")),
                    "{}/{}/{}".format(r["rcvbuf_err"], r["backlog_drop"],
                                      r["dtls_rx_drop"])))
            if cipher != ciphers[-1] or size != sizes[-1]:
                out.append("")
    return out


def cipher_table(rows, sizes, ciphers):
    hdr = "{:>5} {:<11} {:<11} {:>10} {:>10} {:>8}  {}".format(
        "size", "cipher", "mode", "ns/record", "rec/s", "MB/s", "driver")
    out = [hdr, "-" * 100]
    for cipher in ciphers:
        for size in sizes:
            for mode in CIPHER_MODES:
                r = next((x for x in rows if x["kind"] == "cipher" and
                          x["mode"] == mode and x["cipher"] == cipher and
                          x["size"] == size), None)
                if r is None:
                    continue
                if r["status"] != "ok":
                    out.append("{:>5} {:<11} {:<11} {}: {}".format(
                        size, cipher, mode, r["status"].upper(), r["note"]))
                    continue
                out.append("{:>5} {:<11} {:<11} {:>10} {:>10} {:>8}  {}".format(
                    size, cipher, mode, r["ns_per_record"], r["recs_per_s"],
                    r["goodput_MBps"], r["driver"]))
    return out


def has_insns(rows):
    """Whether the run counted instructions (BENCH_INSNS, tools/qemu-insns)."""
    return any(num(r, "snd_insns_per_rec") or num(r, "insns_per_record")
               for r in rows)


def insns_table(rows, sizes, ciphers):
    """Instructions per record: each side's CPU in the network cells, the
    cipher alone on one CPU."""
    hdr = "{:>5} {:<11} {:<11} {:>12} {:>12}".format(
        "size", "cipher", "mode", "snd insns/r", "rcv insns/r")
    out = [hdr, "-" * len(hdr)]
    for size in sizes:
        for cipher in ciphers:
            for mode in NET_MODES + CIPHER_MODES:
                kind = "cipher" if mode in CIPHER_MODES else "net"
                c = "-" if mode.startswith("plain") else cipher
                r = find(rows, kind, mode, c, size)
                if r is None or r["status"] != "ok":
                    continue
                snd, rcv = num(r, "snd_insns_per_rec"), num(r, "rcv_insns_per_rec")
                if kind == "cipher":
                    snd = rcv = num(r, "insns_per_record")
                out.append("{:>5} {:<11} {:<11} {:>12} {:>12}".format(
                    size, cipher, mode, fmt(snd), fmt(rcv)))
            if cipher != ciphers[-1] or size != sizes[-1]:
                out.append("")
    return out


def find(rows, kind, mode, cipher, size):
    return next((x for x in rows if x["kind"] == kind and x["mode"] == mode
                 and x["cipher"] == cipher and x["size"] == size), None)


# Issue 5's OpenSSL targets: records per CPU-second, as a multiple of OpenSSL's
RATIO_GOALS = (("kdtls", 1.15), ("kdtls-gso", 1.5))


def target_values(rows):
    """Issue 5's targets at 1200-byte AES-128-GCM records, as measured in
    @rows: a list of (name, value, goal, unit, detail, why).  unit is "x"
    (value 1.12 for 1.12x), "%" (0.85 for 85%) or "loss" (0.01 for 1%, at
    most the goal); value is None with the reason in why."""
    out = []

    def cell(kind, mode):
        r = find(rows, kind, mode, "aes128gcm", "1200")
        if r is None:
            return None, "no %s cell" % mode
        if r["status"] != "ok":
            return None, "%s cell %s: %s" % (mode, r["status"], r["note"])
        return r, None

    ossl, why_o = cell("net", "openssl")
    for mode, goal in RATIO_GOALS:
        k, why_k = cell("net", mode)
        for side, key in (("sender", "snd_recs_per_cpus"),
                          ("receiver", "rcv_recs_per_cpus")):
            name = "%s records per CPU-second on the %s >= %.2fx OpenSSL userspace DTLS" % (
                mode, side, goal)
            if why_k or why_o:
                out.append((name, None, goal, "x", "", why_k or why_o))
                continue
            a, b = num(k, key), num(ossl, key)
            ratio = a / b if a and b else 0
            out.append((name, ratio, goal, "x", "%.0f vs %.0f" % (a or 0, b or 0), None))
    k, why_k = cell("net", "kdtls-gso")
    for am in ("kaead-sync", "kaead-best"):
        a, why_a = cell("cipher", am)
        name = "kdtls-gso goodput >= 85%% of the kernel AEAD alone on one CPU (%s)" % am
        if why_k or why_a:
            out.append((name, None, 0.85, "%", "", why_k or why_a))
            continue
        ratio = num(k, "recs_per_s") / num(a, "recs_per_s")
        out.append((name, ratio, 0.85, "%", "%.0f vs %.0f records/s, %s" % (
            num(k, "recs_per_s"), num(a, "recs_per_s"), a["driver"]), None))
    out += insns_target_values(rows, cell)
    for mode in ("kdtls", "kdtls-gso"):
        out.append(loss_target(rows, mode, cell))
    return out


def loss_target(rows, mode, cell):
    """Loss at the measured rate: in the paced cell (the sender held to the
    goodput the unpaced cell measured) if the run has one; otherwise in the
    unpaced cell, whose sender may simply be faster than its receiver."""
    name = "%s loses at most 1%% of the records at the receiver" % mode
    k, why_k = cell("net", mode)
    if why_k:
        return (name, None, 0.01, "loss", "", why_k)
    unpaced = "%s of %s" % (k["lost"], k["sent"])
    if find(rows, "paced", mode, "aes128gcm", "1200") is None:
        return (name, num(k, "loss_pct") / 100, 0.01, "loss",
                "%s, sender unpaced" % unpaced, None)
    name += " at the measured rate"
    p, why_p = cell("paced", mode)
    if why_p:
        return (name, None, 0.01, "loss", "", why_p)
    return (name, num(p, "loss_pct") / 100, 0.01, "loss",
            "%s of %s sent at %.0f records/s, the goodput measured; unpaced: %s (%s%%)" % (
                p["lost"], p["sent"], num(p, "sent") / num(p, "secs"), unpaced,
                k["loss_pct"]), None)


def paced_table(rows):
    """The paced cells: each sender held to the goodput its unpaced cell
    measured."""
    fmt_ = "{:>5} {:<11} {:<11} {:>10} {:>9} {:>9} {:>7} {:>11}"
    out = [fmt_.format("size", "cipher", "mode", "sent r/s", "sent", "recv", "lost%",
                       "unpaced%")]
    for p in (r for r in rows if r["kind"] == "paced"):
        k = find(rows, "net", p["mode"], p["cipher"], p["size"])
        if p["status"] != "ok":
            out.append("{:>5} {:<11} {:<11} {}: {}".format(p["size"], p["cipher"], p["mode"],
                                                       p["status"], p["note"]))
            continue
        out.append(fmt_.format(p["size"], p["cipher"], p["mode"],
                               fmt(num(p, "sent") / num(p, "secs")), p["sent"], p["recv"],
                               p["loss_pct"], k["loss_pct"] if k else "-"))
    return out


def insns_target_values(rows, cell):
    """The same targets counted in instructions (tools/qemu-insns): records
    per instruction instead of per CPU-second, and the rate of the slower
    side of kdtls-gso against the AEAD alone, at equal instructions per
    second.  Nothing if the run did not count instructions."""
    if not has_insns(rows):
        return []
    out = []
    ossl, why_o = cell("net", "openssl")
    for mode, goal in RATIO_GOALS:
        k, why_k = cell("net", mode)
        for side, key in (("sender", "snd_insns_per_rec"),
                          ("receiver", "rcv_insns_per_rec")):
            name = ("%s records per instruction on the %s >= %.2fx OpenSSL userspace DTLS"
                    % (mode, side, goal))
            a = num(k, key) if k else None
            b = num(ossl, key) if ossl else None
            if not a or not b:
                out.append((name, None, goal, "x", "", why_k or why_o or
                            "no instruction count"))
                continue
            out.append((name, b / a, goal, "x",
                        "%.0f vs %.0f instructions per record" % (a, b), None))
    k, why_k = cell("net", "kdtls-gso")
    a, why_a = cell("cipher", "kaead-best")
    name = "kdtls-gso goodput >= 85% of the kernel AEAD alone on one CPU (kaead-best, instructions)"
    worst = max(num(k, "snd_insns_per_rec") or 0, num(k, "rcv_insns_per_rec") or 0) if k else 0
    aead = num(a, "insns_per_record") if a else None
    if not worst or not aead:
        out.append((name, None, 0.85, "%", "", why_k or why_a or "no instruction count"))
    else:
        out.append((name, aead / worst, 0.85, "%",
                    "%.0f instructions per record on the busier side vs %.0f" % (worst, aead),
                    None))
    return out


def target_met(value, goal, unit):
    return value <= goal if unit == "loss" else value >= goal


def fmt_target(value, unit):
    """1.12x, 85% or 0.50% (a loss), as the target is written."""
    if unit == "loss":
        return "%.2f%%" % (100 * value)
    if unit == "%":
        return "%.0f%%" % (100 * value)
    return "%.2fx" % value


def targets(rows):
    out = []
    for name, value, goal, unit, detail, why in target_values(rows):
        if value is None:
            out.append("FAIL: %s (%s)" % (name, why))
        else:
            out.append("%s: %s: %s (%s)" % (
                "PASS" if target_met(value, goal, unit) else "FAIL", name,
                fmt_target(value, unit), detail))
    return out


def bound_costs(rows, insns=False):
    """Per record in us (@insns: in instructions): the kernel AEAD alone
    (kaead-best) and, for each (mode, side), plain UDP's cost in the same
    mode, kernel DTLS's, and OpenSSL's.  None where a cell is missing."""
    def cost(kind, mode, side):
        r = find(rows, kind, mode, "-" if mode.startswith("plain") else "aes128gcm",
                 "1200")
        if r is None or r["status"] != "ok":
            return None
        if insns:
            return num(r, "insns_per_record" if kind == "cipher" else
                       side + "_insns_per_rec")
        if kind == "cipher":
            return num(r, "ns_per_record") / 1000
        key = "snd_recs_per_cpus" if side == "snd" else "rcv_recs_per_cpus"
        v = num(r, key)
        return 1e6 / v if v else None

    sides = {}
    for mode, plain in (("kdtls", "plain"), ("kdtls-gso", "plain-gso")):
        for side in ("snd", "rcv"):
            sides[mode, side] = (cost("net", plain, side), cost("net", mode, side),
                                 cost("net", "openssl", side))
    return cost("cipher", "kaead-best", None), sides


def goodput_bound(rows, insns=False):
    """The share of kaead-best's rate that kdtls-gso could reach if each
    side cost plain-gso's time (@insns: instructions) plus the AEAD alone,
    or None."""
    aead, sides = bound_costs(rows, insns)
    plains = [sides["kdtls-gso", side][0] for side in ("snd", "rcv")]
    if aead is None or None in plains:
        return None
    return aead / (max(plains) + aead)


def bounds(rows, insns=False):
    """What the targets allow in this run: plain UDP's own cost in the same
    mode plus the kernel AEAD alone is what a record layer that added
    nothing but the cipher would cost; compare each target with the ratio
    that cost would give."""
    aead, sides = bound_costs(rows, insns)
    out = ["", "Bounds (this run): plain UDP in the same mode + the kernel AEAD alone",
           "(kaead-best), in %s per record: the cost of a record layer that added"
           % ("instructions" if insns else "us"),
           "nothing but the cipher, and the ratio to OpenSSL that cost would give", ""]
    f1 = "%.0f" if insns else "%.1f"
    if aead is None:
        return out + ["no kaead-best cell at 1200 bytes: no bounds"]
    fmt_ = "{:<10} {:<8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7}"
    out.append(fmt_.format("mode", "side", "plain", "+AEAD", "kdtls", "above", "OpenSSL",
                           "bound"))
    for (mode, side), (p, k, o) in sides.items():
        goal = dict(RATIO_GOALS)[mode]
        if None in (p, k, o):
            out.append("{:<10} {:<8} missing cells".format(mode, side))
            continue
        floor = p + aead
        out.append(fmt_.format(mode, side, f1 % p, f1 % floor, f1 % k,
                               (f1.replace("%", "%+", 1)) % (k - floor), f1 % o,
                               "%.2fx" % (o / floor)) +
                   "  (target %.2fx)" % goal)
    g = goodput_bound(rows, insns)
    if g is None:
        pass
    elif insns:
        out.append("kdtls-gso goodput bound: %.0f%% of kaead-best (target 85%%)" % (100 * g))
    else:
        out.append("kdtls-gso goodput bound: %.0f records/s = %.0f%% of kaead-best "
                   "(target 85%%)" % (1e6 / (aead / g), 100 * g))
    return out


# The record layer's overhead (Documentation/networking/dtls-bench.rst)
OVERHEAD_BOUND = 800		# instructions per record and side, without GSO
PATH_NAMES = (("net", "veth"), ("lo", "loopback"))
# How many AEADs each side runs per record, where no profile says: over veth
# the benchmark steers the receive path to the receiver's CPU (RPS); over
# loopback the receive softirq, and kdtls's decryption in its receive hook
# with it, runs on the sender's CPU, but a UDP_GRO reader (kdtls-gso) opens
# its records in recvmsg().
AEADS = {("lo", "kdtls"): (2, 0), ("lo", "kdtls-mmsg"): (2, 0)}


def overhead_values(rows, d=None):
    """The record layer's overhead in instructions per record, for each
    path (veth, loopback), kernel DTLS mode, record size and side: a list of
    (path, mode, size, side, kdtls, plain, naead, overhead, waiting), where
    overhead = kdtls - plain - naead x the AEAD alone (kaead-best, same
    cipher and size, or the 1200-byte one).  waiting (None without a
    profile) is what kdtls spent more than plain spinning, sleeping and
    being woken or per unit of time; with a profile (@d/insns.prof and
    @d/kallsyms, see insns_profile.py) naead is counted from where the
    AEAD's code ran."""
    prof = None
    if d and insns_profile.Profile.available(d):
        try:
            prof = insns_profile.Profile(d, rows)
        except (OSError, ValueError):
            prof = None
    aead_fns = prof.aead_alone()[0] if prof else None
    out = []
    for kind, path in PATH_NAMES:
        for mode, plain in insns_profile.OVERHEAD_MODES:
            for k in rows:
                if k["kind"] != kind or k["mode"] != mode or k["status"] != "ok":
                    continue
                p = find(rows, kind, plain, "-", k["size"])
                a = find(rows, "cipher", "kaead-best", k["cipher"], k["size"]) or \
                    find(rows, "cipher", "kaead-best", k["cipher"], "1200")
                aead = num(a, "insns_per_record") if a else None
                if p is None or p["status"] != "ok" or aead is None:
                    continue
                for side, cpu, key in (("snd", insns_profile.TX_CPU, "sent"),
                                       ("rcv", insns_profile.RX_CPU, "recv")):
                    kv, pv = num(k, side + "_insns_per_rec"), num(p, side + "_insns_per_rec")
                    if kv is None or pv is None:
                        continue
                    naead = AEADS.get((kind, mode), (1, 1))[side == "rcv"]
                    waiting = None
                    if prof and k.get("insns_mark", "-") != "-" and \
                       p.get("insns_mark", "-") != "-":
                        kc = prof.classes(k["insns_mark"], cpu, int(k[key]))
                        pc = prof.classes(p["insns_mark"], cpu, int(p[key]))
                        waiting = kc["wait"] - pc["wait"]
                        if aead_fns:
                            naead = round(kc["aead"] / aead_fns)
                    out.append((path, mode, k["size"], side, kv, pv, naead,
                                kv - pv - naead * aead, waiting))
    return out


def overhead(rows, d=None):
    vals = overhead_values(rows, d)
    if not vals:
        return []
    out = ["", "The record layer's overhead (dtls-bench.rst): instructions per record",
           "on each side above plain UDP in the same mode (plain-gso for kdtls-gso)",
           "and the AEAD alone (kaead-best), once per AEAD the side runs; waiting:",
           "what kdtls spent more than plain spinning, sleeping, being woken or",
           "per unit of time (from insns.prof; '-' without it); net: overhead -",
           "waiting.  Bound without GSO: %d per side" % OVERHEAD_BOUND, ""]
    fmt_ = "{:<9} {:<11} {:>5} {:<5} {:>7} {:>7} {:>6} {:>9} {:>8} {:>7}  {}"
    out.append(fmt_.format("path", "mode", "size", "side", "kdtls", "plain", "AEADs",
                           "overhead", "waiting", "net", ""))
    for path, mode, size, side, kv, pv, naead, ov, waiting in vals:
        net = ov if waiting is None else ov - waiting
        verdict = ""
        if mode != "kdtls-gso":
            verdict = "%s (%d)" % ("within" if net <= OVERHEAD_BOUND else "ABOVE",
                                   OVERHEAD_BOUND)
        out.append(fmt_.format(path, mode, size, side, "%.0f" % kv, "%.0f" % pv, naead,
                               "%+.0f" % ov, "-" if waiting is None else "%+.0f" % waiting,
                               "%+.0f" % net, verdict))
    return out


def chart(rows, sizes, ciphers, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (python3-matplotlib): no chart"
    groups = [(s, c) for s in sizes for c in ciphers]
    labels = ["%s B\n%s" % (s, CIPHER_NAMES.get(c, c)) for s, c in groups]
    colors = {"plain": "#bbbbbb", "plain-gso": "#888888", "kdtls": "#1f77b4",
              "kdtls-mmsg": "#6baed6", "kdtls-gso": "#08306b",
              "openssl": "#d62728", "gnutls": "#ff9896",
              "kaead-sync": "#2ca02c", "kaead-best": "#98df8a", "evp": "#9467bd"}
    panels = [
        ("Sender: records per CPU-second (CPU %s busy time)", "snd_recs_per_cpus", NET_MODES, True),
        ("Receiver: records per CPU-second (CPU %s busy time)", "rcv_recs_per_cpus", NET_MODES, True),
        ("Goodput at the receiver (records/s), and the cipher alone on one CPU",
         "recs_per_s", NET_MODES + CIPHER_MODES, True),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(18, 16))
    for ax, (title, key, modes, logy) in zip(axes, panels):
        w = 0.8 / len(modes)
        for i, mode in enumerate(modes):
            xs, ys, errs = [], [], []
            for g, (s, c) in enumerate(groups):
                kind = "cipher" if mode in CIPHER_MODES else "net"
                r = find(rows, kind, mode, "-" if mode.startswith("plain") else c, s)
                x = g - 0.4 + w * (i + 0.5)
                if r is None:
                    continue
                if r["status"] != "ok":
                    errs.append(x)
                    continue
                v = num(r, key)
                if v:
                    xs.append(x)
                    ys.append(v)
            ax.bar(xs, ys, w, label=MODE_LABEL[mode], color=colors[mode])
            for x in errs:
                ax.text(x, 0, "n/a", rotation=90, ha="center", va="bottom",
                        fontsize=7, color=colors[mode])
        ax.set_title(title.replace("%s", {"snd_recs_per_cpus": "0",
                                          "rcv_recs_per_cpus": "1"}.get(key, "")))
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(labels, fontsize=8)
        if logy:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=5, loc="upper right")
    fig.suptitle("kdtls benchmark (QEMU TCG guest: compare bars within one run, "
                 "not absolute numbers); n/a = cell did not run", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=80)
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    rows = load(os.path.join(d, "results.tsv"))
    sizes = sorted({r["size"] for r in rows}, key=int)
    ciphers = [c for c in CIPHER_NAMES if any(r["cipher"] == c for r in rows)]
    env = ""
    if os.path.exists(os.path.join(d, "env.txt")):
        with open(os.path.join(d, "env.txt")) as f:
            env = f.read()
    lines = [env.rstrip(), "",
             "Network cells: sender netns -> receiver netns over veth, one flow",
             "(snd/rcv us/r and r/CPUs: busy time of the sender's / receiver's CPU from",
             "/proc/stat; rusage s/r: each process's getrusage, in us per record;",
             "softirq 0/1: softirq share of CPU 0 / 1 (tick samples scaled to the busy",
             "time), in us per record; drops: UDP",
             "RcvbufErrors / backlog drops (softnet_stat) / DtlsRxDropped)", ""]
    lines += net_table(rows, sizes, ciphers)
    if any(r["kind"] == "paced" for r in rows):
        lines += ["", "Loss at the measured rate: the cell again, its sender held to the",
                  "goodput measured above (dtls-bench --rate)", ""]
        lines += paced_table(rows)
    lines += ["", "The cipher alone, one record per call, on one CPU", ""]
    lines += cipher_table(rows, sizes, ciphers)
    if has_insns(rows):
        lines += ["", "Instructions per record (tools/qemu-insns): each side's CPU over the",
                  "receiver's window, per record sent / received; the cipher alone", ""]
        lines += insns_table(rows, sizes, ciphers)
    lines += ["", "Targets (issue 5; 1200-byte AES-128-GCM records, this run)"]
    lines += targets(rows)
    lines += bounds(rows)
    if has_insns(rows):
        lines += bounds(rows, insns=True)
        lines += overhead(rows, d)
    with open(os.path.join(d, "table.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    msg = chart(rows, sizes, ciphers, os.path.join(d, "chart.png"))
    print(msg or "chart: %s" % os.path.join(d, "chart.png"))
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        print("bench: %d cell(s) failed unexpectedly" % len(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
