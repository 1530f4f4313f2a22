"""Position sources: a fixed point, a scripted walk, and gpsd."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from msa_client.interfaces import Clock
from msa_client.models import Location
from msa_protocol import parse_time

__all__ = ["FixedPosition", "GpsdPosition", "ScriptedRoute", "location_from_tpv"]

logger = logging.getLogger("msa_client")

EARTH_RADIUS_M = 6_371_008.8
WALKING_SPEED_MPS = 1.4


class FixedPosition:
    """Always the same point, with a fresh ``fix_at`` from the clock at each call."""

    def __init__(self, lat: float, lon: float, accuracy_m: float, clock: Clock) -> None:
        Location(lat=lat, lon=lon, accuracy_m=accuracy_m, fix_at=clock())  # validate now
        self.lat, self.lon, self.accuracy_m = lat, lon, accuracy_m
        self.clock = clock

    def current(self) -> Location | None:
        return Location(lat=self.lat, lon=self.lon, accuracy_m=self.accuracy_m, fix_at=self.clock())


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360


class ScriptedRoute:
    """A walk along ``waypoints`` (lat, lon) at ``speed_mps`` from ``start`` (default: the
    clock's time when made), interpolated linearly within each leg; it stops at the end."""

    def __init__(
        self,
        waypoints: Sequence[tuple[float, float]],
        clock: Clock,
        *,
        speed_mps: float = WALKING_SPEED_MPS,
        accuracy_m: float = 8.0,
        start: datetime | None = None,
    ) -> None:
        if not waypoints:
            raise ValueError("a route needs at least one waypoint")
        if speed_mps <= 0:
            raise ValueError("speed_mps must be positive")
        self.waypoints = [(float(lat), float(lon)) for lat, lon in waypoints]
        self.clock = clock
        self.speed_mps = speed_mps
        self.accuracy_m = accuracy_m
        self.start = start if start is not None else clock()
        self._legs = [
            _distance_m(a, b) for a, b in zip(self.waypoints, self.waypoints[1:], strict=False)
        ]

    @property
    def length_m(self) -> float:
        return sum(self._legs)

    def at(self, moment: datetime) -> Location:
        walked = max(0.0, (moment - self.start).total_seconds()) * self.speed_mps
        for i, leg in enumerate(self._legs):
            if walked <= leg and leg > 0:
                a, b = self.waypoints[i], self.waypoints[i + 1]
                f = walked / leg
                return Location(
                    lat=a[0] + (b[0] - a[0]) * f,
                    lon=a[1] + (b[1] - a[1]) * f,
                    accuracy_m=self.accuracy_m,
                    fix_at=moment,
                    source="gps",
                    speed_mps=self.speed_mps,
                    heading_deg=_bearing_deg(a, b),
                )
            walked -= leg
        lat, lon = self.waypoints[-1]
        return Location(lat=lat, lon=lon, accuracy_m=self.accuracy_m, fix_at=moment, speed_mps=0.0)

    def current(self) -> Location | None:
        return self.at(self.clock())


def location_from_tpv(report: Mapping[str, Any]) -> Location | None:
    """A :class:`Location` from a gpsd ``TPV`` report, or ``None`` without a 2D/3D fix.

    Accuracy is the larger of ``epx``/``epy`` (or ``eph``), in metres; 50 m when gpsd gives
    none. ``track`` becomes the heading, ``altHAE`` (or the older ``alt``) the altitude.
    """
    if report.get("class") != "TPV" or int(report.get("mode", 0) or 0) < 2:
        return None
    try:
        lat, lon = float(report["lat"]), float(report["lon"])
        fix_at = parse_time(str(report["time"]))
    except (KeyError, TypeError, ValueError):
        return None
    errors = [float(report[k]) for k in ("epx", "epy") if isinstance(report.get(k), int | float)]
    if not errors and isinstance(report.get("eph"), int | float):
        errors = [float(report["eph"])]
    altitude = report.get("altHAE", report.get("alt"))
    heading = report.get("track")

    def number(value: object) -> float | None:
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    try:
        return Location(
            lat=lat,
            lon=lon,
            accuracy_m=max(errors) if errors else 50.0,
            fix_at=fix_at,
            source="gps",
            speed_mps=number(report.get("speed")),
            heading_deg=number(heading) if number(heading) is not None else None,
            altitude_m=number(altitude) if int(report.get("mode", 0)) >= 3 else None,
        )
    except ValueError:
        return None


class GpsdPosition:
    """gpsd over its JSON socket protocol (``?WATCH={"enable":true,"json":true};``).

    :meth:`start` connects and reads TPV reports in a background thread; :meth:`current`
    returns the newest fix not older than ``max_age_s`` (by the clock).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 2947,
        max_age_s: float = 30.0,
    ) -> None:
        self.clock = clock
        self.host, self.port = host, port
        self.max_age_s = max_age_s
        self._latest: Location | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None

    def feed_line(self, line: str | bytes) -> None:
        """Handle one line of gpsd output (also used by tests)."""
        try:
            report = json.loads(line)
        except ValueError:
            return
        if isinstance(report, dict):
            fix = location_from_tpv(report)
            if fix is not None:
                with self._lock:
                    self._latest = fix

    def current(self) -> Location | None:
        with self._lock:
            fix = self._latest
        if fix is None or self.clock() - fix.fix_at > timedelta(seconds=self.max_age_s):
            return None
        return fix

    def start(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=5.0)
        self._sock.sendall(b'?WATCH={"enable":true,"json":true};\n')
        self._sock.settimeout(None)
        threading.Thread(target=self._read, name="msa-gpsd", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def _read(self) -> None:
        assert self._sock is not None
        with self._sock.makefile("rb") as lines:
            for line in lines:
                if self._stop.is_set():
                    return
                self.feed_line(line)
        logger.warning("gpsd_disconnected")
