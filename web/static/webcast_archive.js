// @ts-check
/** The list of a deployment's archived meetings (GET /api/webcast/archives). */

import { UI_LANGUAGES, direction, t } from "./i18n.js";

async function main() {
  const wanted = new URLSearchParams(location.search).get("lang") ?? navigator.language.slice(0, 2);
  const lang = UI_LANGUAGES.includes(wanted) ? wanted : "en";
  document.documentElement.lang = lang;
  document.documentElement.dir = direction(lang);
  const title = /** @type {HTMLElement} */ (document.getElementById("archive-title"));
  const root = /** @type {HTMLElement} */ (document.getElementById("archive"));
  title.textContent = t("webcast.archiveList");
  const response = await fetch("/api/webcast/archives");
  const { archives } = await response.json();
  const list = document.createElement("ul");
  list.className = "webcast__archives";
  if (!archives.length) {
    const empty = document.createElement("li");
    empty.textContent = t("webcast.noArchives");
    list.append(empty);
  }
  for (const archive of archives) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = archive.url;
    link.textContent = archive.title;
    const when = new Date(archive.endedAt * 1000).toLocaleString(lang);
    item.append(link, ` · ${t("webcast.endedAt", { date: when })}`);
    list.append(item);
  }
  root.append(list);
}

main();
