//! What to validate, resolved: the trail's digests location and the public keys.

use std::sync::Arc;

use super::chain::{PublicKeys, TrailDigests, key_time};
use super::keys;
use super::s3::S3DigestStore;
use super::validate::{Report, validate_range};
use crate::trail::{FileKind, TrailKey};

/// A trail ARN's parts: `arn:<partition>:cloudtrail:<home-region>:<account>:trail/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailArn {
    pub home_region: String,
    pub account_id: String,
    pub name: String,
}

impl TrailArn {
    pub fn parse(arn: &str) -> Result<Self, String> {
        let invalid = || format!("Invalid trail ARN provided: {arn}");
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

/// Clients the validator talks to.
#[derive(Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
}

/// Where the public keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `ListPublicKeys` in the validated region.
    CloudTrail,
    /// `aws cloudtrail list-public-keys` output in a file.
    File(String),
}

impl KeySource {
    pub async fn load(
        &self,
        clients: &Clients,
        region: &str,
        start: i64,
        end: i64,
    ) -> Result<PublicKeys, String> {
        match self {
            KeySource::CloudTrail => {
                keys::from_cloudtrail(&clients.cloudtrail, region, start, end).await
            }
            KeySource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("public keys file {path}: {e}"))?;
                keys::from_cli_json(&text, region)
                    .map_err(|e| format!("public keys file {path}: {e}"))
            }
        }
    }
}

/// Public keys kept for the life of the process, by region and fingerprint: a key, once
/// fetched, is never fetched again; a range not covered yet is fetched and merged.
#[derive(Default)]
pub struct KeyCache {
    by_region: tokio::sync::Mutex<std::collections::HashMap<String, (i64, i64, PublicKeys)>>,
}

impl KeyCache {
    pub async fn get(
        &self,
        source: &KeySource,
        clients: &Clients,
        region: &str,
        start: i64,
        end: i64,
    ) -> Result<PublicKeys, String> {
        let mut cache = self.by_region.lock().await;
        if let Some((from, to, keys)) = cache.get(region) {
            if *from <= start && end <= *to {
                return Ok(keys.clone());
            }
        }
        let fresh = source.load(clients, region, start, end).await?;
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

/// Finds a trail's bucket and prefix with DescribeTrails.
pub async fn describe_trail(
    clients: &Clients,
    arn: &str,
) -> Result<(String, Option<String>), String> {
    let output = clients
        .cloudtrail
        .describe_trails()
        .trail_name_list(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeTrails {arn}: {}",
                aws_sdk_cloudtrail::error::DisplayErrorContext(&e)
            )
        })?;
    let trail = output
        .trail_list()
        .first()
        .ok_or_else(|| format!("trail {arn} not found"))?;
    let bucket = trail
        .s3_bucket_name()
        .ok_or_else(|| format!("trail {arn} has no S3 bucket"))?;
    Ok((
        bucket.to_owned(),
        trail
            .s3_key_prefix()
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    ))
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

/// Validates one delivered digest, its log files, and its link to the previous digest (which
/// is validated too): the range from an hour before the digest's time to its time.
pub async fn validate_delivered_digest(
    store: Arc<S3DigestStore>,
    keys: &PublicKeys,
    bucket: &str,
    digest_key: &str,
) -> Result<Report, String> {
    let trail =
        trail_of_digest(digest_key).ok_or_else(|| format!("{digest_key} is not a digest key"))?;
    let time = key_time(digest_key).ok_or_else(|| format!("{digest_key} has no time"))?;
    validate_range(store, keys, &trail, bucket, time - 3600, time).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::generate::signed::SignedTrail;

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
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .build();
        let clients = Clients {
            s3: aws_sdk_s3::Client::from_conf(config),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(
                aws_sdk_cloudtrail::Config::builder()
                    .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
                    .build(),
            ),
        };
        let cache = KeyCache::default();
        let source = KeySource::File(path.to_string_lossy().into_owned());
        assert_eq!(
            cache
                .get(&source, &clients, "us-east-1", 100, 200)
                .await
                .unwrap()
                .by_fingerprint
                .len(),
            1
        );
        // Covered now: served from the cache even with the file gone.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            cache
                .get(&source, &clients, "us-east-1", 120, 180)
                .await
                .unwrap()
                .by_fingerprint
                .len(),
            1
        );
        // Not covered: loaded again (and the file is gone).
        assert!(
            cache
                .get(&source, &clients, "us-east-1", 100, 900)
                .await
                .is_err()
        );
    }
}
