"""Channels and languages: ``floor`` plus one channel per meeting language.

A channel is named by a string: ``"floor"`` for the room's original sound, or the language code
of a booth (``"fr"``). Language codes are ISO 639 codes written as the protocol writes them:
two or three lowercase ASCII letters (``en``, ``zh``, ``fil``). A meeting may configure any
such set; by default it has the six UN languages in the UN's order (ar, zh, en, fr, ru, es).
An empty set is allowed: the meeting then has only the floor channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from interpretation.errors import InterpretationError

FLOOR: Final = "floor"
UN_LANGUAGES: Final[tuple[str, ...]] = ("ar", "zh", "en", "fr", "ru", "es")

_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def validate_language(code: object) -> str:
    """Return ``code`` if it is a language code, else raise ``invalid-language``.

    Nothing is normalised: ``"EN"`` and ``"en-GB"`` are refused rather than guessed at, so
    that two spellings can never name two booths of one language.
    """
    if not isinstance(code, str) or _LANGUAGE_CODE.fullmatch(code) is None:
        raise InterpretationError(
            "invalid-language",
            f"{code!r} is not a language code (two or three lowercase letters, e.g. 'fr')")
    return code


def meeting_languages(codes: Iterable[str] | None = None) -> tuple[str, ...]:
    """The validated language set of a meeting, in the given order (None: the six UN ones)."""
    if codes is None:
        return UN_LANGUAGES
    if isinstance(codes, str):  # "en" would otherwise be read as ("e", "n")
        raise InterpretationError("invalid-language",
                                  "the meeting languages must be a list of codes, not a string")
    out: list[str] = []
    for code in codes:
        validate_language(code)
        if code in out:
            raise InterpretationError("invalid-language", f"language {code!r} is listed twice")
        out.append(code)
    return tuple(out)


def channel_ids(languages: Iterable[str]) -> tuple[str, ...]:
    """Every channel of a meeting with these languages: the floor first, then each language."""
    return (FLOOR, *languages)


def check_channel(channel: object, languages: tuple[str, ...]) -> str:
    """Return ``channel`` if it is ``floor`` or one of ``languages``.

    Raises ``invalid-language`` for something that is not a code at all and
    ``unknown-language`` for a code that is not one of the meeting's languages.
    """
    if channel == FLOOR:
        return FLOOR
    code = validate_language(channel)
    if code not in languages:
        raise InterpretationError("unknown-language",
                                  f"{code!r} is not a language of this meeting")
    return code
