//! The functions' log subscriber: Lambda's level and format controls read as lambda_runtime's
//! default subscriber reads them (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`; `AWS_LAMBDA_LOG_FORMAT`
//! `JSON`), with the SDK's and the HTTP stack's crates held at WARN whatever is asked: at DEBUG
//! and TRACE they log requests, and a PutLogEvents request body is the records (identities,
//! request parameters). Our own code never logs a record.
//! Controls: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Crates held at WARN: the SDK, its runtime and signing, and the HTTP and TLS stack.
pub(crate) const QUIET_TARGETS: [&str; 9] = [
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_sigv4",
    "aws_runtime",
    "hyper",
    "h2",
    "rustls",
    "tower",
];

/// The filter for a requested level or directive list (`DEBUG`, `info,forwarder=trace`):
/// every directive about a quiet crate is dropped, then each quiet crate is set to WARN. A
/// directive is a level (the default), `target=level`, or a bare target (all its levels), as
/// `RUST_LOG` spells them; a target matches itself and every target it begins (`trailwatch`
/// matches `trailwatch::pipeline`), and the longest match decides.
pub fn filter(requested: Option<&str>) -> Targets {
    let mut filter = Targets::new().with_default(LevelFilter::INFO);
    for text in requested.unwrap_or("INFO").split(',') {
        let text = text.trim();
        if text.is_empty() || QUIET_TARGETS.iter().any(|target| text.starts_with(target)) {
            continue;
        }
        filter = match text.split_once('=') {
            Some((target, level)) => match level.trim().parse::<LevelFilter>() {
                Ok(level) => filter.with_target(target.trim(), level),
                Err(_) => filter,
            },
            None => match text.parse::<LevelFilter>() {
                Ok(level) => filter.with_default(level),
                Err(_) => filter.with_target(text, LevelFilter::TRACE),
            },
        };
    }
    filter.with_targets(QUIET_TARGETS.map(|target| (target, LevelFilter::WARN)))
}

/// `--debug` on a command: our code and the SDK's request flow (credentials, endpoints, calls,
/// retries) at DEBUG; the HTTP and TLS stack stays at WARN, and nothing is at TRACE, where
/// request and response bodies are logged.
pub(crate) fn debug_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::DEBUG)
        .with_targets(["hyper", "h2", "rustls", "tower"].map(|target| (target, LevelFilter::WARN)))
}

/// A command's subscriber, on standard error beside its output: `--debug`'s filter, else
/// `RUST_LOG`, else warnings only (a command's own output says what happened; the functions'
/// per-object INFO lines are for their logs).
pub fn init_command_subscriber(debug: bool) {
    let filter = if debug {
        debug_filter()
    } else {
        filter(Some(
            std::env::var("RUST_LOG").ok().as_deref().unwrap_or("warn"),
        ))
    };
    tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stderr)
        .finish()
        .with(filter)
        .init();
}

/// Installs the subscriber on standard output, as Lambda expects.
pub fn init_subscriber() {
    init_subscriber_with_writer(std::io::stdout);
}

/// Installs the subscriber on `writer` (commands: standard error, beside their output).
pub(crate) fn init_subscriber_with_writer<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = filter(requested.as_deref());
    // The builder's own level passes everything; `filter` decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        builder.json().finish().with(filter).init();
    } else {
        builder.finish().with(filter).init();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(requested: &str) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_writer(move || writer.clone())
            .finish()
            .with(filter(Some(requested)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk request body");
            tracing::debug!(target: "hyper_util::client", "http frame");
            tracing::warn!(target: "aws_smithy_runtime::client", "sdk warning");
            tracing::debug!(target: "trailwatch::pipeline", "our debug line");
        });
        let text = captured.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn no_level_setting_lets_the_sdk_log_requests() {
        for requested in [
            "TRACE",
            "trace,aws_smithy_runtime=trace",
            "aws_smithy_runtime::client::orchestrator=trace,trace",
            "debug,hyper_util=trace",
        ] {
            let text = logged(requested);
            assert!(!text.contains("sdk request body"), "{requested}: {text}");
            assert!(!text.contains("http frame"), "{requested}: {text}");
            assert!(text.contains("sdk warning"), "{requested}: {text}");
            assert!(text.contains("our debug line"), "{requested}: {text}");
        }
        assert!(!logged("INFO").contains("our debug line"));
        // A target's own level, a bare target (all its levels), and a level in capitals.
        for requested in [
            "warn,trailwatch=debug",
            "WARN, trailwatch",
            "error,trailwatch=DEBUG",
        ] {
            let text = logged(requested);
            assert!(text.contains("our debug line"), "{requested}: {text}");
            assert!(!text.contains("http frame"), "{requested}: {text}");
        }
        assert!(!logged("warn,trailwatch::digest=debug").contains("our debug line"));
    }

    #[test]
    fn debug_shows_the_sdk_calls_but_never_bodies_or_http_frames() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_writer(move || writer.clone())
            .finish()
            .with(debug_filter());
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk request body");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "beginning attempt");
            tracing::debug!(target: "hyper_util::client", "http frame");
            tracing::debug!(target: "trailwatch::digest", "our debug line");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("beginning attempt"), "{text}");
        assert!(text.contains("our debug line"), "{text}");
        assert!(!text.contains("sdk request body"), "{text}");
        assert!(!text.contains("http frame"), "{text}");
    }
}
