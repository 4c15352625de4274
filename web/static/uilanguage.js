// @ts-check
/**
 * The UI language menu in the top bar (join page and room): the six UI languages, each named
 * in itself; a choice switches the page in place (i18n.js `setUiLanguage`) and is remembered.
 * It is not the language one listens in (listen.js, the join form's "Language you listen in").
 */

import { h } from "./dom.js";
import { UI_LANGUAGES, UI_LANGUAGE_EVENT, msg, setUiLanguage, uiLanguage } from "./i18n.js";

export class UiLanguageMenu {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.select = h(
      "select",
      { class: "ui-language__select", attrs: { id: "ui-language", name: "uiLanguage" }, on: { change: () => setUiLanguage(this.select.value) } },
      ...UI_LANGUAGES.map((code) => h("option", { props: { value: code }, attrs: { lang: code }, text: msg(`lang.${code}`) })),
    );
    this.select.value = uiLanguage();
    root.replaceChildren(h("label", { class: "ui-language__label", attrs: { for: "ui-language" }, text: msg("ui.language") }), this.select);
    window.addEventListener(UI_LANGUAGE_EVENT, () => {
      if (this.select.value !== uiLanguage()) this.select.value = uiLanguage();
    });
  }
}
