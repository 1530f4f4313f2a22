"""The console's words for the machine's values: states, transitions, channels, outcomes,
escalations, and each timeline event's details, so that an operator reads "unit en route",
"suspect arrested on scene, victim not injured", never ``en_route`` or
``outcome=arrested_on_scene``. Translatable; times in the centre's local time (the active
time zone, set per request by ``msa.accounts.middleware``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils.dateformat import format as date_format
from django.utils.functional import Promise
from django.utils.timezone import localtime
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from msa.alarms.states import Outcome
from msa.realtime import events

WORDS: dict[str, Promise] = {
    # incident transitions and states
    "raise": _("alarm received"),
    "acknowledge": _("acknowledged"),
    "dispatch": _("unit sent"),
    "arrive": _("first unit on scene"),
    "close": _("closed"),
    "reopen": _("reopened"),
    "received": _("received"),
    "acknowledged": _("acknowledged"),
    "dispatched": _("unit dispatched"),
    "closed": _("closed"),
    # dispatch states (a unit's progress)
    "assigned": _("assigned"),
    "en_route": _("en route"),
    "on_scene": _("on scene"),
    "cleared": _("cleared"),
    # channels
    "data": _("data"),
    "sms": _("SMS"),
    "unverified_sms": _("SMS (unverified)"),
    "aml": _("AML"),
    "osmand": _("OsmAnd (unsigned protocol)"),
    # call states
    "none": _("no call"),
    "dialing": _("dialling"),
    "ringing": _("ringing"),
    "answered": _("answered"),
    "ended": _("ended"),
    "ghost": _("ghost call (ended before anybody answered)"),
    # lanes
    "live": _("live"),
    "test": _("test alarm"),
    # risk levels
    "low": _("low"),
    "medium": _("medium"),
    "high": _("high"),
    "extreme": _("extreme"),
    # outcomes
    Outcome.ARRESTED_ON_SCENE: _("suspect arrested on scene"),
    Outcome.ARRESTED_LATER: _("suspect arrested later"),
    Outcome.NOT_FOUND: _("suspect not found"),
    Outcome.NO_OFFENCE: _("no offence"),
    Outcome.FALSE_MISPRESS: _("false alarm: mis-press"),
    Outcome.FALSE_TEST: _("false alarm: test"),
    Outcome.FALSE_TECHNICAL: _("false alarm: technical"),
}

ESCALATIONS: dict[str, Promise] = {
    "ack": _("supervisor alerted: not acknowledged in time"),
    "backup": _("offered to the backup centre"),
    "dispatch": _("supervisor alerted: no unit dispatched in time"),
    "on_scene": _("10-minute on-scene target missed"),
    "repeat_presses": _("supervisor alerted: repeated presses"),
    "device_silent": _("device silent: no position for three report intervals"),
}


def say(value: object) -> str:
    """The word for a machine value; an unknown one with its underscores as spaces."""
    text = str(value or "")
    word = WORDS.get(text)
    return str(word) if word is not None else text.replace("_", " ")


def local_time(raw: object) -> str:
    """An ISO timestamp of a payload as the centre's local wall-clock time (H:i:s)."""
    try:
        at = datetime.fromisoformat(str(raw))
    except ValueError:
        return ""
    return date_format(localtime(at), "H:i:s") if at.tzinfo else ""


def _yes_no(value: object) -> str:
    if value is True:
        return _g("yes")
    return _g("no") if value is False else _g("not known")


def _outcome(p: dict[str, Any]) -> str:
    return _g("%(outcome)s; violence before arrival: %(violence)s; victim injured: %(injured)s") % {
        "outcome": say(p.get("outcome")),
        "violence": _yes_no(p.get("violence_before_arrival")),
        "injured": _yes_no(p.get("victim_injured")),
    }


def _escalated(p: dict[str, Any]) -> str:
    kind = str(p.get("kind", ""))
    text = str(ESCALATIONS.get(kind, say(kind)))
    if kind == "backup" and p.get("backup_centre"):
        text += f" {p['backup_centre']}"
    return text


def _tracking(p: dict[str, Any]) -> str:
    if p.get("change") == "stop":
        return _g("tracking stopped by the operator")
    until = local_time(p.get("track_until"))
    return _g("tracking extended until %(time)s") % {"time": until} if until else _g("extended")


def _call(p: dict[str, Any]) -> str:
    until = local_time(p.get("track_until"))
    text = _g("call %(state)s") % {"state": say(p.get("call_state"))}
    if until:
        text += ", " + _g("positions tracked until %(time)s") % {"time": until}
    return text


def _at(label: Promise) -> Callable[[dict[str, Any]], str]:
    def detail(p: dict[str, Any]) -> str:
        at = local_time(p.get("at"))
        return str(label) % {"time": at} if at else ""

    return detail


DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
    events.AlarmChannelAdded.type: lambda p: (
        _g("the same press arrived by %(channel)s too") % {"channel": say(p.get("channel"))}
    ),
    events.TrackingEnded.type: _at(_("the tracking window closed at %(time)s")),
    events.TrackingChanged.type: _tracking,
    events.IncidentEscalated.type: _escalated,
    events.OutcomeRecorded.type: _outcome,
    events.AlarmCallChanged.type: _call,
    events.AlarmVictimCancelled.type: _at(_("cancelled on her phone at %(time)s")),
    events.AlarmDuress.type: _at(
        _("cancelled with the duress PIN at %(time)s: she is being forced")
    ),
    events.DeviceRevoked.type: _at(_("the device was revoked at %(time)s")),
    events.IncidentReassigned.type: lambda p: (
        _g("now worked by %(owner)s (before: %(previous)s), by %(actor)s")
        % {
            "owner": p.get("owner", ""),
            "previous": p.get("previous") or _g("nobody"),
            "actor": p.get("actor", ""),
        }
    ),
}


def _generic(payload: dict[str, Any]) -> str:
    """An event without its own sentence: its facts as words, never ``key=value``."""
    parts = []
    for key, value in sorted(payload.items()):
        if key == "incident" or value in ("", None):
            continue
        shown = local_time(value) if key == "at" or key.endswith("_at") else say(value)
        parts.append(f"{key.replace('_', ' ')}: {shown or say(value)}")
    return "; ".join(parts)


def event_detail(event_type: str, payload: dict[str, Any]) -> str:
    describe = DETAILS.get(event_type, _generic)
    return describe(payload)
