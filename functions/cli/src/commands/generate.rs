//! `logpipe generate`: synthetic access-log lines on stdout.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{FixedOffset, NaiveDateTime};
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};

/// Write synthetic access-log lines to stdout, like the original producer's
/// (by default byte-compatible with them).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of lines.
    #[arg(long, short = 'n')]
    count: u64,
    /// Seed: the same seed, options and --start give the same lines.
    #[arg(long)]
    seed: Option<u64>,
    /// Time of the first line, local and naive (`2026-01-21T22:23:40`);
    /// default now.
    #[arg(long, value_parser = parse_start)]
    start: Option<NaiveDateTime>,
    /// Advance the clock by this many lines per second instead of giving every
    /// line the start time.
    #[arg(long)]
    rate: Option<f64>,
    /// Line format.
    #[arg(long, value_enum, default_value_t = Format::Original)]
    format: Format,
    /// UTC offset of the timestamps (`+01:00`); combined format only, default +00:00.
    #[arg(long, value_parser = parse_offset, allow_hyphen_values = true)]
    utc_offset: Option<FixedOffset>,
    /// Weighted method and status mixes, as on a real site.
    #[arg(long)]
    weighted: bool,
    /// Many endpoints, with ids and query strings.
    #[arg(long)]
    extended_endpoints: bool,
    /// Share of IPv6 clients, 0 to 1.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    ipv6_share: f64,
    /// All of the realism options: --weighted --extended-endpoints
    /// --ipv6-share 0.15 --rate 50 (explicit options still win).
    #[arg(long)]
    realistic: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// The original system's: `[Jan 21 2026, 22:23:40]`.
    Original,
    /// Apache/NGINX combined log format: `[21/Jan/2026:22:23:40 +0000]`.
    Combined,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (format, utc_offset) = match args.format {
        Format::Original if args.utc_offset.is_some() => {
            bail!("--utc-offset needs --format combined: the original format has no offset")
        }
        Format::Original => (LineFormat::Original, None),
        Format::Combined => (
            LineFormat::Combined,
            Some(
                args.utc_offset
                    .unwrap_or(FixedOffset::east_opt(0).context("UTC")?),
            ),
        ),
    };
    let base = if args.realistic {
        GeneratorConfig::realistic()
    } else {
        GeneratorConfig::default()
    };
    let config = GeneratorConfig {
        seed: args.seed,
        start: args.start,
        rate: args.rate.or(base.rate),
        utc_offset,
        weighted: args.weighted || base.weighted,
        extended_endpoints: args.extended_endpoints || base.extended_endpoints,
        ipv6_share: if args.ipv6_share > 0.0 {
            args.ipv6_share
        } else {
            base.ipv6_share
        },
    };

    let mut generator = Generator::new(config);
    let mut writer = LineWriter::new(format);
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    let mut buffer = Vec::with_capacity(1 << 17);
    for _ in 0..args.count {
        writer.write(&generator.record(), &mut buffer);
        buffer.push(b'\n');
        if buffer.len() >= 1 << 16 {
            stdout.write_all(&buffer).context("writing to stdout")?;
            buffer.clear();
        }
    }
    stdout.write_all(&buffer).context("writing to stdout")?;
    stdout.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn parse_start(text: &str) -> Result<NaiveDateTime, String> {
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time like 2026-01-21T22:23:40"))
}

fn parse_offset(text: &str) -> Result<FixedOffset, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a UTC offset like +01:00 or -07:00"))
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("{text:?} is not a share between 0 and 1")),
    }
}
