//! `Period` is read member by member (`PeriodShape` in `src/request.rs`)
//! rather than through serde's internally tagged enum, whose buffering code
//! was the larger part of the account module's reading of a consent. It
//! must accept and refuse exactly what the tagged enum did, both as
//! serde_json reads it (the operator backend) and as `shape::read` does
//! (the browser modules), and write what it wrote.

use myna_consent::request::Period;
use myna_consent::shape;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The derive `Period` had before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Tagged {
    OneTime,
    Linkage { days: u32 },
}

/// That both refused `what`, or both read the same period from it.
fn assert_agree(what: &str, old: Option<Tagged>, new: Option<Period>) {
    match (old, new) {
        (None, None) => {}
        (Some(Tagged::OneTime), Some(Period::OneTime)) => {}
        (Some(Tagged::Linkage { days: a }), Some(Period::Linkage { days: b })) if a == b => {}
        (old, new) => panic!("{what}: the tagged enum gave {old:?}, Period gives {new:?}"),
    }
}

/// Every combination of these kinds, days and an extra member, and the
/// shapes around them.
fn inputs() -> Vec<Value> {
    let kinds = [
        json!("oneTime"),
        json!("linkage"),
        json!("OneTime"),
        json!("one_time"),
        json!(""),
        json!(0),
        json!(1),
        json!(null),
        json!({ "oneTime": null }),
        json!({ "linkage": null }),
        json!(["linkage"]),
    ];
    let days = [
        None,
        Some(json!(90)),
        Some(json!(0)),
        Some(json!(-1)),
        Some(json!(4_294_967_295_u64)),
        Some(json!(4_294_967_296_u64)),
        Some(json!(1.5)),
        Some(json!(90.0)),
        Some(json!("90")),
        Some(json!(null)),
        Some(json!([90])),
    ];
    let mut inputs = vec![
        json!(null),
        json!("oneTime"),
        json!([]),
        json!(["oneTime"]),
        json!(["oneTime", 5]),
        json!(["linkage", 5]),
        json!({}),
        json!({ "days": 90 }),
    ];
    for kind in &kinds {
        for day in &days {
            for extra in [false, true] {
                let mut object = serde_json::Map::new();
                object.insert("kind".into(), kind.clone());
                if let Some(day) = day {
                    object.insert("days".into(), day.clone());
                }
                if extra {
                    object.insert("note".into(), json!({ "kind": "linkage" }));
                }
                inputs.push(Value::Object(object));
            }
        }
    }
    inputs
}

#[test]
fn period_reads_what_the_tagged_enum_read_and_refuses_what_it_refused() {
    let inputs = inputs();
    assert_eq!(inputs.len(), 8 + 11 * 11 * 2);
    let mut accepted = 0;
    for input in &inputs {
        let old = serde_json::from_value::<Tagged>(input.clone()).ok();
        let new = serde_json::from_value::<Period>(input.clone()).ok();
        // The browser modules read through shape::read.
        let old_shape = shape::read::<Tagged>(input);
        let new_shape = shape::read::<Period>(input);
        assert_agree(&format!("serde_json, {input}"), old, new);
        assert_agree(&format!("shape::read, {input}"), old_shape, new_shape);
        accepted += usize::from(old.is_some());
    }
    // oneTime with each of the 11 days, linkage with 90, 0 and u32::MAX,
    // each with and without the extra member; and serde's sequence form,
    // ["oneTime"] and ["linkage", 5].
    assert_eq!(accepted, (11 + 3) * 2 + 2);
}

#[test]
fn period_in_json_text_with_a_member_twice() {
    let texts = [
        r#"{"kind":"oneTime","kind":"oneTime"}"#,
        r#"{"kind":"linkage","days":1,"days":2}"#,
        r#"{"kind":"oneTime","days":1,"days":2}"#,
        r#"{"kind":"linkage","days":90,"note":1,"note":2}"#,
    ];
    for text in texts {
        assert_agree(
            text,
            serde_json::from_str::<Tagged>(text).ok(),
            serde_json::from_str::<Period>(text).ok(),
        );
    }
}

#[test]
fn period_writes_the_kind_and_the_days() {
    assert_eq!(
        serde_json::to_value(Period::OneTime).unwrap(),
        json!({ "kind": "oneTime" })
    );
    assert_eq!(
        serde_json::to_value(Period::Linkage { days: 90 }).unwrap(),
        json!({ "kind": "linkage", "days": 90 })
    );
    assert_eq!(
        serde_json::to_value(Tagged::Linkage { days: 90 }).unwrap(),
        serde_json::to_value(Period::Linkage { days: 90 }).unwrap()
    );
}
