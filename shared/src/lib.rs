//! trailwatch: forward CloudTrail log files from S3 into CloudWatch Logs, and validate their
//! integrity.
//!
//! The core is pure: it speaks to the outside only through the traits in [`ports`] and
//! [`digest::store`]. The AWS adapters both functions use are in [`aws`] (feature `aws`).
//! - [`object`]: the objects every layer names (a leaf).
//! - [`trail`]: CloudTrail's artefacts: S3 keys, the streaming record splitter, record views.
//! - [`selector`]: CloudTrail event selectors; [`route`]: which log group a record goes to.
//! - [`logs`]: CloudWatch Logs batch rules, destinations, request bodies, what a put did.
//! - [`json_text`]: fast JSON string scanning and escaping for the hot paths (a leaf).
//! - [`trigger`]: which objects an invocation names.
//! - [`pipeline`]: one object's path: classify → read → route → batch → deliver → settle.
//! - [`digest`]: digests, signatures, the chain walk and verdicts.
//! - [`summary`], [`metrics`]: what an invocation did.
//! - [`generate`]: realistic trail files for the demo, tests and benchmarks.

pub mod arguments;
pub mod audit;
#[cfg(feature = "aws")]
pub mod aws;
pub mod backfill;
pub mod checkpoint;
pub mod clock;
pub mod config;
pub mod digest;
pub mod dry_run;
pub mod generate;
pub mod human;
pub mod json_text;
pub mod logs;
pub mod metrics;
pub mod object;
pub mod pipeline;
pub mod ports;
pub mod route;
pub mod selector;
pub mod summary;
pub mod trail;
pub mod trigger;
pub mod validator;

pub use config::ForwarderConfig;
pub use object::{NotifiedObject, ObjectRef};
pub use pipeline::Forwarder;
pub use summary::{ForwardSummary, ObjectSummary};
