"""Run the forwarding benchmark and print the table (docs/performance.md).

    python -m bench.run                      # full run: Rostrum and Janus, fan-out and
                                             # study-group mix, N = 10,50,100,200; MediaRelay
                                             # baseline at N = 1,2,4,8 (about 15 minutes)
    python -m bench.run --smoke              # CI: every system once at small N (< 1 minute)
    python -m bench.run --systems rostrum --scenarios fanout --n 10,50 --window 8
    python -m bench.run --profile rostrum:fanout:100   # py-spy on the SFU at that point
    python -m bench.run --systems rostrum-per-connection,rostrum --scenarios fanout \
        --n 50,100 --rx-path                 # before/after the worker's one UDP port
    python -m bench.run --systems rostrum --scenarios fanout --n 300 --soak-minutes 30
                                             # the soak (issue #16): N = 300 kept for 30
                                             # minutes, a window every --soak-every seconds
    python -m bench.run --systems rostrum-base,rostrum,janus --scenarios fanout,mix --n 300 \
        --base-src /tmp/main-export          # before (another checkout) / after / Janus
    python -m bench.run --systems rostrum,rostrum-workers2 --scenarios mix --n 300,600
                                             # the SFU in 2 worker processes, the meeting
                                             # spread over both past 1500 consumers (pipes;
                                             # --worker-max-consumers)

Every system under test runs in its own process, pinned to CPU 0 when the machine has two or
more; the load generator (one publisher process, --sub-procs subscriber processes) is pinned
to the other CPUs. Per measured window the bench reads from /proc the SFU's CPU time
(utime+stime of all its threads) and resident memory, and from the generator the packets each
subscriber received and their delay after the publisher sent them (shared clock). Results go
to stdout and to bench/out/results-*.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import procstat
from .media import OUT_DIR, MediaSpec, SendTimes, TailIndex, ensure_media, load_media
from .systems import ROOT, Janus, Process, Relay, Rostrum, janus_binary, pinned

FULL_N = [10, 50, 100, 200]
RELAY_N = [1, 2, 4, 8]
LOSS_OK = 0.01
NOISY_CPU_PCT = 10.0  # other processes used this share of the SFU's CPU: measure again


# ------------------------------------------------------------------ scenarios


@dataclass
class Scenario:
    name: str
    title: str
    publishers: list[dict[str, Any]]
    janus_streams: list[list[dict[str, Any]]]  # one choice per listener, in turn
    expect: tuple[int, int]  # (audio, video) streams per listener, unless it reports its own
    listen: list[str] = field(default_factory=list)  # Rostrum: channel per listener, in turn


FANOUT = Scenario(
    name="fanout",
    title="fan-out: 1 publisher (Opus + VP8) to N subscribers",
    publishers=[{"name": "floor", "audio": 0, "video": True, "role": "chair", "feed": 1}],
    janus_streams=[[{"feed": 1}]],
    expect=(1, 1),
)

LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"]

# The study-group mix: the floor (the chair's camera and microphone) and six interpreters,
# each live in the booth of one language. Every listener hears one language channel: on
# Rostrum it chooses it with `listen` (/interpretation) and receives the floor's seat (audio +
# video) and its channel slot; on Janus it subscribes to the floor's feed and to one
# interpreter's feed. Listener n takes language n mod 6.
MIX = Scenario(
    name="mix",
    title="study-group mix: floor video + floor audio + six language channels to N listeners",
    publishers=[{"name": "floor", "audio": 0, "video": True, "role": "chair", "feed": 1}] + [
        {"name": f"interpreter {lang}", "audio": k, "video": False, "role": "interpreter",
         "feed": 1 + k, "booth": lang} for k, lang in enumerate(LANGUAGES, start=1)],
    janus_streams=[[{"feed": 1}, {"feed": 2 + n}] for n in range(6)],
    expect=(2, 1),
    listen=LANGUAGES,
)

# The floor's voice alone (a plenary heard, not watched; the soak of issue #16 on a shared
# machine): the fan-out without the camera.
AUDIO = Scenario(
    name="audio",
    title="audio fan-out: 1 publisher (Opus) to N subscribers",
    publishers=[{"name": "floor", "audio": 0, "video": False, "role": "chair", "feed": 1}],
    janus_streams=[[{"feed": 1}]],
    expect=(1, 0),
)

SCENARIOS = {s.name: s for s in (FANOUT, MIX, AUDIO)}


# ------------------------------------------------------------------ generator processes


class GenProc:
    """One load-generator process (bench/loadgen.py), driven over its stdin/stdout."""

    def __init__(self, role: str, system: Process, media: Path, times: Path, log: Path,
                 cpus: set[int] | None) -> None:
        self.role = role
        kind = "rostrum" if system.name.startswith("rostrum") else system.name
        self.args = [sys.executable, "-m", "bench.loadgen", "--role", role, "--system",
                     kind, "--url", system.url, "--room", str(system.room),
                     "--media", str(media), "--times", str(times)]
        self.log = log
        self.cpus = cpus
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = open(self.log, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=log, preexec_fn=pinned(self.cpus),
            limit=64 * 1024 * 1024)
        hello = await self._read(60)
        if not hello.get("ready"):
            raise RuntimeError(f"generator did not start: {hello}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"generator {self.role} exited; see {self.log}")
        return dict(json.loads(line))

    async def call(self, cmd: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await self._read(timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"generator {self.role}: {cmd.get('op')} failed: {reply}")
        return reply

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await self.call({"op": "quit"}, timeout=20)
            await asyncio.wait_for(self.proc.wait(), 20)
        except Exception:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


# ------------------------------------------------------------------ one measured point


@dataclass
class Row:
    system: str
    scenario: str
    n: int
    subscribers: int = 0
    window_s: float = 0.0
    packets: int = 0  # forwarded packets received in the window, all subscribers
    pps: float = 0.0
    sfu_cpu_s: float = 0.0
    sfu_cpu_pct: float = 0.0
    cpu_us_per_packet: float = 0.0
    loss_mean: float = 0.0
    loss_max: float = 0.0
    loss_p95: float = 0.0
    delay_p50_ms: float | None = None
    delay_p99_ms: float | None = None
    rss_mb: float = 0.0
    gen_cpu_pct: list[float] = field(default_factory=list)
    setup_s: float = 0.0
    gc_long_pauses: int = -1  # --gc-watch: collector pauses >= 10 ms in the window
    gc_max_pause_ms: float = 0.0
    gc_pause_pct: float = 0.0
    setup_worst_answer_ms: float = 0.0  # slowest /healthz (Janus: info) while N joined
    window_worst_answer_ms: float = 0.0
    other_cpu_pct: float = 0.0
    sfu_runq_wait_pct: float = 0.0  # SFU threads runnable but waiting for a CPU
    sfu_cpu_other_pct: float = -1.0  # others' use of the SFU's own CPU (when pinned to one)
    streams: str = ""
    sfu_fds: int = 0  # open file descriptors of the SFU process at the end of the window
    sfu_udp_sockets: int = 0  # of which UDP sockets (ICE: one per connection, or the mux)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.subscribers >= self.n and self.packets > 0 and self.loss_max < LOSS_OK


def gc_pauses(row: Row, path: Path, t0: float, t1: float) -> None:
    """Rostrum's collector pauses of 10 ms or more inside the window (bench/gcwatch.py)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    inside = [took for at, _, took in data.get("long", []) if t0 <= at <= t1]
    row.gc_long_pauses = len(inside)
    row.gc_max_pause_ms = 1000 * max(inside, default=0.0)
    row.gc_pause_pct = 100 * sum(inside) / max(1e-9, t1 - t0)


def loop_turns(row: Row, path: Path, t0: float, t1: float) -> None:
    """--loop-watch (bench/loopwatch.py): the event loop's longest turns while the N joined,
    and what ran in them, in the row's notes (the log keeps every turn >= 10 ms)."""
    from .loopwatch import stalls_between, summary

    row.notes.append(f"joins: {summary(stalls_between(path, t0, t1))}")


def percentile_ms(hist: dict[int, int], bin_s: float, q: float) -> float | None:
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i in sorted(hist):
        seen += hist[i]
        if seen >= rank:
            return (i + 0.5) * bin_s * 1000
    return None


def figures(row: Row, scenario: Scenario, system: str, pub: dict[str, Any],
            subs: list[dict[str, Any]], index: TailIndex, expect: tuple[int, int]) -> None:
    """Loss per subscriber from sequence numbers (as an RTCP receiver report counts it: the
    span of sequence numbers seen in the window, less the packets received), plus whole
    streams that never arrived, counted at the publisher's rate. The re-encoding relay makes
    its own packets: there, loss is audio packets and video frames received against those the
    publisher sent."""
    sent = pub["sent"]
    audio_sent = [sent[s] for s in range(1, index.streams) if sent[s] > 0]
    avg_audio = sum(audio_sent) / max(1, len(audio_sent))
    losses = []
    packets = 0
    shapes: dict[str, int] = {}
    hist: dict[int, int] = {}
    bin_s = 50e-6
    for rep in subs:
        bin_s = rep.get("hist_bin_s", bin_s)
        for i, c in rep["hist"]:
            hist[i] = hist.get(i, 0) + c
        for sub in rep["subscribers"]:
            streams = sub["streams"]
            want_a, want_v = sub.get("expect") or expect
            received = sum(st["received"] for st in streams)
            packets += received
            if system == "relay":
                got = sum(st["frames"] for st in streams)
                want = pub["frames"]["audio"] * want_a + pub["frames"]["video"] * want_v
            else:
                got = received
                audio = sum(1 for st in streams if st["kind"] == "audio")
                video = sum(1 for st in streams if st["kind"] == "video")
                want = sum(max(st["expected"], st["received"]) for st in streams) + \
                    max(0, want_a - audio) * avg_audio + max(0, want_v - video) * sent[0]
            losses.append(min(1.0, max(0.0, 1 - got / want)) if want > 0 else 1.0)
            shape = f"{want_a}a+{want_v}v"
            shapes[shape] = shapes.get(shape, 0) + 1
    row.subscribers = len(losses)
    row.packets = packets
    row.pps = packets / row.window_s if row.window_s else 0.0
    if losses:
        ordered = sorted(losses)
        row.loss_mean = sum(losses) / len(losses)
        row.loss_max = ordered[-1]
        row.loss_p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    row.delay_p50_ms = percentile_ms(hist, bin_s, 0.50)
    row.delay_p99_ms = percentile_ms(hist, bin_s, 0.99)
    row.streams = ", ".join(f"{k}" if len(shapes) == 1 else f"{k} ({v})"
                            for k, v in sorted(shapes.items()))
    if packets:
        row.cpu_us_per_packet = row.sfu_cpu_s * 1e6 / packets


async def measure_point(system: Process, scenario: Scenario, n: int, pub: GenProc,
                        subs: list[GenProc], index: TailIndex, window_s: float,
                        expect: tuple[int, int], sfu_cpus: set[int] | None = None,
                        raw_dir: Path | None = None) -> Row:
    row = Row(system=system.name, scenario=scenario.name, n=n, window_s=window_s)
    gens = [pub, *subs]
    t0 = time.monotonic() + 0.5
    t1 = t0 + window_s
    await asyncio.gather(*(g.call({"op": "window", "t0": t0, "t1": t1}) for g in gens))
    workers = system.worker_pids() if isinstance(system, Rostrum) else []
    pids = [system.pid] + [g.pid for g in gens] + workers
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))
    own = sorted(sfu_cpus) if sfu_cpus and len(sfu_cpus) == 1 else []
    gc_log = getattr(system, "gc_log", None)
    before = procstat.sample(pids, time.monotonic(), own)
    await asyncio.sleep(max(0.0, t1 - time.monotonic()))
    after = procstat.sample(pids, time.monotonic(), own)
    row.rss_mb = procstat.rss_bytes(system.pid) / 2**20
    mem_log = getattr(system, "mem_log", None)
    if mem_log is not None and system.pid:
        os.kill(system.pid, signal.SIGUSR1)  # bench/memwatch.py: an allocation summary
        row.notes.append(f"allocations traced (--mem-watch): {mem_log.name}.*")
    row.sfu_fds, row.sfu_udp_sockets = procstat.descriptors(system.pid)
    await asyncio.sleep(1.2)  # late packets of the window (and the GC log's next write)
    if gc_log is not None:
        gc_pauses(row, gc_log, t0, t1)
    span = after.at - before.at
    row.sfu_cpu_s = after.cpu[system.pid] - before.cpu[system.pid]
    if workers:
        # the SFU is the server and its workers: CPU summed, and each one's in the notes
        each = [after.cpu[w] - before.cpu[w] for w in workers]
        row.notes.append(f"CPU: server {100 * row.sfu_cpu_s / span:.0f} %, "
                         + ", ".join(f"worker {i} {100 * c / span:.0f} %"
                                     for i, c in enumerate(each)))
        row.sfu_cpu_s += sum(each)
    row.sfu_cpu_pct = 100 * row.sfu_cpu_s / span
    row.gen_cpu_pct = [round(100 * (after.cpu[g.pid] - before.cpu[g.pid]) / span, 1)
                       for g in gens]
    row.sfu_runq_wait_pct = 100 * (after.wait[system.pid] - before.wait[system.pid]) / span
    if own:
        busy = after.cpu_busy[own[0]] - before.cpu_busy[own[0]]
        row.sfu_cpu_other_pct = max(0.0, 100 * (busy - row.sfu_cpu_s) / span)
    ours = sum(after.cpu[p] - before.cpu[p] for p in pids)
    row.other_cpu_pct = max(0.0, 100 * ((after.machine_busy - before.machine_busy) - ours)
                            / span)
    pub_report = await pub.call({"op": "report"})
    sub_reports = await asyncio.gather(*(s.call({"op": "report"}) for s in subs))
    figures(row, scenario, system.name, pub_report, list(sub_reports), index, expect)
    dropped = [s for s in pub_report.get("states", []) if s != "connected"]
    if dropped:
        row.notes.append(f"{len(dropped)} publisher connection(s) {'/'.join(set(dropped))}: "
                         "closed by the SFU (ICE consent expired under load?)")
    if raw_dir is not None:  # the generator's own counts, for a second look
        (raw_dir / f"raw-{system.name}-{scenario.name}-{n}-{int(t0)}.json").write_text(
            json.dumps({"pub": pub_report, "subs": [{k: v for k, v in r.items() if k != "hist"}
                                                    for r in sub_reports]}))
    if row.sfu_cpu_pct > 90:
        row.notes.append("SFU saturated (>90% of its core)")
    if any(c > 90 for c in row.gen_cpu_pct[1:]) or row.gen_cpu_pct[0] > 90:
        row.notes.append("generator saturated: figures may be the generator's limit")
    if row.other_cpu_pct > 20:
        row.notes.append(f"other load on the machine: {row.other_cpu_pct:.0f}% of a core")
    if row.sfu_cpu_other_pct > NOISY_CPU_PCT:
        row.notes.append(f"other processes used {row.sfu_cpu_other_pct:.0f}% of the SFU's CPU")
    if row.subscribers < n:
        row.notes.append(f"only {row.subscribers}/{n} subscribers connected")
    if row.gc_long_pauses > 0:
        row.notes.append(f"GC: {row.gc_long_pauses} pauses >= 10 ms, longest "
                         f"{row.gc_max_pause_ms:.0f} ms, {row.gc_pause_pct:.1f}% of the window")
    return row


# ------------------------------------------------------------------ one system, one scenario


class Prober:
    """Asks the system under test a trivial HTTP question every 200 ms (Rostrum and the relay:
    /healthz on the SFU's own event loop; Janus: `info`) and keeps the answer times: how long
    the control plane waits while the media plane is busy."""

    def __init__(self, system: Process) -> None:
        self.system = system
        self.samples: list[tuple[float, float]] = []  # (sent at, seconds to answer)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        import aiohttp

        if self.system.name == "janus":
            method, url, body = "POST", self.system.url, {"janus": "info", "transaction": "p"}
        else:
            method, url, body = "GET", f"{self.system.url}/healthz", None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while True:
                at = time.monotonic()
                try:
                    async with http.request(method, url, json=body) as response:
                        await response.read()
                    self.samples.append((at, time.monotonic() - at))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.samples.append((at, 30.0))
                await asyncio.sleep(max(0.0, at + 0.2 - time.monotonic()))

    def worst(self, since: float, until: float) -> float:
        inside = [d for at, d in self.samples if since <= at <= until]
        return max(inside) if inside else 0.0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def make_system(name: str, janus_event_loops: int, rostrum_src: str = "",
                gc_log: Path | None = None, max_consumers: int = 1500,
                mem_log: Path | None = None, loop_log: Path | None = None,
                base_src: str = "") -> Process:
    if name == "rostrum-base":
        # the baseline: Rostrum from another checkout (--base-src), in the same run
        if not base_src:
            raise SystemExit("rostrum-base needs --base-src (a checkout, its sfu._fanout "
                             "built in place)")
        return Rostrum(Path(base_src), gc_log, mem_log=mem_log, loop_log=loop_log,
                       name="rostrum-base")
    if name == "rostrum-uvloop":
        # the same tree on libuv's event loop (ROSTRUM_EVENT_LOOP=uvloop)
        return Rostrum(Path(rostrum_src) if rostrum_src else None, gc_log, mem_log=mem_log,
                       loop_log=loop_log, name="rostrum-uvloop", event_loop="uvloop")
    if name.startswith("rostrum-workers"):
        # the SFU in worker processes, a meeting spread over them past max_consumers
        return Rostrum(Path(rostrum_src) if rostrum_src else None, gc_log,
                       workers=int(name.removeprefix("rostrum-workers") or "2"),
                       max_consumers=max_consumers, mem_log=mem_log)
    if name in ("rostrum", "rostrum-per-connection", "rostrum-python-fanout"):
        # rostrum: the worker's one UDP port and the send path in C; rostrum-per-connection:
        # aioice's socket per connection (ROSTRUM_RTC_PORT=per-connection), the path before
        # the mux; rostrum-python-fanout: the mux with the Python send path
        # (ROSTRUM_FANOUT=python), the path before sfu/_fanout.c
        return Rostrum(Path(rostrum_src) if rostrum_src else None, gc_log,
                       rtc_port="per-connection" if name == "rostrum-per-connection" else "0",
                       fanout="python" if name == "rostrum-python-fanout" else "",
                       mem_log=mem_log, loop_log=loop_log)
    if name == "janus":
        return Janus(event_loops=janus_event_loops)
    return Relay()


def shared_dir(fallback: Path) -> Path:
    """Where the send-time array is mapped: memory (/dev/shm) when there is one."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else fallback


def split(count: int, parts: int) -> list[int]:
    base, extra = divmod(count, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def run_ramp(system_name: str, scenario: Scenario, ns: list[int], opts: argparse.Namespace,
                   media_path: Path, log_dir: Path) -> list[Row]:
    media = load_media(media_path)
    index = TailIndex(media)
    gc_log = log_dir / f"gc-{system_name}-{scenario.name}.json" if opts.gc_watch else None
    mem_log = log_dir / f"mem-{system_name}-{scenario.name}" if opts.mem_watch else None
    loop_log = log_dir / f"loop-{system_name}-{scenario.name}.json" \
        if opts.loop_watch and system_name.startswith("rostrum") else None
    system = make_system(system_name, opts.janus_event_loops, opts.rostrum_src, gc_log,
                         opts.worker_max_consumers, mem_log, loop_log, opts.base_src)
    rows: list[Row] = []
    times_path = shared_dir(log_dir) / \
        f"rostrum-bench-{os.getpid()}-{system_name}-{scenario.name}.times"
    times = SendTimes(times_path, index.size, create=True)
    gens: list[GenProc] = []
    sfu_cpus, gen_cpus = opts.sfu_cpus, opts.gen_cpus
    prefix = f"{system_name}/{scenario.name}"
    prober: Prober | None = None
    try:
        system_logs = log_dir / f"{system_name}-{scenario.name}"
        system_logs.mkdir(exist_ok=True)
        await system.start(system_logs, sfu_cpus)
        prober = Prober(system)
        prober.start()
        pub = GenProc("pub", system, media_path, times_path,
                      log_dir / f"gen-{system_name}-{scenario.name}.log", gen_cpus)
        subs = [GenProc("sub", system, media_path, times_path,
                        log_dir / f"gen-{system_name}-{scenario.name}.log", gen_cpus)
                for _ in range(opts.sub_procs)]
        gens = [pub, *subs]
        await asyncio.gather(*(g.start() for g in gens))
        peers = []
        for spec in scenario.publishers:
            peer = {"name": spec["name"], "audio": spec["audio"], "video": spec["video"],
                    "feed": spec["feed"], "booth": spec.get("booth")}
            if system_name.startswith("rostrum"):
                peer["token"] = system.tokens[spec["role"]]
            peers.append(peer)
        await pub.call({"op": "publish", "peers": peers}, timeout=120)
        current = 0
        for n in ns:
            add = split(n - current, len(subs))
            cmd: dict[str, Any] = {"op": "add", "concurrency": opts.concurrency}
            if system_name.startswith("rostrum"):
                cmd["token"] = system.tokens["observer"]
                cmd["listen"] = scenario.listen
            elif system_name == "janus":
                cmd["streams"] = scenario.janus_streams
            started = time.monotonic()
            replies = await asyncio.gather(*(
                s.call({**cmd, "count": k, "first": current + sum(add[:i])}, timeout=600)
                for i, (s, k) in enumerate(zip(subs, add, strict=True)) if k > 0))
            failed = sum(r["failed"] for r in replies)
            current = n
            setup_s = time.monotonic() - started
            # everyone receiving video too (it starts on a keyframe, and Rostrum's bandwidth
            # estimate starts below the camera's rate and probes up to it), then the warm-up
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                flows = await asyncio.gather(*(s.call({"op": "flowing", "within": 1.0,
                                                       "video": scenario.expect[1] > 0})
                                               for s in subs))
                if sum(f["flowing"] for f in flows) >= n - failed:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(opts.warmup)
            expect = scenario.expect if system_name != "relay" else (1, 1)
            setup_end = time.monotonic()
            row = await measure_point(system, scenario, n, pub, subs, index, opts.window,
                                      expect, sfu_cpus, log_dir)
            for _ in range(opts.retries):
                # other processes took the SFU's CPU: measure again, keep the quieter window
                if row.sfu_cpu_other_pct <= NOISY_CPU_PCT:
                    break
                again = await measure_point(system, scenario, n, pub, subs, index,
                                            opts.window, expect, sfu_cpus, log_dir)
                again.notes.append("measured twice (the quieter window kept)")
                row = min(row, again, key=lambda r: r.sfu_cpu_other_pct)
            row.setup_s = setup_s
            row.setup_worst_answer_ms = 1000 * prober.worst(started, setup_end)
            row.window_worst_answer_ms = 1000 * prober.worst(setup_end, time.monotonic())
            if loop_log is not None:
                loop_turns(row, loop_log, started, setup_end)
            if failed:
                row.notes.append(f"{failed} subscribers failed to connect: "
                                 f"{replies[0].get('errors')}")
            rows.append(row)
            print(f"  {prefix} N={n}: {row.pps:.0f} pkt/s, SFU {row.sfu_cpu_pct:.0f}% CPU, "
                  f"{row.cpu_us_per_packet:.1f} us/pkt, loss mean {100 * row.loss_mean:.2f}% "
                  f"max {100 * row.loss_max:.2f}%, delay p50 {fmt_ms(row.delay_p50_ms)} "
                  f"p99 {fmt_ms(row.delay_p99_ms)}, RSS {row.rss_mb:.0f} MB, gen CPU "
                  f"{row.gen_cpu_pct}%, setup {setup_s:.1f}s (slowest answer "
                  f"{row.setup_worst_answer_ms:.0f} ms, in window "
                  f"{row.window_worst_answer_ms:.0f} ms) {'; '.join(row.notes)}",
                  flush=True)
            if opts.profile == f"{system_name}:{scenario.name}:{n}":
                name = f"{system_name}-{scenario.name}-{n}"
                await asyncio.gather(profile(system.pid, opts, log_dir, name),
                                     profile(subs[0].pid, opts, log_dir, f"{name}-generator"))
            if row.loss_mean > 0.5:
                print(f"  {prefix}: more than half the packets lost at N={n}; "
                      "larger N not run", flush=True)
                break
        else:
            if opts.soak_minutes > 0 and rows:
                rows += await soak(system, scenario, rows[-1].n, pub, subs, index, opts,
                                   sfu_cpus, log_dir)
    finally:
        if prober is not None:
            await prober.stop()
        await asyncio.gather(*(g.stop() for g in gens), return_exceptions=True)
        system.stop()
        times.close()
        try:
            times_path.unlink()
        except OSError:
            pass
    return rows


async def soak(system: Process, scenario: Scenario, n: int, pub: GenProc,
               subs: list[GenProc], index: TailIndex, opts: argparse.Namespace,
               sfu_cpus: set[int] | None, log_dir: Path) -> list[Row]:
    """--soak-minutes: after the last N, keep the same listeners connected and measure one
    window after another for that long (issue #16: memory growth < 10 %, open descriptors
    stable, loss not rising). Each window is a row of its own (notes: "soak t=..."); the
    summary compares the first window with the last."""
    expect = scenario.expect if system.name != "relay" else (1, 1)
    window = opts.soak_every - 1.5  # measure_point waits ~1.5 s for late packets and reports
    rows: list[Row] = []
    start = time.monotonic()
    print(f"  soak: {system.name}/{scenario.name}, N={n}, {opts.soak_minutes:g} min, "
          f"a window every {opts.soak_every:g} s", flush=True)
    print("  | t (s) | RSS (MB) | fds | UDP sockets | subscribers | loss mean | loss max "
          "| delay p99 | SFU CPU |", flush=True)
    while time.monotonic() - start < opts.soak_minutes * 60:
        row = await measure_point(system, scenario, n, pub, subs, index, window, expect,
                                  sfu_cpus, log_dir)
        t = time.monotonic() - start
        row.notes.insert(0, f"soak t={t:.0f}s")
        rows.append(row)
        print(f"  | {t:.0f} | {row.rss_mb:.1f} | {row.sfu_fds} | {row.sfu_udp_sockets} "
              f"| {row.subscribers} | {100 * row.loss_mean:.2f} % | {100 * row.loss_max:.2f} % "
              f"| {fmt_ms(row.delay_p99_ms)} | {row.sfu_cpu_pct:.0f} % |", flush=True)
    if rows:
        first, last = rows[0], rows[-1]
        growth = (last.rss_mb - first.rss_mb) / first.rss_mb if first.rss_mb else 0.0
        print(f"  soak summary: {len(rows)} windows over {time.monotonic() - start:.0f} s; "
              f"RSS {first.rss_mb:.1f} -> {last.rss_mb:.1f} MB ({growth:+.1%}), max "
              f"{max(r.rss_mb for r in rows):.1f}; fds {first.sfu_fds} -> {last.sfu_fds} "
              f"(min {min(r.sfu_fds for r in rows)}, max {max(r.sfu_fds for r in rows)}); "
              f"loss mean first {100 * first.loss_mean:.2f} %, last "
              f"{100 * last.loss_mean:.2f} %, worst window "
              f"{100 * max(r.loss_mean for r in rows):.2f} %; "
              f"subscribers {first.subscribers} -> {last.subscribers}", flush=True)
    return rows


async def profile(pid: int, opts: argparse.Namespace, log_dir: Path, name: str) -> None:
    """Sample a process with py-spy for one window; write collapsed stacks and a summary."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("  profile: py-spy not found (pip install py-spy)", flush=True)
        return
    raw = log_dir / f"profile-{name}.txt"
    proc = await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--duration", str(int(opts.window)),
        "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        print(f"  profile failed: {err.decode()[-500:]}", flush=True)
        return
    from .profile import summarize

    summary = summarize(raw, top=30)
    (log_dir / f"profile-{name}.md").write_text(summary)
    print(f"  profile of {name}: {log_dir}/profile-{name}.md", flush=True)


# ------------------------------------------------------------------ report


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def machine() -> dict[str, Any]:
    import aiortc

    info: dict[str, Any] = {
        "nproc": os.cpu_count(), "cpu": procstat.cpu_model(),
        "python": platform.python_version(), "aiortc": aiortc.__version__,
        "kernel": platform.release(), "loadavg": os.getloadavg(),
    }
    binary = janus_binary()
    if binary:
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout
            info["janus"] = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                                  if line.startswith("Janus version")), "?")
        except Exception:
            info["janus"] = "?"
    return info


def markdown(rows: list[Row], info: dict[str, Any], opts: argparse.Namespace,
             skipped: list[str]) -> str:
    lines = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, Python "
             f"{info['python']}, aiortc {info['aiortc']}, Janus {info.get('janus', 'absent')}; "
             f"load average at start {info['loadavg'][0]:.2f}.",
             f"SFU pinned to CPUs {sorted(opts.sfu_cpus or [])}, generator to "
             f"{sorted(opts.gen_cpus or [])}; window {opts.window:g} s per point.", ""]
    lines += ["| system | scenario | CPU µs/packet | largest N at < 1 % loss | p99 added delay "
              "| packets/s | SFU RSS |", "|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.system, row.scenario), []).append(row)
    for (system, scenario), group in groups.items():
        clean = [r for r in group if r.clean]
        best = max(clean, key=lambda r: r.n) if clean else min(group, key=lambda r: r.n)
        largest = f"{best.n}" if clean else f"none (< {min(r.n for r in group)})"
        if clean and best is group[-1] and len(group) > 0:
            largest = f"≥ {best.n} (largest tried)" if best.n == max(r.n for r in group) \
                else largest
        lines.append(f"| {system} | {scenario} | {best.cpu_us_per_packet:.1f} (N={best.n}) | "
                     f"{largest} | {fmt_ms(best.delay_p99_ms)} | {best.pps:.0f} | "
                     f"{best.rss_mb:.0f} MB |")
    lines += ["", "| system | scenario | N | streams/sub | packets/s | SFU CPU | µs/packet | "
              "loss mean / p95 / max | delay p50 / p99 | SFU RSS | generator CPU (pub/sub) | "
              "others on SFU's CPU | slowest control answer (join / window) | "
              "SFU fds / UDP sockets | notes |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.system} | {r.scenario} | {r.n} | {r.streams} | {r.pps:.0f} | "
            f"{r.sfu_cpu_pct:.0f} % | {r.cpu_us_per_packet:.1f} | "
            f"{100 * r.loss_mean:.2f} / {100 * r.loss_p95:.2f} / {100 * r.loss_max:.2f} % | "
            f"{fmt_ms(r.delay_p50_ms)} / {fmt_ms(r.delay_p99_ms)} | {r.rss_mb:.0f} MB | "
            f"{'/'.join(f'{c:.0f}' for c in r.gen_cpu_pct)} % | "
            f"{'n/a' if r.sfu_cpu_other_pct < 0 else f'{r.sfu_cpu_other_pct:.0f} %'} | "
            f"{r.setup_worst_answer_ms:.0f} / {r.window_worst_answer_ms:.0f} ms | "
            f"{r.sfu_fds} / {r.sfu_udp_sockets} | {'; '.join(r.notes)} |")
    for s in skipped:
        lines.append(f"\nskipped: {s}")
    return "\n".join(lines) + "\n"


def sanity(rows: list[Row]) -> list[str]:
    problems = []
    for r in rows:
        where = f"{r.system}/{r.scenario}/N={r.n}"
        if r.packets <= 0:
            problems.append(f"{where}: no packet forwarded")
        if not 0 <= r.loss_max <= 1:
            problems.append(f"{where}: loss {r.loss_max} out of range")
        if r.cpu_us_per_packet <= 0:
            problems.append(f"{where}: CPU per packet {r.cpu_us_per_packet}")
        if r.rss_mb <= 0:
            problems.append(f"{where}: no resident memory")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="CI mode: every system once at small N, short windows")
    parser.add_argument("--systems", default="rostrum,janus,relay")
    parser.add_argument("--scenarios", default="fanout,mix")
    parser.add_argument("--n", default=",".join(map(str, FULL_N)),
                        help="subscriber counts for Rostrum and Janus")
    parser.add_argument("--relay-n", default=",".join(map(str, RELAY_N)),
                        help="subscriber counts for the MediaRelay baseline (fan-out only)")
    parser.add_argument("--window", type=float, default=8.0, help="measured seconds per point")
    parser.add_argument("--warmup", type=float, default=4.0,
                        help="seconds after every subscriber receives, before measuring")
    parser.add_argument("--sub-procs", type=int, default=1, help="subscriber processes")
    parser.add_argument("--worker-max-consumers", type=int, default=1500,
                        help="rostrum-workersN: ROSTRUM_WORKER_MAX_CONSUMERS (a meeting's "
                             "listeners go to other workers past it)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="subscribers connecting at once, per process")
    parser.add_argument("--retries", type=int, default=2,
                        help="windows measured again when other processes took the SFU's CPU")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--nice", type=int, default=-10,
                        help="scheduling priority of every bench process (as root; 0: leave)")
    parser.add_argument("--janus-event-loops", type=int, default=1,
                        help="Janus event_loops: 1 (default here) = one loop thread for all "
                             "handles, as many as the CPUs Janus is pinned to; 0 = Janus's own "
                             "default, one thread per handle")
    parser.add_argument("--profile", default="",
                        help="system:scenario:N at which to sample the SFU with py-spy")
    parser.add_argument("--gc-watch", action="store_true",
                        help="record Rostrum's garbage-collector pauses (bench/gcwatch.py)")
    parser.add_argument("--loop-watch", action="store_true",
                        help="record Rostrum's event-loop turns >= 10 ms and what ran in them "
                             "(bench/loopwatch.py; --show the log)")
    parser.add_argument("--mem-watch", action="store_true",
                        help="trace Rostrum's allocations, a summary per point "
                             "(bench/memwatch.py; slows it down: not for CPU figures)")
    parser.add_argument("--rostrum-src", default="",
                        help="run Rostrum from this checkout (default: this one), e.g. to "
                             "measure a patched forwarding path")
    parser.add_argument("--base-src", default="",
                        help="the checkout system rostrum-base runs (its sfu._fanout built "
                             "in place), e.g. main before a change, side by side with "
                             "rostrum in the same run")
    parser.add_argument("--rx-path", action="store_true",
                        help="also time the receive path's first stage (socket callback to "
                             "the ICE queue) on aioice's own socket and on the worker's UDP "
                             "mux, side by side (bench/rx_path.py)")
    parser.add_argument("--soak-minutes", type=float, default=0.0,
                        help="after the last N, keep its listeners and measure a window every "
                             "--soak-every seconds for this long (memory, descriptors, loss)")
    parser.add_argument("--soak-every", type=float, default=30.0,
                        help="seconds per soak window (at least 3)")
    parser.add_argument("--out", default=str(OUT_DIR))
    opts = parser.parse_args(argv)
    if opts.smoke:
        opts.n = "3"
        opts.relay_n = "1"
        opts.scenarios = "fanout"
        opts.window = min(opts.window, 2.0)
        opts.warmup = min(opts.warmup, 2.5)
        opts.retries = 0
        if opts.soak_minutes == 0:  # the soak's loop too: two short windows
            opts.soak_minutes, opts.soak_every = 0.1, 3.0
    if opts.soak_minutes > 0 and opts.soak_every < 3:
        parser.error("--soak-every must be at least 3 seconds")
    from . import systems

    systems.NICE = opts.nice
    cpus = sorted(os.sched_getaffinity(0))
    if opts.no_pin or len(cpus) < 2:
        opts.sfu_cpus = opts.gen_cpus = None
    else:
        opts.sfu_cpus = {cpus[0]}
        opts.gen_cpus = set(cpus[1:])
    return opts


def prepare_out(opts: argparse.Namespace, stamp: str) -> tuple[Path, Path]:
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    log_dir = out / f"logs-{stamp}"
    log_dir.mkdir()
    return out, log_dir


def write_results(out: Path, stamp: str, text: str, payload: dict[str, Any]) -> None:
    (out / f"results-{stamp}.md").write_text(text)
    (out / f"results-{stamp}.json").write_text(json.dumps(payload, indent=1))
    shutil.copy(out / f"results-{stamp}.md", out / "results-latest.md")


async def main_async(opts: argparse.Namespace) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out, log_dir = prepare_out(opts, stamp)
    spec = MediaSpec(seconds=4, width=320, height=180, video_bps=300_000) if opts.smoke \
        else MediaSpec()
    started = time.monotonic()
    media_path = await asyncio.get_running_loop().run_in_executor(None, ensure_media, spec)
    print(f"media: {media_path.name} ({time.monotonic() - started:.1f} s)", flush=True)
    info = machine()
    ns = [int(x) for x in opts.n.split(",") if x]
    relay_ns = [int(x) for x in opts.relay_n.split(",") if x]
    rows: list[Row] = []
    skipped: list[str] = []
    systems = [s for s in opts.systems.split(",") if s]
    for scenario_name in [s for s in opts.scenarios.split(",") if s]:
        scenario = SCENARIOS[scenario_name]
        for system in systems:
            if system == "relay" and scenario.name != "fanout":
                continue
            if system == "janus" and janus_binary() is None:
                skipped.append("janus (not installed: apt-get install janus)")
                continue
            print(f"{system}: {scenario.title}", flush=True)
            try:
                rows += await run_ramp(system, scenario, relay_ns if system == "relay" else ns,
                                       opts, media_path, log_dir)
            except Exception as exc:
                print(f"  {system}/{scenario.name} failed: {type(exc).__name__}: {exc}",
                      flush=True)
                skipped.append(f"{system}/{scenario.name} failed: {exc}")
    text = markdown(rows, info, opts, sorted(set(skipped)))
    if opts.rx_path:
        from . import rx_path

        rx = await rx_path.measure(packets=20_000 if opts.smoke else 100_000)
        text += "\n" + rx_path.markdown(rx)
    problems = sanity(rows)
    write_results(out, stamp, text, {"machine": info, "rows": [asdict(r) for r in rows],
                                     "skipped": skipped, "argv": sys.argv[1:]})
    print("\n" + text)
    print(f"(results in {out}/results-{stamp}.md, logs in {log_dir}; "
          f"{time.monotonic() - started:.0f} s)")
    failed = [s for s in skipped if "failed" in s]
    if problems or failed or not rows:
        # in smoke mode (CI) the harness itself is under test; in a full run a point where
        # the system under test broke down is a result, not a harness failure
        print(("NOT SANE: " if opts.smoke else "note: ") +
              "; ".join(problems + failed or ["no results"]), file=sys.stderr)
        return 1 if opts.smoke or not rows or failed else 0
    return 0


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    sys.exit(asyncio.run(main_async(opts)))


if __name__ == "__main__":
    main()
