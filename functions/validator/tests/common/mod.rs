//! What the integrity tests share: a signed trail in a moto bucket, the test key pair, the
//! validator and the forwarder as the template deploys them. Each test file uses part of it.
// Each test file is its own crate and uses part of what is here (and of what it re-exports).
#![allow(dead_code, unused_imports)]
// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub use std::io::Read;
pub use std::sync::{Arc, OnceLock};

pub use flate2::read::GzDecoder;
pub use trailwatch::clock::iso_text;
pub use trailwatch::digest::keys::from_cli_json;
pub use trailwatch::digest::locate::Scope;
pub use trailwatch::digest::locate::TrailDigests;
pub use trailwatch::digest::report::Report;
pub use trailwatch::digest::store::PublicKeys;
pub use trailwatch::digest::validate::validate_range;
pub use trailwatch::digest::verdict::{Status, Subject};
pub use trailwatch::generate::signed::{SignedObject, SignedTrail, gzip};
pub use trailwatch::generate::{TrailSpec, write_log_file};
pub use trailwatch_test_support::{
    create_queue, moto, path_style_s3, receive_bodies, run_binary, sdk_config_for, stream_events,
    text,
};
pub use validator::aws::Clients;
pub use validator::aws::s3::S3DigestStore;

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
/// The signed trail's first hour: midnight UTC two days before the run (read once), so that its
/// files are recent on whatever day the tests run: CloudWatch Logs takes events up to 14 days
/// old, and the checkpoint table keeps an item 15 days.
pub fn t0() -> i64 {
    static T0: OnceLock<i64> = OnceLock::new();
    *T0.get_or_init(|| (trailwatch::clock::now_seconds() / 86_400 - 2) * 86_400)
}

/// `t0() + seconds`, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn at(seconds: i64) -> String {
    iso_text(t0() + seconds)
}

pub const HOUR: i64 = 3600;
pub const HOURS: i64 = 3;

pub fn signer(bucket: &str) -> SignedTrail {
    SignedTrail::new(bucket, ACCOUNT, REGION, "audit", 5)
}

pub fn keys() -> &'static PublicKeys {
    static KEYS: OnceLock<PublicKeys> = OnceLock::new();
    KEYS.get_or_init(|| from_cli_json(&signer("any").public_keys_json(), REGION).unwrap())
}

pub struct Bucket {
    pub name: String,
    pub s3: aws_sdk_s3::Client,
    /// Log file keys by hour, and digest keys, oldest first.
    pub logs: Vec<Vec<String>>,
    pub digests: Vec<String>,
}

impl Bucket {
    /// A new bucket with nothing in it.
    pub async fn empty(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let s3 = path_style_s3(&sdk);
        s3.create_bucket().bucket(name).send().await.unwrap();
        Self {
            name: name.into(),
            s3,
            logs: Vec::new(),
            digests: Vec::new(),
        }
    }

    /// A bucket with `HOURS` hours of log files (two per hour, none in the second hour) and a
    /// signed digest per hour, the first a starting digest.
    pub async fn signed(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let s3 = path_style_s3(&sdk);
        s3.create_bucket().bucket(name).send().await.unwrap();
        let signer = signer(name);
        let mut bucket = Self {
            name: name.into(),
            s3,
            logs: Vec::new(),
            digests: Vec::new(),
        };
        let mut previous = None;
        for hour in 0..HOURS {
            let start = t0() + hour * HOUR;
            let count = if hour == 1 { 0 } else { 2 };
            let mut listed = Vec::new();
            let mut keys = Vec::new();
            for n in 0..count {
                let spec = TrailSpec::recent(100 + (hour * 10 + n) as u64);
                let (key, inflated) = bucket.put_log_file(spec, start + 600 + n * 60).await;
                listed.push((key.clone(), inflated));
                keys.push(key);
            }
            let digest = signer.digest(start, start + HOUR, &listed, previous.as_ref());
            let mut inflated = Vec::new();
            GzDecoder::new(&digest.body[..])
                .read_to_end(&mut inflated)
                .unwrap();
            previous = Some(signer.link(&digest, &inflated));
            bucket.put_signed(&digest).await;
            bucket.digests.push(digest.key.clone());
            bucket.logs.push(keys);
        }
        bucket
    }

    /// Writes a generated log file delivered at `delivered` (epoch seconds); returns its key and
    /// decompressed bytes (what its digest hashes).
    pub async fn put_log_file(&self, mut spec: TrailSpec, delivered: i64) -> (String, Vec<u8>) {
        spec.delivery_millis = delivered * 1000;
        spec.newest_event_millis = spec.delivery_millis - 60_000;
        let mut body = Vec::new();
        write_log_file(&spec, 20_000, &mut body).unwrap();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        self.put_plain(&spec.key(), body).await;
        (spec.key(), inflated)
    }

    pub async fn put_plain(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    pub async fn put_signed(&self, object: &SignedObject) {
        let mut request = self
            .s3
            .put_object()
            .bucket(&self.name)
            .key(&object.key)
            .body(object.body.clone().into());
        for (name, value) in &object.metadata {
            request = request.metadata(name, value);
        }
        request.send().await.unwrap();
    }

    pub async fn get(&self, key: &str) -> (Vec<u8>, std::collections::HashMap<String, String>) {
        let response = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap();
        let metadata = response.metadata().cloned().unwrap_or_default();
        (
            response.body.collect().await.unwrap().into_bytes().to_vec(),
            metadata,
        )
    }

    pub async fn delete(&self, key: &str) {
        self.s3
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap();
    }

    pub async fn validate(&self) -> Report {
        let trail = TrailDigests {
            prefix: None,
            organization_id: None,
            account_id: ACCOUNT.into(),
            source_region: REGION.into(),
            home_region: REGION.into(),
            trail_name: "audit".into(),
        };
        let store = Arc::new(S3DigestStore {
            client: self.s3.clone(),
        });
        let scope = Scope {
            trail,
            bucket: self.name.clone(),
            start: t0(),
            end: t0() + HOURS * HOUR,
        };
        validate_range(store, keys(), &scope).await.unwrap()
    }
}

/// The verdicts that are not valid, as (key, status).
pub fn invalid(report: &Report) -> Vec<(String, Status)> {
    report
        .verdicts
        .iter()
        .filter(|v| !v.status.is_valid())
        .map(|v| (v.key.clone(), v.status.clone()))
        .collect()
}

/// A validator configured as the function is, writing to `group`, with the test key pair.
pub async fn validator_for(
    bucket: &Bucket,
    group: &str,
) -> (validator::Validator, aws_sdk_cloudwatchlogs::Client) {
    let sdk = sdk_config_for(&moto().endpoint).await;
    let keys_file = std::env::temp_dir().join(format!("trailwatch-{}-keys.json", bucket.name));
    std::fs::write(&keys_file, signer("any").public_keys_json()).unwrap();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let clients = Clients::new(&sdk);
    let keys = validator::Keys::new(&clients, Some(keys_file.to_string_lossy().into_owned()));
    let validator = validator::Validator::new(&clients, logs.clone(), group, keys, "test");
    (validator, logs)
}

/// One signed hour of `signer`'s region in `bucket`: a log file of that region and its digest.
/// Returns (log file key, digest key).
pub async fn signed_hour(bucket: &Bucket, signer: &SignedTrail, seed: u64) -> (String, String) {
    let mut spec = TrailSpec::recent(seed);
    spec.region = signer.region.clone();
    spec.account_id = signer.account_id.clone();
    spec.organization_id = signer.organization_id.clone();
    let (key, inflated) = bucket.put_log_file(spec, t0() + 600).await;
    let digest = signer.digest(t0(), t0() + HOUR, &[(key.clone(), inflated)], None);
    bucket.put_signed(&digest).await;
    (key, digest.key)
}

/// A control plane answering ListPublicKeys with each signer's key in its region.
pub async fn control_plane_for(signers: &[&SignedTrail]) -> String {
    trailwatch_test_support::control_plane::start(
        signers
            .iter()
            .map(|trail| trailwatch_test_support::control_plane::RegionKey {
                region: trail.region.clone(),
                der: trail.public_key_der(),
                fingerprint: trail.fingerprint.clone(),
            })
            .collect(),
    )
    .await
}

pub fn sqs_delivery(bucket: &str, keys: &[&str]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let body = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]});
            serde_json::json!({"messageId": format!("m{i}"), "body": body.to_string(), "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// An organization trail as the template deploys it: home us-east-1, members 111122223333 and
/// 444455556666 each delivering in us-east-1 and eu-west-1 under `AWSLogs/<o-id>/`, each
/// region signing with its own key pair; bucket and organization learnt from DescribeTrails
/// and DescribeOrganization (moto), keys from the control plane by the request's region.
pub struct OrganizationTrail {
    pub bucket: Bucket,
    pub arn: String,
    pub clients: Clients,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub group: String,
    /// (account, region) → (log file key, digest key) of the signed hour at t0().
    pub hours: std::collections::BTreeMap<(String, String), (String, String)>,
}

pub const MEMBERS: [&str; 2] = ["111122223333", "444455556666"];

impl OrganizationTrail {
    pub async fn deliver(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let bucket = Bucket::empty(name).await;
        let organizations = aws_sdk_organizations::Client::new(&sdk);
        // One organization for the emulator's account, whichever test creates it first.
        let _ = organizations
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await;
        let described = organizations.describe_organization().send().await.unwrap();
        let organization_id = described.organization().unwrap().id().unwrap().to_owned();
        let trail_name = format!("{name}-trail");
        let created = aws_sdk_cloudtrail::Client::new(&sdk)
            .create_trail()
            .name(&trail_name)
            .s3_bucket_name(name)
            .is_multi_region_trail(true)
            .is_organization_trail(true)
            .enable_log_file_validation(true)
            .send()
            .await
            .unwrap();
        let arn = created.trail_arn().unwrap().to_owned();
        let mut signers = Vec::new();
        for (seed, region) in [(41, "eu-west-1"), (42, "us-east-1")] {
            let mut signer = SignedTrail::new(name, MEMBERS[0], region, &trail_name, seed);
            signer.home_region = REGION.into();
            signer.organization_id = Some(organization_id.clone());
            signers.push(signer);
        }
        let control = control_plane_for(&signers.iter().collect::<Vec<_>>()).await;
        let mut hours = std::collections::BTreeMap::new();
        let mut seed = 500;
        for member in MEMBERS {
            for signer in &signers {
                let mut signer = signer.clone();
                signer.account_id = member.into();
                seed += 1;
                let hour = signed_hour(&bucket, &signer, seed).await;
                hours.insert((member.to_owned(), signer.region.clone()), hour);
            }
        }
        let mut clients = Clients::new(&sdk);
        clients.sdk = sdk_config_for(&control).await;
        let group = format!("/trailwatch/test/{name}");
        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        Self {
            bucket,
            arn,
            clients,
            logs,
            group,
            hours,
        }
    }

    pub fn validator(&self) -> validator::Validator {
        let keys = validator::Keys::new(&self.clients, None);
        validator::Validator::new(&self.clients, self.logs.clone(), &self.group, keys, "test")
    }

    /// The trail's range around t0(), as the schedule sends it but with fixed times and the
    /// bucket left for DescribeTrails to name.
    pub fn range(&self) -> serde_json::Value {
        serde_json::json!({"validateRange": {"trailArn": self.arn,
            "startTime": at(0), "endTime": at(HOUR)}})
    }

    pub fn log_file(&self, account: &str, region: &str) -> String {
        self.hours[&(account.to_owned(), region.to_owned())]
            .0
            .clone()
    }
}

pub async fn invoke(
    validator: &validator::Validator,
    payload: serde_json::Value,
) -> Result<serde_json::Value, validator::HandlerError> {
    validator::handle(
        validator,
        lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default()),
    )
    .await
}

/// The forwarder as the template deploys it, on the checkpoint table the validator reads,
/// with `selectors` (`EVENT_SELECTORS`) when given.
pub async fn forwarder_on(
    table: &str,
    group: &str,
    selectors: Option<&str>,
) -> forwarder::AwsForwarder {
    let sdk = sdk_config_for(&moto().endpoint).await;
    let mut vars = std::collections::HashMap::from([
        ("LOG_GROUP_NAME", group),
        ("CHECKPOINT_TABLE_NAME", table),
    ]);
    if let Some(selectors) = selectors {
        vars.insert("EVENT_SELECTORS", selectors);
    }
    let config =
        trailwatch::ForwarderConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
            .unwrap();
    forwarder::build_forwarder(&sdk, &config)
}

/// Forwards what one SQS message body names, as the delivery queue hands it to the forwarder.
pub async fn forward_message(forwarder: &forwarder::AwsForwarder, body: &str, owner: &str) {
    let event = serde_json::json!({"Records": [
        {"messageId": owner, "eventSource": "aws:sqs", "body": body}]});
    let report = forwarder.handle(&event, None, owner).await.unwrap();
    assert!(report.failed_message_ids.is_empty(), "{report:?}");
}

/// The validator of `trail` reconciling with `table`: `grace_seconds` after each digest, and
/// repairs to `repairs`.
pub fn reconciling(
    trail: &OrganizationTrail,
    records: trailwatch::aws::checkpoints::DynamoCheckpoints,
    grace_seconds: i64,
    repairs: Option<validator::aws::sqs::SqsRepairQueue>,
) -> validator::Validator {
    let mut validator = trail.validator();
    validator.core.reconciler = Some(trailwatch::validator::Reconciler {
        records,
        grace_seconds,
        repairs,
    });
    validator
}

/// The records of a gzip log file.
pub fn records_in(body: &[u8]) -> usize {
    let mut text = String::new();
    GzDecoder::new(body).read_to_string(&mut text).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["Records"].as_array().unwrap().len()
}
