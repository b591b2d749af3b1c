#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Many clients on one server socket, run inside the guest by "make
# demo-peers" (tools/vm-run): a server namespace joined by veth to
# PEERS_NS client namespaces, userspace/dtls-peers -l in the first and
# PEERS_PER_NS clients in each of the others, every client on a source
# port of its own.  The server handshakes each new client in userspace
# (mbed TLS, PSK, cookies, connection IDs) on its one socket and hands it
# to the kernel as a peer of that socket; every client sends
# PEERS_RECORDS records and checks their echo byte for byte.  The first
# client of the first namespace moves to another port half way through
# (the server must see it arrive from there), and one more client there
# never finishes its handshake (the server must expire it).  Prints what
# the server's socket holds (/proc/net/dtls) and a PASS or FAIL line.
# DTLS_KO names the module to load (kernel/dtls.ko) unless one is loaded.

set -euo pipefail
cd "$(dirname "$0")/.."

DP=userspace/dtls-peers
DTLS_KO=${DTLS_KO:-kernel/dtls.ko}
NS=${PEERS_NS:-4}
PER=${PEERS_PER_NS:-250}
RECORDS=${PEERS_RECORDS:-4}
CONC=${PEERS_CONCURRENCY:-16}
# the stuck client's handshake expires after this; the others take well
# under a second each (PEERS_EXPIRE raises it on a slow or loaded host)
EXPIRE=${PEERS_EXPIRE:-5}
PORT=4433
T=$(mktemp -d)
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
	ip netns del dtls-psrv 2>/dev/null || true
	for i in $(seq 1 "$NS"); do ip netns del "dtls-pc$i" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
bad() { echo "demo-peers: FAIL: $*"; exit 1; }

[ -x "$DP" ] || bad "no $DP: it needs tools/setup's mbed TLS 3.6 (run tools/setup, then make)"
if ! lsmod | grep -q '^dtls '; then
	step "load $DTLS_KO"
	insmod "$DTLS_KO"
fi
modprobe veth 2>/dev/null || true
# a socket per client, all open to the end
[ "$(ulimit -n)" -ge $((PER + 256)) ] || ulimit -n $((PER + 256))

step "server namespace dtls-psrv, $NS client namespaces, one veth pair each"
ip netns add dtls-psrv
ip -n dtls-psrv link set lo up
for i in $(seq 1 "$NS"); do
	ip netns add "dtls-pc$i"
	ip link add "vs$i" netns dtls-psrv type veth peer name "vc$i" netns "dtls-pc$i"
	ip -n dtls-psrv addr add "10.77.$i.1/24" dev "vs$i"
	ip -n "dtls-pc$i" addr add "10.77.$i.2/24" dev "vc$i"
	ip -n dtls-psrv link set "vs$i" up
	ip -n "dtls-pc$i" link set "vc$i" up
	ip -n "dtls-pc$i" link set lo up
	ip -n "dtls-pc$i" route add default via "10.77.$i.1"
done

step "server: one socket on port $PORT; $((NS * PER)) clients, $RECORDS records each"
t0=$(date +%s.%N)
ip netns exec dtls-psrv "$DP" -l --expire "$EXPIRE" --proc-out "$T/proc" \
	0.0.0.0 "$PORT" > "$T/srv.log" 2>&1 &
srv=$!
sleep 0.5
pids=()
for i in $(seq 1 "$NS"); do
	extra=()
	[ "$i" = 1 ] && extra=(--move --stuck)
	ip netns exec "dtls-pc$i" "$DP" -n "$PER" --first $(((i - 1) * PER + 1)) \
		--records "$RECORDS" --concurrency "$CONC" --bind "10.77.$i.2" \
		"${extra[@]}" "10.77.$i.1" "$PORT" > "$T/cli$i.log" 2>&1 &
	pids+=($!)
done
cli_rc=0
for p in "${pids[@]}"; do wait "$p" || cli_rc=1; done
t1=$(date +%s.%N)
cat "$T"/cli*.log

# SIGTERM: the server lets the handshakes in progress end or expire first
kill -TERM "$srv"
srv_rc=0
wait "$srv" || srv_rc=$?
srv=
t2=$(date +%s.%N)
cat "$T/srv.log"

step "/proc/net/dtls in dtls-psrv as the server left it: the socket, then its peers"
head -n 5 "$T/proc"
echo "  ..."
tail -n 3 "$T/proc"
peer_lines=$(grep -c '^peer:' "$T/proc" || true)
echo "($peer_lines peer lines)"
# the client that moved: its line has the address it moved to
read -r mid mto < <(sed -n 's/^peer \([0-9]*\) moved from .* to \([^ ]*\) .*/\1 \2/p' "$T/srv.log") || true
echo "the peer that moved:"
grep "^peer:${mid:-none} " "$T/proc" || true
mline=$(awk -v id="peer:${mid:-none}" '$1 == id { print $2 }' "$T/proc")

step "/proc/net/dtls_stat in dtls-psrv (the server's socket closed)"
ip netns exec dtls-psrv cat /proc/net/dtls_stat | tee "$T/stat"
stat() { awk -v n="$1" '$1 == n { print $2 }' "$T/stat"; }

step "result"
want=$((NS * PER))
installed=$(sed -n 's/^server: \([0-9]*\) peers installed.*/\1/p' "$T/srv.log")
expired=$(sed -n 's/.* \([0-9]*\) expired.*/\1/p' "$T/srv.log")
moved=$(sed -n 's/.* \([0-9]*\) moved,.*/\1/p' "$T/srv.log")
echoed=$(sed -n 's/^server: \([0-9]*\) records echoed.*/\1/p' "$T/srv.log")
printf 'clients %d, peers installed %s, records echoed %s, moved %s, expired %s; clients ran %.1f s, server %.1f s\n' \
	"$want" "$installed" "$echoed" "$moved" "$expired" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	"$(awk -v a="$t0" -v b="$t2" 'BEGIN { print b - a }')"
[ "$cli_rc" = 0 ] || bad "a client failed (see above)"
[ "$srv_rc" = 0 ] || bad "the server failed (status $srv_rc)"
[ "$installed" = "$want" ] || bad "$installed peers installed, not $want"
[ "$echoed" -ge $((want * RECORDS)) ] || bad "$echoed records echoed, not $((want * RECORDS))"
[ "$moved" = 1 ] || bad "the server saw $moved clients move, not 1"
[ -n "$mline" ] && [ "$mline" = "$mto" ] || bad "the peer that moved is at ${mline:-nowhere} in /proc/net/dtls, not $mto"
[ "$expired" = 1 ] || bad "$expired handshakes expired, not 1"
[ "$peer_lines" = "$want" ] || bad "/proc/net/dtls has $peer_lines peer lines, not $want"
# the namespace is the demo's own: its counters are the server socket's
[ "$(stat DtlsPeers)" = "$installed" ] || bad "DtlsPeers $(stat DtlsPeers), not $installed"
[ "$(stat DtlsCurrPeers)" = 0 ] || bad "DtlsCurrPeers $(stat DtlsCurrPeers) after close, not 0"
[ "$(stat DtlsRxPeerMoved)" = 1 ] || bad "DtlsRxPeerMoved $(stat DtlsRxPeerMoved), not 1"
echo "demo-peers: PASS: $want clients on one server socket, every echo checked; one moved, one expired"
