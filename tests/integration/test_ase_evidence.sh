#!/bin/sh
# SESIP ASE_INT.1, ASE_OBJ.1, ASE_REQ.3, ASE_TSS.1, ALC_FLR.2 and ATE_IND.1:
# the Security Target that scripts/evidence.py generates (make evidence,
# docs/EVIDENCE.md).
#
# The generator runs on a JUnit file this test writes: every CTest test of
# the tree passes except one test that docs/REQUIREMENTS.md names for one
# SFR only. Then:
# - the ST has no "<ST writer" hole and no other "<...>" placeholder;
# - every SFR 4.2.1 to 4.2.13 and 4.3.1 is there with its rationale;
# - the SFR whose test failed is NOT CLAIMED, naming that test, and every
#   other SFR is claimed; with every test passing, all are claimed, and a
#   test missing from the results is "not run", never claimed;
# - ST.html is well-formed (Python's XML parser, and its HTML parser for
#   balanced tags);
# - the checks fail when they should: a rationale file with one parameter
#   emptied, a REQUIREMENTS.md naming a test that does not exist, one with
#   an SFR that names no test, a rationale with an "<ST writer: ...>" hole:
#   each exits non-zero and writes no ST.
#
# Needs python3, no build, no service and no root:
#   sh tests/integration/test_ase_evidence.sh
set -eu
SRC=${VG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/vgevid.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
. "$SRC/tests/integration/tap.sh"
check() { # check "description" command...
	d=$1; shift
	if "$@" >"$T/last.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$T/last.out" | head -20; fi
}
check_fails() { # check_fails "description" EXPECTED_EXIT command... (output in $T/fails.out)
	d=$1; want=$2; shift 2
	set +e; "$@" >"$T/fails.out" 2>&1; got=$?; set -e
	if [ "$got" = "$want" ]; then ok "$d"; else not_ok "$d (exit $got, wanted $want)"; sed 's/^/#   /' "$T/fails.out" | head -20; fi
}
GEN="python3 $SRC/scripts/evidence.py --root $SRC --product $SRC/evidence/product.example.json"
COMMIT=0123456789abcdef0123456789abcdef01234567

# Every CTest test of the tree, by the rules of tests/CMakeLists.txt (not
# from the generator, so that a test it forgets is not run, not claimed).
ALL=$T/all-tests
{
	for f in "$SRC"/tests/test_*.c; do basename "$f" .c; done
	for f in "$SRC"/tests/integration/test_*.sh; do echo "integration_$(basename "$f" .sh)"; done
	echo hardening
} >"$ALL"

# One test docs/REQUIREMENTS.md names for one SFR only (4.2.12's if it has
# one): "FAILED SFR" on one line.
$GEN --list-tests >"$T/tests.json"
python3 - "$T/tests.json" >"$T/pick" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
n = collections.Counter(t for v in d.values() for t in v)
order = ["4.2.12"] + [k for k in d if k != "4.2.12"]
for sfr in order:
    only = [t for t in d.get(sfr, []) if n[t] == 1]
    if only:
        print(only[0], sfr)
        break
EOF
read -r FAILED FAILED_SFR <"$T/pick" || true
if [ -n "${FAILED:-}" ]; then ok "a test named for one SFR only: $FAILED ($FAILED_SFR)"; else not_ok "a test named for one SFR only"; exit 1; fi
grep -qx "$FAILED" "$ALL" && ok "it is a CTest test of the tree" || not_ok "$FAILED is a CTest test of the tree"
# ... and another SFR's own test, for the "not run" control.
python3 - "$T/tests.json" "$FAILED_SFR" >"$T/pick2" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
n = collections.Counter(t for v in d.values() for t in v)
for sfr, tests in d.items():
    only = [t for t in tests if n[t] == 1]
    if sfr != sys.argv[2] and only:
        print(only[0], sfr)
        break
EOF
read -r MISSING MISSING_SFR <"$T/pick2" || true

# junit DIR SKIPPED FAILED: a CTest-style JUnit file of every test, each
# passed but FAILED (failed) and SKIPPED (absent), with DIR/junit.commit.
junit() {
	mkdir -p "$1"
	echo "$COMMIT" >"$1/junit.commit"
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<testsuite name="(empty)" tests="0" failures="0" disabled="0" skipped="0" hostname="" time="1" timestamp="2026-12-07T00:00:00">'
		while read -r t; do
			[ "$t" = "$2" ] && continue
			if [ "$t" = "$3" ]; then
				echo "<testcase name=\"$t\" classname=\"$t\" time=\"1\" status=\"fail\"><failure message=\"\"/><system-out>[  FAILED  ] test_planted_failure</system-out></testcase>"
			else
				echo "<testcase name=\"$t\" classname=\"$t\" time=\"1\" status=\"run\"><system-out></system-out></testcase>"
			fi
		done <"$ALL"
		echo '</testsuite>'
	} >"$1/junit.xml"
}

# claims FILE: "SFR yes|no" per line, from claims.json.
claims() {
	python3 -c 'import json,sys; [print(k, "yes" if v["claimed"] else "no") for k, v in json.load(open(sys.argv[1]))["sfrs"].items()]' "$1"
}

# ---- one test failed
junit "$T/run1" "" "$FAILED"
OUT=$T/out1
check "ASE: the generator runs on the results (exit 0)" $GEN --junit "$T/run1/junit.xml" --out "$OUT"
check "ASE: ST.md, ST.html and claims.json are written" test -s "$OUT/ST.md" -a -s "$OUT/ST.html" -a -s "$OUT/claims.json"
if grep -q '<ST writer' "$OUT/ST.md" "$OUT/ST.html"; then not_ok "ASE_REQ.3: no \"<ST writer\" hole in the ST"; else ok "ASE_REQ.3: no \"<ST writer\" hole in the ST"; fi
if sed 's/`[^`]*`//g' "$OUT/ST.md" | grep -Eq '<[^<>]* [^<>]*>|<TBD>'; then
	not_ok "ASE_REQ.3: no \"<...>\" parameter left in ST.md"
else
	ok "ASE_REQ.3: no \"<...>\" parameter left in ST.md"
fi
cat >"$T/sections.py" <<'EOF'
import re, sys
md = open(sys.argv[1]).read()
bad = []
for sfr in ["4.2.%d" % i for i in range(1, 14)] + ["4.3.1"]:
    m = re.search(r"^#### %s .*?(?=^#### |^## |\Z)" % re.escape(sfr), md, re.S | re.M)
    if not m:
        bad.append(sfr + ": no section")
        continue
    r = re.search(r"\*\*Conformance rationale:\*\*\n\n(.+)", m.group(0))
    if not r or len(r.group(1)) < 80:
        bad.append(sfr + ": no rationale")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
check "ASE_REQ.3, ASE_TSS.1: every SFR 4.2.1-4.2.13 and 4.3.1 has its section and rationale" python3 "$T/sections.py" "$OUT/ST.md"
check "ATE_IND.1: SFR $FAILED_SFR says NOT CLAIMED: test $FAILED failed" \
	grep -q "NOT CLAIMED\*\*: test $FAILED failed" "$OUT/ST.md"
claims "$OUT/claims.json" >"$T/claims1"
check "ATE_IND.1: claims.json: $FAILED_SFR not claimed" grep -qx "$FAILED_SFR no" "$T/claims1"
check "ATE_IND.1: every other SFR is claimed (13 of 14)" \
	sh -c "[ \$(grep -c ' yes\$' '$T/claims1') = 13 ] && [ \$(grep -c ' no\$' '$T/claims1') = 1 ]"
check "ATE_IND.1: the failing CTest test's failed functions are named" grep -q "test_planted_failure" "$OUT/ST.md"
check "ATE_IND.1: the tested commit is named" grep -q "${COMMIT%????????????????????????????}" "$OUT/ST.md"
check "ST.html is well-formed XML" python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$OUT/ST.html"
cat >"$T/balanced.py" <<'EOF'
import html.parser, sys
class P(html.parser.HTMLParser):
    void = {"meta", "br", "hr", "img", "link"}
    def __init__(self):
        super().__init__()
        self.stack, self.bad = [], []
    def handle_startendtag(self, tag, attrs):
        pass  # <meta .../>: opened and closed at once
    def handle_starttag(self, tag, attrs):
        if tag not in self.void:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.bad.append(tag)
p = P()
p.feed(open(sys.argv[1]).read())
p.close()
sys.exit(1 if p.bad or p.stack else 0)
EOF
check "ST.html: the HTML parser finds every tag closed in order" python3 "$T/balanced.py" "$OUT/ST.html"
check "ST.html says NOT CLAIMED for $FAILED_SFR too" grep -q "NOT CLAIMED" "$OUT/ST.html"
check "ALC_FLR.2: the ST names the maker's security contact" grep -q "security@acme.example" "$OUT/ST.md"
check "the sufficiency, PSA Level 2 and AVS tables are in the ST" \
	sh -c "grep -q '4.1 SESIP2 sufficiency' '$OUT/ST.md' && grep -q 'PSA Certified Level 2' '$OUT/ST.md' && grep -q 'AVS 1.16' '$OUT/ST.md'"

# ---- controls of the claim rule
junit "$T/run2" "" ""
check "control: with every test passing the generator runs" $GEN --junit "$T/run2/junit.xml" --out "$T/out2"
claims "$T/out2/claims.json" >"$T/claims2"
check "control: with every test passing all 14 SFRs are claimed" sh -c "[ \$(grep -c ' yes\$' '$T/claims2') = 14 ]"
if [ -n "${MISSING:-}" ]; then
	junit "$T/run3" "$MISSING" ""
	check "control: a test without a result: the generator runs" $GEN --junit "$T/run3/junit.xml" --out "$T/out3"
	check "control: $MISSING_SFR says NOT CLAIMED: test $MISSING not run" \
		grep -q "NOT CLAIMED\*\*: test $MISSING not run" "$T/out3/ST.md"
else
	not_ok "control: a second SFR with a test of its own"
fi
check "control: with no results at all nothing is claimed" sh -c \
	"$GEN --out '$T/out4' >/dev/null && ! grep -q '\"claimed\": true' '$T/out4/claims.json'"

# ---- the checks fail when they should
python3 - "$SRC/evidence/rationale.json" "$T/rat-empty.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sfrs"]["4.2.4"]["selections"]["key_length"] = ""
json.dump(d, open(sys.argv[2], "w"))
EOF
check_fails "check: a rationale with the key length of 4.2.4 emptied exits 1" 1 \
	$GEN --rationale "$T/rat-empty.json" --junit "$T/run1/junit.xml" --out "$T/bad1"
check "check: ... naming the parameter" grep -q "4.2.4: the parameter <key length>" "$T/fails.out"
check "check: ... and writes no ST" test ! -e "$T/bad1/ST.md"

sed 's/`test_sfr4212_erase_secret_rotates`/`test_sfr4212_no_such_test`/' "$SRC/docs/REQUIREMENTS.md" >"$T/req-missing.md"
check "control: the copy names the test that does not exist" grep -q test_sfr4212_no_such_test "$T/req-missing.md"
check_fails "check: a REQUIREMENTS.md naming a test that does not exist exits 1" 1 \
	$GEN --requirements "$T/req-missing.md" --junit "$T/run1/junit.xml" --out "$T/bad2"
check "check: ... naming the test" grep -q "test_sfr4212_no_such_test" "$T/fails.out"

sed 's/`test_agd_docs.sh`/`test_agd_no_such_script.sh`/' "$SRC/docs/REQUIREMENTS.md" >"$T/req-script.md"
check "control: the copy names the script that does not exist" grep -q test_agd_no_such_script.sh "$T/req-script.md"
check_fails "check: a REQUIREMENTS.md naming a script that does not exist exits 1" 1 \
	$GEN --requirements "$T/req-script.md" --junit "$T/run1/junit.xml" --out "$T/bad3"

python3 - "$SRC/docs/REQUIREMENTS.md" "$T/req-notest.md" <<'EOF'
import re, sys
out = []
for ln in open(sys.argv[1]).read().split("\n"):
    if ln.startswith("| 4.3.1 "):
        ln = re.sub(r"`(?:tests/)?test_[a-z0-9_]+(?:\.sh|\.c)?`", "x", ln)
    out.append(ln)
open(sys.argv[2], "w").write("\n".join(out))
EOF
check_fails "check: an SFR whose row names no test exits 1" 1 \
	$GEN --requirements "$T/req-notest.md" --junit "$T/run1/junit.xml" --out "$T/bad4"
check "check: ... saying 4.3.1 has no test" grep -q "SFR 4.3.1: docs/REQUIREMENTS.md names no test" "$T/fails.out"

python3 - "$SRC/evidence/rationale.json" "$T/rat-hole.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sfrs"]["4.2.12"]["rationale"] = ["<ST writer: add a short conformance rationale describing how this is done>"]
json.dump(d, open(sys.argv[2], "w"))
EOF
check_fails "check: an \"<ST writer: ...>\" hole in the rationale exits 1" 1 \
	$GEN --rationale "$T/rat-hole.json" --junit "$T/run1/junit.xml" --out "$T/bad5"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
