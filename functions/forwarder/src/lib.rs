//! The forwarder Lambda function: S3 event notifications in, a forwarding summary out.
//! Only translation lives here: event → objects, summary → result, failures → `Diagnostic`.

use aws_config::SdkConfig;
use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Diagnostic, LambdaEvent};
use trailwatch::{ForwardSummary, Forwarder, ForwarderConfig, NotifiedObject};

/// Builds the forwarder's clients once per cold start. With a custom endpoint (a local
/// emulator through `AWS_ENDPOINT_URL`), S3 uses path-style addressing.
pub fn build_forwarder(sdk: &SdkConfig, config: &ForwarderConfig) -> Forwarder {
    let s3_config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Forwarder::new(
        aws_sdk_s3::Client::from_conf(s3_config),
        aws_sdk_cloudwatchlogs::Client::new(sdk),
        config,
    )
}

/// The invocation failed because some objects failed; the others were forwarded.
#[derive(Debug, thiserror::Error)]
#[error("{count} of {total} objects failed: {keys}")]
pub struct ObjectsFailed {
    pub count: u64,
    pub total: usize,
    pub keys: String,
}

impl From<ObjectsFailed> for Diagnostic {
    fn from(error: ObjectsFailed) -> Self {
        Diagnostic {
            error_type: "ObjectsFailed".into(),
            error_message: error.to_string(),
        }
    }
}

/// Forwards every object the notification names. When any failed, the others are still
/// forwarded first, the summary is logged, and the invocation fails naming the failed objects
/// so Lambda's retries and failure destinations see it.
pub async fn handle(
    forwarder: &Forwarder,
    event: LambdaEvent<S3Event>,
) -> Result<ForwardSummary, ObjectsFailed> {
    let summary = forwarder
        .forward_notified(notified_objects(&event.payload))
        .await;
    tracing::info!(
        records = summary.records,
        forwarded = summary.forwarded,
        filtered = summary.filtered,
        rejected = summary.rejected,
        skipped_objects = summary.skipped_objects,
        failed_objects = summary.failed_objects,
        "invocation summary"
    );
    if summary.failed_objects == 0 {
        return Ok(summary);
    }
    let keys: Vec<String> = summary
        .failed()
        .map(|o| {
            format!(
                "s3://{}/{} ({})",
                o.bucket,
                o.key,
                o.error.as_deref().unwrap_or_default()
            )
        })
        .collect();
    Err(ObjectsFailed {
        count: summary.failed_objects,
        total: summary.objects.len(),
        keys: keys.join("; "),
    })
}

/// The objects an S3 notification names, keys still encoded.
pub fn notified_objects(event: &S3Event) -> Vec<NotifiedObject> {
    event
        .records
        .iter()
        .map(|record| NotifiedObject {
            event_name: record.event_name.clone(),
            bucket: record.s3.bucket.name.clone().unwrap_or_default(),
            encoded_key: record.s3.object.key.clone().unwrap_or_default(),
            version_id: record.s3.object.version_id.clone(),
            size: record.s3.object.size,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_event_names_its_objects() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let event: S3Event =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let objects = notified_objects(&event);
            assert!(!objects.is_empty(), "{}", path.display());
            assert!(
                objects
                    .iter()
                    .all(|o| !o.bucket.is_empty() && !o.encoded_key.is_empty())
            );
            checked += 1;
        }
        assert!(checked >= 1);
    }

    #[test]
    fn url_encoded_keys_stay_encoded_until_the_forwarder_decodes_them() {
        let text = include_str!("../../../events/s3-put-cloudtrail-log.json");
        let event: S3Event = serde_json::from_str(text).unwrap();
        let object = notified_objects(&event).remove(0).decode().unwrap();
        assert!(
            trailwatch::trail::TrailKey::parse(&object.key).is_some(),
            "{}",
            object.key
        );
    }
}
