"""The boundary's wire format: every command, result and event as a length-prefixed JSON
frame, and back. Pure: bytes in, values out; no sockets.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON:
``{"type": <class name>, <field>: <value>, ...}``. Values are checked against the dataclass's
field types with no coercion (a string where an int belongs is refused), tuples travel as
lists, frozensets as sorted lists, a ``MediaPlan`` in its own dict form. Anything that does
not decode raises ``WireError`` and yields nothing. This is what a worker process and the
control plane will exchange over a Unix socket (docs/architecture.md, "The control–media
boundary").
"""

from __future__ import annotations

import dataclasses
import functools
import json
import struct
import types
import typing
from typing import Any

from . import commands, events
from .plan import ChannelFeed, MediaPlan, PlanError

MAX_FRAME = 1 << 20  # an SDP is at most 64 KiB; a 600-person plan about 10 KiB
_LENGTH = struct.Struct(">I")
HEADER = _LENGTH.size


class WireError(ValueError):
    """Bytes or a dict that are not a value of the boundary's table."""


def _registry() -> dict[str, type]:
    out: dict[str, type] = {}
    for module in (commands, events):
        for name in dir(module):
            cls = getattr(module, name)
            if isinstance(cls, type) and dataclasses.is_dataclass(cls) \
                    and cls.__module__ == module.__name__:
                out[cls.__name__] = cls
    return out


TYPES = _registry()  # immutable after import: class name -> dataclass


def to_wire(value: Any) -> dict[str, Any]:
    """A command, result or event as its JSON-compatible dict (with ``type``)."""
    if type(value).__name__ not in TYPES or TYPES[type(value).__name__] is not type(value):
        raise WireError(f"not a boundary value: {type(value).__name__}")
    out: dict[str, Any] = _encode(value)
    return out


def _encode(value: Any) -> Any:
    if isinstance(value, MediaPlan):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise WireError(f"cannot carry {type(value).__name__}")


def from_wire(data: Any) -> Any:
    """The value a ``to_wire`` dict stands for; ``WireError`` if it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise WireError("a boundary value is an object with a type")
    cls = TYPES.get(data["type"])
    if cls is None:
        raise WireError(f"unknown type {data['type']!r}")
    return _decode_dataclass(cls, data)


def _decode_dataclass(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise WireError(f"{cls.__name__}: an object was expected")
    hints, names = _fields(cls)
    extra = set(data) - set(names) - {"type"}
    if extra:
        raise WireError(f"{cls.__name__}: unknown fields {sorted(extra)}")
    kwargs = {}
    for name in names:
        if name not in data:
            raise WireError(f"{cls.__name__}: missing {name}")
        kwargs[name] = _decode(hints[name], data[name], f"{cls.__name__}.{name}")
    try:
        return cls(**kwargs)
    except (PlanError, ValueError, TypeError) as exc:
        raise WireError(f"{cls.__name__}: {exc}") from None


@functools.cache
def _fields(cls: type) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A dataclass's field types and init fields (resolved once: a worker decodes every
    command it is sent)."""
    return (typing.get_type_hints(cls),
            tuple(f.name for f in dataclasses.fields(cls) if f.init))


@functools.cache
def _union(hint: Any) -> tuple[tuple[Any, ...], dict[str, type], bool]:
    """A union's options, its dataclasses by name, and whether it is only dataclasses (and
    None)."""
    options = typing.get_args(hint)
    classes = {o.__name__: o for o in options
               if isinstance(o, type) and dataclasses.is_dataclass(o)}
    return options, classes, len(classes) == len([o for o in options if o is not type(None)])


def _decode(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is MediaPlan:
        try:
            return MediaPlan.from_dict(value)
        except PlanError as exc:
            raise WireError(f"{where}: {exc}") from None
    if hint is ChannelFeed or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        if isinstance(value, dict) and value.get("type") not in (None, hint.__name__):
            raise WireError(f"{where}: a {hint.__name__} was expected")
        return _decode_dataclass(hint, value)
    if origin in (typing.Union, types.UnionType):
        options, by_name, only_classes = _union(hint)
        if value is None and type(None) in options:
            return None
        if by_name and isinstance(value, dict) and isinstance(value.get("type"), str):
            named = by_name.get(value["type"])
            if named is not None:  # the value names its type: decode it as that
                return _decode(named, value, where)
            if only_classes:
                raise WireError(f"{where}: {value['type']!r} is not one of "
                                f"{', '.join(by_name)}")
        errors = []
        for option in typing.get_args(hint):
            try:
                return _decode(option, value, where)
            except WireError as exc:
                errors.append(str(exc))
        raise WireError(f"{where}: none of {hint} ({'; '.join(errors)})")
    if hint is type(None):
        if value is not None:
            raise WireError(f"{where}: null expected")
        return None
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise WireError(f"{where}: a list expected")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, where) for v in value)
        if len(value) != len(args):
            raise WireError(f"{where}: {len(args)} items expected")
        return tuple(_decode(a, v, where) for a, v in zip(args, value, strict=True))
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise WireError(f"{where}: a list expected")
        return frozenset(_decode(arg, v, where) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise WireError(f"{where}: a boolean expected")
        return value
    if hint is int:
        if type(value) is not int:
            raise WireError(f"{where}: an integer expected")
        return value
    if hint is float:
        if type(value) not in (int, float):
            raise WireError(f"{where}: a number expected")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise WireError(f"{where}: a string expected")
        return value
    raise WireError(f"{where}: cannot decode {hint}")


def frame(value: Any) -> bytes:
    """One value as a frame."""
    body = json.dumps(to_wire(value), separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_FRAME:
        raise WireError(f"frame of {len(body)} bytes is over {MAX_FRAME}")
    return _LENGTH.pack(len(body)) + body


def unframe(buffer: bytes) -> tuple[list[Any], bytes]:
    """The values of every whole frame at the start of ``buffer``, and what is left over (a
    frame not yet complete). A bad frame raises ``WireError``: the stream cannot be trusted
    after it."""
    out = []
    view = memoryview(buffer)
    while len(view) >= _LENGTH.size:
        (length,) = _LENGTH.unpack_from(view)
        if length > MAX_FRAME:
            raise WireError(f"frame of {length} bytes is over {MAX_FRAME}")
        if len(view) < _LENGTH.size + length:
            break
        body = bytes(view[_LENGTH.size:_LENGTH.size + length])
        view = view[_LENGTH.size + length:]
        out.append(decode(body))
    return out, bytes(view)


def frame_length(header: bytes) -> int:
    """The body length a frame's 4-byte header announces; ``WireError`` over ``MAX_FRAME``
    (the stream cannot be read past it: nothing says where the next frame starts)."""
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes is over {MAX_FRAME}")
    return int(length)


def decode(body: bytes) -> Any:
    """One frame's body as its value; ``WireError`` if it is not one. The stream stays
    readable after a bad body (its length was read): a worker refuses it and goes on."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    return from_wire(data)


def request_id(body: bytes) -> int:
    """The ``id`` of a request body that did not decode, if it can be read (else 0), so its
    refusal reaches the caller waiting for it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return 0
    value = data.get("id") if isinstance(data, dict) else None
    return value if type(value) is int and value > 0 else 0
