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
    /// UTC offset of the timestamps (`+01:00`); combined format only, default +00:00.
    #[arg(long, value_parser = parse_offset, allow_hyphen_values = true)]
    utc_offset: Option<FixedOffset>,
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
    let config = GeneratorConfig {
        utc_offset,
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
