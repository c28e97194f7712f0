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
