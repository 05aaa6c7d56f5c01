//! Our RFC 8785 canonicaliser (used in the browser package) writes exactly
//! what the reference implementation writes, for every JSON value that
//! requests and receipts can hold; other numbers are refused, never
//! written differently.
#![cfg(not(target_arch = "wasm32"))]

use myna_consent::digest::canonical_json;
use proptest::prelude::*;
use serde_json::Value;

const SAFE: i64 = 1 << 53;

fn json_without_fractions() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-SAFE..=SAFE).prop_map(Value::from),
        // Any text: escapes, control characters, non-BMP characters.
        any::<String>().prop_map(Value::String),
        "[\\u{0}-\\u{1f}\"\\\\\u{2028}\u{e000}\u{1f600}ｱ-ﾝあ-ん]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            // Keys whose UTF-8 and UTF-16 orders differ (BMP above the
            // surrogates against astral characters).
            prop::collection::btree_map("[a-zA-Z\u{e000}\u{ff61}\u{1f600}é]{0,4}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matches_the_reference_canonicaliser(value in json_without_fractions()) {
        let reference = serde_json_canonicalizer::to_string(&value).unwrap();
        prop_assert_eq!(canonical_json(&value), Some(reference));
    }

    #[test]
    fn refuses_fractions_and_unsafe_integers(x in any::<f64>().prop_filter("not an integer", |x| x.fract() != 0.0)) {
        let value = serde_json::json!({ "a": [1, x] });
        prop_assert_eq!(canonical_json(&value), None);
    }
}

#[test]
fn refuses_integers_beyond_two_to_the_53() {
    assert_eq!(canonical_json(&serde_json::json!(SAFE + 1)), None);
    assert_eq!(canonical_json(&serde_json::json!(-SAFE - 1)), None);
    assert_eq!(canonical_json(&serde_json::json!(u64::MAX)), None);
    assert_eq!(
        canonical_json(&serde_json::json!(SAFE)).as_deref(),
        Some("9007199254740992")
    );
}

#[test]
fn the_rfc_8785_sorting_example() {
    // RFC 8785 §3.2.3: members sorted by UTF-16 code units.
    let value: Value = serde_json::from_str(
        r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
    )
    .unwrap();
    assert_eq!(
        canonical_json(&value).unwrap(),
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
}
