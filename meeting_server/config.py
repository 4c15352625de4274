"""Server configuration: environment variables first, command-line flags over them."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .ratelimit import RateSettings
from .tokens import MAX_LIFETIME_S
from .turn import check_turn_url

OFFICIAL_LANGUAGES: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es")


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN/TURN server handed to every peer connection (server side and browsers)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    secret: str = ""
    public_url: str = ""
    # Empty by default: aiortc's own default asks a public STUN server, and nothing may send
    # traffic off the machine unless the operator configures it.
    ice_servers: tuple[IceServer, ...] = ()
    # Local addresses ICE may gather host candidates on. Empty means every non-loopback
    # interface (aioice's default). Tests set loopback or a namespace's veth address.
    rtc_addresses: tuple[str, ...] = ()
    # The one UDP port every WebRTC connection of the SFU worker uses, on each of
    # rtc_addresses (sfu/udp_mux.py). 0: any free port (tests). None: aioice's own ephemeral
    # socket per connection, as before the mux (ROSTRUM_RTC_PORT=per-connection; kept for one
    # release so that bench/ can measure the old path beside the new one).
    rtc_port: int | None = 40000
    # The address browsers are given in the host candidate when the worker sits behind NAT
    # (ROSTRUM_RTC_ANNOUNCED_ADDRESS): the socket binds the one rtc_addresses entry (or the
    # wildcard when none is named) and every candidate names this address with the port.
    rtc_announced_address: str | None = None
    redis_url: str | None = None
    redis_channel: str = "rostrum"
    # lifetime of the links the server prints; no token is accepted whose expiry lies more
    # than max_token_lifetime_s ahead (an absurd expiry is a forgery or a mistake)
    token_ttl_s: int = 7 * 24 * 3600
    max_token_lifetime_s: int = 30 * 24 * 3600
    # built-in HTTPS: both set, the server listens with TLS (PEM files)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # rate limits (ratelimit.py); X-Forwarded-For is believed only from these proxies
    rate_settings: RateSettings = field(default_factory=RateSettings)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    max_sdp_bytes: int = 64 * 1024
    max_message_bytes: int = 1024 * 1024
    audio_slots: int = 3
    video_slots: int = 4
    keyframe_interval_s: float = 0.5
    # SFU worker processes (docs/architecture.md, "Workers"): 0 runs the one worker inside
    # the server process; N > 0 starts and supervises N worker processes
    workers: int = 0
    # remote SFU workers registered in Redis (sfu/worker_remote.py): "off"; "on" places
    # meetings on this node's workers and the remote ones by load; "only" runs no media on
    # this node. Needs redis_url and worker_secret (the cluster's shared HMAC secret).
    remote_workers: str = "off"
    worker_secret: str = ""
    # several control-plane nodes (meeting_server/cluster.py): each meeting owned by one node
    # in Redis; another node sends its participants there (needs redis_url, public_url)
    meeting_ownership: bool = False
    node_id: str = ""  # this node's name in the owner records (default: a random one)
    # a meeting's listeners stay on its home worker until it carries this many consumers,
    # then go to the least loaded worker, fed over a pipe (sfu/spread.py); 0: never spread
    worker_max_consumers: int = 2000
    # a participant whose connection drops without a leave is kept this long (their place in
    # the speakers' list, the floor, the booth) for the page to `resume` (0: leave at once)
    resume_grace_s: float = 45.0
    # TURN with short-lived credentials per participant (turn.py): coturn's shared secret and
    # the URLs handed to browsers beside ice_servers; the credentials live turn_ttl_s
    turn_secret: str = ""
    turn_urls: tuple[str, ...] = ()
    turn_ttl_s: int = 12 * 3600
    # "relay": the join ack tells browsers to use relayed candidates only
    # (RTCConfiguration.iceTransportPolicy), through the TURN server above; "all": any
    ice_transport_policy: str = "all"
    demo: bool = False

    @property
    def database_path(self) -> Path:
        return self.data_dir / "rostrum.sqlite3"

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        scheme = "https" if self.tls_cert is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _announced_address(value: str, rtc_addresses: tuple[str, ...], rtc_port: int | None,
                       parser: argparse.ArgumentParser) -> str | None:
    """``--rtc-announced-address``, checked against the addresses and port it goes with."""
    value = value.strip()
    if not value:
        return None
    try:
        announced = ipaddress.ip_address(value)
    except ValueError:
        parser.error(f"--rtc-announced-address: not an IP address: {value!r}")
    if announced.is_unspecified:
        parser.error("--rtc-announced-address: the wildcard cannot be announced")
    if rtc_port is None:
        parser.error("--rtc-announced-address needs the worker's one UDP port (not "
                     "--rtc-port per-connection)")
    if len(rtc_addresses) > 1:
        parser.error("--rtc-announced-address goes with at most one --rtc-addresses entry "
                     "(the address the socket binds)")
    for address in rtc_addresses:
        try:
            bound = ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"--rtc-addresses: not an IP address: {address!r}")
        if bound.version != announced.version:
            parser.error("--rtc-announced-address and --rtc-addresses are not of the same "
                         "IP version")
    return str(announced)


def parse_ice_servers(text: str) -> tuple[IceServer, ...]:
    """Parse a JSON list of RTCIceServer dicts (`urls` a string or a list)."""
    if not text.strip():
        return ()
    raw = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("ICE servers must be a JSON list")
    servers = []
    for item in raw:
        if not isinstance(item, dict) or "urls" not in item:
            raise ValueError("each ICE server needs 'urls'")
        urls = item["urls"]
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls:
            raise ValueError("ICE server urls must be a string or a non-empty list")
        if not all(isinstance(u, str) and u for u in urls):
            raise ValueError("ICE server urls must be strings")
        servers.append(
            IceServer(urls=tuple(urls), username=item.get("username"),
                      credential=item.get("credential"))
        )
    return tuple(servers)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def load_secret(data_dir: Path) -> str:
    """Read the server secret from the data folder, creating it on first start."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret"
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
        path.unlink()  # an empty file left by a crash: make a new secret
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def from_env_and_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="rostrum", description="Rostrum meeting server")
    parser.add_argument("--host", default=env.get("ROSTRUM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("ROSTRUM_PORT", "8080")))
    parser.add_argument("--data-dir", default=env.get("ROSTRUM_DATA_DIR", "data"))
    parser.add_argument("--secret", default=env.get("ROSTRUM_SECRET", ""))
    parser.add_argument("--public-url", default=env.get("ROSTRUM_PUBLIC_URL", ""))
    parser.add_argument("--ice-servers", default=env.get("ROSTRUM_ICE_SERVERS", ""),
                        help="JSON list of RTCIceServer objects (empty: none)")
    parser.add_argument("--rtc-addresses", default=env.get("ROSTRUM_RTC_ADDRESSES", ""),
                        help="comma-separated local addresses for ICE host candidates")
    parser.add_argument("--rtc-port", default=env.get("ROSTRUM_RTC_PORT", "40000"),
                        help="the one UDP port of the SFU worker for every WebRTC connection"
                             " (0: any free port; 'per-connection': a socket per connection)")
    parser.add_argument("--rtc-announced-address",
                        default=env.get("ROSTRUM_RTC_ANNOUNCED_ADDRESS", ""),
                        help="the address browsers are given for the worker's UDP port when it"
                             " sits behind NAT (the socket binds --rtc-addresses, or every"
                             " interface)")
    parser.add_argument("--workers", default=env.get("ROSTRUM_WORKERS", "0"),
                        help="SFU worker processes: a number, 'auto' (one per core) or 0"
                             " (the SFU runs inside the server process)")
    parser.add_argument("--worker-max-consumers",
                        default=env.get("ROSTRUM_WORKER_MAX_CONSUMERS", "2000"),
                        help="consumers a meeting's home worker carries before its next"
                             " listeners go to other workers over pipes (0: never)")
    parser.add_argument("--redis-url", default=env.get("REDIS_URL", "") or None)
    parser.add_argument("--remote-workers", default=env.get("ROSTRUM_REMOTE_WORKERS", "off"),
                        help="use the SFU workers registered in Redis: off, on (beside this"
                             " node's own) or only (this node runs no media)")
    parser.add_argument("--ownership", action="store_true",
                        default=env.get("ROSTRUM_OWNERSHIP", "") in ("1", "true"),
                        help="several nodes: each meeting is owned by one node (Redis)")
    parser.add_argument("--node-id", default=env.get("ROSTRUM_NODE_ID", ""),
                        help="this node's name in the owner records (default: random)")
    parser.add_argument("--worker-secret-file", default="",
                        help="the remote workers' shared secret (else ROSTRUM_WORKER_SECRET)")
    parser.add_argument("--token-ttl", type=int,
                        default=int(env.get("ROSTRUM_TOKEN_TTL_S", str(7 * 24 * 3600))),
                        help="lifetime in seconds of the join links the server mints")
    parser.add_argument("--max-token-lifetime", type=int,
                        default=int(env.get("ROSTRUM_MAX_TOKEN_LIFETIME_S",
                                            str(30 * 24 * 3600))),
                        help="refuse any token whose expiry is further away (seconds)")
    parser.add_argument("--tls-cert", default=env.get("ROSTRUM_TLS_CERT", ""),
                        help="PEM certificate (chain) for built-in HTTPS")
    parser.add_argument("--tls-key", default=env.get("ROSTRUM_TLS_KEY", ""),
                        help="PEM private key for built-in HTTPS")
    parser.add_argument("--trusted-proxies",
                        default=env.get("ROSTRUM_TRUSTED_PROXIES", "127.0.0.1,::1"),
                        help="comma-separated addresses or networks whose X-Forwarded-For"
                             " is believed (rate limits per address)")
    parser.add_argument("--resume-grace", type=float,
                        default=float(env.get("ROSTRUM_RESUME_GRACE_S", "45")),
                        help="seconds a dropped participant is kept for a resume (0: none)")
    parser.add_argument("--turn-secret", default=env.get("ROSTRUM_TURN_SECRET", ""),
                        help="coturn's static-auth-secret: browsers get short-lived TURN"
                             " credentials (with --turn-urls)")
    parser.add_argument("--turn-urls", default=env.get("ROSTRUM_TURN_URLS", ""),
                        help="comma-separated turn:/turns: URLs of that TURN server")
    parser.add_argument("--turn-ttl", type=int,
                        default=int(env.get("ROSTRUM_TURN_TTL_S", str(12 * 3600))),
                        help="lifetime in seconds of a participant's TURN credentials")
    parser.add_argument("--ice-transport-policy",
                        default=env.get("ROSTRUM_ICE_TRANSPORT_POLICY", "all"),
                        help="relay: browsers use the TURN server only (the join ack's"
                             " iceTransportPolicy); all (default): any candidate")
    parser.add_argument("--demo", action="store_true",
                        default=env.get("ROSTRUM_DEMO", "") in ("1", "true"),
                        help="create a demo meeting and print one join link per role")
    args = parser.parse_args(argv)
    if not 60 <= args.max_token_lifetime <= MAX_LIFETIME_S:
        parser.error(f"--max-token-lifetime must be 60..{MAX_LIFETIME_S} seconds")
    if not 60 <= args.token_ttl <= args.max_token_lifetime:
        parser.error("--token-ttl must be 60 seconds up to --max-token-lifetime")
    try:
        for item in _split(args.trusted_proxies):
            ipaddress.ip_network(item, strict=False)
    except ValueError as exc:
        parser.error(f"--trusted-proxies: {exc}")
    if args.ice_transport_policy not in ("all", "relay"):
        parser.error("--ice-transport-policy must be all or relay")
    if args.ice_transport_policy == "relay" and not args.turn_urls.strip():
        parser.error("--ice-transport-policy relay needs a TURN server (--turn-urls)")
    if bool(args.turn_secret) != bool(args.turn_urls.strip()):
        parser.error("--turn-secret and --turn-urls go together")
    for url in _split(args.turn_urls):
        try:
            check_turn_url(url)
        except ValueError as exc:
            parser.error(f"--turn-urls: {exc}")
    if not 60 <= args.turn_ttl <= 7 * 24 * 3600:
        parser.error("--turn-ttl must be 60 seconds up to 7 days")
    if not 0 <= args.resume_grace <= 600:
        parser.error("--resume-grace must be 0..600 seconds")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    for name in ("tls_cert", "tls_key"):
        value = getattr(args, name)
        if value and not Path(value).is_file():
            parser.error(f"--{name.replace('_', '-')}: no such file {value}")
    rtc_port: int | None = None
    if args.rtc_port.strip() != "per-connection":
        try:
            rtc_port = int(args.rtc_port)
        except ValueError:
            rtc_port = -1
        if not 0 <= rtc_port <= 65535:
            parser.error("--rtc-port must be a UDP port (0..65535, 0: any free port) or "
                         "'per-connection'")
    remote_workers, worker_secret = parse_remote_workers(args, env, parser)
    if args.ownership and not args.redis_url:
        parser.error("--ownership needs Redis (REDIS_URL): the owners are recorded there")
    if args.ownership and not args.public_url:
        parser.error("--ownership needs --public-url (ROSTRUM_PUBLIC_URL): the other nodes "
                     "send this meeting's participants there")
    if args.node_id and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", args.node_id):
        parser.error("--node-id: 1-64 of A-Z a-z 0-9 . _ -")
    announced = _announced_address(args.rtc_announced_address, _split(args.rtc_addresses),
                                   rtc_port, parser)
    data_dir = Path(args.data_dir)
    return Config(
        host=args.host,
        port=args.port,
        data_dir=data_dir,
        secret=args.secret or load_secret(data_dir),
        public_url=args.public_url,
        ice_servers=parse_ice_servers(args.ice_servers),
        rtc_addresses=_split(args.rtc_addresses),
        rtc_port=rtc_port,
        rtc_announced_address=announced,
        redis_url=args.redis_url,
        token_ttl_s=args.token_ttl,
        max_token_lifetime_s=args.max_token_lifetime,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        trusted_proxies=_split(args.trusted_proxies),
        workers=parse_workers(args.workers, parser),
        remote_workers=remote_workers,
        worker_secret=worker_secret,
        meeting_ownership=args.ownership,
        node_id=args.node_id or secrets.token_hex(4),
        worker_max_consumers=parse_max_consumers(args.worker_max_consumers, parser),
        resume_grace_s=args.resume_grace,
        turn_secret=args.turn_secret,
        ice_transport_policy=args.ice_transport_policy,
        turn_urls=_split(args.turn_urls),
        turn_ttl_s=args.turn_ttl,
        demo=args.demo,
    )


def parse_remote_workers(args: argparse.Namespace, env: Mapping[str, str],
                         parser: argparse.ArgumentParser) -> tuple[str, str]:
    """``ROSTRUM_REMOTE_WORKERS`` (off, on, only; 0 and 1 too) and the shared secret."""
    mode = {"0": "off", "": "off", "1": "on"}.get(args.remote_workers.strip(),
                                                   args.remote_workers.strip())
    if mode not in ("off", "on", "only"):
        parser.error(f"--remote-workers: off, on or only, not {args.remote_workers!r}")
    if mode == "off":
        return mode, ""
    if not args.redis_url:
        parser.error("--remote-workers needs Redis (REDIS_URL): the workers register there")
    secret = env.get("ROSTRUM_WORKER_SECRET", "")
    if args.worker_secret_file:
        try:
            secret = Path(args.worker_secret_file).read_text(encoding="utf-8")
        except OSError as exc:
            parser.error(f"--worker-secret-file: {exc}")
    secret = secret.strip()
    if len(secret) < 16:
        parser.error("--remote-workers needs the workers' shared secret, at least 16 "
                     "characters (ROSTRUM_WORKER_SECRET or --worker-secret-file)")
    return mode, secret


def parse_max_consumers(text: str, parser: argparse.ArgumentParser) -> int:
    """``ROSTRUM_WORKER_MAX_CONSUMERS``: a whole number, 0 or more."""
    try:
        count = int(text)
    except ValueError:
        parser.error(f"--worker-max-consumers: a number, not {text!r}")
    if count < 0:
        parser.error("--worker-max-consumers must be 0 or more")
    return count


def parse_workers(text: str, parser: argparse.ArgumentParser) -> int:
    """``ROSTRUM_WORKERS``: ``auto`` is one worker process per core."""
    if text.strip() == "auto":
        return os.cpu_count() or 1
    try:
        count = int(text)
    except ValueError:
        parser.error(f"--workers: a number or 'auto', not {text!r}")
    if not 0 <= count <= 64:
        parser.error("--workers must be 0..64")
    return count


__all__ = [
    "OFFICIAL_LANGUAGES",
    "Config",
    "IceServer",
    "field",
    "from_env_and_args",
    "load_secret",
    "parse_ice_servers",
]
