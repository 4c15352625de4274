"""Fixtures for browser tests: a network namespace for the browsers, the real server on the
namespace's host-side address, tone WAVs, and Chromium processes launched inside the namespace.

Traffic rule (see netns.py): browsers live in a namespace made for this session; the server
listens and does ICE only on the veth's host-side address 10.213.X.1.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import (
    chromium_available,
    ip_available,
    is_root,
    launch_in_namespace,
    write_namespace_wrapper,
)
from tests.browser.netns import BrowserNamespace, ShapedNamespace
from tests.browser.tones import write_camera_y4m, write_tone_wav
from tests.requirements import require

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

logger = logging.getLogger(__name__)


def _require_browser_prerequisites() -> None:
    require(
        chromium_available(), "Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
    )
    require(ip_available(), "the ip command (apt-get install iproute2)")
    require(is_root(), "root, to create network namespaces")
    require(
        importlib.util.find_spec("playwright") is not None,
        "Playwright for Python (pip install playwright; browsers are not downloaded)",
    )


@pytest.fixture(scope="session")
def browser_namespace() -> Iterator[BrowserNamespace]:
    """One namespace + veth pair per test session, removed at the end even after failures."""
    _require_browser_prerequisites()
    namespace = BrowserNamespace.create()
    try:
        yield namespace
    finally:
        namespace.destroy()


@pytest.fixture(scope="session")
def chromium_wrapper(
    browser_namespace: BrowserNamespace, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Executable that runs /usr/bin/chromium inside the session's namespace."""
    return write_namespace_wrapper(tmp_path_factory.mktemp("chromium"), browser_namespace)


@pytest.fixture
def shaped_namespace(browser_namespace: BrowserNamespace) -> Iterator[ShapedNamespace]:
    """A namespace of its own for one browser whose link a test shapes (`tc tbf`), routed to
    the server's address only; removed after the test."""
    namespace = ShapedNamespace.create_shaped(browser_namespace.host_address)
    try:
        yield namespace
    finally:
        namespace.destroy()


@pytest.fixture
def shaped_wrapper(shaped_namespace: ShapedNamespace, tmp_path: Path) -> Path:
    """Executable that runs /usr/bin/chromium inside the shaped namespace (`launch_browser(...,
    wrapper=shaped_wrapper)`)."""
    return write_namespace_wrapper(tmp_path, shaped_namespace)


@pytest.fixture
def camera_y4m(tmp_path: Path) -> Path:
    """A Y4M camera that costs an encoder what a real one does (tones.write_camera_y4m)."""
    return write_camera_y4m(tmp_path / "camera.y4m")


@pytest.fixture
def make_tone(tmp_path: Path) -> Callable[[float], Path]:
    """`make_tone(440.0)` → path of a 48 kHz 16-bit mono WAV of that tone, in tmp_path."""

    def make(frequency: float) -> Path:
        return write_tone_wav(tmp_path / f"tone-{frequency:g}hz.wav", frequency)

    return make


@pytest.fixture
def floor_mode() -> str:
    """The test meeting's floor mode: "open" (everyone not muted is heard). A test module that
    needs a chaired meeting overrides this fixture to return "chaired"."""
    return "open"


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    """Config fields of the test server beyond the defaults (tests/harness.py); a test module
    overrides this fixture, e.g. `{"resume_grace_s": 30.0}`."""
    return {}


@pytest.fixture
async def rostrum_server(
    browser_namespace: BrowserNamespace, floor_mode: str, server_overrides: dict[str, Any]
) -> AsyncIterator[Any]:
    """The real server, in this process, reachable from the namespace at 10.213.X.1."""
    require(
        importlib.util.find_spec("tests.harness") is not None,
        "tests/harness.py (running_server)",
    )
    from tests.harness import running_server

    address = browser_namespace.host_address
    async with running_server(
        host=address, public_host=address, rtc_addresses=[address], floor_mode=floor_mode,
        **server_overrides,
    ) as server:
        yield server


@pytest.fixture
async def playwright_instance() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        yield playwright


LaunchBrowser = Callable[..., Awaitable[Any]]


@pytest.fixture
async def launch_browser(
    playwright_instance: Any,
    chromium_wrapper: Path,
    rostrum_server: Any,
    tmp_path: Path,
) -> AsyncIterator[LaunchBrowser]:
    """`await launch_browser(tone_wav, viewport=None, fake_video=None, wrapper=None)` → a
    BrowserContext (own Chromium process, own fresh profile, own fake microphone and, with
    `fake_video`, a Y4M file as its camera) inside the namespace (`wrapper`: another
    namespace's, e.g. a ShapedNamespace); all closed at teardown."""
    contexts: list[Any] = []

    async def launch(
        fake_audio: Path | None,
        *,
        viewport: ViewportSize | None = None,
        fake_video: Path | None = None,
        wrapper: Path | None = None,
        bypass_csp: bool = True,
    ) -> Any:
        context = await launch_in_namespace(
            playwright_instance,
            wrapper=wrapper or chromium_wrapper,
            user_data_dir=tmp_path / f"profile-{len(contexts)}",
            fake_audio=fake_audio,
            fake_video=fake_video,
            secure_origin=rostrum_server.base_url,
            viewport=viewport,
            bypass_csp=bypass_csp,
        )
        contexts.append(context)
        return context

    try:
        yield launch
    finally:
        from playwright.async_api import Error as PlaywrightError

        for context in contexts:
            try:
                await context.close()
            except PlaywrightError as err:  # a crashed browser must not hide the test's failure
                logger.warning("closing a browser failed: %s", err)
