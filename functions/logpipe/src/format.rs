//! Records to log lines.

use std::io::Write;
use std::net::IpAddr;
use std::ops::Range;

use serde::Deserialize;

use crate::parse::escape_into;
use crate::record::AccessLog;
use crate::timestamp::LogTime;

/// The [`Extra`](crate::record::Extra) field that holds the port
/// `vhost-combined` writes after the virtual host (Apache's `%p`).
pub const SERVER_PORT: &str = "server_port";

/// What `vhost-combined` writes for a record without a virtual host: `-`,
/// as Apache writes any log item it has no value for.
pub const DEFAULT_VHOST: &str = "-";
/// What `vhost-combined` writes for a record without a (numeric) server
/// port: HTTP's, Apache's canonical port when `Listen` says nothing else.
pub const DEFAULT_SERVER_PORT: &str = "80";

/// The line formats we write (and read). Their names, in the CLI's
/// `--format` and the producer's payload, are the kebab-case variant names:
/// `original`, `combined`, `common`, `nginx-main`, `vhost-combined`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineFormat {
    /// The original system's format, byte for byte:
    /// `IP - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 123 "ref" "agent"`.
    #[default]
    Original,
    /// The Combined Log Format of Apache and NGINX:
    /// `IP - user [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 123 "ref" "agent"`.
    Combined,
    /// Apache's `common` (`%h %l %u %t "%r" %>s %b`): no referrer or user
    /// agent, and `%b`'s `-` for a response without body bytes.
    Common,
    /// NGINX's stock `log_format main`: combined and
    /// ` "$http_x_forwarded_for"` (`"-"` without the header).
    NginxMain,
    /// Apache's `vhost_combined` (`%v:%p ` and combined): the record's
    /// `vhost` and its [`SERVER_PORT`] extra field, or [`DEFAULT_VHOST`]
    /// and [`DEFAULT_SERVER_PORT`] when it has none.
    VhostCombined,
}

impl LineFormat {
    pub const ALL: [LineFormat; 5] = [
        LineFormat::Original,
        LineFormat::Combined,
        LineFormat::Common,
        LineFormat::NginxMain,
        LineFormat::VhostCombined,
    ];

    /// The name the CLI and the producer's payload take.
    pub fn name(self) -> &'static str {
        match self {
            LineFormat::Original => "original",
            LineFormat::Combined => "combined",
            LineFormat::Common => "common",
            LineFormat::NginxMain => "nginx-main",
            LineFormat::VhostCombined => "vhost-combined",
        }
    }

    /// Whether the format is a web server's (`[21/Jan/2026:22:23:40 +0000]`,
    /// a remote user) rather than the original system's.
    pub fn is_server_format(self) -> bool {
        self != LineFormat::Original
    }

    /// Whether lines carry an X-Forwarded-For chain.
    pub fn has_forwarded_for(self) -> bool {
        self == LineFormat::NginxMain
    }

    /// Whether lines start with the virtual host and the server port.
    pub fn has_vhost(self) -> bool {
        self == LineFormat::VhostCombined
    }
}

/// Writes records as lines, reusing the rendering of the last timestamp: in a
/// generated stream most lines share their second with the previous one.
#[derive(Debug, Default)]
pub struct LineWriter {
    format: LineFormat,
    last: Option<(LogTime, Vec<u8>)>,
}

impl LineWriter {
    pub fn new(format: LineFormat) -> Self {
        LineWriter { format, last: None }
    }

    /// Appends `record` as one line, without a line terminator, and answers
    /// where in `out` its client field is (the producer keys records by it).
    /// Fields the format has but the record lacks are written as servers
    /// write them when they have nothing: `-`.
    pub fn write(&mut self, record: &AccessLog<'_>, out: &mut Vec<u8>) -> Range<usize> {
        if self.format.has_vhost() {
            escape_into(record.vhost.as_deref().unwrap_or(DEFAULT_VHOST), out);
            out.push(b':');
            out.extend_from_slice(server_port(record).as_bytes());
            out.push(b' ');
        }
        let client_start = out.len();
        match (record.ip, &record.client_host) {
            (Some(ip), _) => push_ip(out, ip),
            (None, Some(host)) => out.extend_from_slice(host.as_bytes()),
            (None, None) => out.push(b'-'),
        }
        let client = client_start..out.len();
        out.push(b' ');
        push_or_dash(out, record.ident.as_deref());
        out.push(b' ');
        push_or_dash(out, record.user.as_deref());
        out.extend_from_slice(b" [");
        out.extend_from_slice(self.timestamp(&record.timestamp));
        out.extend_from_slice(b"] \"");
        match &record.request {
            Some(request) => escape_into(request, out),
            None => {
                escape_into(&record.method, out);
                out.push(b' ');
                escape_into(&record.endpoint, out);
                out.push(b' ');
                escape_into(&record.protocol, out);
            }
        }
        out.extend_from_slice(b"\" ");
        out.extend_from_slice(itoa::Buffer::new().format(record.status).as_bytes());
        out.push(b' ');
        match record.size {
            // Apache's `%b`: "`-` rather than a 0 when no bytes are sent".
            Some(0) if self.format == LineFormat::Common => out.push(b'-'),
            Some(size) => out.extend_from_slice(itoa::Buffer::new().format(size).as_bytes()),
            None => out.push(b'-'),
        }
        if self.format == LineFormat::Common {
            return client;
        }
        out.extend_from_slice(b" \"");
        escape_into(record.referrer.as_deref().unwrap_or("-"), out);
        out.extend_from_slice(b"\" \"");
        escape_into(record.user_agent.as_deref().unwrap_or("-"), out);
        out.push(b'"');
        if self.format.has_forwarded_for() {
            out.extend_from_slice(b" \"");
            escape_into(record.forwarded_for.as_deref().unwrap_or("-"), out);
            out.push(b'"');
        }
        client
    }

    fn timestamp(&mut self, t: &LogTime) -> &[u8] {
        let stale = self.last.as_ref().is_none_or(|(last, _)| last != t);
        if stale {
            let mut rendered = Vec::with_capacity(26);
            if self.format.is_server_format() {
                t.write_common(&mut rendered);
            } else {
                t.write_original(&mut rendered);
            }
            self.last = Some((*t, rendered));
        }
        self.last.as_ref().map_or(&[], |(_, rendered)| rendered)
    }
}

/// One record as a line in `format` (convenience for tests and one-offs).
pub fn format_line(record: &AccessLog<'_>, format: LineFormat) -> String {
    let mut out = Vec::with_capacity(160);
    LineWriter::new(format).write(record, &mut out);
    // Every piece written is UTF-8: record fields are `str`, the rest ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// An optional unquoted field (ident, user): `-` when absent.
fn push_or_dash(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => escape_into(text, out),
        None => out.push(b'-'),
    }
}

/// The record's [`SERVER_PORT`] when it is a port number (digits only: a
/// `+` that `u16::from_str` takes is not something a server writes).
fn server_port<'r>(record: &'r AccessLog<'_>) -> &'r str {
    record
        .extra
        .iter()
        .find(|extra| &*extra.name == SERVER_PORT)
        .map(|extra| &*extra.value)
        .filter(|port| port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok())
        .unwrap_or(DEFAULT_SERVER_PORT)
}

/// Dotted-quad IPv4 without the `fmt` machinery, which dominates otherwise.
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(itoa::Buffer::new().format(octet).as_bytes());
            }
        }
        IpAddr::V6(v6) => {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use super::*;
    use crate::parse::parse_line;
    use crate::record::{Extra, ValueKind};

    const ORIGINAL: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;

    #[test]
    fn original_format_is_byte_compatible() {
        let record = parse_line(ORIGINAL).unwrap();
        assert_eq!(format_line(&record, LineFormat::Original), ORIGINAL);
    }

    #[test]
    fn combined_format() {
        let line =
            r#"::1 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=c HTTP/2.0" 200 0 "-" "x \"y\"""#;
        let record = parse_line(line).unwrap();
        assert_eq!(format_line(&record, LineFormat::Combined), line);
    }

    /// A request as the Apache documentation's examples show it, with the
    /// fields the server formats carry set or absent as a test asks.
    fn apache_request() -> AccessLog<'static> {
        let timestamp = LogTime::parse_common("10/Oct/2000:13:55:36 -0700").unwrap();
        AccessLog {
            user: Some(Cow::Borrowed("frank")),
            method: Cow::Borrowed("GET"),
            endpoint: Cow::Borrowed("/apache_pb.gif"),
            protocol: Cow::Borrowed("HTTP/1.0"),
            size: Some(2326),
            referrer: Some(Cow::Borrowed("http://www.example.com/start.html")),
            user_agent: Some(Cow::Borrowed("Mozilla/4.08 [en] (Win98; I ;Nav)")),
            ..AccessLog::new(Some("192.0.2.10".parse().unwrap()), timestamp, 200)
        }
    }

    fn port(value: &'static str) -> Extra<'static> {
        Extra {
            name: Arc::from(SERVER_PORT),
            kind: ValueKind::Integer,
            value: Cow::Borrowed(value),
        }
    }

    const COMMON: &str =
        r#"192.0.2.10 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    const COMBINED: &str = r#"192.0.2.10 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    #[test]
    fn combined_format_writes_ident_and_user() {
        assert_eq!(
            format_line(&apache_request(), LineFormat::Combined),
            COMBINED
        );
        let record = AccessLog {
            ident: Some(Cow::Borrowed("ident7")),
            user: None,
            ..apache_request()
        };
        assert!(
            format_line(&record, LineFormat::Combined).starts_with("192.0.2.10 ident7 - [10/Oct"),
        );
    }

    #[test]
    fn common_format() {
        assert_eq!(format_line(&apache_request(), LineFormat::Common), COMMON);
    }

    #[test]
    fn common_format_writes_no_body_as_a_dash() {
        for size in [Some(0), None] {
            let record = AccessLog {
                status: 304,
                size,
                ..apache_request()
            };
            assert_eq!(
                format_line(&record, LineFormat::Common),
                r#"192.0.2.10 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 304 -"#,
                "{size:?}"
            );
        }
        // The other formats write what they were given (NGINX's `$body_bytes_sent` is 0).
        let record = AccessLog {
            size: Some(0),
            ..apache_request()
        };
        assert!(format_line(&record, LineFormat::Combined).contains(r#" 200 0 "http"#));
    }

    #[test]
    fn nginx_main_format() {
        let record = AccessLog {
            forwarded_for: Some(Cow::Borrowed("203.0.113.7, 10.0.0.2")),
            ..apache_request()
        };
        assert_eq!(
            format_line(&record, LineFormat::NginxMain),
            format!(r#"{COMBINED} "203.0.113.7, 10.0.0.2""#)
        );
        assert_eq!(
            format_line(&apache_request(), LineFormat::NginxMain),
            format!(r#"{COMBINED} "-""#)
        );
    }

    #[test]
    fn vhost_combined_format() {
        let record = AccessLog {
            vhost: Some(Cow::Borrowed("www.example.com")),
            extra: vec![port("443")],
            ..apache_request()
        };
        assert_eq!(
            format_line(&record, LineFormat::VhostCombined),
            format!("www.example.com:443 {COMBINED}")
        );
    }

    #[test]
    fn vhost_combined_defaults() {
        assert_eq!(
            format_line(&apache_request(), LineFormat::VhostCombined),
            format!("-:80 {COMBINED}")
        );
        for bad in ["", "+443", "http", "65536"] {
            let record = AccessLog {
                extra: vec![port(bad)],
                ..apache_request()
            };
            assert_eq!(
                format_line(&record, LineFormat::VhostCombined),
                format!("-:80 {COMBINED}"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_answer_is_where_the_client_is() {
        let record = AccessLog {
            vhost: Some(Cow::Borrowed("api.example.com")),
            ..apache_request()
        };
        for format in LineFormat::ALL {
            let mut out = b"previous line\n".to_vec();
            let client = LineWriter::new(format).write(&record, &mut out);
            assert_eq!(&out[client], b"192.0.2.10", "{format:?}");
        }
    }

    #[test]
    fn only_the_server_formats_use_the_fields_the_original_lacks() {
        let record = AccessLog {
            forwarded_for: Some(Cow::Borrowed("203.0.113.7")),
            vhost: Some(Cow::Borrowed("www.example.com")),
            extra: vec![port("443")],
            ..apache_request()
        };
        for format in LineFormat::ALL {
            let line = format_line(&record, format);
            assert_eq!(
                line.contains("203.0.113.7"),
                format.has_forwarded_for(),
                "{line}"
            );
            assert_eq!(
                line.contains("www.example.com:443"),
                format.has_vhost(),
                "{line}"
            );
        }
    }

    #[test]
    fn names_are_the_payloads() {
        for format in LineFormat::ALL {
            let named: LineFormat =
                serde_json::from_value(serde_json::json!(format.name())).unwrap();
            assert_eq!(named, format);
        }
        assert!(serde_json::from_value::<LineFormat>(serde_json::json!("nginx_main")).is_err());
    }

    #[test]
    fn cached_timestamp_follows_changes() {
        let mut writer = LineWriter::new(LineFormat::Original);
        let mut record = parse_line(ORIGINAL).unwrap();
        let mut out = Vec::new();
        writer.write(&record, &mut out);
        record.timestamp = LogTime::parse_original("Feb 01 2026, 00:00:00").unwrap();
        out.clear();
        writer.write(&record, &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("[Feb 01 2026, 00:00:00]")
        );
    }
}
