//! Test support: the moto server, the fault proxy and SDK configuration come from
//! `trailwatch_test_support`; the harness is the forwarder's own.

// Each test binary uses part of it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod harness;

pub use trailwatch_test_support::*;
