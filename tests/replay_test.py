"""Nothing lost when Elasticsearch is down longer than the retries: `logpipe esm` (the
event-source mapping stand-in, few retries) feeds the indexer Lambda while Elasticsearch is
unreachable (tests/faultproxy.py drops every connection); after the retries the mapping writes
the records to its on-failure destination as Lambda does (an S3 object per batch and partition
on the stack's moto_server, or a message per record on a Kafka topic) and moves on. Once
Elasticsearch is back, replay (`logpipe replay`, or the indexer invoked with {"replay": ...})
brings every record in under its original `_id`: produced = indexed, exactly once; a second
replay adds nothing. Bad sources give named errors.

Each test has its own topics, S3 prefix, consumer groups and indices.
"""

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
import kafka_events as ke
from faultproxy import FaultProxy
from lambda_emulator import InvokeError, LambdaEmulator

ROOT = Path(__file__).resolve().parent.parent
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
BUCKET = os.environ.get("LOGPIPE_FAILURE_BUCKET", "logpipe-failed-batches")
RECORDS = 300
BATCH = 100
# The functions' deadline under the emulator (AWS_LAMBDA_FUNCTION_TIMEOUT, as `sam local` sets
# it; `cargo lambda watch` itself gives every invocation 600 s): how long an invocation keeps
# retrying an unreachable Elasticsearch before it answers the records as failed.
DEADLINE_SECONDS = 3
KEY = re.compile(r"^(?P<prefix>.*)aws/lambda/(?P<mapping>[^/]+)/(?P<shard>[^/]+)/"
                 r"\d{4}/\d{2}/\d{2}/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$")


@pytest.fixture
def pipeline():
    """A fresh source topic (3 partitions), on-failure topic, S3 prefix and index pair."""
    run = uuid.uuid4().hex[:10]
    topic = f"replay-{run}"
    env = dict(os.environ, KAFKA_TOPIC=topic, ELASTICSEARCH_INDEX=topic,
               ELASTICSEARCH_DEADLETTER_INDEX=f"{topic}-dead", RUST_LOG="warn")
    admin = AdminClient({"bootstrap.servers": ke.BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, 3, 1), NewTopic(f"{topic}-failed", 2, 1)]).values():
        future.result(15)
    yield env
    for index in (topic, f"{topic}-dead"):
        eshttp.delete_index(index)


def s3():
    return boto3.client("s3")


def keys(prefix):
    pages = s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def logpipe(env, *args, timeout=120):
    return subprocess.run([LOGPIPE, *args], env=env, capture_output=True, text=True, timeout=timeout)


def esm(env, lambdas, group, *args):
    """`logpipe esm` with one retry against the emulator's indexer: (exit status, report, stderr)."""
    done = logpipe(env, "esm", "-q", "--endpoint", f"http://127.0.0.1:{lambdas.port}", "--group", group,
                   "--batch-size", str(BATCH), "--retries", "1", "--idle-seconds", "2",
                   "--invoke-timeout", str(DEADLINE_SECONDS + 10), "--max-seconds", "120", *args,
                   timeout=180)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def documents(index):
    """{_id: source} of the index; fails on a duplicate _id."""
    if eshttp.call("HEAD", f"/{index}").status == 404:
        return {}
    eshttp.refresh(index)
    answer = eshttp.call("POST", f"/{index}/_search", {"query": {"match_all": {}}, "size": 10_000})
    assert answer.status == 200, answer
    hits = answer.json()["hits"]["hits"]
    by_id = {hit["_id"]: hit["_source"] for hit in hits}
    assert len(by_id) == len(hits), "duplicate _id"
    return by_id


def warm_up(lambdas):
    """Starts the indexer (built at its first invocation, templates installed) while
    Elasticsearch is reachable."""
    return lambdas.invoke("indexer", {"eventSource": "aws:kafka", "records": {}}, timeout=900)


def kept_in_s3(prefix, produced):
    """Checks the objects under `prefix` against what Lambda writes; their original records."""
    found = keys(prefix)
    assert found, f"no object under s3://{BUCKET}/{prefix}"
    records = set()
    for key in found:
        match = KEY.match(key)
        assert match and match["prefix"] == prefix, key
        body = json.loads(s3().get_object(Bucket=BUCKET, Key=key)["Body"].read())
        assert list(body) == ["requestContext", "responseContext", "version", "timestamp",
                              "KafkaBatchInfo", "payload"], key
        assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert body["requestContext"]["approximateInvokeCount"] == 2  # the first and one retry
        info = body["KafkaBatchInfo"]
        assert list(info["recordsInfo"]) == [match["shard"]]
        assert isinstance(body["payload"], str) and info["payloadSize"] == len(body["payload"])
        event = json.loads(body["payload"])
        (group,) = event["records"].values()
        assert info["batchSize"] == len(group)
        assert info["recordsInfo"][match["shard"]]["firstRecordOffset"] == str(group[0]["offset"])
        records |= {(r["topic"], r["partition"], r["offset"]) for r in group}
    assert records == produced
    return found


def read_all(topic, partitions, expected, idle=3.0, timeout=60):
    """Every message of `topic` from its start, read by assignment (no group join): until
    `expected` came and then nothing more for `idle` seconds. Not by the watermarks: tansu's
    high watermark stops short of the last records of a multi-record batch."""
    consumer = ke.Consumer({"bootstrap.servers": ke.BOOTSTRAP, "group.id": f"probe-{uuid.uuid4().hex}",
                            "enable.auto.commit": False})
    got, give_up = {}, time.monotonic() + timeout
    try:
        consumer.assign([ke.TopicPartition(topic, p, 0) for p in range(partitions)])
        last_new = time.monotonic()
        while time.monotonic() < give_up and (len(got) < expected or time.monotonic() - last_new < idle):
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                assert message.error() is None, message.error()
                got[(message.partition(), message.offset())] = message
                last_new = time.monotonic()
    finally:
        consumer.close()
    return [got[k] for k in sorted(got)]


def kept_in_kafka(topic, produced, partitions=2):
    """Reads the on-failure topic: one message per record, as Lambda writes them."""
    messages = read_all(topic, partitions, expected=len(produced))
    records = set()
    for message in messages:
        body = json.loads(message.value())
        assert body["requestContext"]["condition"] == "RetriesExhausted"
        assert body["KafkaBatchInfo"]["batchSize"] == 1
        (group,) = body["payload"]["records"].values()
        (record,) = group
        assert body["KafkaBatchInfo"]["recordInfo"]["offset"] == str(record["offset"])
        assert message.key() is not None  # the original record's key (the client address)
        records.add((record["topic"], record["partition"], record["offset"]))
    assert len(messages) == len(records) == len(produced)
    assert records == produced


@pytest.mark.parametrize("kind", ["s3", "kafka"])
def test_an_outage_longer_than_the_retries_is_replayed_exactly_once(pipeline, kind):
    topic = pipeline["KAFKA_TOPIC"]
    destination = f"s3://{BUCKET}/{topic}" if kind == "s3" else f"kafka://{topic}-failed"
    lines = ke.generate_lines(RECORDS, seed=23)
    keys_ = [line.split(b" ", 1)[0] for line in lines]
    produced = {(r.topic, r.partition, r.offset) for r in ke.produce(lines, keys=keys_, topic=topic)}

    with FaultProxy(ke.ES_URL) as proxy:
        env = dict(pipeline, ELASTICSEARCH_URL=proxy.url, AWS_LAMBDA_FUNCTION_TIMEOUT=str(DEADLINE_SECONDS))
        with LambdaEmulator(env=env) as lambdas:
            warm_up(lambdas)
            proxy.set_mode("disconnect")
            code, report, err = esm(env, lambdas, f"{topic}-esm", "--on-failure", destination)
            # The mapping gave up on every record, kept them, and moved on past them.
            assert code == 0, err + lambdas.function_log()[-3000:]
            assert (report["records"], report["on_failure"], report["failed"], report["delivered"]) == \
                (RECORDS, RECORDS, 0, 0), report
            assert report["stopped"] == "caught_up"
            assert sum(report["committed"].values()) == RECORDS  # offsets start at 0
            assert documents(topic) == {}
            if kind == "s3":
                objects = kept_in_s3(f"{topic}/", produced)
            else:
                kept_in_kafka(f"{topic}-failed", produced)

            # Still down: replay leaves everything where it is and says so.
            if kind == "s3":
                with pytest.raises(InvokeError) as stuck:
                    lambdas.invoke("indexer", {"replay": {"source": destination, "max_seconds": 5}})
                assert "ReplayIncomplete" in stuck.value.output, stuck.value.output
                assert "could not be indexed or dead-lettered" in said(stuck), stuck.value.output
                assert keys(f"{topic}/") == objects
            else:
                # `logpipe replay` installs the index templates first, as every command that
                # indexes does (documents never go into an index made by dynamic mapping): it
                # stops there, before reading anything; the full replay below reading all
                # RECORDS shows nothing was committed.
                done = logpipe(env, "replay", "-q", destination, "--max-seconds", "3", "--idle-seconds", "1")
                assert done.returncode == 1, done.stderr
                assert "could not install index template" in done.stderr, done.stderr

            # Elasticsearch is back: every record comes in once, under its original _id.
            proxy.reset()
            if kind == "s3":
                replayed = lambdas.invoke("indexer", {"replay": {"source": destination}})
            else:
                done = logpipe(env, "replay", "-q", destination, "--idle-seconds", "1")
                assert done.returncode == 0, done.stderr
                replayed = json.loads(done.stdout)
        assert (replayed["records"], replayed["indexed"], replayed["failed"], replayed["unreadable"]) == \
            (RECORDS, RECORDS, 0, 0), replayed
        assert replayed["done"] == replayed["failure_records"] > 0
        rate = RECORDS / (replayed["elapsed_ms"] / 1000)
        print(f"\nreplay rate ({kind}): {RECORDS} records in {replayed['failure_records']} failure records "
              f"in {replayed['elapsed_ms']} ms = {rate:,.0f} records/s")
        if kind == "s3":
            assert keys(f"{topic}/aws/") == []
            assert [k.replace(f"{topic}/replayed/", f"{topic}/") for k in keys(f"{topic}/replayed/")] == objects

    expected_ids = {f"{t}-{p}-{o}" for t, p, o in produced}
    assert set(documents(topic)) == expected_ids

    # A second replay finds nothing left and adds nothing.
    again = logpipe(pipeline, "replay", "-q", destination, "--idle-seconds", "1")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["records"] == 0
    assert set(documents(topic)) == expected_ids
    assert documents(f"{topic}-dead") == {}


def said(failed) -> str:
    """The error cargo lambda printed, unwrapped: it folds long messages into `│ ` lines."""
    return " ".join(part.strip().lstrip("×│").strip() for part in failed.value.output.splitlines())


def test_bad_sources_and_destinations_are_named(pipeline):
    topic = pipeline["KAFKA_TOPIC"]
    for source, message in [
        ("sqs://queue", "invalid location `sqs://queue`: unknown scheme"),
        ("s3://", "no bucket name"),
        ("kafka://a/b", "`a/b` is not a Kafka topic name"),
    ]:
        done = logpipe(pipeline, "replay", "-q", source)
        assert done.returncode == 1 and message in done.stderr, (source, done.stderr)
        done = logpipe(pipeline, "esm", "-q", "--on-failure", source)
        assert done.returncode == 2 and message in done.stderr, (source, done.stderr)

    done = logpipe(pipeline, "replay", "-q", "s3://no-such-bucket-for-logpipe/x")
    assert done.returncode == 1, done.stderr
    assert "S3 ListObjectsV2 of s3://no-such-bucket-for-logpipe/x/" in done.stderr, done.stderr
    assert "NoSuchBucket" in done.stderr, done.stderr

    # Something in the bucket that is not a failure record stays there, named.
    prefix = f"{topic}/"
    key = f"{prefix}aws/lambda/not-a-record.json"
    s3().put_object(Bucket=BUCKET, Key=key, Body=b'{"hello": "world"}')
    done = logpipe(pipeline, "replay", "-q", f"s3://{BUCKET}/{topic}")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["unreadable"], report["done"]) == (1, 0), report
    assert f"s3://{BUCKET}/{key}: not an on-failure invocation record" in done.stderr, done.stderr
    assert keys(prefix) == [key]

    with LambdaEmulator(env=pipeline) as lambdas:
        for payload, message in [
            ({"replay": {"source": "s3://"}}, "field `replay.source`: invalid location `s3://`: no bucket name"),
            ({"replay": {"max_records": 5}}, "missing field `source`"),
            ({"replay": {"source": f"kafka://{topic}"}, "drain": {}}, "send one at a time"),
        ]:
            with pytest.raises(InvokeError) as refused:
                lambdas.invoke("indexer", payload)
            assert message in said(refused), refused.value.output
