//! The chain walk against an in-memory store, one test per tamper scenario.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;

use flate2::read::GzDecoder;

use std::sync::Arc;

use super::chain::{ChainEvent, walk};
use super::fakes::{MemoryRecords, MemoryStore};
use super::locate::{Scope, TrailDigests};
use super::signature::parse_public_key;
use super::store::PublicKeys;
use super::validate::validate_range;
use super::verdict::{Status, Subject};
use crate::generate::signed::SignedTrail;

const BUCKET: &str = "trail-bucket";
/// 2026-11-24T00:00:00Z
const T0: i64 = 1_795_478_400;
const HOUR: i64 = 3600;

fn trail() -> &'static SignedTrail {
    static TRAIL: OnceLock<SignedTrail> = OnceLock::new();
    TRAIL.get_or_init(|| SignedTrail::new(BUCKET, "111122223333", "us-east-1", "audit", 7))
}

fn keys() -> PublicKeys {
    let mut keys = PublicKeys {
        region: "us-east-1".into(),
        ..PublicKeys::default()
    };
    keys.by_fingerprint.insert(
        trail().fingerprint.clone(),
        parse_public_key(&trail().public_key_der()).unwrap(),
    );
    keys
}

/// The trail's digests in BUCKET over `[T0, T0 + hours]`.
fn scope(hours: i64) -> Scope {
    Scope {
        trail: trail_digests(),
        bucket: BUCKET.into(),
        start: T0,
        end: T0 + hours * HOUR,
    }
}

fn trail_digests() -> TrailDigests {
    TrailDigests {
        prefix: None,
        organization_id: None,
        account_id: "111122223333".into(),
        source_region: "us-east-1".into(),
        home_region: "us-east-1".into(),
        trail_name: "audit".into(),
    }
}

/// A chain of `hours` hourly digests from T0, the first a starting digest; returns the store
/// and the digest keys, oldest first.
fn chain(hours: i64, starting_at: &[i64]) -> (MemoryStore, Vec<String>) {
    let trail = trail();
    let mut store = MemoryStore::default();
    let mut keys = Vec::new();
    let mut previous = None;
    for hour in 0..hours {
        let (start, end) = (T0 + hour * HOUR, T0 + (hour + 1) * HOUR);
        if starting_at.contains(&hour) {
            previous = None;
        }
        let digest = trail.digest(start, end, &[], previous.as_ref());
        let mut inflated = Vec::new();
        GzDecoder::new(&digest.body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        previous = Some(trail.link(&digest, &inflated));
        store.put(&digest);
        keys.push(digest.key);
    }
    (store, keys)
}

async fn statuses(store: &MemoryStore) -> Vec<(String, Status)> {
    let events = walk(store, &keys(), &scope(10)).await.unwrap();
    events
        .into_iter()
        .filter_map(|event| match event {
            ChainEvent::Digest(verdict, _) => Some((verdict.key, verdict.status)),
            ChainEvent::Gap { .. } | ChainEvent::Unverified(_) | ChainEvent::Unread { .. } => None,
        })
        .collect()
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn an_untouched_chain_is_valid_newest_first() {
    let (store, keys) = chain(3, &[0]);
    let found = run(statuses(&store));
    let expected: Vec<(String, Status)> = keys
        .iter()
        .rev()
        .map(|k| (k.clone(), Status::Valid))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn a_modified_digest_fails_its_signature() {
    let (mut store, keys) = chain(3, &[0]);
    let (body, metadata) = store.objects.get(&keys[1]).unwrap().clone();
    let mut inflated = Vec::new();
    GzDecoder::new(&body[..])
        .read_to_end(&mut inflated)
        .unwrap();
    let tampered = String::from_utf8(inflated)
        .unwrap()
        .replace("\"logFiles\":[]", "\"logFiles\":[] ");
    store.objects.insert(
        keys[1].clone(),
        (crate::generate::signed::gzip(tampered.as_bytes()), metadata),
    );
    let found = run(statuses(&store));
    assert_eq!(found[1], (keys[1].clone(), Status::SignatureFailed));
    assert_eq!(found[0].1, Status::Valid);
    assert_eq!(
        found[2].1,
        Status::Valid,
        "the walk goes on with the next older digest"
    );
}

#[test]
fn a_replaced_signature_fails() {
    let (mut store, keys) = chain(2, &[0]);
    let entry = store.objects.get_mut(&keys[1]).unwrap();
    entry.1[0].1 = "00".repeat(256);
    assert_eq!(
        run(statuses(&store))[0],
        (keys[1].clone(), Status::SignatureFailed)
    );
}

#[test]
fn a_missing_signature_fails_too() {
    let (mut store, keys) = chain(1, &[0]);
    store.objects.get_mut(&keys[0]).unwrap().1.clear();
    assert_eq!(run(statuses(&store))[0].1, Status::SignatureFailed);
}

#[test]
fn a_digest_deleted_mid_chain_is_not_found_and_the_walk_goes_on() {
    let (mut store, keys) = chain(3, &[0]);
    store.objects.remove(&keys[1]);
    let found = run(statuses(&store));
    assert_eq!(
        found,
        vec![
            (keys[2].clone(), Status::Valid),
            (keys[1].clone(), Status::NotFound),
            (keys[0].clone(), Status::Valid)
        ]
    );
}

#[test]
fn a_digest_copied_elsewhere_has_been_moved() {
    let (mut store, keys) = chain(1, &[0]);
    let copy_key = keys[0].replace("T010000Z", "T013000Z");
    let original = store.objects.remove(&keys[0]).unwrap();
    store.objects.insert(copy_key.clone(), original);
    assert_eq!(run(statuses(&store)), vec![(copy_key, Status::Moved)]);
}

#[test]
fn an_unknown_fingerprint_is_reported_with_its_region() {
    let (store, _) = chain(1, &[0]);
    let events = run(walk(
        &store,
        &PublicKeys {
            region: "us-east-1".into(),
            ..PublicKeys::default()
        },
        &scope(1),
    ));
    let ChainEvent::Digest(verdict, _) = &events.unwrap()[0] else {
        panic!()
    };
    assert_eq!(
        verdict.status,
        Status::PublicKeyNotFound {
            region: "us-east-1".into(),
            fingerprint: trail().fingerprint.clone()
        }
    );
}

#[test]
fn a_restarted_chain_is_a_gap_not_an_error() {
    let (store, _) = chain(4, &[0, 2]);
    let events = run(walk(&store, &keys(), &scope(10))).unwrap();
    let gaps: Vec<&ChainEvent> = events
        .iter()
        .filter(|e| matches!(e, ChainEvent::Gap { .. }))
        .collect();
    assert_eq!(
        gaps,
        vec![&ChainEvent::Gap {
            from: T0 + 2 * HOUR,
            to: T0 + 2 * HOUR
        }]
    );
    assert!(events.iter().all(|e| match e {
        ChainEvent::Digest(v, _) => v.status == Status::Valid,
        ChainEvent::Gap { .. } | ChainEvent::Unverified(_) => true,
        ChainEvent::Unread { .. } => false,
    }));
}

/// A chain of `hours` digests from T0, each listing one log file delivered in its hour;
/// returns the store and the log file keys, oldest first.
fn chain_with_logs(hours: i64) -> (MemoryStore, Vec<String>) {
    let trail = trail();
    let mut store = MemoryStore::default();
    let mut logs = Vec::new();
    let mut previous = None;
    for hour in 0..hours {
        let (start, end) = (T0 + hour * HOUR, T0 + (hour + 1) * HOUR);
        let mut spec = crate::generate::TrailSpec::recent(100 + hour as u64);
        spec.delivery_millis = (start + 600) * 1000;
        let mut body = Vec::new();
        crate::generate::write_log_file(&spec, 5_000, &mut body).unwrap();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        store.objects.insert(spec.key(), (body, Vec::new()));
        let digest = trail.digest(start, end, &[(spec.key(), inflated)], previous.as_ref());
        let mut digest_inflated = Vec::new();
        GzDecoder::new(&digest.body[..])
            .read_to_end(&mut digest_inflated)
            .unwrap();
        previous = Some(trail.link(&digest, &digest_inflated));
        store.put(&digest);
        logs.push(spec.key());
    }
    (store, logs)
}

/// Range validation of the first `hours` hours from T0, in memory.
fn validate_hours(store: MemoryStore, hours: i64) -> super::report::Report {
    run(validate_range(Arc::new(store), &keys(), &scope(hours))).unwrap()
}

fn log_statuses(report: &super::report::Report) -> Vec<(String, Status)> {
    report
        .verdicts
        .iter()
        .filter(|v| v.subject == Subject::Log)
        .map(|v| (v.key.clone(), v.status.clone()))
        .collect()
}

#[test]
fn a_range_hashes_every_listed_log_file_and_names_each_tampered_one() {
    // Given: three hours, the first log file modified and the last deleted.
    let (mut store, logs) = chain_with_logs(3);
    store.objects.get_mut(&logs[0]).unwrap().0 = crate::generate::gzip(b"{\"Records\":[]}");
    store.objects.remove(&logs[2]);
    // When
    let report = validate_hours(store, 3);
    // Then: newest first, each verdict where it belongs.
    let mut statuses = log_statuses(&report);
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    let mut wanted = vec![
        (logs[0].clone(), Status::HashMismatch),
        (logs[1].clone(), Status::Valid),
        (logs[2].clone(), Status::NotFound),
    ];
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(statuses, wanted);
    let counts = report.counts();
    assert_eq!(
        (
            counts.digests_valid,
            counts.log_files_invalid,
            counts.log_files_missing
        ),
        (3, 2, 1)
    );
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn a_log_file_that_could_not_be_read_is_never_valid() {
    let (mut store, logs) = chain_with_logs(2);
    store.unreadable.insert(logs[1].clone());
    let report = validate_hours(store, 2);
    let statuses = log_statuses(&report);
    let unread = statuses.iter().find(|(key, _)| *key == logs[1]).unwrap();
    // Throttled on every read: not checked, neither valid nor invalid.
    assert!(unread.1.is_not_checked(), "{unread:?}");
    assert!(!unread.1.is_valid() && !unread.1.is_invalid());
    assert!(
        statuses
            .iter()
            .any(|(key, status)| *key == logs[0] && status.is_valid())
    );
    let counts = report.counts();
    assert_eq!((counts.checks_incomplete, counts.log_files_invalid), (1, 0));
    assert_eq!(report.exit_code(), 255);
    assert!(!report.is_complete());
}

#[test]
fn an_untouched_range_is_valid_with_no_unreferenced_files() {
    let (store, logs) = chain_with_logs(3);
    let report = validate_hours(store, 3);
    assert_eq!(report.exit_code(), 0);
    assert_eq!(log_statuses(&report).len(), logs.len());
}

#[test]
fn the_log_files_of_a_present_but_invalid_digest_are_not_called_unlisted() {
    // Given: three hours; the middle digest's content changed after signing.
    let (mut store, logs) = chain_with_logs(3);
    let middle = store
        .objects
        .keys()
        .filter(|k| k.contains("CloudTrail-Digest"))
        .nth(1)
        .unwrap()
        .clone();
    let (body, metadata) = store.objects[&middle].clone();
    let mut inflated = String::new();
    GzDecoder::new(&body[..])
        .read_to_string(&mut inflated)
        .unwrap();
    let tampered = inflated.replacen("\"digestEndTime\":\"", "\"digestEndTime\":\"1", 1);
    assert_ne!(tampered, inflated);
    store.objects.insert(
        middle.clone(),
        (crate::generate::gzip(tampered.as_bytes()), metadata),
    );
    // When
    let report = validate_hours(store, 3);
    // Then: the digest fails its signature, and its log file is neither hashed nor "unlisted".
    let digest = report.verdicts.iter().find(|v| v.key == middle).unwrap();
    assert_eq!(digest.status, Status::SignatureFailed);
    assert!(
        report.verdicts.iter().all(|v| v.key != logs[1]),
        "{:?}",
        report.verdicts
    );
}

#[test]
fn the_log_files_of_an_unreadable_digest_are_not_called_unlisted_but_a_planted_file_is() {
    // Given: four hours; the second digest is not gzip, and a file is planted in the third.
    let (mut store, logs) = chain_with_logs(4);
    let digests: Vec<String> = store
        .objects
        .keys()
        .filter(|k| k.contains("CloudTrail-Digest"))
        .cloned()
        .collect();
    let unreadable = digests[1].clone();
    store.objects.get_mut(&unreadable).unwrap().0 = b"not gzip".to_vec();
    let planted = logs[2].replace(".json.gz", "x.json.gz");
    let body = store.objects[&logs[2]].clone();
    store.objects.insert(planted.clone(), body);
    // When
    let report = validate_hours(store, 4);
    // Then: the unreadable digest is invalid; its log file is not "unlisted"; the planted one
    // (in an hour whose digest was read) is.
    let statuses = log_statuses(&report);
    assert!(
        statuses.iter().all(|(key, _)| *key != logs[1]),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(planted.clone(), Status::Unreferenced)),
        "{statuses:?}"
    );
    let digest = report
        .verdicts
        .iter()
        .find(|v| v.key == unreadable)
        .unwrap();
    assert!(digest.status.is_invalid(), "{:?}", digest.status);
}

#[test]
fn an_unreadable_backfill_digest_never_silences_its_account() {
    // Given: five hours of a clean chain; a backfill digest for the first hour that is not
    // gzip; a file planted in the fourth hour, which no digest lists.
    let (mut store, logs) = chain_with_logs(5);
    let mut backfill = trail().backfill_digest(T0, T0 + HOUR, &[], T0 + 2 * HOUR);
    backfill.body = b"not gzip".to_vec();
    store.put(&backfill);
    let planted = logs[3].replace(".json.gz", "x.json.gz");
    let body = store.objects[&logs[3]].clone();
    store.objects.insert(planted.clone(), body);
    // When
    let report = validate_hours(store, 5);
    // Then: the backfill digest is invalid, and the planted file, outside the hours the
    // backfill digest may cover, is still found.
    let backfill_verdict = report
        .verdicts
        .iter()
        .find(|v| v.key == backfill.key)
        .unwrap();
    assert_eq!(backfill_verdict.subject, Subject::BackfillDigest);
    assert!(backfill_verdict.status.is_invalid(), "{backfill_verdict:?}");
    let statuses = log_statuses(&report);
    assert!(
        statuses.contains(&(planted, Status::Unreferenced)),
        "{statuses:?}"
    );
}

#[test]
fn a_file_named_for_another_day_than_its_folder_is_unlisted_whatever_its_name_says() {
    // Given: three validated hours, and in the second hour's day folder a copy of a log file
    // whose name is dated the next day (outside the validated span).
    let (mut store, logs) = chain_with_logs(3);
    let (folder, name) = logs[1].rsplit_once('/').unwrap();
    let stamp = &name[name.find("_2026").unwrap() + 1..][..8];
    let later = (stamp.parse::<u64>().unwrap() + 1).to_string();
    let planted = format!(
        "{folder}/{}",
        name.replace(stamp, &later).replace(".json.gz", "x.json.gz")
    );
    let body = store.objects[&logs[1]].clone();
    store.objects.insert(planted.clone(), body);
    // When
    let report = validate_hours(store, 3);
    // Then
    let statuses = log_statuses(&report);
    assert!(
        statuses.contains(&(planted, Status::Unreferenced)),
        "{statuses:?}"
    );
}

#[test]
fn aggregated_events_files_are_never_called_unlisted() {
    // Given: three hours, and in the second an aggregated-events file no digest lists (whether
    // CloudTrail's digests list them is not documented), beside the log files.
    let (mut store, logs) = chain_with_logs(3);
    let aggregated = logs[1]
        .replace("/CloudTrail/", "/CloudTrail-Aggregated/")
        .replace("_CloudTrail_", "_CloudTrail-Aggregated_");
    assert_eq!(
        crate::trail::FileKind::of_key(&aggregated),
        crate::trail::FileKind::Aggregated
    );
    let body = store.objects[&logs[1]].clone();
    store.objects.insert(aggregated.clone(), body);
    let planted = logs[1].replace(".json.gz", "x.json.gz");
    store
        .objects
        .insert(planted.clone(), store.objects[&logs[1]].clone());
    // When
    let report = validate_hours(store, 3);
    // Then: the aggregated file is not reported, where a planted log file in the same hour is.
    let statuses = log_statuses(&report);
    assert!(
        statuses.iter().all(|(key, _)| *key != aggregated),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(planted, Status::Unreferenced)),
        "{statuses:?}"
    );
}

#[test]
fn every_listed_file_is_reconciled_with_what_the_forwarder_recorded() {
    use super::provenance::{Forwarding, Recorded, reconcile_report};
    use crate::checkpoint::{Ledger, LedgerState, RecordCounts};
    use crate::object::Sha256;
    // Given: four hours; the first file forwarded as signed and modified in S3 since; the
    // second forwarded from other content; the third never forwarded; the fourth forwarded.
    let (mut store, logs) = chain_with_logs(4);
    let signed: Vec<Sha256> = logs
        .iter()
        .map(|key| super::hash::hash_log_file(&store.objects[key].0[..]).unwrap())
        .collect();
    store.objects.get_mut(&logs[0]).unwrap().0 = crate::generate::gzip(b"{\"Records\":[]}");
    let done = |sha256: Sha256| {
        Recorded::Ledger(Ledger {
            next_record: 7,
            state: LedgerState::Done {
                sha256: Some(sha256),
            },
            counts: RecordCounts {
                records: 7,
                forwarded: 7,
                ..RecordCounts::default()
            },
        })
    };
    let mut ledgers = BTreeMap::new();
    ledgers.insert(logs[0].clone(), done(signed[0]));
    ledgers.insert(logs[1].clone(), done(Sha256::from_bytes([0; 32])));
    ledgers.insert(logs[3].clone(), done(signed[3]));
    let records = MemoryRecords {
        ledgers,
        unreadable: false,
    };
    let report = validate_hours(store, 4);

    // When: checked long after the digests, and right after the last one.
    let late = run(reconcile_report(&records, &report, T0 + 30 * HOUR, 3600));
    let early = run(reconcile_report(&records, &report, T0 + 4 * HOUR, 3600));

    // Then
    let status = |verdicts: &[super::provenance::ForwardingVerdict], key: &str| {
        let found = verdicts.iter().find(|v| v.key == key).unwrap();
        (found.forwarding.code(), found.to_string())
    };
    let (code, line) = status(&late, &logs[0]);
    assert_eq!(code, "forwarded");
    assert!(
        line.contains(
            "hash value doesn't match now, but what the forwarder sent to CloudWatch Logs is what CloudTrail signed"
        ),
        "{line}"
    );
    assert_eq!(status(&late, &logs[1]).0, "forwardedDiffers");
    assert_eq!(status(&late, &logs[2]).0, "notForwarded");
    assert_eq!(status(&early, &logs[2]).0, "forwardPending");
    assert_eq!(status(&late, &logs[3]).0, "forwarded");
    assert_eq!(late.len(), 4);

    // And a file older than the table keeps items is not known, not "not forwarded".
    let expired = run(reconcile_report(&records, &report, T0 + 20 * 86_400, 3600));
    assert!(matches!(&status(&expired, &logs[2]).0, &"notChecked"));
    assert_eq!(status(&expired, &logs[3]).0, "forwarded");

    // And an item that is not a checkpoint says nothing of its file, and nothing of the others.
    let mut ledgers = records.ledgers.clone();
    ledgers.insert(logs[3].clone(), Recorded::Unreadable("not ours".into()));
    let corrupt = MemoryRecords {
        ledgers,
        unreadable: false,
    };
    let one_unknown = run(reconcile_report(&corrupt, &report, T0 + 30 * HOUR, 3600));
    assert_eq!(status(&one_unknown, &logs[3]).0, "notChecked");
    assert_eq!(status(&one_unknown, &logs[0]).0, "forwarded");

    // And a table that cannot be read says nothing either way.
    let throttled = MemoryRecords {
        ledgers: BTreeMap::new(),
        unreadable: true,
    };
    let unknown = run(reconcile_report(&throttled, &report, T0 + 30 * HOUR, 3600));
    assert!(
        unknown
            .iter()
            .all(|v| matches!(v.forwarding, Forwarding::NotChecked(_)))
    );
}

#[test]
fn a_digest_key_dated_in_the_future_does_not_hide_a_late_region() {
    // Given: the region's last digest three hours ago, and a key planted for tomorrow.
    let now = T0 + 10 * HOUR;
    let mut store = MemoryStore::default();
    for end in [now - 3 * HOUR, now + 24 * HOUR] {
        let key = trail().digest_key(end);
        store.objects.insert(key, (Vec::new(), Vec::new()));
    }
    // When
    let newest = run(super::silence::newest_digest(
        &store,
        &trail_digests(),
        BUCKET,
        now,
    ))
    .unwrap();
    // Then: the planted key is not the newest, so the region is late.
    assert_eq!(newest, Some(now - 3 * HOUR));
    assert!(super::silence::Lateness::judge(trail_digests(), newest, now).late);
}
