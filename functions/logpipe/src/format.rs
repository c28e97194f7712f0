//! Records to log lines.

use std::io::Write;
use std::net::IpAddr;

use crate::parse::escape_into;
use crate::record::AccessLog;
use crate::timestamp::LogTime;

/// The line formats we write (and read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineFormat {
    /// The original system's format, byte for byte:
    /// `IP - - [Jan 21 2026, 22:23:40] "GET / HTTP/1.1" 200 123 "ref" "agent"`.
    #[default]
    Original,
    /// The Combined Log Format of Apache and NGINX:
    /// `IP - - [21/Jan/2026:22:23:40 +0000] "GET / HTTP/1.1" 200 123 "ref" "agent"`.
    Combined,
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

    /// Appends `record` as one line, without a line terminator. Fields the
    /// format has but the record lacks are written as servers write them
    /// when they have nothing: `-`.
    pub fn write(&mut self, record: &AccessLog<'_>, out: &mut Vec<u8>) {
        match (record.ip, &record.client_host) {
            (Some(ip), _) => push_ip(out, ip),
            (None, Some(host)) => out.extend_from_slice(host.as_bytes()),
            (None, None) => out.push(b'-'),
        }
        out.extend_from_slice(b" - - [");
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
            Some(size) => out.extend_from_slice(itoa::Buffer::new().format(size).as_bytes()),
            None => out.push(b'-'),
        }
        out.extend_from_slice(b" \"");
        escape_into(record.referrer.as_deref().unwrap_or("-"), out);
        out.extend_from_slice(b"\" \"");
        escape_into(record.user_agent.as_deref().unwrap_or("-"), out);
        out.push(b'"');
    }

    fn timestamp(&mut self, t: &LogTime) -> &[u8] {
        let stale = self.last.as_ref().is_none_or(|(last, _)| last != t);
        if stale {
            let mut rendered = Vec::with_capacity(26);
            match self.format {
                LineFormat::Original => t.write_original(&mut rendered),
                LineFormat::Combined => t.write_common(&mut rendered),
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
    use super::*;
    use crate::parse::parse_line;

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
