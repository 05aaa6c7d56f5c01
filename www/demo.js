// The demo operator sites. Each page says which site and page it is
// (<body data-site data-page>); the site embeds the SDK only through its
// public package, as an operator would. ?lang=en shows the SDK's screens
// in English.
import { MynaConsent } from "/pkg/index.js";

// Each site names its consent request, which its backend defines (see
// sandbox/sandbox.json): the page never writes a request itself.
const SITES = {
  phr: { request: "phr-90d", retrieve: true, signIn: true },
  loan: { request: "income-check", retrieve: true },
  marriage: { request: "single-status", retrieve: true },
  platform: { request: "checkups-30d", retrieve: true },
};

const site = document.body.dataset.site;
const page = document.body.dataset.page;
const config = SITES[site];
const locale = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "ja";

// The PHR site has accounts of its own: its backend knows the member from
// the site's sign-in cookie, so the same member sees the same consents on
// every device. Signed out, the page asks to sign in first.
const signedIn = config.signIn ? await member() : true;
if (signedIn) {
  const sdk = await MynaConsent.create({ backend: `/${site}/myna`, locale });
  // What an operator would send to its monitoring; here, the console.
  sdk.on("error", (detail) => console.info(`myna-consent error: ${detail.code}: ${detail.message}`));
  if (page === "consent") {
    // Coming from 同意を更新する on the review page: the new consent replaces
    // that one, which the backend withdraws once this one is granted.
    const renews = new URLSearchParams(location.search).get("renews") ?? undefined;
    sdk.mountConsent("#consent", { request: config.request, renews });
  } else if (page === "callback") {
    sdk.completeAuthorization(location.href, { target: "#result", retrieve: config.retrieve }).catch(() => {});
  } else if (page === "review") {
    sdk.on("renew", (consent) => location.assign(`./?renews=${encodeURIComponent(consent.id)}`));
    sdk.mountReview("#review");
    if (site === "phr") dashboard(sdk);
  }
}

/** Shows who is signed in (and a sign-out button), or a sign-in link. */
async function member() {
  const response = await fetch(`/${site}/member`);
  const { member, name } = response.ok ? await response.json() : { member: null };
  const bar = document.createElement("div");
  bar.className = "member-bar";
  if (member) {
    const who = document.createElement("p");
    who.textContent = `${name} さん（会員番号 ${member.replace("member-", "")}）でログインしています。`;
    const form = document.createElement("form");
    form.method = "post";
    form.action = `/${site}/signout`;
    const out = document.createElement("button");
    out.type = "submit";
    out.textContent = "ログアウト";
    form.append(out);
    bar.append(who, form);
  } else {
    const ask = document.createElement("p");
    ask.append("マイナポータル連携を使うには、すこやか手帳の会員としてログインしてください。 ");
    const link = document.createElement("a");
    link.href = `/${site}/signin.html`;
    link.textContent = "ログインする";
    ask.append(link);
    bar.append(ask);
  }
  document.querySelector("main").prepend(bar);
  return Boolean(member);
}

// The PHR app's own dashboard: "retrieve now" for each active linkage,
// through the SDK's retrieve().
async function dashboard(sdk) {
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
