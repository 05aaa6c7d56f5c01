import type { ConsentRequest } from "./index.js";

/** `<myna-consent-request backend="/myna" request="phr-90d" locale="ja">` */
export declare class MynaConsentRequestElement extends HTMLElement {
  /** The request's id on the backend, or a request token from the operator's server. */
  request: string | null;
  /** A draft, shown as a preview for authoring: it sends nothing. */
  draft: ConsentRequest | null;
}

/** `<myna-consent-review backend="/myna" locale="ja">` */
export declare class MynaConsentReviewElement extends HTMLElement {}

declare global {
  interface HTMLElementTagNameMap {
    "myna-consent-request": MynaConsentRequestElement;
    "myna-consent-review": MynaConsentReviewElement;
  }
}
