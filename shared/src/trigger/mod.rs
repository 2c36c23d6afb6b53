//! Which objects an invocation names, whatever the trigger: an S3 notification (direct, or in
//! SNS, or in SQS, raw or wrapped), CloudTrail's own SNS notification, an EventBridge "Object
//! Created" event, or our own continuation message. Recognised by shape; only the fields we read
//! are modelled, all optional, so a missing `userIdentity` or `eventTime` fails nothing.
//! Shapes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html,
//! https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html and
//! https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html

use serde::Deserialize;
use serde_json::Value;

use crate::object::{CONTINUATION_FIELD, Continuation, ETag, KeyEncoding, NotifiedObject, Origin};

/// One entry of a message: an object, or why the entry names none (an S3 record without a
/// key, a key that is not a string). A bad entry never hides the good ones beside it.
pub(crate) type Entry = Result<NotifiedObject, MessageError>;

/// What one message (an SQS message, or the whole payload of a direct invocation) asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    Objects(Vec<Entry>),
    /// S3's `s3:TestEvent`, sent when a notification is configured: acknowledged, ignored.
    TestEvent,
}

/// One unit of work and the id to report it by, when the trigger reports per message (SQS).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub content: Result<MessageContent, MessageError>,
    /// SQS: the body as received, copied to the dead-letter queue when it fails for good.
    pub body: Option<String>,
}

/// An invocation's payload, by how its outcome must be reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// S3, SNS or EventBridge invoking the function directly: one outcome for all.
    Direct(Message),
    /// An SQS batch: each message succeeds or fails on its own (`batchItemFailures`).
    Sqs(Vec<Message>),
}

/// Why a message names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the SQS message has no body")]
    NoBody,
    #[error("the SQS message body is not JSON: {0}")]
    BodyNotJson(String),
    #[error("the SQS message body is not a known notification ({0})")]
    UnknownBody(String),
    #[error("invalid continuation message: {0}")]
    InvalidContinuation(String),
    #[error("an SNS record has no Sns.Message")]
    NoSnsMessage,
    #[error("the SNS message is not JSON: {0}")]
    SnsNotJson(String),
    #[error("the SNS message is not a known notification ({0})")]
    UnknownSnsMessage(String),
    #[error("s3Bucket is not a string")]
    BucketNotString,
    #[error("s3ObjectKey is neither a list nor a string")]
    KeysNotListOrString,
    #[error("the EventBridge event has no detail.bucket.name or detail.object.key")]
    EventBridgeIncomplete,
    #[error("S3 record {index} has no {missing}")]
    S3RecordIncomplete { index: usize, missing: &'static str },
    #[error("s3ObjectKey entry {index} is not a string")]
    KeyNotString { index: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unrecognised payload ({0}): the forwarder takes an SQS batch, an S3, SNS or EventBridge notification of a trail file, or CloudTrail's {{\"s3Bucket\", \"s3ObjectKey\"}} notification (samples in events/)"
)]
pub struct UnrecognisedPayload(String);

/// An SQS message being processed: where it came from and the handle that keeps it hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsReceipt {
    /// The queue's account and name, from the record's `eventSourceARN`.
    pub queue_account: String,
    pub queue_name: String,
    pub receipt_handle: String,
}

/// The receipts of an SQS batch (records without a handle or a queue ARN are left out);
/// nothing for other payloads.
pub fn sqs_receipts(payload: &Value) -> Vec<SqsReceipt> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        .filter_map(|record| {
            let handle = record.get("receiptHandle")?.as_str()?;
            // arn:<partition>:sqs:<region>:<account>:<name>
            let arn = record.get("eventSourceARN")?.as_str()?;
            let mut parts = arn.splitn(6, ':');
            let (account, name) = (parts.nth(4)?, parts.next()?);
            (!account.is_empty() && !name.is_empty()).then(|| SqsReceipt {
                queue_account: account.to_owned(),
                queue_name: name.to_owned(),
                receipt_handle: handle.to_owned(),
            })
        })
        .collect()
}

/// Recognises the payload of an invocation.
pub fn parse_invocation(payload: &Value) -> Result<Invocation, UnrecognisedPayload> {
    match sqs_batch(payload) {
        Some(records) => Ok(Invocation::Sqs(
            records.into_iter().map(SqsRecord::message).collect(),
        )),
        None => direct_message(payload).map(Invocation::Direct),
    }
}

/// One SQS record, its body parsed once: a reader that knows other bodies (the validator's
/// range requests) looks at `parsed` first and hands the rest to [`SqsRecord::message`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqsRecord {
    pub id: Option<String>,
    pub body: Option<String>,
    /// The body as JSON, or why it is not.
    pub parsed: Option<Result<Value, String>>,
}

impl SqsRecord {
    pub fn read(record: &Value) -> Self {
        let id = record
            .get("messageId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body = record.get("body").and_then(Value::as_str);
        let parsed =
            body.map(|body| serde_json::from_str::<Value>(body).map_err(|e| e.to_string()));
        Self {
            id,
            body: body.map(str::to_owned),
            parsed,
        }
    }

    /// What the body names, as the forwarder's triggers read it.
    pub fn message(self) -> Message {
        let content = match &self.parsed {
            None => Err(MessageError::NoBody),
            Some(Err(error)) => Err(MessageError::BodyNotJson(error.clone())),
            Some(Ok(inner)) => parse_content(inner, 1)
                .unwrap_or_else(|| Err(MessageError::UnknownBody(describe_shape(inner)))),
        };
        Message {
            id: self.id,
            content,
            body: self.body,
        }
    }
}

/// The records of an SQS batch, each read once; `None` for any other payload.
pub(crate) fn sqs_batch(payload: &Value) -> Option<Vec<SqsRecord>> {
    let records = payload.get("Records").and_then(Value::as_array)?;
    let source = records
        .first()
        .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")));
    (source.and_then(Value::as_str) == Some("aws:sqs"))
        .then(|| records.iter().map(SqsRecord::read).collect())
}

/// A payload that is not an SQS batch: one message, reported as a whole.
pub(crate) fn direct_message(payload: &Value) -> Result<Message, UnrecognisedPayload> {
    match parse_content(payload, 0) {
        Some(content) => Ok(Message {
            id: None,
            content,
            body: None,
        }),
        None => Err(UnrecognisedPayload(describe_shape(payload))),
    }
}

/// Nested envelopes are unwrapped a few levels deep at most (SQS → SNS → S3).
const MAX_DEPTH: usize = 4;

/// `None` when the shape is not recognised at all.
fn parse_content(value: &Value, depth: usize) -> Option<Result<MessageContent, MessageError>> {
    if depth > MAX_DEPTH {
        return None;
    }
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Some(Ok(MessageContent::TestEvent));
    }
    if let Some(continuation) = value.get(CONTINUATION_FIELD) {
        return Some(
            serde_json::from_value::<Continuation>(continuation.clone())
                .map(|c| MessageContent::Objects(vec![Ok(NotifiedObject::from_continuation(c))]))
                .map_err(|e| MessageError::InvalidContinuation(e.to_string())),
        );
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        return parse_records(records, depth);
    }
    // An SNS envelope delivered to SQS (not raw): {"Type": "Notification", "Message": "..."}.
    if let Some(message) = value.get("Message").and_then(Value::as_str) {
        return Some(parse_sns_message(message, depth));
    }
    if value.get("s3Bucket").is_some() && value.get("s3ObjectKey").is_some() {
        return Some(cloudtrail_notification(value));
    }
    if value.get("source").and_then(Value::as_str) == Some("aws.s3")
        && value.get("detail").is_some()
    {
        return Some(eventbridge_event(value));
    }
    None
}

fn parse_records(records: &[Value], depth: usize) -> Option<Result<MessageContent, MessageError>> {
    let first = records.first()?;
    if first.get("s3").is_some() {
        return Some(Ok(MessageContent::Objects(
            records
                .iter()
                .enumerate()
                .map(|(index, record)| s3_record(index, record))
                .collect(),
        )));
    }
    if first.get("Sns").is_some() {
        // Each SNS record carries one message; combine their objects.
        let mut objects = Vec::new();
        for record in records {
            let message = record
                .get("Sns")
                .and_then(|s| s.get("Message"))
                .and_then(Value::as_str);
            let Some(message) = message else {
                return Some(Err(MessageError::NoSnsMessage));
            };
            match parse_sns_message(message, depth) {
                Ok(MessageContent::Objects(more)) => objects.extend(more),
                Ok(MessageContent::TestEvent) => {}
                Err(error) => return Some(Err(error)),
            }
        }
        return Some(Ok(MessageContent::Objects(objects)));
    }
    None
}

fn parse_sns_message(message: &str, depth: usize) -> Result<MessageContent, MessageError> {
    let inner: Value =
        serde_json::from_str(message).map_err(|e| MessageError::SnsNotJson(e.to_string()))?;
    parse_content(&inner, depth + 1)
        .unwrap_or_else(|| Err(MessageError::UnknownSnsMessage(describe_shape(&inner))))
}

/// One record of an S3 event notification.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct S3Record {
    event_name: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct S3Entity {
    bucket: Named,
    object: S3Object,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct S3Object {
    key: Option<String>,
    size: Option<i64>,
    version_id: Option<String>,
    e_tag: Option<String>,
}

fn s3_record(index: usize, record: &Value) -> Entry {
    let parsed: S3Record = serde_json::from_value(record.clone()).unwrap_or_default();
    let incomplete = |missing| MessageError::S3RecordIncomplete { index, missing };
    let bucket = parsed
        .s3
        .bucket
        .name
        .filter(|name| !name.is_empty())
        .ok_or_else(|| incomplete("s3.bucket.name"))?;
    let key = parsed
        .s3
        .object
        .key
        .filter(|key| !key.is_empty())
        .ok_or_else(|| incomplete("s3.object.key"))?;
    Ok(NotifiedObject {
        origin: Origin::Notification,
        event_name: parsed.event_name,
        bucket,
        encoded_key: key,
        key_encoding: KeyEncoding::Form,
        version_id: parsed.s3.object.version_id,
        e_tag: parsed.s3.object.e_tag.as_deref().and_then(ETag::new),
        size: parsed.s3.object.size,
        start_record: 0,
    })
}

/// CloudTrail's notification per delivered file: `{"s3Bucket": "b", "s3ObjectKey": ["k", …]}`.
fn cloudtrail_notification(value: &Value) -> Result<MessageContent, MessageError> {
    let bucket = value
        .get("s3Bucket")
        .and_then(Value::as_str)
        .ok_or(MessageError::BucketNotString)?;
    let entry = |index: usize, key: &Value| match key.as_str() {
        Some(key) => Ok(NotifiedObject::plain(bucket, key)),
        None => Err(MessageError::KeyNotString { index }),
    };
    match value.get("s3ObjectKey") {
        Some(Value::Array(keys)) => Ok(MessageContent::Objects(
            keys.iter()
                .enumerate()
                .map(|(i, key)| entry(i, key))
                .collect(),
        )),
        Some(key @ Value::String(_)) => Ok(MessageContent::Objects(vec![entry(0, key)])),
        _ => Err(MessageError::KeysNotListOrString),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventBridgeDetail {
    bucket: Named,
    object: EventBridgeObject,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventBridgeObject {
    key: Option<String>,
    size: Option<i64>,
    etag: Option<String>,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
}

fn eventbridge_event(value: &Value) -> Result<MessageContent, MessageError> {
    let detail_type = value
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let detail: EventBridgeDetail =
        serde_json::from_value(value["detail"].clone()).unwrap_or_default();
    let (Some(bucket), Some(key)) = (detail.bucket.name, detail.object.key) else {
        return Err(MessageError::EventBridgeIncomplete);
    };
    Ok(MessageContent::Objects(vec![Ok(NotifiedObject {
        origin: Origin::Notification,
        // "Object Created" maps onto the S3 notification vocabulary for the skip rule.
        event_name: Some(if detail_type == "Object Created" {
            "ObjectCreated:EventBridge".to_owned()
        } else {
            detail_type.to_owned()
        }),
        bucket,
        encoded_key: key,
        key_encoding: KeyEncoding::PlainThenForm,
        version_id: detail.object.version_id,
        e_tag: detail.object.etag.as_deref().and_then(ETag::new),
        size: detail.object.size,
        start_record: 0,
    })]))
}

/// The top-level keys of a JSON value, to say what an unknown payload looked like without
/// quoting its values.
fn describe_shape(value: &Value) -> String {
    let no_records = |map: &serde_json::Map<String, Value>| {
        map.get("Records")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
    };
    match value {
        Value::Object(map) if map.is_empty() => "an empty object".to_owned(),
        Value::Object(map) if no_records(map) => "Records is empty: it names no object".to_owned(),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::String(_) => "a string".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Null => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests;
