//! `shape::read` (the browser package's reader of backend answers) takes
//! exactly the values `serde_json::from_value` takes, and reads them to the
//! same Rust value: checked on valid consents (operator, purposes,
//! recipients, the tagged period, timestamps, optional members), and on
//! each with one member replaced, removed or added.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{loan_request, phr_request};
use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use myna_consent::request::{self, Period};
use myna_consent::shape;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use time::macros::datetime;

/// Both readers agree on `value`: the same value, or both refuse it.
fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(value: &Value) -> Result<(), String> {
    let ours = shape::read::<T>(value);
    let theirs = serde_json::from_value::<T>(value.clone()).ok();
    if ours == theirs {
        Ok(())
    } else {
        Err(format!(
            "{value}: shape::read gave {ours:?}, serde_json {theirs:?}"
        ))
    }
}

fn consent_json(request: &Value) -> Value {
    let valid = request::parse(request).expect("valid");
    let chosen = valid.request().items.optional.clone();
    let consent =
        Consent::grant("c-1", &valid, &chosen, datetime!(2026-03-01 10:00 +9)).expect("grant");
    let mut value = serde_json::to_value(consent).expect("to JSON");
    value["revokedAt"] = json!("2026-03-02T09:30:00.5+09:00");
    value
}

/// Every JSON pointer in `value`, the root included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (name, item) in members {
                pointers(item, format!("{at}/{name}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(90),
            Just(1 << 40),
            Just(u32::MAX as i64 + 1)
        ]
        .prop_map(Value::from),
        prop_oneof![Just(1.5f64), Just(-0.25), Just(90.0), Just(1e300)].prop_map(Value::from),
        prop_oneof![
            Just("ja"),
            Just("en"),
            Just("oneTime"),
            Just("linkage"),
            Just("healthManagement"),
            Just("2026-03-01T10:00:00+09:00"),
            Just("not a time"),
            Just(""),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}|kind|days|name", inner, 0..3)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// What happens to the member at a pointer.
#[derive(Debug, Clone)]
enum Change {
    Replace(Value),
    Remove,
    Add(String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        any_json().prop_map(Change::Replace),
        Just(Change::Remove),
        ("[a-z]{1,8}|kind|days|unknown", any_json())
            .prop_map(|(name, value)| Change::Add(name, value)),
    ]
}

fn changed(mut value: Value, pick: prop::sample::Index, change: Change) -> Value {
    let mut all = Vec::new();
    pointers(&value, String::new(), &mut all);
    let at = pick.get(&all).clone();
    match change {
        Change::Replace(new) => match value.pointer_mut(&at) {
            Some(slot) => *slot = new,
            None => unreachable!("the pointer came from the value"),
        },
        Change::Remove => {
            if let Some((parent, key)) = at.rsplit_once('/') {
                match value.pointer_mut(parent) {
                    Some(Value::Object(members)) => {
                        members.remove(key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        Change::Add(name, new) => {
            if let Some(Value::Object(members)) = value.pointer_mut(&at) {
                members.insert(name, new);
            }
        }
    }
    value
}

#[test]
fn reads_valid_answers_as_serde_json_does() {
    for request in [phr_request(), loan_request()] {
        let consent = consent_json(&request);
        assert!(
            shape::read::<Consent>(&consent).is_some(),
            "a valid consent is read: {consent}"
        );
        agree::<Consent>(&consent).unwrap();
    }
    assert_eq!(
        shape::read::<Period>(&json!({ "kind": "linkage", "days": 30 })),
        Some(Period::Linkage { days: 30 })
    );
    assert_eq!(shape::read::<Locale>(&json!("en")), Some(Locale::En));
    assert_eq!(shape::read::<Option<u32>>(&Value::Null), Some(None));
}

#[test]
fn refuses_what_does_not_fit() {
    for (value, what) in [
        (json!("fr"), "an unknown variant"),
        (json!(1), "a number for an enum"),
        (json!({ "kind": "linkage" }), "a variant without its field"),
        (json!({ "kind": "linkage", "days": -1 }), "a negative u32"),
        (
            json!({ "kind": "linkage", "days": 1.5 }),
            "a fraction for a u32",
        ),
        (
            json!({ "kind": "linkage", "days": 4_294_967_296u64 }),
            "a u32 out of range",
        ),
    ] {
        let refused = if what.contains("enum") || what.contains("unknown variant") {
            shape::read::<Locale>(&value).is_none()
        } else {
            shape::read::<Period>(&value).is_none()
        };
        assert!(refused, "{what}: {value}");
    }
    let mut consent = consent_json(&phr_request());
    consent["grantedAt"] = json!("yesterday");
    assert_eq!(
        shape::read::<Consent>(&consent),
        None,
        "a timestamp that is not RFC 3339"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn a_changed_consent_is_read_as_serde_json_reads_it(pick: prop::sample::Index, change in change(), loan: bool) {
        let request = if loan { loan_request() } else { phr_request() };
        let value = changed(consent_json(&request), pick, change);
        let agreed = agree::<Consent>(&value);
        prop_assert!(agreed.is_ok(), "{}", agreed.unwrap_err());
    }
}

/// Shapes the wire types do not use today, read alike all the same.
#[derive(Debug, PartialEq, serde::Deserialize)]
enum Tagged {
    Unit,
    With(u32),
    Pair { a: u32, b: Option<String> },
    Empty(),
}

#[test]
fn reads_other_shapes_as_serde_json_does() {
    for value in [
        json!("Unit"),
        json!({ "Unit": null }),
        json!({ "Unit": 1 }),
        json!({ "With": 7 }),
        json!({ "With": "7" }),
        json!({ "With": 7, "Unit": null }),
        json!({ "Pair": { "a": 1 } }),
        json!({ "Pair": { "a": 1, "b": "x", "c": 3 } }),
        json!({ "Pair": [1, "x"] }),
        json!({ "Pair": [1] }),
        json!({}),
        json!(0),
        json!(["With", 7]),
        json!({ "Empty": [] }),
        json!({ "Empty": null }),
        json!("Empty"),
    ] {
        agree::<Tagged>(&value).unwrap();
        agree::<Vec<Tagged>>(&json!([value])).unwrap();
    }
    for value in [
        json!([1, 2]),
        json!([1, 2, 3]),
        json!([1]),
        json!([1, "2"]),
        json!({ "0": 1, "1": 2 }),
    ] {
        agree::<(u8, u8)>(&value).unwrap();
        agree::<Vec<u8>>(&value).unwrap();
    }
}
