"""Estimated arrival times, behind an interface that a real routing engine can replace.

``MSA_ROUTER`` names the class (dotted path). The default estimates from the straight-line
(great-circle) distance, a detour factor for the road network and a speed per kind of unit:
no network, no service, microseconds per unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

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


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a unit is, and what kind it is (for its speed)."""

    lat: float
    lon: float
    kind: str


class Router(Protocol):
    def etas(self, origins: Sequence[Origin], *, lat: float, lon: float) -> list[float]:
        """Seconds from each origin to (lat, lon), in the order of ``origins``."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class StraightLineRouter:
    def __init__(self, detour_factor: float | None = None) -> None:
        factor = settings.MSA_ROUTE_DETOUR_FACTOR if detour_factor is None else detour_factor
        self.detour_factor = float(factor)

    def etas(self, origins: Sequence[Origin], *, lat: float, lon: float) -> list[float]:
        radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
        p2 = radians(lat)
        cos_p2 = cos(p2)
        l2 = radians(lon)
        scale = 2 * EARTH_RADIUS_M * self.detour_factor
        out: list[float] = []
        for o in origins:
            p1 = radians(o.lat)
            a = sin((p2 - p1) / 2) ** 2 + cos(p1) * cos_p2 * sin((l2 - radians(o.lon)) / 2) ** 2
            out.append(scale * asin(sqrt(a)) / SPEED_MPS.get(o.kind, DEFAULT_SPEED_MPS))
        return out


@cache
def router() -> Router:
    """The router chosen in settings (one instance per process)."""
    cls = import_string(settings.MSA_ROUTER)
    instance: Router = cls()
    return instance
