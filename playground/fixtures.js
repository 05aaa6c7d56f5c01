// Fixtures for the playground: sample requests, and a fixture operator
// backend behind fetch for the base path /fixtures, so every screen can be
// shown in every state without a server. Other requests go to the network.

const operator = (name, approvalId) => ({
  name,
  contact: "0120-000-000（平日9時〜17時）",
  privacyPolicyUrl: "https://example.jp/privacy",
  approvalId,
});

export const SAMPLES = {
  phr: {
    operator: operator("すこやか手帳株式会社", "MPA-2025-0123"),
    items: {
      required: ["insurance.drugs", "insurance.prescriptions", "insurance.dispensing"],
      optional: ["insurance.checkups"],
    },
    purposes: [{ category: "healthManagement", description: "お薬の記録と服薬アラームに使います。" }],
    period: { kind: "linkage", days: 90 },
    recipients: [],
    retention: "連携をやめたときは、取得したデータを30日以内に削除します。",
  },
  loan: {
    operator: operator("みらいローン株式会社", "MPA-2025-0456"),
    items: { required: ["self.tax_income"] },
    purposes: [{ category: "creditScreening", description: "カードローンの審査で収入を確認します。" }],
    period: { kind: "oneTime" },
    retention: "審査の記録として7年間保存し、その後削除します。",
  },
  marriage: {
    operator: operator("えにし結婚相談所", "MPA-2025-0789"),
    items: { required: ["self.family_register"] },
    purposes: [{ category: "identityVerification", description: "独身であることを確認します。" }],
    period: { kind: "oneTime" },
    recipients: [{
      name: "株式会社えにしプラットフォーム",
      contact: "03-0000-5678（平日10時〜17時）",
      privacyPolicyUrl: "https://example.jp/platform/privacy",
      approvalId: "MPA-2025-1111",
      purposeCategory: "identityVerification",
      purpose: "独身証明の確認結果を会員ページに表示するため",
    }],
    retention: "確認の結果だけを退会まで保存し、戸籍の情報そのものは確認後すぐに削除します。",
  },
  welfare: {
    operator: operator("ひまわり交通株式会社", "MPA-2025-0999"),
    items: { required: ["self.disability_certificate"] },
    purposes: [{ category: "welfare", description: "乗車券の障がい者割引を適用します。" }],
    period: { kind: "oneTime" },
    retention: "割引の適用が終わったら、手帳の情報を削除します。",
  },
  broken: {
    operator: { name: "<script>alert('x')</script>", contact: "", privacyPolicyUrl: "http://example.jp/p", approvalId: "A-1" },
    items: { required: ["insurance.drugs", "insurance.drugs", "ehr.patient_summary"], optional: ["self.pension"] },
    purposes: [{ category: "advertising", description: "" }],
    period: { kind: "linkage", days: 120 },
    recipients: [{ name: "分析会社", purposeCategory: "marketing", purpose: "傾向の分析\tに使います" }],
    retention: "",
    privacyPolicyURL: "typo",
  },
};


const ISSUER = "http://localhost:8081";

const consentOf = (id, request, extra) => ({
  id,
  operator: request.operator,
  items: request.items.required,
  purposes: request.purposes,
  recipients: request.recipients ?? [],
  period: request.period,
  retention: request.retention,
  grantedAt: "2026-11-01T10:00:00+09:00",
  status: "active",
  ...extra,
});

const CONSENTS = [
  consentOf("fx-active", SAMPLES.phr, { status: "active", daysLeft: 67, endDate: "2027-01-30", lastRetrievalAt: "2026-11-23T08:15:00+09:00" }),
  consentOf("fx-ending", { ...SAMPLES.phr, operator: { ...SAMPLES.phr.operator, name: "まいにち服薬ノート" } }, { grantedAt: "2026-09-01T09:00:00+09:00", status: "endingSoon", daysLeft: 7, endDate: "2026-11-30", lastRetrievalAt: "2026-11-22T08:00:00+09:00", nextRetrievalAt: "2026-11-24T14:30:00+09:00", retrievalFailures: 2 }),
  consentOf("fx-expired", { ...SAMPLES.phr, operator: { ...SAMPLES.phr.operator, name: "げんき健診アプリ" }, period: { kind: "linkage", days: 30 } }, { grantedAt: "2026-08-01T09:00:00+09:00", status: "expired", daysLeft: 0, endDate: "2026-08-31" }),
  consentOf("fx-revoked", SAMPLES.loan, { grantedAt: "2026-10-10T12:00:00+09:00", revokedAt: "2026-10-11T12:00:00+09:00", status: "revoked" }),
  consentOf("fx-suspended", { ...SAMPLES.phr, operator: { ...SAMPLES.phr.operator, name: "あんしんPHR" } }, { grantedAt: "2026-10-20T09:00:00+09:00", suspendedAt: "2026-11-20T09:00:00+09:00", status: "suspended", daysLeft: 57, endDate: "2027-01-18" }),
];

const RECEIPT = {
  receipt: { version: "myna-consent-receipt/1", receiptId: "fx-receipt-1", event: "revocation", issuedAt: "2026-11-24T10:00:00+09:00" },
  sha256: "9f2c0c5e4b7f3a1d8e6b2a0c4d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
};

const problem = (status, code, title) => ({ status, body: { type: `urn:myna-consent:problem:${code}`, code, title, status } });

let routes = {};

export function installFixtureBackend() {
  const network = globalThis.fetch.bind(globalThis);
  globalThis.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== location.origin || !url.pathname.startsWith("/fixtures/")) return network(input, init);
    const key = `${request.method} ${url.pathname.slice("/fixtures".length)}`;
    let route = routes[key];
    if (Array.isArray(route)) route = route.length > 1 ? route.shift() : route[0];
    route ??= problem(404, "not_found", `No fixture for ${key}`);
    if (route.network) throw new TypeError("Failed to fetch");
    const status = route.status ?? 200;
    const type = status >= 400 ? "application/problem+json" : "application/json";
    return new Response(JSON.stringify(route.body ?? {}), { status, headers: { "content-type": type } });
  };
}

const granted = () => ({ status: 201, body: consentOf("fx-new", SAMPLES.phr, { grantedAt: new Date().toISOString(), daysLeft: 90 }) });

export const SCREEN_STATES = [
  { key: "consent-phr", screen: "consent", request: SAMPLES.phr, label: { ja: "同意画面: PHRアプリ（期間連携・任意項目あり）", en: "Consent: PHR app (linkage, optional items)" } },
  { key: "consent-loan", screen: "consent", request: SAMPLES.loan, label: { ja: "同意画面: ローン審査（1回のみ）", en: "Consent: loan screening (one-time)" } },
  { key: "consent-marriage", screen: "consent", request: SAMPLES.marriage, label: { ja: "同意画面: 婚活サービス（ほかの事業者への提供あり）", en: "Consent: marriage agency (onward recipient)" } },
  { key: "consent-welfare", screen: "consent", request: SAMPLES.welfare, label: { ja: "同意画面: 要配慮個人情報（別途の確認）", en: "Consent: special-care data (separate confirmation)" } },
  { key: "consent-start-fails", screen: "consent", request: SAMPLES.phr, routes: { "POST /authorizations": problem(503, "authority_unavailable", "The authority is unavailable") }, label: { ja: "同意画面: マイナポータルへ進めない", en: "Consent: cannot go to Mynaportal" } },
  { key: "consent-invalid", screen: "consent", request: SAMPLES.broken, label: { ja: "同意画面: 問題のあるリクエスト（表示されない）", en: "Consent: invalid request (not shown)" } },
  { key: "return-done", screen: "return", retrieve: true, routes: { "POST /authorizations/complete": granted(), "POST /consents/fx-new/retrievals": { status: 202, body: { id: "r1", status: "waiting" } }, "GET /consents/fx-new/retrievals/r1": [{ body: { id: "r1", status: "waiting" } }, { body: { id: "r1", status: "done", items: [{ item: "insurance.drugs", count: 3 }] } }] }, label: { ja: "戻り: 完了・情報の取得が完了", en: "Return: granted, retrieval done" } },
  { key: "return-retrieval-error", screen: "return", retrieve: true, routes: { "POST /authorizations/complete": granted(), "POST /consents/fx-new/retrievals": { status: 202, body: { id: "r1", status: "waiting" } }, "GET /consents/fx-new/retrievals/r1": { body: { id: "r1", status: "error" } } }, label: { ja: "戻り: 完了・情報の取得に失敗", en: "Return: granted, retrieval failed" } },
  { key: "return-retrieval-timeout", screen: "return", retrieve: true, routes: { "POST /authorizations/complete": granted(), "POST /consents/fx-new/retrievals": { status: 202, body: { id: "r1", status: "waiting" } }, "GET /consents/fx-new/retrievals/r1": { body: { id: "r1", status: "timeout" } } }, label: { ja: "戻り: 完了・応答なし", en: "Return: granted, retrieval timed out" } },
  { key: "return-declined", screen: "return", callback: "error=access_denied", label: { ja: "戻り: マイナポータルで同意しなかった", en: "Return: declined at Mynaportal" } },
  { key: "return-expired", screen: "return", minutesAgo: 11, label: { ja: "戻り: 有効期限切れ", en: "Return: expired" } },
  { key: "return-tampered", screen: "return", callbackState: "tampered", label: { ja: "戻り: 改ざん（state の不一致）", en: "Return: tampered (state mismatch)" } },
  { key: "return-used", screen: "return", used: true, label: { ja: "戻り: 使用済み（再読み込み）", en: "Return: already used (reload)" } },
  { key: "return-backend", screen: "return", routes: { "POST /authorizations/complete": problem(502, "token_exchange_failed", "The token exchange failed") }, label: { ja: "戻り: 事業者のシステムの問題", en: "Return: backend problem" } },
  { key: "return-network", screen: "return", routes: { "POST /authorizations/complete": { network: true } }, label: { ja: "戻り: 通信できない", en: "Return: network failure" } },
  { key: "review-list", screen: "review", routes: { "GET /consents": { body: { consents: CONSENTS } }, "POST /consents/fx-active/revocation": { body: RECEIPT }, "GET /consents/fx-active/receipt": { body: RECEIPT } }, label: { ja: "確認画面: すべての状態の同意", en: "Review: consents in every status" } },
  { key: "review-empty", screen: "review", routes: { "GET /consents": { body: { consents: [] } } }, label: { ja: "確認画面: 同意なし", en: "Review: no consents" } },
  { key: "review-failed", screen: "review", routes: { "GET /consents": problem(500, "internal", "Internal error") }, label: { ja: "確認画面: 読み込みに失敗", en: "Review: loading failed" } },
  { key: "review-revoke-fails", screen: "review", routes: { "GET /consents": { body: { consents: CONSENTS.slice(0, 1) } }, "POST /consents/fx-active/revocation": [problem(502, "revocation_failed", "The authority could not be reached"), { body: RECEIPT }] }, label: { ja: "確認画面: 撤回に失敗（再試行できる）", en: "Review: revocation fails, then succeeds" } },
];

/**
 * Sets up the fixture routes and, for the return screen, the pending
 * transaction. A consent state's request is served by the fixture backend
 * at GET /requests/<state key>, as an operator's backend defines it.
 */
export function prepareState(state, locale) {
  routes = structuredClone(state.routes ?? {
    "POST /authorizations": { status: 201, body: { authorizationUrl: `${ISSUER}/authorize?client_id=demo&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Afixture`, state: "fx", issuer: ISSUER, expiresAt: new Date(Date.now() + 600000).toISOString() } },
  });
  if (state.request) routes[`GET /requests/${state.key}`] = { body: { ...state.request, locale } };
  if (state.screen !== "return") return {};
  const startedAt = new Date(Date.now() - (state.minutesAgo ?? 1) * 60000).toISOString();
  const pending = { state: "fx", issuer: ISSUER, requestDigest: "fixture", startedAt, used: !!state.used };
  sessionStorage.setItem("myna-consent:pending:/fixtures", JSON.stringify(pending));
  const params = new URLSearchParams(state.callback ?? "code=fx-code");
  params.set("state", state.callbackState ?? "fx");
  params.set("iss", ISSUER);
  return { callbackUrl: `${location.origin}/callback?${params}` };
}
