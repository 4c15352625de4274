"""What one listener's connection costs the SFU in Python objects, by type.

    python -m bench.footprint [--listeners 3] [--settle 3]
    PYTHONPATH=/path/to/other/checkout python bench/footprint.py   # another tree's sfu/

Makes a Router on a UDP mux (loopback), subscribes ``--listeners`` real aiortc peers (each
answers the offer; DTLS and SRTP come up), waits, and then walks the objects reachable from
the first subscriber's ``Transport`` (``gc.get_referents``), leaving out what the others'
transports reach too (shared: codecs, the router, the mux, the loop, modules, classes,
functions): the objects only that listener holds, summed with ``sys.getsizeof`` per type.
Native memory (OpenSSL, libsrtp) is not counted; bench/run.py's RSS is the whole figure.
No media flows: this is the cost of a connected, idle listener (its seats' caches and rings
are allocated when they first send).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import sys
import types
from typing import Any

from aiortc import RTCSessionDescription

from sfu import aiortc_glue
from sfu.router import Router
from sfu.udp_mux import UdpMux

_SKIP = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
         types.CodeType)


def reachable(root: Any, stop: set[int]) -> dict[int, Any]:
    seen: dict[int, Any] = {}
    todo = [root]
    while todo:
        obj = todo.pop()
        key = id(obj)
        if key in seen or key in stop or isinstance(obj, _SKIP):
            continue
        seen[key] = obj
        todo.extend(gc.get_referents(obj))
    return seen


async def measure(listeners: int, settle_s: float) -> None:
    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    mux = UdpMux(["127.0.0.1"], 0)
    await mux.start()
    router = Router("footprint", udp_mux=mux)
    transports, clients = [], []
    try:
        for i in range(listeners):
            transport = router.create_transport(f"listener{i}", "subscribe")
            sdp = await transport.offer_subscribe(4)
            client = aiortc_glue.create_peer_connection(())
            await client.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await client.setLocalDescription(await client.createAnswer())
            await transport.accept_answer(client.localDescription.sdp)
            transports.append(transport)
            clients.append(client)
        await asyncio.sleep(settle_s)
        print("states:", [t.connection_state for t in transports])
        shared = [router, mux, asyncio.get_running_loop(), sys.modules, *mux.sockets,
                  *clients, getattr(router, "dtls_certificate", None)]
        stop = {id(o) for o in shared if o is not None}
        common = set(reachable(transports[1], stop | {id(transports[0])}))
        for other in transports[2:]:
            common &= set(reachable(other, stop))
        own = reachable(transports[0], stop | common)
        size: collections.Counter[str] = collections.Counter()
        count: collections.Counter[str] = collections.Counter()
        for obj in own.values():
            name = type(obj).__qualname__
            size[name] += sys.getsizeof(obj)
            count[name] += 1
        print(f"one listener: {sum(size.values()) / 1e3:.0f} kB in {len(own)} objects")
        for name, total in size.most_common(20):
            print(f"{total / 1e3:9.1f} kB {count[name]:7d} {name}")
    finally:
        for client in clients:
            await client.close()
        await router.close()
        await mux.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint")
    parser.add_argument("--listeners", type=int, default=3, help="at least 3")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before counting")
    args = parser.parse_args()
    if args.listeners < 3:
        parser.error("--listeners: at least 3 (the shared part is what the others reach)")
    asyncio.run(measure(args.listeners, args.settle))


if __name__ == "__main__":
    main()
