"""Several MSA nodes on one PostgreSQL and one Redis, behind Debian's nginx, for the multi-node
proofs (tests/multinode/): ``msa serve`` processes, ``msa worker`` processes and an nginx that
runs deploy/nginx/msa.conf with every node in its upstream.

Every process runs on a free loopback port, every wait has a deadline, and ``cluster()`` stops
what it started (and drops its database) in a ``finally``. For a test that must know which node
a console is on, nginx also routes a request with ``X-MSA-Node: <n>`` to node ``n`` alone; every
other request takes the sample's round-robin upstream, as in production.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from socket import create_connection
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import ClientConnection, connect

from msa.demo_data import CENTRE_CODE, demo_password
from tests.support.browser import demo_totp_code
from tests.support.centre import TEST_SECRETS
from tests.support.live import free_port, postgres_database, server_env, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "nginx" / "msa.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEADLINE_S = 30.0
PIN_HEADER = "X-MSA-Node"
# The demo region, and the operator's authenticator (the demo gives one only with MSA_DEMO=1)
SEED = """
from django_otp.plugins.otp_totp.models import TOTPDevice
from msa import demo
from msa.accounts.models import User
from msa.demo_data import demo_totp_key
demo.seed()
TOTPDevice.objects.create(
    user=User.objects.get(username="operator"), name="test", key=demo_totp_key("operator").hex(),
    confirmed=True,
)
"""

MAIN_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $status upstream=$upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/msa.conf;
}}
"""


def render(sample: str, *, listen: int, upstreams: list[int]) -> str:
    """The sample with this cluster's addresses, and the test-only pin by header."""
    out, n = re.subn(
        r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen};", sample, flags=re.MULTILINE
    )
    assert n == 1, "the sample's listen line moved: update tests/support/cluster.py"
    line = re.search(r"^(\s*)server 127\.0\.0\.1:8000 (.*)$", out, flags=re.MULTILINE)
    assert line is not None, "the sample's upstream line moved: update tests/support/cluster.py"
    servers = "\n".join(f"{line.group(1)}server 127.0.0.1:{p} {line.group(2)}" for p in upstreams)
    out = out[: line.start()] + servers + out[line.end() :]
    out, n = re.subn(r"proxy_pass http://msa_nodes;", "proxy_pass http://$msa_pick;", out)
    assert n >= 1
    pins = "".join(
        f"upstream msa_node{i} {{ server 127.0.0.1:{p}; }}\n" for i, p in enumerate(upstreams)
    )
    choices = "".join(f"    {i} msa_node{i};\n" for i in range(len(upstreams)))
    header = "$http_" + PIN_HEADER.lower().replace("-", "_")
    return f"{pins}map {header} $msa_pick {{\n    default msa_nodes;\n{choices}}}\n{out}"


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Cluster:
    """``nodes`` serve processes and ``workers`` worker processes on one database."""

    def __init__(self, folder: Path, database_url: str, *, nodes: int, **settings: str) -> None:
        self.folder = folder
        self.database_url = database_url
        self.node_ports = [free_port() for _ in range(nodes)]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(folder, database_url)
        self.env.pop("MSA_DEMO", None)
        self.env.update(TEST_SECRETS)
        self.env.update({"MSA_PUBLIC_URL": self.url, "MSA_LOG_LEVEL": "WARNING", **settings})
        self.nodes: list[subprocess.Popen[bytes] | None] = [None] * nodes
        self.workers: list[subprocess.Popen[bytes] | None] = []
        self.nginx: subprocess.Popen[bytes] | None = None

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "msa.cli", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def start_node(self, index: int, *, migrate: bool = False) -> None:
        port = self.node_ports[index]
        log = self.folder / f"node{index}.log"
        args = ["serve", "--port", str(port), *(["--migrate"] if migrate else [])]
        process = self._spawn(args, log)
        self.nodes[index] = process
        wait_until_serving(f"http://127.0.0.1:{port}", process, log)

    def kill_node(self, index: int) -> None:
        """SIGKILL: no shutdown, no flush, as a power cut or an OOM kill."""
        process = self.nodes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.nodes[index] = None

    def start_worker(self) -> None:
        index = len(self.workers)
        self.workers.append(self._spawn(["worker"], self.folder / f"worker{index}.log"))

    def kill_worker(self, index: int) -> None:
        process = self.workers[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.workers[index] = None

    def start_nginx(self) -> None:
        rendered = render(SAMPLE.read_text(), listen=self.port, upstreams=self.node_ports)
        (self.folder / "msa.conf").write_text(rendered)
        (self.folder / "nginx.conf").write_text(MAIN_CONF.format(dir=self.folder))
        args = [NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")]
        args += ["-e", str(self.folder / "e.log")]
        checked = subprocess.run(
            [*args, "-t"], capture_output=True, text=True, timeout=30, check=False
        )
        assert checked.returncode == 0, checked.stderr
        self.nginx = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert self.nginx.poll() is None, (self.folder / "e.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            assert time.monotonic() < deadline, "nginx did not answer in time"
            time.sleep(0.1)

    def stop(self) -> None:
        _stop(self.nginx)
        for process in [*self.workers, *self.nodes]:
            _stop(process)

    # -- looking at it ------------------------------------------------------------------------

    def cli(self, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
        """``msa ARGS`` with the cluster's settings (on another database: ``database_url``)."""
        env = self.env if database_url is None else {**self.env, "DATABASE_URL": database_url}
        return subprocess.run(
            [sys.executable, "-m", "msa.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def cli_start(self, *args: str, database_url: str | None = None) -> subprocess.Popen[str]:
        """``msa ARGS`` started, not awaited (``communicate`` it): commands that may overlap."""
        env = self.env if database_url is None else {**self.env, "DATABASE_URL": database_url}
        return subprocess.Popen(
            [sys.executable, "-m", "msa.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def press(self, victim: int) -> str:
        """A live press of a demo victim's phone through nginx; the incident's reference."""
        done = self.cli(
            *("simulate", "press", "--victim", str(victim), "--call", "none", "--url", self.url)
        )
        assert done.returncode == 0, done.stderr
        found = re.search(r"incident (\S+)", done.stdout)
        assert found is not None, done.stdout
        return found.group(1)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            cursor: Any = conn.cursor()  # test SQL written in tests/, not user input
            return list(cursor.execute(sql, params).fetchall())

    def upstreams_of(self, method: str, prefix: str) -> list[int]:
        """The node ports nginx sent the requests of ``method`` under ``prefix`` to."""
        ports = []
        for line in (self.folder / "access.log").read_text().splitlines():
            parts = line.split(" ")
            if parts[0] == method and parts[1].startswith(prefix):
                ports += [int(a.rsplit(":", 1)[1]) for a in re.findall(r"127\.0\.0\.1:\d+", line)]
        return ports


@contextlib.contextmanager
def cluster(
    folder: Path, *, nodes: int = 2, workers: int = 2, **settings: str
) -> Iterator[Cluster]:
    """A migrated centre with the demo region on ``nodes`` nodes and ``workers`` workers behind
    nginx; everything stopped, and the database dropped, at the end."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    with postgres_database() as database_url:
        assert database_url is not None, "a cluster runs in the PostgreSQL pass only"
        group = Cluster(folder, database_url, nodes=nodes, **settings)
        assert group.env.get("REDIS_URL"), "a cluster needs Redis"
        try:
            group.start_node(0, migrate=True)
            seeded = group.cli("manage", "shell", "-c", SEED)
            assert seeded.returncode == 0, seeded.stderr
            for index in range(1, nodes):
                group.start_node(index)
            for _ in range(workers):
                group.start_worker()
            group.start_nginx()
            yield group
        finally:
            group.stop()


# -- a console, as the operator's browser holds it ------------------------------------------


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


class Console:
    """A signed-in operator and her console socket through nginx."""

    def __init__(self, base: str, username: str = "operator") -> None:
        self.base = base
        client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
        page = client.get("/accounts/login/")
        page = client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": demo_password(username),
                "csrfmiddlewaretoken": _csrf(page.text),
            },
        )
        page = client.post(
            "/accounts/otp/",
            data={
                "token": demo_totp_code(base, username),
                "csrfmiddlewaretoken": _csrf(page.text),
                "next": "/",
            },
        )
        assert page.url.path.startswith("/console/"), page.url
        home = client.get("/console/")
        path = re.search(r'data-ws-path="([^"]+)"', home.text)
        since = re.search(r'data-last-seq="(\d+)"', home.text)
        assert path is not None
        assert since is not None
        self.ws_path = path.group(1)
        self.last_seq = int(since.group(1))
        self.cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        client.close()
        self.started_at = self.last_seq
        self.events: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def open(self, *, node: int | None = None) -> Iterator[ClientConnection]:
        """The socket from the last sequence seen, said hello; ``node``: pinned to that node."""
        url = self.base.replace("http://", "ws://") + f"{self.ws_path}?since={self.last_seq}"
        headers = {"Cookie": self.cookies, "Origin": self.base}
        if node is not None:
            headers[PIN_HEADER] = str(node)
        with connect(url, additional_headers=headers, open_timeout=10) as socket:
            hello = json.loads(socket.recv(timeout=10))
            assert hello["type"] == "hello", hello
            yield socket

    def read_until(self, socket: ClientConnection, done: Any, deadline_s: float) -> None:
        """Receive events until ``done(self.events)`` holds; fail at the deadline."""
        deadline = time.monotonic() + deadline_s
        while not done(self.events):
            left = deadline - time.monotonic()
            assert left > 0, f"the console did not get there in {deadline_s} s: {self.events}"
            try:
                message = json.loads(socket.recv(timeout=left))
            except TimeoutError:
                continue
            if "seq" in message and message.get("type") not in {"hello", "heartbeat", "pong"}:
                self.events.append(message)
                self.last_seq = max(self.last_seq, int(message["seq"]))

    def missed(self, group: Cluster) -> list[int]:
        """The centre's events after the console's start, up to the last it saw, that it did
        not get (in order, once each, or they count as missed)."""
        stored = group.query(
            "SELECT e.seq FROM realtime_incidentevent e JOIN accounts_organisation o"
            " ON o.id = e.centre_id WHERE o.code = %s AND e.seq > %s AND e.seq <= %s"
            " ORDER BY e.seq",
            CENTRE_CODE,
            self.started_at,
            self.last_seq,
        )
        got = [int(e["seq"]) for e in self.events]
        assert got == sorted(set(got)), f"an event twice or out of order: {got}"
        return [seq for (seq,) in stored if seq not in set(got)]


# -- our own Redis, to take away and give back --------------------------------------------


class RedisServer:
    """A ``redis-server`` on a free loopback port, without persistence: a restart is empty."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + DEADLINE_S
        while not self.ping():
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer in time"
            time.sleep(0.05)

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *words: str) -> str:
        """One command in the inline protocol; the first line of the answer, or "" if down."""
        try:
            with create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall((" ".join(words) + "\r\n").encode())
                return conn.recv(65536).decode(errors="replace").split("\r\n")[0]
        except OSError:
            return ""

    def subscribers(self, channel: str) -> int:
        """How many connections are subscribed to the pub/sub ``channel`` (0 if down)."""
        try:
            with create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall(f"PUBSUB NUMSUB {channel}\r\n".encode())
                answer = b""
                while answer.count(b"\r\n") < 4:  # *2, $len, the channel, :count
                    chunk = conn.recv(65536)
                    if not chunk:
                        return 0
                    answer += chunk
        except OSError:
            return 0
        return int(answer.split(b"\r\n")[3].lstrip(b":"))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- our own PostgreSQL, to take away and give back ---------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else (shutil.which(name) or name)


class PostgresServer:
    """A PostgreSQL of the test's own (``initdb`` in a temporary folder, a free loopback port,
    trust authentication): stopped and started again at will, and removed at the end. The
    shared PostgreSQL on 5432 is never touched. Run as the ``postgres`` user when the tests run
    as root (initdb refuses root)."""

    def __init__(self) -> None:
        import os  # noqa: PLC0415 - only this helper needs it
        import tempfile  # noqa: PLC0415

        self.folder = Path(tempfile.mkdtemp(prefix="msa-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/msa"
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def init(self) -> None:
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self.start()
        self._run(
            _pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "msa"
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "pg.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        """Immediate stop, as a crash: connections are cut, nothing is shut down cleanly."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self._as, _pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    if not Path(_pg_bin("initdb")).exists():
        pytest.skip("initdb is not installed (apt-get install postgresql)")
    server = PostgresServer()
    try:
        server.init()
        yield server
    finally:
        server.remove()
