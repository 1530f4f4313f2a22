"""The demo region, seeded once per test session instead of once per test.

``conftest.py`` seeds the region right after pytest-django has created the test database.
A test that needs it asks for the ``demo`` fixture; every other test that uses the database
starts without it, as before: the region is removed inside that test's transaction, which is
rolled back with the rest of the test (a few deletes, against the ~60 ms a seed costs).

Transactional tests (``django_db(transaction=True)``) commit, and pytest-django flushes the
whole database after each of them: the seed is gone. The next test that asks for ``demo``
seeds it again before its own transaction begins. Nothing here depends on the database
engine: removal is Django's own flush SQL (``TRUNCATE`` on PostgreSQL, which the test session
may run on the audit table, see conftest.py; ``DELETE`` on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, models, transaction

from msa import demo

Rows = list[dict[str, Any]]


def _rows(model: type[models.Model]) -> Rows:
    return list(model._base_manager.order_by("pk").values())


def _all_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed]


@dataclass
class DemoRegion:
    """Whether the region is in the database now, and how to take it out of a test."""

    learnt: bool = False  # the test database exists and was seeded once
    present: bool = False
    # Tables the seed fills (empty before it): emptied for a test that does not ask for it.
    filled: list[str] = field(default_factory=list)
    # Rows the seed changed in tables that had rows before it (the audit chain head).
    changed: dict[type[models.Model], Rows] = field(default_factory=dict)

    def seed_and_learn(self) -> None:
        """Seed the freshly created test database and note what the seed wrote."""
        if demo.is_seeded():  # a database kept from an earlier session (--reuse-db)
            call_command("flush", interactive=False, verbosity=0)
        before = {m: _rows(m) for m in _all_models()}
        demo.seed()
        self.filled, self.changed = [], {}
        for model, rows in before.items():
            after = _rows(model)
            if after == rows:
                continue
            if rows:
                self.changed[model] = rows
            else:
                self.filled.append(model._meta.db_table)
        self.learnt = self.present = True

    @property
    def flushed(self) -> bool:
        return self.learnt and not self.present

    def reseed(self) -> None:
        """After a flush: seed again, outside any test's transaction."""
        demo.seed()
        self.present = True

    def remove(self) -> None:
        """Take the region out (inside the test's transaction, so it comes back after)."""
        statements = connection.ops.sql_flush(no_style(), self.filled, allow_cascade=True)
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
            for model, rows in self.changed.items():
                pk = model._meta.pk.attname if model._meta.pk else "id"
                model._base_manager.exclude(pk__in=[row[pk] for row in rows]).delete()
                for row in rows:
                    model._base_manager.filter(pk=row[pk]).update(**row)


REGION = DemoRegion()
