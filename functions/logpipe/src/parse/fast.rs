//! A hand-written scanner for the original system's line format, the format
//! nearly all of our traffic has. It is ~4x faster than the regex (DESIGN.md
//! §6) and must give the same records: a property test holds it to that.

use std::borrow::Cow;

use memchr::memchr;

use super::error::{Field, ParseError, Problem};
use super::fields;
use crate::json_text::quote_or_backslash;
use crate::record::AccessLog;
use crate::timestamp::{COMMON_WIDTH, LogTime, ORIGINAL_WIDTH};

/// Parses `line` if it has the original format's shape (`IP - - [Mon ...`).
/// Returns `None` for any other shape, which the general parser then handles.
pub fn parse_original(line: &str) -> Option<Result<AccessLog<'_>, ParseError>> {
    let bytes = line.as_bytes();
    let ip_end = memchr(b' ', bytes)?;
    let rest = &bytes[ip_end..];
    if !(rest.starts_with(b" - - [") && rest.get(6).is_some_and(u8::is_ascii_alphabetic)) {
        return None;
    }
    Some(scan(line, ip_end))
}

fn scan(line: &str, ip_end: usize) -> Result<AccessLog<'_>, ParseError> {
    let ip = fields::ip(&line[..ip_end], 0)?;
    let mut cursor = Cursor {
        line,
        pos: ip_end + " - - [".len(),
    };

    let Middle {
        timestamp,
        request,
        status,
        size,
    } = cursor.middle()?;

    cursor.expect(b" \"", Field::Referrer, "` \"` before the referrer")?;
    let referrer = cursor.quoted(Field::Referrer)?.unescaped();

    cursor.expect(b" \"", Field::UserAgent, "` \"` before the user agent")?;
    let user_agent = cursor.quoted(Field::UserAgent)?.unescaped();

    cursor.end()?;
    let (method, endpoint, protocol, request) = request.into_parts();
    Ok(AccessLog {
        method,
        endpoint,
        protocol,
        request,
        size: Some(size),
        referrer: Some(referrer),
        user_agent: Some(user_agent),
        ..AccessLog::new(Some(ip), timestamp, status)
    })
}

/// What every line of the Common Log Format family has between its client
/// part and its referrer: `[timestamp] "request" status size`.
pub(super) struct Middle<'a> {
    pub timestamp: LogTime,
    pub request: fields::Request<'a>,
    pub status: u16,
    pub size: u64,
}

/// A quoted field as found, still escaped.
pub(super) struct Quoted<'a> {
    pub(super) raw: &'a str,
    /// Whether `raw` holds a backslash, known from the scan for its end.
    pub(super) escaped: bool,
}

impl<'a> Quoted<'a> {
    pub(super) fn unescaped(self) -> Cow<'a, str> {
        if self.escaped {
            fields::unescape(self.raw)
        } else {
            Cow::Borrowed(self.raw)
        }
    }
}

/// A position in a line and the few moves the format needs (shared with
/// the scanner of the whole Common Log Format family, `clf`).
pub(super) struct Cursor<'a> {
    pub(super) line: &'a str,
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    /// Reads [`Middle`], from just after the timestamp's `[`.
    #[inline]
    pub(super) fn middle(&mut self) -> Result<Middle<'a>, ParseError> {
        let cursor = self;
        let timestamp = match cursor.usual_timestamp() {
            Some(timestamp) => timestamp,
            None => {
                let (at, text) = cursor.until_close_bracket()?;
                fields::timestamp(text, at)?
            }
        };

        cursor.expect(b" \"", Field::Request, "` \"` before the request")?;
        let quoted = cursor.quoted(Field::Request)?;
        let request = fields::request(quoted.raw, quoted.escaped);

        cursor.expect(b" ", Field::Status, "a space before the status")?;
        let (at, text) = cursor.token(Field::Status)?;
        let status = fields::status(text, at)?;

        cursor.expect(b" ", Field::Size, "a space before the size")?;
        let (at, text) = cursor.token(Field::Size)?;
        let size = fields::size(text, at)?;
        Ok(Middle {
            timestamp,
            request,
            status,
            size,
        })
    }

    #[inline(always)]
    pub(super) fn rest(&self) -> &'a [u8] {
        &self.line.as_bytes()[self.pos..]
    }

    #[cold]
    #[inline(never)]
    pub(super) fn missing(&self, field: Field) -> ParseError {
        ParseError::new(field, self.pos, Problem::Missing)
    }

    /// Consumes `literal`, whose length is known at compile time so that
    /// the comparison is a load or two rather than a call.
    #[inline(always)]
    pub(super) fn expect<const N: usize>(
        &mut self,
        literal: &[u8; N],
        field: Field,
        expected: &'static str,
    ) -> Result<(), ParseError> {
        if self.rest().first_chunk() == Some(literal) {
            self.pos += N;
            Ok(())
        } else {
            Err(self.not_there(field, expected))
        }
    }

    /// Why what [`expect`](Self::expect) wanted is not at the cursor; kept
    /// out of line so that the usual path stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn not_there(&self, field: Field, expected: &'static str) -> ParseError {
        match self.line.get(self.pos..) {
            None | Some("") => self.missing(field),
            Some(found) => ParseError::unexpected(field, self.pos, expected, found),
        }
    }

    /// A valid timestamp of either shape and its `]`, consumed, without
    /// a search for the `]`: where one of the shapes' widths ends. A valid
    /// timestamp holds no `]`, so this is the first one, as
    /// [`until_close_bracket`](Self::until_close_bracket) would find.
    #[inline]
    fn usual_timestamp(&mut self) -> Option<LogTime> {
        let rest = self.rest();
        let width = match rest.first()? {
            b if b.is_ascii_alphabetic() => ORIGINAL_WIDTH,
            _ => COMMON_WIDTH,
        };
        if rest.get(width) != Some(&b']') {
            return None;
        }
        let timestamp = LogTime::parse_any_at_a_glance(&rest[..width])?;
        self.pos += width + 1;
        Some(timestamp)
    }

    /// The text up to the next `]`, which is consumed.
    pub(super) fn until_close_bracket(&mut self) -> Result<(usize, &'a str), ParseError> {
        let start = self.pos;
        let len = memchr(b']', self.rest()).ok_or_else(|| {
            ParseError::new(Field::Timestamp, start - 1, Problem::Unterminated('['))
        })?;
        self.pos += len + 1;
        Ok((start, &self.line[start..start + len]))
    }

    /// A space-free token, ending at the next space or at the end of the line.
    #[inline]
    pub(super) fn token(&mut self, field: Field) -> Result<(usize, &'a str), ParseError> {
        let start = self.pos;
        let rest = self.rest();
        // A status or a size: a few bytes, too few for memchr's set-up to pay.
        let len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        if len == 0 {
            return Err(self.missing(field));
        }
        self.pos += len;
        Ok((start, &self.line[start..self.pos]))
    }

    /// The content of a quoted string whose opening quote was just consumed;
    /// the closing quote is consumed too.
    pub(super) fn quoted(&mut self, field: Field) -> Result<Quoted<'a>, ParseError> {
        let start = self.pos;
        let bytes = self.line.as_bytes();
        // `"-"`, what servers log for a missing referrer or header: too
        // short for the search's set-up to pay.
        if bytes.get(start..start + 2) == Some(b"-\"") {
            self.pos = start + 2;
            let raw = &self.line[start..start + 1];
            return Ok(Quoted {
                raw,
                escaped: false,
            });
        }
        let mut i = start;
        let mut escaped = false;
        loop {
            match quote_or_backslash(&bytes[i..]) {
                Some(j) if bytes[i + j] == b'"' => {
                    self.pos = i + j + 1;
                    let raw = &self.line[start..i + j];
                    return Ok(Quoted { raw, escaped });
                }
                // A backslash escapes whatever byte follows it.
                Some(j) if i + j + 1 < bytes.len() => {
                    escaped = true;
                    i += j + 2;
                }
                _ => {
                    return Err(ParseError::new(
                        field,
                        start - 1,
                        Problem::Unterminated('"'),
                    ));
                }
            }
        }
    }

    pub(super) fn end(&self) -> Result<(), ParseError> {
        match self.line.get(self.pos..) {
            Some("") => Ok(()),
            rest => {
                let rest = rest.unwrap_or_default().chars().take(40).collect();
                Err(ParseError::new(
                    Field::Line,
                    self.pos,
                    Problem::Trailing(rest),
                ))
            }
        }
    }
}
