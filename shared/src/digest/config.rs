//! The validator's configuration, read once at cold start from a lookup (the process
//! environment in Lambda, a map in tests). Names here are the interface users' stacks set: keep
//! them exactly. A variable set to blank text counts as unset.

use crate::config::{
    ALLOWED_ACCOUNT_IDS, CHECKPOINT_TABLE_NAME, ConfigError, DEFAULT_METRICS_NAMESPACE,
    EVENT_SELECTORS, ForwarderConfig, LOG_GROUP_NAME, METRICS_NAMESPACE, ROUTES,
};
use crate::digest::provenance::DEFAULT_FORWARD_GRACE_MINUTES;
use crate::logs::validate_log_group_name;

/// The log group verdict events are written to (required).
pub const INTEGRITY_LOG_GROUP_NAME: &str = "INTEGRITY_LOG_GROUP_NAME";
/// A file of `aws cloudtrail list-public-keys` output, read instead of calling CloudTrail.
pub const TRAIL_PUBLIC_KEYS_FILE: &str = "TRAIL_PUBLIC_KEYS_FILE";
/// The queue a range over several accounts and regions fans out to, one message each.
pub const DIGEST_QUEUE_URL: &str = "DIGEST_QUEUE_URL";
/// How long after a digest a listed log file may still be on its way to the forwarder.
pub(crate) const FORWARD_GRACE_MINUTES: &str = "FORWARD_GRACE_MINUTES";
/// The forwarder's delivery queue, where a log file not forwarded is notified again.
pub const REPAIR_QUEUE_URL: &str = "REPAIR_QUEUE_URL";

/// What the validator function reads of its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    pub integrity_log_group: String,
    pub public_keys_file: Option<String>,
    pub metrics_namespace: String,
    /// Without it, every part of a range is validated in-process.
    pub digest_queue_url: Option<String>,
    /// With `CHECKPOINT_TABLE_NAME`: listed log files are reconciled with the forwarder's table.
    pub reconciliation: Option<ReconciliationConfig>,
    /// With the forwarder's `LOG_GROUP_NAME` or `ROUTES` (and `EVENT_SELECTORS`): where the
    /// forwarder writes, for `auditLogs` requests.
    pub forwarder: Option<ForwarderConfig>,
}

/// The reconciliation's table, grace and repair queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationConfig {
    pub checkpoint_table: String,
    pub grace_seconds: i64,
    pub repair_queue_url: Option<String>,
}

impl ReconciliationConfig {
    /// The `validate-logs` command's (`--checkpoint-table`): the function's default grace, and
    /// no repairs (the command reports; it does not change what the forwarder will do).
    pub fn reporting_only(checkpoint_table: &str) -> Self {
        Self {
            checkpoint_table: checkpoint_table.to_owned(),
            grace_seconds: default_grace_seconds(),
            repair_queue_url: None,
        }
    }
}

impl ValidatorConfig {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(environment)
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let integrity_log_group = get(INTEGRITY_LOG_GROUP_NAME).unwrap_or_default();
        validate_log_group_name(&integrity_log_group).map_err(|reason| ConfigError {
            variable: INTEGRITY_LOG_GROUP_NAME,
            reason: reason.to_string(),
        })?;
        let reconciliation = match set(CHECKPOINT_TABLE_NAME) {
            None => None,
            Some(checkpoint_table) => Some(ReconciliationConfig {
                checkpoint_table,
                grace_seconds: grace_seconds(set(FORWARD_GRACE_MINUTES))?,
                repair_queue_url: set(REPAIR_QUEUE_URL),
            }),
        };
        let placement = set(LOG_GROUP_NAME).or(set(ROUTES));
        let without_placement = [EVENT_SELECTORS, ALLOWED_ACCOUNT_IDS]
            .into_iter()
            .find(|variable| placement.is_none() && set(variable).is_some());
        if let Some(variable) = without_placement {
            return Err(ConfigError {
                variable,
                reason: "is set without LOG_GROUP_NAME or ROUTES: the audit needs where the forwarder writes".into(),
            });
        }
        let forwarder = match placement {
            None => None,
            Some(_) => Some(ForwarderConfig::from_lookup(&get)?),
        };
        Ok(Self {
            forwarder,
            integrity_log_group,
            public_keys_file: public_keys_file(&get),
            metrics_namespace: set(METRICS_NAMESPACE)
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.into()),
            digest_queue_url: set(DIGEST_QUEUE_URL),
            reconciliation,
        })
    }
}

/// `TRAIL_PUBLIC_KEYS_FILE`, which the `validate-logs` command also reads when
/// `--public-keys-file` is not given.
pub fn public_keys_file(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get(TRAIL_PUBLIC_KEYS_FILE).filter(|value| !value.trim().is_empty())
}

/// A variable of the process environment (unset, or not Unicode: `None`).
pub fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn default_grace_seconds() -> i64 {
    minutes_to_seconds(DEFAULT_FORWARD_GRACE_MINUTES)
}

fn minutes_to_seconds(minutes: u64) -> i64 {
    i64::try_from(minutes.saturating_mul(60)).unwrap_or(i64::MAX)
}

fn grace_seconds(minutes: Option<String>) -> Result<i64, ConfigError> {
    let minutes = match minutes {
        None => return Ok(default_grace_seconds()),
        Some(text) => text.trim().parse::<u64>().map_err(|_| ConfigError {
            variable: FORWARD_GRACE_MINUTES,
            reason: format!("{text:?} is not a whole number of minutes"),
        })?,
    };
    Ok(minutes_to_seconds(minutes))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<ValidatorConfig, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        ValidatorConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn the_group_alone_is_enough_and_the_rest_takes_its_defaults() {
        let config = read(&[(INTEGRITY_LOG_GROUP_NAME, "/trailwatch/integrity")]).unwrap();
        assert_eq!(
            config,
            ValidatorConfig {
                integrity_log_group: "/trailwatch/integrity".into(),
                public_keys_file: None,
                metrics_namespace: "trailwatch".into(),
                digest_queue_url: None,
                reconciliation: None,
                forwarder: None,
            }
        );
        // With the forwarder's variables, where it writes (for audits).
        let with_forwarder = read(&[
            (INTEGRITY_LOG_GROUP_NAME, "/trailwatch/integrity"),
            ("LOG_GROUP_NAME", "/trailwatch/cloudtrail"),
        ])
        .unwrap();
        let forwarder = with_forwarder.forwarder.unwrap();
        assert_eq!(forwarder.routes.iter().count(), 1);
        let bad = read(&[
            (INTEGRITY_LOG_GROUP_NAME, "/trailwatch/integrity"),
            ("LOG_GROUP_NAME", "/trailwatch/cloudtrail"),
            ("EVENT_SELECTORS", "[{]"),
        ])
        .unwrap_err();
        assert_eq!(bad.variable, "EVENT_SELECTORS");
    }

    #[test]
    fn every_variable_is_read_and_blank_counts_as_unset() {
        let config = read(&[
            (INTEGRITY_LOG_GROUP_NAME, "/i"),
            (TRAIL_PUBLIC_KEYS_FILE, "keys.json"),
            (METRICS_NAMESPACE, " "),
            (DIGEST_QUEUE_URL, "https://sqs/digests"),
            (CHECKPOINT_TABLE_NAME, "checkpoints"),
            (FORWARD_GRACE_MINUTES, " 90 "),
            (REPAIR_QUEUE_URL, ""),
        ])
        .unwrap();
        assert_eq!(config.public_keys_file.as_deref(), Some("keys.json"));
        assert_eq!(config.metrics_namespace, "trailwatch");
        assert_eq!(
            config.digest_queue_url.as_deref(),
            Some("https://sqs/digests")
        );
        assert_eq!(
            config.reconciliation,
            Some(ReconciliationConfig {
                checkpoint_table: "checkpoints".into(),
                grace_seconds: 5400,
                repair_queue_url: None,
            })
        );
        let default_grace = read(&[
            (INTEGRITY_LOG_GROUP_NAME, "/i"),
            (CHECKPOINT_TABLE_NAME, "t"),
        ]);
        assert_eq!(
            default_grace.unwrap().reconciliation.unwrap().grace_seconds,
            3600
        );
    }

    #[test]
    fn errors_name_the_variable_and_the_reason() {
        let missing = read(&[]).unwrap_err();
        assert_eq!(missing.variable, INTEGRITY_LOG_GROUP_NAME);
        let grace = read(&[
            (INTEGRITY_LOG_GROUP_NAME, "/i"),
            (CHECKPOINT_TABLE_NAME, "t"),
            (FORWARD_GRACE_MINUTES, "an hour"),
        ])
        .unwrap_err();
        assert_eq!(
            grace.to_string(),
            "configuration FORWARD_GRACE_MINUTES: \"an hour\" is not a whole number of minutes"
        );
        // Without the table the grace is not read.
        assert!(
            read(&[
                (INTEGRITY_LOG_GROUP_NAME, "/i"),
                (FORWARD_GRACE_MINUTES, "x")
            ])
            .is_ok()
        );
    }
}
