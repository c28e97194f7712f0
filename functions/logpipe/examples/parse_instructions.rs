//! One parsing workload of the `lines` benchmark, run a given number of
//! times over its 10,000 lines, for counting instructions: on a shared
//! machine whose speed drifts, a count compares two versions of the code
//! where a time cannot.
//!
//! ```sh
//! cargo build --release -p logpipe --no-default-features --example parse_instructions
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_workload*' \
//!     target/release/examples/parse_instructions scan:combined 1
//! ```
//!
//! Instructions per line are the `Collected` count over 10,000 × the
//! repetitions. Workloads (`<what>:<lines>`, lines one of `original`,
//! `combined`, `common`, `nginx-main`, `vhost-combined`, `mixed`):
//! - `scan`: the family scanner, `clf::scan`;
//! - `auto`: `LogFormat::Auto.parse_line`;
//! - `preset`: `LogFormat::Preset(p).parse_line` with each line's own preset;
//! - `custom`: the compiled combined-equivalent NGINX `log_format`;
//! - `document`: `auto`, then the line's JSON document, every string
//!   checked for escapes (what the indexer does for a line with escapes);
//! - `cli`: what `logpipe parse` does per line: `auto` of the line (its
//!   text found by `plain_ascii_text`, else by `from_utf8`), then its JSON
//!   document, written without the escape checks when the line holds no
//!   `\\` or control character.

use std::hint::black_box;
use std::process::ExitCode;

use logpipe::Document;
use logpipe::document::{is_plain_line, plain_ascii_text};
use logpipe::parse::custom::CompiledFormat;
use logpipe::parse::{LogFormat, Preset, clf};

#[path = "../benches/support/line_sets.rs"]
mod line_sets;

use line_sets::LineSets;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [workload, repetitions] = args.as_slice() else {
        eprintln!("usage: parse_instructions <what>:<lines> <repetitions>");
        return ExitCode::from(2);
    };
    let Some((what, set)) = workload.split_once(':') else {
        eprintln!("{workload}: expected <what>:<lines>");
        return ExitCode::from(2);
    };
    let Ok(repetitions) = repetitions.parse::<usize>() else {
        eprintln!("{repetitions}: not a count");
        return ExitCode::from(2);
    };
    let sets = LineSets::new();
    let lines: Vec<(&str, Preset)> = match set {
        "mixed" => sets.mixed.iter().map(|(l, p)| (l.as_str(), *p)).collect(),
        name => {
            let Some((_, lines)) = sets.named().into_iter().find(|(n, _)| *n == name) else {
                eprintln!("{name}: no such lines");
                return ExitCode::from(2);
            };
            let preset = name.parse().expect("each set is named after its preset");
            lines.into_iter().map(|l| (l, preset)).collect()
        }
    };
    let custom = CompiledFormat::compile(line_sets::COMBINED_EQUIVALENT)
        .expect("the combined-equivalent format compiles");
    let workload = match what {
        "scan" => Workload::Scan,
        "auto" => Workload::Auto,
        "preset" => Workload::Preset,
        "custom" => Workload::Custom(&custom),
        "document" => Workload::Document,
        "cli" => Workload::Cli,
        _ => {
            eprintln!("{what}: no such workload");
            return ExitCode::from(2);
        }
    };
    let mut total = 0;
    for _ in 0..repetitions {
        total += run_workload(&workload, &lines);
    }
    println!("{total}");
    ExitCode::SUCCESS
}

enum Workload<'f> {
    Scan,
    Auto,
    Preset,
    Custom(&'f CompiledFormat),
    Document,
    Cli,
}

/// The code counted; what it answers (lines parsed, bytes written) keeps
/// the work from being optimised away and shows every line was taken.
#[inline(never)]
fn run_workload(workload: &Workload<'_>, lines: &[(&str, Preset)]) -> usize {
    let mut done = 0;
    let mut json = Vec::with_capacity(1024);
    for &(line, preset) in lines {
        let line = black_box(line);
        done += match workload {
            Workload::Scan => usize::from(black_box(clf::scan(line)).is_ok()),
            Workload::Auto => usize::from(black_box(LogFormat::Auto.parse_line(line)).is_ok()),
            Workload::Preset => {
                let format = LogFormat::Preset(preset);
                usize::from(black_box(format.parse_line(line)).is_ok())
            }
            Workload::Custom(format) => usize::from(black_box(format.parse(line)).is_ok()),
            Workload::Document => match LogFormat::Auto.parse_line(line) {
                Ok(record) => {
                    json.clear();
                    Document {
                        record: &record,
                        kafka: None,
                    }
                    .write_json(&mut json);
                    black_box(&json).len()
                }
                Err(_) => 0,
            },
            Workload::Cli => {
                let bytes = line.as_bytes();
                let text = plain_ascii_text(bytes);
                let plain = text.is_some() || is_plain_line(bytes);
                let parsed = match text {
                    Some(text) => LogFormat::Auto.parse_line(text),
                    None => LogFormat::Auto.parse_bytes(bytes),
                };
                match &parsed {
                    Ok(record) => {
                        json.clear();
                        Document {
                            record,
                            kafka: None,
                        }
                        .write_json_of_line(&mut json, plain);
                        json.push(b'\n');
                        black_box(&json).len()
                    }
                    Err(_) => 0,
                }
            }
        };
    }
    done
}
