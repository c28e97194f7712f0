//! A record as a line of a compiled format: the scanner's inverse, for
//! the generator and the round-trip tests.

use std::io::Write;

use super::scanner::{Field, Scanner, Target};
use super::variables::{Standard, TimeShape};
use crate::parse::escape_into;
use crate::record::AccessLog;
use crate::timestamp::LogTime;

pub(crate) fn write(scanner: &Scanner, record: &AccessLog<'_>, out: &mut Vec<u8>) {
    // A chain read from the client field goes back there, unless the
    // format has a field of its own for it.
    let chain_in_client = !scanner
        .steps
        .iter()
        .any(|step| step.field.target == Target::Standard(Standard::ForwardedFor));
    out.extend_from_slice(scanner.head.bytes());
    for step in &scanner.steps {
        field(&step.field, record, chain_in_client, out);
        out.extend_from_slice(step.then.bytes());
    }
}

fn field(field: &Field, r: &AccessLog<'_>, chain_in_client: bool, out: &mut Vec<u8>) {
    let text = |out: &mut Vec<u8>, value: &str| match field.quoted {
        true => escape_into(value, out),
        false => out.extend_from_slice(value.as_bytes()),
    };
    let text_or_dash = |out: &mut Vec<u8>, value: Option<&str>| match value {
        Some(value) => text(out, value),
        None => out.push(b'-'),
    };
    let part = |out: &mut Vec<u8>, value: &str| match value {
        "" => out.push(b'-'),
        value => text(out, value),
    };
    let standard = match &field.target {
        Target::Standard(standard) => *standard,
        Target::Extra { name, .. } => {
            let value = r.extra.iter().find(|e| e.name == *name);
            return text_or_dash(out, value.map(|e| &*e.value));
        }
    };
    match standard {
        Standard::Client => match (&r.forwarded_for, r.ip, &r.client_host) {
            (Some(chain), _, _) if chain_in_client => text(out, chain),
            (_, Some(ip), _) => {
                let _ = write!(out, "{ip}");
            }
            (_, None, Some(host)) => text(out, host),
            _ => out.push(b'-'),
        },
        Standard::Time(shape) => time(shape, &r.timestamp, out),
        Standard::Request => match &r.request {
            Some(raw) => text(out, raw),
            None if r.method.is_empty() => out.push(b'-'),
            None => {
                text(out, &r.method);
                out.push(b' ');
                text(out, &r.endpoint);
                out.push(b' ');
                text(out, &r.protocol);
            }
        },
        Standard::Method => part(out, &r.method),
        Standard::Endpoint => part(out, &r.endpoint),
        Standard::Protocol => part(out, &r.protocol),
        Standard::Status => out.extend_from_slice(itoa::Buffer::new().format(r.status).as_bytes()),
        Standard::Size => match r.size {
            Some(size) => out.extend_from_slice(itoa::Buffer::new().format(size).as_bytes()),
            None => out.push(b'-'),
        },
        Standard::Referrer => text_or_dash(out, r.referrer.as_deref()),
        Standard::UserAgent => text_or_dash(out, r.user_agent.as_deref()),
        Standard::User => text_or_dash(out, r.user.as_deref()),
        Standard::Ident => text_or_dash(out, r.ident.as_deref()),
        Standard::ForwardedFor => text_or_dash(out, r.forwarded_for.as_deref()),
        Standard::Vhost => text_or_dash(out, r.vhost.as_deref()),
    }
}

fn time(shape: TimeShape, t: &LogTime, out: &mut Vec<u8>) {
    let utc = t.to_utc();
    let mut number = |n: i64| out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    let seconds = utc.timestamp();
    let nanos = i64::from(utc.timestamp_subsec_nanos());
    match shape {
        TimeShape::Common => t.write_common(out),
        TimeShape::Iso8601 => t.write_iso(out),
        TimeShape::Seconds => number(seconds),
        TimeShape::Millis => number(seconds * 1000 + nanos / 1_000_000),
        TimeShape::Micros => number(seconds * 1_000_000 + nanos / 1000),
        TimeShape::SecondsDotMillis => {
            number(seconds);
            let millis = nanos / 1_000_000;
            out.extend_from_slice(&[
                b'.',
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
            ]);
        }
    }
}
