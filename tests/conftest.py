from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests import harness

logging.getLogger("aioice").setLevel(logging.WARNING)
logging.getLogger("aiortc").setLevel(logging.WARNING)


# the integration tests that run twice: the SFU in the server process, and in two worker
# processes (docs/architecture.md, "Workers")
WORKER_MODULES = ("tests.integration.test_floor", "tests.integration.test_interpretation",
                  "tests.integration.test_forwarding", "tests.integration.test_taps",
                  "tests.integration.test_webcast", "tests.integration.test_webcast_captions")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "media_workers" in metafunc.fixturenames and \
            metafunc.module.__name__ in WORKER_MODULES:
        metafunc.parametrize("media_workers", [0, 2], indirect=True,
                             ids=["in-process", "2-workers"])


@pytest.fixture(autouse=True)
def media_workers(request: pytest.FixtureRequest) -> Iterator[int]:
    """How many SFU worker processes the servers of this test start: the parameter, 0 for
    a test of the in-process router's internals (``@pytest.mark.in_process``), else
    ``ROSTRUM_WORKERS`` (tests/harness.py)."""
    count: int = getattr(request, "param", harness.WORKERS)
    if request.node.get_closest_marker("in_process") is not None:
        count = 0
    before, harness.WORKERS = harness.WORKERS, count
    try:
        yield count
    finally:
        harness.WORKERS = before
