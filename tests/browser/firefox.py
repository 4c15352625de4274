"""Debian's Firefox ESR for interoperability tests: a PulseAudio null sink (headless Firefox
runs WebAudio only with an output device) and a puppeteer-core driver (firefox_driver.mjs)
run inside the test's network namespace, spoken to one JSON line at a time."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIREFOX = Path("/usr/bin/firefox-esr")
DRIVER = HERE / "firefox_driver.mjs"

# fake devices (the microphone is a 1 kHz tone), media on a plain-http origin, no first-run
# noise, no traffic off the machine
PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.devices.insecure.enabled": True,
    "media.getusermedia.insecure.enabled": True,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "app.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
}
FIREFOX_TONE_HZ = 1000.0  # media.navigator.streams.fake's microphone


def firefox_available() -> bool:
    return FIREFOX.is_file() and shutil.which("pulseaudio") is not None and \
        (ROOT / "web" / "node_modules" / "puppeteer-core").is_dir()


class NullSink:
    """A private PulseAudio daemon with one null sink, for the test's Firefox."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "pulse.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, str]:
        env = {**os.environ, "PULSE_RUNTIME_PATH": str(self.folder), "HOME": str(self.folder)}
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
             "--use-pid-file=no", "--system=no",
             f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
             "--load=module-null-sink sink_name=rostrum_null"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(f"pulseaudio did not start: {err[-500:]}")
            time.sleep(0.05)
        return {"PULSE_SERVER": f"unix:{self.socket}"}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Firefox:
    """One Firefox process, driven from the namespace (`exec_prefix` from BrowserNamespace)."""

    def __init__(self, exec_prefix: list[str], env: dict[str, str], profile_home: Path) -> None:
        self.exec_prefix = exec_prefix
        self.env = {**os.environ, **env, "HOME": str(profile_home),
                    "MOZ_CRASHREPORTER_DISABLE": "1", "PUPPETEER_SKIP_DOWNLOAD": "1"}
        self.proc: asyncio.subprocess.Process | None = None
        self._next = 0
        self.log: list[str] = []

    async def start(self) -> str:
        self.proc = await asyncio.create_subprocess_exec(
            *self.exec_prefix, "node", str(DRIVER), str(FIREFOX), cwd=str(ROOT / "web"),
            env=self.env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        self._stderr = asyncio.ensure_future(self._read_stderr())
        return str(await self.call("launch", prefs=PREFS, timeout=60))

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace").rstrip())

    async def call(self, op: str, timeout: float = 30, **fields: Any) -> Any:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self._next += 1
        self.proc.stdin.write((json.dumps({"id": self._next, "op": op, **fields}) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise AssertionError("the Firefox driver exited:\n" + "\n".join(self.log[-30:]))
        reply = json.loads(line)
        if not reply["ok"]:
            raise AssertionError(f"firefox {op}: {reply['error']}\n" + "\n".join(self.log[-20:]))
        return reply["value"]

    async def eval(self, page: int, js: str, timeout: float = 30) -> Any:
        return await self.call("eval", page=page, js=js, timeout=timeout)

    async def wait(self, page: int, js: str, timeout: float = 25) -> Any:
        """Poll an expression until it is truthy (no string evaluation in the page)."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.eval(page, js)
            if value or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.25)

    async def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.returncode is None:
                await self.call("close", timeout=20)
        except Exception:
            pass
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        await self.proc.wait()
        self._stderr.cancel()
