// @ts-check
/**
 * Connection quality: how well this listener receives each participant, and how well its own
 * link carries the meeting, rated good / fair / poor every `QUALITY_INTERVAL_MS` from two
 * samples of the subscribe connection's statistics (`MeetingClient.receptionStats`). No DOM:
 * room.js shows the ratings on the tiles and in the reception bar.
 *
 * Each signal is rated on its own and the worst one wins (`rateSignals`):
 * - loss: packets lost / (lost + received) over the interval, once enough packets were
 *   expected to tell (a silent delegate's microphone sends almost nothing: Opus DTX);
 * - jitter: the receiver's interarrival jitter on audio;
 * - frame rate: decoded frames per second while the slot receives a layer of a camera that is
 *   on (no frames at all is a frozen picture);
 * - the local link only: the subscribe connection's state, the selected candidate pair's
 *   round-trip time, its available incoming bitrate (when the browser reports them), and the
 *   layer the SFU gives (docs/architecture.md, "Adaptive bitrate": the low layer, or no video
 *   at all, when this listener's downlink does not carry more), counted only once it has
 *   lasted, since every new seat starts on the low layer and is raised as the link allows.
 *   The available incoming bitrate is the browser's receive-side estimate, which never runs
 *   far ahead of what arrives (about 1.5 times it): a low figure on a quiet link says nothing.
 *   What it does say is congestion: below what arrives (the estimator backs off when delay
 *   builds up) for several samples in a row, the link is congested: fair, or poor when the
 *   estimate is below what the meeting's audio needs. A shorter dip is the estimator catching
 *   up with a jump in what is sent (a higher layer, the SFU's probing) and counts for nothing.
 * A rating gets worse at once and better only when two samples in a row say so (`QualityTracker`),
 * so a label does not flicker.
 */

/** @typedef {"good" | "fair" | "poor"} Quality */
/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").SlotStats} SlotStats */
/** @typedef {import("./protocol.js").LinkStats} LinkStats */
/** @typedef {import("./protocol.js").ReceptionStats} ReceptionStats */

export const QUALITY_INTERVAL_MS = 2000;

/** Ordered best to worst. @type {readonly Quality[]} */
export const QUALITIES = ["good", "fair", "poor"];

/**
 * Where each signal turns fair, then poor. For frame rate and bitrate, lower is worse.
 */
export const THRESHOLDS = Object.freeze({
  lossFraction: [0.02, 0.08],
  jitterS: [0.03, 0.1],
  rttS: [0.3, 0.6],
  framesPerSecond: [10, 5],
  /** an available incoming bitrate below this does not carry the meeting's audio (Opus at
   * 32 kbit/s is about 55 kbit/s on the wire) */
  minIncomingBps: 64_000,
  /** available incoming bitrate / bitrate received below this: the estimator backed off */
  congestedHeadroom: 0.85,
  /** below this incoming bitrate the headroom is not rated (bits per second) */
  minReceivedBps: 50_000,
  /** fewer packets than this over an interval say nothing about loss */
  minExpectedPackets: 20,
  /** samples in a row before a reduced layer or a backed-off estimate counts (a new seat
   * starts on the low layer; the estimator lags behind a jump in what is sent) */
  graceSamples: 3,
});

/**
 * A problem found in one sample, for the label's details and the debug overlay.
 * @typedef {object} Reason
 * @property {"loss" | "jitter" | "fps" | "frozen" | "rtt" | "bitrate" | "layer" | "novideo" | "state"} signal
 * @property {Quality} quality
 * @property {number | string} value
 */

/**
 * @typedef {object} Rating
 * @property {Quality} quality
 * @property {Reason[]} reasons what made it worse than good (empty when good)
 */

/**
 * One slot over one interval.
 * @typedef {object} SlotRate
 * @property {string} mid
 * @property {"audio" | "video"} kind
 * @property {string | null} participantId
 * @property {number | undefined} seat
 * @property {"seat" | "screen" | "channel"} purpose
 * @property {"camera" | "camera-low" | "screen" | null} layer
 * @property {number} packetsReceived packets received over the interval
 * @property {number} lostInInterval packets lost over the interval
 * @property {number} packetsLost cumulative, as the browser counts them
 * @property {number | null} lossFraction over the interval, null when too few packets to tell
 * @property {number | null} framesPerSecond decoded (video)
 * @property {number} framesDecoded cumulative
 * @property {number} frameWidth
 * @property {number} frameHeight
 * @property {number} jitterS
 */

/**
 * What one sample says.
 * @typedef {object} QualitySample
 * @property {number} at `performance.now()` of the sample
 * @property {Map<string, SlotRate>} slots mid → rate
 * @property {Map<string, Rating>} participants participant id → rating (smoothed)
 * @property {Rating | null} local this listener's link (smoothed); null before the first interval
 * @property {LinkStats | null} link
 */

/**
 * Rate one value against fair/poor thresholds.
 * @param {number} value
 * @param {readonly number[]} limits [fair, poor]; descending limits mean lower is worse
 * @returns {Quality}
 */
export function rateValue(value, [fair, poor]) {
  const lowerIsWorse = poor < fair;
  if (lowerIsWorse ? value < poor : value >= poor) return "poor";
  if (lowerIsWorse ? value < fair : value >= fair) return "fair";
  return "good";
}

/**
 * The worse of two qualities.
 * @param {Quality} a
 * @param {Quality} b
 * @returns {Quality}
 */
export function worse(a, b) {
  return QUALITIES.indexOf(a) >= QUALITIES.indexOf(b) ? a : b;
}

/**
 * A rating from the reasons found (the worst one wins; none: good).
 * @param {Reason[]} reasons
 * @returns {Rating}
 */
export function rateSignals(reasons) {
  const bad = reasons.filter((r) => r.quality !== "good");
  return { quality: bad.reduce((q, r) => worse(q, r.quality), /** @type {Quality} */ ("good")), reasons: bad };
}

/**
 * One slot's rates between two samples of its statistics.
 * @param {SlotStats | undefined} before the previous sample (undefined: the first)
 * @param {SlotStats} after
 * @param {number} seconds between the two samples
 * @returns {SlotRate}
 */
export function slotRate(before, after, seconds) {
  const received = before ? Math.max(0, after.packetsReceived - before.packetsReceived) : 0;
  const lost = before ? Math.max(0, after.packetsLost - before.packetsLost) : 0;
  const expected = received + lost;
  const frames = before ? Math.max(0, after.framesDecoded - before.framesDecoded) : 0;
  let framesPerSecond = null;
  if (after.kind === "video") {
    framesPerSecond = before && seconds > 0 ? frames / seconds : after.framesPerSecond;
  }
  return {
    mid: after.mid,
    kind: after.kind,
    participantId: after.participantId,
    seat: after.seat,
    purpose: after.purpose,
    layer: after.layer,
    packetsReceived: received,
    lostInInterval: lost,
    packetsLost: after.packetsLost,
    lossFraction: before && expected >= THRESHOLDS.minExpectedPackets ? lost / expected : null,
    framesPerSecond,
    framesDecoded: after.framesDecoded,
    frameWidth: after.frameWidth,
    frameHeight: after.frameHeight,
    jitterS: after.jitter,
  };
}

/**
 * Loss over several slots together, when enough packets were expected to tell.
 * @param {SlotRate[]} rates
 * @returns {Reason | null}
 */
function lossOf(rates) {
  let received = 0;
  let lost = 0;
  for (const rate of rates) {
    received += rate.packetsReceived;
    lost += rate.lostInInterval;
  }
  if (received + lost < THRESHOLDS.minExpectedPackets) return null;
  const fraction = lost / (received + lost);
  return { signal: "loss", quality: rateValue(fraction, THRESHOLDS.lossFraction), value: fraction };
}

/**
 * What the slots one participant feeds say about receiving them.
 * @param {SlotRate[]} rates that participant's slots
 * @param {(participantId: string) => boolean} cameraOn whether the participant's camera is on
 * @returns {Reason[]}
 */
export function participantReasons(rates, cameraOn) {
  /** @type {Reason[]} */
  const reasons = [];
  for (const rate of rates) {
    if (rate.kind === "audio" && rate.packetsReceived > 0) {
      reasons.push({ signal: "jitter", quality: rateValue(rate.jitterS, THRESHOLDS.jitterS), value: rate.jitterS });
    }
    const showing = rate.kind === "video" && rate.layer !== null && rate.participantId !== null && cameraOn(rate.participantId);
    if (showing && rate.framesPerSecond !== null) {
      if (rate.framesPerSecond === 0 && rate.framesDecoded > 0) reasons.push({ signal: "frozen", quality: "poor", value: 0 });
      else if (rate.framesDecoded > 0) {
        reasons.push({ signal: "fps", quality: rateValue(rate.framesPerSecond, THRESHOLDS.framesPerSecond), value: rate.framesPerSecond });
      }
    }
  }
  const loss = lossOf(rates);
  if (loss) reasons.push(loss);
  return reasons;
}

/**
 * What the link itself says: the connection's state, round-trip time, the bandwidth the
 * browser estimates against what arrives, loss over every slot, and how long the SFU has been
 * holding video back.
 * @param {LinkStats | null} link
 * @param {SlotRate[]} rates every slot
 * @param {object} context how many samples in a row (this one included) ...
 * @param {number} context.reducedSamples ... some wanted camera has been on the low layer (or
 *   given no layer)
 * @param {number} context.missingSamples ... some wanted camera has been given no layer at all
 * @param {number} [context.congestedSamples] ... the available incoming bitrate has been below
 *   what arrives (`isCongested`)
 * @returns {Reason[]}
 */
export function linkReasons(link, rates, { reducedSamples, missingSamples, congestedSamples = 0 }) {
  /** @type {Reason[]} */
  const reasons = [];
  if (!link) return reasons;
  if (link.state === "disconnected" || link.state === "failed" || link.state === "closed") {
    reasons.push({ signal: "state", quality: "poor", value: link.state });
  } else if (link.state !== "connected") {
    reasons.push({ signal: "state", quality: "fair", value: link.state });
  }
  if (link.currentRoundTripTime !== null) {
    reasons.push({ signal: "rtt", quality: rateValue(link.currentRoundTripTime, THRESHOLDS.rttS), value: link.currentRoundTripTime });
  }
  const available = link.availableIncomingBitrate;
  if (available !== null && congestedSamples >= THRESHOLDS.graceSamples) {
    reasons.push({ signal: "bitrate", quality: available < THRESHOLDS.minIncomingBps ? "poor" : "fair", value: available });
  }
  const loss = lossOf(rates);
  if (loss) reasons.push(loss);
  if (missingSamples >= THRESHOLDS.graceSamples) reasons.push({ signal: "novideo", quality: "poor", value: missingSamples });
  else if (reducedSamples >= THRESHOLDS.graceSamples) reasons.push({ signal: "layer", quality: "fair", value: "camera-low" });
  return reasons;
}

/**
 * Whether the browser's estimate of the incoming bandwidth is below what arrives (it backed
 * off: delay is building up), when enough arrives to tell.
 * @param {LinkStats | null} link
 * @param {number | null} receivedBps what arrived over the interval (bits per second)
 */
export function isCongested(link, receivedBps) {
  const available = link?.availableIncomingBitrate ?? null;
  if (available === null || receivedBps === null || receivedBps < THRESHOLDS.minReceivedBps) return false;
  return available < THRESHOLDS.congestedHeadroom * receivedBps;
}

/**
 * Smooths one rating: worse at once, better only when the last `hold` samples agree.
 */
export class QualityTracker {
  /** @type {Quality[]} */
  #recent = [];
  /** @param {number} [hold] */
  constructor(hold = 2) {
    this.hold = hold;
  }

  /**
   * @param {Rating} rating this sample's
   * @returns {Rating} the rating to show: this sample's when it is the worst of the last
   *   `hold`, else the worst of them (reasons from this sample)
   */
  update(rating) {
    this.#recent.push(rating.quality);
    if (this.#recent.length > this.hold) this.#recent.shift();
    const quality = this.#recent.reduce(worse, "good");
    return { quality, reasons: rating.reasons };
  }
}

/**
 * Samples the subscribe connection every `intervalMs` and rates it; dispatches `sample`
 * (`CustomEvent`, detail: QualitySample) after each. `latest` keeps the last one.
 */
export class QualityMonitor extends EventTarget {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer = undefined;
  /** @type {ReceptionStats | null} */
  #previous = null;
  /** participant id (or "local") → tracker @type {Map<string, QualityTracker>} */
  #trackers = new Map();
  #reducedSamples = 0;
  #missingSamples = 0;
  #congestedSamples = 0;
  #busy = false;
  /** @type {QualitySample | null} */
  latest = null;

  /**
   * @param {MeetingClient} client
   * @param {{intervalMs?: number}} [options]
   */
  constructor(client, { intervalMs = QUALITY_INTERVAL_MS } = {}) {
    super();
    this.client = client;
    this.intervalMs = intervalMs;
  }

  start() {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    void this.sample();
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Take one sample now (also what the timer does). @returns {Promise<QualitySample | null>} */
  async sample() {
    if (this.#busy) return this.latest;
    this.#busy = true;
    try {
      const stats = await this.client.receptionStats();
      const result = this.#rate(stats);
      this.latest = result;
      this.dispatchEvent(new CustomEvent("sample", { detail: result }));
      return result;
    } catch (err) {
      console.warn("rostrum: quality sample failed: %o", err);
      return this.latest;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * @param {ReceptionStats} stats
   * @returns {QualitySample}
   */
  #rate(stats) {
    const previous = this.#previous;
    this.#previous = stats;
    const seconds = previous ? (stats.at - previous.at) / 1000 : 0;
    const before = new Map((previous?.slots ?? []).map((s) => [s.mid, s]));
    /** @type {Map<string, SlotRate>} */
    const slots = new Map();
    for (const slot of stats.slots) slots.set(slot.mid, slotRate(before.get(slot.mid), slot, seconds));

    const people = new Map(this.client.participants.map((p) => [p.id, p]));
    const cameraOn = (/** @type {string} */ id) => Boolean(people.get(id)?.video);
    /** @type {Map<string, SlotRate[]>} */
    const byParticipant = new Map();
    for (const rate of slots.values()) {
      if (!rate.participantId || rate.purpose === "channel") continue;
      const list = byParticipant.get(rate.participantId) ?? [];
      list.push(rate);
      byParticipant.set(rate.participantId, list);
    }
    /** @type {Map<string, Rating>} */
    const participants = new Map();
    if (previous) {
      for (const [id, rates] of byParticipant) participants.set(id, this.#smooth(id, rateSignals(participantReasons(rates, cameraOn))));
    }
    for (const id of [...this.#trackers.keys()]) if (id !== "local" && !byParticipant.has(id)) this.#trackers.delete(id);

    // The layers the SFU gives this listener's seats (only while video is wanted).
    let reduced = false;
    let missing = false;
    if (this.client.videoEnabled) {
      for (const rate of slots.values()) {
        if (rate.kind !== "video" || rate.purpose !== "seat") continue;
        const seatAudio = [...slots.values()].find((r) => r.kind === "audio" && r.purpose === "seat" && r.seat === rate.seat);
        const occupant = rate.participantId ?? seatAudio?.participantId ?? null;
        if (!occupant || !cameraOn(occupant)) continue;
        if (rate.layer === null) missing = true;
        else if (rate.layer === "camera-low") reduced = true;
      }
    }
    this.#missingSamples = missing ? this.#missingSamples + 1 : 0;
    this.#reducedSamples = reduced || missing ? this.#reducedSamples + 1 : 0;
    const receivedBps =
      previous?.link && stats.link && seconds > 0
        ? (Math.max(0, stats.link.bytesReceived - previous.link.bytesReceived) * 8) / seconds
        : null;
    this.#congestedSamples = isCongested(stats.link, receivedBps) ? this.#congestedSamples + 1 : 0;
    const context = { reducedSamples: this.#reducedSamples, missingSamples: this.#missingSamples, congestedSamples: this.#congestedSamples };
    const local = previous ? this.#smooth("local", rateSignals(linkReasons(stats.link, [...slots.values()], context))) : null;
    return { at: stats.at, slots, participants, local, link: stats.link };
  }

  /**
   * @param {string} key
   * @param {Rating} rating
   */
  #smooth(key, rating) {
    let tracker = this.#trackers.get(key);
    if (!tracker) this.#trackers.set(key, (tracker = new QualityTracker()));
    return tracker.update(rating);
  }
}
