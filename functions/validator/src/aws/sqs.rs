//! The fan-out of a whole-trail range: one message per account and region to
//! `DIGEST_QUEUE_URL`, the queue the validator already reads, so Lambda's concurrency does the
//! work of a large organization within each invocation's timeout. And the repairs: a
//! notification for each log file not forwarded, to the forwarder's queue (`REPAIR_QUEUE_URL`).

use trailwatch::aws::sqs::send_batches;
use trailwatch::digest::request::RangeRequest;
use trailwatch::ports::{CallError, MAX_SQS_DELAY};
use trailwatch::validator::{RangeKind, RangeQueue, Recheck, RepairQueue};

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

    async fn send_recheck(
        &self,
        recheck: &Recheck,
        delay: std::time::Duration,
    ) -> Result<(), CallError> {
        let delay_seconds = i32::try_from(delay.min(MAX_SQS_DELAY).as_secs()).unwrap_or(0);
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(recheck.to_body())
            .delay_seconds(delay_seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("sending a recheck of pending log files", &e))
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
