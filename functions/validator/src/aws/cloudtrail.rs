//! CloudTrail: the public keys that sign digests (`ListPublicKeys`) and where a trail delivers
//! (`DescribeTrails`).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime;
use trailwatch::clock::iso_text;
use trailwatch::digest::signature::parse_public_key;
use trailwatch::digest::store::{
    CallError, PublicKeySource, PublicKeys, TrailDirectory, TrailLocation,
};

/// `ListPublicKeys` in the region whose digests are checked: each region signs its digests with
/// its own key pair, so a digest of eu-west-1 is checked with eu-west-1's keys whatever region
/// the validator runs in. One client per region, same credentials; the region's endpoint (and
/// partition: `cn-north-1` resolves to amazonaws.com.cn) comes from the SDK's resolver, or from
/// `AWS_ENDPOINT_URL_CLOUDTRAIL` / `AWS_ENDPOINT_URL` for emulators.
pub struct CloudTrailKeys {
    sdk: aws_config::SdkConfig,
    by_region: Mutex<HashMap<String, aws_sdk_cloudtrail::Client>>,
}

impl CloudTrailKeys {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            by_region: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        let build = || {
            let config = aws_sdk_cloudtrail::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_owned()))
                .build();
            aws_sdk_cloudtrail::Client::from_conf(config)
        };
        match self.by_region.lock() {
            Ok(mut clients) => clients
                .entry(region.to_owned())
                .or_insert_with(build)
                .clone(),
            Err(_) => build(),
        }
    }
}

impl PublicKeySource for CloudTrailKeys {
    /// `ListPublicKeys` for `[start - 1 h, end + 2 h]`, as the AWS CLI widens it. The SDK
    /// decodes the blob already: its bytes are the DER key.
    async fn keys(&self, region: &str, start: i64, end: i64) -> Result<PublicKeys, CallError> {
        let mut keys = PublicKeys {
            region: region.to_owned(),
            ..PublicKeys::default()
        };
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client(region)
                .list_public_keys()
                .start_time(DateTime::from_secs(start - 3600))
                .end_time(DateTime::from_secs(end + 7200))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CallError::from_sdk("ListPublicKeys", &e))?;
            for entry in page.public_key_list() {
                if let (Some(value), Some(fingerprint)) = (entry.value(), entry.fingerprint())
                    && let Some(key) = parse_public_key(value.as_ref())
                {
                    keys.by_fingerprint.insert(fingerprint.to_owned(), key);
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if keys.by_fingerprint.is_empty() {
            return Err(CallError::permanent(
                "ListPublicKeys",
                format!(
                    "No public keys found between {} and {}",
                    iso_text(start),
                    iso_text(end)
                ),
            ));
        }
        Ok(keys)
    }
}

/// `DescribeTrails` for where a trail delivers, `DescribeOrganization` for an organization
/// trail's folder.
pub struct CloudTrailDirectory {
    pub client: aws_sdk_cloudtrail::Client,
    pub organizations: aws_sdk_organizations::Client,
}

impl CloudTrailDirectory {
    pub fn new(clients: &super::Clients) -> Self {
        Self {
            client: clients.cloudtrail.clone(),
            organizations: clients.organizations.clone(),
        }
    }
}

impl TrailDirectory for CloudTrailDirectory {
    async fn describe_trail(&self, arn: &str) -> Result<TrailLocation, CallError> {
        let call = || format!("DescribeTrails {arn}");
        let output = self
            .client
            .describe_trails()
            .trail_name_list(arn)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(call(), &e))?;
        // The trail of that ARN: an answer may hold more (emulators ignore the name list).
        let trails = output.trail_list();
        let trail = trails
            .iter()
            .find(|t| t.trail_arn() == Some(arn))
            .or_else(|| trails.first().filter(|_| trails.len() == 1))
            .ok_or_else(|| {
                // The AWS CLI's words.
                CallError::permanent(call(), format!("A trail could not be found for {arn}"))
            })?;
        let bucket = trail
            .s3_bucket_name()
            .ok_or_else(|| CallError::permanent(call(), "the trail has no S3 bucket"))?;
        Ok(TrailLocation {
            bucket: bucket.to_owned(),
            prefix: trail
                .s3_key_prefix()
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            organization_trail: trail.is_organization_trail().unwrap_or(false),
        })
    }

    async fn organization_id(&self) -> Result<String, CallError> {
        let call = "DescribeOrganization";
        let output = self
            .organizations
            .describe_organization()
            .send()
            .await
            .map_err(|e| CallError::from_sdk(call, &e))?;
        output
            .organization()
            .and_then(|o| o.id())
            .map(str::to_owned)
            .ok_or_else(|| CallError::permanent(call, "no organization id in the answer"))
    }
}
