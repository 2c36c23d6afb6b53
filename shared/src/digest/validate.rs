//! Validating: the entry points (a requested range, one part of a range, one delivered
//! digest), and under them one scope's validation: walk the digest chain, hash every log file
//! the valid digests list (a few at a time, each streamed), and, beyond the AWS CLI, report log
//! files in the validated hours that no digest lists.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::chain::{ChainEvent, walk, walk_backfill};
use super::hash::{LogHashError, hash_log_file};
use super::keys::KeyCache;
use super::locate::{Located, Scope, TrailPart, has_digest_folder, locate, trail_of_digest};
use super::report::{Gap, ListedLogFile, Report};
use super::request::{RequestError, ResolvedRange, ValidationError};
use super::store::{
    CallError, DigestStore, PublicKeySource, PublicKeys, TrailDirectory, list_keys,
};
use super::verdict::{Status, Subject, Verdict};
use crate::clock::{iso_seconds, iso_text};
use crate::trail::{FileKind, TrailKey, date_folder, key_time};

/// Log files hashed at once: each streams through a 64 KiB buffer.
pub(crate) const LOG_FILES_AT_ONCE: usize = 8;

/// One validation: what it covered, what was asked, and what was found.
#[derive(Debug, Clone)]
pub struct Validated {
    pub scope: Scope,
    /// What was validated, in words: the digest's S3 URL, or the trail and range.
    pub what: String,
    pub report: Report,
}

/// Validates a range of one region's digests, as `aws cloudtrail validate-logs` does: the
/// account is the request's, else the trail's; an organization trail found through
/// `DescribeTrails` needs the account named.
pub async fn validate_requested_range<S, K, D>(
    store: Arc<S>,
    keys: &KeyCache<K>,
    directory: &D,
    range: &ResolvedRange,
    region: &str,
    now: i64,
) -> Result<Validated, ValidationError>
where
    S: DigestStore,
    K: PublicKeySource,
    D: TrailDirectory,
{
    let located = locate(directory, range).await?;
    if located.organization_trail && range.s3_bucket.is_none() && range.account_id.is_none() {
        return Err(RequestError::OrganizationAccount.into());
    }
    let part = TrailPart {
        account_id: range
            .account_id
            .clone()
            .unwrap_or_else(|| range.trail.account_id.clone()),
        region: range.region.clone().unwrap_or_else(|| region.to_owned()),
    };
    let mut validated = validate_part(Arc::clone(&store), keys, range, &located, &part).await?;
    // A region with log files but no digest folder at all: the AWS CLI says only "No digests
    // found", and the files delivered in the range would go unmentioned. Each is named as not
    // listed in any digest (as the function's range validation does for such a region).
    if !has_digest_folder(store.as_ref(), &located, &part).await? {
        let unlisted =
            validate_part_without_digests(store.as_ref(), range, &located, &part, now).await?;
        validated.report.verdicts.extend(unlisted.report.verdicts);
    }
    Ok(validated)
}

/// Validates one account's digests of one region in the range, with that region's keys.
pub(crate) async fn validate_part<S, K>(
    store: Arc<S>,
    keys: &KeyCache<K>,
    range: &ResolvedRange,
    located: &Located,
    part: &TrailPart,
) -> Result<Validated, ValidationError>
where
    S: DigestStore,
    K: PublicKeySource,
{
    let scope = Scope {
        trail: part.digests(located, range),
        bucket: located.bucket.clone(),
        start: range.start,
        end: range.end,
    };
    let public_keys = keys.get(&part.region, scope.start, scope.end).await?;
    let report = validate_range(store, &public_keys, &scope).await?;
    let what = format!(
        "{} {}..{}",
        range.trail_arn,
        iso_text(scope.start),
        iso_text(scope.end)
    );
    Ok(Validated {
        scope,
        what,
        report,
    })
}

/// One account's and region's log files in the range where no digest exists at all
/// ([`parts_without_digests`](super::locate::parts_without_digests)): each file delivered in
/// `[start, min(end, now - 1 h))` is not listed in any digest. The last hour before now is
/// left out: a region's first digest may still be on its way.
pub(crate) async fn validate_part_without_digests<S: DigestStore>(
    store: &S,
    range: &ResolvedRange,
    located: &Located,
    part: &TrailPart,
    now: i64,
) -> Result<Validated, ValidationError> {
    let scope = Scope {
        trail: part.digests(located, range),
        bucket: located.bucket.clone(),
        start: range.start,
        end: range.end,
    };
    let until = range.end.min(now - 3600);
    let mut report = Report::default();
    if until > range.start {
        let span = (range.start, until + 3600);
        for key in unreferenced_log_files(store, &scope, span, &HashSet::new()).await? {
            report.verdicts.push(Verdict {
                subject: Subject::Log,
                bucket: scope.bucket.clone(),
                key,
                status: Status::Unreferenced,
            });
        }
    }
    let what = format!(
        "{} {}..{} ({} {}: no digests)",
        range.trail_arn,
        iso_text(scope.start),
        iso_text(scope.end),
        part.account_id,
        part.region
    );
    Ok(Validated {
        scope,
        what,
        report,
    })
}

/// Validates one delivered digest, its log files, and its link to the previous digest (which
/// is validated too): the range from an hour before the digest's time to its time, with the
/// keys of the digest's own region.
pub(crate) async fn validate_delivered_digest<S, K>(
    store: Arc<S>,
    keys: &KeyCache<K>,
    bucket: &str,
    digest_key: &str,
) -> Result<Validated, ValidationError>
where
    S: DigestStore,
    K: PublicKeySource,
{
    let not_digest = || RequestError::NotADigestKey(digest_key.to_owned());
    let trail = trail_of_digest(digest_key).ok_or_else(not_digest)?;
    let time = key_time(digest_key).ok_or_else(not_digest)?;
    let public_keys = keys.get(&trail.source_region, time - 3600, time).await?;
    let scope = Scope {
        trail,
        bucket: bucket.to_owned(),
        start: time - 3600,
        end: time,
    };
    let report = validate_range(store, &public_keys, &scope).await?;
    Ok(Validated {
        scope,
        what: format!("s3://{bucket}/{digest_key}"),
        report,
    })
}

/// Validates the scope's digests and the log files they list.
pub async fn validate_range<S: DigestStore>(
    store: Arc<S>,
    keys: &PublicKeys,
    scope: &Scope,
) -> Result<Report, CallError> {
    let mut events = walk(&*store, keys, scope).await?;
    events.extend(walk_backfill(&*store, keys, scope).await?);
    let mut report = Report::default();
    let mut listed = HashSet::new();
    let mut unread = Vec::new();
    for event in events {
        match event {
            ChainEvent::Gap { from, to } => report.gaps.push(Gap {
                from,
                to,
                position: report.verdicts.len(),
            }),
            ChainEvent::Unverified(named) => listed.extend(named),
            ChainEvent::Unread { window } => unread.push(window),
            ChainEvent::Digest(verdict, digest) => {
                report.verdicts.push(verdict);
                let Some(digest) = digest else { continue };
                let digest_end = iso_seconds(&digest.end_time).unwrap_or(i64::MAX);
                if let (Some(s), Some(e)) = (
                    iso_seconds(&digest.start_time),
                    iso_seconds(&digest.end_time),
                ) {
                    let (low, high) = report.found.unwrap_or((s, e));
                    report.found = Some((low.min(s), high.max(e)));
                }
                for log in &digest.file.log_files {
                    listed.insert(log.s3_object.clone());
                    report.listed.push(ListedLogFile {
                        slot: report.verdicts.len(),
                        bucket: log.s3_bucket.clone(),
                        key: log.s3_object.clone(),
                        expected_hash: log.hash_value.clone(),
                        digest_end,
                    });
                    // Not checked until its hash says otherwise: a check that never
                    // completes can never pass for valid.
                    report.verdicts.push(Verdict {
                        subject: Subject::Log,
                        bucket: log.s3_bucket.clone(),
                        key: log.s3_object.clone(),
                        status: Status::NotChecked("not hashed".to_owned()),
                    });
                }
            }
        }
    }
    let pending = report.listed.clone();
    check_log_files(&store, &mut report, pending).await;
    if let Some((from, to)) = report.found {
        let unlisted = unreferenced_log_files(&*store, scope, (from, to), &listed).await?;
        for key in unlisted
            .into_iter()
            .filter(|key| !may_be_listed(key, &unread))
        {
            report.verdicts.push(Verdict {
                subject: Subject::Log,
                bucket: scope.bucket.clone(),
                key,
                status: Status::Unreferenced,
            });
        }
    }
    Ok(report)
}

/// Hashes log files a few at a time and writes each verdict in its place.
async fn check_log_files<S: DigestStore>(
    store: &Arc<S>,
    report: &mut Report,
    pending: Vec<ListedLogFile>,
) {
    let mut running: JoinSet<(usize, Status)> = JoinSet::new();
    for listed in pending {
        if running.len() >= LOG_FILES_AT_ONCE
            && let Some(Ok((slot, status))) = running.join_next().await
        {
            report.verdicts[slot].status = status;
        }
        let store = Arc::clone(store);
        running.spawn(async move {
            let ListedLogFile {
                slot,
                bucket,
                key,
                expected_hash,
                ..
            } = listed;
            (
                slot,
                check_log_file(&*store, &bucket, &key, &expected_hash).await,
            )
        });
    }
    while let Some(done) = running.join_next().await {
        if let Ok((slot, status)) = done {
            report.verdicts[slot].status = status;
        }
    }
}

/// The verdict on one log file against the hash its digest records.
pub(crate) async fn check_log_file<S: DigestStore>(
    store: &S,
    bucket: &str,
    key: &str,
    expected_hash: &str,
) -> Status {
    let body = match store.open_log_file(bucket, key).await {
        Ok(body) => body,
        Err(error) => return Status::from(error),
    };
    let hashed = tokio::task::spawn_blocking(move || hash_log_file(body)).await;
    match hashed {
        Ok(Ok(hash)) if hash.matches(expected_hash) => Status::Valid,
        Ok(Ok(_)) => Status::HashMismatch,
        Ok(Err(LogHashError::TrailingData)) => Status::TrailingData,
        Ok(Err(LogHashError::Truncated(_))) => Status::HashMismatch,
        Ok(Err(LogHashError::TooLarge { limit })) => Status::TooLarge { limit },
        Ok(Err(LogHashError::Corrupt(_))) => Status::InvalidFormat,
        // The bytes stopped coming: says nothing about the file.
        Ok(Err(LogHashError::Source(error))) => {
            Status::NotChecked(format!("reading the object failed: {error}"))
        }
        Err(error) => Status::NotChecked(format!("hashing stopped unexpectedly: {error}")),
    }
}

/// A log file's name gives its delivery time to the minute, a digest's its end to the second.
const NAME_PRECISION_SECONDS: i64 = 120;

/// Whether an unread digest may list the log file: one delivered in the window it covers
/// ([`ChainEvent::Unread`]). Such a file is "not listed" by no digest anyone could read, which
/// says nothing; the AWS CLI says nothing of it either. Files outside every unread window are
/// still checked: one unreadable digest never silences its account and region.
fn may_be_listed(key: &str, unread: &[Option<(i64, i64)>]) -> bool {
    let delivered = key_time(key).unwrap_or(i64::MIN);
    unread.iter().any(|window| match window {
        None => true,
        Some((from, to)) => {
            (from - NAME_PRECISION_SECONDS..=to + NAME_PRECISION_SECONDS).contains(&delivered)
        }
    })
}

/// Log files of the scope's account and region delivered in `[from, to - 1 h)` (the span the
/// valid digests cover) that no digest lists. The last hour is left out: a file delivered then
/// may be listed by the next digest.
async fn unreferenced_log_files<S: DigestStore>(
    store: &S,
    scope: &Scope,
    (from, to): (i64, i64),
    listed: &HashSet<String>,
) -> Result<Vec<String>, CallError> {
    let bucket = scope.bucket.as_str();
    let mut found = Vec::new();
    let base = scope.trail.folder(FileKind::Log);
    let mut day = from - from.rem_euclid(86_400);
    while day < to {
        let folder = date_folder(day);
        let keys = list_keys(store, bucket, &format!("{base}{folder}"), "").await?;
        for key in keys {
            let Some(parsed) = TrailKey::parse(&key) else {
                continue;
            };
            if parsed.kind != FileKind::Log || listed.contains(&key) {
                continue;
            }
            // In a validated day's folder with a name CloudTrail would not write (another
            // day's): whatever its name says, no digest lists it.
            if !parsed.name_agrees_with_folder() {
                found.push(key);
                continue;
            }
            let delivered = key_time(&key).unwrap_or(i64::MIN);
            if delivered >= from && delivered < to - 3600 {
                found.push(key);
            }
        }
        day += 86_400;
    }
    Ok(found)
}
