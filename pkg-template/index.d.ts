// The public API of myna-consent, declared by hand so that only the API
// appears (not the generated bindings' internals) and events are typed per
// name. The data types come from the declarations the SDK itself emits.
import type {
  Catalogue,
  CompleteOptions,
  Consent,
  ConsentRequest,
  Locale,
  MountConsentOptions,
  MynaConsentEvents,
  MynaConsentOptions,
  ReceiptDocument,
  RetrievalResult,
  ValidationResult,
} from "./consent.js";

export type {
  ApiId,
  CategoryId,
  CssVariable,
  ErrorCode,
  EventName,
  ItemId,
  ValidationErrorCode,
} from "./generated.js";
import type { ErrorCode } from "./generated.js";

export type {
  Availability,
  Catalogue,
  CompleteOptions,
  Consent,
  ConsentRequest,
  Locale,
  MynaConsentEvents,
  MynaConsentOptions,
  MountConsentOptions,
  PurposeCategory,
  ReceiptDocument,
  Recipient,
  RetrievalResult,
  Sensitivity,
  ValidationError,
  ValidationResult,
} from "./consent.js";

/**
 * An error from the SDK: a stable `code` (reference/errors.md), a
 * `message` for developers in English, the `field` it concerns, and, where
 * a citizen was shown words for it, those words as `citizenMessage`.
 */
export declare class MynaConsentError extends Error {
  constructor(code: ErrorCode, message: string, field?: string, citizenMessage?: string);
  readonly name: "MynaConsentError";
  readonly code: ErrorCode;
  readonly field?: string;
  /** What the citizen was told on the screen, in the screen's language. */
  readonly citizenMessage?: string;
}

/** A part of the SDK, compiled on first use: the consent screen, or the return, review and revocation screens. */
export type Part = "consent" | "account";

/**
 * Fetches and compiles a part of the SDK ahead of its first use ("consent"
 * by default). Importing the package loads nothing; every method loads
 * what it needs. Rejects with `wasm_blocked` when the page's CSP forbids
 * WebAssembly, `wasm_unavailable` when the browser has none, or
 * `load_failed` (a later call tries again).
 */
export declare function load(part?: Part): Promise<void>;

/** A mounted screen. */
export declare class MountHandle {
  private constructor();
  /** Removes the screen and everything it added. Calling it twice does nothing more. */
  unmount(): void;
}

/** The SDK for one operator backend. */
export declare class MynaConsent {
  private constructor();
  /** Creates the SDK. Rejects with a MynaConsentError for bad options. Loads nothing yet. */
  static create(options: MynaConsentOptions): Promise<MynaConsent>;
  /** The catalogue of APIs and data items; rejects with `unknown_locale`. Works in Node too. */
  static catalogue(locale?: Locale): Promise<Catalogue>;
  /** Checks a request against every rule, reporting every problem at once. Works in Node too. */
  static validate(request: unknown, locale?: Locale): Promise<ValidationResult>;
  /** The screens' language. */
  readonly locale: Locale;
  /**
   * Shows the consent screen of a request defined on the backend
   * (`{ request: "phr-90d" }` or a request token), or a draft as a preview
   * (`{ draft }`). An invalid request shows every problem instead. The
   * screen appears once the consent part is loaded; a screen already in
   * `target` is replaced.
   */
  mountConsent(target: string | Element, options: MountConsentOptions): MountHandle;
  /** On the redirect page: checks the callback, completes at the backend, resolves with the consent. */
  completeAuthorization(url: string, options?: CompleteOptions): Promise<Consent>;
  /** Shows the review screen, with revocation. */
  mountReview(target: string | Element): MountHandle;
  /** Revokes a consent at once; resolves with the receipt document. */
  revoke(consentId: string): Promise<ReceiptDocument>;
  /** Retrieves a consent's data now; resolves when Mynaportal answered. */
  retrieve(consentId: string): Promise<RetrievalResult>;
  /** Adds a listener. */
  on<K extends keyof MynaConsentEvents>(event: K, listener: (detail: MynaConsentEvents[K]) => void): void;
  /** Removes a listener added with on(). */
  off<K extends keyof MynaConsentEvents>(event: K, listener: (detail: MynaConsentEvents[K]) => void): void;
  /** Removes every screen this SDK mounted and every listener; the SDK does nothing more. */
  destroy(): void;
}
