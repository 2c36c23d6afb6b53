//! The configuration an object's path reads, taken from the forwarder's once per cold start.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ForwarderConfig;
use crate::route::Routes;
use crate::trail::AllowedAccounts;

/// The configuration the path reads, once per cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub routes: Arc<Routes>,
    pub dry_run: bool,
    pub max_decompressed_bytes: u64,
    pub handoff_margin: Duration,
    /// How long a put may still be stored after its caller gave up.
    pub in_flight_margin: Duration,
    /// Whose files are read.
    pub allowed_accounts: AllowedAccounts,
}

impl From<&ForwarderConfig> for Settings {
    fn from(config: &ForwarderConfig) -> Self {
        Self {
            routes: Arc::new(config.routes.clone()),
            dry_run: config.dry_run,
            max_decompressed_bytes: config.max_decompressed_bytes,
            handoff_margin: config.handoff_margin,
            in_flight_margin: config.in_flight_margin,
            allowed_accounts: config.allowed_accounts.clone(),
        }
    }
}
