// myna-consent/testing: an in-memory fake of the operator-backend contract
// (docs/sandbox.md in the repository), for an operator's own tests. Pass
// its `fetch` and `navigate` to MynaConsent.create() and every screen runs
// without a server, in Vitest with jsdom or in a browser:
//
//   const fake = createFakeBackend({ requests: { "phr-90d": request } });
//   const sdk = await MynaConsent.create({ backend: "/myna", fetch: fake.fetch, navigate: fake.navigate });
//
// Outcomes are scripted with fake.set({ authorization: "declined" }) and
// the like; fake.calls records every call the SDK made. The fake keeps the
// contract's rules that an integration can trip over: the CSRF header on
// every POST, state single-use, optional items that must be offered,
// revocation that is idempotent and changes nothing when it fails.

import { MynaConsent } from "./index.js";

/** What each scripted outcome can be, and the default of each. */
export const OUTCOMES = Object.freeze({
  authorization: Object.freeze([
    "granted", "declined", "expired", "tampered", "nothing_granted",
    "temporarily_unavailable", "configuration_error", "uncertain",
  ]),
  revocation: Object.freeze(["revoked", "failed"]),
  retrieval: Object.freeze(["done", "error", "timeout"]),
});

const DEFAULTS = { authorization: "granted", revocation: "revoked", retrieval: "done", waitingPolls: 1, offline: false };

/** The issuer the fake's authorization URLs and callbacks carry. */
export const FAKE_ISSUER = "https://mynaportal.fake.invalid";

/** A request that passes every rule: a 90-day linkage of medicines, check-ups optional. */
export const SAMPLE_REQUEST = Object.freeze({
  operator: {
    name: "テスト運営株式会社",
    contact: "0120-000-000",
    privacyPolicyUrl: "https://operator.example/privacy",
    approvalId: "MPA-TEST-0001",
  },
  items: { required: ["insurance.drugs"], optional: ["insurance.checkups"] },
  purposes: [{ category: "healthManagement", description: "お薬の記録を表示するために使います。" }],
  period: { kind: "linkage", days: 90 },
  retention: "同意の撤回から30日以内に削除します。",
});

const JST_MS = 9 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** RFC 3339 in Japan's time, as the reference backend writes it. */
function jst(date) {
  return new Date(date.getTime() + JST_MS).toISOString().replace(/\.\d{3}Z$/, "+09:00");
}

/** Japan's calendar date of an instant, YYYY-MM-DD. */
function jstDate(date) {
  return new Date(date.getTime() + JST_MS).toISOString().slice(0, 10);
}

/** RFC 8785 for the JSON the fake writes (strings, integers, booleans, null). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function sha256Hex(text) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function problem(status, code, title, extra = {}) {
  return new Response(
    JSON.stringify({ type: `urn:myna-consent:problem:${code}`, title, status, code, ...extra }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

function answer(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function checkOutcome(kind, value) {
  if (!OUTCOMES[kind].includes(value)) {
    throw new TypeError(`createFakeBackend: ${kind} must be one of ${OUTCOMES[kind].join(", ")}, not ${JSON.stringify(value)}.`);
  }
}

/**
 * Lets the SDK find the window under Vitest's or Jest's jsdom environment.
 * There the global object is Node's, so `globalThis instanceof Window` is
 * false, and that is how wasm-bindgen and Leptos find the window. Does
 * nothing in a browser or where there is no document. createFakeBackend()
 * calls it.
 */
export function prepareJsdom() {
  const Window = globalThis.Window;
  if (typeof Window !== "function" || typeof globalThis.document === "undefined" || globalThis instanceof Window) return;
  const usual = Function.prototype[Symbol.hasInstance];
  Object.defineProperty(Window, Symbol.hasInstance, {
    configurable: true,
    value(value) {
      return value === globalThis || usual.call(this, value);
    },
  });
}

/**
 * The shadow root a screen renders into, inside the element it was
 * mounted in (or null): where a test finds the screen's buttons and text.
 */
export function screenOf(target) {
  const host = typeof target === "string" ? globalThis.document?.querySelector(target) : target;
  return host?.querySelector(":scope > [data-myna-consent]")?.shadowRoot ?? null;
}

/**
 * An in-memory operator backend. Options:
 * - `requests`: the consent requests it defines, by id (default:
 *   `{ sample: SAMPLE_REQUEST }`);
 * - `consents`: consents it already holds (Consent objects, as
 *   `GET /consents` answers them);
 * - `authorization`, `revocation`, `retrieval`, `waitingPolls`, `offline`:
 *   the first scripted outcomes (see `set()`);
 * - `now`: the clock (default `() => new Date()`).
 */
export function createFakeBackend(options = {}) {
  prepareJsdom();
  const requests = new Map(Object.entries(options.requests ?? { sample: SAMPLE_REQUEST }));
  const now = options.now ?? (() => new Date());
  const script = { ...DEFAULTS };
  const consents = new Map((options.consents ?? []).map((consent) => [consent.id, structuredClone(consent)]));
  const receipts = new Map();
  const transactions = new Map();
  const retrievals = new Map();
  const calls = [];
  // Ids unique across fakes too: a page remembers the callbacks it
  // completed, and two tests must never present the same one.
  const run = globalThis.crypto.randomUUID().slice(0, 8);
  let serial = 0;
  const next = (prefix) => `${prefix}-${run}-${++serial}`;
  let lastAuthorizationUrl = null;

  function set(changes) {
    for (const [key, value] of Object.entries(changes)) {
      if (key in OUTCOMES) checkOutcome(key, value);
      else if (key === "waitingPolls") {
        if (!Number.isInteger(value) || value < 0) throw new TypeError("createFakeBackend: waitingPolls must be a whole number, 0 or more.");
      } else if (key === "offline") {
        if (typeof value !== "boolean") throw new TypeError("createFakeBackend: offline must be true or false.");
      } else if (!["requests", "consents", "now"].includes(key)) {
        throw new TypeError(`createFakeBackend: unknown option ${JSON.stringify(key)}.`);
      } else continue;
      script[key] = value;
    }
  }
  set(options);

  /** The consent as the backend reports it: status and days left with the fake's clock. */
  function view(consent) {
    const shown = { ...consent };
    if (consent.revokedAt) shown.status = "revoked";
    else if (consent.suspendedAt) shown.status = "suspended";
    if (consent.period?.kind === "linkage" && !consent.revokedAt && !consent.suspendedAt) {
      const ends = new Date(Date.parse(consent.grantedAt) + consent.period.days * DAY_MS);
      const left = Math.round((Date.parse(`${jstDate(ends)}T00:00:00+09:00`) - Date.parse(`${jstDate(now())}T00:00:00+09:00`)) / DAY_MS);
      shown.endDate = jstDate(ends);
      shown.daysLeft = Math.max(left, 0);
      // As the reference backend: the last day is still endingSoon (daysLeft 0), until the end instant.
      shown.status = now() >= ends ? "expired" : left <= 14 ? "endingSoon" : "active";
    }
    // A one-time consent is active until revoked or suspended.
    shown.status ??= "active";
    return shown;
  }

  async function receipt(consent, event, locale) {
    let labels = new Map();
    try {
      const catalogue = await MynaConsent.catalogue(locale);
      labels = new Map(catalogue.categories.flatMap((category) => category.items.map((item) => [item.id, [item.label, category.id]])));
    } catch {
      // Labels are a courtesy; the ids stand without them.
    }
    const issuedAt = jst(now());
    const body = {
      version: "myna-consent-receipt/1",
      receiptId: next("receipt"),
      event,
      issuedAt,
      language: locale,
      jurisdiction: "JP",
      consentType: "explicit",
      collectionMethod: "myna-consent SDK (test kit)",
      consentId: consent.id,
      grantedAt: consent.grantedAt,
      revokedAt: event === "revocation" ? consent.revokedAt : undefined,
      controller: consent.operator,
      items: consent.items.map((id) => ({ id, label: labels.get(id)?.[0] ?? id, category: labels.get(id)?.[1] ?? "" })),
      specialCare: false,
      purposes: consent.purposes,
      recipients: consent.recipients ?? [],
      period: consent.period.kind === "linkage"
        ? { kind: "linkage", days: consent.period.days, endDate: view(consent).endDate }
        : { kind: "oneTime" },
      retention: consent.retention,
      withdrawalMethod: "review screen",
    };
    const text = canonical(body);
    const document = { receipt: JSON.parse(text), sha256: await sha256Hex(text) };
    receipts.set(consent.id, document);
    return document;
  }

  async function handle(method, path, search, body) {
    const locale = search.get("locale") === "en" ? "en" : "ja";
    let match;
    if (method === "GET" && (match = path.match(/^\/requests\/([^/]+)$/))) {
      const request = requests.get(decodeURIComponent(match[1]));
      return request ? answer(200, { ...request, locale }) : problem(404, "request_not_found", "No such request");
    }
    if (method === "POST" && path === "/authorizations") {
      const request = requests.get(body?.request);
      if (!request) return problem(404, "request_not_found", "No such request");
      const offered = request.items.optional ?? [];
      const chosen = body.optionalItems ?? [];
      const stray = chosen.find((item) => !offered.includes(item));
      if (stray) return problem(422, "item_not_offered", `${stray} is not offered`, { field: "optionalItems" });
      const state = next("state");
      transactions.set(state, { request, chosen, used: false, locale: body.locale ?? "ja", renews: body.renews });
      lastAuthorizationUrl = `${FAKE_ISSUER}/authorize?state=${encodeURIComponent(state)}`;
      return answer(201, {
        authorizationUrl: lastAuthorizationUrl,
        state,
        issuer: FAKE_ISSUER,
        expiresAt: jst(new Date(now().getTime() + 10 * 60 * 1000)),
      });
    }
    if (method === "POST" && path === "/authorizations/complete") {
      const transaction = transactions.get(body?.state);
      if (!transaction) return problem(400, "state_mismatch", "No transaction with this state");
      if (transaction.used) return problem(400, "state_used", "This transaction was used");
      transaction.used = true;
      if (body.error) return problem(400, body.error === "access_denied" ? "access_denied" : body.error, "Refused at Mynaportal");
      if (body.iss !== undefined && body.iss !== FAKE_ISSUER) return problem(400, "issuer_mismatch", "Wrong issuer");
      switch (transaction.outcome) {
        case "expired":
          return problem(400, "transaction_expired", "The transaction expired");
        case "nothing_granted":
          return problem(502, "nothing_granted", "Nothing was granted", { step: "token", cause: "nothing_granted", tokensRevoked: true });
        case "temporarily_unavailable":
          return problem(503, "authority_unavailable", "Mynaportal is unavailable", { step: "token", cause: "temporary" });
        case "configuration_error":
          return problem(502, "token_exchange_failed", "The backend and Mynaportal do not fit", { step: "token", cause: "configuration" });
        case "uncertain":
          return problem(502, "token_exchange_failed", "The answer was lost", { step: "token", cause: "uncertain" });
        default:
          break;
      }
      const { request } = transaction;
      const consent = {
        id: next("consent"),
        operator: request.operator,
        items: [...(request.items.required ?? []), ...transaction.chosen],
        purposes: request.purposes,
        recipients: request.recipients ?? [],
        period: request.period,
        retention: request.retention,
        grantedAt: jst(now()),
      };
      consents.set(consent.id, consent);
      const shown = view(consent);
      if (transaction.renews && consents.has(transaction.renews)) {
        consents.get(transaction.renews).revokedAt = jst(now());
        shown.renewed = { consentId: transaction.renews, withdrawn: true };
      }
      await receipt(consent, "grant", transaction.locale);
      return answer(201, shown);
    }
    if (method === "GET" && path === "/consents") {
      return answer(200, { consents: [...consents.values()].map(view) });
    }
    if ((match = path.match(/^\/consents\/([^/]+)(\/.*)?$/))) {
      const consent = consents.get(decodeURIComponent(match[1]));
      if (!consent) return problem(404, "not_found", "No such consent");
      const rest = match[2] ?? "";
      if (method === "GET" && rest === "") {
        return answer(200, { ...view(consent), retrievals: [...retrievals.values()].filter((r) => r.consentId === consent.id).map(({ consentId, polls, ...r }) => r) });
      }
      if (method === "GET" && rest === "/receipt") {
        return answer(200, receipts.get(consent.id) ?? (await receipt(consent, consent.revokedAt ? "revocation" : "grant", locale)));
      }
      if (method === "POST" && rest === "/revocation") {
        if (consent.revokedAt) {
          // Idempotent: the revocation receipt again, made now for a consent seeded as revoked.
          const kept = receipts.get(consent.id);
          return answer(200, kept?.receipt.event === "revocation" ? kept : await receipt(consent, "revocation", locale));
        }
        if (script.revocation === "failed") {
          return problem(502, "revocation_failed", "Mynaportal could not be reached", { step: "revocation", cause: "temporary" });
        }
        consent.revokedAt = jst(now());
        return answer(200, await receipt(consent, "revocation", locale));
      }
      if (method === "POST" && rest === "/retrievals") {
        const retrieval = { id: next("retrieval"), consentId: consent.id, status: "waiting", startedAt: jst(now()), polls: 0 };
        retrievals.set(retrieval.id, retrieval);
        consent.lastRetrievalAt = retrieval.startedAt;
        return answer(202, { id: retrieval.id, status: "waiting" });
      }
      const poll = method === "GET" && rest.match(/^\/retrievals\/([^/]+)$/);
      if (poll) {
        const retrieval = retrievals.get(decodeURIComponent(poll[1]));
        if (!retrieval || retrieval.consentId !== consent.id) return problem(404, "not_found", "No such retrieval");
        retrieval.polls += 1;
        if (retrieval.status === "waiting" && retrieval.polls > script.waitingPolls) {
          retrieval.status = script.retrieval;
          retrieval.finishedAt = jst(now());
          if (retrieval.status === "done") retrieval.items = consent.items.map((item) => ({ item, count: 1 }));
        }
        const { consentId, polls, ...shown } = retrieval;
        return answer(200, shown);
      }
    }
    return problem(404, "not_found", `The contract has no ${method} ${path}`);
  }

  /** Answers the SDK's calls; same signature as the browser's fetch. */
  async function fetch(input, init) {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    const body = text ? JSON.parse(text) : null;
    calls.push({ method: request.method, path: url.pathname, search: url.search, body });
    if (script.offline) throw new TypeError("Failed to fetch (the fake backend is offline)");
    if (request.method !== "GET" && request.headers.get("X-Myna-Request") !== "1") {
      return problem(403, "csrf", "A POST needs the X-Myna-Request header");
    }
    // The backend's own path is whatever precedes the contract's calls.
    const at = url.pathname.search(/\/(requests|authorizations|consents)(\/|$)/);
    const path = at < 0 ? url.pathname : url.pathname.slice(at);
    return handle(request.method, path, url.searchParams, body);
  }

  /**
   * Where Mynaportal would send the citizen back to, for the last
   * authorization the SDK started, as the scripted `authorization`
   * outcome has it. `returnUrl` is the operator's redirect page (default:
   * the page's own address).
   */
  function callbackUrl(returnUrl) {
    const base = returnUrl ?? globalThis.location?.href;
    if (!base) throw new TypeError("callbackUrl() needs the return page's address outside a browser.");
    const state = [...transactions.keys()].at(-1);
    if (!state) throw new Error("callbackUrl(): the SDK has not started an authorization yet (press 同意 first).");
    const transaction = transactions.get(state);
    transaction.outcome = script.authorization;
    const url = new URL(base);
    if (script.authorization === "declined") {
      url.searchParams.set("error", "access_denied");
      url.searchParams.set("state", state);
    } else {
      url.searchParams.set("code", next("code"));
      url.searchParams.set("state", script.authorization === "tampered" ? `${state}-tampered` : state);
    }
    url.searchParams.set("iss", FAKE_ISSUER);
    return url.href;
  }

  return {
    fetch,
    /** Pass as `navigate`: records where the SDK would send the citizen, instead of leaving the page. */
    navigate(url) {
      lastAuthorizationUrl = url;
    },
    callbackUrl,
    set,
    /** Every call the SDK made: `{ method, path, search, body }`. */
    calls,
    /** Where the SDK last sent (or would have sent) the citizen: Mynaportal's authorization URL. */
    get authorizationUrl() {
      return lastAuthorizationUrl;
    },
    /** The consents the fake holds now, as `GET /consents` answers them. */
    get consents() {
      return [...consents.values()].map(view);
    },
  };
}
