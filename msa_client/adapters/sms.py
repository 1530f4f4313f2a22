"""SMS transports: an HTTP gateway, a GSM modem (AT commands), the centre's own inbound
webhook (loopback, for development and end-to-end tests), and a printer."""

from __future__ import annotations

import importlib
import json
import re
import sys
import uuid
from typing import Any, Protocol, TextIO

import httpx

from msa_client.interfaces import Clock, SmsError
from msa_protocol import SMS_INBOUND_PATH, SMS_MAX_CHARS, format_time, is_gsm7

__all__ = [
    "GsmModemTransport",
    "HttpSmsGateway",
    "LoopbackSmsTransport",
    "PrintSmsTransport",
    "SerialPort",
]

_E164_RE = re.compile(r"\+[1-9][0-9]{5,14}")


def _check(to: str, text: str) -> None:
    if not _E164_RE.fullmatch(to):
        raise SmsError("the recipient is an E.164 number ('+' and 6 to 15 digits)")
    if len(text) > SMS_MAX_CHARS or not is_gsm7(text):
        raise SmsError("one SMS holds at most 160 GSM-7 characters")


class HttpSmsGateway:
    """A generic SMS gateway: ``POST url`` with ``{"to": ..., "text": ...}`` and a bearer
    token; any 2xx means the gateway took the message."""

    def __init__(
        self, url: str, token: str | None = None, *, http: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.token = token
        self._http = http if http is not None else httpx.Client(timeout=4.0)

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._http.post(self.url, json={"to": to, "text": text}, headers=headers)
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc
        if not response.is_success:
            raise SmsError(f"SMS gateway answered {response.status_code}")


class LoopbackSmsTransport:
    """Delivers the SMS straight to the centre's inbound webhook, as its gateway would:
    ``POST {base_url}/api/sms/v1/inbound`` with the gateway's bearer token and
    ``{"id", "from", "to", "text", "received_at"}``. For development and end-to-end tests."""

    def __init__(
        self,
        base_url: str,
        token: str,
        from_number: str,
        clock: Clock,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        if not _E164_RE.fullmatch(from_number):
            raise ValueError("from_number is an E.164 number")
        self.url = base_url.rstrip("/") + SMS_INBOUND_PATH
        self.token = token
        self.from_number = from_number
        self.clock = clock
        self._http = http if http is not None else httpx.Client(timeout=4.0)
        self.results: list[dict[str, Any]] = []

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        body = {
            "id": f"loopback-{uuid.uuid4()}",
            "from": self.from_number,
            "to": to,
            "text": text,
            "received_at": format_time(self.clock()),
        }
        try:
            response = self._http.post(
                self.url, json=body, headers={"Authorization": f"Bearer {self.token}"}
            )
        except httpx.HTTPError as exc:
            raise SmsError(f"centre inbound SMS webhook unreachable: {exc}") from exc
        if response.status_code != 200:
            raise SmsError(f"centre inbound SMS webhook answered {response.status_code}")
        try:
            result = response.json()
        except json.JSONDecodeError as exc:
            raise SmsError("centre inbound SMS webhook answered something else than JSON") from exc
        self.results.append(result if isinstance(result, dict) else {"answer": result})


class PrintSmsTransport:
    """Writes the SMS to a stream instead of sending it (no transport configured)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        print(f"SMS (not sent, no transport) to {to}: {text}", file=self.stream)


class SerialPort(Protocol):
    """The part of ``serial.Serial`` (pyserial) the modem transport uses."""

    def write(self, data: bytes, /) -> int | None: ...

    def read_until(self, expected: bytes = ..., size: int | None = ...) -> bytes: ...


_FINAL_ERROR = re.compile(rb"^(ERROR|\+CMS ERROR:.*|\+CME ERROR:.*)$")
CTRL_Z = b"\x1a"


class GsmModemTransport:
    """A GSM modem driven with AT commands in text mode (3GPP TS 27.005):

    ``AT+CMGF=1`` → ``OK``; ``AT+CMGS="<number>"`` → the ``> `` prompt; the text and Ctrl-Z
    → ``+CMGS: <ref>`` and ``OK``. ``ERROR``, ``+CMS ERROR: <n>``, ``+CME ERROR: <n>`` or
    silence (the port's read timeout) raise :class:`SmsError`. The fallback SMS is plain ASCII,
    which reads the same in the modem's default GSM and IRA character sets.
    """

    def __init__(self, port: SerialPort) -> None:
        self.port = port
        self.last_reference: str | None = None

    @classmethod
    def open(
        cls, device: str, baudrate: int = 115200, timeout_s: float = 10.0
    ) -> GsmModemTransport:
        """Open a serial device with pyserial (imported only here)."""
        try:
            serial = importlib.import_module("serial")
        except ImportError as exc:
            raise SmsError("a GSM modem needs the 'pyserial' package") from exc
        port: Any = serial.Serial(device, baudrate=baudrate, timeout=timeout_s)
        return cls(port)

    def _final(self) -> list[bytes]:
        """Read lines up to a final result code; return the lines before ``OK``."""
        lines: list[bytes] = []
        while True:
            raw = self.port.read_until(b"\n")
            if not raw:
                raise SmsError("the modem did not answer")
            line = raw.strip()
            if not line:
                continue
            if line == b"OK":
                return lines
            if _FINAL_ERROR.match(line):
                raise SmsError(f"the modem refused: {line.decode('ascii', 'replace')}")
            lines.append(line)

    def _command(self, command: str) -> list[bytes]:
        self.port.write(command.encode("ascii") + b"\r")
        return self._final()

    def send(self, to: str, text: str) -> None:
        _check(to, text)
        if not text.isascii() or any(ch in text for ch in "\x1a\x1b\r"):
            raise SmsError("the modem transport sends printable ASCII only")
        self._command("AT+CMGF=1")
        self.port.write(f'AT+CMGS="{to}"\r'.encode("ascii"))
        prompt = self.port.read_until(b"> ")
        if not prompt.endswith(b"> "):
            reason = prompt.strip().decode("ascii", "replace") or "no prompt"
            raise SmsError(f"the modem did not accept the recipient: {reason}")
        self.port.write(text.encode("ascii") + CTRL_Z)
        for line in self._final():
            if line.startswith(b"+CMGS:"):
                self.last_reference = line.split(b":", 1)[1].strip().decode("ascii", "replace")
