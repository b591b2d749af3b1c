#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# userspace/tests/bench.sh [SECONDS] - dtls-cat --bench over loopback, kernel
# record layer vs the TLS library's, in the guest with dtls.ko loaded.
# Guest (TCG) timings are only comparable side by side within one run.
set -u
DC=${DTLS_CAT:-userspace/dtls-cat}
S=${1:-5}
PORT=${PORT_BASE:-21000}
PSK="--psk 00112233445566778899aabbccddeeff"
for lib in openssl gnutls; do
	for c in aes128gcm chacha20; do
		for mode in "" --no-offload; do
			PORT=$((PORT + 1))
			timeout $((S + 30)) $DC -l -d --lib $lib $PSK --cipher $c $mode --bench $S 127.0.0.1 $PORT > /tmp/bench.srv &
			sleep 0.5
			snd=$(timeout $((S + 30)) $DC --lib $lib $PSK --cipher $c $mode --bench $S --size 1200 127.0.0.1 $PORT)
			wait
			echo "$lib $c ${mode:-offload}: $snd / $(cat /tmp/bench.srv)"
		done
	done
done
