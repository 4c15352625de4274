"""The chair's participant list with 300 participants (a synthetic state in the real page):
the first render is quick, and one change afterwards touches only the rows it concerns, not
the whole list (web/static/people.js keeps rows by participant id)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import join_meeting, new_page

pytestmark = [pytest.mark.browser, pytest.mark.network]

PARTICIPANTS = 300

# Runs in the chair's page: a fake client (same shape as MeetingClient's readers) with 300
# participants from 40 member states, rendered by the real ParticipantList.
SCALE_PROBE = """async (count) => {
    const { ParticipantList, groupParticipants } = await import('/static/people.js');
    const states = Array.from(
        {length: 40}, (_, i) => `Member State ${String(i).padStart(2, '0')}`);
    const participants = Array.from({length: count}, (_, i) => ({
        id: `p${i}`, name: `Delegate ${i}`,
        role: i === 0 ? 'chair' : i % 25 === 0 ? 'interpreter' : 'delegate',
        organization: `Org ${i % 7}`, memberState: i % 25 === 0 ? '' : states[i % states.length],
        language: 'en', audio: i % 3 === 0, video: false, joinedAt: '',
    }));
    const client = Object.assign(new EventTarget(), {
        participants, self: participants[0], mayManage: true, interpretation: null,
        floor: {serverTime: 0, defaultLimitS: 180, closeOnExpiry: false, locked: false,
                muted: [], managers: [], speaker: null, queue: [], question: null},
    });
    let t0 = performance.now();
    const list = new ParticipantList(client, {onError: () => {}});  // renders all 300 rows
    const host = document.createElement('div');
    host.style.cssText = 'position:fixed;inset:0;overflow:auto;background:#fff;z-index:100';
    host.append(list.root);
    document.body.append(host);
    host.getBoundingClientRect();  // include the first layout
    const firstMs = performance.now() - t0;
    const rows = list.root.querySelectorAll('.person').length;
    const groups = groupParticipants(participants).length;

    // One change: someone gets the floor, someone else is muted by the chair.
    const touched = new Set();
    const observer = new MutationObserver((records) => {
        for (const r of records) {
            const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
            const row = node?.closest('.person');
            if (row) touched.add(row.dataset.participant);
            for (const n of r.addedNodes) {
                if (n.classList?.contains('person')) touched.add(n.dataset.participant);
            }
        }
    });
    const all = {subtree: true, childList: true, characterData: true, attributes: true};
    observer.observe(list.root, all);
    const speaker = {participantId: 'p17', name: 'Delegate 17', kind: 'intervention',
                     language: 'en', grantedAt: 0, limitS: 180, remainingS: 180};
    client.floor = {...client.floor, speaker, muted: ['p42']};
    t0 = performance.now();
    list.render();
    const updateMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 0));
    const records = observer.takeRecords();
    observer.disconnect();
    for (const r of records) {
        const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        const row = node?.closest('.person');
        if (row) touched.add(row.dataset.participant);
    }

    // Nothing changed: nothing is touched.
    const idle = new MutationObserver(() => {});
    idle.observe(list.root, all);
    list.render();
    const idleRecords = idle.takeRecords().length;
    idle.disconnect();
    host.remove();
    return {firstMs, updateMs, rows, groups, touched: [...touched].sort(), idleRecords};
}"""


async def test_participant_list_with_300_participants_updates_incrementally(
    launch_browser: Any, rostrum_server: Any
) -> None:
    page = await new_page(await launch_browser(None))
    await join_meeting(page, rostrum_server.join_link(role="chair"), name="Ms Chair")
    result = await page.evaluate(SCALE_PROBE, PARTICIPANTS)
    assert result["rows"] == PARTICIPANTS, result
    assert result["groups"] > 40, result  # officials, 40 member states, interpreters
    assert result["firstMs"] < 1000, result
    assert result["touched"] == ["p17", "p42"], result
    assert result["updateMs"] < 100, result
    assert result["idleRecords"] == 0, result
