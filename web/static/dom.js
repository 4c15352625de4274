// @ts-check
/** Small DOM helpers shared by the page modules (join.js, room.js). */

import { Message, keepMessages, forgetTextMessage } from "./i18n.js";

/**
 * @typedef {object} ElementOptions
 * @property {string} [class]
 * @property {Record<string, string | number | boolean | Message | null | undefined>} [attrs] content
 *   attributes (`true` → present and empty, `false`/null → absent; a `Message` from `msg()` is
 *   written again when the UI language changes)
 * @property {Record<string, any>} [props] IDL properties (e.g. `muted`, `srcObject`, `value`)
 * @property {Record<string, EventListener>} [on] event listeners
 * @property {string | Message} [text] text content (never parsed as HTML; a `Message` is written
 *   again when the UI language changes)
 */

/**
 * Create an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {ElementOptions} [options]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, options = {}, ...children) {
  const el = document.createElement(tag);
  if (options.class) el.className = options.class;
  /** @type {Record<string, Message>} */
  const kept = {};
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (value instanceof Message) kept[name] = value;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  Object.assign(el, options.props ?? {});
  for (const [type, listener] of Object.entries(options.on ?? {})) el.addEventListener(type, listener);
  if (options.text !== undefined) el.textContent = String(options.text);
  const text = options.text instanceof Message ? options.text : undefined;
  if (text || Object.keys(kept).length) keepMessages(el, { text, attrs: kept });
  for (const child of children) if (child) el.append(child);
  return el;
}

/**
 * Replace every child of `parent`.
 * @param {Element} parent
 * @param {Array<Node | string | null | undefined | false>} children
 */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren(.../** @type {Array<Node | string>} */ (children.filter(Boolean)));
}

/**
 * Make `parent`'s children the elements for `items`, in order, reusing the element already
 * made for each key: only new items are created, only gone ones removed, and a child is
 * moved only when it is out of place. Keeps long lists (300 participants) cheap to update and
 * keeps focus on a control that stays.
 * @template T
 * @param {Element} parent
 * @param {T[]} items
 * @param {(item: T) => string} key
 * @param {Map<string, HTMLElement>} cache key → element, owned by the caller
 * @param {(item: T) => HTMLElement} create
 * @param {(element: HTMLElement, item: T) => void} update called for every item, new or kept
 */
export function reconcile(parent, items, key, cache, create, update) {
  // Moving a node blurs it: remember the focus and put it back if a move took it.
  const focused = /** @type {HTMLElement | null} */ (document.activeElement);
  const hadFocus = focused !== null && focused !== document.body && parent.contains(focused);
  const wanted = new Set();
  let cursor = /** @type {ChildNode | null} */ (parent.firstChild);
  for (const item of items) {
    const k = key(item);
    wanted.add(k);
    let element = cache.get(k);
    if (!element) {
      element = create(item);
      cache.set(k, element);
    }
    update(element, item);
    if (element === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(element, cursor);
    }
  }
  for (const [k, element] of cache) {
    if (!wanted.has(k)) {
      element.remove();
      cache.delete(k);
    }
  }
  // Anything else left after the wanted children (not made by us) goes too.
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  if (hadFocus && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

/**
 * Set an element's text only when it changed (no needless layout or screen-reader chatter).
 * A `msg()` text is kept on the element, so a change of UI language rewrites it.
 * @param {Element} element
 * @param {string | Message} text
 */
export function setText(element, text) {
  if (element instanceof HTMLElement && element.dataset.i18n) forgetTextMessage(element);
  if (text instanceof Message) keepMessages(element, { text });
  const value = String(text);
  if (element.textContent !== value) element.textContent = value;
}

/**
 * Set an attribute to a text that follows the UI language (`msg()`), or to a plain string.
 * @param {Element} element
 * @param {string} name
 * @param {string | Message} value
 */
export function setMessageAttribute(element, name, value) {
  if (value instanceof Message) keepMessages(element, { attrs: { [name]: value } });
  element.setAttribute(name, String(value));
}

/**
 * Ask a yes/no question in a modal dialog (`<dialog>`: focus moves in, Escape cancels, focus
 * returns to where it was). Resolves true when confirmed.
 * @param {object} options
 * @param {string} options.title
 * @param {string} options.message
 * @param {string} options.confirm label of the confirming button
 * @param {string} options.cancel label of the cancelling button
 * @param {boolean} [options.danger] the confirming button is destructive
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, message, confirm, cancel, danger = false }) {
  const previous = /** @type {HTMLElement | null} */ (document.activeElement);
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const dialog = h(
    "dialog",
    { class: "dialog", attrs: { "aria-labelledby": titleId, id: "confirm-dialog" } },
    h(
      "form",
      { attrs: { method: "dialog" } },
      h("h2", { class: "dialog__title", attrs: { id: titleId }, text: title }),
      h("p", { class: "dialog__message", text: message }),
      h(
        "div",
        { class: "dialog__actions" },
        h("button", { class: "button", attrs: { value: "cancel", id: "confirm-cancel" }, text: cancel }),
        h("button", {
          class: `button ${danger ? "button--danger" : "button--primary"}`,
          attrs: { value: "confirm", id: "confirm-ok" },
          text: confirm,
        }),
      ),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      dialog.remove();
      previous?.focus?.();
      resolve(confirmed);
    });
    dialog.showModal();
    /** @type {HTMLButtonElement | null} */ (dialog.querySelector("#confirm-cancel"))?.focus();
  });
}
