#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/interop.sh - dtls-cat (kernel record layer) against itself,
# OpenSSL's and GnuTLS's command line tools.  Runs inside the test guest with
# kernel/dtls.ko loaded, from the top of the repository:
#
#   tools/vm-run -- sh -c 'insmod kernel/dtls.ko && userspace/tests/interop.sh'
#
# Every case moves 1 MiB from /dev/urandom over loopback and checks its
# SHA-256 on the far side, the exit status of each dtls-cat, and that the
# kernel's DtlsTxRecords / DtlsRxRecords counters rose by at least the number
# of records that carried the data.  Prints TAP; exits 1 if a case failed.
#
# Environment: DTLS_CAT (default userspace/dtls-cat), PORT_BASE (20000),
# CASE_TIMEOUT (seconds, 90), ONLY (regex on case descriptions),

set -u

DC=${DTLS_CAT:-userspace/dtls-cat}
PORT=${PORT_BASE:-20000}
TMO=${CASE_TIMEOUT:-90}
ONLY=${ONLY:-}
PSK=00112233445566778899aabbccddeeff
PSKID=Client_identity
SIZE=1048576
REC=1200
NREC=$(( (SIZE + REC - 1) / REC ))	# records dtls-cat needs for the data
PACE=500				# usec between records to slow receivers

T=$(mktemp -d /tmp/interop.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=0 PASSED=0 FAILED=0

ok() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
	shift
	local f
	for f in "$@"; do
		[ -s "$f" ] && sed -e 's/^/#   /' "$f" | head -n 15
	done
}

stat_get() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/net/dtls_stat
}

wait_port() {	# wait until something listens on UDP port $1
	local i
	for i in $(seq 1 100); do
		ss -Huln "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
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

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=test -days 2 -keyout "$T/ec.key" -out "$T/ec.crt" \
	>/dev/null 2>&1 || { echo "Bail out! cannot make a test certificate"; exit 1; }
head -c $SIZE /dev/urandom > "$T/in"
mkfifo "$T/fifo" && exec 3<> "$T/fifo"
SUM=$(sha256sum < "$T/in" | cut -d' ' -f1)
CERT="--cert $T/ec.crt --key $T/ec.key"
PSKOPT="--psk $PSK --psk-identity $PSKID"

# Same bytes in another order?  (UDP may reorder; DTLS does not reorder back)
order_hint() {
	python3 - "$T/in" "$1" <<'PY' 2>/dev/null
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
if len(a) == len(b) and sorted(a[i:i + 1200] for i in range(0, len(a), 1200)) == \
        sorted(b[i:i + 1200] for i in range(0, len(b), 1200)):
    print(", same 1200-byte chunks reordered", end='')
elif len(a) == len(b) and sorted(a[i:i + 16384] for i in range(0, len(a), 16384)) == \
        sorted(b[i:i + 16384] for i in range(0, len(b), 16384)):
    print(", same 16 KiB chunks reordered", end='')
PY
}

skip_case() { [ -n "$ONLY" ] && ! [[ "$1" =~ $ONLY ]]; }

# check DESC OUTFILE MIN_TX MIN_RX STATUS... -- checks shared by all cases
# (the counters were sampled into TX0/RX0 before the case started)
check() {
	local desc=$1 out=$2 mintx=$3 minrx=$4 st why=""
	shift 4
	for st in "$@"; do
		[ "$st" = 0 ] || why="$why exit status $st;"
	done
	local sum
	sum=$(sha256sum < "$out" | cut -d' ' -f1)
	if [ "$sum" != "$SUM" ]; then
		why="$why sha256 mismatch ($(stat -c %s "$out") of $SIZE bytes$(order_hint "$out"));"
	fi
	local dtx=$(( $(stat_get DtlsTxRecords) - TX0 ))
	local drx=$(( $(stat_get DtlsRxRecords) - RX0 ))
	[ $dtx -ge "$mintx" ] || why="$why DtlsTxRecords +$dtx < $mintx;"
	[ $drx -ge "$minrx" ] || why="$why DtlsRxRecords +$drx < $minrx;"
	if [ -z "$why" ]; then
		ok "$desc (tx +$dtx, rx +$drx)"
	else
		not_ok "$desc:$why" "$T/srv.err" "$T/cli.err"
	fi
}

snap() { TX0=$(stat_get DtlsTxRecords); RX0=$(stat_get DtlsRxRecords); rm -f "$T"/*.err "$T/out"; }

# dtls-cat server <- dtls-cat client, client sends
# cat_pair DESC "SERVER OPTS" "CLIENT OPTS" [-6]
cat_pair() {
	local desc=$1 sopt=$2 copt=$3 fam=${4:-} host=127.0.0.1
	skip_case "$desc" && return
	[ "$fam" = -6 ] && host=::1
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -l $fam -d $sopt $host $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO $DC $fam $copt $host $PORT < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	check "$desc" "$T/out" $NREC $NREC $sst $cst
}

# dtls-cat server sends to dtls-cat client (-d)
cat_pair_rev() {
	local desc=$1 sopt=$2 copt=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -l $sopt 127.0.0.1 $PORT < "$T/in" > /dev/null 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO $DC -d $copt 127.0.0.1 $PORT > "$T/out" 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	check "$desc" "$T/out" $NREC $NREC $sst $cst
}

# dtls-cat client -> openssl s_server; s_server's stdout is checked
vs_s_server() {
	local desc=$1 sargs=$2 copt=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	# stdin held open (and idle) through a FIFO
	timeout $TMO openssl s_server -dtls1_2 -quiet -accept 127.0.0.1:$PORT \
		$sargs < "$T/fifo" > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO $DC --delay $PACE $copt 127.0.0.1 $PORT < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	sleep 1
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	check "$desc" "$T/out" $NREC 0 $cst
}

# openssl s_client -> dtls-cat server; dtls-cat's stdout is checked
vs_s_client() {
	local desc=$1 sopt=$2 cargs=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -l -d $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	timeout $TMO openssl s_client -dtls1_2 -quiet -no_ign_eof -nocommands \
		-connect 127.0.0.1:$PORT $cargs < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	# s_client sends up to 16 KiB per record
	check "$desc" "$T/out" 0 $((SIZE / 16384)) $sst $cst
}

# dtls-cat client <-> gnutls-serv --echo; the echo on dtls-cat's stdout is checked
vs_gnutls_serv() {
	local desc=$1 prio=$2 copt=$3
	skip_case "$desc" && return
	# gnutls-serv listens on [::] too and calls setsockopt(SOL_IP, ...)
	# on that IPv6 socket: a path through both wrapped UDP protos.
	PORT=$((PORT + 1)); snap
	timeout $TMO gnutls-serv --udp --echo -p $PORT --x509certfile "$T/ec.crt" \
		--x509keyfile "$T/ec.key" --priority "$prio" > "$T/srv.err" 2>&1 &
	local spid=$!
	wait_port $PORT
	timeout $TMO $DC -q 5 --delay $PACE $copt 127.0.0.1 $PORT < "$T/in" > "$T/out" 2> "$T/cli.err"
	local cst=$?
	kill $spid 2>/dev/null; wait $spid 2>/dev/null
	: > "$T/srv.err.keep"; tail -n 5 "$T/srv.err" > "$T/srv.err.keep"; mv "$T/srv.err.keep" "$T/srv.err"
	check "$desc" "$T/out" $NREC $NREC $cst
}

# gnutls-cli -> dtls-cat server; dtls-cat's stdout is checked
vs_gnutls_cli() {
	local desc=$1 sopt=$2 prio=$3
	skip_case "$desc" && return
	PORT=$((PORT + 1)); snap
	timeout $TMO $DC -l -d $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	# its DTLS MTU must allow the 16 KiB it reads from stdin at once
	timeout $TMO gnutls-cli --udp --mtu 17000 --insecure -p $PORT \
		--priority "$prio" 127.0.0.1 < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	check "$desc" "$T/out" 0 $((SIZE / 16384)) $sst $cst
}

# The server's final flight (CCS + Finished) is lost once between two
# dtls-cat; the offloaded server must resend it through the kernel (the
# CCS as an epoch-0 plaintext record) when the client retransmits.
lost_flight() {
	local desc=$1 sopt=$2 copt=$3 ppid
	skip_case "$desc" && return
	PORT=$((PORT + 2)); snap
	timeout $TMO $DC -l -d -v $sopt 127.0.0.1 $PORT > "$T/out" 2> "$T/srv.err" &
	local spid=$!
	wait_port $PORT
	python3 userspace/tests/dropproxy.py $((PORT + 1)) $PORT $TMO 2> "$T/proxy.err" &
	ppid=$!
	wait_port $((PORT + 1))
	timeout $TMO $DC --delay $PACE $copt 127.0.0.1 $((PORT + 1)) < "$T/in" > /dev/null 2> "$T/cli.err"
	local cst=$?
	wait $spid
	local sst=$?
	kill $ppid 2>/dev/null; wait $ppid 2>/dev/null
	local rt
	rt=$(sed -n 's/.*retransmissions of our last flight: \([0-9]*\).*/\1/p' "$T/srv.err")
	if [ "${rt:-0}" -lt 1 ]; then
		not_ok "$desc: the server did not retransmit its last flight (${rt:-?})" "$T/srv.err" "$T/cli.err"
		return
	fi
	check "$desc, $rt retransmission(s)" "$T/out" $NREC $NREC $sst $cst
}

GP='NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL'

lost_flight "lost final flight: dtls-cat openssl server <- gnutls client, aes128gcm" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm"
lost_flight "lost final flight: dtls-cat gnutls server <- openssl client, chacha20" \
	"--lib gnutls $CERT --cipher chacha20" "--lib openssl --cipher chacha20"
lost_flight "lost final flight: dtls-cat openssl server <- openssl client, aes128ccm8 psk" \
	"--lib openssl $PSKOPT --cipher aes128ccm8" "--lib openssl $PSKOPT --cipher aes128ccm8"
lost_flight "lost final flight: dtls-cat gnutls server <- gnutls client, aes256gcm" \
	"--lib gnutls $CERT --cipher aes256gcm" "--lib gnutls --cipher aes256gcm"

# ---- dtls-cat <-> dtls-cat, both offloaded, OpenSSL on one side, GnuTLS on the other
for c in aes128gcm aes256gcm chacha20; do
	cat_pair "dtls-cat openssl server <- gnutls client, $c, cert" \
		"--lib openssl $CERT --cipher $c" "--lib gnutls --cipher $c"
	cat_pair "dtls-cat gnutls server <- openssl client, $c, cert" \
		"--lib gnutls $CERT --cipher $c" "--lib openssl --cipher $c"
done
for c in aes128ccm aes128ccm8; do
	cat_pair "dtls-cat openssl server <- gnutls client, $c, psk" \
		"--lib openssl $PSKOPT --cipher $c" "--lib gnutls $PSKOPT --cipher $c"
	cat_pair "dtls-cat gnutls server <- openssl client, $c, psk" \
		"--lib gnutls $PSKOPT --cipher $c" "--lib openssl $PSKOPT --cipher $c"
done
cat_pair "dtls-cat openssl <- openssl, IPv6, aes128gcm" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib openssl --cipher aes128gcm" -6
cat_pair "dtls-cat gnutls <- gnutls, IPv6, chacha20" \
	"--lib gnutls $CERT --cipher chacha20" "--lib gnutls --cipher chacha20" -6
cat_pair_rev "dtls-cat openssl server -> gnutls client, aes128gcm" \
	"--lib openssl $CERT --cipher aes128gcm" "--lib gnutls --cipher aes128gcm"
cat_pair_rev "dtls-cat gnutls server -> openssl client, chacha20" \
	"--lib gnutls $CERT --cipher chacha20" "--lib openssl --cipher chacha20"

# ---- against unmodified tools
vs_s_server "dtls-cat (openssl) -> openssl s_server, ECDHE-ECDSA-AES128-GCM-SHA256" \
	"-cert $T/ec.crt -key $T/ec.key -cipher ECDHE-ECDSA-AES128-GCM-SHA256" "--lib openssl"
vs_s_server "dtls-cat (gnutls) -> openssl s_server, ECDHE-ECDSA-CHACHA20-POLY1305" \
	"-cert $T/ec.crt -key $T/ec.key -cipher ECDHE-ECDSA-CHACHA20-POLY1305" "--lib gnutls"
vs_s_server "dtls-cat (gnutls) -> openssl s_server, PSK-AES128-CCM8" \
	"-nocert -psk $PSK -psk_identity $PSKID -cipher PSK-AES128-CCM8" "--lib gnutls $PSKOPT --cipher aes128ccm8"
vs_s_client "openssl s_client -> dtls-cat (openssl), ECDHE-ECDSA-AES256-GCM-SHA384" \
	"--lib openssl $CERT" "-cipher ECDHE-ECDSA-AES256-GCM-SHA384"
vs_s_client "openssl s_client -> dtls-cat (gnutls), ECDHE-ECDSA-CHACHA20-POLY1305" \
	"--lib gnutls $CERT" "-cipher ECDHE-ECDSA-CHACHA20-POLY1305"
vs_s_client "openssl s_client -> dtls-cat (openssl), PSK-AES128-CCM" \
	"--lib openssl $PSKOPT" "-psk $PSK -psk_identity $PSKID -cipher PSK-AES128-CCM"
vs_gnutls_serv "dtls-cat (gnutls) <-> gnutls-serv --echo, AES-128-GCM" \
	"$GP:+AES-128-GCM" "--lib gnutls"
vs_gnutls_serv "dtls-cat (openssl) <-> gnutls-serv --echo, CHACHA20-POLY1305" \
	"$GP:+CHACHA20-POLY1305" "--lib openssl"
vs_gnutls_serv "dtls-cat (openssl) <-> gnutls-serv --echo, AES-256-GCM" \
	"$GP:+AES-256-GCM" "--lib openssl"
vs_gnutls_cli "gnutls-cli -> dtls-cat (openssl), AES-128-GCM" \
	"--lib openssl $CERT" "$GP:+AES-128-GCM"
vs_gnutls_cli "gnutls-cli -> dtls-cat (gnutls), CHACHA20-POLY1305" \
	"--lib gnutls $CERT" "$GP:+CHACHA20-POLY1305"
vs_gnutls_cli "gnutls-cli -> dtls-cat (openssl), AES-128-CCM" \
	"--lib openssl $CERT" "$GP:+AES-128-CCM"

echo "1..$N"
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
