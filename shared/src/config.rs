//! Forwarder configuration, read once at cold start. Names here are the interface users'
//! stacks set: keep them exactly.

/// Environment variable naming the destination log group.
pub const LOG_GROUP_NAME: &str = "LOG_GROUP_NAME";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    pub log_group_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ForwarderConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let log_group_name = get(LOG_GROUP_NAME).unwrap_or_default();
        validate_log_group_name(&log_group_name).map_err(|reason| ConfigError {
            variable: LOG_GROUP_NAME,
            reason,
        })?;
        Ok(Self { log_group_name })
    }
}

/// CreateLogGroup's rules: 1 to 512 characters of `[.-_/#A-Za-z0-9]`, not starting with `aws/`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Option<&str>) -> Result<ForwarderConfig, ConfigError> {
        ForwarderConfig::from_lookup(|name| {
            assert_eq!(name, LOG_GROUP_NAME);
            value.map(str::to_owned)
        })
    }

    #[test]
    fn a_valid_log_group_name_is_taken() {
        assert_eq!(
            config(Some("/trail/forwarded#1")).unwrap().log_group_name,
            "/trail/forwarded#1"
        );
    }

    #[test]
    fn a_missing_or_invalid_log_group_name_is_a_clear_error() {
        for (value, expected) in [
            (None, "is required"),
            (Some(""), "is required"),
            (Some("has space"), "contains ' '"),
            (Some("aws/reserved"), "reserved for AWS"),
        ] {
            let error = config(value).unwrap_err();
            assert_eq!(error.variable, LOG_GROUP_NAME);
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(config(Some(&"a".repeat(513))).is_err());
        assert!(config(Some(&"a".repeat(512))).is_ok());
    }
}
