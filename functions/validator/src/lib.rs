//! The validator: as a Lambda function, validates each delivered digest (its signature, its log
//! files, its link to the previous digest) or a requested time range, writes one CloudWatch Logs
//! event per verdict and EMF metrics; as a command, it is `aws cloudtrail validate-logs`.
//! Only translation lives here; the validation is `trailwatch::digest`, the AWS adapters [`aws`].

pub mod aws;
pub mod cli;
pub mod entry;
mod function;
mod output;
pub mod provenance;
pub mod render;
pub mod request;

pub use function::{Keys, Validator};
use output::{report_late, report_validated};

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use trailwatch::digest::locate::{locate, part_request, trail_of_digest, trail_parts};
use trailwatch::digest::request::{RangeRequest, ValidationError};
use trailwatch::digest::silence::{Lateness, check_lateness};
use trailwatch::digest::store::CallError;
use trailwatch::digest::validate::{Validated, validate_delivered_digest, validate_part};
use trailwatch::metrics::{emf_line, validator_metrics};

use crate::request::{Request, RequestError};

/// The trailwatch validator: an AWS Lambda function that validates CloudTrail digest files and
/// the log files they list (log file integrity validation), or, with `validate-logs`, the same
/// as a command in the AWS CLI's form. Deployed with template.yaml, Lambda runs it with no
/// command; locally, run the function with `cargo lambda watch` (README: Local invoke).
#[derive(Debug, clap::Parser)]
#[command(name = "validator", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a trail's log files against its digests, as `aws cloudtrail validate-logs`.
    ValidateLogs(cli::Args),
}

impl Cli {
    /// The usage error of a command line that names no command where one is needed.
    pub fn command_missing() -> clap::Error {
        use clap::CommandFactory;
        Cli::command().error(
            clap::error::ErrorKind::MissingSubcommand,
            "a command is required: validate-logs",
        )
    }
}

/// What plain `validator` says outside Lambda, where it has no runtime API to poll.
pub const NOT_IN_LAMBDA: &str = "validator is an AWS Lambda function: run it locally with `cargo lambda watch` (README: Local invoke), or use `validator validate-logs --help` to validate a trail from here";

/// Environment variables: names users' stacks set, read by [`ValidatorConfig`].
pub use trailwatch::config::METRICS_NAMESPACE;
pub use trailwatch::digest::config::{
    DIGEST_QUEUE_URL, INTEGRITY_LOG_GROUP_NAME, TRAIL_PUBLIC_KEYS_FILE, ValidatorConfig,
};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("writing verdicts: {0}")]
    Verdicts(#[source] CallError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validations(Vec<ValidationError>),
    #[error(
        "{incomplete} checks did not complete (NOT CHECKED); the verdicts written so far stand, the rest is retried"
    )]
    Incomplete { incomplete: u64 },
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Incomplete { .. } => "ChecksIncomplete",
            _ => "ValidationFailed",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

pub async fn handle(
    validator: &Validator,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let now = trailwatch::clock::now_seconds();
    let mut work = run(validator, &event.payload, now).await?;
    let repairs = match &validator.provenance {
        Some(provenance) => Some(provenance.reconcile(&mut work.done, now).await),
        None => None,
    };
    let function_name = &event.context.env_config.function_name;
    let (counts, invalid) = report_validated(
        validator,
        &work.done,
        repairs.as_deref(),
        function_name,
        now,
    )
    .await?;
    let late = report_late(validator, &work.lateness, function_name, now).await?;
    let mut metrics = validator_metrics(&counts, late.len());
    metrics.push(("MessagesUnreadable", "Count", json!(work.unreadable)));
    println!(
        "{}",
        emf_line(
            &validator.namespace,
            function_name,
            now * 1000,
            metrics,
            &[]
        )
    );
    tracing::info!(
        digests_valid = counts.digests_valid,
        digests_invalid = counts.digests_invalid,
        log_files_valid = counts.log_files_valid,
        log_files_invalid = counts.log_files_invalid,
        fanned_out = work.fanned_out,
        digests_late = late.len(),
        "validation summary"
    );
    if !work.errors.is_empty() {
        return Err(HandlerError::Validations(work.errors));
    }
    // A check that did not complete proves nothing: fail, so SQS delivers the digest again.
    if counts.checks_incomplete > 0 {
        return Err(HandlerError::Incomplete {
            incomplete: counts.checks_incomplete,
        });
    }
    Ok(json!({
        "validated": work.done.iter().map(|d| d.what.clone()).collect::<Vec<_>>(),
        "counts": counts,
        "invalid": invalid,
        "fannedOut": work.fanned_out,
        "unreadableMessages": work.unreadable,
        "late": late.iter().map(|l| l.line(now)).collect::<Vec<_>>(),
        "checkedForLateness": work.lateness.len(),
    }))
}

/// What one invocation did.
#[derive(Default)]
struct Work {
    done: Vec<Validated>,
    errors: Vec<ValidationError>,
    /// Range messages sent, one per account and region.
    fanned_out: usize,
    /// Messages (or entries) that named no object to validate.
    unreadable: usize,
    lateness: Vec<Lateness>,
}

/// Does what the payload asks: `checkDigestsLate`; a `validateRange` (from the schedule, or
/// in an SQS message of the fan-out); or each delivered digest.
async fn run(validator: &Validator, payload: &Value, now: i64) -> Result<Work, HandlerError> {
    let mut work = Work::default();
    match Request::from_payload(payload)? {
        Request::CheckDigestsLate(request) => {
            match check_digests_late(validator, &request, now).await {
                Ok(lateness) => work.lateness = lateness,
                Err(error) => work.errors.push(error),
            }
        }
        Request::ValidateRange(request) => {
            if let Err(error) = validate_whole_range(validator, &request, now, &mut work).await {
                work.errors.push(error);
            }
        }
        Request::Delivered {
            ranges,
            objects,
            unreadable,
        } => {
            for dropped in &unreadable {
                let message_id = dropped
                    .message_id
                    .as_deref()
                    .unwrap_or("(direct invocation)");
                tracing::warn!(message_id, reason = %dropped.reason, "the message names no object to validate: acknowledged, not read");
            }
            work.unreadable = unreadable.len();
            for request in ranges {
                if let Err(error) = validate_whole_range(validator, &request, now, &mut work).await
                {
                    work.errors.push(error);
                }
            }
            for (bucket, key) in objects {
                if trail_of_digest(&key).is_none() {
                    tracing::info!(%bucket, %key, "not a digest file: skipped");
                    continue;
                }
                let store = Arc::clone(&validator.store);
                match validate_delivered_digest(store, &validator.keys, &bucket, &key).await {
                    Ok(validated) => work.done.push(validated),
                    Err(error) => work.errors.push(error),
                }
            }
        }
    }
    Ok(work)
}

/// Validates every account and region the range covers: in-process, or, with a fan-out
/// queue and more than one part, one message per part.
async fn validate_whole_range(
    validator: &Validator,
    request: &RangeRequest,
    now: i64,
    work: &mut Work,
) -> Result<(), ValidationError> {
    let range = request.resolve(now)?;
    let located = locate(&validator.directory, &range).await?;
    let parts = trail_parts(&*validator.store, &located, &range).await?;
    if let (Some(queue), true) = (&validator.fan_out, parts.len() > 1) {
        let requests: Vec<RangeRequest> = parts
            .iter()
            .map(|part| part_request(&range, &located, part))
            .collect();
        work.fanned_out += queue.send(&requests).await?;
        return Ok(());
    }
    for part in parts {
        let store = Arc::clone(&validator.store);
        match validate_part(store, &validator.keys, &range, &located, &part).await {
            Ok(validated) => work.done.push(validated),
            Err(error) => work.errors.push(error),
        }
    }
    Ok(())
}

/// The newest digest of every account and region of the trail, judged for lateness.
async fn check_digests_late(
    validator: &Validator,
    request: &RangeRequest,
    now: i64,
) -> Result<Vec<Lateness>, ValidationError> {
    let range = request.resolve_now(now)?;
    let located = locate(&validator.directory, &range).await?;
    let parts = trail_parts(&*validator.store, &located, &range).await?;
    let store = Arc::clone(&validator.store);
    Ok(check_lateness(store, &located, &range, parts, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/../../events/validator/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn every_validator_sample_is_a_digest_delivery_or_a_range_of_the_demo_trail() {
        let dir = format!("{}/../../events/validator", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "check-digests-late.json",
                "sqs-eventbridge-digest.json",
                "validate-range.json"
            ]
        );
        for name in names {
            match Request::from_payload(&sample(&name)).unwrap() {
                Request::CheckDigestsLate(request) => {
                    let range = request.resolve_now(0).unwrap();
                    assert_eq!(
                        range.s3_bucket.as_deref(),
                        Some("trailwatch-demo-integrity")
                    );
                    assert_eq!(range.trail.name, "demo-trail");
                }
                Request::ValidateRange(request) => {
                    let range = request.resolve(0).unwrap();
                    assert_eq!(
                        range.s3_bucket.as_deref(),
                        Some("trailwatch-demo-integrity")
                    );
                    assert_eq!(range.end - range.start, 3 * 3600, "{name}");
                }
                Request::Delivered {
                    ranges,
                    objects,
                    unreadable,
                } => {
                    assert!(ranges.is_empty() && unreadable.is_empty(), "{name}");
                    assert_eq!(objects.len(), 1, "{name}");
                    let (bucket, key) = &objects[0];
                    assert_eq!(bucket, "trailwatch-demo-integrity");
                    let trail = trail_of_digest(key).expect("a digest key");
                    assert_eq!(trail.trail_name, "demo-trail");
                }
            }
        }
    }
}
