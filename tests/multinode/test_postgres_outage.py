"""PostgreSQL away and back (issue 12, "Proven on several nodes"): on a PostgreSQL of the test's
own (initdb in a temporary folder, another port; the shared one is never stopped), the device
API answers 503 ``unavailable`` within 1 s, the reference client (msa_client) falls back to SMS
at once, the gateway's delivery of that SMS is refused while the database is away (so that the
gateway keeps it), and when the database returns the gateway's redelivery raises the alarm."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import connection

from msa.demo_data import demo_device_id, demo_device_key
from msa_client.client import DeviceClient
from msa_client.models import MsaClientError
from msa_client.testing import FakeClock, RecordingSmsTransport
from msa_protocol import format_time, signed_headers
from tests.support.cluster import SEED, Cluster, postgres_server

pytestmark = [pytest.mark.live, pytest.mark.postgres_only]

ALARMS_PATH = "/api/device/v1/alarms"
SMS_NUMBER = "+32470099112"  # MSA_SMS_NUMBER's default
BACK_DEADLINE_S = 20.0
TOKEN = """
from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.core.actors import Actor
print("TOKEN", token_create(kind=TokenKind.SMS_GATEWAY, name="gw", actor=Actor.system("t")).plain)
"""


def _signed_alarm(node: str) -> tuple[int, float, dict[str, object]]:
    now = datetime.now(UTC)
    body = json.dumps(
        {"alarm_id": "5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21", "trigger": "button"}
        | {"pressed_at": format_time(now), "location": None},
        separators=(",", ":"),
    ).encode()
    headers = signed_headers(
        demo_device_id(1), demo_device_key(1), "POST", ALARMS_PATH, body, int(now.timestamp())
    )
    started = time.monotonic()
    answer = httpx.post(
        node + ALARMS_PATH,
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    return answer.status_code, time.monotonic() - started, answer.json()


def _copy_test_database(target_url: str, folder: Path) -> None:
    """The suite's migrated test database into ``target_url`` (a migration run from scratch
    takes longer than the whole test); the demo region is seeded again after it, if missing."""
    settings = connection.settings_dict
    source = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    dump = folder / "test.dump"
    for args in (
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source],
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target_url}", str(dump)],
    ):
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr


# the keys the suite's database was written with (msa/settings_test.py)
SUITE_KEYS = ("MSA_SECRET_KEY", "MSA_ENCRYPTION_KEYS", "MSA_LOOKUP_KEY", "MSA_AUDIT_KEY")


def test_a_database_outage_answers_503_at_once_and_the_sms_raises_the_alarm_after(
    tmp_path: Path,
    demo: None,  # the suite's test database, copied as it is (asking for the demo region
    # keeps this test's transaction from removing it, which would block pg_dump)
) -> None:
    with postgres_server() as pg:
        _copy_test_database(pg.url, tmp_path)
        centre = Cluster(tmp_path, pg.url, nodes=1)
        centre.env.update({k: os.environ[k] for k in SUITE_KEYS})
        try:
            centre.start_node(0)
            seeded = centre.cli("manage", "shell", "-c", SEED + TOKEN)
            assert seeded.returncode == 0, seeded.stderr
            found = re.search(r"^TOKEN (\S+)$", seeded.stdout, flags=re.MULTILINE)
            assert found is not None, seeded.stdout
            gateway = {"Authorization": f"Bearer {found.group(1)}"}
            node = f"http://127.0.0.1:{centre.node_ports[0]}"

            pg.stop()
            status, took, answer = _signed_alarm(node)
            assert status == 503, answer
            assert answer["error"]["code"] == "unavailable"  # type: ignore[index]
            assert took < 1.0, took

            clock = FakeClock(datetime.now(UTC))
            phone_sms = RecordingSmsTransport(clock)
            phone = DeviceClient(
                node,
                demo_device_id(2),
                demo_device_key(2),
                clock=clock,
                sleep=clock.sleep,
                sms=phone_sms,
                sms_number=SMS_NUMBER,
                give_up_after_s=20,
            )
            with pytest.raises(MsaClientError):
                phone.raise_alarm("button", None, call_state="none")
            phone.close()
            assert [to for _, to, _ in phone_sms.sent] == [SMS_NUMBER]
            sent_at = phone_sms.sent[0][0]
            assert sent_at is not None
            # at the first 503, not at the 5 s deadline
            assert (sent_at - clock.start).total_seconds() < 1
            text = phone_sms.sent[0][2]
            delivery = {
                "id": "gw-outage-1",
                "from": "+32470000002",
                "to": SMS_NUMBER,
                "text": text,
                "received_at": format_time(datetime.now(UTC)),
            }
            refused = httpx.post(
                node + "/api/sms/v1/inbound", json=delivery, headers=gateway, timeout=10
            )
            assert refused.status_code >= 500  # not read: the gateway keeps it to redeliver

            pg.start()
            deadline = time.monotonic() + BACK_DEADLINE_S
            while True:  # the gateway redelivers until the centre reads it
                again = httpx.post(
                    node + "/api/sms/v1/inbound", json=delivery, headers=gateway, timeout=10
                )
                if again.status_code == 200:
                    break
                assert time.monotonic() < deadline, again.text
                time.sleep(0.5)
            assert again.json()["result"] == "raised"
            reference = again.json()["incident"]
            with psycopg.connect(pg.url) as conn:
                row = conn.execute(
                    "SELECT channels::text, lane FROM alarms_incident WHERE reference = %s",
                    (reference,),
                ).fetchone()
            assert row is not None
            assert "sms" in row[0]
            assert row[1] == "live"
        finally:
            centre.stop()
