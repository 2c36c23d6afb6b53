//! Selectors' compiled form, and CloudTrail's limits on them: plain data evaluated without
//! allocating per record.

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

    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }

    pub(super) fn allows(self, op: Op) -> bool {
        match self {
            Field::ReadOnly | Field::EventCategory | Field::ResourcesType => op == Op::Equals,
            Field::SessionCredentialFromConsole => matches!(op, Op::Equals | Op::NotEquals),
            _ => true,
        }
    }

    /// The values a field accepts, where CloudTrail fixes them.
    pub(super) fn allowed_values(self) -> Option<&'static [&'static str]> {
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
    /// Every operator, in the order CloudTrail documents them.
    pub const ALL: [Op; 6] = [
        Op::Equals,
        Op::StartsWith,
        Op::EndsWith,
        Op::NotEquals,
        Op::NotStartsWith,
        Op::NotEndsWith,
    ];

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
