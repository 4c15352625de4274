// @ts-check
/**
 * The reception bar: what this listener receives and how well. The own connection's quality,
 * the "Low bandwidth" switch (audio and documents only: `MeetingClient.setVideoEnabled`,
 * remembered in localStorage), and the debug overlay's toggle (also the `D` key, bound by
 * room.js) with the link's figures (available incoming bitrate, round-trip time).
 */

import { h, setText } from "./dom.js";
import { t, msg, errorMessage } from "./i18n.js";
import { QualityIndicator } from "./indicator.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./quality.js").QualitySample} QualitySample */

export const LOW_BANDWIDTH_KEY = "rostrum.lowBandwidth";

/** The remembered "Low bandwidth" choice (false when storage is unavailable). */
export function loadLowBandwidth() {
  try {
    return localStorage.getItem(LOW_BANDWIDTH_KEY) === "on";
  } catch {
    return false;
  }
}

/** @param {boolean} on */
function saveLowBandwidth(on) {
  try {
    localStorage.setItem(LOW_BANDWIDTH_KEY, on ? "on" : "off");
  } catch {
    // private mode or storage disabled: the switch still works for this visit
  }
}

/**
 * A bitrate in words (kbit/s below 1 Mbit/s).
 * @param {number | null} bps
 */
export function formatBitrate(bps) {
  if (bps === null) return t("debug.unknown");
  if (bps < 1_000_000) return t("debug.kbps", { value: Math.round(bps / 1000) });
  return t("debug.mbps", { value: (bps / 1_000_000).toFixed(1) });
}

/**
 * @typedef {object} ReceptionOptions
 * @property {(text: string) => void} onError
 * @property {(on: boolean) => void} onLowBandwidth after the switch changed (the tiles re-render)
 * @property {(on: boolean) => void} onDebug after the debug overlay was shown or hidden
 * @property {boolean} [debugAllowed] show the debug toggle (the chair and the secretariat, or
 *   the `debug` flag: see `debugAllowed()`); false hides it and `setDebug` does nothing
 * @property {HTMLElement} [extra] a control to show in the bar (the room's "Devices")
 */

/**
 * Whether the debug overlay is offered: to the chair and the secretariat, or to anyone who
 * opens the page with `?debug=1` (or has `rostrum.debug` = `on` in localStorage).
 * @param {string} role
 */
export function debugAllowed(role) {
  if (role === "chair" || role === "secretariat") return true;
  if (new URLSearchParams(location.search).get("debug") === "1") return true;
  try {
    return localStorage.getItem("rostrum.debug") === "on";
  } catch {
    return false;
  }
}

export class ReceptionBar {
  #debug = false;
  #busy = false;

  /**
   * @param {MeetingClient} client
   * @param {ReceptionOptions} options
   */
  constructor(client, { onError, onLowBandwidth, onDebug, debugAllowed = true, extra }) {
    this.client = client;
    this.debugAllowed = debugAllowed;
    this.onError = onError;
    this.onLowBandwidth = onLowBandwidth;
    this.onDebug = onDebug;
    this.quality = new QualityIndicator({ id: "local-quality", labelKey: "quality.local", className: "reception__quality", visibleLabel: true });
    this.lowBandwidthButton = h(
      "button",
      {
        class: "button button--small switch",
        attrs: { id: "low-bandwidth", type: "button", role: "switch", "aria-checked": "false", "aria-labelledby": "low-bandwidth-label", "aria-describedby": "low-bandwidth-help" },
        on: { click: () => this.setLowBandwidth(!this.lowBandwidth) },
      },
      h("span", { class: "switch__track", attrs: { "aria-hidden": "true" } }, h("span", { class: "switch__thumb" })),
      h(
        "span",
        { class: "switch__text" },
        h("span", { class: "switch__label", attrs: { id: "low-bandwidth-label" }, text: msg("reception.lowBandwidth") }),
        h("span", { class: "switch__help", attrs: { id: "low-bandwidth-help" }, text: msg("reception.lowBandwidthHelp") }),
      ),
    );
    this.debugButton = h("button", {
      class: "button button--small",
      attrs: { id: "debug-toggle", type: "button", "aria-pressed": "false", "aria-keyshortcuts": "D", "aria-controls": "debug-link", title: msg("reception.debugHelp") },
      text: msg("reception.debug"),
      on: { click: () => this.setDebug(!this.#debug) },
    });
    this.debugButton.hidden = !debugAllowed;
    this.link = h("p", { class: "reception__link", attrs: { id: "debug-link", hidden: true } });
    // What the SFU lets this publisher send (`uplink`): said only when it is less than all.
    this.uplink = h("p", { class: "reception__uplink", attrs: { id: "uplink-notice", role: "status", hidden: true } });
    this.root = h(
      "section",
      { class: "reception", attrs: { id: "reception", "aria-label": msg("reception.label") } },
      this.quality.root,
      this.lowBandwidthButton,
      extra ?? null,
      this.debugButton,
      this.uplink,
      this.link,
    );
    client.addEventListener("uplink", () => this.#renderUplink());
    // The client says what is in force (a refused or failed `video` puts it back).
    client.addEventListener("video", () => this.#renderSwitch());
  }

  /** Audio and documents only. */
  get lowBandwidth() {
    return !this.client.videoEnabled;
  }

  get debug() {
    return this.#debug;
  }

  /** Apply the remembered choice (before subscribing: the client sends it once subscribed). */
  async restore() {
    if (loadLowBandwidth()) await this.setLowBandwidth(true, { remember: false });
  }

  /**
   * @param {boolean} on audio and documents only
   * @param {{remember?: boolean}} [options]
   */
  async setLowBandwidth(on, { remember = true } = {}) {
    if (this.#busy) return;
    this.#busy = true;
    this.lowBandwidthButton.disabled = true;
    try {
      await this.client.setVideoEnabled(!on);
      if (remember) saveLowBandwidth(on);
    } catch (err) {
      this.onError(errorMessage(err));
    } finally {
      this.#busy = false;
      this.lowBandwidthButton.disabled = false;
    }
    this.#renderSwitch();
  }

  #renderUplink() {
    const level = this.client.uplinkLevel;
    this.uplink.dataset.level = level;
    this.uplink.hidden = level === "full";
    setText(this.uplink, level === "full" ? "" : msg(level === "low" ? "reception.uplinkLow" : "reception.uplinkAudio"));
  }

  #renderSwitch() {
    const on = this.lowBandwidth;
    if (this.lowBandwidthButton.getAttribute("aria-checked") === String(on)) return;
    this.lowBandwidthButton.setAttribute("aria-checked", String(on));
    this.onLowBandwidth(on);
  }

  /** @param {boolean} on */
  setDebug(on) {
    if (!this.debugAllowed) return;
    this.#debug = on;
    this.debugButton.setAttribute("aria-pressed", String(on));
    this.link.hidden = !on;
    this.onDebug(on);
  }

  /** @param {QualitySample} sample */
  showSample(sample) {
    this.quality.show(sample.local);
    const link = sample.link;
    const rtt = link?.currentRoundTripTime ?? null;
    this.link.dataset.availableIncomingBitrate = String(link?.availableIncomingBitrate ?? "");
    setText(
      this.link,
      [
        `${t("debug.incoming")}: ${formatBitrate(link?.availableIncomingBitrate ?? null)}`,
        `${t("debug.rtt")}: ${rtt === null ? t("debug.unknown") : `${Math.round(rtt * 1000)} ms`}`,
      ].join(" · "),
    );
  }
}
