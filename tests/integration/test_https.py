"""Built-in HTTPS: `python -m meeting_server --tls-cert --tls-key` serves pages and Socket.IO
over TLS, prints https links, adds HSTS, and its access log never shows a token."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def wait_for_text(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)


async def test_the_server_speaks_https_itself(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {**os.environ, "ROSTRUM_DATA_DIR": str(tmp_path / "data"), "ROSTRUM_PORT": str(port),
           "ROSTRUM_RTC_ADDRESSES": "127.0.0.1", "REDIS_URL": "", "ROSTRUM_RTC_PORT": "0",
           "ROSTRUM_TLS_CERT": str(cert), "ROSTRUM_TLS_KEY": str(key)}
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "meeting_server", "--demo"], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listening(port, timeout=20)
        wait_for_text(log_path, "observer")
        links = [line.split()[1] for line in log_path.read_text().splitlines()
                 if len(line.split()) == 2 and "/m/" in line]
        assert len(links) == 6 and all(link.startswith("https://") for link in links), links
        trust = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://127.0.0.1:{port}/healthz", ssl=trust) as reply:
                assert reply.status == 200 and (await reply.json())["ok"]
                assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
            async with session.get(links[2], ssl=trust) as reply:
                assert reply.status == 200
                assert "default-src 'self'" in reply.headers["Content-Security-Policy"]
            ws_url = f"wss://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
            async with session.ws_connect(ws_url, ssl=trust) as ws:
                opened = await ws.receive(timeout=5)
                assert opened.data.startswith("0{"), opened
            # plain HTTP on the TLS port gets nothing useful
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    assert reply.status == 400
            except aiohttp.ClientError:
                pass
        text = log_path.read_text()
        token = links[2].split("t=", 1)[1]
        assert "/healthz" in text and "[redacted]" in text  # the access log runs
        assert text.count(token) == 1, "the token appears in the log beyond its printed link"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
