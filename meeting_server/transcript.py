"""The transcript of a meeting from its final captions: WebVTT, SRT and plain text with the
speakers' names, and the passages the document search indexes. Pure functions of caption
rows; no I/O (transcript_http.py serves them).

Cue times: a line starts at its first word (``started_at``: the captioner's first keystroke,
or the arrival of a CART post) and stays up until the next line of the same language starts,
at least `MIN_CUE_S` and at most `LINGER_S` after it was made final. Times are seconds from
``origin`` (the meeting's start in an export; a segment's start in the webcast).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .captions_store import Caption

MIN_CUE_S = 1.0
LINGER_S = 3.0


@dataclass(frozen=True, slots=True)
class Cue:
    id: int
    start: float  # seconds from the origin
    end: float
    text: str
    speaker: str  # "Name (Member State)", or "" when nobody held the floor


def speaker_label(caption: Caption) -> str:
    if not caption.speaker_name:
        return ""
    if caption.speaker_member_state:
        return f"{caption.speaker_name} ({caption.speaker_member_state})"
    return caption.speaker_name


def cues(captions: Sequence[Caption], origin: float) -> list[Cue]:
    """One cue per line, in time order; ``captions`` of one language."""
    ordered = sorted(captions, key=lambda c: (c.started_at, c.id))
    out: list[Cue] = []
    for i, caption in enumerate(ordered):
        start = max(0.0, caption.started_at - origin)
        end = max(caption.at - origin + LINGER_S, start + MIN_CUE_S)
        if i + 1 < len(ordered):
            following = ordered[i + 1].started_at - origin
            end = min(end, max(following, start + MIN_CUE_S))
        out.append(Cue(caption.id, start, end, caption.text, speaker_label(caption)))
    return out


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def webvtt(captions: Sequence[Caption], origin: float, *, language: str = "",
           mpegts: int | None = None) -> str:
    """WebVTT with one voice span per cue (``<v Name (State)>``). ``mpegts``: add HLS's
    ``X-TIMESTAMP-MAP=MPEGTS:<mpegts>,LOCAL:00:00:00.000`` header, cue time 0 being that
    90 kHz media timestamp (a webcast segment)."""
    lines = ["WEBVTT"]
    if mpegts is not None:
        lines.append(f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000")
    lines.append("")
    if mpegts is None:
        lines += [f"NOTE Rostrum transcript{' (' + language + ')' if language else ''};"
                  f" 00:00:00.000 is {_iso(origin)}", ""]
    for cue in cues(captions, origin):
        text = _vtt_escape(cue.text)
        if cue.speaker:
            # a voice's name ends at '>': the escaped name cannot contain one
            text = f"<v {_vtt_escape(cue.speaker)}>{text}"
        lines += [str(cue.id), f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}", text, ""]
    return "\n".join(lines)


def srt(captions: Sequence[Caption], origin: float) -> str:
    """SubRip: numbered cues; the speaker's name opens the first cue of each turn."""
    blocks = []
    previous = None
    for n, cue in enumerate(cues(captions, origin), start=1):
        text = cue.text
        if cue.speaker and cue.speaker != previous:
            text = f"{cue.speaker}: {text}"
        previous = cue.speaker or previous
        blocks.append(f"{n}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


@dataclass(frozen=True, slots=True)
class Passage:
    """One speaker's turn in one language: what the document search indexes."""

    meeting_id: str
    language: str
    start: float  # wall clock, seconds
    end: float
    speaker: str
    speaker_id: str
    text: str
    caption_ids: tuple[int, ...]


def passages(captions: Sequence[Caption]) -> list[Passage]:
    """The transcript cut at every change of speaker (per language), in time order: each
    passage is a search hit that can link to its time in the meeting."""
    out: list[Passage] = []
    by_language: dict[str, list[Caption]] = {}
    for caption in sorted(captions, key=lambda c: (c.started_at, c.id)):
        by_language.setdefault(caption.language, []).append(caption)
    for language, lines in by_language.items():
        turns: list[list[Caption]] = []
        for caption in lines:
            if turns and turns[-1][0].speaker_id == caption.speaker_id:
                turns[-1].append(caption)
            else:
                turns.append([caption])
        for turn in turns:
            out.append(Passage(turn[0].meeting_id, language, turn[0].started_at, turn[-1].at,
                               speaker_label(turn[0]), turn[0].speaker_id,
                               " ".join(c.text.replace("\n", " ") for c in turn),
                               tuple(c.id for c in turn)))
    out.sort(key=lambda p: (p.start, p.language))
    return out


def plain_text(captions: Sequence[Caption], *, title: str = "", language: str = "",
               words: Mapping[str, str] | None = None) -> str:
    """Readable transcript: a heading per speaker's turn with its time (UTC), then the turn's
    lines as one paragraph. ``words``: the file's own words in the reader's UI language
    (``title``, ``no-speaker``; export_labels.transcript_words), English without."""
    words = words or {"title": "Transcript", "no-speaker": "(no speaker on the floor)"}
    head = [title or words["title"]]
    if language:
        head[0] += f" ({language})"
    out = [head[0], "=" * len(head[0]), ""]
    for passage in passages(captions):
        when = time.strftime("%H:%M:%S", time.gmtime(passage.start))
        who = passage.speaker or words["no-speaker"]
        tag = f" [{passage.language}]" if not language else ""
        out += [f"[{when} UTC]{tag} {who}", passage.text, ""]
    return "\n".join(out)
