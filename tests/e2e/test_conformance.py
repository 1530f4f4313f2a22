"""The conformance kit against a live centre: every rule passes against the real server, and a
centre with one rule broken on purpose (a proxy that drops ``server_time`` from clock_skew
answers) fails that rule, and only that one, with a non-zero exit. Each test has its own device:
the rate-limit rule leaves a device's heartbeats refused until its window ends."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from msa_conformance.kit import Kit
from msa_protocol import decode_key
from tests.support.centre import LiveCentre
from tests.support.live import postgres_database

pytestmark = pytest.mark.live


# One process instead of four CLI calls: two devices of an active case and a gateway token.
ENROL = """
import json
from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.devices.services import device_credentials_issue
actor = Actor.system("conformance-test")
case = ProtectionCase.objects.filter(status="active").order_by("pk").first()
device = device_credentials_issue(case=case, actor=actor)
other = device_credentials_issue(case=case, actor=actor)
token = token_create(kind=TokenKind.SMS_GATEWAY, name="conformance-gw", actor=actor).plain
print(json.dumps({"device_id": device.device.device_id, "key": device.key_text, "token": token,
                  "device_id_2": other.device.device_id, "key_2": other.key_text}))
"""


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCentre]:
    """A migrated centre serving; the demo region is seeded by the fixture below."""
    with postgres_database() as database_url:
        running = LiveCentre(tmp_path_factory.mktemp("conformance"), database_url)
        try:
            running.start()
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def credentials(centre: LiveCentre) -> dict[str, str]:
    done = centre.cli("manage", "shell", "-c", "from msa import demo\ndemo.seed()\n" + ENROL)
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_kit_passes_against_the_centre(centre: LiveCentre, credentials: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "msa.cli", "conformance", centre.url,
         "--device-id", credentials["device_id"], "--key", credentials["key"],
         "--sms-gateway-token", credentials["token"], "--duress-pin"],
        capture_output=True, text=True, timeout=120, check=False, env=centre.env,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(lines) == 29
    assert any(line.startswith("PASS rate_limit.429_with_retry_after") for line in lines)
    assert any(line.startswith("PASS cancel.duress_answer_same_bytes_as_normal") for line in lines)
    assert all(
        line.startswith("PASS ") and " | sent: " in line and " | got: " in line for line in lines
    )


class _BreakClockSkew(http.server.BaseHTTPRequestHandler):
    """Forwards everything to the centre, but drops server_time from clock_skew answers."""

    upstream = ""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
        }
        with httpx.Client(timeout=10) as client:
            answer = client.request(
                self.command, self.upstream + self.path, content=body, headers=headers
            )
        content = answer.content
        if answer.status_code == 401 and b"clock_skew" in content:
            parsed: dict[str, Any] = json.loads(content)
            parsed.pop("server_time", None)
            content = json.dumps(parsed).encode()
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        if "retry-after" in answer.headers:
            self.send_header("Retry-After", answer.headers["retry-after"])
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return


def test_the_kit_fails_the_one_rule_broken_on_purpose(
    centre: LiveCentre, credentials: dict[str, str]
) -> None:
    handler = type("Handler", (_BreakClockSkew,), {"upstream": centre.url})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        kit = Kit(
            f"http://127.0.0.1:{proxy.server_address[1]}",
            device_id=credentials["device_id_2"],
            key=decode_key(credentials["key_2"]),
        )
        results = list(kit.run())
    finally:
        proxy.shutdown()
        proxy.server_close()
    failed = [r for r in results if not r.passed]
    assert [r.rule for r in failed] == ["auth.clock_skew_401_with_server_time"]
    assert "no server_time" in failed[0].line()
    assert failed[0].line().startswith("FAIL ")
