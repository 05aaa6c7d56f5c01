// The public API of myna-consent: MynaConsent and the types it takes and
// gives. Internals of the generated bindings are not re-exported.
export { MynaConsent, MountHandle } from "./myna_consent.js";
export type {
  Availability,
  Catalogue,
  CompleteOptions,
  Consent,
  ConsentRequest,
  Locale,
  MynaConsentError,
  MynaConsentEvents,
  MynaConsentOptions,
  PurposeCategory,
  ReceiptDocument,
  RetrievalResult,
  Sensitivity,
  ValidationError,
  ValidationResult,
} from "./myna_consent.js";
