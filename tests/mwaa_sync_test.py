"""The MWAA bucket update (infra/deploy/mwaa_sync.py) against an S3 emulator: a moto_server of
the test's own with a versioned bucket, the script run as the deploy job runs it.

MWAA itself cannot run here and moto 5.2.5 has no MWAA API, so `MwaaStandIn` is a mock, named
as such: a small HTTP server that answers the two calls the script makes (GetEnvironment,
UpdateEnvironment) in MWAA's REST-JSON protocol and records every UpdateEnvironment. boto3
reaches it through AWS_ENDPOINT_URL_MWAA, so the script's requests are real botocore requests.
"""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from moto_s3 import MotoServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "infra" / "deploy" / "mwaa_sync.py"
ENVIRONMENT = "logpipe-dev"
REQUIREMENTS = b'--constraint "/usr/local/airflow/dags/constraints.txt"\n' \
               b"apache-airflow-providers-amazon\n"
CONSTRAINTS = b"apache-airflow-providers-amazon==9.0.0\nboto3==1.35.0\n"


class MwaaStandIn:
    """Mock of the MWAA API: one environment, GET and PATCH /environments/<name>."""

    def __init__(self, name):
        self.environment = {"Name": name, "Status": "AVAILABLE"}
        self.updates = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def named(self):
                if self.path.split("?")[0] != f"/environments/{name}":
                    self.send_response(404)
                    self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                return True

            def do_GET(self):
                if self.named():
                    self.answer(200, {"Environment": dict(stand_in.environment)})

            def do_PATCH(self):
                if self.named():
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    stand_in.updates.append(body)
                    stand_in.environment.update(body)
                    self.answer(200, {"Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{name}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def mwaa():
    stand_in = MwaaStandIn(ENVIRONMENT)
    yield stand_in
    stand_in.close()


@pytest.fixture
def bucket(moto, request):
    # One bucket per test: each starts from an empty bucket.
    return moto.versioned_bucket(f"mwaa-{request.node.name.replace('_', '-')[:40]}")


@pytest.fixture
def repo(tmp_path):
    """A repository checkout as the deploy job sees it: DAGs, requirements, constraints."""
    dags = tmp_path / "dags"
    (dags / "common").mkdir(parents=True)
    (dags / "producer.py").write_text("# producer DAG\n")
    (dags / "consumer.py").write_text("# consumer DAG\n")
    (dags / "common" / "settings.py").write_text("TOPIC = 'billion_website_logs'\n")
    (dags / ".airflowignore").write_text("common/\n")
    # Left by a local import of the DAGs: never uploaded.
    (dags / "__pycache__").mkdir()
    (dags / "__pycache__" / "producer.cpython-311.pyc").write_bytes(b"\x00compiled")
    (tmp_path / "requirements.txt").write_bytes(REQUIREMENTS)
    (tmp_path / "constraints.txt").write_bytes(CONSTRAINTS)
    return tmp_path


def sync(moto, mwaa, bucket, repo, *extra, expect_ok=True):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--bucket", bucket, "--environment", ENVIRONMENT,
         "--dags", str(repo / "dags"), "--requirements", str(repo / "requirements.txt"),
         "--constraints", str(repo / "constraints.txt"), *extra],
        env=moto.env(AWS_ENDPOINT_URL_MWAA=mwaa.url, AWS_DISABLE_HOST_PREFIX_INJECTION="true"),
        capture_output=True, text=True, timeout=120)
    if expect_ok:
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    return result.stderr


def keys(moto, bucket):
    answer = moto.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in answer.get("Contents", []))


def body(moto, bucket, key):
    return moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def versions(moto, bucket, key):
    answer = moto.client("s3").list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in answer.get("Versions", []) if v["Key"] == key]


def test_first_sync_uploads_dags_deletes_stale_ones_and_updates_the_environment(
        moto, mwaa, bucket, repo):
    s3 = moto.client("s3")
    s3.put_object(Bucket=bucket, Key="dags/old_pipeline.py", Body=b"# removed from the repo\n")
    s3.put_object(Bucket=bucket, Key="dags/common/old_helper.py", Body=b"# removed too\n")
    s3.put_object(Bucket=bucket, Key="plugins.zip", Body=b"not ours")

    summary = sync(moto, mwaa, bucket, repo)

    assert keys(moto, bucket) == [
        "dags/.airflowignore", "dags/common/settings.py", "dags/constraints.txt",
        "dags/consumer.py", "dags/producer.py", "plugins.zip", "requirements.txt"]
    assert sorted(summary["dags"]["deleted"]) == ["dags/common/old_helper.py",
                                                  "dags/old_pipeline.py"]
    assert summary["dags"]["unchanged"] == 0
    assert body(moto, bucket, "dags/producer.py") == b"# producer DAG\n"
    assert body(moto, bucket, "dags/constraints.txt") == CONSTRAINTS
    assert body(moto, bucket, "requirements.txt") == REQUIREMENTS

    version = summary["requirements"]["version"]
    assert versions(moto, bucket, "requirements.txt") == [version]
    assert mwaa.updates == [{"RequirementsS3Path": "requirements.txt",
                             "RequirementsS3ObjectVersion": version}]


def test_unchanged_requirements_keep_their_version_and_cause_no_update(moto, mwaa, bucket, repo):
    first = sync(moto, mwaa, bucket, repo)
    assert len(mwaa.updates) == 1

    second = sync(moto, mwaa, bucket, repo)

    assert second["requirements"] == {**first["requirements"], "changed": False}
    assert second["constraints"] == {**first["constraints"], "changed": False}
    assert versions(moto, bucket, "requirements.txt") == [first["requirements"]["version"]]
    assert second["dags"] == {"uploaded": [], "unchanged": 4, "deleted": []}
    assert second["environment"]["updated"] is False
    assert len(mwaa.updates) == 1


def test_changed_requirements_get_a_new_version_and_one_update(moto, mwaa, bucket, repo):
    first = sync(moto, mwaa, bucket, repo)
    (repo / "requirements.txt").write_bytes(REQUIREMENTS + b"requests\n")
    (repo / "dags" / "producer.py").write_text("# producer DAG, edited\n")

    second = sync(moto, mwaa, bucket, repo)

    new = second["requirements"]["version"]
    assert new != first["requirements"]["version"]
    assert versions(moto, bucket, "requirements.txt")[0] == new
    assert len(versions(moto, bucket, "requirements.txt")) == 2
    assert mwaa.updates[1:] == [{"RequirementsS3Path": "requirements.txt",
                                 "RequirementsS3ObjectVersion": new}]
    assert second["environment"]["reasons"] == ["requirements changed"]
    assert second["dags"]["uploaded"] == ["dags/producer.py"]
    assert body(moto, bucket, "dags/producer.py") == b"# producer DAG, edited\n"


def test_changed_constraints_update_the_environment_on_the_same_requirements(
        moto, mwaa, bucket, repo):
    first = sync(moto, mwaa, bucket, repo)
    (repo / "constraints.txt").write_bytes(CONSTRAINTS + b"requests==2.32.3\n")

    second = sync(moto, mwaa, bucket, repo)

    assert second["requirements"]["version"] == first["requirements"]["version"]
    assert second["environment"]["reasons"] == ["constraints changed"]
    assert len(mwaa.updates) == 2
    assert body(moto, bucket, "dags/constraints.txt").endswith(b"requests==2.32.3\n")


def test_an_environment_left_behind_by_a_failed_run_is_updated(moto, mwaa, bucket, repo):
    # A previous run uploaded the requirements, then its update-environment failed.
    first = sync(moto, mwaa, bucket, repo)
    mwaa.environment["RequirementsS3ObjectVersion"] = "an-older-version"

    second = sync(moto, mwaa, bucket, repo)

    assert second["requirements"]["changed"] is False
    assert second["environment"]["reasons"] == [
        "environment not on the current requirements version"]
    assert mwaa.updates[-1]["RequirementsS3ObjectVersion"] == first["requirements"]["version"]


def test_prefix_keeps_everything_under_it(moto, mwaa, bucket, repo):
    moto.client("s3").put_object(Bucket=bucket, Key="dags/outside_the_prefix.py", Body=b"#\n")

    summary = sync(moto, mwaa, bucket, repo, "--prefix", "team-a/")

    assert "dags/outside_the_prefix.py" in keys(moto, bucket)
    assert "team-a/requirements.txt" in keys(moto, bucket)
    assert summary["constraints"]["key"] == "team-a/dags/constraints.txt"
    assert mwaa.updates[-1]["RequirementsS3Path"] == "team-a/requirements.txt"


def test_unversioned_bucket_is_refused(moto, mwaa, repo):
    moto.client("s3").create_bucket(Bucket="mwaa-unversioned")

    stderr = sync(moto, mwaa, "mwaa-unversioned", repo, expect_ok=False)

    assert "bucket mwaa-unversioned has no object versions for dags/constraints.txt" in stderr
    assert "versioning enabled" in stderr
    assert mwaa.updates == []


def test_bad_inputs_are_named(moto, mwaa, bucket, repo):
    (repo / "requirements.txt").unlink()
    stderr = sync(moto, mwaa, bucket, repo, expect_ok=False)
    assert f"cannot read the requirements file {repo / 'requirements.txt'}" in stderr

    (repo / "requirements.txt").write_bytes(REQUIREMENTS)
    (repo / "dags" / "constraints.txt").write_text("# a DAG file of that name\n")
    stderr = sync(moto, mwaa, bucket, repo, expect_ok=False)
    assert "would be overwritten by the constraints file" in stderr
    assert keys(moto, bucket) == []


def test_unknown_environment_fails_with_mwaa_error(moto, mwaa, bucket, repo):
    # The stand-in knows one environment; any other name is answered 404.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--bucket", bucket, "--environment", "no-such-env",
         "--dags", str(repo / "dags"), "--requirements", str(repo / "requirements.txt"),
         "--constraints", str(repo / "constraints.txt")],
        env=moto.env(AWS_ENDPOINT_URL_MWAA=mwaa.url, AWS_DISABLE_HOST_PREFIX_INJECTION="true"),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "error: GetEnvironment: ResourceNotFoundException" in result.stderr
