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
    "room.audioOnly": "audio only",
    "room.videoPaused": "video paused: slow connection",
    "room.videoArea": "Speakers",
    "room.controls": "Your microphone and camera",
    "room.side": "Speakers' list and participants",
    "room.removedHeading": "You were removed",
    "room.removed": "The chair removed you from the meeting.",
    "room.endedHeading": "The meeting has ended",
    "room.ended": "The chair ended the meeting. Thank you for taking part.",
    "room.endedBy": "{name} ended the meeting. Thank you for taking part.",

    "floor.heading": "The floor",
    "floor.label": "Floor",
    "floor.nobody": "Nobody has the floor",
    "floor.you": "You have the floor",
    "floor.announce": "{name} has the floor",
    "floor.timeLeft": "Speaking time left",
    "floor.noLimit": "no time limit",
    "floor.panelHeading": "Take the floor",
    "floor.kind": "Request",
    "floor.note": "Note for the chair (optional)",
    "floor.language": "You will speak in",
    "floor.notePlaceholder": "e.g. on agenda item 4",
    "floor.request": "Request the floor",
    "floor.notRequested": "You have not asked for the floor.",
    "floor.position": "You are number {position} of {total} in the speakers' list.",
    "floor.youHaveIt": "You have the floor. Your microphone is open.",
    "floor.yield": "Yield the floor",
    "floor.myRequests": "Your requests",
    "floor.myRequest": "{kind}: number {position}",
    "floor.withdraw": "Withdraw",
    "floor.withdrawKind": "Withdraw your request ({kind})",
    "floor.mutedByChair": "The chair has muted your microphone.",
    "floor.slowDown": "The {language} interpreters ask you to slow down.",

    "kind.intervention": "Intervention",
    "kind.point-of-order": "Point of order",
    "kind.right-of-reply": "Right of reply",

    "hands.heading": "Show of hands",
    "hands.yes": "Yes",
    "hands.no": "No",
    "hands.abstain": "Abstain",
    "hands.open": "Open",
    "hands.closed": "Closed",
    "hands.totals": "Yes {yes} · No {no} · Abstain {abstain}",
    "hands.question": "Question",
    "hands.mode": "Who answers",
    "hands.modeParticipant": "Each delegate",
    "hands.modeMemberState": "Each member state (one answer)",
    "hands.openButton": "Ask the meeting",
    "hands.closeButton": "Close the question",
    "hands.voters": "Answers",

    "listen.heading": "Listening",
    "listen.channel": "You hear",
    "listen.floor": "Floor (original)",
    "listen.original": "Original",
    "listen.floorUnder": "Floor under the interpretation",
    "listen.percent": "{value} %",
    "listen.status.floor": "You hear the floor as spoken.",
    "listen.status.original": "No interpretation at the moment: you hear the original.",
    "listen.status.interpretation": "You hear the interpretation.",
    "listen.status.silence": "The interpreter has muted their microphone for a moment.",

    "people.officials": "Chair and secretariat",
    "people.interpreters": "Interpreters",
    "people.other": "Other participants",
    "people.speaking": "Has the floor",
    "people.mutedByChair": "Muted by the chair",
    "people.rights": "Floor rights",
    "people.mute": "Mute",
    "people.unmute": "Unmute",
    "people.muteName": "Mute {name}",
    "people.unmuteName": "Unmute {name}",
    "people.more": "More actions for {name}",
    "people.actionsFor": "Actions for {name}",
    "people.giveFloor": "Give the floor",
    "people.giveRights": "Give floor rights",
    "people.takeRights": "Take floor rights",
    "people.pinName": "Pin {name}'s video",
    "people.unpinName": "Unpin {name}'s video",
    "people.remove": "Remove",
    "people.removeTitle": "Remove from the meeting?",
    "people.removeMessage": "{name} will be disconnected and cannot rejoin with the same link while the meeting is locked.",

    "chair.consoleLabel": "Chair's console",
    "chair.floorHeading": "The floor",
    "chair.revoke": "Withdraw the floor",
    "chair.timeControls": "Speaking time",
    "chair.extendBy": "Give {seconds} seconds more",
    "chair.extendButton": "{sign}{seconds} s",
    "chair.note": "“{note}”",
    "chair.shortenBy": "Take {seconds} seconds off",
    "chair.expired": "Time is up for {name}.",
    "chair.expiredOpen": "They still have the floor: withdraw it or give more time.",
    "chair.expiredClosed": "The floor was closed.",
    "chair.slowDown": "The {language} interpreters ask the speaker to slow down.",
    "chair.queueHeading": "Speakers' list",
    "chair.queueHelp": "Drag an entry, use the arrow buttons, or press Alt+↑ / Alt+↓ on an entry to change the order.",
    "chair.queueEmpty": "Nobody has asked for the floor.",
    "chair.grant": "Give the floor",
    "chair.deny": "Deny",
    "chair.grantTo": "Give the floor to {name}",
    "chair.denyTo": "Deny the request of {name}",
    "chair.moveUp": "Move {name} up",
    "chair.moveDown": "Move {name} down",
    "chair.moved": "{name} is now number {position} of {total}.",
    "chair.entryLabel": "{position}. {name}, {kind}",
    "chair.settingsHeading": "Meeting",
    "chair.defaultLimit": "Speaking time (minutes, 0 = no limit)",
    "chair.defaultLimitInvalid": "Enter a speaking time between 0 and 60 minutes.",
    "chair.closeOnExpiry": "Close the floor when the time runs out",
    "chair.lock": "Lock the meeting",
    "chair.unlock": "Unlock the meeting",
    "chair.muteAll": "Mute all but the floor",
    "chair.mutedN": "{count} participants muted.",
    "chair.endMeeting": "End the meeting",
    "chair.endTitle": "End the meeting for everyone?",
    "chair.endMessage": "Everyone is disconnected, the floor log is closed, and the invitation links stop working.",

    "booths.heading": "Booths",
    "booths.assignLabel": "Interpreters and their booths",
    "booths.statusLabel": "Booths at work",
    "booths.noInterpreters": "No interpreter has joined yet.",
    "booths.notAssigned": "Not in a booth",
    "booths.live": "live",
    "booths.feed.interpreting": "Interpreting",
    "booths.feed.original": "Original",
    "booths.feed.cough": "Muted (cough)",

    "ic.heading": "Booth",
    "ic.clock": "Time",
    "ic.unassigned": "You are not in a booth yet. The secretariat assigns you to your language booth; until then you listen like a delegate.",
    "ic.outgoingHeading": "Your channel",
    "ic.outgoingLive": "LIVE: {language} listeners hear you.",
    "ic.outgoingCough": "Muted: {language} listeners hear silence while you hold Cough.",
    "ic.outgoingPartner": "{name} is live on {language}.",
    "ic.outgoingOriginal": "Off: {language} listeners hear the original.",
    "ic.micLive": "LIVE",
    "ic.micOff": "Microphone off",
    "ic.micLiveLabel": "Microphone live on {language}: press to switch off",
    "ic.micOffLabel": "Microphone off: press to go live on {language}",
    "ic.cough": "Cough",
    "ic.coughHelp": "Hold to mute, or hold C.",
    "ic.floorHeading": "Floor",
    "ic.floorInYourLanguage": "The floor speaks your booth's language: listeners hear the original while you are off.",
    "ic.slowDown": "Ask to slow down",
    "ic.slowDownSent": "Sent to the speaker and the chair ({count}).",
    "ic.incomingHeading": "You hear",
    "ic.floorSource": "Floor",
    "ic.floorUnderRelay": "Floor under the relay",
    "ic.source.floor": "original",
    "ic.source.live": "live",
    "ic.source.cough": "muted",
    "ic.source.original": "off (floor)",
    "ic.partnersHeading": "Booth partners",
    "ic.alone": "You are alone in this booth.",
    "ic.partner.live": "live",
    "ic.partner.cough": "coughing",
    "ic.partner.open": "microphone open",
    "ic.partner.off": "off",
    "ic.hearsFloor": "hears the floor",
    "ic.hearsRelay": "relays from {language}",
    "ic.handoverRequest": "Offer handover",
    "ic.handoverAccept": "Accept handover",
    "ic.handoverCancel": "Cancel handover",
    "ic.takeOver": "Take over now",
    "ic.handoverOffered": "{name} offers you the microphone.",
    "ic.handoverWaiting": "Waiting for {name} to accept.",
    "ic.anyPartner": "a partner",

    "warning.two-mics-open": "Two microphones are open in this booth: close one.",
    "warning.relay-loop": "Relay loop: nobody in this chain hears the floor.",

    "dialog.cancel": "Cancel",

    "quality.label": "Connection",
    "quality.local": "Your connection",
    "quality.good": "Good",
    "quality.fair": "Fair",
    "quality.poor": "Poor",
    "quality.reason.loss": "{value} % of packets lost",
    "quality.reason.jitter": "jitter {value} ms",
    "quality.reason.rtt": "round trip {value} ms",
    "quality.reason.fps": "{value} frames per second",
    "quality.reason.frozen": "picture frozen",
    "quality.reason.bitrate": "{value} kbit/s available",
    "quality.reason.layer": "video reduced to fit the connection",
    "quality.reason.novideo": "no room for video on the connection",
    "quality.reason.state": "connection {value}",

    "reception.label": "Reception",
    "reception.lowBandwidth": "Low bandwidth",
    "reception.lowBandwidthHelp": "Audio and documents only",
    "reception.uplinkLow": "Your connection is slow: the others see you in low quality",
    "reception.uplinkAudio": "Your connection is too slow for video: the others hear you only",
    "reception.debug": "Debug",
    "reception.debugHelp": "Show the video layers and statistics (key D)",

    "debug.title": "Layer received, decoded size and frame rate, packets lost",
    "debug.high": "high",
    "debug.low": "low",
    "debug.screen": "screen",
    "debug.none": "none",
    "debug.fps": "fps",
    "debug.lost": "lost",
    "debug.incoming": "Available incoming bitrate",
    "debug.rtt": "Round trip",
    "debug.unknown": "not reported",
    "debug.kbps": "{value} kbit/s",
    "debug.mbps": "{value} Mbit/s",

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
    "error.not-found": "Not found: {message}",
    "error.meeting-closed": "This meeting has ended or is locked.",
    "error.forbidden": "Your role does not allow this.",
    "error.conflict": "Not possible right now: {message}",
    "error.timeout": "The server did not answer in time.",
    "error.disconnected": "The connection to the meeting is interrupted.",
    "error.not-joined": "You have not joined the meeting yet.",
    "error.booth-busy": "A colleague is live in your booth: offer a handover or take over.",
    "error.not-in-booth": "You are not in a booth.",
    "error.not-live": "Your microphone is not live.",
    "error.no-handover": "No handover is waiting.",
    "error.unknown-language": "This meeting has no such language.",
    "error.already-assigned": "This interpreter is already in a booth.",
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
