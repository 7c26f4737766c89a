// The dashboard map's first full render, timed in real headless Chromium against a running
// `doorstep serve` (the benchmark `cargo bench -p doorstep-bench --bench dashboard` starts one
// with Hà Tĩnh's 365,000 households and runs this):
//   DOORSTEP_URL=... DOORSTEP_USER=... DOORSTEP_PASSWORD=... [DOORSTEP_RUNS=5] node e2e/map-bench.mjs
// Signs in (timed from the click until the map is drawn: the first load, on a server that has
// read nothing), then loads the page DOORSTEP_RUNS times (a fresh navigation each time, the
// session kept) and times, from the navigation's start, until the map has its data on screen and
// is idle: no map-data request left in flight, style loaded, every source's data in, every tile
// rendered, nothing moving. Next to it, the floor measured in the same loads: when the last
// map-data response (`/api/v1/map/...`) finished arriving. Prints one JSON line:
// {"sign_in": ms, "sign_in_data": ms, "runs": [...], "data": [...]}.

import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`map bench: set ${name}`);
    process.exit(2);
  }
  return v;
};

const URL_ = env("DOORSTEP_URL").replace(/\/+$/, "");
const USER = env("DOORSTEP_USER");
const PASSWORD = env("DOORSTEP_PASSWORD");
const RUNS = Number(env("DOORSTEP_RUNS", "5"));
const TIMEOUT = Number(env("DOORSTEP_E2E_TIMEOUT_MS", "60000"));
// The map's sources that must hold data before it counts as drawn: at a province, its units'
// outlines and the hexagons (households are read only at street zoom).
const REQUIRED = env("DOORSTEP_REQUIRE_SOURCES", "areas,hexagons").split(",").filter(Boolean);
const tid = (id) => `[data-testid="${id}"]`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: "vi-VN" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  // The map's data requests in flight: the map is drawn only once none is left.
  let pending = 0;
  let answered = 0;
  const isMap = (r) => r.url().includes("/api/v1/map/");
  page.on("request", (r) => isMap(r) && pending++);
  const done = (r) => {
    if (!isMap(r)) return;
    pending--;
    answered++;
  };
  page.on("requestfinished", done);
  page.on("requestfailed", done);

  /** Polls until the map is drawn; times (page clock) of that and of the last map data after `since`. */
  async function drawn(since) {
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      if (Date.now() > deadline) throw new Error("the map did not finish drawing in time");
      if (pending > 0 || answered === 0) {
        await new Promise((done) => setTimeout(done, 10));
        continue;
      }
      // page.evaluate awaits the page's promises (the sources' data).
      const r = await page.evaluate(
        async ([required, since]) => {
          const m = window.__doorstepMap;
          if (!m || !m.isStyleLoaded() || !m.loaded() || !m.areTilesLoaded() || m.isMoving()) return null;
          let features = 0;
          for (const [id, src] of Object.entries(m.getStyle().sources)) {
            if (src.type !== "geojson") continue;
            const d = await m.getSource(id).getData();
            const n = d.features ? d.features.length : 0;
            if (n === 0 && required.includes(id)) return null;
            features += n;
          }
          if (features === 0) return null;
          // One more frame, so what was loaded has been painted.
          await new Promise((done) => requestAnimationFrame(() => done()));
          const apis = performance
            .getEntriesByType("resource")
            .filter((e) => e.name.includes("/api/v1/map/") && e.startTime >= since)
            .map((e) => e.responseEnd);
          return { total: performance.now(), data: apis.length ? Math.max(...apis) : 0, features };
        },
        [REQUIRED, since],
      );
      if (r) return r;
      await new Promise((done) => setTimeout(done, 25));
    }
  }

  // The first load: from the sign-in's click on a server that has read nothing yet, until the
  // map is drawn (the page was loaded before, so MapLibre's download is not in it).
  await page.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
  await page.fill(tid("login-username"), USER);
  await page.fill(tid("login-password"), PASSWORD);
  const clicked = await page.evaluate(() => performance.now());
  await page.click(tid("login-submit"));
  const first = await drawn(clicked);
  const signIn = Math.round(first.total - clicked);
  const signInData = Math.round(first.data - clicked);
  console.error(`  sign-in: map drawn ${signIn} ms after the click (${first.features} features), map data in at ${signInData} ms`);
  // Where the first load's time goes: each request after the click, from the click.
  const timings = await page.evaluate(
    (since) =>
      performance
        .getEntriesByType("resource")
        .filter((e) => e.startTime >= since)
        .map((e) => ({ name: new URL(e.name).pathname.replace(/^\/api\/v1\//, ""), start: Math.round(e.startTime - since), end: Math.round(e.responseEnd - since) })),
    clicked,
  );
  for (const t of timings) console.error(`    ${String(t.start).padStart(5)} → ${String(t.end).padStart(5)} ms  ${t.name}`);

  const runs = [];
  const data = [];
  for (let i = 0; i < RUNS; i++) {
    answered = 0;
    await page.goto(URL_ + "/", { waitUntil: "commit" });
    const r = await drawn(0);
    runs.push(Math.round(r.total));
    data.push(Math.round(r.data));
    console.error(`  load ${i + 1}: map drawn at ${Math.round(r.total)} ms (${r.features} features), map data in at ${Math.round(r.data)} ms`);
  }
  console.log(JSON.stringify({ sign_in: signIn, sign_in_data: signInData, runs, data }));
} finally {
  await browser.close();
}
