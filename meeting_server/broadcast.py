"""Room broadcasts that never hold the event loop for a whole room (issue 14).

python-socketio sends an event to a room in one go: a task per socket, and then every socket's
writer frames and writes its copy in the same turn of the event loop. With 300 listeners each
join's ``presence`` reached 300 sockets in one turn (50–90 ms of the loop on this machine,
bench/loopwatch.py), while the SFU forwarding on the same loop and every other answer waited.
Here an event for more than ``CHUNK`` sockets goes out ``CHUNK`` sockets at a time, with the
loop's other work in between. One room's broadcasts are sent one after another, in the order
they were made (a room's lock), so every socket still sees them in order. Emits with an
acknowledgement callback, and small rooms, are python-socketio's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

CHUNK = 32


class ChunkedEmits(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's client manager, broadcasting to large rooms ``CHUNK`` at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a room's lock while it has a broadcast in chunks, and how many use it
        self._room_locks: dict[tuple[str, Any], tuple[asyncio.Lock, list[int]]] = {}

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        room = to or room
        send = super().emit
        if callback is not None or namespace not in self.rooms:
            await send(event, data, namespace, room=room, skip_sid=skip_sid,
                       callback=callback, **kwargs)
            return
        skipped = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        sids = [sid for sid, _ in self.get_participants(namespace, room) if sid not in skipped]
        key = (namespace, room if room is None or isinstance(room, str) else tuple(room))
        entry = self._room_locks.get(key)
        if len(sids) <= CHUNK and entry is None:
            await send(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        if entry is None:
            entry = self._room_locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                for start in range(0, len(sids), CHUNK):
                    await asyncio.gather(*(send(event, data, namespace, room=sid, **kwargs)
                                           for sid in sids[start:start + CHUNK]))
        finally:
            users[0] -= 1
            if not users[0]:
                del self._room_locks[key]


class ChunkedRedisEmits(socketio.AsyncRedisManager, ChunkedEmits):  # type: ignore[misc]
    """The same over Redis (several nodes): each node sends to its own sockets in chunks."""
