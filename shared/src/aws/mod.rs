//! The AWS adapters both functions use (feature `aws`): the HTTPS client, the one classifier of
//! transient SDK errors, S3 clients and bodies, the CloudWatch Logs sink, and the checkpoint
//! table (written by the forwarder, read by the validator). The forwarder's and the
//! validator's own adapters live with them. The rest of the crate never sees the SDK.

pub mod checkpoints;
pub mod http;
pub mod logging;
pub mod logs;
pub mod options;
pub mod s3;
pub mod sqs;
pub mod transient;

pub use transient::{describe, is_transient, outcome_unknown};
