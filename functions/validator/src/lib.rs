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
        for (bucket, key) in delivered_objects(&payload).map_err(ValidationFailed)? {
            match validate_digest_object(validator, &bucket, &key).await {
                Ok(Some(validated)) => done.push(validated),
                Ok(None) => tracing::info!(%bucket, %key, "not a digest file: skipped"),
                Err(error) => errors.push(error),
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

/// The objects a delivery names (any trigger the forwarder accepts), as bucket and decoded key.
pub fn delivered_objects(payload: &Value) -> Result<Vec<(String, String)>, String> {
    let messages = match parse_invocation(payload).map_err(|e| e.to_string())? {
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
        .filter_map(|object| object.decode().ok())
        .map(|object| (object.bucket, object.key))
        .collect())
}

/// A `validateRange` request: what `aws cloudtrail validate-logs` takes as arguments.
#[derive(Debug, PartialEq)]
pub struct RangeRequest {
    pub trail_arn: String,
    pub start: i64,
    pub end: i64,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub organization_id: Option<String>,
    pub account_id: Option<String>,
}

impl RangeRequest {
    /// Reads a request; `now` ends a range without `endTime`.
    pub fn parse(range: &Value, now: i64) -> Result<Self, String> {
        let text = |name: &str| {
            range
                .get(name)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let trail_arn = text("trailArn").ok_or("validateRange needs trailArn")?;
        TrailArn::parse(&trail_arn)?;
        let end = match text("endTime") {
            Some(end) => iso_seconds(&end).ok_or("validateRange endTime is not ISO-8601 UTC")?,
            None => now,
        };
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
        Ok(Self {
            trail_arn,
            start,
            end,
            s3_bucket: text("s3Bucket"),
            s3_prefix: text("s3Prefix"),
            organization_id: text("organizationId"),
            account_id: text("accountId"),
        })
    }
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
    let request = RangeRequest::parse(range, now_seconds())?;
    let arn = TrailArn::parse(&request.trail_arn)?;
    let (bucket, prefix) = match request.s3_bucket {
        Some(bucket) => (bucket, request.s3_prefix),
        None => {
            trailwatch::digest::request::describe_trail(&validator.clients, &request.trail_arn)
                .await?
        }
    };
    let trail = TrailDigests {
        prefix,
        organization_id: request.organization_id,
        account_id: request.account_id.unwrap_or(arn.account_id),
        source_region: validator.region.clone(),
        home_region: arn.home_region,
        trail_name: arn.name,
    };
    let (start, end) = (request.start, request.end);
    let (keys, store) = keys_and_store(validator, &trail.source_region, start, end).await?;
    let report = validate_range(store, &keys, &trail, &bucket, start, end).await?;
    Ok(Validated {
        trail,
        what: format!(
            "{} {}..{}",
            request.trail_arn,
            trailwatch::digest::validate::display(start),
            trailwatch::digest::validate::display(end)
        ),
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
                    let request = RangeRequest::parse(range, 0).unwrap();
                    assert_eq!(
                        request.s3_bucket.as_deref(),
                        Some("trailwatch-demo-integrity")
                    );
                    assert_eq!(request.end - request.start, 3 * 3600, "{name}");
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

    #[test]
    fn a_range_takes_hours_back_from_now_as_the_schedule_sends_it() {
        let range = json!({"trailArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "hoursBack": 25, "s3Bucket": "b", "s3Prefix": ""});
        let request = RangeRequest::parse(&range, 100_000).unwrap();
        assert_eq!((request.start, request.end), (100_000 - 25 * 3600, 100_000));
        assert_eq!(
            request.s3_prefix, None,
            "the template sends an empty prefix"
        );
    }

    #[test]
    fn a_range_names_what_is_wrong_with_it() {
        let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
        for (range, wanted) in [
            (json!({"hoursBack": 1}), "needs trailArn"),
            (json!({"trailArn": arn}), "needs startTime"),
            (
                json!({"trailArn": arn, "startTime": "yesterday"}),
                "startTime is not ISO-8601",
            ),
            (
                json!({"trailArn": arn, "hoursBack": 1, "endTime": "soon"}),
                "endTime is not ISO-8601",
            ),
        ] {
            let error = RangeRequest::parse(&range, 0).unwrap_err();
            assert!(error.contains(wanted), "{error}");
        }
    }
}
