//! Nothing lost, nothing duplicated: SQS partial failures, deadline handoffs, bad input, and
//! faults injected between the forwarder and a real moto server.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::harness::*;
use support::proxy::{self, Fault};
use trailwatch::generate::{GeneratedRecord, TrailSpec};
use trailwatch::object::{Continuation, ContinuationMessage};

const STREAM: &str = "111122223333_CloudTrail_us-east-1";

fn gzip(text: &str) -> Vec<u8> {
    trailwatch::generate::gzip(text.as_bytes())
}

fn spec(seed: u64, account: &str) -> TrailSpec {
    let mut spec = TrailSpec::recent(seed);
    spec.account_id = account.into();
    spec
}

/// A log file key of `account` whose 16-character unique part is `unique`.
fn unique_key(account: &str, unique: &str) -> String {
    let key = spec(1, account).key();
    format!("{}{unique}.json.gz", &key[..key.len() - 24])
}

fn stream_of(account: &str) -> String {
    format!("{account}_CloudTrail_us-east-1")
}

fn s3_body(bucket: &str, key: &str, size: usize) -> String {
    s3_event(bucket, &[(key.to_owned(), size)]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqs_batch_reports_only_the_messages_to_retry() {
    // Given: a proxy that answers GetObject of one key with 503 SlowDown every time.
    let rule: proxy::Rule =
        Arc::new(|seen| seen.path.contains("U2xvd0Rvd24").then_some(Fault::SlowDown));
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let group = "/trailwatch/test/sqs-batch";
    let harness =
        Harness::through(&endpoint, "sqs-batch", group, &[("LOG_GROUP_NAME", group)]).await;
    let (good_key, good_size, good_records) = harness
        .put_trail_file(&spec(41, "111122223333"), 100_000)
        .await;
    let slow_key = unique_key("222233334444", "U2xvd0Rvd24xMjM0");
    let (slow_key, slow_size) = harness.put(&slow_key, gzip(r#"{"Records":[]}"#)).await;
    let missing = spec(43, "333344445555").key();
    let bucket = harness.bucket.clone();
    let envelope = serde_json::json!({"Type": "Notification", "Message": s3_body(&bucket, &good_key, good_size)}).to_string();

    // When: one good message (through an SNS envelope), one whose object S3 keeps refusing,
    // one whose object is gone, and one that is not a notification at all.
    let report = harness
        .run(
            &sqs_event(&[
                ("good", envelope),
                ("throttled", s3_body(&bucket, &slow_key, slow_size)),
                (
                    "missing",
                    serde_json::json!({"s3Bucket": bucket, "s3ObjectKey": [missing]}).to_string(),
                ),
                ("garbage", "{\"hello\": \"world\"}".to_owned()),
            ]),
            None,
        )
        .await;

    // Then: only what a retry can fix comes back; a missing object is reported, not retried.
    assert!(report.sqs);
    assert_eq!(report.failed_message_ids, vec!["throttled", "garbage"]);
    let summary = &report.summary;
    assert_balanced(summary);
    let throttled = summary.objects.iter().find(|o| o.key == slow_key).unwrap();
    assert!(throttled.is_retryable());
    assert!(
        throttled.error().unwrap().contains("SlowDown"),
        "{throttled:?}"
    );
    let gone = summary.objects.iter().find(|o| o.key == missing).unwrap();
    assert!(!gone.is_retryable());
    assert!(gone.error().unwrap().contains("does not exist"));
    assert_eq!(summary.message_errors[0].message_id, "garbage");
    assert_eq!(harness.events(STREAM).await, expected(&good_records));
    // And the handler answers SQS with exactly those ids.
    let response = harness
        .invoke_handler(sqs_event(&[(
            "only",
            s3_body(&bucket, &slow_key, slow_size),
        )]))
        .await
        .unwrap();
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "only"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_5xx_and_slow_responses_still_deliver_every_record_once() {
    // Given: every 2nd PutLogEvents throttled, every 3rd answered 500, every 5th delayed;
    // the first GetObject answered 503.
    let puts = Arc::new(AtomicUsize::new(0));
    let gets = Arc::new(AtomicUsize::new(0));
    let (put_count, get_count) = (Arc::clone(&puts), Arc::clone(&gets));
    let rule: proxy::Rule = Arc::new(move |seen| {
        if seen.target.ends_with("PutLogEvents") {
            let n = put_count.fetch_add(1, Ordering::SeqCst) + 1;
            return match n {
                n if n % 2 == 0 => Some(Fault::Throttle),
                n if n % 3 == 0 => Some(Fault::ServerError),
                n if n % 5 == 0 => Some(Fault::Delay(Duration::from_millis(300))),
                _ => None,
            };
        }
        if seen.method == "GET" && seen.path.contains("/AWSLogs/") {
            return (get_count.fetch_add(1, Ordering::SeqCst) == 0).then_some(Fault::SlowDown);
        }
        None
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let group = "/trailwatch/test/faults";
    let harness = Harness::through(&endpoint, "faults", group, &[("LOG_GROUP_NAME", group)]).await;
    let (key, size, records) = harness
        .put_trail_file(&spec(51, "111122223333"), 3_000_000)
        .await;

    // When
    let summary = harness.invoke(&[(key, size)]).await;

    // Then: several batches went through the faults, each delivered exactly once.
    assert_balanced(&summary);
    assert_eq!(
        summary.failed_objects,
        0,
        "{:?}",
        summary.objects[0].error()
    );
    assert_eq!(summary.forwarded, records.len() as u64);
    assert!(
        puts.load(Ordering::SeqCst) >= 6,
        "{} PutLogEvents calls",
        puts.load(Ordering::SeqCst)
    );
    assert_eq!(harness.events(STREAM).await, expected(&records));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_hands_off_and_the_continuation_resumes_exactly_where_it_stopped() {
    // Given: a continuation queue, a file of several batches and a second, small file.
    let harness = Harness::new("handoff").await;
    let queue = harness
        .sqs
        .create_queue()
        .queue_name("trailwatch-handoff")
        .send()
        .await
        .unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let group = "/trailwatch/test/handoff";
    let harness = Harness::with_config(
        "handoff-2",
        group,
        &[
            ("LOG_GROUP_NAME", group),
            ("CONTINUATION_QUEUE_URL", &queue_url),
        ],
    )
    .await;
    let (key, size, records) = harness
        .put_trail_file(&spec(61, "111122223333"), 3_000_000)
        .await;
    let (small_key, small_size, small_records) = harness
        .put_trail_file(&spec(62, "222233334444"), 20_000)
        .await;
    let both = s3_event(&harness.bucket, &[(key, size), (small_key, small_size)]).to_string();

    // When: the invocation is already at its deadline.
    let first = harness
        .run(
            &sqs_event(&[("m1", both)]),
            Some(InvocationEnd::after(Duration::ZERO)),
        )
        .await;

    // Then: the first object delivered its first batch and handed off the rest; the second,
    // not started, was handed off whole; the message is reported done.
    assert!(first.failed_message_ids.is_empty());
    let (object, small) = (&first.summary.objects[0], &first.summary.objects[1]);
    let next = object.handed_off_at.expect("a handoff");
    assert!(next > 0 && next < records.len() as u64, "{next}");
    assert_eq!(object.records, next);
    assert_eq!((small.handed_off_at, small.records), (Some(0), 0));
    assert_eq!(
        harness.events(STREAM).await,
        expected(&records[..next as usize])
    );
    let streams = support::stream_names(&harness.logs, group).await;
    assert!(!streams.contains(&stream_of("222233334444")), "{streams:?}");

    // When: the continuation messages come back, with time to spare.
    let received = harness
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<String> = received
        .messages()
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    assert_eq!(bodies.len(), 2);
    let nexts: Vec<u64> = bodies
        .iter()
        .map(|b| {
            serde_json::from_str::<ContinuationMessage>(b)
                .unwrap()
                .trailwatch_continuation
                .next_record
        })
        .collect();
    assert!(nexts.contains(&next) && nexts.contains(&0), "{nexts:?}");
    let second = harness
        .run(
            &sqs_event(&[("m2", bodies[0].clone()), ("m3", bodies[1].clone())]),
            None,
        )
        .await;

    // Then: each resumed exactly where it stopped; every record arrived once.
    assert!(second.failed_message_ids.is_empty());
    let resumed = second
        .summary
        .objects
        .iter()
        .find(|o| o.resumed_at == Some(next))
        .unwrap();
    assert_eq!(
        (resumed.records, resumed.handed_off_at),
        (records.len() as u64 - next, None)
    );
    assert_eq!(harness.events(STREAM).await, expected(&records));
    assert_eq!(
        harness.events(&stream_of("222233334444")).await,
        expected(&small_records)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_queue_a_deadline_fails_the_object_for_a_retry() {
    let harness = Harness::new("no-queue").await;
    let (key, size, _) = harness
        .put_trail_file(&spec(71, "111122223333"), 3_000_000)
        .await;
    let report = harness
        .run(
            &sqs_event(&[("m1", s3_body(&harness.bucket, &key, size))]),
            Some(InvocationEnd::after(Duration::ZERO)),
        )
        .await;
    assert_eq!(report.failed_message_ids, vec!["m1"]);
    let object = &report.summary.objects[0];
    assert!(object.is_retryable());
    assert!(
        object
            .error()
            .unwrap()
            .contains("without CONTINUATION_QUEUE_URL"),
        "{object:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_of_a_changed_object_is_refused() {
    let harness = Harness::new("changed").await;
    let (key, _, _) = harness
        .put_trail_file(&spec(81, "111122223333"), 10_000)
        .await;
    let continuation = Continuation {
        bucket: harness.bucket.clone(),
        key: key.clone(),
        version_id: None,
        e_tag: trailwatch::object::ETag::new("0123456789abcdef0123456789abcdef"),
        next_record: 3,
    };
    let body = serde_json::to_string(&ContinuationMessage {
        trailwatch_continuation: continuation,
    })
    .unwrap();
    let report = harness.run(&sqs_event(&[("m1", body)]), None).await;
    let object = &report.summary.objects[0];
    assert!(
        object.error().unwrap().contains("changed since"),
        "{object:?}"
    );
    assert!(!object.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_alone_with_a_clear_reason_and_the_rest_is_delivered() {
    // Given: a 1 MB decompressed ceiling, access denied on one key, and one object of each kind
    // of bad input beside a good one.
    let rule: proxy::Rule = Arc::new(|seen| {
        seen.path
            .contains("RGVuaWVkRGVuaWVk")
            .then_some(Fault::AccessDenied)
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let group = "/trailwatch/test/bad-input";
    let harness = Harness::through(
        &endpoint,
        "bad-input",
        group,
        &[
            ("LOG_GROUP_NAME", group),
            ("MAX_DECOMPRESSED_BYTES", "1000000"),
        ],
    )
    .await;
    let key_for = unique_key;
    let (good_key, good_size, good_records) = harness
        .put_trail_file(&spec(91, "111122223333"), 100_000)
        .await;
    let record = |t: &str, account: &str| {
        format!(
            r#"{{"eventTime":"{t}","eventCategory":"Management","recipientAccountId":"{account}","awsRegion":"us-east-1"}}"#
        )
    };
    let now = trailwatch::generate::iso_seconds(trailwatch::generate::now_millis());
    let padding = " ".repeat(2_000_000);
    let bomb_text = format!(
        r#"{{"Records":[{},{padding}{}]}}"#,
        record(&now, "222233334444"),
        record(&now, "222233334444")
    );
    let mut trailing = gzip(r#"{"Records":[]}"#);
    trailing.extend_from_slice(b"junk after the gzip stream");
    let invalid_records = format!(
        r#"{{"Records":[7,{{"eventName":"NoTime"}},{}]}}"#,
        record(&now, "999900001111")
    );
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "bomb",
            key_for("222233334444", "Qm9tYkJvbWJCb21i"),
            gzip(&bomb_text),
        ),
        (
            "trailing",
            key_for("333344445555", "VHJhaWxpbmdCeXRl"),
            trailing,
        ),
        (
            "not-records",
            key_for("444455556666", "Tm90UmVjb3Jkc1gx"),
            gzip(r#"{"Logs":[]}"#),
        ),
        (
            "empty-records",
            key_for("555566667777", "RW1wdHlSZWNvcmRz"),
            gzip(r#"{"Records":[]}"#),
        ),
        (
            "empty-file",
            key_for("666677778888", "RW1wdHlGaWxlWFhY"),
            gzip(""),
        ),
        (
            "zero-bytes",
            key_for("777788889999", "WmVyb0J5dGVzWFhY"),
            Vec::new(),
        ),
        (
            "denied",
            key_for("888899990000", "RGVuaWVkRGVuaWVk"),
            gzip(r#"{"Records":[]}"#),
        ),
        (
            "invalid-records",
            key_for("999900001111", "SW52YWxpZFJlY29y"),
            gzip(&invalid_records),
        ),
    ];
    let mut objects = vec![(good_key.clone(), good_size)];
    for (_, key, body) in &cases {
        objects.push(harness.put(key, body.clone()).await);
    }
    let deleted = key_for("121212121212", "RGVsZXRlZERlbGV0");
    objects.push((deleted.clone(), 100));

    // When
    let summary = harness.invoke(&objects).await;

    // Then
    assert_balanced(&summary);
    let outcome = |key: &str| {
        summary
            .objects
            .iter()
            .find(|o| o.key == key)
            .unwrap()
            .clone()
    };
    let expect_error = |name: &str, key: &str, part: &str| {
        let object = outcome(key);
        let error = object
            .error()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{name}: no error: {object:?}"));
        assert!(error.contains(part), "{name}: {error}");
        assert!(!object.is_retryable(), "{name}");
        object
    };
    let bomb = expect_error("bomb", &cases[0].1, "MAX_DECOMPRESSED_BYTES");
    assert_eq!(
        (bomb.records, bomb.forwarded),
        (1, 1),
        "the record before the ceiling is still forwarded"
    );
    expect_error("trailing", &cases[1].1, "truncated or corrupt");
    expect_error("not-records", &cases[2].1, "no \"Records\" array");
    assert_eq!(outcome(&cases[3].1).records, 0);
    assert!(outcome(&cases[3].1).error().is_none());
    expect_error("empty-file", &cases[4].1, "not CloudTrail JSON");
    assert_eq!(outcome(&cases[5].1).skip_reason(), Some("zero-byte object"));
    // Access denied passes once IAM catches up (or ends in the dead-letter queue): retried.
    let denied = outcome(&cases[6].1);
    assert!(
        denied.error().unwrap().contains("access denied"),
        "{denied:?}"
    );
    assert!(denied.is_retryable());
    let invalid = outcome(&cases[7].1);
    assert_eq!(
        (
            invalid.records,
            invalid.forwarded,
            invalid.rejected_reasons.invalid_record
        ),
        (3, 1, 2)
    );
    expect_error("deleted", &deleted, "does not exist");
    assert_eq!(harness.events(STREAM).await, expected(&good_records));
    assert_eq!(harness.events(&stream_of("222233334444")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_trigger_shape_reaches_the_same_objects() {
    // Given: CloudTrail's own SNS notification (plain keys, one with a space and a '+'), and an
    // EventBridge "Object Created" event.
    let harness = Harness::new("triggers").await;
    let mut spaced = spec(101, "111122223333");
    spaced.prefix = Some("team a+b".into());
    let (spaced_key, _, spaced_records) = harness.put_trail_file(&spaced, 20_000).await;
    let (plain_key, plain_size, plain_records) = harness
        .put_trail_file(&spec(102, "222233334444"), 20_000)
        .await;
    let sns = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification",
        "Message": serde_json::json!({"s3Bucket": harness.bucket, "s3ObjectKey": [spaced_key]}).to_string()}}]});
    let eventbridge = serde_json::json!({"version": "0", "detail-type": "Object Created", "source": "aws.s3",
        "detail": {"bucket": {"name": harness.bucket}, "object": {"key": plain_key, "size": plain_size}}});

    // When
    let from_sns = harness.run(&sns, None).await.summary;
    let from_eventbridge = harness.run(&eventbridge, None).await.summary;

    // Then
    assert_eq!(from_sns.forwarded, spaced_records.len() as u64);
    assert_eq!(from_eventbridge.forwarded, plain_records.len() as u64);
    let all: Vec<GeneratedRecord> = spaced_records.into_iter().collect();
    assert_eq!(harness.events(STREAM).await, expected(&all));
    assert_eq!(
        harness.events(&stream_of("222233334444")).await,
        expected(&plain_records)
    );
    // And S3's test event is acknowledged through the handler.
    let test_event = serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": harness.bucket});
    let response = harness.invoke_handler(test_event).await.unwrap();
    assert_eq!(response["records"], 0);
    assert!(matches!(
        harness.invoke_handler(serde_json::json!({"what": 1})).await,
        Err(forwarder::HandlerError::Unrecognised(_))
    ));
}
