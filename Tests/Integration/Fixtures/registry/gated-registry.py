"""A registry of one image that holds back one blob until a path exists.

Usage: gated-registry.py DIRECTORY

DIRECTORY contains manifest.json, blobs/<hex> for every blob, and gate.json with
{"blob": "<hex>", "path": "<path>"}. The server listens on 127.0.0.1 at a free port, writes the
port to DIRECTORY/port, and serves GET /v2/, GET and HEAD of /v2/<name>/manifests/<any> and
GET /v2/<name>/blobs/sha256:<hex>. The gated blob is sent once <path> exists, or after 20
seconds, and DIRECTORY/gate-result records which came first: "path" or "timeout".
"""

import hashlib
import http.server
import json
import os
import sys
import time

directory = sys.argv[1]
manifest = open(os.path.join(directory, "manifest.json"), "rb").read()
gate = json.load(open(os.path.join(directory, "gate.json")))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_bytes(self, status, body, content_type, head=False, digest=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def answer(self, head):
        path = self.path.split("?")[0]
        if path == "/v2/":
            return self.send_bytes(200, b"{}", "application/json", head)
        if "/manifests/" in path:
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            return self.send_bytes(200, manifest, "application/vnd.oci.image.manifest.v1+json", head, digest)
        if "/blobs/sha256:" in path:
            hex_digest = path.rsplit(":", 1)[1]
            blob = os.path.join(directory, "blobs", hex_digest)
            if not os.path.isfile(blob):
                return self.send_bytes(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', "application/json", head)
            if hex_digest == gate["blob"] and not head:
                deadline = time.monotonic() + 20
                while not os.path.exists(gate["path"]) and time.monotonic() < deadline:
                    time.sleep(0.05)
                result = "path" if os.path.exists(gate["path"]) else "timeout"
                open(os.path.join(directory, "gate-result"), "w").write(result)
            return self.send_bytes(200, open(blob, "rb").read(), "application/octet-stream", head)
        self.send_bytes(404, b"{}", "application/json", head)

    def do_GET(self):
        self.answer(head=False)

    def do_HEAD(self):
        self.answer(head=True)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(directory, "port.partial"), "w") as port_file:
    port_file.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "port.partial"), os.path.join(directory, "port"))
server.serve_forever()
