//! Backfill: the trail files delivered in a time range, found by CloudTrail's folder layout
//! (`[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/`), for what S3
//! notifications never announced: the files delivered before trailwatch was deployed.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::clock::iso_text;
use crate::ports::{CallError, ListedObject, ObjectListing};
use crate::trail::{FileKind, TrailKey};
use crate::trail::{accounts_folder, date_folder, folder_name, is_account_id, key_time};

/// CloudWatch Logs refuses events older than 14 days
/// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html).
pub(crate) const MAX_EVENT_AGE_SECONDS: i64 = 14 * 86_400;
/// Date folders listed at once.
const LISTINGS_AT_ONCE: usize = 16;

/// What to backfill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillRequest {
    pub bucket: String,
    pub prefix: Option<String>,
    /// Delivery times, epoch seconds, inclusive.
    pub start: i64,
    pub end: i64,
    /// Only these accounts (all when empty).
    pub accounts: Vec<String>,
    /// Only these regions (all when empty).
    pub regions: Vec<String>,
    /// The kinds of file listed, each in its own folder: those the routes read
    /// (`Routes::kinds_read`).
    pub kinds: Vec<FileKind>,
}

/// Why a backfill cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackfillError {
    #[error(
        "s3://{bucket}/{folder} holds no CloudTrail account folder: not a trail bucket, or not its --s3-prefix"
    )]
    NotATrailBucket { bucket: String, folder: String },
    #[error("no trail files were delivered to s3://{bucket}/{folder} between {start} and {end}")]
    NoFiles {
        bucket: String,
        folder: String,
        start: String,
        end: String,
    },
    #[error(
        "missing permission: {0} (a backfill needs s3:ListBucket on the bucket, s3:GetObject on its AWSLogs/ keys)"
    )]
    AccessDenied(CallError),
    #[error("listing the trail's files: {0}")]
    Listing(CallError),
}

impl From<CallError> for BackfillError {
    fn from(error: CallError) -> Self {
        match error.code.as_deref() {
            Some("AccessDenied" | "AccessDeniedException" | "AllAccessDisabled") => {
                Self::AccessDenied(error)
            }
            _ => Self::Listing(error),
        }
    }
}

/// The files found, oldest delivery first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillPlan {
    /// To forward.
    pub objects: Vec<ListedObject>,
    /// Delivered more than 14 days before now: their records are too old for CloudWatch Logs,
    /// so they are counted, not read.
    pub too_old: Vec<ListedObject>,
    /// The accounts and regions found (account, region).
    pub parts: Vec<(String, String)>,
}

impl BackfillPlan {
    pub fn bytes(objects: &[ListedObject]) -> u64 {
        objects.iter().map(|o| o.size).sum()
    }
}

impl BackfillRequest {
    /// The seconds a dry run's bytes are scaled to a month from: the range asked, from no
    /// earlier than CloudWatch Logs still takes events (14 days before `now`), at least an hour.
    /// Not the span of the files found: a quiet account's few files a day apart would make a day
    /// look like an hour, and the month 24 times too large. A trail younger than the range
    /// understates the month instead; the report names the span it divided by.
    pub fn estimate_seconds(&self, now: i64) -> i64 {
        (self.end - self.start.max(now - MAX_EVENT_AGE_SECONDS)).max(3600)
    }
}

/// The latest a file can have been delivered: its name's time, or for an aggregated-events
/// file whose name has none, the end of its day. A file is only called too old when all of it
/// must be: one that may hold records CloudWatch Logs still takes is read.
fn latest_delivery(key: &str) -> Option<i64> {
    let time = key_time(key)?;
    let unstamped = TrailKey::parse(key).is_some_and(|k| k.file_timestamp.is_empty());
    Some(if unstamped { time + 86_399 } else { time })
}

/// The account folders under `base`: `<account>/` of a trail, and `<o-id>/<account>/` of each
/// member of an organization trail.
async fn account_folders<L: ObjectListing>(
    listing: &L,
    bucket: &str,
    base: &str,
) -> Result<Vec<String>, BackfillError> {
    let mut accounts = Vec::new();
    for folder in listing.list_folders(bucket, base).await? {
        match folder_name(&folder) {
            Some(name) if is_account_id(name) => accounts.push(folder.clone()),
            Some(name) if name.starts_with("o-") => accounts.extend(
                listing
                    .list_folders(bucket, &folder)
                    .await?
                    .into_iter()
                    .filter(|member| folder_name(member).is_some_and(is_account_id)),
            ),
            _ => {}
        }
    }
    Ok(accounts)
}

/// Whether the file at `key` was delivered in the request's range, by its name.
fn delivered_in(request: &BackfillRequest, key: &str) -> bool {
    let (Some(parsed), Some(time)) = (TrailKey::parse(key), key_time(key)) else {
        return false;
    };
    match parsed.kind {
        FileKind::Log | FileKind::Insight => (request.start..=request.end).contains(&time),
        // A name without a time says only its day: any day the range touches.
        FileKind::Aggregated if parsed.file_timestamp.is_empty() => {
            time <= request.end && time + 86_400 > request.start
        }
        FileKind::Aggregated => (request.start..=request.end).contains(&time),
        _ => false,
    }
}

/// Finds the trail's files delivered in the request's range, for every account and region
/// under the prefix (or those asked for).
pub async fn plan_backfill<L: ObjectListing>(
    listing: Arc<L>,
    request: &BackfillRequest,
    now: i64,
) -> Result<BackfillPlan, BackfillError> {
    let bucket = request.bucket.as_str();
    let base = accounts_folder(request.prefix.as_deref(), None);
    let mut accounts = account_folders(&*listing, bucket, &base).await?;
    if accounts.is_empty() {
        return Err(BackfillError::NotATrailBucket {
            bucket: bucket.to_owned(),
            folder: base,
        });
    }
    let wanted = |list: &[String], name: &str| list.is_empty() || list.iter().any(|w| w == name);
    accounts.retain(|folder| folder_name(folder).is_some_and(|a| wanted(&request.accounts, a)));
    let mut plan = BackfillPlan::default();
    let mut day_folders = Vec::new();
    for account in &accounts {
        for kind in &request.kinds {
            for region in listing
                .list_folders(bucket, &format!("{account}{}/", kind.folder()))
                .await?
            {
                let Some(name) = folder_name(&region) else {
                    continue;
                };
                if !wanted(&request.regions, name) {
                    continue;
                }
                let part = (
                    folder_name(account).unwrap_or_default().to_owned(),
                    name.to_owned(),
                );
                if !plan.parts.contains(&part) {
                    plan.parts.push(part);
                }
                let mut day = request.start - request.start.rem_euclid(86_400);
                while day <= request.end {
                    day_folders.push(format!("{region}{}", date_folder(day)));
                    day += 86_400;
                }
            }
        }
    }
    let mut found = list_all(listing, bucket, day_folders).await?;
    found.retain(|object| delivered_in(request, &object.key));
    found.sort_by_key(|object| (key_time(&object.key), object.key.clone()));
    if found.is_empty() {
        return Err(BackfillError::NoFiles {
            bucket: bucket.to_owned(),
            folder: base,
            start: iso_text(request.start),
            end: iso_text(request.end),
        });
    }
    let oldest_accepted = now - MAX_EVENT_AGE_SECONDS;
    let (too_old, objects): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|object| latest_delivery(&object.key).is_some_and(|t| t < oldest_accepted));
    plan.objects = objects;
    plan.too_old = too_old;
    plan.parts.sort();
    Ok(plan)
}

/// Lists each folder, a few at once.
async fn list_all<L: ObjectListing>(
    listing: Arc<L>,
    bucket: &str,
    folders: Vec<String>,
) -> Result<Vec<ListedObject>, CallError> {
    let mut running: JoinSet<Result<Vec<ListedObject>, CallError>> = JoinSet::new();
    let mut found = Vec::new();
    let mut folders = folders.into_iter();
    loop {
        while running.len() < LISTINGS_AT_ONCE {
            let Some(folder) = folders.next() else { break };
            let (listing, bucket) = (Arc::clone(&listing), bucket.to_owned());
            running.spawn(async move { listing.list_objects(&bucket, &folder, "").await });
        }
        match running.join_next().await {
            Some(Ok(listed)) => found.extend(listed?),
            Some(Err(error)) => {
                return Err(CallError::transient("listing", error.to_string()));
            }
            None => return Ok(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A bucket in memory: key → size.
    struct Listing(BTreeMap<String, u64>);

    impl ObjectListing for Listing {
        async fn list_folders(&self, _: &str, prefix: &str) -> Result<Vec<String>, CallError> {
            let mut folders: Vec<String> = self
                .0
                .keys()
                .filter_map(|k| {
                    let rest = k.strip_prefix(prefix)?;
                    Some(format!("{prefix}{}", &rest[..=rest.find('/')?]))
                })
                .collect();
            folders.dedup();
            Ok(folders)
        }

        async fn list_objects(
            &self,
            _: &str,
            prefix: &str,
            start_after: &str,
        ) -> Result<Vec<ListedObject>, CallError> {
            Ok(self
                .0
                .iter()
                .filter(|(k, _)| k.starts_with(prefix) && k.as_str() > start_after)
                .map(|(key, size)| ListedObject {
                    key: key.clone(),
                    size: *size,
                    e_tag: None,
                })
                .collect())
        }
    }

    /// 2026-11-20T00:00:00Z
    const T0: i64 = 1_795_132_800;

    fn log_key(org: Option<&str>, account: &str, region: &str, stamp: &str) -> String {
        let org = org.map(|o| format!("{o}/")).unwrap_or_default();
        let date = format!("{}/{}/{}", &stamp[0..4], &stamp[4..6], &stamp[6..8]);
        format!(
            "AWSLogs/{org}{account}/CloudTrail/{region}/{date}/{account}_CloudTrail_{region}_{stamp}_abc.json.gz"
        )
    }

    fn bucket() -> Arc<Listing> {
        let mut keys = BTreeMap::new();
        for (account, region, stamp) in [
            ("111122223333", "us-east-1", "20261119T2355Z"),
            ("111122223333", "us-east-1", "20261120T0005Z"),
            ("111122223333", "eu-west-1", "20261121T1200Z"),
            ("444455556666", "us-east-1", "20261120T0100Z"),
            ("444455556666", "us-east-1", "20261123T0100Z"),
        ] {
            keys.insert(log_key(Some("o-aa11bb22cc"), account, region, stamp), 100);
        }
        let digest = "AWSLogs/o-aa11bb22cc/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T010000Z.json.gz";
        keys.insert(digest.to_owned(), 5);
        keys.insert("AWSLogs/o-aa11bb22cc/111122223333/CloudTrail/us-east-1/2026/11/20/ConfigWritabilityCheckFile".to_owned(), 1);
        Arc::new(Listing(keys))
    }

    fn request() -> BackfillRequest {
        BackfillRequest {
            bucket: "b".into(),
            start: T0,
            end: T0 + 2 * 86_400,
            kinds: vec![FileKind::Log],
            ..BackfillRequest::default()
        }
    }

    #[tokio::test]
    async fn every_account_and_region_of_an_organization_in_range_oldest_first() {
        let plan = plan_backfill(bucket(), &request(), T0 + 3 * 86_400)
            .await
            .unwrap();
        let keys: Vec<&str> = plan.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                log_key(
                    Some("o-aa11bb22cc"),
                    "111122223333",
                    "us-east-1",
                    "20261120T0005Z"
                ),
                log_key(
                    Some("o-aa11bb22cc"),
                    "444455556666",
                    "us-east-1",
                    "20261120T0100Z"
                ),
                log_key(
                    Some("o-aa11bb22cc"),
                    "111122223333",
                    "eu-west-1",
                    "20261121T1200Z"
                ),
            ]
        );
        assert!(plan.too_old.is_empty());
        assert_eq!(plan.parts.len(), 3);
    }

    #[test]
    fn a_dry_run_scales_from_the_range_asked_within_14_days() {
        let asked = BackfillRequest {
            start: T0,
            end: T0 + 27 * 3600,
            ..request()
        };
        // Whatever the files found: the 27 hours asked.
        assert_eq!(asked.estimate_seconds(T0 + 2 * 86_400), 27 * 3600);
        // Only the last 14 days can be forwarded: the part before is not counted.
        let now = T0 + 20 * 86_400;
        let long = BackfillRequest {
            end: now,
            ..asked.clone()
        };
        assert_eq!(long.estimate_seconds(now), 14 * 86_400);
        let empty = BackfillRequest { end: T0, ..asked };
        assert_eq!(empty.estimate_seconds(T0), 3600);
    }

    #[tokio::test]
    async fn filters_narrow_it_and_files_past_14_days_are_too_old() {
        let mut narrowed = request();
        narrowed.accounts = vec!["111122223333".into()];
        narrowed.regions = vec!["eu-west-1".into()];
        let plan = plan_backfill(bucket(), &narrowed, T0 + 3 * 86_400)
            .await
            .unwrap();
        assert_eq!(plan.objects.len(), 1);
        assert_eq!(plan.parts, [("111122223333".into(), "eu-west-1".into())]);
        // Fifteen days on, the file of 2026-11-20 is too old; the one of 2026-11-21 is not.
        let later = plan_backfill(bucket(), &request(), T0 + 15 * 86_400 + 3600)
            .await
            .unwrap();
        assert_eq!((later.objects.len(), later.too_old.len()), (1, 2));
        assert_eq!(BackfillPlan::bytes(&later.too_old), 200);
    }

    #[tokio::test]
    async fn aggregated_events_files_are_listed_when_a_route_may_select_them() {
        let mut keys = bucket().0.clone();
        let stamped = "AWSLogs/o-aa11bb22cc/111122223333/CloudTrail-Aggregated/us-east-1/2026/11/20/111122223333_CloudTrail-Aggregated_us-east-1_20261120T0010Z_abc.json.gz";
        // A name without a time: its day, 2026-11-21, is in the range.
        let unstamped = "AWSLogs/o-aa11bb22cc/444455556666/CloudTrail-Aggregated/eu-west-1/2026/11/21/summary.json.gz";
        keys.insert(stamped.to_owned(), 10);
        keys.insert(unstamped.to_owned(), 10);
        let listing = Arc::new(Listing(keys));
        let without = plan_backfill(Arc::clone(&listing), &request(), T0 + 3 * 86_400)
            .await
            .unwrap();
        assert_eq!(without.objects.len(), 3);
        let mut with = request();
        with.kinds.push(FileKind::Aggregated);
        let plan = plan_backfill(Arc::clone(&listing), &with, T0 + 3 * 86_400)
            .await
            .unwrap();
        let keys: Vec<&str> = plan.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        assert!(
            keys.contains(&stamped) && keys.contains(&unstamped),
            "{keys:?}"
        );
        assert!(
            plan.parts
                .contains(&("444455556666".to_owned(), "eu-west-1".to_owned()))
        );
        // Fourteen days and an hour after 2026-11-21T00:00Z: the unstamped file's day may hold
        // records CloudWatch Logs still takes, so it is read; the stamped one of 11-20 is too old.
        let later = plan_backfill(listing, &with, T0 + 15 * 86_400 + 3600)
            .await
            .unwrap();
        let read: Vec<&str> = later.objects.iter().map(|o| o.key.as_str()).collect();
        assert!(read.contains(&unstamped), "{read:?}");
        assert!(later.too_old.iter().any(|o| o.key == stamped));
    }

    #[tokio::test]
    async fn a_bucket_without_trail_folders_or_files_in_range_is_a_clear_error() {
        let empty = Arc::new(Listing(BTreeMap::from([("other/x".to_owned(), 1)])));
        assert_eq!(
            plan_backfill(empty, &request(), T0)
                .await
                .unwrap_err()
                .to_string(),
            "s3://b/AWSLogs/ holds no CloudTrail account folder: not a trail bucket, or not its --s3-prefix"
        );
        let mut later = request();
        later.start = T0 + 30 * 86_400;
        later.end = T0 + 31 * 86_400;
        assert!(matches!(
            plan_backfill(bucket(), &later, T0).await.unwrap_err(),
            BackfillError::NoFiles { .. }
        ));
        let denied =
            CallError::permanent("ListObjectsV2", "denied").with_code(Some("AccessDenied"));
        assert!(
            BackfillError::from(denied)
                .to_string()
                .starts_with("missing permission")
        );
    }
}
