//! Every rule of the consent request, each with a test that fails if the rule
//! is removed.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{loan_request, phr_request, with, without};
use myna_consent::i18n::Locale;
use myna_consent::request::{self, ValidationErrors, MAX_DESCRIPTION, MAX_NAME};
use serde_json::{json, Value};

fn errors(value: Value) -> ValidationErrors {
    match request::parse(&value) {
        Ok(valid) => panic!("expected errors, the request passed: {valid:?}"),
        Err(errors) => errors,
    }
}

/// Asserts that `value` fails with exactly the (code, field) pairs given.
fn assert_errors(value: Value, expected: &[(&str, &str)]) {
    let errors = errors(value);
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.code(), e.field.as_str()))
        .collect();
    assert_eq!(found, expected, "{errors}");
}

#[test]
fn accepts_a_compliant_linkage_request() {
    let valid = request::parse(&phr_request()).expect("valid");
    assert_eq!(valid.request().operator.name, "すこやか手帳株式会社");
    assert!(!valid.needs_separate_confirmation());
}

#[test]
fn accepts_a_compliant_one_time_request() {
    request::parse(&loan_request()).expect("valid");
}

#[test]
fn reports_every_error_at_once() {
    let request = json!({
        "operator": { "name": "", "contact": "", "privacyPolicyUrl": "http://example.jp/p", "approvalId": "A1" },
        "items": { "required": ["no.such.item", "ehr.referral.letter"], "optional": ["self.pension"] },
        "purposes": [],
        "period": { "kind": "linkage", "days": 120 },
        "recipients": [{ "name": "分析会社", "contact": "03-0000-0000", "privacyPolicyUrl": "https://example.jp/a", "purposeCategory": "research", "purpose": "" }],
        "retention": ""
    });
    assert_errors(
        request,
        &[
            ("required", "operator.name"),
            ("required", "operator.contact"),
            ("insecure_url", "operator.privacyPolicyUrl"),
            ("unknown_item", "items.required[0]"),
            ("item_not_requestable", "items.required[1]"),
            ("linkage_not_eligible", "items.optional[0]"),
            ("no_purpose", "purposes"),
            ("period_out_of_range", "period.days"),
            ("recipient_without_purpose", "recipients[0].purpose"),
            ("required", "retention"),
            ("ethics_review_required", "ethicsReview"),
        ],
    );
}

/// Issue 12: research with medical or special-care data, by the operator
/// or by a recipient, names the ethics review that approved it.
#[test]
fn research_with_health_data_needs_an_ethics_review() {
    let research = with(
        phr_request(),
        "/purposes",
        json!([{ "category": "research", "description": "服薬の傾向を研究するため" }]),
    );
    assert_errors(
        research.clone(),
        &[("ethics_review_required", "ethicsReview")],
    );
    let approved = with(
        research.clone(),
        "/ethicsReview",
        json!("すこやか大学 倫理審査委員会 承認番号 2026-012"),
    );
    let valid = request::parse(&approved).expect("valid with a reference");
    assert_eq!(
        valid.request().ethics_review.as_deref(),
        Some("すこやか大学 倫理審査委員会 承認番号 2026-012")
    );
    assert!(valid.request().health_research_item().is_some());
    assert_errors(
        with(research.clone(), "/ethicsReview", json!("")),
        &[("required", "ethicsReview")],
    );
    assert_errors(
        with(research, "/ethicsReview", json!("承認番号\n2026-012")),
        &[("control_character", "ethicsReview")],
    );
    // A recipient's research counts as much as the operator's.
    let recipient = with(
        phr_request(),
        "/recipients",
        json!([{ "name": "分析会社", "contact": "03-0000-0000", "privacyPolicyUrl": "https://example.jp/a",
                 "purposeCategory": "research", "purpose": "服薬の傾向の分析" }]),
    );
    assert_errors(recipient, &[("ethics_review_required", "ethicsReview")]);
}

#[test]
fn research_without_health_data_needs_no_ethics_review() {
    let research = with(
        loan_request(),
        "/purposes",
        json!([{ "category": "research", "description": "所得の統計を作るため" }]),
    );
    let valid = request::parse(&research).expect("valid");
    assert!(valid.request().health_research_item().is_none());
}

#[test]
fn refuses_unknown_item() {
    let request = with(phr_request(), "/items/required/1", json!("insurance.dna"));
    assert_errors(request, &[("unknown_item", "items.required[1]")]);
}

#[test]
fn refuses_item_shared_between_institutions_only() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["ehr.referral.discharge_summary"]),
    );
    assert_errors(request, &[("item_not_requestable", "items.required[0]")]);
}

#[test]
fn refuses_item_viewable_on_mynaportal_only() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["ehr.patient_summary"]),
    );
    assert_errors(request, &[("item_not_requestable", "items.required[0]")]);
}

#[test]
fn refuses_item_not_yet_offered_without_preview() {
    let request = with(loan_request(), "/items/required", json!(["ehr.lab.hba1c"]));
    assert_errors(
        request.clone(),
        &[("item_not_yet_offered", "items.required[0]")],
    );
    let preview = with(request, "/preview", json!(true));
    request::parse(&preview).expect("preview admits items not yet offered");
}

#[test]
fn refuses_linkage_for_items_not_eligible() {
    let request = with(
        phr_request(),
        "/items/optional",
        json!(["self.family_register"]),
    );
    assert_errors(request, &[("linkage_not_eligible", "items.optional[0]")]);
}

#[test]
fn refuses_linkage_for_preview_items() {
    let request = with(phr_request(), "/items/optional", json!(["ehr.lab.hba1c"]));
    let request = with(request, "/preview", json!(true));
    assert_errors(request, &[("linkage_not_eligible", "items.optional[0]")]);
}

#[test]
fn refuses_linkage_shorter_than_one_day() {
    let request = with(phr_request(), "/period/days", json!(0));
    assert_errors(request, &[("period_out_of_range", "period.days")]);
}

#[test]
fn refuses_linkage_longer_than_ninety_days() {
    let request = with(phr_request(), "/period/days", json!(91));
    assert_errors(request, &[("period_out_of_range", "period.days")]);
    let boundary = with(phr_request(), "/period/days", json!(90));
    request::parse(&boundary).expect("90 days is allowed");
    let one = with(phr_request(), "/period/days", json!(1));
    request::parse(&one).expect("1 day is allowed");
}

#[test]
fn refuses_negative_and_huge_linkage_days() {
    let negative = with(phr_request(), "/period/days", json!(-5));
    assert_errors(negative, &[("period_out_of_range", "period.days")]);
    let huge = with(phr_request(), "/period/days", json!(u64::MAX));
    assert_errors(huge, &[("period_out_of_range", "period.days")]);
}

#[test]
fn refuses_fractional_linkage_days() {
    let request = with(phr_request(), "/period/days", json!(30.5));
    assert_errors(request, &[("wrong_type", "period.days")]);
}

#[test]
fn refuses_linkage_without_days() {
    let request = without(phr_request(), "/period/days");
    assert_errors(request, &[("required", "period.days")]);
}

#[test]
fn refuses_days_on_a_one_time_request() {
    let request = with(
        loan_request(),
        "/period",
        json!({ "kind": "oneTime", "days": 30 }),
    );
    assert_errors(request, &[("unknown_field", "period.days")]);
}

#[test]
fn refuses_unknown_period_kind() {
    let request = with(loan_request(), "/period", json!({ "kind": "forever" }));
    assert_errors(request, &[("unknown_period_kind", "period.kind")]);
}

#[test]
fn refuses_missing_period() {
    assert_errors(
        without(loan_request(), "/period"),
        &[("required", "period")],
    );
}

#[test]
fn refuses_request_without_purpose() {
    let request = with(loan_request(), "/purposes", json!([]));
    assert_errors(request, &[("no_purpose", "purposes")]);
    assert_errors(
        without(loan_request(), "/purposes"),
        &[("no_purpose", "purposes")],
    );
}

#[test]
fn refuses_empty_purpose_description() {
    let request = with(loan_request(), "/purposes/0/description", json!("   "));
    assert_errors(request, &[("required", "purposes[0].description")]);
}

#[test]
fn refuses_unknown_purpose_category() {
    let request = with(loan_request(), "/purposes/0/category", json!("profiling"));
    assert_errors(
        request,
        &[("unknown_purpose_category", "purposes[0].category")],
    );
    let missing = without(loan_request(), "/purposes/0/category");
    assert_errors(missing, &[("required", "purposes[0].category")]);
}

#[test]
fn refuses_advertising_with_medical_data() {
    let request = with(phr_request(), "/purposes/0/category", json!("advertising"));
    assert_errors(
        request,
        &[("advertising_with_health_data", "purposes[0].category")],
    );
}

#[test]
fn refuses_marketing_with_special_care_data() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["self.disability_certificate"]),
    );
    let request = with(
        request,
        "/purposes",
        json!([
            { "category": "welfare", "description": "割引の適用に使います。" },
            { "category": "marketing", "description": "おすすめの商品をご案内します。" }
        ]),
    );
    assert_errors(
        request,
        &[("advertising_with_health_data", "purposes[1].category")],
    );
}

#[test]
fn refuses_advertising_when_the_medical_item_is_optional() {
    let request = with(
        loan_request(),
        "/items/optional",
        json!(["pmh.vaccination"]),
    );
    let request = with(request, "/purposes/0/category", json!("advertising"));
    assert_errors(
        request,
        &[("advertising_with_health_data", "purposes[0].category")],
    );
}

#[test]
fn allows_marketing_with_general_data() {
    let request = with(loan_request(), "/purposes/0/category", json!("marketing"));
    request::parse(&request)
        .expect("income data for marketing is a matter for review, not a hard rule");
}

#[test]
fn refuses_missing_operator_name_and_contact() {
    let request = without(
        without(loan_request(), "/operator/name"),
        "/operator/contact",
    );
    assert_errors(
        request,
        &[
            ("required", "operator.name"),
            ("required", "operator.contact"),
        ],
    );
}

#[test]
fn refuses_missing_approval_id() {
    let request = with(loan_request(), "/operator/approvalId", json!(""));
    assert_errors(request, &[("required", "operator.approvalId")]);
}

#[test]
fn refuses_missing_operator_once() {
    assert_errors(
        without(loan_request(), "/operator"),
        &[("required", "operator")],
    );
}

#[test]
fn refuses_privacy_policy_over_http() {
    let request = with(
        loan_request(),
        "/operator/privacyPolicyUrl",
        json!("http://example.jp/privacy"),
    );
    assert_errors(request, &[("insecure_url", "operator.privacyPolicyUrl")]);
}

#[test]
fn allows_http_privacy_policy_on_loopback_only() {
    for url in [
        "http://127.0.0.1:8080/privacy",
        "http://localhost/privacy",
        "http://[::1]/p",
    ] {
        let request = with(loan_request(), "/operator/privacyPolicyUrl", json!(url));
        request::parse(&request).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    for url in [
        "http://127.0.0.1.example.jp/p",
        "http://localhost.example.jp/p",
        "http://10.0.0.1/p",
    ] {
        let request = with(loan_request(), "/operator/privacyPolicyUrl", json!(url));
        assert_errors(request, &[("insecure_url", "operator.privacyPolicyUrl")]);
    }
}

#[test]
fn refuses_privacy_policy_that_is_not_a_web_url() {
    for url in [
        "privacy.html",
        "javascript:alert(1)",
        "ftp://example.jp/p",
        "data:text/html,hi",
    ] {
        let request = with(loan_request(), "/operator/privacyPolicyUrl", json!(url));
        assert_errors(request, &[("invalid_url", "operator.privacyPolicyUrl")]);
    }
}

#[test]
fn refuses_privacy_policy_with_credentials() {
    let request = with(
        loan_request(),
        "/operator/privacyPolicyUrl",
        json!("https://user:pw@example.jp/p"),
    );
    assert_errors(
        request,
        &[("url_with_credentials", "operator.privacyPolicyUrl")],
    );
}

/// A recipient that meets every rule.
fn recipient() -> Value {
    json!({
        "name": "保証会社株式会社",
        "contact": "03-1234-5678",
        "privacyPolicyUrl": "https://guarantor.example.jp/privacy",
        "approvalId": "MPA-2025-9999",
        "purposeCategory": "creditScreening",
        "purpose": "ローンの保証の審査に使います。"
    })
}

fn with_recipient(field: &str, value: Value) -> Value {
    let mut recipient = recipient();
    recipient[field] = value;
    with(loan_request(), "/recipients", json!([recipient]))
}

#[test]
fn accepts_an_accountable_recipient() {
    let valid =
        request::parse(&with(loan_request(), "/recipients", json!([recipient()]))).expect("valid");
    let recipient = &valid.request().recipients[0];
    assert_eq!(recipient.contact, "03-1234-5678");
    assert_eq!(recipient.approval_id.as_deref(), Some("MPA-2025-9999"));
    assert_eq!(
        recipient.purpose_category,
        request::PurposeCategory::CreditScreening
    );
}

#[test]
fn recipient_approval_id_is_optional() {
    for absent in [Value::Null, json!("")] {
        let valid = request::parse(&with_recipient("approvalId", absent)).expect("valid");
        assert_eq!(valid.request().recipients[0].approval_id, None);
    }
    let request = without(
        with(loan_request(), "/recipients", json!([recipient()])),
        "/recipients/0/approvalId",
    );
    request::parse(&request).expect("no approval id is fine");
}

#[test]
fn refuses_recipient_without_purpose() {
    assert_errors(
        with_recipient("purpose", json!("")),
        &[("recipient_without_purpose", "recipients[0].purpose")],
    );
}

#[test]
fn refuses_recipient_without_name() {
    assert_errors(
        with_recipient("name", json!("")),
        &[("required", "recipients[0].name")],
    );
}

#[test]
fn refuses_recipient_without_contact() {
    assert_errors(
        with_recipient("contact", json!(" ")),
        &[("required", "recipients[0].contact")],
    );
}

#[test]
fn refuses_recipient_without_an_https_privacy_policy() {
    assert_errors(
        with_recipient("privacyPolicyUrl", json!("")),
        &[("required", "recipients[0].privacyPolicyUrl")],
    );
    assert_errors(
        with_recipient("privacyPolicyUrl", json!("http://guarantor.example.jp/p")),
        &[("insecure_url", "recipients[0].privacyPolicyUrl")],
    );
}

#[test]
fn refuses_recipient_without_a_known_purpose_category() {
    let request = without(
        with(loan_request(), "/recipients", json!([recipient()])),
        "/recipients/0/purposeCategory",
    );
    assert_errors(request, &[("required", "recipients[0].purposeCategory")]);
    assert_errors(
        with_recipient("purposeCategory", json!("profiling")),
        &[("unknown_purpose_category", "recipients[0].purposeCategory")],
    );
}

#[test]
fn refuses_recipient_advertising_with_health_data() {
    let mut advertiser = recipient();
    advertiser["purposeCategory"] = json!("advertising");
    let request = with(phr_request(), "/recipients", json!([advertiser]));
    assert_errors(
        request,
        &[(
            "advertising_with_health_data",
            "recipients[0].purposeCategory",
        )],
    );
    // Income data is not health data: advertising is the operator's call.
    request::parse(&with_recipient("purposeCategory", json!("advertising")))
        .expect("no health data, no lint");
}

#[test]
fn refuses_unknown_recipient_fields() {
    assert_errors(
        with_recipient("webhook", json!("https://x")),
        &[("unknown_field", "recipients[0].webhook")],
    );
}

#[test]
fn refuses_duplicate_items() {
    let request = with(
        phr_request(),
        "/items/required",
        json!(["insurance.drugs", "insurance.drugs"]),
    );
    assert_errors(request, &[("duplicate_item", "items.required[1]")]);
}

#[test]
fn refuses_item_both_required_and_optional() {
    let request = with(phr_request(), "/items/optional", json!(["insurance.drugs"]));
    assert_errors(
        request,
        &[("required_optional_overlap", "items.optional[0]")],
    );
}

#[test]
fn refuses_request_without_items() {
    let request = with(
        phr_request(),
        "/items",
        json!({ "required": [], "optional": [] }),
    );
    assert_errors(request, &[("no_items", "items")]);
}

#[test]
fn refuses_too_many_items() {
    let ids: Vec<String> = (0..=request::MAX_ITEMS).map(|i| format!("x.{i}")).collect();
    let errors = errors(with(loan_request(), "/items/required", json!(ids)));
    assert!(errors.has("too_many", "items"), "{errors}");
}

#[test]
fn refuses_over_long_texts() {
    let long_name = "あ".repeat(MAX_NAME + 1);
    let long_description = "い".repeat(MAX_DESCRIPTION + 1);
    let request = with(loan_request(), "/operator/name", json!(long_name));
    let request = with(request, "/purposes/0/description", json!(long_description));
    let request = with(
        request,
        "/retention",
        json!("う".repeat(request::MAX_RETENTION + 1)),
    );
    let request = with(
        request,
        "/operator/approvalId",
        json!("A".repeat(request::MAX_APPROVAL_ID + 1)),
    );
    assert_errors(
        request,
        &[
            ("too_long", "operator.name"),
            ("too_long", "operator.approvalId"),
            ("too_long", "purposes[0].description"),
            ("too_long", "retention"),
        ],
    );
}

#[test]
fn counts_length_in_characters_not_bytes() {
    // 100 Japanese characters are 300 bytes of UTF-8 and still allowed.
    let request = with(
        loan_request(),
        "/operator/name",
        json!("あ".repeat(MAX_NAME)),
    );
    request::parse(&request).expect("100 characters are allowed");
}

#[test]
fn refuses_control_and_bidi_override_characters() {
    let request = with(
        loan_request(),
        "/operator/name",
        json!("安心\u{202E}ンーロ"),
    );
    let request = with(request, "/operator/contact", json!("line1\nline2"));
    assert_errors(
        request,
        &[
            ("control_character", "operator.name"),
            ("control_character", "operator.contact"),
        ],
    );
    let multiline = with(loan_request(), "/retention", json!("1行目\n2行目"));
    request::parse(&multiline).expect("descriptions may span lines");
}

/// Reported: a retention statement with CRLF, or a purpose with a tab,
/// passed the SDK's and the backend's validation and was refused by the
/// authority after the citizen had pressed 同意. Multi-line texts take `\n`
/// only, everywhere.
#[test]
fn refuses_carriage_returns_and_tabs_even_in_multi_line_texts() {
    let request = with(loan_request(), "/retention", json!("1行目\r\n2行目"));
    let request = with(
        request,
        "/purposes/0/description",
        json!("審査\tに使います"),
    );
    assert_errors(
        request,
        &[
            ("control_character", "purposes[0].description"),
            ("control_character", "retention"),
        ],
    );
}

#[test]
fn terms_follow_the_request_rules_with_flat_item_paths() {
    let terms = json!({
        "items": ["insurance.drugs", "self.tax_income", "insurance.drugs"],
        "purposes": [{ "category": "advertising", "description": "広告\tに使います" }],
        "period": { "kind": "linkage", "days": 90 },
        "recipients": [],
        "retention": "削除します。\r\n"
    });
    let errors = request::parse_terms(&terms, false).expect_err("refused");
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.code(), e.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("linkage_not_eligible", "items[1]"),
            ("duplicate_item", "items[2]"),
            ("control_character", "purposes[0].description"),
            ("advertising_with_health_data", "purposes[0].category"),
            ("control_character", "retention"),
        ]
    );
}

#[test]
fn terms_admit_preview_items_only_when_asked() {
    let terms = json!({
        "items": ["ehr.lab.hba1c"],
        "purposes": [{ "category": "healthManagement", "description": "検査値を表示します。" }],
        "period": { "kind": "oneTime" },
        "retention": "30日で削除します。"
    });
    let errors = request::parse_terms(&terms, false).expect_err("not offered");
    assert!(errors.has("item_not_yet_offered", "items[0]"), "{errors}");
    let parsed = request::parse_terms(&terms, true).expect("preview");
    assert_eq!(parsed.items, ["ehr.lab.hba1c"]);
    let typo = with(terms, "/operator", json!({}));
    let errors = request::parse_terms(&typo, true).expect_err("operator is not a term");
    assert!(errors.has("unknown_field", "operator"), "{errors}");
}

#[test]
fn refuses_unknown_fields_as_typos() {
    let request = with(
        loan_request(),
        "/operator/privacyPolicyURL",
        json!("https://example.jp/p"),
    );
    let errors = errors(request);
    assert!(
        errors.has("unknown_field", "operator.privacyPolicyURL"),
        "{errors}"
    );
    let top = with(loan_request(), "/purpose", json!("typo"));
    assert_errors(top, &[("unknown_field", "purpose")]);
}

#[test]
fn refuses_wrong_types_with_their_path() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["self.tax_income", 7]),
    );
    let request = with(request, "/operator/name", json!(42));
    let request = with(request, "/preview", json!("yes"));
    assert_errors(
        request,
        &[
            ("wrong_type", "operator.name"),
            ("wrong_type", "items.required[1]"),
            ("wrong_type", "preview"),
        ],
    );
}

#[test]
fn refuses_a_request_that_is_not_an_object() {
    for value in [json!(null), json!([]), json!("request"), json!(3)] {
        assert_errors(value, &[("wrong_type", "")]);
    }
}

#[test]
fn refuses_text_that_is_not_json() {
    let errors = request::parse_json("{ operator: ").expect_err("not JSON");
    assert!(errors.has("invalid_json", ""), "{errors}");
}

#[test]
fn refuses_unknown_locale() {
    let request = with(loan_request(), "/locale", json!("fr"));
    assert_errors(request, &[("unknown_locale", "locale")]);
}

#[test]
fn marks_special_care_items_for_separate_confirmation() {
    let request = with(
        loan_request(),
        "/items/required",
        json!(["self.disability_certificate"]),
    );
    let request = with(request, "/items/optional", json!(["self.pension"]));
    let valid = request::parse(&request).expect("valid");
    assert!(valid.needs_separate_confirmation());
    let ids: Vec<&str> = valid
        .special_care_items()
        .iter()
        .map(|item| item.id)
        .collect();
    assert_eq!(ids, ["self.disability_certificate"]);
}

#[test]
fn marks_optional_infection_tests_for_separate_confirmation() {
    let request = with(
        loan_request(),
        "/items/optional",
        json!(["ehr.infection.hiv"]),
    );
    let request = with(request, "/preview", json!(true));
    let valid = request::parse(&request).expect("valid");
    assert!(valid.needs_separate_confirmation());
}

#[test]
fn messages_exist_in_japanese_and_english() {
    let errors = errors(with(phr_request(), "/period/days", json!(120)));
    let error = errors.iter().next().expect("one error");
    assert_eq!(
        error.message(Locale::Ja),
        "期間連携の日数は1日から90日までです。"
    );
    assert_eq!(
        error.message(Locale::En),
        "A linkage lasts from 1 to 90 days."
    );
    assert_eq!(error.to_json(Locale::En)["field"], "period.days");
}

#[test]
fn validate_checks_a_request_built_in_rust() {
    let valid = request::parse(&loan_request()).expect("valid");
    let mut request = valid.request().clone();
    request.purposes.clear();
    let errors = request.validate().expect_err("no purpose");
    assert!(errors.has("no_purpose", "purposes"));
}
