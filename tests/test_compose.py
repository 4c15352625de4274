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
    # the server runs its own SFU workers; `worker` is a remote SFU worker (profile cluster)
    assert services == {"server", "redis", "coturn", "worker"}


def test_the_worker_service_is_a_remote_sfu_worker() -> None:
    result = _compose("--profile", "cluster", "config")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # `config` prints the services sorted by name: the worker is the last one
    worker = text[text.index("\n  worker:"):text.index("\nvolumes:")]
    assert "python -m sfu.worker_main" in worker and "--listen" in worker
    assert "ROSTRUM_WORKER_SECRET:?" in worker  # refuses to start without the secret
    assert "profiles:\n    - cluster" in worker  # only with --profile cluster
    assert "network_mode: host" in worker
    assert 'ROSTRUM_REMOTE_WORKERS: "off"' in text  # the embedded default stays
