"""Documents made by the tests (python-docx, and LibreOffice for PDFs), an HTTP client for the
documents API and a Socket.IO participant on `/documents`; shared by tests and bench."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.requirements import require

# One page per entry: (language, text). The Arabic carries its diacritics (tashkeel).
DOCX_PAGES: list[list[str]] = [
    ["The network shall support two-factor authentication for NB-IoT devices.",
     "Les réseaux de télécommunication évolués offrent une qualité de service garantie."],
    ["يجب أن تدعم الشبكةُ المُقَسِّمَ الضوئيَّ في شبكاتِ النفاذ.",
     "وتُحدِّد هذه التوصية متطلبات الأمن."],
    ["Las redes de acceso óptico requieren una planificación cuidadosa.",
     "Сети следующего поколения должны поддерживать шифрование трафика."],
]
PDF_PAGES: list[list[str]] = [
    ["国际电信联盟电信标准化部门第十三研究组讨论了未来网络。"],
    ["Квантовое распределение ключей для защищённых сетей.",
     "Quantum key distribution for secure networks.",
     "ناقش الأعضاء خلال الاجتماع توزيع المفاتيح الكمومية."],
]


def make_docx(pages: list[list[str]]) -> bytes:
    import docx

    document = docx.Document()
    for n, paragraphs in enumerate(pages):
        if n:
            document.add_page_break()  # type: ignore[no-untyped-call]
        for text in paragraphs:
            document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    require(path is not None, "LibreOffice (apt-get install libreoffice-writer-nogui)")
    assert path is not None
    return path


def docx_to_pdf(data: bytes, filter_options: str = "") -> bytes:
    """Convert with the real LibreOffice, as a secretariat's PDF would have been made."""
    with tempfile.TemporaryDirectory(prefix="rostrum-test-pdf-") as tmp:
        src = Path(tmp) / "in.docx"
        src.write_bytes(data)
        target = "pdf" + (f":writer_pdf_Export:{filter_options}" if filter_options else "")
        subprocess.run([soffice(), f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--norestore", "--convert-to", target, "--outdir", tmp, str(src)],
                       check=True, capture_output=True, timeout=120)
        return (Path(tmp) / "in.pdf").read_bytes()


class Api:
    """The documents HTTP API with one invite token."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, meeting_id: str,
                 token: str) -> None:
        self.session = session
        self.base = f"{base_url}/api/meetings/{meeting_id}"
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.session.get(self.base + path, headers=self.headers,
                                    params=params) as r:
            return r.status, await r.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.post(self.base + path, headers=self.headers,
                                     json=body if body is not None else {}) as r:
            return r.status, await r.json()

    async def create(self, number: str, title: str = "A document", **extra: Any
                     ) -> tuple[int, Any]:
        return await self.post("/documents", {"number": number, "title": title, **extra})

    async def upload(self, document_id: str, data: bytes, file_name: str, language: str,
                     revision: int = 0) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=file_name,
                       content_type="application/octet-stream")
        async with self.session.post(
                f"{self.base}/documents/{document_id}/versions", headers=self.headers,
                params={"language": language, "revision": str(revision)}, data=form) as r:
            return r.status, await r.json()

    async def wait_job(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            status, body = await self.get(f"/documents/jobs/{job_id}")
            assert status == 200, body
            job: dict[str, Any] = body["job"]
            seen.append(job["stage"])
            if job["state"] != "running":
                job["stagesSeen"] = seen
                return job
            await asyncio.sleep(0.1)
        raise AssertionError(f"conversion {job_id} still running after {timeout} s: {seen}")

    async def upload_ready(self, document_id: str, data: bytes, file_name: str,
                           language: str, revision: int = 0) -> dict[str, Any]:
        status, body = await self.upload(document_id, data, file_name, language, revision)
        assert status == 202, body
        job = await self.wait_job(body["job"]["id"])
        assert job["state"] == "ready", job
        return job

    async def raw(self, url: str) -> tuple[int, bytes, str]:
        async with self.session.get(url, headers=self.headers) as r:
            return r.status, await r.read(), r.headers.get("Content-Type", "")


class Follower:
    """A participant on /room and /documents that records every ``screen`` it gets."""

    def __init__(self, base_url: str, token: str, name: str) -> None:
        self.base_url, self.token, self.name = base_url, token, name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.screens: list[dict[str, Any]] = []
        self.registers: list[dict[str, Any]] = []
        self.id = ""
        self.sio.on("screen", self.screens.append, namespace="/documents")
        self.sio.on("register", self.registers.append, namespace="/documents")

    async def join(self) -> None:
        await self.sio.connect(self.base_url, namespaces=["/room", "/documents", "/floor"],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10)
        reply = await self.sio.call("join", {"name": self.name}, namespace="/room", timeout=10)
        assert reply["ok"], reply
        self.id = reply["self"]["id"]

    async def docs(self, event: str, data: Any = None) -> dict[str, Any]:
        reply = await self.sio.call(event, data if data is not None else {},
                                    namespace="/documents", timeout=10)
        assert isinstance(reply, dict)
        return reply

    async def floor(self, event: str, data: Any = None) -> dict[str, Any]:
        reply = await self.sio.call(event, data if data is not None else {},
                                    namespace="/floor", timeout=10)
        assert isinstance(reply, dict)
        return reply

    @property
    def screen(self) -> dict[str, Any] | None:
        return max(self.screens, key=lambda s: s["seq"]) if self.screens else None

    async def wait_screen(self, predicate: Callable[[dict[str, Any]], bool],
                          timeout: float = 5, what: str = "screen") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.screen is not None and predicate(self.screen):
                return self.screen
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.name}: no {what}; last screen {self.screen}")

    async def close(self) -> None:
        await self.sio.disconnect()
