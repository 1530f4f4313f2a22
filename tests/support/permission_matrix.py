"""The permission matrix: every URL name → who may use it, and how to build its URL for an
object in scope and one out of scope.

``ALLOWED`` roles (demo logins) must get an answer (200/302, or a 4xx about the input such
as 400/409/422 for a POST without data); every other role gets 404. An object out of scope
(another dispatch centre's region) is 404 for every role. A URL name missing here fails
``test_every_url_is_in_the_matrix``: a new view needs a line here, reviewed.

Machine APIs (device, SMS gateway, unit AVL, CIC integration) take no staff session: a
signed-in member of staff gets no 2xx from them (``MACHINE``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin

from msa.accounts.models import Membership, Organisation, OrgKind, User
from msa.alarms.models import Incident
from msa.alarms.services.intake import alarm_raise
from msa.alarms.services.tracking import FixInput
from msa.alarms.states import CallState, Channel, Trigger
from msa.cases.models import CaseTask, ProtectionCase, Referral, Suspect, Victim
from msa.cases.states import CaseState
from msa.cases.tests import factories as case_factories
from msa.core.actors import Actor
from msa.core.models import ReferenceCounter
from msa.demo_data import demo_device_id
from msa.devices.models import Device, InventoryItem, Loan
from msa.devices.services import device_enroll
from msa.dispatch.models import Dispatch, Unit
from msa.evaluation.models import IncidentReview
from tests.support.factories import press

ROLES = (
    "operator",
    "supervisor",
    "reference",
    "magistrate",
    "counsellor",
    "patrol",
    "analyst",
    "admin",
)
CONSOLE = frozenset({"operator", "supervisor"})
GROUP = frozenset({"supervisor", "analyst"})  # the working group of a centre
AUDIT = frozenset({"supervisor", "admin"})
SUPERVISOR = frozenset({"supervisor"})
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
ZONE = frozenset({"reference"})  # the zone's reference officer runs the case
# who sees a case at all: the CIC covering its zone, the zone, the prosecutor's office and the
# support service on its care team (the counsellor sees the team's part only)
STATS = frozenset({"analyst", "supervisor", "admin"})
CASE_READERS = frozenset({"operator", "supervisor", "reference", "magistrate", "counsellor"})

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


@dataclass
class World:
    """The objects the URLs point at: ``in`` the demo region, ``out`` another centre's."""

    centre: dict[str, int] = field(default_factory=dict)
    incident: dict[str, str] = field(default_factory=dict)
    alarm: dict[str, str] = field(default_factory=dict)
    case_id: dict[str, int] = field(default_factory=dict)
    case_ref: dict[str, str] = field(default_factory=dict)
    dispatch: dict[str, int] = field(default_factory=dict)
    unit_dispatch: dict[str, int] = field(default_factory=dict)
    task: dict[str, int] = field(default_factory=dict)
    loan: dict[str, int] = field(default_factory=dict)
    referral: dict[str, int] = field(default_factory=dict)
    review: dict[str, str] = field(default_factory=dict)
    application: dict[str, str] = field(default_factory=dict)


Kwargs = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[str]
    kwargs: Kwargs | None = None  # None: the URL takes no object
    method: str = "GET"
    machine: bool = False
    data: dict[str, str] = field(default_factory=dict)  # a valid POST body, where needed


def _ref(w: World, s: str) -> dict[str, Any]:
    return {"reference": w.incident[s]}


def _case(w: World, s: str) -> dict[str, Any]:
    return {"reference": w.case_ref[s]}


def _review(w: World, s: str) -> dict[str, Any]:
    return {"reference": w.review[s]}


MATRIX: dict[str, Entry] = {
    # the landing page sends each member of staff where their work is (a redirect)
    "landing": Entry(EVERYONE),
    # sign-in steps and the audit trail (issue 6)
    "otp-verify": Entry(EVERYONE),
    "otp-enrol": Entry(EVERYONE),
    "otp-recovery-codes": Entry(EVERYONE, method="POST"),
    "audit:list": Entry(AUDIT),
    # the outbox's dead letters (issue 12), and sending one again (a POST without one: 302)
    "messaging:undelivered": Entry(AUDIT),
    "messaging:retry": Entry(AUDIT, method="POST"),
    # the console (dispatch)
    "console:home": Entry(CONSOLE),
    "console:queue": Entry(CONSOLE, lambda w, s: {"centre_id": w.centre[s]}),
    "console:incident": Entry(CONSOLE, _ref),
    "console:incident_live": Entry(CONSOLE, _ref),
    "console:acknowledge": Entry(CONSOLE, _ref, "POST"),
    "console:note": Entry(CONSOLE, _ref, "POST"),
    "console:dispatch": Entry(CONSOLE, _ref, "POST"),
    "console:progress": Entry(
        CONSOLE,
        lambda w, s: {"reference": w.incident[s], "dispatch_id": w.dispatch[s]},
        "POST",
    ),
    "console:outcome": Entry(CONSOLE, _ref, "POST"),
    "console:close": Entry(CONSOLE, _ref, "POST"),
    "console:reopen": Entry(CONSOLE, _ref, "POST"),
    "console:tracking": Entry(CONSOLE, _ref, "POST"),
    # the supervisor's view (issue 10): a POST without an operator is refused with a message
    "console:supervisor": Entry(SUPERVISOR),
    "console:supervisor_live": Entry(SUPERVISOR, lambda w, s: {"centre_id": w.centre[s]}),
    "console:reassign": Entry(SUPERVISOR, _ref, "POST"),
    # the patrol unit's page (its crew only)
    "unit:home": Entry(frozenset({"patrol"})),
    "unit:track": Entry(frozenset({"patrol"})),
    "unit:status": Entry(frozenset({"patrol"}), method="POST"),
    "unit:position": Entry(frozenset({"patrol"}), method="POST"),
    "unit:progress": Entry(
        frozenset({"patrol"}),
        lambda w, s: {"dispatch_id": w.unit_dispatch[s]},
        "POST",
        data={"transition": "depart"},
    ),
    "unit:outcome": Entry(
        frozenset({"patrol"}), lambda w, s: {"dispatch_id": w.unit_dispatch[s]}, "POST"
    ),
    # case management
    "cases:list": Entry(
        frozenset({"operator", "supervisor", "reference", "magistrate", "counsellor"})
    ),
    "cases:new": Entry(ZONE),
    "devices:inventory": Entry(ZONE),
    "devices:report": Entry(ZONE),
    "cases:detail": Entry(CASE_READERS, _case),
    "cases:assess": Entry(ZONE, _case),
    "cases:places": Entry(ZONE, _case),
    "cases:decide": Entry(frozenset({"magistrate"}), _case),
    "cases:renew": Entry(frozenset({"magistrate"}), _case, "POST"),
    # owners are sent straight on (302), the CIC states its reason
    "cases:reason": Entry(CASE_READERS, _case, "POST"),
    "cases:pair": Entry(ZONE, _case, "POST"),
    "cases:note": Entry(frozenset({"reference", "magistrate", "counsellor"}), _case, "POST"),
    "cases:task_done": Entry(
        ZONE, lambda w, s: {"reference": w.case_ref[s], "task_id": w.task["in"]}, "POST"
    ),
    "cases:return": Entry(
        ZONE,
        lambda w, s: {"reference": w.case_ref[s], "loan_id": w.loan["in"]},
        "POST",
        data={"condition": "ok"},
    ),
    # the zone's officer, or the support service the referral is to (VSOVL here)
    "cases:referral_status": Entry(
        frozenset({"reference", "counsellor"}),
        lambda w, s: {"reference": w.case_ref[s], "referral_id": w.referral["in"]},
        "POST",
        data={"transition": "accept"},
    ),
    "cases:step": Entry(ZONE, lambda w, s: {"reference": w.case_ref[s], "step": "submit"}, "POST"),
    # the technical working group's reviews (issue 14): the centre's supervisors and analysts
    # read them, supervisors record; a POST without data answers with a message (302)
    "evaluation:reviews": Entry(GROUP),
    "evaluation:review": Entry(GROUP, _review),
    "evaluation:review_findings": Entry(SUPERVISOR, _review, "POST"),
    "evaluation:review_action_add": Entry(SUPERVISOR, _review, "POST"),
    "evaluation:review_action_done": Entry(SUPERVISOR, _review, "POST"),
    "evaluation:review_step": Entry(
        SUPERVISOR, lambda w, s: {"reference": w.review[s], "transition": "conclude"}, "POST"
    ),
    # the victim's survey: the case officer; the evidence bundle: the case's owners
    "evaluation:survey": Entry(ZONE, _case),
    "evaluation:evidence": Entry(frozenset({"reference", "magistrate"}), _ref),
    # what followed an intervention (issue 17): the zone's officer records it
    "cases:followup": Entry(
        ZONE, lambda w, s: {"reference": w.case_ref[s], "kind": "judicial"}, "POST"
    ),
    # applications from support services (issue 17): the applying service and the zone's
    # officers see them; a member of a support service applies; the zone's officer decides
    "cases:application_list": Entry(frozenset({"counsellor", "reference"})),
    "cases:application_new": Entry(frozenset({"counsellor"})),
    "cases:application_detail": Entry(
        frozenset({"counsellor", "reference"}),
        lambda w, s: {"reference": w.application[s]},
    ),
    "cases:application_decide": Entry(ZONE, lambda w, s: {"reference": w.application[s]}, "POST"),
    # statistics (issue 14): analysts, supervisors, administrators; the research export's
    # POST without a purpose is refused (400)
    "stats:dashboard": Entry(STATS),
    "stats:csv": Entry(STATS),
    "stats:pdf": Entry(STATS),
    "stats:research": Entry(frozenset({"analyst", "admin"})),
    # machine APIs: never through a staff session
    "device_v1:post_alarm": Entry(NOBODY, method="POST", machine=True),
    "device_v1:post_locations": Entry(
        NOBODY, lambda w, s: {"alarm_id": w.alarm[s]}, "POST", machine=True
    ),
    "device_v1:post_call": Entry(
        NOBODY, lambda w, s: {"alarm_id": w.alarm[s]}, "POST", machine=True
    ),
    "device_v1:post_cancel": Entry(
        NOBODY, lambda w, s: {"alarm_id": w.alarm[s]}, "POST", machine=True
    ),
    "device_v1:post_heartbeat": Entry(NOBODY, method="POST", machine=True),
    "sms_v1:post_inbound": Entry(NOBODY, method="POST", machine=True),
    "aml_v1:post_sms": Entry(NOBODY, method="POST", machine=True),
    "aml_v1:post_https": Entry(NOBODY, method="POST", machine=True),
    "osmand_v1:report_root": Entry(NOBODY, method="POST", machine=True),
    "osmand_v1:report_below": Entry(
        NOBODY, lambda w, s: {"rest": "traccar"}, method="POST", machine=True
    ),
    "unit_v1:positions": Entry(NOBODY, method="POST", machine=True),
    "cic_v1:incident_list": Entry(NOBODY, machine=True),
    "cic_v1:incident_detail": Entry(NOBODY, _ref, machine=True),
    "cic_v1:incident_eido_read": Entry(NOBODY, _ref, machine=True),
}

# Outside the matrix on purpose, each with its reason.
EXEMPT = {
    "login": "the sign-in page, open to everybody",
    "logout": "signs the session out, whoever it is",
    "language": "sets the display language (a cookie, and a signed-in user's profile): everybody",
}
# API descriptions (openapi.json, the index page): public by design.
EXEMPT_SUFFIXES = (":openapi-json", ":api-root")
# The Django admin: its own staff check, behind the second factor, page by page below.
ADMIN_NAMESPACE = "admin:"


def admin_pages() -> list[str]:
    """Every page of the admin site (issue 11): the index, and for every registered model its
    list, its add page and the change page of one object. The administrator gets each (200, or
    403 for adding to a read-only admin); every other role is sent to the admin's sign-in."""
    pages = ["/admin/"]
    for model in admin.site._registry:
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        pages += [base, f"{base}add/"]
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            pages.append(f"{base}{obj.pk}/change/")
    return pages


def build_world() -> World:
    """The demo region plus another centre's region with the same kinds of objects."""
    w = World()
    centre = Organisation.objects.get(code="OVL")
    w.centre["in"] = centre.pk
    incident = press(at=NOW).incident
    w.incident["in"] = incident.reference
    w.alarm["in"] = str(incident.alarm_id) if hasattr(incident, "alarm_id") else str(uuid.uuid4())
    case = incident.case
    w.case_id["in"] = case.pk
    w.case_ref["in"] = case.reference

    other_centre = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Elders", code="ELS")
    other_office = Organisation.objects.create(
        kind=OrgKind.PROSECUTOR_OFFICE, name="Parket Elders", code="PKELS"
    )
    other_zone = Organisation.objects.create(
        kind=OrgKind.POLICE_ZONE,
        name="Politiezone Elders",
        code="ELZ",
        covered_by=other_centre,
        prosecutor_office=other_office,
    )
    other_case = ProtectionCase.objects.create(
        reference="ELZ-C-2026-00001",
        police_zone=other_zone,
        victim=Victim.objects.create(first_name="Out", last_name="Ofscope"),
        suspect=Suspect.objects.create(first_name="Not", last_name="Yours"),
        relation="ex_partner",
        status=CaseState.ACTIVE,
        created_at=NOW,
        activated_at=NOW,
    )
    w.centre["out"] = other_centre.pk
    w.case_id["out"] = other_case.pk
    w.case_ref["out"] = other_case.reference
    device = device_enroll(case=other_case, actor=Actor.system("test"), device_id="dev-elders")
    assert isinstance(device, Device)
    other = alarm_raise(
        device=device,
        alarm_id=uuid.UUID(int=42),
        trigger=Trigger.BUTTON,
        pressed_at=NOW,
        location=FixInput(lat=51.0, lon=3.7, accuracy_m=10, fix_at=NOW, source="gps"),
        battery=None,
        call_state=CallState.DIALING,
        channel=Channel.DATA,
        actor=Actor.device(device.device_id),
    ).incident
    w.incident["out"] = other.reference
    w.alarm["in"] = str(uuid.UUID(int=1 * 1_000_000 + 1))
    w.alarm["out"] = str(uuid.UUID(int=42))

    patrol_unit = Unit.objects.get(call_sign="G-12")
    w.dispatch["in"] = Dispatch.objects.create(
        incident=Incident.objects.get(reference=w.incident["in"]),
        unit=patrol_unit,
        assigned_at=NOW,
    ).pk
    w.unit_dispatch["in"] = w.dispatch["in"]
    other_unit = Unit.objects.create(
        call_sign="E-1", police_zone=other_zone, kind="car", lat=51.0, lon=3.7, position_at=NOW
    )
    w.dispatch["out"] = Dispatch.objects.create(incident=other, unit=other_unit, assigned_at=NOW).pk
    w.unit_dispatch["out"] = w.dispatch["out"]

    task = CaseTask.objects.filter(case=case).first() or CaseTask.objects.create(
        case=case, kind="review", created_at=NOW, due_at=NOW
    )
    w.task["in"] = task.pk
    loan = Loan.objects.filter(case=case).first()
    if loan is None:
        item = InventoryItem.objects.filter(loans__isnull=True).first()
        assert item is not None
        loan = Loan.objects.create(item=item, case=case, loaned_at=NOW, loaned_by="test")
    w.loan["in"] = loan.pk
    referral = Referral.objects.filter(case=case).first() or Referral.objects.create(
        case=case,
        who="victim",
        organisation=Organisation.objects.get(code="VSOVL"),
        created_at=NOW,
        updated_at=NOW,
    )
    w.referral["in"] = referral.pk
    # evaluation (issue 14): the review of a closed incident in scope, and one of the other centre
    reviewed = press(2, at=NOW).incident
    Incident.objects.filter(pk=reviewed.pk).update(
        status="closed", outcome="arrested_on_scene", closed_at=NOW
    )
    for scope, subject in (("in", reviewed), ("out", other)):
        IncidentReview.objects.create(incident=subject, created_at=NOW, due_at=NOW)
        w.review[scope] = subject.reference
    w.application["in"] = case_factories.application().reference
    other_service = Organisation.objects.create(
        kind=OrgKind.SUPPORT_SERVICE, name="Slachtofferhulp Elders", code="SHELS"
    )
    other_counsellor = User.objects.create_user(username="counsellor-elders")
    Membership.objects.create(user=other_counsellor, organisation=other_service, role="counsellor")
    # the other zone's case above took its first reference by hand
    ReferenceCounter.objects.get_or_create(prefix="ELZ-C", year=NOW.year, defaults={"last": 1})
    w.application["out"] = case_factories.application(
        zone_code="ELZ", applicant="counsellor-elders"
    ).reference
    _ = demo_device_id
    return w
