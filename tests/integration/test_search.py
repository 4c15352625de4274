"""Search across the deployment (`/api/search`): the documents of one meeting and the captions
and floor log of another, in the six languages, each meeting only with its token; bad input
answered with a clear error."""

from __future__ import annotations

from typing import Any

import aiohttp

from meeting_server.app import MEETINGS
from tests.documents_support import DOCX_PAGES, Api, make_docx
from tests.harness import running_server
from tests.text_peer import TextPeer

# (language, the final caption, a query in that language that must find it)
CAPTIONS = [
    ("ar", "ناقشَ الاجتماعُ التوقيعَ الرقميَّ للشهاداتِ", "التوقيع الرقمي"),
    ("zh", "我们讨论了量子密钥分发网络的部署", "钥分"),  # part of longer words
    ("en", "We propose to approve the liaison on satellites.", "satellite"),
    ("fr", "La délégation soutient les réseaux optiques passifs.", "reseau"),
    ("ru", "Мы обсуждали шифрование трафика в сетях доступа.", "шифрованием"),
    ("es", "Proponemos aprobar las redes inalámbricas de acceso.", "inalambrica"),
]


def words(hit: dict[str, Any]) -> list[str]:
    return [s["text"] for s in hit["snippet"] if s["match"]]


async def test_search_across_meetings_documents_captions_and_floor_in_six_languages(
        ) -> None:
    async with running_server() as srv, aiohttp.ClientSession() as http:
        other = await srv.app[MEETINGS].create_meeting("Working Party 2", meeting_id="twp2x")
        a_chair, b_chair = srv.token("chair"), srv.token("chair", meeting_id=other.id)
        a_delegate = srv.token("delegate")
        b_delegate = srv.token("delegate", meeting_id=other.id)
        docs = Api(http, srv.base_url, srv.meeting_id, a_chair)
        doc_id = (await docs.create("C 45", "Optical access"))[1]["document"]["id"]
        await docs.upload_ready(doc_id, make_docx(DOCX_PAGES), "c45.docx", "en")

        # meeting B: a delegate speaks on an item, a captioner writes a line in each language
        chair = TextPeer(srv.base_url, b_chair, "Chair")
        ana = TextPeer(srv.base_url, b_delegate, "Ana Quispe")
        carol = TextPeer(srv.base_url, srv.token("captioner", meeting_id=other.id), "Carol")
        for peer, state in ((chair, ""), (ana, "Peru"), (carol, "")):
            await peer.join(memberState=state)
        rid = (await ana.floor("request", {"note": "Question 4/13 liaison statement"})
               )["request"]["id"]
        assert (await chair.floor("grant", {"requestId": rid, "language": "es"}))["ok"]
        finals = {}
        for language, text, _ in CAPTIONS:
            assert (await carol.captions("claim", {"language": language}))["ok"]
            reply = await carol.captions("final", {"text": text})
            assert reply["ok"], reply
            finals[language] = reply["caption"]["id"]

        async def search(tokens: list[str], q: str, **extra: Any) -> tuple[int, Any]:
            async with http.post(f"{srv.base_url}/api/search",
                                 json={"q": q, "tokens": tokens, **extra}) as r:
                return r.status, await r.json()

        both = [a_delegate, b_delegate]
        for language, text, query in CAPTIONS:
            status, body = await search(both, query)
            assert status == 200, body
            lines = [h for h in body["lines"] if h["source"] == "captions"]
            assert [h["language"] for h in lines] == [language], (query, body)
            (hit,) = lines
            assert hit["meetingId"] == other.id and hit["meetingTitle"] == "Working Party 2"
            assert hit["speaker"] == "Ana Quispe (Peru)", hit
            assert words(hit), (query, hit)
            assert "".join(s["text"] for s in hit["snippet"]) in text
            assert hit["link"].startswith(f"/m/{other.id}/archive#at=")
        # the Arabic query with its diacritics finds the same line
        status, body = await search(both, "التَّوقيعَ الرَّقميَّ", language="ar")
        assert [h["language"] for h in body["lines"]] == ["ar"], body

        # a corrected caption is found by its new text, once, and no longer by the old one
        status, body = await search(both, "réseaux optiques passifs")  # indexed now
        assert [h["language"] for h in body["lines"]] == ["fr"]
        assert (await carol.captions("claim", {"language": "fr"}))["ok"]
        fixed = await carol.captions("correct", {"id": finals["fr"],
                                                 "text": "La délégation soutient les"
                                                 " réseaux optiques actifs."})
        assert fixed["ok"], fixed
        status, body = await search(both, "actifs")
        assert [(h["language"], h["id"]) for h in body["lines"]] == [("fr", finals["fr"])]
        status, body = await search(both, "passifs")
        assert body["lines"] == [], body
        for peer in (chair, ana, carol):
            await peer.close()

        # the floor log: who spoke on what item, found by name, member state or the item
        for query in ("Quispe", "Peru liaison", "question 4/13"):
            status, body = await search(both, query, sources=["floor"])
            assert status == 200, body
            (floor_hit,) = body["lines"]
            assert floor_hit["source"] == "floor" and floor_hit["language"] == "es", floor_hit
            assert floor_hit["speaker"] == "Ana Quispe (Peru)"

        # documents and proceedings in one answer; each meeting only with its own token
        status, body = await search(both, "authentication")
        assert [(h["meetingId"], h["page"]) for h in body["hits"]] == [(srv.meeting_id, 1)]
        assert body["hits"][0]["meetingTitle"] and body["lines"] == []
        assert {m["id"] for m in body["meetings"]} == {srv.meeting_id, other.id}
        status, body = await search([a_delegate], "satellite")
        assert status == 200 and body["lines"] == [] and body["hits"] == []
        status, body = await search([b_delegate], "authentication")
        assert status == 200 and body["hits"] == []
        # the GET form, tokens as t=
        async with http.get(f"{srv.base_url}/api/search", params=[
                ("q", "satellite"), ("t", b_delegate), ("source", "captions")]) as r:
            body = await r.json()
            assert r.status == 200 and [h["language"] for h in body["lines"]] == ["en"]
        # a word in nothing finds nothing
        status, body = await search(both, "zebrafinch")
        assert status == 200 and body["hits"] == [] and body["lines"] == []

        # bad input: a clear error
        forged = b_delegate[:-4] + ("AAAA" if not b_delegate.endswith("AAAA") else "BBBB")
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"q": "x", "tokens": []}, 400, "bad-request"),
            ({"q": "", "tokens": both}, 400, "bad-request"),
            ({"q": "x", "tokens": [a_delegate, forged]}, 401, "unauthorized"),
            ({"q": "x", "tokens": both, "sources": ["chat"]}, 400, "bad-request"),
            ({"q": "x", "tokens": both, "language": "de"}, 400, "bad-request"),
            ({"q": "x", "tokens": both, "language": "de", "sources": ["captions"]}, 400,
             "bad-request"),
            ({"q": "x", "tokens": [a_delegate] * 51}, 413, "too-large"),
            ({"q": "x" * 201, "tokens": both}, 413, "too-large"),
        ]
        for body_in, want_status, code in cases:
            async with http.post(f"{srv.base_url}/api/search", json=body_in) as r:
                got = await r.json()
                assert (r.status, got["error"]["code"]) == (want_status, code), (body_in, got)
        async with http.post(f"{srv.base_url}/api/search", data=b"not json") as r:
            assert r.status == 400
        async with http.get(f"{srv.base_url}/api/search", params={"q": "x"}) as r:
            assert r.status == 400
