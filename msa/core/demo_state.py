"""The demo's state in its data folder (``MSA_DATA_DIR``): the secrets it generated, and the
address it serves. Without Django: the settings read the secrets before Django is configured,
and ``msa simulate`` reads the address without starting Django at all.

- ``demo-secrets.json`` (mode 0600) is the **demo marker**. The first process that runs as the
  demo (``MSA_DEMO=1``) in a folder writes it: Django's secret key, the encryption keys, the
  look-up key and every other secret the settings ask the demo for, each generated once. A
  restart reads them again, so that signed-in browsers stay signed in and the data stays
  readable.
- A command started beside the demo (``msa case list``, ``msa token create`` …) with neither
  ``MSA_DEMO`` nor ``MSA_SECRET_KEY`` set runs as the demo when its data folder holds the marker
  for the same database (:func:`demo_marker_applies`). Production, which sets its secrets and
  whose folder holds no marker, is never affected, and still refuses to start without them.
- ``demo-server.json`` names the address ``msa demo`` serves and its process, while it runs.

A folder whose SQLite database predates the marker was encrypted with the fixed demo keys of
earlier versions: the marker then records ``legacy`` and keeps those keys, so that nothing
becomes unreadable.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msa.core.env import env_given, env_optional, env_str

SECRETS_FILE = "demo-secrets.json"
SERVER_FILE = "demo-server.json"
_LOCK_FILE = ".demo-secrets.lock"
SQLITE_FILE = "msa.sqlite3"


def data_dir() -> Path:
    """``MSA_DATA_DIR``, relative to the working directory unless absolute."""
    folder = Path(env_str("MSA_DATA_DIR"))
    return folder if folder.is_absolute() else Path.cwd() / folder


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _generate(name: str) -> str:
    if name == "MSA_SECRET_KEY":
        return secrets.token_urlsafe(50)
    if name == "MSA_ENCRYPTION_KEYS":
        return "demo:" + _key()
    return _key()  # the look-up key, the audit key, and any 32-byte key a setting adds


def _database_id() -> str:
    """Which database the marker belongs to (a hash: a URL may hold a password)."""
    return hashlib.sha256((env_optional("DATABASE_URL") or "").encode()).hexdigest()[:16]


def _read(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / SECRETS_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OSError(
            f"the demo's secrets in {folder / SECRETS_FILE} are unreadable: {exc}"
        ) from exc
    return data if isinstance(data, dict) else None


def _write(folder: Path, data: dict[str, Any]) -> None:
    tmp = folder / (SECRETS_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    tmp.replace(folder / SECRETS_FILE)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One process at a time adds a secret (two starting at once must agree on each)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / _LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def demo_secret(folder: Path, name: str, *, legacy: str | None = None) -> str:
    """The demo's value of the secret ``name`` in ``folder``: read, or generated once and kept.

    ``legacy`` is the fixed value earlier versions used, kept for a folder whose database
    predates the marker.
    """
    data = _read(folder)
    if data is not None and isinstance(data.get("secrets", {}).get(name), str):
        value: str = data["secrets"][name]
        return value
    with _locked(folder):
        data = _read(folder)
        if data is None:
            data = {
                "database": _database_id(),
                "legacy": (folder / SQLITE_FILE).exists(),
                "secrets": {},
            }
        stored = data.setdefault("secrets", {})
        if not isinstance(stored.get(name), str):
            stored[name] = legacy if (legacy and data.get("legacy")) else _generate(name)
            _write(folder, data)
        return str(stored[name])


def demo_marker_applies(folder: Path) -> bool:
    """Whether this process, started with neither ``MSA_DEMO`` nor ``MSA_SECRET_KEY``, runs as
    the demo whose marker is in ``folder`` (for the same database)."""
    if env_given("MSA_DEMO") or env_given("MSA_SECRET_KEY"):
        return False
    data = _read(folder)
    return data is not None and data.get("database") == _database_id()


# --- the address ``msa demo`` serves -----------------------------------------------------------


def demo_server_record(folder: Path, url: str) -> None:
    """Note the address this process serves the demo at (``msa simulate`` aims there)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (SERVER_FILE + ".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    tmp.replace(folder / SERVER_FILE)


def demo_server_clear(folder: Path) -> None:
    """Forget the address, if this process is the one that noted it."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        if json.loads((folder / SERVER_FILE).read_text()).get("pid") == os.getpid():
            (folder / SERVER_FILE).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def demo_server_url(folder: Path) -> str | None:
    """The address of the demo running from ``folder``, or None (none noted, or it is gone)."""
    try:
        data = json.loads((folder / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    url: str = data["url"]
    return url
