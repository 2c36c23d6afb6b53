//! Continuation messages to `CONTINUATION_QUEUE_URL`, copies of messages that failed for
//! good to `DEAD_LETTER_QUEUE_URL`, and the visibility of the messages being processed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trailwatch::object::Continuation;
use trailwatch::ports::{CallError, ContinuationQueue, DeadLetter, DeadLetterQueue, MAX_SQS_DELAY};
use trailwatch::trigger::SqsReceipt;

const CALL: &str = "sending the continuation message";

pub struct SqsContinuations {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl ContinuationQueue for SqsContinuations {
    async fn send(&self, continuation: &Continuation, delay: Duration) -> Result<(), CallError> {
        let body = continuation
            .to_message_body()
            .map_err(|e| CallError::permanent(CALL, e.to_string()))?;
        let delay_seconds = delay.min(MAX_SQS_DELAY).as_secs();
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(i32::try_from(delay_seconds).unwrap_or(0))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk(CALL, &e))
    }
}

pub struct SqsDeadLetters {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// SQS message attributes are at most 256 KiB with the body; a reason is kept short.
const MAX_REASON_CHARS: usize = 1024;

fn attribute(value: &str) -> Result<MessageAttributeValue, CallError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| CallError::permanent("sending the dead-letter copy", e.to_string()))
}

impl DeadLetterQueue for SqsDeadLetters {
    async fn send(&self, body: &str, letter: &DeadLetter) -> Result<(), CallError> {
        let reason: String = letter.reason.chars().take(MAX_REASON_CHARS).collect();
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("trailwatchReason", attribute(&reason)?)
            .message_attributes("trailwatchMessageId", attribute(&letter.message_id)?);
        if let Some(object) = &letter.object {
            request = request.message_attributes("trailwatchObject", attribute(object)?);
        }
        if let Some(delivered) = &letter.delivered {
            request = request.message_attributes("trailwatchDelivered", attribute(delivered)?);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("sending the dead-letter copy", &e))
    }
}

/// SQS's longest visibility timeout.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// Kept past the deadline, so the message does not come back while the invocation reports.
const VISIBILITY_MARGIN: Duration = Duration::from_secs(60);

/// Keeps an SQS batch's messages hidden while an invocation works on them
/// (ChangeMessageVisibility), so that a long object is not delivered to a second invocation.
/// Best effort: the checkpoint's lease still keeps a second invocation from reading it.
#[derive(Clone)]
pub struct VisibilityKeeper {
    pub client: aws_sdk_sqs::Client,
    /// How often the visibility is extended; the first extension comes after this long, so
    /// short invocations make no call.
    pub every: Duration,
}

/// Stops extending when dropped.
pub struct KeptVisible(JoinHandle<()>);

impl Drop for KeptVisible {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl VisibilityKeeper {
    /// Extends each message's visibility to the time left before `deadline` plus a minute
    /// (without a deadline, twice `every`), every `every`, until the guard is dropped.
    pub fn keep(
        &self,
        receipts: Vec<SqsReceipt>,
        deadline: Option<Instant>,
    ) -> Option<KeptVisible> {
        if receipts.is_empty() {
            return None;
        }
        let keeper = self.clone();
        Some(KeptVisible(tokio::spawn(async move {
            let mut urls: HashMap<(String, String), String> = HashMap::new();
            loop {
                tokio::time::sleep(keeper.every).await;
                let left = deadline.map_or(keeper.every * 2, |d| {
                    d.saturating_duration_since(Instant::now()) + VISIBILITY_MARGIN
                });
                let seconds = left.min(MAX_VISIBILITY).as_secs() as i32;
                for receipt in &receipts {
                    if let Err(error) = keeper.extend(&mut urls, receipt, seconds).await {
                        tracing::warn!(queue = %receipt.queue_name, error = %error, "could not extend the message's visibility");
                    }
                }
            }
        })))
    }

    async fn extend(
        &self,
        urls: &mut HashMap<(String, String), String>,
        receipt: &SqsReceipt,
        seconds: i32,
    ) -> Result<(), CallError> {
        let queue = (receipt.queue_account.clone(), receipt.queue_name.clone());
        let url = match urls.get(&queue) {
            Some(url) => url.clone(),
            None => {
                let found = self
                    .client
                    .get_queue_url()
                    .queue_name(&receipt.queue_name)
                    .queue_owner_aws_account_id(&receipt.queue_account)
                    .send()
                    .await
                    .map_err(|e| CallError::from_sdk("GetQueueUrl", &e))?;
                let url = found.queue_url.unwrap_or_default();
                urls.insert(queue, url.clone());
                url
            }
        };
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(&receipt.receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("ChangeMessageVisibility", &e))
    }
}
