//! Validating digests and walking their chain as `aws cloudtrail validate-logs` does
//! (`DigestTraverser` in aws-cli's awscli/customizations/cloudtrail/validation.py): from the
//! newest digest in range back through `previousDigestS3Object`; a missing or invalid digest is
//! reported and the walk goes on with the next older listed digest; a digest with no previous
//! link ends a chain, and when older digests exist, the hours between are a gap (reported, not
//! invalid).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::model::{Digest, DigestHeader};
use super::signature::verify;
pub use super::store::PublicKeys;
use super::store::{CallError, DigestStore, StoredDigest};
use super::verdict::{Status, Subject, Verdict};
use crate::trail::{FileKind, TrailKey};

/// Which trail's digests, from which region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailDigests {
    pub prefix: Option<String>,
    pub organization_id: Option<String>,
    pub account_id: String,
    /// The region whose digests are validated.
    pub source_region: String,
    pub home_region: String,
    pub trail_name: String,
}

impl TrailDigests {
    /// `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<region>/`
    pub fn list_prefix(&self) -> String {
        let mut prefix = accounts_folder(self.prefix.as_deref(), self.organization_id.as_deref());
        prefix.push_str(&format!(
            "{}/CloudTrail-Digest/{}/",
            self.account_id, self.source_region
        ));
        prefix
    }

    /// Whether a key is a (non-backfill) digest of this trail and region.
    pub fn owns(&self, key: &str) -> bool {
        self.owns_kind(key, FileKind::Digest)
    }

    fn owns_kind(&self, key: &str, kind: FileKind) -> bool {
        TrailKey::parse(key).is_some_and(|k| {
            k.kind == kind
                && k.account_id == self.account_id
                && k.region == self.source_region
                && k.organization_id == self.organization_id.as_deref()
                && k.prefix == self.prefix.as_deref()
                && k.trail_name == Some(self.trail_name.as_str())
                && k.home_region == Some(self.home_region.as_str())
        })
    }
}

/// `[prefix/]AWSLogs/[o-id/]`: the folder holding a trail's account folders.
pub fn accounts_folder(prefix: Option<&str>, organization_id: Option<&str>) -> String {
    let mut folder = prefix.map(|p| format!("{p}/")).unwrap_or_default();
    folder.push_str("AWSLogs/");
    if let Some(organization) = organization_id {
        folder.push_str(organization);
        folder.push('/');
    }
    folder
}

/// Whether a folder name is an account id (12 digits).
pub fn is_account_id(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

/// `a/b/c/` → `c`: a listed folder's own name.
pub fn folder_name(folder: &str) -> Option<&str> {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

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
}

/// Validates one digest: format, location, key, signature. With an invalid digest that is
/// present and readable comes the list of log files it names (unproven, so not hashed; but
/// not "listed in no digest" either).
pub async fn validate_digest<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    bucket: &str,
    key: &str,
) -> (Result<Digest, Status>, Vec<String>) {
    match fetch(store, bucket, key).await {
        Ok(stored) => checked(&stored, keys, bucket, key),
        Err(status) => (Err(status), Vec::new()),
    }
}

fn checked(
    stored: &StoredDigest,
    keys: &PublicKeys,
    bucket: &str,
    key: &str,
) -> (Result<Digest, Status>, Vec<String>) {
    match check_digest(stored, keys, bucket, key) {
        Ok(digest) => (Ok(digest), Vec::new()),
        Err(status) => {
            let named = Digest::parse(&stored.inflated)
                .map(|digest| {
                    let logs = digest.file.log_files.into_iter();
                    logs.map(|log| log.s3_object).collect()
                })
                .unwrap_or_default();
            (Err(status), named)
        }
    }
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

/// Walks the chain for digests whose key time is in `[start, end + 1 h]` (epoch seconds).
pub async fn walk<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    trail: &TrailDigests,
    bucket: &str,
    start: i64,
    end: i64,
) -> Result<Vec<ChainEvent>, CallError> {
    let mut events = Vec::new();
    let mut bucket = bucket.to_owned();
    let mut listed = list_in_range(store, trail, &bucket, start, end, FileKind::Digest).await?;
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
                            listed =
                                list_in_range(store, trail, &bucket, start, end, FileKind::Digest)
                                    .await?;
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
                events.push(ChainEvent::Unverified(named));
                current = pop_older(&mut listed, &key);
            }
        }
    }
    Ok(events)
}

/// Backfill digests in range, newest first, each validated on its own (they list log files
/// the hourly digests missed); they must carry `backfill-generation-timestamp`.
pub async fn walk_backfill<S: DigestStore>(
    store: &S,
    keys: &PublicKeys,
    trail: &TrailDigests,
    bucket: &str,
    start: i64,
    end: i64,
) -> Result<Vec<ChainEvent>, CallError> {
    let mut listed =
        list_in_range(store, trail, bucket, start, end, FileKind::BackfillDigest).await?;
    listed.sort_by_key(|key| std::cmp::Reverse(key_time(key)));
    let mut events = Vec::new();
    for key in listed {
        let (checked, named) = match fetch(store, bucket, &key).await {
            Ok(stored) if stored.backfill_generation_timestamp.is_none() => (
                Err(Status::InvalidFormat),
                checked(&stored, keys, bucket, &key).1,
            ),
            Ok(stored) => checked(&stored, keys, bucket, &key),
            Err(status) => (Err(status), Vec::new()),
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
                events.push(ChainEvent::Unverified(named));
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

/// This trail's digest keys of `kind` with key time in `[start, end + 1 h]`, ascending.
async fn list_in_range<S: DigestStore>(
    store: &S,
    trail: &TrailDigests,
    bucket: &str,
    start: i64,
    end: i64,
    kind: FileKind,
) -> Result<Vec<String>, CallError> {
    let list_prefix = trail.list_prefix();
    // Keys sort by date folder, so listing can start at the start date's folder.
    let start_after = format!("{list_prefix}{}", date_folder(start - 60));
    let keys = store.list_keys(bucket, &list_prefix, &start_after).await?;
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

/// The time in a digest key's name (`YYYYMMDDTHHmmssZ`), in epoch seconds.
pub fn key_time(key: &str) -> Option<i64> {
    let stamp = TrailKey::parse(key)?.file_timestamp;
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        stamp.get(13..15).unwrap_or("00")
    );
    iso_seconds(&iso)
}

pub fn iso_seconds(text: &str) -> Option<i64> {
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

/// `YYYY/MM/DD/`, CloudTrail's date folder; empty for a time that has none (before year 0).
pub fn date_folder(seconds: i64) -> String {
    let text = DateTime::from_secs(seconds)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    match (text.get(0..4), text.get(5..7), text.get(8..10)) {
        (Some(year), Some(month), Some(day)) => format!("{year}/{month}/{day}/"),
        _ => String::new(),
    }
}
