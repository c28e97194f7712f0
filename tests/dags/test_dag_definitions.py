"""The DAGs in dags/ as Airflow loads them: they import cleanly, keep the original DAG ids and
schedules, and invoke the Lambdas the intended way (one synchronous invocation per task try,
no SDK retries, payloads as JSON strings, function names from Variables)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import botocore.exceptions
import pytest
import yaml
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.utils.context import VariableAccessor

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
INVOKES = {
    # dag id: (invoke task, check task, payload, Variable, default function name)
    "log_generation_pipeline": ("produce_logs", "check_delivered", {"count": 15000},
                                "logpipe_producer_function", "logpipe-producer-prod"),
    "log_consumer_pipeline": ("drain_topic", "check_placed",
                              {"drain": {"max_records": 100000, "max_seconds": 90}},
                              "logpipe_indexer_function", "logpipe-indexer-prod"),
}
LAMBDA_MAX_TIMEOUT = 900
# Triggered by hand, with params: tested on its own below.
RECOVERY = "log_recovery_pipeline"


def test_every_dag_file_imports_without_errors_and_no_example_dags(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted([*INVOKES, RECOVERY])
    assert all(Path(dag.fileloc).parent == DAGS for dag in dagbag.dags.values())
    # Each DAG file holds its DAG; the shared module is not parsed as a DAG file (.airflowignore).
    assert sorted(Path(dag.fileloc).name for dag in dagbag.dags.values()) == \
        sorted(Path(stat.file).name for stat in dagbag.dagbag_stats) == \
        sorted(f"{dag_id}.py" for dag_id in [*INVOKES, RECOVERY])


@pytest.mark.parametrize("dag_id", INVOKES)
def test_schedule_and_retries_are_the_originals(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.schedule_interval == "*/5 * * * *"
    assert dag.catchup is False
    for task in dag.tasks:
        assert (task.retries, task.retry_delay) == (1, timedelta(seconds=5))


@pytest.mark.parametrize("dag_id", INVOKES)
def test_the_lambda_is_invoked_synchronously_with_a_json_payload_and_then_checked(dagbag, dag_id):
    invoke_id, check_id, payload, _, _ = INVOKES[dag_id]
    dag = dagbag.get_dag(dag_id)
    invoke = dag.get_task(invoke_id)
    assert isinstance(invoke, LambdaInvokeFunctionOperator)
    assert invoke.invocation_type == "RequestResponse"
    assert isinstance(invoke.payload, str) and json.loads(invoke.payload) == payload
    assert invoke.aws_conn_id == "aws_default"
    # The check reads the invocation's answer.
    assert dag.get_task(check_id).upstream_task_ids == {invoke_id}
    assert dag.get_task(check_id).downstream_task_ids == set()


@pytest.mark.parametrize("dag_id", INVOKES)
def test_the_lambda_client_has_no_sdk_retries_and_outwaits_the_function(dagbag, dag_id, monkeypatch):
    invoke = dagbag.get_dag(dag_id).get_task(INVOKES[dag_id][0])
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(
        {"conn_type": "aws", "login": "test", "password": "test", "extra": {"region_name": "us-east-1"}}))
    config = invoke.hook.conn.meta.config  # the botocore client the task uses
    assert config.read_timeout > LAMBDA_MAX_TIMEOUT
    assert config.retries["total_max_attempts"] == 1
    assert config.tcp_keepalive is True


def function_timeouts():
    """Timeout (s) of each function in infra/template.yaml, by logical function."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation tags
    resources = yaml.load((ROOT / "infra" / "template.yaml").read_text(), Loader)["Resources"]
    return {name: resources[f"{name.capitalize()}Function"]["Properties"]["Timeout"]
            for name in ("producer", "indexer")}


def test_the_invocations_fit_the_deployed_functions(dagbag):
    timeouts = function_timeouts()
    # botocore waits longer than any invocation can run, so it never gives up on a live one.
    for dag_id, (invoke_id, *_) in INVOKES.items():
        invoke = dagbag.get_dag(dag_id).get_task(invoke_id)
        assert invoke.botocore_config["read_timeout"] > max(timeouts.values())
    # A drain ends by its own limit, leaving time to index and commit its last batch.
    drain = json.loads(dagbag.get_dag("log_consumer_pipeline").get_task("drain_topic").payload)["drain"]
    assert drain["max_seconds"] + 20 <= timeouts["indexer"]


@pytest.mark.parametrize("dag_id", INVOKES)
def test_function_names_come_from_variables_with_defaults(dagbag, dag_id, monkeypatch):
    invoke_id, _, _, variable, default = INVOKES[dag_id]
    invoke = dagbag.get_dag(dag_id).get_task(invoke_id)
    context = {"var": {"value": VariableAccessor(deserialize_json=False)}}
    monkeypatch.delenv(f"AIRFLOW_VAR_{variable.upper()}", raising=False)
    assert invoke.render_template(invoke.function_name, context) == default
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable.upper()}", "logpipe-prod-fn")
    assert invoke.render_template(invoke.function_name, context) == "logpipe-prod-fn"


class _Lambda(http.server.BaseHTTPRequestHandler):
    """A Lambda Invoke API that fails: 500 at once, or no answer for `delay` seconds."""

    requests: list[str] = []
    delay = 0.0

    def do_POST(self):
        type(self).requests.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        body = b'{"Type": "Service", "message": "boom"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_lambda(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Lambda)
    _Lambda.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "test", "password": "test",
        "extra": {"endpoint_url": f"http://127.0.0.1:{server.server_address[1]}", "region_name": "us-east-1"}}))
    yield _Lambda
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("delay, error", [
    (0.0, botocore.exceptions.ClientError),            # what botocore retries as a server error
    (2.0, botocore.exceptions.ReadTimeoutError),       # what it retries as a lost answer
])
def test_one_task_try_is_one_invocation(dagbag, failing_lambda, monkeypatch, delay, error):
    """botocore would send the invoke again (up to 3 attempts by default): the function would run
    twice for one task try. With the DAGs' client settings it is sent once."""
    from logpipe_lambda import BOTOCORE_CONFIG

    failing_lambda.delay = delay
    invoke = dagbag.get_dag("log_generation_pipeline").get_task("produce_logs")
    # The DAGs' settings, with a read timeout short enough to reach here.
    monkeypatch.setitem(invoke.botocore_config, "read_timeout", 1)
    assert invoke.botocore_config["retries"] == BOTOCORE_CONFIG["retries"]
    with pytest.raises(error):
        invoke.hook.invoke_lambda(function_name="logpipe-producer", invocation_type="RequestResponse",
                                  payload=invoke.payload)
    assert failing_lambda.requests == ["/2015-03-31/functions/logpipe-producer/invocations"]


@pytest.mark.parametrize("dag_id, good, bad, message", [
    ("log_generation_pipeline",
     {"topic": "t", "requested": 15000, "produced": 15000, "failed": 0},
     {"topic": "t", "requested": 15000, "produced": 14990, "failed": 10},
     "10 of 15000 lines were not delivered to t"),
    ("log_consumer_pipeline",
     {"records": 2000, "indexed": 1997, "dead_lettered": 3, "failed": 0, "stopped": "caught_up"},
     {"records": 2000, "indexed": 1990, "dead_lettered": 3, "failed": 7, "stopped": "failures"},
     "7 of 2000 records were neither indexed nor dead-lettered"),
])
def test_the_check_fails_the_run_when_the_counts_say_records_failed(dagbag, dag_id, good, bad, message):
    from airflow.exceptions import AirflowFailException

    check = dagbag.get_dag(dag_id).get_task(INVOKES[dag_id][1]).python_callable
    assert check(json.dumps(good)) == good
    with pytest.raises(AirflowFailException, match=message):
        check(json.dumps(bad))
    # An answer that is not the function's counts fails too, saying what came back.
    for answer, what in [("Task timed out", "not a JSON object"), ('{"requested": "many"}', "has no count")]:
        with pytest.raises(AirflowFailException, match=what):
            check(answer)


def test_the_recovery_dag_runs_by_hand_only_and_invokes_the_indexer_once_per_run(dagbag, monkeypatch):
    dag = dagbag.get_dag(RECOVERY)
    assert dag.schedule_interval is None and dag.max_active_runs == 1
    assert all(task.retries == 0 for task in dag.tasks), "a retry would count one more redrive"
    assert dag.params["mode"] == "redrive" and dag.params.get_param("mode").schema["enum"] == ["redrive", "replay"]
    invoke = dag.get_task("recover")
    assert isinstance(invoke, LambdaInvokeFunctionOperator)
    assert invoke.invocation_type == "RequestResponse" and invoke.aws_conn_id == "aws_default"
    assert dag.get_task("build_request").downstream_task_ids == {"recover"}
    assert dag.get_task("check_recovered").upstream_task_ids == {"recover"}
    assert invoke.botocore_config["retries"] == {"total_max_attempts": 1}
    assert invoke.botocore_config["read_timeout"] > max(function_timeouts().values())
    context = {"var": {"value": VariableAccessor(deserialize_json=False)}}
    monkeypatch.delenv("AIRFLOW_VAR_LOGPIPE_INDEXER_FUNCTION", raising=False)
    assert invoke.render_template(invoke.function_name, context) == "logpipe-indexer-prod"


def test_the_recovery_payload_follows_the_mode_and_refuses_params_of_the_other(dagbag):
    from airflow.exceptions import AirflowFailException

    build = dagbag.get_dag(RECOVERY).get_task("build_request").python_callable
    defaults = dict(dagbag.get_dag(RECOVERY).params.dump())
    assert json.loads(build(params=defaults)) == \
        {"redrive": {"max_records": 100000, "max_seconds": 90, "dry_run": False}}
    redrive = dict(defaults, stage="parse", reason="no format", since="2026-01-01T00:00:00Z",
                   max_records=500, dry_run=True)
    assert json.loads(build(params=redrive)) == {"redrive": {
        "stage": "parse", "reason": "no format", "since": "2026-01-01T00:00:00Z",
        "max_records": 500, "max_seconds": 90, "dry_run": True}}
    replay = dict(defaults, mode="replay", source="s3://bucket/failed/")
    assert json.loads(build(params=replay)) == \
        {"replay": {"source": "s3://bucket/failed/", "max_records": 100000, "max_seconds": 90}}
    # The indexer's run ends by its own limit, leaving time to settle its last page.
    assert defaults["max_seconds"] + 20 <= function_timeouts()["indexer"]
    for params, message in [
        (dict(defaults, mode="replay"), "mode replay needs param `source`"),
        (dict(replay, stage="parse"), r"params \['stage'\] are for mode redrive"),
        (dict(defaults, source="kafka://failed"), "param `source` is for mode replay"),
        (dict(defaults, mode="rewind"), "param `mode` is 'rewind'"),
    ]:
        with pytest.raises(AirflowFailException, match=message):
            build(params=params)


def test_the_recovery_check_fails_the_run_when_records_were_left(dagbag):
    from airflow.exceptions import AirflowFailException

    check = dagbag.get_dag(RECOVERY).get_task("check_recovered").python_callable
    good = {"dry_run": False, "records": 120, "moved": 120, "still_failing": 0, "skipped": 0, "failed": 0,
            "pages": 1, "stopped": "caught_up", "elapsed_ms": 40}
    assert check(json.dumps(good)) == good
    with pytest.raises(AirflowFailException, match="3 of 120 records were left"):
        check(json.dumps(dict(good, moved=117, failed=3)))
    with pytest.raises(AirflowFailException, match="has no count"):
        check('{"moved": 1}')
