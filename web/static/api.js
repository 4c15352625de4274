// @ts-check
/**
 * The meeting's HTTP API (docs/protocol.md: documents, invitations) with the invite token as
 * `Authorization: Bearer`: the JSON answer, or an Error carrying the server's `code`.
 */

/**
 * @param {string} meetingId
 * @param {string} token
 * @param {string} path under /api/meetings/<id>
 * @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
export async function meetingApi(meetingId, token, path, init = {}) {
  const response = await fetch(`/api/meetings/${encodeURIComponent(meetingId)}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
  });
  const body = await response.json().catch(() => ({ ok: false, error: { code: "internal", message: response.statusText } }));
  if (!body.ok) {
    const error = new Error(body.error?.message ?? response.statusText);
    /** @type {any} */ (error).code = body.error?.code;
    throw error;
  }
  return body;
}
