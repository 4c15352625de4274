"""kill -9 the server during a meeting: after a restart the floor log and the attendance
register are complete."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp

from tests.harness import free_port, wait_listening
from tests.peers import TestPeer

ROOT = Path(__file__).resolve().parents[2]


def spawn(data: Path, port: int, demo: bool = True, **extra: str) -> subprocess.Popen[str]:
    """A server process on ``data`` (its folder and SQLite file), with ``--demo`` or not."""
    env = {**os.environ, "ROSTRUM_DATA_DIR": str(data), "ROSTRUM_PORT": str(port),
           "ROSTRUM_RTC_ADDRESSES": "127.0.0.1", "REDIS_URL": "", "ROSTRUM_RTC_PORT": "0",
           **extra}
    return subprocess.Popen([sys.executable, "-m", "meeting_server",
                             *(["--demo"] if demo else [])], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_up(proc: subprocess.Popen[str], port: int) -> None:
    """A server spawned without ``--demo`` listens (or is killed: the test fails)."""
    try:
        wait_listening(port, timeout=45)  # a start on a loaded machine is slow
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    _drain(proc)


def _drain(proc: subprocess.Popen[str]) -> None:
    # the server goes on logging to the pipe: read it, so that a full pipe never stalls it
    lines: collections.deque[str] = collections.deque(maxlen=200)
    threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True).start()
    proc.log_tail = lines  # type: ignore[attr-defined]  # for a failing test's message


def start(data: Path, port: int, **extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """A ``--demo`` server process; returns it and the demo meeting's tokens by role."""
    proc = spawn(data, port, **extra)
    return proc, links(proc, port)


def links(proc: subprocess.Popen[str], port: int) -> dict[str, str]:
    """The demo meeting's tokens by role, as a ``--demo`` server prints them; once it
    listens."""
    links: dict[str, str] = {}
    deadline = time.monotonic() + 45  # a start on a loaded machine (2 cores shared) is slow
    assert proc.stdout is not None
    try:
        while len(links) < 6 and time.monotonic() < deadline:
            parts = proc.stdout.readline().split()
            if len(parts) == 2 and parts[1].startswith("http"):
                links[parts[0]] = parts[1].split("t=", 1)[1]
        assert len(links) == 6, links
        wait_listening(port)
    except BaseException:
        proc.kill()  # a server that did not come up is not left running
        proc.wait(timeout=10)
        raise
    _drain(proc)
    return links



def test_floor_log_and_attendance_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # no resume grace: everyone's presence ends with the restart (with a grace, they stay
    # present for a resume: test_restart_resume.py, and leave "dropped" when it ends)
    no_grace = {"ROSTRUM_RESUME_GRACE_S": "0"}
    proc, tokens = start(tmp_path, port, **no_grace)
    try:
        async def meeting() -> None:
            chair = TestPeer(base, tokens["chair"], "Chair")
            ana = TestPeer(base, tokens["delegate"], "Ana")
            ben = TestPeer(base, tokens["delegate"], "Ben")
            for peer, state in ((chair, ""), (ana, "Kenya"), (ben, "Peru")):
                await peer.join(memberState=state)
            rid = (await ana.floor("request", {"note": "on the liaison"}))["request"]["id"]
            await ben.floor("request", {"kind": "point-of-order"})
            assert (await chair.floor("grant", {"requestId": rid, "language": "fr"}))["ok"]
            assert (await chair.floor("lock", {"locked": True}))["ok"]
            await asyncio.sleep(1.2)  # Ana speaks; then the server dies mid-intervention
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)
            for peer in (chair, ana, ben):
                await peer.close()

        asyncio.run(meeting())
    finally:
        if proc.poll() is None:
            proc.kill()
    proc2, tokens2 = start(tmp_path, port, **no_grace)
    try:
        async def read() -> tuple[list[dict[str, object]], str]:
            async with aiohttp.ClientSession() as http:
                url = f"{base}/api/meetings/demo"
                auth = {"Authorization": "Bearer " + tokens2["chair"]}
                log = await (await http.get(f"{url}/floor-log.json", headers=auth)).json()
                attendance = await (await http.get(f"{url}/attendance.csv",
                                                   headers=auth)).text()
                return log, attendance

        log, attendance = asyncio.run(read())

        async def refused() -> None:
            # nobody may resume (no grace), yet the chair's lock holds: a delegate who
            # opens the meeting again is refused (meeting_server/live_state.py)
            late = TestPeer(base, tokens2["delegate"], "Late")
            try:
                await late.connect()
                reply = await late.call("/room", "join", {"name": "Late"})
                assert reply["error"]["code"] == "meeting-closed", reply
            finally:
                await late.close()

        asyncio.run(refused())
        events = [(row["event"], row["name"]) for row in log]
        assert ("request", "Ana") in events and ("request", "Ben") in events
        assert ("intervention-start", "Ana") in events
        end = next(row for row in log if row["event"] == "intervention-end")
        assert end["name"] == "Ana" and end["reason"] == "server-restart"
        assert end["language"] == "fr" and end["duration_s"] >= 1.0
        lines = attendance.strip().splitlines()
        assert len(lines) == 4, attendance  # header + three participants
        for line in lines[1:]:
            assert "server-restart" in line and ",," not in line.split("delegate")[-1][:3]
    finally:
        proc2.terminate()
        proc2.wait(timeout=10)
