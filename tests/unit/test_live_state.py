"""meeting_server/live_state.py and SpeakersList's snapshot: a meeting's live state record
round-trips, a malformed one is refused whole, the floor given comes back as a new
intervention with the rest of its time, and a takeover's request goes to its place."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from meeting_server.cluster import Owner, OwnershipError
from meeting_server.live_state import LiveStateRecord, PendingRequest, who
from meeting_server.meetings import Participant
from meeting_server.speakers_list import FloorError, SpeakersList
from meeting_server.store import AttendanceRecord, ResumeRecord, Store


def record() -> LiveStateRecord:
    speakers = SpeakersList(default_limit_s=120.0)
    speakers.request("ana", "intervention", "on 3.2", "fr", 10.0)
    speakers.grant(now=20.0, participant_id="ben", limit_s=60.0, language="es")
    floor = {"speakers": speakers.snapshot(), "muted": ["cai"],
             "managers": ["sec"], "locked": True}
    return LiveStateRecord(floor, {"fri": "fr"}, {"ana": "device:dk"},
                           (PendingRequest(1, "person|delegate|Dan||Peru", "point-of-order",
                                           "", "en", 11.0),))


def test_a_record_round_trips_through_json() -> None:
    saved = record()
    assert LiveStateRecord.parse(json.loads(json.dumps(saved.to_json()))) == saved


@pytest.mark.parametrize("change", [
    lambda d: d.pop("pending"),
    lambda d: d.update(extra=1),
    lambda d: d.update(floor=[]),
    lambda d: d["floor"].pop("speakers"),
    lambda d: d.update(booths={"fri": 3}),
    lambda d: d.update(people=[]),
    lambda d: d["pending"][0].update(kind="speech"),
    lambda d: d["pending"][0].update(place=-1),
    lambda d: d["pending"][0].update(place=True),
    lambda d: d["pending"][0].update(requestedAt="1"),
    lambda d: d["pending"][0].pop("who"),
])
def test_a_malformed_record_is_refused(change: object) -> None:
    data = json.loads(json.dumps(record().to_json()))
    change(data)  # type: ignore[operator]
    with pytest.raises(ValueError):
        LiveStateRecord.parse(data)


def test_the_floor_given_comes_back_as_a_new_intervention_with_the_rest_of_its_time() -> None:
    snapshot = record().floor["speakers"]
    saved = SpeakersList.saved_speaker(snapshot)
    assert saved is not None and saved.participant_id == "ben" and saved.limit_s == 60.0
    again = SpeakersList()
    again.restore(snapshot, {"ana", "ben"})
    assert again.speaker is None  # restore gives back the list; the floor is give_back's
    grant = again.give_back(saved, now=50.0)  # 30 s spoken (and down) of 60
    assert again.speaker is grant
    assert (grant.participant_id, grant.kind, grant.language) == ("ben", "intervention", "es")
    assert grant.granted_at == 50.0 and grant.limit_s == 30.0
    assert again.give_back(saved, now=500.0).limit_s == 5.0  # at least 5 s
    assert [r.participant_id for r in again.queue] == ["ana"]
    assert again.default_limit_s == 120.0
    unlimited = SpeakersList()
    unlimited.grant(now=1.0, participant_id="ana", limit_s=None)
    back = SpeakersList.saved_speaker(unlimited.snapshot())
    assert back is not None and back.limit_s is None
    assert SpeakersList.saved_speaker({"speaker": {"participantId": "x"}}) is None
    assert SpeakersList.saved_speaker({"speaker": None}) is None


def test_who_is_the_device_else_the_person() -> None:
    ana = Participant("p1", "m", "s1", "Ana", "", "Kenya", "delegate", "fr", 0.0, device="dk")
    ben = Participant("p2", "m", "s2", "Ben", "MoFA", "Peru", "delegate", "en", 0.0)
    assert who(ana) == "device:dk"
    assert who(ben) == "person|delegate|Ben|MoFA|Peru"


def test_restore_puts_a_request_in_its_place_with_its_time() -> None:
    speakers = SpeakersList()
    speakers.request("new", "intervention", "", "en", 50.0)
    first = speakers.put_back("ben", "intervention", "on 3.2", "fr", 10.0, 0)
    assert [r.participant_id for r in speakers.queue] == ["ben", "new"]
    assert first.requested_at == 10.0 and first.note == "on 3.2"
    speakers.put_back("cai", "intervention", "", "fr", 11.0, 1)
    assert [r.participant_id for r in speakers.queue] == ["ben", "cai", "new"]
    speakers.put_back("dan", "intervention", "", "fr", 12.0, 99)  # clamped to the end
    assert speakers.queue[-1].participant_id == "dan"
    with pytest.raises(FloorError):
        speakers.put_back("ben", "intervention", "", "fr", 10.0, 0)
    with pytest.raises(FloorError):
        speakers.put_back("eve", "speech", "", "fr", 10.0, 0)
    assert len({r.id for r in speakers.queue}) == 4


def test_an_owner_record_round_trips_and_a_bad_one_is_refused() -> None:
    owner = Owner("node-a", "http://10.0.0.2:8080")
    assert Owner.parse(owner.to_json()) == owner
    for bad in ('{"node": "a"}', '{"node": "a", "url": "ftp://x"}', "[]", "{",
                '{"node": "", "url": "http://x"}'):
        with pytest.raises(OwnershipError):
            Owner.parse(bad)


def test_the_store_keeps_one_live_state_per_meeting_and_scopes_keys_to_a_node(
        tmp_path: Path) -> None:
    """store.py: the live_state row (saved, read, gone with the meeting), the resume keys of
    one meeting, a node's refresh of only its meetings' keys, and a takeover's attendance
    opened again for those who may resume."""
    async def run() -> None:
        store = Store(tmp_path / "db.sqlite3")
        await store.open()
        try:
            for meeting in ("m1", "m2"):
                await store.create_meeting(meeting, meeting, ("en", "fr"))
            await store.save_live_state("m1", record().to_json())
            assert LiveStateRecord.parse(await store.live_state("m1")) == record()
            assert list(await store.live_states()) == ["m1"]
            await store.save_live_state("m1", None)
            assert await store.live_state("m1") is None
            for pid, meeting in (("a", "m1"), ("b", "m2")):
                await store.save_resume(ResumeRecord(f"h{pid}", pid, meeting, pid, "", "",
                                                     "delegate", "en", None, "", "", 1.0,
                                                     100.0))
                await store.record_join(AttendanceRecord(pid, meeting, pid, "", "",
                                                         "delegate", 1.0, None))
            assert [r.participant_id for r in await store.resume_records(50.0, "m2")] == ["b"]
            assert await store.extend_connected_resume_keys(500.0, ["m1"]) == 1
            expiry = {r.participant_id: r.expires_at for r in await store.resume_records(50.0)}
            assert expiry == {"a": 500.0, "b": 100.0}
            await store.record_leave("a", 2.0, "owner-lost")
            await store.record_leave("b", 2.0, "left")
            assert await store.reopen_attendance(["a", "b"], "owner-lost") == 1
            rows = {r.participant_id: (r.left_at, r.left_reason)
                    for r in await store.attendance("m1") + await store.attendance("m2")}
            assert rows == {"a": (None, None), "b": (2.0, "left")}
        finally:
            await store.close()

    asyncio.run(run())
