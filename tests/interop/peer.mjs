// A standards peer for the operator backend: node `oidc-provider` 9.x
// (panva, OpenID Certified), run in-process on loopback, configured as a
// stand-in for the Mynaportal authorization server:
//
// - authorization code flow only, PKCE S256 required for every client,
//   `iss` in every authorization response (RFC 9207);
// - optional PAR (RFC 9126), optional DPoP (RFC 9449);
// - Rich Authorization Requests (RFC 9396) with the single type
//   `mynaportal_consent`, echoed in every token response (code exchange and
//   refresh);
// - refresh tokens for every client allowed the refresh_token grant, always
//   rotated; revocation (RFC 7009) as oidc-provider does it by default
//   (a refresh token ends the whole grant, an access token only itself);
//   introspection (RFC 7662);
// - its own interaction pages instead of devInteractions: one page, one
//   "Approve" button that signs `citizen-1` in and grants the ticked items in
//   the same step, one "Deny" button;
// - a retrieval resource on the same origin, standing in for the
//   Mynaportal data API (`POST /retrievals`, `GET /retrievals/{id}`), with
//   the record shapes of sandbox/authority/src/records.rs.
//
// The server listens on 127.0.0.1 only; the issuer is
// http://localhost:<port>, a different site from an operator at 127.0.0.1.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import Provider, { errors } from "oidc-provider";
import {
  EmbeddedJWK,
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from "jose";

/** The one authorization details type the peer understands. */
export const DETAILS_TYPE = "mynaportal_consent";
/** The account every approval signs in. */
export const ACCOUNT_ID = "citizen-1";
/** The DPoP proof algorithms oidc-provider 9.x accepts by default; the
 * retrieval resource accepts the same. */
export const DPOP_ALGS = ["ES256", "Ed25519", "EdDSA"];

const INTROSPECTOR_ID = "peer-introspector";
const INTERNAL_HEADER = "x-peer-internal";
const LOG = Symbol("peer request log entry");
/** How far a DPoP proof's iat may be from now at the retrieval resource. */
const PROOF_WINDOW_S = 60;
const NONCE_TTL_MS = 5 * 60 * 1000;
const BODY_LIMIT = 64 * 1024;

const OIDC_SCOPES = new Set(["openid", "offline_access"]);

// ---------------------------------------------------------------------------
// Storage: an in-memory adapter shared by every model of one peer.

function createState() {
  return {
    /** `${model}:${id}` → { model, id, payload, expiresAt } */
    store: new Map(),
    /** session uid → session id */
    sessionUids: new Map(),
    /** Every access and refresh token ever stored, in issue order. */
    issued: [],
    issuedKeys: new Set(),
    /** retrieval id → { id, grantId, clientId, items, polls, createdAt } */
    retrievals: new Map(),
    /** DPoP proof jti values seen at the retrieval resource. */
    proofJtis: new Map(),
    /** DPoP nonces the retrieval resource handed out → expiry (ms). */
    resourceNonces: new Map(),
    log: [],
  };
}

function adapterFor(state) {
  const clockTolerance = 15;
  return class PeerAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    live(id) {
      const entry = state.store.get(this.key(id));
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        state.store.delete(this.key(id));
        return undefined;
      }
      return entry;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const expiresAt = typeof expiresIn === "number"
        ? Date.now() + (expiresIn + clockTolerance) * 1000
        : undefined;
      state.store.set(key, { model: this.model, id, payload: structuredClone(payload), expiresAt });
      if (this.model === "Session" && payload.uid) {
        state.sessionUids.set(payload.uid, id);
      }
      if ((this.model === "AccessToken" || this.model === "RefreshToken") && !state.issuedKeys.has(key)) {
        state.issuedKeys.add(key);
        const token = { kind: this.model, value: id, grantId: payload.grantId, clientId: payload.clientId };
        if (payload.jkt) token.jkt = payload.jkt;
        state.issued.push(token);
      }
    }

    async find(id) {
      const entry = this.live(id);
      return entry ? structuredClone(entry.payload) : undefined;
    }

    async findByUid(uid) {
      const id = state.sessionUids.get(uid);
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id) {
      const entry = this.live(id);
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      const entry = state.store.get(this.key(id));
      if (entry?.payload.uid && state.sessionUids.get(entry.payload.uid) === id) {
        state.sessionUids.delete(entry.payload.uid);
      }
      state.store.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const [key, entry] of state.store) {
        if (entry.model === this.model && entry.payload.grantId === grantId) {
          state.store.delete(key);
        }
      }
    }
  };
}

// ---------------------------------------------------------------------------
// Authorization details.

function isConsentEntry(detail) {
  return detail?.type === DETAILS_TYPE
    && Array.isArray(detail.items)
    && detail.items.length > 0
    && detail.items.every((item) => typeof item === "string" && item.length > 0);
}

/** The items of every `mynaportal_consent` entry in `details`. */
export function grantedItems(details) {
  const items = [];
  for (const detail of details ?? []) {
    if (detail?.type !== DETAILS_TYPE || !Array.isArray(detail.items)) continue;
    for (const item of detail.items) {
      if (!items.includes(item)) items.push(item);
    }
  }
  return items;
}

function richAuthorizationRequests() {
  return {
    enabled: true,
    types: {
      [DETAILS_TYPE]: {
        validate(_ctx, detail) {
          if (!isConsentEntry(detail)) {
            throw new errors.InvalidAuthorizationDetails(
              `a ${DETAILS_TYPE} entry needs items: a non-empty array of item ids`,
            );
          }
        },
      },
    },
    // What a new authorization code carries: what the End-User granted.
    authorizationDetailsForGrantSource(ctx) {
      if (ctx.oidc.params.authorization_details === undefined) return undefined;
      const granted = (ctx.oidc.grant?.rar ?? []).filter((d) => d.type === DETAILS_TYPE);
      return granted.length ? structuredClone(granted) : undefined;
    },
    // What an access token (and so the token response) carries: the details
    // of the code or refresh token, narrowed to the token request's own
    // `authorization_details` when it has one (RFC 9396 §6.2).
    authorizationDetailsForAccessToken(ctx, _token, source) {
      const granted = source?.rar ?? [];
      const asked = ctx.oidc.params.authorization_details;
      if (asked === undefined) return granted.length ? structuredClone(granted) : undefined;
      let requested;
      try {
        requested = JSON.parse(asked);
      } catch {
        throw new errors.InvalidAuthorizationDetails("authorization_details is not JSON");
      }
      const allowed = new Set(grantedItems(granted));
      if (
        !Array.isArray(requested)
        || !requested.every((d) => isConsentEntry(d) && d.items.every((i) => allowed.has(i)))
      ) {
        throw new errors.InvalidAuthorizationDetails("authorization_details exceed the grant");
      }
      return requested.length ? requested : undefined;
    },
    authorizationDetailsForIntrospection(_ctx, token) {
      return token.rar;
    },
  };
}

// ---------------------------------------------------------------------------
// Synthetic records, the shape of sandbox/authority/src/records.rs.

const PHARMACIES = ["さくら薬局 サンドボックス店", "みどり調剤薬局（架空）", "ひかり薬局 テスト通り店"];
const INSTITUTIONS = ["サンドボックス内科クリニック", "テスト市立総合病院（架空）", "みなと診療所（架空）"];
const DRUGS = [
  ["アムロジピン錠5mg", "1日1回1錠", 1],
  ["メトホルミン塩酸塩錠250mg", "1日2回1錠", 2],
  ["ロスバスタチン錠2.5mg", "1日1回1錠", 1],
  ["ランソプラゾールOD錠15mg", "1日1回1錠", 1],
  ["カンデサルタン錠8mg", "1日1回1錠", 1],
  ["レバミピド錠100mg", "1日3回1錠", 3],
];
const LABS = [
  ["ehr.lab.hba1c", "%", 52, 72, 1, "4.9-6.0"],
  ["ehr.lab.glucose", "mg/dL", 85, 140, 0, "73-109"],
  ["ehr.lab.ldl_c", "mg/dL", 80, 170, 0, "65-163"],
  ["ehr.lab.hdl_c", "mg/dL", 38, 80, 0, "40-90"],
  ["ehr.lab.tg", "mg/dL", 60, 220, 0, "40-149"],
  ["ehr.lab.ast", "U/L", 15, 45, 0, "13-30"],
  ["ehr.lab.alt", "U/L", 10, 50, 0, "10-42"],
  ["ehr.lab.cre", "mg/dL", 60, 110, 2, "0.65-1.07"],
  ["ehr.lab.hb", "g/dL", 120, 165, 1, "13.7-16.8"],
  ["ehr.lab.wbc", "10^3/µL", 35, 90, 1, "3.3-8.6"],
  ["ehr.lab.crp", "mg/dL", 1, 30, 2, "0.00-0.14"],
];

class Seed {
  constructor(grantId, item) {
    this.bytes = createHash("sha256").update(grantId).update(Buffer.from([0])).update(item).digest();
    this.next = 0;
  }

  below(n) {
    const i = this.next % 31;
    this.next += 2;
    return this.bytes.readUInt16BE(i) % Math.max(n, 1);
  }

  range(lo, hi) {
    return lo + this.below(Math.max(hi - lo, 0) + 1);
  }

  pick(list) {
    return list[this.below(list.length)];
  }
}

const DAY_MS = 86_400_000;
const JST_MS = 9 * 3_600_000;
const dateText = (ms) => new Date(ms).toISOString().slice(0, 10);
const scaled = (value, decimals) => value / 10 ** decimals;

/** The records of `item` for a grant made at `grantedAt` (epoch seconds). */
export function records(grantId, grantedAtS, item) {
  const seed = new Seed(grantId, item);
  // Midnight of the JST calendar day of the grant, as a UTC timestamp.
  const today = Math.floor((grantedAtS * 1000 + JST_MS) / DAY_MS) * DAY_MS;
  const daysAgo = (lo, hi) => dateText(today - seed.range(lo, hi) * DAY_MS);
  const monthAgo = () => dateText(today - seed.range(30, 150) * DAY_MS).slice(0, 7);
  const year = new Date(today).getUTCFullYear();
  switch (item) {
    case "insurance.drugs": {
      const count = seed.range(1, 3);
      return Array.from({ length: count }, () => {
        const [name, dose, perDay] = seed.pick(DRUGS);
        return {
          name,
          dose,
          quantity: perDay * 28,
          dispensedOn: daysAgo(3, 60),
          pharmacy: seed.pick(PHARMACIES),
        };
      });
    }
    case "insurance.prescriptions":
      return [{
        prescribedOn: daysAgo(3, 60),
        institution: seed.pick(INSTITUTIONS),
        drugs: [seed.pick(DRUGS)[0], seed.pick(DRUGS)[0]],
        days: 28,
      }];
    case "insurance.dispensing":
      return [{
        dispensedOn: daysAgo(3, 60),
        pharmacy: seed.pick(PHARMACIES),
        points: seed.range(300, 1500),
        copayment: seed.range(90, 450) * 10,
      }];
    case "insurance.medical_costs":
      return [{
        month: monthAgo(),
        institution: seed.pick(INSTITUTIONS),
        kind: "外来",
        totalCost: seed.range(300, 2500) * 10,
        copayment: seed.range(90, 750) * 10,
      }];
    case "insurance.checkups": {
      const height = seed.range(1500, 1850);
      const weight = seed.range(450, 900);
      const bmi = weight / 10 / (height / 1000) ** 2;
      return [{
        checkedOn: daysAgo(30, 300),
        heightCm: scaled(height, 1),
        weightKg: scaled(weight, 1),
        bmi: Math.round(bmi * 10) / 10,
        systolicBp: seed.range(105, 150),
        diastolicBp: seed.range(60, 95),
        hba1c: scaled(seed.range(50, 68), 1),
      }];
    }
    case "insurance.treatment":
      return [{
        month: monthAgo(),
        institution: seed.pick(INSTITUTIONS),
        department: seed.pick(["内科", "整形外科", "眼科"]),
        days: seed.range(1, 4),
      }];
    case "self.tax_income":
      return [{
        year: year - 1,
        income: seed.range(250, 900) * 10_000,
        residentTax: seed.range(100, 600) * 1_000,
      }];
    case "self.pension":
      return [{
        year: year - 1,
        pensionType: "厚生年金（架空）",
        contributionMonths: seed.range(120, 480),
      }];
    default:
      if (item.startsWith("ehr.lab.")) {
        const lab = LABS.find(([id]) => id === item);
        const [unit, value, range] = lab
          ? [lab[1], scaled(seed.range(lab[2], lab[3]), lab[4]), lab[5]]
          : ["", scaled(seed.range(10, 100), 1), ""];
        return [{
          value,
          unit,
          testedOn: daysAgo(7, 120),
          referenceRange: range,
          institution: seed.pick(INSTITUTIONS),
        }];
      }
      // The Rust authority uses the catalogue's Japanese label here; the
      // peer has no catalogue and names the item by its id.
      return [{
        summary: `${item}（サンドボックスの架空データ）`,
        recordedOn: daysAgo(7, 200),
      }];
  }
}

// ---------------------------------------------------------------------------
// Small HTTP helpers.

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => ({
  "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
})[c]);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-frame-options": "DENY",
  });
  res.end(html);
}

const quoted = (value) => `"${String(value).replace(/["\\]/g, "")}"`;

function challenge(scheme, params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${quoted(v)}`);
  return parts.length ? `${scheme} ${parts.join(", ")}` : scheme;
}

/** Client authentication method a token-endpoint-like request used. */
function clientAuthOf(headers, body) {
  if (/^basic\s/i.test(headers.authorization ?? "")) return "client_secret_basic";
  if (body?.client_assertion_type === "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
    try {
      return decodeProtectedHeader(body.client_assertion).alg?.startsWith("HS")
        ? "client_secret_jwt"
        : "private_key_jwt";
    } catch {
      return "private_key_jwt";
    }
  }
  if (body?.client_secret !== undefined) return "client_secret_post";
  if (body?.client_assertion_type !== undefined) return body.client_assertion_type;
  return "none";
}

function dpopSummary(header) {
  if (!header) return undefined;
  try {
    const payload = decodeJwt(header);
    return { htm: payload.htm, htu: payload.htu, nonce: payload.nonce !== undefined, ath: payload.ath !== undefined };
  } catch {
    return { malformed: true };
  }
}

// ---------------------------------------------------------------------------
// The peer.

/**
 * Starts a peer. See the file's header and tests/interop/peer.test.mjs.
 *
 * @param {object} options
 * @param {"openid"|"oauth"} [options.metadata="openid"] which discovery document is served
 * @param {"off"|"on"|"required"} [options.par="on"] pushed authorization requests
 * @param {boolean} [options.dpop=true] the DPoP feature
 * @param {boolean} [options.dpopNonce=false] require DPoP nonces (token, PAR and retrieval endpoints)
 * @param {object[]} [options.clients=[]] oidc-provider client metadata, passed through
 * @param {number} [options.accessTokenTtl=600] access token lifetime (s)
 * @param {boolean} [options.retrieval=true] serve the retrieval resource
 * @param {number} [options.retrievalPolls=0] polls that answer `waiting` before `done`
 * @param {"ES256"|"RS256"} [options.idTokenAlg="ES256"] ID token signing algorithm
 * @param {number} [options.port] port on 127.0.0.1 (default: a free one)
 */
export async function startPeer(options = {}) {
  const {
    metadata = "openid",
    par = "on",
    dpop = true,
    dpopNonce = false,
    clients = [],
    accessTokenTtl = 600,
    retrieval = true,
    retrievalPolls = 0,
    idTokenAlg = "ES256",
    port = 0,
  } = options;
  if (!["openid", "oauth"].includes(metadata)) throw new TypeError(`metadata: ${metadata}`);
  if (!["off", "on", "required"].includes(par)) throw new TypeError(`par: ${par}`);
  if (!["ES256", "RS256"].includes(idTokenAlg)) throw new TypeError(`idTokenAlg: ${idTokenAlg}`);
  if (dpopNonce && !dpop) throw new TypeError("dpopNonce needs dpop");
  if (!Array.isArray(clients)) throw new TypeError("clients must be an array");

  const state = createState();
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const issuer = `http://localhost:${server.address().port}`;
  const retrievalEndpoint = `${issuer}/retrievals`;

  const { privateKey } = await generateKeyPair(idTokenAlg, { extractable: true });
  const signingJwk = { ...await exportJWK(privateKey), alg: idTokenAlg, use: "sig" };
  signingJwk.kid = await calculateJwkThumbprint(signingJwk);

  const introspectorSecret = randomBytes(32).toString("base64url");
  const introspector = {
    client_id: INTROSPECTOR_ID,
    client_secret: introspectorSecret,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
  };

  const ttl = {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 60,
    BackchannelAuthenticationRequest: 600,
    ClientCredentials: 600,
    DeviceCode: 600,
    Grant: 14 * 24 * 3600,
    IdToken: 3600,
    Interaction: 3600,
    PreAuthorizedCode: 600,
    RefreshToken: 14 * 24 * 3600,
    Session: 24 * 3600,
  };

  const provider = new Provider(issuer, {
    adapter: adapterFor(state),
    clients: [...clients.map((c) => structuredClone(c)), introspector],
    clientDefaults: {
      grant_types: ["authorization_code"],
      id_token_signed_response_alg: idTokenAlg,
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      // oidc-provider allows a client no authorization details type unless
      // its metadata names it.
      authorization_details_types: [DETAILS_TYPE],
    },
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: { openid: ["sub"] },
    scopes: ["openid", "offline_access"],
    responseTypes: ["code"],
    pkce: { required: () => true },
    async findAccount(_ctx, sub) {
      if (sub !== ACCOUNT_ID) return undefined;
      return { accountId: sub, async claims() { return { sub }; } };
    },
    // Every client allowed the refresh_token grant gets one, offline_access
    // or not; every refresh rotates it.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    // revokeGrantPolicy is oidc-provider's default: revoking a refresh token
    // ends the grant and every token of it, revoking an access token ends
    // only that token. A client must cope with the default.
    // Tokens do not depend on the browser session at the peer.
    expiresWithSession: async () => false,
    clientBasedCORS: () => false,
    ttl,
    discovery: retrieval ? { retrieval_endpoint: retrievalEndpoint } : {},
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Peer error</title></head>`
        + `<body><h1>Peer error</h1>${Object.entries(out)
          .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: <span id="${escapeHtml(k)}">${escapeHtml(v)}</span></p>`)
          .join("")}</body></html>`;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      dPoP: dpop
        ? {
          enabled: true,
          ...(dpopNonce
            ? { nonceSecret: randomBytes(32), requireNonce: () => true }
            : {}),
        }
        : { enabled: false },
      pushedAuthorizationRequests: par === "off"
        ? { enabled: false }
        : { enabled: true, requirePushedAuthorizationRequests: par === "required" },
      revocation: {
        enabled: true,
        allowedPolicy(_ctx, client, token) {
          if (token.clientId !== client.clientId) {
            throw new errors.InvalidRequest("client is not authorized to revoke the presented token");
          }
          return true;
        },
      },
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) =>
          client.clientId === INTROSPECTOR_ID || client.clientId === token.clientId,
      },
      // oidc-provider only does RAR for an access token with a resource
      // indicator: the retrieval endpoint is the default (and only)
      // resource, every access token's audience. Its scopes are the OIDC
      // ones, so that the token response's scope repeats what was granted.
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => retrievalEndpoint,
        useGrantedResource: async () => true,
        getResourceServerInfo(_ctx, resource) {
          if (resource !== retrievalEndpoint) throw new errors.InvalidTarget();
          return {
            scope: [...OIDC_SCOPES].join(" "),
            audience: retrievalEndpoint,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: "opaque",
          };
        },
      },
      richAuthorizationRequests: richAuthorizationRequests(),
    },
  });

  // Adds what the request log cannot see from outside: the form of
  // token-endpoint-like requests, once oidc-provider parsed it.
  const routes = {
    "/token": "token",
    "/request": "par",
    "/token/revocation": "revocation",
    "/token/introspection": "introspection",
  };
  provider.use(async (ctx, next) => {
    await next();
    const entry = ctx.req[LOG];
    const endpoint = routes[ctx.path];
    if (!entry || !endpoint || ctx.method !== "POST") return;
    let body;
    try {
      body = ctx.oidc?.body;
    } catch {
      body = undefined;
    }
    entry.endpoint = endpoint;
    entry.params = body ? Object.keys(body).sort() : [];
    entry.grant_type = body?.grant_type;
    entry.nonce = body?.nonce !== undefined;
    entry.authorization_details = body?.authorization_details !== undefined;
    entry.client_auth = clientAuthOf(ctx.headers, body);
    if (body?.client_assertion) {
      try {
        const { iss, sub, aud } = decodeJwt(body.client_assertion);
        entry.assertion = { alg: decodeProtectedHeader(body.client_assertion).alg, iss, sub, aud };
      } catch {
        entry.assertion = { malformed: true };
      }
    }
    if (typeof ctx.body === "object" && ctx.body?.error) entry.error = ctx.body.error;
  });
  provider.on("server_error", (_ctx, error) => {
    console.error("peer server_error", error);
  });

  const providerCallback = provider.callback();

  // -- Interaction pages --------------------------------------------------

  async function interactionPage(req, res, uid) {
    let interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch (error) {
      return sendHtml(res, 400, errorPage(error.error_description ?? error.message));
    }
    if (interaction.uid !== uid) return sendHtml(res, 400, errorPage("interaction mismatch"));
    const { params } = interaction;
    const details = parseDetails(params.authorization_details);
    const items = grantedItems(details);
    const scopes = (params.scope ?? "").split(" ").filter(Boolean);
    const action = (what) => `/interaction/${encodeURIComponent(uid)}/${what}`;
    sendHtml(res, 200, `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Peer authorization</title>
<style>body{font-family:sans-serif;margin:2rem}form{display:inline-block;margin-right:1rem}pre{white-space:pre-wrap}</style>
</head>
<body>
<main>
<h1>Peer authorization</h1>
<dl>
<dt>Client</dt><dd id="client-id">${escapeHtml(params.client_id)}</dd>
<dt>Scopes</dt><dd id="scopes">${escapeHtml(scopes.join(" "))}</dd>
<dt>Account</dt><dd id="account">${escapeHtml(ACCOUNT_ID)}</dd>
</dl>
<form method="post" action="${escapeHtml(action("approve"))}">
<fieldset><legend>Items</legend>
<ul id="items">
${items.map((item) => `<li><label><input type="checkbox" name="item" value="${escapeHtml(item)}" checked> ${escapeHtml(item)}</label></li>`).join("\n")}
</ul>
</fieldset>
<input type="hidden" name="items_form" value="1">
<button type="submit">Approve</button>
</form>
<form method="post" action="${escapeHtml(action("deny"))}">
<button type="submit">Deny</button>
</form>
<h2>authorization_details</h2>
<pre id="authorization-details">${escapeHtml(details ? JSON.stringify(details, null, 2) : "(none)")}</pre>
</main>
</body>
</html>`);
  }

  async function interactionDecision(req, res, uid, decision) {
    const form = new URLSearchParams((await readBody(req)).toString("utf8"));
    let interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch (error) {
      return sendHtml(res, 400, errorPage(error.error_description ?? error.message));
    }
    if (interaction.uid !== uid) return sendHtml(res, 400, errorPage("interaction mismatch"));
    const { params } = interaction;
    const deny = (description) => provider.interactionFinished(req, res, {
      error: "access_denied",
      error_description: description,
    }, { mergeWithLastSubmission: false });
    if (decision === "deny") return deny("the End-User denied the request");

    const details = parseDetails(params.authorization_details);
    let granted = details;
    if (details && form.has("items_form")) {
      // The page's checkboxes narrow the items; none left is a denial.
      const kept = new Set(form.getAll("item"));
      granted = details
        .map((d) => (d.type === DETAILS_TYPE ? { ...d, items: d.items.filter((i) => kept.has(i)) } : d))
        .filter((d) => d.type !== DETAILS_TYPE || d.items.length > 0);
      if (!granted.some((d) => d.type === DETAILS_TYPE)) return deny("the End-User granted no item");
    }
    const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: params.client_id });
    const scopes = (params.scope ?? "").split(" ").filter((s) => OIDC_SCOPES.has(s));
    if (scopes.length) {
      grant.addOIDCScope(scopes.join(" "));
      grant.addResourceScope(retrievalEndpoint, scopes.join(" "));
    }
    for (const detail of granted ?? []) grant.addRar(detail);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, {
      login: { accountId: ACCOUNT_ID },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  // -- Retrieval resource -------------------------------------------------

  const dpopAlgs = `${DPOP_ALGS.join(" ")}`;

  /** Fails with { status, scheme, error, description, headers }. */
  function refuse(status, scheme, error, description, headers = {}) {
    return Object.assign(new Error(description), { refusal: { status, scheme, error, description, headers } });
  }

  function sendRefusal(res, { status, scheme, error, description, headers }) {
    if (res.req?.[LOG]) res.req[LOG].error = error ?? "no_credentials";
    const challenges = [];
    const params = { error, error_description: description };
    if (scheme === "DPoP") {
      challenges.push(challenge("DPoP", { ...params, algs: dpopAlgs }));
    } else if (scheme === "Bearer") {
      challenges.push(challenge("Bearer", { realm: issuer, ...params }));
    } else {
      // No credentials: offer every scheme the resource understands.
      challenges.push(challenge("Bearer", { realm: issuer }));
      if (dpop) challenges.push(challenge("DPoP", { algs: dpopAlgs }));
    }
    const body = error ? { error, error_description: description } : { error_description: description };
    sendJson(res, status, body, { "www-authenticate": challenges, ...headers });
  }

  function newResourceNonce() {
    const now = Date.now();
    for (const [nonce, expires] of state.resourceNonces) if (expires <= now) state.resourceNonces.delete(nonce);
    const nonce = randomBytes(16).toString("base64url");
    state.resourceNonces.set(nonce, now + NONCE_TTL_MS);
    return nonce;
  }

  async function verifyProof(proof, method, accessToken) {
    const invalid = (description) => refuse(401, "DPoP", "invalid_dpop_proof", description);
    if (!proof) throw invalid("a DPoP proof is required");
    if (proof.includes(",")) throw invalid("exactly one DPoP proof is allowed");
    let payload;
    let protectedHeader;
    try {
      ({ payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: DPOP_ALGS }));
    } catch (error) {
      throw invalid(`the DPoP proof is invalid (${error.code ?? error.message})`);
    }
    if (protectedHeader.jwk?.d !== undefined) throw invalid("the DPoP proof key must be public");
    if (typeof payload.jti !== "string" || !payload.jti) throw invalid("the DPoP proof needs a jti");
    if (typeof payload.iat !== "number") throw invalid("the DPoP proof needs an iat");
    if (Math.abs(Date.now() / 1000 - payload.iat) > PROOF_WINDOW_S) throw invalid("the DPoP proof iat is not recent");
    if (payload.htm !== method) throw invalid("DPoP proof htm mismatch");
    const htu = URL.parse(typeof payload.htu === "string" ? payload.htu : "");
    if (!htu) throw invalid("DPoP proof htu mismatch");
    htu.search = "";
    htu.hash = "";
    return { payload, protectedHeader, htu: htu.href, ath: createHash("sha256").update(accessToken).digest("base64url") };
  }

  /** The access token of a request to the resource, checked. */
  async function authorize(req, url) {
    const authorization = req.headers.authorization ?? "";
    const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
    if (!match || (match[1].toLowerCase() === "dpop" && !dpop)) {
      // No credentials of a scheme the resource knows (RFC 6750 §3.1: no error code).
      throw refuse(401, undefined, undefined, "an access token is required");
    }
    const scheme = match[1].toLowerCase() === "dpop" ? "DPoP" : "Bearer";
    const value = match[2];
    const token = await provider.AccessToken.find(value);
    if (!token || !token.isValid) throw refuse(401, scheme, "invalid_token", "the access token is invalid, expired or revoked");
    if (token.aud !== retrievalEndpoint) throw refuse(401, scheme, "invalid_token", "the access token is not for this resource");
    const grant = token.grantId ? await provider.Grant.find(token.grantId) : undefined;
    if (!grant || grant.clientId !== token.clientId) throw refuse(401, scheme, "invalid_token", "the grant of the access token has ended");
    const client = await provider.Client.find(token.clientId);
    if (!client) throw refuse(401, scheme, "invalid_token", "the client is no longer registered");
    if (token.jkt) {
      if (scheme !== "DPoP") throw refuse(401, "DPoP", "invalid_token", "the access token is DPoP-bound: use the DPoP scheme with a proof");
      const proof = await verifyProof(req.headers.dpop, req.method, value);
      const { payload, protectedHeader } = proof;
      const expected = new URL(url.pathname, issuer).href;
      if (proof.htu !== expected) throw refuse(401, "DPoP", "invalid_dpop_proof", `DPoP proof htu mismatch (expected ${expected})`);
      if (payload.ath !== proof.ath) throw refuse(401, "DPoP", "invalid_dpop_proof", "DPoP proof ath mismatch");
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk, "sha256");
      if (jkt !== token.jkt) throw refuse(401, "DPoP", "invalid_token", "the DPoP proof key is not the one the access token is bound to");
      if (dpopNonce) {
        const expires = state.resourceNonces.get(payload.nonce);
        if (typeof payload.nonce !== "string" || !expires || expires <= Date.now()) {
          throw refuse(401, "DPoP", "use_dpop_nonce", "the resource requires a DPoP nonce",
            { "dpop-nonce": newResourceNonce() });
        }
      }
      const replayKey = `${jkt}:${payload.jti}`;
      const now = Date.now();
      for (const [k, expires] of state.proofJtis) if (expires <= now) state.proofJtis.delete(k);
      if (state.proofJtis.has(replayKey)) throw refuse(401, "DPoP", "invalid_dpop_proof", "DPoP proof replayed");
      state.proofJtis.set(replayKey, now + 2 * PROOF_WINDOW_S * 1000);
    } else if (scheme === "DPoP") {
      throw refuse(401, "DPoP", "invalid_token", "the access token is not DPoP-bound");
    }
    return { token, grant, scheme };
  }

  async function retrievalRequest(req, res, url) {
    const parts = url.pathname.split("/").filter(Boolean);
    const isStart = parts.length === 1 && req.method === "POST";
    const isPoll = parts.length === 2 && req.method === "GET";
    if (!isStart && !isPoll) return sendJson(res, parts.length > 2 ? 404 : 405, { error: "not_found" });
    let token;
    let grant;
    let scheme;
    try {
      ({ token, grant, scheme } = await authorize(req, url));
    } catch (error) {
      if (error.refusal) return sendRefusal(res, error.refusal);
      throw error;
    }
    const items = grantedItems(token.rar);
    if (isStart) {
      const raw = (await readBody(req)).toString("utf8");
      let asked;
      if (raw.trim()) {
        let body;
        try {
          body = JSON.parse(raw);
        } catch {
          return sendJson(res, 400, { error: "invalid_request", error_description: "the body is not JSON" });
        }
        if (body?.items !== undefined && body?.items !== null) {
          if (!Array.isArray(body.items) || !body.items.every((i) => typeof i === "string")) {
            return sendJson(res, 400, { error: "invalid_request", error_description: "items must be an array of item ids" });
          }
          if (body.items.length === 0) {
            return sendJson(res, 400, { error: "invalid_request", error_description: "items must name at least one item" });
          }
          asked = [...new Set(body.items)];
        }
      }
      const stray = (asked ?? []).find((i) => !items.includes(i));
      if (stray !== undefined) {
        return sendRefusal(res, {
          status: 403, scheme, error: "insufficient_scope", description: `item ${JSON.stringify(stray)} was not granted`,
        });
      }
      const id = randomUUID();
      state.retrievals.set(id, {
        id, grantId: token.grantId, clientId: token.clientId, items: asked ?? items, polls: 0, createdAt: Date.now(),
      });
      return sendJson(res, 202, { id, status: "waiting" });
    }
    const found = state.retrievals.get(decodeURIComponent(parts[1]));
    if (!found || found.grantId !== token.grantId) {
      return sendJson(res, 404, { error: "not_found", error_description: "there is no such retrieval for this grant" });
    }
    found.polls += 1;
    if (found.polls <= retrievalPolls) return sendJson(res, 200, { id: found.id, status: "waiting" });
    return sendJson(res, 200, {
      id: found.id,
      status: "done",
      records: found.items.map((item) => ({ item, records: records(grant.jti, grant.iat, item) })),
    });
  }

  // -- Dispatch -----------------------------------------------------------

  async function handle(req, res) {
    const url = new URL(req.url, issuer);
    const path = url.pathname;
    if (!req.headers[INTERNAL_HEADER]) {
      const entry = {
        method: req.method,
        path,
        dpop: req.headers.dpop !== undefined,
        at: Date.now(),
      };
      if (req.headers.dpop) entry.dpop_proof = dpopSummary(req.headers.dpop);
      if (path === "/auth") entry.query = Object.fromEntries(url.searchParams);
      if (/^(bearer|dpop) /i.test(req.headers.authorization ?? "")) {
        entry.authorization_scheme = req.headers.authorization.split(" ")[0];
      }
      state.log.push(entry);
      req[LOG] = entry;
      res.on("finish", () => { entry.status = res.statusCode; });
    }

    if (path === "/.well-known/oauth-authorization-server" && metadata !== "oauth") {
      return sendJson(res, 404, { error: "not_found" });
    }
    if (path === "/.well-known/openid-configuration" && metadata !== "openid") {
      return sendJson(res, 404, { error: "not_found" });
    }
    const interaction = /^\/interaction\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
    if (interaction) {
      const uid = decodeURIComponent(interaction[1]);
      if (!interaction[2] && req.method === "GET") return interactionPage(req, res, uid);
      if (interaction[2] && req.method === "POST") return interactionDecision(req, res, uid, interaction[2]);
      return sendHtml(res, 405, errorPage("method not allowed"));
    }
    if (retrieval && (path === "/retrievals" || path.startsWith("/retrievals/"))) {
      return retrievalRequest(req, res, url);
    }
    return providerCallback(req, res);
  }

  server.on("request", (req, res) => {
    handle(req, res).catch((error) => {
      console.error("peer error", error);
      if (!res.headersSent) sendJson(res, error.status ?? 500, { error: "server_error", error_description: error.message });
      else res.destroy();
    });
  });

  async function introspect(value) {
    const response = await fetch(`${issuer}/token/introspection`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(INTROSPECTOR_ID)}:${encodeURIComponent(introspectorSecret)}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
        [INTERNAL_HEADER]: "1",
      },
      body: new URLSearchParams({ token: value }),
    });
    if (!response.ok) throw new Error(`introspection answered ${response.status}: ${await response.text()}`);
    return response.json();
  }

  let stopped = false;
  return {
    issuer,
    port: server.address().port,
    provider,
    /** The algorithm of ID tokens (the JWKS holds one key, of that algorithm). */
    idTokenAlg,
    retrievalEndpoint: retrieval ? retrievalEndpoint : undefined,
    /** Every access and refresh token issued so far (revoked ones too). */
    tokens: () => state.issued.map((t) => ({ ...t })),
    /** The live grants. */
    grants: () => [...state.store.values()]
      .filter((e) => e.model === "Grant")
      .map((e) => ({
        id: e.id,
        clientId: e.payload.clientId,
        accountId: e.payload.accountId,
        scope: e.payload.openid?.scope,
        authorization_details: structuredClone(e.payload.rar),
      })),
    /** The requests the peer received, in order (its own introspection calls excluded). */
    requests: () => state.log.map((e) => structuredClone(e)),
    introspect,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function parseDetails(text) {
  if (typeof text !== "string") return undefined;
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function errorPage(message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Peer error</title></head>`
    + `<body><h1>Peer error</h1><p id="error">${escapeHtml(message)}</p></body></html>`;
}
