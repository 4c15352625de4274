"""The meeting of the browser tests where a page drops or closes: chaired (so a page has a
place in the speakers' list to keep), with a 30 s resume grace (so a dropped page is kept,
and only a real leave ends its presence at once); and `cut`, a page's network going down.

A test module takes the meeting by importing the two fixtures, which override
tests/browser/conftest.py's for that module:
`from tests.browser.resumable import floor_mode, server_overrides  # noqa: F401`."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.browser.netns import BrowserNamespace

RESUME_GRACE_S = 30.0


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"resume_grace_s": RESUME_GRACE_S}


def cut(ns: BrowserNamespace, down: bool) -> None:
    """The page's link down (its side: the host side keeps its address and routes) and, going
    down, every TCP connection between the page and the server aborted on both sides."""
    subprocess.run([*ns.exec_prefix(), "ip", "link", "set", ns.ns_if, "down" if down else "up"],
                   check=True, capture_output=True)
    if down:
        subprocess.run(["ss", "-K", "-t", "dst", ns.ns_address], check=True, capture_output=True)
        subprocess.run([*ns.exec_prefix(), "ss", "-K", "-t", "dst", ns.host_address],
                       check=True, capture_output=True)
