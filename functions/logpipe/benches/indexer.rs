//! The indexer's CPU per event, network excluded: decode a 10,000-record
//! Lambda Kafka event, parse every line, build the `_bulk` bodies.
//!
//! `cargo bench -p logpipe --bench indexer`; the README quotes the results.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::SystemTime;

use aws_credential_types::Credentials;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::NaiveDateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logpipe::config::{AwsService, AwsSigning};
use logpipe::elastic::gzip;
use logpipe::elastic::sigv4::signed_headers;
use logpipe::indexer::{decode_event_json, prepare};
use logpipe::parse::LogFormat;
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};
use serde::Serialize;

const RECORDS: usize = 10_000;
const INDICES: (&str, &str) = ("billion_website_logs", "billion_website_logs-deadletter");

/// The allocator of the Lambdas, so that the numbers are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A record's fields in Lambda's order (AWS's documented event; `logpipe
/// esm` writes the same).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LambdaRecord {
    topic: &'static str,
    partition: usize,
    offset: usize,
    timestamp: i64,
    timestamp_type: &'static str,
    key: String,
    value: String,
    headers: [(); 0],
}

/// An `aws:kafka` event as Lambda builds it: base64 values, 3 partitions;
/// each record's fields in Lambda's order, or (`sorted`) in alphabetical
/// order, which the reader takes on its slower, any-order path.
fn event(sorted: bool) -> String {
    let mut generator = Generator::new(GeneratorConfig {
        seed: Some(7),
        start: NaiveDateTime::parse_from_str("2026-01-21T22:23:40", "%Y-%m-%dT%H:%M:%S").ok(),
        ..GeneratorConfig::default()
    });
    let mut writer = LineWriter::new(LineFormat::Original);
    let mut groups = BTreeMap::<String, Vec<String>>::new();
    for i in 0..RECORDS {
        let mut line = Vec::new();
        writer.write(&generator.record(), &mut line);
        let partition = i % 3;
        let record = LambdaRecord {
            topic: "billion_website_logs",
            partition,
            offset: i,
            timestamp: 1_769_034_220_000,
            timestamp_type: "CREATE_TIME",
            key: BASE64.encode(b"9.180.123.170"),
            value: BASE64.encode(&line),
            headers: [],
        };
        let json = match sorted {
            // serde_json's map keeps its keys sorted.
            true => serde_json::to_value(&record).map(|v| v.to_string()),
            false => serde_json::to_string(&record),
        };
        groups
            .entry(format!("billion_website_logs-{partition}"))
            .or_default()
            .push(json.expect("a record"));
    }
    let groups: Vec<String> = groups
        .iter()
        .map(|(key, records)| format!("{key:?}:[{}]", records.join(",")))
        .collect();
    format!(
        r#"{{"eventSource":"aws:kafka","bootstrapServers":"b-1:9092","records":{{{}}}}}"#,
        groups.join(",")
    )
}

fn indexer(c: &mut Criterion) {
    let text = event(false);
    let mut group = c.benchmark_group("indexer handler CPU, 10,000-record event");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("decode+parse+bulk body (from the event's JSON text)", |b| {
        b.iter(|| {
            let decoded = decode_event_json(black_box(&text)).expect("a Kafka event");
            let prepared = prepare(&decoded.records, INDICES, &LogFormat::Auto);
            black_box(prepared.lines.body(&prepared.actions).len())
        })
    });
    let decode = |text: &str| {
        decode_event_json(black_box(text))
            .expect("a Kafka event")
            .records
            .len()
    };
    group.bench_function("part: decode", |b| b.iter(|| decode(&text)));
    let sorted = event(true);
    group.bench_function("part: decode, record fields in another order", |b| {
        b.iter(|| decode(&sorted))
    });
    let decoded = decode_event_json(&text).expect("a Kafka event");
    group.bench_function("part: prepare", |b| {
        b.iter(|| {
            black_box(
                prepare(&decoded.records, INDICES, &LogFormat::Auto)
                    .actions
                    .len(),
            )
        })
    });
    // What SigV4 adds (ELASTICSEARCH_AUTH=aws-sigv4): the signature of each `_bulk` body
    // (5,000 actions each, the default): the SHA-256 of the bytes sent and the HMAC chain.
    // Credentials are fetched once, not per request. The bodies as sent without gzip and
    // with it (ELASTICSEARCH_GZIP=true); gzip's own cost beside them.
    let prepared = prepare(&decoded.records, INDICES, &LogFormat::Auto);
    let bodies: Vec<_> = prepared
        .actions
        .chunks(5000)
        .map(|chunk| prepared.lines.body(chunk))
        .collect();
    let gzipped: Vec<_> = bodies
        .iter()
        .map(|body| gzip(body).expect("gzipped"))
        .collect();
    eprintln!(
        "_bulk bodies of the event: {} bytes, {} gzipped",
        bodies.iter().map(|b| b.len()).sum::<usize>(),
        gzipped.iter().map(|b| b.len()).sum::<usize>()
    );
    let signing = AwsSigning {
        service: AwsService::Aoss,
        region: "eu-west-1".into(),
    };
    let credentials = Credentials::new(
        "AKIDBENCH",
        "bench-secret",
        Some("bench-token".into()),
        None,
        "bench",
    );
    for (name, bodies) in [
        ("part: SigV4 signatures of the _bulk bodies", &bodies),
        (
            "part: SigV4 signatures of the gzipped _bulk bodies",
            &gzipped,
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for body in bodies {
                    black_box(
                        signed_headers(
                            &signing,
                            credentials.clone(),
                            SystemTime::now(),
                            "POST",
                            "https://abc.eu-west-1.aoss.amazonaws.com/_bulk?filter_path=errors",
                            body,
                        )
                        .expect("signed"),
                    );
                }
            })
        });
    }
    group.bench_function("part: gzip of the _bulk bodies", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(gzip(body).expect("gzipped"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, indexer);
criterion_main!(benches);
