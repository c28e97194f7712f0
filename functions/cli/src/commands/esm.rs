//! `logpipe esm`: a local stand-in for Lambda's Kafka event-source mapping.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use logpipe::config::{KafkaSettings, Settings};
use logpipe::indexer::EventSource;
use logpipe::kafka::LogConsumer;
use logpipe::kafka_event::{EventOrigin, MAX_EVENT_BYTES, MAX_EVENT_RECORDS};
use logpipe::recovery::Location;

use crate::esm::{self, EsmOptions, LambdaInvoker, OnFailure};

/// Poll the topic as Lambda's Kafka event-source mapping does and invoke a
/// function with its events through the Lambda Invoke API (`cargo lambda
/// watch`, or any server of that API): up to 10,000 records or 6 MB an
/// event, records listed in `batchItemFailures` sent again, offsets
/// committed only past records the function took. Stops when caught up or
/// at the limits; prints the report as JSON. Records that still fail after
/// the retries go, with `--on-failure`, to that destination as Lambda writes
/// them, and the mapping moves on past them; without it (or if writing there
/// fails) the exit status is 1 and offsets are committed up to the first of
/// them, so the next run starts there.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The function to invoke.
    #[arg(long, default_value = "indexer")]
    function: String,
    /// The Invoke API's address (cargo lambda watch listens on 127.0.0.1:9000 by default).
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    endpoint: String,
    /// The event source the events say they come from.
    #[arg(long, value_enum, default_value_t = Source::Msk)]
    source: Source,
    /// `eventSourceArn` of MSK events.
    #[arg(
        long,
        default_value = "arn:aws:kafka:us-east-1:000000000000:cluster/logpipe-local/00000000-0000-0000-0000-000000000000-1"
    )]
    event_source_arn: String,
    /// Consumer group of the mapping (Lambda uses the mapping's id unless told otherwise).
    #[arg(long, default_value = "logpipe-esm")]
    group: String,
    /// Records an event at most (Lambda: 1 to 10,000).
    #[arg(long, default_value_t = MAX_EVENT_RECORDS)]
    batch_size: usize,
    /// Stop after this many records.
    #[arg(long)]
    max_records: Option<u64>,
    /// Stop polling after this many seconds.
    #[arg(long, default_value_t = 3600.0)]
    max_seconds: f64,
    /// Stop when no record came for this many seconds (once partitions are assigned).
    #[arg(long, default_value_t = 3.0)]
    idle_seconds: f64,
    /// Times an event, or the records it listed as failed, are sent again.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Where records that still fail after the retries go, as Lambda's
    /// on-failure destination: `s3://bucket/prefix` or `kafka://topic` (on
    /// the source cluster). `logpipe replay` reads them back.
    #[arg(long, value_parser = Location::parse)]
    on_failure: Option<Location>,
    /// Give up on one invocation after this many seconds.
    #[arg(long, default_value_t = 900)]
    invoke_timeout: u64,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Source {
    /// Amazon MSK: `"eventSource": "aws:kafka"`.
    Msk,
    /// Self-managed or Confluent Kafka: `"eventSource": "SelfManagedKafka"`.
    SelfManaged,
}

pub fn run(args: Args) -> Result<ExitCode> {
    ensure!(
        (1..=MAX_EVENT_RECORDS).contains(&args.batch_size),
        "--batch-size must be between 1 and {MAX_EVENT_RECORDS}, as Lambda's"
    );
    ensure!(
        args.max_seconds > 0.0 && args.idle_seconds > 0.0,
        "--max-seconds and --idle-seconds must be above 0"
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let settings = Settings::load().await?;
        let mut kafka = KafkaSettings::from_settings(&settings)?;
        kafka.group_id = args.group.clone();
        let invoker = LambdaInvoker::new(
            &args.endpoint,
            &args.function,
            Duration::from_secs(args.invoke_timeout),
        )?;
        let consumer = LogConsumer::new(&kafka)?;
        let mut options = EsmOptions::new(EventOrigin {
            source: match args.source {
                Source::Msk => EventSource::Msk,
                Source::SelfManaged => EventSource::SelfManagedKafka,
            },
            source_arn: args.event_source_arn.clone(),
            bootstrap_servers: kafka.bootstrap_servers.clone(),
        });
        options.max_records = args.max_records.unwrap_or(u64::MAX);
        options.max_time = Duration::from_secs_f64(args.max_seconds);
        options.idle = Duration::from_secs_f64(args.idle_seconds);
        options.batch_records = args.batch_size;
        options.batch_bytes = MAX_EVENT_BYTES;
        options.retries = args.retries;
        // Lambda names the mapping by its id, which is also its default group.
        options.mapping_id = args.group.clone();
        options.function_arn = format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{}",
            args.function
        );
        let on_failure = match &args.on_failure {
            Some(location) => Some(OnFailure::connect(location, &kafka).await?),
            None => None,
        };

        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {elapsed} {msg} ({per_sec})",
        )?);
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.set_message(format!(
            "joining group `{}` on `{}`; invoking {}",
            kafka.group_id,
            kafka.topic,
            invoker.url()
        ));
        let report = esm::run(&consumer, &invoker, &options, &on_failure, &mut |r| {
            bar.set_position(r.records);
            bar.set_message(format!(
                "{} records in {} events to `{}`: {} taken, {} sent again, {} to the on-failure destination, {} failed",
                r.records, r.events, args.function, r.delivered, r.redelivered, r.on_failure, r.failed
            ))
        })
        .await;
        bar.finish_and_clear();
        anyhow::Ok(report?)
    })?;

    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "logpipe esm: {} records in {} events ({} invocations) to `{}`: {} taken, {} sent again, {} to the on-failure destination, {} failed in {} ms; stopped: {:?}; committed {:?}",
        report.records,
        report.events,
        report.invocations,
        args.function,
        report.delivered,
        report.redelivered,
        report.on_failure,
        report.failed,
        report.elapsed_ms,
        report.stopped,
        report.committed
    );
    if report.failed > 0 {
        eprintln!(
            "logpipe esm: {} records still failed after {} retries{}; offsets committed up to the first of them in each partition, the next run starts there",
            report.failed,
            args.retries,
            report
                .error
                .as_deref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
