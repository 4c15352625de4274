// @ts-check
/**
 * Every string the browser UI shows, in one dictionary per UI language.
 *
 * Only English exists for now. To add one of the other official languages, copy the `en` block
 * under its code (`ar`, `zh`, `fr`, `ru`, `es`) and translate the values; keys missing from a
 * language fall back to English. Placeholders are written `{name}` and filled by `t()`.
 * Arabic is written right to left: `direction()` tells the page which way to lay out.
 */

/** @type {Record<string, Record<string, string>>} */
export const MESSAGES = {
  en: {
    "app.name": "Rostrum",
    "app.noscript": "This meeting page needs JavaScript.",

    "join.heading": "Join the meeting",
    "join.name": "Your name",
    "join.organization": "Organization",
    "join.memberState": "Member state",
    "join.language": "Language you listen in",
    "join.camera": "Camera",
    "join.microphone": "Microphone",
    "join.noCamera": "No camera",
    "join.noMicrophone": "No microphone",
    "join.deviceFallback": "Device {n}",
    "join.micLevel": "Microphone level",
    "join.preview": "Camera preview",
    "join.originalSound": "Original sound (no echo cancellation or noise suppression)",
    "join.submit": "Join",
    "join.joining": "Joining…",
    "join.connecting": "Connecting to the meeting…",
    "join.mediaError": "Camera or microphone unavailable: {message}",
    "join.nameRequired": "Please enter your name.",

    "room.you": "You",
    "room.emptySlot": "Waiting for a speaker",
    "room.participants": "Participants ({count})",
    "room.mic.on": "Mute",
    "room.mic.off": "Unmute",
    "room.camera.on": "Stop camera",
    "room.camera.off": "Start camera",
    "room.leave": "Leave",
    "room.left": "You have left the meeting.",
    "room.rejoin": "Join again",
    "room.lost": "The connection to the meeting was lost.",
    "room.pin": "Pin",
    "room.unpin": "Unpin",
    "room.micMuted": "microphone off",
    "room.cameraOff": "camera off",
    "room.videoArea": "Speakers",
    "room.controls": "Your microphone and camera",

    "conn.signaling": "Server",
    "conn.publish": "Sending",
    "conn.subscribe": "Receiving",
    "conn.new": "waiting",
    "conn.connecting": "connecting",
    "conn.connected": "connected",
    "conn.disconnected": "interrupted",
    "conn.failed": "failed",
    "conn.closed": "closed",

    "role.chair": "Chair",
    "role.secretariat": "Secretariat",
    "role.delegate": "Delegate",
    "role.interpreter": "Interpreter",
    "role.captioner": "Captioner",
    "role.observer": "Observer",

    // Language names are written in the language itself, so a listener finds their own.
    "lang.ar": "العربية",
    "lang.zh": "中文",
    "lang.en": "English",
    "lang.fr": "Français",
    "lang.ru": "Русский",
    "lang.es": "Español",

    "error.unauthorized": "This invitation link is not valid or has expired.",
    "error.not-found": "This meeting does not exist.",
    "error.meeting-closed": "This meeting has ended or is locked.",
    "error.forbidden": "Your role does not allow this.",
    "error.conflict": "You have already joined from this page.",
    "error.timeout": "The server did not answer in time.",
    "error.generic": "Something went wrong: {message}",
  },
};

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
  if (code && key in MESSAGES.en) return t(key);
  const message = error instanceof Error ? error.message : String(error);
  return t("error.generic", { message });
}
