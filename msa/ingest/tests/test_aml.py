"""AML (docs/interop.md section 1): the GSM 7-bit unpacking, every shape, the rules of
intake, and the end to end where the console shows her AML position apart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msa.accounts.models import TokenKind, User
from msa.accounts.tokens import token_create
from msa.alarms.models import AmlPosition, Incident, LocationFix
from msa.alarms.states import Channel
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.ingest.aml_parse import (
    AmlParseError,
    decode_data_sms,
    gsm7_unpack,
    parse_aml_form,
    parse_aml_text,
)
from msa.ingest.models import InboundAml, InboundSms
from msa.ingest.tests.gsm7 import gsm7_pack
from tests.support.factories import press

SMS = "/api/aml/v1/sms"
HTTPS = "/api/aml/v1/https"
NOW = datetime(2026, 3, 14, 8, 15, 10, tzinfo=UTC)
VICTIM_PHONE = "+32470000101"  # demo victim 1 (Elise), enrolled on an active case
STRANGER = "+32470999999"
HTTPS_KEY = "aml-test-key"
# ETSI TS 103 625's example message (its ml says 124; the text is 129 characters long)
PUBLISHED_V1 = (
    'A"ML=1;lt=+55.74317;lg=-004.26881;rd=50;top=20130717141935;lc=90;pm=W;'
    "si=234302543446355;ei=356938035643809;mcc=234;mnc=30;ml=124"
)
NO_POSITION_V1 = (
    'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20260314081500;lc=0;pm=N;'
    "si=206010000000000;ei=356938035643809;mcc=206;mnc=01;ml=119"
)


def v1(lat: float = 51.05434, lon: float = 3.71742) -> str:
    body = (
        f'A"ML=1;lt={lat:+.5f};lg={lon:+.5f};rd=15;top=20260314081505;lc=68;pm=G;'
        "si=206010000000000;ei=356938035643809;mcc=206;mnc=01;ml="
    )
    probe = body + "000"
    return body + str(len(probe))


V2 = (
    'A"ML=2;en=112;et=1773476100;lo=51.05500,3.71800,20;lt=-2;lc=68;lz=12,5;ls=F;ei=35693;'
    "nc=20610;hc=20610;lg=nl-BE"
)


# --- GSM 7-bit ----------------------------------------------------------------------------


def test_gsm7_unpacks_the_published_vectors() -> None:
    # 3GPP TS 23.038 packing, the examples every PDU tutorial gives
    assert gsm7_unpack(bytes.fromhex("E8329BFD4697D9EC37")) == "hellohello"
    assert gsm7_unpack(bytes.fromhex("C8F71D14969741F977FD07")) == "How are you?"
    assert gsm7_pack("hellohello").hex().upper() == "E8329BFD4697D9EC37"


# Without the septet count (a gateway hands over octets only), a text ending in '@' (septet 0)
# on an octet boundary reads like the padding of one character less; AML never ends in '@'.
GSM7_TEXT = st.text(alphabet=st.sampled_from(list('ABCxyz0189;=+-."@{}[]~€\\|^_ ')), max_size=200)


@given(GSM7_TEXT.filter(lambda t: not t.endswith("@")))
def test_gsm7_round_trips_what_we_pack(text: str) -> None:
    assert gsm7_unpack(gsm7_pack(text)) == text


def test_a_data_sms_in_hex_and_base64_reads_as_its_text() -> None:
    packed = gsm7_pack(PUBLISHED_V1)
    for given_ in (
        {"data_hex": packed.hex()},
        {"data_base64": base64.b64encode(packed).decode()},
    ):
        assert decode_data_sms(**given_) == PUBLISHED_V1
    with pytest.raises(AmlParseError, match="bad_encoding"):
        decode_data_sms(data_hex="zz")


# --- parsing ------------------------------------------------------------------------------


def test_version_1_reads_every_field_and_a_wrong_ml_is_a_warning() -> None:
    report = parse_aml_text(PUBLISHED_V1)
    assert report.position is not None
    assert (report.position.lat, report.position.lon) == (55.74317, -4.26881)
    assert report.position.radius_m == 50
    assert report.position.method == "wifi"
    assert report.position.confidence_pct == 90
    assert report.position.fix_at == datetime(2013, 7, 17, 14, 19, 35, tzinfo=UTC)
    assert report.warnings == ["ml_mismatch"]
    assert parse_aml_text(v1()).warnings == []


def test_no_position_is_never_zero_zero() -> None:
    assert parse_aml_text(NO_POSITION_V1).position is None
    no_lo = parse_aml_text('A"ML=2;en=112;et=1773476100;lt=-9999;lo=0,0,0')
    assert no_lo.position is None
    assert parse_aml_form({"location_latitude": "0", "location_longitude": "0"}).position is None


def test_version_2_position_time_is_relative_to_the_call() -> None:
    report = parse_aml_text(V2)
    assert report.position is not None
    assert report.position.fix_at == datetime.fromtimestamp(1773476098, tz=UTC)
    assert report.position.radius_m == 20
    assert report.position.method == "fused"
    assert report.emergency_number == "112"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "not_aml"),
        ('A"ML=3;lt=1', "unknown_version"),
        ('A"ML=1;lt=+95.0;lg=3.7;rd=10', "bad_position"),
        ('A"ML=1;lt=abc;lg=3.7;rd=10', "bad_position"),
        ('A"ML=1;garbage', "not_key_value"),
        ('A"ML=2;lo=51.0', "bad_position"),
    ],
)
def test_unreadable_messages_raise_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AmlParseError) as caught:
        parse_aml_text(text)
    assert caught.value.reason == reason


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_is_rejected_with_a_reason(text: str) -> None:
    for candidate in (text, 'A"ML=1;' + text, 'A"ML=2;' + text):
        try:
            report = parse_aml_text(candidate)
        except AmlParseError as exc:
            reason = exc.reason
            assert reason
        else:
            if report.position is not None:
                assert (report.position.lat, report.position.lon) != (0, 0)
                assert -90 <= report.position.lat <= 90


# --- the endpoints ------------------------------------------------------------------------


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    clock.freeze(NOW)
    return clock


@pytest.fixture
def token(demo: None) -> str:
    return token_create(kind=TokenKind.SMS_GATEWAY, name="gw-aml", actor=Actor.system("t")).plain


_ids = iter(range(1, 1_000_000))


def deliver(client: Client, token: str, sender: str = VICTIM_PHONE, **content: Any) -> Any:
    body = {
        "id": f"aml-{next(_ids)}",
        "from": sender,
        "to": "112",
        "received_at": "2026-03-14T08:15:09Z",
        **content,
    }
    return client.post(
        SMS,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.django_db
def test_a_number_that_is_not_enrolled_is_ignored_and_nothing_is_stored(
    token: str, client: Client, frozen: Clock
) -> None:
    response = deliver(client, token, sender=STRANGER, text=v1())
    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert not InboundAml.objects.exists()
    assert not InboundSms.objects.exists()
    assert not AmlPosition.objects.exists()


@pytest.mark.django_db
def test_wrong_token_is_401_and_malformed_body_is_400(token: str, client: Client) -> None:
    response = client.post(SMS, data="{}", content_type="application/json")
    assert response.status_code == 401
    missing = {"id": "1", "from": VICTIM_PHONE, "received_at": "2026-03-14T08:15:09Z"}
    bad = client.post(
        SMS,
        data=json.dumps(missing),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_without_an_open_incident_an_aml_incident_is_raised_and_kept_apart(
    token: str, client: Client, frozen: Clock
) -> None:
    response = deliver(client, token, text=v1())
    assert response.status_code == 200
    out = response.json()
    assert out["result"] == "raised"
    incident = Incident.objects.get(reference=out["incident"])
    assert incident.channels == [Channel.AML]
    assert not LocationFix.objects.filter(incident=incident).exists()
    aml = AmlPosition.objects.get(incident=incident)
    assert (aml.lat, aml.lon, aml.radius_m, aml.method) == (51.05434, 3.71742, 15, "gnss")
    # the same message again changes nothing
    again = client.post(
        SMS,
        data=json.dumps(
            {
                "id": "aml-dup",
                "from": VICTIM_PHONE,
                "to": "112",
                "received_at": "2026-03-14T08:15:09Z",
                "text": v1(),
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.json()["result"] == "attached"
    repeat = client.post(
        SMS,
        data=json.dumps(
            {
                "id": "aml-dup",
                "from": VICTIM_PHONE,
                "to": "112",
                "received_at": "2026-03-14T08:15:09Z",
                "text": v1(),
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert repeat.json()["result"] == "duplicate"
    assert AmlPosition.objects.filter(incident=incident).count() == 2


@pytest.mark.django_db
def test_a_data_sms_and_a_wrong_ml_attach_with_a_warning(
    token: str, client: Client, frozen: Clock
) -> None:
    raised = press(at=NOW)
    packed = gsm7_pack(PUBLISHED_V1)
    response = deliver(client, token, data_base64=base64.b64encode(packed).decode())
    out = response.json()
    assert (out["result"], out["incident"]) == ("attached", raised.incident.reference)
    assert out["warnings"] == ["ml_mismatch"]
    assert InboundAml.objects.get().warnings == ["ml_mismatch"]
    hexed = deliver(client, token, data_hex=gsm7_pack(V2).hex())
    assert hexed.json()["result"] == "attached"
    assert AmlPosition.objects.filter(incident=raised.incident).count() == 2


@pytest.mark.django_db
def test_no_position_still_marks_the_incident_and_stores_no_position(
    token: str, client: Client, frozen: Clock
) -> None:
    raised = press(at=NOW)
    out = deliver(client, token, text=NO_POSITION_V1).json()
    assert out["result"] == "attached"
    incident = Incident.objects.get(pk=raised.incident.pk)
    assert Channel.AML in incident.channels
    assert not AmlPosition.objects.exists()


@pytest.mark.django_db
def test_an_unreadable_message_is_rejected_into_the_rejected_message_log(
    token: str, client: Client, frozen: Clock
) -> None:
    out = deliver(client, token, text='A"ML=1;lt=+95.0;lg=3.7;rd=10').json()
    assert out == {"result": "rejected", "incident": None, "warnings": []}
    row = InboundSms.objects.get()
    assert (row.result, row.reason) == ("rejected", "aml_bad_position")
    assert deliver(client, token, data_hex="0").json()["result"] == "rejected"


def _signed_form(fields: dict[str, str], key: str = HTTPS_KEY) -> str:
    body = urlencode(fields)
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha1).hexdigest()
    return f"{body}&hmac={mac}"


HTTPS_FIELDS = {
    "v": "3",
    "emergency_number": "112",
    "source": "Android",
    "time": "1773476100000",
    "location_latitude": "51.0561",
    "location_longitude": "3.7190",
    "location_time": "1773476104000",
    "location_source": "GPS",
    "location_accuracy": "9.5",
    "location_confidence": "68",
    "device_number": VICTIM_PHONE,
    "device_model": "Pixel",
}


@pytest.mark.django_db
def test_https_form_with_hmac_attaches_and_is_always_2xx(
    demo: None, client: Client, frozen: Clock, settings: Any
) -> None:
    settings.MSA_AML_HTTPS_KEYS = f"els={HTTPS_KEY}"
    raised = press(at=NOW)
    ok = client.post(
        HTTPS, data=_signed_form(HTTPS_FIELDS), content_type="application/x-www-form-urlencoded"
    )
    assert (ok.status_code, ok.json()) == (200, {"result": "attached"})
    aml = AmlPosition.objects.get(incident=raised.incident)
    assert (aml.lat, aml.radius_m, aml.method, aml.shape) == (51.0561, 9.5, "gnss", "https")
    assert aml.fix_at == datetime.fromtimestamp(1773476104, tz=UTC)
    stranger = client.post(
        HTTPS,
        data=_signed_form({**HTTPS_FIELDS, "device_number": STRANGER}),
        content_type="application/x-www-form-urlencoded",
    )
    assert (stranger.status_code, stranger.json()) == (200, {"result": "ignored"})
    forged = client.post(
        HTTPS,
        data=_signed_form(HTTPS_FIELDS, "wrong"),
        content_type="application/x-www-form-urlencoded",
    )
    assert forged.status_code == 401


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    content=st.one_of(
        st.fixed_dictionaries({"text": st.text(max_size=200).map(lambda t: 'A"ML=1;' + t)}),
        st.fixed_dictionaries({"text": st.text(max_size=200)}),
        st.fixed_dictionaries({"data_hex": st.binary(max_size=120).map(bytes.hex)}),
        st.fixed_dictionaries(
            {"data_base64": st.binary(max_size=120).map(lambda b: base64.b64encode(b).decode())}
        ),
        st.fixed_dictionaries({"text": st.builds(v1, st.floats(-90, 90), st.floats(-180, 180))}),
    ),
    sender=st.sampled_from([VICTIM_PHONE, STRANGER, "not a number"]),
)
@pytest.mark.django_db
def test_any_sms_gets_a_defined_answer(
    token: str, client: Client, frozen: Clock, content: dict[str, str], sender: str
) -> None:
    response = deliver(client, token, sender=sender, **content)
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert response.json()["result"] in {
            "attached",
            "raised",
            "duplicate",
            "ignored",
            "rejected",
        }


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(st.sampled_from(sorted(HTTPS_FIELDS)), st.text(max_size=30), max_size=12)
)
@pytest.mark.django_db
def test_any_https_form_gets_a_defined_answer(
    demo: None, client: Client, frozen: Clock, settings: Any, body: dict[str, str]
) -> None:
    settings.MSA_AML_HTTPS_KEYS = f"els={HTTPS_KEY}"
    response = client.post(
        HTTPS,
        data=_signed_form({**body, "device_number": VICTIM_PHONE}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.json()["result"] in {"attached", "raised", "duplicate", "rejected"}


# --- end to end: the console shows both positions apart ------------------------------------------


@pytest.mark.django_db
def test_the_console_shows_the_device_and_the_aml_position_apart(
    token: str, client: Client, frozen: Clock
) -> None:
    raised = press(at=NOW, lat=51.05, lon=3.72)
    out = deliver(client, token, text=v1(51.06123, 3.73456)).json()
    assert out["result"] == "attached"
    operator = User.objects.get(username="operator")
    client.force_login(operator)
    page = client.get(f"/console/incidents/{raised.incident.reference}/live/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="aml-positions"' in html
    assert 'data-lat="51.06123"' in html
    assert "GNSS" in html or "gnss" in html
    assert "15" in html  # the radius
    # the device's fix is still the incident's position; the AML one is not among its fixes
    assert list(raised.incident.fixes.values_list("lat", flat=True)) == [51.05]


@pytest.mark.django_db
def test_https_with_a_gateway_bearer_token_and_no_position(
    token: str, client: Client, frozen: Clock
) -> None:
    fields = {"device_number": VICTIM_PHONE, "emergency_number": "112", "time": "1773476100000"}
    response = client.post(
        HTTPS,
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.json()) == (200, {"result": "raised"})
    incident = Incident.objects.get(channels=[Channel.AML])
    assert incident.pressed_at == datetime.fromtimestamp(1773476100, tz=UTC)
    assert not AmlPosition.objects.exists()
    unsigned = client.post(
        HTTPS, data=urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    assert unsigned.status_code == 401
