/**
 * Reconnection after a dropped connection (docs/protocol.md `resume`): the Socket.IO
 * manager's backoff, how long the page keeps trying, and the room's notice while it does.
 * The protocol part (resume, publish and subscribe again) is MeetingClient's
 * (#onRoomDropped, #resumeAfterDrop in protocol.js); the room's notice is reconnect_notice.js.
 * With several control-plane nodes the attempts go round the living nodes (nodeForAttempt):
 * a page follows its node's death by itself (docs/operations.md).
 */

/**
 * Socket.IO manager options: retry quickly (a network change is over in seconds), never
 * more than every 2 s, with jitter so a room of delegates behind one NAT does not come
 * back in one burst.
 */
export const RECONNECTION = Object.freeze({
  reconnection: true,
  reconnectionDelay: 300,
  reconnectionDelayMax: 2000,
  randomizationFactor: 0.3,
});

/**
 * How long the page keeps trying: the server's grace less a margin for the last attempt's
 * round trip (after the grace the server has let the participant go: join afresh).
 * @param {number} graceS the join ack's `resume.graceS`
 */
export function giveUpAfterMs(graceS) {
  return Math.max(1000, graceS * 1000 - 1500);
}

/**
 * With several nodes, a namespace refused with `moved` (the dead owner's key still lives) or
 * `unavailable` while reconnecting asks again after this long.
 */
export const REFUSED_RETRY_MS = 250;

/**
 * The node a reconnection attempt goes to: the first back to the node the page had, then
 * the join ack's other nodes in turn, round and round.
 * @param {string[]} nodes the living nodes' URLs (join ack `nodes`)
 * @param {string} from the node the connection dropped from
 * @param {number} attempt 1, 2, ... (the Socket.IO manager's `reconnect_attempt`)
 * @returns {string}
 */
export function nodeForAttempt(nodes, from, attempt) {
  const ring = [from, ...nodes.filter((url) => url !== from)];
  return ring[(attempt - 1) % ring.length];
}
