"""Risk instruments as data: validation of a definition and scoring of answers.

An instrument is a JSON file in ``msa/cases/instruments/`` (versioned with the code) and is
loaded into the database with ``msa instrument load <file>``. Answer types:

- ``yes_no``: ``"yes"``/``"no"``/``"unknown"``; ``weight`` points for yes;
- ``choice``: one of ``choices[].value``, each with its own ``weight``;
- ``number``: a count, ``weight_per_unit`` points each, capped at ``max_points``;
- ``text``: not scored.

An item with ``"bombshell": true`` answered yes obliges the police to contact the prosecutor
at once, and lifts the level to at least ``bombshell_min_level``.

Every text the user reads (``title``, ``about``, a section's ``title``, an item's ``text`` and
``help``, a choice's ``label``, a level's ``label`` and ``help``) is either one string or an
object with one string per language (``{"en": …, "nl": …, "fr": …, "de": …}``, ``en``
required); ``localised`` picks the active language's, else English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext_noop

from msa.cases.models import RISK_ORDER
from msa.core.errors import ValidationError

INSTRUMENT_DIR = Path(__file__).resolve().parent / "instruments"
DEFAULT_INSTRUMENT = INSTRUMENT_DIR / "msa-risk-1.1.json"
ANSWER_TYPES = frozenset({"yes_no", "choice", "number", "text"})
YES_NO = ("yes", "no", "unknown")


@dataclass(frozen=True, slots=True)
class Score:
    score: int
    level: str
    bombshells: list[str]


def localised(value: str | Mapping[str, str] | None, language: str | None = None) -> str:
    """One text of an instrument in ``language`` (default: the active one), else English."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    wanted = (language or get_language() or "en").split("-")[0]
    return value.get(wanted) or value.get("en") or ""


def _text_ok(value: Any, *, required: bool = True) -> bool:
    """A string, or per language with English; every language a non-empty string."""
    if value is None or value == "":
        return not required
    if isinstance(value, str):
        return True
    if not isinstance(value, Mapping) or not value.get("en"):
        return False
    known = {code for code, _name in settings.LANGUAGES}
    return all(k in known and isinstance(v, str) and v for k, v in value.items())


def _fail(message: str) -> ValidationError:
    return ValidationError(message, fields={"instrument": message})


def instrument_validate(definition: Mapping[str, Any]) -> None:
    """Raise ValidationError with a precise message for a malformed definition."""
    for key in ("code", "version", "title", "levels", "sections"):
        if key not in definition:
            raise _fail(f"missing '{key}'")
    if not _text_ok(definition["title"]) or not _text_ok(definition.get("about"), required=False):
        raise _fail("title and about: a text, or one per language with en")
    levels = definition["levels"]
    if [lv.get("level") for lv in levels] != list(RISK_ORDER):
        raise _fail("levels must be low, medium, high, extreme in that order")
    for lv in levels:
        if not _text_ok(lv.get("label"), required=False) or not _text_ok(
            lv.get("help"), required=False
        ):
            raise _fail(f"level {lv['level']}: label and help are texts (per language with en)")
    mins = [lv.get("min_score") for lv in levels]
    if not all(isinstance(m, int) for m in mins) or mins != sorted(mins) or mins[0] != 0:
        raise _fail("min_score must be integers rising from 0")
    if definition.get("bombshell_min_level", "high") not in RISK_ORDER:
        raise _fail("bombshell_min_level must be a risk level")
    seen: set[str] = set()
    for section in definition["sections"]:
        if not section.get("key") or not _text_ok(section.get("title")):
            raise _fail("every section needs a key and a title")
        for item in section.get("items", []):
            _validate_item(item, seen)
    if not seen:
        raise _fail("an instrument needs items")


def _validate_item(item: Mapping[str, Any], seen: set[str]) -> None:
    key = item.get("key")
    if not key or key in seen:
        raise _fail(f"item key missing or repeated: {key!r}")
    seen.add(key)
    kind = item.get("type")
    if kind not in ANSWER_TYPES:
        raise _fail(f"item {key}: unknown type {kind!r}")
    if not _text_ok(item.get("text")):
        raise _fail(f"item {key}: no text")
    if not _text_ok(item.get("help"), required=False):
        raise _fail(f"item {key}: help is a text (per language with en)")
    if any(not _text_ok(c.get("label")) for c in item.get("choices", [])):
        raise _fail(f"item {key}: every choice needs a label")
    if kind == "choice" and not item.get("choices"):
        raise _fail(f"item {key}: a choice item needs choices")
    if item.get("bombshell") and kind != "yes_no":
        raise _fail(f"item {key}: a bombshell is a yes/no item")


def items_of(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item for section in definition["sections"] for item in section.get("items", [])]


def answers_clean(definition: Mapping[str, Any], raw: Mapping[str, str]) -> dict[str, Any]:
    """The answers of a form, checked against the items; unknown keys are ignored."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in items_of(definition):
        key, kind = item["key"], item["type"]
        value = (raw.get(key) or "").strip()
        if kind == "yes_no":
            if value not in YES_NO:
                errors[key] = "answer yes, no or unknown"
                continue
            answers[key] = value
        elif kind == "choice":
            values = {c["value"] for c in item["choices"]}
            if value not in values:
                errors[key] = "choose one of the answers"
                continue
            answers[key] = value
        elif kind == "number":
            if value == "":
                answers[key] = 0
                continue
            try:
                number = int(value)
            except ValueError:
                errors[key] = "a whole number"
                continue
            if number < 0:
                errors[key] = "zero or more"
                continue
            answers[key] = number
        else:
            answers[key] = value[:4000]
    if errors:
        raise ValidationError(gettext_noop("some answers are missing or invalid"), fields=errors)
    return answers


def score(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> Score:
    total = 0.0
    bombshells: list[str] = []
    for item in items_of(definition):
        value = answers.get(item["key"])
        kind = item["type"]
        if kind == "yes_no" and value == "yes":
            total += item.get("weight", 0)
            if item.get("bombshell"):
                bombshells.append(item["key"])
        elif kind == "choice":
            for choice in item["choices"]:
                if choice["value"] == value:
                    total += choice.get("weight", 0)
        elif kind == "number" and isinstance(value, int):
            points = value * float(item.get("weight_per_unit", 0))
            total += min(points, float(item.get("max_points", math.inf)))
    points = math.floor(total)
    level = "low"
    for lv in definition["levels"]:
        if points >= lv["min_score"]:
            level = lv["level"]
    if bombshells:
        level = level_max(level, definition.get("bombshell_min_level", "high"))
    return Score(score=points, level=level, bombshells=bombshells)


def level_max(a: str, b: str) -> str:
    return a if RISK_ORDER.index(a) >= RISK_ORDER.index(b) else b
