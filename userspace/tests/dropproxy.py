#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""UDP relay for interop.sh that loses the server's final handshake flight once.

dropproxy.py LISTEN_PORT SERVER_PORT [SECONDS [dtls13]]

Relays datagrams between one client and 127.0.0.1:SERVER_PORT and drops,
from server to client, the first datagram carrying a change_cipher_spec
record and the first carrying a protected (epoch >= 1) handshake record
(or tls12_cid record: connection IDs, RFC 9146).
The client then retransmits its final flight and the server, already
offloaded, must answer through the kernel.  With "dtls13": DTLS 1.3, where
the server's last word in the handshake is its ACK of the client's
Finished, the first record of epoch 3 it sends (the content type is
encrypted; the header's epoch bits say 3): the first datagram from the
server starting with such a record is dropped.  Prints "dropped N" at exit.
"""
import select
import socket
import sys
import time


def records(d):
    off = 0
    while off + 13 <= len(d):
        yield d[off], int.from_bytes(d[off + 3:off + 5], 'big')
        off += 13 + int.from_bytes(d[off + 11:off + 13], 'big')


def main():
    lport, sport = int(sys.argv[1]), int(sys.argv[2])
    end = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 60)
    dtls13 = len(sys.argv) > 4 and sys.argv[4] == 'dtls13'
    ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ls.bind(('127.0.0.1', lport))
    ss = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ss.connect(('127.0.0.1', sport))
    for s in (ls, ss):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    client = None
    drop_ccs = drop_fin = True
    dropped = 0
    while time.time() < end:
        r, _, _ = select.select([ls, ss], [], [], 0.5)
        if ls in r:
            d, client = ls.recvfrom(65535)
            ss.send(d)
        if ss in r:
            try:
                d = ss.recv(65535)
            except ConnectionRefusedError:
                continue
            hit = False
            if dtls13:
                # 001CSLEE with EE = 3: a DTLSCiphertext of epoch 3
                if drop_fin and d and (d[0] & 0xe3) == 0x23:
                    drop_fin, hit = False, True
                kinds = []
            else:
                kinds = list(records(d))
            if drop_ccs and any(t == 20 for t, _ in kinds):
                drop_ccs, hit = False, True
            # 25: tls12_cid (RFC 9146), the protected Finished of a session
            # with connection IDs; its type and epoch come before the CID
            if drop_fin and any(t in (22, 25) and e >= 1 for t, e in kinds):
                drop_fin, hit = False, True
            if hit:
                dropped += 1
                continue
            if client:
                ls.sendto(d, client)
    print("dropped %d" % dropped, file=sys.stderr)


if __name__ == '__main__':
    main()
