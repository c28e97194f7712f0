//! Log timestamps: the two shapes we read and write, and their ISO 8601 form.
//!
//! Both shapes have a fixed width, so they are converted with tables instead of
//! `chrono`'s format strings: that is the difference between ~1 µs and ~50 ns a
//! line (DESIGN.md §6).

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Serialize, Serializer};
use thiserror::Error;

/// When a request was logged.
///
/// The original system's logs carry the worker's local wall-clock time with no
/// offset; web servers' combined logs carry an offset. We keep whichever we got
/// rather than invent a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogTime {
    /// `Jan 21 2026, 22:23:40`, normalised to `2026-01-21T22:23:40`.
    Naive(NaiveDateTime),
    /// `21/Jan/2026:22:23:40 +0100`, normalised to `2026-01-21T22:23:40+01:00`.
    Offset(DateTime<FixedOffset>),
}

/// Width of `Jan 21 2026, 22:23:40`.
pub const ORIGINAL_WIDTH: usize = 21;
/// Width of `21/Jan/2026:22:23:40 +0100`.
pub const COMMON_WIDTH: usize = 26;
/// Width of `2026-01-21T22:23:40`, ISO 8601 before its offset.
pub const ISO_WIDTH: usize = 19;

/// Why a timestamp was rejected. Positions are byte offsets inside the timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimestampError {
    #[error("expected {expected} ({width} characters), found {found:?}")]
    Shape {
        expected: &'static str,
        width: usize,
        found: String,
    },
    #[error("expected {what} at character {at}, found {found:?}")]
    Unexpected {
        what: &'static str,
        at: usize,
        found: String,
    },
    #[error("{0:?} is not a month name (Jan, Feb, ..., Dec)")]
    UnknownMonth(String),
    #[error("{year:04}-{month:02}-{day:02} is not a date")]
    ImpossibleDate { year: i32, month: u32, day: u32 },
    #[error("{hour:02}:{minute:02}:{second:02} is not a time of day")]
    ImpossibleTime { hour: u32, minute: u32, second: u32 },
    #[error("offset {0:?} is out of range")]
    ImpossibleOffset(String),
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

impl LogTime {
    /// Parses the original system's `%b %d %Y, %H:%M:%S`, e.g. `Jan 21 2026, 22:23:40`.
    pub fn parse_original(text: &str) -> Result<Self, TimestampError> {
        match original_at_a_glance(text.as_bytes()) {
            Some(t) => Ok(LogTime::Naive(t)),
            None => Self::original_step_by_step(text),
        }
    }

    /// [`parse_original`](Self::parse_original) one field at a time, so that
    /// an error names the first thing wrong.
    fn original_step_by_step(text: &str) -> Result<Self, TimestampError> {
        if text.len() != ORIGINAL_WIDTH {
            return Err(shape("`Mon DD YYYY, HH:MM:SS`", ORIGINAL_WIDTH, text));
        }
        let month = month(text, 0)?;
        literal(text, 3, b" ")?;
        let day = digits(text, 4, 2)?;
        literal(text, 6, b" ")?;
        let year = digits(text, 7, 4)? as i32;
        literal(text, 11, b", ")?;
        let time = time_of_day(text, 13)?;
        Ok(LogTime::Naive(date(year, month, day)?.and_time(time)))
    }

    /// Parses the Common/Combined Log Format's `%d/%b/%Y:%H:%M:%S %z`,
    /// e.g. `10/Oct/2000:13:55:36 -0700`.
    pub fn parse_common(text: &str) -> Result<Self, TimestampError> {
        match common_at_a_glance(text.as_bytes()) {
            Some(t) => Ok(LogTime::Offset(t)),
            None => Self::common_step_by_step(text),
        }
    }

    /// [`parse_common`](Self::parse_common) one field at a time, so that
    /// an error names the first thing wrong.
    fn common_step_by_step(text: &str) -> Result<Self, TimestampError> {
        let b = text.as_bytes();
        if b.len() != COMMON_WIDTH {
            return Err(shape("`DD/Mon/YYYY:HH:MM:SS +ZZZZ`", COMMON_WIDTH, text));
        }
        let day = digits(text, 0, 2)?;
        literal(text, 2, b"/")?;
        let month = month(text, 3)?;
        literal(text, 6, b"/")?;
        let year = digits(text, 7, 4)? as i32;
        literal(text, 11, b":")?;
        let time = time_of_day(text, 12)?;
        literal(text, 20, b" ")?;
        let sign = match b[21] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(unexpected("`+` or `-`", text, 21, 1)),
        };
        let hours = digits(text, 22, 2)? as i32;
        let minutes = digits(text, 24, 2)? as i32;
        let offset = (minutes < 60)
            .then(|| FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)))
            .flatten()
            .ok_or_else(|| TimestampError::ImpossibleOffset(text[21..].to_owned()))?;
        let local = date(year, month, day)?.and_time(time);
        let stamped = local
            .and_local_timezone(offset)
            .single()
            .ok_or_else(|| TimestampError::ImpossibleOffset(text[21..].to_owned()))?;
        Ok(LogTime::Offset(stamped))
    }

    /// Parses ISO 8601 as NGINX's `$time_iso8601` writes it,
    /// `2026-01-21T22:23:40+00:00` (also `Z`, `+0000`, or no offset at all,
    /// which is then a naive time): the inverse of [`write_iso`](Self::write_iso).
    pub fn parse_iso8601(text: &str) -> Result<Self, TimestampError> {
        let b = text.as_bytes();
        if b.len() < ISO_WIDTH {
            return Err(shape("`YYYY-MM-DDTHH:MM:SS+hh:mm`", ISO_WIDTH + 6, text));
        }
        let year = digits(text, 0, 4)? as i32;
        literal(text, 4, b"-")?;
        let month = digits(text, 5, 2)?;
        literal(text, 7, b"-")?;
        let day = digits(text, 8, 2)?;
        literal(text, 10, b"T")?;
        let time = time_of_day(text, 11)?;
        let local = date(year, month, day)?.and_time(time);
        let zone = &text[ISO_WIDTH..];
        let seconds_east = match zone.as_bytes() {
            [] => return Ok(LogTime::Naive(local)),
            b"Z" => 0,
            [sign @ (b'+' | b'-'), ..] if matches!(zone.len(), 5 | 6) => {
                let minutes_at = if zone.len() == 6 {
                    literal(text, ISO_WIDTH + 3, b":")?;
                    4
                } else {
                    3
                };
                let hours = digits(text, ISO_WIDTH + 1, 2)? as i32;
                let minutes = digits(text, ISO_WIDTH + minutes_at, 2)? as i32;
                if minutes >= 60 {
                    return Err(TimestampError::ImpossibleOffset(zone.to_owned()));
                }
                let sign = if *sign == b'-' { -1 } else { 1 };
                sign * (hours * 3600 + minutes * 60)
            }
            _ => return Err(unexpected("an offset `+hh:mm` or `Z`", text, ISO_WIDTH, 6)),
        };
        FixedOffset::east_opt(seconds_east)
            .and_then(|offset| local.and_local_timezone(offset).single())
            .map(LogTime::Offset)
            .ok_or_else(|| TimestampError::ImpossibleOffset(zone.to_owned()))
    }

    /// Parses whichever of the two shapes `text` has.
    pub fn parse_any(text: &str) -> Result<Self, TimestampError> {
        if text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
            Self::parse_original(text)
        } else {
            Self::parse_common(text)
        }
    }

    /// The wall-clock time as logged, whatever the offset.
    pub fn local(&self) -> NaiveDateTime {
        match self {
            LogTime::Naive(t) => *t,
            LogTime::Offset(t) => t.naive_local(),
        }
    }

    /// Appends the original system's rendering, `Jan 21 2026, 22:23:40`.
    /// An offset is dropped: the original format has no place for it.
    pub fn write_original(&self, out: &mut Vec<u8>) {
        let t = self.local();
        out.extend_from_slice(MONTHS[t.month0() as usize]);
        out.push(b' ');
        push2(out, t.day());
        out.push(b' ');
        push_year(out, t.year());
        out.extend_from_slice(b", ");
        push_hms(out, t.time());
    }

    /// Appends the Common Log Format rendering, `21/Jan/2026:22:23:40 +0100`.
    /// A naive time is written as UTC (`+0000`).
    pub fn write_common(&self, out: &mut Vec<u8>) {
        let (t, offset) = match self {
            LogTime::Naive(t) => (*t, 0),
            LogTime::Offset(t) => (t.naive_local(), t.offset().local_minus_utc()),
        };
        push2(out, t.day());
        out.push(b'/');
        out.extend_from_slice(MONTHS[t.month0() as usize]);
        out.push(b'/');
        push_year(out, t.year());
        out.push(b':');
        push_hms(out, t.time());
        out.push(b' ');
        push_offset(out, offset, false);
    }

    /// Appends the normalised ISO 8601 form: `2026-01-21T22:23:40` for naive
    /// times, exactly as the original system's `isoformat()`, and RFC 3339
    /// `2026-01-21T22:23:40+01:00` when an offset is known.
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        let t = self.local();
        // Filled in place and appended once: the indexer writes one per document.
        let mut iso = *b"0000-00-00T00:00:00";
        put2(&mut iso[5..], t.month());
        put2(&mut iso[8..], t.day());
        put2(&mut iso[11..], t.hour());
        put2(&mut iso[14..], t.minute());
        put2(&mut iso[17..], t.second());
        match u32::try_from(t.year()) {
            Ok(year) if year <= 9999 => {
                put2(&mut iso[..], year / 100);
                put2(&mut iso[2..], year % 100);
                out.extend_from_slice(&iso);
            }
            _ => {
                push_year(out, t.year());
                out.extend_from_slice(&iso[4..]);
            }
        }
        if let LogTime::Offset(t) = self {
            push_offset(out, t.offset().local_minus_utc(), true);
        }
    }

    /// The normalised ISO 8601 form as a `String`.
    pub fn to_iso(&self) -> String {
        let mut out = Vec::with_capacity(25);
        self.write_iso(&mut out);
        // Only ASCII digits and separators were written.
        String::from_utf8(out).unwrap_or_default()
    }
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for LogTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::with_capacity(25);
        self.write_iso(&mut buf);
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

fn shape(expected: &'static str, width: usize, found: &str) -> TimestampError {
    TimestampError::Shape {
        expected,
        width,
        found: found.to_owned(),
    }
}

/// `text[at..at + len]`, or as much of it as exists, for error messages.
fn snippet(text: &str, at: usize, len: usize) -> String {
    let bytes = text.as_bytes();
    let end = (at + len).min(bytes.len());
    String::from_utf8_lossy(&bytes[at.min(end)..end]).into_owned()
}

fn unexpected(what: &'static str, text: &str, at: usize, len: usize) -> TimestampError {
    TimestampError::Unexpected {
        what,
        at,
        found: snippet(text, at, len),
    }
}

fn literal(text: &str, at: usize, expected: &'static [u8]) -> Result<(), TimestampError> {
    if text.as_bytes()[at..].starts_with(expected) {
        Ok(())
    } else {
        let what = match expected {
            b" " => "a space",
            b"-" => "`-`",
            b"T" => "`T`",
            b", " => "`, `",
            b"/" => "`/`",
            b":" => "`:`",
            _ => "a separator",
        };
        Err(unexpected(what, text, at, expected.len()))
    }
}

fn digits(text: &str, at: usize, len: usize) -> Result<u32, TimestampError> {
    let field = &text.as_bytes()[at..at + len];
    if !field.iter().all(u8::is_ascii_digit) {
        let what = if len == 4 { "4 digits" } else { "2 digits" };
        return Err(unexpected(what, text, at, len));
    }
    Ok(field.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn month(text: &str, at: usize) -> Result<u32, TimestampError> {
    let name = &text.as_bytes()[at..at + 3];
    MONTHS
        .iter()
        .position(|m| m.as_slice() == name)
        .map(|i| i as u32 + 1)
        .ok_or_else(|| TimestampError::UnknownMonth(snippet(text, at, 3)))
}

/// `HH:MM:SS` starting at `at`.
fn time_of_day(text: &str, at: usize) -> Result<NaiveTime, TimestampError> {
    let hour = digits(text, at, 2)?;
    literal(text, at + 2, b":")?;
    let minute = digits(text, at + 3, 2)?;
    literal(text, at + 5, b":")?;
    let second = digits(text, at + 6, 2)?;
    NaiveTime::from_hms_opt(hour, minute, second).ok_or(TimestampError::ImpossibleTime {
        hour,
        minute,
        second,
    })
}

fn date(year: i32, month: u32, day: u32) -> Result<NaiveDate, TimestampError> {
    NaiveDate::from_ymd_opt(year, month, day).ok_or(TimestampError::ImpossibleDate {
        year,
        month,
        day,
    })
}

/// The usual `Mon DD YYYY, HH:MM:SS` in one look: separators and digits
/// where they belong, a month name, a date and a time that exist. `None`
/// for anything else, which the step-by-step reading then names.
fn original_at_a_glance(b: &[u8]) -> Option<NaiveDateTime> {
    let b: &[u8; ORIGINAL_WIDTH] = b.try_into().ok()?;
    if [b[3], b[6], b[11], b[12], b[15], b[18]] != *b"  , ::" {
        return None;
    }
    let pair = |at: usize| {
        let (tens, units) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
        (tens < 10 && units < 10).then(|| u32::from(tens) * 10 + u32::from(units))
    };
    let month = MONTHS.iter().position(|m| **m == [b[0], b[1], b[2]])? as u32 + 1;
    let year = pair(7)? * 100 + pair(9)?;
    NaiveDate::from_ymd_opt(year as i32, month, pair(4)?)?.and_hms_opt(
        pair(13)?,
        pair(16)?,
        pair(19)?,
    )
}

/// The usual `DD/Mon/YYYY:HH:MM:SS +ZZZZ` in one look, as
/// [`original_at_a_glance`] does for the original's shape: half the time of
/// the step-by-step reading, which combined lines spend most of their
/// parse in. `None` for anything else, which the step-by-step reading then
/// names.
fn common_at_a_glance(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let b: &[u8; COMMON_WIDTH] = b.try_into().ok()?;
    if [b[2], b[6], b[11], b[14], b[17], b[20]] != *b"//::: " {
        return None;
    }
    let pair = |at: usize| {
        let (tens, units) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
        (tens < 10 && units < 10).then(|| u32::from(tens) * 10 + u32::from(units))
    };
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = (pair(22)?, pair(24)?);
    if minutes >= 60 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32)?;
    let month = MONTHS.iter().position(|m| **m == [b[3], b[4], b[5]])? as u32 + 1;
    let year = pair(7)? * 100 + pair(9)?;
    let local = NaiveDate::from_ymd_opt(year as i32, month, pair(0)?)?.and_hms_opt(
        pair(12)?,
        pair(15)?,
        pair(18)?,
    )?;
    local.and_local_timezone(offset).single()
}

/// Writes `n` (below 100) as two digits at the start of `out`.
fn put2(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

fn push2(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]);
}

fn push_year(out: &mut Vec<u8>, year: i32) {
    if (0..=9999).contains(&year) {
        push2(out, year as u32 / 100);
        push2(out, year as u32 % 100);
    } else {
        // Outside what either log format can carry; written in full so that
        // nothing is silently truncated (and the parser then rejects it).
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    }
}

fn push_hms(out: &mut Vec<u8>, t: NaiveTime) {
    push2(out, t.hour());
    out.push(b':');
    push2(out, t.minute());
    out.push(b':');
    push2(out, t.second());
}

/// `+hhmm` (logs) or `+hh:mm` (RFC 3339). Log offsets have whole minutes.
fn push_offset(out: &mut Vec<u8>, seconds_east: i32, colon: bool) {
    out.push(if seconds_east < 0 { b'-' } else { b'+' });
    let minutes = seconds_east.unsigned_abs() / 60;
    push2(out, minutes / 60);
    if colon {
        out.push(b':');
    }
    push2(out, minutes % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn original_is_normalised_as_the_original_system_did() {
        let t = LogTime::parse_original("Jan 21 2026, 22:23:40").unwrap();
        assert_eq!(t, LogTime::Naive(naive("2026-01-21T22:23:40")));
        assert_eq!(t.to_iso(), "2026-01-21T22:23:40");
    }

    #[test]
    fn original_agrees_with_chrono_format_strings_for_every_month() {
        for (i, m) in MONTHS.iter().enumerate() {
            let text = format!("{} 09 1999, 00:00:59", std::str::from_utf8(*m).unwrap());
            let expected = NaiveDateTime::parse_from_str(&text, "%b %d %Y, %H:%M:%S").unwrap();
            assert_eq!(LogTime::parse_original(&text).unwrap().local(), expected);
            assert_eq!(expected.month0() as usize, i);
        }
    }

    /// The one-look reading takes exactly what the step-by-step one takes,
    /// and reads it the same: every byte of a stamp replaced by characters
    /// of each kind, over dates around month ends and leap days.
    #[test]
    fn at_a_glance_agrees_with_step_by_step() {
        let stamps = [
            "Jan 21 2026, 22:23:40",
            "Feb 29 2024, 00:00:00",
            "Feb 29 2026, 23:59:59",
            "Apr 31 2026, 12:00:00",
            "Dec 31 9999, 23:59:60",
            "Jun 00 0000, 24:00:00",
        ];
        let mut checked = 0;
        for stamp in stamps {
            for at in 0..stamp.len() {
                for c in [
                    "0", "1", "2", "3", "6", "9", " ", ",", ":", "J", "a", "/", "é",
                ] {
                    let mut text = stamp.to_owned();
                    text.replace_range(at..at + 1, c);
                    let step_by_step = LogTime::original_step_by_step(&text).ok();
                    let glance = original_at_a_glance(text.as_bytes()).map(LogTime::Naive);
                    assert_eq!(glance, step_by_step, "{text:?}");
                    checked += usize::from(glance.is_some());
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} valid stamps among the variants"
        );
    }

    #[test]
    fn common_at_a_glance_agrees_with_step_by_step() {
        let stamps = [
            "10/Oct/2000:13:55:36 -0700",
            "29/Feb/2024:23:59:59 +1400",
            "01/Jan/0001:00:00:00 +0000",
            "31/Dec/9999:23:59:59 -2359",
        ];
        let mut checked = 0;
        for stamp in stamps {
            for at in 0..stamp.len() {
                for c in [
                    "0", "1", "2", "3", "5", "6", "9", " ", "+", "-", ":", "O", "c", "/", "é",
                ] {
                    let mut text = stamp.to_owned();
                    text.replace_range(at..at + 1, c);
                    let step_by_step = LogTime::common_step_by_step(&text).ok();
                    let glance = common_at_a_glance(text.as_bytes()).map(LogTime::Offset);
                    assert_eq!(glance, step_by_step, "{text:?}");
                    assert_eq!(
                        glance.map(|t| t.to_iso()),
                        step_by_step.map(|t| t.to_iso()),
                        "{text:?}"
                    );
                    checked += usize::from(glance.is_some());
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} valid stamps among the variants"
        );
    }

    #[test]
    fn iso_of_years_beyond_four_digits_is_written_in_full() {
        let t = LogTime::Naive(naive("2026-01-21T22:23:40").with_year(12026).unwrap());
        assert_eq!(t.to_iso(), "12026-01-21T22:23:40");
        let t = LogTime::Naive(naive("0007-03-04T05:06:07"));
        assert_eq!(t.to_iso(), "0007-03-04T05:06:07");
    }

    #[test]
    fn common_keeps_its_offset_in_rfc3339_form() {
        let t = LogTime::parse_common("10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t.to_iso(), "2000-10-10T13:55:36-07:00");
        let t = LogTime::parse_common("01/Feb/2024:00:00:00 +0000").unwrap();
        assert_eq!(t.to_iso(), "2024-02-01T00:00:00+00:00");
        let t = LogTime::parse_common("01/Feb/2024:00:00:00 +0530").unwrap();
        assert_eq!(t.to_iso(), "2024-02-01T00:00:00+05:30");
    }

    #[test]
    fn impossible_dates_and_times_are_errors() {
        assert_eq!(
            LogTime::parse_original("Feb 30 2026, 10:00:00"),
            Err(TimestampError::ImpossibleDate {
                year: 2026,
                month: 2,
                day: 30
            })
        );
        assert_eq!(
            LogTime::parse_original("Foo 01 2026, 10:00:00"),
            Err(TimestampError::UnknownMonth("Foo".into()))
        );
        assert_eq!(
            LogTime::parse_original("Jan 01 2026, 25:00:00"),
            Err(TimestampError::ImpossibleTime {
                hour: 25,
                minute: 0,
                second: 0
            })
        );
        assert!(matches!(
            LogTime::parse_original("Jan 01 2026, 23:59:60"),
            Err(TimestampError::ImpossibleTime { second: 60, .. })
        ));
        assert!(LogTime::parse_original("Feb 29 2024, 10:00:00").is_ok());
        assert!(LogTime::parse_original("Feb 29 2026, 10:00:00").is_err());
        assert!(LogTime::parse_common("31/Apr/2026:10:00:00 +0000").is_err());
        assert!(matches!(
            LogTime::parse_common("01/Apr/2026:10:00:00 +0099"),
            Err(TimestampError::ImpossibleOffset(_))
        ));
    }

    #[test]
    fn errors_say_where() {
        let err = LogTime::parse_original("Jan 2x 2026, 10:00:00").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 2 digits at character 4, found \"2x\""
        );
        let err = LogTime::parse_original("Jan 21 2026 10:00:00").unwrap_err();
        assert!(err.to_string().contains("21 characters"), "{err}");
        let err = LogTime::parse_common("10/Oct/2000 13:55:36 -0700").unwrap_err();
        assert_eq!(err.to_string(), "expected `:` at character 11, found \" \"");
    }

    #[test]
    fn writers_round_trip() {
        for text in ["Jan 21 2026, 22:23:40", "Dec 31 0999, 00:00:00"] {
            let t = LogTime::parse_original(text).unwrap();
            let mut out = Vec::new();
            t.write_original(&mut out);
            assert_eq!(out, text.as_bytes());
        }
        let text = "10/Oct/2000:13:55:36 -0700";
        let t = LogTime::parse_common(text).unwrap();
        let mut out = Vec::new();
        t.write_common(&mut out);
        assert_eq!(out, text.as_bytes());
    }

    #[test]
    fn non_ascii_input_is_an_error_not_a_panic() {
        assert!(LogTime::parse_original("Jän 21 2026, 22:23:4").is_err());
        assert!(LogTime::parse_common("10/Oct/2000:13:55:36 -07é").is_err());
    }

    #[test]
    fn iso8601_as_nginx_writes_it() {
        let t = LogTime::parse_iso8601("2026-01-21T22:23:40+00:00").unwrap();
        assert_eq!(t.to_iso(), "2026-01-21T22:23:40+00:00");
        let t = LogTime::parse_iso8601("2000-10-10T13:55:36-07:00").unwrap();
        assert_eq!(
            t,
            LogTime::parse_common("10/Oct/2000:13:55:36 -0700").unwrap()
        );
        assert_eq!(t.to_iso(), "2000-10-10T13:55:36-07:00");
        let t = LogTime::parse_iso8601("2024-02-01T00:00:00+0530").unwrap();
        assert_eq!(t.to_iso(), "2024-02-01T00:00:00+05:30");
        let t = LogTime::parse_iso8601("2024-02-01T00:00:00Z").unwrap();
        assert_eq!(t.to_iso(), "2024-02-01T00:00:00+00:00");
        let t = LogTime::parse_iso8601("2026-01-21T22:23:40").unwrap();
        assert_eq!(t, LogTime::Naive(naive("2026-01-21T22:23:40")));
        for text in ["2026-01-21T22:23:40+00:00", "2026-01-21T22:23:40"] {
            assert_eq!(LogTime::parse_iso8601(text).unwrap().to_iso(), text);
        }
    }

    #[test]
    fn iso8601_errors_say_where() {
        let err = LogTime::parse_iso8601("2026-01-21 22:23:40+00:00").unwrap_err();
        assert_eq!(err.to_string(), "expected `T` at character 10, found \" \"");
        let err = LogTime::parse_iso8601("2026-13-21T22:23:40+00:00").unwrap_err();
        assert_eq!(err.to_string(), "2026-13-21 is not a date");
        assert!(LogTime::parse_iso8601("2026-01-21T22:23:40+00:99").is_err());
        assert!(LogTime::parse_iso8601("2026-01-21T22:23:40 00:00").is_err());
        assert!(LogTime::parse_iso8601("2026-01-21T22:23:40+00:0").is_err());
        assert!(LogTime::parse_iso8601("2026-01-21").is_err());
        assert!(LogTime::parse_iso8601("2026-01-21T22:23:40+0é:00").is_err());
    }

    #[test]
    fn serializes_as_iso_string() {
        let t = LogTime::parse_original("Jan 21 2026, 22:23:40").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-01-21T22:23:40\""
        );
    }
}
