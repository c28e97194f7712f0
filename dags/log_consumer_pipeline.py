"""log_consumer_pipeline: every 5 minutes the indexer Lambda drains the Kafka topic into
Elasticsearch (drain mode: consumer group, offsets committed only past placed records); the run
fails if any record was neither indexed nor dead-lettered.

Airflow Variable `logpipe_indexer_function` names the function (default `logpipe-indexer-prod`,
the function `sam deploy --config-env prod` creates).
"""

from __future__ import annotations

import json
import logging

from airflow import DAG
from airflow.decorators import task
from airflow.exceptions import AirflowFailException
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from logpipe_lambda import BOTOCORE_CONFIG, DEFAULT_ARGS, SCHEDULE, START_DATE, answer, count, function_name

# A drain stops at whichever comes first, or when caught up. 90 s leaves the last batch time to
# be indexed and committed within the indexer's Timeout (120 s in infra/template.yaml);
# 100,000 records are 6 runs of the producer DAG, about 15 s of indexing.
DRAIN = {"max_records": 100_000, "max_seconds": 90}

log = logging.getLogger(__name__)

with DAG(
    dag_id="log_consumer_pipeline",
    description="Indexes the Kafka topic into Elasticsearch (logpipe indexer Lambda, drain mode)",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=False,
    # Two drains at once would only split the partitions between them.
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["logs", "kafka", "elasticsearch", "logpipe"],
) as dag:
    drain_topic = LambdaInvokeFunctionOperator(
        task_id="drain_topic",
        function_name=function_name("logpipe_indexer_function", "logpipe-indexer-prod"),
        invocation_type="RequestResponse",
        payload=json.dumps({"drain": DRAIN}),
        botocore_config=BOTOCORE_CONFIG,
    )

    @task
    def check_placed(payload: str) -> dict:
        """Fails the run if a record was not placed: records = indexed + dead-lettered + failed."""
        counts = answer(payload)
        records, indexed, dead, failed = (
            count(counts, f) for f in ("records", "indexed", "dead_lettered", "failed")
        )
        if failed or records != indexed + dead:
            raise AirflowFailException(
                f"{records - indexed - dead} of {records} records were neither indexed nor "
                f"dead-lettered (they are read again by the next drain): {counts!r}"
            )
        if dead:
            log.warning("%d of %d records went to the dead-letter index", dead, records)
        return counts

    check_placed(drain_topic.output)
