"""Every real contract against its baseline: no breaking change inside a major version.

Plus the refresh mechanics, on a private copy of the fixture tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.settings import PROJECT_ROOT
from gateway.contracts.baseline import (
    REFRESH_HINT,
    BaselineRefused,
    baseline_main,
    baseline_path,
    breaking_changes,
    orphan_baselines,
    refresh_baselines,
)
from gateway.contracts.loader import ContractFile, bundle, discover

CONTRACTS = PROJECT_ROOT / "contracts"
REAL = discover(CONTRACTS)


@pytest.mark.parametrize("contract", REAL, ids=[contract.api_id for contract in REAL])
def test_contract_has_a_baseline_and_keeps_compatible(contract: ContractFile) -> None:
    path = baseline_path(CONTRACTS, contract)
    if not path.exists():
        pytest.fail(
            f"{contract.api_id} has no baseline at {path.relative_to(PROJECT_ROOT)}: once the contract lints clean, "
            f"create it with `{REFRESH_HINT}` and commit it"
        )
    breaking = breaking_changes(CONTRACTS, contract)
    assert not breaking, (
        f"{contract.api_id} breaks its baseline (a breaking change needs a new major version):\n"
        + "\n".join(str(change) for change in breaking)
    )


def test_no_baseline_without_its_contract() -> None:
    orphans = orphan_baselines(CONTRACTS)
    assert not orphans, f"baselines without a contract (retire a version, don't delete it): {orphans}"


def test_refresh_writes_then_keeps_baselines(contract_tree: Path) -> None:
    written = refresh_baselines(contract_tree)
    assert sorted(p.relative_to(contract_tree).as_posix() for p in written) == [
        "baselines/gateway/gateway/v1.json",
        "baselines/process/order-flow/v1.json",
        "baselines/system/widgets/v1.json",
    ]
    stored = json.loads((contract_tree / "baselines/system/widgets/v1.json").read_text())
    assert stored == bundle(contract_tree / "system/widgets/v1.yaml")
    assert refresh_baselines(contract_tree) == []  # unchanged contracts rewrite nothing
    assert orphan_baselines(contract_tree) == []


def test_compatible_change_refreshes(contract_tree: Path) -> None:
    refresh_baselines(contract_tree)
    path = contract_tree / "system/widgets/v1.yaml"
    document = yaml.safe_load(path.read_text())
    document["components"]["schemas"]["Widget"]["properties"]["colour"] = {"type": "string"}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    contract = next(c for c in discover(contract_tree) if c.name == "widgets")
    assert breaking_changes(contract_tree, contract) == []
    assert [p.name for p in refresh_baselines(contract_tree)] == ["v1.json"]


def test_breaking_change_is_refused_unless_allowed(contract_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refresh_baselines(contract_tree)
    before = (contract_tree / "baselines/system/widgets/v1.json").read_text()
    path = contract_tree / "system/widgets/v1.yaml"
    document = yaml.safe_load(path.read_text())
    del document["paths"]["/widgets/{widget_id}"]["delete"]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    contract = next(c for c in discover(contract_tree) if c.name == "widgets")
    assert [change.kind for change in breaking_changes(contract_tree, contract)] == ["operation-removed"]
    with pytest.raises(BaselineRefused, match="operation-removed"):
        refresh_baselines(contract_tree)
    assert (contract_tree / "baselines/system/widgets/v1.json").read_text() == before
    assert baseline_main(contract_tree) == 1
    assert "operation-removed" in capsys.readouterr().out
    assert baseline_main(contract_tree, allow_breaking=True) == 0
    assert (contract_tree / "baselines/system/widgets/v1.json").read_text() != before


def test_orphan_baseline_is_found(contract_tree: Path) -> None:
    refresh_baselines(contract_tree)
    (contract_tree / "gateway/v1.yaml").unlink()
    assert [p.relative_to(contract_tree).as_posix() for p in orphan_baselines(contract_tree)] == [
        "baselines/gateway/gateway/v1.json"
    ]
