from __future__ import annotations

from typing import Any

from msa.accounts.selectors import console_centres_for
from msa.core.permissions import Permission
from msa.dispatch.models import UnitCrew
from msa.dispatch.supervision import supervised_centres


def _is_console_staff(user: Any) -> bool:
    return bool(console_centres_for(user).exists())


def _is_unit_crew(user: Any) -> bool:
    return bool(UnitCrew.objects.filter(user=user).exists())


CONSOLE = Permission("console.view", _is_console_staff)
CONSOLE_ACT = Permission("console.act", _is_console_staff)


def _is_supervisor(user: Any) -> bool:
    return bool(supervised_centres(user).exists())


SUPERVISE = Permission("console.supervise", _is_supervisor)
UNIT_CREW = Permission("unit.crew", _is_unit_crew)
