//! The audit: what the log groups hold now against what CloudTrail signed. Provenance
//! (`digest::provenance`) shows the forwarder read and sent the signed bytes; only reading the
//! groups back shows that nothing was since deleted, duplicated or put beside them.
//!
//! For one validated account and region: every log file valid in S3 is read as the forwarder
//! reads it (the same selectors, routes, stream names, times and exact text), which says where
//! each of its records must be; those streams are read back over the records' times; and then
//! each signed record must be there exactly once, and each event whose time lies in the
//! window the range's files alone can have produced must be a signed record.
//!
//! That window: a record is delivered in a file up to the delivery delay bound after its
//! eventTime, so every event timed in `[start, end - bound]` was delivered in a file of
//! `[start, end]`: one this audit read. Events outside it may come from files of the hours
//! around the range and are not judged. Streams the routes would not write for this account
//! and region are not read.

pub mod expected;
pub mod report;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub use report::{Audit, Finding, NotAudited};

use crate::digest::store::DigestStore;
use crate::digest::validate::Validated;
use crate::logs::Destination;
use crate::ports::LogSink;
use crate::route::Routes;
use crate::trail::{AllowedAccounts, TrailKey};
use expected::{Expected, event_id, event_ids, file_events};

/// CloudTrail delivers most events within about 5 minutes of the call, without a guarantee
/// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html):
/// the bound assumed unless another is given, with a wide margin.
pub const DEFAULT_DELIVERY_DELAY_MINUTES: i64 = 120;

/// How the forwarder placed records, and the delay bound.
#[derive(Clone)]
pub struct AuditSettings {
    pub routes: Arc<Routes>,
    /// Whose files the forwarder reads (`ALLOWED_ACCOUNT_IDS`): another account's records
    /// are not forwarded by design.
    pub allowed_accounts: AllowedAccounts,
    pub max_decompressed_bytes: u64,
    pub delivery_delay_seconds: i64,
}

/// Audits what `validated` covers: its valid log files against the streams of `logs`.
pub async fn audit_validated<S: DigestStore, L: LogSink>(
    store: Arc<S>,
    logs: &L,
    validated: Validated,
    settings: &AuditSettings,
) -> Audit {
    let mut not_audited = Vec::new();
    let mut expected = Expected::default();
    let mut files = Vec::new();
    for listed in &validated.report.listed {
        let status = &validated.report.verdicts[listed.slot].status;
        if !status.is_valid() {
            not_audited.push(NotAudited::InvalidFile {
                bucket: listed.bucket.clone(),
                key: listed.key.clone(),
                reason: format!("not valid in S3 ({status})"),
            });
            continue;
        }
        let file = files.len() as u32;
        match read_file(&*store, &listed.bucket, &listed.key, settings).await {
            Ok(events) => expected.add(file, events),
            Err(reason) => not_audited.push(NotAudited::File {
                bucket: listed.bucket.clone(),
                key: listed.key.clone(),
                reason,
            }),
        }
        files.push((listed.bucket.clone(), listed.key.clone()));
    }
    let (start, end) = (validated.scope.start, validated.scope.end);
    let last = end - settings.delivery_delay_seconds;
    let window = (last > start).then_some((start * 1000, last * 1000));
    let mut findings = Vec::new();
    let mut unread = HashSet::new();
    for slot in 0..expected.destinations.len() {
        if let Err(reason) = read_stream(logs, &mut expected, slot, window, &mut findings).await {
            let destination = expected.destinations[slot].clone();
            not_audited.push(NotAudited::Stream {
                destination,
                reason,
            });
            // Never "missing" for what could not be read.
            unread.insert(slot as u16);
        }
    }
    let (exactly_once, missing) =
        judge(&*store, &expected, &files, &unread, settings, &mut findings).await;
    let not_forwarded_by_design = expected.not_forwarded + expected.refused_by_time;
    let signed_events = expected.events.values().map(|p| p.len() as u64).sum();
    tracing::info!(signed_events, exactly_once, missing, "audit");
    Audit {
        validated,
        signed_events,
        exactly_once,
        findings,
        not_audited,
        not_forwarded_by_design,
        unsigned_window: window,
    }
}

/// One file's events, read on a blocking thread; why not, when it cannot be read whole.
async fn read_file<S: DigestStore + ?Sized>(
    store: &S,
    bucket: &str,
    key: &str,
    settings: &AuditSettings,
) -> Result<expected::FileEvents, String> {
    let body = store
        .open_log_file(bucket, key)
        .await
        .map_err(|error| format!("could not be read: {error}"))?;
    let allowed =
        TrailKey::parse(key).is_some_and(|k| settings.allowed_accounts.allows(k.account_id));
    let (key, routes, limit) = (
        key.to_owned(),
        Arc::clone(&settings.routes),
        settings.max_decompressed_bytes,
    );
    let events = tokio::task::spawn_blocking(move || file_events(body, &key, &routes, limit))
        .await
        .map_err(|error| format!("reading stopped unexpectedly: {error}"))?;
    let mut events = match events.error {
        Some(error) => return Err(format!("could not be read whole: {error}")),
        None => events,
    };
    if !allowed {
        events.not_forwarded += events.placed.len() as u64;
        events.placed.clear();
    }
    Ok(events)
}

/// Reads destination `slot` back over its records' times and the window; each event is a
/// signed record found, or, timed in the window, an unsigned one.
async fn read_stream<L: LogSink>(
    logs: &L,
    expected: &mut Expected,
    slot: usize,
    window: Option<(i64, i64)>,
    findings: &mut Vec<Finding>,
) -> Result<(), String> {
    let destination = expected.destinations[slot].clone();
    let (mut from, mut to) = expected.spans[slot];
    if let Some((start, end)) = window {
        (from, to) = (from.min(start), to.max(end));
    }
    let mut token = None;
    loop {
        let page = logs
            .events_between(&destination, from, to, token.clone())
            .await
            .map_err(|error| error.to_string())?;
        for (timestamp, message) in &page.events {
            let signed = expected.found(slot as u16, *timestamp, message);
            let judged = window.is_some_and(|(start, end)| (start..=end).contains(timestamp));
            if !signed && judged {
                findings.push(Finding::Unsigned {
                    destination: destination.clone(),
                    timestamp_millis: *timestamp,
                    event_id: event_id(message),
                });
            }
        }
        // GetLogEvents answers the same token at the end of the stream.
        if page.events.is_empty() || page.next_token.is_none() || page.next_token == token {
            return Ok(());
        }
        token = page.next_token;
    }
}

/// Every expected placement judged: found once (counted), never (missing, named with its
/// eventID), or more than once. Returns (found once, missing).
async fn judge<S: DigestStore + ?Sized>(
    store: &S,
    expected: &Expected,
    files: &[(String, String)],
    unread: &HashSet<u16>,
    settings: &AuditSettings,
    findings: &mut Vec<Finding>,
) -> (u64, u64) {
    let mut once = 0;
    let mut missing: HashMap<u32, Vec<(u64, Destination)>> = HashMap::new();
    let judged = expected
        .events
        .iter()
        .filter(|((slot, _), _)| !unread.contains(slot));
    for ((slot, _), placements) in judged {
        let destination = &expected.destinations[usize::from(*slot)];
        for placement in placements {
            let (bucket, key) = &files[placement.file as usize];
            match placement.found {
                1 => once += 1,
                0 => missing
                    .entry(placement.file)
                    .or_default()
                    .push((placement.record, destination.clone())),
                times => findings.push(Finding::Duplicated {
                    destination: destination.clone(),
                    bucket: bucket.clone(),
                    key: key.clone(),
                    record: placement.record,
                    times,
                }),
            }
        }
    }
    let mut count = 0;
    for (file, mut records) in missing {
        records.sort_by_key(|(record, _)| *record);
        let (bucket, key) = &files[file as usize];
        let wanted: HashSet<u64> = records.iter().map(|(record, _)| *record).collect();
        let ids = missing_ids(store, bucket, key, settings, wanted).await;
        for (record, destination) in records {
            count += 1;
            findings.push(Finding::Missing {
                destination,
                bucket: bucket.clone(),
                key: key.clone(),
                record,
                event_id: ids.get(&record).cloned(),
            });
        }
    }
    findings.sort_by_key(ToString::to_string);
    (once, count)
}

/// The eventIDs of a file's missing records (none when the file cannot be read again).
async fn missing_ids<S: DigestStore + ?Sized>(
    store: &S,
    bucket: &str,
    key: &str,
    settings: &AuditSettings,
    wanted: HashSet<u64>,
) -> HashMap<u64, String> {
    let Ok(body) = store.open_log_file(bucket, key).await else {
        return HashMap::new();
    };
    let (key, routes, limit) = (
        key.to_owned(),
        Arc::clone(&settings.routes),
        settings.max_decompressed_bytes,
    );
    tokio::task::spawn_blocking(move || event_ids(body, &key, &routes, limit, &wanted))
        .await
        .unwrap_or_default()
}
