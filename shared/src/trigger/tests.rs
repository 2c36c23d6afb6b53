use super::*;
use crate::object::{ContinuationMessage, Origin};

fn event(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn direct_objects(payload: &Value) -> Vec<NotifiedObject> {
    match parse_invocation(payload).unwrap() {
        Invocation::Direct(Message {
            content: Ok(MessageContent::Objects(objects)),
            ..
        }) => objects.into_iter().map(|entry| entry.unwrap()).collect(),
        other => panic!("expected objects, got {other:?}"),
    }
}

#[test]
fn direct_s3_notification() {
    let objects = direct_objects(&event("s3-put-cloudtrail-log.json"));
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].key_encoding, KeyEncoding::Form);
    assert!(objects[0].encoded_key.starts_with("audit+trail/AWSLogs/"));
    assert_eq!(objects[0].event_name.as_deref(), Some("ObjectCreated:Put"));
    assert_eq!(objects[0].origin, Origin::Notification);
}

#[test]
fn s3_records_missing_optional_fields_still_name_their_object() {
    let objects = direct_objects(&event("s3-put-minimal-record.json"));
    assert_eq!(objects[0].bucket, "trailwatch-demo-trail");
    assert!(objects[0].decode().is_ok());
    let bare =
        serde_json::json!({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]});
    assert_eq!(direct_objects(&bare)[0].encoded_key, "k");
}

#[test]
fn s3_test_event_is_recognised() {
    let invocation = parse_invocation(&event("s3-test-event.json")).unwrap();
    assert_eq!(
        invocation,
        Invocation::Direct(Message {
            id: None,
            content: Ok(MessageContent::TestEvent),
            body: None,
        })
    );
}

#[test]
fn sns_carrying_an_s3_notification() {
    let objects = direct_objects(&event("sns-s3-notification.json"));
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].key_encoding, KeyEncoding::Form);
}

#[test]
fn sns_carrying_cloudtrails_notification_has_plain_keys() {
    let objects = direct_objects(&event("sns-cloudtrail-notification.json"));
    assert_eq!(objects.len(), 2);
    assert!(
        objects
            .iter()
            .all(|o| o.key_encoding == KeyEncoding::Plain && o.bucket == "trailwatch-demo-trail")
    );
}

#[test]
fn sqs_messages_of_every_body_shape_keep_their_ids() {
    let Invocation::Sqs(messages) = parse_invocation(&event("sqs-mixed-bodies.json")).unwrap()
    else {
        panic!("expected SQS");
    };
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_deref().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], "059f36b4-87a3-44ab-83d2-661975830a7d");
    let encodings: Vec<Option<KeyEncoding>> = messages
        .iter()
        .map(|m| match &m.content {
            Ok(MessageContent::Objects(objects)) => Some(objects[0].as_ref().unwrap().key_encoding),
            _ => None,
        })
        .collect();
    // Direct S3 JSON, an SNS envelope around S3 JSON, raw CloudTrail notification, test event.
    assert_eq!(
        encodings,
        vec![
            Some(KeyEncoding::Form),
            Some(KeyEncoding::Form),
            Some(KeyEncoding::Plain),
            None
        ]
    );
    assert_eq!(messages[3].content, Ok(MessageContent::TestEvent));
}

#[test]
fn eventbridge_object_created() {
    let objects = direct_objects(&event("eventbridge-object-created.json"));
    assert_eq!(objects[0].key_encoding, KeyEncoding::PlainThenForm);
    assert_eq!(
        objects[0].e_tag.as_ref().map(ETag::bare),
        Some("b1946ac92492d2347c6235b4d2611184")
    );
    assert_eq!(objects[0].not_created_event(), None);
    let mut deleted = event("eventbridge-object-created.json");
    deleted["detail-type"] = "Object Deleted".into();
    assert!(direct_objects(&deleted)[0].not_created_event().is_some());
}

#[test]
fn continuation_messages_round_trip() {
    let continuation = Continuation {
        bucket: "b".into(),
        key: "AWSLogs/x y".into(),
        version_id: Some("v1".into()),
        e_tag: None,
        next_record: 1234,
    };
    let body = serde_json::to_string(&ContinuationMessage {
        trailwatch_continuation: continuation.clone(),
    })
    .unwrap();
    let payload = serde_json::json!({"Records": [{"messageId": "m1", "body": body, "eventSource": "aws:sqs"}]});
    let Invocation::Sqs(messages) = parse_invocation(&payload).unwrap() else {
        panic!("expected SQS")
    };
    let Ok(MessageContent::Objects(objects)) = &messages[0].content else {
        panic!("expected objects")
    };
    assert_eq!(
        objects[0],
        Ok(NotifiedObject::from_continuation(continuation))
    );
    // Told apart by where it came from, not by its fields.
    let continued = objects[0].as_ref().unwrap();
    assert_eq!(continued.origin, Origin::Continuation);
}

#[test]
fn bad_sqs_bodies_fail_only_their_message() {
    let payload = serde_json::json!({"Records": [
        {"messageId": "bad-json", "body": "{not json", "eventSource": "aws:sqs"},
        {"messageId": "unknown", "body": "{\"hello\": 1}", "eventSource": "aws:sqs"},
        {"messageId": "no-body", "eventSource": "aws:sqs"},
        {"messageId": "good", "body": "{\"s3Bucket\": \"b\", \"s3ObjectKey\": [\"k\"]}", "eventSource": "aws:sqs"}
    ]});
    let Invocation::Sqs(messages) = parse_invocation(&payload).unwrap() else {
        panic!("expected SQS")
    };
    let errors: Vec<bool> = messages.iter().map(|m| m.content.is_err()).collect();
    assert_eq!(errors, vec![true, true, true, false]);
    assert!(
        messages[1]
            .content
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("keys hello")
    );
}

#[test]
fn unrecognised_payloads_are_a_clear_error_naming_the_shape_only() {
    for (payload, shape) in [
        (
            serde_json::json!({"foo": "secret"}),
            "an object with keys foo",
        ),
        (serde_json::json!([1, 2]), "an array of 2 items"),
        (serde_json::json!("x"), "a string"),
        (
            serde_json::json!({"Records": [{"something": 1}]}),
            "an object with keys Records",
        ),
        (serde_json::json!({}), "(an empty object)"),
        (
            serde_json::json!({"Records": []}),
            "(Records is empty: it names no object)",
        ),
    ] {
        let error = parse_invocation(&payload).unwrap_err().to_string();
        assert!(error.contains(shape), "{error}");
        assert!(error.contains("samples in events/"), "the fix: {error}");
        assert!(!error.contains("secret"));
    }
}

#[test]
fn every_sample_event_is_recognised() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let payload: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let messages = match parse_invocation(&payload)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            Invocation::Direct(message) => vec![message],
            Invocation::Sqs(messages) => messages,
        };
        for message in messages {
            match message
                .content
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            {
                MessageContent::Objects(objects) => {
                    assert!(!objects.is_empty(), "{}", path.display());
                    assert!(
                        objects
                            .iter()
                            .all(|o| o.as_ref().is_ok_and(|o| o.decode().is_ok())),
                        "{}",
                        path.display()
                    );
                }
                MessageContent::TestEvent => {}
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
}

/// Each sample is what AWS would send: an SQS record's `md5OfBody` is its body's MD5, every
/// time is of one era (the demo's trail day, 2026-11-25), and the S3 sample of the template's
/// versioned bucket names its object's version.
#[test]
fn sample_events_are_consistent_as_aws_sends_them() {
    use md5::Digest;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let day = "2026-11-25";
    let (day_start, day_end) = (1_795_564_800_000_i64, 1_795_651_200_000_i64);
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for folder in [dir.clone(), dir.join("validator")] {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let mut versioned = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let payload: Value = serde_json::from_str(&text).unwrap();
        for record in payload["Records"].as_array().into_iter().flatten() {
            if let Some(body) = record["body"].as_str() {
                let md5 = hex::encode(md5::Md5::digest(body.as_bytes()));
                assert_eq!(record["md5OfBody"], md5, "{}", path.display());
                for field in ["SentTimestamp", "ApproximateFirstReceiveTimestamp"] {
                    let millis: i64 = record["attributes"][field]
                        .as_str()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_else(|| panic!("{}: {field}", path.display()));
                    assert!(
                        (day_start..day_end).contains(&millis),
                        "{}: {field}",
                        path.display()
                    );
                }
            }
        }
        // Every written time (eventTime, time, Timestamp, inside bodies too) is of the day.
        for (at, _) in text.match_indices("T1") {
            if at >= 10 && text.is_char_boundary(at - 10) {
                let date = &text[at - 10..at];
                if date.starts_with("20") && date.as_bytes()[4] == b'-' {
                    assert_eq!(date, day, "{}", path.display());
                }
            }
        }
        versioned += usize::from(text.contains("\"versionId\""));
    }
    assert!(versioned >= 1, "a sample with a versionId");
}

#[test]
fn entries_that_name_no_object_are_errors_beside_the_good_ones() {
    let keyless = serde_json::json!({"Records": [
        {"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}},
        {"s3": {"bucket": {"name": "b"}, "object": {}}},
        {"s3": {"object": {"key": "k"}}}
    ]});
    let Invocation::Direct(Message {
        content: Ok(MessageContent::Objects(entries)),
        ..
    }) = parse_invocation(&keyless).unwrap()
    else {
        panic!("expected entries")
    };
    assert!(entries[0].is_ok());
    assert_eq!(
        entries[1],
        Err(MessageError::S3RecordIncomplete {
            index: 1,
            missing: "s3.object.key"
        })
    );
    assert_eq!(
        entries[2],
        Err(MessageError::S3RecordIncomplete {
            index: 2,
            missing: "s3.bucket.name"
        })
    );
    let mixed = serde_json::json!({"s3Bucket": "b", "s3ObjectKey": ["k1", 7, null, "k2"]});
    let Invocation::Direct(Message {
        content: Ok(MessageContent::Objects(entries)),
        ..
    }) = parse_invocation(&mixed).unwrap()
    else {
        panic!("expected entries")
    };
    let errors: Vec<String> = entries
        .iter()
        .filter_map(|e| e.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(
        errors,
        [
            "s3ObjectKey entry 1 is not a string",
            "s3ObjectKey entry 2 is not a string"
        ]
    );
    assert_eq!(entries.iter().filter(|e| e.is_ok()).count(), 2);
}

#[test]
fn sqs_receipts_name_their_queue_and_handle() {
    let receipts = sqs_receipts(&event("sqs-mixed-bodies.json"));
    assert!(!receipts.is_empty());
    assert!(receipts.iter().all(|r| !r.receipt_handle.is_empty()));
    let payload = serde_json::json!({"Records": [
        {"eventSource": "aws:sqs", "receiptHandle": "h1",
         "eventSourceARN": "arn:aws-cn:sqs:cn-north-1:111122223333:trailwatch-deliveries"},
        {"eventSource": "aws:sqs", "receiptHandle": "h2"},
        {"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
    ]});
    assert_eq!(
        sqs_receipts(&payload),
        vec![SqsReceipt {
            queue_account: "111122223333".into(),
            queue_name: "trailwatch-deliveries".into(),
            receipt_handle: "h1".into(),
        }]
    );
    assert!(sqs_receipts(&event("s3-put-cloudtrail-log.json")).is_empty());
}
