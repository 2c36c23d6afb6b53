//! Delivery of batches with PutLogEvents.
//!
//! Sequence tokens are ignored by the service since 2023-01, so there is no DescribeLogStreams
//! on the hot path: the first put to a stream this process has not used yet keeps a copy of the
//! events, and on ResourceNotFound creates the group and stream (already-exists is success)
//! and puts again. Throttling and 5xx are retried by the SDK's retry configuration.

use std::collections::HashSet;
use std::sync::Mutex;

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamError;
use aws_sdk_cloudwatchlogs::operation::put_log_events::{PutLogEventsError, PutLogEventsOutput};
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};
use tokio::time::Instant;

use super::{Batch, Destination};
use crate::summary::RejectedReasons;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("PutLogEvents to {destination} failed: {}", DisplayErrorContext(&**.source))]
    Put {
        destination: Destination,
        #[source]
        source: Box<SdkError<PutLogEventsError>>,
    },
    #[error("CreateLogGroup {log_group} failed: {}", DisplayErrorContext(&**.source))]
    CreateGroup {
        log_group: String,
        #[source]
        source: Box<SdkError<CreateLogGroupError>>,
    },
    #[error("CreateLogStream {destination} failed: {}", DisplayErrorContext(&**.source))]
    CreateStream {
        destination: Destination,
        #[source]
        source: Box<SdkError<CreateLogStreamError>>,
    },
    #[error("the stream {destination} was deleted while in use")]
    StreamVanished { destination: Destination },
    #[error("a batch event has an invalid field: {0}")]
    InvalidEvent(String),
}

impl PublishError {
    /// Throttling, 5xx, timeouts and connection failures may pass on a later attempt;
    /// invalid parameters and access denied will not.
    pub fn is_retryable(&self) -> bool {
        fn transient<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
            match error {
                SdkError::TimeoutError(_)
                | SdkError::DispatchFailure(_)
                | SdkError::ResponseError(_) => true,
                SdkError::ServiceError(e) => {
                    let status = e.raw().status().as_u16();
                    status >= 500
                        || status == 429
                        || matches!(
                            e.err().code(),
                            Some("ThrottlingException" | "ServiceUnavailableException")
                        )
                }
                _ => false,
            }
        }
        match self {
            PublishError::Put { source, .. } => transient(source),
            PublishError::CreateGroup { source, .. } => transient(source),
            PublishError::CreateStream { source, .. } => transient(source),
            PublishError::StreamVanished { .. } => true,
            PublishError::InvalidEvent(_) => false,
        }
    }
}

/// Kept free before the deadline so the invocation can still report its outcome.
const DEADLINE_RESERVE: Duration = Duration::from_secs(2);
/// No call gets less than this, even past the deadline.
const MIN_CALL_TIME: Duration = Duration::from_secs(1);

/// What CloudWatch Logs did with one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOutcome {
    pub accepted: u64,
    pub rejected: RejectedReasons,
}

pub struct LogPublisher {
    client: Client,
    /// Streams this process has put to successfully: no copy of the events is kept for them.
    known_streams: Mutex<HashSet<Destination>>,
}

impl LogPublisher {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            known_streams: Mutex::new(HashSet::new()),
        }
    }

    /// Puts one batch and reports which events CloudWatch Logs accepted. With a deadline, the
    /// call and its retries end before it, so the invocation can still report.
    pub async fn put(
        &self,
        destination: &Destination,
        batch: Batch,
        deadline: Option<Instant>,
    ) -> Result<PutOutcome, PublishError> {
        let total = batch.events.len();
        let events = batch
            .events
            .into_iter()
            .map(|event| {
                InputLogEvent::builder()
                    .timestamp(event.timestamp)
                    .message(event.message)
                    .build()
                    .map_err(|e| PublishError::InvalidEvent(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let output = if self.is_known(destination) {
            match self.send(destination, events, deadline).await {
                Err(PublishError::Put { source, .. }) if is_not_found(&source) => {
                    self.forget(destination);
                    return Err(PublishError::StreamVanished {
                        destination: destination.clone(),
                    });
                }
                other => other?,
            }
        } else {
            match self.send(destination, events.clone(), deadline).await {
                Err(PublishError::Put { source, .. }) if is_not_found(&source) => {
                    self.create_stream(destination).await?;
                    self.send(destination, events, deadline).await?
                }
                other => other?,
            }
        };
        self.remember(destination);
        Ok(outcome(total, output.rejected_log_events_info()))
    }

    async fn send(
        &self,
        destination: &Destination,
        events: Vec<InputLogEvent>,
        deadline: Option<Instant>,
    ) -> Result<PutLogEventsOutput, PublishError> {
        let request = self
            .client
            .put_log_events()
            .log_group_name(&*destination.log_group)
            .log_stream_name(&*destination.log_stream)
            .set_log_events(Some(events));
        let sent = match deadline {
            // The SDK's retries with backoff, all within what is left of the invocation.
            Some(deadline) => {
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(DEADLINE_RESERVE)
                    .max(MIN_CALL_TIME);
                let timeouts = TimeoutConfig::builder().operation_timeout(left).build();
                request
                    .customize()
                    .config_override(
                        aws_sdk_cloudwatchlogs::config::Builder::default().timeout_config(timeouts),
                    )
                    .send()
                    .await
            }
            None => request.send().await,
        };
        sent.map_err(|source| PublishError::Put {
            destination: destination.clone(),
            source: Box::new(source),
        })
    }

    /// Creates the stream, and the group first when the stream's group is missing.
    async fn create_stream(&self, destination: &Destination) -> Result<(), PublishError> {
        let created = self.try_create_stream(destination).await;
        let missing_group = matches!(
            &created,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception()
        );
        if !missing_group {
            return created.map_err(|source| PublishError::CreateStream {
                destination: destination.clone(),
                source: Box::new(source),
            });
        }
        let group = self
            .client
            .create_log_group()
            .log_group_name(&*destination.log_group)
            .send()
            .await;
        match group {
            Err(SdkError::ServiceError(e)) if e.err().is_resource_already_exists_exception() => {}
            Err(source) => {
                return Err(PublishError::CreateGroup {
                    log_group: destination.log_group.to_string(),
                    source: Box::new(source),
                });
            }
            Ok(_) => tracing::info!(log_group = %destination.log_group, "created log group"),
        }
        self.try_create_stream(destination)
            .await
            .map_err(|source| PublishError::CreateStream {
                destination: destination.clone(),
                source: Box::new(source),
            })
    }

    /// CreateLogStream, with already-exists as success.
    async fn try_create_stream(
        &self,
        destination: &Destination,
    ) -> Result<(), SdkError<CreateLogStreamError>> {
        let created = self
            .client
            .create_log_stream()
            .log_group_name(&*destination.log_group)
            .log_stream_name(&*destination.log_stream)
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::info!(destination = %destination, "created log stream");
                Ok(())
            }
            Err(SdkError::ServiceError(e)) if e.err().is_resource_already_exists_exception() => {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn is_known(&self, destination: &Destination) -> bool {
        self.known_streams
            .lock()
            .is_ok_and(|known| known.contains(destination))
    }

    fn remember(&self, destination: &Destination) {
        if let Ok(mut known) = self.known_streams.lock() {
            if !known.contains(destination) {
                known.insert(destination.clone());
            }
        }
    }

    fn forget(&self, destination: &Destination) {
        if let Ok(mut known) = self.known_streams.lock() {
            known.remove(destination);
        }
    }
}

fn is_not_found(error: &SdkError<PutLogEventsError>) -> bool {
    matches!(error, SdkError::ServiceError(e) if e.err().is_resource_not_found_exception())
}

/// Counts accepted and rejected events of a sorted batch of `total` events.
///
/// Too-old and expired events form a prefix of a sorted batch and too-new events a suffix.
/// The API reference calls `tooOldLogEventEndIndex` and `expiredLogEventEndIndex` "the index of
/// the last log event that is too old / expired" and `tooNewLogEventStartIndex` "the index of
/// the first log event that is too new"; the emulator (moto) reports them the same way, so the
/// end indexes are read as inclusive. Reading them so can only count an accepted event as
/// rejected, never a rejected one as forwarded.
pub fn outcome(total: usize, info: Option<&RejectedLogEventsInfo>) -> PutOutcome {
    let total = total as u64;
    let Some(info) = info else {
        return PutOutcome {
            accepted: total,
            rejected: RejectedReasons::default(),
        };
    };
    let count_through = |index: Option<i32>| {
        index
            .and_then(|i| u64::try_from(i).ok())
            .map_or(0, |i| (i + 1).min(total))
    };
    let expired = count_through(info.expired_log_event_end_index());
    let old_or_expired = count_through(info.too_old_log_event_end_index()).max(expired);
    let too_new = info
        .too_new_log_event_start_index()
        .and_then(|i| u64::try_from(i).ok())
        .map_or(0, |start| total.saturating_sub(start.max(old_or_expired)));
    let rejected = RejectedReasons {
        expired,
        too_old: old_or_expired - expired,
        too_new,
        ..RejectedReasons::default()
    };
    PutOutcome {
        accepted: total - rejected.total(),
        rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(old: Option<i32>, expired: Option<i32>, new: Option<i32>) -> RejectedLogEventsInfo {
        RejectedLogEventsInfo::builder()
            .set_too_old_log_event_end_index(old)
            .set_expired_log_event_end_index(expired)
            .set_too_new_log_event_start_index(new)
            .build()
    }

    #[test]
    fn without_rejection_info_every_event_is_accepted() {
        assert_eq!(outcome(7, None).accepted, 7);
    }

    #[test]
    fn too_old_prefix_and_too_new_suffix_are_counted() {
        let result = outcome(10, Some(&info(Some(2), None, Some(8))));
        assert_eq!(result.rejected.too_old, 3);
        assert_eq!(result.rejected.too_new, 2);
        assert_eq!(result.accepted, 5);
    }

    #[test]
    fn expired_events_are_not_counted_twice_as_too_old() {
        let result = outcome(10, Some(&info(Some(4), Some(1), None)));
        assert_eq!(result.rejected.expired, 2);
        assert_eq!(result.rejected.too_old, 3);
        assert_eq!(result.accepted, 5);
    }

    #[test]
    fn out_of_range_indexes_never_count_more_than_the_batch() {
        let result = outcome(3, Some(&info(Some(9), None, Some(1))));
        assert_eq!(result.rejected.total(), 3);
        assert_eq!(result.accepted, 0);
        let all_new = outcome(3, Some(&info(None, None, Some(0))));
        assert_eq!(all_new.rejected.too_new, 3);
    }
}
