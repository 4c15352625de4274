"""sfu/worker_client.py's liveness rule for worker processes: a worker that does not answer
its load request and used no CPU meanwhile is hung and killed at once; one that kept a core
busy is starved (an overloaded machine), not hung, and is killed only after BUSY_MAX_S.
Real processes (a spinning and a sleeping Python) behind a real Connection whose far end
never answers."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sfu import worker_client
from sfu.worker_client import Connection, WorkerPool, WorkerSlot, process_cpu_s

SPIN = "while True: pass"
SLEEP = "import time; time.sleep(60)"


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_client, "LOAD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(worker_client, "BUSY_MAX_S", 1.6)


async def silent_slot(code: str, tmp_path: Path) -> AsyncIterator[tuple[WorkerPool, WorkerSlot]]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    pool = WorkerPool(1, {}, run_dir=tmp_path)
    slot = pool.slots[0]
    slot.process, slot.up = process, True
    slot.connection = Connection(slot.name, reader, writer, lambda _: None, lambda: None)
    try:
        yield pool, slot
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await slot.connection.close()
        writer.close()
        theirs.close()


async def test_a_hung_worker_is_killed_at_the_first_unanswered_request(
        short_timeouts: None, tmp_path: Path) -> None:
    async for pool, slot in silent_slot(SLEEP, tmp_path):
        await asyncio.sleep(0.3)  # the interpreter's start-up is over
        await pool._poll_one(slot)
        assert slot.process is not None
        assert await asyncio.wait_for(slot.process.wait(), 2) == -9


async def test_a_busy_worker_is_given_time_and_killed_after_busy_max(
        short_timeouts: None, tmp_path: Path) -> None:
    async for pool, slot in silent_slot(SPIN, tmp_path):
        assert slot.process is not None
        await pool._poll_one(slot)  # 0.5 s unanswered, a core busy: overloaded
        await pool._poll_one(slot)  # 1.0 s
        with pytest.raises(TimeoutError):  # still running
            await asyncio.wait_for(asyncio.shield(slot.process.wait()), 0.3)
        cpu = process_cpu_s(slot.pid)
        assert cpu is not None and cpu > 0.5
        await pool._poll_one(slot)  # 1.5 s
        await pool._poll_one(slot)  # 2.0 s > BUSY_MAX_S: killed all the same
        assert await asyncio.wait_for(slot.process.wait(), 2) == -9


def test_cpu_of_a_process_that_is_not_there() -> None:
    assert process_cpu_s(0) is None
    assert process_cpu_s(2**22 + 12345) is None
