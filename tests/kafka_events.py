"""Helpers for the indexer's tests: Kafka records in and out of the local broker, Lambda
Kafka events (MSK `aws:kafka` and `SelfManagedKafka`) built from them, `logpipe index` on
such an event, and what ended up in Elasticsearch.

Standard library plus confluent-kafka (infra/local/requirements.txt). Settings come from
the environment `eval "$(infra/local/stack env)"` sets, with the stack's defaults as
fallback; nothing here skips when a server is down: the call fails.
"""

import base64
import json
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

import eshttp

ROOT = Path(__file__).resolve().parent.parent
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
TOPIC = os.environ.get("KAFKA_TOPIC", "billion_website_logs")
ES_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200").rstrip("/")

MSK = "aws:kafka"
SELF_MANAGED = "SelfManagedKafka"
MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/logpipe-test/abcd1234-ab12-cd34-ef56-abcdef123456-1"

# Marks a record whose event entry has no "value" key at all (as opposed to "value": null).
MISSING = object()


# ------------------------------------------------------------------ records


@dataclass
class KRecord:
    """One Kafka record as a Lambda event carries it.

    `value`: bytes (base64-encoded into the event), None (`"value": null`), MISSING (no
    key), or a str put into the event as is (e.g. something that is not base64).
    `null_topic`: the record's own `topic` is null; the event still keys it
    `<topic>-<partition>`. `extra`: fields merged over the record's JSON (to break it).
    """

    topic: str
    partition: int
    offset: int
    value: object
    key: bytes | None = None
    timestamp: int = 0
    headers: list = field(default_factory=list)  # [(name, bytes)]
    null_topic: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def batch_key(self):
        return f"{self.topic}-{self.partition}"

    @property
    def doc_id(self):
        return f"{self.topic}-{self.partition}-{self.offset}"

    def but(self, **changes):
        return replace(self, **changes)


def signed_bytes(data: bytes):
    """Lambda gives header values as arrays of signed bytes (Java's byte)."""
    return [b - 256 if b > 127 else b for b in data]


def produce(values, *, keys=None, headers=None, partition=None, topic=TOPIC, timeout=30):
    """Publishes `values` (bytes, or None for a null value) with confluent-kafka.

    keys: bytes per value (None: no key). headers: [(name, bytes)] per value.
    partition: force one partition (None: by key).
    Returns the delivered records as KRecord, in the order of `values`, each with the
    partition and offset of its delivery report.
    """
    producer = Producer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": 5,
        }
    )
    reports, errors = {}, []
    now_ms = int(time.time() * 1000)

    def delivered(n):
        def callback(err, msg):
            if err is not None:
                errors.append(err)
            else:
                reports[n] = (msg.partition(), msg.offset(), msg.timestamp()[1])

        return callback

    for n, value in enumerate(values):
        kwargs = {"key": keys[n] if keys else None, "value": value, "on_delivery": delivered(n)}
        if headers and headers[n]:
            kwargs["headers"] = headers[n]
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(timeout)
    assert left == 0, f"{left} messages still queued after {timeout} s"
    assert errors == [], errors
    assert len(reports) == len(values)
    out = []
    for n, value in enumerate(values):
        p, off, ts = reports[n]
        out.append(
            KRecord(
                topic,
                p,
                off,
                value,
                key=keys[n] if keys else None,
                timestamp=ts if ts > 0 else now_ms,
                headers=list(headers[n]) if headers and headers[n] else [],
            )
        )
    return out


def consume(ranges, *, topic=TOPIC, timeout=30):
    """Reads records back by assigning partitions directly (no group join: ~20 s on tansu).

    ranges: {partition: (first_offset, last_offset)} inclusive. Returns KRecords sorted by
    (partition, offset), with key, value, timestamp and headers as the broker holds them.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"indexer-test-{uuid.uuid4().hex}",  # required, unused without subscribe()
            "enable.auto.commit": False,
        }
    )
    wanted = sum(last - first + 1 for first, last in ranges.values())
    got = {}
    deadline = time.monotonic() + timeout
    try:
        consumer.assign([TopicPartition(topic, p, first) for p, (first, _) in ranges.items()])
        while len(got) < wanted and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                assert msg.error() is None, msg.error()
                p, off = msg.partition(), msg.offset()
                first, last = ranges[p]
                if first <= off <= last:
                    got[(p, off)] = KRecord(
                        msg.topic(),
                        p,
                        off,
                        msg.value(),
                        key=msg.key(),
                        timestamp=msg.timestamp()[1],
                        headers=list(msg.headers() or []),
                    )
    finally:
        consumer.close()
    assert len(got) == wanted, f"read {len(got)} of {wanted} records back within {timeout} s"
    return [got[k] for k in sorted(got)]


def ranges_of(records):
    """{partition: (min offset, max offset)} of KRecords."""
    out = {}
    for r in records:
        lo, hi = out.get(r.partition, (r.offset, r.offset))
        out[r.partition] = (min(lo, r.offset), max(hi, r.offset))
    return out


def generate_lines(count, seed, start="2026-01-21T22:23:40"):
    """`logpipe generate` lines (bytes, without newline)."""
    done = subprocess.run(
        [str(LOGPIPE), "generate", "--count", str(count), "--seed", str(seed), "--start", start],
        capture_output=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.split(b"\n")
    assert lines[-1] == b""
    return lines[:-1]


def parse_lines(lines):
    """`logpipe parse` of each line: [(document dict, None) or (None, rejection reason)],
    in order."""
    done = subprocess.run(
        [str(LOGPIPE), "parse"],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode in (0, 2), done.stderr
    docs = [json.loads(x) for x in done.stdout.splitlines()]
    rejected = {}
    for x in done.stderr.splitlines():
        if x.startswith(b"{"):
            rejection = json.loads(x)
            rejected[rejection["line"]] = rejection["reason"]
    out, it = [], iter(docs)
    for n in range(1, len(lines) + 1):
        out.append((None, rejected[n]) if n in rejected else (next(it), None))
    assert next(it, None) is None
    return out


# ------------------------------------------------------------------ events


def wire_record(r: KRecord):
    """The record's JSON as Lambda's event-source mapping delivers it."""
    out = {
        "topic": None if r.null_topic else r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestampType": "CREATE_TIME",
        "key": None if r.key is None else base64.b64encode(r.key).decode(),
        "headers": [{name: signed_bytes(value or b"")} for name, value in r.headers],
    }
    if r.value is MISSING:
        pass
    elif r.value is None or isinstance(r.value, str):
        out["value"] = r.value
    else:
        out["value"] = base64.b64encode(r.value).decode()
    out.update(r.extra)
    return out


def build_event(records, source=MSK, *, bootstrap=None):
    """An event-source mapping event of `records`, grouped by `<topic>-<partition>` in
    first-seen order, each group in the given order."""
    groups = {}
    for r in records:
        groups.setdefault(r.batch_key, []).append(wire_record(r))
    event = {"eventSource": source}
    if source == MSK:
        event["eventSourceArn"] = MSK_ARN
    event["bootstrapServers"] = bootstrap or BOOTSTRAP
    event["records"] = groups
    return event


# ------------------------------------------------------------------ logpipe index


@dataclass
class IndexRun:
    code: int
    out: dict | None  # the JSON on stdout, None when there was none
    stderr: str
    seconds: float

    @property
    def report(self):
        return self.out["report"]

    @property
    def failures(self):
        """batchItemFailures as [(partition string, offset)], in order."""
        return [
            (f["itemIdentifier"]["partition"], f["itemIdentifier"]["offset"])
            for f in self.out["response"]["batchItemFailures"]
        ]


def index_env(index, *, es_url=None, deadletter=None, unset=(), **settings):
    """The environment of a `logpipe index` run: ours, with the index names, the URL and
    any other setting (ELASTICSEARCH_BULK_MAX_BYTES="65536", ...) given as str."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["ELASTICSEARCH_INDEX"] = index
    env["ELASTICSEARCH_DEADLETTER_INDEX"] = deadletter or f"{index}-deadletter"
    if es_url is not None:
        env["ELASTICSEARCH_URL"] = es_url
    env.setdefault("RUST_LOG", "warn")
    env.update({k: str(v) for k, v in settings.items()})
    return env


def run_index(event, env, *, cli_timeout=None, timeout=120):
    """Runs `logpipe index --event <tmp file>`; returns IndexRun. `cli_timeout` is
    `--timeout` (the handler's deadline), `timeout` bounds the process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="event-", delete=False) as f:
        json.dump(event, f)
        path = f.name
    try:
        args = [str(LOGPIPE), "index", "--event", path]
        if cli_timeout is not None:
            args += ["--timeout", str(cli_timeout)]
        started = time.monotonic()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        seconds = time.monotonic() - started
    finally:
        os.unlink(path)
    try:
        out = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        out = None
    return IndexRun(done.returncode, out, done.stderr, seconds)


# ------------------------------------------------------------------ Elasticsearch


def unique_index(prefix="logs"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def count(index, base=ES_URL):
    """Documents in `index` (0 when it does not exist), after a refresh."""
    if eshttp.call("HEAD", f"/{index}", base=base).status == 404:
        return 0
    return eshttp.count(index, base=base)


def get_doc(index, doc_id, base=ES_URL):
    """The stored document (`_source`, `_version` added) or None."""
    answer = eshttp.call("GET", f"/{index}/_doc/{doc_id}", base=base)
    if answer.status == 404:
        return None
    assert answer.status == 200, answer
    body = answer.json()
    return {**body["_source"], "_version": body.get("_version")}


def all_docs(index, base=ES_URL, limit=10_000):
    """{_id: _source} of every document in `index` ({} when it does not exist)."""
    if eshttp.call("HEAD", f"/{index}", base=base).status == 404:
        return {}
    eshttp.refresh(index, base=base)
    answer = eshttp.call("POST", f"/{index}/_search", {"query": {"match_all": {}}, "size": limit}, base=base)
    assert answer.status == 200, answer
    hits = answer.json()["hits"]["hits"]
    out = {h["_id"]: h["_source"] for h in hits}
    assert len(out) == len(hits), "duplicate _id in search hits"
    return out


def dead_letters(index, base=ES_URL):
    """{_id: dead letter} of the dead-letter index `index`."""
    return all_docs(index, base=base)


def drop_index(index, base=ES_URL):
    """Deletes the index and the template logpipe installed for it."""
    eshttp.call("DELETE", f"/{index}", base=base)
    eshttp.call("DELETE", f"/_index_template/logpipe-{index}", base=base)


# ------------------------------------------------------------------ fault proxy extras


def record_requests(proxy):
    """Makes a faultproxy.FaultProxy note every request it receives: returns a list that
    fills with dicts {method, path, encoding, authorization, length} (length: bytes of
    the body as received).

    The proxy's stats count requests but not their encoding or size, which the sizing
    tests need; this wraps its request handler class, nothing else changes.
    """
    seen = []
    base = proxy._server.RequestHandlerClass

    class Recording(base):
        def read_body(self):
            body = super().read_body()
            if not self.path.startswith("/_fault"):
                seen.append(
                    {
                        "method": self.command,
                        "path": self.path.split("?")[0],
                        "encoding": self.headers.get("Content-Encoding", ""),
                        "authorization": self.headers.get("Authorization"),
                        "length": len(body),
                    }
                )
            return body

    proxy._server.RequestHandlerClass = Recording
    return seen
