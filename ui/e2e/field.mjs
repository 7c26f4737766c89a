// The field app's UI in Chromium (the engine of Android's WebView, which no machine here can build
// for) at a phone's 360 × 640 with touch, over its in-memory back end (src/fake.ts, the Hà Tĩnh
// sample), as `vite build` leaves it in dist/:
//   node e2e/field.mjs [DOORSTEP_SCREENSHOTS=dir] [CHROMIUM=/usr/bin/chromium]
// Serves dist/ on 127.0.0.1 (a random port; module scripts need http), taps as a thumb does and
// counts the taps: the household of 4 people, 2 phones, 2 installed now in 5 with no scrolling; a
// refusal with a listed reason in 4; a revisit from the list in 3. Also: no sideways scrolling,
// every control at least 48 px tall, the revisit list in walking order with distance and
// direction, the home count agreeing with it. Exit code 0 when every check passes; otherwise 1.
import { chromium } from "playwright-core";
import { check, checksPassed, envReader, launchChromium, tid } from "./lib.mjs";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const env = envReader("field e2e");
const SHOTS = env("DOORSTEP_SCREENSHOTS", false);
// A video (.y4m) for Chromium's fake camera, showing a card's QR code of DOORSTEP_CAMERA_LINK:
// the enrolment screen must read it live.
const CAMERA = env("DOORSTEP_FAKE_CAMERA", false);
const CAMERA_LINK = env("DOORSTEP_CAMERA_LINK", !!CAMERA);
const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const W = 360;
const H = 640;
// A street in Phường Bắc Hà with none of the sample's households within the matching distance.
const STREET = "18.3472,105.9008,8";
// 44 m up the same street. (Going there reloads the page, and the in-memory back end starts over.)
const NEXT_DOOR = "18.3476,105.9008,8";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json", ".woff2": "font/woff2" };

function serve() {
  statSync(join(DIST, "index.html")); // built first: `npm run build`
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(DIST, path === "/" ? "index.html" : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `phone-${name}.png`);
  await page.screenshot({ path });
  console.log(`  screenshot ${path}`);
}

let taps = 0;
/** A thumb's tap on something on screen without scrolling: the screen box at its top and the
 * element wholly inside it, or in the Save footer. */
async function tap(page, testid) {
  const el = page.locator(tid(testid));
  await el.waitFor({ state: "visible" });
  const where = await el.evaluate((e) => {
    const r = e.getBoundingClientRect();
    const screen = document.querySelector(".screen");
    const s = screen.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, screenTop: s.top, screenBottom: s.bottom, scrolled: screen.scrollTop, footer: !!e.closest(".screen-footer") };
  });
  const seen = where.footer || (where.scrolled === 0 && where.top >= where.screenTop && where.bottom <= where.screenBottom + 0.5);
  if (!seen) await shot(page, "failure");
  check(seen, `${testid} is on the first screen (${JSON.stringify(where)})`);
  taps++;
  await el.tap();
}

function counted(n, what) {
  check(taps === n, `${what}: ${taps} taps (at most ${n})`);
  taps = 0;
}

/** Every control on screen at least 48 px tall and nothing wider than the phone. */
async function fitsAPhone(page, what) {
  const r = await page.evaluate(() => {
    const small = [...document.querySelectorAll("button, input, select, textarea")]
      .filter((e) => e.offsetParent !== null && e.type !== "checkbox" && !e.closest(".maplibregl-ctrl"))
      .map((e) => [e.dataset.testid || e.className, Math.round(e.getBoundingClientRect().height)])
      .filter(([, h]) => h < 48);
    return { small, wide: document.documentElement.scrollWidth };
  });
  check(r.wide <= 360, `${what}: no sideways scrolling (${r.wide} px wide)`);
  check(r.small.length === 0, `${what}: every control at least 48 px tall (${JSON.stringify(r.small)})`);
}

async function main() {
  const server = await serve();
  const { port } = server.address();
  const camera = CAMERA ? ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${CAMERA}`] : [];
  const browser = await launchChromium(chromium, EXECUTABLE, camera);
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: W, height: H }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: "vi-VN" });
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/?fix=${STREET}`);
    await page.locator(tid("home")).waitFor();
    check((await page.evaluate(() => document.documentElement.lang)) === "vi", "Vietnamese first");
    await fitsAPhone(page, "home");
    const mapNote = page.locator(tid("map-note"));
    await mapNote.filter({ hasText: "Chưa có bản đồ nền" }).waitFor({ timeout: 30000 });
    check(true, `no base map on the phone: said in words (${await mapNote.textContent()})`);
    await shot(page, "1-home");

    // The household of 4 people, 2 phones, 2 installed now.
    await tap(page, "new-visit");
    await page.locator(tid("location-line")).filter({ hasNotText: "Đang lấy" }).waitFor();
    check((await page.locator(tid("household-current")).textContent()).includes("Hộ mới"), "a new household, nobody at this door");
    await tap(page, "outcome-installed_now");
    await tap(page, "count-people-4");
    await tap(page, "count-smartphones-2");
    check((await page.locator(tid("count-installed_now-2")).getAttribute("aria-pressed")) === "true", "installed now follows: 2 phones, none had it");
    await fitsAPhone(page, "the visit form");
    await shot(page, "2-visit");
    await tap(page, "visit-save");
    await page.locator(tid("saved-toast")).waitFor();
    counted(5, "the household of 4, 2 phones, 2 installed now");

    // At the same spot again: the household just recorded is asked about, not chosen.
    await page.locator(tid("new-visit")).tap();
    await page.locator(tid("household-ask")).waitFor();
    check(true, "the same spot: asked whether it is the same household");
    await shot(page, "3-same-household");

    // Next door: a refusal with a listed reason; the address prompt for a household due again.
    await page.goto(`http://127.0.0.1:${port}/?fix=${NEXT_DOOR}`);
    await page.locator(tid("home")).waitFor();
    taps = 0;
    await tap(page, "new-visit");
    await page.locator(tid("location-line")).filter({ hasNotText: "Đang lấy" }).waitFor();
    await tap(page, "outcome-refused");
    check((await page.locator(tid("address-row")).getAttribute("class")).includes("prompt"), "a refusal is visited again: the address prompt");
    await fitsAPhone(page, "the refusal");
    await shot(page, "4-refusal");
    await tap(page, "reason-1");
    await tap(page, "visit-save");
    await page.locator(tid("saved-toast")).waitFor();
    counted(4, "a refusal with a listed reason");

    // The revisit list: the same number as the home count, walking order, distance and direction.
    await page.locator(tid("nav-home")).tap();
    const count = Number(await page.locator(tid("revisits-count")).textContent());
    await page.locator(tid("nav-revisits")).tap();
    await page.locator(tid("revisits-list")).waitFor();
    const listed = await page.locator('[data-testid^="revisit-visit-"]').count();
    check(listed === count, `the home count (${count}) is what the list shows (${listed})`);
    const first = await page.locator('[data-testid^="revisit-where-"]').first().textContent();
    check(first.startsWith("ngay đây"), `the first stop is the refusal just recorded, right here: ${first}`);
    const second = await page.locator('[data-testid^="revisit-where-"]').nth(1).textContent();
    check(/^\d+ m về phía (Bắc|Đông Bắc|Đông|Đông Nam|Nam|Tây Nam|Tây|Tây Bắc)/.test(second), `the next says how far and which way: ${second}`);
    await fitsAPhone(page, "the revisit list");
    await shot(page, "5-revisits");
    const visit = await page.locator('[data-testid^="revisit-visit-"]').first().getAttribute("data-testid");
    await tap(page, visit);
    await tap(page, "outcome-not_home");
    await tap(page, "visit-save");
    await page.locator(tid("saved-toast")).waitFor();
    counted(3, "a revisit from the list");

    // The home map: you are here, and tapping a household's dot opens it (the one just visited,
    // where the volunteer stands).
    await page.locator(tid("home")).waitFor();
    await page.waitForFunction(() => !!globalThis.__doorstepFieldMap, null, { timeout: 30000 });
    const [lat, lon] = NEXT_DOOR.split(",").map(Number);
    let opened = false;
    for (let i = 0; i < 40 && !opened; i++) {
      const at = await page.evaluate(([la, lo]) => {
        const box = document.querySelector('[data-testid="map"]');
        box.scrollIntoView({ block: "center" });
        const r = box.getBoundingClientRect();
        const p = globalThis.__doorstepFieldMap.project({ lat: la, lon: lo });
        return { x: r.left + p.x, y: r.top + p.y };
      }, [lat, lon]);
      await page.touchscreen.tap(at.x, at.y);
      opened = await page.locator(tid("visit-form")).isVisible();
      if (!opened) await page.waitForTimeout(250);
    }
    check(opened, "tapping a household's dot on the map opens it");
    await shot(page, "6-from-the-map");
    const current = await page.locator(tid("household-current")).textContent();
    check(current.includes("ngay đây"), `the household tapped is the one where the volunteer stands: ${current}`);
    if (CAMERA) {
      // Enrolling again from the settings: the card's QR read live by the camera fills the form.
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.locator(tid("nav-settings")).tap();
      await page.locator(tid("settings-enrol-again")).tap();
      await page.locator(tid("enrol-camera")).tap();
      const want = new URL(CAMERA_LINK.replace("doorstep://", "http://")).searchParams;
      await page.waitForFunction(
        (code) => document.querySelector('[data-testid="enrol-code"]')?.value === code,
        want.get("code"),
        { timeout: 30000 },
      );
      const server = await page.locator(tid("enrol-server")).inputValue();
      check(server === want.get("server"), `the camera read the card: code ${want.get("code")} and server ${server}`);
      check((await page.locator(tid("enrol-camera")).textContent()) === "Quét mã QR bằng camera", "the camera stops once the code is read");
      check((await page.locator(tid("enrol-scan-note")).textContent()) === `Đã quét mã: ${want.get("code")}`, "and says what it read");
      await shot(page, "7-enrol-scanned");
    }
    check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`field e2e: ${checksPassed()} checks passed`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
