"""Captions and chat: how fast a keystroke reaches readers, how much chat a 300-person
meeting sustains.

1. ``browser``: a captioner types in the captioning console in Chromium (20 characters a
   second, Playwright key presses); a delegate's page in another tab shows the line. For every
   keystroke, the delay from the ``input`` event on the captioner's page to the moment the
   delegate's caption band shows that text (a MutationObserver; both pages read the same
   clock). Baseline in the same run: the captioner page's acknowledged round trip to the
   server on ``/captions``.
2. ``readers``: the server in its own process; a captioner and N readers (default 300)
   subscribed to the language, as Socket.IO clients in this process; the captioner sends the
   growing line 20 times a second; the delay from each send to each reader receiving it.
   Baseline: one reader.
3. ``chat``: the same N participants; offered chat load in steps (messages per second spread
   over many senders, each within its rate limit), every message fanned out to everyone;
   delivered messages per second and the p99 delay per step. Sustained = the highest step
   whose messages all arrive with a p99 under a second.

4. ``webcast``: a speaker publishes audio and video (aiortc), the webcast runs, a captioner
   makes lines final on ``/captions`` (the Enter keystroke) one every few seconds; the delay
   from each Enter to the moment the English subtitle rendition's live playlist lists a
   WebVTT segment that carries the line (polled every 100 ms over HTTP, as a player would,
   but faster). Baseline in the same run: how late the floor's own media segments are listed
   (listing time minus the end of the segment's recorded span), which a player waits for too.
   A player adds its own live-edge delay on top of both (hls.js: about 3 segments).

``python -m bench.captions [--readers 300] [--skip-browser] [--skip-many] [--skip-webcast]``
prints the tables (the browser part needs root, iproute2, Debian's Chromium and Playwright).
Figures count only from a run with nothing else heavy on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from bench.procstat import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = [
    "Good morning distinguished delegates and welcome to the session",
    "We now turn to agenda item three on the draft Recommendation",
    "The rapporteur will introduce the contribution from the correspondence group",
    "Are there any comments on the text as amended in the meeting",
]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- 1. in Chromium

CAPTIONER_PROBE = """() => {
    window.__typed = [];
    const input = document.querySelector('#captioner-line');
    input.addEventListener('input', () => window.__typed.push([input.value, Date.now()]));
}"""
READER_PROBE = """() => {
    window.__seen = [];
    const typing = document.querySelector('#captions-typing');
    new MutationObserver(() => window.__seen.push([typing.textContent, Date.now()]))
        .observe(typing, {childList: true, characterData: true, subtree: true});
}"""
RTT_JS = """async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await window.rostrum.client.requestOn('/captions', 'state', {});
        out.push(performance.now() - t0);
    }
    return out;
}"""


def keystroke_delays(typed: list[list[Any]], seen: list[list[Any]]) -> list[float]:
    """For every typed value, the first later reader observation that shows it (or a longer
    text that starts with it: sends are coalesced while one is in flight)."""
    delays = []
    for text, at in typed:
        if not text:
            continue
        shown = next((t for s, t in seen if t >= at and s.startswith(text)), None)
        if shown is not None:
            delays.append(float(shown - at))
    return delays


async def browser_bench() -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.browser.chromium import launch_in_namespace, write_namespace_wrapper
    from tests.browser.netns import BrowserNamespace
    from tests.browser.pages import join_meeting
    from tests.browser.tones import write_tone_wav
    from tests.harness import running_server

    namespace = BrowserNamespace.create()
    try:
        with tempfile.TemporaryDirectory(prefix="rostrum-captions-") as tmp_name:
            tmp = Path(tmp_name)
            wrapper = write_namespace_wrapper(tmp, namespace)
            tone = write_tone_wav(tmp / "tone.wav", 440.0)
            address = namespace.host_address
            async with running_server(host=address, public_host=address,
                                      rtc_addresses=[address]) as server, \
                    async_playwright() as playwright:
                context = await launch_in_namespace(
                    playwright, wrapper=wrapper, user_data_dir=tmp / "profile",
                    fake_audio=tone, secure_origin=server.base_url)
                try:
                    reader = await context.new_page()
                    captioner = await context.new_page()
                    await join_meeting(reader, server.join_link(role="delegate"), name="Reader")
                    await join_meeting(captioner, server.join_link(role="captioner"),
                                       name="Captioner")
                    await reader.select_option("#captions-language", "en")
                    await captioner.select_option("#captioner-language", "en")
                    await captioner.click("#captioner-start")
                    await captioner.wait_for_function(
                        "!document.querySelector('#captioner-line').disabled")
                    await reader.evaluate(READER_PROBE)
                    await captioner.evaluate(CAPTIONER_PROBE)
                    for sentence in SENTENCES:
                        await captioner.locator("#captioner-line").press_sequentially(
                            sentence, delay=50)
                        await captioner.press("#captioner-line", "Enter")
                        await asyncio.sleep(0.5)
                    typed = await captioner.evaluate("window.__typed")
                    seen = await reader.evaluate("window.__seen")
                    rtt = await captioner.evaluate(RTT_JS, 50)
                finally:
                    await context.close()
    finally:
        namespace.destroy()
    delays = keystroke_delays(typed, seen)
    return {"keystrokes": len(typed), "matched": len(delays),
            "p50_ms": pct(delays, 50), "p99_ms": pct(delays, 99), "max_ms": max(delays),
            "rtt_p50_ms": pct(rtt, 50), "rtt_p99_ms": pct(rtt, 99)}


# ---------------------------------------------------------------- 4. into the webcast

async def webcast_bench(lines: int, every_s: float) -> dict[str, Any]:
    import aiohttp

    from tests.harness import running_server
    from tests.integration.test_webcast import get, wait_segments
    from tests.peers import PatternTrack, ToneTrack
    from tests.text_peer import TextPeer
    from webcast.playlist import parse_media
    from webcast.subtitles import parse_pdt

    async with running_server(floor_mode="chaired") as srv, aiohttp.ClientSession() as http:
        reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                json={"access": "public"},
                                headers={"Authorization": f"Bearer {srv.token('secretariat')}"})
        assert reply.status == 200, await reply.text()
        base = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
        chair = TextPeer(srv.base_url, srv.token("chair"), "Chair")
        speaker = TextPeer(srv.base_url, srv.token("delegate"), "Speaker")
        captioner = TextPeer(srv.base_url, srv.token("captioner"), "Captioner")
        peers = [chair, speaker, captioner]
        media_late: list[float] = []
        shown: dict[str, float] = {}  # line -> when a listed segment first carried it
        try:
            for peer in peers:
                await peer.join()
            request = await speaker.floor("request", {"language": "en"})
            assert (await chair.floor("grant", {"requestId": request["request"]["id"]}))["ok"]
            assert (await speaker.publish(audio=ToneTrack(440.0),
                                          video=PatternTrack(320, 180)))["ok"]
            await wait_segments(http, f"{base}/audio/floor/index.m3u8", 2)
            assert (await captioner.captions("claim", {"language": "en"}))["ok"]
            wanted: list[str] = []
            all_shown = asyncio.Event()

            async def watch() -> None:
                seen_media: set[str] = set()
                seen_vtt: set[str] = set()
                while True:
                    status, body, _ = await get(http, f"{base}/audio/floor/index.m3u8")
                    now = time.time()
                    if status == 200:
                        for seg in parse_media(body.decode()).segments:
                            start = parse_pdt(seg.program_date_time or "")
                            if seg.uri not in seen_media and start is not None:
                                seen_media.add(seg.uri)
                                if len(seen_media) > 3:  # the ones listed before we looked
                                    media_late.append(now - (start + seg.duration))
                    status, body, _ = await get(http, f"{base}/subtitles/en/index.m3u8")
                    now = time.time()
                    if status == 200:
                        for seg in parse_media(body.decode()).segments:
                            if seg.uri in seen_vtt:
                                continue
                            status, vtt, _ = await get(http, f"{base}/subtitles/en/{seg.uri}")
                            text = vtt.decode()
                            for line in wanted:
                                if line in text and line not in shown:
                                    shown[line] = now
                            seen_vtt.add(seg.uri)
                    if len(shown) == lines:
                        all_shown.set()
                    await asyncio.sleep(0.1)

            watcher = asyncio.create_task(watch())
            sent: dict[str, float] = {}
            try:
                for i in range(lines):
                    line = f"{SENTENCES[i % len(SENTENCES)]} ({i + 1})"
                    wanted.append(line)
                    await captioner.captions("interim", {"text": line})
                    sent[line] = time.time()  # the Enter
                    assert (await captioner.captions("final", {"text": line}))["ok"]
                    await asyncio.sleep(every_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_shown.wait(), 15)
            finally:
                watcher.cancel()
                (outcome,) = await asyncio.gather(watcher, return_exceptions=True)
                if isinstance(outcome, Exception):
                    raise outcome
        finally:
            for peer in peers:
                await peer.close()
    delays = [(shown[line] - at) * 1000 for line, at in sent.items() if line in shown]
    media_ms = [v * 1000 for v in media_late]
    return {"lines": len(sent), "shown": len(delays), "p50_ms": pct(delays, 50),
            "p99_ms": pct(delays, 99), "max_ms": max(delays, default=float("nan")),
            "media_segments": len(media_ms), "media_p50_ms": pct(media_ms, 50),
            "media_p99_ms": pct(media_ms, 99)}


# ---------------------------------------------------------------- 2 and 3: many clients

@dataclass
class Client:
    base: str
    token: str
    name: str
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(
        reconnection=False))
    caption_delays: list[float] = field(default_factory=list)
    chat_delays: list[float] = field(default_factory=list)
    chat_received: int = 0
    chat_last: float = 0.0  # monotonic time of the last chat message received
    sent_at: dict[int, float] | None = None  # interim number -> send time (shared)

    async def join(self) -> None:
        async def on_interim(data: Any) -> None:
            if self.sent_at is not None:
                head = str(data.get("text", ""))[:4]
                sent = self.sent_at.get(int(head)) if head.isdigit() else None
                if sent is not None:
                    self.caption_delays.append((time.perf_counter() - sent) * 1000)

        async def on_chat(data: Any) -> None:
            self.chat_received += 1
            self.chat_last = time.monotonic()
            stamp = data.get("text", "").split(" ", 1)[0]
            try:
                self.chat_delays.append((time.time() - float(stamp)) * 1000)
            except ValueError:
                pass

        self.sio.on("caption-interim", on_interim, namespace="/captions")
        self.sio.on("chat", on_chat, namespace="/chat")
        await self.sio.connect(self.base, namespaces=["/room", "/captions", "/chat"],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=30)
        reply = await self.sio.call("join", {"name": self.name}, namespace="/room", timeout=60)
        assert reply["ok"], reply

    async def call(self, ns: str, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, namespace=ns, timeout=60)

    async def try_call(self, ns: str, event: str, data: Any) -> dict[str, Any]:
        """A call that answers a dropped connection or a timeout as a failure."""
        try:
            return dict(await self.call(ns, event, data))
        except (socketio.exceptions.SocketIOError, TimeoutError) as exc:
            return {"ok": False, "error": {"code": type(exc).__name__}}


def start_server(data: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The server in its own process (as in production), its log to a file (a pipe nobody
    reads would fill and stall it), the demo meeting's tokens read from that log."""
    env = {**os.environ, "ROSTRUM_DATA_DIR": str(data), "ROSTRUM_PORT": str(port),
           "ROSTRUM_RTC_ADDRESSES": "127.0.0.1", "REDIS_URL": "", "ROSTRUM_RTC_PORT": "0"}
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "meeting_server", "--demo"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    links: dict[str, str] = {}
    while len(links) < 6 and time.monotonic() < deadline:
        time.sleep(0.2)
        for line in (data / "server.log").read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith("http") and "t=" in parts[1]:
                links[parts[0]] = parts[1].split("t=", 1)[1]
    if len(links) < 6:
        proc.kill()
        raise RuntimeError("the server printed no join links: " + (data / "server.log").read_text())
    return proc, links


async def many_clients(readers: int, chat_steps: list[int], step_s: float,
                       line_chars: int = 100) -> dict[str, Any]:
    from tests.harness import free_port, wait_listening

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rostrum-chat-bench-") as tmp:
        proc, tokens = start_server(Path(tmp), port)
        try:
            wait_listening(port)
            return await _many(base, tokens, readers, chat_steps, step_s, line_chars,
                               proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print("(the server took over 30 s to shut down; killed)", file=sys.stderr)
                proc.kill()
                proc.wait()


async def _many(base: str, tokens: dict[str, str], readers: int, chat_steps: list[int],
                step_s: float, line_chars: int, server_pid: int) -> dict[str, Any]:
    def server_cpu_s() -> float:
        return cpu_seconds(server_pid)

    sent_at: dict[int, float] = {}
    captioner = Client(base, tokens["captioner"], "Captioner")
    await captioner.join()
    assert (await captioner.call("/captions", "claim", {"language": "en"}))["ok"]
    clients: list[Client] = []
    t0 = time.monotonic()
    for i in range(readers):
        client = Client(base, tokens["delegate"], f"Delegate {i}", sent_at=sent_at)
        await client.join()
        clients.append(client)
    joined_s = time.monotonic() - t0

    async def type_line(n_clients: list[Client], chars: int = line_chars) -> list[float]:
        for c in n_clients:
            c.caption_delays.clear()
        for c in n_clients:
            await c.call("/captions", "subscribe", {"language": "en"})
        line = (" ".join(SENTENCES) * 3)[:chars]
        for i in range(1, len(line) + 1):
            text = f"{i:04d} {line[:i]}"
            sent_at[i] = time.perf_counter()
            await captioner.sio.emit("interim", {"text": text}, namespace="/captions")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        for c in n_clients:
            await c.call("/captions", "subscribe", {"language": None})
        return [d for c in n_clients for d in c.caption_delays]

    baseline = await type_line(clients[:1])
    everyone = await type_line(clients)
    caption = {
        "readers": readers, "join_all_s": round(joined_s, 1),
        "one_reader": {"p50_ms": pct(baseline, 50), "p99_ms": pct(baseline, 99),
                       "n": len(baseline)},
        "all_readers": {"p50_ms": pct(everyone, 50), "p99_ms": pct(everyone, 99),
                        "n": len(everyone), "expected": readers * line_chars},
    }

    steps = []
    for rate in chat_steps:
        for c in clients:
            c.chat_delays.clear()
            c.chat_received = 0
        # each sender stays under its limit (one message every 2 s): enough senders
        senders = clients[: max(1, min(len(clients), rate * 3))]
        count = int(rate * step_s)
        start = time.monotonic()
        cpu0, own0 = server_cpu_s(), time.process_time()
        refused = 0
        tasks = []
        for k in range(count):
            target = start + k / rate
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sender = senders[k % len(senders)]
            tasks.append(asyncio.ensure_future(sender.try_call(
                "/chat", "send", {"text": f"{time.time():.6f} message {k}"})))
        answers = await asyncio.gather(*tasks)
        refused = sum(1 for a in answers if not a.get("ok"))
        dropped = sum(1 for c in clients if not c.sio.connected)
        deadline = time.monotonic() + 10
        expected = (count - refused) * len(clients)
        while sum(c.chat_received for c in clients) < expected \
                and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        elapsed = max(max(c.chat_last for c in clients), start + step_s) - start
        server_pct = 100 * (server_cpu_s() - cpu0) / (time.monotonic() - start)
        clients_pct = 100 * (time.process_time() - own0) / (time.monotonic() - start)
        delays = [d for c in clients for d in c.chat_delays]
        got = sum(c.chat_received for c in clients)
        steps.append({"offered_per_s": rate, "sent": count, "refused": refused,
                      "deliveries": got, "expected": expected,
                      "delivered_per_s": round(got / elapsed, 1),
                      "p50_ms": pct(delays, 50), "p99_ms": pct(delays, 99),
                      "server_cpu_pct": round(server_pct), "clients_cpu_pct": round(clients_pct),
                      "dropped_clients": dropped})
        if dropped:
            break  # saturated: a client missed the server's pings
    for c in [captioner, *clients]:
        if c.sio.connected:
            await c.sio.disconnect()
    sustained = [s for s in steps if s["deliveries"] == s["expected"] and s["refused"] == 0
                 and s["p99_ms"] < 1000 and not s["dropped_clients"]]
    return {"caption": caption, "chat": steps,
            "chat_sustained_per_s": max((s["offered_per_s"] for s in sustained), default=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readers", type=int, default=300)
    parser.add_argument("--chat-steps", default="5,10,20,40",
                        help="offered chat messages per second, one step each")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--line-chars", type=int, default=100,
                        help="characters typed, one interim each, 20 a second")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-many", action="store_true", help="skip parts 2 and 3")
    parser.add_argument("--skip-webcast", action="store_true")
    parser.add_argument("--webcast-lines", type=int, default=12)
    parser.add_argument("--webcast-every", type=float, default=2.7,
                        help="seconds between two final lines (not a multiple of 2 s segments)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.getLogger("engineio").setLevel(logging.CRITICAL)  # "packet queue is empty" x N
    results: dict[str, Any] = {}
    if not args.skip_browser:
        results["browser"] = asyncio.run(browser_bench())
        b = results["browser"]
        print("\nKeystroke to another page (Chromium, captioning console -> delegate's band)")
        print("| keystrokes | matched | p50 ms | p99 ms | max ms |"
              " baseline: ack RTT p50 / p99 ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        print(f"| {b['keystrokes']} | {b['matched']} | {b['p50_ms']:.0f} | {b['p99_ms']:.0f} |"
              f" {b['max_ms']:.0f} | {b['rtt_p50_ms']:.1f} / {b['rtt_p99_ms']:.1f} |")
    if not args.skip_webcast:
        results["webcast"] = asyncio.run(webcast_bench(args.webcast_lines, args.webcast_every))
        w = results["webcast"]
        print("\nEnter (final line) to the line in the webcast's subtitle rendition"
              " (its live playlist lists a WebVTT segment carrying it)")
        print("| lines | shown | p50 ms | p99 ms | max ms |"
              " baseline: media segment listed after its end, p50 / p99 ms (n) |")
        print("| --- | --- | --- | --- | --- | --- |")
        print(f"| {w['lines']} | {w['shown']} | {w['p50_ms']:.0f} | {w['p99_ms']:.0f} |"
              f" {w['max_ms']:.0f} | {w['media_p50_ms']:.0f} / {w['media_p99_ms']:.0f}"
              f" ({w['media_segments']}) |")
    if args.skip_many:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
    steps = [int(s) for s in args.chat_steps.split(",") if s]
    results["many"] = asyncio.run(many_clients(args.readers, steps, args.step_seconds,
                                               args.line_chars))
    c = results["many"]["caption"]
    print(f"\nInterim line to {c['readers']} readers (server in its own process; clients here;"
          f" joining all took {c['join_all_s']} s)")
    print("| readers | deliveries | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- |")
    print(f"| 1 (baseline) | {c['one_reader']['n']} | {c['one_reader']['p50_ms']:.1f} |"
          f" {c['one_reader']['p99_ms']:.1f} |")
    print(f"| {c['readers']} | {c['all_readers']['n']} of {c['all_readers']['expected']} |"
          f" {c['all_readers']['p50_ms']:.1f} | {c['all_readers']['p99_ms']:.1f} |")
    print(f"\nChat fan-out to {c['readers']} participants")
    print("| offered msg/s | sent | refused | deliveries | delivered/s | p50 ms | p99 ms |"
          " server CPU % | clients CPU % | dropped clients |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in results["many"]["chat"]:
        print(f"| {s['offered_per_s']} | {s['sent']} | {s['refused']} |"
              f" {s['deliveries']} of {s['expected']} | {s['delivered_per_s']} |"
              f" {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | {s['server_cpu_pct']} |"
              f" {s['clients_cpu_pct']} | {s['dropped_clients']} |")
    print(f"\nSustained (all delivered, p99 < 1 s): "
          f"{results['many']['chat_sustained_per_s']} messages/s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
