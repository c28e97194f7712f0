"""Kafka over TLS, end to end: `logpipe produce` and `logpipe drain` (the producer's and the
indexer's code, with the OpenSSL that librdkafka links, built as infra/build/openssl-configure
says) talk to a broker through TLS only, and refuse a broker whose certificate they cannot check.

The stack's tansu does not serve TLS, so each test starts its own tansu (memory storage) that
advertises a TLS front instead of itself: `TlsFront` terminates TLS with Python's ssl module on
127.0.0.1 and forwards the bytes to the broker. Every client connection, bootstrap and
advertised, goes through the front; the front records the protocol and cipher it agreed on.
"""

import asyncio
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
import kafka_events as ke
from tls_certs import make_certificates

ROOT = Path(__file__).resolve().parent.parent
TANSU = ROOT / ".local" / "bin" / "tansu"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsFront:
    """TLS on 127.0.0.1:`port`, plain bytes to 127.0.0.1:`backend`; run in a thread of its own."""

    def __init__(self, context: ssl.SSLContext, port: int, backend: int):
        self.context, self.port, self.backend = context, port, backend
        self.sessions = []  # (protocol, cipher) of each accepted connection
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve(self, client_reader, client_writer):
        tls = client_writer.get_extra_info("ssl_object")
        self.sessions.append((tls.version(), tls.cipher()[0]))
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, broker_writer), self._pipe(broker_reader, client_writer))

    def __enter__(self):
        self.thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        return self

    async def _close(self):
        self.server.close()
        connections = asyncio.all_tasks() - {asyncio.current_task()}
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"tansu exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"tansu did not listen on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture(scope="module", params=[("ec", "TLSv1.3"), ("rsa", "TLSv1.2")], ids=["ec-tls1.3", "rsa-tls1.2"])
def tls_broker(request, tmp_path_factory):
    """A tansu reachable only through a TLS front, with a certificate of the given key type,
    the front allowing only the given protocol version; yields (bootstrap, certificates, front,
    version)."""
    algorithm, version = request.param
    certificates = make_certificates(tmp_path_factory.mktemp(f"kafka-tls-{algorithm}"), algorithm=algorithm)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion[version.replace(".", "_")]
    context.load_cert_chain(certificates["cert"], certificates["key"])
    broker_port, tls_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with open(log, "wb") as out:
        broker = subprocess.Popen(
            [TANSU, "broker", "--storage-engine", "memory://tansu/",
             "--listener-url", f"tcp://127.0.0.1:{broker_port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{tls_port}"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(broker_port, broker)
        with TlsFront(context, tls_port, broker_port) as front:
            yield f"127.0.0.1:{tls_port}", certificates, front, version
    finally:
        broker.terminate()
        broker.wait(15)


@pytest.fixture
def pipeline(tls_broker):
    bootstrap, certificates, front, version = tls_broker
    run = uuid.uuid4().hex[:10]
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVER=bootstrap, KAFKA_SECURITY_PROTOCOL="SSL",
               KAFKA_CA_CERT=str(certificates["ca"]), KAFKA_TOPIC=f"tls-{run}", KAFKA_GROUP_ID=f"tls-{run}",
               ELASTICSEARCH_URL=ke.ES_URL, ELASTICSEARCH_INDEX=f"tls-{run}",
               ELASTICSEARCH_DEADLETTER_INDEX=f"tls-{run}-dead")
    admin = AdminClient({"bootstrap.servers": bootstrap, "security.protocol": "SSL",
                         "ssl.ca.location": str(certificates["ca"])})
    for future in admin.create_topics([NewTopic(env["KAFKA_TOPIC"], 2, 1)]).values():
        future.result(30)
    yield env, front, version
    for index in (env["ELASTICSEARCH_INDEX"], env["ELASTICSEARCH_DEADLETTER_INDEX"]):
        eshttp.delete_index(index)


def logpipe(args, env, timeout=180):
    return subprocess.run([ke.LOGPIPE, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_lines_produced_and_drained_over_tls_are_all_indexed(pipeline, compression):
    env, front, version = pipeline
    env["KAFKA_COMPRESSION"] = compression
    seen = len(front.sessions)

    produced = logpipe(["produce", "--quiet", "--count", "3000", "--seed", "23"], env)
    assert produced.returncode == 0, produced.stderr[-3000:]
    report = json.loads(produced.stdout)
    assert (report["produced"], report["failed"]) == (3000, 0)

    drained = logpipe(["drain", "--quiet"], env)
    assert drained.returncode == 0, drained.stderr[-3000:]
    answer = json.loads(drained.stdout)
    assert (answer["records"], answer["indexed"], answer["dead_lettered"]) == (3000, 3000, 0)
    assert eshttp.count(env["ELASTICSEARCH_INDEX"]) == 3000

    # Every connection of both programs went through the front, with the protocol it allows.
    sessions = front.sessions[seen:]
    assert len(sessions) >= 2
    assert {protocol for protocol, _ in sessions} == {version}


def test_a_broker_whose_certificate_cannot_be_checked_is_refused(pipeline):
    env, front, _ = pipeline
    del env["KAFKA_CA_CERT"]  # the system's roots do not know the test CA
    env["KAFKA_MESSAGE_TIMEOUT_MS"] = "4000"

    produced = logpipe(["produce", "--quiet", "--count", "10", "--seed", "1"], env, timeout=60)
    assert produced.returncode != 0
    assert "certificate verify failed" in produced.stderr, produced.stderr[-3000:]
