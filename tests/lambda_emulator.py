"""The workspace's Lambdas under cargo-lambda's emulator, for tests.

    with LambdaEmulator(env={"SECRET_NAME": "MWAA_Secrets_V2"}) as lambdas:
        answer = lambdas.invoke("producer", {"count": 10})

`cargo lambda watch` serves every function of the workspace on one port and starts a
function's process at its first invocation (building it if needed), with the emulator's
environment: `env` is how a test configures the function. `invoke` goes through
`cargo lambda invoke`, the way a developer would.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InvokeError(Exception):
    """The function answered with an error (or the invoke itself failed)."""

    def __init__(self, output: str):
        super().__init__(output)
        self.output = output


class LambdaEmulator:
    def __init__(self, env=None, unset=(), start_timeout=60, log_path=None):
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in unset}
        self.env.update(env or {})
        self.start_timeout = start_timeout
        self.log_path = log_path or Path(ROOT, ".local", "log", f"lambda-watch-{self.port}.log")
        self.process = None

    def __enter__(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops the function too
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited early; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"cargo lambda watch not listening after {self.start_timeout} s")
                time.sleep(0.2)

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def invoke(self, function: str, payload, timeout=300):
        """The function's JSON answer; InvokeError with the output when it failed."""
        done = subprocess.run(
            ["cargo", "lambda", "invoke", function, "-A", "127.0.0.1", "-P", str(self.port),
             "--data-ascii", json.dumps(payload), "--output-format", "json"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise InvokeError(done.stdout + done.stderr)
        return json.loads(done.stdout)

    def function_log(self) -> str:
        """What the emulator and the functions printed so far."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")
