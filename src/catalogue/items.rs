//! Every data item of the reference report and the categories they are grouped under.
//!
//! The order of [`CATEGORIES`] is the order of the consent screen: the
//! information that government bodies hold about the citizen (自己情報取得,
//! お知らせ, 民間送達), then the medical insurance data (医療保険情報取得,
//! which 期間連携 can keep up to date for 90 days), the Public Medical Hub
//! (PMH) and last the items of the electronic medical record sharing service
//! (電子カルテ情報共有サービス) that no API provides yet. [`ITEMS`] lists the
//! items grouped by category, in the same order.
//!
//! Explanations say what the data is, in plain words; they never say whether
//! an item can be requested (the consent screen shows that from
//! [`Availability`]).

use super::ApiId;
use super::{Availability, Category, DataItem, Sensitivity};
use crate::i18n::Text;

/// A category.
const fn cat(id: &'static str, label: Text, explanation: Text) -> Category {
    Category {
        id,
        label,
        explanation,
    }
}

/// An item of 自己情報取得 (information that government bodies and
/// municipalities hold), retrieved once per consent.
const fn own(
    id: &'static str,
    category: &'static str,
    label: Text,
    explanation: Text,
    sensitivity: Sensitivity,
) -> DataItem {
    DataItem {
        id,
        category,
        api: Some(ApiId::SelfInformation),
        label,
        explanation,
        availability: Availability::Offered,
        sensitivity,
    }
}

/// An item of 医療保険情報取得, which 期間連携 can keep up to date for
/// 90 days. Each is the only item of the category with the same id.
const fn insurance(
    id: &'static str,
    label: Text,
    explanation: Text,
    sensitivity: Sensitivity,
) -> DataItem {
    DataItem {
        id,
        category: id,
        api: Some(ApiId::MedicalInsurance),
        label,
        explanation,
        availability: Availability::OfferedWithLinkage,
        sensitivity,
    }
}

/// An item of PMH情報連携, retrieved once per consent. Each is the only item
/// of the category with the same id.
const fn pmh(
    id: &'static str,
    label: Text,
    explanation: Text,
    sensitivity: Sensitivity,
) -> DataItem {
    DataItem {
        id,
        category: id,
        api: Some(ApiId::PublicMedicalHub),
        label,
        explanation,
        availability: Availability::Offered,
        sensitivity,
    }
}

/// An item of the electronic medical record sharing service that no API
/// provides yet.
const fn ehr(
    id: &'static str,
    category: &'static str,
    label: Text,
    explanation: Text,
    sensitivity: Sensitivity,
) -> DataItem {
    DataItem {
        id,
        category,
        api: None,
        label,
        explanation,
        availability: Availability::NotYetOffered,
        sensitivity,
    }
}

/// A lab test result of the electronic medical record sharing service
/// (検査結果): not provided by any API yet, health data.
const fn lab(id: &'static str, category: &'static str, label: Text, explanation: Text) -> DataItem {
    ehr(id, category, label, explanation, Sensitivity::Health)
}

pub(super) static CATEGORIES: &[Category] = &[
    cat(
        "self.tax_income",
        Text::new("税・所得", "Tax and income"),
        Text::new(
            "所得や住民税など、税と所得に関するあなたの情報です。",
            "Your information on tax and income, such as your income and resident tax.",
        ),
    ),
    cat(
        "self.pension",
        Text::new("年金", "Pension"),
        Text::new(
            "公的年金に関するあなたの情報です。",
            "Your information on the public pension.",
        ),
    ),
    cat(
        "self.family_register",
        Text::new("戸籍", "Family register"),
        Text::new(
            "戸籍に記録されているあなたの情報です。",
            "Your information as recorded in the family register (koseki).",
        ),
    ),
    cat(
        "self.employment_insurance",
        Text::new("雇用保険", "Employment insurance"),
        Text::new(
            "雇用保険と労災保険に関するあなたの情報です。",
            "Your information on employment insurance and workers' accident compensation insurance.",
        ),
    ),
    cat(
        "self.municipal",
        Text::new("自治体の情報", "Municipal information"),
        Text::new(
            "住民票、手当、介護保険など、市区町村が持っているあなたの情報です。",
            "Your information held by your municipality, such as your resident record, allowances and long-term care insurance.",
        ),
    ),
    cat(
        "self.disability",
        Text::new("障害者手帳", "Disability certificate"),
        Text::new(
            "障害者手帳に関するあなたの情報です。",
            "Your information on your disability certificate.",
        ),
    ),
    cat(
        "notices",
        Text::new("お知らせ", "Notices"),
        Text::new(
            "行政機関からあなたに届いたお知らせです。",
            "Notices that government bodies sent to you.",
        ),
    ),
    cat(
        "delivery",
        Text::new(
            "民間送達サービスの書類",
            "Documents from private delivery services",
        ),
        Text::new(
            "民間の送達サービスであなたが受け取った書類です。",
            "Documents you received through a private delivery service.",
        ),
    ),
    cat(
        "insurance.medical_costs",
        Text::new("医療費", "Medical costs"),
        Text::new(
            "医療機関や薬局でかかった医療費の情報です。",
            "Information on the medical costs of your care at medical institutions and pharmacies.",
        ),
    ),
    cat(
        "insurance.drugs",
        Text::new("薬剤", "Medicines"),
        Text::new(
            "処方・調剤された薬の情報です。",
            "Information on the medicines prescribed and dispensed to you.",
        ),
    ),
    cat(
        "insurance.prescriptions",
        Text::new("処方", "Prescriptions"),
        Text::new(
            "電子処方箋に記録された処方の情報です。",
            "Prescriptions recorded as electronic prescriptions.",
        ),
    ),
    cat(
        "insurance.dispensing",
        Text::new("調剤", "Dispensing"),
        Text::new(
            "薬局で受け取った薬の情報です。",
            "Information on the medicines you received at pharmacies.",
        ),
    ),
    cat(
        "insurance.checkups",
        Text::new("健診", "Health check-ups"),
        Text::new(
            "健康診断の結果の情報です。",
            "Information on the results of your health check-ups.",
        ),
    ),
    cat(
        "insurance.treatment",
        Text::new("診療", "Treatment"),
        Text::new(
            "医療機関で受けた診療の情報です。",
            "Information on the care you received at medical institutions.",
        ),
    ),
    cat(
        "pmh.subsidy",
        Text::new("医療費助成", "Medical cost subsidies"),
        Text::new(
            "自治体などによる医療費の助成の情報です。",
            "Information on subsidies for medical costs from your municipality or other public bodies.",
        ),
    ),
    cat(
        "pmh.vaccination",
        Text::new("予防接種", "Vaccinations"),
        Text::new(
            "受けた予防接種の情報です。",
            "Information on the vaccinations you received.",
        ),
    ),
    cat(
        "pmh.maternal_child",
        Text::new("母子保健", "Maternal and child health"),
        Text::new(
            "妊娠中の母親と子どもの健康の情報です。",
            "Information on the health of mothers during pregnancy and of children.",
        ),
    ),
    cat(
        "ehr.diagnosis",
        Text::new("傷病名", "Diagnoses"),
        Text::new(
            "医師が診断した病気やけがの名前です。",
            "The names of illnesses and injuries that doctors diagnosed.",
        ),
    ),
    cat(
        "ehr.allergy",
        Text::new("アレルギー", "Allergies"),
        Text::new(
            "食べ物や薬などに対するアレルギーの情報です。",
            "Information on allergies, for example to foods or medicines.",
        ),
    ),
    cat(
        "ehr.infection",
        Text::new("感染症の検査", "Infection tests"),
        Text::new(
            "梅毒、B型肝炎、C型肝炎、HIVの感染を調べた検査の結果です。",
            "Results of tests for infection with syphilis, hepatitis B, hepatitis C and HIV.",
        ),
    ),
    cat(
        "ehr.prescription",
        Text::new("処方情報", "Prescription information"),
        Text::new(
            "医療機関の電子カルテに記録された、薬の処方の内容です。",
            "The medicines prescribed to you, as recorded in medical institutions' electronic medical records.",
        ),
    ),
    cat(
        "ehr.lab.biochemistry",
        Text::new("生化学的検査", "Biochemistry tests"),
        Text::new(
            "肝臓・腎臓の働き、血糖、脂質などを調べる血液検査の結果です。",
            "Results of blood tests on liver and kidney function, blood sugar, blood fats and more.",
        ),
    ),
    cat(
        "ehr.lab.hematology",
        Text::new("血液学的検査", "Hematology tests"),
        Text::new(
            "血液の細胞の数や、血液の固まりやすさを調べる検査の結果です。",
            "Results of tests on the numbers of blood cells and on how your blood clots.",
        ),
    ),
    cat(
        "ehr.lab.urinalysis",
        Text::new("尿検査", "Urine tests"),
        Text::new(
            "尿に含まれるたんぱく質、糖、血液などを調べた結果です。",
            "Results of tests for protein, sugar, blood and more in your urine.",
        ),
    ),
    cat(
        "ehr.lab.endocrinology",
        Text::new("内分泌学的検査", "Endocrine tests"),
        Text::new(
            "体の中で作られるホルモンなどの量を調べる検査の結果です。",
            "Results of tests that measure hormones and related substances made in the body.",
        ),
    ),
    cat(
        "ehr.lab.immunology",
        Text::new("免疫学的検査", "Immunology tests"),
        Text::new(
            "炎症の強さや血液型を調べる検査の結果です。",
            "Results of tests on inflammation and on your blood type.",
        ),
    ),
    cat(
        "ehr.checkup_report",
        Text::new("健診結果報告書", "Health check-up reports"),
        Text::new(
            "受けた健康診断の結果をまとめた報告書です。",
            "Reports of the results of the health check-ups you had.",
        ),
    ),
    cat(
        "ehr.referral",
        Text::new("診療情報提供書", "Referral documents"),
        Text::new(
            "医療機関が、別の医療機関にあなたの診療の内容を伝えるための書類です。",
            "Documents in which one medical institution tells another about your care.",
        ),
    ),
    cat(
        "ehr.patient_summary",
        Text::new("患者サマリー", "Patient summary"),
        Text::new(
            "医師がまとめた、あなたの治療と療養についての計画や助言です。",
            "Your doctor's summary of plans and advice for your treatment and recovery.",
        ),
    ),
];

pub(super) static ITEMS: &[DataItem] = &[
    // 税・所得 (self.tax_income)
    own(
        "self.tax_income",
        "self.tax_income",
        Text::new("所得・住民税の情報", "Income and resident tax"),
        Text::new(
            "市区町村が把握しているあなたの所得と、住民税の額などの情報です。",
            "Your income and the amount of your resident tax, among other details, as recorded by your municipality.",
        ),
        Sensitivity::General,
    ),
    // 年金 (self.pension)
    own(
        "self.pension",
        "self.pension",
        Text::new("年金の情報", "Pension information"),
        Text::new(
            "年金に加入していた期間の記録や、受け取っている年金の額などの情報です。",
            "Your pension membership record and the pension you receive, among other details.",
        ),
        Sensitivity::General,
    ),
    // 戸籍 (self.family_register)
    own(
        "self.family_register",
        "self.family_register",
        Text::new("戸籍関係情報", "Family register information"),
        Text::new(
            "親族との関係や結婚しているかどうかなど、戸籍に記録されている情報です。独身であることの証明などに使われます。",
            "What your family register records, such as your relationships to relatives and whether you are married. Used, for example, to prove that you are single.",
        ),
        Sensitivity::General,
    ),
    // 雇用保険 (self.employment_insurance)
    own(
        "self.employment_insurance",
        "self.employment_insurance",
        Text::new(
            "雇用保険・労災の情報",
            "Employment insurance and workers' accident compensation",
        ),
        Text::new(
            "雇用保険の加入や給付の記録と、労災保険（仕事中や通勤中のけがなどへの補償）の給付の情報です。",
            "Your employment insurance membership and benefit records, and benefits from workers' accident compensation insurance (compensation for injuries at work or while commuting, among others).",
        ),
        Sensitivity::General,
    ),
    // 自治体の情報 (self.municipal)
    own(
        "self.municipal.resident_record",
        "self.municipal",
        Text::new("住民票関係情報", "Resident record"),
        Text::new(
            "住民票に記録されている住所や、世帯の構成などの情報です。",
            "Your address and the members of your household, among other details, as recorded in your resident record.",
        ),
        Sensitivity::General,
    ),
    own(
        "self.municipal.child_allowance",
        "self.municipal",
        Text::new(
            "児童手当などの手当の情報",
            "Child allowance and other allowances",
        ),
        Text::new(
            "児童手当など、市区町村から受け取っている手当の情報です。",
            "Allowances you receive from your municipality, such as the child allowance.",
        ),
        Sensitivity::General,
    ),
    own(
        "self.municipal.long_term_care",
        "self.municipal",
        Text::new("介護保険の情報", "Long-term care insurance"),
        Text::new(
            "介護がどの程度必要かの認定（要介護認定）や保険料など、介護保険に関する情報です。",
            "Your long-term care insurance information, such as your certified level of care need and your premiums.",
        ),
        Sensitivity::Health,
    ),
    // 障害者手帳 (self.disability)
    own(
        "self.disability_certificate",
        "self.disability",
        Text::new("障害者手帳の情報", "Disability certificate information"),
        Text::new(
            "身体障害者手帳などの障害者手帳の種類や等級などの情報です。交通機関や有料道路の割引の手続などに使われます。",
            "The type and grade of your disability certificate, such as a physical disability certificate. Used, for example, to apply for discounts on transport and toll roads.",
        ),
        Sensitivity::SpecialCare,
    ),
    // お知らせ (notices)
    DataItem {
        id: "notices.government",
        category: "notices",
        api: Some(ApiId::Notices),
        label: Text::new("行政機関からのお知らせ", "Notices from government bodies"),
        explanation: Text::new(
            "国や自治体などの行政機関から、マイナポータルであなたに届いたお知らせです。",
            "Notices that government bodies, such as ministries and your municipality, sent to you through Mynaportal.",
        ),
        availability: Availability::Offered,
        sensitivity: Sensitivity::General,
    },
    // 民間送達サービスの書類 (delivery)
    DataItem {
        id: "delivery.deduction_certificates",
        category: "delivery",
        api: Some(ApiId::PrivateDeliveryInformation),
        label: Text::new(
            "控除証明書などの書類",
            "Deduction certificates and similar documents",
        ),
        explanation: Text::new(
            "生命保険料控除証明書など、年末調整や確定申告に使う書類のデータです。",
            "Data of documents used for the year-end tax adjustment and tax returns, such as life insurance premium deduction certificates.",
        ),
        availability: Availability::Offered,
        sensitivity: Sensitivity::General,
    },
    // 医療費 (insurance.medical_costs)
    insurance(
        "insurance.medical_costs",
        Text::new("医療費の情報", "Medical costs"),
        Text::new(
            "受診した医療機関や薬局と、かかった医療費の額などの情報（医療費通知情報）です。",
            "Where you received care and how much it cost, among other details (medical cost notice information).",
        ),
        Sensitivity::Health,
    ),
    // 薬剤 (insurance.drugs)
    insurance(
        "insurance.drugs",
        Text::new("薬剤情報", "Medicine information"),
        Text::new(
            "医療機関や薬局で処方・調剤された薬の名前、量、日付などの情報です。",
            "The names, amounts and dates of the medicines prescribed or dispensed to you by medical institutions and pharmacies.",
        ),
        Sensitivity::Health,
    ),
    // 処方 (insurance.prescriptions)
    insurance(
        "insurance.prescriptions",
        Text::new("処方情報", "Prescription information"),
        Text::new(
            "医師が電子処方箋で出した処方の内容（薬の名前・量・飲み方など）です。",
            "What a doctor prescribed for you on an electronic prescription (the medicine, the amount, how to take it and so on).",
        ),
        Sensitivity::Health,
    ),
    // 調剤 (insurance.dispensing)
    insurance(
        "insurance.dispensing",
        Text::new("調剤情報", "Dispensing information"),
        Text::new(
            "薬局で実際に受け取った薬の名前、量、日付などの情報です。",
            "The names, amounts and dates of the medicines you actually received at a pharmacy.",
        ),
        Sensitivity::Health,
    ),
    // 健診 (insurance.checkups)
    insurance(
        "insurance.checkups",
        Text::new(
            "特定健診などの健診結果",
            "Results of specific health check-ups and other check-ups",
        ),
        Text::new(
            "特定健診（40〜74歳の方を対象とした、生活習慣病を予防するための健診）などの健康診断の結果です。",
            "Results of health check-ups such as the specific health check-up (a check-up for people aged 40 to 74 that aims to prevent lifestyle diseases).",
        ),
        Sensitivity::Health,
    ),
    // 診療 (insurance.treatment)
    insurance(
        "insurance.treatment",
        Text::new("診療情報", "Treatment information"),
        Text::new(
            "受診した医療機関や、受けた手術・処置などの診療の内容です。病気やけがの内容が分かることがあります。",
            "Which medical institutions you visited and what care you received there, such as operations and procedures. It may reveal your illnesses or injuries.",
        ),
        Sensitivity::SpecialCare,
    ),
    // 医療費助成 (pmh.subsidy)
    pmh(
        "pmh.subsidy",
        Text::new("医療費助成の情報", "Medical cost subsidy information"),
        Text::new(
            "医療費の助成を受けるための受給者証の情報です。指定難病など、病気の内容が分かることがあります。",
            "Your recipient certificate for subsidies of medical costs. It may reveal an illness, for example a designated intractable disease.",
        ),
        Sensitivity::SpecialCare,
    ),
    // 予防接種 (pmh.vaccination)
    pmh(
        "pmh.vaccination",
        Text::new("予防接種の記録", "Vaccination records"),
        Text::new(
            "これまでに受けた予防接種の種類や日付などの記録です。",
            "The types and dates of the vaccinations you have received, among other details.",
        ),
        Sensitivity::Health,
    ),
    // 母子保健 (pmh.maternal_child)
    pmh(
        "pmh.maternal_child",
        Text::new("母子保健の情報", "Maternal and child health information"),
        Text::new(
            "妊婦健診や乳幼児健診など、妊娠中の母親と乳幼児の健康に関する情報です。",
            "Information on the health of mothers during pregnancy and of infants and young children, such as prenatal and infant check-ups.",
        ),
        Sensitivity::Health,
    ),
    // 傷病名 (ehr.diagnosis)
    ehr(
        "ehr.diagnosis.past",
        "ehr.diagnosis",
        Text::new("既往症", "Past medical history"),
        Text::new(
            "これまでにかかったことのある病気やけがの名前です。",
            "The names of illnesses and injuries you have had in the past.",
        ),
        Sensitivity::SpecialCare,
    ),
    ehr(
        "ehr.diagnosis.current",
        "ehr.diagnosis",
        Text::new("現病名", "Current diagnoses"),
        Text::new(
            "現在かかっている病気やけがの名前です。",
            "The names of illnesses and injuries you have now.",
        ),
        Sensitivity::SpecialCare,
    ),
    // アレルギー (ehr.allergy)
    ehr(
        "ehr.allergy.general",
        "ehr.allergy",
        Text::new("アレルギー情報", "Allergy information"),
        Text::new(
            "食べ物などに対するアレルギーの情報です。",
            "Allergies, for example to foods.",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.allergy.drug",
        "ehr.allergy",
        Text::new("薬剤アレルギー情報", "Drug allergy information"),
        Text::new(
            "薬に対するアレルギーや、体に合わないため使ってはいけない薬の情報です。",
            "Allergies to medicines, and medicines that must not be given to you because your body does not tolerate them.",
        ),
        Sensitivity::Health,
    ),
    // 感染症の検査 (ehr.infection)
    ehr(
        "ehr.infection.syphilis_rpr",
        "ehr.infection",
        Text::new("梅毒STS (RPR法)", "Syphilis STS (RPR)"),
        Text::new(
            "梅毒への感染を調べる血液検査（RPR法）の結果です。治療の効果を確かめるためにも使われます。",
            "The result of a blood test for syphilis (RPR method). Also used to check how well treatment is working.",
        ),
        Sensitivity::SpecialCare,
    ),
    ehr(
        "ehr.infection.syphilis_tp",
        "ehr.infection",
        Text::new("梅毒TP抗体", "Syphilis TP antibody"),
        Text::new(
            "梅毒の原因となる菌に対する抗体を調べる検査の結果です。治った後も陽性が続くことがあります。",
            "The result of a test for antibodies to the bacterium that causes syphilis. It can stay positive after the infection has been cured.",
        ),
        Sensitivity::SpecialCare,
    ),
    ehr(
        "ehr.infection.hbs",
        "ehr.infection",
        Text::new("HBs (B型肝炎)", "HBs (hepatitis B)"),
        Text::new(
            "B型肝炎ウイルスへの感染を調べる検査の結果です。",
            "The result of a test for infection with the hepatitis B virus.",
        ),
        Sensitivity::SpecialCare,
    ),
    ehr(
        "ehr.infection.hcv",
        "ehr.infection",
        Text::new("HCV (C型肝炎)", "HCV (hepatitis C)"),
        Text::new(
            "C型肝炎ウイルスへの感染を調べる検査の結果です。",
            "The result of a test for infection with the hepatitis C virus.",
        ),
        Sensitivity::SpecialCare,
    ),
    ehr(
        "ehr.infection.hiv",
        "ehr.infection",
        Text::new("HIV", "HIV"),
        Text::new(
            "HIV（エイズの原因となるウイルス）への感染を調べる検査の結果です。",
            "The result of a test for infection with HIV, the virus that causes AIDS.",
        ),
        Sensitivity::SpecialCare,
    ),
    // 処方情報 (ehr.prescription)
    ehr(
        "ehr.prescription.outpatient",
        "ehr.prescription",
        Text::new("院外処方", "Prescriptions filled at outside pharmacies"),
        Text::new(
            "医療機関で出された処方箋を、外の薬局に持って行って薬を受け取る処方の内容です。",
            "Prescriptions that you take from the medical institution to an outside pharmacy to receive your medicines.",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.prescription.inpatient",
        "ehr.prescription",
        Text::new("院内処方", "Prescriptions dispensed in-house"),
        Text::new(
            "薬局ではなく、医療機関の中で直接薬を受け取る処方の内容です。",
            "Prescriptions whose medicines the medical institution hands to you directly, rather than a pharmacy.",
        ),
        Sensitivity::Health,
    ),
    // 生化学的検査 (ehr.lab.biochemistry)
    lab(
        "ehr.lab.tp",
        "ehr.lab.biochemistry",
        Text::new("総蛋白 (TP)", "Total protein (TP)"),
        Text::new(
            "血液中のたんぱく質の総量です。栄養の状態や、肝臓・腎臓の働きを知る目安になります。",
            "The total amount of protein in the blood. A guide to your nutrition and to how well your liver and kidneys work.",
        ),
    ),
    lab(
        "ehr.lab.albumin",
        "ehr.lab.biochemistry",
        Text::new("アルブミン", "Albumin"),
        Text::new(
            "血液中で最も多いたんぱく質の量です。栄養の状態や、肝臓・腎臓の病気を知る目安になります。",
            "The amount of the most plentiful protein in the blood. A guide to your nutrition and to liver and kidney disease.",
        ),
    ),
    lab(
        "ehr.lab.ck",
        "ehr.lab.biochemistry",
        Text::new("クレアチンキナーゼ (CK)", "Creatine kinase (CK)"),
        Text::new(
            "主に筋肉にある酵素の値です。心臓や体の筋肉が傷ついていると高くなります。",
            "An enzyme found mainly in muscle. It rises when the heart muscle or other muscles are damaged.",
        ),
    ),
    lab(
        "ehr.lab.ast",
        "ehr.lab.biochemistry",
        Text::new("AST (GOT)", "Aspartate aminotransferase (AST, GOT)"),
        Text::new(
            "肝臓や筋肉などにある酵素の値です。肝臓などが傷ついていると高くなります。",
            "An enzyme found in the liver, muscles and other organs. It rises when the liver or other organs are damaged.",
        ),
    ),
    lab(
        "ehr.lab.alt",
        "ehr.lab.biochemistry",
        Text::new("ALT (GPT)", "Alanine aminotransferase (ALT, GPT)"),
        Text::new(
            "主に肝臓にある酵素の値です。肝臓が傷ついていると高くなります。",
            "An enzyme found mainly in the liver. It rises when the liver is damaged.",
        ),
    ),
    lab(
        "ehr.lab.ld",
        "ehr.lab.biochemistry",
        Text::new("LD (LDH)", "Lactate dehydrogenase (LD, LDH)"),
        Text::new(
            "体のさまざまな臓器にある酵素の値です。臓器や血液の細胞が傷ついていると高くなります。",
            "An enzyme found in many organs. It rises when the cells of organs or of the blood are damaged.",
        ),
    ),
    lab(
        "ehr.lab.alp",
        "ehr.lab.biochemistry",
        Text::new(
            "アルカリフォスファターゼ (ALP)",
            "Alkaline phosphatase (ALP)",
        ),
        Text::new(
            "肝臓や骨などにある酵素の値です。胆汁の流れが悪いときや、骨の病気などで高くなります。",
            "An enzyme found in the liver, bones and elsewhere. It rises when the flow of bile is blocked, in bone diseases and in other conditions.",
        ),
    ),
    lab(
        "ehr.lab.ggt",
        "ehr.lab.biochemistry",
        Text::new("γ-GTP (GGT)", "Gamma-glutamyl transferase (γ-GTP, GGT)"),
        Text::new(
            "肝臓や胆道にかかわる酵素の値です。お酒の飲み過ぎや、胆汁の流れが悪いときなどに高くなります。",
            "An enzyme linked to the liver and bile ducts. It rises with heavy drinking, when the flow of bile is blocked and in other conditions.",
        ),
    ),
    lab(
        "ehr.lab.che",
        "ehr.lab.biochemistry",
        Text::new("コリンエステラーゼ (ChE)", "Cholinesterase (ChE)"),
        Text::new(
            "肝臓で作られる酵素の値です。肝臓の働きや栄養の状態を知る目安になります。",
            "An enzyme made by the liver. A guide to how well your liver works and to your nutrition.",
        ),
    ),
    lab(
        "ehr.lab.amy",
        "ehr.lab.biochemistry",
        Text::new("アミラーゼ (AMY)", "Amylase (AMY)"),
        Text::new(
            "すい臓や唾液腺から出る消化酵素の値です。すい臓の病気などで高くなります。",
            "A digestive enzyme from the pancreas and the salivary glands. It rises in diseases of the pancreas, among others.",
        ),
    ),
    lab(
        "ehr.lab.cre",
        "ehr.lab.biochemistry",
        Text::new("クレアチニン (Cre)", "Creatinine (Cre)"),
        Text::new(
            "筋肉から出る老廃物の値です。腎臓の働きが落ちると高くなります。",
            "A waste product from muscle. It rises when the kidneys work less well.",
        ),
    ),
    lab(
        "ehr.lab.cystatin_c",
        "ehr.lab.biochemistry",
        Text::new("シスタチンC", "Cystatin C"),
        Text::new(
            "腎臓の働きを調べる値です。腎臓の働きが落ちると高くなり、筋肉の量の影響を受けにくい特徴があります。",
            "A measure of kidney function. It rises when the kidneys work less well, and is little affected by muscle mass.",
        ),
    ),
    lab(
        "ehr.lab.ua",
        "ehr.lab.biochemistry",
        Text::new("尿酸 (UA)", "Uric acid (UA)"),
        Text::new(
            "体の中で作られる老廃物の値です。高い状態が続くと、痛風などの原因になります。",
            "A waste product made in the body. Levels that stay high can cause gout and other problems.",
        ),
    ),
    lab(
        "ehr.lab.bun",
        "ehr.lab.biochemistry",
        Text::new("尿素窒素 (BUN)", "Blood urea nitrogen (BUN)"),
        Text::new(
            "たんぱく質が分解されてできる老廃物の値です。腎臓の働きが落ちると高くなります。",
            "A waste product from the breakdown of protein. It rises when the kidneys work less well.",
        ),
    ),
    lab(
        "ehr.lab.glucose",
        "ehr.lab.biochemistry",
        Text::new("グルコース (血糖)", "Glucose (blood sugar)"),
        Text::new(
            "血液中のブドウ糖の量（血糖値）です。糖尿病の診断や管理に使われます。",
            "The amount of glucose in the blood (blood sugar level). Used to diagnose and manage diabetes.",
        ),
    ),
    lab(
        "ehr.lab.hba1c",
        "ehr.lab.biochemistry",
        Text::new("HbA1c (NGSP)", "HbA1c (NGSP)"),
        Text::new(
            "過去1〜2か月の血糖の平均的な状態を示す値です。糖尿病の診断や管理に使われます。",
            "Shows your average blood sugar over the past one to two months. Used to diagnose and manage diabetes.",
        ),
    ),
    lab(
        "ehr.lab.tg",
        "ehr.lab.biochemistry",
        Text::new("中性脂肪 (TG)", "Triglycerides (TG)"),
        Text::new(
            "血液中の脂質の一つです。高い状態が続くと、動脈硬化が進みやすくなります。",
            "A type of fat in the blood. Levels that stay high make hardening of the arteries more likely.",
        ),
    ),
    lab(
        "ehr.lab.tcho",
        "ehr.lab.biochemistry",
        Text::new("総コレステロール (T-CHO)", "Total cholesterol (T-CHO)"),
        Text::new(
            "血液中のコレステロールの総量です。脂質の状態を知る目安になります。",
            "The total amount of cholesterol in the blood. A guide to your blood fats.",
        ),
    ),
    lab(
        "ehr.lab.hdl_c",
        "ehr.lab.biochemistry",
        Text::new("HDL-コレステロール (HDL-C)", "HDL cholesterol (HDL-C)"),
        Text::new(
            "いわゆる善玉コレステロールの量です。低いと動脈硬化が進みやすくなります。",
            "The amount of the so-called good cholesterol. Low levels make hardening of the arteries more likely.",
        ),
    ),
    lab(
        "ehr.lab.ldl_c",
        "ehr.lab.biochemistry",
        Text::new("LDL-コレステロール (LDL-C)", "LDL cholesterol (LDL-C)"),
        Text::new(
            "いわゆる悪玉コレステロールの量です。高いと動脈硬化が進みやすくなります。",
            "The amount of the so-called bad cholesterol. High levels make hardening of the arteries more likely.",
        ),
    ),
    lab(
        "ehr.lab.na",
        "ehr.lab.biochemistry",
        Text::new("ナトリウム (Na)", "Sodium (Na)"),
        Text::new(
            "血液中のナトリウムの量です。体の水分と塩分のバランスを知る目安になります。",
            "The amount of sodium in the blood. A guide to the balance of water and salt in the body.",
        ),
    ),
    lab(
        "ehr.lab.k",
        "ehr.lab.biochemistry",
        Text::new("カリウム (K)", "Potassium (K)"),
        Text::new(
            "血液中のカリウムの量です。多すぎても少なすぎても、心臓や筋肉の働きに影響します。",
            "The amount of potassium in the blood. Too much or too little affects how the heart and muscles work.",
        ),
    ),
    lab(
        "ehr.lab.cl",
        "ehr.lab.biochemistry",
        Text::new("クロール (Cl)", "Chloride (Cl)"),
        Text::new(
            "血液中のクロール（塩素）の量です。ナトリウムとともに、体の水分と塩分のバランスを知る目安になります。",
            "The amount of chloride in the blood. Together with sodium, a guide to the balance of water and salt in the body.",
        ),
    ),
    lab(
        "ehr.lab.ca",
        "ehr.lab.biochemistry",
        Text::new("カルシウム (Ca)", "Calcium (Ca)"),
        Text::new(
            "血液中のカルシウムの量です。骨や神経、筋肉の働きにかかわる大切な成分です。",
            "The amount of calcium in the blood. Calcium is important for bones, nerves and muscles.",
        ),
    ),
    lab(
        "ehr.lab.tbil",
        "ehr.lab.biochemistry",
        Text::new("総ビリルビン (T-Bil)", "Total bilirubin (T-Bil)"),
        Text::new(
            "赤血球が壊れてできる黄色い色素の総量です。肝臓の病気などで高くなり、黄疸の原因になります。",
            "The total amount of a yellow pigment made when red blood cells break down. It rises in liver disease, among others, and causes jaundice.",
        ),
    ),
    lab(
        "ehr.lab.dbil",
        "ehr.lab.biochemistry",
        Text::new("直接ビリルビン (D-Bil)", "Direct bilirubin (D-Bil)"),
        Text::new(
            "ビリルビンのうち、肝臓で処理された後のものの量です。肝臓や胆道の病気で高くなります。",
            "The part of bilirubin that the liver has already processed. It rises in diseases of the liver and bile ducts.",
        ),
    ),
    // 血液学的検査 (ehr.lab.hematology)
    lab(
        "ehr.lab.wbc",
        "ehr.lab.hematology",
        Text::new("血算-白血球数", "Blood count – white blood cells (WBC)"),
        Text::new(
            "体を感染から守る白血球の数です。感染症や炎症、血液の病気などで増えたり減ったりします。",
            "The number of white blood cells, which protect the body from infection. It goes up or down with infections, inflammation and blood diseases.",
        ),
    ),
    lab(
        "ehr.lab.rbc",
        "ehr.lab.hematology",
        Text::new("血算-赤血球数", "Blood count – red blood cells (RBC)"),
        Text::new(
            "体に酸素を運ぶ赤血球の数です。貧血などを調べるのに使われます。",
            "The number of red blood cells, which carry oxygen around the body. Used to check for anemia and other conditions.",
        ),
    ),
    lab(
        "ehr.lab.hb",
        "ehr.lab.hematology",
        Text::new("血算-ヘモグロビン", "Blood count – hemoglobin (Hb)"),
        Text::new(
            "赤血球の中で酸素を運ぶたんぱく質の量です。低いと貧血と判断されます。",
            "The amount of the protein in red blood cells that carries oxygen. A low value means anemia.",
        ),
    ),
    lab(
        "ehr.lab.ht",
        "ehr.lab.hematology",
        Text::new("血算-ヘマトクリット", "Blood count – hematocrit (Ht)"),
        Text::new(
            "血液のうち赤血球が占める割合です。貧血や脱水などを調べるのに使われます。",
            "The share of the blood made up of red blood cells. Used to check for anemia, dehydration and other conditions.",
        ),
    ),
    lab(
        "ehr.lab.plt",
        "ehr.lab.hematology",
        Text::new("血算-血小板数", "Blood count – platelets (PLT)"),
        Text::new(
            "出血を止める働きをする血小板の数です。少ないと血が止まりにくくなります。",
            "The number of platelets, which help stop bleeding. When it is low, bleeding is harder to stop.",
        ),
    ),
    lab(
        "ehr.lab.aptt",
        "ehr.lab.hematology",
        Text::new(
            "活性化部分トロンボプラスチン時間 (APTT)",
            "Activated partial thromboplastin time (APTT)",
        ),
        Text::new(
            "血液が固まるまでの時間を調べる検査の一つです。出血しやすさや、血液を固まりにくくする薬の効き具合を見るのに使われます。",
            "One of the tests of how long blood takes to clot. Used to assess a tendency to bleed and the effect of some blood-thinning medicines.",
        ),
    ),
    lab(
        "ehr.lab.pt",
        "ehr.lab.hematology",
        Text::new("プロトロンビン時間", "Prothrombin time (PT)"),
        Text::new(
            "血液が固まるまでの時間を調べる検査の一つです。肝臓の働きや、血液を固まりにくくする薬の効き具合を見るのにも使われます。",
            "One of the tests of how long blood takes to clot. Also used to check liver function and the effect of some blood-thinning medicines.",
        ),
    ),
    lab(
        "ehr.lab.fdp",
        "ehr.lab.hematology",
        Text::new("FDP", "Fibrin/fibrinogen degradation products (FDP)"),
        Text::new(
            "血の塊（血栓）などが溶けるときにできる物質の量です。体の中で血栓ができていないかを調べるのに使われます。",
            "Substances made when blood clots and clotting proteins break down. Used to check whether clots have formed in the body.",
        ),
    ),
    lab(
        "ehr.lab.d_dimer",
        "ehr.lab.hematology",
        Text::new("Dダイマー (DD)", "D-dimer (DD)"),
        Text::new(
            "血の塊（血栓）が溶けるときにできる物質の量です。血管の中に血栓ができていないかを調べるのに使われます。",
            "A substance made when blood clots break down. Used to check whether clots have formed in the blood vessels.",
        ),
    ),
    // 尿検査 (ehr.lab.urinalysis)
    lab(
        "ehr.lab.urine_protein",
        "ehr.lab.urinalysis",
        Text::new("尿蛋白", "Urine protein"),
        Text::new(
            "尿にたんぱく質が出ているかを調べた結果です。腎臓の病気などを見つける手がかりになります。",
            "Whether protein appears in your urine. A clue to kidney disease and other conditions.",
        ),
    ),
    lab(
        "ehr.lab.urine_glucose",
        "ehr.lab.urinalysis",
        Text::new("尿糖", "Urine glucose"),
        Text::new(
            "尿に糖が出ているかを調べた結果です。糖尿病などを見つける手がかりになります。",
            "Whether sugar appears in your urine. A clue to diabetes and other conditions.",
        ),
    ),
    lab(
        "ehr.lab.urine_occult_blood",
        "ehr.lab.urinalysis",
        Text::new("尿潜血", "Urine occult blood"),
        Text::new(
            "目に見えないほどの血液が尿に混じっているかを調べた結果です。腎臓や膀胱などの病気の手がかりになります。",
            "Whether blood too little to see is mixed in your urine. A clue to diseases of the kidneys, the bladder and other parts of the urinary tract.",
        ),
    ),
    lab(
        "ehr.lab.urine_pc_ratio",
        "ehr.lab.urinalysis",
        Text::new(
            "蛋白/クレアチン比 (P/C比)",
            "Urine protein/creatinine ratio (P/C ratio)",
        ),
        Text::new(
            "尿に出ているたんぱく質の量を、尿の濃さで補正して表した値です。腎臓の病気の程度を知る目安になります。",
            "The amount of protein in your urine, corrected for how concentrated the urine is. A guide to how severe kidney disease is.",
        ),
    ),
    lab(
        "ehr.lab.urine_ac_ratio",
        "ehr.lab.urinalysis",
        Text::new(
            "アルブミン/クレアチニン比 (A/C比)",
            "Urine albumin/creatinine ratio (A/C ratio)",
        ),
        Text::new(
            "尿に出ているアルブミン（たんぱく質の一種）の量を、尿の濃さで補正した値です。糖尿病による腎臓の病気を早く見つけるのに使われます。",
            "The amount of albumin (a kind of protein) in your urine, corrected for how concentrated the urine is. Used to find kidney disease caused by diabetes early.",
        ),
    ),
    // 内分泌学的検査 (ehr.lab.endocrinology)
    lab(
        "ehr.lab.bnp",
        "ehr.lab.endocrinology",
        Text::new(
            "脳性Na利尿ペプチド (BNP)",
            "Brain natriuretic peptide (BNP)",
        ),
        Text::new(
            "心臓に負担がかかると心臓から出るホルモンの値です。心不全の診断や経過を見るのに使われます。",
            "A hormone that the heart releases when it is under strain. Used to diagnose heart failure and to follow its course.",
        ),
    ),
    lab(
        "ehr.lab.nt_probnp",
        "ehr.lab.endocrinology",
        Text::new(
            "ヒト脳性ナトリウム利尿ペプチド前駆体N端フラグメント (NT-proBNP)",
            "N-terminal pro-brain natriuretic peptide (NT-proBNP)",
        ),
        Text::new(
            "BNPと一緒に心臓から出る物質の値です。BNPと同じく、心不全の診断や経過を見るのに使われます。",
            "A substance that the heart releases together with BNP. Like BNP, used to diagnose heart failure and to follow its course.",
        ),
    ),
    // 免疫学的検査 (ehr.lab.immunology)
    lab(
        "ehr.lab.crp",
        "ehr.lab.immunology",
        Text::new("C反応性蛋白 (CRP)", "C-reactive protein (CRP)"),
        Text::new(
            "体の中で炎症が起きると増えるたんぱく質の値です。感染症などによる炎症の強さを知る目安になります。",
            "A protein that increases when there is inflammation in the body. A guide to how strong inflammation, for example from an infection, is.",
        ),
    ),
    lab(
        "ehr.lab.blood_type_abo",
        "ehr.lab.immunology",
        Text::new("血液型-ABO", "Blood type – ABO"),
        Text::new(
            "A型・B型・O型・AB型のどれかを示す血液型です。輸血のときなどに必要になります。",
            "Your ABO blood group: A, B, O or AB. Needed for blood transfusions, among other things.",
        ),
    ),
    lab(
        "ehr.lab.blood_type_rh",
        "ehr.lab.immunology",
        Text::new("血液型-Rh", "Blood type – Rh"),
        Text::new(
            "Rh式の血液型（陽性か陰性か）です。輸血や、妊娠・出産のときなどに必要になります。",
            "Your Rh blood type (positive or negative). Needed for blood transfusions, pregnancy and childbirth, among other things.",
        ),
    ),
    // 健診結果報告書 (ehr.checkup_report)
    ehr(
        "ehr.checkup_report.specific",
        "ehr.checkup_report",
        Text::new("特定健診", "Specific health check-up"),
        Text::new(
            "40〜74歳の方を対象とした、生活習慣病を予防するための健診の結果です。",
            "Results of the check-up for people aged 40 to 74 that aims to prevent lifestyle diseases.",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.checkup_report.late_elderly",
        "ehr.checkup_report",
        Text::new(
            "後期高齢者健診",
            "Health check-up for the late-stage elderly",
        ),
        Text::new(
            "後期高齢者医療制度に入っている方（主に75歳以上）を対象とした健診の結果です。",
            "Results of the check-up for members of the medical care system for the late-stage elderly (mainly people aged 75 and over).",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.checkup_report.employer",
        "ehr.checkup_report",
        Text::new("事業主健診", "Employer health check-up"),
        Text::new(
            "勤め先が従業員に行う健康診断（定期健康診断など）の結果です。",
            "Results of health check-ups that employers provide to their employees, such as the regular check-up.",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.checkup_report.school_staff",
        "ehr.checkup_report",
        Text::new("学校職員健診", "School staff health check-up"),
        Text::new(
            "学校の教職員を対象とした健康診断の結果です。",
            "Results of health check-ups for teachers and other school staff.",
        ),
        Sensitivity::Health,
    ),
    ehr(
        "ehr.checkup_report.other",
        "ehr.checkup_report",
        Text::new("そのほか健診", "Other health check-ups"),
        Text::new(
            "特定健診・後期高齢者健診・事業主健診・学校職員健診のほかに受けた健康診断の結果です。",
            "Results of health check-ups other than the specific, late-stage elderly, employer and school staff check-ups.",
        ),
        Sensitivity::Health,
    ),
    // 診療情報提供書 (ehr.referral)
    DataItem {
        id: "ehr.referral.letter",
        category: "ehr.referral",
        api: None,
        label: Text::new("紹介状", "Referral letter"),
        explanation: Text::new(
            "医師があなたを別の医療機関に紹介するときに、病状や治療の経過を書いた書類です。",
            "A letter in which a doctor refers you to another medical institution, describing your condition and your treatment so far.",
        ),
        availability: Availability::InstitutionsOnly,
        sensitivity: Sensitivity::Health,
    },
    DataItem {
        id: "ehr.referral.discharge_summary",
        category: "ehr.referral",
        api: None,
        label: Text::new("退院時サマリー", "Discharge summary"),
        explanation: Text::new(
            "入院中の治療の経過や、退院後に必要なことをまとめた書類です。",
            "A summary of your treatment during a hospital stay and of what you need after discharge.",
        ),
        availability: Availability::InstitutionsOnly,
        sensitivity: Sensitivity::Health,
    },
    // 患者サマリー (ehr.patient_summary)
    DataItem {
        id: "ehr.patient_summary",
        category: "ehr.patient_summary",
        api: None,
        label: Text::new("療養上の計画・アドバイス", "Care plan and advice"),
        explanation: Text::new(
            "治療や日常生活の過ごし方について、医師が立てた計画や助言です。",
            "Your doctor's plan and advice for your treatment and for everyday life.",
        ),
        availability: Availability::PortalOnly,
        sensitivity: Sensitivity::Health,
    },
];
