//! Synthetic records for the retrieval API: plausible, clearly fictional,
//! and derived from the grant id and the item so that the same grant always
//! answers the same data.

use myna_consent::catalogue;
use myna_consent::consent::jst_date;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::{Date, Duration};

use crate::store::Grant;

/// A stream of deterministic numbers for one grant and item.
struct Seed {
    bytes: [u8; 32],
    next: usize,
}

impl Seed {
    fn new(grant_id: &str, item: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(grant_id.as_bytes());
        hasher.update([0]);
        hasher.update(item.as_bytes());
        Self {
            bytes: hasher.finalize().into(),
            next: 0,
        }
    }

    /// A number in `0..n` (n ≥ 1).
    fn below(&mut self, n: u32) -> u32 {
        let i = self.next % 31;
        self.next += 2;
        let value = u32::from(u16::from_be_bytes([self.bytes[i], self.bytes[i + 1]]));
        value % n.max(1)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    fn pick<'a, T>(&mut self, list: &'a [T]) -> &'a T {
        let n = u32::try_from(list.len()).unwrap_or(1);
        &list[usize::try_from(self.below(n)).unwrap_or(0)]
    }
}

const PHARMACIES: &[&str] = &[
    "さくら薬局 サンドボックス店",
    "みどり調剤薬局（架空）",
    "ひかり薬局 テスト通り店",
];
const INSTITUTIONS: &[&str] = &[
    "サンドボックス内科クリニック",
    "テスト市立総合病院（架空）",
    "みなと診療所（架空）",
];
/// (name, dose, tablets per day)
const DRUGS: &[(&str, &str, u32)] = &[
    ("アムロジピン錠5mg", "1日1回1錠", 1),
    ("メトホルミン塩酸塩錠250mg", "1日2回1錠", 2),
    ("ロスバスタチン錠2.5mg", "1日1回1錠", 1),
    ("ランソプラゾールOD錠15mg", "1日1回1錠", 1),
    ("カンデサルタン錠8mg", "1日1回1錠", 1),
    ("レバミピド錠100mg", "1日3回1錠", 3),
];
/// (item, unit, low, high, decimals, reference range)
const LABS: &[(&str, &str, u32, u32, u32, &str)] = &[
    ("ehr.lab.hba1c", "%", 52, 72, 1, "4.9-6.0"),
    ("ehr.lab.glucose", "mg/dL", 85, 140, 0, "73-109"),
    ("ehr.lab.ldl_c", "mg/dL", 80, 170, 0, "65-163"),
    ("ehr.lab.hdl_c", "mg/dL", 38, 80, 0, "40-90"),
    ("ehr.lab.tg", "mg/dL", 60, 220, 0, "40-149"),
    ("ehr.lab.ast", "U/L", 15, 45, 0, "13-30"),
    ("ehr.lab.alt", "U/L", 10, 50, 0, "10-42"),
    ("ehr.lab.cre", "mg/dL", 60, 110, 2, "0.65-1.07"),
    ("ehr.lab.hb", "g/dL", 120, 165, 1, "13.7-16.8"),
    ("ehr.lab.wbc", "10^3/µL", 35, 90, 1, "3.3-8.6"),
    ("ehr.lab.crp", "mg/dL", 1, 30, 2, "0.00-0.14"),
];

fn date_text(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `value / 10^decimals` as a JSON number.
fn scaled(value: u32, decimals: u32) -> Value {
    let divisor = 10f64.powi(i32::try_from(decimals).unwrap_or(0));
    json!(f64::from(value) / divisor)
}

/// The records of `item` for `grant`. Only granted items reach this.
pub(crate) fn records(grant: &Grant, item: &str) -> Vec<Value> {
    let mut seed = Seed::new(&grant.id, item);
    let today = jst_date(grant.granted_at);
    let days_ago = |seed: &mut Seed, lo: u32, hi: u32| {
        date_text(today - Duration::days(i64::from(seed.range(lo, hi))))
    };
    let month_ago = |seed: &mut Seed| {
        let date = today - Duration::days(i64::from(seed.range(30, 150)));
        format!("{:04}-{:02}", date.year(), u8::from(date.month()))
    };
    match item {
        "insurance.drugs" => {
            let count = seed.range(1, 3);
            (0..count)
                .map(|_| {
                    let (name, dose, per_day) = *seed.pick(DRUGS);
                    json!({
                        "name": name,
                        "dose": dose,
                        "quantity": per_day * 28,
                        "dispensedOn": days_ago(&mut seed, 3, 60),
                        "pharmacy": seed.pick(PHARMACIES),
                    })
                })
                .collect()
        }
        "insurance.prescriptions" => vec![json!({
            "prescribedOn": days_ago(&mut seed, 3, 60),
            "institution": seed.pick(INSTITUTIONS),
            "drugs": [seed.pick(DRUGS).0, seed.pick(DRUGS).0],
            "days": 28,
        })],
        "insurance.dispensing" => vec![json!({
            "dispensedOn": days_ago(&mut seed, 3, 60),
            "pharmacy": seed.pick(PHARMACIES),
            "points": seed.range(300, 1500),
            "copayment": seed.range(90, 450) * 10,
        })],
        "insurance.medical_costs" => vec![json!({
            "month": month_ago(&mut seed),
            "institution": seed.pick(INSTITUTIONS),
            "kind": "外来",
            "totalCost": seed.range(300, 2500) * 10,
            "copayment": seed.range(90, 750) * 10,
        })],
        "insurance.checkups" => {
            let height = seed.range(1500, 1850);
            let weight = seed.range(450, 900);
            let bmi = f64::from(weight) / 10.0 / (f64::from(height) / 1000.0).powi(2);
            vec![json!({
                "checkedOn": days_ago(&mut seed, 30, 300),
                "heightCm": scaled(height, 1),
                "weightKg": scaled(weight, 1),
                "bmi": (bmi * 10.0).round() / 10.0,
                "systolicBp": seed.range(105, 150),
                "diastolicBp": seed.range(60, 95),
                "hba1c": scaled(seed.range(50, 68), 1),
            })]
        }
        "insurance.treatment" => vec![json!({
            "month": month_ago(&mut seed),
            "institution": seed.pick(INSTITUTIONS),
            "department": seed.pick(&["内科", "整形外科", "眼科"]),
            "days": seed.range(1, 4),
        })],
        "self.tax_income" => vec![json!({
            "year": today.year() - 1,
            "income": seed.range(250, 900) * 10_000,
            "residentTax": seed.range(100, 600) * 1_000,
        })],
        "self.pension" => vec![json!({
            "year": today.year() - 1,
            "pensionType": "厚生年金（架空）",
            "contributionMonths": seed.range(120, 480),
        })],
        _ if item.starts_with("ehr.lab.") => {
            let (unit, value, range) = match LABS.iter().find(|lab| lab.0 == item) {
                Some(&(_, unit, lo, hi, decimals, range)) => {
                    (unit, scaled(seed.range(lo, hi), decimals), range)
                }
                None => ("", scaled(seed.range(10, 100), 1), ""),
            };
            vec![json!({
                "value": value,
                "unit": unit,
                "testedOn": days_ago(&mut seed, 7, 120),
                "referenceRange": range,
                "institution": seed.pick(INSTITUTIONS),
            })]
        }
        _ => {
            let label = catalogue::item(item).map(|i| i.label.ja).unwrap_or(item);
            vec![json!({
                "summary": format!("{label}（サンドボックスの架空データ）"),
                "recordedOn": days_ago(&mut seed, 7, 200),
            })]
        }
    }
}
