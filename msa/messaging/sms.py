"""The generic HTTP SMS gateway: one JSON POST per message, with a bearer token.

The shape of the common gateways (docs/messaging.md)::

    POST <MSA_SMS_GATEWAY_URL>
    Authorization: Bearer <MSA_SMS_GATEWAY_TOKEN>
    Idempotency-Key: msa-<message id>
    Content-Type: application/json

    {"from": "<MSA_SMS_SENDER>", "to": "+32...", "text": "...", "reference": "msa-<id>"}

Any 2xx is accepted; the gateway's own id is read from ``id`` or ``message_id`` of a JSON
answer, if it gives one. Anything else, or no answer within ``MSA_PROVIDER_TIMEOUT_S``, is a
``ProviderError`` and the outbox retries with the same idempotency key. A gateway with
another shape is one new module with a class like this one, named in ``MSA_SMS_PROVIDER``.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Self

import httpx
from django.conf import settings

from msa.messaging.providers import Outgoing, ProviderError, require_safe_url, require_setting


def gateway_reference(response: httpx.Response, fallback: str) -> str:
    """The receiver's id of the message from a JSON answer, else ``fallback``."""
    try:
        answer: Any = response.json()
    except ValueError:
        return fallback
    if isinstance(answer, dict):
        for field in ("id", "message_id", "reference"):
            if isinstance(answer.get(field), str | int):
                return str(answer[field])[:100]
    return fallback


@functools.cache
def http_client() -> httpx.Client:
    """One client per process, shared by the HTTP providers (thread-safe): its connections and
    TLS set-up are reused, where a client per message spent ~50 ms on each."""
    return httpx.Client()


def post_json(url: str, *, body: bytes, headers: dict[str, str], what: str) -> httpx.Response:
    """One POST; a refusal, a time-out or a non-2xx answer is a ``ProviderError``."""
    try:
        response = http_client().post(
            url,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=settings.MSA_PROVIDER_TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise ProviderError(f"{what}: {type(exc).__name__}") from None
    if not response.is_success:
        # the status only: an error page may quote what it was sent
        raise ProviderError(f"{what}: HTTP {response.status_code}")
    return response


class HttpSmsGateway:
    name = "http-sms"

    def __init__(self, *, url: str, token: str, sender: str) -> None:
        self.url = url
        self.token = token
        self.sender = sender

    @classmethod
    def from_settings(cls) -> Self:
        why = "when MSA_SMS_PROVIDER=http"
        url = require_safe_url("MSA_SMS_GATEWAY_URL", require_setting("MSA_SMS_GATEWAY_URL", why))
        return cls(
            url=url,
            token=require_setting("MSA_SMS_GATEWAY_TOKEN", why),
            sender=settings.MSA_SMS_SENDER,
        )

    def send(self, message: Outgoing) -> str:
        payload = {
            "from": self.sender,
            "to": message.recipient,
            "text": message.body,
            "reference": message.key,
        }
        response = post_json(
            self.url,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": message.key},
            what="SMS gateway",
        )
        return gateway_reference(response, message.key)
