//! The access-log record: one request, as a web server (or the original
//! generator) logged it.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::timestamp::LogTime;

/// One access-log line, split into fields.
///
/// Text fields borrow from the line they were parsed from (or from the
/// generator's static value sets), so parsing and generating allocate only for
/// the rare field that needs unescaping or building. `None` is a field the
/// line's format does not have, or that the server logged as `-` where `-`
/// means "nothing" (a user, a forwarded-for header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLog<'a> {
    /// The client's address; `None` when the server logged a host name
    /// (`client_host`) or its format has no client.
    pub ip: Option<IpAddr>,
    /// The client as a host name (Apache's `HostnameLookups On`).
    pub client_host: Option<Cow<'a, str>>,
    /// An X-Forwarded-For chain as logged (`a, b, c`): from a client field
    /// holding a chain, or from NGINX's `$http_x_forwarded_for`.
    pub forwarded_for: Option<Cow<'a, str>>,
    /// The virtual host that served the request (Apache's `%v`, NGINX's `$host`).
    pub vhost: Option<Cow<'a, str>>,
    /// `%l`, the identd answer, nearly always `-` (then `None`).
    pub ident: Option<Cow<'a, str>>,
    /// The authenticated user (`%u`, `$remote_user`).
    pub user: Option<Cow<'a, str>>,
    pub timestamp: LogTime,
    /// The request line's three parts; all empty when the request was not
    /// `METHOD target PROTOCOL` (then `request` holds it as logged).
    pub method: Cow<'a, str>,
    pub endpoint: Cow<'a, str>,
    pub protocol: Cow<'a, str>,
    /// The raw request line when it is not a method/target/protocol triple:
    /// `-` (Apache's idle keep-alive 408s), empty (NGINX's 400s for TLS
    /// handshakes), a scanner's garbage.
    pub request: Option<Cow<'a, str>>,
    pub status: u16,
    /// Response body bytes; a logged `-` (nothing sent) is 0; `None` when
    /// the format has no size.
    pub size: Option<u64>,
    /// `-` when the client sent none, as logged; `None` when the format has
    /// no referrer (Apache's common format).
    pub referrer: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    /// Fields without a place above: a user format's other variables, and
    /// the text a combined line carries after its known fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<Extra<'a>>,
}

/// A field of a user-defined format, kept under its own name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extra<'a> {
    /// Shared with the compiled format, which names it once.
    pub name: Arc<str>,
    pub kind: ValueKind,
    /// As logged (unescaped); checked at parse time to be of its `kind`.
    pub value: Cow<'a, str>,
}

/// How an extra field's text becomes a JSON value (and is mapped in the
/// index template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A string, indexed as a keyword.
    Keyword,
    /// A whole number.
    Integer,
    /// A decimal number (seconds with milliseconds).
    Float,
    /// NGINX's per-upstream lists, `a, b : c`: an array of whole numbers.
    IntegerList,
    /// An array of decimal numbers.
    FloatList,
    /// An array of strings.
    KeywordList,
}

impl<'a> AccessLog<'a> {
    /// A record with the fields every format has; the others absent.
    pub fn new(ip: Option<IpAddr>, timestamp: LogTime, status: u16) -> Self {
        AccessLog {
            ip,
            client_host: None,
            forwarded_for: None,
            vhost: None,
            ident: None,
            user: None,
            timestamp,
            method: Cow::Borrowed(""),
            endpoint: Cow::Borrowed(""),
            protocol: Cow::Borrowed(""),
            request: None,
            status,
            size: None,
            referrer: None,
            user_agent: None,
            extra: Vec::new(),
        }
    }

    /// Detaches the record from the line it borrows from.
    pub fn into_owned(self) -> AccessLog<'static> {
        fn own(text: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(text.into_owned())
        }
        AccessLog {
            ip: self.ip,
            client_host: self.client_host.map(own),
            forwarded_for: self.forwarded_for.map(own),
            vhost: self.vhost.map(own),
            ident: self.ident.map(own),
            user: self.user.map(own),
            timestamp: self.timestamp,
            method: own(self.method),
            endpoint: own(self.endpoint),
            protocol: own(self.protocol),
            request: self.request.map(own),
            status: self.status,
            size: self.size,
            referrer: self.referrer.map(own),
            user_agent: self.user_agent.map(own),
            extra: self
                .extra
                .into_iter()
                .map(|e| Extra {
                    name: e.name,
                    kind: e.kind,
                    value: own(e.value),
                })
                .collect(),
        }
    }
}
