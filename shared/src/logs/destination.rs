//! Where an event goes: a log group and a log stream named from a template.

use std::fmt;
use std::sync::Arc;

use crate::trail::{EventCategory, RecordFields, TrailKey};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    pub log_group: Arc<str>,
    pub log_stream: Arc<str>,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.log_group, self.log_stream)
    }
}

/// What the file's key says about where its records come from: the fallback for records that
/// lack `recipientAccountId` or `awsRegion`, and the organization of an organization trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub organization_id: Option<String>,
    pub account_id: String,
    pub region: String,
}

impl KeyFacts {
    pub fn for_key(key: &TrailKey<'_>) -> Self {
        Self {
            organization_id: key.organization_id.map(str::to_owned),
            account_id: key.account_id.to_owned(),
            region: key.region.to_owned(),
        }
    }
}

/// CloudTrail's own stream naming
/// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-log-group-log-stream-naming-for-cloudtrail.html):
/// `<account>_CloudTrail_<region>`, with `<o-id>_` in front for organization trails.
pub const DEFAULT_STREAM_TEMPLATE: &str = "{orgPrefix}{account}_CloudTrail_{region}";

/// CloudWatch Logs stream names are at most 512 characters, without `:` or `*`.
const MAX_STREAM_NAME: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Account,
    Region,
    OrganizationId,
    OrgPrefix,
    Category,
    EventSource,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 6] = [
        ("account", Placeholder::Account),
        ("region", Placeholder::Region),
        ("organizationId", Placeholder::OrganizationId),
        ("orgPrefix", Placeholder::OrgPrefix),
        ("category", Placeholder::Category),
        ("eventSource", Placeholder::EventSource),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    Value(Placeholder),
}

/// A log stream name template, compiled once: literal text and `{placeholders}` for the
/// record's `account`, `region`, `organizationId`, `orgPrefix` (`<o-id>_` or nothing),
/// `category` and `eventSource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTemplate {
    parts: Vec<Part>,
}

impl Default for StreamTemplate {
    fn default() -> Self {
        Self {
            parts: vec![
                Part::Value(Placeholder::OrgPrefix),
                Part::Value(Placeholder::Account),
                Part::Literal("_CloudTrail_".into()),
                Part::Value(Placeholder::Region),
            ],
        }
    }
}

/// Why a `logStreamName` template is refused: a phrase the ROUTES error puts after the route
/// and field it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamTemplateError {
    #[error("{template:?} has an unclosed '{{'")]
    Unclosed { template: String },
    #[error("{template:?} uses {{{name}}}; known placeholders are {known}")]
    UnknownPlaceholder {
        template: String,
        name: String,
        known: String,
    },
    #[error(
        "{template:?} has '}}', ':' or '*' outside a placeholder; stream names cannot hold ':' or '*'"
    )]
    OutsidePlaceholder { template: String },
    #[error("the stream name template is empty")]
    Empty,
}

impl StreamTemplate {
    pub fn parse(template: &str) -> Result<Self, StreamTemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| StreamTemplateError::Unclosed {
                            template: template.to_owned(),
                        })?;
                    let name = &rest[1..end];
                    let placeholder = Placeholder::ALL
                        .iter()
                        .find(|(known, _)| *known == name)
                        .map(|(_, placeholder)| *placeholder)
                        .ok_or_else(|| {
                            let known: Vec<String> = Placeholder::ALL
                                .iter()
                                .map(|(n, _)| format!("{{{n}}}"))
                                .collect();
                            StreamTemplateError::UnknownPlaceholder {
                                template: template.to_owned(),
                                name: name.to_owned(),
                                known: known.join(", "),
                            }
                        })?;
                    parts.push(Part::Value(placeholder));
                    rest = &rest[end + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if literal.contains(['}', ':', '*']) {
                        return Err(StreamTemplateError::OutsidePlaceholder {
                            template: template.to_owned(),
                        });
                    }
                    parts.push(Part::Literal(literal.into()));
                    rest = &rest[end..];
                }
            }
        }
        if parts.is_empty() {
            return Err(StreamTemplateError::Empty);
        }
        Ok(Self { parts })
    }

    /// Writes the record's stream name into `out`, replacing its contents. Account and region
    /// come from the record, or from the key when the record lacks them or holds values that
    /// cannot be part of a stream name.
    pub fn write(
        &self,
        key: &KeyFacts,
        record: &RecordFields<'_>,
        category: EventCategory,
        out: &mut String,
    ) {
        out.clear();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Value(Placeholder::Account) => out.push_str(
                    [&record.recipient_account_id, &record.account_id]
                        .into_iter()
                        .filter_map(|a| a.as_deref())
                        .find(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                        .unwrap_or(&key.account_id),
                ),
                Part::Value(Placeholder::Region) => out.push_str(
                    record
                        .aws_region
                        .as_deref()
                        .filter(|r| {
                            !r.is_empty()
                                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        })
                        .unwrap_or(&key.region),
                ),
                Part::Value(Placeholder::OrganizationId) => {
                    out.push_str(key.organization_id.as_deref().unwrap_or_default())
                }
                Part::Value(Placeholder::OrgPrefix) => {
                    if let Some(organization_id) = &key.organization_id {
                        out.push_str(organization_id);
                        out.push('_');
                    }
                }
                Part::Value(Placeholder::Category) => out.push_str(category.as_str()),
                Part::Value(Placeholder::EventSource) => {
                    push_sanitized(out, record.event_source.as_deref().unwrap_or("unknown"))
                }
            }
        }
        if out.len() > MAX_STREAM_NAME {
            let mut end = MAX_STREAM_NAME;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
        }
    }
}

/// Record values may hold characters stream names cannot: `:` and `*` become `_`.
fn push_sanitized(out: &mut String, value: &str) {
    for c in value.chars() {
        out.push(if c == ':' || c == '*' { '_' } else { c });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";
    const ORG_KEY: &str = "AWSLogs/o-aa11bb22cc/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";

    fn name(template: &StreamTemplate, key: &str, record: &str) -> String {
        let facts = KeyFacts::for_key(&TrailKey::parse(key).unwrap());
        let fields = RecordFields::parse(record).unwrap();
        let mut out = String::from("left over");
        template.write(&facts, &fields, fields.category(), &mut out);
        out
    }

    #[test]
    fn default_is_cloudtrails_own_naming() {
        assert_eq!(
            StreamTemplate::parse(DEFAULT_STREAM_TEMPLATE).unwrap(),
            StreamTemplate::default()
        );
        let record = r#"{"recipientAccountId":"444455556666","awsRegion":"eu-west-1"}"#;
        assert_eq!(
            name(&StreamTemplate::default(), KEY, record),
            "444455556666_CloudTrail_eu-west-1"
        );
        let record = r#"{"recipientAccountId":"111122223333","awsRegion":"us-east-1"}"#;
        assert_eq!(
            name(&StreamTemplate::default(), ORG_KEY, record),
            "o-aa11bb22cc_111122223333_CloudTrail_us-east-1"
        );
    }

    #[test]
    fn missing_or_unusable_record_values_fall_back_to_the_key() {
        assert_eq!(
            name(&StreamTemplate::default(), KEY, "{}"),
            "111122223333_CloudTrail_us-east-1"
        );
        let odd = r#"{"recipientAccountId":"12:34","awsRegion":"us*east"}"#;
        assert_eq!(
            name(&StreamTemplate::default(), KEY, odd),
            "111122223333_CloudTrail_us-east-1"
        );
    }

    #[test]
    fn templates_can_use_category_source_and_organization() {
        let template =
            StreamTemplate::parse("{organizationId}/{category}/{eventSource}/{account}").unwrap();
        let record = r#"{"eventCategory":"Data","eventSource":"s3.amazonaws.com"}"#;
        assert_eq!(
            name(&template, ORG_KEY, record),
            "o-aa11bb22cc/Data/s3.amazonaws.com/111122223333"
        );
        assert_eq!(
            name(&template, KEY, r#"{"eventSource":"x:y*z"}"#),
            "/Management/x_y_z/111122223333"
        );
        assert_eq!(
            name(&template, KEY, r#"{"eventCategory":"Insight"}"#),
            "/Insight/unknown/111122223333"
        );
    }

    #[test]
    fn long_names_are_cut_to_512_bytes() {
        let template = StreamTemplate::parse("{eventSource}").unwrap();
        let record = format!(r#"{{"eventSource":"{}"}}"#, "é".repeat(400));
        let stream = name(&template, KEY, &record);
        assert!(stream.len() <= 512 && stream.len() >= 510);
    }

    #[test]
    fn bad_templates_are_refused() {
        for (template, reason) in [
            ("{accountId}", "known placeholders are"),
            ("{account", "unclosed"),
            ("a:b", "cannot hold"),
            ("a*{region}", "cannot hold"),
            ("x}", "outside a placeholder"),
            ("", "empty"),
        ] {
            let error = StreamTemplate::parse(template).unwrap_err().to_string();
            assert!(error.contains(reason), "{template}: {error}");
        }
    }
}
