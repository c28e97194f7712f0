//! Log timestamps: the two shapes we read and write, and their ISO 8601 form.
//!
//! Both shapes have a fixed width, so they are converted with tables instead of
//! `chrono`'s format strings: that is the difference between ~1 µs and ~50 ns a
//! line (DESIGN.md §6).

use std::fmt;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
};
use serde::{Serialize, Serializer};
use thiserror::Error;

/// When a request was logged: the wall-clock time as the server wrote it,
/// and its offset from UTC when the log gave one.
///
/// The original system's logs carry the worker's local wall-clock time with no
/// offset; web servers' combined logs carry an offset. We keep whichever we got
/// rather than invent a time zone. The calendar fields are kept as read (a
/// date and a time of day that exist, checked once) rather than as chrono's
/// UTC instant: a line's stamp is read and then written again as text, and
/// the trip through an instant and back cost an eighth of what `logpipe
/// parse` spends on a line. Two times are equal when they were logged alike:
/// the same wall-clock time and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogTime {
    local: Civil,
    /// Seconds east of UTC; `None` for a time logged without an offset.
    seconds_east: Option<i32>,
}

/// A date of the proleptic Gregorian calendar and a time of day (no leap
/// second), as fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Civil {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
}

impl LogTime {
    /// 1970-01-01T00:00:00 without an offset: a stand-in until a line's own
    /// time is read.
    pub(crate) const EPOCH: LogTime = LogTime {
        local: Civil {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
        },
        seconds_east: None,
    };
}

impl From<NaiveDateTime> for Civil {
    fn from(t: NaiveDateTime) -> Self {
        // chrono's fields are in range: a month is 1-12, a second 0-59, ...
        Civil {
            year: t.year(),
            month: t.month() as u8,
            day: t.day() as u8,
            hour: t.hour() as u8,
            minute: t.minute() as u8,
            second: t.second() as u8,
            nanos: t.nanosecond(),
        }
    }
}

/// A time logged without an offset (the original system's).
impl From<NaiveDateTime> for LogTime {
    fn from(local: NaiveDateTime) -> Self {
        LogTime {
            local: local.into(),
            seconds_east: None,
        }
    }
}

/// A time logged with its offset (a web server's).
impl From<DateTime<FixedOffset>> for LogTime {
    fn from(t: DateTime<FixedOffset>) -> Self {
        LogTime {
            local: t.naive_local().into(),
            seconds_east: Some(t.offset().local_minus_utc()),
        }
    }
}

/// Width of `Jan 21 2026, 22:23:40`.
pub const ORIGINAL_WIDTH: usize = 21;
/// Width of `21/Jan/2026:22:23:40 +0100`.
pub const COMMON_WIDTH: usize = 26;
/// Width of `2026-01-21T22:23:40`, ISO 8601 before its offset.
pub const ISO_WIDTH: usize = 19;
/// Room for [`LogTime::iso_text`]: a year of up to 11 characters (`i32`,
/// signed), the rest of the date and time, an offset.
pub const ISO_TEXT_CAPACITY: usize = 11 + ISO_WIDTH - 4 + 6;

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
            Some(t) => Ok(t),
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
        Ok(date(year, month, day)?.and_time(time).into())
    }

    /// Parses the Common/Combined Log Format's `%d/%b/%Y:%H:%M:%S %z`,
    /// e.g. `10/Oct/2000:13:55:36 -0700`.
    pub fn parse_common(text: &str) -> Result<Self, TimestampError> {
        match common_at_a_glance(text.as_bytes()) {
            Some(t) => Ok(t),
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
        Ok(stamped.into())
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
            [] => return Ok(local.into()),
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
            .map(LogTime::from)
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

    /// [`parse_any`](Self::parse_any) of a valid timestamp of either
    /// shape, `None` for anything else (whose error `parse_any` then
    /// names): a line's usual case, read without looking for the error.
    pub(crate) fn parse_any_at_a_glance(text: &[u8]) -> Option<Self> {
        if text.first().is_some_and(u8::is_ascii_alphabetic) {
            original_at_a_glance(text)
        } else {
            common_at_a_glance(text)
        }
    }

    /// The wall-clock time as logged, whatever the offset.
    pub fn local(&self) -> NaiveDateTime {
        let t = &self.local;
        NaiveDate::from_ymd_opt(t.year, t.month.into(), t.day.into())
            .and_then(|date| {
                date.and_hms_nano_opt(t.hour.into(), t.minute.into(), t.second.into(), t.nanos)
            })
            .expect("a LogTime holds a date and time chrono can represent")
    }

    /// The offset from UTC in seconds east, if the log gave one.
    pub fn seconds_east(&self) -> Option<i32> {
        self.seconds_east
    }

    /// The instant; a time logged without an offset is taken as UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        let local = self.local().and_utc();
        local - TimeDelta::seconds(self.seconds_east.unwrap_or(0).into())
    }

    /// Appends the original system's rendering, `Jan 21 2026, 22:23:40`.
    /// An offset is dropped: the original format has no place for it.
    pub fn write_original(&self, out: &mut Vec<u8>) {
        let t = &self.local;
        out.extend_from_slice(MONTHS[usize::from(t.month - 1)]);
        out.push(b' ');
        push2(out, t.day.into());
        out.push(b' ');
        push_year(out, t.year);
        out.extend_from_slice(b", ");
        push_hms(out, t);
    }

    /// Appends the Common Log Format rendering, `21/Jan/2026:22:23:40 +0100`.
    /// A naive time is written as UTC (`+0000`).
    pub fn write_common(&self, out: &mut Vec<u8>) {
        let t = &self.local;
        push2(out, t.day.into());
        out.push(b'/');
        out.extend_from_slice(MONTHS[usize::from(t.month - 1)]);
        out.push(b'/');
        push_year(out, t.year);
        out.push(b':');
        push_hms(out, t);
        out.push(b' ');
        push_offset(out, self.seconds_east.unwrap_or(0), false);
    }

    /// Appends the normalised ISO 8601 form: `2026-01-21T22:23:40` for naive
    /// times, exactly as the original system's `isoformat()`, and RFC 3339
    /// `2026-01-21T22:23:40+01:00` when an offset is known.
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        let (text, len) = self.iso_text();
        out.extend_from_slice(&text[..len]);
    }

    /// The [`write_iso`](Self::write_iso) text, filled in place: the first
    /// `len` bytes of the buffer (the indexer writes one per document).
    pub fn iso_text(&self) -> ([u8; ISO_TEXT_CAPACITY], usize) {
        let t = &self.local;
        // The year (four digits for nearly every time), then the rest of
        // the date, the time and the offset after it.
        let mut iso = [0; ISO_TEXT_CAPACITY];
        let year_len = match u32::try_from(t.year) {
            Ok(year) if year <= 9999 => {
                put2(&mut iso[..], year / 100);
                put2(&mut iso[2..], year % 100);
                4
            }
            _ => {
                let mut digits = itoa::Buffer::new();
                let year = digits.format(t.year).as_bytes();
                iso[..year.len()].copy_from_slice(year);
                year.len()
            }
        };
        let rest = &mut iso[year_len..];
        rest[..21].copy_from_slice(b"-00-00T00:00:00+00:00");
        put2(&mut rest[1..], t.month.into());
        put2(&mut rest[4..], t.day.into());
        put2(&mut rest[7..], t.hour.into());
        put2(&mut rest[10..], t.minute.into());
        put2(&mut rest[13..], t.second.into());
        let mut len = year_len + ISO_WIDTH - 4;
        if let Some(seconds_east) = self.seconds_east {
            rest[15] = if seconds_east < 0 { b'-' } else { b'+' };
            let minutes = seconds_east.unsigned_abs() / 60;
            put2(&mut rest[16..], minutes / 60);
            put2(&mut rest[19..], minutes % 60);
            len += 6;
        }
        (iso, len)
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
fn original_at_a_glance(b: &[u8]) -> Option<LogTime> {
    const HEAD: Layout = Layout::of(b"... dd d"); // bytes 0-7
    const YEAR: Layout = Layout::of(b"ddd, dd:"); // bytes 8-15
    const TIME: Layout = Layout::of(b"dd:dd:dd"); // bytes 13-20
    let b: &[u8; ORIGINAL_WIDTH] = b.try_into().ok()?;
    let (head, head_bad) = HEAD.read(word(b, 0));
    let (year, year_bad) = YEAR.read(word(b, 8));
    let (time, time_bad) = TIME.read(word(b, 13));
    if head_bad | year_bad | time_bad != 0 {
        return None;
    }
    let local = Civil::of_a_log(
        digit(head, 7) * 1000 + digit(year, 0) * 100 + pair(year, 1),
        month_number([b[0], b[1], b[2]])?,
        pair(head, 4),
        (pair(time, 0), pair(time, 3), pair(time, 6)),
    )?;
    Some(LogTime {
        local,
        seconds_east: None,
    })
}

/// The usual `DD/Mon/YYYY:HH:MM:SS +ZZZZ` in one look, as
/// [`original_at_a_glance`] does for the original's shape: combined lines
/// spend a good part of their parse here. `None` for anything else, which
/// the step-by-step reading then names.
fn common_at_a_glance(b: &[u8]) -> Option<LogTime> {
    const HEAD: Layout = Layout::of(b"dd/.../d"); // bytes 0-7
    const YEAR: Layout = Layout::of(b"ddd:dd:d"); // bytes 8-15
    const TIME: Layout = Layout::of(b"d:dd .dd"); // bytes 16-23
    const ZONE: Layout = Layout::of(b"dd .dddd"); // bytes 18-25
    let b: &[u8; COMMON_WIDTH] = b.try_into().ok()?;
    let (head, head_bad) = HEAD.read(word(b, 0));
    let (year, year_bad) = YEAR.read(word(b, 8));
    let (time, time_bad) = TIME.read(word(b, 16));
    let (zone, zone_bad) = ZONE.read(word(b, 18));
    if head_bad | year_bad | time_bad | zone_bad != 0 {
        return None;
    }
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (offset_hours, offset_minutes) = (pair(zone, 4), pair(zone, 6));
    // chrono's `FixedOffset` (which the step-by-step reading builds) holds
    // less than a day either way.
    if offset_hours >= 24 || offset_minutes >= 60 {
        return None;
    }
    let local = Civil::of_a_log(
        digit(head, 7) * 1000 + digit(year, 0) * 100 + pair(year, 1),
        month_number([b[3], b[4], b[5]])?,
        pair(head, 0),
        (
            pair(year, 4),
            digit(year, 7) * 10 + digit(time, 0),
            pair(time, 2),
        ),
    )?;
    Some(LogTime {
        local,
        seconds_east: Some(sign * (offset_hours * 3600 + offset_minutes * 60) as i32),
    })
}

/// Eight bytes of a stamp from `at` as one little-endian word (byte `i` in
/// bits `8i..8i + 8`): a stamp is checked and read a word at a time instead
/// of a byte at a time.
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Where a word of a stamp has its digits and its fixed characters.
struct Layout {
    /// 0xff at each digit.
    digits: u64,
    /// 0xff at each fixed character.
    fixed: u64,
    /// The fixed characters in place.
    literal: u64,
}

impl Layout {
    /// From a picture of the word: `d` a digit, `.` any byte (read apart),
    /// anything else that very character.
    const fn of(picture: &[u8; 8]) -> Layout {
        let mut layout = Layout {
            digits: 0,
            fixed: 0,
            literal: 0,
        };
        let mut i = 0;
        while i < 8 {
            let at = 8 * i;
            match picture[i] {
                b'd' => layout.digits |= 0xff << at,
                b'.' => {}
                c => {
                    layout.fixed |= 0xff << at;
                    layout.literal |= (c as u64) << at;
                }
            }
            i += 1;
        }
        layout
    }

    /// The word with each digit byte turned into its value (0-9), and
    /// non-zero if a digit byte holds no digit or a fixed one another
    /// character. A byte `c` is a digit when `c ^ 0x30` is at most 9, i.e.
    /// when neither it nor it plus 6 reaches 16; adding 6 carries into the
    /// next byte only from a byte of 0xfa and up, which has failed already.
    #[inline(always)]
    fn read(&self, w: u64) -> (u64, u64) {
        const EACH: u64 = 0x0101_0101_0101_0101;
        let values = w ^ (self.digits & (0x30 * EACH));
        let high = (values | values.wrapping_add(self.digits & (0x06 * EACH)))
            & self.digits
            & (0xf0 * EACH);
        (values, high | ((w & self.fixed) ^ self.literal))
    }
}

/// The digit at byte `i` of a word [`Layout::read`] gave.
#[inline(always)]
fn digit(values: u64, i: u32) -> u32 {
    (values >> (8 * i)) as u32 & 0xff
}

/// The two-digit number at bytes `i` and `i + 1`.
#[inline(always)]
fn pair(values: u64, i: u32) -> u32 {
    digit(values, i) * 10 + digit(values, i + 1)
}

impl Civil {
    /// The fields of a log's stamp (a year of four digits), if they are a
    /// date that exists and a time of day: what `NaiveDate::from_ymd_opt`
    /// and `NaiveTime::from_hms_opt` check, without chrono's conversion to
    /// a day of the year.
    #[inline(always)]
    fn of_a_log(
        year: u32,
        month: u32,
        day: u32,
        (hour, minute, second): (u32, u32, u32),
    ) -> Option<Civil> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            2 => 28 + u32::from(leap),
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let exists = (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60;
        exists.then_some(Civil {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            nanos: 0,
        })
    }
}

/// `Jan` → 1, ..., `Dec` → 12, case as written (a `match` on the bytes: a
/// few comparisons instead of up to twelve).
fn month_number(name: [u8; 3]) -> Option<u32> {
    Some(match &name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// Writes `n` as two digits at the start of `out`, from a table: a load and
/// a store instead of two divisions (an ISO text has nine such pairs).
/// Every `n` is below 100 (a field of a valid time, a four-digit year's
/// halves, an offset's hours and minutes); a larger one would be out of the
/// table's bounds, a panic rather than a wrong digit.
fn put2(out: &mut [u8], n: u32) {
    out[..2].copy_from_slice(&DIGIT_PAIRS[n as usize]);
}

/// `00`, `01`, ..., `99`.
pub(crate) static DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

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

fn push_hms(out: &mut Vec<u8>, t: &Civil) {
    push2(out, t.hour.into());
    out.push(b':');
    push2(out, t.minute.into());
    out.push(b':');
    push2(out, t.second.into());
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
        assert_eq!(t, LogTime::from(naive("2026-01-21T22:23:40")));
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

    /// Each ASCII character, and one that is not: the stamps' bytes are
    /// replaced by each in turn (the one-look readers check a word at a
    /// time, where a byte just past `9` or before `0` could slip through).
    fn every_ascii_character_and_one_other() -> impl Iterator<Item = String> {
        (0..=0x7fu8)
            .map(|b| char::from(b).to_string())
            .chain(["é".to_owned()])
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
                for c in every_ascii_character_and_one_other() {
                    let mut text = stamp.to_owned();
                    text.replace_range(at..at + 1, &c);
                    let step_by_step = LogTime::original_step_by_step(&text).ok();
                    let glance = original_at_a_glance(text.as_bytes());
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
                for c in every_ascii_character_and_one_other() {
                    let mut text = stamp.to_owned();
                    text.replace_range(at..at + 1, &c);
                    let step_by_step = LogTime::common_step_by_step(&text).ok();
                    let glance = common_at_a_glance(text.as_bytes());
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

    /// Dates, times and offsets around every edge the readers check (day 0,
    /// the 29th to the 32nd, Feb 29 in leap and common years including
    /// 1900 and 2000, hour 24, minute and second 60, offsets of 99 hours or
    /// 60 minutes) and month names in every case, each read by the
    /// hand-written readers and by chrono's format strings: the same
    /// instant (and the same ISO text) or both rejected. Chrono takes a
    /// month name in any case and a leap second `:60`, which servers never
    /// write and we reject; those are checked to be rejected.
    #[test]
    fn the_readers_agree_with_chrono() {
        let years = [
            0, 1, 4, 100, 999, 1900, 1970, 1999, 2000, 2024, 2025, 2026, 2100, 9999,
        ];
        let days = [0, 1, 9, 10, 28, 29, 30, 31, 32, 99];
        let times = [
            "00:00:00", "23:59:59", "12:34:56", "24:00:00", "23:60:00", "23:59:60", "99:99:99",
            "1a:00:00", "07:3 :00",
        ];
        let offsets = [
            "+0000", "-0000", "+0100", "-0700", "+0530", "+1400", "-1200", "+2359", "-2359",
            "+2400", "+9900", "+0060", "+0099", "*0100", "+01a0",
        ];
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            "jan", "JAN", "FEB", "feb", "Sept", "Foo", "",
        ];
        let mut accepted = 0;
        let mut stamps = 0;
        // A cheap deterministic choice of the offset and time for each
        // date, so that every combination of the rest is tried.
        let mut state = 0x9e37_79b9_u32;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize % n
        };
        for year in years {
            for month in months {
                for day in days {
                    for _ in 0..6 {
                        let time = times[next(times.len())];
                        let offset = offsets[next(offsets.len())];
                        let leap_or_case = time.ends_with(":60")
                            || (month.len() == 3
                                && month_number(*month.as_bytes().first_chunk().unwrap())
                                    .is_none()
                                && MONTHS
                                    .iter()
                                    .any(|m| m.eq_ignore_ascii_case(month.as_bytes())));

                        let common = format!("{day:02}/{month}/{year:04}:{time} {offset}");
                        let ours = LogTime::parse_common(&common).ok();
                        let chrono = DateTime::parse_from_str(&common, "%d/%b/%Y:%H:%M:%S %z").ok();
                        if leap_or_case {
                            assert_eq!(ours, None, "{common:?}");
                        } else {
                            assert_eq!(ours, chrono.map(LogTime::from), "{common:?}");
                        }
                        if let Some(t) = ours {
                            let expected = chrono.unwrap().to_rfc3339();
                            assert_eq!(t.to_iso(), expected, "{common:?}");
                            accepted += 1;
                        }

                        let original = format!("{month} {day:02} {year:04}, {time}");
                        let ours = LogTime::parse_original(&original).ok();
                        let chrono =
                            NaiveDateTime::parse_from_str(&original, "%b %d %Y, %H:%M:%S").ok();
                        if leap_or_case {
                            assert_eq!(ours, None, "{original:?}");
                        } else {
                            assert_eq!(ours, chrono.map(LogTime::from), "{original:?}");
                        }
                        if let Some(t) = ours {
                            let expected = chrono.unwrap().format("%Y-%m-%dT%H:%M:%S").to_string();
                            assert_eq!(t.to_iso(), expected, "{original:?}");
                            accepted += 1;
                        }
                        stamps += 2;
                    }
                }
            }
        }
        assert!(
            accepted > stamps / 10,
            "only {accepted} of {stamps} stamps valid"
        );
    }

    /// Every day of four centuries (leap years by every rule), at a time
    /// and offset that move the UTC instant across midnight either way.
    #[test]
    fn every_day_of_four_centuries_agrees_with_chrono() {
        let mut date = NaiveDate::from_ymd_opt(1899, 12, 31).unwrap();
        let end = NaiveDate::from_ymd_opt(2300, 1, 2).unwrap();
        let mut i = 0;
        while date <= end {
            let (time, offset) = [
                ("00:30:00", "+0100"),
                ("23:30:00", "-0100"),
                ("12:00:00", "+0000"),
            ][i % 3];
            let common = format!("{}:{time} {offset}", date.format("%d/%b/%Y"));
            let expected = DateTime::parse_from_str(&common, "%d/%b/%Y:%H:%M:%S %z").unwrap();
            let ours = LogTime::parse_common(&common).unwrap();
            assert_eq!(ours, LogTime::from(expected), "{common}");
            assert_eq!(ours.to_iso(), expected.to_rfc3339(), "{common}");
            let naive = date.and_time(NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap());
            assert_eq!(
                LogTime::from(naive).to_iso(),
                naive.format("%Y-%m-%dT%H:%M:%S").to_string()
            );
            let original = format!("{}, {time}", date.format("%b %d %Y"));
            assert_eq!(
                LogTime::parse_original(&original).unwrap().local(),
                date.and_time(NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap()),
                "{original}"
            );
            date = date.succ_opt().unwrap();
            i += 1;
        }
    }

    #[test]
    fn iso_of_years_beyond_four_digits_is_written_in_full() {
        let t = LogTime::from(naive("2026-01-21T22:23:40").with_year(12026).unwrap());
        assert_eq!(t.to_iso(), "12026-01-21T22:23:40");
        let t = LogTime::from(naive("0007-03-04T05:06:07"));
        assert_eq!(t.to_iso(), "0007-03-04T05:06:07");
        // Years chrono holds that no log can: written in full, signed,
        // with and without an offset.
        for year in [-262_143, -1, 10_000, 262_142] {
            let local = naive("2026-01-21T22:23:40").with_year(year).unwrap();
            assert_eq!(
                LogTime::from(local).to_iso(),
                format!("{year}-01-21T22:23:40")
            );
            let offset = FixedOffset::east_opt(-(7 * 3600 + 30 * 60)).unwrap();
            let t = LogTime::from(local.and_local_timezone(offset).unwrap());
            assert_eq!(t.to_iso(), format!("{year}-01-21T22:23:40-07:30"));
        }
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
        assert_eq!(t, LogTime::from(naive("2026-01-21T22:23:40")));
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
