//! The browser package's RFC 3339 (src/rfc3339.rs, `own`) writes and reads
//! timestamps exactly as `time::serde::rfc3339` does natively.
#![cfg(not(target_arch = "wasm32"))]

use myna_consent::rfc3339::own;
use proptest::prelude::*;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

fn timestamps() -> impl Strategy<Value = OffsetDateTime> {
    // Years 0000–9999, any nanosecond, whole-minute offsets within ±23:59.
    let seconds = -62_167_219_200i64..253_402_300_799i64;
    let nanos = prop_oneof![
        Just(0u32),
        0u32..1_000_000_000,
        (0u32..1000).prop_map(|ms| ms * 1_000_000)
    ];
    let offset_minutes = prop_oneof![Just(0i32), Just(540), -1439i32..=1439];
    (seconds, nanos, offset_minutes).prop_map(|(seconds, nanos, minutes)| {
        let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap();
        let utc = OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap()
            .replace_nanosecond(nanos)
            .unwrap();
        let local = utc.to_offset(offset);
        // Keep the local year within RFC 3339's four digits.
        if (0..=9999).contains(&local.year()) {
            local
        } else {
            utc
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn writes_what_time_writes(at in timestamps()) {
        prop_assert_eq!(own::format(at), Some(at.format(&Rfc3339).unwrap()));
    }

    #[test]
    fn reads_what_time_writes(at in timestamps()) {
        let text = at.format(&Rfc3339).unwrap();
        let read = own::parse(&text).unwrap();
        prop_assert_eq!(read, at);
        prop_assert_eq!(read.offset(), at.offset());
    }

    #[test]
    fn refuses_what_time_refuses(
        at in timestamps(),
        at_byte in any::<prop::sample::Index>(),
        with in prop::sample::select(vec!['0', '9', 'T', ':', '.', 'Z', '+', '-', ' ', 'x', 'ｘ']),
        cut in any::<bool>(),
    ) {
        // A valid timestamp, damaged at one place: whatever `time` refuses,
        // we refuse, and what it reads we read alike (we may refuse more: a
        // leap second, which no backend sends).
        let mut text = at.format(&Rfc3339).unwrap();
        let i = at_byte.index(text.len());
        if cut { text.truncate(i); } else { text.replace_range(i..=i, &with.to_string()); }
        match OffsetDateTime::parse(&text, &Rfc3339) {
            Err(_) => prop_assert_eq!(own::parse(&text), None, "{}", text),
            Ok(theirs) => {
                if let Some(ours) = own::parse(&text) {
                    prop_assert_eq!(ours, theirs);
                }
            }
        }
    }
}

#[test]
fn examples() {
    let at = own::parse("2026-11-25T18:56:53.120+09:00").unwrap();
    assert_eq!(own::format(at).unwrap(), "2026-11-25T18:56:53.12+09:00");
    assert_eq!(
        own::format(at.to_offset(UtcOffset::UTC)).unwrap(),
        "2026-11-25T09:56:53.12Z"
    );
    assert_eq!(
        own::parse("2026-11-25t09:56:53z"),
        own::parse("2026-11-25T09:56:53Z")
    );
    for bad in [
        "2026-11-25",
        "2026-11-25T09:56:53",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-25T09:56:53.Z",
        "2026-11-25T09:56:53+09:60",
        "2026-11-25T24:00:00Z",
        "２026-11-25T09:56:53Z",
    ] {
        assert_eq!(own::parse(bad), None, "{bad}");
    }
}
