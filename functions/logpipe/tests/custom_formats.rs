//! User-defined formats: for random format strings built from supported
//! NGINX variables or Apache directives and separators, a random record
//! written with the format reads back as the same record.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate};
use logpipe::parse::custom::CompiledFormat;
use logpipe::record::{Extra, ValueKind};
use logpipe::{AccessLog, LogTime};
use proptest::prelude::*;
use proptest::sample::{Index, subsequence};

/// A field a random format may have, besides its time and status.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Client,
    User,
    Ident,
    Request,
    Size,
    Referrer,
    UserAgent,
    ForwardedFor,
    Vhost,
    /// Integer extras: `$request_length` / `%I`.
    Count,
    /// `$request_time` (float) / `%D` (integer).
    Duration,
    /// `$upstream_response_time` (float list), NGINX only.
    UpstreamTimes,
    /// `$upstream_status` (integer list), NGINX only.
    UpstreamStatus,
    /// `$upstream_addr` (keyword list), NGINX only.
    UpstreamAddr,
    /// `$request_id` / `%{X-Request-ID}i`: keyword.
    RequestId,
    Status,
    Time,
}

const SLOTS: [Slot; 15] = [
    Slot::Client,
    Slot::User,
    Slot::Ident,
    Slot::Request,
    Slot::Size,
    Slot::Referrer,
    Slot::UserAgent,
    Slot::ForwardedFor,
    Slot::Vhost,
    Slot::Count,
    Slot::Duration,
    Slot::UpstreamTimes,
    Slot::UpstreamStatus,
    Slot::UpstreamAddr,
    Slot::RequestId,
];

/// Literal text between fields: none of it can occur in an unquoted value.
const SEPARATORS: [&str; 6] = [" ", " | ", "\t", " ~ ", ";", "> <"];

/// The variable (or directive) for a slot, and the extra it makes.
fn variable(
    slot: Slot,
    apache: bool,
    time: usize,
) -> Option<(&'static str, Option<(&'static str, ValueKind)>)> {
    use ValueKind as K;
    Some(match (slot, apache) {
        (Slot::Client, false) => ("$remote_addr", None),
        (Slot::Client, true) => ("%h", None),
        (Slot::User, false) => ("$remote_user", None),
        (Slot::User, true) => ("%u", None),
        (Slot::Ident, false) => return None,
        (Slot::Ident, true) => ("%l", None),
        (Slot::Request, false) => ("$request", None),
        (Slot::Request, true) => ("%r", None),
        (Slot::Size, false) => ("$body_bytes_sent", None),
        (Slot::Size, true) => ("%B", None),
        (Slot::Referrer, false) => ("$http_referer", None),
        (Slot::Referrer, true) => ("%{Referer}i", None),
        (Slot::UserAgent, false) => ("${http_user_agent}", None),
        (Slot::UserAgent, true) => ("%{User-Agent}i", None),
        (Slot::ForwardedFor, false) => ("$http_x_forwarded_for", None),
        (Slot::ForwardedFor, true) => ("%{X-Forwarded-For}i", None),
        (Slot::Vhost, false) => ("$host", None),
        (Slot::Vhost, true) => ("%v", None),
        (Slot::Count, false) => ("$request_length", Some(("request_length", K::Integer))),
        (Slot::Count, true) => ("%I", Some(("bytes_received", K::Integer))),
        (Slot::Duration, false) => ("$request_time", Some(("request_time", K::Float))),
        (Slot::Duration, true) => ("%D", Some(("request_time_us", K::Integer))),
        (Slot::UpstreamTimes, false) => (
            "$upstream_response_time",
            Some(("upstream_response_time", K::FloatList)),
        ),
        (Slot::UpstreamStatus, false) => (
            "$upstream_status",
            Some(("upstream_status", K::IntegerList)),
        ),
        (Slot::UpstreamAddr, false) => ("$upstream_addr", Some(("upstream_addr", K::KeywordList))),
        (Slot::RequestId, false) => ("$request_id", Some(("request_id", K::Keyword))),
        (Slot::RequestId, true) => (
            "%{X-Request-ID}i",
            Some(("request_header_x_request_id", K::Keyword)),
        ),
        (Slot::UpstreamTimes | Slot::UpstreamStatus | Slot::UpstreamAddr, true) => return None,
        (Slot::Status, false) => ("$status", None),
        (Slot::Status, true) => ("%>s", None),
        (Slot::Time, false) => (["[$time_local]", "$time_iso8601", "$msec"][time], None),
        (Slot::Time, true) => (["%t", "%{sec}t", "%{msec}t"][time], None),
    })
}

/// Values for every slot; a format uses some of them.
#[derive(Debug, Clone)]
struct Values {
    client: (u8, Ipv4Addr, Ipv6Addr, String, Ipv4Addr),
    user: Option<String>,
    ident: Option<String>,
    /// A triple, or a raw request (`-`, a token, TLS bytes as NGINX writes them).
    request: Result<(String, String, String), String>,
    size: u64,
    text: (String, String),
    forwarded_for: Option<(Ipv4Addr, Ipv4Addr)>,
    vhost: Option<String>,
    count: Option<u32>,
    millis: Option<u32>,
    upstream: Option<Vec<(u32, u16, Ipv4Addr)>>,
    request_id: Option<String>,
    status: u16,
    time: LogTime,
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9._/-]{0,11}"
}

/// Anything, including quotes and backslashes (written escaped).
fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        "\\PC{0,12}",
        Just(r#"a "quoted" \ agent"#.to_owned()),
        Just(r"\x16\x03".to_owned()),
    ]
}

fn values() -> impl Strategy<Value = Values> {
    let time = (
        // From 1971: a time early on 1970-01-01 at an offset east of UTC is
        // before the epoch, which no server writes as seconds since 1970.
        1971i32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..86_400,
        -(14 * 60)..=(14 * 60),
    )
        .prop_filter_map("a time", |(y, m, d, s, tz)| {
            let t = NaiveDate::from_ymd_opt(y, m, d)?.and_hms_opt(s / 3600, s / 60 % 60, s % 60)?;
            let offset = FixedOffset::east_opt(tz * 60)?;
            t.and_local_timezone(offset).single().map(LogTime::from)
        });
    let request = prop_oneof![
        (
            "[A-Z]{1,7}",
            "/[!-~]{0,20}",
            prop_oneof![Just("HTTP/1.1"), Just("HTTP/2.0"), Just("HTTP/1.0")]
        )
            .prop_map(|(m, e, p)| Ok((m, e, p.to_owned()))),
        prop_oneof![
            Just("-".to_owned()),
            token(),
            Just(r"\x16\x03\x01".to_owned())
        ]
        .prop_map(Err),
    ];
    (
        (
            (
                0u8..4,
                any::<[u8; 4]>(),
                any::<u128>(),
                token(),
                any::<[u8; 4]>(),
            ),
            proptest::option::of(token()),
            proptest::option::of(token()),
            request,
            0u64..10_000_000_000,
            (free_text(), token()),
            proptest::option::of((any::<[u8; 4]>(), any::<[u8; 4]>())),
        ),
        (
            proptest::option::of(token()),
            proptest::option::of(0u32..1_000_000),
            proptest::option::of(0u32..100_000),
            proptest::option::of(proptest::collection::vec(
                (0u32..100_000, 100u16..600, any::<[u8; 4]>()),
                1..4,
            )),
            proptest::option::of(token()),
            100u16..600,
            time,
        ),
    )
        .prop_map(
            |(
                (c, user, ident, request, size, text, ff),
                (vhost, count, millis, upstream, request_id, status, time),
            )| Values {
                client: (c.0, c.1.into(), c.2.into(), c.3, c.4.into()),
                user,
                ident,
                request,
                size,
                text,
                forwarded_for: ff.map(|(a, b)| (a.into(), b.into())),
                vhost,
                count,
                millis,
                upstream: upstream.map(|u| {
                    u.into_iter()
                        .map(|(ms, status, addr)| (ms, status, addr.into()))
                        .collect()
                }),
                request_id,
                status,
                time,
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    apache: bool,
    time: usize,
    /// Each field with whether the format quotes it.
    fields: Vec<(Slot, bool)>,
    separators: Vec<usize>,
    prefix: bool,
    suffix: bool,
    values: Values,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        0usize..3,
        subsequence(SLOTS.to_vec(), 0..=SLOTS.len()).prop_shuffle(),
        any::<(Index, Index)>(),
        proptest::collection::vec((any::<bool>(), 0..SEPARATORS.len()), 20),
        any::<(bool, bool)>(),
        values(),
    )
        .prop_map(
            |(apache, time, slots, (at_time, at_status), choices, (prefix, suffix), values)| {
                let mut slots: Vec<Slot> = slots
                    .into_iter()
                    .filter(|s| variable(*s, apache, time).is_some())
                    .collect();
                slots.insert(at_time.index(slots.len() + 1), Slot::Time);
                slots.insert(at_status.index(slots.len() + 1), Slot::Status);
                let fields = slots
                    .iter()
                    .zip(&choices)
                    // Requests have spaces: always quoted.
                    .map(|(slot, (quoted, _))| (*slot, *quoted || *slot == Slot::Request))
                    .collect();
                Case {
                    apache,
                    time,
                    fields,
                    separators: choices.iter().map(|(_, s)| *s).collect(),
                    prefix,
                    suffix,
                    values,
                }
            },
        )
}

impl Case {
    fn spec(&self) -> String {
        let quote = if self.apache { r#"\""# } else { "\"" };
        let mut spec = String::new();
        if self.prefix {
            spec.push_str("log: ");
        }
        for (i, (slot, quoted)) in self.fields.iter().enumerate() {
            if i > 0 {
                spec.push_str(SEPARATORS[self.separators[i]]);
            }
            let (name, _) = variable(*slot, self.apache, self.time).unwrap_or_default();
            if *quoted {
                spec.push_str(quote);
            }
            spec.push_str(name);
            if *quoted {
                spec.push_str(quote);
            }
        }
        if self.suffix {
            spec.push_str(" end");
        }
        spec
    }

    fn quoted(&self, slot: Slot) -> bool {
        self.fields.iter().any(|(s, q)| *s == slot && *q)
    }

    fn has(&self, slot: Slot) -> bool {
        self.fields.iter().any(|(s, _)| *s == slot)
    }

    /// The record these fields carry.
    fn record(&self) -> AccessLog<'static> {
        let v = &self.values;
        let own = |s: &str| Some(Cow::Owned(s.to_owned()));
        // Seconds since 1970 carry no offset: such a line reads back in UTC.
        let epoch = if self.apache {
            self.time >= 1
        } else {
            self.time == 2
        };
        let time = match epoch {
            true => LogTime::from(v.time.to_utc().fixed_offset()),
            false => v.time,
        };
        let mut r = AccessLog::new(None, time, v.status);
        for (slot, quoted) in &self.fields {
            match slot {
                Slot::Client => {
                    let (kind, v4, v6, host, second) = &v.client;
                    match kind {
                        0 => r.ip = Some(IpAddr::V4(*v4)),
                        1 => r.ip = Some(IpAddr::V6(*v6)),
                        2 => r.client_host = own(&format!("h{host}")),
                        // A chain, when the format has no field of its own for one.
                        _ if !self.has(Slot::ForwardedFor) => {
                            r.ip = Some(IpAddr::V4(*v4));
                            r.forwarded_for = own(&format!("{v4}, {second}"));
                        }
                        _ => {}
                    }
                }
                Slot::User => r.user = v.user.as_deref().and_then(own),
                Slot::Ident => r.ident = v.ident.as_deref().and_then(own),
                Slot::Request => match &v.request {
                    Ok((m, e, p)) => {
                        r.method = Cow::Owned(m.clone());
                        r.endpoint = Cow::Owned(e.clone());
                        r.protocol = Cow::Owned(p.clone());
                    }
                    Err(raw) => r.request = own(raw),
                },
                Slot::Size => r.size = Some(v.size),
                Slot::Referrer | Slot::UserAgent => {
                    let text = match quoted {
                        true => &v.text.0,
                        false => &v.text.1,
                    };
                    match slot {
                        Slot::Referrer => r.referrer = own(text),
                        _ => r.user_agent = own(text),
                    }
                }
                Slot::ForwardedFor => {
                    r.forwarded_for = v.forwarded_for.and_then(|(a, b)| own(&format!("{a}, {b}")))
                }
                Slot::Vhost => r.vhost = v.vhost.as_deref().and_then(own),
                Slot::Status | Slot::Time => {}
                extra => {
                    let value = match extra {
                        Slot::Count => v.count.map(|n| n.to_string()),
                        Slot::Duration if self.apache => v.millis.map(|ms| (ms * 1000).to_string()),
                        Slot::Duration => {
                            v.millis.map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000))
                        }
                        Slot::UpstreamTimes => v.upstream.as_ref().map(|u| {
                            list(
                                u.iter()
                                    .map(|(ms, _, _)| format!("{}.{:03}", ms / 1000, ms % 1000)),
                            )
                        }),
                        Slot::UpstreamStatus => v
                            .upstream
                            .as_ref()
                            .map(|u| list(u.iter().map(|(_, s, _)| s.to_string()))),
                        Slot::UpstreamAddr => v
                            .upstream
                            .as_ref()
                            .map(|u| list(u.iter().map(|(_, _, a)| format!("{a}:8080")))),
                        _ => v.request_id.clone(),
                    };
                    let (_, Some((name, kind))) =
                        variable(*slot, self.apache, self.time).unwrap_or_default()
                    else {
                        continue;
                    };
                    if let Some(value) = value {
                        r.extra.push(Extra {
                            name: Arc::from(name),
                            kind,
                            value: Cow::Owned(value),
                        });
                    }
                }
            }
        }
        r
    }
}

/// NGINX's per-upstream list: `a, b` within a group, ` : ` between groups.
fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i == 2 { " : " } else { ", " });
        }
        out.push_str(item);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn write_then_parse_is_the_identity(case in case()) {
        let spec = case.spec();
        let format = CompiledFormat::compile(&spec)
            .map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        let record = case.record();
        let mut out = Vec::new();
        format.write(&record, &mut out);
        let line = String::from_utf8(out).expect("UTF-8 in, UTF-8 out");
        let parsed = format.parse(&line);
        prop_assert_eq!(parsed.as_ref(), Ok(&record), "format {}\nline {}", spec, line);
        prop_assert_eq!(
            format.quotes_its_strings(),
            [Slot::Request, Slot::Referrer, Slot::UserAgent]
                .iter()
                .all(|s| !case.has(*s) || case.quoted(*s))
        );
    }

    /// Whatever the line, parsing answers (an error names where) and never panics.
    #[test]
    fn damaged_lines_are_errors_not_panics(case in case(), cut in any::<Index>(), junk in "\\PC{0,3}") {
        let spec = case.spec();
        let format = CompiledFormat::compile(&spec)
            .map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        let mut out = Vec::new();
        format.write(&case.record(), &mut out);
        let line = String::from_utf8(out).expect("UTF-8");
        let mut at = cut.index(line.len() + 1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        // Cut there, junk inserted, the next characters reversed.
        let reversed: String = line[at..].chars().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        let damaged = format!("{}{junk}{reversed}", &line[..at]);
        if let Err(e) = format.parse(&damaged) {
            prop_assert!(e.at <= damaged.len(), "{e} in {damaged:?}");
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// Pieces format strings are made of, good and bad, so that random
/// strings reach the compiler's corners (the fuzz target goes further).
fn format_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$".to_owned()),
        Just("${".to_owned()),
        Just("}".to_owned()),
        Just("%".to_owned()),
        Just("%{".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just(";".to_owned()),
        Just("log_format ".to_owned()),
        Just("LogFormat ".to_owned()),
        Just("$time_local".to_owned()),
        Just("$status".to_owned()),
        Just("$upstream_status".to_owned()),
        Just("%t".to_owned()),
        Just("%>s".to_owned()),
        Just("%U%q".to_owned()),
        Just("%{msec}t".to_owned()),
        "[ -~]{0,3}",
        "\\PC{0,2}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any string compiles or is refused with a position inside it; a
    /// compiled format answers any line without a panic.
    #[test]
    fn any_format_string_compiles_or_is_refused(
        pieces in proptest::collection::vec(format_piece(), 0..12),
        line in "\\PC{0,60}",
    ) {
        let spec: String = pieces.concat();
        match CompiledFormat::compile(&spec) {
            Err(e) => prop_assert!(e.at <= spec.len(), "{e} in {spec:?}"),
            Ok(format) => {
                if let Err(e) = format.parse(&line) {
                    prop_assert!(e.at <= line.len(), "{e} in {line:?}");
                }
                let _ = format.quotes_its_strings();
            }
        }
    }
}
