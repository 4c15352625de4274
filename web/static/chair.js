// @ts-check
/**
 * The chair's console (the chair, or a secretariat member given the floor rights):
 * - the floor: who speaks, their time (countdown), withdraw, extend −30 / +30 / +60 s, a
 *   visible warning when the time runs out (`floor-expired`), interpreters' "slow down";
 * - the speakers' list: grant / deny per request, reorder by drag and drop, by the move
 *   buttons, or by Alt+↑ / Alt+↓ on an entry;
 * - the meeting: default speaking time, "close the floor when time runs out", lock,
 *   "mute all but the floor", end the meeting (confirmed);
 * - the show of hands: open a question, live totals and per-voter results, close;
 * - the booths (chair and secretariat, with or without floor rights): `BoothPanel`.
 * Per-participant controls (give the floor, mute, rights, remove) are in `ParticipantList`.
 * Renders and binds only; every action goes through `MeetingClient`.
 */

import { h, reconcile, setText, confirmDialog } from "./dom.js";
import { t, msg, errorMessage, languageName } from "./i18n.js";
import { Countdown } from "./floor.js";
import { BoothPanel } from "./booths.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").FloorRequest} FloorRequest */
/** @typedef {import("./protocol.js").Question} Question */

/** Extensions offered to the chair, in seconds. */
const EXTENSIONS = [-30, 30, 60];

/**
 * Move one id in an order by `delta` places (clamped); returns a new array.
 * @param {string[]} order
 * @param {string} id
 * @param {number} delta
 */
export function moveInOrder(order, id, delta) {
  const from = order.indexOf(id);
  if (from < 0) return [...order];
  const to = Math.max(0, Math.min(order.length - 1, from + delta));
  const next = [...order];
  next.splice(from, 1);
  next.splice(to, 0, id);
  return next;
}

/**
 * Put `id` before `beforeId` (null: at the end); returns a new array.
 * @param {string[]} order
 * @param {string} id
 * @param {string | null} beforeId
 */
export function placeBefore(order, id, beforeId) {
  const next = order.filter((x) => x !== id);
  const at = beforeId === null ? next.length : next.indexOf(beforeId);
  next.splice(at < 0 ? next.length : at, 0, id);
  return next;
}

export class ChairConsole {
  /** requestId → entry @type {Map<string, HTMLElement>} */
  #entries = new Map();
  /** The id being dragged. @type {string | null} */
  #dragging = null;
  /** Results of the last question, with per-voter answers. @type {Question | null} */
  #results = null;
  /** A reorder waiting for the server: the order shown meanwhile. @type {string[] | null} */
  #pendingOrder = null;
  /** The `serverTime` of the floor state current when the server accepted the reorder: the
   * next, newer state carries the new order. @type {number | null} */
  #pendingUntil = null;

  /**
   * @param {MeetingClient} client
   * @param {{onError: (text: string | import("./i18n.js").Message, kind?: "error" | "status") => void}} options
   */
  constructor(client, { onError }) {
    this.client = client;
    this.onError = onError;

    // ---- the floor
    this.speaker = h("p", { class: "console__speaker", attrs: { id: "console-speaker" } });
    this.countdownElement = h("span", { class: "countdown countdown--large", attrs: { id: "console-countdown", "aria-label": msg("floor.timeLeft") } });
    this.revokeButton = h("button", { class: "button button--danger", attrs: { id: "floor-revoke", type: "button" }, text: msg("chair.revoke"), on: { click: () => this.#act(() => client.revokeFloor()) } });
    this.extendButtons = EXTENSIONS.map((seconds) =>
      h("button", {
        class: "button button--small",
        // The visible "+30 s" is the name (a label must contain it: WCAG 2.5.3); the words go in
        // the description.
        attrs: { type: "button", "data-extend": seconds, title: msg(seconds < 0 ? "chair.shortenBy" : "chair.extendBy", { seconds: Math.abs(seconds) }) },
        text: msg("chair.extendButton", { sign: seconds < 0 ? "−" : "+", seconds: Math.abs(seconds) }),
        on: { click: () => this.#act(() => client.extendFloor(seconds)) },
      }),
    );
    this.expired = h("div", { class: "alert alert--expired", attrs: { id: "floor-expired", role: "alert", hidden: true } });
    this.slowDowns = h("p", { class: "notice notice--warn", attrs: { id: "console-slow-down", role: "status", hidden: true } });
    this.floorSection = h(
      "section",
      { class: "panel console__floor", attrs: { id: "console-floor", "aria-labelledby": "console-floor-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "console-floor-heading" }, text: msg("chair.floorHeading") }),
      this.expired,
      h("div", { class: "console__now" }, this.speaker, this.countdownElement),
      h(
        "div",
        { class: "console__controls" },
        h("div", { class: "button-row", attrs: { role: "group", "aria-label": msg("chair.timeControls") } }, ...this.extendButtons),
        this.revokeButton,
      ),
      this.slowDowns,
    );
    this.countdown = new Countdown(this.countdownElement, client);

    // ---- the speakers' list
    this.queue = h("ol", { class: "queue", attrs: { id: "speakers-list", "aria-labelledby": "queue-heading", "aria-describedby": "queue-help" } });
    this.queueEmpty = h("p", { class: "queue__empty", attrs: { id: "queue-empty" }, text: msg("chair.queueEmpty") });
    this.queueAnnouncer = h("p", { class: "visually-hidden", attrs: { role: "status", "aria-live": "polite" } });
    this.queueCount = h("span", { class: "panel__count" });
    this.queueSection = h(
      "section",
      { class: "panel console__queue", attrs: { id: "console-queue", "aria-labelledby": "queue-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "queue-heading" } }, h("span", { text: msg("chair.queueHeading") }), " ", this.queueCount),
      h("p", { class: "panel__help", attrs: { id: "queue-help" }, text: msg("chair.queueHelp") }),
      this.queueEmpty,
      this.queue,
      this.queueAnnouncer,
    );

    // ---- the meeting's settings
    this.defaultLimit = h("input", {
      attrs: { id: "setting-default-limit", type: "number", min: 0, max: 60, step: 0.5, inputmode: "decimal" },
      on: { change: () => this.#saveDefaultLimit() },
    });
    this.closeOnExpiry = h("input", {
      attrs: { id: "setting-close-on-expiry", type: "checkbox" },
      on: { change: () => this.#act(() => client.floorSettings({ closeOnExpiry: this.closeOnExpiry.checked })) },
    });
    this.lockButton = h("button", { class: "button button--toggle", attrs: { id: "meeting-lock", type: "button", "aria-pressed": "false" }, on: { click: () => this.#act(() => client.lockMeeting(!client.floor?.locked)) } });
    this.muteAllButton = h("button", { class: "button", attrs: { id: "mute-all", type: "button" }, text: msg("chair.muteAll"), on: { click: () => this.#muteAll() } });
    this.endButton = h("button", { class: "button button--danger", attrs: { id: "end-meeting", type: "button" }, text: msg("chair.endMeeting"), on: { click: () => this.#endMeeting() } });
    this.settingsSection = h(
      "section",
      { class: "panel console__settings", attrs: { id: "console-settings", "aria-labelledby": "settings-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "settings-heading" }, text: msg("chair.settingsHeading") }),
      h(
        "div",
        { class: "field field--inline" },
        h("label", { attrs: { for: "setting-default-limit" }, text: msg("chair.defaultLimit") }),
        this.defaultLimit,
      ),
      h("div", { class: "field field--check" }, this.closeOnExpiry, h("label", { attrs: { for: "setting-close-on-expiry" }, text: msg("chair.closeOnExpiry") })),
      h("div", { class: "button-row" }, this.lockButton, this.muteAllButton, this.endButton),
    );

    // ---- the show of hands
    this.handsText = h("input", { attrs: { id: "hands-text", maxlength: 300, autocomplete: "off" } });
    this.handsMode = h(
      "select",
      { attrs: { id: "hands-mode" } },
      h("option", { props: { value: "participant" }, text: msg("hands.modeParticipant") }),
      h("option", { props: { value: "member-state" }, text: msg("hands.modeMemberState") }),
    );
    this.handsForm = h(
      "form",
      { class: "hands-form", attrs: { id: "hands-form" }, on: { submit: (e) => this.#openHands(e) } },
      h("div", { class: "field" }, h("label", { attrs: { for: "hands-text" }, text: msg("hands.question") }), this.handsText),
      h("div", { class: "field" }, h("label", { attrs: { for: "hands-mode" }, text: msg("hands.mode") }), this.handsMode),
      h("button", { class: "button button--primary", attrs: { type: "submit", id: "hands-open" }, text: msg("hands.openButton") }),
    );
    this.handsQuestion = h("p", { class: "hands__question", attrs: { id: "console-hands-question" } });
    this.handsTotals = h("p", { class: "hands__totals", attrs: { id: "console-hands-totals", "aria-live": "polite" } });
    this.handsVoters = h("ul", { class: "hands__voters", attrs: { id: "hands-voters", "aria-label": msg("hands.voters") } });
    this.handsClose = h("button", { class: "button", attrs: { type: "button", id: "hands-close" }, text: msg("hands.closeButton"), on: { click: () => this.#closeHands() } });
    this.handsLive = h("div", { class: "hands-live", attrs: { hidden: true } }, this.handsQuestion, this.handsTotals, this.handsClose, this.handsVoters);
    this.handsSection = h(
      "section",
      { class: "panel console__hands", attrs: { id: "console-hands", "aria-labelledby": "console-hands-heading" } },
      h("h2", { class: "panel__heading", attrs: { id: "console-hands-heading" }, text: msg("hands.heading") }),
      this.handsLive,
      this.handsForm,
    );

    this.booths = new BoothPanel(client, { onError });

    this.managed = [this.floorSection, this.queueSection, this.settingsSection, this.handsSection];
    this.root = h(
      "div",
      { class: "console", attrs: { id: "chair-console", role: "region", "aria-label": msg("chair.consoleLabel") } },
      h("div", { class: "console__column" }, this.floorSection, this.queueSection),
      h("div", { class: "console__column" }, this.settingsSection, this.handsSection, this.booths.root),
    );

    client.addEventListener("floor", () => this.render());
    client.addEventListener("participants", () => this.#renderVoters());
    client.addEventListener("floor-expired", (e) => this.#onExpired(/** @type {CustomEvent} */ (e).detail));
    client.addEventListener("hands-results", (e) => {
      this.#results = /** @type {CustomEvent} */ (e).detail;
      this.#renderVoters();
    });
    client.addEventListener("slow-down", (e) => {
      const { from, name } = /** @type {CustomEvent} */ (e).detail;
      setText(this.slowDowns, msg("chair.slowDown", { language: from ? languageName(from) : "", name: name ?? "" }));
      this.slowDowns.hidden = false;
      clearTimeout(this.slowDownTimer);
      this.slowDownTimer = setTimeout(() => (this.slowDowns.hidden = true), 10000);
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.slowDownTimer = undefined;
    /** @type {string | null} the speaker an expiry warning is about */
    this.expiredFor = null;
    this.render();
  }

  render() {
    const client = this.client;
    const state = client.floor;
    const manage = client.mayManage;
    for (const section of this.managed) section.hidden = !manage;
    this.root.dataset.manage = String(manage);
    if (!state) return;

    // the floor
    const speaker = state.speaker;
    setText(this.speaker, speaker ? `${speaker.name}${speaker.kind !== "intervention" ? ` · ${t(`kind.${speaker.kind}`)}` : ""}` : t("floor.nobody"));
    this.revokeButton.disabled = !speaker;
    for (const button of this.extendButtons) button.disabled = !speaker;
    // The warning stays while the speaker whose time ran out still speaks over time; it goes
    // when the floor changes hands or the chair gives more time.
    if (this.expiredFor !== null) {
      const stillOver = speaker?.participantId === this.expiredFor && (client.floorRemaining() ?? 1) <= 0;
      if (!stillOver) {
        this.expired.hidden = true;
        this.expiredFor = null;
      }
    }
    this.countdown.render();

    // the speakers' list: the chair's new order until the server's state shows it (the ack
    // may come before the broadcast with the new order)
    if (this.#pendingUntil !== null && state.serverTime > this.#pendingUntil) {
      this.#pendingOrder = null;
      this.#pendingUntil = null;
    }
    const queue = this.#pendingOrder ? this.#ordered(state.queue, this.#pendingOrder) : state.queue;
    setText(this.queueCount, `(${queue.length})`);
    this.queueEmpty.hidden = queue.length > 0;
    reconcile(this.queue, queue, (r) => r.id, this.#entries, (r) => this.#entry(r), (element, r) => this.#updateEntry(element, r, queue));

    // settings
    if (document.activeElement !== this.defaultLimit) {
      this.defaultLimit.value = state.defaultLimitS ? String(Math.round((state.defaultLimitS / 60) * 100) / 100) : "0";
    }
    this.closeOnExpiry.checked = state.closeOnExpiry;
    this.lockButton.setAttribute("aria-pressed", String(state.locked));
    setText(this.lockButton, t(state.locked ? "chair.unlock" : "chair.lock"));
    this.endButton.hidden = client.self?.role !== "chair";

    // the show of hands
    const question = state.question;
    this.handsForm.hidden = Boolean(question?.open);
    this.handsLive.hidden = !question;
    if (question) {
      setText(this.handsQuestion, question.text);
      const { yes, no, abstain } = question.totals;
      setText(this.handsTotals, `${question.open ? t("hands.open") : t("hands.closed")} · ${t("hands.totals", { yes, no, abstain })}`);
      this.handsClose.hidden = !question.open;
      if (this.#results && this.#results.id !== question.id) this.#results = null;
    }
    this.#renderVoters();
  }

  /**
   * The server's queue in the order the chair just chose (until the server confirms it).
   * @param {FloorRequest[]} queue
   * @param {string[]} order
   */
  #ordered(queue, order) {
    const byId = new Map(queue.map((r) => [r.id, r]));
    if (order.length !== queue.length || !order.every((id) => byId.has(id))) {
      this.#pendingOrder = null;
      return queue;
    }
    return order.map((id, i) => ({ .../** @type {FloorRequest} */ (byId.get(id)), position: i + 1 }));
  }

  /** @param {FloorRequest} r */
  #entry(r) {
    const id = r.id;
    const button = (/** @type {string} */ action, /** @type {string | import("./i18n.js").Message} */ text, /** @type {() => void} */ onClick, cls = "button button--small") =>
      h("button", { class: cls, attrs: { type: "button", "data-action": action }, text, on: { click: onClick } });
    const element = h(
      "li",
      {
        class: "queue__entry",
        attrs: { "data-request": id, draggable: "true", tabindex: "0" },
        on: {
          keydown: (e) => this.#onEntryKey(/** @type {KeyboardEvent} */ (e), id),
          dragstart: (e) => this.#onDragStart(/** @type {DragEvent} */ (e), id),
          dragend: () => this.#onDragEnd(),
          dragover: (e) => this.#onDragOver(/** @type {DragEvent} */ (e), id),
          drop: (e) => this.#onDrop(/** @type {DragEvent} */ (e), id),
        },
      },
      h("span", { class: "queue__grip", attrs: { "aria-hidden": "true" }, text: "⠿" }),
      h("span", { class: "queue__position" }),
      h(
        "div",
        { class: "queue__text" },
        h("span", { class: "queue__name" }),
        h("span", { class: "badge queue__kind" }),
        h("span", { class: "queue__detail" }),
        h("span", { class: "queue__note" }),
      ),
      h(
        "div",
        { class: "queue__actions" },
        button("grant", msg("chair.grant"), () => this.#act(() => this.client.grantFloor({ requestId: id })), "button button--small button--primary"),
        button("deny", msg("chair.deny"), () => this.#act(() => this.client.denyRequest(id))),
        button("up", "↑", () => this.#move(id, -1)),
        button("down", "↓", () => this.#move(id, +1)),
      ),
    );
    return element;
  }

  /**
   * @param {HTMLElement} element
   * @param {FloorRequest} r
   * @param {FloorRequest[]} queue
   */
  #updateEntry(element, r, queue) {
    const who = this.client.participants.find((p) => p.id === r.participantId);
    const [, position, text, actions] = /** @type {HTMLElement[]} */ ([...element.children]);
    const [name, kind, detail, note] = /** @type {HTMLElement[]} */ ([...text.children]);
    setText(position, String(r.position));
    setText(name, r.name || who?.name || "…");
    setText(kind, t(`kind.${r.kind}`));
    kind.dataset.kind = r.kind;
    const affiliation = who ? [who.memberState, who.organization].filter(Boolean).join(", ") : "";
    const language = r.language ? t(`lang.${r.language}`) : "";
    setText(detail, [affiliation, language].filter(Boolean).join(" · "));
    setText(note, r.note ? t("chair.note", { note: r.note }) : "");
    note.hidden = !r.note;
    element.dataset.kind = r.kind;
    const label = t("chair.entryLabel", { position: r.position, name: r.name, kind: t(`kind.${r.kind}`) });
    element.setAttribute("aria-label", label);
    const [grant, deny, up, down] = /** @type {HTMLButtonElement[]} */ ([...actions.children]);
    // The name starts with the visible text (WCAG 2.5.3, in every language), then who.
    grant.setAttribute("aria-label", `${t("chair.grant")}: ${r.name}`);
    deny.setAttribute("aria-label", `${t("chair.deny")}: ${r.name}`);
    up.setAttribute("aria-label", t("chair.moveUp", { name: r.name }));
    down.setAttribute("aria-label", t("chair.moveDown", { name: r.name }));
    up.disabled = r.position <= 1;
    down.disabled = r.position >= queue.length;
  }

  /**
   * @param {KeyboardEvent} event
   * @param {string} id
   */
  #onEntryKey(event, id) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    this.#move(id, event.key === "ArrowUp" ? -1 : 1);
  }

  /**
   * @param {string} id
   * @param {number} delta
   */
  #move(id, delta) {
    const order = this.#currentOrder();
    const next = moveInOrder(order, id, delta);
    if (next.join() === order.join()) return;
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const action = focused?.dataset?.action;
    this.#reorder(next);
    // Keep the focus with the moved entry (on the same control when it is still usable).
    const entry = this.#entries.get(id);
    /** @type {HTMLButtonElement | null | undefined} */
    const same = action ? entry?.querySelector(`[data-action="${action}"]`) : null;
    (same && !same.disabled ? same : entry)?.focus();
    const name = this.client.floor?.queue.find((r) => r.id === id)?.name ?? "";
    setText(this.queueAnnouncer, t("chair.moved", { name, position: next.indexOf(id) + 1, total: next.length }));
  }

  #currentOrder() {
    return this.#pendingOrder ?? (this.client.floor?.queue ?? []).map((r) => r.id);
  }

  /** @param {string[]} order */
  async #reorder(order) {
    this.#pendingOrder = order;
    this.#pendingUntil = null;
    this.render();
    try {
      await this.client.reorderQueue(order);
      if (this.#pendingOrder === order) this.#pendingUntil = this.client.floor?.serverTime ?? 0;
    } catch (err) {
      if (this.#pendingOrder === order) this.#pendingOrder = null;
      this.onError(errorMessage(err));
    }
    this.render();
  }

  /**
   * @param {DragEvent} event
   * @param {string} id
   */
  #onDragStart(event, id) {
    this.#dragging = id;
    event.dataTransfer?.setData("text/plain", id);
    if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
    this.#entries.get(id)?.classList.add("queue__entry--dragging");
  }

  #onDragEnd() {
    for (const element of this.#entries.values()) element.classList.remove("queue__entry--dragging", "queue__entry--drop-before", "queue__entry--drop-after");
    this.#dragging = null;
  }

  /**
   * @param {DragEvent} event
   * @param {string} overId
   */
  #onDragOver(event, overId) {
    if (!this.#dragging) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "move";
    const element = /** @type {HTMLElement} */ (this.#entries.get(overId));
    const after = this.#dropAfter(event, element);
    for (const other of this.#entries.values()) {
      other.classList.toggle("queue__entry--drop-before", other === element && !after);
      other.classList.toggle("queue__entry--drop-after", other === element && after);
    }
  }

  /**
   * @param {DragEvent} event
   * @param {string} overId
   */
  #onDrop(event, overId) {
    event.preventDefault();
    const id = this.#dragging ?? event.dataTransfer?.getData("text/plain") ?? null;
    const element = this.#entries.get(overId);
    this.#onDragEnd();
    if (!id || !element || id === overId) return;
    const order = this.#currentOrder();
    const after = this.#dropAfter(event, element);
    const index = order.indexOf(overId);
    const beforeId = after ? order[index + 1] ?? null : overId;
    const next = placeBefore(order, id, beforeId === id ? order[index + 2] ?? null : beforeId);
    if (next.join() !== order.join()) this.#reorder(next);
  }

  /**
   * Whether a drop over `element` lands after it (lower half) or before it.
   * @param {DragEvent} event
   * @param {HTMLElement} element
   */
  #dropAfter(event, element) {
    const box = element.getBoundingClientRect();
    return event.clientY > box.top + box.height / 2;
  }

  /** @param {{participantId: string, name: string, closed: boolean}} detail */
  #onExpired({ participantId, name, closed }) {
    this.expiredFor = closed ? null : participantId;
    this.expired.replaceChildren(
      h("strong", { text: msg("chair.expired", { name }) }),
      " ",
      h("span", { text: closed ? t("chair.expiredClosed") : t("chair.expiredOpen") }),
    );
    this.expired.hidden = false;
    if (closed) {
      // Shown a while even though the floor is closed, so the chair sees why.
      setTimeout(() => {
        if (this.expiredFor === null) this.expired.hidden = true;
      }, 10000);
    }
  }

  async #saveDefaultLimit() {
    const minutes = Number(this.defaultLimit.value);
    if (!Number.isFinite(minutes) || minutes < 0 || minutes > 60) {
      this.onError(msg("chair.defaultLimitInvalid"));
      return;
    }
    const seconds = Math.round(minutes * 60);
    await this.#act(() => this.client.floorSettings({ defaultLimitS: seconds === 0 ? 0 : Math.max(5, seconds) }));
  }

  async #muteAll() {
    await this.#act(async () => {
      const n = await this.client.muteAll();
      this.slowDowns.hidden = true;
      this.onError(msg("chair.mutedN", { count: n }), "status");
    });
  }

  async #endMeeting() {
    const confirmed = await confirmDialog({
      title: msg("chair.endTitle"),
      message: t("chair.endMessage"),
      confirm: t("chair.endMeeting"),
      cancel: t("dialog.cancel"),
      danger: true,
    });
    if (confirmed) await this.#act(() => this.client.endMeeting());
  }

  /** @param {Event} event */
  async #openHands(event) {
    event.preventDefault();
    const text = this.handsText.value.trim();
    if (!text) {
      this.handsText.focus();
      return;
    }
    await this.#act(async () => {
      await this.client.openHands(text, /** @type {"participant" | "member-state"} */ (this.handsMode.value));
      this.handsText.value = "";
      this.#results = null;
    });
  }

  async #closeHands() {
    const question = this.client.floor?.question;
    if (!question) return;
    await this.#act(async () => {
      this.#results = await this.client.closeHands(question.id);
    });
  }

  #renderVoters() {
    const results = this.#results;
    const question = this.client.floor?.question;
    const answers = results && question && results.id === question.id ? results.answers ?? [] : [];
    this.handsVoters.hidden = answers.length === 0;
    const byId = new Map(this.client.participants.map((p) => [p.id, p]));
    this.handsVoters.replaceChildren(
      ...answers.map((a) => {
        const who = byId.get(a.participantId);
        const voter = a.voter.startsWith("ms:") ? who?.memberState || a.voter.slice(3) : who?.name ?? "…";
        const detail = a.voter.startsWith("ms:") && who ? ` (${who.name})` : who?.memberState ? ` (${who.memberState})` : "";
        return h(
          "li",
          { class: "hands__voter", attrs: { "data-answer": a.answer } },
          h("span", { text: `${voter}${detail}` }),
          h("span", { class: `badge badge--${a.answer}`, text: msg(`hands.${a.answer}`) }),
        );
      }),
    );
  }

  /** @param {() => Promise<unknown>} action */
  async #act(action) {
    try {
      await action();
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  stop() {
    this.countdown.stop();
  }
}
