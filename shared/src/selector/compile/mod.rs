//! Validation of selectors at load, and their compiled form: plain data evaluated without
//! allocating per record.
//!
//! Limits and operator rules: PutEventSelectors / AdvancedFieldSelector API reference
//! (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html,
//! https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html).

use super::error::SelectorError;
use super::model::SelectorSet;
use crate::trail::EventCategory;

mod advanced;
mod basic;
mod compiled;
use advanced::compile_advanced;
use basic::compile_basic;
pub use compiled::{
    ArnRule, CompiledAdvanced, CompiledBasic, CompiledDataResource, Condition, EXCLUDABLE_SOURCES,
    Field, MAX_ADVANCED_VALUES, MAX_BASIC_SELECTORS, MAX_DATA_RESOURCE_VALUES, MAX_NAME_CHARS,
    MAX_VALUE_CHARS, Op, ReadWrite,
};

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
