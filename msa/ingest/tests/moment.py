"""The moment the ingest tests run at, which the phones' clocks agree with (``conftest.frozen``).
A module that needs another moment defines its own ``NOW`` and ``frozen``."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 14, 8, 15, 3, tzinfo=UTC)
AT = "2026-03-14T08:15:02Z"  # a second before NOW, as a phone sends it
