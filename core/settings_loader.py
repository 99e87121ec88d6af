"""The one settings loader: flags, ``STRATA_*`` environment, TOML file, defaults.

See :mod:`core.settings` for the rules (precedence, flat keys, sections). The loader works on
any struct made of :class:`~core.settings.CoreSettings` fields and
:class:`~core.settings.SettingsSection` sections, so it sits below the composition root that
assembles the full settings (:mod:`gateway.settings`).
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, NamedTuple, TypeVar, get_args, get_origin

from core.settings import ENV_PREFIX, CoreSettings, SettingsError, SettingsSection

RENAMED_SETTINGS = {"partner_webhook_allow_http_localhost": "allow_loopback_destinations"}
"""Former names, refused with a pointer to the new one (a silently ignored switch helps nobody)."""


class _Key(NamedTuple):
    """Where one flat key lands: a core field (``section`` None) or a section's field."""

    section: str | None
    field: str
    annotation: Any


S = TypeVar("S", bound=CoreSettings)


@cache
def settings_keys(kind: type[CoreSettings]) -> dict[str, _Key]:
    """Every flat key of ``kind``: its own fields, then each section's, prefixed with the section
    (computed once per struct; do not change the mapping returned)."""
    hints = typing.get_type_hints(kind, include_extras=False)
    keys: dict[str, _Key] = {}
    for name in kind.__struct_fields__:
        annotation = hints[name]
        if isinstance(annotation, type) and issubclass(annotation, SettingsSection):
            if name != annotation.SECTION:
                raise TypeError(f"{kind.__name__}.{name} holds section {annotation.SECTION!r}: the names must agree")
            section_hints = typing.get_type_hints(annotation, include_extras=False)
            for field in annotation.__struct_fields__:
                _add(keys, f"{name}_{field}", _Key(name, field, section_hints[field]))
        else:
            _add(keys, name, _Key(None, name, annotation))
    return keys


def _add(keys: dict[str, _Key], flat: str, where: _Key) -> None:
    if flat in keys:
        raise TypeError(f"two settings share the flat key {flat!r}")
    keys[flat] = where


def _coerce(key: str, raw: Any, annotation: Any) -> Any:
    """Turn a raw value (a string from the environment, or a TOML value) into the field type."""
    if get_origin(annotation) is Literal:
        allowed = get_args(annotation)
        if raw not in allowed:
            raise SettingsError(f"{key}: {raw!r} is not allowed; allowed values are {', '.join(allowed)}")
        return raw
    if annotation is bool:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{key}: {raw!r} is not a boolean; allowed values are true, false")
    if annotation is int:
        if isinstance(raw, bool):
            raise SettingsError(f"{key}: {raw!r} is not an integer")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{key}: {raw!r} is not an integer") from None
    if not isinstance(raw, str):
        raise SettingsError(f"{key}: {raw!r} is not a string")
    return raw


def resolve_settings(
    kind: type[S],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> S:
    """Resolve ``kind`` (core settings plus sections) from flags, environment and TOML file.

    Args:
        kind: the settings struct to build (the composition root's full settings).
        overrides: values from command-line flags, by flat key; ``None`` values are ignored.
        environ: the environment to read (defaults to ``os.environ``).

    Raises:
        SettingsError: a value is of the wrong type or out of its allowed set, or a key is unknown.
    """
    env = os.environ if environ is None else environ
    keys = settings_keys(kind)
    _refuse_renamed(env, overrides)
    merged = _from_file(env, keys)
    for key in keys:
        value = env.get(ENV_PREFIX + key.upper())
        if value is not None:
            merged[key] = value
    merged.update(_secret_files(env, kind, keys))
    for key, value in (overrides or {}).items():
        if value is not None:
            if key not in keys:
                raise SettingsError(f"{key}: unknown setting")
            merged[key] = value
    core: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in merged.items():
        where = keys[key]
        target = core if where.section is None else sections.setdefault(where.section, {})
        target[where.field] = _coerce(key, value, where.annotation)
    hints = typing.get_type_hints(kind, include_extras=False)
    built = {name: hints[name](**values) for name, values in sections.items()}
    return kind(**core, **built)


@cache
def secret_keys_of(kind: type[CoreSettings]) -> tuple[str, ...]:
    """The flat keys of every secret setting of ``kind`` (its own ``SECRETS`` and each section's)."""
    hints = typing.get_type_hints(kind, include_extras=False)
    found = list(kind.SECRETS)
    for name in kind.__struct_fields__:
        annotation = hints[name]
        if isinstance(annotation, type) and issubclass(annotation, SettingsSection):
            found.extend(f"{name}_{field}" for field in annotation.SECRETS)
    return tuple(found)


def _secret_files(env: Mapping[str, str], kind: type[CoreSettings], keys: Mapping[str, _Key]) -> dict[str, str]:
    """Secrets read from the files ``STRATA_<NAME>_FILE`` names (a container's secret mounts).

    A secret that has a ``<name>_file`` setting of its own (``master_key_file``,
    ``netsuite_private_key_file``) is read by its owner, which knows the file's format. The
    file's content is the value, a trailing newline removed; set beside ``STRATA_<NAME>`` with a
    different value, the two are refused rather than one silently winning.
    """
    values: dict[str, str] = {}
    for key in secret_keys_of(kind):
        if f"{key}_file" in keys:
            continue
        variable = f"{ENV_PREFIX}{key.upper()}_FILE"
        path = env.get(variable)
        if not path:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().rstrip("\r\n")
        except OSError as exc:
            raise SettingsError(f"{variable}: cannot read {path!r} ({exc.strerror})") from None
        if not value:
            raise SettingsError(f"{variable}: {path!r} is empty")
        direct = env.get(ENV_PREFIX + key.upper())
        if direct is not None and direct != value:
            raise SettingsError(f"{ENV_PREFIX}{key.upper()} and {variable} disagree; set only one of them")
        values[key] = value
    return values


def _from_file(env: Mapping[str, str], keys: Mapping[str, _Key]) -> dict[str, Any]:
    """The flat key → value pairs of the ``STRATA_CONFIG`` TOML file (``[section]`` tables flattened)."""
    config_file = env.get(f"{ENV_PREFIX}CONFIG")
    if not config_file:
        return {}
    try:
        with open(config_file, "rb") as handle:
            from_file = tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"STRATA_CONFIG: cannot read {config_file!r} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"STRATA_CONFIG: {config_file!r} is not valid TOML ({exc})") from None
    sections = {where.section for where in keys.values() if where.section is not None}
    flat: dict[str, Any] = {}
    for key, value in from_file.items():
        if key in sections and isinstance(value, dict):
            flat.update({f"{key}_{field}": item for field, item in value.items()})
        else:
            flat[key] = value
    for key in flat:
        if key in RENAMED_SETTINGS:
            raise SettingsError(f"{key}: renamed to {RENAMED_SETTINGS[key]} (in {config_file})")
        if key not in keys:
            raise SettingsError(f"{key}: unknown setting in {config_file}; known settings are {', '.join(keys)}")
    return flat


def settings_environment(settings: CoreSettings) -> dict[str, str]:
    """``STRATA_*`` variables that :func:`resolve_settings` reads back as ``settings`` (for worker
    processes, which resolve their settings from the environment)."""
    environment = {}
    for key, where in settings_keys(type(settings)).items():
        holder = settings if where.section is None else getattr(settings, where.section)
        value = getattr(holder, where.field)
        environment[ENV_PREFIX + key.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return environment


def _refuse_renamed(env: Mapping[str, str], overrides: Mapping[str, Any] | None) -> None:
    for old, new in RENAMED_SETTINGS.items():
        if ENV_PREFIX + old.upper() in env:
            raise SettingsError(f"{ENV_PREFIX}{old.upper()}: renamed to {ENV_PREFIX}{new.upper()}")
        if (overrides or {}).get(old) is not None:
            raise SettingsError(f"{old}: renamed to {new}")
