#!/usr/bin/env python3
"""Loads URL in headless chromium and prints the display page's outcome
(the text of #result) once it is no longer "pending", or "pending" after
SECONDS of real time. Drives chromium over --remote-debugging-pipe (the
DevTools protocol on file descriptors 3 and 4, NUL-terminated JSON), with
nothing but the standard library: no virtual time, whose timers run ahead
of the network. URL "-" reads the URL from standard input: a URL holding a
token must never be on a command line, which every uid can read in
/proc/PID/cmdline (chromium itself starts on about:blank and gets the URL
over the pipe).
  cdp_result.py SECONDS URL|- CHROMIUM-ARGS..."""
import json
import os
import subprocess
import sys
import time


def main():
    secs, url, extra = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if url == "-":
        url = sys.stdin.readline().strip()
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    # chromium reads commands on fd 3 and writes replies on fd 4.
    def setup():
        os.dup2(to_chrome_r, 3)
        os.dup2(from_chrome_w, 4)
    p = subprocess.Popen(["chromium", "--headless=new", "--remote-debugging-pipe"] + extra +
                         ["about:blank"], pass_fds=(3, 4), preexec_fn=setup,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    buf = b""
    seq = [0]

    def send(method, params=None, session=None):
        seq[0] += 1
        m = {"id": seq[0], "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(to_chrome_w, json.dumps(m).encode() + b"\0")
        return seq[0]

    def reply(want, deadline):
        nonlocal buf
        while time.time() < deadline:
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == want:
                    return m
            d = os.read(from_chrome_r, 65536)
            if not d:
                return None
            buf += d
        return None

    deadline = time.time() + secs
    result = "pending"
    try:
        r = reply(send("Target.createTarget", {"url": url}), deadline)
        tid = r["result"]["targetId"]
        r = reply(send("Target.attachToTarget", {"targetId": tid, "flatten": True}), deadline)
        sid = r["result"]["sessionId"]
        expr = "(document.getElementById('result')||{}).textContent||'pending'"
        while time.time() < deadline:
            r = reply(send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, sid),
                      deadline)
            v = r and r.get("result", {}).get("result", {}).get("value")
            if v and v != "pending":
                result = v
                break
            time.sleep(0.1)
        send("Browser.close")
    except (KeyError, TypeError, OSError, ValueError):
        result = "driver error"
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    print(result)


main()
