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

/// Why a log group setting is refused. Each message is a phrase that the configuration error
/// naming the variable (or the route and its field) completes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupSettingError {
    #[error("{0:?} is not a log group class (STANDARD or INFREQUENT_ACCESS)")]
    UnknownClass(String),
    #[error("{0:?} is not one of CloudWatch Logs' retention periods {RETENTION_DAYS:?}")]
    UnknownRetention(String),
    #[error("is required (the destination CloudWatch Logs log group)")]
    MissingName,
    #[error("{0:?} is longer than 512 characters")]
    NameTooLong(String),
    #[error("{name:?} contains {character:?}; allowed are A-Z a-z 0-9 . - _ / #")]
    NameCharacter { name: String, character: char },
    #[error(
        "{0:?} starts with \"aws/\", which is reserved for AWS: choose another name, such as /trailwatch/cloudtrail"
    )]
    ReservedName(String),
}

impl LogGroupClass {
    /// `STANDARD` or `INFREQUENT_ACCESS`, as CreateLogGroup names them.
    pub fn parse(text: &str) -> Result<Self, GroupSettingError> {
        match text.trim() {
            "STANDARD" => Ok(Self::Standard),
            "INFREQUENT_ACCESS" => Ok(Self::InfrequentAccess),
            other => Err(GroupSettingError::UnknownClass(other.to_owned())),
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
pub fn parse_retention_days(text: &str) -> Result<u32, GroupSettingError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|days| RETENTION_DAYS.contains(days))
        .ok_or_else(|| GroupSettingError::UnknownRetention(text.to_owned()))
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
pub fn validate_log_group_name(name: &str) -> Result<(), GroupSettingError> {
    if name.is_empty() {
        return Err(GroupSettingError::MissingName);
    }
    if name.len() > 512 {
        return Err(GroupSettingError::NameTooLong(name.to_owned()));
    }
    if let Some(character) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#".contains(*c)))
    {
        return Err(GroupSettingError::NameCharacter {
            name: name.to_owned(),
            character,
        });
    }
    if name.starts_with("aws/") {
        return Err(GroupSettingError::ReservedName(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_setting_says_what_is_wrong_in_words() {
        let refused = [
            (
                LogGroupClass::parse("COLD").unwrap_err(),
                "\"COLD\" is not a log group class (STANDARD or INFREQUENT_ACCESS)",
            ),
            (
                validate_log_group_name("").unwrap_err(),
                "is required (the destination CloudWatch Logs log group)",
            ),
            (
                validate_log_group_name("a b").unwrap_err(),
                "\"a b\" contains ' '; allowed are A-Z a-z 0-9 . - _ / #",
            ),
            (
                validate_log_group_name("aws/x").unwrap_err(),
                "\"aws/x\" starts with \"aws/\", which is reserved for AWS: choose another name, such as /trailwatch/cloudtrail",
            ),
        ];
        for (error, words) in refused {
            assert_eq!(error.to_string(), words);
        }
        assert!(
            parse_retention_days("2")
                .unwrap_err()
                .to_string()
                .starts_with("\"2\" is not one of CloudWatch Logs' retention periods [1, 3, 5,")
        );
        assert_eq!(parse_retention_days(" 30 "), Ok(30));
        assert_eq!(
            LogGroupClass::parse("INFREQUENT_ACCESS"),
            Ok(LogGroupClass::InfrequentAccess)
        );
        let long = "g".repeat(513);
        assert_eq!(
            validate_log_group_name(&long),
            Err(GroupSettingError::NameTooLong(long.clone()))
        );
        assert_eq!(validate_log_group_name(&long[..512]), Ok(()));
    }
}
