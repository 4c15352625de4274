"""sfu/worker_auth.py: the remote worker's handshake frames round-trip; a wrong secret, a
wrong nonce, a frame of another kind or a malformed one is an AuthError on either side."""

from __future__ import annotations

import json
import struct

import pytest

from sfu import worker_auth as auth

SECRET = "s" * 24


def body(frame: bytes) -> bytes:
    assert auth.length(frame[:4]) == len(frame) - 4
    return frame[4:]


def test_a_handshake_with_the_same_secret_succeeds_both_ways() -> None:
    challenge = auth.Challenge("w1", auth.new_nonce())
    assert auth.decode(body(auth.encode(challenge)), auth.Challenge) == challenge
    reply = auth.answer(SECRET, challenge, auth.new_nonce())
    assert auth.decode(body(auth.encode(reply)), auth.Answer) == reply
    hello = auth.welcome(SECRET, challenge, reply)
    assert auth.decode(body(auth.encode(hello)), auth.Welcome) == hello
    auth.check_welcome(SECRET, challenge, reply, hello)


def test_another_secret_is_refused_on_each_side() -> None:
    challenge = auth.Challenge("w1", auth.new_nonce())
    wrong = auth.answer("t" * 24, challenge, auth.new_nonce())
    with pytest.raises(auth.AuthError, match="answer's MAC is wrong"):
        auth.welcome(SECRET, challenge, wrong)
    reply = auth.answer(SECRET, challenge, auth.new_nonce())
    impostor = auth.welcome("t" * 24, challenge, auth.answer("t" * 24, challenge, reply.nonce))
    with pytest.raises(auth.AuthError, match="welcome MAC is wrong"):
        auth.check_welcome(SECRET, challenge, reply, impostor)


def test_an_answer_replayed_for_another_challenge_is_refused() -> None:
    first = auth.Challenge("w1", auth.new_nonce())
    reply = auth.answer(SECRET, first, auth.new_nonce())
    with pytest.raises(auth.AuthError):
        auth.welcome(SECRET, auth.Challenge("w1", auth.new_nonce()), reply)


@pytest.mark.parametrize(("data", "expected", "message"), [
    (b"\xff", auth.Answer, "is JSON"),
    (b"[]", auth.Answer, "an Answer was expected"),
    (json.dumps({"type": "Request", "id": 1}).encode(), auth.Answer,
     "an Answer was expected, not 'Request'"),
    (json.dumps({"type": "Answer", "nonce": "ab"}).encode(), auth.Answer, "fields"),
    (json.dumps({"type": "Answer", "nonce": "ab", "mac": "0" * 64}).encode(), auth.Answer,
     "hex digits"),
    (json.dumps({"type": "Answer", "nonce": "A" * 64, "mac": "0" * 64}).encode(),
     auth.Answer, "hex digits"),
    (json.dumps({"type": "Welcome", "mac": 5}).encode(), auth.Welcome, "HMAC"),
    (json.dumps({"type": "Challenge", "worker": "", "nonce": "0" * 64}).encode(),
     auth.Challenge, "worker id"),
])
def test_malformed_handshake_frames_are_refused(data: bytes, expected: type, message: str
                                                ) -> None:
    with pytest.raises(auth.AuthError, match=message):
        auth.decode(data, expected)


def test_a_long_frame_is_refused_before_it_is_read() -> None:
    with pytest.raises(auth.AuthError, match="at most"):
        auth.length(struct.pack(">I", auth.MAX_AUTH_FRAME + 1))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        auth.check_secret("  short  ")
    assert auth.check_secret(f" {SECRET}\n") == SECRET
