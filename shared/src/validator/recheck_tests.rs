//! Rechecks over in-memory ports: a digest's pending file checked again once the grace has
//! passed (an early recheck sent on, a recheck delivered twice) and repaired; a recheck that
//! names no digest.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::tests::{
    ACCOUNTS, BUCKET, HOUR, NOW, REGIONS, T0, block_on, notification, org, reconciling, sqs,
    validator,
};
use crate::digest::fakes::{MemoryQueue, MemoryRecords};

#[test]
fn a_pending_file_is_checked_again_once_the_grace_has_passed_and_repaired() {
    // Given: a digest whose log file the forwarder has no record of (its notification was
    // lost), validated soon after the digest's end, within the grace; the digest queue.
    let org = org();
    let (digest, log, _) = &org.files[&(ACCOUNTS[1], REGIONS[1])];
    let mut validator = validator(org.store.clone());
    reconciling(&mut validator, MemoryRecords::default());
    validator.fan_out = Some(MemoryQueue::default());
    let soon = T0 + HOUR + 10 * 60;

    // When: the digest is delivered.
    let delivered = block_on(validator.handle(&notification(digest), soon)).unwrap();

    // Then: pending, and one recheck sent for when the grace has passed (SQS's 15 minutes at
    // most; the rest by sending it on).
    let answer = delivered.answer(soon).unwrap();
    assert_eq!(
        answer["counts"]["logFilesForwardPending"],
        json!(1),
        "{answer}"
    );
    assert_eq!(answer["rechecksSent"], json!(1));
    let queue = validator.fan_out.as_ref().unwrap();
    let (recheck, delay) = queue.rechecks.lock().unwrap()[0].clone();
    assert_eq!(recheck.not_before, T0 + 2 * HOUR + 1);
    assert_eq!(delay, std::time::Duration::from_secs(900));
    assert_eq!(recheck.files[0].s3_object_key, *log);
    let body: Value = serde_json::from_str(&recheck.to_body()).unwrap();
    assert_eq!(
        body["recheckForwarding"]["notBefore"],
        json!(crate::clock::iso_text(T0 + 2 * HOUR + 1))
    );

    // When: it arrives 15 minutes on, and again after the grace (and once more: at least once).
    let early = block_on(validator.handle(&sqs(std::slice::from_ref(&body)), soon + 900)).unwrap();
    assert_eq!(early.rechecks_sent, 1);
    assert!(early.checked.is_empty());
    let due = T0 + 2 * HOUR + 5;
    let events_before = validator.sink.events.lock().unwrap().len();
    let rechecked = block_on(validator.handle(&sqs(std::slice::from_ref(&body)), due)).unwrap();
    let again = block_on(validator.handle(&sqs(&[body]), due)).unwrap();

    // Then: not forwarded, repaired each time (the forwarder's checkpoint makes a repeat
    // harmless); no S3 verdict counted or written twice; no recheck of a recheck.
    for outcome in [&rechecked, &again] {
        let counts = outcome.counts();
        let forwarding = counts.forwarding.unwrap();
        assert_eq!(
            (forwarding.log_files_not_forwarded, forwarding.repairs_sent),
            (1, 1)
        );
        assert_eq!((counts.log_files_valid, counts.digests_valid), (0, 0));
        assert_eq!(outcome.rechecks_sent, 0);
    }
    let repairs = validator
        .reconciler
        .as_ref()
        .unwrap()
        .repairs
        .as_ref()
        .unwrap();
    assert_eq!(
        repairs.sent.lock().unwrap().clone(),
        vec![notification(log).to_string(); 2]
    );
    let events = validator.sink.events.lock().unwrap();
    let new: Vec<Value> = events[events_before..]
        .iter()
        .map(|(_, event)| serde_json::from_str(&event.message).unwrap())
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert!(new.iter().all(|e| e["status"] == "notForwarded"), "{new:?}");
}

#[test]
fn a_recheck_that_names_no_digest_is_unreadable_and_the_rest_is_read() {
    let org = org();
    let (digest, ..) = &org.files[&(ACCOUNTS[0], REGIONS[0])];
    let validator = validator(org.store.clone());
    let bad = json!({"recheckForwarding": {"digestBucket": BUCKET, "digestKey": "not/a/digest.json.gz", "notBefore": "2026-11-24T02:00:00Z", "files": []}});
    let outcome = block_on(validator.handle(&sqs(&[bad, notification(digest)]), NOW)).unwrap();
    assert_eq!((outcome.unreadable, outcome.checked.len()), (1, 1));
}
