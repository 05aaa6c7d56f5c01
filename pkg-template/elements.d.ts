import type { ConsentRequest, MynaConsentEvents } from "./index.js";

/**
 * The events the elements dispatch (bubbling CustomEvents), each with the
 * SDK event's detail: `element.addEventListener("myna-granted", (e) =>
 * e.detail.id)` is typed.
 */
export interface MynaConsentElementEventMap {
  "myna-granted": CustomEvent<MynaConsentEvents["granted"]>;
  "myna-denied": CustomEvent<MynaConsentEvents["denied"]>;
  "myna-revoked": CustomEvent<MynaConsentEvents["revoked"]>;
  "myna-renew": CustomEvent<MynaConsentEvents["renew"]>;
  "myna-error": CustomEvent<MynaConsentEvents["error"]>;
}

/**
 * `<myna-consent-request backend="/myna" request="phr-90d" locale="ja">`;
 * `prefetch="false"` is MynaConsent.create()'s `prefetch: false`.
 */
export declare class MynaConsentRequestElement extends HTMLElement {
  /** The request's id on the backend, or a request token from the operator's server. */
  request: string | null;
  /** A draft, shown as a preview for authoring: it sends nothing. */
  draft: ConsentRequest | null;
}

/** `<myna-consent-review backend="/myna" locale="ja">` */
export declare class MynaConsentReviewElement extends HTMLElement {}

declare global {
  // Every element hears them as they bubble.
  interface HTMLElementEventMap extends MynaConsentElementEventMap {}
  interface HTMLElementTagNameMap {
    "myna-consent-request": MynaConsentRequestElement;
    "myna-consent-review": MynaConsentReviewElement;
  }
}
