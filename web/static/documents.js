// @ts-check
/**
 * The document viewer of the room: the page the presenter shows, followed at once; browsing
 * away and "return to the presenter"; zoom (buttons, pinch on a phone); a selectable text
 * layer over each page image (found by the browser's search, read by screen readers); the
 * presenter's highlight and pointer; the register with uploads; search in six languages.
 *
 * Talks to the server on `/documents` (the screen, through `client.namespace`) and to the
 * documents HTTP API with the invite token (docs/protocol.md, "Documents").
 */

import { h, replaceChildren, setText, setMessageAttribute } from "./dom.js";
import { t, errorMessage, uiLanguage, msg, intlLocale } from "./i18n.js";
import { knownMeetings, rememberMeeting, searchMeetings } from "./search.js";
import { meetingApi } from "./api.js";

const LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];
const MANAGERS = new Set(["chair", "secretariat"]);
const WIDTHS = [400, 800, 1400];
const MIN_ZOOM = 1;
const MAX_ZOOM = 4;

/**
 * @typedef {{documentId: string, versionId: string, page: number, pages: number, number?: string, language?: string}} Showing
 * @typedef {{showing: Showing | null, by: string, highlight: Box[], pointer: {x: number, y: number} | null, presenterDelegate: string | null, seq: number, mayPresent?: boolean}} Screen
 * @typedef {{x: number, y: number, w: number, h: number}} Box
 * @typedef {{page: number, widthPt: number, heightPt: number, images: Record<string, {url: string, width: number, height: number, bytes: number}>, text: string}} PageInfo
 * @typedef {{documentId: string, number: string, title: string, language: string, revision: number, pages: PageInfo[]}} VersionPages
 */

/** Whether this reader asked to save data or sits on a very slow link: the small image only. */
function saveData() {
  const connection = /** @type {any} */ (navigator).connection;
  return Boolean(connection && (connection.saveData || /(^|-)2g$/.test(connection.effectiveType ?? "")));
}

export class DocumentViewer {
  /** @type {Screen | null} the presenter's screen */
  #screen = null;
  /** @type {Showing | null} what this reader looks at */
  #local = null;
  #following = true;
  #zoom = 1;
  /** @type {Map<string, Promise<VersionPages>>} */
  #versions = new Map();
  /** @type {any[]} */
  #register = [];
  /** @type {any} */
  #socket = null;
  /** @type {Map<number, {distance: number, zoom: number, x: number, y: number}>} */
  #pointers = new Map();
  #pinchStart = 0;
  #pinchZoom = 1;
  #stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #pollTimer = undefined;
  /** @type {{page: number, image: HTMLImageElement} | null} the next page's image, fetched ahead */
  #ahead = null;

  /**
   * @param {import("./protocol.js").MeetingClient} client joined already
   * @param {{onError: (text: string) => void, token?: string, meetingId?: string}} options
   */
  constructor(client, { onError, token, meetingId }) {
    this.client = client;
    this.onError = onError;
    const context = readContext();
    this.token = token ?? context.token;
    this.meetingId = meetingId ?? context.meetingId;
    this.role = client.self?.role ?? "observer";

    this.status = h("p", { class: "documents__status", attrs: { id: "documents-status", role: "status", "aria-live": "polite" } });
    this.returnButton = h("button", { class: "button button--primary", attrs: { type: "button", id: "documents-return", hidden: true }, text: msg("documents.return"), on: { click: () => this.returnToPresenter() } });
    this.showButton = h("button", { class: "button", attrs: { type: "button", id: "documents-show", hidden: true }, text: msg("documents.show"), on: { click: () => this.#showLocal() } });
    this.prevButton = h("button", { class: "button", attrs: { type: "button", id: "documents-prev", "aria-label": msg("documents.previous") }, text: "‹", on: { click: () => this.turn(-1) } });
    this.nextButton = h("button", { class: "button", attrs: { type: "button", id: "documents-next", "aria-label": msg("documents.next") }, text: "›", on: { click: () => this.turn(1) } });
    this.pageLabel = h("span", { class: "documents__page", attrs: { id: "documents-page" } });
    this.zoomOut = h("button", { class: "button", attrs: { type: "button", "aria-label": msg("documents.zoomOut") }, text: "−", on: { click: () => this.setZoom(this.#zoom / 1.25) } });
    this.zoomIn = h("button", { class: "button", attrs: { type: "button", "aria-label": msg("documents.zoomIn") }, text: "+", on: { click: () => this.setZoom(this.#zoom * 1.25) } });
    this.zoomFit = h("button", { class: "button", attrs: { type: "button" }, text: msg("documents.zoomFit"), on: { click: () => this.setZoom(1) } });
    this.highlightButton = h("button", { class: "button", attrs: { type: "button", id: "documents-highlight", hidden: true }, text: msg("documents.highlight"), on: { click: () => this.#highlightSelection() } });
    this.clearButton = h("button", { class: "button", attrs: { type: "button", hidden: true }, text: msg("documents.clearHighlight"), on: { click: () => this.#sendHighlight([]) } });
    this.giveButton = h("button", { class: "button", attrs: { type: "button", id: "documents-give", hidden: true }, text: msg("documents.give"), on: { click: () => this.#give() } });

    this.image = h("img", { class: "documents__image", attrs: { id: "documents-image", alt: "", decoding: "async" } });
    this.textLayer = h("div", { class: "documents__text", attrs: { id: "documents-text", lang: "" } });
    // The original's own text (where the upload was a DOCX), for screen readers: PDFium's
    // positioned runs can put Arabic words out of order.
    this.reading = h("div", { class: "documents__reading", attrs: { id: "documents-reading" } });
    this.marks = h("div", { class: "documents__marks", attrs: { "aria-hidden": "true" } });
    this.pointer = h("div", { class: "documents__pointer", attrs: { "aria-hidden": "true", hidden: true } });
    this.sheet = h("div", { class: "documents__sheet", attrs: { id: "documents-sheet" } }, this.image, this.marks, this.textLayer, this.pointer, this.reading);
    this.frame = h("div", { class: "documents__frame", attrs: { id: "documents-frame", tabindex: 0 } }, this.sheet);
    this.empty = h("p", { class: "documents__empty", text: msg("documents.none") });

    this.registerList = h("ul", { class: "documents__register", attrs: { id: "documents-register" } });
    this.uploadForm = this.#uploadForm();
    this.searchResults = h("div", { class: "documents__results", attrs: { id: "documents-results", "aria-live": "polite" } });
    this.searchForm = this.#searchForm();

    this.root = h(
      "section",
      { class: "documents", attrs: { id: "documents", "aria-labelledby": "documents-heading" } },
      h("h2", { class: "documents__heading", attrs: { id: "documents-heading" }, text: msg("documents.heading") }),
      h("div", { class: "documents__bar" }, this.prevButton, this.pageLabel, this.nextButton, this.zoomOut, this.zoomIn, this.zoomFit),
      h("div", { class: "documents__follow" }, this.status, this.returnButton, this.showButton, this.highlightButton, this.clearButton, this.giveButton),
      this.empty,
      this.frame,
      h("details", { class: "documents__panel" }, h("summary", { text: msg("documents.search.label") }), this.searchForm, this.searchResults),
      h("details", { class: "documents__panel" }, h("summary", { text: msg("documents.register") }), this.registerList, this.uploadForm),
    );
    this.frame.hidden = true;
    this.#bindGestures();
    new ResizeObserver(() => this.#sizeText()).observe(this.frame);
  }

  /** Connect `/documents`, load the register, open a `#document=...&page=...` link. */
  async start() {
    try {
      this.#socket = await this.client.namespace("/documents", (socket) => {
        socket.on("screen", (/** @type {Screen} */ screen) => this.#onScreen(screen));
        socket.on("register", () => this.#loadRegister());
      });
      const reply = await this.#call("state", {});
      this.#onScreen(reply.screen);
    } catch (err) {
      this.onError(errorMessage(err));
    }
    await this.#loadRegister();
    const link = new URLSearchParams(location.hash.slice(1));
    const documentId = link.get("document");
    const versionId = link.get("version");
    if (documentId && versionId) await this.browse(documentId, versionId, Number(link.get("page") ?? 1));
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
  }

  get mayPresent() {
    return Boolean(this.#screen?.mayPresent);
  }

  /**
   * @param {string} event
   * @param {object} payload
   * @returns {Promise<any>}
   */
  async #call(event, payload) {
    if (!this.#socket) throw new Error("not connected");
    const reply = await this.#socket.timeout(10000).emitWithAck(event, payload);
    if (!reply?.ok) {
      const error = new Error(reply?.error?.message ?? "error");
      /** @type {any} */ (error).code = reply?.error?.code;
      throw error;
    }
    return reply;
  }

  /**
   * @param {string} path under /api/meetings/<id>
   * @param {RequestInit} [init]
   */
  async #api(path, init = {}) {
    return meetingApi(this.meetingId, this.token, path, init);
  }

  /** @param {string} url */
  #withToken(url) {
    return `${url}?t=${encodeURIComponent(this.token)}`;
  }

  /** @param {string} versionId @returns {Promise<VersionPages>} */
  #pages(versionId) {
    let known = this.#versions.get(versionId);
    if (!known) {
      known = this.#api(`/versions/${versionId}/pages`);
      known.catch(() => this.#versions.delete(versionId));
      this.#versions.set(versionId, known);
    }
    return known;
  }

  // the presenter's screen

  /** @param {Screen} screen */
  #onScreen(screen) {
    if (!screen || (this.#screen && screen.seq < this.#screen.seq)) return;
    const mayPresent = screen.mayPresent ?? (MANAGERS.has(this.role) || screen.presenterDelegate === this.client.self?.id);
    this.#screen = { ...screen, mayPresent };
    if (this.#following && screen.showing) this.#render(screen.showing);
    else this.#drawMarks();
    this.#renderFollow();
  }

  returnToPresenter() {
    this.#following = true;
    if (this.#screen?.showing) this.#render(this.#screen.showing);
    this.#renderFollow();
  }

  /**
   * Look at a page on one's own (a search hit, the register), leaving the presenter.
   * @param {string} documentId
   * @param {string} versionId
   * @param {number} page
   */
  async browse(documentId, versionId, page) {
    try {
      const version = await this.#pages(versionId);
      const shown = this.#screen?.showing;
      this.#following = Boolean(shown && shown.versionId === versionId && shown.page === page);
      const showing = { documentId, versionId, page: Math.min(Math.max(1, page), version.pages.length), pages: version.pages.length, number: version.number, language: version.language };
      await this.#render(showing);
      this.#renderFollow();
      this.frame.scrollIntoView({ block: "nearest" });
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  /**
   * The next or previous page: the presenter turns everyone's page; anyone else browses.
   * @param {number} step
   */
  async turn(step) {
    const at = this.#local;
    if (!at) return;
    const page = at.page + step;
    if (page < 1 || page > at.pages) return;
    if (this.mayPresent && this.#following) {
      try {
        const reply = await this.#call("show", { documentId: at.documentId, versionId: at.versionId, page });
        this.#onScreen(reply.screen);
      } catch (err) {
        this.onError(errorMessage(err));
      }
      return;
    }
    await this.browse(at.documentId, at.versionId, page);
  }

  async #showLocal() {
    const at = this.#local;
    if (!at) return;
    try {
      const reply = await this.#call("show", { documentId: at.documentId, versionId: at.versionId, page: at.page });
      this.#following = true;
      this.#onScreen(reply.screen);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  async #give() {
    const delegate = this.#screen?.presenterDelegate;
    const speaker = /** @type {any} */ (this.client.floor)?.speaker?.participantId ?? null;
    try {
      const reply = await this.#call("give", { participantId: delegate ? null : speaker });
      this.#onScreen(reply.screen);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  #renderFollow() {
    const shown = this.#screen?.showing;
    const presenting = this.mayPresent && this.#following;
    this.returnButton.hidden = this.#following || !shown;
    this.showButton.hidden = !this.mayPresent || this.#following || !this.#local;
    this.highlightButton.hidden = !presenting || !this.#local;
    this.clearButton.hidden = !presenting || !this.#screen?.highlight?.length;
    this.giveButton.hidden = this.role !== "chair";
    // msg(): these texts follow a change of UI language without a new render
    setText(this.giveButton, msg(this.#screen?.presenterDelegate ? "documents.take" : "documents.give"));
    if (!shown && !this.#local) setText(this.status, "");
    else if (presenting) setText(this.status, msg("documents.presenting"));
    else if (this.#following) setText(this.status, msg("documents.following"));
    else setText(this.status, shown ? msg("documents.away", { page: shown.page }) : "");
    this.root.dataset.following = String(this.#following);
  }

  // the page

  /** @param {Showing} showing */
  async #render(showing) {
    this.#local = showing;
    const version = await this.#pages(showing.versionId);
    if (this.#local !== showing || this.#stopped) return; // a newer page came meanwhile
    const info = version.pages[showing.page - 1];
    if (!info) return;
    this.empty.hidden = true;
    this.frame.hidden = false;
    this.sheet.style.aspectRatio = `${info.widthPt} / ${info.heightPt}`;
    const images = WIDTHS.filter((w) => info.images[w]).map((w) => ({ w, url: this.#withToken(info.images[w].url) }));
    if (saveData()) {
      this.image.removeAttribute("srcset");
      this.image.src = images[0].url;
    } else {
      this.image.srcset = images.map((i) => `${i.url} ${i.w}w`).join(", ");
      this.image.sizes = `${Math.ceil(this.frame.clientWidth * this.#zoom) || 400}px`;
      this.image.src = images[0].url;
    }
    setMessageAttribute(this.image, "alt", msg("documents.pageImage", { number: version.number, page: showing.page }));
    replaceChildren(this.pageLabel, `${version.number} · `, h("span", { text: msg("documents.page", { page: showing.page, pages: version.pages.length }) }));
    this.prevButton.disabled = showing.page <= 1;
    this.nextButton.disabled = showing.page >= version.pages.length;
    this.root.dataset.page = String(showing.page);
    this.root.dataset.versionId = showing.versionId;
    this.textLayer.lang = version.language;
    this.textLayer.dir = version.language === "ar" ? "rtl" : "ltr";
    if (this.root.dataset.textPage !== `${showing.versionId}/${showing.page}`) {
      // another page's text must not stand for this one (screen readers, selection)
      replaceChildren(this.textLayer);
      replaceChildren(this.reading);
      delete this.root.dataset.textPage;
    }
    // a page fetched ahead that is not this one gives the link back to this page's image
    if (this.#ahead && this.#ahead.page !== showing.page) {
      this.#ahead.image.src = "";
      this.#ahead = null;
    }
    this.#drawMarks();
    this.#renderFollow();
    try {
      const layer = await this.#api(`/versions/${showing.versionId}/pages/${showing.page}/text`);
      if (this.#local !== showing) return;
      replaceChildren(
        this.textLayer,
        ...layer.runs.map((/** @type {Box & {text: string}} */ run) => {
          const span = h("span", { text: run.text });
          span.style.left = `${run.x * 100}%`;
          span.style.top = `${run.y * 100}%`;
          span.style.width = `${run.w * 100}%`;
          span.style.height = `${run.h * 100}%`;
          span.dataset.h = String(run.h);
          return span;
        }),
      );
      this.textLayer.setAttribute("aria-hidden", String(Boolean(layer.exact)));
      this.reading.lang = version.language;
      this.reading.dir = this.textLayer.dir;
      replaceChildren(this.reading, ...(layer.exact ? layer.text.split("\n").map((/** @type {string} */ line) => h("p", { text: line })) : []));
      this.root.dataset.textPage = `${showing.versionId}/${showing.page}`;
      this.#sizeText();
    } catch (err) {
      this.onError(errorMessage(err));
    }
    // the next page is the likely next one: fetch its image while the link is idle
    const next = version.pages[showing.page];
    if (next) {
      const width = saveData() ? WIDTHS[0] : WIDTHS.find((w) => w >= this.frame.clientWidth * this.#zoom * devicePixelRatio) ?? WIDTHS[WIDTHS.length - 1];
      const image = next.images[width] ?? next.images[WIDTHS[0]];
      if (image) {
        const ahead = new Image();
        ahead.src = this.#withToken(image.url);
        this.#ahead = { page: showing.page + 1, image: ahead };
        ahead.addEventListener("load", () => {
          if (this.#ahead?.image === ahead) this.#ahead = null;
        });
      }
    }
  }

  #sizeText() {
    const height = this.sheet.clientHeight;
    for (const span of /** @type {NodeListOf<HTMLElement>} */ (this.textLayer.querySelectorAll("span"))) {
      span.style.fontSize = `${Number(span.dataset.h) * height * 0.9}px`;
    }
    if (this.image.srcset) this.image.sizes = `${Math.ceil(this.frame.clientWidth * this.#zoom) || 400}px`;
  }

  #drawMarks() {
    const screen = this.#screen;
    const here = screen?.showing && this.#local && screen.showing.versionId === this.#local.versionId && screen.showing.page === this.#local.page;
    replaceChildren(
      this.marks,
      ...(here && screen ? screen.highlight : []).map((box) => {
        const mark = h("div", { class: "documents__mark" });
        mark.style.left = `${box.x * 100}%`;
        mark.style.top = `${box.y * 100}%`;
        mark.style.width = `${box.w * 100}%`;
        mark.style.height = `${box.h * 100}%`;
        return mark;
      }),
    );
    this.marks.dataset.count = String(here && screen ? screen.highlight.length : 0);
    const pointer = here && screen ? screen.pointer : null;
    this.pointer.hidden = !pointer;
    if (pointer) {
      this.pointer.style.left = `${pointer.x * 100}%`;
      this.pointer.style.top = `${pointer.y * 100}%`;
    }
  }

  /** @param {number} zoom */
  setZoom(zoom) {
    this.#zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
    this.sheet.style.width = `${this.#zoom * 100}%`;
    this.#sizeText();
  }

  /** Pinch to zoom (two pointers), a double tap or double click by the presenter to point. */
  #bindGestures() {
    const frame = this.frame;
    frame.style.touchAction = "pan-x pan-y";
    const distance = () => {
      const [a, b] = [...this.#pointers.values()];
      return Math.hypot(a.x - b.x, a.y - b.y);
    };
    frame.addEventListener("pointerdown", (event) => {
      this.#pointers.set(event.pointerId, { distance: 0, zoom: this.#zoom, x: event.clientX, y: event.clientY });
      if (this.#pointers.size === 2) {
        this.#pinchStart = distance();
        this.#pinchZoom = this.#zoom;
      }
    });
    frame.addEventListener("pointermove", (event) => {
      const known = this.#pointers.get(event.pointerId);
      if (!known) return;
      known.x = event.clientX;
      known.y = event.clientY;
      if (this.#pointers.size === 2 && this.#pinchStart > 0) this.setZoom(this.#pinchZoom * (distance() / this.#pinchStart));
    });
    for (const type of ["pointerup", "pointercancel", "pointerleave"]) {
      frame.addEventListener(type, (event) => {
        this.#pointers.delete(/** @type {PointerEvent} */ (event).pointerId);
        if (this.#pointers.size < 2) this.#pinchStart = 0;
      });
    }
    frame.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "PageDown") this.turn(document.dir === "rtl" && event.key === "ArrowRight" ? -1 : 1);
      else if (event.key === "ArrowLeft" || event.key === "PageUp") this.turn(document.dir === "rtl" && event.key === "ArrowLeft" ? 1 : -1);
      else return;
      event.preventDefault();
    });
    this.sheet.addEventListener("dblclick", (event) => {
      if (!this.mayPresent || !this.#following) return;
      const rect = this.sheet.getBoundingClientRect();
      const x = (event.clientX - rect.left) / rect.width;
      const y = (event.clientY - rect.top) / rect.height;
      this.#call("point", { x: clamp(x), y: clamp(y) }).catch((err) => this.onError(errorMessage(err)));
    });
  }

  #highlightSelection() {
    const selection = document.getSelection();
    if (!selection || selection.rangeCount === 0 || !this.#local) return;
    const sheet = this.sheet.getBoundingClientRect();
    const boxes = [...selection.getRangeAt(0).getClientRects()]
      .filter((r) => r.width > 0 && r.height > 0)
      .slice(0, 32)
      .map((r) => ({
        x: clamp((r.left - sheet.left) / sheet.width),
        y: clamp((r.top - sheet.top) / sheet.height),
        w: clamp(r.width / sheet.width),
        h: clamp(r.height / sheet.height),
      }));
    this.#sendHighlight(boxes);
  }

  /** @param {Box[]} boxes */
  async #sendHighlight(boxes) {
    if (!this.#local) return;
    try {
      const reply = await this.#call("highlight", { page: this.#local.page, boxes });
      this.#onScreen(reply.screen);
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  // the register and uploads

  async #loadRegister() {
    try {
      const body = await this.#api("/documents");
      this.#register = body.documents;
    } catch (err) {
      this.onError(errorMessage(err));
      return;
    }
    replaceChildren(
      this.registerList,
      ...(this.#register.length ? [] : [h("li", { text: msg("documents.empty") })]),
      ...this.#register.map((doc) => {
        return h(
          "li",
          { class: "documents__entry", attrs: { "data-document": doc.id } },
          h("span", { class: "documents__number", text: doc.number }),
          h("span", { class: "documents__title", text: ` ${doc.title}` }),
          doc.source ? h("span", { class: "documents__source", text: ` · ${doc.source}` }) : null,
          doc.status === "submitted" ? h("span", { class: "documents__badge", text: msg("documents.submitted") }) : null,
          h(
            "span",
            { class: "documents__versions" },
            ...doc.versions.map((/** @type {any} */ v) =>
              h("button", {
                class: "button button--small",
                attrs: { type: "button", lang: v.language, "data-version": v.id },
                on: { click: () => this.browse(doc.id, v.id, 1) },
              }, `${t(`documents.lang.${v.language}`)}${v.revisionLabel ? ` ${v.revisionLabel}` : ""}`,
              // "superseded" is in the UI language (and follows a change of it)
              v.superseded ? " (" : null, v.superseded ? h("span", { text: msg("documents.superseded") }) : null, v.superseded ? ")" : null),
            ),
          ),
          doc.status === "submitted" && MANAGERS.has(this.role)
            ? h("button", { class: "button button--small", attrs: { type: "button" }, text: msg("documents.accept"), on: { click: () => this.#accept(doc.id) } })
            : null,
        );
      }),
    );
  }

  /** @param {string} documentId */
  async #accept(documentId) {
    try {
      await this.#api(`/documents/${documentId}/accept`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: this.client.self?.name ?? "" }) });
      await this.#loadRegister();
    } catch (err) {
      this.onError(errorMessage(err));
    }
  }

  #uploadForm() {
    const mayUpload = MANAGERS.has(this.role) || this.role === "delegate";
    const field = (/** @type {string} */ name, /** @type {string} */ label, /** @type {HTMLElement} */ input) =>
      h("label", { class: "documents__field" }, h("span", { text: msg(label) }), input);
    const number = h("input", { attrs: { name: "number", required: true, maxlength: 40, autocomplete: "off" } });
    const title = h("input", { attrs: { name: "title", maxlength: 300 } });
    const source = h("input", { attrs: { name: "source", maxlength: 200 } });
    const language = h("select", { attrs: { name: "language" } }, ...LANGUAGES.map((l) => h("option", { attrs: { value: l, lang: l }, text: msg(`documents.lang.${l}`) })));
    language.value = uiLanguage();
    const revision = h("input", { attrs: { name: "revision", type: "number", min: 0, max: 20, value: 0 } });
    const file = h("input", { attrs: { name: "file", type: "file", required: true, accept: ".pdf,.docx,.pptx,.xlsx,.odt,.odp,.ods" } });
    const progress = h("progress", { attrs: { max: 1, value: 0, hidden: true } });
    const note = h("p", { class: "documents__note", attrs: { role: "status", "aria-live": "polite" } });
    const form = h(
      "form",
      { class: "documents__upload", attrs: { id: "documents-upload", hidden: !mayUpload } },
      h("h3", { text: msg("documents.upload.heading") }),
      field("number", "documents.upload.number", number),
      field("title", "documents.upload.title", title),
      field("source", "documents.upload.source", source),
      field("language", "documents.upload.language", language),
      field("revision", "documents.upload.revision", revision),
      field("file", "documents.upload.file", file),
      h("button", { class: "button button--primary", attrs: { type: "submit" }, text: msg(MANAGERS.has(this.role) ? "documents.upload.submit" : "documents.upload.submitContribution") }),
      progress,
      note,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = file.files?.[0];
      if (!chosen) return;
      note.textContent = "";
      try {
        const wanted = number.value.trim().toUpperCase().replace(/\s+/g, " ");
        let doc = this.#register.find((d) => d.number.replace(/\s+/g, "") === wanted.replace(/\s+/g, ""));
        if (!doc) {
          const body = await this.#api("/documents", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ number: number.value, title: title.value || number.value, source: source.value, name: this.client.self?.name ?? "" }) });
          doc = body.document;
        }
        const data = new FormData();
        data.append("file", chosen, chosen.name);
        const query = new URLSearchParams({ language: language.value, revision: String(Number(revision.value) || 0), name: this.client.self?.name ?? "" });
        const body = await this.#api(`/documents/${doc.id}/versions?${query}`, { method: "POST", body: data });
        progress.hidden = false;
        await this.#follow(body.job, doc.number, progress, note);
      } catch (err) {
        setText(note, msg("documents.upload.failed", { message: errorMessage(err) }));
      }
    });
    return form;
  }

  /**
   * Follow a conversion until it ends.
   * @param {any} job
   * @param {string} number
   * @param {HTMLProgressElement} progress
   * @param {HTMLElement} note
   */
  async #follow(job, number, progress, note) {
    while (job.state === "running" && !this.#stopped) {
      progress.value = job.progress;
      setText(note, msg("documents.upload.progress", { number, percent: Math.round(job.progress * 100) }));
      await new Promise((resolve) => (this.#pollTimer = setTimeout(resolve, 500)));
      job = (await this.#api(`/documents/jobs/${job.id}`)).job;
    }
    progress.hidden = true;
    if (job.state === "ready") setText(note, msg("documents.upload.ready", { number, pages: job.pages }));
    else if (job.error) setText(note, msg("documents.upload.failed", { message: job.error.message }));
    await this.#loadRegister();
  }

  // search: this meeting or every meeting this browser joined (search.js), over the
  // documents, the final captions and the floor log

  #searchForm() {
    rememberMeeting(this.meetingId, this.token, readContext().title);
    const query = h("input", { attrs: { id: "documents-query", name: "q", type: "search", required: true, maxlength: 200, "aria-label": msg("documents.search.label") } });
    const language = h(
      "select",
      { attrs: { id: "documents-query-language", name: "language", "aria-label": msg("documents.upload.language") } },
      h("option", { attrs: { value: "" }, text: msg("documents.search.allLanguages") }),
      ...LANGUAGES.map((l) => h("option", { attrs: { value: l, lang: l }, text: msg(`documents.lang.${l}`) })),
    );
    const others = knownMeetings().filter((m) => m.meetingId !== this.meetingId);
    const scope = h(
      "select",
      { attrs: { id: "documents-query-scope", name: "scope", "aria-label": msg("documents.search.scope"), hidden: others.length === 0 } },
      h("option", { attrs: { value: "here" }, text: msg("documents.search.thisMeeting") }),
      h("option", { attrs: { value: "all" }, text: msg("documents.search.allMeetings", { n: others.length + 1 }) }),
    );
    const form = h("form", { class: "documents__search", attrs: { role: "search" } }, query, language, scope, h("button", { class: "button", attrs: { type: "submit" }, text: msg("documents.search.submit") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const meetings = scope.value === "all" ? knownMeetings() : [];
        const tokens = [this.token, ...meetings.filter((m) => m.meetingId !== this.meetingId).map((m) => m.token)];
        const body = await searchMeetings(tokens, { q: query.value, language: language.value || undefined });
        for (const m of body.meetings) {
          const known = meetings.find((k) => k.meetingId === m.id);
          if (known && known.title !== m.title) rememberMeeting(m.id, known.token, m.title);
        }
        this.#renderHits(body.hits, body.lines, scope.value === "all");
      } catch (err) {
        this.onError(errorMessage(err));
      }
    });
    return form;
  }

  /** A hit of another meeting opens there (its page, with its token). @param {string} meetingId @param {string} hash */
  #elsewhere(meetingId, hash) {
    const known = knownMeetings().find((m) => m.meetingId === meetingId);
    return `/m/${encodeURIComponent(meetingId)}?t=${encodeURIComponent(known?.token ?? "")}#${hash}`;
  }

  /** @param {{text: string, match: boolean}[]} snippet @param {string} language */
  #snippet(snippet, language) {
    return h("p", { class: "documents__snippet", attrs: { lang: language || "", dir: language === "ar" ? "rtl" : "auto" } }, ...snippet.map((s) => (s.match ? h("mark", { text: s.text }) : s.text)));
  }

  /** @param {any[]} hits @param {any[]} lines @param {boolean} wide */
  #renderHits(hits, lines = [], wide = false) {
    const here = (/** @type {any} */ hit) => !hit.meetingId || hit.meetingId === this.meetingId;
    const when = new Intl.DateTimeFormat(intlLocale(), { dateStyle: "medium", timeStyle: "short" });
    const meetingLabel = (/** @type {any} */ hit) => (wide && hit.meetingTitle ? h("span", { class: "documents__meeting", text: `${hit.meetingTitle} · ` }) : null);
    const lineItem = (/** @type {any} */ line) =>
      h(
        "li",
        { class: "documents__hit" },
        meetingLabel(line),
        h("span", { class: "documents__number", text: `${when.format(new Date(line.at * 1000))}${line.language ? ` · ${t(`documents.lang.${line.language}`)}` : ""}` }),
        h("span", { class: "documents__title", text: ` ${t("documents.search.spoke", { speaker: line.speaker })}` }),
        line.snippet.length ? this.#snippet(line.snippet, line.language) : null,
        h("a", { class: "button button--small", attrs: { href: line.link }, text: msg("documents.search.archive") }),
      );
    const captions = lines.filter((l) => l.source === "captions");
    const floor = lines.filter((l) => l.source === "floor");
    replaceChildren(
      this.searchResults,
      h("p", { text: hits.length ? t("documents.search.count", { n: hits.length }) : lines.length ? "" : t("documents.search.none") }),
      h(
        "ol",
        { class: "documents__hits" },
        ...hits.map((hit) =>
          h(
            "li",
            { class: "documents__hit" },
            meetingLabel(hit),
            h("span", { class: "documents__number", text: `${t("documents.pageImage", { number: hit.number, page: hit.page })} · ${t(`documents.lang.${hit.language}`)}` }),
            h("span", { class: "documents__title", text: ` ${hit.title}` }),
            this.#snippet(hit.snippet, hit.language),
            here(hit)
              ? h("button", { class: "button button--small", attrs: { type: "button" }, text: msg("documents.search.openPage", { page: hit.page }), on: { click: () => this.browse(hit.documentId, hit.versionId, hit.page) } })
              : h("a", { class: "button button--small", attrs: { href: this.#elsewhere(hit.meetingId, `document=${hit.documentId}&version=${hit.versionId}&page=${hit.page}`) }, text: msg("documents.search.openMeeting") }),
            hit.otherLanguages.length && here(hit)
              ? h(
                  "span",
                  { class: "documents__also" },
                  ` ${t("documents.search.alsoIn")} `,
                  ...hit.otherLanguages.map((/** @type {any} */ o) =>
                    h("button", { class: "button button--small", attrs: { type: "button", lang: o.language }, text: msg(`documents.lang.${o.language}`), on: { click: () => this.browse(hit.documentId, o.versionId, o.page) } }),
                  ),
                )
              : null,
          ),
        ),
      ),
      captions.length ? h("h3", { class: "documents__subheading", text: msg("documents.search.captions") }) : null,
      captions.length ? h("ol", { class: "documents__hits", attrs: { id: "documents-caption-hits" } }, ...captions.map(lineItem)) : null,
      floor.length ? h("h3", { class: "documents__subheading", text: msg("documents.search.floor") }) : null,
      floor.length ? h("ol", { class: "documents__hits", attrs: { id: "documents-floor-hits" } }, ...floor.map(lineItem)) : null,
    );
  }
}

/** @param {number} v */
function clamp(v) {
  return Math.min(1, Math.max(0, v));
}

/** The meeting page's context (templates/meeting.html): the meeting id and the invite token. */
function readContext() {
  const element = document.getElementById("rostrum-context");
  try {
    const context = JSON.parse(element?.textContent ?? "{}");
    return { token: String(context.token ?? ""), meetingId: String(context.meeting?.id ?? ""), title: String(context.meeting?.title ?? "") };
  } catch {
    return { token: "", meetingId: "", title: "" };
  }
}
