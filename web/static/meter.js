// @ts-check
/**
 * A live level meter for one audio track (`role="meter"`, 0–100 from −60 dBFS to 0): the RMS
 * of the time-domain signal, refreshed on animation frames. The interpreter's console shows its
 * own microphone with it; the meter reads a clone of the track, so it shows the voice also
 * while the console keeps the microphone closed to listeners.
 */

import { h } from "./dom.js";

export class LevelMeter {
  #frame = 0;
  /** @type {MediaStreamAudioSourceNode | null} */
  #source = null;
  /** @type {MediaStreamTrack | null} */
  #clone = null;

  /**
   * @param {{id: string, label: string | import("./i18n.js").Message}} options
   */
  constructor({ id, label }) {
    this.bar = h("div", { class: "meter__bar" });
    this.root = h(
      "div",
      { class: "meter", attrs: { id, role: "meter", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 } },
      this.bar,
    );
  }

  /**
   * Measure `track` (a clone of it) in `context`.
   * @param {MediaStreamTrack | undefined} track
   * @param {AudioContext | null} context
   */
  start(track, context) {
    this.stop();
    if (!track || !context) return;
    const clone = track.clone();
    clone.enabled = true;
    this.#clone = clone;
    const source = context.createMediaStreamSource(new MediaStream([clone]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    this.#source = source;
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const db = 10 * Math.log10(sum / samples.length || 1e-12);
      this.#set(Math.max(0, Math.min(100, ((db + 60) / 60) * 100)));
      this.#frame = requestAnimationFrame(tick);
    };
    tick();
  }

  /** @param {number} percent */
  #set(percent) {
    const value = percent.toFixed(0);
    this.bar.style.inlineSize = `${value}%`;
    if (this.root.getAttribute("aria-valuenow") !== value) this.root.setAttribute("aria-valuenow", value);
  }

  stop() {
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = null;
    this.#clone?.stop();
    this.#clone = null;
    this.#set(0);
  }
}
