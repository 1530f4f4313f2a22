"""The test harness shared by every part of the suite."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.client import ClientMixin
from pytest_django.fixtures import validate_django_db
from pytest_django.plugin import blocking_manager_key

from msa import demo as demo_module
from msa.core.clock import clock as _clock
from tests.support.auth import install_force_login_with_otp
from tests.support.browser import launch_chromium
from tests.support.demo_region import REGION
from tests.support.events import missing_types, record_events
from tests.support.live import run_demo_server

if TYPE_CHECKING:
    from pytest_django import DjangoDbBlocker

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


@pytest.hookimpl(trylast=True)  # after pytest-django has put the tests in its order
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Race tests need a database with concurrent writers: outside the PostgreSQL pass they are
    deselected (not skipped), and dev.py always runs that pass in CI; a test about the embedded
    SQLite default itself is deselected in the PostgreSQL pass.

    The tests that drive chromium run last: Playwright's sync API keeps an event loop running
    in the main thread for the rest of the session, and a later test that runs a coroutine
    (``asyncio.run``, an async test) would find it there."""
    other_pass = "sqlite_only" if os.environ.get("MSA_TEST_DB") == "postgres" else "postgres_only"
    deselected = [item for item in items if item.get_closest_marker(other_pass)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other_pass)]
    uses_browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if uses_browser:
        others = [item for item in items if "browser" not in getattr(item, "fixturenames", ())]
        items[:] = others + uses_browser


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    _clock.reset()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The MSA clock, for tests that freeze or move time."""
    yield _clock
    _clock.reset()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """The test database, with the demo region seeded once (tests/support/demo_region.py)."""
    with django_db_blocker.unblock():
        _allow_truncating_the_audit_table()
        REGION.seed_and_learn()
    yield
    # The machine endpoints' threads keep their connections (msa.ingest.machine_asgi): let them
    # go before the test database is dropped.
    asgi = sys.modules.get("msa.asgi")
    if asgi is not None:
        with django_db_blocker.unblock():
            asgi.machine_handler.release_connections()


def _allow_truncating_the_audit_table() -> None:
    """The production trigger refuses TRUNCATE of the audit table always (msa/audit/migrations
    /0004); the throw-away test databases get the variant that lets a session which sets
    ``msa.audit_truncate = 'allow'`` through, so that pytest-django can flush them."""
    if connection.vendor != "postgresql":
        return
    migration = import_module("msa.audit.migrations.0004_keyed_chain")
    with connection.cursor() as cursor:
        cursor.execute(migration.WITH_TEST_SWITCH)


def _database_use(request: pytest.FixtureRequest) -> tuple[bool, bool]:
    """(uses the database, transactionally), as pytest-django decides it."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(names & {"transactional_db", "live_server", "django_db_reset_sequences"})
    if marker is not None:
        transaction, reset_sequences, *_ = validate_django_db(marker)
        transactional = transactional or transaction or reset_sequences
    return marker is not None or transactional or "db" in names, transactional


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A transactional test's flush removed the region: seed it again for the next test that
    asks for it, before that test's transaction begins (so that it is rolled back to)."""
    if REGION.flushed and "demo" in getattr(item, "fixturenames", ()):
        blocker = item.config.stash.get(blocking_manager_key, None)
        if blocker is not None:
            with blocker.unblock():
                REGION.reseed()


@pytest.fixture(autouse=True)
def _demo_region_only_where_asked(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that uses the database without asking for ``demo`` starts without the region."""
    uses_db, transactional = _database_use(request)
    if not uses_db:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # the test's transaction is open from here
    if "demo" not in request.fixturenames and REGION.present:
        REGION.remove()
        REGION.present = not transactional  # a transactional test committed the removal
    yield
    if transactional:
        REGION.present = False  # pytest-django flushes the database after it


@pytest.fixture
def demo(db: None) -> None:
    """The Ghent demo region: organisations, one login per role, units, five cases.

    Seeded once per session; asking for this fixture is how a test says it needs it."""
    demo_module.seed()  # a no-op unless a transactional test flushed it just now


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``msa demo`` server process on a free port, with its own fresh database."""
    with run_demo_server(tmp_path_factory.mktemp("live")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(autouse=True, scope="session")
def _force_login_passes_the_second_factor() -> Iterator[None]:
    """``client.force_login`` also verifies the TOTP step (tests/support/auth.py)."""
    original = install_force_login_with_otp()
    yield
    ClientMixin.force_login = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _events_are_a_contract() -> Iterator[None]:
    """Every event appended to the log matches its dataclass (tests/support/events.py)."""
    undo = record_events()
    yield
    undo()


def _whole_suite(config: pytest.Config) -> bool:
    """A run of every test (``-m`` may leave out the browser), not of a part of them."""
    if config.option.keyword or config.option.collectonly:
        return False
    if config.option.markexpr not in ("", "not browser"):  # browser tests run out of process
        return False
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    return all(Path(arg).resolve() == config.rootpath for arg in config.args)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run of the whole suite fails if a type of the event registry was never emitted."""
    if exitstatus == 0 and _whole_suite(session.config) and missing_types():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _whole_suite(config) and missing_types():
        terminalreporter.write_line(
            "event types in msa.realtime.events.EVENT_TYPES that no test emitted: "
            + ", ".join(missing_types()),
            red=True,
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On PostgreSQL the audit table refuses TRUNCATE (msa/audit/migrations/0004); test
    sessions set the switch that the test databases' trigger honours (installed by
    ``_allow_truncating_the_audit_table``), so that pytest-django can flush them."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        options = db.setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c msa.audit_truncate=allow").strip()
