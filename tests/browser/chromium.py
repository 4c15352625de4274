"""Launching Debian's Chromium for browser tests: inside a network namespace, with fake devices.

Playwright talks to Chromium over a pipe (`--remote-debugging-pipe`), not over the network, so
Chromium can run inside the test's network namespace: Playwright's `executable_path` is a small
wrapper script, `exec ip netns exec NS /usr/bin/chromium "$@"`, which keeps the pipe's file
descriptors.

One browser process per speaker: a process has one fake microphone, fed by
`--use-file-for-fake-audio-capture=<wav>`.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Playwright, ViewportSize

    from tests.browser.netns import BrowserNamespace

CHROMIUM = Path("/usr/bin/chromium")

# Flags from /work/shared/TESTING.md, plus:
# --disable-quic: nothing but our own server is reachable; no QUIC probing.
# --disable-features=WebRtcHideLocalIpsWithMdns: host candidates as plain addresses; mDNS names
#   would make the peer resolve them by multicast, which must never leave this machine.
#   Chromium keeps only the last --disable-features switch (seen in chrome://version), so ours
#   replaces Playwright's own list: DISABLED_FEATURES repeats the entries of that list that keep
#   the browser quiet on the network and navigations on plain http.
BASE_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-quic",
)
DISABLED_FEATURES: tuple[str, ...] = (
    "WebRtcHideLocalIpsWithMdns",
    # from Playwright's defaults:
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "MediaRouter",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "PaintHolding",
)


def chromium_available() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def ip_available() -> bool:
    return shutil.which("ip") is not None


def is_root() -> bool:
    return os.geteuid() == 0


def write_namespace_wrapper(directory: Path, namespace: BrowserNamespace) -> Path:
    """An executable that runs Chromium inside `namespace` with the arguments it is given."""
    wrapper = directory / f"chromium-in-{namespace.name}"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"# Run Chromium inside network namespace {namespace.name} (Playwright's pipe fds pass through).\n"
        f'exec ip netns exec {namespace.name} {CHROMIUM} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return wrapper


def chromium_flags(
    *, fake_audio: Path | None = None, secure_origin: str | None = None,
    fake_video: Path | None = None,
) -> list[str]:
    """Command-line flags for one test browser.

    `secure_origin`: the server's http origin (e.g. http://10.213.7.1:8123), which Chromium must
    treat as secure or it hides `navigator.mediaDevices` (getUserMedia needs a secure context;
    only http://localhost counts as one without TLS).
    """
    flags = list(BASE_FLAGS)
    flags.append("--disable-features=" + ",".join(DISABLED_FEATURES))
    if fake_audio is not None:
        flags.append(f"--use-file-for-fake-audio-capture={fake_audio}")
    if fake_video is not None:
        flags.append(f"--use-file-for-fake-video-capture={fake_video}")
    if secure_origin is not None:
        flags.append(f"--unsafely-treat-insecure-origin-as-secure={secure_origin}")
    return flags


async def launch_in_namespace(
    playwright: Playwright,
    *,
    wrapper: Path,
    user_data_dir: Path,
    fake_audio: Path | None,
    fake_video: Path | None = None,
    secure_origin: str | None,
    headless: bool = True,
    viewport: ViewportSize | None = None,
    bypass_csp: bool = True,
) -> BrowserContext:
    """Start one Chromium process inside the namespace with a fresh profile in `user_data_dir`.

    `bypass_csp`: Playwright's `wait_for_function` evaluates strings, which the page's
    Content-Security-Policy forbids; tests/browser/test_access_browser.py runs with the policy
    in force (False) and never evaluates strings."""
    user_data_dir.mkdir(parents=True, exist_ok=False)  # fresh: never reuse a profile
    return await playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(wrapper),
        headless=headless,
        args=chromium_flags(fake_audio=fake_audio, secure_origin=secure_origin,
                            fake_video=fake_video),
        viewport=viewport or {"width": 1280, "height": 800},
        bypass_csp=bypass_csp,
        # Playwright's own temporary profile is not used: ours lives in the test's tmp_path.
    )
