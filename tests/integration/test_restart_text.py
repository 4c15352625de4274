"""kill -9 the server after a caption, a chat message and an intervention, with a booth live:
after the restart the caption is in the transcript, the message in the chat history, the
intervention and the booth's live period in the record (both ended by the restart), and the
CART program's seq counter is where it was."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from tests.harness import free_port
from tests.integration.test_restart import start
from tests.peers import TestPeer
from tests.text_peer import TextPeer


def test_caption_chat_and_intervention_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # no resume grace, as in test_restart.py: everyone's presence, and Ines's booth, end with
    # the restart, so the record has nothing open (with the grace, the restored interpreter is
    # back in her booth for a resume: test_restart_resume.py)
    no_grace = {"ROSTRUM_RESUME_GRACE_S": "0"}
    proc, tokens = start(tmp_path, port, **no_grace)
    try:
        async def meeting() -> str:
            chair = TextPeer(base, tokens["chair"], "Chair")
            ana = TextPeer(base, tokens["delegate"], "Ana")
            carol = TextPeer(base, tokens["captioner"], "Carol")
            await chair.join()
            await ana.join(memberState="Kenya")
            await carol.join()
            ines = TestPeer(base, tokens["interpreter"], "Ines")  # an aiortc peer
            await ines.join()
            assert (await ines.interp("live"))["ok"] is False  # not in a booth yet
            assert (await chair.interp("assign", {"participantId": ines.participant_id,
                                                  "language": "fr"}))["ok"]
            assert (await ines.interp("live"))["ok"]
            rid = (await ana.floor("request", {}))["request"]["id"]
            assert (await chair.floor("grant", {"requestId": rid, "language": "en"}))["ok"]
            assert (await carol.captions("claim", {"language": "en"}))["ok"]
            await carol.captions("interim", {"text": "We propose"})
            assert (await carol.captions("final", {"text": "We propose to approve it."}))["ok"]
            url = (await carol.captions("ingest-url", {"language": "en"}))["url"]
            async with aiohttp.ClientSession() as http:
                posted = await http.post(url, params={"seq": "7", "lang": "en-US"},
                                         data=b"SECONDED.")
                assert posted.status == 200
            assert (await ana.chat("send", {"text": "Document TD-12 rev.1 is online."}))["ok"]
            await asyncio.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)
            for peer in (chair, ana, carol, ines):
                await peer.close()
            return url

        ingest_url = asyncio.run(meeting())
    finally:
        if proc.poll() is None:
            proc.kill()
    proc2, tokens2 = start(tmp_path, port, **no_grace)
    try:
        async def read() -> None:
            async with aiohttp.ClientSession() as http:
                api = f"{base}/api/meetings/demo"
                auth = {"Authorization": "Bearer " + tokens2["chair"]}
                text = await (await http.get(f"{api}/transcript.txt?lang=en", headers=auth)).text()
                assert "Ana (Kenya)\nWe propose to approve it. SECONDED." in text, text
                record = await (await http.get(f"{api}/record.json", headers=auth)).json()
                assert record["floor"]["interventions"] == 1
                (ended,) = record["floor"]["list"]
                assert (ended["name"], ended["memberState"], ended["reason"]) == \
                    ("Ana", "Kenya", "server-restart")
                assert record["captions"]["byLanguage"][0]["lines"] == 2
                assert record["chat"]["byChannel"] == {"meeting": 1}
                interp = record["interpretation"]
                (live,) = [p for p in interp["periods"] if p["state"] == "live"]
                assert (live["language"], live["interpreter"], live["endedBy"]) == \
                    ("fr", "Ines", "server-restart")
                assert live["durationS"] >= 1.0
                fr = next(b for b in interp["byLanguage"] if b["language"] == "fr")
                assert fr["liveS"] == live["durationS"]
                assert fr["neededS"] >= 1.0  # Ana had the floor in English meanwhile
                assert all(p["endedBy"] for p in interp["periods"])  # nothing left open
                # the same secret still opens the ingest URL; seq resumes after 7
                seq_url = ingest_url.replace("/closedcaption?", "/closedcaption/seq?")
                assert await (await http.get(seq_url)).text() == "7"
            reader = TextPeer(base, tokens2["delegate"], "Ben")
            await reader.join()
            history = await reader.chat("history")
            assert [m["text"] for m in history["messages"]] == ["Document TD-12 rev.1 is online."]
            recent = await reader.captions("subscribe", {"language": "en"})
            assert [c["text"] for c in recent["recent"]] == ["We propose to approve it.",
                                                            "SECONDED."]
            await reader.close()

        asyncio.run(read())
    finally:
        proc2.terminate()
        proc2.wait(timeout=10)
