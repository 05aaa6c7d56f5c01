// Proves the oidc-provider peer (peer.mjs) with a plain node OAuth client:
// fetch + jose + node:crypto, a hand-kept cookie jar, no browser.
//
//   node --test --test-concurrency=1 tests/interop/
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  SignJWT,
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from "jose";
import { ACCOUNT_ID, startPeer } from "./peer.mjs";

const REDIRECT_URI = "http://127.0.0.1:9/callback";
const ITEMS = ["insurance.drugs", "insurance.checkups", "ehr.lab.hba1c"];
const ENTRY = {
  type: "mynaportal_consent",
  items: ITEMS,
  purposes: [{ category: "healthManagement", description: "服薬の記録" }],
  period: { kind: "linkage", days: 90 },
  recipients: [],
  retention: "90日",
};

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (text) => createHash("sha256").update(text).digest("base64url");
const random = () => b64url(randomBytes(32));

// ---------------------------------------------------------------------------
// A cookie jar kept by hand (name, value, path), enough for oidc-provider's
// interaction, resume and session cookies.

class CookieJar {
  #cookies = new Map();

  store(response, requestUrl) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";").map((part) => part.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = new URL(requestUrl).pathname.replace(/\/[^/]*$/, "") || "/";
      let expired = value === "";
      for (const attribute of attributes) {
        const [key, val = ""] = attribute.split("=");
        if (key.toLowerCase() === "path") path = val;
        if (key.toLowerCase() === "expires" && Date.parse(val) <= Date.now()) expired = true;
        if (key.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.#cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith("/") ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join("; ");
  }
}

/** Requests `url` and follows redirects by hand until a page answers or a
 * redirect leaves for `stopAt` (the client's callback, never fetched). */
async function browse(jar, url, { method = "GET", form, stopAt = REDIRECT_URI } = {}) {
  let current = url;
  let init = { method, body: form ? new URLSearchParams(form) : undefined };
  for (let hops = 0; hops < 10; hops += 1) {
    const headers = { cookie: jar.header(current) };
    if (init.body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(current, { ...init, headers, redirect: "manual" });
    jar.store(response, current);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, current).href;
      if (next.startsWith(stopAt)) return { callback: new URL(next) };
      current = next;
      init = { method: "GET" };
      continue;
    }
    return { url: current, status: response.status, html: await response.text() };
  }
  throw new Error("too many redirects");
}

// ---------------------------------------------------------------------------
// The client.

async function makeClient({ id, auth, alg = "PS256", bound }) {
  const client = {
    client_id: id,
    redirect_uris: [REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: auth,
  };
  if (bound !== undefined) client.dpop_bound_access_tokens = bound;
  const local = { metadata: client, auth };
  if (auth === "client_secret_basic") {
    client.client_secret = random();
  } else {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...await exportJWK(publicKey), alg, use: "sig" };
    jwk.kid = await calculateJwkThumbprint(jwk);
    client.jwks = { keys: [jwk] };
    client.token_endpoint_auth_signing_alg = alg;
    Object.assign(local, { privateKey, kid: jwk.kid, alg });
  }
  return local;
}

/** Headers and form fields that authenticate `client` to `endpoint`. */
async function clientAuth(client, issuer) {
  if (client.auth === "client_secret_basic") {
    const { client_id: id, client_secret: secret } = client.metadata;
    const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
    return { headers: { authorization: `Basic ${basic}` }, fields: {} };
  }
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: client.alg, kid: client.kid })
    .setIssuer(client.metadata.client_id)
    .setSubject(client.metadata.client_id)
    .setAudience(issuer)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime("60s")
    .sign(client.privateKey);
  return {
    headers: {},
    fields: {
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    },
  };
}

async function dpopKey() {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk), nonces: new Map() };
}

async function dpopProof(key, method, url, { accessToken, nonce } = {}) {
  const htu = new URL(url);
  htu.search = "";
  htu.hash = "";
  const claims = { htm: method, htu: htu.href, jti: randomUUID() };
  if (accessToken) claims.ath = sha256(accessToken);
  if (nonce) claims.nonce = nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: key.jwk })
    .setIssuedAt()
    .sign(key.privateKey);
}

/** A form POST to an authorization server endpoint, with client
 * authentication and (if `key`) a DPoP proof; retried once with the server's
 * DPoP nonce. A fresh client assertion is made for every attempt: the first
 * one is consumed even when the request fails on its nonce. */
async function oauthPost(ctx, url, fields) {
  for (let attempt = 0; ; attempt += 1) {
    const auth = await clientAuth(ctx.client, ctx.issuer);
    const headers = { "content-type": "application/x-www-form-urlencoded", ...auth.headers };
    const origin = new URL(url).origin;
    if (ctx.key) headers.dpop = await dpopProof(ctx.key, "POST", url, { nonce: ctx.key.nonces.get(origin) });
    const response = await fetch(url, {
      method: "POST", headers, body: new URLSearchParams({ ...fields, ...auth.fields }),
    });
    const nonce = response.headers.get("dpop-nonce");
    if (nonce && ctx.key) ctx.key.nonces.set(origin, nonce);
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    if (attempt === 0 && response.status === 400 && body?.error === "use_dpop_nonce") continue;
    return { status: response.status, body, headers: response.headers };
  }
}

/** A call to the retrieval resource, retried once on a DPoP nonce challenge. */
async function resource(ctx, method, url, accessToken, json, { scheme } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const headers = {};
    const useDpop = ctx.key && scheme !== "Bearer";
    headers.authorization = `${useDpop ? "DPoP" : "Bearer"} ${accessToken}`;
    if (useDpop) {
      headers.dpop = await dpopProof(ctx.key, method, url, {
        accessToken, nonce: ctx.key.nonces.get(`resource:${new URL(url).origin}`),
      });
    }
    if (json) headers["content-type"] = "application/json";
    const response = await fetch(url, { method, headers, body: json ? JSON.stringify(json) : undefined });
    const nonce = response.headers.get("dpop-nonce");
    if (nonce && ctx.key) ctx.key.nonces.set(`resource:${new URL(url).origin}`, nonce);
    const body = await response.json();
    if (attempt === 0 && response.status === 401 && /use_dpop_nonce/.test(response.headers.get("www-authenticate"))) {
      continue;
    }
    return { status: response.status, body, headers: response.headers };
  }
}

async function discover(issuer, metadata) {
  const [served, other] = metadata === "openid"
    ? ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
    : ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];
  const missing = await fetch(`${issuer}${other}`);
  assert.equal(missing.status, 404, `${other} must not be served`);
  await missing.arrayBuffer();
  const response = await fetch(`${issuer}${served}`);
  assert.equal(response.status, 200);
  const doc = await response.json();
  assert.equal(doc.issuer, issuer);
  return doc;
}

/** Discovery, authorization request (PAR or not), the interaction page, and
 * the End-User's decision, up to the callback. */
async function authorize(ctx, {
  usePar, decision = "approve", items = ITEMS, details = [ENTRY], prompt = "consent", jar = new CookieJar(),
}) {
  const as = ctx.as;
  const verifier = random();
  const request = {
    response_type: "code",
    client_id: ctx.client.metadata.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "openid offline_access",
    // oidc-provider (OIDC Core §11) drops offline_access without prompt=consent.
    ...(prompt ? { prompt } : {}),
    state: random(),
    nonce: random(),
    code_challenge: sha256(verifier),
    code_challenge_method: "S256",
    authorization_details: JSON.stringify(details),
  };
  let url;
  if (usePar) {
    const pushed = await oauthPost(ctx, as.pushed_authorization_request_endpoint, request);
    assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
    assert.match(pushed.body.request_uri, /^urn:ietf:params:oauth:request_uri:/);
    url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({ client_id: request.client_id, request_uri: pushed.body.request_uri });
  } else {
    url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams(request);
  }
  const page = await browse(jar, url.href);
  assert.equal(page.status, 200, page.html);
  assert.match(page.url, new RegExp(`^${ctx.issuer}/interaction/`));
  assert.match(page.html, /<h1>Peer authorization<\/h1>/);
  assert.ok(page.html.includes(`>${request.client_id}<`));
  assert.ok(page.html.includes(prompt === "consent" ? "openid offline_access" : ">openid<"), page.html);
  for (const item of ITEMS) assert.ok(page.html.includes(`value="${item}"`), item);
  assert.match(page.html, /<button type="submit">Approve<\/button>/);
  assert.match(page.html, /<button type="submit">Deny<\/button>/);

  const action = new RegExp(`action="([^"]*/${decision})"`).exec(page.html)[1];
  const form = decision === "approve"
    ? [["items_form", "1"], ...items.map((item) => ["item", item])]
    : [];
  const { callback } = await browse(jar, new URL(action, page.url).href, { method: "POST", form });
  assert.ok(callback, "the flow ends at the callback");
  assert.equal(callback.searchParams.get("state"), request.state);
  assert.equal(callback.searchParams.get("iss"), ctx.issuer, "RFC 9207 iss");
  return { callback, verifier, request };
}

async function exchange(ctx, { callback, verifier }) {
  return oauthPost(ctx, ctx.as.token_endpoint, {
    grant_type: "authorization_code",
    code: callback.searchParams.get("code"),
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

async function setup(peer, client, { metadata, dpop }) {
  const ctx = { issuer: peer.issuer, client, key: dpop ? await dpopKey() : undefined };
  ctx.as = await discover(peer.issuer, metadata);
  return ctx;
}

// ---------------------------------------------------------------------------
// The whole flow, for every combination that matters.

const MATRIX = [
  { metadata: "openid", par: "off", auth: "private_key_jwt", alg: "PS256", dpop: true, bound: true },
  { metadata: "oauth", par: "on", usePar: true, auth: "client_secret_basic", dpop: true, bound: true },
  { metadata: "oauth", par: "on", usePar: false, auth: "client_secret_basic", dpop: true },
  { metadata: "openid", par: "required", usePar: true, auth: "private_key_jwt", alg: "ES256", dpop: true, bound: true, dpopNonce: true },
  { metadata: "oauth", par: "required", usePar: true, auth: "private_key_jwt", alg: "PS256", dpop: false, idTokenAlg: "RS256", accessTokenTtl: 120 },
];

for (const row of MATRIX) {
  const usePar = row.usePar ?? row.par !== "off";
  const name = `${row.metadata} metadata, PAR ${row.par}${usePar ? " (used)" : " (not used)"}, `
    + `${row.auth}${row.alg && row.auth === "private_key_jwt" ? ` ${row.alg}` : ""}, `
    + `${row.dpop ? `DPoP${row.bound ? " required" : ""}${row.dpopNonce ? " with nonces" : ""}` : "Bearer"}`
    + `${row.idTokenAlg ? `, ID token ${row.idTokenAlg}` : ""}`;

  test(name, async () => {
    const client = await makeClient({ id: `client-${row.auth}`, auth: row.auth, alg: row.alg, bound: row.bound });
    const peer = await startPeer({
      metadata: row.metadata,
      par: row.par,
      dpop: row.dpop,
      dpopNonce: row.dpopNonce,
      idTokenAlg: row.idTokenAlg,
      accessTokenTtl: row.accessTokenTtl,
      clients: [client.metadata],
    });
    try {
      const ctx = await setup(peer, client, row);
      const { as } = ctx;
      assert.equal(as.authorization_response_iss_parameter_supported, true);
      assert.deepEqual(as.authorization_details_types_supported, ["mynaportal_consent"]);
      assert.deepEqual(as.code_challenge_methods_supported, ["S256"]);
      assert.deepEqual(as.response_types_supported, ["code"]);
      assert.equal(as.retrieval_endpoint, `${peer.issuer}/retrievals`);
      assert.ok(as.revocation_endpoint && as.introspection_endpoint);
      assert.equal(as.dpop_signing_alg_values_supported !== undefined, row.dpop);
      if (row.par === "off") {
        assert.equal(as.pushed_authorization_request_endpoint, undefined);
        const refused = await fetch(`${peer.issuer}/request`, { method: "POST" });
        assert.equal(refused.status, 404);
        await refused.arrayBuffer();
      } else {
        assert.equal(as.pushed_authorization_request_endpoint, `${peer.issuer}/request`);
        assert.equal(as.require_pushed_authorization_requests, row.par === "required" ? true : undefined);
      }
      if (row.par === "required") {
        // A front-channel request without PAR is refused (with iss, to the callback).
        const url = new URL(as.authorization_endpoint);
        url.search = new URLSearchParams({
          response_type: "code", client_id: client.metadata.client_id, redirect_uri: REDIRECT_URI,
          scope: "openid", state: "s", code_challenge: sha256(random()), code_challenge_method: "S256",
        });
        const { callback } = await browse(new CookieJar(), url.href);
        assert.equal(callback.searchParams.get("error"), "invalid_request");
        assert.equal(callback.searchParams.get("iss"), peer.issuer);
      }

      // Authorization and code exchange.
      const authorization = await authorize(ctx, { usePar });
      const tokens = await exchange(ctx, authorization);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(tokens.body.token_type, row.dpop ? "DPoP" : "Bearer");
      assert.deepEqual(tokens.body.authorization_details, [ENTRY]);
      assert.equal(tokens.body.scope, "openid offline_access");
      assert.equal(tokens.body.expires_in, row.accessTokenTtl ?? 600);
      assert.ok(tokens.body.refresh_token);
      const { payload: idToken, protectedHeader } = await jwtVerify(
        tokens.body.id_token,
        createRemoteJWKSet(new URL(as.jwks_uri)),
        { issuer: peer.issuer, audience: client.metadata.client_id },
      );
      assert.equal(protectedHeader.alg, row.idTokenAlg ?? "ES256");
      assert.equal(idToken.nonce, authorization.request.nonce);
      assert.equal(idToken.sub, ACCOUNT_ID);

      // The retrieval resource.
      const at = tokens.body.access_token;
      const started = await resource(ctx, "POST", as.retrieval_endpoint, at, { items: ["insurance.drugs", "ehr.lab.hba1c"] });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal(started.body.status, "waiting");
      const polled = await resource(ctx, "GET", `${as.retrieval_endpoint}/${started.body.id}`, at);
      assert.equal(polled.status, 200, JSON.stringify(polled.body));
      assert.equal(polled.body.status, "done");
      assert.deepEqual(polled.body.records.map((r) => r.item), ["insurance.drugs", "ehr.lab.hba1c"]);
      const [drugs, lab] = polled.body.records;
      assert.ok(drugs.records.length >= 1);
      for (const record of drugs.records) {
        assert.deepEqual(Object.keys(record).sort(), ["dispensedOn", "dose", "name", "pharmacy", "quantity"]);
      }
      assert.deepEqual(Object.keys(lab.records[0]).sort(), ["institution", "referenceRange", "testedOn", "unit", "value"]);
      const all = await resource(ctx, "POST", as.retrieval_endpoint, at);
      assert.equal(all.status, 202);
      const allPolled = await resource(ctx, "GET", `${as.retrieval_endpoint}/${all.body.id}`, at);
      assert.deepEqual(allPolled.body.records.map((r) => r.item), ITEMS);
      const stray = await resource(ctx, "POST", as.retrieval_endpoint, at, { items: ["self.pension"] });
      assert.equal(stray.status, 403);
      assert.match(stray.headers.get("www-authenticate"), /error="insufficient_scope"/);
      const anonymous = await fetch(as.retrieval_endpoint, { method: "POST" });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get("www-authenticate"), /^Bearer realm=/);
      await anonymous.arrayBuffer();
      if (row.dpop) {
        const asBearer = await resource(ctx, "POST", as.retrieval_endpoint, at, undefined, { scheme: "Bearer" });
        assert.equal(asBearer.status, 401);
        assert.match(asBearer.headers.get("www-authenticate"), /^DPoP error="invalid_token"/);
        // A proof made for another URL.
        const wrong = await fetch(as.retrieval_endpoint, {
          method: "POST",
          headers: {
            authorization: `DPoP ${at}`,
            dpop: await dpopProof(ctx.key, "POST", `${peer.issuer}/elsewhere`, {
              accessToken: at, nonce: ctx.key.nonces.get(`resource:${peer.issuer}`),
            }),
          },
        });
        assert.equal(wrong.status, 401);
        assert.match(wrong.headers.get("www-authenticate"), /error="invalid_dpop_proof"/);
        await wrong.arrayBuffer();
      }

      // Refresh: rotated, details kept.
      const oldRefresh = tokens.body.refresh_token;
      const refreshed = await oauthPost(ctx, as.token_endpoint, { grant_type: "refresh_token", refresh_token: oldRefresh });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.ok(refreshed.body.refresh_token);
      assert.notEqual(refreshed.body.refresh_token, oldRefresh);
      assert.deepEqual(refreshed.body.authorization_details, [ENTRY]);
      assert.equal(refreshed.body.scope, "openid offline_access");
      assert.equal(refreshed.body.token_type, row.dpop ? "DPoP" : "Bearer");
      const { payload: refreshedId } = await jwtVerify(
        refreshed.body.id_token, createRemoteJWKSet(new URL(as.jwks_uri)),
        { issuer: peer.issuer, audience: client.metadata.client_id },
      );
      assert.equal(refreshedId.nonce, authorization.request.nonce, "the refresh ID token repeats the nonce");
      const newAt = refreshed.body.access_token;
      const afterRefresh = await resource(ctx, "POST", as.retrieval_endpoint, newAt);
      assert.equal(afterRefresh.status, 202);
      assert.equal((await peer.introspect(oldRefresh)).active, false, "the rotated refresh token is spent");
      const live = await peer.introspect(refreshed.body.refresh_token);
      assert.equal(live.active, true);
      assert.deepEqual(live.authorization_details, [ENTRY]);
      const liveAt = await peer.introspect(newAt);
      assert.equal(liveAt.active, true);
      assert.equal(liveAt.sub, ACCOUNT_ID);
      assert.equal(liveAt.client_id, client.metadata.client_id);
      if (row.dpop) assert.equal(liveAt.cnf.jkt, ctx.key.jkt);

      // Revocation of the refresh token ends everything of the grant.
      const revoked = await oauthPost(ctx, as.revocation_endpoint, {
        token: refreshed.body.refresh_token, token_type_hint: "refresh_token",
      });
      assert.equal(revoked.status, 200);
      const issued = peer.tokens();
      assert.deepEqual(issued.map((t) => t.kind).sort(), ["AccessToken", "AccessToken", "RefreshToken", "RefreshToken"]);
      for (const token of issued) {
        assert.equal(token.grantId, issued[0].grantId);
        if (row.dpop && token.kind === "AccessToken") assert.equal(token.jkt, ctx.key.jkt);
        assert.equal((await peer.introspect(token.value)).active, false, `${token.kind} after revocation`);
      }
      assert.deepEqual(peer.grants(), []);
      const dead = await resource(ctx, "POST", as.retrieval_endpoint, newAt);
      assert.equal(dead.status, 401);
      assert.match(dead.headers.get("www-authenticate"), /error="invalid_token"/);
      for (const refreshToken of [oldRefresh, refreshed.body.refresh_token]) {
        const refused = await oauthPost(ctx, as.token_endpoint, { grant_type: "refresh_token", refresh_token: refreshToken });
        assert.equal(refused.status, 400);
        assert.equal(refused.body.error, "invalid_grant");
      }

      // What the peer saw of the client.
      const log = peer.requests();
      const tokenCalls = log.filter((e) => e.endpoint === "token");
      assert.ok(tokenCalls.length >= 4);
      for (const call of tokenCalls) {
        assert.equal(call.client_auth, row.auth);
        assert.equal(call.dpop, row.dpop);
        if (row.auth === "private_key_jwt") assert.equal(call.assertion.aud, peer.issuer);
      }
      assert.deepEqual(
        [...new Set(tokenCalls.filter((e) => e.status === 200).map((e) => e.grant_type))],
        ["authorization_code", "refresh_token"],
      );
      const parCalls = log.filter((e) => e.endpoint === "par" && e.status === 201);
      assert.equal(parCalls.length, usePar ? 1 : 0);
      if (usePar) assert.equal(parCalls[0].nonce, true);
      if (row.dpopNonce) {
        assert.equal(log.find((e) => e.dpop).error, "use_dpop_nonce", "the first DPoP call is asked for a nonce");
        assert.ok(log.some((e) => e.path === "/retrievals" && e.error === "use_dpop_nonce"), "so is the first retrieval");
        assert.ok(tokenCalls.filter((e) => e.status === 200).every((e) => e.dpop_proof.nonce));
      }
      assert.ok(log.some((e) => e.method === "GET" && e.path.startsWith("/interaction/")));
    } finally {
      await peer.stop();
    }
  });
}

// ---------------------------------------------------------------------------
// Single behaviours, on one shared peer.

describe("behaviours", () => {
  let peer;
  let client;
  let ctx;

  before(async () => {
    client = await makeClient({ id: "client-shared", auth: "client_secret_basic", bound: true });
    peer = await startPeer({ metadata: "oauth", par: "on", dpop: true, clients: [client.metadata], retrievalPolls: 1 });
    ctx = await setup(peer, client, { metadata: "oauth", dpop: true });
  });

  after(() => peer?.stop());

  test("Deny ends at the callback with access_denied and iss", async () => {
    const { callback } = await authorize(ctx, { usePar: true, decision: "deny" });
    assert.equal(callback.searchParams.get("error"), "access_denied");
    assert.equal(callback.searchParams.get("code"), null);
  });

  test("a second authorization in the same browser session shows the page again", async () => {
    const jar = new CookieJar();
    const first = await exchange(ctx, await authorize(ctx, { usePar: true, jar }));
    const second = await exchange(ctx, await authorize(ctx, { usePar: false, jar, items: ["insurance.drugs"] }));
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.deepEqual(second.body.authorization_details, [{ ...ENTRY, items: ["insurance.drugs"] }]);
    const [a, b] = [first, second].map((t) => peer.tokens().find((x) => x.value === t.body.access_token).grantId);
    assert.notEqual(a, b, "every approval makes its own grant");
    assert.equal((await peer.introspect(first.body.access_token)).active, true, "the first grant lives on");
  });

  test("unticked items are not granted", async () => {
    const authorization = await authorize(ctx, { usePar: true, items: ["insurance.checkups"] });
    const tokens = await exchange(ctx, authorization);
    assert.equal(tokens.status, 200);
    assert.deepEqual(tokens.body.authorization_details, [{ ...ENTRY, items: ["insurance.checkups"] }]);
    const started = await resource(ctx, "POST", ctx.as.retrieval_endpoint, tokens.body.access_token);
    const url = `${ctx.as.retrieval_endpoint}/${started.body.id}`;
    const first = await resource(ctx, "GET", url, tokens.body.access_token);
    assert.equal(first.body.status, "waiting", "retrievalPolls: 1");
    const second = await resource(ctx, "GET", url, tokens.body.access_token);
    assert.equal(second.body.status, "done");
    assert.deepEqual(second.body.records.map((r) => r.item), ["insurance.checkups"]);
    assert.deepEqual(Object.keys(second.body.records[0].records[0]).sort(),
      ["bmi", "checkedOn", "diastolicBp", "hba1c", "heightCm", "systolicBp", "weightKg"]);
  });

  test("replaying a rotated refresh token ends the grant", async () => {
    const tokens = await exchange(ctx, await authorize(ctx, { usePar: true }));
    const first = tokens.body.refresh_token;
    const second = (await oauthPost(ctx, ctx.as.token_endpoint, { grant_type: "refresh_token", refresh_token: first })).body;
    const replay = await oauthPost(ctx, ctx.as.token_endpoint, { grant_type: "refresh_token", refresh_token: first });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, "invalid_grant");
    assert.equal((await peer.introspect(second.refresh_token)).active, false);
    assert.equal((await peer.introspect(second.access_token)).active, false);
  });

  test("without prompt=consent offline_access is dropped, a refresh token is still issued", async () => {
    const tokens = await exchange(ctx, await authorize(ctx, { usePar: true, prompt: null }));
    assert.equal(tokens.status, 200);
    assert.equal(tokens.body.scope, "openid");
    assert.ok(tokens.body.refresh_token);
    const refreshed = await oauthPost(ctx, ctx.as.token_endpoint, {
      grant_type: "refresh_token", refresh_token: tokens.body.refresh_token,
    });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.scope, "openid");
    assert.deepEqual(refreshed.body.authorization_details, [ENTRY]);
  });

  test("replaying a code is refused and revokes what the code gave", async () => {
    const authorization = await authorize(ctx, { usePar: true });
    const tokens = await exchange(ctx, authorization);
    assert.equal(tokens.status, 200);
    const again = await exchange(ctx, authorization);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_grant");
    assert.equal((await peer.introspect(tokens.body.access_token)).active, false);
    assert.equal((await peer.introspect(tokens.body.refresh_token)).active, false);
  });

  test("revoking an access token ends the grant", async () => {
    const tokens = await exchange(ctx, await authorize(ctx, { usePar: false }));
    const revoked = await oauthPost(ctx, ctx.as.revocation_endpoint, { token: tokens.body.access_token });
    assert.equal(revoked.status, 200);
    assert.equal((await peer.introspect(tokens.body.refresh_token)).active, false);
  });

  test("a token request may narrow the details; widening is refused", async () => {
    const authorization = await authorize(ctx, { usePar: true });
    const narrowed = await oauthPost(ctx, ctx.as.token_endpoint, {
      grant_type: "authorization_code",
      code: authorization.callback.searchParams.get("code"),
      redirect_uri: REDIRECT_URI,
      code_verifier: authorization.verifier,
      authorization_details: JSON.stringify([{ ...ENTRY, items: ["insurance.drugs"] }]),
    });
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
    assert.deepEqual(narrowed.body.authorization_details, [{ ...ENTRY, items: ["insurance.drugs"] }]);
    const widened = await oauthPost(ctx, ctx.as.token_endpoint, {
      grant_type: "refresh_token",
      refresh_token: narrowed.body.refresh_token,
      authorization_details: JSON.stringify([{ ...ENTRY, items: ["self.pension"] }]),
    });
    assert.equal(widened.status, 400);
    assert.equal(widened.body.error, "invalid_authorization_details");
  });

  test("bad requests: empty items, no PKCE, unknown type", async () => {
    const base = {
      response_type: "code", client_id: client.metadata.client_id, redirect_uri: REDIRECT_URI, scope: "openid",
      code_challenge: sha256(random()), code_challenge_method: "S256",
    };
    const empty = await oauthPost(ctx, ctx.as.pushed_authorization_request_endpoint, {
      ...base, authorization_details: JSON.stringify([{ ...ENTRY, items: [] }]),
    });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error, "invalid_authorization_details");
    const unknown = await oauthPost(ctx, ctx.as.pushed_authorization_request_endpoint, {
      ...base, authorization_details: JSON.stringify([{ type: "other" }]),
    });
    assert.equal(unknown.body.error, "invalid_authorization_details");
    const { code_challenge: _, code_challenge_method: __, ...noPkce } = base;
    const pkce = await oauthPost(ctx, ctx.as.pushed_authorization_request_endpoint, noPkce);
    assert.equal(pkce.status, 400);
    assert.equal(pkce.body.error, "invalid_request");
    assert.match(pkce.body.error_description, /PKCE/);
  });

  test("the ID token is ES256 and the JWKS has one key", async () => {
    const jwks = await (await fetch(`${peer.issuer}/jwks`)).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].alg, "ES256");
    assert.equal(jwks.keys[0].d, undefined);
    const tokens = await exchange(ctx, await authorize(ctx, { usePar: true }));
    assert.equal(decodeProtectedHeader(tokens.body.id_token).kid, jwks.keys[0].kid);
  });
});

test("retrieval: false serves no retrieval resource", async () => {
  const peer = await startPeer({ retrieval: false });
  try {
    const doc = await discover(peer.issuer, "openid");
    assert.equal(doc.retrieval_endpoint, undefined);
    const response = await fetch(`${peer.issuer}/retrievals`, { method: "POST" });
    assert.equal(response.status, 404);
    await response.arrayBuffer();
  } finally {
    await peer.stop();
  }
});
