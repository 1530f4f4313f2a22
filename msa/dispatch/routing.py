"""Estimated arrival times, behind an interface that a real routing engine can replace.

``MSA_ROUTER`` names the class (dotted path). The default estimates from the straight-line
(great-circle) distance, a detour factor for the road network and a speed per kind of unit:
no network, no service, microseconds per unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

EARTH_RADIUS_M = 6_371_000.0

# Average speeds on urban roads with blue lights, metres per second.
SPEED_MPS: dict[str, float] = {
    "car": 50 / 3.6,
    "motorcycle": 55 / 3.6,
    "bicycle": 18 / 3.6,
    "foot": 6 / 3.6,
}
DEFAULT_SPEED_MPS = 40 / 3.6


class Origin(NamedTuple):
    """Where a unit is, and what kind it is (for its speed). Any (lat, lon, kind, ...)
    tuple will do: a database row read with ``values_list("lat", "lon", "kind", ...)``."""

    lat: float
    lon: float
    kind: str


class Router(Protocol):
    def etas(
        self, origins: Sequence[Origin | tuple[Any, ...]], *, lat: float, lon: float
    ) -> list[float]:
        """Seconds from each origin to (lat, lon), in the order of ``origins``."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class StraightLineRouter:
    """ETA = distance x detour factor / speed of the unit's kind.

    The distance is the equirectangular approximation of the great-circle distance: no trig
    per unit, and within 0.5 % of haversine below 200 km, far inside the uncertainty of a
    detour factor. ``haversine_m`` remains the exact figure shown to people.
    """

    def __init__(self, detour_factor: float | None = None) -> None:
        factor = settings.MSA_ROUTE_DETOUR_FACTOR if detour_factor is None else detour_factor
        self.detour_factor = float(factor)

    def etas(
        self, origins: Sequence[Origin | tuple[Any, ...]], *, lat: float, lon: float
    ) -> list[float]:
        cos_lat = math.cos(math.radians(lat))
        scale = math.radians(1.0) * EARTH_RADIUS_M * self.detour_factor
        seconds_per_m = {k: 1.0 / v for k, v in SPEED_MPS.items()}
        default = 1.0 / DEFAULT_SPEED_MPS
        sqrt = math.sqrt
        out: list[float] = []
        append = out.append
        get = seconds_per_m.get
        for o in origins:
            dy = o[0] - lat
            dx = (o[1] - lon) * cos_lat
            append(sqrt(dx * dx + dy * dy) * scale * get(o[2], default))
        return out


def fastest_speed_mps() -> float:
    return max(*SPEED_MPS.values(), DEFAULT_SPEED_MPS)


@cache
def router() -> Router:
    """The router chosen in settings (one instance per process)."""
    cls = import_string(settings.MSA_ROUTER)
    instance: Router = cls()
    return instance
