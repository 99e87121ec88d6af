"""Parameter coercion as Stripe does it: strings from the form, checked per parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandboxes.stripe.errors import StripeError, invalid, required, unknown

ALWAYS_ALLOWED = frozenset({"expand"})


def check_known(params: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse parameters the endpoint does not know (Stripe answers ``parameter_unknown``)."""
    known = ALWAYS_ALLOWED | set(allowed)
    for name in params:
        if name not in known:
            raise unknown(name)


def text(params: dict[str, Any], name: str, *, need: bool = False, default: str | None = None) -> str | None:
    """A string parameter."""
    value = params.get(name)
    if value is None or value == "":
        if need:
            raise required(name)
        return default
    if not isinstance(value, str):
        raise invalid(name, f"Invalid string: {name} must be a string", "parameter_invalid_string")
    return value


def integer(
    params: dict[str, Any], name: str, *, need: bool = False, minimum: int | None = None, default: int | None = None
) -> int | None:
    """An integer parameter (``parameter_invalid_integer`` when it is not one)."""
    value = params.get(name)
    if value is None or value == "":
        if need:
            raise required(name)
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(name, f"Invalid integer: {value}", "parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise invalid(name, f"This value must be greater than or equal to {minimum}.", "parameter_invalid_integer")
    return number


def boolean(params: dict[str, Any], name: str, default: bool = False) -> bool:
    """``true`` / ``false``."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if value in ("true", "false"):
        return bool(value == "true")
    raise invalid(name, f"Invalid boolean: {value}", "parameter_invalid_string")


def choice(params: dict[str, Any], name: str, allowed: Iterable[str], *, default: str | None = None) -> str | None:
    """One of ``allowed``."""
    value = text(params, name, default=default)
    options = list(allowed)
    if value is not None and value not in options:
        raise StripeError(
            400, f"Invalid {name}: must be one of {', '.join(options)}", code="parameter_invalid_empty", param=name
        )
    return value


def mapping(params: dict[str, Any], name: str) -> dict[str, Any]:
    """A hash parameter (``{}`` when absent)."""
    value = params.get(name, {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid hash: {name} must be a hash", "parameter_invalid_empty")
    return value


def items(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """An array of hashes (``items[0][price]=…``)."""
    value = params.get(name, [])
    if value == "":
        return []
    if isinstance(value, dict) or not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid(name, f"Invalid array: {name} must be an array of hashes", "parameter_invalid_empty")
    return value


def metadata(current: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Metadata after an update: keys set, ``metadata[k]=`` unsets ``k``, ``metadata=`` clears all."""
    if params.get("metadata") == "":
        return {}
    update = mapping(params, "metadata")
    merged = dict(current)
    for key, value in update.items():
        if not isinstance(value, str):
            raise invalid(f"metadata[{key}]", "Metadata values must be strings", "parameter_invalid_string")
        if len(key) > 40 or len(value) > 500:
            raise invalid(f"metadata[{key}]", "Metadata keys are at most 40 and values 500 characters")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise invalid("metadata", "You can have at most 50 metadata keys")
    return merged


def created_range(params: dict[str, Any], name: str = "created") -> Callable[[dict[str, Any]], bool]:
    """The ``created`` filter of a list: an exact Unix time, or a hash of ``gt``/``gte``/``lt``/``lte``."""
    value = params.get(name)
    if value in (None, ""):
        return lambda _: True
    bounds = value if isinstance(value, dict) else {"eq": value}
    checks: list[Callable[[int], bool]] = []
    for operator, raw in bounds.items():
        if operator not in ("gt", "gte", "lt", "lte", "eq"):
            raise unknown(f"{name}[{operator}]")
        if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
            param = name if operator == "eq" else f"{name}[{operator}]"
            raise invalid(param, f"Invalid integer: {raw}", "parameter_invalid_integer")
        bound = int(raw)
        checks.append(
            {
                "gt": lambda t, b=bound: t > b,
                "gte": lambda t, b=bound: t >= b,
                "lt": lambda t, b=bound: t < b,
                "lte": lambda t, b=bound: t <= b,
                "eq": lambda t, b=bound: t == b,
            }[operator]
        )
    return lambda obj: all(check(int(obj.get("created", 0))) for check in checks)
