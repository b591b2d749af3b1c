#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/bench_smoke.sh - the benchmark's tool checked where
# `make check` runs, so that `make bench` cannot rot unseen: one kernel
# DTLS cell of dtls-bench over loopback for each sending mode that
# bench.sh uses (one send() per record, sendmmsg, UDP GSO), the sender held
# to RATE records per second with --rate, as bench.sh's paced cells are.
# Checks that the handshake and offload worked, that every record arrived
# and passed the receiver's length and contents check, and that the sender
# kept to its rate (within 25%: a sender that ignored --rate would send
# many times more).  TAP.  Root, dtls.ko loaded, from the top of the tree.
#
#   userspace/tests/bench_smoke.sh      # RATE=400 SECS=2 PORT=23900

set -u
DB=${DTLS_BENCH:-userspace/dtls-bench}
RATE=${RATE:-400}
SECS=${SECS:-2}
PORT=${PORT:-23900}
PSK="--psk 00112233445566778899aabbccddeeff"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[ -x "$DB" ] || { echo "Bail out! $DB not built: run make on the host"; exit 1; }

# name: dtls-bench options of both sides
CELLS=(
	"send:"
	"sendmmsg:--batch 16"
	"gso:--gso 16"
)

echo "TAP version 13"
echo "1..$(( ${#CELLS[@]} * 3 ))"
n=0
nfail=0
tap() {	# ok|not-ok description
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		nfail=$((nfail + 1))
	fi
}
field() { sed -n "s/.*[ ]$1=\\([^ ]*\\).*/\\1/p" <<< "$2"; }

wait_port() {	# a UDP socket bound to port $1
	local _ hex
	hex=$(printf ':%04X ' "$1")
	for _ in $(seq 1 200); do
		grep -q "$hex" /proc/net/udp && return 0
		sleep 0.05
	done
	return 1
}

for c in "${CELLS[@]}"; do
	name=${c%%:*}
	read -ra opts <<< "${c#*:}"
	PORT=$((PORT + 1))
	# shellcheck disable=SC2086
	timeout $((SECS + 30)) "$DB" -l $PSK "${opts[@]}" --time "$SECS" \
		127.0.0.1 "$PORT" > "$OUT/$name.recv" 2>&1 &
	rpid=$!
	wait_port "$PORT"
	# shellcheck disable=SC2086
	timeout $((SECS + 30)) "$DB" $PSK "${opts[@]}" --rate "$RATE" --time "$SECS" \
		127.0.0.1 "$PORT" > "$OUT/$name.send" 2>&1
	sst=$?
	wait "$rpid"
	rst=$?
	s=$(grep '^BENCH role=send' "$OUT/$name.send" | tail -n 1)
	r=$(grep '^BENCH role=recv' "$OUT/$name.recv" | tail -n 1)
	if [ $sst != 0 ] || [ $rst != 0 ] || [ -z "$s" ] || [ -z "$r" ] ||
	   [ "$(field mode " $s")" != kernel ]; then
		sed 's/^/# /' "$OUT/$name.send" "$OUT/$name.recv" | tail -n 20
		tap not-ok "$name: kernel DTLS dtls-bench cell ran (sender $sst, receiver $rst)"
		tap not-ok "$name: every record arrived intact"
		tap not-ok "$name: the sender kept to --rate $RATE"
		continue
	fi
	tap ok "$name: kernel DTLS dtls-bench cell ran"
	sent=$(field records " $s")
	recv=$(field records " $r")
	bad=$(field bad " $r")
	if [ "$sent" -gt 0 ] && [ "$recv" = "$sent" ] && [ "$bad" = 0 ]; then
		tap ok "$name: every record arrived intact ($recv of $sent)"
	else
		tap not-ok "$name: every record arrived intact ($recv of $sent, $bad bad)"
	fi
	rate=$(awk -v n="$sent" -v t="$(field secs " $s")" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	if [ "$rate" -ge $((RATE * 3 / 4)) ] && [ "$rate" -le $((RATE * 5 / 4)) ]; then
		tap ok "$name: the sender kept to --rate $RATE ($rate records/s)"
	else
		tap not-ok "$name: the sender kept to --rate $RATE ($rate records/s)"
	fi
done
echo "$((n - nfail)) passed, $nfail failed"
[ "$nfail" = 0 ]
