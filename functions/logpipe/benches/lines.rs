//! Lines per second on one core: parse+normalise, generate+format, documents.
//!
//! `cargo bench -p logpipe --bench lines`; the README quotes the results.

use std::hint::black_box;

use chrono::FixedOffset;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logpipe::parse::custom::CompiledFormat;
use logpipe::parse::{LogFormat, clf, general};
use logpipe::{
    BulkBody, Document, Generator, GeneratorConfig, KafkaCoordinates, LineFormat, LineWriter,
    parse_line,
};

#[path = "support/line_sets.rs"]
mod line_sets;

use line_sets::{LINES, LineSets, config, lines};

fn parse(c: &mut Criterion) {
    let original = lines(config(), LineFormat::Original);
    let combined = lines(
        GeneratorConfig {
            utc_offset: FixedOffset::east_opt(3600),
            ..config()
        },
        LineFormat::Combined,
    );
    let mut group = c.benchmark_group("parse+normalise");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("original format (fast path)", |b| {
        b.iter(|| {
            for line in &original {
                black_box(parse_line(black_box(line)).ok());
            }
        })
    });
    group.bench_function("original format (regex)", |b| {
        b.iter(|| {
            for line in &original {
                black_box(general::parse(black_box(line)).ok());
            }
        })
    });
    group.bench_function("combined log format (auto: parse_line)", |b| {
        b.iter(|| {
            for line in &combined {
                black_box(parse_line(black_box(line)).ok());
            }
        })
    });
    group.finish();
}

/// The built-in formats of the Common Log Format family, one file each and
/// all mixed, read by the scanner that detects the format per line.
fn presets(c: &mut Criterion) {
    let sets = LineSets::new();
    let mut group = c.benchmark_group("presets (clf::scan)");
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, lines) in sets.named() {
        assert!(lines.iter().all(|line| clf::scan(line).is_ok()), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(clf::scan(black_box(line)).ok());
                }
            })
        });
    }
    group.finish();
}

/// What `auto` costs on a file of every preset: the same mixed lines read
/// by `LOG_FORMAT=auto` and by the preset each line is in (what a
/// deployment that knew every line's format beforehand would do).
fn auto_against_presets(c: &mut Criterion) {
    let sets = LineSets::new();
    let mut group = c.benchmark_group("mixed file");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("auto", |b| {
        b.iter(|| {
            for (line, _) in &sets.mixed {
                black_box(LogFormat::Auto.parse_line(black_box(line)).ok());
            }
        })
    });
    group.bench_function("each line's own preset", |b| {
        b.iter(|| {
            for (line, preset) in &sets.mixed {
                let format = LogFormat::Preset(*preset);
                black_box(format.parse_line(black_box(line)).ok());
            }
        })
    });
    group.finish();
}

fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate+format");
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, config) in [
        ("original", config()),
        (
            "realistic",
            GeneratorConfig {
                seed: Some(7),
                ..GeneratorConfig::realistic()
            },
        ),
    ] {
        let mut generator = Generator::new(config);
        let mut writer = LineWriter::new(LineFormat::Original);
        let mut out = Vec::with_capacity(LINES * 200);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..LINES {
                    writer.write(&generator.record(), &mut out);
                    out.push(b'\n');
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn bulk(c: &mut Criterion) {
    let original = lines(config(), LineFormat::Original);
    let mut group = c.benchmark_group("parse+bulk body");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("original format", |b| {
        b.iter(|| {
            let mut body = BulkBody::new();
            for (offset, line) in original.iter().enumerate() {
                let record = parse_line(line).expect("generated lines parse");
                let kafka = KafkaCoordinates {
                    topic: "billion_website_logs".into(),
                    partition: 0,
                    offset: offset as i64,
                };
                let doc = Document {
                    record: &record,
                    kafka: Some(&kafka),
                };
                body.push_create("billion_website_logs", &kafka.document_id(), &doc)
                    .expect("documents serialize");
            }
            black_box(body.byte_len())
        })
    });
    group.finish();
}

/// A user's format string equivalent to combined, compiled once, on the
/// same lines as the combined parser above.
fn custom(c: &mut Criterion) {
    let combined = lines(
        GeneratorConfig {
            utc_offset: FixedOffset::east_opt(3600),
            ..config()
        },
        LineFormat::Combined,
    );
    let format = CompiledFormat::compile(line_sets::COMBINED_EQUIVALENT)
        .expect("the combined-equivalent format compiles");
    assert!(combined.iter().all(|line| format.parse(line).is_ok()));
    let mut group = c.benchmark_group("user format, combined-equivalent");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("custom: compiled NGINX log_format", |b| {
        b.iter(|| {
            for line in &combined {
                black_box(format.parse(black_box(line)).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    parse,
    presets,
    auto_against_presets,
    generate,
    bulk,
    custom
);
criterion_main!(benches);
