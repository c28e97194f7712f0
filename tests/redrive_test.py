"""Redrive against the local stack (issue 23): lines in a format the settings do not know are
dead-lettered by the indexer; once LOG_FORMAT names the format, `logpipe redrive` (and the indexer
Lambda asked `{"redrive": {...}}`) moves every one into the main index under its original `_id`
and out of the dead-letter index. A second run changes nothing, a run SIGKILLed between its
creates and its deletes is finished by the next without a duplicate, a dry run changes nothing,
letters that still fail stay with today's reason and one more `redrive_count`, and bad queries
are named.

The dead letters are made by the real indexer (`logpipe index` on a Lambda Kafka event), each
test with indices of its own.
"""

import json
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest

import eshttp
import kafka_events as ke
from faultproxy import FaultProxy
from lambda_emulator import InvokeError, LambdaEmulator

# A user's own NGINX log_format, which `auto` does not read: no ident and user fields, a timing.
FORMAT = '$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time'
GARBAGE = [b"not an access log", b"\xff\xfe binary, not even UTF-8"]


def line(i, run):
    return (f'192.0.2.{i % 250 + 1} [21/Jan/2026:22:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
            f'"GET /{run}/{i} HTTP/1.1" {200 + i % 3} {i} rt=0.{i % 1000:03d}').encode()


@pytest.fixture
def pipeline():
    run = uuid.uuid4().hex[:10]
    env = ke.index_env(f"redrive-{run}", deadletter=f"redrive-{run}-dead", unset=("LOG_FORMAT",))
    env["TOPIC"] = f"redrive-{run}"
    yield env
    for index in (env["ELASTICSEARCH_INDEX"], env["ELASTICSEARCH_DEADLETTER_INDEX"]):
        ke.drop_index(index)


def dead_letter(env, values):
    """Indexes `values` as Kafka records (3 partitions) with LOG_FORMAT unset; every one must be
    dead-lettered. Returns their document ids."""
    topic = env["TOPIC"]
    records = [ke.KRecord(topic, i % 3, i // 3, value) for i, value in enumerate(values)]
    for start in range(0, len(records), 10_000):
        done = ke.run_index(ke.build_event(records[start:start + 10_000]), env)
        assert done.code == 0, done.stderr
        assert done.report["dead_lettered"] == len(records[start:start + 10_000]), done.report
    return [r.doc_id for r in records]


def redrive(env, *args, log_format=FORMAT, es_url=None, code=0, timeout=120):
    """`logpipe redrive -q ARGS`; its JSON report (None when it printed none)."""
    env = dict(env)
    if log_format:
        env["LOG_FORMAT"] = log_format
    if es_url:
        env["ELASTICSEARCH_URL"] = es_url
    done = subprocess.run([ke.LOGPIPE, "redrive", "-q", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == code, done.stderr
    report = json.loads(done.stdout) if done.stdout.strip() else None
    return report, done.stderr


def state(env):
    """(main index {_id: doc}, dead letters {_id: letter})."""
    return ke.all_docs(env["ELASTICSEARCH_INDEX"]), ke.dead_letters(env["ELASTICSEARCH_DEADLETTER_INDEX"])


def test_redrive_moves_every_letter_once_and_a_second_run_changes_nothing(pipeline):
    n = 3000
    ids = dead_letter(pipeline, [line(i, "a") for i in range(n)])
    before = state(pipeline)
    assert before == ({}, before[1]) and sorted(before[1]) == sorted(ids)
    assert {letter["stage"] for letter in before[1].values()} == {"parse"}

    # A dry run says all would move, and changes nothing.
    report, _ = redrive(pipeline, "--dry-run")
    assert (report["dry_run"], report["records"], report["moved"], report["still_failing"]) == (True, n, n, 0)
    assert len(report["would_move_ids"]) == 20 and set(report["would_move_ids"]) <= set(ids)
    assert state(pipeline) == before

    report, _ = redrive(pipeline, "--page-size", "500")
    assert (report["records"], report["moved"], report["still_failing"], report["failed"]) == (n, n, 0, 0)
    assert (report["stopped"], report["pages"]) == ("caught_up", 6)
    rate = n / (report["elapsed_ms"] / 1000)
    print(f"\nredrive rate: {n} dead letters in {report['elapsed_ms']} ms = {rate:,.0f} records/s")
    docs, letters = state(pipeline)
    assert letters == {}
    assert sorted(docs) == sorted(ids), "each under its original _id, once"
    # Each document is what the indexer makes of the line with the format configured.
    for i in (0, 1, n - 1):
        doc = docs[ids[i]]
        assert doc["endpoint"] == f"/a/{i}" and doc["status"] == 200 + i % 3 and doc["size"] == i
        assert doc["request_time"] == float(f"0.{i % 1000:03d}")
        assert doc["kafka"] == {"topic": pipeline["TOPIC"], "partition": i % 3, "offset": i // 3}

    report, _ = redrive(pipeline)
    assert (report["records"], report["moved"], report["stopped"]) == (0, 0, "caught_up")
    assert state(pipeline) == (docs, {})


def test_a_redrive_killed_between_its_creates_and_deletes_is_finished_by_the_next(pipeline):
    n, page = 1000, 100
    ids = dead_letter(pipeline, [line(i, "k") for i in range(n)])
    dead = pipeline["ELASTICSEARCH_DEADLETTER_INDEX"]
    with FaultProxy(ke.ES_URL) as proxy:
        # The dead-letter index's deletes hang before they reach it: the first page is created,
        # none of it deleted (the proxy's stop drops them, never forwarded).
        proxy.set_mode("hold", delay_ms=60_000, match=f"^/{dead}/_bulk$")
        env = dict(pipeline, LOG_FORMAT=FORMAT, ELASTICSEARCH_URL=proxy.url)
        process = subprocess.Popen([ke.LOGPIPE, "redrive", "-q", "--page-size", str(page)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while ke.count(pipeline["ELASTICSEARCH_INDEX"]) < page:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the first page was not created within 60 s"
                time.sleep(0.1)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stderr.close()
    docs, letters = state(pipeline)
    assert len(docs) == page and len(letters) == n, "killed after the creates, before the deletes"
    assert set(docs) <= set(letters)

    report, _ = redrive(pipeline, "--page-size", str(page))
    # The first page's creates answer 409 (there already): done, and their letters deleted.
    assert (report["records"], report["moved"], report["failed"]) == (n, n, 0)
    docs, letters = state(pipeline)
    assert (sorted(docs), letters) == (sorted(ids), {})


def test_letters_that_still_fail_stay_with_todays_reason_and_are_counted(pipeline):
    good = [line(i, "s") for i in range(50)]
    ids = dead_letter(pipeline, good + GARBAGE)
    garbage_ids = ids[len(good):]

    report, stderr = redrive(pipeline, code=1)
    assert (report["records"], report["moved"], report["still_failing"], report["failed"]) == (52, 50, 2, 0)
    assert "dead letters remain: 50 of 52 moved; 2 still fail" in stderr
    docs, letters = state(pipeline)
    assert sorted(docs) == sorted(ids[:len(good)]) and sorted(letters) == sorted(garbage_ids)
    for letter_id in garbage_ids:
        letter = letters[letter_id]
        assert letter["redrive_count"] == 1 and letter["stage"] == "parse", letter
        assert letter["reason"] and letter["redriven_at"] >= letter["failed_at"]
    # The raw bytes are kept as they were: the binary one still as base64.
    assert letters[garbage_ids[1]]["raw_base64"]

    # Narrowed by the query: none of the letters matches, nothing changes, the run succeeds.
    report, _ = redrive(pipeline, "--since", "2999-01-01")
    assert (report["records"], report["stopped"]) == (0, "caught_up")
    report, _ = redrive(pipeline, "--reason", "no such phrase anywhere")
    assert report["records"] == 0
    # A count limit: one letter, with more left, is an incomplete run.
    report, _ = redrive(pipeline, "--stage", "parse", "--max-records", "1", code=1)
    assert (report["records"], report["stopped"]) == (1, "max_records")
    letters = state(pipeline)[1]
    assert sorted(letter["redrive_count"] for letter in letters.values()) == [1, 2]


def test_bad_queries_and_an_unreachable_elasticsearch_are_named(pipeline):
    for args, message in [
        (["--stage", "parsing"], 'field `redrive.stage`: "parsing" is not a stage: expected parse or index'),
        (["--stage", "decode"], "decode dead letters cannot be redriven"),
        (["--since", "yesterday"], 'field `redrive.since`: "yesterday" is not a time'),
        (["--reason", " "], "field `redrive.reason`: empty"),
        (["--page-size", "0"], "field `redrive.page_size`"),
    ]:
        report, stderr = redrive(pipeline, *args, code=1)
        assert report is None and message in stderr, stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    report, stderr = redrive(pipeline, es_url=closed, code=1)
    assert report is None and "could not install index template" in stderr, stderr


def said(failed) -> str:
    """The error cargo lambda printed, unwrapped: it folds long messages into `│ ` lines."""
    return " ".join(part.strip().lstrip("×│").strip() for part in failed.value.output.splitlines())


def test_the_indexer_lambda_redrives_on_request(pipeline):
    good = [line(i, "l") for i in range(200)]
    ids = dead_letter(pipeline, good + GARBAGE[:1])
    env = {k: v for k, v in pipeline.items() if k != "TOPIC"}
    with LambdaEmulator(env=dict(env, LOG_FORMAT=FORMAT)) as lambdas:
        answer = lambdas.invoke("indexer", {"redrive": {"dry_run": True}})
        assert (answer["dry_run"], answer["moved"], answer["still_failing"]) == (True, 200, 1)
        assert ke.count(pipeline["ELASTICSEARCH_INDEX"]) == 0

        # Stopped at its count limit with letters left: the invocation fails, the work stays done.
        with pytest.raises(InvokeError) as failed:
            lambdas.invoke("indexer", {"redrive": {"stage": "parse", "since": "2026-01-01T00:00:00Z",
                                                   "max_records": 100}})
        assert "stopped at max_records with more letters matching" in said(failed)
        assert ke.count(pipeline["ELASTICSEARCH_INDEX"]) == 100

        # The garbage line remains: the invocation fails, saying so.
        with pytest.raises(InvokeError) as failed:
            lambdas.invoke("indexer", {"redrive": {}})
        assert "dead letters remain: 100 of 101 moved; 1 still fail" in said(failed)
        with pytest.raises(InvokeError) as failed:
            lambdas.invoke("indexer", {"redrive": {"stage": "decode"}})
        assert "invalid redrive request" in said(failed) and "cannot be redriven" in said(failed)
    docs, letters = state(pipeline)
    assert sorted(docs) == sorted(ids[:200]) and sorted(letters) == [ids[200]]
