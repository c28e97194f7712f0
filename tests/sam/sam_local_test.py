"""Both functions as deployed: the arm64 `sam build` output under `sam local invoke` and
`sam local start-lambda` (containers on the project's Docker engine, qemu for arm64), with the
local stack behind them on the Docker bridge. The event files are the README's
(tests/events/); settings come from the stack's secret, read from the emulator at cold start.

Run by `make sam-test` (stack in SAM mode, `make sam-build` first).
"""

import base64
import json
import os
import uuid

import boto3
import pytest
from botocore.config import Config

import kafka_events as k
from producer_test import assert_exactly_once, markers, published_since
from sam_local import EVENTS, FUNCTIONS, StartLambda, built_template, invoke


def test_the_build_is_arm64_as_deployed():
    # The built template keeps the architecture; the binary is an aarch64 ELF.
    assert "arm64" in built_template().read_text()
    bootstrap = built_template().parent / "ProducerFunction" / "bootstrap"
    header = bootstrap.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 0xB7  # EM_AARCH64


def test_producer_event_file_publishes_its_lines():
    payload = json.loads((EVENTS / "producer.json").read_text())
    before = markers()
    run = invoke("producer", EVENTS / "producer.json")
    assert run.code == 0, run.logs[-3000:]
    report = run.answer
    assert (report["requested"], report["produced"], report["failed"]) == (payload["count"], payload["count"], 0), report
    assert_exactly_once(published_since(before), payload["count"], payload["seed"], report)


def documents_of(event_file):
    event = json.loads(event_file.read_text())
    # By offset: the event files put the three good lines first, then the two bad ones.
    records = sorted((r for batch in event["records"].values() for r in batch), key=lambda r: r["offset"])
    ids = [f"{r['topic']}-{r['partition']}-{r['offset']}" for r in records]
    lines = {i: base64.b64decode(r["value"]).decode() for i, r in zip(ids, records)}
    return ids, lines


@pytest.fixture
def secret():
    """secret(**settings) -> the name of a new secret: the stack's MWAA_Secrets_V2 plus `settings`
    (deleted after the test)."""
    client = boto3.client("secretsmanager")  # AWS_ENDPOINT_URL: the stack's emulator
    made = []

    def make(**settings):
        value = json.loads(client.get_secret_value(SecretId="MWAA_Secrets_V2")["SecretString"])
        made.append(f"sam-{uuid.uuid4().hex[:10]}")
        client.create_secret(Name=made[-1], SecretString=json.dumps({**value, **settings}))
        return made[-1]

    yield make
    for name in made:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.mark.parametrize("event_file", ["msk.json", "self-managed.json"])
def test_indexer_event_file_lands_in_the_index_and_dead_letters(event_file, secret):
    index = k.unique_index("sam")
    ids, lines = documents_of(EVENTS / event_file)
    # `sam local` sets only the variables the template declares: the index names go in a
    # secret of the test's own, as a deployment would set them.
    env = {"SECRET_NAME": secret(ELASTICSEARCH_INDEX=index, ELASTICSEARCH_DEADLETTER_INDEX=f"{index}-deadletter")}
    try:
        for attempt in (1, 2):  # the second delivery of the same event creates nothing new
            run = invoke("indexer", EVENTS / event_file, env=env)
            assert run.code == 0, run.logs[-3000:]
            assert run.answer == {"batchItemFailures": []}, run.answer
            [batch] = run.log_lines("indexed batch")
            assert (batch["records"], batch["indexed"], batch["dead_lettered"], batch["failed"]) == (5, 3, 2, 0), batch
        assert set(k.all_docs(index)) == set(ids[:3])
        dead = k.dead_letters(f"{index}-deadletter")
        assert set(dead) == set(ids[3:])
        for doc_id, source in dead.items():
            assert source["raw"] == lines[doc_id] and source["reason"], source
        doc = k.get_doc(index, ids[0])
        assert (doc["ip"], doc["timestamp"], doc["status"]) == ("9.180.123.170", "2026-01-21T22:23:40", 404)
    finally:
        k.drop_index(index)
        k.drop_index(f"{index}-deadletter")


def test_indexer_signs_for_opensearch_service_as_deployed_with_iam(secret):
    """The arm64 build signs every request to the stack's SigV4-checking front with the
    credentials SAM hands the function (a role's, with a session token), gzip on, no search
    password. `sam local` leaves the template's `Fn::If` unresolved (an empty string), so the
    variables `SearchAuth=IAM` with a domain ARN sets (tests/template_iam_test.py) are given
    through the env-vars file, as AwsEndpointUrl's is."""
    index = k.unique_index("sam-sigv4")
    ids, _ = documents_of(EVENTS / "msk.json")
    env = {"SECRET_NAME": secret(ELASTICSEARCH_INDEX=index, ELASTICSEARCH_DEADLETTER_INDEX=f"{index}-deadletter",
                                 ELASTICSEARCH_URL=os.environ["ELASTICSEARCH_SIGV4_URL"], ELASTICSEARCH_API_KEY="",
                                 ELASTICSEARCH_GZIP="true"),
           "ELASTICSEARCH_AUTH": "aws-sigv4", "ELASTICSEARCH_AWS_SERVICE": "es"}
    credentials = {"AWS_ACCESS_KEY_ID": os.environ["LOGPIPE_SIGV4_ACCESS_KEY_ID"],
                   "AWS_SECRET_ACCESS_KEY": os.environ["LOGPIPE_SIGV4_SECRET_ACCESS_KEY"],
                   "AWS_SESSION_TOKEN": os.environ["LOGPIPE_SIGV4_SESSION_TOKEN"],
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    try:
        run = invoke("indexer", EVENTS / "msk.json", env=env, credentials=credentials)
        assert run.code == 0, run.logs[-3000:]
        assert run.answer == {"batchItemFailures": []}, (run.answer, run.logs[-3000:])
        [batch] = run.log_lines("indexed batch")
        assert (batch["indexed"], batch["dead_lettered"], batch["failed"]) == (3, 2, 0), batch
        assert set(k.all_docs(index)) == set(ids[:3])
        # A wrong secret key handed to the function: the front refuses, the cold start says why.
        run = invoke("indexer", EVENTS / "msk.json", env=env,
                     credentials={**credentials, "AWS_SECRET_ACCESS_KEY": "wrong"})
        assert run.answer != {"batchItemFailures": []}, run.answer
        assert "The request signature we calculated does not match" in run.logs, run.logs[-3000:]
    finally:
        k.drop_index(index)
        k.drop_index(f"{index}-deadletter")


def lambda_client(endpoint):
    # One attempt per invoke: a retried invoke would be a second invocation.
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(read_timeout=300, retries={"total_max_attempts": 1}))


def test_start_lambda_serves_both_functions():
    with StartLambda() as endpoint:
        client = lambda_client(endpoint)
        before = markers()
        answer = client.invoke(FunctionName=FUNCTIONS["producer"],
                               Payload=json.dumps({"count": 200, "seed": 5, "start": "2026-01-21T22:23:40"}))
        assert "FunctionError" not in answer, answer["Payload"].read()
        report = json.loads(answer["Payload"].read())
        assert report["produced"] == 200
        assert_exactly_once(published_since(before), 200, 5, report)

        # A bad payload is the function's error, with its type, as Lambda reports it.
        answer = client.invoke(FunctionName=FUNCTIONS["producer"], Payload=json.dumps({"count": "many"}))
        assert answer.get("FunctionError") == "Unhandled"
        error = json.loads(answer["Payload"].read())
        assert error["errorType"] == "InvalidPayload" and "count" in error["errorMessage"], error

        answer = client.invoke(FunctionName=FUNCTIONS["indexer"], Payload=(EVENTS / "msk.json").read_bytes())
        assert "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == {"batchItemFailures": []}
