"""meeting_server/cluster_floor.py and SpeakersList.restore: the saved speakers' list
round-trips, a malformed one is refused, and a restored request goes to its place."""

from __future__ import annotations

import json

import pytest

from meeting_server.cluster import Owner, OwnershipError
from meeting_server.cluster_floor import SavedRequest, parse_saved, who
from meeting_server.meetings import Participant
from meeting_server.speakers_list import FloorError, SpeakersList


def test_a_saved_list_round_trips() -> None:
    saved = [SavedRequest("device:abc", "intervention", "on 3.2", "fr", 100.5),
             SavedRequest("person|delegate|Ben||Peru", "point-of-order", "", "en", 101.0)]
    text = json.dumps([r.to_json() for r in saved])
    assert parse_saved(text) == saved


@pytest.mark.parametrize("text", ['{}', '[{"who": "x"}]', '[1]',
                                  '[{"who": "x", "kind": "speech", "note": "", "language": '
                                  '"fr", "requestedAt": 1}]',
                                  '[{"who": "x", "kind": "intervention", "note": "", '
                                  '"language": "fr", "requestedAt": "1"}]'])
def test_a_malformed_saved_list_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_saved(text)


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
