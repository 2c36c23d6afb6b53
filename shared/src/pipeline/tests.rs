//! The whole object path on in-memory ports: every skip rule, the retry decision, handoffs and
//! the accounting of every record.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use serde_json::{Value, json};

use super::fakes::{MemoryCheckpoints, MemoryDeadLetters, MemoryObjects, MemoryQueue, MemorySink};
use super::{Deadline, Forwarder, Queues};
use crate::config::ForwarderConfig;
use crate::generate::{TrailSpec, write_log_file};
use crate::object::{Continuation, ETag, NotifiedObject};
use crate::ports::{CallError, OpenError};
use crate::summary::ObjectSummary;

pub(super) const BUCKET: &str = "trail-bucket";

pub(super) type TestForwarder =
    Forwarder<MemoryObjects, MemorySink, MemoryQueue, MemoryCheckpoints, MemoryDeadLetters>;

pub(super) fn config() -> ForwarderConfig {
    let vars = HashMap::from([("LOG_GROUP_NAME", "/trail")]);
    ForwarderConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap()
}

pub(super) fn forwarder(sink: MemorySink, queue: Option<MemoryQueue>) -> TestForwarder {
    with_queues(
        sink,
        Queues {
            continuations: queue,
            checkpoints: None,
            dead_letters: None,
        },
    )
}

/// How long a put of unknown outcome may still land, in these tests (60 s in production).
pub(super) const IN_FLIGHT_MARGIN: std::time::Duration = std::time::Duration::from_millis(300);

/// With a checkpoint table and a dead-letter queue.
pub(super) fn checkpointed(sink: MemorySink, queue: Option<MemoryQueue>) -> TestForwarder {
    let mut forwarder = with_queues(
        sink,
        Queues {
            continuations: queue,
            checkpoints: Some(MemoryCheckpoints::default()),
            dead_letters: Some(MemoryDeadLetters::default()),
        },
    );
    forwarder.settings.in_flight_margin = IN_FLIGHT_MARGIN;
    forwarder
}

fn with_queues(
    sink: MemorySink,
    queues: Queues<MemoryQueue, MemoryCheckpoints, MemoryDeadLetters>,
) -> TestForwarder {
    Forwarder::new(MemoryObjects::default(), sink, queues, &config())
}

/// Puts a generated log file of at least `bytes` uncompressed; returns its key and records.
pub(super) fn put_file(
    forwarder: &TestForwarder,
    seed: u64,
    account: &str,
    bytes: u64,
) -> (String, Vec<String>) {
    let mut spec = TrailSpec::recent(seed);
    spec.account_id = account.into();
    let mut body = Vec::new();
    let written = write_log_file(&spec, bytes, &mut body).unwrap();
    let records = spec
        .records()
        .take(written.records as usize)
        .map(|r| r.text)
        .collect();
    forwarder.source.put(&spec.key(), body);
    (spec.key(), records)
}

pub(super) fn s3_record(key: &str) -> Value {
    json!({"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 100}}})
}

pub(super) fn sqs(messages: &[(&str, Value)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| json!({"messageId": id, "eventSource": "aws:sqs", "body": body.to_string()}))
        .collect();
    json!({"Records": records})
}

pub(super) fn sorted(mut records: Vec<String>) -> Vec<String> {
    records.sort();
    records
}

#[tokio::test]
async fn an_sqs_batch_retries_only_the_message_whose_object_failed_for_now() {
    // Given: two accounts' files, the second throttled on GetObject.
    let forwarder = forwarder(MemorySink::default(), None);
    let (good, good_records) = put_file(&forwarder, 1, "111122223333", 50_000);
    let (throttled, _) = put_file(&forwarder, 2, "444455556666", 50_000);
    forwarder.source.fail(
        &throttled,
        OpenError::Failed(CallError::transient("GetObject", "SlowDown")),
    );
    let payload = sqs(&[
        ("m1", json!({"Records": [s3_record(&good)]})),
        ("m2", json!({"Records": [s3_record(&throttled)]})),
    ]);

    // When
    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();

    // Then
    assert_eq!(report.failed_message_ids, vec!["m2"]);
    assert_eq!(forwarder.sink.messages(), sorted(good_records.clone()));
    let summary = &report.summary;
    assert_eq!(
        (summary.forwarded, summary.failed_objects),
        (good_records.len() as u64, 1)
    );
    assert!(summary.objects.iter().all(|o| o.is_balanced()));
    assert!(summary.objects[1].error().unwrap().contains("SlowDown"));
}

#[tokio::test]
async fn skipped_objects_are_not_read_and_their_messages_are_acknowledged() {
    let forwarder = forwarder(MemorySink::default(), None);
    let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261125T120000Z.json.gz";
    let (log, _) = put_file(&forwarder, 3, "111122223333", 10_000);
    let mut removed = s3_record(&log);
    removed["eventName"] = json!("ObjectRemoved:Delete");
    let payload = sqs(&[
        ("digest", json!({"Records": [s3_record(digest)]})),
        ("removed", json!({"Records": [removed]})),
        ("test", json!({"Event": "s3:TestEvent"})),
        (
            "config",
            json!({"Records": [s3_record("AWSLogs/111122223333/Config/ConfigWritabilityCheckFile")]}),
        ),
    ]);
    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();
    assert!(report.failed_message_ids.is_empty());
    assert_eq!(report.summary.skipped_objects, 3);
    assert!(forwarder.source.opened.lock().unwrap().is_empty());
    assert_eq!(*forwarder.sink.puts.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_message_naming_nothing_readable_is_retried_and_reported() {
    let forwarder = forwarder(MemorySink::default(), None);
    let payload =
        json!({"Records": [{"messageId": "bad", "eventSource": "aws:sqs", "body": "not json"}]});
    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();
    assert_eq!(report.failed_message_ids, vec!["bad"]);
    assert_eq!(report.summary.message_errors[0].message_id, "bad");
    assert!(report.summary.message_errors[0].error.contains("not JSON"));
}

#[tokio::test]
async fn entries_naming_no_object_are_reported_and_their_neighbours_forwarded_once() {
    let forwarder = forwarder(MemorySink::default(), None);
    let (key, records) = put_file(&forwarder, 10, "111122223333", 10_000);
    let keyless = json!({"s3": {"bucket": {"name": BUCKET}, "object": {}}});
    let payload = sqs(&[
        (
            "mixed",
            json!({"Records": [s3_record(&key), keyless.clone()]}),
        ),
        ("only-bad", json!({"Records": [keyless]})),
    ]);
    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();
    // The mixed message is not retried: that would forward its good object again.
    assert_eq!(report.failed_message_ids, vec!["only-bad"]);
    assert_eq!(forwarder.sink.messages(), sorted(records));
    let errors: Vec<(&str, &str)> = report
        .summary
        .message_errors
        .iter()
        .map(|e| (e.message_id.as_str(), e.error.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ("mixed", "S3 record 1 has no s3.object.key"),
            ("only-bad", "S3 record 0 has no s3.object.key")
        ]
    );
}

#[tokio::test]
async fn a_record_nested_too_deeply_costs_itself_only() {
    let forwarder = forwarder(MemorySink::default(), None);
    let key = TrailSpec::recent(11).key();
    let deep = format!("{}{}", "[".repeat(600), "]".repeat(600));
    let text = format!(
        r#"{{"Records":[{{"eventTime":"2024-01-02T03:00:00Z","deep":{deep}}},{{"eventTime":"2024-01-02T03:00:01Z"}}]}}"#
    );
    forwarder
        .source
        .put(&key, crate::generate::gzip(text.as_bytes()));
    let summary = forwarder.forward_key(&key, "invocation-1").await;
    assert!(summary.error().is_none(), "{summary:?}");
    assert_eq!(
        (
            summary.records,
            summary.forwarded,
            summary.rejected_reasons.invalid_record
        ),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn a_deadline_hands_off_at_a_batch_boundary_and_the_continuations_forward_exactly_the_rest() {
    // Given: two files of several batches each, and an invocation already out of time.
    let forwarder = forwarder(MemorySink::default(), Some(MemoryQueue::default()));
    let (first, first_records) = put_file(&forwarder, 4, "111122223333", 3_000_000);
    let (second, second_records) = put_file(&forwarder, 5, "444455556666", 100_000);
    let stopped = Deadline::stopped();

    // When: the first object starts anyway and stops after a batch; the second is not started.
    let started = forwarder
        .forward(
            &NotifiedObject::plain(BUCKET, &first),
            &stopped,
            "invocation-1",
            true,
        )
        .await
        .summary;
    let deferred = forwarder
        .forward(
            &NotifiedObject::plain(BUCKET, &second),
            &stopped,
            "invocation-1",
            false,
        )
        .await
        .summary;

    // Then
    let sent: Vec<Continuation> = forwarder.queue_sent();
    assert_eq!(sent.len(), 2);
    let handoff = started.handed_off_at.unwrap();
    assert!(
        handoff > 0 && handoff < first_records.len() as u64,
        "{handoff}"
    );
    assert_eq!(
        (
            sent[0].next_record,
            sent[0].e_tag.as_ref().map(ETag::quoted)
        ),
        (handoff, Some("\"etag\"".to_owned()))
    );
    assert_eq!((deferred.handed_off_at, sent[1].next_record), (Some(0), 0));
    assert_eq!(forwarder.source.opened.lock().unwrap().len(), 1);
    assert_eq!(started.forwarded, handoff);
    assert_eq!(started.sha256, None, "not read to its end");

    // And the continuations, delivered as their messages, forward exactly the rest.
    for continuation in sent {
        let body: Value = serde_json::from_str(&continuation.to_message_body().unwrap()).unwrap();
        let report = forwarder.handle(&body, None, "invocation-1").await.unwrap();
        assert_eq!(report.summary.failed_objects, 0);
        let resumed = &report.summary.objects[0];
        assert_eq!(resumed.resumed_at.unwrap_or(0), continuation.next_record);
        // Resumed, the object is read from its first byte again: the hash is the whole file's.
        let body = forwarder.source.objects.lock().unwrap()[&continuation.key].clone();
        let signed = crate::digest::hash::hash_log_file(&body[..]).unwrap();
        assert_eq!(resumed.sha256, Some(signed));
    }
    let mut all = first_records;
    all.extend(second_records);
    assert_eq!(forwarder.sink.messages(), sorted(all));
}

#[tokio::test]
async fn without_a_continuation_queue_a_stopped_object_is_retried_whole() {
    let forwarder = forwarder(MemorySink::default(), None);
    let (key, _) = put_file(&forwarder, 6, "111122223333", 3_000_000);
    let summary = forwarder
        .forward(
            &NotifiedObject::plain(BUCKET, &key),
            &Deadline::stopped(),
            "invocation-1",
            true,
        )
        .await
        .summary;
    assert!(summary.is_retryable());
    assert!(
        summary
            .error()
            .unwrap()
            .contains("without CONTINUATION_QUEUE_URL")
    );
}

#[tokio::test]
async fn a_put_failing_mid_file_fails_the_object_with_every_record_accounted() {
    for transient in [true, false] {
        let sink = MemorySink::failing_after(1, transient);
        let forwarder = forwarder(sink, None);
        let (key, records) = put_file(&forwarder, 7, "111122223333", 3_000_000);
        let summary = forwarder.forward_key(&key, "invocation-1").await;
        assert_eq!(summary.is_retryable(), transient);
        assert!(summary.is_balanced(), "{summary:?}");
        let landed = forwarder.sink.messages().len() as u64;
        assert_eq!(summary.forwarded, landed);
        assert!(landed > 0 && landed < records.len() as u64);
        assert_eq!(
            summary.rejected_reasons.not_delivered + summary.forwarded,
            summary.records
        );
    }
}

#[tokio::test]
async fn an_event_cloudwatch_logs_refuses_is_isolated_and_the_rest_of_its_batch_delivered() {
    // Given: one record of a multi-batch file that PutLogEvents refuses in any batch.
    let probe = forwarder(MemorySink::default(), None);
    let (key, records) = put_file(&probe, 12, "111122223333", 3_000_000);
    let body = probe.source.objects.lock().unwrap()[&key].clone();
    let sink = MemorySink {
        refused_messages: vec![records[777].clone()],
        ..MemorySink::default()
    };
    let forwarder = forwarder_with_file(sink, &key, body.clone());

    // When
    let summary = forwarder.forward_key(&key, "invocation-1").await;

    // Then: that one is counted as refused, every other record delivered once.
    assert!(summary.error().is_none(), "{summary:?}");
    assert!(summary.is_balanced());
    assert_eq!(summary.rejected_reasons.refused, 1);
    let mut rest = records.clone();
    rest.remove(777);
    assert_eq!(forwarder.sink.messages(), sorted(rest));

    // A refusal of every event alone is not about the events: the object fails.
    let everything = MemorySink {
        refused_messages: records.clone(),
        ..MemorySink::default()
    };
    let refusing = forwarder_with_file(everything, &key, body);
    let failed = refusing.forward_key(&key, "invocation-1").await;
    assert!(
        failed
            .error()
            .unwrap()
            .contains("InvalidParameterException")
    );
    assert!(failed.is_balanced());
    assert_eq!(failed.rejected_reasons.refused, 0);
}

fn forwarder_with_file(sink: MemorySink, key: &str, body: Vec<u8>) -> TestForwarder {
    let forwarder = forwarder(sink, None);
    forwarder.source.put(key, body);
    forwarder
}

#[tokio::test]
async fn a_file_that_is_not_gzip_fails_for_good_and_its_message_is_acknowledged() {
    let forwarder = forwarder(MemorySink::default(), None);
    let key = TrailSpec::recent(8).key();
    forwarder.source.put(&key, b"plain text".to_vec());
    let payload = sqs(&[("m", json!({"Records": [s3_record(&key)]}))]);
    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();
    assert!(report.failed_message_ids.is_empty());
    let object = &report.summary.objects[0];
    assert!(object.error().unwrap().contains("not gzip") && !object.is_retryable());

    // A direct invocation with the same object fails as a whole, so Lambda sees it.
    let direct = forwarder
        .handle(&json!({"Records": [s3_record(&key)]}), None, "invocation-1")
        .await
        .unwrap();
    assert!(direct.direct_failure());
}

#[tokio::test]
async fn events_cloudwatch_logs_rejects_are_counted_under_their_reason() {
    let sink = MemorySink {
        too_old_before: Some(i64::MAX),
        ..MemorySink::default()
    };
    let forwarder = forwarder(sink, None);
    let (key, records) = put_file(&forwarder, 9, "111122223333", 20_000);
    let summary = forwarder.forward_key(&key, "invocation-1").await;
    assert_eq!(summary.forwarded, 0);
    assert_eq!(summary.rejected_reasons.too_old, records.len() as u64);
    assert!(summary.is_balanced() && summary.error().is_none());
}

impl TestForwarder {
    /// Forwards the object at `key` (as stored) as invocation `owner`, with no deadline.
    pub(super) async fn forward_key(&self, key: &str, owner: &str) -> ObjectSummary {
        self.forward(
            &NotifiedObject::plain(BUCKET, key),
            &Deadline::none(),
            owner,
            true,
        )
        .await
        .summary
    }

    pub(super) fn queue_sent(&self) -> Vec<Continuation> {
        self.continuations
            .as_ref()
            .map(|q| q.sent.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

/// Log lines written to a buffer, as the functions' JSON subscriber writes them.
#[derive(Clone, Default)]
struct LogLines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn lines_logged_while_an_object_is_read_name_the_object_and_the_message() {
    // Given: a log file with a record CloudTrail never writes (no eventTime), read on the
    // reading thread, whose warning must still say which object and message it is about.
    let forwarder = forwarder(MemorySink::default(), None);
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1205Z_abcdefghijklmnop.json.gz";
    let mut body = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut body, br#"{"Records":[{"eventVersion":"1.11"}]}"#).unwrap();
    forwarder.source.put(key, body.finish().unwrap());
    let lines = LogLines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let payload = sqs(&[("m1", json!({"Records": [s3_record(key)]}))]);

    // When
    let report = {
        let _default = tracing::subscriber::set_default(subscriber);
        forwarder
            .handle(&payload, None, "invocation-1")
            .await
            .unwrap()
    };

    // Then
    assert_eq!(report.summary.rejected, 1);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let invalid: Value = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|line| line["fields"]["message"] == "invalid record")
        .unwrap_or_else(|| panic!("no invalid-record line in {text}"));
    assert_eq!(invalid["span"]["bucket"], BUCKET);
    assert_eq!(invalid["span"]["key"], key);
    assert_eq!(invalid["spans"][0]["message_id"], "m1");
    assert!(
        !text.contains("1.11"),
        "a record's content was logged: {text}"
    );
}
