"""Per-person invitations beside shared links; removal bars the person (their invitation, or
the browser behind a shared link), revocation stops a link, and both survive a restart."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.harness import running_server
from tests.integration.test_bad_input import refused
from tests.peers import TestPeer


class DevicePeer(TestPeer):
    """A participant whose browser sends its device key at connect, as web/static/invite.js
    makes the page do."""

    def __init__(self, base_url: str, token: str, name: str, device: str) -> None:
        super().__init__(base_url, token, name)
        self.device = device

    async def connect(self) -> None:
        await self.sio.connect(self.base_url, namespaces=["/room", "/media", "/floor",
                                                           "/interpretation"],
                               auth={"token": self.token, "device": self.device},
                               transports=["websocket"], wait_timeout=10)


def token_of(link: str) -> str:
    return link.split("t=", 1)[1]


async def api(session: aiohttp.ClientSession, method: str, url: str, token: str,
              body: Any = None) -> tuple[int, dict[str, Any]]:
    async with session.request(method, url, json=body,
                               headers={"Authorization": f"Bearer {token}"}) as reply:
        return reply.status, await reply.json()


async def test_personal_invitations_shared_links_removal_and_revocation() -> None:
    folder = Path(tempfile.mkdtemp(prefix="rostrum-invitations-"))
    try:
        await removal_and_revocation_hold(folder, secrets.token_urlsafe(16))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def removal_and_revocation_hold(folder: Path, secret: str) -> None:
    async with running_server(data_dir=folder, secret=secret) as srv:
        base = f"{srv.base_url}/api/meetings/{srv.meeting_id}"
        secretariat = srv.token("secretariat")
        async with aiohttp.ClientSession() as http:
            # the secretariat registers a delegate by name and member state
            status, made = await api(http, "POST", base + "/invitations", secretariat,
                                     {"name": "Ana Mwangi", "memberState": "Kenya"})
            assert status == 201, made
            ana_link = made["link"]
            assert ana_link.startswith(f"{srv.base_url}/m/{srv.meeting_id}?t=")
            assert made["invitation"]["kind"] == "personal"
            # ... and a shared link for the sector members
            status, shared = await api(http, "POST", base + "/links", secretariat,
                                       {"label": "Sector Members"})
            assert status == 201 and shared["invitation"]["kind"] == "shared", shared
            # what the secretariat may not do
            status, reply = await api(http, "POST", base + "/invitations", secretariat,
                                      {"name": "Bad", "role": "chair"})
            assert status == 403 and reply["error"]["code"] == "forbidden"
            status, reply = await api(http, "POST", base + "/invitations",
                                      srv.token("delegate"), {"name": "X"})
            assert status == 403
            status, reply = await api(http, "POST", base + "/invitations", secretariat,
                                      {"name": 5})
            assert status == 400 and reply["error"]["code"] == "bad-request"
            status, reply = await api(http, "POST", base + "/invitations", "forged.token",
                                      {"name": "X"})
            assert status == 401

            chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
            ana = DevicePeer(srv.base_url, token_of(ana_link), "Somebody Else", "device-ana-0001")
            bob = DevicePeer(srv.base_url, token_of(shared["link"]), "Bob", "device-bob-0001")
            carol = DevicePeer(srv.base_url, token_of(shared["link"]), "Carol",
                               "device-carol-001")
            try:
                await chair.join()
                joined = await ana.join(memberState="Atlantis")
                # the personal invitation joins under its registered identity
                assert joined["self"]["name"] == "Ana Mwangi"
                assert joined["self"]["memberState"] == "Kenya"
                await bob.join()
                for removed in (ana, bob):
                    reply = await chair.floor("remove", {"participantId": removed.participant_id})
                    assert reply["ok"], reply
                    await chair.wait_for(lambda r=removed: not r.sio.connected,
                                         what="removed participant disconnected")
                # Ana cannot come back with her link, from any browser
                error = await refused(srv.base_url, {"token": token_of(ana_link),
                                                     "device": "another-browser-1"})
                assert error["data"]["code"] == "forbidden" and "removed" in error["message"]
                # Bob's browser cannot come back with the shared link
                error = await refused(srv.base_url, {"token": token_of(shared["link"]),
                                                     "device": "device-bob-0001"})
                assert error["data"]["code"] == "forbidden", error
                # the shared link still admits others
                await carol.join()
                # the link reads the meeting's documents over HTTP until it is revoked
                status, listing = await api(http, "GET", base + "/documents",
                                            token_of(shared["link"]))
                assert status == 200, listing
                # revocation stops the link for anyone new
                status, reply = await api(
                    http, "POST", base + f"/invitations/{shared['invitation']['id']}/revoke",
                    secretariat)
                assert status == 200 and reply["invitation"]["revokedAt"], reply
                error = await refused(srv.base_url, {"token": token_of(shared["link"]),
                                                     "device": "device-dave-0001"})
                assert error["data"]["code"] == "unauthorized" and "revoked" in error["message"]
                # and over HTTP: documents, search, exports
                for url in (base + "/documents", f"{srv.base_url}/api/search?q=x"):
                    status, reply = await api(http, "GET", url, token_of(shared["link"]))
                    assert status == 401 and "revoked" in reply["error"]["message"], (url, reply)
                async with http.get(base + "/attendance.json", headers={
                        "Authorization": f"Bearer {token_of(shared['link'])}"}) as export:
                    assert export.status == 401 and "revoked" in await export.text()
                status, listing = await api(http, "GET", base + "/invitations", secretariat)
                by_id = {i["id"]: i for i in listing["invitations"]}
                assert by_id[made["invitation"]["id"]]["removedAt"]
                assert by_id[shared["invitation"]["id"]]["revokedAt"]
                status, reply = await api(http, "POST", base + "/invitations/nope/revoke",
                                          secretariat)
                assert status == 404
            finally:
                for peer in (chair, ana, bob, carol):
                    await peer.close()
    # a restart forgets none of it
    async with running_server(data_dir=folder, secret=secret) as srv:
        error = await refused(srv.base_url, {"token": token_of(ana_link)})
        assert error["data"]["code"] == "forbidden"
        base = f"{srv.base_url}/api/meetings/{srv.meeting_id}"
        async with aiohttp.ClientSession() as http:  # over HTTP too, after the restart
            for link, why in ((ana_link, "removed"), (shared["link"], "revoked")):
                status, reply = await api(http, "GET", base + "/documents", token_of(link))
                assert status == 401 and why in reply["error"]["message"], reply
        error = await refused(srv.base_url, {"token": token_of(shared["link"])})
        assert error["data"]["code"] == "unauthorized"
        error = await refused(srv.base_url, {"token": srv.token("delegate"),
                                             "device": "device-bob-0001"})
        assert error["data"]["code"] == "forbidden"
        plain = TestPeer(srv.base_url, srv.token("delegate"), "Plain")
        try:
            await plain.join()  # a plain link (no invitation) from another browser still works
        finally:
            await plain.close()
