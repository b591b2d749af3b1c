#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main demo, run inside the guest by "make demo" (tools/vm-run):
# two network namespaces joined by veth, a dtls-cat server in one and a
# client in the other.  Each side completes a DTLS 1.2 handshake in
# userspace (the server with GnuTLS, the client with OpenSSL), hands the
# keys to the kernel, and the data then moves through kernel DTLS.  The
# receiver's SHA-256 must match the sender's, and both namespaces'
# /proc/net/dtls_stat are printed.  DTLS_KO names the module to load
# (kernel/dtls.ko) unless one is loaded already; without a tree (installed
# as /usr/share/dtls-tools/demo.sh) it uses modprobe and the dtls-cat in
# PATH.

set -euo pipefail
cd "$(dirname "$0")/.."

DC=userspace/dtls-cat
[ -x "$DC" ] || DC=dtls-cat
DTLS_KO=${DTLS_KO:-kernel/dtls.ko}
SIZE_KIB=${DEMO_KIB:-2048}
T=$(mktemp -d)
cleanup() {
	ip netns del dtls-srv 2>/dev/null || true
	ip netns del dtls-cli 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

if lsmod | grep -q '^dtls '; then
	step "dtls module already loaded ($(cat /sys/module/dtls/version 2>/dev/null))"
elif [ -f "$DTLS_KO" ]; then
	step "load $DTLS_KO"
	insmod "$DTLS_KO"
else
	step "modprobe dtls"
	modprobe dtls
fi

step "two namespaces joined by veth: dtls-srv 192.0.2.1 <-> dtls-cli 192.0.2.2"
ip netns add dtls-srv
ip netns add dtls-cli
ip link add veth-srv netns dtls-srv type veth peer name veth-cli netns dtls-cli
ip -n dtls-srv addr add 192.0.2.1/24 dev veth-srv
ip -n dtls-cli addr add 192.0.2.2/24 dev veth-cli
ip -n dtls-srv link set veth-srv up
ip -n dtls-cli link set veth-cli up
ip -n dtls-srv link set lo up
ip -n dtls-cli link set lo up

step "throwaway certificate (P-256)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=dtls-demo -days 1 -keyout "$T/key.pem" -out "$T/cert.pem" \
	2>/dev/null
head -c $((SIZE_KIB * 1024)) /dev/urandom > "$T/in"
want=$(sha256sum < "$T/in" | cut -d' ' -f1)

step "server (GnuTLS handshake) and client (OpenSSL handshake), AES-128-GCM"
ip netns exec dtls-srv $DC -l -d -v --lib gnutls --cipher aes128gcm \
	--cert "$T/cert.pem" --key "$T/key.pem" 192.0.2.1 4433 \
	> "$T/out" 2> "$T/srv.log" &
srv=$!
sleep 1
ip netns exec dtls-cli $DC -v --lib openssl --cipher aes128gcm \
	192.0.2.1 4433 < "$T/in" 2> "$T/cli.log"
wait $srv
sed 's/^/  server: /' "$T/srv.log"
sed 's/^/  client: /' "$T/cli.log"

step "/proc/net/dtls_stat in dtls-srv"
ip netns exec dtls-srv cat /proc/net/dtls_stat
step "/proc/net/dtls_stat in dtls-cli"
ip netns exec dtls-cli cat /proc/net/dtls_stat

got=$(sha256sum < "$T/out" | cut -d' ' -f1)
step "result"
echo "sent     $SIZE_KIB KiB  sha256 $want"
echo "received $(($(stat -c %s "$T/out") / 1024)) KiB  sha256 $got"
srv_rx=$(ip netns exec dtls-srv awk '$1 == "DtlsRxRecords" { print $2 }' /proc/net/dtls_stat)
cli_tx=$(ip netns exec dtls-cli awk '$1 == "DtlsTxRecords" { print $2 }' /proc/net/dtls_stat)
if [ "$want" = "$got" ] && [ "$srv_rx" -gt 0 ] && [ "$cli_tx" -gt 0 ]; then
	echo "demo: OK: checksums match; the kernel protected $cli_tx records and opened $srv_rx"
else
	echo "demo: FAILED: checksum or counters do not match (see above)"
	exit 1
fi
