// @ts-check
/**
 * The participant list, grouped by member state (then organization), with role badges, who
 * has the floor, who is muted, and — for those who manage the floor — per-participant
 * controls (give the floor, mute / unmute, floor rights for the secretariat, remove).
 *
 * Built for 300 participants: rows are kept by participant id and updated only when what
 * they show changed (a signature per row); groups and rows move only when out of place;
 * the per-row menu of chair actions is built when opened, not for every row; rows off screen
 * skip layout and paint (`content-visibility: auto` in styles.css).
 */

import { h, reconcile, setText, confirmDialog } from "./dom.js";
import { t, msg, errorMessage, uiLanguage } from "./i18n.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./protocol.js").Participant} Participant */

const OFFICIALS = new Set(["chair", "secretariat"]);
const ROLE_ORDER = ["chair", "secretariat", "delegate", "interpreter", "captioner", "observer"];

/**
 * The group a participant is listed under, and the groups' order: the chair and secretariat
 * first, then member states (then organizations without one) alphabetically, then the
 * interpreters, then everyone else.
 * @param {Participant} p
 * @returns {{key: string, label: string, rank: number}}
 */
export function groupOf(p) {
  if (OFFICIALS.has(p.role)) return { key: "officials", label: t("people.officials"), rank: 0 };
  if (p.role === "interpreter") return { key: "interpreters", label: t("people.interpreters"), rank: 3 };
  const state = (p.memberState ?? "").trim();
  if (state) return { key: `ms:${state.toLocaleLowerCase()}`, label: state, rank: 1 };
  const organization = (p.organization ?? "").trim();
  if (organization) return { key: `org:${organization.toLocaleLowerCase()}`, label: organization, rank: 2 };
  return { key: "other", label: t("people.other"), rank: 4 };
}

/**
 * Participants grouped and sorted for the list.
 * @param {Participant[]} participants
 * @returns {Array<{key: string, label: string, people: Participant[]}>}
 */
export function groupParticipants(participants) {
  /** @type {Map<string, {key: string, label: string, rank: number, people: Participant[]}>} */
  const groups = new Map();
  for (const p of participants) {
    const g = groupOf(p);
    let group = groups.get(g.key);
    if (!group) groups.set(g.key, (group = { ...g, people: [] }));
    group.people.push(p);
  }
  const collator = new Intl.Collator(undefined, { sensitivity: "base" });
  for (const group of groups.values()) {
    group.people.sort(
      (a, b) =>
        ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) ||
        collator.compare(a.organization ?? "", b.organization ?? "") ||
        collator.compare(a.name, b.name) ||
        a.id.localeCompare(b.id),
    );
  }
  return [...groups.values()]
    .sort((a, b) => a.rank - b.rank || collator.compare(a.label, b.label))
    .map(({ key, label, people }) => ({ key, label, people }));
}

/**
 * @typedef {object} ParticipantListOptions
 * @property {(text: string) => void} onError
 * @property {(participantId: string | null) => Promise<void>} [onPin]
 * @property {() => string | null} [pinned] the pinned participant
 */

/**
 * @typedef {object} Group
 * @property {HTMLElement} element
 * @property {HTMLElement} heading
 * @property {HTMLElement} list
 * @property {Map<string, HTMLElement>} rows
 */

export class ParticipantList {
  /** group key → group @type {Map<string, HTMLElement>} */
  #groupElements = new Map();
  /** group key → parts @type {Map<string, Group>} */
  #groups = new Map();
  /** The participant whose action menu is open. @type {string | null} */
  #open = null;
  #frame = 0;

  /**
   * @param {MeetingClient} client
   * @param {ParticipantListOptions} options
   */
  constructor(client, { onError, onPin, pinned }) {
    this.client = client;
    this.onError = onError;
    this.onPin = onPin;
    this.pinned = pinned ?? (() => null);
    this.heading = h("h2", { class: "people__heading", attrs: { id: "people-heading" } });
    this.list = h("ul", { class: "people__groups", attrs: { id: "participants", "aria-labelledby": "people-heading" } });
    this.root = h("section", { class: "people", attrs: { "aria-labelledby": "people-heading" } }, this.heading, this.list);
    const later = () => this.schedule();
    client.addEventListener("participants", later);
    client.addEventListener("floor", later);
    client.addEventListener("interpretation", later);
    this.render();
  }

  /** Render on the next frame: many presence events in a burst cost one render. */
  schedule() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.render();
    });
  }

  /**
   * Render now.
   * @param {Participant[]} [participants] defaults to the client's list (tests pass their own)
   */
  render(participants = this.client.participants) {
    setText(this.heading, t("room.participants", { count: participants.length }));
    const groups = groupParticipants(participants);
    reconcile(
      this.list,
      groups,
      (g) => g.key,
      this.#groupElements,
      (g) => {
        const heading = h("h3", { class: "group__heading", attrs: { id: `group-${cssId(g.key)}` } });
        const list = h("ul", { class: "group__list", attrs: { "aria-labelledby": `group-${cssId(g.key)}` } });
        const element = h("li", { class: "group", attrs: { "data-group": g.key } }, heading, list);
        this.#groups.set(g.key, { element, heading, list, rows: new Map() });
        return element;
      },
      (element, g) => {
        const group = /** @type {Group} */ (this.#groups.get(g.key));
        setText(group.heading, `${g.label} (${g.people.length})`);
        reconcile(group.list, g.people, (p) => p.id, group.rows, (p) => this.#row(p), (row, p) => this.#update(row, p));
      },
    );
    for (const key of [...this.#groups.keys()]) if (!this.#groupElements.has(key)) this.#groups.delete(key);
  }

  /** @param {Participant} p */
  #row(p) {
    const name = h("span", { class: "person__name" });
    const badges = h("span", { class: "person__badges" });
    const affiliation = h("span", { class: "person__affiliation" });
    const actions = h("div", { class: "person__actions" });
    return h(
      "li",
      { class: "person", attrs: { "data-participant": p.id } },
      h("div", { class: "person__text" }, name, badges, affiliation),
      actions,
    );
  }

  /**
   * @param {HTMLElement} row
   * @param {Participant} p
   */
  #update(row, p) {
    const client = this.client;
    const floor = client.floor;
    const selfId = client.self?.id;
    const manage = client.mayManage;
    const speaking = floor?.speaker?.participantId === p.id;
    const mutedByChair = Boolean(floor?.muted.includes(p.id));
    const rights = Boolean(floor?.managers.includes(p.id));
    const open = this.#open === p.id;
    const pinned = this.pinned() === p.id;
    const booth = p.role === "interpreter" ? client.interpretation?.booths.find((b) => b.interpreters.includes(p.id)) ?? null : null;
    const boothLive = booth ? booth.live === p.id : false;
    const signature = JSON.stringify([p.name, p.role, p.organization, p.memberState, p.audio, p.video, speaking, mutedByChair, rights, manage, open, pinned, client.self?.role, booth?.language, boothLive, uiLanguage()]);
    if (row.dataset.sig === signature) return;
    row.dataset.sig = signature;
    row.dataset.role = p.role;
    row.classList.toggle("person--speaking", speaking);

    const [text, actions] = /** @type {HTMLElement[]} */ ([...row.children]);
    const [name, badges, affiliation] = /** @type {HTMLElement[]} */ ([...text.children]);
    setText(name, p.id === selfId ? `${p.name} (${t("room.you")})` : p.name);
    badges.replaceChildren(
      h("span", { class: "badge person__role", attrs: { "data-role": p.role }, text: msg(`role.${p.role}`) }),
      speaking ? h("span", { class: "badge badge--speaking", text: msg("people.speaking") }) : "",
      mutedByChair ? h("span", { class: "badge badge--muted", text: msg("people.mutedByChair") }) : "",
      booth ? h("span", { class: "badge", attrs: { lang: booth.language }, text: msg(`lang.${booth.language}`) }) : "",
      boothLive ? h("span", { class: "badge badge--live", text: msg("booths.live") }) : "",
      !mutedByChair && !p.audio && ["delegate", "secretariat", "chair"].includes(p.role) ? h("span", { class: "badge badge--quiet", text: msg("room.micMuted") }) : "",
      rights ? h("span", { class: "badge badge--rights", text: msg("people.rights") }) : "",
    );
    const where = p.memberState && p.organization ? p.organization : "";
    setText(affiliation, where);
    affiliation.hidden = !where;

    /** @type {Array<HTMLElement>} */
    const buttons = [];
    const other = p.id !== selfId;
    // Mute concerns those who can be heard on the floor (interpreters never are).
    if (manage && other && ["delegate", "secretariat"].includes(p.role)) {
      buttons.push(
        h("button", {
          class: "button button--small",
          attrs: { type: "button", "data-action": mutedByChair ? "unmute" : "mute", "aria-label": msg(mutedByChair ? "people.unmuteName" : "people.muteName", { name: p.name }) },
          text: msg(mutedByChair ? "people.unmute" : "people.mute"),
          on: { click: () => this.#act(() => client.muteParticipant(p.id, !mutedByChair)) },
        }),
      );
    }
    if (manage && other) {
      buttons.push(
        h("button", {
          class: "button button--small button--icon",
          attrs: { type: "button", "data-action": "more", "aria-expanded": String(open), "aria-label": msg("people.more", { name: p.name }) },
          text: "⋯",
          on: { click: () => this.#toggleMenu(p.id) },
        }),
      );
    } else if (other && p.video && this.onPin) {
      buttons.push(this.#pinButton(p, pinned));
    }
    actions.replaceChildren(...buttons);
    const menu = open && manage && other ? this.#menu(p, { speaking, rights, pinned }) : null;
    const existing = row.querySelector(".person__menu");
    existing?.remove();
    if (menu) row.append(menu);
  }

  /**
   * @param {Participant} p
   * @param {boolean} pinned
   */
  #pinButton(p, pinned) {
    return h("button", {
      class: "button button--small",
      attrs: { type: "button", "data-action": "pin", "aria-pressed": String(pinned), "aria-label": msg(pinned ? "people.unpinName" : "people.pinName", { name: p.name }) },
      text: msg(pinned ? "room.unpin" : "room.pin"),
      on: { click: () => this.#act(async () => this.onPin?.(pinned ? null : p.id)) },
    });
  }

  /**
   * The chair's actions on one participant, built when the menu opens.
   * @param {Participant} p
   * @param {{speaking: boolean, rights: boolean, pinned: boolean}} state
   */
  #menu(p, { speaking, rights, pinned }) {
    const client = this.client;
    /** @type {HTMLElement[]} */
    const items = [];
    if (["delegate", "secretariat", "chair"].includes(p.role) && !speaking) {
      items.push(
        h("button", {
          class: "button button--small button--primary",
          attrs: { type: "button", "data-action": "give-floor" },
          text: msg("people.giveFloor"),
          on: { click: () => this.#act(() => client.grantFloor({ participantId: p.id })) },
        }),
      );
    }
    if (p.role === "secretariat" && client.self?.role === "chair") {
      items.push(
        h("button", {
          class: "button button--small",
          attrs: { type: "button", "data-action": "rights", "aria-pressed": String(rights) },
          text: msg(rights ? "people.takeRights" : "people.giveRights"),
          on: { click: () => this.#act(() => client.setRights(p.id, !rights)) },
        }),
      );
    }
    if (p.video && this.onPin) items.push(this.#pinButton(p, pinned));
    if (p.role !== "chair") {
      items.push(
        h("button", {
          class: "button button--small button--danger",
          attrs: { type: "button", "data-action": "remove" },
          text: msg("people.remove"),
          on: { click: () => this.#remove(p) },
        }),
      );
    }
    return h(
      "div",
      {
        class: "person__menu",
        attrs: { role: "group", "aria-label": msg("people.actionsFor", { name: p.name }) },
        on: {
          keydown: (event) => {
            if (/** @type {KeyboardEvent} */ (event).key === "Escape") this.#toggleMenu(p.id); // close, focus "⋯"
          },
        },
      },
      ...items,
    );
  }

  /** @param {string} participantId */
  #toggleMenu(participantId) {
    this.#open = this.#open === participantId ? null : participantId;
    this.render();
    const row = this.list.querySelector(`[data-participant="${CSS.escape(participantId)}"]`);
    const target = this.#open === participantId ? row?.querySelector(".person__menu button") : row?.querySelector('[data-action="more"]');
    /** @type {HTMLElement | null | undefined} */ (target)?.focus();
  }

  /** @param {Participant} p */
  async #remove(p) {
    const confirmed = await confirmDialog({
      title: msg("people.removeTitle"),
      message: t("people.removeMessage", { name: p.name }),
      confirm: t("people.remove"),
      cancel: t("dialog.cancel"),
      danger: true,
    });
    if (!confirmed) return;
    this.#open = null;
    await this.#act(() => this.client.removeParticipant(p.id));
  }

  /** @param {() => Promise<unknown>} action */
  async #act(action) {
    try {
      await action();
    } catch (err) {
      this.onError(errorMessage(err));
    }
    this.render();
  }
}

/** @param {string} key */
function cssId(key) {
  return key.replace(/[^a-zA-Z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
