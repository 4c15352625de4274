// @ts-check
/** Small DOM helpers shared by the page modules (join.js, room.js). */

/**
 * @typedef {object} ElementOptions
 * @property {string} [class]
 * @property {Record<string, string | number | boolean | null | undefined>} [attrs] content attributes
 *   (`true` → present and empty, `false`/null → absent)
 * @property {Record<string, any>} [props] IDL properties (e.g. `muted`, `srcObject`, `value`)
 * @property {Record<string, EventListener>} [on] event listeners
 * @property {string} [text] text content (never parsed as HTML)
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
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  Object.assign(el, options.props ?? {});
  for (const [type, listener] of Object.entries(options.on ?? {})) el.addEventListener(type, listener);
  if (options.text !== undefined) el.textContent = options.text;
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
