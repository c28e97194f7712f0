"""Airflow for the DAG tests, and the Lambda Invoke API the DAGs call.

Run in the Airflow venv (`infra/local/airflow` builds it), with the local stack started and its
environment (the functions read their settings from its Secrets Manager emulator):

    eval "$(infra/local/stack env)"
    .local/airflow-venv/bin/python -m pytest -q tests/dags

Airflow gets a throw-away AIRFLOW_HOME with a migrated SQLite database, dags/ as its DAGs folder
and no example DAGs. These are set before anything imports airflow, which reads them once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="logpipe-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{AIRFLOW_HOME}/airflow.db",
    AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS="False",
)
# The project's test helpers in tests/: the Lambda emulator and plain-HTTP Elasticsearch calls.
sys.path.insert(0, str(ROOT / "tests"))

from lambda_emulator import LambdaEmulator  # noqa: E402
import secret_watch  # noqa: E402

secret_watch.install()


def pytest_sessionfinish(session):
    secret_watch.report(session)

STACK_STATE = Path(os.environ.get("LOGPIPE_STATE_DIR", ROOT / ".local"))
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")


def pytest_configure(config):
    # Airflow 2.10's web-server dependencies (Flask 2.2, connexion 2) warn on import; not ours.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning")


@pytest.fixture(scope="session", autouse=True)
def airflow_db():
    """A migrated Airflow metadata database for the session, deleted with its AIRFLOW_HOME."""
    from airflow.utils import db

    db.initdb(load_connections=False)
    yield
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def dagbag():
    """dags/ parsed afresh: operators cache their hook (and its connection) once used."""
    from airflow.models import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"), include_examples=False)


@dataclass
class Endpoint:
    """A Lambda Invoke API serving logpipe's functions."""

    url: str
    functions: dict[str, str]  # logical function ("producer", "indexer") -> name to invoke
    log: Callable[[], str]  # what the functions printed so far


@pytest.fixture(scope="session")
def lambda_endpoint():
    """lambda_endpoint(**env) -> Endpoint: the functions, with `env` added to their environment
    (endpoints are started once per distinct `env` and stopped at the end of the session).

    The one place that says what serves the Lambda Invoke API:
    - with the stack in SAM mode (LOGPIPE_BRIDGE_HOST set by its env): `sam local start-lambda`
      serving the SAM build (`make sam-build`, arm64 as deployed) as `ProducerFunction` and
      `IndexerFunction`; it answers a function error with 200 + X-Amz-Function-Error;
    - otherwise `cargo lambda watch` (tests/lambda_emulator.py) running the workspace's functions
      as `producer` and `indexer`; it answers a function error with HTTP 500.
    The operator fails the task either way. The functions read Kafka's and Elasticsearch's
    addresses from their secret (SECRET_NAME in `env`), as deployed, not from the stack's variables.
    """
    with contextlib.ExitStack() as stack:
        started: dict[tuple, Endpoint] = {}

        def start(**env: str) -> Endpoint:
            key = tuple(sorted(env.items()))
            if key not in started:
                started[key] = sam_endpoint(stack, env) if os.environ.get("LOGPIPE_BRIDGE_HOST") \
                    else watch_endpoint(stack, env)
            return started[key]

        yield start


def sam_endpoint(stack: contextlib.ExitStack, env: dict[str, str]) -> Endpoint:
    from sam_local import FUNCTIONS, StartLambda

    server = StartLambda(env=env)
    url = stack.enter_context(server)
    return Endpoint(url=url, functions=dict(FUNCTIONS),
                    log=lambda: server.log_path.read_text(errors="replace"))


def watch_endpoint(stack: contextlib.ExitStack, env: dict[str, str]) -> Endpoint:
    emulator = stack.enter_context(
        LambdaEmulator(env=env, unset=("KAFKA_BOOTSTRAP_SERVER", "ELASTICSEARCH_URL"))
    )
    return Endpoint(url=f"http://127.0.0.1:{emulator.port}",
                    functions={"producer": "producer", "indexer": "indexer"},
                    log=emulator.function_log)


@pytest.fixture
def use_endpoint(monkeypatch):
    """use_endpoint(endpoint): Airflow's aws_default connection points at `endpoint` (dummy
    credentials, us-east-1) and the DAGs' Variables name its functions."""

    def use(endpoint: Endpoint) -> None:
        connection = {
            "conn_type": "aws",
            "login": "test",
            "password": "test",
            "extra": {"endpoint_url": endpoint.url, "region_name": "us-east-1"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        monkeypatch.setenv("AIRFLOW_VAR_LOGPIPE_PRODUCER_FUNCTION", endpoint.functions["producer"])
        monkeypatch.setenv("AIRFLOW_VAR_LOGPIPE_INDEXER_FUNCTION", endpoint.functions["indexer"])

    return use


@dataclass
class Pipeline:
    topic: str
    index: str
    deadletter_index: str
    env: dict[str, str]  # the functions' environment: the test's secret, topic and group


@pytest.fixture
def pipeline():
    """pipeline(**settings) -> Pipeline: a fresh topic (3 partitions), consumer group and index
    pair, and a secret of its own in the stack's Secrets Manager emulator: the stack's
    MWAA_Secrets_V2 plus the index names and `settings`.

    The functions get only SECRET_NAME, KAFKA_TOPIC and KAFKA_GROUP_ID in their environment,
    variables infra/template.yaml declares: `sam local` sets no others from --env-vars.
    """
    import boto3

    import eshttp

    secrets = boto3.client("secretsmanager")  # AWS_ENDPOINT_URL: the stack's emulator
    made: list[Pipeline] = []

    def make(**settings: str) -> Pipeline:
        run = uuid.uuid4().hex[:10]
        name = f"dags-{run}"
        # The Airflow venv has no Kafka client; the stack's venv has one, and the stack's script.
        python = STACK_STATE / "venv" / "bin" / "python"
        assert python.exists(), f"no {python}: start the local stack (infra/local/stack start) first"
        done = subprocess.run(
            [python, ROOT / "infra" / "local" / "create_topic.py", "--bootstrap", BOOTSTRAP,
             "--topic", name, "--partitions", "3"],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, f"creating topic {name} with {python}: {done.stderr}"
        value = json.loads(secrets.get_secret_value(SecretId="MWAA_Secrets_V2")["SecretString"])
        value.update(ELASTICSEARCH_INDEX=name, ELASTICSEARCH_DEADLETTER_INDEX=f"{name}-dead", **settings)
        secrets.create_secret(Name=name, SecretString=json.dumps(value))
        made.append(Pipeline(topic=name, index=name, deadletter_index=f"{name}-dead",
                             env={"SECRET_NAME": name, "KAFKA_TOPIC": name, "KAFKA_GROUP_ID": name}))
        return made[-1]

    yield make
    for made_one in made:
        secrets.delete_secret(SecretId=made_one.env["SECRET_NAME"], ForceDeleteWithoutRecovery=True)
        eshttp.delete_index(made_one.index)
        eshttp.delete_index(made_one.deadletter_index)
