"""moto's server for Rendition's tests, with one fix to its signature check: it reads the path and query as sent.

Usage: python3 moto_server.py HOST PORT
moto rebuilds the URL it checks a signature against through its web framework, which re-encodes the path and
query its own way: `+`, `%`, non-ASCII characters and sub-delimiters in keys, or `/` in a query value (a listing's
prefix or delimiter), then fail even boto3's own signatures. AWS checks the request line as sent, and so does
this server; everything else is moto's.
"""
import os
import sys
import threading

from moto.iam import access_control
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

sent = threading.local()


class KeepRequestURI:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        sent.uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        return self.app(environ, start_response)


original = access_control.IAMRequestBase._create_aws_request


def create_aws_request(self):
    request = original(self)
    if getattr(sent, "uri", None):
        request.url = sent.uri
    return request


access_control.IAMRequestBase._create_aws_request = create_aws_request

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
run_simple(host, port, KeepRequestURI(DomainDispatcherApplication(create_backend_app)), threaded=True)
