"""Bundles are shared within a process until a file they were made from changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gateway.contracts.loader import bundle, shared_bundle, shared_dereferenced
from tests.gateway.contracts.conftest import FIXTURE_TREE, WIDGETS


def _touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # a coarse clock must still see the change


def test_a_shared_bundle_is_rebuilt_when_a_referenced_file_changes(tmp_path: Path) -> None:
    tree = tmp_path / "contracts"
    shutil.copytree(FIXTURE_TREE, tree)
    contract = tree / WIDGETS
    first = shared_bundle(contract)
    assert shared_bundle(contract) is first
    dereferenced = shared_dereferenced(contract)
    assert shared_dereferenced(contract) is dereferenced
    assert bundle(contract) == first and bundle(contract) is not first  # bundle() stays a fresh copy

    common = tree / "components" / "common.yaml"
    _touch_later(common, common.read_text().replace("description:", "description: changed -", 1))
    second = shared_bundle(contract)
    assert second is not first and second != first
    assert shared_dereferenced(contract) is not dereferenced
