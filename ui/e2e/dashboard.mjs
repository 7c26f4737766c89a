// The dashboard in a real browser against a running `doorstep serve`:
//   DOORSTEP_URL=http://127.0.0.1:8080 DOORSTEP_USER=uyban.hatinh DOORSTEP_PASSWORD=... \
//   DOORSTEP_AREA=436 DOORSTEP_DOWNLOAD=/tmp/daily.xlsx [DOORSTEP_SCREENSHOTS=dir] \
//   [CHROMIUM=/usr/bin/chromium] [DOORSTEP_E2E_CHROMIUM_ARGS=--disable-webgl] node e2e/dashboard.mjs
// Signs in, checks the cards, the map (through window.__doorstepMap: style, layers, sources' data,
// a household popup with its visits, one sent back when DOORSTEP_SEND_BACK holds the note), the
// outcome filter, opening a unit, a street of it given to DOORSTEP_CLAIM_VOLUNTEER (Claims), English,
// and downloads the daily report. Then, in a second context of the same browser, a 390 × 844 phone
// (issue 19, item 6): no sideways scrolling, long lists paged, every control 44 px tall, a flagged
// visit's reasons on screen. DOORSTEP_E2E_ONLY=phone runs the phone part alone (any data).
// Exit code 0 when every check passes; otherwise 1 with the failing check on stderr.
// Without WebGL (no SwiftShader in the browser) it checks the map's fallback message instead and
// prints a WARNING line.

import { chromium } from "playwright-core";
import { check, checksPassed, envReader, launchChromium, tid } from "./lib.mjs";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

const env = envReader("dashboard e2e");

const URL_ = env("DOORSTEP_URL").replace(/\/+$/, "");
const USER = env("DOORSTEP_USER");
const PASSWORD = env("DOORSTEP_PASSWORD");
const AREA = env("DOORSTEP_AREA");
const DOWNLOAD = env("DOORSTEP_DOWNLOAD");
const SHOTS = env("DOORSTEP_SCREENSHOTS", false);
// The day of the report to download (default: the field's own default, today).
const REPORT_DATE = env("DOORSTEP_REPORT_DATE", false);
// When set, the note with which a household's visit is sent back (the user must be a leader).
const SEND_BACK = env("DOORSTEP_SEND_BACK", false);
// How many venues the opened unit has on the map at least (default 0: not checked).
const VENUES = Number(env("DOORSTEP_VENUES", false) || 0);
// When set, every visit has a photo: the popup and the Photos panel must show them.
const PHOTOS = env("DOORSTEP_PHOTOS", false);
// When set, the target households of the unit DOORSTEP_AREA, the only unit with a target: its row
// shows them, the area's target coverage card says the roll-up is partial, the unit's shows a rate.
const TARGET_HOUSEHOLDS = env("DOORSTEP_TARGET_HOUSEHOLDS", false);
// When set, the username of a volunteer assigned to the unit DOORSTEP_AREA (in one of the leader's
// teams): the leader gives them a street of the unit in the Claims section and sees it held.
const CLAIM_VOLUNTEER = env("DOORSTEP_CLAIM_VOLUNTEER", false);
// When set ("CODE:dd/mm/yyyy"), a unit that will miss the campaign's last day and the date it is
// expected to reach its goal: it is named above the units table and its row shows that date.
const LATE_UNIT = env("DOORSTEP_LATE_UNIT", false);
const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
// "phone": only the phone checks (they hold on any data, e.g. the demo behind `vite preview`).
const ONLY = process.env.DOORSTEP_E2E_ONLY || "";
// The phone's page may be at most this tall (the committee's was 133,370 px with every household
// due again listed): long lists are paged.
const PHONE_MAX_HEIGHT = 15000;
const TIMEOUT = Number(process.env.DOORSTEP_E2E_TIMEOUT_MS || 30000);


async function shot(page, name, opts = {}) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true, ...opts });
  console.log(`  screenshot ${path}`);
}

/** The finish forecast: the late unit named above the table with its date, and the date in its row. */
async function checkLateUnit(page, label) {
  if (!LATE_UNIT) return;
  const [code, date] = LATE_UNIT.split(":");
  // The first read ends today; the one for the range that holds the data follows.
  await page
    .waitForFunction(([sel, d]) => (document.querySelector(sel)?.textContent ?? "").includes(d), [tid(`units-late-${code}`), date], { timeout: TIMEOUT, polling: 200 })
    .catch(() => undefined);
  const named = (await page.locator(tid(`units-late-${code}`)).count()) ? await page.locator(tid(`units-late-${code}`)).innerText() : "(not named)";
  check(named.includes(date), `${label}: ${code} is named as late, expected on ${date} (${named.replace(/\s+/g, " ")})`);
  const cell = page.locator(tid(`unit-finish-${code}`));
  check((await cell.innerText()).includes(date) && (await cell.getAttribute("data-late")) === "true", `${label}: its row shows ${date}, marked late`);
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    const path = join(SHOTS, `dashboard-units-finish-${label}.png`);
    await page.locator(`.table-wrap:has(${tid("units-table")})`).screenshot({ path });
    console.log(`  screenshot ${path}`);
  }
}

/** Types a day ("YYYY-MM-DD") into a dashboard date field as a person does: dd/mm/yyyy. */
async function typeDay(page, testid, iso) {
  const [y, m, d] = iso.split("-");
  const field = page.locator(tid(testid));
  await field.fill(`${d}/${m}/${y}`);
  await field.dispatchEvent("change");
  check((await field.getAttribute("data-iso")) === iso, `${testid} takes ${d}/${m}/${y} as ${iso}`);
}

/** Waits for the map's style, its layers and the sources' data for the area on screen. */
async function mapReady(page, previousAreas = null) {
  await page.waitForFunction(
    () => {
      const m = window.__doorstepMap;
      return !!(m && m.isStyleLoaded() && m.getLayer("areas-fill") && m.getLayer("areas-outline") && m.getLayer("households") && m.getSource("areas") && m.getSource("households"));
    },
    null,
    { timeout: TIMEOUT },
  );
  const handle = await page.waitForFunction(
    async (prev) => {
      const m = window.__doorstepMap;
      const areas = await m.getSource("areas").getData();
      const households = await m.getSource("households").getData();
      const codes = areas.features.map((f) => f.properties.code).sort().join(",");
      if (areas.features.length + households.features.length === 0) return false;
      if (prev !== null && codes === prev) return false;
      return { areas: areas.features.length, codes, households: households.features.length, shapes: areas.features.filter((f) => f.geometry).length };
    },
    previousAreas,
    { timeout: TIMEOUT, polling: 250 },
  );
  return handle.jsonValue();
}

async function main() {
  const browser = await launchChromium(chromium, EXECUTABLE);
  const pageErrors = [];
  let page;
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 1000 }, locale: "vi-VN" });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") console.log(`  [browser] ${m.text()}`);
    });

    console.log(`dashboard e2e: ${URL_} as ${USER}`);
    if (ONLY !== "phone") await desktop(page);
    await phone(browser, pageErrors);
    if (ONLY !== "phone") await apiDocs(browser);

    check(pageErrors.length === 0, `no uncaught errors in the page${pageErrors.length ? `: ${pageErrors.join(" | ")}` : ""}`);
    console.log(`dashboard e2e: ${checksPassed()} checks passed`);
  } catch (e) {
    if (page && SHOTS) await shot(page, "failure").catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

/** `/api/docs`: the OpenAPI document drawn by Swagger UI from the server's own files, nothing
 * fetched from elsewhere; a signed-in admin's token authorises "Try it out". */
async function apiDocs(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const elsewhere = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(URL_) && !r.url().startsWith("data:")) elsewhere.push(r.url());
  });
  await page.goto(URL_ + "/api/docs", { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelectorAll(".opblock").length > 50, null, { timeout: TIMEOUT });
  const ops = await page.evaluate(() => document.querySelectorAll(".opblock").length);
  check(ops > 50, `the API page lists the operations (${ops})`);
  const title = await page.textContent(".info .title");
  check(title && title.includes("Doorstep"), `the API page is titled from the document: ${title}`);
  check(await page.isVisible(".btn.authorize"), "the API page offers to authorise with a bearer token");
  check(elsewhere.length === 0, `the API page fetched nothing from elsewhere${elsewhere.length ? `: ${elsewhere.join(", ")}` : ""}`);
  await shot(page, "api-docs", { fullPage: false });
  await context.close();
}

/** Signs in on a fresh page of a context (Vietnamese first). */
async function signIn(page) {
  await page.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector(tid("login-username"));
  await page.fill(tid("login-username"), USER);
  await page.fill(tid("login-password"), PASSWORD);
  await page.click(tid("login-submit"));
  await page.waitForSelector(`${tid("card-visited")} [data-value]`);
}

/**
 * The dashboard on a 390 × 844 phone, in a second context of the same browser (no second launch):
 * the page as wide as the screen, long lists paged, every control at least 44 px tall, and a
 * flagged visit's reasons within the screen's width.
 */
async function phone(browser, pageErrors) {
  const W = 390;
  const H = 844;
  const context = await browser.newContext({ viewport: { width: W, height: H }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: "vi-VN" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => pageErrors.push(`phone: ${e}`));
  try {
    await signIn(page);
    await page.waitForSelector(`${tid("revisits")}`);
    await page.waitForSelector(`${tid("flagged")}`);
    await page.waitForSelector(`${tid("units-table")}`);
    await checkLateUnit(page, "phone");
    // The lists below the map come once it has drawn (or after 2 s): the page is measured with
    // every section drawn (the devices and the volunteers' days in, nothing loading).
    // (Before its lists are asked for, the people's section shows an error box: wait past it.)
    await page
      .waitForFunction(
        () =>
          !!document.querySelector('[data-testid="devices"]') &&
          !!document.querySelector('[data-testid="volunteer-days"]') &&
          !document.querySelector("main .loading") &&
          !document.querySelector("#people-section .error-box"),
        null,
        { timeout: TIMEOUT, polling: 200 },
      )
      .catch(() => {
        throw new Error("phone: the devices and the volunteers' days did not load (still loading, or an error in #people-section)");
      });
    const size = await page.evaluate(() => ({
      inner: window.innerWidth,
      scroll: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      height: document.documentElement.scrollHeight,
    }));
    check(size.inner === W && size.scroll <= size.inner, `phone: no sideways scrolling (page ${size.scroll} px wide, window ${size.inner} px)`);
    check(size.height < PHONE_MAX_HEIGHT, `phone: long lists are paged (page ${size.height} px tall, under ${PHONE_MAX_HEIGHT})`);
    const small = await page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll("button, input, select, summary")) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
        // A checkbox or radio is pressed through its label (the whole row).
        const target = el.matches('input[type="checkbox"], input[type="radio"]') ? (el.closest("label") ?? el) : el;
        const height = target.getBoundingClientRect().height;
        if (height < 44 - 0.5) out.push(`${el.tagName.toLowerCase()}[${el.getAttribute("data-testid") ?? el.className ?? ""}] "${(el.textContent || el.value || "").trim().slice(0, 20)}" ${Math.round(height)} px`);
      }
      return out;
    });
    check(small.length === 0, `phone: every visible button, input and select is at least 44 px tall${small.length ? `: ${small.slice(0, 8).join("; ")}` : ""}`);
    const minHeight = await page.evaluate(() =>
      Math.min(...[...document.querySelectorAll("button, input:not([type=checkbox]):not([type=radio]), select")].map((e) => e.getBoundingClientRect().height).filter((h) => h > 0)),
    );
    console.log(`  phone: the smallest control is ${Math.round(minHeight)} px tall`);
    // A flagged visit: when, where, who and what, then why, all within the screen's width and its first screen.
    const flagged = page.locator('[data-testid^="flagged-"]:has(ul.flags)').first();
    if ((await flagged.count()) === 0) {
      console.log("WARNING: phone: no flagged visit in this data; the flagged card's layout is not checked");
    } else {
      await flagged.scrollIntoViewIfNeeded();
      const card = await flagged.evaluate((row) => {
        const r = row.getBoundingClientRect();
        const why = row.querySelector("ul.flags").getBoundingClientRect();
        const text = row.querySelector("ul.flags").textContent.trim();
        return { left: r.left, right: r.right, whyLeft: why.left, whyRight: why.right, whyTop: why.top - r.top, text };
      });
      check(
        card.left >= 0 && card.right <= W && card.whyLeft >= 0 && card.whyRight <= W && card.whyTop < H / 2,
        `phone: a flagged visit's reasons are on screen, ${Math.round(card.whyTop)} px into its card (${card.text.slice(0, 50)}…)`,
      );
    }
    // The walk list is paged and says how many there are.
    const more = page.locator('[data-testid="revisits-more"]');
    if ((await more.count()) > 0) {
      const shown = await page.locator(tid("revisits-shown")).innerText();
      check(/\d/.test(shown), `phone: the walk list shows a page and its count (${shown})`);
    }
    await shot(page, "8-phone");
    await page.locator("#flagged-section").scrollIntoViewIfNeeded();
    if (SHOTS) await shot(page, "9-phone-flagged", { fullPage: false });
  } catch (e) {
    if (SHOTS) await shot(page, "phone-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

async function desktop(page) {
  {
    await page.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
    const webgl = await page.evaluate(() => {
      const c = document.createElement("canvas");
      return !!(c.getContext("webgl2") || c.getContext("webgl"));
    });
    if (!webgl) console.log("WARNING: no WebGL in this headless chromium (SwiftShader unavailable): checking the map's fallback message instead of the map");

    // Sign in (Vietnamese first).
    await page.waitForSelector(tid("login-username"));
    check((await page.locator("html").getAttribute("lang")) === "vi", "the page starts in Vietnamese");
    await page.fill(tid("login-username"), USER);
    await page.fill(tid("login-password"), PASSWORD);
    await page.click(tid("login-submit"));
    await page.waitForSelector(`${tid("card-visited")} [data-value]`);
    const visited = await page.locator(`${tid("card-visited")} [data-value]`).getAttribute("data-value");
    const visitedText = await page.locator(tid("card-visited")).innerText();
    check(/^\d+$/.test(visited ?? "") && /\d/.test(visitedText), `card-visited shows a number (${visited})`);
    check(/\d/.test(await page.locator(tid("card-known")).innerText()), "card-known shows a number");
    check(/\d/.test(await page.locator(tid("card-installs")).innerText()), "card-installs shows a number");
    const crumbBefore = (await page.locator(tid("breadcrumb")).innerText()).trim();
    check(crumbBefore.length > 0, `the breadcrumb starts at the account's area (${crumbBefore.replace(/\s+/g, " ")})`);
    await page.waitForSelector(tid("units-table"));
    // Coverage three ways: each rate has its own card, named for its denominator.
    for (const id of ["card-found-coverage", "card-target-coverage", "card-install-rate", "card-install-rate-owners"]) {
      check((await page.locator(tid(id)).count()) === 1, `${id} is shown`);
    }
    if (TARGET_HOUSEHOLDS) {
      await page.waitForSelector(tid(`unit-target-${AREA}`));
      const value = await page.locator(tid(`unit-target-${AREA}`)).getAttribute("data-value");
      check(value === TARGET_HOUSEHOLDS, `the unit ${AREA} shows its target households (${value})`);
      const partial = await page.locator(tid("card-target-coverage-partial")).innerText();
      check(/\d+\/\d+/.test(partial), `the area's target coverage says its roll-up is partial (${partial})`);
    }
    await checkLateUnit(page, "desktop");
    // Venues: the school visited in Phường Nam Hà, in its unit's row and the total.
    await page.waitForSelector(tid("venue-row-total"));
    const venueTotal = await page.locator(tid("venue-row-total")).innerText();
    check(/640/.test(venueTotal.replace(/[.,\s]/g, "")), `the venues total counts the school's 640 people (${venueTotal.replace(/\s+/g, " ")})`);
    check((await page.locator(tid("venue-row-18073")).count()) === 1, "Phường Nam Hà has its venue row");
    await page.waitForSelector(`${tid("days-chart")}`);
    check((await page.locator(`${tid("days-chart")} svg circle`).count()) > 0 || (await page.locator(tid("days-chart")).innerText()).length > 0, "the daily chart is drawn");
    await page.waitForSelector(`${tid("revisits")}`);
    await page.waitForSelector(`${tid("flagged")}`);

    // The map, or its fallback.
    let first = null;
    if (webgl) {
      first = await mapReady(page);
      check(first.areas > 0 || first.households > 0, `the map has its areas (${first.areas}, ${first.shapes} with shapes) and households (${first.households})`);
      check(await page.locator(tid("map-unavailable")).count() === 0, "no map-unavailable message where WebGL works");
      const painted = await page.evaluate(() => window.__doorstepMap.getCanvas().width > 0);
      check(painted, "the map canvas has a size");
      const zoomIn = await page.locator(".maplibregl-ctrl-zoom-in").getAttribute("title");
      check(zoomIn === "Phóng to", `the map's own buttons speak Vietnamese (zoom in: ${zoomIn})`);
    } else {
      await page.waitForSelector(tid("map-unavailable"));
      check(await page.locator(tid("map-unavailable")).isVisible(), "map-unavailable is shown without WebGL");
    }
    await shot(page, "1-province");

    // Outcome filter: untick the first outcome.
    const box = page.locator(`input[data-testid^="outcome-filter-"]`).first();
    const boxId = await box.getAttribute("data-testid");
    const code = boxId.replace("outcome-filter-", "");
    check(await box.isChecked(), `${boxId} starts ticked`);
    await box.uncheck();
    check(!(await box.isChecked()), `${boxId} can be unticked`);
    if (webgl) {
      await page.waitForFunction((c) => !JSON.stringify(window.__doorstepMap.getFilter("households")).includes(`"${c}"`), code);
      check(true, `the map hides the "${code}" households`);
    }
    await box.check();

    // Open the unit DOORSTEP_AREA from the table.
    const row = page.locator(tid(`unit-row-${AREA}`));
    await row.waitFor({ state: "visible" }).catch(() => {
      throw new Error(`no unit row for DOORSTEP_AREA=${AREA} in the units table (it must be a child of ${USER}'s area)`);
    });
    const unitName = (await row.locator("th").innerText()).trim();
    await row.click();
    await page.waitForFunction(
      ([sel, before, name]) => {
        const t = document.querySelector(sel)?.textContent ?? "";
        return t.trim() !== before && t.includes(name);
      },
      [tid("breadcrumb"), crumbBefore, unitName],
    );
    check(true, `the breadcrumb goes down to ${unitName}`);
    // The cards are drawn again as the unit's figures arrive: wait for the number itself, not for
    // the first drawing (a read between the two saw the loading state).
    const unitNumber = await page.waitForFunction(
      (sel) => {
        const card = document.querySelector(sel);
        return card?.querySelector("[data-value]") && /\d/.test(card.textContent ?? "");
      },
      tid("card-visited"),
    );
    check(!!(await unitNumber.jsonValue()), "card-visited shows the unit's number");
    if (TARGET_HOUSEHOLDS) {
      const rate = await page.locator(`${tid("card-target-coverage")} .card-value`).getAttribute("data-rate");
      const text = await page.locator(`${tid("card-target-coverage")} .card-value`).innerText();
      check(rate !== null && /%/.test(text), `the unit's target coverage card shows a rate (${text})`);
    }

    if (webgl) {
      const second = await mapReady(page, first ? first.codes : null);
      check(second.areas > 0 || second.households > 0, `the map shows ${unitName} (${second.areas} areas, ${second.households} households)`);
      if (VENUES > 0) {
        const n = await page.waitForFunction(
          async (want) => {
            const data = await window.__doorstepMap.getSource("venues").getData();
            return data.features.length >= want ? data.features.length : false;
          },
          VENUES,
          { timeout: TIMEOUT, polling: 250 },
        );
        check(true, `the map marks ${await n.jsonValue()} venue(s) in ${unitName}`);
      }
      // A household's popup: zoom to one, click it.
      if (second.households > 0) {
        await page.locator(tid("map")).scrollIntoViewIfNeeded();
        const target = await page.evaluate(async () => {
          const m = window.__doorstepMap;
          const data = await m.getSource("households").getData();
          const [lon, lat] = data.features[0].geometry.coordinates;
          m.jumpTo({ center: [lon, lat], zoom: 17 });
          return [lon, lat];
        });
        await page.waitForFunction(() => window.__doorstepMap.loaded() && window.__doorstepMap.queryRenderedFeatures({ layers: ["households"] }).length > 0);
        const p = await page.evaluate(([lon, lat]) => {
          const m = window.__doorstepMap;
          const pt = m.project([lon, lat]);
          const r = m.getCanvas().getBoundingClientRect();
          return { x: r.left + pt.x, y: r.top + pt.y };
        }, target);
        await page.mouse.click(p.x, p.y);
        await page.waitForSelector(tid("popup"));
        const text = await page.locator(tid("popup")).innerText();
        check(/\d/.test(text) && text.length > 5, `clicking a household opens its popup (${text.replace(/\s+/g, " ").slice(0, 60)})`);
        if (PHOTOS) {
          const loaded = `${tid("popup")} .photo-thumb-btn img`;
          await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((i) => i.src.startsWith("blob:") && i.complete && i.naturalWidth > 0), loaded);
          check(true, "the popup shows the visit's photo as a thumbnail");
        }
        // Its visits, and (for a leader) sending one back with a comment.
        if (SEND_BACK) {
          const comment = page.locator(`${tid("popup")} textarea[data-testid^="sendback-comment-"]`).first();
          await comment.waitFor({ state: "visible" });
          const visitId = (await comment.getAttribute("data-testid")).replace("sendback-comment-", "");
          check(await page.locator(tid(`visit-${visitId}`)).isVisible(), `the popup lists the household's visit ${visitId}`);
          await page.click(tid(`sendback-${visitId}`));
          await page.waitForSelector(`${tid(`sendback-error-${visitId}`)}:visible`);
          check(true, "an empty note is refused in the page, before anything is sent");
          await comment.fill(SEND_BACK);
          await page.click(tid(`sendback-${visitId}`));
          await page.waitForSelector(`${tid("popup")} .sentback.open`);
          const note = await page.locator(`${tid("popup")} .sentback.open`).innerText();
          check(note.includes(SEND_BACK), `the visit shows as sent back, waiting for the volunteer (${note.replace(/\s+/g, " ").slice(0, 70)})`);
          check((await page.locator(tid(`sendback-${visitId}`)).count()) === 0, "no second send-back while one is open");
          console.log(`sent back visit ${visitId}`);
          await shot(page, "2b-sent-back");
        }
      }
    }
    await shot(page, "2-unit");

    // Claims: give a street of the unit to a volunteer; it is listed, held.
    if (CLAIM_VOLUNTEER) {
      await page.locator("#claims-section").scrollIntoViewIfNeeded();
      const street = tid("claim-street");
      await page.waitForFunction((sel) => (document.querySelector(sel)?.querySelectorAll("option[value]:not([value=''])").length ?? 0) > 0, street);
      const options = await page.locator(`${street} option`).evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent })));
      const chosen = options.find((o) => o.value);
      check(!!chosen, `the unit's streets are offered (${options.length - 1}: ${chosen ? chosen.text : "none"})`);
      await page.waitForSelector(`${tid("claim-volunteer")} option[value="${CLAIM_VOLUNTEER}"]`, { state: "attached" });
      await page.selectOption(street, chosen.value);
      await page.selectOption(tid("claim-volunteer"), CLAIM_VOLUNTEER);
      await page.click(tid("claim-give"));
      await page.waitForSelector(`${tid("claim-notice")}:visible`);
      const notice = await page.locator(tid("claim-notice")).innerText();
      check(notice.includes(CLAIM_VOLUNTEER), `the page says the street was given (${notice})`);
      check(!(await page.locator(tid("claim-error")).isVisible()), "no error next to the form");
      const row = page.locator('#claims-section tr[data-status="active"]', { hasText: CLAIM_VOLUNTEER });
      await row.first().waitFor();
      const text = (await row.first().innerText()).replace(/\s+/g, " ");
      const name = chosen.text.replace(/\s*\(.*$/, "");
      check(text.includes(name) && text.includes("Đang giữ"), `the claim is listed, held (${text})`);
      check(/\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}.*\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/.test(text), "with when it was given and when it runs out");
      console.log(`claimed street ${chosen.value} for ${CLAIM_VOLUNTEER}`);
      await shot(page, "2c-claims");
    }

    // English.
    await page.click(tid("lang-en"));
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes("Households visited"), tid("card-visited"));
    check(true, "English: card-visited reads \"Households visited\"");
    check((await page.locator(tid("logout")).innerText()).includes("Sign out"), "English: the logout button reads \"Sign out\"");
    check((await page.locator("html").getAttribute("lang")) === "en", "English: the document's language is en");
    if (CLAIM_VOLUNTEER) {
      const chip = await page.locator('#claims-section tr[data-status="active"] .chip').first().innerText();
      check(chip === "Active", `English: the claim's status reads "Active" (${chip})`);
    }
    await shot(page, "3-english");

    // The daily report.
    const date = await page.locator(tid("report-date")).inputValue();
    check(/^\d{2}\/\d{2}\/\d{4}$/.test(date), `the report date defaults to a day, shown dd/mm/yyyy (${date})`);
    if (REPORT_DATE) await typeDay(page, "report-date", REPORT_DATE);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(tid("report-download"))]);
    mkdirSync(dirname(DOWNLOAD), { recursive: true });
    await download.saveAs(DOWNLOAD);
    const size = statSync(DOWNLOAD).size;
    const head = readFileSync(DOWNLOAD).subarray(0, 2).toString("latin1");
    check(size > 0 && head === "PK", `the XLSX is saved to ${DOWNLOAD} (${size} bytes, ${download.suggestedFilename()})`);

    // The Photos panel of the day, and one photo opened large.
    if (PHOTOS) {
      if (REPORT_DATE) await typeDay(page, "photos-date", REPORT_DATE);
      const thumbs = "#photos-section .photo-thumb-btn img";
      await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((i) => i.complete && i.naturalWidth > 0), thumbs);
      const n = await page.locator(thumbs).count();
      check(n > 0, `the Photos panel shows the day's photos (${n})`);
      await page.locator("#photos-section .photo-thumb-btn").first().click();
      await page.waitForFunction((sel) => {
        const i = document.querySelector(sel);
        return !!i && i.complete && i.naturalWidth > 0;
      }, tid("photo-large-img"));
      check(true, "a photo opens large");
      await shot(page, "3b-photo-large");
      await page.keyboard.press("Escape");
      await page.waitForSelector(tid("photo-large"), { state: "detached" });
    }

    // The walk list as printed.
    if (SHOTS) {
      await page.emulateMedia({ media: "print" });
      await shot(page, "4-walk-list-print");
      await page.emulateMedia({ media: "screen" });
    }

  }
}

main().catch((e) => {
  console.error(`dashboard e2e FAILED after ${checksPassed()} checks: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
