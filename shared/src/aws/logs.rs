//! The CloudWatch Logs sink: PutLogEvents, with the group and stream created when missing.
//!
//! Sequence tokens are ignored by the service since 2023-01, so there is no DescribeLogStreams
//! on the hot path: a put to a stream this process has not used yet that meets
//! ResourceNotFound creates the group and stream (already-exists is success) and sends the same
//! written body again (shared, not copied).
//!
//! PutLogEvents is not idempotent: a request that was stored but answered 5xx, or whose answer
//! never came, would be stored twice if sent again. With a checkpoint table (exactly once), the
//! SDK retries only throttling answers, which store nothing ([`RetryOnlyThrottling`]); any
//! other failure ends the put with `outcome_unknown`, and the pipeline reads the batch back
//! (after the request can no longer land) before sending what is missing. Without one
//! (delivery at least once, and the validator's verdicts), the SDK's own retries stand: a
//! failed put would otherwise send the whole object again.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::error::SdkError;
use aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamError;
use aws_sdk_cloudwatchlogs::operation::put_log_events::{PutLogEventsError, PutLogEventsOutput};
use aws_sdk_cloudwatchlogs::types::LogGroupClass as SdkLogGroupClass;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use bytes::Bytes;
use tokio::time::Instant;

use super::transient::THROTTLING_CODES;
use crate::logs::{
    Batch, Destination, GroupSettingsByName, LogGroupClass, PutOutcome, RejectedIndexes, outcome,
    put_log_events_body,
};
use crate::ports::{CallError, EventsPage, LogSink};

/// Kept free before the deadline so the invocation can still report its outcome.
const DEADLINE_RESERVE: Duration = Duration::from_secs(2);
/// The replaced body's length, as the SDK set it for its own.
const CONTENT_LENGTH: &str = "content-length";
/// No call gets less than this, even past the deadline.
const MIN_CALL_TIME: Duration = Duration::from_secs(1);

pub struct CloudWatchLogsSink {
    client: Client,
    /// Streams this process has put to successfully: a not-found there means the stream was
    /// deleted while in use, not that it is new.
    known_streams: Mutex<HashSet<Destination>>,
    /// How a missing group is created; a group not named here is created bare.
    group_settings: GroupSettingsByName,
    /// The SDK retries a put only when it was throttled.
    retry_only_throttling: bool,
    /// The KMS key a created group is encrypted with.
    kms_key_id: Option<String>,
}

impl CloudWatchLogsSink {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            known_streams: Mutex::new(HashSet::new()),
            group_settings: GroupSettingsByName::new(),
            retry_only_throttling: false,
            kms_key_id: None,
        }
    }

    /// Missing groups are created encrypted with this KMS key.
    pub fn with_kms_key(mut self, kms_key_id: Option<String>) -> Self {
        self.kms_key_id = kms_key_id;
        self
    }

    /// Puts whose outcome is unknown are not sent again by the SDK: the caller reads them back
    /// (exactly-once delivery with a checkpoint table).
    pub fn retrying_only_throttled_puts(mut self) -> Self {
        self.retry_only_throttling = true;
        self
    }

    /// Missing groups are created with these classes and retention.
    pub fn with_group_settings(mut self, settings: GroupSettingsByName) -> Self {
        self.group_settings = settings;
        self
    }

    /// CreateLogGroup with the group's class, then its retention; already-exists is success
    /// (another invocation created it, with the same configuration).
    async fn create_group(&self, log_group: &str) -> Result<(), CallError> {
        let settings = self
            .group_settings
            .get(log_group)
            .copied()
            .unwrap_or_default();
        let class = match settings.class {
            LogGroupClass::Standard => SdkLogGroupClass::Standard,
            LogGroupClass::InfrequentAccess => SdkLogGroupClass::InfrequentAccess,
        };
        let created = self
            .client
            .create_log_group()
            .log_group_name(log_group)
            .log_group_class(class)
            .set_kms_key_id(self.kms_key_id.clone())
            .send()
            .await;
        match created {
            Err(SdkError::ServiceError(e)) if e.err().is_resource_already_exists_exception() => {
                return Ok(());
            }
            Err(error) => {
                return Err(CallError::from_sdk(
                    format!("CreateLogGroup {log_group}"),
                    &error,
                ));
            }
            Ok(_) => {
                tracing::info!(
                    log_group,
                    class = settings.class.as_str(),
                    "created log group"
                );
            }
        }
        if let Some(days) = settings.retention_days {
            self.client
                .put_retention_policy()
                .log_group_name(log_group)
                .retention_in_days(days as i32)
                .send()
                .await
                .map_err(|e| CallError::from_sdk(format!("PutRetentionPolicy {log_group}"), &e))?;
        }
        Ok(())
    }

    async fn put_batch(
        &self,
        destination: &Destination,
        batch: &Batch,
        deadline: Option<Instant>,
    ) -> Result<PutOutcome, CallError> {
        let total = batch.events.len();
        // Cloned per attempt and per retry of a new stream: a reference count, not a copy.
        let body = Bytes::from(put_log_events_body(destination, batch));

        let output = if self.is_known(destination) {
            match self.send(destination, body, deadline).await {
                Err(error) if is_not_found(&error) => {
                    self.forget(destination);
                    return Err(CallError::transient(
                        format!("PutLogEvents to {destination}"),
                        "the stream was deleted while in use",
                    ));
                }
                other => other.map_err(|e| put_failure(destination, &e))?,
            }
        } else {
            match self.send(destination, body.clone(), deadline).await {
                Err(error) if is_not_found(&error) => {
                    self.create_stream(destination).await?;
                    self.send(destination, body, deadline)
                        .await
                        .map_err(|e| put_failure(destination, &e))?
                }
                other => other.map_err(|e| put_failure(destination, &e))?,
            }
        };
        self.remember(destination);
        let info = output
            .rejected_log_events_info()
            .map(|info| RejectedIndexes {
                too_old_end: info.too_old_log_event_end_index(),
                expired_end: info.expired_log_event_end_index(),
                too_new_start: info.too_new_log_event_start_index(),
            });
        Ok(outcome(total, info))
    }

    async fn send(
        &self,
        destination: &Destination,
        body: Bytes,
        deadline: Option<Instant>,
    ) -> Result<PutLogEventsOutput, SdkError<PutLogEventsError>> {
        // The SDK serialises the names only; before signing (every attempt), the body written
        // by `put_log_events_body` replaces it, so SigV4, retries, endpoints and credentials
        // stay the SDK's.
        let request = self
            .client
            .put_log_events()
            .log_group_name(&*destination.log_group)
            .log_stream_name(&*destination.log_stream)
            .customize()
            .mutate_request(move |request| {
                let length = body.len();
                *request.body_mut() = SdkBody::from(body.clone());
                request
                    .headers_mut()
                    .insert(CONTENT_LENGTH, length.to_string());
            });
        let mut config = aws_sdk_cloudwatchlogs::config::Builder::default();
        if self.retry_only_throttling {
            config = config.retry_classifier(RetryOnlyThrottling);
        }
        let config = match deadline {
            // The SDK's retries with backoff, all within what is left of the invocation.
            Some(deadline) => {
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(DEADLINE_RESERVE)
                    .max(MIN_CALL_TIME);
                config.timeout_config(TimeoutConfig::builder().operation_timeout(left).build())
            }
            None => config,
        };
        request.config_override(config).send().await
    }

    /// Creates the stream, and the group first when the stream's group is missing.
    async fn create_stream(&self, destination: &Destination) -> Result<(), CallError> {
        let stream_error = |error: &SdkError<CreateLogStreamError>| {
            CallError::from_sdk(format!("CreateLogStream {destination}"), error)
        };
        let created = self.try_create_stream(destination).await;
        let missing_group = matches!(
            &created,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception()
        );
        if !missing_group {
            return created.map_err(|e| stream_error(&e));
        }
        self.create_group(&destination.log_group).await?;
        self.try_create_stream(destination)
            .await
            .map_err(|e| stream_error(&e))
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
        if let Ok(mut known) = self.known_streams.lock()
            && !known.contains(destination)
        {
            known.insert(destination.clone());
        }
    }

    fn forget(&self, destination: &Destination) {
        if let Ok(mut known) = self.known_streams.lock() {
            known.remove(destination);
        }
    }
}

impl LogSink for CloudWatchLogsSink {
    async fn put(
        &self,
        destination: &Destination,
        batch: &Batch,
        deadline: Option<Instant>,
    ) -> Result<PutOutcome, CallError> {
        self.put_batch(destination, batch, deadline).await
    }

    async fn events_between(
        &self,
        destination: &Destination,
        start_millis: i64,
        end_millis: i64,
        token: Option<String>,
    ) -> Result<EventsPage, CallError> {
        // endTime excludes events at it: one past the last.
        let answer = self
            .client
            .get_log_events()
            .log_group_name(&*destination.log_group)
            .log_stream_name(&*destination.log_stream)
            .start_time(start_millis)
            .end_time(end_millis.saturating_add(1))
            .start_from_head(true)
            .set_next_token(token)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => {
                return Ok(EventsPage::default());
            }
            Err(error) => {
                return Err(CallError::from_sdk(
                    format!("GetLogEvents of {destination}"),
                    &error,
                ));
            }
        };
        let next_token = output.next_forward_token().map(str::to_owned);
        let events = output
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|event| Some((event.timestamp?, event.message?)))
            .collect();
        Ok(EventsPage { events, next_token })
    }
}

/// Lets the SDK retry a PutLogEvents only when it was throttled (HTTP 429 or a throttling
/// code below 500): those answers say nothing was stored. Any other failure of an attempt
/// (5xx, timeout, connection lost, an answer cut short) forbids the retry, since the request
/// may have been stored.
#[derive(Debug)]
struct RetryOnlyThrottling;

impl ClassifyRetry for RetryOnlyThrottling {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = context.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let status = context.response().map(|r| r.status().as_u16());
        let code = OrchestratorError::as_operation_error(error)
            .and_then(|e| e.downcast_ref::<PutLogEventsError>())
            .and_then(|e| e.code());
        let throttled = match status {
            Some(429) => true,
            Some(status) if status < 500 => code.is_some_and(|c| THROTTLING_CODES.contains(&c)),
            _ => false,
        };
        if throttled {
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "PutLogEvents: retry throttling only"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

fn put_failure(destination: &Destination, error: &SdkError<PutLogEventsError>) -> CallError {
    CallError::from_sdk(format!("PutLogEvents to {destination}"), error)
}

fn is_not_found(error: &SdkError<PutLogEventsError>) -> bool {
    matches!(error, SdkError::ServiceError(e) if e.err().is_resource_not_found_exception())
}

#[cfg(test)]
mod tests {
    // Test helpers: failures should panic the test.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;

    use super::*;
    use crate::logs::LogEvent;

    /// Keeps the signed request's body and content-length, then stops the request before it
    /// leaves the process.
    #[derive(Debug, Default, Clone)]
    struct CaptureRequest(Arc<Mutex<Option<Captured>>>);

    /// A request's body and its content-length header.
    type Captured = (Vec<u8>, String);

    impl Intercept for CaptureRequest {
        fn name(&self) -> &'static str {
            "CaptureRequest"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let request = context.request();
            let body = request.body().bytes().expect("an in-memory body").to_vec();
            let length = request
                .headers()
                .get(CONTENT_LENGTH)
                .unwrap_or("")
                .to_owned();
            *self.0.lock().unwrap() = Some((body, length));
            Err("captured".into())
        }
    }

    fn client(capture: &CaptureRequest) -> Client {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .http_client(super::super::http::https_client())
            .interceptor(capture.clone())
            .build();
        Client::from_conf(config)
    }

    /// Messages with everything that needs escaping, and text that does not.
    fn awkward_batch() -> Batch {
        let messages = [
            r#"{"eventName":"PutBucketPolicy","requestParameters":{"policy":"{\"Version\":\"2012-10-17\"}"}}"#.to_owned(),
            "back\\slash \"quotes\" tab\t newline\n cr\r bs\u{8} ff\u{c} nul\u{0} us\u{1f} del\u{7f}".to_owned(),
            "é ü 漢字 🙂 / </script>".to_owned(),
            String::new(),
            "x".repeat(70_000),
        ];
        Batch {
            counted_bytes: messages.iter().map(|m| m.len() + 26).sum(),
            events: messages
                .into_iter()
                .enumerate()
                .map(|(index, message)| LogEvent {
                    timestamp: 1_764_000_000_000 + index as i64,
                    message,
                    record_index: index as u64,
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn the_written_body_is_byte_for_byte_the_sdks_own_serialisation() {
        let destination = Destination {
            log_group: Arc::from("/trailwatch/cloudtrail"),
            log_stream: Arc::from("o-aa11bb22cc_444455556666_CloudTrail_eu-west-1"),
        };
        let batch = awkward_batch();

        // The SDK serialising the events itself.
        let sdk_capture = CaptureRequest::default();
        let events = batch.events.iter().map(|event| {
            InputLogEvent::builder()
                .timestamp(event.timestamp)
                .message(&event.message)
                .build()
                .unwrap()
        });
        let _ = client(&sdk_capture)
            .put_log_events()
            .log_group_name(&*destination.log_group)
            .log_stream_name(&*destination.log_stream)
            .set_log_events(Some(events.collect()))
            .send()
            .await;
        let (sdk_body, sdk_length) = sdk_capture.0.lock().unwrap().take().unwrap();
        assert!(sdk_body.len() > 70_000, "{} bytes", sdk_body.len());

        // The sink's request, with and without a deadline.
        for deadline in [None, Some(Instant::now() + Duration::from_secs(60))] {
            let capture = CaptureRequest::default();
            let sink = CloudWatchLogsSink::new(client(&capture));
            let body = Bytes::from(put_log_events_body(&destination, &batch));
            let _ = sink.send(&destination, body, deadline).await;
            let (body, length) = capture.0.lock().unwrap().take().unwrap();
            assert_eq!(
                String::from_utf8(body).unwrap(),
                String::from_utf8(sdk_body.clone()).unwrap()
            );
            assert_eq!(length, sdk_length);
        }
    }
}
