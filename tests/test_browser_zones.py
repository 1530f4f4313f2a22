"""A zone drawn on the decision page is what the operator's incident map shows.

The magistrate draws a circle (press and drag: the typed fields are filled by the drawing)
and an area (corner clicks) on the decision page; the case is then walked to an active alarm
(``tests.support.zone_seed``, in the server's database) and pressed; the operator's incident
map draws both zones with their names, the victim's places as labelled pins, and the units'
labels inside the map without overlapping."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import screenshot, sign_in
from tests.support.live import (
    free_port,
    postgres_database,
    server_env,
    wait_until_serving,
)

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A demo server of this test's own (its database is changed by the seed steps)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with postgres_database() as database_url, log.open("wb") as out:
        env = {**server_env(tmp_path, database_url), "MSA_PUBLIC_URL": url}
        process = subprocess.Popen(
            [sys.executable, "-m", "msa.cli", "demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process, log)
            yield url, env
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _seed(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.zone_seed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return list(
        page.locator(selector).evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {x: r.left, y: r.top, w: r.width, h: r.height}; })"
        )
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_a_drawn_zone_reaches_the_operators_map(
    server: tuple[str, dict[str, str]], browser: Any
) -> None:
    base, env = server
    reference = _seed(env, "awaiting")

    magistrate = browser.new_page()
    sign_in(magistrate, base, "magistrate")
    magistrate.goto(base + f"/cases/{reference}/decide/")
    magistrate.fill("#id_reference", "PKGNT-2026-ZONE-1")
    magistrate.fill("#id_circle_label", "her street")
    errors: list[str] = []
    magistrate.on("pageerror", lambda e: errors.append(str(e)))
    magistrate.locator("#zone-map").scroll_into_view_if_needed()
    box = magistrate.locator("#zone-map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # a circle: press at the centre, drag 80 px, release
    magistrate.click("#draw-circle")
    magistrate.mouse.move(cx, cy)
    magistrate.mouse.down()
    magistrate.mouse.move(cx + 40, cy, steps=4)
    magistrate.mouse.move(cx + 80, cy, steps=4)
    magistrate.mouse.up()
    assert errors == []
    lat = float(magistrate.input_value("#id_circle_lat"))
    radius = int(magistrate.input_value("#id_circle_radius_m"))
    assert 51.0 < lat < 51.1
    assert radius > 200  # 80 px at zoom 13 is some 1.5 km, not the 200 m default
    # an area: four corner clicks, then Finish
    magistrate.fill("#zone-label", "the school area")
    magistrate.click("#draw-polygon")
    for dx, dy in ((-150, -100), (-60, -100), (-60, -40), (-150, -40)):
        magistrate.mouse.click(cx + dx, cy + dy)
    magistrate.click("#draw-finish")
    assert '"polygon"' in magistrate.input_value("#id_zones_json")
    assert magistrate.locator("#zone-map .zone-label").count() == 2
    screenshot(magistrate, "decision-zones-drawn")
    magistrate.click("#decision-save")
    magistrate.wait_for_selector("#case-reference")
    # the decision page shows the zones in force
    magistrate.goto(base + f"/cases/{reference}/decide/")
    in_force = magistrate.inner_text("#zones-in-force")
    assert "her street" in in_force
    assert "the school area" in in_force
    magistrate.close()

    # the officer pins her work on the map (the address is in no gazetteer)
    officer = browser.new_page()
    sign_in(officer, base, "reference")
    officer.goto(base + f"/cases/{reference}/places/")
    officer.select_option("#id_kind", "work")
    officer.fill("#id_label", "her work")
    officer.fill("#id_address", "Nergensstraat 1, 9000 Gent")
    officer.locator("#place-map").scroll_into_view_if_needed()
    pin_box = officer.locator("#place-map").bounding_box()
    assert pin_box is not None
    officer.mouse.click(pin_box["x"] + pin_box["width"] / 2 + 60, pin_box["y"] + 80)
    assert officer.input_value("#id_lat") != ""
    officer.click("#place-save")
    officer.wait_for_selector("#places li")
    assert "her work" in officer.inner_text("#places")
    officer.close()

    incident = _seed(env, "alarm", reference)
    operator = browser.new_page()
    sign_in(operator, base, "operator")
    operator.goto(base + f"/console/incidents/{incident}/")
    operator.wait_for_selector("#map .victim-position", timeout=5_000)
    labels = operator.locator("#map .zone-label").all_inner_texts()
    assert sorted(labels) == ["her street", "the school area"]
    assert operator.locator("#map path.leaflet-interactive").count() >= 3  # zones + accuracy
    assert operator.get_attribute("#map-follow", "aria-pressed") == "true"
    assert "her work" in operator.inner_text("#map .place-label-work")

    # the demo's units: every label inside the map, none over another
    map_box = _boxes(operator, "#map")[0]
    units = _boxes(operator, "#map .unit-label")
    controls = _boxes(operator, "#map .leaflet-control")
    assert len(units) >= 7
    for i, a in enumerate(units):
        assert map_box["x"] <= a["x"]
        assert a["x"] + a["w"] <= map_box["x"] + map_box["w"] + 0.5
        assert map_box["y"] <= a["y"]
        assert a["y"] + a["h"] <= map_box["y"] + map_box["h"] + 0.5
        for b in units[i + 1 :]:
            assert not _overlap(a, b), (a, b)
        for control in controls:
            assert not _overlap(a, control), (a, control)
    # dragging the map stops following; the toggle brings it back
    operator.mouse.move(map_box["x"] + 100, map_box["y"] + 100)
    operator.mouse.down()
    operator.mouse.move(map_box["x"] + 200, map_box["y"] + 150, steps=5)
    operator.mouse.up()
    assert operator.get_attribute("#map-follow", "aria-pressed") == "false"
    operator.click("#map-follow")
    assert operator.get_attribute("#map-follow", "aria-pressed") == "true"
    follow = _boxes(operator, "#map-follow")[0]
    for a in _boxes(operator, "#map .unit-label"):
        assert not _overlap(a, follow), (a, follow)
    screenshot(operator, "incident-map-zones")
    operator.close()
