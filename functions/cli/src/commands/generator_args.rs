//! Generator options shared by `generate` and `produce`.

use chrono::NaiveDateTime;
use logpipe::GeneratorConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct GeneratorArgs {
    /// Seed: the same seed, options and --start give the same lines.
    #[arg(long)]
    seed: Option<u64>,
    /// Time of the first line, local and naive (`2026-01-21T22:23:40`);
    /// default now.
    #[arg(long, value_parser = parse_start)]
    start: Option<NaiveDateTime>,
    /// Advance the clock by this many lines per second instead of giving every
    /// line the start time.
    #[arg(long, value_parser = parse_rate)]
    rate: Option<f64>,
    /// Weighted method and status mixes, as on a real site.
    #[arg(long)]
    weighted: bool,
    /// Many endpoints, with ids and query strings.
    #[arg(long)]
    extended_endpoints: bool,
    /// Share of IPv6 clients, 0 to 1.
    #[arg(long, value_parser = parse_share)]
    ipv6_share: Option<f64>,
    /// All of the realism options: --weighted --extended-endpoints
    /// --ipv6-share 0.15 --rate 50 (explicit options still win).
    #[arg(long)]
    realistic: bool,
}

impl GeneratorArgs {
    pub fn config(&self) -> GeneratorConfig {
        let base = GeneratorConfig::preset(self.realistic);
        GeneratorConfig {
            seed: self.seed,
            start: self.start,
            rate: self.rate.or(base.rate),
            weighted: self.weighted || base.weighted,
            extended_endpoints: self.extended_endpoints || base.extended_endpoints,
            ipv6_share: self.ipv6_share.unwrap_or(base.ipv6_share),
            ..base
        }
    }
}

fn parse_start(text: &str) -> Result<NaiveDateTime, String> {
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time like 2026-01-21T22:23:40"))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of lines per second"
        )),
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("{text:?} is not a share between 0 and 1")),
    }
}
