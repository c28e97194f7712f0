//! The compiled scanner: a leading literal, then fields each followed by
//! the literal text that ends it.
//!
//! How a field's end is found, cheapest first:
//! - the last field with no text after it takes the rest of the line; with
//!   text after it, the line must end with that text;
//! - a fixed-width time (`$time_local`, `$time_iso8601`) is taken whole
//!   when the next literal follows it, so its own space does not end it;
//! - a quoted field (`"` before and after it in the format) ends at the
//!   first unescaped `"` that the next literal follows (`\"` and `\\` are
//!   escapes; NGINX's `\xHH` are kept as written);
//! - any other field ends at the next literal; in a list (a client chain
//!   `a, b`, NGINX's per-upstream `a, b : c`) a separator right after `,`
//!   or inside ` : ` does not end it.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::DateTime;

use super::variables::{Standard, TimeShape};
use crate::document::list_items;
use crate::json_text::quote_or_backslash;
use crate::parse::error::{Field as ErrorField, ParseError, Problem};
use crate::parse::fields;
use crate::record::{AccessLog, Extra, ValueKind};
use crate::timestamp::LogTime;

/// Where a field's value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Standard(Standard),
    /// Named once, at compile time: each record shares the name.
    Extra {
        name: Arc<str>,
        kind: ValueKind,
    },
}

/// Literal text of the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Literal(Box<str>);

impl Literal {
    pub(crate) fn new(text: &str) -> Self {
        Literal(text.into())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A variable's place in the line.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// As the format writes it, for error messages.
    pub display: Box<str>,
    pub target: Target,
    /// Between `"` in the format: its value is escaped.
    pub quoted: bool,
    /// A list, `a, b : c`, whose separators may look like the next literal.
    list: bool,
    /// The width of the value when it has one.
    width: Option<usize>,
}

impl Field {
    pub(crate) fn new(display: &str, target: Target, quoted: bool) -> Self {
        let list = match &target {
            Target::Standard(standard) => {
                matches!(standard, Standard::Client | Standard::ForwardedFor)
            }
            Target::Extra { kind, .. } => matches!(
                kind,
                ValueKind::IntegerList | ValueKind::FloatList | ValueKind::KeywordList
            ),
        };
        let width = match &target {
            Target::Standard(Standard::Time(shape)) => shape.width(),
            _ => None,
        };
        Field {
            display: display.into(),
            target,
            quoted,
            list,
            width,
        }
    }
}

/// A field and the literal that follows it (empty only after the last).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub field: Field,
    pub then: Literal,
}

#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    pub head: Literal,
    pub steps: Vec<Step>,
}

/// Replaced by the format's time, which every format has.
const NO_TIME: LogTime = LogTime::EPOCH;

impl Scanner {
    pub(crate) fn parse<'a>(&self, line: &'a str) -> Result<AccessLog<'a>, ParseError> {
        let head = self.head.bytes();
        if !starts_with(line.as_bytes(), head) {
            return Err(expected_text(line, 0, &self.head));
        }
        let mut record = AccessLog::new(None, NO_TIME, 0);
        let mut at = head.len();
        let last = self.steps.len().saturating_sub(1);
        for (i, step) in self.steps.iter().enumerate() {
            let (end, next, escaped) = step.find_end(line, at, i == last)?;
            step.field.fill(&mut record, &line[at..end], at, escaped)?;
            at = next;
        }
        if at < line.len() {
            return Err(ParseError::new(
                ErrorField::Line,
                at,
                Problem::Trailing(snippet(&line[at..])),
            ));
        }
        Ok(record)
    }
}

impl Step {
    /// Where the field that starts at `at` ends, where the text after its
    /// literal starts, and whether the value holds a `\\` (a quoted value
    /// without one needs no unescaping, and is not scanned again for it).
    fn find_end(
        &self,
        line: &str,
        at: usize,
        last: bool,
    ) -> Result<(usize, usize, bool), ParseError> {
        let b = line.as_bytes();
        let then = self.then.bytes();
        if last {
            if then.is_empty() {
                return Ok((b.len(), b.len(), self.field.quoted));
            }
            let end = b.len().wrapping_sub(then.len());
            if b.len() >= at + then.len()
                && starts_with(&b[end..], then)
                && !(self.field.quoted && ends_in_escape(&b[at..end]))
            {
                return Ok((end, b.len(), self.field.quoted));
            }
            return Err(match self.field.quoted {
                true => unterminated(at),
                false => expected_text(line, at, &self.then),
            });
        }
        if let Some(width) = self.field.width
            && line.get(at..at + width).is_some()
            && starts_with(&b[at + width..], then)
        {
            return Ok((at + width, at + width + then.len(), false));
        }
        if self.field.quoted {
            let mut from = at;
            let mut escaped = false;
            while from < b.len()
                && let Some(found) = quote_or_backslash(&b[from..])
            {
                let found = from + found;
                if b[found] == b'\\' {
                    escaped = true;
                    from = found + 2;
                    continue;
                }
                if starts_with(&b[found..], then) {
                    return Ok((found, found + then.len(), escaped));
                }
                from = found + 1;
            }
            return Err(unterminated(at));
        }
        let mut from = at;
        while from < b.len()
            && let Some(found) = memchr::memchr(then[0], &b[from..])
        {
            let found = from + found;
            if starts_with(&b[found..], then)
                && !(self.field.list && continues_list(b, at, found, then.len()))
            {
                return Ok((found, found + then.len(), false));
            }
            from = found + 1;
        }
        Err(expected_text(line, at, &self.then))
    }
}

/// `hay.starts_with(literal)` without a call to `memcmp`: literals are a
/// few bytes, and the call was a third of the time of a line.
#[inline]
fn starts_with(hay: &[u8], literal: &[u8]) -> bool {
    hay.len() >= literal.len() && hay.iter().zip(literal).all(|(a, b)| a == b)
}

/// Whether the separator at `found` is inside a list rather than after it:
/// right after a `,`, or around the ` : ` between NGINX's upstream groups.
fn continues_list(b: &[u8], start: usize, found: usize, len: usize) -> bool {
    let before = |n: usize| found.checked_sub(n).filter(|&i| i >= start).map(|i| b[i]);
    before(1) == Some(b',')
        || (before(1) == Some(b':') && before(2) == Some(b' '))
        || b[found + len..].starts_with(b": ")
}

/// Whether a quoted value ends in an odd run of `\`: then its closing `"`
/// is escaped, and the value has not ended.
fn ends_in_escape(value: &[u8]) -> bool {
    value.iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1
}

fn unterminated(at: usize) -> ParseError {
    ParseError::new(
        ErrorField::Line,
        at.saturating_sub(1),
        Problem::Unterminated('"'),
    )
}

fn expected_text(line: &str, at: usize, literal: &Literal) -> ParseError {
    let problem = match line.get(at..) {
        Some("") | None => Problem::Missing,
        Some(rest) => Problem::ExpectedText {
            expected: literal.0.to_string(),
            found: snippet(rest),
        },
    };
    ParseError::new(ErrorField::Line, at, problem)
}

/// The start of `text`, for messages.
fn snippet(text: &str) -> String {
    text.chars().take(40).collect()
}

impl Field {
    /// Puts `value`, found at byte `at`, where it belongs in `record`.
    fn fill<'a>(
        &self,
        record: &mut AccessLog<'a>,
        value: &'a str,
        at: usize,
        escaped: bool,
    ) -> Result<(), ParseError> {
        let text = |value: &'a str| match escaped {
            true => fields::unescape(value),
            false => Cow::Borrowed(value),
        };
        let optional = |value: &'a str| (value != "-").then(|| text(value));
        // The request's parts, where `-` is what Apache logs for nothing.
        let part = |value: &'a str| match value {
            "-" => Cow::Borrowed(""),
            _ => text(value),
        };
        let standard = match &self.target {
            Target::Standard(standard) => *standard,
            Target::Extra { name, kind } => {
                if value != "-" {
                    let value = text(value);
                    check_kind(*kind, &value, &self.display, at)?;
                    record.extra.push(Extra {
                        name: name.clone(),
                        kind: *kind,
                        value,
                    });
                }
                return Ok(());
            }
        };
        match standard {
            Standard::Client => client(record, value, at),
            Standard::Time(shape) => record.timestamp = time(shape, value, at, &self.display)?,
            Standard::Request => fields::request(value, escaped).fill(record),
            Standard::Method => record.method = part(value),
            Standard::Endpoint => record.endpoint = part(value),
            Standard::Protocol => record.protocol = part(value),
            Standard::Status => record.status = fields::status(value, at)?,
            Standard::Size => record.size = Some(fields::size(value, at)?),
            Standard::Referrer => record.referrer = Some(text(value)),
            Standard::UserAgent => record.user_agent = Some(text(value)),
            Standard::User => record.user = optional(value),
            Standard::Ident => record.ident = optional(value),
            Standard::ForwardedFor => record.forwarded_for = optional(value),
            Standard::Vhost => record.vhost = optional(value),
        }
        Ok(())
    }
}

/// The client: an address, a host name, or an X-Forwarded-For chain
/// (then `ip` is its first address).
fn client<'a>(record: &mut AccessLog<'a>, value: &'a str, at: usize) {
    if value == "-" || value.is_empty() {
        return;
    }
    if value.contains(',') {
        record.ip = value.split(',').find_map(|entry| entry.trim().parse().ok());
        record.forwarded_for = Some(Cow::Borrowed(value));
        return;
    }
    match fields::ip(value, at) {
        Ok(ip) => record.ip = Some(ip),
        Err(_) => record.client_host = Some(Cow::Borrowed(value)),
    }
}

fn time(shape: TimeShape, value: &str, at: usize, display: &str) -> Result<LogTime, ParseError> {
    let stamp_error = |e| ParseError::new(ErrorField::Timestamp, at, Problem::Timestamp(e));
    let not_a_time = |expected| {
        ParseError::new(
            ErrorField::Timestamp,
            at,
            Problem::NotOfKind {
                variable: display.to_owned(),
                expected,
                value: snippet(value),
            },
        )
    };
    let (seconds, nanos) = match shape {
        TimeShape::Common => return LogTime::parse_common(value).map_err(stamp_error),
        TimeShape::Iso8601 => return LogTime::parse_iso8601(value).map_err(stamp_error),
        TimeShape::SecondsDotMillis => {
            const EXPECTED: &str = "seconds since 1970 with milliseconds (1737498220.123)";
            let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
            let seconds = whole_number(whole).ok_or_else(|| not_a_time(EXPECTED))?;
            if fraction.len() > 9 || !fraction.bytes().all(|c| c.is_ascii_digit()) {
                return Err(not_a_time(EXPECTED));
            }
            let scale = 10u32.pow(9 - fraction.len() as u32);
            let nanos = fraction
                .bytes()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            (seconds, nanos * scale)
        }
        TimeShape::Seconds => {
            let n = whole_number(value).ok_or_else(|| not_a_time("seconds since 1970"))?;
            (n, 0)
        }
        TimeShape::Millis => {
            let n = whole_number(value).ok_or_else(|| not_a_time("milliseconds since 1970"))?;
            (n / 1000, (n % 1000) as u32 * 1_000_000)
        }
        TimeShape::Micros => {
            let n = whole_number(value).ok_or_else(|| not_a_time("microseconds since 1970"))?;
            (n / 1_000_000, (n % 1_000_000) as u32 * 1000)
        }
    };
    DateTime::from_timestamp(seconds, nanos)
        .map(|t| LogTime::from(t.fixed_offset()))
        .ok_or_else(|| not_a_time("a time chrono can represent"))
}

/// Decimal digits only, as servers write counts.
fn whole_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A value must read as its kind: the document writes it as that JSON
/// type, which the index maps.
fn check_kind(kind: ValueKind, value: &str, display: &str, at: usize) -> Result<(), ParseError> {
    let integer = |item: &str| item.parse::<i64>().is_ok();
    let float = |item: &str| item.parse::<f64>().is_ok_and(f64::is_finite);
    // NGINX writes `-` for an upstream it could not reach.
    let items_are = |ok: &dyn Fn(&str) -> bool| list_items(value).all(|i| i == "-" || ok(i));
    let (ok, expected) = match kind {
        ValueKind::Keyword | ValueKind::KeywordList => return Ok(()),
        ValueKind::Integer => (integer(value), "a whole number"),
        ValueKind::Float => (float(value), "a number"),
        ValueKind::IntegerList => (items_are(&integer), "a list of whole numbers"),
        ValueKind::FloatList => (items_are(&float), "a list of numbers"),
    };
    match ok {
        true => Ok(()),
        false => Err(ParseError::new(
            ErrorField::Line,
            at,
            Problem::NotOfKind {
                variable: display.to_owned(),
                expected,
                value: snippet(value),
            },
        )),
    }
}
