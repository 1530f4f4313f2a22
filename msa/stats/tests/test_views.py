"""The dashboard and its exports over the test client: figures, CSP-safe plots, audit rows,
the reader's language, and no name anywhere an analyst looks."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from msa.accounts.models import User
from msa.audit.models import AuditEntry
from msa.demo_data import VICTIMS
from msa.stats.research import grid_cell
from tests.support.factories import press

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def _names() -> list[str]:
    """Every name, address and number of the demo's victims and suspects."""
    out: list[str] = []
    for v in VICTIMS:
        out += [v.first_name, v.last_name, v.suspect_first, v.suspect_last, v.phone]
        out += [v.address, v.suspect_address, v.address.split(",")[0], v.phone[3:]]
    return out


@pytest.fixture
def pressed(demo, clock):
    clock.freeze(NOW)
    for victim in (1, 2, 5):
        press(victim, at=NOW, number=14)
    return NOW


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _scan(text: str) -> list[str]:
    return [name for name in _names() if name in text]


def test_demo_names_are_known_to_the_scan():
    names = _names()
    assert "Yildiz" in names  # the scan would catch a victim's or suspect's last name
    assert "Broodstraat 8" in names  # and a street address


def test_the_analyst_sees_figures_and_plots_and_no_name(pressed):
    client = _client("analyst")
    response = client.get(reverse("stats:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="stat-alarms-live">3<', html)
    assert html.count("<svg") == 2
    # strict CSP: no inline style or script anywhere, the plots included
    assert " style=" not in html
    assert "<style" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert _scan(html) == []
    for area in ("GNT", "OVL"):
        page = client.get(reverse("stats:dashboard"), {"area": area})
        assert page.status_code == 200
        assert _scan(page.content.decode()) == []
    assert _scan(client.get(reverse("stats:research")).content.decode()) == []
    assert AuditEntry.objects.filter(action="stats.view", actor_label="analyst").count() == 3


def test_filter_errors_and_areas_out_of_scope(pressed):
    client = _client("supervisor")
    url = reverse("stats:dashboard")
    assert client.get(url, {"start": "2026-05-01", "end": "2026-04-01"}).status_code == 400
    assert client.get(url, {"start": "nope"}).status_code == 400
    assert client.get(url, {"area": "NOPE"}).status_code == 400  # not a choice
    assert client.get(url, {"start": "2026-05-01", "end": "2026-05-31"}).status_code == 200


def test_csv_export_is_audited(pressed):
    response = _client("analyst").get(reverse("stats:csv"), {"area": "GNT"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["indicator", "key", "value"]
    values = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert values[("alarms_live", "")] == "2"  # victims 1 and 2 are in Gent
    assert values[("time_to_acknowledge", "expected")] == "2"
    assert _scan(response.content.decode()) == []
    entry = AuditEntry.objects.get(action="stats.csv")
    assert entry.new["area"] == "GNT"


def test_pdf_report_in_the_readers_language(pressed):
    admin = User.objects.get(username="admin")
    admin.language = "fr"
    admin.save(update_fields=["language"])
    response = _client("admin").get(reverse("stats:pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    entry = AuditEntry.objects.get(action="stats.pdf")
    assert entry.new["language"] == "fr"


def test_research_export_is_pseudonymised_and_audited(pressed):
    client = _client("analyst")
    url = reverse("stats:research")
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "UGent evaluation 2026"})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {
        "README.txt",
        "data_dictionary.csv",
        "cases.csv",
        "incidents.csv",
        "positions.csv",
    }
    text = "".join(archive.read(n).decode() for n in archive.namelist())
    assert _scan(text) == []
    assert not re.search(r"GNT-\d|OUD-\d|\+32|dev-demo", text)  # no reference, number, device
    incidents = list(csv.DictReader(io.StringIO(archive.read("incidents.csv").decode())))
    assert len(incidents) == 3
    assert all(re.fullmatch(r"I-[0-9a-f]{12}", r["incident"]) for r in incidents)
    positions = list(csv.DictReader(io.StringIO(archive.read("positions.csv").decode())))
    assert positions
    cell = grid_cell(51.05, 3.72, 500)
    assert {(float(p["cell_lat"]), float(p["cell_lon"])) for p in positions} == {cell}
    assert cell != (51.05, 3.72)
    # every column is in the dictionary
    dictionary = archive.read("data_dictionary.csv").decode()
    for name in ("incidents.csv", "positions.csv", "cases.csv"):
        header = archive.read(name).decode().splitlines()[0].split(",")
        assert all(f"{name},{col}," in dictionary for col in header)
    # stable pseudonyms: a second export names the same incidents alike
    again = zipfile.ZipFile(io.BytesIO(client.post(url, {"reason": "again"}).content))
    assert again.read("incidents.csv") == archive.read("incidents.csv")
    entry = AuditEntry.objects.filter(action="stats.research").order_by("seq").first()
    assert entry is not None
    assert entry.reason == "UGent evaluation 2026"
    assert entry.new["incidents"] == 3
