//! An object's checkpoint while an invocation works on it: claimed before reading, advanced at
//! each batch boundary once its batches are delivered, finished or released at the end. The
//! rules are [`crate::checkpoint`]'s; this is their conversation with the store.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::checkpoint::{Claim, ClaimRequest, Lease, Written, claim};
use crate::ports::{CallError, CheckpointStore};

/// Claims lost to a concurrent writer before giving up for now (each is a fresh read).
const CLAIM_ATTEMPTS: usize = 3;

/// The object claimed, or why not.
#[derive(Debug)]
pub enum Claimed<'c, C> {
    Held(Held<'c, C>),
    /// Not to be read: the claim's answer says why.
    Refused(Claim),
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
                lease,
                start_record,
                uncertain,
            } => {
                let written = store
                    .store(bucket, key, &lease.checkpoint, lease.revision)
                    .await?;
                if written == Written::Stored {
                    return Ok(Claimed::Held(Held {
                        store,
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        lease,
                        start_record,
                        read_back: uncertain,
                        unconfirmed: false,
                    }));
                }
            }
            refused => return Ok(Claimed::Refused(refused)),
        }
    }
    Err(CallError::new(
        format!("claiming s3://{bucket}/{key} in the checkpoint table"),
        true,
        "other invocations kept writing its checkpoint",
    ))
}

/// An object this invocation holds.
#[derive(Debug)]
pub struct Held<'c, C> {
    store: &'c C,
    bucket: String,
    key: String,
    pub lease: Lease,
    /// Where this invocation starts reading.
    pub start_record: u64,
    /// The batches up to the first boundary may already be in CloudWatch Logs: read their
    /// streams back before sending them.
    pub read_back: bool,
    /// A put was attempted after the last progress write: its outcome is not recorded.
    pub unconfirmed: bool,
}

impl<C: CheckpointStore> Held<'_, C> {
    /// Every record before `next_record` is delivered.
    pub async fn progress(&mut self, next_record: u64) -> Result<(), CallError> {
        let next = self.lease.progressed(next_record, epoch_millis());
        self.write(next).await?;
        self.unconfirmed = false;
        self.read_back = false;
        Ok(())
    }

    /// Every record is delivered.
    pub async fn finish(&mut self, next_record: u64) -> Result<(), CallError> {
        let next = self.lease.finished(next_record);
        self.write(next).await
    }

    /// Stops working on the object, so the next invocation may start at once; `at`: every
    /// record before it is delivered (a handoff).
    pub async fn release_at(&mut self, at: Option<u64>) -> Result<(), CallError> {
        let mut next = self.lease.released(self.unconfirmed || self.read_back);
        if let Some(at) = at {
            next.checkpoint.next_record = at;
        }
        self.write(next).await
    }

    async fn write(&mut self, next: Lease) -> Result<(), CallError> {
        let written = self
            .store
            .store(&self.bucket, &self.key, &next.checkpoint, next.revision)
            .await?;
        match written {
            Written::Stored => {
                self.lease = next;
                Ok(())
            }
            // Our lease ended (the deadline passed) and another invocation took the object.
            Written::Conflict => Err(CallError::new(
                format!(
                    "writing the checkpoint of s3://{}/{}",
                    self.bucket, self.key
                ),
                true,
                "another invocation took the object over; it resumes from the last checkpoint",
            )),
        }
    }
}

/// Now, as epoch milliseconds.
pub fn epoch_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
