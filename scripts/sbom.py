#!/usr/bin/python3
"""sbom.py: voxguard's software bill of materials, SPDX 2.3 JSON (AVS 1.13,
AVS 1.17; docs/EVIDENCE.md, "SBOM and vulnerability report").

  sbom.py --deb-dir build-deb [-o FILE]     from the built .deb packages
  sbom.py --build-dir DIR [-o FILE]         from a CMake build directory
          [--root DIR]                      whose dpkg database and
                                            libraries to resolve against
                                            (default /: this machine)
  sbom.py --check FILE [--schema FILE]      validate a document

What the document lists:
  - voxguard's own packages (voxguard, libvoxguard0) and their artefacts
    (voxguardd, voxguard, voxguard-displayd, libvoxguard.so.*, the OpenSSL
    provider voxguard.so), each file with its SHA-1 and SHA-256;
  - the runtime dependencies: the Depends and Recommends of the packages
    (dpkg-deb -f; from a build directory, debian/control and the libraries
    the binaries link), resolved transitively (Depends, Pre-Depends) in the
    dpkg database, plus the packages of the libraries the binaries link
    (DT_NEEDED) or load with dlopen() (the library names in the binary);
  - the build dependencies: debian/control's Build-Depends, each resolved
    to the installed package (not transitively).
Each Debian package has its version, source package, supplier (the
Maintainer field), a purl and the licence declared in
/usr/share/doc/PKG/copyright (machine-readable files only; NOASSERTION
otherwise). Relationships: voxguard DEPENDS_ON (runtime),
BUILD_DEPENDENCY_OF (build), a file DYNAMIC_LINK a package (linked or
loaded; the comment says which library and how).

The output is deterministic: sorted, the creation time from
SOURCE_DATE_EPOCH, else the last commit's date, else debian/changelog's.

--check validates against the SPDX 2.3 JSON schema
(data/schema/spdx-schema-2.3.json, with python3-jsonschema) and the rules
the schema does not express: unique SPDX ids, relationships between
elements of the document, SHA-1 on every file, licence expressions that
python3-license-expression accepts with every LicenseRef defined.

Exit codes: 0 done (or valid), 1 invalid document (--check), 2 bad input.
"""
import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = "voxguard-sbom"
SUPPLIER_SELF = "Organization: voxguard developers"

# The artefacts the SBOM lists with checksums (debian/*.install), as
# installed paths (fnmatch patterns; '*' is the multiarch directory).
ARTEFACTS = [
    "usr/bin/voxguardd",
    "usr/bin/voxguard",
    "usr/bin/voxguard-displayd",
    "usr/lib/*/libvoxguard.so.*",
    "usr/lib/*/ossl-modules/voxguard.so",
]
# Where each one is in a CMake build directory.
BUILD_NAMES = {
    "usr/bin/voxguardd": "voxguardd",
    "usr/bin/voxguard": "voxguard",
    "usr/bin/voxguard-displayd": "voxguard-displayd",
    "usr/lib/*/libvoxguard.so.*": "libvoxguard.so.*",
    "usr/lib/*/ossl-modules/voxguard.so": "voxguard.so",
}

# ELF e_machine -> (Debian architecture, multiarch triplet)
ELF_ARCH = {62: ("amd64", "x86_64-linux-gnu"), 183: ("arm64", "aarch64-linux-gnu"),
            40: ("armhf", "arm-linux-gnueabihf"), 3: ("i386", "i386-linux-gnu")}


class Bad(Exception):
    """Bad input: exit 2 with the message."""


def die(msg):
    raise Bad(msg)


def run(cmd, ok_codes=(0,)):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode not in ok_codes:
        die("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


def digests(path):
    s1, s256 = hashlib.sha1(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            s1.update(chunk)
            s256.update(chunk)
    return s1.hexdigest(), s256.hexdigest()


def spdx_id(kind, *parts):
    """SPDXRef-KIND-PARTS, characters outside [A-Za-z0-9.-] hex-escaped
    (so that libstdc++6 and libstdc--6 stay apart)."""
    s = "-".join(parts).replace("/", "-")
    s = "".join(c if (c.isascii() and c.isalnum()) or c in ".-" else "-%02X" % ord(c) for c in s)
    return "SPDXRef-%s-%s" % (kind, s)


# ---------------------------------------------------------------- deb822

def deb822(text):
    """Paragraphs of a deb822 file (debian/control, copyright): a list of
    lists of (field, value) with continuation lines joined by newlines."""
    paras, cur, last = [], [], None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paras.append(cur)
            cur, last = [], None
            continue
        if line[0] in " \t":
            if last is None:
                continue
            cur[-1] = (cur[-1][0], cur[-1][1] + "\n" + line.strip())
            continue
        if line.startswith("#") and not cur:
            continue
        k, sep, v = line.partition(":")
        if not sep:
            continue
        cur.append((k.strip(), v.strip()))
        last = k
    if cur:
        paras.append(cur)
    return paras


def field(para, name, default=None):
    for k, v in para:
        if k.lower() == name.lower():
            return v
    return default


def parse_rel(text):
    """A Depends-like field -> list of alternative groups, each a list of
    (name, archqual) with versions, [arch] and <profile> restrictions
    dropped; ${substvars} skipped."""
    out = []
    text = re.sub(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)", " ", text or "")
    for group in text.split(","):
        alts = []
        for a in group.split("|"):
            a = a.strip()
            if not a or a.startswith("${"):
                continue
            name, _, qual = a.split()[0].partition(":")
            alts.append((name, qual))
        if alts:
            out.append(alts)
    return out


# ---------------------------------------------------------------- dpkg

class Dpkg:
    """The installed packages of a dpkg database (dpkg-query --admindir)."""

    FIELDS = ["binary:Package", "Package", "Architecture", "Version", "source:Package",
              "source:Version", "Maintainer", "Depends", "Pre-Depends", "Provides",
              "db:Status-Abbrev", "Multi-Arch"]

    def __init__(self, root):
        self.root = root
        self.admindir = os.path.join(root, "var/lib/dpkg")
        fmt = "\\t".join("${%s}" % f for f in self.FIELDS) + "\\n"
        out = run(["dpkg-query", "--admindir=" + self.admindir, "-W", "-f", fmt])
        self.pkgs = {}  # (name, arch) -> dict
        self.by_name = {}
        self.providers = {}
        for line in out.splitlines():
            v = line.split("\t")
            if len(v) != len(self.FIELDS):
                continue
            d = dict(zip(self.FIELDS, v))
            if not d["db:Status-Abbrev"].startswith("ii"):
                continue
            key = (d["Package"], d["Architecture"])
            self.pkgs[key] = d
            self.by_name.setdefault(d["Package"], []).append(key)
            for alts in parse_rel(d["Provides"]):
                for name, _ in alts:
                    self.providers.setdefault(name, []).append(key)

    def pick(self, name, qual, arch):
        """The installed package (name, arch) a relation names, for a
        dependent of architecture arch: a real package first, else a
        provider; the dependent's architecture, then all, then any."""
        def best(keys):
            if not keys:
                return None
            if qual and qual not in ("any", "native"):
                keys = [k for k in keys if k[1] == qual] or keys
            order = {arch: 0, "all": 1}
            return sorted(keys, key=lambda k: (order.get(k[1], 2), k))[0]
        return best(self.by_name.get(name)) or best(self.providers.get(name))

    def owner(self, paths):
        """{path: (name, arch)} for the paths the database knows."""
        if not paths:
            return {}
        out = run(["dpkg-query", "--admindir=" + self.admindir, "-S"] + sorted(paths),
                  ok_codes=(0, 1))
        res = {}
        for line in out.splitlines():
            if line.startswith("diversion "):
                continue
            pkgs, sep, path = line.partition(": ")
            if not sep or path not in paths:
                continue
            first = pkgs.split(",")[0].strip()
            name, _, arch = first.partition(":")
            keys = self.by_name.get(name, [])
            key = next((k for k in keys if k[1] == arch), None) if arch else (keys[0] if keys else None)
            if key:
                res[path] = key
        return res


# ---------------------------------------------------------------- licences

class Licences:
    """DEP-5 licence short names -> SPDX expressions; the LicenseRefs the
    document defines (hasExtractedLicensingInfos)."""

    GNU = re.compile(r"^(A?GPL|LGPL|GFDL)-(\d+(?:\.\d+)?)(\+)?$", re.I)
    EXPAT = {"expat": "MIT"}

    def __init__(self):
        self.refs = {}  # licenseId -> info dict
        self.ids, self.exceptions, self.list_version = self._spdx_list()

    @staticmethod
    def _spdx_list():
        try:
            import license_expression
        except ImportError:
            die("python3-license-expression is missing (scripts/install-deps.sh)")
        d = os.path.join(os.path.dirname(license_expression.__file__), "data")
        with open(os.path.join(d, "scancode-licensedb-index.json")) as f:
            index = json.load(f)
        ids, exc = {}, {}
        for e in index:
            k = e.get("spdx_license_key")
            if not k or k.startswith("LicenseRef-") or e.get("is_deprecated"):
                continue
            (exc if e.get("is_exception") else ids)[k.lower()] = k
        version = None
        try:
            with open(os.path.join(d, "license_key_index.json.ABOUT")) as f:
                m = re.search(r"^spdx_license_list_version:\s*(\S+)", f.read(), re.M)
                version = m.group(1) if m else None
        except OSError:
            pass
        return ids, exc, version

    def _one(self, name):
        """One DEP-5 licence name (without exception) -> SPDX id or None."""
        m = self.GNU.match(name)
        if m:
            fam, ver, plus = m.group(1).upper(), m.group(2), m.group(3)
            if "." not in ver:
                ver += ".0"
            cand = "%s-%s-%s" % (fam, ver, "or-later" if plus else "only")
            return self.ids.get(cand.lower())
        if name.lower() in self.EXPAT:
            return self.EXPAT[name.lower()]
        if name.endswith("+"):
            base = self.ids.get(name[:-1].lower())
            return base + "+" if base else None
        return self.ids.get(name.lower())

    def term(self, term, texts, where):
        """A DEP-5 term ("GPL-2+ with OpenSSL exception") -> SPDX."""
        m = re.match(r"^(\S+)\s+with\s+(\S+)\s+exception$", term, re.I)
        if m:
            lic = self._one(m.group(1))
            exc = None
            for c in (m.group(2), m.group(2) + "-exception"):
                exc = exc or self.exceptions.get(c.lower())
            if lic and exc:
                return "%s WITH %s" % (lic, exc)
        elif " " not in term:
            lic = self._one(term)
            if lic:
                return lic
        return self.ref(term, texts.get(term.lower()), where)

    def ref(self, name, text, where):
        """A LicenseRef for a licence SPDX has no id for, with its text from
        the copyright file (or where to find it when the file has none)."""
        if text:
            text = "\n".join(line.rstrip() for line in text.splitlines())
            text = re.sub(r"(?m)^\.$", "", text).strip()
        if not text:
            text = ("The copyright file %s names this licence \"%s\" without "
                    "giving its text." % (where, name))
        h = hashlib.sha256(text.encode()).hexdigest()[:8]
        base = re.sub(r"[^A-Za-z0-9.-]", "-", name).strip("-") or "unnamed"
        rid = "LicenseRef-%s-%s" % (base, h)
        self.refs.setdefault(rid, {"licenseId": rid, "name": name, "extractedText": text})
        return rid

    def expression(self, synopsis, texts, where):
        """A DEP-5 License synopsis -> SPDX expression, or None."""
        s = synopsis.strip()
        if not s:
            return None
        groups = []
        for g in s.split(","):
            g = re.sub(r"^\s*(and|or)\s+", "", g.strip(), flags=re.I)
            if not g:
                return None
            words = g.split()
            terms, ops, cur = [], [], []
            for w in words:
                if w.lower() in ("and", "or") and cur:
                    terms.append(" ".join(cur))
                    ops.append(w.upper())
                    cur = []
                else:
                    cur.append(w)
            if not cur:
                return None
            terms.append(" ".join(cur))
            parts = [self.term(t, texts, where) for t in terms]
            e = parts[0]
            for op, p in zip(ops, parts[1:]):
                e = "%s %s %s" % (e, op, p)
            groups.append(e)
        if len(groups) == 1:
            return groups[0]
        return " AND ".join("(%s)" % g if " OR " in g else g for g in groups)

    def from_copyright(self, path, shown, owner=None):
        """(licenseDeclared, comment) for a copyright file; owner names it
        in the text of a licence the file gives no text for."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return "NOASSERTION", "%s is missing" % shown
        paras = deb822(text)
        fmt = field(paras[0], "Format", "") if paras else ""
        if "copyright-format" not in fmt and "dep5" not in fmt.lower():
            return "NOASSERTION", "%s is not machine-readable (DEP-5)" % shown
        texts = {}
        for p in paras[1:]:
            lic = field(p, "License")
            if lic is not None and field(p, "Files") is None:
                name, _, body = lic.partition("\n")
                texts.setdefault(name.strip().lower(), body)
        for p in paras[1:]:  # a Files paragraph's own text, when it has one
            lic = field(p, "License")
            if lic is not None and field(p, "Files") is not None:
                name, _, body = lic.partition("\n")
                if body.strip():
                    texts.setdefault(name.strip().lower(), body)
        exprs, bad = [], []
        files = [p for p in paras[1:] if field(p, "Files") is not None]
        for p in files or paras[:1]:
            lic = field(p, "License")
            if lic is None:
                continue
            syn = lic.partition("\n")[0]
            e = self.expression(syn, texts, owner or shown)
            if e is None:
                bad.append(syn.strip() or "(empty)")
                continue
            for t in and_terms(e):
                if t not in exprs:
                    exprs.append(t)
        if bad or not exprs:
            return "NOASSERTION", "%s: License fields not understood: %s" % (
                shown, "; ".join(sorted(set(bad))) or "none")
        exprs.sort()
        if len(exprs) == 1:
            return exprs[0], None
        return " AND ".join(wrap(e) for e in exprs), None


    def own(self, path):
        """(licenseDeclared, comment) of voxguard's own packages: the
        licence of debian/copyright's "Files: *" paragraph; the other
        paragraphs (files of the source tree under other licences) are
        named in the comment."""
        with open(path) as f:
            paras = deb822(f.read())
        star, others, texts = None, [], {}
        for p in paras[1:]:
            lic = field(p, "License")
            if lic is None:
                continue
            name, _, body = lic.partition("\n")
            if body.strip():
                texts.setdefault(name.strip().lower(), body)
        for p in paras[1:]:
            files, lic = field(p, "Files"), field(p, "License")
            if files is None or lic is None:
                continue
            syn = lic.partition("\n")[0].strip()
            if files.split() == ["*"]:
                star = self.expression(syn, texts, "debian/copyright")
            else:
                others.append("%s: %s" % (" ".join(files.split()), syn))
        note = None
        if others:
            note = ("debian/copyright, files of the source tree under other licences: %s"
                    % "; ".join(sorted(others)))
        return star or "NOASSERTION", note


def wrap(e):
    """e in parentheses unless it is one term or already one group."""
    if " OR " not in e and " WITH " not in e and " AND " not in e:
        return e
    if e.startswith("(") and e.endswith(")"):
        depth = 0
        for i, c in enumerate(e):
            depth += (c == "(") - (c == ")")
            if depth == 0 and i < len(e) - 1:
                break
        else:
            return e
    return "(%s)" % e


def and_terms(e):
    """The terms of an expression joined by AND at the top level (the
    whole expression when an OR is at the top level), so that the
    package's licence names each licence once."""
    depth, top, cur, terms = 0, [], "", []
    for tok in re.split(r"(\(|\)| AND | OR )", e):
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0 and tok in (" AND ", " OR "):
            top.append(tok)
            if tok == " AND ":
                terms.append(cur)
                cur = ""
                continue
        cur += tok
    terms.append(cur)
    if " OR " in top:
        return [e]
    return [t[1:-1] if t.startswith("(") and t.endswith(")") and " OR " not in t
            and " WITH " not in t else t for t in terms]


# ---------------------------------------------------------------- ELF

def elf_info(path):
    """(e_machine, DT_NEEDED names, library names in the file): the last
    are the sonames the binary may dlopen()."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        die("%s: not an ELF file" % path)
    little = data[5] == 1
    machine = int.from_bytes(data[18:20], "little" if little else "big")
    out = run(["readelf", "-d", "-W", path])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    named = set(m.decode() for m in re.findall(
        rb"(?<=\x00)(lib[A-Za-z0-9_+.-]+?\.so(?:\.[0-9]+)*)(?=\x00)", data))
    return machine, needed, named


def find_lib(root, soname, triplet):
    for d in ("usr/lib/" + triplet, "lib/" + triplet, "usr/lib", "lib",
              "usr/lib64", "lib64"):
        p = os.path.join(root, d, soname)
        if os.path.exists(p):
            return "/" + d + "/" + soname
    return None


def path_variants(p):
    v = [p]
    if p.startswith("/usr/"):
        v.append(p[4:])
    else:
        v.append("/usr" + p)
    return v


# ---------------------------------------------------------------- inputs

def own_packages():
    with open(os.path.join(SRC, "debian/control")) as f:
        paras = deb822(f.read())
    src = paras[0]
    bins = {field(p, "Package"): p for p in paras[1:] if field(p, "Package")}
    return src, bins


def install_patterns(pkg):
    try:
        with open(os.path.join(SRC, "debian", pkg + ".install")) as f:
            return [line.split()[0].rstrip("/") for line in f if line.strip()
                    and not line.startswith("#")]
    except OSError:
        return []


def which_package(path, bins):
    for name in sorted(bins):
        for pat in install_patterns(name):
            if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*"):
                return name
    return None


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"^project\(voxguard VERSION ([0-9.]+)", f.read(), re.M)
    if not m:
        die("no project version in CMakeLists.txt")
    return m.group(1)


def created_time():
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde is None:
        try:
            sde = subprocess.run(["git", "-C", SRC, "log", "-1", "--format=%ct"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True).stdout.strip()
        except OSError:
            sde = ""
    if not sde:
        sde = run(["dpkg-parsechangelog", "-l", os.path.join(SRC, "debian/changelog"),
                   "-S", "Timestamp"]).strip()
    if not sde.isdigit():
        die("SOURCE_DATE_EPOCH is not a number of seconds: %r" % sde)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sde)))


def distro(root):
    try:
        with open(os.path.join(root, "etc/os-release")) as f:
            kv = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', f.read(), re.M))
    except OSError:
        kv = {}
    return kv.get("ID", "debian"), kv.get("VERSION_ID", ""), kv.get("VERSION_CODENAME", "")


def collect_debs(deb_dir, own, tmp):
    """{own package: {version, arch, deb, files: {path: abs}, depends, recommends}}"""
    res = {}
    debs = sorted(f for f in os.listdir(deb_dir) if f.endswith(".deb"))
    if not debs:
        die("%s: no .deb files (make deb)" % deb_dir)
    for deb in debs:
        p = os.path.join(deb_dir, deb)
        name = run(["dpkg-deb", "-f", p, "Package"]).strip()
        if name not in own:
            continue
        x = os.path.join(tmp, name)
        run(["dpkg-deb", "-x", p, x])
        files = {}
        for dp, _, fns in os.walk(x):
            for fn in fns:
                a = os.path.join(dp, fn)
                rel = os.path.relpath(a, x)
                if os.path.isfile(a) and not os.path.islink(a) and \
                        any(fnmatch.fnmatch(rel, pat) for pat in ARTEFACTS):
                    files[rel] = a
        if not files:
            continue
        f = lambda k: run(["dpkg-deb", "-f", p, k]).strip()
        res[name] = {"version": f("Version"), "arch": f("Architecture"), "deb": p,
                     "files": files, "depends": parse_rel(f("Pre-Depends")) + parse_rel(f("Depends")),
                     "recommends": parse_rel(f("Recommends"))}
    if not res:
        die("%s: no .deb with voxguard's artefacts" % deb_dir)
    return res


def collect_build(build_dir, own, root):
    res = {}
    version = project_version()
    for pat in ARTEFACTS:
        bpat = BUILD_NAMES[pat]
        hits = sorted(f for f in os.listdir(build_dir) if fnmatch.fnmatch(f, bpat)
                      and os.path.isfile(os.path.join(build_dir, f))
                      and not os.path.islink(os.path.join(build_dir, f)))
        if not hits:
            die("%s: no %s (build it first)" % (build_dir, bpat))
        for h in hits:
            a = os.path.join(build_dir, h)
            machine = elf_info(a)[0]
            arch, triplet = ELF_ARCH.get(machine, (None, None))
            if not arch:
                die("%s: ELF machine %d not known" % (a, machine))
            rel = pat.replace("*", triplet, 1)
            if "libvoxguard.so." in rel:
                rel = os.path.join(os.path.dirname(rel), h)
            pkg = which_package(rel, own)
            if not pkg:
                die("%s: in no package of debian/*.install" % rel)
            e = res.setdefault(pkg, {"version": version, "arch": arch, "deb": None,
                                     "files": {}, "depends": [], "recommends": []})
            e["files"][rel] = a
    # Depends and Recommends as debian/control writes them (the shared
    # libraries' packages, ${shlibs:Depends}, come from the ELF files)
    for pkg, e in res.items():
        e["depends"] = parse_rel(field(own[pkg], "Pre-Depends", "")) + \
            parse_rel(field(own[pkg], "Depends", ""))
        e["recommends"] = parse_rel(field(own[pkg], "Recommends", ""))
    return res


# ---------------------------------------------------------------- document

def build_document(args):
    root = os.path.abspath(args.root)
    src_para, own = own_packages()
    lic = Licences()
    db = Dpkg(root)
    os_id, os_ver, codename = distro(root)
    distro_q = "%s-%s" % (os_id, os_ver) if os_ver else os_id
    tmp = tempfile.mkdtemp(prefix="vg-sbom.")
    try:
        if args.deb_dir:
            mine = collect_debs(args.deb_dir, own, tmp)
            mode = "the .deb packages in %s" % os.path.basename(os.path.abspath(args.deb_dir))
        else:
            mine = collect_build(args.build_dir, own, root)
            mode = "the build directory %s" % os.path.basename(os.path.abspath(args.build_dir))
        return assemble(mine, own, src_para, lic, db, root, distro_q, codename, mode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def assemble(mine, own, src_para, lic, db, root, distro_q, codename, mode):
    packages, files, rels = {}, [], {}  # rels: (a, type, b) -> {comments}
    notes = []

    def relate(a, t, b, comment=None):
        rels.setdefault((a, t, b), set()).update([comment] if comment else [])

    own_ids = {n: spdx_id("Package", n) for n in mine}
    file_ids = {}

    # voxguard's own packages and files
    own_lic, own_lic_note = lic.own(os.path.join(SRC, "debian/copyright"))
    for name in sorted(mine):
        e = mine[name]
        fids, sha1s = [], []
        for rel in sorted(e["files"]):
            a = e["files"][rel]
            s1, s256 = digests(a)
            fid = spdx_id("File", name, rel)
            file_ids[rel] = fid
            fids.append(fid)
            sha1s.append(s1)
            kind = ["BINARY"]
            files.append({"SPDXID": fid, "fileName": "./" + rel, "fileTypes": kind,
                          "checksums": [{"algorithm": "SHA1", "checksumValue": s1},
                                        {"algorithm": "SHA256", "checksumValue": s256}]})
            relate(own_ids[name], "CONTAINS", fid)
        p = {"SPDXID": own_ids[name], "name": name, "versionInfo": e["version"],
             "supplier": SUPPLIER_SELF, "originator": SUPPLIER_SELF,
             "downloadLocation": "NOASSERTION", "filesAnalyzed": True,
             "hasFiles": fids,
             "packageVerificationCode": {"packageVerificationCodeValue":
                                         hashlib.sha1("".join(sorted(sha1s)).encode()).hexdigest()},
             "licenseConcluded": "NOASSERTION", "licenseDeclared": own_lic,
             "copyrightText": "NOASSERTION",
             "primaryPackagePurpose": "LIBRARY" if name.startswith("lib") else "APPLICATION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": "pkg:generic/%s@%s" % (
                                   name, urllib.parse.quote(e["version"], safe=""))}]}
        if own_lic_note:
            p["licenseComments"] = own_lic_note
        if e["deb"]:
            s1, s256 = digests(e["deb"])
            p["packageFileName"] = os.path.basename(e["deb"])
            p["checksums"] = [{"algorithm": "SHA1", "checksumValue": s1},
                              {"algorithm": "SHA256", "checksumValue": s256}]
        packages[own_ids[name]] = p
        relate("SPDXRef-DOCUMENT", "DESCRIBES", own_ids[name])

    target_arch = sorted(e["arch"] for e in mine.values() if e["arch"] != "all")[0]

    # runtime: what the packages depend on, then the closure
    runtime = {}  # (name, arch) -> comment (how it is needed)
    missing = []

    def resolve(groups, arch, why):
        got = []
        for alts in groups:
            hit = None
            for n, q in alts:
                if n in own:
                    hit = ("own", n)
                    break
                k = db.pick(n, q, arch)
                if k:
                    hit = k
                    break
            if hit is None:
                missing.append("%s (%s)" % (" | ".join(n for n, _ in alts), why))
            elif hit[0] != "own":
                got.append(hit)
        return got

    direct = {}  # own package -> [(key, how)]
    for name in sorted(mine):
        e = mine[name]
        lst = direct.setdefault(name, [])
        for k in resolve(e["depends"], e["arch"], "Depends of " + name):
            lst.append((k, "Depends of %s" % name))
        for k in resolve(e["recommends"], e["arch"], "Recommends of " + name):
            lst.append((k, "Recommends of %s" % name))

    # the libraries the artefacts link or load
    links = []  # (file id, key, comment)
    for name in sorted(mine):
        for rel in sorted(mine[name]["files"]):
            machine, needed, named = elf_info(mine[name]["files"][rel])
            arch, triplet = ELF_ARCH.get(machine, (target_arch, ""))
            want = {}
            for so in needed:
                want[so] = "links %s (DT_NEEDED)" % so
            for so in sorted(named - set(needed)):
                want[so] = "loads %s with dlopen() at run time" % so
            paths = {}
            for so, how in sorted(want.items()):
                if so.startswith("libvoxguard.so"):  # our own
                    continue
                p = find_lib(root, so, triplet)
                if not p:
                    if "dlopen" in how:
                        notes.append("%s %s, which is not installed here: not listed" % (
                            os.path.basename(rel), how.replace("loads", "can load")))
                    else:
                        missing.append("%s (needed by %s)" % (so, rel))
                    continue
                paths[p] = so
            cand = {}
            for p in paths:
                for v in path_variants(p):
                    cand[v] = p
            owners = db.owner(set(cand))
            found = {}
            for v, key in sorted(owners.items()):
                found.setdefault(cand[v], key)
            for p, so in sorted(paths.items()):
                if p not in found:
                    missing.append("%s (%s: no package owns it)" % (so, p))
                    continue
                links.append((file_ids[rel], found[p], want[so]))
                direct[name].append((found[p], "%s %s" % (os.path.basename(rel), want[so])))

    # transitive closure over Depends and Pre-Depends, breadth first
    closure = {}  # own package -> {key: via}
    for name in sorted(mine):
        seen = {}
        queue = []
        for k, how in sorted(direct[name]):
            if k not in seen:
                seen[k] = how
                queue.append(k)
        while queue:
            k = queue.pop(0)
            d = db.pkgs[k]
            arch = d["Architecture"] if d["Architecture"] != "all" else target_arch
            groups = parse_rel(d["Pre-Depends"]) + parse_rel(d["Depends"])
            for nk in resolve(groups, arch, "Depends of " + k[0]):
                if nk not in seen:
                    seen[nk] = "Depends of %s" % k[0]
                    queue.append(nk)
        closure[name] = seen
        for k in seen:
            runtime.setdefault(k, set()).add(name)

    # build dependencies: the source's Build-Depends, one level
    build = {}
    for f in ("Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep"):
        for k in resolve(parse_rel(field(src_para, f, "")), target_arch, f):
            build[k] = f

    # the Debian packages
    for key in sorted(set(runtime) | set(build)):
        d = db.pkgs[key]
        pid = spdx_id("Package", "deb", key[0], key[1])
        name, arch, ver = key[0], key[1], d["Version"]
        src, srcver = d["source:Package"] or name, d["source:Version"] or ver
        doc = os.path.join(root, "usr/share/doc", name, "copyright")
        declared, lcomment = lic.from_copyright(
            doc, "/usr/share/doc/%s/copyright" % name,
            "of the Debian source package %s %s" % (src, srcver))
        q = [("arch", arch), ("distro", distro_q)]
        if src != name or srcver != ver:
            q.append(("upstream", src if srcver == ver else "%s@%s" % (src, srcver)))
        purl = "pkg:deb/%s/%s@%s?%s" % (
            "debian", urllib.parse.quote(name, safe=""), urllib.parse.quote(ver, safe=""),
            "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="-")) for k, v in sorted(q)))
        p = {"SPDXID": pid, "name": name, "versionInfo": ver,
             "supplier": supplier(d["Maintainer"]),
             "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
             "sourceInfo": "built from the Debian source package %s %s" % (src, srcver),
             "licenseConcluded": "NOASSERTION", "licenseDeclared": declared,
             "copyrightText": "NOASSERTION",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": purl}]}
        if lcomment:
            p["licenseComments"] = lcomment
        roles = []
        if key in runtime:
            roles.append("runtime")
        if key in build:
            roles.append("build")
        p["comment"] = "voxguard dependency: %s" % " and ".join(roles)
        packages[pid] = p
        for own_name in sorted(runtime.get(key, ())):
            relate(own_ids[own_name], "DEPENDS_ON", pid, closure[own_name][key])
        if key in build:
            for own_name in sorted(mine):
                relate(pid, "BUILD_DEPENDENCY_OF", own_ids[own_name], build[key])
    for fid, key, how in links:
        relate(fid, "DYNAMIC_LINK", spdx_id("Package", "deb", key[0], key[1]), how)

    if missing:
        notes.append("not resolved in the dpkg database: " + "; ".join(sorted(set(missing))))
    version = mine.get("voxguard", next(iter(mine.values())))["version"]
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "voxguard-%s" % version,
        "creationInfo": {
            "created": created_time(),
            "creators": ["Organization: voxguard developers",
                         "Tool: %s-%s" % (TOOL, project_version())],
            "comment": ("Made by scripts/sbom.py from %s; Debian packages as installed "
                        "in the dpkg database of %s (%s)." % (
                            mode, "this machine" if root == "/" else "the root given",
                            distro_q)),
        },
        "packages": [packages[k] for k in sorted(packages)],
        "files": sorted(files, key=lambda f: f["SPDXID"]),
        "hasExtractedLicensingInfos": [lic.refs[k] for k in sorted(lic.refs)],
        "relationships": [
            dict([("spdxElementId", a), ("relationshipType", t), ("relatedSpdxElement", b)] +
                 ([("comment", "; ".join(sorted(rels[(a, t, b)])))] if rels[(a, t, b)] else []))
            for a, t, b in sorted(rels)],
    }
    if lic.list_version:
        doc["creationInfo"]["licenseListVersion"] = lic.list_version
    if notes:
        doc["comment"] = "\n".join(sorted(set(notes)))
    if codename:
        doc["creationInfo"]["comment"] += " Release: %s." % codename
    h = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
    doc["documentNamespace"] = "https://voxguard.invalid/spdx/voxguard-%s-%s" % (version, h)
    for n in sorted(set(notes)):
        print("sbom: note: %s" % n, file=sys.stderr)
    return doc


def supplier(maint):
    """The Maintainer field as an SPDX supplier: a team or list is an
    Organization, a person a Person."""
    m = re.match(r"^\s*(.*?)\s*<([^>]*)>\s*$", maint or "")
    if not m:
        return "NOASSERTION" if not maint else "Organization: %s" % maint
    name, mail = m.group(1).replace("(", "[").replace(")", "]"), m.group(2)
    org = re.search(r"\b(team|maintainers|developers|group|project|debian)\b", name, re.I) or \
        re.search(r"lists?\.|alioth|@lists", mail)
    return "%s: %s (%s)" % ("Organization" if org else "Person", name, mail)


# ---------------------------------------------------------------- check

def check(path, schema_path):
    try:
        import jsonschema
    except ImportError:
        die("python3-jsonschema is missing (scripts/install-deps.sh)")
    try:
        with open(schema_path) as f:
            schema = json.load(f)
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die(str(e))
    errs = []
    v = jsonschema.Draft7Validator(schema)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        errs.append("schema: /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
    if not isinstance(doc, dict):
        errs.append("not a JSON object")
        return errs
    if doc.get("spdxVersion") != "SPDX-2.3":
        errs.append("spdxVersion is not SPDX-2.3")
    if not doc.get("documentNamespace"):
        errs.append("no documentNamespace")
    created = (doc.get("creationInfo") or {}).get("created", "")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", str(created)):
        errs.append("creationInfo.created is not YYYY-MM-DDThh:mm:ssZ")
    ids = ["SPDXRef-DOCUMENT"]
    for kind in ("packages", "files"):
        for el in doc.get(kind) or []:
            if isinstance(el, dict):
                ids.append(el.get("SPDXID"))
    for i in ids:
        if not isinstance(i, str) or not re.match(r"^SPDXRef-[A-Za-z0-9.-]+$", i):
            errs.append("bad SPDX id %r" % (i,))
    dup = sorted(set(i for i in ids if ids.count(i) > 1 and isinstance(i, str)))
    if dup:
        errs.append("duplicate SPDX ids: %s" % ", ".join(dup))
    known = set(ids)
    for r in doc.get("relationships") or []:
        if not isinstance(r, dict):
            continue
        for k in ("spdxElementId", "relatedSpdxElement"):
            if r.get(k) not in known and r.get(k) not in ("NOASSERTION", "NONE"):
                errs.append("relationship to an unknown element %r" % (r.get(k),))
    if not any(isinstance(r, dict) and r.get("relationshipType") == "DESCRIBES"
               for r in doc.get("relationships") or []) and not doc.get("documentDescribes"):
        errs.append("the document describes nothing")
    for f in doc.get("files") or []:
        algs = [c.get("algorithm") for c in f.get("checksums") or [] if isinstance(c, dict)]
        if "SHA1" not in algs:
            errs.append("%s: no SHA1 checksum" % f.get("SPDXID"))
    refs = set(x.get("licenseId") for x in doc.get("hasExtractedLicensingInfos") or []
               if isinstance(x, dict))
    try:
        from license_expression import get_spdx_licensing
        licensing = get_spdx_licensing()
    except ImportError:
        die("python3-license-expression is missing (scripts/install-deps.sh)")
    for el in (doc.get("packages") or []) + (doc.get("files") or []):
        if not isinstance(el, dict):
            continue
        for k in ("licenseConcluded", "licenseDeclared"):
            e = el.get(k)
            if e is None or e in ("NOASSERTION", "NONE"):
                continue
            info = licensing.validate(e, strict=True)
            bad = [s for s in info.invalid_symbols if str(s) not in refs]
            other = [m for m in info.errors if not m.startswith("Unknown license key")]
            if bad or other:
                errs.append("%s %s: %r: %s" % (el.get("SPDXID"), k, e,
                                               "; ".join(other + ["unknown %s" % s for s in bad])))
    return errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--deb-dir", help="directory with the built .deb files")
    g.add_argument("--build-dir", help="CMake build directory")
    g.add_argument("--check", metavar="FILE", help="validate an SPDX document")
    ap.add_argument("--root", default="/", help="root whose dpkg database to use")
    ap.add_argument("--schema", default=os.path.join(SRC, "data/schema/spdx-schema-2.3.json"))
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    args = ap.parse_args()
    try:
        if args.check:
            errs = check(args.check, args.schema)
            for e in errs:
                print("sbom: %s: %s" % (args.check, e), file=sys.stderr)
            if errs:
                return 1
            print("sbom: %s: valid SPDX 2.3" % args.check)
            return 0
        doc = build_document(args)
        text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if args.output:
            tmp = args.output + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, args.output)
        else:
            sys.stdout.write(text)
        return 0
    except Bad as e:
        print("sbom: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
