#!/usr/bin/env python3
"""Generate a Security Target (ST) for a product built on voxguard.

The ST follows the structure of the PSA Certified Smart Speaker and Voice
Assistant SESIP profile (summarised in evidence/profile.json). It is made
from:

- docs/REQUIREMENTS.md: for every SFR, the code and the tests that prove it;
- evidence/rationale.json: voxguard's selections for each SFR's parameters,
  its conformance rationale and guidance references, the objectives for the
  environment, the ALC_FLR.2 procedure and the SESIP2 sufficiency rows;
- the device maker's product file (evidence/product.example.json is the
  example): platform reference, hardware, TOE boundary, endpoints, contact;
- one or more CTest JUnit files (ctest --output-junit), each with the commit
  that was tested in junit.commit beside it.

A requirement is claimed only when every test REQUIREMENTS.md names for it
passed in the given results; otherwise the ST says "NOT CLAIMED" and why.

Writes ST.md, ST.html and claims.json into the output directory (default
build/evidence/). Exits 1, writing nothing, when a check fails: a
placeholder of the profile left unfilled, an SFR without a test, a test
named in REQUIREMENTS.md that does not exist in tests/ or fuzz/, a guidance
reference to a missing file or section, an incomplete product file.
docs/EVIDENCE.md explains the use. Python 3 standard library only.
"""

import argparse
import collections
import datetime
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------- helpers


class Errors:
    def __init__(self):
        self.items = []

    def add(self, msg):
        self.items.append(msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_json(path, errors, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        errors.add(f"{what} {path}: {e}")
        return None


def paragraphs(v):
    """A text field is a string or a list of paragraphs."""
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [p for p in v if isinstance(p, str)]


def git_commit(root):
    """HEAD, with -dirty when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        st = subprocess.run(["git", "-C", root, "status", "--porcelain"], capture_output=True,
                            text=True, check=True).stdout.strip()
        return head + ("-dirty" if st else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def short(commit):
    if not commit or commit == "unknown":
        return "unknown commit"
    dirty = commit.endswith("-dirty")
    c = commit[:-6] if dirty else commit
    return c[:12] + ("-dirty" if dirty else "")


def voxguard_version(root):
    m = re.search(r"project\(\s*voxguard\s+VERSION\s+([0-9.]+)", read(os.path.join(root, "CMakeLists.txt")))
    return m.group(1) if m else "unknown"


ISSUE_RES = [
    (re.compile(r"\((?:issues?\s+#?\d+(?:\s*,\s*items?\s+[\d, and]+)?)\s*[:;,]\s*"), "("),
    (re.compile(r"\s*\(issues?\s+#?\d+[^()]*\)"), ""),
    (re.compile(r"\s*(?:—|--)\s*issues?\s+#?\d+"), ""),
    (re.compile(r"\s*(?:—|--)\s*no issue filed"), ""),
    (re.compile(r",?\s*\bissues?\s+#?\d+\b"), ""),
]


def drop_issue_refs(s):
    """The project's tracker numbers mean nothing to an evaluator."""
    for rx, rep in ISSUE_RES:
        s = rx.sub(rep, s)
    return s


# ------------------------------------------------------------ the tests


class TestIndex:
    """What exists in tests/ and fuzz/, and the CTest name of each test
    (tests/CMakeLists.txt: tests/test_X.c runs as test_X, each
    tests/integration/test_X.sh as integration_test_X)."""

    def __init__(self, root):
        self.root = root
        tdir = os.path.join(root, "tests")
        self.unit_files = set()
        self.fn_files = {}  # cmocka function -> [file stems]
        self.fn_refs = {}  # (function, stem) -> occurrences in the file
        for f in sorted(os.listdir(tdir)):
            m = re.fullmatch(r"(test_[a-z0-9_]+)\.c", f)
            if not m:
                continue
            stem = m.group(1)
            self.unit_files.add(stem)
            src = read(os.path.join(tdir, f))
            words = collections.Counter(re.findall(r"\btest_[A-Za-z0-9_]+\b", src))
            for fn in set(re.findall(r"\bvoid\s+(test_[A-Za-z0-9_]+)\s*\(", src)):
                self.fn_files.setdefault(fn, []).append(stem)
                self.fn_refs[(fn, stem)] = words[fn]
        idir = os.path.join(tdir, "integration")
        self.scripts = {f[:-3] for f in os.listdir(idir) if re.fullmatch(r"test_[a-z0-9_]+\.sh", f)}
        fdir = os.path.join(root, "fuzz")
        self.fuzz = {f[:-2] for f in os.listdir(fdir) if re.fullmatch(r"fuzz_[a-z0-9_]+\.c", f)} \
            if os.path.isdir(fdir) else set()

    def classify(self, span):
        """A backticked name from REQUIREMENTS.md: (kind, name, ctests, problem) or None.
        kind is unit, script or fuzz; ctests the CTest names that run it."""
        if "<" in span or "*" in span:
            return None
        m = re.fullmatch(r"(?:tests/integration/)?(test_[a-z0-9_]+)\.sh", span)
        if m:
            stem = m.group(1)
            if stem not in self.scripts:
                return ("script", span, [], "no tests/integration/%s.sh" % stem)
            return ("script", span, ["integration_" + stem], None)
        m = re.fullmatch(r"tests/(test_[a-z0-9_]+)\.c", span)
        if m:
            stem = m.group(1)
            if stem not in self.unit_files:
                return ("unit", span, [], "no tests/%s.c" % stem)
            return ("unit", span, [stem], None)
        m = re.fullmatch(r"(?:fuzz/)?(fuzz_[a-z0-9_]+)\.c", span)
        if m:
            stem = m.group(1)
            if stem not in self.fuzz:
                return ("fuzz", span, [], "no fuzz/%s.c" % stem)
            return ("fuzz", span, [], None)
        if re.fullmatch(r"test_[a-z0-9_]+", span):
            if span in self.unit_files:
                return ("unit", span, [span], None)
            files = self.fn_files.get(span)
            if not files:
                return ("unit", span, [], "no test function %s in tests/test_*.c" % span)
            unregistered = [f for f in files if self.fn_refs[(span, f)] < 2]
            if unregistered:
                return ("unit", span, [], "%s is defined in tests/%s.c but never registered"
                        % (span, unregistered[0]))
            return ("unit", span, list(files), None)
        return None


# ------------------------------------------------------ REQUIREMENTS.md


def split_row(line):
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0].strip() == "":
        cells = cells[1:]
    if cells and cells[-1].strip() == "":
        cells = cells[:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def spans(text):
    return re.findall(r"`([^`\n]+)`", text)


def quoted_checks(text):
    return re.findall(r"\"([^\"\n]+)\"", text)


class Requirements:
    """The traceability page: per requirement id (4.2.1 ... 4.3.1, AVS 1.x,
    AGD_OPE.1), the rows that name it, their code and their tests."""

    def __init__(self, path, index, errors):
        self.path = path
        self.reqs = {}  # id -> dict(status, code, tests, fuzz, device)
        self.all_refs = []  # every classified test reference of the page
        text = read(path)
        lines = text.split("\n")
        # Every backticked test name on the page, outside fenced blocks.
        fenced = False
        for ln in lines:
            if ln.startswith("```"):
                fenced = not fenced
                continue
            if fenced:
                continue
            for s in spans(ln):
                c = index.classify(s)
                if c:
                    self.all_refs.append(c)
        for kind, name, ctests, problem in self.all_refs:
            if problem:
                errors.add("docs/REQUIREMENTS.md names the test `%s`, which does not exist: %s"
                           % (name, problem))
        self._tables(lines, index)

    def _req(self, rid):
        return self.reqs.setdefault(rid, {"status": "", "title": "", "code": [], "tests": [],
                                          "fuzz": [], "device": [], "rows": 0})

    def _tables(self, lines, index):
        heading = ""
        i = 0
        while i < len(lines):
            ln = lines[i]
            if ln.startswith("#"):
                heading = ln.lstrip("#").strip()
            if ln.startswith("|") and i + 1 < len(lines) and re.match(r"^\|\s*-{3,}", lines[i + 1]):
                header = split_row(ln)
                rows = []
                i += 2
                while i < len(lines) and lines[i].startswith("|"):
                    rows.append(split_row(lines[i]))
                    i += 1
                self._table(heading, header, rows, index)
                continue
            i += 1

    def _table(self, heading, header, rows, index):
        h0 = header[0].lower() if header else ""
        code_cols = {j for j, h in enumerate(header) if h.lower() == "code"}
        # A claim table's header may name the script its quoted checks come from.
        default_scripts = []
        for j, h in enumerate(header):
            for s in spans(h):
                c = index.classify(s)
                if c and c[0] == "script":
                    default_scripts.append((j, c))
        for cells in rows:
            if not cells:
                continue
            first = cells[0]
            ids = []
            if heading.startswith("1. SESIP") and h0 == "sfr":
                m = re.match(r"(4\.[23]\.\d+)\s+(.*)", first)
                if m:
                    ids = [m.group(1)]
                    r = self._req(m.group(1))
                    r["title"] = m.group(2)
                    r["status"] = cells[1] if len(cells) > 1 else ""
            elif "claim by claim" in heading and h0 == "claim":
                m = re.match(r"(4\.[23]\.\d+)-", first)
                if m:
                    ids = [m.group(1)]
            elif heading.startswith("On a booted device") and h0 == "requirement":
                found = re.findall(r"(?<![\d.])(4\.[23]\.\d+)\b", first)
                for rid in found:
                    self._req(rid)["device"].extend(quoted_checks(cells[1] if len(cells) > 1 else ""))
                continue
            elif heading.startswith("2. AVS") and h0 == "req":
                m = re.match(r"(1\.\d+)\s", first)
                if m:
                    ids = ["AVS " + m.group(1)]
                    r = self._req(ids[0])
                    r["status"] = cells[1] if len(cells) > 1 else ""
            elif h0 == "requirement" and "AGD_" in first:
                ids = re.findall(r"AGD_[A-Z]+\.\d", first)
                for rid in ids:
                    self._req(rid)["status"] = cells[1] if len(cells) > 1 else ""
            if not ids:
                continue
            for rid in ids:
                r = self._req(rid)
                r["rows"] += 1
                for j, cell in enumerate(cells):
                    if j in code_cols:
                        self._code(r, cell)
                        continue
                    for s in spans(cell):
                        c = index.classify(s)
                        if not c or c[3]:
                            continue
                        if c[0] == "fuzz":
                            if c[1] not in r["fuzz"]:
                                r["fuzz"].append(c[1])
                        else:
                            r["tests"].append(c)
                    for dj, c in default_scripts:
                        if dj == j and '"' in cell and not c[3]:
                            r["tests"].append(c)

    @staticmethod
    def _code(r, cell):
        current = None
        for s in spans(cell):
            if re.fullmatch(r"(?:src|include|systemd|boot|data|device|scripts|etc|integration)/[^\s]*"
                            r"|CMakeLists\.txt|Makefile", s):
                current = s
                if not any(p == s for p, _ in r["code"]):
                    r["code"].append((s, []))
            elif current and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\(\)", s):
                for p, fns in r["code"]:
                    if p == current and s not in fns:
                        fns.append(s)

    def ctests(self, rid):
        """The CTest tests that must pass for rid, each with the names the
        page gives for it."""
        out = {}
        for kind, name, ctests, problem in self.reqs.get(rid, {}).get("tests", []):
            for t in ctests:
                names = out.setdefault(t, [])
                if name not in names:
                    names.append(name)
        return out


# ---------------------------------------------------------------- JUnit


class Results:
    """Test results from CTest JUnit files, each with the commit tested
    (junit.commit beside it, one line, written by the Makefile)."""

    def __init__(self, files, errors):
        self.runs = []  # dict(file, label, commit)
        self.by_test = {}  # name -> [(state, run index, failed functions)]
        for path in files:
            try:
                tree = ET.parse(path)
            except (OSError, ET.ParseError) as e:
                errors.add(f"JUnit file {path}: {e}")
                continue
            cfile = os.path.join(os.path.dirname(os.path.abspath(path)), "junit.commit")
            commit = "unknown"
            if os.path.exists(cfile):
                commit = read(cfile).strip() or "unknown"
            label = os.path.basename(os.path.dirname(os.path.abspath(path))) or path
            self.runs.append({"file": path, "label": label, "commit": commit})
            ri = len(self.runs) - 1
            for tc in tree.iter("testcase"):
                name = tc.get("name", "")
                status = (tc.get("status") or "").lower()
                out = tc.findtext("system-out") or ""
                failed_fns = sorted(set(re.findall(r"\[\s+FAILED\s+\]\s+(test_[A-Za-z0-9_]+)", out)))
                if tc.find("failure") is not None or tc.find("error") is not None or status == "fail":
                    state = "failed"
                elif tc.find("skipped") is not None or status in ("notrun", "disabled"):
                    state = "not run"
                else:
                    state = "passed"
                self.by_test.setdefault(name, []).append((state, ri, failed_fns))

    def state(self, name):
        """failed if any run failed it; passed if a run passed it and none
        failed; else not run (absent, skipped or disabled everywhere)."""
        rs = self.by_test.get(name, [])
        if any(s == "failed" for s, _, _ in rs):
            return "failed"
        if any(s == "passed" for s, _, _ in rs):
            return "passed"
        return "not run"

    def detail(self, name):
        rs = self.by_test.get(name, [])
        if not rs:
            return "no result"
        parts = []
        for s, ri, fns in rs:
            run = self.runs[ri]
            d = "%s: %s at %s" % (run["label"], s, short(run["commit"]))
            if fns:
                d += " (%s)" % ", ".join(fns)
            parts.append(d)
        return "; ".join(parts)


# ------------------------------------------------------------- checks


PLACEHOLDER_RES = [
    (re.compile(r"<ST writer"), "an unfilled \"<ST writer: ...>\" rationale"),
    (re.compile(r"<(?:TBD|[^<>\n`]*\s[^<>\n`]*)>"), "an unfilled \"<...>\" parameter"),
    (re.compile(r"\{\{[^{}]*\}\}"), "an unfilled {{...}} product field"),
]


def strip_code(text):
    return re.sub(r"`[^`\n]*`", "", text)


def placeholder_problems(text, where):
    out = []
    body = strip_code(text)
    for rx, what in PLACEHOLDER_RES:
        for m in rx.finditer(body):
            out.append("%s: %s left: %s" % (where, what, m.group(0)[:80]))
    return out


class TextOnly(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.stack = []
        self.problems = []
        self.in_code = 0

    VOID = {"meta", "br", "hr", "img", "link", "col"}

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag in ("code", "pre"):
            self.in_code += 1

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("unbalanced </%s>" % tag)
        else:
            self.stack.pop()
        if tag in ("code", "pre"):
            self.in_code -= 1

    def handle_data(self, data):
        if not self.in_code:
            self.parts.append(data)


def path_section_ok(root, ref):
    """(ok, problem) for a guidance reference {path, section?}: the file
    exists and, for a section, one of its headings starts with it."""
    path = ref.get("path", "")
    full = os.path.join(root, path)
    if not path or not os.path.exists(full):
        return False, "%s does not exist" % (path or "(no path)")
    sec = ref.get("section")
    if not sec:
        return True, None
    heads = []
    for ln in read(full).split("\n"):
        m = re.match(r"#{1,6}\s+(.*)", ln)
        if m:
            heads.append(m.group(1).strip())
    if any(h.lower().startswith(sec.lower()) for h in heads):
        return True, None
    return False, "%s has no section \"%s\"" % (path, sec)


def ref_text(ref):
    if ref.get("section"):
        return "`%s`, \"%s\"" % (ref["path"], ref["section"])
    return "`%s`" % ref["path"]


# ------------------------------------------------------ the product file


PRODUCT_REQUIRED = [
    "platform.name", "platform.version", "platform.identification", "platform.oem",
    "platform.model", "platform.hw_rev", "description", "root_of_trust", "hardware",
    "endpoints", "remote_services", "update_policy", "contact.organisation",
    "contact.security_email", "contact.vulnerability_reporting_url", "contact.advisories_url",
]


def lookup(d, dotted):
    cur = d
    for k in dotted.split("."):
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def empty(v):
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (list, dict)):
        return len(v) == 0
    return False


def check_product(product, errors):
    for f in PRODUCT_REQUIRED:
        if empty(lookup(product, f)):
            errors.add("product file: \"%s\" is missing or empty" % f)
    rot = product.get("root_of_trust")
    if rot not in (None, "", "tpm2", "file"):
        errors.add("product file: root_of_trust must be \"tpm2\" or \"file\", not %r" % rot)
    for i, ep in enumerate(product.get("endpoints") or []):
        for k in ("name", "host", "port"):
            if not isinstance(ep, dict) or empty(ep.get(k)):
                errors.add("product file: endpoints[%d] has no \"%s\"" % (i, k))


def endpoint_text(ep):
    s = "%s (%s:%s" % (ep.get("name"), ep.get("host"), ep.get("port"))
    if ep.get("trust"):
        s += ", trusting %s" % ep["trust"]
    if ep.get("used_by"):
        s += ", for %s" % ep["used_by"]
    return s + ")"


def fill(text, product, version):
    """Replaces {{field}} by the product file's value (a dotted path), or
    by one of the derived values; unknown fields are left for the
    placeholder check to report."""
    derived = {
        "voxguard_version": version,
        "endpoints": "; ".join(endpoint_text(e) for e in product.get("endpoints") or []),
        "hardware_list": "; ".join(product.get("hardware") or []),
        "remote_services": "; ".join("%s (%s)" % (r.get("name"), r.get("address"))
                                     for r in product.get("remote_services") or []
                                     if isinstance(r, dict)),
    }

    def rep(m):
        k = m.group(1).strip()
        v = derived.get(k)
        if empty(v):
            v = lookup(product, k)
        if empty(v) or not isinstance(v, (str, int, float)):
            return m.group(0)
        return str(v)
    return re.sub(r"\{\{([^{}]*)\}\}", rep, text)


# ----------------------------------------------------------- the model


class Doc:
    """The ST as blocks, rendered to Markdown and to HTML alike."""

    def __init__(self):
        self.blocks = []

    def h(self, level, text, anchor=None):
        self.blocks.append(("h", level, text, anchor))

    def p(self, text):
        self.blocks.append(("p", text))

    def ul(self, items):
        self.blocks.append(("ul", [i for i in items]))

    def table(self, header, rows):
        self.blocks.append(("table", header, rows))

    def pre(self, text):
        self.blocks.append(("pre", text))

    # Markdown
    def markdown(self):
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "ul":
                out.append("\n".join("- " + i.replace("\n", " ") for i in b[1]))
            elif b[0] == "table":
                def row(cells):
                    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ")
                                             for c in cells) + " |"
                lines = [row(b[1]), "| " + " | ".join("---" for _ in b[1]) + " |"]
                lines += [row(r) for r in b[2]]
                out.append("\n".join(lines))
            elif b[0] == "pre":
                out.append("```\n" + b[1] + "\n```")
        return "\n\n".join(out) + "\n"

    # HTML (well-formed XML as well)
    @staticmethod
    def inline(text):
        parts = re.split(r"(`[^`\n]*`)", text)
        out = []
        for part in parts:
            if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
                out.append("<code>%s</code>" % html.escape(part[1:-1]))
            else:
                e = html.escape(part)
                e = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", e)
                out.append(e)
        return "".join(out)

    def html(self, title):
        o = ['<?xml version="1.0" encoding="utf-8"?>', "<!DOCTYPE html>",
             '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">', "<head>",
             '<meta charset="utf-8"/>', "<title>%s</title>" % html.escape(title),
             "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.3em;"
             "vertical-align:top;text-align:left}th{background:#eee}code{font-size:90%}"
             ".nc{color:#a00;font-weight:bold}.ok{color:#060;font-weight:bold}</style>",
             "</head>", "<body>"]
        for b in self.blocks:
            if b[0] == "h":
                aid = ' id="%s"' % html.escape(b[3]) if b[3] else ""
                o.append("<h%d%s>%s</h%d>" % (b[1], aid, self.inline(b[2]), b[1]))
            elif b[0] == "p":
                o.append("<p>%s</p>" % self.cls(self.inline(b[1])))
            elif b[0] == "ul":
                o.append("<ul>" + "".join("<li>%s</li>" % self.cls(self.inline(i)) for i in b[1]) + "</ul>")
            elif b[0] == "table":
                o.append("<table><thead><tr>" + "".join("<th>%s</th>" % self.inline(str(c)) for c in b[1])
                         + "</tr></thead><tbody>")
                for r in b[2]:
                    o.append("<tr>" + "".join("<td>%s</td>" % self.cls(self.inline(str(c))) for c in r)
                             + "</tr>")
                o.append("</tbody></table>")
            elif b[0] == "pre":
                o.append("<pre>%s</pre>" % html.escape(b[1]))
        o += ["</body>", "</html>"]
        return "\n".join(o) + "\n"

    @staticmethod
    def cls(s):
        s = s.replace("<strong>NOT CLAIMED", '<strong class="nc">NOT CLAIMED')
        s = s.replace("<strong>CLAIMED", '<strong class="ok">CLAIMED')
        return s


# ------------------------------------------------------------ generator


def test_reasons(tests, results):
    """["test A failed", "tests B, C not run"]: why a claim is not made."""
    out = []
    for state in ("failed", "not run"):
        names = [t for t in tests if results.state(t) == state]
        if names:
            out.append("test%s %s %s" % ("s" if len(names) > 1 else "", ", ".join(names), state))
    return out


def anchor(rid):
    return "sfr-" + rid.replace(".", "-")


def generate(args):
    errors = Errors()
    root = args.root
    profile = load_json(args.profile, errors, "profile data")
    rationale = load_json(args.rationale, errors, "rationale")
    product = load_json(args.product, errors, "product file")
    if errors.items:
        return errors, None
    check_product(product, errors)
    index = TestIndex(root)
    reqs = Requirements(args.requirements, index, errors)
    results = Results(args.junit, errors)
    version = voxguard_version(root)
    commit = git_commit(root)
    f = lambda t: fill(t, product, version)  # noqa: E731

    def guidance_ok(refs, where, fatal=True):
        bad = []
        for ref in refs or []:
            ok, why = path_section_ok(root, ref)
            if not ok:
                bad.append(why)
                if fatal:
                    errors.add("%s: guidance reference: %s" % (where, why))
        return bad

    # ---- the SFRs: selections, rationale, tests, claim
    sfr_rat = rationale.get("sfrs", {})
    claims = {}
    for sfr in profile["sfrs"]:
        rid = sfr["id"]
        r = sfr_rat.get(rid)
        if not isinstance(r, dict):
            errors.add("SFR %s: no entry in %s" % (rid, args.rationale))
            continue
        if not any(p.strip() for p in paragraphs(r.get("rationale"))):
            errors.add("SFR %s: no conformance rationale" % rid)
        sel = r.get("selections") or {}
        for prm in sfr["parameters"]:
            if empty(sel.get(prm["id"])) or not isinstance(sel.get(prm["id"]), str):
                errors.add("SFR %s: the parameter <%s> (%s) has no selection"
                           % (rid, prm["title"], prm["id"]))
        for k in sel:
            if k not in [p["id"] for p in sfr["parameters"]]:
                errors.add("SFR %s: selection for an unknown parameter %s" % (rid, k))
        if not r.get("guidance"):
            errors.add("SFR %s: no guidance reference" % rid)
        guidance_ok(r.get("guidance"), "SFR %s" % rid)
        tests = reqs.ctests(rid)
        if rid not in reqs.reqs or not reqs.reqs[rid]["rows"]:
            errors.add("SFR %s: docs/REQUIREMENTS.md has no row for it" % rid)
        if not tests:
            errors.add("SFR %s: docs/REQUIREMENTS.md names no test for it" % rid)
        reasons = test_reasons(tests, results)
        for field, want in (r.get("requires") or {}).items():
            have = product.get(field)
            if have != want:
                reasons.append("needs %s = %s in the product; it is %s" % (field, want, have or "unset"))
        claims[rid] = {"claimed": not reasons and bool(tests), "reasons": reasons,
                       "tests": {t: results.state(t) for t in tests}}

    # ---- environment objectives
    env = rationale.get("environment", {})
    for obj in profile["environment_objectives"]:
        e = env.get(obj["id"])
        if not isinstance(e, dict) or empty(e.get("text")):
            errors.add("objective %s: no text in %s" % (obj["id"], args.rationale))
            continue
        if obj["id"] != "3.1.3" and not e.get("guidance"):
            errors.add("objective %s: no guidance reference" % obj["id"])
        guidance_ok(e.get("guidance"), "objective %s" % obj["id"])

    # ---- ALC_FLR.2: its evidence is written by the project's process;
    # a missing file or section is not claimed rather than an error.
    flr = rationale.get("alc_flr2", {})
    flr_missing = guidance_ok(flr.get("evidence"), "ALC_FLR.2", fatal=False)
    if not paragraphs(flr.get("text")):
        errors.add("ALC_FLR.2: no procedure text")

    # ---- sufficiency
    suff = rationale.get("sufficiency", {})
    suff_state = {}
    n_claimed = sum(1 for c in claims.values() if c["claimed"])
    for row in profile["sufficiency"]:
        comp = row["component"]
        s = suff.get(comp)
        if not isinstance(s, dict) or empty(s.get("evidence")):
            errors.add("sufficiency %s: no evidence in %s" % (comp, args.rationale))
            continue
        guidance_ok(s.get("guidance"), "sufficiency %s" % comp)
        reasons = []
        tests = {}
        if s.get("tests_from"):
            tests = reqs.ctests(s["tests_from"])
            if not tests:
                errors.add("sufficiency %s: docs/REQUIREMENTS.md names no test for %s"
                           % (comp, s["tests_from"]))
            reasons += test_reasons(tests, results)
        if s.get("alc_flr2"):
            reasons += ["missing evidence: %s" % m for m in flr_missing]
        if comp == "AVA_VAN.2":
            state = "evaluator's task"
        elif reasons:
            state = "NOT CLAIMED: " + "; ".join(reasons)
        elif comp == "ATE_IND.1":
            state = "provided: the tests of %d of %d SFRs passed" % (n_claimed, len(claims))
        elif tests:
            state = "provided; tests passed: " + ", ".join(tests)
        else:
            state = "provided"
        suff_state[comp] = {"state": state, "tests": {t: results.state(t) for t in tests}}

    if errors.items:
        return errors, None

    # ---------------------------------------------------------- render
    d = Doc()
    pn = product["platform"]
    title = "Security Target: %s %s" % (pn["name"], pn["version"])
    d.h(1, title)
    d.p("Conformant to the %s (%s, version %s), %s methodology, assurance package %s."
        % (profile["profile"]["title"], profile["profile"]["id"], profile["profile"]["version"],
           profile["profile"]["methodology"], profile["profile"]["assurance_package"]))
    d.table(["item", "value"], [
        ["Security Target of", "%s %s, by %s" % (pn["name"], pn["version"], product["contact"]["organisation"])],
        ["security platform", "voxguard %s, commit %s" % (version, short(commit))],
        ["generated", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
         + " by `scripts/evidence.py`"],
        ["test results", "; ".join("`%s` (%s, commit %s)" % (r["file"], r["label"], short(r["commit"]))
                                   for r in results.runs) or "none given: nothing is claimed"],
    ])
    notes = []
    if commit.endswith("-dirty"):
        notes.append("The work tree had changes not committed when this ST was generated; "
                     "for an evaluation, generate it from a clean tree.")
    for r in results.runs:
        if r["commit"] != commit:
            notes.append("The results of `%s` are from commit %s, not the commit this ST describes (%s)."
                         % (r["file"], short(r["commit"]), short(commit)))
    for n in notes:
        d.p("**Note:** " + n)
    d.p("Rule: a requirement is claimed only when every test that docs/REQUIREMENTS.md names for it "
        "passed in the test results above. Otherwise it is marked **NOT CLAIMED** with the test that "
        "failed or was not run.")

    d.h(2, "Claims at a glance", "summary")
    rows = []
    for sfr in profile["sfrs"]:
        c = claims[sfr["id"]]
        rows.append([sfr["id"], sfr["title"], "**CLAIMED**" if c["claimed"] else
                     "**NOT CLAIMED**: " + "; ".join(c["reasons"] or ["no test result"])])
    d.table(["SFR", "title", "claim"], rows)

    # 1. Introduction
    d.h(2, "1. Introduction", "introduction")
    d.h(3, "1.1 References")
    d.ul(["Profile: %s, %s, version %s." % (profile["profile"]["title"], profile["profile"]["id"],
                                           profile["profile"]["version"]),
          "Traceability of every requirement to code and tests: `docs/REQUIREMENTS.md`.",
          "Guidance: the documents named in each section, by path in the voxguard source tree."])
    d.h(3, "1.2 Platform reference", "platform-reference")
    d.table(["field", "value"], [["Platform name", pn["name"]], ["Platform version", pn["version"]],
                       ["Platform identification", pn["identification"]],
                       ["Platform type", profile["profile"]["platform_type"]]])
    d.h(3, "1.3 Platform overview", "overview")
    d.p(product["description"])
    for para in paragraphs(rationale["toe"].get("overview")):
        d.p(f(para))
    d.h(3, "1.4 TOE boundary", "toe-boundary")
    d.p("Architecture of the platform (the hardware named is the product's):")
    d.pre(f("\n".join(rationale["toe"].get("figure") or [])))
    d.p("**Software scope** (in the TOE):")
    d.ul([f(s) for s in rationale["toe"].get("software_scope") or []]
         + ["%s (the device maker's)" % s for s in product.get("software_in_scope") or []])
    d.p("**Physical scope** (in the TOE):")
    d.ul(product["hardware"])
    d.p("**Out of scope:**")
    d.ul([f(s) for s in rationale["toe"].get("out_of_scope") or []] + list(product.get("out_of_scope") or []))

    # 2. Objectives for the environment
    d.h(2, "2. Security objectives for the operational environment", "environment")
    for n, obj in enumerate(profile["environment_objectives"], 1):
        e = env[obj["id"]]
        d.h(3, "2.%d %s (profile %s)" % (n, obj["title"], obj["id"]))
        d.p("**Objective:** " + obj["summary"])
        d.p(f(e["text"]))
        if e.get("guidance"):
            d.p("Guidance: " + "; ".join(ref_text(g) for g in e["guidance"]) + ".")

    # 3. Requirements
    d.h(2, "3. Security requirements and implementation", "requirements")
    d.h(3, "3.1 Security assurance requirements")
    d.p("The claimed assurance package is %s; section 4.1 below shows where the evidence for each "
        "component is." % profile["profile"]["assurance_package"])
    d.h(3, "3.2 Flaw reporting procedure (ALC_FLR.2)", "alc-flr-2")
    for para in paragraphs(flr.get("text")):
        d.p(f(para))
    d.p("Evidence: " + "; ".join(ref_text(g) for g in flr.get("evidence") or []) + ".")
    if flr_missing:
        d.p("**NOT CLAIMED**: missing evidence: " + "; ".join(flr_missing) + ".")
    d.h(3, "3.3 Security functional requirements")
    for sfr in profile["sfrs"]:
        rid = sfr["id"]
        r = sfr_rat[rid]
        c = claims[rid]
        req = reqs.reqs.get(rid, {})
        d.h(4, "%s %s%s" % (rid, sfr["title"], " (optional)" if sfr["optional"] else ""), anchor(rid))
        if c["claimed"]:
            d.p("**CLAIMED**: every test named for it passed.")
        else:
            d.p("**NOT CLAIMED**: " + "; ".join(c["reasons"]) + ".")
        sel = {k: f(v) for k, v in (r.get("selections") or {}).items()}
        stmt = sfr["statement"]
        for prm in sfr["parameters"]:
            stmt = stmt.replace("{%s}" % prm["id"], "[%s]" % prm["title"])
        d.p("**Requirement:** " + stmt)
        if sfr["parameters"]:
            d.table(["parameter", "voxguard's selection"],
                    [[prm["title"], sel[prm["id"]]] for prm in sfr["parameters"]])
        d.p("**Conformance rationale:**")
        for para in paragraphs(r.get("rationale")):
            d.p(f(para))
        d.p("Guidance and functional specification: "
            + "; ".join(ref_text(g) for g in r.get("guidance") or []) + ".")
        if r.get("limits"):
            d.p("**Limits:**")
            d.ul([f(x) for x in r["limits"]])
        if req.get("status"):
            d.p("**Status in docs/REQUIREMENTS.md:** " + drop_issue_refs(req["status"]))
        if req.get("code"):
            d.p("**Code** (from docs/REQUIREMENTS.md):")
            d.ul(["`%s`%s" % (p, (" " + ", ".join("`%s`" % fn for fn in fns)) if fns else "")
                  for p, fns in req["code"]])
        tests = reqs.ctests(rid)
        d.p("**Tests** (CTest names; the names docs/REQUIREMENTS.md gives; the last result):")
        d.table(["CTest test", "named in docs/REQUIREMENTS.md", "result", "runs"],
                [[t, ", ".join("`%s`" % n for n in names), "**%s**" % results.state(t),
                  results.detail(t)] for t, names in tests.items()])
        if req.get("fuzz"):
            d.p("**Fuzz targets** (supporting evidence, run by `make check` for 20 s each and by "
                "`make fuzz`; no JUnit result, not part of the claim rule): "
                + ", ".join("`%s`" % x for x in req["fuzz"]) + ".")
        if req.get("device"):
            d.p("**On the device image** (supporting evidence, checked by `make device-test` in QEMU "
                "with a TPM; no JUnit result, not part of the claim rule): "
                + "; ".join("\"%s\"" % x for x in req["device"]) + ".")

    # 4. Mapping and sufficiency
    d.h(2, "4. Mapping and sufficiency rationales", "mappings")
    d.h(3, "4.1 SESIP2 sufficiency", "sufficiency")
    rows = []
    for row in profile["sufficiency"]:
        s = suff[row["component"]]
        ev = s["evidence"]
        if s.get("guidance"):
            ev += " (" + "; ".join(ref_text(g) for g in s["guidance"]) + ")"
        state = suff_state[row["component"]]["state"]
        if state.startswith("NOT CLAIMED"):
            state = "**NOT CLAIMED**" + state[len("NOT CLAIMED"):]
        rows.append([row["class"], "%s %s" % (row["component"], row["title"]), ev, state])
    d.table(["class", "component", "covered by", "state"], rows)
    d.h(3, "4.2 Mapping to PSA Certified Level 2", "psa-l2")
    d.p(profile.get("psa_l2_note", ""))
    title_of = {s["id"]: s["title"] for s in profile["sfrs"]}
    rows = []
    for m in profile["psa_l2_mapping"]:
        c = claims.get(m["sfr"], {})
        rows.append(["%s %s" % (m["sfr"], title_of.get(m["sfr"], "")), m["psa_l2"],
                     (rationale.get("psa_l2_notes") or {}).get(m["sfr"], ""),
                     "**CLAIMED**" if c.get("claimed") else "**NOT CLAIMED**"])
    d.table(["profile SFR", "PSA Certified Level 2", "how voxguard meets it", "this ST"], rows)
    d.h(3, "4.3 Mapping to the AVS Security Requirements", "avs")
    rows = []
    for m in profile["avs_mapping"]:
        targets = m["profile"]
        states = []
        note = (rationale.get("avs_notes") or {}).get(m["avs"])
        if note:
            states.append(note)
        for t in ([] if note else targets):
            for rid in re.findall(r"(4\.[23]\.\d+)", t):
                states.append("%s %s" % (rid, "CLAIMED" if claims[rid]["claimed"] else "NOT CLAIMED"))
            for comp in re.findall(r"\b([A-Z]{3}_[A-Z]{3}\.\d)\b", t):
                if comp in suff_state:
                    st = suff_state[comp]["state"]
                    states.append("%s %s" % (comp, st.split(";")[0] if not st.startswith("NOT")
                                             else "NOT CLAIMED"))
        status = reqs.reqs.get("AVS " + m["avs"], {}).get("status", "")
        rows.append(["AVS %s %s" % (m["avs"], m["topic"]), "; ".join(targets),
                     drop_issue_refs(status) or "not in docs/REQUIREMENTS.md",
                     "; ".join(states) or "outside this ST"])
    d.table(["AVS requirement", "profile requirement", "status in docs/REQUIREMENTS.md", "this ST"], rows)

    md = d.markdown()
    ht = d.html(title)
    # ---- checks on the output itself
    for p in placeholder_problems(md, "ST.md"):
        errors.add(p)
    tp = TextOnly()
    tp.feed(ht)
    tp.close()
    for p in tp.problems:
        errors.add("ST.html: " + p)
    if tp.stack:
        errors.add("ST.html: unclosed <%s>" % tp.stack[-1])
    for p in placeholder_problems("".join(tp.parts), "ST.html"):
        errors.add(p)
    try:
        ET.fromstring(ht.encode("utf-8"))
    except ET.ParseError as e:
        errors.add("ST.html is not well-formed: %s" % e)
    summary = {
        "commit": commit,
        "voxguard_version": version,
        "product": pn["name"] + " " + pn["version"],
        "test_runs": results.runs,
        "sfrs": claims,
        "sufficiency": suff_state,
    }
    return errors, (md, ht, summary)


def print_pdf(out):
    """ST.html to ST.pdf with headless chromium (a Debian package that
    make check installs already, for the display tests)."""
    exe = shutil.which("chromium")
    if not exe:
        print("evidence: --pdf needs Debian's chromium (apt-get install chromium), "
              "or print ST.html to PDF from any browser", file=sys.stderr)
        return False
    pdf = os.path.join(out, "ST.pdf")
    cmd = [exe, "--headless", "--disable-gpu", "--print-to-pdf=" + pdf,
           "file://" + os.path.abspath(os.path.join(out, "ST.html"))]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # chromium refuses root otherwise
    try:
        subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        print("evidence: chromium could not print %s: %s" % (pdf, e), file=sys.stderr)
        return False
    if not os.path.exists(pdf) or os.path.getsize(pdf) == 0:
        print("evidence: chromium wrote no %s" % pdf, file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--product", required=True, help="the device maker's product file (JSON)")
    ap.add_argument("--junit", action="append", default=[],
                    help="a CTest JUnit file (repeat); junit.commit beside it names the commit")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "evidence"), help="output directory")
    ap.add_argument("--root", default=ROOT, help="the voxguard source tree")
    ap.add_argument("--requirements", help="default: ROOT/docs/REQUIREMENTS.md")
    ap.add_argument("--profile", help="default: ROOT/evidence/profile.json")
    ap.add_argument("--rationale", help="default: ROOT/evidence/rationale.json")
    ap.add_argument("--pdf", action="store_true",
                    help="also print ST.html to ST.pdf with Debian's chromium (headless)")
    ap.add_argument("--list-tests", action="store_true",
                    help="print the CTest tests each SFR needs (JSON) and exit")
    args = ap.parse_args()
    args.requirements = args.requirements or os.path.join(args.root, "docs", "REQUIREMENTS.md")
    args.profile = args.profile or os.path.join(args.root, "evidence", "profile.json")
    args.rationale = args.rationale or os.path.join(args.root, "evidence", "rationale.json")

    if args.list_tests:
        errors = Errors()
        reqs = Requirements(args.requirements, TestIndex(args.root), errors)
        profile = load_json(args.profile, errors, "profile data") or {"sfrs": []}
        print(json.dumps({s["id"]: sorted(reqs.ctests(s["id"])) for s in profile["sfrs"]}, indent=1))
        for e in errors.items:
            print("evidence: " + e, file=sys.stderr)
        return 1 if errors.items else 0

    errors, out = generate(args)
    names = ("ST.md", "ST.html", "claims.json")
    if errors.items:
        names += ("ST.pdf",)
        for e in errors.items:
            print("evidence: " + e, file=sys.stderr)
        print("evidence: %d check(s) failed; no Security Target written to %s" % (len(errors.items), args.out),
              file=sys.stderr)
        for n in names:
            try:
                os.unlink(os.path.join(args.out, n))
            except FileNotFoundError:
                pass
        return 1
    md, ht, summary = out
    os.makedirs(args.out, exist_ok=True)
    for n, text in zip(names, (md, ht, json.dumps(summary, indent=1) + "\n")):
        tmp = os.path.join(args.out, n + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, os.path.join(args.out, n))
    if args.pdf and not print_pdf(args.out):
        return 1
    n_ok = sum(1 for c in summary["sfrs"].values() if c["claimed"])
    written = names + (("ST.pdf",) if args.pdf else ())
    print("evidence: %s: %d of %d SFRs claimed; %s" % (
        summary["product"], n_ok, len(summary["sfrs"]), ", ".join(os.path.join(args.out, n) for n in written)))
    for rid, c in summary["sfrs"].items():
        if not c["claimed"]:
            print("evidence: SFR %s NOT CLAIMED: %s" % (rid, "; ".join(c["reasons"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
