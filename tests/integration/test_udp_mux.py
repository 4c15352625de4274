"""The worker's one UDP port (sfu/udp_mux.py) with real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
from typing import Any

import aiohttp
import aioice.stun
import pytest

from meeting_server.app import WORKER
from sfu import aiortc_glue
from sfu.udp_mux import MuxError, UdpMux
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack

GARBAGE_EACH = 200


def _ice_credentials(sdp: str) -> tuple[str, str]:
    ufrag = re.search(r"a=ice-ufrag:(\S+)", sdp)
    pwd = re.search(r"a=ice-pwd:(\S+)", sdp)
    assert ufrag and pwd, sdp
    return ufrag.group(1), pwd.group(1)


def _host_ports(sdp: str) -> set[int]:
    return {int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host",
                                                 sdp)}


def _binding(username: str, key: bytes | None, *, use_candidate: bool = False) -> bytes:
    request = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                                  message_class=aioice.stun.Class.REQUEST)
    request.attributes["USERNAME"] = username
    request.attributes["PRIORITY"] = 1853824767
    request.attributes["ICE-CONTROLLING"] = random.getrandbits(64)
    if use_candidate:
        request.attributes["USE-CANDIDATE"] = None
    if key is not None:
        request.add_message_integrity(key)
    return bytes(request)


async def _media_and_peers(srv: Any) -> tuple[TestPeer, TestPeer, str, str]:
    alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
    bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
    await alice.join()
    await bob.join()
    reply = await alice.publish(audio=ToneTrack(440), video=PatternTrack())
    assert reply["ok"], reply
    assert (await bob.subscribe())["ok"]
    await bob.wait_for(lambda: bob.slot_of(alice.participant_id, "audio") is not None,
                       what="a seat for Alice")
    audio_mid = bob.slot_of(alice.participant_id, "audio")
    video_mid = bob.slot_of(alice.participant_id, "video")
    assert audio_mid and video_mid
    await bob.wait_for(lambda: bob.taps[video_mid].packets > 20, what="video packets")
    return alice, bob, audio_mid, video_mid


@pytest.mark.in_process
async def test_every_connection_offers_and_uses_the_worker_port() -> None:
    async with running_server() as srv:
        mux = srv.app[WORKER].worker.udp_mux
        assert mux is not None and mux.port > 0
        alice, bob, _, _ = await _media_and_peers(srv)
        try:
            # the answer to Alice and the offer to Bob name one host candidate: the mux
            assert _host_ports(alice.publish_pc.remoteDescription.sdp) == {mux.port}
            assert _host_ports(bob.subscribe_pc.remoteDescription.sdp) == {mux.port}
            router = srv.app[WORKER].worker.routers[srv.meeting_id]
            for transport in router.transports.values():
                assert aiortc_glue.ice_local_addresses(transport.pc) == \
                    [("127.0.0.1", mux.port)], transport
            # the ufrags are the mux's own and differ
            ufrags = {_ice_credentials(t.pc.localDescription.sdp)[0]
                      for t in router.transports.values()}
            assert len(ufrags) == 2 and all(len(u) == 8 for u in ufrags)
            assert mux.stats().media > 20 and mux.stats().dropped() == 0
        finally:
            await alice.close()
            await bob.close()
        # closing the connections forgets their routes; the port stays open
        await bob.wait_for(lambda: not srv.app[WORKER].worker.routers.get(srv.meeting_id)
                           or not srv.app[WORKER].worker.routers[srv.meeting_id].transports,
                           what="transports closed")
        assert all(s.routes() == (0, 0) for s in mux.sockets)


@pytest.mark.in_process
async def test_garbage_on_the_port_changes_nothing_for_established_connections() -> None:
    async with running_server() as srv:
        mux = srv.app[WORKER].worker.udp_mux
        assert mux is not None
        target = ("127.0.0.1", mux.port)
        alice, bob, audio_mid, video_mid = await _media_and_peers(srv)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        stranger.setblocking(False)
        try:
            sfu_ufrag, sfu_pwd = _ice_credentials(alice.publish_pc.remoteDescription.sdp)
            alice_ufrag, _ = _ice_credentials(alice.publish_pc.localDescription.sdp)
            valid = _binding(f"{sfu_ufrag}:{alice_ufrag}", sfu_pwd.encode())
            rng = random.Random(14)

            def junk(first: range, size: int = 120) -> bytes:
                return bytes([rng.choice(first)]) + rng.randbytes(size - 1)

            shapes: dict[str, Any] = {
                "random": lambda: rng.randbytes(rng.randrange(1, 1400)),
                "truncated-stun": lambda: valid[:rng.randrange(1, len(valid) - 1)],
                "unknown-ufrag": lambda: _binding(f"nobody{rng.randrange(99)}:{alice_ufrag}",
                                                  sfu_pwd.encode()),
                "bad-integrity": lambda: _binding(f"{sfu_ufrag}:{alice_ufrag}",
                                                  rng.randbytes(22)),
                "no-integrity": lambda: _binding(f"{sfu_ufrag}:{alice_ufrag}", None),
                "dtls-junk": lambda: junk(range(20, 64)),
                "rtp-junk": lambda: junk(range(128, 192), rng.randrange(12, 1200)),
            }
            before_stats = mux.stats()
            window = 2.0

            def counts() -> tuple[int, int]:
                return bob.taps[audio_mid].packets, bob.taps[video_mid].packets

            start = counts()
            await asyncio.sleep(window)
            quiet = counts()
            sent_unknown = 0
            sent_known = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + window
            for i in range(GARBAGE_EACH):
                for name, make in shapes.items():
                    stranger.sendto(make(), target)  # from an address no check came from
                    sent_unknown += 1
                    if name in ("dtls-junk", "rtp-junk", "random"):
                        # from the addresses the SFU knows: Alice's and Bob's own sockets
                        for pc in (alice.publish_pc, bob.subscribe_pc):
                            assert aiortc_glue.send_raw_datagram(pc, make()) is not None
                            sent_known += 1
                if i % 10 == 9:  # spread over the window, while media flows
                    await asyncio.sleep(max(0.0, (deadline - loop.time()) / (GARBAGE_EACH - i)))
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            noisy = counts()
            quiet_rate = [b - a for a, b in zip(start, quiet, strict=True)]
            noisy_rate = [b - a for a, b in zip(quiet, noisy, strict=True)]
            for kind, q, n in zip(("audio", "video"), quiet_rate, noisy_rate, strict=True):
                assert n >= 0.8 * q and q > 0, (kind, q, n)
            stats = mux.stats()
            dropped = stats.dropped() - before_stats.dropped()
            # every datagram from the stranger was dropped (none answered, none delivered)
            assert dropped >= sent_unknown, (dropped, sent_unknown, stats)
            assert stats.unknown_ufrag - before_stats.unknown_ufrag >= GARBAGE_EACH
            assert stats.bad_integrity - before_stats.bad_integrity >= 2 * GARBAGE_EACH
            try:
                answer = stranger.recv(2048)
            except BlockingIOError:
                answer = b""
            assert answer == b"", "the mux answered garbage"
            # the connections live on, both ways
            for pc in (alice.publish_pc, bob.subscribe_pc):
                assert pc.connectionState == "connected"
            router = srv.app[WORKER].worker.routers[srv.meeting_id]
            assert all(t.connection_state == "connected" for t in router.transports.values())
            await asyncio.sleep(1.0)
            assert counts()[1] > noisy[1] + 10
            assert sent_known == 6 * GARBAGE_EACH
        finally:
            stranger.close()
            await alice.close()
            await bob.close()


@pytest.mark.in_process
async def test_a_valid_check_from_a_new_address_is_answered_and_teaches_the_address() -> None:
    """ICE consent from a new address: the mux learns it only from a check that carries the
    right MESSAGE-INTEGRITY, and aioice answers it as it would on its own socket; media keeps
    flowing on the nominated pair."""
    async with running_server() as srv:
        mux = srv.app[WORKER].worker.udp_mux
        assert mux is not None
        target = ("127.0.0.1", mux.port)
        alice, bob, _, video_mid = await _media_and_peers(srv)
        moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        moved.bind(("127.0.0.1", 0))
        moved.settimeout(2.0)
        try:
            sfu_ufrag, sfu_pwd = _ice_credentials(alice.publish_pc.remoteDescription.sdp)
            alice_ufrag, _ = _ice_credentials(alice.publish_pc.localDescription.sdp)
            mux_socket = mux.sockets[0]
            address = moved.getsockname()
            moved.sendto(_binding(f"{sfu_ufrag}:{alice_ufrag}", os.urandom(16)), target)
            await asyncio.sleep(0.2)
            assert mux_socket.endpoint_at(address) is None  # a forged check teaches nothing
            moved.sendto(_binding(f"{sfu_ufrag}:{alice_ufrag}", sfu_pwd.encode()), target)
            data = await asyncio.get_running_loop().run_in_executor(None, moved.recv, 2048)
            answer = aioice.stun.parse_message(data)
            assert answer.message_class == aioice.stun.Class.RESPONSE
            assert answer.check_message_integrity(sfu_pwd.encode())
            assert answer.attributes["XOR-MAPPED-ADDRESS"] == address
            endpoint = mux_socket.endpoint_at(address)
            assert endpoint is not None
            # the address belongs to Alice's connection, beside the one it has been using
            alice_address = aiortc_glue.ice_local_addresses(alice.publish_pc)[0]
            assert mux_socket.endpoint_at(alice_address) is endpoint
            packets = bob.taps[video_mid].packets
            await asyncio.sleep(1.0)
            assert bob.taps[video_mid].packets > packets + 10
        finally:
            moved.close()
            await alice.close()
            await bob.close()


@pytest.mark.in_process
async def test_a_nominated_check_from_a_new_address_moves_the_connection() -> None:
    """The publisher's address changes (a NAT rebinding): a valid check with USE-CANDIDATE
    from the new address, answered both ways, makes aioice (the controlled side) nominate the
    new pair, and the SFU's RTCP to the publisher leaves for the new address, through the
    mux, as aioice on its own socket would."""
    async with running_server() as srv:
        mux = srv.app[WORKER].worker.udp_mux
        assert mux is not None
        target = ("127.0.0.1", mux.port)
        alice, bob, _, video_mid = await _media_and_peers(srv)
        moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        moved.bind(("127.0.0.1", 0))
        moved.settimeout(0.5)
        loop = asyncio.get_running_loop()
        try:
            sfu_ufrag, sfu_pwd = _ice_credentials(alice.publish_pc.remoteDescription.sdp)
            alice_ufrag, alice_pwd = _ice_credentials(alice.publish_pc.localDescription.sdp)
            moved.sendto(_binding(f"{sfu_ufrag}:{alice_ufrag}", sfu_pwd.encode(),
                                  use_candidate=True), target)
            answered = srtcp = 0
            deadline = loop.time() + 6
            while loop.time() < deadline and not srtcp:
                try:
                    data, _ = await loop.run_in_executor(None, moved.recvfrom, 2048)
                except TimeoutError:
                    continue
                if data[0] < 4:
                    message = aioice.stun.parse_message(data)
                    if message.message_class == aioice.stun.Class.REQUEST:
                        # the SFU's triggered check to the new address: answer it as Alice
                        assert message.attributes["USERNAME"] == f"{alice_ufrag}:{sfu_ufrag}"
                        reply = aioice.stun.Message(
                            message_method=aioice.stun.Method.BINDING,
                            message_class=aioice.stun.Class.RESPONSE,
                            transaction_id=message.transaction_id)
                        reply.attributes["XOR-MAPPED-ADDRESS"] = moved.getsockname()
                        reply.add_message_integrity(alice_pwd.encode())
                        moved.sendto(bytes(reply), target)
                        answered += 1
                elif 127 < data[0] < 192:
                    srtcp += 1  # the SFU's SRTCP to Alice, now sent to the new address
            assert answered >= 1 and srtcp >= 1, (answered, srtcp)
            # Alice's media from her old address still reaches Bob
            packets = bob.taps[video_mid].packets
            await asyncio.sleep(1.0)
            assert bob.taps[video_mid].packets > packets + 10
        finally:
            moved.close()
            await alice.close()
            await bob.close()


@pytest.mark.in_process
async def test_a_taken_port_stops_the_start_and_per_connection_keeps_the_old_sockets() -> None:
    async with running_server() as srv:
        mux = srv.app[WORKER].worker.udp_mux
        assert mux is not None
        with pytest.raises(MuxError, match=f"cannot bind UDP 127.0.0.1 port {mux.port}"):
            async with running_server(rtc_port=mux.port):
                pass
    # ROSTRUM_RTC_PORT=per-connection: aioice's socket per connection, as before the mux
    async with running_server(rtc_port=None) as srv:
        assert srv.app[WORKER].worker.udp_mux is None
        alice, bob, _, _ = await _media_and_peers(srv)
        try:
            ports = _host_ports(alice.publish_pc.remoteDescription.sdp) | \
                _host_ports(bob.subscribe_pc.remoteDescription.sdp)
            assert len(ports) == 2, ports  # one socket each
        finally:
            await alice.close()
            await bob.close()


async def test_an_announced_address_is_what_peers_connect_to() -> None:
    """A worker behind NAT: the mux binds the wildcard and its host candidate names the
    announced address (here loopback, which reaches the wildcard socket). A real aiortc peer
    connects to it and data flows both ways over DTLS/SCTP."""
    aiortc_glue.restrict_host_addresses(["127.0.0.1"])  # the peer's own candidates
    mux = UdpMux(["0.0.0.0"], 0, "127.0.0.1")
    await mux.start()
    server = aiortc_glue.create_peer_connection((), mux)
    peer = aiortc_glue.create_peer_connection(())
    try:
        channel = server.createDataChannel("probe")
        opened = asyncio.Event()
        heard: asyncio.Queue[str] = asyncio.Queue()
        channel.on("open", opened.set)

        @peer.on("datachannel")
        def on_channel(remote: Any) -> None:
            remote.on("message", lambda message: remote.send(f"echo {message}"))

        channel.on("message", heard.put_nowait)
        await server.setLocalDescription(await server.createOffer())
        offer = server.localDescription.sdp
        assert _host_ports(offer) == {mux.port}
        hosts = set(re.findall(r"a=candidate:\S+ 1 udp \d+ (\S+) \d+ typ host", offer))
        assert hosts == {"127.0.0.1"}, offer  # announced, not the bound 0.0.0.0
        assert mux.sockets[0].address == ("0.0.0.0", mux.port)
        await peer.setRemoteDescription(server.localDescription)
        await peer.setLocalDescription(await peer.createAnswer())
        await server.setRemoteDescription(peer.localDescription)
        await asyncio.wait_for(opened.wait(), 10)
        channel.send("hello")
        assert await asyncio.wait_for(heard.get(), 10) == "echo hello"
        stats = mux.snapshot()
        assert stats.received_media > 0 and stats.sent > 0 and stats.received_stun > 0
    finally:
        await peer.close()
        await server.close()
        await mux.close()


async def test_metrics_show_the_port_counters() -> None:
    async with running_server() as srv:
        alice, bob, _, _ = await _media_and_peers(srv)
        try:
            mux = srv.app[WORKER].worker.udp_mux
            assert mux is not None
            async with aiohttp.ClientSession() as http:
                text = await (await http.get(f"{srv.base_url}/metrics")).text()
            found = dict(re.findall(
                r'rostrum_worker_udp_(datagrams_total\{[^}]*direction="(?:in|out)",'
                r'kind="\w+"\}|dropped_total\{[^}]*reason="\w+"\}) (\d+)', text))
            media_in = [int(v) for k, v in found.items() if 'kind="media"' in k]
            sent = [int(v) for k, v in found.items() if 'direction="out"' in k]
            assert media_in and media_in[0] > 20 and sent and sent[0] > 20, text
            reasons = {re.search(r'reason="(\w+)"', k).group(1)  # type: ignore[union-attr]
                       for k in found if k.startswith("dropped")}
            assert reasons == {"unknown_address", "not_stun", "unknown_ufrag", "bad_integrity",
                               "unknown_transaction", "overload"}
            before = mux.stats().unknown_address
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stranger.sendto(b"\x80" + bytes(30), ("127.0.0.1", mux.port))
            stranger.close()
            await bob.wait_for(lambda: mux.stats().unknown_address > before,
                               what="the stranger's datagram dropped")
            async with aiohttp.ClientSession() as http:
                text = await (await http.get(f"{srv.base_url}/metrics")).text()
            line = re.search(r'rostrum_worker_udp_dropped_total\{[^}]*'
                             r'reason="unknown_address"\} (\d+)', text)
            assert line is not None and int(line.group(1)) >= before + 1
        finally:
            await alice.close()
            await bob.close()
