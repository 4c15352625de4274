"""Six UI languages in the browser (issue 13), by keyboard alone:

- an Arabic delegate picks Arabic in the top bar on the join page (the page switches in place,
  right to left, no reload), joins, requests the floor, is given it by the chair (who also uses
  only the keyboard), and yields; a Chinese delegate gets Chinese from the browser's languages
  without choosing and walks the same way;
- every text on their screens is in their language (no English text of the UI is left), the
  Arabic room is mirrored (the participants panel on the left), the Chinese one is not;
- the fonts for Arabic and Chinese come from the server (this machine has no Arabic or CJK
  font: without them 中文 shows as boxes);
- switching the UI language in the room re-lays out the page in place (the same page, the
  session still joined).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.english_left import ENGLISH_LEFT
from tests.browser.pages import PageLog, new_page, poll, wait_for_view

pytestmark = [pytest.mark.browser, pytest.mark.network]

WIDE = {"width": 1280, "height": 800}


FONT_LOADED = """async (family) => {
    await document.fonts.ready;
    return [...document.fonts].some((f) => f.family.replace(/["']/g, '') === family
                                          && f.status === 'loaded');
}"""

# The browser's languages say Chinese (as a Chinese-language system would).
CHINESE_BROWSER = """
Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN', 'zh']});
Object.defineProperty(navigator, 'language', {get: () => 'zh-CN'});
"""


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


async def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 200) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `selector`."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press(key)
    raise AssertionError(f"Tab never reached {selector}")


async def text(page: Any, selector: str) -> str:
    return str(await page.inner_text(selector)).strip()


async def keyboard_join(page: Any, link: str, name: str) -> None:
    await page.goto(link)
    await wait_for_view(page, "join")
    await tab_to(page, "#join-name")
    await page.keyboard.type(name)
    await page.wait_for_function("document.querySelectorAll('#join-microphone option').length > 1")
    await tab_to(page, "#join-submit")
    await page.keyboard.press("Enter")
    await wait_for_view(page, "room")


async def keyboard_floor_walk(chair: Any, delegate: Any, expect: dict[str, str]) -> None:
    """Request the floor, get it from the chair, yield: every step by keyboard."""
    await tab_to(delegate, "#floor-request")
    await delegate.keyboard.press("Enter")
    await poll(lambda: text(delegate, "#floor-status"), lambda s: s == expect["queued"],
               timeout=10)
    assert await text(delegate, "#floor-status") == expect["queued"]
    await chair.wait_for_selector('#speakers-list [data-action="grant"]')
    await tab_to(chair, '#speakers-list [data-action="grant"]')
    await chair.keyboard.press("Enter")
    await delegate.wait_for_selector("#floor-yield", state="visible")
    assert await text(delegate, "#floor-status") == expect["speaking"]
    assert await text(delegate, "#floor-speaker") == expect["you"]
    await tab_to(delegate, "#floor-yield")
    await delegate.keyboard.press("Enter")
    await delegate.wait_for_selector("#floor-speaking", state="hidden")
    assert await text(delegate, "#floor-status") == expect["idle"]


async def layout(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate("""() => ({
        lang: document.documentElement.lang, dir: document.documentElement.dir,
        main: document.querySelector('.room__main').getBoundingClientRect().x,
        side: document.querySelector('.room__side').getBoundingClientRect().x,
        marker: window.__samePage === true, view: window.rostrum.view,
    })"""))


async def test_keyboard_walk_in_arabic_and_chinese(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    chair = await new_page(await launch_browser(make_tone(440.0), viewport=WIDE))
    arabic = await new_page(await launch_browser(make_tone(550.0), viewport=WIDE))
    chinese_context = await launch_browser(make_tone(660.0), viewport=WIDE)
    await chinese_context.add_init_script(CHINESE_BROWSER)
    await chinese_context.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    chinese = await new_page(chinese_context)
    logs = [PageLog(chair, "chair"), PageLog(arabic, "arabic"), PageLog(chinese, "chinese")]
    try:
        await keyboard_join(chair, rostrum_server.join_link(role="chair"), "Fatima Ibrahim")

        # Arabic: chosen on the join page, in the top bar, by keyboard; the page switches in place.
        await arabic.goto(rostrum_server.join_link(role="delegate"))
        await wait_for_view(arabic, "join")
        await arabic.evaluate("window.__samePage = true")
        assert await text(arabic, ".join__heading") == "Join the meeting"
        await tab_to(arabic, "#ui-language", backwards=True)
        for _ in range(2):  # en → zh → ar (the menu's order: ar, zh, en, fr, ru, es)
            await arabic.keyboard.press("ArrowUp")
        await arabic.wait_for_function("document.documentElement.lang === 'ar'")
        assert await arabic.evaluate("document.documentElement.dir") == "rtl"
        assert await arabic.evaluate("window.__samePage") is True
        assert await text(arabic, ".join__heading") == "الانضمام إلى الاجتماع"
        assert await text(arabic, "#join-role") == "صفتكم في هذه الدعوة: مندوب"
        assert await text(arabic, "label[for=join-language]") == "لغة الاستماع"
        assert await arabic.evaluate(ENGLISH_LEFT, "ar") == []
        await tab_to(arabic, "#join-name")
        await arabic.keyboard.type("Amina Diallo")
        await arabic.wait_for_function(
            "document.querySelectorAll('#join-microphone option').length > 1")
        await tab_to(arabic, "#join-submit")
        await arabic.keyboard.press("Enter")
        await wait_for_view(arabic, "room")
        # The choice is remembered (and told to the server, which renders the next page in it).
        assert await arabic.evaluate("localStorage.getItem('rostrum.uiLanguage')") == "ar"
        assert "rostrum_lang=ar" in await arabic.evaluate("document.cookie")

        # Chinese: from the browser's languages, nothing chosen.
        await keyboard_join(chinese, rostrum_server.join_link(role="delegate"), "陈伟")
        assert await chinese.evaluate("document.documentElement.lang") == "zh"

        await keyboard_floor_walk(chair, arabic, {
            "queued": "ترتيبكم 1 من 1 في قائمة المتكلمين.",
            "speaking": "الكلمة لكم. الميكروفون مفتوح.",
            "you": "الكلمة لكم",
            "idle": "لم تطلبوا الكلمة.",
        })
        await keyboard_floor_walk(chair, chinese, {
            "queued": "您在发言名单中排第 1 位，共 1 位。",
            "speaking": "请您发言。您的麦克风已打开。",
            "you": "请您发言",
            "idle": "您尚未请求发言。",
        })

        # Everything on their screens is in their language; Arabic is mirrored, Chinese not.
        assert await arabic.evaluate(ENGLISH_LEFT, "ar") == []
        assert await chinese.evaluate(ENGLISH_LEFT, "zh") == []
        assert await text(arabic, "#toggle-mic") == "كتم الميكروفون"
        assert await text(chinese, "#toggle-mic") == "静音"
        ar_layout = await layout(arabic)
        assert ar_layout["dir"] == "rtl" and ar_layout["side"] < ar_layout["main"], ar_layout
        zh_layout = await layout(chinese)
        assert zh_layout["dir"] == "ltr" and zh_layout["side"] > zh_layout["main"], zh_layout
        # The server's fonts for the scripts this machine has no font for.
        assert await arabic.evaluate(FONT_LOADED, "Noto Sans Arabic") is True
        assert await chinese.evaluate(FONT_LOADED, "Noto Sans SC") is True

        # In the room: Chinese → French → Arabic, in place (same page, still joined).
        await chinese.evaluate("window.__samePage = true")
        await chinese.select_option("#ui-language", "fr")
        await chinese.wait_for_function("document.documentElement.lang === 'fr'")
        assert await chinese.text_content(".floorbar__label") == "Parole"
        assert await text(chinese, "#floor-request") == "Demander la parole"
        assert await chinese.evaluate(ENGLISH_LEFT, "fr") == []
        await chinese.select_option("#ui-language", "ar")
        await chinese.wait_for_function("document.documentElement.dir === 'rtl'")
        moved = await layout(chinese)
        assert moved["marker"] and moved["view"] == "room", moved
        assert moved["side"] < moved["main"], moved
        assert await text(chinese, "#floor-status") == "لم تطلبوا الكلمة."
        assert await chinese.evaluate(ENGLISH_LEFT, "ar") == []
    except BaseException:
        for log in logs:
            print(log.tail())
        raise
