//! The validator: as a Lambda function, validates each delivered digest (its signature, its log
//! files, its link to the previous digest) or a requested time range, writes one CloudWatch Logs
//! event per verdict and EMF metrics; as a command, it is `aws cloudtrail validate-logs`.
//! Only translation lives here; the validation is `trailwatch::digest`, the AWS adapters [`aws`].

pub mod aws;
pub mod cli;
pub mod entry;
pub mod provenance;
pub mod render;
pub mod request;

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::digest::keys::{KeyCache, KeysFile};
use trailwatch::digest::locate::{
    TrailDigests, locate, part_request, trail_of_digest, trail_parts,
};
use trailwatch::digest::provenance::{ForwardingEvent, count as count_forwarding};
use trailwatch::digest::report::Counts;
use trailwatch::digest::request::{RangeRequest, ValidationError};
use trailwatch::digest::silence::{Lateness, check_lateness};
use trailwatch::digest::store::{CallError, PublicKeySource, PublicKeys};
use trailwatch::digest::validate::{Validated, validate_delivered_digest, validate_part};
use trailwatch::digest::verdict::VerdictEvent;
use trailwatch::logs::{BatchBuilder, Destination, LogEvent};
use trailwatch::metrics::{
    emf_line, line_with_dimensions, validator_metrics, validator_part_metrics,
};
use trailwatch::ports::LogSink;

use crate::aws::Clients;
use crate::aws::cloudtrail::{CloudTrailDirectory, CloudTrailKeys};
use crate::aws::s3::S3DigestStore;
use crate::aws::sqs::SqsRangeQueue;
use crate::provenance::Provenance;
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

/// Where the public keys come from: `ListPublicKeys`, or a file of its output.
pub enum Keys {
    CloudTrail(Box<CloudTrailKeys>),
    File(KeysFile),
}

impl Keys {
    /// `path` when given (`--public-keys-file`, `TRAIL_PUBLIC_KEYS_FILE`), else CloudTrail.
    pub fn new(clients: &Clients, path: Option<String>) -> Self {
        match path.filter(|p| !p.is_empty()) {
            Some(path) => Keys::File(KeysFile { path }),
            None => Keys::CloudTrail(Box::new(CloudTrailKeys::new(&clients.sdk))),
        }
    }
}

impl PublicKeySource for Keys {
    async fn keys(&self, region: &str, start: i64, end: i64) -> Result<PublicKeys, CallError> {
        match self {
            Keys::CloudTrail(keys) => keys.keys(region, start, end).await,
            Keys::File(keys) => keys.keys(region, start, end).await,
        }
    }
}

/// The function's adapters and settings, built once per cold start.
pub struct Validator {
    pub store: Arc<S3DigestStore>,
    /// Keys fetched so far, for the life of the process.
    pub keys: KeyCache<Keys>,
    pub directory: CloudTrailDirectory,
    pub sink: CloudWatchLogsSink,
    pub log_group: Arc<str>,
    pub namespace: String,
    /// `DIGEST_QUEUE_URL`: a range over more than one account and region is sent here, one
    /// message per account and region; without it, every part is validated in-process.
    pub fan_out: Option<SqsRangeQueue>,
    /// `CHECKPOINT_TABLE_NAME`: listed log files reconciled with what the forwarder recorded.
    pub provenance: Option<Provenance>,
}

impl Validator {
    pub fn new(
        clients: &Clients,
        logs: aws_sdk_cloudwatchlogs::Client,
        log_group: &str,
        keys: Keys,
        namespace: &str,
    ) -> Self {
        Self {
            store: Arc::new(S3DigestStore {
                client: clients.s3.clone(),
            }),
            keys: KeyCache::new(keys),
            directory: CloudTrailDirectory::new(clients),
            sink: CloudWatchLogsSink::new(logs),
            log_group: Arc::from(log_group),
            namespace: namespace.to_owned(),
            fan_out: None,
            provenance: None,
        }
    }

    /// Whole-trail ranges fan out through `queue_url`.
    pub fn with_fan_out(mut self, client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        self.fan_out = Some(SqsRangeQueue {
            client,
            queue_url: queue_url.to_owned(),
        });
        self
    }

    /// The function's adapters for `config`.
    pub fn from_config(sdk: &aws_config::SdkConfig, config: &ValidatorConfig) -> Self {
        let clients = Clients::new(sdk);
        let keys = Keys::new(&clients, config.public_keys_file.clone());
        let mut validator = Self::new(
            &clients,
            aws_sdk_cloudwatchlogs::Client::new(sdk),
            &config.integrity_log_group,
            keys,
            &config.metrics_namespace,
        );
        validator.provenance = config
            .reconciliation
            .as_ref()
            .map(|reconciliation| Provenance::new(sdk, &clients, reconciliation));
        match &config.digest_queue_url {
            Some(url) => validator.with_fan_out(aws_sdk_sqs::Client::new(sdk), url),
            None => validator,
        }
    }
}

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

/// Writes each part's verdict events (and its reconciliation's, with `repairs` sent per part)
/// and its problem metrics; the counts of all parts and the lines of what is not valid.
async fn report_validated(
    validator: &Validator,
    done: &[Validated],
    repairs: Option<&[u64]>,
    function_name: &str,
    now: i64,
) -> Result<(Counts, Vec<String>), HandlerError> {
    let mut counts = Counts::default();
    let mut invalid = Vec::new();
    for (part, validated) in done.iter().enumerate() {
        let trail = &validated.scope.trail;
        let what = &validated.what;
        let verdicts = validated.report.verdicts.iter().map(|verdict| {
            serde_json::to_string(&VerdictEvent::of(verdict, what)).unwrap_or_default()
        });
        let forwarding = validated.forwarding.iter().map(|verdict| {
            serde_json::to_string(&ForwardingEvent::of(verdict, what)).unwrap_or_default()
        });
        write_lines(
            validator,
            &verdict_stream(trail),
            verdicts.chain(forwarding),
            now,
        )
        .await
        .map_err(HandlerError::Verdicts)?;
        let mut part_counts = validated.report.counts();
        if let Some(repairs) = repairs {
            let (mut reconciled, not_checked) = count_forwarding(&validated.forwarding);
            reconciled.repairs_sent = repairs.get(part).copied().unwrap_or(0);
            part_counts.forwarding = Some(reconciled);
            part_counts.checks_incomplete += not_checked;
            invalid.extend(
                validated
                    .forwarding
                    .iter()
                    .filter(|v| v.forwarding.is_problem())
                    .map(ToString::to_string),
            );
        }
        counts.add(&part_counts);
        let problems = validator_part_metrics(&part_counts, false);
        if !problems.is_empty() {
            print_part_metrics(validator, function_name, trail, problems, now);
        }
        let verdicts = validated.report.verdicts.iter();
        invalid.extend(
            verdicts
                .filter(|v| !v.status.is_valid())
                .map(ToString::to_string),
        );
    }
    Ok((counts, invalid))
}

/// Writes an event and a metric for each region whose digests are late; those regions.
async fn report_late<'w>(
    validator: &Validator,
    lateness: &'w [Lateness],
    function_name: &str,
    now: i64,
) -> Result<Vec<&'w Lateness>, HandlerError> {
    let late: Vec<&Lateness> = lateness.iter().filter(|l| l.late).collect();
    for lateness in &late {
        let line = serde_json::to_string(&lateness.event(now)).unwrap_or_default();
        write_lines(validator, &verdict_stream(&lateness.trail), [line], now)
            .await
            .map_err(HandlerError::Verdicts)?;
        let metrics = validator_part_metrics(&Counts::default(), true);
        print_part_metrics(validator, function_name, &lateness.trail, metrics, now);
    }
    Ok(late)
}

/// One EMF line of a part's problem metrics, with its `Account` and `Region` dimensions.
fn print_part_metrics(
    validator: &Validator,
    function_name: &str,
    trail: &TrailDigests,
    metrics: Vec<(&'static str, &'static str, Value)>,
    now: i64,
) {
    let dimensions = part_dimensions(function_name, trail);
    let line = line_with_dimensions(&validator.namespace, &dimensions, now * 1000, metrics, &[]);
    println!("{line}");
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

/// The stream of one account's, region's and trail's verdicts in the integrity group.
fn verdict_stream(trail: &TrailDigests) -> String {
    format!(
        "{}_CloudTrail-Digest_{}_{}",
        trail.account_id, trail.source_region, trail.trail_name
    )
}

fn part_dimensions<'a>(function_name: &'a str, trail: &'a TrailDigests) -> [(&'a str, &'a str); 3] {
    [
        ("FunctionName", function_name),
        ("Account", &trail.account_id),
        ("Region", &trail.source_region),
    ]
}

/// One event per line in `stream` of the integrity group.
async fn write_lines(
    validator: &Validator,
    stream: &str,
    lines: impl IntoIterator<Item = String>,
    now: i64,
) -> Result<(), CallError> {
    let destination = Destination {
        log_group: Arc::clone(&validator.log_group),
        log_stream: Arc::from(stream),
    };
    let mut builder = BatchBuilder::new();
    let mut batches = Vec::new();
    for (index, message) in lines.into_iter().enumerate() {
        let pushed = builder.push(LogEvent {
            timestamp: now * 1000,
            message,
            record_index: index as u64,
        });
        match pushed {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => {}
            // A verdict line is a few hundred bytes; one this large says the key is absurd.
            Err(too_large) => {
                tracing::error!(
                    stream,
                    bytes = too_large.bytes,
                    "verdict event too large for CloudWatch Logs: not written"
                );
            }
        }
    }
    batches.extend(builder.finish());
    for batch in batches {
        validator.sink.put(&destination, &batch, None).await?;
    }
    Ok(())
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
