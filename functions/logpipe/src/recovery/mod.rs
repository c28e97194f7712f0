//! Recovery: records that did not reach the main index brought into it
//! after the cause is fixed.
//!
//! - [`redrive`]: dead letters processed again with today's settings.
//! - The records the event-source mapping gave up on, kept at its on-failure
//!   destination (an S3 bucket or a Kafka topic) in the documented
//!   invocation-record format (`failure_record`), and [`replay`], which
//!   indexes them under their original ids once Elasticsearch is back. These
//!   need the Kafka and S3 clients; the fuzz targets build without them. The
//!   local mapping's writer of that destination is the CLI's (`logpipe esm
//!   --on-failure`).

pub mod redrive;

#[cfg(all(feature = "kafka", feature = "s3"))]
pub mod failure_record;
#[cfg(all(feature = "kafka", feature = "s3"))]
pub mod location;
#[cfg(all(feature = "kafka", feature = "s3"))]
pub mod replay;
#[cfg(all(feature = "kafka", feature = "s3"))]
pub mod s3;

#[cfg(all(feature = "kafka", feature = "s3"))]
pub use location::{Location, LocationError};
#[cfg(all(feature = "kafka", feature = "s3"))]
pub use replay::{ReplayError, ReplayReport, ReplayRequest};
