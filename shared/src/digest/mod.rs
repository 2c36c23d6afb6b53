//! Log file integrity validation: digest files, their signatures and chain, and the hashes of
//! the log files they list, with the verdicts of `aws cloudtrail validate-logs`.

pub mod chain;
pub mod config;
pub mod event;
pub mod hash;
pub mod keys;
pub mod locate;
pub mod model;
pub mod provenance;
pub mod report;
pub mod request;
pub mod signature;
pub mod silence;
pub mod store;
pub mod validate;
pub mod verdict;

#[cfg(test)]
pub(crate) mod fakes;
#[cfg(test)]
mod tests;
