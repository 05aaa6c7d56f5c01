//! Validation reads any JSON without panicking, its verdict is stable, and
//! the request rules and the terms rules (what the authority checks) agree.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use myna_consent::request;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        // Field names and item ids that the validator knows, so the search
        // reaches the deeper rules, not only the type checks.
        prop::sample::select(vec![
            "operator",
            "items",
            "required",
            "optional",
            "purposes",
            "period",
            "linkage",
            "oneTime",
            "insurance.drugs",
            "ehr.lab.hba1c",
            "ehr.patient_summary",
            "advertising",
            "https://example.jp/",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop::sample::select(vec![
            "operator",
            "name",
            "contact",
            "privacyPolicyUrl",
            "approvalId",
            "items",
            "required",
            "optional",
            "purposes",
            "category",
            "description",
            "period",
            "kind",
            "days",
            "recipients",
            "purpose",
            "retention",
            "locale",
            "preview",
            "other",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..8).prop_map(|pairs| Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validation_never_panics_on_arbitrary_json(value in arbitrary_json()) {
        match request::parse(&value) {
            Ok(valid) => prop_assert!(valid.request().clone().validate().is_ok()),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn validation_never_panics_on_arbitrary_text(text in ".{0,64}") {
        let _ = request::parse_json(&text);
    }

    /// The SDK and the backend check a request with `parse`, the authority
    /// checks the same texts as terms with `parse_terms`: for any text in
    /// any multi-line field, both say yes or both say no.
    #[test]
    fn request_and_terms_agree_on_every_text(
        field in prop::sample::select(vec!["retention", "description", "recipientPurpose"]),
        text in prop_oneof![".{0,24}", "[a-z\\r\\n\\t\\u{0}\\u{202e}\\u{85} あ]{0,12}"],
    ) {
        let mut request = common::phr_request();
        request["recipients"] = serde_json::json!([{
            "name": "ゆうゆう健康アプリ株式会社", "contact": "03-0000-0000",
            "privacyPolicyUrl": "https://example.jp/p", "purposeCategory": "healthManagement",
            "purpose": "健診の結果を表示します。"
        }]);
        let pointer = match field {
            "retention" => "/retention",
            "description" => "/purposes/0/description",
            _ => "/recipients/0/purpose",
        };
        *request.pointer_mut(pointer).expect("field") = Value::String(text.clone());
        let mut terms = request.clone();
        let object = terms.as_object_mut().expect("object");
        for key in ["operator", "locale", "preview"] {
            object.remove(key);
        }
        object["items"] = serde_json::json!(["insurance.drugs", "insurance.dispensing"]);
        let by_request = request::parse(&request).is_ok();
        let by_terms = request::parse_terms(&terms, false).is_ok();
        prop_assert_eq!(by_request, by_terms, "{:?}", text);
    }

    #[test]
    fn a_valid_request_with_one_field_replaced_reports_that_field(
        pointer in prop::sample::select(vec![
            "/operator/name", "/operator/contact", "/operator/privacyPolicyUrl", "/operator/approvalId",
            "/purposes/0/description", "/retention",
        ]),
        replacement in prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), Just(Value::from(""))],
    ) {
        let value = common::with(common::phr_request(), pointer, replacement);
        let errors = request::parse(&value).expect_err("a required text was removed");
        let field = pointer.trim_start_matches('/').replace("/0/", "[0].").replace('/', ".");
        prop_assert!(errors.iter().any(|e| e.field == field), "{}", errors);
    }
}
