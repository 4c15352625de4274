"""Transcript formats from caption rows: cue times, voices, escaping, SRT numbering, the
passages the document search indexes, the webcast's X-TIMESTAMP-MAP header."""

from __future__ import annotations

import re

from meeting_server.captions_store import Caption
from meeting_server.transcript import cues, passages, plain_text, srt, webvtt

T0 = 1_780_000_000.0


def line(id_: int, start: float, at: float, text: str, who: str = "", state: str = "",
         language: str = "en") -> Caption:
    return Caption(id_, "m1", language, T0 + start, T0 + at, text, who and f"p-{who}", who,
                   state, "cap", "Carol", "console", None, None)


LINES = [
    line(1, 1.0, 3.5, "Thank you, Chair.", "Ana", "Kenya"),
    line(2, 4.0, 6.0, "We support <b>the</b> text & its annex.", "Ana", "Kenya"),
    line(3, 30.0, 31.0, "Point of order!", "Ben", "Peru"),
    line(4, 40.0, 60.0, "(silence)"),
]


def test_cue_times_follow_the_next_line_and_linger_at_most_three_seconds() -> None:
    got = [(c.id, c.start, c.end) for c in cues(LINES, T0)]
    assert got == [(1, 1.0, 4.0), (2, 4.0, 9.0), (3, 30.0, 34.0), (4, 40.0, 63.0)]
    # a line followed at once still shows for a second; the last lingers three
    quick = cues([line(1, 5.0, 5.0, "a"), line(2, 5.25, 5.5, "b")], T0)
    assert [(c.start, c.end) for c in quick] == [(5.0, 6.0), (5.25, 8.5)]


def test_webvtt_has_voices_escaped_text_and_parseable_timings() -> None:
    text = webvtt(LINES, T0, language="en")
    assert text.startswith("WEBVTT\n\nNOTE Rostrum transcript (en); 00:00:00.000 is ")
    assert "1\n00:00:01.000 --> 00:00:04.000\n<v Ana (Kenya)>Thank you, Chair.\n" in text
    assert "<v Ana (Kenya)>We support &lt;b&gt;the&lt;/b&gt; text &amp; its annex." in text
    assert "4\n00:00:40.000 --> 00:01:03.000\n(silence)\n" in text
    timings = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})$", text, re.M)
    assert len(timings) == 4 and all(a < b for a, b in timings)


def test_webvtt_for_a_webcast_segment_maps_cue_zero_to_the_media_timestamp() -> None:
    text = webvtt(LINES[2:3], T0 + 29.0, mpegts=900000)
    assert text.splitlines()[:3] == ["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000", ""]
    assert "00:00:01.000 --> 00:00:05.000" in text and "NOTE" not in text


def test_srt_numbers_cues_and_names_each_speaker_once_per_turn() -> None:
    text = srt(LINES, T0)
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:01,000 --> 00:00:04,000\nAna (Kenya): Thank you, Chair."
    assert blocks[1] == "2\n00:00:04,000 --> 00:00:09,000\nWe support <b>the</b> text & its annex."
    assert blocks[2] == "3\n00:00:30,000 --> 00:00:34,000\nBen (Peru): Point of order!"
    assert blocks[3].startswith("4\n00:00:40,000 --> 00:01:03,000\n(silence)")


def test_passages_cut_at_each_change_of_speaker_per_language() -> None:
    french = line(5, 2.0, 4.0, "Merci, Monsieur le Président.", "Ana", "Kenya", language="fr")
    got = passages([*LINES, french])
    assert [(p.language, p.speaker, p.caption_ids) for p in got] == [
        ("en", "Ana (Kenya)", (1, 2)), ("fr", "Ana (Kenya)", (5,)),
        ("en", "Ben (Peru)", (3,)), ("en", "", (4,))]
    assert got[0].text == "Thank you, Chair. We support <b>the</b> text & its annex."
    assert (got[0].start, got[0].end) == (T0 + 1.0, T0 + 6.0)


def test_plain_text_has_a_heading_per_turn() -> None:
    text = plain_text(LINES, title="SG13", language="en")
    assert text.startswith("SG13 (en)\n=========\n")
    assert "UTC] Ana (Kenya)\nThank you, Chair. We support <b>the</b> text & its annex.\n" in text
    assert "UTC] (no speaker on the floor)\n(silence)" in text
