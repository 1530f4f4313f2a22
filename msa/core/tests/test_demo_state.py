"""The demo's secrets and address in its data folder (msa/core/demo_state.py), without Django."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from msa.core.demo_state import (
    SECRETS_FILE,
    SERVER_FILE,
    SQLITE_FILE,
    demo_marker_applies,
    demo_secret,
    demo_server_clear,
    demo_server_record,
    demo_server_url,
)

LEGACY = base64.urlsafe_b64encode(hashlib.sha256(b"msa-demo-lookup").digest()).decode()


def test_each_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = demo_secret(tmp_path, "MSA_SECRET_KEY")
    keys = demo_secret(tmp_path, "MSA_ENCRYPTION_KEYS", legacy="old")
    assert len(first) >= 50
    assert keys.startswith("demo:")
    assert len(base64.urlsafe_b64decode(keys.removeprefix("demo:") + "=")) == 32
    assert keys != "old"  # a new folder: no legacy key
    assert demo_secret(tmp_path, "MSA_SECRET_KEY") == first
    assert demo_secret(tmp_path, "MSA_ENCRYPTION_KEYS") == keys
    # a secret a later version asks for is added, the others kept
    assert demo_secret(tmp_path, "MSA_SOME_NEW_KEY") not in (first, keys)
    assert demo_secret(tmp_path, "MSA_SECRET_KEY") == first
    assert oct((tmp_path / SECRETS_FILE).stat().st_mode & 0o777) == "0o600"


def test_a_folder_older_than_the_marker_keeps_the_fixed_keys_it_was_encrypted_with(
    tmp_path: Path,
) -> None:
    (tmp_path / SQLITE_FILE).write_bytes(b"")
    assert demo_secret(tmp_path, "MSA_LOOKUP_KEY", legacy=LEGACY) == LEGACY
    assert demo_secret(tmp_path, "MSA_SECRET_KEY") != LEGACY  # it had none kept: a new one


def test_the_marker_applies_only_without_secrets_and_for_the_same_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MSA_DEMO", "MSA_SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert not demo_marker_applies(tmp_path)  # no marker
    demo_secret(tmp_path, "MSA_SECRET_KEY")
    assert demo_marker_applies(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgres://x@127.0.0.1:5432/other")
    assert not demo_marker_applies(tmp_path)
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("MSA_SECRET_KEY", "production-" + "k" * 40)
    assert not demo_marker_applies(tmp_path)
    monkeypatch.delenv("MSA_SECRET_KEY")
    monkeypatch.setenv("MSA_DEMO", "0")  # said so: not the demo
    assert not demo_marker_applies(tmp_path)


def test_the_address_is_found_while_its_process_lives(tmp_path: Path) -> None:
    assert demo_server_url(tmp_path) is None
    demo_server_record(tmp_path, "http://127.0.0.1:8123")
    assert demo_server_url(tmp_path) == "http://127.0.0.1:8123"
    # a demo that died without clearing it (kill -9): its process is gone, so is its address
    gone = json.loads((tmp_path / SERVER_FILE).read_text())
    gone["pid"] = 2**22 + 1  # above Linux's largest pid
    (tmp_path / SERVER_FILE).write_text(json.dumps(gone))
    assert demo_server_url(tmp_path) is None
    demo_server_record(tmp_path, "http://127.0.0.1:8124")
    demo_server_clear(tmp_path)
    assert not (tmp_path / SERVER_FILE).exists()
