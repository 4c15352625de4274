// @ts-check
/**
 * The room's link to the meeting's record page (record.js), for the chair and the
 * secretariat: it opens in a new tab with the invite token of this page.
 */

import { h } from "./dom.js";
import { t, msg } from "./i18n.js";
import { inviteToken } from "./invite.js";

/**
 * @param {import("./protocol.js").MeetingClient} client joined already
 * @returns {HTMLElement | null} null for the other roles
 */
export function recordLink(client) {
  const role = client.self?.role;
  const meeting = client.meeting;
  // the address lost its token after the join (invite.js): this tab keeps it
  const token = meeting ? inviteToken(meeting.id, "") : "";
  if (!meeting || !token || (role !== "chair" && role !== "secretariat")) return null;
  const href = `/m/${encodeURIComponent(meeting.id)}/record?t=${encodeURIComponent(token)}&lang=${encodeURIComponent(document.documentElement.lang || "en")}`;
  return h("p", { class: "record-link" }, h("a", { attrs: { id: "record-link", href, target: "_blank", rel: "noopener" }, text: msg("record.open") }));
}
