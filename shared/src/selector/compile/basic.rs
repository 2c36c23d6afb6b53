//! Basic event selectors (`EventSelectors`): management events, read/write type, and data
//! resources by ARN.

use super::compiled::*;
use crate::selector::error::SelectorError;
use crate::selector::model::{DataResource, EventSelector};

pub(super) fn compile_basic(
    selectors: &[EventSelector],
) -> Result<Vec<CompiledBasic>, SelectorError> {
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
