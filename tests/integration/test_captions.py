"""Live captions over `/captions` and the HTTP ingest, against the real server: interim lines
reach the listeners of their language only, Enter makes them final and stored with the floor
holder, corrections, two languages at once, and a CART stream with a repeat and a gap."""

from __future__ import annotations

import aiohttp

from tests.harness import running_server
from tests.text_peer import TextPeer


async def test_interim_final_correct_and_two_languages() -> None:
    async with running_server(floor_mode="chaired") as server:
        url = server.base_url
        chair = TextPeer(url, server.token("chair"), "Chair")
        ana = TextPeer(url, server.token("delegate"), "Ana")
        cap_en = TextPeer(url, server.token("captioner"), "Carol")
        cap_fr = TextPeer(url, server.token("captioner"), "Camille")
        reader_en = TextPeer(url, server.token("observer"), "Olu")
        reader_fr = TextPeer(url, server.token("delegate"), "Fatou")
        nobody = TextPeer(url, server.token("delegate"), "Nadia")
        peers = [chair, ana, cap_en, cap_fr, reader_en, reader_fr, nobody]
        try:
            await chair.join()
            await ana.join(memberState="Kenya")
            for peer in peers[2:]:
                await peer.join()
            # a delegate may not caption; an unknown language is refused
            refused = await ana.captions("claim", {"language": "en"})
            assert refused["error"]["code"] == "forbidden"
            unknown = await cap_en.captions("claim", {"language": "de"})
            assert unknown["error"]["code"] == "unknown-language"
            assert (await cap_en.captions("interim", {"text": "x"}))["error"]["code"] == \
                "conflict"
            assert (await cap_en.captions("claim", {"language": "en"}))["ok"]
            assert (await cap_fr.captions("claim", {"language": "fr"}))["ok"]
            # one desk per language: a second captioner must take over explicitly
            clash = await cap_fr.captions("claim", {"language": "en"})
            assert clash["error"]["code"] == "conflict"
            assert (await cap_fr.captions("claim", {"language": "fr"}))["ok"]
            state = await reader_en.captions("state")
            assert {d["language"]: d["captionerName"] for d in state["desks"]} == \
                {"en": "Carol", "fr": "Camille"}

            assert (await reader_en.captions("subscribe", {"language": "en"}))["ok"]
            assert (await reader_fr.captions("subscribe", {"language": "fr"}))["ok"]
            bad = await nobody.captions("subscribe", {"language": "xx"})
            assert bad["error"]["code"] == "unknown-language"

            # Ana has the floor while the English line is begun
            rid = (await ana.floor("request", {}))["request"]["id"]
            assert (await chair.floor("grant", {"requestId": rid}))["ok"]
            for partial in ("Dist", "Distinguished del", "Distinguished delegates"):
                assert (await cap_en.captions("interim", {"text": partial}))["ok"]
            await reader_en.wait_for(
                lambda: any(m["text"] == "Distinguished delegates"
                            for m in reader_en.received("caption-interim", "/captions")),
                what="the interim line")
            assert (await chair.floor("revoke", {}))["ok"]  # the floor moves on before Enter
            final = await cap_en.captions("final", {"text": "Distinguished delegates,"})
            assert final["ok"], final
            caption = final["caption"]
            assert caption["speaker"] == {"participantId": ana.participant_id, "name": "Ana",
                                          "memberState": "Kenya"}
            assert caption["startedAt"] < caption["at"]
            await reader_en.wait_for(lambda: reader_en.received("caption", "/captions") != [],
                                     what="the final line")
            assert (await cap_fr.captions("final", {"text": "Mesdames et messieurs"}))["ok"]
            await reader_fr.wait_for(lambda: reader_fr.received("caption", "/captions") != [],
                                     what="the French line")
            # each reader got only their language, the unsubscribed nobody
            assert [c["text"] for c in reader_en.received("caption", "/captions")] == \
                ["Distinguished delegates,"]
            assert [c["text"] for c in reader_fr.received("caption", "/captions")] == \
                ["Mesdames et messieurs"]
            assert reader_fr.received("caption-interim", "/captions") == []
            assert nobody.received("caption", "/captions") == []

            # a correction of the last line reaches the readers and the store
            other = await cap_fr.captions("correct", {"id": caption["id"], "text": "no"})
            assert other["error"]["code"] == "forbidden"
            fixed = await cap_en.captions("correct", {"id": caption["id"],
                                                      "text": "Distinguished delegates:"})
            assert fixed["ok"] and fixed["caption"]["revisedAt"] is not None
            await reader_en.wait_for(
                lambda: reader_en.received("caption-corrected", "/captions") != [],
                what="the correction")
            assert (await cap_en.captions("final", {"text": "   "}))["error"]["code"] == \
                "bad-request"
            long = await cap_en.captions("interim", {"text": "a" * 1001})
            assert long["error"]["code"] == "too-large"

            # a late reader starts with the language's last lines
            late = await nobody.captions("subscribe", {"language": "en"})
            assert [c["text"] for c in late["recent"]] == ["Distinguished delegates:"]

            # the transcript, with the speaker's name, as any participant of the meeting
            api = f"{url}/api/meetings/{server.meeting_id}"
            async with aiohttp.ClientSession() as http:
                auth = {"Authorization": "Bearer " + server.token("observer")}
                vtt = await http.get(f"{api}/transcript.vtt?lang=en", headers=auth)
                assert vtt.status == 200 and vtt.content_type == "text/vtt"
                body = await vtt.text()
                assert body.startswith("WEBVTT")
                assert "<v Ana (Kenya)>Distinguished delegates:" in body
                srt = await (await http.get(f"{api}/transcript.srt?lang=fr", headers=auth)).text()
                assert srt.startswith("1\n00:") and "Mesdames et messieurs" in srt
                txt = await (await http.get(f"{api}/transcript.txt", headers=auth)).text()
                assert "[en] Ana (Kenya)\nDistinguished delegates:" in txt
                assert "[fr] (no speaker on the floor)\nMesdames et messieurs" in txt
                assert (await http.get(f"{api}/transcript.vtt", headers=auth)).status == 400
                assert (await http.get(f"{api}/transcript.vtt?lang=de",
                                       headers=auth)).status == 400
                other = {"Authorization": "Bearer " + server.token("chair", meeting_id="x")}
                assert (await http.get(f"{api}/transcript.txt", headers=other)).status == 403
                assert (await http.get(f"{api}/transcript.txt")).status == 401
        finally:
            for peer in peers:
                await peer.close()


async def test_http_ingest_with_a_repeat_and_a_gap() -> None:
    async with running_server() as server:
        url = server.base_url
        cap = TextPeer(url, server.token("captioner"), "Carol")
        reader = TextPeer(url, server.token("delegate"), "Dana")
        delegate = TextPeer(url, server.token("delegate"), "Eve")
        try:
            await cap.join()
            await reader.join()
            await delegate.join()
            assert (await delegate.captions("ingest-url", {"language": "en"}))["error"][
                "code"] == "forbidden"
            ingest = (await cap.captions("ingest-url", {"language": "en"}))["url"]
            assert ingest.startswith(f"{url}/api/captions/{server.meeting_id}/en/closedcaption?token=")
            await reader.captions("subscribe", {"language": "en"})
            seq_url = ingest.replace("/closedcaption?", "/closedcaption/seq?")
            async with aiohttp.ClientSession() as http:
                async def post(seq: int | None, text: str, lang: str = "en-US",
                               target: str = ingest) -> aiohttp.ClientResponse:
                    params = {"lang": lang} | ({} if seq is None else {"seq": str(seq)})
                    return await http.post(target, params=params, data=text.encode(),
                                           headers={"Content-Type": "text/plain; charset=utf-8"})

                assert (await (await http.get(seq_url)).text()) == "0"
                answers = []
                # 1, 2, a retry of 2, 4 (3 lost), an overtaken 3, 5
                for seq, text in ((1, "GOOD MORNING."), (2, "I'M SENDING"), (2, "I'M SENDING"),
                                  (4, "SEVERAL CAPTIONS.\nOVER TWO LINES"), (3, "LATE"),
                                  (5, "Mañana, 会议 — مرحبا")):
                    response = await post(seq, text)
                    answers.append((response.status, response.headers.get("X-Caption-Seq"),
                                    response.headers.get("X-Caption-Gap")))
                assert answers == [(200, "new", None), (200, "new", None),
                                   (200, "repeat", None), (200, "new", "1"), (200, "old", None),
                                   (200, "new", None)]
                assert (await (await http.get(seq_url)).text()) == "5"
                # refusals change nothing
                assert (await post(None, "no seq")).status == 403
                assert (await post(6, "wrong secret",
                                   target=ingest.replace("token=", "token=x"))).status == 403
                assert (await post(6, "wrong language", lang="fr-FR")).status == 400
                assert (await post(6, "")).status == 400
                assert (await post(6, "x" * 5000)).status == 413
                bad_utf8 = await http.post(ingest, params={"seq": "6"}, data=b"\xff\xfe")
                assert bad_utf8.status == 400
                other_lang = ingest.replace("/en/", "/fr/")
                assert (await post(1, "secret of another language", lang="fr-FR",
                                   target=other_lang)).status == 403
                assert (await (await http.get(seq_url)).text()) == "5"
            await reader.wait_for(lambda: len(reader.received("caption", "/captions")) >= 4,
                                  what="four ingested lines")
            texts = [c["text"] for c in reader.received("caption", "/captions")]
            assert texts == ["GOOD MORNING.", "I'M SENDING", "SEVERAL CAPTIONS.\nOVER TWO LINES",
                             "Mañana, 会议 — مرحبا"]
            assert all(c["source"] == "http" for c in reader.received("caption", "/captions"))
        finally:
            for peer in (cap, reader, delegate):
                await peer.close()


async def test_the_secretariat_rotates_and_revokes_the_ingest_secret() -> None:
    """Rotating gives a new URL and the old one answers 403 "revoked"; revoking stops every
    URL of the language until the next rotation; the captioner is told; a captioner cannot
    do either; the seq counter goes on across secrets (it is the language's)."""
    async with running_server() as server:
        url = server.base_url
        cap = TextPeer(url, server.token("captioner"), "Carol")
        sec = TextPeer(url, server.token("secretariat"), "Sam")
        try:
            await cap.join()
            await sec.join()
            first = (await cap.captions("ingest-url", {"language": "en"}))["url"]
            async with aiohttp.ClientSession() as http:
                async def post(target: str, seq: int) -> tuple[int, str]:
                    response = await http.post(target, params={"seq": str(seq)},
                                               data=b"A LINE.")
                    return response.status, (await response.text()).strip()

                assert (await post(first, 1))[0] == 200
                for event in ("ingest-rotate", "ingest-revoke"):
                    reply = await cap.captions(event, {"language": "en"})
                    assert reply["error"]["code"] == "forbidden", reply
                assert (await sec.captions("ingest-rotate", {"language": "xx"}))["error"][
                    "code"] == "unknown-language"
                rotated = await sec.captions("ingest-rotate", {"language": "en"})
                assert rotated["ok"], rotated
                second = rotated["url"]
                assert second != first
                assert (await cap.captions("ingest-url", {"language": "en"}))["url"] == second
                status, text = await post(first, 2)
                assert status == 403 and "revoked" in text, text
                assert (await http.get(first.replace("/closedcaption?",
                                                     "/closedcaption/seq?"))).status == 403
                assert await post(second, 2) == (200, "")
                # the French URL is untouched
                fr = (await cap.captions("ingest-url", {"language": "fr"}))["url"]
                assert (await post(fr, 1))[0] == 200
                assert (await sec.captions("ingest-revoke", {"language": "en"}))["ok"]
                status, text = await post(second, 3)
                assert status == 403 and "revoked" in text, text
                assert (await cap.captions("ingest-url", {"language": "en"}))["error"][
                    "code"] == "conflict"
                third = (await sec.captions("ingest-rotate", {"language": "en"}))["url"]
                assert third not in (first, second)
                assert await post(third, 3) == (200, "")
                wrong = third.replace("token=", "token=x")
                status, text = await post(wrong, 4)
                assert status == 403 and "revoked" not in text
                seq = await http.get(third.replace("/closedcaption?", "/closedcaption/seq?"))
                assert await seq.text() == "3"
            await cap.wait_for(lambda: len(cap.received("ingest-changed", "/captions")) >= 3,
                               what="the captioner told of each change")
            assert cap.received("ingest-changed", "/captions") == [
                {"language": "en", "revoked": False}, {"language": "en", "revoked": True},
                {"language": "en", "revoked": False}]
        finally:
            for peer in (cap, sec):
                await peer.close()
