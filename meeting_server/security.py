"""Security headers on every HTTP response (an aiohttp middleware).

The meeting page runs only the project's own ES modules: no inline script, no eval, no
framing by another site, no Referer (a join link carries its token), and the powerful
features limited to what a meeting uses (microphone, camera, screen sharing, autoplay).
The page's context block is ``<script type="application/json">``: data, never run, so it
needs no CSP exception (tests/browser/test_access_browser.py checks the page reports no
violation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["CONTENT_SECURITY_POLICY", "PERMISSIONS_POLICY", "security_headers"]

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = ", ".join([
    "microphone=(self)", "camera=(self)", "display-capture=(self)", "autoplay=(self)",
    "fullscreen=(self)", "geolocation=()", "payment=()", "usb=()", "serial=()", "hid=()",
    "bluetooth=()", "midi=()", "magnetometer=()", "gyroscope=()", "accelerometer=()",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# the meeting page and the records carry a token in their address: never cache them
NO_STORE_PREFIXES = ("/m/", "/api/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # error pages carry the headers too
        _add(request, exc)
        raise
    _add(request, response)
    return response


def _add(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a websocket or a streamed file already sent its headers
        return
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(NO_STORE_PREFIXES):
        # pages and answers that may carry a token are never cached, unless the handler
        # chose a cache policy itself (the webcast's segments and playlists carry no token:
        # access is a cookie, so a CDN may cache them)
        response.headers.setdefault("Cache-Control", "no-store")
