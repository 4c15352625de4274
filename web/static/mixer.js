// @ts-check
/**
 * What the listener hears: the seats (the floor) and the channel slot (the chosen language),
 * mixed in the browser (docs/protocol.md, `/interpretation`).
 *
 * Routing rule, per listener:
 * - `floor` chosen, or the chosen channel carries the floor itself (`original`: its booth is
 *   silent and the floor passes through): the seats at full level, the channel slot silent
 *   (it would be the same sound twice);
 * - a language channel that is interpreted (or silent while the interpreter coughs): the
 *   channel slot at full level, the seats at the listener's "floor under" level.
 *
 * How: each audio slot's track goes into a WebAudio graph,
 *   MediaStreamSource → GainNode (the route's level) → AnalyserNode (its meter) → bus,
 *   bus → AnalyserNode (the mix's meter), and bus → volume (GainNode, the listener's incoming
 *   volume) → limiter (DynamicsCompressorNode at −6 dBFS, ratio 20, 1 ms attack: a guard
 *   against acoustic shock, which interpreters' consoles must have) → speakers,
 * so the level really applied is measurable (`levels()`, used by the browser tests). Chromium
 * pulls a remote WebRTC track into WebAudio only while the track also plays in a media
 * element, so each slot also has a muted `<audio>` element.
 * When the AudioContext cannot run (autoplay policy before any gesture), the media elements
 * play instead, at the same levels through `volume`, until the context runs.
 *
 * Echo: Chromium's echo canceller has long taken its reference only from audio played by
 * media elements (crbug.com/687574; "Chrome-wide echo cancellation" lifts that where it is
 * enabled). A delegate on loudspeakers with an older Chromium may therefore feed the floor
 * back; `new AudioMixer({useElements: true})` plays through the elements only (the test
 * measures the WebAudio path, the default).
 */

/** @typedef {import("./protocol.js").SlotView} SlotView */

/**
 * @typedef {object} Route
 * @property {string} mid
 * @property {"seat" | "channel"} role
 * @property {MediaStreamTrack} track
 * @property {HTMLAudioElement} element
 * @property {MediaStreamAudioSourceNode | null} source
 * @property {GainNode | null} gain
 * @property {AnalyserNode | null} meter
 * @property {number} level the level in force, 0..1
 */

/**
 * The levels of the seats and the channel slot for one listening choice.
 * @param {{channel: string, original: boolean, floorUnder: number}} choice
 * @returns {{seat: number, channel: number}}
 */
export function routeLevels({ channel, original, floorUnder }) {
  if (channel === "floor" || original) return { seat: 1, channel: 0 };
  return { seat: Math.max(0, Math.min(1, floorUnder)), channel: 1 };
}

export class AudioMixer {
  /** mid → route @type {Map<string, Route>} */
  #routes = new Map();
  /** @type {AudioContext | null} */
  #context = null;
  /** @type {GainNode | null} */
  #bus = null;
  /** @type {AnalyserNode | null} */
  #busMeter = null;
  /** @type {GainNode | null} */
  #volume = null;
  /** @type {DynamicsCompressorNode | null} */
  #limiter = null;
  #volumeLevel = 1;
  #limiterOn = true;
  #choice = { channel: "floor", original: true, floorUnder: 0.2 };
  /** Muted by the user (the whole room). */
  #muted = false;

  /**
   * @param {object} [options]
   * @param {HTMLElement} [options.sinkParent] where the media elements live (hidden)
   * @param {boolean} [options.useElements] play through media elements only (no WebAudio)
   */
  constructor({ sinkParent = document.body, useElements = false } = {}) {
    this.sinkParent = sinkParent;
    this.useElements = useElements || typeof AudioContext === "undefined";
    if (!this.useElements) {
      const context = new AudioContext({ latencyHint: "interactive" });
      this.#context = context;
      this.#bus = context.createGain();
      this.#busMeter = context.createAnalyser();
      this.#busMeter.fftSize = 8192;
      this.#bus.connect(this.#busMeter);
      this.#volume = context.createGain();
      this.#limiter = context.createDynamicsCompressor();
      this.#limiter.threshold.value = -6;
      this.#limiter.knee.value = 0;
      this.#limiter.ratio.value = 20;
      this.#limiter.attack.value = 0.001;
      this.#limiter.release.value = 0.1;
      this.#bus.connect(this.#volume);
      this.#wireOutput();
      context.addEventListener("statechange", () => this.#apply());
      this.resume();
      // Autoplay policy: a context made before any gesture starts suspended.
      const onGesture = () => {
        this.resume();
        if (context.state === "running") {
          document.removeEventListener("pointerdown", onGesture, true);
          document.removeEventListener("keydown", onGesture, true);
        }
      };
      document.addEventListener("pointerdown", onGesture, true);
      document.addEventListener("keydown", onGesture, true);
    }
  }

  /** Try to start the audio context (needs a user gesture in most browsers). */
  resume() {
    this.#context?.resume().catch(() => {});
  }

  /** The WebAudio path is the one playing. */
  get webAudio() {
    return this.#context?.state === "running";
  }

  /**
   * Take a slot's audio track in (or follow a change of its role).
   * @param {SlotView} slot
   */
  attach(slot) {
    if (slot.kind !== "audio" || !slot.track) return;
    const role = slot.purpose === "channel" ? "channel" : "seat";
    let route = this.#routes.get(slot.mid);
    if (!route || route.track !== slot.track) {
      if (route) this.#drop(route);
      const stream = new MediaStream([slot.track]);
      const element = /** @type {HTMLAudioElement} */ (document.createElement("audio"));
      element.autoplay = true;
      element.dataset.mid = slot.mid;
      element.dataset.role = role;
      element.srcObject = stream;
      element.muted = true;
      this.sinkParent.append(element);
      element.play().catch(() => {}); // autoplay may wait for a gesture; Join was one
      route = { mid: slot.mid, role, track: slot.track, element, source: null, gain: null, meter: null, level: 0 };
      const context = this.#context;
      if (context && this.#bus) {
        route.source = context.createMediaStreamSource(stream);
        route.gain = context.createGain();
        route.gain.gain.value = 0;
        route.meter = context.createAnalyser();
        route.meter.fftSize = 2048;
        route.source.connect(route.gain).connect(route.meter).connect(this.#bus);
      }
      this.#routes.set(slot.mid, route);
    }
    route.role = role;
    route.element.dataset.role = role;
    route.element.dataset.participant = slot.participantId ?? "";
    this.#apply();
  }

  /**
   * The listener's choice: which channel, whether its feed is the floor itself, and the
   * floor-under level.
   * @param {{channel?: string, original?: boolean, floorUnder?: number}} choice
   */
  setChoice(choice) {
    this.#choice = { ...this.#choice, ...choice };
    this.#apply();
  }

  get choice() {
    return { ...this.#choice };
  }

  /** Connect the volume to the speakers through the limiter, or directly when it is off. */
  #wireOutput() {
    const context = this.#context;
    if (!context || !this.#volume || !this.#limiter) return;
    this.#volume.disconnect();
    this.#limiter.disconnect();
    if (this.#limiterOn) this.#volume.connect(this.#limiter).connect(context.destination);
    else this.#volume.connect(context.destination);
  }

  /** The listener's incoming volume, 0..2 (1: as received). @param {number} level */
  setVolume(level) {
    this.#volumeLevel = Math.max(0, Math.min(2, level));
    this.#apply();
  }

  get volume() {
    return this.#volumeLevel;
  }

  /** The limiter against sudden loud sounds (on by default). @param {boolean} on */
  setLimiter(on) {
    this.#limiterOn = on;
    this.#wireOutput();
  }

  get limiter() {
    return this.#limiterOn;
  }

  /**
   * Play through another output device (`setSinkId`, where the browser has it).
   * @param {string} deviceId "" for the default
   */
  async setOutputDevice(deviceId) {
    const context = /** @type {any} */ (this.#context);
    if (context?.setSinkId) await context.setSinkId(deviceId);
    for (const route of this.#routes.values()) {
      const element = /** @type {any} */ (route.element);
      if (element.setSinkId) await element.setSinkId(deviceId).catch(() => {});
    }
  }

  /** The audio context, for a speaker test tone through the same output (or null). */
  get context() {
    return this.#context;
  }

  /** Silence everything (the user's own "mute the room"). @param {boolean} muted */
  setMuted(muted) {
    this.#muted = muted;
    this.#apply();
  }

  #apply() {
    const levels = routeLevels(this.#choice);
    const viaWebAudio = this.webAudio;
    const now = this.#context?.currentTime ?? 0;
    if (this.#volume) {
      this.#volume.gain.cancelScheduledValues(now);
      this.#volume.gain.setTargetAtTime(this.#volumeLevel, now, 0.03);
    }
    for (const route of this.#routes.values()) {
      const level = this.#muted ? 0 : levels[route.role];
      route.level = level;
      if (route.gain) {
        // A short ramp: no click when a booth goes live or off.
        route.gain.gain.cancelScheduledValues(now);
        route.gain.gain.setTargetAtTime(viaWebAudio ? level : 0, now, 0.03);
      }
      // Elements only pull the track for WebAudio (muted), unless they are the player.
      route.element.muted = viaWebAudio || level === 0;
      route.element.volume = viaWebAudio ? 1 : Math.min(1, level * this.#volumeLevel);
    }
  }

  /**
   * The level leaving each route after its gain (RMS, dBFS; -Infinity for silence), and the
   * level the route is set to. For meters and tests: proves what the listener hears.
   * @returns {Array<{mid: string, role: string, participantId: string, level: number, db: number}>}
   */
  levels() {
    return [...this.#routes.values()].map((route) => ({
      mid: route.mid,
      role: route.role,
      participantId: route.element.dataset.participant ?? "",
      level: route.level,
      db: route.meter ? rmsDb(route.meter) : -Infinity,
    }));
  }

  /** The analyser on the mix of every route (what reaches the speakers), or null. */
  get busAnalyser() {
    return this.#busMeter;
  }

  get sampleRate() {
    return this.#context?.sampleRate ?? 48000;
  }

  /** @param {Route} route */
  #drop(route) {
    route.source?.disconnect();
    route.gain?.disconnect();
    route.meter?.disconnect();
    route.element.srcObject = null;
    route.element.remove();
    this.#routes.delete(route.mid);
  }

  /** Stop playing and free the graph. */
  close() {
    for (const route of [...this.#routes.values()]) this.#drop(route);
    this.#context?.close().catch(() => {});
    this.#context = null;
  }
}

/**
 * RMS level of an analyser's current time-domain window, in dBFS.
 * @param {AnalyserNode} analyser
 */
export function rmsDb(analyser) {
  const samples = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(samples);
  let sum = 0;
  for (const s of samples) sum += s * s;
  return sum > 0 ? 10 * Math.log10(sum / samples.length) : -Infinity;
}
