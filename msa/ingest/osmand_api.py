"""``/api/osmand/v1/`` (and any path below it): the OsmAnd protocol of Traccar Client and
similar apps, by GET or POST (docs/interop.md section 2).

200 with an empty body when read; 400 when the identifier is missing or not enrolled; 404 for
everything while ``MSA_OSMAND_ENABLED`` is off. The protocol has no signature: the identifier
(160 random bits, ``msa device enroll --protocol osmand`` / ``msa unit osmand-id``) is the
only secret, and every alarm it raises is marked as from an unsigned protocol.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from msa.core.api import ApiError, ErrorOut, MachineApi
from msa.devices.models import Device
from msa.dispatch.models import Unit
from msa.ingest.osmand import OsmandReport, osmand_parse, osmand_receive, osmand_sender

log = logging.getLogger("msa.ingest.osmand")

MAX_BYTES = 64 * 1024


class OsmandIdentifierAuth:
    """The identifier in the request (``id``/``deviceid``, or JSON ``device_id``) names an
    enrolled OsmAnd device or a unit: that is the whole authentication of this protocol."""

    openapi_type = "apiKey"

    def __call__(self, request: HttpRequest) -> tuple[Device | Unit, OsmandReport]:
        if not settings.MSA_OSMAND_ENABLED:
            raise ApiError(404, "not_found", "the OsmAnd protocol is not enabled here")
        if len(request.body) > MAX_BYTES:
            raise ApiError(413, "too_large", "the body is over 64 KiB")
        report = osmand_parse(
            query=request.META.get("QUERY_STRING", ""),
            body=request.body,
            content_type=request.content_type or "",
        )
        if not report.identifier:
            raise ApiError(400, "validation_error", "the device identifier (id) is missing")
        sender = osmand_sender(report.identifier[:200])
        if sender is None:
            raise ApiError(400, "unknown_device", "this identifier is not enrolled")
        return sender, report


class OsmandApi(MachineApi):
    security_schemes: ClassVar[dict[str, Any]] = {
        "identifier": {
            "type": "apiKey",
            "in": "query",
            "name": "id",
            "description": "The identifier issued at enrolment (also deviceid, or JSON device_id).",
        },
    }


api = OsmandApi(
    title="MSA OsmAnd intake",
    version="1",
    description="Traccar Client and similar apps (OsmAnd protocol, unsigned): docs/interop.md.",
    urls_namespace="osmand_v1",
    log=log,
    log_event="osmand_request",
    unavailable_message="cannot store this now: retry",
    database_deadline=True,
    auth=OsmandIdentifierAuth(),
)

RESPONSES: dict[int, Any] = {200: None, 400: ErrorOut, 404: ErrorOut, 413: ErrorOut, 503: ErrorOut}


def _handle(request: HttpRequest) -> HttpResponse:
    sender, report = request.auth  # type: ignore[attr-defined]
    done = osmand_receive(sender=sender, report=report)
    log.info("osmand_request result=%s", done)
    return HttpResponse(b"", status=200, content_type="text/plain")


@api.api_operation(["GET", "POST"], "", response=RESPONSES, summary="A report (query or body)")
def report_root(request: HttpRequest) -> HttpResponse:
    return _handle(request)


@api.api_operation(
    ["GET", "POST"],
    "/{path:rest}",
    response=RESPONSES,
    summary="A report at any path below (clients append their own)",
)
def report_below(request: HttpRequest, rest: str) -> HttpResponse:
    return _handle(request)
