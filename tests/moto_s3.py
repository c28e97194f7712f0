"""A moto_server of a test's own on a free 127.0.0.1 port (an S3 emulator), and AWS
environments that point boto3 and the AWS CLIs at it, for the deploy tests.

    with MotoServer() as moto:
        s3 = moto.client("s3")
        subprocess.run([...], env=moto.env())

The local stack's moto_server (port 4566) is left to the tests that use its secrets.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from lambda_emulator import free_port

REGION = "us-east-1"


def moto_server_binary():
    # The stack's venv runs the tests, and moto_server sits beside its python.
    beside = Path(sys.executable).parent / "moto_server"
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        raise RuntimeError("moto_server not found beside the test interpreter nor on PATH: "
                           "run the tests in the stack's venv (infra/local/stack install)")
    return found


class MotoServer:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [moto_server_binary(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}: "
                                   f"{Path(self.log.name).read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not open port {self.port} in 30 s")
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)

    def env(self, **extra):
        """The environment for a process whose S3 is this server (dummy credentials)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
                   AWS_ENDPOINT_URL_S3=self.url, AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        env.update(extra)
        return env

    def client(self, service):
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def versioned_bucket(self, name):
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name
