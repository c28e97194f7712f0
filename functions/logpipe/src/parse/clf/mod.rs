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
use super::fast::{Cursor, Middle};
use super::log_format::fits_none;
use crate::record::{AccessLog, Extra, ValueKind};
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
    let mut preset = Preset::Original;
    let record = scan_record(line, &mut preset, None)?;
    Ok((record, preset))
}

/// [`scan`], the preset put in `preset`, and the error of a line whose
/// shape fits no format naming the formats `tried` (see
/// [`fits_none`](super::log_format::fits_none)). The record is returned
/// as the `Result` [`LogFormat::parse_line`](super::LogFormat::parse_line)
/// returns, so that it is written once, where its caller wants it, rather
/// than built and then moved there (a record is 344 bytes).
pub(crate) fn scan_record<'a>(
    line: &'a str,
    preset: &mut Preset,
    tried: Option<&'static str>,
) -> Result<AccessLog<'a>, ParseError> {
    let named = move |e: ParseError| match tried {
        Some(tried) => fits_none(e, tried),
        None => e,
    };
    let (head, mut cursor) = client::head(line).map_err(named)?;

    let Middle {
        timestamp,
        request,
        status,
        size,
    } = cursor.middle().map_err(named)?;

    // Absent in the common format; then nothing follows the size.
    let mut referrer = None;
    let mut user_agent = None;
    let mut tail = Tail::default();
    if !cursor.rest().is_empty() {
        cursor
            .expect(
                b" \"",
                Field::Referrer,
                "the end of the line (common) or ` \"` and the referrer (combined)",
            )
            .map_err(named)?;
        referrer = Some(cursor.quoted(Field::Referrer).map_err(named)?.unescaped());
        cursor
            .expect(b" \"", Field::UserAgent, "` \"` before the user agent")
            .map_err(named)?;
        user_agent = Some(cursor.quoted(Field::UserAgent).map_err(named)?.unescaped());
        tail = after_user_agent(&mut cursor).map_err(named)?;
    }

    *preset = match (head.vhost, &tail) {
        (Some(_), _) => Preset::VhostCombined,
        _ if user_agent.is_none() => Preset::Common,
        (
            None,
            Tail {
                nginx_main: true, ..
            },
        ) => Preset::NginxMain,
        (None, Tail { trailing: None, .. }) if timestamp.seconds_east().is_none() => {
            Preset::Original
        }
        (None, _) => Preset::Combined,
    };
    let (ip, client_host, mut forwarded_for) = match head.client {
        Client::Ip(ip) => (Some(ip), None, None),
        Client::Chain(ip, chain) => (Some(ip), None, Some(Cow::Borrowed(chain))),
        Client::Host(host) => (None, Some(Cow::Borrowed(host)), None),
    };
    // NGINX's header field says what the client sent; a chain in the
    // client field is usually that and the proxy's address.
    if tail.forwarded_for.is_some() {
        forwarded_for = tail.forwarded_for.map(Cow::Borrowed);
    }
    let mut extra = Vec::new();
    if let Some((_, Some(port))) = head.vhost {
        extra.push(self::extra(&SERVER_PORT, ValueKind::Integer, port));
    }
    if let Some(trailing) = tail.trailing {
        extra.push(self::extra(&TRAILING, ValueKind::Keyword, trailing));
    }
    let (method, endpoint, protocol, request) = request.into_parts();
    Ok(AccessLog {
        ip,
        client_host,
        forwarded_for,
        vhost: head.vhost.map(|(vhost, _)| Cow::Borrowed(vhost)),
        ident: head.ident,
        user: head.user,
        timestamp,
        method,
        endpoint,
        protocol,
        request,
        status,
        size: Some(size),
        referrer,
        user_agent,
        extra,
    })
}

/// What comes after the user agent.
#[derive(Default)]
struct Tail<'a> {
    /// NGINX `main`'s ` "$http_x_forwarded_for"` was there...
    nginx_main: bool,
    /// ...and said this (not `-`).
    forwarded_for: Option<&'a str>,
    /// The server's own further fields, trimmed.
    trailing: Option<&'a str>,
}

/// What may follow the user agent: nothing (combined), NGINX `main`'s
/// quoted X-Forwarded-For header, and further fields of the server's own
/// (kept whole as `trailing`).
fn after_user_agent<'a>(cursor: &mut Cursor<'a>) -> Result<Tail<'a>, ParseError> {
    let mut tail = Tail::default();
    let rest = cursor.rest();
    if rest.is_empty() {
        return Ok(tail);
    }
    // NGINX `main`'s usual end, no X-Forwarded-For header: what the
    // general reading below finds, without its search for the quote.
    if rest == b" \"-\"" {
        cursor.pos += rest.len();
        tail.nginx_main = true;
        return Ok(tail);
    }
    if rest.first() != Some(&b' ') {
        return Err(trailing_error(cursor));
    }
    let after_user_agent = cursor.pos;
    if rest.starts_with(b" \"") {
        cursor.pos += 2;
        let quoted = cursor.quoted(Field::ForwardedFor)?;
        if looks_forwarded(quoted.raw) {
            tail.nginx_main = true;
            tail.forwarded_for = (quoted.raw != "-").then_some(quoted.raw);
        } else {
            // Some other quoted field of the server's own: all trailing.
            cursor.pos = after_user_agent;
        }
        if !cursor.rest().is_empty() && cursor.rest().first() != Some(&b' ') {
            return Err(trailing_error(cursor));
        }
    }
    let trailing = cursor.line[cursor.pos..].trim();
    tail.trailing = (!trailing.is_empty()).then_some(trailing);
    Ok(tail)
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
    if text == "-" {
        return true;
    }
    // One pass: whether the current entry has content yet, and whether a
    // space has followed its content (then only spaces may come before
    // the next comma).
    let (mut filled, mut closed) = (false, false);
    for b in text.bytes() {
        match b {
            b',' if filled => (filled, closed) = (false, false),
            b' ' => closed = filled,
            b'.' | b':' | b'[' | b']' | b'_' | b'-' if !closed => filled = true,
            _ if b.is_ascii_alphanumeric() && !closed => filled = true,
            _ => return false,
        }
    }
    filled
}

fn extra<'a>(name: &Arc<str>, kind: ValueKind, value: &'a str) -> Extra<'a> {
    Extra {
        name: Arc::clone(name),
        kind,
        value: Cow::Borrowed(value),
    }
}
