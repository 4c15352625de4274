"""``Interpretation``: one meeting's interpretation state and the operations that change it.

Every operation validates first and then replaces the whole immutable ``InterpretationState``
in a single assignment (``_commit``). So a refused operation (an ``InterpretationError``)
changes nothing, and no observer can ever see half of an operation: a handover is one commit
in which the booth's ``live`` field goes from the old interpreter to the new one. An operation
that would change nothing commits nothing and notifies nobody.

The owner (the meeting's service) is the only writer; it applies each change by comparing
``feeds()`` before and after (``diff_feeds``), or from ``on_change``, which is called after
every commit with the states before and after. Roles are the control plane's business: here an
interpreter is whoever the secretariat assigned to a booth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from interpretation.booths import Booth
from interpretation.channels import check_channel, validate_language
from interpretation.errors import InterpretationError
from interpretation.feeds import Feed, channel_feeds
from interpretation.feeds import incoming_feeds as resolve_incoming_feeds
from interpretation.feeds import incoming_for as resolve_incoming_for
from interpretation.state import Floor, InterpretationState
from interpretation.status import BoothStatus, BoothWarning, booth_warnings
from interpretation.status import booth_status as resolve_booth_status

logger = logging.getLogger(__name__)

ChangeListener = Callable[[InterpretationState, InterpretationState], None]


def _check_participant(participant_id: object) -> str:
    if not isinstance(participant_id, str) or not participant_id:
        raise InterpretationError("invalid-participant",
                                  f"{participant_id!r} is not a participant id")
    return participant_id


class Interpretation:
    """The booths, relays and floor of one meeting (languages fixed at creation)."""

    def __init__(self, languages: Iterable[str] | None = None, *,
                 on_change: ChangeListener | None = None, meeting_id: str = "") -> None:
        self._state = InterpretationState.initial(languages)
        self._on_change = on_change
        self._meeting_id = meeting_id

    # --- state -------------------------------------------------------------------------------

    @property
    def state(self) -> InterpretationState:
        """The current state: an immutable snapshot, comparable with ``==``."""
        return self._state

    @property
    def languages(self) -> tuple[str, ...]:
        return self._state.languages

    @property
    def channels(self) -> tuple[str, ...]:
        """``floor`` then each language."""
        return self._state.channels

    @property
    def floor(self) -> Floor:
        return self._state.floor

    def booth(self, language: str) -> Booth:
        return self._state.booth(language)

    def booth_of(self, interpreter: str) -> str | None:
        """The language of the interpreter's booth, or None."""
        booth = self._state.booth_of(interpreter)
        return None if booth is None else booth.language

    def _commit(self, new: InterpretationState) -> None:
        old = self._state
        if new == old:
            return
        self._state = new  # the one and only step that changes anything
        if self._on_change is not None:
            try:
                self._on_change(old, new)
            except Exception:
                logger.exception("[%s] interpretation change listener failed", self._meeting_id)

    def _booth_op(self, interpreter: str, op: Callable[[Booth], Booth]) -> None:
        booth = self._state.require_booth_of(interpreter)
        self._commit(self._state.with_booth(op(booth)))

    # --- assignment (the secretariat) --------------------------------------------------------

    def assign(self, interpreter: str, language: str) -> None:
        """Put an interpreter in the booth of ``language``. Already there: nothing changes;
        in another booth: ``already-assigned`` (unassign first)."""
        _check_participant(interpreter)
        booth = self._state.booth(language)
        current = self._state.booth_of(interpreter)
        if current is not None and current.language != booth.language:
            raise InterpretationError(
                "already-assigned", f"{interpreter} is already in the {current.language} booth")
        self._commit(self._state.with_booth(booth.with_interpreter(interpreter)))

    def unassign(self, interpreter: str) -> None:
        """Take an interpreter out of their booth; if they were live, the booth goes silent."""
        self._booth_op(interpreter, lambda b: b.without_interpreter(interpreter))

    # --- the live microphone -----------------------------------------------------------------

    def go_live(self, interpreter: str) -> None:
        """Open the interpreter's microphone; ``booth-busy`` if a colleague is live."""
        self._booth_op(interpreter, lambda b: b.go_live(interpreter))

    def go_off(self, interpreter: str) -> None:
        """Close the interpreter's microphone: their channel falls back to the floor."""
        self._booth_op(interpreter, lambda b: b.go_off(interpreter))

    def mute(self, language: str) -> None:
        """Close the live microphone of a booth, whoever holds it (the secretariat)."""
        booth = self._state.booth(language)
        self._commit(self._state.with_booth(booth.mute()))

    def request_handover(self, from_interpreter: str, to_interpreter: str | None = None
                         ) -> None:
        """The live interpreter offers the microphone to a colleague (None: any colleague)."""
        self._booth_op(from_interpreter,
                       lambda b: b.request_handover(from_interpreter, to_interpreter))

    def accept_handover(self, to_interpreter: str) -> None:
        """The colleague takes the microphone: it moves in one step, never two live, never
        none."""
        self._booth_op(to_interpreter, lambda b: b.accept_handover(to_interpreter))

    def cancel_handover(self, interpreter: str) -> None:
        """The requester withdraws the offer or the named colleague declines it."""
        self._booth_op(interpreter, lambda b: b.cancel_handover(interpreter))

    def take_over(self, interpreter: str) -> None:
        """The interpreter takes the booth's microphone at once (also in one step)."""
        self._booth_op(interpreter, lambda b: b.take_over(interpreter))

    def cough_on(self, interpreter: str) -> None:
        """Push-to-mute pressed: the booth keeps its channel, but nothing is forwarded."""
        self._booth_op(interpreter, lambda b: b.cough_on(interpreter))

    def cough_off(self, interpreter: str) -> None:
        """Push-to-mute released."""
        self._booth_op(interpreter, lambda b: b.cough_off(interpreter))

    def report_mic_open(self, interpreter: str, open: bool) -> None:
        """The interpreter's client reports its microphone open or closed."""
        self._booth_op(interpreter, lambda b: b.report_mic_open(interpreter, open))

    # --- relay -------------------------------------------------------------------------------

    def set_incoming(self, interpreter: str, source: str) -> None:
        """What the interpreter hears: ``floor`` or another booth's language (relay)."""
        booth = self._state.require_booth_of(interpreter)
        check_channel(source, self._state.languages)
        self._commit(self._state.with_booth(booth.set_incoming(interpreter, source)))

    # --- the floor ---------------------------------------------------------------------------

    def set_floor(self, participant_id: str | None, language: str | None = None) -> None:
        """Who has the floor and the language they declared (the control plane passes the
        speaker's profile language when they declared none; None: not known). The language
        need not be a meeting language (nobody may have a booth for it). With nobody on the
        floor there is no floor language, and ``language`` is ignored."""
        if participant_id is None:
            floor = Floor()
        else:
            _check_participant(participant_id)
            if language is not None:
                validate_language(language)
            floor = Floor(participant_id, language)
        self._commit(self._state.with_floor(floor))

    def remove_participant(self, participant_id: str) -> None:
        """The participant left: out of their booth, off the floor. Never raises."""
        state = self._state
        booth = state.booth_of(participant_id)
        if booth is not None:
            state = state.with_booth(booth.without_interpreter(participant_id))
        if state.floor.speaker == participant_id:
            state = state.with_floor(Floor())
        self._commit(state)

    # --- resolution --------------------------------------------------------------------------

    def feeds(self) -> dict[str, Feed]:
        """Every channel and what feeds it (see ``interpretation.feeds``)."""
        return channel_feeds(self._state)

    def incoming_for(self, interpreter: str) -> Feed:
        """What the interpreter hears (``not-in-booth`` if unassigned)."""
        return resolve_incoming_for(self._state, interpreter)

    def incoming_feeds(self) -> dict[str, Feed]:
        """What every assigned interpreter hears, by participant id."""
        return resolve_incoming_feeds(self._state)

    def warnings(self) -> list[BoothWarning]:
        return booth_warnings(self._state)

    def booth_status(self) -> list[BoothStatus]:
        return resolve_booth_status(self._state)
