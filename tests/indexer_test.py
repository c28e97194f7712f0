"""The indexer against the local stack's real servers: Kafka records produced to the broker,
read back, put into Lambda event-source-mapping events (MSK and self-managed) and indexed by
`logpipe index` (the indexer Lambda's handler) and by the indexer Lambda itself under
cargo-lambda's emulator; Elasticsearch faults come from tests/faultproxy.py.

What is checked (DESIGN.md section 3): every record ends indexed, dead-lettered or listed in
`batchItemFailures` (records = indexed + dead_lettered + failed); documents equal what
`logpipe parse` makes of their line, with `_id` `{topic}-{partition}-{offset}`; bad records
are in the dead-letter index with reason, stage, raw bytes and Kafka coordinates; replays and
retries create no duplicate; per-item and whole-request failures are retried, dead-lettered
or reported as the policy says, within the deadline.

Run with the stack started and its environment loaded, binaries built:
    infra/local/stack start && eval "$(infra/local/stack env)"
    cargo build --workspace --bins --locked
    python -m pytest -q tests/indexer_test.py
Every test uses its own index names (and drops them), so the file can run again against a
server that keeps data. It fails, never skips, when the stack is down.
"""

import base64
import datetime
import json
import os
import re
import subprocess
import tempfile

import boto3
import pytest
from confluent_kafka import Consumer

import eshttp
import kafka_events as ke
from faultproxy import FaultProxy
from lambda_emulator import LambdaEmulator, free_port

TOPIC = ke.TOPIC
ES = ke.ES_URL
START = "2026-01-21T22:23:40"
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", autouse=True)
def stack():
    """Fails (does not skip) when a server or the binaries are missing."""
    assert ke.LOGPIPE.exists(), f"{ke.LOGPIPE} missing: cargo build --workspace --bins --locked"
    try:
        answer = eshttp.call("GET", "/", base=ES, timeout=5)
    except OSError as e:
        pytest.fail(f"Elasticsearch at {ES} is not reachable ({e}): infra/local/stack start")
    assert answer.status == 200, answer
    consumer = Consumer({"bootstrap.servers": ke.BOOTSTRAP, "group.id": "indexer-test-probe"})
    try:
        topics = consumer.list_topics(TOPIC, timeout=10).topics
    except Exception as e:  # KafkaException
        pytest.fail(f"Kafka at {ke.BOOTSTRAP} is not reachable ({e}): infra/local/stack start")
    finally:
        consumer.close()
    assert topics[TOPIC].error is None, topics[TOPIC].error
    assert len(topics[TOPIC].partitions) >= 2, "the tests need a topic with several partitions"


@pytest.fixture
def index():
    """A fresh index name; the index, its dead-letter index and their templates are
    dropped afterwards."""
    name = ke.unique_index()
    yield name
    ke.drop_index(name)
    ke.drop_index(f"{name}-deadletter")


@pytest.fixture
def proxy():
    with FaultProxy(ES) as p:
        yield p


@pytest.fixture(scope="module")
def produced():
    """3,000 generated lines produced to the broker (keyed by client address, so they spread
    over the partitions) and read back by partition and offset: [KRecord] in
    (partition, offset) order, and {offset coordinates: line}."""
    lines = ke.generate_lines(3000, seed=20260121, start=START)
    sent = ke.produce(lines, keys=[line.split(b" ", 1)[0] for line in lines])
    back = ke.consume(ke.ranges_of(sent))
    assert {(r.partition, r.offset): r.value for r in back} == {(r.partition, r.offset): r.value for r in sent}
    assert len({r.partition for r in back}) >= 2
    return back


def dl(index):
    return f"{index}-deadletter"


def assert_accounted(run, n):
    """The report's invariant and its agreement with the answer."""
    report = run.report
    assert report["records"] == n, report
    assert report["indexed"] + report["dead_lettered"] + report["failed"] == n, report
    assert len(run.failures) == report["failed"], (report, run.failures)
    assert run.code == (1 if report["failed"] else 0), (run.code, run.stderr)


def assert_reasons(run, status):
    """Failed records carry Elasticsearch's last answer (`status`), even when the deadline
    came before the next attempt."""
    reasons = run.report["failure_reasons"]
    assert sum(reasons.values()) == run.report["failed"], reasons
    for reason in reasons:
        assert status in reason, reasons


def expected_docs(records):
    """{_id: document} as `logpipe parse` makes each record's line, with kafka.*."""
    parsed = ke.parse_lines([r.value for r in records])
    out = {}
    for r, (doc, reason) in zip(records, parsed):
        assert doc is not None, (r.value, reason)
        out[r.doc_id] = {**doc, "kafka": {"topic": r.topic, "partition": r.partition, "offset": r.offset}}
    return out


# ------------------------------------------------------------------ mixed batch


def mixed_records(n_good=20):
    """Good and bad records produced to the broker, read back, then shaped as the bad
    cases of a Lambda event. Returns ([KRecord], {_id: expectation}); an expectation is
    ("indexed", document) or ("dead", stage, raw text or None, raw bytes or None, reason
    or reason fragment)."""
    good = ke.generate_lines(n_good, seed=7, start=START)
    bad = {
        "garbage": b"hello world, this is not an access log",
        "feb30": b'1.2.3.4 - - [Feb 30 2026, 10:00:00] "GET / HTTP/1.1" 200 1 "-" "a"',
        "not_utf8": b'\xff\xfe9.9.9.9 - - [Jan 21 2026, 22:23:40] "GET /\xc3\x28 HTTP/1.1" 200 1 "-" "a"',
        "empty": b"",
        "tombstone": None,  # a null value on the broker
        "missing": b"placeholder: the event will carry no value key for it",
        "not_base64": b"placeholder: the event will carry text that is not base64",
        "null_topic_garbage": b"garbage whose event record has a null topic",
    }
    values = good + list(bad.values())
    keys = [v.split(b" ", 1)[0] for v in good] + [f"bad-{name}".encode() for name in bad]
    headers = [[] for _ in values]
    headers[1] = [("trace", "été".encode()), ("empty", b"")]
    headers[n_good] = [("h", bytes([104, 255, 128]))]
    sent = ke.produce(values, keys=keys, headers=headers)
    back = {(r.partition, r.offset): r for r in ke.consume(ke.ranges_of(sent))}
    records = [back[(r.partition, r.offset)] for r in sent]  # produce order
    assert [r.value for r in records] == values
    assert records[1].headers == headers[1], "headers survive the broker"

    by_name = dict(zip(bad, records[n_good:]))
    by_name["missing"] = by_name["missing"].but(value=ke.MISSING)
    by_name["not_base64"] = by_name["not_base64"].but(value="not base64!")
    by_name["null_topic_garbage"] = by_name["null_topic_garbage"].but(null_topic=True)
    good_records = records[:n_good]
    good_records[0] = good_records[0].but(null_topic=True)  # topic taken from the event's key

    parsed = ke.parse_lines([bad["garbage"], bad["feb30"], bad["empty"], bad["null_topic_garbage"]])
    expect = {}
    for doc_id, doc in expected_docs(good_records).items():
        expect[doc_id] = ("indexed", doc)
    expect[by_name["garbage"].doc_id] = ("dead", "parse", bad["garbage"].decode(), None, parsed[0][1])
    expect[by_name["feb30"].doc_id] = ("dead", "parse", bad["feb30"].decode(), None, parsed[1][1])
    expect[by_name["not_utf8"].doc_id] = ("dead", "parse", None, bad["not_utf8"], "UTF-8")
    expect[by_name["empty"].doc_id] = ("dead", "parse", "", None, parsed[2][1])
    expect[by_name["tombstone"].doc_id] = ("dead", "decode", None, None, "no value")
    expect[by_name["missing"].doc_id] = ("dead", "decode", None, None, "no value")
    expect[by_name["not_base64"].doc_id] = ("dead", "decode", "not base64!", None, "not base64")
    expect[by_name["null_topic_garbage"].doc_id] = (
        "dead", "parse", bad["null_topic_garbage"].decode(), None, parsed[3][1]
    )
    assert "2026-02-30 is not a date" in parsed[1][1]
    # Event order: grouped by <topic>-<partition>, as Lambda does.
    event_records = sorted(good_records + list(by_name.values()), key=lambda r: (r.partition, r.offset))
    return event_records, expect


def check_mixed_result(index, records, expect):
    docs = ke.all_docs(index)
    letters = ke.dead_letters(dl(index))
    assert set(docs) == {i for i, e in expect.items() if e[0] == "indexed"}
    assert set(letters) == {i for i, e in expect.items() if e[0] == "dead"}
    coords = {r.doc_id: {"topic": r.topic, "partition": r.partition, "offset": r.offset} for r in records}
    for doc_id, e in expect.items():
        if e[0] == "indexed":
            assert docs[doc_id] == e[1], doc_id
            continue
        _, stage, raw, raw_bytes, reason = e
        letter = letters[doc_id]
        assert letter["stage"] == stage, letter
        assert letter["kafka"] == coords[doc_id], letter
        assert reason in letter["reason"], (reason, letter)
        if raw_bytes is not None:
            assert "raw" not in letter, letter
            assert base64.b64decode(letter["raw_base64"]) == raw_bytes
        else:
            assert "raw_base64" not in letter, letter
            assert letter.get("raw") == raw, letter
        failed_at = datetime.datetime.fromisoformat(letter["failed_at"].replace("Z", "+00:00"))
        age = datetime.datetime.now(datetime.timezone.utc) - failed_at
        assert datetime.timedelta(seconds=-5) < age < datetime.timedelta(minutes=10), letter["failed_at"]
    return docs, letters


# ------------------------------------------------------------------ 1. both event sources


@pytest.mark.parametrize("source", [ke.MSK, ke.SELF_MANAGED])
def test_event_from_the_broker_is_indexed_line_for_line(source, index, produced):
    # 500 records over every partition, in (partition, offset) order as Lambda groups them.
    records = produced[::6][:500]  # produced is in (partition, offset) order
    assert len(records) == 500 and len({r.partition for r in records}) >= 2
    event = ke.build_event(records, source)
    assert set(event["records"]) == {f"{TOPIC}-{r.partition}" for r in records}
    assert ("eventSourceArn" in event) == (source == ke.MSK)

    run = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    assert run.code == 0, run.stderr
    assert_accounted(run, 500)
    assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (500, 0, 0)
    assert run.out["response"] == {"batchItemFailures": []}

    docs = ke.all_docs(index)
    assert docs == expected_docs(records)  # every _id, every field as `logpipe parse` has it
    assert all(ISO_SECONDS.match(d["timestamp"]) for d in docs.values())
    assert {d["timestamp"] for d in docs.values()} == {START}
    assert ke.count(dl(index)) == 0
    # The template was installed first: typed fields, not dynamic strings.
    mapping = eshttp.call("GET", f"/{index}/_mapping", base=ES).json()[index]["mappings"]["properties"]
    assert (mapping["ip"]["type"], mapping["status"]["type"], mapping["size"]["type"]) == ("ip", "short", "long")


# ------------------------------------------------------------------ 2. good and bad records


def test_bad_records_are_dead_lettered_with_raw_bytes_and_coordinates(index):
    records, expect = mixed_records()
    event = ke.build_event(records, ke.SELF_MANAGED)
    run = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    assert_accounted(run, len(records))
    n_dead = sum(e[0] == "dead" for e in expect.values())
    assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (
        len(records) - n_dead, n_dead, 0)
    assert run.code == 0 and run.failures == []
    # Also: the good record whose topic was null is indexed under the event key's topic.
    check_mixed_result(index, records, expect)
    assert sum(r.null_topic for r in records) == 2


# ------------------------------------------------------------------ 3. replay


def test_replayed_event_creates_no_duplicate(index):
    records, expect = mixed_records()
    event = ke.build_event(records, ke.MSK)
    first = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    assert first.code == 0, first.stderr
    docs, letters = check_mixed_result(index, records, expect)

    again = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    assert again.code == 0, again.stderr
    assert_accounted(again, len(records))
    # 409 on every create counts as done: the same outcome as the first time.
    for key in ("records", "indexed", "dead_lettered", "failed"):
        assert again.report[key] == first.report[key], (key, first.report, again.report)
    assert ke.count(index) == len(docs) and ke.count(dl(index)) == len(letters)
    # Nothing was overwritten: same documents, same dead letters (their failed_at too).
    assert ke.all_docs(index) == docs
    assert ke.dead_letters(dl(index)) == letters
    some_id = sorted(docs)[0]
    assert ke.get_doc(index, some_id)["_version"] == 1


# ------------------------------------------------------------------ 4. request sizing


def test_bulk_bytes_limit_splits_requests(index, produced, proxy):
    seen = ke.record_requests(proxy)
    limit = 65536
    run = ke.run_index(
        ke.build_event(produced), ke.index_env(index, es_url=proxy.url, ELASTICSEARCH_BULK_MAX_BYTES=limit),
        cli_timeout=120,
    )
    assert run.code == 0, run.stderr
    assert_accounted(run, len(produced))
    assert run.report["indexed"] == len(produced)
    bulks = [r for r in seen if r["path"] == "/_bulk"]
    assert run.report["requests"] == len(bulks) > 1
    assert all(r["length"] <= limit for r in bulks), [r["length"] for r in bulks]
    assert run.report["requests"] >= sum(r["length"] for r in bulks) / limit
    assert ke.count(index) == len(produced)


def test_bulk_bytes_limit_holds_for_long_topic_names(index, proxy):
    seen = ke.record_requests(proxy)
    limit = 65536
    topic = "t" * 200  # the event's topic; the broker is not involved
    records = [ke.KRecord(topic, 0, n, line) for n, line in enumerate(ke.generate_lines(2000, seed=5, start=START))]
    run = ke.run_index(
        ke.build_event(records), ke.index_env(index, es_url=proxy.url, ELASTICSEARCH_BULK_MAX_BYTES=limit),
        cli_timeout=60,
    )
    assert run.code == 0, run.stderr
    assert run.report["indexed"] == 2000
    bulks = [r["length"] for r in seen if r["path"] == "/_bulk"]
    assert max(bulks) <= limit, f"largest _bulk body {max(bulks)} bytes, limit {limit}"


def test_bulk_actions_limit_splits_requests(index, produced):
    run = ke.run_index(
        ke.build_event(produced), ke.index_env(index, ELASTICSEARCH_BULK_MAX_ACTIONS=700), cli_timeout=120
    )
    assert run.code == 0, run.stderr
    assert (run.report["indexed"], run.report["requests"]) == (3000, 5)  # 4 x 700 + 200
    assert ke.count(index) == 3000


def test_gzip_bodies(index, produced, proxy):
    seen = ke.record_requests(proxy)
    records = produced[:1000]
    run = ke.run_index(
        ke.build_event(records), ke.index_env(index, es_url=proxy.url, ELASTICSEARCH_GZIP="true"), cli_timeout=120
    )
    assert run.code == 0, run.stderr
    assert run.report["indexed"] == 1000
    bulks = [r for r in seen if r["path"] == "/_bulk"]
    assert bulks and all(r["encoding"] == "gzip" for r in bulks), bulks
    assert sum(r["length"] for r in bulks) < 1000 * 150  # ~450 bytes a document uncompressed
    assert ke.all_docs(index) == expected_docs(records)


# ------------------------------------------------------------------ 5. faults


def good_records(produced, n, step=7, start=0):
    return sorted(produced[start::step][:n], key=lambda r: (r.partition, r.offset))


@pytest.mark.parametrize(
    "status, error",
    [(429, None), (503, None), (400, {"type": "es_rejected_execution_exception", "reason": "queue full"})],
    ids=["429", "503", "400-rejected-execution"],
)
def test_item_rejections_are_retried(status, error, index, produced, proxy):
    records = good_records(produced, 200)
    options = {"error": error} if error else {}
    proxy.set_mode("bulk_items", status=status, items=[0, 3, 7], times=3, **options)
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=60)
    assert run.code == 0, run.stderr
    assert_accounted(run, 200)
    assert (run.report["indexed"], run.report["dead_lettered"]) == (200, 0)
    # 200 items (3 refused), then 3 (1 refused: position 0), 1 (refused), 1 (taken).
    assert run.report["requests"] == 4
    assert proxy.stats.snapshot()["bulk_items_injected"] == 5
    assert ke.count(index) == 200 and ke.count(dl(index)) == 0


def test_permanently_refused_items_are_reported_failed(index, produced, proxy):
    records = good_records(produced, 100)
    proxy.set_mode("bulk_items", status=429, count=2, pick="first")  # always the first 2 items
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=3, timeout=30)
    assert run.code == 1
    assert_accounted(run, 100)
    assert (run.report["indexed"], run.report["failed"]) == (98, 2)
    assert run.failures == [(r.batch_key, r.offset) for r in records[:2]]
    assert all(isinstance(offset, int) for _, offset in run.failures)
    assert_reasons(run, "429")
    assert run.report["requests"] > 2  # retried while there was time
    assert run.seconds < 3 + 5
    assert ke.count(index) == 98
    assert all(ke.get_doc(index, r.doc_id) is None for r in records[:2])


def test_permanent_429_on_every_bulk_request_fails_every_record(index, proxy):
    records, expect = mixed_records()
    proxy.set_mode("status", status=429, match=r"_bulk")
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=3, timeout=30)
    assert run.code == 1
    assert_accounted(run, len(records))
    assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (0, 0, len(records))
    # Each record once, in the event's order, as "<topic>-<partition>" and its offset.
    assert run.failures == [(f"{TOPIC}-{r.partition}", r.offset) for r in records]
    assert run.report["requests"] > 1
    assert_reasons(run, "429")
    assert run.seconds < 3 + 5
    assert ke.count(index) == 0 and ke.count(dl(index)) == 0


def test_document_refused_by_elasticsearch_is_dead_lettered(index, produced, proxy):
    records = good_records(produced, 50)
    error = {"type": "document_parsing_exception", "reason": "failed to parse field [ip] (injected)"}
    proxy.set_mode("bulk_items", status=400, error=error, items=[2, 5], times=1)
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=60)
    assert run.code == 0, run.stderr
    assert_accounted(run, 50)
    assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (48, 2, 0)
    letters = ke.dead_letters(dl(index))
    assert set(letters) == {records[2].doc_id, records[5].doc_id}
    for r in (records[2], records[5]):
        letter = letters[r.doc_id]
        assert letter["stage"] == "index"
        assert "document_parsing_exception" in letter["reason"] and "failed to parse field [ip]" in letter["reason"]
        assert letter["raw"] == r.value.decode()
        assert letter["kafka"] == {"topic": r.topic, "partition": r.partition, "offset": r.offset}
        assert ke.get_doc(index, r.doc_id) is None
    assert ke.count(index) == 48


def test_lost_answer_is_retried_without_duplicates(index, proxy):
    records, expect = mixed_records()
    proxy.set_mode("disconnect", forward=True, times=1, match=r"_bulk")  # done, but no answer
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=60)
    assert run.code == 0, run.stderr
    assert_accounted(run, len(records))
    n_dead = sum(e[0] == "dead" for e in expect.values())
    assert (run.report["indexed"], run.report["dead_lettered"]) == (len(records) - n_dead, n_dead)
    assert run.report["requests"] == 2
    assert proxy.stats.snapshot()["disconnects"] == 1
    docs, letters = check_mixed_result(index, records, expect)  # exactly these ids, once each
    assert ke.count(index) == len(docs) and ke.count(dl(index)) == len(letters)
    assert all(ke.get_doc(index, i)["_version"] == 1 for i in list(docs)[:5])


def test_slow_answer_times_out_and_is_retried(index, produced, proxy):
    records = good_records(produced, 100)
    proxy.set_mode("delay", delay_ms=2500, times=1, match=r"_bulk")  # forwarded, answered late
    run = ke.run_index(
        ke.build_event(records), ke.index_env(index, es_url=proxy.url, ELASTICSEARCH_TIMEOUT_MS=1000),
        cli_timeout=60,
    )
    assert run.code == 0, run.stderr
    assert (run.report["indexed"], run.report["requests"]) == (100, 2)
    assert ke.count(index) == 100


def test_hanging_elasticsearch_is_cut_at_the_deadline(index, produced, proxy):
    records = good_records(produced, 50)
    proxy.set_mode("delay", delay_ms=8000, match=r"_bulk")  # every answer 8 s late
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=3, timeout=30)
    assert run.code == 1
    assert_accounted(run, 50)
    assert run.report["failed"] == 50
    assert run.failures == [(r.batch_key, r.offset) for r in records]
    assert_reasons(run, "no answer")
    assert run.seconds < 3 + 2, "the request timeout must shrink to the time left"


def test_elasticsearch_unavailable_fails_every_record_and_loses_none(index, proxy):
    records, expect = mixed_records()
    event = ke.build_event(records)
    proxy.set_mode("status", status=503, match=r"_bulk")
    run = ke.run_index(event, ke.index_env(index, es_url=proxy.url), cli_timeout=3, timeout=30)
    assert run.code == 1
    assert_accounted(run, len(records))
    assert run.report["failed"] == len(records)
    assert sorted(run.failures) == sorted((r.batch_key, r.offset) for r in records)
    assert_reasons(run, "503")
    assert proxy.stats.snapshot()["status_injected"] == run.report["requests"] > 1
    assert run.seconds < 3 + 5
    assert ke.count(index) == 0 and ke.count(dl(index)) == 0
    # Kafka redelivers the failed records once the cluster is back: all of them land.
    proxy.reset()
    again = ke.run_index(event, ke.index_env(index, es_url=proxy.url), cli_timeout=60)
    assert again.code == 0, again.stderr
    check_mixed_result(index, records, expect)


def test_request_too_large_is_sent_again_in_smaller_requests(index, produced, proxy):
    # A server whose request limit is below ours (http.max_content_length, a managed
    # service's cap) answers 413: the records go again, at once, in requests half as large.
    proxy.set_mode("status", status=413, match=r"_bulk", times=2)
    run = ke.run_index(ke.build_event(produced), ke.index_env(index, es_url=proxy.url), cli_timeout=60)
    assert run.code == 0, run.stderr
    assert_accounted(run, len(produced))
    assert run.report["indexed"] == len(produced)
    # 1 refused whole, then halves (1 refused), then quarters...: more requests, no waits.
    assert run.report["requests"] >= 4
    assert proxy.stats.snapshot()["status_injected"] == 2
    assert ke.count(index) == len(produced)


def test_a_record_too_large_for_the_server_fails_alone(index, proxy):
    records = [ke.KRecord(TOPIC, 0, n, line) for n, line in enumerate(ke.generate_lines(8, seed=9, start=START))]
    proxy.set_mode("status", status=413, match=r"_bulk")
    run = ke.run_index(ke.build_event(records), ke.index_env(index, es_url=proxy.url), cli_timeout=30)
    assert_accounted(run, 8)
    assert run.report["failed"] == 8
    assert_reasons(run, "413")
    # Halved by bytes until each record went alone: at least one request each, and the
    # larger ones before (at most 1 + 2 + 4 + 8 when the halves are even).
    assert 8 < run.report["requests"] <= 15


def test_elasticsearch_unreachable_at_cold_start_fails_fast(index):
    port = free_port()  # nothing listens there
    records = [ke.KRecord(TOPIC, 0, n, b"any line") for n in range(3)]
    run = ke.run_index(
        ke.build_event(records), ke.index_env(index, es_url=f"http://127.0.0.1:{port}"), cli_timeout=10, timeout=30
    )
    assert run.code != 0
    assert run.out is None, "no report may claim anything"
    assert "template" in run.stderr and f"127.0.0.1:{port}" in run.stderr, run.stderr
    assert run.seconds < 10


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"ELASTICSEARCH_API_KEY": "local-test-api-key"}, "ApiKey local-test-api-key"),
        ({"ELASTICSEARCH_API_KEY": "myid:mysecret"}, "ApiKey " + base64.b64encode(b"myid:mysecret").decode()),
        ({"ELASTICSEARCH_USERNAME": "elastic", "ELASTICSEARCH_PASSWORD": "p:w"},
         "Basic " + base64.b64encode(b"elastic:p:w").decode()),
        # The key from the secret (lower-case spelling), the URL from the environment.
        ({"SECRET_NAME": "MWAA_Secrets"}, "ApiKey local-test-api-key"),
        ({}, None),
    ],
    ids=["api-key", "id-and-key", "basic", "secret", "none"],
)
def test_credentials_go_with_every_request(settings, expected, index, proxy):
    """The stand-in ignores credentials (infra/local/README.md), so they are checked on the
    wire."""
    seen = ke.record_requests(proxy)
    records = [ke.KRecord(TOPIC, 0, n, line) for n, line in enumerate(ke.generate_lines(5, seed=9, start=START))]
    unset = ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD", "SECRET_NAME")
    env = ke.index_env(index, es_url=proxy.url, unset=unset, **settings)
    run = ke.run_index(ke.build_event(records), env, cli_timeout=30)
    assert run.code == 0, run.stderr
    assert run.report["indexed"] == 5
    assert {r["path"] for r in seen} >= {"/_bulk", f"/_index_template/logpipe-{index}"}
    assert {r["authorization"] for r in seen} == {expected}
    assert expected is None or expected.split(" ", 1)[1] not in run.stderr, "a credential was printed"


# ------------------------------------------------------------------ 6. the Lambda under the emulator


def invoke(emulator, payload, timeout=240):
    """`cargo lambda invoke indexer --data-file`: (exit code, stdout, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="invoke-", delete=False) as f:
        json.dump(payload, f)
        path = f.name
    try:
        done = subprocess.run(
            ["cargo", "lambda", "invoke", "indexer", "-A", "127.0.0.1", "-P", str(emulator.port),
             "--data-file", path, "--output-format", "json"],
            cwd=ke.ROOT, env=emulator.env, capture_output=True, text=True, timeout=timeout,
        )
    finally:
        os.unlink(path)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def lambda_stack(tmp_path_factory):
    """The indexer Lambda under `cargo lambda watch`, talking to Elasticsearch through a
    fault proxy (pass-through unless a test says otherwise), requests of 20 actions."""
    index = ke.unique_index("lambda")
    with FaultProxy(ES) as p:
        env = {
            "ELASTICSEARCH_URL": p.url,
            "ELASTICSEARCH_INDEX": index,
            "ELASTICSEARCH_DEADLETTER_INDEX": dl(index),
            "ELASTICSEARCH_BULK_MAX_ACTIONS": "20",
            "RUST_LOG": "info",
        }
        log = tmp_path_factory.mktemp("lambda") / "watch.log"
        with LambdaEmulator(env=env, unset=("SECRET_NAME",), log_path=log) as emulator:
            # The first invoke builds the function (if stale) and cold-starts it.
            code, out, err = invoke(emulator, ke.build_event([]), timeout=300)
            assert code == 0, (out, err, emulator.function_log()[-3000:])
            assert json.loads(out) == {"batchItemFailures": []}
            yield emulator, p, index
    ke.drop_index(index)
    ke.drop_index(dl(index))


def test_lambda_indexes_a_good_event(lambda_stack, produced):
    emulator, proxy, index = lambda_stack
    records = good_records(produced, 60, step=10, start=0)  # produced[0:600]
    code, out, err = invoke(emulator, ke.build_event(records, ke.MSK))
    assert code == 0, (out, err)
    assert json.loads(out) == {"batchItemFailures": []}
    docs = ke.all_docs(index)
    assert {i: docs[i] for i in expected_docs(records)} == expected_docs(records)


def test_lambda_dead_letters_bad_records(lambda_stack):
    emulator, proxy, index = lambda_stack
    records, expect = mixed_records()
    code, out, err = invoke(emulator, ke.build_event(records, ke.SELF_MANAGED))
    assert code == 0, (out, err)
    assert json.loads(out) == {"batchItemFailures": []}
    letters = ke.dead_letters(dl(index))
    docs = ke.all_docs(index)
    for doc_id, e in expect.items():
        if e[0] == "indexed":
            assert docs[doc_id] == e[1]
        else:
            assert letters[doc_id]["stage"] == e[1], letters[doc_id]


def test_lambda_lists_the_records_it_could_not_index(lambda_stack, produced):
    """The emulator gives every invocation 600 s, so an Elasticsearch that stays away would
    keep it retrying for 10 minutes: a refusal no retry helps (401 on the first request,
    records 0-19) makes the same answer at once."""
    emulator, proxy, index = lambda_stack
    records = good_records(produced, 60, step=10, start=600)  # produced[600:1200]
    assert all(ke.get_doc(index, r.doc_id) is None for r in records)
    proxy.set_mode("status", status=401, match=r"_bulk", times=1,
                   error={"type": "security_exception", "reason": "unable to authenticate (injected)"})
    code, out, err = invoke(emulator, ke.build_event(records, ke.MSK))
    assert code == 0, (out, err)
    answer = json.loads(out)
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": r.batch_key, "offset": r.offset}} for r in records[:20]
        ]
    }
    assert all(ke.get_doc(index, r.doc_id) is None for r in records[:20])
    assert all(ke.get_doc(index, r.doc_id) is not None for r in records[20:])


def test_lambda_refuses_what_is_not_a_kafka_event(lambda_stack):
    emulator, _, _ = lambda_stack
    code, out, err = invoke(emulator, {"eventSource": "aws:sqs", "Records": []})
    assert code != 0
    assert "InvalidEvent" in out + err and "aws:sqs" in out + err, (out, err)


def test_lambda_reads_its_settings_from_the_secret(tmp_path, produced):
    sm = boto3.client("secretsmanager", endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                      region_name=os.environ.get("AWS_REGION", "us-east-1"))
    secret = json.loads(sm.get_secret_value(SecretId="MWAA_Secrets_V2")["SecretString"])
    assert secret["ELASTICSEARCH_URL"].rstrip("/") == ES  # the only place the function can learn it
    index = ke.unique_index("secret")
    env = {"SECRET_NAME": "MWAA_Secrets_V2", "ELASTICSEARCH_INDEX": index, "RUST_LOG": "info"}
    try:
        with LambdaEmulator(env=env, unset=("ELASTICSEARCH_URL", "ELASTICSEARCH_API_KEY",
                                            "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD"),
                            log_path=tmp_path / "watch.log") as emulator:
            assert "ELASTICSEARCH_URL" not in emulator.env
            records = good_records(produced, 30, step=17)
            code, out, err = invoke(emulator, ke.build_event(records, ke.MSK), timeout=300)
            assert code == 0, (out, err, emulator.function_log()[-3000:])
            assert json.loads(out) == {"batchItemFailures": []}
        assert ke.all_docs(index) == expected_docs(records)
    finally:
        ke.drop_index(index)
        ke.drop_index(dl(index))
