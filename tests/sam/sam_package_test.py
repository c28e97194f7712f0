"""`sam package` of the built SAM application against an S3 emulator (a moto_server of the
test's own): every function's code is uploaded to the bucket, and the packaged template that
`sam deploy` would hand to CloudFormation points each function at its object there.

Needs what the deploy job has before `sam deploy` (`make sam-build` makes both):
  LOGPIPE_SAM_CLI             the SAM CLI   [${LOGPIPE_SAM_VENV:-.local/sam-venv}/bin/sam]
  LOGPIPE_SAM_BUILT_TEMPLATE  `sam build`'s output template   [.aws-sam/build/template.yaml]
"""

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from cloudformation import load_template
from moto_s3 import MotoServer

ROOT = Path(__file__).resolve().parent.parent.parent
SAM_VENV = Path(os.environ.get("LOGPIPE_SAM_VENV", ROOT / ".local" / "sam-venv"))
SAM = Path(os.environ.get("LOGPIPE_SAM_CLI", SAM_VENV / "bin" / "sam"))
BUILT = Path(os.environ.get("LOGPIPE_SAM_BUILT_TEMPLATE", ROOT / ".aws-sam" / "build" / "template.yaml"))
BUCKET = "logpipe-sam-artifacts"
PREFIX = "logpipe-dev"


def functions(template):
    return {name: resource["Properties"] for name, resource in template["Resources"].items()
            if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")}


@pytest.fixture(scope="module")
def built():
    missing = [f"{what} {path} does not exist ({hint})" for what, path, hint in (
        ("the SAM CLI", SAM, "run `infra/local/stack install-sam-cli` or set LOGPIPE_SAM_CLI"),
        ("the built template", BUILT, "run `make sam-build` first or set LOGPIPE_SAM_BUILT_TEMPLATE"),
    ) if not path.exists()]
    if missing:
        pytest.fail("; ".join(missing), pytrace=False)
    template = load_template(BUILT)
    found = functions(template)
    assert found, f"{BUILT} has no functions"
    return found


def sam_package(moto, out):
    result = subprocess.run(
        [str(SAM), "package", "--template-file", str(BUILT), "--s3-bucket", BUCKET,
         "--s3-prefix", PREFIX, "--output-template-file", str(out), "--use-json",
         "--region", "us-east-1", "--no-progressbar"],
        env=moto.env(SAM_CLI_TELEMETRY="0"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


def object_versions(moto):
    answer = moto.client("s3").list_object_versions(Bucket=BUCKET)
    return sorted((v["Key"], v["VersionId"]) for v in answer.get("Versions", []))


@pytest.fixture(scope="module")
def packaged(built, tmp_path_factory):
    """(packaged template, the moto server holding the bucket) after one `sam package`."""
    with MotoServer() as moto:
        moto.versioned_bucket(BUCKET)
        yield sam_package(moto, tmp_path_factory.mktemp("package") / "packaged.json"), moto


def test_every_function_points_at_its_code_in_the_bucket(built, packaged):
    template, moto = packaged
    s3 = moto.client("s3")
    packaged_functions = functions(template)
    assert packaged_functions.keys() == built.keys()

    for name, properties in packaged_functions.items():
        uri = properties["CodeUri"]
        assert isinstance(uri, str) and uri.startswith(f"s3://{BUCKET}/{PREFIX}/"), (name, uri)
        key = uri[len(f"s3://{BUCKET}/"):]

        code = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        local = (BUILT.parent / built[name]["CodeUri"]).resolve()
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            names = sorted(archive.namelist())
            expected = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
            assert names == expected, name
            for member in names:
                assert archive.read(member) == (local / member).read_bytes(), (name, member)
            # Lambda runs `bootstrap` as the custom runtime: it must stay executable.
            mode = archive.getinfo("bootstrap").external_attr >> 16
            assert mode & 0o111, f"{name}: bootstrap is not executable in the zip ({oct(mode)})"


def test_the_packaged_template_keeps_everything_else(built, packaged):
    template, _ = packaged
    source = load_template(BUILT)
    assert template["Resources"].keys() == source["Resources"].keys()
    for name, properties in functions(template).items():
        assert {k: v for k, v in properties.items() if k != "CodeUri"}.keys() == \
            {k: v for k, v in built[name].items() if k != "CodeUri"}.keys()


def test_packaging_unchanged_code_again_uploads_nothing(packaged, tmp_path):
    # sam names code objects by their content: an unchanged function keeps its object, so
    # CloudFormation sees no code change for it.
    first, moto = packaged
    before = object_versions(moto)

    again = sam_package(moto, tmp_path / "again.json")

    assert object_versions(moto) == before
    assert {n: p["CodeUri"] for n, p in functions(again).items()} == \
        {n: p["CodeUri"] for n, p in functions(first).items()}
