//! What a checkpoint holds: the ledger of an object's records, the lease on it, and what a
//! write to the store answers.

use crate::object::{ETag, Sha256};

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

/// The state of one object: which content was read, the [`Ledger`] of what became of its
/// records, and the [`Lease`] saying who may be writing them now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The S3 version read, once the object was opened.
    pub version_id: Option<String>,
    /// The ETag read, once the object was opened.
    pub e_tag: Option<ETag>,
    /// DynamoDB TTL (epoch seconds).
    pub expires_at_seconds: i64,
    pub ledger: Ledger,
    pub lease: Lease,
}

/// What became of an object's records, over every invocation: what the validator reconciles
/// with a digest. It knows nothing of who is working on the object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Every record before this one is delivered, none from it on (but see [`Lease`]).
    pub next_record: u64,
    /// What became of the records before `next_record`.
    pub counts: RecordCounts,
    pub state: LedgerState,
}

/// How far the ledger of an object got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LedgerState {
    /// Not every record is delivered yet.
    #[default]
    Open,
    /// An invocation failed the object for good, for this reason (reported until a later
    /// invocation finishes it).
    Failed(String),
    /// Every record was delivered. `sha256`: of the object's decompressed bytes, as its digest
    /// records it; none from versions that did not record it.
    Done { sha256: Option<Sha256> },
}

impl Ledger {
    pub fn is_done(&self) -> bool {
        matches!(self.state, LedgerState::Done { .. })
    }

    /// Whether every record before `next_record` is counted: forwarded, filtered or rejected.
    /// Counts add up from the first record over every invocation, so fewer means records
    /// were skipped.
    pub fn accounts_for_every_record(&self) -> bool {
        self.counts.records == self.next_record
    }

    /// The hash recorded when the object was done.
    pub fn sha256(&self) -> Option<Sha256> {
        match self.state {
            LedgerState::Done { sha256 } => sha256,
            _ => None,
        }
    }

    /// Why the object failed for good, when it did.
    pub fn failure(&self) -> Option<&str> {
        match &self.state {
            LedgerState::Failed(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Who may be writing an object's records to CloudWatch Logs now, and which records may be
/// there without the ledger saying so ([`Unconfirmed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// Nobody: the next invocation may start at once, reading `unconfirmed` back first.
    Free { unconfirmed: Option<Unconfirmed> },
    /// An invocation works on the object until `until_millis` (its deadline plus the in-flight
    /// margin). If it dies, how far its puts got is unknown: every record from `next_record`.
    Held { owner: String, until_millis: i64 },
    /// Its invocation stopped with a put of unknown outcome, which may still be stored until
    /// `until_millis`: nobody reads `unconfirmed` back before.
    InFlight {
        owner: String,
        until_millis: i64,
        unconfirmed: Unconfirmed,
    },
}

impl Default for Lease {
    fn default() -> Self {
        Lease::Free { unconfirmed: None }
    }
}

impl Lease {
    /// The invocation holding the object, and until when.
    pub fn holder(&self) -> Option<(&str, i64)> {
        match self {
            Lease::Free { .. } => None,
            Lease::Held {
                owner,
                until_millis,
            }
            | Lease::InFlight {
                owner,
                until_millis,
                ..
            } => Some((owner, *until_millis)),
        }
    }

    pub fn owner(&self) -> Option<&str> {
        self.holder().map(|(owner, _)| owner)
    }

    /// The records written as unconfirmed (a held lease writes none: all of them are).
    pub fn unconfirmed(&self) -> Option<Unconfirmed> {
        match self {
            Lease::Free { unconfirmed } => *unconfirmed,
            Lease::Held { .. } => None,
            Lease::InFlight { unconfirmed, .. } => Some(*unconfirmed),
        }
    }
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
    pub(super) fn unconfirmed(&self) -> Option<Unconfirmed> {
        let range = match &self.lease {
            Lease::Free { unconfirmed } => *unconfirmed,
            // A lease never released: its invocation died, how far its puts got is unknown.
            Lease::Held { .. } => Some(Unconfirmed::ToTheEnd),
            Lease::InFlight { unconfirmed, .. } => Some(*unconfirmed),
        };
        range.and_then(|range| range.after(self.ledger.next_record))
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
