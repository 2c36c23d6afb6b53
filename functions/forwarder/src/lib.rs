//! The forwarder Lambda function: any supported trigger in, a summary (or SQS batch item
//! failures) out. Only translation lives here: payload → forwarder, report → response and EMF
//! line, failures → `Diagnostic`. The AWS adapters are in [`aws`].

pub mod aws;
pub mod backfill;
pub mod entry;

/// The trailwatch forwarder: an AWS Lambda function that forwards the records of the log files
/// a CloudTrail trail delivers to S3 into CloudWatch Logs. Deployed with template.yaml, Lambda
/// runs it with no command; locally, run it with `cargo lambda watch` (README: Local invoke).
#[derive(Debug, clap::Parser)]
#[command(name = "forwarder", version = env!("TRAILWATCH_VERSION"))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Forward the log files a trail bucket already holds for a time range.
    ///
    /// The function's configuration comes from environment variables, set as the deployed
    /// forwarder has them: LOG_GROUP_NAME or ROUTES, EVENT_SELECTORS, CHECKPOINT_TABLE_NAME (with
    /// it, a rerun forwards nothing twice), LOG_GROUP_CLASS, RETENTION_IN_DAYS. Exit status 0
    /// all forwarded, 1 an object failed, 2 could not run.
    Backfill(backfill::Args),
}

/// What plain `forwarder` says outside Lambda, where it has no runtime API to poll.
pub const NOT_IN_LAMBDA: &str = "forwarder is an AWS Lambda function: run it locally with `cargo lambda watch` (README: Local invoke), or use `forwarder backfill --help` to forward a trail bucket's files from here";

use std::time::Duration;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::clock::now_millis;
use trailwatch::pipeline::{InvocationEnd, InvocationReport, Queues};
use trailwatch::summary::ForwardSummary;
use trailwatch::trigger::UnrecognisedPayload;
use trailwatch::{Forwarder, ForwarderConfig};

use crate::aws::s3::S3Objects;
use crate::aws::sqs::{SqsContinuations, SqsDeadLetters, VisibilityKeeper};
use trailwatch::aws::checkpoints::DynamoCheckpoints;

/// The forwarder wired to AWS.
pub type AwsForwarder =
    Forwarder<S3Objects, CloudWatchLogsSink, SqsContinuations, DynamoCheckpoints, SqsDeadLetters>;

/// Builds the forwarder's clients once per cold start. With a custom endpoint (a local
/// emulator through `AWS_ENDPOINT_URL`), S3 uses path-style addressing.
pub fn build_forwarder(sdk: &SdkConfig, config: &ForwarderConfig) -> AwsForwarder {
    let continuations = config
        .continuation_queue_url
        .clone()
        .map(|queue_url| SqsContinuations {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url,
        });
    let checkpoints = config
        .checkpoint_table_name
        .clone()
        .map(|table_name| DynamoCheckpoints {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table_name,
        });
    let dead_letters = config
        .dead_letter_queue_url
        .clone()
        .map(|queue_url| SqsDeadLetters {
            client: aws_sdk_sqs::Client::new(sdk),
            queue_url,
        });
    Forwarder::new(
        S3Objects {
            client: trailwatch::aws::s3::client(sdk),
        },
        sink(sdk, config),
        Queues {
            continuations,
            checkpoints,
            dead_letters,
        },
        config,
    )
}

/// The CloudWatch Logs sink; with the checkpoint table, a put of unknown outcome is read back
/// rather than retried by the SDK.
fn sink(sdk: &SdkConfig, config: &ForwarderConfig) -> CloudWatchLogsSink {
    let sink = CloudWatchLogsSink::new(aws_sdk_cloudwatchlogs::Client::new(sdk))
        .with_group_settings(config.group_settings.clone())
        .with_kms_key(config.log_group_kms_key_arn.clone());
    if config.checkpoint_table_name.is_some() && !config.dry_run {
        sink.retrying_only_throttled_puts()
    } else {
        sink
    }
}

/// How often an SQS batch's visibility is extended while it is processed.
pub const VISIBILITY_EVERY: Duration = Duration::from_secs(60);

/// The visibility keeper for the delivery queue's messages.
pub fn build_visibility_keeper(sdk: &SdkConfig) -> VisibilityKeeper {
    VisibilityKeeper {
        client: aws_sdk_sqs::Client::new(sdk),
        every: VISIBILITY_EVERY,
    }
}

/// What the handler answers: SQS batches with the messages to retry, the rest with the summary.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    Sqs(SqsBatchResponse),
    Summary(Box<ForwardSummary>),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Unrecognised(#[from] UnrecognisedPayload),
    /// Some objects failed; the others were forwarded.
    #[error("{count} of {total} objects failed: {keys}")]
    ObjectsFailed {
        count: u64,
        total: usize,
        keys: String,
    },
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Unrecognised(_) => "UnrecognisedPayload",
            HandlerError::ObjectsFailed { .. } => "ObjectsFailed",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// Forwards what the payload names. SQS batches answer with `batchItemFailures` (only the
/// messages to retry); direct invocations answer with the summary, or fail naming the failed
/// objects after forwarding the others, so Lambda's retries and failure destinations see it.
pub async fn handle(
    forwarder: &AwsForwarder,
    visibility: &VisibilityKeeper,
    namespace: &str,
    event: LambdaEvent<Value>,
) -> Result<Response, HandlerError> {
    let end = InvocationEnd::from_epoch_millis(event.context.deadline);
    let kept = visibility.keep(
        trailwatch::trigger::sqs_receipts(&event.payload),
        end.map(|end| end.instant()),
    );
    let report = forwarder
        .handle(&event.payload, end, &event.context.request_id)
        .await;
    drop(kept);
    let report = report?;
    let summary = &report.summary;
    tracing::info!(
        dry_run = summary.dry_run,
        records = summary.records,
        forwarded = summary.forwarded,
        filtered = summary.filtered,
        rejected = summary.rejected,
        skipped_objects = summary.skipped_objects,
        failed_objects = summary.failed_objects,
        failed_messages = report.failed_message_ids.len(),
        bytes_read = summary.bytes_read,
        "invocation summary"
    );
    println!(
        "{}",
        trailwatch::metrics::forwarder_emf_line(
            summary,
            report.failed_message_ids.len(),
            namespace,
            &event.context.env_config.function_name,
            now_millis()
        )
    );
    respond(report)
}

fn respond(report: InvocationReport) -> Result<Response, HandlerError> {
    if report.sqs {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = report
            .failed_message_ids
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        return Ok(Response::Sqs(response));
    }
    if report.direct_failure() {
        let summary = &report.summary;
        let keys: Vec<String> = summary
            .failed()
            .map(|o| {
                format!(
                    "s3://{}/{} ({})",
                    o.bucket,
                    o.key,
                    o.error().unwrap_or_default()
                )
            })
            .collect();
        return Err(HandlerError::ObjectsFailed {
            count: summary.failed_objects,
            total: summary.objects.len(),
            keys: keys.join("; "),
        });
    }
    Ok(Response::Summary(Box::new(report.summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_reports_exactly_the_failed_message_ids() {
        let report = InvocationReport {
            sqs: true,
            failed_message_ids: vec!["m2".into(), "m5".into()],
            ..InvocationReport::default()
        };
        assert_eq!(
            serde_json::to_value(respond(report).unwrap()).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m5"}]})
        );
        let clean = InvocationReport {
            sqs: true,
            ..InvocationReport::default()
        };
        assert_eq!(
            serde_json::to_value(respond(clean).unwrap()).unwrap(),
            serde_json::json!({"batchItemFailures": []})
        );
    }

    #[test]
    fn a_direct_invocation_with_a_failed_object_is_an_error_naming_it() {
        let mut report = InvocationReport::default();
        report.summary.add(trailwatch::ObjectSummary::new(
            "b",
            "k1",
            trailwatch::trail::FileKind::Log,
        ));
        report.summary.add(
            trailwatch::ObjectSummary::new("b", "k2", trailwatch::trail::FileKind::Log)
                .failed("not gzip"),
        );
        let error = respond(report).unwrap_err();
        assert_eq!(
            error.to_string(),
            "1 of 2 objects failed: s3://b/k2 (not gzip)"
        );
        assert_eq!(Diagnostic::from(error).error_type, "ObjectsFailed");
    }
}
