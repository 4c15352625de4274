"""meeting_server/broadcast.py: a room's broadcast goes out CHUNK sockets per turn of the
event loop, to every socket once, in the order the broadcasts were made. A real
python-socketio server and manager; engine.io's send is where the packets are recorded."""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Any

import socketio

from meeting_server.broadcast import CHUNK, ChunkedEmits


class Recorder:
    """engine.io's ``send_packet``: notes each packet with the loop turn it was sent in."""

    def __init__(self) -> None:
        self.turn = 0
        self.sent: list[tuple[int, str, Any]] = []  # (turn, eio sid, event payload)

    async def send_packet(self, eio_sid: str, pkt: Any) -> None:
        body = pkt.data if isinstance(pkt.data, str) else str(pkt.data)
        self.sent.append((self.turn, eio_sid, json.loads(body[body.index("["):])))

    async def tick(self) -> None:
        while True:
            self.turn += 1
            await asyncio.sleep(0)


async def room_of(size: int) -> tuple[socketio.AsyncServer, ChunkedEmits, Recorder, list[str]]:
    manager = ChunkedEmits()
    server = socketio.AsyncServer(client_manager=manager, async_mode="aiohttp")
    recorder = Recorder()
    server.eio.send_packet = recorder.send_packet  # type: ignore[method-assign]
    manager.initialize()
    sids = []
    for n in range(size):
        sid = await manager.connect(f"eio{n}", "/room")
        await manager.enter_room(sid, "/room", "m1")
        sids.append(sid)
    return server, manager, recorder, sids


async def test_a_large_rooms_broadcast_goes_out_in_chunks_in_order() -> None:
    server, manager, recorder, sids = await room_of(3 * CHUNK + 5)
    ticker = asyncio.ensure_future(recorder.tick())
    try:
        skipped = manager.eio_sid_from_sid(sids[7], "/room")
        await asyncio.gather(
            server.emit("presence", {"n": 1}, room="m1", namespace="/room", skip_sid=sids[7]),
            server.emit("presence", {"n": 2}, room="m1", namespace="/room"))
    finally:
        ticker.cancel()
    per_socket = collections.defaultdict(list)
    per_turn: collections.Counter[int] = collections.Counter()
    for turn, eio_sid, payload in recorder.sent:
        per_socket[eio_sid].append(payload[1]["n"])
        per_turn[turn] += 1
    assert len(per_socket) == len(sids)
    for eio_sid, seen in per_socket.items():
        assert seen == ([2] if eio_sid == skipped else [1, 2]), (eio_sid, seen)
    assert max(per_turn.values()) <= CHUNK  # never the whole room in one turn
    assert len(per_turn) >= 2 * 4  # two broadcasts of four chunks each
    assert not manager._room_locks  # nothing kept once the broadcasts are out


async def test_a_small_room_and_a_single_socket_are_sent_as_python_socketio_does() -> None:
    server, manager, recorder, sids = await room_of(CHUNK)
    await server.emit("presence", {"n": 1}, room="m1", namespace="/room")
    await server.emit("slots", {"n": 2}, to=sids[0], namespace="/room")
    assert len(recorder.sent) == CHUNK + 1
    assert len({turn for turn, _, _ in recorder.sent}) == 1  # no ticker: no turn counted
    assert recorder.sent[-1][1] == manager.eio_sid_from_sid(sids[0], "/room")
