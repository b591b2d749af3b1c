#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/interop.sh - dtls-cat with the kernel record layer against
# peers that know nothing about it: dtls-cat offloaded with the other
# handshake library, openssl s_server/s_client, gnutls-serv/gnutls-cli, and
# wolfSSL's example client/server (compiled here from the sources Debian's
# libwolfssl-dev ships; for DTLS 1.3, with connection IDs too, and for
# dtls-cat --lib wolfssl, DTLS 1.2, those of tools/setup's wolfSSL build),
# and mbed TLS's ssl_client2
# and ssl_server2 (tools/setup's mbed TLS 3.6 build; with connection IDs).  Runs inside the test guest
# with kernel/dtls.ko loaded, from the top of the repository:
#
#   tools/vm-run -- sh -c 'insmod kernel/dtls.ko && userspace/tests/interop.sh'
#
# A bulk case moves 1 MiB from /dev/urandom and checks its SHA-256 on the far
# side.  When dtls-cat sends, the records have varied sizes: --sizes 1-16384
# on loopback (16384 is the largest plaintext a record may carry; loopback's
# MTU holds it), 1-1400 on the veth pair (MTU 1500), from a PRNG seeded with
# the case's port, so a failure can be replayed.  Every case also checks the
# exit statuses, that close_notify went both ways where the peer sends one
# (dtls-cat -v logs "peer sent close_notify"; a peer that never sends one is
# named in the case), and the kernel counters: DtlsTxRecords/DtlsRxRecords
# must rise by at least the number of records that carried the data (between
# two dtls-cat, the receiver must also have received exactly as many records
# as the sender sent).  A peer combination that cannot run is reported as
# "ok N - ... # SKIP reason".  Prints TAP and "N passed, N failed"
# (skips are not counted as passed); exits 1 if a case failed.
#
# Ordering: UDP over loopback delivers in order only while the sender stays
# on one CPU (each CPU has its own backlog queue; a sender that migrates
# between the two vCPUs can have a later datagram processed first).  DTLS
# does not reorder, so every SENDER runs pinned with "taskset -c 0" and the
# byte-exact SHA-256 comparison stays strict: a reordering or duplication
# that happens anyway is a failure.  On a mismatch the script says whether
# the same chunks arrived in another order.  Receivers are not pinned.
#
# UDP drops what does not fit a receiver's socket buffer.  dtls-cat asks for
# 8 MiB; the unmodified tools take net.core.rmem_default, which is raised to
# 8 MiB for the run (and restored), and dtls-cat paces what it sends them.
#
# Environment: DTLS_CAT (default userspace/dtls-cat), PORT_BASE (20000),
# CASE_TIMEOUT (seconds, 90), ONLY (regex on case descriptions),
# NO_WOLFSSL=1 (skip the wolfSSL build and cases).

set -u

DC=${DTLS_CAT:-userspace/dtls-cat}
PORT=${PORT_BASE:-20000}
TMO=${CASE_TIMEOUT:-90}
ONLY=${ONLY:-}
PSK=00112233445566778899aabbccddeeff
PSKID=Client_identity
SIZE=1048576
SIZES=1-16384			# record sizes when dtls-cat sends on loopback
VSIZES=1-1400			# on the veth pair (MTU 1500)
PACE=300			# usec between records sent to unmodified tools
WOLF_SRC=/usr/share/doc/libwolfssl-dev/examples

T=$(mktemp -d /tmp/interop.XXXXXX)
RMEM0=$(cat /proc/sys/net/core/rmem_default 2>/dev/null)
RMAX0=$(cat /proc/sys/net/core/rmem_max 2>/dev/null)
NS_A=kdtls-ia$$ NS_B=kdtls-ib$$
cleanup() {
	[ -n "$RMEM0" ] && echo "$RMEM0" > /proc/sys/net/core/rmem_default
	[ -n "$RMAX0" ] && echo "$RMAX0" > /proc/sys/net/core/rmem_max
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
N=0 PASSED=0 FAILED=0 SKIPPED=0
START=$(date +%s)

ok() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
skip() { N=$((N + 1)); SKIPPED=$((SKIPPED + 1)); echo "ok $N - $1 # SKIP $2"; }
not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
	shift
	local f
	for f in "$@"; do
		# (a last line without its newline would swallow the next TAP line)
		[ -s "$f" ] && sed -e 's/^/#   /' -e '$a\' "$f" | tail -n 15
	done
}

stat_get() {	# COUNTER [NETNS]
	if [ -n "${2:-}" ]; then
		ip netns exec "$2" cat /proc/net/dtls_stat
	else
		cat /proc/net/dtls_stat
	fi | awk -v k="$1" '$1 == k { print $2 }'
}

wait_port() {	# wait until something listens on UDP port $1 [in netns $2]
	local i ns=()
	[ -n "${2:-}" ] && ns=(ip netns exec "$2")
	for i in $(seq 1 100); do
		"${ns[@]}" ss -Huln "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

wait_grep() {	# wait_grep SECONDS PATTERN FILE...: until every FILE matches
	local end=$(($(date +%s) + $1)) pat=$2 f all
	shift 2
	while :; do
		all=1
		for f in "$@"; do
			grep -q -- "$pat" "$f" 2>/dev/null || { all=0; break; }
		done
		[ $all = 1 ] && return 0
		[ "$(date +%s)" -ge $end ] && return 1
		sleep 0.05
	done
}

if [ ! -r /proc/net/dtls_stat ]; then
	echo "1..0 # SKIP /proc/net/dtls_stat missing: insmod kernel/dtls.ko first"
	echo "0 passed, 0 failed"
	exit 1
fi
if [ ! -x "$DC" ]; then
	echo "Bail out! $DC not built: run make -C userspace on the host"
	echo "0 passed, 1 failed"
	exit 1
fi

PIN=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
	PIN=(taskset -c 0)
fi
echo 8388608 > /proc/sys/net/core/rmem_max 2>/dev/null
echo 8388608 > /proc/sys/net/core/rmem_default 2>/dev/null

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=test -days 2 -keyout "$T/ec.key" -out "$T/ec.crt" \
	>/dev/null 2>&1 || { echo "Bail out! cannot make a test certificate"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=test-rsa -days 2 \
	-keyout "$T/rsa.key" -out "$T/rsa.crt" \
	>/dev/null 2>&1 || { echo "Bail out! cannot make an RSA test certificate"; exit 1; }
echo "$PSKID:$PSK" > "$T/psk.passwd"
head -c $SIZE /dev/urandom > "$T/in"
mkfifo "$T/fifo" && exec 3<> "$T/fifo"
SUM=$(sha256sum < "$T/in" | cut -d' ' -f1)
CERT="--cert $T/ec.crt --key $T/ec.key"
RSACERT="--cert $T/rsa.crt --key $T/rsa.key"
PSKOPT="--psk $PSK --psk-identity $PSKID"

# Same bytes in another order?  (UDP may reorder; DTLS does not reorder back)
order_hint() {
	python3 - "$T/in" "$1" <<'PY' 2>/dev/null
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
msg = ", first difference at byte %d" % i
if i < len(b):
    j = a.find(b[i:i + 64])
    msg += ", where input byte %s arrived" % (j if j >= 0 else "?")
    if len(a) == len(b) and sorted(a) == sorted(b):
        msg += "; same bytes in another order"
print(msg, end='')
PY
}

skip_case() { [ -n "$ONLY" ] && ! [[ "$1" =~ $ONLY ]]; }

# dtls-cat -v statistics from its stderr log
recs_sent() { sed -n 's/.*application data records sent: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
recs_rcvd() { sed -n 's/.*application data records sent: [0-9]*, received: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
drained() { sed -n 's/.*, \([0-9]*\) drained records.*/\1/p' "$1" | tail -n 1; }
retrans() { sed -n 's/.*retransmissions of our last flight: \([0-9]*\).*/\1/p' "$1" | tail -n 1; }

WHY=""
why() { WHY="$WHY $*;"; }
# need_cn LOG: dtls-cat must have received the peer's close_notify
need_cn() { grep -q 'peer sent close_notify' "$1" || why "no close_notify from the peer ($(basename "$1"))"; }
# same_recs SENDER_LOG RECEIVER_LOG: exactly once, every record
same_recs() {
	local s r
	s=$(recs_sent "$1") r=$(recs_rcvd "$2")
	[ -n "$s" ] && [ "$s" = "$r" ] || why "records sent ${s:-?} != received ${r:-?}"
}

# Connection IDs.  dc_cids LOG OURS THEIRS: dtls-cat's -v line names the
# ones in use (hex, "" for none): the peer's (tx) and ours (rx)
dc_cids() {
	local tx=${3:-none} rx=${2:-none}
	grep -q "connection IDs: tx $tx, rx $rx\$" "$1" ||
		why "dtls-cat's CIDs: $(grep -o 'connection IDs:.*' "$1"), want tx $tx, rx $rx"
}
# kern_cids PORT OURS THEIRS: the kernel's socket of the association on
# PORT holds them (/proc/net/dtls, "-" for none; read while it is up)
kern_cids() {
	local got want="${3:--} ${2:--}"
	got=$(awk -v p=":$1" 'NR > 1 { for (i = 1; i <= 2; i++)
		if (substr($i, length($i) - length(p) + 1) == p) { print $10, $11; next } }' \
		/proc/net/dtls)
	[ "$got" = "$want" ] || why "/proc/net/dtls tx_cid rx_cid: '${got:-no socket}', want '$want'"
}
# opt_cid "OPTS": HEX of the --cid HEX among dtls-cat's options, false if none
opt_cid() {
	set -- $1
	while [ $# -gt 0 ]; do
		[ "$1" = --cid ] && { echo "${2-}"; return 0; }
		shift
	done
	return 1
}
# pair_cids "SERVER OPTS" "CLIENT OPTS": two dtls-cat with --cid each report
# the other's as tx, their own as rx
pair_cids() {
	local sc cc
	sc=$(opt_cid "$1") && cc=$(opt_cid "$2") || return 0
	dc_cids "$T/srv.err" "$sc" "$cc"
	dc_cids "$T/cli.err" "$cc" "$sc"
}

# check DESC OUTFILE MIN_TX MIN_RX STATUS... -- checks shared by all cases
# (counters sampled into TX0/RX0 by snap; earlier checks left reasons in WHY)
check() {
	local desc=$1 out=$2 mintx=$3 minrx=$4 st
	shift 4
	for st in "$@"; do
		[ "$st" = 0 ] || why "exit status $st"
	done
	local sum
	sum=$(sha256sum < "$out" | cut -d' ' -f1)
	if [ "$sum" != "$SUM" ]; then
		why "sha256 mismatch ($(stat -c %s "$out") of $SIZE bytes$(order_hint "$out"))"
	fi
	counters "$desc" "$mintx" "$minrx"
}

counters() {	# DESC MIN_TX MIN_RX: verdict from the counters and WHY
	local desc=$1 mintx=${2:-0} minrx=${3:-0}
	local dtx=$(( $(stat_get DtlsTxRecords) - TX0 ))
	local drx=$(( $(stat_get DtlsRxRecords) - RX0 ))
	[ $dtx -ge "$mintx" ] || why "DtlsTxRecords +$dtx < $mintx"
	[ $drx -ge "$minrx" ] || why "DtlsRxRecords +$drx < $minrx"
	# a record with a connection ID other than ours is dropped unopened
	local duc=$(( $(stat_get DtlsRxUnknownCid) - UC0 ))
	[ $duc = 0 ] || why "DtlsRxUnknownCid +$duc"
	if [ -z "$WHY" ]; then
		ok "$desc (tx +$dtx, rx +$drx)"
	else
		not_ok "$desc:$WHY" "$T/srv.err" "$T/cli.err"
	fi
}

snap() {
	TX0=$(stat_get DtlsTxRecords); RX0=$(stat_get DtlsRxRecords)
	UC0=$(stat_get DtlsRxUnknownCid)
	WHY=""
	rm -f "$T"/*.err "$T"/*.out "$T/out"
}

# ---------------------------------------------------------------------------
# dtls-cat <-> dtls-cat, both offloaded.  DIR "->": the client sends;
# "<-": the server sends.  cat_pair DESC DIR "SERVER OPTS" "CLIENT OPTS" [-6]
cat_pair() {
	local desc=$1 dir=$2 sopt=$3 copt=$4 fam=${5:-} host=127.0.0.1
	skip_case "$desc" && return
	[ "$fam" = -6 ] && host=::1
	PORT=$((PORT + 1)); snap
	local gen="--sizes $SIZES --seed $PORT" spid cst sst
	if [ "$dir" = "->" ]; then
		timeout $TMO $DC -v -l $fam -d $sopt $host $PORT > "$T/out" 2> "$T/srv.err" &
		spid=$!
		wait_port $PORT
		timeout $TMO "${PIN[@]}" $DC -v $fam $gen $copt $host $PORT < "$T/in" \
			> /dev/null 2> "$T/cli.err"
		cst=$?
		wait $spid; sst=$?
		same_recs "$T/cli.err" "$T/srv.err"
	else
		timeout $TMO "${PIN[@]}" $DC -v -l $fam $gen $sopt $host $PORT < "$T/in" \
			> /dev/null 2> "$T/srv.err" &
		spid=$!
		wait_port $PORT
		timeout $TMO $DC -v $fam -d $copt $host $PORT > "$T/out" 2> "$T/cli.err"
		cst=$?
		wait $spid; sst=$?
		same_recs "$T/srv.err" "$T/cli.err"
	fi
	need_cn "$T/srv.err"; need_cn "$T/cli.err"
	pair_cids "$sopt" "$copt"
	local n
	n=$(recs_sent "$T/$([ "$dir" = "->" ] && echo cli || echo srv).err")
	check "$desc" "$T/out" "${n:-1}" "${n:-1}" $sst $cst
}

# dtls-cat client -> openssl s_server; s_server's stdout is checked
vs_s_server() {
	local desc=$1 sargs=$2 copt=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	# stdin held open (and idle) through a FIFO; one client, then exit
	timeout $TMO openssl s_server -dtls1_2 -quiet -naccept 1 \
		-accept 127.0.0.1:$PORT $sargs < "$T/fifo" > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO "${PIN[@]}" $DC -v --sizes $SIZES --seed $PORT --delay $PACE \
		$copt 127.0.0.1 $PORT < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	need_cn "$T/cli.err"
	local n
	n=$(recs_sent "$T/cli.err")
	check "$desc" "$T/out" "${n:-1}" 0 $cst $sst
}

# openssl s_client -> dtls-cat server; dtls-cat's stdout is checked
vs_s_client() {
	local desc=$1 sopt=$2 cargs=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -v -l -d $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO "${PIN[@]}" openssl s_client -dtls1_2 -quiet -no_ign_eof \
		-nocommands -connect 127.0.0.1:$PORT $cargs < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	need_cn "$T/srv.err"
	# s_client sends up to 16 KiB per record
	check "$desc" "$T/out" 0 $((SIZE / 16384)) $sst $cst
}

# dtls-cat client <-> gnutls-serv --echo; the echo on dtls-cat's stdout is
# checked.  gnutls-serv never answers a close_notify: dtls-cat stops once the
# whole echo came back (--recv-bytes).
vs_gnutls_serv() {
	local desc=$1 sargs=$2 copt=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO gnutls-serv --udp --echo --mtu 17000 -p $PORT $sargs \
		> "$T/srv.err" 2>&1 &
	local spid=$!
	wait_port $PORT
	timeout $TMO "${PIN[@]}" $DC -v -q 20 --recv-bytes $SIZE --sizes $SIZES \
		--seed $PORT --delay $PACE $copt 127.0.0.1 $PORT < "$T/in" > "$T/out" \
		2> "$T/cli.err"
	local cst=$?
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	tail -n 5 "$T/srv.err" | tr -c '[:print:]\n' '?' > "$T/srv.err.keep"
	mv "$T/srv.err.keep" "$T/srv.err"
	local n
	n=$(recs_sent "$T/cli.err")
	# the echo comes back in gnutls-serv's chunks, at least one per record
	check "$desc" "$T/out" "${n:-1}" "${n:-1}" $cst
}

# gnutls-cli -> dtls-cat server; dtls-cat's stdout is checked
vs_gnutls_cli() {
	local desc=$1 sopt=$2 cargs=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -v -l -d $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	# its DTLS MTU must allow the 16 KiB it reads from stdin at once
	timeout $TMO "${PIN[@]}" gnutls-cli --udp --mtu 17000 --insecure -p $PORT \
		$cargs 127.0.0.1 < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	need_cn "$T/srv.err"
	check "$desc" "$T/out" 0 $((SIZE / 16384)) $sst $cst
}

# The server's final flight (CCS + Finished) is lost once between two
# dtls-cat; the offloaded server must resend it through the kernel (the
# CCS as an epoch-0 plaintext record) when the client retransmits.
# MODE dtls13 (dropproxy.py dtls13): the server's last word is its ACK of
# the client's Finished; the client, still in wolfSSL until that ACK came,
# resends its Finished in epoch 2, which the offloaded server must get
# (the client's handshake epoch is its previous epoch) and acknowledge
# again through the kernel.
# lost_flight DESC "SERVER OPTS" "CLIENT OPTS" [MODE]
lost_flight() {
	local desc=$1 sopt=$2 copt=$3 mode=${4:-} ppid
	skip_case "$desc" && return
	if [ "$mode" = dtls13 ] && w13_missing; then
		not_ok "$desc: no wolfSSL with DTLS 1.3 in $W13SRC or no dtls-cat --dtls13 (run tools/setup, then make)"
		return
	fi
	PORT=$((PORT + 2)); snap
	timeout $TMO $DC -l -d -v $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	python3 userspace/tests/dropproxy.py $((PORT + 1)) $PORT $TMO $mode 2> "$T/proxy.err" &
	ppid=$!
	wait_port $((PORT + 1))
	timeout $TMO "${PIN[@]}" $DC -v --sizes $SIZES --seed $PORT --delay $PACE \
		$copt 127.0.0.1 $((PORT + 1)) < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	kill $ppid 2>/dev/null; wait $ppid 2>/dev/null
	local rt n
	rt=$(retrans "$T/srv.err")
	[ "${rt:-0}" -ge 1 ] || why "the server did not resend its last flight (${rt:-?})"
	same_recs "$T/cli.err" "$T/srv.err"
	need_cn "$T/srv.err"; need_cn "$T/cli.err"
	pair_cids "$sopt" "$copt"
	n=$(recs_sent "$T/cli.err")
	check "$desc, ${rt:-0} retransmission(s)" "$T/out" "${n:-1}" "${n:-1}" $sst $cst
}

# ---------------------------------------------------------------------------
# A record the peer sends right after its handshake completes, before our
# side hands off, is delivered exactly once.  The late side runs with
# --handoff-delay (the records wait in the socket queue; the kernel must
# decrypt them after DTLS_RX, nothing drained) or --handoff-peek (OpenSSL
# has decrypted and buffered the first record; the library must drain it,
# and the kernel must not deliver it again).  The peer sends three 40-byte
# records and close_notify at once.
# early DESC LATE(server|client) "LATE OPTS" "PEER OPTS" EXPECT_DRAINED
early() {
	local desc=$1 late=$2 lopt=$3 popt=$4 edr=$5 spid cst sst llog plog
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	if [ "$late" = server ]; then
		timeout $TMO $DC -v -l -d $lopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
		spid=$!
		wait_port $PORT
		timeout $TMO "${PIN[@]}" $DC -v -q 5 --size 40 $popt 127.0.0.1 $PORT \
			< "$T/early" > /dev/null 2> "$T/cli.err"
		cst=$?
		llog=$T/srv.err plog=$T/cli.err
	else
		timeout $TMO "${PIN[@]}" $DC -v -l -q 5 --size 40 $popt 127.0.0.1 $PORT \
			< "$T/early" > /dev/null 2> "$T/srv.err" &
		spid=$!
		wait_port $PORT
		timeout $TMO $DC -v -d $lopt 127.0.0.1 $PORT > "$T/out" 2> "$T/cli.err"
		cst=$?
		llog=$T/cli.err plog=$T/srv.err
	fi
	wait $spid; sst=$?
	[ $sst = 0 ] || why "server exit status $sst"
	[ $cst = 0 ] || why "client exit status $cst"
	cmp -s "$T/early" "$T/out" || why "received $(stat -c %s "$T/out") bytes, not the 120 sent: $(head -c 200 "$T/out" | tr -c '[:print:]' '.')"
	[ "$(recs_sent "$plog")" = 3 ] || why "peer sent $(recs_sent "$plog") records, not 3"
	[ "$(recs_rcvd "$llog")" = 3 ] || why "late side received $(recs_rcvd "$llog") records, not 3"
	local d
	d=$(drained "$llog")
	[ "${d:-x}" = "$edr" ] || why "drained records ${d:-?}, expected $edr"
	need_cn "$llog"
	# the kernel delivered the records the library did not drain
	counters "$desc, drained $edr" 3 $((3 - edr))
}

# ---------------------------------------------------------------------------
# wolfSSL: its example client and server, built from Debian's sources.  They
# look for their certificate files relative to a "wolfSSL root" (certs/
# dh2048.pem must exist; the server always loads three OCSP intermediate CA
# files), which a directory of generated files stands in for.
WOLF=""
WOLF_ERR=""
wolf_build() {
	local w=$T/wolf
	[ "${NO_WOLFSSL:-0}" = 1 ] && { WOLF_ERR="NO_WOLFSSL=1"; return; }
	if [ ! -r "$WOLF_SRC/client.c" ] || [ ! -r "$WOLF_SRC/server.c" ]; then
		WOLF_ERR="$WOLF_SRC/client.c or server.c missing (install libwolfssl-dev)"
		return
	fi
	mkdir -p "$w/examples/client" "$w/examples/server" "$w/certs/ocsp"
	printf '#include <wolfssl/test.h>\nTHREAD_RETURN WOLFSSL_THREAD %s_test(void *args);\n' \
		client > "$w/examples/client/client.h"
	printf '#include <wolfssl/test.h>\nTHREAD_RETURN WOLFSSL_THREAD %s_test(void *args);\n' \
		server > "$w/examples/server/server.h"
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
		-out "$w/certs/dh2048.pem" 2>/dev/null
	local i p
	for i in 1 2 3; do
		cp "$T/ec.crt" "$w/certs/ocsp/intermediate$i-ca-cert.pem"
	done
	local flags
	flags=$(pkg-config --cflags --libs wolfssl 2>&1) || {
		WOLF_ERR="pkg-config wolfssl: $flags"; return; }
	for p in client server; do
		gcc -O0 -w -I"$w" -o "$w/$p" "$WOLF_SRC/$p.c" $flags -lpthread -lm \
			> "$w/$p.build" 2>&1 &
	done
	wait
	for p in client server; do
		if [ ! -x "$w/$p" ]; then
			WOLF_ERR="gcc $WOLF_SRC/$p.c failed: $(grep -m 3 -i error "$w/$p.build" | tr '\n' ' ')"
			return
		fi
	done
	WOLF=$w
}

# wolfSSL example client -> dtls-cat server.  The client sends "hello
# wolfssl!", reads one reply and closes (-w: waits for our close_notify).
vs_wolf_client() {
	local desc=$1 cipher=$2 sopt=$3
	skip_case "$desc" && return
	[ -n "$WOLF" ] || { not_ok "$desc: wolfSSL examples not built: $WOLF_ERR"; return; }
	PORT=$((PORT + 1)); snap
	rm -f "$T/wfifo"; mkfifo "$T/wfifo"; exec 4<> "$T/wfifo"
	timeout $TMO $DC -v -l $sopt 127.0.0.1 $PORT < "$T/wfifo" > "$T/out" \
		2> "$T/srv.err" 4>&- &
	local spid=$!
	wait_port $PORT
	(cd "$WOLF" && timeout $TMO ./client -u -v 3 -h 127.0.0.1 -p $PORT -d -w \
		-A "$T/ec.crt" -c "$T/ec.crt" -k "$T/ec.key" -l "$cipher") \
		> "$T/wolf.out" 2> "$T/cli.err" 4>&- &
	local cpid=$!
	# reply once the message arrived, then stdin EOF: close_notify
	wait_grep $TMO 'hello wolfssl!' "$T/out"
	echo "kdtls reply $PORT" >&4
	exec 4>&-
	wait $cpid; local cst=$?
	wait $spid; local sst=$?
	[ $cst = 0 ] || why "wolfSSL client exit status $cst"
	[ $sst = 0 ] || why "dtls-cat exit status $sst"
	[ "$(cat "$T/out")" = "hello wolfssl!" ] || why "dtls-cat got '$(head -c 100 "$T/out" | tr -c '[:print:]' '.')'"
	[ "$(recs_rcvd "$T/srv.err")" = 1 ] || why "dtls-cat received $(recs_rcvd "$T/srv.err") records, not 1"
	grep -q "kdtls reply $PORT" "$T/wolf.out" || why "the wolfSSL client did not print our reply"
	need_cn "$T/srv.err"
	cat "$T/wolf.out" >> "$T/cli.err"
	counters "$desc" 1 1
}

# dtls-cat client -> wolfSSL example server.  The server prints the message,
# replies "I hear you fa shizzle!" and closes (-w: waits for our close_notify).
vs_wolf_server() {
	local desc=$1 cipher=$2 copt=$3
	skip_case "$desc" && return
	[ -n "$WOLF" ] || { not_ok "$desc: wolfSSL examples not built: $WOLF_ERR"; return; }
	PORT=$((PORT + 1)); snap
	(cd "$WOLF" && exec timeout $TMO ./server -u -v 3 -p $PORT -d -w \
		-A "$T/ec.crt" -c "$T/ec.crt" -k "$T/ec.key" -l "$cipher") \
		> "$T/wolf.out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	rm -f "$T/wfifo"; mkfifo "$T/wfifo"; exec 4<> "$T/wfifo"
	timeout $TMO $DC -v $copt 127.0.0.1 $PORT < "$T/wfifo" > "$T/out" \
		2> "$T/cli.err" 4>&- &
	local cpid=$!
	echo "kdtls hello $PORT" >&4
	# stdin EOF (our close_notify) only once the reply is in
	wait_grep $TMO 'I hear you' "$T/out"
	exec 4>&-
	wait $cpid; local cst=$?
	wait $spid; local sst=$?
	[ $cst = 0 ] || why "dtls-cat exit status $cst"
	[ $sst = 0 ] || why "wolfSSL server exit status $sst"
	grep -q "Client message: kdtls hello $PORT" "$T/wolf.out" || why "the wolfSSL server did not print our message"
	# This wolfSSL server writes its reply as two records (the same with
	# the record layer left in OpenSSL): the bytes must be exact, the
	# count 1 or 2.
	local r
	r=$(recs_rcvd "$T/cli.err")
	[ "$(cat "$T/out")" = "I hear you fa shizzle!" ] || why "dtls-cat got '$(head -c 100 "$T/out" | od -An -c | tr -s ' \n' ' ')'"
	{ [ "${r:-0}" -ge 1 ] && [ "${r:-0}" -le 2 ]; } || why "dtls-cat received ${r:-?} records, not 1 or 2"
	need_cn "$T/cli.err"
	cat "$T/wolf.out" >> "$T/srv.err"
	counters "$desc, reply in ${r:-?} record(s)" 1 "${r:-1}"
}


# ---------------------------------------------------------------------------
# DTLS 1.3, and DTLS 1.2 with the wolfSSL backend: the example client and
# server of the wolfSSL that tools/setup builds with DTLS 1.3 (Debian's
# source), unmodified, against dtls-cat --dtls13 or --lib wolfssl (wolfSSL
# handshake, handoff through libdtls_offload_wolfssl).
W13SRC=${KDTLS_CACHE:-/var/cache/kdtls}/wolfssl/src
w13_missing() {
	[ -x "$W13SRC/examples/client/client" ] && [ -x "$W13SRC/examples/server/server" ] &&
		[ -x "$DC" ] && "$DC" --dtls13 --help >/dev/null 2>&1 && return 1
	return 0
}
# last_epochs LOG: "TX RX", the last epochs dtls-cat installed
last_epochs() { sed -n 's/.*last keys installed: tx epoch \([0-9]*\), rx epoch \([0-9]*\).*/\1 \2/p' "$1" | tail -n 1; }
# min_epochs LOG TX RX: at least these epochs were reached
min_epochs() {
	local e tx rx
	e=$(last_epochs "$1"); tx=${e% *}; rx=${e#* }
	[ "${tx:-0}" -ge "$2" ] && [ "${rx:-0}" -ge "$3" ] ||
		why "epochs reached: tx ${tx:-?} rx ${rx:-?}, want >= $2 and >= $3"
}

# w13_need_cn CIPHER LOG: the peer's close_notify, but with CCM_8: this
# wolfSSL cannot send a record whose encrypted part is shorter than the
# 16 bytes record number encryption samples (Dtls13EncryptRecordNumber()
# refuses it, BUFFER_ERROR), and a 2-byte alert under an 8-byte tag is.
w13_need_cn() {
	case $1 in *CCM-8*) return ;; esac
	need_cn "$2"
}

# wolfx_ver VER: the example programs' -v and dtls-cat's version option for
# DTLS VER (1.2 or 1.3); wolfx_cn VER CIPHER LOG: the peer's close_notify
wolfx_ver() { case $1 in 1.2) echo "3 --lib wolfssl" ;; *) echo "4 --dtls13" ;; esac; }
wolfx_cn() { if [ "$1" = 1.2 ]; then need_cn "$3"; else w13_need_cn "$2" "$3"; fi; }

# Connection IDs with the wolfSSL examples: their --cid STRING (ASCII; an
# empty one when no STRING follows), dtls-cat's --cid HEX.  ex_cid
# "EXAMPLE OPTS": the example's in hex, false if none.
ex_cid() {
	set -- $1
	while [ $# -gt 0 ]; do
		if [ "$1" = --cid ]; then
			case ${2:--} in -*) echo; return 0 ;; esac
			printf %s "$2" | od -An -tx1 | tr -d ' \n'; echo
			return 0
		fi
		shift
	done
	return 1
}
# wolfx_cids DCLOG PORT "DTLS-CAT OPTS" "EXAMPLE OPTS" [kern]: with --cid on
# both sides, what dtls-cat reports and the example says it sends (its
# printBuffer(): each byte %x), or with "kern" what the kernel's socket
# holds, read while the association is up; none on either: no CIDs at all
wolfx_cids() {
	local ours theirs both=1 b pb=""
	if ! ours=$(opt_cid "$3") || ! theirs=$(ex_cid "$4"); then
		ours="" theirs="" both=0
	fi
	if [ "${5:-}" = kern ]; then
		kern_cids "$2" "$ours" "$theirs"
		return
	fi
	dc_cids "$1" "$ours" "$theirs"
	[ $both = 1 ] || return 0
	for b in $(echo "$ours" | sed 's/../& /g'); do pb=$pb$(printf %x "0x$b"); done
	if [ -n "$ours" ]; then
		grep -q "^Sending CID is $pb\$" "$T/wolf.out" ||
			why "the wolfSSL example does not report our CID $ours"
	else
		grep -q "other peer provided empty CID" "$T/wolf.out" ||
			why "the wolfSSL example does not report our empty CID"
	fi
}

# wolfSSL client -> dtls-cat server (DTLS VER: 1.2, dtls-cat --lib wolfssl;
# 1.3, dtls-cat --dtls13); WOPT more client options (-I: a KeyUpdate
# before its data), EPOCHS "TX RX" dtls-cat must reach (1.3: 3 3).
vs_wolfx_client() {
	local ver=$1 desc=$2 cipher=$3 sopt=$4 wopt=${5:-} epochs=${6:-3 3} v dco
	skip_case "$desc" && return
	w13_missing && { not_ok "$desc: no wolfSSL with DTLS 1.3 in $W13SRC or no dtls-cat --dtls13 (run tools/setup, then make)"; return; }
	read -r v dco <<< "$(wolfx_ver "$ver")"
	[ "$ver" = 1.2 ] && epochs="1 1"
	PORT=$((PORT + 1)); snap
	rm -f "$T/wfifo"; mkfifo "$T/wfifo"; exec 4<> "$T/wfifo"
	timeout $TMO $DC -v -l $dco $CERT $sopt 127.0.0.1 $PORT < "$T/wfifo" > "$T/out" \
		2> "$T/srv.err" 4>&- &
	local spid=$!
	wait_port $PORT
	# the examples look for wolfSSL's tree (its certs/) from where they run
	(cd "$W13SRC" && exec timeout $TMO examples/client/client -u -v $v -h 127.0.0.1 \
		-p $PORT -d -w -l "$cipher" $wopt) > "$T/wolf.out" 2> "$T/cli.err" 4>&- &
	local cpid=$!
	# (the client sends its message again if no reply came within 2 s)
	wait_grep $TMO 'offloaded:' "$T/srv.err"
	wolfx_cids "" $PORT "$sopt" "$wopt" kern
	wait_grep $TMO 'hello wolfssl!' "$T/out"
	echo "kdtls reply $PORT" >&4
	exec 4>&-
	wait $cpid; local cst=$?
	wait $spid; local sst=$?
	[ $cst = 0 ] || why "wolfSSL client exit status $cst"
	[ $sst = 0 ] || why "dtls-cat exit status $sst"
	wolfx_cids "$T/srv.err" $PORT "$sopt" "$wopt"
	# with -I the client sends its message again after the key update
	local want="hello wolfssl!"
	case " $wopt " in *" -I "*) want="hello wolfssl!hello wolfssl!" ;; esac
	[ "$(cat "$T/out")" = "$want" ] || why "dtls-cat got '$(head -c 100 "$T/out" | tr -c '[:print:]' '.')'"
	grep -q "kdtls reply $PORT" "$T/wolf.out" || why "the wolfSSL client did not print our reply"
	wolfx_cn "$ver" "$cipher" "$T/srv.err"
	min_epochs "$T/srv.err" ${epochs% *} ${epochs#* }
	cat "$T/wolf.out" >> "$T/cli.err"
	counters "$desc" 1 1
}

# dtls-cat client -> wolfSSL server (DTLS VER, as above); COPT more
# dtls-cat options (--key-update 1), WOPT more server options (-I).
vs_wolfx_server() {
	local ver=$1 desc=$2 cipher=$3 copt=$4 wopt=${5:-} epochs=${6:-3 3} v dco
	skip_case "$desc" && return
	w13_missing && { not_ok "$desc: no wolfSSL with DTLS 1.3 in $W13SRC or no dtls-cat --dtls13 (run tools/setup, then make)"; return; }
	read -r v dco <<< "$(wolfx_ver "$ver")"
	[ "$ver" = 1.2 ] && epochs="1 1"
	PORT=$((PORT + 1)); snap
	(cd "$W13SRC" && exec timeout $TMO examples/server/server -u -v $v -p $PORT -d -w \
		-c certs/server-ecc.pem -k certs/ecc-key.pem -l "$cipher" $wopt) \
		> "$T/wolf.out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	rm -f "$T/wfifo"; mkfifo "$T/wfifo"; exec 4<> "$T/wfifo"
	timeout $TMO $DC -v $dco $copt 127.0.0.1 $PORT < "$T/wfifo" > "$T/out" \
		2> "$T/cli.err" 4>&- &
	local cpid=$!
	# the server closes right after its reply: the socket is read before
	wait_grep $TMO 'offloaded:' "$T/cli.err"
	wolfx_cids "" $PORT "$copt" "$wopt" kern
	echo "kdtls hello $PORT" >&4
	wait_grep $TMO 'I hear you' "$T/out"
	exec 4>&-
	wait $cpid; local cst=$?
	wait $spid; local sst=$?
	[ $cst = 0 ] || why "dtls-cat exit status $cst"
	[ $sst = 0 ] || why "wolfSSL server exit status $sst"
	wolfx_cids "$T/cli.err" $PORT "$copt" "$wopt"
	# With a KeyUpdate of ours next to our message the example server
	# printed no "Client message" line in some runs, though it read the
	# message (it answers only after reading one).
	case $copt in
	*--key-update*) ;;
	*) grep -q "Client message: kdtls hello $PORT" "$T/wolf.out" ||
		why "the wolfSSL server did not print our message" ;;
	esac
	[ "$(cat "$T/out")" = "I hear you fa shizzle!" ] || why "dtls-cat got '$(head -c 100 "$T/out" | od -An -c | tr -s ' \n' ' ')'"
	wolfx_cn "$ver" "$cipher" "$T/cli.err"
	min_epochs "$T/cli.err" ${epochs% *} ${epochs#* }
	cat "$T/wolf.out" >> "$T/srv.err"
	counters "$desc" 1 1
}

# ---------------------------------------------------------------------------
# Real packet loss: two namespaces joined by a veth pair with netem loss 30%
# in both directions while the handshake runs (short retransmission timers),
# so flights, the final one included, get lost and are retransmitted; once
# both sides are offloaded the netem qdiscs are removed and 1 MiB crosses in
# records of 1..1400 bytes, checked by SHA-256.  Loss is removed for the
# transfer because DTLS does not retransmit data: with loss, the only
# possible check would be "what arrived is a subset", weaker than the
# byte-exact one; loss during the offloaded transfer is covered by
# selftests/netns.sh.
netem_case() {
	local desc=$1 sopt=$2 copt=$3 loss=$4 mode=${5:-}
	skip_case "$desc" && return
	if [ "$mode" = dtls13 ] && w13_missing; then
		not_ok "$desc: no wolfSSL with DTLS 1.3 in $W13SRC or no dtls-cat --dtls13 (run tools/setup, then make)"
		return
	fi
	PORT=$((PORT + 1)); WHY=""
	rm -f "$T"/*.err "$T/out"
	if ! { modprobe veth 2>/dev/null; ip netns add $NS_A && ip netns add $NS_B &&
		ip link add kdv0 netns $NS_A type veth peer name kdv1 netns $NS_B &&
		ip -n $NS_A addr add 10.199.0.1/24 dev kdv0 &&
		ip -n $NS_B addr add 10.199.0.2/24 dev kdv1 &&
		ip -n $NS_A link set kdv0 up && ip -n $NS_B link set kdv1 up &&
		ip -n $NS_A link set lo up && ip -n $NS_B link set lo up &&
		tc -n $NS_A qdisc add dev kdv0 root netem loss "$loss" &&
		tc -n $NS_B qdisc add dev kdv1 root netem loss "$loss"; } > "$T/cli.err" 2>&1; then
		not_ok "$desc: cannot set up veth + netem" "$T/cli.err"
		ip netns del $NS_A 2>/dev/null; ip netns del $NS_B 2>/dev/null
		return
	fi
	local atx=$(stat_get DtlsTxRecords $NS_A) brx=$(stat_get DtlsRxRecords $NS_B)
	rm -f "$T/nfifo"; mkfifo "$T/nfifo"; exec 5<> "$T/nfifo"
	ip netns exec $NS_B timeout $TMO $DC -v -l -d --hs-timeout 200 $sopt \
		10.199.0.2 $PORT > "$T/out" 2> "$T/srv.err" 5>&- &
	local spid=$!
	wait_port $PORT $NS_B
	ip netns exec $NS_A timeout $TMO "${PIN[@]}" $DC -v --hs-timeout 200 \
		--sizes $VSIZES --seed $PORT $copt 10.199.0.2 $PORT < "$T/nfifo" \
		> /dev/null 2> "$T/cli.err" 5>&- &
	local cpid=$!
	if wait_grep $TMO 'offloaded:' "$T/srv.err" "$T/cli.err"; then
		tc -n $NS_A qdisc del dev kdv0 root; tc -n $NS_B qdisc del dev kdv1 root
		timeout $TMO cat "$T/in" >&5
	else
		why "no offloaded association within $TMO s"
	fi
	exec 5>&-
	wait $cpid; local cst=$?
	wait $spid; local sst=$?
	local rts rtc n sum
	rts=$(retrans "$T/srv.err") rtc=$(retrans "$T/cli.err")
	[ $cst = 0 ] || why "client exit status $cst"
	[ $sst = 0 ] || why "server exit status $sst"
	sum=$(sha256sum < "$T/out" | cut -d' ' -f1)
	[ "$sum" = "$SUM" ] || why "sha256 mismatch ($(stat -c %s "$T/out") of $SIZE bytes$(order_hint "$T/out"))"
	same_recs "$T/cli.err" "$T/srv.err"
	need_cn "$T/srv.err"; need_cn "$T/cli.err"
	n=$(recs_sent "$T/cli.err")
	local dtx=$(( $(stat_get DtlsTxRecords $NS_A) - atx ))
	local drx=$(( $(stat_get DtlsRxRecords $NS_B) - brx ))
	[ $dtx -ge "${n:-1}" ] || why "DtlsTxRecords +$dtx < ${n:-1} (client netns)"
	[ $drx -ge "${n:-1}" ] || why "DtlsRxRecords +$drx < ${n:-1} (server netns)"
	ip netns del $NS_A; ip netns del $NS_B
	desc="$desc, last flight resent by the offloaded server ${rts:-?}x / client ${rtc:-?}x"
	if [ -z "$WHY" ]; then
		ok "$desc (tx +$dtx, rx +$drx)"
	else
		not_ok "$desc:$WHY" "$T/srv.err" "$T/cli.err"
	fi
}

GP='NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL'

# ---- lost final flight (deterministic, through tests/dropproxy.py)
lost_flight "lost final flight: dtls-cat openssl server <- gnutls client, aes128gcm" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm"
lost_flight "lost final flight: dtls-cat gnutls server <- openssl client, chacha20" \
	"--lib gnutls $CERT --cipher chacha20" "--lib openssl --cipher chacha20"
lost_flight "lost final flight: dtls-cat openssl server <- openssl client, aes128ccm8 psk" \
	"--lib openssl $PSKOPT --cipher aes128ccm8" "--lib openssl $PSKOPT --cipher aes128ccm8"
lost_flight "lost final flight: dtls-cat gnutls server <- gnutls client, aes256gcm" \
	"--lib gnutls $CERT --cipher aes256gcm" "--lib gnutls --cipher aes256gcm"

# ---- loss on a real link (netem)
netem_case "netem loss 30% during the handshake, veth: dtls-cat gnutls server <- openssl client, aes128gcm" \
	"--lib gnutls $CERT --cipher aes128gcm" "--lib openssl --cipher aes128gcm" 30%
netem_case "netem loss 30% during the handshake, veth: dtls-cat openssl server <- gnutls client, chacha20" \
	"--lib openssl $CERT --cipher chacha20" "--lib gnutls --cipher chacha20" 30%
# DTLS 1.3 through wolfSSL at 10%: its retransmission timer counts whole
# seconds (1 s at least, 200 ms for the others above), so at 30% a 1.3
# handshake, with its HelloRetryRequest and ACK rounds, takes minutes
netem_case "netem loss 10% during the handshake, veth: DTLS 1.3 dtls-cat server <- dtls-cat client, aes128gcm" \
	"--dtls13 $CERT --cipher aes128gcm" "--dtls13 --cipher aes128gcm" 10% dtls13

# ---- records sent by the peer between its Finished and our handoff
printf '%-39s\n' "early record 1 of 3" "early record 2 of 3" "early record 3 of 3" > "$T/early"
early "early records: late openssl server (queued), gnutls client sends at once" server \
	"--lib openssl $CERT --handoff-delay 500" "--lib gnutls" 0
early "early records: late gnutls server (queued), openssl client sends at once" server \
	"--lib gnutls $CERT --handoff-delay 500" "--lib openssl" 0
early "early records: late openssl client (queued), gnutls server sends at once" client \
	"--lib openssl --handoff-delay 500" "--lib gnutls $CERT" 0
early "early records: late gnutls client (queued), openssl server sends at once" client \
	"--lib gnutls --handoff-delay 500" "--lib openssl $CERT" 0
early "early records: late openssl server (1 buffered by OpenSSL), gnutls client sends at once" server \
	"--lib openssl $CERT --handoff-peek" "--lib gnutls" 1
early "early records: late openssl client (1 buffered by OpenSSL), openssl server sends at once" client \
	"--lib openssl --handoff-peek" "--lib openssl $CERT" 1

# The same with bulk data: the peer sends 1 MiB at once while our side waits
# 20 ms, then hands off: records are queued before DTLS_RX, arrive during the
# install and after it, and must come out once each, in order.
cat_pair "early bulk: late gnutls server (20 ms), openssl client sends 1 MiB at once" "->" \
	"--lib gnutls $CERT --handoff-delay 20" "--lib openssl"
cat_pair "early bulk: late openssl server (20 ms), gnutls client sends 1 MiB at once" "->" \
	"--lib openssl $CERT --handoff-delay 20" "--lib gnutls"
cat_pair "early bulk: late gnutls client (20 ms), openssl server sends 1 MiB at once" "<-" \
	"--lib openssl $CERT" "--lib gnutls --handoff-delay 20"

# ---- dtls-cat <-> dtls-cat, both offloaded, a different library on each side
for c in aes128gcm aes256gcm chacha20; do
	cat_pair "dtls-cat openssl server <- gnutls client, $c, cert" "->" \
		"--lib openssl $CERT --cipher $c" "--lib gnutls --cipher $c"
	cat_pair "dtls-cat gnutls server <- openssl client, $c, cert" "->" \
		"--lib gnutls $CERT --cipher $c" "--lib openssl --cipher $c"
done
for c in aes128ccm aes128ccm8; do
	cat_pair "dtls-cat openssl server <- gnutls client, $c, psk" "->" \
		"--lib openssl $PSKOPT --cipher $c" "--lib gnutls $PSKOPT --cipher $c"
	cat_pair "dtls-cat gnutls server <- openssl client, $c, psk" "->" \
		"--lib gnutls $PSKOPT --cipher $c" "--lib openssl $PSKOPT --cipher $c"
done
cat_pair "dtls-cat openssl server -> gnutls client, aes128gcm" "<-" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm"
cat_pair "dtls-cat gnutls server -> openssl client, chacha20" "<-" \
	"--lib gnutls $CERT --cipher chacha20" "--lib openssl --cipher chacha20"
cat_pair "dtls-cat openssl server <- gnutls client, IPv6, aes128gcm" "->" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm" -6
cat_pair "dtls-cat gnutls server <- openssl client, IPv6, chacha20" "->" \
	"--lib gnutls $CERT --cipher chacha20" "--lib openssl --cipher chacha20" -6

# ---- openssl s_server / s_client: every suite, both roles, both libraries
# SUITE DTLS-CAT-KEY S_SERVER/S_CLIENT-KEY-ARGS
ossl_suite() {
	local suite=$1 dckey=$2 skey=$3 ckey=$4 lib
	for lib in openssl gnutls; do
		vs_s_server "dtls-cat ($lib) client -> openssl s_server, $suite" \
			"$skey -cipher $suite" "--lib $lib $dckey"
		vs_s_client "openssl s_client -> dtls-cat ($lib) server, $suite" \
			"--lib $lib $dckey" "$ckey -cipher $suite"
	done
}
EC_S="-cert $T/ec.crt -key $T/ec.key"
RSA_S="-cert $T/rsa.crt -key $T/rsa.key"
PSK_O="-psk $PSK -psk_identity $PSKID"
ossl_suite ECDHE-ECDSA-AES128-GCM-SHA256 "$CERT --cipher aes128gcm" "$EC_S" ""
ossl_suite ECDHE-ECDSA-AES256-GCM-SHA384 "$CERT --cipher aes256gcm" "$EC_S" ""
ossl_suite ECDHE-RSA-CHACHA20-POLY1305 "$RSACERT --cipher chacha20" "$RSA_S" ""
ossl_suite PSK-AES128-CCM8 "$PSKOPT --cipher aes128ccm8" "-nocert $PSK_O" "$PSK_O"
ossl_suite PSK-AES128-CCM "$PSKOPT --cipher aes128ccm" "-nocert $PSK_O" "$PSK_O"

# ---- gnutls-serv / gnutls-cli: every AEAD cipher, both roles
GS_EC="--x509certfile $T/ec.crt --x509keyfile $T/ec.key"
i=0
for c in AES-128-GCM AES-256-GCM CHACHA20-POLY1305 AES-128-CCM AES-128-CCM-8; do
	# alternate dtls-cat's handshake library
	if [ $((i % 2)) = 0 ]; then l1=gnutls l2=openssl; else l1=openssl l2=gnutls; fi
	i=$((i + 1))
	vs_gnutls_serv "dtls-cat ($l1) client <-> gnutls-serv --echo, $c, ECDSA (gnutls-serv sends no close_notify)" \
		"$GS_EC --priority $GP:+$c" "--lib $l1"
	vs_gnutls_cli "gnutls-cli -> dtls-cat ($l2) server, $c, ECDSA" \
		"--lib $l2 $CERT" "--priority $GP:+$c"
done
GPSK="$GP:+AES-128-CCM-8:-KX-ALL:+PSK"
vs_gnutls_serv "dtls-cat (openssl) client <-> gnutls-serv --echo, AES-128-CCM-8, PSK (gnutls-serv sends no close_notify)" \
	"--pskpasswd $T/psk.passwd --priority $GPSK" "--lib openssl $PSKOPT --cipher aes128ccm8"
vs_gnutls_cli "gnutls-cli -> dtls-cat (gnutls) server, AES-128-CCM-8, PSK" \
	"--lib gnutls $PSKOPT --cipher aes128ccm8" "--pskusername $PSKID --pskkey $PSK --priority $GPSK"

# ---- wolfSSL example client/server (one short message each way)
wolf_build
[ -n "$WOLF" ] || echo "# wolfSSL examples not built: $WOLF_ERR"
i=0
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
	 ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES128-CCM-8; do
	case $c in
	*AES128-GCM*) k=aes128gcm ;; *AES256-GCM*) k=aes256gcm ;;
	*CHACHA*) k=chacha20 ;; *CCM-8) k=aes128ccm8 ;; *CCM) k=aes128ccm ;;
	esac
	if [ $((i % 2)) = 0 ]; then l1=openssl l2=gnutls; else l1=gnutls l2=openssl; fi
	i=$((i + 1))
	vs_wolf_client "wolfSSL example client -> dtls-cat ($l1) server, $c, short message exchange only" \
		"$c" "--lib $l1 $CERT --cipher $k"
	vs_wolf_server "dtls-cat ($l2) client -> wolfSSL example server, $c, short message exchange only" \
		"$c" "--lib $l2 --cipher $k"
done
if [ -n "$WOLF" ] && ! (cd "$WOLF" && ./client -e) 2>/dev/null | tr ':' '\n' | grep -qx 'PSK-AES128-CCM-8'; then
	skip "wolfSSL example client/server <-> dtls-cat, PSK-AES128-CCM-8" \
		"this wolfSSL build has no PSK-AES128-CCM-8 (not in client -e)"
elif [ -n "$WOLF" ]; then
	skip "wolfSSL example client/server <-> dtls-cat, PSK-AES128-CCM-8" \
		"listed by this wolfSSL build, but no PSK case is written yet"
fi

# ---- DTLS 1.3: wolfSSL example client/server <-> dtls-cat --dtls13
w13_missing && echo "# no wolfSSL with DTLS 1.3 in $W13SRC: the DTLS 1.3 cases fail"
for c in TLS13-AES128-GCM-SHA256 TLS13-AES256-GCM-SHA384 TLS13-CHACHA20-POLY1305-SHA256 \
	 TLS13-AES128-CCM-SHA256 TLS13-AES128-CCM-8-SHA256; do
	vs_wolfx_client 1.3 "DTLS 1.3: wolfSSL example client -> dtls-cat server, $c" "$c" ""
	vs_wolfx_server 1.3 "DTLS 1.3: dtls-cat client -> wolfSSL example server, $c" "$c" ""
done
vs_wolfx_client 1.3 "DTLS 1.3: wolfSSL client updates its keys (KeyUpdate, update_requested) before its data -> dtls-cat server" \
	TLS13-AES128-GCM-SHA256 "" "-I" "3 4"
vs_wolfx_server 1.3 "DTLS 1.3: wolfSSL server updates its keys before its reply -> dtls-cat client" \
	TLS13-CHACHA20-POLY1305-SHA256 "" "-U" "3 4"
vs_wolfx_server 1.3 "DTLS 1.3: dtls-cat client updates its keys before each record (and asks the server to) -> wolfSSL server" \
	TLS13-AES128-GCM-SHA256 "--key-update 1" "" "4 4"
lost_flight "DTLS 1.3: the server's ACK of the client's Finished lost: dtls-cat server <- dtls-cat client, AES-128-GCM" \
	"--dtls13 $CERT --cipher aes128gcm" "--dtls13 --cipher aes128gcm --hs-timeout 200" dtls13
lost_flight "DTLS 1.3: the server's ACK of the client's Finished lost: dtls-cat server <- dtls-cat client, ChaCha20-Poly1305" \
	"--dtls13 $CERT --cipher chacha20" "--dtls13 --cipher chacha20 --hs-timeout 200" dtls13
cat_pair "DTLS 1.3: dtls-cat server <- dtls-cat client, AES-128-GCM, key update every 40 records both ways" "->" \
	"--dtls13 $CERT --cipher aes128gcm --key-update 40" "--dtls13 --cipher aes128gcm --key-update 40"
cat_pair "DTLS 1.3: dtls-cat server -> dtls-cat client, AES-128-CCM-8, key update every 25 records" "<-" \
	"--dtls13 $CERT --cipher aes128ccm8 --key-update 25" "--dtls13 --cipher aes128ccm8"

# ---- DTLS 1.3 with connection IDs (RFC 9147 9): the wolfSSL examples'
# --cid STRING against dtls-cat --cid HEX, of other lengths each way, the
# kernel's socket holding them; then 1 MiB each way between two dtls-cat.
# wolfSSL itself (DTLS_CID_MAX_SIZE 255) fails beyond some lengths in DTLS
# 1.3, whoever the peer (two of its examples alike): 5.9.2's handshake
# hangs once the CIDs are over about 110 bytes, 5.7.2's over about 100,
# and 5.7.2's application data writes fail when the CID they carry is over
# 15 bytes (AES) or 7 (ChaCha20).  The examples' CIDs stay within that.
W13C="DTLS 1.3, connection IDs:"
CID64=$(printf 'kdtls-wolfssl-cid-%03d.' $(seq 1 5) | head -c 64)
vs_wolfx_client 1.3 "$W13C wolfSSL example client -> dtls-cat server, TLS13-AES128-GCM-SHA256, ours 5 bytes, its 7" \
	TLS13-AES128-GCM-SHA256 "--cid c0ffee42a5" "--cid wolfcid"
vs_wolfx_server 1.3 "$W13C dtls-cat client -> wolfSSL example server, TLS13-CHACHA20-POLY1305-SHA256, ours 2 bytes, its 21" \
	TLS13-CHACHA20-POLY1305-SHA256 "--cid 5eed" "--cid kdtls-interop-server"
vs_wolfx_client 1.3 "$W13C wolfSSL example client -> dtls-cat server, TLS13-AES256-GCM-SHA384, ours 15 bytes, its 64" \
	TLS13-AES256-GCM-SHA384 "--cid $(printf '%02x' $(seq 16 30) | tr -d '\n')" "--cid $CID64"
vs_wolfx_server 1.3 "$W13C dtls-cat client -> wolfSSL example server, TLS13-AES128-CCM-SHA256, ours 1 byte, its empty" \
	TLS13-AES128-CCM-SHA256 "--cid 77" "--cid"
vs_wolfx_client 1.3 "$W13C wolfSSL client updates its keys before its data -> dtls-cat server, ours 3 bytes, its 6" \
	TLS13-AES128-GCM-SHA256 "--cid 0a0b0c" "-I --cid ku-cid" "3 4"
vs_wolfx_server 1.3 "$W13C wolfSSL server updates its keys before its reply -> dtls-cat client, ours 5 bytes, its 4" \
	TLS13-AES128-CCM-8-SHA256 "--cid 1234567890" "-U --cid srvk" "3 4"
cat_pair "$W13C dtls-cat server <- dtls-cat client, 1 MiB, AES-128-GCM, CIDs of 8 and 3 bytes" "->" \
	"--dtls13 $CERT --cipher aes128gcm --cid 0102030405060708" "--dtls13 --cipher aes128gcm --cid a1b2c3"
cat_pair "$W13C dtls-cat server -> dtls-cat client, 1 MiB, ChaCha20-Poly1305, key update every 40 records, CIDs of 1 and 5 bytes" "<-" \
	"--dtls13 $CERT --cipher chacha20 --cid 99 --key-update 40" "--dtls13 --cipher chacha20 --cid 4455667788"
lost_flight "$W13C the server's ACK of the client's Finished lost: dtls-cat server <- dtls-cat client, AES-128-GCM" \
	"--dtls13 $CERT --cipher aes128gcm --cid 5151" "--dtls13 --cipher aes128gcm --cid 616263 --hs-timeout 200" dtls13

# DTLS 1.2 connection IDs (RFC 9146) need a wolfSSL that has them there:
# 5.9 does, Debian 13's 5.7 (tools/setup's fallback) has them in DTLS 1.3
# only, and dtls-cat says so at once: those cases are skipped then.
W12CID_NO=""
if w13_missing; then
	W12CID_NO="no wolfSSL in $W13SRC or no dtls-cat --lib wolfssl"
elif timeout 5 "$DC" --lib wolfssl --cid 01 127.0.0.1 9 2>&1 | grep -q 'no connection IDs in DTLS 1.2'; then
	W12CID_NO="this wolfSSL ($(sed -n 's/^#define LIBWOLFSSL_VERSION_STRING "\(.*\)"/\1/p' \
		"$W13SRC/wolfssl/version.h")) has connection IDs in DTLS 1.3 only"
fi
w12cid() {	# FUNC [1.2] DESC ARGS...: one of those cases, or its skip
	local desc=$2
	[ "$2" != 1.2 ] || desc=$3
	skip_case "$desc" && return
	[ -z "$W12CID_NO" ] || { skip "$desc" "$W12CID_NO"; return; }
	MB_LIB=wolfssl "$@"
}

# ---- DTLS 1.2 with the wolfSSL backend (dtls-cat --lib wolfssl, tools/setup's
# wolfSSL): its example client/server in DTLS 1.2, OpenSSL, GnuTLS
W12="wolfSSL 1.2 backend:"
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
	 ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES128-CCM-8; do
	vs_wolfx_client 1.2 "$W12 wolfSSL example client -> dtls-cat (wolfssl) server, $c" "$c" ""
	vs_wolfx_server 1.2 "$W12 dtls-cat (wolfssl) client -> wolfSSL example server, $c" "$c" ""
done
# connection IDs: the examples' own RFC 9146 records against the kernel's,
# every suite, lengths from empty to 255 bytes, both roles.  wolfSSL 5.9.2
# sends no close_notify once the CID its records carry (ours) is over 72
# bytes (two of its examples alike; data records go out): ours stops there.
W12C="$W12 connection IDs:"
CID255=$(printf 'kdtls-wolfssl-tls12-cid-%03d.' $(seq 1 10) | head -c 255)
w12cid vs_wolfx_client 1.2 "$W12C wolfSSL example client -> dtls-cat (wolfssl) server, ECDHE-ECDSA-AES128-GCM-SHA256, ours 5 bytes, its 7" \
	ECDHE-ECDSA-AES128-GCM-SHA256 "--cid c0ffee42a5" "--cid wolfcid"
w12cid vs_wolfx_server 1.2 "$W12C dtls-cat (wolfssl) client -> wolfSSL example server, ECDHE-ECDSA-CHACHA20-POLY1305, ours 2 bytes, its 21" \
	ECDHE-ECDSA-CHACHA20-POLY1305 "--cid 5eed" "--cid kdtls-interop-server"
w12cid vs_wolfx_client 1.2 "$W12C wolfSSL example client -> dtls-cat (wolfssl) server, ECDHE-ECDSA-AES256-GCM-SHA384, ours 72 bytes, its 255" \
	ECDHE-ECDSA-AES256-GCM-SHA384 "--cid $(printf '%02x' $(seq 1 72) | tr -d '\n')" "--cid $CID255"
w12cid vs_wolfx_server 1.2 "$W12C dtls-cat (wolfssl) client -> wolfSSL example server, ECDHE-ECDSA-AES128-CCM, ours 1 byte, its empty" \
	ECDHE-ECDSA-AES128-CCM "--cid 77" "--cid"
w12cid vs_wolfx_client 1.2 "$W12C wolfSSL example client -> dtls-cat (wolfssl) server, ECDHE-ECDSA-AES128-CCM-8, ours 15 bytes, its 64" \
	ECDHE-ECDSA-AES128-CCM-8 "--cid $(printf '%02x' $(seq 16 30) | tr -d '\n')" "--cid $CID64"
# OpenSSL's name for a suite, dtls-cat's, and the s_server key
for s in "ECDHE-ECDSA-AES128-GCM-SHA256 aes128gcm EC" "ECDHE-ECDSA-AES256-GCM-SHA384 aes256gcm EC" \
	 "ECDHE-RSA-CHACHA20-POLY1305 chacha20 RSA" "ECDHE-ECDSA-AES128-CCM aes128ccm EC" \
	 "ECDHE-ECDSA-AES128-CCM8 aes128ccm8 EC"; do
	read -r suite k kt <<< "$s"
	if [ "$kt" = RSA ]; then sk=$RSA_S dk=$RSACERT; else sk=$EC_S dk=$CERT; fi
	vs_s_server "$W12 dtls-cat (wolfssl) client -> openssl s_server, $suite" \
		"$sk -cipher $suite" "--lib wolfssl --cipher $k"
	vs_s_client "$W12 openssl s_client -> dtls-cat (wolfssl) server, $suite" \
		"--lib wolfssl $dk --cipher $k" "-cipher $suite"
done
cat_pair "$W12 dtls-cat wolfssl server <- gnutls client, aes128gcm" "->" \
	"--lib wolfssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm"
cat_pair "$W12 dtls-cat openssl server -> wolfssl client, chacha20" "<-" \
	"--lib openssl $CERT --cipher chacha20" "--lib wolfssl --cipher chacha20"
early "$W12 early records: late wolfssl server (queued), openssl client sends at once" server \
	"--lib wolfssl $CERT --handoff-delay 500" "--lib openssl" 0
early "$W12 early records: late wolfssl client (queued), gnutls server sends at once" client \
	"--lib wolfssl --handoff-delay 500" "--lib gnutls $CERT" 0
lost_flight "$W12 lost final flight: dtls-cat wolfssl server <- openssl client, aes128gcm" \
	"--lib wolfssl $CERT --cipher aes128gcm" "--lib openssl --cipher aes128gcm"
lost_flight "$W12 lost final flight: dtls-cat wolfssl server <- gnutls client, chacha20" \
	"--lib wolfssl $CERT --cipher chacha20" "--lib gnutls --cipher chacha20"
lost_flight "$W12 lost final flight: dtls-cat wolfssl server <- wolfssl client, aes128ccm8" \
	"--lib wolfssl $CERT --cipher aes128ccm8" "--lib wolfssl --cipher aes128ccm8 --hs-timeout 200"

# ---------------------------------------------------------------------------
# mbed TLS 3.6 (tools/setup's build, Debian 13's source): its unmodified
# example programs programs/ssl/ssl_server2 and ssl_client2 in DTLS 1.2
# against dtls-cat --lib mbedtls (mbed TLS handshake, handoff through
# libdtls_offload_mbedtls), every suite the kernel has, with and without
# connection IDs (RFC 9146), and dtls-cat --lib mbedtls against OpenSSL.
# One short message each way: ssl_client2 sends an HTTP GET and prints one
# reply; ssl_server2 prints one message, answers with an HTML page that
# names the suite, sends close_notify and waits for the next client.
MB=${KDTLS_CACHE:-/var/cache/kdtls}/mbedtls/install/bin
mb_missing() {
	# (the message names the call only in a dtls-cat built with mbed TLS)
	[ -x "$MB/ssl_server2" ] && [ -x "$MB/ssl_client2" ] &&
		grep -qa 'dtls_offload_mbedtls_prepare: ' "$DC" && return 1
	return 0
}
MB_ERR="no mbed TLS programs in $MB or no dtls-cat --lib mbedtls (run tools/setup, then make)"
# a case takes about a second; a peer left waiting (a failed handoff) is
# ended sooner than by CASE_TIMEOUT
MBTMO=$((TMO < 30 ? TMO : 30))

# mb_suite SUITE [OUR_CID THEIR_CID]: ssl_server2's credentials for SUITE
# (MB_KEY), ssl_client2's (MB_CKEY: a PSK only) and dtls-cat's with its
# --cipher (MB_DC); connection IDs, hex ("" for an empty one), none without
# the two arguments: dtls-cat's --cid (MB_DC_CID), the program's options
# (MB_CID), both CIDs (MB_OURS, MB_THEIRS)
mb_suite() {
	local k
	MB_DC_CID=() MB_CID=() MB_OURS=${2-} MB_THEIRS=${3-}
	if [ $# -ge 3 ]; then
		MB_DC_CID=(--cid "$2") MB_CID=(cid=1 "cid_val=$3")
	fi
	case $1 in
	*AES-128-GCM*) k=aes128gcm ;; *AES-256-GCM*) k=aes256gcm ;;
	*CHACHA20*) k=chacha20 ;; *CCM-8) k=aes128ccm8 ;; *CCM) k=aes128ccm ;;
	esac
	case $1 in
	TLS-PSK-*) MB_KEY="psk=$PSK psk_identity=$PSKID" MB_DC="$PSKOPT --cipher $k"
		MB_CKEY=$MB_KEY; return ;;
	TLS-ECDHE-RSA-*) MB_KEY="crt_file=$T/rsa.crt key_file=$T/rsa.key" MB_DC="$RSACERT --cipher $k" ;;
	*) MB_KEY="crt_file=$T/ec.crt key_file=$T/ec.key" MB_DC="$CERT --cipher $k" ;;
	esac
	MB_CKEY=""
}

# mb_cids DCLOG PEERLOG OURS THEIRS: the connection IDs both sides use,
# hex or "" for none: dtls-cat's -v line, and the peer's view of ours
mb_cids() {
	dc_cids "$1" "$3" "$4"
	if [ -n "$3" ]; then
		grep -q "Peer CID (length $(( ${#3} / 2 )) Bytes): $(echo "$3" | sed 's/../& /g')" "$2" ||
			why "the mbed TLS program does not report our CID $3"
	fi
}

# mb_begin DESC SUITE [OUR_CID THEIR_CID]: false if the case is not run
# (ONLY, or no mbed TLS: a failure); else its port and mb_suite's variables
mb_begin() {
	skip_case "$1" && return 1
	mb_missing && { not_ok "$1: $MB_ERR"; return 1; }
	mb_suite "${@:2}"
	PORT=$((PORT + 1)); snap
}

# mb_end DESC DTLS-CAT PEER PEER_GOT DTLS_CAT_GOT: the verdict; the logs are
# $T/DTLS-CAT.err and $T/PEER.err (the program's output, $T/mb.out, ends
# there), what each received is matched against a pattern
mb_end() {
	grep -q -- "$4" "$T/mb.out" || why "the mbed TLS program did not print '$4'"
	grep -q -- "$5" "$T/out" ||
		why "dtls-cat got '$(head -c 200 "$T/out" | tr -c '[:print:]' '.')'"
	need_cn "$T/$2.err"
	mb_cids "$T/$2.err" "$T/mb.out" "$MB_OURS" "$MB_THEIRS"
	tail -n 15 "$T/mb.out" > "$T/$3.err"
	counters "$1" 1 1
}

# dtls-cat --lib mbedtls (--lib $MB_LIB) client -> ssl_server2.
# vs_mb_server DESC SUITE [OUR_CID THEIR_CID] (hex; "" for an empty one; no
# argument: no CIDs)
MB_LIB=mbedtls
vs_mb_server() {
	local desc=$1 suite=$2
	mb_begin "$@" || return
	timeout $MBTMO "$MB/ssl_server2" dtls=1 server_addr=127.0.0.1 server_port=$PORT \
		$MB_KEY force_ciphersuite="$suite" "${MB_CID[@]}" > "$T/mb.out" 2>&1 &
	local spid=$!
	wait_port $PORT
	# our message, then close_notify: ssl_server2 reads one record
	printf 'kdtls hello %s\n' $PORT | timeout $TMO "${PIN[@]}" $DC -v -q 5 \
		--lib $MB_LIB $MB_DC "${MB_DC_CID[@]}" 127.0.0.1 $PORT > "$T/out" 2> "$T/cli.err"
	local cst=$?
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	[ $cst = 0 ] || why "dtls-cat exit status $cst"
	mb_end "$desc" cli srv "kdtls hello $PORT" "Successful connection using: $suite"
}

# ssl_client2 -> dtls-cat --lib mbedtls server.  vs_mb_client DESC SUITE
# [OUR_CID THEIR_CID]: as vs_mb_server.  dtls-cat replies at once (the
# record waits for ssl_client2's read) and closes; ssl_client2 prints the
# reply, sends close_notify and exits.
vs_mb_client() {
	local desc=$1 suite=$2
	mb_begin "$@" || return
	printf 'kdtls reply %s\n' $PORT | timeout $TMO "${PIN[@]}" $DC -v -l -q 20 \
		--lib $MB_LIB $MB_DC "${MB_DC_CID[@]}" 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $MBTMO "$MB/ssl_client2" dtls=1 server_addr=127.0.0.1 server_port=$PORT \
		auth_mode=none $MB_CKEY force_ciphersuite="$suite" "${MB_CID[@]}" \
		> "$T/mb.out" 2>&1
	local cst=$?
	wait $spid; local sst=$?
	[ $cst = 0 ] || why "ssl_client2 exit status $cst"
	[ $sst = 0 ] || why "dtls-cat exit status $sst"
	mb_end "$desc" srv cli "kdtls reply $PORT" "^GET / HTTP/1.0"
}

MBT="mbed TLS:"
mb_missing && echo "# $MB_ERR: the mbed TLS cases fail"
for c in TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384 \
	 TLS-ECDHE-ECDSA-WITH-AES-128-CCM TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 \
	 TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256; do
	vs_mb_server "$MBT dtls-cat (mbedtls) client -> ssl_server2, $c" "$c"
	vs_mb_client "$MBT ssl_client2 -> dtls-cat (mbedtls) server, $c" "$c"
	vs_mb_server "$MBT dtls-cat (mbedtls) client -> ssl_server2, $c, connection IDs" \
		"$c" 0102030405 a1b2c3
	vs_mb_client "$MBT ssl_client2 -> dtls-cat (mbedtls) server, $c, connection IDs" \
		"$c" c0ffee 0badf00d5eed
done
vs_mb_server "$MBT dtls-cat (mbedtls) client -> ssl_server2, TLS-PSK-WITH-AES-128-CCM-8, only ours a connection ID" \
	TLS-PSK-WITH-AES-128-CCM-8 77 ""
vs_mb_client "$MBT ssl_client2 -> dtls-cat (mbedtls) server, TLS-PSK-WITH-CHACHA20-POLY1305-SHA256, only the peer's a connection ID" \
	TLS-PSK-WITH-CHACHA20-POLY1305-SHA256 "" 0123456789abcdef
# the backend against another implementation, 1 MiB each way
vs_s_server "$MBT dtls-cat (mbedtls) client -> openssl s_server, ECDHE-ECDSA-AES256-GCM-SHA384" \
	"$EC_S -cipher ECDHE-ECDSA-AES256-GCM-SHA384" "--lib mbedtls --cipher aes256gcm"
vs_s_client "$MBT openssl s_client -> dtls-cat (mbedtls) server, ECDHE-RSA-CHACHA20-POLY1305" \
	"--lib mbedtls $RSACERT --cipher chacha20" "-cipher ECDHE-RSA-CHACHA20-POLY1305"
cat_pair "$MBT dtls-cat mbedtls server -> gnutls client, aes128ccm8, psk" "<-" \
	"--lib mbedtls $PSKOPT --cipher aes128ccm8" "--lib gnutls $PSKOPT --cipher aes128ccm8"
lost_flight "$MBT lost final flight: dtls-cat mbedtls server <- openssl client, aes128gcm" \
	"--lib mbedtls $CERT --cipher aes128gcm" "--lib openssl --cipher aes128gcm"
# connection IDs under bulk data, and in the Finished resent through the kernel
cat_pair "$MBT dtls-cat mbedtls server <- mbedtls client, aes256gcm, connection IDs" "->" \
	"--lib mbedtls $CERT --cipher aes256gcm --cid 11223344" "--lib mbedtls --cipher aes256gcm --cid 55"
lost_flight "$MBT lost final flight, connection IDs: dtls-cat mbedtls server <- mbedtls client, chacha20" \
	"--lib mbedtls $CERT --cipher chacha20 --cid a0a1" "--lib mbedtls --cipher chacha20 --cid b0b1b2 --hs-timeout 200"

# DTLS 1.2 connection IDs through the wolfSSL backend against mbed TLS
w12cid vs_mb_server "$W12 connection IDs: dtls-cat (wolfssl) client -> ssl_server2, TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256, ours 5 bytes, its 3" \
	TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 0102030405 a1b2c3
w12cid vs_mb_client "$W12 connection IDs: ssl_client2 -> dtls-cat (wolfssl) server, TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8, ours 3 bytes, its 6" \
	TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 c0ffee 0badf00d5eed
w12cid cat_pair "$W12 connection IDs: dtls-cat wolfssl server <- mbedtls client, 1 MiB, aes256gcm, CIDs of 4 and 1 bytes" "->" \
	"--lib wolfssl $CERT --cipher aes256gcm --cid 11223344" "--lib mbedtls --cipher aes256gcm --cid 55"

echo "1..$N"
echo "# interop.sh took $(( $(date +%s) - START )) s; $SKIPPED skipped"
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
