// @ts-check
/**
 * Live captions in the room, for delegates, observers and everyone else.
 *
 * `CaptionFeed` follows the `/captions` namespace through `MeetingClient` (no DOM): who
 * captions which language, and the chosen language's last lines plus the line being typed.
 * `CaptionDisplay` renders it: a band under the floor bar, above the speakers' video (in the
 * page's flow: on screen without scrolling, and it covers no picture and no control), with
 * the caption language (or none), text size and contrast, remembered in this browser. Final
 * lines are announced politely to screen readers; the line being typed is not (it changes on
 * every keystroke). Text is set with `textContent`, never parsed as HTML.
 *
 * Events of `CaptionFeed` (`CustomEvent`): `desks` `{desks}` whenever a captioner starts or
 * stops; `lines` `{language}` when the chosen language's final lines change (a line, a
 * correction, another language); `typing` `{language}` when the line being typed changes.
 */

import { h, reconcile, setText } from "./dom.js";
import { t, direction, errorMessage, msg } from "./i18n.js";
import { inviteToken } from "./invite.js";

const NAMESPACE = "/captions";
/** Lines kept in memory (the transcript export has them all). */
const KEEP_LINES = 60;
const PREFS_KEY = "rostrum.captions";
const SIZES = ["s", "m", "l", "xl"];
const CONTRASTS = ["normal", "high", "yellow"];

/**
 * @typedef {object} CaptionSpeaker
 * @property {string} participantId empty: nobody held the floor
 * @property {string} name
 * @property {string} memberState
 */

/**
 * A final caption line (docs/protocol.md, `Caption`).
 * @typedef {object} Caption
 * @property {number} id
 * @property {string} language
 * @property {number} startedAt server seconds
 * @property {number} at
 * @property {string} text
 * @property {CaptionSpeaker} speaker
 * @property {string} captionerId
 * @property {string} captionerName
 * @property {"console" | "http"} source
 * @property {number | null} revisedAt
 * @property {number} [lineId]
 */

/** @typedef {{lineId: number, text: string, startedAt: number}} TypedLine */
/** @typedef {{language: string, captionerId: string, captionerName: string}} Desk */

export class CaptionFeed extends EventTarget {
  /** @type {string | null} */
  language = null;
  /** @type {Caption[]} */
  lines = [];
  /** @type {TypedLine | null} */
  typing = null;
  /** @type {Desk[]} */
  desks = [];
  /** @type {string[]} */
  languages = [];
  /** Line ids made final already: a late interim of theirs is stale. @type {Set<number>} */
  #finished = new Set();
  /** @type {Promise<void> | null} */
  #started = null;

  /** @param {import("./protocol.js").MeetingClient} client */
  constructor(client) {
    super();
    this.client = client;
    this.languages = client.meeting?.languages ?? [];
  }

  /** Connect `/captions` (once) and read who captions what. */
  start() {
    this.#started ??= (async () => {
      await this.client.connectNamespace(NAMESPACE, (socket) => {
        socket.on("captioners", (/** @type {any} */ msg) => this.setDesks(msg?.desks));
        socket.on("caption-interim", (/** @type {any} */ msg) => this.#onInterim(msg));
        socket.on("caption", (/** @type {any} */ msg) => this.#onFinal(msg));
        socket.on("caption-corrected", (/** @type {any} */ msg) => this.#onCorrected(msg));
        // a CART link was rotated or revoked (the captioner's console hides the old one)
        socket.on("ingest-changed", (/** @type {any} */ msg) => this.dispatchEvent(new CustomEvent("ingest-changed", { detail: msg })));
      });
      const state = await this.request("state");
      if (Array.isArray(state.languages)) this.languages = state.languages;
      this.setDesks(state.desks);
    })();
    return this.#started;
  }

  /**
   * @param {string} event
   * @param {object} [payload]
   */
  request(event, payload = {}) {
    return this.client.requestOn(NAMESPACE, event, payload);
  }

  /**
   * Read captions in `language` (null: none); the server answers its last lines.
   * @param {string | null} language
   */
  async choose(language) {
    await this.start();
    const ack = await this.request("subscribe", { language });
    this.language = ack.language ?? null;
    this.lines = Array.isArray(ack.recent) ? ack.recent.slice(-KEEP_LINES) : [];
    this.typing = ack.interim ?? null;
    this.#changed();
  }

  /** @param {string} language */
  deskOf(language) {
    return this.desks.find((d) => d.language === language) ?? null;
  }

  /** Who captions what (a `captioners` event, or a `claim` ack). @param {any} desks */
  setDesks(desks) {
    if (!Array.isArray(desks)) return;
    this.desks = desks;
    this.dispatchEvent(new CustomEvent("desks", { detail: { desks } }));
  }

  #changed() {
    this.dispatchEvent(new CustomEvent("lines", { detail: { language: this.language } }));
  }

  /** @param {any} msg */
  #onInterim(msg) {
    if (!msg || msg.language !== this.language || this.#finished.has(msg.lineId)) return;
    this.typing = msg.text ? { lineId: msg.lineId, text: String(msg.text), startedAt: msg.startedAt } : null;
    this.dispatchEvent(new CustomEvent("typing", { detail: { language: this.language } }));
  }

  /** @param {any} msg */
  #onFinal(msg) {
    if (!msg || msg.language !== this.language) return;
    if (msg.lineId) this.#finished.add(msg.lineId);
    if (this.typing && msg.lineId && this.typing.lineId === msg.lineId) this.typing = null;
    if (!this.lines.some((line) => line.id === msg.id)) {
      this.lines.push(msg);
      if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
    }
    this.#changed();
  }

  /** @param {any} msg */
  #onCorrected(msg) {
    if (!msg || msg.language !== this.language) return;
    const index = this.lines.findIndex((line) => line.id === msg.id);
    if (index < 0) return;
    this.lines[index] = msg;
    this.#changed();
  }
}

/** @returns {{language?: string | null, size?: string, contrast?: string}} */
function loadPrefs() {
  try {
    return JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

/**
 * @param {string} id
 * @param {string | import("./i18n.js").Message} label
 * @param {Array<[string, string | import("./i18n.js").Message]>} options value, text
 * @param {(value: string) => void} onChange
 */
function selectField(id, label, options, onChange) {
  const select = h(
    "select",
    { attrs: { id }, on: { change: () => onChange(select.value) } },
    ...options.map(([value, text]) => h("option", { props: { value }, text })),
  );
  const root = h("div", { class: "captions__field" }, h("label", { attrs: { for: id }, text: label }), select);
  return { root, select };
}

/** A speaker as a caption label: "Name (Member State)". @param {CaptionSpeaker} speaker */
export function speakerLabel(speaker) {
  if (!speaker?.name) return "";
  return speaker.memberState ? `${speaker.name} (${speaker.memberState})` : speaker.name;
}

export class CaptionDisplay {
  #prefs = loadPrefs();
  /** The reader scrolled back: do not jump to the newest line. */
  #pinnedToEnd = true;
  /** caption id -> its line's element @type {Map<string, HTMLElement>} */
  #lineElements = new Map();

  /**
   * @param {CaptionFeed} feed
   * @param {{onError: (text: string) => void}} options
   */
  constructor(feed, { onError }) {
    this.feed = feed;
    this.onError = onError;
    const languages = feed.languages;
    this.language = selectField(
      "captions-language",
      msg("captions.language"),
      [["", msg("captions.none")], ...languages.map((code) => /** @type {[string, string]} */ ([code, t(`lang.${code}`)]))],
      (value) => void this.choose(value || null),
    );
    this.size = selectField("captions-size", msg("captions.size"), SIZES.map((s) => [s, msg(`captions.size.${s}`)]), (value) => this.#style({ size: value }));
    this.contrast = selectField(
      "captions-contrast",
      msg("captions.contrast"),
      CONTRASTS.map((c) => [c, msg(`captions.contrast.${c}`)]),
      (value) => this.#style({ contrast: value }),
    );
    this.finals = h("div", { class: "captions__finals", attrs: { id: "captions-finals", role: "log", "aria-live": "polite", "aria-relevant": "additions text" } });
    this.typing = h("p", { class: "captions__typing", attrs: { id: "captions-typing", "aria-hidden": "true" } });
    this.note = h("p", { class: "captions__note", attrs: { id: "captions-note" } });
    // the whole transcript of the chosen language, as text (docs/protocol.md, "Transcript")
    this.transcript = h("a", { class: "captions__transcript", attrs: { id: "captions-transcript", target: "_blank", rel: "noopener" }, text: msg("captions.transcript") });
    this.text = h("div", { class: "captions__text", attrs: { id: "captions-text", tabindex: "0" }, on: { scroll: () => this.#onScroll() } }, this.finals, this.typing);
    this.root = h(
      "section",
      { class: "captions", attrs: { id: "captions", "aria-label": msg("captions.region") } },
      h("div", { class: "captions__bar" }, this.language.root, this.size.root, this.contrast.root, this.transcript),
      this.note,
      this.text,
    );
    this.#style({});
    feed.addEventListener("lines", () => this.render());
    feed.addEventListener("typing", () => this.#renderTyping());
    feed.addEventListener("desks", () => this.render());
    this.render();
  }

  /** Connect and restore the caption language chosen last time in this browser. */
  async start() {
    try {
      await this.feed.start();
      const wanted = this.#prefs.language ?? null;
      if (wanted && this.feed.languages.includes(wanted)) await this.choose(wanted);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  /** @param {string | null} language */
  async choose(language) {
    try {
      await this.feed.choose(language);
      this.#save({ language });
    } catch (err) {
      this.onError(errorMessage(err));
    }
    this.render();
  }

  /** @param {{size?: string, contrast?: string}} change */
  #style(change) {
    this.#save(change);
    const size = SIZES.includes(this.#prefs.size ?? "") ? /** @type {string} */ (this.#prefs.size) : "m";
    const contrast = CONTRASTS.includes(this.#prefs.contrast ?? "") ? /** @type {string} */ (this.#prefs.contrast) : "normal";
    this.root.dataset.size = size;
    this.root.dataset.contrast = contrast;
    this.size.select.value = size;
    this.contrast.select.value = contrast;
  }

  /** @param {object} change */
  #save(change) {
    this.#prefs = { ...this.#prefs, ...change };
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(this.#prefs));
    } catch {
      // private browsing: the choice lasts for this page only
    }
  }

  #onScroll() {
    const box = this.text;
    this.#pinnedToEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 8;
  }

  render() {
    const { feed } = this;
    const language = feed.language;
    // the menu says which languages someone is captioning now
    for (const option of this.language.select.options) {
      if (!option.value) continue;
      const name = msg(`lang.${option.value}`);
      setText(option, feed.deskOf(option.value) ? msg("captions.captioned", { language: name }) : name);
    }
    this.language.select.value = language ?? "";
    this.root.dataset.on = String(language !== null);
    this.text.hidden = language === null;
    // without captions the band is one menu; size and contrast come with the text
    this.size.root.hidden = language === null;
    this.contrast.root.hidden = language === null;
    const meetingId = feed.client.meeting?.id;
    // the address lost its token after the join (invite.js): this tab keeps it
    const token = meetingId ? inviteToken(meetingId, "") : "";
    this.transcript.hidden = language === null || !token || !meetingId;
    if (language !== null && token && meetingId) {
      this.transcript.href = `/api/meetings/${encodeURIComponent(meetingId)}/transcript.txt?lang=${encodeURIComponent(language)}&t=${encodeURIComponent(token)}`;
    }
    if (language === null) {
      this.note.hidden = true;
      return;
    }
    this.text.lang = language;
    this.text.dir = direction(language);
    const desk = feed.deskOf(language);
    const empty = feed.lines.length === 0 && !feed.typing;
    this.note.hidden = !(empty || !desk);
    setText(this.note, desk ? msg("captions.waiting") : msg("captions.noCaptioner"));

    // Each line keeps its element (a screen reader announces only the new line, and a
    // correction rewrites one line in place); a line names its speaker when the speaker
    // changes.
    /** @type {Map<number, string>} caption id -> label to show */
    const labels = new Map();
    let lastSpeaker = "";
    for (const caption of feed.lines) {
      const who = speakerLabel(caption.speaker);
      labels.set(caption.id, who && who !== lastSpeaker ? who : "");
      lastSpeaker = who || lastSpeaker;
    }
    reconcile(
      this.finals,
      feed.lines,
      (caption) => String(caption.id),
      this.#lineElements,
      (caption) => h("p", { class: "captions__line", attrs: { "data-caption-id": caption.id } }),
      (element, caption) => {
        const label = labels.get(caption.id) ?? "";
        const key = JSON.stringify([label, caption.text, caption.revisedAt]);
        if (element.dataset.key === key) return;
        element.dataset.key = key;
        /** @type {Array<Node | string>} */
        const parts = [];
        if (label) parts.push(h("span", { class: "captions__speaker", text: `${label}: ` }));
        parts.push(caption.text);
        if (caption.revisedAt) parts.push(h("span", { class: "captions__revised" }, " (", h("span", { text: msg("captions.corrected") }), ")"));
        element.replaceChildren(...parts);
      },
    );
    this.#renderTyping();
  }

  /** Only the line being typed changed (every keystroke): touch nothing else. */
  #renderTyping() {
    const { feed } = this;
    this.typing.textContent = feed.typing?.text ?? "";
    this.typing.hidden = !feed.typing;
    if (feed.typing) this.note.hidden = true;
    if (this.#pinnedToEnd) this.text.scrollTop = this.text.scrollHeight;
  }
}
