"""The SAM build of both functions, run as deployed: `sam local invoke` and
`sam local start-lambda` (AWS's Runtime Interface Emulator in a container, arm64 through qemu).

    answer = invoke("ProducerFunction", "tests/events/producer.json")
    with StartLambda() as endpoint:   # the Lambda Invoke API on http://127.0.0.1:<port>
        boto3.client("lambda", endpoint_url=endpoint, ...).invoke(FunctionName="ProducerFunction")

Needs the stack in SAM mode (`LOGPIPE_SAM=1 infra/local/stack start`, then its `env`: DOCKER_HOST,
the bridge address in LOGPIPE_BRIDGE_HOST, sam on PATH) and `make sam-build` (the built template).
The functions read their settings from the stack's secret (SECRET_NAME), found through
AWS_ENDPOINT_URL: the env-vars file sets both, as a user would.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lambda_emulator import free_port

ROOT = Path(__file__).resolve().parent.parent
BUILT_TEMPLATE = Path(os.environ.get("LOGPIPE_SAM_BUILT_TEMPLATE", ROOT / ".aws-sam" / "build" / "template.yaml"))
EVENTS = ROOT / "tests" / "events"
FUNCTIONS = {"producer": "ProducerFunction", "indexer": "IndexerFunction"}


def bridge_host():
    host = os.environ.get("LOGPIPE_BRIDGE_HOST")
    assert host, "LOGPIPE_BRIDGE_HOST is not set: start the stack with LOGPIPE_SAM=1 and eval its env"
    return host


def built_template():
    assert BUILT_TEMPLATE.is_file(), f"{BUILT_TEMPLATE} does not exist: run `make sam-build` first"
    return BUILT_TEMPLATE


def env_vars_file(directory, **overrides):
    """An --env-vars file for both functions: the stack's secret through the Secrets Manager
    emulator on the bridge address, plus `overrides` (only variables the template declares
    take effect: SAM's rule)."""
    variables = {
        "SECRET_NAME": "MWAA_Secrets_V2",
        "AWS_ENDPOINT_URL": f"http://{bridge_host()}:{os.environ.get('LOGPIPE_MOTO_PORT', '4566')}",
        "RUST_LOG": "info",
        **overrides,
    }
    path = Path(directory, "env.json")
    path.write_text(json.dumps({"Parameters": variables}))
    return path


@dataclass
class Invocation:
    code: int
    answer: object  # the function's JSON answer, None if stdout held none
    logs: str  # what SAM and the function printed on stderr
    seconds: float

    def log_lines(self, message):
        """The function's JSON log lines whose message is `message`."""
        found = []
        for line in self.logs.splitlines():
            start = line.find("{")
            if start < 0:
                continue
            try:
                record = json.loads(line[start:])
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("fields", {}).get("message") == message:
                found.append(record["fields"])
        return found


def invoke(function, event, *, env=None, credentials=None, timeout=300):
    """`sam local invoke <function> -e <event>` on the built template; `credentials`
    (AWS_ACCESS_KEY_ID, ...) are SAM's own, which it hands the function as a role's."""
    with tempfile.TemporaryDirectory() as tmp:
        command = ["sam", "local", "invoke", FUNCTIONS.get(function, function),
                   "--template", str(built_template()), "--event", str(event),
                   "--env-vars", str(env_vars_file(tmp, **(env or {}))), "--skip-pull-image"]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, **(credentials or {})})
    answer = None
    for line in reversed(done.stdout.strip().splitlines()):
        try:
            answer = json.loads(line)
            break
        except ValueError:
            continue
    return Invocation(done.returncode, answer, done.stderr, time.monotonic() - started)


class StartLambda:
    """`sam local start-lambda` on a free 127.0.0.1 port, stopped (its process group) on exit."""

    def __init__(self, *, env=None, start_timeout=120, log_path=None):
        self.port = free_port()
        self.env = env or {}
        self.start_timeout = start_timeout
        self.log_path = log_path or Path(ROOT, ".local", "log", f"sam-start-lambda-{self.port}.log")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            ["sam", "local", "start-lambda", "--template", str(built_template()),
             "--env-vars", str(env_vars_file(self.tmp.name, **self.env)), "--skip-pull-image",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError(f"sam local start-lambda exited early; see {self.log_path}")
            try:
                # Any HTTP answer means it listens (an unknown function answers 404).
                urllib.request.urlopen(f"{self.endpoint}/2015-03-31/functions/none/invocations", data=b"{}", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"sam local start-lambda did not listen in {self.start_timeout}s; see {self.log_path}")
                time.sleep(0.5)
        return self.endpoint

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        self.tmp.cleanup()
