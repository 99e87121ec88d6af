"""List objects (``{"object": "list", "url", "has_more", "data"}``) and ``expand``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandboxes.stripe.errors import StripeError, invalid
from sandboxes.stripe.params import integer, text
from sandboxes.stripe.store import Store

MAX_EXPAND_DEPTH = 4


def page(
    store: Store,
    kind: str,
    url: str,
    params: dict[str, Any],
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """One page, newest first, with ``limit`` (1–100, default 10), ``starting_after``, ``ending_before``."""
    limit = integer(params, "limit", default=10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    after, before = text(params, "starting_after"), text(params, "ending_before")
    if after and before:
        raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
    rows = [obj for obj in store.newest_first(kind) if keep(obj)]
    cursor = after or before
    if cursor:
        position = next((i for i, obj in enumerate(rows) if obj["id"] == cursor), None)
        if position is None:
            anchor = store.objects[kind].get(cursor)
            if anchor is None:
                raise StripeError(
                    400,
                    f"No such {kind.replace('_', ' ')}: '{cursor}'",
                    code="resource_missing",
                    param="starting_after" if after else "ending_before",
                )
            position = 0
        if after:
            rows = rows[position + 1 :]
            chunk, has_more = rows[:limit], len(rows) > limit
        else:
            rows = rows[:position]
            chunk, has_more = rows[-limit:], len(rows) > limit
    else:
        chunk, has_more = rows[:limit], len(rows) > limit
    return {"object": "list", "url": url, "has_more": has_more, "data": chunk}


def expanded(store: Store, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with the ``expand[]`` paths replaced by the objects they name."""
    paths = params.get("expand") or []
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise invalid("expand", "Invalid array: expand must be an array of strings")
    if not paths:
        return obj
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise invalid("expand", f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property.")
        _expand(store, result, parts, path)
    return result


def _expand(store: Store, node: Any, parts: list[str], path: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict) and node.get("object") == "list" and head == "data":
        for item in node["data"]:
            if rest:
                _expand(store, item, rest, path)
        return
    if not isinstance(node, dict) or head not in node:
        raise StripeError(
            400, f"This property cannot be expanded ({path}).", code="parameter_invalid_empty", param="expand"
        )
    value = node[head]
    if not isinstance(value, str | dict) and value is not None:
        raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
    if isinstance(value, str):
        found = store.find(value)
        if found is None:
            raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
        node[head] = value = copy.deepcopy(found)
    if rest and value is not None:
        _expand(store, value, rest, path)
