// @ts-check
/**
 * The room's devices: the "Devices" dialog (microphone, camera, and the speaker where the
 * browser can choose its output, `setSinkId`; a test tone), and `DeviceWatcher`, which keeps
 * the published microphone and camera alive when devices come and go.
 *
 * Switching a microphone or camera opens the chosen device (`getUserMedia` with its
 * `deviceId`) and swaps the new track into the published stream
 * (`MeetingClient.replaceDevice`: `RTCRtpSender.replaceTrack`, no renegotiation; a new camera
 * feeds both layers). The choice is remembered in this browser, where the join form reads it
 * (`rostrum.join`'s `microphone` and `camera`), and the speaker under `rostrum.speaker`.
 *
 * A device that goes away (a headset unplugged mid-speech: its track ends, or `devicechange`
 * no longer lists it) is replaced by the system's default device at once, and the status line
 * says so; without any microphone left it says that instead.
 *
 * The tone (440 Hz, one second, at −12 dBFS) plays through the mixer's own audio context, so
 * it takes the same path as the meeting.
 */

import { h } from "./dom.js";
import { msg, t, errorMessage } from "./i18n.js";

/** @typedef {import("./mixer.js").AudioMixer} AudioMixer */
/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */

/** Where the join form keeps its choices (join.js STORAGE_KEY). */
const JOIN_KEY = "rostrum.join";
/** Where the room keeps the chosen speaker. */
export const SPEAKER_KEY = "rostrum.speaker";

/**
 * Remember a chosen input device where the join form looks for it.
 * @param {"microphone" | "camera"} field
 * @param {string} deviceId
 */
function remember(field, deviceId) {
  try {
    const saved = JSON.parse(localStorage.getItem(JOIN_KEY) ?? "{}") ?? {};
    localStorage.setItem(JOIN_KEY, JSON.stringify({ ...saved, [field]: deviceId }));
  } catch {
    // storage disabled: the choice lasts for this room only
  }
}

/** @param {string} deviceId */
function rememberSpeaker(deviceId) {
  try {
    if (deviceId) localStorage.setItem(SPEAKER_KEY, deviceId);
    else localStorage.removeItem(SPEAKER_KEY);
  } catch {
    // storage disabled
  }
}

/** The speaker chosen earlier in this browser ("" for the default). */
export function rememberedSpeaker() {
  try {
    return localStorage.getItem(SPEAKER_KEY) ?? "";
  } catch {
    return "";
  }
}

/** Whether this browser can send the meeting's sound to a chosen output (`setSinkId`). */
export function canChooseOutput() {
  return (
    (typeof AudioContext !== "undefined" && "setSinkId" in AudioContext.prototype) ||
    (typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype)
  );
}

/**
 * The constraints that open a microphone like the one it replaces: the same processing
 * (an interpreter's or a delegate's "original sound" stays off or on).
 * @param {MediaStreamTrack | undefined} old
 * @param {string} [deviceId] "" or undefined: the system default
 * @returns {MediaTrackConstraints}
 */
function micConstraints(old, deviceId) {
  const s = /** @type {any} */ (old?.getSettings() ?? {});
  /** @type {MediaTrackConstraints} */
  const c = deviceId ? { deviceId: { exact: deviceId } } : {};
  for (const key of /** @type {const} */ (["echoCancellation", "noiseSuppression", "autoGainControl"])) {
    if (typeof s[key] === "boolean") c[key] = s[key];
  }
  return c;
}

/** @param {string} [deviceId] @returns {MediaTrackConstraints} */
function cameraConstraints(deviceId) {
  return { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), width: { ideal: 640 }, height: { ideal: 360 } };
}

/**
 * Switching devices and falling back when one goes away, for a publishing participant.
 * Dispatches nothing; tells the page through `onNotice`.
 */
export class DeviceWatcher {
  /** @type {Array<() => void>} */
  #unbind = [];
  #stopped = false;

  /**
   * @param {MeetingClient} client
   * @param {{onNotice: (text: string, kind?: "error" | "status") => void, onTrack?: () => void}} options
   *   `onTrack`: a published track was replaced (the page re-attaches its preview)
   */
  constructor(client, { onNotice, onTrack }) {
    this.client = client;
    this.onNotice = onNotice;
    this.onTrack = onTrack ?? (() => {});
  }

  /** The published stream's current track of a kind. @param {"audio" | "video"} kind */
  track(kind) {
    const stream = this.client.publishedStream;
    return kind === "audio" ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
  }

  start() {
    const onChange = () => void this.#checkGone();
    navigator.mediaDevices?.addEventListener?.("devicechange", onChange);
    this.#unbind.push(() => navigator.mediaDevices?.removeEventListener?.("devicechange", onChange));
    this.#watchTracks();
  }

  stop() {
    this.#stopped = true;
    for (const unbind of this.#unbind) unbind();
    this.#unbind = [];
  }

  /** Follow the current tracks' `ended` (a device unplugged ends its track). */
  #watchTracks() {
    for (const kind of /** @type {const} */ (["audio", "video"])) {
      const track = this.track(kind);
      if (!track || /** @type {any} */ (track).__rostrumWatched) continue;
      /** @type {any} */ (track).__rostrumWatched = true;
      track.addEventListener("ended", () => {
        if (!this.#stopped && this.track(kind) === track) void this.fallBack(kind);
      });
    }
  }

  /** `devicechange`: a published device no longer listed has gone. */
  async #checkGone() {
    if (this.#stopped) return;
    let devices;
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    for (const kind of /** @type {const} */ (["audio", "video"])) {
      const track = this.track(kind);
      const id = track?.getSettings().deviceId;
      if (!track || !id) continue;
      const listed = devices.some((d) => d.kind === `${kind}input` && d.deviceId === id);
      if (!listed || track.readyState === "ended") await this.fallBack(kind);
    }
  }

  /**
   * The device of a published track went away: the system default takes its place.
   * @param {"audio" | "video"} kind
   */
  async fallBack(kind) {
    const old = this.track(kind);
    try {
      const stream = await navigator.mediaDevices.getUserMedia(kind === "audio" ? { audio: micConstraints(old) } : { video: cameraConstraints() });
      const next = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      await this.client.replaceDevice(kind, next);
      this.#watchTracks();
      this.onTrack();
      this.onNotice(t(kind === "audio" ? "media.micLost" : "media.cameraLost"), "status");
    } catch {
      this.onNotice(t(kind === "audio" ? "media.micGone" : "media.cameraLost"));
    }
  }

  /**
   * Switch to a chosen device ("" the system default) and remember it.
   * @param {"audio" | "video"} kind
   * @param {string} deviceId
   * @returns {Promise<boolean>} switched
   */
  async use(kind, deviceId) {
    const old = this.track(kind);
    let next;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(kind === "audio" ? { audio: micConstraints(old, deviceId) } : { video: cameraConstraints(deviceId) });
      next = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      await this.client.replaceDevice(kind, next);
    } catch (err) {
      next?.stop();
      this.onNotice(t("media.switchFailed", { message: errorMessage(err) }));
      return false;
    }
    remember(kind === "audio" ? "microphone" : "camera", deviceId);
    this.#watchTracks();
    this.onTrack();
    this.onNotice(t("media.switched", { device: next.label || t(kind === "audio" ? "media.microphone" : "media.camera") }), "status");
    return true;
  }
}

export class DevicesDialog {
  /**
   * @param {AudioMixer} mixer
   * @param {DeviceWatcher | null} [watcher] null: this role sends nothing (the speaker only)
   */
  constructor(mixer, watcher = null) {
    this.mixer = mixer;
    this.watcher = watcher;
    this.output = h("select", { attrs: { id: "devices-output" }, on: { change: () => this.#setOutput() } }, h("option", { props: { value: "" }, text: msg("room.speakerDefault") }));
    this.mic = h("select", { attrs: { id: "devices-mic" }, on: { change: () => this.#use("audio", this.mic) } });
    this.camera = h("select", { attrs: { id: "devices-camera" }, on: { change: () => this.#use("video", this.camera) } });
    this.testButton = h("button", { class: "button", attrs: { type: "button", id: "devices-test" }, text: msg("room.speakerTest"), on: { click: () => this.#test() } });
    this.testing = h("p", { class: "dialog__message", attrs: { id: "devices-testing", role: "status", hidden: true }, text: msg("room.speakerTesting") });
    const field = (/** @type {string} */ id, /** @type {any} */ label, /** @type {HTMLSelectElement} */ select) =>
      h("div", { class: "field devices__field", attrs: { id: `${id}-field` } }, h("label", { attrs: { for: id }, text: label }), select);
    this.micField = field("devices-mic", msg("media.microphone"), this.mic);
    this.cameraField = field("devices-camera", msg("media.camera"), this.camera);
    this.micField.hidden = true;
    this.cameraField.hidden = true;
    this.dialog = h(
      "dialog",
      { class: "dialog", attrs: { id: "devices-dialog", "aria-labelledby": "devices-title" } },
      h(
        "form",
        { attrs: { method: "dialog" } },
        h("h2", { class: "dialog__title", attrs: { id: "devices-title" }, text: msg("room.devicesTitle") }),
        this.micField,
        this.cameraField,
        field("devices-output", msg("room.speaker"), this.output),
        h("div", { class: "button-row" }, this.testButton),
        this.testing,
        h("div", { class: "dialog__actions" }, h("button", { class: "button button--primary", attrs: { value: "close", id: "devices-close" }, text: msg("room.close") })),
      ),
    );
  }

  async open() {
    const previous = /** @type {HTMLElement | null} */ (document.activeElement);
    document.body.append(this.dialog);
    this.dialog.addEventListener("close", () => {
      this.dialog.remove();
      previous?.focus?.();
    });
    this.dialog.showModal();
    this.testButton.focus();
    let devices = /** @type {MediaDeviceInfo[]} */ ([]);
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // no device list: the defaults only
    }
    const outputs = devices.filter((d) => d.kind === "audiooutput" && d.deviceId && d.deviceId !== "default");
    this.output.append(...outputs.map((d, i) => h("option", { props: { value: d.deviceId, selected: d.deviceId === rememberedSpeaker() }, text: d.label || msg("join.deviceFallback", { n: i + 1 }) })));
    // where the browser cannot choose its output (no setSinkId), only the test is offered
    this.output.disabled = outputs.length === 0 || !canChooseOutput();
    if (this.watcher) {
      this.#fill(this.mic, devices, "audioinput", this.watcher.track("audio"));
      this.#fill(this.camera, devices, "videoinput", this.watcher.track("video"));
      this.micField.hidden = !this.watcher.track("audio");
      this.cameraField.hidden = !this.watcher.track("video");
      this.dialog.dataset.ready = "true";
    }
  }

  /**
   * @param {HTMLSelectElement} select
   * @param {MediaDeviceInfo[]} devices
   * @param {"audioinput" | "videoinput"} kind
   * @param {MediaStreamTrack | undefined} current
   */
  #fill(select, devices, kind, current) {
    const currentId = current?.getSettings().deviceId ?? "";
    const ofKind = devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default");
    select.replaceChildren(
      ...ofKind.map((d, i) => h("option", { props: { value: d.deviceId, selected: d.deviceId === currentId }, text: d.label || msg("join.deviceFallback", { n: i + 1 }) })),
    );
    if (!ofKind.some((d) => d.deviceId === currentId)) {
      select.prepend(h("option", { props: { value: "", selected: true }, text: msg("media.systemDefault") }));
    }
    select.disabled = ofKind.length === 0;
  }

  /** @param {"audio" | "video"} kind @param {HTMLSelectElement} select */
  async #use(kind, select) {
    if (!this.watcher) return;
    select.disabled = true;
    this.dialog.dataset.switching = "true";
    const ok = await this.watcher.use(kind, select.value);
    if (!ok) {
      const id = this.watcher.track(kind)?.getSettings().deviceId ?? "";
      select.value = [...select.options].some((o) => o.value === id) ? id : "";
    }
    select.disabled = false;
    this.dialog.dataset.switching = "false";
  }

  async #setOutput() {
    rememberSpeaker(this.output.value);
    await this.mixer.setOutputDevice(this.output.value).catch((err) => console.warn("rostrum: setSinkId: %o", err));
  }

  #test() {
    const context = this.mixer.context ?? new AudioContext();
    context.resume().catch(() => {});
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 440;
    gain.gain.value = 0.25;
    tone.connect(gain).connect(context.destination);
    const now = context.currentTime;
    gain.gain.setValueAtTime(0.25, now + 0.9);
    gain.gain.linearRampToValueAtTime(0, now + 1);
    tone.start(now);
    tone.stop(now + 1);
    this.testing.hidden = false;
    this.dialog.dataset.testing = "true";
    tone.addEventListener("ended", () => {
      gain.disconnect();
      this.testing.hidden = true;
      this.dialog.dataset.testing = "false";
    });
  }
}
