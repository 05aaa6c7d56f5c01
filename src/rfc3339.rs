//! RFC 3339 timestamps for serde (`#[serde(with = "crate::rfc3339")]`), as
//! `time::serde::rfc3339` writes and reads them: natively it is that module;
//! in wasm it is the small implementation below, which spares the browser
//! package the `time` crate's general formatting and parsing (~7 KB gzip).
//! The tests check the two against each other.

#[cfg(not(target_arch = "wasm32"))]
pub use time::serde::rfc3339::{deserialize, serialize};

#[cfg(target_arch = "wasm32")]
pub use own::{deserialize, serialize};

/// `Option<OffsetDateTime>`, `null` for `None`.
pub mod option {
    #[cfg(not(target_arch = "wasm32"))]
    pub use time::serde::rfc3339::option::{deserialize, serialize};

    #[cfg(target_arch = "wasm32")]
    pub use super::own::option::{deserialize, serialize};
}

/// The wasm implementation; compiled everywhere so that native tests can
/// hold it to `time`'s.
#[doc(hidden)]
pub mod own {
    use std::fmt::Write as _;

    use serde::{Deserialize, Deserializer, Serializer};
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

    /// `2026-11-25T09:56:53Z`, `2026-11-25T18:56:53.5+09:00`: the fraction
    /// only when there is one, without trailing zeros; `None` for what RFC
    /// 3339 cannot write (years outside 0–9999, offsets with seconds).
    pub fn format(at: OffsetDateTime) -> Option<String> {
        let offset = at.offset();
        if !(0..=9999).contains(&at.year()) || offset.seconds_past_minute() != 0 {
            return None;
        }
        let mut out = String::with_capacity(35);
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        let nanos = at.nanosecond();
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        if offset.is_utc() {
            out.push('Z');
        } else {
            let sign = if offset.is_negative() { '-' } else { '+' };
            let _ = write!(
                out,
                "{sign}{:02}:{:02}",
                offset.whole_hours().unsigned_abs(),
                offset.minutes_past_hour().unsigned_abs()
            );
        }
        Some(out)
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` for anything
    /// else.
    pub fn parse(text: &str) -> Option<OffsetDateTime> {
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = bytes.get(range)?;
            part.iter().all(u8::is_ascii_digit).then(|| {
                part.iter()
                    .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'))
            })
        };
        let at = |i: usize, allowed: &[u8]| bytes.get(i).is_some_and(|b| allowed.contains(b));
        if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
            return None;
        }
        let month = Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
        let date = Date::from_calendar_date(
            i32::try_from(number(0..4)?).ok()?,
            month,
            u8::try_from(number(8..10)?).ok()?,
        )
        .ok()?;
        let mut rest = 19;
        let mut nanos = 0u32;
        if at(19, b".") {
            let digits = bytes[20..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                return None;
            }
            // Beyond nanoseconds, digits are dropped, as `time` does.
            let kept = digits.min(9);
            nanos = number(20..20 + kept)? * 10u32.pow(9 - kept as u32);
            rest = 20 + digits;
        }
        let time = Time::from_hms_nano(
            u8::try_from(number(11..13)?).ok()?,
            u8::try_from(number(14..16)?).ok()?,
            u8::try_from(number(17..19)?).ok()?,
            nanos,
        )
        .ok()?;
        let offset = match &bytes[rest..] {
            b"Z" | b"z" => UtcOffset::UTC,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let hours = i8::try_from(number(rest + 1..rest + 3)?).ok()?;
                let minutes = i8::try_from(number(rest + 4..rest + 6)?).ok()?;
                if minutes > 59 {
                    return None;
                }
                let sign = if *sign == b'-' { -1 } else { 1 };
                UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
            }
            _ => return None,
        };
        Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
    }

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let text = format(*at).ok_or_else(|| S::Error::custom("not representable in RFC 3339"))?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        use serde::de::Error as _;
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| D::Error::custom("not an RFC 3339 timestamp"))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            use serde::de::Error as _;
            match Option::<String>::deserialize(deserializer)? {
                None => Ok(None),
                Some(text) => super::parse(&text)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom("not an RFC 3339 timestamp")),
            }
        }
    }
}
