// @ts-check
/**
 * The captioner's console: choose the language, start (or take over) captioning it, type
 * the line (everyone reading that language sees it as it grows), Enter makes it final;
 * correct one of the last lines; show the ingest link for a CART program (Zoom's
 * closed-caption API). The console reads its language's lines through the room's
 * `CaptionFeed`, so the captioner sees exactly what the readers see.
 *
 * Keystrokes: every change of the line is sent as `interim`, one at a time: while one is
 * unanswered the newest text waits and goes next, so a fast typist never queues a backlog
 * and the readers are never more than one round trip behind.
 */

import { h, replaceChildren, setText } from "./dom.js";
import { direction, errorMessage, msg, t } from "./i18n.js";

/** How many of the last lines offer "Correct" (the server allows 10). */
const CORRECTABLE = 5;

export class CaptionerConsole {
  /** @type {string | null} the language this console captions (after a claim) */
  #live = null;
  /** @type {string | null} a captioner who holds the chosen language */
  #busyBy = null;
  #inFlight = false;
  /** @type {string | null} */
  #pending = null;
  /** @type {number | null} the caption being corrected */
  #correcting = null;

  /**
   * @param {import("./protocol.js").MeetingClient} client
   * @param {import("./captions.js").CaptionFeed} feed
   * @param {import("./captions.js").CaptionDisplay} display
   * @param {{onError: (text: string) => void}} options
   */
  constructor(client, feed, display, { onError }) {
    this.client = client;
    this.feed = feed;
    this.display = display;
    this.onError = onError;
    const languages = feed.languages;
    const preferred = client.self?.language && languages.includes(client.self.language) ? client.self.language : languages[0];
    this.select = h(
      "select",
      { attrs: { id: "captioner-language" }, on: { change: () => this.render() } },
      ...languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    this.select.value = preferred ?? "";
    this.startButton = h("button", { class: "button button--primary", attrs: { id: "captioner-start", type: "button" }, text: msg("captions.console.start"), on: { click: () => void this.#claim(false) } });
    this.takeOverButton = h("button", { class: "button", attrs: { id: "captioner-take-over", type: "button", hidden: true }, text: msg("captions.console.takeOver"), on: { click: () => void this.#claim(true) } });
    this.stopButton = h("button", { class: "button", attrs: { id: "captioner-stop", type: "button", hidden: true }, text: msg("captions.console.stop"), on: { click: () => void this.#release() } });
    this.status = h("p", { class: "captioner__status", attrs: { id: "captioner-status", role: "status", "aria-live": "polite" } });
    this.floor = h("p", { class: "captioner__floor", attrs: { id: "captioner-floor" } });
    this.hint = h("p", { class: "captioner__hint", attrs: { id: "captioner-hint", hidden: true }, text: msg("captions.console.correcting") });
    this.input = h("input", {
      class: "captioner__input",
      attrs: { id: "captioner-line", type: "text", autocomplete: "off", spellcheck: "true", maxlength: 1000, disabled: true },
      on: {
        input: () => this.#typed(),
        keydown: (e) => this.#key(/** @type {KeyboardEvent} */ (e)),
      },
    });
    this.recent = h("ol", { class: "captioner__recent", attrs: { id: "captioner-recent" } });
    this.cartButton = h("button", { class: "button", attrs: { id: "captioner-cart", type: "button" }, text: msg("captions.console.cartShow"), on: { click: () => void this.#showCart() } });
    this.cartUrl = h("input", { class: "captioner__cart-url", attrs: { id: "captioner-cart-url", type: "text", readonly: true, hidden: true, "aria-label": msg("captions.console.cart") } });
    this.cartHint = h("p", { class: "captioner__hint", attrs: { hidden: true }, text: msg("captions.console.cartHint") });
    this.root = h(
      "section",
      { class: "captioner", attrs: { id: "captioner-console", "aria-labelledby": "captioner-heading" } },
      h("h2", { class: "captioner__heading", attrs: { id: "captioner-heading" }, text: msg("captions.console.heading") }),
      h(
        "div",
        { class: "captioner__row" },
        h("label", { attrs: { for: "captioner-language" }, text: msg("captions.console.language") }),
        this.select,
        this.startButton,
        this.takeOverButton,
        this.stopButton,
      ),
      this.status,
      this.floor,
      h("label", { class: "captioner__label", attrs: { for: "captioner-line" }, text: msg("captions.console.line") }),
      this.input,
      this.hint,
      h("h3", { class: "captioner__subheading", text: msg("captions.console.recent") }),
      this.recent,
      h("details", { class: "captioner__cart" }, h("summary", { text: msg("captions.console.cart") }), this.cartButton, this.cartUrl, this.cartHint),
    );
    feed.addEventListener("ingest-changed", (e) => this.#ingestChanged(/** @type {CustomEvent} */ (e).detail));
    feed.addEventListener("desks", () => this.render());
    feed.addEventListener("lines", () => this.#renderRecent());
    client.addEventListener("floor", () => this.#renderFloor());
    this.render();
  }

  /** @param {boolean} takeOver */
  async #claim(takeOver) {
    const language = this.select.value;
    try {
      const ack = await this.feed.request("claim", { language, takeOver });
      this.feed.setDesks(ack.desks);
      this.#live = language;
      this.#busyBy = null;
      // read what the readers of this language read
      await this.display.choose(language);
      this.input.disabled = false;
      this.input.focus();
    } catch (err) {
      if (/** @type {any} */ (err)?.code === "conflict") this.#busyBy = this.feed.deskOf(language)?.captionerName ?? "?";
      else this.onError(errorMessage(err));
    }
    this.render();
  }

  async #release() {
    try {
      await this.feed.request("release");
    } catch (err) {
      this.onError(errorMessage(err));
    }
    this.#live = null;
    this.input.disabled = true;
    this.render();
  }

  /** The line changed: send it (or keep it for when the previous send is answered). */
  #typed() {
    if (this.#correcting !== null || this.#live === null) return;
    this.#pending = this.input.value;
    if (!this.#inFlight) void this.#flush();
  }

  async #flush() {
    while (this.#pending !== null) {
      const text = this.#pending;
      this.#pending = null;
      this.#inFlight = true;
      try {
        await this.feed.request("interim", { text });
      } catch (err) {
        this.onError(errorMessage(err));
      } finally {
        this.#inFlight = false;
      }
    }
  }

  /** @param {KeyboardEvent} event */
  #key(event) {
    if (event.key === "Escape" && this.#correcting !== null) {
      event.preventDefault();
      this.#endCorrection();
      return;
    }
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    if (this.#correcting !== null) {
      const id = this.#correcting;
      this.#endCorrection();
      void this.#send("correct", { id, text });
      return;
    }
    // the line is final: nothing typed before Enter may follow it as a new line
    this.#pending = null;
    this.input.value = "";
    void this.#send("final", { text });
  }

  /**
   * @param {"final" | "correct"} event
   * @param {object} payload
   */
  async #send(event, payload) {
    try {
      await this.feed.request(event, payload);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  /** @param {import("./captions.js").Caption} caption */
  #startCorrection(caption) {
    if (this.input.value.trim() && this.#correcting === null) return; // finish the line first
    this.#correcting = caption.id;
    this.input.value = caption.text;
    this.hint.hidden = false;
    this.input.focus();
  }

  #endCorrection() {
    this.#correcting = null;
    this.input.value = "";
    this.hint.hidden = true;
  }

  /**
   * The chair or secretariat rotated or revoked a language's CART link: the one shown may be
   * dead; say so, and hide it.
   * @param {{language: string, revoked: boolean}} change
   */
  #ingestChanged(change) {
    if (!change || this.cartUrl.hidden || change.language !== this.select.value) return;
    this.cartUrl.value = "";
    this.cartUrl.hidden = true;
    this.onError(t(change.revoked ? "captions.links.revokedNotice" : "captions.links.rotatedNotice", { language: t(`lang.${change.language}`) }));
  }

  async #showCart() {
    try {
      const ack = await this.feed.request("ingest-url", { language: this.select.value });
      this.cartUrl.value = ack.url;
      this.cartUrl.hidden = false;
      this.cartUrl.dir = "ltr";
      /** @type {HTMLElement} */ (this.cartHint).hidden = false;
      this.cartUrl.select();
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  render() {
    const language = this.select.value;
    const live = this.#live;
    this.select.disabled = live !== null;
    this.startButton.hidden = live !== null;
    this.stopButton.hidden = live === null;
    const desk = this.feed.deskOf(language);
    const other = desk && desk.captionerId !== this.client.self?.id ? desk.captionerName : this.#busyBy;
    this.takeOverButton.hidden = live !== null || !other;
    if (live !== null && desk && desk.captionerId !== this.client.self?.id) {
      // someone took over from us
      this.#live = null;
      this.input.disabled = true;
      this.render();
      return;
    }
    // msg(): the console is not rebuilt on a change of UI language, its texts follow it
    setText(this.status, live !== null ? msg("captions.console.live", { language: msg(`lang.${live}`) }) : other ? msg("captions.console.busy", { name: other }) : msg("captions.console.idle"));
    this.input.lang = language;
    this.input.dir = direction(language);
    this.#renderFloor();
    this.#renderRecent();
  }

  #renderFloor() {
    const name = this.client.floor?.speaker?.name;
    setText(this.floor, name ? msg("captions.console.floor", { name }) : "");
    this.floor.hidden = !name;
  }

  #renderRecent() {
    const lines = this.#live !== null && this.feed.language === this.#live ? this.feed.lines.slice(-CORRECTABLE) : [];
    replaceChildren(
      this.recent,
      ...lines.map((caption) =>
        h(
          "li",
          { class: "captioner__recent-line", attrs: { "data-caption-id": caption.id } },
          h("span", { class: "captioner__recent-text", text: caption.text }),
          " ",
          h("button", { class: "button button--small", attrs: { type: "button" }, text: msg("captions.console.correct"), on: { click: () => this.#startCorrection(caption) } }),
        ),
      ),
    );
  }
}
