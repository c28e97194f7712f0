#!/usr/bin/env python3
"""A fault-injecting HTTP reverse proxy for the Elasticsearch API, for tests.

Sits on a loopback port in front of an Elasticsearch (here: the local stand-in) and, switched
at runtime, answers the way a loaded or broken cluster does, so that the indexer's retry and
dead-letter logic meets real failures:

  pass         forward everything unchanged (the default)
  bulk_items   answer `_bulk` with HTTP 200 where chosen items carry a per-item error (429
               es_rejected_execution_exception by default, or 503, ...). Those items are NOT
               forwarded; the others are, and the backend's answers are merged back in the
               original order, so the backend holds exactly the documents reported created.
  status       answer the whole request with an error status (503 by default, or 429, ...),
               without forwarding it (or after forwarding it, with "forward": true)
  disconnect   read the request, then close the connection without answering (after
               forwarding it, with "forward": true: the work is done but the answer is lost)
  hold         keep the request from the backend for "delay_ms", then forward it; when the
               proxy stops first, close the connection and never forward it (a request that
               "hangs" on its way: nothing of it is done until it is let through)

Every mode takes "delay_ms" (wait that long before answering or closing; mode "delay" is
pass-through with a delay), "times" (apply to the next N matching requests, then switch back
to pass) and "match" (a regex the request path must match; default: `_bulk` paths for
bulk_items, every path otherwise).

Admin endpoints (on the proxy's own port, never forwarded, not counted):
  GET  /_fault/mode          current mode
  POST /_fault/mode          set it, JSON body, e.g.
       {"mode": "bulk_items", "status": 429, "items": [1, 4, 8]}
       {"mode": "bulk_items", "status": 503, "count": 3, "pick": "random", "seed": 7}
       {"mode": "bulk_items", "share": 0.3, "pick": "first", "times": 1}
       {"mode": "status", "status": 429}      {"mode": "delay", "delay_ms": 1500}
       {"mode": "hold", "delay_ms": 60000, "match": "^/letters/_bulk$"}
       {"mode": "disconnect", "forward": true, "reset": true}
  GET  /_fault/stats         counters (requests seen, forwarded, injected items, ...)
  POST /_fault/reset         back to pass, counters to zero

Command line:
  python tests/faultproxy.py --listen 127.0.0.1:9201 --backend http://127.0.0.1:9200
In a test:
  with FaultProxy("http://127.0.0.1:9200") as proxy:      # free port on 127.0.0.1
      proxy.set_mode("bulk_items", status=429, items=[1, 4, 8])
      ... talk to proxy.url ...

Bounded on purpose: it listens only on a loopback address and forwards only to a loopback
backend; standard library only.

Simplifications: the requests are forwarded over a new backend connection each; in
bulk_items mode the forwarded subset is re-compressed when the request was gzip-compressed,
the answer is sent uncompressed, and `filter_path` is not applied to the injected items.
"""

import argparse
import gzip
import http.client
import http.server
import ipaddress
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
MODES = ("pass", "delay", "hold", "bulk_items", "status", "disconnect")
BULK_PATH = r"(^|/)_bulk$"
ERROR_TYPES = {
    429: ("es_rejected_execution_exception", "rejected execution of coordinating operation (injected by faultproxy)"),
    503: ("unavailable_shards_exception", "primary shard is not active (injected by faultproxy)"),
    500: ("exception", "internal error (injected by faultproxy)"),
}
JSON_HEADERS = [("Content-Type", "application/json; charset=UTF-8"), ("X-Elastic-Product", "Elasticsearch")]


PASS = {"mode": "pass", "delay_ms": 0, "times": None, "match": None}


class ModeError(ValueError):
    pass


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_mode(cfg):
    """Validates and normalises a mode description (dict) -> dict; raises ModeError."""
    if not isinstance(cfg, dict):
        raise ModeError("mode must be a JSON object")
    cfg = dict(cfg)
    mode = cfg.pop("mode", "pass")
    if mode not in MODES:
        raise ModeError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
    out = {"mode": mode}

    def take(name, kind, default=None, check=None, why=""):
        value = cfg.pop(name, default)
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ModeError(f"{name} must be {kind.__name__}")
        if check and not check(value):
            raise ModeError(f"{name} {why}")
        return value

    out["delay_ms"] = take("delay_ms", int, 0, lambda v: 0 <= v <= 600_000, "must be 0..600000")
    out["times"] = take("times", int, None, lambda v: v > 0, "must be > 0 (omit for no limit)")
    match = take("match", str, BULK_PATH if mode == "bulk_items" else None)
    if match is not None:
        try:
            re.compile(match)
        except re.error as e:
            raise ModeError(f"match is not a regex: {e}") from None
    out["match"] = match

    if mode == "bulk_items":
        out["status"] = take("status", int, 429, lambda v: 400 <= v <= 599, "must be 400..599")
        items = cfg.pop("items", None)
        if items is not None and (
            not isinstance(items, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items)
        ):
            raise ModeError("items must be a list of item positions (0-based)")
        count = take("count", int, None, lambda v: v >= 0, "must be >= 0")
        share = take("share", float, None, lambda v: 0.0 <= v <= 1.0, "must be 0..1")
        if sum(x is not None for x in (items, count, share)) != 1:
            raise ModeError("bulk_items needs exactly one of items, count, share")
        out.update(items=items, count=count, share=share)
        out["pick"] = take("pick", str, "random", lambda v: v in ("first", "last", "random"), "is first, last or random")
        out["seed"] = cfg.pop("seed", None)
        out["error"] = take_error(cfg, out["status"])
    elif mode == "status":
        out["status"] = take("status", int, 503, lambda v: 400 <= v <= 599, "must be 400..599")
        out["forward"] = take("forward", bool, False)
        out["error"] = take_error(cfg, out["status"])
    elif mode == "disconnect":
        out["forward"] = take("forward", bool, False)
        out["reset"] = take("reset", bool, False)
    if cfg:
        raise ModeError(f"unknown option(s) for mode {mode}: {', '.join(sorted(cfg))}")
    return out


def take_error(cfg, status):
    error = cfg.pop("error", None)
    default_type, default_reason = ERROR_TYPES.get(status, ("status_exception", "injected by faultproxy"))
    if error is None:
        return {"type": default_type, "reason": default_reason}
    if not isinstance(error, dict) or not isinstance(error.get("type"), str):
        raise ModeError('error must be an object like {"type": "...", "reason": "..."}')
    return {"type": error["type"], "reason": str(error.get("reason", default_reason))}


class Stats:
    FIELDS = (
        "requests",  # non-admin requests received
        "forwarded",  # requests sent to the backend (a bulk_items request counts once)
        "backend_errors",  # backend unreachable or broken answer (answered 502)
        "delayed",
        "held",
        "status_injected",
        "disconnects",
        "bulk_requests",  # _bulk requests handled in bulk_items mode
        "bulk_items_seen",
        "bulk_items_injected",
        "bulk_items_forwarded",
    )

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = dict.fromkeys(self.FIELDS, 0)
            self.paths = {}

    def add(self, **kv):
        with self.lock:
            for k, v in kv.items():
                self.counts[k] += v

    def saw(self, method, path):
        with self.lock:
            self.counts["requests"] += 1
            key = f"{method} {path}"
            self.paths[key] = self.paths.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {**self.counts, "paths": dict(self.paths)}


class BulkItem:
    __slots__ = ("op", "meta", "action_line", "source_line")

    def __init__(self, op, meta, action_line, source_line):
        self.op, self.meta, self.action_line, self.source_line = op, meta, action_line, source_line

    def raw(self):
        return self.action_line + b"\n" + (b"" if self.source_line is None else self.source_line + b"\n")


def split_bulk(body):
    """NDJSON _bulk body -> [BulkItem], or None if it is not a well-formed bulk body."""
    lines = body.split(b"\n")
    items, i = [], 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except ValueError:
            return None
        if not isinstance(action, dict) or len(action) != 1:
            return None
        ((op, meta),) = action.items()
        if op not in ("index", "create", "update", "delete") or not isinstance(meta, (dict, type(None))):
            return None
        source = None
        if op != "delete":
            if i >= len(lines):
                return None
            source = lines[i]
            i += 1
        items.append(BulkItem(op, meta or {}, line, source))
    return items


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, proxy):
        self.proxy = proxy
        self.open_sockets = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        # A client that timed out or hung up is part of the tests, not an error of ours.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self):
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Elasticsearch clients expect
    timeout = 120  # idle keep-alive connections end eventually
    server_version = "faultproxy"

    def log_message(self, fmt, *args):
        if self.server.proxy.verbose:
            sys.stderr.write("faultproxy: %s %s\n" % (self.address_string(), fmt % args))

    # ------------------------------------------------------------ plumbing

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def forward_headers(self, drop=()):
        out = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP_BY_HOP or lk in ("host", "content-length", "expect") or lk in drop:
                continue
            out[k] = v
        out["Host"] = self.server.proxy.backend_netloc
        return out

    def forward(self, body, headers=None, path=None):
        """-> (status, reason, [(header, value)], body); raises OSError/HTTPException."""
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.backend_host, proxy.backend_port, timeout=proxy.backend_timeout)
        try:
            conn.request(
                self.command,
                path or self.path,
                body=body if body or self.command not in ("GET", "HEAD", "DELETE") else None,
                headers=headers if headers is not None else self.forward_headers(),
            )
            answer = conn.getresponse()
            data = answer.read()
            proxy.stats.add(forwarded=1)
            return answer.status, answer.reason, answer.getheaders(), data
        finally:
            conn.close()

    def respond(self, status, headers, body, reason=None):
        self.send_response(status, reason)
        head_length = None
        for k, v in headers:
            lk = k.lower()
            if lk == "content-length":
                head_length = v
                continue
            if lk in HOP_BY_HOP or lk in ("date", "server"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", head_length if head_length is not None else str(len(body)))
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def respond_json(self, status, obj):
        self.respond(status, JSON_HEADERS, json.dumps(obj, separators=(",", ":")).encode())

    def es_error(self, status, error):
        root = {"type": error["type"], "reason": error["reason"]}
        self.respond_json(status, {"error": {"root_cause": [root], **root}, "status": status})

    def drop_connection(self, reset):
        self.close_connection = True
        self.server.proxy.stats.add(disconnects=1)
        if reset:  # RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ------------------------------------------------------------ dispatch

    def handle_any(self):
        proxy = self.server.proxy
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/_fault" or path.startswith("/_fault/"):
            self.admin(path)
            return
        body = self.read_body()
        proxy.stats.saw(self.command, path)
        mode = proxy.take_mode(path)
        if mode["mode"] == "hold":
            proxy.stats.add(held=1)
            if proxy.stopping.wait(mode["delay_ms"] / 1000):
                self.drop_connection(reset=True)
                return
            mode = dict(mode, delay_ms=0)
        try:
            if mode["mode"] == "bulk_items":
                answer = self.bulk_items(mode, body, path)
            elif mode["mode"] == "status":
                if mode["forward"]:
                    self.forward(body)
                answer = None
            elif mode["mode"] == "disconnect":
                if mode["forward"]:
                    self.forward(body)
                answer = None
            else:
                status, reason, headers, data = self.forward(body)
                answer = (status, headers, data, reason)
        except (OSError, http.client.HTTPException) as e:
            proxy.stats.add(backend_errors=1)
            error = {"error": {"type": "faultproxy_backend_error", "reason": str(e)}, "status": 502}
            self.respond(502, [("Content-Type", "application/json")], json.dumps(error).encode())
            return

        if mode["delay_ms"]:
            proxy.stats.add(delayed=1)
            time.sleep(mode["delay_ms"] / 1000)
        if mode["mode"] == "disconnect":
            self.drop_connection(mode["reset"])
        elif mode["mode"] == "status":
            proxy.stats.add(status_injected=1)
            self.es_error(mode["status"], mode["error"])
        else:
            status, headers, data, reason = answer
            self.respond(status, headers, data, reason)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any

    # ------------------------------------------------------------ bulk_items

    def bulk_items(self, mode, body, path):
        """-> (status, headers, body, reason) to send back."""
        proxy = self.server.proxy
        encoding = self.headers.get("Content-Encoding", "").lower()
        plain = body
        if encoding == "gzip":
            try:
                plain = gzip.decompress(body)
            except (OSError, EOFError):
                plain = None
        elif encoding not in ("", "identity"):
            plain = None
        items = split_bulk(plain) if plain is not None else None
        if not items:  # not a bulk body we understand (or empty): let the backend judge it
            status, reason, headers, data = self.forward(body)
            return status, headers, data, reason

        segments = [s for s in path.split("/") if s]
        default_index = urllib.parse.unquote(segments[0]) if len(segments) == 2 else None
        chosen = proxy.choose(mode, len(items))
        kept = [item for n, item in enumerate(items) if n not in chosen]
        proxy.stats.add(
            bulk_requests=1, bulk_items_seen=len(items), bulk_items_injected=len(chosen), bulk_items_forwarded=len(kept)
        )

        backend = {"errors": False, "took": 0, "items": []}
        headers = JSON_HEADERS
        if kept:
            subset = b"".join(item.raw() for item in kept)
            if encoding == "gzip":
                subset = gzip.compress(subset)
            status, reason, headers, data = self.forward(subset, self.forward_headers(drop=("accept-encoding",)))
            if status != 200:
                return status, headers, data, reason  # a whole-request failure: pass it on
            try:
                backend = json.loads(data)
                if len(backend["items"]) != len(kept):
                    raise ValueError(f"backend answered {len(backend['items'])} items for {len(kept)}")
            except (ValueError, KeyError, TypeError) as e:
                raise http.client.HTTPException(f"cannot merge the backend's _bulk answer: {e}") from None
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]

        answers = iter(backend["items"])
        merged = []
        for n, item in enumerate(items):
            if n not in chosen:
                merged.append(next(answers))
                continue
            result = {"_index": item.meta.get("_index", default_index)}
            if "_id" in item.meta:
                result["_id"] = item.meta["_id"]
            result["status"] = mode["status"]
            result["error"] = dict(mode["error"])
            merged.append({item.op: result})
        out = dict(backend)
        out["errors"] = bool(chosen) or bool(backend.get("errors"))
        out["items"] = merged
        return 200, headers, json.dumps(out, separators=(",", ":")).encode(), None

    # ------------------------------------------------------------ admin

    def admin(self, path):
        proxy = self.server.proxy
        body = self.read_body()
        if path == "/_fault/mode" and self.command == "GET":
            self.respond_json(200, proxy.mode())
        elif path == "/_fault/mode" and self.command in ("POST", "PUT"):
            try:
                cfg = json.loads(body or b"{}")
                self.respond_json(200, proxy.set_mode_dict(cfg))
            except (ValueError, ModeError) as e:
                self.respond_json(400, {"error": str(e)})
        elif path == "/_fault/stats" and self.command == "GET":
            self.respond_json(200, proxy.stats.snapshot())
        elif path == "/_fault/reset" and self.command == "POST":
            proxy.reset()
            self.respond_json(200, {"mode": proxy.mode(), "stats": proxy.stats.snapshot()})
        else:
            self.respond_json(404, {"error": f"no admin endpoint {self.command} {path}"})


class FaultProxy:
    """The proxy as an object: start() serves on a thread, stop() ends it and its connections."""

    def __init__(self, backend, listen="127.0.0.1:0", backend_timeout=120.0, verbose=False, tls=None):
        """`tls`: an ssl.SSLContext (server side) to serve https:// with; the backend stays http."""
        target = urllib.parse.urlsplit(backend)
        if target.scheme != "http" or not target.hostname:
            raise ValueError(f"backend must be an http:// URL, got {backend!r}")
        if not is_loopback(target.hostname):
            raise ValueError(f"backend must be on a loopback address, got {target.hostname}")
        self.backend_host = target.hostname
        self.backend_port = target.port or 80
        self.backend_netloc = target.netloc
        self.backend_timeout = backend_timeout
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if not is_loopback(host):
            raise ValueError(f"faultproxy listens on loopback only, not {host!r}")
        self.verbose = verbose
        self.stats = Stats()
        self._lock = threading.Lock()
        self._mode = dict(PASS)
        self._rng = random.Random()
        self.stopping = threading.Event()  # ends the waits of held requests
        self._server = _Server((host, int(port)), self)
        self.scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = None

    @property
    def host(self):
        return self._server.server_address[0]

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"{self.scheme}://{self.host}:{self.port}"

    # -------------------------------------------------------------- mode

    def set_mode(self, mode="pass", **options):
        """Same options as POST /_fault/mode; returns the normalised mode."""
        return self.set_mode_dict({"mode": mode, **options})

    def set_mode_dict(self, cfg):
        parsed = parse_mode(cfg)
        with self._lock:
            self._mode = parsed
            self._rng = random.Random(parsed.get("seed"))
        return dict(parsed)

    def mode(self):
        with self._lock:
            return dict(self._mode)

    def reset(self):
        self.set_mode("pass")
        self.stats.reset()

    def take_mode(self, path):
        """The mode that applies to a request for `path`; counts down `times`."""
        with self._lock:
            mode = self._mode
            if mode["mode"] == "pass":
                return dict(mode)
            if mode["match"] and not re.search(mode["match"], path):
                return dict(PASS)
            if mode["times"] is not None:
                remaining = mode["times"] - 1
                self._mode = dict(mode, times=remaining) if remaining > 0 else dict(PASS)
            return dict(mode)

    def choose(self, mode, n):
        """Positions (0-based) of the items of an n-item bulk request to fail."""
        if mode["items"] is not None:
            return {i for i in mode["items"] if i < n}
        k = mode["count"] if mode["count"] is not None else int(mode["share"] * n + 0.5)
        k = min(k, n)
        if mode["pick"] == "first":
            return set(range(k))
        if mode["pick"] == "last":
            return set(range(n - k, n))
        with self._lock:
            return set(self._rng.sample(range(n), k))

    # -------------------------------------------------------------- life cycle

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="faultproxy", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self):
        self._server.serve_forever(poll_interval=0.05)

    def stop(self):
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.close_all_connections()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:9201", help="loopback host:port (port 0: any free port)")
    parser.add_argument("--backend", default="http://127.0.0.1:9200", help="Elasticsearch URL on loopback")
    parser.add_argument("--mode", default=None, help='initial mode as JSON, e.g. \'{"mode": "status", "status": 503}\'')
    parser.add_argument("--backend-timeout", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        proxy = FaultProxy(args.backend, args.listen, args.backend_timeout, args.verbose)
        if args.mode:
            proxy.set_mode_dict(json.loads(args.mode))
    except (ValueError, ModeError, OSError) as e:
        parser.exit(2, f"faultproxy: {e}\n")

    def on_signal(signum, frame):
        threading.Thread(target=proxy._server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"faultproxy: {proxy.url} -> {args.backend} (admin: {proxy.url}/_fault/mode)", file=sys.stderr, flush=True)
    proxy.serve_forever()
    proxy.stop()
    print("faultproxy: stopped", file=sys.stderr)


if __name__ == "__main__":
    main()
