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
