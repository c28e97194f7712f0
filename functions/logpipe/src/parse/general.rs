//! The regex parser: the original format, the Common/Combined Log Format
//! written by Apache and NGINX, and any `ident`/`user` values.
//!
//! The pattern only finds the fields; the shared validators decide what they
//! mean. When the pattern does not match, its pieces are tried one by one to
//! say which field is malformed and where.

use std::sync::LazyLock;

use regex::Regex;

use super::error::{Field, ParseError, Problem};
use super::fields;
use crate::record::AccessLog;

/// A quoted string in which a backslash escapes the next character.
const QUOTED: &str = r#""((?:[^"\\]|\\.)*)""#;

/// The pattern, in order, one piece per field, with what the piece expects.
const PIECES: [(Field, &str, &str); 9] = [
    (Field::Ip, "([^ ]+)", "an address"),
    (
        Field::Ident,
        " ([^ ]+)",
        "a space and an ident (usually `-`)",
    ),
    (Field::User, " ([^ ]+)", "a space and a user (usually `-`)"),
    (
        Field::Timestamp,
        r" \[([^\]]*)\]",
        "a space and a `[timestamp]`",
    ),
    (Field::Request, " ", "a space and a quoted request"),
    (Field::Status, " ([^ ]+)", "a space and a status"),
    (Field::Size, " ([^ ]+)", "a space and a size"),
    (Field::Referrer, " ", "a space and a quoted referrer"),
    (Field::UserAgent, " ", "a space and a quoted user agent"),
];

fn piece(i: usize) -> String {
    let (field, pattern, _) = PIECES[i];
    match field {
        Field::Request | Field::Referrer | Field::UserAgent => format!("{pattern}{QUOTED}"),
        _ => pattern.to_owned(),
    }
}

/// `(?s)`: a backslash may escape any byte, a newline too, as in the scanner.
fn anchored(pieces: usize, to_end: bool) -> Regex {
    let body: String = (0..pieces).map(piece).collect();
    let end = if to_end { "$" } else { "" };
    Regex::new(&format!("(?s)^{body}{end}")).expect("the log-line pattern is valid")
}

static LINE: LazyLock<Regex> = LazyLock::new(|| anchored(PIECES.len(), true));

/// `PREFIXES[i]` matches the first `i + 1` pieces; used only to explain a failure.
static PREFIXES: LazyLock<Vec<Regex>> =
    LazyLock::new(|| (1..=PIECES.len()).map(|n| anchored(n, false)).collect());

/// Parses a line of either format with the regex.
pub fn parse(line: &str) -> Result<AccessLog<'_>, ParseError> {
    let Some(caps) = LINE.captures(line) else {
        return Err(explain_mismatch(line));
    };
    let field = |i: usize| {
        let m = caps.get(i).expect("every group takes part in a match");
        (m.start(), m.as_str())
    };

    let (at, text) = field(1);
    let ip = fields::ip(text, at)?;
    let (at, text) = field(4);
    let timestamp = fields::timestamp(text, at)?;
    let (_, raw) = field(5);
    let request = fields::request(raw, true);
    let (at, text) = field(6);
    let status = fields::status(text, at)?;
    let (at, text) = field(7);
    let size = fields::size(text, at)?;

    let mut record = AccessLog {
        size: Some(size),
        referrer: Some(fields::unescape(field(8).1)),
        user_agent: Some(fields::unescape(field(9).1)),
        ..AccessLog::new(Some(ip), timestamp, status)
    };
    request.fill(&mut record);
    Ok(record)
}

/// Finds the first piece of the pattern that does not match.
fn explain_mismatch(line: &str) -> ParseError {
    let mut matched = 0;
    for (i, prefix) in PREFIXES.iter().enumerate() {
        match prefix.find(line) {
            Some(m) => matched = m.end(),
            None => {
                let (field, _, expected) = PIECES[i];
                let rest = &line[matched..];
                if rest.is_empty() {
                    return ParseError::new(field, matched, Problem::Missing);
                }
                // Once its opening is there, a bracket or quote piece can only
                // fail for want of its closing character.
                let opening = match field {
                    Field::Timestamp => Some('['),
                    Field::Request | Field::Referrer | Field::UserAgent => Some('"'),
                    _ => None,
                };
                if let Some(open) =
                    opening.filter(|&o| rest.strip_prefix(' ').is_some_and(|r| r.starts_with(o)))
                {
                    return ParseError::new(field, matched + 1, Problem::Unterminated(open));
                }
                return ParseError::unexpected(field, matched, expected, rest);
            }
        }
    }
    let rest = line[matched..].chars().take(40).collect();
    ParseError::new(Field::Line, matched, Problem::Trailing(rest))
}
