"""Reads CloudFormation (and SAM) templates in tests: short-form intrinsics (!Ref, !Sub, ...)
become their plain values, so a test can walk the template as data."""

from pathlib import Path

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    pass


CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)))


def load_template(path: Path) -> dict:
    return yaml.load(Path(path).read_text(), Loader=CloudFormationLoader)
