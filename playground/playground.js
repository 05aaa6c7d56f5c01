// The playground: every screen in every state from fixtures, the request
// validator and the catalogue, through the SDK's public package only
// (pkg/index.js, as an operator imports it). Every text goes in through
// textContent.
import { MynaConsent } from "../pkg/index.js";
import { installFixtureBackend, SAMPLES, SCREEN_STATES, prepareState } from "./fixtures.js";

const WORDS = {
  ja: {
    title: "プレイグラウンド",
    loading: "読み込んでいます…",
    ready: "準備ができました。",
    failed: "SDK を読み込めませんでした: ",
    screensHeading: "画面の一覧",
    screensIntro: "SDK のすべての画面を、状態ごとに確認できます。事業者のバックエンドの代わりに、ページ内の見本データで動いています。",
    screenStateLabel: "画面と状態",
    eventsHeading: "発生したイベント",
    validateHeading: "同意リクエストの検証",
    validateIntro: "同意画面に渡すリクエストを MynaConsent.validate() で検証します。問題はすべて一度に表示されます。",
    sampleLabel: "サンプル",
    requestLabel: "リクエスト (JSON)",
    run: "検証する",
    notJson: "JSONとして読み取れません: ",
    ok: "問題はありません。この内容で同意画面を表示できます。",
    separate: "要配慮個人情報を含むため、同意の前に別途の確認が必要です: ",
    previewHeading: "下書きの表示（確認用）",
    previewIntro: "事業者のバックエンドに同じ内容を設定すると、この画面が表示されます。ここからは何も送信されません。",
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
    screensHeading: "Every screen",
    screensIntro: "Every screen of the SDK in each of its states. A fixture backend inside this page stands in for the operator's backend.",
    screenStateLabel: "Screen and state",
    eventsHeading: "Events",
    validateHeading: "Validate a consent request",
    validateIntro: "Checks a request with MynaConsent.validate(), as the consent screen will. Every problem is shown at once.",
    sampleLabel: "Sample",
    requestLabel: "Request (JSON)",
    run: "Validate",
    notJson: "Not valid JSON: ",
    ok: "No problems. A consent screen can show this request.",
    separate: "Includes special-care data, which the citizen confirms separately: ",
    previewHeading: "The draft as citizens will see it",
    previewIntro: "Define the same request in the operator backend and this is the screen citizens get. Nothing is sent from here.",
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

async function renderCatalogue(locale, words) {
  const catalogue = await MynaConsent.catalogue(locale);
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

let verdicts = 0;

async function renderVerdict(locale, words) {
  const run = ++verdicts;
  const verdict = document.getElementById("verdict");
  let request;
  try {
    request = JSON.parse(document.getElementById("request").value);
  } catch (error) {
    verdict.replaceChildren();
    verdict.dataset.verdict = "invalid";
    verdict.append(el("p", { class: "bad" }, words.notJson + error.message));
    return;
  }
  const result = await MynaConsent.validate(request, locale);
  // A newer run (another sample, another click) has the last word.
  if (run !== verdicts) return;
  verdict.replaceChildren();
  showDraft(result.ok ? request : null, locale, words);
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

let draft = null;

// A valid request from the validator, shown as the SDK's draft preview:
// the screen citizens will see once the backend defines it.
async function showDraft(request, locale, words) {
  draft?.handle?.unmount();
  draft?.sdk?.destroy();
  draft = null;
  const box = document.getElementById("draft-preview");
  box.replaceChildren();
  if (!request) return;
  const host = el("div");
  box.append(el("h3", {}, words.previewHeading), el("p", {}, words.previewIntro), host);
  const sdk = await MynaConsent.create({ backend: "/fixtures", locale });
  draft = { sdk, handle: sdk.mountConsent(host, { draft: request }) };
}

let current = null;

async function showState(key, locale, words) {
  current?.handle?.unmount();
  current?.sdk?.destroy();
  const stage = document.getElementById("stage");
  stage.replaceChildren();
  const events = document.getElementById("events");
  events.replaceChildren();
  const state = SCREEN_STATES.find((s) => s.key === key);
  const sdk = await MynaConsent.create({
    backend: "/fixtures",
    locale,
    navigate: (url) => events.append(el("li", {}, `navigate → ${url}`)),
  });
  for (const name of ["granted", "denied", "revoked", "renew", "error"]) {
    sdk.on(name, (detail) => events.append(el("li", {}, `${name}: ${JSON.stringify(detail).slice(0, 300)}`)));
  }
  current = { sdk, handle: null };
  const host = el("div");
  stage.append(host);
  const run = prepareState(state, locale);
  if (state.screen === "consent") {
    current.handle = sdk.mountConsent(host, { request: state.key });
  } else if (state.screen === "review") {
    current.handle = sdk.mountReview(host);
  } else {
    sdk.completeAuthorization(run.callbackUrl, { target: host, retrieve: state.retrieve }).catch(() => {});
  }
  // For the end-to-end test: proof that the screen rendered in its shadow
  // root, once the SDK's module has loaded (up to five seconds).
  const started = Date.now();
  const probe = () => {
    const root = host.querySelector("[data-myna-consent]")?.shadowRoot;
    const chars = root?.textContent.length ?? 0;
    if (chars === 0 && Date.now() - started < 5000) return setTimeout(probe, 50);
    document.body.dataset.screenChars = String(chars);
  };
  setTimeout(probe, 50);
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
  installFixtureBackend();
  for (const [id, key] of [
    ["screens-heading", "screensHeading"], ["screens-intro", "screensIntro"],
    ["screen-state-label", "screenStateLabel"], ["events-heading", "eventsHeading"],
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
    renderVerdict(locale, words).catch(showFailure);
  };
  sample.addEventListener("change", load);
  document.getElementById("run").addEventListener("click", () => renderVerdict(locale, words).catch(showFailure));
  load();
  await renderCatalogue(locale, words);
  const stateSelect = document.getElementById("screen-state");
  for (const group of ["consent", "return", "review"]) {
    const optgroup = el("optgroup", { label: group });
    for (const state of SCREEN_STATES.filter((s) => s.screen === group)) {
      optgroup.append(el("option", { value: state.key }, state.label[locale]));
    }
    stateSelect.append(optgroup);
  }
  const wanted = new URLSearchParams(location.search).get("state");
  if (wanted && SCREEN_STATES.some((s) => s.key === wanted)) stateSelect.value = wanted;
  stateSelect.addEventListener("change", () => showState(stateSelect.value, locale, words));
  await showState(stateSelect.value, locale, words);
  document.getElementById("screens").hidden = false;
  document.getElementById("validate").hidden = false;
  document.getElementById("catalogue").hidden = false;
  status.textContent = words.ready;
  document.body.dataset.state = "ready";
}

// The validator could not run (the SDK did not load): said on the page.
function showFailure(error) {
  const verdict = document.getElementById("verdict");
  verdict.dataset.verdict = "error";
  verdict.replaceChildren(el("p", { class: "bad" }, `${error.code ?? "error"}: ${error.message}`));
}

main().catch((error) => {
  document.body.dataset.state = "error";
  document.getElementById("status").textContent = String(error);
});
