// The reference operator backend against a certified OAuth 2.0 / OpenID
// Connect server it did not grow up with: node `oidc-provider` (the peer in
// tests/interop/peer.mjs), in Debian's Chromium. The PHR site's backend is
// changed only by configuration: the peer's issuer, private_key_jwt (PS256),
// scope `openid`, its DPoP key. Discovery through either metadata document,
// PAR off, offered and required, PKCE S256, `iss`, the ID token and its
// nonce, refresh rotation, DPoP, revocation (then every token of the grant
// is dead at the peer), and a denial at the peer.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { freePort, newPage, signIn, start } from "./harness.mjs";
import { startPeer } from "../interop/peer.mjs";

const AGREE = "同意してマイナポータルへ進む";
const CLIENT_ID = "demo-phr";

/** The operator's PS256 client key: the private half for the backend's
 * configuration, the public JWK for the peer's client registration. */
function clientKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "op-rsa-1", alg: "PS256", use: "sig" };
  return { pem: privateKey.export({ format: "pem", type: "pkcs8" }), jwk };
}

/** The peer and the sandbox, the PHR backend pointed at the peer. */
async function startPair({ metadata, par, dpopNonce = false }) {
  const operatorPort = await freePort();
  const key = clientKey();
  const peer = await startPeer({
    metadata,
    par,
    dpop: true,
    dpopNonce,
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "PS256",
      jwks: { keys: [key.jwk] },
      redirect_uris: [`http://127.0.0.1:${operatorPort}/phr/callback.html`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      dpop_bound_access_tokens: true,
    }],
  });
  const env = await start({
    operatorPort,
    configure(config) {
      const phr = config.operators.find((o) => o.clientId === CLIENT_ID);
      phr.issuer = peer.issuer;
      delete phr.clientSecret;
      phr.clientAuth = { method: "private_key_jwt", algorithm: "PS256", keyId: "op-rsa-1", privateKeyPem: key.pem };
      phr.scopes = ["openid"];
      // oidc-provider keeps no reuse grace window: a refresh is never replayed.
      phr.refreshReuseGraceSeconds = 0;
      assert.ok(phr.dpop, "the sandbox's PHR backend has a DPoP key");
    },
  });
  return { peer, env, async stop() { await env.stop(); await peer.stop(); } };
}

/** Consent screen → agree → the peer's page → Approve or Deny → back. */
async function throughPeer(page, env, { approve = true } = {}) {
  await page.goto(`${env.site}/phr/`);
  await page.locator(".member-bar").waitFor();
  if ((await page.getByRole("link", { name: "ログインする" }).count()) > 0) await signIn(page, env);
  await page.getByRole("button", { name: AGREE }).click();
  await page.getByRole("heading", { name: "Peer authorization" }).waitFor();
  await page.getByRole("button", { name: approve ? "Approve" : "Deny" }).click();
  await page.waitForURL(/\/phr\/callback\.html/);
}

const tokenCalls = (peer, grantType) =>
  peer.requests().filter((r) => r.endpoint === "token" && r.grant_type === grantType);

describe("against oidc-provider: openid-configuration, PAR required", () => {
  let pair;
  after(async () => { await pair?.stop(); });

  test("grant, retrieval with refresh rotation, review, revocation that kills every token", async () => {
    pair = await startPair({ metadata: "openid", par: "required" });
    const { peer, env } = pair;
    const page = await newPage(env);
    await throughPeer(page, env);
    await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    await page.getByText("情報の取得が完了しました。").waitFor({ timeout: 15_000 });

    // How the backend spoke to the peer.
    const log = peer.requests();
    const pushed = log.filter((r) => r.endpoint === "par");
    assert.equal(pushed.length, 1, "one pushed request");
    assert.equal(pushed[0].client_auth, "private_key_jwt");
    assert.equal(pushed[0].assertion.alg, "PS256");
    assert.equal(pushed[0].assertion.aud, peer.issuer, "aud is the issuer, as one string");
    assert.ok(pushed[0].nonce, "a nonce goes with openid");
    assert.ok(pushed[0].authorization_details, "RFC 9396 details are pushed");
    assert.ok(pushed[0].dpop, "the code is bound to the DPoP key at PAR");
    const [exchange] = tokenCalls(peer, "authorization_code");
    assert.ok(exchange?.dpop, "the code exchange carries a DPoP proof");
    assert.equal(tokenCalls(peer, "authorization_code").length, 1, "the code is presented once");
    const retrievals = log.filter((r) => r.path.startsWith("/retrievals"));
    assert.ok(retrievals.length >= 2, "the retrieval started and was polled");
    assert.ok(retrievals.every((r) => r.authorization_scheme === "DPoP" && r.dpop_proof?.ath), "DPoP with ath");
    const refreshes = () => tokenCalls(peer, "refresh_token");
    assert.equal(refreshes().length, 1, "the retrieval refreshed once");

    // Every access token the peer issued is bound to the backend's key.
    const tokens = peer.tokens();
    const access = tokens.filter((t) => t.kind === "AccessToken");
    assert.ok(access.length >= 2 && access.every((t) => t.jkt), "access tokens are DPoP-bound");

    // Review: the consent, then a second retrieval rotates the refresh token again.
    await page.getByRole("link", { name: "同意の確認へ進む" }).click();
    const card = page.getByRole("article", { name: "すこやか手帳株式会社" });
    await card.getByText("有効", { exact: false }).first().waitFor();
    await page.getByRole("button", { name: "いますぐ最新の情報を取得する" }).click();
    await page.getByText("取得が完了しました（", { exact: false }).waitFor({ timeout: 15_000 });
    assert.equal(refreshes().length, 2, "each retrieval rotates the refresh token");
    const refreshTokens = peer.tokens().filter((t) => t.kind === "RefreshToken").map((t) => t.value);
    assert.equal(new Set(refreshTokens).size, 3, "three distinct refresh tokens: rotated each time");

    // Withdrawal: the peer hears of it, and every token of the grant is dead.
    await card.getByRole("button", { name: "同意を撤回する" }).click();
    await page.getByRole("dialog", { name: "同意を撤回しますか" }).getByRole("button", { name: "撤回する" }).click();
    await page.getByRole("dialog", { name: "同意を撤回しました" }).waitFor();
    assert.equal(peer.requests().filter((r) => r.endpoint === "revocation").length, 1);
    const all = peer.tokens();
    assert.ok(all.length >= 6, `the peer issued the grant's tokens (${all.length})`);
    for (const token of all) {
      const answer = await peer.introspect(token.value);
      assert.equal(answer.active, false, `${token.kind} is dead after the withdrawal`);
    }
    assert.deepEqual(page.problems, []);
  });

  test("a denial at the peer comes back as access_denied, and nothing is recorded", async () => {
    const { peer, env } = pair;
    const page = await newPage(env);
    const consents = async () => {
      await page.goto(`${env.site}/phr/review.html`);
      await page.getByRole("heading", { name: "マイナポータル連携の同意の確認" }).waitFor();
      return page.getByRole("button", { name: "同意を撤回する" }).count();
    };
    const exchanged = tokenCalls(peer, "authorization_code").length;
    await page.goto(`${env.site}/phr/`);
    await page.locator(".member-bar").waitFor();
    if ((await page.getByRole("link", { name: "ログインする" }).count()) > 0) await signIn(page, env);
    const active = await consents();
    await throughPeer(page, env, { approve: false });
    await page.getByText("マイナポータルで「同意しない」が選ばれました。").waitFor();
    assert.equal(tokenCalls(peer, "authorization_code").length, exchanged, "no code was exchanged for the denial");
    assert.equal(await consents(), active, "no consent was recorded");
    page.problems = page.problems.filter((p) => !p.includes("access_denied"));
    assert.deepEqual(page.problems, []);
  });
});

for (const [metadata, par, dpopNonce] of [["oauth", "off", false], ["openid", "on", true]]) {
  describe(`against oidc-provider: ${metadata} metadata, PAR ${par}${dpopNonce ? ", DPoP nonces" : ""}`, () => {
    let pair;
    after(async () => { await pair?.stop(); });

    test("the grant and the first retrieval complete (PKCE, iss, ID token, DPoP)", async () => {
      pair = await startPair({ metadata, par, dpopNonce });
      const { peer, env } = pair;
      const page = await newPage(env);
      await throughPeer(page, env);
      await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
      await page.getByText("情報の取得が完了しました。").waitFor({ timeout: 15_000 });
      const log = peer.requests();
      const document = metadata === "oauth" ? "oauth-authorization-server" : "openid-configuration";
      assert.ok(log.some((r) => r.path === `/.well-known/${document}` && r.status === 200), `found through ${document}`);
      const pushed = log.filter((r) => r.endpoint === "par" && r.status < 400).length;
      assert.equal(pushed, par === "off" ? 0 : 1, par === "off" ? "plain query parameters" : "pushed when offered");
      if (par === "off") {
        const authorize = log.find((r) => r.path === "/auth");
        assert.equal(authorize.query.code_challenge_method, "S256");
        assert.ok(authorize.query.nonce, "the nonce travels with openid");
      }
      if (dpopNonce) {
        assert.ok(log.some((r) => r.error === "use_dpop_nonce"), "the peer asked for a nonce");
        const proofs = log.filter((r) => r.dpop_proof && r.status < 400);
        assert.ok(proofs.length > 0 && proofs.every((r) => r.dpop_proof.nonce), "accepted proofs carry the peer's nonce");
      }
      assert.equal(tokenCalls(peer, "authorization_code").filter((r) => r.status === 200).length, 1);
      assert.deepEqual(page.problems, []);
    });
  });
}
