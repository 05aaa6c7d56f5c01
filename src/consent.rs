//! A granted [`Consent`]: its status, its end date and days left in Japan's
//! calendar, and the consent [`Receipt`] the citizen can keep.
//!
//! Dates a citizen reads are Japanese calendar dates (Asia/Tokyo, UTC+9 all
//! year: Japan has had no daylight saving time since 1951), whatever the
//! time zone of the server or the browser.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::catalogue;
use crate::digest::sha256_hex;
use crate::i18n::{self, Locale, Text};
use crate::request::{Operator, Period, Purpose, Recipient, ValidRequest};

/// Japan Standard Time.
pub const JST: UtcOffset = time::macros::offset!(+9);

/// A linkage with this many days left or fewer is "ending soon".
pub const ENDING_SOON_DAYS: i64 = 14;

/// A consent the citizen granted: what was shared, with whom, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// The operator backend's id of the consent.
    pub id: String,
    /// Who received the consent.
    pub operator: Operator,
    /// The items granted: the required ones and the optional ones the citizen
    /// chose.
    pub items: Vec<String>,
    /// Why.
    pub purposes: Vec<Purpose>,
    /// Onward recipients.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// For how long.
    pub period: Period,
    /// The operator's retention statement.
    pub retention: String,
    /// When the citizen approved at Mynaportal.
    #[serde(with = "crate::rfc3339")]
    pub granted_at: OffsetDateTime,
    /// When the citizen withdrew the consent.
    #[serde(default, with = "crate::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When the authority suspended the grant (e.g. a refresh token was
    /// used twice, a sign of theft).
    #[serde(default, with = "crate::rfc3339::option")]
    pub suspended_at: Option<OffsetDateTime>,
}

/// Where a consent stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConsentStatus {
    /// In force.
    Active,
    /// A linkage with [`ENDING_SOON_DAYS`] or fewer days left: offer renewal.
    EndingSoon,
    /// A linkage past its end: offer renewal.
    Expired,
    /// Withdrawn by the citizen.
    Revoked,
    /// Stopped by the authority (suspected misuse).
    Suspended,
}

impl ConsentStatus {
    /// Stable code used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::EndingSoon => "endingSoon",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }

    /// The status's words, as every screen shows them.
    pub fn label(self, locale: Locale) -> &'static str {
        let text = match self {
            Self::Active => Text::new("有効", "Active"),
            Self::EndingSoon => Text::new("まもなく終了", "Ending soon"),
            Self::Expired => Text::new("期間終了", "Ended"),
            Self::Revoked => Text::new("撤回済み", "Withdrawn"),
            Self::Suspended => Text::new("停止中", "Suspended"),
        };
        text.get(locale)
    }
}

/// Why a consent could not be made from a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The citizen chose an item that the request did not offer as optional.
    #[error("item \"{0}\" was not offered as optional in the request")]
    NotOffered(String),
}

impl GrantError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOffered(_) => "item_not_offered",
        }
    }
}

impl Consent {
    /// The consent that results when the citizen approves `request`,
    /// choosing `chosen_optional` among its optional items.
    pub fn grant(
        id: impl Into<String>,
        request: &ValidRequest,
        chosen_optional: &[String],
        granted_at: OffsetDateTime,
    ) -> Result<Self, GrantError> {
        let request = request.request();
        if let Some(stray) = chosen_optional
            .iter()
            .find(|id| !request.items.optional.contains(id))
        {
            return Err(GrantError::NotOffered(stray.clone()));
        }
        // Keep the request's order, so the same choice reads the same way.
        let chosen = request
            .items
            .optional
            .iter()
            .filter(|id| chosen_optional.contains(id));
        Ok(Self {
            id: id.into(),
            operator: request.operator.clone(),
            items: request
                .items
                .required
                .iter()
                .chain(chosen)
                .cloned()
                .collect(),
            purposes: request.purposes.clone(),
            recipients: request.recipients.clone(),
            period: request.period,
            retention: request.retention.clone(),
            granted_at,
            revoked_at: None,
            suspended_at: None,
        })
    }

    /// The instant a linkage ends, fixed at grant time: granted-at plus its
    /// days. `None` for a one-time consent.
    pub fn ends_at(&self) -> Option<OffsetDateTime> {
        match self.period {
            Period::OneTime => None,
            Period::Linkage { days } => Some(self.granted_at + Duration::days(i64::from(days))),
        }
    }

    /// The Japanese calendar date on which a linkage ends: the date the
    /// screens print ("2027年2月22日まで").
    pub fn end_date(&self) -> Option<Date> {
        self.ends_at().map(jst_date)
    }

    /// Japanese calendar days from `now` to the end date: 0 on the last day,
    /// 0 after the end. `None` for a one-time consent.
    pub fn days_left(&self, now: OffsetDateTime) -> Option<i64> {
        let ends_at = self.ends_at()?;
        if now >= ends_at {
            return Some(0);
        }
        Some((jst_date(ends_at) - jst_date(now)).whole_days())
    }

    /// Where the consent stands at `now`. Revocation and suspension outrank
    /// the calendar.
    pub fn status(&self, now: OffsetDateTime) -> ConsentStatus {
        if self.revoked_at.is_some() {
            return ConsentStatus::Revoked;
        }
        if self.suspended_at.is_some() {
            return ConsentStatus::Suspended;
        }
        match (self.ends_at(), self.days_left(now)) {
            (Some(ends_at), _) if now >= ends_at => ConsentStatus::Expired,
            (_, Some(days)) if days <= ENDING_SOON_DAYS => ConsentStatus::EndingSoon,
            _ => ConsentStatus::Active,
        }
    }
}

/// The Japanese calendar date of an instant.
pub fn jst_date(at: OffsetDateTime) -> Date {
    at.to_offset(JST).date()
}

/// What a receipt records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReceiptEvent {
    /// The citizen granted the consent.
    Grant,
    /// The citizen withdrew it.
    Revocation,
}

/// A consent receipt the citizen can keep, with the fields of ISO/IEC TS
/// 27560 and the Kantara Consent Receipt: who (controller and contact), what
/// (items, special-care flag), why (purposes), who else (recipients), how long
/// (period), how to withdraw, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The receipt format.
    pub version: String,
    /// Unique id of this receipt.
    pub receipt_id: String,
    /// Grant or revocation.
    pub event: ReceiptEvent,
    /// When the receipt was issued.
    #[serde(with = "crate::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// The language of the receipt's texts.
    pub language: Locale,
    /// The legal framework.
    pub jurisdiction: String,
    /// How consent was given.
    pub consent_type: String,
    /// How the data is collected.
    pub collection_method: String,
    /// The consent it is about.
    pub consent_id: String,
    /// When consent was granted.
    #[serde(with = "crate::rfc3339")]
    pub granted_at: OffsetDateTime,
    /// When it was withdrawn, for a revocation receipt.
    #[serde(default, with = "crate::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The data controller: the operator.
    pub controller: Operator,
    /// The data items, labelled in the receipt's language.
    pub items: Vec<ReceiptItem>,
    /// Whether special-care data (要配慮個人情報) is included.
    pub special_care: bool,
    /// Why.
    pub purposes: Vec<Purpose>,
    /// Onward recipients (third-party disclosure).
    pub recipients: Vec<Recipient>,
    /// For how long.
    pub period: ReceiptPeriod,
    /// The operator's retention statement.
    pub retention: String,
    /// How the citizen can withdraw.
    pub withdrawal_method: String,
    /// On a grant receipt: the consent this one renews, which is withdrawn
    /// once this one is granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews: Option<String>,
    /// On a revocation receipt: the consent that replaced this one (a
    /// renewal), when that is why it was withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
}

/// One item on a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptItem {
    /// Catalogue id.
    pub id: String,
    /// Label in the receipt's language.
    pub label: String,
    /// Catalogue category id.
    pub category: String,
}

/// The period on a receipt, with the end stated as an instant and as the
/// Japanese calendar date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPeriod {
    /// `oneTime` or `linkage`.
    pub kind: String,
    /// Length of a linkage in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// When a linkage ends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::rfc3339::option"
    )]
    pub ends_at: Option<OffsetDateTime>,
    /// The Japanese calendar date it ends on, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// The receipt format written in [`Receipt::version`].
pub const RECEIPT_VERSION: &str = "myna-consent-receipt/1";

impl Receipt {
    /// The receipt for `event` on `consent`, issued at `issued_at`.
    /// `receipt_id` comes from the caller (the backend owns randomness).
    pub fn new(
        consent: &Consent,
        event: ReceiptEvent,
        receipt_id: impl Into<String>,
        issued_at: OffsetDateTime,
        language: Locale,
    ) -> Self {
        let items: Vec<ReceiptItem> = consent
            .items
            .iter()
            .map(|id| {
                let entry = catalogue::item(id);
                ReceiptItem {
                    id: id.clone(),
                    label: entry
                        .map_or_else(|| id.clone(), |item| item.label.get(language).to_owned()),
                    category: entry.map_or_else(String::new, |item| item.category.to_owned()),
                }
            })
            .collect();
        let special_care = consent.items.iter().any(|id| {
            catalogue::item(id)
                .is_some_and(|item| item.sensitivity == catalogue::Sensitivity::SpecialCare)
        });
        let period = match consent.period {
            Period::OneTime => ReceiptPeriod {
                kind: "oneTime".into(),
                days: None,
                ends_at: None,
                end_date: None,
            },
            Period::Linkage { days } => ReceiptPeriod {
                kind: "linkage".into(),
                days: Some(days),
                ends_at: consent.ends_at(),
                end_date: consent.end_date().map(|date| date.to_string()),
            },
        };
        Self {
            version: RECEIPT_VERSION.into(),
            receipt_id: receipt_id.into(),
            event,
            issued_at,
            language,
            jurisdiction: "JP".into(),
            consent_type: "explicit".into(),
            collection_method: "Mynaportal API".into(),
            consent_id: consent.id.clone(),
            granted_at: consent.granted_at,
            revoked_at: match event {
                ReceiptEvent::Grant => None,
                ReceiptEvent::Revocation => consent.revoked_at.or(Some(issued_at)),
            },
            controller: consent.operator.clone(),
            items,
            special_care,
            purposes: consent.purposes.clone(),
            recipients: consent.recipients.clone(),
            period,
            retention: consent.retention.clone(),
            withdrawal_method: i18n::withdrawal_method(&consent.operator.contact, language),
            renews: None,
            replaced_by: None,
        }
    }

    /// This grant receipt, noting the consent it renews.
    pub fn renewing(mut self, consent_id: impl Into<String>) -> Self {
        self.renews = Some(consent_id.into());
        self
    }

    /// This revocation receipt, noting the consent that replaced it.
    pub fn replaced_by(mut self, consent_id: impl Into<String>) -> Self {
        self.replaced_by = Some(consent_id.into());
        self
    }

    /// The receipt as canonical JSON (RFC 8785, JCS): the same receipt gives
    /// the same bytes on every machine, so its digest can be checked later.
    pub fn canonical_json(&self) -> String {
        // A Receipt holds only strings, booleans, small integers and
        // sequences of them, which always serialise.
        crate::digest::canonical_json(self).unwrap_or_default()
    }

    /// SHA-256 of [`canonical_json`](Self::canonical_json), lowercase hex.
    pub fn sha256(&self) -> String {
        sha256_hex(self.canonical_json().as_bytes())
    }

    /// `{ "receipt": …, "sha256": … }`: what the citizen downloads.
    pub fn to_document(&self) -> serde_json::Value {
        serde_json::json!({ "receipt": self, "sha256": self.sha256() })
    }
}
