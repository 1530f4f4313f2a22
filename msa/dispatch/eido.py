"""An incident as an Emergency Incident Data Object (NENA-STA-021, JSON), for another centre or
the centre's own dispatch system (docs/interop.md section 3).

Written from the rules of interop.md, not copied from NENA's schema: ``eidoVersion``,
``issuingElementIdentification`` and ``agencyComponent`` at the top; ``$id``,
``lastUpdateTimeStamp`` and ``updatedByAgencyReference`` on the object and on every component;
each position as a ``locationComponent`` holding a PIDF-LO document by value (RFC 4119 /
RFC 5491: a ``gs:Circle`` in EPSG 4326 with its radius in metres). The device's positions and
the AML positions are separate location components, told apart by their registry text.

:func:`incident_eido` reads personal data (the victim, the suspect, the notes): it writes the
audit row of the read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from django.db import transaction

from msa.alarms.models import AmlPosition, Incident, LocationFix
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.models import Dispatch, IncidentNote

EIDO_VERSION = "1.0"
ISSUER = "msa.eido"
AML_METHODS = {"gnss": "GPS", "wifi": "Wiremap", "cell": "Cell", "fused": "Hybrid"}


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def pidf_lo(
    *, entity: str, lat: float, lon: float, radius_m: float | None, method: str, at: datetime
) -> str:
    """A PIDF-LO presence document with one circle (RFC 5491 section 5.2.3)."""
    radius = radius_m if radius_m is not None and radius_m > 0 else 0.0
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:gs="http://www.opengis.net/pidflo/1.0" '
        f'entity="{escape(entity)}">'
        f'<tuple id="{escape(entity.rsplit(":", 1)[-1])}"><status><gp:geopriv><gp:location-info>'
        '<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">'
        f"<gml:pos>{lat:.6f} {lon:.6f}</gml:pos>"
        f'<gs:radius uom="urn:ogc:def:uom:EPSG::9001">{radius:.1f}</gs:radius>'
        "</gs:Circle></gp:location-info>"
        "<gp:usage-rules/>"
        f"<gp:method>{escape(method)}</gp:method>"
        "</gp:geopriv></status>"
        f"<timestamp>{_ts(at)}</timestamp></tuple></presence>"
    )


class _Builder:
    def __init__(self, incident: Incident, now: datetime) -> None:
        self.incident = incident
        self.now = now
        self.agency = f"urn:msa:agency:{incident.centre.code}"
        self.base = f"urn:msa:eido:{incident.reference}"

    def meta(self, suffix: str, at: datetime | None = None) -> dict[str, Any]:
        return {
            "$id": f"{self.base}:{suffix}",
            "lastUpdateTimeStamp": _ts(at or self.now),
            "updatedByAgencyReference": {"$ref": self.agency},
        }

    def location(self, suffix: str, kind: str, pidf: str, at: datetime) -> dict[str, Any]:
        return {
            **self.meta(suffix, at),
            "locationTypeDescriptionRegistryText": kind,
            "locationByValue": pidf,
            "locationReferenceTimestamp": _ts(at),
        }


def incident_eido(*, incident: Incident, actor: Actor) -> dict[str, Any]:
    """The EIDO of ``incident`` (see the module docstring), with the audit row of the read."""
    now = clock.now()
    b = _Builder(incident, now)
    case = incident.case
    victim, suspect = case.victim, case.suspect
    fixes = list(LocationFix.objects.filter(incident=incident).order_by("fix_at", "id"))
    amls = list(AmlPosition.objects.filter(incident=incident).order_by("received_at", "id"))
    notes = list(IncidentNote.objects.filter(incident=incident).order_by("at", "id"))
    dispatches = list(
        Dispatch.objects.filter(incident=incident).select_related("unit").order_by("assigned_at")
    )
    updated = max([incident.received_at, *(f.received_at for f in fixes), *(n.at for n in notes)])

    locations: list[dict[str, Any]] = []
    for i, fix in enumerate(fixes, start=1):
        entity = f"{b.base}:device-position-{i}"
        pidf = pidf_lo(
            entity=entity,
            lat=fix.lat,
            lon=fix.lon,
            radius_m=fix.accuracy_m,
            method="GPS" if fix.source == "gps" else "Hybrid",
            at=fix.fix_at,
        )
        locations.append(
            b.location(f"location:device-{i}", "Caller", pidf, fix.fix_at)
            | {"locationSourceText": f"MSA device ({fix.source})"}
        )
    for i, aml in enumerate(amls, start=1):
        at = aml.fix_at or aml.received_at
        entity = f"{b.base}:aml-position-{i}"
        pidf = pidf_lo(
            entity=entity,
            lat=aml.lat,
            lon=aml.lon,
            radius_m=aml.radius_m,
            method=AML_METHODS.get(aml.method, "Unknown"),
            at=at,
        )
        locations.append(
            b.location(f"location:aml-{i}", "Caller AML", pidf, at)
            | {"locationSourceText": f"Advanced Mobile Location ({aml.method})"}
        )

    caution_text = "; ".join(
        t
        for t in (
            f"restraining order: {case.restraining_order}" if case.restraining_order else "",
            f"order valid until {case.order_valid_until}" if case.order_valid_until else "",
            f"weapons: {suspect.weapons}" if suspect.weapons else "",
        )
        if t
    )
    eido: dict[str, Any] = {
        **b.meta("eido", updated),
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": ISSUER,
        "agencyComponent": [
            {
                **b.meta("agency"),
                "$id": b.agency,
                "agencyName": incident.centre.name,
                "agencyIdentifier": incident.centre.code,
            }
        ],
        "incidentComponent": {
            **b.meta("incident", updated),
            "incidentTrackingIdentifier": incident.reference,
            "incidentTypeCommonRegistryText": "Stalking alarm (MSA)",
            "incidentStatusCommonRegistryText": [incident.status],
            "incidentCreationTimestamp": _ts(incident.received_at),
            "incidentLaneText": incident.lane,
        },
        "locationComponent": locations,
        "personComponent": [
            {
                **b.meta("person:victim"),
                "personRoleRegistryText": "Victim",
                "personName": {"given": victim.first_name, "surname": victim.last_name},
                "personBirthDate": victim.birth_date.isoformat() if victim.birth_date else None,
                "personLanguageText": victim.languages or None,
                "personTelephoneNumber": victim.phone_number or None,
            },
            {
                **b.meta("person:suspect"),
                "personRoleRegistryText": "Suspect",
                "personName": {"given": suspect.first_name, "surname": suspect.last_name},
                "personBirthDate": suspect.birth_date.isoformat() if suspect.birth_date else None,
                "cautionReference": [{"$ref": f"{b.base}:caution:suspect"}],
            },
        ],
        "vehicleComponent": (
            [
                {
                    **b.meta("vehicle:suspect"),
                    "vehicleDescriptionText": suspect.vehicle,
                    "personReference": {"$ref": f"{b.base}:person:suspect"},
                }
            ]
            if suspect.vehicle
            else []
        ),
        "cautionComponent": [
            {
                **b.meta("caution:suspect"),
                "cautionTypeRegistryText": ["Restraining order", "Weapons"]
                if suspect.weapons
                else ["Restraining order"],
                "cautionDescriptionText": caution_text or "restraining order in force",
                "personReference": {"$ref": f"{b.base}:person:suspect"},
            }
        ],
        "alarmsSensorsComponent": [
            {
                **b.meta("alarm", incident.received_at),
                "alarmTypeText": "Panic button",
                "alarmTriggerText": incident.trigger,
                "alarmActivationTimestamp": _ts(incident.pressed_at),
                "alarmReceivedTimestamp": _ts(incident.received_at),
                "alarmChannelText": list(incident.channels),
                "alarmUnverifiedReasonText": incident.unverified_reason or None,
                "deviceIdentifier": incident.device.device_id if incident.device else None,
            }
        ],
        "notesComponent": [
            {**b.meta(f"note:{n.pk}", n.at), "noteText": n.text, "noteAuthorText": n.author_label}
            for n in notes
        ],
        "dispatchComponent": [
            {
                **b.meta(f"dispatch:{d.pk}", d.assigned_at),
                "unitIdentifier": d.unit.call_sign,
                "dispatchStatusText": d.status,
                "dispatchTimestamp": _ts(d.assigned_at),
                "onSceneTimestamp": _ts(d.on_scene_at) if d.on_scene_at else None,
            }
            for d in dispatches
        ],
    }
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="incident.eido_read",
            subject=incident,
            new={
                "incident": incident.reference,
                "positions": len(fixes),
                "aml_positions": len(amls),
                "notes": len(notes),
            },
            at=now,
        )
    return eido
