"""What the press, throughput and memory benchmarks share: the two servers (the floor and
MSA) on this machine, the seeded MSA database, the signed device requests, a console
socket that records when each event arrived, and the MSA-versus-floor report.

Both servers run under uvicorn as separate processes, each measured with the same lean
load generator (bench/loadgen.py) in the same run: the figures that matter are the ratios.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.device_api import HOST, ROOT, free_port, wait_for_port
from msa_protocol import signed_headers

PRESS_PREFIX = "press-"
TRACK_PREFIX = "track-"


# --- the databases ----------------------------------------------------------------------


def fresh_postgres(url: str, name: str) -> str:
    """A new empty database ``name`` on the server of ``url`` (dropped first if it exists)."""
    import psycopg  # noqa: PLC0415 - only with --postgres

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@dataclass
class Backend:
    """SQLite in a temporary folder, or PostgreSQL (+ Redis) named on the command line."""

    postgres: str = ""
    redis: str = ""
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="msa-bench-")))

    @property
    def label(self) -> str:
        if not self.postgres:
            return "SQLite (WAL)"
        return "PostgreSQL + Redis" if self.redis else "PostgreSQL, the in-process channel layer"

    def floor_db(self) -> str:
        if self.postgres:
            return fresh_postgres(self.postgres, "msa_bench_floor")
        return str(self.work / "floor.sqlite3")

    def msa_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MSA_"))}
        env.update(
            {
                "MSA_DEMO": "1",
                "MSA_DATA_DIR": str(self.work / "msa"),
                "MSA_LOG_LEVEL": "WARNING",
                "MSA_DEVICE_RATE_LIMIT": "1000000",
                "MSA_HEARTBEAT_RATE_LIMIT": "1000000",
                **extra,
            }
        )
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if self.postgres:
            env["DATABASE_URL"] = fresh_postgres(self.postgres, "msa_bench_msa")
        if self.redis:
            env["REDIS_URL"] = self.redis
        return env


# --- processes --------------------------------------------------------------------------


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def floor_server(backend: Backend) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "FLOOR_DB": backend.floor_db()}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "bench.floor_app:app",
    ]
    with process(cmd, env, backend.work / "floor.log") as proc:
        wait_for_port(port)
        yield port, proc


@contextmanager
def msa_server(
    env: dict[str, str], log: Path, *, workers: int = 1, with_worker: bool = False
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [sys.executable, "-m", "msa.cli", "serve", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    if with_worker:
        cmd.append("--with-worker")
    with process(cmd, env, log) as proc:
        wait_for_port(port)
        yield port, proc


# --- seeding ----------------------------------------------------------------------------

_SEED = """
import json, django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msa.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from msa import demo
demo.seed()
from bench.harness import seed_in_process
print(json.dumps(seed_in_process(press={press}, track={track})))
"""


def seed(env: dict[str, str], *, press: int, track: int) -> dict[str, Any]:
    """Migrate, seed the demo, enrol ``press`` + ``track`` bench devices, raise one live
    incident per tracking device; the centre and a signed-in console session."""
    code = _SEED.format(press=press, track=track)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, cwd=ROOT, capture_output=True
    )
    return dict(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def seed_in_process(*, press: int, track: int) -> dict[str, Any]:
    """Runs inside Django (see :func:`seed`)."""
    from importlib import import_module  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: PLC0415
    from django_otp import DEVICE_ID_SESSION_KEY  # noqa: PLC0415
    from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: PLC0415

    from msa.accounts.models import User  # noqa: PLC0415
    from msa.alarms.services.intake import alarm_raise  # noqa: PLC0415
    from msa.alarms.states import Channel, Trigger  # noqa: PLC0415
    from msa.cases.models import ProtectionCase  # noqa: PLC0415
    from msa.core.actors import Actor  # noqa: PLC0415
    from msa.core.middleware import IDLE_SESSION_KEY  # noqa: PLC0415
    from msa.devices.models import Device  # noqa: PLC0415
    from msa.devices.services import device_enroll  # noqa: PLC0415
    from msa.realtime.models import EventStream  # noqa: PLC0415

    case = ProtectionCase.objects.order_by("id").first()
    assert case is not None
    system = Actor.system("bench")
    names = [f"{PRESS_PREFIX}{n}" for n in range(press)] + [
        f"{TRACK_PREFIX}{n}" for n in range(track)
    ]
    have = set(Device.objects.filter(device_id__in=names).values_list("device_id", flat=True))
    for name in names:
        if name not in have:
            device_enroll(case=case, actor=system, device_id=name, key=device_key_of(name))
    incidents: dict[str, str] = {}
    now = datetime.now(UTC)
    for n in range(track):
        device = Device.objects.get(device_id=f"{TRACK_PREFIX}{n}")
        result = alarm_raise(
            device=device,
            alarm_id=uuid.uuid5(uuid.NAMESPACE_URL, f"msa-bench-{n}"),
            trigger=Trigger.BUTTON,
            pressed_at=now,
            location=None,
            battery=None,
            call_state=None,
            channel=Channel.DATA,
            actor=Actor.device(device.device_id),
        )
        incidents[device.device_id] = str(result.incident.alarm_id)
    assert track, "the console's centre is the tracked incidents' centre"
    centre = result.incident.centre_id

    user = User.objects.get(username="operator")
    otp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if otp is None:
        otp = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # ModelBackend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[DEVICE_ID_SESSION_KEY] = otp.persistent_id
    store[IDLE_SESSION_KEY] = time.time() + 86400  # the bench's console never goes idle
    store.create()
    head = EventStream.objects.filter(centre_id=centre).values_list("last_seq", flat=True).first()
    return {
        "centre": centre,
        "session": store.session_key,
        "cookie": settings.SESSION_COOKIE_NAME,
        "incidents": incidents,
        "last_seq": head or 0,
    }


def device_key_of(name: str) -> bytes:
    return hmac.new(b"msa-bench-device", name.encode(), hashlib.sha256).digest()


# --- requests ---------------------------------------------------------------------------


def rfc3339(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def signed_request(port: int, device: str, path: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(device, device_key_of(device), "POST", path, body, int(time.time()))
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def press_request(port: int, device: str) -> bytes:
    return signed_request(
        port,
        device,
        "/api/device/v1/alarms",
        {
            "alarm_id": str(uuid.uuid4()),
            "trigger": "button",
            "pressed_at": rfc3339(datetime.now(UTC)),
            "location": {
                "lat": 51.05,
                "lon": 3.72,
                "accuracy_m": 8.0,
                "fix_at": rfc3339(datetime.now(UTC)),
                "source": "gps",
            },
        },
    )


def position_request(port: int, device: str, alarm_id: str, at: datetime) -> bytes:
    fix = {"lat": 51.05, "lon": 3.72, "accuracy_m": 6.0, "fix_at": rfc3339(at), "source": "gps"}
    return signed_request(
        port, device, f"/api/device/v1/alarms/{alarm_id}/locations", {"fixes": [fix]}
    )


def heartbeat_request(port: int, device: str) -> bytes:
    return signed_request(
        port,
        device,
        "/api/device/v1/heartbeat",
        {
            "at": rfc3339(datetime.now(UTC).replace(microsecond=0)),
            "battery": {"phone_pct": 80, "button_pct": 70},
            "button": {"connected": True, "last_seen_at": None},
            "permissions": {"location": "always", "sms": True, "notifications": True},
            "network": {"data": True},
            "app_version": "bench",
        },
    )


def floor_request(port: int) -> bytes:
    body = b'{"at":"now"}'
    return (
        f"POST /store HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# --- a console ----------------------------------------------------------------------------


class Console:
    """A WebSocket client that notes when each message arrived, keyed by ``key(message)``."""

    def __init__(self, url: str, key: Callable[[dict[str, Any]], list[Any]], **headers: str):
        self.url = url
        self.key = key
        self.headers = headers
        self.arrived: dict[Any, float] = {}
        self.messages = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Console:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        import websockets  # noqa: PLC0415 - only the benches that listen

        async with websockets.connect(
            self.url, additional_headers=self.headers, max_size=2**24
        ) as ws:
            self._ready.set()
            async for raw in ws:
                now = time.perf_counter()
                self.messages += 1
                for key in self.key(json.loads(raw)):
                    self.arrived.setdefault(key, now)

    async def wait_for(self, keys: list[Any], timeout_s: float = 10.0) -> None:
        end = time.perf_counter() + timeout_s
        while time.perf_counter() < end and any(k not in self.arrived for k in keys):  # noqa: ASYNC110 - a bounded poll of a dict
            await asyncio.sleep(0.05)


def msa_console_keys(message: dict[str, Any]) -> list[Any]:
    data = message.get("data") or {}
    if message.get("type") == "alarm.raised":
        return [("raised", data.get("incident"))]
    if message.get("type") == "alarm.located":
        # fix times are unique per request in the benches: they name the request
        return [("located", datetime.fromisoformat(p["fix_at"])) for p in data.get("positions", [])]
    return []


def floor_console_keys(message: dict[str, Any]) -> list[Any]:
    return [message.get("seq")]


# --- reporting ----------------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads): what a request
    costs the server, which a machine shared with other work inflates far less than time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Row:
    """One figure: MSA's and the floor's, the ratio, and the target it is held to."""

    name: str
    unit: str
    msa: float
    floor: float
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.msa / self.floor if self.floor else float("nan")


def report(title: str, machine: str, rows: list[Row], extra: dict[str, Any]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"\n{title} — {machine}")
    print(f"  {'figure':<{width}}  {'MSA':>10}  {'floor':>10}  {'MSA/floor':>9}  target")
    for r in rows:
        verdict = "" if r.met is None else ("  met" if r.met else "  MISSED")
        print(
            f"  {r.name:<{width}}  {r.msa:>10.2f}  {r.floor:>10.2f}  {r.ratio:>9.3f}  "
            f"{r.target}{verdict}"
        )
    doc = {
        "bench": title,
        "machine": machine,
        "rows": [
            {
                "figure": r.name,
                "unit": r.unit,
                "msa": round(r.msa, 3),
                "floor": round(r.floor, 3),
                "ratio": round(r.ratio, 4),
                "target": r.target,
                "met": r.met,
            }
            for r in rows
        ],
        **extra,
    }
    print("JSON " + json.dumps(doc, sort_keys=True))


def machine_label(backend: Backend) -> str:
    return f"{os.cpu_count()} cores, {backend.label}, load average {os.getloadavg()[0]:.1f}"
