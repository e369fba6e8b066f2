// The self-service page's script: takes the link's token out of the address bar, shows the
// current avatar, lets the person choose a picture and crop it (mouse, touch, keyboard),
// previews it at the tenant's sizes, saves it with its crop, removes it, and says in words
// what happened. Talks to the API of the same origin only, with the token as a Bearer header.

const $ = (id) => document.getElementById(id);
const data = document.body.dataset;
const config = {
  base: data.base || "",
  sizes: (data.sizes || "").split(",").map(Number).filter((n) => n > 0),
  size: Number(data.size) || 128,
  maxBytes: Number(data.maxBytes) || Infinity,
  maxPixels: Number(data.maxPixels) || Infinity,
  back: data.return || "",
  embedder: data.origin || "",
};

// The token lives in memory only: out of the address bar (history, bookmarks, screenshots)
// before anything else runs.
const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
if (params.has("token")) {
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
}

const status = $("status");
function say(text, kind = "info") {
  status.textContent = text;
  status.dataset.kind = kind;
}

function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return mb >= 10 ? `${Math.round(mb)} MB` : `${mb.toFixed(1).replace(/\.0$/, "")} MB`;
}

// The JWT's claims, unverified (the server checks the token; the page only reads whom it
// is for and until when), or null for a token that is not a JWT.
function claims(jwt) {
  const part = jwt.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")),
      (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const HASH = /^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/;

// Whose picture this is: `?hash=`, else the token's `hash` claim, else the SHA-256 of its
// `email` claim as the server hashes it.
async function whose(told) {
  const given = (params.get("hash") || "").toLowerCase();
  if (HASH.test(given)) return given;
  if (typeof told?.hash === "string" && HASH.test(told.hash.toLowerCase())) {
    return told.hash.toLowerCase();
  }
  if (typeof told?.email === "string" && globalThis.crypto?.subtle) {
    return sha256(told.email.trim().toLowerCase());
  }
  return null;
}

const LINK_AGAIN = "Go back to the app and open this page from it again.";

// What an answer of the API means, in words.
function explain(answer, code) {
  const retry = Number(answer.headers.get("retry-after")) || 0;
  switch (code) {
    case "payload-too-large":
      return `That file is too large; the largest we take is ${megabytes(config.maxBytes)}.`;
    case "unsupported-image":
    case "unsupported-media-type":
      return "That file is not a picture we can use. Choose a JPEG, PNG, GIF or WebP picture.";
    case "undecodable-image":
    case "invalid-image":
      return "That picture seems to be damaged, so we could not read it. Try another one.";
    case "too-many-pixels":
      return "That picture has too many pixels for us. Choose a smaller one, or shrink it first.";
    case "invalid-crop":
      return "The square does not fit the picture. Move it back inside and save again.";
    case "token-expired":
      return `This link has expired. ${LINK_AGAIN}`;
    case "token-not-yet-valid":
      return "This link is not valid yet. Check your device's clock, or open the page again.";
    case "missing-token":
    case "invalid-token":
    case "bad-signature":
      return `This link is not valid. ${LINK_AGAIN}`;
    case "wrong-hash":
    case "wrong-tenant":
    case "forbidden":
      return `This link is for another account's picture. ${LINK_AGAIN}`;
    case "rate-limited":
      return retry
        ? `Too many attempts. Please wait ${retry} second${retry === 1 ? "" : "s"} and try again.`
        : "Too many attempts. Please wait a moment and try again.";
    case "body-timeout":
      return "The upload took too long. Check your connection and try again.";
    case "tenant-busy":
    case "tenant-suspended":
    case "shutting-down":
    case "storage-unavailable":
    case "catalog-unavailable":
      return `The service is busy right now. Please try again${retry ? ` in ${retry} seconds` : " in a moment"}.`;
    default:
      return answer.status >= 500
        ? "Something went wrong on our side. Please try again in a moment."
        : "That did not work. Please try again.";
  }
}

async function failure(answer) {
  let code = "";
  try {
    code = (await answer.json())?.error?.code || "";
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (answer.status === 413) code = "payload-too-large";
  return explain(answer, code);
}

const NETWORK = "We could not reach the service. Check your connection and try again.";

// The picture being edited and its crop square, in the picture's pixels as shown (after
// EXIF orientation, as the server counts them).
let picture = null;
let crop = null;
let hash = null;
let exists = false;
// Set when the link cannot work (none, incomplete, expired): nothing may be chosen, not
// even by a drop or a paste.
let locked = false;

const current = $("current");
const frame = $("frame");
const stage = $("stage");
const save = $("save");
const remove = $("remove");

function showCurrent(version) {
  $("none").hidden = true;
  current.hidden = false;
  current.src = `${config.base}/${hash}/${config.size}?v=${encodeURIComponent(version)}`;
}

current.addEventListener("error", () => {
  current.hidden = true;
  $("none").hidden = false;
});

function tell(message) {
  if (config.embedder && window.parent !== window) {
    window.parent.postMessage(message, config.embedder);
  }
}

function largest() {
  return picture ? Math.min(picture.width, picture.height) : 0;
}

function smallest() {
  return Math.min(largest(), Math.max(16, largest() / 20));
}

function keepInside() {
  crop.side = Math.min(Math.max(crop.side, smallest()), largest());
  crop.x = Math.min(Math.max(crop.x, 0), picture.width - crop.side);
  crop.y = Math.min(Math.max(crop.y, 0), picture.height - crop.side);
}

// The crop in whole pixels, inside the picture: what the server is sent.
function wholeCrop() {
  const side = Math.max(1, Math.min(Math.round(crop.side), largest()));
  const x = Math.min(Math.max(Math.round(crop.x), 0), picture.width - side);
  const y = Math.min(Math.max(Math.round(crop.y), 0), picture.height - side);
  return { x, y, side };
}

function zoom(factor) {
  const cx = crop.x + crop.side / 2;
  const cy = crop.y + crop.side / 2;
  crop.side /= factor;
  crop.x = cx - crop.side / 2;
  crop.y = cy - crop.side / 2;
  changed();
}

function move(dx, dy) {
  crop.x += dx;
  crop.y += dy;
  changed();
}

let previewTimer = 0;
function changed() {
  keepInside();
  draw();
  const { x, y, side } = wholeCrop();
  frame.dataset.crop = `${x},${y},${side},${side}`;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(renderPreviews, 120);
}

function draw() {
  const shown = frame.clientWidth || 320;
  const scale = window.devicePixelRatio || 1;
  const side = Math.round(shown * scale);
  if (stage.width !== side) {
    stage.width = side;
    stage.height = side;
  }
  const g = stage.getContext("2d");
  g.imageSmoothingQuality = "high";
  g.clearRect(0, 0, side, side);
  g.drawImage(picture.image, crop.x, crop.y, crop.side, crop.side, 0, 0, side, side);
  // Dim the corners a round avatar hides.
  g.save();
  g.fillStyle = "rgb(0 0 0 / 35%)";
  g.beginPath();
  g.rect(0, 0, side, side);
  g.arc(side / 2, side / 2, side / 2, 0, Math.PI * 2, true);
  g.fill("evenodd");
  g.restore();
}

const previewUrls = [];
function renderPreviews() {
  const list = $("previews");
  const { x, y, side } = wholeCrop();
  for (const url of previewUrls.splice(0)) URL.revokeObjectURL(url);
  const items = config.sizes.map((n) => {
    const canvas = document.createElement("canvas");
    canvas.width = n;
    canvas.height = n;
    const g = canvas.getContext("2d");
    g.imageSmoothingQuality = "high";
    g.drawImage(picture.image, x, y, side, side, 0, 0, n, n);
    return new Promise((done) => canvas.toBlob((blob) => done({ n, blob }), "image/png"));
  });
  Promise.all(items).then((made) => {
    const fresh = made.map(({ n, blob }) => {
      const url = URL.createObjectURL(blob);
      previewUrls.push(url);
      const shownPx = `${Math.min(n, 96)}px`;
      const li = document.createElement("li");
      const pair = document.createElement("div");
      pair.className = "pair";
      for (const [alt, round] of [[`Preview, ${n} px`, false], [`Round preview, ${n} px`, true]]) {
        const img = document.createElement("img");
        img.alt = alt;
        img.src = url;
        img.width = n;
        img.height = n;
        img.style.setProperty("--shown", shownPx);
        if (round) img.className = "round";
        pair.append(img);
      }
      const label = document.createElement("span");
      label.textContent = `${n} px`;
      li.append(pair, label);
      return li;
    });
    list.replaceChildren(...fresh);
  });
}

async function choose(file) {
  if (!file || locked) return;
  if (file.size > config.maxBytes) {
    say(`That file is ${megabytes(file.size)}; the largest we take is ${megabytes(config.maxBytes)}. Choose a smaller one.`, "error");
    return;
  }
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
  } catch {
    URL.revokeObjectURL(url);
    say("That file is not a picture we can use. Choose a JPEG, PNG, GIF or WebP picture.", "error");
    return;
  }
  const width = image.naturalWidth;
  const height = image.naturalHeight;
  if (width * height > config.maxPixels) {
    URL.revokeObjectURL(url);
    say(`That picture is ${width} × ${height} pixels, more than we can take. Choose a smaller one, or shrink it first.`, "error");
    return;
  }
  if (picture) URL.revokeObjectURL(picture.url);
  picture = { file, image, url, width, height };
  const side = Math.min(width, height);
  crop = { x: (width - side) / 2, y: (height - side) / 2, side };
  $("editor").hidden = false;
  save.disabled = false;
  changed();
  say("Move and zoom the picture until the square shows what you want, then save.");
  frame.focus();
}

async function saveIt() {
  const { x, y, side } = wholeCrop();
  const form = new FormData();
  form.append("avatar", picture.file, picture.file.name || "picture");
  save.disabled = true;
  say("Saving…");
  let answer;
  try {
    answer = await fetch(`${config.base}/${hash}?crop=${x},${y},${side},${side}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
  } catch {
    save.disabled = false;
    say(NETWORK, "error");
    return;
  }
  if (answer.status !== 201) {
    save.disabled = false;
    say(await failure(answer), "error");
    return;
  }
  const stored = await answer.json();
  exists = true;
  remove.disabled = false;
  showCurrent(stored.version || Date.now());
  const urls = Object.fromEntries(
    Object.entries(stored.sizes || {}).map(([name, s]) => [name, s.url || s.href]));
  say("Saved. Your new picture is shown above.", "ok");
  tell({ type: "avatar-changed", hash, urls, removed: false });
}

// Where the default shows after a removal, named by preset as a save's answer names its
// sizes: the service's index (`{base}/`) lists the names; pixels if it cannot be read.
async function defaultUrls() {
  let named = config.sizes.map((n) => [String(n), n]);
  try {
    const answer = await fetch(`${config.base}/`);
    const presets = answer.ok ? (await answer.json()).sizes : null;
    if (presets && typeof presets === "object") named = Object.entries(presets);
  } catch {
    // The pixel sizes name the same pictures.
  }
  return Object.fromEntries(
    named.map(([name]) => [name, new URL(`${config.base}/${hash}/${name}`, location.href).href]));
}

async function removeIt() {
  say("Removing…");
  let answer;
  try {
    answer = await fetch(`${config.base}/${hash}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
  } catch {
    say(NETWORK, "error");
    return;
  }
  if (answer.status !== 204 && answer.status !== 404) {
    say(await failure(answer), "error");
    return;
  }
  exists = false;
  remove.disabled = true;
  showCurrent(`removed-${Date.now()}`);
  const urls = await defaultUrls();
  say("Your picture was removed. The default picture shows instead.", "ok");
  tell({ type: "avatar-changed", hash, urls, removed: true });
}

function wire() {
  for (const input of [$("file"), $("camera")]) {
    input.addEventListener("change", () => {
      choose(input.files[0]);
      input.value = "";
    });
  }
  if (matchMedia("(pointer: coarse)").matches) $("camera-wrap").hidden = false;

  const drop = $("drop");
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  document.addEventListener("dragleave", () => drop.classList.remove("over"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    choose(e.dataTransfer?.files?.[0]);
  });
  document.addEventListener("paste", (e) => {
    const file = [...(e.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (file) choose(file);
  });

  frame.addEventListener("keydown", (e) => {
    if (!picture) return;
    const step = Math.max(1, crop.side * (e.shiftKey ? 0.2 : 0.05));
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) move(...moves[e.key]);
    else if (e.key === "+" || e.key === "=") zoom(1.2);
    else if (e.key === "-" || e.key === "_") zoom(1 / 1.2);
    else return;
    e.preventDefault();
  });
  $("zoom-in").addEventListener("click", () => picture && zoom(1.2));
  $("zoom-out").addEventListener("click", () => picture && zoom(1 / 1.2));
  frame.addEventListener("wheel", (e) => {
    if (!picture) return;
    e.preventDefault();
    zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1);
  }, { passive: false });

  // Dragging moves the picture under the square; two fingers pinch to zoom.
  const pointers = new Map();
  let spread = 0;
  const distance = () => {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  };
  frame.addEventListener("pointerdown", (e) => {
    if (!picture) return;
    frame.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) spread = distance();
    frame.classList.add("dragging");
  });
  frame.addEventListener("pointermove", (e) => {
    const last = pointers.get(e.pointerId);
    if (!last || !picture) return;
    const perPx = crop.side / (frame.clientWidth || 320);
    if (pointers.size === 1) {
      crop.x -= (e.clientX - last.x) * perPx;
      crop.y -= (e.clientY - last.y) * perPx;
    }
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) {
      const now = distance();
      if (spread > 0 && now > 0) {
        zoom(now / spread);
      }
      spread = now;
      return;
    }
    changed();
  });
  const lift = (e) => {
    pointers.delete(e.pointerId);
    spread = pointers.size === 2 ? distance() : 0;
    if (pointers.size === 0) frame.classList.remove("dragging");
  };
  frame.addEventListener("pointerup", lift);
  frame.addEventListener("pointercancel", lift);
  window.addEventListener("resize", () => picture && draw());

  save.addEventListener("click", () => picture && saveIt());
  const confirm = $("confirm");
  remove.addEventListener("click", () => confirm.showModal());
  $("confirm-no").addEventListener("click", () => confirm.close());
  $("confirm-yes").addEventListener("click", () => {
    confirm.close();
    removeIt();
  });

  if (config.back) {
    const back = $("back");
    back.href = config.back;
    back.hidden = false;
  }
  if (config.embedder) {
    const close = $("close");
    close.hidden = false;
    close.addEventListener("click", () => tell({ type: "avatar-close" }));
  }
}

function refuse(message) {
  locked = true;
  say(message, "error");
  for (const id of ["file", "camera", "save", "remove"]) $(id).disabled = true;
  $("drop").hidden = true;
}

async function start() {
  wire();
  const told = token ? claims(token) : null;
  hash = await whose(told);
  if (!token) {
    refuse(`This page needs the link from your app. ${LINK_AGAIN}`);
  } else if (!hash) {
    refuse(`This link does not say whose picture to change. ${LINK_AGAIN}`);
  } else if (typeof told?.exp === "number" && told.exp * 1000 <= Date.now()) {
    refuse(`This link has expired. ${LINK_AGAIN}`);
    showCurrent(Date.now());
  } else {
    showCurrent(Date.now());
    try {
      const answer = await fetch(`${config.base}/${hash}`, { method: "HEAD" });
      exists = answer.status === 204;
    } catch {
      say(NETWORK, "error");
    }
    remove.disabled = !exists;
    if (!status.textContent) {
      say(exists ? "This is your picture now. Choose a new one to change it." : "You have no picture yet: the default one shows. Choose one to set it.");
    }
  }
  performance.mark("avatar-ready");
  document.body.dataset.ready = "true";
}

start();
