#!/bin/sh
# SESIP AGD_OPE.1 (operational user guidance; AVS 1.2): the bash completion
# of the CLI (data/bash-completion/voxguard) completes every command,
# subcommand and option the CLI accepts, read from the code so that the
# completion cannot drift from it:
#
# - the commands of commands[] in src/cli/main.c, the subcommands of each
#   command's table (cli_dispatch()), the options of every subcommand: its
#   cli_parse() spec ("in=,out=,json"), the options of repo's collect()
#   ({.name = "root-key"}), those compared by hand (strcmp(a, "--json")),
#   and admin key's own subcommands (strcmp(argv[0], "add")); the global
#   options of main();
# - the key types (key_types[] in src/common/rc.c), the doctor's checks and
#   severities (src/posture/doctor.c), voxguardd's options (its getopt
#   table in src/daemon/main.c).
#
# Each is checked by running the completion function itself in bash, as
# bash does on TAB (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT), with the
# bash-completion package loaded and without it (the fallback). Then a few
# completions a user types, the names of keys and records read from a real
# voxguardd, a service that never answers (the completion gives up after 2
# seconds), and two planted mistakes (a command and an option dropped from
# a copy of the script) that the check must find.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
SCRIPT=$VG_SRC/data/bash-completion/voxguard
BC=/usr/share/bash-completion/bash_completion
command -v bash >/dev/null 2>&1 || { echo "not ok - bash is missing"; exit 1; }
[ -f "$BC" ] || { echo "not ok - $BC is missing (scripts/install-deps.sh installs bash-completion)"; exit 1; }
[ -f "$SCRIPT" ] || { echo "not ok - $SCRIPT is missing"; exit 1; }

# ---- what the code accepts: lines "WORDS|CUR|EXPECTED" ----
# Completing the words WORDS then CUR must offer EXPECTED. WORDS may hold
# {a,b,c}: then one of the three must offer it.
awk '
FNR == 1 { fn = ""; inspec = 0; intable = ""; inmacro = ""; delete macro }
# String macros (TUF_SPEC), and wrapper macros (WRAP(fn): fn##_cmd calls fn).
/^#define [A-Z_]+ "[^"]*"$/ { v = $3; gsub(/"/, "", v); macro[$2] = v; next }
/^#define [A-Z_]+\([a-z]+\)/ { inmacro = $2; sub(/\(.*/, "", inmacro) }
inmacro != "" && /static int [a-z]+##[a-z_]+\(/ {
	w = $0; sub(/.*##/, "", w); sub(/\(.*/, "", w); wrapsuffix[inmacro] = w
}
inmacro != "" && !/\\$/ { inmacro = ""; next }
/^[A-Z_]+\([a-z_]+\)$/ {
	m = $0; sub(/\(.*/, "", m); g = $0; sub(/^[A-Z_]+\(/, "", g); sub(/\)$/, "", g)
	if (m in wrapsuffix) calls[FILENAME ":" g wrapsuffix[m]] = " " FILENAME ":" g
}
/^(static )?int [a-z_]+\(/ && !/;$/ {
	fn = $0; sub(/^(static )?int /, "", fn); sub(/\(.*/, "", fn)
	deffile[fn] = FILENAME; fn = FILENAME ":" fn
}
/^}/ { fn = "" }
# Tables of subcommands: {"name", function, "help"}, in a function or not.
/struct cli_cmd [a-z_]+\[\] = \{/ {
	intable = $0; sub(/.*struct cli_cmd /, "", intable); sub(/\[.*/, "", intable)
	intable = (fn == "" ? FILENAME ":" : fn ":") intable
}
intable != "" {
	t = $0
	while (match(t, /\{"[^"]+", *[a-z_]+/)) {
		r = substr(t, RSTART + 2, RLENGTH - 2); t = substr(t, RSTART + RLENGTH)
		name = r; sub(/".*/, "", name); f = r; sub(/.*, */, "", f)
		rows[intable] = rows[intable] " " name "=" FILENAME ":" f
	}
	if ($0 ~ /^[ \t]*\};/) intable = ""
}
fn != "" {
	s = $0
	# cli_parse() options: spec[] = "in=,out=,json" (=: takes a value).
	if (s ~ /spec\[\] = /) { inspec = 1; spec = "" }
	if (inspec) {
		t = s; sub(/.*spec\[\] = /, "", t)
		for (m in macro) if (index(t, m)) spec = spec macro[m]
		while (match(t, /"[^"]*"/)) { spec = spec substr(t, RSTART + 1, RLENGTH - 2); t = substr(t, RSTART + RLENGTH) }
		if (s ~ /;/) {
			inspec = 0; n = split(spec, a, ",")
			for (k = 1; k <= n; k++) { o = a[k]; sub(/=$/, "", o); if (o != "") opts[fn] = opts[fn] " --" o }
		}
	}
	# repo collect() options: {.name = "root-key"}.
	t = s
	while (match(t, /\.name = "[^"]+"/)) { opts[fn] = opts[fn] " --" substr(t, RSTART + 9, RLENGTH - 10); t = substr(t, RSTART + RLENGTH) }
	# Options compared by hand: strcmp(a, "--json").
	t = s
	while (match(t, /strcmp\([^,()]+, "--[a-z][a-z0-9-]*"\)/)) {
		o = substr(t, RSTART, RLENGTH); sub(/.*"--/, "--", o); sub(/"\)$/, "", o)
		opts[fn] = opts[fn] " " o; t = substr(t, RSTART + RLENGTH)
	}
	# Subcommands compared by hand: strcmp(argv[0], "add") (admin key).
	t = s
	while (match(t, /strcmp\(argv\[0\], "[a-z][a-z-]*"\)/)) {
		o = substr(t, RSTART, RLENGTH); sub(/.*, "/, "", o); sub(/"\)$/, "", o)
		subsub[fn] = subsub[fn] " " o; t = substr(t, RSTART + RLENGTH)
	}
	if (match(s, /cli_dispatch\(cli, "[^"]+", *[a-z_]+/)) {
		d = substr(s, RSTART, RLENGTH); sub(/.*, */, "", d)
		dispatch[fn] = (fn ":" d) in rows ? fn ":" d : FILENAME ":" d
	}
	t = s
	while (match(t, /[a-z_]+\(/)) { calls[fn] = calls[fn] " " FILENAME ":" substr(t, RSTART, RLENGTH - 1); t = substr(t, RSTART + RLENGTH) }
}
# The options of f: its own and those of the functions it calls.
function all_opts(f,    r, n, a, k) {
	r = opts[f]; n = split(calls[f], a, " ")
	for (k = 1; k <= n; k++) if (a[k] != f && (a[k] in opts)) r = r " " opts[a[k]]
	return r
}
function emit(prefix, f,    o, n, k, ws, j, alts) {
	n = split(subsub[f], ws, " "); alts = ""
	for (j = 1; j <= n; j++) { print prefix "||" ws[j]; alts = alts (j > 1 ? "," : "") ws[j] }
	if (alts != "") prefix = prefix " {" alts "} NAME"
	n = split(all_opts(f), o, " ")
	for (k = 1; k <= n; k++) if (!seen[prefix, o[k]]++) print prefix "|--|" o[k]
}
END {
	mainc = deffile["main"]
	n = split(opts[mainc ":main"], a, " ")
	for (k = 1; k <= n; k++) print "voxguard|--|" a[k]
	n = split(rows[mainc ":commands"], cmds, " ")
	for (k = 1; k <= n; k++) {
		split(cmds[k], p, "="); print "voxguard||" p[1]
		f = p[2]; sub(/.*:/, "", f); f = deffile[f] ":" f
		if (f in dispatch) {
			m = split(rows[dispatch[f]], subs, " ")
			for (j = 1; j <= m; j++) {
				split(subs[j], q, "="); print "voxguard " p[1] "||" q[1]
				emit("voxguard " p[1] " " q[1], q[2])
			}
		} else emit("voxguard " p[1], f)
	}
}' "$VG_SRC/src/cli/main.c" "$VG_SRC"/src/cli/cmd_*.c >"$T/cli.want"

# The values of --type, --only/--skip and --fail-on; voxguardd's options.
sed -n '/^} key_types\[\] = {/,/^};/p' "$VG_SRC/src/common/rc.c" | grep -o '{"[a-z0-9]*", VG_KEY_' |
	sed 's/^{"\([^"]*\)".*/voxguard key create NAME --type||\1/' >"$T/values.want"
sed -n '/check_names\[[A-Z_]*\] = {/,/};/p' "$VG_SRC/src/posture/doctor.c" | grep -o '"[a-z]*"' | tr -d '"' |
	sed 's/.*/voxguard doctor --only||&\nvoxguard doctor --skip||&/' >>"$T/values.want"
grep -o 'sev_names\[\] = {[^}]*}' "$VG_SRC/src/posture/doctor.c" | grep -o '"[a-z]*"' | tr -d '"' |
	sed 's/.*/voxguard doctor --fail-on||&/' >>"$T/values.want"
grep -o '{"[a-z-]*", [a-z_]*_argument' "$VG_SRC/src/daemon/main.c" |
	sed 's/^{"\([^"]*\)".*/voxguardd|--|--\1/' >>"$T/values.want"
cat "$T/cli.want" "$T/values.want" >"$T/all.want"

# Each kind of item is read, not assumed: a control on each.
has_want() { grep -qxF "$1" "$T/all.want"; }
check "read from the code: the command key, its subcommand create and --type" \
	sh -c "grep -qxF 'voxguard||key' '$T/all.want' && grep -qxF 'voxguard key||create' '$T/all.want' && grep -qxF 'voxguard key create|--|--type' '$T/all.want'"
check "read from the code: spec options through a shared function (key sign --in)" has_want "voxguard key sign|--|--in"
check "read from the code: a macro in a spec (update check --metadata-dir)" has_want "voxguard update check|--|--metadata-dir"
check "read from the code: repo's collect() options through WRAP() (repo init --root-key)" has_want "voxguard repo init|--|--root-key"
check "read from the code: hand-compared options (doctor --fail-on, endpoint add --host)" \
	sh -c "grep -qxF 'voxguard doctor|--|--fail-on' '$T/all.want' && grep -qxF 'voxguard endpoint add|--|--host' '$T/all.want'"
check "read from the code: admin key's own subcommands" has_want "voxguard admin key||login"
check "read from the code: the global options (--socket)" has_want "voxguard|--|--socket"
check "read from the code: key types, doctor checks, severities, voxguardd options" sh -c \
	"grep -qxF 'voxguard key create NAME --type||ed25519' '$T/all.want' && grep -qxF 'voxguard doctor --only||vuln' '$T/all.want' && grep -qxF 'voxguard doctor --fail-on||high' '$T/all.want' && grep -qxF 'voxguardd|--|--state-dir' '$T/all.want'"
echo "# $(wc -l <"$T/cli.want") items of the CLI, $(wc -l <"$T/values.want") values and voxguardd options"

# Accepted but meaningless, so not offered: repo expire shares publish's
# parser, whose --snapshot-key it ignores.
grep -vxF 'voxguard repo expire|--|--snapshot-key' "$T/all.want" >"$T/checked.want"

# ---- the completion function, driven as bash drives it on TAB ----
cat >"$T/drive.bash" <<'DRIVE'
# drive.bash SCRIPT [BASH_COMPLETION] < LINES: prints each line whose
# completion does not offer what it expects. Lines: WORDS|CUR|EXPECTED, or
# WORDS|CUR|EXPECTED|only (the one word offered).
[[ -n ${2-} ]] && . "$2"
. "$1"
complete_line() { # WORDS...: completes the last one (cursor at its end)
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	local fn=_voxguard
	[[ ${1##*/} == voxguardd ]] && fn=_voxguardd
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}
offers() { # WORDS CUR EXPECTED [only]
	local -a w
	local r
	read -ra w <<<"$1"
	complete_line "${w[@]}" "$2"
	[[ ${4-} == only ]] && { [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == "$3" ]]; return; }
	for r in "${COMPREPLY[@]}"; do [[ $r == "$3" ]] && return 0; done
	return 1
}
while IFS='|' read -r words cur want only; do
	if [[ $words =~ \{([^}]*)\} ]]; then
		# (completing may run =~ too: BASH_REMATCH is read first)
		found='' braces=${BASH_REMATCH[0]} alts=${BASH_REMATCH[1]//,/ }
		for a in $alts; do
			offers "${words/"$braces"/$a}" "$cur" "$want" && found=1 && break
		done
	else
		found=
		offers "$words" "$cur" "$want" "$only" && found=1
	fi
	[[ -n $found ]] || echo "$words|$cur|$want${only:+|$only}"
done
DRIVE
# drive SCRIPT with|without < LINES > MISSING
drive() {
	if [ "$2" = with ]; then
		bash "$T/drive.bash" "$1" "$BC"
	else
		bash "$T/drive.bash" "$1"
	fi
}

# What a user types (ke<TAB>: only key).
cat >"$T/typed.want" <<'LINES'
voxguard|ke|key|only
voxguard key||create
voxguard key||sign
voxguard key create k|--ty|--type|only
voxguard key create k --type||p256
voxguard key create k --type||ed25519
voxguard key create k --usage|sign,ve|sign,verify|only
voxguard store||put
voxguard store||get
voxguard store||list
voxguard store||delete
voxguard --socket /run/vg.sock||key
voxguard help||key
voxguard help key||sign
voxguard config exec NAME||--|only
LINES

for mode in with without; do
	drive "$SCRIPT" "$mode" <"$T/checked.want" >"$T/missing.$mode"
	none "every command, subcommand, option and value of the code is completed ($mode bash-completion)" "$T/missing.$mode"
	drive "$SCRIPT" "$mode" <"$T/typed.want" >"$T/typed.$mode"
	none "typed completions: ke, key, --ty, --type, --usage, store, help ($mode bash-completion)" "$T/typed.$mode"
done

# Files where a file is expected.
mkdir -p "$T/files"
: >"$T/files/message.bin"
cat >"$T/files.bash" <<FILES
cd "$T/files"
. "$T/drive.bash" "$SCRIPT" \${1-} </dev/null
complete_line voxguard key sign k --in mess
printf '%s\n' "\${COMPREPLY[@]}"
FILES
for mode in with without; do
	if [ "$mode" = with ]; then got=$(bash "$T/files.bash" "$BC"); else got=$(bash "$T/files.bash"); fi
	check "key sign k --in mess<TAB>: message.bin ($mode bash-completion)" test "$got" = message.bin
done

# ---- names from the service ----
setup_users
start_daemon
check "a key to complete" vg key create compkey --type p256
check "a record to complete" sh -c "echo hi | '$VOXGUARD' --socket '$SOCK' store put comprec"
cat >"$T/names.want" <<LINES
$VOXGUARD --socket $SOCK key sign||compkey
$VOXGUARD --socket $SOCK key info||compkey
$VOXGUARD --socket $SOCK stream decrypt --key||compkey
$VOXGUARD --socket $SOCK store get||comprec
$VOXGUARD --socket $SOCK store delete||comprec
LINES
for mode in with without; do
	drive "$SCRIPT" "$mode" <"$T/names.want" >"$T/names.$mode"
	none "key and record names from the service, through --socket ($mode bash-completion)" "$T/names.$mode"
done
stop_daemon

# A service that does not answer: the completion gives up, offers nothing.
mkdir -p "$T/slow"
printf '#!/bin/sh\nexec sleep 30\n' >"$T/slow/voxguard"
chmod 755 "$T/slow/voxguard"
t0=$(date +%s)
echo "$T/slow/voxguard key sign||compkey" | drive "$SCRIPT" without >"$T/slow.out"
t1=$(date +%s)
check "a service that does not answer: nothing offered" grep -q compkey "$T/slow.out"
check "a service that does not answer: given up within 5 s (took $((t1 - t0)) s)" test $((t1 - t0)) -le 5

# ---- the check finds mistakes ----
sed 's/^repo tuf-client bluetooth netpolicy connect stream display mic sandbox doctor /repo tuf-client bluetooth netpolicy connect stream display mic sandbox /' \
	"$SCRIPT" >"$T/nodoctor"
check "control: the copy without the command doctor differs" sh -c "! cmp -s '$SCRIPT' '$T/nodoctor'"
drive "$T/nodoctor" with <"$T/checked.want" >"$T/nodoctor.out"
check "control: a command dropped from the script is found" grep -qxF 'voxguard||doctor' "$T/nodoctor.out"
sed 's/^\(\tverify) _vg_args $at "--in=file\) --sig=file"/\1"/' "$SCRIPT" >"$T/nosig"
check "control: the copy without key verify --sig differs" sh -c "! cmp -s '$SCRIPT' '$T/nosig'"
drive "$T/nosig" without <"$T/checked.want" >"$T/nosig.out"
check "control: an option dropped from the script is found (and only it)" \
	test "$(cat "$T/nosig.out")" = "voxguard key verify|--|--sig"
finish
