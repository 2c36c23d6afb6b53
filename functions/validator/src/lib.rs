//! The validator: as a Lambda function, validates each delivered digest (its signature, its log
//! files, its link to the previous digest) or a requested time range, writes one CloudWatch Logs
//! event per verdict and EMF metrics; as a command, it is `aws cloudtrail validate-logs`.
//! Only translation lives here; the validation is `trailwatch::digest`, the AWS adapters [`aws`].

pub mod audit;
pub mod aws;
pub mod cli;
pub mod entry;
mod function;
pub mod render;
pub mod status;

pub use function::{Aws, AwsValidator, Keys, Validator, reconciler};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use trailwatch::validator::InvocationError;

/// The trailwatch validator: an AWS Lambda function that validates CloudTrail digest files and
/// the log files they list (log file integrity validation), or, with `validate-logs`, the same
/// as a command in the AWS CLI's form, and with `audit-logs`, an audit of what the log groups
/// hold against what CloudTrail signed. Deployed with template.yaml, Lambda runs it with no
/// command; locally, run the function with `cargo lambda watch` (README: Local invoke).
#[derive(Debug, clap::Parser)]
#[command(name = "validator", version = env!("TRAILWATCH_VERSION"))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a trail's log files against its digests, as `aws cloudtrail validate-logs`.
    ValidateLogs(cli::Args),
    /// Audit what the log groups hold against the signed log files: every signed record in
    /// its stream exactly once, and no event the signed files do not hold.
    ///
    /// For the account and region validate-logs would validate. Where the forwarder writes,
    /// and what it filters, come from the forwarder's environment variables (LOG_GROUP_NAME or
    /// ROUTES, EVENT_SELECTORS; file:// as the function reads them). Exit status: 0 all as
    /// signed, 1 anything missing, duplicated, unsigned or invalid, 2 a usage error, 255 could
    /// not audit (part of it).
    AuditLogs(audit::AuditArgs),
    /// What the validator function concluded of a trail over the last hours, read from its
    /// integrity group: one line per account and region (digests valid, invalid, late; log
    /// files valid, invalid, forwarded, pending, not forwarded; the last digest; repairs
    /// sent), then a verdict.
    ///
    /// Cheap: it validates nothing, it reads the function's verdicts. Exit status: 0 all well,
    /// 1 anything to act on or no verdicts at all (the function has not run), 2 a usage error,
    /// 255 could not read.
    Status(status::StatusArgs),
}

impl Command {
    /// The AWS CLI's global options and the region asked for, whichever the command.
    pub fn aws_and_region(&self) -> (&trailwatch::aws::options::AwsOptions, Option<&str>) {
        match self {
            Command::ValidateLogs(args) => (&args.aws, args.trail.region.as_deref()),
            Command::AuditLogs(args) => (&args.aws, args.trail.region.as_deref()),
            Command::Status(args) => (&args.aws, args.region.as_deref()),
        }
    }
}

impl Cli {
    /// The usage error of a command line that names no command where one is needed.
    pub fn command_missing() -> clap::Error {
        use clap::CommandFactory;
        Cli::command().error(
            clap::error::ErrorKind::MissingSubcommand,
            "a command is required: validate-logs, audit-logs or status",
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

/// Why an invocation failed, as Lambda reports it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] pub InvocationError);

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error.0 {
            InvocationError::Incomplete { .. } => "ChecksIncomplete",
            _ => "ValidationFailed",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// Validates what the payload asks, writes the verdicts, prints the metrics, and answers with
/// the summary, or fails so that the trigger delivers the invocation again.
pub async fn handle(
    validator: &Validator,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let now = trailwatch::clock::now_seconds();
    let outcome = validator.core.handle(&event.payload, now).await?;
    let function_name = &event.context.env_config.function_name;
    for line in outcome.metric_lines(&validator.namespace, function_name, now) {
        println!("{line}");
    }
    let counts = outcome.counts();
    tracing::info!(
        digests_valid = counts.digests_valid,
        digests_invalid = counts.digests_invalid,
        log_files_valid = counts.log_files_valid,
        log_files_invalid = counts.log_files_invalid,
        fanned_out = outcome.fanned_out,
        digests_late = outcome.late().count(),
        "validation summary"
    );
    Ok(outcome.answer(now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch::digest::locate::trail_of_digest;
    use trailwatch::validator::Request;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/../../events/validator/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn every_validator_sample_is_a_digest_delivery_a_recheck_or_a_range_or_audit_of_the_demo_trail()
    {
        let dir = format!("{}/../../events/validator", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "audit-logs.json",
                "check-digests-late.json",
                "sqs-eventbridge-digest.json",
                "sqs-recheck-forwarding.json",
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
                Request::ValidateRange(request) | Request::AuditLogs(request) => {
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
                    rechecks,
                    unreadable,
                } => {
                    assert!(ranges.is_empty() && unreadable.is_empty(), "{name}");
                    let digests: Vec<(&String, &String)> = objects
                        .iter()
                        .map(|(bucket, key)| (bucket, key))
                        .chain(rechecks.iter().map(|r| (&r.digest_bucket, &r.digest_key)))
                        .collect();
                    assert_eq!(digests.len(), 1, "{name}");
                    let (bucket, key) = digests[0];
                    assert_eq!(bucket, "trailwatch-demo-integrity");
                    let trail = trail_of_digest(key).expect("a digest key");
                    assert_eq!(trail.trail_name, "demo-trail");
                }
            }
        }
    }
}
