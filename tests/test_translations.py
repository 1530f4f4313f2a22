"""The three catalogues (nl, fr, de) are complete, the committed .mo files are what their .po
compile to, and no user-visible English is left unmarked in a template or a Python module.

When this fails after new strings: ``python3 dev.py messages`` (makemessages, then compile),
translate what it reports as new or fuzzy in msa/locale/*/LC_MESSAGES/django.po, and run it
again (docs/glossary.md has the words to use)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "msa" / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
HINT = "run python3 dev.py messages, translate, and run it again (see docs/glossary.md)"


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str) -> None:
    po = catalogue(language)
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, (
        f"{language}: {len(untranslated)} untranslated: {untranslated[:5]}; {HINT}"
    )
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy: {fuzzy[:5]}; {HINT}"
    assert len(po) > 800


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language: str) -> None:
    """A translation keeps every %(name)s and {name} of its English (else a KeyError at run
    time, or a reference that silently disappears)."""
    field = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    wrong = []
    for entry in catalogue(language).translated_entries():
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, s) for s in entry.msgstr_plural.values()]
        for source, translated in pairs:
            if sorted(field.findall(source)) != sorted(field.findall(translated)) and not (
                entry.msgid_plural and set(field.findall(translated)) <= set(field.findall(source))
            ):
                wrong.append(entry.msgid)
    assert not wrong, f"{language}: placeholders differ in {wrong[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_matches_its_po(language: str) -> None:
    """The .mo files are committed (the demo runs from a fresh clone with python3 and pip
    only, no gettext); this catches a .po edited without compiling."""
    po = catalogue(language)
    mo = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))
    compiled: dict[tuple[str | None, str], tuple[str, object]] = {
        (e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in mo
    }
    expected: dict[tuple[str | None, str], tuple[str, object]] = {
        (e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural)
        for e in po.translated_entries()
        if not e.obsolete
    }
    compiled.pop((None, ""), None)  # the header
    stale = sorted(k[1] for k in set(expected) ^ set(compiled))
    stale += sorted(k[1] for k in expected if k in compiled and compiled[k] != expected[k])
    assert not stale, f"{language}: django.mo is not its django.po ({stale[:5]}): {HINT}"


# --- unmarked strings -----------------------------------------------------------------------

TEMPLATES = ROOT / "msa" / "templates"
# Text that is not a word of a language: the brand, units, symbols, keys on a keyboard.
NOT_WORDS = re.compile(
    r"^(MSA|GPS|km|m|s|h|min|OK|CIC|SMS|ETA|ID|QR|TOTP|API|AML|IMEI|ICCID|CSV|PDF|JSON|URL|"
    r"Enter|Esc|Tab|Shift|E\.164|[A-Z]-?\d*)$"
)
# Blocks that hold names for the code (CSS classes, data attributes), not words for a reader.
CODE_BLOCKS = re.compile(r"\{%\s*block\s+(body_class|body_attrs)\s*%\}.*?\{%\s*endblock", re.DOTALL)
TAG_BLOCKS = re.compile(
    r"\{%\s*blocktranslate.*?%\}.*?\{%\s*endblocktranslate\s*%\}|\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}"
    r"|<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<svg\b.*?</svg>|&#?\w+;",
    re.DOTALL,
)
VISIBLE_ATTRS = re.compile(
    r"""\s(title|placeholder|aria-label|alt|data-text-[\w-]+|data-confirm)=(["'])(.*?)\2""",
    re.DOTALL,
)


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'\u2019-]+", text) if not NOT_WORDS.match(w)]


def unmarked_in_template(source: str) -> list[str]:
    """Text nodes and visible attributes that contain words outside {% translate %},
    {% blocktranslate %} and {{ variables }}."""
    found: list[str] = []
    stripped = TAG_BLOCKS.sub(" ", CODE_BLOCKS.sub(" ", source))
    for match in VISIBLE_ATTRS.finditer(stripped):
        name, value = match.group(1), match.group(3)
        if _words(value):
            found.append(f'{name}="{value.strip()[:60]}"')
    stripped = re.sub(r"<[^>]*>", "\n", stripped, flags=re.DOTALL)
    for line in stripped.splitlines():
        text = line.strip()
        if text and _words(text):
            found.append(text[:60])
    return found


def test_no_unmarked_text_in_templates() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := unmarked_in_template(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"mark these with {{% translate %}}: {offenders}"


# Python: what a user reads comes from these calls and keywords; a plain string literal there
# is English for everybody.
USER_CALLS = {"success", "error", "warning", "info", "add_message", "add_error"}
USER_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label"}
MODULES = ["views", "forms", "models", "admin", "context_processors", "words"]


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return None


def unmarked_in_python(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        candidates: list[ast.AST] = []
        if name in USER_CALLS:
            candidates += node.args[1:] if name != "add_message" else node.args[2:]
        if name == "ValidationError" and node.args:
            candidates.append(node.args[0])
        candidates += [k.value for k in node.keywords if k.arg in USER_KEYWORDS]
        for candidate in candidates:
            text = _literal(candidate)
            if text and _words(text):
                found.append(f"line {node.lineno}: {text[:60]}")
    return found


def _user_facing_modules() -> list[Path]:
    paths = []
    for path in sorted((ROOT / "msa").rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if "tests" in parts or "migrations" in parts:
            continue
        if path.stem in MODULES or path.parent.name == "views":
            paths.append(path)
    return paths


def test_no_unmarked_user_text_in_python() -> None:
    """Messages, form errors and the labels of fields and models (views, forms, models,
    admin). A domain ValidationError of msa.core.errors is for the log and the API: it is
    raised in services, which this does not read."""
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in _user_facing_modules()
        if (found := unmarked_in_python(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"mark these with gettext / gettext_lazy: {offenders}"


# Services: a refusal (an MsaError) that a page shows is marked with gettext_noop where it is
# raised, its values as named params (``ConflictError(gettext_noop("unit %(unit)s is busy"),
# params={...})``); the page says ``exc.translated()``, the API and the logs keep the English
# ``exc.message`` (the device protocol's messages are a contract). A module opts in by importing
# gettext_noop; from then on a plain or f-string refusal in it is a page left in English.
REFUSALS = {"MsaError", "ValidationError", "ConflictError", "TransitionNotAllowedError"}
REFUSALS |= {"NotFoundError"}
# Their refusals answer the command line (msa instrument load, msa places load): English.
CLI_ONLY = {"msa/cases/services/assessment.py", "msa/cases/services/places.py"}
# Whose refusals reach the pages: they must stay opted in.
PAGE_MODULES = {
    "msa/core/transitions.py",
    "msa/dispatch/services/console.py",
    "msa/dispatch/services/dispatching.py",
    "msa/dispatch/services/supervisor.py",
    "msa/dispatch/services/units.py",
    "msa/evaluation/evidence.py",
    "msa/evaluation/selectors.py",
    "msa/evaluation/services.py",
}


def unmarked_refusals(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
            continue
        name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", ""))
        first = node.exc.args[0]
        if name in REFUSALS and isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp):
            found.append(f"line {node.lineno}: {ast.unparse(first)[:60]}")
    return found


def test_services_mark_the_refusals_pages_show() -> None:
    opted_in = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "msa").rglob("*.py")
        if "tests" not in path.parts and "gettext_noop" in path.read_text(encoding="utf-8")
    }
    assert opted_in >= PAGE_MODULES, f"import gettext_noop and mark: {PAGE_MODULES - opted_in}"
    offenders = {
        name: found
        for name in sorted(opted_in - CLI_ONLY)
        if (found := unmarked_refusals((ROOT / name).read_text(encoding="utf-8")))
    }
    assert not offenders, f"mark with gettext_noop (values as params=...): {offenders}"


def test_the_heuristics_find_what_they_should() -> None:
    html = '<p>{% translate "Fine" %} {{ value }}</p><h2>Unmarked heading</h2>'
    html += '<b title="Tip here">x</b>'
    assert unmarked_in_template(html) == ['title="Tip here"', "Unmarked heading"]
    python = 'messages.error(request, "Plain English")\nf = forms.CharField(label=_("ok"))'
    assert unmarked_in_python(python) == ["line 1: Plain English"]
    refusals = 'raise ConflictError(f"unit {u} is busy")\n'
    refusals += 'raise ConflictError(gettext_noop("unit %(u)s is busy"), params={"u": u})'
    assert unmarked_refusals(refusals) == ["line 1: f'unit {u} is busy'"]


# JavaScript: its words come from the page (data-* attributes written by a template, or the
# JSON of <html data-msa-strings>, msaText in msa/static/msa/i18n.js); a literal with words is
# allowed only as the English fallback of such a look-up.
JS_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
JS_LOOKUP = re.compile(r'((msaText|\bt|text)\("\w+",\s*|\|\|\s*)$')
JS_CODE_WORDS = re.compile(r"[#\[\]=.:<>]|px\b|rgba")  # selectors, styles, a developer's error


def unmarked_in_javascript(source: str) -> list[str]:
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        code = "" if line.lstrip().startswith("//") else line.split(" // ")[0]
        for match in JS_LITERAL.finditer(code):
            text = match.group(1)
            if not re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", text) or JS_CODE_WORDS.search(text):
                continue
            if text.endswith("-") or JS_LOOKUP.search(code[: match.start()]):
                continue  # a class-name prefix, or a look-up's English fallback
            if re.fullmatch(r"[a-z-]+( [a-z-]+)*", text) and "-" in text:
                continue  # CSS classes ("link copy" has none: see below)
            found.append(f"line {number}: {text[:60]}")
    return found


# Class names and event names that read like words.
JS_NOT_WORDS = {"use strict", "link copy", "move zoom resize"}


def test_no_unmarked_words_in_javascript() -> None:
    offenders = {
        path.name: found
        for path in sorted((ROOT / "msa" / "static" / "msa").glob("*.js"))
        if (
            found := [
                f
                for f in unmarked_in_javascript(path.read_text(encoding="utf-8"))
                if f.split(": ", 1)[1] not in JS_NOT_WORDS
            ]
        )
    }
    assert not offenders, f"give these words through data-* or msaText: {offenders}"
    assert unmarked_in_javascript('el.textContent = "Plain English here";') == [
        "line 1: Plain English here"
    ]
    assert not unmarked_in_javascript('say(msaText("zoneDrawn", "area(s) drawn"));')
