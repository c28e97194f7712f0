//! logpipe: web access logs from generation to Elasticsearch documents.
//!
//! The Lambdas and the CLI are thin shells around this crate:
//! - [`generate`] makes synthetic logs like the original producer's (and better),
//! - [`format`] writes records as lines, [`parse`] reads lines into records,
//! - [`document`] turns records into Elasticsearch documents and `_bulk` bodies,
//! - [`template`] is the index template those documents are written under.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod deadline;
pub mod document;
#[cfg(feature = "kafka")]
pub mod drain;
pub mod elastic;
pub mod format;
pub mod generate;
pub mod indexer;
mod json_text;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "kafka")]
pub mod kafka_event;
pub mod line_reader;
pub mod metrics;
pub mod parse;
#[cfg(feature = "kafka")]
pub mod produce;
pub mod record;
pub mod recovery;
mod request;
pub mod summary;
pub mod telemetry;
pub mod template;
pub mod timestamp;

pub use document::{BulkBody, Document, KafkaCoordinates};
pub use format::{LineFormat, LineWriter, format_line};
pub use generate::{Generator, GeneratorConfig};
pub use parse::{ParseError, parse_bytes, parse_line};
pub use record::AccessLog;
pub use timestamp::LogTime;

/// The Kafka topic and Elasticsearch index of the original system.
pub const DEFAULT_TOPIC: &str = "billion_website_logs";
pub const DEFAULT_INDEX: &str = DEFAULT_TOPIC;
/// The original consumer's group, which the indexer's drain mode joins.
pub const DEFAULT_GROUP_ID: &str = "mwaa_log_indexer";
