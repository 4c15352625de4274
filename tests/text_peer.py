"""A test participant that also speaks `/captions` and `/chat` (tests/peers.py's TestPeer
connects the media, floor and interpretation namespaces only)."""

from __future__ import annotations

from typing import Any

from tests.peers import TestPeer

TEXT_NAMESPACES = ("/captions", "/chat")


class TextPeer(TestPeer):
    __test__ = False

    def __init__(self, base_url: str, token: str, name: str = "Peer",
                 device: str = "") -> None:
        super().__init__(base_url, token, name)
        self.device = device  # the browser's device key a page sends at connect
        for ns in TEXT_NAMESPACES:
            self.sio.on("*", self._make_catch_all(ns), namespace=ns)

    async def connect(self) -> None:
        await self.sio.connect(self.base_url,
                               namespaces=["/room", "/media", "/floor", "/interpretation",
                                           *TEXT_NAMESPACES],
                               auth={"token": self.token,
                                     **({"device": self.device} if self.device else {})},
                               transports=["websocket"],
                               wait_timeout=10)

    async def captions(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.call("/captions", event, data)

    async def chat(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.call("/chat", event, data)

    def received(self, event: str, namespace: str) -> list[Any]:
        return [d for ns, name, d in self.events if ns == namespace and name == event]
