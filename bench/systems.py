"""The systems under test, started by the bench as processes of their own, on loopback.

- `Rostrum`: `python -m meeting_server --demo` with a throw-away data folder; the join
  tokens are read from the links it prints.
- `Janus`: Debian's `janus` with a configuration folder generated here: only the VideoRoom
  plugin and the HTTP transport (127.0.0.1), ICE gathering enforced to `lo`, no STUN/TURN
  server, no event handlers, mDNS ignored. A room is created through the HTTP API.
- `Relay`: bench/relay.py (aiortc MediaRelay, re-encoding).

Each is pinned to the CPUs it is given (`os.sched_setaffinity` before exec, so every thread
inherits it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from .media import OUT_DIR

ROOT = Path(__file__).resolve().parent.parent
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")

logger = logging.getLogger("bench.systems")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NICE = -10  # the bench's processes (root only): other work on the machine yields to them


def pinned(cpus: set[int] | None, nice: int | None = None) -> Any:
    """A pre-exec hook: pin the child to ``cpus`` and raise its scheduling priority, so that
    what else runs on the machine disturbs the measured processes less (same for every
    system and for the generator)."""
    nice = NICE if nice is None else nice

    def setup() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        if nice:
            # With sched_autogroup (Linux's default on desktops and on this kind of machine)
            # CPU time is shared between sessions first, and a process's nice value counts
            # only inside its session: the child gets a session of its own, and that
            # session's autogroup gets the nice value.
            try:
                os.setsid()
            except OSError:
                pass
            try:
                with open("/proc/self/autogroup", "w") as f:
                    f.write(str(nice))
            except OSError:
                pass
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except OSError:  # not root: normal priority
                pass

    return setup


async def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None,
                    method: str = "GET", body: Any = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
            try:
                async with http.request(method, url, json=body) as response:
                    if response.status < 500:
                        return await response.json(content_type=None)
            except Exception as exc:
                last = exc
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s ({last})")


class Process:
    """A started system: its process, what the generator needs, and how to stop it."""

    name = "?"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.url = ""
        self.room = 0
        self.tokens: dict[str, str] = {}
        self._tmp: Path | None = None
        self._log: Any = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, log_dir: Path, cpus: set[int] | None) -> None:
        raise NotImplementedError

    def _launch(self, args: list[str], *, cwd: Path, log_path: Path, cpus: set[int] | None,
                env: dict[str, str] | None = None, pipe_stdout: bool = False) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdout else self._log, stderr=self._log,
            preexec_fn=pinned(cpus))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if self._log is not None:
            self._log.close()
            self._log = None


class Rostrum(Process):
    name = "rostrum"

    def __init__(self, source: Path | None = None, gc_log: Path | None = None,
                 rtc_port: str = "0", workers: int = 0, max_consumers: int = 1500,
                 fanout: str = "", mem_log: Path | None = None,
                 loop_log: Path | None = None, name: str = "",
                 event_loop: str = "") -> None:
        super().__init__()
        # set: run under bench/loopwatch.py, the event loop's long turns written there
        self.loop_log = loop_log
        self.event_loop = event_loop  # ROSTRUM_EVENT_LOOP: "" (asyncio's), uvloop
        # set: run under bench/memwatch.py, allocation summaries written there (SIGUSR1)
        self.mem_log = mem_log
        self.source = source or ROOT  # a checkout of Rostrum (another one: an A/B test)
        self.gc_log = gc_log  # set: run under bench/gcwatch.py, GC pauses written there
        self.rtc_port = rtc_port  # ROSTRUM_RTC_PORT: 0, a free port for the worker's mux
        # ROSTRUM_WORKERS; with worker processes a meeting spreads past max_consumers on
        # its home worker (1500: a study group's 150 listeners of 10 consumers each)
        self.workers = workers
        self.max_consumers = max_consumers
        self.fanout = fanout  # ROSTRUM_FANOUT: "" (the server's default), c or python
        if name:
            self.name = name  # e.g. rostrum-base: another checkout, side by side
        elif rtc_port == "per-connection":
            self.name = "rostrum-per-connection"
        elif fanout == "python":
            self.name = "rostrum-python-fanout"
        elif workers:
            self.name = f"rostrum-workers{workers}"

    def worker_pids(self) -> list[int]:
        """The server's worker processes (its children), none in-process."""
        if not self.workers or self.proc is None:
            return []
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    async def start(self, log_dir: Path, cpus: set[int] | None) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="rostrum-bench-"))
        port = free_port()
        env = {**os.environ, "ROSTRUM_DATA_DIR": str(self._tmp), "ROSTRUM_PORT": str(port),
               "ROSTRUM_RTC_ADDRESSES": "127.0.0.1", "ROSTRUM_SECRET": "bench-secret",
               "REDIS_URL": "", "ROSTRUM_ICE_SERVERS": "", "PYTHONUNBUFFERED": "1",
               "ROSTRUM_RTC_PORT": self.rtc_port, "ROSTRUM_WORKERS": str(self.workers),
               "ROSTRUM_WORKER_MAX_CONSUMERS": str(self.max_consumers),
               "PYTHONPATH": str(self.source)}
        if self.fanout:
            env["ROSTRUM_FANOUT"] = self.fanout
        if self.event_loop:
            env["ROSTRUM_EVENT_LOOP"] = self.event_loop
        module = "meeting_server"
        if self.gc_log is not None:
            module = "bench.gcwatch"
            env["PYTHONPATH"] = f"{self.source}{os.pathsep}{ROOT}"
            env["BENCH_GC_LOG"] = str(self.gc_log)
        elif self.loop_log is not None:
            module = "bench.loopwatch"
            env["PYTHONPATH"] = f"{self.source}{os.pathsep}{ROOT}"
            env["BENCH_LOOP_LOG"] = str(self.loop_log)
        elif self.mem_log is not None:
            module = "bench.memwatch"
            env["PYTHONPATH"] = f"{self.source}{os.pathsep}{ROOT}"
            env["BENCH_MEM_LOG"] = str(self.mem_log)
        self._launch([sys.executable, "-m", module, "--demo"], cwd=self.source,
                     log_path=log_dir / "rostrum.log", cpus=cpus, env=env, pipe_stdout=True)
        assert self.proc is not None
        self.url = f"http://127.0.0.1:{port}"
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline and len(self.tokens) < 6:
            line = (await loop.run_in_executor(None, self.proc.stdout.readline)).decode()
            if not line:
                raise RuntimeError(f"Rostrum exited; see {self.log_path}")
            m = re.match(r"\s+(\w+)\s+(http\S+)\?t=(\S+)", line)
            if m:
                self.tokens[m.group(1)] = m.group(3)
        if len(self.tokens) < 6:
            raise TimeoutError("Rostrum printed no join links")
        # keep draining stdout so the server never blocks on a full pipe
        stdout = self.proc.stdout
        log = self._log

        def drain() -> None:
            for chunk in iter(lambda: stdout.read(4096), b""):
                log.write(chunk)

        loop.run_in_executor(None, drain)
        await wait_http(f"{self.url}/healthz", 30, self.proc)


class Relay(Process):
    name = "relay"

    async def start(self, log_dir: Path, cpus: set[int] | None) -> None:
        port = free_port()
        self._launch([sys.executable, "-m", "bench.relay", "--port", str(port)], cwd=ROOT,
                     log_path=log_dir / "relay.log", cpus=cpus)
        self.url = f"http://127.0.0.1:{port}"
        await wait_http(f"{self.url}/healthz", 30, self.proc)


SHIM_SOURCE = Path(__file__).resolve().parent / "janus_lo.c"


def build_loopback_shim(out_dir: Path) -> Path:
    """Compile bench/janus_lo.c (a getifaddrs wrapper that leaves Janus only 127.0.0.1)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "janus_lo.so"
    if target.exists() and target.stat().st_mtime >= SHIM_SOURCE.stat().st_mtime:
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler to build bench/janus_lo.c (apt-get install gcc)")
    tmp = target.with_suffix(f".tmp{os.getpid()}.so")
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(SHIM_SOURCE),
                    "-ldl"], check=True, capture_output=True)
    os.replace(tmp, target)
    return target


def janus_binary() -> str | None:
    path = shutil.which("janus")
    if path is None:
        return None
    if not (JANUS_LIB / "plugins" / "libjanus_videoroom.so").exists() or \
            not (JANUS_LIB / "transports" / "libjanus_http.so").exists():
        return None
    return path


JANUS_JCFG = """\
general: {{
	configs_folder = "{conf}"
	plugins_folder = "{plugins}"
	transports_folder = "{transports}"
	events_folder = "{events}"
	loggers_folder = "{loggers}"
	debug_level = 3
	session_timeout = 0
	server_name = "rostrum-bench"
	event_loops = {event_loops}
}}
certificates: {{
}}
media: {{
	no_media_timer = 0
}}
nat: {{
	nice_debug = false
	ice_enforce_list = "lo"
	ignore_mdns = true
}}
plugins: {{
}}
transports: {{
}}
loggers: {{
}}
events: {{
	broadcast = false
}}
"""

JANUS_HTTP = """\
general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
"""

JANUS_VIDEOROOM = """\
general: {
}
"""


class Janus(Process):
    """Debian's Janus with the VideoRoom plugin, on 127.0.0.1 only."""

    name = "janus"

    def __init__(self, event_loops: int = 0) -> None:
        super().__init__()
        self.event_loops = event_loops

    async def start(self, log_dir: Path, cpus: set[int] | None) -> None:
        binary = janus_binary()
        if binary is None:
            raise RuntimeError("janus with the VideoRoom plugin and HTTP transport is not "
                               "installed (apt-get install janus)")
        port = free_port()
        self._write_config(binary, port, log_dir, cpus)
        self.url = f"http://127.0.0.1:{port}/janus"
        await wait_http(self.url, 30, self.proc, method="POST",
                        body={"janus": "info", "transaction": "info"})
        self.room = await self._create_room()

    def _write_config(self, binary: str, port: int, log_dir: Path, cpus: set[int] | None
                      ) -> None:
        """Generate the configuration folder and start Janus with it."""
        self._tmp = tmp = Path(tempfile.mkdtemp(prefix="janus-bench-"))
        folders = {k: tmp / k for k in ("conf", "plugins", "transports", "events", "loggers")}
        for folder in folders.values():
            folder.mkdir()
        # only the VideoRoom plugin and the HTTP transport are loaded
        (folders["plugins"] / "libjanus_videoroom.so").symlink_to(
            JANUS_LIB / "plugins" / "libjanus_videoroom.so")
        (folders["transports"] / "libjanus_http.so").symlink_to(
            JANUS_LIB / "transports" / "libjanus_http.so")
        (folders["conf"] / "janus.jcfg").write_text(JANUS_JCFG.format(
            event_loops=self.event_loops, **{k: str(v) for k, v in folders.items()}))
        (folders["conf"] / "janus.transport.http.jcfg").write_text(JANUS_HTTP.format(port=port))
        (folders["conf"] / "janus.plugin.videoroom.jcfg").write_text(JANUS_VIDEOROOM)
        shim = build_loopback_shim(OUT_DIR)
        env = {**os.environ, "LD_PRELOAD": str(shim)}
        self._launch([binary, "-F", str(folders["conf"]), "-C",
                      str(folders["conf"] / "janus.jcfg"), "-o", "-i", "127.0.0.1"],
                     cwd=tmp, log_path=log_dir / "janus.log", cpus=cpus, env=env)

    async def _create_room(self) -> int:
        from .clients import JanusSession

        session = JanusSession(self.url)
        await session.start()
        try:
            handle = await session.attach()
            room = 4242
            await handle.request({"request": "create", "room": room, "publishers": 16,
                                  "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0,
                                  "fir_freq": 0, "notify_joining": False,
                                  "description": "bench"})
            return room
        finally:
            await session.close()
