//! `logpipe parse`: access-log lines to JSON documents, rejections reported.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use logpipe::Document;
use logpipe::parse::LogFormat;
use serde::Serialize;

/// Parse access-log lines into one JSON document per line on stdout, each
/// exactly as the indexer indexes it (without `kafka`). Rejected lines go to
/// stderr as JSON with their line number and reason; the exit status is 2 if
/// any was rejected, or if the format does not compile.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to read, in order; stdin when none.
    files: Vec<PathBuf>,
    /// `auto` (every built-in format, detected per line), a preset name, or
    /// your NGINX `log_format` / Apache `LogFormat` string.
    #[arg(long, env = "LOG_FORMAT", default_value = "auto")]
    log_format: String,
}

/// A rejected line, reported on stderr.
#[derive(Serialize)]
struct Rejection<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    /// 1-based, within its file.
    line: u64,
    reason: String,
    /// The line (invalid UTF-8 replaced by U+FFFD).
    raw: &'a str,
    /// The exact bytes, when the line is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

#[derive(Default)]
struct Tally {
    lines: u64,
    parsed: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = match args.log_format.parse::<LogFormat>() {
        Ok(format) => format,
        Err(e) => {
            eprintln!("logpipe parse: --log-format: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let stderr = io::stderr();
    let mut err = io::BufWriter::new(stderr.lock());
    let mut tally = Tally::default();

    if args.files.is_empty() {
        let stdin = io::stdin();
        parse_stream(&format, stdin.lock(), None, &mut out, &mut err, &mut tally)?;
    } else {
        for path in &args.files {
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let name = path.display().to_string();
            let reader = BufReader::with_capacity(1 << 16, file);
            parse_stream(&format, reader, Some(&name), &mut out, &mut err, &mut tally)?;
        }
    }
    out.flush().context("writing to stdout")?;

    let rejected = tally.lines - tally.parsed;
    writeln!(
        err,
        "logpipe parse: {} lines, {} parsed, {} rejected",
        tally.lines, tally.parsed, rejected
    )?;
    err.flush()?;
    Ok(if rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn parse_stream(
    format: &LogFormat,
    mut reader: impl BufRead,
    file: Option<&str>,
    out: &mut impl Write,
    err: &mut impl Write,
    tally: &mut Tally,
) -> Result<()> {
    let source = file.unwrap_or("stdin");
    let mut buf = Vec::with_capacity(512);
    let mut json = Vec::with_capacity(1024);
    let mut number = 0;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {source}"))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        tally.lines += 1;
        let line = trim_line_end(&buf);
        match format.parse_bytes(line) {
            Ok(record) => {
                json.clear();
                let document = Document {
                    record: &record,
                    kafka: None,
                };
                document.write_json(&mut json);
                json.push(b'\n');
                out.write_all(&json).context("writing to stdout")?;
                tally.parsed += 1;
            }
            Err(reason) => {
                let raw = String::from_utf8_lossy(line);
                let rejection = Rejection {
                    file,
                    line: number,
                    reason: reason.to_string(),
                    raw: &raw,
                    raw_base64: std::str::from_utf8(line)
                        .is_err()
                        .then(|| BASE64.encode(line)),
                };
                serde_json::to_writer(&mut *err, &rejection).context("writing to stderr")?;
                err.write_all(b"\n").context("writing to stderr")?;
            }
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
