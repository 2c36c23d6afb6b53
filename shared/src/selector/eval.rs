//! Whether selectors select a record: CloudTrail's combination rules
//! (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/filtering-data-events.html).
//!
//! - Any selector matching selects the record (OR across selectors).
//! - Inside an advanced selector every condition holds (AND); values of a positive operator are
//!   alternatives; a negative operator fails when any of its values matches; several operators
//!   on one field must all hold.
//! - `resources.type` picks the record's resources of those types; `resources.ARN` is tested
//!   on the ARNs of the picked resources (all resources when there is no type condition).
//! - A field the record lacks: positive operators do not hold, negative operators hold.
//!   `sessionCredentialFromConsole`, which CloudTrail writes only when true, counts as "false"
//!   when absent. `eventCategory` is never absent: it is derived for older records.
//! - Basic selectors: management events by `IncludeManagementEvents`, `ReadWriteType` and
//!   `ExcludeManagementEventSources`; data events by `DataResources` and `ReadWriteType`; they
//!   never select Insights, network activity or aggregated events. `ReadOnly` / `WriteOnly`
//!   do not select a record without `readOnly`.

use super::compile::{
    ArnRule, CompiledAdvanced, CompiledBasic, CompiledDataResource, Condition, Field, ReadWrite,
    Selectors,
};
use crate::trail::record::Resource;
use crate::trail::{EventCategory, RecordFields};

impl Selectors {
    pub fn selects(&self, record: &RecordFields<'_>) -> bool {
        match self {
            Selectors::All => true,
            Selectors::Basic(selectors) => {
                let category = record.category();
                selectors
                    .iter()
                    .any(|selector| selector.selects(record, category))
            }
            Selectors::Advanced(selectors) => {
                selectors.iter().any(|selector| selector.selects(record))
            }
        }
    }
}

impl CompiledBasic {
    fn selects(&self, record: &RecordFields<'_>, category: EventCategory) -> bool {
        let read_write = match self.read_write {
            ReadWrite::All => true,
            ReadWrite::ReadOnly => record.read_only == Some(true),
            ReadWrite::WriteOnly => record.read_only == Some(false),
        };
        if !read_write {
            return false;
        }
        match category {
            EventCategory::Management => {
                let source = record.event_source.as_deref().unwrap_or_default();
                self.management_events && !self.excluded_sources.iter().any(|s| **s == *source)
            }
            EventCategory::Data => {
                let resources = record.resources.as_deref().unwrap_or_default();
                self.data_resources
                    .iter()
                    .any(|data| data.selects(resources))
            }
            _ => false,
        }
    }
}

impl CompiledDataResource {
    fn selects(&self, resources: &[Resource<'_>]) -> bool {
        resources.iter().any(|resource| {
            resource.resource_type.as_deref() == Some(&*self.resource_type)
                && resource.arn.as_deref().is_some_and(|arn| {
                    self.rules.iter().any(|rule| match rule {
                        ArnRule::Prefix(prefix) => arn.starts_with(&**prefix),
                        ArnRule::Exact(exact) => arn == &**exact,
                    })
                })
        })
    }
}

impl CompiledAdvanced {
    fn selects(&self, record: &RecordFields<'_>) -> bool {
        let category = record.category();
        let resources = record.resources.as_deref().unwrap_or_default();
        let picked = |resource: &&Resource<'_>| {
            self.resource_types
                .iter()
                .all(|condition| condition.holds(resource.resource_type.as_deref()))
        };
        if !self.resource_types.is_empty() && !resources.iter().any(|r| picked(&r)) {
            return false;
        }
        self.conditions
            .iter()
            .all(|condition| match condition.field {
                Field::ResourcesArn => condition
                    .holds_for_any(resources.iter().filter(picked).map(|r| r.arn.as_deref())),
                field => condition.holds(scalar(record, field, category)),
            })
    }
}

/// A record's value of a single-valued field, as selectors compare it.
fn scalar<'r>(
    record: &'r RecordFields<'_>,
    field: Field,
    category: EventCategory,
) -> Option<&'r str> {
    let flag = |value: bool| if value { "true" } else { "false" };
    match field {
        Field::EventCategory => Some(category.as_str()),
        Field::EventSource => record.event_source.as_deref(),
        Field::EventName => record.event_name.as_deref(),
        Field::EventType => record.event_type.as_deref(),
        Field::ReadOnly => record.read_only.map(flag),
        Field::SessionCredentialFromConsole => Some(flag(
            record.session_credential_from_console.unwrap_or(false),
        )),
        Field::UserIdentityArn => record.user_identity.as_ref().and_then(|u| u.arn.as_deref()),
        Field::ErrorCode => record.error_code.as_deref(),
        Field::VpcEndpointId => record.vpc_endpoint_id.as_deref(),
        // Multi-valued: handled by the caller.
        Field::ResourcesType | Field::ResourcesArn => None,
    }
}

impl Condition {
    /// On one value: a positive operator holds when a value matches; a negative one when none
    /// does. A missing value fails positive operators and passes negative ones.
    fn holds(&self, value: Option<&str>) -> bool {
        let matched =
            value.is_some_and(|value| self.values.iter().any(|p| self.op.compares(value, p)));
        matched != self.op.is_negative()
    }

    /// On several values (resource ARNs): positive holds when any value matches; negative
    /// holds when no value matches.
    fn holds_for_any<'v>(&self, values: impl Iterator<Item = Option<&'v str>>) -> bool {
        let mut values = values.flatten();
        let matched = values.any(|value| self.values.iter().any(|p| self.op.compares(value, p)));
        matched != self.op.is_negative()
    }
}

#[cfg(test)]
mod tests;
