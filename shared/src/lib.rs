//! trailwatch: forward CloudTrail log files from S3 into CloudWatch Logs.
//!
//! The Lambda functions are thin: the logic is here, pure where it can be.
//! - [`trail`]: CloudTrail's artefacts: S3 keys, the streaming file reader, record views.
//! - [`logs`]: CloudWatch Logs batch rules, destinations, and delivery.
//! - [`forward`]: reading one object and delivering its records.
//! - [`selector`]: CloudTrail event selectors; [`route`]: which log group a record goes to.
//! - [`summary`]: what an invocation did.
//! - [`generate`]: realistic trail files for the demo, tests and benchmarks.

pub mod config;
pub mod digest;
pub mod forward;
pub mod generate;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod route;
pub mod selector;
pub mod summary;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod trail;
pub mod trigger;

pub use config::ForwarderConfig;
pub use forward::{Forwarder, NotifiedObject, ObjectRef};
pub use summary::{ForwardSummary, ObjectSummary};
