"""Changing devices inside the room, in Chromium with its fake devices (several fake
microphones, all playing the test's tone file, and several fake cameras). A delegate speaking
in an open meeting picks another microphone in the Devices dialog: the listener goes on
hearing the delegate's 660 Hz tone (the new track went in with `replaceTrack`, no
renegotiation), and the choice is remembered for the join form; another camera feeds both
camera layers; the microphone's track ending (what a headset unplugged mid-speech does) falls
back to the default microphone, says so, and the tone still flows."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.browser.pages import PageLog, heard, join_meeting, new_page, poll

pytestmark = [pytest.mark.browser, pytest.mark.network]

DELEGATE_HZ = 660.0
LISTENER_HZ = 440.0
TOLERANCE_HZ = 15.0

PUBLISHED = """async () => {
    const stream = window.rostrum.client.publishedStream;
    const mic = stream.getAudioTracks()[0], camera = stream.getVideoTracks()[0];
    const sources = [];
    (await window.rostrum.client.rawStats('publish')).forEach((s) => {
        if (s.type === 'media-source' && s.kind === 'video') sources.push(s.trackIdentifier);
    });
    return {mic: mic?.getSettings().deviceId ?? null, micId: mic?.id ?? null,
            micState: mic?.readyState ?? null, camera: camera?.getSettings().deviceId ?? null,
            cameraId: camera?.id ?? null, videoSources: sources,
            saved: JSON.parse(localStorage.getItem('rostrum.join') ?? '{}'),
            status: document.querySelector('#room-status')?.textContent ?? ''};
}"""


def hears(participant_id: str, slots: list[dict[str, Any]]) -> bool:
    seat = next((s for s in slots if s["participantId"] == participant_id), None)
    return seat is not None and seat["frequency"] is not None \
        and abs(seat["frequency"] - DELEGATE_HZ) <= TOLERANCE_HZ


async def test_switching_devices_keeps_the_floor_audio_flowing(
        launch_browser: Any, make_tone: Any, rostrum_server: Any) -> None:
    srv = rostrum_server
    delegate = await new_page(await launch_browser(make_tone(DELEGATE_HZ)))
    listener = await new_page(await launch_browser(make_tone(LISTENER_HZ)))
    logs = {"delegate": PageLog(delegate, "delegate"), "listener": PageLog(listener, "listener")}
    speaker = await join_meeting(delegate, srv.join_link("delegate"), name="Bruno Keller")
    await join_meeting(listener, srv.join_link("delegate"), name="Amina Diallo")
    await delegate.wait_for_function("window.rostrum.client.connectionStates.publish === 'connected'",
                                     timeout=20000)

    listen = partial(heard, listener)
    slots = await poll(listen, partial(hears, speaker), timeout=30)
    assert hears(speaker, slots), f"{slots}\n{logs['delegate'].tail()}\n{logs['listener'].tail()}"
    before = await delegate.evaluate(PUBLISHED)

    # another microphone, chosen in the dialog by keyboard-reachable select
    await delegate.click("#devices")
    await delegate.wait_for_selector("#devices-dialog[data-ready='true']")
    mics = await delegate.eval_on_selector_all("#devices-mic option", "os => os.map(o => o.value)")
    # another device where the fake devices offer one, else the same one opened again (the
    # swap is the same: a new track into the senders)
    other = next((m for m in mics if m and m != before["mic"]), next(m for m in mics if m))
    print(f"microphones listed: {len(mics)}; switching {before['mic']} -> {other}")
    await delegate.select_option("#devices-mic", other)
    await delegate.wait_for_function(
        "(id) => window.rostrum.client.publishedStream.getAudioTracks()[0].getSettings().deviceId === id"
        " && document.querySelector('#devices-dialog').dataset.switching === 'false'", arg=other)
    after = await delegate.evaluate(PUBLISHED)
    assert after["micId"] != before["micId"] and after["saved"]["microphone"] == other, after
    assert "Now using:" in after["status"], after
    slots = await poll(listen, partial(hears, speaker), timeout=15)
    assert hears(speaker, slots), f"no tone after the switch: {slots}\n{logs['delegate'].tail()}"

    # another camera: both layers send the new track (the high one, and its clone)
    cameras = await delegate.eval_on_selector_all("#devices-camera option",
                                                  "os => os.map(o => o.value)")
    camera = next((c for c in cameras if c and c != before["camera"]),
                  next(c for c in cameras if c))
    print(f"cameras listed: {len(cameras)}; switching {before['camera']} -> {camera}")
    await delegate.select_option("#devices-camera", camera)
    await delegate.wait_for_function(
        "(id) => window.rostrum.client.publishedStream.getVideoTracks()[0].getSettings().deviceId === id"
        " && document.querySelector('#devices-dialog').dataset.switching === 'false'", arg=camera)
    switched = await poll(lambda: delegate.evaluate(PUBLISHED),
                          lambda p: p["cameraId"] in p["videoSources"], timeout=10)
    assert switched["cameraId"] in switched["videoSources"], switched
    # both layers left the old track and its clone
    assert len(switched["videoSources"]) == 2, switched
    assert not set(before["videoSources"]) & set(switched["videoSources"]), (before, switched)
    assert switched["saved"]["camera"] == camera
    await delegate.click("#devices-close")

    # the microphone's track ends (a headset unplugged): the default microphone takes over
    await delegate.evaluate(
        "window.rostrum.client.publishedStream.getAudioTracks()[0].dispatchEvent(new Event('ended'))")
    await delegate.wait_for_function(
        "(id) => window.rostrum.client.publishedStream.getAudioTracks()[0].id !== id", arg=after["micId"])
    fallen = await delegate.evaluate(PUBLISHED)
    assert fallen["micState"] == "live", fallen
    assert "default microphone is used now" in fallen["status"], fallen
    slots = await poll(listen, partial(hears, speaker), timeout=15)
    assert hears(speaker, slots), f"no tone after the fallback: {slots}\n{logs['delegate'].tail()}"
