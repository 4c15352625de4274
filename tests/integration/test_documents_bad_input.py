"""Untrusted uploads: each gets a clear error and leaves nothing stored; the server carries on.
The converter is the real one (LibreOffice, the PDFium child); a hanging converter is the
real LibreOffice under a time limit shorter than it needs."""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from meeting_server.app import DOCUMENTS
from tests.documents_support import Api, Follower, docx_to_pdf, make_docx
from tests.harness import running_server

ENCRYPT = ('{"EncryptFile":{"type":"boolean","value":"true"},'
           '"DocumentOpenPassword":{"type":"string","value":"s3cret"}}')


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    docx = make_docx([["Page one of the draft."], ["Page two."], ["Page three."]])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (60 * 2**20))
    return {"docx": docx, "pdf": docx_to_pdf(docx), "bomb": bomb.getvalue(),
            "encrypted": docx_to_pdf(make_docx([["secret"]]), ENCRYPT)}


def stored(srv: Any) -> list[str]:
    """Every file the documents service keeps for this meeting, and any work left over."""
    root: Path = srv.app[DOCUMENTS].root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def soffice_running(root: Path) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() in cmdline:
            pids.append(int(entry))
    return pids


async def test_bad_uploads_are_refused_and_nothing_is_stored(files: dict[str, bytes]) -> None:
    async with running_server() as srv, aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        doc_id = (await api.create("TD 5", "Target"))[1]["document"]["id"]
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
        refused_at_once = [  # (bytes, name, HTTP status, code)
            (png, "slides.pdf", 422, "unsupported-type"),
            (files["docx"], "report.pdf", 422, "wrong-type"),
            (files["pdf"], "report.docx", 422, "wrong-type"),
            (b"just some text\n", "notes.docx", 422, "unsupported-type"),
            (files["pdf"], "report.exe", 422, "unsupported-type"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.doc", 422,
             "unsupported-type"),
            (files["bomb"], "bomb.docx", 422, "zip-bomb"),
            (b"PK\x03\x04 damaged zip", "broken.docx", 422, "bad-file"),
            (b"", "empty.pdf", 422, "bad-file"),
            (b"%PDF-1.7\n" + b"\0" * (31 * 2**20), "huge.pdf", 413, "too-large"),
        ]
        for data, name, status, code in refused_at_once:
            got, body = await api.upload(doc_id, data, name, "en")
            assert (got, body["error"]["code"]) == (status, code), (name, body)
            assert body["error"]["message"]
        assert stored(srv) == []

        async def failed_job(data: bytes, name: str) -> dict[str, Any]:
            status, body = await api.upload(doc_id, data, name, "en")
            assert status == 202, body
            job = await api.wait_job(body["job"]["id"])
            assert job["state"] == "failed", job
            return job

        service = srv.app[DOCUMENTS]
        job = await failed_job(files["encrypted"], "locked.pdf")
        assert job["error"]["code"] == "encrypted", job
        job = await failed_job(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "bad.pdf")
        assert job["error"]["code"] == "bad-file", job
        limits = service.converter.limits
        service.converter.limits = dataclasses.replace(limits, max_pages=2)
        job = await failed_job(files["pdf"], "long.pdf")
        assert job["error"]["code"] == "too-many-pages", job
        service.converter.limits = dataclasses.replace(limits, office_timeout_s=0.5)
        job = await failed_job(files["docx"], "slow.docx")
        assert job["error"]["code"] == "conversion-timeout", job
        assert soffice_running(service.root) == [], "LibreOffice left running"
        service.converter.limits = limits
        status, body = await api.get(f"/documents/{doc_id}")
        assert body["document"]["versions"] == []
        assert stored(srv) == []

        # malformed requests
        async with http.post(f"{api.base}/documents/{doc_id}/versions", headers=api.headers,
                             params={"language": "en"}, data=b"raw") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad-request"
        for params in ({"language": "de"}, {"language": "en", "revision": "x"}, {}):
            form = aiohttp.FormData()
            form.add_field("file", files["pdf"], filename="a.pdf")
            async with http.post(f"{api.base}/documents/{doc_id}/versions",
                                 headers=api.headers, params=params, data=form) as r:
                assert r.status == 400, params
        form = aiohttp.FormData()
        form.add_field("other", b"x", filename="a.pdf")
        async with http.post(f"{api.base}/documents/{doc_id}/versions", headers=api.headers,
                             params={"language": "en"}, data=form) as r:
            assert r.status == 400
        async with http.post(f"{api.base}/documents", headers=api.headers, data=b"{no") as r:
            assert r.status == 400

        # a file name is never a path; the server and the meeting carry on
        job = await api.upload_ready(doc_id, files["pdf"], "../../../etc/evil.pdf", "en")
        doc = (await api.get(f"/documents/{doc_id}"))[1]["document"]
        assert doc["versions"][0]["fileName"] == "evil.pdf"
        assert all(p.startswith(f"{srv.meeting_id}/{job['versionId']}/") for p in stored(srv))
        chair = Follower(srv.base_url, srv.token("chair"), "Chair")
        await chair.join()
        assert (await chair.docs("show", {"documentId": doc_id, "page": 3}))["ok"]
        await chair.close()
