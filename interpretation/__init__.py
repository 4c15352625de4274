"""Interpretation as pure state plus rules: which producer feeds which channel.

Channels are ``floor`` plus one per meeting language; each language has a booth with at most
one live microphone. ``Interpretation`` holds one meeting's state and its operations;
``feeds()`` says what feeds every channel, ``incoming_for()`` what an interpreter hears, and
``diff_feeds()`` which channels the SFU has to switch. No I/O, no asyncio.
"""

from interpretation.booths import Booth, BoothInterpreter, Handover
from interpretation.channels import (
    FLOOR,
    UN_LANGUAGES,
    channel_ids,
    check_channel,
    meeting_languages,
    validate_language,
)
from interpretation.errors import ERROR_CODES, ErrorCode, InterpretationError
from interpretation.feeds import (
    Feed,
    FeedKind,
    MicRef,
    channel_feeds,
    diff_feeds,
    incoming_feeds,
    incoming_for,
)
from interpretation.listeners import ListenerSettings
from interpretation.rules import ChangeListener, Interpretation
from interpretation.state import Floor, InterpretationState
from interpretation.status import (
    BoothStatus,
    BoothWarning,
    WarningCode,
    booth_status,
    booth_warnings,
)

__all__ = [
    "ERROR_CODES",
    "FLOOR",
    "UN_LANGUAGES",
    "Booth",
    "BoothInterpreter",
    "BoothStatus",
    "BoothWarning",
    "ChangeListener",
    "ErrorCode",
    "Feed",
    "FeedKind",
    "Floor",
    "Handover",
    "Interpretation",
    "InterpretationError",
    "InterpretationState",
    "ListenerSettings",
    "MicRef",
    "WarningCode",
    "booth_status",
    "booth_warnings",
    "channel_feeds",
    "channel_ids",
    "check_channel",
    "diff_feeds",
    "incoming_feeds",
    "incoming_for",
    "meeting_languages",
    "validate_language",
]
