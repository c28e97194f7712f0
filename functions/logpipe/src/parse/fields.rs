//! Field validators shared by both parsers, so that they accept and reject the
//! same values and differ only in how they find the fields in a line.

use std::borrow::Cow;
use std::net::IpAddr;

use super::error::{Field, ParseError, Problem};
use crate::record::AccessLog;
use crate::timestamp::LogTime;

pub(crate) fn ip(text: &str, at: usize) -> Result<IpAddr, ParseError> {
    ip_addr(text).ok_or_else(|| ParseError::new(Field::Ip, at, Problem::NotAnIp(text.to_owned())))
}

/// [`ip`] without the error, for a text that may well be something else
/// (an entry of a chain, a host name).
pub(crate) fn ip_addr(text: &str) -> Option<IpAddr> {
    match plain_ipv4(text.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        // Only hex digits, `:` and `.` make an address: a host name (a
        // virtual host, `HostnameLookups On`) is turned away here rather
        // than by the standard parser, at a tenth of its cost.
        None if text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') =>
        {
            text.parse().ok()
        }
        None => None,
    }
}

/// Dotted-quad IPv4 without leading zeros, the form servers write, read
/// octet by octet (the standard parser takes ten times as long); anything
/// else (IPv6, odd forms, errors) is left to the standard parser, which
/// has the last word.
fn plain_ipv4(text: &[u8]) -> Option<std::net::Ipv4Addr> {
    let (ip, at) = plain_ipv4_prefix(text)?;
    (at == text.len()).then_some(ip)
}

/// The [`plain_ipv4`] address `text` starts with, and where it ends: a
/// line's client read where it stands, without first finding its end.
/// What follows it is the caller's to check.
pub(crate) fn plain_ipv4_prefix(text: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    let (a, at) = octet(text, 0)?;
    let (b, at) = octet(text, dot(text, at)?)?;
    let (c, at) = octet(text, dot(text, at)?)?;
    let (d, at) = octet(text, dot(text, at)?)?;
    Some((std::net::Ipv4Addr::new(a, b, c, d), at))
}

/// Just past the `.` at `at`.
#[inline(always)]
fn dot(text: &[u8], at: usize) -> Option<usize> {
    (text.get(at) == Some(&b'.')).then_some(at + 1)
}

/// The decimal octet at `at` (1 to 3 digits, no leading zero, at most
/// 255) and where it ends.
#[inline(always)]
fn octet(text: &[u8], at: usize) -> Option<(u8, usize)> {
    let digit = |i: usize| {
        text.get(i)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|&d| d < 10)
    };
    let first = digit(at)?;
    let Some(second) = digit(at + 1) else {
        return Some((first, at + 1));
    };
    if first == 0 {
        return None;
    }
    let two = first * 10 + second;
    let Some(third) = digit(at + 2) else {
        return Some((two, at + 2));
    };
    let three = u16::from(two) * 10 + u16::from(third);
    let three = u8::try_from(three).ok()?;
    // A fourth digit is no octet.
    match digit(at + 3) {
        Some(_) => None,
        None => Some((three, at + 3)),
    }
}

pub(crate) fn timestamp(text: &str, at: usize) -> Result<LogTime, ParseError> {
    LogTime::parse_any(text).map_err(|e| ParseError::new(Field::Timestamp, at, e.into()))
}

/// A record's `method`, `endpoint`, `protocol` and `request`.
pub(crate) type RequestParts<'a> = (
    Cow<'a, str>,
    Cow<'a, str>,
    Cow<'a, str>,
    Option<Cow<'a, str>>,
);

/// A logged request line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// `METHOD target PROTOCOL`.
    Triple {
        method: Cow<'a, str>,
        endpoint: Cow<'a, str>,
        protocol: Cow<'a, str>,
    },
    /// Anything else, unescaped: `-` (Apache's idle keep-alive 408s), empty
    /// (NGINX's 400s for TLS handshakes and probes), a scanner's bytes. A
    /// real event, not a bad record (DESIGN.md §3, real traffic).
    Raw(Cow<'a, str>),
}

impl<'a> Request<'a> {
    /// Puts the request into `record`'s `method`/`endpoint`/`protocol`, or
    /// its `request` when it is not a triple.
    pub(crate) fn fill(self, record: &mut AccessLog<'a>) {
        match self {
            Request::Triple {
                method,
                endpoint,
                protocol,
            } => {
                record.method = method;
                record.endpoint = endpoint;
                record.protocol = protocol;
            }
            Request::Raw(raw) => record.request = Some(raw),
        }
    }

    /// What [`fill`](Self::fill) puts in a record, as its `method`,
    /// `endpoint`, `protocol` and `request`: for a scanner that builds the
    /// record in one piece where it is returned, rather than building it
    /// and then moving it there.
    pub(crate) fn into_parts(self) -> RequestParts<'a> {
        match self {
            Request::Triple {
                method,
                endpoint,
                protocol,
            } => (method, endpoint, protocol, None),
            Request::Raw(raw) => (
                Cow::Borrowed(""),
                Cow::Borrowed(""),
                Cow::Borrowed(""),
                Some(raw),
            ),
        }
    }
}

/// Splits the quoted request `METHOD TARGET PROTOCOL` (still escaped;
/// `escaped` unless it is known to hold no backslash) into its three parts,
/// or keeps it whole when it is not one. Escapes never contain a space, so
/// the split is done before unescaping.
pub(crate) fn request(raw: &str, escaped: bool) -> Request<'_> {
    match triple(raw) {
        Some((method, endpoint, protocol)) => Request::Triple {
            method: Cow::Borrowed(method),
            endpoint: match escaped {
                true => unescape(endpoint),
                false => Cow::Borrowed(endpoint),
            },
            protocol: Cow::Borrowed(protocol),
        },
        None if escaped => Request::Raw(unescape(raw)),
        None => Request::Raw(Cow::Borrowed(raw)),
    }
}

fn triple(raw: &str) -> Option<(&str, &str, &str)> {
    // A method is a few bytes: a plain loop beats memchr's set-up.
    let method_len = raw.bytes().position(|b| b == b' ')?;
    let (method, rest) = (&raw[..method_len], &raw[method_len + 1..]);
    let (endpoint, protocol) = split_protocol(rest)?;
    let valid = !method.is_empty()
        && method.bytes().all(is_token_byte)
        && !endpoint.is_empty()
        && !has_space(endpoint);
    valid.then_some((method, endpoint, protocol))
}

/// `target PROTOCOL` split at the space before its protocol, found where a
/// protocol's width puts it (`HTTP/1.1`, `HTTP/2`) rather than by a
/// search; the target is the caller's to check for spaces. The same split
/// as at the first space for every `target` without one.
fn split_protocol(rest: &str) -> Option<(&str, &str)> {
    let bytes = rest.as_bytes();
    [8, 6].into_iter().find_map(|width| {
        let space = bytes.len().checked_sub(width + 1)?;
        // A space first: then both sides of it are character boundaries.
        if bytes[space] != b' ' {
            return None;
        }
        let protocol = &rest[space + 1..];
        is_protocol(protocol).then(|| (&rest[..space], protocol))
    })
}

/// Whether `text` holds a space: every byte looked at, no early exit, which
/// the compiler makes a vector loop (a target is a few dozen bytes, too
/// few for memchr's set-up to pay).
fn has_space(text: &str) -> bool {
    text.bytes().fold(false, |found, b| found | (b == b' '))
}

/// RFC 9110 `tchar`: what an HTTP method token may contain.
fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTES[usize::from(b)]
}

const TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`, also the bare-major `HTTP/2` and `HTTP/3`.
fn is_protocol(text: &str) -> bool {
    match text.as_bytes().strip_prefix(b"HTTP/") {
        Some([major]) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

pub(crate) fn status(text: &str, at: usize) -> Result<u16, ParseError> {
    let b = text.as_bytes();
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&b[0]) {
        Ok(b.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    } else {
        Err(ParseError::new(
            Field::Status,
            at,
            Problem::NotAStatus(text.into()),
        ))
    }
}

/// A byte count; `-` is what servers log when no body was sent.
pub(crate) fn size(text: &str, at: usize) -> Result<u64, ParseError> {
    let not_a_size = || ParseError::new(Field::Size, at, Problem::NotASize(text.into()));
    match text.as_bytes() {
        b"-" => Ok(0),
        [] => Err(not_a_size()),
        // Nineteen digits cannot overflow a u64: no check a digit, and
        // whether one was no digit is known once, at the end.
        digits if digits.len() <= 19 => {
            let (n, bad) = digits.iter().fold((0u64, false), |(n, bad), &d| {
                let digit = d.wrapping_sub(b'0');
                let n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
                (n, bad | (digit > 9))
            });
            if bad { Err(not_a_size()) } else { Ok(n) }
        }
        digits => digits.iter().try_fold(0u64, |n, &d| {
            if !d.is_ascii_digit() {
                return Err(not_a_size());
            }
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or_else(not_a_size)
        }),
    }
}

/// Undoes the escaping of a quoted field: `\"` becomes `"` and `\\` becomes `\`.
/// Other backslash sequences (Apache's `\xhh`, NGINX's `\x22`) are kept as
/// written, so nothing is lost.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(next @ ('"' | '\\')) => out.push(next),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// The inverse of [`unescape`] for the characters that would end a quoted field.
pub fn escape_into(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for i in memchr::memchr2_iter(b'"', b'\\', bytes) {
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols() {
        for ok in ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/2", "HTTP/3"] {
            assert!(is_protocol(ok), "{ok}");
        }
        for bad in [
            "HTTP/",
            "HTTP/1.",
            "HTTP/11",
            "http/1.1",
            "SPDY/3",
            "HTTP/1.1x",
        ] {
            assert!(!is_protocol(bad), "{bad}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(status("200", 0), Ok(200));
        assert_eq!(status("599", 0), Ok(599));
        assert_eq!(status("100", 0), Ok(100));
        for bad in ["099", "600", "20", "2000", "abc", "", "-1"] {
            assert!(status(bad, 7).is_err(), "{bad}");
        }
        assert_eq!(
            status("abc", 7).unwrap_err().to_string(),
            "status at byte 7: \"abc\" is not a 3-digit HTTP status code between 100 and 599"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size("-", 0), Ok(0));
        assert_eq!(size("0", 0), Ok(0));
        assert_eq!(size("13444", 0), Ok(13444));
        assert_eq!(size("18446744073709551615", 0), Ok(u64::MAX));
        for bad in ["", "--", "12a", "+5", "18446744073709551616"] {
            assert!(size(bad, 0).is_err(), "{bad}");
        }
        // Either side of the nineteen digits read without a check a digit.
        assert_eq!(
            size("9999999999999999999", 0),
            Ok(9_999_999_999_999_999_999)
        );
        assert_eq!(size("0000000000000000001", 0), Ok(1));
        assert_eq!(size("00000000000000000001", 0), Ok(1));
        for bad in [
            "999999999999999999x",
            "x999999999999999999",
            "zzzzzzzzzzzzzzzzzzz",
            "99999999999999999999",
            "1é",
            "١",
        ] {
            assert!(size(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_ipv4_agrees_with_the_standard_parser() {
        let cases = [
            "0.0.0.0",
            "255.255.255.255",
            "9.180.123.170",
            "10.0.0.1",
            "256.1.1.1",
            "01.1.1.1",
            "00.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "",
            "1.2.3.4 ",
            " 1.2.3.4",
            "a.b.c.d",
            "1.2.3.-4",
            "999.1.1.1",
            "1.2.3.0400",
            "1234.1.1.1",
            "1.2.3.4.",
            ".1.2.3",
            "::1",
            "1.2.3.4%",
            "١.2.3.4",
        ];
        for text in cases {
            let standard = text.parse::<std::net::Ipv4Addr>().ok();
            match plain_ipv4(text.as_bytes()) {
                Some(fast) => assert_eq!(Some(fast), standard, "{text:?}"),
                None => assert!(standard.is_none(), "{text:?} left to the standard parser"),
            }
        }
        // Every string of digits and dots of an address's lengths.
        let mut texts = vec![String::new()];
        for len in 1..=8 {
            texts = texts
                .iter()
                .flat_map(|t| ["0", "1", "2", "5", "9", "."].map(|c| format!("{t}{c}")))
                .collect();
            if len < 7 {
                continue;
            }
            for text in &texts {
                let standard = text.parse::<std::net::Ipv4Addr>().ok();
                match plain_ipv4(text.as_bytes()) {
                    Some(fast) => assert_eq!(Some(fast), standard, "{text:?}"),
                    None => assert!(standard.is_none(), "{text:?} left to the standard parser"),
                }
            }
        }
        for n in (0..u32::MAX).step_by(104_729) {
            let addr = std::net::Ipv4Addr::from(n);
            assert_eq!(plain_ipv4(addr.to_string().as_bytes()), Some(addr));
        }
    }

    #[test]
    fn ip_addr_agrees_with_the_standard_parser() {
        let cases = [
            "9.180.123.170",
            "01.1.1.1",
            "::1",
            "2001:db8::1",
            "2001:DB8::A",
            "::ffff:10.0.0.1",
            "fe80::1%1",
            "fe80::1%eth0",
            "[::1]",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "abc",
            "shop.example.org",
            "shop.example.org:443",
            "10.0.0.1:8080",
            "",
            ":",
            ".",
            "1.2.3.4 ",
        ];
        for text in cases {
            assert_eq!(ip_addr(text), text.parse().ok(), "{text:?}");
        }
    }

    #[test]
    fn requests() {
        let triple = |method, endpoint, protocol| Request::Triple {
            method: Cow::Borrowed(method),
            endpoint: Cow::Borrowed(endpoint),
            protocol: Cow::Borrowed(protocol),
        };
        assert_eq!(
            request("GET /search?q=a%20b&x=1 HTTP/2.0", true),
            triple("GET", "/search?q=a%20b&x=1", "HTTP/2.0")
        );
        assert_eq!(
            request("PROPFIND * HTTP/1.1", true),
            triple("PROPFIND", "*", "HTTP/1.1")
        );
        assert_eq!(
            request(r#"GET /a\"b HTTP/1.1"#, true),
            Request::Triple {
                method: Cow::Borrowed("GET"),
                endpoint: Cow::Owned("/a\"b".into()),
                protocol: Cow::Borrowed("HTTP/1.1"),
            }
        );
        // What real servers log for requests that are not a triple.
        for raw in [
            "-",
            "",
            "GET /",
            "G@T / HTTP/1.1",
            "GET / HTTP/1.1 extra",
            "GET  HTTP/1.1",
            r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03",
        ] {
            assert_eq!(
                request(raw, false),
                Request::Raw(Cow::Borrowed(raw)),
                "{raw}"
            );
        }
        assert_eq!(
            request(r#"\"quoted\" junk"#, true),
            Request::Raw(Cow::Owned("\"quoted\" junk".into()))
        );
    }

    /// The split at the first space after the method, as requests were
    /// read before the protocol was found by its width.
    fn triple_at_first_space(raw: &str) -> Option<(&str, &str, &str)> {
        let (method, rest) = raw.split_once(' ')?;
        let (endpoint, protocol) = rest.split_once(' ')?;
        let valid = !method.is_empty()
            && method.bytes().all(is_token_byte)
            && !endpoint.is_empty()
            && is_protocol(protocol);
        valid.then_some((method, endpoint, protocol))
    }

    #[test]
    fn the_protocol_found_by_its_width_splits_as_the_first_space_does() {
        let parts = [
            "",
            " ",
            "  ",
            "GET",
            "G@T",
            "/",
            "/a",
            "/a b",
            "é",
            "/é",
            "*",
            "HTTP/1.1",
            "HTTP/2",
            "HTTP/1.",
            "HTTP/11",
            "xHTTP/1.1",
            "HTTP/2 ",
            " HTTP/2",
            "HTTP/3.0x",
            "-",
        ];
        let mut cases = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for raw in [
                        format!("{a} {b} {c}"),
                        format!("{a}{b} {c}"),
                        format!("{a} {b}{c}"),
                    ] {
                        assert_eq!(triple(&raw), triple_at_first_space(&raw), "{raw:?}");
                        cases += usize::from(triple(&raw).is_some());
                    }
                }
            }
        }
        assert!(cases > 50, "{cases} triples among the cases");
    }

    #[test]
    fn escaping_round_trips() {
        for text in [
            r#"a "quoted" agent"#,
            r"back\slash",
            r"\x22",
            "plain",
            r#"\""#,
            "\\",
        ] {
            let mut escaped = Vec::new();
            escape_into(text, &mut escaped);
            let escaped = String::from_utf8(escaped).unwrap();
            assert_eq!(unescape(&escaped), text, "{escaped}");
        }
        assert_eq!(unescape(r#"Mozilla \"X\""#), r#"Mozilla "X""#);
        assert_eq!(unescape(r"\x22"), r"\x22");
    }
}
