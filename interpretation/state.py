"""The whole interpretation state of one meeting, as one immutable value.

``InterpretationState`` holds the meeting's languages, one ``Booth`` per language (same order)
and the ``Floor`` (who speaks, in which language). Because it is a value, a snapshot is just
the object, two snapshots compare with ``==``, and a change is the replacement of one value by
another (``rules.Interpretation`` does that, in one assignment).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from interpretation.booths import Booth
from interpretation.channels import channel_ids, meeting_languages, validate_language
from interpretation.errors import InterpretationError


@dataclass(frozen=True, slots=True)
class Floor:
    """Who has the floor and the language they declared (None: nobody / not known)."""

    speaker: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if self.speaker is None and self.language is not None:
            raise ValueError("a floor language without a floor speaker")
        if self.language is not None:
            validate_language(self.language)


@dataclass(frozen=True, slots=True)
class InterpretationState:
    languages: tuple[str, ...]
    booths: tuple[Booth, ...]  # one per language, in the order of ``languages``
    floor: Floor = Floor()

    def __post_init__(self) -> None:
        # Invariants; a failure here is a bug in the rules, not a user error.
        if tuple(b.language for b in self.booths) != self.languages:
            raise ValueError("booths do not match the meeting languages")
        seen: set[str] = set()
        channels = set(self.channels)
        for booth in self.booths:
            for i in booth.interpreters:
                if i.participant_id in seen:
                    raise ValueError(f"{i.participant_id} is in two booths")
                seen.add(i.participant_id)
                if i.incoming not in channels:
                    raise ValueError(f"{i.participant_id} relays from unknown {i.incoming!r}")

    @classmethod
    def initial(cls, languages: Iterable[str] | None = None) -> InterpretationState:
        """Empty booths for the given languages (None: the six UN languages)."""
        langs = meeting_languages(languages)
        return cls(languages=langs, booths=tuple(Booth(lang) for lang in langs))

    @property
    def channels(self) -> tuple[str, ...]:
        """``floor`` then each language."""
        return channel_ids(self.languages)

    def booth(self, language: str) -> Booth:
        """The booth of ``language``; ``invalid-language`` / ``unknown-language`` otherwise."""
        validate_language(language)
        for b in self.booths:
            if b.language == language:
                return b
        raise InterpretationError("unknown-language",
                                  f"{language!r} is not a language of this meeting")

    def booth_of(self, interpreter: str) -> Booth | None:
        """The booth the interpreter is assigned to, if any."""
        for b in self.booths:
            if b.member(interpreter) is not None:
                return b
        return None

    def require_booth_of(self, interpreter: str) -> Booth:
        booth = self.booth_of(interpreter)
        if booth is None:
            raise InterpretationError("not-in-booth", f"{interpreter} is not in any booth")
        return booth

    def with_booth(self, booth: Booth) -> InterpretationState:
        """This state with ``booth`` replacing the booth of the same language."""
        return replace(self, booths=tuple(
            booth if b.language == booth.language else b for b in self.booths))

    def with_floor(self, floor: Floor) -> InterpretationState:
        return replace(self, floor=floor)

    def is_floor_language(self, language: str) -> bool:
        """Whether the floor speaker declared ``language`` (the booth's own language)."""
        return self.floor.speaker is not None and self.floor.language == language
