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

// A DataTransfer in the page holding the file at `path`, as a drop or a paste carries it.
async function transfer(page, path) {
  const bytes = readFileSync(path).toString("base64");
  return page.evaluateHandle((bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], "photo.jpg", { type: "image/jpeg" }));
    return data;
  }, bytes);
}

const drop = async (page, path) => page.dispatchEvent("body", "drop", { dataTransfer: await transfer(page, path) });

async function paste(page, path) {
  const data = await transfer(page, path);
  await page.evaluate((data) => document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true })), data);
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
// The whole run is bounded: past the deadline the browser goes and the run fails.
const watchdog = setTimeout(async () => {
  process.stderr.write(`the run took longer than ${plan.deadlineMs} ms\n`);
  await browser.close().catch(() => {});
  process.exit(2);
}, plan.deadlineMs);

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

  // A photo whose EXIF says "turn me": the page crops it as it shows it, which is how the
  // server counts (the Rust side compares the served pixels with the upright picture).
  const turned = await strictPage(context);
  await turned.goto(editUrl(plan.token));
  await ready(turned);
  await turned.getByLabel("Choose a picture").setInputFiles(plan.rotatedJpeg);
  await turned.waitForFunction(() => document.querySelector("#frame").dataset.crop);
  const upright = parseCrop(await crop(turned));
  check(upright.w === 900 && upright.x === 150 && upright.y === 0, `the turned photo is not shown upright: ${JSON.stringify(upright)}`);
  await turned.getByRole("application").focus();
  for (const key of ["=", "=", "ArrowLeft", "ArrowLeft", "ArrowUp"]) await turned.keyboard.press(key);
  const putTurned = turned.waitForRequest((r) => r.method() === "PUT");
  await turned.getByRole("button", { name: "Save", exact: true }).click();
  result.rotatedCrop = new URL((await putTurned).url()).searchParams.get("crop");
  await statusSays(turned, /saved/i, "saving the turned photo");
  result.rotated128 = (await (await turned.request.get(`${plan.base}/${plan.hash}/128`)).body()).toString("base64");
  clean(turned, "the page with a turned photo");
  await turned.close();

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
  await drop(expired, plan.jpeg);
  await paste(expired, plan.jpeg);
  await expired.waitForTimeout(300);
  check(await expired.locator("#editor").isHidden(), "an expired link takes a dropped or pasted picture");
  await shot(expired, "08-error-expired");
  // A refusal by the server itself: the link's token is for another hash than the page's.
  const wrong = await strictPage(context);
  await wrong.goto(editUrl(plan.token, `&hash=${plan.otherHash}`));
  await ready(wrong);
  // Dropped on the page this time.
  await drop(wrong, plan.jpeg);
  await wrong.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
  await wrong.getByRole("button", { name: "Save", exact: true }).click();
  await statusSays(wrong, /another account/i, "a token for another hash");
  await shot(wrong, "09-error-wrong-hash");

  // Every other refusal the API can give, said in words and never as its code: the
  // answers are faked in the browser (the server gives them only under load, faults or
  // hostile files), the page is the real one.
  const faked = await context.newPage();
  faked.setDefaultTimeout(STEP);
  const pageErrors = [];
  faked.on("pageerror", (e) => pageErrors.push(e.message));
  let answer = null;
  await faked.route((url) => url.pathname === `/${plan.hash}`, (route) => {
    if (route.request().method() !== "PUT") return route.continue();
    if (answer.abort) return route.abort("internetdisconnected");
    const body = answer.code ? JSON.stringify({ error: { code: answer.code, message: "faked" } }) : "<h1>Bad Gateway</h1>";
    return route.fulfill({
      status: answer.status,
      headers: { "content-type": answer.code ? "application/json" : "text/html", ...answer.headers },
      body,
    });
  });
  await faked.goto(editUrl(plan.token));
  await ready(faked);
  // Pasted this time.
  await paste(faked, plan.jpeg);
  await faked.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
  const refusals = [
    [400, "invalid-crop", /does not fit the picture/],
    [401, "missing-token", /link is not valid/],
    [401, "invalid-token", /link is not valid/],
    [401, "bad-signature", /link is not valid/],
    [401, "token-expired", /link has expired/],
    [401, "token-not-yet-valid", /not valid yet/],
    [403, "wrong-hash", /another account/],
    [403, "wrong-tenant", /another account/],
    [403, "forbidden", /another account/],
    [408, "body-timeout", /took too long/],
    [413, "payload-too-large", /largest we take is 10 MB/],
    [413, "", /largest we take is 10 MB/],
    [415, "unsupported-image", /not a picture we can use/],
    [415, "unsupported-media-type", /not a picture we can use/],
    [422, "undecodable-image", /damaged/],
    [422, "invalid-image", /damaged/],
    [422, "too-many-pixels", /too many pixels/],
    [429, "rate-limited", /wait 30 seconds/, { "retry-after": "30" }],
    [500, "internal", /on our side/],
    [500, "plugin-timeout", /on our side/],
    [502, "", /on our side/],
    [503, "storage-unavailable", /busy right now.*in 5 seconds/, { "retry-after": "5" }],
    [503, "tenant-busy", /busy right now/],
    [503, "shutting-down", /busy right now/],
    [0, "network", /could not reach the service/],
  ];
  result.refusals = {};
  for (const [httpStatus, code, pattern, headers = {}] of refusals) {
    answer = httpStatus ? { status: httpStatus, code, headers } : { abort: true };
    // A different word first, so each answer's message is seen anew.
    await faked.evaluate(() => { document.querySelector('[role="status"]').textContent = ""; });
    await faked.getByRole("button", { name: "Save", exact: true }).click();
    const what = `${httpStatus} ${code || "(no JSON)"}`;
    await statusSays(faked, pattern, what);
    const said = await status(faked).textContent();
    check(!code || !said.includes(code), `${what}: the status quotes the code: ${said}`);
    check(await faked.getByRole("button", { name: "Save", exact: true }).isEnabled(), `${what}: Save stays disabled`);
    result.refusals[what] = said;
    if (code === "rate-limited") await shot(faked, "10-error-rate-limited");
  }
  check(pageErrors.length === 0, `faked refusals: ${pageErrors.join("; ")}`);
  await faked.close();

  // 5. On a phone: nothing wider than the screen, the camera offered, and the crop follows
  // one finger (drag) and two (pinch), as Pointer Events from real touch input.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  const mobile = await strictPage(phone);
  await mobile.goto(editUrl(plan.token));
  await ready(mobile);
  await mobile.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  await mobile.waitForFunction(() => document.querySelector("#frame").dataset.crop);
  const fits = await mobile.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check(fits, "the page is wider than a phone's screen");
  check(await mobile.getByText("Take a photo").isVisible(), "no camera on a touch screen");
  const touch = await phone.newCDPSession(mobile);
  const fingers = async (type, points) => touch.send("Input.dispatchTouchEvent", {
    type, touchPoints: points.map(([x, y], id) => ({ x, y, id })),
  });
  const area = await mobile.getByRole("application").boundingBox();
  const [cx, cy] = [area.x + area.width / 2, area.y + area.height / 2];
  const before = parseCrop(await crop(mobile));
  await fingers("touchStart", [[cx, cy]]);
  for (let i = 1; i <= 5; i += 1) await fingers("touchMove", [[cx - 10 * i, cy]]);
  await fingers("touchEnd", []);
  const swiped = parseCrop(await crop(mobile));
  check(swiped.x > before.x && swiped.w === before.w, `a swipe left: ${JSON.stringify(before)} -> ${JSON.stringify(swiped)}`);
  await fingers("touchStart", [[cx - 20, cy], [cx + 20, cy]]);
  for (let i = 1; i <= 5; i += 1) await fingers("touchMove", [[cx - 20 - 12 * i, cy], [cx + 20 + 12 * i, cy]]);
  await fingers("touchEnd", []);
  const pinched = parseCrop(await crop(mobile));
  check(pinched.w < swiped.w, `spreading two fingers did not zoom in: ${swiped.w} -> ${pinched.w}`);
  result.touch = { before, swiped, pinched };
  await mobile.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
  await shot(mobile, "11-phone");
  clean(mobile, "the page on a phone");
  await phone.close();

  // 6. axe-core finds no violations, in light and dark, with a picture chosen and with the
  // confirmation open. The page's CSP forbids injected scripts, so this context bypasses it.
  result.axe = [];
  for (const colorScheme of ["light", "dark"]) {
    const audit = await browser.newContext({ bypassCSP: true, colorScheme, viewport: { width: 900, height: 1100 } });
    const audited = await audit.newPage();
    audited.setDefaultTimeout(STEP);
    await audited.goto(editUrl(plan.token, `&return=${encodeURIComponent(plan.returnUrl)}`));
    await ready(audited);
    await audited.addScriptTag({ path: plan.axe });
    const run = (what) => audited.evaluate(async (what) => {
      const report = await window.axe.run(document);
      return report.violations.map((v) => `${what}: ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(" ")})`);
    }, `${colorScheme}, ${what}`);
    result.axe.push(...await run("opened"));
    await audited.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
    await audited.getByAltText(`Preview, ${plan.sizes[0]} px`, { exact: true }).waitFor();
    result.axe.push(...await run("a picture chosen"));
    if (colorScheme === "dark") await shot(audited, "12-dark");
    await audited.getByRole("button", { name: "Save", exact: true }).click();
    await statusSays(audited, /saved/i, "saving for the audit");
    await audited.getByRole("button", { name: "Remove", exact: true }).click();
    await audited.getByRole("dialog").waitFor();
    result.axe.push(...await run("the confirmation open"));
    await audited.getByRole("button", { name: "Yes, remove it" }).click();
    await statusSays(audited, /removed/i, "removing for the audit");
    await audit.close();
  }
  check(result.axe.length === 0, `axe: ${result.axe.join("; ")}`);

  // 7. The picker element, in an app on another origin, for the tenant by its prefix whose
  // origins list the app's (so the server names it in frame-ancestors). Chromium lets a
  // page load from a loopback address (the server's here; a public host in production) only
  // from a secure context (localhost) that was granted local network access.
  const acme = plan.acme;
  const appContext = await browser.newContext({ viewport: { width: 900, height: 1100 } });
  await appContext.grantPermissions(["local-network-access"], { origin: plan.appOrigin });
  const app = await strictPage(appContext);
  await app.route(`${plan.appOrigin}/**`, (route) => route.fulfill({
    contentType: "text/html",
    body: `<!doctype html><html lang="en"><title>An app</title>
      <script type="module" src="${acme.base}/_ui/avatar-picker.js"></script>
      <h1>Settings</h1>
      <avatar-picker src-base="${acme.base}" hash="${plan.hash}" token="${acme.token}" size="96"></avatar-picker>
      <script>window.changes = []; document.addEventListener("avatar-changed", (e) => window.changes.push(e.detail));</script>`,
  }));
  await app.goto(`${plan.appOrigin}/settings`);
  await app.getByRole("button", { name: "Change your picture" }).click().catch((e) => {
    throw new Error(`the picker shows no button (${app.problems.join("; ")}): ${e.message}`);
  });
  const editor = app.frameLocator('iframe[title="Change your picture"]');
  await editor.getByLabel("Choose a picture").setInputFiles(plan.jpeg);
  // The tenant's own sizes, not the default tenant's.
  for (const n of acme.sizes) await editor.getByAltText(`Preview, ${n} px`, { exact: true }).waitFor();
  await shot(app, "13-picker-open");
  // A message from anywhere but the element's own dialog changes nothing.
  await app.evaluate((hash) => window.postMessage({ type: "avatar-changed", hash, urls: {}, removed: false }, "*"), plan.hash);
  const put = app.waitForRequest((r) => r.method() === "PUT");
  await editor.getByRole("button", { name: "Save", exact: true }).click();
  check(new URL((await put).url()).pathname === `${new URL(acme.base).pathname}/${plan.hash}`, "the picker's page saved outside its tenant");
  await app.waitForFunction(() => window.changes.length > 0, null, { timeout: STEP });
  result.pickerEvent = await app.evaluate(() => window.changes[0]);
  check(await app.evaluate(() => window.changes.length) === 1, "a forged message counted");
  check(result.pickerEvent.hash === plan.hash && !result.pickerEvent.removed, "the event names another hash");
  check(Object.keys(result.pickerEvent.urls).sort().join() === acme.presets.join(), `the event's URLs: ${JSON.stringify(result.pickerEvent.urls)}`);
  const face = () => app.evaluate(() => document.querySelector("avatar-picker").shadowRoot.querySelector("img").src);
  check((await face()).includes("?v="), "the picker still shows the old picture");
  await editor.getByRole("status").filter({ hasText: /saved/i }).waitFor();
  await shot(app, "14-picker-saved");
  // Removing in the dialog: the event says so, with the default's URLs under the same names.
  await editor.getByRole("button", { name: "Remove", exact: true }).click();
  await editor.getByRole("button", { name: "Yes, remove it" }).click();
  await app.waitForFunction(() => window.changes.length > 1, null, { timeout: STEP });
  result.pickerRemoval = await app.evaluate(() => window.changes[1]);
  check(result.pickerRemoval.removed === true, "the removal's event says nothing was removed");
  check(Object.keys(result.pickerRemoval.urls).sort().join() === acme.presets.join(), `the removal's URLs: ${JSON.stringify(result.pickerRemoval.urls)}`);
  await editor.getByRole("button", { name: "Close" }).click();
  await app.waitForFunction(() => !document.querySelector("avatar-picker").shadowRoot.querySelector("dialog").open);
  clean(app, "the app page");

  // 8. Time to interactive, over fresh loads.
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
  clearTimeout(watchdog);
  await browser.close();
}

process.stdout.write(JSON.stringify(result));
