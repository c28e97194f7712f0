"""Faults, with nothing lost: the broker restarted while the producer publishes and while a
drain consumes, Elasticsearch restarted in the middle of an event, the indexer Lambda killed
in the middle of an event and the event delivered again by the event-source mapping stand-in.

Each test ends with the promise checked against the servers: records in = indexed +
dead-lettered, no `_id` twice, nothing reported done that is in neither index.

The tests run a stack of their own (infra/local/stack with its own state directory and
ports), so that killing its servers leaves the shared one alone. Its broker keeps topics in
SQLite (LOGPIPE_KAFKA_STORAGE=sqlite), which tansu writes in one transaction per produce
request, so what it acknowledged survives a KILL. (Its S3 storage does not: it records the
producer's sequence number before it writes the batch, and a broker killed in between answers
the producer's retry "duplicate" for a batch it never stored. The tansu build on PyPI has
neither PostgreSQL nor SQLite storage; the stack builds tansu from crates.io for this.)
Elasticsearch (noida-db) is stopped with TERM, on which it saves its
indices; it otherwise saves about a second after a change, so a KILL could lose answers it
had already given, which real Elasticsearch does not (it syncs its translog before answering).
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
import kafka_events as ke
from faultproxy import FaultProxy
from lambda_emulator import LambdaEmulator, free_port

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "infra" / "local" / "stack"
LOGPIPE = ROOT / "target" / "debug" / "logpipe"
START = "2026-01-21T22:23:40"
BAD_LINES = [b"not an access log", b'1.2.3.4 - - [Feb 30 2026, 10:00:00] "GET / HTTP/1.1" 200 5 "-" "x"',
             b"\xff\xfe binary"]


def wait_for(condition, what, timeout=120, process=None):
    """Polls `condition` until true; fails naming `what`, or early if `process` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {process.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


class OwnStack:
    """infra/local/stack on its own ports and state directory, with durable topics."""

    def __init__(self, state: Path):
        self.state = state
        self.settings = dict(
            os.environ,
            LOGPIPE_STATE_DIR=str(state),
            LOGPIPE_VENV=os.environ.get("LOGPIPE_VENV", str(ROOT / ".local" / "venv")),
            LOGPIPE_KAFKA_PORT=str(free_port()),
            LOGPIPE_ES_PORT=str(free_port()),
            LOGPIPE_MOTO_PORT=str(free_port()),
            LOGPIPE_KAFKA_STORAGE="sqlite",
        )
        self.env = {}

    def run(self, command):
        # `make stack-test` installs the SQLite tansu beforehand; a first `start` may build it.
        done = subprocess.run([STACK, command], env=self.settings, capture_output=True, text=True,
                              timeout=1800)
        assert done.returncode == 0, f"stack {command}: {done.stderr[-3000:]}"
        return done.stdout

    def start(self):
        """Starts what is not running: the whole stack, or a server killed by a test."""
        self.run("start")
        self.env = dict(os.environ)
        for line in self.run("env").splitlines():
            name, value = line.removeprefix("export ").split("=", 1)
            self.env[name] = shlex.split(value)[0] if value else ""
        self.bootstrap = self.env["KAFKA_BOOTSTRAP_SERVER"]
        self.es_url = self.env["ELASTICSEARCH_URL"]

    def stop(self):
        self.run("stop")

    def kill(self, server, sig=signal.SIGKILL):
        """Signals one of our servers by the PID in its pid file and waits until it is gone."""
        pid = int((self.state / "run" / f"{server}.pid").read_text().split()[0])
        os.kill(pid, sig)
        wait_for(lambda: not _alive(pid), f"{server} (pid {pid}) ended", timeout=30)

    def new_topic(self, partitions=3):
        topic = f"fault-{uuid.uuid4().hex[:10]}"
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
            future.result(15)
        return topic

    def pipeline_env(self, topic, **settings):
        """The environment of our programs for one topic, group and index pair."""
        return dict(self.env, KAFKA_TOPIC=topic, KAFKA_GROUP_ID=topic, ELASTICSEARCH_INDEX=topic,
                    ELASTICSEARCH_DEADLETTER_INDEX=f"{topic}-dead", RUST_LOG="warn",
                    **{k: str(v) for k, v in settings.items()})

    def stored_bytes(self):
        """Size of the broker's SQLite files: it grows as produce requests are committed (a
        consumer would be a poor probe: the broker answers fetches slowly while it is written)."""
        return sum(path.stat().st_size for path in (self.state / "data").glob("kafka.db*"))

    def read_topic(self, topic, partitions=3):
        """Every value in `topic`, read up to marker records appended to each partition."""
        ends, errors = {}, []

        def delivered(err, msg):
            if err is not None:
                errors.append(err)
            else:
                ends[msg.partition()] = msg.offset()

        producer = Producer({"bootstrap.servers": self.bootstrap})
        for p in range(partitions):
            producer.produce(topic, b"marker", partition=p, on_delivery=delivered)
        assert producer.flush(30) == 0 and not errors, errors
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "reader", "enable.auto.commit": False})
        values, next_offset = [], {p: 0 for p in range(partitions)}
        try:
            c.assign([TopicPartition(topic, p, 0) for p in range(partitions) if ends[p] > 0])
            deadline = time.monotonic() + 120
            while any(next_offset[p] < ends[p] for p in next_offset):
                assert time.monotonic() < deadline, f"read {next_offset} of {ends}"
                for m in c.consume(num_messages=5000, timeout=1.0):
                    assert m.error() is None, m.error()
                    if m.offset() < ends[m.partition()]:
                        values.append(m.value())
                    next_offset[m.partition()] = max(next_offset[m.partition()], m.offset() + 1)
        finally:
            c.close()
        return values

    def counts(self, env):
        """(documents, dead letters) of a pipeline. An index holds one document per `_id`
        (`{topic}-{partition}-{offset}`), so a record read or produced twice would show as
        one too many, and a lost one as one too few."""
        return tuple(self.count(env[name]) for name in ("ELASTICSEARCH_INDEX", "ELASTICSEARCH_DEADLETTER_INDEX"))

    def count(self, index):
        if eshttp.call("HEAD", f"/{index}", base=self.es_url).status == 404:
            return 0
        return eshttp.count(index, base=self.es_url)


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def generated(count, seed):
    out = subprocess.run([LOGPIPE, "generate", "--count", str(count), "--seed", str(seed), "--start", START],
                         capture_output=True, check=True, timeout=60)
    return out.stdout.splitlines()


def run_json(args, env, timeout=300, ok=(0,)):
    done = subprocess.run([LOGPIPE, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode in ok, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def stack():
    state = Path(tempfile.mkdtemp(prefix="fault-stack-", dir=ROOT / ".local"))
    own = OwnStack(state)
    try:
        own.start()
        yield own
    finally:
        own.stop()
        shutil.rmtree(state, ignore_errors=True)


def test_a_broker_restart_while_the_producer_publishes_loses_and_duplicates_nothing(stack):
    count = 60_000
    topic = stack.new_topic()
    before = stack.stored_bytes()
    producer = subprocess.Popen(
        [LOGPIPE, "produce", "--quiet", "--count", str(count), "--seed", "41", "--start", START],
        env=stack.pipeline_env(topic), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: stack.stored_bytes() > before + 200_000, "records were stored", process=producer)
    stack.kill("kafka")
    assert producer.poll() is None, "the producer was done before the broker went away"
    time.sleep(2)
    stack.start()
    out, err = producer.communicate(timeout=240)
    assert producer.returncode == 0, err[-3000:]
    report = json.loads(out)
    assert (report["produced"], report["failed"]) == (count, 0)
    # Idempotent production: each line once, although batches were sent again after the restart.
    assert Counter(stack.read_topic(topic)) == Counter(generated(count, 41))


def test_a_broker_restart_while_a_drain_consumes_loses_and_duplicates_nothing(stack):
    count = 40_000
    topic = stack.new_topic()
    env = stack.pipeline_env(topic)
    run_json(["produce", "--quiet", "--count", str(count), "--seed", "42"], env)
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    for line in BAD_LINES:
        producer.produce(topic, line)
    assert producer.flush(30) == 0

    drain = subprocess.Popen([LOGPIPE, "drain", "-q", "--idle-seconds", "3"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_for(lambda: stack.count(topic) > 0, "the drain indexed its first documents", timeout=180, process=drain)
    stack.kill("kafka")
    assert drain.poll() is None, "the drain was done before the broker went away"
    time.sleep(2)
    stack.start()
    # The drain rides out the restart or stops with an error; either way, what it committed
    # was placed, and a second drain starts there.
    out, err = drain.communicate(timeout=240)
    assert drain.returncode in (0, 1), err[-3000:]
    second = subprocess.run([LOGPIPE, "drain", "-q", "--idle-seconds", "3"], env=dict(env, RUST_LOG="info"),
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    rest = json.loads(second.stdout)
    assert (rest["stopped"], rest["failed"]) == ("caught_up", 0), (rest, second.stderr[-6000:], err[-6000:])
    assert stack.counts(env) == (count, len(BAD_LINES))


def event_of(topic, count, seed):
    """A Lambda event of `count` generated lines and BAD_LINES on one partition of `topic`."""
    lines = generated(count, seed) + BAD_LINES
    records = [ke.KRecord(topic, 0, offset, line) for offset, line in enumerate(lines)]
    return ke.build_event(records, ke.SELF_MANAGED, bootstrap="127.0.0.1:9092")


def test_elasticsearch_restarted_mid_event_loses_and_duplicates_nothing(stack):
    count = 10_000
    topic = f"fault-{uuid.uuid4().hex[:10]}"
    event = event_of(topic, count, seed=43)
    with FaultProxy(stack.es_url) as proxy, tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(event, file)
        file.flush()
        # 50 bulk requests, each answered after 100 ms: the restart lands between the first
        # and the last.
        proxy.set_mode("delay", delay_ms=100, match=r"_bulk$")
        env = stack.pipeline_env(topic, ELASTICSEARCH_URL=proxy.url, ELASTICSEARCH_BULK_MAX_ACTIONS=200)
        index = subprocess.Popen([LOGPIPE, "index", "--event", file.name, "--timeout", "120"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: stack.count(topic) > 0, "the first documents were indexed", process=index)
        # noida-db saves its indices on TERM but still answers what it is working on, so it
        # could acknowledge documents it then loses (Elasticsearch acknowledges only what is in
        # its translog). The indexer is paused while the server stops, so that nothing is in
        # flight then, and resumes while it is down: its requests meet 502s from the front.
        index.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        stack.kill("elasticsearch", signal.SIGTERM)
        index.send_signal(signal.SIGCONT)
        assert index.poll() is None, "the event was done before Elasticsearch went away"
        time.sleep(3)
        stack.start()
        out, err = index.communicate(timeout=180)
        report = json.loads(out)["report"]
        assert index.returncode == 0 and report["failed"] == 0, (report, err[-3000:])
        assert (report["indexed"], report["dead_lettered"]) == (count, len(BAD_LINES))
        assert stack.counts(env) == (count, len(BAD_LINES))

        # The event again, as a retry of the event-source mapping would bring it: nothing new.
        proxy.reset()
        again = run_json(["index", "--event", file.name], env)["report"]
        assert (again["failed"], again["indexed"] + again["dead_lettered"]) == (0, count + len(BAD_LINES))
    assert stack.counts(env) == (count, len(BAD_LINES))


def descendants(root):
    """[(pid, command line)] of the processes under `root`, from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append((int(stat.parent.name), cmd))
    found, todo = [], [root]
    while todo:
        for pid, cmd in children.get(todo.pop(), []):
            found.append((pid, cmd))
            todo.append(pid)
    return found


def esm(env, lambdas, group, ok=(0,)):
    """`logpipe esm` (the event-source mapping stand-in) against the emulator's indexer."""
    return subprocess.Popen(
        [LOGPIPE, "esm", "-q", "--endpoint", f"http://127.0.0.1:{lambdas.port}", "--group", group,
         "--idle-seconds", "3", "--invoke-timeout", "10", "--retries", "1", "--max-seconds", "200"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_indexer_killed_mid_event_loses_and_duplicates_nothing(stack):
    count = 20_000
    topic = stack.new_topic()
    run_json(["produce", "--quiet", "--count", str(count), "--seed", "44"], stack.pipeline_env(topic))
    with FaultProxy(stack.es_url) as proxy:
        # 20 bulk requests an event, each answered after 100 ms: the kill lands mid-event.
        proxy.set_mode("delay", delay_ms=100, match=r"_bulk$")
        env = stack.pipeline_env(topic, ELASTICSEARCH_URL=proxy.url, ELASTICSEARCH_BULK_MAX_ACTIONS=500)
        with LambdaEmulator(env=env) as lambdas:
            # Started (built if need be) before the mapping's first event.
            lambdas.invoke("indexer", {"eventSource": "aws:kafka", "records": {}})
            mapping = esm(env, lambdas, topic)
            wait_for(lambda: stack.count(topic) > 0, "the first documents were indexed", process=mapping)
            functions = [pid for pid, cmd in descendants(lambdas.process.pid) if cmd.endswith("debug/indexer")]
            assert functions, descendants(lambdas.process.pid)
            for pid in functions:
                os.kill(pid, signal.SIGKILL)
            assert mapping.poll() is None, "the mapping was done before the function died"
            out, err = mapping.communicate(timeout=120)
        # The invocation and its retry failed: the mapping committed nothing past the event.
        first = json.loads(out)
        assert (mapping.returncode, first["stopped"]) == (1, "failures"), err[-3000:]
        assert first["failed"] > 0 and 0 < stack.count(topic) < count

        # Lambda starts a new execution environment for the next attempt (cargo lambda watch
        # does not restart a function that died: a new emulator stands in for it), and the
        # mapping delivers the event again from the committed offsets.
        proxy.reset()
        with LambdaEmulator(env=env) as lambdas:
            mapping = esm(env, lambdas, topic)
            out, err = mapping.communicate(timeout=300)
        rest = json.loads(out)
        assert (mapping.returncode, rest["stopped"], rest["failed"]) == (0, "caught_up", 0), err[-3000:]
        assert first["delivered"] + rest["records"] == count
    assert stack.counts(stack.pipeline_env(topic)) == (count, 0)
