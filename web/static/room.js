// @ts-check
/**
 * The meeting room: the floor bar (who speaks, time left), one tile per video slot labelled
 * with who feeds it (tile.js: the video, or the participant's initials when there is no
 * picture, and the connection quality), the audio mixer (seats and the interpretation
 * channel), the own preview, mic/camera toggles, the reception bar (own connection quality,
 * "Low bandwidth", the debug overlay, also on the `D` key), the language selector, the
 * participant list, a Leave button (confirmed); and by role: the delegate's floor panel and
 * show of hands, the chair's console, the interpreter's console. The bottom bar holds what a
 * thumb must reach on a phone: the floor (request, place, yield), the microphone and camera
 * (for roles that send media: observers and captioners get none), the listening language, and
 * Leave apart from them, and "Share screen" for whoever holds the presenter right
 * (screenshare.js); the screen slot is the large tile first in the grid. "Devices" picks the
 * microphone and camera (switched in place, devices.js) and the speaker, and plays a test
 * tone; a device unplugged falls back to the default one. The debug overlay
 * is offered to the chair and the secretariat, or with `?debug=1`. A change of UI language
 * re-renders every part in place (`rostrum:uilanguage`). The connection indicator in the top
 * bar is `ConnectionIndicator`. Renders and binds only; all signaling goes through
 * `MeetingClient`.
 */

import { h, replaceChildren, confirmDialog, setText } from "./dom.js";
import { t, msg, errorMessage, languageName, UI_LANGUAGE_EVENT } from "./i18n.js";
import { AudioMixer } from "./mixer.js";
import { QualityMonitor } from "./quality.js";
import { ReceptionBar, debugAllowed } from "./reception.js";
import { VideoTile } from "./tile.js";
import { FloorBar, FloorPanel, HandsPanel, REQUESTING_ROLES } from "./floor.js";
import { ListenPanel } from "./listen.js";
import { ParticipantList } from "./people.js";
import { ChairConsole } from "./chair.js";
import { videoCodecSupported } from "./protocol.js";
import { InterpreterConsole } from "./interpreter.js";
import { CaptionFeed, CaptionDisplay } from "./captions.js";
import { CaptionerConsole } from "./captioner.js";
import { captionLinks } from "./captioner-links.js";
import { ChatFeed, ChatPanel } from "./chat.js";
import { recordLink } from "./record-link.js";
import { DocumentViewer } from "./documents.js";
import { ScreenShareControl } from "./screenshare.js";
import { DevicesDialog, DeviceWatcher, rememberedSpeaker, canChooseOutput } from "./devices.js";
import { ReconnectNotice } from "./reconnect_notice.js";
import { InvitationsPanel } from "./invitations.js";

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
    window.addEventListener(UI_LANGUAGE_EVENT, () => this.render());
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
 * @property {(why: "removed" | "ended", detail: any) => void} [onEnded] the chair removed us or
 *   ended the meeting
 */

/**
 * Layout of the room by what the participant does there.
 * @param {string} role
 */
function layoutOf(role) {
  if (role === "chair" || role === "secretariat") return "manager";
  if (role === "interpreter") return "interpreter";
  if (role === "delegate") return "delegate";
  return "listener";
}

/**
 * Whether a key press is meant for a text field (so it is no shortcut).
 * @param {EventTarget | null} target
 */
function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || target.closest("input, textarea, select") !== null);
}

export class RoomView {
  /** mid → tile @type {Map<string, VideoTile>} */
  #videoTiles = new Map();
  /** @type {string | null} */
  #pinned = null;
  /** The room was ended by the chair (removed, meeting ended): no "connection lost". */
  #ended = false;
  /** @type {Array<{stop: () => void}>} */
  #stoppable = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #noticeTimer = undefined;
  #statusCount = 0;
  /** Publishing and sending the first media state (the toggles wait for it). */
  #publishing = true;

  /**
   * @param {HTMLElement} root
   * @param {RoomOptions} options
   */
  constructor(root, { client, stream, onLeft, onEnded }) {
    this.root = root;
    this.client = client;
    this.onLeft = onLeft;
    this.onEnded = onEnded ?? (() => {});
    const self = client.self;
    /** @type {string} */
    const role = self?.role ?? "observer";
    this.layout = layoutOf(role);
    if (role === "interpreter") {
      // An interpreter publishes the microphone only, closed until they go live.
      for (const track of stream.getVideoTracks()) track.stop();
      stream = new MediaStream(stream.getAudioTracks());
      for (const track of stream.getAudioTracks()) track.enabled = false;
    }
    this.stream = stream;
    /** The role sends media at all (observers and captioners never do: no device controls). */
    this.publishes = PUBLISHING_ROLES.has(role);
    this.canPublish = Boolean(self && this.publishes) && stream.getTracks().length > 0;

    this.selfVideo = h("video", { class: "tile__video tile__video--mirror", props: { muted: true, autoplay: true, playsInline: true } });
    this.selfLabel = h("span", { class: "tile__label" });
    this.selfTile = h("figure", { class: "tile tile--self", attrs: { "data-participant": self?.id ?? "" } }, this.selfVideo, this.selfLabel);
    this.selfTile.hidden = stream.getVideoTracks().length === 0;
    this.grid = h("section", { class: "grid", attrs: { id: "video-grid", "aria-label": msg("room.videoArea") } }, this.selfTile);
    this.audioBox = h("div", { class: "audio-sinks", attrs: { hidden: true } });
    this.notice = h("p", { class: "notice notice--error", attrs: { id: "room-error", role: "alert", hidden: true } });
    this.status = h("p", { class: "notice notice--status", attrs: { id: "room-status", role: "status", "aria-live": "polite", hidden: true } });
    this.reconnect = h("p", { class: "notice notice--status", attrs: { id: "room-reconnect", hidden: true } });
    new ReconnectNotice(this.reconnect, client);
    this.micButton = h("button", { class: "button button--toggle", attrs: { id: "toggle-mic", type: "button" }, on: { click: () => this.#toggle("audio") } });
    this.cameraButton = h("button", { class: "button button--toggle", attrs: { id: "toggle-camera", type: "button" }, on: { click: () => this.#toggle("video") } });
    this.leaveButton = h("button", { class: "button button--leave", attrs: { id: "leave", type: "button" }, text: msg("room.leave"), on: { click: () => this.#confirmLeave() } });
    this.devicesButton = h("button", { class: "button button--small", attrs: { id: "devices", type: "button", "aria-haspopup": "dialog" }, text: msg("room.devices"), on: { click: () => this.#devices() } });
    if (!this.publishes) {
      this.micButton.hidden = true;
      this.cameraButton.hidden = true;
    }
    if (role === "interpreter") {
      // The console's microphone key is the interpreter's only microphone control.
      this.micButton.hidden = true;
      this.cameraButton.hidden = true;
    }

    const onError = (/** @type {string | import("./i18n.js").Message} */ text, /** @type {"error" | "status"} */ kind = "error") => this.#notify(text, kind);
    this.mixer = new AudioMixer({ sinkParent: this.audioBox });
    this.floorBar = new FloorBar(client);
    this.people = new ParticipantList(client, {
      onError,
      onPin: (participantId) => this.#pin(participantId),
      pinned: () => this.#pinned,
    });
    this.listen = new ListenPanel(client, this.mixer, { onError, initialChannel: self?.language });
    this.floorPanel = REQUESTING_ROLES.has(role) && role !== "chair" ? new FloorPanel(client, { onError }) : null;
    // The chair's console has its own show of hands; interpreters do not answer one.
    this.hands = this.layout === "manager" || this.layout === "interpreter" ? null : new HandsPanel(client, { onError });
    this.console = this.layout === "manager" ? new ChairConsole(client, { onError }) : null;
    this.interpreter = role === "interpreter" ? new InterpreterConsole(client, this.mixer, { onError, micTrack: stream.getAudioTracks()[0] }) : null;
    this.captionFeed = new CaptionFeed(client);
    this.captions = new CaptionDisplay(this.captionFeed, { onError });
    this.captioner = role === "captioner" ? new CaptionerConsole(client, this.captionFeed, this.captions, { onError }) : null;
    this.chat = new ChatPanel(client, new ChatFeed(client), { onError });
    this.quality = new QualityMonitor(client);
    this.reception = new ReceptionBar(client, {
      onError,
      debugAllowed: debugAllowed(role),
      extra: this.devicesButton,
      onLowBandwidth: () => this.#renderTiles(),
      onDebug: (on) => {
        this.grid.dataset.debug = String(on);
        for (const tile of this.#videoTiles.values()) tile.showDebug(on);
      },
    });
    this.documents = new DocumentViewer(client, { onError }); // the shared document screen
    // switching and falling back devices (devices.js), for the roles that send media
    this.devices = this.canPublish
      ? new DeviceWatcher(client, { onNotice: onError, onTrack: () => this.#showSelf() })
      : null;
    // "Share screen": for the presenting roles (the button shows while they hold the right)
    this.screenShare = this.publishes && role !== "interpreter" ? new ScreenShareControl(client, { onNotice: onError }) : null;
    this.#stoppable.push(this.floorBar, this.quality, this.documents);
    for (const part of [this.floorPanel, this.console, this.interpreter]) if (part) this.#stoppable.push(part);
  }

  /** The UI language changed: every part writes its texts again. */
  #onLanguage = () => {
    this.floorBar.forgetAnnouncement();
    for (const part of [this.floorBar, this.floorPanel, this.hands, this.console, this.console?.booths, this.interpreter, this.listen]) part?.render();
    this.people.render();
    this.#renderControls();
    this.#renderTiles();
  };

  /**
   * The tab is closed or navigated away (not kept in the back/forward cache): we leave at
   * once, not after the resume grace (protocol.js leaveOnClose).
   * @param {PageTransitionEvent} event
   */
  #onPageHide = (event) => {
    if (event.persisted || this.#ended) return;
    this.client.leaveOnClose();
  };

  /** The `D` key shows or hides the debug overlay. @param {KeyboardEvent} event */
  #onKey = (event) => {
    if (event.key !== "d" && event.key !== "D") return;
    if (!this.reception.debugAllowed) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typingIn(event.target)) return;
    event.preventDefault();
    this.reception.setDebug(!this.reception.debug);
  };

  /** Render, then publish (if the role may) and subscribe. */
  async start() {
    const { client } = this;
    const stage = h("div", { class: "room__stage" }, this.grid, this.audioBox);
    /** @type {Array<HTMLElement | null>} */
    const main = [this.floorBar.root, this.notice, this.reconnect, this.status];
    /** @type {Array<HTMLElement | null>} */
    const side = [this.floorPanel?.root ?? null, this.hands?.root ?? null];
    // The chair sees the speaker first (at 1366x768 the console would push the video below
    // the fold), then the console.
    if (this.layout === "manager") main.push(stage, /** @type {ChairConsole} */ (this.console).root);
    else if (this.layout === "interpreter") {
      // The console first; the speakers' video beside it (under it on a phone).
      main.push(/** @type {InterpreterConsole} */ (this.interpreter).root);
      side.unshift(stage);
      stage.classList.add("room__stage--side");
    } else main.push(stage);
    // captions under the floor bar: on screen without scrolling, over no picture
    main.splice(1, 0, this.captions.root);
    main.push(this.captioner?.root ?? null);
    main.push(this.documents.root, this.reception.root, this.listen.root);
    side.push(this.people.root, this.chat.root, recordLink(client), captionLinks(client, this.captionFeed, { onError: (text) => this.#notify(text, "error") }));
    const role = client.self?.role;
    if (role === "chair" || role === "secretariat") {
      // the secretariat's register of invitations and shared links (invitations.js)
      side.push(new InvitationsPanel({ token: this.documents.token, meetingId: this.documents.meetingId, role }).root);
    }
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "room", attrs: { "data-layout": this.layout } },
        h("div", { class: "room__main" }, ...main),
        h("aside", { class: "room__side", attrs: { "aria-label": msg("room.side") } }, ...side),
        h(
          "nav",
          { class: "controls", attrs: { "aria-label": msg("room.controls") } },
          this.floorPanel?.quickButton ?? null,
          this.micButton,
          this.cameraButton,
          this.screenShare?.button ?? null,
          this.listen.quickSelect,
          this.leaveButton,
        ),
      ),
    );
    this.selfVideo.srcObject = this.stream.getVideoTracks().length ? this.stream : null;
    // The room starts at its top (the floor bar), not where the join form was scrolled to.
    window.scrollTo(0, 0);

    client.addEventListener("participants", () => this.#renderParticipants());
    client.addEventListener("floor", () => this.#renderTiles());
    client.addEventListener("slots", (e) => this.#renderSlots(/** @type {CustomEvent} */ (e).detail.slots));
    client.addEventListener("slot", (e) => this.#renderSlot(/** @type {CustomEvent} */ (e).detail.slot));
    client.addEventListener("screenshare", (e) => {
      // who shares a screen, told to every role (the sharer's own notices: screenshare.js)
      const { participantId, name, mine } = /** @type {CustomEvent} */ (e).detail;
      if (participantId && !mine && name) this.#notify(t("media.someoneShares", { name }), "status");
    });
    // After a resume the subscription is new: its tracks replace the old tiles' (reconnect.js).
    // So after a media restart (the meeting's media server moved: `mediarestart`).
    for (const type of ["reconnecting", "mediarestart"]) {
      client.addEventListener(type, () => {
        for (const tile of this.#videoTiles.values()) tile.root.remove();
        this.#videoTiles.clear();
      });
    }
    client.addEventListener("removed", (e) => this.#end("removed", /** @type {CustomEvent} */ (e).detail));
    client.addEventListener("meeting-ended", (e) => this.#end("ended", /** @type {CustomEvent} */ (e).detail));
    client.addEventListener("disconnected", (e) => {
      if (this.#ended || /** @type {CustomEvent} */ (e).detail?.ended) return; // the end screen says why
      this.#showError(""); // the text in a span of its own: a language switch keeps the button
      this.notice.append(
        h("span", { text: msg("room.lost") }),
        " ",
        h("button", { class: "button button--primary", attrs: { type: "button", id: "rejoin" }, text: msg("room.rejoin"), on: { click: () => location.reload() } }),
      );
      this.#stopLocal();
      for (const button of [this.micButton, this.cameraButton, this.leaveButton]) button.disabled = true;
      this.onLeft();
    });
    this.quality.addEventListener("sample", (e) => this.#showSample(/** @type {CustomEvent} */ (e).detail));
    document.addEventListener("keydown", this.#onKey);
    window.addEventListener(UI_LANGUAGE_EVENT, this.#onLanguage);
    window.addEventListener("pagehide", this.#onPageHide);
    this.#renderParticipants();
    this.#renderControls();
    void this.captions.start();
    void this.chat.start();
    // The remembered "Low bandwidth" choice: the client sends it as soon as it is subscribed.
    await this.reception.restore();
    // The remembered speaker, where the browser can choose one.
    const speaker = rememberedSpeaker();
    if (speaker && canChooseOutput()) this.mixer.setOutputDevice(speaker).catch(() => {});
    this.documents.start();
    this.screenShare?.start(); // after the documents viewer: it listens on its namespace

    const codec = client.meeting?.videoCodec;
    if (!videoCodecSupported(codec)) {
      setText(this.status, msg("trust.videoCodecMissing", { codec: codec ?? "" }));
      this.status.hidden = false;
    }
    const tasks = [];
    if (this.canPublish) {
      // Once publishing, tell the others what we send (a participant joins with both off).
      const audio = this.stream.getAudioTracks().some((track) => track.enabled);
      const video = this.stream.getVideoTracks().some((track) => track.enabled);
      tasks.push(
        client
          .publish(this.stream)
          .then(() => client.setMediaState({ audio, video }))
          .then(() => this.devices?.start())
          .finally(() => {
            this.#publishing = false;
            this.#renderControls();
            this.screenShare?.render();
          }),
      );
    }
    tasks.push(
      client.subscribe().then(() => {
        this.quality.start();
        return this.listen.start();
      }),
    );
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
    // Until the first media state is sent, a toggle would be overwritten by it: wait.
    this.micButton.disabled = !this.canPublish || this.#publishing || this.stream.getAudioTracks().length === 0;
    this.cameraButton.textContent = t(videoOn ? "room.camera.on" : "room.camera.off");
    this.cameraButton.setAttribute("aria-pressed", String(!videoOn));
    this.cameraButton.disabled = !this.canPublish || this.#publishing || this.stream.getVideoTracks().length === 0;
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

  /** Leave only once confirmed: an interpreter on air must not drop out with one tap. */
  async #confirmLeave() {
    const booth = this.client.interpretation?.booths.find((b) => b.live === this.client.self?.id);
    const live = booth ? ` ${t("room.leaveLive", { language: languageName(booth.language) })}` : "";
    const confirmed = await confirmDialog({
      title: t("room.leaveTitle"),
      message: `${t("room.leaveMessage")}${live}`,
      confirm: t("room.leave"),
      cancel: t("dialog.cancel"),
      danger: true,
    });
    if (confirmed) await this.#leave();
  }

  /** The microphone, the camera, the speaker (output device) and a test tone through it. */
  async #devices() {
    await new DevicesDialog(this.mixer, this.devices).open();
  }

  /** The own preview (and an interpreter's microphone meter) after a device changed. */
  #showSelf() {
    this.selfVideo.srcObject = this.stream.getVideoTracks().length ? this.stream : null;
    this.selfVideo.play?.().catch(() => {});
    const mic = this.stream.getAudioTracks()[0];
    if (this.interpreter && mic) this.interpreter.micMeter.start(mic, this.mixer.context);
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
        h("p", { class: "notice", attrs: { id: "left-notice", role: "status" }, text: msg("room.left") }),
        h("button", { class: "button button--primary", attrs: { type: "button", id: "rejoin" }, text: msg("room.rejoin"), on: { click: () => location.reload() } }),
      ),
    );
    this.onLeft();
  }

  /**
   * The chair removed us or ended the meeting: a screen that says so, and nothing left running.
   * @param {"removed" | "ended"} why
   * @param {any} detail
   */
  #end(why, detail) {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopLocal();
    this.client.close();
    const text = why === "removed" ? t("room.removed") : detail?.by ? t("room.endedBy", { name: detail.by }) : t("room.ended");
    replaceChildren(
      this.root,
      h(
        "div",
        { class: "left" },
        h("h2", { class: "left__heading", attrs: { id: "end-heading" }, text: msg(why === "removed" ? "room.removedHeading" : "room.endedHeading") }),
        h("p", { class: "notice", attrs: { id: why === "removed" ? "removed-notice" : "ended-notice", role: "alert" }, text }),
      ),
    );
    this.onEnded(why, detail);
  }

  #stopLocal() {
    document.removeEventListener("keydown", this.#onKey);
    window.removeEventListener(UI_LANGUAGE_EVENT, this.#onLanguage);
    window.removeEventListener("pagehide", this.#onPageHide);
    for (const track of this.stream.getTracks()) track.stop();
    this.screenShare?.stopLocal();
    this.devices?.stop();
    for (const part of this.#stoppable) part.stop();
    this.#stoppable = [];
    this.mixer.close();
  }

  /** A `msg()` text follows a change of UI language while shown. @param {string | import("./i18n.js").Message} text */
  #showError(text) {
    setText(this.notice, text);
    this.notice.hidden = false;
  }

  /**
   * An error (stays until the next) or a passing status message.
   * @param {string | import("./i18n.js").Message} text
   * @param {"error" | "status"} kind
   */
  #notify(text, kind) {
    if (kind === "error") {
      this.#showError(text);
      clearTimeout(this.#noticeTimer);
      this.#noticeTimer = setTimeout(() => (this.notice.hidden = true), 8000);
      return;
    }
    setText(this.status, text);
    this.status.hidden = false;
    const shown = ++this.#statusCount;
    setTimeout(() => {
      if (this.#statusCount === shown) this.status.hidden = true;
    }, 5000);
  }

  /** @param {import("./protocol.js").SlotView[]} slots */
  #renderSlots(slots) {
    for (const slot of slots) this.#renderSlot(slot);
  }

  /** @param {import("./protocol.js").SlotView} slot */
  #renderSlot(slot) {
    if (!slot.track) return;
    if (slot.kind === "audio") {
      this.mixer.attach(slot);
      // A seat's tile names whoever the seat carries, also while its video slot is empty.
      if (slot.purpose === "seat") {
        const video = this.client.slots.find((s) => s.kind === "video" && s.purpose === "seat" && s.seat === slot.seat);
        if (video) this.#renderSlot(video);
      }
      return;
    }
    let tile = this.#videoTiles.get(slot.mid);
    if (!tile) {
      tile = new VideoTile(slot.mid, slot.track);
      tile.showDebug(this.reception.debug);
      if (slot.purpose === "screen") tile.root.classList.add("tile--screen");
      this.grid.append(tile.root);
      this.#videoTiles.set(slot.mid, tile);
    }
    tile.render(this.#tileState(slot), slot.layer);
    if (slot.purpose === "screen") this.#labelScreen(tile, slot);
  }

  /**
   * The screen slot's tile says whose screen it is (not whose camera): the label, and the
   * figure's name for screen readers.
   * @param {VideoTile} tile
   * @param {import("./protocol.js").SlotView} slot
   */
  #labelScreen(tile, slot) {
    if (!slot.participantId) return;
    const name = slot.participant?.name ?? this.client.screenSharer.name ?? "…";
    const text = t("media.screenBy", { name });
    tile.root.setAttribute("aria-label", text);
    tile.label.title = text;
    tile.label.replaceChildren(h("strong", { class: "tile__name", text }));
  }

  /**
   * What a video slot's tile shows. A seat whose video slot is empty (the listener's "low
   * bandwidth" switch, no layer fits the link, no camera) still carries its participant's
   * microphone: the tile then shows their initials and name.
   * @param {import("./protocol.js").SlotView} slot
   * @returns {import("./tile.js").TileState}
   */
  #tileState(slot) {
    let { participantId, participant } = slot;
    if (!participantId && slot.purpose === "seat") {
      const audio = this.client.slots.find((s) => s.kind === "audio" && s.purpose === "seat" && s.seat === slot.seat);
      participantId = audio?.participantId ?? null;
      participant = audio?.participant ?? null;
    }
    const videoWanted = this.client.videoEnabled;
    // The screen slot is not the camera; an unknown participant (presence on its way) shows.
    const cameraOn = slot.purpose === "screen" || !participant || participant.video;
    const picture = Boolean(slot.participantId && slot.source && videoWanted && cameraOn);
    let note = "";
    if (participantId && !videoWanted) note = t("room.audioOnly");
    else if (participant && !cameraOn) note = t("room.cameraOff");
    else if (participant?.video && !slot.participantId) note = t("room.videoPaused");
    return {
      participantId,
      participant,
      picture,
      speaking: Boolean(participantId && this.client.floor?.speaker?.participantId === participantId),
      pinned: Boolean(participantId && participantId === this.#pinned),
      note,
    };
  }

  #renderTiles() {
    for (const slot of this.client.slots) if (slot.kind === "video") this.#renderSlot(slot);
  }

  /** @param {import("./quality.js").QualitySample} sample */
  #showSample(sample) {
    this.reception.showSample(sample);
    for (const tile of this.#videoTiles.values()) {
      const participantId = tile.root.dataset.participant;
      tile.showQuality(participantId ? sample.participants.get(participantId) ?? null : null);
      tile.showStats(sample.slots.get(tile.mid));
    }
  }

  #renderParticipants() {
    this.#renderControls();
    this.#renderTiles();
  }

  /** @param {string | null} participantId */
  async #pin(participantId) {
    try {
      await this.client.pin(participantId);
      this.#pinned = participantId;
    } catch (err) {
      this.#showError(errorMessage(err));
    }
    this.people.render();
    this.#renderTiles();
  }
}
