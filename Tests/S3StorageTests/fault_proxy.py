"""A fault-injecting HTTP proxy in front of an S3 endpoint, for Rendition's storage fault tests.

Usage: python3 fault_proxy.py PORT UPSTREAM MODE [COUNT]
Modes: fail (answer 500 to the first COUNT requests, then proxy), deny (always 403 AccessDenied),
truncate (GET answers send half the body under the full Content-Length, then close, COUNT times),
slow (sleep COUNT seconds before proxying), slowdown (503 SlowDown to the first COUNT requests),
chaos (each request, with probability COUNT, meets one fault at random: 500, 503 SlowDown, the connection
closed before any answer, a GET body cut in half, a PUT stored upstream whose answer is never sent, or a
3 s stall; seeded, so a run is repeatable). Prints "ready" once listening, and on standard error one line
per fault injected.
"""
import random
import http.client
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

PORT, UPSTREAM, MODE = int(sys.argv[1]), urlsplit(sys.argv[2]), sys.argv[3]
COUNT = float(sys.argv[4]) if len(sys.argv) > 4 else 1
state = {"seen": 0}
lock = threading.Lock()
chaos = random.Random(20261129)
FAULTS = ["500", "slowdown", "close", "truncate", "lost-put-answer", "stall"]


def error_document(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>" % (code, message)).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            state["seen"] += 1
            seen = state["seen"]
        fault = None
        if MODE == "chaos":
            with lock:
                if chaos.random() < COUNT:
                    fault = chaos.choice(FAULTS)
            if fault:
                print("fault %s %s %s" % (fault, self.command, self.path), file=sys.stderr, flush=True)
            if fault == "500":
                return self.reply(500, error_document("InternalError", "We encountered an internal error."))
            if fault == "slowdown":
                return self.reply(503, error_document("SlowDown", "Please reduce your request rate."))
            if fault == "close":
                self.close_connection = True
                return
            if fault == "stall":
                time.sleep(3)
        if MODE == "deny":
            return self.reply(403, error_document("AccessDenied", "Access Denied"))
        if MODE == "fail" and seen <= COUNT:
            return self.reply(500, error_document("InternalError", "We encountered an internal error."))
        if MODE == "slowdown" and seen <= COUNT:
            return self.reply(503, error_document("SlowDown", "Please reduce your request rate."))
        if MODE == "slow":
            time.sleep(COUNT)
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        headers = {k: v for k, v in self.headers.items()}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        if fault == "lost-put-answer" and self.command == "PUT":
            # The object is stored; the client never learns it and must cope with its own retry.
            self.close_connection = True
            return
        if fault == "truncate" and self.command == "GET" and response.status == 200 and len(data) > 10:
            return self.truncated(response, data)
        if MODE == "truncate" and self.command == "GET" and response.status == 200 and seen <= COUNT * 10 and len(data) > 10:
            with lock:
                truncations = state.setdefault("truncated", 0)
                if truncations >= COUNT:
                    truncations = None
                else:
                    state["truncated"] = truncations + 1
            if truncations is not None:
                return self.truncated(response, data)
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def truncated(self, response, data):
        """Sends the full Content-Length, half the body, then closes."""
        self.send_response(200)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", PORT), Handler) as server:
    print("ready", flush=True)
    server.serve_forever()
