"""Machine APIs of dispatch: the units' AVL feed and the centre's integration feed.

- ``POST /api/unit/v1/positions``: a unit's vehicle tracker reports where it is
  (bearer token of kind ``unit``, one per unit).
- ``GET /api/cic/v1/incidents`` and ``/incidents/{ref}``: the centre's own dispatch system
  reads the incidents of its centre (bearer token of kind ``integration``, scoped to one
  CIC). The live events come over ``/ws/cic/v1/events?since=<seq>`` (msa/realtime/integration.py).

Both APIs carry operational facts only: references, states, positions, units. Never a
name, an address or a phone number: those stay behind the audited console.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Schema
from ninja.security import HttpBearer
from pydantic import AwareDatetime, Field

from msa.accounts.models import ApiToken, TokenKind
from msa.accounts.tokens import token_authenticate
from msa.alarms.models import Incident
from msa.core.actors import Actor
from msa.core.api import ErrorOut, MachineApi
from msa.dispatch import selectors
from msa.dispatch.eido import incident_eido
from msa.dispatch.models import Unit
from msa.dispatch.services.feed import incident_track_read, incident_track_visible
from msa.dispatch.services.units import unit_position_record

log = logging.getLogger("msa.dispatch.api")


# --- AVL ------------------------------------------------------------------------------------


class UnitBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Unit | None:
        api_token = token_authenticate(TokenKind.UNIT, token)
        if api_token is None:
            return None
        return Unit.objects.filter(avl_token=api_token).first()


unit_api = MachineApi(
    title="MSA unit AVL feed",
    version="1",
    description="Where police units are: one bearer token per unit.",
    urls_namespace="unit_v1",
    log=log,
    log_event="unit_api",
    unavailable_message="cannot store this now: retry",
    auth=UnitBearer(),
)


class PositionIn(Schema):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    fix_at: AwareDatetime


class PositionsIn(Schema):
    positions: list[PositionIn] = Field(min_length=1, max_length=100)


class PositionsOut(Schema):
    accepted: int


@unit_api.post(
    "/positions",
    response={200: PositionsOut, 400: ErrorOut, 401: ErrorOut, 503: ErrorOut},
    summary="Report positions",
)
def positions(request: HttpRequest, body: PositionsIn) -> dict[str, int]:
    unit = request.auth  # type: ignore[attr-defined]
    assert isinstance(unit, Unit)
    actor = Actor.gateway(f"avl:{unit.call_sign}")
    for p in body.positions:
        unit_position_record(
            unit=unit,
            lat=p.lat,
            lon=p.lon,
            accuracy_m=p.accuracy_m,
            fix_at=p.fix_at,
            source="avl",
            actor=actor,
        )
    return {"accepted": len(body.positions)}


# --- the integration feed ---------------------------------------------------------------------


class IntegrationBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = token_authenticate(TokenKind.INTEGRATION, token)
        if api_token is None or api_token.organisation_id is None:
            return None
        return api_token


cic_api = MachineApi(
    title="MSA dispatch-centre integration feed",
    version="1",
    description=(
        "The incidents of one dispatch centre for its own dispatch system. Live events: "
        "WebSocket /ws/cic/v1/events?since=<seq> with the same bearer token; each event is "
        '{"seq", "type", "data"} exactly as the console receives it; reconnect with the last '
        "seq seen to receive every missed event in order. The handshake needs no Origin "
        "header: the token authenticates it."
    ),
    urls_namespace="cic_v1",
    log=log,
    log_event="cic_api",
    unavailable_message="cannot answer now: retry",
    not_found_message="no such incident",
    auth=IntegrationBearer(),
)


class PositionOut(Schema):
    lat: float
    lon: float
    accuracy_m: float
    fix_at: datetime
    source: str


class DispatchOut(Schema):
    unit: str
    status: str
    eta_s: int | None
    assigned_at: datetime
    on_scene_at: datetime | None


class IncidentOut(Schema):
    reference: str
    centre: str
    backup_centre: str | None
    police_zone: str
    lane: str
    trigger: str
    status: str
    channels: list[str]
    call_state: str
    pressed_at: datetime
    received_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None
    on_scene_breach_at: datetime | None
    duress: bool
    victim_cancelled: bool
    flags: list[str]
    outcome: str
    units: list[DispatchOut]
    last_position: PositionOut | None


class IncidentDetailOut(IncidentOut):
    positions: list[PositionOut]


def _incident_out(incident: Incident, *, positions: list[Any] | None = None) -> dict[str, Any]:
    """``positions``: the track read for the detail (audited, msa/dispatch/services/feed.py);
    the list's last position too is given only inside the track's window."""
    fixes = positions or []
    if positions is not None:
        last = fixes[-1] if fixes else None
    elif incident_track_visible(incident):
        last = incident.fixes.order_by("-fix_at").first()
    else:
        last = None

    def pos(f: Any) -> dict[str, Any]:
        return {
            "lat": f.lat,
            "lon": f.lon,
            "accuracy_m": f.accuracy_m,
            "fix_at": f.fix_at,
            "source": f.source,
        }

    out: dict[str, Any] = {
        "reference": incident.reference,
        "centre": incident.centre.code,
        "backup_centre": incident.backup_centre.code if incident.backup_centre else None,
        "police_zone": incident.case.police_zone.code,
        "lane": incident.lane,
        "trigger": incident.trigger,
        "status": incident.status,
        "channels": list(incident.channels),
        "call_state": incident.call_state,
        "pressed_at": incident.pressed_at,
        "received_at": incident.received_at,
        "acknowledged_at": incident.acknowledged_at,
        "dispatched_at": incident.dispatched_at,
        "on_scene_at": incident.on_scene_at,
        "closed_at": incident.closed_at,
        "on_scene_breach_at": incident.on_scene_breach_at,
        "duress": bool(incident.duress_at) or incident.trigger == "duress",
        "victim_cancelled": incident.victim_cancelled_at is not None,
        "flags": incident.flags,
        "outcome": incident.outcome,
        "units": [
            {
                "unit": d.unit.call_sign,
                "status": d.status,
                "eta_s": d.eta_s,
                "assigned_at": d.assigned_at,
                "on_scene_at": d.on_scene_at,
            }
            for d in getattr(incident, "open_dispatches", [])
        ],
        "last_position": pos(last) if last else None,
    }
    if positions is not None:
        out["positions"] = [pos(f) for f in fixes]
    return out


def _org_of(request: HttpRequest) -> Any:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return token.organisation


@cic_api.get(
    "/incidents",
    response={200: list[IncidentOut], 401: ErrorOut, 503: ErrorOut},
    summary="Open incidents and those closed in the last 24 hours",
)
def incident_list(request: HttpRequest) -> list[dict[str, Any]]:
    org = _org_of(request)
    return [_incident_out(i) for i in selectors.integration_incident_list(org)]


@cic_api.get(
    "/incidents/{reference}",
    response={200: IncidentDetailOut, 401: ErrorOut, 404: ErrorOut, 503: ErrorOut},
    summary="One incident with its track (while open, or for an hour after it closed; audited)",
)
def incident_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    org = _org_of(request)
    incident = selectors.integration_incident_get(org, reference)
    token = request.auth  # type: ignore[attr-defined]
    reader = Actor.gateway(f"integration {token.name}")
    return _incident_out(incident, positions=incident_track_read(incident=incident, actor=reader))


@cic_api.get(
    "/incidents/{reference}/eido",
    response={200: dict[str, Any], 401: ErrorOut, 404: ErrorOut, 503: ErrorOut},
    summary="One incident as a NENA-STA-021 EIDO (JSON, PIDF-LO by value; audited)",
)
def incident_eido_read(request: HttpRequest, reference: str) -> dict[str, Any]:
    org = _org_of(request)
    incident = selectors.integration_incident_get(org, reference)
    token = request.auth  # type: ignore[attr-defined]
    return incident_eido(incident=incident, actor=Actor.gateway(f"integration {token.name}"))
