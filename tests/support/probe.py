"""Handlers of the tests-only probe API (contract: tests/fixtures/contracts/system/probe/v1.yaml)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import msgspec
import yaml
from litestar import Request, get, post
from litestar.params import FromPath

from core.errors import NotFound

PROJECT = Path(__file__).resolve().parents[2]
_sequence = itertools.count(1)


@post("/system/probe/v1/items", status_code=201)
async def create_probe_item(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = msgspec.json.decode(await request.body())
    return {
        "id": f"item-{next(_sequence)}",
        "name": body["name"],
        "quantity": body.get("quantity", 1),
        "sequence": next(_sequence),
    }


@get("/system/probe/v1/items/{item_id:str}")
async def get_probe_item(item_id: FromPath[str]) -> dict[str, Any]:
    if item_id == "missing":
        raise NotFound(f"no item {item_id}")
    return {"id": item_id, "name": f"Item {item_id}"}


@get("/system/probe/v1/drift")
async def get_probe_drift() -> dict[str, Any]:
    return {"id": 42, "unexpected": True}


@get("/system/probe/v1/boom")
async def get_probe_boom() -> dict[str, Any]:
    raise RuntimeError("secret internals: password=hunter2")


@get("/system/probe/v1/public")
async def get_probe_public() -> dict[str, Any]:
    return {"ok": True}


PROBE_HANDLERS = [create_probe_item, get_probe_item, get_probe_drift, get_probe_boom, get_probe_public]


TINY_TIER = '  tiny:\n    description: tests\n    limits: ["5/hour"]\n'


def contracts_with_probe(target: Path) -> Path:
    """The project's contracts plus the probe contract, copied under ``target``."""
    shutil.copytree(PROJECT / "contracts", target)
    shutil.copytree(PROJECT / "tests" / "fixtures" / "contracts" / "system" / "probe", target / "system" / "probe")
    return target


def probe_options(tmp_path: Path, *, lifecycle: dict[str, Any] | None = None, issuers: str = "") -> dict[str, Any]:
    """``running_gateway`` options serving the probe API, with a ``tiny`` tier (5/hour).

    Args:
        tmp_path: where the contracts copy goes.
        lifecycle: replaces the probe contract's ``info.x-strata-lifecycle``.
        issuers: YAML replacing ``issuers: []`` in the governance file.
    """
    contracts = contracts_with_probe(tmp_path / "contracts")
    governance = contracts / "governance.yaml"
    text = governance.read_text().replace("tiers:\n", "tiers:\n" + TINY_TIER, 1)
    if issuers:
        text = text.replace("issuers: []", issuers)
    governance.write_text(text)
    if lifecycle is not None:
        probe = contracts / "system" / "probe" / "v1.yaml"
        document = yaml.safe_load(probe.read_text())
        document["info"]["x-strata-lifecycle"] = lifecycle
        probe.write_text(yaml.safe_dump(document, sort_keys=False))
    return {"contracts_dir": str(contracts), "extra_route_handlers": PROBE_HANDLERS}
