#!/bin/sh
# SESIP AGD_OPE.1 (operational user guidance): the user documentation is
# checked against the code, so that it cannot drift from what the programs
# accept.
#
# - Every configuration key the parser accepts (apply() in
#   src/daemon/config.c, and the budget resources of its budget_res table)
#   has its entry in the configuration section of docs/voxguard.1 (FILES,
#   /etc/voxguard/voxguardd.conf).
# - Every top-level command of the CLI (commands[] in src/cli/main.c) has
#   an entry in the man page's COMMANDS section.
# - The user documentation (README.md, docs/*.md but the developer records
#   REQUIREMENTS.md and BENCHMARKS.md, the man pages) names no issue of the
#   project's tracker ("issue 15", "issue #4", "the next issue"): it says
#   what is meant.
# - Every key of etc/voxguardd.conf, commented examples included, is one
#   the parser accepts.
#
# The keys and commands are read from the code, not listed here. Then each
# kind of mistake is made on a copy and must be found, so that no check
# passes by reading nothing. Needs no build, no service and no root: run
# it from a clone with `sh tests/integration/test_agd_docs.sh`.
set -eu
SRC=${VG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/vgdocs.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
. "$SRC/tests/integration/tap.sh"
# found "description" FILE: a control, ok when the check found the planted
# mistake (FILE not empty).
found() {
	if [ -s "$2" ]; then ok "$1"; else not_ok "$1 (not found)"; fi
}

CONFIG_C=$SRC/src/daemon/config.c
MAIN_C=$SRC/src/cli/main.c
MAN=$SRC/docs/voxguard.1
CONF=$SRC/etc/voxguardd.conf
for f in "$CONFIG_C" "$MAIN_C" "$MAN" "$CONF"; do
	[ -f "$f" ] || { echo "not ok - $f is missing"; exit 1; }
done

# ---- what the code accepts ----

# The keys of apply(): each `strcmp(k, "KEY")`.
parser_keys() { # CONFIG_C
	sed -n '/^static bool apply(/,/^}/p' "$1" | grep -o 'strcmp(k, "[^"]*")' |
		sed 's/^strcmp(k, "\(.*\)")$/\1/'
}
# The key prefixes of apply(): each `strncmp(k, "PREFIX", N)` (budget.).
parser_prefixes() { # CONFIG_C
	sed -n '/^static bool apply(/,/^}/p' "$1" | grep -o 'strncmp(k, "[^"]*",' |
		sed 's/^strncmp(k, "\(.*\)",$/\1/'
}
# The budget resources: the names of the budget_res table.
budget_resources() { # CONFIG_C
	sed -n '/^} budget_res\[/,/^};/p' "$1" | grep -o '{"[^"]*",' | sed 's/^{"\(.*\)",$/\1/'
}
# The CLI's top-level commands: the names of commands[].
cli_commands() { # MAIN_C
	sed -n '/^static const struct cli_cmd commands\[\] = {/,/^};/p' "$1" |
		grep -o '{"[^"]*", *cmd_' | sed 's/^{"\([^"]*\)".*/\1/'
}

# ---- what the man page documents ----

# The configuration section, with \- as -.
man_config() { # MAN
	sed -n '/^\.SS \/etc\/voxguard\/voxguardd\.conf/,/^\.SH /p' "$1" | sed 's/\\-/-/g'
}
# The first word of every .TP tag of the COMMANDS section.
man_command_tags() { # MAN
	sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$1" | awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }' |
		sed 's/\\-/-/g; s/^\.[A-Za-z]* *//; s/^"//; s/[ "\\].*//'
}
# starts_line PREFIX < TEXT: some line of TEXT starts with PREFIX (no regex).
starts_line() { awk -v p="$1" 'index($0, p) == 1 { f = 1 } END { exit !f }'; }
is_line() { awk -v l="$1" '$0 == l { f = 1 } END { exit !f }'; }

# Keys of the parser without their entry (`.BI "KEY = " ...`), budget
# rules without theirs (`.BI budget. SCOPE ...`) and budget resources
# without theirs (`.B RES` in it), one a line.
undocumented_keys() { # CONFIG_C MAN
	man_config "$2" >"$T/man_config"
	for k in $(parser_keys "$1"); do
		starts_line ".BI \"$k = \"" <"$T/man_config" || echo "$k"
	done
	for p in $(parser_prefixes "$1"); do
		starts_line ".BI $p " <"$T/man_config" || echo "${p}SCOPE.RESOURCE"
	done
	for r in $(budget_resources "$1"); do
		is_line ".B $r" <"$T/man_config" || echo "budget resource $r"
	done
}
undocumented_commands() { # MAIN_C MAN
	man_command_tags "$2" >"$T/man_tags"
	for c in $(cli_commands "$1"); do
		is_line "$c" <"$T/man_tags" || echo "$c"
	done
}
# Mentions of the project's issues, as FILE:LINE: text. A mention may be
# wrapped over two lines ("the next\nissue"): such a one is reported with
# the line before it.
ISSUE_RE='(^|[^a-z])issues?[ \t]*#?[ \t]*[0-9]|(^|[^a-z])(the|this|that|next|previous|same|earlier|later)[ \t]+issue([^a-z]|$)'
issue_mentions() { # ROOT FILE...: FILE named relative to ROOT
	root=$1
	shift
	for f in "$@"; do
		awk -v f="${f#"$root"/}" -v re="$ISSUE_RE" '
			{ line = tolower($0) }
			line ~ re { print f ":" NR ": " $0 }
			line !~ re && prev !~ re && (prev " " line) ~ re { print f ":" NR - 1 "-" NR ": " prevl " " $0 }
			{ prev = line; prevl = $0 }' "$f"
	done
}
user_docs() { # SRC: the user documentation
	for f in "$1"/README.md "$1"/docs/*.md "$1"/docs/*.1; do
		case ${f##*/} in
		REQUIREMENTS.md | BENCHMARKS.md) ;; # developer records
		*) echo "$f" ;;
		esac
	done
}
# Keys of a configuration file that the parser does not accept, and lines
# that are not `key = value`. Commented examples (`#key = value`, no blank
# after the #) count as keys.
unknown_conf_keys() { # CONF CONFIG_C
	parser_keys "$2" >"$T/keys"
	res=$(budget_resources "$2" | tr '\n' ' ')
	sed -n -e 's/^#\([a-z][a-z0-9_.]*[[:space:]]*=.*\)/\1/p; t' -e '/^[[:space:]]*[^#[:space:]]/p' "$1" |
		while IFS= read -r line; do
			case $line in
			*=*) ;;
			*)
				echo "not key = value: $line"
				continue
				;;
			esac
			k=$(printf '%s\n' "${line%%=*}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
			if is_line "$k" <"$T/keys"; then continue; fi
			# budget.SCOPE.RES, as apply_budget() reads it.
			case $k in
			budget.default.* | budget.uid.* | budget.group.*)
				r=${k##*.}
				s=${k#budget.}
				s=${s%."$r"}
				case " $res " in *" $r "*) ;; *)
					echo "$k (no budget resource $r)"
					continue
					;;
				esac
				case $s in
				default) continue ;;
				uid.*[!0-9]* | uid.) ;;
				uid.*) continue ;;
				group.*[!A-Za-z0-9._-]* | group.) ;;
				group.*) continue ;;
				esac
				echo "$k (bad budget scope $s)"
				;;
			*) echo "$k" ;;
			esac
		done
}

# ---- the checks ----

nk=$(parser_keys "$CONFIG_C" | wc -l)
nr=$(budget_resources "$CONFIG_C" | wc -l)
nc=$(cli_commands "$MAIN_C" | wc -l)
if [ "$nk" -ge 10 ] && [ "$nr" -ge 1 ] && [ -n "$(parser_prefixes "$CONFIG_C")" ] && [ "$nc" -ge 10 ]; then
	ok "AGD_OPE.1: the code's tables were read ($nk keys, $nr budget resources, $nc commands)"
else
	not_ok "AGD_OPE.1: the code's tables were read ($nk keys, $nr budget resources, $nc commands)"
fi

undocumented_keys "$CONFIG_C" "$MAN" >"$T/a"
none "AGD_OPE.1: every configuration key the parser accepts has its entry in voxguard(1), FILES" "$T/a"

undocumented_commands "$MAIN_C" "$MAN" >"$T/b"
none "AGD_OPE.1: every command of the CLI has its entry in voxguard(1), COMMANDS" "$T/b"

# shellcheck disable=SC2046 # one path a word (no blanks in the tree's names)
issue_mentions "$SRC" $(user_docs "$SRC") >"$T/c"
none "AGD_OPE.1: the user documentation names no issue of the tracker ($(user_docs "$SRC" | wc -l) files)" "$T/c"

unknown_conf_keys "$CONF" "$CONFIG_C" >"$T/d"
none "AGD_OPE.1: every key of etc/voxguardd.conf is one the parser accepts" "$T/d"

# ---- controls: each mistake, made on a copy, is found ----

C=$T/copy
mkdir -p "$C"
sed '/^static bool apply(/,/^}/ s/^\(\tif (strcmp(k, "user") == 0)\)$/\tif (strcmp(k, "vg_fake_key") == 0)\n\t\treturn true;\n\1/' \
	"$CONFIG_C" >"$C/config_key.c"
undocumented_keys "$C/config_key.c" "$MAN" | grep -x 'vg_fake_key' >"$T/x1" || true
found "control: a key added to the parser but not to the man page is found" "$T/x1"

sed 's/^\(    \[VG_BUDGET_CONNS\] = {"conns", 1, 4096},\)$/\1\n    {"vg_fake_res", 0, 1},/' \
	"$CONFIG_C" >"$C/config_res.c"
undocumented_keys "$C/config_res.c" "$MAN" | grep -x 'budget resource vg_fake_res' >"$T/x2" || true
found "control: a budget resource added to the parser but not to the man page is found" "$T/x2"

awk '/^\.BI "io_timeout_ms = "/ { print ".BI \"io_timeout = \" MS"; next } { print }' "$MAN" >"$C/man_key.1"
undocumented_keys "$CONFIG_C" "$C/man_key.1" | grep -x 'io_timeout_ms' >"$T/x3" || true
found "control: a key whose man page entry is misspelt is found" "$T/x3"

sed 's/^\(    {"status", cmd_status,.*\)$/    {"vg-fake-cmd", cmd_status, "x"},\n\1/' "$MAIN_C" >"$C/main.c"
undocumented_commands "$C/main.c" "$MAN" | grep -x 'vg-fake-cmd' >"$T/x4" || true
found "control: a command added to the CLI but not to the man page is found" "$T/x4"

mkdir -p "$C/src/docs"
cp "$SRC/README.md" "$C/src/README.md"
printf 'The budgets came with issue 11.\n' >>"$C/src/README.md"
printf '# A page\n\nThis is done in the next\nissue, as planned.\n' >"$C/src/docs/PAGE.md"
printf '.TH X 1\nSee (issue #4).\n' >"$C/src/docs/x.1"
printf 'Issue 15 in a developer record is fine.\n' >"$C/src/docs/REQUIREMENTS.md"
# shellcheck disable=SC2046
issue_mentions "$C/src" $(user_docs "$C/src") >"$T/x5"
n=$(cut -d: -f1 "$T/x5" | sort -u | tr '\n' ' ')
if [ "$n" = "README.md docs/PAGE.md docs/x.1 " ]; then
	ok "control: issue mentions are found (one wrapped over two lines), not in the developer records"
else
	not_ok "control: issue mentions are found (one wrapped over two lines), not in the developer records (found in: $n)"
fi

{
	cat "$CONF"
	printf 'vg_fake_key = 1\n#budget.default.vg_fake_res = 1\n#budget.gruop.audio.conns = 16\nbudget.uid.alice.keys = 4\nno equals sign\n'
} >"$C/voxguardd.conf"
unknown_conf_keys "$C/voxguardd.conf" "$CONFIG_C" >"$T/x6"
n=0
for w in 'vg_fake_key' 'budget.default.vg_fake_res (no budget resource vg_fake_res)' \
	'budget.gruop.audio.conns' 'budget.uid.alice.keys (bad budget scope uid.alice)' \
	'not key = value: no equals sign'; do
	is_line "$w" <"$T/x6" && n=$((n + 1))
done
if [ "$n" = 5 ]; then
	ok "control: an unknown key, an unknown budget resource or scope and a line without = are found"
else
	not_ok "control: an unknown key, an unknown budget resource or scope and a line without = are found"
	sed 's/^/#   /' "$T/x6"
fi

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
