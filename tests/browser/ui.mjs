// Drives the self-service page and the <avatar-picker> element in Debian's chromium against
// the real server, as tests/tests/ui_browser.rs sets it up: reads a plan (JSON) on stdin,
// checks what a person sees at each step, saves a screenshot of each state, and prints what
// the Rust side checks further (the crop sent, the served image, timings) as JSON on stdout.
// Any failed check throws: the script exits non-zero with the reason on stderr.

import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(0, "utf8"));
const STEP = 15_000;
const result = { steps: [] };
mkdirSync(plan.screenshots, { recursive: true });

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(plan.screenshots, `${name}.png`), fullPage: true });
  result.steps.push(name);
}

const editUrl = (token, extra = "") => `${plan.base}/_ui/edit?token=${encodeURIComponent(token)}${extra}`;

// A page that fails the run on any script error, console error or CSP violation.
async function strictPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Chromium logs every 4xx answer (a HEAD of a hash without an avatar, a refusal the
    // test provokes) as an error; each is checked where it is expected.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.problems.push(`console error: ${m.text()}`);
    }
  });
  page.setDefaultTimeout(STEP);
  return page;
}

function clean(page, what) {
  check(page.problems.length === 0, `${what}: ${page.problems.join("; ")}`);
}

async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: STEP });
}

const status = (page) => page.getByRole("status");

async function statusSays(page, pattern, what) {
  await page.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.querySelector('[role="status"]').textContent),
    [pattern.source, pattern.flags],
    { timeout: STEP },
  ).catch(async () => {
    throw new Error(`${what}: the status says ${JSON.stringify(await status(page).textContent())}`);
  });
}

const crop = (page) => page.locator("#frame").getAttribute("data-crop");

function parseCrop(text) {
  const [x, y, w, h] = text.split(",").map(Number);
  return { x, y, w, h };
}

const browser = await chromium.launch({
  executablePath: plan.chromium,
  headless: true,
  args: ["--no-sandbox"],
  timeout: 60_000,
});

try {
  const context = await browser.newContext({ viewport: { width: 900, height: 1100 } });

  // 1. Opened from the app's link: the token leaves the address bar, the default shows.
  const page = await strictPage(context);
  await page.goto(editUrl(plan.token, `&return=${encodeURIComponent(plan.returnUrl)}`));
  await ready(page);
  check(!page.url().includes(plan.token) && !page.url().includes("token="), `the token is still in ${page.url()}`);
  check(await page.getByRole("button", { name: "Remove", exact: true }).isDisabled(), "Remove is enabled with nothing to remove");
  check(await page.getByRole("button", { name: "Save", exact: true }).isDisabled(), "Save is enabled with no picture");
  const shownDefault = await page.locator("#current").evaluate((img) => img.complete && img.naturalWidth);
  check(shownDefault > 0, "the default picture does not show");
  check(await page.getByRole("link", { name: "Back to the app" }).getAttribute("href") === plan.returnUrl, "no back link");
  check(!(await page.getByRole("button", { name: "Close" }).isVisible()), "a Close button outside a dialog");
  await statusSays(page, /no picture yet/i, "opening");
  await shot(page, "01-opened");

  // 2. Choose, zoom and move with the keyboard, preview, save.
  await page.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  await page.waitForFunction(() => document.querySelector("#frame").dataset.crop);
  const start = parseCrop(await crop(page));
  const frame = page.getByRole("application");
  // The mouse: dragging the picture left shows more of its right; the wheel zooms.
  const box = await frame.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 60, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const dragged = parseCrop(await crop(page));
  check(dragged.x > start.x && dragged.w === start.w, `dragging left: ${JSON.stringify(start)} -> ${JSON.stringify(dragged)}`);
  await page.mouse.wheel(0, -100);
  const wheeled = parseCrop(await crop(page));
  check(wheeled.w < dragged.w, `the wheel did not zoom in: ${dragged.w} -> ${wheeled.w}`);
  // The keyboard, from there.
  const initial = wheeled;
  await frame.focus();
  for (const key of ["+", "+", "+", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown"]) {
    await page.keyboard.press(key);
  }
  const chosen = parseCrop(await crop(page));
  check(chosen.w === chosen.h, "the crop is not square");
  check(chosen.w < initial.w, `zooming in did not shrink the square: ${initial.w} -> ${chosen.w}`);
  const initialCentre = { x: initial.x + initial.w / 2, y: initial.y + initial.w / 2 };
  const chosenCentre = { x: chosen.x + chosen.w / 2, y: chosen.y + chosen.w / 2 };
  check(chosenCentre.x > initialCentre.x && chosenCentre.y > initialCentre.y, "the arrows did not move the square right and down");
  for (const n of plan.sizes) {
    const preview = page.getByAltText(`Preview, ${n} px`, { exact: true });
    await preview.waitFor({ state: "visible" });
    await page.waitForFunction(([alt, n]) => {
      const img = [...document.images].find((i) => i.alt === alt);
      return img && img.complete && img.naturalWidth === n;
    }, [`Preview, ${n} px`, n]);
    check(await page.getByAltText(`Round preview, ${n} px`, { exact: true }).isVisible(), `no round preview at ${n}`);
  }
  await shot(page, "02-chosen");
  const sent = page.waitForRequest((r) => r.method() === "PUT");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const request = await sent;
  result.sentCrop = new URL(request.url()).searchParams.get("crop");
  check(result.sentCrop === `${chosen.x},${chosen.y},${chosen.w},${chosen.h}`, `sent ${result.sentCrop}, shown ${JSON.stringify(chosen)}`);
  check(!request.url().includes("token"), "the token went in the URL");
  check((await request.allHeaders()).authorization === `Bearer ${plan.token}`, "no Bearer header");
  await statusSays(page, /saved/i, "saving");
  check(await page.getByRole("button", { name: "Remove", exact: true }).isEnabled(), "Remove stays disabled after a save");
  const served = await page.request.get(`${plan.base}/${plan.hash}/128`);
  check(served.status() === 200, `GET /{hash}/128: ${served.status()}`);
  result.served128 = (await served.body()).toString("base64");
  await page.waitForFunction(() => {
    const img = document.querySelector("#current");
    return img.complete && img.naturalWidth > 0 && !img.src.includes("removed");
  });
  await shot(page, "03-saved");

  // 3. Remove, after a confirmation; the default shows again.
  await page.getByRole("button", { name: "Remove", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Remove your picture?" });
  await dialog.waitFor({ state: "visible" });
  await shot(page, "04-confirm-removal");
  await page.getByRole("button", { name: "Yes, remove it" }).click();
  await statusSays(page, /removed/i, "removing");
  const head = await page.request.head(`${plan.base}/${plan.hash}`);
  check(head.status() === 404, `HEAD after removal: ${head.status()}`);
  check(await page.getByRole("button", { name: "Remove", exact: true }).isDisabled(), "Remove stays enabled after removal");
  await page.waitForFunction(() => document.querySelector("#current").complete && document.querySelector("#current").naturalWidth > 0);
  await shot(page, "05-removed");
  clean(page, "the page");

  // 4. Errors, in words.
  await page.getByLabel("Choose a picture").setInputFiles(plan.big);
  await statusSays(page, /largest we take is/i, "a 20 MB file");
  await shot(page, "06-error-too-large");
  await page.getByLabel("Choose a picture").setInputFiles(plan.text);
  await statusSays(page, /not a picture/i, "a text file");
  await shot(page, "07-error-not-a-picture");
  const expired = await strictPage(context);
  await expired.goto(editUrl(plan.expiredToken));
  await ready(expired);
  await statusSays(expired, /expired/i, "an expired token");
  check(await expired.getByLabel("Choose a picture").isDisabled(), "an expired link still lets people choose");
  await shot(expired, "08-error-expired");
  // A refusal by the server itself: the link's token is for another hash than the page's.
  const wrong = await strictPage(context);
  await wrong.goto(editUrl(plan.token, `&hash=${plan.otherHash}`));
  await ready(wrong);
  await wrong.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  await wrong.getByRole("button", { name: "Save", exact: true }).click();
  await statusSays(wrong, /another account/i, "a token for another hash");
  await shot(wrong, "09-error-wrong-hash");

  // 5. axe-core finds no violations, with a picture chosen and with the dialog open. The
  // page's CSP forbids injected scripts, so this context bypasses it.
  const audit = await browser.newContext({ bypassCSP: true, viewport: { width: 900, height: 1100 } });
  const audited = await audit.newPage();
  audited.setDefaultTimeout(STEP);
  await audited.goto(editUrl(plan.token));
  await ready(audited);
  await audited.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  await audited.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
  await audited.addScriptTag({ path: plan.axe });
  result.axe = await audited.evaluate(async () => {
    const report = await window.axe.run(document);
    return report.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
  });
  check(result.axe.length === 0, `axe: ${result.axe.join("; ")}`);
  await audit.close();

  // 6. The picker element, in an app on another origin. Chromium lets a page load from a
  // loopback address (the server's here; a public host in production) only from a secure
  // context (localhost) that was granted local network access.
  const appContext = await browser.newContext({ viewport: { width: 900, height: 1100 } });
  await appContext.grantPermissions(["local-network-access"], { origin: "http://localhost:9" });
  const app = await strictPage(appContext);
  await app.route("http://localhost:9/**", (route) => route.fulfill({
    contentType: "text/html",
    body: `<!doctype html><html lang="en"><title>An app</title>
      <script type="module" src="${plan.base}/_ui/avatar-picker.js"></script>
      <h1>Settings</h1>
      <avatar-picker src-base="${plan.base}" hash="${plan.hash}" token="${plan.token}" size="96"></avatar-picker>
      <script>window.changes = []; document.addEventListener("avatar-changed", (e) => window.changes.push(e.detail));</script>`,
  }));
  await app.goto("http://localhost:9/settings");
  await app.getByRole("button", { name: "Change your picture" }).click().catch((e) => {
    throw new Error(`the picker shows no button (${app.problems.join("; ")}): ${e.message}`);
  });
  const editor = app.frameLocator('iframe[title="Change your picture"]');
  await editor.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  await editor.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
  await editor.getByRole("button", { name: "Save", exact: true }).click();
  await app.waitForFunction(() => window.changes.length > 0, null, { timeout: STEP });
  result.pickerEvent = await app.evaluate(() => window.changes[0]);
  check(result.pickerEvent.hash === plan.hash && !result.pickerEvent.removed, "the event names another hash");
  check(Object.keys(result.pickerEvent.urls).length > 0, "the event carries no URLs");
  await shot(app, "10-picker-saved");
  await editor.getByRole("button", { name: "Close" }).click();
  await app.waitForFunction(() => !document.querySelector("avatar-picker").shadowRoot.querySelector("dialog").open);
  clean(app, "the app page");

  // 7. Time to interactive, over fresh loads.
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    const fresh = await browser.newContext();
    const p = await fresh.newPage();
    await p.goto(editUrl(plan.token));
    await ready(p);
    times.push(await p.evaluate(() => performance.getEntriesByName("avatar-ready")[0].startTime));
    await fresh.close();
  }
  times.sort((a, b) => a - b);
  result.readyMs = times;
  result.readyMedianMs = times[2];
} finally {
  await browser.close();
}

process.stdout.write(JSON.stringify(result));
