/**
 * Reconnection after a dropped connection (docs/protocol.md `resume`): the Socket.IO
 * manager's backoff, how long the page keeps trying, and the room's notice while it does.
 * The protocol part (resume, publish and subscribe again) is MeetingClient's
 * (#onRoomDropped, #resumeAfterDrop in protocol.js); the room's notice is reconnect_notice.js.
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
