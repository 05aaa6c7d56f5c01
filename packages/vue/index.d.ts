// Vue 3 plugin and components for myna-consent.
import type { DefineComponent, Plugin, ShallowRef } from "vue";
import type {
  Consent,
  ConsentRequest,
  MynaConsent,
  MynaConsentError,
  MynaConsentEvents,
  MynaConsentOptions,
} from "myna-consent";

/** `app.use(MynaConsentPlugin, { backend: "/myna" })`, or `{ sdk }` with one you created. */
export declare const MynaConsentPlugin: Plugin<[MynaConsentOptions | { sdk: MynaConsent }]>;

/** The app's SDK, as a ref (null until it is created). */
export declare function useMynaConsent(): ShallowRef<MynaConsent | null>;

type EventEmits = { [K in keyof MynaConsentEvents]: (detail: MynaConsentEvents[K]) => true };

/** The consent screen: `request` (an id or a request token) and `renews`, or a `draft` preview. */
export declare const MynaConsentRequest: DefineComponent<
  { request?: string; renews?: string; draft?: ConsentRequest },
  {},
  {},
  {},
  {},
  {},
  {},
  EventEmits
>;

/** The review screen, with revocation. */
export declare const MynaConsentReview: DefineComponent<{}, {}, {}, {}, {}, {}, {}, EventEmits>;

/** The redirect page: completes the callback once and shows the outcome. */
export declare const MynaAuthorizationReturn: DefineComponent<
  { url?: string; retrieve?: boolean },
  {},
  {},
  {},
  {},
  {},
  {},
  { complete: (consent: Consent) => true; fail: (error: MynaConsentError) => true }
>;

type ElementProps = { backend?: string; locale?: "ja" | "en"; prefetch?: "true" | "false" };

declare module "vue" {
  interface GlobalComponents {
    MynaConsentRequest: typeof MynaConsentRequest;
    MynaConsentReview: typeof MynaConsentReview;
    MynaAuthorizationReturn: typeof MynaAuthorizationReturn;
    /** The custom element of myna-consent/elements. */
    "myna-consent-request": DefineComponent<ElementProps & { request?: string; draft?: ConsentRequest }>;
    /** The custom element of myna-consent/elements. */
    "myna-consent-review": DefineComponent<ElementProps>;
  }
}
