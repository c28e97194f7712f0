"""Create or update the test secrets in the Secrets Manager stand-in (idempotent).

Writes both spellings real deployments use (see DESIGN.md section 1): `MWAA_Secrets_V2`
with upper-case keys and `MWAA_Secrets` with the older mixed-case keys. Endpoint, region
and credentials come from the usual AWS_* environment variables (`infra/local/stack`
sets them to the local moto_server and dummy keys).
"""

import argparse
import json
import sys

import boto3


def secrets(kafka: str, es_url: str, es_key: str) -> dict[str, dict[str, str]]:
    return {
        "MWAA_Secrets_V2": {
            "KAFKA_BOOTSTRAP_SERVER": kafka,
            "ELASTICSEARCH_URL": es_url,
            "ELASTICSEARCH_API_KEY": es_key,
        },
        "MWAA_Secrets": {
            "kafka_bootstrap_server": kafka,
            "elasticsearch_URL": es_url,
            "elasticsearch_API_Key": es_key,
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kafka-bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--es-url", default="http://127.0.0.1:9200")
    ap.add_argument("--es-api-key", default="local-test-api-key")
    args = ap.parse_args()

    sm = boto3.client("secretsmanager")
    for name, value in secrets(args.kafka_bootstrap, args.es_url, args.es_api_key).items():
        body = json.dumps(value)
        try:
            sm.create_secret(Name=name, SecretString=body)
            print(f"secret {name}: created")
        except sm.exceptions.ResourceExistsException:
            current = sm.get_secret_value(SecretId=name).get("SecretString")
            if current is not None and json.loads(current) == value:
                print(f"secret {name}: already up to date")
            else:
                sm.put_secret_value(SecretId=name, SecretString=body)
                print(f"secret {name}: updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
