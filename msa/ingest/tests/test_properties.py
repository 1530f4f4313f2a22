"""Property tests (hypothesis): malformed input always gets a 4xx with its code, never a 500."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.alarms.models import LocationFix
from msa.core.actors import Actor
from msa_protocol import SmsParseError, parse_fallback_sms
from tests.support.device import signed_post
from tests.support.factories import press

ERROR_CODES = {"validation_error", "malformed", "too_large", "not_found"}
PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Anything JSON can hold, plus the values that break naive code.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2026-03-14T08:15:02Z", "2026-03-14T08:15:02", "", "gps", "NaN"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
numbers = st.one_of(
    st.floats(),  # NaN and infinity included: sent as bare tokens (not JSON)
    st.integers(min_value=-(10**6), max_value=10**6),
    st.just(True),
    st.text(max_size=5),
    st.none(),
)
locations = st.fixed_dictionaries(
    {},
    optional={
        "lat": numbers,
        "lon": numbers,
        "accuracy_m": numbers,
        "fix_at": st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            st.datetimes().map(lambda d: d.isoformat()),  # naive
            json_scalars,
        ),
        "source": st.one_of(st.sampled_from(["gps", "network", "fused", "cell"]), json_scalars),
        "speed_mps": numbers,
        "heading_deg": numbers,
        "altitude_m": numbers,
        "extra": json_values,
    },
)


def _dumps(value: Any) -> bytes:
    # allow_nan: a phone may send NaN/Infinity tokens; the centre must refuse them cleanly
    return json.dumps(value, allow_nan=True).encode()


@pytest.mark.django_db
@override_settings(MSA_DEVICE_RATE_LIMIT=1_000_000)
def test_any_positions_body_is_answered_2xx_or_a_coded_4xx(demo: None, client: Client) -> None:
    now = datetime.now(UTC)
    incident = press(1, at=now).incident
    path = f"/api/device/v1/alarms/{incident.alarm_id}/locations"

    @PROPERTY_SETTINGS
    @given(fixes=st.lists(locations, min_size=0, max_size=3) | json_values)
    def check(fixes: Any) -> None:
        before = LocationFix.objects.count()
        response = signed_post(client, path, _dumps({"fixes": fixes}), now=datetime.now(UTC))
        assert response.status_code in {200, 400, 413}, response.content
        if response.status_code == 200:
            return
        assert json.loads(response.content)["error"]["code"] in ERROR_CODES
        assert LocationFix.objects.count() == before  # nothing stored from a refused request

    check()


def _valid(fix: dict[str, Any]) -> bool:
    def finite(name: str, low: float = -math.inf, high: float = math.inf) -> bool:
        value = fix.get(name)
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and low <= value <= high
        )

    return finite("lat", -90, 90) and finite("lon", -180, 180) and finite("accuracy_m", 0, 100_000)


@pytest.mark.django_db
@override_settings(MSA_DEVICE_RATE_LIMIT=1_000_000)
def test_a_position_out_of_range_is_always_refused(demo: None, client: Client) -> None:
    now = datetime.now(UTC)
    incident = press(1, at=now).incident
    path = f"/api/device/v1/alarms/{incident.alarm_id}/locations"

    @PROPERTY_SETTINGS
    @given(
        lat=numbers,
        lon=numbers,
        accuracy=numbers,
    )
    def check(lat: Any, lon: Any, accuracy: Any) -> None:
        fix = {
            "lat": lat,
            "lon": lon,
            "accuracy_m": accuracy,
            "fix_at": datetime.now(UTC).isoformat(),
            "source": "gps",
        }
        response = signed_post(client, path, _dumps({"fixes": [fix]}), now=datetime.now(UTC))
        if _valid(fix):
            assert response.status_code == 200, response.content
        else:
            assert response.status_code == 400, response.content
            assert json.loads(response.content)["error"]["code"] == "validation_error"

    check()


@given(st.text(max_size=200) | st.builds(lambda s: "MSA1 " + s, st.text(max_size=160)))
@settings(max_examples=400, deadline=None)
def test_the_sms_parser_accepts_or_names_the_problem(text: str) -> None:
    reason = ""
    try:
        parsed = parse_fallback_sms(text)
    except SmsParseError as exc:  # any other exception fails the test
        reason = exc.reason_code
    else:
        assert parsed.trigger in "BADT"
        return
    assert reason in {
        "not_msa",
        "bad_version",
        "too_long",
        "bad_charset",
        "field_count",
        "bad_device_id",
        "bad_alarm_ref",
        "bad_timestamp",
        "bad_position",
        "bad_trigger",
        "bad_reason",
    }


sms_words = st.sampled_from(
    ["MSA1", "dev-demo-1", "5f0c7c1e", "1773476102", "51.05", "3.71", "12", "-", "BN", "TG", "X"]
)


@pytest.mark.django_db
def test_any_sms_delivery_is_answered_200_and_never_500(demo: None, client: Client) -> None:
    token = token_create(kind=TokenKind.SMS_GATEWAY, name="prop", actor=Actor.system("t")).plain
    counter = iter(range(10**6))

    @PROPERTY_SETTINGS
    @given(
        text=st.one_of(
            st.text(max_size=300),
            st.lists(sms_words, min_size=1, max_size=10).map(" ".join),
        ),
        sender=st.one_of(st.text(min_size=1, max_size=20), st.just("+32470000101")),
    )
    def check(text: str, sender: str) -> None:
        body = {
            "id": f"p-{next(counter)}-{uuid.uuid4()}",
            "from": sender,
            "to": "+32470099112",
            "text": text,
            "received_at": "2026-03-14T08:15:09Z",
        }
        response = client.post(
            "/api/sms/v1/inbound",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        if "\x00" in text + sender:  # PostgreSQL text cannot hold it: refused up front
            assert response.status_code == 400, response.content
            assert response.json()["error"]["code"] == "validation_error"
            return
        assert response.status_code == 200, response.content
        assert response.json()["result"] in {"raised", "merged", "duplicate", "rejected"}

    check()
