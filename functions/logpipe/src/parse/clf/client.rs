//! The line's first fields: the client (an address, an X-Forwarded-For
//! chain or a host name), an optional virtual host before it
//! (`vhost_combined`'s `%v:%p`), the ident and the user.

use std::borrow::Cow;
use std::net::IpAddr;

use super::super::error::{Field, ParseError, Problem};
use super::super::fast::Cursor;
use super::super::fields;

/// Who made the request, as the client field said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Client<'a> {
    Ip(IpAddr),
    /// `10.0.0.2, 10.0.0.1`: the first entry that is an address, and the chain.
    Chain(IpAddr, &'a str),
    /// Apache's `HostnameLookups On`.
    Host(&'a str),
}

/// The fields before the timestamp.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Head<'a> {
    pub(super) client: Client<'a>,
    /// `%v` and the `%p` after it, when the line starts with them.
    pub(super) vhost: Option<(&'a str, Option<&'a str>)>,
    pub(super) ident: Option<Cow<'a, str>>,
    pub(super) user: Option<Cow<'a, str>>,
}

/// Reads the head of `line`; the cursor it returns is just past the
/// timestamp's `[`.
///
/// The usual line is `client ident user [`. When that shape does not fit,
/// the first token is taken as a virtual host and the rest read again:
/// `www.example.com:443 client ident user [`. Which one a line has shows
/// only in how many tokens come before the `[` (an IPv6 client has colons
/// too), hence the second reading rather than a guess.
pub(super) fn head(line: &str) -> Result<(Head<'_>, Cursor<'_>), ParseError> {
    match usual_head(line) {
        Some(usual) => Ok(usual),
        None => any_head(line),
    }
}

/// [`head`] of any line, the general way.
fn any_head(line: &str) -> Result<(Head<'_>, Cursor<'_>), ParseError> {
    let first = Span::read(line, 0)?;
    let client = first.client();
    let mut error = None;
    if let Some(client) = client {
        let after_client = Cursor {
            line,
            pos: first.end,
        };
        match ident_user(after_client) {
            Ok((ident, user, cursor)) => {
                let head = Head {
                    client,
                    vhost: None,
                    ident,
                    user,
                };
                return Ok((head, cursor));
            }
            Err(e) => error = Some(e),
        }
    }
    let error = || error.unwrap_or_else(|| first.not_a_client());
    match first.vhost() {
        Some(vhost) => match with_vhost(line, first.end, vhost) {
            Ok(found) => Ok(found),
            // `host:port` is no client: what went wrong is then after it.
            Err(e) if client.is_none() && vhost.1.is_some() => Err(e),
            Err(_) => Err(error()),
        },
        None => Err(error()),
    }
}

/// The head most lines have, `192.0.2.10 - - [` (or a user for the
/// second `-`), read where it stands: the address octet by octet up to
/// its space, without first looking for the field's end and what kind of
/// client it holds. `None` for any other head, which [`head`] then reads
/// the general way; where both read a line they read it alike (a dotted
/// quad followed by a space is no chain, host name or virtual host).
#[inline]
fn usual_head(line: &str) -> Option<(Head<'_>, Cursor<'_>)> {
    let (ip, end) = fields::plain_ipv4_prefix(line.as_bytes())?;
    if line.as_bytes().get(end) != Some(&b' ') {
        return None;
    }
    let (ident, user, cursor) = if line.as_bytes()[end..].starts_with(b" - - [") {
        let cursor = Cursor {
            line,
            pos: end + " - - [".len(),
        };
        (None, None, cursor)
    } else {
        ident_user(Cursor { line, pos: end }).ok()?
    };
    let head = Head {
        client: Client::Ip(IpAddr::V4(ip)),
        vhost: None,
        ident,
        user,
    };
    Some((head, cursor))
}

fn with_vhost<'a>(
    line: &'a str,
    after_vhost: usize,
    vhost: (&'a str, Option<&'a str>),
) -> Result<(Head<'a>, Cursor<'a>), ParseError> {
    let mut cursor = Cursor {
        line,
        pos: after_vhost,
    };
    cursor.expect(
        b" ",
        Field::Ip,
        "a space and the client after the virtual host",
    )?;
    let span = Span::read(line, cursor.pos)?;
    let client = span.client().ok_or_else(|| span.not_a_client())?;
    let (ident, user, cursor) = ident_user(Cursor {
        line,
        pos: span.end,
    })?;
    let head = Head {
        client,
        vhost: Some(vhost),
        ident,
        user,
    };
    Ok((head, cursor))
}

type IdentUser<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>, Cursor<'a>);

/// ` ident user [`, from just after the client.
fn ident_user(mut cursor: Cursor<'_>) -> Result<IdentUser<'_>, ParseError> {
    cursor.expect(b" ", Field::Ident, "a space and the ident (usually `-`)")?;
    let (_, ident) = cursor.token(Field::Ident)?;
    cursor.expect(b" ", Field::User, "a space and the user (usually `-`)")?;
    let (_, user) = cursor.token(Field::User)?;
    cursor.expect(b" [", Field::Timestamp, "` [` and the timestamp")?;
    Ok((dash_is_none(ident), dash_is_none(user), cursor))
}

fn dash_is_none(text: &str) -> Option<Cow<'_, str>> {
    (text != "-").then_some(Cow::Borrowed(text))
}

/// The text of a client field, before it is known what it holds.
struct Span<'a> {
    at: usize,
    text: &'a str,
    /// `"a, b"`: written as a quoted header value.
    quoted: bool,
    /// Where the field ends (a space or the end of the line follows).
    end: usize,
}

impl<'a> Span<'a> {
    /// A quoted string, or a token and the further tokens of a chain
    /// written with spaces (`a, b, c`: every token but the last ends in `,`).
    fn read(line: &'a str, at: usize) -> Result<Self, ParseError> {
        let bytes = line.as_bytes();
        if bytes.get(at) == Some(&b'"') {
            let mut cursor = Cursor { line, pos: at + 1 };
            let quoted = cursor.quoted(Field::Ip)?;
            return Ok(Span {
                at,
                text: quoted.raw,
                quoted: true,
                end: cursor.pos,
            });
        }
        let token_end = |from: usize| {
            bytes[from..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(bytes.len(), |len| from + len)
        };
        let mut end = token_end(at);
        if end == at {
            return Err(no_client(line, at));
        }
        while bytes[end - 1] == b',' && bytes.get(end) == Some(&b' ') {
            end = token_end(end + 1);
        }
        Ok(Span {
            at,
            text: &line[at..end],
            quoted: false,
            end,
        })
    }

    fn client(&self) -> Option<Client<'a>> {
        if !self.quoted
            && let Some(ip) = fields::ip_addr(self.text)
        {
            return Some(Client::Ip(ip));
        }
        if self.quoted || self.text.contains(',') {
            let first_ip = self
                .text
                .split(',')
                .find_map(|entry| fields::ip_addr(entry.trim_matches(' ')))?;
            Some(Client::Chain(first_ip, self.text))
        } else {
            is_host_name(self.text).then_some(Client::Host(self.text))
        }
    }

    #[cold]
    fn not_a_client(&self) -> ParseError {
        ParseError::new(
            Field::Ip,
            self.at,
            Problem::NotAClient(self.text.to_owned()),
        )
    }

    /// `host:port` or `host` (a host name or an address), if the span could
    /// be a virtual host.
    fn vhost(&self) -> Option<(&'a str, Option<&'a str>)> {
        if self.quoted || self.text.contains(' ') {
            return None;
        }
        let split = self.text.rsplit_once(':').and_then(|(host, port)| {
            let is_port = !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok();
            (is_port && is_server_name(host)).then_some((host, Some(port)))
        });
        split.or_else(|| is_server_name(self.text).then_some((self.text, None)))
    }
}

#[cold]
fn no_client(line: &str, at: usize) -> ParseError {
    match line.get(at..) {
        None | Some("") => ParseError::new(Field::Ip, at, Problem::Missing),
        Some(found) => ParseError::unexpected(
            Field::Ip,
            at,
            "a client address, X-Forwarded-For chain or host name",
            found,
        ),
    }
}

/// What Apache's `%v` writes: a host name, an address, `[IPv6]`.
fn is_server_name(text: &str) -> bool {
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    is_host_name(text) || fields::ip_addr(unbracketed).is_some()
}

/// A DNS name as resolvers give them (RFC 1123 labels, `_` tolerated, an
/// optional final dot) whose last label is not all digits: that rule
/// (RFC 3696 §2) keeps a mistyped address such as `10.0.0.999` from
/// passing for a name.
pub(super) fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text).as_bytes();
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    // One pass over the bytes (a virtual host is read on every line of
    // vhost_combined): the current label's length, whether it is all
    // digits so far, the byte before.
    let (mut len, mut all_digits, mut before) = (0usize, true, b'.');
    for &c in name {
        if c == b'.' {
            if len == 0 || before == b'-' {
                return false;
            }
            (len, all_digits) = (0, true);
        } else {
            let allowed = c.is_ascii_alphanumeric() || c == b'_' || (c == b'-' && len > 0);
            len += 1;
            if !allowed || len > 63 {
                return false;
            }
            all_digits &= c.is_ascii_digit();
        }
        before = c;
    }
    len > 0 && before != b'-' && !all_digits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the usual head's reading takes a line, it reads it as the
    /// general one does; elsewhere it leaves the line to it.
    #[test]
    fn the_usual_head_is_read_as_any_head() {
        let rest = "[21/Jan/2026:22:23:40 +0000] \"GET / HTTP/1.1\" 200 1";
        let heads = [
            ("192.0.2.10 - - ", true),
            ("192.0.2.10 - frank ", true),
            ("192.0.2.10 ident7 - ", true),
            ("0.0.0.0 - - ", true),
            ("255.255.255.255 - - ", true),
            ("192.0.2.10  - - ", false),
            ("192.0.2.10 -  - ", false),
            ("192.0.2.10 - -", false),
            ("192.0.2.10 - - x", false),
            ("192.0.2.10, 10.0.0.1 - - ", false),
            ("192.0.2.10,10.0.0.1 - - ", false),
            ("192.0.2.1000 - - ", false),
            ("192.0.2.256 - - ", false),
            ("192.0.2 - - ", false),
            ("192.0.2.10:443 198.51.100.23 - - ", false),
            ("192.0.2.10 198.51.100.23 - - ", false),
            ("192.0.2.10.example.org - - ", false),
            ("010.0.2.10 - - ", false),
            ("2001:db8::1 - - ", false),
            ("\"192.0.2.10, 10.0.0.1\" - - ", false),
            ("192.0.2.10", false),
            ("192.0.2.10 ", false),
            ("", false),
        ];
        for (head, usual) in heads {
            for line in [format!("{head}{rest}"), head.to_owned()] {
                let general = any_head(&line).map(|(head, cursor)| (head, cursor.pos));
                match usual_head(&line) {
                    Some((head, cursor)) => {
                        assert_eq!(Ok((head, cursor.pos)), general, "{line:?}")
                    }
                    None => assert!(!usual || line == head, "{line:?} is a usual head"),
                }
            }
        }
    }
}
