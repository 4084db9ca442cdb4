#!/usr/bin/env python3
"""Runs the README's tour, as written, in a working directory.

    readme_tour.py README.md VARIANT WORKDIR PASSWORD

Reads the ```sh blocks of the section "## A 5-minute tour" of README.md.
A block right after "<!-- tour: root -->" or "<!-- tour: user -->" runs
only in that variant; the others run in both. The blocks are cut into
commands (a line with the lines it continues: a trailing backslash, "||",
"&&" or "|", or a for/while loop up to its "done") and run in order by one
bash (the README says "in one shell": its variables and its background
job carry over) on a pseudo-terminal, as a person types them: a password
prompt is answered with PASSWORD.

Each command must exit 0, except one whose comment says "refused", which
must fail. After a command that starts the service in the background, the
runner waits for its socket, as the person typing the next line would.

Prints one line per command ("ok - ..." / "not ok - ..."), then the whole
transcript; exits 0 when every command did as the README says, 1 otherwise
and 2 when the README cannot be read as a tour.
"""
import os
import pty
import re
import select
import sys
import time

PROMPTS = (b"new admin password: ", b"again: ", b"admin password: ")


def blocks(readme, variant):
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## A 5-minute tour\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise SystemExit("readme_tour: no '## A 5-minute tour' section")
    out, marker, lines, inside = [], None, [], False
    for line in m.group(1).split("\n"):
        if not inside:
            mk = re.fullmatch(r"<!-- tour: (\w+) -->", line.strip())
            if mk:
                marker = mk.group(1)
            elif line.startswith("```sh"):
                inside, lines = True, []
            elif line.strip():
                marker = None
            continue
        if line.startswith("```"):
            inside = False
            if marker is None or marker == variant:
                out.append(lines)
            marker = None
        else:
            lines.append(line)
    if inside:
        raise SystemExit("readme_tour: an unclosed code block")
    return out


def commands(block):
    cmds, cur, loop = [], [], 0
    for line in block:
        if not line.strip() and not cur:
            continue
        cur.append(line)
        code = line.split(" #")[0].rstrip() if not line.lstrip().startswith("#") else ""
        loop += len(re.findall(r"^\s*(for|while)\b", line)) - len(re.findall(r"\bdone\b", code))
        if loop > 0 or re.search(r"(\\|\|\||&&|\|)$", code):
            continue
        cmds.append("\n".join(cur))
        cur = []
    if cur:
        raise SystemExit("readme_tour: a command runs off the end of its block: %r" % cur)
    return cmds


def script(cmds):
    out = ["set +e", "vg_rc() { printf '\\n@@rc %s %s\\n' \"$1\" \"$2\"; }"]
    for i, c in enumerate(cmds):
        out.append("echo '@@step %d'" % i)
        out.append(c)
        out.append("vg_rc %d $?" % i)
        if re.search(r"&\s*$", c.split(" #")[0]):
            sock = re.search(r"--socket\s+(\S+)", c)
            if not sock:
                raise SystemExit("readme_tour: a background command without --socket")
            out.append("for vg_i in $(seq 200); do [ -S %s ] && break; sleep 0.05; done"
                       % sock.group(1))
    out.append("wait")
    out.append("echo '@@end'")
    return "\n".join(out) + "\n"


def run(text, workdir, password, timeout=420):
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(workdir)
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-c", text])
    buf, pending, deadline = b"", b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
        pending += data
        for p in PROMPTS:
            if pending.endswith(p):
                os.write(fd, password.encode() + b"\n")
                pending = b""
                break
        pending = pending[-64:]
    else:
        os.kill(pid, 9)
        buf += b"\n@@timeout\n"
    os.waitpid(pid, 0)
    return buf.decode("utf-8", "replace").replace("\r\n", "\n")


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    readme, variant, workdir, password = sys.argv[1:]
    cmds = [c for b in blocks(readme, variant) for c in commands(b)]
    if len(cmds) < 20:
        print("not ok - the tour has %d commands: the README was not read" % len(cmds))
        return 2
    out = run(script(cmds), workdir, password)
    rcs = {int(a): int(b) for a, b in re.findall(r"^@@rc (\d+) (\d+)$", out, re.M)}
    fails = 0
    for i, c in enumerate(cmds):
        first = c.split("\n")[0].strip()
        want_fail = "refused" in c
        rc = rcs.get(i)
        good = rc is not None and ((rc != 0) if want_fail else (rc == 0))
        fails += not good
        print("%s - tour (%s) %s: exit %s%s" % ("ok" if good else "not ok", variant, first[:100],
                                               rc, ", refused as the README says" if want_fail else ""))
    if "@@end" not in out:
        fails += 1
        print("not ok - tour (%s): the shell did not reach the end" % variant)
    print("# transcript:")
    for line in out.split("\n"):
        print("#   " + line)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
