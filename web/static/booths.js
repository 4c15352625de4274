// @ts-check
/**
 * The booth panel of the chair's console (chair and secretariat): put each interpreter into
 * a language booth (or out of any), and see every booth's state: who is in it, who is live,
 * what its channel carries (interpretation, the original, or a cough), its warnings.
 */

import { h, reconcile, setText } from "./dom.js";
import { t, msg, errorMessage } from "./i18n.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").BoothStatus} BoothStatus */

const BOOTH_MANAGERS = new Set(["chair", "secretariat"]);

/**
 * What a booth's channel carries, as a word for the UI.
 * @param {BoothStatus} booth
 * @returns {"interpreting" | "cough" | "original"}
 */
export function boothFeed(booth) {
  if (booth.live && booth.coughing) return "cough";
  if (booth.live) return "interpreting";
  return "original";
}

export class BoothPanel {
  /** interpreter id → row @type {Map<string, HTMLElement>} */
  #rows = new Map();
  /** language → row @type {Map<string, HTMLElement>} */
  #booths = new Map();

  /**
   * @param {MeetingClient} client
   * @param {{onError: (text: string) => void}} options
   */
  constructor(client, { onError }) {
    this.client = client;
    this.onError = onError;
    this.interpreters = h("ul", { class: "assign", attrs: { id: "booth-assign", "aria-label": msg("booths.assignLabel") } });
    this.none = h("p", { class: "panel__help", text: msg("booths.noInterpreters") });
    this.status = h("ul", { class: "booths", attrs: { id: "booth-status", "aria-label": msg("booths.statusLabel") } });
    this.root = h(
      "section",
      { class: "panel console__booths", attrs: { id: "booth-panel", "aria-labelledby": "booths-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "booths-heading" }, text: msg("booths.heading") }),
      this.none,
      this.interpreters,
      this.status,
    );
    client.addEventListener("participants", () => this.render());
    client.addEventListener("interpretation", () => this.render());
    this.render();
  }

  render() {
    const client = this.client;
    this.root.hidden = !BOOTH_MANAGERS.has(client.self?.role ?? "");
    if (this.root.hidden) return;
    const state = client.interpretation;
    const languages = client.meeting?.languages ?? [];
    const interpreters = client.participants.filter((p) => p.role === "interpreter").sort((a, b) => a.name.localeCompare(b.name));
    const boothOf = new Map();
    for (const booth of state?.booths ?? []) for (const id of booth.interpreters) boothOf.set(id, booth.language);
    this.none.hidden = interpreters.length > 0;

    reconcile(
      this.interpreters,
      interpreters,
      (p) => p.id,
      this.#rows,
      (p) => {
        const id = `booth-of-${p.id}`;
        const select = h(
          "select",
          { attrs: { id, "data-interpreter": p.id }, on: { change: () => this.#assign(p.id, select.value || null) } },
          h("option", { props: { value: "" }, text: msg("booths.notAssigned") }),
          ...languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
        );
        return h("li", { class: "assign__row", attrs: { "data-interpreter": p.id } }, h("label", { class: "assign__name", attrs: { for: id } }), select);
      },
      (row, p) => {
        setText(/** @type {HTMLElement} */ (row.firstChild), p.name);
        const select = /** @type {HTMLSelectElement} */ (row.lastChild);
        if (document.activeElement !== select) select.value = boothOf.get(p.id) ?? "";
      },
    );

    const names = new Map(client.participants.map((p) => [p.id, p.name]));
    const booths = (state?.booths ?? []).filter((b) => b.interpreters.length > 0);
    reconcile(
      this.status,
      booths,
      (b) => b.language,
      this.#booths,
      (b) =>
        h(
          "li",
          { class: "booth", attrs: { "data-booth": b.language } },
          h("span", { class: "booth__language", attrs: { lang: b.language }, text: msg(`lang.${b.language}`) }),
          h("span", { class: "booth__feed badge" }),
          h("span", { class: "booth__people" }),
          h("span", { class: "booth__warnings" }),
        ),
      (row, b) => {
        const [, feed, people, warnings] = /** @type {HTMLElement[]} */ ([...row.children]);
        const kind = boothFeed(b);
        feed.dataset.feed = kind;
        setText(feed, t(`booths.feed.${kind}`));
        setText(
          people,
          b.interpreters.map((id) => `${names.get(id) ?? "…"}${id === b.live ? ` (${t("booths.live")})` : ""}`).join(", "),
        );
        setText(warnings, b.warnings.map((w) => t(`warning.${w}`)).join(" · "));
        warnings.hidden = b.warnings.length === 0;
      },
    );
  }

  /**
   * @param {string} participantId
   * @param {string | null} language
   */
  async #assign(participantId, language) {
    try {
      await this.client.assignBooth(participantId, language);
    } catch (err) {
      this.onError(errorMessage(err));
      this.render();
    }
  }
}
