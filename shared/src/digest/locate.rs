//! Where a trail's digests are: the bucket, prefix and organization (from the request or
//! `DescribeTrails`), the accounts and regions under them, and the scope one validation covers.

use super::request::{RangeRequest, ResolvedRange};
use super::store::{CallError, DigestStore, TrailDirectory};
use crate::clock::iso_text;
use crate::trail::{FileKind, TrailKey, accounts_folder, folder_name, is_account_id};

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
        self.folder(FileKind::Digest)
    }

    /// The folder of this account's and region's files of `kind`:
    /// `[prefix/]AWSLogs/[o-id/]<account>/<kind's folder>/<region>/`.
    pub fn folder(&self, kind: FileKind) -> String {
        let mut folder = accounts_folder(self.prefix.as_deref(), self.organization_id.as_deref());
        folder.push_str(&format!(
            "{}/{}/{}/",
            self.account_id,
            kind.folder(),
            self.source_region
        ));
        folder
    }

    /// Whether a key is a (non-backfill) digest of this trail and region.
    pub fn owns(&self, key: &str) -> bool {
        self.owns_kind(key, FileKind::Digest)
    }

    pub fn owns_kind(&self, key: &str, kind: FileKind) -> bool {
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

/// What one validation covers: one account's digests of one region, in a bucket, over
/// `[start, end]` (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub trail: TrailDigests,
    pub bucket: String,
    pub start: i64,
    pub end: i64,
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
pub(crate) struct TrailPart {
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
pub(crate) async fn trail_parts<S: DigestStore>(
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
                    &format!("{base}{account_id}/{}/", FileKind::Digest.folder()),
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

/// The accounts and regions of `parts`' accounts that hold log files (`CloudTrail/` region
/// folders) but no digest folder at all: with log file validation on, CloudTrail delivers a
/// digest every hour for each region it logs, so their files are listed in no digest (planted,
/// or logged with validation off). Narrowed to the range's region when it names one.
pub(crate) async fn parts_without_digests<S: DigestStore>(
    store: &S,
    located: &Located,
    range: &ResolvedRange,
    parts: &[TrailPart],
) -> Result<Vec<TrailPart>, CallError> {
    let base = accounts_folder(
        located.prefix.as_deref(),
        located.organization_id.as_deref(),
    );
    let mut accounts: Vec<&str> = parts.iter().map(|p| p.account_id.as_str()).collect();
    accounts.dedup();
    let mut orphans = Vec::new();
    for account_id in accounts {
        let folder = format!("{base}{account_id}/{}/", FileKind::Log.folder());
        for region in store.list_folders(&located.bucket, &folder).await? {
            let Some(region) = folder_name(&region) else {
                continue;
            };
            let named = range.region.as_deref().is_none_or(|r| r == region);
            let digested = parts
                .iter()
                .any(|p| p.account_id == account_id && p.region == region);
            if named && !digested {
                orphans.push(TrailPart {
                    account_id: account_id.to_owned(),
                    region: region.to_owned(),
                });
            }
        }
    }
    Ok(orphans)
}

/// Whether `part`'s region has a digest folder at all (any time): without one, none of its log
/// files is listed in a digest.
pub(crate) async fn has_digest_folder<S: DigestStore>(
    store: &S,
    located: &Located,
    part: &TrailPart,
) -> Result<bool, CallError> {
    let base = accounts_folder(
        located.prefix.as_deref(),
        located.organization_id.as_deref(),
    );
    let folder = format!("{base}{}/{}/", part.account_id, FileKind::Digest.folder());
    let regions = store.list_folders(&located.bucket, &folder).await?;
    Ok(regions
        .iter()
        .any(|region| folder_name(region) == Some(part.region.as_str())))
}

/// The request that validates one part of a range on its own (a message of the fan-out): the
/// same times, fixed, and the location already resolved.
pub(crate) fn part_request(
    range: &ResolvedRange,
    located: &Located,
    part: &TrailPart,
) -> RangeRequest {
    RangeRequest {
        trail_arn: Some(range.trail_arn.clone()),
        start_time: Some(iso_text(range.start)),
        end_time: Some(iso_text(range.end)),
        hours_back: None,
        s3_bucket: Some(located.bucket.clone()),
        s3_prefix: located.prefix.clone(),
        organization_id: located.organization_id.clone(),
        account_id: Some(part.account_id.clone()),
        region: Some(part.region.clone()),
    }
}

/// The digests of the trail that delivered `digest_key` (an hourly or a backfill digest), read
/// off the key itself.
pub fn trail_of_digest(digest_key: &str) -> Option<TrailDigests> {
    let key = TrailKey::parse(digest_key)?;
    if !matches!(key.kind, FileKind::Digest | FileKind::BackfillDigest) {
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
}
