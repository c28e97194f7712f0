//! `LOG_FORMAT`: which lines a deployment reads, chosen once at cold start.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::clf::{self, Preset};
use super::custom::{CompiledFormat, FormatError};
use super::error::{Field, ParseError, Problem};
use crate::record::AccessLog;

/// How lines are read: every built-in format detected line by line, or one
/// format only.
#[derive(Debug, Clone, Default)]
pub enum LogFormat {
    /// Any built-in format, detected per line.
    #[default]
    Auto,
    /// One built-in format only.
    Preset(Preset),
    /// The user's own NGINX `log_format` or Apache `LogFormat`, compiled.
    Custom(Box<CompiledFormat>),
}

/// What `auto` tries, for the errors of lines that fit none.
const AUTO_TRIES: &str = "original, combined, common, nginx-main, vhost-combined";

/// A `LOG_FORMAT` that is no format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnknownFormat {
    #[error(
        "{0:?} is not a log format: expected auto, a preset ({AUTO_TRIES}), or an NGINX log_format / Apache LogFormat string"
    )]
    Name(String),
    #[error("the format string does not compile: {0}")]
    Format(#[from] FormatError),
}

impl FromStr for LogFormat {
    type Err = UnknownFormat;

    /// A word is a name (`auto` or a preset); anything with a `$variable`
    /// or a `%directive` is a format string.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        if spec == "auto" {
            return Ok(LogFormat::Auto);
        }
        if let Ok(preset) = spec.parse() {
            return Ok(LogFormat::Preset(preset));
        }
        let is_a_name = spec
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if is_a_name {
            return Err(UnknownFormat::Name(spec.to_owned()));
        }
        Ok(LogFormat::Custom(Box::new(CompiledFormat::compile(spec)?)))
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogFormat::Auto => f.write_str("auto"),
            LogFormat::Preset(preset) => f.write_str(preset.name()),
            LogFormat::Custom(format) => write!(f, "custom ({:?} syntax)", format.syntax()),
        }
    }
}

impl LogFormat {
    /// Parses one line (a trailing `\n` or `\r\n` is ignored).
    pub fn parse_line<'a>(&self, line: &'a str) -> Result<AccessLog<'a>, ParseError> {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            return Err(ParseError::new(Field::Line, 0, Problem::Empty));
        }
        match self {
            // The family's scanner reads original lines as fast as the
            // original format's own scanner does (and to the same records,
            // a property test holds them together), so it is the only try:
            // a line of another format no longer pays for a first attempt.
            LogFormat::Auto => clf::scan_record(line, &mut Preset::Original, Some(AUTO_TRIES)),
            LogFormat::Preset(preset) => only(*preset, line),
            LogFormat::Custom(format) => format.parse(line),
        }
    }

    /// Parses one line given as bytes, as it comes from Kafka or a file.
    pub fn parse_bytes<'a>(&self, line: &'a [u8]) -> Result<AccessLog<'a>, ParseError> {
        let line = std::str::from_utf8(line)
            .map_err(|e| ParseError::new(Field::Line, e.valid_up_to(), Problem::NotUtf8))?;
        self.parse_line(line)
    }

    /// Whether the request, referrer and user agent of the lines this
    /// format reads are always between quotes: then a line with no `\` and
    /// no control character gives strings with nothing to escape in JSON.
    pub fn quotes_its_strings(&self) -> bool {
        match self {
            LogFormat::Auto | LogFormat::Preset(_) => true,
            LogFormat::Custom(format) => format.quotes_its_strings(),
        }
    }
}

/// A line of `preset` only: a line of another built-in format says which.
fn only(preset: Preset, line: &str) -> Result<AccessLog<'_>, ParseError> {
    let mut found = preset;
    match clf::scan_record(line, &mut found, Some(preset.name())) {
        Ok(record) if found == preset => Ok(record),
        Ok(_) => Err(ParseError::new(
            Field::Line,
            0,
            Problem::OtherPreset {
                found: found.name(),
                configured: preset.name(),
            },
        )),
        Err(e) => Err(e),
    }
}

/// A line whose shape fits no format tried says which were: a line that
/// fits the shape but holds a bad value (an impossible date, a status of
/// 999) is about that value alone.
pub(super) fn fits_none(e: ParseError, tried: &'static str) -> ParseError {
    let shape = matches!(
        e.problem,
        Problem::Missing
            | Problem::Unexpected { .. }
            | Problem::Unterminated(_)
            | Problem::Trailing(_)
            | Problem::NotAClient(_)
    );
    if !shape {
        return e;
    }
    let problem = Problem::NoFormat {
        tried,
        problem: Box::new(e.problem),
    };
    ParseError { problem, ..e }
}

#[cfg(test)]
mod tests {
    use super::super::fast;
    use super::*;

    const COMBINED: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
    const ORIGINAL: &str = r#"9.180.123.170 - - [Jan 21 2026, 22:23:40] "DELETE /contact HTTP/1.1" 404 13444 "https://example.com" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#;
    const ERROR_LOG: &str = r#"2026/01/21 22:23:48 [error] 1234#1234: *5 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 192.0.2.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost""#;

    fn format(spec: &str) -> LogFormat {
        spec.parse().unwrap()
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "auto",
            "original",
            "combined",
            "common",
            "nginx-main",
            "vhost-combined",
        ] {
            assert_eq!(format(name).to_string(), name);
        }
        let e = "apache".parse::<LogFormat>().unwrap_err().to_string();
        assert!(e.contains("\"apache\"") && e.contains("nginx-main"), "{e}");
    }

    #[test]
    fn a_format_string_is_compiled() {
        let nginx = format(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
        );
        assert_eq!(nginx.to_string(), "custom (Nginx syntax)");
        assert_eq!(
            nginx.parse_line(COMBINED),
            LogFormat::Auto.parse_line(COMBINED)
        );
        let apache = format(r#"%h %l %u %t \"%r\" %>s %b"#);
        assert_eq!(apache.to_string(), "custom (Apache syntax)");
        let common = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        assert_eq!(
            apache.parse_line(common),
            LogFormat::Auto.parse_line(common)
        );
        let e = "%h %l %Q".parse::<LogFormat>().unwrap_err().to_string();
        assert_eq!(
            e,
            "the format string does not compile: unknown Apache directive %Q at byte 6"
        );
    }

    #[test]
    fn auto_reads_every_preset_and_original_lines_as_the_fast_path_does() {
        let auto = LogFormat::Auto;
        assert_eq!(
            auto.parse_line(ORIGINAL),
            fast::parse_original(ORIGINAL).unwrap()
        );
        let record = auto.parse_line(COMBINED).unwrap();
        assert_eq!(record.user.as_deref(), Some("frank"));
    }

    #[test]
    fn a_preset_takes_its_own_lines_only() {
        assert!(format("combined").parse_line(COMBINED).is_ok());
        assert!(format("original").parse_line(ORIGINAL).is_ok());
        let e = format("original").parse_line(COMBINED).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line at byte 0: the line is in the combined format, LOG_FORMAT is original"
        );
        let common = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        assert!(format("common").parse_line(common).is_ok());
        let e = format("nginx-main").parse_line(common).unwrap_err();
        assert!(e.to_string().contains("in the common format"), "{e}");
    }

    #[test]
    fn a_line_of_no_format_names_the_formats_tried() {
        let e = LogFormat::Auto.parse_line(ERROR_LOG).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("fits none of the formats tried: original, combined, common, nginx-main, vhost-combined"),
            "{e}"
        );
        let e = format("common").parse_line(ERROR_LOG).unwrap_err();
        assert!(e.to_string().ends_with("formats tried: common"), "{e}");
    }

    #[test]
    fn a_bad_value_in_a_known_shape_is_named_alone() {
        let line = r#"1.2.3.4 - - [Feb 30 2026, 22:23:40] "GET / HTTP/1.1" 200 1 "-" "a""#;
        let e = LogFormat::Auto.parse_line(line).unwrap_err();
        assert_eq!(
            e.to_string(),
            "timestamp at byte 13: 2026-02-30 is not a date"
        );
    }
}
