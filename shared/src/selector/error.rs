//! Why a selector configuration is refused, in words naming the selector and the field.

use std::fmt;

/// A selector configuration CloudTrail would refuse, or that this forwarder cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SelectorError {
    /// Which selector, e.g. `AdvancedEventSelectors[1] ("S3 writes")`.
    pub selector: Option<String>,
    /// Which field or property.
    pub field: Option<&'static str>,
    pub reason: String,
}

impl SelectorError {
    pub fn new(selector: Option<String>, field: Option<&'static str>, reason: String) -> Self {
        Self {
            selector,
            field,
            reason,
        }
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("event selectors")?;
        if let Some(selector) = &self.selector {
            write!(f, ": {selector}")?;
        }
        if let Some(field) = self.field {
            write!(f, ", {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}
