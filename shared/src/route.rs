//! Routes: an ordered list of (selectors → log group, stream template). A record goes to the
//! first route whose selectors select it; a record no route selects is filtered.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::logs::{
    GroupSettingError, GroupSettings, GroupSettingsByName, LogGroupClass, StreamTemplate,
    StreamTemplateError, validate_log_group_name,
};
use crate::selector::{SelectorError, SelectorSet, Selectors};
use crate::trail::{EventCategory, FileKind, RecordFields};

/// One route, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    pub log_group: Arc<str>,
    pub stream: StreamTemplate,
    pub selectors: Selectors,
    /// The group's class when the forwarder creates it; `None`: the configured default.
    pub log_group_class: Option<LogGroupClass>,
}

/// Why `ROUTES` is refused: a phrase the configuration error puts after the variable's name.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    #[error("is not a JSON list of routes: {0}")]
    NotJson(serde_json::Error),
    #[error("is an empty list; give at least one route")]
    Empty,
    #[error("route {index} ({name:?}): {fault}")]
    Route {
        index: usize,
        name: String,
        fault: RouteFault,
    },
    #[error("route {route:?} gives log group {group} the class {class}, another route {other}")]
    ClassConflict {
        route: String,
        group: String,
        class: &'static str,
        other: &'static str,
    },
}

/// What is wrong with one route.
#[derive(Debug, thiserror::Error)]
pub enum RouteFault {
    #[error("logGroupName {0}")]
    LogGroupName(GroupSettingError),
    #[error("logStreamName {0}")]
    LogStreamName(StreamTemplateError),
    #[error(transparent)]
    Selectors(SelectorError),
    #[error("logGroupClass {0}")]
    LogGroupClass(GroupSettingError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

/// A route as written in `ROUTES`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RouteSpec {
    name: Option<String>,
    log_group_name: String,
    log_stream_name: Option<String>,
    selectors: Option<Value>,
    log_group_class: Option<String>,
}

impl Routes {
    /// One route: every selected record to `log_group`, streams named like CloudTrail's.
    pub fn single(log_group: &str, selectors: Selectors) -> Self {
        Self {
            routes: vec![Route {
                name: log_group.to_owned(),
                log_group: Arc::from(log_group),
                stream: StreamTemplate::default(),
                selectors,
                log_group_class: None,
            }],
        }
    }

    /// Reads the `ROUTES` JSON: `[{"name", "logGroupName", "logStreamName", "selectors",
    /// "logGroupClass"}, …]`.
    /// Errors name the route at fault.
    pub fn from_json(text: &str) -> Result<Self, RoutesError> {
        let specs: Vec<RouteSpec> = serde_json::from_str(text).map_err(RoutesError::NotJson)?;
        if specs.is_empty() {
            return Err(RoutesError::Empty);
        }
        let routes = specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                let name = spec.name.unwrap_or_else(|| spec.log_group_name.clone());
                let at = |fault: RouteFault| RoutesError::Route {
                    index,
                    name: name.clone(),
                    fault,
                };
                validate_log_group_name(&spec.log_group_name)
                    .map_err(|e| at(RouteFault::LogGroupName(e)))?;
                let stream = match &spec.log_stream_name {
                    Some(template) => StreamTemplate::parse(template)
                        .map_err(|e| at(RouteFault::LogStreamName(e)))?,
                    None => StreamTemplate::default(),
                };
                let selectors = match spec.selectors {
                    None | Some(Value::Null) => Selectors::All,
                    Some(value) => SelectorSet::from_value(value)
                        .and_then(|set| Selectors::compile(&set))
                        .map_err(|e| at(RouteFault::Selectors(e)))?,
                };
                let log_group_class = spec
                    .log_group_class
                    .as_deref()
                    .map(LogGroupClass::parse)
                    .transpose()
                    .map_err(|e| at(RouteFault::LogGroupClass(e)))?;
                Ok(Route {
                    log_group: Arc::from(spec.log_group_name.as_str()),
                    name: name.clone(),
                    stream,
                    selectors,
                    log_group_class,
                })
            })
            .collect::<Result<Vec<_>, RoutesError>>()?;
        Ok(Self { routes })
    }

    /// The index of the first route that selects the record.
    pub fn route_for(&self, record: &RecordFields<'_>) -> Option<usize> {
        self.routes
            .iter()
            .position(|route| route.selectors.selects(record))
    }

    /// Whether any route could take a record of `category`.
    pub fn may_select(&self, category: EventCategory) -> bool {
        self.routes
            .iter()
            .any(|route| route.selectors.may_select(category))
    }

    /// Whether files of `kind` are read: log files always; Insights and aggregated-events
    /// files only when a route may select their events; digests and anything else never. The
    /// one rule the forwarder's classify step and the backfill's listing both follow.
    pub fn reads(&self, kind: FileKind) -> bool {
        match kind {
            FileKind::Log => true,
            FileKind::Insight => self.may_select(EventCategory::Insight),
            FileKind::Aggregated => self.may_select(EventCategory::Aggregated),
            FileKind::Digest | FileKind::BackfillDigest | FileKind::Other => false,
        }
    }

    /// The kinds of file read, in the order of [`FileKind::FORWARDABLE`].
    pub fn kinds_read(&self) -> Vec<FileKind> {
        FileKind::FORWARDABLE
            .into_iter()
            .filter(|kind| self.reads(*kind))
            .collect()
    }

    /// Gives `class` to every route that names none.
    pub fn with_default_class(mut self, class: LogGroupClass) -> Self {
        for route in &mut self.routes {
            route.log_group_class.get_or_insert(class);
        }
        self
    }

    /// How each destination group is created when missing: its route's class, else
    /// `default_class`, and `retention_days`. Routes sharing a group must agree on its class.
    pub fn group_settings(
        &self,
        default_class: LogGroupClass,
        retention_days: Option<u32>,
    ) -> Result<GroupSettingsByName, RoutesError> {
        let mut settings = GroupSettingsByName::new();
        for route in &self.routes {
            let class = route.log_group_class.unwrap_or(default_class);
            let wanted = GroupSettings {
                class,
                retention_days,
            };
            match settings.get(&route.log_group) {
                Some(earlier) if earlier.class != class => {
                    return Err(RoutesError::ClassConflict {
                        route: route.name.clone(),
                        group: route.log_group.to_string(),
                        class: class.as_str(),
                        other: earlier.class.as_str(),
                    });
                }
                _ => {
                    settings.insert(Arc::clone(&route.log_group), wanted);
                }
            }
        }
        Ok(settings)
    }

    pub fn get(&self, index: usize) -> &Route {
        &self.routes[index]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_are_always_read_and_insights_or_aggregated_files_when_a_route_may_select_them() {
        let only = |category: &str| {
            Routes::single(
                "/g",
                Selectors::from_json(&format!(
                    r#"[{{"FieldSelectors": [{{"Field": "eventCategory", "Equals": ["{category}"]}}]}}]"#
                ))
                .unwrap(),
            )
        };
        assert_eq!(
            only("Management").kinds_read(),
            [FileKind::Log],
            "no Insights or aggregated files for management events"
        );
        assert_eq!(
            only("Insight").kinds_read(),
            [FileKind::Log, FileKind::Insight]
        );
        assert_eq!(
            only("Aggregated").kinds_read(),
            [FileKind::Log, FileKind::Aggregated]
        );
        for kind in [FileKind::Digest, FileKind::BackfillDigest, FileKind::Other] {
            assert!(!Routes::single("/g", Selectors::All).reads(kind), "{kind}");
        }
    }

    /// The shipped sample: management, S3/Lambda data and Insights events to three groups.
    const THREE_ROUTES: &str = include_str!("../../events/config/routes-three-groups.json");

    fn route_of(routes: &Routes, record: &str) -> Option<String> {
        routes
            .route_for(&RecordFields::parse(record).unwrap())
            .map(|i| routes.get(i).name.clone())
    }

    #[test]
    fn a_record_goes_to_the_first_route_that_selects_it() {
        let routes = Routes::from_json(THREE_ROUTES).unwrap();
        assert_eq!(
            route_of(&routes, r#"{"eventCategory":"Management"}"#).as_deref(),
            Some("management")
        );
        let s3 = r#"{"eventCategory":"Data","resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"}]}"#;
        assert_eq!(route_of(&routes, s3).as_deref(), Some("data"));
        assert_eq!(
            route_of(&routes, r#"{"eventType":"AwsCloudTrailInsight"}"#).as_deref(),
            Some("insights")
        );
        let dynamodb = r#"{"eventCategory":"Data","resources":[{"type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:us-east-1:1:table/T"}]}"#;
        assert_eq!(route_of(&routes, dynamodb), None);
        assert_eq!(
            route_of(&routes, r#"{"eventCategory":"NetworkActivity"}"#),
            None
        );
    }

    #[test]
    fn earlier_routes_win_and_a_route_without_selectors_takes_everything() {
        let routes = Routes::from_json(r#"[
            {"logGroupName": "/first", "selectors": [{"FieldSelectors": [{"Field": "eventName", "Equals": ["Decrypt"]}]}]},
            {"logGroupName": "/rest"}]"#)
        .unwrap();
        assert_eq!(
            route_of(&routes, r#"{"eventName":"Decrypt"}"#).as_deref(),
            Some("/first")
        );
        assert_eq!(
            route_of(&routes, r#"{"eventName":"Encrypt"}"#).as_deref(),
            Some("/rest")
        );
        assert!(routes.may_select(EventCategory::Insight));
    }

    #[test]
    fn may_select_looks_at_every_route() {
        let routes = Routes::from_json(THREE_ROUTES).unwrap();
        assert!(routes.may_select(EventCategory::Insight));
        assert!(!routes.may_select(EventCategory::NetworkActivity));
        let single = Routes::single(
            "/g",
            Selectors::from_json(r#"[{"IncludeManagementEvents": true}]"#).unwrap(),
        );
        assert!(!single.may_select(EventCategory::Insight));
    }

    #[test]
    fn bad_routes_name_the_route_and_the_problem() {
        for (text, expected) in [
            ("[]", "empty list"),
            ("{}", "not a JSON list"),
            (
                r#"[{"logGroupName": "aws/x"}]"#,
                "route 0 (\"aws/x\"): logGroupName",
            ),
            (
                r#"[{"logGroupName": "/g", "logGroupClass": "standard"}]"#,
                "route 0 (\"/g\"): logGroupClass \"standard\" is not a log group class",
            ),
            (
                r#"[{"logGroupName": "/g", "logStreamName": "{nope}"}]"#,
                "logStreamName",
            ),
            (
                r#"[{"logGroupName": "/g"}, {"name": "two", "logGroupName": "/h", "selectors": [{"FieldSelectors": [{"Field": "readOnly", "StartsWith": ["t"]}]}]}]"#,
                "route 1 (\"two\"): event selectors",
            ),
            (
                r#"[{"logGroupName": "/g", "logGroup": "/typo"}]"#,
                "unknown field",
            ),
        ] {
            let error = Routes::from_json(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
