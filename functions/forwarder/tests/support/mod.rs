//! Test support: the moto server and SDK configuration come from `trailwatch::testing`.

// Each test binary uses part of it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod harness;
pub mod proxy;

pub use trailwatch::testing::*;
