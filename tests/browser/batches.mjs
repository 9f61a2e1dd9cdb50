// Opens the live viewer in headless Chromium while a run goes through a provider batch
// API, and reports the batch lines under the page's header: during the first wave, and
// at the end.
//
//   node tests/browser/batches.mjs URL OUT_DIR
//
// Prints one JSON object on stdout; exits non-zero on any failure.
import { join } from "node:path";
import { launch, open } from "./open.mjs";

const [url, out] = process.argv.slice(2);

const browser = await launch();
const lines = () => {
  const box = document.getElementById("batches");
  return {
    hidden: box.hidden,
    lines: [...box.children].map((n) => n.textContent),
    titles: [...box.children].map((n) => n.title),
    done: document.querySelectorAll("tbody tr.done").length,
    status: document.getElementById("status").textContent,
  };
};
try {
  const errors = [];
  const page = await open(browser, url, errors);
  await page.waitForSelector("#batches span", { timeout: 15000 });
  const firstWave = await page.evaluate(lines);
  await page.waitForFunction(() => document.getElementById("status").textContent === "finished", null, { timeout: 60000 });
  const final = await page.evaluate(lines);
  await page.screenshot({ path: join(out, "batches.png") });
  console.log(JSON.stringify({ firstWave, final, errors }));
} finally {
  await browser.close();
}
