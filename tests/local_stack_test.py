"""Smoke test of the local stack (tansu + moto_server), not of logpipe itself.

Run with the stack started:
    infra/local/stack start
    eval "$(infra/local/stack env)"
    pytest tests/local_stack_test.py

Without the env lines it falls back to the stack's defaults. It fails (does not skip)
when the stack is down: a silent skip would hide a broken stack.
"""

import json
import os
import time
import uuid

import boto3
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
TOPIC = os.environ.get("KAFKA_TOPIC", "billion_website_logs")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
ES_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
PARTITIONS = 3
N = 1000


def test_produce_and_consume_1000_messages():
    run = uuid.uuid4().hex  # tells this run's messages apart on a broker that already has data
    # Same producer settings the real producer will use (DESIGN.md section 5).
    producer = Producer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": 5,
        }
    )
    errors, delivered = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    sent = {}
    for i in range(N):
        key = f"{run}-{i}".encode()
        value = f'10.0.0.{i % 256} - - [Jan 21 2026, 22:23:40] "GET /home HTTP/1.1" 200 {1000 + i} "-" "smoke"'.encode()
        sent[key] = value
        producer.produce(TOPIC, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0, "messages still queued after 30 s"
    assert errors == []
    assert len(delivered) == N

    by_partition = {}
    for p, off, _, _ in delivered:
        by_partition.setdefault(p, []).append(off)
    # Keys hash over all partitions: the topic really has 3 and the broker serves each.
    assert sorted(by_partition) == list(range(PARTITIONS))

    # Assign partitions directly from the first delivered offset: a consumer group's first
    # join on tansu takes ~20 s.
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"smoke-{run}",  # required by the client, unused without subscribe()
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(TOPIC, p, min(offs)) for p, offs in by_partition.items()])
    received = {}
    last_offset = {}
    deadline = time.monotonic() + 60
    try:
        while len(received) < N and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=1.0):
                assert msg.error() is None, msg.error()
                if not msg.key().startswith(run.encode()):
                    continue
                # Offsets grow within a partition.
                assert msg.offset() > last_offset.get(msg.partition(), -1)
                last_offset[msg.partition()] = msg.offset()
                assert msg.key() not in received, f"duplicate {msg.key()!r}"
                received[msg.key()] = (msg.partition(), msg.offset(), msg.value())
    finally:
        consumer.close()

    assert len(received) == N
    assert {k: v for k, (_, _, v) in received.items()} == sent
    # Each message came back from the partition and offset its delivery report named.
    assert received == {k: (p, off, v) for p, off, k, v in delivered}


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "MWAA_Secrets_V2",
            {
                "KAFKA_BOOTSTRAP_SERVER": BOOTSTRAP,
                "ELASTICSEARCH_URL": ES_URL,
                "ELASTICSEARCH_API_KEY": "local-test-api-key",
            },
        ),
        (
            "MWAA_Secrets",
            {
                "kafka_bootstrap_server": BOOTSTRAP,
                "elasticsearch_URL": ES_URL,
                "elasticsearch_API_Key": "local-test-api-key",
            },
        ),
    ],
)
def test_secrets_readable(name, expected):
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=ENDPOINT,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    answer = sm.get_secret_value(SecretId=name)
    assert answer["Name"] == name
    assert json.loads(answer["SecretString"]) == expected
