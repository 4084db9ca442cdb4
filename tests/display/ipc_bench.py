#!/usr/bin/env python3
"""The baseline of the display gateway bench: N round trips of a 64-byte
message straight to the IPC server's Unix socket (frames of u32 big-endian
length + payload), one at a time, the same loop as ws_client.py --bench.
Prints "rtt_us p50 p99" and "msgs_per_s".
  ipc_bench.py PATH N"""
import socket
import struct
import sys
import time


def need(s, n, buf):
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError
        buf += d
    return buf[:n], buf[n:]


def message(s, buf):
    h, buf = need(s, 4, buf)
    return need(s, struct.unpack(">I", h)[0], buf)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    buf = b""
    _, buf = message(s, buf)  # the greeting
    msg = struct.pack(">I", 64) + b"x" * 64
    rtts = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(msg)
        _, buf = message(s, buf)
        rtts.append(time.perf_counter() - t)
    total = time.perf_counter() - t0
    rtts.sort()
    print("rtt_us %.0f %.0f" % (rtts[len(rtts) // 2] * 1e6, rtts[int(len(rtts) * 0.99)] * 1e6))
    print("msgs_per_s %.0f" % (n / total))


main()
