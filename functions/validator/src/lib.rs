//! The validator: as a Lambda function, validates each delivered digest (its signature, its log
//! files, its link to the previous digest) or a requested time range, writes one CloudWatch Logs
//! event per verdict and EMF metrics; as a command, it is `aws cloudtrail validate-logs`.
//! Only translation lives here; the validation is `trailwatch::digest`, the AWS adapters [`aws`].

pub mod aws;
pub mod cli;
pub mod render;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use trailwatch::aws::logs::CloudWatchLogsSink;
use trailwatch::digest::keys::KeysFile;
use trailwatch::digest::request::{
    KeyCache, RangeRequest, Validated, ValidationError, trail_of_digest, validate_delivered_digest,
    validate_requested_range,
};
use trailwatch::digest::store::{CallError, PublicKeySource, PublicKeys};
use trailwatch::digest::validate::Counts;
use trailwatch::logs::{BatchBuilder, Destination, LogEvent, validate_log_group_name};
use trailwatch::ports::LogSink;
use trailwatch::trigger::{Invocation, MessageContent, UnrecognisedPayload, parse_invocation};

use crate::aws::Clients;
use crate::aws::cloudtrail::{CloudTrailDirectory, CloudTrailKeys};
use crate::aws::s3::S3DigestStore;

/// Environment variables: names users' stacks set.
pub const INTEGRITY_LOG_GROUP_NAME: &str = "INTEGRITY_LOG_GROUP_NAME";
pub const TRAIL_PUBLIC_KEYS_FILE: &str = "TRAIL_PUBLIC_KEYS_FILE";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";

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
    /// The function's region: the digests a range validates.
    pub region: String,
    pub namespace: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Validator {
    pub fn new(
        clients: &Clients,
        logs: aws_sdk_cloudwatchlogs::Client,
        log_group: &str,
        keys: Keys,
        region: &str,
        namespace: &str,
    ) -> Self {
        Self {
            store: Arc::new(S3DigestStore {
                client: clients.s3.clone(),
            }),
            keys: KeyCache::new(keys),
            directory: CloudTrailDirectory {
                client: clients.cloudtrail.clone(),
            },
            sink: CloudWatchLogsSink::new(logs),
            log_group: Arc::from(log_group),
            region: region.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let group = std::env::var(INTEGRITY_LOG_GROUP_NAME).unwrap_or_default();
        validate_log_group_name(&group).map_err(|reason| ConfigError {
            variable: INTEGRITY_LOG_GROUP_NAME,
            reason,
        })?;
        let clients = Clients::new(sdk);
        let keys = Keys::new(&clients, std::env::var(TRAIL_PUBLIC_KEYS_FILE).ok());
        let namespace = std::env::var(METRICS_NAMESPACE)
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "trailwatch".into());
        Ok(Self::new(
            &clients,
            aws_sdk_cloudwatchlogs::Client::new(sdk),
            &group,
            keys,
            &sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            &namespace,
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Payload(#[from] UnrecognisedPayload),
    #[error("validateRange is not a range request: {0}")]
    Request(#[source] serde_json::Error),
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
    let (done, errors) = validate_payload(validator, &event.payload).await?;
    let mut counts = Counts::default();
    let mut invalid = Vec::new();
    for validated in &done {
        write_verdicts(validator, validated)
            .await
            .map_err(HandlerError::Verdicts)?;
        counts.add(&validated.report.counts());
        invalid.extend(
            validated
                .report
                .verdicts
                .iter()
                .filter(|v| !v.status.is_valid())
                .map(|v| v.to_string()),
        );
    }
    println!(
        "{}",
        trailwatch::metrics::emf_line(
            &validator.namespace,
            &event.context.env_config.function_name,
            now_seconds() * 1000,
            trailwatch::metrics::validator_metrics(&counts),
            &[],
        )
    );
    tracing::info!(
        digests_valid = counts.digests_valid,
        digests_invalid = counts.digests_invalid,
        log_files_valid = counts.log_files_valid,
        log_files_invalid = counts.log_files_invalid,
        "validation summary"
    );
    if !errors.is_empty() {
        return Err(HandlerError::Validations(errors));
    }
    // A check that did not complete proves nothing: fail, so SQS delivers the digest again.
    if counts.checks_incomplete > 0 {
        return Err(HandlerError::Incomplete {
            incomplete: counts.checks_incomplete,
        });
    }
    Ok(
        json!({"validated": done.iter().map(|d| d.what.clone()).collect::<Vec<_>>(), "counts": counts, "invalid": invalid}),
    )
}

/// Validates what the payload asks: a `validateRange`, or each delivered digest. Returns the
/// validations done and those that could not be.
async fn validate_payload(
    validator: &Validator,
    payload: &Value,
) -> Result<(Vec<Validated>, Vec<ValidationError>), HandlerError> {
    let mut done = Vec::new();
    let mut errors = Vec::new();
    if let Some(range) = payload.get("validateRange") {
        let request: RangeRequest =
            serde_json::from_value(range.clone()).map_err(HandlerError::Request)?;
        let validated = match request.resolve(now_seconds()) {
            Ok(range) => {
                validate_requested_range(
                    Arc::clone(&validator.store),
                    &validator.keys,
                    &validator.directory,
                    &range,
                    &validator.region,
                )
                .await
            }
            Err(error) => Err(error.into()),
        };
        match validated {
            Ok(validated) => done.push(validated),
            Err(error) => errors.push(error),
        }
        return Ok((done, errors));
    }
    for (bucket, key) in delivered_objects(payload)? {
        if trail_of_digest(&key).is_none() {
            tracing::info!(%bucket, %key, "not a digest file: skipped");
            continue;
        }
        let store = Arc::clone(&validator.store);
        match validate_delivered_digest(store, &validator.keys, &bucket, &key).await {
            Ok(validated) => done.push(validated),
            Err(error) => errors.push(error),
        }
    }
    Ok((done, errors))
}

/// The objects a delivery names (any trigger the forwarder accepts), as bucket and decoded key.
pub fn delivered_objects(payload: &Value) -> Result<Vec<(String, String)>, UnrecognisedPayload> {
    let messages = match parse_invocation(payload)? {
        Invocation::Direct(message) => vec![message],
        Invocation::Sqs(messages) => messages,
    };
    Ok(messages
        .into_iter()
        .filter_map(|message| match message.content {
            Ok(MessageContent::Objects(objects)) => Some(objects),
            _ => None,
        })
        .flatten()
        .filter_map(|entry| entry.ok()?.decode().ok())
        .map(|object| (object.bucket, object.key))
        .collect())
}

/// One event per verdict in the integrity group, in a stream per trail and region.
async fn write_verdicts(validator: &Validator, validated: &Validated) -> Result<(), CallError> {
    let destination = Destination {
        log_group: Arc::clone(&validator.log_group),
        log_stream: Arc::from(
            format!(
                "{}_CloudTrail-Digest_{}_{}",
                validated.trail.account_id,
                validated.trail.source_region,
                validated.trail.trail_name
            )
            .as_str(),
        ),
    };
    let now = now_seconds() * 1000;
    let mut builder = BatchBuilder::new();
    let mut batches = Vec::new();
    for (index, verdict) in validated.report.verdicts.iter().enumerate() {
        let message = json!({"verdict": verdict.to_string(), "status": verdict.status.code(), "valid": verdict.status.is_valid(), "subject": verdict.subject, "bucket": verdict.bucket, "key": verdict.key, "validated": validated.what}).to_string();
        if let Ok(Some(batch)) = builder.push(LogEvent {
            timestamp: now,
            message,
            record_index: index as u64,
        }) {
            batches.push(batch);
        }
    }
    batches.extend(builder.finish());
    for batch in batches {
        validator.sink.put(&destination, &batch, None).await?;
    }
    Ok(())
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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
            ["sqs-eventbridge-digest.json", "validate-range.json"]
        );
        for name in names {
            let payload = sample(&name);
            match payload.get("validateRange") {
                Some(range) => {
                    let request: RangeRequest = serde_json::from_value(range.clone()).unwrap();
                    let range = request.resolve(0).unwrap();
                    assert_eq!(
                        range.s3_bucket.as_deref(),
                        Some("trailwatch-demo-integrity")
                    );
                    assert_eq!(range.end - range.start, 3 * 3600, "{name}");
                }
                None => {
                    let objects = delivered_objects(&payload).unwrap();
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
