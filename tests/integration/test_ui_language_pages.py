"""Pages the server renders follow the UI language (issue 13): `<html lang dir>` from the
`rostrum_lang` cookie or Accept-Language, the no-JavaScript notice and the "no such meeting"
page in that language, the role the link gives in the page context; the fonts for Arabic and
Chinese are served from the npm packages, and nothing else under /vendor/fonts."""

from __future__ import annotations

import json
import re

import aiohttp

from tests.harness import running_server


async def test_pages_follow_the_ui_language_and_fonts_are_served() -> None:
    async with running_server() as server, aiohttp.ClientSession() as http:
        page = f"{server.base_url}/m/{server.meeting_id}?t={server.token('interpreter')}"

        async with http.get(page, headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as response:
            html = await response.text()
            assert response.headers["Content-Language"] == "zh"
        assert '<html lang="zh" dir="ltr">' in html
        assert "本会议页面需要启用 JavaScript。" in html
        context = json.loads(re.search(r'id="rostrum-context">(.*?)</script>', html, re.S)[1])
        assert context["role"] == "interpreter"
        assert context["meeting"]["openedAt"] > 0

        async with http.get(page, headers={"Accept-Language": "zh", "Cookie": "rostrum_lang=ar"}
                            ) as response:
            html = await response.text()
        assert '<html lang="ar" dir="rtl">' in html

        # A forged token: the page renders (the connect refuses it) without a role.
        async with http.get(f"{page}x") as response:
            html = await response.text()
        context = json.loads(re.search(r'id="rostrum-context">(.*?)</script>', html, re.S)[1])
        assert context["role"] is None
        assert '<html lang="en" dir="ltr">' in html

        async with http.get(f"{server.base_url}/m/nosuchmeeting",
                            headers={"Cookie": "rostrum_lang=ru"}) as response:
            assert response.status == 404
            assert "По этому адресу заседания нет" in await response.text()

        fonts = f"{server.base_url}/vendor/fonts"
        async with http.get(f"{fonts}/noto-sans-sc/400.css") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/css")
            css = await response.text()
        first = re.search(r"url\(\./files/([a-z0-9-]+\.woff2)\)", css)
        assert first is not None and "unicode-range" in css
        async with http.get(f"{fonts}/noto-sans-sc/files/{first[1]}") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "font/woff2"
            assert (await response.read())[:4] == b"wOF2"
        # fonts.css names the Arabic files by path: they must exist in the package.
        async with http.get(f"{server.base_url}/static/fonts.css") as response:
            arabic = re.findall(r'url\("(/vendor/fonts/noto-sans-arabic/[^"]+)"\)',
                                await response.text())
        assert len(arabic) == 2
        for path in arabic:
            async with http.get(f"{server.base_url}{path}") as response:
                assert response.status == 200 and (await response.read())[:4] == b"wOF2"
        for bad in ("noto-sans-sc/package.json", "noto-sans-thai/400.css",
                    "noto-sans-sc/files/..%2F..%2Fpackage.json", "noto-sans-sc/nope.css"):
            async with http.get(f"{fonts}/{bad}") as response:
                assert response.status == 404, bad
