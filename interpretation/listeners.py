"""A listener's choice: which channel, and how loud the floor under it (0..1).

The browser mixes the floor under the chosen channel; the webcast mixes server-side. Either way
the floor is mixed under an interpretation only: on the floor channel, or on a channel that is
passing the floor through, it would be the same sound twice (``floor_under_gain``). The chosen
level is kept regardless, so it comes back when the booth goes live again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from interpretation.channels import FLOOR, check_channel, meeting_languages, validate_language
from interpretation.errors import InterpretationError
from interpretation.feeds import Feed


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    channel: str = FLOOR
    floor_under: float = 0.0  # level of the floor under the channel, 0 (off) .. 1 (full)

    def __post_init__(self) -> None:
        if self.channel != FLOOR:
            validate_language(self.channel)
        level = self.floor_under
        if (isinstance(level, bool) or not isinstance(level, (int, float))
                or not math.isfinite(level) or not 0.0 <= level <= 1.0):
            raise InterpretationError("invalid-level",
                                      f"floor-under level must be between 0 and 1, not {level!r}")
        object.__setattr__(self, "floor_under", float(level))  # 1 -> 1.0, so equality holds

    @classmethod
    def for_meeting(cls, languages: Iterable[str], channel: str, floor_under: float = 0.0
                    ) -> ListenerSettings:
        """Validated against the meeting: ``channel`` must be ``floor`` or one of its
        languages (``unknown-language`` otherwise)."""
        check_channel(channel, meeting_languages(languages))
        return cls(channel, floor_under)

    @classmethod
    def default_for(cls, languages: Iterable[str], profile_language: str | None
                    ) -> ListenerSettings:
        """The listener's own language when the meeting has it, else the floor."""
        langs = meeting_languages(languages)
        return cls(profile_language if profile_language in langs else FLOOR)

    def floor_under_gain(self, feed: Feed) -> float:
        """The level to mix the floor at under ``feed`` (this listener's channel's feed):
        zero when the channel already is the floor."""
        if self.channel == FLOOR or feed.original:
            return 0.0
        return self.floor_under
