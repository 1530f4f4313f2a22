"""protocol.md's test vectors and the strictness of every primitive of msa_protocol."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import msa_protocol as p

KEY_TEXT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
KEY = bytes(range(32))
VECTOR_BODY = (
    b'{"alarm_id":"5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21","trigger":"button",'
    b'"pressed_at":"2026-03-14T08:15:02Z","location":{"lat":51.054342,"lon":3.717424,'
    b'"accuracy_m":12,"fix_at":"2026-03-14T08:15:00Z","source":"gps"}}'
)
SMS_N = "MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.05434 3.71742 12 BN KH2LBTP7Y4"
SMS_G = "MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS"
ALARM_ID = uuid.UUID("5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21")


# -- keys ------------------------------------------------------------------------------------


def test_key_of_the_test_vector_decodes_to_bytes_0_to_31():
    assert p.decode_key(KEY_TEXT) == KEY
    assert p.encode_key(KEY) == KEY_TEXT


@pytest.mark.parametrize(
    "text",
    [
        KEY_TEXT + "=",  # padding
        KEY_TEXT[:-1],  # 31.x bytes
        KEY_TEXT + "AAAA",  # 35 bytes
        KEY_TEXT.replace("A", "+", 1),  # standard base64 alphabet
        KEY_TEXT[:-1] + "9",  # non-canonical trailing bits
        "",
        " " + KEY_TEXT,
    ],
)
def test_decode_key_rejects_anything_but_32_bytes_of_canonical_base64url(text):
    with pytest.raises(ValueError, match="key"):
        p.decode_key(text)


def test_encode_key_rejects_wrong_length():
    with pytest.raises(ValueError, match="32 bytes"):
        p.encode_key(b"\x00" * 31)


# -- signature -------------------------------------------------------------------------------


def test_signature_test_vector():
    assert p.body_sha256_hex(VECTOR_BODY) == (
        "72d08656087519dad97b5ef27a7b3b31a5ef7db744248a21fb97657215eea615"
    )
    expected = "7e1b621d2d2ac43da1e39db780f3b1247a068e5ad719f3909a5e6839036794d3"
    assert p.signature(KEY, "POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY) == expected
    headers = p.signed_headers(
        "dev-7KQ2", KEY, "POST", "/api/device/v1/alarms", VECTOR_BODY, 1773476103
    )
    assert headers == {
        "X-MSA-Device": "dev-7KQ2",
        "X-MSA-Timestamp": "1773476103",
        "X-MSA-Signature": expected,
    }
    assert p.verify_signature(
        KEY, "POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY, received=expected
    )


@pytest.mark.parametrize(
    ("method", "path", "timestamp", "body"),
    [
        ("PUT", "/api/device/v1/alarms", "1773476103", VECTOR_BODY),
        ("POST", "/api/device/v1/alarms/", "1773476103", VECTOR_BODY),
        ("POST", "/api/device/v1/alarms", "1773476104", VECTOR_BODY),
        ("POST", "/api/device/v1/alarms", "01773476103", VECTOR_BODY),  # not re-formatted
        ("POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY + b" "),
    ],
)
def test_any_change_breaks_the_signature(method, path, timestamp, body):
    good = p.signature(KEY, "POST", "/api/device/v1/alarms", "1773476103", VECTOR_BODY)
    assert not p.verify_signature(KEY, method, path, timestamp, body, received=good)


def test_signature_refuses_newlines_and_bad_keys():
    with pytest.raises(ValueError, match="newline"):
        p.signature(KEY, "POST", "/a\n", "1", b"")
    with pytest.raises(ValueError, match="32 bytes"):
        p.signature(b"short", "POST", "/a", "1", b"")
    with pytest.raises(ValueError, match="device id"):
        p.signed_headers("ab", KEY, "POST", "/a", b"", 1)


def test_device_id_pattern():
    for good in ("abc", "dev-7KQ2", "A" * 32):
        assert p.DEVICE_ID_RE.fullmatch(good)
    for bad in ("ab", "A" * 33, "dev_1", "dév-1", "dev 1", ""):
        assert not p.DEVICE_ID_RE.fullmatch(bad)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("1773476103", 1773476103)])
def test_timestamp_header(text, value):
    assert p.parse_timestamp_header(text) == value


@pytest.mark.parametrize("text", ["", "-1", "+5", "1.5", " 1", "1e9", "1" * 13])
def test_timestamp_header_rejects(text):
    with pytest.raises(ValueError, match="unix seconds"):
        p.parse_timestamp_header(text)


# -- times -----------------------------------------------------------------------------------


def test_times_are_rfc3339_utc():
    moment = datetime(2026, 3, 14, 9, 15, 2, tzinfo=timezone(timedelta(hours=1)))
    assert p.format_time(moment) == "2026-03-14T08:15:02Z"
    assert p.parse_time("2026-03-14T09:15:02+01:00") == datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
    assert p.parse_time("2026-03-14T08:15:02.123456789Z").microsecond == 123456
    assert p.format_time(p.parse_time("2026-03-14T08:15:02.25Z")) == "2026-03-14T08:15:02.250000Z"


@pytest.mark.parametrize(
    "text", ["2026-03-14T08:15:02", "2026-03-14", "20260314T081502Z", "2026-03-14T08:15Z", 5]
)
def test_parse_time_rejects_naive_and_non_rfc3339(text):
    with pytest.raises(ValueError, match="RFC 3339"):
        p.parse_time(text)


def test_format_time_rejects_naive():
    with pytest.raises(ValueError, match="naive"):
        p.format_time(datetime(2026, 3, 14))  # noqa: DTZ001


# -- triggers --------------------------------------------------------------------------------


def test_trigger_letters_map_both_ways():
    pairs = {"button": "B", "app": "A", "duress": "D", "test": "T"}
    for name, letter in pairs.items():
        assert p.sms_trigger_letter(name) == letter
        assert p.Trigger(name).sms_letter == letter
        assert p.trigger_from_sms_letter(letter) == name
    with pytest.raises(ValueError, match="trigger"):
        p.sms_trigger_letter("panic")
    with pytest.raises(ValueError, match="letter"):
        p.trigger_from_sms_letter("X")


# -- fallback SMS ----------------------------------------------------------------------------


def test_sms_test_vectors_format_byte_for_byte():
    common: dict[str, Any] = {
        "key": KEY,
        "device_id": "dev-7KQ2",
        "alarm_id": ALARM_ID,
        "pressed_at_unix": 1773476102,
    }
    assert (
        p.format_fallback_sms(
            **common, lat=51.054342, lon=3.717424, accuracy_m=12, trigger="button", reason="N"
        )
        == SMS_N
    )
    assert (
        p.format_fallback_sms(
            **common, lat=None, lon=None, accuracy_m=None, trigger="B", reason="G"
        )
        == SMS_G
    )


def test_sms_test_vectors_parse_and_verify():
    n = p.parse_fallback_sms(SMS_N)
    assert n == p.FallbackSms(
        device_id="dev-7KQ2",
        alarm_ref="5f0c7c1e",
        pressed_at_unix=1773476102,
        lat=51.05434,
        lon=3.71742,
        accuracy_m=12,
        trigger="B",
        reason="N",
        mac="KH2LBTP7Y4",
    )
    assert n.trigger_name == "button"
    assert n.pressed_at == datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
    g = p.parse_fallback_sms(SMS_G)
    assert (g.lat, g.lon, g.accuracy_m, g.reason, g.mac) == (None, None, None, "G", "ISKLDJWNDS")
    assert not g.has_fix
    assert p.verify_sms_mac(KEY, SMS_N)
    assert p.verify_sms_mac(KEY, SMS_G)
    assert p.sms_mac(KEY, SMS_N.rsplit(" ", 1)[0]) == "KH2LBTP7Y4"


def test_sms_mac_rejects_tampering_and_other_keys():
    assert not p.verify_sms_mac(KEY, SMS_N.replace("51.05434", "51.05435"))
    assert not p.verify_sms_mac(bytes(32), SMS_N)
    assert not p.verify_sms_mac(KEY, SMS_N.rsplit(" ", 1)[0])  # no MAC
    assert not p.verify_sms_mac(KEY, SMS_N[:-1] + "5")
    assert not p.verify_sms_mac(KEY, SMS_N.lower())
    assert not p.verify_sms_mac(KEY, "")
    assert p.verify_sms_mac(KEY, SMS_N + "\r\n")  # a modem's line end


@pytest.mark.parametrize(
    ("lat", "lon", "acc", "fields"),
    [
        (51.0, 3.5, 12.2, "51 3.5 13"),  # accuracy rounded up, trailing zeros dropped
        (-33.868820, 151.209296, 0, "-33.86882 151.2093 0"),
        (90, -180, 5, "90 -180 5"),
        (-0.000001, 0.5, 1, "0 0.5 1"),  # no "-0"
        (0.0, 0.0, 5, "- - -"),  # (0, 0) is no fix
    ],
)
def test_sms_position_formatting(lat, lon, acc, fields):
    text = p.format_fallback_sms(
        key=KEY,
        device_id="dev-1",
        alarm_id=str(ALARM_ID),
        pressed_at_unix=1,
        lat=lat,
        lon=lon,
        accuracy_m=acc,
        trigger="duress",
        reason="N",
    )
    assert text.split(" ")[4:7] == fields.split(" ")
    assert len(text) <= 160
    assert p.is_gsm7(text)
    parsed = p.parse_fallback_sms(text)
    assert parsed.trigger == "D"
    assert p.verify_sms_mac(KEY, text)


def test_sms_round_trip_longest_message_fits():
    text = p.format_fallback_sms(
        key=KEY,
        device_id="D" * 32,
        alarm_id=uuid.UUID(int=2**128 - 1),
        pressed_at_unix=99_999_999_999,
        lat=-89.12345,
        lon=-179.12345,
        accuracy_m=999_999,
        trigger="test",
        reason="G",
    )
    assert len(text) <= 160
    parsed = p.parse_fallback_sms(text)
    assert (parsed.device_id, parsed.alarm_ref, parsed.lat, parsed.lon, parsed.accuracy_m) == (
        "D" * 32,
        "ffffffff",
        -89.12345,
        -179.12345,
        999_999,
    )
    assert (parsed.trigger, parsed.reason) == ("T", "G")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"device_id": "x"}, "device id"),
        ({"alarm_id": "not-a-uuid"}, "hexadecimal"),
        ({"pressed_at_unix": -1}, "negative"),
        ({"trigger": "panic"}, "trigger"),
        ({"reason": "X"}, "reason"),
        ({"lat": 51.0, "lon": None}, "together"),
        ({"accuracy_m": None}, "accuracy"),
        ({"accuracy_m": -1}, "accuracy"),
        ({"lat": 91.0}, "lat"),
        ({"lon": float("nan")}, "lon"),
    ],
)
def test_format_fallback_sms_refuses_bad_input(kwargs, error):
    args = {
        "key": KEY,
        "device_id": "dev-1",
        "alarm_id": ALARM_ID,
        "pressed_at_unix": 1,
        "lat": 51.0,
        "lon": 3.0,
        "accuracy_m": 5,
        "trigger": "button",
        "reason": "N",
    } | kwargs
    with pytest.raises(ValueError, match=error):
        p.format_fallback_sms(**args)


def test_format_fallback_sms_refuses_a_float_timestamp():
    with pytest.raises(TypeError):
        p.format_fallback_sms(
            key=KEY,
            device_id="dev-1",
            alarm_id=ALARM_ID,
            pressed_at_unix=1.5,  # type: ignore[arg-type]  # the wrong type is the point
            lat=None,
            lon=None,
            accuracy_m=None,
            trigger="B",
            reason="N",
        )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hello, are you there?", "not_msa"),
        ("", "not_msa"),
        ("msa1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS", "not_msa"),
        ("MSA2 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS", "bad_version"),
        ("MSA1 " + "x" * 160, "too_long"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDé", "bad_charset"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 -\t- - BG ISKLDJWNDS", "bad_charset"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - BG ISKLDJWNDS", "field_count"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS x", "field_count"),
        ("MSA1 dev-7KQ2  5f0c7c1e 1773476102 - - - BG ISKLDJWNDS", "field_count"),
        ("MSA1 d 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS", "bad_device_id"),
        ("MSA1 dev_7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS", "bad_device_id"),
        ("MSA1 dev-7KQ2 5F0C7C1E 1773476102 - - - BG ISKLDJWNDS", "bad_alarm_ref"),
        ("MSA1 dev-7KQ2 5f0c7c1 1773476102 - - - BG ISKLDJWNDS", "bad_alarm_ref"),
        ("MSA1 dev-7KQ2 5f0c7c1e 2026-03-14 - - - BG ISKLDJWNDS", "bad_timestamp"),
        ("MSA1 dev-7KQ2 5f0c7c1e -1773476102 - - - BG ISKLDJWNDS", "bad_timestamp"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.1 - - BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.123456 3.1 5 BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 91 3.1 5 BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.1 181 5 BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.1 3.1 5.5 BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51,1 3,1 5 BG ISKLDJWNDS", "bad_position"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - XG ISKLDJWNDS", "bad_trigger"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - B ISKLDJWNDS", "bad_trigger"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BGN ISKLDJWNDS", "bad_trigger"),
        ("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BX ISKLDJWNDS", "bad_reason"),
    ],
)
def test_parser_errors_carry_precise_codes(text, code):
    with pytest.raises(p.SmsParseError) as info:
        p.parse_fallback_sms(text)
    assert info.value.reason_code == code
    assert code in str(info.value)


def test_parser_keeps_a_missing_or_malformed_mac_for_unverified_alarms():
    no_mac = p.parse_fallback_sms("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG")
    assert no_mac.mac == ""
    garbled = p.parse_fallback_sms("MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG nonsense")
    assert garbled.mac == "nonsense"
    assert not p.verify_sms_mac(KEY, "MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG nonsense")


def test_parser_tolerates_surrounding_whitespace_and_reads_0_0_as_no_fix():
    assert p.parse_fallback_sms("  " + SMS_N + "\r\n").mac == "KH2LBTP7Y4"
    zero = p.parse_fallback_sms("MSA1 dev-7KQ2 5f0c7c1e 1773476102 0 0 5 BN AAAAAAAAAA")
    assert (zero.lat, zero.lon, zero.accuracy_m) == (None, None, None)


# -- enrolment QR ----------------------------------------------------------------------------


def test_enrolment_qr_round_trip():
    text = p.format_enrolment_qr(
        base_url="https://msa.gent.example",
        device_id="dev-7KQ2",
        key=KEY,
        sms_number="+32470123456",
    )
    assert text == f"msa1:https://msa.gent.example|dev-7KQ2|{KEY_TEXT}|+32470123456"
    qr = p.parse_enrolment_qr(text + "\n")
    assert (qr.base_url, qr.device_id, qr.key, qr.sms_number) == (
        "https://msa.gent.example",
        "dev-7KQ2",
        KEY,
        "+32470123456",
    )
    assert KEY_TEXT not in repr(qr)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("https://msa.example|dev-1|" + KEY_TEXT + "|+32470123456", "not an MSA enrolment"),
        ("msa1:https://msa.example|dev-1|" + KEY_TEXT, "4 parts"),
        ("msa1:ftp://msa.example|dev-1|" + KEY_TEXT + "|+32470123456", "http"),
        ("msa1:https://msa.example/|dev-1|" + KEY_TEXT + "|+32470123456", "trailing slash"),
        ("msa1:https://msa.example?x=1|dev-1|" + KEY_TEXT + "|+32470123456", "query"),
        ("msa1:https://msa.example|d|" + KEY_TEXT + "|+32470123456", "device id"),
        ("msa1:https://msa.example|dev-1|short|+32470123456", "key"),
        ("msa1:https://msa.example|dev-1|" + KEY_TEXT + "|0470123456", "E.164"),
    ],
)
def test_enrolment_qr_errors(text, error):
    with pytest.raises(ValueError, match=error):
        p.parse_enrolment_qr(text)
