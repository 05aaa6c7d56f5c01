//! The catalogue covers the whole reference report, not a sample of it.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;

use myna_consent::catalogue::{self, ApiId, Availability, Sensitivity};
use myna_consent::i18n::Locale;

#[test]
fn has_the_sixteen_apis_of_the_report_in_order() {
    let numbers: Vec<u8> = catalogue::apis().iter().map(|api| api.number).collect();
    assert_eq!(numbers, (1..=16).collect::<Vec<u8>>());
    let ids: HashSet<ApiId> = catalogue::apis().iter().map(|api| api.id).collect();
    assert_eq!(ids.len(), 16);
    assert_eq!(catalogue::api(ApiId::Linkage).number, 8);
    assert_eq!(
        catalogue::api(ApiId::MedicalInsurance).name.ja,
        "医療保険情報取得"
    );
    assert_eq!(
        catalogue::api(ApiId::ResidenceApplication).name.ja,
        "在留手続申請"
    );
}

#[test]
fn item_ids_are_unique_and_every_item_has_a_category() {
    let mut seen = HashSet::new();
    for item in catalogue::items() {
        assert!(seen.insert(item.id), "duplicate id {}", item.id);
        assert!(
            catalogue::category(item.category).is_some(),
            "{} has no category",
            item.id
        );
    }
    for category in catalogue::categories() {
        assert!(
            catalogue::items()
                .iter()
                .any(|item| item.category == category.id),
            "category {} is empty",
            category.id
        );
    }
}

#[test]
fn every_text_exists_in_japanese_and_english() {
    for item in catalogue::items() {
        for text in [item.label, item.explanation] {
            assert!(
                !text.ja.trim().is_empty() && !text.en.trim().is_empty(),
                "{}",
                item.id
            );
        }
    }
    for category in catalogue::categories() {
        assert!(
            !category.label.ja.is_empty() && !category.label.en.is_empty(),
            "{}",
            category.id
        );
        assert!(!category.explanation.ja.is_empty() && !category.explanation.en.is_empty());
    }
}

fn labels_in(category: &str) -> Vec<&'static str> {
    catalogue::items()
        .iter()
        .filter(|item| item.category == category)
        .map(|item| item.label.ja)
        .collect()
}

/// Every lab test of the report's five groups, as the report prints it.
const LAB_TESTS: [(&str, &[&str]); 5] = [
    (
        "ehr.lab.biochemistry",
        &[
            "総蛋白",
            "アルブミン",
            "クレアチンキナーゼ",
            "AST",
            "ALT",
            "LD",
            "アルカリフォスファターゼ",
            "γ-GTP",
            "コリンエステラーゼ",
            "アミラーゼ",
            "クレアチニン",
            "シスタチンC",
            "尿酸",
            "尿素窒素",
            "グルコース",
            "HbA1c",
            "中性脂肪",
            "総コレステロール",
            "HDL-コレステロール",
            "LDL-コレステロール",
            "ナトリウム",
            "カリウム",
            "クロール",
            "カルシウム",
            "総ビリルビン",
            "直接ビリルビン",
        ],
    ),
    (
        "ehr.lab.hematology",
        &[
            "白血球数",
            "赤血球数",
            "ヘモグロビン",
            "ヘマトクリット",
            "血小板数",
            "活性化部分トロンボプラスチン時間",
            "プロトロンビン時間",
            "FDP",
            "Dダイマー",
        ],
    ),
    (
        "ehr.lab.urinalysis",
        &["尿蛋白", "尿糖", "尿潜血", "P/C比", "A/C比"],
    ),
    ("ehr.lab.endocrinology", &["BNP", "NT-proBNP"]),
    (
        "ehr.lab.immunology",
        &["C反応性蛋白", "血液型-ABO", "血液型-Rh"],
    ),
];

#[test]
fn has_every_lab_test_of_the_five_groups() {
    let mut total = 0;
    for (category, names) in LAB_TESTS {
        let labels = labels_in(category);
        assert_eq!(labels.len(), names.len(), "{category}: {labels:?}");
        for name in names {
            assert!(
                labels.iter().any(|label| label.contains(name)),
                "{category} lacks {name}"
            );
        }
        total += names.len();
    }
    assert_eq!(total, 45);
    let hba1c = catalogue::item("ehr.lab.hba1c").expect("HbA1c");
    assert_eq!(hba1c.category, "ehr.lab.biochemistry");
    assert_eq!(hba1c.availability, Availability::NotYetOffered);
}

#[test]
fn has_every_infection_test_as_special_care() {
    let labels = labels_in("ehr.infection");
    for name in ["RPR", "TP抗体", "HBs", "HCV", "HIV"] {
        assert!(
            labels.iter().any(|label| label.contains(name)),
            "lacks {name}: {labels:?}"
        );
    }
    assert_eq!(labels.len(), 5);
    for item in catalogue::items()
        .iter()
        .filter(|item| item.category == "ehr.infection")
    {
        assert_eq!(item.sensitivity, Sensitivity::SpecialCare, "{}", item.id);
    }
}

#[test]
fn has_the_other_medical_record_items_of_the_report() {
    let expect = |category: &str, names: &[&str]| {
        let labels = labels_in(category);
        assert_eq!(labels.len(), names.len(), "{category}: {labels:?}");
        for name in names {
            assert!(
                labels.iter().any(|label| label.contains(name)),
                "{category} lacks {name}"
            );
        }
    };
    expect("ehr.diagnosis", &["既往症", "現病名"]);
    expect("ehr.allergy", &["アレルギー", "薬剤アレルギー"]);
    expect("ehr.prescription", &["院外処方", "院内処方"]);
    expect(
        "ehr.checkup_report",
        &[
            "特定健診",
            "後期高齢者健診",
            "事業主健診",
            "学校職員健診",
            "そのほか健診",
        ],
    );
    expect("ehr.referral", &["紹介状", "退院時サマリー"]);
    expect("ehr.patient_summary", &["療養上の計画"]);
    for id in ["ehr.diagnosis.past", "ehr.diagnosis.current"] {
        assert_eq!(
            catalogue::item(id).map(|i| i.sensitivity),
            Some(Sensitivity::SpecialCare),
            "{id}"
        );
    }
}

#[test]
fn availability_follows_the_report() {
    let availability = |id: &str| {
        catalogue::item(id)
            .unwrap_or_else(|| panic!("{id}"))
            .availability
    };
    for id in ["ehr.referral.letter", "ehr.referral.discharge_summary"] {
        assert_eq!(availability(id), Availability::InstitutionsOnly, "{id}");
    }
    assert_eq!(
        availability("ehr.patient_summary"),
        Availability::PortalOnly
    );
    // Linkage covers the medical insurance data (API 6), and only it.
    for item in catalogue::items() {
        let is_insurance = item.api == Some(ApiId::MedicalInsurance);
        assert_eq!(
            item.availability.allows_linkage(),
            is_insurance,
            "{}",
            item.id
        );
    }
    for id in [
        "insurance.medical_costs",
        "insurance.drugs",
        "insurance.prescriptions",
        "insurance.dispensing",
        "insurance.checkups",
        "insurance.treatment",
    ] {
        assert_eq!(availability(id), Availability::OfferedWithLinkage, "{id}");
    }
    // Items under discussion are not offered, and no API provides them yet.
    for item in catalogue::items()
        .iter()
        .filter(|item| item.id.starts_with("ehr."))
    {
        assert!(!item.availability.is_requestable(false), "{}", item.id);
        assert_eq!(item.api, None, "{}", item.id);
    }
}

#[test]
fn has_the_self_information_pmh_and_insurance_categories() {
    for id in [
        "self.tax_income",
        "self.pension",
        "self.family_register",
        "self.employment_insurance",
        "self.municipal.resident_record",
        "self.disability_certificate",
        "pmh.subsidy",
        "pmh.vaccination",
        "pmh.maternal_child",
        "notices.government",
        "delivery.deduction_certificates",
    ] {
        let item = catalogue::item(id).unwrap_or_else(|| panic!("lacks {id}"));
        assert_eq!(item.availability, Availability::Offered, "{id}");
        assert!(item.api.is_some(), "{id}");
    }
    assert_eq!(
        catalogue::item("self.family_register").map(|i| i.api),
        Some(Some(ApiId::SelfInformation))
    );
    assert_eq!(
        catalogue::item("self.disability_certificate").map(|i| i.sensitivity),
        Some(Sensitivity::SpecialCare)
    );
}

#[test]
fn catalogue_json_lists_every_item_once_in_the_chosen_locale() {
    let json = catalogue::to_json(Locale::En);
    assert_eq!(json["locale"], "en");
    assert_eq!(json["apis"].as_array().map(Vec::len), Some(16));
    let items: Vec<&serde_json::Value> = json["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .flat_map(|category| category["items"].as_array().expect("items"))
        .collect();
    assert_eq!(items.len(), catalogue::items().len());
    let hba1c = items
        .iter()
        .find(|item| item["id"] == "ehr.lab.hba1c")
        .expect("HbA1c");
    assert_eq!(hba1c["availability"], "notYetOffered");
    assert!(hba1c["label"]
        .as_str()
        .is_some_and(|label| label.contains("HbA1c")));
}
