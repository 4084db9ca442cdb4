#!/bin/sh
# A software TPM 2.0 (swtpm) for the tpm2 root-of-trust tests.
#
#   swtpm.sh start DIR   start `swtpm socket --tpm2` with its state in DIR,
#                        both ports on 127.0.0.1 only, daemonized; writes
#                        DIR/ports (SWTPM_PORT=..., SWTPM_CTRL_PORT=...),
#                        DIR/tcti (the TCTI string for rot_param) and
#                        DIR/swtpm.pid, and prints the TCTI string.
#   swtpm.sh stop DIR    stop that swtpm and wait until it is gone.
#
# Works as root and as an ordinary user; installs nothing (see
# scripts/install-deps.sh). Ports are picked at random and retried when
# taken, so several instances (the release and the sanitizer test runs,
# the unit and the integration tests) can run side by side.
set -eu

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

# The pid in DIR/swtpm.pid, if that process is still an swtpm.
running_pid() {
	[ -f "$dir/swtpm.pid" ] || return 1
	p=$(cat "$dir/swtpm.pid" 2>/dev/null || true)
	case "$p" in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$p" 2>/dev/null || return 1
	[ "$(cat "/proc/$p/comm" 2>/dev/null || true)" = swtpm ] || return 1
	echo "$p"
}

do_start() {
	command -v swtpm >/dev/null 2>&1 || {
		echo "swtpm.sh: swtpm is not installed (run scripts/install-deps.sh)" >&2
		exit 2
	}
	mkdir -p "$dir"
	chmod 700 "$dir"
	if running_pid >/dev/null; then
		echo "swtpm.sh: an swtpm already runs for $dir" >&2
		exit 2
	fi
	rm -f "$dir/swtpm.pid" "$dir/ports" "$dir/tcti"
	tries=0
	while [ $tries -lt 20 ]; do
		tries=$((tries + 1))
		# An even port in 20000..59998 and the next one for control.
		r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		port=$((20000 + (r % 20000) * 2))
		ctrl=$((port + 1))
		: >"$dir/swtpm.log"
		if swtpm socket --tpm2 \
			--tpmstate "dir=$dir" \
			--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$ctrl,bindaddr=127.0.0.1" \
			--flags not-need-init,startup-clear \
			--pid "file=$dir/swtpm.pid" \
			--log "file=$dir/swtpm.log,level=1" \
			--daemon 2>>"$dir/swtpm.log"; then
			# --daemon returns once the sockets are bound; the pid
			# file follows right after.
			i=0
			while ! running_pid >/dev/null; do
				i=$((i + 1))
				[ $i -lt 100 ] || break
				sleep 0.05
			done
			if running_pid >/dev/null; then
				printf 'SWTPM_PORT=%s\nSWTPM_CTRL_PORT=%s\n' "$port" "$ctrl" >"$dir/ports"
				printf 'swtpm:host=127.0.0.1,port=%s\n' "$port" >"$dir/tcti"
				cat "$dir/tcti"
				return 0
			fi
		fi
		# Most likely a port in use: try others.
	done
	echo "swtpm.sh: could not start swtpm in $dir:" >&2
	cat "$dir/swtpm.log" >&2
	exit 1
}

do_stop() {
	p=$(running_pid) || {
		rm -f "$dir/swtpm.pid"
		return 0
	}
	kill -TERM "$p" 2>/dev/null || true
	i=0
	while kill -0 "$p" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -eq 100 ]; then
			kill -KILL "$p" 2>/dev/null || true
		fi
		[ $i -lt 200 ] || {
			echo "swtpm.sh: swtpm $p does not exit" >&2
			exit 1
		}
		sleep 0.05
	done
	rm -f "$dir/swtpm.pid"
}

case "$cmd" in
start) do_start ;;
stop) do_stop ;;
*) usage ;;
esac
