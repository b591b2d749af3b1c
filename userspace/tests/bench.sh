#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/bench.sh - the benchmark of `make bench`: one flow from a
# sender network namespace to a receiver namespace over veth, for each
# record size, cipher and mode, plus the cipher alone (kernel AEAD and
# OpenSSL EVP) on one CPU.
#
#   make bench                       # in the QEMU guest, report on the host
#   userspace/tests/bench.sh [-d SECS] [-o DIR]   # as root, where dtls.ko loads
#
# Run from the top of the repository.  Needs: kernel/dtls.ko (loaded with
# insmod if /proc/net/dtls_stat is missing), userspace/dtls-bench,
# userspace/tests/aead_bench/{aead_bench.ko,evp_bench} (make -C
# userspace/tests/aead_bench), ip, taskset, timeout.  At least 2 CPUs.
#
# Each network cell: dtls-bench -l in the receiver namespace pinned to
# CPU $RX_CPU, dtls-bench in the sender namespace pinned to CPU
# $TX_CPU, the sender sending records as fast as it can for SECS.  RPS on
# the receiver's veth steers the receive softirq (IP, UDP and, for kernel
# DTLS, the decryption) to the receiver's CPU, as a second machine would;
# without it veth runs the receive path on the sender's CPU.  Modes:
#
#   plain        UDP without DTLS (--plain), the ceiling of the socket path
#   plain-gso    the same with UDP GSO (16 records per send) and UDP_GRO
#   kdtls        kernel DTLS, one send()/recv() per record (handshake: OpenSSL)
#   kdtls-mmsg   kernel DTLS, sendmmsg/recvmmsg of 16 records
#   kdtls-gso    kernel DTLS, UDP_SEGMENT (16 records per send) and UDP_GRO
#   kdtls13      kernel DTLS 1.3, one send()/recv() per record (handshake:
#                wolfSSL; not in the default modes)
#   kdtls13-gso  kernel DTLS 1.3 with UDP GSO and UDP_GRO, as kdtls-gso
#   openssl      userspace DTLS, SSL_write/SSL_read (--no-offload)
#   gnutls       userspace DTLS, gnutls_record_send/recv (--no-offload)
#
# The receiver checks the length and contents of every record; lost =
# sent - received.  A sender that is faster than its receiver loses the
# difference, so for the modes in BENCH_PACED, at 1200-byte AES-128-GCM
# records (the cells of issue 5's targets), a "paced" cell follows: the
# same cell again with the sender held to the goodput just measured
# (dtls-bench --rate), which says whether the receiver keeps that rate
# without loss.  Cipher cells: aead_bench.ko with sync=1 (what the DTLS
# module allocates) and sync=0 (the best implementation), evp_bench.
#
# Output in DIR (default build/bench): results.tsv (one line per cell),
# logs/ (each cell's dtls-bench output), then bench_report.py writes table.txt
# and chart.png and prints the table and the targets (skipped with
# --no-report: make bench runs the report on the host).  Exit status 1 when
# a cell failed unexpectedly (a kernel refusing UDP GSO/GRO with EOPNOTSUPP
# is reported as "unsupported", not as a failure).
#
# Options and environment:
#   -d SECS (BENCH_SECS, 3)     duration of each network cell
#   -o DIR  (BENCH_OUT)         output directory
#   --no-report                 only results.tsv and logs
#   BENCH_SIZES   "64 256 1200 1400"
#   BENCH_CIPHERS "aes128gcm chacha20 aes128ccm8"
#   BENCH_MODES   "plain plain-gso kdtls kdtls-mmsg kdtls-gso openssl gnutls"
#   BENCH_AEAD_MS 1000          duration of each cipher-alone run
#   BENCH_BATCH   16            records per GSO send and per sendmmsg/recvmmsg
#   BENCH_BACKLOG 10000         net.core.netdev_max_backlog during the run
#   BENCH_PACED   "kdtls kdtls-gso openssl"  modes with a paced cell ("" none)
#   TX_CPU 0, RX_CPU 1; DTLS_KO, DTLS_BENCH, AEAD_KO, EVP_BENCH; PORT_BASE
#   DTLS_KO_ARGS  module parameters if DTLS_KO is loaded here (e.g.
#                 async_crypto=1: every AEAD behind pcrypt, on all CPUs)
#   BENCH_INSNS   in a QEMU guest running tools/qemu-insns: the file it
#                 writes (make bench passes /results/insns.log); each cell
#                 then also reports instructions per record on each CPU
# A bare number as the first argument is taken as SECS (older usage).

set -u

SECS=${BENCH_SECS:-3}
OUT=${BENCH_OUT:-build/bench}
REPORT=1
while [ $# -gt 0 ]; do
	case "$1" in
	-d) SECS=$2; shift 2 ;;
	-o) OUT=$2; shift 2 ;;
	--no-report) REPORT=0; shift ;;
	-h|--help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	[0-9]*) SECS=$1; shift ;;
	*) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

SIZES=${BENCH_SIZES:-64 256 1200 1400}
CIPHERS=${BENCH_CIPHERS:-aes128gcm chacha20 aes128ccm8}
MODES=${BENCH_MODES:-plain plain-gso kdtls kdtls-mmsg kdtls-gso openssl gnutls}
AEAD_MS=${BENCH_AEAD_MS:-1000}
BATCH=${BENCH_BATCH:-16}
PACED=${BENCH_PACED-kdtls kdtls-gso openssl}
TX_CPU=${TX_CPU:-0}
RX_CPU=${RX_CPU:-1}
DTLS_KO=${DTLS_KO:-kernel/dtls.ko}
DB=${DTLS_BENCH:-userspace/dtls-bench}
AEAD_KO=${AEAD_KO:-userspace/tests/aead_bench/aead_bench.ko}
EVP=${EVP_BENCH:-userspace/tests/aead_bench/evp_bench}
PORT=${PORT_BASE:-22000}
PSK="--psk 00112233445566778899aabbccddeeff"
# wolfSSL with DTLS 1.3 (tools/setup): its certificates for the kdtls13 cells
W13SRC=${KDTLS_CACHE:-/var/cache/kdtls}/wolfssl/src
NS_S=kdtls-bs$$
NS_R=kdtls-br$$
ADDR_S=10.198.0.1
ADDR_R=10.198.0.2
DEV_S=kbs0
DEV_R=kbr0
CELL_TMO=$((SECS + 60))
INSNS=${BENCH_INSNS:-}

die() { echo "bench.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, insmod)"
if [ "$(nproc)" -le "$RX_CPU" ] || [ "$(nproc)" -le "$TX_CPU" ]; then
	die "needs CPUs $TX_CPU and $RX_CPU (have $(nproc))"
fi
[ -x "$DB" ] || die "$DB not built: run make on the host"
[ -z "$INSNS" ] || [ -r "$INSNS" ] ||
	die "BENCH_INSNS=$INSNS: no such file (is tools/qemu-insns loaded?)"
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RES=$OUT/results.tsv
ERRORS=0

# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	[ -n "${BACKLOG0:-}" ] && echo "$BACKLOG0" > /proc/sys/net/core/netdev_max_backlog
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
}
trap cleanup EXIT

# The accelerated crypto drivers, as udev loads them on a real machine for
# the CPU's features (the guest has no udev); absent ones are skipped.
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
	 sha256_ssse3; do
	modprobe -q "$m" 2>/dev/null
done
if [ ! -r /proc/net/dtls_stat ]; then
	# shellcheck disable=SC2086 # DTLS_KO_ARGS is a list of parameters
	insmod "$DTLS_KO" ${DTLS_KO_ARGS:-} || die "cannot load $DTLS_KO"
fi
modprobe veth 2>/dev/null
if ! { ip netns add "$NS_S" && ip netns add "$NS_R" &&
	ip link add "$DEV_S" netns "$NS_S" type veth peer name "$DEV_R" netns "$NS_R" &&
	ip -n "$NS_S" addr add "$ADDR_S/24" dev "$DEV_S" &&
	ip -n "$NS_R" addr add "$ADDR_R/24" dev "$DEV_R" &&
	ip -n "$NS_S" link set "$DEV_S" up && ip -n "$NS_R" link set "$DEV_R" up &&
	ip -n "$NS_S" link set lo up && ip -n "$NS_R" link set lo up; }; then
	die "cannot set up the namespaces and the veth pair"
fi
# RPS: the receive path of the receiver's veth runs on the receiver's CPU
ip netns exec "$NS_R" sh -c "echo $(printf %x $((1 << RX_CPU))) > /sys/class/net/$DEV_R/queues/rx-0/rps_cpus" ||
	die "cannot set RPS on $DEV_R"
RPS=$(ip netns exec "$NS_R" cat "/sys/class/net/$DEV_R/queues/rx-0/rps_cpus")
# The per-CPU input queue that veth (with RPS) feeds: 1000 packets by
# default, which a vCPU stalled by the host for a few ms overflows; the
# drops are counted either way (backlog_drop)
BACKLOG0=$(cat /proc/sys/net/core/netdev_max_backlog)
BACKLOG=${BENCH_BACKLOG:-10000}
echo "$BACKLOG" > /proc/sys/net/core/netdev_max_backlog
# a process in the receiver's namespace: /proc/$HOLDER/net/ is that
# namespace's view, cheaper to read than through ip netns exec
ip netns exec "$NS_R" sleep 1000000 &
HOLDER=$!
sleep 0.5
RNET=/proc/$HOLDER/net

# counters: /proc/net/snmp Udp RcvbufErrors (receiver netns), the backlog
# drops of /proc/net/softnet_stat (all CPUs), DtlsRxDropped and
# DtlsRxDecryptError (receiver netns)
rcvbuf_err() {
	awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		$1 == "Udp:" { print $c["RcvbufErrors"] }' "$RNET/snmp"
}
backlog_drops() {	# second column of softnet_stat, hex, summed over CPUs
	local s=0 b rest
	while read -r _ b rest; do s=$((s + 0x$b)); done < /proc/net/softnet_stat
	echo $s
}
dtls_stat() { awk -v k="$1" '$1 == k { print $2 }' "$RNET/dtls_stat"; }

wait_port() {	# a UDP socket bound to port $1 in the receiver's namespace
	local _ hex
	hex=$(printf ':%04X ' "$1")
	for _ in $(seq 1 200); do
		grep -q "$hex" "$RNET/udp" && return 0
		sleep 0.05
	done
	return 1
}

# field NAME LINE: value of NAME=... in a BENCH line
field() { sed -n "s/.*[ ]$1=\\([^ ]*\\).*/\\1/p" <<< "$2"; }
# parse ARRAY LINE: the KEY=VALUE words of LINE into the associative ARRAY
parse() {
	local -n kv=$1
	local w
	for w in $2; do
		[[ $w == *=* ]] && kv[${w%%=*}]=${w#*=}
	done
}

COLS="kind mode lib cipher size status sent recv lost loss_pct secs goodput_MBps recs_per_s"
COLS="$COLS snd_utime snd_stime rcv_utime rcv_stime cpu0_busy cpu0_sys cpu0_softirq"
COLS="$COLS cpu1_busy cpu1_sys cpu1_softirq snd_recs_per_cpus rcv_recs_per_cpus"
COLS="$COLS rcvbuf_err backlog_drop dtls_rx_drop decrypt_err reorder end driver ns_per_record"
COLS="$COLS snd_insns_per_rec rcv_insns_per_rec insns_per_record insns_mark note"
echo "$COLS" | tr ' ' '\t' > "$RES"
# emit KEY=VALUE...: one results.tsv line in COLS order, "-" where unset
emit() {
	local line="" c v
	declare -A kv=()
	while [ $# -gt 0 ]; do kv[${1%%=*}]=${1#*=}; shift; done
	for c in $COLS; do
		v=${kv[$c]:--}
		line="$line${line:+	}${v//	/ }"
	done
	echo "$line" >> "$RES"
}

# USER_HZ of /proc/stat
HZ=$(getconf CLK_TCK)

# Instruction counts (BENCH_INSNS): each cell's program executes the marker
# of userspace/tests/bench_mark.h at the start and at the end of its window,
# on CPU $RX_CPU, and the plugin appends one line per marker.
insns_lines() {
	[ -n "$INSNS" ] || return 0
	wc -l < "$INSNS"
}
# insns_window N0: "SEQ n0,n1,...", the instructions each CPU executed
# between the two markers written after line N0, SEQ the number of the
# second (the profile's name for the window); empty unless there are
# exactly two, both from CPU $RX_CPU
insns_window() {
	[ -n "$INSNS" ] || return 0
	awk -v n0="$1" -v v="$RX_CPU" '
	NR > n0 && $1 == "mark" {
		m++
		if ($3 != v)
			bad = 1
		for (i = 4; i <= NF; i++)
			c[m, i] = $i
		nf = NF
		s = $2
	}
	END {
		if (m != 2 || bad)
			exit
		printf "%s ", s
		for (i = 4; i <= nf; i++)
			printf "%s%.0f", (i > 4 ? "," : ""), c[2, i] - c[1, i]
		print ""
	}' "$INSNS"
}
# insns_per_rec WINDOW RECORDS: CPU $RX_CPU's instructions per record
insns_per_rec() {
	awk -v w="${1#* }" -v n="$2" -v c="$RX_CPU" \
		'BEGIN { split(w, i, ","); if (n > 0) printf "%.0f\n", i[c + 1] / n }'
}
# insns_note WINDOW: what to say of a missing window
insns_note() {
	[ -z "$INSNS" ] || [ -n "$1" ] || echo "no instruction count (markers missing)"
}

# net_cell MODE CIPHER SIZE [RATE]: with RATE, a "paced" cell whose sender
# keeps to RATE records per second
net_cell() {
	local mode=$1 cipher=$2 size=$3 rate=${4:-} lib=openssl opts=() copt=()
	local kind=net sopt=() rauth=$PSK sauth=$PSK
	case $mode in
	plain) opts=(--plain); lib=none ;;
	plain-gso) opts=(--plain --gso "$BATCH"); lib=none ;;
	kdtls) opts=(--lib openssl) ;;
	kdtls-mmsg) opts=(--lib openssl --batch "$BATCH") ;;
	kdtls-gso) opts=(--lib openssl --gso "$BATCH") ;;
	kdtls13|kdtls13-gso)
		# DTLS 1.3: a wolfSSL handshake with a certificate (no PSK)
		opts=(--dtls13); lib=wolfssl; sauth=""
		rauth="--cert $W13SRC/certs/server-ecc.pem --key $W13SRC/certs/ecc-key.pem"
		[ "$mode" = kdtls13-gso ] && opts+=(--gso "$BATCH") ;;
	openssl) opts=(--lib openssl --no-offload) ;;
	gnutls) opts=(--lib gnutls --no-offload); lib=gnutls ;;
	*) die "unknown mode $mode" ;;
	esac
	[ "$lib" = none ] || copt=(--cipher "$cipher")
	[ -n "$rate" ] && kind=paced && sopt=(--rate "$rate")
	PORT=$((PORT + 1))
	local tag=$mode-${cipher}-$size
	[ "$lib" = none ] && tag=$mode-$size
	[ -n "$rate" ] && tag=$tag-paced
	local slog=$OUT/logs/$tag.send rlog=$OUT/logs/$tag.recv
	local rb0 bl0 dd0 de0 rb1 bl1 dd1 de1 rpid sst rst in0 iw
	in0=$(insns_lines)
	rb0=$(rcvbuf_err); bl0=$(backlog_drops); dd0=$(dtls_stat DtlsRxDropped); de0=$(dtls_stat DtlsRxDecryptError)
	# shellcheck disable=SC2086
	ip netns exec "$NS_R" timeout "$CELL_TMO" taskset -c "$RX_CPU" \
		"$DB" -l $rauth "${opts[@]}" "${copt[@]}" --size "$size" --time "$SECS" \
		"$ADDR_R" "$PORT" > "$rlog" 2>&1 &
	rpid=$!
	wait_port "$PORT" || echo "bench.sh: receiver of $tag not listening" >> "$rlog"
	# shellcheck disable=SC2086
	ip netns exec "$NS_S" timeout "$CELL_TMO" taskset -c "$TX_CPU" \
		"$DB" $sauth "${opts[@]}" "${copt[@]}" "${sopt[@]}" --size "$size" \
		--time "$SECS" "$ADDR_R" "$PORT" > "$slog" 2>&1
	sst=$?
	if [ $sst != 0 ]; then	# the receiver may wait for records that never come
		sleep 3
		kill "$rpid" 2>/dev/null
	fi
	wait "$rpid"; rst=$?
	rb1=$(rcvbuf_err); bl1=$(backlog_drops); dd1=$(dtls_stat DtlsRxDropped); de1=$(dtls_stat DtlsRxDecryptError)
	iw=$(insns_window "$in0")

	local s r status=ok note=""
	s=$(grep '^BENCH role=send' "$slog" | tail -n 1)
	r=$(grep '^BENCH role=recv' "$rlog" | tail -n 1)
	if grep -q '^BENCH-ERROR' "$slog" "$rlog"; then
		note=$(grep -h '^BENCH-ERROR' "$slog" "$rlog" | head -n 1 | cut -c13-)
		if grep -q '^BENCH-ERROR .*Operation not supported' "$slog" "$rlog"; then
			status=unsupported
		else
			status=error
		fi
	elif [ -z "$s" ] || [ -z "$r" ] || [ $sst != 0 ] || [ $rst != 0 ]; then
		status=error
		note="sender status $sst, receiver status $rst: $(tail -n 2 "$slog" "$rlog" | tr '\n' ' ' | cut -c1-200)"
	fi
	local -A S=() R=()
	parse S "$s"; parse R "$r"
	local sent=${S[records]:-0} recv=${R[records]:-0} bad=${R[bad]:-0}
	if [ $status = ok ] && [ "$bad" != 0 ]; then
		status=error
		note="$bad records failed the length/content check"
	fi
	if [ $status = ok ] && [ "$recv" = 0 ]; then
		status=error
		note="no record received"
	fi
	local ciph=$cipher
	[ "$lib" = none ] && ciph=-
	if [ $status = ok ]; then
		note=$(insns_note "$iw")
		[ -n "$note" ] && status=error
	fi
	if [ $status != ok ]; then
		[ $status = error ] && ERRORS=$((ERRORS + 1))
		emit kind=$kind mode="$mode" lib="$lib" cipher="$ciph" size="$size" \
			status=$status note="$note"
		printf '%-11s %-10s %5s  %s: %s\n' "$mode" "$cipher" "$size" "$status" "$note"
		return
	fi
	# One awk for the derived values (forks are slow under TCG).  CPU
	# busy = wall - idle - iowait; the user/system/softirq split is from
	# tick samples, scaled to the busy time.
	awk -v hz="$HZ" -v res="$RES" -v kind="$kind" -v mode="$mode" -v lib="$lib" -v cipher="$ciph" \
		-v size="$size" -v sent="$sent" -v recv="$recv" -v secs="${R[secs]}" \
		-v bytes="${R[bytes]}" -v wall="${R[wall]}" -v c0="${R[cpu$TX_CPU]}" \
		-v c1="${R[cpu$RX_CPU]}" -v su="${S[utime]}" -v ss="${S[stime]}" \
		-v ru="${R[utime]}" -v rs="${R[stime]}" -v rb=$((rb1 - rb0)) \
		-v bl=$((bl1 - bl0)) -v dd=$((${dd1:-0} - ${dd0:-0})) \
		-v de=$((${de1:-0} - ${de0:-0})) -v reorder="${R[reorder]}" \
		-v end="${R[end]}" -v txc="$TX_CPU" -v rxc="$RX_CPU" -v iw="${iw#* }" \
		-v imark="${iw%% *}" '
	function q(a, b) { return b > 0 ? a / b : 0 }
	function cpu(str, o,   t, ticks, busy) {
		split(str, t, ",")
		busy = wall - (t[4] + t[5]) / hz
		if (busy < 0)
			busy = 0
		ticks = t[1] + t[2] + t[3] + t[6] + t[7] + t[8]
		o["busy"] = busy
		o["sys"] = q(busy * t[3], ticks)
		o["si"] = q(busy * t[7], ticks)
	}
	function ipr(c, recs) {
		return iw == "" ? "-" : sprintf("%.0f", q(ins[c + 1], recs))
	}
	BEGIN {
		OFS = "\t"
		cpu(c0, a); cpu(c1, b)
		split(iw, ins, ",")
		lost = sent - recv
		print kind, mode, lib, cipher, size, "ok", sent, recv, lost,
			sprintf("%.2f", q(100 * lost, sent)), secs,
			sprintf("%.3f", q(bytes, secs) / 1e6), sprintf("%.0f", q(recv, secs)),
			su, ss, ru, rs,
			sprintf("%.3f", a["busy"]), sprintf("%.3f", a["sys"]), sprintf("%.3f", a["si"]),
			sprintf("%.3f", b["busy"]), sprintf("%.3f", b["sys"]), sprintf("%.3f", b["si"]),
			sprintf("%.0f", q(sent, a["busy"])), sprintf("%.0f", q(recv, b["busy"])),
			rb, bl, dd, de, reorder, end, "-", "-",
			ipr(txc, sent), ipr(rxc, recv), "-", (imark == "" ? "-" : imark),
			"-" >> res
		printf "%-11s %-10s %5s  sent %9d recv %9d lost %6.2f%%  %8.0f rec/s  cpu%d %.2fs cpu%d %.2fs%s\n",
			mode, cipher, size, sent, recv, q(100 * lost, sent), q(recv, secs),
			txc, a["busy"], rxc, b["busy"], kind == "paced" ? "  (paced)" : ""
	}' || {
		ERRORS=$((ERRORS + 1))
		echo "bench.sh: $tag: the results could not be computed" >&2
	}
}

# paced_cell MODE CIPHER SIZE: the cell again, its sender held to the
# goodput the unpaced cell measured (nothing if that cell failed)
paced_cell() {
	local rate
	case " $PACED " in *" $1 "*) ;; *) return ;; esac
	[ "$2" = aes128gcm ] && [ "$3" = 1200 ] || return
	rate=$(awk -F'\t' -v m="$1" -v c="$2" -v s="$3" '$1 == "net" && $2 == m &&
		$4 == c && $5 == s && $6 == "ok" { r = $13 } END { print r }' "$RES")
	[ -n "$rate" ] && [ "$rate" != 0 ] && net_cell "$1" "$2" "$3" "$rate"
}

# cipher-alone cells, on the receiver's CPU
kaead_cell() {	# CIPHER SIZE SYNC
	local cipher=$1 size=$2 sync=$3 alg keylen=16 auth=16 r status=ok note=""
	case $cipher in
	aes128gcm) alg='gcm(aes)' ;;
	chacha20) alg='rfc7539(chacha20,poly1305)'; keylen=32 ;;
	aes128ccm8) alg='ccm(aes)'; auth=8 ;;
	esac
	local mode=kaead-best
	[ "$sync" = 1 ] && mode=kaead-sync
	local log=$OUT/logs/$mode-$cipher-$size in0 iw ipr=-
	in0=$(insns_lines)
	if taskset -c "$RX_CPU" insmod "$AEAD_KO" "alg=$alg" keylen=$keylen \
		authsize=$auth size="$size" msecs="$AEAD_MS" sync="$sync" > "$log" 2>&1; then
		r=$(cat /sys/module/aead_bench/parameters/result)
		echo "$r" >> "$log"
		rmmod aead_bench
		iw=$(insns_window "$in0")
		note=$(insns_note "$iw")
		[ -n "$note" ] && status=error && ERRORS=$((ERRORS + 1))
		[ -n "$iw" ] && ipr=$(insns_per_rec "$iw" "$(field records " $r")")
	else
		status=error
		note="insmod $AEAD_KO alg=$alg sync=$sync: $(tr '\n' ' ' < "$log")"
		ERRORS=$((ERRORS + 1))
	fi
	emit kind=cipher mode="$mode" lib=kernel cipher="$cipher" size="$size" status=$status \
		recs_per_s="$(field records_per_s " $r")" goodput_MBps="$(field MBps " $r")" \
		ns_per_record="$(field ns_per_record " $r")" driver="$(field driver " $r")" \
		insns_per_record="$ipr" insns_mark="${iw%% *}" note="$note"
	printf '%-11s %-10s %5s  %s ns/record  %s\n' "$mode" "$cipher" "$size" \
		"$(field ns_per_record " $r")" "$(field driver " $r")${note}"
}

evp_cell() {	# CIPHER SIZE
	local cipher=$1 size=$2 r status=ok note=""
	local log=$OUT/logs/evp-$cipher-$size in0 iw ipr=-
	in0=$(insns_lines)
	if taskset -c "$RX_CPU" "$EVP" "$cipher" "$size" "$AEAD_MS" > "$log" 2>&1; then
		r=$(grep '^EVP' "$log")
		iw=$(insns_window "$in0")
		note=$(insns_note "$iw")
		[ -n "$note" ] && status=error && ERRORS=$((ERRORS + 1))
		[ -n "$iw" ] && ipr=$(insns_per_rec "$iw" "$(field records " $r")")
	else
		status=error
		note="evp_bench: $(tr '\n' ' ' < "$log")"
		ERRORS=$((ERRORS + 1))
	fi
	emit kind=cipher mode=evp lib=openssl cipher="$cipher" size="$size" status=$status \
		recs_per_s="$(field records_per_s " $r")" goodput_MBps="$(field MBps " $r")" \
		ns_per_record="$(field ns_per_record " $r")" driver="OpenSSL EVP" \
		insns_per_record="$ipr" insns_mark="${iw%% *}" note="$note"
	printf '%-11s %-10s %5s  %s ns/record\n' evp "$cipher" "$size" "$(field ns_per_record " $r")${note}"
}

START=$(date +%s)
{
	echo "kernel: $(uname -r), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	echo "cell: $SECS s, sender CPU $TX_CPU, receiver CPU $RX_CPU, RPS mask $RPS on $DEV_R, netdev_max_backlog $BACKLOG (was $BACKLOG0), batch/GSO $BATCH records"
	echo "openssl: $(openssl version 2>/dev/null); gnutls: $(gnutls-cli --version 2>/dev/null | head -n 1)"
} | tee "$OUT/env.txt"

for size in $SIZES; do
	for mode in $MODES; do
		case $mode in
		plain|plain-gso) net_cell "$mode" - "$size" ;;
		*)
			for cipher in $CIPHERS; do
				net_cell "$mode" "$cipher" "$size"
				paced_cell "$mode" "$cipher" "$size"
			done ;;
		esac
	done
done
for cipher in $CIPHERS; do
	for size in $SIZES; do
		kaead_cell "$cipher" "$size" 1
		kaead_cell "$cipher" "$size" 0
		evp_cell "$cipher" "$size"
	done
done
echo "bench.sh: $(($(date +%s) - START)) s, $ERRORS unexpected cell errors" | tee -a "$OUT/env.txt"

status=0
[ $ERRORS = 0 ] || status=1
if [ $REPORT = 1 ]; then
	python3 "$(dirname "$0")/bench_report.py" "$OUT" || status=1
fi
exit $status
