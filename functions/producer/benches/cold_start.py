"""Cold start of the Lambdas: process start to the first handled invocation.

Stands in for Lambda's Runtime API (the HTTP interface a custom runtime polls: `next`,
`response`, `error`) on 127.0.0.1, starts the release binary with the configuration in
the Secrets Manager emulator (SECRET_NAME=MWAA_Secrets_V2, no Kafka or Elasticsearch
setting in the environment), hands it one invocation and times

  init     process start to its first `invocation/next` request (secret read, clients
           built, templates installed): Lambda's Init Duration
  first    process start to the answer of that invocation

over --runs fresh processes. With the stack started and its env loaded:

    python functions/producer/benches/cold_start.py --function producer
    python functions/producer/benches/cold_start.py --function indexer
"""

import argparse
import base64
import http.server
import json
import os
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PAYLOADS = {
    # One line: the invocation includes a real round trip to the broker.
    "producer": {"count": 1, "seed": 1},
    # One good record: one `_bulk` round trip.
    "indexer": {
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/local/abc",
        "records": {
            "billion_website_logs-0": [{
                "topic": "billion_website_logs", "partition": 0, "offset": 0,
                "timestamp": 1769034220000, "timestampType": "CREATE_TIME",
                "value": base64.b64encode(
                    b'9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 '
                    b'"https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"').decode(),
                "headers": [],
            }],
        },
    },
}


class RuntimeApi(http.server.ThreadingHTTPServer):
    """One invocation, then every later `next` waits until the process is stopped."""

    def __init__(self, payload):
        super().__init__(("127.0.0.1", 0), Handler)
        self.payload = json.dumps(payload).encode()
        self.request_id = str(uuid.uuid4())
        self.first_next = None
        self.answered = None
        self.answer = None
        self.handed_out = False
        self.done = threading.Event()

    def handle_error(self, request, client_address):
        pass  # the function's process is killed while its next `next` waits: expected


class Handler(http.server.BaseHTTPRequestHandler):
    server: RuntimeApi

    def log_message(self, *args):
        pass

    def do_GET(self):
        api = self.server
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404, b"{}")
        if api.handed_out:
            api.done.wait(30)  # the process is stopped while waiting here
            return self.reply(503, b"{}")
        api.first_next = time.perf_counter()
        api.handed_out = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", api.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:cold-start")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(api.payload)))
        self.end_headers()
        self.wfile.write(api.payload)

    def do_POST(self):
        api = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        api.answered = time.perf_counter()
        api.answer = (self.path.rsplit("/", 1)[-1], body)  # response | error
        self.reply(202, b'{"status":"OK"}')
        api.done.set()

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def cold_start(binary, function, env):
    api = RuntimeApi(PAYLOADS[function])
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME=function, AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769")
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not api.done.wait(30):
            raise SystemExit(f"{function}: no answer within 30 s: {process.stderr.read1().decode()}")
    finally:
        process.kill()
        process.wait()
        api.shutdown()
        api.server_close()
    kind, body = api.answer
    if kind != "response":
        raise SystemExit(f"{function} answered an error: {body.decode()}")
    return (api.first_next - started) * 1000, (api.answered - started) * 1000, json.loads(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--function", choices=sorted(PAYLOADS), default="producer")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--secret", default="MWAA_Secrets_V2")
    parser.add_argument("--binary", type=Path,
                        help="the binary to start (default: target/release/<function>); "
                             "to compare two builds in the same hour")
    args = parser.parse_args()
    binary = args.binary or ROOT / "target" / "release" / args.function

    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVER", "ELASTICSEARCH_URL", "ELASTICSEARCH_API_KEY")}
    env["SECRET_NAME"] = args.secret
    inits, firsts = [], []
    for _ in range(args.runs):
        init, first, answer = cold_start(binary, args.function, env)
        inits.append(init)
        firsts.append(first)
    last = json.dumps(answer)
    print(f"{args.function} ({binary}): {args.runs} cold starts, secret `{args.secret}` from {env.get('AWS_ENDPOINT_URL')}")
    for name, values in (("init (to first `next`)", inits), ("first invocation answered", firsts)):
        values.sort()
        print(f"  {name:28} median {statistics.median(values):6.1f} ms   "
              f"p90 {values[int(0.9 * (len(values) - 1))]:6.1f} ms   max {values[-1]:6.1f} ms")
    print(f"  last answer: {last[:200]}")


if __name__ == "__main__":
    main()
