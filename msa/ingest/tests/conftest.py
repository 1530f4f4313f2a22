"""What the ingest tests share."""

from __future__ import annotations

import pytest

from msa.core.clock import Clock
from msa.ingest.tests.moment import NOW


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    """The clock stopped at :data:`~msa.ingest.tests.moment.NOW`."""
    clock.freeze(NOW)
    return clock
