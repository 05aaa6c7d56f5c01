import type { ConsentRequest } from "./index.js";

/** `<myna-consent-request backend="/myna" locale="ja">` */
export declare class MynaConsentRequestElement extends HTMLElement {
  request: ConsentRequest | null;
}

/** `<myna-consent-review backend="/myna" locale="ja">` */
export declare class MynaConsentReviewElement extends HTMLElement {}

declare global {
  interface HTMLElementTagNameMap {
    "myna-consent-request": MynaConsentRequestElement;
    "myna-consent-review": MynaConsentReviewElement;
  }
}
