//! The indexer's CPU per event, network excluded: decode a 10,000-record
//! Lambda Kafka event, parse every line, build the `_bulk` bodies.
//!
//! `cargo bench -p logpipe --bench indexer`; the README quotes the results.

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::NaiveDateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logpipe::indexer::{bulk_body, decode_event_json, prepare};
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};
use serde_json::{Value, json};

const RECORDS: usize = 10_000;
const INDICES: (&str, &str) = ("billion_website_logs", "billion_website_logs-deadletter");

/// The allocator of the Lambdas, so that the numbers are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An `aws:kafka` event as Lambda builds it: base64 values, 3 partitions.
fn event() -> Value {
    let mut generator = Generator::new(GeneratorConfig {
        seed: Some(7),
        start: NaiveDateTime::parse_from_str("2026-01-21T22:23:40", "%Y-%m-%dT%H:%M:%S").ok(),
        ..GeneratorConfig::default()
    });
    let mut writer = LineWriter::new(LineFormat::Original);
    let mut groups = serde_json::Map::new();
    for i in 0..RECORDS {
        let mut line = Vec::new();
        writer.write(&generator.record(), &mut line);
        let partition = i % 3;
        let key = format!("billion_website_logs-{partition}");
        let record = json!({
            "topic": "billion_website_logs", "partition": partition, "offset": i,
            "timestamp": 1_769_034_220_000i64, "timestampType": "CREATE_TIME",
            "key": BASE64.encode(b"9.180.123.170"), "value": BASE64.encode(&line), "headers": []
        });
        groups
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("an array")
            .push(record);
    }
    json!({"eventSource": "aws:kafka", "bootstrapServers": "b-1:9092", "records": groups})
}

fn indexer(c: &mut Criterion) {
    let text = event().to_string();
    let mut group = c.benchmark_group("indexer handler CPU, 10,000-record event");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("decode+parse+bulk body (from the event's JSON text)", |b| {
        b.iter(|| {
            let decoded = decode_event_json(black_box(&text)).expect("a Kafka event");
            let actions = prepare(&decoded.records, INDICES);
            black_box(bulk_body(&actions).len())
        })
    });
    group.bench_function("part: decode", |b| {
        b.iter(|| {
            black_box(
                decode_event_json(black_box(&text))
                    .expect("a Kafka event")
                    .records
                    .len(),
            )
        })
    });
    let decoded = decode_event_json(&text).expect("a Kafka event");
    group.bench_function("part: prepare", |b| {
        b.iter(|| black_box(prepare(&decoded.records, INDICES).len()))
    });
    group.finish();
}

criterion_group!(benches, indexer);
criterion_main!(benches);
