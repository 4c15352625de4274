"""The webcast's files in memory: 2,000 viewers ask for the same few files every two seconds
(the newest segment of each rendition, the live playlists), so each is read from disk once.

Segments and init segments never change once listed: cached by path. Playlists change: cached
by path and modification time (one ``stat`` per request, no read). Least recently used
entries go past ``max_bytes``. A miss reads the file in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from pathlib import Path

MAX_FILE_BYTES = 8 * 1024 * 1024


class FileCache:
    def __init__(self, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Path, tuple[int, bytes]] = OrderedDict()

    async def read(self, path: Path, immutable: bool) -> bytes | None:
        """The file's bytes, or None when it does not exist (or is too big to keep)."""
        entry = self._entries.get(path)
        if entry is not None and immutable:
            self._entries.move_to_end(path)
            self.hits += 1
            return entry[1]
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if entry is not None and entry[0] == stat.st_mtime_ns:
            self._entries.move_to_end(path)
            self.hits += 1
            return entry[1]
        if stat.st_size > MAX_FILE_BYTES:
            return None
        self.misses += 1
        try:
            data = await asyncio.get_running_loop().run_in_executor(None, path.read_bytes)
        except OSError:
            return None
        self._put(path, stat.st_mtime_ns, data)
        return data

    def _put(self, path: Path, mtime: int, data: bytes) -> None:
        old = self._entries.pop(path, None)
        if old is not None:
            self.size -= len(old[1])
        self._entries[path] = (mtime, data)
        self.size += len(data)
        while self.size > self.max_bytes and self._entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= len(dropped)

    def forget(self, folder: Path) -> None:
        """A deleted archive: nothing of it stays in memory."""
        for path in [p for p in self._entries if folder in p.parents]:
            self.size -= len(self._entries.pop(path)[1])
