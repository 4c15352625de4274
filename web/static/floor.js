// @ts-check
/**
 * The floor as a participant sees it:
 * - `FloorBar` (everyone): who has the floor, the speaking time left and the meeting clock
 *   (the time of day, also while nobody speaks). The countdown is
 *   computed locally from the last floor state: `remainingS` at the state's `serverTime`,
 *   minus the server time elapsed since, the server clock being estimated from the states'
 *   `serverTime` (MeetingClient.floorRemaining).
 * - `FloorPanel` (delegates, secretariat): request the floor (intervention, point of order,
 *   right of reply, optional note), the place in the speakers' list, withdraw, yield the
 *   floor; the microphone switched to original sound while speaking; the show of hands.
 * Renders and binds only; every action goes through `MeetingClient`.
 */

import { h, reconcile, setText } from "./dom.js";
import { t, msg, errorMessage, formatDuration, formatTime, languageName } from "./i18n.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").FloorState} FloorState */
/** @typedef {import("./protocol.js").FloorRequest} FloorRequest */

export const REQUEST_KINDS = /** @type {const} */ (["intervention", "point-of-order", "right-of-reply"]);

/** Roles that may ask for the floor (docs/protocol.md, "Who may do what"). */
export const REQUESTING_ROLES = new Set(["delegate", "secretariat", "chair"]);

/** The time left below which the countdown is shown as a warning. */
const WARN_BELOW_S = 30;

/**
 * Whether the floor holder's microphone should carry the original sound (no echo
 * cancellation, noise suppression or automatic gain). The floor state has no field for it
 * yet; interpreters always need it, so it is always on for now.
 * @param {FloorState | null} _state
 */
export function originalSoundOnFloor(_state) {
  return true;
}

/**
 * The countdown text and its state for `remaining` seconds (null: no limit).
 * @param {number | null} remaining
 * @returns {{text: string, state: "none" | "ok" | "warn" | "over"}}
 */
export function countdownView(remaining) {
  if (remaining === null) return { text: msg("floor.noLimit"), state: "none" };
  if (remaining < 0) return { text: `−${formatDuration(-remaining)}`, state: "over" };
  return { text: formatDuration(remaining), state: remaining <= WARN_BELOW_S ? "warn" : "ok" };
}

/**
 * A running countdown of the floor speaker's time in one element (`role="timer"`): refreshed
 * four times a second from the client's last floor state, written only when the text changes.
 */
export class Countdown {
  /** @type {ReturnType<typeof setTimeout> | 0} */
  #timer = 0;
  #stopped = false;

  /**
   * @param {HTMLElement} element
   * @param {MeetingClient} client
   */
  constructor(element, client) {
    this.element = element;
    this.client = client;
    element.setAttribute("role", "timer");
    this.render();
    this.#schedule();
  }

  /** Tick on the quarter-seconds of the clock, so every countdown on the page agrees. */
  #schedule() {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.render();
      this.#schedule();
    }, 250 - (Date.now() % 250) + 1);
  }

  render() {
    const speaker = this.client.floor?.speaker;
    this.element.hidden = !speaker;
    if (!speaker) return;
    const { text, state } = countdownView(this.client.floorRemaining());
    setText(this.element, text);
    if (this.element.dataset.state !== state) this.element.dataset.state = state;
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

/** Who has the floor, for everyone (top of the room). */
export class FloorBar {
  /** @param {MeetingClient} client */
  constructor(client) {
    this.client = client;
    this.speakerName = h("strong", { class: "floorbar__name", attrs: { id: "floor-speaker" } });
    this.detail = h("span", { class: "floorbar__detail" });
    this.kind = h("span", { class: "badge floorbar__kind" });
    this.countdownElement = h("span", { class: "countdown floorbar__countdown", attrs: { id: "floor-countdown", "aria-label": msg("floor.timeLeft") } });
    this.announcer = h("p", { class: "visually-hidden", attrs: { role: "status", "aria-live": "polite" } });
    // The meeting clock: not a live region (a screen reader would read it every second).
    this.clock = h("time", { class: "floorbar__clock", attrs: { id: "floor-clock", "aria-label": msg("room.clock") } });
    this.root = h(
      "section",
      { class: "floorbar", attrs: { id: "floor-bar", "aria-label": msg("floor.heading") } },
      h("span", { class: "floorbar__label", text: msg("floor.label") }),
      h("span", { class: "floorbar__who" }, this.speakerName, this.detail, this.kind),
      this.countdownElement,
      this.clock,
      this.announcer,
    );
    this.countdown = new Countdown(this.countdownElement, client);
    this.#tick();
    this.clockTimer = setInterval(() => this.#tick(), 1000);
    /** @type {string | null | undefined} */
    this.lastSpeaker = undefined;
    client.addEventListener("floor", () => this.render());
    client.addEventListener("participants", () => this.render());
    this.render();
  }

  #tick() {
    const now = new Date();
    setText(this.clock, formatTime(now, { seconds: false }));
    this.clock.setAttribute("datetime", now.toISOString());
  }

  render() {
    const speaker = this.client.floor?.speaker ?? null;
    const who = speaker ? this.client.participants.find((p) => p.id === speaker.participantId) : null;
    this.root.dataset.speaking = String(Boolean(speaker));
    if (!speaker) {
      setText(this.speakerName, t("floor.nobody"));
      setText(this.detail, "");
      this.kind.hidden = true;
    } else {
      const self = speaker.participantId === this.client.self?.id;
      setText(this.speakerName, self ? t("floor.you") : speaker.name || who?.name || "…");
      const affiliation = who ? [who.memberState, who.organization].filter(Boolean).join(", ") : "";
      const language = speaker.language ? t(`lang.${speaker.language}`) : "";
      setText(this.detail, [affiliation, language].filter(Boolean).join(" · "));
      this.kind.hidden = speaker.kind === "intervention";
      setText(this.kind, t(`kind.${speaker.kind}`));
      this.kind.dataset.kind = speaker.kind;
    }
    const id = speaker?.participantId ?? null;
    if (id !== this.lastSpeaker) {
      this.lastSpeaker = id;
      setText(this.announcer, speaker ? t("floor.announce", { name: speaker.name }) : t("floor.nobody"));
    }
    this.countdown.render();
  }

  /** Announce the floor again (in a new UI language) on the next render. */
  forgetAnnouncement() {
    this.lastSpeaker = undefined;
  }

  stop() {
    clearInterval(this.clockTimer);
    this.countdown.stop();
  }
}

/**
 * The delegate's side of the floor: request, position, withdraw, yield; original sound while
 * speaking; the show of hands.
 */
export class FloorPanel {
  /** requestId → item @type {Map<string, HTMLElement>} */
  #items = new Map();
  #speaking = false;
  /** The microphone processing chosen at join, restored after speaking. */
  #userOriginal = false;
  #busy = false;

  /**
   * @param {MeetingClient} client
   * @param {{onError: (text: string) => void}} options
   */
  constructor(client, { onError }) {
    this.client = client;
    this.onError = onError;
    const mic = client.publishedStream?.getAudioTracks()[0];
    this.#userOriginal = mic ? mic.getSettings().echoCancellation === false : false;

    this.kind = h(
      "select",
      { attrs: { id: "floor-kind", name: "kind" } },
      ...REQUEST_KINDS.map((kind) => h("option", { props: { value: kind }, text: msg(`kind.${kind}`) })),
    );
    this.note = h("input", { attrs: { id: "floor-note", name: "note", maxlength: 200, autocomplete: "off", placeholder: msg("floor.notePlaceholder") } });
    // The declared language of the intervention: the interpreters see it; the booth of that
    // language knows it may stay off.
    const languages = client.meeting?.languages ?? [];
    this.language = h(
      "select",
      { attrs: { id: "floor-language", name: "language" } },
      ...languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    const own = client.self?.language ?? "";
    if (languages.includes(own)) this.language.value = own;
    this.requestButton = h("button", { class: "button button--primary", attrs: { id: "floor-request", type: "submit" }, text: msg("floor.request") });
    this.form = h(
      "form",
      { class: "floor-form", attrs: { id: "floor-form" }, on: { submit: (e) => this.#request(e) } },
      h("div", { class: "field" }, h("label", { attrs: { for: "floor-kind" }, text: msg("floor.kind") }), this.kind),
      h("div", { class: "field" }, h("label", { attrs: { for: "floor-language" }, text: msg("floor.language") }), this.language),
      h("div", { class: "field" }, h("label", { attrs: { for: "floor-note" }, text: msg("floor.note") }), this.note),
      this.requestButton,
    );
    this.status = h("p", { class: "floor-status", attrs: { id: "floor-status", role: "status", "aria-live": "polite" } });
    this.myCountdown = h("span", { class: "countdown countdown--large", attrs: { id: "my-countdown", "aria-label": msg("floor.timeLeft") } });
    this.yieldButton = h("button", { class: "button button--danger", attrs: { id: "floor-yield", type: "button" }, text: msg("floor.yield"), on: { click: () => this.#yield() } });
    // Given the floor with the own microphone off: say so, and one press opens it.
    this.unmuteButton = h("button", { class: "button button--primary", attrs: { id: "floor-unmute", type: "button", hidden: true }, text: msg("floor.unmute"), on: { click: () => this.#unmute() } });
    this.speakingBox = h("div", { class: "speaking", attrs: { id: "floor-speaking", hidden: true } }, this.myCountdown, this.unmuteButton, this.yieldButton);
    // The floor in the room's bottom bar (where a thumb reaches it on a phone, as Zoom and
    // Webex put "raise hand"): request an intervention, see the place, yield.
    this.quickButton = h("button", { class: "button button--primary controls__floor", attrs: { id: "floor-quick", type: "button" }, on: { click: () => this.#quick() } });
    this.requests = h("ul", { class: "my-requests", attrs: { id: "my-requests", "aria-label": msg("floor.myRequests") } });
    this.muted = h("p", { class: "notice notice--warn", attrs: { id: "floor-muted", hidden: true }, text: msg("floor.mutedByChair") });
    this.slowDown = h("p", { class: "notice notice--warn", attrs: { id: "slow-down-notice", role: "alert", hidden: true } });

    this.root = h(
      "section",
      { class: "panel", attrs: { id: "floor-panel", "aria-labelledby": "floor-panel-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "floor-panel-heading" }, text: msg("floor.panelHeading") }),
      this.status,
      this.speakingBox,
      this.slowDown,
      this.muted,
      this.requests,
      this.form,
    );
    this.countdown = new Countdown(this.myCountdown, client);

    client.addEventListener("floor", () => this.render());
    // The own microphone state decides what "you have the floor" says.
    client.addEventListener("participants", () => this.render());
    client.addEventListener("slow-down", (e) => {
      const { from, name } = /** @type {CustomEvent} */ (e).detail;
      if (this.client.floor?.speaker?.participantId !== this.client.self?.id) return;
      setText(this.slowDown, msg("floor.slowDown", { language: from ? languageName(from) : "", name: name ?? "" }));
      this.slowDown.hidden = false;
      clearTimeout(this.slowDownTimer);
      this.slowDownTimer = setTimeout(() => (this.slowDown.hidden = true), 8000);
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.slowDownTimer = undefined;
    this.render();
  }

  render() {
    const state = this.client.floor;
    const selfId = this.client.self?.id;
    const mine = (state?.queue ?? []).filter((r) => r.participantId === selfId);
    const speaking = Boolean(state?.speaker && state.speaker.participantId === selfId);

    // Heard only with the own microphone on: a muted speaker is told plainly, not "open".
    const micOff = speaking && !this.client.self?.audio;
    const hasMic = Boolean(this.client.publishedStream?.getAudioTracks().length);
    this.speakingBox.hidden = !speaking;
    this.unmuteButton.hidden = !micOff || !hasMic;
    if (speaking) setText(this.status, t(micOff ? "floor.youHaveItMuted" : "floor.youHaveIt"));
    else if (mine.length) setText(this.status, t("floor.position", { position: mine[0].position, total: state?.queue.length ?? 0 }));
    else setText(this.status, t("floor.notRequested"));
    this.root.dataset.state = speaking ? (micOff ? "speaking-muted" : "speaking") : mine.length ? "queued" : "idle";
    const quick = speaking ? "yield" : mine.length ? "queued" : "request";
    this.quickButton.dataset.action = quick;
    this.quickButton.className = `button controls__floor ${quick === "yield" ? "button--danger" : quick === "request" ? "button--primary" : ""}`;
    setText(this.quickButton, quick === "yield" ? t("floor.yield") : quick === "queued" ? t("floor.requested", { position: mine[0].position }) : t("floor.request"));
    this.quickButton.disabled = this.#busy;
    this.muted.hidden = !(selfId && state?.muted.includes(selfId));
    if (!speaking) this.slowDown.hidden = true;

    reconcile(
      this.requests,
      mine,
      (r) => r.id,
      this.#items,
      (r) =>
        h(
          "li",
          { class: "my-request", attrs: { "data-request": r.id } },
          h("span", { class: "my-request__text" }),
          h("button", {
            class: "button button--small",
            attrs: { type: "button", "data-action": "withdraw" },
            text: msg("floor.withdraw"),
            on: { click: () => this.#withdraw(r.id) },
          }),
        ),
      (element, r) => {
        const text = /** @type {HTMLElement} */ (element.firstChild);
        setText(text, t("floor.myRequest", { kind: t(`kind.${r.kind}`), position: r.position }));
        element.lastElementChild?.setAttribute("aria-label", t("floor.withdrawKind", { kind: t(`kind.${r.kind}`) }));
      },
    );

    // A kind already asked for cannot be asked again: pick the next free one.
    /** @type {Set<string>} */
    const asked = new Set(mine.map((r) => r.kind));
    for (const option of this.kind.options) option.disabled = asked.has(option.value) || (speaking && option.value === "intervention");
    if (this.kind.selectedOptions[0]?.disabled) {
      const free = [...this.kind.options].find((o) => !o.disabled);
      if (free) this.kind.value = free.value;
    }
    this.requestButton.disabled = this.#busy || [...this.kind.options].every((o) => o.disabled);
    this.form.hidden = speaking; // while speaking: the countdown and "yield" only
    this.#followFloor(speaking, state);
    this.countdown.render();
  }

  /**
   * Switch the microphone to original sound while holding the floor, and back after.
   * @param {boolean} speaking
   * @param {FloorState | null} state
   */
  #followFloor(speaking, state) {
    if (speaking === this.#speaking) return;
    this.#speaking = speaking;
    // Original sound = {echoCancellation: false, noiseSuppression: false, autoGainControl:
    // false} (MeetingClient.setOriginalSound): interpreters need the voice unprocessed.
    // Afterwards the processing chosen on the join form comes back.
    const original = speaking ? originalSoundOnFloor(state) || this.#userOriginal : this.#userOriginal;
    this.client
      .setOriginalSound(original)
      .then((settings) => {
        this.root.dataset.processing = settings.echoCancellation === false ? "original" : "processed";
      })
      .catch((err) => console.warn("rostrum: microphone processing: %o", err));
  }

  /** @param {Event} event */
  async #request(event) {
    event.preventDefault();
    if (this.#busy) return;
    this.#busy = true;
    this.requestButton.disabled = true;
    try {
      await this.client.requestFloor({
        kind: /** @type {import("./protocol.js").RequestKind} */ (this.kind.value),
        note: this.note.value.trim(),
        language: this.language.value,
      });
      this.note.value = "";
    } catch (err) {
      this.onError(errorMessage(err));
    } finally {
      this.#busy = false;
      this.render();
    }
  }

  /** @param {string} requestId */
  async #withdraw(requestId) {
    try {
      await this.client.withdrawRequest(requestId);
      this.requestButton.focus();
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  /** The bottom bar's floor button: request an intervention, show the panel, or yield. */
  async #quick() {
    const action = this.quickButton.dataset.action;
    if (action === "yield") return this.#yield();
    if (action === "queued") {
      this.root.scrollIntoView({ block: "nearest" });
      /** @type {HTMLElement | null} */ (this.requests.querySelector("button"))?.focus();
      return;
    }
    if (this.#busy) return;
    const free = [...this.kind.options].find((o) => !o.disabled && o.value === "intervention");
    if (!free) return;
    this.kind.value = "intervention";
    this.form.requestSubmit();
  }

  async #unmute() {
    try {
      await this.client.setMediaState({ audio: true });
    } catch (err) {
      this.onError(errorMessage(err));
    }
    this.render();
  }

  async #yield() {
    this.yieldButton.disabled = true;
    try {
      await this.client.releaseFloor();
    } catch (err) {
      this.onError(errorMessage(err));
    } finally {
      this.yieldButton.disabled = false;
    }
  }

  stop() {
    this.countdown.stop();
  }
}

/** A show of hands as a delegate sees it: the question, yes / no / abstain, live totals. */
export class HandsPanel {
  /** questionId → my answer @type {Map<string, string>} */
  #answers = new Map();

  /**
   * @param {MeetingClient} client
   * @param {{onError: (text: string) => void}} options
   */
  constructor(client, { onError }) {
    this.client = client;
    this.onError = onError;
    this.question = h("p", { class: "hands__question", attrs: { id: "hands-question" } });
    /** @type {Record<string, HTMLButtonElement>} */
    this.buttons = {};
    const answers = /** @type {const} */ (["yes", "no", "abstain"]);
    const canAnswer = client.self?.role === "delegate";
    this.answerRow = h(
      "div",
      { class: "hands__answers", attrs: { role: "group", "aria-labelledby": "hands-question" } },
      ...answers.map((answer) => {
        const button = h("button", {
          class: `button hands__answer hands__answer--${answer}`,
          attrs: { type: "button", id: `hands-${answer}`, "aria-pressed": "false" },
          text: msg(`hands.${answer}`),
          on: { click: () => this.#answer(answer) },
        });
        this.buttons[answer] = button;
        return button;
      }),
    );
    this.answerRow.hidden = !canAnswer;
    this.totals = h("p", { class: "hands__totals", attrs: { id: "hands-totals", "aria-live": "polite" } });
    this.root = h(
      "section",
      { class: "panel panel--hands", attrs: { id: "hands-panel", "aria-labelledby": "hands-heading", hidden: true } },
      h("h2", { class: "panel__heading", attrs: { id: "hands-heading" }, text: msg("hands.heading") }),
      this.question,
      this.answerRow,
      this.totals,
    );
    client.addEventListener("floor", () => this.render());
    this.render();
  }

  render() {
    const question = this.client.floor?.question ?? null;
    this.root.hidden = !question;
    if (!question) return;
    setText(this.question, question.text);
    const mine = this.#answers.get(question.id);
    for (const [answer, button] of Object.entries(this.buttons)) {
      button.disabled = !question.open;
      button.setAttribute("aria-pressed", String(mine === answer));
    }
    const { yes, no, abstain } = question.totals;
    setText(this.totals, `${question.open ? t("hands.open") : t("hands.closed")} · ${t("hands.totals", { yes, no, abstain })}`);
  }

  /** @param {"yes" | "no" | "abstain"} answer */
  async #answer(answer) {
    const question = this.client.floor?.question;
    if (!question) return;
    try {
      await this.client.answerHands(question.id, answer);
      this.#answers.set(question.id, answer);
    } catch (err) {
      this.onError(errorMessage(err));
    }
    this.render();
  }
}
