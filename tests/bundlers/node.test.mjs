// The package in plain Node, as SSR code and test runners import it:
// importing does nothing (no network, no WebAssembly, no DOM); validate()
// then works by reading consent_bg.wasm from disk, and catalogue() by
// reading account_bg.wasm.
// node --test runs each file in a process of its own, so the import below
// is the package's first in this process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { broken, request } from "./app/request.js";

// Every global a browser SDK could reach for: each read is recorded. They
// are absent in Node, so the getters answer undefined as Node would.
const touched = [];
const DOM = ["window", "document", "navigator", "location", "self", "customElements", "HTMLElement", "Element",
  "localStorage", "sessionStorage", "XMLHttpRequest", "WebSocket", "requestAnimationFrame"];
const saved = new Map();
for (const name of DOM) {
  saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      touched.push(name);
      return saved.get(name)?.get?.call(globalThis) ?? saved.get(name)?.value;
    },
  });
}

// Network and WebAssembly: recorded, and passed on so that validate() works.
const fetched = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  fetched.push(String(args[0]));
  return realFetch(...args);
};
const compiled = [];
for (const name of ["compile", "compileStreaming", "instantiate", "instantiateStreaming"]) {
  const real = WebAssembly[name];
  WebAssembly[name] = (...args) => {
    compiled.push(name);
    return real.apply(WebAssembly, args);
  };
}

test("importing the package fetches nothing, compiles nothing and touches no DOM", async () => {
  const sdk = await import("myna-consent");
  assert.equal(typeof sdk.MynaConsent.validate, "function");
  assert.deepEqual(fetched, [], "no fetch");
  assert.deepEqual(compiled, [], "no WebAssembly");
  assert.deepEqual(touched, [], "no DOM global read");
  // create() loads nothing yet either.
  const instance = await sdk.MynaConsent.create({ backend: "/myna" });
  assert.equal(instance.locale, "ja");
  assert.deepEqual([fetched, compiled], [[], []]);
});

test("validate() accepts the valid request, in Node, from the file on disk", async () => {
  const { MynaConsent } = await import("myna-consent");
  const result = await MynaConsent.validate(request);
  assert.equal(result.ok, true, JSON.stringify(result.errors));
  assert.equal(result.request.operator.name, request.operator.name);
  assert.deepEqual(result.request.items.required, ["insurance.drugs"]);
  // The recorders work: the module was compiled, and read from disk, not fetched.
  assert.ok(compiled.includes("instantiate"), `compiled with ${compiled}`);
  assert.deepEqual(fetched, []);
});

test("validate() names every broken field", async () => {
  const { MynaConsent } = await import("myna-consent");
  const result = await MynaConsent.validate(broken, "en");
  assert.equal(result.ok, false);
  const fields = result.errors.map((error) => error.field).sort();
  assert.deepEqual(fields, ["items.required[0]", "operator.name", "period.days"]);
  const codes = Object.fromEntries(result.errors.map((error) => [error.field, error.code]));
  assert.equal(codes["operator.name"], "required");
  assert.equal(codes["items.required[0]"], "unknown_item");
  for (const error of result.errors) assert.ok(error.message.length > 0, `${error.field} has a message`);
});

test("catalogue() lists the APIs and the categories of data items", async () => {
  const { MynaConsent, MynaConsentError } = await import("myna-consent");
  const catalogue = await MynaConsent.catalogue("en");
  assert.equal(catalogue.locale, "en");
  // docs: the 16 APIs and 83 data items of the 2025-04 report.
  assert.equal(catalogue.apis.length, 16);
  assert.ok(catalogue.categories.length > 0);
  const items = catalogue.categories.flatMap((category) => category.items);
  assert.equal(items.length, 83);
  assert.ok(items.some((item) => item.id === "insurance.drugs"), "the request's item is in the catalogue");
  const apis = new Set(catalogue.apis.map((api) => api.id));
  // Items not offered through any API yet have none.
  for (const item of items) {
    if (item.api !== null) assert.ok(apis.has(item.api), `${item.id} names a listed API (${item.api})`);
  }
  assert.equal(items.find((item) => item.id === "insurance.drugs").api !== null, true);
  // English comes from en.js, read from disk like the module; Japanese stays the default.
  assert.equal(items.find((item) => item.id === "insurance.drugs").label, "Medicine information");
  const japanese = (await MynaConsent.catalogue()).categories.flatMap((category) => category.items);
  assert.equal(japanese.find((item) => item.id === "insurance.drugs").label, "薬剤情報");
  await assert.rejects(MynaConsent.catalogue("fr"), (error) => error instanceof MynaConsentError && error.code === "unknown_locale");
  assert.deepEqual(fetched, [], "still nothing fetched");
});
