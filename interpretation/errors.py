"""The one exception every interpretation rule raises, with a machine code.

A refused operation changes nothing: every rule checks first and commits its new state in one
step afterwards (see ``rules.Interpretation``). The control plane turns the code into the
ack's ``error.code``; the message is for people.
"""

from __future__ import annotations

from typing import Literal, get_args

ErrorCode = Literal[
    "invalid-language",     # not a language code (or a meeting language set that is not valid)
    "unknown-language",     # a well-formed code that is not one of this meeting's languages
    "invalid-participant",  # a participant id that is not a non-empty string
    "invalid-level",        # a floor-under level outside 0..1
    "not-in-booth",         # the interpreter is not assigned to a booth (or not to this one)
    "already-assigned",     # the interpreter already belongs to another booth
    "booth-busy",           # another interpreter of the booth is live: use a handover
    "not-live",             # the operation needs the interpreter's microphone to be live
    "no-handover",          # no handover is pending in the booth
    "forbidden",            # the interpreter may not do this (own booth as relay, someone
                            # else's handover)
]

ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)


class InterpretationError(Exception):
    """A rule refused an operation; ``code`` is one of ``ERROR_CODES``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown interpretation error code {code!r}")
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """``{"code", "message"}``, the shape of the ack's ``error`` field."""
        return {"code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"InterpretationError({self.code!r}, {self.message!r})"
