//! SendMessageBatch, ten messages a call: the validator's range fan-out and the backfill's
//! delivery messages.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::ports::{CallError, Transience};

/// SQS's most entries per SendMessageBatch.
pub(crate) const ENTRIES_PER_CALL: usize = 10;

/// Sends each body as a message to `queue_url`; `call` names the work in errors. Any entry SQS
/// refuses fails the call (a rerun sends the messages again; their readers are idempotent).
pub async fn send_batches(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    bodies: &[String],
    call: &str,
) -> Result<usize, CallError> {
    let call = format!("SendMessageBatch ({call})");
    for (chunk_index, chunk) in bodies.chunks(ENTRIES_PER_CALL).enumerate() {
        let mut entries = Vec::with_capacity(chunk.len());
        for (index, body) in chunk.iter().enumerate() {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(format!("m{}", chunk_index * ENTRIES_PER_CALL + index))
                .message_body(body)
                .build()
                .map_err(|e| CallError::permanent(&call, e.to_string()))?;
            entries.push(entry);
        }
        let output = client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&call, &e))?;
        if let Some(failed) = output.failed().first() {
            // The sender's fault is in the entry; SQS's own may pass.
            let transience = if failed.sender_fault() {
                Transience::Permanent
            } else {
                Transience::Transient
            };
            return Err(CallError::new(
                &call,
                transience,
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
    Ok(bodies.len())
}
