// @ts-check
/**
 * Every string the browser UI shows, in one dictionary per UI language, and the UI language
 * itself.
 *
 * The dictionaries live in ./messages/, one module per area of the UI, each with the six
 * languages; keys missing from a language fall back to English. Placeholders are written
 * `{name}` and filled by `t()`; numbers are formatted for the UI language (`Intl`). A text
 * that depends on a number has one key per plural category (`key#one`, `key#few`, ...: see
 * messages/core.js) and `t(key, {count})` picks the form with `Intl.PluralRules`.
 *
 * The UI language is chosen by the participant (join page and room), remembered in
 * localStorage and in a cookie (so the server renders `<html lang dir>` and its own texts in
 * it), by default the first of `navigator.languages` that the UI has. It is separate from the
 * language a participant listens in. Arabic is written right to left: `direction()` tells the
 * page which way to lay out, and `setUiLanguage()` switches the page in place: texts made with
 * `msg()` are kept on their elements (`data-i18n`) and rewritten by `relocalize()`; views
 * re-render their dynamic texts on the `rostrum:uilanguage` event of `window`.
 */

import core from "./messages/core.js";
import captions from "./messages/captions.js";
import chat from "./messages/chat.js";
import documents from "./messages/documents.js";
import media from "./messages/media.js";
import invitations from "./messages/invitations.js";
import record from "./messages/record.js";
import trust from "./messages/trust.js";
import webcast from "./messages/webcast.js";

/**
 * The areas of the UI, each a module under ./messages/ exporting one dictionary per UI
 * language. A new feature adds its own area module (written in all six languages when it is
 * added) and lists it here; keys are prefixed by the area (`chat.`, `captions.`...), so areas
 * never collide.
 * @type {Record<string, Record<string, string>>[]}
 */
export const AREAS = [core, trust, captions, chat, record, documents, webcast, media, invitations];

/** The UI languages, in the order the language menus show them. */
export const UI_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];

/** @type {Record<string, Record<string, string>>} */
export const MESSAGES = Object.fromEntries(
  UI_LANGUAGES.map((lang) => [lang, Object.assign({}, ...AREAS.map((area) => area[lang] ?? {}))]),
);

const RTL_LANGUAGES = new Set(["ar"]);

/** Where the choice is remembered (localStorage) and told to the server (cookie). */
export const UI_LANGUAGE_KEY = "rostrum.uiLanguage";
export const UI_LANGUAGE_COOKIE = "rostrum_lang";
/** The event on `window` after the UI language changed (`detail.lang`). */
export const UI_LANGUAGE_EVENT = "rostrum:uilanguage";

/**
 * The UI language: the page's `<html lang>` when a dictionary exists for it, else English.
 * @returns {string}
 */
export function uiLanguage() {
  const lang = (document.documentElement.lang || "en").slice(0, 2);
  return lang in MESSAGES ? lang : "en";
}

/**
 * The locale `Intl` formats with: the UI language, Arabic with Western digits as the UN and
 * the ITU print them in Arabic texts.
 * @param {string} [lang]
 */
export function intlLocale(lang = uiLanguage()) {
  return lang === "ar" ? "ar-u-nu-latn" : lang;
}

/**
 * The UI language a participant gets without choosing: the remembered choice, else the first
 * of the browser's languages that the UI has, else English.
 * @param {readonly string[]} [browserLanguages]
 * @returns {string}
 */
export function preferredLanguage(browserLanguages = navigator.languages ?? [navigator.language]) {
  let saved = null;
  try {
    saved = localStorage.getItem(UI_LANGUAGE_KEY);
  } catch {
    // storage disabled: the browser's languages decide
  }
  if (saved && saved in MESSAGES) return saved;
  for (const tag of browserLanguages) {
    const lang = String(tag).slice(0, 2).toLowerCase();
    if (lang in MESSAGES) return lang;
  }
  return "en";
}

/**
 * Switch the page to `lang`: `<html lang dir>`, every text made with `msg()`, and an event for
 * the views to re-render; remembered unless `remember` is false.
 * @param {string} lang
 * @param {{remember?: boolean}} [options]
 */
export function setUiLanguage(lang, { remember = true } = {}) {
  if (!(lang in MESSAGES)) throw new Error(`no UI language ${lang}`);
  if (remember) {
    try {
      localStorage.setItem(UI_LANGUAGE_KEY, lang);
    } catch {
      // storage disabled: the cookie still tells the server
    }
    document.cookie = `${UI_LANGUAGE_COOKIE}=${lang}; path=/; max-age=31536000; samesite=lax`;
  }
  const root = document.documentElement;
  if (root.lang === lang && root.dir === direction(lang)) return;
  root.lang = lang;
  root.dir = direction(lang);
  relocalize(document);
  window.dispatchEvent(new CustomEvent(UI_LANGUAGE_EVENT, { detail: { lang } }));
}

/** @typedef {string | number | Message} Var */

/** A text to show, kept as key and placeholders so it can be written again in another language. */
export class Message {
  /**
   * @param {string} key
   * @param {Record<string, Var>} [vars]
   */
  constructor(key, vars = {}) {
    this.key = key;
    this.vars = vars;
  }

  toString() {
    return t(this.key, this.vars);
  }

  /** @returns {any} */
  toJSON() {
    return { $m: [this.key, this.vars] };
  }
}

/**
 * A text for an element built now and rewritten when the UI language changes (see dom.js `h`).
 * @param {string} key
 * @param {Record<string, Var>} [vars]
 */
export function msg(key, vars = {}) {
  return new Message(key, vars);
}

/** @param {any} value @returns {any} */
function revive(value) {
  if (value && typeof value === "object") {
    if (Array.isArray(value.$m)) return new Message(value.$m[0], revive(value.$m[1] ?? {}));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

/**
 * Record on `element` the messages of its text and attributes (as `data-i18n`).
 * @param {Element} element
 * @param {{text?: Message, attrs?: Record<string, Message>}} parts
 */
export function keepMessages(element, { text, attrs }) {
  /** @type {{t?: any, a?: Record<string, any>}} */
  const record = element instanceof HTMLElement && element.dataset.i18n ? JSON.parse(element.dataset.i18n) : {};
  if (text) record.t = text;
  if (attrs && Object.keys(attrs).length) record.a = { ...(record.a ?? {}), ...attrs };
  /** @type {HTMLElement} */ (element).dataset.i18n = JSON.stringify(record);
}

/**
 * Forget the message of `element`'s text (its text is now set by a view's render).
 * @param {HTMLElement} element
 */
export function forgetTextMessage(element) {
  const raw = element.dataset.i18n;
  if (!raw || !raw.includes('"t"')) return;
  const record = JSON.parse(raw);
  delete record.t;
  if (record.a) element.dataset.i18n = JSON.stringify(record);
  else delete element.dataset.i18n;
}

/**
 * Write again, in the current UI language, every text and attribute kept with `msg()` under
 * `root`.
 * @param {ParentNode} root
 */
export function relocalize(root) {
  for (const element of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll("[data-i18n]"))) {
    const record = JSON.parse(element.dataset.i18n ?? "{}");
    if (record.t) element.textContent = String(revive(record.t));
    for (const [name, value] of Object.entries(record.a ?? {})) element.setAttribute(name, String(revive(value)));
  }
}

/**
 * The plural category of `count` in `lang` (`Intl.PluralRules`).
 * @param {number} count
 * @param {string} lang
 */
export function pluralCategory(count, lang) {
  return new Intl.PluralRules(intlLocale(lang)).select(count);
}

/**
 * The text of `key` in `lang`, the plural form for `count` when the key has forms.
 * @param {string} lang
 * @param {string} key
 * @param {unknown} count
 * @returns {string | undefined}
 */
function lookup(lang, key, count) {
  const dictionary = MESSAGES[lang];
  if (!dictionary) return undefined;
  if (typeof count === "number" && `${key}#other` in dictionary) {
    return dictionary[`${key}#${pluralCategory(count, lang)}`] ?? dictionary[`${key}#other`];
  }
  return dictionary[key];
}

/**
 * A placeholder's value as text: numbers formatted for the UI language.
 * @param {Var} value
 * @param {string} lang
 */
function formatVar(value, lang) {
  if (typeof value === "number") return new Intl.NumberFormat(intlLocale(lang), { maximumFractionDigits: 2 }).format(value);
  return String(value);
}

/**
 * Translate a key, filling `{placeholders}` from `vars`; with a number `count`, the plural
 * form for it.
 * @param {string} key
 * @param {Record<string, Var>} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const lang = uiLanguage();
  let used = lang;
  let text = lookup(lang, key, vars.count);
  if (text === undefined) {
    used = "en";
    text = lookup("en", key, vars.count) ?? key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? formatVar(vars[name], used) : whole));
}

/**
 * Text direction for a language code.
 * @param {string} lang
 * @returns {"rtl" | "ltr"}
 */
export function direction(lang) {
  return RTL_LANGUAGES.has(lang.slice(0, 2)) ? "rtl" : "ltr";
}

/**
 * A language's name in the UI language, for use inside a sentence ("French", "الفرنسية",
 * "法语"); menus show each language in itself (`lang.*` keys).
 * @param {string} code
 */
export function languageName(code) {
  try {
    return new Intl.DisplayNames([intlLocale()], { type: "language" }).of(code) ?? code;
  } catch {
    return t(`lang.${code}`);
  }
}

/**
 * A date and time in the UI language ("1 December 2026, 09:30").
 * @param {Date | number} when
 * @param {Intl.DateTimeFormatOptions} [options]
 */
export function formatDateTime(when, options = { dateStyle: "long", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(intlLocale(), options).format(when);
}

/**
 * A time of day in the UI language, 24-hour ("14:05:09").
 * @param {Date | number} when
 * @param {{seconds?: boolean}} [options]
 */
export function formatTime(when, { seconds = true } = {}) {
  return new Intl.DateTimeFormat(intlLocale(), { hour: "2-digit", minute: "2-digit", ...(seconds ? { second: "2-digit" } : {}), hourCycle: "h23" }).format(when);
}

/**
 * A user-facing message for an error from `protocol.js` (which carries a `code`).
 * @param {unknown} error
 * @returns {string}
 */
export function errorMessage(error) {
  const code = /** @type {{code?: string}} */ (error)?.code;
  const key = `error.${code}`;
  const message = error instanceof Error ? error.message : String(error);
  if (code && key in MESSAGES.en) return t(key, { message });
  return t("error.generic", { message });
}

/**
 * A duration as `m:ss` (or `h:mm:ss`), rounded up to the second: a countdown shows 0:01
 * until the time is really over.
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.ceil(seconds - 1e-6));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
