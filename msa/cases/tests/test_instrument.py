"""The risk instrument: its file, its validation, its scoring, and ``msa instrument load``."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from msa.cases.forms import assessment_form_class
from msa.cases.models import RiskInstrument
from msa.cases.risk import (
    DEFAULT_INSTRUMENT,
    answers_clean,
    instrument_validate,
    items_of,
    localised,
    score,
)
from msa.cases.services.assessment import instrument_load, instrument_read_file
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError

ACTOR = Actor.system("test")


def definition() -> dict[str, Any]:
    return instrument_read_file(DEFAULT_INSTRUMENT)


def blank(d: dict[str, Any], **yes: str) -> dict[str, str]:
    raw = {}
    for item in items_of(d):
        raw[item["key"]] = {
            "yes_no": "no",
            "choice": item.get("choices", [{}])[0].get("value", ""),
            "number": "0",
        }.get(item["type"], "")
    raw.update(yes)
    return raw


def test_the_shipped_instrument_covers_the_known_risk_factors() -> None:
    d = definition()
    instrument_validate(d)
    keys = {i["key"] for i in items_of(d)}
    for factor in (
        "threat_to_kill",
        "strangulation",
        "weapon",
        "recent_separation",
        "escalation",
        "following",
        "pregnancy",
        "children_at_home",
        "substance_abuse",
        "order_breach",
        "family_pressure",
    ):
        assert factor in keys
    bombshells = {i["key"] for i in items_of(d) if i.get("bombshell")}
    assert {"threat_to_kill", "strangulation", "weapon", "recent_separation"} <= bombshells


def test_scoring_levels_and_bombshell_floor() -> None:
    d = definition()
    assert score(d, answers_clean(d, blank(d))).level == "low"
    medium = score(
        d, answers_clean(d, blank(d, escalation="yes", following="yes", victim_fear="yes"))
    )
    assert (medium.score, medium.level) == (9, "medium")
    one = score(d, answers_clean(d, blank(d, weapon="yes")))
    assert one.bombshells == ["weapon"]
    assert one.level == "high"
    many = blank(
        d,
        **dict.fromkeys(
            (
                "threat_to_kill",
                "strangulation",
                "weapon",
                "escalation",
                "recent_separation",
                "order_breach",
            ),
            "yes",
        ),
    )
    assert score(d, answers_clean(d, many)).level == "extreme"
    capped = score(d, answers_clean(d, blank(d, contact_volume="500")))
    assert capped.score == 3


def test_bad_answers_are_named() -> None:
    d = definition()
    raw = blank(d)
    raw["weapon"] = "maybe"
    raw["contact_volume"] = "-1"
    with pytest.raises(ValidationError) as caught:
        answers_clean(d, raw)
    assert set(caught.value.fields) == {"weapon", "contact_volume"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("levels"), "missing 'levels'"),
        (lambda d: d["levels"].reverse(), "levels must be"),
        (lambda d: d["sections"][0]["items"][0].update(type="slider"), "unknown type"),
        (lambda d: d["sections"][0]["items"][3].update(bombshell=True), "bombshell is a yes/no"),
        (lambda d: d["sections"][1]["items"][0].update(key="threat_to_kill"), "repeated"),
    ],
)
def test_malformed_instruments_are_refused(change: Any, message: str) -> None:
    d = copy.deepcopy(definition())
    change(d)
    with pytest.raises(ValidationError, match=message):
        instrument_validate(d)


@pytest.mark.django_db
def test_loading_is_idempotent_and_a_changed_version_is_refused() -> None:
    d = definition()
    first, created = instrument_load(definition=d, actor=ACTOR)
    again, created_again = instrument_load(definition=d, actor=ACTOR)
    assert created
    assert not created_again
    assert first.pk == again.pk
    changed = copy.deepcopy(d)
    changed["title"] = "something else"
    with pytest.raises(ConflictError):
        instrument_load(definition=changed, actor=ACTOR)
    changed["version"] = d["version"] + "-changed"
    instrument_load(definition=changed, actor=ACTOR)
    assert RiskInstrument.objects.count() == 2


def test_the_command_loads_and_refuses_bad_files(tmp_path: Path) -> None:
    env_db = tmp_path / "db"
    env_db.mkdir()
    env = {**os.environ, "MSA_DATA_DIR": str(env_db), "MSA_DEMO": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "msa.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    migrate = run("manage", "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    ok = run("instrument", "load", str(DEFAULT_INSTRUMENT))
    assert ok.returncode == 0, ok.stderr
    assert "msa-risk 1.1 loaded" in ok.stdout
    assert "already loaded" in run("instrument", "load", str(DEFAULT_INSTRUMENT)).stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    refused = run("instrument", "load", str(bad))
    assert refused.returncode == 2
    assert "not valid JSON" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = run("instrument", "load", str(tmp_path / "none.json"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"code": "x"}))
    assert run("instrument", "load", str(wrong)).returncode == 2


def test_the_shipped_instrument_speaks_the_four_languages() -> None:
    """Every text the user reads (title, guidance, sections, items, help, choices, levels) is
    in English, Dutch, French and German, and the form and the page show the active one's."""
    d = definition()
    languages = {code for code, _name in settings.LANGUAGES}
    texts = [d["title"], d["about"]]
    texts += [lv[k] for lv in d["levels"] for k in ("label", "help")]
    for section in d["sections"]:
        texts.append(section["title"])
        for item in section["items"]:
            texts += [item["text"], *([item["help"]] if "help" in item else [])]
            texts += [c["label"] for c in item.get("choices", [])]
    missing = [t for t in texts if not isinstance(t, dict) or set(t) != languages]
    assert not missing
    with translation.override("nl"):
        form = assessment_form_class(d)()
        assert form["strangulation"].label.startswith("Heeft hij ooit haar keel")
        assert "bombshell" in form["strangulation"].help_text
        assert localised(d["levels"][3]["label"]) == "extreem"
    with translation.override("de"):
        assert assessment_form_class(d)()["weapon"].label.startswith("Besitzt oder trägt er")
    assert localised(d["title"], "fr-be").startswith("Dépistage du risque MSA")
