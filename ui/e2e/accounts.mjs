// Accounts in a real browser against a running `doorstep serve` (issue 19), one phase a run so
// that a test can act between them with a real phone:
//   DOORSTEP_URL=... DOORSTEP_PHASE=add|disable|reset DOORSTEP_WIDTH=390 DOORSTEP_HEIGHT=844 \
//   DOORSTEP_USER=... DOORSTEP_PASSWORD=... DOORSTEP_AREA=18073 DOORSTEP_VOLUNTEER=tnv.moi \
//   [DOORSTEP_LEADER=... DOORSTEP_NEW_PASSWORD=...] [DOORSTEP_SCREENSHOTS=dir] node e2e/accounts.mjs
// add:     signs in, sends a roster with a mistake (refused by line), then the fixed roster adding
//          the volunteer in DOORSTEP_AREA; opens the enrolment cards and prints the volunteer's
//          card's code as `ENROLMENT_CODE=...`; adds one more by the form and shows a code large
//          with its QR.
// disable: signs in, revokes the volunteer's phone in the devices table (DOORSTEP_REASON, after the
//          confirm), then disables the volunteer's account after its confirm.
// reset:   signs in as an admin, issues DOORSTEP_LEADER a password code, signs out, sets the new
//          password with it on the sign-in page and signs in as the leader with it.
// Every phase checks that the accounts (and the sign-in page) reach nothing past the viewport's
// right edge.
// Exit code 0 when every check passes; otherwise 1 with the failing check on stderr.

import { chromium } from "playwright-core";
import { check, checksPassed, envReader, tid, launchChromium } from "./lib.mjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = envReader("accounts e2e");

const URL_ = env("DOORSTEP_URL").replace(/\/+$/, "");
const PHASE = env("DOORSTEP_PHASE");
const USER = env("DOORSTEP_USER");
const PASSWORD = env("DOORSTEP_PASSWORD");
const AREA = env("DOORSTEP_AREA");
const VOLUNTEER = env("DOORSTEP_VOLUNTEER");
const WIDTH = Number(env("DOORSTEP_WIDTH", false) || 1440);
const HEIGHT = Number(env("DOORSTEP_HEIGHT", false) || 900);
const SHOTS = env("DOORSTEP_SCREENSHOTS", false);
const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = Number(process.env.DOORSTEP_E2E_TIMEOUT_MS || 30000);


async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `accounts-${name}-${WIDTH}.png`);
  await page.screenshot({ path, fullPage: false });
  console.log(`  screenshot ${path}`);
}

/** Nothing of `selector` (default: the whole page) reaches past the viewport's right edge. */
async function noSidewaysScroll(page, where, selector = null) {
  const { right, width } = await page.evaluate((sel) => {
    const root = sel ? document.querySelector(sel) : document.documentElement;
    const right = sel ? Math.max(root.getBoundingClientRect().right, ...[...root.querySelectorAll("*")].map((e) => e.getBoundingClientRect().right)) : root.scrollWidth;
    return { right: Math.round(right), width: window.innerWidth };
  }, selector);
  check(right <= width, `${where}: nothing past the right edge at ${width} px (${right})`);
}

async function signIn(page, user, password) {
  await page.goto(URL_ + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector(tid("login-username"));
  await page.fill(tid("login-username"), user);
  await page.fill(tid("login-password"), password);
  await page.click(tid("login-submit"));
  await page.waitForSelector(`${tid("card-visited")} [data-value]`);
}

async function accounts(page) {
  await page.waitForSelector(tid("account-list"));
  await page.locator(tid("accounts")).scrollIntoViewIfNeeded();
}

/** Waits for the code box `id` and for the list's reload after the action (which once replaced the
 *  box mid-read; the dashboard's unit test holds that it stays the same element). */
async function codeShown(page, id) {
  await page.waitForSelector(tid(id));
  await page.waitForFunction(() => document.querySelector('[data-testid="account-list"]') && !document.querySelector('[data-testid="accounts"] .loading'));
  return (await page.locator(`${tid(id)} .code`).innerText()).trim();
}

/** Sends a roster file through the accounts' file form. */
async function importFile(page, name, text) {
  await page.setInputFiles(tid("import-file"), { name, mimeType: "text/csv", buffer: Buffer.from(text, "utf8") });
  await page.click(tid("import-submit"));
}

async function add(page) {
  await signIn(page, USER, PASSWORD);
  await accounts(page);
  // A roster with a mistake: nothing is added, and the line is named.
  const header = "\ufeffTên đăng nhập;Họ và tên;Vai trò;Mã địa bàn\n";
  await importFile(page, "danh-sach-loi.csv", `${header}${VOLUNTEER};Phạm Thị Mới;;${AREA}\n${VOLUNTEER}.hai;Lê Văn Hai;tổ trưởng;${AREA}\n`);
  await page.waitForSelector(tid("import-lines"));
  const lines = await page.locator(`${tid("import-lines")} li`).allInnerTexts();
  check(lines.length === 1 && lines[0].startsWith("Dòng 3:"), `the refused file names its line (${lines.join(" | ")})`);
  check((await page.locator(tid(`account-${VOLUNTEER}`)).count()) === 0, "and no one of it was added");
  await shot(page, "import-refused");
  // Fixed: both added at once.
  await importFile(page, "danh-sach.csv", `${header}${VOLUNTEER};Phạm Thị Mới;;${AREA}\n${VOLUNTEER}.hai;Lê Văn Hai;;${AREA}\n`);
  await page.waitForSelector(tid("imported"));
  check((await page.locator(tid("imported")).innerText()).includes("Đã thêm 2 người."), "the file added its two people");
  const card = tid(`account-${VOLUNTEER}`);
  await page.waitForSelector(card);
  check((await page.locator(card).innerText()).includes("Phạm Thị Mới"), "the new volunteer is listed by name");
  check((await page.locator(tid(`phones-${VOLUNTEER}`)).innerText()).includes("Chưa có điện thoại"), "with no phone yet");
  const box = (await page.locator(card).boundingBox()) ?? { x: -1, width: 0 };
  check(box.x >= 0 && box.x + box.width <= WIDTH, `the card fits the screen (${Math.round(box.x)} + ${Math.round(box.width)})`);

  // A team over the area, and the new volunteer assigned to it.
  const team = `Tổ ${WIDTH}`;
  await page.locator(tid("team-name")).scrollIntoViewIfNeeded();
  await page.fill(tid("team-name"), team);
  await page.fill(tid("team-area"), AREA);
  await page.click(tid("team-create"));
  const teamCard = tid(`team-${AREA}-${team}`);
  await page.waitForSelector(teamCard);
  await page.selectOption(tid(`assign-${AREA}-${team}-who`), VOLUNTEER);
  await page.click(tid(`assign-${AREA}-${team}-submit`));
  await page.waitForSelector(tid(`unassign-${team}-${VOLUNTEER}-${AREA}`));
  check((await page.locator(tid(`member-${team}-${VOLUNTEER}`)).innerText()).includes("Phạm Thị Mới"), "the volunteer is in the team by name, with the area");
  await noSidewaysScroll(page, "teams", tid("teams"));
  await page.locator(teamCard).scrollIntoViewIfNeeded();
  await shot(page, "team");

  // The cards to print: one per volunteer without a phone, opened in a new window.
  const [cards] = await Promise.all([page.waitForEvent("popup"), page.click(tid("cards-submit"))]);
  await cards.waitForSelector(tid(`card-code-${VOLUNTEER}`));
  const printed = (await cards.locator(tid(`card-code-${VOLUNTEER}`)).innerText()).trim();
  check(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(printed), `the card holds a code (${printed})`);
  const onCards = await cards.locator("article.card").count();
  check(onCards >= 2, `a card for each volunteer without a phone (${onCards})`);
  const text = await cards.locator(tid(`card-${VOLUNTEER}`)).innerText();
  check(text.includes("Phạm Thị Mới") && text.includes(URL_) && text.includes("Mở ứng dụng Doorstep"), "with the name, the server's address and the instructions");
  check((await cards.locator(`${tid(`card-${VOLUNTEER}`)} svg`).count()) === 1, "and its QR");
  check((await cards.locator(tid("cards-print")).count()) === 1, "the page has a print button");
  await cards.emulateMedia({ media: "print" });
  const sheets = await cards.locator("section.sheet").count();
  check(sheets === Math.ceil(onCards / 8), `eight cards to an A4 sheet (${onCards} cards, ${sheets} sheets)`);
  await cards.emulateMedia({ media: "screen" });
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await cards.screenshot({ path: join(SHOTS, `accounts-cards-${WIDTH}.png`) });
  }
  await cards.close();

  // One more by the form, and a code shown large on screen for a phone held up to it.
  await page.fill(tid("new-username"), `${VOLUNTEER}.ba`);
  await page.fill(tid("new-display-name"), "Võ Thị Ba");
  await page.fill(tid("new-area"), AREA);
  await page.click(tid("add-account"));
  await page.waitForSelector(tid(`account-${VOLUNTEER}.ba`));
  await page.click(tid(`enrol-${VOLUNTEER}.ba`));
  const code = await codeShown(page, "enrolment-code");
  check(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(code), `the enrolment code is shown (${code})`);
  // The image decodes after it is in the page.
  const qrSel = `${tid("enrolment-code")} img.qr`;
  await page.waitForFunction((sel) => {
    const img = document.querySelector(sel);
    return img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0;
  }, qrSel);
  const qr = await page.locator(qrSel).evaluate((img) => ({ w: img.naturalWidth, shown: img.getBoundingClientRect().width }));
  check(qr.w > 0 && qr.shown >= Math.min(300, WIDTH * 0.7), `the QR is drawn large enough to scan from the screen (${Math.round(qr.shown)} px)`);
  await noSidewaysScroll(page, "accounts", tid("accounts"));
  await page.locator(tid("enrolment-code")).scrollIntoViewIfNeeded();
  await shot(page, "enrolment-code");
  // The phone enrols with the printed card's code.
  console.log(`ENROLMENT_CODE=${printed}`);
}

async function revokePhone(page) {
  const reason = env("DOORSTEP_REASON");
  const row = page.locator(`${tid("devices")} tbody tr`, { hasText: `@${VOLUNTEER}` });
  check((await row.count()) === 1, `the volunteer's phone is in the devices table by name (${await row.count()})`);
  const id = ((await row.getAttribute("data-testid")) ?? "").replace(/^device-/, "");
  // The phone synced through the field app's client: its version is the one it sent.
  const version = await page.locator(tid(`app-version-${id}`)).innerText();
  check(/^Ứng dụng \d+\.\d+\.\d+/.test(version), `the phone's app version is shown (${version})`);
  await row.scrollIntoViewIfNeeded();
  await page.click(tid(`revoke-${id}`));
  await page.fill(tid(`revoke-reason-input-${id}`), reason);
  await shot(page, "revoke");
  const box = await page.locator(tid(`revoke-submit-${id}`)).boundingBox();
  check(box && box.height >= 44 && box.x + box.width <= WIDTH, `the revoke button is a full-size target on screen (${JSON.stringify(box)})`);
  let asked = "";
  page.once("dialog", (d) => {
    asked = d.message();
    void d.accept();
  });
  await page.click(tid(`revoke-submit-${id}`));
  await page.waitForSelector(tid(`revoke-reason-${id}`));
  check(asked.startsWith(`Thu hồi điện thoại ${id.slice(0, 8)}`), `the confirm names the phone (${asked})`);
  check((await page.locator(tid(`revoke-reason-${id}`)).innerText()).includes(reason), "the table says it is revoked, and why");
}

async function disable(page) {
  await signIn(page, USER, PASSWORD);
  await page.waitForSelector(`${tid("devices")} tbody tr`);
  await revokePhone(page);
  await accounts(page);
  const card = tid(`account-${VOLUNTEER}`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.innerText.includes("đã thu hồi"), tid(`phones-${VOLUNTEER}`));
  let asked = "";
  page.once("dialog", (d) => {
    asked = d.message();
    void d.accept();
  });
  await page.click(tid(`disable-${VOLUNTEER}`));
  await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains("disabled"), card);
  check(asked.startsWith("Khoá tài khoản của Phạm Thị Mới? Phiên đăng nhập kết thúc;"), `the confirm says what disabling does, with no phone left to revoke (${asked})`);
  check((await page.locator(card).innerText()).includes("Đã khoá"), "the card says the account is disabled");
  check((await page.locator(tid(`phones-${VOLUNTEER}`)).innerText()) === "1 điện thoại, đã thu hồi.", `and that its phone is revoked (${await page.locator(tid(`phones-${VOLUNTEER}`)).innerText()})`);
  await noSidewaysScroll(page, "accounts after disabling", tid("accounts"));
  await page.locator(card).scrollIntoViewIfNeeded();
  await shot(page, "disabled");
}

async function reset(page) {
  const leader = env("DOORSTEP_LEADER");
  const newPassword = env("DOORSTEP_NEW_PASSWORD");
  await signIn(page, USER, PASSWORD);
  await accounts(page);
  await page.click(tid(`password-code-${leader}`));
  const code = await codeShown(page, "password-code");
  check(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(code), `the password code is shown once (${code})`);
  await page.locator(tid("password-code")).scrollIntoViewIfNeeded();
  await shot(page, "password-code");
  await page.click(tid("logout"));
  await page.waitForSelector(tid("login-username"));
  await page.click(`${tid("reset")} summary`);
  await page.fill(tid("reset-username"), leader);
  await page.fill(tid("reset-code"), code.toLowerCase());
  await page.fill(tid("reset-password"), newPassword);
  await noSidewaysScroll(page, "the sign-in page");
  await shot(page, "set-password");
  await page.click(tid("reset-submit"));
  await page.waitForSelector(`${tid("reset-done")}:not([hidden])`);
  check((await page.locator(tid("login-username")).inputValue()) === leader, "the sign-in form is ready with the leader's name");
  await page.fill(tid("login-password"), newPassword);
  await page.click(tid("login-submit"));
  await page.waitForSelector(`${tid("card-visited")} [data-value]`);
  check(true, "the leader signs in with the new password");
}

async function main() {
  const browser = await launchChromium(chromium, EXECUTABLE);
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, locale: "vi-VN", hasTouch: WIDTH < 600 });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    console.log(`accounts e2e: ${PHASE} at ${WIDTH}x${HEIGHT}`);
    if (PHASE === "add") await add(page);
    else if (PHASE === "disable") await disable(page);
    else if (PHASE === "reset") await reset(page);
    else throw new Error(`unknown phase ${PHASE}`);
    check(pageErrors.length === 0, `no page errors (${pageErrors.join("; ")})`);
  } finally {
    await browser.close();
  }
  console.log(`accounts e2e: ${checksPassed()} checks passed`);
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
