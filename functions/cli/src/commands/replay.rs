//! `logpipe replay`: the indexer Lambda's replay mode, from the command line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::recovery::{ReplayRequest, replay};

/// Index the records an event-source mapping gave up on, from its on-failure
/// destination (SOURCE: `s3://bucket/prefix` or `kafka://topic`), each under
/// its original `_id`. An S3 object is moved under `<prefix>replayed/`, a
/// Kafka message committed in the replay's consumer group, only once every
/// record in it is indexed or dead-lettered. Prints the report as JSON; the
/// exit status is 1 if records remain at the source.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `s3://bucket/prefix` or `kafka://topic`.
    source: String,
    /// Stop after this many records (an S3 object is replayed whole).
    #[arg(long, default_value_t = ReplayRequest::new("").max_records)]
    max_records: u64,
    /// Stop after this many seconds (retries to Elasticsearch too).
    #[arg(long, default_value_t = ReplayRequest::new("").max_seconds)]
    max_seconds: f64,
    /// Kafka source: stop when no message came for this many seconds.
    #[arg(long, default_value_t = ReplayRequest::new("").idle_seconds)]
    idle_seconds: f64,
    /// Kafka source: the consumer group whose commits mark messages replayed.
    #[arg(long)]
    group: Option<String>,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let request = ReplayRequest {
        max_records: args.max_records,
        max_seconds: args.max_seconds,
        idle_seconds: args.idle_seconds,
        group: args.group,
        ..ReplayRequest::new(&args.source)
    }
    .validate()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let settings = Settings::load().await?;
        let kafka = match settings.get("KAFKA_BOOTSTRAP_SERVER") {
            Some(_) => Some(KafkaSettings::from_settings(&settings)?),
            None => None,
        };
        let indexer = super::connect_indexer(&settings).await?;

        let bar = super::spinner(args.quiet)?;
        bar.set_message(format!("reading {}", request.source));
        // As an invocation's deadline: Elasticsearch retries stop at it too.
        let deadline = Instant::now() + Duration::from_secs_f64(args.max_seconds + 1.0);
        let report = replay::replay(&indexer, kafka.as_ref(), &request, deadline, &mut |r| {
            bar.set_message(format!(
                "{} failure records, {} replayed: {} records, {} indexed, {} dead-lettered, {} failed",
                r.failure_records, r.done, r.records, r.indexed, r.dead_lettered, r.failed
            ))
        })
        .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;

    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "logpipe replay: {} of {} failure records replayed from {}: {} records, {} indexed, {} dead-lettered, {} failed in {} ms; stopped: {:?}",
        report.done,
        report.failure_records,
        report.source,
        report.records,
        report.indexed,
        report.dead_lettered,
        report.failed,
        report.elapsed_ms,
        report.stopped
    );
    if report.is_incomplete() {
        eprintln!("logpipe replay: {}", replay::Incomplete(report));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
