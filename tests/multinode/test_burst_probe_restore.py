"""One centre on two nodes behind nginx, on PostgreSQL (issue 12, "Proven on several nodes"):

- the path probe's round over real HTTP, through nginx and a node, to the probe's
  acknowledgement, and ``/readyz`` saying so;
- a burst of 1,000 alarms from 1,000 phones with node 1 killed with SIGKILL a third of the way
  in: every alarm answered 2xx is stored exactly once, and every other one, retried by its phone
  until answered (a 502 from nginx, a 503 from the device API), ends in exactly one incident;
- the restore drill: ``pg_dump`` of the running centre, restored into a new database, where
  ``msa audit verify`` passes and the operator's queue shows the same incidents.

The tests run in order on one cluster (the burst kills a node)."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from msa.demo_data import CENTRE_CODE
from msa_protocol import format_time, signed_headers
from tests.support.cluster import Cluster, cluster

pytestmark = [pytest.mark.live, pytest.mark.postgres_only]

PHONES = 1000  # one press each: each ends in an incident of its own
ALARMS = 1000
CLIENTS = 4  # phones at once: the raises of one centre serialise (its event log, its numbering)
KILL_AFTER = 300  # answered alarms before node 1 is killed
BURST_DEADLINE_S = 150.0  # bounded; about 15 s on an idle 2-core machine
PROBE_DEADLINE_S = 30.0
ALARMS_PATH = "/api/device/v1/alarms"

PHONES_SEED = """
import hashlib
from msa.accounts.models import Organisation
from msa.cases.models import ProtectionCase, Suspect, Victim
from msa.core import clock
from msa.devices.models import Device
from msa_protocol import encode_key
zone = Organisation.objects.filter(kind="police_zone", covered_by__code=%(centre)r)
zone = zone.exclude(code__startswith="PRB").order_by("pk")[0]
now = clock.now()
n = %(phones)d
victims = Victim.objects.bulk_create(
    [Victim(first_name="Burst", last_name=str(i)) for i in range(n)])
suspects = Suspect.objects.bulk_create(
    [Suspect(first_name="Burst", last_name=str(i)) for i in range(n)])
cases = ProtectionCase.objects.bulk_create([
    ProtectionCase(reference=f"BURST-{i:04d}", police_zone=zone, relation="other",
                   status="active", victim=victims[i], suspect=suspects[i], created_at=now,
                   activated_at=now)
    for i in range(n)])
Device.objects.bulk_create([
    Device(device_id=f"burst-{i:04d}", case=cases[i], status="active", enrolled_at=now,
           key=encode_key(hashlib.sha256(f"burst-{i}".encode()).digest()))
    for i in range(n)])
"""

QUEUE_REFERENCES = """
import re
from django.test import Client
from msa.accounts.models import Organisation, User
from tests.support.auth import otp_verify_session
client = Client()
operator = User.objects.get(username="operator")
client.force_login(operator)
otp_verify_session(client, operator)
centre = Organisation.objects.get(code=%(centre)r)
page = client.get(f"/console/{centre.pk}/queue/", HTTP_HOST="127.0.0.1")
assert page.status_code == 200, page.status_code
print("REFS", " ".join(sorted(set(re.findall(r'data-reference="([^"]+)"', page.content.decode())))))
"""


def phone_key(i: int) -> bytes:
    return hashlib.sha256(f"burst-{i}".encode()).digest()


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(
        tmp_path_factory.mktemp("burst"),
        workers=1,
        MSA_PROBE_INTERVAL_S="3",
        MSA_PROBE_LATE_S="20",
    ) as group:
        yield group


def test_the_probe_goes_through_nginx_and_a_node_to_its_acknowledgement(centre: Cluster) -> None:
    enrolled = centre.cli("probe", "enrol", "--centre", CENTRE_CODE)
    assert enrolled.returncode == 0, enrolled.stderr
    assert json.loads(enrolled.stdout)["created"] is True
    again = centre.cli("probe", "enrol", "--centre", CENTRE_CODE)
    assert json.loads(again.stdout)["created"] is False
    deadline = time.monotonic() + PROBE_DEADLINE_S
    while not centre.query("SELECT 1 FROM worker_proberound WHERE status = 'ok'"):
        assert time.monotonic() < deadline, centre.query(
            "SELECT status, error FROM worker_proberound"
        )
        time.sleep(0.3)
    ((_reference, lane, status),) = centre.query(
        "SELECT i.reference, i.lane, i.status FROM worker_proberound r"
        " JOIN alarms_incident i ON i.reference = r.incident_reference"
        " WHERE r.status = 'ok' ORDER BY r.sent_at LIMIT 1"
    )
    assert (lane, status) == ("probe", "closed")
    # the round's request came through nginx (MSA_PUBLIC_URL is nginx's address)
    assert centre.upstreams_of("POST", ALARMS_PATH)
    ready = httpx.get(centre.url + "/readyz", timeout=5).json()
    assert ready["probe"]["ok"] is True, ready
    assert ready["probe"]["enrolled"] == 1


class Burst:
    """1,000 presses of 1,000 phones, each retried by its phone until the centre answers 2xx."""

    def __init__(self, centre: Cluster) -> None:
        self.centre = centre
        self.todo: queue.Queue[tuple[int, str]] = queue.Queue()
        for n in range(ALARMS):
            self.todo.put((n % PHONES, str(uuid.uuid4())))
        self.sent = [a for _, a in list(self.todo.queue)]
        self.answered: dict[str, int] = {}
        self.failures: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.killed_at: int | None = None
        self.deadline = time.monotonic() + BURST_DEADLINE_S

    def _post(self, client: httpx.Client, phone: int, alarm_id: str) -> int:
        now = datetime.now(UTC)
        body = json.dumps(
            {
                "alarm_id": alarm_id,
                "trigger": "button",
                "pressed_at": format_time(now),
                "location": None,
                "battery": None,
                "call": {"state": "none"},
            },
            separators=(",", ":"),
        ).encode()
        headers = signed_headers(
            f"burst-{phone:04d}", phone_key(phone), "POST", ALARMS_PATH, body, int(now.timestamp())
        )
        headers["Content-Type"] = "application/json"
        return client.post(ALARMS_PATH, content=body, headers=headers).status_code

    def phone(self) -> None:
        with httpx.Client(base_url=self.centre.url, timeout=10) as client:
            while time.monotonic() < self.deadline:
                try:
                    phone, alarm_id = self.todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    status = self._post(client, phone, alarm_id)
                except httpx.TransportError as exc:
                    status, error = 0, type(exc).__name__
                else:
                    error = str(status)
                if status in {200, 201}:
                    with self.lock:
                        self.answered[alarm_id] = status
                        if self.killed_at is None and len(self.answered) >= KILL_AFTER:
                            self.killed_at = len(self.answered)
                            self.centre.kill_node(1)
                else:
                    with self.lock:
                        self.failures[error] += 1
                    time.sleep(0.2)  # the phone retries the same press
                    self.todo.put((phone, alarm_id))

    def run(self) -> None:
        threads = [threading.Thread(target=self.phone, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, self.deadline - time.monotonic()) + 5)


def test_a_node_killed_during_a_burst_of_1000_alarms_loses_and_duplicates_nothing(
    centre: Cluster,
) -> None:
    seeded = centre.cli(
        "manage", "shell", "-c", PHONES_SEED % {"centre": CENTRE_CODE, "phones": PHONES}
    )
    assert seeded.returncode == 0, seeded.stderr
    burst = Burst(centre)
    started = time.monotonic()
    burst.run()
    took = time.monotonic() - started
    assert burst.killed_at is not None  # node 1 was killed during the burst
    assert burst.killed_at < ALARMS
    assert len(burst.answered) == ALARMS, (len(burst.answered), burst.failures)
    stored = centre.query(
        "SELECT alarm_id::text FROM alarms_incident WHERE alarm_id::text = ANY(%s)"
        " UNION ALL SELECT alarm_id::text FROM alarms_repeatpress WHERE alarm_id::text = ANY(%s)",
        burst.sent,
        burst.sent,
    )
    counts = Counter(a for (a,) in stored)
    assert [a for a in burst.sent if counts[a] != 1] == []  # each press once, none lost
    assert not centre.query(
        "SELECT 1 FROM alarms_repeatpress WHERE alarm_id::text = ANY(%s)", burst.sent
    )  # one phone, one press: each its own incident
    assert set(burst.answered.values()) <= {200, 201}
    incidents = centre.query(
        "SELECT count(*) FROM alarms_incident i JOIN devices_device d ON d.id = i.device_id"
        " WHERE d.device_id LIKE 'burst-%%'"
    )[0][0]
    assert incidents == ALARMS
    print(
        f"burst: {ALARMS} alarms in {took:.1f} s, node killed after {burst.killed_at},"
        f" failed attempts retried {dict(burst.failures)}, incidents {incidents}"
    )


def _queue_read(centre: Cluster, database_url: str) -> subprocess.Popen[str]:
    """The operator's queue fragment rendered on ``database_url``, in a process of its own."""
    script = QUEUE_REFERENCES % {"centre": CENTRE_CODE}
    return centre.cli_start("manage", "shell", "-c", script, database_url=database_url)


def _references(process: subprocess.Popen[str]) -> list[str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    found = re.search(r"^REFS (.*)$", out, flags=re.MULTILINE)
    assert found is not None, out
    return found.group(1).split()


def test_the_restore_drill(centre: Cluster, tmp_path: Path) -> None:
    dump = tmp_path / "centre.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", centre.database_url],
        check=True,
        timeout=120,
    )
    parts = urlsplit(centre.database_url)
    name = f"msa_restore_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    restored = urlunsplit(parts._replace(path="/" + name))
    # the live centre's queue is read beside the restore (nothing after the dump changes it:
    # the probe's incidents are not in the queue)
    live = _queue_read(centre, centre.database_url)
    try:
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        verify = centre.cli_start("audit", "verify", database_url=restored)
        on_restored = _references(_queue_read(centre, restored))
        out, err = verify.communicate(timeout=120)
        assert verify.returncode == 0, out + err
        assert len(on_restored) >= 10  # the burst's incidents are in the queue
        assert on_restored == _references(live)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
