"""Collector: how Python's garbage collector runs in a process that serves media (issue 14).

A full collection walks every tracked object while it holds the GIL, the event loop's thread
included: with a few hundred listeners (each connection keeps about a thousand objects: aiortc's
transceivers, ICE and DTLS state, the SFU's consumers) one pass held the loop for 120–540 ms
(bench/loopwatch.py, N = 100), and CPython runs one each time the older generation has grown by
a quarter, so several during a burst of joins. What a connection keeps lives as long as the
connection, so the collector is told to leave it alone:

- at start-up (after a full collection), and whenever a connection is up (``connected``,
  after collecting the youngest generation: at most ~700 objects), everything tracked is
  frozen (``gc.freeze``: moved to the permanent generation, which no pass walks; it costs a
  list splice). A full pass then walks only what was made since. (Collecting the two young
  generations before each freeze cost 15–25 ms a join at N = 300: the middle one's garbage
  is frozen with the rest, and freed at the next release.)
- cycles in frozen objects are not collected while they stay frozen: after as many
  connections have closed as a quarter of those frozen (at least ``release_min``), everything
  is unfrozen (``gc.unfreeze``) and the next full pass frees what the closed connections left;
  the next connection freezes the survivors again. Leaves cost one full pass per quarter of
  the meeting leaving, instead of joins costing several.

Only a process's entry point installs it (the server's ``__main__``, a worker process's main):
it is process-wide, and tests and benches that run routers in-process keep CPython's defaults.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from .events import TransportStateChanged

logger = logging.getLogger(__name__)


class Collector:
    def __init__(self, release_share: float = 0.25, release_min: int = 16) -> None:
        if not 0 < release_share <= 1 or release_min < 1:
            raise ValueError("release_share in (0, 1], release_min at least 1")
        self.release_share = release_share
        self.release_min = release_min
        self.up: set[tuple[str, str]] = set()  # (meeting, transport) connected, not closed
        self.closed_since_release = 0
        self.freezes = 0
        self.releases = 0

    def start(self) -> None:
        """After start-up: modules, classes and the services made by then stay out of the
        collector's full passes."""
        gc.collect()
        gc.freeze()
        self.freezes += 1

    def on_event(self, event: Any) -> None:
        """A worker's router event (``Worker.event_listeners``)."""
        if not isinstance(event, TransportStateChanged):
            return
        key = (event.meeting_id, event.transport_id)
        if event.state == "connected" and key not in self.up:
            self.up.add(key)
            gc.collect(0)  # the youngest generation's garbage is not frozen with the rest
            gc.freeze()
            self.freezes += 1
        elif event.state in ("closed", "failed") and key in self.up:
            self.up.discard(key)
            self.closed_since_release += 1
            if self.closed_since_release >= max(self.release_min,
                                                self.release_share * len(self.up)):
                # (not gc.get_freeze_count(): it walks every frozen object)
                logger.info("collector: %d connections closed: unfreezing",
                            self.closed_since_release)
                gc.unfreeze()
                self.releases += 1
                self.closed_since_release = 0
