// Reads every UI message module (web/static/messages/*.js) and the list i18n.js merges
// (AREAS), and prints one JSON report of what is wrong: tests/unit/test_messages.py asserts on
// it. Run: node tests/unit/messages_report.mjs <web/static>
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const staticDir = resolve(process.argv[2]);
const LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];
// Plural forms that may leave the number out ("one participant", "مشاركان").
const COUNTLESS_FORMS = new Set(["zero", "one", "two"]);
// Latin words a text in Arabic, Chinese or Russian may keep: names, units, keys on a keyboard.
// Names that stay in Latin script in every language: products, keys of the keyboard, acronyms.
const LATIN_ALLOWED = /JavaScript|Rostrum|Zoom|kbit\/s|Mbit\/s|\b(?:Alt|Enter|Esc|Tab|Shift)\b|\b[A-Z0-9]+\b/g;

const placeholders = (text) => new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));

const { AREAS, UI_LANGUAGES } = await import(pathToFileURL(join(staticDir, "i18n.js")).href);
const report = { modules: [], areasListed: AREAS.length, problems: [] };
const problem = (module, kind, detail) => report.problems.push({ module, kind, ...detail });
const seenKeys = new Map();

if (JSON.stringify(UI_LANGUAGES) !== JSON.stringify(LANGUAGES)) problem("i18n.js", "ui-languages", { got: UI_LANGUAGES });

const files = readdirSync(join(staticDir, "messages")).filter((f) => f.endsWith(".js")).sort();
for (const file of files) {
  const area = file.slice(0, -3);
  const module = `messages/${file}`;
  const dictionaries = (await import(pathToFileURL(join(staticDir, "messages", file)).href)).default;
  report.modules.push(module);
  if (!AREAS.includes(dictionaries)) problem(module, "not-in-areas", {});
  const languages = Object.keys(dictionaries ?? {});
  for (const lang of LANGUAGES) if (!languages.includes(lang)) problem(module, "missing-language", { lang });
  for (const lang of languages) if (!LANGUAGES.includes(lang)) problem(module, "unknown-language", { lang });
  const en = dictionaries?.en ?? {};

  // The English keys, plain and plural (base → its forms).
  const plain = new Set();
  const plural = new Map();
  for (const key of Object.keys(en)) {
    const [base, form] = key.split("#");
    if (form === undefined) plain.add(key);
    else plural.set(base, [...(plural.get(base) ?? []), form]);
    if (area !== "core" && !key.startsWith(`${area}.`)) problem(module, "key-prefix", { key });
    if (seenKeys.has(base) && seenKeys.get(base) !== module) problem(module, "key-collision", { key, with: seenKeys.get(base) });
    seenKeys.set(base, module);
  }
  for (const [base, forms] of plural) {
    if (plain.has(base)) problem(module, "plural-and-plain", { key: base });
    for (const need of new Intl.PluralRules("en").resolvedOptions().pluralCategories) {
      if (!forms.includes(need)) problem(module, "missing-plural-form", { lang: "en", key: `${base}#${need}` });
    }
  }

  for (const lang of LANGUAGES) {
    const dict = dictionaries?.[lang] ?? {};
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    for (const key of plain) {
      const text = dict[key];
      if (typeof text !== "string" || text.trim() === "") {
        problem(module, "missing-key", { lang, key });
        continue;
      }
      if (!sameSet(placeholders(text), placeholders(en[key]))) {
        problem(module, "placeholders", { lang, key, want: [...placeholders(en[key])], got: [...placeholders(text)] });
      }
    }
    for (const [base] of plural) {
      const want = placeholders(en[`${base}#other`] ?? "");
      for (const category of categories) {
        const text = dict[`${base}#${category}`];
        if (typeof text !== "string" || text.trim() === "") {
          problem(module, "missing-plural-form", { lang, key: `${base}#${category}` });
          continue;
        }
        const got = placeholders(text);
        const expected = COUNTLESS_FORMS.has(category) ? new Set([...want].filter((p) => p !== "count")) : want;
        const ok = sameSet(got, want) || (COUNTLESS_FORMS.has(category) && sameSet(got, expected));
        if (!ok) problem(module, "placeholders", { lang, key: `${base}#${category}`, want: [...want], got: [...got] });
      }
    }
    for (const key of Object.keys(dict)) {
      const [base, form] = key.split("#");
      const known = form === undefined ? plain.has(key) : plural.has(base);
      if (!known) problem(module, "extra-key", { lang, key });
      else if (form !== undefined && !categories.includes(form)) problem(module, "unused-plural-form", { lang, key });
      // Untranslated: Latin words left in a text written in another script.
      if (["ar", "zh", "ru"].includes(lang) && !/(^|\.)lang\./.test(key) && typeof dict[key] === "string") {
        const rest = dict[key].replace(/\{\w+\}/g, "").replace(LATIN_ALLOWED, "");
        if (/[A-Za-z]{2,}/.test(rest)) problem(module, "latin-in-translation", { lang, key, text: dict[key] });
      }
    }
  }
}
console.log(JSON.stringify(report));
