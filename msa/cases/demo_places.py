"""The demo's places: its own small gazetteer (``gazetteer/demo-ghent.csv``, the streets the
demo uses) and, for each seeded case, the victim's home and usual places and the suspect's
known address, found in it. ``msa.demo.seed`` calls both in its transaction."""

from __future__ import annotations

from msa.cases.models import PlaceKind, ProtectionCase
from msa.cases.services.places import (
    DEMO_GAZETTEER,
    gazetteer_read_file,
    gazetteer_store,
    place_store,
)
from msa.core.actors import Actor

# The usual places of the demo's victims beyond home, by victim number: (kind, label, address).
_USUAL: dict[int, tuple[tuple[str, str, str], ...]] = {
    1: (
        (PlaceKind.WORK, "work (bookshop)", "Veldstraat 45, 9000 Gent"),
        (PlaceKind.USUAL, "school of her son", "Overpoortstraat 49, 9000 Gent"),
    ),
    2: ((PlaceKind.WORK, "work (pharmacy)", "Korenmarkt 16, 9000 Gent"),),
}


def demo_gazetteer_load(*, actor: Actor) -> None:
    gazetteer_store(rows=gazetteer_read_file(DEMO_GAZETTEER), actor=actor)


def demo_case_places(*, case: ProtectionCase, number: int, actor: Actor) -> None:
    places = [
        (PlaceKind.HOME, "", case.victim.address),
        *_USUAL.get(number, ()),
        (PlaceKind.SUSPECT, "", case.suspect.address),
    ]
    for kind, label, address in places:
        place_store(case=case, kind=kind, label=label, address=address, actor=actor)
