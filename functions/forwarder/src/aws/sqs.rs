//! Continuation messages to `CONTINUATION_QUEUE_URL`, and copies of messages that failed for
//! good to `DEAD_LETTER_QUEUE_URL`.

use aws_sdk_sqs::types::MessageAttributeValue;
use trailwatch::aws::{describe, is_transient};
use trailwatch::object::Continuation;
use trailwatch::ports::{CallError, ContinuationQueue, DeadLetter, DeadLetterQueue};

const CALL: &str = "sending the continuation message";

pub struct SqsContinuations {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl ContinuationQueue for SqsContinuations {
    async fn send(&self, continuation: &Continuation) -> Result<(), CallError> {
        let body = continuation
            .to_message_body()
            .map_err(|e| CallError::new(CALL, false, e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new(CALL, is_transient(&e), describe(&e)))
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
        .map_err(|e| CallError::new("sending the dead-letter copy", false, e.to_string()))
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
        request.send().await.map(|_| ()).map_err(|e| {
            CallError::new(
                "sending the dead-letter copy",
                is_transient(&e),
                describe(&e),
            )
        })
    }
}
