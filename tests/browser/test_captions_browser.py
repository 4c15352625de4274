"""A captioner types in the captioning console; a delegate's page shows the words while the
line is typed and the final line after Enter; a correction
replaces it. Then the same page on a phone: the caption band scrolls nothing sideways and
covers neither the video nor the room's controls. Chat between the two pages: markup arrives as text."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import PageLog, join_meeting

pytestmark = [pytest.mark.browser, pytest.mark.network]

PHONE = {"width": 390, "height": 844}


async def test_typed_caption_reaches_a_delegate_while_typed_and_final_after_enter(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(make_tone(440.0), viewport=PHONE)
    delegate = await context.new_page()
    captioner = await context.new_page()
    logs = [PageLog(delegate, "delegate"), PageLog(captioner, "captioner")]
    try:
        await join_meeting(delegate, rostrum_server.join_link(role="delegate"), name="Amina",
                           member_state="Senegal")
        await join_meeting(captioner, rostrum_server.join_link(role="captioner"), name="Carol")
        await delegate.select_option("#captions-language", "en")
        await delegate.wait_for_function(
            "document.querySelector('#captions-note')?.textContent.length > 0")

        await captioner.select_option("#captioner-language", "en")
        await captioner.click("#captioner-start")
        await captioner.wait_for_function("!document.querySelector('#captioner-line').disabled")
        # the delegate's page knows a captioner is at the English desk
        await delegate.wait_for_function(
            "!document.querySelector('#captions-note').textContent.includes('Nobody')")

        await captioner.locator("#captioner-line").press_sequentially(
            "Good morning, distinguished", delay=40)
        await delegate.wait_for_function(
            "document.querySelector('#captions-typing').textContent"
            " === 'Good morning, distinguished'", timeout=10000)
        assert await delegate.locator("#captions-finals .captions__line").count() == 0
        assert await delegate.is_visible("#captions-typing")

        await captioner.locator("#captioner-line").press_sequentially(" delegates.", delay=40)
        await captioner.press("#captioner-line", "Enter")
        await delegate.wait_for_function(
            "document.querySelector('#captions-finals .captions__line')?.textContent"
            " === 'Good morning, distinguished delegates.'", timeout=10000)
        assert not await delegate.is_visible("#captions-typing")
        assert await captioner.input_value("#captioner-line") == ""

        # the transcript so far, as text, from the band's link
        href = await delegate.get_attribute("#captions-transcript", "href")
        assert href is not None and "transcript.txt?lang=en" in href
        transcript = await delegate.evaluate("(u) => fetch(u).then((r) => r.text())", href)
        assert "Good morning, distinguished delegates." in transcript

        # a correction from the console's list of last lines
        await captioner.click("#captioner-recent button")
        await captioner.fill("#captioner-line", "Good morning, dear delegates.")
        await captioner.press("#captioner-line", "Enter")
        await delegate.wait_for_function(
            "document.querySelector('#captions-finals .captions__line')?.textContent"
            ".startsWith('Good morning, dear delegates.')", timeout=10000)

        # on the phone: the band is in the flow above the video, on screen without
        # scrolling, and nothing scrolls sideways
        layout = await delegate.evaluate("""() => {
            const band = document.querySelector('#captions').getBoundingClientRect();
            const controls = document.querySelector('.controls').getBoundingClientRect();
            const stage = document.querySelector('#video-grid').getBoundingClientRect();
            return {overflow: document.scrollingElement.scrollWidth - window.innerWidth,
                    aboveStage: band.bottom <= stage.top + 1,
                    onScreen: band.bottom <= controls.top,
                    fixed: getComputedStyle(document.querySelector('#captions')).position};
        }""")
        assert layout["overflow"] <= 0, layout
        assert layout["aboveStage"] and layout["onScreen"], layout
        assert layout["fixed"] == "static", layout
        # every control of the band, the console and the chat is big enough for a finger
        small = await captioner.evaluate("""() => [...document.querySelectorAll(
                '#captions button, #captions select, #captioner-console button,'
                + ' #captioner-console select, #captioner-console input, #chat button,'
                + ' #chat select, #chat textarea')]
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el.id || el.textContent.trim(), el.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)""")
        assert small == [], small
        # the delegate's choices stay: bigger text, yellow on black
        await delegate.select_option("#captions-size", "xl")
        await delegate.select_option("#captions-contrast", "yellow")
        color = await delegate.evaluate(
            "getComputedStyle(document.querySelector('#captions-text')).color")
        assert color == "rgb(255, 235, 59)", color
    except Exception as err:
        raise AssertionError(f"{err}\n" + "\n".join(log.tail() for log in logs)) from err


async def test_chat_between_pages_shows_markup_as_text(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(make_tone(440.0))
    ana = await context.new_page()
    ben = await context.new_page()
    logs = [PageLog(ana, "ana"), PageLog(ben, "ben")]
    try:
        await join_meeting(ana, rostrum_server.join_link(role="delegate"), name="Ana",
                           member_state="Kenya")
        await join_meeting(ben, rostrum_server.join_link(role="delegate"), name="Ben")
        payload = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>"
        await ana.fill("#chat-input", payload)
        await ana.press("#chat-input", "Enter")
        await ben.wait_for_function(
            "document.querySelector('#chat-messages .chat__text')?.textContent.includes('<script>')",
            timeout=10000)
        shown = await ben.evaluate("""() => ({
            text: document.querySelector('#chat-messages .chat__text').textContent,
            elements: document.querySelectorAll('#chat-messages img, #chat-messages script').length,
            pwned: window.pwned ?? null,
            from: document.querySelector('#chat-messages .chat__from').textContent})""")
        assert shown == {"text": payload, "elements": 0, "pwned": None, "from": "Ana (Kenya)"}
        # the sender's box empties on the server's answer, which may come after the delivery
        await ana.wait_for_function("document.querySelector('#chat-input').value === ''",
                                    timeout=10000)
        # a flood: the limit's message shows and the text stays to send again
        sent = 0
        while sent < 20 and not await ana.is_visible("#chat-error"):
            await ana.fill("#chat-input", f"message {sent}")
            await ana.press("#chat-input", "Enter")
            await ana.wait_for_function(
                "document.querySelector('#chat-input').value === ''"
                " || !document.querySelector('#chat-error').hidden")
            sent += 1
        assert 5 <= sent < 20, sent
        assert "fast" in await ana.inner_text("#chat-error")
        assert await ana.input_value("#chat-input") == f"message {sent - 1}"
    except Exception as err:
        raise AssertionError(f"{err}\n" + "\n".join(log.tail() for log in logs)) from err


async def test_the_secretariat_replaces_a_caption_link_and_the_captioner_is_told(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(make_tone(440.0))
    secretariat = await context.new_page()
    captioner = await context.new_page()
    logs = [PageLog(secretariat, "secretariat"), PageLog(captioner, "captioner")]
    try:
        await join_meeting(secretariat, rostrum_server.join_link(role="secretariat"),
                           name="Sam")
        await join_meeting(captioner, rostrum_server.join_link(role="captioner"), name="Carol")
        await captioner.select_option("#captioner-language", "en")
        await captioner.click("#captioner-console .captioner__cart summary")
        await captioner.click("#captioner-cart")
        await captioner.wait_for_function("!document.querySelector('#captioner-cart-url').hidden")
        old = await captioner.input_value("#captioner-cart-url")
        await secretariat.click("#caption-links summary")
        await secretariat.select_option("#caption-links-language", "en")
        await secretariat.click("#caption-links-show")
        await secretariat.wait_for_function("!document.querySelector('#caption-links-url').hidden")
        assert await secretariat.input_value("#caption-links-url") == old
        await secretariat.click("#caption-links-rotate")
        await secretariat.wait_for_function(
            "(old) => document.querySelector('#caption-links-url').value !== old", arg=old)
        new = await secretariat.input_value("#caption-links-url")
        assert "no longer works" in await secretariat.inner_text("#caption-links-status")
        # the captioner's page hides the dead link and says why
        await captioner.wait_for_function(
            "document.querySelector('#captioner-cart-url').hidden"
            " && !document.querySelector('#room-error').hidden", timeout=10000)
        assert "replaced" in await captioner.inner_text("#room-error")
        answers = await captioner.evaluate("""async ([old, fresh]) => {
            const post = async (u, seq) => {
                const r = await fetch(`${u}&seq=${seq}`, {method: 'POST', body: 'A LINE.'});
                return [r.status, (await r.text()).trim()];
            };
            return [await post(old, 1), await post(fresh, 1)];
        }""", [old, new])
        assert answers[0][0] == 403 and "revoked" in answers[0][1], answers
        assert answers[1] == [200, ""], answers
    except Exception as err:
        raise AssertionError(f"{err}\n" + "\n".join(log.tail() for log in logs)) from err
