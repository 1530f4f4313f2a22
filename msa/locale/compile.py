# ruff: noqa: INP001 - a script beside the catalogues, run by dev.py, not imported
"""Compile msa/locale/*/LC_MESSAGES/django.po into django.mo with polib, and say what is left
to translate. Run by ``python3 dev.py messages`` after makemessages; the .mo files are
committed, so that the demo runs from a fresh clone with python3 and pip only (no gettext),
and tests/test_translations.py checks that each .mo is its .po."""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent
HEADER = {
    "nl": "Nederlands (België)",
    "fr": "Français (Belgique)",
    "de": "Deutsch (Belgien)",
}


def compile_all() -> int:
    """Compile every catalogue; the number of entries still untranslated or fuzzy."""
    left = 0
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
        language = po_path.parent.parent.name
        po = polib.pofile(str(po_path), wrapwidth=79)
        po.metadata_is_fuzzy = False
        po.header = f"MSA, Mobile Stalking Alarm: the {language} catalogue (English is the source)."
        po.metadata["Language"] = language
        po.metadata["Project-Id-Version"] = "MSA"
        po.metadata["Language-Team"] = HEADER.get(language, language)
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        po.save(str(po_path))
        po.save_as_mofile(str(po_path.with_suffix(".mo")))
        untranslated = po.untranslated_entries()
        fuzzy = po.fuzzy_entries()
        left += len(untranslated) + len(fuzzy)
        print(
            f"{language}: {len(po)} entries, {len(untranslated)} untranslated, "
            f"{len(fuzzy)} fuzzy ({po_path.relative_to(LOCALE.parent.parent)})"
        )
        for entry in [*untranslated, *fuzzy][:20]:
            print(f"  to translate: {entry.msgid[:70]!r}")
    return left


if __name__ == "__main__":
    sys.exit(1 if compile_all() else 0)
