"""docs/protocol.md against the code: the token recipe works, the error table lists every code
the server sends, every namespace documents exactly the events it handles, with the fields
its payload model takes. A handler, code or field added without its documentation fails here.
"""

from __future__ import annotations

import importlib
import inspect
import re
import time
from pathlib import Path
from typing import Any

import pytest

import meeting_server.app  # noqa: F401  (imports every namespace the app registers)
from interpretation.errors import ERROR_CODES as INTERPRETATION_CODES
from meeting_server import errors, tokens
from meeting_server.namespaces.base import RESERVED_EVENTS, RostrumNamespace
from meeting_server.schemas import Payload

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text()


# --- helpers ---------------------------------------------------------------------------------

def section(text: str, heading_re: str, level: int) -> str:
    """The text under the first heading of ``level`` matching ``heading_re``, up to the next
    heading of that level or higher."""
    marks = "#" * level
    match = re.search(rf"^{marks} {heading_re}.*$", text, re.M)
    assert match, f"no heading {heading_re!r} in docs/protocol.md"
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def table_first_cells(text: str) -> list[str]:
    """The backquoted names in the first column of the Markdown tables in ``text``."""
    return re.findall(r"^\| `([^`]+)` \|", text, re.M)


def all_namespaces() -> dict[str, type[RostrumNamespace]]:
    found: dict[str, type[RostrumNamespace]] = {}
    pending = list(RostrumNamespace.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        match = re.search(r'super\(\).__init__\(\s*"(/[\w-]+)"', inspect.getsource(cls))
        if match:
            found[match.group(1)] = cls
    return found


def handled_events(cls: type[RostrumNamespace]) -> set[str]:
    names = {n[3:].replace("_", "-") for n in dir(cls)
             if n.startswith("on_") and callable(getattr(cls, n))}
    return names - RESERVED_EVENTS


def documented_client_events(ns_text: str) -> dict[str, str]:
    """event → the text documenting its payload, from ``### `event` (client → server)``
    sections and from the rows of an ``Events (client → server)`` table."""
    events: dict[str, str] = {}
    for match in re.finditer(r"^### `([\w-]+)` \(client → server\)\n(.*?)(?=^#{1,3} |\Z)",
                             ns_text, re.M | re.S):
        events[match.group(1)] = match.group(2)
    tables = re.search(r"^### Events \(client → server\)\n(.*?)(?=^#{1,3} |\Z)", ns_text,
                       re.M | re.S)
    if tables:
        for row in re.finditer(r"^\| `([\w-]+)` \| (.*?) \|", tables.group(1), re.M):
            events[row.group(1)] = row.group(2)
    return events


def documented_fields(text: str) -> set[str]:
    """Field names in a payload's documentation: the rows of a field table if it has one,
    else the keys in its code spans (``{a, b?: ...}`` or a bare ``name?``)."""
    before_ack = text.split("Ack", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", before_ack, re.M)
    if rows:
        return set(rows)
    keys: set[str] = set()
    for span in re.findall(r"`([^`]*)`", before_ack):
        span = re.sub(r'"(\w+)"\s*:', r"\1:", span)  # a quoted key is a key
        span = re.sub(r'"[^"]*"', "", span)  # other string literals are values
        span = re.sub(r"\[[^\]]*\]", "", span)  # so are list contents
        if span.startswith("{"):
            inner = span[1: span.rfind("}")] if "}" in span else span[1:]
            for part in inner.split(","):
                match = re.match(r"\s*(\w+)\??\s*(:|=|$)", part)
                if match:
                    keys.add(match.group(1))
        elif re.fullmatch(r"\w+\?", span):
            keys.add(span[:-1])
    return keys


def payload_model(cls: type[RostrumNamespace], event: str) -> type[Payload]:
    handler = getattr(cls, "on_" + event.replace("-", "_"))
    match = re.search(r"parse\((\w+),", inspect.getsource(handler))
    assert match, f"{event}: its handler does not parse its payload with schemas.parse"
    module = importlib.import_module(handler.__module__)
    model = getattr(module, match.group(1))
    assert issubclass(model, Payload)
    return model


NAMESPACES = all_namespaces()


# --- tokens ----------------------------------------------------------------------------------

def test_a_token_minted_from_the_documented_recipe_is_accepted() -> None:
    recipe = section(DOC, "Tokens and join links", 2)
    code = re.search(r"```python\n(.*?)```", recipe, re.S)
    assert code, "the token section has no Python recipe"
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)  # the document's own code, as an integrator would run it
    token = scope["mint"]("a-secret", "m1", "delegate", 600)
    invite = tokens.verify("a-secret", token)
    assert (invite.meeting_id, invite.role) == ("m1", "delegate")
    assert invite.expires_at >= time.time() + 590
    with pytest.raises(tokens.TokenError):
        tokens.verify("another-secret", token)


def test_the_server_issues_tokens_the_recipe_describes() -> None:
    recipe = section(DOC, "Tokens and join links", 2)
    scope: dict[str, Any] = {}
    exec(re.search(r"```python\n(.*?)```", recipe, re.S).group(1), scope)  # type: ignore
    token = tokens.issue("k", "m2", "chair", 60)
    part, _, mac = token.partition(".")
    import base64
    import hashlib
    import hmac

    expected = scope["b64url"](hmac.new(b"k", part.encode("ascii"), hashlib.sha256).digest())
    assert mac == expected
    assert base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).startswith(b"{")


# --- error codes -----------------------------------------------------------------------------

def documented_codes() -> list[str]:
    return table_first_cells(section(DOC, "Error codes", 3))


def test_the_error_table_lists_exactly_the_codes_the_server_can_send() -> None:
    codes = documented_codes()
    assert len(codes) == len(set(codes)), "a code is listed twice"
    assert set(codes) == set(errors.CODES)


def test_every_interpretation_rule_code_is_a_server_code() -> None:
    # interpreting.py turns an InterpretationError into RostrumError(exc.code)
    assert set(INTERPRETATION_CODES) <= set(errors.CODES)


def test_every_code_raised_in_the_source_is_known() -> None:
    raised: set[str] = set()
    for path in (ROOT / "meeting_server").rglob("*.py"):
        raised |= set(re.findall(r'RostrumError\(\s*"([a-z-]+)"', path.read_text()))
        raised |= set(re.findall(r'\{"code":\s*"([a-z-]+)"\}', path.read_text()))
    assert raised, "no codes found: the pattern is out of date"
    assert raised <= set(errors.CODES), raised - set(errors.CODES)


# --- events and fields -----------------------------------------------------------------------

def test_every_registered_namespace_is_found() -> None:
    assert {"/room", "/media", "/floor", "/interpretation"} <= set(NAMESPACES)


@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_a_namespace_documents_exactly_the_events_it_handles(namespace: str) -> None:
    ns_text = section(DOC, rf"Namespace `{re.escape(namespace)}`", 2)
    documented = set(documented_client_events(ns_text))
    handled = handled_events(NAMESPACES[namespace])
    assert documented == handled, (
        f"{namespace}: handled but not documented {sorted(handled - documented)}, "
        f"documented but not handled {sorted(documented - handled)}")


@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_documented_payload_fields_are_the_models_fields(namespace: str) -> None:
    ns_text = section(DOC, rf"Namespace `{re.escape(namespace)}`", 2)
    cls = NAMESPACES[namespace]
    mismatches = {}
    for event, text in documented_client_events(ns_text).items():
        if event not in handled_events(cls):
            continue
        model = payload_model(cls, event)
        fields = set(model.model_fields)
        doc = documented_fields(text)
        if doc != fields:
            mismatches[event] = {"doc": sorted(doc), "model": sorted(fields)}
    assert not mismatches, mismatches
