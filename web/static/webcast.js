// @ts-check
/**
 * The webcast page (live) and the archive page of one meeting: hls.js (from npm, served at
 * /vendor/hls.mjs) plays the master playlist; the language menu switches the audio
 * rendition (each channel of the meeting is one), "audio only" picks the audio-only
 * variant (chosen by itself on a slow or data-saving connection), the floor banner says who
 * speaks. Safari and iOS play HLS natively (AAC audio): there the menu uses the media
 * element's audioTracks. The captions menu (off, or a caption language by its native name)
 * picks one of the WebVTT subtitle renditions, which the browser draws over the picture.
 * The archive page adds the interventions as jump points and the downloads of each
 * language.
 */

import Hls from "/vendor/hls.mjs";
import { UI_LANGUAGES, direction, formatDuration, preferredLanguage, t } from "./i18n.js";

/**
 * @typedef {{id: string, name: string}} Channel
 * @typedef {{meetingId: string, title: string, archive: boolean, master: string,
 *   banner: string, chapters: string, downloads: string, channels: Channel[]}} Context
 */

/** @type {Context} */
const context = JSON.parse(document.getElementById("webcast-context")?.textContent ?? "{}");

/** The HLS LANGUAGE of a channel (the floor is "mul"). */
const hlsLanguage = (/** @type {string} */ channel) => (channel === "floor" ? "mul" : channel);

function chooseUiLanguage() {
  // ?lang=, else the UI language chosen in the room (remembered), else the browser's
  const wanted = new URLSearchParams(location.search).get("lang") ?? preferredLanguage();
  const lang = UI_LANGUAGES.includes(wanted) ? wanted : "en";
  document.documentElement.lang = lang;
  document.documentElement.dir = direction(lang);
  return lang;
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

/** A slow link or the data saver: start with the audio-only variant. */
function slowLink() {
  const connection = /** @type {any} */ (navigator).connection;
  return Boolean(connection && (connection.saveData || (connection.downlink && connection.downlink < 0.4)));
}

function main() {
  const uiLang = chooseUiLanguage();
  const root = /** @type {HTMLElement} */ (document.getElementById("webcast"));
  const status = /** @type {HTMLElement} */ (document.getElementById("webcast-status"));
  root.textContent = "";

  const video = /** @type {HTMLVideoElement} */ (el("video", {
    class: "webcast__video", controls: "", playsinline: "", preload: "auto",
    "aria-label": context.title,
  }));
  const banner = el("p", { class: "webcast__banner", role: "status", "aria-live": "polite" });
  const notice = el("p", { class: "notice", hidden: "" });

  const language = /** @type {HTMLSelectElement} */ (el("select", { id: "webcast-language" }));
  for (const channel of context.channels) {
    const label = channel.id === "floor" ? t("webcast.floor") : channel.name;
    language.append(el("option", { value: channel.id }, [label]));
  }
  const preferred = context.channels.find((c) => c.id === uiLang) ? uiLang : "floor";
  language.value = new URLSearchParams(location.search).get("channel") ?? preferred;

  const audioOnly = /** @type {HTMLInputElement} */ (el("input", {
    type: "checkbox", id: "webcast-audio-only",
  }));
  audioOnly.checked = slowLink();

  // the captions menu: filled from the master playlist's subtitle renditions, hidden
  // while there are none
  const captions = /** @type {HTMLSelectElement} */ (el("select", { id: "webcast-captions" }));
  const captionsBox = el("span", { class: "webcast__captions", hidden: "" }, [
    el("label", { for: "webcast-captions" }, [t("webcast.captions")]), captions,
  ]);
  let wantedCaptions = new URLSearchParams(location.search).get("captions") ?? "";

  const controls = el("div", { class: "webcast__controls" }, [
    el("label", { for: "webcast-language" }, [t("webcast.language")]), language,
    captionsBox,
    el("label", { class: "webcast__check" }, [audioOnly, t("webcast.audioOnly")]),
  ]);
  const tap = el("button", { type: "button", class: "webcast__tap", hidden: "" },
    [t("webcast.tapToListen")]);
  root.append(el("div", { class: "webcast__stage" }, [video, tap]), banner, controls, notice);
  status.textContent = context.archive ? t("webcast.archive") : t("webcast.connecting");

  /** @type {any} */
  let hls = null;
  const native = !Hls.isSupported() && video.canPlayType("application/vnd.apple.mpegurl");

  function applyLanguage() {
    const lang = hlsLanguage(language.value);
    if (hls) {
      const index = hls.audioTracks.findIndex((/** @type {any} */ a) => a.lang === lang);
      if (index >= 0 && hls.audioTrack !== index) hls.audioTrack = index;
    } else {
      const tracks = /** @type {any} */ (video).audioTracks;
      if (tracks) for (let i = 0; i < tracks.length; i++) tracks[i].enabled = tracks[i].language === lang;
    }
  }

  /** @returns {{lang: string, name: string}[]} the caption renditions, as announced */
  function captionTracks() {
    if (hls) return hls.subtitleTracks.map((/** @type {any} */ s) => ({ lang: s.lang ?? "", name: s.name ?? s.lang }));
    const tracks = [...video.textTracks].filter((tr) => tr.kind === "subtitles" || tr.kind === "captions");
    return tracks.map((tr) => ({ lang: tr.language, name: tr.label || tr.language }));
  }

  function fillCaptions() {
    const tracks = captionTracks();
    captions.textContent = "";
    captions.append(el("option", { value: "" }, [t("webcast.captionsOff")]));
    for (const track of tracks) {
      const option = el("option", { value: track.lang, lang: track.lang }, [track.name]);
      captions.append(option);
    }
    captions.value = tracks.some((tr) => tr.lang === wantedCaptions) ? wantedCaptions : "";
    captionsBox.hidden = tracks.length === 0;
    applyCaptions();
  }

  function applyCaptions() {
    const lang = captions.value;
    if (hls) {
      hls.subtitleDisplay = lang !== "";
      const index = lang ? hls.subtitleTracks.findIndex((/** @type {any} */ s) => s.lang === lang) : -1;
      if (hls.subtitleTrack !== index) hls.subtitleTrack = index;
    } else {
      for (const track of video.textTracks) {
        if (track.kind !== "subtitles" && track.kind !== "captions") continue;
        track.mode = lang && track.language === lang ? "showing" : "disabled";
      }
    }
  }

  function applyAudioOnly() {
    video.classList.toggle("webcast__video--audio", audioOnly.checked);
    if (!hls) return;
    const audioLevel = hls.levels.findIndex((/** @type {any} */ l) => !l.width && !l.videoCodec);
    if (audioOnly.checked && audioLevel >= 0) hls.currentLevel = audioLevel;
    else if (!audioOnly.checked) hls.currentLevel = -1;
  }

  function play() {
    video.play().then(() => { tap.hidden = true; }).catch(() => { tap.hidden = false; });
  }
  tap.addEventListener("click", play);

  if (Hls.isSupported()) {
    hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 2, backBufferLength: 60 });
    hls.on(Hls.Events.MANIFEST_PARSED, () => { applyAudioOnly(); applyLanguage(); play(); });
    hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, applyLanguage);
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, fillCaptions);
    hls.on(Hls.Events.LEVEL_LOADED, () => {
      notice.hidden = true;
      status.textContent = context.archive ? t("webcast.archive") : t("webcast.live");
    });
    hls.on(Hls.Events.ERROR, (/** @type {any} */ _event, /** @type {any} */ data) => {
      if (!data.fatal) return;
      const missing = data.response && data.response.code === 404;
      notice.textContent = missing ? t("webcast.notStarted")
        : t("webcast.error", { message: data.details ?? data.type });
      notice.hidden = false;
      // a playlist that does not exist yet, or a network fault: try again shortly
      setTimeout(() => { hls.loadSource(context.master); hls.startLoad(); }, 4000);
    });
    hls.loadSource(context.master);
    hls.attachMedia(video);
  } else if (native) {
    video.src = context.master;
    video.addEventListener("loadedmetadata", () => { applyLanguage(); fillCaptions(); play(); });
  } else {
    notice.textContent = t("webcast.error", { message: "HLS" });
    notice.hidden = false;
  }
  language.addEventListener("change", applyLanguage);
  audioOnly.addEventListener("change", applyAudioOnly);
  captions.addEventListener("change", () => { wantedCaptions = captions.value; applyCaptions(); });

  if (!context.archive) followBanner(banner);
  else showArchive(root, video, banner);

  /** For tests and the debug console. */
  /** @type {any} */ (window).rostrumWebcast = { hls, video, language, audioOnly, captions, applyLanguage };
}

/** @param {HTMLElement} banner */
function followBanner(banner) {
  /** @type {{name: string, memberState: string, since: number} | null} */
  let speaker = null;
  let offset = 0; // server clock minus ours
  async function poll() {
    try {
      const response = await fetch(context.banner, { cache: "no-store" });
      if (response.ok) {
        const state = await response.json();
        offset = state.serverTime - Date.now() / 1000;
        speaker = state.speaker;
        if (state.ended) { banner.textContent = t("webcast.ended"); return; }
      }
    } catch { /* keep the last banner */ }
    setTimeout(poll, 2000);
  }
  function render() {
    if (!speaker) banner.textContent = t("webcast.nobody");
    else {
      const who = speaker.memberState
        ? t("webcast.speakingFrom", { name: speaker.name, memberState: speaker.memberState })
        : t("webcast.speaking", { name: speaker.name });
      banner.textContent = `${who} · ${formatDuration(Date.now() / 1000 + offset - speaker.since)}`;
    }
  }
  poll();
  setInterval(render, 1000);
}

/**
 * A link to a moment of the archive (`#at=<unix seconds>`, as the search gives for a caption
 * or an intervention): seek there once the recording can seek.
 * @param {HTMLVideoElement} video
 * @param {number | null | undefined} recordingStart the wall clock of the recording's start
 */
function seekToMoment(video, recordingStart) {
  const match = /(?:^#|&)at=(\d+(?:\.\d+)?)/.exec(location.hash);
  if (!match || typeof recordingStart !== "number") return;
  const offset = Math.max(0, Number(match[1]) - recordingStart);
  const seek = () => { video.currentTime = offset; };
  if (video.readyState >= 1) seek();
  else video.addEventListener("loadedmetadata", seek, { once: true });
}

/**
 * @param {HTMLElement} root
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} banner
 */
async function showArchive(root, video, banner) {
  banner.textContent = t("webcast.ended");
  const list = el("ol", { class: "webcast__chapters", id: "webcast-chapters" });
  root.append(el("h2", {}, [t("webcast.chapters")]), list);
  try {
    const response = await fetch(context.chapters);
    const { chapters, recordingStart } = await response.json();
    seekToMoment(video, recordingStart);
    if (!chapters.length) list.append(el("li", {}, [t("webcast.noChapters")]));
    for (const chapter of chapters) {
      const who = chapter.memberState ? `${chapter.name} (${chapter.memberState})` : chapter.name;
      const button = el("button", { type: "button", "data-start": String(chapter.startS) }, [
        t("webcast.chapter", { start: formatDuration(chapter.startS), name: who }),
      ]);
      button.addEventListener("click", () => {
        video.currentTime = chapter.startS;
        video.play().catch(() => {});
      });
      const details = [chapter.language, chapter.durationS == null ? "" : formatDuration(chapter.durationS)]
        .filter(Boolean).join(" · ");
      list.append(el("li", {}, [button, details ? ` ${details}` : ""]));
    }
  } catch (error) {
    list.append(el("li", {}, [t("webcast.error", { message: String(error) })]));
  }
  const downloads = el("ul", { class: "webcast__downloads" });
  for (const channel of context.channels) {
    const name = channel.id === "floor" ? t("webcast.floor") : channel.name;
    downloads.append(el("li", {}, [
      el("a", { href: `${context.downloads}${channel.id}.m4a`, download: "" },
        [t("webcast.downloadAudio", { language: name })]),
      " · ",
      el("a", { href: `${context.downloads}${channel.id}.mp4`, download: "" },
        [t("webcast.downloadVideo", { language: name })]),
    ]));
  }
  root.append(el("h2", {}, [t("webcast.downloads")]), downloads);
}

main();
