//! A seeded soak of the forwarder as the template deploys it: an organization trail's files
//! (three member accounts × three regions) announced through an SQS queue with a dead-letter
//! queue after 5 receives, several invocations polled at once as Lambda's SQS integration polls
//! (small batches, a visibility timeout, invocations stopped at their deadline), the checkpoint
//! table, continuations to the same queue, and random faults at 10% of every call of every kind
//! at once: PutLogEvents throttled, answered 500, stored then answered 500, held past its call's
//! timeout and stored later; DynamoDB throttled (ProvisionedThroughputExceededException),
//! answered 500, applied then answered 500; S3 answered 503 or cut off mid-body; SQS sends
//! answered 500 or sent then answered 500; invocations killed mid-object; batches run by two
//! invocations at once; notifications sent twice. The SDK makes its default 3 attempts per
//! call, so some faults outlast its retries. Every record must be in CloudWatch Logs
//! exactly once, and the dead-letter queue empty.
//!
//! Knobs for longer runs: `TRAILWATCH_SOAK_SEEDS` (default `1,3`), `TRAILWATCH_SOAK_FILES`
//! (default 10), `TRAILWATCH_SOAK_ONLY` (faults only on calls whose name contains it, e.g.
//! `PutLogEvents`, `Item`, `GetObject`; `none` for kills and overlaps alone).

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};
use support::harness::*;
use support::proxy::{self, Fault, Seen};
use tokio::time::Instant;
use trailwatch::ForwarderConfig;
use trailwatch::generate::TrailSpec;
use trailwatch::ports::CheckpointStore;
use trailwatch::summary::ObjectStatus;

const FILES: u64 = 10;
const WORKERS: usize = 3;
/// Of every call the forwarder makes, this share meets a fault.
const FAULT_RATE: f64 = 0.10;
/// Of invocations, this share is killed at a random moment, and this share runs twice at once.
const KILL_RATE: f64 = 0.15;
const TWICE_RATE: f64 = 0.15;
/// Each invocation's time, stopped there as Lambda stops it: short, so that long files hand
/// off and late puts time out (a put gets at least 1 s).
const INVOCATION_TIME: Duration = Duration::from_secs(3);
/// Messages per invocation at most (small batches: more invocations, kills and overlaps).
const BATCH_SIZE: i32 = 2;
/// Longer than an invocation plus the in-flight margin, as the template's (6 × the timeout).
const VISIBILITY_SECONDS: i32 = 7;
/// A put held in flight lands this long after it was sent at most: within the margin.
const IN_FLIGHT_MARGIN_SECONDS: &str = "2";
const MAX_HOLD: Duration = Duration::from_millis(1_800);
const MAX_RECEIVES: u32 = 5;
/// Attempts per call, the SDK's default.
const SDK_ATTEMPTS: u32 = 3;
/// The soak gives up (and fails) after this long.
const SOAK_LIMIT: Duration = Duration::from_secs(55);
/// Dead-letter redrives at most, each followed by a drain.
const REDRIVES: usize = 3;

const ORGANIZATION: &str = "o-aa11bb22cc";
const MEMBERS: [&str; 3] = ["444455556666", "777788889999", "123456789012"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// Two seeds by default: between them every kind of fault is drawn, a put stored then
/// answered 500 and a put landing after its call timed out among them.
fn seeds() -> Vec<u64> {
    std::env::var("TRAILWATCH_SOAK_SEEDS")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1, 3])
}

fn files() -> u64 {
    std::env::var("TRAILWATCH_SOAK_FILES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(FILES)
}

/// What a soak injects: its faults, kills and overlaps.
#[derive(Clone, Copy)]
struct Mix {
    /// Of every call, this share meets a fault.
    fault_rate: f64,
    /// Only puts held past their call's timeout, and nothing else.
    sustained_timeouts: bool,
    kill_rate: f64,
    twice_rate: f64,
    /// The files' sizes, uncompressed, in turn.
    sizes: [u64; 3],
    /// Each invocation's time, and the queue's visibility timeout (longer).
    invocation_time: Duration,
    visibility_seconds: i32,
    /// Check each failed message against its invocation's progress, and redrive the
    /// dead-letter queue as an operator would once the queue drains (messages that made no
    /// progress in five receives are dead-lettered by design).
    progress_is_never_a_failure: bool,
}

/// Four large files: about as many bytes as the ten of the other soak, in longer objects.
const SUSTAINED_FILES: u64 = 4;

const EVERY_KIND: Mix = Mix {
    fault_rate: FAULT_RATE,
    sustained_timeouts: false,
    kill_rate: KILL_RATE,
    twice_rate: TWICE_RATE,
    sizes: [1_500_000, 3_000_000, 4_500_000],
    invocation_time: INVOCATION_TIME,
    visibility_seconds: VISIBILITY_SECONDS,
    progress_is_never_a_failure: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_files_under_ten_percent_faults_of_every_kind_arrive_exactly_once() {
    let only = std::env::var("TRAILWATCH_SOAK_ONLY").ok();
    let mut failures = Vec::new();
    for seed in seeds() {
        let outcome = soak(seed, files(), only.as_deref(), EVERY_KIND).await;
        eprintln!("soak seed {seed}: {outcome}");
        if !outcome.exactly_once() {
            failures.push(format!("seed {seed}: {outcome}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A fifth of all puts outlasting their call's timeout, stored later: each such put stops its
/// invocation's work on the object with a put of unknown outcome. An invocation that delivered
/// something must hand the rest off to a continuation delayed until that put can no longer
/// land, never report its message failed: progress is not a failed receive, so only receives
/// that made no progress count towards the dead-letter queue. Checked at every invocation; the
/// few messages that meet five receives without progress (five held puts in a row, or
/// invocations too slow on a loaded machine to deliver a batch) are dead-lettered by design and
/// redriven as an operator would, and then every record must be in CloudWatch Logs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn puts_outlasting_their_timeout_never_fail_a_message_that_made_progress() {
    // On the clock scripts/test moves with libfaketime every call is slower, and a 3-second
    // invocation beside a held put often cannot deliver a batch at all: those get twice the
    // time, so that most invocations still progress (the property needs some that do).
    let (invocation_time, visibility_seconds) = match std::env::var_os("FAKETIME") {
        Some(_) => (Duration::from_secs(6), 13),
        None => (INVOCATION_TIME, VISIBILITY_SECONDS),
    };
    let mix = Mix {
        fault_rate: 0.20,
        sustained_timeouts: true,
        kill_rate: 0.0,
        twice_rate: 0.0,
        // A dozen puts a file: some meet four timeouts or more, each after progress.
        sizes: [10_000_000, 12_000_000, 14_000_000],
        invocation_time,
        visibility_seconds,
        progress_is_never_a_failure: true,
    };
    let mut failures = Vec::new();
    for seed in seeds() {
        let outcome = soak(seed + 10, SUSTAINED_FILES, None, mix).await;
        eprintln!("sustained-timeout soak seed {}: {outcome}", seed + 10);
        let held = outcome
            .faults
            .get("PutLogEvents held past its timeout")
            .copied()
            .unwrap_or(0);
        // Without invocations that failed after progress the check above would prove nothing.
        if !outcome.exactly_once() || held == 0 || outcome.progressed_then_held == 0 {
            failures.push(format!("seed {}: {outcome}", seed + 10));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The faults the proxy injects, drawn from a seeded generator in call order.
struct Faults {
    mix: Mix,
    /// Only calls whose name contains this meet faults.
    only: Option<String>,
    rng: Mutex<fastrand::Rng>,
    injected: Mutex<BTreeMap<String, usize>>,
    calls: AtomicUsize,
}

impl Faults {
    fn decide(&self, seen: &Seen<'_>) -> Option<Fault> {
        let call = call_name(seen)?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self
            .only
            .as_deref()
            .is_some_and(|only| !call.contains(only))
        {
            return None;
        }
        if self.mix.sustained_timeouts && call != "PutLogEvents" {
            return None;
        }
        let mut rng = self.rng.lock().unwrap();
        if rng.f64() >= self.mix.fault_rate {
            return None;
        }
        let hold = Fault::Hold(Duration::from_millis(
            rng.u64(1_000..=MAX_HOLD.as_millis() as u64),
        ));
        let choices: &[Fault] = match call {
            "PutLogEvents" if self.mix.sustained_timeouts => &[hold],
            "PutLogEvents" => &[
                Fault::Throttle,
                Fault::ServerError,
                Fault::StoredThenServerError,
                hold,
            ],
            "GetItem" => &[Fault::ThroughputExceeded, Fault::ServerError],
            "PutItem" => &[
                Fault::ThroughputExceeded,
                Fault::ServerError,
                Fault::StoredThenServerError,
            ],
            "GetObject" => &[Fault::SlowDown, Fault::CutBody],
            "SendMessage" => &[Fault::ServerError, Fault::StoredThenServerError],
            _ => &[Fault::Throttle, Fault::ServerError],
        };
        let fault = choices[rng.usize(..choices.len())];
        let name = match fault {
            Fault::Hold(_) => format!("{call} held past its timeout"),
            other => format!("{call} {other:?}"),
        };
        *self.injected.lock().unwrap().entry(name).or_default() += 1;
        Some(fault)
    }
}

/// The call a request makes, for the calls the forwarder makes through the proxy.
fn call_name(seen: &Seen<'_>) -> Option<&'static str> {
    if seen.method == "GET" && seen.path.contains("/AWSLogs/") {
        return Some("GetObject");
    }
    let operation = seen.target.rsplit('.').next()?;
    [
        "PutLogEvents",
        "GetLogEvents",
        "CreateLogStream",
        "CreateLogGroup",
        "GetItem",
        "PutItem",
        "SendMessage",
    ]
    .into_iter()
    .find(|name| *name == operation)
}

/// What one soak saw.
struct Outcome {
    records: usize,
    /// Records not in CloudWatch Logs, there more than once, or there but in no file.
    missing: usize,
    duplicated: usize,
    unknown: usize,
    /// Messages in the dead-letter queue, and left in the delivery queue at the limit.
    dead_letters: Vec<Value>,
    left_in_queue: [u64; 3],
    invocations: usize,
    killed: usize,
    twice: usize,
    calls: usize,
    faults: BTreeMap<String, usize>,
    elapsed: Duration,
    /// Files whose checkpoint does not record them done, with the signed hash and every
    /// record counted once over the invocations (the provenance ledger).
    ledger_mismatches: Vec<String>,
    /// Objects an invocation forwarded records of and then met a retryable failure; of those,
    /// the ones whose message it reported failed (never allowed: progress hands off).
    progressed_then_held: usize,
    failed_after_progress: Vec<String>,
    /// Messages moved back from the dead-letter queue, as an operator redrives it.
    redriven: usize,
    /// Deletes whose receipt was stale (the message was received again, or dead-lettered,
    /// meanwhile), and invocations that ran over their time by more than a second.
    stale_deletes: usize,
    overran: usize,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults: usize = self.faults.values().sum();
        write!(
            f,
            "{} records: {} missing, {} duplicated, {} not from the files; {} dead letters {:?}; left in the queue {:?}; ledger mismatches {:?}; {} objects progressed then met a failure, {} messages failed after progress {:?}; {} redriven; {} stale deletes; {} invocations over time; {:.1} s; {} invocations ({} killed, {} run twice at once); {faults} faults in {} calls: {:?}",
            self.records,
            self.missing,
            self.duplicated,
            self.unknown,
            self.dead_letters.len(),
            self.dead_letters,
            self.left_in_queue,
            self.ledger_mismatches,
            self.progressed_then_held,
            self.failed_after_progress.len(),
            self.failed_after_progress,
            self.redriven,
            self.stale_deletes,
            self.overran,
            self.elapsed.as_secs_f64(),
            self.invocations,
            self.killed,
            self.twice,
            self.calls,
            self.faults
        )
    }
}

impl Outcome {
    fn exactly_once(&self) -> bool {
        self.missing + self.duplicated + self.unknown + self.dead_letters.len() == 0
            && self.left_in_queue == [0, 0, 0]
            && self.ledger_mismatches.is_empty()
            && self.failed_after_progress.is_empty()
    }
}

/// The queues and counters the workers share.
struct Soak {
    harness: Harness,
    mix: Mix,
    queue_url: String,
    finished: AtomicBool,
    busy: AtomicUsize,
    invocations: AtomicUsize,
    killed: AtomicUsize,
    twice: AtomicUsize,
    progressed_then_held: AtomicUsize,
    failed_after_progress: Mutex<Vec<String>>,
    stale_deletes: AtomicUsize,
    overran: AtomicUsize,
}

/// One soak at a time in this process: each is sized for the machine to itself (three
/// workers, 3-second invocations); two at once on two cores starve each other's invocations of
/// progress, which is a different test.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn soak(seed: u64, files: u64, only: Option<&str>, mix: Mix) -> Outcome {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let faults = Arc::new(Faults {
        mix,
        only: only.map(str::to_owned),
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        injected: Mutex::new(BTreeMap::new()),
        calls: AtomicUsize::new(0),
    });
    let rule_faults = Arc::clone(&faults);
    let endpoint = proxy::start(
        &support::moto().endpoint,
        Arc::new(move |seen| rule_faults.decide(seen)),
    )
    .await;
    let name = format!("soak-{seed}");
    let direct = support::sdk_config_for(&support::moto().endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&direct);
    let (queue_url, dead_letter_url) = queues(&sqs, &name, mix.visibility_seconds).await;
    let vars = [
        ("CONTINUATION_QUEUE_URL", queue_url.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dead_letter_url.as_str()),
        ("HANDOFF_MARGIN_SECONDS", "1"),
        ("IN_FLIGHT_MARGIN_SECONDS", IN_FLIGHT_MARGIN_SECONDS),
    ];
    let mut harness = Harness::checkpointed(&endpoint, &name, &vars).await;
    // The SDK's default of 3 attempts per call, as deployed: faults outlast the retries.
    let all_vars: HashMap<&str, &str> = [
        ("LOG_GROUP_NAME", harness.group.as_str()),
        ("CHECKPOINT_TABLE_NAME", harness.table.as_str()),
    ]
    .into_iter()
    .chain(vars)
    .collect();
    let config = ForwarderConfig::from_lookup(|name| all_vars.get(name).map(|v| v.to_string()));
    harness.forwarder = forwarder::build_forwarder(
        &support::sdk_config_with_attempts(&endpoint, SDK_ATTEMPTS).await,
        &config.unwrap(),
    );

    // Ten files of one to three batches over nine account-regions; three notified twice.
    let mut expected_streams: BTreeMap<String, BTreeSet<(i64, String)>> = BTreeMap::new();
    let mut records = 0;
    // Each file's key, record count and the hash its digest would record.
    let mut ledger: Vec<(String, u64, trailwatch::object::Sha256)> = Vec::new();
    for file in 0..files {
        let (account, region) = (MEMBERS[file as usize % 3], REGIONS[(file as usize / 3) % 3]);
        let mut spec = TrailSpec::recent(seed * 1_000 + file);
        spec.account_id = account.into();
        spec.region = region.into();
        spec.organization_id = Some(ORGANIZATION.into());
        let bytes = mix.sizes[file as usize % 3];
        let (key, size, written) = harness.put_trail_file(&spec, bytes).await;
        records += written.len();
        let stored = harness
            .s3
            .get_object()
            .bucket(&harness.bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let body = stored.body.collect().await.unwrap().into_bytes();
        let signed = trailwatch::digest::hash::hash_log_file(&body[..]).unwrap();
        ledger.push((key.clone(), written.len() as u64, signed));
        expected_streams
            .entry(format!("{ORGANIZATION}_{account}_CloudTrail_{region}"))
            .or_default()
            .extend(expected(&written));
        let body = s3_event(&harness.bucket, &[(key, size)]).to_string();
        for _ in 0..(1 + u64::from(file % 4 == 1)) {
            sqs.send_message()
                .queue_url(&queue_url)
                .message_body(&body)
                .send()
                .await
                .unwrap();
        }
    }

    let soak = Arc::new(Soak {
        harness,
        mix,
        queue_url: queue_url.clone(),
        finished: AtomicBool::new(false),
        busy: AtomicUsize::new(0),
        invocations: AtomicUsize::new(0),
        killed: AtomicUsize::new(0),
        twice: AtomicUsize::new(0),
        progressed_then_held: AtomicUsize::new(0),
        failed_after_progress: Mutex::new(Vec::new()),
        stale_deletes: AtomicUsize::new(0),
        overran: AtomicUsize::new(0),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|id| {
            let soak = Arc::clone(&soak);
            tokio::spawn(worker(soak, sqs.clone(), seed * 100 + id as u64))
        })
        .collect();
    let total: u64 = (0..files).map(|file| mix.sizes[file as usize % 3]).sum();
    let limit = SOAK_LIMIT * u32::try_from(total.div_ceil(20_000_000)).unwrap_or(1);
    let mut drained = wait_until_drained(&soak, &sqs, Instant::now() + limit).await;
    let mut redriven = 0;
    for _ in 0..REDRIVES * usize::from(mix.progress_is_never_a_failure) {
        let moved = redrive(&sqs, &dead_letter_url, &queue_url).await;
        if moved == 0 {
            break;
        }
        redriven += moved;
        drained = wait_until_drained(&soak, &sqs, Instant::now() + limit).await;
    }
    soak.finished.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }

    let left_in_queue = queue_counts(&sqs, &queue_url).await;
    if !drained {
        eprintln!("seed {seed}: the queue did not drain in {limit:?}");
    }
    let dead_letters = receive_all(&sqs, &dead_letter_url).await;
    let (mut missing, mut duplicated, mut unknown) = (0, 0, 0);
    for (stream, records) in &expected_streams {
        let events = support::stream_events(&soak.harness.logs, &soak.harness.group, stream).await;
        let found: BTreeSet<(i64, String)> = events.iter().cloned().collect();
        duplicated += events.len() - found.len();
        missing += records.difference(&found).count();
        unknown += found.difference(records).count();
    }
    let table = trailwatch::aws::checkpoints::DynamoCheckpoints {
        client: aws_sdk_dynamodb::Client::new(&direct),
        table_name: soak.harness.table.clone(),
    };
    let mut ledger_mismatches = Vec::new();
    for (key, written, signed) in &ledger {
        let found = table.load(&soak.harness.bucket, key).await.unwrap();
        let recorded = found.map(|stored| stored.checkpoint);
        let right = recorded.as_ref().is_some_and(|c| {
            let counts = c.ledger.counts;
            c.ledger.sha256() == Some(*signed)
                && counts.records == *written
                && counts.forwarded + counts.filtered + counts.rejected == *written
        });
        if !right {
            ledger_mismatches.push(format!("{key}: {written} records, {recorded:?}"));
        }
    }
    Outcome {
        ledger_mismatches,
        records,
        missing,
        duplicated,
        unknown,
        dead_letters,
        left_in_queue,
        invocations: soak.invocations.load(Ordering::SeqCst),
        killed: soak.killed.load(Ordering::SeqCst),
        twice: soak.twice.load(Ordering::SeqCst),
        progressed_then_held: soak.progressed_then_held.load(Ordering::SeqCst),
        failed_after_progress: soak.failed_after_progress.lock().unwrap().clone(),
        redriven,
        stale_deletes: soak.stale_deletes.load(Ordering::SeqCst),
        overran: soak.overran.load(Ordering::SeqCst),
        calls: faults.calls.load(Ordering::SeqCst),
        faults: faults.injected.lock().unwrap().clone(),
        elapsed: started.elapsed(),
    }
}

/// The delivery queue (its dead-letter queue after 5 receives), and that dead-letter queue.
async fn queues(sqs: &aws_sdk_sqs::Client, name: &str, visibility: i32) -> (String, String) {
    let dead_letter_url = support::create_queue(sqs, &format!("{name}-dlq")).await;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    let redrive = json!({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES}).to_string();
    let created = sqs
        .create_queue()
        .queue_name(format!("{name}-delivery"))
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap();
    (created.queue_url().unwrap().to_owned(), dead_letter_url)
}

/// Messages visible, in flight and delayed.
async fn queue_counts(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> [u64; 3] {
    let names = [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ];
    let answer = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .unwrap();
    let attributes = answer.attributes().cloned().unwrap_or_default();
    names.map(|name| {
        attributes
            .get(&name)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    })
}

/// Moves every message in the dead-letter queue back to the delivery queue (SQS's "Start DLQ
/// redrive", as README tells operators); how many.
async fn redrive(sqs: &aws_sdk_sqs::Client, dead_letter_url: &str, queue_url: &str) -> usize {
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(dead_letter_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return moved;
        }
        for message in received.messages() {
            sqs.send_message()
                .queue_url(queue_url)
                .message_body(message.body().unwrap())
                .send()
                .await
                .unwrap();
            sqs.delete_message()
                .queue_url(dead_letter_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            moved += 1;
        }
    }
}

async fn receive_all(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    received
        .messages()
        .iter()
        .map(|m| json!({"body": m.body(), "attributes": format!("{:?}", m.message_attributes())}))
        .collect()
}

/// Until the queue is empty twice in a row with no invocation running, or the limit.
async fn wait_until_drained(soak: &Soak, sqs: &aws_sdk_sqs::Client, limit: Instant) -> bool {
    let mut empty_checks = 0;
    while Instant::now() < limit {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let counts = queue_counts(sqs, &soak.queue_url).await;
        let idle = soak.busy.load(Ordering::SeqCst) == 0;
        empty_checks = if idle && counts == [0, 0, 0] {
            empty_checks + 1
        } else {
            0
        };
        if empty_checks == 2 {
            return true;
        }
    }
    false
}

/// Polls like Lambda's SQS integration: a few messages, one invocation each batch until its
/// deadline (or killed before), then deletes the messages it did not report failed.
async fn worker(soak: Arc<Soak>, sqs: aws_sdk_sqs::Client, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    while !soak.finished.load(Ordering::SeqCst) {
        soak.busy.fetch_add(1, Ordering::SeqCst);
        let received = sqs
            .receive_message()
            .queue_url(&soak.queue_url)
            .max_number_of_messages(BATCH_SIZE)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let messages = received.messages().to_vec();
        if messages.is_empty() {
            soak.busy.fetch_sub(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let payload = lambda_sqs_event(&messages);
        let end = InvocationEnd::after(soak.mix.invocation_time);
        let stop = if rng.f64() < soak.mix.kill_rate {
            soak.killed.fetch_add(1, Ordering::SeqCst);
            Instant::now() + Duration::from_millis(rng.u64(100..2_900))
        } else {
            end.instant()
        };
        let copies = if rng.f64() < soak.mix.twice_rate {
            soak.twice.fetch_add(1, Ordering::SeqCst);
            2
        } else {
            1
        };
        soak.invocations.fetch_add(copies, Ordering::SeqCst);
        let batch = rng.u64(..);
        let invoke = |copy: usize| {
            let owner = format!("soak-{seed}-{batch}-{copy}");
            let (soak, payload) = (Arc::clone(&soak), payload.clone());
            async move {
                // Lambda stops the invocation at its deadline (or it dies before).
                let handled = soak.harness.forwarder.handle(&payload, Some(end), &owner);
                tokio::time::timeout_at(stop, handled)
                    .await
                    .ok()
                    .map(Result::unwrap)
            }
        };
        let began = Instant::now();
        let runs = if copies == 2 {
            let (a, b) = tokio::join!(invoke(0), invoke(1));
            vec![a, b]
        } else {
            vec![invoke(0).await]
        };
        if began.elapsed() > soak.mix.invocation_time + Duration::from_secs(1) {
            soak.overran.fetch_add(1, Ordering::SeqCst);
        }
        if soak.mix.progress_is_never_a_failure {
            for report in runs.iter().flatten() {
                check_progress(&soak, &messages, report);
            }
        }
        for message in &messages {
            let id = message.message_id().unwrap();
            let done = runs
                .iter()
                .flatten()
                .any(|report| !report.failed_message_ids.iter().any(|f| f == id));
            if done {
                delete(&soak, &sqs, message).await;
            }
        }
        soak.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts the objects `report` forwarded records of before a retryable failure, and notes
/// those whose message it reported failed: progress must hand off, not count as a failed
/// receive. Each message here names one object, so the report's objects are the messages'.
fn check_progress(
    soak: &Soak,
    messages: &[aws_sdk_sqs::types::Message],
    report: &trailwatch::pipeline::InvocationReport,
) {
    let mut noted = soak.failed_after_progress.lock().unwrap();
    if report.summary.objects.len() != messages.len() {
        noted.push(format!(
            "{} objects reported for {} messages: cannot tell which made progress",
            report.summary.objects.len(),
            messages.len()
        ));
        return;
    }
    for (message, object) in messages.iter().zip(&report.summary.objects) {
        let retryable = matches!(
            object.status,
            ObjectStatus::Failed {
                retryable: true,
                ..
            }
        );
        if object.forwarded == 0 || !retryable {
            continue;
        }
        soak.progressed_then_held.fetch_add(1, Ordering::SeqCst);
        let id = message.message_id().unwrap();
        if report.failed_message_ids.iter().any(|failed| failed == id) {
            noted.push(format!(
                "{}: forwarded {} records from record {}, then its message was reported failed",
                object.key,
                object.forwarded,
                object.resumed_at.unwrap_or(0)
            ));
        }
    }
}

/// Deletes a message its invocation did not report failed. A stale receipt (the message was
/// received again, or dead-lettered, meanwhile) leaves it to the queue, as Lambda's poller.
async fn delete(soak: &Soak, sqs: &aws_sdk_sqs::Client, message: &aws_sdk_sqs::types::Message) {
    let deleted = sqs
        .delete_message()
        .queue_url(&soak.queue_url)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await;
    match deleted {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_receipt_handle_is_invalid()) =>
        {
            soak.stale_deletes.fetch_add(1, Ordering::SeqCst);
        }
        Err(error) => panic!("DeleteMessage: {error}"),
    }
}

/// The SQS event Lambda hands the function for these messages.
fn lambda_sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let receives = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
                .unwrap_or_else(|| "1".into());
            let mut attributes = HashMap::new();
            attributes.insert("ApproximateReceiveCount", receives);
            json!({"messageId": message.message_id(), "receiptHandle": message.receipt_handle(),
                   "body": message.body(), "attributes": attributes, "messageAttributes": {},
                   "md5OfBody": message.md5_of_body(), "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailwatch-delivery",
                   "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}
