from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.core.clock import Clock


def test_frozen_clock_moves_only_when_told() -> None:
    clock = Clock()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    clock.freeze(at)
    assert clock.now() == at
    clock.advance(timedelta(seconds=30))
    assert clock.now() == at + timedelta(seconds=30)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Clock().freeze(datetime(2026, 1, 1))  # noqa: DTZ001
