//! One checkpoint per trail object (`CHECKPOINT_TABLE_NAME`): which content was read, who is
//! working on it until when, and the first record not yet delivered. The rules are here, pure;
//! the store ([`crate::ports::CheckpointStore`]) only loads an item and writes one on the
//! condition that nobody wrote since it was loaded (a revision number), so two invocations can
//! never both hold an object, and an invocation whose lease was taken over cannot write.
//!
//! Progress is written at batch boundaries: every record before `next_record` was delivered
//! (or filtered, or counted as rejected) and none after it. An invocation that dies, or whose
//! put failed, leaves records from `next_record` on in an unknown state: some may have reached
//! CloudWatch Logs. The checkpoint says which ([`Unconfirmed`]), and the next invocation reads
//! the batches holding them back from their streams before sending them again. While a put of
//! unknown outcome may still be in flight, nobody reads back: the lease lasts until the
//! invocation's deadline plus [`DEFAULT_IN_FLIGHT_MARGIN_SECONDS`].

use crate::object::ETag;

/// Checkpoints expire after this long (DynamoDB TTL): CloudWatch Logs refuses events older
/// than 14 days, so an object redelivered later has nothing left to forward.
pub const CHECKPOINT_TTL_SECONDS: i64 = 15 * 24 * 60 * 60;

/// A lease granted without a known deadline (commands, local runs) lasts this long and is
/// renewed by each progress write.
pub const DEFAULT_LEASE_MILLIS: i64 = 15 * 60 * 1000;

/// How long after its caller gave up (the invocation's deadline, or the failed call) a
/// PutLogEvents request may still be stored by the service: a request that reached CloudWatch
/// Logs is processed even when the client has gone. A lease that may have such a put in
/// flight lasts this much longer, and the object is read back only after it.
pub const DEFAULT_IN_FLIGHT_MARGIN_SECONDS: u64 = 60;

/// The state of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The S3 version read, once the object was opened.
    pub version_id: Option<String>,
    /// The ETag read, once the object was opened.
    pub e_tag: Option<ETag>,
    /// Every record before this one is delivered, none from it on (but see `uncertain`).
    pub next_record: u64,
    /// Every record was delivered.
    pub done: bool,
    /// The invocation working on the object; none when released. An invocation that released
    /// it with a put in flight keeps it (and `uncertain`) until its lease ends.
    pub owner: Option<String>,
    /// When the owner's lease ends (epoch ms): its invocation's deadline plus the in-flight
    /// margin.
    pub lease_until_millis: i64,
    /// Records from `next_record` on may have reached CloudWatch Logs without being recorded.
    pub uncertain: bool,
    /// With `uncertain`: those records end before this one; none: they may run to the end.
    pub uncertain_until: Option<u64>,
    /// DynamoDB TTL (epoch seconds).
    pub expires_at_seconds: i64,
    /// What became of the records before `next_record`, over every invocation.
    pub counts: RecordCounts,
    /// With `done`: SHA-256 of the object's decompressed bytes, as its digest records it.
    pub sha256: Option<String>,
    /// Why the object failed for good, when it did (cleared when it is finished later).
    pub failure: Option<String>,
}

/// What became of an object's records: each was forwarded, filtered out by selectors, or
/// rejected (invalid, too large, refused by CloudWatch Logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub records: u64,
    pub forwarded: u64,
    pub filtered: u64,
    pub rejected: u64,
}

impl RecordCounts {
    pub fn plus(self, other: RecordCounts) -> RecordCounts {
        RecordCounts {
            records: self.records + other.records,
            forwarded: self.forwarded + other.forwarded,
            filtered: self.filtered + other.filtered,
            rejected: self.rejected + other.rejected,
        }
    }
}

impl Checkpoint {
    /// The records from `next_record` on that may be in CloudWatch Logs already.
    fn unconfirmed(&self) -> Option<Unconfirmed> {
        let unconfirmed = if self.uncertain {
            self.uncertain_until
                .map_or(Unconfirmed::ToTheEnd, Unconfirmed::Before)
        } else if self.owner.is_some() {
            // A lease never released: its invocation died, how far its puts got is unknown.
            Unconfirmed::ToTheEnd
        } else {
            return None;
        };
        unconfirmed.after(self.next_record)
    }

    fn set_unconfirmed(&mut self, unconfirmed: Option<Unconfirmed>) {
        self.uncertain = unconfirmed.is_some();
        self.uncertain_until = match unconfirmed {
            Some(Unconfirmed::Before(end)) => Some(end),
            _ => None,
        };
    }
}

/// Records of an object that may be in CloudWatch Logs without their checkpoint saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unconfirmed {
    /// The records before this index (from the checkpoint's `next_record`).
    Before(u64),
    /// Any record from `next_record` to the end of the object.
    ToTheEnd,
}

impl Unconfirmed {
    /// Whether the record at `index` may be in CloudWatch Logs.
    pub fn covers(self, index: u64) -> bool {
        match self {
            Unconfirmed::Before(end) => index < end,
            Unconfirmed::ToTheEnd => true,
        }
    }

    /// What is left once every record before `boundary` is known to be delivered.
    pub fn after(self, boundary: u64) -> Option<Self> {
        match self {
            Unconfirmed::Before(end) if end <= boundary => None,
            other => Some(other),
        }
    }

    /// The records either may hold.
    pub fn union(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(Unconfirmed::Before(x)), Some(Unconfirmed::Before(y))) => {
                Some(Unconfirmed::Before(x.max(y)))
            }
            (Some(_), Some(_)) => Some(Unconfirmed::ToTheEnd),
            (one, None) | (None, one) => one,
        }
    }
}

/// A checkpoint as loaded, with the revision a write must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub checkpoint: Checkpoint,
    pub revision: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Stored,
    /// Another writer came first: the item is not at the revision expected.
    Conflict,
}

/// An invocation asking to work on an object.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub now_millis: i64,
    /// The invocation's deadline (epoch ms), when known.
    pub deadline_millis: Option<i64>,
    /// How long a put may still be stored after its caller gave up (ms).
    pub in_flight_margin_millis: i64,
    /// What the notification says was written, when it says.
    pub version_id: Option<&'a str>,
    pub e_tag: Option<ETag>,
    /// A continuation message's record (for the log; the store says where to resume).
    pub continuation_at: Option<u64>,
}

impl ClaimRequest<'_> {
    /// The deadline (or, without one, a renewable default) plus the in-flight margin: until
    /// then a put this invocation started may still land.
    fn lease_until(&self) -> i64 {
        self.deadline_millis
            .unwrap_or(self.now_millis + DEFAULT_LEASE_MILLIS)
            .saturating_add(self.in_flight_margin_millis)
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Write `lease.checkpoint` at `lease.revision`, then read from `start_record`.
    Granted {
        lease: Lease,
        start_record: u64,
        /// Records from `start_record` on that may already be in CloudWatch Logs: the batches
        /// holding them are read back before they are sent.
        uncertain: Option<Unconfirmed>,
    },
    /// Not to be read: why.
    Refused(Refusal),
}

/// Why a claim is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Every record was delivered before.
    AlreadyForwarded,
    /// The notification names other content than was forwarded under this key.
    Rewritten { forwarded: String, notified: String },
    /// Another invocation holds the object (`in_flight`: it stopped, but a put of unknown
    /// outcome may still land): try later.
    Leased {
        owner: String,
        until_millis: i64,
        in_flight: bool,
    },
}

/// The checkpoint an invocation holds, and the revision its next write must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub checkpoint: Checkpoint,
    pub revision: u64,
    /// Granted without a deadline: each progress write extends it.
    pub renewable: bool,
    /// How long a put may still be stored after its caller gave up (ms).
    pub in_flight_margin_millis: i64,
}

/// Decides a claim on what is stored (`None`: never seen).
pub fn claim(stored: Option<&Stored>, request: &ClaimRequest<'_>) -> Claim {
    let expires_at_seconds = request.now_millis / 1000 + CHECKPOINT_TTL_SECONDS;
    let lease = |checkpoint, revision| Lease {
        checkpoint,
        revision,
        renewable: request.deadline_millis.is_none(),
        in_flight_margin_millis: request.in_flight_margin_millis,
    };
    let Some(stored) = stored else {
        return Claim::Granted {
            // The content is pinned when the object is opened, to what was read: a
            // notification may name content already overwritten.
            lease: lease(
                Checkpoint {
                    next_record: request.continuation_at.unwrap_or(0),
                    owner: Some(request.owner.to_owned()),
                    lease_until_millis: request.lease_until(),
                    expires_at_seconds,
                    ..Checkpoint::default()
                },
                1,
            ),
            start_record: request.continuation_at.unwrap_or(0),
            uncertain: None,
        };
    };
    let current = &stored.checkpoint;
    if let Some(rewritten) = different_content(current, request.version_id, request.e_tag.as_ref())
    {
        return Claim::Refused(rewritten);
    }
    if current.done {
        return Claim::Refused(Refusal::AlreadyForwarded);
    }
    let held_by_other = current
        .owner
        .as_deref()
        .is_some_and(|owner| owner != request.owner);
    // A put in flight is waited out even by its own invocation (a retried direct invocation
    // keeps its request id).
    let in_flight = current.uncertain && current.owner.is_some();
    if (held_by_other || in_flight) && current.lease_until_millis > request.now_millis {
        return Claim::Refused(Refusal::Leased {
            owner: current.owner.clone().unwrap_or_default(),
            until_millis: current.lease_until_millis,
            in_flight,
        });
    }
    // A continuation resumes where the store says, not where its message says: the message
    // may be overtaken (a redelivery resumed further) or ahead (the handoff's last write was
    // lost, and the records after the stored one are then read back). Only a done object, or
    // a held one, turns a continuation away.
    if let Some(message_next) = request.continuation_at
        && message_next != current.next_record
    {
        tracing::info!(
            message_next,
            stored_next = current.next_record,
            "continuation resumes at the checkpoint's record"
        );
    }
    let uncertain = current.unconfirmed();
    let mut checkpoint = current.clone();
    checkpoint.owner = Some(request.owner.to_owned());
    checkpoint.lease_until_millis = request.lease_until();
    // Held, the checkpoint says nothing of what is unconfirmed: if this invocation dies, how
    // far it got is unknown (a lease never released), whatever was known before.
    checkpoint.set_unconfirmed(None);
    checkpoint.expires_at_seconds = expires_at_seconds;
    Claim::Granted {
        start_record: checkpoint.next_record,
        lease: lease(checkpoint, stored.revision + 1),
        uncertain,
    }
}

/// [`Refusal::Rewritten`] when the stored and the notified (or opened) content are both
/// known and differ.
fn different_content(
    current: &Checkpoint,
    version_id: Option<&str>,
    e_tag: Option<&ETag>,
) -> Option<Refusal> {
    if let (Some(stored), Some(notified)) = (&current.version_id, version_id)
        && stored != notified
    {
        return Some(Refusal::Rewritten {
            forwarded: format!("version {stored}"),
            notified: format!("version {notified}"),
        });
    }
    if let (Some(stored), Some(notified)) = (&current.e_tag, e_tag)
        && stored != notified
    {
        return Some(Refusal::Rewritten {
            forwarded: format!("ETag {}", stored.bare()),
            notified: format!("ETag {}", notified.bare()),
        });
    }
    None
}

impl Lease {
    /// The checkpoint after the object was opened: the content read is pinned (a later write
    /// compares against it). `Err`: [`Refusal::Rewritten`], the object is not what the
    /// checkpoint says was read.
    pub fn opened(
        &mut self,
        version_id: Option<&str>,
        e_tag: Option<&ETag>,
    ) -> Result<(), Refusal> {
        if let Some(rewritten) = different_content(&self.checkpoint, version_id, e_tag) {
            return Err(rewritten);
        }
        let checkpoint = &mut self.checkpoint;
        checkpoint.version_id = checkpoint
            .version_id
            .take()
            .or_else(|| version_id.map(str::to_owned));
        checkpoint.e_tag = checkpoint.e_tag.take().or_else(|| e_tag.cloned());
        Ok(())
    }

    /// The next write: every record before `next_record` is delivered; still held.
    pub fn progressed(&self, next_record: u64, now_millis: i64) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.next_record = next_record;
        if self.renewable {
            checkpoint.lease_until_millis =
                now_millis + DEFAULT_LEASE_MILLIS + self.in_flight_margin_millis;
        }
        self.next(checkpoint)
    }

    /// The last write: every record delivered.
    pub fn finished(&self, next_record: u64) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.next_record = next_record;
        checkpoint.done = true;
        checkpoint.failure = None;
        checkpoint.owner = None;
        checkpoint.lease_until_millis = 0;
        checkpoint.set_unconfirmed(None);
        self.next(checkpoint)
    }

    /// Stops working on the object (handed off, failed). `unconfirmed`: records from
    /// `next_record` on that may have reached CloudWatch Logs; the next invocation reads them
    /// back. `in_flight`: a put of unknown outcome may still be stored, so the lease is kept
    /// (until the deadline plus the margin; without a deadline, the margin from now) and
    /// nobody reads back before; otherwise the next invocation may start at once.
    pub fn released(
        &self,
        unconfirmed: Option<Unconfirmed>,
        in_flight: bool,
        now_millis: i64,
    ) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        let unconfirmed = unconfirmed.and_then(|u| u.after(checkpoint.next_record));
        checkpoint.set_unconfirmed(unconfirmed);
        if in_flight && unconfirmed.is_some() {
            if self.renewable {
                checkpoint.lease_until_millis = now_millis + self.in_flight_margin_millis;
            }
        } else {
            checkpoint.owner = None;
            checkpoint.lease_until_millis = 0;
        }
        self.next(checkpoint)
    }

    fn next(&self, checkpoint: Checkpoint) -> Lease {
        Lease {
            checkpoint,
            revision: self.revision + 1,
            renewable: self.renewable,
            in_flight_margin_millis: self.in_flight_margin_millis,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn granted(claim: Claim) -> (Lease, u64, Option<Unconfirmed>) {
        match claim {
            Claim::Granted {
                lease,
                start_record,
                uncertain,
            } => (lease, start_record, uncertain),
            other => panic!("not granted: {other:?}"),
        }
    }

    fn stored(lease: &Lease) -> Stored {
        Stored {
            checkpoint: lease.checkpoint.clone(),
            revision: lease.revision,
        }
    }

    #[test]
    fn a_new_object_is_granted_from_its_first_record_until_the_deadline() {
        let (lease, start, uncertain) = granted(claim(None, &request("a")));
        assert_eq!((start, uncertain, lease.revision), (0, None, 1));
        assert_eq!(lease.checkpoint.owner.as_deref(), Some("a"));
        assert_eq!(lease.checkpoint.lease_until_millis, LEASE_END);
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
        let progressed = held.progressed(700, NOW);
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
        assert_eq!(taken.checkpoint.owner.as_deref(), Some("b"));
    }

    #[test]
    fn a_done_object_is_already_forwarded_and_other_content_is_a_rewrite() {
        let (mut held, _, _) = granted(claim(None, &request("a")));
        held.opened(None, ETag::new("\"abc\"").as_ref()).unwrap();
        let done = stored(&held.finished(2500));
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
        let failed = stored(&held.progressed(1200, NOW).released(
            Some(Unconfirmed::Before(1900)),
            false,
            NOW,
        ));
        let (_, start, uncertain) = granted(claim(Some(&failed), &request("b")));
        assert_eq!((start, uncertain), (1200, Some(Unconfirmed::Before(1900))));
        let handed_off = stored(&held.progressed(1200, NOW).released(None, false, NOW));
        let (_, start, uncertain) = granted(claim(Some(&handed_off), &request("b")));
        assert_eq!((start, uncertain), (1200, None));
    }

    #[test]
    fn a_continuation_resumes_at_the_stored_record_whatever_its_message_says() {
        let (held, _, _) = granted(claim(None, &request("a")));
        let handed_off = stored(&held.progressed(1200, NOW).released(None, false, NOW));
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
        let lost_release = stored(&held.progressed(1200, NOW));
        let later = ClaimRequest {
            now_millis: LEASE_END + 1,
            ..continuation(1500)
        };
        let (_, start, uncertain) = granted(claim(Some(&lost_release), &later));
        assert_eq!((start, uncertain), (1200, Some(Unconfirmed::ToTheEnd)));
        let done = stored(&held.finished(2500));
        assert_eq!(
            claim(Some(&done), &continuation(1200)),
            Claim::Refused(Refusal::AlreadyForwarded)
        );
        // Never seen (the table came after the message): the message's record stands.
        let (_, start, _) = granted(claim(None, &continuation(800)));
        assert_eq!(start, 800);
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
        let done = stored(&held.finished(10));
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
        assert_eq!(again.progressed(5, NOW).revision, 3);
        let done = again.finished(9);
        assert_eq!((done.revision, done.checkpoint.done), (3, true));
        assert_eq!(done.checkpoint.owner, None);
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
        let lease = granted(claim(None, &request("a"))).0.progressed(700, NOW);
        let released = lease.released(Some(Unconfirmed::Before(1400)), true, NOW + 1_000);
        assert_eq!(released.checkpoint.owner.as_deref(), Some("a"));
        assert_eq!(
            released.checkpoint.lease_until_millis,
            NOW + 60_000 + MARGIN
        );

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
                uncertain,
                lease,
            } => {
                assert_eq!(
                    (start_record, uncertain),
                    (700, Some(Unconfirmed::Before(1400)))
                );
                // Held again: nothing known is written until this invocation releases.
                assert!(!lease.checkpoint.uncertain);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_release_with_puts_known_answered_frees_the_object_at_once_and_names_the_range() {
        let lease = granted(claim(None, &request("a"))).0.progressed(700, NOW);
        let released = lease.released(Some(Unconfirmed::Before(1400)), false, NOW + 1_000);
        assert_eq!(released.checkpoint.owner, None);
        assert_eq!(released.checkpoint.lease_until_millis, 0);
        assert_eq!(
            (
                released.checkpoint.uncertain,
                released.checkpoint.uncertain_until
            ),
            (true, Some(1400))
        );
        // A range already behind the checkpoint is nothing to read back.
        let behind = lease.released(Some(Unconfirmed::Before(700)), true, NOW);
        assert!(!behind.checkpoint.uncertain && behind.checkpoint.owner.is_none());
    }

    #[test]
    fn without_a_deadline_a_put_in_flight_holds_the_lease_for_the_margin_from_now() {
        let without_deadline = ClaimRequest {
            deadline_millis: None,
            ..request("cli")
        };
        let (lease, _, _) = granted(claim(None, &without_deadline));
        assert_eq!(
            lease.checkpoint.lease_until_millis,
            NOW + DEFAULT_LEASE_MILLIS + MARGIN
        );
        let released = lease.released(Some(Unconfirmed::ToTheEnd), true, NOW + 5_000);
        assert_eq!(released.checkpoint.lease_until_millis, NOW + 5_000 + MARGIN);
    }
}
