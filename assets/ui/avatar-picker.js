// <avatar-picker>: a custom element an app drops into any page. It shows a person's avatar
// and, when clicked, opens the service's self-service page in a dialog; it fires
// `avatar-changed` ({hash, urls, removed}) when they save or remove their picture.
//
//   <script type="module" src="https://avatars.example/_ui/avatar-picker.js"></script>
//   <avatar-picker src-base="https://avatars.example" hash="HASH" token="TOKEN" size="128">
//   </avatar-picker>
//   <script type="module">
//     document.querySelector("avatar-picker")
//       .addEventListener("avatar-changed", (e) => console.log(e.detail.urls));
//   </script>

const STYLE = `
:host { display: inline-block; }
button.face { padding: 0; border: 0; background: none; cursor: pointer; border-radius: 50%; }
button.face:focus-visible { outline: 3px solid #1f5fd6; outline-offset: 3px; }
img { display: block; border-radius: 50%; object-fit: cover; background: #d5d9e0; }
dialog { padding: 0; border: 0; border-radius: 1rem; width: min(44rem, 96vw); height: min(52rem, 92vh); overflow: hidden; }
dialog::backdrop { background: rgb(0 0 0 / 45%); }
iframe { border: 0; width: 100%; height: 100%; display: block; }
`;

class AvatarPicker extends HTMLElement {
  static observedAttributes = ["src-base", "hash", "token", "size"];

  #image;
  #dialog;
  #frame = null;
  #stamp = "";

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    // A constructed style sheet: allowed under a page's CSP that forbids inline styles.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    root.adoptedStyleSheets = [sheet];
    const button = document.createElement("button");
    button.type = "button";
    button.className = "face";
    button.setAttribute("aria-label", "Change your picture");
    this.#image = document.createElement("img");
    this.#image.alt = "";
    button.append(this.#image);
    button.addEventListener("click", () => this.open());
    this.#dialog = document.createElement("dialog");
    this.#dialog.setAttribute("aria-label", "Change your picture");
    this.#dialog.addEventListener("close", () => this.#drop());
    root.append(button, this.#dialog);
    this.onMessage = this.onMessage.bind(this);
  }

  connectedCallback() {
    window.addEventListener("message", this.onMessage);
    this.#show();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.onMessage);
  }

  attributeChangedCallback() {
    this.#show();
  }

  get #base() {
    return (this.getAttribute("src-base") || "").replace(/\/+$/, "");
  }

  get #side() {
    const n = Number(this.getAttribute("size"));
    return Number.isInteger(n) && n > 0 ? n : 128;
  }

  #show() {
    const hash = this.getAttribute("hash");
    const side = this.#side;
    this.#image.width = side;
    this.#image.height = side;
    if (!hash) return;
    const stamp = this.#stamp ? `?v=${encodeURIComponent(this.#stamp)}` : "";
    this.#image.src = `${this.#base}/${encodeURIComponent(hash)}/${side}${stamp}`;
  }

  // Opens the page in the dialog, with a fresh frame each time.
  open() {
    this.#drop();
    const page = new URL(`${this.#base}/_ui/edit`, location.href);
    page.searchParams.set("token", this.getAttribute("token") || "");
    if (this.getAttribute("hash")) page.searchParams.set("hash", this.getAttribute("hash"));
    page.searchParams.set("origin", location.origin);
    this.#frame = document.createElement("iframe");
    this.#frame.title = "Change your picture";
    this.#frame.src = page.href;
    this.#dialog.append(this.#frame);
    this.#dialog.showModal();
  }

  close() {
    if (this.#dialog.open) this.#dialog.close();
  }

  #drop() {
    this.#frame?.remove();
    this.#frame = null;
  }

  // Messages count only from this element's own dialog, on the service's origin.
  onMessage(event) {
    if (!this.#frame || event.source !== this.#frame.contentWindow) return;
    if (event.origin !== new URL(this.#base || "/", location.href).origin) return;
    const message = event.data || {};
    if (message.type === "avatar-close") {
      this.close();
    } else if (message.type === "avatar-changed") {
      this.#stamp = String(Date.now());
      this.#show();
      const detail = { hash: message.hash, urls: message.urls || {}, removed: !!message.removed };
      this.dispatchEvent(new CustomEvent("avatar-changed", { detail, bubbles: true, composed: true }));
    }
  }
}

if (!customElements.get("avatar-picker")) customElements.define("avatar-picker", AvatarPicker);
