"""The test harness shared by every part of the suite."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from msa.core.clock import clock as _clock

REQUIRE_SERVICES = os.environ.get("MSA_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[Any]:
    """With MSA_REQUIRE_SERVICES=1 (CI) a skip is a failure: nothing may go untested."""
    outcome: Any = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but MSA_REQUIRE_SERVICES=1 forbids skips: {reason}"


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    _clock.reset()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The MSA clock, for tests that freeze or move time."""
    yield _clock
    _clock.reset()


@pytest.fixture
def demo(db: None) -> None:
    """The Ghent demo region: organisations, one login per role, units, five cases."""
    from msa import demo as demo_module

    demo_module.seed()


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``msa demo`` server process on a free port, with its own fresh database."""
    from tests.support.live import run_demo_server

    with run_demo_server(tmp_path_factory.mktemp("live")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from tests.support.browser import launch_chromium

    with launch_chromium() as chromium:
        yield chromium
