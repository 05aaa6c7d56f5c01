// MynaConsent.create()'s options, checked in plain Node before anything
// loads: every bad option is a typed error naming its field, a backend that
// would leave the page's origin is refused, and an unknown option is a
// developer warning, not silence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MynaConsent, MynaConsentError } from "myna-consent";

async function refusal(options) {
  try {
    await MynaConsent.create(options);
  } catch (error) {
    assert.ok(error instanceof MynaConsentError, `${error}`);
    return { code: error.code, field: error.field };
  }
  assert.fail(`accepted ${JSON.stringify(options)}`);
}

test("a backend must be a path on this origin", async () => {
  for (const backend of ["//evil.example/myna", "/\\evil.example/myna", "/myna\\..\\x", "https://evil.example/myna", "myna", ""]) {
    assert.deepEqual(await refusal({ backend }), { code: "invalid_options", field: "backend" }, backend);
  }
  const sdk = await MynaConsent.create({ backend: "/myna" });
  assert.equal(sdk.locale, "ja");
});

test("each bad option names its field", async () => {
  assert.deepEqual(await refusal(null), { code: "invalid_options", field: "options" });
  assert.deepEqual(await refusal({ backend: "/myna", locale: "fr" }), { code: "unknown_locale", field: "locale" });
  // URL parsing drops tabs and line breaks: these are "//evil.example",
  // another site, which would receive the sign-in token.
  for (const backend of ["/\t/evil.example", "/\n/evil.example", "/my\rna"]) {
    assert.deepEqual(await refusal({ backend }), { code: "invalid_options", field: "backend" }, JSON.stringify(backend));
  }
  assert.deepEqual(await refusal({ backend: "/myna", userToken: "jwt" }), { code: "invalid_options", field: "userToken" });
  assert.deepEqual(await refusal({ backend: "/myna", navigate: "/next" }), { code: "invalid_options", field: "navigate" });
  for (const prefetch of ["false", 0]) {
    assert.deepEqual(await refusal({ backend: "/myna", prefetch }), { code: "invalid_options", field: "prefetch" }, String(prefetch));
  }
  await MynaConsent.create({ backend: "/myna", prefetch: false });
});

test("an unknown option is reported to the developer", async () => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (message) => warnings.push(String(message));
  try {
    await MynaConsent.create({ backend: "/myna", locle: "en" });
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /unknown option "locle"/);
});

test("unknown events are refused, and a destroyed SDK says so", async () => {
  const sdk = await MynaConsent.create({ backend: "/myna" });
  assert.throws(() => sdk.on("consented", () => {}), (e) => e.code === "unknown_event" && e.field === "event");
  assert.throws(() => sdk.on("error", "not a function"), (e) => e.code === "invalid_options" && e.field === "listener");
  sdk.destroy();
  assert.throws(() => sdk.mountReview("#x"), (e) => e instanceof MynaConsentError && e.code === "destroyed");
  await assert.rejects(sdk.revoke("c-1"), (e) => e.code === "destroyed");
});
