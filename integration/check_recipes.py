#!/usr/bin/python3
"""Checks the Yocto layer (integration/yocto/meta-voxguard) and the Buildroot
package (integration/buildroot/package/voxguard) offline, without a Yocto or
Buildroot checkout (tests/integration/test_integration_recipes.sh runs it;
docs/DEVICE.md, "Cross builds, Yocto and Buildroot"):

- syntax: every line of the recipe and layer.conf parses as BitBake
  (assignments, inherit, functions); voxguard.mk runs through `make -n`
  with Buildroot's variables stubbed; Config.in parses with kconfiglib
  under stub definitions of the Buildroot symbols it names, and names no
  other;
- dependencies: the recipe's DEPENDS, the package's VOXGUARD_DEPENDENCIES
  and Config.in's selects are exactly the packages that provide the
  pkg_check_modules() modules of CMakeLists.txt;
- files: CMake is configured as each build system would (cmake.bbclass's
  directories and EXTRA_OECMAKE; pkg-cmake.mk's and VOXGUARD_CONF_OPTS)
  and `cmake --install` run with the programs and libraries of an already
  built tree; every installed file must fall into one of the recipe's
  packages, every FILES entry must match a file, and VOXGUARD_TARGET_FILES
  must be exactly what reaches a Buildroot target (the post-install hook is
  run on it too).

Prints one line per finding ("recipes: ...") and exits 1 when there is one.

  check_recipes.py --src SRC --build BUILD --work DIR [--cmakelists FILE]
                   [--yocto LAYERDIR] [--buildroot PKGDIR]
"""

import argparse
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys

ERRORS = []


def err(msg):
    ERRORS.append(msg)
    print("recipes: " + msg)


# ---- what CMakeLists.txt needs, and who provides it ----

# pkg-config module -> (Yocto recipe, Buildroot package). A module missing
# here is a finding: a new dependency must be added to both.
PROVIDERS = {
    "libcrypto": ("openssl", "openssl"),
    "libssl": ("openssl", "openssl"),
    "sqlite3": ("sqlite3", "sqlite"),
    "libcbor": ("libcbor", "libcbor"),
    "jansson": ("jansson", "jansson"),
    "libseccomp": ("libseccomp", "libseccomp"),
    "libcurl": ("curl", "libcurl"),
    "tss2-esys": ("tpm2-tss", "tpm2-tss"),
    "tss2-tctildr": ("tpm2-tss", "tpm2-tss"),
    "tss2-mu": ("tpm2-tss", "tpm2-tss"),
    "tss2-rc": ("tpm2-tss", "tpm2-tss"),
    "libwebsockets": ("libwebsockets", "libwebsockets"),
    "libxcrypt": ("libxcrypt", "libxcrypt"),
}
# Kconfig options of a dependency that a package may select beside it.
BR_SUB_OPTIONS = {
    "BR2_PACKAGE_OPENSSL_FORCE_LIBOPENSSL": "openssl",
    "BR2_PACKAGE_LIBCURL_FORCE_TLS": "libcurl",
}


def cmake_modules(path):
    """The pkg-config modules of every pkg_check_modules() in the file."""
    text = open(path).read()
    text = re.sub(r"#[^\n]*", "", text)
    mods = []
    for m in re.finditer(r"pkg_check_modules\s*\(([^)]*)\)", text):
        words = m.group(1).split()[1:]
        for w in words:
            if w in ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                     "NO_CMAKE_ENVIRONMENT_PATH"):
                continue
            mods.append(re.split(r"[<>=]", w)[0])
    return mods


def project_version(path):
    m = re.search(r"project\(voxguard VERSION ([0-9.]+)", open(path).read())
    return m.group(1) if m else None


# ---- BitBake ----

ASSIGN = re.compile(
    r'^(export\s+)?([A-Za-z0-9_${}\-+./]+(?::[A-Za-z0-9_${}\-+./]+)*)(\[[A-Za-z0-9_\-]+\])?'
    r'\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(["\'])(.*)\5\s*$', re.S)
FUNC = re.compile(r'^(python\s+)?(fakeroot\s+)?[A-Za-z0-9_${}\-:]+\s*\(\s*\)\s*\{\s*$')
DIRECTIVE = re.compile(r'^(inherit|include|require|addtask|deltask|EXPORT_FUNCTIONS|addhandler|inherit_defer)\s+\S')


def parse_bitbake(path):
    """Returns (assignments as (name, op, value) in order, inherits) or
    records a syntax finding for each line that is not BitBake."""
    assigns, inherits = [], []
    lines = open(path).read().split("\n")
    i = 0
    name = os.path.relpath(path, ARGS.src)
    while i < len(lines):
        start = i
        line = lines[i]
        # Continuation lines.
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i]
        i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if FUNC.match(s):
            # A shell or python function: up to a "}" alone at column 0.
            while i < len(lines) and lines[i].rstrip() != "}":
                i += 1
            if i >= len(lines):
                err(f"{name}:{start + 1}: function not closed with a '}}' line")
            i += 1
            continue
        if DIRECTIVE.match(s):
            if s.startswith("inherit"):
                inherits += s.split()[1:]
            continue
        m = ASSIGN.match(s)
        if not m:
            err(f"{name}:{start + 1}: not a BitBake statement: {s[:60]}")
            continue
        value = m.group(6)
        if m.group(5) in value.replace('\\' + m.group(5), ""):
            err(f"{name}:{start + 1}: unescaped quote in the value of {m.group(2)}")
            continue
        if value.count("${") > value.count("}"):
            err(f"{name}:{start + 1}: unclosed ${{ in the value of {m.group(2)}")
            continue
        assigns.append((m.group(2), m.group(4), value))
    return assigns, inherits


def bb_vars(assigns, base):
    """Applies assignments in order (no overrides resolved: FILES:${PN} is
    a name of its own, expanded below)."""
    v = dict(base)
    for name, op, value in assigns:
        cur = v.get(name)
        if op in ("=", ":="):
            v[name] = value
        elif op == "?=" or op == "??=":
            v.setdefault(name, value)
        elif op in ("+=",):
            v[name] = (cur + " " + value) if cur else value
        elif op == "=+":
            v[name] = (value + " " + cur) if cur else value
        elif op == ".=":
            v[name] = (cur or "") + value
        elif op == "=.":
            v[name] = value + (cur or "")
    return v


def bb_expand(s, v, depth=0):
    if depth > 20:
        err(f"recursive expansion: {s[:60]}")
        return s

    def rep(m):
        k = m.group(1)
        if k not in v:
            return m.group(0)
        return bb_expand(v[k], v, depth + 1)
    return re.sub(r"\$\{([A-Za-z0-9_\-]+)\}", rep, s)


# Yocto's directories (bitbake.conf, no usrmerge) and cmake.bbclass's.
YOCTO_BASE = {
    "prefix": "/usr", "exec_prefix": "/usr", "base_prefix": "",
    "bindir": "${exec_prefix}/bin", "sbindir": "${exec_prefix}/sbin",
    "libdir": "${exec_prefix}/lib", "baselib": "lib",
    "nonarch_libdir": "${exec_prefix}/lib", "nonarch_base_libdir": "${base_prefix}/lib",
    "includedir": "${exec_prefix}/include", "sysconfdir": "${base_prefix}/etc",
    "datadir": "${prefix}/share", "mandir": "${datadir}/man", "docdir": "${datadir}/doc",
    "localstatedir": "${base_prefix}/var",
    "systemd_unitdir": "${nonarch_base_libdir}/systemd",
    "systemd_system_unitdir": "${nonarch_base_libdir}/systemd/system",
    "PACKAGE_BEFORE_PN": "",
    "PACKAGES": "${PN}-src ${PN}-dbg ${PN}-staticdev ${PN}-dev ${PN}-doc ${PN}-locale ${PACKAGE_BEFORE_PN} ${PN}",
    # Defaults of the packages the recipe leaves alone (bitbake.conf).
    "FILES:${PN}-src": "${prefix}/src/debug",
    "FILES:${PN}-dbg": "/usr/lib/debug /usr/src/debug ${bindir}/.debug ${libdir}/.debug",
    "FILES:${PN}-locale": "${datadir}/locale",
}


def yocto_cmake_args(v):
    # cmake.bbclass: the prefix, relative install dirs, sysconfdir absolute.
    ex = lambda k: bb_expand("${%s}" % k, v)
    rel = lambda k: os.path.relpath(ex(k), ex("prefix") + "/")
    args = [
        "-DCMAKE_INSTALL_PREFIX=" + ex("prefix"),
        "-DCMAKE_INSTALL_BINDIR=" + rel("bindir"),
        "-DCMAKE_INSTALL_SBINDIR=" + rel("sbindir"),
        "-DCMAKE_INSTALL_SYSCONFDIR=" + ex("sysconfdir"),
        "-DCMAKE_INSTALL_LOCALSTATEDIR=" + ex("localstatedir"),
        "-DCMAKE_INSTALL_LIBDIR=" + rel("libdir"),
        "-DCMAKE_INSTALL_INCLUDEDIR=" + rel("includedir"),
        "-DCMAKE_INSTALL_DATAROOTDIR=" + rel("datadir"),
    ]
    return args + bb_expand(v.get("EXTRA_OECMAKE", ""), v).split()


# ---- a real cmake --install with a build system's configuration ----

def installed_files(args):
    """Configures a scratch build with ARGS, borrows the built programs and
    libraries of --build, runs cmake --install into a DESTDIR and returns
    (destdir, sorted list of installed paths relative to it). Cached by
    the arguments, so the negative checks do not configure again."""
    key = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
    bdir = os.path.join(ARGS.work, "cmake-" + key)
    dest = os.path.join(ARGS.work, "dest-" + key)
    if not os.path.isdir(dest):
        shutil.rmtree(bdir, ignore_errors=True)
        r = subprocess.run(["cmake", "-S", ARGS.src, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release"] + args,
                           capture_output=True, text=True)
        if r.returncode != 0:
            err("cmake could not configure with " + " ".join(args) + ":\n" + r.stderr[-2000:])
            return None, []
        # What the install takes from the build tree: borrowed from the
        # tested build (same CMakeLists.txt, so the same places).
        script = ""
        for root, _, files in os.walk(bdir):
            if "cmake_install.cmake" in files:
                script += open(os.path.join(root, "cmake_install.cmake")).read()
        for f in sorted(set(re.findall(r'"(' + re.escape(bdir) + r'/[^"]+)"', script))):
            rel = os.path.relpath(f, bdir)
            src = os.path.join(ARGS.build, rel)
            if os.path.exists(f) or rel.endswith("/") or "CMakeFiles" in rel:
                continue
            if os.path.lexists(src) and not os.path.isdir(src):
                os.makedirs(os.path.dirname(f), exist_ok=True)
                shutil.copy2(src, f, follow_symlinks=False)
        env = dict(os.environ, DESTDIR=dest)
        r = subprocess.run(["cmake", "--install", bdir], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(dest, ignore_errors=True)
            err("cmake --install failed:\n" + (r.stderr or r.stdout)[-2000:])
            return None, []
    out = []
    for root, dirs, files in os.walk(dest):
        for f in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            out.append("/" + os.path.relpath(os.path.join(root, f), dest))
    return dest, sorted(out)


# ---- Yocto ----

def check_yocto(layer, modules, version):
    conf = os.path.join(layer, "conf", "layer.conf")
    if not os.path.isfile(conf):
        err(f"{conf}: missing")
        return
    cassigns, _ = parse_bitbake(conf)
    cv = bb_vars(cassigns, {})
    for k in ("BBFILE_COLLECTIONS", "BBFILE_PATTERN_voxguard", "LAYERSERIES_COMPAT_voxguard", "BBFILES"):
        if k not in cv:
            err(f"layer.conf: {k} not set")
    recipes = []
    for root, _, files in os.walk(layer):
        recipes += [os.path.join(root, f) for f in files if f.endswith(".bb")]
    for pat in cv.get("BBFILES", "").split():
        pat = pat.replace("${LAYERDIR}", layer)
        if not any(fnmatch.fnmatch(r, pat) for r in recipes) and pat.endswith(".bb"):
            err(f"layer.conf: BBFILES {pat} matches no recipe")
    if len(recipes) != 1:
        err(f"meta-voxguard: {len(recipes)} recipes, wanted 1")
        return
    recipe = recipes[0]
    rname = os.path.relpath(recipe, ARGS.src)
    pn = os.path.basename(recipe).split("_")[0]
    assigns, inherits = parse_bitbake(recipe)
    base = dict(YOCTO_BASE, PN=pn, BPN=pn)
    v = bb_vars(assigns, base)

    for c in ("cmake", "pkgconfig", "systemd", "useradd"):
        if c not in inherits:
            err(f"{rname}: does not inherit {c}")
    pv = v.get("PV") or os.path.basename(recipe)[len(pn) + 1:-3]
    if not pv.startswith(version):
        err(f"{rname}: PV {pv} is not CMakeLists.txt's version {version}")

    # Dependencies: exactly the providers of the modules.
    want = {PROVIDERS[m][0] for m in modules if m in PROVIDERS}
    have = set(bb_expand(v.get("DEPENDS", ""), v).split())
    for m in modules:
        if m not in PROVIDERS:
            err(f"CMakeLists.txt needs pkg-config module {m}: no Yocto recipe or Buildroot package known for it (integration/check_recipes.py PROVIDERS)")
    for d in sorted(want - have):
        err(f"{rname}: DEPENDS lacks {d} (CMakeLists.txt's pkg_check_modules)")
    for d in sorted(have - want):
        err(f"{rname}: DEPENDS has {d}, which no pkg_check_modules of CMakeLists.txt needs")

    # Files: a real install with the recipe's CMake arguments.
    dest, files = installed_files(yocto_cmake_args(v))
    if dest is None:
        return
    packages = bb_expand(v.get("PACKAGES", ""), v).split()
    # FILES:<package>, by expanded package name.
    pfiles = {}
    for name in v:
        if name.startswith("FILES:"):
            pfiles[bb_expand(name[len("FILES:"):], v)] = bb_expand(v[name], v).split()
    owner = {}
    used = set()
    for f in files:
        for p in packages:
            hit = None
            for pat in pfiles.get(p, []):
                # BitBake: a glob, and a directory takes what is below it.
                if fnmatch.fnmatch(f, pat) or f.startswith(pat.rstrip("/") + "/"):
                    hit = pat
                    break
            if hit:
                owner[f] = p
                used.add((p, hit))
                break
        else:
            err(f"{rname}: {f} is installed but in no package's FILES (Yocto: installed-vs-shipped)")
    for name, _, _ in assigns:
        if not name.startswith("FILES:"):
            continue
        p = bb_expand(name[len("FILES:"):], v)
        if p not in packages:
            err(f"{rname}: FILES:{p}: {p} is not in PACKAGES")
            continue
        for pat in pfiles[p]:
            if (p, pat) not in used:
                err(f"{rname}: FILES:{p} entry {pat} matches no installed file (or an earlier package took it)")
    for u in bb_expand(v.get("SYSTEMD_SERVICE:${PN}", ""), v).split():
        if owner.get(bb_expand("${systemd_system_unitdir}/", v) + u) != pn:
            err(f"{rname}: SYSTEMD_SERVICE {u} is not a unit of package {pn}")
    for c in bb_expand(v.get("CONFFILES:${PN}", ""), v).split():
        if owner.get(c) != pn:
            err(f"{rname}: CONFFILES {c} is not a file of package {pn}")
    # The user: the one the units and sysusers.d name.
    user = re.search(r"^u\s+(\S+)", open(os.path.join(dest, "usr/lib/sysusers.d/voxguard.conf")).read(), re.M)
    up = bb_expand(v.get("USERADD_PARAM:${PN}", ""), v).split()
    if not user or not up or up[-1] != user.group(1):
        err(f"{rname}: USERADD_PARAM creates {up[-1] if up else 'nobody'}, sysusers.d {user.group(1) if user else 'nobody'}")
    print(f"recipes: yocto: {len(files)} installed files in {len(set(owner.values()))} packages")


# ---- Buildroot ----

BR_STUB_MK = r"""
# Stubs of what Buildroot defines before a package's .mk.
TARGET_DIR ?= /nonexistent-target
STAGING_DIR ?= /nonexistent-staging
HOST_DIR ?= /nonexistent-host
INSTALL ?= install
pkgname = voxguard
cmake-package = VOXGUARD_EVALUATED := yes
"""
BR_PRINT_MK = r"""
br-print:
	@echo 'VERSION=$(VOXGUARD_VERSION)'
	@echo 'DEPENDENCIES=$(VOXGUARD_DEPENDENCIES)'
	@echo 'CONF_OPTS=$(VOXGUARD_CONF_OPTS)'
	@echo 'TARGET_FILES=$(VOXGUARD_TARGET_FILES)'
	@echo 'HOOKS=$(VOXGUARD_POST_INSTALL_TARGET_HOOKS)'
	@echo 'EVALUATED=$(VOXGUARD_EVALUATED)'
	@echo 'USERS=$(strip $(VOXGUARD_USERS))'
	@echo 'PERMISSIONS=$(strip $(VOXGUARD_PERMISSIONS))'
br-hooks:
	$(foreach h,$(VOXGUARD_POST_INSTALL_TARGET_HOOKS),$($(h))$(sep))
	$(VOXGUARD_INSTALL_INIT_SYSTEMD)
define sep


endef
"""
# Buildroot symbols Config.in may name (stubbed as bool, y unless listed).
BR_SYMBOLS_N = {"BR2_STATIC_LIBS"}
BR_SYMBOLS = {
    "BR2_USE_MMU", "BR2_TOOLCHAIN_HAS_THREADS", "BR2_STATIC_LIBS",
    "BR2_PACKAGE_LIBSECCOMP_ARCH_SUPPORTS", "BR2_TOOLCHAIN_HEADERS_AT_LEAST_3_17",
    "BR2_INIT_SYSTEMD",
} | set(BR_SUB_OPTIONS)


def br_symbol(pkg):
    return "BR2_PACKAGE_" + pkg.upper().replace("-", "_")


def check_buildroot(pkgdir, modules, version):
    mk = os.path.join(pkgdir, "voxguard.mk")
    cfg = os.path.join(pkgdir, "Config.in")
    for f in (mk, cfg, os.path.join(pkgdir, "voxguard.hash")):
        if not os.path.isfile(f):
            err(f"{os.path.relpath(f, ARGS.src)}: missing")
            return
    stub = os.path.join(ARGS.work, "br-stub.mk")
    printer = os.path.join(ARGS.work, "br-print.mk")
    open(stub, "w").write(BR_STUB_MK)
    open(printer, "w").write(BR_PRINT_MK)
    # Syntax: make parses it and would run it (-n).
    r = subprocess.run(["make", "-n", "-f", stub, "-f", mk, "-f", printer, "br-print", "br-hooks"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        err("voxguard.mk: make -n fails: " + r.stderr.strip()[-600:])
        return
    r = subprocess.run(["make", "-s", "-f", stub, "-f", mk, "-f", printer, "br-print"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        err("voxguard.mk: make fails: " + r.stderr.strip()[-600:])
        return
    mv = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    if mv.get("EVALUATED") != "yes":
        err("voxguard.mk: does not end with $(eval $(cmake-package))")
    if mv.get("VERSION") != version:
        err(f"voxguard.mk: VOXGUARD_VERSION {mv.get('VERSION')} is not CMakeLists.txt's version {version}")

    want = {PROVIDERS[m][1] for m in modules if m in PROVIDERS}
    have = set(mv.get("DEPENDENCIES", "").split())
    for d in sorted(want - have):
        err(f"voxguard.mk: VOXGUARD_DEPENDENCIES lacks {d} (CMakeLists.txt's pkg_check_modules)")
    for d in sorted(have - want):
        err(f"voxguard.mk: VOXGUARD_DEPENDENCIES has {d}, which no pkg_check_modules of CMakeLists.txt needs")

    users = mv.get("USERS", "").split()
    if len(users) < 9 or users[0] != users[2]:
        err(f"voxguard.mk: VOXGUARD_USERS is not one makeusers line: {mv.get('USERS')}")

    # Kconfig: kconfiglib, under stubs of the Buildroot symbols it may use
    # and of the selected packages' symbols.
    try:
        sys.path.insert(0, "/usr/lib/python3/dist-packages")
        import kconfiglib
    except ImportError:
        err("python3-kconfiglib is missing (scripts/install-deps.sh installs it)")
        return
    # As a BR2_EXTERNAL tree (integration/buildroot/external.desc): its
    # Config.in must reach the package's, and external.mk its .mk.
    src_cfg = cfg
    ext = os.path.dirname(os.path.dirname(os.path.abspath(pkgdir)))
    desc = os.path.join(ext, "external.desc")
    if os.path.isfile(desc):
        m = re.search(r"^name:\s*(\S+)", open(desc).read(), re.M)
        if not m:
            err("external.desc: no name")
            return
        var = f"BR2_EXTERNAL_{m.group(1)}_PATH"
        os.environ[var] = ext
        src_cfg = os.path.join(ext, "Config.in")
        emk = os.path.join(ext, "external.mk")
        if not os.path.isfile(emk) or "$(" + var + ")/package/" not in open(emk).read():
            err(f"external.mk: does not include the packages' .mk files under $({var})")
    top = os.path.join(ARGS.work, "Kconfig.stub")
    with open(top, "w") as f:
        f.write('mainmenu "stub"\n')
        for s in sorted(BR_SYMBOLS | {br_symbol(p) for p in want}):
            f.write(f"config {s}\n\tbool\n" + ("" if s in BR_SYMBOLS_N else "\tdefault y\n"))
        f.write(f'source "{src_cfg}"\n')
    try:
        kc = kconfiglib.Kconfig(top, warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        err("Config.in: " + str(e).strip().replace("\n", " ")[:300])
        return
    for w in kc.warnings:
        err("Config.in: " + w.strip().replace("\n", " ")[:300])
    # A symbol that is named but defined nowhere (a typo, or one that
    # Buildroot does not have): kconfiglib keeps it, with no definition.
    for name, s in sorted(kc.syms.items()):
        if not s.nodes and name != "MODULES":
            err(f"Config.in: names {name}, which is defined nowhere (not a Buildroot symbol known here)")
    sym = kc.syms.get("BR2_PACKAGE_VOXGUARD")
    if sym is None or not sym.nodes or sym.type != kconfiglib.BOOL:
        err("Config.in: no bool BR2_PACKAGE_VOXGUARD")
        return
    if sym.visibility != 2:
        err("Config.in: BR2_PACKAGE_VOXGUARD cannot be enabled even with every dependency met")
    selects = {s.name for s, _ in sym.selects}
    wsel = {br_symbol(p) for p in want}
    for s in sorted(wsel - selects):
        err(f"Config.in: does not select {s} (CMakeLists.txt's pkg_check_modules)")
    for s in sorted(selects - wsel):
        if BR_SUB_OPTIONS.get(s) not in want:
            err(f"Config.in: selects {s}, which no pkg_check_modules of CMakeLists.txt needs")
    for d in sorted(have):
        if br_symbol(d) not in selects:
            err(f"Config.in: VOXGUARD_DEPENDENCIES has {d} but Config.in does not select {br_symbol(d)}")

    # Files: pkg-cmake.mk's configuration plus VOXGUARD_CONF_OPTS.
    args = ["-DCMAKE_INSTALL_PREFIX=/usr", "-DBUILD_SHARED_LIBS=ON", "-DBUILD_TESTING=OFF"]
    dest, files = installed_files(args + mv.get("CONF_OPTS", "").split())
    if dest is None:
        return
    user = re.search(r"^u\s+(\S+)", open(os.path.join(dest, "usr/lib/sysusers.d/voxguard.conf")).read(), re.M)
    if not user or not users or users[0] != user.group(1):
        err(f"voxguard.mk: VOXGUARD_USERS creates {users[0] if users else 'nobody'}, sysusers.d {user.group(1) if user else 'nobody'}")
    # target-finalize removes these from the target (Buildroot's Makefile).
    gone = re.compile(r"^/usr/(include|lib/pkgconfig|share/pkgconfig|lib/cmake|share/cmake|share/man|share/doc|man|doc)/|\.a$|\.la$")
    target = {f for f in files if not gone.search(f)}
    listed = {"/" + f for f in mv.get("TARGET_FILES", "").split()}
    for f in sorted(target - listed):
        err(f"voxguard.mk: {f} reaches the target but is not in VOXGUARD_TARGET_FILES")
    for f in sorted(listed - target):
        err(f"voxguard.mk: VOXGUARD_TARGET_FILES has {f}, which the install does not put on the target")
    # The hooks, run for real on a copy of that install.
    tdir = os.path.join(ARGS.work, "br-target")
    shutil.rmtree(tdir, ignore_errors=True)
    shutil.copytree(dest, tdir, symlinks=True)
    r = subprocess.run(["make", "-s", "-f", stub, "-f", mk, "-f", printer, "br-hooks", "TARGET_DIR=" + tdir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        err("voxguard.mk: the post-install hooks fail on a real install: " + (r.stdout + r.stderr).strip()[-400:])
    preset = os.path.join(tdir, "usr/lib/systemd/system-preset/80-voxguard.preset")
    if os.path.isfile(preset):
        for line in open(preset):
            w = line.split()
            if len(w) == 2 and w[0] == "enable" and not os.path.isfile(os.path.join(tdir, "usr/lib/systemd/system", w[1])):
                err(f"voxguard.mk: the preset enables {w[1]}, which is not installed")
    else:
        err("voxguard.mk: VOXGUARD_INSTALL_INIT_SYSTEMD wrote no preset")
    print(f"recipes: buildroot: {len(target)} files on the target, {len(selects)} selects")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cmakelists")
    ap.add_argument("--yocto")
    ap.add_argument("--buildroot")
    ARGS = ap.parse_args()
    ARGS.src = os.path.abspath(ARGS.src)
    cml = ARGS.cmakelists or os.path.join(ARGS.src, "CMakeLists.txt")
    modules = cmake_modules(cml)
    version = project_version(cml)
    if not modules or not version:
        err(f"{cml}: no pkg_check_modules or no project version")
    os.makedirs(ARGS.work, exist_ok=True)
    check_yocto(ARGS.yocto or os.path.join(ARGS.src, "integration/yocto/meta-voxguard"), modules, version)
    check_buildroot(ARGS.buildroot or os.path.join(ARGS.src, "integration/buildroot/package/voxguard"),
                    modules, version)
    print(f"recipes: {len(ERRORS)} findings")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
