"""Conversion jobs outlive the server: kill -9 during a conversion and the restarted server
converts the upload again, once; a job the server died during too often ends failed."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp

from meeting_server.app import DOCUMENTS
from meeting_server.documents import MAX_ATTEMPTS
from tests.documents_support import Api, make_docx
from tests.harness import free_port, running_server
from tests.integration.test_restart import start

PAGES = 24


def long_docx() -> bytes:
    """A document long enough that the kill lands while it is being converted."""
    return make_docx([[f"Page {n} of the liaison on quantum key distribution.",
                       "Сети следующего поколения, réseaux évolués, redes de acceso.",
                       f"يجب أن تدعم الشبكة المقسم الضوئي {n}", "国际电信联盟第十三研究组"]
                      for n in range(1, PAGES + 1)] + [["zebrafinch closing page"]])


def rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_conversion_killed_by_kill_9_is_converted_after_restart_once(tmp_path: Path
                                                                         ) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, tokens = start(tmp_path, port)
    try:
        async def upload_and_kill() -> tuple[str, str, list[str]]:
            async with aiohttp.ClientSession() as http:
                api = Api(http, base, "demo", tokens["chair"])
                status, doc = await api.create("TD 7 (PLEN/13)", "Quantum keys")
                assert status == 201, doc
                doc_id = doc["document"]["id"]
                status, body = await api.upload(doc_id, long_docx(), "td7.docx", "en")
                assert status == 202, body
                job_id = body["job"]["id"]
                seen: list[str] = []
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    job = (await api.get(f"/documents/jobs/{job_id}"))[1]["job"]
                    seen.append(job["stage"])
                    assert job["state"] == "running", job  # the kill must land mid-way
                    if job["stage"] == "rendering" and job["progress"] > 0.25:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError(f"the conversion never got to rendering: {seen}")
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=5)
                return doc_id, job_id, seen

        doc_id, job_id, seen = asyncio.run(upload_and_kill())
    finally:
        if proc.poll() is None:
            proc.kill()
    db = tmp_path / "rostrum.sqlite3"
    assert rows(db, "SELECT state, attempts FROM document_jobs") == [("running", 1)]
    assert rows(db, "SELECT COUNT(*) FROM document_versions") == [(0,)]
    proc2, tokens2 = start(tmp_path, port)
    try:
        async def after_restart() -> None:
            async with aiohttp.ClientSession() as http:
                api = Api(http, base, "demo", tokens2["chair"])
                job = await api.wait_job(job_id, timeout=120)
                assert job["state"] == "ready", job
                assert job["pages"] == PAGES + 1
                status, doc = await api.get(f"/documents/{doc_id}")
                assert status == 200
                (version,) = doc["document"]["versions"]
                assert version["id"] == job["versionId"] and version["pages"] == PAGES + 1
                status, pages = await api.get(f"/versions/{version['id']}/pages")
                assert status == 200 and len(pages["pages"]) == PAGES + 1
                image = pages["pages"][-1]["images"]["400"]["url"]
                status, data, kind = await api.raw(base + image)
                assert status == 200 and kind == "image/webp" and data[:4] == b"RIFF"
                hits = (await api.get("/search", q="zebrafinch"))[1]["hits"]
                assert [(h["versionId"], h["page"]) for h in hits] == \
                    [(version["id"], PAGES + 1)]

        asyncio.run(after_restart())
    finally:
        proc2.send_signal(signal.SIGTERM)
        try:
            proc2.wait(timeout=10)
        except Exception:
            proc2.kill()
    # nothing stored twice: one version, its pages and search entries once, one folder
    assert rows(db, "SELECT state, attempts FROM document_jobs") == [("ready", 2)]
    assert rows(db, "SELECT COUNT(*) FROM document_versions") == [(1,)]
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT page) FROM document_pages") == \
        [(PAGES + 1, PAGES + 1)]
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT page) FROM search_pages") == \
        [(PAGES + 1, PAGES + 1)]
    folders = [p.name for p in (tmp_path / "documents" / "demo").iterdir()]
    assert len(folders) == 1, folders
    assert list((tmp_path / "documents" / "incoming").iterdir()) == []
    assert "rendering" in seen


async def test_a_job_interrupted_too_often_fails_and_stores_nothing() -> None:
    folder = Path(tempfile.mkdtemp(prefix="rostrum-docs-jobs-"))
    secret = "jobs-secret"
    data = make_docx([["A short page about optical access."]])
    try:
        async with running_server(data_dir=folder, secret=secret) as srv, \
                aiohttp.ClientSession() as http:
            api = Api(http, srv.base_url, srv.meeting_id, srv.token("chair"))
            doc_id = (await api.create("C 9", "Interrupted"))[1]["document"]["id"]
            again = (await api.create("C 10", "Resumed"))[1]["document"]["id"]
            status, first = await api.upload(doc_id, data, "c9.docx", "fr")
            assert status == 202, first
            status, second = await api.upload(again, data, "c10.docx", "es")
            assert status == 202, second
            # the server stops (cancelling both conversions) before either is done
        db = folder / "rostrum.sqlite3"
        # a stop on purpose does not count as an attempt
        assert sorted(rows(db, "SELECT state, attempts FROM document_jobs")) == \
            [("running", 0), ("running", 0)]
        # as if the server had died during every attempt at C 9
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE document_jobs SET attempts = ? WHERE id = ?",
                         (MAX_ATTEMPTS, first["job"]["id"]))
        async with running_server(data_dir=folder, secret=secret) as srv, \
                aiohttp.ClientSession() as http:
            api = Api(http, srv.base_url, srv.meeting_id, srv.token("chair"))
            failed = await api.wait_job(first["job"]["id"])
            assert failed["state"] == "failed", failed
            assert failed["error"]["code"] == "conversion-interrupted", failed
            resumed = await api.wait_job(second["job"]["id"])
            assert resumed["state"] == "ready" and resumed["pages"] == 1, resumed
            docs = {d["number"]: d for d in (await api.get("/documents"))[1]["documents"]}
            assert docs["C 9"]["versions"] == []
            assert [v["language"] for v in docs["C 10"]["versions"]] == ["es"]
            # the uploader's link (the job's id) still answers after the hour in memory
            srv.app[DOCUMENTS].jobs.clear()
            status, body = await api.get(f"/documents/jobs/{first['job']['id']}")
            assert status == 200 and body["job"]["state"] == "failed", body
        assert rows(db, "SELECT COUNT(*) FROM document_versions") == [(1,)]
        assert list((folder / "documents" / "incoming").iterdir()) == []
        assert len(list((folder / "documents" / srv.meeting_id).iterdir())) == 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
