"""Fixture contracts: a small tree that passes every lint rule, and a way to break one copy."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

FIXTURE_TREE = Path(__file__).parent / "fixtures" / "tree"
WIDGETS = Path("system/widgets/v1.yaml")

Mutation = Callable[[dict[str, Any]], None]


def load_fixture(relative: Path = WIDGETS) -> dict[str, Any]:
    """A fresh, mutable copy of a fixture contract as written (unbundled)."""
    document = yaml.safe_load((FIXTURE_TREE / relative).read_text(encoding="utf-8"))
    return copy.deepcopy(document)


@pytest.fixture
def contract_tree(tmp_path: Path) -> Path:
    """A private copy of the fixture tree that a test may change."""
    target = tmp_path / "contracts"
    shutil.copytree(FIXTURE_TREE, target)
    return target


def write_contract(tree: Path, document: dict[str, Any], relative: Path = WIDGETS) -> Path:
    """Write ``document`` as the contract at ``relative`` inside ``tree``."""
    path = tree / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
