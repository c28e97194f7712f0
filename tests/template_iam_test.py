"""Least privilege, read from the templates: no `Allow` statement in infra/template.yaml or
infra/github-oidc.yaml grants `*` actions, or `*` resources where the resource can be named.

The exceptions are named here with the reason: actions AWS authorizes on no resource ARN, and
statements narrowed by a condition on the resource they act on.
"""

from pathlib import Path

import pytest

from cloudformation import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "infra" / "template.yaml", ROOT / "infra" / "github-oidc.yaml"]

# Actions that take no resource ARN (IAM's "Resource types" column is empty for them).
NO_RESOURCE_LEVEL = {
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
}
# Event-source mappings get their ARN only once created: Lambda authorizes creating one on `*`,
# narrowed by the `lambda:FunctionArn` condition key.
CONDITIONED_BY_FUNCTION = {
    "lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(node, path=""):
    """(path, statement) of every policy statement under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                for i, statement in enumerate(as_list(value)):
                    yield f"{path}/Statement[{i}]", statement
            else:
                yield from statements(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from statements(value, f"{path}[{i}]")


def problems(template):
    """What is too broad in `template`'s Allow statements, one line each."""
    found = []
    for path, statement in statements(template.get("Resources", {}), "Resources"):
        if statement.get("Effect") != "Allow":
            continue  # Deny statements (resource policies) may well say `*`
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        for action in actions:
            if action == "*" or action.endswith(":*"):
                found.append(f"{path}: action {action}")
        if "*" not in as_list(statement.get("Resource", [])):
            continue
        for action in actions:
            if action in NO_RESOURCE_LEVEL:
                continue
            if action in CONDITIONED_BY_FUNCTION and "lambda:FunctionArn" in str(statement.get("Condition")):
                continue
            found.append(f"{path}: {action} on Resource *")
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_allow_statement_is_broader_than_it_must_be(template):
    loaded = load_template(template)
    assert list(statements(loaded["Resources"])), "the template has policy statements to check"
    assert problems(loaded) == []


def test_the_check_finds_a_wildcard_resource_and_action():
    template = {"Resources": {"Role": {"Properties": {"Policies": [{"PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::bucket/*"},
        {"Effect": "Allow", "Action": "lambda:CreateEventSourceMapping", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ]}}]}}}}
    assert problems(template) == [
        "Resources/Role/Properties/Policies[0]/PolicyDocument/Statement[0]: secretsmanager:GetSecretValue on Resource *",
        "Resources/Role/Properties/Policies[0]/PolicyDocument/Statement[1]: action s3:*",
        "Resources/Role/Properties/Policies[0]/PolicyDocument/Statement[2]: lambda:CreateEventSourceMapping on Resource *",
    ]


# ------------------------------------------------------------------ on-failure destination

def indexer_policy(template, name):
    """(condition, statements) of the IndexerRole's inline policy `name` (inside an !If)."""
    for policy in template["Resources"]["IndexerRole"]["Properties"]["Policies"]:
        if isinstance(policy, list) and policy[1].get("PolicyName") == name:
            return policy[0], policy[1]["PolicyDocument"]["Statement"]
    raise AssertionError(f"no conditional policy {name}")


def grants(statements):
    """{action: [resources]} of Allow statements."""
    found = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            found.setdefault(action, []).extend(str(r) for r in as_list(statement["Resource"]))
    return found


def test_failed_batches_go_to_the_s3_bucket_or_a_kafka_topic_never_sqs():
    template = load_template(TEMPLATES[0])
    resources = template["Resources"]
    assert not [n for n, r in resources.items() if r["Type"].startswith("AWS::SQS::")]
    assert "sqs:" not in str(resources)
    for mapping in ("MskEventSource", "SelfManagedEventSource"):
        destination = resources[mapping]["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == ["OnFailureToKafka", "OnFailureDestination", "FailedBatchesBucket.Arn"]
    parameter = template["Parameters"]["OnFailureDestination"]
    assert parameter["Default"] == "" and parameter["AllowedPattern"] == "^$|^kafka://[a-zA-Z0-9._-]{1,249}$"
    assert template["Conditions"]["OnFailureToS3"] == ["OnFailureDestination", ""]


def test_the_failed_batches_bucket_is_encrypted_private_expiring_and_tls_only():
    resources = load_template(TEMPLATES[0])["Resources"]
    bucket = resources["FailedBatchesBucket"]
    assert bucket["Condition"] == "OnFailureToS3"
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = bucket["Properties"]
    sse = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", "FailedBatchesRetentionDays")
    (deny,) = resources["FailedBatchesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == ["FailedBatchesBucket.Arn", "${FailedBatchesBucket.Arn}/*"]


def test_the_on_failure_grants_are_what_aws_documents_on_the_destination_only():
    template = load_template(TEMPLATES[0])
    # S3 destination: s3:PutObject and s3:ListBucket (Lambda developer guide), plus replay's
    # read-and-move, each on the bucket or the key prefix it is used on.
    condition, statements = indexer_policy(template, "failed-batches-s3")
    assert condition == "OnFailureToS3"
    assert grants(statements) == {
        "s3:ListBucket": ["FailedBatchesBucket.Arn"],
        "s3:PutObject": ["${FailedBatchesBucket.Arn}/aws/lambda/*", "${FailedBatchesBucket.Arn}/replayed/*"],
        "s3:GetObject": ["${FailedBatchesBucket.Arn}/aws/lambda/*"],
        "s3:DeleteObject": ["${FailedBatchesBucket.Arn}/aws/lambda/*"],
    }
    # Kafka destination on MSK with IAM auth: kafka-cluster:WriteData on that one topic (and
    # replay's reads and its own group); a self-managed cluster authenticates with the secret.
    condition, statements = indexer_policy(template, "failed-records-topic")
    assert condition == "MskOnFailureToKafka"
    found = grants(statements)
    assert set(found) == {"kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:ReadData",
                          "kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"}
    assert all(":topic/" in r[0] for a, r in found.items() if "Group" not in a)
    assert all(r[0].endswith(":group/${ClusterPath}/logpipe_replay") for a, r in found.items() if "Group" in a)


def test_search_by_iam_grants_exactly_the_signed_calls():
    """SearchAuth IAM: the domain's HTTP methods the indexer sends on its paths only, or
    aoss:APIAccessAll on the one collection; nothing when the ARN is not given."""
    template = load_template(TEMPLATES[0])
    assert indexer_policy(template, "search-domain") == ("IamSearchDomain", [{
        "Effect": "Allow", "Action": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"],
        "Resource": "${SearchDomainArn}/*"}])
    assert indexer_policy(template, "search-collection") == ("IamSearchCollection", [{
        "Effect": "Allow", "Action": "aoss:APIAccessAll", "Resource": "SearchCollectionArn"}])


def test_search_by_iam_tells_the_indexer_to_sign_for_the_service_of_the_arn():
    variables = load_template(TEMPLATES[0])["Resources"]["IndexerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ELASTICSEARCH_AUTH"] == ["SearchByIam", "aws-sigv4", "AWS::NoValue"]
    assert variables["ELASTICSEARCH_AWS_SERVICE"] == [
        "IamSearchCollection", "aoss", ["IamSearchDomain", "es", "AWS::NoValue"]]
    conditions = load_template(TEMPLATES[0])["Conditions"]
    assert conditions["SearchByIam"] == ["SearchAuth", "IAM"]
