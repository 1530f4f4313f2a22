"""MSA's log lines as JSON, one object a line (``MSA_LOG_FORMAT=json``).

Every MSA log message is an event name followed by ``key=value`` pairs
(``alarm_raised channel=sms incident=GNT-… latency_ms=412``): the formatter keeps the whole
message, and lifts the event name and the pairs into fields of their own, so that a log
pipeline can filter on ``event`` and ``channel`` without parsing text. Values are written as
they are (not escaped to ASCII), so that a scan of the log for personal data reads them as
they are; no personal data is logged in the first place (tests/security).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_EVENT = re.compile(r"[a-z][a-z0-9_]*\Z")
_PAIR = re.compile(r"([a-z][a-z0-9_]*)=(\S*)")
# Fields the formatter writes itself: a pair of the same name in a message does not replace them.
_OWN = frozenset({"time", "level", "logger", "event", "message", "exc_info", "stack_info"})


def message_fields(message: str) -> dict[str, str]:
    """``event`` and the ``key=value`` pairs of a message (empty when it is no event line)."""
    head, _, rest = message.partition(" ")
    if not _EVENT.match(head):
        return {}
    pairs = {key: value for key, value in _PAIR.findall(rest) if key not in _OWN}
    return {"event": head, **pairs}


class EventJsonFormatter(JsonFormatter):
    """JSON with ``time``, ``level``, ``logger``, ``event``, the message's pairs, ``message``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        message = log_data.pop("message", record.getMessage())
        log_data.update(message_fields(message))
        log_data["message"] = message

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        """The record's wall-clock time in UTC: 2026-05-04T21:14:03.120Z"""
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"
