//! The validator's invocation over in-memory ports, on the shape the template deploys: an
//! organization trail with two accounts and two regions (each region signing with its own
//! key), SQS batches that repeat a notification, two invocations at once, faults at every port,
//! and a seeded soak with random faults of every kind at once.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use flate2::read::GzDecoder;
use serde_json::{Value, json};

use super::*;
use crate::checkpoint::{Ledger, LedgerState, RecordCounts};
use crate::digest::fakes::{MemoryDirectory, MemoryKeys, MemoryQueue, MemoryRecords, MemoryStore};
use crate::digest::hash::hash_log_file;
use crate::digest::provenance::Recorded;
use crate::digest::signature::parse_public_key;
use crate::digest::store::{PublicKeys, TrailLocation};
use crate::digest::verdict::Status;
use crate::generate::signed::SignedTrail;
use crate::generate::{TrailSpec, gzip, write_log_file};
use crate::pipeline::fakes::MemorySink;

pub(super) const BUCKET: &str = "org-trail";
const ORG: &str = "o-aa11bb22cc";
pub(super) const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
pub(super) const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org";
/// 2026-11-24T00:00:00Z
pub(super) const T0: i64 = 1_795_478_400;
pub(super) const HOUR: i64 = 3600;
/// Past the hour's digest and the default grace of an hour.
pub(super) const NOW: i64 = T0 + 3 * HOUR;

pub(super) struct Fakes;

impl ValidatorPorts for Fakes {
    type Store = MemoryStore;
    type Keys = MemoryKeys;
    type Directory = MemoryDirectory;
    type Sink = MemorySink;
    type Ranges = MemoryQueue<(RangeKind, RangeRequest)>;
    type Records = MemoryRecords;
    type Repairs = MemoryQueue<String>;
}

/// One region's signer (its own key pair), for the organization's accounts.
fn signers() -> &'static [SignedTrail; 2] {
    static SIGNERS: OnceLock<[SignedTrail; 2]> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        REGIONS.map(|region| {
            let mut trail = SignedTrail::new(BUCKET, ACCOUNTS[0], region, "org", 11);
            trail.organization_id = Some(ORG.into());
            trail.home_region = "us-east-1".into();
            trail
        })
    })
}

/// One hour of the organization: in every account and region a log file and the digest that
/// signs it.
pub(super) struct Org {
    pub store: MemoryStore,
    /// (digest key, log file key, the log file's SHA-256), by (account, region).
    pub files: BTreeMap<(&'static str, &'static str), (String, String, crate::object::Sha256)>,
}

pub(super) fn org() -> Org {
    let mut store = MemoryStore::default();
    let mut files = BTreeMap::new();
    for (signer, region) in signers().iter().zip(REGIONS) {
        for (index, account) in ACCOUNTS.into_iter().enumerate() {
            let mut trail = signer.clone();
            trail.account_id = account.into();
            let mut spec = TrailSpec::recent(40 + index as u64);
            spec.account_id = account.into();
            spec.region = region.into();
            spec.organization_id = Some(ORG.into());
            spec.newest_event_millis = (T0 + 500) * 1000;
            spec.delivery_millis = (T0 + 600) * 1000;
            let mut body = Vec::new();
            write_log_file(&spec, 20, &mut body).unwrap();
            let mut inflated = Vec::new();
            GzDecoder::new(&body[..])
                .read_to_end(&mut inflated)
                .unwrap();
            let sha256 = hash_log_file(&body[..]).unwrap();
            let digest = trail.digest(T0, T0 + HOUR, &[(spec.key(), inflated)], None);
            store.objects.insert(spec.key(), (body, Vec::new()));
            store.put(&digest);
            files.insert((account, region), (digest.key, spec.key(), sha256));
        }
    }
    Org { store, files }
}

pub(super) fn validator(store: MemoryStore) -> Validator<Fakes> {
    let mut keys = MemoryKeys::default();
    for signer in signers() {
        let mut region_keys = PublicKeys {
            region: signer.region.clone(),
            ..PublicKeys::default()
        };
        let key = parse_public_key(&signer.public_key_der()).unwrap();
        region_keys
            .by_fingerprint
            .insert(signer.fingerprint.clone(), key);
        keys.by_region.insert(signer.region.clone(), region_keys);
    }
    Validator {
        store: Arc::new(store),
        keys: KeyCache::new(keys),
        directory: MemoryDirectory {
            location: TrailLocation {
                bucket: BUCKET.into(),
                prefix: None,
                organization_trail: true,
            },
            organization_id: ORG.into(),
        },
        sink: MemorySink::default(),
        log_group: Arc::from("/trailwatch/integrity"),
        fan_out: None,
        reconciler: None,
        audit: None,
    }
}

pub(super) fn reconciling(validator: &mut Validator<Fakes>, records: MemoryRecords) {
    validator.reconciler = Some(Reconciler {
        records,
        grace_seconds: HOUR,
        repairs: Some(MemoryQueue::default()),
    });
}

fn range() -> Value {
    json!({"validateRange": {"trailArn": TRAIL_ARN,
        "startTime": "2026-11-24T00:00:00Z", "endTime": "2026-11-24T01:00:00Z"}})
}

pub(super) fn sqs(bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": body.to_string()}))
        .collect();
    json!({ "Records": records })
}

pub(super) fn notification(key: &str) -> Value {
    json!({"s3Bucket": BUCKET, "s3ObjectKey": [key]})
}

/// The events written, as JSON, by stream.
fn written(validator: &Validator<Fakes>) -> BTreeMap<String, Vec<Value>> {
    let mut by_stream: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (destination, event) in validator.sink.events.lock().unwrap().iter() {
        let value = serde_json::from_str(&event.message).unwrap();
        by_stream
            .entry(destination.log_stream.to_string())
            .or_default()
            .push(value);
    }
    by_stream
}

pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn a_range_over_an_organization_validates_every_account_and_region_with_its_own_key() {
    let validator = validator(org().store);
    let outcome = block_on(validator.handle(&range(), NOW)).unwrap();
    assert_eq!(outcome.checked.len(), 4);
    let counts = outcome.counts();
    assert_eq!((counts.digests_valid, counts.log_files_valid), (4, 4));
    assert_eq!(counts.digests_invalid + counts.log_files_invalid, 0);
    let streams = written(&validator);
    let expected: Vec<String> = ACCOUNTS
        .iter()
        .flat_map(|account| {
            REGIONS.map(|region| format!("{account}_CloudTrail-Digest_{region}_org"))
        })
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(streams.keys().cloned().collect::<Vec<_>>(), expected);
    for events in streams.values() {
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            events.iter().all(|e| e["valid"] == json!(true)),
            "{events:?}"
        );
    }
    let answer = outcome.answer(NOW).unwrap();
    assert_eq!(answer["validated"].as_array().unwrap().len(), 4);
    assert_eq!(answer["invalid"], json!([]));
}

#[test]
fn a_fanned_out_range_is_one_message_per_account_and_region_and_each_validates_its_part() {
    // Given: the digest queue.
    let mut validator = validator(org().store);
    validator.fan_out = Some(MemoryQueue::default());
    // When: the schedule's range.
    let outcome = block_on(validator.handle(&range(), NOW)).unwrap();
    // Then: four messages, nothing validated yet.
    assert_eq!((outcome.fanned_out, outcome.checked.len()), (4, 0));
    assert!(written(&validator).is_empty());
    let sent = validator
        .fan_out
        .as_ref()
        .unwrap()
        .sent
        .lock()
        .unwrap()
        .clone();
    assert!(sent.iter().all(|(kind, _)| *kind == RangeKind::Validate));
    let bodies: Vec<Value> = sent
        .iter()
        .map(|(_, r)| json!({"validateRange": r}))
        .collect();
    // When: the four arrive in one SQS batch, one of them twice (SQS delivers at least once).
    let mut batch = bodies.clone();
    batch.push(bodies[0].clone());
    let outcome = block_on(validator.handle(&sqs(&batch), NOW)).unwrap();
    // Then: each part is validated alone (the fan-out does not fan out again).
    assert_eq!((outcome.fanned_out, outcome.checked.len()), (0, 5));
    let mut parts: Vec<(String, String)> = outcome
        .checked
        .iter()
        .map(|c| {
            let trail = &c.validated.scope.trail;
            (trail.account_id.clone(), trail.source_region.clone())
        })
        .collect();
    parts.sort();
    parts.dedup();
    assert_eq!(parts.len(), 4, "{parts:?}");
    assert_eq!(outcome.counts().log_files_valid, 5);
}

#[test]
fn the_same_digest_twice_and_two_invocations_at_once_give_the_same_verdicts() {
    let org = org();
    let (digest, ..) = &org.files[&(ACCOUNTS[1], REGIONS[1])];
    let validator = validator(org.store.clone());
    let twice = sqs(&[notification(digest), notification(digest)]);
    let (first, second) = block_on(async {
        tokio::join!(validator.handle(&twice, NOW), validator.handle(&twice, NOW))
    });
    for outcome in [first.unwrap(), second.unwrap()] {
        assert_eq!(outcome.checked.len(), 2);
        assert_eq!(outcome.counts().log_files_valid, 2);
    }
    let streams = written(&validator);
    let events = &streams[&format!("{}_CloudTrail-Digest_{}_org", ACCOUNTS[1], REGIONS[1])];
    // Four validations of one digest and its one log file: the same two verdicts each time.
    assert_eq!(events.len(), 8);
    let mut distinct: Vec<String> = events.iter().map(Value::to_string).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "{distinct:?}");
}

fn forwarded(sha256: &crate::object::Sha256) -> Recorded {
    Recorded::Ledger(Ledger {
        next_record: 20,
        counts: RecordCounts {
            records: 20,
            forwarded: 20,
            filtered: 0,
            rejected: 0,
        },
        state: LedgerState::Done {
            sha256: Some(*sha256),
        },
    })
}

#[test]
fn each_validation_carries_its_own_reconciliation_and_repairs() {
    // Given: two digests in one batch, of other accounts and regions; the forwarder recorded
    // the first digest's log file as signed and has no record of the second's.
    let org = org();
    let (east_digest, east_log, east_sha) = &org.files[&(ACCOUNTS[0], REGIONS[0])];
    let (west_digest, west_log, _) = &org.files[&(ACCOUNTS[1], REGIONS[1])];
    let mut validator = validator(org.store.clone());
    let ledgers = BTreeMap::from([(east_log.clone(), forwarded(east_sha))]);
    reconciling(
        &mut validator,
        MemoryRecords {
            ledgers,
            unreadable: false,
        },
    );
    // When: the file not forwarded comes first in the batch.
    let payload = sqs(&[notification(west_digest), notification(east_digest)]);
    let outcome = block_on(validator.handle(&payload, NOW)).unwrap();
    // Then: each validation has its own reconciliation and repairs.
    let by_account: BTreeMap<&str, &Checked> = outcome
        .checked
        .iter()
        .map(|c| (c.validated.scope.trail.account_id.as_str(), c))
        .collect();
    let west = by_account[ACCOUNTS[1]].counts().forwarding.unwrap();
    let east = by_account[ACCOUNTS[0]].counts().forwarding.unwrap();
    assert_eq!((west.log_files_not_forwarded, west.repairs_sent), (1, 1));
    assert_eq!((east.log_files_forwarded, east.repairs_sent), (1, 0));
    let repairs = validator
        .reconciler
        .as_ref()
        .unwrap()
        .repairs
        .as_ref()
        .unwrap();
    let sent = repairs.sent.lock().unwrap().clone();
    assert_eq!(sent, vec![notification(west_log).to_string()]);
    // The part's metric names its account and region; the totals add up.
    let lines = outcome.metric_lines("trailwatch", "validator", NOW);
    let parts: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["Account"], json!(ACCOUNTS[1]));
    assert_eq!(parts[0]["Region"], json!(REGIONS[1]));
    assert_eq!(parts[0]["LogFilesNotForwarded"], json!(1));
    assert_eq!(parts[1]["LogFilesNotForwarded"], json!(1));
    let answer = outcome.answer(NOW).unwrap();
    assert_eq!(answer["counts"]["repairsSent"], json!(1));
    let invalid = answer["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(invalid[0].as_str().unwrap().starts_with("Not forwarded\t"));
}

#[test]
fn a_message_that_names_nothing_is_counted_and_the_others_are_validated() {
    let org = org();
    let (digest, log, _) = &org.files[&(ACCOUNTS[0], REGIONS[1])];
    let validator = validator(org.store.clone());
    let payload = sqs(&[
        json!({"hello": "not a notification"}),
        notification(log),
        notification(digest),
    ]);
    let outcome = block_on(validator.handle(&payload, NOW)).unwrap();
    // The log file is not a digest: skipped, not unreadable.
    assert_eq!((outcome.unreadable, outcome.checked.len()), (1, 1));
    let lines = outcome.metric_lines("trailwatch", "validator", NOW);
    let totals: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(totals["MessagesUnreadable"], json!(1));
    assert_eq!(totals["DigestsValid"], json!(1));
    assert_eq!(outcome.answer(NOW).unwrap()["unreadableMessages"], json!(1));
}

#[test]
fn an_unreadable_table_is_not_checked_and_the_invocation_runs_again() {
    let org = org();
    let (digest, ..) = &org.files[&(ACCOUNTS[1], REGIONS[0])];
    let mut validator = validator(org.store.clone());
    reconciling(
        &mut validator,
        MemoryRecords {
            ledgers: BTreeMap::new(),
            unreadable: true,
        },
    );
    let outcome = block_on(validator.handle(&notification(digest), NOW)).unwrap();
    // The S3 verdicts stand and are written; the reconciliation says NOT CHECKED.
    let events: Vec<Value> = written(&validator).into_values().flatten().collect();
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["valid", "valid", "notChecked"]);
    assert!(
        outcome.checked[0].reconciled.as_ref().unwrap().repairs_sent == 0,
        "no repair for what could not be read"
    );
    let error = outcome.answer(NOW).unwrap_err();
    assert!(
        matches!(error, InvocationError::Incomplete { incomplete: 1 }),
        "{error}"
    );
}

#[test]
fn a_failed_write_fails_the_invocation() {
    let mut validator = validator(org().store);
    validator.sink = MemorySink::failing_after(1, true);
    let error = match block_on(validator.handle(&range(), NOW)) {
        Ok(_) => panic!("the writes failed"),
        Err(error) => error,
    };
    assert!(matches!(error, InvocationError::Verdicts(_)), "{error}");
    assert!(
        error.to_string().starts_with("writing verdicts: "),
        "{error}"
    );
}

#[test]
fn late_digests_are_one_event_and_one_metric_per_account_and_region() {
    let validator = validator(org().store);
    let check = json!({"checkDigestsLate": {"trailArn": TRAIL_ARN}});
    let outcome = block_on(validator.handle(&check, NOW)).unwrap();
    assert_eq!((outcome.lateness.len(), outcome.late().count()), (4, 4));
    let events: Vec<Value> = written(&validator).into_values().flatten().collect();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e["subject"] == json!("digests")));
    let lines = outcome.metric_lines("trailwatch", "validator", NOW);
    assert_eq!(lines.len(), 5);
    let totals: Value = serde_json::from_str(&lines[4]).unwrap();
    assert_eq!(totals["DigestsLate"], json!(4));
    // Within the interval and its margin, nothing is late.
    let outcome = block_on(validator.handle(&check, T0 + HOUR + 600)).unwrap();
    assert_eq!((outcome.lateness.len(), outcome.late().count()), (4, 0));
}

/// Seeded soak: random faults of every kind at once (log files unreadable or tampered, ledgers
/// missing or of other content, the table unreadable, the repair queue down, a notification
/// repeated), and the promises checked on every file: never valid for what was not checked,
/// never invalid for what could not be read, a repair only for a file with no record.
#[test]
fn a_seeded_soak_with_random_faults_keeps_every_verdict_true() {
    let base = org();
    for seed in 0..24 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut store = base.store.clone();
        let mut ledgers = BTreeMap::new();
        let mut expected = BTreeMap::new();
        let mut bodies = Vec::new();
        for (digest, log, sha256) in base.files.values() {
            let (unreadable, tampered) = (rng.u8(..4) == 0, rng.u8(..4) == 0);
            if unreadable {
                store.unreadable.insert(log.clone());
            } else if tampered {
                store.objects.get_mut(log).unwrap().0 = gzip(b"{\"Records\":[]}");
            }
            let record = match rng.u8(..3) {
                0 => None,
                1 => Some(forwarded(sha256)),
                _ => Some(forwarded(&crate::object::Sha256::from_bytes([7; 32]))),
            };
            if let Some(record) = &record {
                ledgers.insert(log.clone(), record.clone());
            }
            expected.insert(log.clone(), (unreadable, tampered && !unreadable, record));
            bodies.push(notification(digest));
            if rng.u8(..4) == 0 {
                bodies.push(notification(digest));
            }
        }
        let table_down = rng.u8(..5) == 0;
        let mut validator = validator(store);
        validator.reconciler = Some(Reconciler {
            records: MemoryRecords {
                ledgers,
                unreadable: table_down,
            },
            grace_seconds: HOUR,
            repairs: Some(MemoryQueue {
                failing: rng.u8(..4) == 0,
                ..MemoryQueue::default()
            }),
        });
        let outcome = block_on(validator.handle(&sqs(&bodies), NOW)).unwrap();
        assert_eq!(outcome.checked.len(), bodies.len(), "seed {seed}");
        let mut incomplete = false;
        for checked in &outcome.checked {
            for verdict in &checked.validated.report.verdicts {
                let Some((unreadable, tampered, _)) = expected.get(&verdict.key) else {
                    assert!(verdict.status.is_valid(), "seed {seed}: {verdict}");
                    continue;
                };
                let status = &verdict.status;
                match (unreadable, tampered) {
                    (true, _) => assert!(status.is_not_checked(), "seed {seed}: {verdict}"),
                    (false, true) => assert!(status.is_invalid(), "seed {seed}: {verdict}"),
                    (false, false) => assert!(status.is_valid(), "seed {seed}: {verdict}"),
                }
                incomplete |= *unreadable;
            }
            for verdict in &checked.reconciled.as_ref().unwrap().verdicts {
                let (_, _, record) = &expected[&verdict.key];
                let code = verdict.forwarding.code();
                let want = match (table_down, record) {
                    (true, _) => "notChecked",
                    (false, None) => "notForwarded",
                    (false, Some(Recorded::Ledger(ledger)))
                        if ledger == &ledger_of(&base, &verdict.key) =>
                    {
                        "forwarded"
                    }
                    (false, Some(_)) => "forwardedDiffers",
                };
                assert_eq!(code, want, "seed {seed}: {verdict}");
                incomplete |= table_down;
            }
        }
        let repairs = validator
            .reconciler
            .as_ref()
            .unwrap()
            .repairs
            .as_ref()
            .unwrap();
        for body in repairs.sent.lock().unwrap().iter() {
            let key = serde_json::from_str::<Value>(body).unwrap()["s3ObjectKey"][0]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                expected[&key].2.is_none() && !table_down,
                "seed {seed}: {key}"
            );
        }
        assert_eq!(outcome.answer(NOW).is_err(), incomplete, "seed {seed}");
    }
}

/// The ledger of a file forwarded as signed.
fn ledger_of(org: &Org, key: &str) -> Ledger {
    let sha256 = org.files.values().find(|(_, log, _)| log == key).unwrap().2;
    match forwarded(&sha256) {
        Recorded::Ledger(ledger) => ledger,
        _ => unreachable!(),
    }
}

#[test]
fn a_delivered_backfill_digest_is_validated_and_counted() {
    // Given: a backfill digest for the first member's hour in us-east-1, vouching for a file
    // the hourly digest missed; and a second one whose signature was replaced.
    let org = org();
    let mut store = org.store.clone();
    let mut trail = signers()[0].clone();
    trail.account_id = ACCOUNTS[0].into();
    let valid = trail.backfill_digest(T0, T0 + HOUR, &[], T0 + 2 * HOUR);
    let mut forged = signers()[1].clone();
    forged.account_id = ACCOUNTS[1].into();
    let mut forged = forged.backfill_digest(T0, T0 + HOUR, &[], T0 + 2 * HOUR);
    forged.metadata[0].1 = "00".repeat(256);
    store.put(&valid);
    store.put(&forged);
    let validator = validator(store);
    // When: both are delivered.
    let payload = sqs(&[notification(&valid.key), notification(&forged.key)]);
    let outcome = block_on(validator.handle(&payload, NOW)).unwrap();
    // Then: each is validated with its hour, and counted in the metrics.
    let counts = outcome.counts();
    assert_eq!(
        (
            counts.backfill_digests_valid,
            counts.backfill_digests_invalid
        ),
        (1, 1),
        "{counts:?}"
    );
    let lines = outcome.metric_lines("trailwatch", "validator", NOW);
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let part = lines
        .iter()
        .find(|l| l.get("BackfillDigestsInvalid").is_some() && l.get("Account").is_some())
        .expect("a part line for the forged backfill digest");
    assert_eq!(part["Account"], json!(ACCOUNTS[1]));
    assert_eq!(lines.last().unwrap()["BackfillDigestsInvalid"], json!(1));
    let answer = outcome.answer(NOW).unwrap();
    let invalid = answer["invalid"].as_array().unwrap();
    assert!(
        invalid.iter().any(|line| line
            .as_str()
            .unwrap()
            .starts_with("(backfill) Digest file\t")),
        "{invalid:?}"
    );
}

const GROUP: &str = "/trailwatch/cloudtrail";

/// The forwarder's placement of the organization's records (one group).
fn audit_settings() -> crate::audit::AuditSettings {
    let config = crate::config::ForwarderConfig::from_lookup(|name| {
        (name == "LOG_GROUP_NAME").then(|| GROUP.to_owned())
    })
    .unwrap();
    crate::audit::AuditSettings {
        routes: Arc::new(config.routes),
        allowed_accounts: config.allowed_accounts,
        max_decompressed_bytes: config.max_decompressed_bytes,
        delivery_delay_seconds: 1800,
    }
}

/// Puts every file of `org` into `sink` as the forwarder does.
fn forward(org: &Org, sink: &MemorySink) {
    let routes = audit_settings().routes;
    for (_, log, _) in org.files.values() {
        sink.store_as_forwarded(log, &org.store.objects[log].0, &routes);
    }
}

fn audit_range() -> Value {
    json!({"auditLogs": {"trailArn": TRAIL_ARN,
        "startTime": "2026-11-24T00:00:00Z", "endTime": "2026-11-24T01:00:00Z"}})
}

#[test]
fn an_audit_request_audits_every_account_and_region_and_counts_what_it_finds() {
    // Given: the organization's four files forwarded, then one event put into the stream of
    // the second member in eu-west-1.
    let org = org();
    let mut validator = validator(org.store.clone());
    validator.audit = Some(audit_settings());
    forward(&org, &validator.sink);
    let stream = {
        let events = validator.sink.events.lock().unwrap();
        let found = events.iter().map(|(d, _)| d.clone());
        let mut found = found
            .filter(|d| d.log_stream.contains(ACCOUNTS[1]) && d.log_stream.ends_with(REGIONS[1]));
        found.next().unwrap()
    };
    let fake = crate::logs::LogEvent {
        timestamp: (T0 + 700) * 1000,
        message: r#"{"eventID":"fa4e","eventName":"DeleteTrail"}"#.into(),
        record_index: 0,
    };
    validator.sink.events.lock().unwrap().push((stream, fake));
    // When
    let outcome = block_on(validator.handle(&audit_range(), NOW)).unwrap();
    // Then: four audits; the one part names the event; the metrics and answer count it.
    assert_eq!((outcome.audits.len(), outcome.checked.len()), (4, 4));
    let unsigned: Vec<String> = outcome
        .audits
        .iter()
        .flat_map(|a| a.findings.iter().map(ToString::to_string))
        .collect();
    assert_eq!(unsigned.len(), 1, "{unsigned:?}");
    assert!(unsigned[0].starts_with("Unsigned\t"), "{unsigned:?}");
    assert!(unsigned[0].contains("(eventID fa4e)"), "{unsigned:?}");
    for audit in &outcome.audits {
        assert_eq!(
            audit.exactly_once,
            audit.signed_events,
            "{}",
            audit.summary()
        );
        assert!(audit.signed_events > 0);
    }
    let lines = outcome.metric_lines("trailwatch", "validator", NOW);
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let totals = lines.last().unwrap();
    assert_eq!(
        (
            &totals["EventsUnsigned"],
            &totals["RecordsMissing"],
            &totals["AuditIncomplete"]
        ),
        (&json!(1), &json!(0), &json!(0))
    );
    let part = lines
        .iter()
        .find(|l| l.get("EventsUnsigned").is_some() && l.get("Account").is_some())
        .unwrap();
    assert_eq!(
        (&part["Account"], &part["Region"]),
        (&json!(ACCOUNTS[1]), &json!(REGIONS[1]))
    );
    // The finding and each part's summary are integrity events of their part's stream.
    let written = written(&validator);
    let audit_events: Vec<&Value> = written
        .values()
        .flatten()
        .filter(|e| e["subject"] == json!("audit"))
        .collect();
    assert_eq!(audit_events.len(), 5, "{audit_events:?}");
    let answer = outcome.answer(NOW).unwrap();
    assert_eq!(answer["audits"].as_array().unwrap().len(), 4);
}

#[test]
fn an_audit_request_fans_out_as_audits_and_needs_the_forwarders_configuration() {
    let mut validator = validator(org().store);
    validator.fan_out = Some(MemoryQueue::default());
    // Without the forwarder's configuration: said, not guessed.
    let error = block_on(validator.handle(&audit_range(), NOW))
        .unwrap()
        .answer(NOW)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("auditLogs needs the forwarder's configuration"),
        "{error}"
    );
    validator.audit = Some(audit_settings());
    let outcome = block_on(validator.handle(&audit_range(), NOW)).unwrap();
    assert_eq!(outcome.fanned_out, 4);
    let sent = validator
        .fan_out
        .as_ref()
        .unwrap()
        .sent
        .lock()
        .unwrap()
        .clone();
    assert!(
        sent.iter().all(|(kind, _)| *kind == RangeKind::Audit),
        "{sent:?}"
    );
    // Each message comes back as an audit of its part.
    let bodies: Vec<Value> = sent.iter().map(|(_, r)| json!({"auditLogs": r})).collect();
    let outcome = block_on(validator.handle(&sqs(&bodies), NOW)).unwrap();
    assert_eq!((outcome.fanned_out, outcome.audits.len()), (0, 4));
}

#[test]
fn log_files_in_a_region_without_any_digest_are_listed_in_no_digest_once_per_range() {
    // Given: a file planted in the first member's ap-south-1 folder, where the trail never
    // delivered a digest; and the digest queue, so the range fans out.
    let org = org();
    let mut store = org.store.clone();
    let mut spec = TrailSpec::recent(77);
    spec.account_id = ACCOUNTS[0].into();
    spec.region = "ap-south-1".into();
    spec.organization_id = Some(ORG.into());
    spec.delivery_millis = (T0 + 600) * 1000;
    let mut body = Vec::new();
    write_log_file(&spec, 2_000, &mut body).unwrap();
    store.objects.insert(spec.key(), (body, Vec::new()));
    let mut validator = validator(store);
    validator.fan_out = Some(MemoryQueue::default());
    // When
    let outcome = block_on(validator.handle(&range(), NOW)).unwrap();
    // Then: the four digested parts go out as messages; the planted file is reported here,
    // once, as listed in no digest, in its own account's and region's stream.
    assert_eq!(outcome.fanned_out, 4);
    assert_eq!(outcome.checked.len(), 1);
    let report = &outcome.checked[0].validated.report;
    let statuses: Vec<(&str, &Status)> = report
        .verdicts
        .iter()
        .map(|v| (v.key.as_str(), &v.status))
        .collect();
    assert_eq!(statuses, [(spec.key().as_str(), &Status::Unreferenced)]);
    assert_eq!(outcome.counts().log_files_unreferenced, 1);
    assert!(
        written(&validator)
            .contains_key(&format!("{}_CloudTrail-Digest_ap-south-1_org", ACCOUNTS[0]))
    );
    // A part's own message (it names its region) does not report it again.
    let sent = validator
        .fan_out
        .as_ref()
        .unwrap()
        .sent
        .lock()
        .unwrap()
        .clone();
    let bodies: Vec<Value> = sent
        .iter()
        .map(|(_, r)| json!({"validateRange": r}))
        .collect();
    let parts = block_on(validator.handle(&sqs(&bodies), NOW)).unwrap();
    assert_eq!(parts.counts().log_files_unreferenced, 0);
}
