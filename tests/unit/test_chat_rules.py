"""The chat's pure rules: addresses by role and channel, who reads what, the token bucket."""

from __future__ import annotations

import pytest

from meeting_server.chat_rules import (
    Address,
    Author,
    ChatRuleError,
    RateLimit,
    address,
    clean,
    may_read,
)

ANA = Author("ana", "Ana", "delegate", "Kenya")
CHAIR = Author("ch", "Chair", "chair")
FLEUR = Author("fl", "Fleur", "interpreter", booth="fr")


def code(fn: object, *args: object) -> str:
    with pytest.raises(ChatRuleError) as err:
        fn(*args)  # type: ignore[operator]
    return err.value.code


def test_addresses() -> None:
    assert address(ANA, "meeting", None, True, []) == Address("meeting")
    assert code(address, ANA, "meeting", None, False, []) == "forbidden"
    assert address(CHAIR, "meeting", None, False, []) == Address("meeting")
    assert code(address, Author("o", "O", "observer"), "meeting", None, True, []) == "forbidden"
    assert address(ANA, "secretariat", None, True, []) == Address("secretariat", thread="ana")
    assert code(address, ANA, "secretariat", "ben", True, ["ben"]) == "forbidden"
    assert address(CHAIR, "secretariat", "ana", True, ["ana"]) == \
        Address("secretariat", thread="ana")
    assert address(CHAIR, "secretariat", None, True, []) == Address("secretariat")
    assert code(address, CHAIR, "secretariat", "gone", True, ["ana"]) == "not-found"
    assert address(FLEUR, "booth", None, True, []) == Address("booth", booth="fr")
    assert code(address, ANA, "booth", None, True, []) == "forbidden"
    assert code(address, ANA, "dm", None, True, []) == "bad-request"


def test_readers() -> None:
    thread = Address("secretariat", thread="ana")
    assert may_read(thread, "ana", "delegate", None)
    assert may_read(thread, "sam", "secretariat", None)
    assert not may_read(thread, "ben", "delegate", None)
    assert not may_read(Address("secretariat"), "ana", "delegate", None)
    assert may_read(Address("booth", booth="fr"), "fl", "interpreter", "fr")
    assert not may_read(Address("booth", booth="fr"), "el", "interpreter", "es")
    assert not may_read(Address("booth", booth="fr"), "ch", "chair", None)


def test_text_stays_plain_and_bounded() -> None:
    assert clean(" <b>hi</b>\r\n\x00\x1b[31m ") == "<b>hi</b>\n[31m"
    assert clean("a\n\n\n\n\n\nb") == "a\n\n\nb"
    assert code(clean, " \n ") == "bad-request"
    assert code(clean, "é" * 1001) == "too-large"


def test_rate_limit_burst_then_one_every_two_seconds() -> None:
    limit = RateLimit()
    for i in range(5):
        limit.take(100.0 + i * 0.01)
    with pytest.raises(ChatRuleError) as err:
        limit.take(100.1)
    assert err.value.code == "rate-limited" and err.value.retry_after_s == pytest.approx(1.9, abs=0.01)
    limit.take(102.2)  # one token back after 2 s
    with pytest.raises(ChatRuleError):
        limit.take(102.3)
    limit.take(112.5)  # a quiet ten seconds refill the burst
    for _ in range(4):
        limit.take(112.5)
    with pytest.raises(ChatRuleError):
        limit.take(112.5)
