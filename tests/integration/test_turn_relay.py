"""TURN with short-lived credentials (meeting_server/turn.py) against Debian's coturn in its
shared-secret REST mode: the join ack hands each participant credentials of their own, and a
peer that may use relayed candidates only (iceTransportPolicy "relay") publishes and receives
through coturn; media flows both ways. A forged or expired credential is refused by coturn.
coturn and every peer are on loopback.

`running_coturn` and `make_turn_certificate` are shared with tests/browser/test_turn_browser.py,
which runs the same coturn over UDP, TCP and TLS for a relay-only Chromium."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import ipaddress
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meeting_server.config import from_env_and_args
from meeting_server.turn import check_turn_url, turn_credentials
from tests.harness import free_port, running_server
from tests.peers import TestPeer, ToneTrack, dominant_frequency
from tests.requirements import require_binary

TURN_NAME = "turn.rostrum.test"


@dataclass(frozen=True)
class TurnCertificate:
    """A test certificate authority and coturn's certificate signed by it (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_turn_certificate(directory: Path, address: str) -> TurnCertificate:
    """A CA of this test run, and a server certificate it signs for the TURN server at
    ``address`` (an IP address SAN, as the `turns:` URL names an address) and ``TURN_NAME``,
    valid one day: what an operator's CA-issued certificate is, with a CA only this test's
    clients trust."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rostrum test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TURN_NAME)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(TURN_NAME), x509.IPAddress(ipaddress.ip_address(address))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    out = TurnCertificate(ca=directory / "turn-ca.pem", cert=directory / "turn-cert.pem",
                          key=directory / "turn-key.pem")
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    out.key.chmod(0o600)
    return out


def _binding_request() -> bytes:
    """A STUN binding request (RFC 8489): coturn answers one once it listens."""
    return b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)


def _answers(address: str, port: int, certificate: TurnCertificate | None) -> bool:
    """Whether coturn answers a binding request: over UDP, or over TLS with its certificate
    verified against the test CA for ``address`` (what a browser checks too)."""
    try:
        if certificate is None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                s.sendto(_binding_request(), (address, port))
                s.recvfrom(1500)
                return True
        context = ssl.create_default_context(cafile=str(certificate.ca))
        with socket.create_connection((address, port), timeout=0.5) as raw, \
                context.wrap_socket(raw, server_hostname=address) as tls:
            tls.sendall(_binding_request())
            return len(tls.recv(1500)) >= 20
    except ssl.SSLCertVerificationError:
        raise
    except OSError:
        return False


@contextmanager
def running_coturn(tmp_path: Path, listening_ip: str = "127.0.0.1",
                   relay_ports: tuple[int, int] = (49400, 49499),
                   certificate: TurnCertificate | None = None) -> Iterator[tuple[int, str]]:
    """Debian's coturn in the shared-secret REST mode, listening (UDP and TCP) on
    ``listening_ip``, relaying from 127.0.0.1 (loopback peers allowed): (port, secret).

    With ``certificate``, it listens on TLS only (`tls-listening-port` with that certificate;
    no UDP, TCP or DTLS listener), so a client can reach it through TLS and nothing else."""
    binary = require_binary("turnserver", "coturn")
    port = free_port(listening_ip)
    secret = secrets.token_urlsafe(16)
    log = tmp_path / "turn.log"
    if certificate is None:
        listeners = [f"--listening-port={port}", "--no-tls", "--no-dtls"]
    else:
        listeners = [f"--tls-listening-port={port}", f"--cert={certificate.cert}",
                     f"--pkey={certificate.key}", "--no-udp", "--no-tcp", "--no-dtls",
                     "--no-tlsv1", "--no-tlsv1_1"]
    proc = subprocess.Popen(
        [binary, "-n", f"--listening-ip={listening_ip}", "--relay-ip=127.0.0.1", *listeners,
         "--use-auth-secret", f"--static-auth-secret={secret}",
         "--realm=rostrum.test", "--no-cli", "--allow-loopback-peers",
         f"--min-port={relay_ports[0]}", f"--max-port={relay_ports[1]}", f"--log-file={log}",
         "--simple-log", "--verbose", f"--pidfile={tmp_path / 'turn.pid'}", "--no-multicast-peers"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _answers(listening_ip, port, certificate):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("coturn did not start: " +
                                     (log.read_text() if log.exists() else ""))
            time.sleep(0.1)
        yield port, secret
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, str]]:
    with running_coturn(tmp_path) as running:
        yield running


def relay_only(server: dict[str, Any]) -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(
        iceServers=[RTCIceServer(urls=server["urls"], username=server["username"],
                                 credential=server["credential"])],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def test_the_credential_recipe_is_coturns() -> None:
    server = turn_credentials("s3cret", ("turn:t.example:3478",), "abc123", 600, now=1000)
    assert server["username"] == "1600:abc123"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1600:abc123", hashlib.sha1).digest())
    assert server["credential"] == expected.decode()
    for bad in [("", ("turn:x",), "a"), ("s", (), "a"), ("s", ("turn:x",), "a:b")]:
        with pytest.raises(ValueError):
            turn_credentials(*bad, ttl_s=60)


def test_turn_urls_are_checked_at_start(tmp_path: Path, capsys: Any) -> None:
    """A browser throws on a malformed TURN URL when it makes a peer connection: the server
    refuses to start with one, saying why, and takes the RFC 7065 forms over UDP, TCP, TLS."""
    good = ("turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp,"
            "turns:turn.example.org:443?transport=tcp,turns:10.0.0.7,turn:[2001:db8::1]")
    base = ["--data-dir", str(tmp_path), "--secret", "s", "--turn-secret", "t"]
    config = from_env_and_args([*base, "--turn-urls", good], {})
    assert config.turn_urls == tuple(good.split(","))
    for bad, why in [("turns:turn.example.org:5349?transport=udp", "no TURN over DTLS"),
                     ("stun:turn.example.org", "not a TURN URL"),
                     ("turn:turn.example.org:99999", "port 99999"),
                     ("turn:turn.example.org?transport=sctp", "transport 'sctp'"),
                     ("turn:300.1.2.3", "not an IPv4 address"),
                     ("turn:[fe80::zz]", "not a TURN URL"),
                     ("turn:turn example", "not a TURN URL")]:
        with pytest.raises(SystemExit):
            from_env_and_args([*base, "--turn-urls", f"turn:ok.example,{bad}"], {})
        assert why in capsys.readouterr().err, bad
        with pytest.raises(ValueError, match="TURN|port|transport|address"):
            check_turn_url(bad)


async def test_a_relay_only_peer_is_heard_and_hears_through_coturn(
    coturn: tuple[int, str],
) -> None:
    port, secret = coturn
    url = f"turn:127.0.0.1:{port}?transport=udp"
    async with running_server(turn_secret=secret, turn_urls=(url,), turn_ttl_s=600) as srv:
        relayed = TestPeer(srv.base_url, srv.token("delegate"), "Relayed")
        direct = TestPeer(srv.base_url, srv.token("delegate"), "Direct")
        try:
            joined = await relayed.join()
            turn = next(s for s in joined["iceServers"] if s["urls"] == [url])
            expiry, _, user = turn["username"].partition(":")
            assert user == relayed.participant_id
            assert 590 <= int(expiry) - time.time() <= 600
            assert (await direct.join())["iceServers"][-1]["username"].endswith(
                ":" + direct.participant_id)  # credentials of their own

            relayed.make_pc = lambda: relay_only(turn)
            assert (await relayed.publish(audio=ToneTrack(440)))["ok"]
            offer = relayed.publish_pc.localDescription.sdp
            assert "typ relay" in offer and "typ host" not in offer, offer
            assert (await relayed.subscribe(decode=True))["ok"]
            assert (await direct.publish(audio=ToneTrack(660)))["ok"]
            assert (await direct.subscribe(decode=True))["ok"]

            async def hears(peer: TestPeer, other: TestPeer, target: float) -> float:
                await peer.wait_for(lambda: peer.slot_of(other.participant_id, "audio")
                                    is not None, timeout=20, what="a seat")
                mid = peer.slot_of(other.participant_id, "audio")
                assert mid is not None
                return await dominant_frequency(peer.tracks[mid], seconds=1.0)

            heard_up = await asyncio.wait_for(hears(direct, relayed, 440), 30)
            heard_down = await asyncio.wait_for(hears(relayed, direct, 660), 30)
            assert abs(heard_up - 440) < 15 and abs(heard_down - 660) < 15, (heard_up,
                                                                             heard_down)
            assert relayed.publish_pc.iceConnectionState == "completed" or \
                relayed.publish_pc.connectionState == "connected"
        finally:
            await relayed.close()
            await direct.close()

    # coturn itself refuses a forged and an expired credential: a relay-only peer gathers
    # no candidate with them
    for forged in [dict(turn, credential=base64.b64encode(b"x" * 20).decode()),
                   turn_credentials(secret, (url,), "late", 60, now=time.time() - 3600)]:
        pc = relay_only(forged)
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        assert "typ relay" not in pc.localDescription.sdp
        await pc.close()
