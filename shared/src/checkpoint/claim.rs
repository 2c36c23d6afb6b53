//! The rules of a claim: who may work on an object, from which record, and each write an
//! invocation makes while it holds it ([`Holding`]).

use super::state::{
    CHECKPOINT_TTL_SECONDS, Checkpoint, DEFAULT_LEASE_MILLIS, Lease, LedgerState, RecordCounts,
    Stored, Unconfirmed,
};
use crate::object::{ETag, Sha256};

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
    /// Write `holding.checkpoint` at `holding.revision`, then read from `start_record`.
    Granted {
        holding: Holding,
        start_record: u64,
        /// Records from `start_record` on that may already be in CloudWatch Logs: the batches
        /// holding them are read back before they are sent.
        unconfirmed: Option<Unconfirmed>,
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
pub struct Holding {
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
    let holding = |checkpoint, revision| Holding {
        checkpoint,
        revision,
        renewable: request.deadline_millis.is_none(),
        in_flight_margin_millis: request.in_flight_margin_millis,
    };
    let held = Lease::Held {
        owner: request.owner.to_owned(),
        until_millis: request.lease_until(),
    };
    let Some(stored) = stored else {
        // Ours follow the checkpoint of the invocation that handed off: one for an object
        // never seen may be forged (a direct invocation, a queue sender). Read from record 0.
        if let Some(message_next) = request.continuation_at.filter(|next| *next > 0) {
            tracing::warn!(
                message_next,
                "continuation for an object with no checkpoint: not ours, read from the start"
            );
        }
        let checkpoint = Checkpoint {
            lease: held,
            expires_at_seconds,
            ..Checkpoint::default()
        };
        return Claim::Granted {
            // The content is pinned when the object is opened, to what was read: a
            // notification may name content already overwritten.
            holding: holding(checkpoint, 1),
            start_record: 0,
            unconfirmed: None,
        };
    };
    let current = &stored.checkpoint;
    if let Some(rewritten) = different_content(current, request.version_id, request.e_tag.as_ref())
    {
        return Claim::Refused(rewritten);
    }
    if current.ledger.is_done() {
        return Claim::Refused(Refusal::AlreadyForwarded);
    }
    if let Some((owner, until_millis)) = current.lease.holder() {
        // A put in flight is waited out even by its own invocation (a retried direct
        // invocation keeps its request id).
        let in_flight = matches!(current.lease, Lease::InFlight { .. });
        if (owner != request.owner || in_flight) && until_millis > request.now_millis {
            return Claim::Refused(Refusal::Leased {
                owner: owner.to_owned(),
                until_millis,
                in_flight,
            });
        }
    }
    // A continuation resumes where the store says, not where its message says: the message
    // may be overtaken (a redelivery resumed further) or ahead (the handoff's last write was
    // lost, and the records after the stored one are then read back). Only a done object, or
    // a held one, turns a continuation away.
    if let Some(message_next) = request.continuation_at
        && message_next != current.ledger.next_record
    {
        tracing::info!(
            message_next,
            stored_next = current.ledger.next_record,
            "continuation resumes at the checkpoint's record"
        );
    }
    let unconfirmed = current.unconfirmed();
    let mut checkpoint = current.clone();
    // Held, the checkpoint says nothing of what is unconfirmed: if this invocation dies, how
    // far it got is unknown (a lease never released), whatever was known before.
    checkpoint.lease = held;
    checkpoint.expires_at_seconds = expires_at_seconds;
    Claim::Granted {
        start_record: checkpoint.ledger.next_record,
        holding: holding(checkpoint, stored.revision + 1),
        unconfirmed,
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

impl Holding {
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

    /// The next write: every record before `next_record` is delivered, `counts` says what
    /// became of them; still held.
    pub fn progressed(&self, next_record: u64, counts: RecordCounts, now_millis: i64) -> Holding {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.ledger.next_record = next_record;
        checkpoint.ledger.counts = counts;
        if self.renewable
            && let Lease::Held { until_millis, .. } = &mut checkpoint.lease
        {
            *until_millis = now_millis + DEFAULT_LEASE_MILLIS + self.in_flight_margin_millis;
        }
        self.next(checkpoint)
    }

    /// The last write: every record delivered; `sha256` of the decompressed bytes read.
    pub fn finished(
        &self,
        next_record: u64,
        counts: RecordCounts,
        sha256: Option<Sha256>,
    ) -> Holding {
        let mut checkpoint = self.checkpoint.clone();
        checkpoint.ledger.next_record = next_record;
        checkpoint.ledger.counts = counts;
        checkpoint.ledger.state = LedgerState::Done { sha256 };
        checkpoint.lease = Lease::default();
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
    ) -> Holding {
        let mut checkpoint = self.checkpoint.clone();
        let unconfirmed = unconfirmed.and_then(|u| u.after(checkpoint.ledger.next_record));
        checkpoint.lease = match (unconfirmed, checkpoint.lease.holder()) {
            (Some(unconfirmed), Some((owner, until_millis))) if in_flight => Lease::InFlight {
                owner: owner.to_owned(),
                until_millis: if self.renewable {
                    now_millis + self.in_flight_margin_millis
                } else {
                    until_millis
                },
                unconfirmed,
            },
            _ => Lease::Free { unconfirmed },
        };
        self.next(checkpoint)
    }

    fn next(&self, checkpoint: Checkpoint) -> Holding {
        Holding {
            checkpoint,
            revision: self.revision + 1,
            renewable: self.renewable,
            in_flight_margin_millis: self.in_flight_margin_millis,
        }
    }
}
