#!/usr/bin/env python3
"""A non-browser WebSocket client for the voxguard-displayd tests and bench
(no third-party modules: the handshake and frames of RFC 6455 by hand).
  ws_client.py PORT CERT [--origin O] [--token T] [--subprotocols LIST]
               [--send MSG]... [--expect N] [--plain] [--hold S]
               [--client-cert PEM --client-key KEY] [--bench N]
Trusts CERT alone (partial chain: a self-issued certificate). Prints
"status CODE", then "recv: MSG" for each message; exit 0 when upgraded and
N messages arrived, 1 when refused, 2 on a usage error.
--bench N: N round trips of a 64-byte message, one at a time; prints
"rtt_us p50 p99" and "msgs_per_s"."""
import argparse
import base64
import os
import socket
import ssl
import struct
import sys
import time


def frame(payload, opcode=1):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self):
        b0, b1 = self.need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.need(8))[0]
        data = self.need(n)
        return b0 & 0x0F, data


def connect(a):
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.plain:
        return raw
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.cert)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if a.client_cert:
        ctx.load_cert_chain(a.client_cert, a.client_key)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("cert")
    p.add_argument("--origin")
    p.add_argument("--token")
    p.add_argument("--subprotocols")
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--plain", action="store_true")
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--client-cert")
    p.add_argument("--client-key")
    p.add_argument("--bench", type=int, default=0)
    # A token is base64url: one in 64 starts with "-", which argparse
    # would take for an option ("--token -x..."): pass it as --token=VALUE.
    argv = sys.argv[1:]
    for i in range(len(argv) - 1):
        if argv[i] == "--token":
            argv[i : i + 2] = ["--token=" + argv[i + 1]]
            break
    a = p.parse_args(argv)
    try:
        s = connect(a)
    except (OSError, ssl.SSLError) as e:
        print("refused: tls: %s" % e)
        return 1
    key = base64.b64encode(os.urandom(16)).decode()
    protos = a.subprotocols
    if protos is None and a.token is not None:
        protos = "vg-display, vg-token." + a.token
    req = ["GET / HTTP/1.1", "Host: localhost:%d" % a.port, "Upgrade: websocket",
           "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if a.origin:
        req.append("Origin: " + a.origin)
    if protos:
        req.append("Sec-WebSocket-Protocol: " + protos)
    try:
        s.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
    except (OSError, ssl.SSLError) as e:
        print("refused: %s" % e)
        return 1
    if not head:
        print("refused: closed")
        return 1
    status = head.split(b" ", 2)[1].decode(errors="replace")
    print("status " + status)
    if status != "101":
        return 1
    head, rest = head.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-protocol:"):
            print("subprotocol " + line.split(b":", 1)[1].strip().decode())
    r = Reader(s)
    r.buf = rest
    if a.bench:
        msg = b"x" * 64
        r.message()  # the greeting
        rtts = []
        t0 = time.perf_counter()
        for _ in range(a.bench):
            t = time.perf_counter()
            s.sendall(frame(msg))
            r.message()
            rtts.append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        rtts.sort()
        print("rtt_us %.0f %.0f" % (rtts[len(rtts) // 2] * 1e6, rtts[int(len(rtts) * 0.99)] * 1e6))
        print("msgs_per_s %.0f" % (a.bench / total))
        return 0
    for m in a.send:
        s.sendall(frame(m.encode()))
    got = 0
    try:
        while got < a.expect:
            op, data = r.message()
            if op == 8:
                print("closed by server")
                break
            print("recv: " + data.decode(errors="replace"))
            got += 1
    except (EOFError, OSError, ssl.SSLError):
        print("closed")
    if a.hold:
        time.sleep(a.hold)
    return 0 if got >= a.expect else 1


sys.exit(main())
