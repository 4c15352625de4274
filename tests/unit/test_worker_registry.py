"""sfu/worker_registry.py: a registry entry round-trips; a malformed one is refused with a
clear RegistryError; addresses and ids are checked."""

from __future__ import annotations

import json

import pytest

from sfu.worker_registry import RegistryError, WorkerEntry, check_id, key, split_address

ENTRY = WorkerEntry("media-1", "10.0.0.2:7001", "10.0.0.2", 40000, 500, 4, 12, 1, 4242)


def test_an_entry_round_trips() -> None:
    assert WorkerEntry.parse(ENTRY.to_json()) == ENTRY
    assert WorkerEntry.parse(ENTRY.to_json().encode()) == ENTRY
    assert key("rostrum", "media-1") == "rostrum:workers:media-1"


@pytest.mark.parametrize(("change", "message"), [
    ({"capacity": "500"}, "capacity: a non-negative integer"),
    ({"pid": -1}, "pid: a non-negative integer"),
    ({"seats": True}, "seats: a non-negative integer"),
    ({"address": "10.0.0.2"}, "HOST:PORT"),
    ({"address": "10.0.0.2:99999"}, "HOST:PORT"),
    ({"id": "../x"}, "a worker id"),
    ({"extra": 1}, "has the fields"),
])
def test_a_bad_entry_is_refused(change: dict[str, object], message: str) -> None:
    data = {**json.loads(ENTRY.to_json()), **change}
    with pytest.raises(RegistryError, match=message):
        WorkerEntry.parse(json.dumps(data))


def test_not_json_is_refused() -> None:
    with pytest.raises(RegistryError, match="JSON"):
        WorkerEntry.parse("{")
    with pytest.raises(RegistryError, match="an object"):
        WorkerEntry.parse("[1]")


def test_addresses_and_ids() -> None:
    assert split_address("[::1]:7001") == ("::1", 7001)
    assert split_address("h.example:1") == ("h.example", 1)
    for bad in ("", ":7001", "h:", "h:0", "h:x"):
        with pytest.raises(RegistryError):
            split_address(bad)
    assert check_id("a.b_c-1") == "a.b_c-1"
    with pytest.raises(RegistryError):
        check_id("a" * 65)
