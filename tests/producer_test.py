"""The producer against the local stack: `logpipe produce` and the producer Lambda under
cargo-lambda's emulator publish every line exactly once, configured from the environment or
from the Secrets Manager emulator in both key spellings, and fail clearly and in bounded
time when they cannot.

Lines are checked against `logpipe generate` with the same seed and start time, read back
from the topic by an independent client (confluent-kafka) between marker records written
before and after each run. Run with the stack started (see local_stack_test.py);
`make bins` builds the binaries.
"""

import json
import os
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import boto3
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from lambda_emulator import InvokeError, LambdaEmulator, free_port

ROOT = Path(__file__).resolve().parent.parent
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
TOPIC = os.environ.get("KAFKA_TOPIC", "billion_website_logs")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
START = "2026-01-21T22:23:40"


def consumer():
    return Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"test-{uuid.uuid4().hex}",
                     "enable.auto.commit": False})


def markers():
    """Appends a marker record to every partition: {partition: its offset}.

    Delivery reports give exact offsets; tansu 0.6 answers ListOffsets with the base offset
    of the last batch rather than the high watermark, so watermarks cannot bracket a run.
    """
    c = consumer()
    try:
        partitions = c.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    finally:
        c.close()
    offsets, errors = {}, []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets[msg.partition()] = msg.offset()

    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for p in partitions:
        producer.produce(TOPIC, key=b"marker", value=b"marker", partition=p, on_delivery=delivered)
    assert producer.flush(30) == 0 and not errors, errors
    return offsets


def published_since(before):
    """Every record appended to the topic between the `before` markers and new ones:
    {partition: [(key, value)]}."""
    after = markers()
    wanted = {p: after[p] - before[p] - 1 for p in after}
    got = {p: [] for p in after}
    c = consumer()
    # Direct assignment: a consumer group's first join on tansu takes ~20 s.
    c.assign([TopicPartition(TOPIC, p, before[p] + 1) for p in after if wanted[p]])
    deadline = time.monotonic() + 60
    try:
        while any(len(got[p]) < wanted[p] for p in got) and time.monotonic() < deadline:
            for msg in c.consume(num_messages=1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                if msg.offset() < after[msg.partition()]:
                    got[msg.partition()].append((msg.key(), msg.value()))
    finally:
        c.close()
    assert {p: len(v) for p, v in got.items()} == wanted, "not every record could be read back"
    return got


def generated(count, seed):
    out = subprocess.run([LOGPIPE, "generate", "--count", str(count), "--seed", str(seed), "--start", START],
                         capture_output=True, check=True, timeout=60)
    return out.stdout.splitlines()


def assert_exactly_once(published, count, seed, report):
    values = [v for records in published.values() for _, v in records]
    # Exactly once: the same multiset of lines as the generator's (duplicates would show).
    assert Counter(values) == Counter(generated(count, seed))
    # Keyed by client address, and the report's per-partition counts are the topic's.
    for records in published.values():
        assert all(v.startswith(k + b" ") for k, v in records)
    assert {int(p): n for p, n in report["partitions"].items()} == \
        {p: len(r) for p, r in published.items() if r}
    # Every line is an access log the parser accepts.
    parsed = subprocess.run([LOGPIPE, "parse"], input=b"\n".join(values) + b"\n",
                            capture_output=True, timeout=60)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert len(parsed.stdout.splitlines()) == count


def produce_cli(*args, env=None, unset=(), timeout=120):
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment.update(env or {})
    return subprocess.run([LOGPIPE, "produce", "--quiet", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout)


def test_cli_publishes_every_line_exactly_once():
    before = markers()
    done = produce_cli("--count", "5000", "--seed", "11", "--start", START)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["requested"], report["produced"], report["failed"], report["seed"]) == (5000, 5000, 0, 11)
    assert report["topic"] == TOPIC
    assert_exactly_once(published_since(before), 5000, 11, report)


def test_cli_reads_the_original_secret_spelling():
    # MWAA_Secrets holds kafka_bootstrap_server (lower case), as the original DAG wrote it.
    before = markers()
    done = produce_cli("--count", "300", "--seed", "12", "--start", START,
                       env={"SECRET_NAME": "MWAA_Secrets"}, unset=("KAFKA_BOOTSTRAP_SERVER",))
    assert done.returncode == 0, done.stderr
    assert_exactly_once(published_since(before), 300, 12, json.loads(done.stdout))


@pytest.fixture(scope="module")
def lambdas():
    # Configured by the secret alone: no Kafka setting in the function's environment.
    with LambdaEmulator(env={"SECRET_NAME": "MWAA_Secrets_V2"}, unset=("KAFKA_BOOTSTRAP_SERVER",)) as emulator:
        yield emulator


def test_lambda_publishes_every_line_exactly_once(lambdas):
    before = markers()
    report = lambdas.invoke("producer", {"count": 4000, "seed": 21, "start": START})
    assert (report["produced"], report["failed"]) == (4000, 0)
    assert_exactly_once(published_since(before), 4000, 21, report)
    # A warm invocation reuses the container's producer.
    report = lambdas.invoke("producer", {"count": 10, "seed": 22, "start": START})
    assert report["produced"] == 10
    log = lambdas.function_log()
    assert log.count('"message":"producer ready"') == 1
    # CloudWatch EMF metrics for each run.
    emf = [json.loads(line) for line in log.splitlines() if line.startswith('{"ElapsedMs"')]
    assert [m["Produced"] for m in emf[-2:]] == [4000.0, 10.0]


@pytest.mark.parametrize("payload, message", [
    ({"count": "many"}, 'field `count`: invalid type: string "many", expected u64'),
    ({"count": 10, "sede": 3}, "unknown field `sede`"),
    ({"start": "Jan 21 2026"}, "field `start`"),
    ([15000], "expected a JSON object"),
    ({"format": "nginx_main"}, "field `format`: unknown variant `nginx_main`"),
])
def test_lambda_rejects_a_bad_payload_naming_the_field(lambdas, payload, message):
    with pytest.raises(InvokeError) as error:
        lambdas.invoke("producer", payload)
    assert "invalid payload" in error.value.output and message in error.value.output


def closed_port():
    return f"127.0.0.1:{free_port()}"


def test_cli_fails_in_bounded_time_when_the_broker_is_unreachable():
    started = time.monotonic()
    done = produce_cli("--count", "100", "--timeout", "20", env={"KAFKA_BOOTSTRAP_SERVER": closed_port()},
                       timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["produced"], report["failed"]) == (0, 100)
    assert "100 of 100 records were not delivered" in done.stderr, done.stderr
    assert elapsed < 25, f"took {elapsed:.1f} s"


def test_lambda_fails_when_the_broker_is_unreachable():
    with LambdaEmulator(env={"KAFKA_BOOTSTRAP_SERVER": closed_port()}) as emulator:
        started = time.monotonic()
        with pytest.raises(InvokeError) as error:
            emulator.invoke("producer", {"count": 50})
        # The function itself is already built by the fixture above or `make bins`.
        assert time.monotonic() - started < 120
    assert "Undelivered" in error.value.output
    assert "50 of 50 records were not delivered" in error.value.output


def secrets():
    return boto3.client("secretsmanager", endpoint_url=ENDPOINT,
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


@pytest.fixture
def secret():
    """A throw-away secret in the emulator: secret(value) -> its name."""
    names = []

    def create(value):
        name = f"test-{uuid.uuid4().hex[:12]}"
        secrets().create_secret(Name=name, SecretString=value)
        names.append(name)
        return name

    yield create
    for name in names:
        secrets().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.mark.parametrize("value, message", [
    ('{"kafka_topic": "t"}', "missing setting KAFKA_BOOTSTRAP_SERVER"),
    ('{"KAFKA_BOOTSTRAP_SERVER": 9092}', "KAFKA_BOOTSTRAP_SERVER"),
    ("not json", "is not JSON"),
    ('["127.0.0.1:9092"]', "must be a JSON object of settings"),
])
def test_cli_names_what_is_wrong_with_the_secret(secret, value, message):
    name = secret(value)
    done = produce_cli("--count", "1", env={"SECRET_NAME": name}, unset=("KAFKA_BOOTSTRAP_SERVER",), timeout=60)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert name in done.stderr or "KAFKA_BOOTSTRAP_SERVER" in done.stderr


def test_cli_names_a_secret_that_does_not_exist():
    done = produce_cli("--count", "1", env={"SECRET_NAME": "no-such-secret"}, timeout=60)
    assert done.returncode != 0
    assert "no-such-secret" in done.stderr, done.stderr


def test_secret_values_never_reach_the_output(secret):
    password = f"pw-{uuid.uuid4().hex}"
    name = secret(json.dumps({"KAFKA_BOOTSTRAP_SERVER": closed_port(), "KAFKA_SASL_USERNAME": "user",
                              "KAFKA_SASL_PASSWORD": password}))
    done = produce_cli("--count", "5", "--timeout", "10", env={"SECRET_NAME": name, "RUST_LOG": "debug"},
                       unset=("KAFKA_BOOTSTRAP_SERVER",), timeout=60)
    assert done.returncode == 1
    assert "not delivered" in done.stderr
    assert password not in done.stdout + done.stderr
