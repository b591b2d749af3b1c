#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every DTLS selftest.  Runs inside the guest as root with the project
# as the working directory (tools/vm-run -- selftests/run_all.sh):
#   1. insmod kernel/dtls.ko
#   2. selftests/dtls           (kselftest harness, TAP)
#   2b. selftests/dtls_peers    (many peers on one socket, kselftest harness)
#   3. selftests/netns.sh       (two namespaces, veth + netem, TAP)
#   3b. tools/demo-peers.sh    (1000 clients of one server socket)
#   4. userspace/tests/interop.sh (real OpenSSL/GnuTLS peers, TAP),
#      selftests/dtls13_wolfssl (the DTLS 1.3 record reference against
#      wolfSSL, no kernel involved), then
#      userspace/tests/bench_smoke.sh (dtls-bench, paced with --rate, TAP)
#   5. selftests/dtls_fuzz      (bounded receive-path fuzzer, TAP)
#   6. selftests/dtls_stress    (lifecycle stress, scenarios a-h, TAP)
#   7. selftests/dtls_stress rmmod: unload refused under traffic, succeeds
#      after close, module loaded again
#   7b. selftests/dtls_memcg   (socket memory charged to the memory cgroup,
#      ENOMEM at its limit without an OOM kill, TAP)
#   8. unload: rmmod must fail while a DTLS socket exists, succeed after it
#      is closed, and UDP must answer SOL_DTLS with ENOPROTOOPT afterwards.
#   8a. selftests/dtls_fault (fail-nth kernels only: make check-debug):
#      each allocation of each entry point failed once, module load/unload
#   9. async_crypto=1: every AEAD behind cryptd or pcrypt, so each record is
#      sealed and opened asynchronously, in a worker on any CPU:
#      selftests/dtls (pinned to CPU 0, see there; not with
#      DTLS_ASYNC_HARNESS=0), dtls_stress and its unload under traffic again.
#      Last, because those instances stay registered.
# The binaries must have been built on the host (make).
# Ends with one line "N passed, N failed"; exits non-zero if anything failed.

set -u
cd "$(dirname "$0")/.." || exit 1
ST=selftests
# DTLS_KO: the module to test (make check-debug builds one for 6.12)
MOD=${DTLS_KO:-kernel/dtls.ko}

pass=0
fail=0
skip=0

# Count the TAP result lines of one part's output file.
count_tap() {	# file expected-plan-or-empty
	local f=$1 p fl sk plan total
	p=$(grep -cE '^ok [0-9]+' "$f" | head -1)
	sk=$(grep -cE '^ok [0-9]+ .*# (SKIP|skip)' "$f" | head -1)
	fl=$(grep -cE '^not ok [0-9]+' "$f" | head -1)
	p=$((p - sk))
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$f" | head -1)
	total=$((p + sk + fl))
	if [ -n "$plan" ] && [ "$total" -lt "$plan" ]; then
		echo "# $((plan - total)) planned test(s) never reported (crash or timeout): counted as failed"
		fl=$((fl + plan - total))
	fi
	pass=$((pass + p))
	fail=$((fail + fl))
	skip=$((skip + sk))
	echo "# part result: $p passed, $fl failed, $sk skipped"
}

own=0
own_tap() {	# ok|not-ok description
	own=$((own + 1))
	if [ "$1" = ok ]; then
		echo "ok $own $2"
		pass=$((pass + 1))
	else
		echo "not ok $own $2"
		fail=$((fail + 1))
	fi
}

# Each part's name, and the guest's seconds the one before it took
part_name=
part_t0=0
part() {
	[ -n "$part_name" ] && echo "# time: $part_name: $((SECONDS - part_t0)) s"
	part_name=$1
	part_t0=$SECONDS
	echo "# === $1"
}

finish() {
	part "end"
	[ "$skip" -gt 0 ] && echo "# $skip skipped"
	echo "$pass passed, $fail failed"
	# under tools/vm-run the host prints this again after the guest's log
	[ -d /results ] && echo "$pass passed, $fail failed" >/results/summary
	[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

part "load $MOD"
for b in "$ST/dtls" "$ST/dtls_peers" "$ST/dtls_pair" "$ST/dtls_fuzz" "$ST/dtls_stress" "$ST/dtls_memcg"; do
	if [ ! -x "$b" ]; then
		echo "# $b is missing: build it on the host first (make -C selftests)"
		own_tap not-ok "selftest binaries built"
		finish
	fi
done
if [ ! -f "$MOD" ]; then
	echo "# $MOD does not exist: build it first (make module)"
	own_tap not-ok "insmod $MOD"
	finish
fi
lsmod 2>/dev/null | grep -q '^dtls ' && rmmod dtls 2>/dev/null
log_before=$(dmesg 2>/dev/null | wc -l)
if ! out=$(insmod "$MOD" 2>&1); then
	echo "# insmod $MOD failed: $out"
	dmesg 2>/dev/null | tail -n 20 | sed 's/^/# dmesg: /'
	own_tap not-ok "insmod $MOD"
	finish
fi
own_tap ok "insmod $MOD"
if [ -r /proc/net/dtls_stat ]; then
	own_tap ok "/proc/net/dtls_stat exists after load"
else
	own_tap not-ok "/proc/net/dtls_stat exists after load"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# On a kernel with CONFIG_KUNIT the module's KUnit suites ran at insmod and
# printed KTAP to the kernel log: count their test cases.
if grep -q '^CONFIG_KUNIT=y' "/boot/config-$(uname -r)" 2>/dev/null ||
   [ -d /sys/kernel/debug/kunit ]; then
	part "KUnit suites (kernel log)"
	dmesg | tail -n +"$((log_before + 1))" | sed 's/^\[[^]]*\] //' |
		awk '/# Subtest: dtls_/ { on = 1 } /^ok [0-9]+ dtls_|^not ok [0-9]+ dtls_/ { on = 0 }
		     on && /^    (not )?ok [0-9]+ / { sub(/^    /, ""); print }' >"$TMP/kunit.tap"
	cat "$TMP/kunit.tap"
	if [ -s "$TMP/kunit.tap" ]; then
		count_tap "$TMP/kunit.tap"
	else
		own_tap not-ok "KUnit suites reported results at insmod"
	fi
fi

part "selftests/dtls"
"$ST/dtls" >"$TMP/dtls.tap" 2>&1
echo "# selftests/dtls exited with $?"
# full log of failures, condensed log of the rest
grep -vE '^(# +(RUN|OK) |ok [0-9])' "$TMP/dtls.tap"
count_tap "$TMP/dtls.tap"

# A part's own "N passed, N failed" line becomes a comment here, so that
# the last such line of this script stays the overall one.
show_part() {	# file
	sed 's/^\([0-9]* passed, [0-9]* failed\)$/# part: \1/' "$1"
}

part "selftests/dtls_peers"
"$ST/dtls_peers" >"$TMP/peers.tap" 2>&1
echo "# selftests/dtls_peers exited with $?"
grep -vE '^(# +(RUN|OK) |ok [0-9])' "$TMP/peers.tap" >"$TMP/peers.shown"
show_part "$TMP/peers.shown"
count_tap "$TMP/peers.tap"

part "selftests/netns.sh"
"$ST/netns.sh" >"$TMP/netns.tap" 2>&1
echo "# netns.sh exited with $?"
cat "$TMP/netns.tap"
count_tap "$TMP/netns.tap"

part "tools/demo-peers.sh (1000 clients on one server socket)"
if [ -x userspace/dtls-peers ]; then
	tools/demo-peers.sh >"$TMP/demo-peers.log" 2>&1
	rc=$?
	sed 's/^/# /' "$TMP/demo-peers.log" | tail -n 25
	if [ "$rc" = 0 ]; then
		own_tap ok "demo-peers: 1000 clients, echoes checked, one moved, one expired"
	else
		own_tap not-ok "demo-peers (exit $rc)"
	fi
else
	echo "# userspace/dtls-peers missing: run tools/setup (mbed TLS), then make"
	own_tap not-ok "demo-peers: userspace/dtls-peers built"
fi

part "userspace/tests/interop.sh"
if [ "${DTLS_INTEROP:-1}" = 0 ]; then
	# make check-debug: the real peers run in make check (and in
	# make check-debug-full); on the debug kernel they are its slowest part
	echo "# interop.sh not run here (DTLS_INTEROP=0)"
elif [ -x userspace/dtls-cat ] && [ -x userspace/dtls-bench ]; then
	userspace/tests/interop.sh >"$TMP/interop.tap" 2>&1
	echo "# interop.sh exited with $?"
	cat "$TMP/interop.tap"
	count_tap "$TMP/interop.tap"
fi
if [ "${DTLS_INTEROP:-1}" != 0 ]; then
	part "selftests/dtls13_wolfssl (the DTLS 1.3 reference against wolfSSL)"
	W13=${WOLFSSL13_SRC:-/var/cache/kdtls/wolfssl/src}
	if [ -x "$ST/dtls13_wolfssl" ]; then
		"$ST/dtls13_wolfssl" "$W13/certs" >"$TMP/dtls13_wolfssl.tap" 2>&1
		echo "# dtls13_wolfssl exited with $?"
		show_part "$TMP/dtls13_wolfssl.tap"
		count_tap "$TMP/dtls13_wolfssl.tap"
	else
		own_tap not-ok "selftests/dtls13_wolfssl not built: no wolfSSL with DTLS 1.3 (run tools/setup, then make)"
	fi
fi
if [ -x userspace/dtls-cat ] && [ -x userspace/dtls-bench ]; then
	part "userspace/tests/bench_smoke.sh"
	userspace/tests/bench_smoke.sh >"$TMP/bench_smoke.tap" 2>&1
	echo "# bench_smoke.sh exited with $?"
	show_part "$TMP/bench_smoke.tap"
	count_tap "$TMP/bench_smoke.tap"
else
	echo "# userspace/dtls-cat or dtls-bench is missing: build them on the host first (make)"
	own_tap not-ok "interop and bench tool tests (userspace not built)"
fi

part "selftests/dtls_fuzz"
"$ST/dtls_fuzz" >"$TMP/fuzz.tap" 2>&1
echo "# dtls_fuzz exited with $?"
show_part "$TMP/fuzz.tap"
count_tap "$TMP/fuzz.tap"

part "selftests/dtls_stress"
"$ST/dtls_stress" >"$TMP/stress.tap" 2>&1
echo "# dtls_stress exited with $?"
show_part "$TMP/stress.tap"
count_tap "$TMP/stress.tap"

part "selftests/dtls_stress rmmod (unload under traffic, load again)"
"$ST/dtls_stress" rmmod "$MOD" >"$TMP/stress-rmmod.tap" 2>&1
echo "# dtls_stress rmmod exited with $?"
show_part "$TMP/stress-rmmod.tap"
count_tap "$TMP/stress-rmmod.tap"
if [ ! -r /proc/net/dtls_stat ]; then
	# keep the unload checks below meaningful
	echo "# dtls.ko is not loaded after dtls_stress rmmod: loading it again"
	insmod "$MOD" 2>&1 | sed 's/^/# /'
fi

part "selftests/dtls_memcg"
"$ST/dtls_memcg" >"$TMP/memcg.tap" 2>&1
echo "# dtls_memcg exited with $?"
show_part "$TMP/memcg.tap"
count_tap "$TMP/memcg.tap"

part "module unload"
own=0
coproc HOLD { exec "$ST/dtls_pair" hold 120 2>&1; }
hold_pid=$HOLD_PID
ready=
read -r -t 10 ready <&"${HOLD[0]}"
if [ "$ready" = ready ]; then
	own_tap ok "helper holds a DTLS socket"
	if rmmod dtls 2>/dev/null; then
		own_tap not-ok "rmmod fails while a DTLS socket is open"
		insmod "$MOD"	# keep going with a loaded module
	else
		own_tap ok "rmmod fails while a DTLS socket is open"
	fi
else
	own_tap not-ok "helper holds a DTLS socket (got: $ready)"
	own_tap not-ok "rmmod fails while a DTLS socket is open (not tested)"
fi
# close the helper's stdin: it closes its sockets and exits
eval "exec ${HOLD[1]}>&-" 2>/dev/null
wait "$hold_pid" 2>/dev/null
ok=
for _ in $(seq 50); do
	if rmmod dtls 2>/dev/null; then ok=1; break; fi
	sleep 0.1
done
if [ -n "$ok" ]; then
	own_tap ok "rmmod succeeds after the DTLS socket is closed"
else
	own_tap not-ok "rmmod succeeds after the DTLS socket is closed ($(rmmod dtls 2>&1))"
fi
if [ ! -e /proc/net/dtls_stat ]; then
	own_tap ok "/proc/net/dtls_stat gone after unload"
else
	own_tap not-ok "/proc/net/dtls_stat gone after unload"
fi
if msg=$("$ST/dtls_pair" noproto 2>&1); then
	own_tap ok "SOL_DTLS gives ENOPROTOOPT after unload, UDP works"
else
	own_tap not-ok "SOL_DTLS gives ENOPROTOOPT after unload: $msg"
fi

# Only a kernel with fault injection (make check-debug's) has fail-nth;
# elsewhere this part does not exist.  It loads and unloads the module
# itself (module not loaded here) and leaves it unloaded.
if [ -e /proc/thread-self/fail-nth ]; then
	part "selftests/dtls_fault (every allocation failed once, fail-nth)"
	if [ -x "$ST/dtls_fault" ]; then
		"$ST/dtls_fault" "$MOD" >"$TMP/fault.tap" 2>&1
		echo "# dtls_fault exited with $?"
		show_part "$TMP/fault.tap"
		count_tap "$TMP/fault.tap"
	else
		echo "# $ST/dtls_fault is missing: build it on the host first (make -C selftests)"
		own_tap not-ok "selftests/dtls_fault built"
	fi
fi

part "asynchronous AEAD (insmod $MOD async_crypto=1)"
own=0
if ! out=$(insmod "$MOD" async_crypto=1 2>&1); then
	echo "# $out"
	own_tap not-ok "insmod $MOD async_crypto=1"
	finish
fi
if [ "$(cat /sys/module/dtls/parameters/async_crypto 2>/dev/null)" = Y ]; then
	own_tap ok "async_crypto=1 is in effect"
else
	own_tap not-ok "async_crypto=1 is in effect"
fi
# The harness expects the records of consecutive datagrams in the order
# sent.  With an asynchronous AEAD the kernel keeps that order only on one
# CPU (cryptd's queue is per CPU), and a sender that sleeps in the AEAD can
# wake up elsewhere: keep the harness on CPU 0.  dtls_stress, which does
# not depend on order, runs on every CPU.
# DTLS_ASYNC_HARNESS=0 (make check-debug; make check-debug-full runs it)
# leaves the harness out: the stress runs below still race every
# asynchronous completion against close and unload.
if [ "${DTLS_ASYNC_HARNESS:-1}" = 0 ]; then
	echo "# selftests/dtls with async_crypto=1 not run here (DTLS_ASYNC_HARNESS=0)"
else
	taskset -c 0 "$ST/dtls" >"$TMP/async.tap" 2>&1
	echo "# selftests/dtls (async, CPU 0) exited with $?"
	grep -vE '^(# +(RUN|OK) |ok [0-9])' "$TMP/async.tap"
	count_tap "$TMP/async.tap"
fi
own=0
if grep -qE '^driver *: (cryptd|pcrypt)[(]' /proc/crypto; then
	own_tap ok "records went through a cryptd or pcrypt instance"
else
	own_tap not-ok "records went through a cryptd or pcrypt instance"
fi
"$ST/dtls_stress" >"$TMP/async-stress.tap" 2>&1
echo "# dtls_stress (async) exited with $?"
show_part "$TMP/async-stress.tap"
count_tap "$TMP/async-stress.tap"
"$ST/dtls_stress" rmmod "$MOD" >"$TMP/async-rmmod.tap" 2>&1
echo "# dtls_stress rmmod (async) exited with $?"
show_part "$TMP/async-rmmod.tap"
count_tap "$TMP/async-rmmod.tap"
rmmod dtls 2>/dev/null

finish
