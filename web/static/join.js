// @ts-check
/**
 * The join form: which meeting and which role the link gives, name, organization, member
 * state, listening language, camera and microphone choice (from `enumerateDevices`), a camera
 * preview and a live microphone level meter. What a role never uses is never asked for:
 * observers and captioners get no device part and no device is opened; interpreters get their
 * microphone only (no camera, and no listening language: they choose what they hear on their
 * console). Renders and binds only: joining itself is the caller's `onJoin` (meeting.js →
 * protocol.js).
 */

import { h, replaceChildren } from "./dom.js";
import { t, msg, errorMessage, formatDateTime } from "./i18n.js";

const STORAGE_KEY = "rostrum.join";
const NONE = "none";

/** Roles that send media (docs/protocol.md: observers publish nothing, captioners text). */
export const PUBLISHING_ROLES = new Set(["chair", "secretariat", "delegate", "interpreter"]);

/**
 * @typedef {object} JoinDetails
 * @property {string} name
 * @property {string} organization
 * @property {string} memberState
 * @property {string} language
 * @property {MediaStream} stream the previewed stream (may have no tracks)
 */

/**
 * @typedef {object} JoinOptions
 * @property {import("./protocol.js").Meeting & {openedAt?: number}} meeting
 * @property {string} role the role the invitation gives
 * @property {(details: JoinDetails) => Promise<void>} onJoin resolves when joined; a rejection is
 *   shown on the form and the form stays usable
 */

/** Saved form values, so a delegate rejoining types nothing twice. @returns {Record<string, any>} */
function loadSaved() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

/** @param {Record<string, any>} values */
function save(values) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(values));
  } catch {
    // private mode or storage disabled: nothing to remember
  }
}

export class JoinView {
  /** @type {MediaStream} */
  #stream = new MediaStream();
  /** @type {AudioContext | null} */
  #audioContext = null;
  #meterFrame = 0;
  #busy = false;
  /** Incremented on each device change so a slow getUserMedia cannot win over a newer one. */
  #generation = 0;
  /** The latest (re)opening of the devices; Join waits for it. @type {Promise<void>} */
  #opening = Promise.resolve();

  /**
   * @param {HTMLElement} root
   * @param {JoinOptions} options
   */
  constructor(root, { meeting, role, onJoin }) {
    this.root = root;
    this.meeting = meeting;
    this.role = role;
    this.onJoin = onJoin;
    /** The role sends media: the device part is shown and the devices are opened. */
    this.wantsDevices = PUBLISHING_ROLES.has(role);
    /** Interpreters send their booth microphone only. */
    this.wantsCamera = this.wantsDevices && role !== "interpreter";
    const saved = loadSaved();
    const languages = meeting.languages?.length ? meeting.languages : ["en"];
    const browserLanguage = (navigator.language || "en").slice(0, 2);
    const language = [saved.language, browserLanguage, "en"].find((l) => languages.includes(l)) ?? languages[0];

    this.name = h("input", {
      attrs: { id: "join-name", name: "name", required: true, maxlength: 80, autocomplete: "name" },
      props: { value: saved.name ?? "" },
    });
    this.organization = h("input", {
      attrs: { id: "join-organization", name: "organization", maxlength: 120, autocomplete: "organization" },
      props: { value: saved.organization ?? "" },
    });
    this.memberState = h("input", {
      attrs: { id: "join-member-state", name: "memberState", maxlength: 80, autocomplete: "country-name" },
      props: { value: saved.memberState ?? "" },
    });
    this.language = h(
      "select",
      { attrs: { id: "join-language", name: "language" } },
      ...languages.map((code) =>
        h("option", { props: { value: code, selected: code === language }, attrs: { lang: code }, text: msg(`lang.${code}`) }),
      ),
    );
    this.camera = h("select", { attrs: { id: "join-camera", name: "camera" }, on: { change: () => this.#reopen() } });
    this.microphone = h("select", {
      attrs: { id: "join-microphone", name: "microphone" },
      on: { change: () => this.#reopen() },
    });
    this.originalSound = h("input", {
      attrs: { id: "join-original-sound", type: "checkbox", name: "originalSound" },
      props: { checked: Boolean(saved.originalSound) },
      on: { change: () => this.#reopen() },
    });
    this.preview = h("video", {
      class: "preview__video",
      attrs: { id: "join-preview", "aria-label": msg("join.preview") },
      props: { muted: true, autoplay: true, playsInline: true },
    });
    this.meterBar = h("div", { class: "meter__bar" });
    this.meter = h(
      "div",
      {
        class: "meter",
        attrs: { id: "join-mic-level", role: "meter", "aria-label": msg("join.micLevel"), "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 },
      },
      this.meterBar,
    );
    this.message = h("p", { class: "notice notice--error", attrs: { id: "join-error", role: "alert", hidden: true } });
    this.submit = h("button", { class: "button button--primary", attrs: { id: "join-submit", type: "submit" }, text: msg("join.submit") });
    this.savedDevices = { camera: saved.camera, microphone: saved.microphone };
  }

  /** Render the form and start the preview. */
  async start() {
    /**
     * @param {string} id
     * @param {string | import("./i18n.js").Message} label
     * @param {HTMLElement} control
     */
    const field = (id, label, control) => h("div", { class: "field" }, h("label", { attrs: { for: id }, text: label }), control);
    const opened = this.meeting.openedAt ? formatDateTime(this.meeting.openedAt * 1000) : "";
    const interpreter = this.role === "interpreter";
    const media = this.wantsDevices
      ? h(
          "div",
          { class: "join__media", attrs: { id: "join-devices" } },
          interpreter ? h("p", { class: "join__note", attrs: { id: "join-devices-note" }, text: msg("join.interpreterDevices") }) : null,
          this.wantsCamera ? h("div", { class: "preview" }, this.preview) : null,
          this.wantsCamera ? field("join-camera", msg("join.camera"), this.camera) : null,
          field("join-microphone", msg("join.microphone"), this.microphone),
          h("div", { class: "field" }, h("span", { class: "field__label", attrs: { "aria-hidden": "true" }, text: msg("join.micLevel") }), this.meter),
          h("div", { class: "field field--check" }, this.originalSound, h("label", { attrs: { for: "join-original-sound" }, text: msg("join.originalSound") })),
        )
      : h("div", { class: "join__media" }, h("p", { class: "join__note", attrs: { id: "join-devices-note" }, text: msg("join.listenOnly") }));
    const form = h(
      "form",
      { class: "join", attrs: { id: "join-form", novalidate: true }, on: { submit: (e) => this.#onSubmit(e) } },
      h("h2", { class: "join__heading", text: msg("join.heading") }),
      h(
        "div",
        { class: "join__meeting", attrs: { id: "join-meeting" } },
        h("p", { class: "join__title" }, h("bdi", { text: this.meeting.title })),
        opened ? h("p", { class: "join__when", attrs: { id: "join-opened" }, text: msg("join.opened", { date: opened }) }) : null,
        h("p", { class: "join__role", attrs: { id: "join-role", "data-role": this.role } }, h("span", { text: msg("join.as", { role: msg(`role.${this.role}`) }) })),
      ),
      h(
        "div",
        { class: "join__grid" },
        h(
          "div",
          { class: "join__fields" },
          field("join-name", msg("join.name"), this.name),
          field("join-organization", msg("join.organization"), this.organization),
          field("join-member-state", msg("join.memberState"), this.memberState),
          interpreter ? null : field("join-language", msg("join.language"), this.language),
        ),
        media,
      ),
      this.message,
      h("div", { class: "join__actions" }, this.submit),
    );
    replaceChildren(this.root, form);
    this.name.focus();
    if (!this.wantsDevices) return;
    this.#opening = this.#openDevices({ initial: true });
    await this.#opening;
  }

  #reopen() {
    this.#opening = this.#openDevices();
  }

  /**
   * Hand the stream over (the room publishes it) and stop the form's own users of it.
   * @returns {MediaStream}
   */
  takeStream() {
    this.#stopMeter();
    this.preview.srcObject = null;
    const stream = this.#stream;
    this.#stream = new MediaStream();
    return stream;
  }

  /** Stop everything the form started (when it is left without joining). */
  stop() {
    this.#stopMeter();
    for (const track of this.#stream.getTracks()) track.stop();
  }

  /**
   * (Re)open the chosen devices. On the first call the browser's defaults are used; then the
   * device lists are filled, labels being known once permission is granted.
   * @param {{initial?: boolean}} [options]
   */
  async #openDevices({ initial = false } = {}) {
    const generation = ++this.#generation;
    const wantCamera = !this.wantsCamera ? NONE : initial ? this.savedDevices.camera ?? "" : this.camera.value;
    const wantMic = initial ? this.savedDevices.microphone ?? "" : this.microphone.value;
    const original = this.originalSound.checked;
    // A saved device may be gone: prefer it; a device picked in the list is required.
    const pick = initial ? "ideal" : "exact";
    for (const track of this.#stream.getTracks()) track.stop();
    this.#stopMeter();

    /** @type {MediaStreamConstraints} */
    const constraints = {
      audio:
        wantMic === NONE
          ? false
          : {
              ...(wantMic ? { deviceId: { [pick]: wantMic } } : {}),
              echoCancellation: !original,
              noiseSuppression: !original,
              autoGainControl: !original,
            },
      video:
        wantCamera === NONE
          ? false
          : { ...(wantCamera ? { deviceId: { [pick]: wantCamera } } : {}), width: { ideal: 640 }, height: { ideal: 360 } },
    };
    let stream = new MediaStream();
    this.#showMessage(null);
    if (constraints.audio || constraints.video) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(constraints);
      } catch (err) {
        // One device may be missing or busy: try each kind alone before giving up.
        const parts = await Promise.allSettled([
          constraints.audio ? navigator.mediaDevices.getUserMedia({ audio: constraints.audio }) : Promise.reject(err),
          constraints.video ? navigator.mediaDevices.getUserMedia({ video: constraints.video }) : Promise.reject(err),
        ]);
        for (const part of parts) if (part.status === "fulfilled") for (const tr of part.value.getTracks()) stream.addTrack(tr);
        if (stream.getTracks().length === 0) {
          const message = err instanceof Error ? err.message : String(err);
          this.#showMessage(t("join.mediaError", { message }));
        }
      }
    }
    if (generation !== this.#generation) {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    this.#stream = stream;
    this.preview.srcObject = stream.getVideoTracks().length ? stream : null;
    this.preview.hidden = stream.getVideoTracks().length === 0;
    await this.#fillDeviceLists(stream);
    this.#startMeter(stream);
  }

  /** @param {MediaStream} stream */
  async #fillDeviceLists(stream) {
    let devices = /** @type {MediaDeviceInfo[]} */ ([]);
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      // no device list: keep "none" only
    }
    const current = {
      videoinput: stream.getVideoTracks()[0]?.getSettings().deviceId ?? NONE,
      audioinput: stream.getAudioTracks()[0]?.getSettings().deviceId ?? NONE,
    };
    /**
     * @param {HTMLSelectElement} select
     * @param {"videoinput" | "audioinput"} kind
     * @param {string | import("./i18n.js").Message} noneLabel
     */
    const fill = (select, kind, noneLabel) => {
      const ofKind = devices.filter((d) => d.kind === kind && d.deviceId);
      replaceChildren(
        select,
        ...ofKind.map((d, i) =>
          h("option", { props: { value: d.deviceId, selected: d.deviceId === current[kind] }, text: d.label || msg("join.deviceFallback", { n: i + 1 }) }),
        ),
        h("option", { props: { value: NONE, selected: current[kind] === NONE }, text: noneLabel }),
      );
    };
    fill(this.camera, "videoinput", msg("join.noCamera"));
    fill(this.microphone, "audioinput", msg("join.noMicrophone"));
  }

  /**
   * Live microphone level: RMS of the time-domain signal, shown from -60 dBFS to 0.
   * @param {MediaStream} stream
   */
  #startMeter(stream) {
    const track = stream.getAudioTracks()[0];
    if (!track) {
      this.#setLevel(0);
      return;
    }
    this.#audioContext ??= new AudioContext();
    const context = this.#audioContext;
    context.resume().catch(() => {}); // may need the first click; the meter starts then
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const db = 10 * Math.log10(sum / samples.length || 1e-12);
      this.#setLevel(Math.max(0, Math.min(100, ((db + 60) / 60) * 100)));
      this.#meterFrame = requestAnimationFrame(tick);
    };
    this.#meterSource = source;
    tick();
  }

  /** @type {MediaStreamAudioSourceNode | null} */
  #meterSource = null;

  #stopMeter() {
    cancelAnimationFrame(this.#meterFrame);
    this.#meterSource?.disconnect();
    this.#meterSource = null;
    this.#setLevel(0);
  }

  /** @param {number} percent */
  #setLevel(percent) {
    this.meterBar.style.inlineSize = `${percent.toFixed(0)}%`;
    this.meter.setAttribute("aria-valuenow", percent.toFixed(0));
  }

  /** @param {string | null} text */
  #showMessage(text) {
    this.message.textContent = text ?? "";
    this.message.hidden = !text;
  }

  /** @param {Event} event */
  async #onSubmit(event) {
    event.preventDefault();
    if (this.#busy) return;
    const name = this.name.value.trim();
    if (!name) {
      this.#showMessage(t("join.nameRequired"));
      this.name.focus();
      return;
    }
    this.#audioContext?.resume().catch(() => {});
    const details = {
      name,
      organization: this.organization.value.trim(),
      memberState: this.memberState.value.trim(),
      language: this.language.value,
    };
    save({ ...details, camera: this.camera.value, microphone: this.microphone.value, originalSound: this.originalSound.checked });
    this.#busy = true;
    this.submit.disabled = true;
    this.submit.textContent = t("join.joining");
    this.#showMessage(null);
    try {
      await this.#opening; // a device change may still be opening: join with its result
      await this.onJoin({ ...details, stream: this.#stream });
    } catch (err) {
      this.#showMessage(errorMessage(err));
      this.submit.disabled = false;
      this.submit.textContent = t("join.submit");
    } finally {
      this.#busy = false;
    }
  }
}
