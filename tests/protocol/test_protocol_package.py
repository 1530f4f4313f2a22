"""msa_protocol is the one wire format: standard library only, and every list in it once."""

import subprocess
import sys

import pytest

import msa_protocol as p

KEY = bytes(range(32))
VECTOR_BODY = (
    b'{"alarm_id":"5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21","trigger":"button",'
    b'"pressed_at":"2026-03-14T08:15:02Z","location":{"lat":51.054342,"lon":3.717424,'
    b'"accuracy_m":12,"fix_at":"2026-03-14T08:15:00Z","source":"gps"}}'
)
VECTOR_SIGNATURE = "7e1b621d2d2ac43da1e39db780f3b1247a068e5ad719f3909a5e6839036794d3"


def test_msa_protocol_imports_the_standard_library_only():
    code = (
        "import sys\n"
        "import msa_protocol\n"
        "banned = {'django', 'msa', 'msa_client', 'ninja', 'pydantic', 'httpx'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_canonical_string_of_the_test_vector():
    assert p.canonical_string("POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY) == (
        b"POST\n/api/device/v1/alarms\n1773476103\n"
        b"72d08656087519dad97b5ef27a7b3b31a5ef7db744248a21fb97657215eea615"
    )


@pytest.mark.parametrize(
    ("timestamp", "path", "received"),
    [
        ("", "/api/device/v1/alarms", VECTOR_SIGNATURE),  # no timestamp
        ("17734761O3", "/api/device/v1/alarms", VECTOR_SIGNATURE),  # not digits
        ("\u00b2", "/api/device/v1/alarms", VECTOR_SIGNATURE),  # a digit, but not ASCII
        ("1773476103", "/api/device/v1/alarms\n", VECTOR_SIGNATURE),  # a newline in the path
        ("1773476103", "/api/device/v1/alarms", "\u00e9" * 64),  # a non-ASCII header
    ],
)
def test_verify_signature_answers_false_and_never_raises(timestamp, path, received):
    assert not p.verify_signature(KEY, "POST", path, timestamp, VECTOR_BODY, received=received)


def test_verify_signature_accepts_upper_case_hex_and_blanks():
    received = f"  {VECTOR_SIGNATURE.upper()} "
    assert p.verify_signature(
        KEY, "POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY, received=received
    )


def test_the_enums_are_the_lists_of_protocol_md():
    assert [t.value for t in p.Trigger] == ["button", "app", "duress", "test"]
    assert [e.value for e in p.CallEvent] == ["dialing", "ringing", "answered", "ended"]
    assert [s.value for s in p.AlarmCallState] == ["dialing", "none"]
    assert [c.value for c in p.CancelPin] == ["normal", "duress"]
    assert [s.value for s in p.LocationSource] == ["gps", "network", "fused", "cell"]
    assert {"gps", "network", "fused", "cell"} == p.LOCATION_SOURCES
    assert [pe.value for pe in p.LocationPermission] == ["always", "while_in_use", "denied"]
    assert [r.value for r in p.SmsReason] == ["N", "G"]


def test_the_limits_of_protocol_md():
    assert p.MAX_BODY_BYTES == 65536
    assert p.MAX_FIXES_PER_REQUEST == 100
    assert p.KEY_BYTES == 32
    assert p.CLOCK_SKEW_WINDOW_S == 300
    assert p.FUTURE_FIX_TOLERANCE_S == 300
    assert p.SMS_MAX_CHARS == 160
    assert p.DEVICE_ID_RE.fullmatch("dev-7KQ2")
    assert not p.DEVICE_ID_RE.fullmatch("de")
