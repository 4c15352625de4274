// @ts-check
/**
 * The room's "Devices" dialog: which speaker (output device) the meeting plays through, and a
 * test tone to hear that it works before the floor speaks. The output goes through
 * `AudioMixer.setOutputDevice` (`setSinkId`); where a browser cannot choose the output, only
 * the test is offered. The tone (440 Hz, one second, at −12 dBFS) plays through the mixer's
 * own audio context, so it takes the same path as the meeting.
 */

import { h } from "./dom.js";
import { msg } from "./i18n.js";

/** @typedef {import("./mixer.js").AudioMixer} AudioMixer */

export class DevicesDialog {
  /** @param {AudioMixer} mixer */
  constructor(mixer) {
    this.mixer = mixer;
    this.output = h("select", { attrs: { id: "devices-output" }, on: { change: () => this.#setOutput() } }, h("option", { props: { value: "" }, text: msg("room.speakerDefault") }));
    this.testButton = h("button", { class: "button", attrs: { type: "button", id: "devices-test" }, text: msg("room.speakerTest"), on: { click: () => this.#test() } });
    this.testing = h("p", { class: "dialog__message", attrs: { id: "devices-testing", role: "status", hidden: true }, text: msg("room.speakerTesting") });
    this.dialog = h(
      "dialog",
      { class: "dialog", attrs: { id: "devices-dialog", "aria-labelledby": "devices-title" } },
      h(
        "form",
        { attrs: { method: "dialog" } },
        h("h2", { class: "dialog__title", attrs: { id: "devices-title" }, text: msg("room.devicesTitle") }),
        h("div", { class: "field" }, h("label", { attrs: { for: "devices-output" }, text: msg("room.speaker") }), this.output),
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
    let outputs = /** @type {MediaDeviceInfo[]} */ ([]);
    try {
      outputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audiooutput" && d.deviceId && d.deviceId !== "default");
    } catch {
      // no device list: the default output only
    }
    this.output.append(...outputs.map((d, i) => h("option", { props: { value: d.deviceId }, text: d.label || msg("join.deviceFallback", { n: i + 1 }) })));
    this.output.disabled = outputs.length === 0;
  }

  async #setOutput() {
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
