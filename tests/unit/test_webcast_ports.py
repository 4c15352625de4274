"""The webcast's receiving ports (meeting_server/webcast_process.py): chosen below the
kernel's ephemeral range, so that a socket bound to port 0 meanwhile cannot take one."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from meeting_server.webcast_process import ephemeral_range, free_even_ports


def test_the_ports_are_even_pairs_below_the_ephemeral_range() -> None:
    low, _ = ephemeral_range()
    ports = free_even_ports(7)
    assert len(set(ports)) == 7
    for port in ports:
        assert port % 2 == 0 and port + 1 < low
        for number in (port, port + 1):  # free again once chosen
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", number))
            sock.close()


def test_a_port_in_use_is_not_chosen() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        # an ephemeral range that puts the choice on exactly that pair or the next one
        rng = random.Random(1)
        start = port - port % 2
        ports = free_even_ports(1, ephemeral=(start + 4, 65535),
                                rng=_Sequence([start, start + 2], rng))
        assert ports == [start + 2]
    finally:
        taken.close()


def test_without_room_below_the_range_the_kernel_chooses() -> None:
    ports = free_even_ports(2, ephemeral=(1024, 65535))
    assert len(ports) == 2 and all(port % 2 == 0 for port in ports)


def test_the_range_file_is_read_and_a_bad_one_gives_the_default(tmp_path: Path) -> None:
    good = tmp_path / "range"
    good.write_text("20000\t30000\n", encoding="ascii")
    assert ephemeral_range(good) == (20000, 30000)
    bad = tmp_path / "bad"
    bad.write_text("many\n", encoding="ascii")
    assert ephemeral_range(bad) == (32768, 60999)
    assert ephemeral_range(tmp_path / "none") == (32768, 60999)


class _Sequence(random.Random):
    """randrange gives these values first, then the ordinary random ones."""

    def __init__(self, values: list[int], rng: random.Random) -> None:
        super().__init__()
        self._values = list(values)
        self._rng = rng

    def randrange(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
        if self._values:
            return self._values.pop(0)
        return self._rng.randrange(*args, **kwargs)  # type: ignore[arg-type]
