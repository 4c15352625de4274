// @ts-check
/**
 * Every string the browser UI shows, in one dictionary per UI language.
 *
 * The dictionaries live in ./messages/, one module per area of the UI, each with the six
 * languages; keys missing from a language fall back to English. Placeholders are written
 * `{name}` and filled by `t()`.
 * Arabic is written right to left: `direction()` tells the page which way to lay out.
 */

import core from "./messages/core.js";
import captions from "./messages/captions.js";
import chat from "./messages/chat.js";
import documents from "./messages/documents.js";
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
const AREAS = [core, trust, captions, chat, record, documents, webcast];

/** The UI languages, in the order the language menus show them. */
export const UI_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];

/** @type {Record<string, Record<string, string>>} */
export const MESSAGES = Object.fromEntries(
  UI_LANGUAGES.map((lang) => [lang, Object.assign({}, ...AREAS.map((area) => area[lang] ?? {}))]),
);

const RTL_LANGUAGES = new Set(["ar"]);

/**
 * The UI language: the page's `<html lang>` when a dictionary exists for it, else English.
 * @returns {string}
 */
export function uiLanguage() {
  const lang = (document.documentElement.lang || "en").slice(0, 2);
  return lang in MESSAGES ? lang : "en";
}

/**
 * Translate a key, filling `{placeholders}` from `vars`.
 * @param {string} key
 * @param {Record<string, string | number>} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const text = MESSAGES[uiLanguage()]?.[key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
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
