//! Validating digests and walking their chain as `aws cloudtrail validate-logs` does
//! (`DigestTraverser` in aws-cli's awscli/customizations/cloudtrail/validation.py): from the
//! newest digest in range back through `previousDigestS3Object`; a missing or invalid digest is
//! reported and the walk goes on with the next older listed digest; a digest with no previous
//! link ends a chain, and when older digests exist, the hours between are a gap (reported, not
//! invalid).

use super::locate::Scope;
use super::model::{Digest, DigestHeader};
use super::signature::verify;
use super::store::{CallError, DigestStore, PublicKeys, StoredDigest, list_keys};
use super::verdict::{Status, Subject, Verdict};
use crate::clock::iso_seconds;
use crate::trail::{FileKind, TrailKey, date_folder, key_time};

/// What the walk found, newest first.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainEvent {
    /// A digest's verdict; valid digests carry their content (their log files come next).
    Digest(Verdict, Option<Box<Digest>>),
    /// No log files were delivered between `from` and `to` (epoch seconds).
    Gap { from: i64, to: i64 },
    /// The log files an invalid digest (present and readable) names: not proven, so not
    /// checked, and not reported as listed in no digest.
    Unverified(Vec<String>),
    /// A digest whose list could not be read (missing, not gzip, not JSON): which log files
    /// delivered in `window` (epoch seconds) it lists is unknown. An hourly digest's window is
    /// its hour; a backfill digest's (named with its hourly digest's end time, for files that
    /// hour's digest missed through processing delays) is that hour and the one after, for
    /// files that arrived late. `None` only for a key without a time, which is never listed.
    Unread { window: Option<(i64, i64)> },
}

/// Validates one digest: format, location, key, signature. With an invalid digest comes the
/// list of log files it names when it is present and readable (unproven, so not hashed; but
/// not "listed in no digest" either), `None` when it is not.
pub(crate) async fn validate_digest<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    bucket: &str,
    key: &str,
) -> (Result<Digest, Status>, Option<Vec<String>>) {
    match fetch(store, bucket, key).await {
        Ok(stored) => checked(&stored, keys, bucket, key),
        Err(status) => (Err(status), None),
    }
}

fn checked(
    stored: &StoredDigest,
    keys: &PublicKeys,
    bucket: &str,
    key: &str,
) -> (Result<Digest, Status>, Option<Vec<String>>) {
    match check_digest(stored, keys, bucket, key) {
        Ok(digest) => (Ok(digest), Some(Vec::new())),
        Err(status) => (Err(status), named(stored)),
    }
}

/// The log files a digest names, when its content can be read, whatever its signature says.
fn named(stored: &StoredDigest) -> Option<Vec<String>> {
    Digest::parse(&stored.inflated).map(|digest| {
        let logs = digest.file.log_files.into_iter();
        logs.map(|log| log.s3_object).collect()
    })
}

/// What an invalid digest says of the log files it may list.
fn unverified(window: Option<(i64, i64)>, named: Option<Vec<String>>) -> ChainEvent {
    match named {
        Some(named) => ChainEvent::Unverified(named),
        None => ChainEvent::Unread { window },
    }
}

/// What an unread digest of `kind` may list: see [`ChainEvent::Unread`].
fn unread_window(key: &str, kind: FileKind) -> Option<(i64, i64)> {
    let end = key_time(key)?;
    let late = if kind == FileKind::BackfillDigest {
        3600
    } else {
        0
    };
    Some((end - 3600, end + late))
}

async fn fetch<S: DigestStore>(store: &S, bucket: &str, key: &str) -> Result<StoredDigest, Status> {
    store.fetch_digest(bucket, key).await.map_err(Status::from)
}

/// Format, location, key and signature of a fetched digest, in the AWS CLI's order; the rest of
/// the digest (its log file list) is parsed only once the signature holds.
pub fn check_digest(
    stored: &StoredDigest,
    keys: &PublicKeys,
    bucket: &str,
    key: &str,
) -> Result<Digest, Status> {
    let header = DigestHeader::parse(&stored.inflated).ok_or(Status::InvalidFormat)?;
    let (Some(signature), Some(_)) = (&stored.signature, &stored.signature_algorithm) else {
        return Err(Status::SignatureFailed);
    };
    if header.bucket != bucket || header.object != key {
        return Err(Status::Moved);
    }
    let Some(public_key) = keys.by_fingerprint.get(&header.fingerprint) else {
        // Worded as the AWS CLI words it: the trail's home region (named in the digest's key),
        // though the keys searched were those of the digest's own region.
        let home_region = TrailKey::parse(key).and_then(|k| k.home_region);
        return Err(Status::PublicKeyNotFound {
            region: home_region.map_or_else(|| keys.region.clone(), str::to_owned),
            fingerprint: header.fingerprint.clone(),
        });
    };
    if !verify(
        public_key,
        &header.string_to_sign(&stored.inflated),
        signature,
    ) {
        return Err(Status::SignatureFailed);
    }
    Digest::complete(header, &stored.inflated).ok_or(Status::InvalidFormat)
}

/// Walks the chain for the scope's digests whose key time is in `[start, end + 1 h]`.
pub async fn walk<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    scope: &Scope,
) -> Result<Vec<ChainEvent>, CallError> {
    let start = scope.start;
    let mut events = Vec::new();
    let mut bucket = scope.bucket.clone();
    let mut listed = list_in_range(store, scope, &bucket, FileKind::Digest).await?;
    let mut current = listed.pop();
    let mut last_start = current.as_deref().and_then(key_time).unwrap_or(i64::MIN);
    // A chain that links back to a digest already seen would walk for ever.
    let mut visited = std::collections::HashSet::new();
    while let Some(key) = current.take() {
        if last_start < start || !visited.insert((bucket.clone(), key.clone())) {
            break;
        }
        let (result, named) = validate_digest(store, keys, &bucket, &key).await;
        match result {
            Ok(digest) => {
                last_start = iso_seconds(&digest.start_time).unwrap_or(i64::MIN);
                let previous = (
                    digest.file.previous_digest_s3_bucket.clone(),
                    digest.file.previous_digest_s3_object.clone(),
                );
                events.push(ChainEvent::Digest(
                    verdict(&bucket, &key, Status::Valid),
                    Some(Box::new(digest)),
                ));
                match previous {
                    (Some(previous_bucket), Some(previous_key)) => {
                        if previous_bucket != bucket {
                            bucket = previous_bucket;
                            listed = list_in_range(store, scope, &bucket, FileKind::Digest).await?;
                        }
                        current = Some(previous_key);
                    }
                    _ => {
                        // A starting digest: the chain ends; older digests begin another.
                        current = pop_older(&mut listed, &key);
                        if let Some(older) = current.as_deref().and_then(key_time) {
                            events.push(ChainEvent::Gap {
                                from: older,
                                to: last_start,
                            });
                        }
                    }
                }
            }
            Err(status) => {
                events.push(ChainEvent::Digest(verdict(&bucket, &key, status), None));
                events.push(unverified(unread_window(&key, FileKind::Digest), named));
                current = pop_older(&mut listed, &key);
            }
        }
    }
    Ok(events)
}

/// Backfill digests in range, newest first, each validated on its own (they list log files
/// the hourly digests missed); they must carry `backfill-generation-timestamp`.
pub(crate) async fn walk_backfill<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    scope: &Scope,
) -> Result<Vec<ChainEvent>, CallError> {
    let bucket = scope.bucket.as_str();
    let mut listed = list_in_range(store, scope, bucket, FileKind::BackfillDigest).await?;
    listed.sort_by_key(|key| std::cmp::Reverse(key_time(key)));
    let mut events = Vec::new();
    for key in listed {
        let (checked, named) = match fetch(store, bucket, &key).await {
            Ok(stored) if stored.backfill_generation_timestamp.is_none() => {
                (Err(Status::InvalidFormat), named(&stored))
            }
            Ok(stored) => checked(&stored, keys, bucket, &key),
            Err(status) => (Err(status), None),
        };
        let make = |status| Verdict {
            subject: Subject::BackfillDigest,
            bucket: bucket.to_owned(),
            key: key.clone(),
            status,
        };
        match checked {
            Ok(digest) => {
                events.push(ChainEvent::Digest(
                    make(Status::Valid),
                    Some(Box::new(digest)),
                ));
            }
            Err(status) => {
                events.push(ChainEvent::Digest(make(status), None));
                events.push(unverified(
                    unread_window(&key, FileKind::BackfillDigest),
                    named,
                ));
            }
        }
    }
    Ok(events)
}

fn verdict(bucket: &str, key: &str, status: Status) -> Verdict {
    Verdict {
        subject: Subject::Digest,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        status,
    }
}

/// The scope's digest keys of `kind` in `bucket` (the scope's, or one a chain moved to) with
/// key time in `[start, end + 1 h]`, ascending.
async fn list_in_range<S: DigestStore>(
    store: &S,
    scope: &Scope,
    bucket: &str,
    kind: FileKind,
) -> Result<Vec<String>, CallError> {
    let (trail, start, end) = (&scope.trail, scope.start, scope.end);
    let list_prefix = trail.list_prefix();
    // Keys sort by date folder, so listing can start at the start date's folder.
    let start_after = format!("{list_prefix}{}", date_folder(start - 60));
    let keys = list_keys(store, bucket, &list_prefix, &start_after).await?;
    Ok(keys
        .into_iter()
        .filter(|key| trail.owns_kind(key, kind))
        .filter(|key| key_time(key).is_some_and(|t| t >= start && t <= end + 3600))
        .collect())
}

/// Pops listed keys until one older than `key`.
fn pop_older(listed: &mut Vec<String>, key: &str) -> Option<String> {
    let before = key_time(key)?;
    while let Some(candidate) = listed.pop() {
        if key_time(&candidate).is_some_and(|t| t < before) {
            return Some(candidate);
        }
    }
    None
}
