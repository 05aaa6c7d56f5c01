//! The catalogue: the 16 Mynaportal APIs and every data item of the
//! reference report, with what an operator may ask for and how sensitive it is.
//!
//! The catalogue is static data compiled into the crate: the consent screen,
//! the request validation and the sandbox all read the same table, so an item
//! can never mean one thing on the screen and another at the authority.
//! Decisions about availability and sensitivity are written down in
//! `docs/catalogue.md`.

mod apis;
mod items;

use serde::Serialize;

use crate::i18n::{Locale, Text};

pub use apis::ApiId;

/// One of the 16 APIs that the Mynaportal API offers (提供中のマイナポータルAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    /// Stable id, e.g. `ApiId::MedicalInsurance`.
    pub id: ApiId,
    /// The number the reference report gives it (1–16).
    pub number: u8,
    /// The API's name.
    pub name: Text,
    /// What data it provides, in plain words; empty for APIs that carry no
    /// personal data items (sign-on, applications).
    pub provides: Text,
}

/// A group of items that the consent screen shows as one line
/// (a request for 40 lab tests reads as one group, not a wall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// Stable id, e.g. `ehr.lab.biochemistry`.
    pub id: &'static str,
    /// Short heading.
    pub label: Text,
    /// One plain line saying what the group holds.
    pub explanation: Text,
}

/// One data item that a consent request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataItem {
    /// Stable id, e.g. `ehr.lab.hba1c`. Never reused for another meaning.
    pub id: &'static str,
    /// Id of the [`Category`] it is grouped under.
    pub category: &'static str,
    /// The API that provides it; `None` while no API provides it
    /// (see [`Availability`]).
    pub api: Option<ApiId>,
    /// Short label.
    pub label: Text,
    /// One plain line that a citizen understands.
    pub explanation: Text,
    /// Whether an operator can ask for it, and for how long.
    pub availability: Availability,
    /// How carefully it must be handled.
    pub sensitivity: Sensitivity,
}

/// Whether an operator can ask for an item, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Availability {
    /// Offered to approved operators now, one retrieval per consent.
    Offered,
    /// Offered now, and eligible for 期間連携 (continuous linkage, at most
    /// 90 days): the report limits linkage to medical-insurance data.
    OfferedWithLinkage,
    /// Shared in the electronic medical record service and under discussion
    /// for operators, but not offered yet. Requestable only as a preview.
    NotYetOffered,
    /// Shared between medical institutions only (referral letters,
    /// discharge summaries); never requestable by an operator.
    InstitutionsOnly,
    /// Viewable by the citizen on Mynaportal only (patient summary); never
    /// requestable by an operator.
    PortalOnly,
}

impl Availability {
    /// Whether an operator may name the item in a request
    /// (`preview` admits items that are not offered yet).
    pub fn is_requestable(self, preview: bool) -> bool {
        match self {
            Self::Offered | Self::OfferedWithLinkage => true,
            Self::NotYetOffered => preview,
            Self::InstitutionsOnly | Self::PortalOnly => false,
        }
    }

    /// Whether the item may be part of a 90-day linkage.
    pub fn allows_linkage(self) -> bool {
        matches!(self, Self::OfferedWithLinkage)
    }

    /// Stable code used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::OfferedWithLinkage => "offeredWithLinkage",
            Self::NotYetOffered => "notYetOffered",
            Self::InstitutionsOnly => "institutionsOnly",
            Self::PortalOnly => "portalOnly",
        }
    }
}

/// How carefully an item must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Sensitivity {
    /// Personal data that is neither medical nor special-care
    /// (income, pension, family register, notices).
    General,
    /// Health and medical data (drugs, check-ups, lab results): never for
    /// advertising or marketing.
    Health,
    /// 要配慮個人情報 with a particular risk of discrimination (infection
    /// tests, diagnoses, disability, subsidies that reveal an illness): the
    /// citizen confirms these separately before agreeing.
    SpecialCare,
}

impl Sensitivity {
    /// Stable code used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Health => "health",
            Self::SpecialCare => "specialCare",
        }
    }
}

/// The 16 APIs, in the report's order.
pub fn apis() -> &'static [Api] {
    apis::APIS
}

/// Every category, in the order the consent screen shows them.
pub fn categories() -> &'static [Category] {
    items::CATEGORIES
}

/// Every data item, grouped by category in [`categories`] order.
pub fn items() -> &'static [DataItem] {
    items::ITEMS
}

/// The API with this id.
pub fn api(id: ApiId) -> &'static Api {
    // Every ApiId has exactly one entry; the catalogue tests prove it.
    apis::APIS
        .iter()
        .find(|api| api.id == id)
        .unwrap_or(&apis::APIS[0])
}

/// The item with this id, if the catalogue has one.
pub fn item(id: &str) -> Option<&'static DataItem> {
    items::ITEMS.iter().find(|item| item.id == id)
}

/// The category with this id, if the catalogue has one.
pub fn category(id: &str) -> Option<&'static Category> {
    items::CATEGORIES.iter().find(|category| category.id == id)
}

/// The catalogue as plain JSON in one locale: what `MynaConsent.catalogue()`
/// returns to JavaScript.
pub fn to_json(locale: Locale) -> serde_json::Value {
    use serde_json::json;
    json!({
        "locale": locale.code(),
        "apis": apis().iter().map(|api| json!({
            "id": api.id.code(),
            "number": api.number,
            "name": api.name.get(locale),
            "provides": api.provides.get(locale),
        })).collect::<Vec<_>>(),
        "categories": categories().iter().map(|category| json!({
            "id": category.id,
            "label": category.label.get(locale),
            "explanation": category.explanation.get(locale),
            "items": items().iter().filter(|item| item.category == category.id).map(|item| json!({
                "id": item.id,
                "label": item.label.get(locale),
                "explanation": item.explanation.get(locale),
                "api": item.api.map(ApiId::code),
                "availability": item.availability.code(),
                "sensitivity": item.sensitivity.code(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
