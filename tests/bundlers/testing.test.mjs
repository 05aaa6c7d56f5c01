// The test kit itself (myna-consent/testing), in plain Node: its fake keeps
// the operator-backend contract's rules, so that an integration that breaks
// them fails in the integrator's tests as it would against a real backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createFakeBackend, FAKE_ISSUER, OUTCOMES, SAMPLE_REQUEST } from "myna-consent/testing";
import { MynaConsent } from "myna-consent";

const PAGE = "http://localhost:3000";

function call(fake, method, path, body, headers = { "X-Myna-Request": "1" }) {
  const init = { method, headers: { "Content-Type": "application/json", ...headers } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return fake.fetch(new Request(`${PAGE}/myna${path}`, init));
}

/** The SHA-256 of a receipt's RFC 8785 form (sorted keys, no spaces), as the contract defines `sha256`. */
function receiptDigest(receipt) {
  const sorted = (value) => Array.isArray(value) ? value.map(sorted)
    : value && typeof value === "object" ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])])) : value;
  return createHash("sha256").update(JSON.stringify(sorted(receipt))).digest("hex");
}

async function json(response) {
  return { status: response.status, body: await response.json() };
}

async function start(fake, body = { request: "sample", optionalItems: [] }) {
  return json(await call(fake, "POST", "/authorizations", body));
}

function callbackParams(fake) {
  return Object.fromEntries(new URL(fake.callbackUrl(`${PAGE}/return`)).searchParams);
}

test("the sample request passes every rule of the SDK's own validator", async () => {
  const result = await MynaConsent.validate(SAMPLE_REQUEST);
  assert.equal(result.ok, true, JSON.stringify(result.errors));
});

test("a POST without the CSRF header is refused, as the real backend does", async () => {
  const fake = createFakeBackend();
  const refused = await json(await call(fake, "POST", "/authorizations", { request: "sample" }, {}));
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "csrf");
});

test("requests: known ids are served in the asked locale, unknown ones are 404", async () => {
  const fake = createFakeBackend({ requests: { "phr-90d": SAMPLE_REQUEST } });
  const found = await json(await call(fake, "GET", "/requests/phr-90d?locale=en"));
  assert.equal(found.status, 200);
  assert.equal(found.body.locale, "en");
  assert.deepEqual(found.body.operator, SAMPLE_REQUEST.operator);
  const missing = await json(await call(fake, "GET", "/requests/sample"));
  assert.deepEqual([missing.status, missing.body.code], [404, "request_not_found"]);
});

test("a start may choose only offered optional items", async () => {
  const fake = createFakeBackend();
  const stray = await start(fake, { request: "sample", optionalItems: ["insurance.drugs.other"] });
  assert.deepEqual([stray.status, stray.body.code], [422, "item_not_offered"]);
  const started = await start(fake, { request: "sample", optionalItems: ["insurance.checkups"] });
  assert.equal(started.status, 201);
  assert.equal(started.body.issuer, FAKE_ISSUER);
  assert.ok(started.body.authorizationUrl.startsWith(`${FAKE_ISSUER}/authorize?`));
});

test("a callback's state is single-use, and a wrong issuer is refused", async () => {
  const fake = createFakeBackend();
  await start(fake);
  const { code, state, iss } = callbackParams(fake);
  assert.equal(iss, FAKE_ISSUER);
  const granted = await json(await call(fake, "POST", "/authorizations/complete", { code, state, iss }));
  assert.equal(granted.status, 201);
  assert.deepEqual(granted.body.items, ["insurance.drugs"]);
  assert.equal(granted.body.status, "active");
  assert.equal(granted.body.daysLeft, 90);
  const replay = await json(await call(fake, "POST", "/authorizations/complete", { code, state, iss }));
  assert.deepEqual([replay.status, replay.body.code], [400, "state_used"]);
  const unknown = await json(await call(fake, "POST", "/authorizations/complete", { code, state: "made-up", iss }));
  assert.deepEqual([unknown.status, unknown.body.code], [400, "state_mismatch"]);

  await start(fake);
  const next = callbackParams(fake);
  const wrong = await json(await call(fake, "POST", "/authorizations/complete", { ...next, iss: "https://evil.example" }));
  assert.deepEqual([wrong.status, wrong.body.code], [400, "issuer_mismatch"]);
});

test("each scripted authorization outcome gives the contract's answer, and none records a consent", async () => {
  const expected = {
    declined: [400, "access_denied", undefined],
    expired: [400, "transaction_expired", undefined],
    nothing_granted: [502, "nothing_granted", "nothing_granted"],
    temporarily_unavailable: [503, "authority_unavailable", "temporary"],
    configuration_error: [502, "token_exchange_failed", "configuration"],
    uncertain: [502, "token_exchange_failed", "uncertain"],
  };
  for (const [outcome, [status, code, cause]] of Object.entries(expected)) {
    const fake = createFakeBackend({ authorization: outcome });
    await start(fake);
    const params = callbackParams(fake);
    const body = params.error ? { error: params.error, state: params.state, iss: params.iss } : params;
    const answer = await json(await call(fake, "POST", "/authorizations/complete", body));
    assert.deepEqual([answer.status, answer.body.code, answer.body.cause], [status, code, cause], outcome);
    assert.deepEqual(fake.consents, [], outcome);
  }
  const tampered = createFakeBackend({ authorization: "tampered" });
  const { state } = (await start(tampered)).body;
  assert.notEqual(callbackParams(tampered).state, state, "a tampered callback carries another state");
});

test("revocation: a failure changes nothing; then it succeeds once and is idempotent", async () => {
  const fake = createFakeBackend();
  await start(fake);
  const consent = (await json(await call(fake, "POST", "/authorizations/complete", callbackParams(fake)))).body;
  fake.set({ revocation: "failed" });
  const failed = await json(await call(fake, "POST", `/consents/${consent.id}/revocation`, {}));
  assert.deepEqual([failed.status, failed.body.code, failed.body.cause], [502, "revocation_failed", "temporary"]);
  assert.equal(fake.consents[0].status, "active");
  fake.set({ revocation: "revoked" });
  const first = await json(await call(fake, "POST", `/consents/${consent.id}/revocation`, {}));
  const again = await json(await call(fake, "POST", `/consents/${consent.id}/revocation`, {}));
  assert.equal(first.status, 200);
  assert.deepEqual(again.body, first.body, "a second call answers the same receipt");
  assert.equal(first.body.receipt.event, "revocation");
  assert.equal(fake.consents[0].status, "revoked");
  assert.equal(first.body.sha256, receiptDigest(first.body.receipt));
  const receipt = await json(await call(fake, "GET", `/consents/${consent.id}/receipt`));
  assert.deepEqual(receipt.body, first.body);
});

test("retrieval: waiting for the scripted number of polls, then the scripted end", async () => {
  const fake = createFakeBackend({ waitingPolls: 2, retrieval: "error" });
  await start(fake);
  const consent = (await json(await call(fake, "POST", "/authorizations/complete", callbackParams(fake)))).body;
  const started = await json(await call(fake, "POST", `/consents/${consent.id}/retrievals`, {}));
  assert.deepEqual([started.status, started.body.status], [202, "waiting"]);
  const poll = async () => (await json(await call(fake, "GET", `/consents/${consent.id}/retrievals/${started.body.id}`))).body.status;
  assert.deepEqual([await poll(), await poll(), await poll(), await poll()], ["waiting", "waiting", "error", "error"]);
  const other = await json(await call(fake, "GET", `/consents/nope/retrievals/${started.body.id}`));
  assert.equal(other.status, 404);
});

test("offline: every call fails as a dropped network does", async () => {
  const fake = createFakeBackend({ offline: true });
  await assert.rejects(call(fake, "GET", "/consents"), TypeError);
  fake.set({ offline: false });
  assert.equal((await call(fake, "GET", "/consents")).status, 200);
});

test("the script refuses outcomes that do not exist, naming the choices", () => {
  assert.throws(() => createFakeBackend({ authorization: "approved" }), /authorization must be one of granted, declined/);
  const fake = createFakeBackend();
  assert.throws(() => fake.set({ revocation: "maybe" }), /revocation must be one of revoked, failed/);
  assert.throws(() => fake.set({ retreival: "done" }), /unknown option "retreival"/);
  assert.throws(() => fake.set({ waitingPolls: -1 }), /waitingPolls/);
  assert.deepEqual(OUTCOMES.retrieval, ["done", "error", "timeout"]);
});

test("callbackUrl() before any start says what to do first", () => {
  const fake = createFakeBackend();
  assert.throws(() => fake.callbackUrl(`${PAGE}/return`), /has not started an authorization yet/);
});

test("seeded consents are reported with status computed on the fake's clock", async () => {
  const grantedAt = "2026-01-01T10:00:00+09:00";
  const fake = createFakeBackend({
    now: () => new Date("2026-03-25T10:00:00+09:00"),
    consents: [{ ...SAMPLE_REQUEST, id: "c-1", items: ["insurance.drugs"], recipients: [], grantedAt }],
  });
  const { body } = await json(await call(fake, "GET", "/consents"));
  assert.equal(body.consents[0].endDate, "2026-04-01");
  assert.equal(body.consents[0].daysLeft, 7);
  assert.equal(body.consents[0].status, "endingSoon");
});

test("a seeded one-time consent is active, the last day is endingSoon, and a seeded revoked one revokes again", async () => {
  const lastDay = new Date("2026-01-31T09:00:00+09:00");
  const fake = createFakeBackend({
    now: () => lastDay,
    consents: [
      { ...SAMPLE_REQUEST, id: "once", items: ["insurance.drugs"], recipients: [], period: { kind: "oneTime" }, grantedAt: "2026-01-30T10:00:00+09:00" },
      { ...SAMPLE_REQUEST, id: "last", items: ["insurance.drugs"], recipients: [], period: { kind: "linkage", days: 30 }, grantedAt: "2026-01-01T10:00:00+09:00" },
      { ...SAMPLE_REQUEST, id: "gone", items: ["insurance.drugs"], recipients: [], grantedAt: "2026-01-01T10:00:00+09:00", revokedAt: "2026-01-02T10:00:00+09:00" },
    ],
  });
  const { body } = await json(await call(fake, "GET", "/consents"));
  const byId = Object.fromEntries(body.consents.map((c) => [c.id, c]));
  assert.equal(byId.once.status, "active");
  assert.deepEqual([byId.last.status, byId.last.daysLeft], ["endingSoon", 0]);
  assert.equal(byId.gone.status, "revoked");
  const again = await json(await call(fake, "POST", "/consents/gone/revocation", {}));
  assert.equal(again.status, 200);
  assert.equal(again.body.receipt.event, "revocation");
  assert.equal(again.body.receipt.revokedAt, "2026-01-02T10:00:00+09:00");
  assert.equal(again.body.sha256, receiptDigest(again.body.receipt));
});

