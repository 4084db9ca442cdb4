#!/usr/bin/python3
"""vulnreport.py: the known vulnerabilities of voxguard's components, with
how reachable each is and the plan to fix it (AVS 1.8; docs/EVIDENCE.md,
"SBOM and vulnerability report").

  vulnreport.py --sbom voxguard.spdx.json --feed tracker.json
                [--release bookworm] [--voxguard PATH] [--md FILE] [--json FILE]

--sbom is the SPDX document of scripts/sbom.py. --feed is the Debian
security tracker's JSON export, fetched beforehand by whoever runs this
(https://security-tracker.debian.org/tracker/data/json; nothing is
downloaded here).

This script does not read the feed itself: `voxguard doctor` does
(src/posture/vulndb.c, the parser and Debian version order that the image
scan of AVS 1.13 uses). The SBOM's Debian packages are written as a dpkg
status file into a private temporary root, and

  voxguard doctor --root TMP --vuln-db FEED --release NAME --only vuln
                  --vuln-not-affected --json

matches each source package at its source version (the purl's upstream
qualifier, else the package itself) against the release (--release, else
the SBOM's distro qualifier: debian-12 is bookworm). Its findings, with
their "vuln" member (docs/HARDENING.md, "The JSON report"), become:

  - vuln.fixed (a fixed version newer than the installed one): fix
    available (upgrade); a fix at or below the installed version is no
    finding, so not reported;
  - vuln.not-affected (fixed version "0"): not affected (noted);
  - vuln.open: no fix yet (tracked, with a mitigation), unless Debian marks
    it ignored (nodsa_reason): noted;
  - vuln.undetermined: tracked until Debian decides.

Reachable: "yes" when a voxguard binary links the package's library or
loads it with dlopen() (the SBOM's DYNAMIC_LINK relationships);
"possibly" when it is only a runtime dependency (on the device, not used
by voxguard's code directly); "no" when it is a build dependency only (not
on the device because of voxguard).

--voxguard names the CLI (default: build/voxguard of this source tree,
else voxguard from PATH). Exit codes: 0 report written, 2 bad input (a
malformed SBOM or feed: the doctor's reason is repeated).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

RELEASES = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie",
            "14": "forky"}
URGENCY_RANK = {"high": 0, "medium": 1, "low": 2, "not yet assigned": 3,
                "unimportant": 4, "end-of-life": 5}
REACH_RANK = {"yes": 0, "possibly": 1, "no": 2}
UPDATE_PATH = ('the signed update path (docs/UPDATE.md, "Update strategy and '
               'maintenance policy (AVS 1.4)")')
TRACKER_URL = "https://security-tracker.debian.org/tracker/"
PKG_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]*")
ARCH = re.compile(r"[a-z0-9][a-z0-9-]*")


class Bad(Exception):
    pass


def load_json(path, what):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return json.loads(data), hashlib.sha256(data).hexdigest()
    except OSError as e:
        raise Bad("%s: %s" % (what, e))
    except ValueError as e:
        raise Bad("%s %s: not JSON: %s" % (what, path, e))


def sha256_of(path, what):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise Bad("%s: %s" % (what, e))
    return h.hexdigest()


def parse_purl(purl):
    """pkg:deb/debian/NAME@VERSION?q=v... -> (name, version, {q: v})"""
    m = re.match(r"^pkg:deb/[^/]+/([^@?#]+)@([^?#]+)(?:\?([^#]*))?", purl or "")
    if not m:
        return None
    q = {}
    for kv in (m.group(3) or "").split("&"):
        k, _, v = kv.partition("=")
        if k:
            q[k] = urllib.parse.unquote(v)
    return urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2)), q


class Sbom:
    def __init__(self, doc):
        if not isinstance(doc, dict) or doc.get("spdxVersion") != "SPDX-2.3":
            raise Bad("the SBOM is not an SPDX 2.3 JSON document")
        self.doc = doc
        pk = {p.get("SPDXID"): p for p in doc.get("packages") or [] if isinstance(p, dict)}
        files = {f.get("SPDXID"): f for f in doc.get("files") or [] if isinstance(f, dict)}
        rels = [r for r in doc.get("relationships") or [] if isinstance(r, dict)]
        self.own = sorted(r["relatedSpdxElement"] for r in rels
                          if r.get("relationshipType") == "DESCRIBES")
        if not self.own:
            raise Bad("the SBOM describes no package")
        self.debs = {}
        self.distro = None
        for sid, p in pk.items():
            for ref in p.get("externalRefs") or []:
                if ref.get("referenceType") != "purl":
                    continue
                got = parse_purl(ref.get("referenceLocator"))
                if not got:
                    continue
                name, ver, q = got
                up = q.get("upstream", name)
                src, _, srcver = up.partition("@")
                self.debs[sid] = {"name": name, "version": ver, "arch": q.get("arch", ""),
                                  "source": src, "source_version": srcver or ver,
                                  "runtime": [], "build": [], "links": []}
                self.distro = self.distro or q.get("distro")
        for r in rels:
            t, a, b = r.get("relationshipType"), r.get("spdxElementId"), r.get("relatedSpdxElement")
            c = r.get("comment", "")
            if t == "DEPENDS_ON" and a in self.own and b in self.debs:
                self.debs[b]["runtime"].append((pk[a].get("name"), c))
            elif t == "BUILD_DEPENDENCY_OF" and a in self.debs and b in self.own:
                self.debs[a]["build"].append((pk[b].get("name"), c))
            elif t == "DYNAMIC_LINK" and a in files and b in self.debs:
                fname = os.path.basename(files[a].get("fileName", a))
                self.debs[b]["links"].append((fname, c))
        names = [pk[s].get("name", s) for s in self.own]
        self.title = "%s (%s)" % (doc.get("name", "?"), ", ".join(names))


def reachability(group):
    """(reachable, on_device, reason) for the SBOM's packages of one source."""
    linked = [(d["name"], f, c) for d in group for f, c in d["links"]]
    if linked:
        by = {}
        for name, f, c in linked:
            how = "loaded with dlopen() by" if "dlopen" in c else "linked by"
            by.setdefault((name, how), set()).add(f)
        parts = ["%s is %s %s" % (name, how, ", ".join(sorted(fs)))
                 for (name, how), fs in sorted(by.items())]
        return "yes", True, "; ".join(parts)
    runtime = [(d["name"], c) for d in group for _, c in d["runtime"]]
    if runtime:
        name, how = sorted(runtime)[0]
        return "possibly", True, ("%s is on the device as a runtime dependency (%s); no "
                                  "voxguard binary links or loads it" % (name, how or "Depends"))
    names = sorted(set(d["name"] for d in group))
    return "no", False, ("%s: build dependency only (Build-Depends); not installed on the "
                         "device for voxguard" % ", ".join(names))


def valid_version(v):
    """dpkg's parseversion() rules, as src/posture/debver.c applies them: a
    version the doctor could not parse would be skipped, not reported."""
    if not v or len(v) > 256:
        return False
    epoch, colon, rest = v.partition(":")
    if colon and not (re.fullmatch(r"[0-9]+", epoch) and int(epoch) <= 2 ** 31 - 1):
        return False
    if not colon:
        rest = v
    up, hyphen, rev = rest.rpartition("-")
    if not hyphen:
        up, rev = rest, ""
    return bool(re.fullmatch(r"[0-9][A-Za-z0-9.+~:-]*", up) and
                (not hyphen or re.fullmatch(r"[A-Za-z0-9.+~]+", rev)))


def dpkg_status(sbom):
    """The SBOM's Debian packages as dpkg's var/lib/dpkg/status."""
    paras = []
    for d in sorted(sbom.debs.values(), key=lambda d: (d["name"], d["arch"], d["version"])):
        for what, val, ok in (("package", d["name"], PKG_NAME.fullmatch),
                              ("source package", d["source"], PKG_NAME.fullmatch),
                              ("version", d["version"], valid_version),
                              ("source version", d["source_version"], valid_version)):
            if not ok(val):
                raise Bad("SBOM: %s %r: not a Debian %s" % (d["name"], val, what))
        if d["arch"] and not ARCH.fullmatch(d["arch"]):
            raise Bad("SBOM: %s: architecture %r" % (d["name"], d["arch"]))
        p = ["Package: %s" % d["name"], "Status: install ok installed",
             "Version: %s" % d["version"]]
        if d["source_version"] != d["version"]:
            p.append("Source: %s (%s)" % (d["source"], d["source_version"]))
        elif d["source"] != d["name"]:
            p.append("Source: %s" % d["source"])
        if d["arch"]:
            p.append("Architecture: %s" % d["arch"])
        paras.append("\n".join(p) + "\n")
    return "\n".join(paras)


def default_voxguard():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    built = os.path.join(here, "build", "voxguard")
    if os.access(built, os.X_OK):
        return built
    return shutil.which("voxguard") or "voxguard"


def doctor(cli, sbom, feed, release):
    """voxguard doctor's vuln findings for the SBOM's packages."""
    with tempfile.TemporaryDirectory(prefix="vulnreport-") as root:
        os.makedirs(os.path.join(root, "var", "lib", "dpkg"))
        with open(os.path.join(root, "var", "lib", "dpkg", "status"), "w") as f:
            f.write(dpkg_status(sbom))
        cmd = [cli, "doctor", "--root", root, "--vuln-db", os.path.abspath(feed),
               "--release", release, "--only", "vuln", "--vuln-not-affected", "--json"]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, errors="replace")
        except OSError as e:
            raise Bad("cannot run %s: %s (give --voxguard PATH)" % (cli, e))
    if p.returncode not in (0, 1):  # 1: findings
        # its error is one line; a usage text may follow it
        lines = p.stderr.strip().splitlines() or ["exit status %d" % p.returncode]
        raise Bad("%s (%s)" % (lines[0], cli))
    try:
        out = json.loads(p.stdout)
    except ValueError as e:
        raise Bad("%s doctor: its JSON does not parse: %s" % (cli, e))
    if not isinstance(out, dict) or out.get("format") != "voxguard-doctor/1":
        raise Bad("%s doctor: not the voxguard-doctor/1 JSON" % cli)
    check = [c for c in out.get("checks") or [] if c.get("check") == "vuln"]
    if not check or check[0].get("status") not in ("ok", "findings") or out.get("truncated"):
        raise Bad("%s doctor: the vuln check did not run: %s" % (
            cli, check[0].get("note") if check else "not in the report"))
    findings = [f for f in out.get("findings") or [] if f.get("check") == "vuln"]
    for f in findings:
        if not isinstance(f.get("vuln"), dict):
            raise Bad("%s doctor: finding %s has no \"vuln\" member (a voxguard older "
                      "than this script?)" % (cli, f.get("id")))
    return findings


def urgency_of(v):
    u = str(v.get("urgency") or "not yet assigned").strip().rstrip("*").strip()
    return u or "not yet assigned"


def matcher_version(cli):
    try:
        p = subprocess.run([cli, "version"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, errors="replace")
    except OSError as e:
        raise Bad("cannot run %s: %s" % (cli, e))
    return p.stdout.strip() or "voxguard"


def assess(sbom, findings, release):
    groups = {}
    for d in sbom.debs.values():
        groups.setdefault((d["source"], d["source_version"]), []).append(d)
    vulns, noted = [], []
    for f in findings:
        v, fid = f["vuln"], f.get("id")
        src, srcver, cve = v.get("source"), v.get("installed"), v.get("cve")
        group = groups.get((src, srcver))
        if not group:
            raise Bad("the doctor reports %s %s, which the SBOM does not list" % (src, srcver))
        reach, on_device, reason = reachability(group)
        binaries = sorted(set(d["name"] for d in group))
        status, fixed = v.get("tracker_status") or "", v.get("fixed_version") or ""
        urgency = urgency_of(v)
        item = {"cve": cve, "source": src, "installed": srcver, "binaries": binaries,
                "urgency": urgency, "tracker": TRACKER_URL + cve,
                "tracker_status": status, "fixed_version": fixed or None,
                "reachable": reach, "on_device": on_device, "reason": reason}
        nodsa = (v.get("nodsa_reason") or "").strip()
        why = (v.get("nodsa") or "").strip()
        if fid == "vuln.not-affected":
            item.update(status="not-affected",
                        fix_plan="noted: Debian's %s package is not affected" % release)
            noted.append(item)
        elif fid == "vuln.fixed":
            item["status"] = "fix-available"
            dev = sorted(set(d["name"] for d in group if d["runtime"] or d["links"]))
            host = [b for b in binaries if b not in dev]
            plan = []
            if dev:
                plan.append("upgrade %s to %s or later via %s"
                            % (", ".join(dev), fixed, UPDATE_PATH))
            if host:
                plan.append("upgrade %s to %s or later on the build host before the next release "
                            "build%s" % (", ".join(host), fixed,
                                         "" if dev else "; nothing to ship to devices"))
            item["fix_plan"] = "; ".join(plan)
            vulns.append(item)
        elif fid == "vuln.open" and nodsa == "ignored":
            item.update(status="ignored",
                        fix_plan="noted: Debian will not fix it in %s (ignored%s); check "
                                 "it does not apply to the device" %
                                 (release, ": " + why if why else ""))
            noted.append(item)
        elif fid == "vuln.open" or (fid == "vuln.undetermined" and status == "undetermined"):
            item["status"] = "no-fix-yet" if fid == "vuln.open" else "undetermined"
            head = ("no fixed version in Debian %s yet" % release if fid == "vuln.open"
                    else "Debian has not yet determined whether %s is affected" % release)
            if nodsa == "postponed":
                head += " (postponed to a later point release%s)" % (": " + why if why else "")
            if urgency == "end-of-life":
                head += " (Debian no longer supports it in %s)" % release
            if reach == "yes":
                mit = ("check whether voxguard calls the affected code; restrict or "
                       "disable that use until the fix, then ship it via " + UPDATE_PATH)
            elif reach == "possibly":
                mit = ("voxguard does not call it; limit the exposure of the program "
                       "that uses it, then ship the fix via " + UPDATE_PATH)
            else:
                mit = "not on the device; upgrade the build host when a fix is released"
            item["fix_plan"] = "tracked (urgency %s): %s; mitigation: %s" % (urgency, head, mit)
            vulns.append(item)
        elif fid == "vuln.undetermined":
            # another tracker status, or a fixed version that does not parse
            item.update(status="undetermined",
                        fix_plan="tracked (urgency %s): the tracker's status is %r%s; "
                                 "assess by hand" % (urgency, status,
                                                     " with fixed version %r" % fixed
                                                     if fixed else ""))
            vulns.append(item)
        else:
            raise Bad("the doctor's finding %r is not a vulnerability finding" % fid)
    key = lambda v: (REACH_RANK[v["reachable"]], URGENCY_RANK.get(v["urgency"], 6),
                     v["source"], v["cve"])
    return sorted(vulns, key=key), sorted(noted, key=key)


def md_cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown(report):
    out = ["# Known vulnerabilities of voxguard's components (AVS 1.8)", ""]
    out.append("SBOM: %s, created %s (`%s`, SHA-256 %s).  " % (
        report["sbom"]["name"], report["sbom"]["created"], report["sbom"]["file"],
        report["sbom"]["sha256"]))
    out.append("Vulnerability data: the Debian security tracker's export `%s` "
               "(SHA-256 %s), release %s, matched by `voxguard doctor --vuln-db` (%s)." % (
                   report["feed"]["file"], report["feed"]["sha256"], report["release"],
                   report["matcher"]))
    out.append("")
    c = report["counts"]
    out.append("%d known vulnerabilities: %d with a fix available, %d without a fix yet, "
               "%d undetermined; %d reachable from voxguard's binaries, %d possibly, %d not "
               "on the device. %d more noted (not affected, or ignored by Debian)." % (
                   c["total"], c["fix-available"], c["no-fix-yet"], c["undetermined"],
                   c["reachable"]["yes"], c["reachable"]["possibly"], c["reachable"]["no"],
                   c["noted"]))
    out.append("")
    out.append("Reachable: **yes** = a voxguard binary links the library or loads it "
               "with dlopen(); **possibly** = on the device as a runtime dependency, not "
               "used by voxguard's code directly; **no** = a build dependency only.")
    out.append("")
    if report["vulnerabilities"]:
        out.append("| CVE | Source package (installed) | Urgency | Status | Reachable | Why | Fix plan |")
        out.append("|---|---|---|---|---|---|---|")
        for v in report["vulnerabilities"]:
            out.append("| %s | %s %s (%s) | %s | %s | %s | %s | %s |" % tuple(md_cell(x) for x in (
                v["cve"], v["source"], v["installed"], ", ".join(v["binaries"]), v["urgency"],
                v["status"] + (" (fixed in %s)" % v["fixed_version"] if v["status"] == "fix-available" else ""),
                v["reachable"], v["reason"], v["fix_plan"])))
        out.append("")
        out.append("## Descriptions")
        out.append("")
        out.append("Each vulnerability's description, scope and history are on its page of "
                   "the Debian security tracker:")
        out.append("")
        for v in report["vulnerabilities"]:
            out.append("- **%s** (%s): <%s>" % (v["cve"], v["source"], v["tracker"]))
        out.append("")
    else:
        out.append("No known vulnerability affects the installed versions.")
        out.append("")
    if report["noted"]:
        out.append("## Noted, no action")
        out.append("")
        out.append("| CVE | Source package | Tracker says | Note |")
        out.append("|---|---|---|---|")
        for v in report["noted"]:
            out.append("| %s | %s %s | %s | %s |" % tuple(md_cell(x) for x in (
                v["cve"], v["source"], v["installed"], v["status"], v["fix_plan"])))
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sbom", required=True)
    ap.add_argument("--feed", required=True, help="the Debian security tracker's JSON")
    ap.add_argument("--release", help="Debian release name (default: from the SBOM)")
    ap.add_argument("--voxguard", help="the voxguard CLI (default: build/voxguard of this "
                    "source tree, else voxguard from PATH)")
    ap.add_argument("--md", help="Markdown report (default: stdout)")
    ap.add_argument("--json", help="JSON report")
    args = ap.parse_args()
    try:
        doc, sbom_sha = load_json(args.sbom, "SBOM")
        sbom = Sbom(doc)
        feed_sha = sha256_of(args.feed, "feed")
        release = args.release
        if not release:
            m = re.match(r"^debian-(\d+)", sbom.distro or "")
            release = RELEASES.get(m.group(1)) if m else None
            if not release:
                raise Bad("no Debian release in the SBOM (distro %r): give --release" % sbom.distro)
        cli = args.voxguard or default_voxguard()
        vulns, noted = assess(sbom, doctor(cli, sbom, args.feed, release), release)
        matcher = matcher_version(cli)
    except Bad as e:
        print("vulnreport: %s" % e, file=sys.stderr)
        return 2
    counts = {"total": len(vulns), "noted": len(noted),
              "reachable": {k: sum(v["reachable"] == k for v in vulns) for k in REACH_RANK}}
    for s in ("fix-available", "no-fix-yet", "undetermined"):
        counts[s] = sum(v["status"] == s for v in vulns)
    report = {
        "format": "voxguard-vulnreport/1",
        "requirement": "AVS 1.8",
        "sbom": {"file": os.path.basename(args.sbom), "sha256": sbom_sha,
                 "name": doc.get("name"), "namespace": doc.get("documentNamespace"),
                 "created": (doc.get("creationInfo") or {}).get("created")},
        "feed": {"file": os.path.basename(args.feed), "sha256": feed_sha},
        "release": release,
        "matcher": matcher,
        "counts": counts,
        "vulnerabilities": vulns,
        "noted": noted,
    }
    text = markdown(report) + "\n"
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
