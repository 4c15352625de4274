"""docs/protocol.md's table "Who may do what" is the contract: every event against every
role, checked against the running server. A cell saying `forbidden` must get exactly that
error; any other cell must not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.harness import running_server
from tests.text_peer import TextPeer

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROLES = ("chair", "secretariat", "delegate", "interpreter", "captioner", "observer")

# payloads valid for the schema, so that only the permission decides the answer
PAYLOADS: dict[str, dict[str, Any]] = {
    "media-state": {"audio": False, "video": False},
    "publish": {"sdp": "v=0", "sources": {"0": "mic"}},
    "subscribe-answer": {"sdp": "v=0"},
    "pin": {"participantId": None},
    "video": {"enabled": True},
    "request": {"kind": "right-of-reply"},
    "withdraw": {"requestId": "r-none"},
    "grant": {"participantId": "nobody"},
    "deny": {"requestId": "r-none"},
    "reorder": {"order": []},
    "extend": {"seconds": 10},
    "settings": {"closeOnExpiry": False},
    "mute": {"participantId": "nobody"},
    "lock": {"locked": False},
    "remove": {"participantId": "nobody"},
    "hands-open": {"text": "Role check?"},
    "hands-close": {"questionId": "q-none"},
    "rights": {"participantId": "nobody", "enabled": True},
    "hands-answer": {"questionId": "q-none", "answer": "yes"},
    "listen": {"channel": "floor"},
    "assign": {"participantId": "nobody", "language": "en"},
    "handover-request": {},
    "cough": {"on": False},
    "mic-open": {"open": False},
    "incoming": {"source": "floor"},
    "screen-share": {"sharing": True},
    # captions and chat (keyed by namespace where an event name is shared)
    "subscribe": {"language": "en"},
    "claim": {"language": "en"},
    "interim": {"text": "role check"},
    "final": {"text": "role check"},
    "correct": {"id": 1, "text": "role check"},
    "ingest-url": {"language": "en"},
    "ingest-rotate": {"language": "en"},
    "ingest-revoke": {"language": "en"},
    "send": {"text": "role check"},
    "/chat remove": {"id": 999999},
    "/chat settings": {"publicEnabled": True},
}
NOT_RUN = {"join", "leave", "end-meeting", "mute-all", "handover-*"}  # destructive or covered


def table() -> list[tuple[str, list[str], dict[str, str]]]:
    text = PROTOCOL.read_text()
    section = text.split("## Who may do what", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[0].startswith("`/"):
            continue
        namespace = re.match(r"`(/\w+)`", cells[0])
        assert namespace is not None, line
        events = [e.strip() for e in cells[0].split("`", 2)[2].split(",")]
        rows.append((namespace.group(1), events, dict(zip(ROLES, cells[1:], strict=True))))
    return rows


def test_the_table_covers_every_namespace() -> None:
    namespaces = {ns for ns, _, _ in table()}
    assert namespaces == {"/room", "/media", "/floor", "/interpretation", "/captions", "/chat"}


async def test_every_event_against_every_role_matches_the_table() -> None:
    async with running_server(floor_mode="chaired") as srv:
        peers: dict[str, TextPeer] = {}
        try:
            for role in ROLES:
                peers[role] = TextPeer(srv.base_url, srv.token(role), role.title())
                await peers[role].join()
            checked = 0
            for namespace, events, cells in table():
                for event in events:
                    if event in NOT_RUN:
                        continue
                    for role, cell in cells.items():
                        if cell.startswith("in a booth"):
                            continue  # depends on the booth state: test_interpretation.py
                        reply = await peers[role].call(namespace, event,
                                                       PAYLOADS.get(f"{namespace} {event}",
                                                                    PAYLOADS.get(event, {})))
                        code = reply.get("error", {}).get("code") if not reply["ok"] else None
                        # nobody here holds `rights` or the documents' presenter right
                        if cell in ("`forbidden`", "with `rights`", "with the presenter right"):
                            assert code == "forbidden", (namespace, event, role, reply)
                        else:
                            assert code != "forbidden", (namespace, event, role, reply)
                        checked += 1
            assert checked > 150
            # "with rights": once the chair delegates them, the secretariat runs the floor
            sec = peers["secretariat"]
            assert (await peers["chair"].floor("rights", {
                "participantId": sec.participant_id, "enabled": True}))["ok"]
            reply = await sec.floor("settings", {"closeOnExpiry": False})
            assert reply["ok"], reply
        finally:
            for peer in peers.values():
                await peer.close()
