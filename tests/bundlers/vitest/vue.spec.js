// The Vue wrapper against the test kit's fake backend: the plugin, the
// components, their events, one completion per callback, and cleanup.
import { afterEach, expect, test } from "vitest";
import { createApp, h } from "vue";
import { MynaConsent } from "myna-consent";
import { createFakeBackend, SAMPLE_REQUEST, screenOf } from "myna-consent/testing";
import { MynaAuthorizationReturn, MynaConsentPlugin, MynaConsentRequest } from "myna-consent-vue";
import { waiter } from "./until.js";

const until = waiter(150);

let app;
afterEach(() => {
  app?.unmount();
  document.body.replaceChildren();
  sessionStorage.clear();
});

function mount(component, plugin) {
  const container = document.createElement("div");
  document.body.append(container);
  app = createApp(component);
  app.use(MynaConsentPlugin, plugin);
  app.mount(container);
  return container;
}

test("the consent screen emits denied, and the return completes once with one outcome", async () => {
  const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
  const denied = [];
  const page = mount({ render: () => h(MynaConsentRequest, { request: "phr-90d", onDenied: (d) => denied.push(d) }) },
    { backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
  const button = (name) => [...(screenOf(page.firstElementChild)?.querySelectorAll("button") ?? [])].find((b) => b.textContent.trim() === name);
  await until(() => button("同意しない"), "the consent screen");
  button("同意しない").click();
  await until(() => denied.length, "denied");
  expect(denied).toEqual([{ stage: "consent" }]);
  button("選び直す").click();
  await until(() => button("同意してマイナポータルへ進む"), "the choice again");
  button("同意してマイナポータルへ進む").click();
  await until(() => fake.authorizationUrl, "the start");
  app.unmount();
  expect(page.querySelectorAll("[data-myna-consent]")).toHaveLength(0);

  const sdk = await MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
  const url = fake.callbackUrl("http://localhost:3000/return");
  const outcomes = [];
  const twice = mount({
    render: () => [
      h(MynaAuthorizationReturn, { url, onComplete: (c) => outcomes.push(["complete", c.id]), onFail: (e) => outcomes.push(["fail", e.code]) }),
      h(MynaAuthorizationReturn, { url, onComplete: (c) => outcomes.push(["complete", c.id]), onFail: (e) => outcomes.push(["fail", e.code]) }),
    ],
  }, { sdk });
  await until(() => outcomes.length === 2, "both outcomes");
  expect(outcomes[0]).toEqual(outcomes[1]);
  expect(outcomes[0][0]).toBe("complete");
  expect(fake.calls.filter((call) => call.path === "/myna/authorizations/complete")).toHaveLength(1);
  for (const holder of twice.querySelectorAll("[data-myna-consent-vue]")) {
    expect(screenOf(holder).textContent).toContain("同意の手続が完了しました");
  }
  app.unmount();
  app = null;
  sdk.destroy();
});
