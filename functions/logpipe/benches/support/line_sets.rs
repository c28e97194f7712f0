//! The lines the `lines` benchmark and the `parse_instructions` example
//! time: 10,000 generated lines (seed 7) per built-in format, and a file of
//! all of them mixed. Shared so that criterion's times and callgrind's
//! instruction counts are of the same lines.

use chrono::{FixedOffset, NaiveDateTime};
use logpipe::parse::Preset;
use logpipe::{Generator, GeneratorConfig, LineFormat, LineWriter};

pub const LINES: usize = 10_000;

pub fn config() -> GeneratorConfig {
    GeneratorConfig {
        seed: Some(7),
        start: NaiveDateTime::parse_from_str("2026-01-21T22:23:40", "%Y-%m-%dT%H:%M:%S").ok(),
        ..GeneratorConfig::default()
    }
}

pub fn lines(config: GeneratorConfig, format: LineFormat) -> Vec<String> {
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

/// `line` (combined, as generated) cut after its size: the common format.
fn common(line: &str) -> String {
    // The request holds no quote in generated lines; status and size follow it.
    let request_start = line.find(" \"").expect("a request") + 2;
    let request_end = request_start + line[request_start..].find('"').expect("a closed request");
    let after = &line[request_end + 2..];
    let size_end = after.find(" \"").expect("a referrer after the size");
    line[..request_end + 2 + size_end].to_owned()
}

/// One file per built-in format, and `mixed`: line `i` of the format
/// `i % 5`, with the preset each line is in.
pub struct LineSets {
    pub original: Vec<String>,
    pub combined: Vec<String>,
    pub common: Vec<String>,
    pub nginx_main: Vec<String>,
    pub vhost_combined: Vec<String>,
    pub mixed: Vec<(String, Preset)>,
}

impl LineSets {
    pub fn new() -> Self {
        let original = lines(config(), LineFormat::Original);
        let combined = lines(
            GeneratorConfig {
                utc_offset: FixedOffset::east_opt(3600),
                ..config()
            },
            LineFormat::Combined,
        );
        // A quarter of the requests came through proxies.
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
        let sets = [
            (&original, Preset::Original),
            (&combined, Preset::Combined),
            (&common, Preset::Common),
            (&nginx_main, Preset::NginxMain),
            (&vhost_combined, Preset::VhostCombined),
        ];
        let mixed = (0..LINES)
            .map(|i| {
                let (set, preset) = sets[i % sets.len()];
                (set[i].clone(), preset)
            })
            .collect();
        LineSets {
            original,
            combined,
            common,
            nginx_main,
            vhost_combined,
            mixed,
        }
    }

    /// Each format's file by its preset's name, then `mixed`'s lines.
    pub fn named(&self) -> [(&'static str, Vec<&str>); 6] {
        fn refs(set: &[String]) -> Vec<&str> {
            set.iter().map(String::as_str).collect()
        }
        [
            ("original", refs(&self.original)),
            ("combined", refs(&self.combined)),
            ("common", refs(&self.common)),
            ("nginx-main", refs(&self.nginx_main)),
            ("vhost-combined", refs(&self.vhost_combined)),
            (
                "mixed",
                self.mixed.iter().map(|(l, _)| l.as_str()).collect(),
            ),
        ]
    }
}

/// A user's NGINX `log_format` that reads exactly the combined format.
pub const COMBINED_EQUIVALENT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
