// @ts-check
/**
 * The chat panel: the meeting's chat, a private line to the chair and secretariat, and (for
 * an interpreter in a booth) the booth's intercom. History on joining, new messages as they
 * come, the chair's switch and "Remove". Every message is plain text put in with
 * `textContent`: markup in a message is shown, never run.
 *
 * `ChatFeed` talks to `/chat` through `MeetingClient` (no DOM); `ChatPanel` renders.
 * Events of `ChatFeed` (`CustomEvent`): `messages` after any change of the list or settings.
 */

import { h, reconcile, setText } from "./dom.js";
import { t, errorMessage, msg } from "./i18n.js";

const NAMESPACE = "/chat";
const KEEP = 300;

/**
 * @typedef {object} ChatMessage
 * @property {number} id
 * @property {number} at server seconds
 * @property {"meeting" | "secretariat" | "booth"} channel
 * @property {string} text
 * @property {{participantId: string, name: string, role: string, memberState: string}} from
 * @property {string} [booth]
 * @property {{participantId: string, name: string} | null} [thread]
 */

export class ChatFeed extends EventTarget {
  /** @type {ChatMessage[]} */
  messages = [];
  publicEnabled = true;
  /** @type {string | null} */
  booth = null;
  mayModerate = false;
  team = false;
  /** This participant's ids, this join's and the same person's earlier ones. @type {Set<string>} */
  selfIds = new Set();
  /** @type {Promise<void> | null} */
  #started = null;

  /** @param {import("./protocol.js").MeetingClient} client */
  constructor(client) {
    super();
    this.client = client;
    // the booth changes when the secretariat assigns an interpreter: reload what they may read
    client.addEventListener("interpretation", () => {
      if (this.#started && client.self?.role === "interpreter" && client.booth !== this.booth) void this.reload();
    });
    client.addEventListener("floor", () => {
      const may = client.mayManage;
      if (may !== this.mayModerate) {
        this.mayModerate = may;
        this.#changed();
      }
    });
  }

  start() {
    this.#started ??= (async () => {
      await this.client.connectNamespace(NAMESPACE, (socket) => {
        socket.on("chat", (/** @type {any} */ msg) => this.#add(msg));
        socket.on("chat-removed", (/** @type {any} */ msg) => {
          this.messages = this.messages.filter((m) => m.id !== msg?.id);
          this.#changed();
        });
        socket.on("chat-settings", (/** @type {any} */ msg) => {
          this.publicEnabled = Boolean(msg?.publicEnabled);
          this.#changed();
        });
      });
      await this.reload();
    })();
    return this.#started;
  }

  async reload() {
    const ack = await this.client.requestOn(NAMESPACE, "history", {});
    // messages that came while the history was on its way stay
    const known = new Map(ack.messages.map((/** @type {ChatMessage} */ m) => [m.id, m]));
    for (const m of this.messages) if (!known.has(m.id) && m.channel !== "booth") known.set(m.id, m);
    this.messages = [...known.values()].sort((a, b) => a.id - b.id).slice(-KEEP);
    this.publicEnabled = ack.publicEnabled;
    this.booth = ack.booth ?? null;
    this.mayModerate = ack.mayModerate;
    this.team = ack.team;
    // this join's id and the same person's earlier ones: their messages are "mine" too
    this.selfIds = new Set(Array.isArray(ack.selfIds) ? ack.selfIds : []);
    this.#changed();
  }

  /**
   * @param {"meeting" | "secretariat" | "booth"} channel
   * @param {string} text
   * @param {string | null} [to]
   */
  async send(channel, text, to = null) {
    /** @type {Record<string, string>} */
    const payload = { channel, text };
    if (to) payload.to = to;
    const ack = await this.client.requestOn(NAMESPACE, "send", payload);
    this.#add(ack.message);
  }

  /** @param {number} id */
  remove(id) {
    return this.client.requestOn(NAMESPACE, "remove", { id });
  }

  /** @param {boolean} enabled */
  setPublic(enabled) {
    return this.client.requestOn(NAMESPACE, "settings", { publicEnabled: enabled });
  }

  /** @param {any} msg */
  #add(msg) {
    if (!msg || typeof msg.id !== "number" || this.messages.some((m) => m.id === msg.id)) return;
    this.messages.push(msg);
    if (this.messages.length > KEEP) this.messages.splice(0, this.messages.length - KEEP);
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new CustomEvent("messages"));
  }
}

/** @param {number} serverSeconds */
function clock(serverSeconds) {
  return new Date(serverSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export class ChatPanel {
  /** @type {Map<string, HTMLElement>} */
  #items = new Map();

  /**
   * @param {import("./protocol.js").MeetingClient} client
   * @param {ChatFeed} feed
   * @param {{onError: (text: string) => void}} options
   */
  constructor(client, feed, { onError }) {
    this.client = client;
    this.feed = feed;
    this.onError = onError;
    this.channel = h("select", { attrs: { id: "chat-channel" }, on: { change: () => this.render() } });
    this.to = h("select", { attrs: { id: "chat-to" }, on: { change: () => this.render() } });
    this.toField = h("div", { class: "chat__field", attrs: { hidden: true } }, h("label", { attrs: { for: "chat-to" }, text: msg("chat.to") }), this.to);
    this.publicSwitch = h("input", { attrs: { id: "chat-public", type: "checkbox" }, on: { change: () => void this.#setPublic() } });
    this.moderation = h("label", { class: "chat__switch", attrs: { hidden: true } }, this.publicSwitch, " ", h("span", { text: msg("chat.publicOn") }));
    this.notice = h("p", { class: "chat__notice", attrs: { id: "chat-notice", role: "status", hidden: true } });
    this.list = h("ol", { class: "chat__messages", attrs: { id: "chat-messages", "aria-live": "polite", "aria-relevant": "additions" } });
    this.empty = h("p", { class: "chat__empty", text: msg("chat.empty") });
    this.input = h("textarea", {
      class: "chat__input",
      attrs: { id: "chat-input", rows: 2, maxlength: 1000, "aria-label": msg("chat.message") },
      on: { keydown: (e) => this.#key(/** @type {KeyboardEvent} */ (e)) },
    });
    this.error = h("p", { class: "chat__error", attrs: { id: "chat-error", role: "alert", hidden: true } });
    this.sendButton = h("button", { class: "button button--primary", attrs: { id: "chat-send", type: "submit" }, text: msg("chat.send") });
    const form = h(
      "form",
      { class: "chat__form", on: { submit: (e) => { e.preventDefault(); void this.#send(); } } },
      h("div", { class: "chat__row" }, h("div", { class: "chat__field" }, h("label", { attrs: { for: "chat-channel" }, text: msg("chat.channel") }), this.channel), this.toField),
      this.input,
      this.error,
      this.sendButton,
    );
    this.root = h(
      "section",
      { class: "chat", attrs: { id: "chat", "aria-labelledby": "chat-heading" } },
      h("h2", { class: "chat__heading", attrs: { id: "chat-heading" }, text: msg("chat.heading") }),
      this.moderation,
      this.notice,
      this.list,
      this.empty,
      form,
    );
    feed.addEventListener("messages", () => this.render());
    client.addEventListener("participants", () => this.#renderTo());
    this.render();
  }

  async start() {
    try {
      await this.feed.start();
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  /** @param {KeyboardEvent} event */
  #key(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void this.#send();
    }
  }

  async #send() {
    const text = this.input.value.trim();
    if (!text) return;
    const channel = /** @type {"meeting" | "secretariat" | "booth"} */ (this.channel.value);
    const to = channel === "secretariat" && this.feed.team ? this.to.value || null : null;
    this.error.hidden = true;
    try {
      await this.feed.send(channel, text, to);
      this.input.value = "";
    } catch (err) {
      // the text stays in the box: after a rate limit, Enter again sends it
      this.error.textContent = errorMessage(err);
      this.error.hidden = false;
    }
  }

  async #setPublic() {
    try {
      await this.feed.setPublic(this.publicSwitch.checked);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  #renderChannels() {
    const { feed } = this;
    /** @type {Array<[string, import("./i18n.js").Message]>} */
    const options = [
      ["meeting", msg("chat.channel.meeting")],
      ["secretariat", msg("chat.channel.secretariat")],
    ];
    if (feed.booth) options.push(["booth", msg("chat.channel.booth", { language: t(`lang.${feed.booth}`) })]);
    const current = this.channel.value || "meeting";
    const wanted = options.map(([v]) => v).join();
    if ([...this.channel.options].map((o) => o.value).join() !== wanted || this.channel.options[options.length - 1]?.text !== String(options[options.length - 1][1])) {
      this.channel.replaceChildren(...options.map(([value, text]) => h("option", { props: { value }, text })));
    }
    this.channel.value = options.some(([v]) => v === current) ? current : "meeting";
  }

  #renderTo() {
    if (!this.feed.team) return;
    const current = this.to.value;
    const others = this.client.participants.filter((p) => p.role !== "chair" && p.role !== "secretariat");
    this.to.replaceChildren(
      h("option", { props: { value: "" }, text: msg("chat.to.team") }),
      ...others.map((p) => h("option", { props: { value: p.id }, text: p.memberState ? `${p.name} (${p.memberState})` : p.name })),
    );
    this.to.value = others.some((p) => p.id === current) ? current : "";
  }

  render() {
    const { feed } = this;
    this.#renderChannels();
    this.#renderTo();
    const channel = this.channel.value;
    this.toField.hidden = !(feed.team && channel === "secretariat");
    this.moderation.hidden = !feed.mayModerate;
    this.publicSwitch.checked = feed.publicEnabled;
    const closed = !feed.publicEnabled && channel === "meeting";
    this.notice.hidden = feed.publicEnabled;
    setText(this.notice, msg("chat.off"));
    this.input.disabled = closed && !feed.team;
    this.sendButton.disabled = this.input.disabled;
    const shown = feed.messages.filter((m) => m.channel === channel);
    this.empty.hidden = shown.length > 0;
    reconcile(this.list, shown, (m) => String(m.id), this.#items, (m) => this.#item(m), () => {});
    for (const item of this.#items.values()) {
      const remove = /** @type {HTMLButtonElement | null} */ (item.querySelector(".chat__remove"));
      if (remove) remove.hidden = !feed.mayModerate;
    }
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** @param {ChatMessage} m */
  #item(m) {
    const mine = m.from.participantId === this.client.self?.id || this.feed.selfIds.has(m.from.participantId);
    // msg(): "You" and the role follow a change of UI language in messages already shown
    const who = mine ? h("span", { text: msg("chat.you") }) : m.from.memberState ? `${m.from.name} (${m.from.memberState})` : m.from.name;
    const role = m.from.role === "chair" || m.from.role === "secretariat" ? h("span", { text: msg(`role.${m.from.role}`) }) : null;
    const meta = h("span", { class: "chat__meta" }, h("strong", { class: "chat__from" }, who, role && " · ", role), " ", h("time", { text: clock(m.at) }));
    if (m.channel === "secretariat" && m.thread && this.feed.team) meta.append(" ", h("span", { class: "chat__to", text: msg("chat.toWhom", { name: m.thread.name }) }));
    const item = h(
      "li",
      { class: `chat__message${mine ? " chat__message--mine" : ""}`, attrs: { "data-message-id": m.id } },
      meta,
      h("p", { class: "chat__text", text: m.text }),
    );
    if (m.channel !== "booth") {
      item.append(
        h("button", {
          class: "button button--small chat__remove",
          attrs: { type: "button", hidden: !this.feed.mayModerate },
          text: msg("chat.remove"),
          on: { click: () => void this.feed.remove(m.id).catch((err) => this.onError(errorMessage(err))) },
        }),
      );
    }
    return item;
  }
}
