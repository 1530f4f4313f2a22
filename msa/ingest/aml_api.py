"""Where AML reaches the centre (docs/interop.md section 1):

- ``POST /api/aml/v1/sms``: the SMS gateway hands over an AML SMS (text, or a data SMS as
  ``data_hex`` / ``data_base64``) with its bearer token; answered like the fallback SMS: 200
  with ``result`` for a well-formed delivery, 400 for a malformed body, 401 for a wrong token.
- ``POST /api/aml/v1/https``: the form-encoded HTTPS shape, authenticated by its ``hmac`` field
  (HMAC-SHA1 with a key of ``MSA_AML_HTTPS_KEYS``) or a gateway's bearer token; always 200 once
  authenticated, as senders expect.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from msa.accounts.models import TokenKind
from msa.accounts.tokens import bearer, token_authenticate
from msa.core.actors import Actor
from msa.core.api import ApiError, CleanText, ErrorOut, MachineApi, Time
from msa.ingest.aml import AmlMessage, aml_receive, body_digest
from msa.ingest.aml_parse import decode_data_sms, parse_aml_form, parse_aml_text
from msa.ingest.sms import GatewayTokenAuth

log = logging.getLogger("msa.ingest.aml")

MAX_FORM_BYTES = 16 * 1024


class AmlSmsIn(Schema):
    id: Annotated[CleanText, Field(min_length=1, max_length=200)]
    from_: Annotated[CleanText, Field(min_length=1, max_length=64)] = Field(..., alias="from")
    to: Annotated[CleanText, Field(max_length=32)] = ""
    received_at: Time
    text: Annotated[CleanText, Field(max_length=2000)] | None = None
    data_hex: Annotated[str, Field(max_length=4000, pattern=r"^[0-9A-Fa-f\s]*$")] | None = None
    data_base64: Annotated[str, Field(max_length=3000, pattern=r"^[A-Za-z0-9+/=\s]*$")] | None = (
        None
    )


Result = Literal["attached", "raised", "duplicate", "ignored", "rejected"]


class AmlOut(Schema):
    result: Result
    incident: str | None = Field(..., description="The incident's reference, or null.")
    warnings: list[str] = Field(..., description="What was off but read (ml_mismatch, ...).")


class HttpsOut(Schema):
    result: Result


class AmlApi(MachineApi):
    security_schemes: ClassVar[dict[str, Any]] = {
        "gateway": {
            "type": "http",
            "scheme": "bearer",
            "description": "The SMS gateway's token (msa token create --sms-gateway NAME).",
        },
    }


api = AmlApi(
    title="MSA AML intake",
    version="1",
    description="Advanced Mobile Location (ETSI TS 103 625) of enrolled victims: docs/interop.md.",
    urls_namespace="aml_v1",
    log=log,
    log_event="aml_webhook",
    unavailable_message="cannot store this now: retry",
    database_deadline=True,
)


def _https_keys() -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for item in settings.MSA_AML_HTTPS_KEYS.split(","):
        name, sep, key = item.strip().partition("=")
        if sep and name and key:
            keys.append((name, key.encode()))
    return keys


class HttpsAuth:
    """The ``hmac`` field (lower-case hex HMAC-SHA1 of everything before ``&hmac=``) with one
    of the configured keys, or a gateway's bearer token; anything else 401."""

    openapi_type = "apiKey"

    def __call__(self, request: HttpRequest) -> str:
        body = request.body
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, "too_large", "the body is over 16 KiB")
        token = bearer(request)
        if token:
            gateway = token_authenticate(TokenKind.SMS_GATEWAY, token)
            if gateway is None:
                raise ApiError(401, "invalid_token", "the bearer token is not valid")
            return gateway.name
        head, sep, mac = body.partition(b"&hmac=")
        if sep:
            received = mac.split(b"&", 1)[0].strip().lower()
            for name, key in _https_keys():
                expected = hmac.new(key, head, hashlib.sha1).hexdigest().encode()
                if hmac.compare_digest(expected, received):
                    return name
        raise ApiError(401, "invalid_signature", "the hmac does not match a configured sender")


@api.post(
    "/sms",
    auth=GatewayTokenAuth(),
    response={200: AmlOut, 400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 503: ErrorOut},
    summary="An AML SMS from the gateway (text or data SMS)",
    description="Always 200 for a well-formed delivery: attached (to her open incident), "
    "raised (a new incident marked AML), duplicate, ignored (not an enrolled number: nothing "
    "stored) or rejected (unreadable; kept in the rejected-message log with its reason).",
)
def post_sms(request: HttpRequest, payload: AmlSmsIn) -> dict[str, Any]:
    gateway: str = request.auth  # type: ignore[attr-defined]
    given = [v for v in (payload.text, payload.data_hex, payload.data_base64) if v is not None]
    if len(given) != 1:
        raise ApiError(
            400,
            "validation_error",
            "the request has invalid fields",
            fields={"text": "exactly one of text, data_hex, data_base64"},
        )
    if payload.text is not None:
        shown = payload.text

        def parse() -> Any:
            return parse_aml_text(payload.text or "")
    else:
        shown = payload.data_hex if payload.data_hex is not None else f"b64:{payload.data_base64}"

        def parse() -> Any:
            return parse_aml_text(
                decode_data_sms(data_hex=payload.data_hex, data_base64=payload.data_base64)
            )

    outcome = aml_receive(
        message=AmlMessage(
            source=gateway,
            message_id=payload.id,
            sender=payload.from_,
            text=shown or "",
            received_at=payload.received_at,
        ),
        parse=parse,
        actor=Actor.gateway(gateway),
    )
    return {
        "result": str(outcome.result),
        "incident": outcome.incident.reference if outcome.incident else None,
        "warnings": outcome.warnings,
    }


@api.post(
    "/https",
    auth=HttpsAuth(),
    response={200: HttpsOut, 401: ErrorOut, 413: ErrorOut, 503: ErrorOut},
    summary="AML over HTTPS (form-encoded)",
    description="Always 200 once authenticated, even for a message that is discarded.",
)
def post_https(request: HttpRequest) -> dict[str, Any]:
    sender: str = request.auth  # type: ignore[attr-defined]
    text = request.body.decode("utf-8", errors="replace")
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))
    except ValueError:
        fields = {}
    fields.pop("hmac", None)
    outcome = aml_receive(
        message=AmlMessage(
            source=f"https:{sender}"[:100],
            message_id=body_digest(request.body),
            sender=fields.get("device_number", ""),
            text=text,
        ),
        parse=lambda: parse_aml_form(fields),
        actor=Actor.gateway(f"aml-https:{sender}"),
    )
    return {"result": str(outcome.result)}
