"""The whole pipeline against the local stack, as `infra/local/demo` runs it at full size: the
producer Lambda under `cargo lambda watch` publishes generated lines, bad lines are produced
straight to the topic beside them, `logpipe esm` (the stand-in for Lambda's Kafka event-source
mapping) polls the topic with a consumer group and invokes the indexer Lambda through the
Invoke API, and Elasticsearch ends up with every record once: indexed or dead-lettered.

Each test has its own topic, consumer groups and indices, so it starts from a known state.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
from lambda_emulator import LambdaEmulator

ROOT = Path(__file__).resolve().parent.parent
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
GOOD_LINES = 3000
# What the indexer must dead-letter, each for its own reason: not a log line, an impossible
# date, bytes that are not UTF-8, and a record without a value (the event carries no `value`).
BAD_VALUES = [
    b"not an access log",
    b'1.2.3.4 - - [Feb 30 2026, 10:00:00] "GET / HTTP/1.1" 200 5 "-" "x"',
    b"\xff\xfe binary",
    None,
]


@pytest.fixture
def pipeline():
    """A fresh topic (3 partitions) and index pair, as the Lambdas' environment."""
    run = uuid.uuid4().hex[:10]
    env = dict(os.environ, KAFKA_TOPIC=f"e2e-{run}", ELASTICSEARCH_INDEX=f"e2e-{run}",
               ELASTICSEARCH_DEADLETTER_INDEX=f"e2e-{run}-dead", RUST_LOG="warn")
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(env["KAFKA_TOPIC"], 3, 1)]).values():
        future.result(15)
    yield env
    for index in (env["ELASTICSEARCH_INDEX"], env["ELASTICSEARCH_DEADLETTER_INDEX"]):
        eshttp.delete_index(index)


def produce_bad_records(topic):
    """BAD_VALUES straight to the topic; their (partition, offset)s."""
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    placed = []
    for value in BAD_VALUES:
        producer.produce(topic, value, on_delivery=lambda err, msg: placed.append(
            (err, msg.partition(), msg.offset())))
    assert producer.flush(30) == 0
    assert [err for err, _, _ in placed] == [None] * len(BAD_VALUES)
    return {(partition, offset) for _, partition, offset in placed}


def esm(env, lambdas, group, *args):
    """`logpipe esm` against the emulator's indexer; its report."""
    done = subprocess.run(
        [LOGPIPE, "esm", "-q", "--endpoint", f"http://127.0.0.1:{lambdas.port}", "--function", "indexer",
         "--group", group, "--idle-seconds", "2", "--max-seconds", "240", *args],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + lambdas.function_log()[-3000:]
    return json.loads(done.stdout)


def documents(index):
    """{_id: source} of the index; fails on a duplicate _id."""
    eshttp.refresh(index)
    answer = eshttp.call("POST", f"/{index}/_search", {"query": {"match_all": {}}, "size": 10_000})
    assert answer.status == 200, answer
    hits = answer.json()["hits"]["hits"]
    by_id = {hit["_id"]: hit["_source"] for hit in hits}
    assert len(by_id) == len(hits), "duplicate _id"
    return by_id


def test_every_record_is_indexed_or_dead_lettered_once_even_after_a_replay(pipeline):
    topic = pipeline["KAFKA_TOPIC"]
    with LambdaEmulator(env=pipeline) as lambdas:
        # The producer Lambda, invoked twice as the DAG would, one timeline.
        first = lambdas.invoke("producer", {"count": 2000, "seed": 5, "start": "2026-01-21T22:00:00", "rate": 100})
        second = lambdas.invoke("producer", {"count": GOOD_LINES - 2000, "seed": 6,
                                             "start": "2026-01-21T22:00:20", "rate": 100})
        assert (first["produced"], second["produced"]) == (2000, GOOD_LINES - 2000)
        bad = produce_bad_records(topic)
        total = GOOD_LINES + len(BAD_VALUES)

        # Small events, so that a run takes several (Lambda's limit is 10,000 records, 6 MB).
        report = esm(pipeline, lambdas, f"{topic}-esm", "--batch-size", "1000")
        assert (report["records"], report["delivered"], report["failed"]) == (total, total, 0)
        assert report["events"] >= 4 and report["stopped"] == "caught_up"
        # The topic is new: committed offsets count what it holds.
        assert sum(report["committed"].values()) == total

        indexed = documents(pipeline["ELASTICSEARCH_INDEX"])
        letters = documents(pipeline["ELASTICSEARCH_DEADLETTER_INDEX"])
        # Records in = indexed + dead-lettered, and the dead letters are exactly the bad records.
        assert (len(indexed), len(letters)) == (GOOD_LINES, len(BAD_VALUES))
        assert {(d["kafka"]["partition"], d["kafka"]["offset"]) for d in letters.values()} == bad
        assert {d["stage"] for d in letters.values()} == {"parse", "decode"}
        assert all(doc["kafka"]["topic"] == topic and doc["timestamp"].startswith("2026-01-21T22:")
                   for doc in indexed.values())

        # The same group has nothing left: offsets were committed.
        assert esm(pipeline, lambdas, f"{topic}-esm")["records"] == 0

        # A replay over the same offsets (a new group starts at the earliest), as self-managed
        # Kafka events this time: everything is delivered again, nothing is duplicated.
        replay = esm(pipeline, lambdas, f"{topic}-replay", "--source", "self-managed")
        assert (replay["records"], replay["failed"]) == (total, 0)
    assert documents(pipeline["ELASTICSEARCH_INDEX"]).keys() == indexed.keys()
    assert documents(pipeline["ELASTICSEARCH_DEADLETTER_INDEX"]).keys() == letters.keys()


def test_the_summary_reads_back_what_was_indexed(pipeline):
    with LambdaEmulator(env=pipeline) as lambdas:
        lambdas.invoke("producer", {"count": 500, "seed": 9, "start": "2026-01-21T22:00:00", "rate": 5})
        produce_bad_records(pipeline["KAFKA_TOPIC"])
        esm(pipeline, lambdas, f"{pipeline['KAFKA_TOPIC']}-esm")
    done = subprocess.run([LOGPIPE, "summary", "--records", "504", "--seconds", "2"], env=pipeline,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    index = pipeline["ELASTICSEARCH_INDEX"]
    assert f"{index}: 500 documents indexed; {index}-dead: 4 dead letters (parse: 3, decode: 1)" in out
    assert "end to end: 504 records in 2.0 s, 252 records/s" in out
    # The original generator's statuses and endpoints; 500 lines at 5 a second span 2 minutes.
    statuses = out.split("requests per status code\n")[1].split("\n\n")[0].splitlines()
    assert sorted(line.split()[0] for line in statuses) == ["200", "301", "302", "400", "404", "500"]
    assert sum(int(line.split()[1]) for line in statuses) == 500
    minutes = out.split("requests per minute (timestamp, UTC)\n")[1].strip().splitlines()
    assert [line.split()[1] for line in minutes] == ["22:00", "22:01"]
    assert sum(int(line.split()[2].replace(",", "")) for line in minutes) == 500
