// An integrator's browser test page: the whole journey against the test
// kit's fake backend, no server behind it. The test presses the buttons;
// the page reports what it saw in window.kit.
import { MynaConsent } from "myna-consent";
import { createFakeBackend, SAMPLE_REQUEST } from "myna-consent/testing";

const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
const kit = { events: [], fake };
window.kit = kit;

MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate }).then((sdk) => {
  for (const name of ["granted", "denied", "revoked", "error"]) sdk.on(name, (detail) => kit.events.push([name, detail.code ?? null]));
  sdk.mountConsent("#consent", { request: "phr-90d" });
  // The test calls this once it pressed 同意 on the consent screen.
  kit.returnFromMynaportal = async () => {
    const consent = await sdk.completeAuthorization(fake.callbackUrl(), { target: "#result" });
    sdk.mountReview("#review");
    return consent.id;
  };
});
