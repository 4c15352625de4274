// @ts-check
/**
 * The invite token out of the address bar: once the participant has joined, the page's
 * address loses its `t=` parameter (history.replaceState), so the token is not left in the
 * history, a bookmark, a screen share or a shoulder-surfer's view. The token moves to this
 * tab's sessionStorage, so a reload ("Join again") still works; it is gone with the tab.
 */

/** @param {string} meetingId */
const storageKey = (meetingId) => `rostrum-invite:${meetingId}`;

/**
 * The token to connect with: the one the page was opened with, else this tab's stored one.
 * @param {string} meetingId
 * @param {string} fromPage
 * @returns {string}
 */
export function inviteToken(meetingId, fromPage) {
  if (fromPage) return fromPage;
  try {
    return sessionStorage.getItem(storageKey(meetingId)) ?? "";
  } catch {
    return "";
  }
}

/**
 * After the join: keep the token for this tab only and take it out of the address.
 * @param {string} meetingId
 * @param {string} token
 */
export function hideInviteToken(meetingId, token) {
  try {
    sessionStorage.setItem(storageKey(meetingId), token);
  } catch {
    // storage refused (a private window with storage off): a reload will need the link again
  }
  const url = new URL(location.href);
  if (!url.searchParams.has("t")) return;
  url.searchParams.delete("t");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

/**
 * This browser's device key (random, kept in localStorage): sent at connect, so that a
 * participant removed from a meeting they entered by a shared link cannot simply come back
 * through the same link from the same browser. It identifies nothing outside the meeting.
 * @returns {string}
 */
export function deviceKey() {
  try {
    let key = localStorage.getItem("rostrum-device") ?? "";
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(key)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("rostrum-device", key);
    }
    return key;
  } catch {
    return "";
  }
}
