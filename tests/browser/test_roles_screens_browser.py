"""Each role's screen as people who tried the roles found it (issue 13), in a chaired meeting:

- a delegate who is given the floor with the microphone off is told so and can open it with
  one press (the page never says "your microphone is open" while it is off);
- the join page names the meeting and the role the link gives; observers and captioners are
  never asked for devices (getUserMedia is never called, no camera form, no device buttons);
  interpreters are asked for their microphone only (no camera, no "language you listen in");
- Leave asks for confirmation; the debug toggle is for the chair and the secretariat (or the
  `debug` flag); the floor bar has a meeting clock while nobody speaks; long names stay
  readable; "Devices" picks the speaker and plays a test tone;
- at 1366x768 the chair sees the speaker's video above the fold, and a secretariat member's
  console leaves no empty half;
- the interpreter console: relay sources say what they carry, the partner offered a handover
  sees Accept and Decline (not Cancel), a level meter of the own microphone, the incoming
  volume and a limiter.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import PageLog, join_meeting, new_page, poll, wait_for_view
from tests.browser.phone import PHONE, as_phone, assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.network]

LAPTOP = {"width": 1366, "height": 768}

# Counts getUserMedia calls and remembers what each asked for (before any page script runs).
COUNT_GUM = """
(() => {
  const calls = [];
  window.__gumCalls = calls;
  const md = navigator.mediaDevices;
  if (!md) return;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = (constraints) => {
    calls.push({audio: Boolean(constraints && constraints.audio), video: Boolean(constraints && constraints.video)});
    return original(constraints);
  };
})();
"""

LONG_NAME = "Maximiliano Alejandro de la Concepción Fernández-Villaverde y Montenegro"


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


async def _box(page: Any, selector: str) -> dict[str, float]:
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return dict(box)


async def test_delegate_and_chair_screens(
    launch_browser: Any, make_tone: Any, rostrum_server: Any, camera_y4m: Any
) -> None:
    chair = await new_page(await launch_browser(make_tone(440.0), viewport=LAPTOP))
    delegate_context = await launch_browser(make_tone(660.0), fake_video=camera_y4m)
    await delegate_context.add_init_script(COUNT_GUM)
    delegate = await new_page(delegate_context)
    logs = [PageLog(chair, "chair"), PageLog(delegate, "delegate")]
    try:
        # The join page says which meeting and which role.
        await delegate.goto(rostrum_server.join_link(role="delegate"))
        await wait_for_view(delegate, "join")
        assert "Test study group" in await delegate.inner_text("#join-meeting")
        assert await delegate.inner_text("#join-role") == "You are invited as: Delegate"
        assert await delegate.locator("#join-opened").count() == 1
        await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Ms Chair")
        delegate_id = await join_meeting(delegate, rostrum_server.join_link(role="delegate"),
                                         name=LONG_NAME, member_state="Spain")

        # The meeting clock shows while nobody has the floor.
        await chair.wait_for_selector("#floor-clock", state="visible")
        clock = await chair.inner_text("#floor-clock")
        assert len(clock) == 5 and clock[2] == ":", clock

        # The debug toggle: the chair has it, a delegate does not (nor the D key).
        assert await chair.is_visible("#debug-toggle")
        assert await delegate.is_hidden("#debug-toggle")
        await delegate.keyboard.press("d")
        assert await delegate.get_attribute("#debug-toggle", "aria-pressed") == "false"

        # The delegate mutes (once publishing: the room then says the microphone is on), asks
        # for the floor from the bottom bar, and is given it.
        await delegate.wait_for_function("window.rostrum.client.self.audio === true")
        await delegate.click("#toggle-mic")
        await delegate.wait_for_function("window.rostrum.client.self.audio === false")
        await delegate.click("#floor-quick")
        entry = chair.locator("#speakers-list .queue__entry").first
        await entry.wait_for(state="visible")
        assert await delegate.get_attribute("#floor-quick", "data-action") == "queued"
        await entry.locator('[data-action="grant"]').click()
        await delegate.wait_for_selector("#floor-speaking", state="visible")
        status = await delegate.inner_text("#floor-status")
        assert status == ("You have the floor, but your microphone is off: unmute to be heard."), \
            status
        assert await delegate.is_visible("#floor-unmute")
        assert await delegate.get_attribute("#floor-quick", "data-action") == "yield"
        await delegate.click("#floor-unmute")
        await delegate.wait_for_function("window.rostrum.client.self.audio === true")
        await poll(lambda: delegate.inner_text("#floor-status"),
                   lambda s: s == "You have the floor. Your microphone is open.", timeout=10)
        assert await delegate.inner_text("#floor-status") == \
            "You have the floor. Your microphone is open."
        assert await delegate.is_hidden("#floor-unmute")
        assert await delegate.inner_text("#toggle-mic") == "Mute"

        # At 1366x768 the chair sees the speaker's video above the fold, without scrolling.
        tile = f'#video-grid .tile[data-participant="{delegate_id}"]'
        await chair.wait_for_selector(tile, state="visible", timeout=20_000)
        scrolled = await chair.evaluate("""() => {
            const main = document.querySelector('.room__main');
            const before = {main: main.scrollTop, page: document.scrollingElement.scrollTop};
            main.scrollTop = 0;
            return before;
        }""")
        assert scrolled["page"] == 0, str(scrolled)
        box = await _box(chair, tile)
        assert box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"], box
        # ... and the console's floor controls too.
        revoke = await _box(chair, "#floor-revoke")
        assert revoke["y"] + revoke["height"] <= LAPTOP["height"], revoke
        # The long name is cut on the tile but readable whole (title, the tile's label).
        assert await chair.get_attribute(f"{tile} .tile__label", "title") == f"{LONG_NAME} · Spain"
        assert await chair.get_attribute(tile, "aria-label") == f"{LONG_NAME} · Spain"
        name = chair.locator(f'#participants [data-participant="{delegate_id}"] .person__name')
        assert (await name.inner_text()).startswith(LONG_NAME)

        # The delegate yields from the bottom bar.
        await delegate.click("#floor-quick")
        await delegate.wait_for_selector("#floor-speaking", state="hidden")

        # Devices: the speaker test plays a tone.
        await delegate.click("#devices")
        await delegate.wait_for_selector("#devices-dialog[open]")
        assert await delegate.locator("#devices-output").count() == 1
        await delegate.click("#devices-test")
        await delegate.wait_for_selector("#devices-dialog[data-testing='true']")
        await delegate.wait_for_selector("#devices-dialog[data-testing='false']", timeout=5000)
        await delegate.click("#devices-close")
        await delegate.wait_for_selector("#devices-dialog", state="detached")

        # Leave asks first: Cancel keeps the delegate in the room.
        await delegate.click("#leave")
        await delegate.wait_for_selector("#confirm-dialog[open]")
        await delegate.click("#confirm-cancel")
        assert await delegate.evaluate("window.rostrum.view") == "room"
        await delegate.click("#leave")
        await delegate.click("#confirm-ok")
        await wait_for_view(delegate, "left")
        # The delegate's devices were asked for once, at the join form, with the camera.
        calls = await delegate.evaluate("window.__gumCalls")
        assert calls and calls[0] == {"audio": True, "video": True}, calls
    except BaseException:
        for log in logs:
            print(log.tail())
        raise


async def test_observer_captioner_interpreter_and_secretariat_screens(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    observer_context = await launch_browser(None)
    await observer_context.add_init_script(COUNT_GUM)
    observer = await new_page(observer_context)
    captioner = await new_page(observer_context)
    first_context = await launch_browser(make_tone(550.0))
    await first_context.add_init_script(COUNT_GUM)
    first = await new_page(first_context)
    second = await new_page(await launch_browser(make_tone(770.0)))
    secretariat = await new_page(await launch_browser(None, viewport=LAPTOP))
    logs = [PageLog(p, n) for p, n in ((observer, "observer"), (captioner, "captioner"),
                                       (first, "first"), (second, "second"),
                                       (secretariat, "secretariat"))]
    try:
        # Observer and captioner: no device part, no getUserMedia, no device buttons.
        for page, role, word in ((observer, "observer", "Observer"),
                                 (captioner, "captioner", "Captioner")):
            await page.goto(rostrum_server.join_link(role=role))
            await wait_for_view(page, "join")
            assert await page.inner_text("#join-role") == f"You are invited as: {word}"
            assert await page.locator("#join-camera, #join-microphone, #join-preview").count() == 0
            assert "without a camera or microphone" in await page.inner_text("#join-devices-note")
            await join_meeting(page, rostrum_server.join_link(role=role), name=f"A {word}")
            assert await page.is_hidden("#toggle-mic") and await page.is_hidden("#toggle-camera")
            assert await page.is_hidden(".tile--self")
            assert await page.evaluate("window.__gumCalls") == []

        # Interpreters: the microphone only, no listening language.
        await first.goto(rostrum_server.join_link(role="interpreter"))
        await wait_for_view(first, "join")
        assert await first.inner_text("#join-role") == "You are invited as: Interpreter"
        assert await first.locator("#join-camera, #join-preview, #join-language").count() == 0
        assert await first.locator("#join-microphone").count() == 1
        first_id = await join_meeting(first, rostrum_server.join_link(role="interpreter"),
                                      name="Ines Interpreter")
        calls = await first.evaluate("window.__gumCalls")
        assert calls and all(c == {"audio": True, "video": False} for c in calls), calls
        second_id = await join_meeting(second, rostrum_server.join_link(role="interpreter"),
                                       name="Olga Interpreter")
        await join_meeting(secretariat, rostrum_server.join_link(role="secretariat"),
                           name="Sam Secretary")

        # The secretariat's console: the booths, across the console (no empty half).
        await secretariat.wait_for_selector("#booth-panel", state="visible")
        console = await _box(secretariat, "#chair-console")
        booths = await _box(secretariat, "#booth-panel")
        assert booths["width"] >= 0.8 * console["width"], (console, booths)

        # Two interpreters in the French booth, one in none: the secretariat assigns them.
        await secretariat.select_option(f'select[data-interpreter="{first_id}"]', "fr")
        await secretariat.select_option(f'select[data-interpreter="{second_id}"]', "fr")
        for page in (first, second):
            await page.wait_for_selector("#ic-mic", state="visible")

        # Relay sources say what they carry: a booth nobody is live in carries the floor.
        await first.wait_for_selector('#ic-incoming [data-source="en"]')
        badge = await first.inner_text('#ic-incoming [data-source="en"] .ic__source-state')
        assert badge == "not live: carries the floor", badge
        assert "off (floor)" not in await first.inner_text("#ic-incoming")

        # The own microphone's level shows the tone, also while the microphone is off.
        level = await poll(
            lambda: first.get_attribute("#ic-mic-level", "aria-valuenow"),
            lambda v: v is not None and int(v) > 20, timeout=10)
        assert level is not None and int(level) > 20, level
        # Incoming volume and the limiter act on the mixer.
        await first.fill("#ic-volume", "50")
        await first.dispatch_event("#ic-volume", "input")
        assert await first.evaluate("window.rostrum.room.mixer.volume") == 0.5
        assert await first.is_checked("#ic-limiter")
        await first.uncheck("#ic-limiter")
        assert await first.evaluate("window.rostrum.room.mixer.limiter") is False

        # Handover: the one offering sees Cancel; the partner sees Accept and Decline.
        await first.click("#ic-mic")
        await first.wait_for_selector("#ic-mic[data-state='live']")
        await first.click("#ic-handover-request")
        await second.wait_for_selector("#ic-handover-accept", state="visible")
        assert await second.is_visible("#ic-handover-decline")
        assert await second.is_hidden("#ic-handover-cancel")
        assert await first.is_visible("#ic-handover-cancel")
        assert await first.is_hidden("#ic-handover-decline")
        await second.click("#ic-handover-decline")
        await first.wait_for_selector("#ic-handover-cancel", state="hidden")

        # Leaving while live says what listeners will hear.
        await first.click("#leave")
        await first.wait_for_selector("#confirm-dialog[open]")
        message = await first.inner_text("#confirm-dialog .dialog__message")
        assert "You are live: French listeners will hear the original" in message, message
        await first.click("#confirm-cancel")
    except BaseException:
        for log in logs:
            print(log.tail())
        raise


async def test_phone_screens_of_delegate_observer_and_interpreter(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    delegate = await new_page(await launch_browser(make_tone(550.0), viewport=PHONE))
    observer = await new_page(await launch_browser(None, viewport=PHONE))
    interpreter = await new_page(await launch_browser(make_tone(660.0), viewport=PHONE))
    chair = await new_page(await launch_browser(make_tone(440.0)))
    pages = {"delegate": delegate, "observer": observer, "interpreter": interpreter}
    logs = [PageLog(p, n) for n, p in pages.items()] + [PageLog(chair, "chair")]
    try:
        await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Ms Chair")
        for name, page in pages.items():
            await as_phone(page)
            await page.goto(rostrum_server.join_link(role=name))
            await wait_for_view(page, "join")
            await assert_fits(page, f"{name} join")
            # The join form is long on a phone: the participant scrolls down to Join.
            await page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
            ids = await join_meeting(page, rostrum_server.join_link(role=name),
                                     name=f"Phone {name}")
            # The room opens at its top, the floor bar (speaker, clock) in view.
            probe = await assert_fits(page, f"{name} room")
            assert probe["scrollY"] == 0, (name, probe)
            bar = await _box(page, "#floor-bar")
            assert bar["y"] >= 0 and bar["y"] + bar["height"] <= PHONE["height"], (name, bar)
            if name == "interpreter":
                await chair.evaluate("(id) => window.rostrum.client.assignBooth(id, 'es')", ids)
                await page.wait_for_selector("#ic-mic", state="visible")
                await assert_fits(page, "interpreter console")

        # The floor request and the listening language sit in the bottom bar, in thumb reach
        # (the lower part of the screen), also after scrolling down the page.
        await delegate.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
        for selector in ("#floor-quick", "#listen-channel-quick"):
            box = await _box(delegate, selector)
            assert box["y"] >= PHONE["height"] * 0.6, (selector, box)
            assert box["y"] + box["height"] <= PHONE["height"], (selector, box)
        assert await observer.is_visible("#listen-channel-quick")
        assert await observer.locator("#floor-quick").count() == 0
        # Leave is apart from Mute (not the neighbour a thumb slips onto) and looks different.
        mute, leave = await _box(delegate, "#toggle-mic"), await _box(delegate, "#leave")
        same_row = abs(mute["y"] - leave["y"]) < mute["height"] / 2
        if same_row:
            gap = max(leave["x"] - (mute["x"] + mute["width"]),
                      mute["x"] - (leave["x"] + leave["width"]))
            assert gap >= 24, (mute, leave)
        leave_color = await delegate.evaluate(
            "getComputedStyle(document.querySelector('#leave')).color")
        assert leave_color == "rgb(164, 0, 15)", leave_color
        # The floor request works from there.
        await delegate.click("#floor-quick")
        await chair.wait_for_selector('#speakers-list [data-action="grant"]')
        assert await delegate.get_attribute("#floor-quick", "data-action") == "queued"
    except BaseException:
        for log in logs:
            print(log.tail())
        raise
