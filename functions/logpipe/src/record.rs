//! The access-log record: one request, as a web server (or the original
//! generator) logged it.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

use crate::timestamp::LogTime;

/// One access-log line, split into fields.
///
/// Text fields borrow from the line they were parsed from (or from the
/// generator's static value sets), so parsing and generating allocate only for
/// the rare field that needs unescaping or building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLog<'a> {
    pub ip: IpAddr,
    pub timestamp: LogTime,
    pub method: Cow<'a, str>,
    pub endpoint: Cow<'a, str>,
    pub protocol: Cow<'a, str>,
    pub status: u16,
    /// Response body bytes; a logged `-` (nothing sent) is 0.
    pub size: u64,
    /// `-` when the client sent none, as logged.
    pub referrer: Cow<'a, str>,
    pub user_agent: Cow<'a, str>,
}

impl AccessLog<'_> {
    /// Detaches the record from the line it borrows from.
    pub fn into_owned(self) -> AccessLog<'static> {
        AccessLog {
            ip: self.ip,
            timestamp: self.timestamp,
            method: Cow::Owned(self.method.into_owned()),
            endpoint: Cow::Owned(self.endpoint.into_owned()),
            protocol: Cow::Owned(self.protocol.into_owned()),
            status: self.status,
            size: self.size,
            referrer: Cow::Owned(self.referrer.into_owned()),
            user_agent: Cow::Owned(self.user_agent.into_owned()),
        }
    }
}
