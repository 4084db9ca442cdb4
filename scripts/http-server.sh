#!/bin/sh
# A static HTTP or HTTPS server on loopback for the update tests (a TUF
# repository is plain files, as a CDN would serve them). Debian's python3
# and its ssl module, on OpenSSL.
#   http-server.sh start DIR ROOT [CERT KEY [OPTION]]
#       serve ROOT on 127.0.0.1, a free port; prints the base URL and keeps
#       its state in DIR. With CERT and KEY (PEM): HTTPS, TLS 1.2 or newer.
#       OPTION: tls1.1   accept TLS 1.0 and 1.1 only (a server a client
#                        requiring TLS 1.2 must refuse)
#               redirect=URL   answer every request with a 302 to URL +
#                        the request path (a downgrade attempt, say)
#   http-server.sh stop DIR
set -eu
cmd=${1:?start|stop}; dir=${2:?state dir}
case $cmd in
start)
	root=${3:?directory to serve}; cert=${4:-}; key=${5:-}; opt=${6:-}
	mkdir -p "$dir"
	python3 -u - "$root" "$cert" "$key" "$opt" >"$dir/http.log" 2>&1 <<'PY' &
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

srv = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=root))
scheme = "http"
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if opt == "tls1.1":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    scheme = "https"
print("serving %s://127.0.0.1:%d" % (scheme, srv.server_address[1]), flush=True)
srv.serve_forever()
PY
	echo $! >"$dir/http.pid"
	i=0
	while ! grep -q '^serving ' "$dir/http.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "http-server: did not start" >&2; cat "$dir/http.log" >&2; exit 1; }
		sleep 0.05
	done
	sed -n 's/^serving //p' "$dir/http.log" | head -n 1
	;;
stop)
	[ -f "$dir/http.pid" ] && kill "$(cat "$dir/http.pid")" 2>/dev/null || true
	rm -f "$dir/http.pid"
	;;
esac
