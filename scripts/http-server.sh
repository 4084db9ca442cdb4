#!/bin/sh
# A static HTTP server on loopback for the update tests (a TUF repository
# is plain files, as a CDN would serve them). Debian's python3.
#   http-server.sh start DIR ROOT   serve ROOT on 127.0.0.1, a free port;
#                                   prints the base URL, keeps state in DIR
#   http-server.sh stop DIR
set -eu
cmd=${1:?start|stop}; dir=${2:?state dir}
case $cmd in
start)
	root=${3:?directory to serve}
	mkdir -p "$dir"
	python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$root" \
		>"$dir/http.log" 2>&1 &
	echo $! >"$dir/http.pid"
	i=0
	while ! grep -q 'port [0-9]' "$dir/http.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "http-server: did not start" >&2; exit 1; }
		sleep 0.05
	done
	port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$dir/http.log" | head -n 1)
	echo "http://127.0.0.1:$port"
	;;
stop)
	[ -f "$dir/http.pid" ] && kill "$(cat "$dir/http.pid")" 2>/dev/null || true
	rm -f "$dir/http.pid"
	;;
esac
