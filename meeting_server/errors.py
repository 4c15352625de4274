"""The error every event answers with when it fails (docs/protocol.md, "Error codes")."""

from __future__ import annotations

from typing import Any

CODES = (
    "bad-request", "too-large", "unknown-event", "unauthorized", "forbidden", "not-joined",
    "not-found", "conflict", "bad-sdp", "meeting-closed", "internal", "rate-limited",
    # the meeting's media worker died during the request (sfu/worker_client.py)
    "media-restarting",
    # interpretation (interpretation/errors.py)
    "invalid-language", "unknown-language", "invalid-participant", "invalid-level",
    "not-in-booth", "already-assigned", "booth-busy", "not-live", "no-handover",
    # chat (meeting_server/chat_rules.py)
    "rate-limited",
    # several control-plane nodes (meeting_server/cluster.py): connect refusals
    "moved", "unavailable",
)


class RostrumError(Exception):
    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def to_ack(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}
