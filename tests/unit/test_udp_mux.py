"""sfu/udp_mux.py: routing rules on real sockets, with recording endpoints in place of aioice."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import aioice.stun
import pytest

from sfu import fanout
from sfu.udp_mux import MuxError, UdpMux

PEER = ("127.0.0.1", 50001)
OTHER = ("127.0.0.1", 50002)


@dataclass
class Recorder:
    name: str
    stun: list[tuple[bytes, tuple[str, int]]] = field(default_factory=list)
    media: list[bytes] = field(default_factory=list)
    pending: set[bytes] = field(default_factory=set)

    def stun_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stun.append((data, addr))

    def media_received(self, data: bytes) -> None:
        self.media.append(data)

    def awaiting(self, transaction_id: bytes) -> bool:
        return transaction_id in self.pending


def check(username: str, key: bytes | None) -> bytes:
    message = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                                  message_class=aioice.stun.Class.REQUEST)
    message.attributes["USERNAME"] = username
    if key is not None:
        message.add_message_integrity(key)
    return bytes(message)


def response(transaction_id: bytes) -> bytes:
    message = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                                  message_class=aioice.stun.Class.RESPONSE,
                                  transaction_id=transaction_id)
    message.attributes["XOR-MAPPED-ADDRESS"] = PEER
    return bytes(message)


async def started(port: int = 0) -> UdpMux:
    mux = UdpMux(["127.0.0.1"], port)
    await mux.start()
    return mux


async def test_checks_route_by_ufrag_and_teach_the_address() -> None:
    mux = await started()
    try:
        s = mux.sockets[0]
        alice, bob = Recorder("alice"), Recorder("bob")
        s.register("aliceufr", "alice-password-22-chars", alice)
        s.register("bobufrag", "bob-password-22-charsxx", bob)
        rtp = b"\x80" + bytes(40)
        s.datagram_received(rtp, PEER)  # before any check: nobody's
        assert alice.media == [] and mux.stats().unknown_address == 1
        s.datagram_received(check("aliceufr:remote", b"wrong"), PEER)
        s.datagram_received(check("aliceufr:remote", None), PEER)
        s.datagram_received(check("nobody:remote", b"alice-password-22-chars"), PEER)
        assert alice.stun == [] and s.endpoint_at(PEER) is None
        assert mux.stats().bad_integrity == 2 and mux.stats().unknown_ufrag == 1
        good = check("aliceufr:remote", b"alice-password-22-chars")
        s.datagram_received(good, PEER)
        assert alice.stun == [(good, PEER)] and s.endpoint_at(PEER) is alice
        s.datagram_received(rtp, PEER)
        s.datagram_received(b"\x16\xfe\xfd" + bytes(20), PEER)  # DTLS
        assert alice.media == [rtp, b"\x16\xfe\xfd" + bytes(20)] and bob.media == []
        # a valid check of another agent from the same address moves the address
        s.datagram_received(check("bobufrag:remote", b"bob-password-22-charsxx"), PEER)
        s.datagram_received(rtp, PEER)
        assert bob.media == [rtp] and len(alice.media) == 2
        # first bytes outside RFC 7983's ranges, and empty datagrams, are nobody's
        for data in (b"", b"\x40" + bytes(30), b"\xff" * 30, b"\x04" + bytes(30)):
            s.datagram_received(data, PEER)
        assert bob.media == [rtp] and mux.stats().malformed == 4
        s.unregister(bob)
        s.datagram_received(rtp, PEER)
        assert bob.media == [rtp] and s.routes() == (1, 0)
    finally:
        await mux.close()


async def test_answers_route_by_transaction_once() -> None:
    mux = await started()
    try:
        s = mux.sockets[0]
        alice = Recorder("alice")
        s.register("aliceufr", "alice-password-22-chars", alice)
        s.datagram_received(response(b"t" * 12), OTHER)
        assert alice.stun == [] and mux.stats().unknown_transaction == 1
        s.expect_response(b"t" * 12, alice)
        s.datagram_received(response(b"t" * 12), OTHER)
        s.datagram_received(response(b"t" * 12), OTHER)  # a retransmitted answer
        assert len(alice.stun) == 1 and mux.stats().unknown_transaction == 2
        assert s.endpoint_at(OTHER) is None  # an answer teaches no address
    finally:
        await mux.close()


async def test_timed_out_transactions_are_forgotten() -> None:
    mux = await started()
    try:
        s = mux.sockets[0]
        alice = Recorder("alice")
        s.register("aliceufr", "alice-password-22-chars", alice)
        for i in range(1000):
            s.expect_response(i.to_bytes(12, "big"), alice)  # alice waits for none of them
        assert len(s._by_transaction) <= 256 + 8 + 1
    finally:
        await mux.close()


async def test_port_is_shared_refused_and_released() -> None:
    mux = await started()
    try:
        port = mux.port
        assert port > 0 and mux.sockets[0].address == ("127.0.0.1", port)
        with pytest.raises(MuxError, match=f"port {port}"):
            await started(port)
        s = mux.sockets[0]
        s.register("aliceufr", "x" * 22, Recorder("a"))
        with pytest.raises(MuxError):
            s.register("aliceufr", "y" * 22, Recorder("b"))
        ufrags = {mux.new_ufrag() for _ in range(50)}
        assert len(ufrags) == 50 and all(len(u) == 8 and u.isalnum() for u in ufrags)
    finally:
        await mux.close()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", port))  # closed: the port is free again
    probe.close()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        UdpMux(["127.0.0.1"], 70000)
    with pytest.raises(ValueError):
        UdpMux([], 40000)
    with pytest.raises(ValueError):
        UdpMux(["not-an-address"], 40000)
    with pytest.raises(ValueError, match="announced address"):
        UdpMux(["0.0.0.0"], 40000)  # the wildcard cannot be a host candidate
    with pytest.raises(ValueError, match="exactly one"):
        UdpMux(["127.0.0.1", "10.0.0.1"], 40000, "203.0.113.7")
    with pytest.raises(ValueError, match="same IP version"):
        UdpMux(["127.0.0.1"], 40000, "2001:db8::7")
    with pytest.raises(ValueError, match="wildcard"):
        UdpMux(["127.0.0.1"], 40000, "0.0.0.0")
    with pytest.raises(ValueError):
        UdpMux(["127.0.0.1"], 40000, "example.org")


async def test_sent_datagrams_are_counted_and_the_snapshot_has_every_counter() -> None:
    mux = await started()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2.0)
    try:
        s = mux.sockets[0]
        alice = Recorder("alice")
        s.register("aliceufr", "alice-password-22-chars", alice)
        s.sendto(b"\x80" + bytes(20), receiver.getsockname())
        s.sendto(b"\x80" + bytes(21), receiver.getsockname())
        assert receiver.recv(100) == b"\x80" + bytes(20)
        s.datagram_received(check("aliceufr:r", b"alice-password-22-chars"), PEER)
        s.datagram_received(b"\x80" + bytes(40), PEER)
        s.datagram_received(b"\x80" + bytes(40), OTHER)
        s.datagram_received(b"\xff", PEER)
        s.datagram_received(check("nobody:r", b"x"), PEER)
        s.datagram_received(check("aliceufr:r", b"wrong"), PEER)
        s.datagram_received(response(b"u" * 12), PEER)
        snapshot = mux.snapshot()
        assert (snapshot.port, snapshot.received_stun, snapshot.received_media, snapshot.sent,
                snapshot.dropped_unknown_address, snapshot.dropped_not_stun,
                snapshot.dropped_unknown_ufrag, snapshot.dropped_bad_integrity,
                snapshot.dropped_unknown_transaction) == (mux.port, 1, 1, 2, 1, 1, 1, 1, 1)
    finally:
        receiver.close()
        await mux.close()


async def test_an_announced_address_names_the_candidate_and_the_socket_binds_another() -> None:
    mux = UdpMux(["0.0.0.0"], 0, "203.0.113.7")
    await mux.start()
    try:
        s = mux.sockets[0]
        assert s.address == ("0.0.0.0", mux.port)
        assert s.announced == ("203.0.113.7", mux.port)
    finally:
        await mux.close()
    plain = await started()
    try:
        assert plain.sockets[0].announced == plain.sockets[0].address  # nothing announced
    finally:
        await plain.close()


async def test_the_c_paths_datagrams_are_counted_as_sent() -> None:
    # the C send path's Tx sends with sendmmsg on a dup of the mux socket, past
    # MuxSocket.sendto: the mux counts them from the Tx, and keeps them once it closes
    assert fanout.native is not None  # scripts/setup.sh builds it
    mux = await started()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2.0)
    try:
        mux_socket = mux.sockets[0]
        sock = mux_socket.transport.get_extra_info("socket")  # type: ignore[union-attr]
        mux_socket.sendto(b"\x00" * 20, receiver.getsockname())
        assert mux.snapshot().sent == 1
        tx = fanout.native.Tx(sock.fileno(), *receiver.getsockname())
        mux.add_sender(tx)
        rtp = bytes([0x80, 96, 0, 1]) + bytes(8) + b"payload"
        assert tx.send(rtp) and tx.send(rtp)
        assert receiver.recv(100) == b"\x00" * 20 and receiver.recv(100) == rtp
        assert tx.sent == 2 and mux.snapshot().sent == 3
        tx.close()
        mux.sender_closed(tx)
        mux.sender_closed(tx)  # once only
        assert mux.snapshot().sent == 3
    finally:
        receiver.close()
        await mux.close()


async def test_a_worker_behind_answers_ice_first_and_sheds_its_oldest_media() -> None:
    """Datagrams that queued while the loop was busy are read in one turn: the STUN among them
    is routed before any media, and when more than a full batch waited, only the newest
    MEDIA_KEEP media datagrams are routed (the rest counted as ``overload``): a worker that
    fell behind keeps its connections' consent instead of answering it seconds late."""
    from sfu import udp_mux

    mux = await started()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    address = peer.getsockname()
    try:
        s = mux.sockets[0]
        alice = Recorder("alice")
        s.register("aliceufr", "alice-password-22-chars", alice)
        s.datagram_received(check("aliceufr:r", b"alice-password-22-chars"), address)
        assert s.endpoint_at(address) is alice
        # a burst smaller than a batch: everything routed, STUN first, media in order
        burst = [b"\x80" + i.to_bytes(4, "big") + bytes(20) for i in range(10)]
        for data in burst:
            peer.sendto(data, s.address)
        peer.sendto(check("aliceufr:r", b"alice-password-22-chars"), s.address)
        await wait_until(lambda: len(alice.media) == 10)
        assert alice.media == burst and len(alice.stun) == 2
        assert mux.stats().overload == 0
        # the loop held up while 3,000 datagrams queued, a check last: a full batch and more
        alice.media.clear()
        queued = [b"\x80" + i.to_bytes(4, "big") + bytes(20) for i in range(3000)]
        for data in queued:
            peer.sendto(data, s.address)
        peer.sendto(check("aliceufr:r", b"alice-password-22-chars"), s.address)
        await wait_until(lambda: len(alice.stun) == 3)
        assert len(alice.media) == udp_mux.MEDIA_KEEP  # routed in the same turn as the check
        assert alice.media == queued[-udp_mux.MEDIA_KEEP:]
        assert mux.stats().overload == 3000 - udp_mux.MEDIA_KEEP
        assert mux.snapshot().dropped_overload == 3000 - udp_mux.MEDIA_KEEP
    finally:
        peer.close()
        await mux.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.01)
