//! `logpipe generate`: synthetic access-log lines on stdout.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::FixedOffset;
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};

use super::generator_args::GeneratorArgs;

/// Write synthetic access-log lines to stdout, like the original producer's
/// (by default byte-compatible with them).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of lines.
    #[arg(long, short = 'n')]
    count: u64,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Line format.
    #[arg(long, value_enum, default_value_t = Format::Original)]
    format: Format,
    /// UTC offset of the timestamps (`+01:00`) in a web server's format
    /// (every format but the original); default +00:00.
    #[arg(long, value_parser = parse_offset, allow_hyphen_values = true)]
    utc_offset: Option<FixedOffset>,
}

/// The formats' names are the producer payload's (`LineFormat::name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The original system's: `[Jan 21 2026, 22:23:40]`.
    Original,
    /// Apache/NGINX combined log format: `[21/Jan/2026:22:23:40 +0000]`, referrer, user agent.
    Combined,
    /// Apache's common log format: combined without referrer and user agent, `-` for no body.
    Common,
    /// NGINX's stock `main`: combined and `"$http_x_forwarded_for"` (a chain on 30% of lines).
    NginxMain,
    /// Apache's `vhost_combined`: `www.example.com:443 ` and combined.
    VhostCombined,
}

impl From<Format> for LineFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Original => LineFormat::Original,
            Format::Combined => LineFormat::Combined,
            Format::Common => LineFormat::Common,
            Format::NginxMain => LineFormat::NginxMain,
            Format::VhostCombined => LineFormat::VhostCombined,
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = LineFormat::from(args.format);
    if !format.is_server_format() && args.utc_offset.is_some() {
        bail!(
            "--utc-offset needs a web server's --format (combined, ...): the original format has no offset"
        )
    }
    // A server's format without --utc-offset is stamped in UTC by the generator.
    let config = GeneratorConfig {
        utc_offset: args.utc_offset,
        format,
        ..args.generator.config()
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

fn parse_offset(text: &str) -> Result<FixedOffset, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a UTC offset like +01:00 or -07:00"))
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn names_are_the_producer_payloads() {
        let names: Vec<_> = Format::value_variants()
            .iter()
            .map(|f| f.to_possible_value().map(|v| v.get_name().to_owned()))
            .collect();
        let payload: Vec<_> = LineFormat::ALL
            .iter()
            .map(|f| Some(f.name().to_owned()))
            .collect();
        assert_eq!(names, payload);
        for format in Format::value_variants() {
            let name = format.to_possible_value().unwrap();
            assert_eq!(LineFormat::from(*format).name(), name.get_name());
        }
    }
}
