"""log_recovery_pipeline: triggered by hand, the indexer Lambda brings records that did not reach
the index back into it; the run fails while records remain.

- mode `redrive`: dead letters (the query: `stage`, `reason`, `since`) are processed again with the
  function's current settings (LOG_FORMAT, the template); those that now succeed move to the index
  under their original id, those that still fail stay with their reason updated.
- mode `replay`: the records the event-source mapping gave up on, kept in its on-failure
  destination (`source`: `s3://bucket/prefix` or `kafka://topic`), are indexed under their
  original id.

Both are idempotent and safe to trigger again. `dry_run` (redrive) reports what would move and
changes nothing. Airflow Variable `logpipe_indexer_function` names the function (default
`logpipe-indexer-prod`).
"""

from __future__ import annotations

import logging

from airflow import DAG
from airflow.decorators import task
from airflow.exceptions import AirflowFailException
from airflow.models.param import Param
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from logpipe_lambda import BOTOCORE_CONFIG, DEFAULT_ARGS, START_DATE, answer, count, function_name

# 90 s leaves the last page time to settle within the indexer's Timeout (120 s in
# infra/template.yaml); a run that stops at a limit fails, and triggering it again goes on.
MAX_RECORDS = 100_000
MAX_SECONDS = 90

log = logging.getLogger(__name__)


def recovery_payload(params: dict) -> dict:
    """The indexer's payload for the run's params; a param that does not fit the mode fails the
    run before anything is invoked, naming it."""
    mode = params.get("mode")
    limits = {"max_records": params.get("max_records", MAX_RECORDS),
              "max_seconds": params.get("max_seconds", MAX_SECONDS)}
    query = {name: params.get(name) for name in ("stage", "reason", "since")}
    if mode == "redrive":
        if params.get("source"):
            raise AirflowFailException("param `source` is for mode replay; redrive reads the dead letters")
        request = {name: value for name, value in query.items() if value not in (None, "")}
        return {"redrive": {**request, **limits, "dry_run": bool(params.get("dry_run"))}}
    if mode == "replay":
        if not params.get("source"):
            raise AirflowFailException("mode replay needs param `source`: s3://bucket/prefix or kafka://topic")
        given = [name for name, value in query.items() if value not in (None, "")]
        if given or params.get("dry_run"):
            raise AirflowFailException(
                f"params {given + ['dry_run'] * bool(params.get('dry_run'))} are for mode redrive")
        return {"replay": {"source": params["source"], **limits}}
    raise AirflowFailException(f"param `mode` is {mode!r}: expected replay or redrive")


with DAG(
    dag_id="log_recovery_pipeline",
    description="Replays failed records or redrives dead letters into Elasticsearch (logpipe indexer Lambda)",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    # Two at once would only race for the same records (safely, but for nothing).
    max_active_runs=1,
    # No task retry: a run that leaves records is looked at and triggered again; a retry would
    # count one more redrive against every dead letter that still fails.
    default_args={**DEFAULT_ARGS, "retries": 0},
    params={
        "mode": Param("redrive", enum=["redrive", "replay"], description="redrive dead letters or replay failed records"),
        "source": Param(None, type=["null", "string"], description="replay: s3://bucket/prefix or kafka://topic"),
        "stage": Param(None, type=["null", "string"], enum=[None, "parse", "index"], description="redrive: only this stage"),
        "reason": Param(None, type=["null", "string"], description="redrive: only reasons containing this phrase"),
        "since": Param(None, type=["null", "string"], description="redrive: only dead-lettered at or after (RFC 3339)"),
        "max_records": Param(MAX_RECORDS, type="integer", minimum=1),
        "max_seconds": Param(MAX_SECONDS, type="number", exclusiveMinimum=0, maximum=900),
        "dry_run": Param(False, type="boolean", description="redrive: report what would move, change nothing"),
    },
    tags=["logs", "elasticsearch", "recovery", "logpipe"],
) as dag:

    @task
    def build_request(params: dict | None = None) -> str:
        """The payload, as the JSON string the operator sends."""
        import json

        return json.dumps(recovery_payload(dict(params or {})))

    request = build_request()

    recover = LambdaInvokeFunctionOperator(
        task_id="recover",
        function_name=function_name("logpipe_indexer_function", "logpipe-indexer-prod"),
        invocation_type="RequestResponse",
        payload=request,
        botocore_config=BOTOCORE_CONFIG,
    )

    @task
    def check_recovered(payload: str) -> dict:
        """The function fails the invocation while records remain; this reads its counts and
        fails the run too if they say a record was left."""
        counts = answer(payload)
        records, failed = count(counts, "records"), count(counts, "failed")
        if failed:
            raise AirflowFailException(f"{failed} of {records} records were left: {counts!r}")
        log.info("recovery: %r", counts)
        return counts

    check_recovered(recover.output)
