#!/usr/bin/env python3
"""Brings an MWAA environment's S3 bucket up to date with the repository, then updates the
environment only if its Python requirements changed.

    python infra/deploy/mwaa_sync.py --bucket B --environment E \
        --dags dags --requirements infra/mwaa/requirements.txt \
        --constraints infra/mwaa/constraints.txt [--prefix P]

What it does, under the optional key prefix P:
  - `dags/` in the bucket becomes a copy of the local DAGs directory: new and changed files are
    uploaded, files no longer in the repository are deleted (a stale DAG would keep running);
  - the constraints file goes to `dags/<its name>`, because MWAA installs requirements on the
    workers, where only the DAGs folder is present: requirements.txt refers to it as
    `--constraint "/usr/local/airflow/dags/<its name>"`;
  - requirements.txt goes to `requirements.txt`, uploaded only when its bytes differ, so an
    unchanged file keeps its object version;
  - `update-environment` with the requirements' object version runs only when the requirements
    or constraints changed, or the environment does not use the bucket's current version yet
    (a previous run uploaded them and then failed).

Credentials, region and endpoints are boto3's (AWS_REGION, AWS_ENDPOINT_URL_S3, ...). Each
action goes to stderr as it happens; a JSON summary goes to stdout. Exit status 1 on any error.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# Written by Python when a DAG is imported locally; never DAG sources.
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc"}


class SyncError(Exception):
    pass


def log(message):
    print(f"mwaa_sync: {message}", file=sys.stderr, flush=True)


def local_dags(directory):
    """{relative posix path: bytes} of the files under `directory`."""
    if not directory.is_dir():
        raise SyncError(f"DAGs directory {directory} does not exist or is not a directory")
    files = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or SKIPPED_PARTS.intersection(relative.parts):
            continue
        if path.suffix in SKIPPED_SUFFIXES:
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def remote_objects(s3, bucket, prefix):
    """{key: ETag without quotes} of the current objects under `prefix`."""
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = obj["ETag"].strip('"')
    return objects


def sync_dags(s3, bucket, dags_prefix, files, keep):
    """Uploads new and changed files, deletes stale ones (except the keys in `keep`)."""
    remote = remote_objects(s3, bucket, dags_prefix)
    uploaded, unchanged = [], 0
    for name, body in files.items():
        key = dags_prefix + name
        # A single-part upload's ETag is the MD5 of its bytes (not with SSE-KMS, where the
        # file is then uploaded again: harmless for a DAG).
        if remote.get(key) == hashlib.md5(body).hexdigest():
            unchanged += 1
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        log(f"uploaded s3://{bucket}/{key}")
        uploaded.append(key)

    wanted = {dags_prefix + name for name in files} | keep
    stale = sorted(key for key in remote if key not in wanted and not key.endswith("/"))
    for start in range(0, len(stale), 1000):
        batch = stale[start:start + 1000]
        answer = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        if answer.get("Errors"):
            failed = ", ".join(f"{e['Key']}: {e.get('Message', e.get('Code'))}"
                               for e in answer["Errors"])
            raise SyncError(f"could not delete stale DAG files: {failed}")
    for key in stale:
        log(f"deleted s3://{bucket}/{key}")
    return {"uploaded": uploaded, "unchanged": unchanged, "deleted": stale}


def put_if_changed(s3, bucket, key, body):
    """Uploads `body` unless the current object has these bytes: (object version, changed)."""
    try:
        current = s3.get_object(Bucket=bucket, Key=key)
        if current["Body"].read() == body:
            version = current.get("VersionId")
            changed = False
        else:
            version, changed = None, True
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
        version, changed = None, True
    if changed:
        version = s3.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")
        log(f"uploaded s3://{bucket}/{key} (version {version})")
    if not version or version == "null":
        raise SyncError(f"bucket {bucket} has no object versions for {key}: MWAA needs a "
                        "bucket with versioning enabled")
    return version, changed


def read_file(path, what):
    try:
        return path.read_bytes()
    except OSError as e:
        raise SyncError(f"cannot read the {what} file {path}: {e.strerror}") from e


def run(args):
    prefix = args.prefix.strip("/") + "/" if args.prefix.strip("/") else ""
    dags_prefix = prefix + "dags/"
    requirements_key = prefix + "requirements.txt"
    constraints_key = dags_prefix + args.constraints.name

    files = local_dags(args.dags)
    if args.constraints.name in files:
        raise SyncError(f"{args.dags / args.constraints.name} would be overwritten by the "
                        f"constraints file {args.constraints}: rename one of them")
    requirements = read_file(args.requirements, "requirements")
    constraints = read_file(args.constraints, "constraints")

    s3 = boto3.client("s3")
    mwaa = boto3.client("mwaa")

    # Constraints first: requirements that name a new constraints file must find it there.
    constraints_version, constraints_changed = put_if_changed(
        s3, args.bucket, constraints_key, constraints)
    dags = sync_dags(s3, args.bucket, dags_prefix, files, keep={constraints_key})
    requirements_version, requirements_changed = put_if_changed(
        s3, args.bucket, requirements_key, requirements)

    environment = mwaa.get_environment(Name=args.environment)["Environment"]
    in_use = (environment.get("RequirementsS3Path"), environment.get("RequirementsS3ObjectVersion"))
    reasons = []
    if requirements_changed:
        reasons.append("requirements changed")
    elif in_use != (requirements_key, requirements_version):
        reasons.append("environment not on the current requirements version")
    if constraints_changed:
        reasons.append("constraints changed")
    if reasons:
        mwaa.update_environment(Name=args.environment, RequirementsS3Path=requirements_key,
                                RequirementsS3ObjectVersion=requirements_version)
        log(f"update-environment {args.environment}: requirements version "
            f"{requirements_version} ({', '.join(reasons)})")
    else:
        log(f"environment {args.environment} left as it is: requirements unchanged")

    return {
        "bucket": args.bucket,
        "dags": dags,
        "requirements": {"key": requirements_key, "version": requirements_version,
                         "changed": requirements_changed},
        "constraints": {"key": constraints_key, "version": constraints_version,
                        "changed": constraints_changed},
        "environment": {"name": args.environment, "updated": bool(reasons),
                        "reasons": reasons},
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bucket", required=True, help="the MWAA environment's S3 bucket")
    p.add_argument("--environment", required=True, help="the MWAA environment's name")
    p.add_argument("--dags", type=Path, required=True, help="local DAGs directory")
    p.add_argument("--requirements", type=Path, required=True, help="local requirements.txt")
    p.add_argument("--constraints", type=Path, required=True, help="local constraints file")
    p.add_argument("--prefix", default="", help="key prefix in the bucket (default: none)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = run(args)
    except SyncError as e:
        log(f"error: {e}")
        return 1
    except ClientError as e:
        error = e.response.get("Error", {})
        log(f"error: {e.operation_name}: {error.get('Code')}: {error.get('Message')}")
        return 1
    except BotoCoreError as e:
        log(f"error: {e}")
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
