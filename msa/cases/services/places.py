"""Places of a case on the incident map, and the gazetteer that gives addresses coordinates.

A place (the victim's home, work or another usual place, the suspect's known address) gets
its coordinates from a pin the case officer places on the map, or from the deployment's
gazetteer: a CSV of ``address,lat,lon`` (a national address register), loaded with
``msa places load FILE``. A file with any bad line loads nothing, and loading it again
changes nothing. Reads go through ``msa.cases.places`` (the dossier's access rule)."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import GazetteerEntry, Place, PlaceKind, PlaceSource, ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError

DEMO_GAZETTEER = Path(__file__).resolve().parent.parent / "gazetteer" / "demo-ghent.csv"
ADDRESS_MAX = 300
ERRORS_SHOWN = 50
_BATCH = 500
_SPACES = re.compile(r"[\s,;]+")


def address_key(address: str) -> str:
    """An address as the gazetteer matches it: case, commas and runs of spaces ignored."""
    return _SPACES.sub(" ", address).strip().casefold()


@dataclass(frozen=True, slots=True)
class GazetteerRow:
    line: int
    address: str
    lat: float
    lon: float


def _coordinate(text: str, name: str, limit: float) -> tuple[float | None, str]:
    try:
        value = float(text.strip())
    except ValueError:
        return None, f"{name} {text.strip()[:20]!r} is not a number"
    if not math.isfinite(value) or not -limit <= value <= limit:
        return None, f"{name} {value} is outside -{limit:g}..{limit:g}"
    return value, ""


def gazetteer_parse(text: str) -> list[GazetteerRow]:
    """The rows of a gazetteer CSV (a header ``address,lat,lon``, then one address a line).
    Raises ``ValidationError`` with one message per bad line (``fields``: ``line N``)."""
    reader = csv.reader(io.StringIO(text))
    errors: dict[str, str] = {}
    rows: list[GazetteerRow] = []
    seen: dict[str, GazetteerRow] = {}
    try:
        header = [h.strip().casefold() for h in next(reader, [])]
        if header != ["address", "lat", "lon"]:
            raise ValidationError(
                gettext_noop("line 1: the header must be address,lat,lon"),
                fields={"line 1": "header"},
            )
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != 3:
                errors[f"line {line}"] = f"{len(record)} columns, expected 3 (address,lat,lon)"
                continue
            address = " ".join(record[0].split())
            lat, lat_error = _coordinate(record[1], "lat", 90)
            lon, lon_error = _coordinate(record[2], "lon", 180)
            problem = (
                "the address is empty"
                if not address
                else f"the address is longer than {ADDRESS_MAX} characters"
                if len(address) > ADDRESS_MAX
                else lat_error or lon_error
            )
            if problem or lat is None or lon is None:
                errors[f"line {line}"] = problem
                continue
            row = GazetteerRow(line=line, address=address, lat=lat, lon=lon)
            key = address_key(address)
            first = seen.get(key)
            if first is not None:
                if (first.lat, first.lon) != (lat, lon):
                    errors[f"line {line}"] = (
                        f"the address is on line {first.line} with other coordinates"
                    )
                continue
            seen[key] = row
            rows.append(row)
    except csv.Error as exc:
        errors[f"line {reader.line_num}"] = f"not CSV: {exc}"
    if errors:
        shown = sorted(errors.items(), key=lambda kv: int(kv[0].split()[1]))[:ERRORS_SHOWN]
        more = len(errors) - len(shown)
        message = "; ".join(f"{where}: {what}" for where, what in shown)
        if more:
            message += f"; and {more} more"
        raise ValidationError(
            f"{len(errors)} bad line(s), nothing loaded: {message}", fields=errors
        )
    return rows


def gazetteer_read_file(path: Path) -> list[GazetteerRow]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"line {line}: not UTF-8 text, nothing loaded", fields={f"line {line}": "encoding"}
        ) from None
    return gazetteer_parse(text)


@dataclass(frozen=True, slots=True)
class GazetteerLoaded:
    added: int
    changed: int
    unchanged: int


@transaction.atomic(durable=True)
def gazetteer_load(*, rows: list[GazetteerRow], actor: Actor) -> GazetteerLoaded:
    """Add or update every row in one transaction (all or nothing), keyed by the normalised
    address: loading the same file twice adds nothing."""
    return gazetteer_store(rows=rows, actor=actor)


def gazetteer_store(*, rows: list[GazetteerRow], actor: Actor) -> GazetteerLoaded:
    """``gazetteer_load``'s step, in the caller's transaction (the demo's seed)."""
    now = clock.now()
    added = changed = unchanged = 0
    for start in range(0, len(rows), _BATCH):
        batch = {address_key(r.address): r for r in rows[start : start + _BATCH]}
        existing = {e.key: e for e in GazetteerEntry.objects.filter(key__in=list(batch))}
        new: list[GazetteerEntry] = []
        updated: list[GazetteerEntry] = []
        for key, row in batch.items():
            entry = existing.get(key)
            if entry is None:
                new.append(
                    GazetteerEntry(
                        key=key, address=row.address, lat=row.lat, lon=row.lon, loaded_at=now
                    )
                )
            elif (entry.address, entry.lat, entry.lon) != (row.address, row.lat, row.lon):
                entry.address, entry.lat, entry.lon, entry.loaded_at = (
                    row.address,
                    row.lat,
                    row.lon,
                    now,
                )
                updated.append(entry)
            else:
                unchanged += 1
        GazetteerEntry.objects.bulk_create(new)
        GazetteerEntry.objects.bulk_update(updated, ["address", "lat", "lon", "loaded_at"])
        added += len(new)
        changed += len(updated)
    audit_record(
        actor=actor,
        action="gazetteer.load",
        subject_type="cases.gazetteerentry",
        new={"added": added, "changed": changed, "unchanged": unchanged},
    )
    return GazetteerLoaded(added=added, changed=changed, unchanged=unchanged)


def gazetteer_lookup(address: str) -> tuple[float, float] | None:
    entry = GazetteerEntry.objects.filter(key=address_key(address)).first()
    return None if entry is None else (entry.lat, entry.lon)


@transaction.atomic(durable=True)
def place_record(
    *,
    case: ProtectionCase,
    kind: str,
    address: str,
    actor: Actor,
    label: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> Place:
    """The case officer records a place (``place_store`` in its own transaction)."""
    return place_store(
        case=case, kind=kind, address=address, actor=actor, label=label, lat=lat, lon=lon
    )


def place_store(
    *,
    case: ProtectionCase,
    kind: str,
    address: str,
    actor: Actor,
    label: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> Place:
    """Record a place of ``case`` in the caller's transaction: at the pin (``lat``, ``lon``)
    when the officer placed one, else at the gazetteer's coordinates of ``address``; refused
    when neither gives any."""
    if kind not in PlaceKind.values:
        raise ValidationError(gettext_noop("unknown kind of place"), fields={"kind": "unknown"})
    address = " ".join(address.split())
    if not address or len(address) > ADDRESS_MAX:
        raise ValidationError(gettext_noop("an address is needed"), fields={"address": "required"})
    if lat is not None and lon is not None:
        checked_lat, lat_error = _coordinate(str(lat), "lat", 90)
        checked_lon, lon_error = _coordinate(str(lon), "lon", 180)
        if checked_lat is None or checked_lon is None:
            raise ValidationError(lat_error or lon_error, fields={"pin": lat_error or lon_error})
        at, source = (checked_lat, checked_lon), PlaceSource.PIN
    else:
        found = gazetteer_lookup(address)
        if found is None:
            raise ValidationError(
                gettext_noop("the address is not in the gazetteer: place a pin on the map"),
                fields={"address": "not_in_gazetteer"},
            )
        at, source = found, PlaceSource.GAZETTEER
    place = Place.objects.create(
        case=case,
        kind=kind,
        label=label.strip()[:120],
        address=address,
        lat=at[0],
        lon=at[1],
        source=source,
        recorded_at=clock.now(),
    )
    # no address, label or coordinates in the audit row: personal data
    audit_record(
        actor=actor, action="case.place", subject=case, new={"kind": kind, "source": source}
    )
    return place
