//! A hand-written scanner for the whole Common Log Format family, the
//! formats Apache and NGINX write out of the box, told apart line by line:
//!
//! - `common` (Apache `%h %l %u %t "%r" %>s %b`);
//! - `combined`: common + ` "referrer" "user agent"`;
//! - `original`: combined with the original system's `Jan 21 2026, 22:23:40`;
//! - `nginx-main` (NGINX's stock `log_format main`): combined +
//!   ` "$http_x_forwarded_for"`;
//! - `vhost-combined` (Apache `%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i"
//!   "%{User-Agent}i"`).
//!
//! Either timestamp shape is taken in every preset. Whatever a combined or
//! nginx-main line carries after its last field (`rt=0.123 uct="0.000"`) is
//! kept in one `trailing` field rather than rejected. The client field may
//! be an address, an X-Forwarded-For chain (`a, b, c` or `"a, b"`) or a host
//! name (see [`client`]).
//!
//! It reads a line in one pass with fixed-length literals and `memchr`, as
//! [`fast`](super::fast) does, and allocates nothing for a line without
//! escapes or extra fields.

mod client;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use super::error::{Field, ParseError, Problem};
use super::fast::Cursor;
use super::fields;
use crate::record::{AccessLog, Extra, ValueKind};
use crate::timestamp::LogTime;
use client::Client;

/// The formats of the family, as a line's shape shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Original,
    Combined,
    Common,
    NginxMain,
    VhostCombined,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Original,
        Preset::Combined,
        Preset::Common,
        Preset::NginxMain,
        Preset::VhostCombined,
    ];

    /// The name `LOG_FORMAT` takes.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Original => "original",
            Preset::Combined => "combined",
            Preset::Common => "common",
            Preset::NginxMain => "nginx-main",
            Preset::VhostCombined => "vhost-combined",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no preset's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown log format preset {0:?}: expected one of original, combined, common, nginx-main, vhost-combined"
)]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|preset| preset.name() == name)
            .ok_or_else(|| UnknownPreset(name.to_owned()))
    }
}

/// `vhost_combined`'s `%p`, named once for every line.
static SERVER_PORT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("server_port"));
/// What a line carries after its last known field.
static TRAILING: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("trailing"));

/// Reads any line of the family; answers the record and which preset the
/// line's shape is. A line of another shape (an NGINX error-log line, say)
/// is a [`ParseError`] naming the field and byte where it stopped fitting
/// and what was expected there.
pub fn scan(line: &str) -> Result<(AccessLog<'_>, Preset), ParseError> {
    let (head, mut cursor) = client::head(line)?;

    let (at, text) = cursor.until_close_bracket()?;
    let timestamp = fields::timestamp(text, at)?;

    cursor.expect(b" \"", Field::Request, "` \"` before the request")?;
    let quoted = cursor.quoted(Field::Request)?;
    let request = fields::request(quoted.raw, quoted.escaped);

    cursor.expect(b" ", Field::Status, "a space before the status")?;
    let (at, text) = cursor.token(Field::Status)?;
    let status = fields::status(text, at)?;

    cursor.expect(b" ", Field::Size, "a space before the size")?;
    let (at, text) = cursor.token(Field::Size)?;
    let size = fields::size(text, at)?;

    let mut record = AccessLog {
        ident: head.ident,
        user: head.user,
        size: Some(size),
        ..AccessLog::new(None, timestamp, status)
    };
    match head.client {
        Client::Ip(ip) => record.ip = Some(ip),
        Client::Chain(ip, chain) => {
            record.ip = Some(ip);
            record.forwarded_for = Some(Cow::Borrowed(chain));
        }
        Client::Host(host) => record.client_host = Some(Cow::Borrowed(host)),
    }
    request.fill(&mut record);

    let shape = if cursor.rest().is_empty() {
        Shape::Common
    } else {
        cursor.expect(
            b" \"",
            Field::Referrer,
            "the end of the line (common) or ` \"` and the referrer (combined)",
        )?;
        record.referrer = Some(cursor.quoted(Field::Referrer)?.unescaped());
        cursor.expect(b" \"", Field::UserAgent, "` \"` before the user agent")?;
        record.user_agent = Some(cursor.quoted(Field::UserAgent)?.unescaped());
        after_user_agent(&mut cursor, &mut record)?
    };

    let preset = match (head.vhost, shape) {
        (Some((vhost, port)), _) => {
            record.vhost = Some(Cow::Borrowed(vhost));
            if let Some(port) = port {
                record
                    .extra
                    .insert(0, extra(&SERVER_PORT, ValueKind::Integer, port));
            }
            Preset::VhostCombined
        }
        (None, Shape::Common) => Preset::Common,
        (None, Shape::NginxMain) => Preset::NginxMain,
        (None, Shape::Combined) if record.extra.is_empty() => match record.timestamp {
            LogTime::Naive(_) => Preset::Original,
            LogTime::Offset(_) => Preset::Combined,
        },
        (None, Shape::Combined) => Preset::Combined,
    };
    Ok((record, preset))
}

/// Which fields a line has after the size.
enum Shape {
    Common,
    Combined,
    NginxMain,
}

/// What may follow the user agent: nothing (combined), NGINX `main`'s
/// quoted X-Forwarded-For header, and further fields of the server's own
/// (kept whole as `trailing`).
fn after_user_agent<'a>(
    cursor: &mut Cursor<'a>,
    record: &mut AccessLog<'a>,
) -> Result<Shape, ParseError> {
    let rest = cursor.rest();
    if rest.is_empty() {
        return Ok(Shape::Combined);
    }
    if rest.first() != Some(&b' ') {
        return Err(trailing_error(cursor));
    }
    let after_user_agent = cursor.pos;
    let mut shape = Shape::Combined;
    if rest.starts_with(b" \"") {
        cursor.pos += 2;
        let quoted = cursor.quoted(Field::ForwardedFor)?;
        if looks_forwarded(quoted.raw) {
            shape = Shape::NginxMain;
            if quoted.raw != "-" {
                record.forwarded_for = Some(Cow::Borrowed(quoted.raw));
            }
        } else {
            // Some other quoted field of the server's own: all trailing.
            cursor.pos = after_user_agent;
        }
        if !cursor.rest().is_empty() && cursor.rest().first() != Some(&b' ') {
            return Err(trailing_error(cursor));
        }
    }
    let trailing = cursor.line[cursor.pos..].trim();
    if !trailing.is_empty() {
        record
            .extra
            .push(extra(&TRAILING, ValueKind::Keyword, trailing));
    }
    Ok(shape)
}

#[cold]
fn trailing_error(cursor: &Cursor<'_>) -> ParseError {
    let rest = cursor.line[cursor.pos..].chars().take(40).collect();
    ParseError::new(Field::Line, cursor.pos, Problem::Trailing(rest))
}

/// Whether a quoted field after the user agent is `$http_x_forwarded_for`:
/// `-`, or a list of addresses, `unknown`s and obfuscated names (RFC 7239
/// §6), with or without ports, separated by commas. Text with spaces inside
/// an entry or `=` is some other field (`"rt=0.1"`), kept as trailing.
fn looks_forwarded(text: &str) -> bool {
    text == "-"
        || text.split(',').all(|entry| {
            let entry = entry.trim_matches(' ');
            !entry.is_empty()
                && entry.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'.' | b':' | b'[' | b']' | b'_' | b'-')
                })
        })
}

fn extra<'a>(name: &Arc<str>, kind: ValueKind, value: &'a str) -> Extra<'a> {
    Extra {
        name: Arc::clone(name),
        kind,
        value: Cow::Borrowed(value),
    }
}
