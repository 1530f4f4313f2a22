"""The wire format of the MSA device protocol, version 1 (docs/protocol.md).

The executable form of the contract between a phone app and an MSA centre, imported by both:
the centre (``msa``) and the reference client (``msa_client``). Standard library only: no
Django, no I/O, no clock (the caller passes the time in).

What an app vendor implements, in the order a request is made:

1. Enrolment: the centre shows a QR code holding :data:`ENROLMENT_QR_PREFIX` text, parsed by
   :func:`parse_enrolment_qr` into the centre's base URL, the ``device_id``, the 32-byte secret
   key and the centre's SMS number (:mod:`msa_protocol.enrolment`).
2. Every request body is serialised once to bytes; those exact bytes are signed with
   :func:`signature` (or :func:`signed_headers`) and sent unchanged; the centre checks them
   with :func:`verify_signature` (:mod:`msa_protocol.signing`).
3. When the data path fails (no answer within :data:`SMS_FALLBACK_AFTER_S`, a 503, or a call that
   ended before it was answered), the app sends one SMS built by :func:`format_fallback_sms`.
   The centre reads it back with :func:`parse_fallback_sms` and :func:`verify_sms_mac`
   (:mod:`msa_protocol.sms`).

The closed lists of values are in :mod:`msa_protocol.enums`, the limits in
:mod:`msa_protocol.limits`, times in :mod:`msa_protocol.times`.
"""

from __future__ import annotations

from msa_protocol.enrolment import (
    ENROLMENT_QR_PREFIX,
    EnrolmentQr,
    format_enrolment_qr,
    parse_enrolment_qr,
)
from msa_protocol.enums import (
    LOCATION_SOURCES,
    AlarmCallState,
    CallEvent,
    CancelPin,
    LocationPermission,
    LocationSource,
    SmsReason,
    Trigger,
    sms_trigger_letter,
    trigger_from_sms_letter,
)
from msa_protocol.limits import (
    API_BASE_PATH,
    CLOCK_SKEW_WINDOW_S,
    DEFAULT_HEARTBEAT_S,
    DEFAULT_REPORT_INTERVAL_S,
    DEVICE_ID_RE,
    FUTURE_FIX_TOLERANCE_S,
    HEADER_DEVICE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    KEY_BYTES,
    MAX_BODY_BYTES,
    MAX_FIXES_PER_REQUEST,
    SMS_FALLBACK_AFTER_S,
    SMS_INBOUND_PATH,
    SMS_MAC_CHARS,
    SMS_MAX_CHARS,
    SMS_PREFIX,
)
from msa_protocol.signing import (
    body_sha256_hex,
    canonical_string,
    decode_key,
    encode_key,
    signature,
    signed_headers,
    verify_signature,
)
from msa_protocol.sms import (
    FallbackSms,
    SmsParseError,
    format_fallback_sms,
    is_gsm7,
    parse_fallback_sms,
    sms_mac,
    verify_sms_mac,
)
from msa_protocol.times import format_time, parse_time, parse_timestamp_header

__all__ = [
    "API_BASE_PATH",
    "CLOCK_SKEW_WINDOW_S",
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_REPORT_INTERVAL_S",
    "DEVICE_ID_RE",
    "ENROLMENT_QR_PREFIX",
    "FUTURE_FIX_TOLERANCE_S",
    "HEADER_DEVICE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "KEY_BYTES",
    "LOCATION_SOURCES",
    "MAX_BODY_BYTES",
    "MAX_FIXES_PER_REQUEST",
    "SMS_FALLBACK_AFTER_S",
    "SMS_INBOUND_PATH",
    "SMS_MAC_CHARS",
    "SMS_MAX_CHARS",
    "SMS_PREFIX",
    "AlarmCallState",
    "CallEvent",
    "CancelPin",
    "EnrolmentQr",
    "FallbackSms",
    "LocationPermission",
    "LocationSource",
    "SmsParseError",
    "SmsReason",
    "Trigger",
    "body_sha256_hex",
    "canonical_string",
    "decode_key",
    "encode_key",
    "format_enrolment_qr",
    "format_fallback_sms",
    "format_time",
    "is_gsm7",
    "parse_enrolment_qr",
    "parse_fallback_sms",
    "parse_time",
    "parse_timestamp_header",
    "signature",
    "signed_headers",
    "sms_mac",
    "sms_trigger_letter",
    "trigger_from_sms_letter",
    "verify_signature",
    "verify_sms_mac",
]
