#!/usr/bin/env python3
"""A stand-in for the voice application's IPC server (tests and bench of
voxguard-displayd): a Unix socket speaking frames of u32 big-endian length +
payload. To each client it first sends "hello from ipc", then returns each
frame it receives as "echo:" + payload. Prints "listening" once bound.
  echo_ipc.py PATH"""
import os
import socket
import struct
import sys
import threading


def serve(c):
    try:
        c.sendall(struct.pack(">I", 14) + b"hello from ipc")
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                return
            buf += d
            out = b""
            while len(buf) >= 4:
                n = struct.unpack(">I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                msg, buf = buf[4:4 + n], buf[4 + n:]
                out += struct.pack(">I", n + 5) + b"echo:" + msg
            if out:
                c.sendall(out)
    except OSError:
        pass
    finally:
        c.close()


def main():
    path = sys.argv[1]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
