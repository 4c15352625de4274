// @ts-check
/**
 * The chair's and the secretariat's caption links (CART): for a language, show the link a
 * CART program posts to, give it a new secret (the old link stops at once), or revoke it (no
 * link of that language works until a new one is made). The captioner's console shows the
 * link too and hides it when it changes (`ingest-changed`).
 */

import { h } from "./dom.js";
import { msg, t, errorMessage } from "./i18n.js";

export class CaptionLinks {
  /**
   * @param {import("./captions.js").CaptionFeed} feed
   * @param {{onError: (text: string) => void}} options
   */
  constructor(feed, { onError }) {
    this.feed = feed;
    this.onError = onError;
    this.select = h(
      "select",
      { attrs: { id: "caption-links-language" }, on: { change: () => this.#hide() } },
      ...feed.languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    this.url = h("input", { class: "captioner__cart-url", attrs: { id: "caption-links-url", type: "text", readonly: true, hidden: true, dir: "ltr", "aria-label": msg("captions.console.cart") } });
    this.status = h("p", { class: "captioner__hint", attrs: { id: "caption-links-status", role: "status" } });
    /** @param {string} id @param {string} key @param {() => Promise<void>} run */
    const button = (id, key, run) => h("button", { class: "button", attrs: { id, type: "button" }, text: msg(key), on: { click: () => void run() } });
    this.root = h(
      "details",
      { class: "captioner__cart caption-links", attrs: { id: "caption-links" } },
      h("summary", { text: msg("captions.links.heading") }),
      h("label", { attrs: { for: "caption-links-language" }, text: msg("captions.console.language") }),
      this.select,
      h(
        "div",
        { class: "captioner__row" },
        button("caption-links-show", "captions.console.cartShow", () => this.#request("ingest-url")),
        button("caption-links-rotate", "captions.links.rotate", () => this.#request("ingest-rotate")),
        button("caption-links-revoke", "captions.links.revoke", () => this.#request("ingest-revoke")),
      ),
      this.url,
      this.status,
    );
  }

  /** @param {"ingest-url" | "ingest-rotate" | "ingest-revoke"} event */
  async #request(event) {
    const language = this.select.value;
    try {
      await this.feed.start();
      const ack = await this.feed.request(event, { language });
      if (ack.url) {
        this.url.value = ack.url;
        this.url.hidden = false;
        this.url.select();
      } else this.#hide();
      const done = { "ingest-url": "", "ingest-rotate": "captions.links.rotated", "ingest-revoke": "captions.links.revoked" }[event];
      this.status.textContent = done ? t(done, { language: t(`lang.${language}`) }) : "";
    } catch (err) {
      this.#hide();
      this.onError(errorMessage(err));
    }
  }

  #hide() {
    this.url.value = "";
    this.url.hidden = true;
    this.status.textContent = "";
  }
}

/**
 * @param {import("./protocol.js").MeetingClient} client joined already
 * @param {import("./captions.js").CaptionFeed} feed
 * @param {{onError: (text: string) => void}} options
 * @returns {HTMLElement | null} null for the other roles
 */
export function captionLinks(client, feed, options) {
  const role = client.self?.role;
  return role === "chair" || role === "secretariat" ? new CaptionLinks(feed, options).root : null;
}
