#!/usr/bin/env python3
"""Talk to the device image's QEMU guest agent (qemu-ga) over its
virtio-serial socket: the device test's only way into the guest.

  qga.py SOCK wait SECONDS          until the agent answers (exit 1: timeout)
  qga.py SOCK exec [--timeout S] [--stdin FILE] -- CMD ARG...
                                    run CMD in the guest as root, print its
                                    stdout and stderr, exit with its status
                                    (124: it ran past --timeout, 125: the
                                    agent failed)
  qga.py SOCK put LOCAL REMOTE      copy a host file into the guest
  qga.py SOCK get REMOTE LOCAL      copy a guest file to the host

The agent speaks QMP-style JSON, one command per line; guest-sync with a
random id first, so a reply left over from an earlier, killed client is
never taken for ours. Nothing here listens on a network: the socket is a
file the test makes, and inside the guest the agent reads a virtio port.
The device image of `make image` has the agent only in its test variant
(docs/DEVICE.md)."""
import base64
import json
import os
import random
import socket
import sys
import time


class Agent:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.sync()

    def _line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("the guest agent closed the channel")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def sync(self):
        token = random.randrange(1, 2**31)
        # 0xff resets the agent's parser after a half-written command.
        self.s.sendall(b"\xff" + json.dumps(
            {"execute": "guest-sync-delimited", "arguments": {"id": token}}).encode() + b"\n")
        while True:
            line = self._line().lstrip(b"\xff").strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("return") == token:
                return

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            line = self._line().strip()
            if not line:
                continue
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError("%s: %s" % (cmd, reply["error"].get("desc", reply["error"])))
            if "return" in reply:
                return reply["return"]


def do_wait(path, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            a = Agent(path, timeout=3.0)
            a.call("guest-ping")
            return 0
        except (OSError, ConnectionError, ValueError):
            time.sleep(1)
    print("qga: no answer from the guest agent in %d s" % seconds, file=sys.stderr)
    return 1


def do_exec(path, argv):
    timeout = 300.0
    stdin = None
    while argv and argv[0] != "--":
        if argv[0] == "--timeout":
            timeout = float(argv[1])
            argv = argv[2:]
        elif argv[0] == "--stdin":
            with open(argv[1], "rb") as f:
                stdin = f.read()
            argv = argv[2:]
        else:
            print("qga: unknown exec option %s" % argv[0], file=sys.stderr)
            return 125
    argv = argv[1:]
    if not argv:
        print("qga: exec needs -- CMD", file=sys.stderr)
        return 125
    a = Agent(path, timeout=30.0)
    args = {"path": argv[0], "arg": argv[1:], "capture-output": True}
    if stdin is not None:
        args["input-data"] = base64.b64encode(stdin).decode()
    pid = a.call("guest-exec", **args)["pid"]
    end = time.monotonic() + timeout
    delay = 0.05
    while True:
        st = a.call("guest-exec-status", pid=pid)
        if st.get("exited"):
            break
        if time.monotonic() > end:
            print("qga: %s still running after %d s" % (argv[0], timeout), file=sys.stderr)
            return 124
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    sys.stdout.buffer.write(base64.b64decode(st.get("out-data", "")))
    sys.stdout.flush()
    sys.stderr.buffer.write(base64.b64decode(st.get("err-data", "")))
    if st.get("out-truncated") or st.get("err-truncated"):
        print("qga: output truncated by the agent", file=sys.stderr)
    if "signal" in st:
        return 128 + st["signal"]
    return st.get("exitcode", 125)


def do_put(path, local, remote):
    a = Agent(path, timeout=60.0)
    h = a.call("guest-file-open", path=remote, mode="wb")
    with open(local, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            a.call("guest-file-write", handle=h, **{"buf-b64": base64.b64encode(chunk).decode()})
    a.call("guest-file-close", handle=h)
    return 0


def do_get(path, remote, local):
    a = Agent(path, timeout=60.0)
    h = a.call("guest-file-open", path=remote, mode="rb")
    with open(local + ".part", "wb") as f:
        while True:
            r = a.call("guest-file-read", handle=h, count=1 << 20)
            f.write(base64.b64decode(r.get("buf-b64", "")))
            if r.get("eof") or not r.get("count"):
                break
    a.call("guest-file-close", handle=h)
    os.rename(local + ".part", local)
    return 0


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        if cmd == "wait" and len(rest) == 1:
            return do_wait(path, int(rest[0]))
        if cmd == "exec":
            return do_exec(path, rest)
        if cmd == "put" and len(rest) == 2:
            return do_put(path, rest[0], rest[1])
        if cmd == "get" and len(rest) == 2:
            return do_get(path, rest[0], rest[1])
    except (OSError, ConnectionError, RuntimeError, ValueError) as e:
        print("qga: %s: %s" % (cmd, e), file=sys.stderr)
        return 125
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
