// @ts-check
/**
 * Rostrum's browser client: everything that talks to the server (Socket.IO) and to WebRTC.
 * No DOM code here; page modules (join.js, room.js) render and bind.
 *
 * Wire protocol: docs/protocol.md. One engine.io connection (one socket.io `Manager`) carries
 * the `/room`, `/media`, `/floor` and `/interpretation` namespaces: the server knows a
 * participant by that connection, so every namespace must share it. Each namespace's connect
 * offers the invite token (`auth: {token}`).
 *
 * Events dispatched by `MeetingClient` (all `CustomEvent`, payload in `detail`):
 * - `joined`           `{self, meeting, participants}` after a successful join
 * - `presence`         `{event: "joined"|"left"|"updated", participant}` someone else changed
 * - `participants`     `{participants}` the list after any change (self included)
 * - `slots`            `{slots: SlotView[]}` after the subscribe negotiation and on each `slots`
 * - `slot`             `{slot: SlotView}` for each slot whose source or layer changed
 * - `connectionstate`  `{which: "signaling"|"publish"|"subscribe", state}` on every change
 * - `disconnected`     `{reason, ended}` the signaling connection is gone (the server dropped
 *                      us; `ended`: after `removed` / `meeting-ended`, so expected)
 * - `mictrack`         `{track}` the published microphone track was replaced (setOriginalSound)
 * - `video`            `{enabled}` the listener's "low bandwidth" switch changed (setVideoEnabled)
 * - `uplink`           `{level, loss}` the SFU changed what this publisher sends ("full",
 *                      "low": the camera's low layer only, "audio": no camera); applied already
 * - `floor`            `{state: FloorState, mayManage}` after every change of the floor
 * - `floor-expired`    `{participantId, name, closed}` (managers) the speaking time ran out
 * - `hands-results`    `Question` with `answers` (managers) after each answer
 * - `removed`          `{reason}` the chair removed us (the server disconnects next)
 * - `meeting-ended`    `{by}` the chair ended the meeting (the server disconnects next)
 * - `interpretation`   `{state: InterpretationState, booth}` after every change of the booths
 * - `slow-down`        `{from, name}` (floor speaker, managers) an interpreter asks to slow down
 * - `screenshare`      `{participantId, name, reason, mine}` who shares a screen now (null:
 *                      nobody); `mine` false with `reason` when the own share was ended by the
 *                      server ("replaced", "right-withdrawn"): the own track is off already
 * - `devicetrack`      `{kind, track}` a published microphone or camera track was replaced
 *                      (replaceDevice)
 * - `mediarestart`     `{reason}` the meeting's media moved to a new SFU worker (`/media`
 *                      `media-restart`): both peer connections are being negotiated again
 * - `mediarestored`    `{downMs}` what was published and subscribed is negotiated again
 */

import { Manager } from "/vendor/socket.io.esm.min.js";
import { REFUSED_RETRY_MS, RECONNECTION, giveUpAfterMs, nodeForAttempt } from "./reconnect.js";

/**
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {string} [organization]
 * @property {string} [memberState]
 * @property {string} role
 * @property {string} [language]
 * @property {boolean} audio
 * @property {boolean} video
 * @property {string} [joinedAt]
 */

/**
 * @typedef {object} Meeting
 * @property {string} id
 * @property {string} title
 * @property {string[]} languages
 * @property {"VP8" | "H264"} videoCodec
 */

/**
 * What a publisher sends: the microphone, the camera's two layers (`camera` the high one,
 * `camera-low` a clone scaled to a quarter of the pixels), a screen.
 * @typedef {"mic" | "camera" | "camera-low" | "screen"} Source
 */

/**
 * A receiving slot as the server describes it (docs/protocol.md, `Slot`). The channel slot
 * (`purpose: "channel"`) adds the chosen `channel` and `original` (it carries the floor); a
 * video slot adds `layer`, the source it receives now (null: nothing fits, or video is off).
 * @typedef {object} Slot
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {"seat" | "screen" | "channel"} purpose
 * @property {number} [seat]
 * @property {string | null} participantId
 * @property {Source | null} source
 * @property {"camera" | "camera-low" | "screen" | null} [layer]
 * @property {string} [channel]
 * @property {boolean} [original]
 */

/**
 * A slot together with the track that plays it and the participant feeding it, if known.
 * @typedef {Slot & {track: MediaStreamTrack | null, participant: Participant | null}} SlotView
 */

/**
 * Receive statistics of one slot (from its `inbound-rtp` report; zeros before any packet).
 * Counters are cumulative: a rate is the difference of two samples.
 * @typedef {object} SlotStats
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {"seat" | "screen" | "channel"} purpose
 * @property {number | undefined} seat
 * @property {string | null} participantId
 * @property {"camera" | "camera-low" | "screen" | null} layer video: the layer announced in `slots`
 * @property {number} packetsReceived
 * @property {number} packetsLost
 * @property {number} bytesReceived
 * @property {number} framesDecoded
 * @property {number} frameWidth
 * @property {number} frameHeight
 * @property {number | null} framesPerSecond decoded frames per second (video), when known
 * @property {number} pliCount
 * @property {number} nackCount
 * @property {number} jitter seconds
 * @property {number | null} audioLevel
 */

/**
 * The subscribe connection's link, from its selected `candidate-pair` (fields the browser
 * does not report are null).
 * @typedef {object} LinkStats
 * @property {string} state the subscribe connection's `connectionState`
 * @property {number | null} currentRoundTripTime seconds
 * @property {number | null} availableIncomingBitrate bits per second
 * @property {number | null} availableOutgoingBitrate bits per second
 * @property {number} bytesReceived
 */

/**
 * One sample of what this listener receives.
 * @typedef {object} ReceptionStats
 * @property {number} at `performance.now()` when taken, milliseconds
 * @property {SlotStats[]} slots
 * @property {LinkStats | null} link null before the subscribe connection exists
 */

/** @typedef {"signaling" | "publish" | "subscribe"} ConnectionName */

/** @typedef {"intervention" | "point-of-order" | "right-of-reply"} RequestKind */

/**
 * One entry of the speakers' list.
 * @typedef {object} FloorRequest
 * @property {string} id
 * @property {string} participantId
 * @property {string} name
 * @property {RequestKind} kind
 * @property {string} note
 * @property {string} language
 * @property {number} requestedAt server seconds
 * @property {number} position 1-based
 */

/**
 * Who has the floor. Times in server seconds; `limitS`/`remainingS` null: no limit.
 * @typedef {object} Speaker
 * @property {string} participantId
 * @property {string} name
 * @property {RequestKind} kind
 * @property {string} language
 * @property {number} grantedAt
 * @property {number | null} limitS
 * @property {number | null} remainingS at the state's `serverTime`
 */

/**
 * A show of hands. `answers` only in `hands-results` and the `hands-close` ack.
 * @typedef {object} Question
 * @property {string} id
 * @property {string} text
 * @property {"participant" | "member-state"} mode
 * @property {boolean} open
 * @property {{yes: number, no: number, abstain: number}} totals
 * @property {Array<{voter: string, participantId: string, answer: "yes" | "no" | "abstain"}>} [answers]
 */

/**
 * The floor as everyone sees it (docs/protocol.md, `FloorState`).
 * @typedef {object} FloorState
 * @property {number} serverTime server clock (Unix seconds) when the state was made
 * @property {number | null} defaultLimitS
 * @property {boolean} closeOnExpiry
 * @property {boolean} locked
 * @property {string[]} muted participant ids muted by the chair
 * @property {string[]} managers secretariat members given the floor rights
 * @property {Speaker | null} speaker
 * @property {FloorRequest[]} queue
 * @property {Question | null} question
 */

/**
 * What a channel carries.
 * @typedef {object} Feed
 * @property {"floor" | "interpretation" | "passthrough" | "silence"} kind
 * @property {string | null} participantId
 * @property {string | null} source
 * @property {boolean} original the channel carries the floor itself
 */

/**
 * One booth (docs/protocol.md, `BoothStatus`).
 * @typedef {object} BoothStatus
 * @property {string} language
 * @property {string[]} interpreters
 * @property {string | null} live
 * @property {boolean} coughing
 * @property {{from: string, to: string | null} | null} handover
 * @property {string[]} micsOpen
 * @property {Record<string, string>} incoming interpreter id → "floor" or a language
 * @property {string} feed
 * @property {boolean} original
 * @property {boolean} floorLanguage
 * @property {string[]} warnings
 */

/**
 * @typedef {object} InterpretationState
 * @property {string[]} channels "floor" then the meeting's languages
 * @property {Record<string, Feed>} feeds
 * @property {BoothStatus[]} booths
 * @property {{participantId: string | null, language: string | null}} floor
 * @property {Array<{language: string, code: string}>} warnings
 */

/** Roles that manage the floor without being given the rights. */
const MANAGING_ROLES = new Set(["chair"]);

/**
 * Seconds left to speak at local time `nowMs`, from a floor state and the clock offset
 * (server minus local, seconds). Negative once the time is over; null without a limit or
 * without a speaker.
 * @param {FloorState | null} state
 * @param {number} offsetS
 * @param {number} nowMs local `Date.now()`
 * @returns {number | null}
 */
export function remainingSeconds(state, offsetS, nowMs) {
  const speaker = state?.speaker;
  if (!state || !speaker || speaker.remainingS === null || speaker.remainingS === undefined) return null;
  const serverNow = nowMs / 1000 + offsetS;
  return speaker.remainingS - (serverNow - state.serverTime);
}

/**
 * Estimates the server clock from the `serverTime` of floor states: each sample
 * `serverTime - receivedAt` can only be below the true offset (the message took some time to
 * arrive), so the largest of the recent samples is the best estimate.
 */
export class ServerClock {
  /** @type {Array<number>} */
  #samples = [];
  /** @param {number} [keep] how many recent samples count */
  constructor(keep = 20) {
    this.keep = keep;
  }

  /**
   * @param {number} serverTime server seconds
   * @param {number} receivedAtMs local `Date.now()` when it arrived
   */
  sample(serverTime, receivedAtMs) {
    if (!Number.isFinite(serverTime)) return;
    this.#samples.push(serverTime - receivedAtMs / 1000);
    if (this.#samples.length > this.keep) this.#samples.shift();
  }

  /** Server minus local, in seconds (0 before any sample). */
  get offsetS() {
    return this.#samples.length ? Math.max(...this.#samples) : 0;
  }
}

const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/** The `/media` refusal of a request on a router whose worker died (docs/protocol.md). */
const MEDIA_RESTARTING = "media-restarting";
/** How long a refused negotiation waits for the `media-restart` that follows. */
const MEDIA_RESTART_WAIT_MS = 15_000;
/** Negotiations tried again after media restarts before the refusal is the caller's. */
const MEDIA_RETRIES = 5;
const DEFAULT_GATHER_TIMEOUT_MS = 10_000;

/**
 * The camera's two layers (docs/architecture.md, "Adaptive bitrate"): the SFU gives each
 * listener the one their downlink carries. `camera-low` is a clone of the camera track, scaled
 * to a quarter of the pixels (half the width and half the height). Each layer keeps its size
 * (`maintain-resolution`): under CPU or bandwidth pressure the encoder lowers the frame rate
 * instead of shrinking the picture, so the high layer never turns into a copy of the low one
 * (Chromium's default, "balanced", was seen sending both at 320x180 on a loaded machine).
 * @type {ReadonlyArray<{source: "camera" | "camera-low", encoding: RTCRtpEncodingParameters}>}
 */
export const CAMERA_LAYERS = [
  { source: "camera", encoding: { maxBitrate: 600_000 } },
  { source: "camera-low", encoding: { maxBitrate: 150_000, scaleResolutionDownBy: 2 } },
];

/**
 * The screen share's encoding: documents and slides want sharp text, not motion. At most
 * 5 frames a second and 1 Mbit/s (under the SFU's 1.5 Mbit/s ceiling for a screen,
 * sfu/uplink.py); `maintain-resolution` makes the encoder drop frames, never pixels, when the
 * uplink is short (the track's `contentHint = "detail"` says the same to the encoder).
 * @type {RTCRtpEncodingParameters}
 */
export const SCREEN_ENCODING = { maxBitrate: 1_000_000, maxFramerate: 5 };

/** Roles that may hold the presenter right, so publish an idle screen m-line. */
const PRESENTING_ROLES = new Set(["chair", "secretariat", "delegate"]);

/**
 * What the SFU lets a publisher send, from its uplink's loss (docs/protocol.md, `uplink`).
 * @typedef {"full" | "low" | "audio"} UplinkLevel
 */
/** @type {ReadonlyArray<UplinkLevel>} */
const UPLINK_LEVELS = ["full", "low", "audio"];

/** An error answered by the server (`{ok: false, error: {code, message}}`) or met on the way. */
export class ProtocolError extends Error {
  /**
   * @param {string} code one of docs/protocol.md's error codes, or `timeout` / `disconnected`
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * Turn an ack into its payload, or throw the error it carries.
 * @param {any} ack
 * @returns {any}
 */
function unwrapAck(ack) {
  if (ack && ack.ok === true) return ack;
  const error = ack?.error ?? {};
  throw new ProtocolError(error.code ?? "internal", error.message ?? "malformed answer from server");
}

/**
 * A connect refusal (`connect_error`) as a ProtocolError. The server refuses with
 * `{code, message}`; python-socketio puts it either in `err.data` (when raised as
 * `ConnectionRefusedError(message, {code, ...})`) or stringified in `err.message`.
 * @param {any} err
 * @returns {ProtocolError}
 */
function refusalError(err) {
  const data = err?.data;
  if (data && typeof data === "object" && typeof data.code === "string") {
    return new ProtocolError(data.code, data.message ?? err.message);
  }
  const message = String(err?.message ?? err);
  const match = /['"]code['"]\s*:\s*['"]([a-z-]+)['"]/.exec(message);
  return new ProtocolError(match ? match[1] : "unauthorized", message);
}

/**
 * The owner's URL (an origin) a `moved <url>` connect refusal names, or null for any other
 * error (several control-plane nodes: docs/protocol.md).
 * @param {unknown} error
 * @returns {string | null}
 */
export function movedTo(error) {
  if (!(error instanceof ProtocolError) || error.code !== "moved") return null;
  const url = error.message.startsWith("moved ") ? error.message.slice(6).trim() : "";
  return /^https?:\/\/[^\s/]+$/.test(url) ? url : null;
}

/**
 * Wait until the peer connection has gathered every candidate (vanilla ICE: the server does not
 * trickle, so the description we send must already hold them). Gives up waiting after
 * `timeoutMs` and goes on with what was gathered.
 * @param {RTCPeerConnection} pc
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
export function iceGatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", onCandidate);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    /** @param {RTCPeerConnectionIceEvent} event */
    const onCandidate = (event) => {
      if (event.candidate === null) done(); // end-of-candidates
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

/**
 * Whether this browser can both send and receive `codecName` video (a Firefox without its
 * OpenH264 plugin cannot do H264): without it the client publishes audio only, and its
 * answer refuses the video slots (the SFU then sends it audio only).
 * @param {string | undefined} codecName
 * @returns {boolean}
 */
export function videoCodecSupported(codecName) {
  if (!codecName) return true;
  const wanted = `video/${codecName}`.toLowerCase();
  const has = (/** @type {RTCRtpCapabilities | null} */ caps) =>
    !caps || caps.codecs.some((c) => c.mimeType.toLowerCase() === wanted);
  return has(RTCRtpSender.getCapabilities("video")) && has(RTCRtpReceiver.getCapabilities("video"));
}

/**
 * Put `codecName` (e.g. "VP8") first among the codecs this transceiver may negotiate, keeping
 * the others (and RTX/RED/FEC) after it so negotiation can still fall back.
 * @param {RTCRtpTransceiver} transceiver
 * @param {string | undefined} codecName
 */
function preferCodec(transceiver, codecName) {
  if (!codecName || typeof transceiver.setCodecPreferences !== "function") return;
  const capabilities = RTCRtpReceiver.getCapabilities("video");
  if (!capabilities) return;
  const wanted = `video/${codecName}`.toLowerCase();
  const first = capabilities.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return;
  const rest = capabilities.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  try {
    transceiver.setCodecPreferences([...first, ...rest]);
  } catch (err) {
    console.warn("rostrum: could not prefer %s: %o", codecName, err);
  }
}

/**
 * Ask a video sender to keep its resolution and lower its frame rate under pressure. A
 * browser without `degradationPreference` keeps its own default.
 * @param {RTCRtpSender} sender
 */
async function keepResolution(sender) {
  try {
    const parameters = /** @type {RTCRtpSendParameters & {degradationPreference?: string}} */ (sender.getParameters());
    if (parameters.degradationPreference === "maintain-resolution") return;
    parameters.degradationPreference = "maintain-resolution";
    await sender.setParameters(parameters);
  } catch (err) {
    console.warn("rostrum: degradationPreference: %o", err);
  }
}

/** @param {unknown} value @returns {number | null} */
function numberOrNull(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * A slot's statistics from its `inbound-rtp` report (zeros before the first packet).
 * @param {Slot} slot
 * @param {any} inbound
 * @returns {SlotStats}
 */
function slotStats(slot, inbound) {
  return {
    mid: slot.mid,
    kind: slot.kind,
    purpose: slot.purpose,
    seat: slot.seat,
    participantId: slot.participantId,
    layer: slot.kind === "video" ? slot.layer ?? null : null,
    packetsReceived: inbound?.packetsReceived ?? 0,
    packetsLost: inbound?.packetsLost ?? 0,
    bytesReceived: inbound?.bytesReceived ?? 0,
    framesDecoded: inbound?.framesDecoded ?? 0,
    frameWidth: inbound?.frameWidth ?? 0,
    frameHeight: inbound?.frameHeight ?? 0,
    framesPerSecond: numberOrNull(inbound?.framesPerSecond),
    pliCount: inbound?.pliCount ?? 0,
    nackCount: inbound?.nackCount ?? 0,
    jitter: inbound?.jitter ?? 0,
    audioLevel: inbound?.audioLevel ?? null,
  };
}

/**
 * The audio-processing part of a track's settings.
 * @param {MediaTrackSettings} settings
 */
function pickProcessing(settings) {
  const { echoCancellation, noiseSuppression, autoGainControl } = /** @type {any} */ (settings);
  return { echoCancellation, noiseSuppression, autoGainControl };
}

export class MeetingClient extends EventTarget {
  /** @type {Manager | null} */
  #manager = null;
  /** @type {import("/vendor/socket.io.esm.min.js").Socket | null} */
  #room = null;
  /** @type {import("/vendor/socket.io.esm.min.js").Socket | null} */
  #media = null;
  /** namespace → its socket once connected (or connecting) @type {Map<string, Promise<import("/vendor/socket.io.esm.min.js").Socket>>} */
  #namespaces = new Map();
  /** The invite token, also offered to `/media` (see #connectMedia). */
  #token = "";
  /** This browser's device key, sent beside the token. */
  #device = "";
  /** @type {RTCPeerConnection | null} */
  #publishPc = null;
  /** @type {RTCPeerConnection | null} */
  #subscribePc = null;
  /** @type {MediaStream | null} */
  #published = null;
  /**
   * The camera's senders: layer → its sender and the track it sends while the camera is on.
   * @type {Map<"camera" | "camera-low", {sender: RTCRtpSender, track: MediaStreamTrack}>}
   */
  #cameraSenders = new Map();
  /** The low layer's clone of the camera track (ours to stop). @type {MediaStreamTrack | null} */
  #cameraClone = null;
  /** The idle `screen` m-line's sender (null: none published). @type {RTCRtpSender | null} */
  #screenSender = null;
  /** The screen track being shared (the page's, which stops it). @type {MediaStreamTrack | null} */
  #screenTrack = null;
  /** Who shares a screen in the meeting (`/media` `screen-share`). */
  #screenSharer = /** @type {{participantId: string | null, name: string | null}} */ ({ participantId: null, name: null });
  /** What the SFU lets this publisher send (`/media` `uplink`). @type {UplinkLevel} */
  #uplinkLevel = "full";
  /** The listener wants video (false: the "low bandwidth" switch, audio and documents only). */
  #videoEnabled = true;
  /** The subscribe negotiation has completed: `/media` `video` may be sent. */
  #subscribed = false;
  /** mid → receiver of the subscribe connection @type {Map<string, RTCRtpReceiver>} */
  #receivers = new Map();
  /** mid → slot as last announced @type {Map<string, Slot>} */
  #slots = new Map();
  /** @type {Map<string, Participant>} */
  #participants = new Map();
  /** @type {Record<ConnectionName, string>} */
  #states = { signaling: "new", publish: "new", subscribe: "new" };
  /** @type {FloorState | null} */
  #floor = null;
  /** @type {InterpretationState | null} */
  #interpretation = null;
  #clock = new ServerClock();
  /** The chair removed us or ended the meeting: the disconnect that follows is expected. */
  #ended = false;
  /** An interpreter's console microphone is switched on (see setMicOpen). */
  #micOpen = false;
  #coughing = false;
  /** The join ack's resume key and grace (docs/protocol.md `resume`); see #onRoomDropped. */
  #resume = { key: "", graceS: 0 };
  /** While the connection is down: what to restore once resumed, and the give-up timer. */
  #dropped = /** @type {{at: number, from: string, stream: MediaStream | null, subscribed: boolean, timer: ReturnType<typeof setTimeout> | undefined} | null} */ (null);
  /**
   * Several control-plane nodes: the living nodes' URLs the join (or resume) ack named, that
   * node's first (docs/protocol.md `nodes`). A page whose node is gone reconnects to the next
   * (#pickNode); empty with one node.
   * @type {string[]}
   */
  #nodes = [];
  /** The node a `moved` refusal named while reconnecting: the next attempt goes there. @type {string | null} */
  #movedTo = null;
  /** The channel last chosen with listen(), set again after a resume. */
  #listening = /** @type {{channel: string, floorUnder: number} | null} */ (null);
  /**
   * The media restart (docs/protocol.md `media-restart`): each `media-restart` starts a new
   * media epoch; what the page asked for (`#wantStream` published, `#wantSubscribe`) is
   * negotiated again on the meeting's new router. See #negotiated.
   */
  #mediaEpoch = 0;
  /** @type {MediaStream | null} */
  #wantStream = null;
  #wantSubscribe = false;
  /** @type {Set<"publish" | "subscribe">} negotiations in flight */
  #negotiating = new Set();
  /** @type {Array<() => void>} waiting for the next media epoch */
  #epochWaiters = [];
  /** When the last media restart began (null: media is not restarting). @type {number | null} */
  #restartingSince = null;

  /** @type {Participant | null} */
  self = null;
  /** @type {Meeting | null} */
  meeting = null;
  /** @type {RTCIceServer[]} */
  iceServers = [];
  /** The join ack's `iceTransportPolicy`: "relay" when the server says TURN only. @type {RTCIceTransportPolicy} */
  iceTransportPolicy = "all";

  /**
   * @param {object} [options]
   * @param {string} [options.url] server origin; the page's own by default
   * @param {number} [options.ackTimeoutMs] how long to wait for any ack
   * @param {number} [options.gatherTimeoutMs] longest wait for ICE gathering
   */
  constructor({
    url = globalThis.location?.origin ?? "",
    ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS,
    gatherTimeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  } = {}) {
    super();
    this.url = url;
    this.ackTimeoutMs = ackTimeoutMs;
    this.gatherTimeoutMs = gatherTimeoutMs;
  }

  // ---- state readers --------------------------------------------------------------------

  /** Everyone in the meeting, self included. @returns {Participant[]} */
  get participants() {
    return [...this.#participants.values()];
  }

  /** @returns {Record<ConnectionName, string>} */
  get connectionStates() {
    return { ...this.#states };
  }

  /** Every slot of the subscribe connection with its track and participant. @returns {SlotView[]} */
  get slots() {
    return [...this.#slots.values()].map((slot) => this.#view(slot));
  }

  /** The stream being published, if any. @returns {MediaStream | null} */
  get publishedStream() {
    return this.#published;
  }

  /** Whether this listener receives video (false: the "low bandwidth" switch is on). */
  get videoEnabled() {
    return this.#videoEnabled;
  }

  /** The latest floor state (null before the first). @returns {FloorState | null} */
  get floor() {
    return this.#floor;
  }

  /**
   * May this participant run the floor: the chair, or a secretariat member given the rights.
   * @returns {boolean}
   */
  get mayManage() {
    const self = this.self;
    if (!self) return false;
    return MANAGING_ROLES.has(self.role) || Boolean(self.role === "secretariat" && this.#floor?.managers.includes(self.id));
  }

  /** Server clock minus local clock, seconds (from the floor states received). */
  get clockOffsetS() {
    return this.#clock.offsetS;
  }

  /**
   * Seconds the floor speaker has left now (negative: over time; null: no limit / nobody).
   * @param {number} [nowMs]
   */
  floorRemaining(nowMs = Date.now()) {
    return remainingSeconds(this.#floor, this.#clock.offsetS, nowMs);
  }

  /** The latest interpretation state (null before the first). @returns {InterpretationState | null} */
  get interpretation() {
    return this.#interpretation;
  }

  /** The booth (language) this participant is assigned to, if any. @returns {string | null} */
  get booth() {
    const id = this.self?.id;
    if (!id || !this.#interpretation) return null;
    return this.#interpretation.booths.find((b) => b.interpreters.includes(id))?.language ?? null;
  }

  // ---- /room ----------------------------------------------------------------------------

  /**
   * Open the signaling connection and the `/room` namespace with an invite token.
   * Rejects with a ProtocolError (`unauthorized`, `not-found`, `meeting-closed`, ...) when the
   * server refuses.
   * With several control-plane nodes, a node that does not own the meeting refuses with
   * `moved <url>` (docs/protocol.md); `movedTo(err)` names the owner, whose page the meeting
   * page loads instead (same origin there: no cross-origin Socket.IO).
   * @param {string} token
   * @param {string} [device] this browser's device key (invite.js), so a removal holds
   * @returns {Promise<void>}
   */
  connect(token, device = "") {
    if (this.#room) return Promise.reject(new ProtocolError("conflict", "already connected"));
    // Automatic reconnection (reconnect.js's backoff): a joined participant whose connection
    // drops is kept by the server for its resume grace; the reconnected /room sends `resume`
    // (#onRoomDropped, #resumeAfterDrop).
    // autoConnect off: a Socket made by `manager.socket()` would otherwise send its CONNECT at
    // once, and the explicit connect() below a second one, which the server refuses; the
    // refusal detaches the socket from the manager and its acks are lost.
    this.#manager = new Manager(this.url, { path: "/socket.io", autoConnect: false, ...RECONNECTION });
    this.#manager.on("reconnect_attempt", (/** @type {number} */ attempt) => this.#pickNode(attempt));
    this.#token = token;
    this.#device = device;
    const room = this.#manager.socket("/room", { auth: { token, device } });
    this.#room = room;
    this.#setState("signaling", "connecting");

    room.on("presence", (/** @type {any} */ msg) => this.#onPresence(msg));
    room.on("disconnect", (/** @type {string} */ reason) => {
      if (reason === "io client disconnect") return; // our own leave() / close()
      if (this.#onRoomDropped(reason)) return; // reconnecting, to resume
      this.#manager?.reconnection(false);
      this.#setState("signaling", this.#ended ? "closed" : "disconnected");
      this.#emit("disconnected", { reason, ended: this.#ended });
    });

    return new Promise((resolve, reject) => {
      const onConnect = () => {
        room.off("connect_error", onError);
        room.on("connect_error", (/** @type {any} */ err) => this.#refusedWhileDropped(room, err));
        this.#setState("signaling", "connected");
        resolve();
      };
      /** @param {any} err */
      const onError = (err) => {
        room.off("connect", onConnect);
        this.#setState("signaling", "failed");
        room.disconnect();
        this.#room = null;
        this.#manager = null;
        reject(refusalError(err));
      };
      room.once("connect", onConnect);
      room.once("connect_error", onError);
      room.connect();
    });
  }

  /**
   * Join the meeting. Resolves with the ack's `{self, meeting, participants, iceServers}`.
   * @param {{name: string, organization?: string, memberState?: string, language?: string}} who
   */
  async join({ name, organization, memberState, language }) {
    const room = this.#requireRoom();
    /** @type {Record<string, string>} */
    const payload = { name };
    if (organization) payload.organization = organization;
    if (memberState) payload.memberState = memberState;
    if (language) payload.language = language;
    const ack = await this.#request(room, "join", payload);
    this.self = ack.self;
    this.meeting = ack.meeting;
    this.iceServers = Array.isArray(ack.iceServers) ? ack.iceServers : [];
    this.iceTransportPolicy = ack.iceTransportPolicy === "relay" ? "relay" : "all";
    this.#participants.clear();
    for (const p of ack.participants ?? []) this.#participants.set(p.id, p);
    if (this.self) this.#participants.set(this.self.id, this.self);
    this.#keepResume(room, ack.resume);
    this.#keepNodes(ack.nodes);
    this.#emit("joined", { self: this.self, meeting: this.meeting, participants: this.participants });
    this.#emit("participants", { participants: this.participants });
    await this.#startControl();
    return ack;
  }

  /**
   * After the join: connect `/floor` and `/interpretation` and fetch their current states.
   * A failure here leaves the meeting usable (media still works) and is reported on the
   * console; the broadcasts that follow fill the state in.
   */
  async #startControl() {
    const results = await Promise.allSettled([this.refreshFloor(), this.refreshInterpretation()]);
    for (const result of results) {
      if (result.status === "rejected") console.warn("rostrum: control namespace: %o", result.reason);
    }
  }

  /**
   * Leave the meeting: tell the server, then close both peer connections and the connection.
   * Local tracks are not stopped (the page owns them).
   */
  async leave() {
    const room = this.#room;
    try {
      if (room?.connected) await this.#request(room, "leave", {});
    } finally {
      this.close();
    }
  }

  /**
   * The page is being closed (`pagehide`, not a network drop): tell the server we leave, so
   * we are not listed for the resume grace. A beacon, which the browser sends even as the page
   * goes (docs/protocol.md `POST /api/leave`, authenticated by the resume key), then every
   * connection is closed without waiting. Returns whether the beacon was queued.
   * @returns {boolean}
   */
  leaveOnClose() {
    const key = this.#resume.key;
    if (!this.self || !key || this.#ended) return false;
    const body = new Blob([JSON.stringify({ key })], { type: "application/json" });
    const sent = typeof navigator.sendBeacon === "function" && navigator.sendBeacon(`${this.url}/api/leave`, body);
    this.#resume = { key: "", graceS: 0 };
    this.close();
    return sent;
  }

  /** Close everything without telling the server (it notices the disconnect). */
  close() {
    clearTimeout(this.#dropped?.timer);
    this.#dropped = null;
    this.#wantStream = null;
    this.#wantSubscribe = false;
    this.#restartingSince = null;
    this.#publishPc?.close();
    this.#subscribePc?.close();
    this.#publishPc = null;
    this.#subscribePc = null;
    this.#published = null;
    this.#dropCamera();
    this.#screenSender = null;
    this.#screenTrack = null;
    this.#subscribed = false;
    this.#receivers.clear();
    this.#slots.clear();
    for (const connecting of this.#namespaces.values()) connecting.then((socket) => socket.disconnect(), () => {});
    this.#namespaces.clear();
    this.#room?.disconnect();
    this.#media = null;
    this.#room = null;
    this.#manager = null;
    for (const which of /** @type {ConnectionName[]} */ (["publish", "subscribe", "signaling"])) {
      if (this.#states[which] !== "new") this.#setState(which, "closed");
    }
  }

  /**
   * Switch the own microphone/camera on or off and tell the others. The microphone track is
   * disabled (it sends silence). The camera is disabled and taken off both layers' senders
   * (`replaceTrack(null)`: neither layer sends anything while it is off); no renegotiation.
   * @param {{audio?: boolean, video?: boolean}} state
   */
  async setMediaState({ audio, video }) {
    const current = this.self ?? { audio: true, video: true };
    const next = { audio: audio ?? current.audio, video: video ?? current.video };
    for (const track of this.#published?.getAudioTracks() ?? []) track.enabled = next.audio;
    for (const track of this.#published?.getVideoTracks() ?? []) track.enabled = next.video;
    await this.#sendCamera(next.video);
    await this.#request(this.#requireRoom(), "media-state", next);
    if (this.self) {
      this.self = { ...this.self, ...next };
      this.#participants.set(this.self.id, this.self);
      this.#emit("participants", { participants: this.participants });
    }
  }

  // ---- /media ---------------------------------------------------------------------------

  /**
   * Publish a stream's first microphone track and first camera track (vanilla ICE), in one
   * offer: the microphone as `mic`; the camera twice (`CAMERA_LAYERS`), as `camera` and, from
   * a clone of the track scaled down, as `camera-low`. Without a camera track neither layer
   * is sent.
   * @param {MediaStream} stream
   */
  async publish(stream) {
    if (this.#publishPc) throw new ProtocolError("conflict", "already publishing");
    this.#wantStream = stream;
    try {
      await this.#negotiated("publish", (acks) => this.#publishOnce(stream, acks));
    } catch (err) {
      if (this.#wantStream === stream) this.#wantStream = null;
      throw err;
    }
  }

  /**
   * One publish negotiation (see publish); `acks` gets the media epoch of each answer.
   * @param {MediaStream} stream
   * @param {number[]} acks
   */
  async #publishOnce(stream, acks) {
    const media = await this.#connectMedia();
    const pc = this.#newPeerConnection("publish");
    this.#publishPc = pc;
    this.#published = stream; // setMediaState() may toggle its tracks while we negotiate
    this.#uplinkLevel = "full";
    try {
      /** @type {Array<[RTCRtpTransceiver, Source]>} */
      const sent = [];
      const mic = stream.getAudioTracks()[0];
      // without the meeting's codec the camera is not offered at all (audio only)
      const camera = videoCodecSupported(this.meeting?.videoCodec) ? stream.getVideoTracks()[0] : undefined;
      if (mic) sent.push([pc.addTransceiver(mic, { direction: "sendonly", streams: [stream] }), "mic"]);
      if (camera) {
        const clone = camera.clone();
        this.#cameraClone = clone;
        for (const { source, encoding } of CAMERA_LAYERS) {
          const track = source === "camera" ? camera : clone;
          const transceiver = pc.addTransceiver(track, {
            direction: "sendonly",
            streams: [stream],
            sendEncodings: [{ ...encoding }],
          });
          preferCodec(transceiver, this.meeting?.videoCodec);
          this.#cameraSenders.set(source, { sender: transceiver.sender, track });
          sent.push([transceiver, source]);
        }
        // The camera may have been switched off before the senders existed.
        await this.#sendCamera(camera.enabled);
      }
      if (sent.length === 0) throw new ProtocolError("bad-request", "nothing to publish");
      if (this.screenShareOffered) {
        // An idle screen m-line: sharing puts a track on it (replaceTrack), no renegotiation.
        const screen = pc.addTransceiver("video", { direction: "sendonly", sendEncodings: [{ ...SCREEN_ENCODING }] });
        preferCodec(screen, this.meeting?.videoCodec);
        this.#screenSender = screen.sender;
        sent.push([screen, "screen"]);
      }

      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc, this.gatherTimeoutMs);
      /** @type {Record<string, Source>} */
      const sources = {};
      for (const [transceiver, source] of sent) {
        if (transceiver.mid !== null) sources[transceiver.mid] = source;
      }
      const sdp = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
      const ack = await this.#mediaRequest(media, "publish", { sdp, sources }, acks);
      await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
      const senders = [...this.#cameraSenders.values()].map(({ sender }) => sender);
      if (this.#screenSender) senders.push(this.#screenSender);
      await Promise.all(senders.map((sender) => keepResolution(sender)));
    } catch (err) {
      pc.close();
      if (this.#publishPc === pc) {
        this.#publishPc = null;
        this.#published = null;
        this.#dropCamera();
        this.#screenSender = null;
      }
      this.#setState("publish", "failed");
      throw err;
    }
  }

  /**
   * Put the camera on both layers' senders, or take it off (`replaceTrack(null)`: nothing is
   * sent; the SFU keeps the producers, and the track comes back without renegotiation).
   * @param {boolean} on
   */
  async #sendCamera(on) {
    if (this.#cameraClone) this.#cameraClone.enabled = on;
    await Promise.all(
      [...this.#cameraSenders.values()].map(async ({ sender, track }) => {
        const wanted = on ? track : null;
        if (sender.track === wanted) return;
        try {
          await sender.replaceTrack(wanted);
        } catch (err) {
          // A closed connection refuses; the track's `enabled` still says what is shown.
          console.warn("rostrum: replaceTrack: %o", err);
        }
      }),
    );
  }

  /**
   * Do what the SFU asks of this publisher's uplink (`/media` `uplink`): `full` sends both
   * camera layers, `low` only `camera-low`, `audio` neither. A layer is switched off with its
   * encoding's `active: false`: the encoder stops, the track and the m-line stay, and the
   * layer comes back at the next `full` without renegotiation.
   * @param {UplinkLevel} level
   * @param {number} loss
   */
  async #followUplink(level, loss) {
    this.#uplinkLevel = level;
    const keep = { full: ["camera", "camera-low"], low: ["camera-low"], audio: [] }[level];
    await Promise.all(
      [...this.#cameraSenders.entries()].map(async ([source, { sender }]) => {
        const parameters = sender.getParameters();
        const active = keep.includes(source);
        if (!parameters.encodings?.length || parameters.encodings.every((e) => e.active === active)) return;
        for (const encoding of parameters.encodings) encoding.active = active;
        try {
          await sender.setParameters(parameters);
        } catch (err) {
          console.warn("rostrum: uplink %s: %o", level, err);
        }
      }),
    );
    this.#emit("uplink", { level, loss });
  }

  /** What the SFU lets this publisher send: "full", "low" or "audio" (`/media` `uplink`). */
  get uplinkLevel() {
    return this.#uplinkLevel;
  }

  /** Forget the camera's senders and stop the clone this client made. */
  #dropCamera() {
    this.#cameraClone?.stop();
    this.#cameraClone = null;
    this.#cameraSenders.clear();
  }

  // ---- the screen share -----------------------------------------------------------------

  /**
   * Whether this client offers screen sharing at all: a role that may hold the presenter
   * right, the meeting's video codec, and `getDisplayMedia`. Whether the participant holds
   * the right now is the server's to say (`shareScreen` is refused with `forbidden`).
   */
  get screenShareOffered() {
    return (
      PRESENTING_ROLES.has(this.self?.role ?? "") &&
      videoCodecSupported(this.meeting?.videoCodec) &&
      typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === "function"
    );
  }

  /** Whether the publish connection carries a screen m-line (sharing is possible now). */
  get screenShareReady() {
    return this.#screenSender !== null && this.#publishPc !== null;
  }

  /** Who shares a screen in the meeting now. @returns {{participantId: string | null, name: string | null}} */
  get screenSharer() {
    return { ...this.#screenSharer };
  }

  /** The own screen track being sent, if any. */
  get sharedScreen() {
    return this.#screenTrack;
  }

  /**
   * Share a screen track (from `getDisplayMedia`) as the `screen` source: the server checks
   * the presenter right first (`forbidden` otherwise: nothing is sent), then the track goes
   * onto the idle screen m-line (`replaceTrack`, no renegotiation), marked
   * `contentHint = "detail"`. The caller owns the track (stops it; `stopScreenShare` when it
   * ends).
   * @param {MediaStreamTrack} track
   */
  async shareScreen(track) {
    const sender = this.#screenSender;
    if (!sender || !this.#publishPc) throw new ProtocolError("conflict", "publish first: no screen m-line");
    const media = await this.#connectMedia();
    if ("contentHint" in track) track.contentHint = "detail";
    const ack = await this.#request(media, "screen-share", { sharing: true });
    this.#screenTrack = track;
    try {
      await sender.replaceTrack(track);
    } catch (err) {
      this.#screenTrack = null;
      await this.#request(media, "screen-share", { sharing: false }).catch(() => {});
      throw err;
    }
    this.#onScreenShare({ participantId: ack.participantId, name: ack.name, reason: null });
  }

  /** Stop sending the own screen and tell the server (the track itself is the caller's). */
  async stopScreenShare() {
    const had = this.#screenTrack !== null;
    this.#screenTrack = null;
    await this.#screenSender?.replaceTrack(null).catch(() => {});
    if (had && this.#media) {
      const ack = await this.#request(this.#media, "screen-share", { sharing: false });
      this.#onScreenShare({ participantId: ack.participantId, name: ack.name, reason: "stopped" });
    }
  }

  /** @param {any} msg `screen-share` from the server, or an ack of ours */
  #onScreenShare(msg) {
    const participantId = typeof msg?.participantId === "string" ? msg.participantId : null;
    this.#screenSharer = { participantId, name: typeof msg?.name === "string" ? msg.name : null };
    const reason = typeof msg?.reason === "string" ? msg.reason : null;
    const endedHere = this.#screenTrack !== null && participantId !== this.self?.id;
    if (endedHere) {
      // the server ended the own share (another presenter took over, the right ended)
      this.#screenTrack = null;
      void this.#screenSender?.replaceTrack(null).catch(() => {});
    }
    this.#emit("screenshare", { ...this.#screenSharer, reason, mine: participantId !== null && participantId === this.self?.id, endedHere });
  }

  // ---- changing devices -----------------------------------------------------------------

  /**
   * Put another microphone or camera track into the published stream in place of the
   * current one (`replaceTrack`: no renegotiation). The microphone keeps its `enabled`
   * state; a new camera feeds both layers (`camera`, and a fresh clone as `camera-low`)
   * while the camera is on. The old track is stopped. Before publishing, only the stream
   * changes.
   * @param {"audio" | "video"} kind
   * @param {MediaStreamTrack} next
   */
  async replaceDevice(kind, next) {
    const stream = this.#published;
    if (!stream) throw new ProtocolError("conflict", "not publishing");
    const old = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    if (old === next) return;
    next.enabled = old ? old.enabled : true;
    if (kind === "audio") {
      const sender = this.#publishPc?.getSenders().find((s) => s.track === old || (s.track?.kind === "audio" && s !== this.#screenSender));
      if (sender) await sender.replaceTrack(next);
    } else if (this.#cameraSenders.size > 0) {
      const high = this.#cameraSenders.get("camera");
      const low = this.#cameraSenders.get("camera-low");
      const clone = next.clone();
      clone.enabled = next.enabled;
      if (high) this.#cameraSenders.set("camera", { sender: high.sender, track: next });
      if (low) this.#cameraSenders.set("camera-low", { sender: low.sender, track: clone });
      this.#cameraClone?.stop();
      this.#cameraClone = clone;
      const on = next.enabled;
      await Promise.all(
        [high && { sender: high.sender, track: next }, low && { sender: low.sender, track: clone }].map(async (entry) => {
          if (!entry) return;
          await entry.sender.replaceTrack(on ? entry.track : null);
        }),
      );
    }
    if (old) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(next);
    this.#emit("devicetrack", { kind, track: next });
    if (kind === "audio") this.#emit("mictrack", { track: next });
  }

  /** Stop publishing: the server closes the producers; the local tracks keep running. */
  async unpublish() {
    this.#wantStream = null;
    const pc = this.#publishPc;
    if (!pc) return;
    try {
      if (this.#media) await this.#request(this.#media, "unpublish", {});
    } finally {
      pc.close();
      this.#publishPc = null;
      this.#published = null;
      this.#dropCamera();
      this.#screenSender = null;
      this.#screenTrack = null;
      this.#setState("publish", "closed");
    }
  }

  /**
   * Receive the meeting: the server offers a fixed set of slots, we answer (vanilla ICE).
   * Afterwards `slots` events tell which participant feeds which slot.
   * @returns {Promise<SlotView[]>}
   */
  async subscribe() {
    if (this.#subscribePc) throw new ProtocolError("conflict", "already subscribed");
    this.#wantSubscribe = true;
    try {
      await this.#negotiated("subscribe", (acks) => this.#subscribeOnce(acks));
    } catch (err) {
      this.#wantSubscribe = false;
      throw err;
    }
    return this.slots;
  }

  /**
   * One subscribe negotiation (see subscribe); `acks` gets the media epoch of each answer.
   * @param {number[]} acks
   */
  async #subscribeOnce(acks) {
    const media = await this.#connectMedia();
    const pc = this.#newPeerConnection("subscribe");
    this.#subscribePc = pc;
    try {
      const ack = await this.#mediaRequest(media, "subscribe", {}, acks);
      await pc.setRemoteDescription({ type: "offer", sdp: ack.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      for (const transceiver of pc.getTransceivers()) {
        if (transceiver.mid !== null) this.#receivers.set(transceiver.mid, transceiver.receiver);
      }
      // A `slots` event may already have arrived; the ack's list is the negotiated set.
      for (const slot of ack.slots ?? []) {
        if (!this.#slots.has(slot.mid)) this.#slots.set(slot.mid, slot);
      }
      await iceGatheringComplete(pc, this.gatherTimeoutMs);
      const sdp = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
      const answered = await this.#mediaRequest(media, "subscribe-answer", { sdp }, acks);
      // The server may state the current sources in this ack as well.
      if (Array.isArray(answered.slots)) for (const slot of answered.slots) this.#slots.set(slot.mid, slot);
      this.#subscribed = true;
      this.#emit("slots", { slots: this.slots });
      for (const slot of this.slots) this.#emit("slot", { slot });
    } catch (err) {
      pc.close();
      if (this.#subscribePc === pc) this.#subscribePc = null;
      this.#receivers.clear();
      this.#setState("subscribe", "failed");
      throw err;
    }
    // The "low bandwidth" switch may have been set before the subscription existed.
    if (!this.#videoEnabled) {
      try {
        await this.#request(media, "video", { enabled: false });
      } catch (err) {
        console.warn("rostrum: low bandwidth not applied: %o", err);
        this.#videoEnabled = true;
        this.#emit("video", { enabled: true });
      }
    }
  }

  /**
   * The listener's "low bandwidth" switch: `false` empties every video slot (audio and
   * documents only), `true` gives video back as the link allows (`/media` `video`). Before the
   * subscription exists the choice is kept and sent once subscribed.
   * @param {boolean} enabled
   */
  async setVideoEnabled(enabled) {
    const before = this.#videoEnabled;
    this.#videoEnabled = enabled;
    if (this.#subscribed && this.#media) {
      try {
        await this.#request(this.#media, "video", { enabled });
      } catch (err) {
        this.#videoEnabled = before;
        throw err;
      }
    }
    if (before !== this.#videoEnabled) this.#emit("video", { enabled });
  }

  /**
   * Keep a participant's camera in the first video slot; `null` releases the pin.
   * @param {string | null} participantId
   */
  async pin(participantId) {
    const media = await this.#connectMedia();
    await this.#request(media, "pin", { participantId });
  }

  /**
   * Receive statistics per slot of the subscribe connection.
   * @returns {Promise<SlotStats[]>}
   */
  async getStats() {
    return (await this.receptionStats()).slots;
  }

  /**
   * One sample of what this listener receives: every slot's `inbound-rtp` counters and the
   * link's selected candidate pair, from one `getStats()` of the subscribe connection.
   * @returns {Promise<ReceptionStats>}
   */
  async receptionStats() {
    const pc = this.#subscribePc;
    const at = performance.now();
    if (!pc) return { at, slots: [], link: null };
    const report = await pc.getStats();
    /** mid → inbound-rtp @type {Map<string, any>} */
    const inbound = new Map();
    let withoutMid = false;
    /** @type {any} */
    let transport = null;
    /** @type {Map<string, any>} */
    const pairs = new Map();
    report.forEach((/** @type {any} */ s) => {
      if (s.type === "inbound-rtp") {
        if (s.mid === undefined) withoutMid = true;
        else inbound.set(String(s.mid), s);
      } else if (s.type === "transport") transport = s;
      else if (s.type === "candidate-pair") pairs.set(s.id, s);
    });
    /** @type {SlotStats[]} */
    const slots = [];
    for (const slot of this.#slots.values()) {
      const receiver = this.#receivers.get(slot.mid);
      if (!receiver) continue;
      let stats = inbound.get(slot.mid);
      if (stats === undefined && withoutMid) {
        // A browser whose reports carry no `mid`: ask the slot's receiver.
        (await receiver.getStats()).forEach((/** @type {any} */ s) => {
          if (s.type === "inbound-rtp") stats = s;
        });
      }
      slots.push(slotStats(slot, stats));
    }
    let pair = transport?.selectedCandidatePairId ? pairs.get(transport.selectedCandidatePairId) : undefined;
    pair ??= [...pairs.values()].find((p) => p.nominated && p.state === "succeeded");
    /** @type {LinkStats} */
    const link = {
      state: pc.connectionState,
      currentRoundTripTime: numberOrNull(pair?.currentRoundTripTime),
      availableIncomingBitrate: numberOrNull(pair?.availableIncomingBitrate),
      availableOutgoingBitrate: numberOrNull(pair?.availableOutgoingBitrate),
      bytesReceived: Number(pair?.bytesReceived ?? transport?.bytesReceived ?? 0),
    };
    return { at, slots, link };
  }

  /**
   * Raw `getStats()` of one peer connection, for diagnostics.
   * @param {"publish" | "subscribe"} which
   * @returns {Promise<RTCStatsReport | null>}
   */
  async rawStats(which) {
    const pc = which === "publish" ? this.#publishPc : this.#subscribePc;
    return pc ? pc.getStats() : null;
  }

  // ---- the microphone -------------------------------------------------------------------

  /**
   * Switch the published microphone's audio processing. `original: true` turns echo
   * cancellation, noise suppression and automatic gain control off: what an interpreter needs
   * to hear from a floor speaker (processing smears consonants, pumps the level and cuts soft
   * syllables). The constraints: `{echoCancellation, noiseSuppression, autoGainControl}`, all
   * three `!original`. Tries `track.applyConstraints` first; if the browser keeps the old
   * settings (Chromium 156 accepts the call but leaves a live track's processing as it was),
   * reopens the same device with the new constraints and swaps the track into the sender
   * (`replaceTrack`: no renegotiation). Resolves with the settings in force.
   * @param {boolean} original
   * @returns {Promise<{echoCancellation?: boolean, noiseSuppression?: boolean, autoGainControl?: boolean}>}
   */
  async setOriginalSound(original) {
    const stream = this.#published;
    const track = stream?.getAudioTracks()[0];
    if (!stream || !track || track.readyState === "ended") return {};
    const processing = { echoCancellation: !original, noiseSuppression: !original, autoGainControl: !original };
    /** @param {MediaStreamTrack} t */
    const matches = (t) => {
      const settings = /** @type {any} */ (t.getSettings());
      return Object.entries(processing).every(([key, value]) => settings[key] === undefined || settings[key] === value);
    };
    if (matches(track)) return pickProcessing(track.getSettings());
    try {
      await track.applyConstraints({ ...track.getConstraints(), ...processing });
    } catch (err) {
      console.warn("rostrum: applyConstraints(%o) failed: %o", processing, err);
    }
    if (matches(track)) return pickProcessing(track.getSettings());

    // Reopen the device with the new processing and swap the track in place.
    const deviceId = track.getSettings().deviceId;
    const fresh = await navigator.mediaDevices.getUserMedia({
      audio: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), ...processing },
    });
    const next = fresh.getAudioTracks()[0];
    next.enabled = track.enabled;
    const sender = this.#publishPc?.getSenders().find((s) => s.track === track);
    if (sender) await sender.replaceTrack(next);
    stream.removeTrack(track);
    stream.addTrack(next);
    track.stop();
    this.#emit("mictrack", { track: next });
    return pickProcessing(next.getSettings());
  }

  /**
   * An interpreter's console opens or closes its microphone: enables or disables the
   * published mic track and reports it on `/interpretation` (`mic-open`), which raises
   * `two-mics-open` when two consoles of one booth are open.
   * @param {boolean} open
   */
  async setMicOpen(open) {
    this.#micOpen = open;
    this.#coughing = false;
    for (const track of this.#published?.getAudioTracks() ?? []) track.enabled = open;
    if (this.booth) await this.#control("/interpretation", "mic-open", { open });
  }

  /** The console's microphone is switched on (it may be muted by a cough for a moment). */
  get micOpen() {
    return this.#micOpen;
  }

  /** The cough (push-to-mute) is held. */
  get coughing() {
    return this.#coughing;
  }

  /** Whether the published microphone track is enabled (sending sound). */
  get micEnabled() {
    return Boolean(this.#published?.getAudioTracks().some((t) => t.enabled && t.readyState === "live"));
  }

  // ---- /floor: the speakers' list and the chair's controls ------------------------------

  /** Fetch the floor state (also re-dispatched as `floor`). @returns {Promise<FloorState>} */
  async refreshFloor() {
    const ack = await this.#control("/floor", "state");
    this.#onFloor(ack.state);
    return ack.state;
  }

  /**
   * Ask for the floor. Resolves with `{id, position}`.
   * @param {{kind?: RequestKind, note?: string, language?: string}} [request]
   * @returns {Promise<{id: string, position: number}>}
   */
  async requestFloor({ kind = "intervention", note = "", language = "" } = {}) {
    /** @type {Record<string, string>} */
    const payload = { kind };
    if (note) payload.note = note;
    if (language) payload.language = language;
    return (await this.#control("/floor", "request", payload)).request;
  }

  /** Take back one's own request. @param {string} requestId */
  async withdrawRequest(requestId) {
    await this.#control("/floor", "withdraw", { requestId });
  }

  /** Yield the floor (the speaker). */
  async releaseFloor() {
    await this.#control("/floor", "release");
  }

  /**
   * Give the floor, from a request or directly to a participant (manager).
   * @param {{requestId?: string, participantId?: string, limitS?: number, language?: string}} target
   *   `limitS` absent: the meeting's default; 0: no limit
   * @returns {Promise<Speaker>}
   */
  async grantFloor({ requestId, participantId, limitS, language }) {
    /** @type {Record<string, string | number>} */
    const payload = {};
    if (requestId) payload.requestId = requestId;
    if (participantId) payload.participantId = participantId;
    if (limitS !== undefined) payload.limitS = limitS;
    if (language) payload.language = language;
    return (await this.#control("/floor", "grant", payload)).speaker;
  }

  /** @param {string} requestId @param {string} [reason] */
  async denyRequest(requestId, reason = "") {
    await this.#control("/floor", "deny", reason ? { requestId, reason } : { requestId });
  }

  /** Withdraw the floor from the speaker (manager). */
  async revokeFloor() {
    await this.#control("/floor", "revoke");
  }

  /** The speakers' list in a new order: every queued request id once. @param {string[]} order */
  async reorderQueue(order) {
    await this.#control("/floor", "reorder", { order });
  }

  /** Lengthen (or shorten, negative) the speaker's time. @param {number} seconds */
  async extendFloor(seconds) {
    await this.#control("/floor", "extend", { seconds });
  }

  /** @param {{defaultLimitS?: number, closeOnExpiry?: boolean}} settings 0: no default limit */
  async floorSettings(settings) {
    await this.#control("/floor", "settings", settings);
  }

  /** @param {string} participantId @param {boolean} [muted] */
  async muteParticipant(participantId, muted = true) {
    await this.#control("/floor", "mute", { participantId, muted });
  }

  /** Mute everyone but the floor holder and the chair. @returns {Promise<number>} how many */
  async muteAll() {
    return (await this.#control("/floor", "mute-all")).muted;
  }

  /** Give or take the floor rights of a secretariat member (chair). @param {string} participantId @param {boolean} enabled */
  async setRights(participantId, enabled) {
    await this.#control("/floor", "rights", { participantId, enabled });
  }

  /** @param {boolean} locked */
  async lockMeeting(locked) {
    await this.#control("/floor", "lock", { locked });
  }

  /**
   * Remove a participant (manager). Once the server has acknowledged it, they are gone from
   * this client's list at once: the server sends the others no `presence` "left" for a
   * removed participant today (its /floor `remove` ends the presence before the disconnect).
   * @param {string} participantId
   */
  async removeParticipant(participantId) {
    await this.#control("/floor", "remove", { participantId });
    const participant = this.#participants.get(participantId);
    if (participant) this.#onPresence({ event: "left", participant });
  }

  /** End the meeting for everyone (chair). */
  async endMeeting() {
    await this.#control("/floor", "end-meeting");
  }

  /**
   * @param {string} text
   * @param {"participant" | "member-state"} [mode]
   * @returns {Promise<Question>}
   */
  async openHands(text, mode = "participant") {
    return (await this.#control("/floor", "hands-open", { text, mode })).question;
  }

  /**
   * @param {string} questionId
   * @param {"yes" | "no" | "abstain"} answer
   * @returns {Promise<{yes: number, no: number, abstain: number}>}
   */
  async answerHands(questionId, answer) {
    return (await this.#control("/floor", "hands-answer", { questionId, answer })).totals;
  }

  /** @param {string} questionId @returns {Promise<Question>} with answers */
  async closeHands(questionId) {
    return (await this.#control("/floor", "hands-close", { questionId })).question;
  }

  // ---- /interpretation: channels, booths, relay -----------------------------------------

  /** Fetch the booths' state (also re-dispatched as `interpretation`). @returns {Promise<InterpretationState>} */
  async refreshInterpretation() {
    const ack = await this.#control("/interpretation", "state");
    this.#onInterpretation(ack.state);
    return ack.state;
  }

  /** Put an interpreter into a booth, or out of any (null) (chair, secretariat). @param {string} participantId @param {string | null} language */
  async assignBooth(participantId, language) {
    await this.#control("/interpretation", "assign", { participantId, language });
  }

  /** Take the booth's microphone. */
  async goLive() {
    await this.#control("/interpretation", "live");
  }

  /** The booth goes silent: its channel carries the floor (passthrough). */
  async goOff() {
    await this.#control("/interpretation", "off");
  }

  /** Offer the live microphone to a booth colleague (any, or the one named). @param {string} [to] */
  async requestHandover(to) {
    await this.#control("/interpretation", "handover-request", to ? { to } : {});
  }

  async acceptHandover() {
    await this.#control("/interpretation", "handover-accept");
  }

  async cancelHandover() {
    await this.#control("/interpretation", "handover-cancel");
  }

  /** Take the live microphone from a booth colleague at once. */
  async takeOver() {
    await this.#control("/interpretation", "take-over");
  }

  /**
   * Push-to-mute while live: the track goes silent here at once (nothing waits for the
   * server), and the booth's channel goes silent for every listener (`cough`).
   * @param {boolean} on
   */
  async cough(on) {
    this.#coughing = on;
    for (const track of this.#published?.getAudioTracks() ?? []) track.enabled = this.#micOpen && !on;
    await this.#control("/interpretation", "cough", { on });
  }

  /** What an interpreter hears: the floor, or another booth's channel (relay). @param {string} source */
  async setIncoming(source) {
    await this.#control("/interpretation", "incoming", { source });
  }

  /**
   * Listen to a channel (`floor` or a language), with the floor under it at `floorUnder`.
   * @param {string} channel
   * @param {number} [floorUnder] 0..1
   * @returns {Promise<{channel: string, floorUnder: number, feed: Feed, original: boolean}>}
   */
  async listen(channel, floorUnder = 0) {
    const ack = await this.#control("/interpretation", "listen", { channel, floorUnder });
    this.#listening = { channel, floorUnder };
    const { ok: _ok, ...answer } = ack;
    return answer;
  }

  /** Ask the floor speaker to slow down (interpreter). @returns {Promise<number>} how many were told */
  async slowDown() {
    return (await this.#control("/interpretation", "slow-down")).notified;
  }

  // ---- feature namespaces (captions.js, chat.js) -----------------------------------------

  /**
   * Connect a feature's namespace (e.g. `/captions`) once on this connection, after the join;
   * `bind` adds its server→client listeners before the connect. `close()` closes it.
   * @param {string} name
   * @param {(socket: import("/vendor/socket.io.esm.min.js").Socket) => void} bind
   */
  connectNamespace(name, bind) {
    return this.#connectNamespace(name, bind);
  }

  /**
   * Send an event on a connected feature namespace and wait for its ack (`{ok: false}` and
   * timeouts reject with a ProtocolError).
   * @param {string} name
   * @param {string} event
   * @param {object} [payload]
   */
  async requestOn(name, event, payload = {}) {
    const socket = await this.#namespaces.get(name);
    if (!socket) throw new ProtocolError("not-joined", `${name} is not connected`);
    return this.#request(socket, event, payload);
  }

  // ---- internals ------------------------------------------------------------------------

  /**
   * Emit an event and wait for its ack, turning `{ok: false}` and timeouts into errors.
   * @param {import("/vendor/socket.io.esm.min.js").Socket} socket
   * @param {string} event
   * @param {object} payload
   */
  async #request(socket, event, payload) {
    let ack;
    try {
      ack = await socket.timeout(this.ackTimeoutMs).emitWithAck(event, payload);
    } catch {
      const code = socket.connected ? "timeout" : "disconnected";
      throw new ProtocolError(code, `no answer to ${event} within ${this.ackTimeoutMs} ms`);
    }
    return unwrapAck(ack);
  }

  /**
   * A `/media` request whose answer's media epoch goes into `acks` (see #negotiated).
   * @param {import("/vendor/socket.io.esm.min.js").Socket} socket
   * @param {string} event
   * @param {object} payload
   * @param {number[]} acks
   */
  async #mediaRequest(socket, event, payload, acks) {
    try {
      return await this.#request(socket, event, payload);
    } finally {
      acks.push(this.#mediaEpoch);
    }
  }

  /**
   * Run a publish or subscribe negotiation until it holds on the meeting's current router
   * (docs/protocol.md `media-restart`): an answer received before a `media-restart` came from
   * the router that is gone, so negotiate again; a `media-restarting` refusal means the router
   * died under the request: wait for the `media-restart`, then negotiate again. Any other
   * refusal is the caller's.
   * @param {"publish" | "subscribe"} kind
   * @param {(acks: number[]) => Promise<void>} attempt
   */
  async #negotiated(kind, attempt) {
    this.#negotiating.add(kind);
    try {
      for (let tries = 0; ; tries++) {
        /** @type {number[]} */
        const acks = [];
        let error = null;
        try {
          await attempt(acks);
        } catch (err) {
          error = err;
        }
        const now = this.#mediaEpoch;
        const current = acks.every((epoch) => epoch === now);
        const restarting = error instanceof ProtocolError && error.code === MEDIA_RESTARTING;
        if ((current && !restarting) || tries >= MEDIA_RETRIES) {
          if (error) throw error;
          return;
        }
        if (!error) this.#dropConnection(kind); // negotiated with the router that is gone
        if (restarting && current) await this.#nextMediaEpoch(now);
      }
    } finally {
      this.#negotiating.delete(kind);
      this.#mediaSettled();
    }
  }

  /**
   * Resolves once a `media-restart` has started an epoch after `epoch`.
   * @param {number} epoch
   * @returns {Promise<void>}
   */
  #nextMediaEpoch(epoch) {
    if (this.#mediaEpoch > epoch) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#epochWaiters = this.#epochWaiters.filter((waiter) => waiter !== done);
        reject(new ProtocolError(MEDIA_RESTARTING, "the media server did not come back"));
      }, MEDIA_RESTART_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#epochWaiters.push(done);
    });
  }

  /**
   * Forget a peer connection whose other end is gone (the local tracks keep running).
   * @param {"publish" | "subscribe"} kind
   */
  #dropConnection(kind) {
    if (kind === "publish") {
      this.#publishPc?.close();
      this.#publishPc = null;
      this.#published = null;
      this.#dropCamera();
      this.#screenSender = null;
    } else {
      this.#subscribePc?.close();
      this.#subscribePc = null;
      this.#subscribed = false;
      this.#receivers.clear();
      this.#slots.clear();
    }
    if (this.#states[kind] !== "new") this.#setState(kind, "connecting");
  }

  /**
   * `/media` `media-restart`: the meeting's media moved to a new router and every peer
   * connection of ours is gone. Publish and subscribe again what the page asked for; a
   * negotiation in flight sorts itself out (#negotiated). The own screen share has ended.
   * With `connections` (["subscribe"]: the worker holding our part of a spread meeting
   * died) only those are gone and made again.
   * @param {any} msg
   */
  #onMediaRestart(msg) {
    const gone = Array.isArray(msg?.connections) ? msg.connections : ["publish", "subscribe"];
    this.#mediaEpoch += 1;
    const waiters = this.#epochWaiters;
    this.#epochWaiters = [];
    for (const waiter of waiters) waiter();
    const reason = typeof msg?.reason === "string" ? msg.reason : "worker-lost";
    if (this.#screenTrack && gone.includes("publish")) {
      this.#screenTrack = null;
      this.#screenSharer = { participantId: null, name: null };
      this.#emit("screenshare", { ...this.#screenSharer, reason: "media-restart", mine: false, endedHere: true });
    }
    this.#restartingSince ??= performance.now();
    this.#emit("mediarestart", { reason });
    if (gone.includes("subscribe") && this.#wantSubscribe && !this.#negotiating.has("subscribe")) {
      this.#dropConnection("subscribe");
      this.#negotiated("subscribe", (acks) => this.#subscribeOnce(acks)).catch((err) => console.warn("rostrum: subscribe after media-restart: %o", err));
    }
    const stream = this.#wantStream;
    if (stream && gone.includes("publish") && !this.#negotiating.has("publish")) {
      this.#dropConnection("publish");
      this.#negotiated("publish", (acks) => this.#publishOnce(stream, acks)).catch((err) => console.warn("rostrum: publish after media-restart: %o", err));
    }
    this.#mediaSettled();
  }

  /** After a media restart, once nothing is negotiating any more: media is back. */
  #mediaSettled() {
    if (this.#restartingSince === null || this.#negotiating.size > 0) return;
    const downMs = Math.round(performance.now() - this.#restartingSince);
    this.#restartingSince = null;
    this.#emit("mediarestored", { downMs });
  }

  /** Whether the media is being negotiated again after a `media-restart`. */
  get mediaRestarting() {
    return this.#restartingSince !== null;
  }

  #requireRoom() {
    if (!this.#room) throw new ProtocolError("not-joined", "not connected to the meeting");
    return this.#room;
  }

  /** Connect the `/media` namespace once (after join), on the same engine.io connection. */
  async #connectMedia() {
    const media = await this.#connectNamespace("/media", (socket) => {
      socket.on("slots", (/** @type {any} */ msg) => this.#onSlots(msg?.slots ?? []));
      socket.on("uplink", (/** @type {any} */ msg) => {
        if (UPLINK_LEVELS.includes(msg?.level)) void this.#followUplink(msg.level, Number(msg.loss) || 0);
      });
      socket.on("screen-share", (/** @type {any} */ msg) => this.#onScreenShare(msg));
      socket.on("media-restart", (/** @type {any} */ msg) => this.#onMediaRestart(msg));
    });
    this.#media = media;
    return media;
  }

  /**
   * A feature's own namespace (e.g. `/documents`) on this connection, connected once; `bind`
   * adds its server→client listeners first. See #connectNamespace.
   * @param {string} name
   * @param {(socket: import("/vendor/socket.io.esm.min.js").Socket) => void} bind
   */
  namespace(name, bind) {
    return this.#connectNamespace(name, bind);
  }

  /**
   * Connect one more namespace (once) on the engine.io connection that joined on `/room`.
   * The manager was made with `autoConnect: false`, so `manager.socket()` sends no CONNECT of
   * its own: only the explicit `connect()` below does (two CONNECTs for one namespace are
   * refused by the server, and the refusal detaches the socket and loses its acks). The
   * server checks the token on every namespace (docs/protocol.md).
   * @param {string} name e.g. "/floor"
   * @param {(socket: import("/vendor/socket.io.esm.min.js").Socket) => void} bind adds the
   *   server→client listeners before the connect, so no broadcast is missed
   * @returns {Promise<import("/vendor/socket.io.esm.min.js").Socket>}
   */
  #connectNamespace(name, bind) {
    const known = this.#namespaces.get(name);
    if (known) return known;
    const manager = this.#manager;
    if (!manager || !this.self) {
      return Promise.reject(new ProtocolError("not-joined", "join the meeting first"));
    }
    const socket = manager.socket(name, { auth: this.#auth() });
    bind(socket);
    const connecting = new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off("connect_error", onError);
        socket.on("connect_error", (/** @type {any} */ err) => this.#refusedWhileDropped(socket, err));
        resolve(socket);
      };
      /** @param {any} err */
      const onError = (err) => {
        socket.off("connect", onConnect);
        socket.disconnect();
        if (this.#namespaces.get(name) === connecting) this.#namespaces.delete(name);
        reject(refusalError(err));
      };
      socket.once("connect", onConnect);
      socket.once("connect_error", onError);
      socket.connect();
    });
    this.#namespaces.set(name, connecting);
    return connecting;
  }

  #connectFloor() {
    return this.#connectNamespace("/floor", (socket) => {
      socket.on("floor", (/** @type {any} */ state) => this.#onFloor(state));
      socket.on("floor-expired", (/** @type {any} */ msg) => this.#emit("floor-expired", msg ?? {}));
      socket.on("hands-results", (/** @type {any} */ msg) => this.#emit("hands-results", msg ?? {}));
      socket.on("removed", (/** @type {any} */ msg) => {
        this.#ended = true;
        this.#emit("removed", msg ?? {});
      });
      socket.on("meeting-ended", (/** @type {any} */ msg) => {
        this.#ended = true;
        this.#emit("meeting-ended", msg ?? {});
      });
    });
  }

  #connectInterpretation() {
    return this.#connectNamespace("/interpretation", (socket) => {
      socket.on("interpretation", (/** @type {any} */ state) => this.#onInterpretation(state));
      socket.on("slow-down", (/** @type {any} */ msg) => this.#emit("slow-down", msg ?? {}));
    });
  }

  /**
   * @param {"/floor" | "/interpretation"} name
   * @param {string} event
   * @param {object} [payload]
   */
  async #control(name, event, payload = {}) {
    const socket = await (name === "/floor" ? this.#connectFloor() : this.#connectInterpretation());
    return this.#request(socket, event, payload);
  }

  /** @param {any} state */
  #onFloor(state) {
    if (!state || typeof state !== "object") return;
    this.#clock.sample(state.serverTime, Date.now());
    // States are made in order on the server, but an ack and a broadcast may cross: keep
    // the newest.
    if (this.#floor && state.serverTime < this.#floor.serverTime) return;
    this.#floor = state;
    this.#emit("floor", { state, mayManage: this.mayManage });
  }

  /** @param {any} state */
  #onInterpretation(state) {
    if (!state || typeof state !== "object") return;
    this.#interpretation = state;
    this.#emit("interpretation", { state, booth: this.booth });
  }

  // ---- reconnection (docs/protocol.md `resume`) ---------------------------------------------

  /** The auth of every namespace's connect: the token, the device key, the resume key. */
  #auth() {
    /** @type {{token: string, device: string, resume?: string}} */
    const auth = { token: this.#token, device: this.#device };
    if (this.#resume.key) auth.resume = this.#resume.key;
    return auth;
  }

  /**
   * Keep the join ack's resume key; every namespace's reconnect carries it (a lock lets the
   * dropped back in).
   * @param {import("/vendor/socket.io.esm.min.js").Socket} room
   * @param {any} resume
   */
  #keepResume(room, resume) {
    if (!resume || typeof resume.key !== "string") return;
    this.#resume = { key: resume.key, graceS: Number(resume.graceS) || 0 };
    room.auth = this.#auth();
    for (const connecting of this.#namespaces.values()) {
      connecting.then((socket) => (socket.auth = this.#auth()), () => {});
    }
  }

  /**
   * `/room` dropped (not our own disconnect). A joined participant with a resume key and a
   * grace is kept by the server: close both peer connections (the server closed its ends),
   * remember what was published and subscribed, and wait for the manager's reconnection
   * (RECONNECTION); past the grace give up. Returns false when there is nothing to resume.
   * @param {string} reason
   */
  #onRoomDropped(reason) {
    if (this.#ended || !this.self || !this.#resume.key || this.#resume.graceS <= 0) return false;
    if (reason === "io server disconnect") return false; // removed, or the session was taken over
    const room = this.#room;
    if (!room) return false;
    if (!this.#dropped) {
      const stream = this.#published;
      const subscribed = this.#subscribePc !== null;
      this.#publishPc?.close();
      this.#subscribePc?.close();
      this.#publishPc = null;
      this.#subscribePc = null;
      this.#published = null;
      this.#dropCamera();
      this.#subscribed = false;
      this.#receivers.clear();
      this.#slots.clear();
      for (const which of /** @type {ConnectionName[]} */ (["publish", "subscribe"])) {
        if (this.#states[which] !== "new") this.#setState(which, "disconnected");
      }
      const timer = setTimeout(() => this.#giveUp("grace"), giveUpAfterMs(this.#resume.graceS));
      this.#dropped = { at: performance.now(), from: this.url, stream, subscribed, timer };
    }
    this.#setState("signaling", "connecting"); // a state the indicator names (conn.*)
    this.#emit("reconnecting", { reason });
    room.once("connect", () => void this.#resumeAfterDrop());
    return true;
  }

  /**
   * The join or resume ack's `nodes` (several control-plane nodes): kept for #pickNode.
   * @param {unknown} nodes
   */
  #keepNodes(nodes) {
    if (!Array.isArray(nodes)) return;
    this.#nodes = nodes.filter((url) => typeof url === "string" && /^https?:\/\/[^\s/]+$/.test(url));
  }

  /**
   * Before each reconnection attempt of the manager (several nodes): the node it goes to.
   * The first attempt goes back to the node we had (a network blip), the next ones to the
   * other living nodes in turn (ours died); a `moved` refusal meanwhile names the owner.
   * Every namespace of the connection follows: they share the manager's engine.
   * @param {number} attempt 1, 2, ...
   */
  #pickNode(attempt) {
    if (!this.#dropped || this.#nodes.length < 2) return;
    const url = this.#movedTo ?? nodeForAttempt(this.#nodes, this.#dropped.from, attempt);
    this.#movedTo = null;
    this.#goTo(url);
  }

  /** @param {string} url the node the connection goes to next */
  #goTo(url) {
    if (this.#manager) /** @type {any} */ (this.#manager).uri = url;
    this.url = url;
  }

  /**
   * A namespace's connect refused while reconnecting (several nodes): `moved <url>` names
   * the meeting's owner. The node we lost may still be named while its key lives (it died
   * without the node we reached noticing, e.g. its machine is down): try here again shortly,
   * until that node takes the meeting over. Another node: go there. `unavailable`: again
   * shortly. Any other refusal is the resume's to answer (the grace gives up).
   * @param {import("/vendor/socket.io.esm.min.js").Socket} socket
   * @param {any} err
   */
  #refusedWhileDropped(socket, err) {
    const dropped = this.#dropped;
    if (!dropped) return;
    const error = refusalError(err);
    const owner = movedTo(error);
    if (!owner && error.code !== "unavailable") return;
    const manager = this.#manager;
    if (owner && owner !== dropped.from && owner !== this.url && manager) {
      this.#movedTo = owner;
      this.#goTo(owner);
      /** @type {any} */ (manager).engine?.close(); // the manager reconnects, to the owner
    }
    setTimeout(() => {
      if (this.#dropped === dropped && !socket.connected) socket.connect();
    }, REFUSED_RETRY_MS);
  }

  /** The reconnected `/room`: `resume`, then publish, subscribe and listen again. */
  async #resumeAfterDrop() {
    const room = this.#room;
    const dropped = this.#dropped;
    if (!room || !dropped) return;
    let ack;
    try {
      ack = await this.#request(room, "resume", { key: this.#resume.key });
    } catch (err) {
      if (err instanceof ProtocolError && ["timeout", "disconnected", "rate-limited"].includes(err.code)) {
        return; // the connection went again: the next connect tries again
      }
      this.#giveUp(err instanceof ProtocolError ? err.code : "internal");
      return;
    }
    clearTimeout(dropped.timer);
    this.#dropped = null;
    this.#movedTo = null;
    this.#keepNodes(ack.nodes);
    this.self = ack.self;
    this.iceServers = Array.isArray(ack.iceServers) ? ack.iceServers : this.iceServers;
    this.iceTransportPolicy = ack.iceTransportPolicy === "relay" ? "relay" : "all";
    this.#participants.clear();
    for (const p of ack.participants ?? []) this.#participants.set(p.id, p);
    if (this.self) this.#participants.set(this.self.id, this.self);
    this.#setState("signaling", "connected");
    this.#emit("participants", { participants: this.participants });
    const steps = [];
    if (dropped.subscribed) steps.push(this.subscribe());
    if (dropped.stream) steps.push(this.publish(dropped.stream));
    const results = await Promise.allSettled(steps);
    for (const result of results) {
      if (result.status === "rejected") console.warn("rostrum: after the resume: %o", result.reason);
    }
    const listening = this.#listening;
    if (listening && listening.channel !== "floor") {
      await this.listen(listening.channel, listening.floorUnder).catch((err) => console.warn("rostrum: channel: %o", err));
    }
    await this.#startControl();
    this.#emit("resumed", { self: this.self, downMs: Math.round(performance.now() - dropped.at) });
  }

  /**
   * Nothing to resume any more (the grace passed, the server no longer knows us): the page
   * offers a rejoin, as after any lost connection.
   * @param {string} why
   */
  #giveUp(why) {
    if (!this.#dropped) return;
    clearTimeout(this.#dropped.timer);
    this.#dropped = null;
    this.#resume = { key: "", graceS: 0 };
    this.#manager?.reconnection(false);
    this.#setState("signaling", "disconnected");
    this.#emit("disconnected", { reason: why, ended: false });
  }

  /**
   * @param {"publish" | "subscribe"} which
   * @returns {RTCPeerConnection}
   */
  #newPeerConnection(which) {
    // iceServers from the join ack only (empty by default): nothing else is ever contacted;
    // with the ack's iceTransportPolicy "relay", only the TURN server is.
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.#setState(which, pc.connectionState);
    pc.addEventListener("connectionstatechange", () => {
      // A closed connection that was replaced must not overwrite the new one's state.
      if (which === "publish" ? this.#publishPc === pc : this.#subscribePc === pc) {
        this.#setState(which, pc.connectionState);
      }
    });
    return pc;
  }

  /** @param {any} msg */
  #onPresence(msg) {
    const participant = msg?.participant;
    if (!participant?.id) return;
    if (msg.event === "left") this.#participants.delete(participant.id);
    else this.#participants.set(participant.id, participant);
    this.#emit("presence", { event: msg.event, participant });
    this.#emit("participants", { participants: this.participants });
    // Slot labels name participants: refresh the views of slots this participant feeds.
    for (const slot of this.#slots.values()) {
      if (slot.participantId === participant.id) this.#emit("slot", { slot: this.#view(slot) });
    }
  }

  /** @param {Slot[]} slots */
  #onSlots(slots) {
    /** @type {Slot[]} */
    const changed = [];
    for (const slot of slots) {
      const before = this.#slots.get(slot.mid);
      this.#slots.set(slot.mid, slot);
      if (
        !before ||
        before.participantId !== slot.participantId ||
        before.source !== slot.source ||
        before.layer !== slot.layer
      ) {
        changed.push(slot);
      }
    }
    // Before the subscribe negotiation ends there are no tracks yet: subscribe() emits then.
    if (this.#receivers.size === 0) return;
    this.#emit("slots", { slots: this.slots });
    for (const slot of changed) this.#emit("slot", { slot: this.#view(slot) });
  }

  /**
   * @param {Slot} slot
   * @returns {SlotView}
   */
  #view(slot) {
    const receiver = this.#receivers.get(slot.mid);
    const participant = slot.participantId ? this.#participants.get(slot.participantId) ?? null : null;
    return { ...slot, track: receiver?.track ?? null, participant };
  }

  /**
   * @param {ConnectionName} which
   * @param {string} state
   */
  #setState(which, state) {
    if (this.#states[which] === state) return;
    this.#states[which] = state;
    this.#emit("connectionstate", { which, state });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
