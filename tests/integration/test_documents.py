"""Documents end to end: register, uploads converted by the real LibreOffice and PDFium, page
images and text layers over HTTP, search in the six languages, the shared screen over
Socket.IO (presenter, followers, a late joiner), and the restart."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from meeting_server.app import DOCUMENTS
from tests.documents_support import (
    DOCX_PAGES,
    PDF_PAGES,
    Api,
    Follower,
    docx_to_pdf,
    make_docx,
)
from tests.harness import running_server


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    docx = make_docx(DOCX_PAGES)
    return {"docx": docx, "pdf": docx_to_pdf(make_docx(PDF_PAGES))}


def matched(hit: dict[str, Any]) -> list[str]:
    return [s["text"] for s in hit["snippet"] if s["match"]]


async def test_upload_convert_pages_text_and_search_in_six_languages(
        files: dict[str, bytes]) -> None:
    async with running_server() as srv, aiohttp.ClientSession() as http:
        chair = Api(http, srv.base_url, srv.meeting_id, srv.token("chair"))
        delegate = Api(http, srv.base_url, srv.meeting_id, srv.token("delegate"))
        status, c45 = await chair.create("c 45", "Optical access", source="Member State A")
        assert status == 201 and c45["document"]["number"] == "C 45", c45
        assert c45["document"]["kind"] == "contribution"
        status, td = await chair.create("td 123 (plen/13)", "Report of Question 4")
        assert status == 201 and td["document"]["number"] == "TD 123 (PLEN/13)"
        c45_id, td_id = c45["document"]["id"], td["document"]["id"]

        job = await chair.upload_ready(c45_id, files["docx"], "C45-en.docx", "en")
        assert job["pages"] == 3
        assert {"converting", "rendering"} & set(job["stagesSeen"]), job["stagesSeen"]
        zh = await chair.upload_ready(td_id, files["pdf"], "TD123-zh.pdf", "zh")
        en = await chair.upload_ready(td_id, files["pdf"], "TD123-en.pdf", "en")
        assert zh["pages"] == en["pages"] == 2

        # pages: three widths of WebP, and a text layer with positions, for everyone
        status, pages = await delegate.get(f"/versions/{job['versionId']}/pages")
        assert status == 200 and len(pages["pages"]) == 3, pages
        first = pages["pages"][0]
        assert sorted(int(w) for w in first["images"]) == [400, 800, 1400]
        for width, image in first["images"].items():
            status, body, kind = await delegate.raw(srv.base_url + image["url"])
            assert status == 200 and kind == "image/webp"
            assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
            assert image["width"] == int(width) and len(body) == image["bytes"]
        small = first["images"]["400"]["bytes"]
        assert small < first["images"]["1400"]["bytes"] and small < 25_000
        status, layer = await delegate.get(f"/versions/{job['versionId']}/pages/1/text")
        assert status == 200
        assert "two-factor authentication" in layer["text"]
        runs = [r for r in layer["runs"] if "authentication" in r["text"]]
        assert runs and all(0 <= r[k] <= 1 for r in runs for k in ("x", "y", "w", "h"))
        status, layer = await delegate.get(f"/versions/{job['versionId']}/pages/2/text")
        assert "المُقَسِّمَ" in layer["text"]  # the DOCX's own text, not PDFium's reordering

        async def search(q: str, **filters: str) -> list[dict[str, Any]]:
            status, body = await delegate.get("/search", q=q, **filters)
            assert status == 200, body
            return list(body["hits"])

        expect = [  # (query, document, page, a highlighted word)
            ("authenticate", c45_id, 1, "authentication"),
            ("réseau", c45_id, 1, "réseaux"),
            ("RESEAUX", c45_id, 1, "réseaux"),
            ("óptica", c45_id, 3, "óptico"),
            ("шифрования", c45_id, 3, "шифрование"),
            ("المقسم", c45_id, 2, "المُقَسِّمَ"),
            ("المُقَسِّم", c45_id, 2, "المُقَسِّمَ"),
            ("الضوئى", c45_id, 2, "الضوئيَّ"),  # alef maksura for yeh
            ("标准化", td_id, 1, "标准化"),
            ("准化部", td_id, 1, "准化部"),  # inside 标准化部门: the trigram index
            ("квантового распределения", td_id, 2, "Квантовое"),
            # Arabic out of a PDF (PDFium's lam-alef order): found, and the snippet repaired
            ("الأعضاء", td_id, 2, "الأعضاء"),
            ("خلال", td_id, 2, "خالل"),
        ]
        for q, document_id, page, word in expect:
            hits = await search(q)
            assert hits, q
            assert (hits[0]["documentId"], hits[0]["page"]) == (document_id, page), (q, hits)
            assert word in matched(hits[0]), (q, hits[0]["snippet"])
            assert hits[0]["link"].endswith(f"&page={page}")
        assert await search("xylophone") == []
        assert await search("вертолёт") == []
        assert await search("量子") == []
        # filters: language and kind
        zh_hits = await search("quantum", language="zh")
        assert [h["versionId"] for h in zh_hits] == [zh["versionId"]]
        assert await search("authenticate", language="fr") == []
        assert await search("authenticate", kind="temporary-document") == []
        # a hit offers the document's other language versions
        # (the zh and en versions here carry the same file, so both are hits)
        hits = await search("准化部", language="zh")
        assert [h["versionId"] for h in hits] == [zh["versionId"]]
        other = hits[0]["otherLanguages"]
        assert [(o["language"], o["versionId"], o["page"]) for o in other] == [
            ("en", en["versionId"], 1)]
        status, body = await delegate.get("/search", q="x", language="de")
        assert status == 400 and body["error"]["code"] == "bad-request"


async def test_register_roles_submissions_and_revisions(files: dict[str, bytes]) -> None:
    async with running_server() as srv, aiohttp.ClientSession() as http:
        secretariat = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        ana = Api(http, srv.base_url, srv.meeting_id, srv.token("delegate"))
        ben = Api(http, srv.base_url, srv.meeting_id, srv.token("delegate"))
        observer = Api(http, srv.base_url, srv.meeting_id, srv.token("observer"))
        # a delegate submits a contribution; only they and the managers see it
        status, body = await ana.create("C 46", "Proposal on Q4", source="Member State B",
                                        name="Ana")
        assert status == 201 and body["document"]["status"] == "submitted", body
        c46 = body["document"]["id"]
        assert (await ana.create("TD 7", "x"))[1]["error"]["code"] == "forbidden"
        assert (await observer.create("C 47", "x"))[1]["error"]["code"] == "forbidden"
        assert [d["id"] for d in (await ben.get("/documents"))[1]["documents"]] == []
        assert (await ben.get(f"/documents/{c46}"))[0] == 404
        assert [d["id"] for d in (await secretariat.get("/documents"))[1]["documents"]] == [c46]
        assert (await ben.upload(c46, files["pdf"], "x.pdf", "en"))[0] == 404
        await ana.upload_ready(c46, files["pdf"], "proposal.pdf", "en")
        assert (await ana.post(f"/documents/{c46}/accept"))[1]["error"]["code"] == "forbidden"
        status, body = await secretariat.post(f"/documents/{c46}/accept", {"name": "Sec"})
        assert status == 200 and body["document"]["status"] == "published", body
        assert (await secretariat.post(f"/documents/{c46}/accept"))[0] == 409
        assert [d["id"] for d in (await ben.get("/documents"))[1]["documents"]] == [c46]
        # accepted: the delegate's own uploads stop; the secretariat adds Rev.1
        assert (await ana.upload(c46, files["pdf"], "v2.pdf", "en", 1))[0] == 403
        assert (await secretariat.upload(c46, files["pdf"], "again.pdf", "en", 0))[0] == 409
        await secretariat.upload_ready(c46, files["pdf"], "rev1.pdf", "en", 1)
        doc = (await ben.get(f"/documents/{c46}"))[1]["document"]
        assert [(v["revisionLabel"], v["superseded"]) for v in doc["versions"]] == [
            ("", True), ("Rev.1", False)]
        assert doc["acceptedBy"] == "Sec" and doc["submittedBy"] == "Ana"
        # the same number twice, a bad number, bad tokens
        assert (await secretariat.create("C 46", "again"))[0] == 409
        status, body = await secretariat.create("Doc one", "x")
        assert status == 400 and "TD 123" in body["error"]["message"]
        assert (await secretariat.create("C 48", ""))[0] == 400
        other = Api(http, srv.base_url, srv.meeting_id, srv.token("chair", "elsewhere"))
        assert (await other.get("/documents"))[0] == 403
        forged = Api(http, srv.base_url, srv.meeting_id, "x.y")
        assert (await forged.get("/documents"))[0] == 401


async def test_presenter_followers_late_joiner_highlight_and_the_floor(
        files: dict[str, bytes]) -> None:
    async with running_server(floor_mode="chaired") as srv, aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("chair"))
        doc_id = (await api.create("TD 9", "Draft Recommendation"))[1]["document"]["id"]
        version = (await api.upload_ready(doc_id, files["docx"], "td9.docx", "en"))["versionId"]
        chair = Follower(srv.base_url, srv.token("chair"), "Chair")
        ana = Follower(srv.base_url, srv.token("delegate"), "Ana")
        ben = Follower(srv.base_url, srv.token("delegate"), "Ben")
        people = [chair, ana, ben]
        try:
            for p in people:
                await p.join()
            assert (await ana.docs("state"))["screen"]["mayPresent"] is False
            assert (await chair.docs("state"))["screen"]["mayPresent"] is True
            reply = await chair.docs("show", {"documentId": doc_id, "page": 2})
            assert reply["ok"], reply
            for p in (ana, ben):
                screen = await p.wait_screen(lambda s: (s["showing"] or {}).get("page") == 2)
                assert screen["showing"]["versionId"] == version
            assert (await chair.docs("show", {"documentId": doc_id, "versionId": version,
                                              "page": 3}))["ok"]
            for p in (ana, ben):
                await p.wait_screen(lambda s: s["showing"]["page"] == 3, what="page 3")
            # a delegate without the right changes nothing, whatever it sends
            for event, payload in [("show", {"documentId": doc_id, "page": 1}),
                                   ("highlight", {"page": 3, "boxes": []}),
                                   ("point", {"x": 0.5, "y": 0.5}),
                                   ("give", {"participantId": ana.id})]:
                reply = await ana.docs(event, payload)
                assert reply["error"]["code"] == "forbidden", (event, reply)
            bad = [("show", {"documentId": doc_id, "page": 4}),
                   ("show", {"documentId": doc_id, "page": "2"}),
                   ("show", {"documentId": "0" * 16, "page": 1}),
                   ("highlight", {"page": 3, "boxes": [{"x": 2, "y": 0, "w": 1, "h": 1}]}),
                   ("highlight", {"page": 1, "boxes": []}),
                   ("nonsense", {})]
            for event, payload in bad:
                reply = await chair.docs(event, payload)
                assert not reply["ok"], (event, reply)
            # a late joiner lands on the page shown
            late = Follower(srv.base_url, srv.token("observer"), "Late")
            people.append(late)
            await late.join()
            screen = await late.wait_screen(lambda s: s["showing"] is not None)
            assert screen["showing"]["page"] == 3 and screen["showing"]["documentId"] == doc_id
            # the presenter highlights a passage: everyone sees the box
            box = {"x": 0.1, "y": 0.2, "w": 0.5, "h": 0.03}
            assert (await chair.docs("highlight", {"page": 3, "boxes": [box]}))["ok"]
            for p in (ana, ben, late):
                await p.wait_screen(lambda s: s["highlight"] == [box], what="the highlight")
            # the presenter right goes to the delegate with the floor, and ends with it
            reply = await chair.docs("give", {"participantId": ana.id})
            assert reply["error"]["code"] == "conflict", reply
            assert (await chair.floor("grant", {"participantId": ana.id}))["ok"]
            assert (await chair.docs("give", {"participantId": ana.id}))["ok"]
            await ana.wait_screen(lambda s: s["presenterDelegate"] == ana.id)
            assert (await ana.docs("show", {"documentId": doc_id, "page": 1}))["ok"]
            for p in (chair, ben, late):
                await p.wait_screen(lambda s: s["showing"]["page"] == 1, what="Ana's page")
            assert (await ben.docs("show", {"documentId": doc_id, "page": 2}))["error"][
                "code"] == "forbidden"
            assert (await chair.floor("revoke"))["ok"]
            await ana.wait_screen(lambda s: s["presenterDelegate"] is None)
            assert (await ana.docs("show", {"documentId": doc_id, "page": 2}))["error"][
                "code"] == "forbidden"
        finally:
            for p in people:
                await p.close()


async def test_register_and_screen_survive_a_restart(files: dict[str, bytes]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rostrum-docs-restart-"))
    secret = "restart-secret"
    async with running_server(data_dir=folder, secret=secret) as srv, \
            aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("chair"))
        doc_id = (await api.create("C 3", "Kept"))[1]["document"]["id"]
        await api.upload_ready(doc_id, files["pdf"], "c3.pdf", "ru")
        chair = Follower(srv.base_url, srv.token("chair"), "Chair")
        await chair.join()
        assert (await chair.docs("show", {"documentId": doc_id, "page": 2}))["ok"]
        await chair.close()
    async with running_server(data_dir=folder, secret=secret) as srv, \
            aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("delegate"))
        docs = (await api.get("/documents"))[1]["documents"]
        assert [d["number"] for d in docs] == ["C 3"] and docs[0]["languages"] == ["ru"]
        hits = (await api.get("/search", q="ключ"))[1]["hits"]
        assert [h["page"] for h in hits] == [2]
        late = Follower(srv.base_url, srv.token("delegate"), "After")
        await late.join()
        screen = await late.wait_screen(lambda s: s["showing"] is not None)
        assert screen["showing"]["page"] == 2
        await late.close()
        assert srv.app[DOCUMENTS].jobs == {}
    shutil.rmtree(folder, ignore_errors=True)
