"""A browser delegate in a meeting of the cluster (tests/cluster.py: two control-plane nodes
and three remote workers, each in its own network namespace, one Redis, one SQLite file;
Chromium in a sixth namespace on the same bridge, its Content-Security-Policy in force).
kill -9 the meeting's worker, then the meeting's owner node: the page recovers by itself,
with no reload, within 5 s of each kill: after the worker's death it publishes and
subscribes again (`/media` `media-restart`); after the node's death its reconnection goes
to node B (the join ack's `nodes`), which takes the meeting over and accepts the page's
`resume` as the same participant. Audio is heard again, decoded, each time (the speaker's
440 Hz tone at the page). The floor log read from node B has no hole.

The chair and the speaker are aiortc peers: they follow `media-restart` by themselves
(tests/peers.py) but, unlike the page, rejoin node B as new participants after the node's
death, and the chair gives the floor again (a takeover does not give back a floor in
progress: it is ended `owner-lost`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sfu import aiortc_glue
from tests.browser.chromium import chromium_available, launch_in_namespace, write_namespace_wrapper
from tests.browser.netns import BrowserNamespace
from tests.browser.pages import PageLog, heard, join_meeting, poll
from tests.cluster import MEETING, ClusterNet, cluster_of, join_following
from tests.peers import TestPeer, ToneTrack
from tests.requirements import require

pytestmark = [pytest.mark.browser, pytest.mark.network]

SPEAKER_HZ = 440.0
RECOVERY_S = 5.0

# The page's own record: when media restarted, when it resumed (on which node), whether it
# gave up or reloaded, and when the speaker's voice arrived again after `since`
WATCH = """() => {
    const c = window.rostrum.client;
    const w = window.cluster = {loaded: true, restarts: [], resumed: [], gaveUp: [],
                                since: 0, after: null, speaker: null, voiceBack: null};
    c.addEventListener('mediarestart', () => w.restarts.push(Date.now()));
    c.addEventListener('resumed', (e) => w.resumed.push([Date.now(), e.detail.downMs, c.url,
                                                         c.self.id]));
    c.addEventListener('disconnected', (e) => w.gaveUp.push(e.detail));
    const probe = async () => {
        const ready = w.after === 'restart' ? w.restarts.some((t) => t >= w.since)
                    : w.resumed.some(([t]) => t >= w.since);
        if (w.since && w.voiceBack === null && w.speaker && ready) {
            try {
                const slots = await c.getStats();
                if (slots.some((s) => s.kind === 'audio' && s.participantId === w.speaker
                                      && s.packetsReceived > 0)) w.voiceBack = Date.now();
            } catch (err) { /* the subscription is being made again */ }
        }
        setTimeout(probe, 50);
    };
    probe();
}"""

MARK = """([since, after, speaker]) => Object.assign(window.cluster,
    {since, after, speaker, voiceBack: null})"""


def near(frequency: Any, target: float) -> bool:
    return isinstance(frequency, int | float) and abs(frequency - target) <= 25.0


async def test_the_page_follows_a_worker_and_then_its_node_dying(
    playwright_instance: Any, make_tone: Any, tmp_path: Path,
) -> None:
    require(chromium_available(), "Debian's Chromium at /usr/bin/chromium")
    net = ClusterNet.create(6)  # nodes A, B; workers; the browser's host
    peers: list[TestPeer] = []
    try:
        async with cluster_of([(name, address, 8080) for name, address in net.hosts[:5]],
                              net.bridge_address, ROSTRUM_RESUME_GRACE_S="30") as cluster:
            aiortc_glue.install_ice_policy([net.bridge_address])
            urls = cluster.urls

            async def speaker_with_the_floor() -> tuple[TestPeer, TestPeer]:
                chair = await join_following(urls, cluster.token("chair"), "Chair")
                ana = await join_following(urls, cluster.token("delegate"), "Ana",
                                           memberState="Kenya")
                peers[:] = [chair, ana]
                request = await ana.floor("request", {"note": "on the liaison"})
                assert request["ok"], request
                assert (await chair.floor("grant",
                                          {"requestId": request["request"]["id"]}))["ok"]
                assert (await ana.publish(audio=ToneTrack(SPEAKER_HZ)))["ok"]
                return chair, ana

            async def voice_back(page: Any, killed_ms: float) -> float:
                state = await poll(lambda: page.evaluate("() => window.cluster"),
                                   lambda w: w["voiceBack"] is not None or bool(w["gaveUp"]),
                                   timeout=RECOVERY_S + 10, interval=0.1)
                assert state["voiceBack"] is not None, state
                slots = await poll(lambda: heard(page),
                                   lambda s: any(near(x["frequency"], SPEAKER_HZ) for x in s))
                assert any(near(x["frequency"], SPEAKER_HZ) for x in slots), slots
                return float(state["voiceBack"] - killed_ms) / 1000

            _chair, ana = await speaker_with_the_floor()
            name, address = net.hosts[5]  # Chromium runs on the sixth host
            wrapper = write_namespace_wrapper(tmp_path, BrowserNamespace(
                name=name, host_if="", ns_if="", host_address=net.bridge_address,
                ns_address=address))
            context = await launch_in_namespace(
                playwright_instance, wrapper=wrapper, user_data_dir=tmp_path / "profile",
                fake_audio=make_tone(880.0), secure_origin=",".join(urls), bypass_csp=False)
            page = context.pages[0] if context.pages else await context.new_page()
            log = PageLog(page, "ben")
            try:
                ben_id = await join_meeting(
                    page, f"{urls[0]}/m/{MEETING}?t={cluster.token('delegate')}", name="Ben")
                await page.evaluate(WATCH)
                slots = await poll(lambda: heard(page),
                                   lambda s: any(near(x["frequency"], SPEAKER_HZ) for x in s))
                assert any(near(x["frequency"], SPEAKER_HZ) for x in slots), slots

                # 1. kill -9 the meeting's worker
                victim = await cluster.placed_on()
                killed_ms = time.time() * 1000
                await page.evaluate(MARK, [killed_ms, "restart", ana.participant_id])
                victim.kill()
                worker_s = await voice_back(page, killed_ms)

                # 2. kill -9 node A, the meeting's owner
                killed_ms = time.time() * 1000
                await page.evaluate(MARK, [killed_ms, "resume", None])
                await cluster.kill_node(0)
                for peer in peers:
                    await peer.close()
                _chair, ana = await speaker_with_the_floor()
                assert ana.base_url == urls[1], "the speaker did not reach node B"
                await page.evaluate("(id) => { window.cluster.speaker = id; }",
                                    ana.participant_id)
                node_s = await voice_back(page, killed_ms)
                state = await page.evaluate("() => window.cluster")
                resumed_at, down_ms, resumed_on, resumed_as = state["resumed"][-1]
                resume_s = (resumed_at - killed_ms) / 1000
                assert state["loaded"] and not state["gaveUp"], state
                assert resumed_on == urls[1] and resumed_as == ben_id, state
                assert len(state["restarts"]) == 1, state
                assert page.url.startswith(urls[0]), "the page was reloaded elsewhere"

                events = await cluster.floor_log_without_hole(1)
                print(f"\nworker kill -9 -> the page hears the speaker again after "
                      f"{worker_s:.2f} s\nnode A kill -9 -> the page resumed on node B as "
                      f"the same participant after {resume_s:.2f} s (down {down_ms / 1000:.2f}"
                      f" s), hears the speaker again after {node_s:.2f} s (the aiortc speaker"
                      f" and chair rejoined and the floor was given again meanwhile)\n"
                      f"floor log: {events}")
                assert worker_s <= RECOVERY_S, f"{worker_s:.2f} s after the worker's death"
                assert resume_s <= RECOVERY_S, f"resumed {resume_s:.2f} s after the node's"
                assert node_s <= RECOVERY_S, f"{node_s:.2f} s after the node's death"
            except BaseException:
                print("\n" + log.tail(60))
                raise
            finally:
                for peer in peers:
                    await peer.close()
                await context.close()
    finally:
        net.destroy()
