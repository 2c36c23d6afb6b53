//! The queues the validator sends to: its own digest queue for a range's fan-out, and the
//! forwarder's delivery queue for repairs. SQS in production, memory in tests.

use std::future::Future;

use super::recheck::Recheck;
use super::request::RangeKind;
use crate::digest::request::RangeRequest;
use crate::ports::CallError;

/// Where a range over several accounts and regions is sent, one request per account and
/// region, to be validated by as many invocations.
pub trait RangeQueue: Send + Sync + 'static {
    /// Sends each request, as `kind` asks (`{"validateRange": …}` or `{"auditLogs": …}`); how
    /// many were sent.
    fn send(
        &self,
        kind: RangeKind,
        requests: &[RangeRequest],
    ) -> impl Future<Output = Result<usize, CallError>> + Send;

    /// Sends `recheck` to the same queue, delivered after `delay` (at most 15 minutes).
    fn send_recheck(
        &self,
        recheck: &Recheck,
        delay: std::time::Duration,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// Where a log file found not forwarded is notified to the forwarder again.
pub trait RepairQueue: Send + Sync + 'static {
    /// Sends each notification body; how many were sent.
    fn send(&self, bodies: &[String]) -> impl Future<Output = Result<usize, CallError>> + Send;
}
