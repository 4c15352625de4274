"""sfu/worker_main.py: the settings a worker process is started with, checked before it
serves anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sfu.worker_main import IceServer, parse_settings


def test_settings_from_the_server() -> None:
    settings = parse_settings(json.dumps({
        "iceServers": [{"urls": "stun:10.0.0.1"},
                       {"urls": ["turn:10.0.0.2"], "username": "u", "credential": "c"}],
        "rtcAddresses": ["127.0.0.1"], "seats": 4, "keyframeIntervalS": 0.25,
        "rtcPort": 40001, "rtcAnnouncedAddress": "203.0.113.7"}))
    assert settings == {"ice_servers": (IceServer(("stun:10.0.0.1",)),
                                        IceServer(("turn:10.0.0.2",), "u", "c")),
                        "rtc_addresses": ("127.0.0.1",), "seats": 4,
                        "keyframe_interval_s": 0.25, "rtc_port": 40001,
                        "rtc_announced_address": "203.0.113.7"}
    assert parse_settings("{}")["seats"] == 4
    assert parse_settings("{}")["rtc_port"] is None  # aioice's sockets per connection
    assert parse_settings("{}")["rtc_announced_address"] is None


@pytest.mark.parametrize("text", ["[]", '{"seats": "4"}', '{"seats": 0}',
                                  '{"keyframeIntervalS": -1}', '{"rtcAddresses": [1]}',
                                  '{"seats": true}',
                                  '{"rtcPort": 70000}', '{"rtcPort": "40000"}',
                                  '{"rtcAnnouncedAddress": "example.org"}',
                                  '{"rtcAnnouncedAddress": 7}'])
def test_bad_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_settings(text)


def test_a_worker_with_bad_settings_exits_with_a_clear_error() -> None:
    done = subprocess.run([sys.executable, "-m", "sfu.worker_main", "--socket", "/nonexistent/x",
                           "--settings", '{"seats": 99}'], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2
    assert "--settings: settings: seats is an integer 1..16" in done.stderr


@pytest.mark.parametrize(("extra", "env", "message"), [
    ([], {}, "secret must be at least 16"),
    ([], {"ROSTRUM_WORKER_SECRET": "k" * 20}, "registers in Redis"),
    (["--redis-url", "redis://x"], {"ROSTRUM_WORKER_SECRET": "k" * 20}, "--rtc-address"),
    (["--redis-url", "redis://x", "--rtc-address", "10.0.0.2", "--capacity", "0"],
     {"ROSTRUM_WORKER_SECRET": "k" * 20}, "--capacity"),
    (["--secret-file", "/nonexistent/secret"], {}, "--secret-file"),
])
def test_a_remote_worker_with_bad_flags_exits_with_a_clear_error(
        extra: list[str], env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("ROSTRUM_WORKER_SECRET", "REDIS_URL")}
    done = subprocess.run([sys.executable, "-m", "sfu.worker_main", "--listen",
                           "127.0.0.1:7001", *extra], capture_output=True, text=True,
                          timeout=30, env={**clean, **env})
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_listening_on_every_interface_needs_an_advertised_address() -> None:
    done = subprocess.run([sys.executable, "-m", "sfu.worker_main", "--listen", "0.0.0.0:7001"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--advertise" in done.stderr
