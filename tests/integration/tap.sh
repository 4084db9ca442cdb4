# The test protocol every integration test prints: one line per check,
# "ok - ..." or "not ok - ...", counted for the summary. Sourced by lib.sh
# and by the tests that need no service (test_agd_docs.sh, ...).
PASSES=0
FAILS=0
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
# none "description" FILE: ok when FILE is empty, else its lines follow.
none() {
	if [ -s "$2" ]; then
		not_ok "$1"
		sed 's/^/#   /' "$2"
	else
		ok "$1"
	fi
}
