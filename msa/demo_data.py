"""The demo region's data: the Ghent region, fictional people, real streets.

Plain data and no Django, so that ``msa simulate`` can sign as a demo phone without a
database. Everything is deterministic: the same logins, keys and positions everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

CENTRE_CODE = "OVL"


@dataclass(frozen=True, slots=True)
class DemoUnit:
    call_sign: str
    zone: str
    kind: str
    lat: float
    lon: float
    where: str


@dataclass(frozen=True, slots=True)
class DemoVictim:
    number: int
    zone: str
    first_name: str
    last_name: str
    languages: str
    address: str
    phone: str
    health: str
    children: str
    suspect_first: str
    suspect_last: str
    relation: str
    vehicle: str
    weapons: str
    suspect_address: str
    order: str
    lat: float
    lon: float


ZONES = (
    ("GNT", "Politiezone Gent"),
    ("HAW", "Politiezone Hamme-Waasmunster"),
    ("OUD", "Politiezone Oudenaarde"),
)

UNITS = (
    DemoUnit("G-11", "GNT", "car", 51.05465, 3.72130, "Korenmarkt, Gent"),
    DemoUnit("G-12", "GNT", "car", 51.04270, 3.72660, "Sint-Pietersplein, Gent"),
    DemoUnit("G-13", "GNT", "car", 51.05690, 3.74170, "Dampoort, Gent"),
    DemoUnit("G-14", "GNT", "motorcycle", 51.03580, 3.71060, "Koningin Maria Hendrikaplein"),
    DemoUnit("G-15", "GNT", "car", 51.05630, 3.70220, "Phoenixstraat, Gent"),
    DemoUnit("G-16", "GNT", "bicycle", 51.05710, 3.72600, "Vrijdagmarkt, Gent"),
    DemoUnit("G-17", "GNT", "car", 51.03800, 3.74080, "Hundelgemsesteenweg, Ledeberg"),
    DemoUnit("H-21", "HAW", "car", 51.09830, 4.13650, "Marktplein, Hamme"),
    DemoUnit("H-22", "HAW", "car", 51.10530, 4.08440, "Markt, Waasmunster"),
    DemoUnit("H-23", "HAW", "motorcycle", 51.10100, 4.14300, "Kaai, Hamme"),
    DemoUnit("O-31", "OUD", "car", 50.84500, 3.60510, "Markt, Oudenaarde"),
    DemoUnit("O-32", "OUD", "car", 50.85370, 3.60690, "Gentstraat, Oudenaarde"),
)

VICTIMS = (
    DemoVictim(
        1,
        "GNT",
        "Elise",
        "Vandersteene",
        "nl, en",
        "Sint-Pietersnieuwstraat 120, 9000 Gent",
        "+32470000101",
        "asthma (inhaler in handbag)",
        "son Lucas (6)",
        "Kevin",
        "Dhondt",
        "ex_partner",
        "grey Volkswagen Golf, 1-KDH-001",
        "known to own a hunting knife",
        "Lange Violettestraat 40, 9000 Gent",
        "No contact of any kind with Elise Vandersteene; may not come within 200 m of her "
        "home or of the school of her son.",
        51.04390,
        3.72530,
    ),
    DemoVictim(
        2,
        "GNT",
        "Nadia",
        "El Amrani",
        "nl, fr, ar",
        "Dendermondsesteenweg 200, 9040 Gent",
        "+32470000102",
        "",
        "",
        "Youssef",
        "El Amrani",
        "family",
        "black Audi A4, 1-YEA-002",
        "",
        "Kortrijksesteenweg 500, 9000 Gent",
        "No contact with Nadia El Amrani, directly or through family members; area ban for "
        "Sint-Amandsberg.",
        51.05980,
        3.74650,
    ),
    DemoVictim(
        3,
        "HAW",
        "Marieke",
        "Goossens",
        "nl",
        "Marktplein 5, 9220 Hamme",
        "+32470000103",
        "pregnant (28 weeks)",
        "",
        "Bart",
        "Verstraete",
        "ex_partner",
        "white Ford Transit, 1-BVS-003",
        "registered firearm (seized), may hold others",
        "Zouaavstraat 3, 9220 Hamme",
        "No contact with Marieke Goossens; may not enter the municipality of Hamme.",
        51.09790,
        4.13590,
    ),
    DemoVictim(
        4,
        "HAW",
        "Leen",
        "Vercauteren",
        "nl, en",
        "Pontstraat 12, 9250 Waasmunster",
        "+32470000104",
        "",
        "daughters Ella (9) and Noor (12)",
        "Dirk",
        "Mertens",
        "ex_partner",
        "red Opel Corsa, 1-DMT-004",
        "",
        "Stationsstraat 80, 9100 Sint-Niklaas",
        "No contact with Leen Vercauteren or her daughters outside supervised visits.",
        51.10600,
        4.08600,
    ),
    DemoVictim(
        5,
        "OUD",
        "Fatma",
        "Yildiz",
        "nl, tr",
        "Broodstraat 8, 9700 Oudenaarde",
        "+32470000105",
        "diabetic",
        "",
        "Murat",
        "Yildiz",
        "family",
        "blue BMW 3 series, 1-MYL-005",
        "threatened with a firearm",
        "Aalststraat 22, 9700 Oudenaarde",
        "No contact with Fatma Yildiz; area ban for the centre of Oudenaarde.",
        50.84420,
        3.60330,
    ),
)

# One login per role: (username, role, organisation code)
LOGINS = (
    ("operator", "operator", CENTRE_CODE),
    ("supervisor", "supervisor", CENTRE_CODE),
    ("reference", "reference_officer", "GNT"),
    ("magistrate", "magistrate", "PKGNT"),
    ("counsellor", "counsellor", "VSOVL"),
    ("patrol", "patrol", "GNT"),
    ("analyst", "analyst", CENTRE_CODE),
    ("admin", "admin", CENTRE_CODE),
)


def demo_password(username: str) -> str:
    return f"msa-demo-{username}"


def demo_device_id(number: int) -> str:
    return f"dev-demo-{number}"


def demo_device_key(number: int) -> bytes:
    """Deterministic, so that ``msa simulate`` can sign as the demo phone."""
    return hmac.new(
        b"msa-demo-device-key", demo_device_id(number).encode(), hashlib.sha256
    ).digest()


def key_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


def victim(number: int) -> DemoVictim:
    for v in VICTIMS:
        if v.number == number:
            return v
    raise KeyError(number)


def demo_totp_key(username: str) -> bytes:
    """The demo login's TOTP secret (20 bytes): fixed, so that the demo prints the codes and
    the browser tests compute them. Used only when ``MSA_DEMO=1`` (see ``msa.demo``)."""
    return hmac.new(b"msa-demo-totp", username.encode(), hashlib.sha256).digest()[:20]


def demo_totp_secret(username: str) -> str:
    """Base32, as an authenticator app takes it."""
    return base64.b32encode(demo_totp_key(username)).decode()
