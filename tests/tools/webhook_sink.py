#!/usr/bin/env python3
"""webhook_sink.py PORTFILE OUTDIR SECRET [FAIL] — receives webhook POSTs,
verifies X-RentEzy-Signature (t=<unix>,v1=hex HMAC-SHA256(secret, "t.body")),
and writes each to OUTDIR/<n>.json as {"valid": bool, "body": ..., "headers": ...}.
With FAIL=1 every request is answered 500 (a broken receiver)."""
import hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, outdir, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
fail = len(sys.argv) > 4 and sys.argv[4] == "1"
os.makedirs(outdir, exist_ok=True)
count = [0]

def verify(sig, body):
    try:
        parts = dict(p.split("=", 1) for p in sig.split(","))
        t = int(parts["t"])
    except Exception:
        return False
    want = hmac.new(secret, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", "")) and abs(time.time() - t) < 86400 * 3650

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        count[0] += 1
        rec = {"valid": verify(self.headers.get("X-RentEzy-Signature", ""), body),
               "event": self.headers.get("X-RentEzy-Event"), "body": json.loads(body or b"null")}
        path = os.path.join(outdir, "%d.json" % count[0])
        with open(path + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(path + ".tmp", path)
        self.send_response(500 if fail else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
