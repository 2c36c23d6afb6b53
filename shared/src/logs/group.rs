//! The rules a log group name must follow.

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
