//! `logpipe parse`: access-log lines to JSON documents, rejections reported.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use logpipe::document::{is_plain_line, plain_ascii_text};
use logpipe::parse::{LogFormat, ParseError};
use logpipe::{Document, line_reader};
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
    let mut out = Output {
        buf: Vec::with_capacity(OUTPUT_CHUNK + (64 << 10)),
        sink: stdout.lock(),
    };
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
            parse_stream(&format, file, Some(&name), &mut out, &mut err, &mut tally)?;
        }
    }
    out.flush()?;

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

/// What the documents are written to stdout in: one `write` a megabyte,
/// the documents appended straight into the buffer (no copy through a
/// per-line `Vec` and a `BufWriter`).
const OUTPUT_CHUNK: usize = 1 << 20;

struct Output<W> {
    buf: Vec<u8>,
    sink: W,
}

impl<W: Write> Output<W> {
    /// Writes the buffer out once it holds a chunk.
    fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= OUTPUT_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.sink
            .write_all(&self.buf)
            .context("writing to stdout")?;
        self.buf.clear();
        self.sink.flush().context("writing to stdout")
    }
}

/// Why a stream stopped: its reading failed, or writing what it gave did.
enum Stop {
    Read(io::Error),
    Write(anyhow::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Read(e)
    }
}

fn parse_stream(
    format: &LogFormat,
    reader: impl Read,
    file: Option<&str>,
    out: &mut Output<impl Write>,
    err: &mut impl Write,
    tally: &mut Tally,
) -> Result<()> {
    let source = file.unwrap_or("stdin");
    // Whether a line without `\\` or control characters gives strings that
    // need no escaping in JSON (then they are copied without a check).
    let quoted = format.quotes_its_strings();
    let mut number = 0;
    let result = line_reader::for_each_line(reader, |line| {
        number += 1;
        tally.lines += 1;
        // Nearly every line is plain ASCII: then one look at its bytes
        // stands for both UTF-8's check and the plainness check.
        let text = plain_ascii_text(line);
        let plain = quoted && (text.is_some() || is_plain_line(line));
        let parsed = match text {
            Some(text) => format.parse_line(text),
            None => format.parse_bytes(line),
        };
        // Looked at in place: a record is a few hundred bytes to move.
        match &parsed {
            Ok(record) => {
                let document = Document {
                    record,
                    kafka: None,
                };
                document.write_json_of_line(&mut out.buf, plain);
                out.buf.push(b'\n');
                tally.parsed += 1;
                out.maybe_flush().map_err(Stop::Write)
            }
            Err(reason) => reject(err, file, number, line, reason).map_err(Stop::Write),
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(Stop::Read(e)) => Err(e).with_context(|| format!("reading {source}")),
        Err(Stop::Write(e)) => Err(e),
    }
}

/// Reports a rejected line on stderr.
#[cold]
fn reject(
    err: &mut impl Write,
    file: Option<&str>,
    number: u64,
    line: &[u8],
    reason: &ParseError,
) -> Result<()> {
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
    err.write_all(b"\n").context("writing to stderr")
}
