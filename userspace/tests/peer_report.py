#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""peer_report.py DIR - the table of the many-peers cells (peer_cells.sh).

Reads DIR/peers.tsv and, if there, DIR/connected/results.tsv (bench.sh's
connected kdtls cell of the same guest), writes DIR/table.txt and prints
it.  Exit status 1 if a cell failed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_report import load  # noqa: E402


def connected(d):
    """The connected kdtls cell's (sender, receiver) instructions per record"""
    path = os.path.join(d, "connected", "results.tsv")
    if not os.path.exists(path):
        return None
    for r in load(path):
        if r["kind"] == "net" and r["mode"] == "kdtls" and r["status"] == "ok":
            return r["snd_insns_per_rec"], r["rcv_insns_per_rec"]
    return None


def lost(r):
    try:
        return "%.1f%%" % (100.0 * (int(r["sent"]) - int(r["recv"])) / int(r["sent"]))
    except (KeyError, ValueError, ZeroDivisionError):
        return "-"


def traffic_table(rows, ref):
    cells = {(r["cell"], r["peers"], r["cid"]): r for r in rows if r["cell"] != "mem"}
    mem = {(r["version"], r["cid"]): r for r in rows if r["cell"] == "mem"}
    keys = sorted({(int(p), int(c)) for (_, p, c) in cells})
    out = ["Many peers on one unconnected socket: 1200-byte AES-128-GCM DTLS 1.2",
           "records; instructions per record on the server's CPU (rx: it receives,",
           "tx: it sends with sendto(), txid: with DTLS_SET_PEER); lost: records",
           "sent minus received; memory: bytes per peer with TX and RX keys (MemFree)",
           "",
           "%7s %4s %13s %13s %15s %17s %8s %13s" % (
               "peers", "cid", "rx insns/rec", "tx insns/rec", "txid insns/rec",
               "lost rx/tx/txid", "setup s", "memory/peer")]
    if ref:
        out.append("%7s %4s %13s %13s %15s" % ("conn.", "-", ref[1], ref[0], "-"))
    for p, c in keys:
        g = [cells.get((k, str(p), str(c)), {}) for k in ("rx", "tx", "txid")]
        m = mem.get(("1.2", str(c)), {})
        memory = m.get("bytes_per_peer", "-") if str(p) == m.get("peers") else "-"
        out.append("%7d %4d %13s %13s %15s %17s %8s %13s" % (
            p, c, g[0].get("rcv_insns_per_rec", "-"), g[1].get("snd_insns_per_rec", "-"),
            g[2].get("snd_insns_per_rec", "-"), "/".join(lost(x) for x in g),
            g[0].get("setup_s", "-"), memory))
    if ref:
        out.append("(conn.: bench.sh's connected kdtls cell in the same guest, receiver and sender)")
    return out


def mem_table(rows):
    mem = [r for r in rows if r["cell"] == "mem"]
    if not mem:
        return []
    out = ["", "Memory per peer, %s peers with TX and RX keys on one socket; sent to:" % mem[0]["peers"],
           "what each of %s of them took more once sent one record (MemFree)" % mem[0]["sent"],
           "%8s %4s %18s %16s %16s %14s" % ("version", "cid", "MemFree bytes/peer",
                                            "Slab bytes/peer", "install us/peer", "sent to +bytes")]
    for r in mem:
        try:
            us = "%.0f" % (float(r["setup_s"]) * 1e6 / int(r["peers"]))
        except ValueError:
            us = "-"
        out.append("%8s %4s %18s %16s %16s %14s" % (
            r["version"], r["cid"], r["bytes_per_peer"], r["slab_per_peer"], us,
            r["bytes_per_sent"]))
    return out


def report(d):
    """The table of DIR's cells, and whether they all ran"""
    rows = load(os.path.join(d, "peers.tsv"))
    lines = traffic_table(rows, connected(d)) + mem_table(rows)
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        lines += ["", "FAILED cells: " + ", ".join(
            "%s %s peers cid %s" % (r["cell"], r["peers"], r["cid"]) for r in bad)]
    with open(os.path.join(d, "table.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(report(sys.argv[1]))
