#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_profile_split.py SCRIPT... - where each CPU's busy time goes.

Reads `perf script -F cpu,comm,time,ip,sym` output of bench-profile.sh
(one file per mode, script-MODE.txt) and, for each CPU, splits the busy
samples taken while dtls-bench ran (from 1 s after its first sample to
0.5 s before its last) by the first matching function on the sample's
stack: the AEAD, UDP's sendmsg, cutting a GRO batch (skb_segment), the
reader's recvmsg, the rest of the receive softirq, the rest of the send
system call (the record layer's own code and the socket lock), other
system call work, user space.  Idle samples are counted apart.
"""
import collections
import re
import sys

CATEGORIES = [
    ("aead", ("crypto_aead_encrypt", "crypto_aead_decrypt", "simd_aead_encrypt",
              "simd_aead_decrypt", "generic_gcmaes_encrypt", "generic_gcmaes_decrypt",
              "gcmaes_encrypt", "gcmaes_decrypt", "gcmaes_crypt_by_sg")),
    ("skb_segment", ("skb_segment",)),
    ("udp_sendmsg", ("udp_sendmsg", "udpv6_sendmsg")),
    ("recvmsg", ("dtls_recvmsg", "udp_recvmsg", "udpv6_recvmsg")),
    ("rx_softirq", ("net_rx_action",)),
    ("send_other", ("__sys_sendto", "__sys_sendmsg", "__sys_sendmmsg")),
    ("syscall_other", ("do_syscall_64",)),
]
ORDER = ["user"] + [c for c, _ in CATEGORIES] + ["kernel_other"]
IDLE = ("native_safe_halt", "default_idle", "amd_e400_idle", "acpi_idle_do_entry")
HEAD = re.compile(r"\s*(\S.*?)\s+\[(\d+)\]\s+([\d.]+):")


def samples(path):
    cur = None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if cur:
                    yield cur
                cur = None
            elif not line[0].isspace():
                m = HEAD.match(line)
                cur = m and (m.group(1), int(m.group(2)), float(m.group(3)), [])
            elif cur:
                parts = line.split()
                if len(parts) >= 2:
                    cur[3].append((parts[0], parts[1]))
    if cur:
        yield cur


def split(path):
    all_s = list(samples(path))
    ts = [t for comm, _, t, _ in all_s if comm == "dtls-bench"]
    if not ts:
        return ["%s: no dtls-bench samples" % path]
    t0, t1 = min(ts) + 1.0, max(ts) - 0.5
    out = ["%s: %.1f s window" % (path, t1 - t0)]
    for cpu in sorted({c for _, c, _, _ in all_s}):
        cnt = collections.Counter()
        for _, c, t, frames in all_s:
            if c != cpu or not t0 <= t <= t1 or not frames:
                continue
            syms = [sym for _, sym in frames]
            if syms[0] in IDLE:
                cnt["idle"] += 1
                continue
            cnt["busy"] += 1
            if not frames[0][0].startswith("ffff"):
                cnt["user"] += 1
                continue
            for name, keys in CATEGORIES:
                if any(k in syms for k in keys):
                    cnt[name] += 1
                    break
            else:
                cnt["kernel_other"] += 1
        busy = cnt["busy"] or 1
        out.append("  cpu%d busy %5.1f%% of %d samples: %s" % (
            cpu, 100.0 * cnt["busy"] / max(1, cnt["busy"] + cnt["idle"]),
            cnt["busy"] + cnt["idle"],
            " ".join("%s %.1f%%" % (k, 100.0 * cnt[k] / busy) for k in ORDER)))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for path in sys.argv[1:]:
        print("\n".join(split(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
