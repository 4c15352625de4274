"""Typed payloads of every client→server event, validated before anything changes."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RostrumError

MAX_SDP = 64 * 1024


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Empty(Payload):
    pass


class JoinPayload(Payload):
    name: str = Field(min_length=1, max_length=80)
    organization: str = Field(default="", max_length=120)
    memberState: str = Field(default="", max_length=80)
    language: str = Field(default="", max_length=8, pattern=r"^([a-z]{2,3}(-[A-Za-z]{2,4})?)?$")


class MediaStatePayload(Payload):
    audio: bool
    video: bool


class PublishPayload(Payload):
    sdp: str = Field(min_length=1)
    sources: dict[str, Literal["mic", "camera", "camera-low", "screen"]] = Field(
        min_length=1, max_length=4)


class SubscribeAnswerPayload(Payload):
    sdp: str = Field(min_length=1)


class VideoPayload(Payload):
    enabled: bool


class PinPayload(Payload):
    participantId: str | None = Field(default=None, max_length=64)


P = TypeVar("P", bound=Payload)


def parse(model: type[P], data: Any) -> P:
    """Validate an event payload; RostrumError(bad-request / too-large) names the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RostrumError("bad-request", "payload must be a JSON object")
    sdp = data.get("sdp")
    if isinstance(sdp, str) and len(sdp.encode("utf-8", "replace")) > MAX_SDP:
        raise RostrumError("too-large", f"sdp is over {MAX_SDP} bytes")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        if first.get("type") in ("string_too_long", "too_long"):
            raise RostrumError("too-large", f"{where}: {first.get('msg')}") from None
        raise RostrumError("bad-request", f"{where}: {first.get('msg')}") from None


# floor control (/floor)

class FloorRequestPayload(Payload):
    kind: Literal["intervention", "point-of-order", "right-of-reply"] = "intervention"
    note: str = Field(default="", max_length=200)
    language: str = Field(default="", max_length=8)


class RequestIdPayload(Payload):
    requestId: str = Field(min_length=1, max_length=40)


class GrantPayload(Payload):
    requestId: str | None = Field(default=None, max_length=40)
    participantId: str | None = Field(default=None, max_length=64)
    # seconds; absent: the meeting's default; 0: no limit
    limitS: float | None = Field(default=None, ge=0, le=3600)
    language: str = Field(default="", max_length=8)


class DenyPayload(Payload):
    requestId: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=200)


class ReorderPayload(Payload):
    order: list[str] = Field(max_length=2000)


class ExtendPayload(Payload):
    seconds: float = Field(ge=-3600, le=3600)


class FloorSettingsPayload(Payload):
    defaultLimitS: float | None = Field(default=None, ge=0, le=3600)
    closeOnExpiry: bool | None = None


class MutePayload(Payload):
    participantId: str = Field(min_length=1, max_length=64)
    muted: bool = True


class RightsPayload(Payload):
    participantId: str = Field(min_length=1, max_length=64)
    enabled: bool


class LockPayload(Payload):
    locked: bool


class ParticipantPayload(Payload):
    participantId: str = Field(min_length=1, max_length=64)


class HandsOpenPayload(Payload):
    text: str = Field(min_length=1, max_length=300)
    mode: Literal["participant", "member-state"] = "participant"


class HandsAnswerPayload(Payload):
    questionId: str = Field(min_length=1, max_length=64)
    answer: Literal["yes", "no", "abstain"]


class QuestionPayload(Payload):
    questionId: str = Field(min_length=1, max_length=64)


# interpretation (/interpretation)

class AssignPayload(Payload):
    participantId: str = Field(min_length=1, max_length=64)
    language: str | None = Field(default=None, max_length=8)  # None: out of any booth


class HandoverPayload(Payload):
    to: str | None = Field(default=None, max_length=64)


class OnPayload(Payload):
    on: bool


class MicOpenPayload(Payload):
    open: bool


class IncomingPayload(Payload):
    source: str = Field(min_length=1, max_length=8)


class ListenPayload(Payload):
    channel: str = Field(min_length=1, max_length=8)
    floorUnder: float = Field(default=0.0, ge=0.0, le=1.0)
