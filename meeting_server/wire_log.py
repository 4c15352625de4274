"""The logger handed to engine.io, Socket.IO and aiohttp's HTTP parser.

Anyone who can open a socket can send a malformed frame or request line; each would otherwise
leave a traceback (about 25 lines) in the log. Through this logger a client's malformed input
costs at most one line per interval, with no traceback and a count of what was suppressed;
the traceback stays available at DEBUG. Exceptions that are not the client's fault (a bug of
ours, say) are logged in full, as before.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["WireLog", "always_client_fault"]


def always_client_fault(exc: BaseException | None) -> bool:
    return True


class WireLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter: lines below WARNING go to DEBUG (engine.io reports every packet at
    INFO); a warning, error or exception whose cause ``client_fault`` accepts is written at
    most once per ``interval_s`` as one WARNING line."""

    def __init__(self, logger: logging.Logger, what: str, interval_s: float = 10.0,
                 client_fault: Callable[[BaseException | None], bool] = always_client_fault,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logger, {})
        self.what = what
        self.interval_s = interval_s
        self.client_fault = client_fault
        self.clock = clock
        self.suppressed = 0
        self.written = 0
        self._last: float | None = None

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level < logging.WARNING:
            if self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug(msg, *args, **kwargs)
            return
        exc = _exception_of(kwargs.get("exc_info"))
        if kwargs.get("exc_info") and not self.client_fault(exc):
            self.logger.log(level, msg, *args, **kwargs)  # ours: the whole traceback
            return
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(msg, *args, **kwargs)
        now = self.clock()
        if self._last is not None and now - self._last < self.interval_s:
            self.suppressed += 1
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        if exc is not None:
            text += f": {type(exc).__name__}: {str(exc)[:120]}"
        more = (f" ({self.suppressed} more like it in the last {now - self._last:.0f} s)"
                if self.suppressed and self._last is not None else "")
        self.logger.warning("%s: %s%s", self.what, text[:300], more)
        self._last = now
        self.suppressed = 0
        self.written += 1


def _exception_of(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        value = exc_info[1]
        return value if isinstance(value, BaseException) else None
    if exc_info:
        return sys.exc_info()[1]
    return None
