//! Forwarder configuration, read once at cold start. Names here are the interface users'
//! stacks set: keep them exactly.

use crate::logs::{
    GroupSettingsByName, LogGroupClass, parse_retention_days, validate_log_group_name,
};
use crate::route::Routes;
use crate::selector::Selectors;
use crate::trail::AllowedAccounts;
use crate::trail::file::DEFAULT_MAX_DECOMPRESSED_BYTES;

/// The destination log group of the one-route shorthand.
pub const LOG_GROUP_NAME: &str = "LOG_GROUP_NAME";
/// Selectors of the one-route shorthand; unset forwards everything.
pub const EVENT_SELECTORS: &str = "EVENT_SELECTORS";
/// An ordered list of routes; replaces `LOG_GROUP_NAME` and `EVENT_SELECTORS`.
pub const ROUTES: &str = "ROUTES";
/// `true`: write nothing; report what would have been forwarded.
pub const DRY_RUN: &str = "DRY_RUN";
/// The SQS queue that continuation messages go to when an invocation nears its deadline.
pub const CONTINUATION_QUEUE_URL: &str = "CONTINUATION_QUEUE_URL";
/// SQS queue a message that failed for good is copied to, with its reason.
pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
/// DynamoDB table of per-object checkpoints; unset: delivery is at least once.
pub const CHECKPOINT_TABLE_NAME: &str = "CHECKPOINT_TABLE_NAME";
/// Decompressed bytes allowed per object (decompression bombs).
pub const MAX_DECOMPRESSED_BYTES: &str = "MAX_DECOMPRESSED_BYTES";
/// How long before the invocation's deadline reading stops, to deliver and hand off the rest.
pub const HANDOFF_MARGIN_SECONDS: &str = "HANDOFF_MARGIN_SECONDS";
/// How long a PutLogEvents request may still be stored after its caller gave up: an object
/// whose put's outcome is unknown is read back only after its invocation's deadline plus this.
pub const IN_FLIGHT_MARGIN_SECONDS: &str = "IN_FLIGHT_MARGIN_SECONDS";
/// The CloudWatch namespace of the embedded metrics.
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
/// The class of a log group the forwarder creates, for routes that name none.
pub const LOG_GROUP_CLASS: &str = "LOG_GROUP_CLASS";
/// The retention of a log group the forwarder creates.
pub const RETENTION_IN_DAYS: &str = "RETENTION_IN_DAYS";
/// The accounts whose files are forwarded (comma-separated ids); all when unset.
pub const ALLOWED_ACCOUNT_IDS: &str = "ALLOWED_ACCOUNT_IDS";
/// The KMS key a log group the forwarder creates is encrypted with.
pub const LOG_GROUP_KMS_KEY_ARN: &str = "LOG_GROUP_KMS_KEY_ARN";

/// How `ROUTES` and `EVENT_SELECTORS` name a file instead of holding JSON, as the AWS CLI's
/// JSON arguments do.
pub(crate) const FILE_SCHEME: &str = "file://";

pub(crate) const DEFAULT_HANDOFF_MARGIN_SECONDS: u64 = 20;
pub(crate) const DEFAULT_METRICS_NAMESPACE: &str = "trailwatch";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    pub routes: Routes,
    pub dry_run: bool,
    pub continuation_queue_url: Option<String>,
    pub checkpoint_table_name: Option<String>,
    pub dead_letter_queue_url: Option<String>,
    pub max_decompressed_bytes: u64,
    pub handoff_margin: std::time::Duration,
    pub in_flight_margin: std::time::Duration,
    pub metrics_namespace: String,
    /// How each destination group is created when missing (class, retention).
    pub group_settings: GroupSettingsByName,
    /// `LOG_GROUP_KMS_KEY_ARN`: the key every group the forwarder creates is encrypted with,
    /// as the stack's own groups are.
    pub log_group_kms_key_arn: Option<String>,
    /// `ALLOWED_ACCOUNT_IDS`: only these accounts' files are forwarded.
    pub allowed_accounts: AllowedAccounts,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ForwarderConfig {
    /// From the process environment. `ROUTES` and `EVENT_SELECTORS` may name a file as
    /// `file://path` (for local runs, as the AWS CLI reads JSON arguments); it is read here, at
    /// the edge, so [`from_lookup`](Self::from_lookup) stays free of I/O.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut files: Vec<(&str, String)> = Vec::new();
        for variable in [ROUTES, EVENT_SELECTORS] {
            let value = std::env::var(variable).unwrap_or_default();
            if let Some(path) = value.trim().strip_prefix(FILE_SCHEME) {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                    variable,
                    reason: format!(
                        "{value} cannot be read ({e}); give the JSON itself, or file:// and a readable file's path"
                    ),
                })?;
                files.push((variable, text));
            }
        }
        Self::from_lookup(|name| {
            files
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, text)| text.clone())
                .or_else(|| std::env::var(name).ok())
        })
    }

    /// Reads the configuration through `get`, so tests need not touch the process environment.
    /// Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let error = |variable, reason: String| ConfigError { variable, reason };
        let dry_run = match get(DRY_RUN).as_deref().map(str::trim) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => return Err(error(DRY_RUN, format!("{other:?} is not true or false"))),
        };
        let routes = read_routes(&get)?;
        let default_class = get(LOG_GROUP_CLASS)
            .map(|text| LogGroupClass::parse(&text))
            .transpose()
            .map_err(|reason| error(LOG_GROUP_CLASS, reason.to_string()))?
            .unwrap_or_default();
        let retention_days = get(RETENTION_IN_DAYS)
            .map(|text| parse_retention_days(&text))
            .transpose()
            .map_err(|reason| error(RETENTION_IN_DAYS, reason.to_string()))?;
        let log_group_kms_key_arn = get(LOG_GROUP_KMS_KEY_ARN)
            .map(|arn| kms_key_arn(arn.trim()))
            .transpose()?;
        let allowed_accounts = match get(ALLOWED_ACCOUNT_IDS) {
            None => AllowedAccounts::All,
            Some(text) => AllowedAccounts::parse(&text)
                .map_err(|reason| error(ALLOWED_ACCOUNT_IDS, reason))?,
        };
        let routes = routes.with_default_class(default_class);
        let group_settings = routes
            .group_settings(default_class, retention_days)
            .map_err(|e| error(ROUTES, e.to_string()))?;
        let number = |variable: &'static str, default: u64| match get(variable) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| error(variable, format!("{text:?} is not a positive whole number"))),
        };
        let queue_url = |variable: &'static str| match get(variable) {
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                Err(error(
                    variable,
                    format!(
                        "{url:?} is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
                    ),
                ))
            }
            url => Ok(url),
        };
        let continuation_queue_url = queue_url(CONTINUATION_QUEUE_URL)?;
        let dead_letter_queue_url = queue_url(DEAD_LETTER_QUEUE_URL)?;
        Ok(Self {
            routes,
            dry_run,
            continuation_queue_url,
            checkpoint_table_name: get(CHECKPOINT_TABLE_NAME).map(|name| name.trim().to_owned()),
            dead_letter_queue_url,
            max_decompressed_bytes: number(MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES)?,
            handoff_margin: std::time::Duration::from_secs(number(
                HANDOFF_MARGIN_SECONDS,
                DEFAULT_HANDOFF_MARGIN_SECONDS,
            )?),
            in_flight_margin: std::time::Duration::from_secs(number(
                IN_FLIGHT_MARGIN_SECONDS,
                crate::checkpoint::DEFAULT_IN_FLIGHT_MARGIN_SECONDS,
            )?),
            metrics_namespace: get(METRICS_NAMESPACE)
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
            group_settings,
            log_group_kms_key_arn,
            allowed_accounts,
        })
    }
}

/// `ROUTES`, or the route `LOG_GROUP_NAME` and `EVENT_SELECTORS` make (never both).
fn read_routes(get: &dyn Fn(&str) -> Option<String>) -> Result<Routes, ConfigError> {
    let error = |variable, reason: String| ConfigError { variable, reason };
    match get(ROUTES) {
        Some(routes) => {
            for shorthand in [LOG_GROUP_NAME, EVENT_SELECTORS] {
                if get(shorthand).is_some() {
                    return Err(error(
                        ROUTES,
                        format!(
                            "is set together with {shorthand}; give the log groups and selectors in ROUTES only"
                        ),
                    ));
                }
            }
            Routes::from_json(&routes).map_err(|e| error(ROUTES, json_reason(&routes, e)))
        }
        None => {
            let log_group = get(LOG_GROUP_NAME).unwrap_or_default();
            validate_log_group_name(&log_group)
                .map_err(|reason| error(LOG_GROUP_NAME, format!("{reason} (or set ROUTES)")))?;
            let selectors = match get(EVENT_SELECTORS) {
                Some(text) => Selectors::from_json(&text)
                    .map_err(|e| error(EVENT_SELECTORS, json_reason(&text, e)))?,
                None => Selectors::All,
            };
            Ok(Routes::single(&log_group, selectors))
        }
    }
}

/// Why a JSON variable was refused; when the value is not JSON at all but reads like a file's
/// path, how to name a file.
fn json_reason(value: &str, error: impl std::fmt::Display) -> String {
    let trimmed = value.trim();
    let looks_like_json = trimmed.starts_with('[') || trimmed.starts_with('{');
    if !looks_like_json && (trimmed.ends_with(".json") || trimmed.contains('/')) {
        format!(
            "{error}: the variable holds the JSON text itself; to read it from a file, write {FILE_SCHEME}{trimmed}"
        )
    } else {
        error.to_string()
    }
}

/// `LOG_GROUP_KMS_KEY_ARN`, when it is a KMS key's ARN.
fn kms_key_arn(arn: &str) -> Result<String, ConfigError> {
    if arn.starts_with("arn:") && arn.contains(":kms:") {
        Ok(arn.to_owned())
    } else {
        Err(ConfigError {
            variable: LOG_GROUP_KMS_KEY_ARN,
            reason: format!("{arn:?} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::logs::GroupSettings;

    fn config(vars: &[(&str, &str)]) -> Result<ForwarderConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ForwarderConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn log_group_name_alone_forwards_everything_to_one_group() {
        let config = config(&[(LOG_GROUP_NAME, "/trail/forwarded#1")]).unwrap();
        let route = config.routes.iter().next().unwrap();
        assert_eq!(&*route.log_group, "/trail/forwarded#1");
        assert_eq!(route.selectors, Selectors::All);
        assert!(!config.dry_run);
    }

    #[test]
    fn event_selectors_narrow_the_one_route() {
        let selectors = r#"[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]"#;
        let config = config(&[(LOG_GROUP_NAME, "/g"), (EVENT_SELECTORS, selectors)]).unwrap();
        assert!(matches!(
            config.routes.iter().next().unwrap().selectors,
            Selectors::Basic(_)
        ));
    }

    #[test]
    fn delivery_settings_have_defaults_and_can_be_set() {
        let defaults = config(&[(LOG_GROUP_NAME, "/g")]).unwrap();
        assert_eq!(
            defaults.max_decompressed_bytes,
            DEFAULT_MAX_DECOMPRESSED_BYTES
        );
        assert_eq!(
            defaults.handoff_margin.as_secs(),
            DEFAULT_HANDOFF_MARGIN_SECONDS
        );
        assert_eq!(defaults.in_flight_margin.as_secs(), 60);
        assert_eq!(defaults.continuation_queue_url, None);
        assert_eq!(defaults.checkpoint_table_name, None);
        assert_eq!(defaults.metrics_namespace, "trailwatch");
        let set = config(&[
            (LOG_GROUP_NAME, "/g"),
            (MAX_DECOMPRESSED_BYTES, "1000"),
            (HANDOFF_MARGIN_SECONDS, "5"),
            (IN_FLIGHT_MARGIN_SECONDS, "90"),
            (
                CONTINUATION_QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/111122223333/q",
            ),
            (METRICS_NAMESPACE, "Audit/Trail"),
            (CHECKPOINT_TABLE_NAME, "trailwatch-checkpoints"),
            (
                DEAD_LETTER_QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
            ),
        ])
        .unwrap();
        assert!(set.dead_letter_queue_url.is_some());
        let bad = config(&[(LOG_GROUP_NAME, "/g"), (DEAD_LETTER_QUEUE_URL, "dlq")]);
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("DEAD_LETTER_QUEUE_URL")
        );
        assert_eq!(
            set.checkpoint_table_name.as_deref(),
            Some("trailwatch-checkpoints")
        );
        assert_eq!(
            (set.max_decompressed_bytes, set.handoff_margin.as_secs()),
            (1000, 5)
        );
        assert_eq!(set.in_flight_margin.as_secs(), 90);
        assert!(set.continuation_queue_url.is_some());
        assert_eq!(set.metrics_namespace, "Audit/Trail");
    }

    #[test]
    fn routes_replace_the_shorthand() {
        let config = config(&[
            (
                ROUTES,
                r#"[{"logGroupName": "/a"}, {"logGroupName": "/b"}]"#,
            ),
            (DRY_RUN, "true"),
        ])
        .unwrap();
        assert_eq!(config.routes.iter().count(), 2);
        assert!(config.dry_run);
    }

    #[test]
    fn a_bad_configuration_is_one_clear_error() {
        for (vars, variable, expected) in [
            (vec![], LOG_GROUP_NAME, "is required"),
            (vec![(LOG_GROUP_NAME, "")], LOG_GROUP_NAME, "is required"),
            (
                vec![(LOG_GROUP_NAME, "has space")],
                LOG_GROUP_NAME,
                "contains ' '",
            ),
            (
                vec![(LOG_GROUP_NAME, "aws/reserved")],
                LOG_GROUP_NAME,
                "reserved for AWS",
            ),
            (
                vec![
                    (LOG_GROUP_NAME, "/g"),
                    (EVENT_SELECTORS, "[{\"ReadWriteType\": \"Never\"}]"),
                ],
                EVENT_SELECTORS,
                "ReadWriteType",
            ),
            (
                vec![
                    (ROUTES, "[{\"logGroupName\": \"/a\"}]"),
                    (LOG_GROUP_NAME, "/g"),
                ],
                ROUTES,
                "together with LOG_GROUP_NAME",
            ),
            (vec![(ROUTES, "[]")], ROUTES, "empty list"),
            (
                vec![(ROUTES, "events/config/routes-three-groups.json")],
                ROUTES,
                "to read it from a file, write file://events/config/routes-three-groups.json",
            ),
            (
                vec![(LOG_GROUP_NAME, "/g"), (EVENT_SELECTORS, "selectors.json")],
                EVENT_SELECTORS,
                "write file://selectors.json",
            ),
            (
                vec![(LOG_GROUP_NAME, "/g"), (DRY_RUN, "maybe")],
                DRY_RUN,
                "not true or false",
            ),
            (
                vec![(LOG_GROUP_NAME, "/g"), (LOG_GROUP_CLASS, "DELUXE")],
                LOG_GROUP_CLASS,
                "STANDARD or INFREQUENT_ACCESS",
            ),
            (
                vec![(LOG_GROUP_NAME, "/g"), (RETENTION_IN_DAYS, "10")],
                RETENTION_IN_DAYS,
                "retention periods",
            ),
            (
                vec![
                    (LOG_GROUP_NAME, "/g"),
                    (LOG_GROUP_KMS_KEY_ARN, "alias/logs"),
                ],
                LOG_GROUP_KMS_KEY_ARN,
                "not a KMS key ARN",
            ),
            (
                vec![(
                    ROUTES,
                    r#"[{"logGroupName": "/a", "logGroupClass": "INFREQUENT_ACCESS"}, {"logGroupName": "/a"}]"#,
                )],
                ROUTES,
                "another route INFREQUENT_ACCESS",
            ),
        ] {
            let error = config(&vars).unwrap_err();
            assert_eq!(error.variable, variable, "{vars:?}");
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(config(&[(LOG_GROUP_NAME, &"a".repeat(513))]).is_err());
        assert!(config(&[(LOG_GROUP_NAME, &"a".repeat(512))]).is_ok());
    }

    #[test]
    fn created_groups_take_each_routes_class_else_the_default_and_the_retention() {
        let routes = r#"[{"logGroupName": "/audit", "logGroupClass": "STANDARD", "selectors": [{"IncludeManagementEvents": true}]},
            {"logGroupName": "/bulk"}]"#;
        let config = config(&[
            (ROUTES, routes),
            (LOG_GROUP_CLASS, "INFREQUENT_ACCESS"),
            (RETENTION_IN_DAYS, "30"),
        ])
        .unwrap();
        let settings = |group: &str| config.group_settings[group];
        assert_eq!(
            settings("/audit"),
            GroupSettings {
                class: LogGroupClass::Standard,
                retention_days: Some(30)
            }
        );
        assert_eq!(settings("/bulk").class, LogGroupClass::InfrequentAccess);
        let classes: Vec<_> = config.routes.iter().map(|r| r.log_group_class).collect();
        assert_eq!(
            classes,
            [
                Some(LogGroupClass::Standard),
                Some(LogGroupClass::InfrequentAccess)
            ]
        );
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let encrypted = config_of(&[(LOG_GROUP_NAME, "/g"), (LOG_GROUP_KMS_KEY_ARN, key)]);
        assert_eq!(encrypted.log_group_kms_key_arn.as_deref(), Some(key));
        let plain = config_of(&[(LOG_GROUP_NAME, "/g")]);
        assert_eq!(plain.log_group_kms_key_arn, None);
        assert_eq!(
            plain.group_settings["/g"],
            GroupSettings {
                class: LogGroupClass::Standard,
                retention_days: None
            }
        );
    }

    fn config_of(vars: &[(&str, &str)]) -> ForwarderConfig {
        config(vars).unwrap()
    }
}
