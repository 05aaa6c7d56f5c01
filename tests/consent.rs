//! The consent model: end dates and days left in Japan's calendar, status,
//! and the consent receipt.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{loan_request, phr_request, with};
use myna_consent::consent::{Consent, ConsentStatus, GrantError, Receipt, ReceiptEvent};
use myna_consent::i18n::{self, Locale};
use myna_consent::request;
use serde_json::json;
use time::macros::{date, datetime};
use time::OffsetDateTime;

fn linkage(days: u32, granted_at: OffsetDateTime) -> Consent {
    let request = with(phr_request(), "/period/days", json!(days));
    let valid = request::parse(&request).expect("valid");
    Consent::grant("c-1", &valid, &[], granted_at).expect("grant")
}

#[test]
fn linkage_granted_at_2330_jst_ends_on_jst_date() {
    let consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    assert_eq!(consent.ends_at(), Some(datetime!(2026-05-01 23:30 +9)));
    assert_eq!(consent.end_date(), Some(date!(2026 - 05 - 01)));
    let end = consent.end_date().expect("linkage");
    assert_eq!(i18n::format_date(end, Locale::Ja), "2026年5月1日");
    assert_eq!(i18n::format_date(end, Locale::En), "1 May 2026");
}

#[test]
fn end_date_is_the_japanese_date_not_the_utc_date() {
    // 00:30 JST on 1 February is still 31 January in UTC.
    let consent = linkage(90, datetime!(2026-01-31 15:30 UTC));
    assert_eq!(consent.end_date(), Some(date!(2026 - 05 - 02)));
}

#[test]
fn ninety_days_from_today_is_22_february_2027() {
    let consent = linkage(90, datetime!(2026-11-24 10:00 +9));
    let end = consent.end_date().expect("linkage");
    assert_eq!(i18n::format_date(end, Locale::Ja), "2027年2月22日");
    assert_eq!(consent.days_left(datetime!(2026-11-24 10:00 +9)), Some(90));
}

#[test]
fn days_left_change_at_jst_midnight() {
    let consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    assert_eq!(
        consent.days_left(datetime!(2026-04-30 23:59:59 +9)),
        Some(1)
    );
    assert_eq!(consent.days_left(datetime!(2026-05-01 00:00 +9)), Some(0));
    // The same instants in UTC give the same answers.
    assert_eq!(
        consent.days_left(datetime!(2026-04-30 14:59:59 UTC)),
        Some(1)
    );
    assert_eq!(consent.days_left(datetime!(2026-04-30 15:00 UTC)), Some(0));
}

#[test]
fn ends_at_the_granted_instant_on_the_last_day() {
    let consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    assert_eq!(
        consent.status(datetime!(2026-05-01 23:29:59 +9)),
        ConsentStatus::EndingSoon
    );
    assert_eq!(
        consent.status(datetime!(2026-05-01 23:30 +9)),
        ConsentStatus::Expired
    );
    assert_eq!(consent.days_left(datetime!(2026-06-01 12:00 +9)), Some(0));
}

#[test]
fn ending_soon_from_fourteen_days_left() {
    let consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    assert_eq!(
        consent.status(datetime!(2026-04-16 23:59:59 +9)),
        ConsentStatus::Active
    );
    assert_eq!(consent.days_left(datetime!(2026-04-17 00:00 +9)), Some(14));
    assert_eq!(
        consent.status(datetime!(2026-04-17 00:00 +9)),
        ConsentStatus::EndingSoon
    );
}

#[test]
fn revoked_and_suspended_outrank_the_calendar() {
    let granted = datetime!(2026-01-31 23:30 +9);
    let mut consent = linkage(90, granted);
    consent.suspended_at = Some(datetime!(2026-02-10 09:00 +9));
    assert_eq!(
        consent.status(datetime!(2026-02-11 09:00 +9)),
        ConsentStatus::Suspended
    );
    consent.revoked_at = Some(datetime!(2026-02-12 09:00 +9));
    assert_eq!(
        consent.status(datetime!(2026-08-01 09:00 +9)),
        ConsentStatus::Revoked
    );
}

#[test]
fn one_time_consent_has_no_end() {
    let valid = request::parse(&loan_request()).expect("valid");
    let consent =
        Consent::grant("c-2", &valid, &[], datetime!(2026-03-01 10:00 +9)).expect("grant");
    assert_eq!(consent.ends_at(), None);
    assert_eq!(consent.days_left(datetime!(2027-03-01 10:00 +9)), None);
    assert_eq!(
        consent.status(datetime!(2027-03-01 10:00 +9)),
        ConsentStatus::Active
    );
}

#[test]
fn grant_keeps_required_and_chosen_optional_items() {
    let valid = request::parse(&phr_request()).expect("valid");
    let granted_at = datetime!(2026-03-01 10:00 +9);
    let none = Consent::grant("c", &valid, &[], granted_at).expect("grant");
    assert_eq!(none.items, ["insurance.drugs", "insurance.dispensing"]);
    let chosen =
        Consent::grant("c", &valid, &["insurance.checkups".into()], granted_at).expect("grant");
    assert_eq!(
        chosen.items,
        [
            "insurance.drugs",
            "insurance.dispensing",
            "insurance.checkups"
        ]
    );
}

#[test]
fn grant_refuses_an_item_the_request_did_not_offer() {
    let valid = request::parse(&phr_request()).expect("valid");
    let stray = vec!["insurance.treatment".to_owned()];
    let error =
        Consent::grant("c", &valid, &stray, datetime!(2026-03-01 10:00 +9)).expect_err("stray");
    assert_eq!(error, GrantError::NotOffered("insurance.treatment".into()));
    assert_eq!(error.code(), "item_not_offered");
}

#[test]
fn consent_round_trips_through_json() {
    let consent = linkage(30, datetime!(2026-01-31 23:30 +9));
    let text = serde_json::to_string(&consent).expect("serialise");
    assert!(
        text.contains("\"grantedAt\":\"2026-01-31T23:30:00+09:00\""),
        "{text}"
    );
    let back: Consent = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, consent);
}

fn receipt() -> Receipt {
    let consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    Receipt::new(
        &consent,
        ReceiptEvent::Grant,
        "r-1",
        datetime!(2026-01-31 23:31 +9),
        Locale::Ja,
    )
}

#[test]
fn receipt_carries_the_consent_receipt_fields() {
    let document = receipt().to_document();
    let receipt = &document["receipt"];
    for field in [
        "version",
        "receiptId",
        "event",
        "issuedAt",
        "language",
        "jurisdiction",
        "consentType",
        "collectionMethod",
        "consentId",
        "grantedAt",
        "controller",
        "items",
        "specialCare",
        "purposes",
        "recipients",
        "period",
        "retention",
        "withdrawalMethod",
    ] {
        assert!(
            receipt.get(field).is_some(),
            "receipt lacks {field}: {receipt}"
        );
    }
    assert_eq!(receipt["controller"]["name"], "すこやか手帳株式会社");
    assert_eq!(receipt["period"]["endDate"], "2026-05-01");
    assert_eq!(receipt["items"][0]["label"], "薬剤情報");
    assert_eq!(receipt["specialCare"], false);
    assert!(receipt["withdrawalMethod"]
        .as_str()
        .is_some_and(|text| text.contains("0120-000-000")));
}

#[test]
fn receipt_canonical_json_has_sorted_keys_and_no_spaces() {
    let canonical = receipt().canonical_json();
    assert!(
        canonical.starts_with("{\"collectionMethod\":"),
        "{canonical}"
    );
    assert!(!canonical.contains('\n'), "{canonical}");
    let last_key = canonical
        .rfind("\"withdrawalMethod\":")
        .expect("withdrawalMethod");
    assert!(
        !canonical[last_key..].contains("\",\""),
        "withdrawalMethod sorts last: {canonical}"
    );
    let value: serde_json::Value = serde_json::from_str(&canonical).expect("JSON");
    assert_eq!(value["receiptId"], "r-1");
}

#[test]
fn receipt_digest_is_sha256_of_the_canonical_json() {
    use sha2::{Digest, Sha256};
    let receipt = receipt();
    let expected: String = Sha256::digest(receipt.canonical_json().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(receipt.sha256(), expected);
    assert_eq!(receipt.sha256().len(), 64);
    let mut changed = receipt.clone();
    changed.retention.push('。');
    assert_ne!(changed.sha256(), receipt.sha256());
}

#[test]
fn revocation_receipt_records_when_it_was_revoked() {
    let mut consent = linkage(90, datetime!(2026-01-31 23:30 +9));
    consent.revoked_at = Some(datetime!(2026-02-15 08:00 +9));
    let receipt = Receipt::new(
        &consent,
        ReceiptEvent::Revocation,
        "r-2",
        datetime!(2026-02-15 08:00:01 +9),
        Locale::En,
    );
    assert_eq!(receipt.revoked_at, Some(datetime!(2026-02-15 08:00 +9)));
    assert_eq!(receipt.items[0].label, "Medicine information");
    let document = receipt.to_document();
    assert_eq!(document["receipt"]["event"], "revocation");
}

#[test]
fn receipt_flags_special_care_data() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["self.disability_certificate"]),
    );
    let valid = request::parse(&request).expect("valid");
    let consent =
        Consent::grant("c-3", &valid, &[], datetime!(2026-03-01 10:00 +9)).expect("grant");
    let receipt = Receipt::new(
        &consent,
        ReceiptEvent::Grant,
        "r-3",
        datetime!(2026-03-01 10:00 +9),
        Locale::Ja,
    );
    assert!(receipt.special_care);
}
