//! Validation of selectors at load, and their compiled form: plain data evaluated without
//! allocating per record.
//!
//! Limits and operator rules: PutEventSelectors / AdvancedFieldSelector API reference
//! (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html,
//! https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html).

use super::error::SelectorError;
use super::model::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, SelectorSet,
};
use crate::trail::EventCategory;

/// At most 5 basic selectors per trail.
pub const MAX_BASIC_SELECTORS: usize = 5;
/// At most 250 data resource values across a trail's basic selectors ("all" values aside).
pub const MAX_DATA_RESOURCE_VALUES: usize = 250;
/// At most 500 values across all conditions of a trail's advanced selectors.
pub const MAX_ADVANCED_VALUES: usize = 500;
/// Each advanced value is 1 to 2048 characters.
pub const MAX_VALUE_CHARS: usize = 2048;
/// An advanced selector's name is at most 1000 characters.
pub const MAX_NAME_CHARS: usize = 1000;
/// The only sources basic selectors can exclude.
pub const EXCLUDABLE_SOURCES: [&str; 2] = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];

/// The fields an advanced selector can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    EventCategory,
    EventSource,
    EventName,
    EventType,
    ReadOnly,
    ResourcesType,
    ResourcesArn,
    SessionCredentialFromConsole,
    UserIdentityArn,
    ErrorCode,
    VpcEndpointId,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::EventCategory,
        Field::EventSource,
        Field::EventName,
        Field::EventType,
        Field::ReadOnly,
        Field::ResourcesType,
        Field::ResourcesArn,
        Field::SessionCredentialFromConsole,
        Field::UserIdentityArn,
        Field::ErrorCode,
        Field::VpcEndpointId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::EventCategory => "eventCategory",
            Field::EventSource => "eventSource",
            Field::EventName => "eventName",
            Field::EventType => "eventType",
            Field::ReadOnly => "readOnly",
            Field::ResourcesType => "resources.type",
            Field::ResourcesArn => "resources.ARN",
            Field::SessionCredentialFromConsole => "sessionCredentialFromConsole",
            Field::UserIdentityArn => "userIdentity.arn",
            Field::ErrorCode => "errorCode",
            Field::VpcEndpointId => "vpcEndpointId",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }

    fn allows(self, op: Op) -> bool {
        match self {
            Field::ReadOnly | Field::EventCategory | Field::ResourcesType => op == Op::Equals,
            Field::SessionCredentialFromConsole => matches!(op, Op::Equals | Op::NotEquals),
            _ => true,
        }
    }

    /// The values a field accepts, where CloudTrail fixes them.
    fn allowed_values(self) -> Option<&'static [&'static str]> {
        match self {
            Field::ReadOnly | Field::SessionCredentialFromConsole => Some(&["true", "false"]),
            Field::EventCategory => Some(&[
                "Management",
                "Data",
                "NetworkActivity",
                "Insight",
                "Aggregated",
            ]),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    StartsWith,
    EndsWith,
    NotEquals,
    NotStartsWith,
    NotEndsWith,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Equals => "Equals",
            Op::StartsWith => "StartsWith",
            Op::EndsWith => "EndsWith",
            Op::NotEquals => "NotEquals",
            Op::NotStartsWith => "NotStartsWith",
            Op::NotEndsWith => "NotEndsWith",
        }
    }

    pub fn is_negative(self) -> bool {
        matches!(self, Op::NotEquals | Op::NotStartsWith | Op::NotEndsWith)
    }

    /// Whether `value` matches `pattern` by this operator's comparison (ignoring negation).
    pub fn compares(self, value: &str, pattern: &str) -> bool {
        match self {
            Op::Equals | Op::NotEquals => value == pattern,
            Op::StartsWith | Op::NotStartsWith => value.starts_with(pattern),
            Op::EndsWith | Op::NotEndsWith => value.ends_with(pattern),
        }
    }
}

/// One operator on one field with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub values: Box<[Box<str>]>,
}

/// An advanced selector, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledAdvanced {
    /// `resources.type` conditions: they choose which resources `resources.ARN` is tested on.
    pub resource_types: Vec<Condition>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadWrite {
    All,
    ReadOnly,
    WriteOnly,
}

/// How a basic data resource value matches a resource ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnRule {
    Prefix(Box<str>),
    Exact(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledDataResource {
    pub resource_type: Box<str>,
    pub rules: Vec<ArnRule>,
}

/// A basic selector, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledBasic {
    pub read_write: ReadWrite,
    pub management_events: bool,
    pub excluded_sources: Vec<Box<str>>,
    pub data_resources: Vec<CompiledDataResource>,
}

/// Compiled selectors: select everything, or CloudTrail's basic or advanced rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selectors {
    All,
    Basic(Vec<CompiledBasic>),
    Advanced(Vec<CompiledAdvanced>),
}

impl Selectors {
    /// Validates and compiles. Errors name the selector and field at fault.
    pub fn compile(set: &SelectorSet) -> Result<Self, SelectorError> {
        match set {
            SelectorSet::Basic(selectors) => compile_basic(selectors).map(Selectors::Basic),
            SelectorSet::Advanced(selectors) => {
                compile_advanced(selectors).map(Selectors::Advanced)
            }
        }
    }

    /// Reads and compiles selector JSON in any accepted shape.
    pub fn from_json(text: &str) -> Result<Self, SelectorError> {
        Self::compile(&SelectorSet::from_json(text)?)
    }
}

fn compile_basic(selectors: &[EventSelector]) -> Result<Vec<CompiledBasic>, SelectorError> {
    if selectors.len() > MAX_BASIC_SELECTORS {
        return Err(SelectorError::new(
            None,
            None,
            format!(
                "has {} EventSelectors; CloudTrail allows at most {MAX_BASIC_SELECTORS}",
                selectors.len()
            ),
        ));
    }
    let mut data_values = 0;
    let compiled = selectors
        .iter()
        .enumerate()
        .map(|(index, selector)| {
            let at = || Some(format!("EventSelectors[{index}]"));
            let read_write = match selector.read_write_type.as_deref().unwrap_or("All") {
                "All" => ReadWrite::All,
                "ReadOnly" => ReadWrite::ReadOnly,
                "WriteOnly" => ReadWrite::WriteOnly,
                other => {
                    return Err(SelectorError::new(
                        at(),
                        Some("ReadWriteType"),
                        format!("{other:?} is not All, ReadOnly or WriteOnly"),
                    ));
                }
            };
            for source in &selector.exclude_management_event_sources {
                if !EXCLUDABLE_SOURCES.contains(&source.as_str()) {
                    return Err(SelectorError::new(
                        at(),
                        Some("ExcludeManagementEventSources"),
                        format!(
                            "{source:?} cannot be excluded; CloudTrail allows only {}",
                            EXCLUDABLE_SOURCES.join(" and ")
                        ),
                    ));
                }
            }
            let data_resources = selector
                .data_resources
                .iter()
                .map(|resource| {
                    let compiled = compile_data_resource(resource, at)?;
                    data_values += compiled
                        .rules
                        .iter()
                        .filter(|rule| !is_all_rule(rule))
                        .count();
                    Ok(compiled)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CompiledBasic {
                read_write,
                management_events: selector.include_management_events.unwrap_or(true),
                excluded_sources: selector
                    .exclude_management_event_sources
                    .iter()
                    .map(|s| s.as_str().into())
                    .collect(),
                data_resources,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if data_values > MAX_DATA_RESOURCE_VALUES {
        return Err(SelectorError::new(
            None,
            Some("DataResources"),
            format!(
                "has {data_values} data resource values; CloudTrail allows at most {MAX_DATA_RESOURCE_VALUES}"
            ),
        ));
    }
    Ok(compiled)
}

const S3_OBJECT: &str = "AWS::S3::Object";
const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
const DYNAMODB_TABLE: &str = "AWS::DynamoDB::Table";

/// CloudTrail's rules for basic data resource values: S3 values are ARN prefixes
/// (`arn:aws:s3` all buckets, `arn:aws:s3:::bucket/` all its objects); a Lambda function or
/// DynamoDB table ARN matches exactly, and `arn:aws:lambda` / `arn:aws:dynamodb` match all.
/// `selector` names the selector in the error.
fn compile_data_resource(
    resource: &DataResource,
    selector: impl Fn() -> Option<String>,
) -> Result<CompiledDataResource, SelectorError> {
    let refused = |reason: String| SelectorError::new(selector(), Some("DataResources"), reason);
    let resource_type = resource.resource_type.as_str();
    if ![S3_OBJECT, LAMBDA_FUNCTION, DYNAMODB_TABLE].contains(&resource_type) {
        return Err(refused(format!(
            "Type {resource_type:?} is not one basic selectors take ({S3_OBJECT}, {LAMBDA_FUNCTION}, {DYNAMODB_TABLE}); use advanced selectors"
        )));
    }
    if resource.values.is_empty() {
        return Err(refused(format!("{resource_type} has an empty Values list")));
    }
    let rules = resource
        .values
        .iter()
        .map(|value| {
            if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
                return Err(refused(format!(
                    "{resource_type} value {value:?} must be 1 to {MAX_VALUE_CHARS} characters"
                )));
            }
            if resource_type == S3_OBJECT {
                return Ok(ArnRule::Prefix(value.as_str().into()));
            }
            Ok(match service_wide_prefix(value) {
                Some(prefix) => ArnRule::Prefix(prefix.into()),
                None => ArnRule::Exact(value.as_str().into()),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CompiledDataResource {
        resource_type: resource_type.into(),
        rules,
    })
}

/// `arn:aws:lambda` (with or without trailing colons) → `arn:aws:lambda:`.
fn service_wide_prefix(value: &str) -> Option<String> {
    let trimmed = value.trim_end_matches(':');
    let parts: Vec<&str> = trimmed.split(':').collect();
    (parts.len() == 3 && parts[0] == "arn" && parts.iter().all(|p| !p.is_empty()))
        .then(|| format!("{trimmed}:"))
}

/// Values that log every resource of a type do not count toward the 250.
fn is_all_rule(rule: &ArnRule) -> bool {
    match rule {
        ArnRule::Prefix(prefix) => {
            let trimmed = prefix.trim_end_matches(':');
            trimmed.split(':').count() == 3 && trimmed.split(':').all(|p| !p.is_empty())
        }
        ArnRule::Exact(_) => false,
    }
}

fn compile_advanced(
    selectors: &[AdvancedEventSelector],
) -> Result<Vec<CompiledAdvanced>, SelectorError> {
    let mut total_values = 0;
    let compiled = selectors
        .iter()
        .enumerate()
        .map(|(index, selector)| {
            let at = || {
                Some(match &selector.name {
                    Some(name) => format!("AdvancedEventSelectors[{index}] ({name:?})"),
                    None => format!("AdvancedEventSelectors[{index}]"),
                })
            };
            if selector
                .name
                .as_ref()
                .is_some_and(|name| name.chars().count() > MAX_NAME_CHARS)
            {
                return Err(SelectorError::new(
                    at(),
                    None,
                    format!("Name is longer than {MAX_NAME_CHARS} characters"),
                ));
            }
            if selector.field_selectors.is_empty() {
                return Err(SelectorError::new(
                    at(),
                    None,
                    "has no FieldSelectors".to_owned(),
                ));
            }
            let mut compiled = CompiledAdvanced {
                resource_types: Vec::new(),
                conditions: Vec::new(),
            };
            for field_selector in &selector.field_selectors {
                for condition in compile_field(field_selector)
                    .map_err(|(field, reason)| SelectorError::new(at(), field, reason))?
                {
                    total_values += condition.values.len();
                    if condition.field == Field::ResourcesType {
                        compiled.resource_types.push(condition);
                    } else {
                        compiled.conditions.push(condition);
                    }
                }
            }
            Ok(compiled)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if total_values > MAX_ADVANCED_VALUES {
        return Err(SelectorError::new(
            None,
            None,
            format!(
                "has {total_values} values across AdvancedEventSelectors; CloudTrail allows at most {MAX_ADVANCED_VALUES}"
            ),
        ));
    }
    Ok(compiled)
}

type FieldError = (Option<&'static str>, String);

fn compile_field(selector: &AdvancedFieldSelector) -> Result<Vec<Condition>, FieldError> {
    let field = Field::parse(&selector.field).ok_or_else(|| {
        let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        (
            None,
            format!(
                "field {:?} is not one of {}",
                selector.field,
                known.join(", ")
            ),
        )
    })?;
    let name = Some(field.name());
    let operators = [
        (Op::Equals, &selector.equals),
        (Op::StartsWith, &selector.starts_with),
        (Op::EndsWith, &selector.ends_with),
        (Op::NotEquals, &selector.not_equals),
        (Op::NotStartsWith, &selector.not_starts_with),
        (Op::NotEndsWith, &selector.not_ends_with),
    ];
    let mut conditions = Vec::new();
    for (op, values) in operators {
        let Some(values) = values else { continue };
        if !field.allows(op) {
            let allowed: Vec<&str> = [
                Op::Equals,
                Op::StartsWith,
                Op::EndsWith,
                Op::NotEquals,
                Op::NotStartsWith,
                Op::NotEndsWith,
            ]
            .into_iter()
            .filter(|&o| field.allows(o))
            .map(Op::name)
            .collect();
            return Err((
                name,
                format!(
                    "operator {} is not allowed; {} takes only {}",
                    op.name(),
                    field.name(),
                    allowed.join(", ")
                ),
            ));
        }
        if values.is_empty() {
            return Err((name, format!("{} has an empty value list", op.name())));
        }
        for value in values {
            if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
                return Err((
                    name,
                    format!(
                        "{} value of {} characters; values are 1 to {MAX_VALUE_CHARS}",
                        op.name(),
                        value.chars().count()
                    ),
                ));
            }
            if let Some(allowed) = field.allowed_values() {
                if !allowed.contains(&value.as_str()) {
                    return Err((
                        name,
                        format!("{value:?} is not one of {}", allowed.join(", ")),
                    ));
                }
            }
        }
        conditions.push(Condition {
            field,
            op,
            values: values.iter().map(|v| v.as_str().into()).collect(),
        });
    }
    if conditions.is_empty() {
        return Err((name, "has no operator (Equals, StartsWith, EndsWith, NotEquals, NotStartsWith or NotEndsWith)".to_owned()));
    }
    Ok(conditions)
}

impl Selectors {
    /// Whether any record of `category` could be selected: lets a whole file of one category
    /// (an Insights file) be skipped unread when nothing would take it.
    pub fn may_select(&self, category: EventCategory) -> bool {
        match self {
            Selectors::All => true,
            Selectors::Basic(selectors) => selectors.iter().any(|s| match category {
                EventCategory::Management => s.management_events,
                EventCategory::Data => !s.data_resources.is_empty(),
                _ => false,
            }),
            Selectors::Advanced(selectors) => selectors.iter().any(|s| {
                s.conditions
                    .iter()
                    .filter(|c| c.field == Field::EventCategory)
                    .all(|c| c.values.iter().any(|v| **v == *category.as_str()))
            }),
        }
    }
}
