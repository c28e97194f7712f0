"""SigV4-signed requests (ELASTICSEARCH_AUTH=aws-sigv4) through the local SigV4-checking
front (infra/local/sigv4_front.py: botocore's signer recomputes every signature) in front of
the stack's Elasticsearch-API server, as Amazon OpenSearch Service (`es`) and OpenSearch
Serverless (`aoss`) with IAM would: `logpipe index`, `drain` and `summary`, and the indexer
Lambda under cargo lambda watch, gzip on and off. Wrong secret key, missing or wrong session
token and a skewed clock fail saying so, records reported failed and never dead-lettered;
credentials that rotate during a drain are picked up; a Serverless time-series collection's
refusal of our `_id`s is a configuration error.

The stack's front is `es`; tests that need `aoss`, a clock offset or handed-out credentials
start a front of their own (a second process on a free port, same server behind).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

import eshttp
import kafka_events as ke
from lambda_emulator import LambdaEmulator, free_port

ROOT = ke.ROOT
FRONT = ROOT / "infra" / "local" / "sigv4_front.py"
STACK_FRONT = os.environ.get("ELASTICSEARCH_SIGV4_URL", "")
KEY = os.environ.get("LOGPIPE_SIGV4_ACCESS_KEY_ID", "")
SECRET = os.environ.get("LOGPIPE_SIGV4_SECRET_ACCESS_KEY", "")
TOKEN = os.environ.get("LOGPIPE_SIGV4_SESSION_TOKEN", "")
REGION = "us-east-1"
BAD_SIGNATURE = "The request signature we calculated does not match"
BAD_TOKEN = "The security token included in the request is invalid"
EXPIRED = "Signature expired"
# Other credentials of the stack's environment (moto's) must not be what signs.
AUTH_SETTINGS = ("ELASTICSEARCH_API_KEY", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_PASSWORD", "SECRET_NAME",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture(scope="module", autouse=True)
def stack():
    assert ke.LOGPIPE.exists(), f"{ke.LOGPIPE} missing: cargo build --workspace --bins --locked"
    assert STACK_FRONT and KEY, "the stack's environment is not loaded: eval \"$(infra/local/stack env)\""
    try:
        answer = eshttp.call("GET", "/", base=STACK_FRONT, timeout=5)
    except OSError as e:
        pytest.fail(f"the SigV4 front at {STACK_FRONT} is not reachable ({e}): infra/local/stack start")
    # Unsigned: refused as the service does.
    assert answer.status == 403 and "Missing Authentication Token" in answer.body.decode(), answer


class Front:
    """A SigV4 front of the test's own (another service, clock or credentials)."""

    def __init__(self, service, **options):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, str(FRONT), "--port", str(self.port), "--upstream", ke.ES_URL,
                "--upstream-api-key", os.environ.get("LOGPIPE_ES_API_KEY", "local-test-api-key"),
                "--service", service, "--region", REGION, "--access-key", KEY, "--secret-key", SECRET,
                "--session-token", TOKEN]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read().decode()
                assert time.monotonic() < deadline, "the front did not listen within 20 s"
                time.sleep(0.1)

    def control(self, **settings):
        request = urllib.request.Request(f"{self.url}/_front/control", data=json.dumps(settings).encode(),
                                         method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def stats(self):
        return json.loads(urllib.request.urlopen(f"{self.url}/_front/stats", timeout=10).read())

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()


@contextlib.contextmanager
def front(service, **options):
    f = Front(service, **options)
    try:
        yield f
    finally:
        f.close()


def stats_of(url):
    return json.loads(urllib.request.urlopen(f"{url}/_front/stats", timeout=10).read())


def signed_env(index, url, service, *, gzip=False, credentials="static", **settings):
    """logpipe's environment: SigV4 for `service` at `url`, credentials from the environment
    (the stack's test keys, with their session token, as a Lambda role's) or from `url`'s
    credentials endpoint (the container provider: short-lived, rotating)."""
    env = ke.index_env(index, es_url=url, unset=AUTH_SETTINGS, ELASTICSEARCH_AUTH="aws-sigv4",
                       ELASTICSEARCH_AWS_SERVICE=service, AWS_REGION=REGION,
                       ELASTICSEARCH_GZIP=str(gzip).lower(),
                       # No profile of the machine's: the chain must find exactly ours.
                       AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                       **settings)
    if credentials == "static":
        env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
    else:
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"{url}/_front/credentials"
    return env


def event_of(records):
    produced = ke.produce(records)
    return produced, ke.build_event(produced)


def lines(count, seed):
    return ke.generate_lines(count, seed) + [b"not an access log"]


@pytest.fixture
def index():
    name = ke.unique_index("sigv4")
    yield name
    ke.drop_index(name)
    ke.drop_index(f"{name}-deadletter")


def summary(env):
    done = subprocess.run([str(ke.LOGPIPE), "summary"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("service,gzip", [("es", False), ("es", True), ("aoss", False), ("aoss", True)])
def test_index_and_summary_signed(index, service, gzip):
    with contextlib.ExitStack() as stack:
        url = STACK_FRONT if service == "es" else stack.enter_context(front("aoss")).url
        before = stats_of(url)
        produced, event = event_of(lines(40, seed=hash((service, gzip)) % 1000))
        env = signed_env(index, url, service, gzip=gzip)
        run = ke.run_index(event, env)
        assert run.code == 0, run.stderr
        assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (40, 1, 0)
        assert ke.count(index) == 40 and ke.count(f"{index}-deadletter") == 1
        # Serverless has no _refresh: summary does without (the front refuses it for aoss).
        text = summary(env)
        assert "40" in text, text
        after = stats_of(url)
        signed = sum(after["accepted"].values()) - sum(before["accepted"].values())
        assert signed >= 4, after  # templates, _bulk, summary's searches
        assert sum(after["refused"].values()) == sum(before["refused"].values()), after


def test_failures_say_why(index):
    """Each bad credential or clock fails at the first request (the template check), saying so."""
    _, event = event_of(lines(5, seed=7))
    cases = [
        ({"AWS_SECRET_ACCESS_KEY": SECRET + "-wrong"}, (), BAD_SIGNATURE),
        ({}, ("AWS_SESSION_TOKEN",), BAD_TOKEN),
        ({"AWS_SESSION_TOKEN": TOKEN + "-wrong"}, (), BAD_TOKEN),
    ]
    for change, unset, message in cases:
        env = signed_env(index, STACK_FRONT, "es")
        env.update(change)
        for name in unset:
            env.pop(name)
        run = ke.run_index(event, env)
        assert run.code != 0 and message in run.stderr, (change, unset, run.stderr)
        assert "403" in run.stderr, run.stderr
    with front("es") as skewed:
        skewed.control(clock_offset_s=400)  # the front's clock is 6 min 40 s ahead of ours
        run = ke.run_index(event, signed_env(index, skewed.url, "es"))
        assert run.code != 0 and EXPIRED in run.stderr, run.stderr
    assert ke.count(index) == 0 and ke.count(f"{index}-deadletter") == 0


def test_serverless_time_series_refusal_is_a_configuration_error(index):
    with front("aoss", collection_type="timeseries") as timeseries:
        _, event = event_of(lines(10, seed=11))
        run = ke.run_index(event, signed_env(index, timeseries.url, "aoss"))
    assert run.code != 0
    assert (run.report["indexed"], run.report["dead_lettered"], run.report["failed"]) == (0, 0, 11)
    assert "type search" in run.report["configuration_error"], run.report
    assert len(run.failures) == 11
    assert ke.count(f"{index}-deadletter") == 0


def test_drain_picks_up_rotating_credentials():
    """Credentials from the container endpoint, valid 60.4 s: refreshed 60 s before expiry,
    so every 0.4 s a new key is fetched while the drain runs; none is refused."""
    run = uuid.uuid4().hex[:10]
    topic = f"sigv4-{run}"
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": ke.BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
        future.result(15)
    index = f"sigv4-drain-{run}"
    try:
        with front("aoss", lifetime=60.4) as rotating:
            env = signed_env(index, rotating.url, "aoss", gzip=True, credentials="container",
                             KAFKA_TOPIC=topic, KAFKA_GROUP_ID=topic, KAFKA_BOOTSTRAP_SERVER=ke.BOOTSTRAP,
                             ELASTICSEARCH_BULK_MAX_ACTIONS="40")
            ke.produce(lines(3000, seed=5), topic=topic)
            started = time.monotonic()
            done = subprocess.run([str(ke.LOGPIPE), "drain", "-q", "--idle-seconds", "1"], env=env,
                                  capture_output=True, text=True, timeout=120)
            seconds = time.monotonic() - started
            assert done.returncode == 0, done.stderr
            report = json.loads(done.stdout)
            assert (report["indexed"], report["dead_lettered"], report["failed"]) == (3000, 1, 0), report
            stats = rotating.stats()
        assert stats["refused"] == {}, stats
        keys = [key for key in stats["accepted"] if key.startswith("ASIAFRONT")]
        assert len(keys) >= 2 and stats["issued"] >= 2, (stats, seconds)
        assert ke.count(index) == 3000
    finally:
        ke.drop_index(index)
        ke.drop_index(f"{index}-deadletter")
        admin.delete_topics([topic])


def invoke(emulator, payload, timeout=600):
    return emulator.invoke("indexer", payload, timeout=timeout)


def test_lambda_signed_and_its_credentials_going_bad(index, tmp_path):
    """The indexer Lambda (cargo lambda watch), Serverless, gzip, credentials from the container
    endpoint: indexes; then the credentials handed out go bad (wrong secret, wrong token) or
    the clock drifts, and records are reported failed, never dead-lettered; then it recovers."""
    with front("aoss", lifetime=60.2) as f:
        env = signed_env(index, f.url, "aoss", gzip=True, credentials="container")
        with LambdaEmulator(env=env, unset=AUTH_SETTINGS, log_path=tmp_path / "watch.log") as emulator:
            produced, event = event_of(lines(30, seed=3))
            assert invoke(emulator, event) == {"batchItemFailures": []}, emulator.function_log()[-3000:]
            assert ke.count(index) == 30 and ke.count(f"{index}-deadletter") == 1
            for control, message in [({"issue": "wrong-secret"}, BAD_SIGNATURE),
                                     ({"issue": "wrong-token"}, BAD_TOKEN),
                                     ({"issue": "good", "clock_offset_s": 400}, EXPIRED)]:
                f.control(**control)
                time.sleep(0.3)  # the cached credentials are due for refresh
                produced, event = event_of(lines(5, seed=len(message)))
                answer = invoke(emulator, event)
                assert len(answer["batchItemFailures"]) == 6, (control, answer)
                assert message in emulator.function_log(), (control, emulator.function_log()[-3000:])
            f.control(issue="good", clock_offset_s=0)
            time.sleep(0.3)
            produced, event = event_of(lines(5, seed=99))
            assert invoke(emulator, event) == {"batchItemFailures": []}
    assert ke.count(f"{index}-deadletter") == 2  # the first event's and the last one's


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_redrive_signed(index, service):
    """`logpipe redrive` through the front: its searches, mapping update, creates and deletes
    are all signed (for aoss without `_refresh`, which Serverless does not have)."""
    from redrive_test import FORMAT, line
    with contextlib.ExitStack() as stack:
        url = STACK_FRONT if service == "es" else stack.enter_context(front("aoss")).url
        env = signed_env(index, url, service)
        env.pop("LOG_FORMAT", None)
        _, event = event_of([line(i, "sigv4") for i in range(30)])
        run = ke.run_index(event, env)
        assert run.code == 0 and run.report["dead_lettered"] == 30, run.stderr
        # What Serverless does by itself within seconds (it has no `_refresh` to ask for):
        # the letters become searchable. Done on the server behind the front.
        assert eshttp.call("POST", f"/{index}-deadletter/_refresh").status == 200
        before = stats_of(url)
        env["LOG_FORMAT"] = FORMAT
        done = subprocess.run([str(ke.LOGPIPE), "redrive", "-q"], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert (report["records"], report["moved"], report["failed"]) == (30, 30, 0), report
        after = stats_of(url)
        assert sum(after["refused"].values()) == sum(before["refused"].values()), after
        assert sum(after["accepted"].values()) - sum(before["accepted"].values()) >= 3, after
    assert ke.count(index) == 30 and ke.count(f"{index}-deadletter") == 0


def test_signed_posts_work_where_the_service_ignores_their_query_string(index):
    """OpenSearch Service ignores the URL parameters of a signed POST (the stack's `es` front
    drops them as it does): `_bulk`'s `filter_path` (the full answer is read instead), and
    `ignore_unavailable` of redrive's search (a dead-letter index that does not exist yet is
    still no letters, not an error)."""
    env = signed_env(index, STACK_FRONT, "es")
    done = subprocess.run([str(ke.LOGPIPE), "redrive", "-q"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["records"], report["moved"], report["failed"], report["stopped"]) == (0, 0, 0, "caught_up"), report
    _, event = event_of(lines(20, seed=21))
    run = ke.run_index(event, env)
    assert run.code == 0 and (run.report["indexed"], run.report["dead_lettered"]) == (20, 1), run.stderr
