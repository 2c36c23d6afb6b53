//! Exactly once on the in-memory checkpoint store: redelivery, concurrent invocations, failed
//! and lost puts, a process dying mid-put, continuations delivered twice, rewritten keys, and
//! messages naming several objects. Each ends with every record in the sink exactly once.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};

use super::fakes::{MemoryQueue, MemorySink};
use super::tests::{
    BUCKET, IN_FLIGHT_MARGIN, TestForwarder, checkpointed, put_file, s3_record, sorted, sqs,
};
use super::{Deadline, InvocationEnd};
use crate::object::NotifiedObject;
use crate::summary::CheckpointVerdict;

/// About four PutLogEvents batches.
const FOUR_BATCHES: u64 = 3_500_000;

impl TestForwarder {
    fn store(&self) -> &super::fakes::MemoryCheckpoints {
        self.checkpoints.as_ref().unwrap()
    }

    /// The dead-letter copies sent: (body, letter).
    fn letters(&self) -> Vec<(String, crate::ports::DeadLetter)> {
        let queue = self.dead_letters.as_ref().unwrap();
        queue.sent.lock().unwrap().clone()
    }
}

fn message(key: &str) -> Value {
    sqs(&[("m1", json!({"Records": [s3_record(key)]}))])
}

#[tokio::test]
async fn the_same_notification_twice_forwards_once_and_says_already_forwarded() {
    let forwarder = checkpointed(MemorySink::default(), None);
    let (key, records) = put_file(&forwarder, 21, "111122223333", FOUR_BATCHES);
    let first = forwarder
        .handle(&message(&key), None, "invocation-1")
        .await
        .unwrap();
    let puts = *forwarder.sink.puts.lock().unwrap();
    let second = forwarder
        .handle(&message(&key), None, "invocation-2")
        .await
        .unwrap();

    assert_eq!(first.summary.forwarded, records.len() as u64);
    assert!(puts >= 3, "{puts} puts");
    assert_eq!(
        *forwarder.sink.puts.lock().unwrap(),
        puts,
        "no put the second time"
    );
    assert_eq!(
        (
            second.summary.already_forwarded_objects,
            second.summary.skipped_objects
        ),
        (1, 1)
    );
    assert_eq!(
        second.summary.objects[0].skip_reason(),
        Some("already forwarded")
    );
    assert!(second.failed_message_ids.is_empty());
    assert_eq!(forwarder.sink.messages(), sorted(records));
    // A claim, one progress per boundary, and done: the writes a file costs.
    let checkpoint = forwarder.store().get(BUCKET, &key).unwrap();
    assert!(checkpoint.ledger.is_done() && checkpoint.lease.owner().is_none());
    assert_eq!(*forwarder.store().writes.lock().unwrap(), puts + 2);
}

#[tokio::test]
async fn two_invocations_at_once_read_the_object_once_and_the_loser_retries_later() {
    let forwarder = checkpointed(MemorySink::default(), None);
    let (key, records) = put_file(&forwarder, 22, "111122223333", FOUR_BATCHES);
    let payload = message(&key);
    let (a, b) = tokio::join!(
        forwarder.handle(&payload, None, "invocation-a"),
        forwarder.handle(&payload, None, "invocation-b"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let retried: Vec<_> = [&a, &b]
        .iter()
        .filter(|r| !r.failed_message_ids.is_empty())
        .map(|r| r.summary.objects[0].error().unwrap().to_owned())
        .collect();
    assert_eq!(
        retried.len(),
        1,
        "one holds the lease, the other is told to retry"
    );
    assert!(retried[0].contains("another invocation"), "{retried:?}");
    assert_eq!(forwarder.source.opened.lock().unwrap().len(), 1);

    let retry = forwarder
        .handle(&message(&key), None, "invocation-c")
        .await
        .unwrap();
    assert_eq!(retry.summary.already_forwarded_objects, 1);
    assert_eq!(forwarder.sink.messages(), sorted(records));
}

#[tokio::test]
async fn a_put_failing_on_the_third_batch_resumes_at_the_stored_record_on_redelivery() {
    let forwarder = checkpointed(MemorySink::failing_after(2, true), None);
    let (key, records) = put_file(&forwarder, 23, "111122223333", FOUR_BATCHES);
    let failed = forwarder.forward_key(&key, "invocation-1").await;
    assert!(failed.is_retryable() && failed.is_balanced(), "{failed:?}");
    let stored = forwarder.store().get(BUCKET, &key).unwrap();
    assert_eq!(stored.ledger.next_record, failed.forwarded);
    assert!(stored.lease.owner().is_none(), "released at once");
    assert!(
        stored.lease.unconfirmed().is_some(),
        "the failed put's outcome is unknown"
    );

    forwarder.sink.heal();
    let resumed = forwarder.forward_key(&key, "invocation-2").await;
    assert_eq!(resumed.resumed_at, Some(failed.forwarded));
    assert_eq!(resumed.found_delivered, 0, "the failed put stored nothing");
    assert_eq!(failed.forwarded + resumed.forwarded, records.len() as u64);
    assert_eq!(forwarder.sink.messages(), sorted(records));
}

#[tokio::test]
async fn a_put_stored_whose_answer_was_lost_is_found_in_the_stream_and_not_sent_again() {
    let forwarder = checkpointed(MemorySink::answer_lost_after(2), None);
    let (key, records) = put_file(&forwarder, 24, "111122223333", FOUR_BATCHES);
    let failed = forwarder.forward_key(&key, "invocation-1").await;
    assert!(failed.is_retryable());

    // The put may still land: nobody reads it back before the margin has passed.
    forwarder.sink.heal();
    let early = forwarder.forward_key(&key, "invocation-2").await;
    assert!(
        early.is_retryable() && early.error().unwrap().contains("outcome is unknown"),
        "{early:?}"
    );
    tokio::time::sleep(IN_FLIGHT_MARGIN + Duration::from_millis(50)).await;
    let resumed = forwarder.forward_key(&key, "invocation-3").await;
    assert!(resumed.found_delivered > 0, "{resumed:?}");
    assert!(resumed.is_balanced());
    assert!(*forwarder.sink.pages_read.lock().unwrap() > 1, "paged");
    assert_eq!(forwarder.sink.messages(), sorted(records));
}

#[tokio::test]
async fn a_process_dying_mid_put_is_resumed_after_its_deadline_without_duplicates() {
    // Given: the third put is stored and never answered, and the invocation is abandoned.
    let sink = MemorySink {
        hang_after: Some(2),
        ..MemorySink::default()
    };
    let forwarder = checkpointed(sink, None);
    let (key, records) = put_file(&forwarder, 25, "111122223333", FOUR_BATCHES);
    let end = InvocationEnd::after(Duration::from_secs(5));
    let deadline = Deadline::start(Some(end), Duration::ZERO);
    // Abandoned once its third put hangs (however long the first two take on a busy machine).
    let notified = NotifiedObject::plain(BUCKET, &key);
    {
        let run = forwarder.forward(&notified, &deadline, "invocation-1", true);
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => panic!("the invocation finished before its put hung"),
                () = tokio::time::sleep(Duration::from_millis(10)) => {
                    if *forwarder.sink.puts.lock().unwrap() > 2 {
                        break;
                    }
                }
            }
        }
    } // dropped here: the invocation is gone
    let held = forwarder.store().get(BUCKET, &key).unwrap();
    assert_eq!(held.lease.owner(), Some("invocation-1"));

    // When: a redelivery before the dead lease ends is told to wait; one after it resumes.
    let early = forwarder.forward_key(&key, "invocation-2").await;
    assert!(early.is_retryable() && early.error().unwrap().contains("another invocation"));
    tokio::time::sleep_until(end.instant() + IN_FLIGHT_MARGIN + Duration::from_millis(100)).await;
    let resumed = forwarder.forward_key(&key, "invocation-3").await;

    // Then: the dead put's events were found, the rest sent, each record once.
    assert!(resumed.error().is_none(), "{resumed:?}");
    assert_eq!(resumed.resumed_at, Some(held.ledger.next_record));
    assert!(resumed.found_delivered > 0);
    let count = records.len();
    assert_eq!(forwarder.sink.messages(), sorted(records));
    assert_finished_with_every_record(&forwarder, &key, count);
}

/// The hash a digest records for the stored object: SHA-256 of its decompressed bytes.
fn signed_hash(forwarder: &TestForwarder, key: &str) -> crate::object::Sha256 {
    let body = forwarder.source.objects.lock().unwrap()[key].clone();
    crate::digest::hash::hash_log_file(&body[..]).unwrap()
}

/// The checkpoint is done, with the object's hash and every record counted once, over every
/// invocation that worked on it.
fn assert_finished_with_every_record(forwarder: &TestForwarder, key: &str, records: usize) {
    let checkpoint = forwarder.store().get(BUCKET, key).unwrap();
    assert!(checkpoint.ledger.is_done(), "{checkpoint:?}");
    assert_eq!(
        checkpoint.ledger.sha256(),
        Some(signed_hash(forwarder, key))
    );
    let records = records as u64;
    assert_eq!(
        checkpoint.ledger.counts,
        crate::checkpoint::RecordCounts {
            records,
            forwarded: records,
            filtered: 0,
            rejected: 0
        }
    );
}

#[tokio::test]
async fn a_continuation_delivered_twice_applies_once() {
    let forwarder = checkpointed(MemorySink::default(), Some(MemoryQueue::default()));
    let (key, records) = put_file(&forwarder, 26, "111122223333", FOUR_BATCHES);
    let started = forwarder
        .forward(
            &NotifiedObject::plain(BUCKET, &key),
            &Deadline::stopped(),
            "invocation-1",
            true,
        )
        .await
        .summary;
    let handoff = started.handed_off_at.unwrap();
    assert_eq!(
        forwarder
            .store()
            .get(BUCKET, &key)
            .unwrap()
            .ledger
            .next_record,
        handoff
    );
    let continuation = forwarder.queue_sent().pop().unwrap();
    let body: Value = serde_json::from_str(&continuation.to_message_body().unwrap()).unwrap();
    let first = forwarder.handle(&body, None, "invocation-2").await.unwrap();
    let again = forwarder.handle(&body, None, "invocation-3").await.unwrap();
    assert_eq!(first.summary.objects[0].resumed_at, Some(handoff));
    assert_eq!(again.summary.already_forwarded_objects, 1);
    assert!(again.failed_message_ids.is_empty());
    let count = records.len();
    assert_eq!(forwarder.sink.messages(), sorted(records));
    assert_finished_with_every_record(&forwarder, &key, count);
}

impl TestForwarder {
    /// The delay each continuation was sent with.
    fn queue_delays(&self) -> Vec<Duration> {
        let queue = self.continuations.as_ref().unwrap();
        queue.delays.lock().unwrap().clone()
    }
}

fn continuation_body(continuation: &crate::object::Continuation) -> Value {
    let body = continuation.to_message_body().unwrap();
    sqs(&[("c1", serde_json::from_str(&body).unwrap())])
}

#[tokio::test]
async fn progress_then_a_put_of_unknown_outcome_hands_off_to_a_delayed_continuation() {
    // Given: two puts delivered and recorded, then a put whose answer is lost, which
    // CloudWatch Logs stores 200 ms later (within the in-flight margin).
    let sink = MemorySink {
        lands_after: Some(Duration::from_millis(200)),
        ..MemorySink::answer_lost_after(2)
    };
    let forwarder = checkpointed(sink, Some(MemoryQueue::default()));
    let (key, records) = put_file(&forwarder, 46, "111122223333", FOUR_BATCHES);

    // When
    let report = forwarder
        .handle(&message(&key), None, "invocation-1")
        .await
        .unwrap();
    forwarder.sink.heal();

    // Then: progress is not a failure of the message: it is acknowledged, and the rest goes
    // on from the checkpoint's record once the put can no longer land.
    assert!(report.failed_message_ids.is_empty(), "{report:?}");
    let object = &report.summary.objects[0];
    let error = object.error().unwrap();
    assert!(
        object.is_retryable() && error.contains("handed off to a continuation"),
        "{object:?}"
    );
    let checkpoint = forwarder.store().get(BUCKET, &key).unwrap();
    let next = checkpoint.ledger.next_record;
    assert!(next > 0 && object.handed_off_at == Some(next), "{object:?}");
    assert!(matches!(
        checkpoint.lease,
        crate::checkpoint::Lease::InFlight { .. }
    ));
    let sent = forwarder.queue_sent();
    assert_eq!(sent[0].next_record, next);
    // The lease ends 300 ms on: SQS delays by whole seconds, rounded up.
    assert_eq!(forwarder.queue_delays(), [Duration::from_secs(1)]);

    // A continuation that comes early is deferred again, not failed.
    let early = forwarder
        .handle(&continuation_body(&sent[0]), None, "invocation-2")
        .await
        .unwrap();
    assert!(early.failed_message_ids.is_empty(), "{early:?}");
    assert_eq!(early.summary.forwarded, 0);
    assert_eq!(forwarder.queue_sent().len(), 2);

    // When its delay has passed, the continuation reads the landed put back and finishes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let last = forwarder.queue_sent().pop().unwrap();
    let resumed = forwarder
        .handle(&continuation_body(&last), None, "invocation-3")
        .await
        .unwrap();
    let resumed = &resumed.summary.objects[0];
    assert!(
        resumed.error().is_none() && resumed.found_delivered > 0,
        "{resumed:?}"
    );
    let count = records.len();
    assert_eq!(forwarder.sink.messages(), sorted(records));
    assert_finished_with_every_record(&forwarder, &key, count);
}

#[tokio::test]
async fn a_failure_before_any_progress_is_retried_by_the_message() {
    // Given: the first put's answer is lost.
    let forwarder = checkpointed(
        MemorySink::answer_lost_after(0),
        Some(MemoryQueue::default()),
    );
    let (key, _) = put_file(&forwarder, 47, "111122223333", FOUR_BATCHES);

    // When
    let report = forwarder
        .handle(&message(&key), None, "invocation-1")
        .await
        .unwrap();

    // Then: nothing was delivered for sure, so the message is retried (and counts a receive).
    assert_eq!(report.failed_message_ids, ["m1"]);
    assert!(forwarder.queue_sent().is_empty());
}

#[tokio::test]
async fn a_rewritten_key_is_reported_and_not_forwarded_again() {
    let forwarder = checkpointed(MemorySink::default(), None);
    let (key, records) = put_file(&forwarder, 27, "111122223333", 50_000);
    forwarder.forward_key(&key, "invocation-1").await;

    // The same key, other content: named by the notification's ETag, or found when opened.
    forwarder
        .source
        .e_tags
        .lock()
        .unwrap()
        .insert(key.clone(), "\"other\"".into());
    let mut notified = s3_record(&key);
    notified["s3"]["object"]["eTag"] = json!("other");
    let named = forwarder
        .handle(&json!({"Records": [notified]}), None, "invocation-2")
        .await
        .unwrap();
    assert_eq!(named.summary.rewritten_objects, 1);
    let object = &named.summary.objects[0];
    assert_eq!(object.checkpoint, Some(CheckpointVerdict::Rewritten));
    assert!(
        object
            .skip_reason()
            .unwrap()
            .contains("ETag etag, now ETag other")
    );
    assert_eq!(forwarder.sink.messages(), sorted(records));
}

#[tokio::test]
async fn a_message_naming_several_objects_retries_only_the_unfinished_one() {
    let forwarder = checkpointed(MemorySink::default(), None);
    let (good, good_records) = put_file(&forwarder, 28, "111122223333", 50_000);
    let (bad, bad_records) = put_file(&forwarder, 29, "444455556666", 50_000);
    forwarder.source.fail(
        &bad,
        crate::ports::OpenError::Failed(crate::ports::CallError::transient(
            "GetObject",
            "SlowDown",
        )),
    );
    let both = sqs(&[(
        "m1",
        json!({"Records": [s3_record(&good), s3_record(&bad)]}),
    )]);
    let first = forwarder.handle(&both, None, "invocation-1").await.unwrap();
    assert_eq!(first.failed_message_ids, vec!["m1"]);

    forwarder.source.failures.lock().unwrap().clear();
    let retry = forwarder.handle(&both, None, "invocation-2").await.unwrap();
    assert!(retry.failed_message_ids.is_empty());
    assert_eq!(retry.summary.already_forwarded_objects, 1);
    assert_eq!(retry.summary.forwarded, bad_records.len() as u64);
    let mut all = good_records;
    all.extend(bad_records);
    assert_eq!(forwarder.sink.messages(), sorted(all));
}

#[tokio::test]
async fn a_dry_run_writes_no_checkpoint() {
    let mut forwarder = checkpointed(MemorySink::default(), None);
    forwarder.settings.dry_run = true;
    let (key, _) = put_file(&forwarder, 30, "111122223333", 50_000);
    forwarder.forward_key(&key, "invocation-1").await;
    assert_eq!(forwarder.store().get(BUCKET, &key), None);
}

#[tokio::test]
async fn sqs_messages_that_fail_for_good_go_to_the_dead_letter_queue_with_their_reason() {
    let forwarder = checkpointed(MemorySink::default(), None);
    let (good, good_records) = put_file(&forwarder, 31, "111122223333", 50_000);
    let broken = crate::generate::TrailSpec::recent(32).key();
    forwarder.source.put(&broken, b"plain text".to_vec());
    let (throttled, _) = put_file(&forwarder, 33, "444455556666", 50_000);
    forwarder.source.fail(
        &throttled,
        crate::ports::OpenError::Failed(crate::ports::CallError::transient(
            "GetObject",
            "SlowDown",
        )),
    );
    let payload = json!({"Records": [
        {"messageId": "good", "eventSource": "aws:sqs", "body": json!({"Records": [s3_record(&good)]}).to_string()},
        {"messageId": "broken", "eventSource": "aws:sqs", "body": json!({"Records": [s3_record(&broken)]}).to_string()},
        {"messageId": "garbage", "eventSource": "aws:sqs", "body": "{\"hello\": 1}"},
        {"messageId": "throttled", "eventSource": "aws:sqs", "body": json!({"Records": [s3_record(&throttled)]}).to_string()},
    ]});

    let report = forwarder
        .handle(&payload, None, "invocation-1")
        .await
        .unwrap();

    // Only what a retry can fix comes back; what cannot is kept with its reason, then deleted.
    assert_eq!(report.failed_message_ids, vec!["throttled"]);
    let sent = forwarder.letters();
    let ids: Vec<&str> = sent.iter().map(|(_, l)| l.message_id.as_str()).collect();
    assert_eq!(ids, vec!["broken", "garbage"]);
    let (body, letter) = &sent[0];
    assert_eq!(*body, payload["Records"][1]["body"].as_str().unwrap());
    assert_eq!(letter.object, Some(format!("s3://{BUCKET}/{broken}")));
    assert!(letter.reason.contains("not gzip"), "{letter:?}");
    assert_eq!(
        letter.delivered.as_deref(),
        Some("none of its records are in CloudWatch Logs (checkpoint)")
    );
    assert!(sent[1].1.reason.contains("not a known notification"));
    let good_count = good_records.len() as u64;
    assert_eq!(forwarder.sink.messages(), sorted(good_records));
    // The failure is kept in the checkpoint, to be reported; the good object's hash and counts.
    let failed = forwarder.store().get(BUCKET, &broken).unwrap();
    assert!(
        !failed.ledger.is_done()
            && failed
                .ledger
                .failure()
                .is_some_and(|f| f.contains("not gzip"))
    );
    let done = forwarder.store().get(BUCKET, &good).unwrap();
    assert_eq!(done.ledger.sha256(), Some(signed_hash(&forwarder, &good)));
    assert_eq!(done.ledger.counts.forwarded, good_count);
}

#[tokio::test]
async fn a_checkpoint_table_failing_mid_object_costs_a_retry_never_a_duplicate() {
    // Given: the table takes the claim and one progress write, then fails every write.
    let forwarder = checkpointed(MemorySink::default(), None);
    *forwarder.store().fail_writes_after.lock().unwrap() = Some(2);
    let (key, records) = put_file(&forwarder, 34, "111122223333", FOUR_BATCHES);
    let end = InvocationEnd::after(Duration::from_secs(5));
    let deadline = Deadline::start(Some(end), Duration::ZERO);

    // When: the object fails (its progress and its release both unwritten), and is retried
    // once the table is back and the lease has ended.
    let failed = forwarder
        .forward(
            &NotifiedObject::plain(BUCKET, &key),
            &deadline,
            "invocation-1",
            true,
        )
        .await
        .summary;
    assert!(failed.is_retryable() && failed.is_balanced(), "{failed:?}");
    *forwarder.store().fail_writes_after.lock().unwrap() = None;
    tokio::time::sleep_until(end.instant() + IN_FLIGHT_MARGIN + Duration::from_millis(100)).await;
    let resumed = forwarder.forward_key(&key, "invocation-2").await;

    // Then: the put made after the last recorded boundary was found, not sent again.
    assert!(resumed.error().is_none(), "{resumed:?}");
    assert!(resumed.found_delivered > 0, "{resumed:?}");
    assert_eq!(forwarder.sink.messages(), sorted(records));
}

/// The faults of a soak, one at a time, each a defect once: every test below ends with each
/// record in the sink once.
mod under_faults {
    use super::*;
    use crate::checkpoint::Unconfirmed;
    use crate::pipeline::fakes::MemoryCheckpoints;

    #[tokio::test]
    async fn a_read_back_cut_short_by_a_broken_read_is_carried_to_the_next_invocation() {
        // Given: the third put is stored, but its answer is lost (a 500).
        let forwarder = checkpointed(MemorySink::answer_lost_after(2), None);
        let (key, records) = put_file(&forwarder, 41, "111122223333", FOUR_BATCHES);
        let failed = forwarder.forward_key(&key, "invocation-1").await;
        assert!(failed.is_retryable());
        let stored = forwarder.store().get(BUCKET, &key).unwrap();
        let Some(Unconfirmed::Before(unconfirmed_end)) = stored.lease.unconfirmed() else {
            panic!("a range ending at the lost put: {stored:?}")
        };
        assert!(unconfirmed_end > stored.ledger.next_record);

        // When: the next invocation's read breaks in the middle of that put's records (it
        // flushes what it read with a boundary there), and a third one finishes.
        forwarder.sink.heal();
        tokio::time::sleep(IN_FLIGHT_MARGIN + Duration::from_millis(50)).await;
        let body_len = forwarder.source.objects.lock().unwrap()[&key].len();
        forwarder
            .source
            .cuts
            .lock()
            .unwrap()
            .insert(key.clone(), body_len * 62 / 100);
        let cut = forwarder.forward_key(&key, "invocation-2").await;
        assert!(cut.is_retryable(), "{cut:?}");
        let after_cut = forwarder.store().get(BUCKET, &key).unwrap();
        assert!(
            after_cut.ledger.next_record > stored.ledger.next_record
                && after_cut.ledger.next_record < unconfirmed_end,
            "the cut must fall inside the lost put: {} < {} < {unconfirmed_end}",
            stored.ledger.next_record,
            after_cut.ledger.next_record
        );
        // Then: what the first put may hold beyond the cut is still to be read back.
        assert_eq!(
            after_cut.lease.unconfirmed(),
            Some(Unconfirmed::Before(unconfirmed_end)),
            "{after_cut:?}"
        );
        let finished = forwarder.forward_key(&key, "invocation-3").await;
        assert!(finished.error().is_none(), "{finished:?}");
        assert!(finished.found_delivered > 0, "{finished:?}");
        assert_eq!(forwarder.sink.messages(), sorted(records));
    }

    #[tokio::test]
    async fn a_put_landing_after_its_call_failed_is_waited_out_then_read_back() {
        // Given: the third put fails, and CloudWatch Logs stores it 200 ms later (within the
        // in-flight margin).
        let sink = MemorySink {
            lands_after: Some(Duration::from_millis(200)),
            ..MemorySink::answer_lost_after(2)
        };
        let forwarder = checkpointed(sink, None);
        let (key, records) = put_file(&forwarder, 42, "111122223333", FOUR_BATCHES);
        let failed = forwarder.forward_key(&key, "invocation-1").await;
        assert!(failed.is_retryable());
        forwarder.sink.heal();

        // When: redelivered at once, and again after the margin.
        let early = forwarder.forward_key(&key, "invocation-2").await;
        tokio::time::sleep(IN_FLIGHT_MARGIN + Duration::from_millis(50)).await;
        let resumed = forwarder.forward_key(&key, "invocation-3").await;

        // Then: the early one did not read back before the put landed; the later one found it.
        assert!(early.is_retryable() && early.forwarded == 0, "{early:?}");
        assert!(
            resumed.error().is_none() && resumed.found_delivered > 0,
            "{resumed:?}"
        );
        assert_eq!(forwarder.sink.messages(), sorted(records));
    }

    #[tokio::test]
    async fn a_checkpoint_write_applied_whose_answer_was_lost_is_recognised_as_ours() {
        // Given: the second write (the first progress) is applied, then answered as the SDK's
        // retry of it would be: the condition failed.
        let mut forwarder = checkpointed(MemorySink::default(), None);
        forwarder.checkpoints = Some(MemoryCheckpoints {
            lose_answer_of_write: Some(2),
            ..MemoryCheckpoints::default()
        });
        let (key, records) = put_file(&forwarder, 43, "111122223333", FOUR_BATCHES);

        // When
        let forwarded = forwarder.forward_key(&key, "invocation-1").await;

        // Then: not taken for another invocation's takeover; the object is done at once.
        assert!(forwarded.error().is_none(), "{forwarded:?}");
        assert_eq!(forwarded.forwarded, records.len() as u64);
        assert!(
            forwarder
                .store()
                .get(BUCKET, &key)
                .unwrap()
                .ledger
                .is_done()
        );
        assert_eq!(forwarder.sink.messages(), sorted(records));
    }
}

#[tokio::test]
async fn the_dead_letter_copy_of_a_damaged_file_names_the_records_delivered() {
    // Given: a file cut off after about half its bytes (a permanent failure: its end is gone).
    let forwarder = checkpointed(MemorySink::default(), None);
    let (key, records) = put_file(&forwarder, 45, "111122223333", FOUR_BATCHES);
    let mut body = forwarder.source.objects.lock().unwrap()[&key].clone();
    body.truncate(body.len() / 2);
    forwarder.source.put(&key, body);

    let report = forwarder
        .handle(&message(&key), None, "invocation-1")
        .await
        .unwrap();

    let object = &report.summary.objects[0];
    assert!(
        object.error().is_some() && !object.is_retryable(),
        "{object:?}"
    );
    let sent = forwarder.letters();
    let delivered = sent[0].1.delivered.clone().unwrap();
    let end = forwarder
        .store()
        .get(BUCKET, &key)
        .unwrap()
        .ledger
        .next_record;
    assert!(end > 0 && end < records.len() as u64);
    assert_eq!(
        delivered,
        format!(
            "records 0 to {} are in CloudWatch Logs, from {end} on not (checkpoint)",
            end - 1
        )
    );
    assert_eq!(forwarder.sink.messages().len() as u64, end);
}
