// An operator's TypeScript, compiled against the package's typings
// (pkg/index.d.ts) by `tsc --noEmit`: it fails if the declarations break,
// leak internals, or stop refusing wrong use (each @ts-expect-error must
// find an error).
import {
  load, MynaConsent, MynaConsentError,
  type ConsentRequest, type Consent, type ErrorCode, type EventName, type ItemId, type MynaConsentEvents, type ReceiptDocument,
} from "myna-consent";
import type { MynaConsentRequestElement } from "myna-consent/elements";
import { createFakeBackend, SAMPLE_REQUEST, screenOf } from "myna-consent/testing";

// The generated event names are exactly the events the SDK types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const eventsAgree: Same<EventName, keyof MynaConsentEvents> = true;
console.log(eventsAgree);

const request: ConsentRequest = {
  operator: { name: "すこやか手帳株式会社", contact: "0120-000-000", privacyPolicyUrl: "https://example.jp/p", approvalId: "MPA-1" },
  items: { required: ["insurance.drugs"], optional: ["insurance.checkups"] },
  purposes: [{ category: "healthManagement", description: "お薬の記録に使います。" }],
  period: { kind: "linkage", days: 90 },
  retention: "30日以内に削除します。",
};

export async function operatorPage(consentId: string): Promise<void> {
  const sdk = await MynaConsent.create({ backend: "/myna", locale: "ja", userToken: async () => "operator-jwt" });
  sdk.on("error", (detail) => console.warn(detail.code, detail.message));
  sdk.on("granted", (consent: Consent) => console.log(consent.status, consent.daysLeft));
  sdk.on("revoked", ({ consentId, receipt }) => console.log(consentId, receipt.sha256));
  const handle = sdk.mountConsent("#consent", { request: "phr-90d" });
  handle.unmount();
  sdk.mountConsent("#preview", { draft: request }).unmount();
  const consent: Consent = await sdk.completeAuthorization(location.href, { target: "#result", retrieve: true });
  console.log(consent.endDate);
  sdk.mountReview(document.body).unmount();
  const receipt: ReceiptDocument = await sdk.revoke(consentId);
  console.log(receipt.receipt.receiptId);
  const result = await sdk.retrieve(consentId);
  console.log(result.status, result.items.map((item) => item.count));
  sdk.destroy();

  await load();
  await load("account");
  const checked = await MynaConsent.validate(request);
  if (checked.ok) {
    console.log(checked.needsSeparateConfirmation, checked.specialCareItems.length);
  } else {
    console.log(checked.errors.map((error) => `${error.code} ${error.field}`));
  }
  const catalogue = await MynaConsent.catalogue("en");
  try {
    await MynaConsent.catalogue("en");
  } catch (error) {
    if (error instanceof MynaConsentError) console.log(error.code, error.field);
  }
  console.log(catalogue.categories[0].items[0].availability);

  const element = document.querySelector("myna-consent-request") as MynaConsentRequestElement | null;
  if (element) {
    element.request = "phr-90d";
    element.draft = request;
    // The elements' events carry the SDK events' details, typed.
    element.addEventListener("myna-granted", (event) => console.log(event.detail.id, event.detail.items));
    element.addEventListener("myna-error", (event) => {
      // @ts-expect-error: no error has this code
      if (event.detail.code === "not_a_code") console.log("never");
    });
  }

  // @ts-expect-error: a request written in the page is not a request id
  sdk.mountConsent("#consent", request);
  // @ts-expect-error: a request id and a draft at once
  sdk.mountConsent("#consent", { request: "phr-90d", draft: request });
  // @ts-expect-error: the sign-in token comes from a function
  await MynaConsent.create({ backend: "/myna", userToken: "jwt" });
  // @ts-expect-error: validate() answers later, not at once
  if (MynaConsent.validate(request).ok) console.log("never");
  // @ts-expect-error: a part of the SDK that does not exist
  await load("review");
  // @ts-expect-error: an unknown event
  sdk.on("consented", () => {});
  // @ts-expect-error: a locale the SDK does not speak
  await MynaConsent.create({ backend: "/myna", locale: "fr" });
  // @ts-expect-error: a period kind that does not exist
  const bad: ConsentRequest = { ...request, period: { kind: "forever" } };
  console.log(bad);

  // Issue 13: item ids, error codes and event names are checked at compile time.
  // @ts-expect-error: a data item the catalogue does not have
  const typo: ConsentRequest = { ...request, items: { required: ["insurance.drug"] } };
  console.log(typo);
  const item: ItemId = "ehr.lab.hba1c";
  console.log(item);
  sdk.on("error", (detail) => {
    if (detail.code === "revocation_failed") console.log(detail.citizenMessage, detail.cause);
    // @ts-expect-error: no error has this code
    if (detail.code === "revoke_failed") console.log("never");
  });
  try {
    await sdk.revoke(consentId);
  } catch (error) {
    if (error instanceof MynaConsentError) {
      const code: ErrorCode = error.code;
      // @ts-expect-error: a code that does not exist, compared
      if (error.code === "wasm_blocker") console.log(code);
    }
  }
  // @ts-expect-error: an event name with a typo
  sdk.on("revokd", () => {});
  // @ts-expect-error: an option name with a typo (at run time, a console warning)
  await MynaConsent.create({ backend: "/myna", locle: "en" });

  // The test kit, as an integrator's test uses it.
  const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST }, revocation: "failed" });
  const tested = await MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
  tested.mountConsent("#consent", { request: "phr-90d" });
  console.log(screenOf("#consent")?.textContent, fake.calls.length, fake.authorizationUrl);
  fake.set({ authorization: "declined", waitingPolls: 0 });
  // @ts-expect-error: an outcome the fake does not script
  fake.set({ authorization: "approved" });
  await tested.completeAuthorization(fake.callbackUrl("http://localhost/return"));
}
