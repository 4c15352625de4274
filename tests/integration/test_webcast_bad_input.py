"""The webcast's HTTP surface refuses bad input with a clear 4xx and serves nothing outside
a meeting's webcast folder (real server; no meeting goes live, so no webcast process)."""

from __future__ import annotations

import time

import aiohttp
from yarl import URL

from meeting_server.app import STORE, WEBCAST
from meeting_server.webcast_access import cookie_name, sign
from tests.harness import running_server


async def status_of(http: aiohttp.ClientSession, url: str | URL, **kw: object
                    ) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False, **kw) as response:  # type: ignore[arg-type]
        return response.status, await response.text()


async def test_webcast_bad_input() -> None:
    async with running_server() as srv:
        mid = srv.meeting_id
        base = f"{srv.base_url}/m/{mid}/webcast"
        # a file the server must never hand out, next to the webcast folders
        folder = srv.app[WEBCAST].folder(mid)
        (folder / "audio" / "fr").mkdir(parents=True)
        (folder / "audio" / "fr" / "index.m3u8").write_text("#EXTM3U\n")
        (folder / "job.json").write_text("{}")
        (srv.config.data_dir / "webcast" / "secret.txt").write_text("secret")
        manager = {"Authorization": f"Bearer {srv.token('secretariat')}"}
        async with aiohttp.ClientSession() as http:
            # unknown meeting; a meeting whose webcast is off (the default)
            assert (await status_of(http, f"{srv.base_url}/m/nope/webcast/master.m3u8"))[0] \
                == 404
            status, text = await status_of(http, f"{base}/master.m3u8")
            assert status == 404 and "no webcast" in text

            # settings: only the meeting's chair or secretariat; strict payloads
            url = f"{srv.base_url}/api/meetings/{mid}/webcast"
            async with http.post(url, json={"access": "public"}) as r:
                assert r.status == 401
            async with http.post(url, json={"access": "public"}, headers={
                    "Authorization": f"Bearer {srv.token('delegate')}"}) as r:
                assert r.status == 403
            async with http.post(url, json={"access": "everyone"}, headers=manager) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "bad-request"
            async with http.post(url, json={"access": "public", "extra": 1},
                                 headers=manager) as r:
                assert r.status == 400
            async with http.post(url, json={"retentionDays": 0}, headers=manager) as r:
                assert r.status == 400
            async with http.post(url, data=b"{not json", headers=manager) as r:
                assert r.status == 400
            assert (await srv.app[WEBCAST].record(mid)).access == "off"  # nothing changed
            async with http.post(url, json={"access": "public"}, headers=manager) as r:
                assert r.status == 200

            # paths: only the webcast's own files, never one outside its folder
            assert (await status_of(http, f"{base}/audio/fr/index.m3u8"))[0] == 200
            for path in ("job.json", "audio/fr/../../job.json", "audio/fr/g1.m3u8",
                         "audio/fr/%2e%2e/%2e%2e/job.json", "%2e%2e/secret.txt",
                         "..%2fsecret.txt", "audio/fr/index.m3u8%00", "video/x/index.m3u8"):
                status, text = await status_of(http, URL(f"{base}/{path}", encoded=True))
                assert status == 404, (path, status)
                assert "secret" not in text and text.strip() != "{}"

            # observers only: the token is exchanged for a cookie once; segments need it
            async with http.post(url, json={"access": "observers"}, headers=manager) as r:
                assert r.status == 200
            status, text = await status_of(http, f"{base}/audio/fr/index.m3u8")
            assert status == 401
            assert (await status_of(http, f"{base}/access"))[0] == 401
            forged = sign("not-the-secret", mid, int(time.time() + 600))
            status, _ = await status_of(http, f"{base}/audio/fr/index.m3u8",
                                        cookies={cookie_name(mid): forged})
            assert status == 403
            stale = sign(srv.config.secret, mid, int(time.time() - 1))
            status, text = await status_of(http, f"{base}/audio/fr/index.m3u8",
                                           cookies={cookie_name(mid): stale})
            assert status == 401 and "expired" in text
            other = sign(srv.config.secret, "other", int(time.time() + 600))
            status, _ = await status_of(http, f"{base}/audio/fr/index.m3u8",
                                        cookies={cookie_name(mid): other})
            assert status == 403
            # a forged or expired invite token on the page link
            assert (await status_of(http, f"{base}?t=forged.token"))[0] == 401
            expired = srv.token("observer", ttl_s=-10)
            assert (await status_of(http, f"{base}?t={expired}"))[0] == 401
        # (a cookie jar that keeps cookies of an IP address: the server is on 127.0.0.1)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}?t={srv.token('observer')}",
                                allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == f"/m/{mid}/webcast"
                morsel = r.cookies[cookie_name(mid)]
                assert morsel["httponly"] and morsel["path"] == f"/m/{mid}/"
            assert (await status_of(http, f"{base}/audio/fr/index.m3u8"))[0] == 200
            assert (await status_of(http, f"{base}/access"))[0] == 204
            status, page = await status_of(http, base)
            assert status == 200 and "webcast.js" in page

            # the archive of a meeting still running does not exist; deleting it conflicts
            assert (await status_of(http, f"{srv.base_url}/m/{mid}/archive/master.m3u8"))[0] \
                == 404
            async with http.delete(f"{srv.base_url}/api/meetings/{mid}/webcast/archive",
                                   headers=manager) as r:
                assert r.status == 409
            # a closed meeting's live URL is gone (410), pointing at the archive
            await srv.app[STORE].end_meeting(mid, time.time())
            status, text = await status_of(http, f"{base}/audio/fr/index.m3u8")
            assert status == 410 and f"/m/{mid}/archive" in text
            assert (await status_of(http, base))[0] == 303
