#!/usr/bin/env python3
"""A SigV4-checking front for the local Elasticsearch-API server, standing in
for Amazon OpenSearch Service (`es`) or OpenSearch Serverless (`aoss`) with
IAM: every request must carry a valid SigV4 signature of its exact bytes,
else it is answered 403 with the service's error body; valid requests are
passed on to the server behind.

The signature is recomputed with botocore's SigV4 signer (the Python SDK's),
an implementation independent of the Rust `aws-sigv4` crate logpipe signs
with. What it checks, as the services do:
  - the signature over method, path, query, the signed headers and the body's
    SHA-256 (`x-amz-content-sha256` must be that hash; `aoss` requires it);
  - `x-amz-date` within 5 minutes of the front's clock;
  - the access key is one it knows, with its session token when it has one.

Test-only endpoints (unsigned, never forwarded):
  GET  /_front/credentials  a new credential set in the ECS container format
                            (AWS_CONTAINER_CREDENTIALS_FULL_URI points here):
                            valid until its `Expiration`, `--lifetime` from now
  POST /_front/control      {"issue": "good" | "wrong-secret" | "wrong-token",
                             "clock_offset_s": N}: what the next credentials
                            handed out are like, and how far the front's clock is off
  GET  /_front/stats        requests accepted and refused, per access key

With `--collection-type timeseries` (aoss only) `_bulk` actions carrying an
`_id` are refused per item, as a Serverless time-series collection does.
As OpenSearch Service (`es`) documents, the query string of a signed POST is
ignored: it is checked as part of the signature, then not passed on.
"""

import argparse
import gzip
import hashlib
import hmac
import http.client
import json
import secrets
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AMZ_DATE = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=5)
# The messages Amazon OpenSearch Service answers with (HTTP 403).
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
BAD_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
MISSING_AUTH = "Missing Authentication Token"
# What a Serverless time-series collection answers to a caller's `_id`.
ID_REFUSED = "Document ID is not supported in create/index operation request"
# Headers of ours that must not reach the server behind.
SIGV4_HEADERS = {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}


class Refusal(Exception):
    pass


class Front:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        # access key -> (secret, token or None, expiry or None)
        self.keys = {args.access_key: (args.secret_key, args.session_token, None)}
        self.issue = "good"
        self.clock_offset = timedelta(0)
        self.issued = 0
        self.accepted = {}
        self.refused = {}

    def now(self):
        return datetime.now(timezone.utc) + self.clock_offset

    def new_credentials(self):
        with self.lock:
            self.issued += 1
            key = f"ASIAFRONT{self.issued:08d}"
            secret, token = secrets.token_urlsafe(30), secrets.token_urlsafe(60)
            expiry = datetime.now(timezone.utc) + timedelta(seconds=self.args.lifetime)
            self.keys[key] = (secret, token, expiry)
            handed_secret = secret + "x" if self.issue == "wrong-secret" else secret
            handed_token = token + "x" if self.issue == "wrong-token" else token
        return {
            "AccessKeyId": key,
            "SecretAccessKey": handed_secret,
            "Token": handed_token,
            "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def verify(self, method, target, headers, body):
        """Raises Refusal with the service's message unless the request is signed right."""
        authorization = headers.get("authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            raise Refusal(MISSING_AUTH)
        fields = dict(
            part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(",")
        )
        try:
            key, day, region, service, _ = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            signature = fields["Signature"]
        except (KeyError, ValueError):
            raise Refusal(f"Authorization header requires Credential, SignedHeaders and Signature: {authorization[:60]}")
        amz_date = headers.get("x-amz-date", "")
        try:
            when = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=timezone.utc)
        except ValueError:
            raise Refusal("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        now = self.now()
        if when < now - MAX_SKEW:
            raise Refusal(
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - MAX_SKEW).strftime(AMZ_DATE)} ({now.strftime(AMZ_DATE)} - 5 min.)"
            )
        if when > now + MAX_SKEW:
            raise Refusal(
                f"Signature not yet current: {amz_date} is still later than "
                f"{(now + MAX_SKEW).strftime(AMZ_DATE)} ({now.strftime(AMZ_DATE)} + 5 min.)"
            )
        with self.lock:
            known = self.keys.get(key)
        if known is None:
            raise Refusal(BAD_TOKEN)
        secret, token, expiry = known
        if token is not None and not hmac.compare_digest(headers.get("x-amz-security-token", ""), token):
            raise Refusal(BAD_TOKEN)
        if token is not None and "x-amz-security-token" not in signed:
            raise Refusal(BAD_SIGNATURE)
        if expiry is not None and now >= expiry:
            raise Refusal(EXPIRED_TOKEN)
        if (region, service) != (self.args.region, self.args.service) or day != amz_date[:8]:
            raise Refusal(
                f"Credential should be scoped to a valid region and service, "
                f"'{amz_date[:8]}/{self.args.region}/{self.args.service}', not '{day}/{region}/{service}'."
            )
        digest = hashlib.sha256(body).hexdigest()
        claimed = headers.get("x-amz-content-sha256")
        if self.args.service == "aoss" and claimed is None:
            raise Refusal("Missing x-amz-content-sha256 header")
        if claimed is not None and claimed != digest:
            raise Refusal("The provided 'x-amz-content-sha256' header does not match what was computed.")
        if "host" not in signed:
            raise Refusal(BAD_SIGNATURE)
        parts = urlsplit(target)
        request = AWSRequest(
            method=method,
            url=f"http://{headers.get('host', '')}{parts.path}",
            headers={name: headers.get(name, "") for name in signed},
            data=body,
            params=parse_qsl(parts.query, keep_blank_values=True),
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(key, secret, token), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            raise Refusal(BAD_SIGNATURE)
        return key

    def count(self, table, key):
        with self.lock:
            table[key] = table.get(key, 0) + 1


def refused_ids(body, headers):
    """A `_bulk` answer refusing every action, if any action carries an `_id`."""
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    lines = [line for line in body.split(b"\n") if line.strip()]
    actions, items, expect_source = [], [], False
    for line in lines:
        if expect_source:
            expect_source = False
            continue
        action = json.loads(line)
        (kind, meta), = action.items()
        actions.append((kind, meta))
        expect_source = kind in ("create", "index", "update")
    if not any("_id" in meta for _, meta in actions):
        return None
    for kind, meta in actions:
        error = {"type": "illegal_argument_exception", "reason": ID_REFUSED}
        items.append({kind: {"_index": meta.get("_index"), "status": 400, "error": error}})
    return {"took": 0, "errors": True, "items": items}


def handler(front):
    upstream = urlsplit(front.args.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if front.args.verbose:
                sys.stderr.write(fmt % args + "\n")

        def answer(self, status, payload, content_type="application/json"):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.path.startswith("/_front/"):
                return self.test_endpoint(body)
            try:
                key = front.verify(self.command, self.path, headers, body)
            except Refusal as refusal:
                front.count(front.refused, str(refusal)[:80])
                return self.answer(403, {"message": str(refusal)})
            front.count(front.accepted, key)
            path = urlsplit(self.path).path
            if front.args.service == "aoss" and path.rstrip("/").endswith("/_refresh"):
                return self.answer(404, {"error": {"type": "unsupported_operation",
                    "reason": "_refresh is not supported by OpenSearch Serverless"}, "status": 404})
            if front.args.collection_type == "timeseries" and path.endswith("/_bulk"):
                refusal = refused_ids(body, headers)
                if refusal is not None:
                    return self.answer(200, refusal)
            target = self.path
            if front.args.service == "es" and self.command == "POST":
                target = path  # "The service ignores parameters passed in URLs for HTTP POST requests"
            self.forward(target, body, headers)

        def forward(self, target, body, headers):
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            try:
                sent = {k: v for k, v in headers.items() if k not in SIGV4_HEADERS and k != "host"}
                if front.args.upstream_api_key:
                    sent["authorization"] = f"ApiKey {front.args.upstream_api_key}"
                connection.request(self.command, target, body=body, headers=sent)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name in ("Content-Type", "Content-Encoding"):
                    if response.getheader(name):
                        self.send_header(name, response.getheader(name))
                self.send_header("Content-Length", response.getheader("Content-Length") or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                connection.close()

        def test_endpoint(self, body):
            if self.path == "/_front/credentials":
                return self.answer(200, front.new_credentials())
            if self.path == "/_front/stats":
                with front.lock:
                    return self.answer(200, {"accepted": front.accepted, "refused": front.refused,
                                             "issued": front.issued})
            if self.path == "/_front/control" and self.command == "POST":
                control = json.loads(body or b"{}")
                with front.lock:
                    front.issue = control.get("issue", front.issue)
                    front.clock_offset = timedelta(seconds=control.get("clock_offset_s", 0))
                return self.answer(200, {"ok": True})
            return self.answer(404, {"message": f"no test endpoint {self.path}"})

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the Elasticsearch-API server behind")
    parser.add_argument("--upstream-api-key", default="")
    parser.add_argument("--service", choices=("es", "aoss"), default="es")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--session-token", default=None)
    parser.add_argument("--lifetime", type=float, default=3600,
                        help="seconds the credentials of /_front/credentials are valid")
    parser.add_argument("--collection-type", choices=("search", "timeseries"), default="search")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler(Front(args)))
    server.daemon_threads = True
    print(f"sigv4 front ({args.service}, {args.region}) on {args.host}:{args.port} -> {args.upstream}",
          file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
