//! The fan-out of a whole-trail range: one message per account and region to
//! `DIGEST_QUEUE_URL`, the queue the validator already reads, so Lambda's concurrency does the
//! work of a large organization within each invocation's timeout. And the repairs: a
//! notification for each log file not forwarded, to the forwarder's queue (`REPAIR_QUEUE_URL`).

use trailwatch::aws::sqs::send_batches;
use trailwatch::digest::request::RangeRequest;
use trailwatch::ports::CallError;
use trailwatch::validator::{RangeKind, RangeQueue, RepairQueue};

pub struct SqsRangeQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// Sends each request as `{"validateRange": …}` or `{"auditLogs": …}`; a part done twice (the schedule ran
/// again after a failed send) only writes its events twice.
impl RangeQueue for SqsRangeQueue {
    async fn send(&self, kind: RangeKind, requests: &[RangeRequest]) -> Result<usize, CallError> {
        let bodies: Vec<String> = requests
            .iter()
            .map(|request| serde_json::json!({ kind.field(): request }).to_string())
            .collect();
        send_batches(&self.client, &self.queue_url, &bodies, "range fan-out").await
    }
}

/// The forwarder's delivery queue, to which a file not forwarded is notified again.
pub struct SqsRepairQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// Sends each body (a CloudTrail-style notification); the forwarder's checkpoint makes a
/// repeat harmless.
impl RepairQueue for SqsRepairQueue {
    async fn send(&self, bodies: &[String]) -> Result<usize, CallError> {
        send_batches(&self.client, &self.queue_url, bodies, "repairs").await
    }
}
