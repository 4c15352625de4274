"""The receive path's first stage, before and after the UDP mux, in µs per datagram.

From the socket's callback to the ICE connection's queue (where aiortc's DTLS transport
reads it; everything after that is the same code on both paths):

- per-connection (before): aioice's ``StunProtocol.datagram_received`` on the connection's own
  socket, which tries to parse every datagram as STUN first;
- mux (after): ``MuxSocket.datagram_received`` (sfu/udp_mux.py) on the worker's one socket,
  which routes by first byte and remote address among ``connections`` learnt addresses.

Real aioice ``Connection`` objects, SRTP-sized datagrams, timed with perf_counter; the best of
``rounds`` runs of ``packets`` datagrams. Run: ``python -m bench.run --rx-path``.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

import aioice.ice
import aioice.stun

from sfu import aiortc_glue
from sfu.udp_mux import UdpMux


@dataclass
class RxResult:
    path: str
    connections: int
    us_per_datagram: float


def _check(connection: aioice.ice.Connection) -> bytes:
    message = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                                  message_class=aioice.stun.Class.REQUEST)
    message.attributes["USERNAME"] = f"{connection.local_username}:peer"
    message.attributes["PRIORITY"] = 1
    message.attributes["ICE-CONTROLLING"] = 1
    message.add_message_integrity(connection.local_password.encode())
    return bytes(message)


def _time(feed: object, data: bytes, addr: tuple[str, int], packets: int, rounds: int,
          drain: list[asyncio.Queue[Any]]) -> float:
    call = feed.__call__  # type: ignore[operator]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(packets):
            call(data, addr)
        best = min(best, time.perf_counter() - start)
        for queue in drain:
            while not queue.empty():
                queue.get_nowait()
    return 1e6 * best / packets


async def measure(connections: int = 300, packets: int = 100_000, rounds: int = 5
                  ) -> list[RxResult]:
    data = b"\x80\x6f" + os.urandom(160)  # an SRTP packet of Opus's size
    results: list[RxResult] = []

    # before: one aioice connection with its own socket
    own = aioice.ice.Connection(ice_controlling=False, use_ipv6=False)
    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    try:
        await own.gather_candidates()
    finally:
        aiortc_glue.restrict_host_addresses([])
    protocol = aiortc_glue.ice_protocols(own)[0]
    queue = aiortc_glue.ice_queue(own)
    us = _time(protocol.datagram_received, data, ("127.0.0.1", 50000), packets, rounds, [queue])
    results.append(RxResult("per-connection socket (aioice)", 1, us))
    await own.close()

    # after: the mux with `connections` agents, each with a learnt address
    mux = UdpMux(["127.0.0.1"], 0)
    await mux.start()
    agents = []
    try:
        mux_socket = mux.sockets[0]
        for i in range(connections):
            agent = aioice.ice.Connection(ice_controlling=False, use_ipv6=False)
            aiortc_glue.gather_on_mux(agent, mux)
            await agent.gather_candidates()
            mux_socket.datagram_received(_check(agent), ("127.0.0.1", 20000 + i))
            agents.append(agent)
        assert mux_socket.routes() == (connections, connections)
        queues = [aiortc_glue.ice_queue(a) for a in agents]
        us = _time(mux_socket.datagram_received, data, ("127.0.0.1", 20000 + connections // 2),
                   packets, rounds, queues)
        results.append(RxResult("worker's UDP mux", connections, us))
    finally:
        for agent in agents:
            await agent.close()
        await mux.close()
    return results


def markdown(results: list[RxResult]) -> str:
    lines = ["| receive path (socket callback → ICE queue) | connections | µs/datagram |",
             "|---|---|---|"]
    lines += [f"| {r.path} | {r.connections} | {r.us_per_datagram:.2f} |" for r in results]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(asyncio.run(measure())))
