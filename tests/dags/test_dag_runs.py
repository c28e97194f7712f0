"""The DAGs run (`dag.test()`, in-process) against a Lambda Invoke API serving logpipe's functions,
with the local stack behind them: the producer DAG publishes a batch to Kafka, the consumer DAG
drains it into Elasticsearch, and the documents are read back over HTTP. A function that fails
fails the DAG run."""

from __future__ import annotations

import re
import socket

import eshttp
from airflow.utils.state import DagRunState, TaskInstanceState

LINES_PER_RUN = 15_000  # the producer DAG's batch


def result(run, task_id):
    """What a task of a finished DAG run returned (its XCom)."""
    return run.get_task_instance(task_id).xcom_pull(task_ids=task_id)


def states(run):
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def documents(index):
    """Documents in `index`, 0 if it does not exist."""
    if eshttp.call("HEAD", f"/{index}").status == 404:
        return 0
    return eshttp.count(index)


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_the_dags_publish_a_batch_and_index_it(dagbag, lambda_endpoint, use_endpoint, pipeline):
    made = pipeline()
    topic, index = made.topic, made.index
    use_endpoint(lambda_endpoint(**made.env))

    run = dagbag.get_dag("log_generation_pipeline").test()
    assert run.state == DagRunState.SUCCESS, states(run)
    produced = result(run, "check_delivered")
    assert (produced["topic"], produced["requested"], produced["produced"], produced["failed"]) == \
        (topic, LINES_PER_RUN, LINES_PER_RUN, 0)

    run = dagbag.get_dag("log_consumer_pipeline").test()
    assert run.state == DagRunState.SUCCESS, states(run)
    drained = result(run, "check_placed")
    assert (drained["records"], drained["indexed"], drained["dead_lettered"], drained["failed"]) == \
        (LINES_PER_RUN, LINES_PER_RUN, 0, 0)
    assert drained["stopped"] == "caught_up"
    assert sum(drained["committed"].values()) == LINES_PER_RUN  # a fresh topic: offsets from 0

    # The documents, read back from Elasticsearch: all of them, partition by partition as the
    # producer published them, each under its Kafka coordinates.
    assert eshttp.count(index) == LINES_PER_RUN
    answer = eshttp.call("POST", f"/{index}/_search", {
        "size": 20, "aggs": {"partitions": {"terms": {"field": "kafka.partition", "size": 10}}}})
    assert answer.status == 200, answer
    body = answer.json()
    per_partition = {str(b["key"]): b["doc_count"] for b in body["aggregations"]["partitions"]["buckets"]}
    assert per_partition == produced["partitions"]
    for hit in body["hits"]["hits"]:
        doc = hit["_source"]
        assert doc["kafka"]["topic"] == topic
        assert hit["_id"] == f"{topic}-{doc['kafka']['partition']}-{doc['kafka']['offset']}"
        assert doc["method"] in {"GET", "POST", "PUT", "DELETE"} and doc["protocol"] == "HTTP/1.1"
        assert isinstance(doc["status"], int) and isinstance(doc["size"], int)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", doc["timestamp"])
    assert documents(made.deadletter_index) == 0


def test_a_failing_function_fails_the_dag_run(dagbag, lambda_endpoint, use_endpoint, pipeline):
    # The broker is down: the producer cannot deliver and its invocation fails.
    made = pipeline(KAFKA_BOOTSTRAP_SERVER=closed_port(), KAFKA_MESSAGE_TIMEOUT_MS="3000")
    endpoint = lambda_endpoint(**made.env)
    use_endpoint(endpoint)

    run = dagbag.get_dag("log_generation_pipeline").test()
    assert run.state == DagRunState.FAILED
    assert states(run) == {"produce_logs": TaskInstanceState.FAILED,
                           "check_delivered": TaskInstanceState.UPSTREAM_FAILED}
    # Each task try was one invocation (the task's retry, no SDK retry behind it): the function
    # logged its failure once per try.
    tries = 1 + dagbag.get_dag("log_generation_pipeline").get_task("produce_logs").retries
    failures = [line for line in endpoint.log().splitlines()
                if '"target":"producer"' in line and f"{LINES_PER_RUN} of {LINES_PER_RUN} records were not delivered" in line]
    assert len(failures) == tries, failures


# A user's NGINX log_format the default settings (`auto`) do not read.
CUSTOM_FORMAT = '$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time'


def dead_letter(made, lines, first_offset=0):
    """The real indexer (`logpipe index`, LOG_FORMAT unset) on an event of `lines`: each one a
    dead letter of the pipeline's dead-letter index. Returns their ids."""
    import base64
    import json
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    records = [{"topic": made.topic, "partition": 0, "offset": first_offset + n, "timestamp": 0,
                "timestampType": "CREATE_TIME", "key": None, "headers": [],
                "value": base64.b64encode(line.encode()).decode()} for n, line in enumerate(lines)]
    event = {"eventSource": "SelfManagedKafka", "records": {f"{made.topic}-0": records}}
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    env.update(ELASTICSEARCH_INDEX=made.index, ELASTICSEARCH_DEADLETTER_INDEX=made.deadletter_index,
               RUST_LOG="warn")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(event, f)
        f.flush()
        done = subprocess.run([root / "target" / "debug" / "logpipe", "index", "--event", f.name],
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"]["dead_lettered"] == len(lines)
    return [f"{made.topic}-0-{first_offset + n}" for n in range(len(lines))]


def test_the_recovery_dag_redrives_dead_letters_and_fails_while_some_remain(
        dagbag, lambda_endpoint, use_endpoint, pipeline):
    made = pipeline(LOG_FORMAT=CUSTOM_FORMAT)
    use_endpoint(lambda_endpoint(**made.env))
    lines = [f'192.0.2.{n % 250 + 1} [21/Jan/2026:22:23:{n % 60:02d} +0000] "GET /dag/{n} HTTP/1.1" 200 {n} '
             f'rt=0.{n % 1000:03d}' for n in range(300)]
    ids = dead_letter(made, lines)
    dag = dagbag.get_dag("log_recovery_pipeline")

    run = dag.test(run_conf={"mode": "redrive", "stage": "parse"})
    assert run.state == DagRunState.SUCCESS, states(run)
    report = result(run, "check_recovered")
    assert (report["records"], report["moved"], report["still_failing"], report["stopped"]) == \
        (300, 300, 0, "caught_up")
    assert documents(made.index) == 300 and documents(made.deadletter_index) == 0
    answer = eshttp.call("POST", f"/{made.index}/_search", {"size": 300, "_source": False})
    assert sorted(hit["_id"] for hit in answer.json()["hits"]["hits"]) == sorted(ids)

    # A line no format reads stays a dead letter: the run fails, saying it remains.
    dead_letter(made, ["not an access log"], first_offset=300)
    run = dag.test(run_conf={"mode": "redrive"})
    assert run.state == DagRunState.FAILED
    assert states(run) == {"build_request": TaskInstanceState.SUCCESS, "recover": TaskInstanceState.FAILED,
                           "check_recovered": TaskInstanceState.UPSTREAM_FAILED}
    assert documents(made.index) == 300 and documents(made.deadletter_index) == 1


def failure_object(made, lines):
    """What the event-source mapping writes to its S3 on-failure destination for a batch of
    `lines` on partition 1 of the pipeline's topic that it gave up on (the layout AWS documents:
    invocation record with `KafkaBatchInfo` and the event as an escaped JSON string)."""
    import base64
    import json
    import os

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")
    stamp = "2026-01-21T22:23:40.000Z"
    records = [{"topic": made.topic, "partition": 1, "offset": n, "timestamp": 1769034220000,
                "timestampType": "CREATE_TIME", "key": None, "headers": [],
                "value": base64.b64encode(line.encode()).decode()} for n, line in enumerate(lines)]
    payload = json.dumps({"eventSource": "SelfManagedKafka", "bootstrapServers": bootstrap,
                          "records": {f"{made.topic}-1": records}})
    return json.dumps({
        "requestContext": {"requestId": "a3c9f5e2-0d1b-4c1e-9d57-0e1f3a6b2c4d",
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:logpipe-indexer",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": stamp,
        "KafkaBatchInfo": {"batchSize": len(records), "bootstrapServers": bootstrap, "payloadSize": len(payload),
                           "recordsInfo": {f"{made.topic}-1": {
                               "firstRecordOffset": "0", "lastRecordOffset": str(len(records) - 1),
                               "firstRecordTimestamp": stamp, "lastRecordTimestamp": stamp}}},
        "payload": payload,
    })


def test_the_recovery_dag_replays_what_the_mapping_gave_up_on_once(
        dagbag, lambda_endpoint, use_endpoint, pipeline):
    import os

    import boto3

    made = pipeline()
    use_endpoint(lambda_endpoint(**made.env))
    bucket = os.environ.get("LOGPIPE_FAILURE_BUCKET", "logpipe-failed-batches")
    s3 = boto3.client("s3", region_name="us-east-1")  # AWS_ENDPOINT_URL: the stack's moto
    lines = [f'198.51.100.{n % 250 + 1} - - [21/Jan/2026:22:23:{n % 60:02d} +0000] "GET /replay/{n} HTTP/1.1" '
             f'200 {n} "-" "curl/8.5.0"' for n in range(200)]
    key = f"{made.topic}/aws/lambda/0f6c1a52-esm/{made.topic}-1/2026/01/21/2026-01-21T22.23.40-9b2d"
    s3.put_object(Bucket=bucket, Key=key, Body=failure_object(made, lines).encode())
    dag = dagbag.get_dag("log_recovery_pipeline")

    run = dag.test(run_conf={"mode": "replay", "source": f"s3://{bucket}/{made.topic}/"})
    assert run.state == DagRunState.SUCCESS, states(run)
    report = result(run, "check_recovered")
    assert (report["failure_records"], report["done"], report["records"], report["indexed"],
            report["failed"], report["stopped"]) == (1, 1, 200, 200, 0, "done"), report
    assert documents(made.index) == 200  # and refreshed, for the search
    answer = eshttp.call("POST", f"/{made.index}/_search", {"size": 200, "_source": False})
    assert sorted(hit["_id"] for hit in answer.json()["hits"]["hits"]) == \
        sorted(f"{made.topic}-1-{n}" for n in range(200)), "each under its original _id"
    # Marked done: moved under replayed/, so a second run finds nothing and adds nothing.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{made.topic}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [f"{made.topic}/replayed/{key[len(made.topic) + 1:]}"]
    run = dag.test(run_conf={"mode": "replay", "source": f"s3://{bucket}/{made.topic}/"})
    assert run.state == DagRunState.SUCCESS, states(run)
    assert result(run, "check_recovered")["records"] == 0
    assert documents(made.index) == 200 and documents(made.deadletter_index) == 0
