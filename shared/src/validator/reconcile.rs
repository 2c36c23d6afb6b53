//! Provenance: every log file a validation lists, reconciled with what the forwarder recorded
//! in its checkpoint table, and (in the function, with a repair queue) each one not forwarded
//! notified to the forwarder again. The `validate-logs` command and the function reconcile
//! through this one path.

use super::ports::RepairQueue;
use crate::digest::config::ReconciliationConfig;
use crate::digest::provenance::{
    ForwardRecords, Forwarding, ForwardingVerdict, reconcile_report, repair_message,
};
use crate::digest::report::Report;

/// The reconciliation's table, grace and repair queue.
pub struct Reconciler<R, Q> {
    pub records: R,
    /// How long after a digest a listed file may still be on its way to the forwarder.
    pub grace_seconds: i64,
    pub repairs: Option<Q>,
}

/// One validation's files reconciled, and the repairs sent for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub verdicts: Vec<ForwardingVerdict>,
    pub repairs_sent: u64,
}

impl<R: ForwardRecords, Q: RepairQueue> Reconciler<R, Q> {
    /// The reconciliation `config` describes, over `records` and `repairs` (its adapters).
    pub fn new(config: &ReconciliationConfig, records: R, repairs: Option<Q>) -> Self {
        Self {
            records,
            grace_seconds: config.grace_seconds,
            repairs,
        }
    }

    /// Reconciles each file `report` lists and sends one repair per file not forwarded.
    pub async fn reconcile(&self, report: &Report, now: i64) -> Reconciled {
        let verdicts = reconcile_report(&self.records, report, now, self.grace_seconds).await;
        let repairs_sent = self.repair(&verdicts).await;
        Reconciled {
            verdicts,
            repairs_sent,
        }
    }

    /// One notification per file not forwarded; a failed send is logged and left to the
    /// next check, which finds the file not forwarded again.
    async fn repair(&self, verdicts: &[ForwardingVerdict]) -> u64 {
        let Some(queue) = &self.repairs else {
            return 0;
        };
        let bodies: Vec<String> = verdicts
            .iter()
            .filter(|v| matches!(v.forwarding, Forwarding::NotForwarded { .. }))
            .map(repair_message)
            .collect();
        if bodies.is_empty() {
            return 0;
        }
        match queue.send(&bodies).await {
            Ok(sent) => {
                tracing::warn!(
                    repairs = sent,
                    "log files not forwarded: notified to the forwarder again"
                );
                sent as u64
            }
            Err(error) => {
                tracing::error!(error = %error, "repairs not sent; the next check tries again");
                0
            }
        }
    }
}
