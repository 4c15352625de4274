"""Every event payload model inherits strictness and has a limit on every string and list."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from annotated_types import MaxLen
from pydantic.fields import FieldInfo

import meeting_server.app  # noqa: F401  (imports every module that defines payloads)
from meeting_server.errors import RostrumError
from meeting_server.schemas import (
    MAX_SDP,
    ExtendPayload,
    JoinPayload,
    LockPayload,
    MediaStatePayload,
    Payload,
    ReorderPayload,
    parse,
)


def all_payload_models() -> list[type[Payload]]:
    found, pending = [], list(Payload.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


MODELS = all_payload_models()


def has_max(metadata: list[Any]) -> bool:
    return any(isinstance(m, MaxLen) for m in metadata)


def unbounded(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """The places under ``annotation`` that hold a string, list or mapping with no limit."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner, *extra = args
        return unbounded(inner, [*metadata, *extra], where)
    for extra in metadata:
        if isinstance(extra, FieldInfo):
            metadata = [*metadata, *extra.metadata]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [p for a in args if a is not type(None) for p in unbounded(a, metadata, where)]
    if origin is typing.Literal or annotation in (bool, int, float, type(None)):
        return []
    if annotation is str:
        return [] if has_max(metadata) else [where]
    if origin in (list, tuple, set, frozenset):
        own = [] if has_max(metadata) else [where]
        return own + [p for a in args if a is not Ellipsis for p in unbounded(a, [], where + "[]")]
    if origin is dict:
        own = [] if has_max(metadata) else [where]
        key, value = args
        return own + unbounded(key, [], where + "{key}") + unbounded(value, [], where + "{}")
    if isinstance(annotation, type) and issubclass(annotation, Payload):
        return []  # checked on its own
    return [f"{where}: unchecked type {annotation!r}"]


def test_models_are_found() -> None:
    assert JoinPayload in MODELS and ReorderPayload in MODELS and len(MODELS) > 20


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_payload_model_is_strict_and_closed(model: type[Payload]) -> None:
    config = model.model_config
    assert config.get("strict") is True, "a payload model turned strict mode off"
    assert config.get("extra") == "forbid"
    assert config.get("allow_inf_nan") is False


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_string_list_and_mapping_has_a_maximum(model: type[Payload]) -> None:
    problems = []
    for name, info in model.model_fields.items():
        problems += unbounded(info.annotation, list(info.metadata), f"{model.__name__}.{name}")
    assert not problems, problems


@pytest.mark.parametrize("payload", [
    {"audio": "yes", "video": 0}, {"audio": 1, "video": 0}, {"audio": None, "video": False},
    {"audio": "true", "video": "false"}, {"audio": [True], "video": False},
])
def test_booleans_are_not_coerced(payload: dict[str, Any]) -> None:
    with pytest.raises(RostrumError) as err:
        parse(MediaStatePayload, payload)
    assert err.value.code == "bad-request"


@pytest.mark.parametrize("payload", [
    {"seconds": "10"}, {"seconds": True}, {"seconds": float("nan")}, {"seconds": float("inf")},
])
def test_numbers_are_not_coerced(payload: dict[str, Any]) -> None:
    with pytest.raises(RostrumError) as err:
        parse(ExtendPayload, payload)
    assert err.value.code == "bad-request"
    assert parse(ExtendPayload, {"seconds": 10}).seconds == 10.0  # an integer is a number


def test_lock_takes_only_a_boolean() -> None:
    for bad in ("1", 1, "true", None):
        with pytest.raises(RostrumError):
            parse(LockPayload, {"locked": bad})
    assert parse(LockPayload, {"locked": True}).locked is True


@pytest.mark.parametrize("language,ok", [
    ("", False), ("e", False), ("en", True), ("fr-CA", True), ("zh-Hans", True),
    ("abcdefghi", False), ("EN", False),
])
def test_join_language_is_two_to_eight_characters(language: str, ok: bool) -> None:
    if ok:
        assert parse(JoinPayload, {"name": "A", "language": language}).language == language
    else:
        with pytest.raises(RostrumError):
            parse(JoinPayload, {"name": "A", "language": language})
    assert parse(JoinPayload, {"name": "A"}).language == ""  # absent: no preference


def test_a_huge_string_in_a_list_is_too_large() -> None:
    with pytest.raises(RostrumError) as err:
        parse(ReorderPayload, {"order": ["x" * 100_000]})
    assert err.value.code == "too-large"
    with pytest.raises(RostrumError) as err:
        parse(ReorderPayload, {"order": ["x" * 41]})
    assert err.value.code == "too-large"


def test_any_huge_string_is_too_large_before_the_model_sees_it() -> None:
    with pytest.raises(RostrumError) as err:
        parse(JoinPayload, {"name": "A", "admin": "x" * (MAX_SDP + 1)})
    assert err.value.code == "too-large"


def test_deep_nesting_is_refused() -> None:
    deep: Any = "x"
    for _ in range(50):
        deep = [deep]
    with pytest.raises(RostrumError) as err:
        parse(ReorderPayload, {"order": deep})
    assert err.value.code == "bad-request"
