"""Prerequisite checks shared by the test suite.

A test that needs something outside Python (a browser, docker-compose, root for network
namespaces, a Redis server) calls `require(condition, what)`. Locally a missing prerequisite
skips the test; with ROSTRUM_REQUIRE_ALL=1 (the default of scripts/test.sh, which CI runs) it fails
it, so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["require", "require_all", "require_binary"]


def require_all() -> bool:
    """True when missing prerequisites must fail tests rather than skip them."""
    return os.environ.get("ROSTRUM_REQUIRE_ALL", "").strip().lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Go on if `condition` holds; otherwise skip the test, or fail it under ROSTRUM_REQUIRE_ALL=1.

    `what` names the missing prerequisite and how to get it, e.g.
    "docker-compose binary (apt-get install docker-compose)".
    """
    if condition:
        return
    if require_all():
        pytest.fail(f"missing prerequisite (ROSTRUM_REQUIRE_ALL=1): {what}", pytrace=False)
    pytest.skip(f"missing prerequisite: {what}")


def require_binary(name: str, package: str | None = None) -> str:
    """Require an executable on PATH and return its full path."""
    path = shutil.which(name)
    hint = f" (apt-get install {package})" if package else ""
    require(path is not None, f"{name} binary{hint}")
    assert path is not None
    return path
