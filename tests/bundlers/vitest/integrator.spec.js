// A sample integrator test: an operator's own unit tests of its pages,
// written only against the package and its test kit (myna-consent/testing),
// with no server. It drives every screen: consent, the return from
// Mynaportal in each outcome, review, revocation and retrieval.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MynaConsent } from "myna-consent";
import { createFakeBackend, SAMPLE_REQUEST, screenOf } from "myna-consent/testing";
import { waiter } from "./until.js";

const RETURN_PAGE = "http://localhost:3000/myna/return";

let fake;
let sdk;
let events;

const until = waiter(100);

function element(id) {
  const host = document.createElement("section");
  host.id = id;
  document.body.append(host);
  return host;
}

// The text a citizen sees: jsdom lays nothing out (no innerText), so text
// inside a [hidden] element is left out here.
function text(host) {
  const root = screenOf(host);
  if (!root) return "";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let shown = "";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement?.closest("[hidden]")) shown += node.data;
  }
  return shown;
}
const button = (host, name) =>
  [...(screenOf(host)?.querySelectorAll("button") ?? [])].find((b) => !b.closest("[hidden]") && b.textContent.trim() === name);
const pressed = (host, name) => until(() => button(host, name), `the button ${name}`).then((b) => b.click());

async function agreeOnTheConsentScreen() {
  const host = element("consent");
  sdk.mountConsent(host, { request: "phr-90d" });
  await until(() => text(host).includes("テスト運営株式会社"), "the consent screen");
  await pressed(host, "同意してマイナポータルへ進む");
  await until(() => fake.authorizationUrl, "the redirect to Mynaportal");
}

beforeEach(async () => {
  fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
  sdk = await MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
  events = [];
  for (const name of ["granted", "denied", "revoked", "error"]) sdk.on(name, (detail) => events.push([name, detail]));
});

afterEach(() => {
  sdk.destroy();
  document.body.replaceChildren();
  sessionStorage.clear();
});

describe("the consent journey", () => {
  test("agreeing sends only the citizen's choice, and the return shows the grant", async () => {
    await agreeOnTheConsentScreen();
    expect(fake.authorizationUrl).toMatch(/^https:\/\/mynaportal\.fake\.invalid\/authorize\?/);
    const start = fake.calls.find((call) => call.method === "POST" && call.path === "/myna/authorizations");
    expect(start.body).toMatchObject({ request: "phr-90d", optionalItems: [] });
    expect(start.body.operator).toBeUndefined();

    const result = element("result");
    const consent = await sdk.completeAuthorization(fake.callbackUrl(RETURN_PAGE), { target: result });
    expect(consent.items).toEqual(["insurance.drugs"]);
    expect(consent.status).toBe("active");
    await until(() => text(result).includes("同意の手続が完了しました"), "the grant on the return screen");
    expect(events.map(([name]) => name)).toEqual(["granted"]);
  });

  test("the same callback completed twice (an effect run twice) gives one outcome", async () => {
    await agreeOnTheConsentScreen();
    const url = fake.callbackUrl(RETURN_PAGE);
    const result = element("result");
    const [first, second] = await Promise.all([
      sdk.completeAuthorization(url, { target: result }),
      sdk.completeAuthorization(url, { target: result }),
    ]);
    expect(second.id).toBe(first.id);
    expect(fake.calls.filter((call) => call.path === "/myna/authorizations/complete")).toHaveLength(1);
    expect(result.children).toHaveLength(1);
    expect(events.map(([name]) => name)).toEqual(["granted"]);
  });

  test("declining on the consent screen shares nothing, and the citizen can choose again", async () => {
    const host = element("consent");
    sdk.mountConsent(host, { request: "phr-90d" });
    await pressed(host, "同意しない");
    await until(() => text(host).includes("あなたの情報は提供されません"), "the declined notice");
    expect(events).toEqual([["denied", { stage: "consent" }]]);
    await pressed(host, "選び直す");
    await pressed(host, "同意してマイナポータルへ進む");
    await until(() => fake.authorizationUrl, "the redirect after choosing again");
  });

  const failures = [
    ["declined", "denied", "マイナポータルで「同意しない」が選ばれました"],
    ["expired", "transaction_expired", "手続の有効期限（10分）が切れました"],
    ["tampered", "state_mismatch", "安全のために中止しました"],
    ["nothing_granted", "nothing_granted", "提供を認められた情報が一つもありませんでした"],
    ["temporarily_unavailable", "temporarily_unavailable", "一時的に利用できない"],
    ["configuration_error", "configuration_error", "やり直しても同じ結果になります"],
    ["uncertain", "outcome_uncertain", "完了したかどうかを確認できませんでした"],
  ];
  for (const [outcome, code, words] of failures) {
    test(`Mynaportal's "${outcome}" is told to the citizen in plain words`, async () => {
      fake.set({ authorization: outcome });
      await agreeOnTheConsentScreen();
      const result = element("result");
      const error = await sdk.completeAuthorization(fake.callbackUrl(RETURN_PAGE), { target: result }).catch((e) => e);
      expect(error.code).toBe(outcome === "declined" ? "access_denied" : code);
      await until(() => text(result).includes(words), `"${words}" on the return screen`);
      const [name, detail] = events.at(-1);
      expect(name).toBe(outcome === "declined" ? "denied" : "error");
      if (name === "error") expect(detail.code).toBe(code);
      expect(fake.consents).toEqual([]);
    });
  }

  test("with the network down, the consent screen says so and can be retried", async () => {
    fake.set({ offline: true });
    const host = element("consent");
    sdk.mountConsent(host, { request: "phr-90d" });
    await until(() => button(host, "もう一度試す"), "the retry");
    fake.set({ offline: false });
    await pressed(host, "もう一度試す");
    await until(() => button(host, "同意してマイナポータルへ進む"), "the consent screen after the retry");
  });
});

describe("review, revocation and retrieval", () => {
  async function granted() {
    await agreeOnTheConsentScreen();
    return sdk.completeAuthorization(fake.callbackUrl(RETURN_PAGE));
  }

  test("a failed revocation is shown as failed, changes nothing, and succeeds when retried", async () => {
    const consent = await granted();
    fake.set({ revocation: "failed" });
    const failure = await sdk.revoke(consent.id).catch((error) => error);
    expect(failure.code).toBe("revocation_failed");
    // For the developer in English; for the citizen, apart, in their words.
    expect(failure.message).toMatch(/^[\x20-\x7e]+$/);
    expect(failure.citizenMessage).toContain("同意はまだ有効です");
    expect(fake.consents[0].status).toBe("active");
    fake.set({ revocation: "revoked" });
    const receipt = await sdk.revoke(consent.id);
    expect(receipt.receipt).toMatchObject({ event: "revocation", consentId: consent.id });
    expect(receipt.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fake.consents[0].status).toBe("revoked");
    expect(events.filter(([name]) => name === "revoked")).toHaveLength(1);
  });

  test("the review screen lists the consent and withdraws it in one confirmed step", async () => {
    await granted();
    const review = element("review");
    sdk.mountReview(review);
    await until(() => text(review).includes("テスト運営株式会社"), "the review card");
    expect(text(review)).toContain("有効");
    await pressed(review, "同意を撤回する");
    await pressed(review, "撤回する");
    await until(() => text(review).includes("同意の撤回の控え"), "the revocation receipt");
    expect(fake.consents[0].status).toBe("revoked");
  });

  for (const outcome of ["done", "error", "timeout"]) {
    test(`a retrieval that ends "${outcome}" resolves with that status`, async () => {
      const consent = await granted();
      fake.set({ retrieval: outcome, waitingPolls: 0 });
      const result = await sdk.retrieve(consent.id);
      expect(result.status).toBe(outcome);
      if (outcome === "done") expect(result.items).toEqual([{ item: "insurance.drugs", count: 1 }]);
    });
  }
});

describe("the SDK's lifecycle", () => {
  test("mounting into an element that holds a screen replaces it", async () => {
    const host = element("consent");
    sdk.mountConsent(host, { request: "phr-90d" });
    sdk.mountConsent(host, { request: "phr-90d" });
    await until(() => text(host).includes("テスト運営株式会社"), "the consent screen");
    sdk.mountReview(host);
    await until(() => text(host).includes("同意の確認"), "the review screen");
    expect(host.querySelectorAll(":scope > [data-myna-consent]")).toHaveLength(1);
  });

  test("destroy() removes every screen it made and calls no listener again", async () => {
    await agreeOnTheConsentScreen();
    const result = element("result");
    await sdk.completeAuthorization(fake.callbackUrl(RETURN_PAGE), { target: result });
    const review = element("review");
    sdk.mountReview(review);
    await until(() => text(review).includes("テスト運営株式会社"), "the review card");
    const hosts = [document.getElementById("consent"), result, review];
    for (const host of hosts) expect(host.querySelector("[data-myna-consent]")).not.toBeNull();
    const heard = events.length;
    sdk.destroy();
    for (const host of hosts) expect(host.childNodes).toHaveLength(0);
    expect(() => sdk.mountReview(review)).toThrow(expect.objectContaining({ code: "destroyed" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toHaveLength(heard);
  });
});

