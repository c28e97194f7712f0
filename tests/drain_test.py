"""The indexer's drain mode against the local stack: `logpipe drain` and the indexer Lambda
asked `{"drain": {...}}` read the topic as a consumer group, index through the same path as
events, commit only what they placed, and resume from there after a stop or a crash:
nothing lost, nothing twice.

Each test has its own topic, consumer group and indices, so it starts from a known state.
"""

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
from kafka_front import broker_behind_front
from lambda_emulator import LambdaEmulator

ROOT = Path(__file__).resolve().parent.parent
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
BAD_LINES = [b"not an access log", b'1.2.3.4 - - [Feb 30 2026, 10:00:00] "GET / HTTP/1.1" 200 5 "-" "x"',
             b"\xff\xfe binary"]


@pytest.fixture
def pipeline():
    """A fresh topic (3 partitions), group and index pair, as environment variables."""
    run = uuid.uuid4().hex[:10]
    env = dict(os.environ, KAFKA_TOPIC=f"drain-{run}", KAFKA_GROUP_ID=f"drain-{run}",
               ELASTICSEARCH_INDEX=f"drain-{run}", ELASTICSEARCH_DEADLETTER_INDEX=f"drain-{run}-dead")
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(env["KAFKA_TOPIC"], 3, 1)]).values():
        future.result(15)
    yield env
    for index in (env["ELASTICSEARCH_INDEX"], env["ELASTICSEARCH_DEADLETTER_INDEX"]):
        eshttp.delete_index(index)


def publish(env, count, seed):
    """`count` generated lines plus BAD_LINES, into the pipeline's topic."""
    done = subprocess.run([LOGPIPE, "produce", "-q", "-n", str(count), "--seed", str(seed)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for line in BAD_LINES:
        producer.produce(env["KAFKA_TOPIC"], line)
    assert producer.flush(30) == 0


def drain(env, *args, timeout=180):
    done = subprocess.run([LOGPIPE, "drain", "-q", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def indexed_so_far(index):
    """Documents in `index`, 0 while it does not exist yet."""
    answer = eshttp.call("GET", f"/{index}/_count")
    return answer.json()["count"] if answer.status == 200 else 0


def counts(env):
    return eshttp.count(env["ELASTICSEARCH_INDEX"]), eshttp.count(env["ELASTICSEARCH_DEADLETTER_INDEX"])


def test_a_drain_stopped_at_its_limit_resumes_where_it_stopped(pipeline):
    publish(pipeline, 3000, seed=31)
    first = drain(pipeline, "--max-records", "1000")
    assert (first["records"], first["stopped"]) == (1000, "max_records")
    assert first["indexed"] + first["dead_lettered"] == 1000

    rest = drain(pipeline)
    assert rest["stopped"] == "caught_up"
    # Resumed from the committed offsets: every record read once in all.
    assert first["records"] + rest["records"] == 3000 + len(BAD_LINES)
    assert counts(pipeline) == (3000, len(BAD_LINES))
    # Offsets committed past every record: the records per partition add up.
    committed = {**first["committed"], **rest["committed"]}
    assert sum(committed.values()) == 3000 + len(BAD_LINES)

    # Caught up: a further drain finds nothing and changes nothing.
    again = drain(pipeline, "--idle-seconds", "1")
    assert (again["records"], again["stopped"]) == (0, "caught_up")
    assert counts(pipeline) == (3000, len(BAD_LINES))


def test_a_drain_killed_mid_way_loses_nothing_and_duplicates_nothing(pipeline):
    total = 40_000
    publish(pipeline, total, seed=32)
    process = subprocess.Popen([LOGPIPE, "drain", "-q"], env=pipeline, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    # Kill it once some, not all, documents are in.
    deadline = time.monotonic() + 120
    while indexed_so_far(pipeline["ELASTICSEARCH_INDEX"]) == 0 and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    indexed_before_restart = eshttp.count(pipeline["ELASTICSEARCH_INDEX"])
    assert 0 < indexed_before_restart < total, "the kill was meant to land mid-drain"

    rest = drain(pipeline)
    assert rest["stopped"] == "caught_up"
    assert rest["failed"] == 0
    # Records indexed before the crash but not committed are read again: `create` with the
    # same id answers 409, counted as done, so nothing is indexed twice.
    assert counts(pipeline) == (total, len(BAD_LINES))
    assert rest["records"] <= total + len(BAD_LINES)


def test_the_dead_letters_of_a_drain_say_why(pipeline):
    publish(pipeline, 10, seed=33)
    report = drain(pipeline)
    assert (report["indexed"], report["dead_lettered"]) == (10, len(BAD_LINES))
    eshttp.refresh(pipeline["ELASTICSEARCH_DEADLETTER_INDEX"])
    hits = eshttp.call("POST", f"/{pipeline['ELASTICSEARCH_DEADLETTER_INDEX']}/_search",
                       {"size": 10}).json()["hits"]["hits"]
    letters = sorted((h["_source"] for h in hits), key=lambda s: s.get("raw") or "")
    assert all(letter["stage"] == "parse" and letter["reason"] for letter in letters)
    assert all(letter["kafka"]["topic"] == pipeline["KAFKA_TOPIC"] for letter in letters)
    assert {letter.get("raw") for letter in letters} >= {BAD_LINES[0].decode(), BAD_LINES[1].decode()}
    assert any("raw_base64" in letter for letter in letters)  # the non-UTF-8 line, losslessly


def test_the_indexer_lambda_drains_when_asked(pipeline):
    publish(pipeline, 2000, seed=34)
    with LambdaEmulator(env=pipeline) as lambdas:
        answer = lambdas.invoke("indexer", {"drain": {"max_records": 1500, "max_seconds": 60}})
        assert (answer["records"], answer["stopped"]) == (1500, "max_records")
        answer = lambdas.invoke("indexer", {"drain": {"max_seconds": 60}})
        assert answer["stopped"] == "caught_up"
        assert answer["records"] == 2000 + len(BAD_LINES) - 1500
    assert counts(pipeline) == (2000, len(BAD_LINES))


def test_a_drain_whose_broker_answers_slowly_stops_only_once_it_has_read_everything(pipeline, tmp_path):
    # Every piece of the broker's answers arrives 1 s late: after the group assigns the partitions,
    # the committed offsets, the start offsets and the first fetch take seconds, more than the
    # 1 s of idleness after which a drain asks whether it has caught up. Empty polls then say
    # nothing: the fetcher's word that it has reached each partition's end does.
    with broker_behind_front(tmp_path / "tansu.log", delay=1.0) as (bootstrap, _):
        env = dict(pipeline, KAFKA_BOOTSTRAP_SERVER=bootstrap)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(env["KAFKA_TOPIC"], 3, 1)]).values():
            future.result(30)
        done = subprocess.run([LOGPIPE, "produce", "-q", "-n", "500", "--seed", "35"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

        report = drain(env, "--idle-seconds", "1")
    assert (report["records"], report["indexed"], report["stopped"]) == (500, 500, "caught_up")
    assert eshttp.count(pipeline["ELASTICSEARCH_INDEX"]) == 500
