//! The claim's rules, decided on stored checkpoints.

use super::*;
use crate::object::ETag;

const NOW: i64 = 1_764_000_000_000;
const MARGIN: i64 = 60_000;
/// The deadline's lease: 60 s to the deadline, then the in-flight margin.
const LEASE_END: i64 = NOW + 60_000 + MARGIN;

fn request(owner: &str) -> ClaimRequest<'_> {
    ClaimRequest {
        owner,
        now_millis: NOW,
        deadline_millis: Some(NOW + 60_000),
        in_flight_margin_millis: MARGIN,
        version_id: None,
        e_tag: ETag::new("abc"),
        continuation_at: None,
    }
}

fn granted(claim: Claim) -> (Holding, u64, Option<Unconfirmed>) {
    match claim {
        Claim::Granted {
            holding,
            start_record,
            unconfirmed,
        } => (holding, start_record, unconfirmed),
        other => panic!("not granted: {other:?}"),
    }
}

fn owner(holding: &Holding) -> Option<&str> {
    holding.checkpoint.lease.holder().map(|(owner, _)| owner)
}

fn until(holding: &Holding) -> Option<i64> {
    holding.checkpoint.lease.holder().map(|(_, until)| until)
}

fn stored(lease: &Holding) -> Stored {
    Stored {
        checkpoint: lease.checkpoint.clone(),
        revision: lease.revision,
    }
}

#[test]
fn a_new_object_is_granted_from_its_first_record_until_the_deadline() {
    let (lease, start, uncertain) = granted(claim(None, &request("a")));
    assert_eq!((start, uncertain, lease.revision), (0, None, 1));
    assert_eq!(owner(&lease), Some("a"));
    assert_eq!(until(&lease).unwrap_or(0), LEASE_END);
    // Not the notification's ETag: the content is pinned to what is read.
    assert_eq!(lease.checkpoint.e_tag, None);
    assert_eq!(
        lease.checkpoint.expires_at_seconds,
        NOW / 1000 + 15 * 24 * 3600
    );
}

#[test]
fn a_live_lease_of_another_invocation_is_refused_and_an_expired_one_is_taken_uncertain() {
    let (held, _, _) = granted(claim(None, &request("a")));
    let progressed = held.progressed(700, RecordCounts::default(), NOW);
    assert_eq!(
        claim(Some(&stored(&progressed)), &request("b")),
        Claim::Refused(Refusal::Leased {
            owner: "a".into(),
            until_millis: LEASE_END,
            in_flight: false,
        })
    );
    // Past the deadline, a put of the dead invocation may still land: not yet.
    let at_deadline = ClaimRequest {
        now_millis: NOW + 60_001,
        ..request("b")
    };
    assert!(matches!(
        claim(Some(&stored(&progressed)), &at_deadline),
        Claim::Refused(Refusal::Leased { .. })
    ));
    let later = ClaimRequest {
        now_millis: LEASE_END + 1,
        ..request("b")
    };
    let (taken, start, uncertain) = granted(claim(Some(&stored(&progressed)), &later));
    // How far the dead invocation's puts got is unknown: read back to the end.
    assert_eq!((start, uncertain), (700, Some(Unconfirmed::ToTheEnd)));
    assert_eq!(taken.revision, progressed.revision + 1);
    assert_eq!(owner(&taken), Some("b"));
}

#[test]
fn a_done_object_is_already_forwarded_and_other_content_is_a_rewrite() {
    let (mut held, _, _) = granted(claim(None, &request("a")));
    held.opened(None, ETag::new("\"abc\"").as_ref()).unwrap();
    let done = stored(&held.finished(2500, RecordCounts::default(), None));
    assert_eq!(
        claim(Some(&done), &request("b")),
        Claim::Refused(Refusal::AlreadyForwarded)
    );
    let rewritten = ClaimRequest {
        e_tag: ETag::new("\"other\""),
        ..request("b")
    };
    assert_eq!(
        claim(Some(&done), &rewritten),
        Claim::Refused(Refusal::Rewritten {
            forwarded: "ETag abc".into(),
            notified: "ETag other".into()
        })
    );
    // A notification that names no content is compared after the object is opened.
    let unnamed = ClaimRequest {
        e_tag: None,
        ..request("b")
    };
    assert_eq!(
        claim(Some(&done), &unnamed),
        Claim::Refused(Refusal::AlreadyForwarded)
    );
}

#[test]
fn a_released_object_resumes_from_the_store_not_from_zero() {
    let (held, _, _) = granted(claim(None, &request("a")));
    let failed = stored(
        &held
            .progressed(1200, RecordCounts::default(), NOW)
            .released(Some(Unconfirmed::Before(1900)), false, NOW),
    );
    let (_, start, uncertain) = granted(claim(Some(&failed), &request("b")));
    assert_eq!((start, uncertain), (1200, Some(Unconfirmed::Before(1900))));
    let handed_off = stored(
        &held
            .progressed(1200, RecordCounts::default(), NOW)
            .released(None, false, NOW),
    );
    let (_, start, uncertain) = granted(claim(Some(&handed_off), &request("b")));
    assert_eq!((start, uncertain), (1200, None));
}

#[test]
fn a_continuation_resumes_at_the_stored_record_whatever_its_message_says() {
    let (held, _, _) = granted(claim(None, &request("a")));
    let handed_off = stored(
        &held
            .progressed(1200, RecordCounts::default(), NOW)
            .released(None, false, NOW),
    );
    let continuation = |at| ClaimRequest {
        continuation_at: Some(at),
        ..request("b")
    };
    // Overtaken (a redelivery went further) or ahead (the handoff's release was lost):
    // the store is where the delivered records end.
    for at in [1200, 800, 1500] {
        let (_, start, _) = granted(claim(Some(&handed_off), &continuation(at)));
        assert_eq!(start, 1200, "a continuation at {at}");
    }
    let lost_release = stored(&held.progressed(1200, RecordCounts::default(), NOW));
    let later = ClaimRequest {
        now_millis: LEASE_END + 1,
        ..continuation(1500)
    };
    let (_, start, uncertain) = granted(claim(Some(&lost_release), &later));
    assert_eq!((start, uncertain), (1200, Some(Unconfirmed::ToTheEnd)));
    let done = stored(&held.finished(2500, RecordCounts::default(), None));
    assert_eq!(
        claim(Some(&done), &continuation(1200)),
        Claim::Refused(Refusal::AlreadyForwarded)
    );
    // Never seen: not a continuation of ours (ours follow a checkpoint), so possibly forged
    // to skip records. Read from the first record; the ledger starts at zero.
    let (holding, start, _) = granted(claim(None, &continuation(800)));
    assert_eq!(start, 0);
    assert_eq!(holding.checkpoint.ledger.next_record, 0);
}

#[test]
fn a_notification_naming_content_already_overwritten_forwards_what_is_read() {
    // Named "stale", read "fresh": what is read is forwarded and pinned, so the
    // notification of the fresh content finds it forwarded, not rewritten.
    let stale = ClaimRequest {
        e_tag: ETag::new("stale"),
        ..request("a")
    };
    let (mut held, _, _) = granted(claim(None, &stale));
    held.opened(None, ETag::new("\"fresh\"").as_ref()).unwrap();
    let done = stored(&held.finished(10, RecordCounts::default(), None));
    let fresh = ClaimRequest {
        e_tag: ETag::new("fresh"),
        ..request("b")
    };
    assert_eq!(
        claim(Some(&done), &fresh),
        Claim::Refused(Refusal::AlreadyForwarded)
    );
}

#[test]
fn the_content_opened_is_pinned_and_other_content_refused() {
    let unnamed = ClaimRequest {
        e_tag: None,
        ..request("a")
    };
    let (mut lease, _, _) = granted(claim(None, &unnamed));
    lease
        .opened(Some("v1"), ETag::new("\"abc\"").as_ref())
        .unwrap();
    assert_eq!(lease.checkpoint.version_id.as_deref(), Some("v1"));
    assert_eq!(lease.checkpoint.e_tag, ETag::new("abc"));
    assert_eq!(
        lease
            .clone()
            .opened(Some("v2"), ETag::new("\"abc\"").as_ref()),
        Err(Refusal::Rewritten {
            forwarded: "version v1".into(),
            notified: "version v2".into()
        })
    );
}

#[test]
fn our_own_expired_lease_is_retaken_and_every_write_advances_the_revision() {
    let (held, _, _) = granted(claim(None, &request("a")));
    let (again, _, uncertain) = granted(claim(Some(&stored(&held)), &request("a")));
    assert_eq!(
        uncertain,
        Some(Unconfirmed::ToTheEnd),
        "a lease still set was never released"
    );
    assert_eq!(again.revision, 2);
    assert_eq!(
        again.progressed(5, RecordCounts::default(), NOW).revision,
        3
    );
    let done = again.finished(9, RecordCounts::default(), None);
    assert_eq!((done.revision, done.checkpoint.ledger.is_done()), (3, true));
    assert_eq!(done.checkpoint.lease, Lease::default());
}

/// `request(owner)` at another time.
fn at(owner: &str, now_millis: i64) -> ClaimRequest<'_> {
    ClaimRequest {
        now_millis,
        ..request(owner)
    }
}

#[test]
fn ranges_cover_their_records_shrink_past_a_boundary_and_unite() {
    use Unconfirmed::{Before, ToTheEnd};
    assert!(Before(10).covers(9) && !Before(10).covers(10) && ToTheEnd.covers(u64::MAX));
    assert_eq!(Before(10).after(10), None);
    assert_eq!(Before(10).after(4), Some(Before(10)));
    assert_eq!(ToTheEnd.after(1_000_000), Some(ToTheEnd));
    assert_eq!(
        Unconfirmed::union(Some(Before(5)), Some(Before(9))),
        Some(Before(9))
    );
    assert_eq!(
        Unconfirmed::union(Some(Before(5)), Some(ToTheEnd)),
        Some(ToTheEnd)
    );
    assert_eq!(Unconfirmed::union(None, Some(Before(3))), Some(Before(3)));
    assert_eq!(Unconfirmed::union(None, None), None);
}

#[test]
fn a_release_with_a_put_in_flight_keeps_the_lease_to_the_deadline_and_its_margin() {
    // Given: a put of unknown outcome (it timed out) after the progress at 700.
    let lease = granted(claim(None, &request("a")))
        .0
        .progressed(700, RecordCounts::default(), NOW);
    let released = lease.released(Some(Unconfirmed::Before(1400)), true, NOW + 1_000);
    assert_eq!(owner(&released), Some("a"));
    assert_eq!(until(&released).unwrap_or(0), NOW + 60_000 + MARGIN);

    // Then: nobody claims it before the deadline and the margin, not even its own
    // invocation retried; after, the claim reads back exactly that range.
    for (owner, now) in [("b", NOW + 2_000), ("b", NOW + 60_001), ("a", NOW + 60_001)] {
        assert_eq!(
            claim(Some(&stored(&released)), &at(owner, now)),
            Claim::Refused(Refusal::Leased {
                owner: "a".into(),
                until_millis: NOW + 60_000 + MARGIN,
                in_flight: true
            }),
            "{owner} at {now}"
        );
    }
    let after = at("b", NOW + 60_000 + MARGIN + 1);
    match claim(Some(&stored(&released)), &after) {
        Claim::Granted {
            start_record,
            unconfirmed: uncertain,
            holding: lease,
        } => {
            assert_eq!(
                (start_record, uncertain),
                (700, Some(Unconfirmed::Before(1400)))
            );
            // Held again: nothing known is written until this invocation releases.
            assert!(matches!(lease.checkpoint.lease, Lease::Held { .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_release_with_puts_known_answered_frees_the_object_at_once_and_names_the_range() {
    let lease = granted(claim(None, &request("a")))
        .0
        .progressed(700, RecordCounts::default(), NOW);
    let released = lease.released(Some(Unconfirmed::Before(1400)), false, NOW + 1_000);
    assert_eq!(
        released.checkpoint.lease,
        Lease::Free {
            unconfirmed: Some(Unconfirmed::Before(1400))
        }
    );
    // A range already behind the checkpoint is nothing to read back.
    let behind = lease.released(Some(Unconfirmed::Before(700)), true, NOW);
    assert_eq!(behind.checkpoint.lease, Lease::default());
}

#[test]
fn without_a_deadline_a_put_in_flight_holds_the_lease_for_the_margin_from_now() {
    let without_deadline = ClaimRequest {
        deadline_millis: None,
        ..request("cli")
    };
    let (lease, _, _) = granted(claim(None, &without_deadline));
    assert_eq!(
        until(&lease).unwrap_or(0),
        NOW + DEFAULT_LEASE_MILLIS + MARGIN
    );
    let released = lease.released(Some(Unconfirmed::ToTheEnd), true, NOW + 5_000);
    assert_eq!(until(&released).unwrap_or(0), NOW + 5_000 + MARGIN);
}
