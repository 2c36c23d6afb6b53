//! Forwarder configuration, read once at cold start. Names here are the interface users'
//! stacks set: keep them exactly.

use crate::route::Routes;
use crate::selector::Selectors;

/// The destination log group of the one-route shorthand.
pub const LOG_GROUP_NAME: &str = "LOG_GROUP_NAME";
/// Selectors of the one-route shorthand; unset forwards everything.
pub const EVENT_SELECTORS: &str = "EVENT_SELECTORS";
/// An ordered list of routes; replaces `LOG_GROUP_NAME` and `EVENT_SELECTORS`.
pub const ROUTES: &str = "ROUTES";
/// `true`: write nothing; report what would have been forwarded.
pub const DRY_RUN: &str = "DRY_RUN";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    pub routes: Routes,
    pub dry_run: bool,
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
    /// Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let error = |variable, reason: String| ConfigError { variable, reason };
        let dry_run = match get(DRY_RUN).as_deref().map(str::trim) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => return Err(error(DRY_RUN, format!("{other:?} is not true or false"))),
        };
        let routes = match get(ROUTES) {
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
                Routes::from_json(&routes).map_err(|reason| error(ROUTES, reason))?
            }
            None => {
                let log_group = get(LOG_GROUP_NAME).unwrap_or_default();
                validate_log_group_name(&log_group)
                    .map_err(|reason| error(LOG_GROUP_NAME, format!("{reason} (or set ROUTES)")))?;
                let selectors = match get(EVENT_SELECTORS) {
                    Some(text) => Selectors::from_json(&text)
                        .map_err(|e| error(EVENT_SELECTORS, e.to_string()))?,
                    None => Selectors::All,
                };
                Routes::single(&log_group, selectors)
            }
        };
        Ok(Self { routes, dry_run })
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
    use std::collections::HashMap;

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
                vec![(LOG_GROUP_NAME, "/g"), (DRY_RUN, "maybe")],
                DRY_RUN,
                "not true or false",
            ),
        ] {
            let error = config(&vars).unwrap_err();
            assert_eq!(error.variable, variable, "{vars:?}");
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(config(&[(LOG_GROUP_NAME, &"a".repeat(513))]).is_err());
        assert!(config(&[(LOG_GROUP_NAME, &"a".repeat(512))]).is_ok());
    }
}
