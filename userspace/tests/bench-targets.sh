#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/bench-targets.sh - issue 5's targets measured ROUNDS
# times: the 1200-byte AES-128-GCM cells they need (plain, plain-gso,
# kdtls, kdtls-gso, openssl, the cipher alone) run by bench.sh once per
# round (and the two kernel cells again in DTLS 1.3), the modes in reverse
# order every other round, so that a host that
# slows down or speeds up during the run weighs on every mode alike.
# bench_targets.py then reports each round's ratios and their median.
#
#   make bench-targets                          # in the QEMU guest
#   userspace/tests/bench-targets.sh [-r ROUNDS] [-d SECS] [-o DIR]
#
# Defaults: 5 rounds (BENCH_ROUNDS), 3 s cells (BENCH_SECS), output in DIR
# (default build/bench-targets): roundN/ as bench.sh writes it.  Run from
# the top of the repository as root, where dtls.ko loads (see bench.sh).

set -u
cd "$(dirname "$0")/../.." || exit 1
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-3}
OUT=build/bench-targets
while [ $# -gt 0 ]; do
	case "$1" in
	-r) ROUNDS=$2; shift 2 ;;
	-d) SECS=$2; shift 2 ;;
	-o) OUT=$2; shift 2 ;;
	-h|--help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench-targets.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case "$ROUNDS" in
''|*[!0-9]*|0) echo "bench-targets.sh: -r needs a positive number of rounds" >&2; exit 2 ;;
esac

# kdtls13 and kdtls13-gso: the same cells in DTLS 1.3, beside 1.2's
MODES="plain plain-gso kdtls kdtls-gso kdtls13 kdtls13-gso openssl"
REVERSED="openssl kdtls13-gso kdtls13 kdtls-gso kdtls plain-gso plain"
status=0
for r in $(seq "$ROUNDS"); do
	modes=$MODES
	[ $((r % 2)) = 0 ] && modes=$REVERSED
	echo "bench-targets: round $r of $ROUNDS: $modes"
	BENCH_SIZES=1200 BENCH_CIPHERS=aes128gcm BENCH_MODES="$modes" \
	BENCH_AEAD_MS=${BENCH_AEAD_MS:-500} \
		userspace/tests/bench.sh --no-report -d "$SECS" -o "$OUT/round$r" ||
		status=1
done
exit $status
