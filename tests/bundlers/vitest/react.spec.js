// The React wrapper under StrictMode (which mounts, unmounts and mounts
// again, and runs every effect twice), against the test kit's fake backend:
// one screen per element, one call to complete a callback, one outcome.
import { afterEach, expect, test } from "vitest";
import { createElement as h, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { MynaConsent } from "myna-consent";
import { createFakeBackend, SAMPLE_REQUEST, screenOf } from "myna-consent/testing";
import { ConsentScreen, MynaConsentProvider, ReturnScreen, ReviewScreen } from "myna-consent-react";
import { waiter } from "./until.js";

const until = waiter(150);

const screens = (container) => [...container.querySelectorAll("[data-myna-consent]")];
const buttonIn = (container, name) =>
  screens(container).flatMap((s) => [...s.shadowRoot.querySelectorAll("button")]).find((b) => b.textContent.trim() === name);

let root;
afterEach(() => {
  root?.unmount();
  document.body.replaceChildren();
  sessionStorage.clear();
});

function render(element) {
  const container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  root.render(h(StrictMode, null, element));
  return container;
}

test("StrictMode: the return page completes the callback once and shows one outcome", async () => {
  const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
  const sdk = await MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
  const errors = [];
  sdk.on("error", (detail) => errors.push(detail));
  // The consent screen, to start an authorization as a citizen would.
  const start = render(h(MynaConsentProvider, { sdk }, h(ConsentScreen, { request: "phr-90d" })));
  await until(() => buttonIn(start, "同意してマイナポータルへ進む"), "the consent screen");
  expect(screens(start)).toHaveLength(1);
  buttonIn(start, "同意してマイナポータルへ進む").click();
  await until(() => fake.authorizationUrl, "the start");
  root.unmount();

  const completed = [];
  const page = render(h(MynaConsentProvider, { sdk },
    h(ReturnScreen, { url: fake.callbackUrl("http://localhost:3000/return"), onComplete: (consent) => completed.push(consent) })));
  await until(() => completed.length, "the outcome");
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(fake.calls.filter((call) => call.path === "/myna/authorizations/complete")).toHaveLength(1);
  expect(completed).toHaveLength(1);
  expect(screens(page)).toHaveLength(1);
  expect(screenOf(page.firstElementChild).textContent).toContain("同意の手続が完了しました");
  expect(screenOf(page.firstElementChild).textContent).not.toContain("手続は完了していません");
  expect(errors).toEqual([]);
  sdk.destroy();
});

test("StrictMode: a provider with options creates one SDK, shows one screen per element, and cleans up on unmount", async () => {
  const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
  const granted = [];
  const page = render(h(MynaConsentProvider, { backend: "/myna", fetch: fake.fetch, navigate: fake.navigate, onGranted: (c) => granted.push(c) },
    h(ConsentScreen, { request: "phr-90d" }), h(ReviewScreen)));
  await until(() => buttonIn(page, "同意してマイナポータルへ進む"), "the consent screen");
  await new Promise((resolve) => setTimeout(resolve, 200));
  const holders = [...page.querySelectorAll("[data-myna-consent-react]")];
  expect(holders).toHaveLength(2);
  for (const holder of holders) expect(holder.querySelectorAll(":scope > [data-myna-consent]")).toHaveLength(1);
  // One GET of the request: the first SDK (of StrictMode's first mount) never mounted anything.
  expect(fake.calls.filter((call) => call.path === "/myna/requests/phr-90d")).toHaveLength(1);
  root.unmount();
  root = null;
  expect(page.querySelectorAll("[data-myna-consent]")).toHaveLength(0);
});
