// @ts-check
/**
 * Search across meetings (docs/protocol.md, "Search across meetings"): the invite tokens of
 * the meetings this browser joined, kept in localStorage until they expire, and the call to
 * `POST /api/search`. No DOM here: documents.js renders the form and the hits.
 *
 * A token is what lets this browser into a meeting already (it is in the join link); keeping
 * it here lets the delegate search the meetings they attended without asking for each link.
 */

export const KNOWN_MEETINGS_KEY = "rostrum.searchMeetings";
const MAX_MEETINGS = 50;

/**
 * @typedef {{meetingId: string, title: string, token: string, expiresAt: number}} KnownMeeting
 * @typedef {{q: string, language?: string, sources?: string[]}} SearchQuery
 */

/** The expiry (epoch s) a token says it has, 0 when it cannot be read. @param {string} token */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    return typeof payload.exp === "number" ? payload.exp : 0;
  } catch {
    return 0;
  }
}

/** @param {Storage | null} storage @returns {KnownMeeting[]} the unexpired ones, newest first */
export function knownMeetings(storage = safeStorage(), now = Date.now() / 1000) {
  if (!storage) return [];
  try {
    const list = JSON.parse(storage.getItem(KNOWN_MEETINGS_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((m) => m && typeof m.token === "string" && m.expiresAt > now) : [];
  } catch {
    return [];
  }
}

/**
 * Remember a meeting's token (this meeting's, when its page opens).
 * @param {string} meetingId @param {string} token @param {string} title
 */
export function rememberMeeting(meetingId, token, title, storage = safeStorage()) {
  if (!storage || !meetingId || !token) return;
  const expiresAt = tokenExpiry(token);
  const rest = knownMeetings(storage).filter((m) => m.meetingId !== meetingId);
  const list = [{ meetingId, title, token, expiresAt }, ...rest].slice(0, MAX_MEETINGS);
  try {
    storage.setItem(KNOWN_MEETINGS_KEY, JSON.stringify(list));
  } catch {
    /* storage full or refused: search this meeting only */
  }
}

/**
 * Search the meetings of ``tokens``; throws an Error with ``code`` on an error answer.
 * @param {string[]} tokens @param {SearchQuery} query
 */
export async function searchMeetings(tokens, query) {
  const body = { q: query.q, tokens, ...(query.language ? { language: query.language } : {}), ...(query.sources ? { sources: query.sources } : {}) };
  const response = await fetch("/api/search", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ ok: false, error: { code: "internal", message: response.statusText } }));
  if (!answer.ok) {
    const error = new Error(answer.error?.message ?? response.statusText);
    /** @type {any} */ (error).code = answer.error?.code;
    throw error;
  }
  return answer;
}

function safeStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
