"""What the logpipe DAGs share: how MWAA invokes a logpipe Lambda and reads its answer.

Not a DAG file (.airflowignore keeps the DAG processor from parsing it); the DAG files import it,
since Airflow puts the dags folder on sys.path.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from airflow.exceptions import AirflowFailException

SCHEDULE = "*/5 * * * *"
START_DATE = datetime(2025, 3, 7)

# As the original DAGs: one retry of a failed run, 5 s later.
DEFAULT_ARGS = {
    "owner": "logpipe",
    "depends_on_past": False,
    "email_on_failure": False,
    "retries": 1,
    "retry_delay": timedelta(seconds=5),
}

# One task try is one invocation. botocore retries a call that outlives its read timeout (and
# throttles and 5xx), which would start the function again while the first invocation still runs:
# a second batch of logs, a second drain in the consumer group. So: no SDK retries (Airflow's task
# retry is the only one), and a read timeout above Lambda's largest timeout (900 s), so it holds
# whatever the template sets. TCP keep-alive keeps a long, silent synchronous invoke from being
# dropped by NAT gateways (350 s idle timeout) between MWAA's workers and Lambda.
BOTOCORE_CONFIG = {
    "connect_timeout": 10,
    "read_timeout": 960,
    "tcp_keepalive": True,
    "retries": {"total_max_attempts": 1},
}


def function_name(variable: str, default: str) -> str:
    """The function to invoke: Airflow Variable `variable`, else `default`.

    A template rendered when the task runs, so parsing the DAG file reads no Variable.
    """
    return "{{ var.value.get('%s', '%s') }}" % (variable, default)


def answer(payload: str | None) -> dict:
    """The function's JSON answer (LambdaInvokeFunctionOperator returns it as a string)."""
    try:
        value = json.loads(payload or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise AirflowFailException(f"the function's answer is not a JSON object: {payload!r}")
    return value


def count(reply: dict, field: str) -> int:
    """A count from the answer; a missing or non-integer count fails the run, naming the field."""
    value = reply.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise AirflowFailException(f"the function's answer has no count `{field}`: {reply!r}")
    return value
