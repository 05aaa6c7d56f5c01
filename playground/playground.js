// The playground: the catalogue and the request validator, through the
// SDK's public JS API only. Every text goes in through textContent.
import init, { MynaConsent } from "../pkg/myna_consent.js";

const WORDS = {
  ja: {
    title: "プレイグラウンド",
    loading: "読み込んでいます…",
    ready: "準備ができました。",
    failed: "SDK を読み込めませんでした: ",
    validateHeading: "同意リクエストの検証",
    validateIntro: "同意画面に渡すリクエストを MynaConsent.validate() で検証します。問題はすべて一度に表示されます。",
    sampleLabel: "サンプル",
    requestLabel: "リクエスト (JSON)",
    run: "検証する",
    notJson: "JSONとして読み取れません: ",
    ok: "問題はありません。この内容で同意画面を表示できます。",
    separate: "要配慮個人情報を含むため、同意の前に別途の確認が必要です: ",
    problems: (n) => `${n}件の問題があります。`,
    code: "コード",
    field: "項目",
    message: "内容",
    catalogueHeading: "データ項目のカタログ",
    catalogueIntro: (items, categories) => `${categories}分類・${items}項目（マイナポータルAPIの現状と課題 2025年4月 より）`,
    categorySummary: (label, n) => `${label}（${n}項目）`,
    apisHeading: "提供中のマイナポータルAPI（16件）",
    availability: {
      offered: "提供中",
      offeredWithLinkage: "提供中・期間連携できます",
      notYetOffered: "まだ提供されていません",
      institutionsOnly: "医療機関の間のみ",
      portalOnly: "マイナポータルでの閲覧のみ",
    },
    sensitivity: { general: "", health: "医療・健康", specialCare: "要配慮" },
    samples: {
      phr: "PHRアプリ（90日間の期間連携）",
      loan: "ローン審査（1回のみ・所得）",
      marriage: "婚活サービス（1回のみ・戸籍）",
      welfare: "障がい者割引（要配慮・別途確認）",
      broken: "問題のあるリクエスト",
    },
  },
  en: {
    title: "Playground",
    loading: "Loading…",
    ready: "Ready.",
    failed: "Could not load the SDK: ",
    validateHeading: "Validate a consent request",
    validateIntro: "Checks a request with MynaConsent.validate(), as the consent screen will. Every problem is shown at once.",
    sampleLabel: "Sample",
    requestLabel: "Request (JSON)",
    run: "Validate",
    notJson: "Not valid JSON: ",
    ok: "No problems. A consent screen can show this request.",
    separate: "Includes special-care data, which the citizen confirms separately: ",
    problems: (n) => `${n} problem(s).`,
    code: "Code",
    field: "Field",
    message: "Message",
    catalogueHeading: "Catalogue of data items",
    catalogueIntro: (items, categories) => `${items} items in ${categories} categories (from the Mynaportal API status report, April 2025)`,
    categorySummary: (label, n) => `${label} (${n} item${n === 1 ? "" : "s"})`,
    apisHeading: "The 16 Mynaportal APIs",
    availability: {
      offered: "offered",
      offeredWithLinkage: "offered, linkage possible",
      notYetOffered: "not offered yet",
      institutionsOnly: "medical institutions only",
      portalOnly: "viewable on Mynaportal only",
    },
    sensitivity: { general: "", health: "health", specialCare: "special care" },
    samples: {
      phr: "PHR app (90-day linkage)",
      loan: "Loan screening (one-time, income)",
      marriage: "Marriage agency (one-time, family register)",
      welfare: "Disability discount (special care)",
      broken: "A request with problems",
    },
  },
};

const operator = (name, approvalId) => ({
  name,
  contact: "0120-000-000（平日9時〜17時）",
  privacyPolicyUrl: "https://example.jp/privacy",
  approvalId,
});

const SAMPLES = {
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
    recipients: [{ name: "株式会社えにしプラットフォーム", purpose: "独身証明の確認結果を会員ページに表示するため" }],
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
    recipients: [{ name: "分析会社" }],
    retention: "",
    privacyPolicyURL: "typo",
  },
};

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

function pickLocale() {
  const wanted = new URLSearchParams(location.search).get("lang");
  return wanted === "en" ? "en" : "ja";
}

function renderCatalogue(locale, words) {
  const catalogue = MynaConsent.catalogue(locale);
  const container = document.getElementById("categories");
  let total = 0;
  for (const category of catalogue.categories) {
    total += category.items.length;
    const list = el("ul", { class: "items" });
    for (const item of category.items) {
      const badges = [el("span", { class: "badge" }, words.availability[item.availability])];
      const sensitivity = words.sensitivity[item.sensitivity];
      if (sensitivity) badges.push(el("span", { class: `badge ${item.sensitivity}` }, sensitivity));
      list.append(
        el("li", {}, el("strong", {}, item.label), " ", el("code", {}, item.id), " ", ...badges,
          el("p", { class: "explanation" }, item.explanation)),
      );
    }
    container.append(
      el("details", {},
        el("summary", {}, words.categorySummary(category.label, category.items.length)),
        el("p", { class: "explanation" }, category.explanation),
        list),
    );
  }
  document.getElementById("catalogue-intro").textContent =
    words.catalogueIntro(total, catalogue.categories.length);
  const apis = document.getElementById("apis");
  for (const api of catalogue.apis) {
    apis.append(el("li", {}, el("strong", {}, api.name), api.provides ? ` — ${api.provides}` : ""));
  }
}

function renderVerdict(locale, words) {
  const verdict = document.getElementById("verdict");
  verdict.replaceChildren();
  let request;
  try {
    request = JSON.parse(document.getElementById("request").value);
  } catch (error) {
    verdict.dataset.verdict = "invalid";
    verdict.append(el("p", { class: "bad" }, words.notJson + error.message));
    return;
  }
  const result = MynaConsent.validate(request, locale);
  if (result.ok) {
    verdict.dataset.verdict = "ok";
    verdict.append(el("p", { class: "ok" }, words.ok));
    if (result.needsSeparateConfirmation) {
      verdict.append(el("p", {}, words.separate + result.specialCareItems.join(", ")));
    }
    return;
  }
  verdict.dataset.verdict = "invalid";
  const rows = result.errors.map((error) =>
    el("tr", {}, el("td", {}, el("code", {}, error.code)), el("td", {}, el("code", {}, error.field)), el("td", {}, error.message)));
  verdict.append(
    el("p", { class: "bad" }, words.problems(result.errors.length)),
    el("div", { class: "table-wrap" },
      el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, words.code), el("th", { scope: "col" }, words.field), el("th", { scope: "col" }, words.message))),
        el("tbody", {}, ...rows))),
  );
}

async function main() {
  const locale = pickLocale();
  const words = WORDS[locale];
  document.documentElement.lang = locale;
  document.title = `myna-consent — ${words.title}`;
  document.getElementById("title").textContent = words.title;
  for (const link of document.querySelectorAll("#lang-nav a")) {
    if (link.hreflang === locale) link.setAttribute("aria-current", "page");
  }
  const status = document.getElementById("status");
  status.textContent = words.loading;
  try {
    await init();
  } catch (error) {
    document.body.dataset.state = "error";
    status.textContent = words.failed + error;
    return;
  }
  for (const [id, key] of [
    ["validate-heading", "validateHeading"], ["validate-intro", "validateIntro"],
    ["sample-label", "sampleLabel"], ["request-label", "requestLabel"], ["run", "run"],
    ["catalogue-heading", "catalogueHeading"], ["apis-heading", "apisHeading"],
  ]) {
    document.getElementById(id).textContent = words[key];
  }
  const sample = document.getElementById("sample");
  for (const [key, label] of Object.entries(words.samples)) sample.append(el("option", { value: key }, label));
  const textarea = document.getElementById("request");
  const load = () => {
    textarea.value = JSON.stringify({ ...SAMPLES[sample.value], locale }, null, 2);
    renderVerdict(locale, words);
  };
  sample.addEventListener("change", load);
  document.getElementById("run").addEventListener("click", () => renderVerdict(locale, words));
  renderCatalogue(locale, words);
  load();
  document.getElementById("validate").hidden = false;
  document.getElementById("catalogue").hidden = false;
  status.textContent = words.ready;
  document.body.dataset.state = "ready";
}

document.addEventListener("securitypolicyviolation", () => {
  document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations) + 1);
});

main();
