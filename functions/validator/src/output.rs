//! What an invocation writes: one CloudWatch Logs event per verdict in the integrity group, and
//! EMF metrics per account and region.

use std::sync::Arc;

use serde_json::Value;
use trailwatch::digest::locate::TrailDigests;
use trailwatch::digest::provenance::{ForwardingEvent, count as count_forwarding};
use trailwatch::digest::report::Counts;
use trailwatch::digest::silence::Lateness;
use trailwatch::digest::store::CallError;
use trailwatch::digest::validate::Validated;
use trailwatch::digest::verdict::VerdictEvent;
use trailwatch::logs::{BatchBuilder, Destination, LogEvent};
use trailwatch::metrics::{line_with_dimensions, validator_part_metrics};
use trailwatch::ports::LogSink;

use crate::{HandlerError, Validator};

/// Writes each part's verdict events (and its reconciliation's, with `repairs` sent per part)
/// and its problem metrics; the counts of all parts and the lines of what is not valid.
pub(crate) async fn report_validated(
    validator: &Validator,
    done: &[Validated],
    repairs: Option<&[u64]>,
    function_name: &str,
    now: i64,
) -> Result<(Counts, Vec<String>), HandlerError> {
    let mut counts = Counts::default();
    let mut invalid = Vec::new();
    for (part, validated) in done.iter().enumerate() {
        let trail = &validated.scope.trail;
        let what = &validated.what;
        let verdicts = validated.report.verdicts.iter().map(|verdict| {
            serde_json::to_string(&VerdictEvent::of(verdict, what)).unwrap_or_default()
        });
        let forwarding = validated.forwarding.iter().map(|verdict| {
            serde_json::to_string(&ForwardingEvent::of(verdict, what)).unwrap_or_default()
        });
        write_lines(
            validator,
            &verdict_stream(trail),
            verdicts.chain(forwarding),
            now,
        )
        .await
        .map_err(HandlerError::Verdicts)?;
        let mut part_counts = validated.report.counts();
        if let Some(repairs) = repairs {
            let (mut reconciled, not_checked) = count_forwarding(&validated.forwarding);
            reconciled.repairs_sent = repairs.get(part).copied().unwrap_or(0);
            part_counts.forwarding = Some(reconciled);
            part_counts.checks_incomplete += not_checked;
            invalid.extend(
                validated
                    .forwarding
                    .iter()
                    .filter(|v| v.forwarding.is_problem())
                    .map(ToString::to_string),
            );
        }
        counts.add(&part_counts);
        let problems = validator_part_metrics(&part_counts, false);
        if !problems.is_empty() {
            print_part_metrics(validator, function_name, trail, problems, now);
        }
        let verdicts = validated.report.verdicts.iter();
        invalid.extend(
            verdicts
                .filter(|v| !v.status.is_valid())
                .map(ToString::to_string),
        );
    }
    Ok((counts, invalid))
}

/// Writes an event and a metric for each region whose digests are late; those regions.
pub(crate) async fn report_late<'w>(
    validator: &Validator,
    lateness: &'w [Lateness],
    function_name: &str,
    now: i64,
) -> Result<Vec<&'w Lateness>, HandlerError> {
    let late: Vec<&Lateness> = lateness.iter().filter(|l| l.late).collect();
    for lateness in &late {
        let line = serde_json::to_string(&lateness.event(now)).unwrap_or_default();
        write_lines(validator, &verdict_stream(&lateness.trail), [line], now)
            .await
            .map_err(HandlerError::Verdicts)?;
        let metrics = validator_part_metrics(&Counts::default(), true);
        print_part_metrics(validator, function_name, &lateness.trail, metrics, now);
    }
    Ok(late)
}

/// One EMF line of a part's problem metrics, with its `Account` and `Region` dimensions.
fn print_part_metrics(
    validator: &Validator,
    function_name: &str,
    trail: &TrailDigests,
    metrics: Vec<(&'static str, &'static str, Value)>,
    now: i64,
) {
    let dimensions = part_dimensions(function_name, trail);
    let line = line_with_dimensions(&validator.namespace, &dimensions, now * 1000, metrics, &[]);
    println!("{line}");
}

/// The stream of one account's, region's and trail's verdicts in the integrity group.
fn verdict_stream(trail: &TrailDigests) -> String {
    format!(
        "{}_CloudTrail-Digest_{}_{}",
        trail.account_id, trail.source_region, trail.trail_name
    )
}

fn part_dimensions<'a>(function_name: &'a str, trail: &'a TrailDigests) -> [(&'a str, &'a str); 3] {
    [
        ("FunctionName", function_name),
        ("Account", &trail.account_id),
        ("Region", &trail.source_region),
    ]
}

/// One event per line in `stream` of the integrity group.
async fn write_lines(
    validator: &Validator,
    stream: &str,
    lines: impl IntoIterator<Item = String>,
    now: i64,
) -> Result<(), CallError> {
    let destination = Destination {
        log_group: Arc::clone(&validator.log_group),
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
        validator.sink.put(&destination, &batch, None).await?;
    }
    Ok(())
}
