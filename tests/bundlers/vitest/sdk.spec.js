// The package under Vitest's jsdom environment: a browser-like global scope
// (window, document) in Node, where import.meta.url is still a file: URL, so
// the SDK reads its modules (consent_bg.wasm, account_bg.wasm) from disk.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MynaConsent, MynaConsentError } from "myna-consent";
import { createFakeBackend, SAMPLE_REQUEST, screenOf } from "myna-consent/testing";
import { broken, request } from "../app/request.js";
import { waiter } from "./until.js";

test("runs under jsdom, and importing the package changed nothing in the document", () => {
  expect(navigator.userAgent).toMatch(/jsdom/);
  expect(window.document).toBe(document);
  expect(document.body.childNodes.length).toBe(0);
});

test("validate() accepts the valid request", async () => {
  const result = await MynaConsent.validate(request);
  expect(result.errors).toBeUndefined();
  expect(result.ok).toBe(true);
  expect(result.request.operator.name).toBe("すこやか手帳株式会社");
  expect(result.needsSeparateConfirmation).toBe(false);
});

test("validate() names every broken field", async () => {
  const result = await MynaConsent.validate(broken, "en");
  expect(result.ok).toBe(false);
  expect(result.errors.map((error) => error.field).sort()).toEqual(["items.required[0]", "operator.name", "period.days"]);
  expect(result.errors.find((error) => error.field === "operator.name").code).toBe("required");
});

test("catalogue() has the categories and the 16 APIs", async () => {
  const catalogue = await MynaConsent.catalogue("ja");
  expect(catalogue.locale).toBe("ja");
  expect(catalogue.apis).toHaveLength(16);
  expect(catalogue.categories.length).toBeGreaterThan(0);
  expect(catalogue.categories.flatMap((category) => category.items).map((item) => item.id)).toContain("insurance.drugs");
  await expect(MynaConsent.catalogue("fr")).rejects.toBeInstanceOf(MynaConsentError);
});

// The consent screen over the test kit: each test mounts it in an element
// of its own, and leaves the document and the session as it found them.
describe("the consent screen over the test kit", () => {
  const until = waiter(100);
  let host;
  beforeEach(() => {
    host = document.createElement("section");
    document.body.append(host);
  });
  afterEach(() => {
    document.body.replaceChildren();
    sessionStorage.clear();
  });

  /** The screen's button named `name`, once it is shown. */
  const shownButton = (name) =>
    until(
      () => [...(screenOf(host)?.querySelectorAll("button") ?? [])].find((b) => !b.closest("[hidden]") && b.textContent.trim() === name),
      `the button ${name}`,
    );
  const shown = (text) => until(() => screenOf(host)?.textContent.includes(text), `the screen with ${text}`);

  // A request defined on the backend is asked for by the package entry
  // while the consent module loads (index.js), and read by the module once
  // it is there: the call must be the module's own, made once, with the
  // sign-in.
  describe("a request defined on the backend, with a sign-in token", () => {
    /** The SDK over the test kit, recording each call and each token asked for. */
    async function signedIn(userToken) {
      const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
      const seen = { calls: [], tokens: 0, errors: [] };
      const sdk = await MynaConsent.create({
        // A trailing slash, as the module drops it.
        backend: "/myna/",
        userToken: () => {
          seen.tokens += 1;
          return userToken();
        },
        fetch: (request) => {
          const url = new URL(request.url);
          seen.calls.push([request.method, url.pathname + url.search, request.headers.get("Authorization"), request.headers.get("Accept")]);
          return fake.fetch(request);
        },
        navigate: fake.navigate,
      });
      sdk.on("error", (detail) => seen.errors.push(detail.code));
      return { sdk, seen, fake };
    }

    test("is asked for once, with the token, and shown", async () => {
      const { sdk, seen } = await signedIn(async () => "member-token");
      sdk.mountConsent(host, { request: "phr-90d" });
      await shown("テスト運営株式会社");
      expect(seen.calls).toEqual([["GET", "/myna/requests/phr-90d?locale=ja", "Bearer member-token", "application/json"]]);
      expect(seen.tokens).toBe(1);
      expect(seen.errors).toEqual([]);
      sdk.destroy();
    });

    test("a token given as a thenable, not a Promise, serves the request and 同意 alike", async () => {
      // A library's own promise type, or a Promise from another frame.
      const { sdk, seen, fake } = await signedIn(() => ({ then: (resolve) => resolve("member-token") }));
      sdk.mountConsent(host, { request: "phr-90d" });
      (await shownButton("同意してマイナポータルへ進む")).click();
      await until(() => fake.authorizationUrl, "the redirect to Mynaportal");
      expect(seen.errors).toEqual([]);
      expect(seen.calls.map(([method, path, authorization]) => [method, path.split("?")[0], authorization])).toEqual([
        ["GET", "/myna/requests/phr-90d", "Bearer member-token"],
        ["POST", "/myna/authorizations", "Bearer member-token"],
      ]);
      sdk.destroy();
    });

    test("a token that is no header value is no sign-in, early and on the retry, and nothing is asked for", async () => {
      const { sdk, seen } = await signedIn(async () => "member\ntoken");
      sdk.mountConsent(host, { request: "phr-90d" });
      const retry = await shownButton("もう一度試す");
      expect(seen.errors).toEqual(["sign_in_unavailable"]);
      retry.click();
      await until(() => seen.errors.length === 2, "the retry's error");
      expect(seen.errors).toEqual(["sign_in_unavailable", "sign_in_unavailable"]);
      expect(seen.tokens).toBe(2);
      expect(seen.calls).toEqual([]);
      sdk.destroy();
    });

    test("without a token, nothing is asked for, the failure is said once, and the retry asks again", async () => {
      let signedOut = true;
      const { sdk, seen } = await signedIn(async () => {
        if (signedOut) throw new Error("signed out");
        return "member-token";
      });
      sdk.mountConsent(host, { request: "phr-90d" });
      const retry = await shownButton("もう一度試す");
      expect(seen.errors).toEqual(["sign_in_unavailable"]);
      expect(seen.tokens).toBe(1);
      expect(seen.calls).toEqual([]);

      signedOut = false;
      retry.click();
      await shown("テスト運営株式会社");
      expect(seen.tokens).toBe(2);
      expect(seen.calls).toEqual([["GET", "/myna/requests/phr-90d?locale=ja", "Bearer member-token", "application/json"]]);
      sdk.destroy();
    });
  });

  // An answer outside the contract names the call it answered, as the
  // contract writes it: the developer knows which answer to fix, and no id
  // or request token reaches their logs.
  describe("an answer outside the backend contract", () => {
    async function sdkAnswering(answer) {
      const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
      const errors = [];
      const sdk = await MynaConsent.create({
        backend: "/myna",
        fetch: (request) => answer(request) ?? fake.fetch(request),
        navigate: fake.navigate,
      });
      sdk.on("error", (detail) => errors.push(detail));
      return { sdk, errors };
    }

    test("a request that is not JSON names GET /requests/{id}, not the token", async () => {
      const { sdk, errors } = await sdkAnswering((request) =>
        request.url.includes("/requests/") ? new Response("<!doctype html>", { headers: { "Content-Type": "text/html" } }) : null);
      sdk.mountConsent(host, { request: "rqt_secret-token" });
      await until(() => errors.length > 0, "the error event");
      expect(errors[0].code).toBe("backend_unexpected");
      expect(errors[0].message).toBe("unexpected answer from the operator backend to GET /requests/{id} (HTTP 200)");
      sdk.destroy();
    });

    test("an authorization answer without state and issuer names POST /authorizations", async () => {
      const { sdk, errors } = await sdkAnswering((request) =>
        request.method === "POST" && new URL(request.url).pathname === "/myna/authorizations"
          ? Response.json({ authorizationUrl: "https://mynaportal.example/authorize" }, { status: 201 })
          : null);
      sdk.mountConsent(host, { request: "phr-90d" });
      (await shownButton("同意してマイナポータルへ進む")).click();
      await until(() => errors.length > 0, "the error event");
      expect(errors.map((e) => e.code)).toEqual(["backend_unexpected"]);
      expect(errors[0].message).toBe("unexpected answer from the operator backend to POST /authorizations (HTTP 201)");
      sdk.destroy();
    });

    test("revoke() resolves with a receipt whose sha256 is not its own, and says receipt_mismatch", async () => {
      const document = { receipt: { receiptId: "r-1", event: "revocation", consentId: "c-1" }, sha256: "0".repeat(64) };
      const { sdk, errors } = await sdkAnswering((request) =>
        request.method === "POST" && new URL(request.url).pathname === "/myna/consents/c-1/revocation" ? Response.json(document) : null);
      const revoked = [];
      sdk.on("revoked", (detail) => revoked.push(detail.consentId));
      // Withdrawn: the backend said so.
      expect(await sdk.revoke("c-1")).toEqual(document);
      expect(revoked).toEqual(["c-1"]);
      expect(errors.map((e) => e.code)).toEqual(["receipt_mismatch"]);
      sdk.destroy();
    });

    test("a retrieval status outside the contract names its call, at the start or in a poll", async () => {
      let poll = false;
      const { sdk } = await sdkAnswering((request) => {
        const path = new URL(request.url).pathname;
        if (request.method === "POST" && path === "/myna/consents/c-1/retrievals") {
          return Response.json({ id: "r-1", status: poll ? "waiting" : "pending" }, { status: 202 });
        }
        if (request.method === "GET" && path === "/myna/consents/c-1/retrievals/r-1") return Response.json({ id: "r-1", status: "pending" });
        return null;
      });
      const started = await sdk.retrieve("c-1").catch((error) => error);
      expect([started.code, started.message]).toEqual(["backend_unexpected", "unexpected answer from the operator backend to POST /consents/{id}/retrievals (HTTP 202)"]);
      poll = true;
      const polled = await sdk.retrieve("c-1").catch((error) => error);
      expect([polled.code, polled.message]).toEqual(["backend_unexpected", "unexpected answer from the operator backend to GET /consents/{id}/retrievals/{rid} (HTTP 200)"]);
      sdk.destroy();
    });
  });
});
