//! The words people read: locales, bilingual text, and the message of every
//! validation error in Japanese (the primary text) and English.

use serde::{Deserialize, Serialize};

/// A locale the SDK speaks. Japanese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locale {
    /// 日本語 (default).
    #[default]
    #[serde(rename = "ja")]
    Ja,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// The BCP 47 code: `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The locale for a BCP 47 code; `ja-JP` and `en-US` count as `ja` and `en`.
    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// A text in both locales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// Japanese (primary).
    pub ja: &'static str,
    /// English.
    pub en: &'static str,
}

impl Text {
    /// A text from its Japanese and English forms.
    pub const fn new(ja: &'static str, en: &'static str) -> Self {
        Self { ja, en }
    }

    /// The text in `locale`.
    pub fn get(&self, locale: Locale) -> &'static str {
        match locale {
            Locale::Ja => self.ja,
            Locale::En => self.en,
        }
    }
}

/// The message for a validation problem, for an operator's engineer.
pub fn validation_message(kind: &crate::request::ErrorKind, locale: Locale) -> String {
    use crate::catalogue::Availability;
    use crate::request::{ErrorKind as K, JsonType};
    let ja = locale == Locale::Ja;
    let pick = |ja_text: String, en_text: String| if ja { ja_text } else { en_text };
    match kind {
        K::InvalidJson => pick("JSONとして読み取れません。".into(), "This is not valid JSON.".into()),
        K::WrongType(expected) => {
            let (ja_type, en_type) = match expected {
                JsonType::Object => ("オブジェクト", "an object"),
                JsonType::Array => ("配列", "an array"),
                JsonType::String => ("文字列", "a string"),
                JsonType::Integer => ("整数", "a whole number"),
                JsonType::Boolean => ("true または false", "true or false"),
            };
            pick(format!("{ja_type}を指定してください。"), format!("Must be {en_type}."))
        }
        K::UnknownField => pick(
            "同意リクエストにない項目です。綴りを確認してください。".into(),
            "Not a field of a consent request; check the spelling.".into(),
        ),
        K::Required => pick("入力してください。".into(), "Required.".into()),
        K::TooLong { max } => pick(format!("{max}文字以内にしてください。"), format!("At most {max} characters.")),
        K::TooMany { max } => pick(format!("{max}件以内にしてください。"), format!("At most {max} entries.")),
        K::ControlCharacter => pick(
            "制御文字や表示の向きを変える文字は使えません。".into(),
            "Control characters and bidirectional overrides are not allowed.".into(),
        ),
        K::NoItems => pick(
            "取得するデータ項目を1つ以上指定してください。".into(),
            "Request at least one data item.".into(),
        ),
        K::UnknownItem(id) => pick(
            format!("「{id}」というデータ項目はありません。"),
            format!("There is no data item \"{id}\"."),
        ),
        K::ItemNotRequestable(id, availability) => match availability {
            Availability::InstitutionsOnly => pick(
                format!("「{id}」は医療機関の間でのみ共有される情報のため、事業者は取得できません。"),
                format!("\"{id}\" is shared between medical institutions only; operators cannot request it."),
            ),
            _ => pick(
                format!("「{id}」はマイナポータルでの閲覧のみの情報のため、事業者は取得できません。"),
                format!("\"{id}\" can only be viewed on Mynaportal; operators cannot request it."),
            ),
        },
        K::ItemNotYetOffered(id) => pick(
            format!("「{id}」はまだ事業者に提供されていません（試験表示には preview: true を指定します）。"),
            format!("\"{id}\" is not offered to operators yet (set preview: true for a trial display)."),
        ),
        K::DuplicateItem(id) => pick(
            format!("「{id}」が重複しています。"),
            format!("\"{id}\" is listed twice."),
        ),
        K::RequiredOptionalOverlap(id) => pick(
            format!("「{id}」が必須と任意の両方にあります。どちらか一方にしてください。"),
            format!("\"{id}\" is both required and optional; keep it in one list."),
        ),
        K::LinkageNotEligible(id) => pick(
            format!("「{id}」は期間連携の対象ではありません。期間連携できるのは医療保険情報だけです。"),
            format!("\"{id}\" cannot be part of a continuous linkage; only medical insurance data can."),
        ),
        K::PeriodOutOfRange => pick(
            "期間連携の日数は1日から90日までです。".into(),
            "A linkage lasts from 1 to 90 days.".into(),
        ),
        K::UnknownPeriodKind(kind) => pick(
            format!("「{kind}」は期間の種類にありません。oneTime か linkage を指定してください。"),
            format!("\"{kind}\" is not a period kind; use oneTime or linkage."),
        ),
        K::NoPurpose => pick(
            "利用目的を1つ以上指定してください。".into(),
            "State at least one purpose.".into(),
        ),
        K::UnknownPurposeCategory(category) => pick(
            format!("「{category}」は利用目的の種類にありません。"),
            format!("\"{category}\" is not a purpose category."),
        ),
        K::AdvertisingWithHealthData(id) => pick(
            format!("広告やマーケティングを目的として、医療・健康に関する情報（「{id}」など）を求めることはできません。"),
            format!("Medical and special-care data (such as \"{id}\") cannot be requested for advertising or marketing."),
        ),
        K::InvalidUrl => pick(
            "https:// で始まるURLを指定してください。".into(),
            "Must be an absolute https:// URL.".into(),
        ),
        K::InsecureUrl => pick(
            "https のURLを指定してください（http はローカル環境のみ使えます）。".into(),
            "Must use https (http is allowed for loopback hosts only).".into(),
        ),
        K::UrlWithCredentials => pick(
            "ユーザー名やパスワードを含むURLは使えません。".into(),
            "The URL must not contain a user name or password.".into(),
        ),
        K::RecipientWithoutPurpose => pick(
            "提供先ごとに、提供する目的を入力してください。".into(),
            "State the purpose for each recipient.".into(),
        ),
        K::UnknownLocale(code) => pick(
            format!("「{code}」には対応していません。ja か en を指定してください。"),
            format!("\"{code}\" is not supported; use ja or en."),
        ),
    }
}

/// How a citizen withdraws a consent, as the receipt states it.
pub fn withdrawal_method(contact: &str, locale: Locale) -> String {
    match locale {
        Locale::Ja => format!(
            "事業者のサイトの「同意の確認」画面から、いつでも撤回できます。撤回はすぐにマイナポータルに伝わり、以後の取得は止まります。お問い合わせ先: {contact}"
        ),
        Locale::En => format!(
            "You can withdraw at any time from the consent review screen on the operator's site. Withdrawal reaches Mynaportal at once and stops any further retrieval. Contact: {contact}"
        ),
    }
}

/// A calendar date as a citizen reads it: `2027年2月22日`, `22 February 2027`.
pub fn format_date(date: time::Date, locale: Locale) -> String {
    match locale {
        Locale::Ja => format!(
            "{}年{}月{}日",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        Locale::En => format!("{} {} {}", date.day(), date.month(), date.year()),
    }
}
