#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel DTLS across two network namespaces joined by a veth pair with netem
# impairment (loss, delay/jitter, reordering, duplication) on both ends.
# A kernel DTLS sender (dtls_pair send) in one namespace sends COUNT records,
# each carrying an id and a checksum, to a kernel DTLS receiver in the other.
# Checks: every delivered record is authentic and intact, none is delivered
# twice despite netem duplication (the replay window drops the copies, seen
# in the receiver namespace's DtlsRxReplay), and the impairment was real
# (some records lost or reordered).  Prints TAP.  Needs root and dtls.ko.
#
# Usage: selftests/netns.sh [COUNT]

set -u
cd "$(dirname "$0")" || exit 1
PAIR=./dtls_pair
COUNT=${1:-2000}
NETEM="loss 10% delay 5ms 5ms reorder 25% duplicate 10%"

# family cipher
RUNS=(
	"4 aes128gcm"
	"6 chacha20poly1305"
	"4 aes128ccm8"
	"6 aes256gcm"
	"4 aes128ccm"
)

TESTS_PER_RUN=3
n=0
nfail=0
echo "TAP version 13"
echo "1..$(( ${#RUNS[@]} * TESTS_PER_RUN ))"

tap() {	# ok|not-ok description
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		nfail=$((nfail + 1))
	fi
}

NS1=dtlsA$$
NS2=dtlsB$$
cleanup() {
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
}
trap cleanup EXIT

stat_of() {	# ns counter
	ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/dtls_stat 2>/dev/null
}

setup() {
	cleanup
	ip netns add "$NS1" && ip netns add "$NS2" || return 1
	ip link add veth0 netns "$NS1" type veth peer name veth1 netns "$NS2" || return 1
	for ns in "$NS1" "$NS2"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS1" addr add 10.77.0.1/24 dev veth0
	ip -n "$NS2" addr add 10.77.0.2/24 dev veth1
	ip -n "$NS1" -6 addr add fd00:77::1/64 dev veth0 nodad
	ip -n "$NS2" -6 addr add fd00:77::2/64 dev veth1 nodad
	ip -n "$NS1" link set veth0 up
	ip -n "$NS2" link set veth1 up
	# shellcheck disable=SC2086
	ip netns exec "$NS1" tc qdisc add dev veth0 root netem $NETEM || return 1
	# shellcheck disable=SC2086
	ip netns exec "$NS2" tc qdisc add dev veth1 root netem $NETEM || return 1
	# neighbour resolution before the timed run
	ip netns exec "$NS1" ping -c1 -W2 10.77.0.2 >/dev/null 2>&1
	ip netns exec "$NS1" ping -6 -c1 -W2 fd00:77::2 >/dev/null 2>&1
	return 0
}

modprobe veth 2>/dev/null
modprobe sch_netem 2>/dev/null

for run in "${RUNS[@]}"; do
	set -- $run
	fam=$1 cipher=$2
	if [ "$fam" = 4 ]; then a=10.77.0.1 b=10.77.0.2; else a=fd00:77::1 b=fd00:77::2; fi
	name="netns ipv$fam $cipher"
	if ! setup; then
		for _ in $(seq $TESTS_PER_RUN); do tap not-ok "$name: namespace/veth/netem setup failed"; done
		continue
	fi
	out=$(mktemp)
	ip netns exec "$NS2" $PAIR recv "$cipher" $b 4433 $a 4434 "$COUNT" 3000 >"$out" 2>&1 &
	rpid=$!
	for _ in $(seq 50); do grep -q ready "$out" && break; sleep 0.1; done
	ip netns exec "$NS1" $PAIR send "$cipher" $a 4434 $b 4433 "$COUNT" 300
	src=$?
	wait $rpid
	rrc=$?
	res=$(grep RESULT "$out")
	echo "# $name: sender rc=$src receiver rc=$rrc: ${res:-$(cat "$out")}"
	get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$res"; }
	unique=$(get unique) dup=$(get dup) corrupt=$(get corrupt)
	lost=$(get lost) reordered=$(get reordered) received=$(get received)
	txrec=$(stat_of "$NS1" DtlsTxRecords)
	rxrec=$(stat_of "$NS2" DtlsRxRecords)
	replay=$(stat_of "$NS2" DtlsRxReplay)
	decerr=$(stat_of "$NS2" DtlsRxDecryptError)
	echo "# $name: ns1 DtlsTxRecords=$txrec ns2 DtlsRxRecords=$rxrec DtlsRxReplay=$replay DtlsRxDecryptError=$decerr"
	rm -f "$out"

	if [ "$src" = 0 ] && [ "$rrc" = 0 ] && [ -n "$unique" ] && [ "$dup" = 0 ] &&
	   [ "$corrupt" = 0 ] && [ "$received" = "$unique" ]; then
		tap ok "$name: $unique/$COUNT delivered, all authentic, none twice"
	else
		tap not-ok "$name: delivery (unique=$unique dup=$dup corrupt=$corrupt, rc $src/$rrc)"
	fi
	# per-namespace counters agree with what the applications saw
	if [ "$txrec" = "$COUNT" ] && [ -n "$unique" ] && [ "$rxrec" = "$unique" ] &&
	   [ "${decerr:-x}" = 0 ]; then
		tap ok "$name: counters (tx=$txrec rx=$rxrec, no decrypt errors)"
	else
		tap not-ok "$name: counters (DtlsTxRecords=$txrec want $COUNT, DtlsRxRecords=$rxrec want $unique, DtlsRxDecryptError=$decerr want 0)"
	fi
	# the impairment was real and the replay window absorbed the duplicates
	if [ -n "$lost" ] && [ "$lost" -gt 0 ] && [ "${reordered:-0}" -gt 0 ] &&
	   [ -n "$replay" ] && [ "$replay" -gt 0 ]; then
		tap ok "$name: netem effective (lost=$lost reordered=$reordered duplicates dropped=$replay)"
	else
		tap not-ok "$name: netem effective (lost=$lost reordered=$reordered DtlsRxReplay=$replay, want all > 0)"
	fi
	cleanup
done

echo "# netns: $((n - nfail)) passed, $nfail failed"
[ "$nfail" = 0 ]
