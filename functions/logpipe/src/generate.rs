//! Synthetic access logs.
//!
//! By default the generator reproduces the original producer's value sets,
//! picked uniformly as its `random.choice` did (DESIGN.md §1). Options make the
//! traffic more like a real site's: weighted methods and statuses, many
//! endpoints with query strings, IPv6 clients, and a clock that advances.
//! The line format the records are for decides which fields beyond the
//! original's are filled: a remote user for a server's format, an
//! X-Forwarded-For chain for NGINX's `main`, a virtual host and port for
//! `vhost_combined`.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use chrono::{FixedOffset, NaiveDateTime, Offset, TimeDelta, Utc};
use fake::Fake;
use fake::faker::internet::en::IPv4;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::format::{LineFormat, SERVER_PORT};
use crate::record::{AccessLog, Extra, ValueKind};
use crate::timestamp::LogTime;

/// The original producer's value sets.
pub mod original {
    pub const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
    pub const ENDPOINTS: [&str; 5] = ["/api/users", "/home", "/about", "/contact", "/services"];
    pub const STATUSES: [u16; 6] = [200, 301, 302, 400, 404, 500];
    pub const SIZES: std::ops::RangeInclusive<u64> = 1000..=15000;
    pub const REFERRERS: [&str; 5] = [
        "https://example.com",
        "https://google.com",
        "-",
        "https://bing.com",
        "https://yahoo.com",
    ];
    pub const USER_AGENTS: [&str; 6] = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X)",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
    ];
    pub const PROTOCOL: &str = "HTTP/1.1";
}

/// Shares seen on busy public sites: mostly reads, mostly successes.
mod weighted {
    pub const METHODS: [(&str, u32); 7] = [
        ("GET", 820),
        ("POST", 110),
        ("PUT", 25),
        ("DELETE", 10),
        ("HEAD", 20),
        ("PATCH", 10),
        ("OPTIONS", 5),
    ];
    pub const STATUSES: [(u16, u32); 12] = [
        (200, 720),
        (201, 20),
        (204, 20),
        (301, 25),
        (302, 40),
        (304, 60),
        (400, 20),
        (401, 15),
        (403, 10),
        (404, 60),
        (500, 7),
        (503, 3),
    ];
}

/// The fields web servers log and the original system did not, drawn from
/// small sets of plausible values (documentation addresses, RFC 5737/3849).
mod server {
    /// Users of HTTP basic authentication, on [`USER_SHARE`] of the lines.
    pub const USERS: [&str; 5] = ["alice", "bob", "carol", "deploy", "monitor"];
    pub const USER_SHARE: f64 = 0.05;
    /// X-Forwarded-For headers as a proxy in front of NGINX passes them: the
    /// client and the proxies it went through, and a proxy that hides the
    /// client (Squid's `unknown`); on [`FORWARDED_SHARE`] of the lines.
    pub const FORWARDED_FOR: [&str; 6] = [
        "203.0.113.7",
        "203.0.113.7, 10.0.0.2",
        "198.51.100.23, 10.0.0.2",
        "192.0.2.44, 198.51.100.9, 10.0.0.3",
        "2001:db8::7, 10.0.0.2",
        "unknown, 10.0.0.2",
    ];
    pub const FORWARDED_SHARE: f64 = 0.3;
    pub const VHOSTS: [&str; 4] = [
        "www.example.com",
        "api.example.com",
        "shop.example.com",
        "static.example.com",
    ];
    /// Most sites redirect plain HTTP to HTTPS: few requests stay on port 80.
    pub const HTTPS_SHARE: f64 = 0.85;
    /// Mixed into the seed for the stream these fields are drawn from.
    pub const SEED_SALT: u64 = 0x5e4e_f1e1_d5f0_4a75;
}

/// Endpoints of a small web shop; `{}` is replaced by a number.
const EXTENDED_ENDPOINTS: [&str; 16] = [
    "/",
    "/home",
    "/about",
    "/contact",
    "/services",
    "/api/users",
    "/api/users/{}",
    "/api/orders/{}",
    "/api/orders?page={}&per_page=50",
    "/products/{}",
    "/products?category=books&page={}",
    "/search?q=rust+lambda&page={}",
    "/cart",
    "/checkout?step={}",
    "/static/app.{}.js",
    "/images/logo.png",
];

/// How to generate; [`GeneratorConfig::default`] is the original producer.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Same seed, same config: same lines. `None` draws a seed.
    pub seed: Option<u64>,
    /// The first line's time; `None` is the local time now, naive, as the original.
    pub start: Option<NaiveDateTime>,
    /// Lines per second of simulated time; `None` gives every line the start
    /// time, as a batch generated within a second by the original did.
    pub rate: Option<f64>,
    /// Attach this UTC offset to timestamps (for the Combined Log Format).
    pub utc_offset: Option<FixedOffset>,
    /// Weighted methods and statuses instead of uniform picks.
    pub weighted: bool,
    /// Many endpoints, with ids and query strings.
    pub extended_endpoints: bool,
    /// Share of clients with an IPv6 address, 0.0..=1.0.
    pub ipv6_share: f64,
    /// The format the records will be written in: the generator fills the
    /// fields it has beyond the original's (and only those), and gives a
    /// server's format UTC timestamps when `utc_offset` is `None`.
    pub format: LineFormat,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: None,
            start: None,
            rate: None,
            utc_offset: None,
            weighted: false,
            extended_endpoints: false,
            ipv6_share: 0.0,
            format: LineFormat::Original,
        }
    }
}

impl GeneratorConfig {
    /// The base that explicit options refine: [`realistic`](Self::realistic)
    /// or the original system's defaults.
    pub fn preset(realistic: bool) -> Self {
        if realistic {
            Self::realistic()
        } else {
            Self::default()
        }
    }

    /// Every realism option on: what a real site's traffic looks like.
    pub fn realistic() -> Self {
        GeneratorConfig {
            weighted: true,
            extended_endpoints: true,
            ipv6_share: 0.15,
            rate: Some(50.0),
            ..Self::default()
        }
    }
}

/// An endless, seeded stream of records.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Xoshiro256PlusPlus,
    /// The fields beyond the original's come from a stream of their own:
    /// with the same seed, every format gets the same requests.
    server_rng: Xoshiro256PlusPlus,
    /// The name of the port's extra field, shared by every record.
    server_port: Arc<str>,
    config: GeneratorConfig,
    seed: u64,
    start: NaiveDateTime,
    produced: u64,
}

impl Generator {
    pub fn new(mut config: GeneratorConfig) -> Self {
        if config.format.is_server_format() && config.utc_offset.is_none() {
            config.utc_offset = Some(Utc.fix());
        }
        let seed = config.seed.unwrap_or_else(rand::random);
        let start = config
            .start
            .unwrap_or_else(|| chrono::Local::now().naive_local());
        // Log timestamps have whole seconds.
        let start =
            start - TimeDelta::nanoseconds(i64::from(start.and_utc().timestamp_subsec_nanos()));
        Generator {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            server_rng: Xoshiro256PlusPlus::seed_from_u64(seed ^ server::SEED_SALT),
            server_port: Arc::from(SERVER_PORT),
            config,
            seed,
            start,
            produced: 0,
        }
    }

    /// The seed in use, to reproduce this stream.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The format the records are for.
    pub fn format(&self) -> LineFormat {
        self.config.format
    }

    /// The next record.
    pub fn record(&mut self) -> AccessLog<'static> {
        let ip = self.ip();
        let timestamp = self.timestamp();
        let (method, status) = if self.config.weighted {
            (
                pick_weighted(&mut self.rng, &weighted::METHODS),
                pick_weighted(&mut self.rng, &weighted::STATUSES),
            )
        } else {
            (
                pick(&mut self.rng, &original::METHODS),
                pick(&mut self.rng, &original::STATUSES),
            )
        };
        let endpoint = self.endpoint();
        let size = match status {
            // Responses that carry no body.
            204 | 304 if self.config.weighted => 0,
            _ => self.rng.random_range(original::SIZES),
        };
        let referrer = pick(&mut self.rng, &original::REFERRERS);
        let user_agent = pick(&mut self.rng, &original::USER_AGENTS);
        self.produced += 1;
        let mut record = AccessLog {
            method: Cow::Borrowed(method),
            endpoint,
            protocol: Cow::Borrowed(original::PROTOCOL),
            size: Some(size),
            referrer: Some(Cow::Borrowed(referrer)),
            user_agent: Some(Cow::Borrowed(user_agent)),
            ..AccessLog::new(Some(ip), timestamp, status)
        };
        if self.config.format.is_server_format() {
            self.fill_server_fields(&mut record);
        }
        record
    }

    /// The fields the format has beyond the original's.
    fn fill_server_fields(&mut self, record: &mut AccessLog<'static>) {
        let rng = &mut self.server_rng;
        if rng.random_bool(server::USER_SHARE) {
            record.user = Some(Cow::Borrowed(pick(rng, &server::USERS)));
        }
        let format = self.config.format;
        if format.has_forwarded_for() && rng.random_bool(server::FORWARDED_SHARE) {
            record.forwarded_for = Some(Cow::Borrowed(pick(rng, &server::FORWARDED_FOR)));
        }
        if format.has_vhost() {
            record.vhost = Some(Cow::Borrowed(pick(rng, &server::VHOSTS)));
            let port = if rng.random_bool(server::HTTPS_SHARE) {
                "443"
            } else {
                "80"
            };
            record.extra.push(Extra {
                name: self.server_port.clone(),
                kind: ValueKind::Integer,
                value: Cow::Borrowed(port),
            });
        }
    }

    fn ip(&mut self) -> IpAddr {
        if self.config.ipv6_share > 0.0 && self.rng.random_bool(self.config.ipv6_share.min(1.0)) {
            // Global unicast (2000::/3), as real clients have.
            let bits: u128 = self.rng.random();
            IpAddr::V6(Ipv6Addr::from((bits >> 3) | (1 << 125)))
        } else {
            IpAddr::V4(IPv4().fake_with_rng(&mut self.rng))
        }
    }

    fn timestamp(&self) -> LogTime {
        let offset = match self.config.rate {
            Some(rate) if rate > 0.0 => TimeDelta::seconds((self.produced as f64 / rate) as i64),
            _ => TimeDelta::zero(),
        };
        let local = self.start + offset;
        match self.config.utc_offset {
            None => LogTime::from(local),
            Some(tz) => match local.and_local_timezone(tz).single() {
                Some(t) => LogTime::from(t),
                None => LogTime::from(local),
            },
        }
    }

    fn endpoint(&mut self) -> Cow<'static, str> {
        if !self.config.extended_endpoints {
            return Cow::Borrowed(pick(&mut self.rng, &original::ENDPOINTS));
        }
        let template = pick(&mut self.rng, &EXTENDED_ENDPOINTS);
        match template.split_once("{}") {
            None => Cow::Borrowed(template),
            Some((head, tail)) => {
                let n: u32 = self.rng.random_range(1..=5000);
                Cow::Owned(format!("{head}{n}{tail}"))
            }
        }
    }
}

impl Iterator for Generator {
    type Item = AccessLog<'static>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.record())
    }
}

fn pick<T: Copy>(rng: &mut Xoshiro256PlusPlus, values: &[T]) -> T {
    values[rng.random_range(0..values.len())]
}

fn pick_weighted<T: Copy>(rng: &mut Xoshiro256PlusPlus, values: &[(T, u32)]) -> T {
    let total: u32 = values.iter().map(|(_, w)| w).sum();
    let mut ticket = rng.random_range(0..total);
    for (value, weight) in values {
        if ticket < *weight {
            return *value;
        }
        ticket -= weight;
    }
    values[values.len() - 1].0
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::format::{LineFormat, format_line};

    fn start() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-01-21T22:23:40", "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn seeded(config: GeneratorConfig) -> Generator {
        Generator::new(GeneratorConfig {
            seed: Some(7),
            start: Some(start()),
            ..config
        })
    }

    #[test]
    fn same_seed_same_lines() {
        let a: Vec<_> = seeded(GeneratorConfig::default()).take(100).collect();
        let b: Vec<_> = seeded(GeneratorConfig::default()).take(100).collect();
        assert_eq!(a, b);
        let c: Vec<_> = Generator::new(GeneratorConfig {
            seed: Some(8),
            start: Some(start()),
            ..GeneratorConfig::default()
        })
        .take(100)
        .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn default_uses_only_the_original_value_sets() {
        for r in seeded(GeneratorConfig::default()).take(5000) {
            assert!(r.ip.is_some_and(|ip| ip.is_ipv4()));
            assert_eq!(r.timestamp, LogTime::from(start()));
            assert!(original::METHODS.contains(&&*r.method));
            assert!(original::ENDPOINTS.contains(&&*r.endpoint));
            assert!(original::STATUSES.contains(&r.status));
            assert!(r.size.is_some_and(|size| original::SIZES.contains(&size)));
            assert!(original::REFERRERS.contains(&r.referrer.as_deref().unwrap()));
            assert!(original::USER_AGENTS.contains(&r.user_agent.as_deref().unwrap()));
            assert_eq!(r.protocol, "HTTP/1.1");
        }
    }

    #[test]
    fn default_picks_are_uniform_and_cover_every_value() {
        let mut statuses = HashMap::new();
        let mut sizes = (u64::MAX, 0);
        for r in seeded(GeneratorConfig::default()).take(60_000) {
            *statuses.entry(r.status).or_insert(0) += 1;
            let size = r.size.unwrap();
            sizes = (sizes.0.min(size), sizes.1.max(size));
        }
        assert_eq!(statuses.len(), 6);
        for (status, n) in statuses {
            assert!((9_000..11_000).contains(&n), "{status}: {n}");
        }
        assert_eq!(sizes, (1000, 15000), "both ends of randint(1000, 15000)");
    }

    #[test]
    fn lines_have_the_original_shape() {
        let line = format_line(
            &seeded(GeneratorConfig::default()).record(),
            LineFormat::Original,
        );
        let re = regex::Regex::new(
            r#"^\d+\.\d+\.\d+\.\d+ - - \[Jan 21 2026, 22:23:40\] "(GET|POST|PUT|DELETE) /\S* HTTP/1\.1" \d{3} \d+ "[^"]+" "[^"]+"$"#,
        )
        .unwrap();
        assert!(re.is_match(&line), "{line}");
    }

    #[test]
    fn realistic_options() {
        let records: Vec<_> = seeded(GeneratorConfig::realistic()).take(20_000).collect();
        let ipv6 = records
            .iter()
            .filter(|r| r.ip.is_some_and(|ip| ip.is_ipv6()))
            .count();
        assert!((2_400..3_600).contains(&ipv6), "about 15% IPv6: {ipv6}");
        let get = records.iter().filter(|r| r.method == "GET").count();
        assert!(get > 15_000, "GET dominates: {get}");
        let ok = records.iter().filter(|r| r.status == 200).count();
        assert!((13_500..15_300).contains(&ok), "about 72% 200: {ok}");
        assert!(records.iter().any(|r| r.endpoint.contains('?')));
        assert!(records.iter().all(|r| r.status != 304 || r.size == Some(0)));
        // 50 lines a second: the clock advanced 400 s over 20,000 lines.
        assert_eq!(records[0].timestamp, LogTime::from(start()));
        assert_eq!(
            records[19_999].timestamp.local(),
            start() + TimeDelta::seconds(399)
        );
    }

    #[test]
    fn utc_offset_gives_offset_timestamps() {
        let tz = FixedOffset::east_opt(3600).unwrap();
        let r = seeded(GeneratorConfig {
            utc_offset: Some(tz),
            ..GeneratorConfig::default()
        })
        .record();
        assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40+01:00");
    }

    fn in_format(format: LineFormat, seed: u64) -> Vec<AccessLog<'static>> {
        Generator::new(GeneratorConfig {
            seed: Some(seed),
            start: Some(start()),
            format,
            ..GeneratorConfig::default()
        })
        .take(20_000)
        .collect()
    }

    fn share(records: &[AccessLog<'_>], test: impl Fn(&AccessLog<'_>) -> bool) -> f64 {
        records.iter().filter(|r| test(r)).count() as f64 / records.len() as f64
    }

    #[test]
    fn server_fields_only_when_the_format_has_them() {
        for format in LineFormat::ALL {
            let records = in_format(format, 7);
            let users = share(&records, |r| r.user.is_some());
            let forwarded = share(&records, |r| r.forwarded_for.is_some());
            let vhosts = share(&records, |r| r.vhost.is_some());
            let ports = share(&records, |r| !r.extra.is_empty());
            if format.is_server_format() {
                assert!((0.04..0.06).contains(&users), "{format:?}: {users}");
            } else {
                assert_eq!(users, 0.0);
            }
            if format.has_forwarded_for() {
                assert!((0.28..0.32).contains(&forwarded), "{forwarded}");
            } else {
                assert_eq!(forwarded, 0.0, "{format:?}");
            }
            let expected = if format.has_vhost() { 1.0 } else { 0.0 };
            assert_eq!((vhosts, ports), (expected, expected), "{format:?}");
            assert!(
                records
                    .iter()
                    .all(|r| r.ident.is_none() && r.client_host.is_none() && r.request.is_none())
            );
        }
    }

    #[test]
    fn server_fields_come_from_their_sets() {
        let records = in_format(LineFormat::NginxMain, 7);
        assert!(records.iter().all(|r| {
            r.user.as_deref().is_none_or(|u| server::USERS.contains(&u))
                && r.forwarded_for
                    .as_deref()
                    .is_none_or(|f| server::FORWARDED_FOR.contains(&f))
        }));
        let records = in_format(LineFormat::VhostCombined, 7);
        for r in &records {
            assert!(server::VHOSTS.contains(&r.vhost.as_deref().unwrap()));
            let [port] = &r.extra[..] else {
                panic!("one extra field: {:?}", r.extra)
            };
            assert_eq!((&*port.name, port.kind), (SERVER_PORT, ValueKind::Integer));
            assert!(port.value == "443" || port.value == "80", "{port:?}");
        }
        let https = share(&records, |r| r.extra[0].value == "443");
        assert!((0.83..0.87).contains(&https), "{https}");
    }

    #[test]
    fn server_fields_are_reproducible_by_seed() {
        for format in [LineFormat::NginxMain, LineFormat::VhostCombined] {
            let a = in_format(format, 7);
            assert_eq!(a, in_format(format, 7), "{format:?}");
            let b = in_format(format, 8);
            let fields =
                |r: &AccessLog<'static>| (r.user.clone(), r.forwarded_for.clone(), r.vhost.clone());
            assert_ne!(
                a.iter().map(fields).collect::<Vec<_>>(),
                b.iter().map(fields).collect::<Vec<_>>(),
                "{format:?}"
            );
        }
    }

    #[test]
    fn every_format_gets_the_same_requests() {
        let original = in_format(LineFormat::Original, 7);
        for format in LineFormat::ALL {
            for (a, b) in original.iter().zip(in_format(format, 7)) {
                let without_server_fields = AccessLog {
                    user: None,
                    forwarded_for: None,
                    vhost: None,
                    extra: Vec::new(),
                    timestamp: a.timestamp,
                    ..b
                };
                assert_eq!(a, &without_server_fields, "{format:?}");
            }
        }
    }

    #[test]
    fn server_formats_are_stamped_in_utc_unless_told() {
        let r = seeded(GeneratorConfig {
            format: LineFormat::Common,
            ..GeneratorConfig::default()
        })
        .record();
        assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40+00:00");
        let r = seeded(GeneratorConfig {
            format: LineFormat::Common,
            utc_offset: FixedOffset::east_opt(-7 * 3600),
            ..GeneratorConfig::default()
        })
        .record();
        assert_eq!(r.timestamp.to_iso(), "2026-01-21T22:23:40-07:00");
        let r = seeded(GeneratorConfig::default()).record();
        assert_eq!(r.timestamp, LogTime::from(start()));
    }

    #[test]
    fn start_drops_subseconds() {
        let g = Generator::new(GeneratorConfig {
            start: Some(start() + TimeDelta::milliseconds(999)),
            ..GeneratorConfig::default()
        });
        assert_eq!(g.start, start());
    }
}
