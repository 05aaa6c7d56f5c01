//! What is asked: the one RFC 9396 `authorization_details` entry of type
//! `mynaportal_consent`, checked against the catalogue before any page shows
//! it.

use myna_consent::request::{self, ConsentTerms};
use serde_json::{json, Value};

/// The authorization details type this authority understands.
pub(crate) const DETAILS_TYPE: &str = "mynaportal_consent";

/// A checked `mynaportal_consent` entry: the domain's terms, checked by the
/// very validator the SDK and the operator backend run.
pub(crate) type ConsentDetails = ConsentTerms;

/// Reads and checks the `authorization_details` parameter (a JSON array
/// with exactly one entry). The error is an `error_description` that names
/// every broken rule with its field.
pub(crate) fn parse(text: &str) -> Result<ConsentDetails, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| "authorization_details is not JSON".to_owned())?;
    let Value::Array(entries) = value else {
        return Err("authorization_details must be a JSON array".into());
    };
    let [entry] = entries.as_slice() else {
        return Err("authorization_details must hold exactly one entry".into());
    };
    // RFC 9396 §5: an unknown type is refused before anything else.
    let mut entry = entry.clone();
    match entry.as_object_mut().and_then(|map| map.remove("type")) {
        Some(Value::String(kind)) if kind == DETAILS_TYPE => {}
        Some(other) => return Err(format!("unknown authorization details type {other}")),
        None => return Err("the entry has no type".into()),
    }
    // The sandbox serves previews of items not offered yet (the operator
    // backend admits them only in sandbox mode); items for institutions or
    // the portal only are never released.
    request::parse_terms(&entry, true).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("the {DETAILS_TYPE} entry is invalid: {}", list.join("; "))
    })
}

/// The entry as the token response and the grant list show it, without
/// the grant's own fields.
pub(crate) fn to_entry(details: &ConsentDetails) -> Value {
    let mut entry = serde_json::to_value(details).unwrap_or_else(|_| json!({}));
    entry["type"] = json!(DETAILS_TYPE);
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use myna_consent::request::Period;

    fn entry(items: &str, period: &str) -> String {
        format!(
            r#"[{{"type":"mynaportal_consent","items":{items},"purposes":[{{"category":"healthManagement","description":"服薬の記録"}}],"period":{period},"recipients":[],"retention":"90日"}}]"#
        )
    }

    #[test]
    fn accepts_a_linkage_of_insurance_items() {
        let details = parse(&entry(
            r#"["insurance.drugs"]"#,
            r#"{"kind":"linkage","days":90}"#,
        ))
        .expect("valid");
        assert_eq!(details.period, Period::Linkage { days: 90 });
    }

    #[test]
    fn refuses_unknown_items() {
        assert!(parse(&entry(r#"["no.such"]"#, r#"{"kind":"oneTime"}"#)).is_err());
    }

    #[test]
    fn refuses_items_for_institutions_only() {
        let error = parse(&entry(
            r#"["ehr.referral.letter"]"#,
            r#"{"kind":"oneTime"}"#,
        ))
        .expect_err("refused");
        assert!(
            error.contains("items[0]") && error.contains("medical institutions only"),
            "{error}"
        );
    }

    #[test]
    fn refuses_linkage_for_items_that_are_not_eligible() {
        let error = parse(&entry(
            r#"["self.tax_income"]"#,
            r#"{"kind":"linkage","days":30}"#,
        ))
        .expect_err("refused");
        assert!(
            error.contains("items[0]") && error.contains("continuous linkage"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_linkage_longer_than_90_days() {
        assert!(parse(&entry(
            r#"["insurance.drugs"]"#,
            r#"{"kind":"linkage","days":91}"#
        ))
        .is_err());
    }

    #[test]
    fn refuses_an_unknown_type_and_two_entries() {
        assert!(parse(r#"[{"type":"payment_initiation"}]"#).is_err());
        let one = entry(r#"["insurance.drugs"]"#, r#"{"kind":"oneTime"}"#);
        let inner = &one[1..one.len() - 1];
        assert!(parse(&format!("[{inner},{inner}]")).is_err());
    }
}

#[cfg(test)]
mod agreement {
    use super::*;

    /// Reported: CRLF and tabs passed the SDK and the backend but not the
    /// authority. The authority now runs the same rules, so it refuses
    /// exactly what they refuse, naming the field.
    #[test]
    fn refuses_carriage_returns_and_tabs_like_the_sdk() {
        let entry = |retention: &str| {
            json!([{
                "type": DETAILS_TYPE,
                "items": ["insurance.drugs"],
                "purposes": [{ "category": "healthManagement", "description": "服薬の記録" }],
                "period": { "kind": "linkage", "days": 90 },
                "recipients": [],
                "retention": retention
            }])
            .to_string()
        };
        let error = parse(&entry("30日で削除\r\nします")).expect_err("CRLF");
        assert!(error.contains("retention"), "{error}");
        assert!(parse(&entry("30日で\t削除")).is_err());
        parse(&entry("30日で\n削除します")).expect("a line break is fine");
    }

    #[test]
    fn refuses_a_recipient_without_accountability() {
        let text = json!([{
            "type": DETAILS_TYPE,
            "items": ["insurance.checkups"],
            "purposes": [{ "category": "healthManagement", "description": "健診の結果" }],
            "period": { "kind": "oneTime" },
            "recipients": [{ "name": "提携アプリ", "purpose": "表示" }],
            "retention": "30日"
        }])
        .to_string();
        let error = parse(&text).expect_err("no contact, policy or category");
        assert!(error.contains("recipients[0].contact"), "{error}");
        assert!(error.contains("recipients[0].purposeCategory"), "{error}");
    }
}
