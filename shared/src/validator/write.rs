//! What an invocation writes to the integrity group: one event per verdict, in the stream of
//! its account, region and trail.

use std::sync::Arc;

use super::outcome::Outcome;
use crate::audit::{Audit, Finding};
use crate::digest::event::{About, EventSubject, IntegrityEvent};
use crate::digest::locate::TrailDigests;
use crate::logs::{BatchBuilder, Destination, LogEvent};
use crate::ports::{CallError, LogSink};

/// Each validation's verdict events, then its reconciliation's, then one event per late region.
pub(crate) async fn write_events<L: LogSink>(
    sink: &L,
    log_group: &Arc<str>,
    outcome: &Outcome,
    now: i64,
) -> Result<(), CallError> {
    for checked in &outcome.checked {
        let what = &checked.validated.what;
        // A recheck's S3 verdicts were written when its digest was validated.
        let verdicts = checked.validated.report.verdicts.iter();
        let verdicts = verdicts.filter(|_| !checked.recheck);
        let verdicts = verdicts.map(|verdict| IntegrityEvent::verdict(verdict, what).line());
        let reconciled = checked.reconciled.iter().flat_map(|r| &r.verdicts);
        let forwarding = reconciled.map(|verdict| IntegrityEvent::forwarding(verdict, what).line());
        let stream = verdict_stream(&checked.validated.scope.trail);
        write_lines(sink, log_group, &stream, verdicts.chain(forwarding), now).await?;
    }
    for audit in &outcome.audits {
        let what = &audit.validated.what;
        let found = audit.findings.iter();
        let lines = found
            .map(|finding| finding_event(finding, what).line())
            .chain([summary_event(audit).line()]);
        let stream = verdict_stream(&audit.validated.scope.trail);
        write_lines(sink, log_group, &stream, lines, now).await?;
    }
    for lateness in outcome.late() {
        let line = IntegrityEvent::late(lateness, now).line();
        write_lines(
            sink,
            log_group,
            &verdict_stream(&lateness.trail),
            [line],
            now,
        )
        .await?;
    }
    Ok(())
}

/// One thing an audit found in a stream, as an integrity event.
fn finding_event<'a>(finding: &'a Finding, validated: &'a str) -> IntegrityEvent<'a> {
    let (status, destination) = match finding {
        Finding::Missing { destination, .. } => ("missing", destination),
        Finding::Duplicated { destination, .. } => ("duplicated", destination),
        Finding::Unsigned { destination, .. } => ("unsigned", destination),
    };
    IntegrityEvent {
        verdict: finding.to_string(),
        status,
        valid: false,
        subject: EventSubject::Audit,
        about: About::Stream {
            log_group: &destination.log_group,
            log_stream: &destination.log_stream,
            validated,
        },
    }
}

/// An audit's summary line: valid when everything signed was there once and nothing else.
fn summary_event(audit: &Audit) -> IntegrityEvent<'_> {
    IntegrityEvent {
        verdict: audit.summary(),
        status: "audited",
        valid: audit.findings.is_empty() && audit.not_audited.is_empty(),
        subject: EventSubject::Audit,
        about: About::Audited {
            validated: &audit.validated.what,
        },
    }
}

/// The stream of one account's, region's and trail's verdicts in the integrity group.
pub(crate) fn verdict_stream(trail: &TrailDigests) -> String {
    format!(
        "{}_CloudTrail-Digest_{}_{}",
        trail.account_id, trail.source_region, trail.trail_name
    )
}

/// One event per line in `stream` of the integrity group.
async fn write_lines<L: LogSink>(
    sink: &L,
    log_group: &Arc<str>,
    stream: &str,
    lines: impl IntoIterator<Item = String>,
    now: i64,
) -> Result<(), CallError> {
    let destination = Destination {
        log_group: Arc::clone(log_group),
        log_stream: Arc::from(stream),
    };
    let mut builder = BatchBuilder::new();
    let mut batches = Vec::new();
    for (index, message) in lines.into_iter().enumerate() {
        let pushed = builder.push(LogEvent {
            timestamp: now * 1000,
            message,
            record_index: index as u64,
        });
        match pushed {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => {}
            // A verdict line is a few hundred bytes; one this large says the key is absurd.
            Err(too_large) => {
                tracing::error!(
                    stream,
                    bytes = too_large.bytes,
                    "verdict event too large for CloudWatch Logs: not written"
                );
            }
        }
    }
    batches.extend(builder.finish());
    for batch in batches {
        sink.put(&destination, &batch, None).await?;
    }
    Ok(())
}
