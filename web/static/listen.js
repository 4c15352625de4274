// @ts-check
/**
 * The language selector every listener has: the channel (the floor, or one of the meeting's
 * languages, named in the language itself) and the level of the floor under an
 * interpretation. The choice goes to the server (`listen`: the SFU switches what feeds this
 * listener's channel slot) and to the `AudioMixer` (which plays the seats and the channel
 * slot at the right levels). "Original" is shown while the chosen channel carries the floor
 * (its booth is silent).
 * An interpreter in a booth chooses what they hear on their console (`incoming`) instead;
 * this panel hides itself then.
 */

import { h, setText } from "./dom.js";
import { t, msg, errorMessage } from "./i18n.js";

/** @typedef {import("./protocol.js").MeetingClient} MeetingClient */
/** @typedef {import("./mixer.js").AudioMixer} AudioMixer */

/** The floor-under level a listener starts with (about −14 dB). */
export const DEFAULT_FLOOR_UNDER = 0.2;

/**
 * Whether `channel` carries the floor itself now: the floor channel, a booth in passthrough,
 * or (before any interpretation state) what the channel slot says.
 * @param {MeetingClient} client
 * @param {string} channel
 */
export function channelIsOriginal(client, channel) {
  if (channel === "floor") return true;
  const feed = client.interpretation?.feeds?.[channel];
  if (feed) return Boolean(feed.original);
  const slot = client.slots.find((s) => s.purpose === "channel");
  return slot?.original ?? true;
}

/**
 * The feed kind of a channel, for the status line: "original", "interpretation", "silence".
 * @param {MeetingClient} client
 * @param {string} channel
 */
export function channelStatus(client, channel) {
  if (channel === "floor") return "floor";
  const feed = client.interpretation?.feeds?.[channel];
  if (!feed) return "original";
  if (feed.kind === "silence") return "silence";
  return feed.original ? "original" : "interpretation";
}

/**
 * A floor-under slider (0–100 %), shared by the listener's panel and the interpreter console.
 * @param {string} id
 * @param {number} value 0..1
 * @param {(level: number, final: boolean) => void} onChange `final` on release
 * @param {string | import("./i18n.js").Message} [label]
 */
export function floorUnderSlider(id, value, onChange, label = msg("listen.floorUnder")) {
  const output = h("output", { class: "slider__value", attrs: { for: id } });
  const input = h("input", {
    class: "slider__input",
    attrs: { id, type: "range", min: 0, max: 100, step: 5 },
    props: { value: String(Math.round(value * 100)) },
  });
  const show = () => {
    const percent = t("listen.percent", { value: Number(input.value) });
    output.value = percent;
    input.setAttribute("aria-valuetext", percent);
  };
  input.addEventListener("input", () => {
    show();
    onChange(Number(input.value) / 100, false);
  });
  input.addEventListener("change", () => onChange(Number(input.value) / 100, true));
  show();
  const root = h(
    "div",
    { class: "field slider" },
    h("label", { attrs: { for: id }, text: label }),
    h("div", { class: "slider__row" }, input, output),
  );
  return { root, input };
}

export class ListenPanel {
  #channel = "floor";
  #floorUnder = DEFAULT_FLOOR_UNDER;
  #started = false;

  /**
   * @param {MeetingClient} client
   * @param {AudioMixer} mixer
   * @param {{onError: (text: string) => void, initialChannel?: string}} options
   */
  constructor(client, mixer, { onError, initialChannel }) {
    this.client = client;
    this.mixer = mixer;
    this.onError = onError;
    const languages = client.meeting?.languages ?? [];
    this.#channel = initialChannel && languages.includes(initialChannel) ? initialChannel : "floor";

    this.select = h(
      "select",
      { attrs: { id: "listen-channel", name: "channel" }, on: { change: () => this.#choose(this.select.value) } },
      h("option", { props: { value: "floor" }, text: msg("listen.floor") }),
      ...languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    this.select.value = this.#channel;
    // The same choice in the room's bottom bar, where a thumb reaches it on a phone.
    this.quickSelect = h(
      "select",
      { class: "controls__channel", attrs: { id: "listen-channel-quick", name: "channelQuick", "aria-label": msg("listen.channel") }, on: { change: () => this.#choose(this.quickSelect.value) } },
      h("option", { props: { value: "floor" }, text: msg("listen.floor") }),
      ...languages.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    this.quickSelect.value = this.#channel;
    this.original = h("span", { class: "badge badge--original", attrs: { id: "listen-original", hidden: true }, text: msg("listen.original") });
    this.status = h("span", { class: "listen__status", attrs: { id: "listen-status", role: "status", "aria-live": "polite" } });
    this.slider = floorUnderSlider("floor-under", this.#floorUnder, (level, final) => this.#setFloorUnder(level, final));
    this.root = h(
      "section",
      { class: "listen", attrs: { id: "listen-panel", "aria-labelledby": "listen-heading" } },
      h("h2", { class: "visually-hidden", attrs: { id: "listen-heading" }, text: msg("listen.heading") }),
      h(
        "div",
        { class: "field listen__channel" },
        h("label", { attrs: { for: "listen-channel" }, text: msg("listen.channel") }),
        h("div", { class: "listen__row" }, this.select, this.original),
      ),
      this.slider.root,
      this.status,
    );
    client.addEventListener("interpretation", () => this.render());
    client.addEventListener("slots", () => this.render());
    this.render();
  }

  /** After the subscribe negotiation: tell the server the starting choice. */
  async start() {
    this.#started = true;
    if (this.#inBooth()) return;
    await this.#choose(this.#channel);
  }

  #inBooth() {
    return this.client.self?.role === "interpreter" && this.client.booth !== null;
  }

  render() {
    const inBooth = this.#inBooth();
    this.root.hidden = inBooth;
    this.quickSelect.hidden = inBooth;
    if (inBooth) return;
    const channel = this.#channel;
    if (this.select.value !== channel) this.select.value = channel;
    if (this.quickSelect.value !== channel) this.quickSelect.value = channel;
    const original = channelIsOriginal(this.client, channel);
    this.original.hidden = channel === "floor" || !original;
    setText(this.status, t(`listen.status.${channelStatus(this.client, channel)}`));
    this.slider.input.disabled = channel === "floor";
    this.mixer.setChoice({ channel, original, floorUnder: this.#floorUnder });
  }

  /** @param {string} channel */
  async #choose(channel) {
    const before = this.#channel;
    this.#channel = channel;
    this.render();
    if (!this.#started) return;
    try {
      await this.client.listen(channel, this.#floorUnder);
    } catch (err) {
      this.#channel = before;
      this.onError(errorMessage(err));
    }
    this.render();
  }

  /**
   * @param {number} level
   * @param {boolean} final
   */
  async #setFloorUnder(level, final) {
    this.#floorUnder = level;
    this.render();
    if (!final || !this.#started) return;
    try {
      await this.client.listen(this.#channel, level);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }
}
