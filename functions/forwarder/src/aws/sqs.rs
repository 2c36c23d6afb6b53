//! Continuation messages to `CONTINUATION_QUEUE_URL`.

use trailwatch::aws::{describe, is_transient};
use trailwatch::object::Continuation;
use trailwatch::ports::{CallError, ContinuationQueue};

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
