#!/usr/bin/env python3
"""smtp_sink.py PORTFILE OUTDIR — a tiny SMTP server on loopback for the tests.
Speaks EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; writes each message to
OUTDIR/<n>.eml with 'X-Rcpt: <address>' first.  Writes its port to PORTFILE."""
import os, socketserver, sys

portfile, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
count = [0]

class H(socketserver.StreamRequestHandler):
    def say(self, s):
        self.wfile.write((s + "\r\n").encode()); self.wfile.flush()
    def handle(self):
        self.say("220 sink ESMTP")
        rcpt = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                self.say("250-sink"); self.say("250 8BITMIME")
            elif up.startswith("HELO") or up.startswith("NOOP") or up.startswith("RSET"):
                self.say("250 ok")
            elif up.startswith("MAIL FROM:"):
                rcpt = []; self.say("250 ok")
            elif up.startswith("RCPT TO:"):
                rcpt.append(cmd[8:].strip().strip("<>")); self.say("250 ok")
            elif up == "DATA":
                self.say("354 go on")
                data = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    data.append(l[1:] if l.startswith(b"..") else l)
                count[0] += 1
                path = os.path.join(outdir, "%d.eml" % count[0])
                with open(path + ".tmp", "wb") as f:
                    f.write(("X-Rcpt: %s\r\n" % ",".join(rcpt)).encode() + b"".join(data))
                os.rename(path + ".tmp", path)
                self.say("250 queued")
            elif up == "QUIT":
                self.say("221 bye"); return
            else:
                self.say("502 unknown")

class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

srv = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
