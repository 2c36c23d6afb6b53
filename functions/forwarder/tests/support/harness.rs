//! A test's own bucket and forwarder against moto (or a fault proxy in front of it), and the
//! payloads the triggers send.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_runtime::{Context, LambdaEvent};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use trailwatch::generate::{GeneratedRecord, TrailSpec, write_log_file};
pub use trailwatch::pipeline::InvocationEnd;
use trailwatch::pipeline::InvocationReport;
use trailwatch::{ForwardSummary, ForwarderConfig};
pub use trailwatch_test_support::create_checkpoint_table;

/// The in-flight margin of checkpointed harnesses.
pub const IN_FLIGHT_MARGIN_SECONDS: &str = "1";
pub const IN_FLIGHT_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Harness {
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub forwarder: forwarder::AwsForwarder,
    pub visibility: forwarder::aws::sqs::VisibilityKeeper,
    pub bucket: String,
    pub group: String,
    /// The checkpoint table, when the harness has one.
    pub table: String,
}

impl Harness {
    /// A fresh bucket and a destination group name of the test's own.
    pub async fn new(name: &str) -> Self {
        let group = format!("/trailwatch/test/{name}");
        Self::with_config(name, &group, &[("LOG_GROUP_NAME", &group)]).await
    }

    /// A fresh bucket and the forwarder configured by these environment variables.
    pub async fn with_config(name: &str, group: &str, vars: &[(&str, &str)]) -> Self {
        Self::through(&super::moto().endpoint, name, group, vars).await
    }

    /// As `with_config`, with the forwarder's clients talking to `endpoint` (a fault proxy);
    /// the test's own clients talk to moto directly.
    pub async fn through(endpoint: &str, name: &str, group: &str, vars: &[(&str, &str)]) -> Self {
        let direct = super::sdk_config_for(&super::moto().endpoint).await;
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = ForwarderConfig::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let s3 = super::path_style_s3(&direct);
        let bucket = format!("trailwatch-{name}");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        Self {
            forwarder: forwarder::build_forwarder(&super::sdk_config_for(endpoint).await, &config),
            visibility: forwarder::build_visibility_keeper(&super::sdk_config_for(endpoint).await),
            logs: aws_sdk_cloudwatchlogs::Client::new(&direct),
            sqs: aws_sdk_sqs::Client::new(&direct),
            dynamodb: aws_sdk_dynamodb::Client::new(&direct),
            s3,
            bucket,
            group: group.to_owned(),
            table: vars
                .get("CHECKPOINT_TABLE_NAME")
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// A fresh bucket, a checkpoint table of its own, and the forwarder through `endpoint`
    /// using both; `vars` add to LOG_GROUP_NAME and CHECKPOINT_TABLE_NAME.
    pub async fn checkpointed(endpoint: &str, name: &str, vars: &[(&str, &str)]) -> Self {
        let group = format!("/trailwatch/test/{name}");
        let table = format!("trailwatch-checkpoints-{name}");
        let direct = super::sdk_config_for(&super::moto().endpoint).await;
        create_checkpoint_table(&aws_sdk_dynamodb::Client::new(&direct), &table).await;
        // A put of unknown outcome is waited out for a second here (60 s in production).
        let mut all = vec![
            ("LOG_GROUP_NAME", group.as_str()),
            ("CHECKPOINT_TABLE_NAME", table.as_str()),
            ("IN_FLIGHT_MARGIN_SECONDS", IN_FLIGHT_MARGIN_SECONDS),
        ];
        all.extend_from_slice(vars);
        Self::through(endpoint, name, &group, &all).await
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> (String, usize) {
        let size = body.len();
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        (key.to_owned(), size)
    }

    /// Writes a generated trail file to the bucket; returns its key, size and records.
    pub async fn put_trail_file(
        &self,
        spec: &TrailSpec,
        min_bytes: u64,
    ) -> (String, usize, Vec<GeneratedRecord>) {
        let mut body = Vec::new();
        let written = write_log_file(spec, min_bytes, &mut body).unwrap();
        let records = spec.records().take(written.records as usize).collect();
        let (key, size) = self.put(&spec.key(), body).await;
        (key, size, records)
    }

    /// Invokes the forwarder as an S3 notification would, and returns its summary.
    pub async fn invoke(&self, objects: &[(String, usize)]) -> ForwardSummary {
        self.run(&s3_event(&self.bucket, objects), None)
            .await
            .summary
    }

    /// Runs any payload through the forwarder, as an invocation of its own.
    pub async fn run(&self, payload: &Value, end: Option<InvocationEnd>) -> InvocationReport {
        static INVOCATIONS: AtomicU64 = AtomicU64::new(0);
        let owner = format!(
            "test-invocation-{}",
            INVOCATIONS.fetch_add(1, Ordering::Relaxed)
        );
        self.forwarder.handle(payload, end, &owner).await.unwrap()
    }

    /// Invokes the Lambda handler itself: its response, or its error.
    pub async fn invoke_handler(&self, payload: Value) -> Result<Value, forwarder::HandlerError> {
        let event = LambdaEvent::new(payload, Context::default());
        self.invoke_handler_with(event).await
    }

    /// Invokes the Lambda handler with a whole event (its context: deadline, request id).
    pub async fn invoke_handler_with(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Value, forwarder::HandlerError> {
        forwarder::handle(&self.forwarder, &self.visibility, "test", event)
            .await
            .map(|response| serde_json::to_value(response).unwrap())
    }

    /// The log groups named like the test's destination group (DescribeLogGroups by prefix).
    pub async fn own_log_groups(&self) -> Vec<aws_sdk_cloudwatchlogs::types::LogGroup> {
        self.logs
            .describe_log_groups()
            .log_group_name_prefix(&self.group)
            .send()
            .await
            .unwrap()
            .log_groups()
            .to_vec()
    }

    pub async fn events(&self, stream: &str) -> BTreeSet<(i64, String)> {
        self.events_in(&self.group, stream).await
    }

    /// A stream's events as a set, asserting none is there twice.
    pub async fn events_in(&self, group: &str, stream: &str) -> BTreeSet<(i64, String)> {
        let events = super::stream_events(&self.logs, group, stream).await;
        let unique: BTreeSet<(i64, String)> = events.iter().cloned().collect();
        assert_eq!(unique.len(), events.len(), "duplicate events in {stream}");
        unique
    }
}

/// S3 notifications carry keys form-URL-encoded: space as `+`, the rest percent-encoded.
pub fn notification_key(key: &str) -> String {
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b' ');
    utf8_percent_encode(key, KEEP).to_string().replace(' ', "+")
}

/// An S3 event notification naming these objects.
pub fn s3_event(bucket: &str, objects: &[(String, usize)]) -> Value {
    let records: Vec<Value> = objects
        .iter()
        .map(|(key, size)| {
            json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-25T12:00:00.000Z", "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:CLOUDTRAIL"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "trail",
                       "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A"}, "arn": format!("arn:aws:s3:::{bucket}")},
                       "object": {"key": notification_key(key), "size": size, "sequencer": "1"}}
            })
        })
        .collect();
    json!({ "Records": records })
}

/// An SQS batch of (message id, body) as Lambda delivers it.
pub fn sqs_event(messages: &[(&str, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": format!("handle-{id}"), "body": body,
                   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                   "md5OfBody": "0", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailwatch", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

pub fn expected(records: &[GeneratedRecord]) -> BTreeSet<(i64, String)> {
    records
        .iter()
        .map(|r| (r.event_time_millis, r.text.clone()))
        .collect()
}

pub fn assert_balanced(summary: &ForwardSummary) {
    for object in &summary.objects {
        assert!(object.is_balanced(), "unbalanced: {object:?}");
    }
    assert_eq!(
        summary.records,
        summary.forwarded + summary.filtered + summary.rejected
    );
}
