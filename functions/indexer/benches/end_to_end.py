"""End-to-end indexing throughput into the local Elasticsearch-API server, side by side with
what that server takes at all:

  logpipe index   the indexer's handler (release `logpipe index --event`) on Lambda Kafka
                  events of 10,000 records: decode, parse, `_bulk` create with ids, answers
                  classified; `report.elapsed_ms` (process start and cold-start template
                  check excluded)
  server ceiling  the same documents, already made, posted as `_bulk` bodies of 5,000 by a
                  plain HTTP client: the stand-in's own bound

With the stack started and its env loaded (`make bench-indexer` does both):

    python functions/indexer/benches/end_to_end.py --events 5
"""

import argparse
import base64
import json
import os
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LOGPIPE = ROOT / "target" / "release" / "logpipe"
ES_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200").rstrip("/")
RECORDS = 10_000
TOPIC = "billion_website_logs"


def lines(count, seed):
    out = subprocess.run([LOGPIPE, "generate", "-n", str(count), "--seed", str(seed),
                          "--start", "2026-01-21T22:23:40"], capture_output=True, check=True)
    return out.stdout.splitlines()


def event(batch, first_offset):
    groups = {}
    for i, line in enumerate(batch):
        partition = i % 3
        groups.setdefault(f"{TOPIC}-{partition}", []).append({
            "topic": TOPIC, "partition": partition, "offset": first_offset + i,
            "timestamp": 1769034220000, "timestampType": "CREATE_TIME",
            "key": base64.b64encode(line.split(b" ", 1)[0]).decode(),
            "value": base64.b64encode(line).decode(), "headers": [],
        })
    return {"eventSource": "aws:kafka", "bootstrapServers": "127.0.0.1:9092", "records": groups}


def http(method, path, body=None):
    request = urllib.request.Request(ES_URL + path, data=body, method=method,
                                     headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read() or b"{}")


def run_logpipe(events, index):
    env = dict(os.environ, ELASTICSEARCH_INDEX=index, ELASTICSEARCH_DEADLETTER_INDEX=f"{index}-dead")
    records, ms = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, ev in enumerate(events):
            path = Path(tmp, f"event-{n}.json")
            path.write_text(json.dumps(ev))
            done = subprocess.run([LOGPIPE, "index", "--event", str(path)], env=env, capture_output=True,
                                  text=True, timeout=300)
            report = json.loads(done.stdout)["report"]
            assert done.returncode == 0 and report["indexed"] == RECORDS, done.stderr
            records += report["records"]
            ms += report["elapsed_ms"]
    return records, ms / 1000


def run_ceiling(batches, index):
    """The documents `logpipe parse` makes of the same lines, posted with ids by plain HTTP."""
    bodies = []
    for n, batch in enumerate(batches):
        docs = subprocess.run([LOGPIPE, "parse"], input=b"\n".join(batch) + b"\n", capture_output=True,
                              check=True).stdout.splitlines()
        for start in range(0, len(docs), 5000):
            body = b""
            for i, doc in enumerate(docs[start:start + 5000], start):
                action = {"create": {"_index": index, "_id": f"{TOPIC}-{i % 3}-{n * RECORDS + i}"}}
                body += json.dumps(action).encode() + b"\n" + doc + b"\n"
            bodies.append(body)
    started = time.perf_counter()
    for body in bodies:
        answer = http("POST", "/_bulk?filter_path=errors", body)
        assert answer.get("errors") is False, answer
    return sum(len(b) for b in batches), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    batches = [lines(RECORDS, seed) for seed in range(args.events)]
    events = [event(batch, n * RECORDS) for n, batch in enumerate(batches)]
    results = [("logpipe index (10,000-record events)", *run_logpipe(events, f"bench-{run}")),
               ("server ceiling (premade _bulk bodies)", *run_ceiling(batches, f"bench-{run}-ceiling"))]
    for index in (f"bench-{run}", f"bench-{run}-dead", f"bench-{run}-ceiling"):
        try:
            http("DELETE", f"/{index}")
        except urllib.error.HTTPError:
            pass
    print(f"Elasticsearch API at {ES_URL}; {os.cpu_count()} cores\n")
    print("| indexer | records | seconds | records/s |")
    print("|---|---:|---:|---:|")
    for name, n, s in results:
        print(f"| {name} | {n:,} | {s:.2f} | {n / s:,.0f} |")


if __name__ == "__main__":
    main()
