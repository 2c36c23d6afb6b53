//! Provenance in the function: with `CHECKPOINT_TABLE_NAME` (the forwarder's table), every log
//! file a valid digest lists is reconciled with its checkpoint; with `REPAIR_QUEUE_URL` (the
//! forwarder's delivery queue), each one not forwarded is notified again.

use trailwatch::aws::checkpoints::DynamoCheckpoints;
use trailwatch::config::ConfigError;
use trailwatch::digest::provenance::{
    DEFAULT_FORWARD_GRACE_MINUTES, Forwarding, ForwardingVerdict, reconcile_report, repair_message,
};
use trailwatch::digest::validate::Validated;

use crate::aws::sqs::RepairQueue;

/// Environment variables: names users' stacks set.
pub const CHECKPOINT_TABLE_NAME: &str = "CHECKPOINT_TABLE_NAME";
pub const FORWARD_GRACE_MINUTES: &str = "FORWARD_GRACE_MINUTES";
pub const REPAIR_QUEUE_URL: &str = "REPAIR_QUEUE_URL";

/// The reconciliation's table, grace and repair queue.
pub struct Provenance {
    pub records: DynamoCheckpoints,
    pub grace_seconds: i64,
    pub repairs: Option<RepairQueue>,
}

impl Provenance {
    /// `None` without `CHECKPOINT_TABLE_NAME`: nothing of the reconciliation happens.
    pub fn from_env(
        sdk: &aws_config::SdkConfig,
        clients: &crate::aws::Clients,
    ) -> Result<Option<Self>, ConfigError> {
        let set =
            |value: Result<String, std::env::VarError>| value.ok().filter(|v| !v.trim().is_empty());
        let Some(table) = set(std::env::var(CHECKPOINT_TABLE_NAME)) else {
            return Ok(None);
        };
        let grace_minutes = match set(std::env::var(FORWARD_GRACE_MINUTES)) {
            None => DEFAULT_FORWARD_GRACE_MINUTES,
            Some(text) => text.trim().parse::<u64>().map_err(|_| ConfigError {
                variable: FORWARD_GRACE_MINUTES,
                reason: format!("{text:?} is not a whole number of minutes"),
            })?,
        };
        Ok(Some(Self {
            records: DynamoCheckpoints {
                client: clients.dynamodb.clone(),
                table_name: table,
            },
            grace_seconds: i64::try_from(grace_minutes.saturating_mul(60)).unwrap_or(i64::MAX),
            repairs: set(std::env::var(REPAIR_QUEUE_URL)).map(|queue_url| RepairQueue {
                client: aws_sdk_sqs::Client::new(sdk),
                queue_url,
            }),
        }))
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
