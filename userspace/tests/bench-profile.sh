#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/bench-profile.sh - where the CPU time of bench.sh cells
# goes: runs bench.sh for the given modes at one size and cipher under
# `perf record -a -g` (cpu-clock, so it works under TCG too) and writes,
# per mode and CPU, the hottest symbols with and without their callees.
#
#   tools/vm-run --results build/prof --timeout 900 -- \
#       userspace/tests/bench-profile.sh [-o DIR] [MODE...]
#
# Defaults: modes kdtls-gso and kdtls, 1200-byte AES-128-GCM records,
# BENCH_SECS (12) per cell, output in DIR (default /results, else
# build/profile): perf-MODE.data, rep-MODE-cpuN.txt (self time),
# repc-MODE-cpuN.txt (with callees), script-MODE.txt (perf script),
# split.txt (each CPU's busy time by category, bench_profile_split.py),
# and bench.sh's own results.
# Sender on CPU 0, receiver (and its softirq, via RPS) on CPU 1, as in
# bench.sh.  Under TCG, samples gather where interrupts are re-enabled
# (_raw_spin_unlock_irqrestore, handle_softirqs): read ratios between the
# functions of one run, not absolute shares.

set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=/results
[ -d "$OUT" ] && [ -w "$OUT" ] || OUT=build/profile
if [ "${1:-}" = -o ]; then
	OUT=$2
	shift 2
fi
MODES=${*:-kdtls-gso kdtls}
command -v perf >/dev/null ||
	{ echo "bench-profile.sh: perf not found: install Debian's linux-perf" >&2; exit 1; }
mkdir -p "$OUT" || exit 1
echo 0 > /proc/sys/kernel/kptr_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid
status=0
for mode in $MODES; do
	BENCH_SIZES=${BENCH_SIZES:-1200} BENCH_CIPHERS=${BENCH_CIPHERS:-aes128gcm} \
	BENCH_MODES=$mode BENCH_AEAD_MS=100 \
		perf record -a -g -e cpu-clock -F 1000 -o "$OUT/perf-$mode.data" -- \
		userspace/tests/bench.sh --no-report -d "${BENCH_SECS:-12}" \
		-o "$OUT/bench-$mode" || status=1
	for c in 0 1; do
		perf report -i "$OUT/perf-$mode.data" --no-children -C $c --sort sym \
			--stdio -g none --percent-limit 0.5 2>/dev/null |
			grep -v '^$' > "$OUT/rep-$mode-cpu$c.txt"
		perf report -i "$OUT/perf-$mode.data" --children -C $c --sort sym \
			--stdio -g none --percent-limit 2 2>/dev/null |
			grep -v '^$' > "$OUT/repc-$mode-cpu$c.txt"
	done
	perf script -i "$OUT/perf-$mode.data" -F cpu,comm,time,ip,sym \
		> "$OUT/script-$mode.txt" 2>/dev/null
	rmmod dtls 2>/dev/null
done
userspace/tests/bench_profile_split.py "$OUT"/script-*.txt | tee "$OUT/split.txt"
exit $status
