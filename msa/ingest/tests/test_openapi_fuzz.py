"""A schemathesis run over both OpenAPI documents, in process: no request gets a 500.

Cases are generated from the documents served at /api/device/v1/openapi.json and
/api/sms/v1/openapi.json (positive and negative modes), signed as a phone signs them (or
carrying the gateway's token), and sent through Django's test client. Each answer must be a
status the document lists, with the protocol's error body for an error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from django.test import Client
from django.test.utils import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.result import Ok

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.core.actors import Actor
from tests.support.device import signed_post
from tests.support.factories import press

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ERROR_CODES = {
    "validation_error",
    "malformed",
    "unknown_device",
    "device_revoked",
    "invalid_signature",
    "clock_skew",
    "not_found",
    "too_large",
    "rate_limited",
    "unavailable",
    "invalid_token",
}


def _document(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _body(case: Any) -> bytes:
    if case.body is NOT_SET:
        return b""
    if isinstance(case.body, bytes):
        return case.body  # negative mode: not JSON at all
    return json.dumps(case.body, default=str).encode()


def _check(case: Any, response: Any) -> None:
    # not even 503: the database is up, so a 503 would mean bad input reached it
    assert response.status_code < 500, (
        case.as_curl_command(),
        response.content,
    )
    documented = set(case.operation.definition.raw["responses"])
    assert str(response.status_code) in documented, (response.status_code, response.content)
    if response.status_code >= 400:
        assert json.loads(response.content)["error"]["code"] in ERROR_CODES


@pytest.mark.django_db
@override_settings(MSA_DEVICE_RATE_LIMIT=1_000_000)
def test_the_device_api_never_answers_500(demo: None, client: Client) -> None:
    schema = schemathesis.openapi.from_dict(_document(client, "/api/device/v1/openapi.json"))
    alarm_id = str(press(1, at=datetime.now(UTC)).incident.alarm_id)
    checked = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.NEGATIVE)]
        if "{alarm_id}" in operation.path:
            # a real alarm id of this device, so that the endpoint's own code runs too
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters={"alarm_id": alarm_id}
                )
            )
        else:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE))

        @FUZZ
        @given(case=st.one_of(strategies))
        def run(case: Any) -> None:
            path = case.formatted_path
            response = signed_post(client, path, _body(case), now=datetime.now(UTC))
            _check(case, response)

        run()
        checked += 1
    assert checked == 5


@pytest.mark.django_db
def test_the_sms_webhook_never_answers_500(demo: None, client: Client) -> None:
    token = token_create(kind=TokenKind.SMS_GATEWAY, name="fuzz", actor=Actor.system("t")).plain
    schema = schemathesis.openapi.from_dict(_document(client, "/api/sms/v1/openapi.json"))
    result = next(schema.get_all_operations())
    assert isinstance(result, Ok), result
    operation = result.ok()

    @FUZZ
    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )
    )
    def run(case: Any) -> None:
        response = client.post(
            case.formatted_path,
            data=_body(case),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        _check(case, response)

    run()
