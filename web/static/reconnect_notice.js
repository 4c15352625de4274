/** The room's notice while the connection is down and once it is back (reconnect.js). */

import { t } from "./i18n.js";

/**
 * The room's notice while the connection is down ("Reconnecting…") and once it is back
 * ("Reconnected"), in the page's language, announced to screen readers (role=status).
 */
export class ReconnectNotice {
  /**
   * @param {HTMLElement} element where the notice shows (hidden while all is well)
   * @param {EventTarget} client the MeetingClient
   */
  constructor(element, client) {
    this.element = element;
    this.element.setAttribute("role", "status");
    this.element.setAttribute("aria-live", "polite");
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    client.addEventListener("reconnecting", () => this.show(t("trust.reconnecting"), false));
    client.addEventListener("resumed", () => this.show(t("trust.reconnected"), true));
    client.addEventListener("disconnected", () => this.hide());
  }

  /**
   * @param {string} text
   * @param {boolean} passing hide it after a few seconds
   */
  show(text, passing) {
    clearTimeout(this.timer);
    this.element.textContent = text;
    this.element.hidden = false;
    this.element.dataset.state = passing ? "resumed" : "reconnecting";
    if (passing) this.timer = setTimeout(() => this.hide(), 4000);
  }

  hide() {
    clearTimeout(this.timer);
    this.element.hidden = true;
    this.element.textContent = "";
  }
}
