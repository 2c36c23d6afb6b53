//! The rules a log group name must follow, and how a group the forwarder creates is set up.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A log group's class. Infrequent Access ingests at about half Standard's price and lacks
/// metric filters (so the CIS alarms built on them), Live Tail, data protection, field indexes
/// and transformers:
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogGroupClass {
    #[default]
    Standard,
    InfrequentAccess,
}

impl LogGroupClass {
    /// `STANDARD` or `INFREQUENT_ACCESS`, as CreateLogGroup names them.
    // The reason is a phrase that the caller's configuration error completes.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "STANDARD" => Ok(Self::Standard),
            "INFREQUENT_ACCESS" => Ok(Self::InfrequentAccess),
            other => Err(format!(
                "{other:?} is not a log group class (STANDARD or INFREQUENT_ACCESS)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "STANDARD",
            Self::InfrequentAccess => "INFREQUENT_ACCESS",
        }
    }
}

/// The retention periods PutRetentionPolicy accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A retention period PutRetentionPolicy accepts.
// The reason is a phrase that the caller's configuration error completes.
pub fn parse_retention_days(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|days| RETENTION_DAYS.contains(days))
        .ok_or_else(|| {
            format!("{text:?} is not one of CloudWatch Logs' retention periods {RETENTION_DAYS:?}")
        })
}

/// How a log group is created when the forwarder finds it missing: so a deleted group comes
/// back as configured, not bare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupSettings {
    pub class: LogGroupClass,
    /// Days; `None` keeps events forever (CloudWatch Logs' default).
    pub retention_days: Option<u32>,
}

/// Settings by log group name.
pub type GroupSettingsByName = BTreeMap<Arc<str>, GroupSettings>;

/// CreateLogGroup's rules: 1 to 512 characters of `[.-_/#A-Za-z0-9]`, not starting with `aws/`.
// The reason is a phrase that the caller's configuration error puts after the variable's name.
pub fn validate_log_group_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is required (the destination CloudWatch Logs log group)".into());
    }
    if name.len() > 512 {
        return Err(format!("{name:?} is longer than 512 characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#".contains(*c)))
    {
        return Err(format!(
            "{name:?} contains {bad:?}; allowed are A-Z a-z 0-9 . - _ / #"
        ));
    }
    if name.starts_with("aws/") {
        return Err(format!(
            "{name:?} starts with \"aws/\", which is reserved for AWS"
        ));
    }
    Ok(())
}
