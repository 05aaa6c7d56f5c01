//! [`ConsentRequest`]: what an operator asks a citizen to agree to, and every
//! rule it must meet before a consent screen may show it.
//!
//! Requests arrive as JSON from operators' pages and backends. [`parse`]
//! reads any JSON value, never panics, and reports every problem at once —
//! wrong types, unknown fields and broken rules alike — each with a stable
//! code and the path of the field it concerns, so an operator's engineer can
//! fix a request in one pass. A request that passes becomes a
//! [`ValidRequest`], the only form the screens and the backend accept.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::{self, Availability, DataItem, Sensitivity};
use crate::digest::sha256_hex;
use crate::i18n::{Locale, Text};
use crate::weburl;

/// Longest operator name, in characters.
pub const MAX_NAME: usize = 100;
/// Longest contact line (phone, address, e-mail or form URL), in characters.
pub const MAX_CONTACT: usize = 200;
/// Longest approval id, in characters.
pub const MAX_APPROVAL_ID: usize = 64;
/// Longest URL, in characters.
pub const MAX_URL: usize = 2048;
/// Longest purpose description or recipient purpose, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// Longest retention statement, in characters.
pub const MAX_RETENTION: usize = 1000;
/// Most purposes in one request.
pub const MAX_PURPOSES: usize = 20;
/// Most onward recipients in one request.
pub const MAX_RECIPIENTS: usize = 20;
/// Most items in one request (required and optional together).
pub const MAX_ITEMS: usize = 200;
/// 期間連携 — continuous linkage lasts at most this many days.
pub const MAX_LINKAGE_DAYS: u32 = 90;

/// What an operator asks a citizen to agree to.
///
/// Build one with [`parse`] (or [`ConsentRequest::validate`] for a request
/// built in Rust); only a [`ValidRequest`] reaches a screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    /// Who is asking.
    pub operator: Operator,
    /// Which data items, required and optional.
    pub items: RequestedItems,
    /// Why: at least one purpose.
    pub purposes: Vec<Purpose>,
    /// For how long.
    pub period: Period,
    /// Platform onward sharing: who else receives the data, and why.
    pub recipients: Vec<Recipient>,
    /// How long the operator keeps retrieved data, and what happens to it
    /// on withdrawal.
    pub retention: String,
    /// The language of the consent screen.
    pub locale: Locale,
    /// Admits items that are not offered to operators yet (sandbox and
    /// playground only).
    pub preview: bool,
    /// The ethics review that approved research with medical or
    /// special-care data (committee and approval number), shown to the
    /// citizen with a separate confirmation; required for such research.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethics_review: Option<String>,
}

/// The operator asking for consent, as approved by the Digital Agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    /// The operator's name as the citizen knows it.
    pub name: String,
    /// Where the citizen can ask questions: phone, address, e-mail or form.
    pub contact: String,
    /// The operator's privacy policy (https).
    pub privacy_policy_url: String,
    /// The id of the operator's approval to use the Mynaportal API.
    pub approval_id: String,
}

/// The items asked for, by catalogue id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RequestedItems {
    /// Items the service cannot work without.
    pub required: Vec<String>,
    /// Items the citizen may choose to share; never pre-ticked.
    pub optional: Vec<String>,
}

/// Why the operator asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    /// The kind of purpose.
    pub category: PurposeCategory,
    /// The purpose in the operator's plain words.
    pub description: String,
}

/// The kinds of purpose an operator can state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PurposeCategory {
    /// Providing the service the citizen signed up for.
    ServiceProvision,
    /// Health management (PHR): records, reminders, advice.
    HealthManagement,
    /// Proving a fact about the citizen (e.g. single status, disability).
    IdentityVerification,
    /// Credit and loan screening.
    CreditScreening,
    /// Payroll, year-end adjustment and other HR procedures.
    Employment,
    /// Welfare services and discounts.
    Welfare,
    /// Research.
    Research,
    /// Advertising.
    Advertising,
    /// Marketing.
    Marketing,
    /// Anything else, described in the description.
    #[default]
    Other,
}

impl PurposeCategory {
    /// Every category, in the order the catalogue documents them.
    pub const ALL: [Self; 10] = [
        Self::ServiceProvision,
        Self::HealthManagement,
        Self::IdentityVerification,
        Self::CreditScreening,
        Self::Employment,
        Self::Welfare,
        Self::Research,
        Self::Advertising,
        Self::Marketing,
        Self::Other,
    ];

    /// Stable code used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::ServiceProvision => "serviceProvision",
            Self::HealthManagement => "healthManagement",
            Self::IdentityVerification => "identityVerification",
            Self::CreditScreening => "creditScreening",
            Self::Employment => "employment",
            Self::Welfare => "welfare",
            Self::Research => "research",
            Self::Advertising => "advertising",
            Self::Marketing => "marketing",
            Self::Other => "other",
        }
    }

    /// The category with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.code() == code)
    }

    /// The category's words, as every screen shows them.
    pub fn label(self, locale: Locale) -> &'static str {
        let text = match self {
            Self::ServiceProvision => Text::new("サービスの提供", "Providing the service"),
            Self::HealthManagement => Text::new("健康管理", "Health management"),
            Self::IdentityVerification => {
                Text::new("本人確認・資格の確認", "Verifying identity or eligibility")
            }
            Self::CreditScreening => Text::new("審査（ローン・クレジット）", "Credit screening"),
            Self::Employment => Text::new("人事・労務の手続", "Employment procedures"),
            Self::Welfare => Text::new("福祉サービス・割引", "Welfare services and discounts"),
            Self::Research => Text::new("研究", "Research"),
            Self::Advertising => Text::new("広告", "Advertising"),
            Self::Marketing => Text::new("マーケティング", "Marketing"),
            Self::Other => Text::new("その他", "Other"),
        };
        text.get(locale)
    }

    /// Whether the purpose is advertising or marketing, which the report
    /// names as the use of medical data to prevent.
    pub fn is_advertising(self) -> bool {
        matches!(self, Self::Advertising | Self::Marketing)
    }
}

/// For how long the operator may retrieve the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", try_from = "PeriodShape")]
pub enum Period {
    /// One retrieval, now (この1回のみ).
    #[default]
    OneTime,
    /// 期間連携 — continuous linkage, 1 to 90 days, fixed at grant time.
    Linkage {
        /// Length in days.
        days: u32,
    },
}

/// A [`Period`] as JSON carries it (`{"kind": "linkage", "days": 90}`),
/// read member by member. serde reads an internally tagged enum through a
/// buffer of any JSON first, whose code (about 7 KB) a module that reads
/// consents would otherwise carry for this one type. What this accepts is
/// what that derive accepted (tests/period.rs): an object whose `kind` is
/// a string, once, with `days` (whatever it holds beside `oneTime`) and
/// other members ignored; or serde's sequence form, `["oneTime"]` and
/// `["linkage", 90]`.
struct PeriodShape {
    kind: String,
    days: Option<Value>,
    /// `days` given twice (possible in JSON text, not in a parsed value):
    /// the tagged enum refused that for a linkage.
    days_twice: bool,
}

impl<'de> Deserialize<'de> for PeriodShape {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = PeriodShape;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a period: an object with its kind")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PeriodShape, A::Error> {
                let (mut kind, mut days, mut days_twice) = (None, None, false);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "kind" if kind.is_some() => return Err(A::Error::duplicate_field("kind")),
                        "kind" => kind = Some(map.next_value::<String>()?),
                        "days" => {
                            days_twice |= days.is_some();
                            days = Some(map.next_value::<Value>()?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(PeriodShape {
                    kind: kind.ok_or_else(|| A::Error::missing_field("kind"))?,
                    days,
                    days_twice,
                })
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PeriodShape, A::Error> {
                let kind: String = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::missing_field("kind"))?;
                // A linkage's one field follows its kind; oneTime has none.
                let days = match kind.as_str() {
                    "linkage" => Some(
                        seq.next_element::<Value>()?
                            .ok_or_else(|| A::Error::invalid_length(1, &self))?,
                    ),
                    _ => None,
                };
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(3, &self));
                }
                Ok(PeriodShape {
                    kind,
                    days,
                    days_twice: false,
                })
            }
        }

        deserializer.deserialize_any(Members)
    }
}

impl TryFrom<PeriodShape> for Period {
    type Error = &'static str;

    fn try_from(shape: PeriodShape) -> Result<Self, Self::Error> {
        match shape.kind.as_str() {
            "oneTime" => Ok(Self::OneTime),
            "linkage" if shape.days_twice => Err("duplicate field `days`"),
            "linkage" => shape
                .days
                .as_ref()
                .and_then(Value::as_u64)
                .and_then(|days| u32::try_from(days).ok())
                .map(|days| Self::Linkage { days })
                .ok_or("`days` must be a whole number from 0 to 4294967295"),
            _ => Err("unknown period kind; use oneTime or linkage"),
        }
    }
}

/// Someone the operator passes the data on to (platform onward sharing),
/// accountable as the operator is: who they are, how to reach them, their
/// privacy policy, their own approval where they have one, and why they
/// receive the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Who receives the data.
    pub name: String,
    /// Where the citizen can ask the recipient questions. (Consents stored
    /// before recipients carried it read as empty.)
    #[serde(default)]
    pub contact: String,
    /// The recipient's privacy policy (https).
    #[serde(default)]
    pub privacy_policy_url: String,
    /// The recipient's own Mynaportal API approval id, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The kind of purpose, linted like the operator's purposes.
    #[serde(default)]
    pub purpose_category: PurposeCategory,
    /// What they use it for, in plain words.
    pub purpose: String,
}

/// One problem with a request: a stable code, the field it concerns, and a
/// message in either locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The JSON path of the field, e.g. `items.required[2]` or
    /// `operator.privacyPolicyUrl`; empty for the request as a whole.
    pub field: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl ValidationError {
    fn new(field: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            field: field.into(),
            kind,
        }
    }

    /// Stable code, shared by the JS API and the HTTP problem `type`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message for an operator's engineer in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        self.kind.message(locale)
    }

    /// `{ code, field, message }` as JSON, message in `locale`.
    pub fn to_json(&self, locale: Locale) -> Value {
        serde_json::json!({
            "code": self.code(),
            "field": self.field,
            "message": self.message(locale),
        })
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message(Locale::En))
        } else {
            write!(f, "{}: {}", self.field, self.message(Locale::En))
        }
    }
}

/// The JSON type a field should have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `{…}`
    Object,
    /// `[…]`
    Array,
    /// `"…"`
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

/// What is wrong with a field. Each variant has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not JSON at all.
    InvalidJson,
    /// The field has the wrong JSON type.
    WrongType(JsonType),
    /// The field is not part of a consent request (often a typo).
    UnknownField,
    /// A required field is missing or empty.
    Required,
    /// The text is longer than allowed.
    TooLong {
        /// Allowed characters.
        max: usize,
    },
    /// The list is longer than allowed.
    TooMany {
        /// Allowed entries.
        max: usize,
    },
    /// The text holds control or bidirectional-override characters that could
    /// hide or reorder what the citizen reads.
    ControlCharacter,
    /// No data item is requested.
    NoItems,
    /// The catalogue has no item with this id.
    UnknownItem(String),
    /// The item is shared between institutions or viewable on Mynaportal
    /// only; no operator may ask for it.
    ItemNotRequestable(String, Availability),
    /// The item is not offered to operators yet (admitted with `preview`).
    ItemNotYetOffered(String),
    /// The item appears twice in the same list.
    DuplicateItem(String),
    /// The item is both required and optional.
    RequiredOptionalOverlap(String),
    /// Linkage was asked for an item that only a one-time retrieval may fetch.
    LinkageNotEligible(String),
    /// A linkage must last 1 to 90 days.
    PeriodOutOfRange,
    /// `period.kind` is neither `oneTime` nor `linkage`.
    UnknownPeriodKind(String),
    /// No purpose is stated.
    NoPurpose,
    /// The purpose category is not one of [`PurposeCategory`].
    UnknownPurposeCategory(String),
    /// Advertising or marketing with medical or special-care data.
    AdvertisingWithHealthData(String),
    /// Research (by the operator or a recipient) with medical or
    /// special-care data, without an ethics review reference.
    EthicsReviewRequired(String),
    /// The text is not an absolute URL.
    InvalidUrl,
    /// The URL is not https (http is allowed for loopback hosts only).
    InsecureUrl,
    /// The URL carries a user name or password.
    UrlWithCredentials,
    /// An onward recipient has no purpose.
    RecipientWithoutPurpose,
    /// The locale is neither `ja` nor `en`.
    UnknownLocale(String),
}

impl ErrorKind {
    /// Every variant's code, for the package's typings
    /// (`ValidationErrorCode`, generated by `tests/generated.rs`).
    pub const CODES: [&'static str; 25] = [
        "invalid_json",
        "wrong_type",
        "unknown_field",
        "required",
        "too_long",
        "too_many",
        "control_character",
        "no_items",
        "unknown_item",
        "item_not_requestable",
        "item_not_yet_offered",
        "duplicate_item",
        "required_optional_overlap",
        "linkage_not_eligible",
        "period_out_of_range",
        "unknown_period_kind",
        "no_purpose",
        "unknown_purpose_category",
        "advertising_with_health_data",
        "ethics_review_required",
        "invalid_url",
        "insecure_url",
        "url_with_credentials",
        "recipient_without_purpose",
        "unknown_locale",
    ];

    /// Stable code, shared by the JS API and the HTTP problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::WrongType(_) => "wrong_type",
            Self::UnknownField => "unknown_field",
            Self::Required => "required",
            Self::TooLong { .. } => "too_long",
            Self::TooMany { .. } => "too_many",
            Self::ControlCharacter => "control_character",
            Self::NoItems => "no_items",
            Self::UnknownItem(_) => "unknown_item",
            Self::ItemNotRequestable(..) => "item_not_requestable",
            Self::ItemNotYetOffered(_) => "item_not_yet_offered",
            Self::DuplicateItem(_) => "duplicate_item",
            Self::RequiredOptionalOverlap(_) => "required_optional_overlap",
            Self::LinkageNotEligible(_) => "linkage_not_eligible",
            Self::PeriodOutOfRange => "period_out_of_range",
            Self::UnknownPeriodKind(_) => "unknown_period_kind",
            Self::NoPurpose => "no_purpose",
            Self::UnknownPurposeCategory(_) => "unknown_purpose_category",
            Self::AdvertisingWithHealthData(_) => "advertising_with_health_data",
            Self::EthicsReviewRequired(_) => "ethics_review_required",
            Self::InvalidUrl => "invalid_url",
            Self::InsecureUrl => "insecure_url",
            Self::UrlWithCredentials => "url_with_credentials",
            Self::RecipientWithoutPurpose => "recipient_without_purpose",
            Self::UnknownLocale(_) => "unknown_locale",
        }
    }

    /// The message for an operator's engineer, in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        use ErrorKind as K;
        // A pair of templates with at most one argument, filled once in the
        // language asked for (not a string formatted in each language, of
        // which one is dropped).
        let number;
        let (ja, en, arg): (&str, &str, &str) = match self {
            K::InvalidJson => ("JSONとして読み取れません。", "This is not valid JSON.", ""),
            K::WrongType(expected) => match expected {
                JsonType::Object => ("オブジェクトを指定してください。", "Must be an object.", ""),
                JsonType::Array => ("配列を指定してください。", "Must be an array.", ""),
                JsonType::String => ("文字列を指定してください。", "Must be a string.", ""),
                JsonType::Integer => ("整数を指定してください。", "Must be a whole number.", ""),
                JsonType::Boolean => (
                    "true または falseを指定してください。",
                    "Must be true or false.",
                    "",
                ),
            },
            K::UnknownField => (
                "同意リクエストにない項目です。綴りを確認してください。",
                "Not a field of a consent request; check the spelling.",
                "",
            ),
            K::Required => ("入力してください。", "Required.", ""),
            K::TooLong { max } => {
                number = max.to_string();
                ("{0}文字以内にしてください。", "At most {0} characters.", &number)
            }
            K::TooMany { max } => {
                number = max.to_string();
                ("{0}件以内にしてください。", "At most {0} entries.", &number)
            }
            K::ControlCharacter => (
                "制御文字や表示の向きを変える文字は使えません。",
                "Control characters and bidirectional overrides are not allowed.",
                "",
            ),
            K::NoItems => (
                "取得するデータ項目を1つ以上指定してください。",
                "Request at least one data item.",
                "",
            ),
            K::UnknownItem(id) => (
                "「{0}」というデータ項目はありません。",
                "There is no data item \"{0}\".",
                id,
            ),
            K::ItemNotRequestable(id, Availability::InstitutionsOnly) => (
                "「{0}」は医療機関の間でのみ共有される情報のため、事業者は取得できません。",
                "\"{0}\" is shared between medical institutions only; operators cannot request it.",
                id,
            ),
            K::ItemNotRequestable(id, _) => (
                "「{0}」はマイナポータルでの閲覧のみの情報のため、事業者は取得できません。",
                "\"{0}\" can only be viewed on Mynaportal; operators cannot request it.",
                id,
            ),
            K::ItemNotYetOffered(id) => (
                "「{0}」はまだ事業者に提供されていません（試験表示には preview: true を指定します）。",
                "\"{0}\" is not offered to operators yet (set preview: true for a trial display).",
                id,
            ),
            K::DuplicateItem(id) => ("「{0}」が重複しています。", "\"{0}\" is listed twice.", id),
            K::RequiredOptionalOverlap(id) => (
                "「{0}」が必須と任意の両方にあります。どちらか一方にしてください。",
                "\"{0}\" is both required and optional; keep it in one list.",
                id,
            ),
            K::LinkageNotEligible(id) => (
                "「{0}」は期間連携の対象ではありません。期間連携できるのは医療保険情報だけです。",
                "\"{0}\" cannot be part of a continuous linkage; only medical insurance data can.",
                id,
            ),
            K::PeriodOutOfRange => (
                "期間連携の日数は1日から90日までです。",
                "A linkage lasts from 1 to 90 days.",
                "",
            ),
            K::UnknownPeriodKind(kind) => (
                "「{0}」は期間の種類にありません。oneTime か linkage を指定してください。",
                "\"{0}\" is not a period kind; use oneTime or linkage.",
                kind,
            ),
            K::NoPurpose => ("利用目的を1つ以上指定してください。", "State at least one purpose.", ""),
            K::UnknownPurposeCategory(category) => (
                "「{0}」は利用目的の種類にありません。",
                "\"{0}\" is not a purpose category.",
                category,
            ),
            K::AdvertisingWithHealthData(id) => (
                "広告やマーケティングを目的として、医療・健康に関する情報（「{0}」など）を求めることはできません。",
                "Medical and special-care data (such as \"{0}\") cannot be requested for advertising or marketing.",
                id,
            ),
            K::EthicsReviewRequired(id) => (
                "医療・健康に関する情報（「{0}」など）を研究に使う場合は、倫理審査の承認（委員会の名前と承認番号）を ethicsReview に書いてください。",
                "Research with medical or special-care data (such as \"{0}\") needs the ethics review's approval (the committee and the approval number) in ethicsReview.",
                id,
            ),
            K::InvalidUrl => (
                "https:// で始まるURLを指定してください。",
                "Must be an absolute https:// URL.",
                "",
            ),
            K::InsecureUrl => (
                "https のURLを指定してください（http はローカル環境のみ使えます）。",
                "Must use https (http is allowed for loopback hosts only).",
                "",
            ),
            K::UrlWithCredentials => (
                "ユーザー名やパスワードを含むURLは使えません。",
                "The URL must not contain a user name or password.",
                "",
            ),
            K::RecipientWithoutPurpose => (
                "提供先ごとに、提供する目的を入力してください。",
                "State the purpose for each recipient.",
                "",
            ),
            K::UnknownLocale(code) => (
                "「{0}」には対応していません。ja か en を指定してください。",
                "\"{0}\" is not supported; use ja or en.",
                code,
            ),
        };
        crate::i18n::fill(if locale == Locale::Ja { ja } else { en }, &[arg])
    }
}

/// Every problem found in a request, in the order of the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// The problems, in field order.
    pub fn iter(&self) -> impl Iterator<Item = &ValidationError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a returned error; here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some problem has this code and field.
    pub fn has(&self, code: &str, field: &str) -> bool {
        self.iter().any(|e| e.code() == code && e.field == field)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the consent request has {} problem(s)", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n- {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A request that meets every rule: the only form a screen will show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest(ConsentRequest);

impl ValidRequest {
    /// The request.
    pub fn request(&self) -> &ConsentRequest {
        &self.0
    }

    /// The same request for a citizen who reads in `locale`. The locale has
    /// no rules: it picks the language of the screens and receipts.
    pub fn with_locale(mut self, locale: Locale) -> Self {
        self.0.locale = locale;
        self
    }

    /// Every requested item, required first, with its catalogue entry.
    pub fn items(&self) -> impl Iterator<Item = &'static DataItem> + '_ {
        let ids = self.0.items.required.iter().chain(&self.0.items.optional);
        // Validation guarantees every id is in the catalogue.
        ids.filter_map(|id| catalogue::item(id))
    }

    /// The special-care items (要配慮個人情報) that the citizen must confirm
    /// separately before agreeing.
    pub fn special_care_items(&self) -> Vec<&'static DataItem> {
        self.items()
            .filter(|item| item.sensitivity == Sensitivity::SpecialCare)
            .collect()
    }

    /// Whether the consent screen must ask for a separate confirmation.
    pub fn needs_separate_confirmation(&self) -> bool {
        !self.special_care_items().is_empty()
    }

    /// SHA-256 of the request's canonical JSON (RFC 8785), lowercase hex:
    /// the same request gives the same digest in the browser and the backend.
    pub fn digest(&self) -> String {
        // A request holds only strings, booleans and small integers, which
        // always serialise.
        let canonical = crate::digest::canonical_json(&self.0).unwrap_or_default();
        sha256_hex(canonical.as_bytes())
    }
}

impl ConsentRequest {
    /// Checks every rule of a request built in Rust.
    pub fn validate(self) -> Result<ValidRequest, ValidationErrors> {
        let errors = self.rule_errors();
        if errors.is_empty() {
            Ok(ValidRequest(self))
        } else {
            Err(ValidationErrors(errors))
        }
    }

    fn rule_errors(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        self.check_operator(&mut errors);
        self.check_terms(&mut errors, ItemPaths::RequiredOptional);
        self.check_ethics_review(&mut errors);
        errors
    }

    /// Research with medical or special-care data, by the operator or by a
    /// recipient, names the ethics review that approved it.
    fn check_ethics_review(&self, errors: &mut Vec<ValidationError>) {
        match (&self.ethics_review, self.health_research_item()) {
            (None, Some(item)) => errors.push(ValidationError::new(
                "ethicsReview",
                ErrorKind::EthicsReviewRequired(item.id.to_owned()),
            )),
            (Some(text), _) => {
                check_text(errors, "ethicsReview", text, MAX_DESCRIPTION, Lines::One);
            }
            (None, None) => {}
        }
    }

    /// The first medical or special-care item, when the operator or a
    /// recipient uses the data for research.
    pub fn health_research_item(&self) -> Option<&'static DataItem> {
        let research = self
            .purposes
            .iter()
            .map(|p| p.category)
            .chain(self.recipients.iter().map(|r| r.purpose_category))
            .any(|category| category == PurposeCategory::Research);
        research.then(|| self.health_item()).flatten()
    }

    /// Every rule but the operator's: what the authority checks too.
    fn check_terms(&self, errors: &mut Vec<ValidationError>, paths: ItemPaths) {
        self.check_items(errors, paths);
        self.check_purposes(errors);
        self.check_period(errors);
        self.check_recipients(errors);
        check_text(
            errors,
            "retention",
            &self.retention,
            MAX_RETENTION,
            Lines::Many,
        );
    }

    fn check_operator(&self, errors: &mut Vec<ValidationError>) {
        let op = &self.operator;
        check_text(errors, "operator.name", &op.name, MAX_NAME, Lines::One);
        check_text(
            errors,
            "operator.contact",
            &op.contact,
            MAX_CONTACT,
            Lines::One,
        );
        check_text(
            errors,
            "operator.approvalId",
            &op.approval_id,
            MAX_APPROVAL_ID,
            Lines::One,
        );
        let field = "operator.privacyPolicyUrl";
        if check_text(errors, field, &op.privacy_policy_url, MAX_URL, Lines::One) {
            if let Err(kind) = check_policy_url(&op.privacy_policy_url) {
                errors.push(ValidationError::new(field, kind));
            }
        }
    }

    fn check_items(&self, errors: &mut Vec<ValidationError>, paths: ItemPaths) {
        let RequestedItems { required, optional } = &self.items;
        if required.is_empty() && optional.is_empty() {
            errors.push(ValidationError::new("items", ErrorKind::NoItems));
            return;
        }
        if required.len() + optional.len() > MAX_ITEMS {
            errors.push(ValidationError::new(
                "items",
                ErrorKind::TooMany { max: MAX_ITEMS },
            ));
        }
        // At most MAX_ITEMS ids are checked one by one: a list is enough
        // (and spares the browser package a hash set).
        for (list, ids) in [("required", required), ("optional", optional)] {
            let mut seen: Vec<&str> = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let field = match paths {
                    ItemPaths::RequiredOptional => format!("items.{list}[{i}]"),
                    ItemPaths::Flat => format!("items[{i}]"),
                };
                if seen.contains(&id.as_str()) {
                    errors.push(ValidationError::new(
                        field,
                        ErrorKind::DuplicateItem(id.clone()),
                    ));
                    continue;
                }
                seen.push(id);
                if list == "optional" && required.contains(id) {
                    let kind = ErrorKind::RequiredOptionalOverlap(id.clone());
                    errors.push(ValidationError::new(field, kind));
                    continue;
                }
                if let Some(kind) = self.item_problem(id) {
                    errors.push(ValidationError::new(field, kind));
                }
            }
        }
    }

    fn item_problem(&self, id: &str) -> Option<ErrorKind> {
        let Some(item) = catalogue::item(id) else {
            return Some(if id.is_empty() {
                ErrorKind::Required
            } else {
                ErrorKind::UnknownItem(id.to_owned())
            });
        };
        match item.availability {
            Availability::InstitutionsOnly | Availability::PortalOnly => Some(
                ErrorKind::ItemNotRequestable(id.to_owned(), item.availability),
            ),
            Availability::NotYetOffered if !self.preview => {
                Some(ErrorKind::ItemNotYetOffered(id.to_owned()))
            }
            _ if matches!(self.period, Period::Linkage { .. })
                && !item.availability.allows_linkage() =>
            {
                Some(ErrorKind::LinkageNotEligible(id.to_owned()))
            }
            _ => None,
        }
    }

    fn check_purposes(&self, errors: &mut Vec<ValidationError>) {
        if self.purposes.is_empty() {
            errors.push(ValidationError::new("purposes", ErrorKind::NoPurpose));
            return;
        }
        if self.purposes.len() > MAX_PURPOSES {
            errors.push(ValidationError::new(
                "purposes",
                ErrorKind::TooMany { max: MAX_PURPOSES },
            ));
        }
        let health_item = self.health_item();
        for (i, purpose) in self.purposes.iter().enumerate() {
            let field = format!("purposes[{i}].description");
            check_text(
                errors,
                &field,
                &purpose.description,
                MAX_DESCRIPTION,
                Lines::Many,
            );
            if let (true, Some(item)) = (purpose.category.is_advertising(), health_item) {
                let kind = ErrorKind::AdvertisingWithHealthData(item.id.to_owned());
                errors.push(ValidationError::new(
                    format!("purposes[{i}].category"),
                    kind,
                ));
            }
        }
    }

    /// The first medical or special-care item asked for, if any: such data
    /// may not serve advertising, neither the operator's nor a recipient's.
    fn health_item(&self) -> Option<&'static DataItem> {
        self.items
            .required
            .iter()
            .chain(&self.items.optional)
            .filter_map(|id| catalogue::item(id))
            .find(|item| item.sensitivity >= Sensitivity::Health)
    }

    fn check_period(&self, errors: &mut Vec<ValidationError>) {
        if let Period::Linkage { days } = self.period {
            if !(1..=MAX_LINKAGE_DAYS).contains(&days) {
                errors.push(ValidationError::new(
                    "period.days",
                    ErrorKind::PeriodOutOfRange,
                ));
            }
        }
    }

    fn check_recipients(&self, errors: &mut Vec<ValidationError>) {
        if self.recipients.len() > MAX_RECIPIENTS {
            let kind = ErrorKind::TooMany {
                max: MAX_RECIPIENTS,
            };
            errors.push(ValidationError::new("recipients", kind));
        }
        let health_item = self.health_item();
        for (i, recipient) in self.recipients.iter().enumerate() {
            let at = |name: &str| format!("recipients[{i}].{name}");
            check_text(errors, &at("name"), &recipient.name, MAX_NAME, Lines::One);
            check_text(
                errors,
                &at("contact"),
                &recipient.contact,
                MAX_CONTACT,
                Lines::One,
            );
            let url = &recipient.privacy_policy_url;
            if check_text(errors, &at("privacyPolicyUrl"), url, MAX_URL, Lines::One) {
                if let Err(kind) = check_policy_url(url) {
                    errors.push(ValidationError::new(at("privacyPolicyUrl"), kind));
                }
            }
            if let Some(approval_id) = &recipient.approval_id {
                check_text(
                    errors,
                    &at("approvalId"),
                    approval_id,
                    MAX_APPROVAL_ID,
                    Lines::One,
                );
            }
            if let (true, Some(item)) = (recipient.purpose_category.is_advertising(), health_item) {
                let kind = ErrorKind::AdvertisingWithHealthData(item.id.to_owned());
                errors.push(ValidationError::new(at("purposeCategory"), kind));
            }
            let field = at("purpose");
            if recipient.purpose.trim().is_empty() {
                errors.push(ValidationError::new(
                    field,
                    ErrorKind::RecipientWithoutPurpose,
                ));
            } else {
                check_text(
                    errors,
                    &field,
                    &recipient.purpose,
                    MAX_DESCRIPTION,
                    Lines::Many,
                );
            }
        }
    }
}

/// How item errors name their field: `items.required[i]` in a request,
/// `items[i]` in [`ConsentTerms`], whose items are one list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ItemPaths {
    RequiredOptional,
    Flat,
}

/// Whether a text may span lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Checks a required text; returns whether it passed.
fn check_text(
    errors: &mut Vec<ValidationError>,
    field: &str,
    text: &str,
    max: usize,
    lines: Lines,
) -> bool {
    let kind = if text.trim().is_empty() {
        ErrorKind::Required
    } else if text.chars().count() > max {
        ErrorKind::TooLong { max }
    } else if text.chars().any(|c| is_forbidden_char(c, lines)) {
        ErrorKind::ControlCharacter
    } else {
        return true;
    };
    errors.push(ValidationError::new(field, kind));
    false
}

/// Control characters, and the bidirectional controls that can make a text
/// display differently from what it says (Trojan Source, CVE-2021-42574).
/// A text that may span lines takes `\n` only: `\r` and `\t` show
/// differently from screen to screen and receipt to receipt, so every
/// party (SDK, backend, authority) refuses them alike.
fn is_forbidden_char(c: char, lines: Lines) -> bool {
    if c == '\n' {
        return lines == Lines::One;
    }
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// https, or http to a loopback host (local development); no credentials.
pub(crate) fn check_policy_url(text: &str) -> Result<(), ErrorKind> {
    let url = weburl::parse(text).ok_or(ErrorKind::InvalidUrl)?;
    if url.host.is_empty() {
        return Err(ErrorKind::InvalidUrl);
    }
    if url.has_credentials {
        return Err(ErrorKind::UrlWithCredentials);
    }
    match url.scheme.as_str() {
        "https" => Ok(()),
        "http" if url.is_loopback() => Ok(()),
        "http" => Err(ErrorKind::InsecureUrl),
        _ => Err(ErrorKind::InvalidUrl),
    }
}

/// Reads a consent request from JSON text and checks every rule.
pub fn parse_json(text: &str) -> Result<ValidRequest, ValidationErrors> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => parse(&value),
        Err(_) => Err(ValidationErrors(vec![ValidationError::new(
            "",
            ErrorKind::InvalidJson,
        )])),
    }
}

/// Reads a consent request from any JSON value and checks every rule,
/// reporting every problem at once. Never panics.
pub fn parse(value: &Value) -> Result<ValidRequest, ValidationErrors> {
    let mut reader = Reader::default();
    let request = reader.request(value);
    let rules = request.rule_errors();
    combine(reader.errors, rules).map(|()| ValidRequest(request))
}

/// The terms of a consent as the authority receives them: the RFC 9396
/// `authorization_details` entry of type `mynaportal_consent`, without its
/// `type`. The operator's identity is not part of them: the authority
/// knows its registered clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentTerms {
    /// The items asked for: the required ones and the optional ones the
    /// citizen chose, one list.
    pub items: Vec<String>,
    /// Why.
    pub purposes: Vec<Purpose>,
    /// For how long.
    pub period: Period,
    /// Onward recipients.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// The operator's retention statement.
    pub retention: String,
}

/// Reads [`ConsentTerms`] from JSON and checks them with the very rules of
/// a [`ConsentRequest`] (less the operator's identity), so that the SDK, the
/// operator backend and the authority agree on every input. `preview`
/// admits items that are not offered yet.
pub fn parse_terms(value: &Value, preview: bool) -> Result<ConsentTerms, ValidationErrors> {
    let mut reader = Reader::default();
    let terms = reader.terms(value);
    let request = ConsentRequest {
        items: RequestedItems {
            required: terms.items,
            optional: Vec::new(),
        },
        purposes: terms.purposes,
        period: terms.period,
        recipients: terms.recipients,
        retention: terms.retention,
        preview,
        ..ConsentRequest::default()
    };
    let mut rules = Vec::new();
    request.check_terms(&mut rules, ItemPaths::Flat);
    combine(reader.errors, rules)?;
    Ok(ConsentTerms {
        items: request.items.required,
        purposes: request.purposes,
        period: request.period,
        recipients: request.recipients,
        retention: request.retention,
    })
}

/// The structural problems, then the broken rules, in field order. A field
/// that is already malformed gets no second, derived complaint: `operator`
/// missing is one problem, not five.
fn combine(
    structural: Vec<ValidationError>,
    rules: Vec<ValidationError>,
) -> Result<(), ValidationErrors> {
    let mut errors = structural.clone();
    errors.extend(rules.into_iter().filter(|rule| {
        !structural
            .iter()
            .any(|s| path_within(&rule.field, &s.field))
    }));
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by_key(|e| field_order(&e.field));
        Err(ValidationErrors(errors))
    }
}

/// Whether `path` is `parent` or a field inside it.
fn path_within(path: &str, parent: &str) -> bool {
    parent.is_empty()
        || path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Sorts errors by the order fields appear in a request, keeping the order
/// within a field.
fn field_order(field: &str) -> usize {
    const ORDER: [&str; 9] = [
        "operator",
        "items",
        "purposes",
        "period",
        "recipients",
        "retention",
        "ethicsReview",
        "locale",
        "preview",
    ];
    let top = field.split(['.', '[']).next().unwrap_or_default();
    ORDER
        .iter()
        .position(|name| *name == top)
        .unwrap_or(ORDER.len())
}

/// Reads JSON into a [`ConsentRequest`], recording type problems and putting
/// a default in place of each malformed value so that positions (and so the
/// paths of later errors) stay true.
#[derive(Default)]
struct Reader {
    errors: Vec<ValidationError>,
}

impl Reader {
    fn error(&mut self, field: impl Into<String>, kind: ErrorKind) {
        self.errors.push(ValidationError::new(field, kind));
    }

    fn request(&mut self, value: &Value) -> ConsentRequest {
        let known = [
            "operator",
            "items",
            "purposes",
            "period",
            "recipients",
            "retention",
            "ethicsReview",
            "locale",
            "preview",
        ];
        let Some(map) = self.object(value, "", &known) else {
            return ConsentRequest::default();
        };
        let ethics_review = match map.get("ethicsReview") {
            None | Some(Value::Null) => None,
            Some(value) => Some(self.string_value(value, "ethicsReview")),
        };
        ConsentRequest {
            operator: self.operator(map),
            items: self.items(map),
            purposes: self.purposes(map),
            period: self.period(map),
            recipients: self.recipients(map),
            retention: self.string(map, "retention", "retention"),
            locale: self.locale(map),
            preview: self.boolean(map, "preview", "preview"),
            ethics_review,
        }
    }

    fn terms(&mut self, value: &Value) -> ConsentTerms {
        let known = ["items", "purposes", "period", "recipients", "retention"];
        let Some(map) = self.object(value, "", &known) else {
            return ConsentTerms {
                items: Vec::new(),
                purposes: Vec::new(),
                period: Period::OneTime,
                recipients: Vec::new(),
                retention: String::new(),
            };
        };
        let items = self
            .array(map, "items", "items")
            .iter()
            .enumerate()
            .map(|(i, v)| self.string_value(v, &format!("items[{i}]")))
            .collect();
        ConsentTerms {
            items,
            purposes: self.purposes(map),
            period: self.period(map),
            recipients: self.recipients(map),
            retention: self.string(map, "retention", "retention"),
        }
    }

    fn operator(&mut self, map: &Map<String, Value>) -> Operator {
        let known = ["name", "contact", "privacyPolicyUrl", "approvalId"];
        let Some(op) = self.required_object(map, "operator", "operator", &known) else {
            return Operator::default();
        };
        Operator {
            name: self.string(op, "name", "operator.name"),
            contact: self.string(op, "contact", "operator.contact"),
            privacy_policy_url: self.string(op, "privacyPolicyUrl", "operator.privacyPolicyUrl"),
            approval_id: self.string(op, "approvalId", "operator.approvalId"),
        }
    }

    fn items(&mut self, map: &Map<String, Value>) -> RequestedItems {
        let Some(items) = self.required_object(map, "items", "items", &["required", "optional"])
        else {
            return RequestedItems::default();
        };
        let mut list = |key: &str| -> Vec<String> {
            let field = format!("items.{key}");
            self.array(items, key, &field)
                .iter()
                .enumerate()
                .map(|(i, v)| self.string_value(v, &format!("{field}[{i}]")))
                .collect()
        };
        RequestedItems {
            required: list("required"),
            optional: list("optional"),
        }
    }

    fn purposes(&mut self, map: &Map<String, Value>) -> Vec<Purpose> {
        let values = self.array(map, "purposes", "purposes");
        let mut purposes = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            let field = format!("purposes[{i}]");
            let Some(purpose) = self.object(value, &field, &["category", "description"]) else {
                purposes.push(Purpose {
                    category: PurposeCategory::Other,
                    description: String::new(),
                });
                continue;
            };
            let category = self.category(purpose, "category", &format!("{field}.category"));
            let description = self.string(purpose, "description", &format!("{field}.description"));
            purposes.push(Purpose {
                category,
                description,
            });
        }
        purposes
    }

    /// A required purpose category.
    fn category(&mut self, map: &Map<String, Value>, key: &str, field: &str) -> PurposeCategory {
        let code = self.string(map, key, field);
        match PurposeCategory::from_code(&code) {
            Some(category) => category,
            None if code.is_empty() => {
                if map.get(key).is_none_or(Value::is_null) {
                    self.error(field, ErrorKind::Required);
                }
                PurposeCategory::Other
            }
            None => {
                self.error(field, ErrorKind::UnknownPurposeCategory(code));
                PurposeCategory::Other
            }
        }
    }

    fn period(&mut self, map: &Map<String, Value>) -> Period {
        let Some(period) = self.required_object(map, "period", "period", &["kind", "days"]) else {
            return Period::OneTime;
        };
        let kind = self.string(period, "kind", "period.kind");
        match kind.as_str() {
            "oneTime" => {
                if period.contains_key("days") {
                    self.error("period.days", ErrorKind::UnknownField);
                }
                Period::OneTime
            }
            "linkage" => Period::Linkage {
                days: self.days(period),
            },
            "" => {
                if period.get("kind").is_none_or(Value::is_null) {
                    self.error("period.kind", ErrorKind::Required);
                }
                Period::OneTime
            }
            _ => {
                self.error("period.kind", ErrorKind::UnknownPeriodKind(kind));
                Period::OneTime
            }
        }
    }

    fn days(&mut self, period: &Map<String, Value>) -> u32 {
        match period.get("days") {
            None | Some(Value::Null) => {
                self.error("period.days", ErrorKind::Required);
                0
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(days) => u32::try_from(days).unwrap_or_else(|_| {
                    self.error("period.days", ErrorKind::PeriodOutOfRange);
                    0
                }),
                None if n.as_u64().is_some() => {
                    self.error("period.days", ErrorKind::PeriodOutOfRange);
                    0
                }
                None => {
                    self.error("period.days", ErrorKind::WrongType(JsonType::Integer));
                    0
                }
            },
            Some(_) => {
                self.error("period.days", ErrorKind::WrongType(JsonType::Integer));
                0
            }
        }
    }

    fn recipients(&mut self, map: &Map<String, Value>) -> Vec<Recipient> {
        let values = self.array(map, "recipients", "recipients");
        let mut recipients = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            let field = format!("recipients[{i}]");
            let known = [
                "name",
                "contact",
                "privacyPolicyUrl",
                "approvalId",
                "purposeCategory",
                "purpose",
            ];
            let recipient = match self.object(value, &field, &known) {
                Some(r) => {
                    let at = |name: &str| format!("{field}.{name}");
                    Recipient {
                        name: self.string(r, "name", &at("name")),
                        contact: self.string(r, "contact", &at("contact")),
                        privacy_policy_url: self.string(
                            r,
                            "privacyPolicyUrl",
                            &at("privacyPolicyUrl"),
                        ),
                        // Omitted, null or "": the recipient has none.
                        approval_id: r
                            .get("approvalId")
                            .filter(|v| !v.is_null())
                            .map(|v| self.string_value(v, &at("approvalId")))
                            .filter(|id| !id.is_empty()),
                        purpose_category: self.category(
                            r,
                            "purposeCategory",
                            &at("purposeCategory"),
                        ),
                        purpose: self.string(r, "purpose", &at("purpose")),
                    }
                }
                None => Recipient {
                    name: String::new(),
                    contact: String::new(),
                    privacy_policy_url: String::new(),
                    approval_id: None,
                    purpose_category: PurposeCategory::Other,
                    purpose: String::new(),
                },
            };
            recipients.push(recipient);
        }
        recipients
    }

    fn locale(&mut self, map: &Map<String, Value>) -> Locale {
        let code = self.string(map, "locale", "locale");
        if code.is_empty() {
            return Locale::default();
        }
        match code.as_str() {
            "ja" => Locale::Ja,
            "en" => Locale::En,
            _ => {
                self.error("locale", ErrorKind::UnknownLocale(code));
                Locale::default()
            }
        }
    }

    fn object<'v>(
        &mut self,
        value: &'v Value,
        field: &str,
        known: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = value else {
            self.error(field, ErrorKind::WrongType(JsonType::Object));
            return None;
        };
        for key in map.keys().filter(|key| !known.contains(&key.as_str())) {
            let path = if field.is_empty() {
                key.clone()
            } else {
                format!("{field}.{key}")
            };
            self.error(path, ErrorKind::UnknownField);
        }
        Some(map)
    }

    fn required_object<'v>(
        &mut self,
        map: &'v Map<String, Value>,
        key: &str,
        field: &str,
        known: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        match map.get(key) {
            None | Some(Value::Null) => {
                self.error(field, ErrorKind::Required);
                None
            }
            Some(value) => self.object(value, field, known),
        }
    }

    fn array<'v>(&mut self, map: &'v Map<String, Value>, key: &str, field: &str) -> &'v [Value] {
        match map.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(values)) => values,
            Some(_) => {
                self.error(field, ErrorKind::WrongType(JsonType::Array));
                &[]
            }
        }
    }

    /// A string field; missing or null reads as empty (the rules decide
    /// whether it was required).
    fn string(&mut self, map: &Map<String, Value>, key: &str, field: &str) -> String {
        match map.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(value) => self.string_value(value, field),
        }
    }

    fn string_value(&mut self, value: &Value, field: &str) -> String {
        match value {
            Value::String(text) => text.clone(),
            _ => {
                self.error(field, ErrorKind::WrongType(JsonType::String));
                String::new()
            }
        }
    }

    fn boolean(&mut self, map: &Map<String, Value>, key: &str, field: &str) -> bool {
        match map.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                self.error(field, ErrorKind::WrongType(JsonType::Boolean));
                false
            }
        }
    }
}

#[cfg(test)]
mod codes {
    use super::*;

    /// One of each variant: adding a variant fails to compile here until
    /// it is listed, and then fails until its code is in `CODES`.
    fn every_kind() -> Vec<ErrorKind> {
        let one = |kind: ErrorKind| match kind {
            ErrorKind::InvalidJson
            | ErrorKind::WrongType(_)
            | ErrorKind::UnknownField
            | ErrorKind::Required
            | ErrorKind::TooLong { .. }
            | ErrorKind::TooMany { .. }
            | ErrorKind::ControlCharacter
            | ErrorKind::NoItems
            | ErrorKind::UnknownItem(_)
            | ErrorKind::ItemNotRequestable(..)
            | ErrorKind::ItemNotYetOffered(_)
            | ErrorKind::DuplicateItem(_)
            | ErrorKind::RequiredOptionalOverlap(_)
            | ErrorKind::LinkageNotEligible(_)
            | ErrorKind::PeriodOutOfRange
            | ErrorKind::UnknownPeriodKind(_)
            | ErrorKind::NoPurpose
            | ErrorKind::UnknownPurposeCategory(_)
            | ErrorKind::AdvertisingWithHealthData(_)
            | ErrorKind::EthicsReviewRequired(_)
            | ErrorKind::InvalidUrl
            | ErrorKind::InsecureUrl
            | ErrorKind::UrlWithCredentials
            | ErrorKind::RecipientWithoutPurpose
            | ErrorKind::UnknownLocale(_) => kind,
        };
        let s = || "x".to_owned();
        vec![
            one(ErrorKind::InvalidJson),
            one(ErrorKind::WrongType(JsonType::Object)),
            one(ErrorKind::UnknownField),
            one(ErrorKind::Required),
            one(ErrorKind::TooLong { max: 1 }),
            one(ErrorKind::TooMany { max: 1 }),
            one(ErrorKind::ControlCharacter),
            one(ErrorKind::NoItems),
            one(ErrorKind::UnknownItem(s())),
            one(ErrorKind::ItemNotRequestable(s(), Availability::PortalOnly)),
            one(ErrorKind::ItemNotYetOffered(s())),
            one(ErrorKind::DuplicateItem(s())),
            one(ErrorKind::RequiredOptionalOverlap(s())),
            one(ErrorKind::LinkageNotEligible(s())),
            one(ErrorKind::PeriodOutOfRange),
            one(ErrorKind::UnknownPeriodKind(s())),
            one(ErrorKind::NoPurpose),
            one(ErrorKind::UnknownPurposeCategory(s())),
            one(ErrorKind::AdvertisingWithHealthData(s())),
            one(ErrorKind::EthicsReviewRequired(s())),
            one(ErrorKind::InvalidUrl),
            one(ErrorKind::InsecureUrl),
            one(ErrorKind::UrlWithCredentials),
            one(ErrorKind::RecipientWithoutPurpose),
            one(ErrorKind::UnknownLocale(s())),
        ]
    }

    #[test]
    fn codes_lists_every_variant_once() {
        let codes: Vec<&str> = every_kind().iter().map(ErrorKind::code).collect();
        assert_eq!(codes, ErrorKind::CODES.to_vec());
    }
}
