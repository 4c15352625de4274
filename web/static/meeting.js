// @ts-check
/**
 * Entry module of the meeting page (templates/meeting.html): reads the server-rendered context,
 * connects with the invite token, shows the join form, then the room.
 *
 * Test hook (kept small on purpose): `window.rostrum` lets a browser test read state:
 *   - `client`            the MeetingClient (slots, participants, connectionStates, self, ...)
 *   - `view`              "connecting" | "join" | "room" | "left" | "removed" | "ended" | "error"
 *   - `error`             the last error's `{code, message}` shown to the user, or null
 *   - `stats()`           per-slot receive statistics (MeetingClient.getStats)
 *   - `frequencies(opts)` dominant frequency heard on every audio slot (diagnostics.js)
 *   - `dominantFrequency(track, opts)` the same for any track
 *   - `room`              the RoomView once joined (its `mixer`, `people`, consoles)
 *   - `mix()`             what the mixer plays: dominant frequency of the mix and the level
 *                         of every route after its gain (diagnostics.js `mixerReport`)
 *   - `quality()`         the latest connection-quality sample (quality.js) as plain objects:
 *                         `{local, participants: {id: rating}, slots: {mid: rate}, link}`
 */

import { MeetingClient, movedTo } from "./protocol.js";
import { JoinView } from "./join.js";
import { RoomView, ConnectionIndicator } from "./room.js";
import { dominantFrequency, frequenciesOnAudioSlots, mixerReport } from "./diagnostics.js";
import { h, replaceChildren } from "./dom.js";
import { errorMessage, preferredLanguage, setUiLanguage, uiLanguage, UI_LANGUAGE_KEY } from "./i18n.js";
import { UiLanguageMenu } from "./uilanguage.js";
import { deviceKey, hideInviteToken, inviteToken } from "./invite.js";

/** @typedef {{meeting: import("./protocol.js").Meeting & {openedAt?: number}, token: string, role: string | null}} PageContext */

const contextElement = /** @type {HTMLElement} */ (document.getElementById("rostrum-context"));
const context = /** @type {PageContext} */ (JSON.parse(contextElement.textContent ?? "{}"));
const app = /** @type {HTMLElement} */ (document.getElementById("app"));
const client = new MeetingClient();

// The UI language: the remembered choice, else the browser's (the server rendered the page in
// the language of the cookie or of Accept-Language, which is usually the same).
{
  let remembered = false;
  try {
    remembered = localStorage.getItem(UI_LANGUAGE_KEY) !== null;
  } catch {
    // storage disabled
  }
  const lang = preferredLanguage();
  if (lang !== uiLanguage() || remembered) setUiLanguage(lang, { remember: remembered });
}
new UiLanguageMenu(/** @type {HTMLElement} */ (document.getElementById("ui-language-slot")));

const hook = {
  client,
  view: "connecting",
  /** @type {{code: string, message: string} | null} */
  error: null,
  stats: () => client.getStats(),
  /** @param {Parameters<typeof frequenciesOnAudioSlots>[1]} [options] */
  frequencies: (options) => frequenciesOnAudioSlots(client, options),
  dominantFrequency,
  /** @type {RoomView | null} */
  room: null,
  mix: () => (hook.room ? mixerReport(hook.room.mixer) : null),
  quality: () => {
    const sample = hook.room?.quality.latest;
    if (!sample) return null;
    const { local, link } = sample;
    return { local, link, participants: Object.fromEntries(sample.participants), slots: Object.fromEntries(sample.slots) };
  },
};
/** @type {any} */ (window).rostrum = hook;

/** @param {string} view */
function setView(view) {
  hook.view = view;
  app.dataset.view = view;
}

/** @param {unknown} err */
function showFatal(err) {
  hook.error = { code: /** @type {any} */ (err)?.code ?? "internal", message: String(/** @type {any} */ (err)?.message ?? err) };
  setView("error");
  replaceChildren(app, h("p", { class: "notice notice--error", attrs: { role: "alert", id: "fatal-error" }, text: errorMessage(err) }));
}

async function main() {
  new ConnectionIndicator(/** @type {HTMLElement} */ (document.getElementById("connection")), client);
  try {
    await client.connect(inviteToken(context.meeting.id, context.token), deviceKey());
  } catch (err) {
    const owner = movedTo(err); // several nodes: another node owns the meeting now
    if (owner && !new URLSearchParams(location.search).has("moved")) {
      const page = new URL(location.pathname, owner);
      page.search = location.search;
      page.searchParams.set("t", inviteToken(context.meeting.id, context.token));
      page.searchParams.set("moved", "1"); // followed once: no loop between two nodes
      location.assign(page.href);
      return;
    }
    showFatal(err);
    return;
  }
  // After the join the token leaves the address (invite.js); "Join again" reloads this tab.

  const join = new JoinView(app, {
    meeting: context.meeting,
    role: context.role ?? "delegate",
    onJoin: async ({ name, organization, memberState, language }) => {
      try {
        await client.join({ name, organization, memberState, language });
        hideInviteToken(context.meeting.id, inviteToken(context.meeting.id, context.token));
      } catch (err) {
        hook.error = { code: /** @type {any} */ (err)?.code ?? "internal", message: String(/** @type {any} */ (err)?.message ?? err) };
        throw err;
      }
      const stream = join.takeStream();
      setView("room");
      const room = new RoomView(app, {
        client,
        stream,
        onLeft: () => setView("left"),
        onEnded: (why) => setView(why),
      });
      hook.room = room;
      await room.start();
    },
  });
  setView("join");
  await join.start();
}

main().catch(showFatal);
