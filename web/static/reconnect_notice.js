/** The room's notice while the connection is down and once it is back (reconnect.js). */

import { t } from "./i18n.js";

/**
 * The room's notice while the connection is down ("Reconnecting…") and once it is back
 * ("Reconnected"), and while the media reconnects after the meeting's media server restarted
 * (`mediarestart` to `mediarestored`: "Reconnecting audio and video…", gone when media is
 * back), in the page's language, announced politely to screen readers (role=status).
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
    client.addEventListener("mediarestart", () => this.show(t("media.restarting"), false, "media-restarting"));
    client.addEventListener("mediarestored", () => {
      if (this.element.dataset.state === "media-restarting") this.hide();
    });
  }

  /**
   * @param {string} text
   * @param {boolean} passing hide it after a few seconds
   * @param {string} [state] what it says (data-state), by default "resumed" or "reconnecting"
   */
  show(text, passing, state = passing ? "resumed" : "reconnecting") {
    clearTimeout(this.timer);
    this.element.textContent = text;
    this.element.hidden = false;
    this.element.dataset.state = state;
    if (passing) this.timer = setTimeout(() => this.hide(), 4000);
  }

  hide() {
    clearTimeout(this.timer);
    this.element.hidden = true;
    this.element.textContent = "";
    delete this.element.dataset.state;
  }
}
