//! What to validate, resolved: a range request (the function's `validateRange` and the
//! command's arguments alike) becomes a trail's digests location, the public keys, and a report.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::chain::{
    PublicKeys, TrailDigests, accounts_folder, folder_name, is_account_id, iso_seconds, key_time,
};
use super::store::{CallError, DigestStore, PublicKeySource, TrailDirectory};
use super::validate::{Report, display, validate_range};
use crate::trail::{FileKind, TrailKey};

/// A trail ARN's parts: `arn:<partition>:cloudtrail:<home-region>:<account>:trail/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    pub home_region: String,
    pub account_id: String,
    pub name: String,
}

/// Why a request cannot be validated as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("Invalid trail ARN provided: {0}")]
    TrailArn(String),
    #[error("validateRange needs trailArn")]
    NoTrailArn,
    #[error("validateRange needs startTime (ISO-8601 UTC) or hoursBack")]
    NoStart,
    #[error("validateRange {field} is not ISO-8601 UTC: {value}")]
    BadTime { field: &'static str, value: String },
    #[error("Invalid time range specified: start-time must occur before end-time")]
    StartAfterEnd,
    #[error("validateRange hoursBack must be a whole number from 1 to {MAX_HOURS_BACK}, not {0}")]
    HoursBack(i64),
    #[error("validateRange {field} must be between 1970 and 9999: {value}")]
    OutOfRange { field: &'static str, value: String },
    #[error("{0} is not a digest key")]
    NotADigestKey(String),
    #[error("trail {0} not found")]
    TrailNotFound(String),
    /// The AWS CLI's rule: an organization trail's digests are per member account.
    #[error("Missing required parameter for organization trail: '--account-id'")]
    OrganizationAccount,
}

/// Why a validation did not produce a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Call(#[from] CallError),
}

impl TrailArn {
    pub fn parse(arn: &str) -> Result<Self, RequestError> {
        let invalid = || RequestError::TrailArn(arn.to_owned());
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" || parts[3].is_empty()
        {
            return Err(invalid());
        }
        let name = parts[5]
            .strip_prefix("trail/")
            .filter(|n| !n.is_empty())
            .ok_or_else(invalid)?;
        if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        Ok(Self {
            home_region: parts[3].into(),
            account_id: parts[4].into(),
            name: name.into(),
        })
    }
}

/// The longest range a request may name in hours (ten years); CloudTrail keeps no longer.
pub const MAX_HOURS_BACK: i64 = 10 * 366 * 24;
/// 9999-12-31T23:59:59Z: the last time CloudTrail's four-digit date folders can name.
const LAST_TIME: i64 = 253_402_300_799;

/// A range to validate, as `aws cloudtrail validate-logs` takes it; the function's
/// `validateRange` in JSON (camelCase), the command from its flags. Unset fields are left out
/// when written (the messages a whole-trail range fans out into).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RangeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Instead of `startTime`: this many hours before the end (the template's schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_back: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The one region to validate; the function validates every region found when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A request checked: the trail and the range in epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRange {
    pub trail_arn: String,
    pub trail: TrailArn,
    pub start: i64,
    pub end: i64,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub organization_id: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
}

impl RangeRequest {
    /// For checks of the present (trail silence): the request's trail and location; its times
    /// are not used.
    pub fn resolve_now(&self, now: i64) -> Result<ResolvedRange, RequestError> {
        let present = RangeRequest {
            start_time: None,
            end_time: None,
            hours_back: Some(1),
            ..self.clone()
        };
        present.resolve(now)
    }

    /// Checks the request; `now` ends a range without `endTime`. Empty strings count as unset.
    pub fn resolve(&self, now: i64) -> Result<ResolvedRange, RequestError> {
        let text = |value: &Option<String>| value.clone().filter(|t| !t.is_empty());
        let time = |field: &'static str, value: String| match iso_seconds(&value) {
            Some(seconds) if (0..=LAST_TIME).contains(&seconds) => Ok(seconds),
            Some(_) => Err(RequestError::OutOfRange { field, value }),
            None => Err(RequestError::BadTime { field, value }),
        };
        let trail_arn = text(&self.trail_arn).ok_or(RequestError::NoTrailArn)?;
        let trail = TrailArn::parse(&trail_arn)?;
        let end = match text(&self.end_time) {
            Some(end) => time("endTime", end)?,
            None => now,
        };
        let start = match (text(&self.start_time), self.hours_back) {
            (Some(start), _) => time("startTime", start)?,
            (None, Some(hours)) if (1..=MAX_HOURS_BACK).contains(&hours) => end - hours * 3600,
            (None, Some(hours)) => return Err(RequestError::HoursBack(hours)),
            (None, None) => return Err(RequestError::NoStart),
        };
        if start > end {
            return Err(RequestError::StartAfterEnd);
        }
        Ok(ResolvedRange {
            trail_arn,
            trail,
            start,
            end,
            s3_bucket: text(&self.s3_bucket),
            s3_prefix: text(&self.s3_prefix),
            organization_id: text(&self.organization_id),
            account_id: text(&self.account_id),
            region: text(&self.region),
        })
    }
}

/// One validation: which trail digests, what was asked, and what was found.
#[derive(Debug, Clone)]
pub struct Validated {
    pub trail: TrailDigests,
    pub bucket: String,
    /// What was validated, in words: the digest's S3 URL, or the trail and range.
    pub what: String,
    pub start: i64,
    pub end: i64,
    pub report: Report,
}

/// Where a trail's files are, as validation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub bucket: String,
    pub prefix: Option<String>,
    /// Set for an organization trail: members' folders are `AWSLogs/<o-id>/<account>/`.
    pub organization_id: Option<String>,
    /// Learnt from `DescribeTrails` (`IsOrganizationTrail`); a request naming the bucket says
    /// it with `organizationId`.
    pub organization_trail: bool,
}

/// The bucket and prefix from the request, else from `directory` (`DescribeTrails`); for an
/// organization trail found there, the organization id from `DescribeOrganization` unless the
/// request names one, as the AWS CLI does.
pub async fn locate<D: TrailDirectory>(
    directory: &D,
    range: &ResolvedRange,
) -> Result<Located, CallError> {
    if let Some(bucket) = &range.s3_bucket {
        return Ok(Located {
            bucket: bucket.clone(),
            prefix: range.s3_prefix.clone(),
            organization_id: range.organization_id.clone(),
            organization_trail: range.organization_id.is_some(),
        });
    }
    let location = directory.describe_trail(&range.trail_arn).await?;
    let organization_id = match (&range.organization_id, location.organization_trail) {
        (Some(id), _) => Some(id.clone()),
        (None, true) => Some(directory.organization_id().await?),
        (None, false) => None,
    };
    Ok(Located {
        bucket: location.bucket,
        prefix: location.prefix,
        organization_id,
        organization_trail: location.organization_trail,
    })
}

/// One account's digests in one region: what one validation (and one verdict stream) covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TrailPart {
    pub account_id: String,
    pub region: String,
}

impl TrailPart {
    /// This part's digests of the range's trail.
    pub fn digests(&self, located: &Located, range: &ResolvedRange) -> TrailDigests {
        TrailDigests {
            prefix: located.prefix.clone(),
            organization_id: located.organization_id.clone(),
            account_id: self.account_id.clone(),
            source_region: self.region.clone(),
            home_region: range.trail.home_region.clone(),
            trail_name: range.trail.name.clone(),
        }
    }
}

/// The accounts and regions a range covers: those it names, else every one with a digest
/// folder under the trail's prefix (every member account of an organization trail), found by
/// listing.
pub async fn trail_parts<S: DigestStore>(
    store: &S,
    located: &Located,
    range: &ResolvedRange,
) -> Result<Vec<TrailPart>, CallError> {
    let base = accounts_folder(
        located.prefix.as_deref(),
        located.organization_id.as_deref(),
    );
    let accounts = match (&range.account_id, &located.organization_id) {
        (Some(account), _) => vec![account.clone()],
        (None, Some(_)) => store
            .list_folders(&located.bucket, &base)
            .await?
            .iter()
            .filter_map(|folder| folder_name(folder))
            .filter(|name| is_account_id(name))
            .map(str::to_owned)
            .collect(),
        (None, None) => vec![range.trail.account_id.clone()],
    };
    let mut parts = Vec::new();
    for account_id in accounts {
        let regions = match &range.region {
            Some(region) => vec![region.clone()],
            None => store
                .list_folders(
                    &located.bucket,
                    &format!("{base}{account_id}/CloudTrail-Digest/"),
                )
                .await?
                .iter()
                .filter_map(|folder| folder_name(folder).map(str::to_owned))
                .collect(),
        };
        parts.extend(regions.into_iter().map(|region| TrailPart {
            account_id: account_id.clone(),
            region,
        }));
    }
    parts.sort();
    Ok(parts)
}

/// The request that validates one part of a range on its own (a message of the fan-out): the
/// same times, fixed, and the location already resolved.
pub fn part_request(range: &ResolvedRange, located: &Located, part: &TrailPart) -> RangeRequest {
    RangeRequest {
        trail_arn: Some(range.trail_arn.clone()),
        start_time: Some(display(range.start)),
        end_time: Some(display(range.end)),
        hours_back: None,
        s3_bucket: Some(located.bucket.clone()),
        s3_prefix: located.prefix.clone(),
        organization_id: located.organization_id.clone(),
        account_id: Some(part.account_id.clone()),
        region: Some(part.region.clone()),
    }
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
    validate_part(store, keys, range, &located, &part).await
}

/// Validates one account's digests of one region in the range, with that region's keys.
pub async fn validate_part<S, K>(
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
    let trail = part.digests(located, range);
    let (start, end) = (range.start, range.end);
    let public_keys = keys.get(&part.region, start, end).await?;
    let bucket = located.bucket.clone();
    let report = validate_range(store, &public_keys, &trail, &bucket, start, end).await?;
    Ok(Validated {
        what: format!("{} {}..{}", range.trail_arn, display(start), display(end)),
        trail,
        bucket,
        start,
        end,
        report,
    })
}

/// Validates one delivered digest, its log files, and its link to the previous digest (which
/// is validated too): the range from an hour before the digest's time to its time, with the
/// keys of the digest's own region.
pub async fn validate_delivered_digest<S, K>(
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
    let (start, end) = (time - 3600, time);
    let public_keys = keys.get(&trail.source_region, start, end).await?;
    let report = validate_range(store, &public_keys, &trail, bucket, start, end).await?;
    Ok(Validated {
        trail,
        bucket: bucket.to_owned(),
        what: format!("s3://{bucket}/{digest_key}"),
        start,
        end,
        report,
    })
}

/// Public keys kept for the life of the process, by region and fingerprint: a key, once
/// fetched, is never fetched again; a range not covered yet is fetched and merged.
pub struct KeyCache<K> {
    source: K,
    by_region: tokio::sync::Mutex<HashMap<String, (i64, i64, PublicKeys)>>,
}

impl<K: PublicKeySource> KeyCache<K> {
    pub fn new(source: K) -> Self {
        Self {
            source,
            by_region: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(&self, region: &str, start: i64, end: i64) -> Result<PublicKeys, CallError> {
        let mut cache = self.by_region.lock().await;
        if let Some((from, to, keys)) = cache.get(region) {
            if *from <= start && end <= *to {
                return Ok(keys.clone());
            }
        }
        let fresh = self.source.keys(region, start, end).await?;
        let entry = cache.entry(region.to_owned()).or_insert((
            start,
            end,
            PublicKeys {
                region: region.to_owned(),
                ..PublicKeys::default()
            },
        ));
        entry.0 = entry.0.min(start);
        entry.1 = entry.1.max(end);
        entry.2.by_fingerprint.extend(fresh.by_fingerprint);
        Ok(entry.2.clone())
    }
}

/// The digests of the trail that delivered `digest_key`, read off the key itself.
pub fn trail_of_digest(digest_key: &str) -> Option<TrailDigests> {
    let key = TrailKey::parse(digest_key)?;
    if key.kind != FileKind::Digest {
        return None;
    }
    Some(TrailDigests {
        prefix: key.prefix.map(str::to_owned),
        organization_id: key.organization_id.map(str::to_owned),
        account_id: key.account_id.to_owned(),
        source_region: key.region.to_owned(),
        home_region: key.home_region?.to_owned(),
        trail_name: key.trail_name?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::keys::KeysFile;
    use crate::generate::signed::SignedTrail;

    #[test]
    fn trail_arns_are_read_and_bad_ones_refused() {
        let arn =
            TrailArn::parse("arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail").unwrap();
        assert_eq!(
            (
                arn.home_region.as_str(),
                arn.account_id.as_str(),
                arn.name.as_str()
            ),
            ("us-east-1", "111122223333", "my-trail")
        );
        for bad in [
            "arn:aws:s3:::b",
            "arn:aws:cloudtrail:us-east-1:1111:trail/x",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/",
            "trail",
        ] {
            assert!(
                TrailArn::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("Invalid trail ARN provided"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_digest_key_names_its_trail() {
        let trail = trail_of_digest("p/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/25/111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20261125T120000Z.json.gz").unwrap();
        assert_eq!(trail.trail_name, "my_trail");
        assert_eq!(
            (trail.source_region.as_str(), trail.home_region.as_str()),
            ("eu-west-1", "us-east-1")
        );
        assert_eq!(trail.prefix.as_deref(), Some("p"));
        assert!(trail_of_digest("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1205Z_abc.json.gz").is_none());
    }

    #[test]
    fn a_range_takes_hours_back_from_now_and_names_what_is_wrong_with_it() {
        let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
        let request: RangeRequest = serde_json::from_value(
            serde_json::json!({"trailArn": arn, "hoursBack": 25, "s3Bucket": "b", "s3Prefix": ""}),
        )
        .unwrap();
        let range = request.resolve(100_000).unwrap();
        assert_eq!((range.start, range.end), (100_000 - 25 * 3600, 100_000));
        assert_eq!(range.s3_prefix, None, "the template sends an empty prefix");
        for (json, wanted) in [
            (
                serde_json::json!({"hoursBack": 1}),
                RequestError::NoTrailArn,
            ),
            (serde_json::json!({"trailArn": arn}), RequestError::NoStart),
            (
                serde_json::json!({"trailArn": arn, "startTime": "yesterday"}),
                RequestError::BadTime {
                    field: "startTime",
                    value: "yesterday".into(),
                },
            ),
            (
                serde_json::json!({"trailArn": arn, "startTime": "2026-11-25T02:00:00Z", "endTime": "2026-11-25T01:00:00Z"}),
                RequestError::StartAfterEnd,
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": 100_000_000}),
                RequestError::HoursBack(100_000_000),
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": i64::MAX}),
                RequestError::HoursBack(i64::MAX),
            ),
            (
                serde_json::json!({"trailArn": arn, "hoursBack": 0}),
                RequestError::HoursBack(0),
            ),
            (
                serde_json::json!({"trailArn": arn, "startTime": "0001-01-01T00:00:00Z"}),
                RequestError::OutOfRange {
                    field: "startTime",
                    value: "0001-01-01T00:00:00Z".into(),
                },
            ),
        ] {
            let request: RangeRequest = serde_json::from_value(json).unwrap();
            assert_eq!(request.resolve(0).unwrap_err(), wanted);
        }
    }

    #[tokio::test]
    async fn keys_are_loaded_once_per_covered_range() {
        let dir = std::env::temp_dir().join("trailwatch-key-cache-test");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.json");
        std::fs::write(
            &path,
            SignedTrail::new("b", "111122223333", "us-east-1", "t", 3).public_keys_json(),
        )
        .unwrap();
        let cache = KeyCache::new(KeysFile {
            path: path.to_string_lossy().into_owned(),
        });
        let count = |keys: PublicKeys| keys.by_fingerprint.len();
        assert_eq!(count(cache.get("us-east-1", 100, 200).await.unwrap()), 1);
        // Covered now: served from the cache even with the file gone.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(count(cache.get("us-east-1", 120, 180).await.unwrap()), 1);
        // Not covered: loaded again (and the file is gone).
        assert!(cache.get("us-east-1", 100, 900).await.is_err());
    }
}
