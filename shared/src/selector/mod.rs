//! CloudTrail event selectors, basic and advanced: the model (`model`), validation and
//! compilation (`compile`), and evaluation against a record (`eval`).

pub mod compile;
pub mod error;
mod eval;
pub mod model;

pub use compile::Selectors;
pub use error::SelectorError;
pub use model::SelectorSet;
