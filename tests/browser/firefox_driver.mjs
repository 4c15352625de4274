// Drive Debian's Firefox ESR over WebDriver BiDi (puppeteer-core), one JSON command per stdin
// line, one JSON answer per stdout line: {"id", "ok", "value" | "error"}. Runs inside the
// test's network namespace with Firefox (the BiDi websocket is on the namespace's loopback).
//   {"op": "launch", "prefs": {...}}     {"op": "page"} -> page number
//   {"op": "goto", "page", "url"}        {"op": "eval", "page", "js"} (a function's source)
//   {"op": "fill", "page", "selector", "value"}   {"op": "click", "page", "selector"}
//   {"op": "close"}
import { createRequire } from "node:module";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

// puppeteer-core is installed in web/ (web/package.json), not beside this file
const webRequire = createRequire(new URL("../../web/package.json", import.meta.url));
const { default: puppeteer } = await import(pathToFileURL(webRequire.resolve("puppeteer-core")).href);

const executablePath = process.argv[2];
let browser = null;
const pages = [];
const out = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");

async function handle(cmd) {
  switch (cmd.op) {
    case "launch":
      browser = await puppeteer.launch({
        browser: "firefox", protocol: "webDriverBiDi", executablePath, headless: true,
        extraPrefsFirefox: cmd.prefs ?? {}, args: cmd.args ?? [],
      });
      return (await browser.version());
    case "page": {
      const page = await browser.newPage();
      page.on("console", (m) => process.stderr.write(`[firefox ${pages.length}] ${m.type()}: ${m.text()}\n`));
      page.on("pageerror", (e) => process.stderr.write(`[firefox] pageerror: ${e}\n`));
      pages.push(page);
      return pages.length - 1;
    }
    case "goto":
      await pages[cmd.page].goto(cmd.url);
      return pages[cmd.page].url();
    case "eval":
      // eslint-disable-next-line no-new-func
      return await pages[cmd.page].evaluate(cmd.js);
    case "fill":
      await pages[cmd.page].locator(cmd.selector).fill(cmd.value);
      return null;
    case "click":
      await pages[cmd.page].locator(cmd.selector).click();
      return null;
    case "close":
      if (browser) await browser.close();
      browser = null;
      return null;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    out({ id: cmd.id, ok: true, value: (await handle(cmd)) ?? null });
  } catch (err) {
    out({ id: cmd.id, ok: false, error: String(err?.stack ?? err) });
  }
  if (cmd.op === "close") break;
}
if (browser) await browser.close();
