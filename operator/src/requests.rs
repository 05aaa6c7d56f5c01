//! The consent requests a backend offers: defined in its configuration (or
//! by the operator's own server, through a request token), always with the
//! operator's identity and the recipients' identities from configuration,
//! and validated by the domain's validator before anyone sees them.
//!
//! A page never defines a request: it names one (`phr-90d`) or presents a
//! token (`rqt_…`), and sends back only the citizen's choice.

use std::collections::BTreeMap;

use myna_consent::i18n::Locale;
use myna_consent::request::{self, Operator as OperatorIdentity, ValidRequest};
use serde_json::{json, Map, Value};

use crate::secret::TOKEN_PREFIX;

/// Whether the backend runs as the sandbox's or for real. Only the sandbox
/// admits requests with `preview: true` (items not offered yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The sandbox: previews admitted.
    Sandbox,
    /// Production: previews refused.
    Production,
}

/// How a problem of a request definition reads at start-up.
pub(crate) fn problem_line(path: &str, code: &str, message: &str) -> String {
    format!("{path}: {code}: {message}")
}

/// A request ready to show: validated, with the configured ids of its
/// recipients (whose webhooks hear of a revocation).
#[derive(Debug, Clone)]
pub struct CompiledRequest {
    /// The request, in Japanese (see [`CompiledRequest::for_locale`]).
    pub valid: ValidRequest,
    /// The recipients' ids in the configuration, in the request's order.
    pub recipient_ids: Vec<String>,
    /// How many days the operator keeps retrieved data after the consent
    /// ends (`retentionDays`): the machine-readable form of the request's
    /// `retention` text. `None`: not stated, and nothing is purged.
    pub retention_days: Option<u32>,
}

/// The longest retention a request may state: 100 years.
const MAX_RETENTION_DAYS: u64 = 36_500;

impl CompiledRequest {
    /// The request for a citizen reading in `locale`.
    pub fn for_locale(&self, locale: Locale) -> ValidRequest {
        self.valid.clone().with_locale(locale)
    }
}

/// One problem of a request definition: a stable code, the field, and a
/// message in both locales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionProblem {
    /// Stable code (the domain's, or one of this module's).
    pub code: String,
    /// The JSON path within the definition.
    pub field: String,
    ja: String,
    en: String,
}

impl DefinitionProblem {
    fn new(
        code: &str,
        field: impl Into<String>,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            code: code.to_owned(),
            field: field.into(),
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The message in `locale`.
    pub fn message(&self, locale: Locale) -> &str {
        match locale {
            Locale::Ja => &self.ja,
            Locale::En => &self.en,
        }
    }

    /// `{code, field, message}`, as the contract's `errors` entries are.
    pub fn to_json(&self, locale: Locale) -> Value {
        json!({ "code": self.code, "field": self.field, "message": self.message(locale) })
    }
}

/// The named requests of one backend, and what compiling a new definition
/// needs: the operator's identity, the recipients, the mode.
#[derive(Debug, Clone)]
pub struct RequestCatalogue {
    identity: OperatorIdentity,
    recipients: BTreeMap<String, RecipientIdentity>,
    mode: Mode,
    requests: BTreeMap<String, CompiledRequest>,
    definitions: BTreeMap<String, Value>,
}

/// A recipient's identity as configured.
#[derive(Debug, Clone)]
pub(crate) struct RecipientIdentity {
    pub(crate) name: String,
    pub(crate) contact: String,
    pub(crate) privacy_policy_url: String,
    pub(crate) approval_id: Option<String>,
}

impl RequestCatalogue {
    /// Compiles every named definition; answers every problem of every
    /// definition (as `requests.<id>.<path>: <code>: <message>` lines, the
    /// message in `locale`) if any is wrong.
    pub(crate) fn compile(
        identity: &OperatorIdentity,
        definitions: &BTreeMap<String, Value>,
        recipients: BTreeMap<String, RecipientIdentity>,
        mode: Mode,
        locale: Locale,
    ) -> Result<Self, Vec<String>> {
        let mut catalogue = Self {
            identity: identity.clone(),
            recipients,
            mode,
            requests: BTreeMap::new(),
            definitions: definitions.clone(),
        };
        let mut problems = identity_problems(identity)
            .into_iter()
            .map(|e| problem_line(&e.field, e.code(), &e.message(locale)))
            .collect::<Vec<_>>();
        for (id, definition) in definitions {
            let path = |field: &str| {
                if field.is_empty() {
                    format!("requests.{id}")
                } else {
                    format!("requests.{id}.{field}")
                }
            };
            if id.is_empty()
                || id.starts_with(TOKEN_PREFIX)
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                problems.push(problem_line(
                    &path(""),
                    "invalid_request_id",
                    "a request id is letters, digits, '-', '_' and '.', and does not start with rqt_",
                ));
                continue;
            }
            match catalogue.compile_one(definition) {
                Ok(compiled) => {
                    catalogue.requests.insert(id.clone(), compiled);
                }
                Err(found) if found.iter().all(|p| p.code == "invalid_operator") => {}
                Err(found) => problems.extend(
                    found
                        .iter()
                        .map(|p| problem_line(&path(&p.field), &p.code, p.message(locale))),
                ),
            }
        }
        if problems.is_empty() {
            Ok(catalogue)
        } else {
            Err(problems)
        }
    }

    /// The named request.
    pub fn get(&self, id: &str) -> Option<&CompiledRequest> {
        self.requests.get(id)
    }

    /// The definition of a named request, as configured.
    pub fn definition_of(&self, id: &str) -> Option<&Value> {
        self.definitions.get(id)
    }

    /// The ids of the named requests.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.requests.keys().map(String::as_str)
    }

    /// Compiles one definition: the request's terms, with recipients named
    /// by their configured id. The operator's identity and each recipient's
    /// come from configuration; a definition that tries to set them is
    /// refused, not overridden silently.
    pub fn compile_one(
        &self,
        definition: &Value,
    ) -> Result<CompiledRequest, Vec<DefinitionProblem>> {
        let mut problems = Vec::new();
        let Value::Object(terms) = definition else {
            return Err(vec![DefinitionProblem::new(
                "wrong_type",
                "",
                "同意リクエストの定義はオブジェクトで指定してください。",
                "A request definition must be an object.",
            )]);
        };
        let mut full: Map<String, Value> = terms.clone();
        if full.remove("operator").is_some() {
            problems.push(DefinitionProblem::new(
                "operator_from_configuration",
                "operator",
                "事業者の名称・連絡先・承認番号は、設定の operator から取られます。リクエストには書けません。",
                "The operator's identity comes from the configuration's operator entry; a request cannot set it.",
            ));
        }
        if full.remove("locale").is_some() {
            problems.push(DefinitionProblem::new(
                "locale_from_citizen",
                "locale",
                "言語は、画面を読む人の言語が使われます。リクエストには書けません。",
                "The locale is the citizen's; a request cannot set it.",
            ));
        }
        // The retention in days belongs to the backend (it purges by it);
        // the citizen reads the `retention` text, which must say the same.
        let retention_days = match full.remove("retentionDays") {
            None => None,
            Some(Value::Number(n))
                if n.as_u64()
                    .is_some_and(|d| (1..=MAX_RETENTION_DAYS).contains(&d)) =>
            {
                n.as_u64().and_then(|d| u32::try_from(d).ok())
            }
            Some(_) => {
                problems.push(DefinitionProblem::new(
                    "invalid_retention_days",
                    "retentionDays",
                    "取得したデータを保存する日数（retentionDays）は、1から36500までの整数で指定してください。",
                    "retentionDays (how many days retrieved data is kept after the consent ends) must be a whole number from 1 to 36500.",
                ));
                None
            }
        };
        if full.get("preview") == Some(&Value::Bool(true)) && self.mode != Mode::Sandbox {
            problems.push(DefinitionProblem::new(
                "preview_not_allowed",
                "preview",
                "まだ提供されていない項目（preview）は、サンドボックスでだけ使えます。",
                "Items not offered yet (preview) are admitted in sandbox mode only.",
            ));
        }
        let mut recipient_ids = Vec::new();
        if let Some(Value::Array(entries)) = full.get("recipients").cloned() {
            let mut expanded = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                match self.expand_recipient(i, entry) {
                    Ok((id, recipient)) => {
                        recipient_ids.push(id);
                        expanded.push(recipient);
                    }
                    Err(problem) => {
                        problems.push(problem);
                        expanded.push(entry.clone());
                    }
                }
            }
            full.insert("recipients".into(), Value::Array(expanded));
        }
        full.insert(
            "operator".into(),
            serde_json::to_value(&self.identity).unwrap_or(Value::Null),
        );
        // A field already reported (e.g. an unknown recipient) gets no
        // second, derived complaint; the operator's identity is checked once,
        // on its own, by `compile`.
        let mut reported: Vec<String> = problems
            .iter()
            .map(|p| match p.field.split_once('.') {
                Some((head, _)) if head.starts_with("recipients[") => head.to_owned(),
                _ => p.field.clone(),
            })
            .collect();
        reported.push("operator".into());
        match request::parse(&Value::Object(full)) {
            Ok(valid) if problems.is_empty() => Ok(CompiledRequest {
                valid: valid.with_locale(Locale::Ja),
                recipient_ids,
                retention_days,
            }),
            Ok(_) => Err(problems),
            Err(errors) => {
                problems.extend(
                    errors
                        .iter()
                        .filter(|e| !reported.iter().any(|r| e.field.starts_with(r.as_str())))
                        .map(|e| {
                            DefinitionProblem::new(
                                e.code(),
                                e.field.clone(),
                                e.message(Locale::Ja),
                                e.message(Locale::En),
                            )
                        }),
                );
                if problems.is_empty() {
                    // Only the operator's identity is wrong, which `compile`
                    // reports once.
                    return Err(vec![DefinitionProblem::new(
                        "invalid_operator",
                        "operator",
                        "設定の operator に問題があります。",
                        "The configuration's operator entry is invalid.",
                    )]);
                }
                Err(problems)
            }
        }
    }

    /// `{id, purposeCategory, purpose}` → the full recipient.
    fn expand_recipient(
        &self,
        i: usize,
        entry: &Value,
    ) -> Result<(String, Value), DefinitionProblem> {
        let at = |name: &str| format!("recipients[{i}].{name}");
        let Value::Object(map) = entry else {
            return Err(DefinitionProblem::new(
                "wrong_type",
                format!("recipients[{i}]"),
                "提供先はオブジェクトで指定してください。",
                "A recipient must be an object.",
            ));
        };
        for key in ["name", "contact", "privacyPolicyUrl", "approvalId"] {
            if map.contains_key(key) {
                return Err(DefinitionProblem::new(
                    "recipient_from_configuration",
                    at(key),
                    "提供先の名称・連絡先・プライバシーポリシー・承認番号は、設定の recipients から取られます。id で指定してください。",
                    "A recipient's identity comes from the configuration's recipients; name it by id.",
                ));
            }
        }
        let Some(id) = map.get("id").and_then(Value::as_str) else {
            return Err(DefinitionProblem::new(
                "required",
                at("id"),
                "設定の recipients にある提供先の id を指定してください。",
                "Name the recipient by its id in the configuration's recipients.",
            ));
        };
        let Some(known) = self.recipients.get(id) else {
            return Err(DefinitionProblem::new(
                "unknown_recipient",
                at("id"),
                format!("「{id}」という提供先は設定の recipients にありません。"),
                format!("There is no recipient \"{id}\" in the configuration's recipients."),
            ));
        };
        let mut full = map.clone();
        full.remove("id");
        full.insert("name".into(), known.name.clone().into());
        full.insert("contact".into(), known.contact.clone().into());
        full.insert(
            "privacyPolicyUrl".into(),
            known.privacy_policy_url.clone().into(),
        );
        if let Some(approval_id) = &known.approval_id {
            full.insert("approvalId".into(), approval_id.clone().into());
        }
        Ok((id.to_owned(), Value::Object(full)))
    }
}

/// The problems of the operator's identity alone: checked with the
/// request rules, against terms that meet every rule.
fn identity_problems(identity: &OperatorIdentity) -> Vec<request::ValidationError> {
    let probe = json!({
        "operator": identity,
        "items": { "required": ["self.tax_income"] },
        "purposes": [{ "category": "serviceProvision", "description": "確認" }],
        "period": { "kind": "oneTime" },
        "retention": "削除します。"
    });
    match request::parse(&probe) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(mode: Mode) -> RequestCatalogue {
        let identity = OperatorIdentity {
            name: "つなぐヘルスプラットフォーム株式会社".into(),
            contact: "help@tsunagu.example.jp".into(),
            privacy_policy_url: "https://tsunagu.example.jp/privacy".into(),
            approval_id: "MPA-2025-1010".into(),
        };
        let recipients = BTreeMap::from([(
            "yuyu".to_owned(),
            RecipientIdentity {
                name: "ゆうゆう健康アプリ株式会社".into(),
                contact: "03-0000-2222".into(),
                privacy_policy_url: "https://yuyu.example.jp/privacy".into(),
                approval_id: None,
            },
        )]);
        RequestCatalogue::compile(&identity, &BTreeMap::new(), recipients, mode, Locale::En)
            .expect("empty catalogue")
    }

    fn definition() -> Value {
        json!({
            "items": { "required": ["insurance.checkups"] },
            "purposes": [{ "category": "healthManagement", "description": "健診の結果を表示します。" }],
            "period": { "kind": "linkage", "days": 30 },
            "recipients": [{ "id": "yuyu", "purposeCategory": "healthManagement", "purpose": "生活習慣のアドバイス" }],
            "retention": "30日以内に削除します。"
        })
    }

    #[test]
    fn expands_recipients_from_configuration() {
        let compiled = catalogue(Mode::Production)
            .compile_one(&definition())
            .expect("valid");
        let request = compiled.valid.request();
        assert_eq!(request.operator.approval_id, "MPA-2025-1010");
        assert_eq!(request.recipients[0].contact, "03-0000-2222");
        assert_eq!(compiled.recipient_ids, ["yuyu"]);
        assert_eq!(compiled.for_locale(Locale::En).request().locale, Locale::En);
    }

    #[test]
    fn retention_days_are_read_apart_from_the_terms_and_checked() {
        let mut stated = definition();
        stated["retentionDays"] = 30.into();
        let compiled = catalogue(Mode::Production)
            .compile_one(&stated)
            .expect("valid");
        assert_eq!(compiled.retention_days, Some(30));
        assert_eq!(
            catalogue(Mode::Production)
                .compile_one(&definition())
                .expect("valid")
                .retention_days,
            None,
            "not stated: nothing is purged"
        );
        for bad in [json!(0), json!(-1), json!(36_501), json!("30"), json!(1.5)] {
            let mut wrong = definition();
            wrong["retentionDays"] = bad.clone();
            let problems = catalogue(Mode::Production)
                .compile_one(&wrong)
                .expect_err("refused");
            assert_eq!(
                (problems[0].code.as_str(), problems[0].field.as_str()),
                ("invalid_retention_days", "retentionDays"),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_unknown_recipients_and_inline_identities() {
        let mut unknown = definition();
        unknown["recipients"][0]["id"] = "nobody".into();
        let problems = catalogue(Mode::Production)
            .compile_one(&unknown)
            .expect_err("unknown");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, "unknown_recipient");
        assert_eq!(problems[0].field, "recipients[0].id");

        let mut inline = definition();
        inline["recipients"][0]["name"] = "偽の提供先".into();
        let problems = catalogue(Mode::Production)
            .compile_one(&inline)
            .expect_err("inline");
        assert_eq!(problems[0].code, "recipient_from_configuration");
    }

    #[test]
    fn reports_the_domain_rules_with_the_definition_paths() {
        let mut bad = definition();
        bad["retention"] = "30日\t以内".into();
        bad["recipients"][0]["purposeCategory"] = "advertising".into();
        let problems = catalogue(Mode::Production)
            .compile_one(&bad)
            .expect_err("invalid");
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.code.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "advertising_with_health_data",
                    "recipients[0].purposeCategory"
                ),
                ("control_character", "retention"),
            ]
        );
    }
}
