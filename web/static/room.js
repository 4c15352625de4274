// @ts-check
/**
 * The meeting room: one tile per video slot labelled with who feeds it, a hidden audio element
 * per audio slot, the own preview, mic/camera toggles, the participant list (role,
 * organization, member state), a Leave button. The connection indicator in the top bar is
 * `ConnectionIndicator`. Renders and binds only; all signaling goes through `MeetingClient`.
 */

import { h, replaceChildren } from "./dom.js";
import { t, errorMessage } from "./i18n.js";

/** Roles that publish media (docs/protocol.md: observers publish nothing, captioners text). */
const PUBLISHING_ROLES = new Set(["chair", "secretariat", "delegate", "interpreter"]);

/**
 * One line in the top bar per connection: signaling, sending (publish), receiving (subscribe).
 */
export class ConnectionIndicator {
  /**
   * @param {HTMLElement} root
   * @param {import("./protocol.js").MeetingClient} client
   */
  constructor(root, client) {
    this.root = root;
    this.client = client;
    /** @type {Record<string, HTMLElement>} */
    this.items = {};
    const names = /** @type {const} */ (["signaling", "publish", "subscribe"]);
    replaceChildren(
      root,
      ...names.map((which) => {
        const item = h("span", { class: "conn__item", attrs: { "data-which": which } });
        this.items[which] = item;
        return item;
      }),
    );
    client.addEventListener("connectionstate", () => this.render());
    this.render();
  }

  render() {
    for (const [which, state] of Object.entries(this.client.connectionStates)) {
      const item = this.items[which];
      item.dataset.state = state;
      item.textContent = `${t(`conn.${which}`)}: ${t(`conn.${state}`)}`;
      item.hidden = which !== "signaling" && state === "new";
    }
  }
}

/**
 * @typedef {object} RoomOptions
 * @property {import("./protocol.js").MeetingClient} client joined already
 * @property {MediaStream} stream own microphone/camera (may have no tracks)
 * @property {() => void} onLeft called after leaving, or when the connection is lost
 */

export class RoomView {
  /** mid → tile parts @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement, label: HTMLElement}>} */
  #videoTiles = new Map();
  /** mid → hidden audio element @type {Map<string, HTMLAudioElement>} */
  #audios = new Map();
  /** @type {string | null} */
  #pinned = null;

  /**
   * @param {HTMLElement} root
   * @param {RoomOptions} options
   */
  constructor(root, { client, stream, onLeft }) {
    this.root = root;
    this.client = client;
    this.stream = stream;
    this.onLeft = onLeft;
    const self = client.self;
    this.canPublish = Boolean(self && PUBLISHING_ROLES.has(self.role)) && stream.getTracks().length > 0;

    this.selfVideo = h("video", { class: "tile__video tile__video--mirror", props: { muted: true, autoplay: true, playsInline: true } });
    this.selfLabel = h("span", { class: "tile__label" });
    this.selfTile = h("figure", { class: "tile tile--self", attrs: { "data-participant": self?.id ?? "" } }, this.selfVideo, this.selfLabel);
    this.grid = h("section", { class: "grid", attrs: { id: "video-grid", "aria-label": t("room.videoArea") } }, this.selfTile);
    this.audioBox = h("div", { class: "audio-sinks", attrs: { hidden: true } });
    this.notice = h("p", { class: "notice notice--error", attrs: { id: "room-error", role: "alert", hidden: true } });
    this.listHeading = h("h2", { class: "people__heading" });
    this.list = h("ul", { class: "people__list", attrs: { id: "participants" } });
    this.micButton = h("button", { class: "button button--toggle", attrs: { id: "toggle-mic", type: "button" }, on: { click: () => this.#toggle("audio") } });
    this.cameraButton = h("button", { class: "button button--toggle", attrs: { id: "toggle-camera", type: "button" }, on: { click: () => this.#toggle("video") } });
    this.leaveButton = h("button", { class: "button button--danger", attrs: { id: "leave", type: "button" }, text: t("room.leave"), on: { click: () => this.#leave() } });
  }

  /** Render, then publish (if the role may) and subscribe. */
  async start() {
    const { client } = this;
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "room" },
        h("div", { class: "room__stage" }, this.notice, this.grid, this.audioBox),
        h("aside", { class: "people", attrs: { "aria-labelledby": "people-heading" } }, this.listHeading, this.list),
        h("nav", { class: "controls", attrs: { "aria-label": t("room.controls") } }, this.micButton, this.cameraButton, this.leaveButton),
      ),
    );
    this.listHeading.id = "people-heading";
    this.selfVideo.srcObject = this.stream.getVideoTracks().length ? this.stream : null;

    client.addEventListener("participants", () => this.#renderParticipants());
    client.addEventListener("slots", (e) => this.#renderSlots(/** @type {CustomEvent} */ (e).detail.slots));
    client.addEventListener("slot", (e) => this.#renderSlot(/** @type {CustomEvent} */ (e).detail.slot));
    client.addEventListener("disconnected", () => {
      this.#showError(t("room.lost"));
      this.notice.append(
        " ",
        h("button", { class: "button button--primary", attrs: { type: "button", id: "rejoin" }, text: t("room.rejoin"), on: { click: () => location.reload() } }),
      );
      this.#stopLocal();
      for (const button of [this.micButton, this.cameraButton, this.leaveButton]) button.disabled = true;
      this.onLeft();
    });
    this.#renderParticipants();
    this.#renderControls();

    const tasks = [];
    if (this.canPublish) {
      // Once publishing, tell the others what we send (a participant joins with both off).
      const audio = this.stream.getAudioTracks().some((track) => track.enabled);
      const video = this.stream.getVideoTracks().some((track) => track.enabled);
      tasks.push(client.publish(this.stream).then(() => client.setMediaState({ audio, video })));
    }
    tasks.push(client.subscribe());
    const results = await Promise.allSettled(tasks);
    const failure = results.find((r) => r.status === "rejected");
    if (failure) this.#showError(errorMessage(/** @type {PromiseRejectedResult} */ (failure).reason));
  }

  #renderControls() {
    const self = this.client.self;
    const audioOn = Boolean(self?.audio) && this.stream.getAudioTracks().length > 0;
    const videoOn = Boolean(self?.video) && this.stream.getVideoTracks().length > 0;
    this.micButton.textContent = t(audioOn ? "room.mic.on" : "room.mic.off");
    this.micButton.setAttribute("aria-pressed", String(!audioOn));
    this.micButton.disabled = !this.canPublish || this.stream.getAudioTracks().length === 0;
    this.cameraButton.textContent = t(videoOn ? "room.camera.on" : "room.camera.off");
    this.cameraButton.setAttribute("aria-pressed", String(!videoOn));
    this.cameraButton.disabled = !this.canPublish || this.stream.getVideoTracks().length === 0;
    this.selfTile.classList.toggle("tile--camera-off", !videoOn);
    this.selfLabel.textContent = `${t("room.you")} · ${self?.name ?? ""}${audioOn ? "" : ` · ${t("room.micMuted")}`}`;
  }

  /** @param {"audio" | "video"} kind */
  async #toggle(kind) {
    const self = this.client.self;
    if (!self) return;
    try {
      await this.client.setMediaState({ [kind]: !self[kind] });
    } catch (err) {
      this.#showError(errorMessage(err));
    }
    this.#renderControls();
  }

  async #leave() {
    this.leaveButton.disabled = true;
    try {
      await this.client.leave();
    } catch {
      // leaving anyway: the server frees everything on disconnect
    }
    this.#stopLocal();
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "left" },
        h("p", { class: "notice", attrs: { id: "left-notice", role: "status" }, text: t("room.left") }),
        h("button", { class: "button button--primary", attrs: { type: "button", id: "rejoin" }, text: t("room.rejoin"), on: { click: () => location.reload() } }),
      ),
    );
    this.onLeft();
  }

  #stopLocal() {
    for (const track of this.stream.getTracks()) track.stop();
    for (const audio of this.#audios.values()) audio.srcObject = null;
  }

  /** @param {string} text */
  #showError(text) {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  /** @param {import("./protocol.js").SlotView[]} slots */
  #renderSlots(slots) {
    for (const slot of slots) this.#renderSlot(slot);
  }

  /** @param {import("./protocol.js").SlotView} slot */
  #renderSlot(slot) {
    if (!slot.track) return;
    if (slot.kind === "audio") {
      let audio = this.#audios.get(slot.mid);
      if (!audio) {
        audio = h("audio", { attrs: { "data-mid": slot.mid }, props: { autoplay: true } });
        audio.srcObject = new MediaStream([slot.track]);
        this.audioBox.append(audio);
        this.#audios.set(slot.mid, audio);
        audio.play().catch(() => {}); // autoplay may wait for a gesture; Join was one
      }
      audio.dataset.participant = slot.participantId ?? "";
      return;
    }
    let parts = this.#videoTiles.get(slot.mid);
    if (!parts) {
      const video = h("video", { class: "tile__video", props: { muted: true, autoplay: true, playsInline: true } });
      video.srcObject = new MediaStream([slot.track]);
      const label = h("figcaption", { class: "tile__label" });
      const tile = h("figure", { class: "tile", attrs: { "data-mid": slot.mid } }, video, label);
      this.grid.append(tile);
      parts = { tile, video, label };
      this.#videoTiles.set(slot.mid, parts);
    }
    const { tile, label } = parts;
    const who = slot.participant;
    tile.hidden = !slot.participantId;
    tile.dataset.participant = slot.participantId ?? "";
    tile.classList.toggle("tile--camera-off", Boolean(who && !who.video));
    tile.classList.toggle("tile--pinned", Boolean(slot.participantId && slot.participantId === this.#pinned));
    const affiliation = who ? [who.memberState, who.organization].filter(Boolean).join(", ") : "";
    label.replaceChildren(
      h("strong", { text: who?.name ?? (slot.participantId ? "…" : t("room.emptySlot")) }),
      affiliation ? h("span", { class: "tile__affiliation", text: ` · ${affiliation}` }) : "",
      who && !who.audio ? h("span", { class: "tile__state", text: ` · ${t("room.micMuted")}` }) : "",
    );
  }

  #renderParticipants() {
    const people = this.client.participants;
    const selfId = this.client.self?.id;
    this.listHeading.textContent = t("room.participants", { count: people.length });
    people.sort((a, b) => Number(b.id === selfId) - Number(a.id === selfId) || a.name.localeCompare(b.name));
    replaceChildren(
      this.list,
      ...people.map((p) => {
        const affiliation = [p.memberState, p.organization].filter(Boolean).join(", ");
        const states = [!p.audio && t("room.micMuted"), !p.video && t("room.cameraOff")].filter(Boolean).join(", ");
        const pinned = this.#pinned === p.id;
        return h(
          "li",
          { class: "person", attrs: { "data-participant": p.id, "data-role": p.role } },
          h(
            "div",
            { class: "person__text" },
            h("span", { class: "person__name", text: p.id === selfId ? `${p.name} (${t("room.you")})` : p.name }),
            h("span", { class: "person__role", text: t(`role.${p.role}`) }),
            affiliation ? h("span", { class: "person__affiliation", text: affiliation }) : null,
            states ? h("span", { class: "person__state", text: states }) : null,
          ),
          p.id !== selfId && p.video
            ? h("button", {
                class: "button button--small",
                attrs: { type: "button", "aria-pressed": String(pinned) },
                text: t(pinned ? "room.unpin" : "room.pin"),
                on: { click: () => this.#pin(pinned ? null : p.id) },
              })
            : null,
        );
      }),
    );
    this.#renderControls();
    for (const slot of this.client.slots) if (slot.kind === "video") this.#renderSlot(slot);
  }

  /** @param {string | null} participantId */
  async #pin(participantId) {
    try {
      await this.client.pin(participantId);
      this.#pinned = participantId;
    } catch (err) {
      this.#showError(errorMessage(err));
    }
    this.#renderParticipants();
  }
}
