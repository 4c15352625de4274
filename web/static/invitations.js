/**
 * The secretariat's invitations panel (the chair's and the secretariat's room): the register
 * of personal invitations and shared links, a form for each, the new link with a copy
 * button, and revocation. It speaks the invitations HTTP API (docs/protocol.md,
 * "Invitations") with the page's own invite token; the server decides who may do what (only
 * the chair invites a chair), the panel only shows what it answers.
 */

import { h, replaceChildren } from "./dom.js";
import { t, msg, errorMessage } from "./i18n.js";
import { meetingApi } from "./api.js";

/** Roles the secretariat may invite; the chair may invite a chair too. */
const INVITABLE = ["delegate", "interpreter", "captioner", "observer", "secretariat"];

/**
 * @typedef {object} Invitation
 * @property {string} id
 * @property {"personal" | "shared"} kind
 * @property {string} role
 * @property {string} name
 * @property {string} organization
 * @property {string} memberState
 * @property {string} label
 * @property {string} createdAt
 * @property {string | null} expiresAt
 * @property {string | null} revokedAt
 * @property {string | null} removedAt
 */

export class InvitationsPanel {
  /** @type {Invitation[]} */
  #invitations = [];

  /**
   * @param {{token: string, meetingId: string, role: string}} options the page's token and
   *   meeting, the viewer's role (`chair` may also invite a chair)
   */
  constructor({ token, meetingId, role }) {
    this.token = token;
    this.meetingId = meetingId;
    const roles = role === "chair" ? ["chair", ...INVITABLE] : INVITABLE;
    const roleSelect = (/** @type {string} */ id) =>
      h("select", { attrs: { id } }, ...roles.map((r) => h("option", { attrs: { value: r }, text: msg(`role.${r}`) })));
    /** @param {string} id @param {import("./i18n.js").Message} label @param {HTMLElement} control */
    const field = (id, label, control) => h("div", { class: "field" }, h("label", { attrs: { for: id }, text: label }), control);

    this.error = h("p", { class: "notice notice--error", attrs: { id: "invitations-error", role: "alert", hidden: true } });
    this.status = h("p", { class: "panel__help", attrs: { id: "invitations-status", role: "status", "aria-live": "polite" } });

    this.name = h("input", { attrs: { id: "invite-name", type: "text", maxlength: 80, "aria-required": "true", autocomplete: "off" } });
    this.memberState = h("input", { attrs: { id: "invite-member-state", type: "text", maxlength: 80, autocomplete: "off" } });
    this.organization = h("input", { attrs: { id: "invite-organization", type: "text", maxlength: 120, autocomplete: "off" } });
    this.personalRole = roleSelect("invite-role");
    const personal = h(
      "form",
      { class: "invitations__form", attrs: { id: "invite-personal", "aria-labelledby": "invite-personal-heading" }, on: { submit: (e) => this.#submit(e, "personal") } },
      h("h3", { attrs: { id: "invite-personal-heading" }, text: msg("invitations.personal") }),
      field("invite-name", msg("invitations.name"), this.name),
      field("invite-member-state", msg("invitations.memberState"), this.memberState),
      field("invite-organization", msg("invitations.organization"), this.organization),
      field("invite-role", msg("invitations.role"), this.personalRole),
      h("button", { class: "button button--primary", attrs: { type: "submit", id: "invite-personal-submit" }, text: msg("invitations.createPersonal") }),
    );

    this.label = h("input", { attrs: { id: "link-label", type: "text", maxlength: 120, autocomplete: "off" } });
    this.sharedRole = roleSelect("link-role");
    const shared = h(
      "form",
      { class: "invitations__form", attrs: { id: "invite-shared", "aria-labelledby": "invite-shared-heading" }, on: { submit: (e) => this.#submit(e, "shared") } },
      h("h3", { attrs: { id: "invite-shared-heading" }, text: msg("invitations.shared") }),
      field("link-label", msg("invitations.label"), this.label),
      field("link-role", msg("invitations.role"), this.sharedRole),
      h("button", { class: "button button--primary", attrs: { type: "submit", id: "invite-shared-submit" }, text: msg("invitations.createShared") }),
    );

    this.newLink = h("input", { attrs: { id: "invitation-link", type: "text", readonly: true, "aria-describedby": "invitation-link-help" } });
    this.copyButton = h("button", { class: "button button--small", attrs: { type: "button", id: "invitation-copy" }, text: msg("invitations.copy"), on: { click: () => void this.#copy() } });
    this.linkBox = h(
      "div",
      { class: "field", attrs: { id: "invitation-new", hidden: true } },
      h("label", { attrs: { for: "invitation-link" }, text: msg("invitations.newLink") }),
      h("div", { class: "button-row" }, this.newLink, this.copyButton),
      h("p", { class: "panel__help", attrs: { id: "invitation-link-help" }, text: msg("invitations.linkOnce") }),
    );

    this.table = h("tbody", { attrs: { id: "invitations-rows" } });
    // folded by default (the room's side is busy): the register is fetched when opened
    this.root = h(
      "details",
      { class: "panel invitations", attrs: { id: "invitations" }, on: { toggle: () => this.root.open && void this.refresh() } },
      h("summary", {}, h("h2", { class: "panel__heading invitations__heading", attrs: { id: "invitations-heading" }, text: msg("invitations.heading") })),
      this.error,
      personal,
      shared,
      this.linkBox,
      this.status,
      h(
        "table",
        { class: "invitations__table", attrs: { "aria-labelledby": "invitations-heading" } },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["invitations.who", "invitations.role", "invitations.kind", "invitations.expires", "invitations.state", "invitations.actions"].map((key) =>
              h("th", { attrs: { scope: "col" }, text: msg(key) }),
            ),
          ),
        ),
        this.table,
      ),
    );
  }

  async refresh() {
    try {
      const body = await this.#api("/invitations");
      this.#invitations = Array.isArray(body.invitations) ? body.invitations : [];
      this.#render();
    } catch (err) {
      this.#fail(err);
    }
  }

  /** @returns {Invitation[]} */
  get invitations() {
    return [...this.#invitations];
  }

  /**
   * @param {Event} event
   * @param {"personal" | "shared"} kind
   */
  async #submit(event, kind) {
    event.preventDefault();
    this.error.hidden = true;
    /** @type {Record<string, string>} */
    let body;
    if (kind === "personal") {
      body = { name: this.name.value.trim(), role: this.personalRole.value };
      if (this.memberState.value.trim()) body.memberState = this.memberState.value.trim();
      if (this.organization.value.trim()) body.organization = this.organization.value.trim();
      if (!body.name) {
        this.#showError(t("invitations.nameNeeded"));
        this.name.focus();
        return;
      }
    } else {
      body = { role: this.sharedRole.value };
      if (this.label.value.trim()) body.label = this.label.value.trim();
    }
    try {
      const reply = await this.#api(kind === "personal" ? "/invitations" : "/links", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      this.newLink.value = String(reply.link ?? "");
      this.linkBox.hidden = false;
      this.status.textContent = t("invitations.created", { who: describe(reply.invitation) });
      if (kind === "personal") for (const input of [this.name, this.memberState, this.organization]) input.value = "";
      else this.label.value = "";
      await this.refresh();
      this.newLink.focus();
      this.newLink.select();
    } catch (err) {
      this.#fail(err);
    }
  }

  async #copy() {
    const link = this.newLink.value;
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      // no clipboard permission (plain http, an old browser): select it for Ctrl+C
      this.newLink.focus();
      this.newLink.select();
      this.status.textContent = t("invitations.copyByHand");
      return;
    }
    this.status.textContent = t("invitations.copied");
  }

  /** @param {Invitation} invitation */
  async #revoke(invitation) {
    try {
      await this.#api(`/invitations/${encodeURIComponent(invitation.id)}/revoke`, { method: "POST" });
      this.status.textContent = t("invitations.revoked", { who: describe(invitation) });
      await this.refresh();
    } catch (err) {
      this.#fail(err);
    }
  }

  #render() {
    const rows = this.#invitations.map((invitation) => {
      const state = invitation.revokedAt ? "revoked" : invitation.removedAt ? "removed" : "active";
      const revoke = h("button", {
        class: "button button--small",
        attrs: { type: "button", "data-invitation": invitation.id, "aria-label": t("invitations.revokeWho", { who: describe(invitation) }), disabled: state === "revoked" },
        text: msg("invitations.revoke"),
        on: { click: () => void this.#revoke(invitation) },
      });
      return h(
        "tr",
        { attrs: { "data-invitation": invitation.id, "data-state": state } },
        h("th", { attrs: { scope: "row" }, text: describe(invitation) }),
        h("td", { text: msg(`role.${invitation.role}`) }),
        h("td", { text: msg(`invitations.kind.${invitation.kind}`) }),
        h("td", { text: invitation.expiresAt ? new Date(invitation.expiresAt).toLocaleString(document.documentElement.lang || undefined) : "" }),
        h("td", { text: msg(`invitations.state.${state}`) }),
        h("td", {}, revoke),
      );
    });
    if (rows.length === 0) {
      rows.push(h("tr", {}, h("td", { attrs: { colspan: 6 }, text: msg("invitations.none") })));
    }
    replaceChildren(this.table, ...rows);
  }

  /** @param {unknown} err */
  #fail(err) {
    this.#showError(errorMessage(err));
  }

  /** @param {string} text */
  #showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /**
   * @param {string} path under /api/meetings/<id>
   * @param {RequestInit} [init]
   */
  async #api(path, init = {}) {
    return meetingApi(this.meetingId, this.token, path, init);
  }
}

/**
 * A person's name (and member state), or a shared link's label.
 * @param {Invitation} invitation
 */
function describe(invitation) {
  if (invitation.kind === "personal") {
    return invitation.memberState ? `${invitation.name} (${invitation.memberState})` : invitation.name;
  }
  return invitation.label || t("invitations.unlabelled");
}
