"""The meeting's record over HTTP from a meeting run on the real server: counts exact,
durations as measured by the floor log, CSV tables, the page, and who may read it."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.harness import running_server
from tests.text_peer import TextPeer


async def test_record_of_a_short_chaired_meeting() -> None:
    async with running_server(floor_mode="chaired") as server:
        url = server.base_url
        chair = TextPeer(url, server.token("chair"), "Chair")
        ana = TextPeer(url, server.token("delegate"), "Ana")
        ben = TextPeer(url, server.token("delegate"), "Ben")
        try:
            await chair.join()
            await ana.join(memberState="Kenya", language="fr")
            await ben.join(memberState="Peru", language="es")
            rid = (await ana.floor("request", {}))["request"]["id"]
            await asyncio.sleep(0.3)
            assert (await chair.floor("grant", {"requestId": rid}))["ok"]
            await asyncio.sleep(0.6)
            assert (await ana.floor("release", {}))["ok"]
            pid = (await ben.floor("request", {"kind": "point-of-order"}))["request"]["id"]
            assert (await chair.floor("grant", {"requestId": pid}))["ok"]
            await asyncio.sleep(0.3)
            assert (await chair.floor("revoke", {}))["ok"]
            api = f"{url}/api/meetings/{server.meeting_id}"
            auth = {"Authorization": "Bearer " + server.token("secretariat")}
            async with aiohttp.ClientSession() as http:
                record = await (await http.get(f"{api}/record.json", headers=auth)).json()
                floor = record["floor"]
                assert floor["interventions"] == 2
                assert floor["pointsOfOrder"] == {"asked": 1, "taken": 1}
                by_state = {r["memberState"]: r for r in floor["byMemberState"]}
                assert set(by_state) == {"Kenya", "Peru"}
                assert 0.5 <= by_state["Kenya"]["speakingS"] < 2.0
                assert {r["language"] for r in floor["byLanguage"]} == {"fr", "es"}
                assert floor["waiting"]["count"] == 2 and floor["waiting"]["maxS"] >= 0.3
                assert record["attendance"]["memberStates"] == 2
                assert record["attendance"]["people"] == 3
                assert record["interpretation"]["available"] is True  # the booths opened
                assert record["interpretation"]["liveS"] == 0.0  # none went live
                csv = await (await http.get(f"{api}/record.csv?table=member-states",
                                            headers=auth)).text()
                lines = csv.strip().splitlines()
                assert lines[0] == ("member_state,people,present_s,interventions,speaking_s,"
                                    "mean_wait_s")
                assert lines[1].startswith("Kenya,1,") and lines[2].startswith("Peru,1,")
                listing = await (await http.get(f"{api}/record.csv?table=interventions",
                                                headers=auth)).text()
                assert listing.count("\n") == 3 and "point-of-order" in listing
                assert (await http.get(f"{api}/record.csv?table=x", headers=auth)).status == 400
                delegate = {"Authorization": "Bearer " + server.token("delegate")}
                assert (await http.get(f"{api}/record.json", headers=delegate)).status == 403
                series = await (await http.get(
                    f"{url}/api/record/series.json",
                    params=[("m", server.meeting_id), ("t", server.token("chair")),
                            ("m", server.meeting_id), ("t", server.token("chair"))])).json()
                assert series["interventions"] == 4
                page = await http.get(f"{url}/m/{server.meeting_id}/record",
                                      params={"t": server.token("chair"), "lang": "ar"})
                body = await page.text()
                assert page.status == 200 and 'lang="ar" dir="rtl"' in body
                assert "/static/record.js" in body
        finally:
            for peer in (chair, ana, ben):
                await peer.close()
