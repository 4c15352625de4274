// @ts-check
/**
 * The connection-quality indicator: three bars (one, two or three filled: readable without
 * colour) and a text label ("Good", "Fair", "Poor") that screen readers read as
 * "Connection: Fair". Shown on every participant's tile and, for the own link, in the
 * reception bar. The rating itself comes from quality.js.
 */

import { h, setText } from "./dom.js";
import { t, msg, UI_LANGUAGE_EVENT } from "./i18n.js";

/** @typedef {import("./quality.js").Rating} Rating */
/** @typedef {import("./quality.js").Reason} Reason */

/**
 * A reason in words, for the indicator's details.
 * @param {Reason} reason
 * @returns {string}
 */
export function describeReason({ signal, value }) {
  const number = typeof value === "number" ? value : 0;
  switch (signal) {
    case "loss":
      return t("quality.reason.loss", { value: (number * 100).toFixed(number < 0.1 ? 1 : 0) });
    case "jitter":
      return t("quality.reason.jitter", { value: Math.round(number * 1000) });
    case "rtt":
      return t("quality.reason.rtt", { value: Math.round(number * 1000) });
    case "fps":
      return t("quality.reason.fps", { value: Math.round(number) });
    case "bitrate":
      return t("quality.reason.bitrate", { value: Math.round(number / 1000) });
    case "state":
      return t("quality.reason.state", { value: t(`conn.${value}`) });
    default:
      return t(`quality.reason.${signal}`);
  }
}

export class QualityIndicator {
  /**
   * @param {object} [options]
   * @param {string} [options.id]
   * @param {string} [options.labelKey] message key of the accessible prefix ("Connection", "Your
   *   connection")
   * @param {string} [options.className] extra classes
   * @param {boolean} [options.visibleLabel] show the prefix too (where the indicator stands
   *   alone); on a tile only screen readers need it
   */
  constructor({ id, labelKey = "quality.label", className = "", visibleLabel = false } = {}) {
    this.prefix = h("span", { class: visibleLabel ? "quality__label" : "visually-hidden" }, h("span", { text: msg(labelKey) }), ": ");
    this.text = h("span", { class: "quality__text" });
    this.root = h(
      "span",
      { class: `quality ${className}`.trim(), attrs: { id, "data-quality": "", hidden: true } },
      h("span", { class: "quality__bars", attrs: { "aria-hidden": "true" } }, h("span"), h("span"), h("span")),
      this.prefix,
      this.text,
    );
    /** @type {Rating | null} */
    this.last = null;
    // The rating's words follow a change of UI language at once, not at the next sample.
    window.addEventListener(UI_LANGUAGE_EVENT, () => this.show(this.last));
  }

  /** @param {Rating | null} rating null: not known yet (hidden) */
  show(rating) {
    const { root } = this;
    this.last = rating;
    if (!rating) {
      root.hidden = true;
      root.dataset.quality = "";
      return;
    }
    root.hidden = false;
    if (root.dataset.quality !== rating.quality) root.dataset.quality = rating.quality;
    setText(this.text, t(`quality.${rating.quality}`));
    const details = rating.reasons.map(describeReason).join(", ");
    if (root.title !== details) root.title = details;
  }
}
