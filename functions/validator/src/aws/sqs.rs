//! The fan-out of a whole-trail range: one message per account and region to
//! `DIGEST_QUEUE_URL`, the queue the validator already reads, so Lambda's concurrency does the
//! work of a large organization within each invocation's timeout.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use trailwatch::aws::{describe, is_transient};
use trailwatch::digest::request::RangeRequest;
use trailwatch::ports::CallError;

const CALL: &str = "SendMessageBatch (range fan-out)";
/// SQS's most entries per SendMessageBatch.
const ENTRIES_PER_CALL: usize = 10;

pub struct SqsRangeQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl SqsRangeQueue {
    /// Sends each request as `{"validateRange": …}`; any entry SQS refuses fails the call (the
    /// schedule runs it again; a part validated twice only writes its verdicts twice).
    pub async fn send(&self, requests: &[RangeRequest]) -> Result<usize, CallError> {
        for (chunk_index, chunk) in requests.chunks(ENTRIES_PER_CALL).enumerate() {
            let mut entries = Vec::with_capacity(chunk.len());
            for (index, request) in chunk.iter().enumerate() {
                let body = serde_json::json!({ "validateRange": request }).to_string();
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(format!("p{}", chunk_index * ENTRIES_PER_CALL + index))
                    .message_body(body)
                    .build()
                    .map_err(|e| CallError::new(CALL, false, e.to_string()))?;
                entries.push(entry);
            }
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| CallError::new(CALL, is_transient(&e), describe(&e)))?;
            if let Some(failed) = output.failed().first() {
                return Err(CallError::new(
                    CALL,
                    !failed.sender_fault(),
                    format!(
                        "{} of {} entries refused: {} {}",
                        output.failed().len(),
                        chunk.len(),
                        failed.code(),
                        failed.message().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(requests.len())
    }
}
