// @ts-check
/**
 * The meeting's record page (templates/record.html), for the chair and the secretariat:
 * a summary, bar charts drawn as SVG (speaking time and time present by member state,
 * interventions by language, waiting on the speakers' list), the list of interventions,
 * interpretation coverage per booth (chart, table, gaps), and
 * the downloads (CSV, JSON, floor log, attendance, transcripts). Every chart has its figures
 * in a table too (screen readers, copying into a report). All text goes in as text.
 *
 * Test hook: `window.rostrumRecord` is the record as loaded (or `{error}`).
 */

import { h, replaceChildren } from "./dom.js";
import { t, formatDuration, uiLanguage, direction } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Bars drawn per chart; the table below a chart has every row. */
const MAX_BARS = 25;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [text]
 */
function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * A horizontal bar chart with its data table.
 * @param {string} id
 * @param {string} title
 * @param {Array<{label: string, value: number}>} rows
 * @param {(value: number) => string} format
 * @param {string} valueHeading
 * @param {string} [labelHeading] the table's first column (default: member state)
 */
export function barChart(id, title, rows, format, valueHeading, labelHeading = t("record.col.memberState")) {
  const rtl = direction(uiLanguage()) === "rtl";
  const shown = rows.slice(0, MAX_BARS);
  const width = 720;
  const rowHeight = 30;
  const labelWidth = 220;
  const valueWidth = 90;
  const height = Math.max(1, shown.length) * rowHeight + 8;
  const max = Math.max(1e-9, ...shown.map((r) => r.value));
  const span = width - labelWidth - valueWidth - 16;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-title`, class: "record__chart", "data-chart": id });
  chart.append(svg("title", { id: `${id}-title` }, title));
  /** x in a left-to-right layout → x on the page (mirrored for right-to-left). */
  const at = (/** @type {number} */ x, /** @type {number} */ w = 0) => (rtl ? width - x - w : x);
  shown.forEach((row, i) => {
    const y = 4 + i * rowHeight;
    const bar = Math.max(2, (row.value / max) * span);
    chart.append(
      svg("text", { x: at(labelWidth - 8), y: y + 20, "text-anchor": rtl ? "start" : "end", class: "record__chart-label" }, row.label),
      svg("rect", { x: at(labelWidth, bar), y: y + 4, width: bar, height: rowHeight - 8, rx: 3, class: "record__bar", "data-value": row.value }),
      svg("text", { x: at(labelWidth + bar + 6), y: y + 20, "text-anchor": rtl ? "end" : "start", class: "record__chart-value" }, format(row.value)),
    );
  });
  const table = h(
    "table",
    { class: "record__table" },
    h("thead", {}, h("tr", {}, h("th", { attrs: { scope: "col" }, text: labelHeading }), h("th", { attrs: { scope: "col" }, text: valueHeading }))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, h("th", { attrs: { scope: "row" }, text: r.label }), h("td", { text: format(r.value) })))),
  );
  return h(
    "figure",
    { class: "record__figure", attrs: { id } },
    h("figcaption", { class: "record__figcaption", text: title }),
    rows.length ? chart : h("p", { class: "record__empty", text: t("record.empty") }),
    rows.length ? h("details", {}, h("summary", { text: t("record.col.value") }), table) : null,
  );
}

/** @param {string} state */
const stateLabel = (state) => state || t("record.noState");
/** @param {number} s */
const minutes = (s) => formatDuration(s);

/** @param {string} code */
const languageName = (code) => (code ? t(`lang.${code}`) : t("record.noLanguage"));

/**
 * Interpretation coverage: a chart of the minutes each booth was live, a table per booth
 * (live, muted, original passed through, time the floor spoke another language, how much of it
 * was interpreted, handovers, relay, interpreters) and the list of gaps.
 * @param {any} interp the record's `interpretation`
 */
function interpretationSection(interp) {
  if (!interp.available) return [h("p", { class: "record__empty", attrs: { id: "record-interpretation" }, text: t("record.interpretationNone") })];
  const booths = interp.byLanguage;
  const chart = barChart(
    "chart-interpretation",
    t("record.chart.interpretation"),
    booths.map((/** @type {any} */ b) => ({ label: languageName(b.language), value: b.liveS })),
    minutes,
    t("record.interp.live"),
    t("record.interp.booth"),
  );
  const columns = ["record.interp.booth", "record.interp.live", "record.interp.cough", "record.interp.passthrough", "record.interp.needed", "record.interp.covered", "record.interp.gap", "record.interp.handovers", "record.interp.relay", "record.interp.interpreters"];
  const table = h(
    "table",
    { class: "record__table", attrs: { id: "record-interpretation" } },
    h("thead", {}, h("tr", {}, ...columns.map((k) => h("th", { attrs: { scope: "col" }, text: t(k) })))),
    h(
      "tbody",
      {},
      ...booths.map((/** @type {any} */ b) =>
        h(
          "tr",
          { attrs: { "data-language": b.language } },
          h("th", { attrs: { scope: "row" }, text: languageName(b.language) }),
          ...[b.liveS, b.coughS, b.passthroughS, b.neededS, b.coveredS, b.gapS].map((v) => h("td", { text: minutes(v) })),
          h("td", { text: String(b.handovers) }),
          h("td", { text: Object.entries(b.relayS).map(([from, s]) => t("record.interp.relayFrom", { language: languageName(from), duration: minutes(/** @type {number} */ (s)) })).join(", ") }),
          h("td", { text: b.byInterpreter.map((/** @type {any} */ i) => `${i.name} (${minutes(i.liveS)})`).join(", ") }),
        ),
      ),
    ),
  );
  const gaps = interp.gaps.length
    ? [
        h("h3", { text: t("record.interp.gaps") }),
        h(
          "ul",
          { class: "record__list", attrs: { id: "record-interpretation-gaps" } },
          ...interp.gaps.map((/** @type {any} */ g) =>
            h("li", {
              text: t("record.interp.gapLine", {
                time: new Date(g.startedAt * 1000).toISOString().slice(11, 19),
                language: languageName(g.language),
                floor: languageName(g.floorLanguage),
                duration: minutes(g.durationS),
              }),
            }),
          ),
        ),
      ]
    : [];
  return [chart, table, ...gaps];
}

/**
 * @param {any} record
 * @param {{id: string, languages: string[]}} meeting
 * @param {string} token
 */
function render(record, meeting, token) {
  const floor = record.floor;
  const attendance = record.attendance;
  const q = `t=${encodeURIComponent(token)}&ui=${uiLanguage()}`; // ui: the language of the CSV headers
  const api = `/api/meetings/${encodeURIComponent(meeting.id)}`;
  const summary = h(
    "dl",
    { class: "record__summary", attrs: { id: "record-summary" } },
    ...[
      ["record.people", String(attendance.people)],
      ["record.memberStates", String(attendance.memberStates)],
      ["record.interventions", String(floor.interventions)],
      ["record.speakingTime", minutes(floor.speakingS)],
      ["record.pointsOfOrder", `${floor.pointsOfOrder.asked} / ${floor.pointsOfOrder.taken}`],
      ["record.meanWait", floor.waiting.meanS === null ? "—" : minutes(floor.waiting.meanS)],
    ].flatMap(([key, value]) => [h("dt", { text: t(key) }), h("dd", { attrs: { "data-key": key }, text: value })]),
  );
  const charts = [
    barChart("chart-speaking", t("record.chart.speaking"), floor.byMemberState.map((/** @type {any} */ r) => ({ label: stateLabel(r.memberState), value: r.speakingS })), minutes, t("record.speakingTime")),
    barChart(
      "chart-languages",
      t("record.chart.languages"),
      floor.byLanguage.map((/** @type {any} */ r) => ({ label: r.language ? t(`lang.${r.language}`) : t("record.noLanguage"), value: r.interventions })),
      (v) => String(v),
      t("record.interventions"),
      t("record.col.language"),
    ),
    barChart("chart-presence", t("record.chart.presence"), attendance.byMemberState.map((/** @type {any} */ r) => ({ label: stateLabel(r.memberState), value: r.presentS })), minutes, t("record.col.duration")),
    barChart(
      "chart-waiting",
      t("record.chart.waiting"),
      floor.waiting.byMemberState.map((/** @type {any} */ r) => ({ label: stateLabel(r.memberState), value: r.meanS ?? 0 })),
      minutes,
      t("record.meanWait"),
    ),
  ];
  const interventions = h(
    "table",
    { class: "record__table", attrs: { id: "record-interventions" } },
    h(
      "thead",
      {},
      h("tr", {}, ...["record.col.time", "record.col.speaker", "record.col.memberState", "record.col.language", "record.col.kind", "record.col.duration"].map((k) => h("th", { attrs: { scope: "col" }, text: t(k) }))),
    ),
    h(
      "tbody",
      {},
      ...floor.list.map((/** @type {any} */ i) =>
        h(
          "tr",
          {},
          h("td", { text: new Date(i.startedAt * 1000).toISOString().slice(11, 19) }),
          h("td", { text: i.name }),
          h("td", { text: stateLabel(i.memberState) }),
          h("td", { text: i.language ? t(`lang.${i.language}`) : t("record.noLanguage") }),
          h("td", { text: t(`kind.${i.kind}`) }),
          h("td", { text: minutes(i.durationS) }),
        ),
      ),
    ),
  );
  const captions = h("ul", { class: "record__list" }, ...record.captions.byLanguage.map((/** @type {any} */ c) => h("li", { text: `${t(`lang.${c.language}`)}: ${c.lines}` })));
  const chat = h(
    "ul",
    { class: "record__list" },
    ...Object.entries(record.chat.byChannel).map(([channel, n]) => h("li", { text: `${channel === "booth" ? t("record.chatBooths") : t(`chat.channel.${channel}`)}: ${n}` })),
    record.chat.removed ? h("li", { text: t("record.chatRemoved", { n: record.chat.removed }) }) : null,
  );
  /** @param {string} href @param {string} text */
  const link = (href, text) => h("li", {}, h("a", { attrs: { href, download: "" }, text }));
  const downloads = h(
    "ul",
    { class: "record__downloads", attrs: { id: "record-downloads" } },
    link(`${api}/record.json?${q}`, t("record.download.json")),
    ...["member-states", "languages", "interventions", "waiting", "interpretation", "booth-periods", "interpretation-gaps"].map((table) => link(`${api}/record.csv?table=${table}&${q}`, t(`record.download.${table}`))),
    link(`${api}/floor-log.csv?${q}`, t("record.download.floorLog")),
    link(`${api}/attendance.csv?${q}`, t("record.download.attendance")),
    ...meeting.languages.flatMap((lang) =>
      ["txt", "vtt", "srt"].map((fmt) => link(`${api}/transcript.${fmt}?lang=${lang}&${q}`, `${t("record.download.transcript", { language: t(`lang.${lang}`) })} (${fmt.toUpperCase()})`)),
    ),
  );
  /** @param {string} key @param {...(Node | null)} content */
  const section = (key, ...content) => h("section", { class: "record__section" }, h("h2", { text: t(key) }), ...content);
  return [
    h("h2", { class: "visually-hidden", text: t("record.heading") }),
    section("record.summary", summary),
    h("section", { class: "record__charts" }, ...charts),
    section("record.interventions", floor.list.length ? interventions : h("p", { class: "record__empty", text: t("record.empty") })),
    section("record.captions", captions),
    section("record.chat", chat),
    section("record.interpretation", ...interpretationSection(record.interpretation)),
    section("record.downloads", downloads),
  ];
}

async function main() {
  const root = /** @type {HTMLElement} */ (document.getElementById("record"));
  const context = JSON.parse(document.getElementById("record-context")?.textContent ?? "{}");
  const { meeting, token } = context;
  document.title = `${meeting.title} · ${t("record.heading")} · Rostrum`;
  replaceChildren(root, h("p", { attrs: { role: "status" }, text: t("record.loading") }));
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(meeting.id)}/record.json`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`${response.status} ${(await response.text()).trim()}`);
    const record = await response.json();
    /** @type {any} */ (window).rostrumRecord = record;
    replaceChildren(root, ...render(record, meeting, token));
  } catch (err) {
    /** @type {any} */ (window).rostrumRecord = { error: String(err) };
    replaceChildren(root, h("p", { class: "notice notice--error", attrs: { role: "alert" }, text: t("record.error", { message: String(/** @type {any} */ (err)?.message ?? err) }) }));
  }
  root.removeAttribute("aria-busy");
}

void main();
