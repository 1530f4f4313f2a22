"""A small region built for the indicators: every figure the tests expect is worked out by
hand in test_indicators.py from the rows below.

Period: March 2026 in Europe/Brussels, i.e. [2026-02-28 23:00 UTC, 2026-03-31 22:00 UTC)
(summer time begins on 29 March). Centre TCIC covers zones TZ1 and TZ2 (district TPK); zone
TZ3 belongs to another centre (OCIC) and district (OPK).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from msa.accounts.models import Membership, Organisation, OrgKind, User
from msa.alarms.models import Incident, RepeatPress
from msa.alarms.states import CallState, Channel, IncidentState, Lane, Outcome, Trigger
from msa.cases.models import CaseTransition, ProtectionCase, RiskAssessment, Suspect, Victim
from msa.cases.tests.factories import instrument
from msa.devices.models import Device, DeviceHealthIssue, InventoryItem, ItemKind, Loan
from msa.evaluation.models import VictimSurvey

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
VICTIM_NAMES = ("Zelda Quist", "Yara Oost", "Xena Prins")
SUSPECT_NAMES = ("Walter Rook", "Victor Smit", "Ugo Troost")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@dataclass
class Region:
    cic: Organisation
    pk: Organisation
    tz1: Organisation
    tz2: Organisation
    tz3: Organisation
    cases: dict[str, ProtectionCase] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)


_counter = iter(range(1, 10_000))


def _case(zone: Organisation, ref: str, n: int, **kw: Any) -> ProtectionCase:
    first, last = VICTIM_NAMES[n % 3].split()
    sfirst, slast = SUSPECT_NAMES[n % 3].split()
    return ProtectionCase.objects.create(
        reference=ref,
        police_zone=zone,
        victim=Victim.objects.create(first_name=first, last_name=last),
        suspect=Suspect.objects.create(first_name=sfirst, last_name=slast),
        relation="ex_partner",
        created_at=kw.pop("created_at", at(2026, 1, 1)),
        **kw,
    )


def _incident(region: Region, key: str, case: ProtectionCase, received: datetime, **kw: Any):
    secs = {k: kw.pop(k) for k in ("ack", "dispatch", "on_scene") if k in kw}
    inc = Incident.objects.create(
        reference=f"T-{key}",
        centre=region.cic,
        case=case,
        trigger=kw.pop("trigger", Trigger.BUTTON),
        lane=kw.pop("lane", Lane.LIVE),
        status=IncidentState.CLOSED,
        channels=kw.pop("channels", [Channel.DATA]),
        call_state=kw.pop("call_state", CallState.ENDED),
        pressed_at=received,
        received_at=received,
        acknowledged_at=received + timedelta(seconds=secs["ack"]) if "ack" in secs else None,
        dispatched_at=received + timedelta(seconds=secs["dispatch"])
        if "dispatch" in secs
        else None,
        on_scene_at=received + timedelta(seconds=secs["on_scene"]) if "on_scene" in secs else None,
        closed_at=received + timedelta(hours=1),
        **kw,
    )
    region.incidents[key] = inc
    return inc


def _history(case: ProtectionCase, *steps: tuple[str, datetime]) -> None:
    previous = ""
    for state, when in steps:
        CaseTransition.objects.create(
            subject=case,
            transition="step",
            from_state=previous,
            to_state=state,
            actor_label="test",
            at=when,
        )
        previous = state


def build() -> Region:
    cic = Organisation.objects.create(kind=OrgKind.CIC, name="Test centre", code="TCIC")
    pk = Organisation.objects.create(kind=OrgKind.PROSECUTOR_OFFICE, name="Test PK", code="TPK")
    ocic = Organisation.objects.create(kind=OrgKind.CIC, name="Other centre", code="OCIC")
    opk = Organisation.objects.create(kind=OrgKind.PROSECUTOR_OFFICE, name="Other PK", code="OPK")

    def zone(code: str, centre: Organisation, office: Organisation) -> Organisation:
        return Organisation.objects.create(
            kind=OrgKind.POLICE_ZONE,
            name=f"Zone {code}",
            code=code,
            covered_by=centre,
            prosecutor_office=office,
        )

    r = Region(cic, pk, zone("TZ1", cic, pk), zone("TZ2", cic, pk), zone("TZ3", ocic, opk))
    a = _case(r.tz1, "T-CA", 0, status="active", activated_at=at(2026, 2, 1))
    b = _case(
        r.tz2,
        "T-CB",
        1,
        status="ended",
        activated_at=at(2026, 3, 15, 10),
        ended_at=at(2026, 3, 25, 10),
        end_reason="review",
    )
    c = _case(
        r.tz1,
        "T-CC",
        2,
        status="ended",
        activated_at=at(2026, 1, 1),
        ended_at=at(2026, 3, 5),
        end_reason="consent_withdrawn",
    )
    d = _case(r.tz2, "T-CD", 0, status="requested", created_at=at(2026, 3, 20))
    e = _case(
        r.tz1,
        "T-CE",
        1,
        status="ended",
        activated_at=at(2025, 12, 1),
        ended_at=at(2026, 2, 10),
        end_reason="expired",
    )
    probe = _case(r.tz1, "T-CP", 2, status="active", activated_at=at(2026, 1, 1), is_probe=True)
    other = _case(r.tz3, "T-CO", 0, status="active", activated_at=at(2026, 1, 1))
    r.cases = {"A": a, "B": b, "C": c, "D": d, "E": e, "P": probe, "O": other}
    _history(
        a,
        ("requested", at(2026, 1, 20)),
        ("active", at(2026, 2, 1)),
        ("suspended", at(2026, 4, 10)),
    )
    _history(
        b,
        ("requested", at(2026, 3, 10)),
        ("active", at(2026, 3, 15, 10)),
        ("ended", at(2026, 3, 25, 10)),
    )
    _history(c, ("active", at(2026, 1, 1)), ("ended", at(2026, 3, 5)))
    _history(d, ("requested", at(2026, 3, 20)))
    _history(e, ("active", at(2025, 12, 1)), ("ended", at(2026, 2, 10)))
    _history(other, ("active", at(2026, 1, 1)))

    tool = instrument()
    for case, level, when in (
        (a, "high", at(2026, 1, 25)),
        (a, "extreme", at(2026, 4, 5)),
        (b, "medium", at(2026, 3, 12)),
    ):
        RiskAssessment.objects.create(
            case=case,
            instrument=tool,
            answers={},
            score=0,
            computed_level=level,
            level=level,
            assessed_at=when,
            assessed_by="test",
        )

    # live incidents I1..I8, a test alarm, and three that must not count
    _incident(
        r,
        "I1",
        a,
        T0,
        ack=10,
        dispatch=60,
        on_scene=300,
        outcome=Outcome.ARRESTED_ON_SCENE,
        violence_before_arrival=True,
        victim_injured=False,
    )
    _incident(
        r,
        "I2",
        a,
        T0 + timedelta(hours=1),
        channels=[Channel.SMS],
        call_state=CallState.GHOST,
        ack=40,
        dispatch=50,
        on_scene=700,
        outcome=Outcome.ARRESTED_LATER,
        violence_before_arrival=False,
        victim_injured=True,
    )
    _incident(
        r,
        "I3",
        b,
        at(2026, 3, 16, 8),
        trigger=Trigger.DURESS,
        channels=[Channel.DATA, Channel.SMS],
        ack=20,
        dispatch=30,
        outcome=Outcome.NOT_FOUND,
    )
    _incident(
        r,
        "I4",
        b,
        at(2026, 3, 17, 8),
        channels=[Channel.UNVERIFIED_SMS],
        ack=100,
        victim_cancelled_at=at(2026, 3, 17, 8, 1),
        outcome=Outcome.NO_OFFENCE,
    )
    i5 = _incident(r, "I5", b, at(2026, 3, 18, 8), ack=5, outcome=Outcome.FALSE_MISPRESS)
    _incident(
        r, "I6", a, at(2026, 3, 20, 8), channels=[Channel.AML], outcome=Outcome.FALSE_TECHNICAL
    )
    _incident(
        r,
        "I7",
        a,
        at(2026, 3, 21, 8),
        ack=25,
        dispatch=40,
        on_scene=200,
        victim_cancelled_at=at(2026, 3, 21, 8, 1),
        duress_at=at(2026, 3, 21, 8, 1),
        outcome=Outcome.NO_OFFENCE,
    )
    _incident(r, "I8", b, at(2026, 3, 22, 8), ack=15, outcome=Outcome.FALSE_TEST)
    _incident(
        r,
        "T1",
        a,
        at(2026, 3, 3, 9),
        lane=Lane.TEST,
        trigger=Trigger.TEST,
        ack=3,
        outcome=Outcome.FALSE_TEST,
    )
    # 1 April 00:30 in Brussels (summer time): 31 March 22:30 UTC, outside March
    _incident(r, "X1", a, at(2026, 3, 31, 22, 30), ack=10)
    _incident(r, "X2", probe, at(2026, 3, 12, 8), lane=Lane.PROBE, ack=1)
    _incident(r, "X3", other, at(2026, 3, 12, 8), ack=500, dispatch=510, on_scene=2000)
    for n in range(2):
        RepeatPress.objects.create(
            incident=i5,
            trigger=Trigger.BUTTON,
            channel="data",
            pressed_at=i5.received_at + timedelta(seconds=5 + n),
            received_at=i5.received_at + timedelta(seconds=5 + n),
        )

    # buttons of district TPK
    def button(serial: str, added: datetime, status: str = "in_stock") -> InventoryItem:
        return InventoryItem.objects.create(
            kind=ItemKind.BUTTON, serial=serial, district=pk, status=status, added_at=added
        )

    b1, b2 = button("B1", at(2026, 1, 1), "loaned"), button("B2", at(2026, 1, 1))
    button("B3", at(2026, 1, 1))
    button("B4", at(2026, 1, 1), "lost")
    button("B5", at(2026, 4, 15))
    b6 = button("B6", at(2026, 1, 1))
    Loan.objects.create(item=b1, case=a, loaned_at=at(2026, 2, 1), loaned_by="t")
    Loan.objects.create(
        item=b2, case=b, loaned_at=at(2026, 3, 16), loaned_by="t", returned_at=at(2026, 3, 26)
    )
    Loan.objects.create(
        item=b6, case=c, loaned_at=at(2026, 1, 1), loaned_by="t", returned_at=at(2026, 3, 6)
    )

    device = Device.objects.create(
        device_id="t-dev-a", key="x" * 43, case=a, enrolled_at=at(2026, 2, 1)
    )
    for problem, when in (
        ("silent", at(2026, 3, 5)),
        ("phone_battery_low", at(2026, 3, 20)),
        ("button_unlinked", at(2026, 2, 20)),
    ):
        DeviceHealthIssue.objects.create(
            device=device,
            case=a,
            problem=problem,
            opened_at=when,
            cleared_at=when + timedelta(hours=1),
        )

    for case, wave, compared, when in (
        (a, "month_3", "safer", at(2026, 3, 12)),
        (b, "enrolment", "same", at(2026, 3, 16)),
        (c, "month_3", "safer", at(2026, 2, 10)),
    ):
        VictimSurvey.objects.create(
            case=case,
            wave=wave,
            answered_at=when,
            safety_now=3,
            compared=compared,
            help_confidence="yes",
            recorded_at=when,
            recorded_by="test",
        )
    return r


def member(username: str, org: Organisation, role: str) -> User:
    user = User.objects.create_user(username=username)
    Membership.objects.create(user=user, organisation=org, role=role)
    return user
