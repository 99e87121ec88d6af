"""Baselines: the last accepted bundled copy of each contract, to refuse breaking changes.

``contracts/baselines/<layer>/<api>/v<N>.json`` holds the bundled (not dereferenced)
document. CI diffs every contract against its baseline (``tests/gateway/contracts/test_baselines.py``)
and fails on any breaking change inside a major version. ``strata contracts baseline``
(:func:`refresh_baselines`) rewrites the baselines after a reviewed, compatible change;
it refuses to record a breaking change unless told to, so a baseline bump in a pull
request is always a deliberate, visible act.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gateway.contracts.diff import Change, diff_contracts
from gateway.contracts.loader import ContractError, ContractFile, bundle, dereference, discover

BASELINES_DIR = "baselines"
REFRESH_HINT = "uv run strata contracts baseline"


class BaselineRefused(ContractError):
    """Refreshing would record breaking changes; the message lists them."""


def baseline_path(contracts_dir: Path, contract: ContractFile) -> Path:
    """Where the baseline of ``contract`` lives."""
    return contracts_dir / BASELINES_DIR / f"{contract.api_id}.json"


def json_default(value: Any) -> str:
    """JSON for the few YAML scalars JSON lacks (unquoted dates; lint STR007 asks for quotes)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json(document: dict[str, Any]) -> str:
    """The canonical JSON text of a bundled document (stable, diff-friendly)."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n"


def load_baseline(path: Path) -> dict[str, Any]:
    """A stored baseline, dereferenced for :func:`diff_contracts`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{path}: cannot read baseline ({exc})") from None
    if not isinstance(document, dict):
        raise ContractError(f"{path}: a baseline must be a JSON object")
    return dereference(document)


def breaking_changes(contracts_dir: Path, contract: ContractFile) -> list[Change]:
    """Breaking changes of ``contract`` against its baseline (none when there is no baseline)."""
    path = baseline_path(contracts_dir, contract)
    if not path.exists():
        return []
    changes = diff_contracts(load_baseline(path), dereference(bundle(contract.path)))
    return [change for change in changes if change.breaking]


def refresh_baselines(contracts_dir: Path, *, allow_breaking: bool = False) -> list[Path]:
    """Write the baseline of every contract under ``contracts_dir``; return the files changed.

    Args:
        contracts_dir: the ``contracts/`` folder.
        allow_breaking: record the current contracts even when they break their baseline
            (for a deliberate, reviewed exception; normally a new major version is due).

    Raises:
        BaselineRefused: some contract breaks its baseline; nothing was written.
        ContractError: a contract cannot be loaded; nothing was written.
    """
    planned: list[tuple[Path, str]] = []
    refused: list[str] = []
    for contract in discover(contracts_dir):
        if not allow_breaking:
            refused.extend(f"{contract.api_id}: {change}" for change in breaking_changes(contracts_dir, contract))
        planned.append((baseline_path(contracts_dir, contract), dump_json(bundle(contract.path))))
    if refused:
        raise BaselineRefused("breaking changes against the baseline:\n" + "\n".join(refused))
    written: list[Path] = []
    for path, text in planned:
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def orphan_baselines(contracts_dir: Path) -> list[Path]:
    """Baselines whose contract no longer exists (an API version removed instead of retired)."""
    expected = {baseline_path(contracts_dir, contract).resolve() for contract in discover(contracts_dir)}
    root = contracts_dir / BASELINES_DIR
    found = sorted(root.rglob("*.json")) if root.is_dir() else []
    return [path for path in found if path.resolve() not in expected]


def baseline_main(contracts_dir: Path, *, allow_breaking: bool = False) -> int:
    """``strata contracts baseline``: refresh every baseline; 1 when refused or unreadable."""
    try:
        written = refresh_baselines(contracts_dir, allow_breaking=allow_breaking)
    except ContractError as exc:
        print(f"error: {exc}")
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} baseline(s) updated")
    return 0
