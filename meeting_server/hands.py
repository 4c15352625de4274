"""Show of hands: the chair asks a yes / no / abstain question; one answer per participant or
per member state, as the chair sets it. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWERS = ("yes", "no", "abstain")
MODES = ("participant", "member-state")


class HandsError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Question:
    id: str
    text: str
    mode: str
    opened_at: float
    closed_at: float | None = None
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)  # voter -> (pid, answer)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def voter_key(self, participant_id: str, member_state: str) -> str:
        if self.mode == "member-state":
            if not member_state:
                raise HandsError("forbidden", "this question is answered per member state, "
                                 "and you represent none")
            return "ms:" + member_state.casefold()
        return "p:" + participant_id

    def answer(self, participant_id: str, member_state: str, answer: str) -> str:
        """Record (or change) an answer; returns the voter key. For a member state the last
        answer from any of its delegates counts."""
        if not self.open:
            raise HandsError("conflict", "the question is closed")
        if answer not in ANSWERS:
            raise HandsError("bad-request", "answer yes, no or abstain")
        key = self.voter_key(participant_id, member_state)
        self.answers[key] = (participant_id, answer)
        return key

    def totals(self) -> dict[str, int]:
        out = {a: 0 for a in ANSWERS}
        for _, answer in self.answers.values():
            out[answer] += 1
        return out

    def to_json(self, with_answers: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"id": self.id, "text": self.text, "mode": self.mode,
                                   "open": self.open, "totals": self.totals()}
        if with_answers:
            data["answers"] = [{"voter": k, "participantId": pid, "answer": a}
                               for k, (pid, a) in self.answers.items()]
        return data
