#!/bin/sh
# AVS 1.2 (device hardening), AVS 1.13 (the firmware image is scanned),
# AVS Device SDK (exploit mitigation, least privilege): `voxguard doctor
# --root` on a crafted root file system, built here from small files and
# from ELF programs compiled now with and without the mitigations (no
# binary in git). One weakness is planted per check; each must be found,
# naming its file, account, port or package, in the text and in the JSON
# (exit 1); then the same root is fixed and every finding goes (exit 0).
# Last, a smoke run on this machine's own root (findings allowed, no
# crash, valid JSON) and the errors (exit 2).
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
command -v gcc >/dev/null || { echo "# SKIP: no gcc to build the test's ELF files"; exit 77; }
command -v python3 >/dev/null || { echo "# SKIP: no python3 to read the JSON"; exit 77; }
command -v openssl >/dev/null || { echo "# SKIP: no openssl for the password hash"; exit 77; }

R=$T/root
W=$T/work
mkdir -p "$W" "$R"
put() { # put REL MODE < text
	mkdir -p "$(dirname "$R/$1")"
	cat >"$R/$1"
	chmod "$2" "$R/$1"
}
enable() { # enable TARGET.wants UNIT
	mkdir -p "$R/etc/systemd/system/$1"
	ln -sf "/lib/systemd/system/$2" "$R/etc/systemd/system/$1/$2"
}
DOC() { "$VOXGUARD" doctor "$@"; }
# jq-like reads of the JSON report with python3
has() { # has JSONFILE ID SUBJECT-PART: a finding with that id naming it
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if any(f["id"]==sys.argv[2] and (sys.argv[3] in f["subject"] or sys.argv[3] in f["finding"]) and f["fix"] for f in d["findings"]) else 1)' "$@"
}
count_at_least() { # count_at_least JSONFILE SEVERITY
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); o=["info","low","medium","high"]
print(sum(1 for f in d["findings"] if o.index(f["severity"])>=o.index(sys.argv[2])))' "$@"
}

# ---- the crafted root: a speaker image with one weakness per check ----
mkdir -p "$R/tmp" "$R/dev" "$R/usr/bin" "$R/usr/sbin"
chmod 1777 "$R/tmp"
ln -s usr/bin "$R/bin"
ln -s usr/sbin "$R/sbin"
put etc/os-release 0644 <<'E'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
VERSION_CODENAME=bookworm
E
put etc/passwd 0644 <<'E'
root:x:0:0:root:/root:/bin/sh
guest:x:1000:1000::/home/guest:/bin/sh
avs:x:990:990::/var/lib/avs:/usr/sbin/nologin
nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin
E
ROOTHASH=$(openssl passwd -6 root)
# 1 accounts: root's password is "root", guest's is empty
printf 'root:%s:19700:0:99999:7:::\nguest::19700:0:99999:7:::\navs:!:19700::::::\nnobody:*:19700::::::\n' \
	"$ROOTHASH" | put etc/shadow 0640
# 2 network: sshd enabled, port 22 not allowed
put lib/systemd/system/ssh.service 0644 <<'E'
[Service]
ExecStart=/usr/sbin/sshd -D
E
enable multi-user.target.wants ssh.service
# 3 ssh: password logins
printf 'binary' | put usr/sbin/sshd 0755
put etc/ssh/sshd_config 0644 <<'E'
Include /etc/ssh/sshd_config.d/*.conf
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
E
mkdir -p "$R/etc/ssh/sshd_config.d"
# 4 perms: a world-writable file in usr/bin
printf '#!/bin/sh\necho hi\n' | put usr/bin/greet 0777
# 5 setuid: a set-uid helper
printf '#!/bin/sh\n' | put usr/bin/helper 4755
# 6 elf: one program built without any mitigation, one with all
gcc -O0 -U_FORTIFY_SOURCE -fno-stack-protector -no-pie -fno-pie -Wl,-z,norelro -z execstack \
	-o "$R/usr/bin/weak" "$VG_SRC/tests/doctor/weak.c" 2>"$W/gcc.err" || { cat "$W/gcc.err"; exit 1; }
gcc -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie -Wl,-z,relro,-z,now \
	-Wl,-z,noexecstack -o "$W/strong" "$VG_SRC/tests/doctor/weak.c"
cp "$W/strong" "$R/usr/bin/strong"
# 7 sysctl: hardened, but a later file weakens kptr_restrict
put usr/lib/sysctl.d/90-hardening.conf 0644 <<'E'
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
kernel.yama.ptrace_scope = 2
kernel.unprivileged_bpf_disabled = 1
fs.protected_symlinks = 1
fs.protected_hardlinks = 1
fs.protected_fifos = 2
fs.protected_regular = 2
fs.suid_dumpable = 0
kernel.kexec_load_disabled = 1
E
printf 'CONFIG_MODULE_SIG_FORCE=y\n' | put boot/config-6.1.0-28-amd64 0644
printf 'kernel.kptr_restrict = 0\n' | put etc/sysctl.d/99-debug.conf 0644
# 8 coredump: core files written where a process crashes, no limit
printf 'kernel.core_pattern = core\n' | put etc/sysctl.d/50-core.conf 0644
# 9 voice: the voice application runs as root (otherwise sandboxed)
put lib/systemd/system/voice-app.service 0644 <<'E'
[Unit]
Description=Voice application
[Service]
User=root
SupplementaryGroups=audio voxguard
ExecStart=/usr/bin/SampleApp
NoNewPrivileges=yes
ProtectSystem=strict
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallFilter=@system-service
[Install]
WantedBy=multi-user.target
E
enable multi-user.target.wants voice-app.service
# 10 bluetooth: bluetoothd enabled, voxguard's enforcement not
printf 'binary' | put usr/libexec/bluetooth/bluetoothd 0755
printf '[Service]\nExecStart=/usr/libexec/bluetooth/bluetoothd\n' | put lib/systemd/system/bluetooth.service 0644
enable bluetooth.target.wants bluetooth.service
printf '[Service]\nExecStart=/usr/bin/voxguard bluetooth enforce\n' | put lib/systemd/system/voxguard-bluetooth.service 0644
# 11 vuln: openssl older than the tracker's fix
put var/lib/dpkg/status 0644 <<'E'
Package: libssl3
Status: install ok installed
Priority: optional
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: bash
Status: install ok installed
Version: 5.2.15-2+b2

E
# links that lead out of the root must not be followed by the walk
ln -s / "$R/usr/lib/escape"
ln -s /etc/shadow "$R/etc/host-shadow"

V="--vuln-db $VG_SRC/tests/doctor/tracker.json --release bookworm"
set +e
DOC --root "$R" $V >"$W/weak.txt" 2>"$W/weak.err"; rc_text=$?
DOC --root "$R" $V --json >"$W/weak.json" 2>>"$W/weak.err"; rc_json=$?
set -e
[ "$rc_text" = 1 ] && ok "AVS 1.2: a weak image: exit 1 (text)" || { not_ok "AVS 1.2: a weak image: exit 1 (text; got $rc_text)"; cat "$W/weak.err"; }
[ "$rc_json" = 1 ] && ok "AVS 1.2: a weak image: exit 1 (JSON)" || not_ok "AVS 1.2: a weak image: exit 1 (JSON; got $rc_json)"
check "the JSON report parses and says format voxguard-doctor/1, mode image" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="voxguard-doctor/1" and d["mode"]=="image" and d["result"]=="findings"' "$W/weak.json"

found() { # found "requirement: description" ID SUBJECT
	if grep -F -- "$2: " "$W/weak.txt" | grep -qF -- "$3" && has "$W/weak.json" "$2" "$3"; then
		ok "$1 ($2 naming $3, text and JSON)"
	else
		not_ok "$1 ($2 naming $3, text and JSON)"
	fi
}
found "AVS 1.2: root's default password 'root' is found by its crypt hash" accounts.default-password root
found "AVS 1.2: an account with an empty password" accounts.empty-password guest
found "AVS 1.2: an enabled network daemon not in the allow-list" network.enabled-service ssh.service
found "AVS 1.2: sshd accepts password logins" ssh.password-auth /etc/ssh/sshd_config
found "AVS 1.2: a world-writable file in a system path" perms.world-writable /usr/bin/greet
found "AVS 1.2: a set-uid file outside the allow-list" setuid.unexpected /usr/bin/helper
found "SDK exploit mitigation: an executable without PIE" elf.no-pie /usr/bin/weak
found "SDK exploit mitigation: an ELF without RELRO" elf.no-relro /usr/bin/weak
found "SDK exploit mitigation: an ELF without stack canary" elf.no-canary /usr/bin/weak
found "SDK exploit mitigation: an ELF with an executable stack" elf.execstack /usr/bin/weak
found "SDK exploit mitigation: an ELF not fortified" elf.no-fortify /usr/bin/weak
found "AVS 1.2: a weak kernel setting in sysctl.d" sysctl.weak kernel.kptr_restrict
found "AVS 1.2: core dumps written as files" coredump.enabled kernel.core_pattern
found "SDK least privilege: the voice application runs as root" voice.root /lib/systemd/system/voice-app.service
found "AVS 1.9-1.12: bluetoothd without voxguard's Bluetooth enforcement" bluetooth.unenforced voxguard-bluetooth.service
found "AVS 1.13: a package older than the tracker's fix" vuln.fixed openssl
check "AVS 1.13: the CVE, the binary package and the fixed version are named" \
	grep -q 'CVE-2024-0727: openssl 3.0.11-1~deb12u2 (binary packages: libssl3) is vulnerable; fixed in 3.0.13-1~deb12u1' "$W/weak.txt"
check "AVS 1.13: a fixed_version of 0 (never affected) and an already fixed package are not reported" \
	sh -c "! grep -q 'CVE-2010-0001\|CVE-2022-3715' '$W/weak.txt'"
set +e; DOC --root "$R" $V --only vuln --vuln-not-affected --json >"$W/na.json"; set -e
check "AVS 1.8: --vuln-not-affected lists the never-affected entry (info); each vuln finding has its facts (member vuln)" \
	python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["findings"]; na=[x for x in f if x["id"]=="vuln.not-affected"]; assert [(x["vuln"]["cve"], x["severity"]) for x in na]==[("CVE-2010-0001", "info")]; fx=[x["vuln"] for x in f if x["id"]=="vuln.fixed"]; assert [(v["source"], v["installed"], v["fixed_version"], v["tracker_status"]) for v in fx]==[("openssl", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "resolved")]' "$W/na.json"
check_fails "--vuln-not-affected without --vuln-db: exit 2" 2 DOC --root "$R" --vuln-not-affected
check "SDK exploit mitigation: the hardened program has no PIE/RELRO/canary/NX/FORTIFY finding" \
	sh -c "! grep -Eq 'elf\.(no-pie|no-relro|partial-relro|no-canary|execstack|no-fortify): /usr/bin/strong' '$W/weak.txt'"
walked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files_walked"])' "$W/weak.json")
[ "$walked" -lt 200 ] && ok "the walk follows no symbolic link out of the root ($walked entries)" ||
	not_ok "the walk follows no symbolic link out of the root ($walked entries)"
check "names in the report are printable" sh -c "! LC_ALL=C grep -q '[^[:print:][:space:]]' '$W/weak.txt'"

# ---- the same root, fixed ----
printf 'root:!:19700:0:99999:7:::\nguest:*:19700:0:99999:7:::\navs:!:19700::::::\nnobody:*:19700::::::\n' |
	put etc/shadow 0640
# the product needs sshd on port 22 (keys only): its allow-list in the image
printf '# the product image allow-lists\nallow-port = 22/tcp\n' | put etc/voxguard/doctor.conf 0644
printf 'PasswordAuthentication no\n' | put etc/ssh/sshd_config.d/10-keys-only.conf 0644
chmod 0755 "$R/usr/bin/greet"
chmod 0755 "$R/usr/bin/helper"
cp "$W/strong" "$R/usr/bin/weak"
rm "$R/etc/sysctl.d/99-debug.conf"
printf 'kernel.core_pattern = |/bin/false\n' | put etc/sysctl.d/50-core.conf 0644
mkdir -p "$R/etc/systemd/system/voice-app.service.d"
printf '[Service]\nUser=avs\nGroup=avs\n' | put etc/systemd/system/voice-app.service.d/user.conf 0644
enable multi-user.target.wants voxguard-bluetooth.service
sed -i 's/^Version: 3.0.11-1~deb12u2/Version: 3.0.13-1~deb12u1/' "$R/var/lib/dpkg/status"

set +e
DOC --root "$R" $V >"$W/fixed.txt" 2>"$W/fixed.err"; rc_text=$?
DOC --root "$R" $V --json >"$W/fixed.json" 2>>"$W/fixed.err"; rc_json=$?
set -e
[ "$rc_text" = 0 ] && ok "AVS 1.2: the fixed image: exit 0 (text)" || { not_ok "AVS 1.2: the fixed image: exit 0 (text; got $rc_text)"; grep -v '^ *fix:' "$W/fixed.txt" | head -30; cat "$W/fixed.err"; }
[ "$rc_json" = 0 ] && ok "AVS 1.2: the fixed image: exit 0 (JSON)" || not_ok "AVS 1.2: the fixed image: exit 0 (JSON; got $rc_json)"
n=$(count_at_least "$W/fixed.json" low)
[ "$n" = 0 ] && ok "AVS 1.2: the fixed image: no finding at or above low in the JSON" || not_ok "AVS 1.2: the fixed image: $n findings at or above low"
for id in accounts.default-password accounts.empty-password network.enabled-service ssh.password-auth \
	perms.world-writable setuid.unexpected elf.no-pie elf.execstack sysctl.weak coredump.enabled \
	voice.root bluetooth.unenforced vuln.fixed; do
	if grep -q "$id" "$W/fixed.txt"; then not_ok "fixed: $id is gone"; else ok "fixed: $id is gone"; fi
done
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all(c["status"] in ("ok","skipped") or (c["status"]=="findings" and c["check"]=="elf") for c in d["checks"]) else 1)' "$W/fixed.json"; then
	ok "fixed: every check ran or was skipped for a reason (none failed; elf: CET info only)"
else
	not_ok "fixed: every check ran or was skipped for a reason (none failed)"
	python3 -c 'import json,sys; [print("#", c) for c in json.load(open(sys.argv[1]))["checks"]]' "$W/fixed.json"
fi
check_fails "--fail-on: an info finding alone is a finding at --fail-on info (CET, partial RELRO...)" 1 \
	sh -c "chmod 0700 '$R/usr/bin/greet'; printf 'kernel.core_pattern = |/usr/lib/apport\n' > '$R/etc/sysctl.d/50-core.conf'; \"$VOXGUARD\" doctor --root '$R' --only coredump --fail-on info"
check "--only coredump with its info finding: exit 0 at the default level" \
	DOC --root "$R" --only coredump

# the example units of the tree: no high finding (SDK least privilege)
for u in "$VG_SRC"/systemd/examples/*.service; do
	[ -f "$u" ] || continue
	name=$(basename "$u")
	mkdir -p "$W/ex/etc/systemd/system"
	cp "$u" "$W/ex/etc/systemd/system/$name"
	check "SDK least privilege: the example unit $name has no high finding" \
		DOC --root "$W/ex" --only voice --voice-unit "$name" --fail-on high
done

# ---- errors: exit 2 with one line ----
check_fails "a root that does not exist: exit 2" 2 DOC --root "$T/nonexistent"
check_fails "an unknown option: exit 2" 2 DOC --frobnicate
check_fails "an unknown check: exit 2" 2 DOC --root "$R" --only nonsense
check_fails "a bad allow-port: exit 2" 2 DOC --root "$R" --allow-port 70000
printf '{"openssl": []}' >"$W/bad.json"
check_fails "AVS 1.13: a malformed vulnerability list: exit 2" 2 DOC --root "$R" --vuln-db "$W/bad.json"
set +e; DOC --root "$R" --vuln-db "$W/bad.json" 2>"$W/bad.err" >/dev/null; set -e
check "AVS 1.13: the malformed list's error names the member" grep -q 'openssl: not an object' "$W/bad.err"
printf 'allow-port = twenty-two\n' >"$W/bad.conf"
check_fails "a malformed doctor.conf: exit 2" 2 DOC --root "$R" --config "$W/bad.conf"

# ---- the build machine's own Debian root, offline: findings allowed ----
set +e
DOC --root / --json --skip vuln >"$W/host.json" 2>"$W/host.err"; rc=$?
set -e
if [ "$rc" = 0 ] || [ "$rc" = 1 ]; then ok "voxguard doctor --root / (this machine) ends with 0 or 1 (got $rc)"; else not_ok "voxguard doctor --root / (got $rc)"; cat "$W/host.err"; fi
check "voxguard doctor --root / gives valid JSON with ELF files scanned" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["elf_files"]>0' "$W/host.json"

finish
