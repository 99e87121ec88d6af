"""The master key: explicit, from a file, or created once under the state directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import signing_keys
from core.master_key import resolve_master_key
from gateway.settings import SettingsError, load_settings
from tests.support.harness import running_gateway


def test_the_embedded_default_is_created_once_and_private(tmp_path: Path) -> None:
    settings = load_settings({"state_dir": str(tmp_path)}, environ={})
    first = resolve_master_key(settings)
    assert resolve_master_key(settings) == first
    mode = (tmp_path / "master.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_explicit_and_file_keys_win(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("f" * 40 + "\n")
    from_file = load_settings({"state_dir": str(tmp_path), "master_key_file": str(secret_file)}, environ={})
    assert resolve_master_key(from_file) == "f" * 40
    explicit = load_settings({"state_dir": str(tmp_path), "master_key": "e" * 32}, environ={})
    assert resolve_master_key(explicit) == "e" * 32
    assert not (tmp_path / "master.key").exists()


def test_a_short_key_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        resolve_master_key(load_settings({"state_dir": str(tmp_path), "master_key": "short"}, environ={}))


async def test_signing_keys_are_encrypted_at_rest(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        async with gw.app.state.components.engine.connect() as connection:
            stored = (await connection.execute(select(signing_keys.c.private_jwk))).scalars().all()
        _, key = gw.oauth.keys.current()
        private_exponent = key.as_dict(private=True)["d"]
    assert stored and all(private_exponent not in row and '"d"' not in row for row in stored)
