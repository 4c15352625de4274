"""Interpretation coverage in the meeting's record, from a meeting run on the real server
with aiortc peers: the floor speaks English (440 Hz), the French booth's two interpreters
(880 Hz, 1000 Hz) go live, hand over and go off, and a listener of the French channel hears
each of them; the record then has the booth's periods, the handover, the time each was live
and the gaps where the French channel carried the English floor. (A booth live when the
server is killed -9: tests/integration/test_restart_text.py.)"""

from __future__ import annotations

import asyncio

import aiohttp

from tests.harness import running_server
from tests.integration.test_interpretation import channel_frequency, joined, settle
from tests.peers import ToneTrack


async def test_booth_periods_handover_and_gaps_in_the_record() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair = await joined(srv, "chair", "Chair")
        ana = await joined(srv, "delegate", "Ana")
        fr_a = await joined(srv, "interpreter", "FR A")
        fr_b = await joined(srv, "interpreter", "FR B")
        listener = await joined(srv, "delegate", "Listener")
        everyone = [chair, ana, fr_a, fr_b, listener]
        try:
            assert (await ana.publish(audio=ToneTrack(440)))["ok"]
            assert (await fr_a.publish(audio=ToneTrack(880)))["ok"]
            assert (await fr_b.publish(audio=ToneTrack(1000)))["ok"]
            assert (await listener.subscribe(decode=True))["ok"]
            for peer in (fr_a, fr_b):
                assert (await chair.interp("assign", {"participantId": peer.participant_id,
                                                      "language": "fr"}))["ok"]
            assert (await listener.interp("listen", {"channel": "fr"}))["ok"]
            rid = (await ana.floor("request", {}))["request"]["id"]
            assert (await chair.floor("grant", {"requestId": rid, "language": "en"}))["ok"]
            await asyncio.sleep(0.5)  # the French channel carries the English floor: a gap
            assert (await fr_a.interp("live"))["ok"]
            await settle()
            assert abs(await channel_frequency(listener) - 880) < 15
            assert (await fr_a.interp("handover-request", {"to": fr_b.participant_id}))["ok"]
            assert (await fr_b.interp("handover-accept"))["ok"]
            await settle()
            assert abs(await channel_frequency(listener) - 1000) < 15
            assert (await fr_b.interp("off"))["ok"]
            await asyncio.sleep(0.4)  # a second gap
            assert (await ana.floor("release", {}))["ok"]
            api = f"{srv.base_url}/api/meetings/{srv.meeting_id}"
            auth = {"Authorization": "Bearer " + srv.token("secretariat")}
            async with aiohttp.ClientSession() as http:
                record = await (await http.get(f"{api}/record.json", headers=auth)).json()
                csv = await (await http.get(f"{api}/record.csv?table=interpretation",
                                            headers=auth)).text()
                periods_csv = await (await http.get(f"{api}/record.csv?table=booth-periods",
                                                    headers=auth)).text()
            interp = record["interpretation"]
            assert interp["available"] is True
            by = {b["language"]: b for b in interp["byLanguage"]}
            assert set(by) == set(record["meeting"]["languages"])
            fr = by["fr"]
            assert fr["handovers"] == 1
            names = {i["name"]: i["liveS"] for i in fr["byInterpreter"]}
            assert set(names) == {"FR A", "FR B"}
            assert names["FR A"] >= 0.8 and names["FR B"] >= 0.4  # heard for 0.8 s each
            assert fr["gaps"] == 2 and fr["gapS"] >= 0.8
            assert fr["neededS"] >= fr["liveS"] + fr["gapS"] - 0.05
            assert by["en"]["neededS"] == 0.0 and by["en"]["gaps"] == 0  # the floor's own
            fr_periods = [(p["state"], p["interpreter"], p["endedBy"])
                          for p in interp["periods"] if p["language"] == "fr"]
            assert fr_periods == [("off", "", "live"), ("live", "FR A", "handover"),
                                  ("live", "FR B", "off"), ("off", "", "")]
            assert [g["floorLanguage"] for g in interp["gaps"] if g["language"] == "fr"] == \
                ["en", "en"]
            header, *rows = csv.strip().splitlines()
            assert header.startswith("language,liveS,coughS,passthroughS,neededS,coveredS,")
            assert any(r.startswith("fr,") and ",1," in r for r in rows)
            assert "live,FR A," in periods_csv and "live,FR B," in periods_csv
        finally:
            for peer in everyone:
                await peer.close()

