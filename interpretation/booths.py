"""A booth: one language, its interpreters, and at most one live microphone.

``Booth`` is an immutable value and every rule here returns a new ``Booth`` or raises
``InterpretationError`` (the old value is untouched, so a refused operation changes nothing).

The live microphone is a single field, ``live``: a booth cannot hold two live microphones, and
moving the microphone from one interpreter to another (``accept_handover``, ``take_over``) is a
single replacement of that field, so no observer can see the booth with none in between.

Rules kept here (those that need only the booth); the rules that need the whole meeting (one
booth per interpreter, which channels exist, the floor) are in ``rules.Interpretation``:

- ``go_live``: the booth must be silent, or the caller already live (a repeated press is
  harmless); another live interpreter means ``booth-busy``: hand over instead.
- ``request_handover`` (by the live interpreter, optionally naming a colleague) then
  ``accept_handover`` (by that colleague, or by any colleague when none was named);
  ``cancel_handover`` by the requester or the named colleague (who declines).
- ``take_over``: a colleague takes the microphone at once (or goes live in a silent booth).
- ``go_off`` (the live interpreter) and ``mute`` (the secretariat, whoever is live): the booth
  goes silent and its channel falls back to the floor. From a colleague who is not live, or on
  a silent booth, they change nothing: the microphone is already off.
- ``cough_on`` / ``cough_off``: push-to-mute. The microphone stays live, so the booth keeps its
  channel (listeners are not switched to the floor for a cough), but nothing is forwarded.
  Both are idempotent because a held key repeats; any change of the live microphone ends a
  cough.
- ``report_mic_open``: what the interpreter's client says about its microphone; two open ones
  in one booth is a warning (``two_mics_open``), not an error: the server cannot close them.
- ``set_incoming``: what the interpreter hears, ``floor`` or another booth (relay); never
  their own booth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from interpretation.channels import FLOOR, validate_language
from interpretation.errors import InterpretationError


@dataclass(frozen=True, slots=True)
class BoothInterpreter:
    """One interpreter of a booth: who, what they hear, and their client's microphone."""

    participant_id: str
    incoming: str = FLOOR  # "floor" or another booth's language (relay)
    mic_open: bool = False  # as last reported by their client


@dataclass(frozen=True, slots=True)
class Handover:
    """A pending handover: the live interpreter asks a colleague to take the microphone."""

    from_interpreter: str
    to_interpreter: str | None = None  # None: any colleague of the booth may accept


@dataclass(frozen=True, slots=True)
class Booth:
    language: str
    interpreters: tuple[BoothInterpreter, ...] = ()  # in order of assignment
    live: str | None = None  # the one live microphone, or None: the booth is silent
    coughing: bool = False
    handover: Handover | None = None

    def __post_init__(self) -> None:
        # Invariants; a failure here is a bug in the rules, not a user error.
        validate_language(self.language)
        ids = self.interpreter_ids
        if len(set(ids)) != len(ids):
            raise ValueError(f"booth {self.language}: an interpreter is listed twice")
        if self.live is not None and self.live not in ids:
            raise ValueError(f"booth {self.language}: live {self.live!r} is not in the booth")
        if self.coughing and self.live is None:
            raise ValueError(f"booth {self.language}: coughing without a live microphone")
        if self.handover is not None:
            h = self.handover
            if h.from_interpreter != self.live:
                raise ValueError(f"booth {self.language}: handover not from the live interpreter")
            if h.to_interpreter is not None and (h.to_interpreter not in ids
                                                 or h.to_interpreter == self.live):
                raise ValueError(f"booth {self.language}: bad handover target")
        for i in self.interpreters:
            if i.incoming == self.language:
                raise ValueError(f"booth {self.language}: {i.participant_id} relays own booth")

    # --- queries -----------------------------------------------------------------------------

    @property
    def interpreter_ids(self) -> tuple[str, ...]:
        return tuple(i.participant_id for i in self.interpreters)

    @property
    def is_live(self) -> bool:
        return self.live is not None

    @property
    def open_mics(self) -> tuple[str, ...]:
        """Interpreters whose client reports an open microphone."""
        return tuple(i.participant_id for i in self.interpreters if i.mic_open)

    @property
    def two_mics_open(self) -> bool:
        return len(self.open_mics) >= 2

    def member(self, interpreter: str) -> BoothInterpreter | None:
        for i in self.interpreters:
            if i.participant_id == interpreter:
                return i
        return None

    def _require(self, interpreter: str) -> BoothInterpreter:
        found = self.member(interpreter)
        if found is None:
            raise InterpretationError("not-in-booth",
                                      f"{interpreter} is not in the {self.language} booth")
        return found

    def _require_live(self, interpreter: str, doing: str) -> None:
        self._require(interpreter)
        if self.live != interpreter:
            raise InterpretationError(
                "not-live", f"{interpreter} must be live in the {self.language} booth to {doing}")

    def _with_live(self, interpreter: str | None) -> Booth:
        """The live microphone moves (or stops) in one step; a cough and a handover end."""
        return replace(self, live=interpreter, coughing=False, handover=None)

    def _with_member(self, member: BoothInterpreter) -> Booth:
        return replace(self, interpreters=tuple(
            member if i.participant_id == member.participant_id else i
            for i in self.interpreters))

    # --- assignment (the secretariat) --------------------------------------------------------

    def with_interpreter(self, interpreter: str) -> Booth:
        """Add an interpreter (silent, hearing the floor); already there: unchanged."""
        if self.member(interpreter) is not None:
            return self
        return replace(self, interpreters=(*self.interpreters, BoothInterpreter(interpreter)))

    def without_interpreter(self, interpreter: str) -> Booth:
        """Remove an interpreter. If they were live the booth goes silent (floor passthrough);
        a handover they asked for or were asked to accept is dropped."""
        self._require(interpreter)
        booth = self._with_live(None) if self.live == interpreter else self
        h = booth.handover
        if h is not None and h.to_interpreter == interpreter:
            booth = replace(booth, handover=None)
        return replace(booth, interpreters=tuple(
            i for i in booth.interpreters if i.participant_id != interpreter))

    # --- the live microphone -----------------------------------------------------------------

    def go_live(self, interpreter: str) -> Booth:
        self._require(interpreter)
        if self.live == interpreter:
            return self
        if self.live is not None:
            raise InterpretationError(
                "booth-busy", f"{self.live} is live in the {self.language} booth: "
                              "ask for a handover or take over")
        return self._with_live(interpreter)

    def go_off(self, interpreter: str) -> Booth:
        """The interpreter closes their microphone; not live already: unchanged."""
        self._require(interpreter)
        if self.live != interpreter:
            return self
        return self._with_live(None)

    def mute(self) -> Booth:
        """Close the booth's live microphone, whoever holds it; silent already: unchanged."""
        if self.live is None:
            return self
        return self._with_live(None)

    def take_over(self, interpreter: str) -> Booth:
        """The interpreter takes the microphone at once (a silent booth: they just go live)."""
        self._require(interpreter)
        if self.live == interpreter:
            return self
        return self._with_live(interpreter)

    def request_handover(self, from_interpreter: str, to_interpreter: str | None = None
                         ) -> Booth:
        """The live interpreter asks for a handover; a new request replaces a pending one."""
        self._require_live(from_interpreter, "ask for a handover")
        if to_interpreter is not None:
            self._require(to_interpreter)
            if to_interpreter == from_interpreter:
                raise InterpretationError("forbidden", "a handover must go to a colleague")
        return replace(self, handover=Handover(from_interpreter, to_interpreter))

    def accept_handover(self, to_interpreter: str) -> Booth:
        """The colleague takes the microphone: it moves from the requester in one step."""
        self._require(to_interpreter)
        h = self.handover
        if h is None:
            raise InterpretationError("no-handover",
                                      f"no handover is pending in the {self.language} booth")
        if to_interpreter == h.from_interpreter:
            raise InterpretationError("forbidden", "the requester cannot accept their own "
                                                   "handover")
        if h.to_interpreter is not None and h.to_interpreter != to_interpreter:
            raise InterpretationError("forbidden",
                                      f"the handover is offered to {h.to_interpreter}")
        return self._with_live(to_interpreter)

    def cancel_handover(self, interpreter: str) -> Booth:
        """The requester withdraws, or the named colleague declines."""
        self._require(interpreter)
        h = self.handover
        if h is None:
            raise InterpretationError("no-handover",
                                      f"no handover is pending in the {self.language} booth")
        if interpreter not in (h.from_interpreter, h.to_interpreter):
            raise InterpretationError("forbidden", f"the handover is not {interpreter}'s to "
                                                   "cancel")
        return replace(self, handover=None)

    # --- cough (push-to-mute) ----------------------------------------------------------------

    def cough_on(self, interpreter: str) -> Booth:
        self._require_live(interpreter, "cough")
        return replace(self, coughing=True)

    def cough_off(self, interpreter: str) -> Booth:
        """Idempotent; from someone not live (a key released after a handover) it is a no-op."""
        self._require(interpreter)
        if self.live != interpreter or not self.coughing:
            return self
        return replace(self, coughing=False)

    # --- the interpreter's client and ears ---------------------------------------------------

    def report_mic_open(self, interpreter: str, mic_open: bool) -> Booth:
        member = self._require(interpreter)
        return self._with_member(replace(member, mic_open=bool(mic_open)))

    def set_incoming(self, interpreter: str, source: str) -> Booth:
        """``source`` must already be checked to be a channel of the meeting."""
        member = self._require(interpreter)
        if source == self.language:
            raise InterpretationError("forbidden",
                                      "an interpreter cannot relay from their own booth")
        return self._with_member(replace(member, incoming=source))
