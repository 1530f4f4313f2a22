"""Case pages: thin views over the cases' services and selectors.

Every page that shows a dossier records the read (``dossier.read``) with what the reader
saw. What a reader may do on a case follows from ``case_access``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msa.accounts.models import Membership, Organisation, OrgKind, User
from msa.audit.access import dossier_reason_granted, dossier_reason_remember
from msa.cases import forms as f
from msa.cases import selectors as sel
from msa.cases import services as svc
from msa.cases.models import (
    ActivationChecklist,
    CaseTask,
    ProtectionCase,
    Referral,
    RiskLevel,
    Victim,
)
from msa.cases.permissions import CASE_OPEN, CASES, INVENTORY
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import MsaError, NotFoundError, TransitionNotAllowedError, ValidationError
from msa.core.permissions import requires
from msa.devices import inventory
from msa.devices.models import InventoryItem, ItemStatus, Loan


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(_user(request))


# --- the stated reason of a dispatch centre's reader ---------------------------------------------
# The security part's reason-for-access helpers (msa.audit.access) keep the reason in the
# session for their grant period; every read it unlocks is audited with it.


def _stated_reason(request: HttpRequest, case: ProtectionCase) -> str:
    return dossier_reason_granted(request, case) or ""


# --- loading a case ------------------------------------------------------------------------------


def _load(request: HttpRequest, reference: str) -> tuple[ProtectionCase, sel.CaseAccess, str]:
    user = _user(request)
    try:
        case = sel.case_get(user, reference)
        reason = _stated_reason(request, case)
        access = sel.case_access(user, case, stated_reason=bool(reason))
    except NotFoundError:
        raise Http404 from None
    return case, access, reason


def _officer(request: HttpRequest, reference: str) -> ProtectionCase:
    case, access, _reason = _load(request, reference)
    if not access.is_officer:
        raise Http404
    return case


def _magistrate(request: HttpRequest, reference: str) -> ProtectionCase:
    case, access, _reason = _load(request, reference)
    if not access.is_magistrate:
        raise Http404
    return case


def _back(case: ProtectionCase, anchor: str = "") -> HttpResponse:
    response = redirect("cases:detail", reference=case.reference)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _fail(request: HttpRequest, exc: MsaError) -> None:
    detail = ""
    if isinstance(exc, ValidationError) and exc.fields:
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in exc.fields.items()) + ")"
    messages.error(request, f"{exc.message}{detail}")


def _do(
    request: HttpRequest, case: ProtectionCase, call: Callable[[], Any], ok: str
) -> HttpResponse:
    try:
        call()
    except (ValidationError, TransitionNotAllowedError, MsaError) as exc:
        _fail(request, exc)
    else:
        messages.success(request, ok)
    return _back(case)


# --- list, new ----------------------------------------------------------------------------------


@require_GET
@requires(CASES)
def case_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = request.GET.get("status", "")
    cases = sel.cases_list(user, status=status if status in {s.value for s in CaseState} else "")
    return render(
        request,
        "cases/list.html",
        {
            "cases": cases[:200],
            "tasks": list(sel.tasks_open_for(user)),
            "states": list(CaseState),
            "status": status,
            "may_open": CASE_OPEN.check(user),
            "now": clock.now(),
        },
    )


def _zones_for(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        kind=OrgKind.POLICE_ZONE,
        memberships__user=user,
        memberships__role__in=sel.ZONE_ROLES,
    ).distinct()


@require_http_methods(["GET", "POST"])
@requires(CASE_OPEN)
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = f.CaseOpenForm(request.POST or None, zones=_zones_for(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        victim: svc.PersonInput | Victim = svc.PersonInput(
            first_name=d["victim_first_name"],
            last_name=d["victim_last_name"],
            birth_date=d["victim_birth_date"],
            phone_number=d["victim_phone"],
            address=d["victim_address"],
            languages=d["victim_languages"],
            children_notes=d["victim_children"],
            health_notes=d["victim_health"],
        )
        if d["same_victim_as"]:
            try:
                victim = sel.case_get(user, d["same_victim_as"].strip()).victim
            except NotFoundError:
                form.add_error("same_victim_as", _("No such case."))
                return render(request, "cases/new.html", {"form": form})
        try:
            case = svc.case_open(
                zone=d["zone"],
                victim=victim,
                suspect=svc.PersonInput(
                    first_name=d["suspect_first_name"],
                    last_name=d["suspect_last_name"],
                    birth_date=d["suspect_birth_date"],
                    phone_number=d["suspect_phone"],
                    address=d["suspect_address"],
                    vehicle=d["suspect_vehicle"],
                    weapons=d["suspect_weapons"],
                ),
                relation=d["relation"],
                actor=Actor.for_user(user),
            )
        except ValidationError as exc:
            for name, problem in exc.fields.items():
                key = {"phone_number": "victim_phone"}.get(name, name)
                form.add_error(key if key in form.fields else None, f"{exc.message}: {problem}")
        else:
            return redirect("cases:assess", reference=case.reference)
    return render(request, "cases/new.html", {"form": form})


# --- the dossier ------------------------------------------------------------------------------


@require_GET
@requires(CASES)
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case, access, reason = _load(request, reference)
    svc.case_dossier_read(
        case=case,
        actor=_actor(request),
        reason=reason or f"case page ({access.level})",
        scope=access.level,
    )
    context: dict[str, Any] = {
        "case": case,
        "access": access,
        "full": access.level == sel.ACCESS_FULL,
        "team_view": access.level == sel.ACCESS_TEAM,
        "states": CaseState,
        "now": clock.now(),
    }
    if access.level == sel.ACCESS_SUMMARY:
        context["reason_form"] = f.ReasonForm()
        return render(request, "cases/detail.html", context)
    context.update(
        team=case.team.filter(left_at__isnull=True).select_related("organisation"),
        referrals=case.referrals.select_related("organisation"),
        notes=case.notes.all()[:50],
        reviews=case.reviews.all(),
        note_form=f.NoteForm(),
        referral_status_form=f.ReferralStatusForm(),
    )
    if access.level == sel.ACCESS_FULL:
        decision = sel.decision_in_force(case)
        checklist = ActivationChecklist.objects.filter(case=case).first()
        open_loans = Loan.objects.filter(case=case, returned_at__isnull=True).select_related(
            "item", "device"
        )
        stock = InventoryItem.objects.filter(
            district=case.police_zone.prosecutor_office, status=ItemStatus.IN_STOCK
        )
        context.update(
            assessment=case.assessments.select_related("instrument").first(),
            tasks=case.tasks.all(),
            decisions=case.decisions.prefetch_related("zones"),
            decision=decision,
            zones=sel.exclusion_zones_for_case(case),
            consent=case.consents.first(),
            registrations=case.registrations.all(),
            checklist=checklist,
            loans=Loan.objects.filter(case=case).select_related("item", "device"),
            open_loans=open_loans,
            has_device=open_loans.filter(device__isnull=False).exists(),
            history=case.transitions.all(),
            consent_form=f.ConsentForm(initial={"given_at": clock.now(), "method": "written"}),
            loan_form=f.LoanForm(items=stock),
            review_form=f.ReviewForm(),
            end_form=f.EndForm(),
            renew_form=f.RenewForm(),
            suspend_form=f.SuspendForm(),
            team_form=f.TeamForm(),
            referral_form=f.ReferralForm(),
            return_form=f.ReturnForm(),
            risk_levels=RiskLevel,
        )
    return render(request, "cases/detail.html", context)


@require_POST
@requires(CASES)
def case_reason(request: HttpRequest, reference: str) -> HttpResponse:
    """A dispatch centre's reader states why they need the full dossier."""
    case, access, _r = _load(request, reference)
    form = f.ReasonForm(request.POST)
    if access.may_state_reason and form.is_valid():
        reason = form.cleaned_data["reason"]
        dossier_reason_remember(request, case.pk, reason)
        svc.case_reason_state(case=case, actor=_actor(request), reason=reason)
    return _back(case)


# --- assessment --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_assess(request: HttpRequest, reference: str) -> HttpResponse:
    case = _officer(request, reference)
    instrument = sel.instrument_current()
    if instrument is None:
        messages.error(request, _("No risk instrument is loaded: msa instrument load <file>."))
        return _back(case)
    form_class = f.assessment_form_class(instrument.definition)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answers = {
            k: "" if v is None else str(v)
            for k, v in data.items()
            if k not in {"override_level", "override_reason"}
        }
        try:
            assessment = svc.assessment_record(
                case=case,
                instrument=instrument,
                answers=answers,
                override_level=data.get("override_level") or "",
                override_reason=data.get("override_reason") or "",
                actor=_actor(request),
            )
        except (ValidationError, TransitionNotAllowedError) as exc:
            _fail(request, exc)
        else:
            messages.success(
                request, _("Assessment recorded: risk %(level)s.") % {"level": assessment.level}
            )
            return _back(case)
    sections = [
        {"title": section["title"], "fields": [form[i["key"]] for i in section["items"]]}
        for section in instrument.definition["sections"]
    ]
    return render(
        request,
        "cases/assess.html",
        {"case": case, "form": form, "instrument": instrument, "sections": sections},
    )


# --- decision ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_decide(request: HttpRequest, reference: str) -> HttpResponse:
    case = _magistrate(request, reference)
    form = f.DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            svc.decision_record(
                case=case,
                approve=d["outcome"] == "approve",
                reference=d["reference"],
                valid_from=d["valid_from"],
                valid_until=d["valid_until"],
                contact_ban=d["contact_ban"],
                conditions=d["conditions"],
                grounds=d["grounds"],
                zones=form.zones(),
                actor=_actor(request),
            )
        except (ValidationError, TransitionNotAllowedError) as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return _back(case)
    svc.case_dossier_read(case=case, actor=_actor(request), reason="decision", scope="full")
    return render(
        request,
        "cases/decide.html",
        {
            "case": case,
            "form": form,
            "assessment": case.assessments.first(),
            "map_data": {"tile_url": settings.MSA_MAP_TILE_URL, "zones": []},
        },
    )


@require_POST
@requires(CASES)
def case_renew(request: HttpRequest, reference: str) -> HttpResponse:
    case = _magistrate(request, reference)
    form = f.RenewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A renewal needs the decision's reference."))
        return _back(case)
    d = form.cleaned_data
    return _do(
        request,
        case,
        lambda: svc.case_renew(
            case=case, reference=d["reference"], valid_until=d["valid_until"], actor=_actor(request)
        ),
        _("Renewed."),
    )


# --- the officer's steps -------------------------------------------------------------------------


@require_POST
@requires(CASES)
def case_step(request: HttpRequest, reference: str, step: str) -> HttpResponse:  # noqa: PLR0911, PLR0912
    """One POST endpoint per simple step of the reference officer."""
    case = _officer(request, reference)
    actor = _actor(request)
    post = request.POST
    if step == "submit":
        return _do(
            request,
            case,
            lambda: svc.case_submit(case=case, actor=actor),
            _("Sent to the magistrate."),
        )
    if step == "consent":
        consent = f.ConsentForm(post)
        if not consent.is_valid():
            messages.error(request, _("Consent: when and how."))
            return _back(case)
        c = consent.cleaned_data
        return _do(
            request,
            case,
            lambda: svc.consent_record(
                case=case, given_at=c["given_at"], method=c["method"], actor=actor
            ),
            _("Consent recorded."),
        )
    if step == "withdraw":
        return _do(
            request,
            case,
            lambda: svc.consent_withdraw(case=case, actor=actor),
            _("Consent withdrawn; devices recalled."),
        )
    if step == "loan":
        stock = InventoryItem.objects.filter(
            district=case.police_zone.prosecutor_office, status=ItemStatus.IN_STOCK
        )
        loan = f.LoanForm(post, items=stock)
        if not loan.is_valid():
            messages.error(request, _("Choose an item in stock."))
            return _back(case)
        item = loan.cleaned_data["item"]
        return _do(
            request,
            case,
            lambda: inventory.loan_create(item=item, case=case, actor=actor),
            _("Lent."),
        )
    if step in svc.CHECK_ITEMS:
        return _do(
            request,
            case,
            lambda: svc.checklist_mark(case=case, item=step, actor=actor),
            _("Checked."),
        )
    if step == "confirm_test":
        return _do(
            request,
            case,
            lambda: svc.checklist_confirm_test(case=case, actor=actor),
            _("Test alarm confirmed."),
        )
    if step == "activate":
        return _do(
            request,
            case,
            lambda: svc.case_activate(case=case, actor=actor),
            _("The alarm is active."),
        )
    if step == "review_start":
        return _do(
            request, case, lambda: svc.review_start(case=case, actor=actor), _("Review started.")
        )
    if step == "review":
        review = f.ReviewForm(post)
        if not review.is_valid():
            messages.error(request, _("Choose the review's outcome."))
            return _back(case)
        r = review.cleaned_data
        return _do(
            request,
            case,
            lambda: svc.review_record(
                case=case,
                outcome=r["outcome"],
                risk_level=r["risk_level"],
                notes=r["notes"],
                actor=actor,
            ),
            _("Review recorded."),
        )
    if step == "suspend":
        sf = f.SuspendForm(post)
        reason = sf.cleaned_data["reason"] if sf.is_valid() else ""
        return _do(
            request,
            case,
            lambda: svc.case_suspend(case=case, reason=reason, actor=actor),
            _("Suspended."),
        )
    if step == "resume":
        return _do(request, case, lambda: svc.case_resume(case=case, actor=actor), _("Resumed."))
    if step == "end":
        ef = f.EndForm(post)
        if not ef.is_valid():
            messages.error(request, _("Choose the reason."))
            return _back(case)
        e = ef.cleaned_data
        return _do(
            request,
            case,
            lambda: svc.case_end(case=case, reason=e["reason"], note=e["note"], actor=actor),
            _("Ended."),
        )
    if step == "team":
        tf = f.TeamForm(post)
        if not tf.is_valid():
            messages.error(request, _("Choose the organisation and the role."))
            return _back(case)
        t = tf.cleaned_data
        return _do(
            request,
            case,
            lambda: svc.team_member_add(
                case=case,
                organisation=t["organisation"],
                role=t["role"],
                person=t["person"],
                actor=actor,
            ),
            _("Added to the team."),
        )
    if step == "referral":
        rf = f.ReferralForm(post)
        if not rf.is_valid():
            messages.error(request, _("Choose who and where."))
            return _back(case)
        rd = rf.cleaned_data
        return _do(
            request,
            case,
            lambda: svc.referral_create(
                case=case, who=rd["who"], organisation=rd["organisation"], actor=actor
            ),
            _("Referred."),
        )
    raise Http404


@require_POST
@requires(CASES)
def case_pair(request: HttpRequest, reference: str) -> HttpResponse:
    """Issue the phone's credentials and show them once: the QR code and the key."""
    import segno

    from msa_client.protocol import encode_key, format_enrolment_qr

    case = _officer(request, reference)
    try:
        pairing = inventory.loan_pair(case=case, actor=_actor(request))
    except (ValidationError, MsaError) as exc:
        _fail(request, exc)
        return _back(case)
    base_url = request.build_absolute_uri("/").rstrip("/")
    sms_number = getattr(settings, "MSA_SMS_NUMBER", "+32470099112")
    qr_text = format_enrolment_qr(
        base_url=base_url,
        device_id=pairing.device.device_id,
        key=pairing.key,
        sms_number=sms_number,
    )
    svg = segno.make(qr_text, error="m").svg_inline(scale=4, border=4)
    response = render(
        request,
        "cases/paired.html",
        {
            "case": case,
            "device": pairing.device,
            "key_text": encode_key(pairing.key),
            "qr_text": qr_text,
            "qr_svg": svg,
            "base_url": base_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@requires(CASES)
def case_return(request: HttpRequest, reference: str, loan_id: int) -> HttpResponse:
    case = _officer(request, reference)
    loan = Loan.objects.filter(case=case, pk=loan_id).first()
    form = f.ReturnForm(request.POST)
    if loan is None or not form.is_valid():
        raise Http404
    condition = form.cleaned_data["condition"]
    return _do(
        request,
        case,
        lambda: inventory.loan_return(loan=loan, condition=condition, actor=_actor(request)),
        _("Return recorded."),
    )


@require_POST
@requires(CASES)
def task_done(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    case = _officer(request, reference)
    task = CaseTask.objects.filter(case=case, pk=task_id).first()
    if task is None:
        raise Http404
    svc.task_complete(task=task, actor=_actor(request))
    messages.success(request, _("Task done."))
    if request.POST.get("next") == "list":
        return redirect("cases:list")
    return _back(case)


# --- the care team: notes and referral statuses (team members included) ------------------------


def _team_org(request: HttpRequest, case: ProtectionCase) -> Organisation | None:
    ids = case.team.filter(left_at__isnull=True).values_list("organisation_id", flat=True)
    membership = (
        Membership.objects.filter(user=_user(request), organisation_id__in=list(ids))
        .select_related("organisation")
        .first()
    )
    return membership.organisation if membership else None


@require_POST
@requires(CASES)
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    case, access, _r = _load(request, reference)
    if not (access.is_officer or access.is_magistrate or access.level == sel.ACCESS_TEAM):
        raise Http404
    form = f.NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A note needs a text."))
        return _back(case)
    d = form.cleaned_data
    return _do(
        request,
        case,
        lambda: svc.note_add(
            case=case,
            kind=d["kind"],
            text=d["text"],
            actor=_actor(request),
            organisation=_team_org(request, case),
        ),
        _("Saved."),
    )


@require_POST
@requires(CASES)
def referral_status(request: HttpRequest, reference: str, referral_id: int) -> HttpResponse:
    case, access, _r = _load(request, reference)
    referral = Referral.objects.filter(case=case, pk=referral_id).first()
    if referral is None:
        raise Http404
    own_service = _team_org(request, case) == referral.organisation
    if not (access.is_officer or own_service):
        raise Http404
    form = f.ReferralStatusForm(request.POST)
    if not form.is_valid():
        raise Http404
    status = form.cleaned_data["status"]
    return _do(
        request,
        case,
        lambda: svc.referral_update(referral=referral, status=status, actor=_actor(request)),
        _("Referral updated."),
    )


# --- inventory ---------------------------------------------------------------------------------


def _districts_for(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        kind=OrgKind.PROSECUTOR_OFFICE, district_zones__in=_zones_for(user)
    ).distinct()


@require_http_methods(["GET", "POST"])
@requires(INVENTORY)
def inventory_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    districts = _districts_for(user)
    form = f.ItemForm(request.POST or None, districts=districts)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            inventory.item_add(actor=Actor.for_user(user), **d)
        except MsaError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Item added."))
            return redirect("cases:inventory")
    items = (
        InventoryItem.objects.filter(district__in=districts)
        .select_related("district")
        .order_by("kind", "serial")
    )
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        counts[(item.kind, item.status)] = counts.get((item.kind, item.status), 0) + 1
    return render(
        request,
        "cases/inventory.html",
        {"items": items, "form": form, "counts": sorted(counts.items())},
    )
