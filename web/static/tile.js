// @ts-check
/**
 * One participant's tile on the stage, for one video slot of the subscribe connection: the
 * video, or the participant's initials and name when there is no picture (their camera is
 * off, the listener's "low bandwidth" switch is on, or the SFU gives this seat no layer), the
 * name label, the connection-quality indicator, and the debug overlay (the layer received,
 * the decoded size, frame rate and packets lost).
 */

import { h, setText } from "./dom.js";
import { t, msg } from "./i18n.js";
import { QualityIndicator } from "./indicator.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./quality.js").Rating} Rating */
/** @typedef {import("./quality.js").SlotRate} SlotRate */

/**
 * Up to two letters for a name: the first letters of its first and last words ("Chen Wei" →
 * "CW"); one character for a name in a script without spaces ("陈伟" → "陈").
 * @param {string} name
 * @returns {string}
 */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = (/** @type {string} */ word) => Array.from(word)[0] ?? "";
  const letters = words.length === 1 ? first(words[0]) : first(words[0]) + first(words[words.length - 1]);
  return letters.toLocaleUpperCase();
}

/**
 * Words for a layer in the debug overlay.
 * @param {string | null | undefined} layer
 */
export function layerName(layer) {
  if (layer === "camera") return t("debug.high");
  if (layer === "camera-low") return t("debug.low");
  if (layer === "screen") return t("debug.screen");
  return t("debug.none");
}

/**
 * @typedef {object} TileState
 * @property {string | null} participantId who this seat carries (the video slot's, or the
 *   seat's audio when the video slot is empty)
 * @property {Participant | null} participant
 * @property {boolean} picture the video plays (a layer arrives and the camera is on)
 * @property {boolean} speaking has the floor
 * @property {boolean} pinned
 * @property {string} note an extra word on the label ("audio only"), or ""
 */

export class VideoTile {
  /**
   * @param {string} mid the video slot
   * @param {MediaStreamTrack} track its track
   */
  constructor(mid, track) {
    this.mid = mid;
    this.video = h("video", { class: "tile__video", props: { muted: true, autoplay: true, playsInline: true } });
    this.video.srcObject = new MediaStream([track]);
    this.initials = h("span", { class: "tile__initials" });
    this.avatar = h("div", { class: "tile__avatar", attrs: { "aria-hidden": "true" } }, this.initials);
    this.label = h("figcaption", { class: "tile__label" });
    this.quality = new QualityIndicator({ className: "tile__quality" });
    this.debugLayer = h("span", { class: "tile__debug-layer" });
    this.debugFrames = h("span", { class: "tile__debug-frames" });
    this.debugLost = h("span", { class: "tile__debug-lost" });
    this.debug = h(
      "div",
      { class: "tile__debug", attrs: { hidden: true, title: msg("debug.title") } },
      this.debugLayer,
      this.debugFrames,
      this.debugLost,
    );
    this.root = h(
      "figure",
      { class: "tile", attrs: { "data-mid": mid } },
      this.video,
      this.avatar,
      this.quality.root,
      this.debug,
      this.label,
    );
    /** @type {string | null} */
    this.layer = null;
  }

  /**
   * @param {TileState} state
   * @param {string | null | undefined} layer the slot's layer (debug overlay)
   */
  render({ participantId, participant, picture, speaking, pinned, note }, layer) {
    const { root } = this;
    root.hidden = !participantId;
    root.dataset.participant = participantId ?? "";
    root.classList.toggle("tile--no-video", !picture);
    root.classList.toggle("tile--pinned", pinned);
    root.classList.toggle("tile--floor", speaking);
    setText(this.initials, participant ? initials(participant.name) : "");
    const affiliation = participant ? [participant.memberState, participant.organization].filter(Boolean).join(", ") : "";
    // A long name is cut on a small tile: the whole of it stays readable on hover (title)
    // and for screen readers (the figure's label).
    const whole = [participant?.name, affiliation].filter(Boolean).join(" · ");
    if (this.label.title !== whole) this.label.title = whole;
    if (whole) root.setAttribute("aria-label", whole);
    else root.removeAttribute("aria-label");
    this.label.replaceChildren(
      h("strong", { class: "tile__name", text: participant?.name ?? (participantId ? "…" : t("room.emptySlot")) }),
      affiliation ? h("span", { class: "tile__affiliation", text: ` · ${affiliation}` }) : "",
      participant && !participant.audio ? h("span", { class: "tile__state", text: ` · ${t("room.micMuted")}` }) : "",
      note ? h("span", { class: "tile__state", text: ` · ${note}` }) : "",
    );
    this.layer = layer ?? null;
    this.debug.dataset.layer = this.layer ?? "";
    setText(this.debugLayer, this.layer ? `${layerName(this.layer)} (${this.layer})` : layerName(this.layer));
  }

  /** @param {Rating | null} rating */
  showQuality(rating) {
    this.quality.show(rating);
  }

  /** @param {boolean} on */
  showDebug(on) {
    this.debug.hidden = !on;
  }

  /**
   * The latest statistics of this tile's video slot, for the debug overlay.
   * @param {SlotRate | undefined} rate
   */
  showStats(rate) {
    const { debug } = this;
    const width = rate?.frameWidth ?? 0;
    const height = rate?.frameHeight ?? 0;
    const fps = rate?.framesPerSecond ?? null;
    const lost = rate?.packetsLost ?? 0;
    debug.dataset.frameWidth = String(width);
    debug.dataset.frameHeight = String(height);
    debug.dataset.fps = fps === null ? "" : fps.toFixed(1);
    debug.dataset.packetsLost = String(lost);
    const size = width && height ? `${width}×${height}` : "–";
    setText(this.debugFrames, `${size} · ${fps === null ? "–" : Math.round(fps)} ${t("debug.fps")}`);
    setText(this.debugLost, `${t("debug.lost")} ${lost}`);
  }
}
