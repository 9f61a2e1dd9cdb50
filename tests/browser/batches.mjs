// Opens the live viewer in headless Chromium while a run goes through a provider batch
// API, and reports the batch lines under the page's header: during the first wave, and
// at the end.
//
//   node tests/browser/batches.mjs URL OUT_DIR
//
// Prints one JSON object on stdout; exits non-zero on any failure.
import { chromium } from "playwright-core";
import { join } from "node:path";

const [url, out] = process.argv.slice(2);
const executablePath = process.env.CHATAN_CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  // The server starts with the run: try until it answers.
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      await page.goto(url, { waitUntil: "domcontentloaded", timeout: 3000 });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await page.waitForSelector("#batches span", { timeout: 15000 });
  const firstWave = await page.evaluate(lines);
  await page.waitForFunction(() => document.getElementById("status").textContent === "finished", null, { timeout: 60000 });
  const final = await page.evaluate(lines);
  await page.screenshot({ path: join(out, "batches.png") });
  console.log(JSON.stringify({ firstWave, final, errors }));
} finally {
  await browser.close();
}
