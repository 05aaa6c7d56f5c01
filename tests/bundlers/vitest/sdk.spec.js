// The package under Vitest's jsdom environment: a browser-like global scope
// (window, document) in Node, where import.meta.url is still a file: URL, so
// the SDK reads its modules (consent_bg.wasm, account_bg.wasm) from disk.
import { expect, test } from "vitest";
import { MynaConsent, MynaConsentError } from "myna-consent";
import { broken, request } from "../app/request.js";

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
