//! Structured logs: one JSON object a line on stdout, which CloudWatch Logs
//! keeps as is and Logs Insights can query by field.

use tracing_subscriber::EnvFilter;

/// JSON logs at the level of `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
pub fn init_json_logs() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_env_filter(
            EnvFilter::try_new(level.to_ascii_lowercase())
                .unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .try_init();
}

/// Human-readable logs on stderr for the CLI (stdout carries its output), at
/// the level of `RUST_LOG`, else `warn`.
pub fn init_cli_logs() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("warn")))
        .try_init();
}
