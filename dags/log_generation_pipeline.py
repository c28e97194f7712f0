"""log_generation_pipeline: every 5 minutes the producer Lambda publishes 15,000 access-log lines
(the original DAG's batch) to Kafka; the run fails if any line was not delivered.

Airflow Variable `logpipe_producer_function` names the function (default `logpipe-producer-prod`,
the function `sam deploy --config-env prod` creates).
"""

from __future__ import annotations

import json

from airflow import DAG
from airflow.decorators import task
from airflow.exceptions import AirflowFailException
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from logpipe_lambda import BOTOCORE_CONFIG, DEFAULT_ARGS, SCHEDULE, START_DATE, answer, count, function_name

LINES_PER_RUN = 15_000

with DAG(
    dag_id="log_generation_pipeline",
    description="Generates access logs and publishes them to Kafka (logpipe producer Lambda)",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["logs", "kafka", "logpipe"],
) as dag:
    produce_logs = LambdaInvokeFunctionOperator(
        task_id="produce_logs",
        function_name=function_name("logpipe_producer_function", "logpipe-producer-prod"),
        invocation_type="RequestResponse",
        payload=json.dumps({"count": LINES_PER_RUN}),
        botocore_config=BOTOCORE_CONFIG,
    )

    @task
    def check_delivered(payload: str) -> dict:
        """Fails the run unless every requested line was delivered (the function's own counts)."""
        counts = answer(payload)
        requested, produced, failed = (count(counts, f) for f in ("requested", "produced", "failed"))
        if failed or produced != requested:
            raise AirflowFailException(
                f"{requested - produced} of {requested} lines were not delivered to "
                f"{counts.get('topic')}: {counts!r}"
            )
        return counts

    check_delivered(produce_logs.output)
