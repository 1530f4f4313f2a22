from __future__ import annotations

from typing import Any

from msa.accounts.selectors import console_centres_for
from msa.core.permissions import Permission


def _is_console_staff(user: Any) -> bool:
    return bool(console_centres_for(user).exists())


CONSOLE = Permission("console.view", _is_console_staff)
