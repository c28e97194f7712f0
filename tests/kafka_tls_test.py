"""Kafka over TLS, end to end: `logpipe produce` and `logpipe drain` (the producer's and the
indexer's code, with the OpenSSL that librdkafka links, built as infra/build/openssl-configure
says) talk to a broker through TLS only, and refuse a broker whose certificate they cannot check.

The stack's tansu does not serve TLS, so each test starts its own tansu (memory storage) behind
a TLS front (kafka_front.py: Python's ssl module on 127.0.0.1, bytes forwarded to the broker).
Every client connection, bootstrap and advertised, goes through the front; the front records
the protocol and cipher it agreed on.
"""

import json
import os
import ssl
import subprocess
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import eshttp
import kafka_events as ke
from kafka_front import broker_behind_front
from tls_certs import make_certificates


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
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with broker_behind_front(log, context) as (bootstrap, front):
        yield bootstrap, certificates, front, version


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
