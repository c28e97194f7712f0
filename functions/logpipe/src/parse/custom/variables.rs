//! Which variable fills which field, with which type: the one table a
//! reader (and the README) needs.
//!
//! A variable with a standard field fills it, unless another variable of
//! the format already fills it (then the one with the higher priority
//! wins, or the first); the others, and every variable without a standard
//! field, become an extra field under the name below. `-` logged for any
//! of them means absent.
//!
//! ## NGINX (`log_format`)
//!
//! | variable | field | type |
//! |---|---|---|
//! | `$remote_addr` | `ip` (a host name: `client_host`; a chain `a, b`: `forwarded_for`, `ip` its first address) | |
//! | `$remote_user` | `user` | |
//! | `$time_local` | `timestamp` | |
//! | `$time_iso8601` | `timestamp` | |
//! | `$msec` | `timestamp` (seconds.milliseconds since 1970, UTC) | |
//! | `$request` | `method`, `endpoint`, `protocol` (or `request` when not a triple) | |
//! | `$request_method`, `$request_uri`, `$server_protocol` | `method`, `endpoint`, `protocol` (when there is no `$request`) | |
//! | `$uri$is_args$args` (written together) | `endpoint` (when there is no `$request`/`$request_uri`) | |
//! | `$status` | `status` | |
//! | `$body_bytes_sent` | `size` | |
//! | `$bytes_sent` | `size` when there is no `$body_bytes_sent`, else `bytes_sent` | integer |
//! | `$http_referer` | `referrer` | |
//! | `$http_user_agent` | `user_agent` | |
//! | `$http_x_forwarded_for` | `forwarded_for` | |
//! | `$host` | `vhost` | |
//! | `$request_time`, `$connection_time`, `$session_time`, `$gzip_ratio` | same name | float |
//! | `$upstream_connect_time`, `$upstream_header_time`, `$upstream_response_time`, `$upstream_queue_time`, `$upstream_first_byte_time`, `$upstream_session_time` | same name | float list |
//! | `$request_length`, `$connection`, `$connection_requests`, `$content_length`, `$server_port`, `$remote_port`, `$realip_remote_port`, `$proxy_protocol_port`, `$proxy_protocol_server_port`, `$pid`, `$bytes_received`, `$connections_active`, `$connections_reading`, `$connections_writing`, `$connections_waiting`, `$tcpinfo_rtt`, `$tcpinfo_rttvar`, `$tcpinfo_snd_cwnd`, `$tcpinfo_rcv_space` | same name | integer |
//! | `$upstream_status`, `$upstream_bytes_received`, `$upstream_bytes_sent`, `$upstream_response_length` | same name | integer list |
//! | `$upstream_addr` | same name | keyword list |
//! | any other (`$request_id`, `$http_host`, `$ssl_protocol`, `$upstream_cache_status`, a `map`'s or `set`'s own variable, ...) | same name | keyword |
//!
//! A standard variable whose field another one took keeps its own name
//! (`$time_iso8601` beside `$time_local` is the keyword `time_iso8601`,
//! `$msec` the float `msec`).
//!
//! ## Apache (`LogFormat`)
//!
//! | directive | field | type |
//! |---|---|---|
//! | `%h`, `%a`, `%{c}a`, `%{c}h` | `ip` (as `$remote_addr`) | |
//! | `%l` | `ident` | |
//! | `%u` | `user` | |
//! | `%t` (with its brackets) | `timestamp` | |
//! | `%{sec}t`, `%{msec}t`, `%{usec}t` (also `begin:`/`end:`) | `timestamp` (UTC) | |
//! | `%r` | `method`, `endpoint`, `protocol` (or `request`) | |
//! | `%m`, `%U%q` (or `%U`), `%H` | `method`, `endpoint`, `protocol` (when there is no `%r`) | |
//! | `%>s` (or `%s`, `%<s` alone) | `status`; beside `%>s`, `%s`/`%<s` are `original_status` | integer |
//! | `%b`, `%B` | `size`; the second of them `body_bytes` | integer |
//! | `%{Referer}i` | `referrer` | |
//! | `%{User-Agent}i` | `user_agent` | |
//! | `%{X-Forwarded-For}i` | `forwarded_for` | |
//! | `%v` | `vhost` | |
//! | `%D`, `%{us}T` | `request_time_us` | integer |
//! | `%T`, `%{s}T` | `request_time_s` | integer |
//! | `%{ms}T` | `request_time_ms` | integer |
//! | `%I` | `bytes_received` | integer |
//! | `%O` | `bytes_sent` | integer |
//! | `%S` | `bytes_transferred` | integer |
//! | `%p`, `%{canonical}p` | `server_port` | integer |
//! | `%{local}p` | `local_port` | integer |
//! | `%{remote}p` | `client_port` | integer |
//! | `%P`, `%{pid}P` | `process_id` | integer |
//! | `%{tid}P` | `thread_id` | integer |
//! | `%{hextid}P` | `thread_id_hex` | keyword |
//! | `%k` | `keepalive_requests` | integer |
//! | `%X` | `connection_status` (`X`, `+`, `-`; note `-` reads as absent) | keyword |
//! | `%L` | `log_id` | keyword |
//! | `%R` | `handler` | keyword |
//! | `%f` | `filename` | keyword |
//! | `%A` | `local_ip` | keyword |
//! | `%V` | `server_name` | keyword |
//! | `%q` (not after `%U`) | `query_string` | keyword |
//! | `%{Name}i` (other headers) | `request_header_<name>` | keyword |
//! | `%{Name}o` | `response_header_<name>` | keyword |
//! | `%{Name}C` | `cookie_<name>` | keyword |
//! | `%{Name}e` | `env_<name>` | keyword |
//! | `%{Name}n` | `note_<name>` | keyword |
//! | `%{Name}x` (mod_ssl's `SSL_PROTOCOL`, ...) | `<name>` (`ssl_protocol`) | keyword |
//! | `%{Name}^ti`, `%{Name}^to` | `request_trailer_<name>`, `response_trailer_<name>` | keyword |
//!
//! `<name>` is the argument in snake case: `X-Request-ID` → `x_request_id`.
//! A directive whose standard field is taken becomes an extra under its
//! fallback name: `%h`/`%a` `remote_host`/`remote_ip`/`peer_ip`, `%l`
//! `remote_logname`, `%u` `remote_user`, `%t` `time`, `%r` `request_line`,
//! `%m` `request_method`, `%U` `url_path`, `%H` `request_protocol`, `%>s`
//! `final_status`, `%v` `canonical_server_name`, the headers
//! `request_header_<name>`.
//!
//! Extra names must not be a document's own field (`ip`, `user`, `status`,
//! ...) nor repeat: such a format is refused with [`FormatProblem::Duplicate`].

use crate::record::ValueKind;

use super::FormatProblem;

/// How a time variable writes the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeShape {
    /// `21/Jan/2026:22:23:40 +0000` (NGINX `$time_local`; Apache `%t`
    /// inside its brackets, which are literal text of the format).
    Common,
    /// `2026-01-21T22:23:40+00:00`.
    Iso8601,
    /// NGINX `$msec`: `1737498220.123`.
    SecondsDotMillis,
    /// Apache `%{sec}t`.
    Seconds,
    /// Apache `%{msec}t`.
    Millis,
    /// Apache `%{usec}t`.
    Micros,
}

impl TimeShape {
    /// The width of the shapes that have one: a field of this shape is
    /// taken whole even when it contains the text that follows it (the
    /// space of `$time_local`).
    pub(crate) fn width(self) -> Option<usize> {
        match self {
            TimeShape::Common => Some(crate::timestamp::COMMON_WIDTH),
            TimeShape::Iso8601 => Some(crate::timestamp::ISO_WIDTH + 6),
            _ => None,
        }
    }
}

/// A standard field of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standard {
    /// `ip`, or `client_host`, or a chain into `forwarded_for` and `ip`.
    Client,
    Time(TimeShape),
    /// The request line: `method`/`endpoint`/`protocol` or `request`.
    Request,
    Method,
    Endpoint,
    Protocol,
    Status,
    Size,
    Referrer,
    UserAgent,
    User,
    Ident,
    ForwardedFor,
    Vhost,
}

impl Standard {
    /// The record fields it fills; two variables cannot share one.
    pub(crate) fn slots(self) -> &'static [&'static str] {
        match self {
            Standard::Client => &["ip"],
            Standard::Time(_) => &["timestamp"],
            Standard::Request => &["method", "endpoint", "protocol"],
            Standard::Method => &["method"],
            Standard::Endpoint => &["endpoint"],
            Standard::Protocol => &["protocol"],
            Standard::Status => &["status"],
            Standard::Size => &["size"],
            Standard::Referrer => &["referrer"],
            Standard::UserAgent => &["user_agent"],
            Standard::User => &["user"],
            Standard::Ident => &["ident"],
            Standard::ForwardedFor => &["forwarded_for"],
            Standard::Vhost => &["vhost"],
        }
    }
}

/// The fields a document has whatever the format: no extra may take
/// these names.
pub(crate) const DOCUMENT_FIELDS: &[&str] = &[
    "ip",
    "client_host",
    "forwarded_for",
    "forwarded_for_other",
    "vhost",
    "ident",
    "user",
    "timestamp",
    "method",
    "endpoint",
    "protocol",
    "request",
    "status",
    "size",
    "referrer",
    "user_agent",
    "kafka",
];

/// A variable of a format, before it is given its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// As the format writes it, for messages: `$request_time`, `%>s`.
    pub display: String,
    /// The standard field it fills when no variable with a higher
    /// priority (or the same, earlier) fills it.
    pub standard: Option<Standard>,
    pub priority: u8,
    /// The extra field it is otherwise.
    pub name: String,
    pub kind: ValueKind,
}

impl Variable {
    fn new(display: String, standard: Option<Standard>, name: &str, kind: ValueKind) -> Self {
        Variable {
            display,
            standard,
            priority: 0,
            name: name.to_owned(),
            kind,
        }
    }

    fn preferred(mut self) -> Self {
        self.priority = 1;
        self
    }
}

/// An NGINX variable, `name` without its `$`.
pub(crate) fn nginx(name: &str) -> Variable {
    use Standard as S;
    use ValueKind as K;
    let display = format!("${name}");
    let (standard, kind) = match name {
        "remote_addr" => (Some(S::Client), K::Keyword),
        "remote_user" => (Some(S::User), K::Keyword),
        "time_local" => (Some(S::Time(TimeShape::Common)), K::Keyword),
        "time_iso8601" => (Some(S::Time(TimeShape::Iso8601)), K::Keyword),
        "msec" => (Some(S::Time(TimeShape::SecondsDotMillis)), K::Float),
        "request" => (Some(S::Request), K::Keyword),
        "request_method" => (Some(S::Method), K::Keyword),
        "request_uri" | "uri$is_args$args" => (Some(S::Endpoint), K::Keyword),
        "server_protocol" => (Some(S::Protocol), K::Keyword),
        "status" => (Some(S::Status), K::Integer),
        "body_bytes_sent" => {
            return Variable::new(display, Some(S::Size), name, K::Integer).preferred();
        }
        "bytes_sent" => (Some(S::Size), K::Integer),
        "http_referer" => (Some(S::Referrer), K::Keyword),
        "http_user_agent" => (Some(S::UserAgent), K::Keyword),
        "http_x_forwarded_for" => (Some(S::ForwardedFor), K::Keyword),
        "host" => (Some(S::Vhost), K::Keyword),
        "request_time" | "connection_time" | "session_time" | "gzip_ratio" => (None, K::Float),
        "upstream_connect_time"
        | "upstream_header_time"
        | "upstream_response_time"
        | "upstream_queue_time"
        | "upstream_first_byte_time"
        | "upstream_session_time" => (None, K::FloatList),
        "request_length"
        | "connection"
        | "connection_requests"
        | "content_length"
        | "server_port"
        | "remote_port"
        | "realip_remote_port"
        | "proxy_protocol_port"
        | "proxy_protocol_server_port"
        | "pid"
        | "bytes_received"
        | "connections_active"
        | "connections_reading"
        | "connections_writing"
        | "connections_waiting"
        | "tcpinfo_rtt"
        | "tcpinfo_rttvar"
        | "tcpinfo_snd_cwnd"
        | "tcpinfo_rcv_space" => (None, K::Integer),
        "upstream_status"
        | "upstream_bytes_received"
        | "upstream_bytes_sent"
        | "upstream_response_length" => (None, K::IntegerList),
        "upstream_addr" => (None, K::KeywordList),
        _ => (None, K::Keyword),
    };
    let name = if name == "uri$is_args$args" {
        "uri_and_args"
    } else {
        name
    };
    Variable::new(display, standard, name, kind)
}

/// An Apache directive: its letter (`s`, `^ti`), its `<`/`>` modifier and
/// its `{argument}`.
pub(crate) fn apache(
    letter: &str,
    modifier: Option<char>,
    arg: Option<&str>,
) -> Result<Variable, FormatProblem> {
    use Standard as S;
    use ValueKind as K;
    let display = match (modifier, arg) {
        (Some(m), Some(a)) => format!("%{m}{{{a}}}{letter}"),
        (Some(m), None) => format!("%{m}{letter}"),
        (None, Some(a)) => format!("%{{{a}}}{letter}"),
        (None, None) => format!("%{letter}"),
    };
    let v = |standard, name: &str, kind| Ok(Variable::new(display.clone(), standard, name, kind));
    let snake = arg.map(snake_case).unwrap_or_default();
    let unsupported = |why: &'static str| {
        Err(FormatProblem::Unsupported {
            what: display.clone(),
            why,
        })
    };
    match (letter, arg) {
        ("h", None) => v(Some(S::Client), "remote_host", K::Keyword),
        ("h", Some("c")) => v(Some(S::Client), "peer_host", K::Keyword),
        ("a", None) => v(Some(S::Client), "remote_ip", K::Keyword),
        ("a", Some("c")) => v(Some(S::Client), "peer_ip", K::Keyword),
        ("l", None) => v(Some(S::Ident), "remote_logname", K::Keyword),
        ("u", None) => v(Some(S::User), "remote_user", K::Keyword),
        ("t", None) => v(Some(S::Time(TimeShape::Common)), "time", K::Keyword),
        ("t", Some(format)) => {
            let unit = format
                .strip_prefix("begin:")
                .or_else(|| format.strip_prefix("end:"))
                .unwrap_or(format);
            match unit {
                "sec" => v(Some(S::Time(TimeShape::Seconds)), "time_sec", K::Integer),
                "msec" => v(Some(S::Time(TimeShape::Millis)), "time_msec", K::Integer),
                "usec" => v(Some(S::Time(TimeShape::Micros)), "time_usec", K::Integer),
                "msec_frac" | "usec_frac" => {
                    unsupported("a fraction of a second alone; use %{msec}t or %{usec}t")
                }
                _ => unsupported("strftime time formats; use %t, %{sec}t, %{msec}t or %{usec}t"),
            }
        }
        ("r", None) => v(Some(S::Request), "request_line", K::Keyword),
        ("m", None) => v(Some(S::Method), "request_method", K::Keyword),
        ("U", None) => v(Some(S::Endpoint), "url_path", K::Keyword),
        ("Uq", None) => v(Some(S::Endpoint), "url_path_and_query", K::Keyword),
        ("q", None) => v(None, "query_string", K::Keyword),
        ("H", None) => v(Some(S::Protocol), "request_protocol", K::Keyword),
        ("s", None) if modifier == Some('>') => {
            Ok(
                Variable::new(display.clone(), Some(S::Status), "final_status", K::Integer)
                    .preferred(),
            )
        }
        ("s", None) => v(Some(S::Status), "original_status", K::Integer),
        ("b", None) => {
            Ok(Variable::new(display.clone(), Some(S::Size), "body_bytes", K::Integer).preferred())
        }
        ("B", None) => v(Some(S::Size), "body_bytes", K::Integer),
        ("i", Some(header)) => match header.to_ascii_lowercase().as_str() {
            "referer" => v(Some(S::Referrer), "request_header_referer", K::Keyword),
            "user-agent" => v(Some(S::UserAgent), "request_header_user_agent", K::Keyword),
            "x-forwarded-for" => v(
                Some(S::ForwardedFor),
                "request_header_x_forwarded_for",
                K::Keyword,
            ),
            _ => v(None, &format!("request_header_{snake}"), K::Keyword),
        },
        ("v", None) => v(Some(S::Vhost), "canonical_server_name", K::Keyword),
        ("V", None) => v(None, "server_name", K::Keyword),
        ("D", None) | ("T", Some("us")) => v(None, "request_time_us", K::Integer),
        ("T", None) | ("T", Some("s")) => v(None, "request_time_s", K::Integer),
        ("T", Some("ms")) => v(None, "request_time_ms", K::Integer),
        ("I", None) => v(None, "bytes_received", K::Integer),
        ("O", None) => v(None, "bytes_sent", K::Integer),
        ("S", None) => v(None, "bytes_transferred", K::Integer),
        ("p", None) | ("p", Some("canonical")) => v(None, "server_port", K::Integer),
        ("p", Some("local")) => v(None, "local_port", K::Integer),
        ("p", Some("remote")) => v(None, "client_port", K::Integer),
        ("P", None) | ("P", Some("pid")) => v(None, "process_id", K::Integer),
        ("P", Some("tid")) => v(None, "thread_id", K::Integer),
        ("P", Some("hextid")) => v(None, "thread_id_hex", K::Keyword),
        ("k", None) => v(None, "keepalive_requests", K::Integer),
        ("X", None) => v(None, "connection_status", K::Keyword),
        ("L", None) => v(None, "log_id", K::Keyword),
        ("R", None) => v(None, "handler", K::Keyword),
        ("f", None) => v(None, "filename", K::Keyword),
        ("A", None) => v(None, "local_ip", K::Keyword),
        ("o", Some(_)) => v(None, &format!("response_header_{snake}"), K::Keyword),
        ("C", Some(_)) => v(None, &format!("cookie_{snake}"), K::Keyword),
        ("e", Some(_)) => v(None, &format!("env_{snake}"), K::Keyword),
        ("n", Some(_)) => v(None, &format!("note_{snake}"), K::Keyword),
        ("x", Some(_)) => v(None, &snake, K::Keyword),
        ("^ti", Some(_)) => v(None, &format!("request_trailer_{snake}"), K::Keyword),
        ("^to", Some(_)) => v(None, &format!("response_trailer_{snake}"), K::Keyword),
        (_, Some(_)) if is_known_letter(letter) => {
            unsupported("this argument; see the list of supported directives")
        }
        (_, None) if is_known_letter(letter) => unsupported("it without its {argument}"),
        _ => Err(FormatProblem::UnknownDirective(display.clone())),
    }
}

/// The letters mod_log_config knows (with some argument or other).
fn is_known_letter(letter: &str) -> bool {
    matches!(
        letter,
        "a" | "A"
            | "b"
            | "B"
            | "C"
            | "D"
            | "e"
            | "f"
            | "h"
            | "H"
            | "i"
            | "k"
            | "l"
            | "L"
            | "m"
            | "n"
            | "o"
            | "p"
            | "P"
            | "q"
            | "r"
            | "R"
            | "s"
            | "t"
            | "T"
            | "u"
            | "U"
            | "v"
            | "V"
            | "x"
            | "X"
            | "I"
            | "O"
            | "S"
            | "^ti"
            | "^to"
    )
}

/// `X-Request-ID` → `x_request_id`: what Elasticsearch users expect of a
/// field name.
pub(crate) fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}
