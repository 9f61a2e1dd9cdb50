// Opens the live viewer in headless Chromium while a run goes on, and reports what the
// page shows: a screenshot and counts while rows appear, then the final summary, the
// DOM, and checks that hostile values stayed text.
//
//   node tests/browser/viewer.mjs URL OUT_DIR
//
// Prints one JSON object on stdout; exits non-zero on any failure.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launch, open } from "./open.mjs";

const [url, out] = process.argv.slice(2);

const browser = await launch();
try {
  const console_errors = [];
  const page = await open(browser, url, console_errors);
  // Rows appearing while the run goes on.
  await page.waitForSelector("tbody tr[data-row]", { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll("tbody tr.done").length >= 2, null, { timeout: 15000 });
  const midRun = await page.evaluate(() => ({
    status: document.getElementById("status").textContent,
    rows: document.querySelectorAll("tbody tr[data-row]:not(.failure)").length,
    done: document.querySelectorAll("tbody tr.done").length,
    pending: document.querySelectorAll("td.pending").length,
    flight: document.querySelectorAll("td.flight").length,
    flightText: [...document.querySelectorAll("td.flight span")].map((n) => n.textContent),
    header: document.getElementById("s-rows").textContent,
  }));
  await page.screenshot({ path: join(out, "rows-appearing.png") });

  // The end of the run, and its summary.
  await page.waitForFunction(() => document.getElementById("status").textContent === "finished", null, { timeout: 60000 });
  // The prompt behind a generated cell, one click away.
  await page.click("td.cell button.prompt");
  const panel = await page.evaluate(() => ({
    hidden: document.getElementById("panel").hidden,
    title: document.getElementById("panel-title").textContent,
    text: document.getElementById("panel-text").textContent,
  }));
  await page.click("#panel-close");
  const final = await page.evaluate(() => {
    const cells = [...document.querySelectorAll("td.cell .value")].map((n) => n.textContent);
    return {
      status: document.getElementById("status").textContent,
      summary: document.getElementById("summary").textContent,
      rows: document.querySelectorAll("tbody tr[data-row]:not(.failure)").length,
      done: document.querySelectorAll("tbody tr.done").length,
      hostile: cells.filter((t) => t.includes("<script>")),
      pwned: window.pwned === undefined ? null : window.pwned,
      scripts: document.querySelectorAll("script").length,
      images: document.querySelectorAll("img").length,
      header: document.getElementById("s-rows").textContent,
      cost: document.getElementById("s-cost").textContent,
      retries: document.getElementById("s-retries").textContent,
      failures: [...document.querySelectorAll("tr.failure td")].map((n) => n.textContent),
      pendingAfterEnd: document.querySelectorAll("td.pending, td.flight").length,
      stopped: document.querySelectorAll("td.stopped").length,
    };
  });
  await page.screenshot({ path: join(out, "finished.png"), fullPage: false });
  writeFileSync(join(out, "finished.html"), await page.content());
  console.log(JSON.stringify({ midRun, panel, final, errors: console_errors }));
} finally {
  await browser.close();
}
