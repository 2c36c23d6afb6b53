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

mod claim;
mod state;
#[cfg(test)]
mod tests;

pub use claim::{Claim, ClaimRequest, Holding, Refusal, claim};
pub use state::{
    CHECKPOINT_TTL_SECONDS, Checkpoint, DEFAULT_IN_FLIGHT_MARGIN_SECONDS, DEFAULT_LEASE_MILLIS,
    Lease, Ledger, LedgerState, RecordCounts, Stored, Unconfirmed, Written,
};
