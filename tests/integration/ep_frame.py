#!/usr/bin/python3
# ep_frame.py - writes one framed request of the voxguard IPC protocol
# (src/proto/wire.h) for ipc_probe's `send`, for the endpoint-list
# integration test: the service must answer malformed and oversized
# endpoint policies with an error and keep serving.
#
#   ep_frame.py OUT OP NAME POLICY-FILE
#
# The request is [1, OP, {1: NAME, 70: POLICY bytes}], definite lengths.
import struct
import sys


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


out, op, name, policy = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
data = open(policy, "rb").read()
payload = (head(4, 3) + head(0, 1) + head(0, op) + head(5, 2)
           + head(0, 1) + head(3, len(name)) + name
           + head(0, 70) + head(2, len(data)) + data)
open(out, "wb").write(struct.pack(">I", len(payload)) + payload)
