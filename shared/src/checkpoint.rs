//! One checkpoint per trail object (`CHECKPOINT_TABLE_NAME`): which content was read, who is
//! working on it until when, and the first record not yet delivered. The rules are here, pure;
//! the store ([`crate::ports::CheckpointStore`]) only loads an item and writes one on the
//! condition that nobody wrote since it was loaded (a revision number), so two invocations can
//! never both hold an object, and an invocation whose lease was taken over cannot write.
//!
//! Progress is written at batch boundaries: every record before `next_record` was delivered
//! (or filtered, or counted as rejected) and none after it. An invocation that dies, or whose
//! put failed, leaves the records from `next_record` on in an unknown state: some of the next
//! batches may have reached CloudWatch Logs. The next claim says so (`uncertain`), and the
//! pipeline reads those batches' streams back before sending them again.

/// Checkpoints expire after this long (DynamoDB TTL): CloudWatch Logs refuses events older
/// than 14 days, so an object redelivered later has nothing left to forward.
pub const CHECKPOINT_TTL_SECONDS: i64 = 15 * 24 * 60 * 60;

/// A lease granted without a known deadline (commands, local runs) lasts this long and is
/// renewed by each progress write.
pub const DEFAULT_LEASE_MILLIS: i64 = 15 * 60 * 1000;

/// The state of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The S3 version read, once the object was opened.
    pub version_id: Option<String>,
    /// The ETag read (without quotes), once the object was opened.
    pub e_tag: Option<String>,
    /// Every record before this one is delivered, none from it on (but see `uncertain`).
    pub next_record: u64,
    /// Every record was delivered.
    pub done: bool,
    /// The invocation working on the object; none when released.
    pub owner: Option<String>,
    /// When the owner's lease ends (epoch ms): its invocation's deadline.
    pub lease_until_millis: i64,
    /// A put from `next_record` on may have reached CloudWatch Logs without being recorded.
    pub uncertain: bool,
    /// DynamoDB TTL (epoch seconds).
    pub expires_at_seconds: i64,
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
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub now_millis: i64,
    /// The invocation's deadline (epoch ms), when known.
    pub deadline_millis: Option<i64>,
    /// What the notification says was written, when it says.
    pub version_id: Option<&'a str>,
    pub e_tag: Option<&'a str>,
    /// A continuation message's record (for the log; the store says where to resume).
    pub continuation_at: Option<u64>,
}

impl ClaimRequest<'_> {
    fn lease_until(&self) -> i64 {
        self.deadline_millis
            .unwrap_or(self.now_millis + DEFAULT_LEASE_MILLIS)
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Write `lease.checkpoint` at `lease.revision`, then read from `start_record`.
    Granted {
        lease: Lease,
        start_record: u64,
        /// Batches from `start_record` on may already be in CloudWatch Logs: read them back.
        uncertain: bool,
    },
    /// Every record was delivered before.
    AlreadyForwarded,
    /// The notification names other content than was forwarded under this key.
    Rewritten { forwarded: String, notified: String },
    /// Another invocation holds the object: try later.
    Leased { owner: String, until_millis: i64 },
}

/// The checkpoint an invocation holds, and the revision its next write must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub checkpoint: Checkpoint,
    pub revision: u64,
    /// Granted without a deadline: each progress write extends it.
    pub renewable: bool,
}

/// Decides a claim on what is stored (`None`: never seen).
pub fn claim(stored: Option<&Stored>, request: &ClaimRequest<'_>) -> Claim {
    let expires_at_seconds = request.now_millis / 1000 + CHECKPOINT_TTL_SECONDS;
    let Some(stored) = stored else {
        return Claim::Granted {
            lease: Lease {
                // The content is pinned when the object is opened, to what was read: a
                // notification may name content already overwritten.
                checkpoint: Checkpoint {
                    version_id: None,
                    e_tag: None,
                    next_record: request.continuation_at.unwrap_or(0),
                    done: false,
                    owner: Some(request.owner.to_owned()),
                    lease_until_millis: request.lease_until(),
                    uncertain: false,
                    expires_at_seconds,
                },
                revision: 1,
                renewable: request.deadline_millis.is_none(),
            },
            start_record: request.continuation_at.unwrap_or(0),
            uncertain: false,
        };
    };
    let current = &stored.checkpoint;
    if let Some((forwarded, notified)) = different_content(current, request) {
        return Claim::Rewritten {
            forwarded,
            notified,
        };
    }
    if current.done {
        return Claim::AlreadyForwarded;
    }
    let held_by_other = current
        .owner
        .as_deref()
        .is_some_and(|owner| owner != request.owner);
    if held_by_other && current.lease_until_millis > request.now_millis {
        return Claim::Leased {
            owner: current.owner.clone().unwrap_or_default(),
            until_millis: current.lease_until_millis,
        };
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
    // A lease still set was not released: its invocation died (or this one, retried).
    let uncertain = current.uncertain || current.owner.is_some();
    let mut checkpoint = current.clone();
    checkpoint.owner = Some(request.owner.to_owned());
    checkpoint.lease_until_millis = request.lease_until();
    checkpoint.uncertain = false;
    checkpoint.expires_at_seconds = expires_at_seconds;
    Claim::Granted {
        start_record: checkpoint.next_record,
        lease: Lease {
            checkpoint,
            revision: stored.revision + 1,
            renewable: request.deadline_millis.is_none(),
        },
        uncertain,
    }
}

/// The stored and the notified content, when both are known and differ.
fn different_content(current: &Checkpoint, request: &ClaimRequest<'_>) -> Option<(String, String)> {
    if let (Some(stored), Some(notified)) = (&current.version_id, request.version_id)
        && stored != notified
    {
        return Some((format!("version {stored}"), format!("version {notified}")));
    }
    if let (Some(stored), Some(notified)) = (&current.e_tag, request.e_tag.map(unquoted))
        && *stored != notified
    {
        return Some((format!("ETag {stored}"), format!("ETag {notified}")));
    }
    None
}

/// S3 quotes ETags in responses and not in notifications.
pub fn unquoted(e_tag: &str) -> String {
    e_tag.trim_matches('"').to_owned()
}

impl Lease {
    /// The checkpoint after the object was opened: the content read is pinned (a later write
    /// compares against it). `Err`: the object is not what the checkpoint says was read.
    pub fn opened(
        &mut self,
        version_id: Option<&str>,
        e_tag: Option<&str>,
    ) -> Result<(), (String, String)> {
        let request = ClaimRequest {
            owner: "",
            now_millis: 0,
            deadline_millis: None,
            version_id,
            e_tag,
            continuation_at: None,
        };
        if let Some(difference) = different_content(&self.checkpoint, &request) {
            return Err(difference);
        }
        let checkpoint = &mut self.checkpoint;
        checkpoint.version_id = checkpoint
            .version_id
            .take()
            .or_else(|| version_id.map(str::to_owned));
        checkpoint.e_tag = checkpoint.e_tag.take().or_else(|| e_tag.map(unquoted));
        Ok(())
    }

    /// The next write: every record before `next_record` is delivered; still held.
    pub fn progressed(&self, next_record: u64, now_millis: i64) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.next_record = next_record;
        if self.renewable {
            checkpoint.lease_until_millis = now_millis + DEFAULT_LEASE_MILLIS;
        }
        self.next(checkpoint)
    }

    /// The last write: every record delivered.
    pub fn finished(&self, next_record: u64) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.next_record = next_record;
        checkpoint.done = true;
        checkpoint.owner = None;
        checkpoint.lease_until_millis = 0;
        self.next(checkpoint)
    }

    /// Stops working on the object (handed off, failed): the next invocation may start at once.
    /// `uncertain`: a put after the last progress write may have reached CloudWatch Logs.
    pub fn released(&self, uncertain: bool) -> Lease {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.owner = None;
        checkpoint.lease_until_millis = 0;
        checkpoint.uncertain = uncertain;
        self.next(checkpoint)
    }

    fn next(&self, checkpoint: Checkpoint) -> Lease {
        Lease {
            checkpoint,
            revision: self.revision + 1,
            renewable: self.renewable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn request(owner: &str) -> ClaimRequest<'_> {
        ClaimRequest {
            owner,
            now_millis: NOW,
            deadline_millis: Some(NOW + 60_000),
            version_id: None,
            e_tag: Some("abc"),
            continuation_at: None,
        }
    }

    fn granted(claim: Claim) -> (Lease, u64, bool) {
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
        assert_eq!((start, uncertain, lease.revision), (0, false, 1));
        assert_eq!(lease.checkpoint.owner.as_deref(), Some("a"));
        assert_eq!(lease.checkpoint.lease_until_millis, NOW + 60_000);
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
            Claim::Leased {
                owner: "a".into(),
                until_millis: NOW + 60_000
            }
        );
        let later = ClaimRequest {
            now_millis: NOW + 60_001,
            ..request("b")
        };
        let (taken, start, uncertain) = granted(claim(Some(&stored(&progressed)), &later));
        assert_eq!((start, uncertain), (700, true));
        assert_eq!(taken.revision, progressed.revision + 1);
        assert_eq!(taken.checkpoint.owner.as_deref(), Some("b"));
    }

    #[test]
    fn a_done_object_is_already_forwarded_and_other_content_is_a_rewrite() {
        let (mut held, _, _) = granted(claim(None, &request("a")));
        held.opened(None, Some("\"abc\"")).unwrap();
        let done = stored(&held.finished(2500));
        assert_eq!(claim(Some(&done), &request("b")), Claim::AlreadyForwarded);
        let rewritten = ClaimRequest {
            e_tag: Some("\"other\""),
            ..request("b")
        };
        assert_eq!(
            claim(Some(&done), &rewritten),
            Claim::Rewritten {
                forwarded: "ETag abc".into(),
                notified: "ETag other".into()
            }
        );
        // A notification that names no content is compared after the object is opened.
        let unnamed = ClaimRequest {
            e_tag: None,
            ..request("b")
        };
        assert_eq!(claim(Some(&done), &unnamed), Claim::AlreadyForwarded);
    }

    #[test]
    fn a_released_object_resumes_from_the_store_not_from_zero() {
        let (held, _, _) = granted(claim(None, &request("a")));
        let failed = stored(&held.progressed(1200, NOW).released(true));
        let (_, start, uncertain) = granted(claim(Some(&failed), &request("b")));
        assert_eq!((start, uncertain), (1200, true));
        let handed_off = stored(&held.progressed(1200, NOW).released(false));
        let (_, start, uncertain) = granted(claim(Some(&handed_off), &request("b")));
        assert_eq!((start, uncertain), (1200, false));
    }

    #[test]
    fn a_continuation_resumes_at_the_stored_record_whatever_its_message_says() {
        let (held, _, _) = granted(claim(None, &request("a")));
        let handed_off = stored(&held.progressed(1200, NOW).released(false));
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
            now_millis: NOW + 60_001,
            ..continuation(1500)
        };
        let (_, start, uncertain) = granted(claim(Some(&lost_release), &later));
        assert_eq!((start, uncertain), (1200, true));
        let done = stored(&held.finished(2500));
        assert_eq!(
            claim(Some(&done), &continuation(1200)),
            Claim::AlreadyForwarded
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
            e_tag: Some("stale"),
            ..request("a")
        };
        let (mut held, _, _) = granted(claim(None, &stale));
        held.opened(None, Some("\"fresh\"")).unwrap();
        let done = stored(&held.finished(10));
        let fresh = ClaimRequest {
            e_tag: Some("fresh"),
            ..request("b")
        };
        assert_eq!(claim(Some(&done), &fresh), Claim::AlreadyForwarded);
    }

    #[test]
    fn the_content_opened_is_pinned_and_other_content_refused() {
        let unnamed = ClaimRequest {
            e_tag: None,
            ..request("a")
        };
        let (mut lease, _, _) = granted(claim(None, &unnamed));
        lease.opened(Some("v1"), Some("\"abc\"")).unwrap();
        assert_eq!(lease.checkpoint.version_id.as_deref(), Some("v1"));
        assert_eq!(lease.checkpoint.e_tag.as_deref(), Some("abc"));
        assert_eq!(
            lease.clone().opened(Some("v2"), Some("\"abc\"")),
            Err(("version v1".into(), "version v2".into()))
        );
    }

    #[test]
    fn our_own_expired_lease_is_retaken_and_every_write_advances_the_revision() {
        let (held, _, _) = granted(claim(None, &request("a")));
        let (again, _, uncertain) = granted(claim(Some(&stored(&held)), &request("a")));
        assert!(uncertain, "a lease still set was never released");
        assert_eq!(again.revision, 2);
        assert_eq!(again.progressed(5, NOW).revision, 3);
        let done = again.finished(9);
        assert_eq!((done.revision, done.checkpoint.done), (3, true));
        assert_eq!(done.checkpoint.owner, None);
    }
}
