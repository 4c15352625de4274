// @ts-check
/**
 * The interpreter's console, after ISO 20109 (simultaneous interpreting equipment) as far as a
 * browser allows:
 * - the booth the interpreter is assigned to (the secretariat assigns it) and the outgoing
 *   channel, with a clear on-air state;
 * - incoming: the floor, or relay from another booth (which booths are live is shown);
 * - a large microphone on/off key (on = live in the booth's channel), a cough key (push to
 *   mute: held with the mouse, a finger, Space/Enter on the key, or the C key anywhere);
 * - handover inside the booth: offer / cancel (the one who offers), accept / decline (the
 *   partner it is offered to), or take over at once; the booth partners' state (live,
 *   microphone open, what they hear);
 * - the own microphone's level (a meter), the incoming volume and a limiter against acoustic
 *   shock (AudioMixer `setVolume`, `setLimiter`);
 * - a clock, the floor speaker with their declared language and time left, a "slow down"
 *   request to the speaker, and the booth's warnings (two microphones open, relay loop).
 * The console's microphone track is enabled exactly while the interpreter is live and not
 * coughing; its state is reported to the server (`mic-open`).
 */

import { h, reconcile, setText } from "./dom.js";
import { t, msg, errorMessage, formatTime, languageName } from "./i18n.js";
import { Countdown } from "./floor.js";
import { LevelMeter } from "./meter.js";
import { floorUnderSlider, DEFAULT_FLOOR_UNDER, channelIsOriginal } from "./listen.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").BoothStatus} BoothStatus */
/** @typedef {import("./mixer.js").AudioMixer} AudioMixer */

/** The key that works as the cough key anywhere on the page (outside text fields). */
const COUGH_KEY = "c";

export class InterpreterConsole {
  /** source → radio row @type {Map<string, HTMLElement>} */
  #sources = new Map();
  /** partner id → row @type {Map<string, HTMLElement>} */
  #partners = new Map();
  #floorUnder = DEFAULT_FLOOR_UNDER;
  #busy = false;
  /** @type {ReturnType<typeof setInterval> | 0} */
  #clockTimer = 0;
  #coughHeld = false;

  /**
   * @param {MeetingClient} client
   * @param {AudioMixer} mixer
   * @param {{onError: (text: string | import("./i18n.js").Message, kind?: "error" | "status") => void, micTrack?: MediaStreamTrack}} options
   *   `micTrack`: the booth microphone, for the level meter
   */
  constructor(client, mixer, { onError, micTrack }) {
    this.client = client;
    this.mixer = mixer;
    this.onError = onError;

    this.boothName = h("span", { class: "ic__booth-name", attrs: { id: "ic-booth" } });
    this.clock = h("time", { class: "ic__clock", attrs: { id: "ic-clock", "aria-label": msg("ic.clock") } });
    this.unassigned = h("p", { class: "notice", attrs: { id: "ic-unassigned" }, text: msg("ic.unassigned") });

    // floor
    this.floorName = h("strong", { class: "ic__floor-name", attrs: { id: "ic-floor-speaker" } });
    this.floorLanguage = h("span", { class: "badge ic__floor-language", attrs: { id: "ic-floor-language" } });
    this.floorCountdown = h("span", { class: "countdown countdown--large", attrs: { id: "ic-floor-countdown", "aria-label": msg("floor.timeLeft") } });
    this.floorNote = h("p", { class: "ic__note", attrs: { id: "ic-floor-note", hidden: true }, text: msg("ic.floorInYourLanguage") });
    this.slowDownButton = h("button", { class: "button", attrs: { type: "button", id: "ic-slow-down" }, text: msg("ic.slowDown"), on: { click: () => this.#slowDown() } });

    // incoming
    this.incoming = h("div", { class: "ic__sources", attrs: { role: "radiogroup", "aria-labelledby": "ic-incoming-heading", id: "ic-incoming" } });
    this.slider = floorUnderSlider(
      "ic-floor-under",
      this.#floorUnder,
      (level) => {
        this.#floorUnder = level;
        this.#route();
      },
      msg("ic.floorUnderRelay"),
    );

    // microphone
    this.micState = h("span", { class: "ic__mic-state" });
    this.micButton = h(
      "button",
      { class: "mic-key", attrs: { type: "button", id: "ic-mic", "aria-pressed": "false" }, on: { click: () => this.#toggleMic() } },
      h("span", { class: "mic-key__icon", attrs: { "aria-hidden": "true" }, text: "●" }),
      this.micState,
    );
    this.coughButton = h("button", {
      class: "button cough-key",
      attrs: { type: "button", id: "ic-cough", "aria-pressed": "false", "aria-keyshortcuts": "C", "aria-describedby": "ic-cough-help" },
      text: msg("ic.cough"),
    });
    this.coughHelp = h("span", { class: "panel__help", attrs: { id: "ic-cough-help" }, text: msg("ic.coughHelp") });
    this.outgoing = h("p", { class: "ic__outgoing", attrs: { id: "ic-outgoing", role: "status", "aria-live": "polite" } });

    // booth and handover
    this.partners = h("ul", { class: "ic__partners", attrs: { id: "ic-partners", "aria-labelledby": "ic-partners-heading" } });
    this.noPartner = h("p", { class: "panel__help", text: msg("ic.alone") });
    this.handoverRequest = h("button", { class: "button", attrs: { type: "button", id: "ic-handover-request" }, text: msg("ic.handoverRequest"), on: { click: () => this.#handover("request") } });
    this.handoverAccept = h("button", { class: "button button--primary", attrs: { type: "button", id: "ic-handover-accept" }, text: msg("ic.handoverAccept"), on: { click: () => this.#handover("accept") } });
    this.handoverCancel = h("button", { class: "button", attrs: { type: "button", id: "ic-handover-cancel" }, text: msg("ic.handoverCancel"), on: { click: () => this.#handover("cancel") } });
    // The partner offered the microphone declines (the same `handover-cancel` on the wire).
    this.handoverDecline = h("button", { class: "button", attrs: { type: "button", id: "ic-handover-decline" }, text: msg("ic.handoverDecline"), on: { click: () => this.#handover("cancel") } });

    // own microphone level, incoming volume, limiter
    this.micMeter = new LevelMeter({ id: "ic-mic-level", label: msg("ic.micLevel") });
    this.volume = h("input", {
      class: "slider__input",
      attrs: { id: "ic-volume", type: "range", min: 0, max: 200, step: 5 },
      props: { value: String(Math.round(mixer.volume * 100)) },
      on: { input: () => this.#setVolume() },
    });
    this.volumeValue = h("output", { class: "slider__value", attrs: { for: "ic-volume" } });
    this.limiter = h("input", {
      attrs: { id: "ic-limiter", type: "checkbox" },
      props: { checked: mixer.limiter },
      on: { change: () => mixer.setLimiter(this.limiter.checked) },
    });
    this.takeOverButton = h("button", { class: "button button--danger", attrs: { type: "button", id: "ic-take-over" }, text: msg("ic.takeOver"), on: { click: () => this.#handover("take-over") } });
    this.handoverNote = h("p", { class: "ic__note", attrs: { id: "ic-handover-note", role: "status", "aria-live": "polite" } });
    this.warnings = h("div", { class: "alert", attrs: { id: "ic-warnings", role: "alert", hidden: true } });

    const micCard = h(
      "section",
      { class: "ic__card ic__card--mic", attrs: { "aria-labelledby": "ic-mic-heading" } },
      h("h3", { class: "ic__card-heading", attrs: { id: "ic-mic-heading" }, text: msg("ic.outgoingHeading") }),
      this.outgoing,
      this.micButton,
      h("div", { class: "field" }, h("span", { class: "field__label", attrs: { "aria-hidden": "true" }, text: msg("ic.micLevel") }), this.micMeter.root),
      h("div", { class: "ic__cough" }, this.coughButton, this.coughHelp),
    );
    const floorCard = h(
      "section",
      { class: "ic__card ic__card--floor", attrs: { "aria-labelledby": "ic-floor-heading" } },
      h("h3", { class: "ic__card-heading", attrs: { id: "ic-floor-heading" }, text: msg("ic.floorHeading") }),
      h("p", { class: "ic__floor" }, this.floorName, " ", this.floorLanguage),
      this.floorCountdown,
      this.floorNote,
      this.slowDownButton,
    );
    const incomingCard = h(
      "section",
      { class: "ic__card ic__card--incoming", attrs: { "aria-labelledby": "ic-incoming-heading" } },
      h("h3", { class: "ic__card-heading", attrs: { id: "ic-incoming-heading" }, text: msg("ic.incomingHeading") }),
      this.incoming,
      this.slider.root,
      h("div", { class: "field slider" }, h("label", { attrs: { for: "ic-volume" }, text: msg("ic.volume") }), h("div", { class: "slider__row" }, this.volume, this.volumeValue)),
      h("div", { class: "field field--check" }, this.limiter, h("label", { attrs: { for: "ic-limiter" }, text: msg("ic.limiter") })),
    );
    const boothCard = h(
      "section",
      { class: "ic__card ic__card--booth", attrs: { "aria-labelledby": "ic-partners-heading" } },
      h("h3", { class: "ic__card-heading", attrs: { id: "ic-partners-heading" }, text: msg("ic.partnersHeading") }),
      this.noPartner,
      this.partners,
      this.handoverNote,
      h("div", { class: "button-row" }, this.handoverRequest, this.handoverAccept, this.handoverDecline, this.handoverCancel, this.takeOverButton),
    );
    this.assigned = h(
      "div",
      { class: "ic__grid" },
      h("div", { class: "ic__column" }, micCard, boothCard),
      h("div", { class: "ic__column" }, floorCard, incomingCard),
    );

    this.root = h(
      "section",
      { class: "ic", attrs: { id: "interpreter-console", "aria-labelledby": "ic-heading" } },
      h(
        "header",
        { class: "ic__header" },
        h("h2", { class: "ic__heading", attrs: { id: "ic-heading" } }, h("span", { text: msg("ic.heading") }), " ", this.boothName),
        this.clock,
      ),
      this.warnings,
      this.unassigned,
      this.assigned,
    );

    this.countdown = new Countdown(this.floorCountdown, client);
    this.#bindCough();
    this.#tickClock();
    this.#clockTimer = setInterval(() => this.#tickClock(), 1000);
    this.#showVolume();
    this.micMeter.start(micTrack ?? client.publishedStream?.getAudioTracks()[0], mixer.context);
    client.addEventListener("interpretation", () => this.render());
    client.addEventListener("floor", () => this.render());
    client.addEventListener("participants", () => this.render());
    client.addEventListener("slots", () => this.#route());
    this.render();
  }

  /** The own booth's status, or null. @returns {BoothStatus | null} */
  #booth() {
    const language = this.client.booth;
    return this.client.interpretation?.booths.find((b) => b.language === language) ?? null;
  }

  render() {
    const client = this.client;
    const selfId = client.self?.id ?? "";
    const booth = this.#booth();
    const state = client.interpretation;
    this.unassigned.hidden = Boolean(booth);
    this.assigned.hidden = !booth;
    setText(this.boothName, booth ? t(`lang.${booth.language}`) : "");
    this.boothName.lang = booth?.language ?? "";
    this.root.dataset.booth = booth?.language ?? "";
    const names = new Map(client.participants.map((p) => [p.id, p.name]));

    // the floor
    const speaker = client.floor?.speaker ?? null;
    const floorLanguage = state?.floor.language ?? speaker?.language ?? null;
    setText(this.floorName, speaker ? speaker.name || names.get(speaker.participantId) || "…" : t("floor.nobody"));
    this.floorLanguage.hidden = !speaker || !floorLanguage;
    setText(this.floorLanguage, floorLanguage ? t(`lang.${floorLanguage}`) : "");
    this.floorNote.hidden = !booth?.floorLanguage;
    this.slowDownButton.disabled = !speaker;
    this.countdown.render();

    if (!booth) {
      this.warnings.hidden = true;
      this.#syncMic(false);
      return;
    }

    // microphone and outgoing channel
    const live = booth.live === selfId;
    const coughing = live && booth.coughing;
    this.root.dataset.live = String(live);
    this.micButton.setAttribute("aria-pressed", String(live));
    this.micButton.dataset.state = coughing ? "cough" : live ? "live" : "off";
    setText(this.micState, t(live ? "ic.micLive" : "ic.micOff"));
    this.micButton.setAttribute("aria-label", t(live ? "ic.micLiveLabel" : "ic.micOffLabel", { language: languageName(booth.language) }));
    this.coughButton.disabled = !live;
    const language = languageName(booth.language);
    setText(
      this.outgoing,
      coughing
        ? t("ic.outgoingCough", { language })
        : live
          ? t("ic.outgoingLive", { language })
          : booth.live
            ? t("ic.outgoingPartner", { language, name: names.get(booth.live) ?? "…" })
            : t("ic.outgoingOriginal", { language }),
    );
    this.outgoing.dataset.state = coughing ? "cough" : live ? "live" : booth.live ? "partner" : "original";

    // incoming: the floor, or relay from another booth
    const mine = booth.incoming[selfId] ?? "floor";
    const sources = ["floor", ...(state?.booths ?? []).filter((b) => b.language !== booth.language).map((b) => b.language)];
    const byLanguage = new Map((state?.booths ?? []).map((b) => [b.language, b]));
    reconcile(
      this.incoming,
      sources,
      (s) => s,
      this.#sources,
      (source) => {
        const id = `ic-incoming-${source}`;
        const input = h("input", { attrs: { type: "radio", name: "ic-incoming", id, value: source }, on: { change: () => this.#setIncoming(source) } });
        return h(
          "div",
          { class: "ic__source", attrs: { "data-source": source } },
          input,
          h("label", { attrs: { for: id } }, h("span", { class: "ic__source-name", attrs: source === "floor" ? {} : { lang: source } }), h("span", { class: "badge ic__source-state" })),
        );
      },
      (row, source) => {
        const input = /** @type {HTMLInputElement} */ (row.querySelector("input"));
        input.checked = source === mine;
        const name = /** @type {HTMLElement} */ (row.querySelector(".ic__source-name"));
        const badge = /** @type {HTMLElement} */ (row.querySelector(".ic__source-state"));
        setText(name, source === "floor" ? t("ic.floorSource") : t(`lang.${source}`));
        const other = byLanguage.get(source);
        const sourceState = source === "floor" ? "floor" : other?.live ? (other.coughing ? "cough" : "live") : "original";
        badge.dataset.state = sourceState;
        setText(badge, t(`ic.source.${sourceState}`));
        row.dataset.state = sourceState;
      },
    );

    // booth partners and handover
    const partners = booth.interpreters.filter((id) => id !== selfId);
    this.noPartner.hidden = partners.length > 0;
    reconcile(
      this.partners,
      partners,
      (id) => id,
      this.#partners,
      (id) => h("li", { class: "ic__partner", attrs: { "data-partner": id } }, h("span", { class: "ic__partner-name" }), h("span", { class: "badge ic__partner-state" }), h("span", { class: "ic__partner-detail" })),
      (row, id) => {
        const [name, badge, detail] = /** @type {HTMLElement[]} */ ([...row.children]);
        setText(name, names.get(id) ?? "…");
        const partnerState = booth.live === id ? (booth.coughing ? "cough" : "live") : booth.micsOpen.includes(id) ? "open" : "off";
        badge.dataset.state = partnerState;
        setText(badge, t(`ic.partner.${partnerState}`));
        const hears = booth.incoming[id] ?? "floor";
        setText(detail, hears === "floor" ? t("ic.hearsFloor") : t("ic.hearsRelay", { language: languageName(hears) }));
      },
    );
    const handover = booth.handover;
    const offeredToMe = Boolean(handover && handover.from !== selfId && (handover.to === null || handover.to === selfId));
    const offeredByMe = Boolean(handover && handover.from === selfId);
    this.handoverRequest.hidden = !live || offeredByMe || partners.length === 0;
    this.handoverAccept.hidden = !offeredToMe;
    this.handoverDecline.hidden = !offeredToMe;
    this.handoverCancel.hidden = !offeredByMe;
    this.takeOverButton.hidden = live || !booth.live || offeredToMe;
    setText(
      this.handoverNote,
      offeredToMe
        ? t("ic.handoverOffered", { name: names.get(handover?.from ?? "") ?? "…" })
        : offeredByMe
          ? t("ic.handoverWaiting", { name: handover?.to ? names.get(handover.to) ?? "…" : t("ic.anyPartner") })
          : "",
    );

    // warnings of the own booth
    const warnings = booth.warnings;
    this.warnings.hidden = warnings.length === 0;
    this.warnings.replaceChildren(...warnings.map((w) => h("p", { class: "alert__line", attrs: { "data-warning": w }, text: msg(`warning.${w}`) })));

    this.#syncMic(live);
    this.#route();
  }

  /**
   * The microphone track follows the server's word on who is live (a handover or a take-over
   * moves it without this console's key being pressed).
   * @param {boolean} live
   */
  #syncMic(live) {
    if (this.#busy || this.client.micOpen === live) return; // a key press is on its way
    this.client.setMicOpen(live).catch((err) => this.onError(errorMessage(err)));
  }

  /** Tell the mixer what this interpreter hears: the floor on the seats, or a relay. */
  #route() {
    const booth = this.#booth();
    if (!booth) return;
    const channel = booth.incoming[this.client.self?.id ?? ""] ?? "floor";
    this.mixer.setChoice({ channel, original: channelIsOriginal(this.client, channel), floorUnder: this.#floorUnder });
    this.slider.input.disabled = channel === "floor";
  }

  async #toggleMic() {
    const booth = this.#booth();
    if (!booth || this.#busy) return;
    this.#busy = true;
    const live = booth.live === this.client.self?.id;
    try {
      if (live) {
        await this.client.setMicOpen(false);
        await this.client.goOff();
      } else {
        await this.client.setMicOpen(true);
        await this.client.goLive();
      }
    } catch (err) {
      // booth-busy: a colleague is live (handover or take over); the microphone stays closed.
      await this.client.setMicOpen(false).catch(() => {});
      this.onError(errorMessage(err));
    } finally {
      this.#busy = false;
      this.render();
    }
  }

  #bindCough() {
    const button = this.coughButton;
    const down = (/** @type {Event} */ event) => {
      event.preventDefault();
      this.#setCough(true);
    };
    const up = () => this.#setCough(false);
    button.addEventListener("pointerdown", (event) => {
      button.setPointerCapture?.(event.pointerId);
      down(event);
    });
    button.addEventListener("pointerup", up);
    button.addEventListener("pointercancel", up);
    button.addEventListener("lostpointercapture", up);
    button.addEventListener("contextmenu", (event) => event.preventDefault()); // long touch
    button.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) down(event);
    });
    button.addEventListener("keyup", (event) => {
      if (event.key === " " || event.key === "Enter") up();
    });
    button.addEventListener("blur", up);
    this.onKeyDown = (/** @type {KeyboardEvent} */ event) => {
      if (event.key.toLowerCase() !== COUGH_KEY || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
      if (isTyping(event.target)) return;
      down(event);
    };
    this.onKeyUp = (/** @type {KeyboardEvent} */ event) => {
      if (event.key.toLowerCase() === COUGH_KEY) up();
    };
    document.addEventListener("keydown", this.onKeyDown);
    document.addEventListener("keyup", this.onKeyUp);
  }

  /** @param {boolean} on */
  #setCough(on) {
    if (on === this.#coughHeld) return;
    const booth = this.#booth();
    if (on && booth?.live !== this.client.self?.id) return;
    this.#coughHeld = on;
    this.coughButton.setAttribute("aria-pressed", String(on));
    this.client.cough(on).catch((err) => {
      if (on) this.onError(errorMessage(err));
    });
  }

  /** @param {string} source */
  async #setIncoming(source) {
    try {
      await this.client.setIncoming(source);
    } catch (err) {
      this.onError(errorMessage(err));
      this.render();
    }
  }

  /** @param {"request" | "accept" | "cancel" | "take-over"} action */
  async #handover(action) {
    const booth = this.#booth();
    const selfId = this.client.self?.id;
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (action === "request") {
        const partners = (booth?.interpreters ?? []).filter((id) => id !== selfId);
        await this.client.requestHandover(partners.length === 1 ? partners[0] : undefined);
      } else if (action === "accept") {
        await this.client.setMicOpen(true);
        await this.client.acceptHandover();
      } else if (action === "cancel") {
        await this.client.cancelHandover();
      } else {
        await this.client.setMicOpen(true);
        await this.client.takeOver();
      }
    } catch (err) {
      if (action === "accept" || action === "take-over") await this.client.setMicOpen(false).catch(() => {});
      this.onError(errorMessage(err));
    } finally {
      this.#busy = false;
    }
    this.render();
  }

  async #slowDown() {
    try {
      const n = await this.client.slowDown();
      this.onError(msg("ic.slowDownSent", { count: n }), "status");
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  #setVolume() {
    this.mixer.setVolume(Number(this.volume.value) / 100);
    this.#showVolume();
  }

  #showVolume() {
    const percent = t("listen.percent", { value: Number(this.volume.value) });
    this.volumeValue.value = percent;
    this.volume.setAttribute("aria-valuetext", percent);
  }

  #tickClock() {
    const now = new Date();
    setText(this.clock, formatTime(now));
    this.clock.setAttribute("datetime", now.toISOString());
  }

  stop() {
    this.micMeter.stop();
    clearInterval(this.#clockTimer);
    this.countdown.stop();
    if (this.onKeyDown) document.removeEventListener("keydown", this.onKeyDown);
    if (this.onKeyUp) document.removeEventListener("keyup", this.onKeyUp);
  }
}

/** @param {EventTarget | null} target */
function isTyping(target) {
  const element = /** @type {HTMLElement | null} */ (target);
  if (!element || !element.tagName) return false;
  return element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName) && !["radio", "checkbox", "range", "button"].includes(/** @type {HTMLInputElement} */ (element).type);
}
