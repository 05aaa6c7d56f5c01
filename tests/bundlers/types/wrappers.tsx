// An operator's React and Vue code, compiled by tsc against the wrappers'
// typings (packages/react, packages/vue) and the package's (pkg/), as
// installed in tests/bundlers/node_modules: each @ts-expect-error must
// find an error.
import { StrictMode } from "react";
import { defineComponent, h } from "vue";
import { MynaConsent, type Consent, type ConsentRequest } from "myna-consent";
import "myna-consent/elements";
import {
  ConsentScreen, MynaConsentProvider, ReturnScreen, ReviewScreen, useMynaConsent, useMynaConsentEvent,
} from "myna-consent-react";
import {
  MynaAuthorizationReturn, MynaConsentPlugin, MynaConsentRequest, MynaConsentReview, useMynaConsent as useVueSdk,
} from "myna-consent-vue";

export function ReactPages({ sdk }: { sdk: MynaConsent }) {
  return (
    <StrictMode>
      <MynaConsentProvider backend="/myna" locale="ja" onGranted={(consent) => console.log(consent.items[0])}
        onError={(detail) => { if (detail.code === "revocation_failed") console.log(detail.citizenMessage); }}>
        <ConsentScreen request="phr-90d" />
        <ReturnScreen retrieve onComplete={(consent: Consent) => console.log(consent.id)} onFail={(error) => console.log(error.code)} />
        <ReviewScreen className="review" />
        <myna-consent-request backend="/myna" request="phr-90d" />
        <myna-consent-review locale="en" />
      </MynaConsentProvider>
      <MynaConsentProvider sdk={sdk}>
        {/* @ts-expect-error: a request id and a draft at once */}
        <ConsentScreen request="phr-90d" draft={{} as ConsentRequest} />
        {/* @ts-expect-error: a locale the SDK does not speak */}
        <myna-consent-review locale="fr" />
      </MynaConsentProvider>
      {/* @ts-expect-error: an SDK and options at once */}
      <MynaConsentProvider sdk={sdk} backend="/myna" />
    </StrictMode>
  );
}

export function useRevokeButton(consentId: string) {
  const sdk = useMynaConsent();
  useMynaConsentEvent("revoked", (detail) => console.log(detail.receipt.sha256));
  // @ts-expect-error: an event that does not exist
  useMynaConsentEvent("revokd", () => {});
  return () => sdk?.revoke(consentId);
}

export const VuePage = defineComponent({
  setup() {
    const sdk = useVueSdk();
    return () => [
      h(MynaConsentRequest, { request: "phr-90d", onDenied: (detail: { stage: "consent" | "mynaportal" }) => console.log(detail.stage) }),
      h(MynaAuthorizationReturn, { retrieve: true, onComplete: (consent: Consent) => console.log(consent.id, sdk.value?.locale) }),
      h(MynaConsentReview),
    ];
  },
});
export const plugin = MynaConsentPlugin;
