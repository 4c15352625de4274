"""meeting_server/tokens.py: signed invite tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from meeting_server.tokens import MAX_TOKEN_LENGTH, ROLES, Invite, TokenError, issue, verify

SECRET = "s3cret-for-tests"
NOW = 1_700_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(payload_part: str, secret: str = SECRET) -> str:
    """An independent implementation of the documented signature."""
    return b64(hmac.new(secret.encode(), payload_part.encode("ascii"), hashlib.sha256).digest())


def signed(payload_part: str, secret: str = SECRET) -> str:
    return f"{payload_part}.{sign(payload_part, secret)}"


def signed_json(obj: object) -> str:
    return signed(b64(json.dumps(obj).encode()))


def good_payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {"m": "abc123", "r": "delegate", "exp": int(NOW) + 60,
                                  "n": "beef"}
    payload.update(changes)
    return payload


# --- round trips -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_round_trip_every_role(role: str) -> None:
    token = issue(SECRET, "meeting-1", role, ttl_s=3600, now=NOW)
    invite = verify(SECRET, token, now=NOW)
    assert isinstance(invite, Invite)
    assert invite.meeting_id == "meeting-1"
    assert invite.role == role
    assert invite.expires_at == int(NOW) + 3600
    assert isinstance(invite.nonce, str) and invite.nonce


def test_roles_are_the_documented_six() -> None:
    assert set(ROLES) == {"chair", "secretariat", "delegate", "interpreter", "captioner",
                          "observer"}


def test_token_format_matches_documentation() -> None:
    token = issue(SECRET, "m1", "chair", ttl_s=10, now=NOW)
    payload_part, dot, signature = token.partition(".")
    assert dot and "." not in signature
    assert signature == sign(payload_part)
    assert "=" not in token and "+" not in token and "/" not in token
    payload = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
    assert payload["m"] == "m1" and payload["r"] == "chair" and payload["exp"] == int(NOW) + 10
    assert isinstance(payload["n"], str)


def test_tokens_are_unique_by_nonce() -> None:
    tokens = {issue(SECRET, "m", "delegate", ttl_s=60, now=NOW) for _ in range(20)}
    assert len(tokens) == 20
    nonces = {verify(SECRET, t, now=NOW).nonce for t in tokens}
    assert len(nonces) == 20


def test_unicode_meeting_id_round_trips() -> None:
    token = issue(SECRET, "réunion-会议", "observer", ttl_s=60, now=NOW)
    assert token.isascii()
    assert verify(SECRET, token, now=NOW).meeting_id == "réunion-会议"


def test_unicode_secret_round_trips() -> None:
    secret = "clé-秘密"
    token = issue(secret, "m", "chair", ttl_s=60, now=NOW)
    assert verify(secret, token, now=NOW).role == "chair"
    with pytest.raises(TokenError):
        verify("cle-秘密", token, now=NOW)


def test_verify_without_now_uses_wall_clock() -> None:
    token = issue(SECRET, "m", "chair", ttl_s=60)
    assert verify(SECRET, token).meeting_id == "m"
    old = issue(SECRET, "m", "chair", ttl_s=60, now=1000.0)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, old)


def test_payload_built_by_hand_is_accepted() -> None:
    invite = verify(SECRET, signed_json(good_payload()), now=NOW)
    assert invite == Invite(meeting_id="abc123", role="delegate", expires_at=int(NOW) + 60,
                            nonce="beef")


# --- issue() rejects bad arguments ---------------------------------------------------------

@pytest.mark.parametrize("role", ["", "Chair", "admin", "chair ", None])
def test_issue_unknown_role(role) -> None:
    with pytest.raises(ValueError, match="role"):
        issue(SECRET, "m", role, ttl_s=60, now=NOW)


def test_issue_empty_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        issue("", "m", "chair", ttl_s=60, now=NOW)


def test_verify_refuses_an_empty_secret() -> None:
    # issue() refuses an empty secret; verify() must too, or anybody can forge invites by
    # signing with the empty key
    payload_part = b64(json.dumps(good_payload(r="chair")).encode())
    forged = f"{payload_part}.{sign(payload_part, secret='')}"
    with pytest.raises((TokenError, ValueError)):
        verify("", forged, now=NOW)


# --- expiry ----------------------------------------------------------------------------------

def test_expired_token() -> None:
    token = issue(SECRET, "m", "delegate", ttl_s=60, now=NOW)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, token, now=NOW + 61)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, token, now=NOW + 10 * 365 * 86400)


def test_expiry_boundary() -> None:
    token = issue(SECRET, "m", "delegate", ttl_s=60, now=NOW)
    assert verify(SECRET, token, now=NOW + 59.999).expires_at == int(NOW) + 60
    assert verify(SECRET, token, now=NOW + 60).expires_at == int(NOW) + 60
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, token, now=NOW + 60.001)


def test_zero_and_negative_ttl() -> None:
    assert verify(SECRET, issue(SECRET, "m", "chair", ttl_s=0, now=NOW), now=NOW)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, issue(SECRET, "m", "chair", ttl_s=-1, now=NOW), now=NOW)


def test_issue_time_in_the_future_is_not_checked() -> None:
    # a verifier whose clock is an hour behind the issuer's still accepts the token
    token = issue(SECRET, "m", "chair", ttl_s=60, now=NOW)
    assert verify(SECRET, token, now=NOW - 3600).role == "chair"


# --- lifetime --------------------------------------------------------------------------------

def test_expiry_in_the_year_ten_to_the_22_is_refused() -> None:
    # the integrator's finding: validly signed, expiry absurdly far away
    token = signed_json(good_payload(exp=10**22 * 31_557_600))
    with pytest.raises(TokenError, match="lifetime"):
        verify(SECRET, token, now=NOW)


def test_expiry_beyond_the_maximum_lifetime_is_refused() -> None:
    token = issue(SECRET, "m", "delegate", ttl_s=3 * 86400, now=NOW)
    assert verify(SECRET, token, now=NOW, max_lifetime_s=3 * 86400).role == "delegate"
    with pytest.raises(TokenError, match="lifetime"):
        verify(SECRET, token, now=NOW, max_lifetime_s=2 * 86400)


def test_the_hard_cap_holds_whatever_the_setting() -> None:
    from meeting_server.tokens import MAX_LIFETIME_S

    token = issue(SECRET, "m", "delegate", ttl_s=MAX_LIFETIME_S + 60, now=NOW)
    with pytest.raises(TokenError, match="lifetime"):
        verify(SECRET, token, now=NOW, max_lifetime_s=10 * MAX_LIFETIME_S)


def test_expired_check_comes_after_signature() -> None:
    # an expired token with a bad signature reports the signature, not the expiry
    token = issue(SECRET, "m", "chair", ttl_s=1, now=NOW)
    with pytest.raises(TokenError, match="signature"):
        verify("other", token, now=NOW + 100)


# --- forged tokens ---------------------------------------------------------------------------

def test_signed_with_another_secret() -> None:
    token = issue("another-secret", "m", "chair", ttl_s=60, now=NOW)
    with pytest.raises(TokenError, match="signature"):
        verify(SECRET, token, now=NOW)


def test_every_single_character_flip_is_rejected() -> None:
    token = issue(SECRET, "meeting", "observer", ttl_s=60, now=NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        replacement = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        forged = token[:i] + replacement + token[i + 1:]
        with pytest.raises(TokenError):
            verify(SECRET, forged, now=NOW)


def test_role_escalation_with_reused_signature() -> None:
    token = issue(SECRET, "m", "observer", ttl_s=60, now=NOW)
    _, _, signature = token.partition(".")
    payload = {"m": "m", "r": "chair", "exp": int(NOW) + 60, "n": "00"}
    forged = b64(json.dumps(payload).encode()) + "." + signature
    with pytest.raises(TokenError, match="signature"):
        verify(SECRET, forged, now=NOW)


def test_truncated_signature() -> None:
    token = issue(SECRET, "m", "chair", ttl_s=60, now=NOW)
    with pytest.raises(TokenError, match="signature"):
        verify(SECRET, token[:-1], now=NOW)
    with pytest.raises(TokenError, match="signature"):
        verify(SECRET, token + "A", now=NOW)


def test_extra_dot_section_rejected() -> None:
    token = issue(SECRET, "m", "chair", ttl_s=60, now=NOW)
    with pytest.raises(TokenError):
        verify(SECRET, token + ".extra", now=NOW)


def test_unsigned_token_rejected() -> None:
    with pytest.raises(TokenError):
        verify(SECRET, b64(json.dumps(good_payload()).encode()) + ".", now=NOW)


# --- malformed tokens ------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "", 0, 123, b"abc.def", ["a.b"], {"a": "b"}])
def test_missing_token(token: object) -> None:
    with pytest.raises(TokenError, match="missing"):
        verify(SECRET, token, now=NOW)


@pytest.mark.parametrize("token", ["nodot", ".", "abc.", ".abc", "..", "   "])
def test_token_without_two_parts(token: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, token, now=NOW)


@pytest.mark.parametrize("token", ["é.abc", "abc.é", "abc.\udcff", "日本.語"])
def test_non_ascii_token(token: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, token, now=NOW)


def test_non_ascii_inside_valid_token() -> None:
    token = issue(SECRET, "m", "chair", ttl_s=60, now=NOW)
    with pytest.raises(TokenError):
        verify(SECRET, token[:5] + "é" + token[5:], now=NOW)


def test_overlong_token() -> None:
    with pytest.raises(TokenError, match="too long"):
        verify(SECRET, "a" * (MAX_TOKEN_LENGTH + 1), now=NOW)
    # a validly signed token that is too long is rejected on length alone
    payload = good_payload(m="x" * MAX_TOKEN_LENGTH)
    with pytest.raises(TokenError, match="too long"):
        verify(SECRET, signed_json(payload), now=NOW)


def test_token_of_exactly_max_length_is_checked_normally() -> None:
    token = "a" * (MAX_TOKEN_LENGTH - 44) + "." + "b" * 43
    assert len(token) == MAX_TOKEN_LENGTH
    with pytest.raises(TokenError, match="signature"):
        verify(SECRET, token, now=NOW)


@pytest.mark.parametrize("payload_part", ["a", "abcde", "!!!!", "%%%", "a=b="])
def test_signed_garbage_base64(payload_part: str) -> None:
    with pytest.raises(TokenError, match="base64|JSON"):
        verify(SECRET, signed(payload_part), now=NOW)


@pytest.mark.parametrize("raw", [b"not json", b"{", b"\xff\xfe\xfa", b" ", b"{'m': 1}"])
def test_signed_payload_not_json(raw: bytes) -> None:
    with pytest.raises(TokenError, match="JSON"):
        verify(SECRET, signed(b64(raw)), now=NOW)


@pytest.mark.parametrize("obj", [[], [1, 2], "string", 42, None, True, 1.5])
def test_signed_payload_not_an_object(obj: object) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, signed_json(obj), now=NOW)


@pytest.mark.parametrize("missing", ["m", "r", "exp"])
def test_signed_payload_missing_field(missing: str) -> None:
    payload = good_payload()
    del payload[missing]
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, signed_json(payload), now=NOW)


@pytest.mark.parametrize("changes", [
    {"m": 5}, {"m": None}, {"m": ["a"]},
    {"r": "admin"}, {"r": "CHAIR"}, {"r": None}, {"r": 1}, {"r": ["chair"]},
    {"exp": "2000000000"}, {"exp": 2e9}, {"exp": None}, {"exp": [1]},
])
def test_signed_payload_wrong_field_types(changes: dict[str, object]) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, signed_json(good_payload(**changes)), now=NOW)


def test_signed_payload_empty_object() -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, signed_json({}), now=NOW)


def test_extra_payload_fields_are_ignored() -> None:
    invite = verify(SECRET, signed_json(good_payload(extra="x", admin=True)), now=NOW)
    assert invite.role == "delegate"


def test_token_error_messages_are_clear() -> None:
    messages = set()
    cases = [
        ("", None),
        ("x" * (MAX_TOKEN_LENGTH + 1), None),
        ("nodot", None),
        (issue("other", "m", "chair", 60, now=NOW), None),
        (signed(b64(b"nope")), None),
        (signed_json([1]), None),
        (issue(SECRET, "m", "chair", -10, now=NOW), None),
    ]
    for token, _ in cases:
        with pytest.raises(TokenError) as info:
            verify(SECRET, token, now=NOW)
        text = str(info.value)
        assert text and text.startswith("token"), text
        assert SECRET not in text
        messages.add(text)
    assert messages == {
        "token missing",
        "token too long",
        "token is malformed",
        "token signature is invalid",
        "token payload is not JSON",
        "token payload is malformed",
        "token has expired",
    }


def test_token_error_does_not_leak_token_contents() -> None:
    token = issue("other", "secret-meeting-name", "chair", 60, now=NOW)
    with pytest.raises(TokenError) as info:
        verify(SECRET, token, now=NOW)
    assert "secret-meeting-name" not in str(info.value)
    assert token not in str(info.value)

