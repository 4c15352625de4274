// @ts-check
/**
 * Rostrum's browser client: everything that talks to the server (Socket.IO) and to WebRTC.
 * No DOM code here; page modules (join.js, room.js) render and bind.
 *
 * Wire protocol: docs/protocol.md. One engine.io connection (one socket.io `Manager`) carries
 * the `/room` and `/media` namespaces: the server knows a participant by that connection, so
 * both namespaces must share it.
 *
 * Events dispatched by `MeetingClient` (all `CustomEvent`, payload in `detail`):
 * - `joined`           `{self, meeting, participants}` after a successful join
 * - `presence`         `{event: "joined"|"left"|"updated", participant}` someone else changed
 * - `participants`     `{participants}` the list after any change (self included)
 * - `slots`            `{slots: SlotView[]}` after the subscribe negotiation and on each `slots`
 * - `slot`             `{slot: SlotView}` for each slot whose source changed
 * - `connectionstate`  `{which: "signaling"|"publish"|"subscribe", state}` on every change
 * - `disconnected`     `{reason}` the signaling connection is gone (the server dropped us)
 */

import { Manager } from "/vendor/socket.io.esm.min.js";

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
 * A receiving slot as the server describes it (docs/protocol.md, `Slot`).
 * @typedef {object} Slot
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {"speaker" | "camera" | "screen"} purpose
 * @property {string | null} participantId
 * @property {"mic" | "camera" | "screen" | null} source
 */

/**
 * A slot together with the track that plays it and the participant feeding it, if known.
 * @typedef {Slot & {track: MediaStreamTrack | null, participant: Participant | null}} SlotView
 */

/**
 * Receive statistics of one slot (from its receiver's `inbound-rtp` report).
 * @typedef {object} SlotStats
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {string | null} participantId
 * @property {number} packetsReceived
 * @property {number} packetsLost
 * @property {number} bytesReceived
 * @property {number} framesDecoded
 * @property {number} frameWidth
 * @property {number} frameHeight
 * @property {number} pliCount
 * @property {number} nackCount
 * @property {number} jitter
 * @property {number | null} audioLevel
 */

/** @typedef {"signaling" | "publish" | "subscribe"} ConnectionName */

const DEFAULT_ACK_TIMEOUT_MS = 10_000;
const DEFAULT_GATHER_TIMEOUT_MS = 10_000;

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

export class MeetingClient extends EventTarget {
  /** @type {Manager | null} */
  #manager = null;
  /** @type {import("/vendor/socket.io.esm.min.js").Socket | null} */
  #room = null;
  /** @type {import("/vendor/socket.io.esm.min.js").Socket | null} */
  #media = null;
  /** @type {Promise<import("/vendor/socket.io.esm.min.js").Socket> | null} */
  #mediaConnecting = null;
  /** The invite token, also offered to `/media` (see #connectMedia). */
  #token = "";
  /** @type {RTCPeerConnection | null} */
  #publishPc = null;
  /** @type {RTCPeerConnection | null} */
  #subscribePc = null;
  /** @type {MediaStream | null} */
  #published = null;
  /** mid → receiver of the subscribe connection @type {Map<string, RTCRtpReceiver>} */
  #receivers = new Map();
  /** mid → slot as last announced @type {Map<string, Slot>} */
  #slots = new Map();
  /** @type {Map<string, Participant>} */
  #participants = new Map();
  /** @type {Record<ConnectionName, string>} */
  #states = { signaling: "new", publish: "new", subscribe: "new" };

  /** @type {Participant | null} */
  self = null;
  /** @type {Meeting | null} */
  meeting = null;
  /** @type {RTCIceServer[]} */
  iceServers = [];

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

  // ---- /room ----------------------------------------------------------------------------

  /**
   * Open the signaling connection and the `/room` namespace with an invite token.
   * Rejects with a ProtocolError (`unauthorized`, `not-found`, `meeting-closed`, ...) when the
   * server refuses.
   * @param {string} token
   * @returns {Promise<void>}
   */
  connect(token) {
    if (this.#room) return Promise.reject(new ProtocolError("conflict", "already connected"));
    // No automatic reconnection: the server ends a participant's presence when the connection
    // drops, so a silently reconnected socket would not be joined. The page offers a rejoin.
    // autoConnect off: a Socket made by `manager.socket()` would otherwise send its CONNECT at
    // once, and the explicit connect() below a second one, which the server refuses; the
    // refusal detaches the socket from the manager and its acks are lost.
    this.#manager = new Manager(this.url, { path: "/socket.io", reconnection: false, autoConnect: false });
    this.#token = token;
    const room = this.#manager.socket("/room", { auth: { token } });
    this.#room = room;
    this.#setState("signaling", "connecting");

    room.on("presence", (/** @type {any} */ msg) => this.#onPresence(msg));
    room.on("disconnect", (/** @type {string} */ reason) => {
      if (reason === "io client disconnect") return; // our own leave() / close()
      this.#setState("signaling", "disconnected");
      this.#emit("disconnected", { reason });
    });

    return new Promise((resolve, reject) => {
      const onConnect = () => {
        room.off("connect_error", onError);
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
    this.#participants.clear();
    for (const p of ack.participants ?? []) this.#participants.set(p.id, p);
    if (this.self) this.#participants.set(this.self.id, this.self);
    this.#emit("joined", { self: this.self, meeting: this.meeting, participants: this.participants });
    this.#emit("participants", { participants: this.participants });
    return ack;
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

  /** Close everything without telling the server (it notices the disconnect). */
  close() {
    this.#publishPc?.close();
    this.#subscribePc?.close();
    this.#publishPc = null;
    this.#subscribePc = null;
    this.#published = null;
    this.#receivers.clear();
    this.#slots.clear();
    this.#media?.disconnect();
    this.#room?.disconnect();
    this.#media = null;
    this.#mediaConnecting = null;
    this.#room = null;
    this.#manager = null;
    for (const which of /** @type {ConnectionName[]} */ (["publish", "subscribe", "signaling"])) {
      if (this.#states[which] !== "new") this.#setState(which, "closed");
    }
  }

  /**
   * Switch the own microphone/camera on or off: enables or disables the published tracks
   * (a disabled track sends silence / black frames, no renegotiation) and tells the others.
   * @param {{audio?: boolean, video?: boolean}} state
   */
  async setMediaState({ audio, video }) {
    const current = this.self ?? { audio: true, video: true };
    const next = { audio: audio ?? current.audio, video: video ?? current.video };
    for (const track of this.#published?.getAudioTracks() ?? []) track.enabled = next.audio;
    for (const track of this.#published?.getVideoTracks() ?? []) track.enabled = next.video;
    await this.#request(this.#requireRoom(), "media-state", next);
    if (this.self) {
      this.self = { ...this.self, ...next };
      this.#participants.set(this.self.id, this.self);
      this.#emit("participants", { participants: this.participants });
    }
  }

  // ---- /media ---------------------------------------------------------------------------

  /**
   * Publish a stream's first microphone track and first camera track (vanilla ICE).
   * @param {MediaStream} stream
   */
  async publish(stream) {
    if (this.#publishPc) throw new ProtocolError("conflict", "already publishing");
    const media = await this.#connectMedia();
    const pc = this.#newPeerConnection("publish");
    this.#publishPc = pc;
    this.#published = stream; // setMediaState() may toggle its tracks while we negotiate
    try {
      /** @type {Array<[RTCRtpTransceiver, "mic" | "camera"]>} */
      const sent = [];
      const mic = stream.getAudioTracks()[0];
      const camera = stream.getVideoTracks()[0];
      if (mic) sent.push([pc.addTransceiver(mic, { direction: "sendonly", streams: [stream] }), "mic"]);
      if (camera) {
        const transceiver = pc.addTransceiver(camera, { direction: "sendonly", streams: [stream] });
        preferCodec(transceiver, this.meeting?.videoCodec);
        sent.push([transceiver, "camera"]);
      }
      if (sent.length === 0) throw new ProtocolError("bad-request", "nothing to publish");

      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc, this.gatherTimeoutMs);
      /** @type {Record<string, "mic" | "camera">} */
      const sources = {};
      for (const [transceiver, source] of sent) {
        if (transceiver.mid !== null) sources[transceiver.mid] = source;
      }
      const sdp = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;
      const ack = await this.#request(media, "publish", { sdp, sources });
      await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    } catch (err) {
      pc.close();
      if (this.#publishPc === pc) {
        this.#publishPc = null;
        this.#published = null;
      }
      this.#setState("publish", "failed");
      throw err;
    }
  }

  /** Stop publishing: the server closes the producers; the local tracks keep running. */
  async unpublish() {
    const pc = this.#publishPc;
    if (!pc) return;
    try {
      if (this.#media) await this.#request(this.#media, "unpublish", {});
    } finally {
      pc.close();
      this.#publishPc = null;
      this.#published = null;
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
    const media = await this.#connectMedia();
    const pc = this.#newPeerConnection("subscribe");
    this.#subscribePc = pc;
    try {
      const ack = await this.#request(media, "subscribe", {});
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
      const answered = await this.#request(media, "subscribe-answer", { sdp });
      // The server may state the current sources in this ack as well.
      if (Array.isArray(answered.slots)) for (const slot of answered.slots) this.#slots.set(slot.mid, slot);
      this.#emit("slots", { slots: this.slots });
      for (const slot of this.slots) this.#emit("slot", { slot });
      return this.slots;
    } catch (err) {
      pc.close();
      if (this.#subscribePc === pc) this.#subscribePc = null;
      this.#receivers.clear();
      this.#setState("subscribe", "failed");
      throw err;
    }
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
    /** @type {SlotStats[]} */
    const out = [];
    for (const slot of this.#slots.values()) {
      const receiver = this.#receivers.get(slot.mid);
      if (!receiver) continue;
      /** @type {any} */
      let inbound = null;
      (await receiver.getStats()).forEach((/** @type {any} */ report) => {
        if (report.type === "inbound-rtp") inbound = report;
      });
      out.push({
        mid: slot.mid,
        kind: slot.kind,
        participantId: slot.participantId,
        packetsReceived: inbound?.packetsReceived ?? 0,
        packetsLost: inbound?.packetsLost ?? 0,
        bytesReceived: inbound?.bytesReceived ?? 0,
        framesDecoded: inbound?.framesDecoded ?? 0,
        frameWidth: inbound?.frameWidth ?? 0,
        frameHeight: inbound?.frameHeight ?? 0,
        pliCount: inbound?.pliCount ?? 0,
        nackCount: inbound?.nackCount ?? 0,
        jitter: inbound?.jitter ?? 0,
        audioLevel: inbound?.audioLevel ?? null,
      });
    }
    return out;
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

  #requireRoom() {
    if (!this.#room) throw new ProtocolError("not-joined", "not connected to the meeting");
    return this.#room;
  }

  /** Connect the `/media` namespace once (after join), on the same engine.io connection. */
  #connectMedia() {
    if (this.#mediaConnecting) return this.#mediaConnecting;
    const manager = this.#manager;
    if (!manager || !this.self) {
      return Promise.reject(new ProtocolError("not-joined", "join the meeting first"));
    }
    // docs/protocol.md: `/media` admits by the engine.io session that joined on `/room`; the
    // token is offered as well, for a server that checks it there too.
    const media = manager.socket("/media", { auth: { token: this.#token } });
    media.on("slots", (/** @type {any} */ msg) => this.#onSlots(msg?.slots ?? []));
    this.#mediaConnecting = new Promise((resolve, reject) => {
      const onConnect = () => {
        media.off("connect_error", onError);
        this.#media = media;
        resolve(media);
      };
      /** @param {any} err */
      const onError = (err) => {
        media.off("connect", onConnect);
        media.disconnect();
        this.#mediaConnecting = null;
        reject(refusalError(err));
      };
      media.once("connect", onConnect);
      media.once("connect_error", onError);
      media.connect();
    });
    return this.#mediaConnecting;
  }

  /**
   * @param {"publish" | "subscribe"} which
   * @returns {RTCPeerConnection}
   */
  #newPeerConnection(which) {
    // iceServers from the join ack only (empty by default): nothing else is ever contacted.
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
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
        before.source !== slot.source
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
