//! What an invocation asks of the validator, read once from its payload: the hourly check for
//! late digests, a range (the schedule, or the fan-out's SQS messages), or digests delivered
//! in any envelope the forwarder's triggers know (S3, SNS, SQS, EventBridge).

use serde_json::Value;

use super::recheck::{RECHECK_FORWARDING, Recheck};
use crate::digest::request::RangeRequest;
use crate::trigger::{
    Message, MessageContent, SqsRecord, UnrecognisedPayload, direct_message, sqs_batch,
};

/// One invocation's work.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `{"checkDigestsLate": {…}}`: which regions' digests stopped coming.
    CheckDigestsLate(RangeRequest),
    /// `{"validateRange": {…}}`: a range, from the schedule.
    ValidateRange(RangeRequest),
    /// `{"auditLogs": {…}}`: a range whose log groups are audited, from the schedule.
    AuditLogs(RangeRequest),
    /// Digests delivered, and ranges an SQS batch of the fan-out carries.
    Delivered {
        ranges: Vec<(RangeKind, RangeRequest)>,
        /// (bucket, key) of each object named; digests are told apart later, by key.
        objects: Vec<(String, String)>,
        /// Pending log files of validated digests, to reconcile again once their time comes.
        rechecks: Vec<Recheck>,
        /// Messages, or entries of one, that name no object: logged and counted, not dropped
        /// silently.
        unreadable: Vec<Unreadable>,
    },
}

/// A message (or an entry of one) that names no object to validate, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The SQS message id; none for a direct invocation.
    pub message_id: Option<String>,
    pub reason: String,
}

/// Why a payload asks for nothing the validator does.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Payload(#[from] UnrecognisedPayload),
    #[error("{field} is not a range request: {source}")]
    Range {
        field: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

const CHECK_DIGESTS_LATE: &str = "checkDigestsLate";
const VALIDATE_RANGE: &str = "validateRange";
const AUDIT_LOGS: &str = "auditLogs";

/// What is asked of a range: its validation, or the audit of its log groups (which validates
/// it first). Named by the field that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    Validate,
    Audit,
}

impl RangeKind {
    pub fn field(self) -> &'static str {
        match self {
            RangeKind::Validate => VALIDATE_RANGE,
            RangeKind::Audit => AUDIT_LOGS,
        }
    }
}

impl Request {
    pub fn from_payload(payload: &Value) -> Result<Self, RequestError> {
        if let Some(check) = payload.get(CHECK_DIGESTS_LATE) {
            return Ok(Request::CheckDigestsLate(range(CHECK_DIGESTS_LATE, check)?));
        }
        if let Some(value) = payload.get(VALIDATE_RANGE) {
            return Ok(Request::ValidateRange(range(VALIDATE_RANGE, value)?));
        }
        if let Some(value) = payload.get(AUDIT_LOGS) {
            return Ok(Request::AuditLogs(range(AUDIT_LOGS, value)?));
        }
        if let Some(value) = payload.get(RECHECK_FORWARDING) {
            let (rechecks, unreadable) = match Recheck::from_value(value) {
                Ok(recheck) => (vec![recheck], Vec::new()),
                Err(error) => (Vec::new(), vec![Unreadable::new(None, error.to_string())]),
            };
            return Ok(Request::Delivered {
                ranges: Vec::new(),
                objects: Vec::new(),
                rechecks,
                unreadable,
            });
        }
        // An SQS batch may mix the fan-out's ranges and rechecks with digest notifications:
        // each body is parsed once, and read as a range, a recheck, or as the forwarder's
        // triggers read it.
        let Some(records) = sqs_batch(payload) else {
            let (objects, unreadable) = delivered_objects(vec![direct_message(payload)?]);
            return Ok(Request::Delivered {
                ranges: Vec::new(),
                objects,
                rechecks: Vec::new(),
                unreadable,
            });
        };
        let mut ranges = Vec::new();
        let mut rechecks = Vec::new();
        let mut unreadable_rechecks = Vec::new();
        let mut messages = Vec::new();
        for record in records {
            if let Some(value) = queued_recheck(&record) {
                match Recheck::from_value(value) {
                    Ok(recheck) => rechecks.push(recheck),
                    Err(error) => unreadable_rechecks
                        .push(Unreadable::new(record.id.clone(), error.to_string())),
                }
                continue;
            }
            match queued_range(&record) {
                Some((kind, value)) => ranges.push((kind, range(kind.field(), value)?)),
                None => messages.push(record.message()),
            }
        }
        let (objects, mut unreadable) = delivered_objects(messages);
        unreadable.extend(unreadable_rechecks);
        Ok(Request::Delivered {
            ranges,
            objects,
            rechecks,
            unreadable,
        })
    }
}

impl Unreadable {
    fn new(message_id: Option<String>, reason: String) -> Self {
        Self { message_id, reason }
    }
}

/// A recheck's `{"recheckForwarding": …}` body of an SQS record.
fn queued_recheck(record: &SqsRecord) -> Option<&Value> {
    match &record.parsed {
        Some(Ok(body)) => body.get(RECHECK_FORWARDING),
        _ => None,
    }
}

/// The fan-out's `{"validateRange": …}` or `{"auditLogs": …}` body of an SQS record.
fn queued_range(record: &SqsRecord) -> Option<(RangeKind, &Value)> {
    let Some(Ok(body)) = &record.parsed else {
        return None;
    };
    [RangeKind::Validate, RangeKind::Audit]
        .into_iter()
        .find_map(|kind| Some((kind, body.get(kind.field())?)))
}

fn range(field: &'static str, value: &Value) -> Result<RangeRequest, RequestError> {
    serde_json::from_value(value.clone()).map_err(|source| RequestError::Range { field, source })
}

/// The objects the messages name, in any envelope, and what names none.
fn delivered_objects(messages: Vec<Message>) -> Delivered {
    let mut objects = Vec::new();
    let mut unreadable = Vec::new();
    for message in messages {
        let mut cannot_read = |reason: String| {
            unreadable.push(Unreadable {
                message_id: message.id.clone(),
                reason,
            });
        };
        let entries = match message.content {
            Ok(MessageContent::Objects(entries)) => entries,
            // S3's test event, sent when a notification is configured: nothing to read.
            Ok(MessageContent::TestEvent) => continue,
            Err(error) => {
                cannot_read(error.to_string());
                continue;
            }
        };
        for entry in entries {
            match entry.map(|notified| notified.decode()) {
                Ok(Ok(object)) => objects.push((object.bucket, object.key)),
                Ok(Err(error)) => cannot_read(error.to_string()),
                Err(error) => cannot_read(error.to_string()),
            }
        }
    }
    (objects, unreadable)
}

/// The (bucket, key) pairs named, and what names nothing.
type Delivered = (Vec<(String, String)>, Vec<Unreadable>);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261125T120000Z.json.gz";

    fn range_body() -> Value {
        json!({"trail": {"name": "t"}, "start": "2026-11-25T00:00:00Z"})
    }

    fn sqs(bodies: &[Value]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": body.to_string()}))
            .collect();
        json!({ "Records": records })
    }

    fn notification() -> Value {
        json!({"s3Bucket": "b", "s3ObjectKey": [DIGEST]})
    }

    #[test]
    fn scheduled_payloads_are_their_request() {
        let late = Request::from_payload(&json!({"checkDigestsLate": range_body()})).unwrap();
        assert!(matches!(late, Request::CheckDigestsLate(_)));
        let range = Request::from_payload(&json!({"validateRange": range_body()})).unwrap();
        assert!(matches!(range, Request::ValidateRange(_)));
        let bad = Request::from_payload(&json!({"validateRange": 7})).unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("validateRange is not a range request: "),
            "{bad}"
        );
    }

    #[test]
    fn an_sqs_batch_may_mix_queued_ranges_and_digest_notifications() {
        let payload = sqs(&[json!({"validateRange": range_body()}), notification()]);
        let Request::Delivered {
            ranges, objects, ..
        } = Request::from_payload(&payload).unwrap()
        else {
            panic!("not delivered")
        };
        assert_eq!(ranges.len(), 1);
        assert_eq!(objects, vec![("b".to_owned(), DIGEST.to_owned())]);
        let only_ranges = sqs(&[json!({"validateRange": range_body()})]);
        let Request::Delivered {
            ranges, objects, ..
        } = Request::from_payload(&only_ranges).unwrap()
        else {
            panic!("not delivered")
        };
        assert_eq!((ranges.len(), objects.len()), (1, 0));
    }

    #[test]
    fn a_direct_notification_names_its_digest_and_an_unknown_payload_is_refused() {
        let Request::Delivered {
            ranges,
            objects,
            unreadable,
            ..
        } = Request::from_payload(&notification()).unwrap()
        else {
            panic!("not delivered")
        };
        assert!(ranges.is_empty() && objects.len() == 1 && unreadable.is_empty());
        let unknown = Request::from_payload(&json!({"hello": 1})).unwrap_err();
        assert!(matches!(unknown, RequestError::Payload(_)), "{unknown}");
    }

    #[test]
    fn a_message_that_names_nothing_is_unreadable_with_its_id_and_the_others_are_read() {
        let payload = sqs(&[
            notification(),
            json!({"hello": "not a notification"}),
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent"}),
        ]);
        let Request::Delivered {
            objects,
            unreadable,
            ..
        } = Request::from_payload(&payload).unwrap()
        else {
            panic!("not delivered")
        };
        assert_eq!(objects, vec![("b".to_owned(), DIGEST.to_owned())]);
        assert_eq!(unreadable.len(), 1, "{unreadable:?}");
        assert_eq!(unreadable[0].message_id.as_deref(), Some("m1"));
        assert!(!unreadable[0].reason.is_empty());
    }
}
