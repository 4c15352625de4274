"""A probe for the i18n browser tests: the English texts of the UI still shown on a page whose
UI language is another (a text not written through the dictionaries, or not rewritten when the
language changed). Whole words only ("Cancel" inside "Cancelar" is not English left over);
language autonyms and texts with placeholders are not compared."""

from __future__ import annotations

ENGLISH_LEFT = """(lang) => import('/static/i18n.js').then(({ MESSAGES }) => {
    const text = document.body.innerText;
    const escape = (s) => s.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&');
    return Object.entries(MESSAGES.en)
        .filter(([key, value]) => !key.startsWith('lang.') && !value.includes('{')
                && value.length >= 4 && value !== MESSAGES[lang][key]
                && new RegExp(`(^|[^\\\\p{L}])${escape(value)}($|[^\\\\p{L}])`, 'u').test(text))
        .map(([key, value]) => `${key}: ${value}`);
})"""
