"""docker-compose.yml stays valid for Debian's docker-compose 1.29 (no Docker engine needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.requirements import require_binary

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("docker-compose", "docker-compose")
    env = dict(os.environ)
    # Validate the file as committed, whatever the caller's shell holds.
    for name in ("ROSTRUM_TURN_SECRET", "ROSTRUM_SECRET", "ROSTRUM_ICE_SERVERS"):
        env.pop(name, None)
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_is_valid() -> None:
    assert COMPOSE_FILE.is_file()
    result = _compose("config", "-q")
    assert result.returncode == 0, f"docker-compose config -q failed:\n{result.stderr}"


def test_compose_services() -> None:
    result = _compose("config", "--services")
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    # SFU workers run inside the server process for now: no separate worker service.
    assert services == {"server", "redis", "coturn"}
