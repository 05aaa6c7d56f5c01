// myna-consent/testing: an in-memory fake of the operator-backend contract,
// for an operator's own tests (Vitest with jsdom, or a browser).
import type { Consent, ConsentRequest } from "./index.js";

/** The scripted outcomes, and what each can be. */
export declare const OUTCOMES: {
  readonly authorization: readonly AuthorizationOutcome[];
  readonly revocation: readonly RevocationOutcome[];
  readonly retrieval: readonly RetrievalOutcome[];
};

/**
 * What Mynaportal does with the next authorization: `granted`; `declined`
 * (the citizen refused there); `expired` (the backend's transaction ran
 * out); `tampered` (the callback's state is not the one sent, refused in
 * the browser); `nothing_granted`; `temporarily_unavailable`;
 * `configuration_error`; `uncertain` (the answer to the code exchange was
 * lost).
 */
export type AuthorizationOutcome =
  | "granted" | "declined" | "expired" | "tampered" | "nothing_granted"
  | "temporarily_unavailable" | "configuration_error" | "uncertain";
/** `failed`: Mynaportal could not be reached; nothing changes and the citizen can retry. */
export type RevocationOutcome = "revoked" | "failed";
/** How a retrieval ends, after `waitingPolls` polls that answer `waiting`. */
export type RetrievalOutcome = "done" | "error" | "timeout";

/** The scripted outcomes; each can be changed at any time with `set()`. */
export interface FakeScript {
  authorization?: AuthorizationOutcome;
  revocation?: RevocationOutcome;
  retrieval?: RetrievalOutcome;
  /** How many polls answer `waiting` before the retrieval ends (default 1). */
  waitingPolls?: number;
  /** Every call fails as a dropped network would. */
  offline?: boolean;
}

export interface FakeBackendOptions extends FakeScript {
  /** The consent requests the backend defines, by id (default `{ sample: SAMPLE_REQUEST }`). */
  requests?: Record<string, ConsentRequest>;
  /** Consents the backend already holds. */
  consents?: Consent[];
  /** The fake's clock (default `() => new Date()`). */
  now?: () => Date;
}

/** One call the SDK made. */
export interface FakeCall {
  method: string;
  /** The path as the page called it, with the backend's base path. */
  path: string;
  search: string;
  body: unknown;
}

export interface FakeBackend {
  /** Pass to `MynaConsent.create({ fetch })`. */
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
  /** Pass to `MynaConsent.create({ navigate })`: records the authorization URL instead of leaving the page. */
  navigate(url: string): void;
  /**
   * Where Mynaportal would send the citizen back to after the last
   * authorization the SDK started, as the `authorization` outcome has it.
   * Pass it to `completeAuthorization()`. `returnUrl`: the redirect page
   * (default: the page's own address).
   */
  callbackUrl(returnUrl?: string): string;
  /** Changes the scripted outcomes. A value that is not one of `OUTCOMES` throws. */
  set(script: FakeScript): void;
  /** Every call the SDK made, in order. */
  readonly calls: FakeCall[];
  /** Mynaportal's authorization URL the SDK last sent the citizen to, or null. */
  readonly authorizationUrl: string | null;
  /** The consents the backend holds now, as `GET /consents` answers them. */
  readonly consents: Consent[];
}

/** An in-memory operator backend that keeps the contract's rules. */
export declare function createFakeBackend(options?: FakeBackendOptions): FakeBackend;

/** The issuer the fake's callbacks carry. */
export declare const FAKE_ISSUER: string;

/** A request that passes every rule: a 90-day linkage of medicines, check-ups optional. */
export declare const SAMPLE_REQUEST: ConsentRequest;

/**
 * Lets the SDK find the window under Vitest's or Jest's jsdom environment
 * (where `globalThis instanceof Window` is false). createFakeBackend()
 * calls it; nothing happens in a browser.
 */
export declare function prepareJsdom(): void;

/** The shadow root of the screen mounted in `target`, where a test finds its buttons and text; null if none. */
export declare function screenOf(target: string | Element): ShadowRoot | null;
