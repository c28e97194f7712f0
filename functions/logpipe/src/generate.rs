//! Synthetic access logs.
//!
//! By default the generator reproduces the original producer's value sets,
//! picked uniformly as its `random.choice` did (DESIGN.md §1). Options make the
//! traffic more like a real site's: weighted methods and statuses, many
//! endpoints with query strings, IPv6 clients, and a clock that advances.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};

use chrono::{FixedOffset, NaiveDateTime, TimeDelta};
use fake::Fake;
use fake::faker::internet::en::IPv4;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::record::AccessLog;
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
    config: GeneratorConfig,
    seed: u64,
    start: NaiveDateTime,
    produced: u64,
}

impl Generator {
    pub fn new(config: GeneratorConfig) -> Self {
        let seed = config.seed.unwrap_or_else(rand::random);
        let start = config
            .start
            .unwrap_or_else(|| chrono::Local::now().naive_local());
        // Log timestamps have whole seconds.
        let start =
            start - TimeDelta::nanoseconds(i64::from(start.and_utc().timestamp_subsec_nanos()));
        Generator {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
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
        AccessLog {
            method: Cow::Borrowed(method),
            endpoint,
            protocol: Cow::Borrowed(original::PROTOCOL),
            size: Some(size),
            referrer: Some(Cow::Borrowed(referrer)),
            user_agent: Some(Cow::Borrowed(user_agent)),
            ..AccessLog::new(Some(ip), timestamp, status)
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
            None => LogTime::Naive(local),
            Some(tz) => match local.and_local_timezone(tz).single() {
                Some(t) => LogTime::Offset(t),
                None => LogTime::Naive(local),
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
            assert_eq!(r.timestamp, LogTime::Naive(start()));
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
        assert_eq!(records[0].timestamp, LogTime::Naive(start()));
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

    #[test]
    fn start_drops_subseconds() {
        let g = Generator::new(GeneratorConfig {
            start: Some(start() + TimeDelta::milliseconds(999)),
            ..GeneratorConfig::default()
        });
        assert_eq!(g.start, start());
    }
}
