//! The JS API in a real browser (headless Chromium through
//! wasm-bindgen-test): what an operator's page gets when it calls
//! `MynaConsent.catalogue()` and `MynaConsent.validate()`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect, JSON};
use myna_consent::js::MynaConsent;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).expect("readable property")
}

fn string(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn parse(json: &str) -> JsValue {
    JSON::parse(json).expect("fixture is JSON")
}

const PHR: &str = r#"{
  "operator": {
    "name": "すこやか手帳株式会社",
    "contact": "0120-000-000",
    "privacyPolicyUrl": "https://example.jp/privacy",
    "approvalId": "MPA-2025-0123"
  },
  "items": { "required": ["insurance.drugs"], "optional": ["insurance.treatment"] },
  "purposes": [{ "category": "healthManagement", "description": "お薬の記録に使います。" }],
  "period": { "kind": "linkage", "days": 90 },
  "retention": "連携をやめたときは30日以内に削除します。"
}"#;

#[wasm_bindgen_test]
fn catalogue_is_a_plain_object_in_japanese_by_default() {
    let catalogue = MynaConsent::catalogue(None).expect("catalogue");
    assert!(
        !catalogue.is_instance_of::<js_sys::Map>(),
        "JSON data must be plain objects"
    );
    assert_eq!(string(&catalogue, "locale"), "ja");
    assert_eq!(Array::from(&get(&catalogue, "apis")).length(), 16);
    let categories = Array::from(&get(&catalogue, "categories"));
    let biochemistry = categories
        .iter()
        .find(|category| string(category, "id") == "ehr.lab.biochemistry")
        .expect("biochemistry group");
    let items = Array::from(&get(&biochemistry, "items"));
    assert_eq!(items.length(), 26);
    let hba1c = items
        .iter()
        .find(|item| string(item, "id") == "ehr.lab.hba1c")
        .expect("HbA1c");
    assert_eq!(string(&hba1c, "availability"), "notYetOffered");
    assert!(string(&hba1c, "explanation").contains("血糖"));
}

#[wasm_bindgen_test]
fn catalogue_speaks_english_when_asked() {
    let catalogue = MynaConsent::catalogue(Some("en".into())).expect("catalogue");
    assert_eq!(string(&catalogue, "locale"), "en");
    let first_api = Array::from(&get(&catalogue, "apis")).get(0);
    assert_eq!(string(&first_api, "name"), "Single sign-on");
}

#[wasm_bindgen_test]
fn catalogue_throws_a_typed_error_for_an_unknown_locale() {
    let error = MynaConsent::catalogue(Some("fr".into())).expect_err("unknown locale");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(string(&error, "code"), "unknown_locale");
    assert_eq!(string(&error, "field"), "locale");
    assert!(string(&error, "message").contains("fr"));
}

#[wasm_bindgen_test]
fn validate_accepts_a_compliant_request_and_flags_special_care() {
    let result = MynaConsent::validate(parse(PHR), None).expect("result");
    assert_eq!(get(&result, "ok"), JsValue::TRUE);
    assert_eq!(get(&result, "needsSeparateConfirmation"), JsValue::TRUE);
    let special = Array::from(&get(&result, "specialCareItems"));
    assert_eq!(
        special.get(0).as_string().as_deref(),
        Some("insurance.treatment")
    );
    let request = get(&result, "request");
    assert_eq!(
        string(&get(&request, "operator"), "approvalId"),
        "MPA-2025-0123"
    );
    assert_eq!(string(&request, "locale"), "ja");
}

#[wasm_bindgen_test]
fn validate_reports_every_error_with_code_field_and_message() {
    let request = parse(PHR);
    let operator = get(&request, "operator");
    Reflect::set(
        &operator,
        &"privacyPolicyUrl".into(),
        &"http://example.jp/p".into(),
    )
    .expect("set");
    Reflect::set(&request, &"purposes".into(), &Array::new()).expect("set");
    Reflect::set(
        &get(&request, "period"),
        &"days".into(),
        &JsValue::from(365),
    )
    .expect("set");
    let result = MynaConsent::validate(request, Some("en".into())).expect("result");
    assert_eq!(get(&result, "ok"), JsValue::FALSE);
    let found: Vec<(String, String)> = Array::from(&get(&result, "errors"))
        .iter()
        .map(|error| {
            assert!(!string(&error, "message").is_empty());
            (string(&error, "code"), string(&error, "field"))
        })
        .collect();
    let expected = [
        ("insecure_url", "operator.privacyPolicyUrl"),
        ("no_purpose", "purposes"),
        ("period_out_of_range", "period.days"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[wasm_bindgen_test]
fn validate_messages_follow_the_request_locale() {
    let request = parse(PHR);
    Reflect::set(&request, &"locale".into(), &"en".into()).expect("set");
    Reflect::set(&request, &"retention".into(), &"".into()).expect("set");
    let result = MynaConsent::validate(request, None).expect("result");
    let error = Array::from(&get(&result, "errors")).get(0);
    assert_eq!(string(&error, "message"), "Required.");
    let japanese = parse(PHR);
    Reflect::set(&japanese, &"retention".into(), &"".into()).expect("set");
    let result = MynaConsent::validate(japanese, None).expect("result");
    let error = Array::from(&get(&result, "errors")).get(0);
    assert_eq!(string(&error, "message"), "入力してください。");
}

#[wasm_bindgen_test]
fn validate_treats_undefined_as_missing() {
    let request = parse(PHR);
    Reflect::set(
        &get(&request, "operator"),
        &"name".into(),
        &JsValue::UNDEFINED,
    )
    .expect("set");
    let result = MynaConsent::validate(request, None).expect("result");
    let error = Array::from(&get(&result, "errors")).get(0);
    assert_eq!(string(&error, "code"), "required");
    assert_eq!(string(&error, "field"), "operator.name");
}

#[wasm_bindgen_test]
fn validate_refuses_what_is_not_an_object() {
    for value in [JsValue::NULL, JsValue::from_str(PHR), JsValue::from(3)] {
        let result = MynaConsent::validate(value, None).expect("result");
        let error = Array::from(&get(&result, "errors")).get(0);
        assert_eq!(string(&error, "code"), "wrong_type");
        assert_eq!(string(&error, "field"), "");
    }
}

#[wasm_bindgen_test]
fn validate_refuses_values_that_are_not_json() {
    let function = js_sys::Function::new_no_args("return 1");
    let result = MynaConsent::validate(function.unchecked_into(), None).expect("result");
    let error = Array::from(&get(&result, "errors")).get(0);
    assert_eq!(string(&error, "code"), "invalid_json");
}

#[wasm_bindgen_test]
fn validate_throws_for_an_unknown_message_locale() {
    let error = MynaConsent::validate(parse(PHR), Some("de".into())).expect_err("unknown locale");
    assert_eq!(string(&error, "code"), "unknown_locale");
}

/// The browser's URL reads what the `url` crate reads natively (the same
/// cases as src/weburl.rs's native tests): the wasm package relies on it.
#[wasm_bindgen_test]
fn urls_parse_as_natively() {
    use myna_consent::weburl::parse;
    let url = parse("https://User:pw@Example.JP:8443/a?code=x%20y&state=s+t#f").unwrap();
    assert_eq!(url.scheme, "https");
    assert_eq!(url.host, "example.jp");
    assert!(url.has_credentials);
    let pairs: Vec<_> = url.query_pairs().collect();
    assert_eq!(
        pairs,
        [
            ("code".to_owned(), "x y".to_owned()),
            ("state".to_owned(), "s t".to_owned())
        ]
    );
    assert!(parse("/relative").is_none());
    for text in myna_consent::weburl::LOOPBACK {
        assert!(parse(text).unwrap().is_loopback(), "{text}");
    }
    for text in myna_consent::weburl::NOT_LOOPBACK {
        assert!(!parse(text).unwrap().is_loopback(), "{text}");
    }
    assert_eq!(parse("mailto:a@example.jp").unwrap().host, "");
}

/// The browser's RFC 3339 (src/rfc3339.rs) reads what the backend writes.
#[wasm_bindgen_test]
fn timestamps_read_and_write_as_natively() {
    use myna_consent::rfc3339::own::{format, parse};
    let at = parse("2026-11-25T18:56:53.120+09:00").unwrap();
    assert_eq!(format(at).unwrap(), "2026-11-25T18:56:53.12+09:00");
    assert_eq!(at.unix_timestamp(), 1_795_600_613);
}

/// The theme guard's arithmetic (src/ui/theme.rs): computed colours as
/// browsers write them, and WCAG's contrast ratio.
mod theme {
    use myna_consent::ui::theme::{contrast, decimal, parse_colour, MIN_CONTRAST};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn reads_computed_colours() {
        assert_eq!(
            parse_colour("rgb(255, 255, 255)"),
            Some((255.0, 255.0, 255.0, 1.0))
        );
        assert_eq!(
            parse_colour("rgba(0, 0, 0, 0.5)"),
            Some((0.0, 0.0, 0.0, 0.5))
        );
        assert_eq!(
            parse_colour("rgb(10 20 30 / 50%)"),
            Some((10.0, 20.0, 30.0, 0.5))
        );
        assert_eq!(
            parse_colour("color(srgb 1 0 0.5)"),
            Some((255.0, 0.0, 127.5, 1.0))
        );
        assert_eq!(parse_colour("oklch(0.5 0.1 200)"), None);
        assert_eq!(parse_colour("rgb(1, 2)"), None);
    }

    #[wasm_bindgen_test]
    fn decimals_as_computed_styles_write_them() {
        assert_eq!(decimal("12"), Some(12.0));
        assert_eq!(decimal("0.5"), Some(0.5));
        assert_eq!(decimal(".25"), Some(0.25));
        assert_eq!(decimal("-1.25"), Some(-1.25));
        assert_eq!(decimal("15.5"), Some(15.5));
        for bad in ["", ".", "1e3", "1.2.3", "abc", "+1", "1,5"] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[wasm_bindgen_test]
    fn contrast_as_wcag_defines_it() {
        let white = (255.0, 255.0, 255.0, 1.0);
        let black = (0.0, 0.0, 0.0, 1.0);
        assert!((contrast(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast(white, white) - 1.0).abs() < 1e-9);
        // The SDK's own muted grey on white passes; #777 does not.
        assert!(contrast((77.0, 77.0, 77.0, 1.0), white) >= MIN_CONTRAST);
        assert!(contrast((119.0, 119.0, 119.0, 1.0), white) < MIN_CONTRAST);
        // Half-transparent black on white is a mid grey.
        let ratio = contrast((0.0, 0.0, 0.0, 0.5), white);
        assert!(ratio > 3.0 && ratio < 4.5, "{ratio}");
    }
}

/// JSON crosses to JavaScript as `JSON.parse` would have made it: a
/// `__proto__` member is data, not the object's prototype, and whole
/// numbers stay whole.
#[wasm_bindgen_test]
fn json_values_cross_to_javascript_as_json_parse_makes_them() {
    let value = serde_json::json!({
        "__proto__": { "polluted": true },
        "count": 3,
        "items": ["a", null, false, -7],
    });
    let crossed = myna_consent::wire::to_js(&value);
    let object: &js_sys::Object = crossed.unchecked_ref();
    let keys: Vec<String> = js_sys::Object::keys(object)
        .iter()
        .filter_map(|key| key.as_string())
        .collect();
    assert_eq!(keys, ["__proto__", "count", "items"]);
    assert!(
        get(&crossed, "polluted").is_undefined(),
        "the prototype is untouched"
    );
    assert_eq!(
        JSON::stringify(&crossed)
            .expect("JSON")
            .as_string()
            .as_deref(),
        Some(r#"{"__proto__":{"polluted":true},"count":3,"items":["a",null,false,-7]}"#)
    );
    assert_eq!(myna_consent::wire::from_js(&crossed), Some(value));
}
