"""meeting_server/config.py: environment first, command-line flags over it."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest

from meeting_server.config import (
    Config,
    IceServer,
    from_env_and_args,
    load_secret,
    parse_ice_servers,
)

# --- parse_ice_servers -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "[]"])
def test_parse_ice_servers_empty(text: str) -> None:
    assert parse_ice_servers(text) == ()


def test_parse_ice_servers_string_urls() -> None:
    servers = parse_ice_servers('[{"urls": "stun:stun.example.org:3478"}]')
    assert servers == (IceServer(urls=("stun:stun.example.org:3478",)),)
    assert isinstance(servers, tuple)
    assert isinstance(servers[0].urls, tuple)
    assert servers[0].username is None and servers[0].credential is None


def test_parse_ice_servers_list_urls_and_credentials() -> None:
    text = json.dumps([
        {"urls": ["turn:turn.example.org:3478?transport=udp",
                  "turns:turn.example.org:5349"],
         "username": "alice", "credential": "pa55"},
        {"urls": "stun:10.0.0.1"},
    ])
    servers = parse_ice_servers(text)
    assert servers == (
        IceServer(urls=("turn:turn.example.org:3478?transport=udp",
                        "turns:turn.example.org:5349"),
                  username="alice", credential="pa55"),
        IceServer(urls=("stun:10.0.0.1",)),
    )


def test_parse_ice_servers_ignores_unknown_keys() -> None:
    servers = parse_ice_servers('[{"urls": "stun:a", "credentialType": "password"}]')
    assert servers == (IceServer(urls=("stun:a",)),)


def test_ice_server_to_json() -> None:
    assert IceServer(urls=("stun:a",)).to_json() == {"urls": ["stun:a"]}
    assert IceServer(urls=("turn:a", "turn:b"), username="u", credential="c").to_json() == {
        "urls": ["turn:a", "turn:b"], "username": "u", "credential": "c"}
    assert IceServer(urls=("turn:a",), username="u").to_json() == {
        "urls": ["turn:a"], "username": "u"}


def test_ice_server_to_json_round_trips_through_parse() -> None:
    servers = (IceServer(urls=("turn:a", "turn:b"), username="u", credential="c"),
               IceServer(urls=("stun:x",)))
    text = json.dumps([s.to_json() for s in servers])
    assert parse_ice_servers(text) == servers


@pytest.mark.parametrize("text", ["not json", "[", "{urls: 1}", "[{'urls': 'stun:a'}]"])
def test_parse_ice_servers_bad_json(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ice_servers(text)


@pytest.mark.parametrize("text", ['{"urls": "stun:a"}', '"stun:a"', "42", "null", "true"])
def test_parse_ice_servers_not_a_list(text: str) -> None:
    with pytest.raises(ValueError, match="list"):
        parse_ice_servers(text)


@pytest.mark.parametrize("text", ['[{}]', '[{"url": "stun:a"}]', '["stun:a"]', '[null]',
                                  '[{"urls": "stun:a"}, {"username": "x"}]', "[[\"stun:a\"]]"])


def test_parse_ice_servers_missing_urls(text: str) -> None:
    with pytest.raises(ValueError, match="urls"):
        parse_ice_servers(text)


@pytest.mark.parametrize("text", ['[{"urls": [1]}]', '[{"urls": ["stun:a", null]}]',
                                  '[{"urls": [["stun:a"]]}]'])


def test_parse_ice_servers_non_string_urls(text: str) -> None:
    with pytest.raises(ValueError, match="strings"):
        parse_ice_servers(text)


@pytest.mark.parametrize("text", ['[{"urls": 5}]', '[{"urls": null}]', '[{"urls": true}]'])
def test_parse_ice_servers_urls_of_wrong_type_is_value_error(text: str) -> None:
    # the caller (from_env_and_args) reports ValueError as a configuration error; any other
    # exception type escapes as a crash
    with pytest.raises(ValueError):
        parse_ice_servers(text)


@pytest.mark.parametrize("text", ['[{"urls": []}]', '[{"urls": {"stun:a": 1}}]'])
def test_parse_ice_servers_empty_or_object_urls_rejected(text: str) -> None:
    # browsers throw on an RTCIceServer whose urls list is empty (WebRTC 1.0, "validate an
    # RTCConfiguration"), and a JSON object is not a list of URLs
    with pytest.raises(ValueError):
        parse_ice_servers(text)


# --- load_secret -----------------------------------------------------------------------------

def test_load_secret_creates_0600_file_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    secret = load_secret(data_dir)
    path = data_dir / "secret"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert path.read_text().strip() == secret
    mtime = path.stat().st_mtime_ns
    assert load_secret(data_dir) == secret
    assert load_secret(data_dir) == secret
    assert path.stat().st_mtime_ns == mtime


def test_load_secret_file_is_never_readable_by_others(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # the secret must not sit on disk with the umask's 0644 before a later chmod
    modes: list[int] = []
    original = Path.write_text

    def recording_write_text(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(self, *args, **kwargs)
        modes.append(stat.S_IMODE(self.stat().st_mode))
        return result

    monkeypatch.setattr(Path, "write_text", recording_write_text)
    old_umask = os.umask(0o022)
    try:
        load_secret(tmp_path)
    finally:
        os.umask(old_umask)
    assert all(mode & 0o077 == 0 for mode in modes), [oct(m) for m in modes]
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_load_secret_reads_existing_file_and_strips(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("  my-operator-secret \n\n")
    assert load_secret(tmp_path) == "my-operator-secret"


@pytest.mark.parametrize("content", ["", "\n", "   \n"])
def test_load_secret_never_returns_an_empty_secret(tmp_path: Path, content: str) -> None:
    # an empty secret file (e.g. a crash between creating and writing it) must not yield an
    # empty HMAC key, with which anybody could sign invites
    (tmp_path / "secret").write_text(content)
    try:
        value = load_secret(tmp_path)
    except ValueError:
        return
    assert value.strip()


def test_load_secret_differs_per_data_dir(tmp_path: Path) -> None:
    assert load_secret(tmp_path / "a") != load_secret(tmp_path / "b")


# --- from_env_and_args -----------------------------------------------------------------------

def test_defaults(tmp_path: Path) -> None:
    config = from_env_and_args([], {"ROSTRUM_DATA_DIR": str(tmp_path)})
    assert config.host == "127.0.0.1"
    assert config.port == 8080
    assert config.data_dir == tmp_path
    assert config.ice_servers == ()
    assert config.rtc_addresses == ()
    assert config.redis_url is None
    assert config.public_url == ""
    assert config.demo is False
    # no secret given: one is created in the data folder
    assert config.secret == (tmp_path / "secret").read_text().strip()
    assert config.secret


def test_defaults_match_dataclass_defaults(tmp_path: Path) -> None:
    config = from_env_and_args(["--data-dir", str(tmp_path), "--secret", "x"], {})
    default = Config()
    for name in ("host", "port", "ice_servers", "rtc_addresses", "rtc_port",
                 "rtc_announced_address", "redis_url",
                 "public_url", "token_ttl_s", "audio_slots", "video_slots", "workers", "demo"):
        assert getattr(config, name) == getattr(default, name), name


def test_env_values(tmp_path: Path) -> None:
    env = {
        "ROSTRUM_HOST": "0.0.0.0",
        "ROSTRUM_PORT": "9000",
        "ROSTRUM_DATA_DIR": str(tmp_path),
        "ROSTRUM_SECRET": "env-secret",
        "ROSTRUM_PUBLIC_URL": "https://meet.example.org/",
        "ROSTRUM_ICE_SERVERS": '[{"urls": "stun:10.1.1.1"}]',
        "ROSTRUM_RTC_ADDRESSES": "10.0.0.2, 127.0.0.1 ,,",
        "REDIS_URL": "redis://localhost:6379/0",
        "ROSTRUM_DEMO": "1",
    }
    config = from_env_and_args([], env)
    assert config.host == "0.0.0.0"
    assert config.port == 9000
    assert config.secret == "env-secret"
    assert config.public_url == "https://meet.example.org/"
    assert config.ice_servers == (IceServer(urls=("stun:10.1.1.1",)),)
    assert config.rtc_addresses == ("10.0.0.2", "127.0.0.1")
    assert config.redis_url == "redis://localhost:6379/0"
    assert config.demo is True
    # an explicit secret means no file is written
    assert not (tmp_path / "secret").exists()


def test_workers_from_env_and_flag(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path), "--secret", "x"]
    assert from_env_and_args(base, {}).workers == 0
    assert from_env_and_args(base, {"ROSTRUM_WORKERS": "2"}).workers == 2
    assert from_env_and_args([*base, "--workers", "3"], {"ROSTRUM_WORKERS": "2"}).workers == 3
    assert from_env_and_args(base, {"ROSTRUM_WORKERS": "auto"}).workers == (os.cpu_count() or 1)
    for bad in ("two", "-1", "65", "1.5"):
        with pytest.raises(SystemExit):
            from_env_and_args(base, {"ROSTRUM_WORKERS": bad})


def test_flags_override_env(tmp_path: Path) -> None:
    env = {
        "ROSTRUM_HOST": "0.0.0.0",
        "ROSTRUM_PORT": "9000",
        "ROSTRUM_DATA_DIR": str(tmp_path / "env"),
        "ROSTRUM_SECRET": "env-secret",
        "ROSTRUM_PUBLIC_URL": "https://env.example.org",
        "ROSTRUM_ICE_SERVERS": '[{"urls": "stun:10.1.1.1"}]',
        "ROSTRUM_RTC_ADDRESSES": "10.0.0.2",
        "REDIS_URL": "redis://env:6379/0",
    }
    argv = [
        "--host", "127.0.0.2",
        "--port", "8443",
        "--data-dir", str(tmp_path / "flag"),
        "--secret", "flag-secret",
        "--public-url", "https://flag.example.org",
        "--ice-servers", '[{"urls": ["turn:10.2.2.2"], "username": "u", "credential": "c"}]',
        "--rtc-addresses", "127.0.0.1,::1",
        "--redis-url", "redis://flag:6379/1",
        "--demo",
    ]
    config = from_env_and_args(argv, env)
    assert config.host == "127.0.0.2"
    assert config.port == 8443
    assert config.data_dir == tmp_path / "flag"
    assert config.secret == "flag-secret"
    assert config.public_url == "https://flag.example.org"
    assert config.ice_servers == (IceServer(urls=("turn:10.2.2.2",), username="u",
                                            credential="c"),)
    assert config.rtc_addresses == ("127.0.0.1", "::1")
    assert config.redis_url == "redis://flag:6379/1"
    assert config.demo is True


def test_empty_ice_servers_flag_overrides_env(tmp_path: Path) -> None:
    env = {"ROSTRUM_ICE_SERVERS": '[{"urls": "stun:10.1.1.1"}]'}
    config = from_env_and_args(["--ice-servers", "", "--data-dir", str(tmp_path),
                                "--secret", "s"], env)
    assert config.ice_servers == ()


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("", False),
                                                  ("0", False), ("no", False)])


def test_demo_env(tmp_path: Path, value: str, expected: bool) -> None:
    config = from_env_and_args(["--secret", "s"], {"ROSTRUM_DEMO": value,
                                                   "ROSTRUM_DATA_DIR": str(tmp_path)})
    assert config.demo is expected


def test_empty_redis_env_means_no_redis(tmp_path: Path) -> None:
    config = from_env_and_args(["--secret", "s"], {"REDIS_URL": "",
                                                   "ROSTRUM_DATA_DIR": str(tmp_path)})
    assert config.redis_url is None


@pytest.mark.parametrize(("text", "expected"), [
    ("", ()), (",", ()), ("127.0.0.1", ("127.0.0.1",)),
    (" 10.0.0.1 , 10.0.0.2 ", ("10.0.0.1", "10.0.0.2")),
    ("a,,b,", ("a", "b")),
])


def test_rtc_addresses_split_on_commas(tmp_path: Path, text: str, expected: tuple) -> None:
    config = from_env_and_args(["--rtc-addresses", text, "--secret", "s",
                                "--data-dir", str(tmp_path)], {})
    assert config.rtc_addresses == expected


def test_bad_ice_servers_env_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        from_env_and_args(["--secret", "s", "--data-dir", str(tmp_path)],
                          {"ROSTRUM_ICE_SERVERS": "{not json"})


def test_bad_port_flag_exits(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        from_env_and_args(["--port", "eighty", "--secret", "s", "--data-dir", str(tmp_path)],
                          {})


def test_unknown_flag_exits(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        from_env_and_args(["--no-such-flag", "--secret", "s", "--data-dir", str(tmp_path)], {})


def test_secret_file_reused_across_starts(tmp_path: Path) -> None:
    env = {"ROSTRUM_DATA_DIR": str(tmp_path)}
    first = from_env_and_args([], env)
    second = from_env_and_args([], env)
    assert first.secret == second.secret
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_uses_os_environ_when_env_is_none(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("ROSTRUM_PORT", "9123")
    monkeypatch.setenv("ROSTRUM_SECRET", "from-os")
    monkeypatch.setenv("ROSTRUM_DATA_DIR", str(tmp_path))
    config = from_env_and_args([])
    assert config.port == 9123
    assert config.secret == "from-os"


# --- Config ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "expected"), [
    ("0.0.0.0", "http://127.0.0.1:8080"),
    ("::", "http://127.0.0.1:8080"),
    ("", "http://127.0.0.1:8080"),
    ("127.0.0.1", "http://127.0.0.1:8080"),
    ("10.0.0.5", "http://10.0.0.5:8080"),
    ("meet.local.test", "http://meet.local.test:8080"),
])


def test_base_url_from_host(host: str, expected: str) -> None:
    assert Config(host=host).base_url() == expected


def test_base_url_port() -> None:
    assert Config(host="0.0.0.0", port=9443).base_url() == "http://127.0.0.1:9443"


@pytest.mark.parametrize(("public", "expected"), [
    ("https://meet.example.org", "https://meet.example.org"),
    ("https://meet.example.org/", "https://meet.example.org"),
    ("https://example.org/rostrum//", "https://example.org/rostrum"),
])


def test_base_url_public_url_wins(public: str, expected: str) -> None:
    assert Config(host="0.0.0.0", port=1234, public_url=public).base_url() == expected


def test_database_path_and_overrides(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    assert config.database_path == tmp_path / "rostrum.sqlite3"
    changed = config.with_overrides(port=1, audio_slots=5)
    assert (changed.port, changed.audio_slots) == (1, 5)
    assert config.port == 8080  # frozen original untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]


def test_config_default_has_no_ice_servers() -> None:
    # aiortc's default asks a public STUN server: the project default must stay empty
    assert Config().ice_servers == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("40000", 40000), ("0", 0), (" 5004 ", 5004), ("per-connection", None)])


def test_rtc_port(tmp_path: Path, text: str, expected: int | None) -> None:
    config = from_env_and_args(["--data-dir", str(tmp_path), "--secret", "x"],
                               {"ROSTRUM_RTC_PORT": text})
    assert config.rtc_port == expected


@pytest.mark.parametrize("text", ["65536", "-1", "udp", "", "40000-40010"])
def test_rtc_port_refuses_what_is_not_a_port(tmp_path: Path, text: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        from_env_and_args(["--data-dir", str(tmp_path), "--secret", "x", "--rtc-port", text], {})
    assert "--rtc-port must be a UDP port" in capsys.readouterr().err


def test_ice_transport_policy_relay_needs_turn(tmp_path: Path) -> None:
    base = {"ROSTRUM_DATA_DIR": str(tmp_path), "ROSTRUM_SECRET": "x"}
    assert from_env_and_args([], base).ice_transport_policy == "all"
    turn = {**base, "ROSTRUM_TURN_SECRET": "s", "ROSTRUM_TURN_URLS": "turn:t.example:3478"}
    config = from_env_and_args([], {**turn, "ROSTRUM_ICE_TRANSPORT_POLICY": "relay"})
    assert config.ice_transport_policy == "relay"
    for env in ({**base, "ROSTRUM_ICE_TRANSPORT_POLICY": "relay"},  # no TURN to relay through
                {**turn, "ROSTRUM_ICE_TRANSPORT_POLICY": "Relay"},
                {**turn, "ROSTRUM_ICE_TRANSPORT_POLICY": "none"}):
        with pytest.raises(SystemExit):
            from_env_and_args([], env)


# --- remote workers and several nodes (sfu/worker_remote.py, meeting_server/cluster.py) -----


def test_remote_workers_and_ownership_from_the_environment(tmp_path: Path) -> None:
    env = {"ROSTRUM_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/0",
           "ROSTRUM_REMOTE_WORKERS": "1", "ROSTRUM_WORKER_SECRET": "k" * 20,
           "ROSTRUM_OWNERSHIP": "1", "ROSTRUM_PUBLIC_URL": "http://10.0.0.2:8080",
           "ROSTRUM_NODE_ID": "node-a"}
    config = from_env_and_args([], env)
    assert (config.remote_workers, config.worker_secret) == ("on", "k" * 20)
    assert config.meeting_ownership and config.node_id == "node-a"
    only = from_env_and_args(["--remote-workers", "only"], env)
    assert only.remote_workers == "only"
    plain = from_env_and_args([], {"ROSTRUM_DATA_DIR": str(tmp_path)})
    assert plain.remote_workers == "off" and not plain.meeting_ownership
    assert plain.node_id  # a random one


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--remote-workers", "some"], {}, "off, on or only"),
    (["--remote-workers", "on"], {}, "needs Redis"),
    (["--remote-workers", "on"], {"REDIS_URL": "redis://x"}, "shared secret"),
    (["--remote-workers", "on"], {"REDIS_URL": "redis://x", "ROSTRUM_WORKER_SECRET": "short"},
     "at least 16"),
    (["--ownership"], {}, "needs Redis"),
    (["--ownership"], {"REDIS_URL": "redis://x"}, "needs --public-url"),
    (["--node-id", "a b"], {}, "--node-id"),
])


def test_bad_cluster_settings_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], env: dict[str, str], message: str
                                          ) -> None:
    with pytest.raises(SystemExit):
        from_env_and_args(args, {"ROSTRUM_DATA_DIR": str(tmp_path), **env})
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "203.0.113.7"}, "203.0.113.7"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": " 203.0.113.7 ", "ROSTRUM_RTC_ADDRESSES": "10.1.2.3"},
     "203.0.113.7"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "2001:db8::7"}, "2001:db8::7")])


def test_rtc_announced_address(tmp_path: Path, env: dict[str, str], expected: str | None
                               ) -> None:
    config = from_env_and_args(["--data-dir", str(tmp_path), "--secret", "x"], env)
    assert config.rtc_announced_address == expected


@pytest.mark.parametrize(("env", "error"), [
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "example.org"}, "not an IP address"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "0.0.0.0"}, "wildcard"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "203.0.113.7", "ROSTRUM_RTC_PORT": "per-connection"},
     "one UDP port"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "203.0.113.7",
      "ROSTRUM_RTC_ADDRESSES": "10.1.2.3,10.1.2.4"}, "at most one"),
    ({"ROSTRUM_RTC_ANNOUNCED_ADDRESS": "203.0.113.7", "ROSTRUM_RTC_ADDRESSES": "fd00::3"},
     "same IP version")])


def test_rtc_announced_address_refused(tmp_path: Path, env: dict[str, str], error: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        from_env_and_args(["--data-dir", str(tmp_path), "--secret", "x"], env)
    assert error in capsys.readouterr().err


def test_the_event_loop_is_asyncio_unless_told_and_a_bad_name_is_refused() -> None:
    import asyncio

    import pytest

    from meeting_server.__main__ import event_loop

    loop = event_loop({})
    try:
        assert isinstance(loop, asyncio.BaseEventLoop)
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
    with pytest.raises(SystemExit, match="ROSTRUM_EVENT_LOOP must be one of"):
        event_loop({"ROSTRUM_EVENT_LOOP": "trio"})
    try:
        import uvloop
    except ImportError:
        with pytest.raises(SystemExit, match="not installed"):
            event_loop({"ROSTRUM_EVENT_LOOP": "uvloop"})
    else:
        loop = event_loop({"ROSTRUM_EVENT_LOOP": " UVLOOP "})
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()
