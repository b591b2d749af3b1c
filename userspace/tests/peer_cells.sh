#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/peer_cells.sh - the many-peers cells of the benchmark
# (make bench-peers; Documentation/networking/dtls-bench.rst): one
# unconnected UDP socket with N peers, 1200-byte AES-128-GCM records.
#
#   make bench-peers [BENCH_INSNS=1]     # in the QEMU guest
#   userspace/tests/peer_cells.sh [--no-report] [DIR [SECS]]  # root, where dtls.ko loads
#
# The network is bench.sh's: a sender namespace on CPU $TX_CPU and a
# receiver namespace on CPU $RX_CPU joined by veth, RPS on the receiving
# veth of each direction, so that each CPU holds one side's work.  For each
# N in BENCH_PEERS and each receive CID length in BENCH_PEER_CIDS (0: none):
#
#   rx    K clients (kernel DTLS, connected, each at its peer's address)
#         send to the server with N peers, one record per client in turn
#   tx    the server with N peers sends to K of them with sendto()
#   txid  the same with DTLS_SET_PEER
#
# K = BENCH_PEER_ACTIVE (64, or N if fewer), spread over the table
# (userspace/tests/peer_bench.c).  The receiving side of each cell
# executes the benchmark's marker at the start and end of its window: with
# BENCH_INSNS (the file tools/qemu-insns writes), each cell reports the
# instructions per record of the server's CPU, as bench.sh reports the
# connected kdtls cell's, which this script runs first in the same guest
# (BENCH_PEER_REF=0 skips it).  Then the memory cells: N =
# BENCH_PEER_MEM (100000) peers with TX and RX keys, DTLS 1.2 and 1.3,
# with and without CIDs, the growth of /proc/meminfo's MemFree and Slab;
# then one record sent to each of BENCH_PEER_MEM_SENDS (1000) of them, and
# the growth again (before Linux 6.5 a peer keeps a record buffer).
#
# Output in DIR (default build/bench-peers): peers.tsv (one line per cell),
# table.txt (printed by peer_report.py), logs/, connected/ (bench.sh's).
# Exit status 1 if a cell failed (no records, a wrong record, a tool's
# error).
#   SECS (BENCH_SECS, 3)     seconds of traffic per cell
#   --no-report              no table (make bench-peers makes it on the host)
#   TX_CPU 0, RX_CPU 1; PEER_BENCH (userspace/tests/peer-bench); PORT_BASE

set -u
REPORT=1
if [ "${1:-}" = --no-report ]; then
	REPORT=0
	shift
fi
case "${1:-}" in
-h|--help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
-*) echo "peer_cells.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
OUT=${1:-${BENCH_OUT:-build/bench-peers}}
SECS=${2:-${BENCH_SECS:-3}}
PEERS=${BENCH_PEERS:-1 1000 100000}
KINDS=${BENCH_PEER_CELLS:-rx tx txid}
CIDS=${BENCH_PEER_CIDS:-0 4}
ACTIVE=${BENCH_PEER_ACTIVE:-64}
MEM_N=${BENCH_PEER_MEM:-100000}
MEM_SENDS=${BENCH_PEER_MEM_SENDS:-1000}
TX_CPU=${TX_CPU:-0}
RX_CPU=${RX_CPU:-1}
PB=${PEER_BENCH:-userspace/tests/peer-bench}
PORT=${PORT_BASE:-23000}
INSNS=${BENCH_INSNS:-}
NS_S=kdtls-ps$$
NS_R=kdtls-pr$$
ADDR_S=10.198.0.1
ADDR_R=10.198.0.2
TMO=$((SECS + 300))

die() { echo "peer_cells.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, insmod)"
[ -x "$PB" ] || die "$PB not built: run make on the host"
[ -z "$INSNS" ] || [ -r "$INSNS" ] ||
	die "BENCH_INSNS=$INSNS: no such file (is tools/qemu-insns loaded?)"
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RES=$OUT/peers.tsv
printf 'cell\tpeers\tcid\tversion\tsent\trecv\tsnd_insns_per_rec\trcv_insns_per_rec\tinsns_mark\tsetup_s\tbytes_per_peer\tslab_per_peer\tbytes_per_sent\tstatus\n' > "$RES"
ERRORS=0

# the connected kdtls cell, in this guest, to compare with
if [ "${BENCH_PEER_REF:-1}" = 1 ]; then
	BENCH_SIZES=1200 BENCH_CIPHERS=aes128gcm BENCH_MODES=kdtls BENCH_PACED='' \
	BENCH_AEAD_MS=200 userspace/tests/bench.sh --no-report -d "$SECS" \
		-o "$OUT/connected" > "$OUT/logs/connected" 2>&1 ||
		{ echo "peer_cells.sh: the connected cell failed (logs/connected)"; ERRORS=$((ERRORS + 1)); }
fi

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[ -n "${BACKLOG0:-}" ] && echo "$BACKLOG0" > /proc/sys/net/core/netdev_max_backlog
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
}
trap cleanup EXIT

[ -r /proc/net/dtls_stat ] || insmod "${DTLS_KO:-kernel/dtls.ko}" || die "cannot load dtls.ko"
for m in aesni_intel ghash_clmulni_intel veth; do modprobe -q "$m" 2>/dev/null; done
# bench.sh's network, with RPS on both ends: in the tx cells the sender is
# the server, and the clients' receive path must not run on its CPU
{ ip netns add "$NS_S" && ip netns add "$NS_R" &&
  ip link add kps0 netns "$NS_S" type veth peer name kpr0 netns "$NS_R" &&
  ip -n "$NS_S" addr add "$ADDR_S/24" dev kps0 &&
  ip -n "$NS_R" addr add "$ADDR_R/24" dev kpr0 &&
  ip -n "$NS_S" link set kps0 up && ip -n "$NS_R" link set kpr0 up &&
  ip -n "$NS_S" route add 10.200.0.0/15 dev kps0 &&
  ip -n "$NS_R" route add 10.200.0.0/15 dev kpr0 &&
  ip netns exec "$NS_S" sh -c "echo $(printf %x $((1 << TX_CPU))) > /sys/class/net/kps0/queues/rx-0/rps_cpus" &&
  ip netns exec "$NS_R" sh -c "echo $(printf %x $((1 << RX_CPU))) > /sys/class/net/kpr0/queues/rx-0/rps_cpus"; } ||
	die "cannot set up the namespaces and the veth pair"
BACKLOG0=$(cat /proc/sys/net/core/netdev_max_backlog)
echo 10000 > /proc/sys/net/core/netdev_max_backlog

# addrs NS DEV add|del N: the active peers' addresses on DEV in NS
addrs() {
	"$PB" addrs -n "$4" -k "$ACTIVE" | sed "s|.*|addr $3 &/32 dev $2|" |
		ip -n "$1" -b - || die "cannot $3 the peers' addresses in $1"
}

# wait_ready LOG: until the program in the background printed READY
wait_ready() {
	local _
	for _ in $(seq 1 3000); do
		grep -q '^READY' "$1" && return 0
		grep -q '^peer-bench' "$1" && return 1
		sleep 0.1
	done
	return 1
}

# window N0: "SEQ TXINSNS RXINSNS" between the two markers after line N0
window() {
	[ -n "$INSNS" ] || return 0
	awk -v n0="$1" -v t="$TX_CPU" -v r="$RX_CPU" '
	NR > n0 && $1 == "mark" { m++; s = $2; a[m] = $(4 + t); b[m] = $(4 + r) }
	END { if (m == 2) printf "%s %.0f %.0f\n", s, a[2] - a[1], b[2] - b[1] }' "$INSNS"
}

field() { sed -n "s/.*[ ]$1=\\([^ ]*\\).*/\\1/p" <<< " $2"; }

# cell KIND N CID: one rx, tx or txid cell; a line in peers.tsv
cell() {
	local kind=$1 n=$2 cid=$3 tag=$1-$2-cid$3 srv cli ns_c dev_c n0 pid
	local log=$OUT/logs/$tag s r w st=ok setup
	PORT=$((PORT + 1))
	if [ "$kind" = rx ]; then
		ns_c=$NS_S dev_c=kps0
		cli=(ip netns exec "$NS_S" timeout "$TMO" taskset -c "$TX_CPU" "$PB" rx-clients
		     -n "$n" -k "$ACTIVE" -c "$cid" -t "$SECS" "$ADDR_R" "$PORT")
		srv=(ip netns exec "$NS_R" timeout "$TMO" taskset -c "$RX_CPU" "$PB" rx-server
		     -n "$n" -c "$cid" "$ADDR_R" "$PORT" "$ADDR_S")
	else
		ns_c=$NS_R dev_c=kpr0
		# the server first (it sends), then the sink, which marks
		cli=(ip netns exec "$NS_S" timeout "$TMO" taskset -c "$TX_CPU" "$PB" tx-server
		     -n "$n" -k "$ACTIVE" -c "$cid" -t "$SECS" "$ADDR_S" "$PORT")
		[ "$kind" = txid ] && cli+=(-i)
		srv=(ip netns exec "$NS_R" timeout "$TMO" taskset -c "$RX_CPU" "$PB" tx-sink
		     "$ADDR_S" "$PORT")
	fi
	addrs "$ns_c" "$dev_c" add "$n"
	"${cli[@]}" > "$log.send" 2>&1 &
	pid=$!
	if wait_ready "$log.send"; then
		n0=$( [ -n "$INSNS" ] && wc -l < "$INSNS")
		"${srv[@]}" > "$log.recv" 2>&1 || st=error
		w=$(window "${n0:-0}")
	else
		st=error
	fi
	wait "$pid" || st=error
	addrs "$ns_c" "$dev_c" del "$n"
	s=$(grep '^BENCH role=send' "$log.send")
	r=$(grep '^BENCH role=recv' "$log.recv" 2>/dev/null)
	[ -n "$s" ] && [ -n "$r" ] && [ "$(field records "$r")" != 0 ] || st=error
	[ -n "$INSNS" ] && [ -z "$w" ] && st=error
	[ $st = ok ] || ERRORS=$((ERRORS + 1))
	setup=$(field setup "$r")
	[ "$kind" = rx ] || setup=$(field setup "$s")
	read -r mark i_s i_r <<< "${w:-- - -}"
	awk -v OFS='\t' -v k="$kind" -v n="$n" -v c="$cid" -v s="$(field records "$s")" \
	    -v r="$(field records "$r")" -v is="$i_s" -v ir="$i_r" -v m="$mark" \
	    -v su="${setup:--}" -v st="$st" '
	function per(i, x) { return i == "-" || x + 0 == 0 ? "-" : sprintf("%.0f", i / x) }
	BEGIN { print k, n, c, "1.2", s, r, per(is, s), per(ir, r), m, su, "-", "-", "-", st }' >> "$RES"
	printf '%-5s peers %6s cid %s: sent %s recv %s, instructions %s (%s)\n' \
		"$kind" "$n" "$cid" "$(field records "$s")" "$(field records "$r")" "${w:--}" "$st"
}

# mem VERSION CID: MEM_N peers with TX and RX keys on one socket
mem_cell() {
	local v=$1 cid=$2 log=$OUT/logs/mem-$1-cid$2 m st=ok opt=()
	[ "$v" = 1.3 ] && opt=(-3)
	"$PB" mem -n "$MEM_N" -k "$MEM_SENDS" -c "$cid" "${opt[@]}" > "$log" 2>&1 || st=error
	m=$(grep '^BENCH role=mem' "$log")
	[ -n "$m" ] || st=error
	[ $st = ok ] || ERRORS=$((ERRORS + 1))
	printf 'mem\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t%s\t%s\t%s\t%s\t%s\n' "$MEM_N" "$cid" \
		"$v" "$(field sent_to "$m")" "$(field setup "$m")" \
		"$(field bytes_per_peer "$m")" "$(field slab_per_peer "$m")" \
		"$(field bytes_per_sent "$m")" "$st" >> "$RES"
	echo "mem $v cid $cid: ${m:-error, see $log}"
}

for n in $PEERS; do
	for cid in $CIDS; do
		for kind in $KINDS; do
			cell "$kind" "$n" "$cid"
		done
	done
done
if [ "$MEM_N" != 0 ]; then
	for v in 1.2 1.3; do
		for cid in $CIDS; do
			mem_cell "$v" "$cid"
		done
	done
fi

if [ $REPORT = 1 ]; then
	python3 "$(dirname "$0")/peer_report.py" "$OUT" || ERRORS=$((ERRORS + 1))
fi
[ $ERRORS = 0 ]
