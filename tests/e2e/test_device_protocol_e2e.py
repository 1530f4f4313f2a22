"""End to end: msa_client against a live ``msa serve --migrate``, on SQLite and PostgreSQL.

The server is a real process on its own database; the phone is the reference client. The
centre's tracking window is shortened to seconds (MSA_TRACKING_AFTER_CALL_S) so that a whole
alarm, window included, plays in a few seconds of real time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from msa_client.client import Backoff, DeviceClient
from msa_client.models import Location, MsaClientError
from msa_client.session import PositionBuffer
from msa_protocol import parse_enrolment_qr
from tests.support.centre import LiveCentre, live_centre

pytestmark = pytest.mark.live
WINDOW_S = 3


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCentre]:
    with live_centre(
        tmp_path_factory.mktemp("centre"),
        MSA_TRACKING_AFTER_CALL_S=str(WINDOW_S),
        MSA_DEVICE_RATE_LIMIT="100000",
        MSA_HEARTBEAT_RATE_LIMIT="100000",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def case_ref(centre: LiveCentre) -> str:
    cases = centre.cli_json("case", "list")
    ref: str = next(c["reference"] for c in cases if c["zone"] == "GNT" and c["status"] == "active")
    return ref


@pytest.fixture(scope="module")
def sms_token(centre: LiveCentre) -> str:
    token: str = centre.cli_json("token", "create", "--sms-gateway", "e2e-gateway")["token"]
    return token


def enrol(centre: LiveCentre, case_ref: str) -> dict[str, Any]:
    enrolled: dict[str, Any] = centre.cli_json("device", "enroll", "--case", case_ref)
    return enrolled


def fixes_of(centre: LiveCentre, reference: str) -> list[str]:
    rows = centre.query(
        "SELECT f.fix_at FROM alarms_locationfix f JOIN alarms_incident i "
        "ON f.incident_id = i.id WHERE i.reference = %s ORDER BY f.fix_at",
        reference,
    )
    return [str(row[0]) for row in rows]


def incident_row(centre: LiveCentre, reference: str) -> dict[str, Any]:
    columns = ("channels", "call_state", "lane", "duress_at", "alarm_id", "status")
    rows = centre.query(
        f"SELECT {', '.join(columns)} FROM alarms_incident WHERE reference = %s",
        reference,
    )
    assert len(rows) == 1
    row = dict(zip(columns, rows[0], strict=True))
    if isinstance(row["channels"], str):
        row["channels"] = json.loads(row["channels"])
    return row


def test_the_server_killed_mid_stream_loses_and_duplicates_nothing(
    centre: LiveCentre, case_ref: str
) -> None:
    qr = parse_enrolment_qr(enrol(centre, case_ref)["qr_text"])
    client = DeviceClient.from_enrolment(
        qr, timeout_s=3.0, backoff=Backoff(initial_s=0.1, max_s=0.5), give_up_after_s=30
    )
    base = datetime.now(UTC) - timedelta(seconds=120)
    answer = client.raise_alarm("button", None, call_state="dialing")  # tracking: the call is on
    buffer = PositionBuffer()
    sent: list[datetime] = []
    failures = 0
    for i in range(45):
        fix = Location(
            lat=51.05 + i * 1e-4, lon=3.72, accuracy_m=5, fix_at=base + timedelta(seconds=i)
        )
        assert buffer.add(fix)
        sent.append(fix.fix_at)
        if i == 15:
            centre.kill()  # in the middle of the stream
        if i == 30:
            centre.start()  # same port, same database
        try:
            buffer.flush(lambda batch: client.send_locations(answer.alarm_id, batch))
        except MsaClientError:
            failures += 1  # offline: the fixes stay in the backlog
    assert failures >= 10
    assert len(buffer) == 0  # the backlog was delivered after the restart
    # and a lost answer makes the client send a batch again: the centre stores it once
    again = client.send_locations(
        answer.alarm_id,
        [Location(lat=51.05, lon=3.72, accuracy_m=5, fix_at=sent[0])],
    )
    assert again.accepted == 1
    stored = fixes_of(centre, answer.incident)
    assert len(stored) == len(sent)  # nothing lost
    assert len(set(stored)) == len(stored)  # nothing duplicated
    client.close()


@pytest.mark.parametrize(
    "name",
    ["walk", "sms-only", "sms-first", "data-first", "ghost-call", "duress", "test-alarm"],
)
def test_the_scenarios_through_the_simulator(
    centre: LiveCentre, case_ref: str, sms_token: str, name: str
) -> None:
    enrolled = enrol(centre, case_ref)
    done = centre.cli(
        "simulate",
        "scenario",
        name,
        "--qr",
        enrolled["qr_text"],
        "--sms-token",
        sms_token,
        "--time-factor",
        "120",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    reference = result["incident"]
    assert reference
    row = incident_row(centre, reference)
    sms_results = [s["result"] for s in result["sms"]]
    if name == "walk":
        assert result["stopped_because"] == "centre_stopped_tracking"
        assert row["call_state"] == "ended"
        stored = fixes_of(centre, reference)
        assert len(stored) == result["fixes_accepted"] + 1  # and the alarm's own fix
        assert result["fixes_sent"] > result["fixes_accepted"]  # the last ones: not stored
    elif name == "sms-only":
        assert sms_results == ["raised"]
        assert row["channels"] == ["sms"]
    elif name == "sms-first":
        assert sms_results == ["raised"]
        assert result["created"] is False  # the data alarm was answered 200
        assert row["channels"] == ["sms", "data"]
        assert str(row["alarm_id"]).replace("-", "") == result["alarm_id"].replace("-", "")
    elif name == "data-first":
        assert result["created"] is True
        assert sms_results == ["merged"]
        assert row["channels"] == ["data", "sms"]
    elif name == "ghost-call":
        assert row["call_state"] == "ghost"
        assert sms_results == ["merged"]
    elif name == "duress":
        assert result["answers"]["cancel"]["status"] == "cancelled"
        assert row["duress_at"] is not None
        assert row["status"] == "received"  # escalated, still on the centre's screen
    elif name == "test-alarm":
        assert row["lane"] == "test"
        assert result["answers"]["last_test_alarm"] is not None


def test_a_revoked_device_is_refused(centre: LiveCentre, case_ref: str) -> None:
    enrolled = enrol(centre, case_ref)
    client = DeviceClient.from_enrolment(parse_enrolment_qr(enrolled["qr_text"]), timeout_s=3.0)
    answer = client.raise_alarm("button", None, alarm_id=uuid.uuid4())
    done = centre.cli("device", "revoke", enrolled["device_id"])
    assert done.returncode == 0, done.stderr
    assert "1 open incident(s) flagged" in done.stdout
    with pytest.raises(MsaClientError, match="device_revoked"):
        client.send_locations(
            answer.alarm_id, [Location(lat=51.0, lon=3.7, accuracy_m=5, fix_at=datetime.now(UTC))]
        )
    client.close()
