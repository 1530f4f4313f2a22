"""The SMS gateway's webhook, ``POST /api/sms/v1/inbound`` (protocol.md, "Fallback SMS").

The gateway authenticates with its bearer token (an ApiToken of kind ``sms_gateway``, issued
by ``msa token create --sms-gateway NAME``). A well-formed delivery is always answered 200 with
``{"result": raised|merged|duplicate|rejected, "incident": ref|null}``, so that the gateway
never retries a message that was read; 400 for a malformed body, 401 for a wrong token. The
rules themselves live in :mod:`msa.ingest.services`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Literal

from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from msa.accounts.models import TokenKind
from msa.accounts.tokens import bearer, token_authenticate
from msa.core.actors import Actor
from msa.core.api import (
    ApiError,
    CleanText,
    ErrorOut,
    MachineApi,
    PreparsedJson,
    Time,
    read_json_object,
)
from msa.ingest.services import InboundMessage, sms_inbound_receive
from msa_protocol import MAX_BODY_BYTES

log = logging.getLogger("msa.ingest.sms")


class InboundIn(Schema):
    id: Annotated[CleanText, Field(min_length=1, max_length=200)] = Field(
        ..., description="The gateway's message id: a redelivery with the same id is harmless."
    )
    from_: Annotated[CleanText, Field(min_length=1, max_length=64)] = Field(..., alias="from")
    to: Annotated[CleanText, Field(max_length=32)]
    text: Annotated[CleanText, Field(max_length=2000)]
    received_at: Time


class InboundOut(Schema):
    result: Literal["raised", "merged", "duplicate", "rejected"]
    incident: str | None = Field(..., description="The incident's reference, or null.")


class GatewayTokenAuth:
    """The gateway's bearer token first (401), then the body: over 64 KiB 413, not a JSON
    object 400 ``malformed``."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> str:
        token = token_authenticate(TokenKind.SMS_GATEWAY, bearer(request))
        if token is None:
            raise ApiError(401, "invalid_token", "the gateway's bearer token is not valid")
        read_json_object(request, max_bytes=MAX_BODY_BYTES)
        return token.name


class SmsApi(MachineApi):
    security_schemes: ClassVar[dict[str, Any]] = {
        "gateway": {
            "type": "http",
            "scheme": "bearer",
            "description": "The gateway's token (msa token create --sms-gateway NAME).",
        },
    }


api = SmsApi(
    title="MSA SMS gateway webhook",
    version="1",
    description="Where the centre's SMS gateway delivers inbound messages: the fallback SMS "
    "of the device protocol v1 (docs/protocol.md).",
    urls_namespace="sms_v1",
    log=log,
    log_event="sms_webhook",
    unavailable_message="cannot store this now: retry",
    database_deadline=True,
    parser=PreparsedJson(),
    auth=GatewayTokenAuth(),
)


@api.post(
    "/inbound",
    response={200: InboundOut, 400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 503: ErrorOut},
    summary="An inbound SMS",
    description="Always 200 for a well-formed delivery: raised (a new alarm), merged (joined "
    "the alarm of the same press), duplicate (seen before, or a replay for a closed incident) "
    "or rejected (kept in the rejected-SMS log with its reason).",
)
def post_inbound(request: HttpRequest, payload: InboundIn) -> dict[str, Any]:
    gateway: str = request.auth  # type: ignore[attr-defined]
    outcome = sms_inbound_receive(
        message=InboundMessage(
            gateway=gateway,
            message_id=payload.id,
            sender=payload.from_,
            recipient=payload.to,
            text=payload.text,
            received_at=payload.received_at,
        ),
        actor=Actor.gateway(gateway),
    )
    return {
        "result": str(outcome.result),
        "incident": outcome.incident.reference if outcome.incident else None,
    }
