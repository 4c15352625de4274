"""Typed payloads of every client→server event, validated before anything changes.

Every payload model subclasses `Payload`, and inherits its rules: strict types (no coercion:
``"yes"`` is not a bool, ``"10"`` is not a number, ``0`` is not false), no unknown fields, no
NaN or infinity. `parse` also refuses, before the model sees it, any payload nested deeper
than `MAX_DEPTH` or holding a string over `MAX_SDP` bytes, so a model that forgot a limit
still cannot be handed a megabyte. tests/unit/test_schemas.py checks that every string, list
and mapping field of every Payload subclass has a maximum length.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RostrumError

MAX_SDP = 64 * 1024
MAX_DEPTH = 8  # no event payload nests deeper than an object of lists of objects


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              strict=True, allow_inf_nan=False)


class Empty(Payload):
    pass


class JoinPayload(Payload):
    name: str = Field(min_length=1, max_length=80)
    organization: str = Field(default="", max_length=120)
    memberState: str = Field(default="", max_length=80)
    # absent: no preference; present: 2-8 characters, a language code
    language: str = Field(default="", min_length=2, max_length=8,
                          pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


class ResumePayload(Payload):
    # the join ack's resume key (secrets.token_urlsafe(24): 32 characters)
    key: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class MediaStatePayload(Payload):
    audio: bool
    video: bool


class PublishPayload(Payload):
    sdp: str = Field(min_length=1, max_length=MAX_SDP)
    sources: dict[Annotated[str, Field(max_length=32)],
                  Literal["mic", "camera", "camera-low", "screen"]] = Field(
        min_length=1, max_length=4)


class SubscribeAnswerPayload(Payload):
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class VideoPayload(Payload):
    enabled: bool


class ScreenSharePayload(Payload):
    sharing: bool


class PinPayload(Payload):
    participantId: str | None = Field(default=None, max_length=64)


P = TypeVar("P", bound=Payload)


def parse(model: type[P], data: Any) -> P:
    """Validate an event payload; RostrumError(bad-request / too-large) names the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RostrumError("bad-request", "payload must be a JSON object")
    _check_shape(data, "payload", 0)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        if first.get("type") in ("string_too_long", "too_long"):
            raise RostrumError("too-large", f"{where}: {first.get('msg')}") from None
        raise RostrumError("bad-request", f"{where}: {first.get('msg')}") from None


def _check_shape(value: Any, where: str, depth: int) -> None:
    """Refuse what no event needs, whatever its model says: deep nesting, huge strings."""
    if depth > MAX_DEPTH:
        raise RostrumError("bad-request", f"{where}: nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        if len(value) > MAX_SDP or len(value.encode("utf-8", "replace")) > MAX_SDP:
            raise RostrumError("too-large", f"{where} is over {MAX_SDP} bytes")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_shape(key, where, depth + 1)
            _check_shape(item, f"{where}.{key}" if depth else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_shape(item, f"{where}.{index}", depth + 1)


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
    order: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(max_length=2000)


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
