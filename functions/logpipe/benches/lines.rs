//! Lines per second on one core: parse+normalise, generate+format, documents.
//!
//! `cargo bench -p logpipe --bench lines`; the README quotes the results.

use std::hint::black_box;

use chrono::{FixedOffset, NaiveDateTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logpipe::parse::custom::CompiledFormat;
use logpipe::parse::{clf, general};
use logpipe::{
    BulkBody, Document, Generator, GeneratorConfig, KafkaCoordinates, LineFormat, LineWriter,
    parse_line,
};

const LINES: usize = 10_000;

fn config() -> GeneratorConfig {
    GeneratorConfig {
        seed: Some(7),
        start: NaiveDateTime::parse_from_str("2026-01-21T22:23:40", "%Y-%m-%dT%H:%M:%S").ok(),
        ..GeneratorConfig::default()
    }
}

fn lines(config: GeneratorConfig, format: LineFormat) -> Vec<String> {
    let mut writer = LineWriter::new(format);
    Generator::new(config)
        .take(LINES)
        .map(|record| {
            let mut out = Vec::new();
            writer.write(&record, &mut out);
            String::from_utf8(out).expect("generated lines are UTF-8")
        })
        .collect()
}

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

/// `line` (combined, as generated) cut after its size: the common format.
fn common(line: &str) -> String {
    // The request holds no quote in generated lines; status and size follow it.
    let request_start = line.find(" \"").expect("a request") + 2;
    let request_end = request_start + line[request_start..].find('"').expect("a closed request");
    let after = &line[request_end + 2..];
    let size_end = after.find(" \"").expect("a referrer after the size");
    line[..request_end + 2 + size_end].to_owned()
}

/// The built-in formats of the Common Log Format family, one file each and
/// all mixed, read by the scanner that detects the format per line.
fn presets(c: &mut Criterion) {
    let original = lines(config(), LineFormat::Original);
    let combined = lines(
        GeneratorConfig {
            utc_offset: FixedOffset::east_opt(3600),
            ..config()
        },
        LineFormat::Combined,
    );
    let nginx_main: Vec<String> = combined
        .iter()
        .enumerate()
        .map(|(i, line)| match i % 4 {
            0 => format!("{line} \"198.51.100.23, 10.1.0.4\""),
            _ => format!("{line} \"-\""),
        })
        .collect();
    let common: Vec<String> = combined.iter().map(|line| common(line)).collect();
    let vhost_combined: Vec<String> = combined
        .iter()
        .map(|line| format!("shop.example.org:443 {line}"))
        .collect();
    let sets = [&original, &combined, &common, &nginx_main, &vhost_combined];
    let mixed: Vec<String> = (0..LINES)
        .map(|i| sets[i % sets.len()][i].clone())
        .collect();

    let mut group = c.benchmark_group("presets (clf::scan)");
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, lines) in [
        ("original", &original),
        ("combined", &combined),
        ("common", &common),
        ("nginx-main", &nginx_main),
        ("vhost-combined", &vhost_combined),
        ("mixed", &mixed),
    ] {
        assert!(lines.iter().all(|line| clf::scan(line).is_ok()), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in lines {
                    black_box(clf::scan(black_box(line)).ok());
                }
            })
        });
    }
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
    let format = CompiledFormat::compile(
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
    )
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

criterion_group!(benches, parse, presets, generate, bulk, custom);
criterion_main!(benches);
