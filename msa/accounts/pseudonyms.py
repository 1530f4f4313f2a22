"""Pseudonyms: what an analyst sees instead of a name.

A keyed hash (``MSA_LOOKUP_KEY``) of the person's id: stable, so that an analyst can tell
that two incidents concern the same victim, and not reversible without the key.
"""

from __future__ import annotations

from typing import Any

from msa.core.crypto import lookup_hash

PREFIX = {"victim": "V", "suspect": "S"}


def pseudonym(kind: str, person_id: int) -> str:
    """``pseudonym("victim", 12)`` → ``"V-3F9A2C"``."""
    digest = lookup_hash(str(person_id), purpose=f"pseudonym:{kind}")
    return f"{PREFIX[kind]}-{digest[:6].upper()}"


def case_row_for_analyst(case: Any) -> dict[str, Any]:
    """One protection case as an analyst may see it: no names, contact data or free text."""
    return {
        "reference": case.reference,
        "police_zone": case.police_zone.code,
        "status": case.status,
        "relation": case.relation,
        "victim": pseudonym("victim", case.victim_id),
        "suspect": pseudonym("suspect", case.suspect_id),
        "created_at": case.created_at,
        "activated_at": case.activated_at,
        "ended_at": case.ended_at,
    }


def incident_row_for_analyst(incident: Any) -> dict[str, Any]:
    """One incident for statistics: timestamps, channels and outcome, pseudonymised."""
    return {
        "reference": incident.reference,
        "case": incident.case.reference,
        "victim": pseudonym("victim", incident.case.victim_id),
        "lane": incident.lane,
        "status": incident.status,
        "channels": list(incident.channels),
        "received_at": incident.received_at,
        "acknowledged_at": incident.acknowledged_at,
        "closed_at": incident.closed_at,
        "outcome": incident.outcome,
    }
