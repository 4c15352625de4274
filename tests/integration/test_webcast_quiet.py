"""A webcast whose taps carry nothing for longer than FFmpeg's RTP read timeout (10 s: no
camera, nobody speaking) goes on publishing (slate and silence) in the same generation, and
reads the taps again once they carry something."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from meeting_server.webcast_process import free_even_ports
from webcast.layout import Job
from webcast.playlist import parse_media


def test_quiet_taps_do_not_stop_the_webcast(tmp_path: Path) -> None:
    ports = free_even_ports(2)
    job = Job(meeting_id="quiet", title="Quiet", folder=str(tmp_path), channels=("floor",),
              audio_ports=(ports[1],), video_port=ports[0])
    (tmp_path / "job.json").write_text(job.to_json(), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "webcast.process",
                                str(tmp_path / "job.json")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None and process.stdin is not None
        assert json.loads(process.stdout.readline())["event"] == "ready"
        time.sleep(11.5)  # past the 10 s timeout (counted from the last packet)
        assert process.poll() is None, "the webcast process stopped on quiet taps"
        process.stdin.close()
        assert process.wait(15) == 0
        events = [json.loads(line) for line in process.stdout.read().decode().splitlines()]
    finally:
        if process.poll() is None:
            process.kill()
    assert events[-1] == {"event": "stopped", "ended": False, "error": None}
    assert max(e.get("readTimeouts", 0) for e in events) >= 1
    playlist = parse_media((tmp_path / "audio" / "floor" / "index.m3u8").read_text("utf-8"))
    assert len(playlist.segments) >= 5, playlist.segments
    assert all(s.uri.startswith("g1-") for s in playlist.segments)  # no restart
