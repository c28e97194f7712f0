//! Why a line was rejected: which field, where, and what was wrong with it.

use std::fmt;

use thiserror::Error;

use crate::timestamp::TimestampError;

/// The part of a line an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Line,
    Ip,
    Ident,
    User,
    Timestamp,
    Request,
    Method,
    Endpoint,
    Protocol,
    Status,
    Size,
    Referrer,
    UserAgent,
    // The Common Log Format family's scanner (`clf`).
    /// NGINX `main`'s `"$http_x_forwarded_for"` after the user agent.
    ForwardedFor,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Line => "line",
            Field::Ip => "ip",
            Field::Ident => "ident",
            Field::User => "user",
            Field::Timestamp => "timestamp",
            Field::Request => "request",
            Field::Method => "method",
            Field::Endpoint => "endpoint",
            Field::Protocol => "protocol",
            Field::Status => "status",
            Field::Size => "size",
            Field::Referrer => "referrer",
            Field::UserAgent => "user_agent",
            Field::ForwardedFor => "forwarded_for",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("is empty")]
    Empty,
    #[error("is not valid UTF-8")]
    NotUtf8,
    #[error("is missing: the line ends before it")]
    Missing,
    #[error("expected {expected}, found {found:?}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("{0:?} is not an IPv4 or IPv6 address")]
    NotAnIp(String),
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    #[error("{0:?} is not a request line `METHOD TARGET HTTP/x.y`")]
    NotARequest(String),
    #[error("{0:?} is not an HTTP method token")]
    NotAMethod(String),
    #[error("{0:?} is not an HTTP protocol version like HTTP/1.1")]
    NotAProtocol(String),
    #[error("{0:?} is not a 3-digit HTTP status code between 100 and 599")]
    NotAStatus(String),
    #[error("{0:?} is not a byte count or `-`")]
    NotASize(String),
    #[error("opening `{0}` is never closed")]
    Unterminated(char),
    #[error("unexpected text after the last field: {0:?}")]
    Trailing(String),
    // The Common Log Format family's scanner (`clf`).
    #[error("{0:?} is not an IP address, an X-Forwarded-For chain with one or a host name")]
    NotAClient(String),
    // `LOG_FORMAT` (`log_format`).
    /// A line whose shape fits none of the formats `LOG_FORMAT` allows.
    #[error("{problem}; the line fits none of the formats tried: {tried}")]
    NoFormat {
        tried: &'static str,
        problem: Box<Problem>,
    },
    /// A line of a built-in format other than the one `LOG_FORMAT` names.
    #[error("the line is in the {found} format, LOG_FORMAT is {configured}")]
    OtherPreset {
        found: &'static str,
        configured: &'static str,
    },
    // User-defined formats (parse/custom): their literal text and their
    // own variables, named as the user's format names them.
    #[error("expected {expected:?} (from the format), found {found:?}")]
    ExpectedText { expected: String, found: String },
    #[error("{variable} {value:?} is not {expected}")]
    NotOfKind {
        variable: String,
        expected: &'static str,
        value: String,
    },
}

/// A rejected line: `field` at byte `at` (0-based, within the line) had `problem`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} at byte {at}: {problem}")]
pub struct ParseError {
    pub field: Field,
    pub at: usize,
    pub problem: Problem,
}

impl ParseError {
    pub fn new(field: Field, at: usize, problem: Problem) -> Self {
        ParseError { field, at, problem }
    }

    pub(crate) fn unexpected(field: Field, at: usize, expected: &'static str, found: &str) -> Self {
        let found = found.chars().take(40).collect();
        Self::new(field, at, Problem::Unexpected { expected, found })
    }
}
