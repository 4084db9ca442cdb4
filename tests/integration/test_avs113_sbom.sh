#!/bin/sh
# The SBOM and the vulnerability report (AVS 1.13: the firmware's
# components listed for scanning; AVS 1.17: their licences; AVS 1.8: known
# vulnerabilities with a fix plan; docs/EVIDENCE.md, "SBOM and
# vulnerability report (AVS 1.8, 1.13, 1.17)").
#
# scripts/sbom.py writes the SPDX 2.3 document of this build directory
# (dirname of $VOXGUARDD) and, when `make deb` has built them (make check
# does, before the tests), of the packages in build-deb/ (or VG_DEB_DIR,
# for packages built elsewhere by scripts/build-deb.sh). The document must
# pass the vendored SPDX 2.3 schema (data/schema/) with Debian's
# python3-jsonschema, and broken copies must fail. libssl3 and
# libsqlite3-0 must be listed at their installed versions with the
# licences their copyright files declare; the artefacts' checksums must be
# those of the files. scripts/vulnreport.py then matches the SBOM against
# the checked-in tracker sample
# (tests/vectors/debian-security-tracker-sample.json) through this build's
# `voxguard doctor --vuln-db` ($VOXGUARD: the one parser of the feed) and
# must report exactly the expected entries. No network.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}" "${VOXGUARD:?set by ctest}"
[ "$VG_SANITIZE" = 1 ] && { echo "skip: the SBOM describes the release build"; exit 77; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # Debian's, with python3-jsonschema
for m in jsonschema license_expression; do
	$PY -c "import $m" 2>/dev/null || { echo "not ok - python3 module $m is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
sbom() { $PY "$VG_SRC/scripts/sbom.py" "$@"; }
vulnreport() { $PY "$VG_SRC/scripts/vulnreport.py" --voxguard "$VOXGUARD" "$@"; }
FEED=$VG_SRC/tests/vectors/debian-security-tracker-sample.json
B=$(dirname "$VOXGUARDD")
arch=$(dpkg --print-architecture)

# js FILE EXPR: EXPR (Python) is true of the JSON document d. Helpers:
# pkg(name) the package named so, rels(type) the (from, to, comment) list.
js() {
	$PY - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def pkg(name):
    return [p for p in d.get("packages", []) if p.get("name") == name][0]
def rels(t):
    return [(r["spdxElementId"], r["relatedSpdxElement"], r.get("comment", ""))
            for r in d.get("relationships", []) if r["relationshipType"] == t]
def vuln(cve):
    return [v for v in d["vulnerabilities"] if v["cve"] == cve]
def noted(cve):
    return [v for v in d["noted"] if v["cve"] == cve]
if not eval(sys.argv[2]):
    sys.exit(1)
PY
}

# ------------------------------------------------------------ (a) generate
if sbom --build-dir "$B" -o "$T/build.json" 2>"$T/err.txt"; then
	ok "AVS 1.13: sbom.py writes the build directory's SBOM"
else
	not_ok "AVS 1.13: sbom.py writes the build directory's SBOM"
	cat "$T/err.txt"
fi
sbom --build-dir "$B" -o "$T/build2.json" 2>/dev/null || true
check "AVS 1.13: two runs write the same document" cmp "$T/build.json" "$T/build2.json"
SOURCE_DATE_EPOCH=86400 sbom --build-dir "$B" -o "$T/sde.json" 2>/dev/null || true
check "AVS 1.13: the creation time is SOURCE_DATE_EPOCH's" \
	js "$T/sde.json" 'd["creationInfo"]["created"] == "1970-01-02T00:00:00Z"'
check_fails "AVS 1.13: a build directory without the binaries is refused" 2 \
	sbom --build-dir "$T" -o "$T/none.json"

DOCS="$T/build.json"
DEBS=
DEB_DIR=${VG_DEB_DIR:-$VG_SRC/build-deb}
if ls "$DEB_DIR"/voxguard_*.deb >/dev/null 2>&1; then
	# a copy, so that a concurrent make deb cannot pull them away
	mkdir "$T/debs"
	cp "$DEB_DIR"/*.deb "$T/debs/"
	if sbom --deb-dir "$T/debs" -o "$T/deb.json" 2>"$T/err.txt"; then
		ok "AVS 1.13: sbom.py writes the packages' SBOM"
	else
		not_ok "AVS 1.13: sbom.py writes the packages' SBOM"
		cat "$T/err.txt"
	fi
	DOCS="$DOCS $T/deb.json"
	DEBS=$T/debs
else
	echo "# $DEB_DIR has no packages (make deb): the build directory's SBOM only"
fi

# ------------------------------------------------------------ (b) validate
for doc in $DOCS; do
	n=$(basename "$doc")
	check "AVS 1.13: $n passes the SPDX 2.3 schema and rules (sbom.py --check)" sbom --check "$doc"
	check "AVS 1.13: $n passes Debian's jsonschema tool" \
		jsonschema -i "$doc" "$VG_SRC/data/schema/spdx-schema-2.3.json"
done
# broken copies: each must fail
$PY - "$T/build.json" "$T" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def write(name, doc):
    json.dump(doc, open("%s/%s.json" % (sys.argv[2], name), "w"))
b = json.loads(json.dumps(d)); del b["spdxVersion"]; write("no-version", b)
b = json.loads(json.dumps(d)); b["packages"][0]["filesAnalyzed"] = "yes"; write("bad-type", b)
b = json.loads(json.dumps(d)); b["relationships"][0]["relatedSpdxElement"] = "SPDXRef-nowhere"; write("dangling", b)
b = json.loads(json.dumps(d)); b["hasExtractedLicensingInfos"] = b["hasExtractedLicensingInfos"][1:]; write("undefined-ref", b)
b = json.loads(json.dumps(d)); b["files"][0]["checksums"] = [c for c in b["files"][0]["checksums"] if c["algorithm"] != "SHA1"]; write("no-sha1", b)
PY
check_fails "AVS 1.13: a copy without spdxVersion fails the check" 1 sbom --check "$T/no-version.json"
check "AVS 1.13: a copy without spdxVersion fails Debian's jsonschema tool" \
	sh -c "! jsonschema -i '$T/no-version.json' '$VG_SRC/data/schema/spdx-schema-2.3.json'"
check_fails "AVS 1.13: a member of the wrong type fails the schema" 1 sbom --check "$T/bad-type.json"
check_fails "AVS 1.13: a relationship to an unknown element fails" 1 sbom --check "$T/dangling.json"
check_fails "AVS 1.17: a LicenseRef without its text fails" 1 sbom --check "$T/undefined-ref.json"
check_fails "AVS 1.13: a file without SHA-1 fails" 1 sbom --check "$T/no-sha1.json"

# ------------------------------------------------------------ (c) contents
ssl_ver=$(dpkg-query -W -f '${Version}' "libssl3:$arch")
sql_ver=$(dpkg-query -W -f '${Version}' "libsqlite3-0:$arch")
ssl_src=$(dpkg-query -W -f '${source:Package}' "libssl3:$arch")
for doc in $DOCS; do
	n=$(basename "$doc")
	check "AVS 1.13: $n lists libssl3 at the installed $ssl_ver" \
		js "$doc" "pkg('libssl3')['versionInfo'] == '$ssl_ver'"
	check "AVS 1.13: $n lists libsqlite3-0 at the installed $sql_ver" \
		js "$doc" "pkg('libsqlite3-0')['versionInfo'] == '$sql_ver'"
	check "AVS 1.13: $n: libssl3's purl names it, its version, architecture, distro and source $ssl_src" \
		js "$doc" "pkg('libssl3')['externalRefs'][0]['referenceLocator'].startswith('pkg:deb/debian/libssl3@') and '?arch=$arch&distro=debian-' in pkg('libssl3')['externalRefs'][0]['referenceLocator'] and 'upstream=$ssl_src' in pkg('libssl3')['externalRefs'][0]['referenceLocator']"
	check "AVS 1.13: $n: libssl3's supplier is its Debian maintainer" \
		js "$doc" "'Debian OpenSSL Team' in pkg('libssl3')['supplier']"
	# The licences their copyright files declare (DEP-5): OpenSSL 3 is
	# Apache-2.0; SQLite is in the public domain (a LicenseRef with its text).
	check "AVS 1.17: $n: libssl3's licence is Apache-2.0 (its copyright file)" \
		js "$doc" "'Apache-2.0' in pkg('libssl3')['licenseDeclared'].split()"
	check "AVS 1.17: $n: libsqlite3-0's licence names public-domain, with the text" \
		js "$doc" "any(t.startswith('LicenseRef-public-domain-') and any(x['licenseId'] == t and 'public domain' in x['extractedText'].lower() for x in d['hasExtractedLicensingInfos']) for t in pkg('libsqlite3-0')['licenseDeclared'].split())"
	check "AVS 1.13: $n: voxguard DEPENDS_ON libssl3 and libsqlite3-0" \
		js "$doc" "{('SPDXRef-Package-voxguard', pkg(n)['SPDXID']) for n in ('libssl3', 'libsqlite3-0')} <= {(a, b) for a, b, c in rels('DEPENDS_ON')}"
	check "AVS 1.13: $n: voxguardd's DYNAMIC_LINK to libsqlite3-0 names libsqlite3.so.0" \
		js "$doc" "any(a.endswith('-voxguardd') and b == pkg('libsqlite3-0')['SPDXID'] and 'libsqlite3.so.0' in c for a, b, c in rels('DYNAMIC_LINK'))"
	check "AVS 1.13: $n: libssl-dev is a BUILD_DEPENDENCY_OF voxguard, not a runtime one" \
		js "$doc" "(pkg('libssl-dev')['SPDXID'], 'SPDXRef-Package-voxguard') in {(a, b) for a, b, c in rels('BUILD_DEPENDENCY_OF')} and pkg('libssl-dev')['SPDXID'] not in {b for a, b, c in rels('DEPENDS_ON')}"
	check "AVS 1.13: $n lists the five artefacts" \
		js "$doc" "sorted(f['fileName'].split('/')[-1].split('.so.')[0] for f in d['files']) == ['libvoxguard', 'voxguard', 'voxguard-displayd', 'voxguard.so', 'voxguardd']"
done

# The artefacts' checksums are those of the files: the build directory's,
# and those inside the packages.
sums() { # sums DOC: "sha256 basename" lines of the document's files
	$PY -c 'import json,sys
for f in json.load(open(sys.argv[1]))["files"]:
    print(dict((c["algorithm"], c["checksumValue"]) for c in f["checksums"])["SHA256"], f["fileName"].split("/")[-1])' "$1" | sort
}
sums "$T/build.json" >"$T/build.sums"
(cd "$B" && sha256sum voxguardd voxguard voxguard-displayd voxguard.so libvoxguard.so.*.*.*) |
	sed 's/  / /' | sort >"$T/build.files"
check "AVS 1.13: the build directory's checksums match the files" cmp "$T/build.sums" "$T/build.files"
check "AVS 1.13: the checksums were compared (5 files)" test "$(wc -l <"$T/build.sums")" = 5
if [ -n "$DEBS" ]; then
	for d in "$DEBS"/voxguard_*.deb "$DEBS"/libvoxguard0_*.deb; do dpkg-deb -x "$d" "$T/root"; done
	sums "$T/deb.json" >"$T/deb.sums"
	find "$T/root" -type f \( -path '*/usr/bin/voxguard*' -o -name 'libvoxguard.so.*' -o -path '*/ossl-modules/voxguard.so' \) \
		-exec sha256sum {} + | sed 's|  .*/| |' | sort >"$T/deb.files"
	check "AVS 1.13: the packages' checksums match the files in the .deb" cmp "$T/deb.sums" "$T/deb.files"
	check "AVS 1.13: the .deb checksums were compared (5 files)" test "$(wc -l <"$T/deb.sums")" = 5
fi

# ------------------------------------------------------------ (d) report
DOC=$T/build.json
[ -n "$DEBS" ] && DOC=$T/deb.json
if vulnreport --sbom "$DOC" --feed "$FEED" --md "$T/vuln.md" --json "$T/vuln.json" 2>"$T/err.txt"; then
	ok "AVS 1.8: vulnreport.py reads the SBOM and the tracker sample"
else
	not_ok "AVS 1.8: vulnreport.py reads the SBOM and the tracker sample"
	cat "$T/err.txt"
fi
cat "$T/vuln.md"
R=$T/vuln.json
check "AVS 1.8: the release is bookworm, from the SBOM's distro" js "$R" "d['release'] == 'bookworm'"
check "AVS 1.8: openssl's fix (newer than installed) is reported, reachable, with the upgrade plan" \
	js "$R" "[(v['source'], v['status'], v['reachable'], v['fixed_version']) for v in vuln('CVE-2099-1001')] == [('openssl', 'fix-available', 'yes', '3.0.99-1~deb12u1')] and 'upgrade libssl3 to 3.0.99-1~deb12u1' in vuln('CVE-2099-1001')[0]['fix_plan'] and 'signed update path (docs/UPDATE.md' in vuln('CVE-2099-1001')[0]['fix_plan']"
check "AVS 1.8: openssl's installed source version is the one dpkg has" \
	js "$R" "vuln('CVE-2099-1001')[0]['installed'] == '$(dpkg-query -W -f '${source:Version}' "libssl3:$arch")'"
check "AVS 1.8: sqlite3's open issue is tracked with its urgency and a mitigation" \
	js "$R" "[(v['status'], v['reachable'], v['urgency']) for v in vuln('CVE-2099-2001')] == [('no-fix-yet', 'yes', 'low')] and vuln('CVE-2099-2001')[0]['fix_plan'].startswith('tracked (urgency low)') and 'mitigation' in vuln('CVE-2099-2001')[0]['fix_plan']"
check "AVS 1.8: the build-only package (cmake) is reported as not on the device" \
	js "$R" "[(v['status'], v['reachable'], v['on_device']) for v in vuln('CVE-2099-3001')] == [('fix-available', 'no', False)] and 'build host' in vuln('CVE-2099-3001')[0]['fix_plan']"
check "AVS 1.8: a runtime dependency no binary links (zlib) is possibly reachable" \
	js "$R" "[(v['status'], v['reachable']) for v in vuln('CVE-2099-4001')] == [('no-fix-yet', 'possibly')] and 'postponed' in vuln('CVE-2099-4001')[0]['fix_plan']"
check "AVS 1.8: the entry fixed in an older version is not reported" \
	js "$R" "not vuln('CVE-2099-1002') and not noted('CVE-2099-1002')"
check "AVS 1.8: the package not in the SBOM (nginx) is not reported" \
	js "$R" "not vuln('CVE-2099-5001') and not noted('CVE-2099-5001')"
check "AVS 1.8: an entry for another release only is not reported" \
	js "$R" "not vuln('CVE-2099-1004') and not noted('CVE-2099-1004')"
check "AVS 1.8: not-affected and ignored entries are noted, not counted" \
	js "$R" "[v['status'] for v in noted('CVE-2099-1003') + noted('CVE-2099-2002')] == ['not-affected', 'ignored'] and d['counts']['total'] == 4 and d['counts']['noted'] == 2"
check "AVS 1.8: the Markdown report has the openssl row with its plan" \
	grep -q '^| CVE-2099-1001 | openssl .* | yes | .*upgrade libssl3' "$T/vuln.md"
check "AVS 1.8: the Markdown report leaves out the fixed-older entry" sh -c "! grep -q CVE-2099-1002 '$T/vuln.md'"
# the installed version at the fixed one: no longer reported
sed "s/3.0.99-1~deb12u1/$(dpkg-query -W -f '${source:Version}' "libssl3:$arch")/g" "$FEED" >"$T/feed-fixed.json"
vulnreport --sbom "$DOC" --feed "$T/feed-fixed.json" --json "$T/vuln2.json" >/dev/null 2>&1 || true
check "AVS 1.8: a fix equal to the installed version is not reported" \
	js "$T/vuln2.json" "not vuln('CVE-2099-1001') and d['counts']['total'] == 3"
echo '{"openssl": {"CVE-2099-1": {"releases": {"bookworm": {"fixed_version": "1"}}}}}' >"$T/feed-bad.json"
check_fails "AVS 1.8: a feed entry without a status is refused" 2 \
	vulnreport --sbom "$DOC" --feed "$T/feed-bad.json" --json "$T/vuln3.json"
echo '[1, 2]' >"$T/feed-bad2.json"
check_fails "AVS 1.8: a feed that is not an object is refused" 2 \
	vulnreport --sbom "$DOC" --feed "$T/feed-bad2.json" --json "$T/vuln4.json"
check_fails "AVS 1.8: without the voxguard CLI (the feed's parser) no report is written" 2 \
	vulnreport --sbom "$DOC" --feed "$FEED" --voxguard "$T/no-such-voxguard" --json "$T/vuln5.json"

finish
