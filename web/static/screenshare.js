// @ts-check
/**
 * The room's "Share screen" button, for whoever holds the presenter right (the chair, the
 * secretariat, and the delegate the chair made presenter while they hold the floor: the
 * documents' right, docs/protocol.md `/documents`). Pressing it opens the browser's screen
 * picker (`getDisplayMedia`); the track goes out as the `screen` source on the publish
 * connection (`MeetingClient.shareScreen`: the server checks the right, then `replaceTrack`
 * on the idle screen m-line, no renegotiation). Sharing stops with the button, with the
 * browser's own "Stop sharing" (the track ends), or when the server ends it (the right was
 * withdrawn, another presenter took over): the page says why in the status line. Everyone
 * else sees the screen in the large screen tile and hears of it through the status line, a
 * polite live region (room.js, for every role).
 */

import { h } from "./dom.js";
import { t, errorMessage, UI_LANGUAGE_EVENT } from "./i18n.js";

/** Roles holding the presenter right always (documents/presenter.py ALWAYS_PRESENT). */
const ALWAYS_PRESENT = new Set(["chair", "secretariat"]);

/**
 * @typedef {object} ScreenShareOptions
 * @property {(text: string, kind?: "error" | "status") => void} onNotice
 */

export class ScreenShareControl {
  /** The `/documents` screen's presenter delegate (who the chair made presenter). @type {string | null} */
  #delegate = null;
  /** The track being shared (ours to stop). @type {MediaStreamTrack | null} */
  #track = null;
  #busy = false;

  /**
   * @param {import("./protocol.js").MeetingClient} client
   * @param {ScreenShareOptions} options
   */
  constructor(client, { onNotice }) {
    this.client = client;
    this.onNotice = onNotice;
    this.button = h("button", {
      class: "button button--toggle button--share",
      attrs: { id: "share-screen", type: "button", "aria-pressed": "false", hidden: true },
      on: { click: () => void this.toggle() },
    });
    this.render = this.render.bind(this);
  }

  /** Listen for the share state and the presenter right; call after `DocumentViewer.start()`. */
  start() {
    const { client } = this;
    client.addEventListener("screenshare", this.#onShare);
    client.addEventListener("floor", this.render);
    client.addEventListener("connectionstate", this.render);
    window.addEventListener(UI_LANGUAGE_EVENT, this.render);
    // The documents viewer connected `/documents` already: listen beside it.
    client
      .namespace("/documents", () => {})
      .then((socket) => {
        socket.on("screen", (/** @type {any} */ screen) => {
          this.#delegate = typeof screen?.presenterDelegate === "string" ? screen.presenterDelegate : null;
          this.render();
        });
        return client.requestOn("/documents", "state", {});
      })
      .then((reply) => {
        this.#delegate = reply?.screen?.presenterDelegate ?? null;
        this.render();
      })
      .catch(() => {});
    this.render();
  }

  /** Whether this participant holds the presenter right now (the server decides in the end). */
  get mayPresent() {
    const self = this.client.self;
    if (!self) return false;
    return ALWAYS_PRESENT.has(self.role) || (self.role === "delegate" && this.#delegate === self.id);
  }

  get sharing() {
    return this.#track !== null;
  }

  render() {
    const { button, client } = this;
    button.hidden = !client.screenShareOffered || (!this.mayPresent && !this.sharing);
    button.disabled = this.#busy || !client.screenShareReady;
    button.textContent = t(this.sharing ? "media.shareStop" : "media.share");
    button.setAttribute("aria-pressed", String(this.sharing));
  }

  async toggle() {
    if (this.#busy) return;
    if (this.sharing) await this.stop();
    else await this.share();
  }

  /** Pick a screen and share it. */
  async share() {
    this.#busy = true;
    this.render();
    try {
      let stream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false });
      } catch (err) {
        // the picker cancelled is no error worth a notice
        if (/** @type {any} */ (err)?.name !== "NotAllowedError") this.onNotice(t("media.shareFailed", { message: errorMessage(err) }));
        return;
      }
      const track = stream.getVideoTracks()[0];
      if (!track) return;
      // The browser's own "Stop sharing" ends the track.
      track.addEventListener("ended", () => {
        if (this.#track === track) void this.stop();
      });
      try {
        await this.client.shareScreen(track);
      } catch (err) {
        track.stop();
        const code = /** @type {any} */ (err)?.code;
        this.onNotice(code === "forbidden" ? t("media.shareRefused") : t("media.shareFailed", { message: errorMessage(err) }));
        return;
      }
      this.#track = track;
      this.onNotice(t("media.sharing"), "status");
    } finally {
      this.#busy = false;
      this.render();
    }
  }

  /** Stop sharing (the button, or the browser's "Stop sharing"). */
  async stop() {
    const track = this.#track;
    this.#track = null;
    track?.stop();
    this.render();
    try {
      await this.client.stopScreenShare();
      this.onNotice(t("media.shareStopped"), "status");
    } catch (err) {
      this.onNotice(errorMessage(err));
    }
    this.render();
  }

  /** @param {Event} event */
  #onShare = (event) => {
    const detail = /** @type {CustomEvent} */ (event).detail;
    if (detail.endedHere && this.#track) {
      // the server ended the own share
      this.#track.stop();
      this.#track = null;
      const key = { replaced: "media.shareReplaced", "media-restart": "media.shareRestarted" }[String(detail.reason)] ?? "media.shareWithdrawn";
      this.onNotice(t(key, { name: detail.name ?? "" }), "status");
    }
    this.render();
  };

  /** Leaving: stop the own share's track. */
  stopLocal() {
    this.#track?.stop();
    this.#track = null;
    this.client.removeEventListener("screenshare", this.#onShare);
    this.client.removeEventListener("floor", this.render);
    this.client.removeEventListener("connectionstate", this.render);
    window.removeEventListener(UI_LANGUAGE_EVENT, this.render);
  }
}
