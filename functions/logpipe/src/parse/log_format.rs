//! `LOG_FORMAT`: which lines a deployment reads, chosen once at cold start.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::error::{Field, ParseError, Problem};
use super::{fast, general};
use crate::record::AccessLog;

/// How lines are read: every built-in format detected line by line, or one
/// format only.
#[derive(Debug, Clone, Default)]
pub enum LogFormat {
    /// Any built-in format, detected per line.
    #[default]
    Auto,
    /// The original system's format only.
    Original,
    /// The Common/Combined Log Format only.
    Combined,
}

/// A `LOG_FORMAT` that names no format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a log format: expected one of auto, original, combined")]
pub struct UnknownFormat(String);

impl FromStr for LogFormat {
    type Err = UnknownFormat;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.trim() {
            "auto" => Ok(LogFormat::Auto),
            "original" => Ok(LogFormat::Original),
            "combined" => Ok(LogFormat::Combined),
            other => Err(UnknownFormat(other.to_owned())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Auto => "auto",
            LogFormat::Original => "original",
            LogFormat::Combined => "combined",
        })
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
            LogFormat::Auto => fast::parse_original(line).unwrap_or_else(|| general::parse(line)),
            LogFormat::Original => fast::parse_original(line).unwrap_or_else(|| {
                Err(ParseError::unexpected(
                    Field::Line,
                    0,
                    "a line in the original format",
                    line,
                ))
            }),
            LogFormat::Combined => general::parse(line),
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
        true
    }
}
