//! The validator's invocation over its ports, as the forwarder's pipeline is: read what the
//! payload asks ([`request`]), validate (each delivered digest, a range in-process or fanned
//! out, or the newest digest of every region for lateness), reconcile each validation with the
//! forwarder's table ([`reconcile`]), write one event per verdict ([`write`]), and build the
//! [`outcome`] whole, from which the handler reads its answer and metrics.

pub mod metrics;
pub mod outcome;
pub mod ports;
pub mod recheck;
pub mod reconcile;
pub mod request;
pub mod status;
pub mod write;

#[cfg(test)]
mod recheck_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

pub use outcome::{Checked, InvocationError, Outcome};
pub use ports::{RangeQueue, RepairQueue};
pub use recheck::Recheck;
pub use reconcile::{Reconciled, Reconciler};
pub use request::{RangeKind, Request, RequestError, Unreadable};

use crate::audit::{Audit, AuditSettings, audit_validated};
use crate::digest::keys::KeyCache;
use crate::digest::locate::{
    locate, part_request, parts_without_digests, trail_of_digest, trail_parts,
};
use crate::digest::provenance::ForwardRecords;
use crate::digest::request::{RangeRequest, RequestError as RangeError, ValidationError};
use crate::digest::silence::{Lateness, check_lateness};
use crate::digest::store::{DigestStore, PublicKeySource, TrailDirectory};
use crate::digest::validate::{
    Validated, validate_delivered_digest, validate_part, validate_part_without_digests,
};
use crate::ports::LogSink;

/// The adapters a validator works through: AWS in the function, memory in tests.
pub trait ValidatorPorts: 'static {
    type Store: DigestStore;
    type Keys: PublicKeySource;
    type Directory: TrailDirectory;
    type Sink: LogSink;
    type Ranges: RangeQueue;
    type Records: ForwardRecords + Send + Sync;
    type Repairs: RepairQueue;
}

/// The validator over its ports, built once per cold start.
pub struct Validator<P: ValidatorPorts> {
    pub store: Arc<P::Store>,
    /// Keys fetched so far, for the life of the process.
    pub keys: KeyCache<P::Keys>,
    pub directory: P::Directory,
    pub sink: P::Sink,
    /// The integrity group, where every verdict is written.
    pub log_group: Arc<str>,
    /// `DIGEST_QUEUE_URL`: a range over more than one account and region is sent here, one
    /// message per account and region; without it, every part is validated in-process.
    pub fan_out: Option<P::Ranges>,
    /// `CHECKPOINT_TABLE_NAME`: listed log files reconciled with what the forwarder recorded.
    pub reconciler: Option<Reconciler<P::Records, P::Repairs>>,
    /// The forwarder's configuration (`LOG_GROUP_NAME` or `ROUTES`, `EVENT_SELECTORS`): where
    /// an `auditLogs` request reads the records back.
    pub audit: Option<AuditSettings>,
}

/// What the checks found before reconciliation.
#[derive(Default)]
struct Work {
    validated: Vec<Validated>,
    /// Rechecks whose time has come: pending files as their digests listed them.
    rechecked: Vec<Validated>,
    rechecks_sent: usize,
    audits: Vec<Audit>,
    lateness: Vec<Lateness>,
    fanned_out: usize,
    unreadable: usize,
    errors: Vec<ValidationError>,
}

impl<P: ValidatorPorts> Validator<P> {
    /// Runs one invocation: checks what `payload` asks, reconciles, writes every verdict to
    /// the integrity group, and returns what was found.
    pub async fn handle(&self, payload: &Value, now: i64) -> Result<Outcome, InvocationError> {
        let work = self.run(Request::from_payload(payload)?, now).await;
        let mut checked = Vec::with_capacity(work.validated.len() + work.rechecked.len());
        let mut rechecks_sent = work.rechecks_sent;
        let validated = work.validated.into_iter().map(|v| (v, false));
        let rechecked = work.rechecked.into_iter().map(|v| (v, true));
        for (validated, recheck) in validated.chain(rechecked) {
            let reconciled = match &self.reconciler {
                Some(reconciler) => Some(reconciler.reconcile(&validated.report, now).await),
                None => None,
            };
            if let (Some(reconciled), Some(reconciler)) = (&reconciled, &self.reconciler) {
                let grace = reconciler.grace_seconds;
                let rechecks = Recheck::of_pending(&validated, &reconciled.verdicts, grace);
                rechecks_sent += self.send_rechecks(&rechecks, now).await;
            }
            checked.push(Checked {
                validated,
                reconciled,
                recheck,
            });
        }
        let outcome = Outcome {
            checked,
            audits: work.audits,
            lateness: work.lateness,
            fanned_out: work.fanned_out,
            rechecks_sent,
            unreadable: work.unreadable,
            errors: work.errors,
        };
        write::write_events(&self.sink, &self.log_group, &outcome, now)
            .await
            .map_err(InvocationError::Verdicts)?;
        Ok(outcome)
    }

    /// Does what the request asks: `checkDigestsLate`; a `validateRange` (from the schedule,
    /// or in an SQS message of the fan-out); or each delivered digest.
    async fn run(&self, request: Request, now: i64) -> Work {
        let mut work = Work::default();
        match request {
            Request::CheckDigestsLate(request) => {
                match self.check_digests_late(&request, now).await {
                    Ok(lateness) => work.lateness = lateness,
                    Err(error) => work.errors.push(error),
                }
            }
            Request::ValidateRange(request) => {
                self.range(RangeKind::Validate, &request, now, &mut work)
                    .await;
            }
            Request::AuditLogs(request) => {
                self.range(RangeKind::Audit, &request, now, &mut work).await
            }
            Request::Delivered {
                ranges,
                objects,
                rechecks,
                unreadable,
            } => {
                for recheck in rechecks {
                    self.recheck(recheck, now, &mut work).await;
                }
                log_unreadable(&unreadable);
                work.unreadable = unreadable.len();
                for (kind, request) in ranges {
                    self.range(kind, &request, now, &mut work).await;
                }
                for (bucket, key) in objects {
                    self.validate_digest(&bucket, &key, &mut work).await;
                }
            }
        }
        work
    }

    /// A recheck whose time has come is reconciled (in [`Self::handle`]); one that came early
    /// (SQS delays at most 15 minutes) is sent on, and a send that fails fails the invocation,
    /// so that SQS delivers it again.
    async fn recheck(&self, recheck: Recheck, now: i64, work: &mut Work) {
        if let (false, Some(queue)) = (recheck.is_due(now), &self.fan_out) {
            match queue.send_recheck(&recheck, recheck.delay(now)).await {
                Ok(()) => work.rechecks_sent += 1,
                Err(error) => work.errors.push(error.into()),
            }
            return;
        }
        if let Some(validated) = recheck.as_validated() {
            work.rechecked.push(validated);
        }
    }

    /// Sends each recheck, delayed until its time; how many were sent. Without the digest
    /// queue, or when a send fails, the files wait for the next range (the daily one).
    async fn send_rechecks(&self, rechecks: &[Recheck], now: i64) -> usize {
        let Some(queue) = &self.fan_out else {
            if !rechecks.is_empty() {
                tracing::info!(
                    "log files pending: without DIGEST_QUEUE_URL they are checked again by the next range"
                );
            }
            return 0;
        };
        let mut sent = 0;
        for recheck in rechecks {
            match queue.send_recheck(recheck, recheck.delay(now)).await {
                Ok(()) => sent += 1,
                Err(error) => {
                    tracing::error!(error = %error, digest = %recheck.digest_key, "recheck not sent; the next range checks the files again");
                }
            }
        }
        sent
    }

    /// One delivered object: validated when it is a digest, else skipped.
    async fn validate_digest(&self, bucket: &str, key: &str, work: &mut Work) {
        if trail_of_digest(key).is_none() {
            tracing::info!(%bucket, %key, "not a digest file: skipped");
            return;
        }
        let store = Arc::clone(&self.store);
        match validate_delivered_digest(store, &self.keys, bucket, key).await {
            Ok(validated) => work.validated.push(validated),
            Err(error) => work.errors.push(error),
        }
    }

    async fn range(&self, kind: RangeKind, request: &RangeRequest, now: i64, work: &mut Work) {
        if let Err(error) = self.whole_range(kind, request, now, work).await {
            work.errors.push(error);
        }
    }

    /// Validates (and, asked to, audits) every account and region the range covers:
    /// in-process, or, with a fan-out queue and more than one part, one message per part.
    async fn whole_range(
        &self,
        kind: RangeKind,
        request: &RangeRequest,
        now: i64,
        work: &mut Work,
    ) -> Result<(), ValidationError> {
        let audit = match (kind, &self.audit) {
            (RangeKind::Audit, None) => return Err(RangeError::AuditNotConfigured.into()),
            (RangeKind::Audit, Some(settings)) => Some(settings),
            (RangeKind::Validate, _) => None,
        };
        let range = request.resolve(now)?;
        let located = locate(&self.directory, &range).await?;
        let parts = trail_parts(&*self.store, &located, &range).await?;
        // Log folders without any digest: only a listing, done here once for the whole range
        // (a part's own request names its region, and skips it).
        if range.region.is_none() {
            let store = &*self.store;
            for part in parts_without_digests(store, &located, &range, &parts).await? {
                match validate_part_without_digests(store, &range, &located, &part, now).await {
                    Ok(validated) => work.validated.push(validated),
                    Err(error) => work.errors.push(error),
                }
            }
        }
        if let (Some(queue), true) = (&self.fan_out, parts.len() > 1) {
            let requests: Vec<RangeRequest> = parts
                .iter()
                .map(|part| part_request(&range, &located, part))
                .collect();
            work.fanned_out += queue.send(kind, &requests).await?;
            return Ok(());
        }
        for part in parts {
            let store = Arc::clone(&self.store);
            match validate_part(store, &self.keys, &range, &located, &part).await {
                Ok(validated) => {
                    if let Some(settings) = audit {
                        let store = Arc::clone(&self.store);
                        let audited = validated.clone();
                        let found = audit_validated(store, &self.sink, audited, settings).await;
                        work.audits.push(found);
                    }
                    work.validated.push(validated);
                }
                Err(error) => work.errors.push(error),
            }
        }
        Ok(())
    }

    /// The newest digest of every account and region of the trail, judged for lateness.
    async fn check_digests_late(
        &self,
        request: &RangeRequest,
        now: i64,
    ) -> Result<Vec<Lateness>, ValidationError> {
        let range = request.resolve_now(now)?;
        let located = locate(&self.directory, &range).await?;
        let parts = trail_parts(&*self.store, &located, &range).await?;
        let store = Arc::clone(&self.store);
        Ok(check_lateness(store, &located, &range, parts, now).await?)
    }
}

/// Every message that named nothing to validate, logged with its id and reason.
fn log_unreadable(unreadable: &[Unreadable]) {
    for dropped in unreadable {
        let message_id = dropped
            .message_id
            .as_deref()
            .unwrap_or("(direct invocation)");
        tracing::warn!(message_id, reason = %dropped.reason, "the message names no object to validate: acknowledged, not read");
    }
}
