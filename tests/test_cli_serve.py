"""``msa serve --workers N``: several server processes share live events only through Redis,
so without REDIS_URL the command refuses, saying why, before it binds anything."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.test import override_settings

from msa.cli import build_parser, main
from tests.support.live import free_port, server_env


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_several_workers_need_the_redis_channel_layer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2", "--port", "8765"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err


def test_the_serve_options_parse() -> None:
    args = build_parser().parse_args(
        ["serve", "--workers", "4", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6"]
    )
    assert (args.workers, args.forwarded_allow_ips) == (4, "10.0.0.5,10.0.0.6")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--workers", "0"])


SERVE = [sys.executable, "-m", "msa.cli", "serve"]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.live
def test_serve_runs_several_processes_behind_one_port(tmp_path: Path) -> None:
    redis = os.environ.get("MSA_TEST_REDIS_URL")
    if not redis:
        pytest.skip("needs MSA_TEST_REDIS_URL: several processes share live events through Redis")
    port = free_port()
    env = {**server_env(tmp_path, None), "MSA_DEMO": "1", "REDIS_URL": redis}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*SERVE, "--migrate", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        servers = [
            child
            for child in _children(process.pid)
            if b"multiprocessing" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]
        assert len(servers) >= 2, (servers, log.read_text())
        for _ in range(10):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
