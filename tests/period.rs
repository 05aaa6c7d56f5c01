//! `Period` is read through a plain struct (`PeriodShape` in
//! `src/request.rs`) rather than serde's internally tagged enum, whose
//! buffering code was the larger part of the account module's reading of a
//! consent. It must accept and refuse exactly what the tagged enum did, and
//! write what it wrote.

use myna_consent::request::Period;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The derive `Period` had before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Tagged {
    OneTime,
    Linkage { days: u32 },
}

fn same(tagged: Tagged, period: Period) -> bool {
    match (tagged, period) {
        (Tagged::OneTime, Period::OneTime) => true,
        (Tagged::Linkage { days: a }, Period::Linkage { days: b }) => a == b,
        _ => false,
    }
}

#[test]
fn period_reads_what_the_tagged_enum_read_and_refuses_what_it_refused() {
    let kinds = [
        json!("oneTime"),
        json!("linkage"),
        json!("OneTime"),
        json!("one_time"),
        json!(""),
        json!(1),
        json!(null),
    ];
    let days = [
        None,
        Some(json!(90)),
        Some(json!(0)),
        Some(json!(-1)),
        Some(json!(4_294_967_295_u64)),
        Some(json!(4_294_967_296_u64)),
        Some(json!(90.0)),
        Some(json!(1.5)),
        Some(json!("90")),
        Some(json!(null)),
    ];
    let mut inputs: Vec<Value> = vec![json!(null), json!("oneTime"), json!([]), json!({})];
    for kind in &kinds {
        for day in &days {
            for extra in [false, true] {
                let mut object = serde_json::Map::new();
                object.insert("kind".into(), kind.clone());
                if let Some(day) = day {
                    object.insert("days".into(), day.clone());
                }
                if extra {
                    object.insert("note".into(), json!("ignored"));
                }
                inputs.push(Value::Object(object));
            }
        }
        // Without a kind at all.
        inputs.push(json!({ "days": 90 }));
    }
    let mut accepted = 0;
    for input in &inputs {
        let old = serde_json::from_value::<Tagged>(input.clone());
        let new = serde_json::from_value::<Period>(input.clone());
        match (old, new) {
            (Ok(old), Ok(new)) => {
                assert!(same(old, new), "{input}: {old:?} became {new:?}");
                accepted += 1;
            }
            (Err(_), Err(_)) => {}
            (old, new) => panic!("{input}: the tagged enum gave {old:?}, Period gives {new:?}"),
        }
    }
    // Both kinds, with and without the extra member, and one-time with any days.
    assert!(accepted >= 4, "only {accepted} inputs were accepted");
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
