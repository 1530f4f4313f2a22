"""Steps a browser test cannot click through quickly, run against a live demo server's own
database (``python -m tests.support.zone_seed STEP [REFERENCE]`` with the server's
environment): ``awaiting`` opens a case and walks it to the magistrate (prints its
reference); ``alarm REFERENCE`` walks the decided case to active and presses its button
(prints the incident's reference)."""

from __future__ import annotations

import sys
import uuid

from msa.cli import setup_django


def _awaiting() -> str:
    from msa.cases.services.assessment import case_submit  # noqa: PLC0415 - after setup_django()
    from msa.cases.tests import factories as h  # noqa: PLC0415 - after setup_django()

    case = h.assessed(h.new_case("GNT", number=9), threat_to_kill="yes")
    case_submit(case=case, actor=h.actor("reference"))
    return case.reference


def _alarm(reference: str) -> str:
    from msa.alarms.revocation import loan_pair  # noqa: PLC0415 - after setup_django()
    from msa.alarms.selectors import case_test_alarm_last  # noqa: PLC0415 - after setup_django()
    from msa.alarms.services.intake import alarm_raise  # noqa: PLC0415 - after setup_django()
    from msa.alarms.services.tracking import FixInput  # noqa: PLC0415 - after setup_django()
    from msa.alarms.states import CallState, Channel, Trigger  # noqa: PLC0415 - after setup_django()
    from msa.cases.models import ProtectionCase  # noqa: PLC0415 - after setup_django()
    from msa.cases.services.enrolment import (  # noqa: PLC0415 - after setup_django()
        case_activate,
        checklist_confirm_test,
        checklist_mark,
        consent_record,
    )
    from msa.cases.tests import factories as h  # noqa: PLC0415 - after setup_django()
    from msa.core import clock  # noqa: PLC0415 - after setup_django()
    from msa.core.actors import Actor  # noqa: PLC0415 - after setup_django()
    from msa.devices.inventory import item_add, loan_create  # noqa: PLC0415 - after setup_django()
    from msa.devices.models import ItemKind  # noqa: PLC0415 - after setup_django()

    case = ProtectionCase.objects.get(reference=reference)
    ref = h.actor("reference")
    consent_record(case=case, given_at=clock.now(), method="written", actor=ref)
    case = ProtectionCase.objects.get(pk=case.pk)
    office = case.police_zone.prosecutor_office
    assert office is not None
    for kind in (ItemKind.BUTTON, ItemKind.PHONE, ItemKind.SIM):
        item = item_add(kind=kind, serial=f"Z-{kind}-9", district=office, actor=ref)
        loan_create(item=item, case=case, actor=ref)
    device = loan_pair(case=case, actor=ref).device
    checklist_mark(case=case, item="button_paired", actor=ref)
    checklist_mark(case=case, item="permissions_granted", actor=ref)
    h.send_test_alarm(device, 9)
    checklist_confirm_test(case=case, test_incident_reference=case_test_alarm_last(case), actor=ref)
    case_activate(case=ProtectionCase.objects.get(pk=case.pk), actor=ref)
    now = clock.now()
    result = alarm_raise(
        device=device,
        alarm_id=uuid.UUID(int=9_000_001),
        trigger=Trigger.BUTTON,
        pressed_at=now,
        location=FixInput(lat=51.0543, lon=3.7174, accuracy_m=15, fix_at=now, source="gps"),
        battery=None,
        call_state=CallState.DIALING,
        channel=Channel.DATA,
        actor=Actor.device(device.device_id),
    )
    return result.incident.reference


if __name__ == "__main__":
    setup_django(demo=True)
    step = sys.argv[1]
    print(_awaiting() if step == "awaiting" else _alarm(sys.argv[2]))
