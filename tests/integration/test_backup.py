"""Online backup while the meeting goes on, and a restore that brings every record back:
`python -m meeting_server backup DEST` and `restore BACKUP`, run as an operator runs them."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.harness import free_port
from tests.integration.test_bad_input import refused
from tests.integration.test_restart import ROOT, start
from tests.peers import TestPeer


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meeting_server", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


async def records(base: str, chair_token: str) -> tuple[list[dict], list[dict]]:
    headers = {"Authorization": f"Bearer {chair_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/meetings/demo/floor-log.json", headers=headers) as r:
            assert r.status == 200, await r.text()
            log = await r.json()
        async with http.get(f"{base}/api/meetings/demo/attendance.json", headers=headers) as r:
            attendance = await r.json()
    return log, attendance


async def test_online_backup_and_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, tokens = start(data, port)
    try:
        chair = TestPeer(base, tokens["chair"], "Chair")
        ana = TestPeer(base, tokens["delegate"], "Ana")
        await chair.join()
        await ana.join(memberState="Kenya")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/api/meetings/demo/invitations",
                                 json={"name": "Ben Okafor", "memberState": "Nigeria"},
                                 headers={"Authorization": f"Bearer {tokens['secretariat']}"}
                                 ) as r:
                assert r.status == 201
                ben_token = (await r.json())["link"].split("t=", 1)[1]
        ben = TestPeer(base, ben_token, "Ben")
        await ben.join()
        rid = (await ana.floor("request", {"note": "on item 3"}))["request"]["id"]
        assert (await chair.floor("grant", {"requestId": rid}))["ok"]
        assert (await chair.floor("remove", {"participantId": ben.participant_id}))["ok"]

        async def keep_writing() -> int:  # the meeting goes on during the backup
            n = 0
            while True:
                reply = await ana.floor("request", {"kind": "point-of-order"})
                if reply["ok"]:
                    await ana.floor("withdraw", {"requestId": reply["request"]["id"]})
                n += 1
                await asyncio.sleep(0.01)

        writer = asyncio.ensure_future(keep_writing())
        try:
            made = await asyncio.to_thread(run_cli, "backup", str(tmp_path / "b.sqlite3"),
                                           "--data-dir", str(data))
            await asyncio.sleep(0.2)
        finally:
            writer.cancel()
        assert made.returncode == 0, made.stderr
        assert "floor_log" in made.stdout and "secret" in made.stdout
        assert (tmp_path / "b.sqlite3").stat().st_mode & 0o077 == 0
        log_before, attendance_before = await records(base, tokens["chair"])
        # a second backup to the same file is refused; a running server is not restored over
        again = await asyncio.to_thread(run_cli, "backup", str(tmp_path / "b.sqlite3"),
                                        "--data-dir", str(data))
        assert again.returncode == 1 and "exists" in again.stderr
        busy = await asyncio.to_thread(run_cli, "restore", str(tmp_path / "b.sqlite3"),
                                       "--data-dir", str(data))
        assert busy.returncode == 1 and "in use" in busy.stderr, busy.stderr
        for peer in (chair, ana, ben):
            await peer.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

    # a new machine: the secret from the old folder, the database from the backup
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(data / "secret", fresh / "secret")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    bad = await asyncio.to_thread(run_cli, "restore", str(garbage), "--data-dir", str(fresh))
    assert bad.returncode == 1 and not (fresh / "rostrum.sqlite3").exists()
    put = await asyncio.to_thread(run_cli, "restore", str(tmp_path / "b.sqlite3"),
                                  "--data-dir", str(fresh))
    assert put.returncode == 0, put.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, tokens = start(fresh, port)
    try:
        log_after, attendance_after = await records(base, tokens["chair"])
        events = [row["event"] for row in log_after]
        assert "intervention-start" in events and "remove" in events, events
        # everything up to the backup is there (the meeting went on a little after it)
        assert len(log_after) >= len([r for r in log_before if r["event"] == "remove"])
        names = {row["name"] for row in attendance_after}
        assert {"Chair", "Ana", "Ben Okafor"} <= names
        assert len(attendance_after) == len(attendance_before)
        # the removal still holds after the restore
        error = await refused(base, {"token": ben_token})
        assert error["data"]["code"] == "forbidden", error
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
