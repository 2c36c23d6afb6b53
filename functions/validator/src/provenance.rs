//! Provenance in the function: with `CHECKPOINT_TABLE_NAME` (the forwarder's table), every log
//! file a valid digest lists is reconciled with its checkpoint; with `REPAIR_QUEUE_URL` (the
//! forwarder's delivery queue), each one not forwarded is notified again.

use trailwatch::aws::checkpoints::DynamoCheckpoints;
use trailwatch::digest::config::ReconciliationConfig;
use trailwatch::digest::provenance::{
    Forwarding, ForwardingVerdict, reconcile_report, repair_message,
};
use trailwatch::digest::validate::Validated;

use crate::aws::sqs::RepairQueue;

/// The reconciliation's table, grace and repair queue.
pub struct Provenance {
    pub records: DynamoCheckpoints,
    pub grace_seconds: i64,
    pub repairs: Option<RepairQueue>,
}

impl Provenance {
    /// The adapters of a configured reconciliation.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        clients: &crate::aws::Clients,
        config: &ReconciliationConfig,
    ) -> Self {
        Self {
            records: DynamoCheckpoints {
                client: clients.dynamodb.clone(),
                table_name: config.checkpoint_table.clone(),
            },
            grace_seconds: config.grace_seconds,
            repairs: config
                .repair_queue_url
                .as_ref()
                .map(|queue_url| RepairQueue {
                    client: aws_sdk_sqs::Client::new(sdk),
                    queue_url: queue_url.clone(),
                }),
        }
    }

    /// Reconciles each validation's listed files and sends one repair per file not forwarded.
    /// Returns the repairs sent, per validation.
    pub async fn reconcile(&self, done: &mut [Validated], now: i64) -> Vec<u64> {
        let mut repairs_sent = Vec::with_capacity(done.len());
        for validated in done.iter_mut() {
            let verdicts =
                reconcile_report(&self.records, &validated.report, now, self.grace_seconds).await;
            repairs_sent.push(self.repair(&verdicts).await);
            validated.forwarding = verdicts;
        }
        repairs_sent
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
