//! The validator: as a Lambda function, validates each delivered digest (its signature, its log
//! files, its link to the previous digest) or a requested time range, writes one CloudWatch Logs
//! event per verdict and EMF metrics; as a command, it is `aws cloudtrail validate-logs`.

pub mod cli;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use trailwatch::config::validate_log_group_name;
use trailwatch::digest::chain::{TrailDigests, iso_seconds};
use trailwatch::digest::request::{
    Clients, KeyCache, KeySource, TrailArn, trail_of_digest, validate_delivered_digest,
};
use trailwatch::digest::s3::S3DigestStore;
use trailwatch::digest::validate::{Counts, Report, validate_range};
use trailwatch::logs::{BatchBuilder, Destination, LogEvent, LogPublisher};
use trailwatch::trigger::{Invocation, MessageContent, parse_invocation};

/// Environment variables: names users' stacks set.
pub const INTEGRITY_LOG_GROUP_NAME: &str = "INTEGRITY_LOG_GROUP_NAME";
pub const TRAIL_PUBLIC_KEYS_FILE: &str = "TRAIL_PUBLIC_KEYS_FILE";

pub struct Validator {
    pub clients: Clients,
    pub publisher: LogPublisher,
    pub log_group: Arc<str>,
    pub keys: KeySource,
    /// Keys fetched so far, for the life of the process.
    pub key_cache: KeyCache,
    pub region: String,
    pub namespace: String,
}

impl Validator {
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, String> {
        let group = std::env::var(INTEGRITY_LOG_GROUP_NAME).unwrap_or_default();
        validate_log_group_name(&group)
            .map_err(|reason| format!("configuration {INTEGRITY_LOG_GROUP_NAME}: {reason}"))?;
        Ok(Self {
            clients: clients(sdk),
            publisher: LogPublisher::new(aws_sdk_cloudwatchlogs::Client::new(sdk)),
            log_group: Arc::from(group.as_str()),
            keys: match std::env::var(TRAIL_PUBLIC_KEYS_FILE) {
                Ok(path) if !path.is_empty() => KeySource::File(path),
                _ => KeySource::CloudTrail,
            },
            key_cache: KeyCache::default(),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            namespace: std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "trailwatch".into()),
        })
    }
}

/// S3 with path-style addressing when an endpoint is configured (local emulators).
pub fn clients(sdk: &aws_config::SdkConfig) -> Clients {
    let s3 = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ValidationFailed(pub String);

impl From<ValidationFailed> for Diagnostic {
    fn from(error: ValidationFailed) -> Self {
        Diagnostic {
            error_type: "ValidationFailed".into(),
            error_message: error.0,
        }
    }
}

/// One validation: what was validated, and what was found.
struct Validated {
    trail: TrailDigests,
    what: String,
    report: Report,
}

pub async fn handle(
    validator: &Validator,
    event: LambdaEvent<Value>,
) -> Result<Value, ValidationFailed> {
    let payload = event.payload;
    let mut done = Vec::new();
    let mut errors = Vec::new();
    if let Some(range) = payload.get("validateRange") {
        match validate_requested_range(validator, range).await {
            Ok(validated) => done.push(validated),
            Err(error) => errors.push(error),
        }
    } else {
        let invocation = parse_invocation(&payload).map_err(|e| ValidationFailed(e.to_string()))?;
        let messages = match invocation {
            Invocation::Direct(message) => vec![message],
            Invocation::Sqs(messages) => messages,
        };
        for message in messages {
            let Ok(MessageContent::Objects(objects)) = message.content else {
                continue;
            };
            for object in objects.iter().filter_map(|o| o.decode().ok()) {
                match validate_digest_object(validator, &object.bucket, &object.key).await {
                    Ok(Some(validated)) => done.push(validated),
                    Ok(None) => {
                        tracing::info!(bucket = %object.bucket, key = %object.key, "not a digest file: skipped")
                    }
                    Err(error) => errors.push(error),
                }
            }
        }
    }
    let mut counts = Counts::default();
    let mut invalid = Vec::new();
    for validated in &done {
        write_verdicts(validator, validated)
            .await
            .map_err(ValidationFailed)?;
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
        emf_line(
            &validator.namespace,
            &event.context.env_config.function_name,
            &counts
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
        return Err(ValidationFailed(errors.join("; ")));
    }
    Ok(
        json!({"validated": done.iter().map(|d| d.what.clone()).collect::<Vec<_>>(), "counts": counts, "invalid": invalid}),
    )
}

async fn validate_digest_object(
    validator: &Validator,
    bucket: &str,
    key: &str,
) -> Result<Option<Validated>, String> {
    let Some(trail) = trail_of_digest(key) else {
        return Ok(None);
    };
    let time = trailwatch::digest::chain::key_time(key).unwrap_or_default();
    let (keys, store) = keys_and_store(validator, &trail.source_region, time - 3600, time).await?;
    let report = validate_delivered_digest(store, &keys, bucket, key).await?;
    Ok(Some(Validated {
        trail,
        what: format!("s3://{bucket}/{key}"),
        report,
    }))
}

/// The public keys for a region and range (cached), and the S3 store.
async fn keys_and_store(
    validator: &Validator,
    region: &str,
    start: i64,
    end: i64,
) -> Result<(trailwatch::digest::chain::PublicKeys, Arc<S3DigestStore>), String> {
    let keys = validator
        .key_cache
        .get(&validator.keys, &validator.clients, region, start, end)
        .await?;
    Ok((
        keys,
        Arc::new(S3DigestStore {
            client: validator.clients.s3.clone(),
        }),
    ))
}

async fn validate_requested_range(
    validator: &Validator,
    range: &Value,
) -> Result<Validated, String> {
    let text = |name: &str| range.get(name).and_then(Value::as_str).map(str::to_owned);
    let arn_text = text("trailArn").ok_or("validateRange needs trailArn")?;
    let arn = TrailArn::parse(&arn_text)?;
    let end = text("endTime")
        .and_then(|t| iso_seconds(&t))
        .unwrap_or_else(now_seconds);
    let start = match (
        text("startTime"),
        range.get("hoursBack").and_then(Value::as_i64),
    ) {
        (Some(start), _) => {
            iso_seconds(&start).ok_or("validateRange startTime is not ISO-8601 UTC")?
        }
        (None, Some(hours)) => end - hours * 3600,
        (None, None) => {
            return Err("validateRange needs startTime (ISO-8601 UTC) or hoursBack".to_owned());
        }
    };
    let (bucket, prefix) = match text("s3Bucket") {
        Some(bucket) => (bucket, text("s3Prefix").filter(|p| !p.is_empty())),
        None => trailwatch::digest::request::describe_trail(&validator.clients, &arn_text).await?,
    };
    let trail = TrailDigests {
        prefix,
        organization_id: text("organizationId"),
        account_id: text("accountId").unwrap_or(arn.account_id),
        source_region: validator.region.clone(),
        home_region: arn.home_region,
        trail_name: arn.name,
    };
    let (keys, store) = keys_and_store(validator, &trail.source_region, start, end).await?;
    let report = validate_range(store, &keys, &trail, &bucket, start, end).await?;
    Ok(Validated {
        trail,
        what: format!("{arn_text} {start}..{end}"),
        report,
    })
}

/// One event per verdict in the integrity group, in a stream per trail and region.
async fn write_verdicts(validator: &Validator, validated: &Validated) -> Result<(), String> {
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
        validator
            .publisher
            .put(&destination, batch, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn emf_line(namespace: &str, function: &str, counts: &Counts) -> String {
    let metrics = [
        ("DigestsValid", counts.digests_valid),
        ("DigestsInvalid", counts.digests_invalid),
        ("LogFilesValid", counts.log_files_valid),
        ("LogFilesInvalid", counts.log_files_invalid),
        ("LogFilesMissing", counts.log_files_missing),
        ("LogFilesUnreferenced", counts.log_files_unreferenced),
    ];
    let mut line = json!({"_aws": {"Timestamp": now_seconds() * 1000, "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["FunctionName"]],
        "Metrics": metrics.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>()}]}, "FunctionName": function});
    for (name, value) in metrics {
        line[name] = json!(value);
    }
    line.to_string()
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
