// Custom elements that wrap the same API:
//   <myna-consent-request backend="/myna" request="phr-90d" locale="ja">:
//     the consent screen of a request defined on the backend (its id, or a
//     request token from the operator's server, as the attribute or the
//     `request` property); for authoring only, a draft as the `draft`
//     property or a JSON child <script type="application/json">, shown as
//     a preview that sends nothing;
//   <myna-consent-review backend="/myna" locale="ja">.
// prefetch="false" on either: MynaConsent.create()'s `prefetch: false`.
// SDK events are re-dispatched on the element as `myna-granted`,
// `myna-denied`, `myna-revoked`, `myna-renew` and `myna-error`
// (CustomEvent, bubbling, with the event's detail).
import { MynaConsent } from "./index.js";

const EVENTS = ["granted", "denied", "revoked", "renew", "error"];

class MynaElement extends HTMLElement {
  #sdk = null;
  #handle = null;
  #generation = 0;

  connectedCallback() {
    this.#render();
  }

  disconnectedCallback() {
    this.#teardown();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.#render();
  }

  #teardown() {
    this.#generation += 1;
    this.#handle?.unmount();
    this.#handle = null;
    this.#sdk?.destroy();
    this.#sdk = null;
  }

  async #render() {
    this.#teardown();
    const generation = this.#generation;
    const options = { backend: this.getAttribute("backend") ?? "/myna" };
    const locale = this.getAttribute("locale");
    if (locale) options.locale = locale;
    // prefetch="false": the consent screen downloads nothing for the return page.
    if (this.getAttribute("prefetch") === "false") options.prefetch = false;
    let sdk;
    try {
      sdk = await MynaConsent.create(options);
    } catch (error) {
      this.dispatchEvent(new CustomEvent("myna-error", { bubbles: true, detail: { code: error.code, message: error.message, field: error.field } }));
      return;
    }
    // A newer render (attribute change, removal) won the race.
    if (generation !== this.#generation) {
      sdk.destroy();
      return;
    }
    for (const name of EVENTS) {
      sdk.on(name, (detail) => this.dispatchEvent(new CustomEvent(`myna-${name}`, { bubbles: true, detail })));
    }
    this.#sdk = sdk;
    try {
      this.#handle = this.mount(sdk);
    } catch (error) {
      this.dispatchEvent(new CustomEvent("myna-error", { bubbles: true, detail: { code: error.code, message: error.message, field: error.field } }));
    }
  }
}

/** The consent screen for one request. */
export class MynaConsentRequestElement extends MynaElement {
  static observedAttributes = ["backend", "locale", "request", "prefetch"];
  #request = null;
  #draft = null;

  /** The request's id on the backend, or a request token; setting it shows the screen again. */
  get request() {
    return this.#request ?? this.getAttribute("request");
  }

  set request(value) {
    this.#request = value;
    if (this.isConnected) this.attributeChangedCallback();
  }

  /** A draft request, shown as a preview for authoring (it sends nothing). */
  get draft() {
    return this.#draft;
  }

  set draft(value) {
    this.#draft = value;
    if (this.isConnected) this.attributeChangedCallback();
  }

  mount(sdk) {
    const request = this.request;
    if (request) return sdk.mountConsent(this, { request });
    let draft = this.#draft;
    if (!draft) {
      const data = this.querySelector('script[type="application/json"]');
      draft = data ? JSON.parse(data.textContent) : undefined;
    }
    return sdk.mountConsent(this, { draft });
  }
}

/** The review screen with revocation. */
export class MynaConsentReviewElement extends MynaElement {
  static observedAttributes = ["backend", "locale", "prefetch"];

  mount(sdk) {
    return sdk.mountReview(this);
  }
}

if (!customElements.get("myna-consent-request")) {
  customElements.define("myna-consent-request", MynaConsentRequestElement);
}
if (!customElements.get("myna-consent-review")) {
  customElements.define("myna-consent-review", MynaConsentReviewElement);
}
