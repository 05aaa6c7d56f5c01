//! What is asked: the one RFC 9396 `authorization_details` entry of type
//! `mynaportal_consent`, checked against the catalogue before any page shows
//! it.

use myna_consent::catalogue;
use myna_consent::request::{
    Period, Purpose, Recipient, MAX_DESCRIPTION, MAX_ITEMS, MAX_LINKAGE_DAYS, MAX_NAME,
    MAX_PURPOSES, MAX_RECIPIENTS, MAX_RETENTION,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The authorization details type this authority understands.
pub(crate) const DETAILS_TYPE: &str = "mynaportal_consent";

/// A checked `mynaportal_consent` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentDetails {
    pub(crate) items: Vec<String>,
    pub(crate) purposes: Vec<Purpose>,
    pub(crate) period: Period,
    #[serde(default)]
    pub(crate) recipients: Vec<Recipient>,
    #[serde(default)]
    pub(crate) retention: String,
}

/// The entry as it arrives; unknown members (e.g. `preview`, `locale`) are
/// ignored, as RFC 9396 leaves them to the type's definition.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    items: Vec<String>,
    purposes: Vec<Purpose>,
    period: Period,
    #[serde(default)]
    recipients: Vec<Recipient>,
    #[serde(default)]
    retention: String,
}

impl ConsentDetails {
    /// Reads and checks the `authorization_details` parameter (a JSON array
    /// with exactly one entry). The error is an `error_description`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|_| "authorization_details is not JSON".to_owned())?;
        let Value::Array(entries) = value else {
            return Err("authorization_details must be a JSON array".into());
        };
        let [entry] = entries.as_slice() else {
            return Err("authorization_details must hold exactly one entry".into());
        };
        // RFC 9396 §5: an unknown type is refused before anything else.
        match entry.get("type").and_then(Value::as_str) {
            Some(DETAILS_TYPE) => {}
            Some(other) => return Err(format!("unknown authorization details type {other:?}")),
            None => return Err("the entry has no type".into()),
        }
        let incoming: Incoming = serde_json::from_value(entry.clone())
            .map_err(|e| format!("the {DETAILS_TYPE} entry is malformed: {e}"))?;
        debug_assert_eq!(incoming.kind, DETAILS_TYPE);
        let details = Self {
            items: incoming.items,
            purposes: incoming.purposes,
            period: incoming.period,
            recipients: incoming.recipients,
            retention: incoming.retention,
        };
        details.check()?;
        Ok(details)
    }

    fn check(&self) -> Result<(), String> {
        if self.items.is_empty() {
            return Err("items must name at least one item".into());
        }
        if self.items.len() > MAX_ITEMS {
            return Err(format!("at most {MAX_ITEMS} items"));
        }
        for (i, id) in self.items.iter().enumerate() {
            if self.items[..i].contains(id) {
                return Err(format!("item {id:?} is listed twice"));
            }
            let Some(item) = catalogue::item(id) else {
                return Err(format!("unknown item {id:?}"));
            };
            // The sandbox serves previews of items not offered yet (the
            // operator admits them only with `preview: true`); items for
            // institutions or the portal only are never released.
            if !item.availability.is_requestable(true) {
                return Err(format!("item {id:?} cannot be requested by an operator"));
            }
            if matches!(self.period, Period::Linkage { .. }) && !item.availability.allows_linkage()
            {
                return Err(format!("item {id:?} is not eligible for linkage"));
            }
        }
        if let Period::Linkage { days } = self.period {
            if !(1..=MAX_LINKAGE_DAYS).contains(&days) {
                return Err(format!("a linkage lasts 1 to {MAX_LINKAGE_DAYS} days"));
            }
        }
        if self.purposes.is_empty() {
            return Err("purposes must state at least one purpose".into());
        }
        if self.purposes.len() > MAX_PURPOSES {
            return Err(format!("at most {MAX_PURPOSES} purposes"));
        }
        for purpose in &self.purposes {
            check_text(
                "purposes[].description",
                &purpose.description,
                MAX_DESCRIPTION,
                true,
            )?;
        }
        if self.recipients.len() > MAX_RECIPIENTS {
            return Err(format!("at most {MAX_RECIPIENTS} recipients"));
        }
        for recipient in &self.recipients {
            check_text("recipients[].name", &recipient.name, MAX_NAME, true)?;
            check_text(
                "recipients[].purpose",
                &recipient.purpose,
                MAX_DESCRIPTION,
                true,
            )?;
        }
        check_text("retention", &self.retention, MAX_RETENTION, false)?;
        Ok(())
    }

    /// The entry as the token response and the grant list show it, without
    /// the grant's own fields.
    pub(crate) fn to_entry(&self) -> Value {
        json!({
            "type": DETAILS_TYPE,
            "items": self.items,
            "purposes": self.purposes,
            "period": self.period,
            "recipients": self.recipients,
            "retention": self.retention,
        })
    }
}

/// Text that a page will show must be present (when required), short, and
/// free of control and bidirectional-override characters that could hide or
/// reorder what the citizen reads.
fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), String> {
    if required && text.trim().is_empty() {
        return Err(format!("{field} is required"));
    }
    if text.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    let hidden = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if text.chars().any(hidden) {
        return Err(format!("{field} holds control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(items: &str, period: &str) -> String {
        format!(
            r#"[{{"type":"mynaportal_consent","items":{items},"purposes":[{{"category":"healthManagement","description":"服薬の記録"}}],"period":{period},"recipients":[],"retention":"90日"}}]"#
        )
    }

    #[test]
    fn accepts_a_linkage_of_insurance_items() {
        let details = ConsentDetails::parse(&entry(
            r#"["insurance.drugs"]"#,
            r#"{"kind":"linkage","days":90}"#,
        ))
        .expect("valid");
        assert_eq!(details.period, Period::Linkage { days: 90 });
    }

    #[test]
    fn refuses_unknown_items() {
        assert!(ConsentDetails::parse(&entry(r#"["no.such"]"#, r#"{"kind":"oneTime"}"#)).is_err());
    }

    #[test]
    fn refuses_items_for_institutions_only() {
        let error = ConsentDetails::parse(&entry(
            r#"["ehr.referral.letter"]"#,
            r#"{"kind":"oneTime"}"#,
        ))
        .expect_err("refused");
        assert!(error.contains("cannot be requested"));
    }

    #[test]
    fn refuses_linkage_for_items_that_are_not_eligible() {
        let error = ConsentDetails::parse(&entry(
            r#"["self.tax_income"]"#,
            r#"{"kind":"linkage","days":30}"#,
        ))
        .expect_err("refused");
        assert!(error.contains("linkage"));
    }

    #[test]
    fn refuses_a_linkage_longer_than_90_days() {
        assert!(ConsentDetails::parse(&entry(
            r#"["insurance.drugs"]"#,
            r#"{"kind":"linkage","days":91}"#
        ))
        .is_err());
    }

    #[test]
    fn refuses_an_unknown_type_and_two_entries() {
        assert!(ConsentDetails::parse(r#"[{"type":"payment_initiation"}]"#).is_err());
        let one = entry(r#"["insurance.drugs"]"#, r#"{"kind":"oneTime"}"#);
        let inner = &one[1..one.len() - 1];
        assert!(ConsentDetails::parse(&format!("[{inner},{inner}]")).is_err());
    }
}
