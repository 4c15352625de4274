"""What the HTTP server logs: an access log with no secret in it, and one rate-limited line
(no traceback) for a malformed request.

aiohttp's default access log writes the request line as sent, so every join link's token
(`/m/{id}?t=...`), every record export's token and engine.io's session id would land in the
log. Here query values that are credentials are replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from .wire_log import WireLog

__all__ = ["SECRET_QUERY_KEYS", "AccessLog", "handler_args", "redacted_target"]

# t: invite token; token: the same by another name; sid: engine.io session (a bearer secret
# for the polling transport)
SECRET_QUERY_KEYS = frozenset({"t", "token", "sid", "access_token"})


def redacted_target(request: BaseRequest) -> str:
    """The request's path and query with every credential value replaced."""
    path = quote(request.path, safe="/%:@!$&'()*+,;=-._~")
    if not request.query:
        return path
    parts = [f"{quote(k)}=[redacted]" if k.lower() in SECRET_QUERY_KEYS
             else f"{quote(k)}={quote(v)}" for k, v in request.query.items()]
    return path + "?" + "&".join(parts)


class AccessLog(AbstractAccessLogger):
    """``remote "METHOD target HTTP/x.y" status bytes seconds "user agent"``."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        version = f"{request.version.major}.{request.version.minor}"
        agent = request.headers.get("User-Agent", "-")[:200]
        self.logger.info('%s "%s %s HTTP/%s" %s %s %.3f "%s"', request.remote or "-",
                         request.method, redacted_target(request), version,
                         response.status, response.body_length, time, agent)


def _client_fault(exc: BaseException | None) -> bool:
    """A malformed request line or header, or an engine.io packet that does not decode (the
    websocket handler of engine.io lets its decoder's ValueError out into aiohttp)."""
    if isinstance(exc, HttpProcessingError):
        return True
    if isinstance(exc, ValueError) and exc.__traceback__ is not None:
        frames = traceback.extract_tb(exc.__traceback__)
        return bool(frames) and Path(frames[-1].filename).parts[-2:] == ("engineio",
                                                                          "packet.py")
    return False


def handler_args() -> dict[str, Any]:
    """aiohttp's per-connection handler settings (`web.Application(handler_args=...)`), so
    every runner of the app (run_app, the tests' AppRunner) logs the same way."""
    return {
        "access_log_class": AccessLog,
        "logger": WireLog(logging.getLogger("aiohttp.server"), "malformed HTTP request",
                          client_fault=_client_fault),
    }
