//! When an invocation must stop: Lambda's deadline, and the signal that tells the reading
//! thread to stop at the next batch boundary so the rest can be handed off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Read by the reading thread: set once the invocation nears its deadline.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal that is never given.
    pub fn never() -> Self {
        Self::default()
    }

    /// A signal given already (tests; an invocation out of time).
    pub fn given() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    pub fn is_given(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn give(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// When an invocation ends, on both clocks it is used on: the monotonic instant for timers and
/// call timeouts, and epoch milliseconds for leases other invocations read. Taken once from
/// Lambda's deadline (epoch milliseconds), never converted back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationEnd {
    instant: Instant,
    epoch_millis: i64,
}

impl InvocationEnd {
    /// Lambda's deadline. One already past at the start is unknown, not expired: Lambda never
    /// sends one, but local runtimes do (cargo-lambda's sends a fixed 600000, in 1970).
    pub fn from_epoch_millis(deadline_millis: u64) -> Option<Self> {
        let now = crate::clock::now_millis();
        let epoch_millis = i64::try_from(deadline_millis).ok().filter(|d| *d > now)?;
        let left = Duration::from_millis(u64::try_from(epoch_millis - now).unwrap_or_default());
        Some(Self {
            instant: Instant::now() + left,
            epoch_millis,
        })
    }

    /// `left` from now (tests, local runs).
    pub fn after(left: Duration) -> Self {
        let millis = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
        Self {
            instant: Instant::now() + left,
            epoch_millis: crate::clock::now_millis().saturating_add(millis),
        }
    }

    pub fn instant(&self) -> Instant {
        self.instant
    }

    pub fn epoch_millis(&self) -> i64 {
        self.epoch_millis
    }
}

/// An invocation's deadline: the stop signal, given `margin` before the deadline (at most a
/// quarter of the time left, so short timeouts still make progress), and the instant itself
/// for the timeouts of calls.
#[derive(Debug)]
pub struct Deadline {
    end: Option<InvocationEnd>,
    stop: StopSignal,
    timer: Option<JoinHandle<()>>,
}

impl Deadline {
    /// No deadline: nothing stops early (local runs, commands).
    pub fn none() -> Self {
        Self {
            end: None,
            stop: StopSignal::never(),
            timer: None,
        }
    }

    /// Out of time already: the first object still starts, the others are handed off.
    pub fn stopped() -> Self {
        Self {
            end: None,
            stop: StopSignal::given(),
            timer: None,
        }
    }

    /// The deadline as epoch milliseconds, when there is one: how long a lease lasts.
    pub fn epoch_millis(&self) -> Option<i64> {
        self.end.map(|end| end.epoch_millis())
    }

    /// Starts the timer that gives the stop signal. Must be called within a tokio runtime.
    pub fn start(end: Option<InvocationEnd>, margin: Duration) -> Self {
        let Some(end) = end else {
            return Self::none();
        };
        let at = end.instant();
        let left = at.saturating_duration_since(Instant::now());
        tracing::debug!(left_ms = left.as_millis() as u64, "invocation deadline");
        let stop = StopSignal::never();
        let signal = stop.clone();
        let stop_at = at - margin.min(left / 4);
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(stop_at).await;
            signal.give();
        });
        Self {
            end: Some(end),
            stop,
            timer: Some(timer),
        }
    }

    /// When Lambda stops the function, if known.
    pub fn at(&self) -> Option<Instant> {
        self.end.map(|end| end.instant())
    }

    pub fn signal(&self) -> StopSignal {
        self.stop.clone()
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.is_given()
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_stop_comes_a_margin_before_the_deadline_and_at_most_a_quarter_of_the_time_left() {
        // Given: 100 s left and a 20 s margin.
        let deadline = Deadline::start(
            Some(InvocationEnd::after(Duration::from_secs(100))),
            Duration::from_secs(20),
        );
        tokio::time::sleep(Duration::from_secs(79)).await;
        assert!(!deadline.stop_requested());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(deadline.stop_requested());

        // A short invocation: 8 s left, the stop after 6 s, not 20 s before the end.
        let short = Deadline::start(
            Some(InvocationEnd::after(Duration::from_secs(8))),
            Duration::from_secs(20),
        );
        tokio::time::sleep(Duration::from_millis(5_900)).await;
        assert!(!short.stop_requested());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(short.stop_requested());
    }

    #[test]
    fn lambdas_deadline_is_kept_on_both_clocks_and_one_already_past_is_unknown() {
        assert!(InvocationEnd::from_epoch_millis(0).is_none());
        assert!(InvocationEnd::from_epoch_millis(600_000).is_none());
        let in_a_minute = u64::try_from(crate::clock::now_millis()).unwrap() + 60_000;
        let end = InvocationEnd::from_epoch_millis(in_a_minute).unwrap();
        assert_eq!(end.epoch_millis(), i64::try_from(in_a_minute).unwrap());
        let left = end.instant().saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }

    #[test]
    fn without_a_deadline_nothing_stops() {
        let deadline = Deadline::none();
        assert!(!deadline.stop_requested() && deadline.at().is_none());
    }
}
