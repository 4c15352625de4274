"""The chat against the real server: to the meeting reaches everyone; a private message
reaches only the chair, the secretariat and its author; the booth intercom only that booth;
markup stays text; a flood is cut by the rate limit with a clear error while others' messages
pass; the chair switches public chat off and removes a message; history on joining."""

from __future__ import annotations

import asyncio

from tests.harness import running_server
from tests.text_peer import TextPeer


def texts(peer: TextPeer, event: str = "chat") -> list[str]:
    return [m["text"] for m in peer.received(event, "/chat")]


async def test_channels_limits_moderation_and_history() -> None:
    async with running_server(floor_mode="chaired") as server:
        url = server.base_url
        people = {
            "chair": ("chair", "Chair"), "sec": ("secretariat", "Sam"),
            "ana": ("delegate", "Ana"), "ben": ("delegate", "Ben"),
            "fr1": ("interpreter", "Fleur"), "fr2": ("interpreter", "Franck"),
            "es1": ("interpreter", "Elena"), "obs": ("observer", "Olu"),
        }
        peers = {k: TextPeer(url, server.token(role), name) for k, (role, name) in people.items()}
        try:
            for key, peer in peers.items():
                await peer.join(memberState="Kenya" if key == "ana" else "")
            chair, ana, ben, obs = peers["chair"], peers["ana"], peers["ben"], peers["obs"]
            for key, language in (("fr1", "fr"), ("fr2", "fr"), ("es1", "es")):
                reply = await chair.interp("assign", {"participantId": peers[key].participant_id,
                                                      "language": language})
                assert reply["ok"], reply

            async def settle() -> None:
                await asyncio.sleep(0.3)

            # to the whole meeting: everyone, observers included
            sent = await ana.chat("send", {"channel": "meeting",
                                           "text": "<script>alert(1)</script> & hello"})
            assert sent["ok"], sent
            assert sent["message"]["text"] == "<script>alert(1)</script> & hello"
            assert sent["message"]["from"] == {"participantId": ana.participant_id,
                                               "name": "Ana", "role": "delegate",
                                               "memberState": "Kenya"}
            for peer in peers.values():
                await peer.wait_for(lambda p=peer: "<script>alert(1)</script> & hello" in texts(p),
                                    what="the meeting message")
            assert (await obs.chat("send", {"text": "hi"}))["error"]["code"] == "forbidden"

            # privately to the chair and secretariat, and the chair's answer
            assert (await ana.chat("send", {"channel": "secretariat",
                                            "text": "May I speak after Ben?"}))["ok"]
            answer = await chair.chat("send", {"channel": "secretariat", "to": ana.participant_id,
                                               "text": "Yes, you are next."})
            assert answer["ok"] and answer["message"]["thread"] == {
                "participantId": ana.participant_id, "name": "Ana"}
            assert (await ana.chat("send", {"channel": "secretariat", "to": ben.participant_id,
                                            "text": "psst"}))["error"]["code"] == "forbidden"
            private = ["May I speak after Ben?", "Yes, you are next."]
            for key in ("chair", "sec", "ana"):
                await peers[key].wait_for(lambda p=peers[key]: texts(p)[1:] == private,
                                          what=f"the private thread at {key}")
            await settle()  # a leak would have come as fast
            for key in ("ben", "fr1", "fr2", "es1", "obs"):
                assert texts(peers[key]) == ["<script>alert(1)</script> & hello"], key

            # the French booth's intercom
            assert (await peers["fr1"].chat("send", {"channel": "booth",
                                                     "text": "Take over at :30?"}))["ok"]
            assert (await ana.chat("send", {"channel": "booth", "text": "x"}))["error"][
                "code"] == "forbidden"
            await peers["fr2"].wait_for(lambda: "Take over at :30?" in texts(peers["fr2"]),
                                        what="the booth message")
            await settle()
            for key in ("chair", "sec", "ana", "ben", "es1", "obs"):
                assert "Take over at :30?" not in texts(peers[key]), key

            # bad input changes nothing
            assert (await ana.chat("send", {"text": "   "}))["error"]["code"] == "bad-request"
            assert (await ana.chat("send", {"text": "x" * 1001}))["error"]["code"] == "too-large"
            assert (await ana.chat("send", {"channel": "whisper", "text": "x"}))["error"][
                "code"] == "bad-request"
            assert (await ana.chat("send", {"text": 5}))["error"]["code"] == "bad-request"

            # a flood: Ben is cut after his burst, with a clear error; Ana still gets through
            answers = [await ben.chat("send", {"text": f"flood {i}"}) for i in range(12)]
            passed = [a for a in answers if a["ok"]]
            cut = [a for a in answers if not a["ok"]]
            assert len(passed) == 5 and len(cut) == 7, answers
            assert {a["error"]["code"] for a in cut} == {"rate-limited"}
            assert "too fast" in cut[0]["error"]["message"]
            assert (await ana.chat("send", {"text": "Still here."}))["ok"]
            await obs.wait_for(lambda: "Still here." in texts(obs), what="Ana after the flood")
            assert [t for t in texts(obs) if t.startswith("flood")] == [
                f"flood {i}" for i in range(5)]

            # the chair removes a message and switches public chat off
            flood0 = passed[0]["message"]["id"]
            assert (await ana.chat("remove", {"id": flood0}))["error"]["code"] == "forbidden"
            assert (await chair.chat("remove", {"id": flood0}))["ok"]
            await obs.wait_for(lambda: obs.received("chat-removed", "/chat") != [],
                               what="the removal")
            assert obs.received("chat-removed", "/chat") == [{"id": flood0}]
            assert (await chair.chat("remove", {"id": flood0}))["error"]["code"] == "not-found"
            assert (await chair.chat("settings", {"publicEnabled": False}))["ok"]
            await ana.wait_for(lambda: ana.received("chat-settings", "/chat") != [],
                               what="chat off")
            off = await ana.chat("send", {"text": "Can I still write?"})
            assert off["error"]["code"] == "forbidden" and "switched" in off["error"]["message"]
            assert (await ana.chat("send", {"channel": "secretariat", "text": "Help"}))["ok"]
            assert (await chair.chat("send", {"text": "Chat is closed for the vote."}))["ok"]

            # history on joining: what that participant may read, removed messages gone
            late = TextPeer(url, server.token("delegate"), "Late")
            await late.join()
            history = await late.chat("history")
            assert history["publicEnabled"] is False
            seen = [m["text"] for m in history["messages"]]
            assert "flood 0" not in seen and "flood 1" in seen
            assert "May I speak after Ben?" not in seen and "Take over at :30?" not in seen
            assert seen[-1] == "Chat is closed for the vote."
            chair_seen = [m["text"] for m in (await chair.chat("history"))["messages"]]
            assert "May I speak after Ben?" in chair_seen and "Help" in chair_seen
            assert "Take over at :30?" not in chair_seen
            fr2_seen = [m["text"] for m in (await peers["fr2"].chat("history"))["messages"]]
            assert "Take over at :30?" in fr2_seen and "Help" not in fr2_seen
            await late.close()
        finally:
            for peer in peers.values():
                await peer.close()


async def test_private_line_and_booth_intercom_come_back_on_rejoin() -> None:
    """A rejoin is a new participant id: the delegate (same browser, same name) gets their
    private line with the chair back, the interpreter their booth's intercom (before being
    assigned again); another delegate on another browser with the same name gets neither."""
    async with running_server(floor_mode="chaired") as server:
        url = server.base_url
        chair = TextPeer(url, server.token("chair"), "Chair")
        ana = TextPeer(url, server.token("delegate"), "Ana", device="browser-of-ana-1")
        fleur = TextPeer(url, server.token("interpreter"), "Fleur", device="browser-of-fleur")
        franck = TextPeer(url, server.token("interpreter"), "Franck")
        later: list[TextPeer] = []
        try:
            for peer in (chair, ana, fleur, franck):
                await peer.join()
            for peer in (fleur, franck):
                assert (await chair.interp("assign", {"participantId": peer.participant_id,
                                                      "language": "fr"}))["ok"]
            assert (await ana.chat("send", {"channel": "secretariat",
                                            "text": "May I speak next?"}))["ok"]
            assert (await chair.chat("send", {"channel": "secretariat",
                                              "to": ana.participant_id,
                                              "text": "Yes, after Peru."}))["ok"]
            assert (await franck.chat("send", {"channel": "booth",
                                               "text": "I take over at 15:00."}))["ok"]
            assert (await ana.chat("send", {"text": "Thank you, Chair."}))["ok"]
            for peer in (ana, fleur):
                await peer.close()
            ana2 = TextPeer(url, server.token("delegate"), "Ana", device="browser-of-ana-1")
            fleur2 = TextPeer(url, server.token("interpreter"), "Fleur",
                              device="browser-of-fleur")
            other = TextPeer(url, server.token("delegate"), "Ana", device="another-browser")
            later += [ana2, fleur2, other]
            for peer in later:
                await peer.join()
            assert ana2.participant_id != ana.participant_id

            async def history(peer: TextPeer) -> list[str]:
                reply = await peer.chat("history")
                assert reply["ok"], reply
                return [m["text"] for m in reply["messages"]]

            assert await history(ana2) == ["May I speak next?", "Yes, after Peru.",
                                           "Thank you, Chair."]
            assert (await ana2.chat("history"))["selfIds"] == [ana2.participant_id,
                                                                ana.participant_id]
            assert (await other.chat("history"))["selfIds"] == [other.participant_id]
            assert await history(fleur2) == ["I take over at 15:00.", "Thank you, Chair."]
            assert await history(other) == ["Thank you, Chair."]
            # the chair and secretariat see every thread, as before
            assert await history(chair) == ["May I speak next?", "Yes, after Peru.",
                                            "Thank you, Chair."]
        finally:
            for peer in (chair, ana, fleur, franck, *later):
                await peer.close()
