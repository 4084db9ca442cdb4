#!/bin/sh
# A static HTTPS server on loopback for the update tests (Debian's python3
# and its ssl module, on OpenSSL).
#   https-server.sh start DIR ROOT CERT KEY [OPTION]
#       serve ROOT on 127.0.0.1, a free port, with CERT/KEY (PEM); prints
#       the base URL (https://127.0.0.1:PORT) and keeps its state in DIR.
#       OPTION: tls1.1   accept TLS 1.0 and 1.1 only (a server a client
#                        requiring TLS 1.2 must refuse)
#               redirect=URL   answer every request with a 302 to URL +
#                        the request path (a downgrade attempt, say)
#   https-server.sh stop DIR
set -eu
cmd=${1:?start|stop}; dir=${2:?state dir}
case $cmd in
start)
	root=${3:?directory to serve}; cert=${4:?cert}; key=${5:?key}; opt=${6:-}
	mkdir -p "$dir"
	python3 -u - "$root" "$cert" "$key" "$opt" >"$dir/https.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
root, cert, key, opt = sys.argv[1:5]

class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if opt.startswith("redirect="):
            self.send_response(302)
            self.send_header("Location", opt[len("redirect="):] + self.path)
            self.end_headers()
            return
        super().do_GET()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if opt == "tls1.1":
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
else:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
srv = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=root))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PY
	echo $! >"$dir/https.pid"
	i=0
	while ! grep -q 'port [0-9]' "$dir/https.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "https-server: did not start" >&2; cat "$dir/https.log" >&2; exit 1; }
		sleep 0.05
	done
	port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$dir/https.log" | head -n 1)
	echo "https://127.0.0.1:$port"
	;;
stop)
	[ -f "$dir/https.pid" ] && kill "$(cat "$dir/https.pid")" 2>/dev/null || true
	rm -f "$dir/https.pid"
	;;
esac
