//! The 16 APIs of the reference report (提供中のマイナポータルAPI, 計16件).

use super::Api;
use crate::i18n::Text;

/// Stable ids of the 16 APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiId {
    /// 1. シングルサインオン
    SingleSignOn,
    /// 2. 民間送達接続
    PrivateDeliveryConnection,
    /// 3. 自己情報取得
    SelfInformation,
    /// 4. お知らせ情報取得
    Notices,
    /// 5. 民間送達サービス保有情報取得
    PrivateDeliveryInformation,
    /// 6. 医療保険情報取得
    MedicalInsurance,
    /// 7. PMH情報連携
    PublicMedicalHub,
    /// 8. 期間連携 — continuous linkage of #6 for up to 90 days.
    Linkage,
    /// 9. 法人設立手続等申請
    CorporateRegistration,
    /// 10. 社会保険・税手続申請
    SocialInsuranceAndTaxApplication,
    /// 11. 電子申請等
    ElectronicApplication,
    /// 12. 電子申請等情報受取等
    ElectronicApplicationResults,
    /// 13. 健康保険証利用登録
    HealthInsuranceCardRegistration,
    /// 14. 利用者登録等
    UserRegistration,
    /// 15. 属性連携設定
    AttributeLinkageSettings,
    /// 16. 在留手続申請
    ResidenceApplication,
}

impl ApiId {
    /// Stable code used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::SingleSignOn => "singleSignOn",
            Self::PrivateDeliveryConnection => "privateDeliveryConnection",
            Self::SelfInformation => "selfInformation",
            Self::Notices => "notices",
            Self::PrivateDeliveryInformation => "privateDeliveryInformation",
            Self::MedicalInsurance => "medicalInsurance",
            Self::PublicMedicalHub => "publicMedicalHub",
            Self::Linkage => "linkage",
            Self::CorporateRegistration => "corporateRegistration",
            Self::SocialInsuranceAndTaxApplication => "socialInsuranceAndTaxApplication",
            Self::ElectronicApplication => "electronicApplication",
            Self::ElectronicApplicationResults => "electronicApplicationResults",
            Self::HealthInsuranceCardRegistration => "healthInsuranceCardRegistration",
            Self::UserRegistration => "userRegistration",
            Self::AttributeLinkageSettings => "attributeLinkageSettings",
            Self::ResidenceApplication => "residenceApplication",
        }
    }
}

const NONE: Text = Text::new("", "");

pub(super) static APIS: &[Api] = &[
    Api {
        id: ApiId::SingleSignOn,
        number: 1,
        name: Text::new("シングルサインオン", "Single sign-on"),
        provides: NONE,
    },
    Api {
        id: ApiId::PrivateDeliveryConnection,
        number: 2,
        name: Text::new("民間送達接続", "Private delivery connection"),
        provides: NONE,
    },
    Api {
        id: ApiId::SelfInformation,
        number: 3,
        name: Text::new("自己情報取得", "Own information retrieval"),
        provides: Text::new(
            "税・所得、年金、戸籍、雇用保険など、自治体などが持っているあなたの情報",
            "Your information held by government and municipalities: tax and income, pension, family register, employment insurance and more",
        ),
    },
    Api {
        id: ApiId::Notices,
        number: 4,
        name: Text::new("お知らせ情報取得", "Notices retrieval"),
        provides: Text::new("行政機関からあなたに届いたお知らせ", "Notices sent to you by government bodies"),
    },
    Api {
        id: ApiId::PrivateDeliveryInformation,
        number: 5,
        name: Text::new("民間送達サービス保有情報取得", "Private delivery service information retrieval"),
        provides: Text::new(
            "民間の送達サービスであなたが受け取った控除証明書などの書類",
            "Documents such as deduction certificates you received through a private delivery service",
        ),
    },
    Api {
        id: ApiId::MedicalInsurance,
        number: 6,
        name: Text::new("医療保険情報取得", "Medical insurance information retrieval"),
        provides: Text::new(
            "医療費、薬剤、処方、調剤、健診結果、診療の情報（オンライン資格確認等システム経由）",
            "Medical costs, drugs, prescriptions, dispensing, check-up results and treatment (through the online eligibility confirmation system)",
        ),
    },
    Api {
        id: ApiId::PublicMedicalHub,
        number: 7,
        name: Text::new("PMH情報連携", "Public Medical Hub (PMH) linkage"),
        provides: Text::new(
            "医療費助成、予防接種、母子保健の情報（Public Medical Hub経由）",
            "Medical cost subsidies, vaccinations and maternal and child health (through the Public Medical Hub)",
        ),
    },
    Api {
        id: ApiId::Linkage,
        number: 8,
        name: Text::new("期間連携", "Continuous linkage"),
        provides: Text::new(
            "医療保険情報取得（6番）の情報を90日間、継続して更新できます",
            "Keeps the medical insurance information (API 6) up to date for 90 days",
        ),
    },
    Api {
        id: ApiId::CorporateRegistration,
        number: 9,
        name: Text::new("法人設立手続等申請", "Company formation applications"),
        provides: NONE,
    },
    Api {
        id: ApiId::SocialInsuranceAndTaxApplication,
        number: 10,
        name: Text::new("社会保険・税手続申請", "Social insurance and tax applications"),
        provides: NONE,
    },
    Api {
        id: ApiId::ElectronicApplication,
        number: 11,
        name: Text::new("電子申請等", "Electronic applications"),
        provides: NONE,
    },
    Api {
        id: ApiId::ElectronicApplicationResults,
        number: 12,
        name: Text::new("電子申請等情報受取等", "Receiving electronic application results"),
        provides: NONE,
    },
    Api {
        id: ApiId::HealthInsuranceCardRegistration,
        number: 13,
        name: Text::new("健康保険証利用登録", "Registering the card as a health insurance card"),
        provides: NONE,
    },
    Api {
        id: ApiId::UserRegistration,
        number: 14,
        name: Text::new("利用者登録等", "User registration"),
        provides: NONE,
    },
    Api {
        id: ApiId::AttributeLinkageSettings,
        number: 15,
        name: Text::new("属性連携設定", "Attribute linkage settings"),
        provides: NONE,
    },
    Api {
        id: ApiId::ResidenceApplication,
        number: 16,
        name: Text::new("在留手続申請", "Residence procedure applications"),
        provides: NONE,
    },
];
