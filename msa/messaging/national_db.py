"""The national police database notice: an HTTPS POST signed with HMAC-SHA256.

::

    POST <MSA_NATIONAL_DB_URL>
    Content-Type: application/json
    Idempotency-Key: msa-<message id>
    X-MSA-Timestamp: <unix seconds>
    X-MSA-Signature: sha256=<hex HMAC-SHA256(MSA_NATIONAL_DB_HMAC_KEY, "<timestamp>.<body>")>

    {"id": "msa-<id>", "recipient": "...", "subject": "...", "text": "..."}

The receiver recomputes the signature over the timestamp and the exact body bytes, refuses
a stale timestamp, and treats a repeated ``Idempotency-Key`` as the same notice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Self

from msa.core import clock
from msa.core.errors import ConfigurationError
from msa.messaging.providers import Outgoing, require_safe_url, require_setting
from msa.messaging.sms import gateway_reference, post_json

MIN_KEY_CHARS = 32


def notice_signature(key: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class SignedNoticeProvider:
    name = "national-db"

    def __init__(self, *, url: str, key: str) -> None:
        self.url = url
        self.key = key

    @classmethod
    def from_settings(cls) -> Self:
        why = "when MSA_NATIONAL_DB_PROVIDER=https"
        url = require_safe_url("MSA_NATIONAL_DB_URL", require_setting("MSA_NATIONAL_DB_URL", why))
        key = require_setting("MSA_NATIONAL_DB_HMAC_KEY", why)
        if len(key) < MIN_KEY_CHARS:
            raise ConfigurationError(
                f"MSA_NATIONAL_DB_HMAC_KEY must be at least {MIN_KEY_CHARS} characters"
            )
        return cls(url=url, key=key)

    def send(self, message: Outgoing) -> str:
        body = json.dumps(
            {
                "id": message.key,
                "recipient": message.recipient,
                "subject": message.subject,
                "text": message.body,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(clock.now().timestamp()))
        response = post_json(
            self.url,
            body=body,
            headers={
                "Idempotency-Key": message.key,
                "X-MSA-Timestamp": timestamp,
                "X-MSA-Signature": notice_signature(self.key, timestamp, body),
            },
            what="national database",
        )
        return gateway_reference(response, message.key)
