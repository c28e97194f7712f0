//! Access-log lines to records, in the format `LOG_FORMAT` names
//! ([`LogFormat`], chosen once at cold start):
//! - [`fast`]: the original system's format, nearly all of our own traffic;
//! - [`clf`]: the Common Log Format family real servers write out of the
//!   box (original, combined, common, NGINX `main`, `vhost_combined`),
//!   told apart line by line (`auto`);
//! - [`custom`]: the user's own NGINX `log_format` or Apache `LogFormat`,
//!   compiled into a scanner;
//! - [`general`]: the regex parser the others replaced, kept as the
//!   reference the property tests and benchmarks compare them with.
//!
//! Every rejection is a [`ParseError`] naming the field, the byte offset and
//! the problem.

pub mod clf;
pub mod custom;
mod error;
pub mod fast;
mod fields;
pub mod general;
mod log_format;

pub use clf::Preset;
pub use error::{Field, ParseError, Problem};
pub use fields::{escape_into, unescape};
pub use log_format::{LogFormat, UnknownFormat};

use crate::record::AccessLog;

/// Parses one line in any built-in format ([`LogFormat::Auto`]; a trailing
/// `\n` or `\r\n` is ignored).
pub fn parse_line(line: &str) -> Result<AccessLog<'_>, ParseError> {
    LogFormat::Auto.parse_line(line)
}

/// [`parse_line`] of a line given as bytes, as it comes from Kafka or a file.
pub fn parse_bytes(line: &[u8]) -> Result<AccessLog<'_>, ParseError> {
    LogFormat::Auto.parse_bytes(line)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::timestamp::TimestampError;

    const ORIGINAL: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;

    /// Both parsers, which must agree whenever the fast one takes a line.
    fn parse_both(line: &str) -> Result<AccessLog<'_>, ParseError> {
        let general = general::parse(line);
        if let Some(fast) = fast::parse_original(line) {
            assert_eq!(
                fast.is_ok(),
                general.is_ok(),
                "{line}: {fast:?} vs {general:?}"
            );
            if let (Ok(a), Ok(b)) = (&fast, &general) {
                assert_eq!(a, b);
            }
            return fast;
        }
        general
    }

    /// `parse_line`'s error, which names the same field and byte as the
    /// family's scanner (and the fast path, where it takes the line).
    fn err(line: &str) -> ParseError {
        let e = parse_line(line).unwrap_err();
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if !trimmed.is_empty() {
            let scanned = clf::scan(trimmed).unwrap_err();
            assert_eq!((scanned.field, scanned.at), (e.field, e.at), "{line}");
            if let Some(Err(fast)) = fast::parse_original(trimmed) {
                assert_eq!((fast.field, fast.at), (e.field, e.at), "{line}");
            }
        }
        e
    }

    #[test]
    fn original_line() {
        let r = parse_both(ORIGINAL).unwrap();
        assert_eq!(r.ip.unwrap().to_string(), "9.180.123.170");
        assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40");
        assert_eq!(
            (&*r.method, &*r.endpoint, &*r.protocol),
            ("DELETE", "/contact", "HTTP/1.1")
        );
        assert_eq!((r.status, r.size), (404, Some(13444)));
        assert_eq!(r.referrer.as_deref(), Some("https://example.com"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
        );
        assert!(
            matches!(r.user_agent, Some(Cow::Borrowed(_))),
            "no copy when nothing is escaped"
        );
    }

    #[test]
    fn combined_log_format_as_apache_and_nginx_write_it() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        let r = parse_both(line).unwrap();
        assert_eq!(r.timestamp.to_iso(), "2000-10-10T13:55:36-07:00");
        assert_eq!((&*r.endpoint, &*r.protocol), ("/apache_pb.gif", "HTTP/1.0"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
    }

    #[test]
    fn what_real_servers_write() {
        let cases = [
            // IPv6 client, `-` size, HTTP/2.0, `-` referrer.
            r#"2001:db8::1 - - [21/Jan/2026:22:23:40 +0000] "HEAD /health HTTP/2.0" 304 - "-" "curl/8.5.0""#,
            // Any method token, query string, HTTP/1.1.
            r#"::1 - - [21/Jan/2026:22:23:40 +0100] "PROPFIND /dav/?depth=1&x=%20 HTTP/1.1" 207 512 "-" "davfs2""#,
            // Escaped quotes in the user agent.
            r#"10.0.0.1 - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "Agent \"quoted\" \\ end""#,
            // The original format with an IPv6 client.
            r#"fe80::1 - - [Jan 21 2026, 22:23:40] "GET /home HTTP/1.1" 200 1000 "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
        ];
        let records: Vec<_> = cases.iter().map(|l| parse_both(l).unwrap()).collect();
        assert!(records[0].ip.unwrap().is_ipv6());
        assert_eq!(records[0].size, Some(0));
        assert_eq!(records[0].referrer.as_deref(), Some("-"));
        assert_eq!(records[1].method, "PROPFIND");
        assert_eq!(records[1].endpoint, "/dav/?depth=1&x=%20");
        assert_eq!(
            records[2].user_agent.as_deref(),
            Some(r#"Agent "quoted" \ end"#)
        );
        assert_eq!(records[3].timestamp.to_iso(), "2026-01-21T22:23:40");
    }

    #[test]
    fn trailing_newlines_are_ignored() {
        assert!(parse_line(&format!("{ORIGINAL}\n")).is_ok());
        assert!(parse_line(&format!("{ORIGINAL}\r\n")).is_ok());
    }

    #[test]
    fn rejections_name_the_field_and_position() {
        let cases: &[(&str, Field, usize, &str)] = &[
            ("", Field::Line, 0, "is empty"),
            ("\n", Field::Line, 0, "is empty"),
            ("hello", Field::Ident, 5, "is missing"),
            (
                r#"9.180.123.999 - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Ip,
                0,
                "\"9.180.123.999\" is not an IP address",
            ),
            (
                r#"1.2.3.4 - - [Feb 30 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Timestamp,
                13,
                "2026-02-30 is not a date",
            ),
            (
                r#"1.2.3.4 - - [Foo 21 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Timestamp,
                13,
                "\"Foo\" is not a month name",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 25:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Timestamp,
                13,
                "25:23:40 is not a time of day",
            ),
            (
                r#"1.2.3.4 - - [32/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Timestamp,
                13,
                "2026-01-32 is not a date",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 22:23:40 "GET / HTTP/1.1" 200 1 "-" "a""#,
                Field::Timestamp,
                12,
                "never closed",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 2000 1 "-" "a""#,
                Field::Status,
                53,
                "\"2000\" is not a 3-digit HTTP status code",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 x1 "-" "a""#,
                Field::Size,
                57,
                "\"x1\" is not a byte count",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "unterminated"#,
                Field::UserAgent,
                63,
                "never closed",
            ),
            (
                r#"1.2.3.4 - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-""#,
                Field::UserAgent,
                62,
                "is missing",
            ),
        ];
        for (line, field, at, message) in cases {
            let e = err(line);
            assert_eq!((e.field, e.at), (*field, *at), "{line}: {e}");
            assert!(e.to_string().contains(message), "{line}: {e}");
        }
    }

    #[test]
    fn invalid_utf8_is_rejected_with_its_position() {
        let mut line = ORIGINAL.as_bytes().to_vec();
        line[80] = 0xff;
        let e = parse_bytes(&line).unwrap_err();
        assert_eq!((e.at, e.problem.clone()), (80, Problem::NotUtf8));
        assert_eq!(e.to_string(), "line at byte 80: is not valid UTF-8");
    }

    #[test]
    fn timestamp_errors_are_carried_whole() {
        let e = err(r#"1.2.3.4 - - [Feb 30 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#);
        assert_eq!(
            e.problem,
            Problem::Timestamp(TimestampError::ImpossibleDate {
                year: 2026,
                month: 2,
                day: 30
            })
        );
    }
}
