// React components and hooks for myna-consent.
import type { ReactNode, ReactElement } from "react";
import type {
  Consent,
  ConsentRequest,
  Locale,
  MynaConsent,
  MynaConsentError,
  MynaConsentEvents,
  MynaConsentOptions,
} from "myna-consent";

/** The SDK's events as props: each receives the event's detail. */
export interface MynaConsentEventProps {
  onGranted?: (consent: MynaConsentEvents["granted"]) => void;
  onDenied?: (detail: MynaConsentEvents["denied"]) => void;
  onRevoked?: (detail: MynaConsentEvents["revoked"]) => void;
  onRenew?: (consent: MynaConsentEvents["renew"]) => void;
  onError?: (detail: MynaConsentEvents["error"]) => void;
}

export type MynaConsentProviderProps = MynaConsentEventProps & { children?: ReactNode } & (
  /** An SDK you created (and destroy yourself). */
  | { sdk: MynaConsent; backend?: undefined; locale?: undefined }
  /** Options: the provider creates the SDK, and destroys it when it unmounts. */
  | ({ sdk?: undefined } & MynaConsentOptions)
);

/** Provides one SDK to the screens below it. */
export declare function MynaConsentProvider(props: MynaConsentProviderProps): ReactElement;

/** The SDK of the nearest provider, or null while it is being created. */
export declare function useMynaConsent(): MynaConsent | null;

/** Calls `listener` for each of the SDK's `event`s while the component is mounted. */
export declare function useMynaConsentEvent<K extends keyof MynaConsentEvents>(
  event: K,
  listener: (detail: MynaConsentEvents[K]) => void,
): void;

export type ConsentScreenProps = { className?: string } & (
  /** A request the backend defines: its id or a request token; `renews`: the consent it renews. */
  | { request: string; renews?: string; draft?: undefined }
  /** A draft shown as a preview; agreeing sends nothing. */
  | { draft: ConsentRequest; request?: undefined; renews?: undefined }
);

/** The consent screen. */
export declare function ConsentScreen(props: ConsentScreenProps): ReactElement;

/** The review screen: every consent of this citizen, with revocation. */
export declare function ReviewScreen(props: { className?: string }): ReactElement;

export interface ReturnScreenProps {
  /** The callback address; by default the page's address when the component first rendered. */
  url?: string;
  /** Start a first retrieval and show its progress. */
  retrieve?: boolean;
  /** Called once with the consent. */
  onComplete?: (consent: Consent) => void;
  /** Called once with the failure (a declined authorization too: `access_denied`). */
  onFail?: (error: MynaConsentError) => void;
  className?: string;
}

/** The redirect page: completes the callback once and shows the outcome. */
export declare function ReturnScreen(props: ReturnScreenProps): ReactElement;

export type { Locale };

type MynaElementProps<E> = {
  backend?: string;
  locale?: Locale;
  ref?: import("react").Ref<E>;
  className?: string;
  id?: string;
  children?: ReactNode;
};

// The custom elements of myna-consent/elements in JSX. React 19 passes
// properties and CustomEvent listeners (onmyna-granted…) to custom elements.
declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      "myna-consent-request": MynaElementProps<import("myna-consent/elements").MynaConsentRequestElement> & {
        request?: string;
        draft?: ConsentRequest;
      };
      "myna-consent-review": MynaElementProps<import("myna-consent/elements").MynaConsentReviewElement>;
    }
  }
}
