//! Exactly once against moto (S3, CloudWatch Logs, DynamoDB) with the checkpoint table, on the
//! template's shape: an organization trail's member accounts in two regions, notifications
//! through SQS delivered twice and at once, PutLogEvents failing past the SDK's retries, and a
//! process dying while its put is in flight. Each ends with every record in CloudWatch Logs
//! exactly once (`events_in` fails on a duplicate) and the summaries balanced.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::harness::*;
use support::proxy::{self, Fault};
use trailwatch::generate::{GeneratedRecord, TrailSpec};
use trailwatch::ports::CheckpointStore;

/// About four PutLogEvents batches of generated records.
const FOUR_BATCHES: u64 = 3_500_000;

/// An organization trail's file of a member account in `region`.
fn member_spec(seed: u64, account: &str, region: &str) -> TrailSpec {
    let mut spec = TrailSpec::recent(seed);
    spec.account_id = account.into();
    spec.region = region.into();
    spec.organization_id = Some("o-aa11bb22cc".into());
    spec
}

struct Delivered {
    objects: Vec<(String, usize)>,
    streams: Vec<(String, Vec<GeneratedRecord>)>,
}

/// Two members' files (us-east-1 and eu-west-1), about four batches each.
async fn two_member_files(harness: &Harness, seed: u64) -> Delivered {
    let mut delivered = Delivered {
        objects: Vec::new(),
        streams: Vec::new(),
    };
    for (offset, account, region) in [
        (0, "444455556666", "us-east-1"),
        (1, "777788889999", "eu-west-1"),
    ] {
        let spec = member_spec(seed + offset, account, region);
        let (key, size, records) = harness.put_trail_file(&spec, FOUR_BATCHES).await;
        delivered.objects.push((key, size));
        delivered.streams.push((
            format!("o-aa11bb22cc_{account}_CloudTrail_{region}"),
            records,
        ));
    }
    delivered
}

/// A proxy rule that answers the nth PutLogEvents (from 1) as `fault` says; and the count.
fn on_puts(
    fault: impl Fn(usize) -> Option<Fault> + Send + Sync + 'static,
) -> (proxy::Rule, Arc<AtomicUsize>) {
    let puts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&puts);
    let rule: proxy::Rule = Arc::new(move |seen| {
        if !seen.target.ends_with("PutLogEvents") {
            return None;
        }
        fault(counter.fetch_add(1, Ordering::SeqCst) + 1)
    });
    (rule, puts)
}

/// One SQS message per object.
fn messages(harness: &Harness, delivered: &Delivered) -> serde_json::Value {
    let bodies: Vec<(String, String)> = delivered
        .objects
        .iter()
        .enumerate()
        .map(|(i, object)| {
            (
                format!("m{i}"),
                s3_event(&harness.bucket, std::slice::from_ref(object)).to_string(),
            )
        })
        .collect();
    let refs: Vec<(&str, String)> = bodies
        .iter()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    sqs_event(&refs)
}

/// Exactly these records in the organization member's stream, each once.
async fn assert_member_stream(
    harness: &Harness,
    account: &str,
    region: &str,
    records: &[GeneratedRecord],
) {
    let stream = format!("o-aa11bb22cc_{account}_CloudTrail_{region}");
    assert_eq!(
        harness.events(&stream).await,
        expected(records),
        "stream {stream}"
    );
}

/// Every record of every file in its stream, once.
async fn assert_exactly_once(harness: &Harness, delivered: &Delivered) {
    for (stream, records) in &delivered.streams {
        assert_eq!(
            harness.events(stream).await,
            expected(records),
            "stream {stream}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notification_delivered_twice_forwards_each_record_once() {
    let endpoint = support::moto().endpoint.clone();
    let harness = Harness::checkpointed(&endpoint, "twice", &[]).await;
    let delivered = two_member_files(&harness, 101).await;
    let payload = messages(&harness, &delivered);

    let first = harness.run(&payload, None).await;
    let second = harness.run(&payload, None).await;

    assert!(first.failed_message_ids.is_empty() && second.failed_message_ids.is_empty());
    assert_balanced(&first.summary);
    let total: usize = delivered.streams.iter().map(|(_, r)| r.len()).sum();
    assert_eq!(first.summary.forwarded, total as u64);
    assert_eq!(second.summary.forwarded, 0);
    assert_eq!(second.summary.already_forwarded_objects, 2);
    assert!(
        second
            .summary
            .objects
            .iter()
            .all(|o| o.skip_reason() == Some("already forwarded"))
    );
    assert_exactly_once(&harness, &delivered).await;
    // Each item records what was forwarded: the object's hash and counts, read back from moto.
    let table = trailwatch::aws::checkpoints::DynamoCheckpoints {
        client: harness.dynamodb.clone(),
        table_name: harness.table.clone(),
    };
    for object in &first.summary.objects {
        let stored = table
            .load(&object.bucket, &object.key)
            .await
            .unwrap()
            .unwrap();
        let ledger = stored.checkpoint.ledger;
        assert!(ledger.is_done() && object.sha256.is_some());
        assert_eq!(ledger.sha256(), object.sha256);
        assert_eq!(
            (ledger.counts.records, ledger.counts.forwarded),
            (object.records, object.forwarded)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_in_two_invocations_at_once_forwards_each_record_once() {
    let endpoint = support::moto().endpoint.clone();
    let harness = Harness::checkpointed(&endpoint, "at-once", &[]).await;
    let delivered = two_member_files(&harness, 111).await;
    let payload = messages(&harness, &delivered);

    let (a, b) = tokio::join!(harness.run(&payload, None), harness.run(&payload, None));
    // Whatever the interleaving, each object was read by one of them; the other was told to
    // retry (its lease was held) or found it forwarded.
    let retried: Vec<&String> = a
        .failed_message_ids
        .iter()
        .chain(&b.failed_message_ids)
        .collect();
    for report in [&a, &b] {
        assert_balanced(&report.summary);
        for object in report
            .summary
            .objects
            .iter()
            .filter(|o| o.error().is_some())
        {
            assert!(object.error().unwrap().contains("another invocation"));
        }
    }
    let retry = harness.run(&payload, None).await;
    assert!(retry.failed_message_ids.is_empty(), "{retried:?}");
    let forwarded = a.summary.forwarded + b.summary.forwarded + retry.summary.forwarded;
    let total: usize = delivered.streams.iter().map(|(_, r)| r.len()).sum();
    assert_eq!(forwarded, total as u64);
    assert_exactly_once(&harness, &delivered).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_answered_500_is_not_resent_blindly_and_resumes_at_the_checkpoint() {
    // Given: the 3rd PutLogEvents reaches moto (and is stored), then is answered 500.
    let (rule, puts) = on_puts(|n| (n == 3).then_some(Fault::StoredThenServerError));
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let harness = Harness::checkpointed(&endpoint, "put-500", &[]).await;
    let spec = member_spec(121, "444455556666", "us-east-1");
    let (key, size, records) = harness.put_trail_file(&spec, FOUR_BATCHES).await;
    let payload = sqs_event(&[("m", s3_event(&harness.bucket, &[(key, size)]).to_string())]);

    // When: the message fails; SQS delivers it again at once, and after the in-flight margin.
    let failed = harness.run(&payload, None).await;
    let puts_made = puts.load(Ordering::SeqCst);
    let early = harness.run(&payload, None).await;
    tokio::time::sleep(IN_FLIGHT_MARGIN + Duration::from_millis(200)).await;
    let again = harness.run(&payload, None).await;

    // Then: the SDK did not send the 500's put again; nobody read it back while it might
    // still land; the retry found its events in the stream and sent only the rest.
    assert_eq!(
        puts_made, 3,
        "a put answered 500 is never retried by the SDK"
    );
    assert_eq!(failed.failed_message_ids, vec!["m"]);
    let stopped = &failed.summary.objects[0];
    assert!(
        stopped.is_retryable() && stopped.forwarded > 0,
        "{stopped:?}"
    );
    assert_eq!(early.failed_message_ids, vec!["m"]);
    assert!(
        early.summary.objects[0]
            .error()
            .unwrap()
            .contains("outcome is unknown")
    );
    let resumed = &again.summary.objects[0];
    assert_eq!(resumed.resumed_at, Some(stopped.forwarded));
    assert!(resumed.found_delivered > 0, "{resumed:?}");
    assert_eq!(stopped.forwarded + resumed.forwarded, records.len() as u64);
    assert!(again.failed_message_ids.is_empty());
    assert_balanced(&again.summary);
    assert_member_stream(&harness, "444455556666", "us-east-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_put_is_retried_by_the_sdk() {
    // Given: the 3rd PutLogEvents throttled twice (nothing stored).
    let (rule, puts) = on_puts(|n| (3..5).contains(&n).then_some(Fault::Throttle));
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let harness = Harness::checkpointed(&endpoint, "put-throttled", &[]).await;
    let spec = member_spec(122, "444455556666", "us-west-2");
    let (key, size, records) = harness.put_trail_file(&spec, FOUR_BATCHES).await;

    let summary = harness.invoke(&[(key, size)]).await;

    assert!(summary.failed_objects == 0, "{summary:?}");
    assert!(
        puts.load(Ordering::SeqCst) >= 6,
        "the throttled attempts were retried"
    );
    assert_member_stream(&harness, "444455556666", "us-west-2", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_dying_while_its_put_is_in_flight_is_resumed_without_duplicates() {
    // Given: the 3rd PutLogEvents held by the proxy for a second, then let through to moto
    // whether or not anyone still waits for it.
    let (rule, puts) = on_puts(|n| (n == 3).then_some(Fault::Hold(Duration::from_secs(1))));
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let harness = Harness::checkpointed(&endpoint, "crash", &[]).await;
    let spec = member_spec(131, "777788889999", "eu-west-1");
    let (key, size, records) = harness.put_trail_file(&spec, FOUR_BATCHES).await;
    let payload = sqs_event(&[("m", s3_event(&harness.bucket, &[(key, size)]).to_string())]);

    // When: the invocation (deadline in 8 s) dies while its 3rd put is held.
    let end = InvocationEnd::after(Duration::from_secs(8));
    let run = harness.run(&payload, Some(end));
    let died = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => panic!("the invocation finished before its put was held"),
                () = tokio::time::sleep(Duration::from_millis(20)) => {
                    if puts.load(Ordering::SeqCst) >= 3 {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(died.is_ok(), "the third put never came");

    // A redelivery while the dead invocation's lease lasts is told to wait.
    let early = harness.run(&payload, None).await;
    assert_eq!(early.failed_message_ids, vec!["m"]);
    assert!(
        early.summary.objects[0]
            .error()
            .unwrap()
            .contains("another invocation")
    );

    // After its deadline and the in-flight margin, the redelivery resumes: the held put's
    // events are found in the stream, the rest sent.
    tokio::time::sleep_until(end.instant() + IN_FLIGHT_MARGIN + Duration::from_millis(200)).await;
    let resumed = harness.run(&payload, None).await;
    assert!(resumed.failed_message_ids.is_empty(), "{resumed:?}");
    let object = &resumed.summary.objects[0];
    assert!(object.resumed_at.unwrap() > 0, "{object:?}");
    assert!(object.found_delivered > 0, "{object:?}");
    assert_balanced(&resumed.summary);
    assert_member_stream(&harness, "777788889999", "eu-west-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_key_is_reported_and_not_forwarded_again() {
    let endpoint = support::moto().endpoint.clone();
    let harness = Harness::checkpointed(&endpoint, "rewritten", &[]).await;
    let spec = member_spec(141, "444455556666", "us-east-1");
    let (key, size, records) = harness.put_trail_file(&spec, 20_000).await;
    harness
        .run(&s3_event(&harness.bucket, &[(key.clone(), size)]), None)
        .await;

    // The same key written again with other records, notified with its new ETag.
    let mut other = member_spec(142, "444455556666", "us-east-1");
    other.delivery_millis = spec.delivery_millis;
    let mut body = Vec::new();
    trailwatch::generate::write_log_file(&other, 20_000, &mut body).unwrap();
    let (_, size) = harness.put(&key, body).await;
    let head = harness
        .s3
        .head_object()
        .bucket(&harness.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let e_tag = head.e_tag().unwrap().trim_matches('"').to_owned();
    let mut notification = s3_event(&harness.bucket, &[(key.clone(), size)]);
    notification["Records"][0]["s3"]["object"]["eTag"] = json!(e_tag);
    let report = harness.run(&notification, None).await;

    assert_eq!(report.summary.rewritten_objects, 1);
    let object = &report.summary.objects[0];
    assert!(
        object
            .skip_reason()
            .unwrap()
            .starts_with("rewritten: forwarded as ETag"),
        "{object:?}"
    );
    assert_member_stream(&harness, "444455556666", "us-east-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_fails_for_good_is_kept_in_the_dead_letter_queue_with_its_reason() {
    // Given: a real (moto) dead-letter queue, a good file and one that is not gzip.
    let endpoint = support::moto().endpoint.clone();
    let sqs = aws_sdk_sqs::Client::new(&support::sdk_config_for(&endpoint).await);
    let dlq = sqs
        .create_queue()
        .queue_name("trailwatch-dead-letters")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let harness = Harness::checkpointed(
        &endpoint,
        "dead-letters",
        &[("DEAD_LETTER_QUEUE_URL", &dlq)],
    )
    .await;
    let spec = member_spec(151, "444455556666", "us-east-1");
    let (good, good_size, records) = harness.put_trail_file(&spec, 20_000).await;
    let broken = member_spec(152, "777788889999", "eu-west-1").key();
    let (broken, broken_size) = harness.put(&broken, b"not gzip".to_vec()).await;
    let broken_body = s3_event(&harness.bucket, &[(broken.clone(), broken_size)]).to_string();
    let payload = sqs_event(&[
        (
            "good",
            s3_event(&harness.bucket, &[(good, good_size)]).to_string(),
        ),
        ("broken", broken_body.clone()),
    ]);

    // When
    let report = harness.run(&payload, None).await;

    // Then: both acknowledged; the broken one's body is in the dead-letter queue with why.
    assert!(report.failed_message_ids.is_empty());
    let received = sqs
        .receive_message()
        .queue_url(&dlq)
        .message_attribute_names("All")
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some(broken_body.as_str()));
    let attributes = messages[0].message_attributes().unwrap();
    let text = |name: &str| attributes[name].string_value().unwrap().to_owned();
    assert!(
        text("trailwatchReason").contains("not gzip"),
        "{attributes:?}"
    );
    assert_eq!(
        text("trailwatchObject"),
        format!("s3://{}/{broken}", harness.bucket)
    );
    assert_eq!(text("trailwatchMessageId"), "broken");
    assert_eq!(
        text("trailwatchDelivered"),
        "none of its records are in CloudWatch Logs (checkpoint)"
    );
    assert_member_stream(&harness, "444455556666", "us-east-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_write_throttled_past_the_sdk_retries_is_retried_never_dead_lettered() {
    // Given: the table throttles the 3rd PutItem (the first progress) and every SDK retry of
    // it (the tests' clients make 6 attempts), as DynamoDB does past a table's capacity.
    let writes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&writes);
    let rule: proxy::Rule = Arc::new(move |seen| {
        if !seen.target.ends_with("PutItem") {
            return None;
        }
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        (2..2 + 6).contains(&n).then_some(Fault::ThroughputExceeded)
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let sqs = aws_sdk_sqs::Client::new(&support::sdk_config_for(&support::moto().endpoint).await);
    let dlq = support::create_queue(&sqs, "trailwatch-throttled-table-dlq").await;
    let harness = Harness::checkpointed(
        &endpoint,
        "table-throttled",
        &[("DEAD_LETTER_QUEUE_URL", &dlq)],
    )
    .await;
    let spec = member_spec(161, "777788889999", "eu-west-1");
    let (key, size, records) = harness.put_trail_file(&spec, FOUR_BATCHES).await;
    let payload = sqs_event(&[("m", s3_event(&harness.bucket, &[(key, size)]).to_string())]);

    // When: the message fails, and comes back.
    let failed = harness.run(&payload, None).await;
    let again = harness.run(&payload, None).await;

    // Then: retried (not copied to the dead-letter queue), and every record once.
    assert_eq!(failed.failed_message_ids, vec!["m"]);
    let object = &failed.summary.objects[0];
    assert!(object.is_retryable(), "{object:?}");
    assert!(
        object
            .error()
            .unwrap()
            .contains("ProvisionedThroughputExceeded"),
        "{object:?}"
    );
    assert!(again.failed_message_ids.is_empty(), "{again:?}");
    let dead = sqs.receive_message().queue_url(&dlq).send().await.unwrap();
    assert!(dead.messages().is_empty(), "{dead:?}");
    assert_member_stream(&harness, "777788889999", "eu-west-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_object_keeps_its_message_hidden_while_it_is_read() {
    // Given: a queue hiding received messages for 2 s, and GetObject taking 4 s.
    let rule: proxy::Rule = Arc::new(|seen| {
        (seen.method == "GET" && seen.path.contains("/AWSLogs/"))
            .then_some(Fault::Delay(Duration::from_secs(4)))
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let mut harness = Harness::checkpointed(&endpoint, "visibility", &[]).await;
    harness.visibility.every = Duration::from_millis(500);
    let spec = member_spec(161, "444455556666", "us-east-1");
    let (key, size, records) = harness.put_trail_file(&spec, 20_000).await;
    let queue = harness
        .sqs
        .create_queue()
        .queue_name("trailwatch-visibility")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let body = s3_event(&harness.bucket, &[(key, size)]).to_string();
    harness
        .sqs
        .send_message()
        .queue_url(&queue)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let receive = || async {
        harness
            .sqs
            .receive_message()
            .queue_url(&queue)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    };
    let received = receive().await.pop().unwrap();
    let mut event = sqs_event(&[("m", body)]);
    event["Records"][0]["receiptHandle"] = json!(received.receipt_handle().unwrap());
    event["Records"][0]["eventSourceARN"] =
        json!("arn:aws:sqs:us-east-1:123456789012:trailwatch-visibility");
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        + 30_000;

    // When: the handler works on it, and another consumer polls the queue at 3 s.
    let handled = harness.invoke_handler_with(lambda_runtime::LambdaEvent::new(event, context));
    let polled = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        receive().await
    };
    let (answer, seen_by_other) = tokio::join!(handled, polled);

    // Then: hidden the whole time (past its own 2 s), and forwarded once.
    assert!(
        seen_by_other.is_empty(),
        "the message came back while it was read"
    );
    assert_eq!(answer.unwrap(), json!({"batchItemFailures": []}));
    assert_member_stream(&harness, "444455556666", "us-east-1", &records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_delivered_twice_and_a_message_retried_for_one_object_forward_once() {
    // Given: a real continuation queue, and CloudTrail's SNS notification naming two members'
    // files, the second of which S3 throttles on its first six reads (every attempt the
    // tests' SDK clients make of one call).
    let direct =
        aws_sdk_sqs::Client::new(&support::sdk_config_for(&support::moto().endpoint).await);
    let queue_url = direct
        .create_queue()
        .queue_name("trailwatch-continuations-twice")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let throttled_gets = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&throttled_gets);
    let rule: proxy::Rule = Arc::new(move |seen| {
        let second = seen.method == "GET" && seen.path.contains("777788889999_CloudTrail");
        (second && counter.fetch_add(1, Ordering::SeqCst) < 6).then_some(Fault::SlowDown)
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let harness = Harness::checkpointed(
        &endpoint,
        "continuations-twice",
        &[("CONTINUATION_QUEUE_URL", &queue_url)],
    )
    .await;
    let delivered = two_member_files(&harness, 171).await;
    let keys: Vec<&String> = delivered.objects.iter().map(|(key, _)| key).collect();
    let notification = json!({"Type": "Notification", "Message":
        json!({"s3Bucket": harness.bucket, "s3ObjectKey": keys}).to_string()})
    .to_string();
    let payload = sqs_event(&[("m", notification)]);

    // When: the first invocation is out of time (the first file hands off after a batch, the
    // second is handed off whole); each continuation message is then delivered twice.
    let first = harness
        .run(&payload, Some(InvocationEnd::after(Duration::ZERO)))
        .await;
    assert!(first.failed_message_ids.is_empty(), "{first:?}");
    let received = direct
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<(String, String)> = received
        .messages()
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("c{i}"), m.body().unwrap().to_owned()))
        .collect();
    assert_eq!(bodies.len(), 2);
    let refs: Vec<(&str, String)> = bodies
        .iter()
        .map(|(id, b)| (id.as_str(), b.clone()))
        .collect();
    let continuations = sqs_event(&refs);
    // Delivered until nothing is retried, then once more: copies only.
    let mut runs = Vec::new();
    for _ in 0..4 {
        let run = harness.run(&continuations, None).await;
        let retried = !run.failed_message_ids.is_empty();
        runs.push(run);
        if !retried {
            break;
        }
    }
    runs.push(harness.run(&continuations, None).await);

    // Then: the throttled file's continuation was retried alone, the copies were skipped,
    // every record once.
    assert!(throttled_gets.load(Ordering::SeqCst) >= 6);
    assert_eq!(runs[0].failed_message_ids.len(), 1, "{:?}", runs[0]);
    assert!(runs.len() >= 3, "a retry, then only copies");
    let last = runs.last().unwrap();
    assert!(last.failed_message_ids.is_empty(), "{last:?}");
    assert_eq!(last.summary.already_forwarded_objects, 2, "{last:?}");
    for run in &runs {
        assert_balanced(&run.summary);
    }
    assert_exactly_once(&harness, &delivered).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_continuation_skips_no_record() {
    // Given: a member's file that was never forwarded, and the checkpoint table.
    let harness = Harness::checkpointed(&support::moto().endpoint, "forged", &[]).await;
    let spec = member_spec(91, "444455556666", "eu-west-1");
    let (key, _, records) = harness.put_trail_file(&spec, 200_000).await;
    let past_half = records.len() as u64 / 2;
    assert!(past_half > 10, "{} records", records.len());
    // When: someone allowed to invoke the function sends our continuation's shape, with a
    // start past half the file, directly and again through the queue.
    let forged = json!({"trailwatchContinuation": {
        "bucket": harness.bucket, "key": key, "nextRecord": past_half}});
    let direct = harness.run(&forged, None).await;
    let queued = harness
        .run(&sqs_event(&[("m1", forged.to_string())]), None)
        .await;
    // Then: the file is read from its first record, every record once, and the second
    // message finds it forwarded.
    let object = &direct.summary.objects[0];
    assert_eq!(object.records, records.len() as u64, "{object:?}");
    assert_eq!(object.resumed_at, None, "{object:?}");
    assert_eq!(
        queued.summary.objects[0].checkpoint,
        Some(trailwatch::summary::CheckpointVerdict::AlreadyForwarded),
        "{:?}",
        queued.summary.objects[0]
    );
    let stream = "o-aa11bb22cc_444455556666_CloudTrail_eu-west-1";
    assert_eq!(harness.events(stream).await, expected(&records));
}
