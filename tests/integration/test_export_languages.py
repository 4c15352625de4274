"""The exports' human-facing headers follow the requester's UI language (issue 13): the CSV
header rows of the attendance register, the floor log and the record's tables, and the
plain-text transcript's own words, in each of the six languages, chosen by ?lang=/?ui=, the
UI language cookie or Accept-Language (with a byte-order mark, for spreadsheets); a script
that names no language keeps the machine keys, no mark; JSON keeps its keys in every
language; an unknown language is refused and changes nothing. The record page follows the cookie as well. The real server, real Socket.IO peers."""

from __future__ import annotations

import csv
import io

import aiohttp

from tests.harness import running_server
from tests.text_peer import TextPeer

MEMBER_STATE = {"ar": "الدولة العضو", "zh": "成员国", "en": "Member State",
                "fr": "État Membre", "ru": "Государство-член", "es": "Estado Miembro"}
NO_SPEAKER = {"ar": "(لا أحد يتناول الكلمة)", "zh": "（无人发言）",
              "en": "(no speaker on the floor)", "fr": "(personne n'a la parole)",
              "ru": "(слово никому не предоставлено)", "es": "(nadie en el uso de la palabra)"}


def header(text: str) -> list[str]:
    """The header row of a CSV for a person, which starts with a byte-order mark."""
    assert text.startswith("\ufeff"), text[:20]
    return next(csv.reader(io.StringIO(text[1:])))


async def test_export_headers_in_the_requesters_language() -> None:
    async with running_server(floor_mode="chaired") as server:
        url = server.base_url
        chair = TextPeer(url, server.token("chair"), "Chair")
        ana = TextPeer(url, server.token("delegate"), "Ana")
        carol = TextPeer(url, server.token("captioner"), "Carol")
        try:
            await chair.join()
            await ana.join(memberState="Kenya", language="fr")
            await carol.join()
            rid = (await ana.floor("request", {}))["request"]["id"]
            assert (await chair.floor("grant", {"requestId": rid}))["ok"]
            assert (await ana.floor("release", {}))["ok"]
            # a line with nobody on the floor: the transcript says so in the reader's words
            assert (await carol.captions("claim", {"language": "en"}))["ok"]
            assert (await carol.captions("final", {"text": "Good morning."}))["ok"]
            api = f"{url}/api/meetings/{server.meeting_id}"
            auth = {"Authorization": "Bearer " + server.token("secretariat")}
            async with aiohttp.ClientSession() as http:
                async def get(path: str, **headers: str) -> aiohttp.ClientResponse:
                    r = await http.get(f"{api}/{path}", headers={**auth, **headers})
                    await r.read()
                    return r

                # a script (no language named): the stable keys, as before
                keys = await get("attendance.csv")
                assert next(csv.reader(io.StringIO(await keys.text())))[:4] == [
                    "participant_id", "name", "organization", "member_state"]
                assert "Content-Language" not in keys.headers
                for lang, label in MEMBER_STATE.items():
                    # ?lang= on the record's exports
                    r = await get(f"attendance.csv?lang={lang}")
                    assert r.status == 200 and r.headers["Content-Language"] == lang
                    assert header(await r.text())[3] == label, (lang, await r.text())
                    assert "Kenya" in await r.text()
                    # the UI language cookie (no query)
                    r = await get("record.csv?table=member-states", Cookie=f"rostrum_lang={lang}")
                    assert header(await r.text())[0] == label, (lang, await r.text())
                    # Accept-Language, a regional tag first
                    r = await get("floor-log.csv", **{"Accept-Language": f"{lang}-XX, de;q=0.5"})
                    assert header(await r.text())[7] == label, (lang, await r.text())
                    # the plain-text transcript: ?ui= (its ?lang= is the caption language)
                    r = await get(f"transcript.txt?lang=en&ui={lang}")
                    assert r.status == 200, await r.text()
                    assert f"UTC] {NO_SPEAKER[lang]}\nGood morning." in await r.text()
                    # JSON keeps the machine keys in every language
                    rows = await (await get(f"attendance.json?lang={lang}")).json()
                    assert {"participant_id", "member_state"} <= set(rows[0])
                # a browser language that is not a UI language: English labels
                r = await get("attendance.csv", **{"Accept-Language": "de-CH, de;q=0.8"})
                assert header(await r.text())[3] == "Member State"
                # ?ui= wins over ?lang= and the cookie
                r = await get("attendance.csv?lang=fr&ui=ru", Cookie="rostrum_lang=zh")
                assert header(await r.text())[3] == MEMBER_STATE["ru"]
                # the record page (its download links carry ?ui=) follows the cookie, too
                r = await http.get(f"{url}/m/{server.meeting_id}/record",
                                   params={"t": server.token("chair")},
                                   headers={"Cookie": "rostrum_lang=ru"})
                assert 'lang="ru" dir="ltr"' in await r.text()
                # an unknown language: a clear error
                for path in ("attendance.csv?lang=de", "floor-log.json?lang=xx",
                             "record.csv?table=languages&lang=en-GB",
                             "transcript.txt?ui=klingon"):
                    r = await get(path)
                    assert r.status == 400, (path, r.status)
                    assert "is not a UI language" in await r.text(), path
        finally:
            for peer in (chair, ana, carol):
                await peer.close()
