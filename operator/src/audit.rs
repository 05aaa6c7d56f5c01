//! The audit log: one event per grant, retrieval, revocation and key
//! rotation, on the tracing target [`TARGET`], saying who, what and when.
//! It never carries a token, a code, a secret or a retrieved record: only
//! ids, item ids and counts. With `myna-operator`'s JSON logs, each event is
//! one line an SRE can ship to their log store and filter by target.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The tracing target of every audit event.
pub const TARGET: &str = "myna_operator::audit";

fn at(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_default()
}

/// A citizen's consent was granted and recorded.
pub(crate) fn grant(
    now: OffsetDateTime,
    client_id: &str,
    owner: &str,
    consent_id: &str,
    grant_id: Option<&str>,
    items: &[String],
) {
    tracing::info!(
        target: TARGET,
        event = "grant",
        at = %at(now),
        client_id,
        owner,
        consent_id,
        grant_id = grant_id.unwrap_or(""),
        items = %items.join(" "),
        "consent granted"
    );
}

/// A retrieval was started at the authority, by the citizen (`citizen`)
/// or by the linkage's schedule (`schedule`).
pub(crate) fn retrieval_started(
    now: OffsetDateTime,
    client_id: &str,
    owner: &str,
    consent_id: &str,
    retrieval_id: &str,
    items: &[String],
    trigger: &str,
) {
    tracing::info!(
        target: TARGET,
        event = "retrieval_started",
        at = %at(now),
        client_id,
        owner,
        consent_id,
        retrieval_id,
        items = %items.join(" "),
        trigger,
        "retrieval started"
    );
}

/// A retrieval ended (`done`, `error` or `timeout`).
pub(crate) fn retrieval_finished(
    now: OffsetDateTime,
    client_id: &str,
    consent_id: &str,
    retrieval_id: &str,
    status: &str,
    records: u64,
) {
    tracing::info!(
        target: TARGET,
        event = "retrieval_finished",
        at = %at(now),
        client_id,
        consent_id,
        retrieval_id,
        status,
        records,
        "retrieval finished"
    );
}

/// A citizen withdrew a consent; `at_authority` says whether a token was
/// revoked there (a consent whose grant already ended holds none).
pub(crate) fn revocation(
    now: OffsetDateTime,
    client_id: &str,
    owner: &str,
    consent_id: &str,
    at_authority: bool,
) {
    tracing::info!(
        target: TARGET,
        event = "revocation",
        at = %at(now),
        client_id,
        owner,
        consent_id,
        at_authority,
        "consent revoked"
    );
}

/// The sealed values were re-sealed under the key `active_key` (its id,
/// never its bytes): how many of each kind moved (`counts`, by kind name),
/// and how many are still under another key (`left_behind`, zero before
/// the old key may leave the ring).
pub(crate) fn key_rotation(
    now: OffsetDateTime,
    active_key: &str,
    counts: &[(&str, usize)],
    left_behind: usize,
) {
    let resealed = counts
        .iter()
        .map(|(kind, count)| format!("{kind}={count}"))
        .collect::<Vec<_>>()
        .join(" ");
    tracing::info!(
        target: TARGET,
        event = "key_rotation",
        at = %at(now),
        active_key,
        resealed = %resealed,
        resealed_total = counts.iter().map(|(_, count)| count).sum::<usize>(),
        left_behind,
        "sealed values re-sealed under the active key"
    );
}
