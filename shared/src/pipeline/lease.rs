//! An object's checkpoint while an invocation works on it: claimed before reading, advanced at
//! each batch boundary once its batches are delivered, finished or released at the end. The
//! rules are [`crate::checkpoint`]'s; this is their conversation with the store.

use crate::checkpoint::{
    Checkpoint, Claim, ClaimRequest, Holding, LedgerState, RecordCounts, Refusal, Unconfirmed,
    Written, claim,
};
use crate::clock::now_millis;
use crate::logs::Batch;
use crate::object::Sha256;
use crate::ports::{CallError, CheckpointStore};

/// Claims lost to a concurrent writer before giving up for now (each is a fresh read).
const CLAIM_ATTEMPTS: usize = 3;

/// The object claimed, or why not.
#[derive(Debug)]
pub enum Claimed<'c, C> {
    Held(Box<Held<'c, C>>),
    /// Not to be read: why.
    Refused(Refusal),
}

/// Loads the checkpoint, decides, and writes the claim; a lost race is decided again on what
/// the winner wrote.
pub async fn claim_object<'c, C: CheckpointStore>(
    store: &'c C,
    bucket: &str,
    key: &str,
    request: &ClaimRequest<'_>,
) -> Result<Claimed<'c, C>, CallError> {
    for _ in 0..CLAIM_ATTEMPTS {
        let stored = store.load(bucket, key).await?;
        match claim(stored.as_ref(), request) {
            Claim::Granted {
                holding,
                start_record,
                unconfirmed,
            } => {
                let written =
                    store_confirmed(store, bucket, key, &holding.checkpoint, holding.revision)
                        .await?;
                if written == Written::Stored {
                    return Ok(Claimed::Held(Box::new(Held {
                        store,
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        before: holding.checkpoint.ledger.counts,
                        holding,
                        start_record,
                        earlier_unconfirmed: unconfirmed,
                        own_unconfirmed_until: None,
                        in_flight: false,
                    })));
                }
            }
            Claim::Refused(refusal) => return Ok(Claimed::Refused(refusal)),
        }
    }
    Err(CallError::transient(
        format!("claiming s3://{bucket}/{key} in the checkpoint table"),
        "other invocations kept writing its checkpoint",
    ))
}

/// A conditional write whose answer may have been lost: the SDK retries a write that timed
/// out or met a 5xx, and when the first attempt was applied, the retry's condition fails on
/// our own write. So a conflict, or a transient failure, is checked by reading the item: at
/// our revision with our content, it was stored.
async fn store_confirmed<C: CheckpointStore>(
    store: &C,
    bucket: &str,
    key: &str,
    checkpoint: &Checkpoint,
    revision: u64,
) -> Result<Written, CallError> {
    let answer = store.store(bucket, key, checkpoint, revision).await;
    if matches!(&answer, Ok(Written::Stored)) || matches!(&answer, Err(e) if !e.is_transient()) {
        return answer;
    }
    match store.load(bucket, key).await {
        Ok(Some(found)) if found.revision == revision && found.checkpoint == *checkpoint => {
            tracing::info!(
                revision,
                "checkpoint write found stored after an unclear answer"
            );
            Ok(Written::Stored)
        }
        // What the write answered stands: the item is someone else's, or unreadable now.
        _ => answer,
    }
}

/// Why an invocation stops working on an object it did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Every record before `at` is delivered; `counts`: what this invocation made of them.
    HandOff { at: u64, counts: RecordCounts },
    /// Failed for good: the reason is kept in the checkpoint, to be reported.
    FailedForGood(String),
    /// Skipped, or failed for now: the checkpoint stays at its last progress.
    Retry,
}

/// An object this invocation holds.
#[derive(Debug)]
pub struct Held<'c, C> {
    store: &'c C,
    bucket: String,
    key: String,
    pub holding: Holding,
    /// Where this invocation starts reading.
    pub start_record: u64,
    /// What became of the records before `start_record`, by earlier invocations.
    before: RecordCounts,
    /// Records an earlier invocation may have delivered without recording it: the batches
    /// holding them are read back before they are sent, until a boundary passes them.
    earlier_unconfirmed: Option<Unconfirmed>,
    /// This invocation's puts since its last progress write end before this record.
    own_unconfirmed_until: Option<u64>,
    /// One of those puts failed with an unknown outcome (a 5xx, a timeout, a connection
    /// lost): CloudWatch Logs may still store it.
    in_flight: bool,
}

impl<C: CheckpointStore> Held<'_, C> {
    /// Whether `batch` may hold records already in CloudWatch Logs.
    pub fn needs_read_back(&self, batch: &Batch) -> bool {
        let first = batch.events.iter().map(|e| e.record_index).min();
        matches!((self.earlier_unconfirmed, first), (Some(range), Some(first)) if range.covers(first))
    }

    /// A put of `batch` is about to be sent: until the next progress write its records may be
    /// in CloudWatch Logs without the checkpoint saying so.
    pub fn put_attempted(&mut self, batch: &Batch) {
        if let Some(last) = batch.events.iter().map(|e| e.record_index).max() {
            self.own_unconfirmed_until =
                Some(self.own_unconfirmed_until.unwrap_or(0).max(last + 1));
        }
    }

    /// The put failed; `outcome_unknown`: it may still be stored (see [`CallError`]).
    pub fn put_failed(&mut self, outcome_unknown: bool) {
        self.in_flight |= outcome_unknown;
    }

    /// Every record before `next_record` is delivered; `counts`: what this invocation made of
    /// them.
    pub async fn progress(
        &mut self,
        next_record: u64,
        counts: RecordCounts,
    ) -> Result<(), CallError> {
        let counts = self.before.plus(counts);
        let next = self.holding.progressed(next_record, counts, now_millis());
        self.write(next).await?;
        self.own_unconfirmed_until = None;
        self.earlier_unconfirmed = self
            .earlier_unconfirmed
            .and_then(|range| range.after(next_record));
        Ok(())
    }

    /// Every record is delivered; `counts`: what this invocation made of its records;
    /// `sha256`: the hash of the object's decompressed bytes.
    pub async fn finish(
        &mut self,
        next_record: u64,
        counts: RecordCounts,
        sha256: Option<Sha256>,
    ) -> Result<(), CallError> {
        let next = self
            .holding
            .finished(next_record, self.before.plus(counts), sha256);
        self.write(next).await
    }

    /// Stops working on the object: handed off at `Release::HandOff` (every record before
    /// it delivered), failed for good, or left to a retry. What is still unconfirmed (this
    /// invocation's last puts, and what it had to read back and did not reach) is written for
    /// the next invocation to read back; with a put in flight, the lease is kept until it can
    /// no longer land.
    pub async fn release(&mut self, release: Release) -> Result<(), CallError> {
        let unconfirmed = Unconfirmed::union(
            self.earlier_unconfirmed,
            self.own_unconfirmed_until.map(Unconfirmed::Before),
        );
        let mut holding = self.holding.clone();
        let ledger = &mut holding.checkpoint.ledger;
        match release {
            Release::HandOff { at, counts } => {
                ledger.next_record = at;
                ledger.counts = self.before.plus(counts);
            }
            Release::FailedForGood(reason) => ledger.state = LedgerState::Failed(reason),
            Release::Retry => {}
        }
        let next = holding.released(unconfirmed, self.in_flight, now_millis());
        self.write(next).await
    }

    async fn write(&mut self, next: Holding) -> Result<(), CallError> {
        let written = store_confirmed(
            self.store,
            &self.bucket,
            &self.key,
            &next.checkpoint,
            next.revision,
        )
        .await?;
        match written {
            Written::Stored => {
                self.holding = next;
                Ok(())
            }
            // Our lease ended (the deadline passed) and another invocation took the object.
            Written::Conflict => Err(CallError::transient(
                format!(
                    "writing the checkpoint of s3://{}/{}",
                    self.bucket, self.key
                ),
                "another invocation took the object over; it resumes from the last checkpoint",
            )),
        }
    }
}
