//! The screens and the flow in a real browser (headless Chromium through
//! wasm-bindgen-test), through the JS API, with a fake operator backend
//! behind `fetch`. Elements are found by role and accessible name.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Reflect, JSON};
use myna_consent::js::{MountHandle, MynaConsent};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
// wasm-bindgen-test runs async tests concurrently: each test gets its own
// backend path, so routes, recorded calls and the pending transaction in
// sessionStorage never mix between tests.
const backends = new Map();
let next = 0;
export function fake_backend(routes) {
  const base = "/myna-" + (next++);
  const calls = [];
  backends.set(base, { routes, calls });
  if (!globalThis.__mynaFake) {
    globalThis.__mynaFake = true;
    globalThis.fetch = async (input, init) => {
      const request = input instanceof Request ? input : new Request(input, init);
      const url = new URL(request.url);
      const base = url.pathname.split("/").slice(0, 2).join("/");
      const backend = backends.get(base);
      const key = request.method + " " + url.pathname.slice(base.length);
      const body = request.method === "GET" ? null : await request.text();
      if (!backend) throw new TypeError("Failed to fetch");
      backend.calls.push({
        key, body, csrf: request.headers.get("X-Myna-Request"),
        authorization: request.headers.get("Authorization"), search: url.search,
      });
      let route = backend.routes[key];
      if (!route && request.method === "GET" && url.pathname.startsWith(base + "/requests/")) {
        // The requests the tests registered, as the operator's
        // configuration would define them.
        const id = decodeURIComponent(url.pathname.slice(base.length + "/requests/".length));
        if (requests.has(id)) route = { body: requests.get(id) };
      }
      if (Array.isArray(route)) route = route.length > 1 ? route.shift() : route[0];
      if (!route) {
        return new Response(JSON.stringify({ code: "not_found", title: "no route " + key }),
          { status: 404, headers: { "content-type": "application/problem+json" } });
      }
      if (route.network) throw new TypeError("Failed to fetch");
      const status = route.status ?? 200;
      return new Response(JSON.stringify(route.body ?? {}), {
        status,
        headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
      });
    };
  }
  return [base, calls];
}

// Requests "defined on the backend", by id; every fake backend serves them.
const requests = new Map();
let nextRequest = 0;
export function define_request(request) {
  const id = "req-" + (nextRequest++);
  requests.set(id, request);
  return id;
}

function accessibleName(root, el) {
  const labelledby = el.getAttribute("aria-labelledby");
  if (labelledby) {
    return labelledby.split(/\s+/).map((id) => root.getElementById(id)?.textContent ?? "").join(" ");
  }
  if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
  if (el.tagName === "INPUT") return el.closest("label")?.textContent ?? "";
  return el.textContent ?? "";
}

const ROLES = {
  button: "button",
  checkbox: "input[type=checkbox]",
  heading: "h1,h2,h3,h4,h5,h6",
  link: "a[href]",
  dialog: "dialog[open]",
  alert: "[role=alert]",
  status: "[role=status]",
  article: "article",
  listitem: "li",
};

export function find_all(root, role, name) {
  const norm = (s) => s.replace(/\s+/g, " ").trim();
  return [...root.querySelectorAll(ROLES[role])]
    .filter((el) => !el.closest("[hidden]"))
    .filter((el) => name === undefined || norm(accessibleName(root, el)) === norm(name));
}

export function shadow_of(host) {
  return host.querySelector("[data-myna-consent]")?.shadowRoot ?? null;
}

export function active_in(root) {
  return root.activeElement;
}

export function press(el, key, shift) {
  el.dispatchEvent(new KeyboardEvent("keydown", { key, shiftKey: !!shift, bubbles: true, cancelable: true, composed: true }));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
"#)]
extern "C" {
    fn fake_backend(routes: &JsValue) -> Array;
    fn define_request(request: &JsValue) -> String;
    fn find_all(root: &JsValue, role: &str, name: Option<&str>) -> Array;
    fn shadow_of(host: &Element) -> JsValue;
    fn active_in(root: &JsValue) -> JsValue;
    fn press(element: &JsValue, key: &str, shift: bool);
    fn sleep(ms: u32) -> js_sys::Promise;
}

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("fixture is JSON")
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).expect("readable")
}

fn string(value: &JsValue, key: &str) -> String {
    get(value, key).as_string().unwrap_or_default()
}

async fn settle() {
    // Generous: CI runs on two busy cores.
    JsFuture::from(sleep(120)).await.expect("timer");
}

fn host() -> Element {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let host = document.create_element("section").expect("element");
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    host
}

fn shadow(host: &Element) -> JsValue {
    let root = shadow_of(host);
    assert!(!root.is_null(), "the screen renders in a shadow root");
    root
}

fn one(root: &JsValue, role: &str, name: &str) -> HtmlElement {
    let found = find_all(root, role, Some(name));
    assert_eq!(found.length(), 1, "exactly one {role} named {name:?}");
    found.get(0).unchecked_into()
}

fn none(root: &JsValue, role: &str, name: &str) {
    assert_eq!(
        find_all(root, role, Some(name)).length(),
        0,
        "no {role} named {name:?}"
    );
}

fn text_of(root: &JsValue) -> String {
    root.unchecked_ref::<web_sys::Node>()
        .text_content()
        .unwrap_or_default()
}

/// The text a citizen sees: `innerText` of each element in the root, which
/// leaves out what is hidden.
fn visible_text(root: &JsValue) -> String {
    let children = root.unchecked_ref::<web_sys::ShadowRoot>().children();
    (0..children.length())
        .filter_map(|i| children.item(i))
        .filter_map(|child| child.dyn_into::<HtmlElement>().ok())
        .map(|child| child.inner_text())
        .collect()
}

/// Records every event the SDK emits.
/// A click as a mouse makes it: `detail` counts the clicks of a double click.
fn click_with_count(element: &HtmlElement, count: i32) {
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_detail(count);
    let event = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).expect("event");
    element.dispatch_event(&event).expect("dispatched");
}

fn record(sdk: &MynaConsent, event: &str) -> Array {
    let seen = Array::new();
    let push = Function::new_with_args("detail", "this.push(detail)").bind0(&seen);
    sdk.on(event.to_owned(), push).expect("known event");
    seen
}

/// A fake operator backend with `routes` ("METHOD /path" → {status, body},
/// or a list of them answered in turn), and the SDK pointed at it.
struct Fake {
    sdk: MynaConsent,
    calls: Array,
    base: String,
}

fn fake(routes: &JsValue, navigate: Option<&Function>) -> Fake {
    let made = fake_backend(routes);
    let base = made.get(0).as_string().expect("base");
    let calls: Array = made.get(1).unchecked_into();
    Fake {
        sdk: sdk(&base, navigate),
        calls,
        base,
    }
}

/// The calls that change something: everything but the GETs.
fn posts(calls: &Array) -> Array {
    calls
        .iter()
        .filter(|call| !string(call, "key").starts_with("GET "))
        .collect()
}

fn no_routes() -> JsValue {
    Object::new().into()
}

fn sdk(base: &str, navigate: Option<&Function>) -> MynaConsent {
    let options = Object::new();
    Reflect::set(&options, &"backend".into(), &base.into()).expect("set");
    if let Some(navigate) = navigate {
        Reflect::set(&options, &"navigate".into(), navigate).expect("set");
    }
    MynaConsent::with_options(&options).expect("options are valid")
}

const PHR: &str = r#"{
  "operator": {
    "name": "すこやか手帳株式会社",
    "contact": "0120-000-000",
    "privacyPolicyUrl": "https://example.jp/privacy",
    "approvalId": "MPA-2025-0123"
  },
  "items": {
    "required": ["insurance.drugs", "insurance.dispensing"],
    "optional": ["insurance.checkups", "insurance.treatment"]
  },
  "purposes": [{ "category": "healthManagement", "description": "お薬の記録と服薬アラームに使います。" }],
  "period": { "kind": "linkage", "days": 90 },
  "recipients": [{
    "name": "つなぐ分析株式会社", "contact": "03-1111-2222",
    "privacyPolicyUrl": "https://analysis.example.jp/privacy", "approvalId": "MPA-2025-3030",
    "purposeCategory": "healthManagement", "purpose": "服薬の傾向の分析"
  }],
  "retention": "連携をやめたときは30日以内に削除します。"
}"#;

/// Defines `request` on the (fake) backend and mounts its consent screen by
/// id, as an operator's page does.
fn mount_phr(sdk: &MynaConsent, host: &Element, request: &str) -> MountHandle {
    let id = define_request(&json(request));
    sdk.mount_consent(host.clone().into(), options("request", &id.into()))
        .expect("mounted")
}

/// `{ key: value }`.
fn options(key: &str, value: &JsValue) -> JsValue {
    let options = Object::new();
    Reflect::set(&options, &key.into(), value).expect("set");
    options.into()
}

#[wasm_bindgen_test]
async fn consent_screen_shows_every_mandated_element() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    one(
        &root,
        "heading",
        "すこやか手帳株式会社への情報の提供について、同意をお願いします",
    );
    let text = text_of(&root);
    for expected in [
        "MPA-2025-0123",
        "0120-000-000",
        "薬剤情報",
        "お薬の記録と服薬アラームに使います。",
        "つなぐ分析株式会社",
        "服薬の傾向の分析",
        "（90日間）",
        "連携をやめたときは30日以内に削除します。",
        "いつでも撤回できます",
        "マイナンバーカード",
    ] {
        assert!(text.contains(expected), "the screen shows {expected:?}");
    }
    let link = one(
        &root,
        "link",
        "プライバシーポリシーを見る（新しいタブで開きます）",
    );
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://example.jp/privacy")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    for heading in [
        "提供先の事業者",
        "提供する情報",
        "利用目的",
        "ほかの事業者への提供",
        "提供する期間",
        "情報の保存と、同意の撤回",
        "このあとの手順",
    ] {
        one(&root, "heading", heading);
    }
    // The card-ready notice also speaks to smartphone users (issue 12).
    let next = text_of(&root);
    assert!(
        next.contains("マイナポータルのアプリ") && next.contains("スマホ用電子証明書"),
        "{next}"
    );
    let agree = one(&root, "button", "同意してマイナポータルへ進む");
    let decline = one(&root, "button", "同意しない");
    assert!(!agree
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .disabled());
    assert!(!decline
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .disabled());
}

#[wasm_bindgen_test]
async fn period_prints_an_absolute_japanese_end_date() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let text = text_of(&shadow(&host));
    let end = js_sys::Date::new_0();
    end.set_time(end.get_time() + 90.0 * 86_400_000.0);
    // The JST calendar date, whatever the browser's own time zone.
    let jst = js_sys::Date::new(&JsValue::from_f64(end.get_time() + 9.0 * 3_600_000.0));
    let expected = format!(
        "{}年{}月{}日まで",
        jst.get_utc_full_year(),
        jst.get_utc_month() + 1,
        jst.get_utc_date()
    );
    assert!(text.contains(&expected), "period reads {expected:?}");
}

#[wasm_bindgen_test]
async fn optional_items_start_unticked() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    for name in ["特定健診などの健診結果", "診療情報 配慮が必要な情報"] {
        let checkbox: web_sys::HtmlInputElement = one(&root, "checkbox", name).unchecked_into();
        assert!(!checkbox.checked(), "{name} starts unticked");
    }
}

const SPECIAL: &str = r#"{
  "operator": { "name": "ひまわり交通", "contact": "03-0000-0000", "privacyPolicyUrl": "https://example.jp/p", "approvalId": "MPA-1" },
  "items": { "required": ["self.disability_certificate"] },
  "purposes": [{ "category": "welfare", "description": "割引の適用に使います。" }],
  "period": { "kind": "oneTime" },
  "retention": "適用後に削除します。"
}"#;

#[wasm_bindgen_test]
async fn agree_stays_disabled_until_special_care_is_confirmed() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, SPECIAL);
    settle().await;
    let root = shadow(&host);
    let agree: web_sys::HtmlButtonElement =
        one(&root, "button", "同意してマイナポータルへ進む").unchecked_into();
    assert!(
        agree.disabled(),
        "agree waits for the separate confirmation"
    );
    assert!(text_of(&root).contains("この1回のみ"));
    let confirm = one(
        &root,
        "checkbox",
        "配慮が必要な情報が含まれることを確認しました。",
    );
    confirm.click();
    settle().await;
    assert!(!agree.disabled(), "confirmed: agree is enabled");
    confirm.click();
    settle().await;
    assert!(
        agree.disabled(),
        "unconfirmed again: agree is disabled again"
    );
}

#[wasm_bindgen_test]
async fn ticking_an_optional_special_care_item_asks_for_confirmation() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    none(
        &root,
        "checkbox",
        "配慮が必要な情報が含まれることを確認しました。",
    );
    one(&root, "checkbox", "診療情報 配慮が必要な情報").click();
    settle().await;
    one(
        &root,
        "checkbox",
        "配慮が必要な情報が含まれることを確認しました。",
    );
    let agree: web_sys::HtmlButtonElement =
        one(&root, "button", "同意してマイナポータルへ進む").unchecked_into();
    assert!(agree.disabled());
}

#[wasm_bindgen_test]
async fn invalid_request_shows_every_error_and_no_consent_screen() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let errors = record(&sdk, "error");
    let host = host();
    let broken = r#"{
      "operator": { "name": "", "contact": "", "privacyPolicyUrl": "http://example.jp/p", "approvalId": "A" },
      "items": { "required": ["ehr.patient_summary"] },
      "purposes": [],
      "period": { "kind": "linkage", "days": 120 },
      "retention": ""
    }"#;
    let _handle = mount_phr(&sdk, &host, broken);
    settle().await;
    let root = shadow(&host);
    let alert = find_all(&root, "alert", None);
    assert_eq!(alert.length(), 1, "one error panel");
    let listed = find_all(&alert.get(0), "listitem", None).length();
    let expected = MynaConsent::validate(json(broken), None).expect("result");
    assert_eq!(
        listed,
        Array::from(&get(&expected, "errors")).length(),
        "every error is listed"
    );
    assert_eq!(listed, 7);
    none(&root, "button", "同意してマイナポータルへ進む");
    assert_eq!(errors.length(), 1, "error fires once");
    assert_eq!(string(&errors.get(0), "code"), "invalid_request");
    assert_eq!(Array::from(&get(&errors.get(0), "errors")).length(), 7);
}

#[wasm_bindgen_test]
async fn operator_text_with_html_shows_as_text() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let request = PHR
        .replace(
            "すこやか手帳株式会社",
            "<script>alert(1)</script><b>悪い会社</b>",
        )
        .replace(
            "連携をやめたときは30日以内に削除します。",
            "<img src=x onerror=alert(2)>",
        );
    let _handle = mount_phr(&sdk, &host, &request);
    settle().await;
    let root = shadow(&host);
    let shadow: web_sys::ShadowRoot = root.clone().unchecked_into();
    for tag in ["script", "b", "img"] {
        assert!(
            shadow.query_selector(tag).expect("selector").is_none(),
            "no <{tag}> element was created"
        );
    }
    one(
        &root,
        "heading",
        "<script>alert(1)</script><b>悪い会社</b>への情報の提供について、同意をお願いします",
    );
    assert!(text_of(&root).contains("<img src=x onerror=alert(2)>"));
}

/// Issue 12: research with medical data shows the ethics review and needs
/// its own confirmation before 同意; without a review the request is never
/// shown.
#[wasm_bindgen_test]
async fn research_with_medical_data_is_confirmed_separately() {
    let research = PHR.replace(
        r#""purposeCategory": "healthManagement", "purpose": "服薬の傾向の分析""#,
        r#""purposeCategory": "research", "purpose": "服薬の傾向の分析""#,
    );
    assert_ne!(research, PHR);
    // No ethics review: every problem listed instead of the screen.
    let Fake { sdk, .. } = fake(&started_route(true), Some(&Function::new_no_args("")));
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = mount_phr(&sdk, &host, &research);
    settle().await;
    let root = shadow(&host);
    none(&root, "button", "同意してマイナポータルへ進む");
    assert!(
        text_of(&root).contains("ethicsReview"),
        "{}",
        text_of(&root)
    );
    assert_eq!(string(&errors.get(0), "code"), "invalid_request");

    // With it: the review is shown, and 同意 waits for its confirmation.
    let reviewed = research.replacen(
        r#""retention":"#,
        r#""ethicsReview": "つなぐ大学 倫理審査委員会 承認番号 2025-118", "retention":"#,
        1,
    );
    let navigate = Function::new_no_args("");
    let Fake { sdk, calls, .. } = fake(&started_route(true), Some(&navigate));
    let host = self::host();
    let _handle = mount_phr(&sdk, &host, &reviewed);
    settle().await;
    let root = shadow(&host);
    let text = text_of(&root);
    assert!(text.contains("研究への利用の確認"), "{text}");
    assert!(
        text.contains("つなぐ大学 倫理審査委員会 承認番号 2025-118"),
        "{text}"
    );
    let agree = one(&root, "button", "同意してマイナポータルへ進む");
    assert!(agree
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .disabled());
    agree.click();
    settle().await;
    assert_eq!(posts(&calls).length(), 0, "nothing starts unconfirmed");
    one(
        &root,
        "checkbox",
        "医療・健康に関する情報が研究に使われることを確認しました",
    )
    .click();
    settle().await;
    assert!(!agree
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .disabled());
    agree.click();
    settle().await;
    let calls = posts(&calls);
    assert_eq!(calls.length(), 1);
    let body = json(&string(&calls.get(0), "body"));
    assert_eq!(get(&body, "researchConfirmed"), JsValue::TRUE);
}

fn started_route(calls_ok: bool) -> JsValue {
    let routes = Object::new();
    let answer = if calls_ok {
        r#"{ "status": 201, "body": { "authorizationUrl": "http://localhost:8081/authorize?client_id=demo&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax", "state": "st-1", "issuer": "http://localhost:8081", "expiresAt": "2026-11-24T10:10:00Z" } }"#
    } else {
        r#"{ "status": 502, "body": { "code": "authority_unavailable", "title": "The authority is unavailable", "cause": "configuration", "step": "discovery" } }"#
    };
    Reflect::set(&routes, &"POST /authorizations".into(), &json(answer)).expect("set");
    routes.into()
}

#[wasm_bindgen_test]
async fn agree_starts_one_transaction_even_on_double_click() {
    let navigations = Array::new();
    let navigate = Function::new_with_args("url", "this.push(url)").bind0(&navigations);
    let Fake { sdk, calls, base } = fake(&started_route(true), Some(&navigate));
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    one(&root, "checkbox", "特定健診などの健診結果").click();
    let agree = one(&root, "button", "同意してマイナポータルへ進む");
    agree.click();
    agree.click();
    settle().await;
    let calls = posts(&calls);
    assert_eq!(calls.length(), 1, "one POST /authorizations");
    let call = calls.get(0);
    assert_eq!(string(&call, "key"), "POST /authorizations");
    assert_eq!(string(&call, "csrf"), "1", "the CSRF header is sent");
    let body = json(&string(&call, "body"));
    assert!(
        string(&body, "request").starts_with("req-"),
        "the request by id"
    );
    for field in ["operator", "items", "purposes", "preview"] {
        assert!(
            get(&body, field).is_undefined(),
            "the page sends no {field} of its own"
        );
    }
    assert_eq!(string(&body, "requestDigest").len(), 64);
    let chosen = Array::from(&get(&body, "optionalItems"));
    assert_eq!(chosen.length(), 1);
    assert_eq!(
        chosen.get(0).as_string().as_deref(),
        Some("insurance.checkups")
    );
    assert_eq!(get(&body, "specialCareConfirmed"), JsValue::FALSE);
    assert!(get(&body, "researchConfirmed").is_undefined());
    assert_eq!(navigations.length(), 1, "one navigation to Mynaportal");
    assert!(navigations
        .get(0)
        .as_string()
        .unwrap_or_default()
        .starts_with("http://localhost:8081/authorize?"));
    let storage = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .expect("storage");
    let pending = storage
        .get_item(&format!("myna-consent:pending:{base}"))
        .expect("read")
        .expect("pending is kept");
    let pending = json(&pending);
    assert_eq!(string(&pending, "state"), "st-1");
    assert_eq!(string(&pending, "issuer"), "http://localhost:8081");
    assert!(!text_of(&pending).contains("verifier"));
    assert!(text_of(&root).contains("マイナポータルへ移動しています"));
}

#[wasm_bindgen_test]
async fn a_failed_start_is_shown_and_can_be_retried() {
    let Fake { sdk, calls, .. } = fake(&started_route(false), Some(&Function::new_no_args("")));
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    let agree = one(&root, "button", "同意してマイナポータルへ進む");
    agree.click();
    settle().await;
    assert!(text_of(&root).contains("マイナポータルへ進めませんでした"));
    assert!(
        text_of(&root).contains("やり直しても同じ結果になります"),
        "a configuration problem is not worded as 'try again later'"
    );
    assert!(!text_of(&root).contains("時間をおいて"));
    assert_eq!(errors.length(), 1);
    assert_eq!(string(&errors.get(0), "code"), "authority_unavailable");
    assert_eq!(
        string(&errors.get(0), "cause"),
        "configuration",
        "the developer sees that retrying will not help"
    );
    assert!(
        !agree
            .unchecked_ref::<web_sys::HtmlButtonElement>()
            .disabled(),
        "the citizen can try again"
    );
    agree.click();
    settle().await;
    assert_eq!(posts(&calls).length(), 2);
}

#[wasm_bindgen_test]
async fn decline_fires_denied_once_and_shares_nothing() {
    let Fake { sdk, calls, .. } = fake(&no_routes(), None);
    let denied = record(&sdk, "denied");
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    let decline = one(&root, "button", "同意しない");
    // A double click: the second click (detail 2) neither declines again
    // nor undoes the first.
    click_with_count(&decline, 1);
    click_with_count(&decline, 2);
    settle().await;
    assert_eq!(denied.length(), 1, "denied fires once");
    assert_eq!(string(&denied.get(0), "stage"), "consent");
    assert_eq!(posts(&calls).length(), 0, "nothing reaches the backend");
    assert!(visible_text(&root).contains("あなたの情報は提供されません"));
    let status = find_all(&root, "status", None);
    assert!(
        (0..status.length()).any(|i| {
            let region: HtmlElement = status.get(i).unchecked_into();
            region.inner_text().contains("あなたの情報は提供されません")
        }),
        "the notice is in a live region"
    );
    none(&root, "button", "同意してマイナポータルへ進む");
}

#[wasm_bindgen_test]
async fn after_declining_the_citizen_can_choose_again() {
    // Issue 13: 同意しない was a dead end; a citizen who changes their mind
    // goes back to the same choice, with the keyboard focus on it.
    let navigations = Array::new();
    let navigate = Function::new_with_args("url", "this.push(url)").bind0(&navigations);
    let Fake { sdk, calls, .. } = fake(&started_route(true), Some(&navigate));
    let denied = record(&sdk, "denied");
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    let decline = one(&root, "button", "同意しない");
    decline.focus().expect("focus");
    decline.click();
    settle().await;
    none(&root, "button", "同意してマイナポータルへ進む");
    one(&root, "button", "選び直す").click();
    settle().await;
    none(&root, "button", "選び直す");
    one(&root, "button", "同意しない");
    assert!(
        active_in(&root) == JsValue::from(decline),
        "the focus stays on the choice"
    );
    assert!(
        visible_text(&root).contains("同意しない"),
        "the screen is shown"
    );
    assert!(!visible_text(&root).contains("あなたの情報は提供されません"));
    one(&root, "button", "同意してマイナポータルへ進む").click();
    settle().await;
    assert_eq!(
        posts(&calls).length(),
        1,
        "agreeing now starts the authorization"
    );
    assert_eq!(navigations.length(), 1);
    assert_eq!(denied.length(), 1);
}

#[wasm_bindgen_test]
async fn unmount_leaves_nothing_behind() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    host.set_inner_html("<p>operator content</p>");
    let handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    assert_eq!(host.child_element_count(), 2);
    handle.unmount();
    handle.unmount();
    settle().await;
    assert_eq!(host.inner_html(), "<p>operator content</p>");
}

#[wasm_bindgen_test]
async fn a_dropped_handle_leaves_the_screen_in_place() {
    // A page that ignores the handle must keep its screen: JS may collect
    // the handle at any time (a reported bug: the review screen vanished).
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _ = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    one(&root, "button", "同意してマイナポータルへ進む");
}

#[wasm_bindgen_test]
async fn every_control_is_reachable_by_keyboard() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let root = shadow(&host);
    let shadow: web_sys::ShadowRoot = root.clone().unchecked_into();
    let controls = shadow
        .query_selector_all("button, a[href], input, summary, select, textarea")
        .expect("query");
    let shown: Vec<HtmlElement> = (0..controls.length())
        .filter_map(|i| controls.item(i))
        .map(|node| node.unchecked_into::<HtmlElement>())
        .filter(|control| control.closest("[hidden]").ok().flatten().is_none())
        .collect();
    // Two optional choices, the operator's and the recipient's privacy
    // policy links, decline and agree (the special-care confirmation is
    // hidden until special-care data is chosen).
    assert_eq!(shown.len(), 6);
    for control in shown {
        assert!(
            control.tab_index() >= 0,
            "{} is in the tab order",
            control.outer_html()
        );
    }
}

// ---- The return: every refusal happens before the backend. ----

fn set_pending(base: &str, state: &str, minutes_ago: f64, used: bool) {
    let started = js_sys::Date::new(&JsValue::from_f64(
        js_sys::Date::now() - minutes_ago * 60_000.0,
    ));
    let pending = format!(
        r#"{{"state":"{state}","issuer":"http://localhost:8081","requestDigest":"d","startedAt":"{}","used":{used}}}"#,
        started.to_iso_string()
    );
    let storage = web_sys::window()
        .and_then(|w| w.session_storage().ok().flatten())
        .expect("storage");
    storage
        .set_item(&format!("myna-consent:pending:{base}"), &pending)
        .expect("write");
}

async fn complete(sdk: &MynaConsent, url: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(sdk.complete_authorization(url.to_owned(), JsValue::UNDEFINED)).await
}

/// [`complete`], showing the outcome in `target`.
async fn complete_in(sdk: &MynaConsent, url: &str, target: &Element) -> Result<JsValue, JsValue> {
    let options = Object::new();
    Reflect::set(&options, &"target".into(), target).expect("set");
    JsFuture::from(sdk.complete_authorization(url.to_owned(), options.into())).await
}

/// A backend that answers the completion with `answer` (as `json` takes it).
fn completion_answered(answer: &str) -> JsValue {
    let routes = Object::new();
    Reflect::set(
        &routes,
        &"POST /authorizations/complete".into(),
        &json(answer),
    )
    .expect("set");
    routes.into()
}

const ISS: &str = "iss=http%3A%2F%2Flocalhost%3A8081";

#[wasm_bindgen_test]
async fn callback_refusals_never_reach_the_backend() {
    let cases = [
        (
            format!("https://op.example/cb?code=c&{ISS}"),
            "st-1",
            1.0,
            false,
            "state_missing",
        ),
        (
            format!("https://op.example/cb?code=c&state=other&{ISS}"),
            "st-1",
            1.0,
            false,
            "state_mismatch",
        ),
        (
            format!("https://op.example/cb?code=c&state=st-1&{ISS}"),
            "st-1",
            1.0,
            true,
            "state_used",
        ),
        (
            format!("https://op.example/cb?code=c&state=st-1&{ISS}"),
            "st-1",
            11.0,
            false,
            "transaction_expired",
        ),
        (
            "https://op.example/cb?code=c&state=st-1&iss=https%3A%2F%2Fevil.example".to_owned(),
            "st-1",
            1.0,
            false,
            "issuer_mismatch",
        ),
        (
            format!("https://op.example/cb?error=access_denied&state=st-1&{ISS}"),
            "st-1",
            1.0,
            false,
            "access_denied",
        ),
    ];
    for (url, state, minutes_ago, used, code) in cases {
        let Fake { sdk, calls, base } = fake(&no_routes(), None);
        set_pending(&base, state, minutes_ago, used);
        let errors = record(&sdk, "error");
        let denied = record(&sdk, "denied");
        let error = complete(&sdk, &url).await.expect_err("refused");
        assert_eq!(string(&error, "code"), code, "{url}");
        assert!(!string(&error, "message").is_empty());
        assert_eq!(calls.length(), 0, "{code}: nothing reaches the backend");
        let events = if code == "access_denied" {
            &denied
        } else {
            &errors
        };
        assert_eq!(events.length(), 1, "{code}: one event");
    }
}

fn completed_routes() -> JsValue {
    let routes = Object::new();
    let consent = r#"{ "status": 201, "body": {
        "id": "c-1",
        "operator": { "name": "すこやか手帳株式会社", "contact": "0120-000-000", "privacyPolicyUrl": "https://example.jp/privacy", "approvalId": "MPA-2025-0123" },
        "items": ["insurance.drugs"],
        "purposes": [{ "category": "healthManagement", "description": "お薬の記録" }],
        "recipients": [],
        "period": { "kind": "linkage", "days": 90 },
        "retention": "30日以内に削除します。",
        "grantedAt": "2026-11-24T10:00:00+09:00",
        "status": "active", "daysLeft": 90, "endDate": "2027-02-22"
    } }"#;
    Reflect::set(
        &routes,
        &"POST /authorizations/complete".into(),
        &json(consent),
    )
    .expect("set");
    routes.into()
}

#[wasm_bindgen_test]
async fn a_good_callback_completes_once_and_the_same_callback_again_shares_its_outcome() {
    // Issue 13: React's StrictMode runs an effect twice; the second call
    // with the same callback must neither reach the backend again nor turn
    // the success into a failure.
    let Fake { sdk, calls, base } = fake(&completed_routes(), None);
    set_pending(&base, "st-1", 1.0, false);
    let granted = record(&sdk, "granted");
    let errors = record(&sdk, "error");
    let url = format!("https://op.example/cb?code=c-9&state=st-1&{ISS}");
    let first = sdk.complete_authorization(url.clone(), JsValue::UNDEFINED);
    let again = sdk.complete_authorization(url.clone(), JsValue::UNDEFINED);
    let consent = JsFuture::from(first).await.expect("completed");
    assert_eq!(string(&consent, "id"), "c-1");
    let same = JsFuture::from(again).await.expect("the same outcome");
    assert_eq!(string(&same, "id"), "c-1");
    let later = complete(&sdk, &url).await.expect("still the same outcome");
    assert_eq!(string(&later, "id"), "c-1");
    assert_eq!(granted.length(), 1, "granted fires once");
    assert_eq!(errors.length(), 0, "no error: {:?}", errors);
    assert_eq!(calls.length(), 1, "the backend is asked once");
    let body = json(&string(&calls.get(0), "body"));
    assert_eq!(string(&body, "code"), "c-9");
    assert_eq!(string(&body, "state"), "st-1");
    assert_eq!(string(&body, "iss"), "http://localhost:8081");
}

#[wasm_bindgen_test]
async fn the_same_callback_in_the_same_target_shows_one_outcome() {
    let Fake { sdk, calls, base } = fake(&completed_routes(), None);
    set_pending(&base, "st-1", 1.0, false);
    let (host, other) = (host(), host());
    let url = format!("https://op.example/cb?code=c-9&state=st-1&{ISS}");
    let with_target = |target: &Element| {
        let options = Object::new();
        Reflect::set(&options, &"target".into(), target).expect("set");
        sdk.complete_authorization(url.clone(), options.into())
    };
    let first = with_target(&host);
    let second = with_target(&host);
    let elsewhere = with_target(&other);
    for promise in [first, second, elsewhere] {
        JsFuture::from(promise).await.expect("completed");
    }
    settle().await;
    assert_eq!(host.child_element_count(), 1, "one screen, not two");
    for target in [&host, &other] {
        let text = text_of(&shadow(target));
        assert!(text.contains("すこやか手帳株式会社"), "{text}");
        assert!(!text.contains("手続は完了していません"), "{text}");
    }
    assert_eq!(calls.length(), 1);
}

#[wasm_bindgen_test]
async fn mounting_into_an_element_that_holds_a_screen_replaces_it() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    let _first = mount_phr(&sdk, &host, PHR);
    let _second = mount_phr(&sdk, &host, PHR);
    settle().await;
    assert_eq!(host.child_element_count(), 1);
    let review = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    assert_eq!(
        host.child_element_count(),
        1,
        "the review replaced the consent screen"
    );
    review.unmount();
    assert_eq!(host.child_element_count(), 0);
}

#[wasm_bindgen_test]
async fn the_callback_leaves_the_address_bar() {
    let Fake { sdk, base, .. } = fake(&completed_routes(), None);
    set_pending(&base, "st-1", 1.0, false);
    let window = web_sys::window().expect("window");
    let before = window.location().href().expect("href");
    let history = window.history().expect("history");
    let location = window.location();
    let page = format!(
        "{}{}",
        location.origin().expect("origin"),
        location.pathname().expect("path")
    );
    let with_callback = format!("{page}?keep=1&code=c-9&state=st-1&{ISS}");
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&with_callback))
        .expect("replace");
    complete(&sdk, &with_callback).await.expect("completed");
    let after = window.location().href().expect("href");
    assert_eq!(
        after,
        format!("{page}?keep=1"),
        "only the callback parameters are removed"
    );
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&before))
        .expect("restore");
}

#[wasm_bindgen_test]
async fn reloading_the_return_page_does_not_claim_nothing_was_shared() {
    // A reported bug: after a successful return, a reload (the callback
    // already removed from the address) said the procedure was tampered with
    // and that nothing had been shared.
    let Fake { sdk, calls, base } = fake(&no_routes(), None);
    set_pending(&base, "st-1", 1.0, true);
    let host = host();
    let result = complete_in(&sdk, "https://op.example/callback.html", &host).await;
    let error = result.expect_err("no callback to complete");
    assert_eq!(string(&error, "code"), "no_callback");
    settle().await;
    let text = text_of(&shadow(&host));
    assert!(
        text.contains("この手続は、すでに完了しているか中止されています。"),
        "{text}"
    );
    assert!(!text.contains("提供されていません"), "{text}");
    assert!(!text.contains("安全のために中止しました"), "{text}");
    assert_eq!(calls.length(), 0);
}

#[wasm_bindgen_test]
async fn the_return_screen_shows_the_outcome_in_plain_words() {
    let Fake { sdk, base, .. } = fake(&no_routes(), None);
    set_pending(&base, "st-1", 1.0, false);
    let host = host();
    let url = format!("https://op.example/cb?error=access_denied&state=st-1&{ISS}");
    let _ = complete_in(&sdk, &url, &host).await;
    settle().await;
    let root = shadow(&host);
    one(&root, "heading", "手続は完了していません");
    let alert = find_all(&root, "alert", None);
    assert!(text_of(&alert.get(0)).contains("マイナポータルで「同意しない」が選ばれました"));
    sdk.destroy();
    assert_eq!(
        host.child_element_count(),
        0,
        "destroy() unmounts the return screen"
    );
}

/// Issue 12: each way a completion can fail has its own words and its own
/// `code`, and none of them is worded as the citizen's refusal.
#[wasm_bindgen_test]
async fn each_failed_completion_says_what_happened() {
    let cases = [
        // (backend status, cause, event code, words on screen, "nothing shared" shown)
        (
            502,
            "nothing_granted",
            "nothing_granted",
            "提供を認められた情報が一つもありませんでした",
            true,
        ),
        (
            502,
            "configuration",
            "configuration_error",
            "やり直しても同じ結果になります",
            true,
        ),
        (
            503,
            "temporary",
            "temporarily_unavailable",
            "一時的に利用できない",
            true,
        ),
        (
            502,
            "uncertain",
            "outcome_uncertain",
            "完了したかどうかを確認できませんでした",
            false,
        ),
    ];
    for (status, cause, code, words, nothing_shared) in cases {
        let problem = format!(
            r#"{{ "status": {status}, "body": {{ "code": "authority_failed", "title": "t", "cause": "{cause}", "step": "token" }} }}"#
        );
        let Fake { sdk, calls, base } = fake(&completion_answered(&problem), None);
        set_pending(&base, "st-1", 1.0, false);
        let errors = record(&sdk, "error");
        let denied = record(&sdk, "denied");
        let host = host();
        let url = format!("https://op.example/cb?code=c&state=st-1&{ISS}");
        let refused = complete_in(&sdk, &url, &host)
            .await
            .expect_err("not completed");
        settle().await;
        assert_eq!(calls.length(), 1, "{cause}: the backend was asked once");
        assert_eq!(string(&refused, "code"), code);
        assert_eq!(errors.length(), 1, "{cause}: one error event");
        assert_eq!(string(&errors.get(0), "code"), code);
        assert_eq!(
            string(&errors.get(0), "cause"),
            cause,
            "the developer keeps the cause"
        );
        assert_eq!(
            denied.length(),
            0,
            "{cause}: never reported as the citizen's refusal"
        );
        let text = text_of(&shadow(&host));
        assert!(text.contains(words), "{cause}: {text}");
        assert!(!text.contains("同意しない"), "{cause}: {text}");
        // Issue 13: the developer's message is English; the citizen's words
        // travel apart, the same words the screen shows.
        for failure in [&refused, &errors.get(0)] {
            assert!(
                string(failure, "message").is_ascii(),
                "{cause}: {}",
                string(failure, "message")
            );
            assert!(string(failure, "citizenMessage").contains(words), "{cause}");
        }
        assert_eq!(
            text.contains("あなたの情報は提供されていません"),
            nothing_shared,
            "{cause}: {text}"
        );
        sdk.destroy();
    }
}

#[wasm_bindgen_test]
async fn a_completion_whose_answer_was_lost_is_uncertain_not_nothing_shared() {
    // The backend may have exchanged the code and stored the consent, its
    // answer lost on the way (the network, a gateway, an unreadable 2xx):
    // the citizen is sent to check, never told that nothing was shared. A
    // 4xx that is no problem is the backend's refusal: nothing was shared.
    let cases = [
        (r#"{ "network": true }"#, true),
        (r#"{ "status": 504, "body": "Gateway Timeout" }"#, true),
        (r#"{ "status": 201, "body": {} }"#, true),
        (r#"{ "status": 400, "body": "Bad Request" }"#, false),
    ];
    for (answer, uncertain) in cases {
        let Fake { sdk, base, .. } = fake(&completion_answered(answer), None);
        set_pending(&base, "st-1", 1.0, false);
        let errors = record(&sdk, "error");
        let host = host();
        let url = format!("https://op.example/cb?code=c&state=st-1&{ISS}");
        let refused = complete_in(&sdk, &url, &host)
            .await
            .expect_err("not completed");
        settle().await;
        let text = text_of(&shadow(&host));
        if uncertain {
            assert_eq!(string(&refused, "code"), "outcome_uncertain", "{answer}");
            assert_eq!(string(&errors.get(0), "cause"), "uncertain", "{answer}");
            assert!(
                text.contains("完了したかどうかを確認できませんでした"),
                "{answer}: {text}"
            );
        } else {
            assert_eq!(string(&refused, "code"), "backend_unexpected", "{answer}");
        }
        assert_eq!(
            text.contains("あなたの情報は提供されていません"),
            !uncertain,
            "{answer}: {text}"
        );
        sdk.destroy();
    }
}

// ---- Review and revocation. ----

fn review_routes(revocation: &[&str]) -> JsValue {
    let routes = Object::new();
    let consents = r#"{ "status": 200, "body": { "consents": [
      { "id": "c-1",
        "operator": { "name": "すこやか手帳株式会社", "contact": "0120-000-000", "privacyPolicyUrl": "https://example.jp/privacy", "approvalId": "MPA-2025-0123" },
        "items": ["insurance.drugs", "insurance.dispensing"],
        "purposes": [{ "category": "healthManagement", "description": "お薬の記録" }],
        "recipients": [{ "name": "ゆうゆう健康アプリ株式会社", "contact": "0120-111-222",
          "privacyPolicyUrl": "https://yuyu.example.jp/privacy", "approvalId": "MPA-2025-2020",
          "purposeCategory": "healthManagement", "purpose": "生活習慣のアドバイスを表示するため" }],
        "period": { "kind": "linkage", "days": 90 },
        "retention": "30日以内に削除します。",
        "grantedAt": "2026-11-24T10:00:00+09:00",
        "status": "active", "daysLeft": 90, "endDate": "2027-02-22" },
      { "id": "c-2",
        "operator": { "name": "みらいローン株式会社", "contact": "support@example.jp", "privacyPolicyUrl": "https://example.jp/loan", "approvalId": "MPA-2025-0456" },
        "items": ["insurance.checkups"],
        "purposes": [{ "category": "healthManagement", "description": "健診の記録" }],
        "recipients": [], "period": { "kind": "linkage", "days": 30 },
        "retention": "すぐに削除します。",
        "grantedAt": "2026-08-01T10:00:00+09:00",
        "status": "expired", "daysLeft": 0, "endDate": "2026-08-31" },
      { "id": "c-3",
        "operator": { "name": "つなぐヘルス株式会社", "contact": "help@example.jp", "privacyPolicyUrl": "https://example.jp/tsunagu", "approvalId": "MPA-2025-1010" },
        "items": ["insurance.drugs"],
        "purposes": [{ "category": "healthManagement", "description": "お薬の記録" }],
        "recipients": [{ "name": "あやしい解析株式会社", "contact": "0120-333-444",
          "privacyPolicyUrl": "javascript:alert(document.domain)",
          "purposeCategory": "healthManagement", "purpose": "解析のため" }],
        "period": { "kind": "linkage", "days": 90 },
        "retention": "30日以内に削除します。",
        "grantedAt": "2026-11-01T10:00:00+09:00",
        "lastRetrievalAt": "2026-11-23T01:00:00Z",
        "nextRetrievalAt": "2026-11-25T01:05:00Z", "retrievalFailures": 2,
        "status": "active", "daysLeft": 66, "endDate": "2027-01-30" }
    ] } }"#;
    Reflect::set(&routes, &"GET /consents".into(), &json(consents)).expect("set");
    let answers = Array::new();
    for answer in revocation {
        answers.push(&json(answer));
    }
    Reflect::set(&routes, &"POST /consents/c-1/revocation".into(), &answers).expect("set");
    routes.into()
}

const REVOKE_FAILS: &str = r#"{ "status": 502, "body": { "code": "revocation_failed", "title": "The authority could not be reached" } }"#;
const REVOKE_OK: &str = r#"{ "status": 200, "body": { "receipt": { "receiptId": "r-77", "event": "revocation", "issuedAt": "2026-11-25T09:00:00+09:00" }, "sha256": "5dbcf9c5ea5e248c8e08355cb5fb747352cbb9c25ae9fefecbfaddaa7bfd5597" } }"#;

#[wasm_bindgen_test]
async fn review_lists_each_consent_with_dates_status_and_actions() {
    let Fake { sdk, .. } = fake(&review_routes(&[REVOKE_OK]), None);
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    let root = shadow(&host);
    one(&root, "heading", "マイナポータル連携の同意の確認");
    let active = one(&root, "article", "すこやか手帳株式会社");
    let text = text_of(&active);
    for expected in [
        "有効",
        "2026年11月24日",
        "2027年2月22日",
        "あと90日",
        "まだ取得していません",
        "薬剤情報",
        "お薬の記録",
        "ほかの事業者への提供",
        "ゆうゆう健康アプリ株式会社",
        "0120-111-222",
        "MPA-2025-2020",
        "生活習慣のアドバイスを表示するため",
    ] {
        assert!(
            text.contains(expected),
            "the active card shows {expected:?}: {text}"
        );
    }
    let policy = one(
        &active,
        "link",
        "ゆうゆう健康アプリ株式会社のプライバシーポリシーを見る（新しいタブで開きます）",
    );
    assert_eq!(
        policy.get_attribute("href").as_deref(),
        Some("https://yuyu.example.jp/privacy")
    );
    // A consent from the backend is not checked as a request is: its
    // recipient is said, but a policy URL the request rules refuse (here
    // javascript:) is no link.
    let other = one(&root, "article", "つなぐヘルス株式会社");
    assert!(text_of(&other).contains("あやしい解析株式会社"));
    assert_eq!(find_all(&other, "link", None).length(), 0);
    none(&active, "button", "同意を更新する");
    one(&active, "button", "同意を撤回する");
    // Issue 12: a live consent's items are what is being shared, with the
    // operator's retention; an ended one's, what was shared; recipients
    // are always said, even when there are none.
    one(&active, "heading", "提供している情報");
    none(&active, "heading", "提供する情報");
    one(&active, "heading", "事業者による情報の保存について");
    assert!(text.contains("30日以内に削除します。"), "{text}");
    let expired = one(&root, "article", "みらいローン株式会社");
    one(&expired, "heading", "提供していた情報");
    one(&expired, "heading", "ほかの事業者への提供");
    // An ended consent's recipients are said in the past tense.
    assert!(text_of(&expired).contains("ほかの事業者に提供されることはありませんでした。"));
    assert!(text.contains("次の事業者にも提供されます。"), "{text}");
    assert!(text_of(&expired).contains("期間終了"));
    one(&expired, "button", "同意を更新する");
    assert!(
        !text.contains("もう一度取得します"),
        "no retry line where nothing failed"
    );
    // Automatic retrievals that failed say so, with the next try in JST.
    let failing = text_of(&one(&root, "article", "つなぐヘルス株式会社"));
    assert!(
        failing.contains("2026年11月23日 10:00")
            && failing.contains(
                "前回の自動の取得はできませんでした。2026年11月25日 10:05にもう一度取得します。"
            ),
        "{failing}"
    );
}

#[wasm_bindgen_test]
async fn review_shows_the_empty_and_failed_states() {
    let routes = Object::new();
    Reflect::set(&routes, &"GET /consents".into(), &json(r#"[{ "status": 500, "body": { "code": "internal", "title": "x" } }, { "status": 200, "body": { "consents": [] } }]"#)).expect("set");
    let Fake { sdk, .. } = fake(&routes.into(), None);
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    let root = shadow(&host);
    let alert = find_all(&root, "alert", None);
    assert!(text_of(&alert.get(0)).contains("同意の一覧を読み込めませんでした"));
    one(&root, "button", "もう一度試す").click();
    settle().await;
    assert!(text_of(&root).contains("マイナポータル連携の同意は、まだありません"));
}

#[wasm_bindgen_test]
async fn revocation_dialog_traps_focus_and_escape_returns_it() {
    let Fake { sdk, .. } = fake(&review_routes(&[REVOKE_OK]), None);
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    let root = shadow(&host);
    let revoke = one(
        &one(&root, "article", "すこやか手帳株式会社").into(),
        "button",
        "同意を撤回する",
    );
    revoke.focus().expect("focus");
    revoke.click();
    settle().await;
    let dialog = one(&root, "dialog", "同意を撤回しますか");
    assert!(text_of(&dialog).contains("すこやか手帳株式会社への情報の提供はすぐに止まり"));
    assert!(
        text_of(&dialog).contains("30日以内に削除します。"),
        "the retention statement is shown"
    );
    let keep = one(&dialog, "button", "撤回しない");
    let confirm = one(&dialog, "button", "撤回する");
    // Focus moves in on the next animation frame.
    for _ in 0..40 {
        if active_in(&root) == JsValue::from(keep.clone()) {
            break;
        }
        settle().await;
    }
    assert_eq!(
        active_in(&root),
        JsValue::from(keep.clone()),
        "focus moves into the dialog"
    );
    confirm.focus().expect("focus");
    press(&confirm, "Tab", false);
    assert_eq!(
        active_in(&root),
        JsValue::from(keep.clone()),
        "Tab wraps to the first control"
    );
    press(&keep, "Tab", true);
    assert_eq!(
        active_in(&root),
        JsValue::from(confirm.clone()),
        "Shift+Tab wraps to the last control"
    );
    let init = web_sys::EventInit::new();
    init.set_cancelable(true);
    let cancel = web_sys::Event::new_with_event_init_dict("cancel", &init).expect("event");
    dialog.dispatch_event(&cancel).expect("dispatch");
    settle().await;
    assert_eq!(
        find_all(&root, "dialog", None).length(),
        0,
        "Escape closes the dialog"
    );
    assert_eq!(
        active_in(&root),
        JsValue::from(revoke),
        "focus returns to the button that opened it"
    );
}

#[wasm_bindgen_test]
async fn a_receipt_that_cannot_be_fetched_says_so_and_can_be_fetched_again() {
    // It used to fail in silence: the button did nothing the citizen could see.
    let routes = review_routes(&[]);
    let answers = Array::new();
    answers.push(&json(r#"{ "network": true }"#));
    answers.push(&json(
        r#"{ "status": 200, "body": { "receipt": { "receiptId": "r-12", "event": "grant", "grantedAt": "2026-11-24T10:00:00+09:00" }, "sha256": "27683e383a6fa1719a6c5f2a5cce04c4de2f27d7dec645256c64634654ad1701" } }"#,
    ));
    Reflect::set(&routes, &"GET /consents/c-1/receipt".into(), &answers).expect("set");
    let Fake { sdk, .. } = fake(&routes, None);
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    let root = shadow(&host);
    let card: JsValue = one(&root, "article", "すこやか手帳株式会社").into();
    one(&card, "button", "同意の控えを見る").click();
    settle().await;
    let alerts = find_all(&card, "alert", None);
    assert_eq!(alerts.length(), 1);
    assert!(text_of(&alerts.get(0)).contains("同意の控えを表示できませんでした"));
    assert_eq!(errors.length(), 1);
    assert_eq!(string(&errors.get(0), "code"), "network");
    assert!(string(&errors.get(0), "citizenMessage").contains("同意の控えを表示できませんでした"));
    one(&card, "button", "同意の控えを見る").click();
    settle().await;
    assert_eq!(
        find_all(&card, "alert", None).length(),
        0,
        "the failure is gone"
    );
    assert!(text_of(&card).contains("r-12"), "the receipt is shown");
}

#[wasm_bindgen_test]
async fn a_failed_revocation_is_shown_as_failed_and_can_be_retried() {
    let Fake { sdk, calls, .. } = fake(&review_routes(&[REVOKE_FAILS, REVOKE_OK]), None);
    let revoked = record(&sdk, "revoked");
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    let root = shadow(&host);
    one(
        &one(&root, "article", "すこやか手帳株式会社").into(),
        "button",
        "同意を撤回する",
    )
    .click();
    settle().await;
    let dialog = one(&root, "dialog", "同意を撤回しますか");
    one(&dialog, "button", "撤回する").click();
    settle().await;
    assert!(text_of(&dialog).contains("撤回できませんでした。同意はまだ有効です。"));
    assert_eq!(revoked.length(), 0, "a failure is never reported as done");
    // The developer's message apart from the words the citizen read.
    let failure = errors.get(0);
    assert!(
        string(&failure, "message").is_ascii(),
        "{}",
        string(&failure, "message")
    );
    assert!(string(&failure, "citizenMessage").contains("撤回できませんでした"));
    assert_eq!(errors.length(), 1);
    let card = one(&root, "article", "すこやか手帳株式会社");
    assert!(
        text_of(&card).contains("有効"),
        "the consent still shows as active"
    );
    one(&dialog, "button", "もう一度撤回する").click();
    settle().await;
    let dialog = one(&root, "dialog", "同意を撤回しました");
    assert!(text_of(&dialog).contains("r-77"), "the receipt is shown");
    one(&dialog, "button", "控えをダウンロードする（JSON形式）");
    assert_eq!(revoked.length(), 1, "revoked fires once");
    assert_eq!(string(&revoked.get(0), "consentId"), "c-1");
    let revocations = calls
        .iter()
        .filter(|c| string(c, "key") == "POST /consents/c-1/revocation")
        .count();
    assert_eq!(revocations, 2);
    let card = one(&root, "article", "すこやか手帳株式会社");
    assert!(text_of(&card).contains("撤回済み"));
    none(&card, "button", "同意を撤回する");
}

// ---- Requests defined on the backend. ----

#[wasm_bindgen_test]
async fn the_request_is_fetched_in_the_citizens_language() {
    let made = fake_backend(&no_routes());
    let base = made.get(0).as_string().expect("base");
    let calls: Array = made.get(1).unchecked_into();
    let options = Object::new();
    Reflect::set(&options, &"backend".into(), &base.into()).expect("set");
    Reflect::set(&options, &"locale".into(), &"en".into()).expect("set");
    let sdk = MynaConsent::with_options(&options).expect("options");
    let host = host();
    let _handle = mount_phr(&sdk, &host, PHR);
    settle().await;
    let call = calls.get(0);
    assert!(string(&call, "key").starts_with("GET /requests/req-"));
    assert_eq!(string(&call, "search"), "?locale=en");
    one(
        &shadow(&host),
        "heading",
        "すこやか手帳株式会社 asks for your consent to receive your information",
    );
}

#[wasm_bindgen_test]
async fn a_request_that_cannot_be_loaded_says_so_and_can_be_retried() {
    let id = define_request(&json(PHR));
    let routes = Object::new();
    let answers = json(
        r#"[{ "network": true }, { "status": 404, "body": { "code": "request_not_found", "title": "No such consent request" } }]"#,
    );
    Reflect::set(&routes, &format!("GET /requests/{id}").into(), &answers).expect("set");
    let Fake { sdk, calls, .. } = fake(&routes.into(), None);
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = sdk
        .mount_consent(host.clone().into(), options("request", &id.clone().into()))
        .expect("mounted");
    settle().await;
    let root = shadow(&host);
    let alert = find_all(&root, "alert", None);
    assert_eq!(alert.length(), 1);
    assert!(text_of(&alert.get(0)).contains("同意の画面を表示できませんでした"));
    assert!(text_of(&alert.get(0)).contains("通信の状態を確認して"));
    assert_eq!(string(&errors.get(0), "code"), "network");
    none(&root, "button", "同意してマイナポータルへ進む");
    one(&root, "button", "もう一度試す").click();
    settle().await;
    assert!(text_of(&root).contains("この同意の内容は見つかりませんでした"));
    assert_eq!(string(&errors.get(1), "code"), "request_not_found");
    one(&root, "button", "もう一度試す").click();
    settle().await;
    // The backend's list is spent: the last answer repeats.
    assert_eq!(calls.length(), 3, "each try fetches again");
}

/// Reported: a text with CRLF or a tab passed the SDK and was refused by
/// the authority after 同意. Whatever serves it, the SDK refuses it first.
#[wasm_bindgen_test]
async fn a_request_with_a_carriage_return_or_tab_is_refused_before_agree() {
    let Fake { sdk, calls, .. } = fake(&no_routes(), None);
    let errors = record(&sdk, "error");
    let request = PHR
        .replace(
            "連携をやめたときは30日以内に削除します。",
            "連携をやめたときは\\r\\n30日以内に削除します。",
        )
        .replace(
            "お薬の記録と服薬アラームに使います。",
            "お薬の記録と\\t服薬アラームに使います。",
        );
    let host = host();
    let _handle = mount_phr(&sdk, &host, &request);
    settle().await;
    let root = shadow(&host);
    none(&root, "button", "同意してマイナポータルへ進む");
    let panel = text_of(&find_all(&root, "alert", None).get(0));
    assert!(
        panel.contains("purposes[0].description") && panel.contains("retention"),
        "{panel}"
    );
    assert_eq!(string(&errors.get(0), "code"), "invalid_request");
    assert_eq!(posts(&calls).length(), 0);
    let verdict = MynaConsent::validate(json(&request), None).expect("result");
    assert_eq!(get(&verdict, "ok"), JsValue::FALSE);
    let codes: Vec<String> = Array::from(&get(&verdict, "errors"))
        .iter()
        .map(|e| string(&e, "code"))
        .collect();
    assert_eq!(codes, ["control_character", "control_character"]);
}

#[wasm_bindgen_test]
async fn a_draft_is_marked_as_a_preview_and_sends_nothing() {
    let Fake { sdk, calls, .. } = fake(&started_route(true), Some(&Function::new_no_args("")));
    let errors = record(&sdk, "error");
    let host = host();
    let _handle = sdk
        .mount_consent(host.clone().into(), options("draft", &json(PHR)))
        .expect("mounted");
    settle().await;
    let root = shadow(&host);
    assert!(text_of(&root).contains("これは確認用の表示（下書き）です"));
    one(&root, "button", "同意してマイナポータルへ進む").click();
    settle().await;
    assert_eq!(calls.length(), 0, "a draft never reaches the backend");
    assert_eq!(string(&errors.get(0), "code"), "draft_request");
    assert!(text_of(&root).contains("確認用の表示のため、送信しませんでした。"));
}

#[wasm_bindgen_test]
fn mount_consent_needs_a_request_id_or_a_draft() {
    let Fake { sdk, .. } = fake(&no_routes(), None);
    let host = host();
    for bad in [json("{}"), json(PHR), options("request", &"".into())] {
        let thrown = sdk
            .mount_consent(host.clone().into(), bad)
            .err()
            .expect("refused");
        assert_eq!(string(&thrown, "code"), "invalid_options");
        assert_eq!(string(&thrown, "field"), "request");
    }
    assert_eq!(host.child_element_count(), 0);
}

#[wasm_bindgen_test]
async fn the_operators_sign_in_token_goes_with_every_call() {
    let made = fake_backend(&review_routes(&[REVOKE_OK]));
    let base = made.get(0).as_string().expect("base");
    let calls: Array = made.get(1).unchecked_into();
    let options = Object::new();
    Reflect::set(&options, &"backend".into(), &base.into()).expect("set");
    let token = Function::new_no_args("return Promise.resolve('signed-in-token')");
    Reflect::set(&options, &"userToken".into(), &token).expect("set");
    let sdk = MynaConsent::with_options(&options).expect("options");
    let host = host();
    let _handle = sdk.mount_review(host.clone().into()).expect("mounted");
    settle().await;
    assert_eq!(
        string(&calls.get(0), "authorization"),
        "Bearer signed-in-token"
    );
    JsFuture::from(sdk.revoke("c-1".into()))
        .await
        .expect("revoked");
    let last = calls.get(calls.length() - 1);
    assert_eq!(string(&last, "key"), "POST /consents/c-1/revocation");
    assert_eq!(string(&last, "authorization"), "Bearer signed-in-token");

    let bad = Object::new();
    Reflect::set(&bad, &"backend".into(), &"/myna".into()).expect("set");
    Reflect::set(&bad, &"userToken".into(), &"not-a-function".into()).expect("set");
    let thrown = MynaConsent::with_options(&bad).err().expect("refused");
    assert_eq!(string(&thrown, "field"), "userToken");
}
