#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userspace/tests/lo_cells.sh - network cells over loopback for the record
# layer's overhead (Documentation/networking/dtls-bench.rst), until
# the benchmark has loopback cells of its own: dtls-bench over
# 127.0.0.1 in one namespace, the receiver on CPU 1, the sender on CPU 0,
# no RPS (so the receive softirq runs on the sender's CPU).  Appends one
# row of kind "lo" per cell to DIR/results.tsv, in bench.sh's columns, for
# bench_report.py and insns_profile.py.  Root, from the top of the tree,
# in a guest under tools/qemu-insns (BENCH_INSNS: the file it writes),
# usually right after bench.sh -o DIR.
#
#   lo_cells.sh DIR SECS MODE...    # MODE: plain plain-gso kdtls kdtls-mmsg
#                                   # kdtls-gso openssl; LO_SIZE (1200)

set -u
[ $# -ge 3 ] || { sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 2; }
OUT=$1 SECS=$2
shift 2
RES=$OUT/results.tsv
INSNS=${BENCH_INSNS:?BENCH_INSNS: the file tools/qemu-insns writes}
SIZE=${LO_SIZE:-1200}
DB=${DTLS_BENCH:-userspace/dtls-bench}
PSK="--psk 00112233445566778899aabbccddeeff"
PORT=${PORT_BASE:-24000}
HZ=$(getconf CLK_TCK)
COLS="kind mode lib cipher size status sent recv lost loss_pct secs goodput_MBps recs_per_s"
COLS="$COLS snd_utime snd_stime rcv_utime rcv_stime cpu0_busy cpu0_sys cpu0_softirq"
COLS="$COLS cpu1_busy cpu1_sys cpu1_softirq snd_recs_per_cpus rcv_recs_per_cpus"
COLS="$COLS rcvbuf_err backlog_drop dtls_rx_drop decrypt_err reorder end driver ns_per_record"
COLS="$COLS snd_insns_per_rec rcv_insns_per_rec insns_per_record insns_mark note"

for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64; do
	modprobe -q "$m" 2>/dev/null
done
[ -r /proc/net/dtls_stat ] || insmod "${DTLS_KO:-kernel/dtls.ko}" || exit 1
ip link set lo up
mkdir -p "$OUT/logs" || exit 1
[ -s "$RES" ] || echo "$COLS" | tr ' ' '\t' > "$RES"
field() { sed -n "s/.*[ ]$1=\\([^ ]*\\).*/\\1/p" <<< "$2"; }

status=0
for mode in "$@"; do
	case $mode in
	plain) opts="--plain" ;;
	plain-gso) opts="--plain --gso 16" ;;
	kdtls) opts="--lib openssl --cipher aes128gcm" ;;
	kdtls-mmsg) opts="--lib openssl --cipher aes128gcm --batch 16" ;;
	kdtls-gso) opts="--lib openssl --cipher aes128gcm --gso 16" ;;
	openssl) opts="--lib openssl --cipher aes128gcm --no-offload" ;;
	*) echo "lo_cells.sh: unknown mode $mode" >&2; exit 2 ;;
	esac
	PORT=$((PORT + 1))
	log=$OUT/logs/lo-$mode-$SIZE
	n0=$(wc -l < "$INSNS")
	# shellcheck disable=SC2086
	taskset -c 1 timeout $((SECS + 60)) "$DB" -l $PSK $opts --size "$SIZE" \
		--time "$SECS" 127.0.0.1 $PORT > "$log.recv" 2>&1 &
	rpid=$!
	sleep 1
	# shellcheck disable=SC2086
	taskset -c 0 timeout $((SECS + 60)) "$DB" $PSK $opts --size "$SIZE" \
		--time "$SECS" 127.0.0.1 $PORT > "$log.send" 2>&1
	wait $rpid
	s=$(grep '^BENCH role=send' "$log.send" | tail -n 1)
	r=$(grep '^BENCH role=recv' "$log.recv" | tail -n 1)
	# the receiver's two markers: "SEQ cpu0 cpu1" instructions between them
	w=$(awk -v n0="$n0" 'NR > n0 && $1 == "mark" { m++; s = $2; c0[m] = $4; c1[m] = $5 }
		END { if (m == 2) printf "%s %.0f %.0f\n", s, c0[2] - c0[1], c1[2] - c1[1] }' "$INSNS")
	sent=$(field records " $s")
	recv=$(field records " $r")
	cipher=aes128gcm lib=openssl st=ok
	case $mode in plain*) cipher=- lib=none ;; esac
	if [ -z "$sent" ] || [ -z "$recv" ] || [ "$recv" = 0 ] ||
	   [ "$(field bad " $r")" != 0 ] || [ -z "$w" ]; then
		st=error
		status=1
	fi
	read -r mark i0 i1 <<< "${w:-- 0 0}"
	awk -v OFS='\t' -v hz="$HZ" -v size="$SIZE" -v mode="$mode" -v lib=$lib \
	    -v cipher=$cipher -v st=$st -v sent="${sent:-0}" -v recv="${recv:-0}" \
	    -v secs="$(field secs " $r")" -v bytes="$(field bytes " $r")" \
	    -v wall="$(field wall " $r")" -v c0="$(field cpu0 " $r")" \
	    -v c1="$(field cpu1 " $r")" -v mark="$mark" -v i0="$i0" -v i1="$i1" '
	function q(a, b) { return b > 0 ? a / b : 0 }
	function busy(str,  t) { split(str, t, ","); return wall - (t[4] + t[5]) / hz }
	BEGIN {
		b0 = busy(c0); b1 = busy(c1)
		print "lo", mode, lib, cipher, size, st, sent, recv, sent - recv,
			sprintf("%.2f", q(100 * (sent - recv), sent)), secs,
			sprintf("%.3f", q(bytes, secs) / 1e6), sprintf("%.0f", q(recv, secs)),
			"-", "-", "-", "-", sprintf("%.3f", b0), "-", "-", sprintf("%.3f", b1),
			"-", "-", sprintf("%.0f", q(sent, b0)), sprintf("%.0f", q(recv, b1)),
			"-", "-", "-", "-", "-", "-", "-", "-",
			sprintf("%.0f", q(i0, sent)), sprintf("%.0f", q(i1, recv)), "-", mark,
			st == "ok" ? "-" : "see logs/lo-" mode "-" size
	}' >> "$RES"
	echo "lo $mode $SIZE: sent $sent recv $recv, instructions $w ($st)"
done
exit $status
