"""The HTTP caption ingest's rules (Zoom's closed-caption API semantics): seq decisions,
query and body checks, the per-language secret."""

from __future__ import annotations

import pytest

from meeting_server.captions_ingest import (
    IngestError,
    caption_text,
    check_lang,
    check_secret,
    decide,
    ingest_secret,
    parse_seq,
    secret_matches,
)


def test_a_stream_with_a_retry_a_gap_and_a_late_post() -> None:
    last: int | None = None
    seen = []
    for seq in (0, 1, 1, 2, 5, 3, 5, 6):
        decision = decide(last, seq)
        seen.append((seq, decision.kind, decision.gap))
        if decision.accepted:
            last = seq
    assert seen == [(0, "new", 0), (1, "new", 0), (1, "repeat", 0), (2, "new", 0),
                    (5, "new", 2), (3, "old", 0), (5, "repeat", 0), (6, "new", 0)]
    assert decide(None, 41).kind == "new"  # a program may start anywhere


def test_seq_and_lang_checks() -> None:
    assert parse_seq("17") == 17
    with pytest.raises(IngestError) as missing:
        parse_seq(None)
    assert missing.value.status == 403  # as Zoom answers a post without seq
    for bad in ("-1", "1.5", "x", "١٢", "9" * 16):
        with pytest.raises(IngestError) as err:
            parse_seq(bad)
        assert err.value.status == 400
    check_lang("fr-FR", "fr")
    check_lang("zh_CN", "zh")
    check_lang(None, "ar")
    with pytest.raises(IngestError, match="does not match"):
        check_lang("en-US", "fr")


def test_body_is_utf8_plain_text() -> None:
    assert caption_text(b"I'M SENDING\r\nSEVERAL\tCAPTIONS. \x07") == \
        "I'M SENDING\nSEVERAL CAPTIONS."
    assert caption_text("مرحبا بكم".encode()) == "مرحبا بكم"
    for body, status in ((b"\xff", 400), (b"  \n ", 400), (b"x" * 4097, 413),
                         ("é".encode() * 1001, 413)):
        with pytest.raises(IngestError) as err:
            caption_text(body)
        assert err.value.status == status


def test_secret_is_per_meeting_and_language_and_checked_in_constant_time() -> None:
    a = ingest_secret("s3cret", "m1", "en")
    assert a == ingest_secret("s3cret", "m1", "en")
    assert len({a, ingest_secret("s3cret", "m1", "fr"), ingest_secret("s3cret", "m2", "en"),
                ingest_secret("other", "m1", "en")}) == 4
    assert secret_matches("s3cret", "m1", "en", a)
    assert not secret_matches("s3cret", "m1", "fr", a)
    assert not secret_matches("s3cret", "m1", "en", a + "é")


def test_secret_generations_and_revocation() -> None:
    s0, s1, s2 = (ingest_secret("k", "m", "en", g) for g in (0, 1, 2))
    assert len({s0, s1, s2}) == 3
    assert s0 == ingest_secret("k", "m", "en")  # the URLs issued before any rotation
    check_secret("k", "m", "en", s2, 2, False)
    for given, generation, revoked in ((s0, 2, False), (s1, 2, False), (s2, 2, True)):
        with pytest.raises(IngestError) as exc:
            check_secret("k", "m", "en", given, generation, revoked)
        assert exc.value.status == 403 and "revoked" in exc.value.message
    for given in ("", "x" + s2, ingest_secret("k", "m", "fr", 2),
                  ingest_secret("k", "m", "en", 3)):
        with pytest.raises(IngestError) as exc:
            check_secret("k", "m", "en", given, 2, False)
        assert exc.value.status == 403 and "wrong" in exc.value.message
