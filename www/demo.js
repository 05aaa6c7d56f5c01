// The demo operator sites. Each page says which site and page it is
// (<body data-site data-page>); the site embeds the SDK only through its
// public package, as an operator would. ?lang=en shows the SDK's screens
// in English.
import { MynaConsent } from "/pkg/index.js";

const privacy = (site) => `${location.origin}/${site}/privacy.html`;

const SITES = {
  phr: {
    operator: { name: "すこやか手帳株式会社", contact: "0120-000-000（平日9時〜17時）", approvalId: "MPA-2025-0123" },
    items: { required: ["insurance.drugs", "insurance.prescriptions", "insurance.dispensing"], optional: ["insurance.checkups"] },
    purposes: [{ category: "healthManagement", description: "お薬の記録と、飲み忘れを防ぐ服薬アラームに使います。" }],
    period: { kind: "linkage", days: 90 },
    retention: "連携をやめたとき、または退会したときは、取得したデータを30日以内に削除します。",
    retrieve: true,
  },
  loan: {
    operator: { name: "みらいローン株式会社", contact: "support@mirai-loan.example.jp", approvalId: "MPA-2025-0456" },
    items: { required: ["self.tax_income"] },
    purposes: [{ category: "creditScreening", description: "カードローンの審査で、収入を確認するために使います。" }],
    period: { kind: "oneTime" },
    retention: "審査の記録として、法律で定められた期間（7年間）保存し、その後削除します。",
    retrieve: true,
  },
  marriage: {
    operator: { name: "えにし結婚相談所", contact: "03-0000-1234（10時〜19時）", approvalId: "MPA-2025-0789" },
    items: { required: ["self.family_register"] },
    purposes: [{ category: "identityVerification", description: "独身であることを確認するために使います。" }],
    period: { kind: "oneTime" },
    retention: "確認の結果だけを退会まで保存します。戸籍の情報そのものは、確認が終わったらすぐに削除します。",
    retrieve: true,
  },
  platform: {
    operator: { name: "つなぐヘルスプラットフォーム株式会社", contact: "help@tsunagu.example.jp", approvalId: "MPA-2025-1010" },
    items: { required: ["insurance.checkups"] },
    purposes: [{ category: "healthManagement", description: "健診の結果を、あなたが選んだ提携アプリで見られるようにします。" }],
    period: { kind: "linkage", days: 30 },
    recipients: [{ name: "ゆうゆう健康アプリ株式会社", purpose: "健診の結果をもとに、生活習慣の改善のアドバイスを表示するため" }],
    retention: "連携をやめたときは、当社と提携アプリの両方で、30日以内にデータを削除します。",
    retrieve: true,
  },
};

const site = document.body.dataset.site;
const page = document.body.dataset.page;
const config = SITES[site];
const locale = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "ja";
const sdk = await MynaConsent.create({ backend: `/${site}/myna`, locale });

if (page === "consent") {
  const { retrieve: _, ...request } = config;
  sdk.mountConsent("#consent", { ...request, operator: { ...config.operator, privacyPolicyUrl: privacy(site) } });
} else if (page === "callback") {
  sdk.completeAuthorization(location.href, { target: "#result", retrieve: config.retrieve }).catch(() => {});
} else if (page === "review") {
  sdk.on("renew", () => location.assign("./"));
  sdk.mountReview("#review");
  if (site === "phr") dashboard();
}

// The PHR app's own dashboard: "retrieve now" for each active linkage,
// through the SDK's retrieve().
async function dashboard() {
  const box = document.getElementById("dashboard");
  const response = await fetch(`/${site}/myna/consents`);
  if (!response.ok) return;
  const { consents } = await response.json();
  const active = consents.filter((c) => c.status === "active" || c.status === "endingSoon");
  if (active.length === 0) return;
  box.className = "dashboard";
  const heading = document.createElement("h2");
  heading.textContent = "お薬の記録の更新";
  const status = document.createElement("p");
  status.setAttribute("role", "status");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "いますぐ最新の情報を取得する";
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "マイナポータルから取得しています…";
    try {
      const result = await sdk.retrieve(active[0].id);
      const count = result.items.reduce((sum, item) => sum + item.count, 0);
      status.textContent = result.status === "done" ? `取得が完了しました（${count}件）。` : "取得できませんでした。時間をおいて、もう一度お試しください。";
    } catch (error) {
      status.textContent = `取得できませんでした（${error.code}）。`;
    } finally {
      button.disabled = false;
    }
  });
  box.append(heading, button, status);
}
