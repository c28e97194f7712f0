"""Bad input against the local stack: a table of broken events, records, payloads,
secrets and settings. Each case asserts a clear error that names what was wrong (and
where), and that nothing is lost: a bad record lands in the dead-letter index with its
reason, stage and Kafka coordinates, or is listed in `batchItemFailures`; a whole input
that cannot be read is refused before anything is written.

What tests/indexer_test.py and tests/producer_test.py already cover (garbage, impossible
dates, non-UTF-8, empty and null values, a missing value, text that is not base64, null
topics; producer payloads with a string count, an unknown field, a bad start, an array;
secrets missing a key, not JSON, an array, a number for the brokers; the producer given a
secret that does not exist) is not repeated here.

Run with the stack started and its environment loaded, binaries built (`make bins`).
"""

import base64
import json
import os
import subprocess
import tempfile
import uuid

import boto3
import pytest

import kafka_events as ke
from lambda_emulator import InvokeError, LambdaEmulator

TOPIC = ke.TOPIC
START = "2026-01-21T22:23:40"
MB = 1 << 20


@pytest.fixture(scope="module", autouse=True)
def stack():
    assert ke.LOGPIPE.exists(), f"{ke.LOGPIPE} missing: make bins"
    try:
        ke.count("logpipe-probe-none")
    except OSError as e:
        pytest.fail(f"Elasticsearch at {ke.ES_URL} is not reachable ({e}): infra/local/stack start")


@pytest.fixture
def index():
    name = ke.unique_index("bad")
    yield name
    ke.drop_index(name)
    ke.drop_index(f"{name}-deadletter")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def good_line(n=0):
    return f'10.0.0.{n % 250 + 1} - - [Jan 21 2026, 22:23:40] "GET /home HTTP/1.1" 200 {1000 + n} "-" "curl/8"'.encode()


def run_index_text(text: bytes, env, timeout=60):
    """`logpipe index --event FILE` on exactly these bytes."""
    with tempfile.NamedTemporaryFile("wb", suffix=".json", prefix="bad-event-", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        done = subprocess.run([str(ke.LOGPIPE), "index", "--event", path, "--timeout", "30"], env=env,
                              capture_output=True, text=True, timeout=timeout, cwd=ke.ROOT)
    finally:
        os.unlink(path)
    return done, path


# ------------------------------------------------------------------ whole events
# An input that is not a Kafka event names nothing that could be dead-lettered: the
# invocation fails (Lambda retries it, then sends it to the mapping's on-failure
# destination), nothing is written, and the error says what is wrong with it.

RECORD = {"topic": TOPIC, "partition": 0, "offset": 1, "value": b64(good_line())}
EVENT = {"eventSource": "aws:kafka", "records": {f"{TOPIC}-0": [RECORD]}}
EVENT_TEXT = json.dumps(EVENT).encode()

WHOLE_EVENTS = {
    "empty file": (b"", "empty"),
    "only whitespace": (b" \n\t\n", "empty"),
    "truncated event": (EVENT_TEXT[: len(EVENT_TEXT) // 2], "unreadable JSON"),
    "truncated after the records": (EVENT_TEXT[:-1], "unreadable JSON"),
    "binary bytes": (bytes(range(256)) * 4, "UTF-8"),
    "UTF-16 text": (EVENT_TEXT.decode().encode("utf-16"), "UTF-8"),
    "a JSON array": (b"[1, 2, 3]", "not a JSON object"),
    "a JSON string": (b'"aws:kafka"', "not a JSON object"),
    "JSON null": (b"null", "not a JSON object"),
    "no eventSource": (json.dumps({"records": EVENT["records"]}).encode(), "no eventSource"),
    "eventSource of another service": (json.dumps({**EVENT, "eventSource": "aws:sqs"}).encode(), '"aws:sqs"'),
    "eventSource not a string": (json.dumps({**EVENT, "eventSource": 7}).encode(), "eventSource"),
    "records a list": (json.dumps({**EVENT, "records": [RECORD]}).encode(), "`records`"),
    "a group that is not an array": (json.dumps({**EVENT, "records": {f"{TOPIC}-0": RECORD}}).encode(), "`records`"),
    "nested 100,000 deep": (b'{"eventSource":"aws:kafka","records":{"t-0":' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
                            "recursion limit"),
    "trailing garbage": (EVENT_TEXT + b" {}", "unreadable JSON"),
}


@pytest.mark.parametrize("text, message", WHOLE_EVENTS.values(), ids=WHOLE_EVENTS.keys())
def test_an_unreadable_event_is_refused_naming_the_problem(text, message, index):
    done, path = run_index_text(text, ke.index_env(index))
    assert done.returncode != 0
    assert done.stdout == "", "no report may claim anything"
    assert message in done.stderr, done.stderr
    assert os.path.basename(path) in done.stderr, f"the error names the file: {done.stderr}"
    assert "panicked" not in done.stderr
    assert ke.count(index) == 0 and ke.count(f"{index}-deadletter") == 0


def test_an_event_file_that_does_not_exist_is_named(index):
    done = subprocess.run([str(ke.LOGPIPE), "index", "--event", "/nonexistent/event.json"],
                          env=ke.index_env(index), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stdout == ""
    assert "/nonexistent/event.json" in done.stderr and "No such file" in done.stderr, done.stderr


# ------------------------------------------------------------------ bad records
# Each case: one bad record between two good ones, in one event. The good ones are
# indexed; the bad one is dead-lettered with a reason containing `reason`, at `stage`,
# under `_id` (its coordinates), or listed as failed; every record is accounted for.


def wire(offset, value=None, partition=0, **fields):
    record = {"topic": TOPIC, "partition": partition, "offset": offset, "timestamp": 0,
              "timestampType": "CREATE_TIME", "key": None, "headers": []}
    if value is not None:
        record["value"] = b64(value) if isinstance(value, bytes) else value
    record.update(fields)
    return record


# name: (record JSON or raw JSON text, expected _id, stage, reason fragment, raw as stored)
BAD_RECORDS = {
    "1 MB line of x": (wire(11, b"x" * MB), f"{TOPIC}-0-11", "parse", "", "x" * MB),
    "1 MB endpoint in a real line": (
        wire(12, good_line().replace(b"/home", b"/" + b"a" * MB)), None, None, None, None),
    "1 MB of random bytes": (wire(13, os.urandom(MB)), f"{TOPIC}-0-13", "parse", "UTF-8", None),
    "line truncated mid-field": (wire(14, good_line()[:40]), f"{TOPIC}-0-14", "parse", "", good_line()[:40].decode()),
    "line truncated mid-UTF-8 character": (
        wire(15, good_line().replace(b"curl/8", "é".encode())[:-2]), f"{TOPIC}-0-15", "parse", "UTF-8", None),
    "NUL bytes": (wire(16, b"\x00" * 64), f"{TOPIC}-0-16", "parse", "", "\x00" * 64),
    "two lines in one record": (wire(17, good_line() + b"\n" + good_line(1)), f"{TOPIC}-0-17", "parse", "", None),
    "whitespace only": (wire(18, b"   \t  "), f"{TOPIC}-0-18", "parse", "", "   \t  "),
    "ANSI escapes and a quote": (wire(19, b'\x1b[31m"red"\x1b[0m \\'), f"{TOPIC}-0-19", "parse", "",
                                 '\x1b[31m"red"\x1b[0m \\'),
    "status out of range": (wire(20, good_line().replace(b" 200 ", b" 99999 ")), f"{TOPIC}-0-20", "parse", "status",
                            None),
    "IPv4 octet out of range": (wire(21, good_line().replace(b"10.0.0.1 ", b"10.0.0.300 ")), f"{TOPIC}-0-21",
                                "parse", "ip", None),
    "base64 without padding": (wire(22, b64(b"abcde").rstrip("=")), f"{TOPIC}-0-22", "decode", "base64", None),
    "URL-safe base64": (wire(23, base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 10).decode()), f"{TOPIC}-0-23",
                        "decode", "base64", None),
    "base64 with line breaks": (wire(24, base64.encodebytes(good_line() * 3).decode()), f"{TOPIC}-0-24",
                                "decode", "base64", None),
    "value a number": (wire(25, 12345), f"{TOPIC}-0-25", "decode", "malformed record", None),
    "value an object": (wire(26, {"line": "x"}), f"{TOPIC}-0-26", "decode", "malformed record", None),
    "offset a string": (wire("27", b"x"), f"{TOPIC}-0-unknown-offset-1", "decode", "field `offset`", None),
    "no offset": ({k: v for k, v in wire(28, good_line()).items() if k != "offset"},
                  f"{TOPIC}-0-unknown-offset-1", "decode", "offset", None),
    "record not an object": ("just a string", f"{TOPIC}-0-unknown-offset-1", "decode", "malformed record", None),
    "partition out of range": (wire(29, b"x", partition=2**40), f"{TOPIC}-0-29", "parse", "", "x"),
}


def check_accounted(run, records_in):
    report = run.report
    assert report["records"] == records_in, report
    assert report["indexed"] + report["dead_lettered"] + report["failed"] == records_in, report
    assert len(run.failures) == report["failed"]


@pytest.mark.parametrize("bad, doc_id, stage, reason, raw", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_a_bad_record_is_dead_lettered_with_its_reason_and_the_rest_indexed(bad, doc_id, stage, reason, raw, index):
    event = {"eventSource": "SelfManagedKafka", "bootstrapServers": ke.BOOTSTRAP,
             "records": {f"{TOPIC}-0": [wire(1, good_line(1)), bad, wire(2, good_line(2))]}}
    run = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    assert "panicked" not in run.stderr
    check_accounted(run, 3)
    docs = ke.all_docs(index)
    letters = ke.dead_letters(f"{index}-deadletter")
    assert {f"{TOPIC}-0-1", f"{TOPIC}-0-2"} <= set(docs), "the good records around it are indexed"
    assert not set(docs) & set(letters), "a record is in one index or the other"
    if doc_id is None:  # may be indexed or refused by the server: accounted either way
        assert len(docs) + len(letters) + run.report["failed"] == 3
        return
    assert run.report == {**run.report, "indexed": 2, "dead_lettered": 1, "failed": 0}, run.report
    assert list(letters) == [doc_id], letters.keys()
    letter = letters[doc_id]
    assert letter["stage"] == stage, letter["stage"]
    assert reason in letter["reason"], letter["reason"]
    assert letter["reason"], "a dead letter always says why"
    assert letter["kafka"]["topic"] == TOPIC
    if raw is not None:
        assert letter.get("raw") == raw
    elif stage == "parse" and "raw_base64" in letter:
        assert base64.b64decode(letter["raw_base64"]) == base64.b64decode(bad["value"]), "raw bytes kept"


def test_a_record_repeated_in_one_event_is_indexed_once(index):
    record = wire(5, good_line(5))
    event = {"eventSource": "aws:kafka", "records": {f"{TOPIC}-0": [record, record], f"{TOPIC}-1": [wire(5, b"bad", 1)]}}
    run = ke.run_index(event, ke.index_env(index), cli_timeout=60)
    check_accounted(run, 3)
    assert run.report["failed"] == 0
    assert list(ke.all_docs(index)) == [f"{TOPIC}-0-5"]
    assert list(ke.dead_letters(f"{index}-deadletter")) == [f"{TOPIC}-1-5"]


def test_an_event_of_only_bad_records_dead_letters_each(index):
    records = [wire(n, os.urandom(n % 200)) for n in range(3000)]
    run = ke.run_index({"eventSource": "aws:kafka", "records": {f"{TOPIC}-2": records}},
                       ke.index_env(index, ELASTICSEARCH_BULK_MAX_ACTIONS=500), cli_timeout=120)
    check_accounted(run, 3000)
    assert ke.count(f"{index}-deadletter") + run.report["failed"] == 3000
    assert ke.count(index) == 0


# ------------------------------------------------------------------ settings and secrets


def secrets():
    return boto3.client("secretsmanager", endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


@pytest.fixture
def secret():
    """secret(string=..., binary=...) -> the name of a throw-away secret."""
    names = []

    def create(**value):
        name = f"bad-input-{uuid.uuid4().hex[:12]}"
        secrets().create_secret(Name=name, **value)
        names.append(name)
        return name

    yield create
    for name in names:
        secrets().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


ES_SETTINGS = ("ELASTICSEARCH_URL", "ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD",
               "SECRET_NAME")

BAD_SECRETS = {
    "URL a number": ({"SecretString": json.dumps({"ELASTICSEARCH_URL": 9200})}, "ELASTICSEARCH_URL"),
    "URL an object": ({"SecretString": json.dumps({"elasticsearch_URL": {"host": "h"}})}, "elasticsearch_URL"),
    "URL null": ({"SecretString": json.dumps({"ELASTICSEARCH_URL": None})}, "ELASTICSEARCH_URL"),
    "API key a list": ({"SecretString": json.dumps({"ELASTICSEARCH_URL": ke.ES_URL, "ELASTICSEARCH_API_KEY": ["k"]})},
                       "ELASTICSEARCH_API_KEY"),
    "URL not http": ({"SecretString": json.dumps({"ELASTICSEARCH_URL": "es.example.com:9200"})}, "ELASTICSEARCH_URL"),
    "blank string": ({"SecretString": " "}, "JSON"),
    "binary secret": ({"SecretBinary": b"\x00\x01binary"}, "SecretString"),
}


@pytest.mark.parametrize("value, message", BAD_SECRETS.values(), ids=BAD_SECRETS.keys())
def test_the_indexer_names_what_is_wrong_with_its_secret(value, message, secret, index):
    name = secret(**value)
    env = ke.index_env(index, unset=ES_SETTINGS, SECRET_NAME=name)
    run = ke.run_index(ke.build_event([ke.KRecord(TOPIC, 0, 1, good_line())]), env, cli_timeout=30, timeout=60)
    assert run.code != 0 and run.out is None, "no report may claim anything"
    assert message in run.stderr, run.stderr
    assert name in run.stderr, f"the error names the secret: {run.stderr}"
    assert "panicked" not in run.stderr


def test_the_indexer_names_a_secret_that_does_not_exist(index):
    env = ke.index_env(index, unset=ES_SETTINGS, SECRET_NAME="no-such-secret-for-logpipe")
    run = ke.run_index(ke.build_event([ke.KRecord(TOPIC, 0, 1, good_line())]), env, cli_timeout=30, timeout=60)
    assert run.code != 0 and run.out is None
    assert "no-such-secret-for-logpipe" in run.stderr, run.stderr
    assert ke.count(index) == 0


BAD_SETTINGS = {
    "URL without scheme": ({"ELASTICSEARCH_URL": "127.0.0.1:9200"}, "ELASTICSEARCH_URL"),
    "upper-case index": ({"ELASTICSEARCH_INDEX": "Logs"}, "ELASTICSEARCH_INDEX"),
    "index with a space": ({"ELASTICSEARCH_INDEX": "my logs"}, "ELASTICSEARCH_INDEX"),
    "bulk bytes not a number": ({"ELASTICSEARCH_BULK_MAX_BYTES": "5MB"}, "ELASTICSEARCH_BULK_MAX_BYTES"),
    "bulk bytes too small": ({"ELASTICSEARCH_BULK_MAX_BYTES": "100"}, "ELASTICSEARCH_BULK_MAX_BYTES"),
    "zero bulk actions": ({"ELASTICSEARCH_BULK_MAX_ACTIONS": "0"}, "ELASTICSEARCH_BULK_MAX_ACTIONS"),
    "negative timeout": ({"ELASTICSEARCH_TIMEOUT_MS": "-1"}, "ELASTICSEARCH_TIMEOUT_MS"),
    "gzip yes": ({"ELASTICSEARCH_GZIP": "yes"}, "ELASTICSEARCH_GZIP"),
    "same index twice": ({"ELASTICSEARCH_DEADLETTER_INDEX": None}, "ELASTICSEARCH_DEADLETTER_INDEX"),
}


@pytest.mark.parametrize("settings, name", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_stops_the_cold_start_naming_it(settings, name, index):
    settings = {k: (v if v is not None else index) for k, v in settings.items()}
    env = ke.index_env(index, **settings)
    run = ke.run_index(ke.build_event([ke.KRecord(TOPIC, 0, 1, good_line())]), env, cli_timeout=30, timeout=60)
    assert run.code != 0 and run.out is None
    assert name in run.stderr, run.stderr
    assert "panicked" not in run.stderr
    assert ke.count(index) == 0


# ------------------------------------------------------------------ producer payloads


@pytest.fixture(scope="module")
def producer_lambda(tmp_path_factory):
    with LambdaEmulator(log_path=tmp_path_factory.mktemp("producer") / "watch.log") as emulator:
        yield emulator


BAD_PAYLOADS = {
    "negative count": ({"count": -1}, "field `count`"),
    "count above the limit": ({"count": 50_000_001}, "at most 50000000"),
    "fractional count": ({"count": 1.5}, "field `count`"),
    "rate zero": ({"count": 1, "rate": 0}, "field `rate`"),
    "IPv6 share above 1": ({"count": 1, "ipv6_share": 1.5}, "field `ipv6_share`"),
    "seed a string": ({"seed": "seven"}, "field `seed`"),
    "realistic a string": ({"realistic": "yes"}, "field `realistic`"),
    "start with an offset": ({"start": "2026-01-21T22:23:40+01:00"}, "field `start`"),
    "a string payload": ("count=5", "invalid payload"),
}


@pytest.mark.parametrize("payload, message", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_the_producer_names_the_bad_field_of_its_payload(payload, message, producer_lambda):
    with pytest.raises(InvokeError) as error:
        producer_lambda.invoke("producer", payload)
    assert "InvalidPayload" in error.value.output or "invalid payload" in error.value.output, error.value.output
    assert message in error.value.output, error.value.output
