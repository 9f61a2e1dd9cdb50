// What the browser scripts share: Debian's Chromium, headless, with the flags this
// machine's closed network needs, and a page opened on the viewer once its server
// answers (it starts with the run).
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHATAN_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// A page on `url`, tried until the server answers; `errors` collects the page's own
// uncaught errors.
export async function open(browser, url, errors) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => errors.push(String(error)));
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      await page.goto(url, { waitUntil: "domcontentloaded", timeout: 3000 });
      return page;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
