#!/bin/sh
# Starts and stops a software TPM 2.0 (swtpm) for the tests, on loopback
# only, with its state in a directory of the caller's.
#   sh scripts/swtpm.sh start DIR   -> prints the TCTI string; DIR/tcti too
#   sh scripts/swtpm.sh stop DIR
# The TPM is started with --flags not-need-init,startup-clear, so it is
# ready at once. Ports are picked at random and retried if taken.
set -eu
cmd=${1:?usage: swtpm.sh start|stop DIR}
dir=${2:?usage: swtpm.sh start|stop DIR}
command -v swtpm >/dev/null || { echo "swtpm.sh: swtpm is not installed (scripts/install-deps.sh)" >&2; exit 2; }

case $cmd in
start)
	mkdir -p "$dir/tpm"
	i=0
	while [ $i -lt 20 ]; do
		i=$((i + 1))
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		rm -f "$dir/swtpm.pid" "$dir/swtpm.log"
		if swtpm socket --tpm2 --tpmstate dir="$dir/tpm" \
			--server type=tcp,port=$port,bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear \
			--pid file="$dir/swtpm.pid" --log file="$dir/swtpm.log" \
			--daemon 2>>"$dir/swtpm.err"; then
			# --daemon returns once the sockets are bound.
			[ -s "$dir/swtpm.pid" ] || continue
			echo "swtpm:host=127.0.0.1,port=$port" >"$dir/tcti"
			cat "$dir/tcti"
			exit 0
		fi
	done
	echo "swtpm.sh: could not start swtpm:" >&2
	cat "$dir/swtpm.err" >&2 2>/dev/null || true
	exit 1
	;;
stop)
	if [ -s "$dir/swtpm.pid" ]; then
		pid=$(cat "$dir/swtpm.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$dir/swtpm.pid"
	fi
	;;
*)
	echo "usage: swtpm.sh start|stop DIR" >&2
	exit 2
	;;
esac
